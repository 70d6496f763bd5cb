// Segment builder: a live count and sample while the conditions are being edited.
// The page works without this script (the Preview button does the same in one round trip);
// with it, every change to the form is sent, at most every 400 ms after typing stops, as
// the builder form with action=live, and the answer (the count and sample, including the
// condition being typed) replaces the #evaluation section. Answers to older edits are
// dropped, so a slow count never overwrites a newer one.
(function () {
  "use strict";
  var form = document.getElementById("builder");
  var slot = document.getElementById("evaluation-slot");
  if (!form || !slot || !window.fetch || !window.FormData) {
    return;
  }
  var timer = null;
  var sent = 0;
  function send() {
    var mine = ++sent;
    var body = new URLSearchParams(new FormData(form));
    body.set("action", "live");
    slot.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (r) {
      return r.text();
    }).then(function (html) {
      if (mine === sent) {
        slot.innerHTML = html;
        slot.removeAttribute("aria-busy");
      }
    }).catch(function () {
      if (mine === sent) {
        slot.removeAttribute("aria-busy");
      }
    });
  }
  function later() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(send, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
