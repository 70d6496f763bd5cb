//! Lawful message sending (issue 8, point 3): the enqueue rules with a fixed clock, SMTP
//! delivery to a local server, the SMS gateway's retries and a crash without duplicates,
//! the gateway webhooks and the unsubscribe link. Both databases.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture};
use chrono::{DateTime, Utc};
use dealerbase_domain::FixedClock;
use dealerbase_domain::messaging::{Channel, Purpose};
use dealerbase_service::messaging::{
    DEFAULT_SMS_TEMPLATE, MessagingConfig, NewMessage, SmsGatewayConfig, SmtpConfig, SmtpSecurity,
    message_id_for,
};
use dealerbase_service::{ServiceError, Services};
use dealerbase_store::{CustomerFields, Db, Id};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("ts")
        .with_timezone(&Utc)
}

const SECRET: &str = "gateway-secret";

fn config() -> MessagingConfig {
    MessagingConfig {
        inbound_secret: Some(SECRET.into()),
        unsubscribe_key: b"test unsubscribe key".to_vec(),
        public_url: "https://crm.example.cn".into(),
        ..Default::default()
    }
}

/// The services at a fixed instant with the given transports.
fn at(db: &Db, when: &str, cfg: &MessagingConfig) -> Services {
    Services::new(db.clone(), Arc::new(FixedClock(ts(when)))).with_messaging(cfg.clone())
}

async fn customer(db: &Db, store: Id, name: &str, mobile: &str, email: Option<&str>) -> Id {
    db.create_customer(
        &CustomerFields {
            store_id: store,
            kind: "individual".into(),
            name: name.into(),
            mobile: Some(mobile.into()),
            email: email.map(str::to_string),
            ..Default::default()
        },
        None,
        ("base", ""),
        ts("2020-01-01T00:00:00Z"),
    )
    .await
    .expect("customer")
}

#[allow(clippy::too_many_arguments)]
fn msg(
    key: &str,
    f: &Fixture,
    customer: Option<Id>,
    channel: Channel,
    purpose: Purpose,
    to: &str,
    body: &str,
    not_before: &str,
) -> NewMessage {
    NewMessage {
        idempotency_key: key.into(),
        store_id: f.store1,
        customer_id: customer,
        channel,
        purpose,
        to: to.into(),
        subject: Some("Winter service".into()),
        body: body.into(),
        campaign_id: None,
        not_before: ts(not_before),
    }
}

// ---- the rules, with a fixed clock ------------------------------------------------------

async fn enqueue_applies_consent_hours_duplicates_and_cap(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(db, f.store1, "张三", "13800000001", None).await;
    let b = customer(db, f.store1, "李四", "13800000002", None).await;
    let c = customer(db, f.store1, "王五", "13800000003", None).await;
    let d = customer(db, f.store1, "赵六", "13800000004", None).await;
    for id in [a, c, d] {
        db.record_consent(
            id,
            "marketing",
            "sms",
            "v1",
            None,
            ts("2026-01-01T00:00:00Z"),
        )
        .await
        .expect("consent");
    }
    // C withdrew in October; D's number is on the suppression list.
    db.withdraw_consent(c, "marketing", "sms", ts("2026-10-01T00:00:00Z"))
        .await
        .expect("withdraw");
    let cfg = config();
    // 22:00 Beijing on 23 November = 14:00 UTC: outside the 09:00–20:00 window.
    let svc = at(db, "2026-11-23T14:00:00Z", &cfg);
    svc.add_suppression(&f.admin, "138 0000 0004", "asked by phone")
        .await
        .expect("suppress");
    let now = "2026-11-23T14:00:00Z";
    let m = |key: &str, who: Id, to: &str, body: &str| {
        msg(
            key,
            &f,
            Some(who),
            Channel::Sms,
            Purpose::Marketing,
            to,
            body,
            now,
        )
    };
    let r = svc
        .enqueue_messages(&[
            m("a1", a, "13800000001", "冬季保养八折"),
            m("b1", b, "13800000002", "冬季保养八折"),
            m("c1", c, "13800000003", "冬季保养八折"),
            m("d1", d, "13800000004", "冬季保养八折"),
            // The same text to A again under another key: one identical message a day.
            m("a1-again", a, "13800000001", "冬季保养八折"),
            // A service notice needs no marketing consent and is not held to the hours.
            msg(
                "b-service",
                &f,
                Some(b),
                Channel::Sms,
                Purpose::ServiceNotice,
                "13800000002",
                "您的爱车明天到期保养",
                now,
            ),
            // The same key twice in one batch is one message.
            m("a1", a, "13800000001", "冬季保养八折"),
        ])
        .await
        .expect("enqueue");
    let reasons: Vec<(String, String, Option<String>)> = r
        .messages
        .iter()
        .map(|m| {
            (
                m.idempotency_key.clone(),
                m.status.clone(),
                m.skip_reason.clone(),
            )
        })
        .collect();
    let s = |k: &str, st: &str, why: Option<&str>| {
        (k.to_string(), st.to_string(), why.map(str::to_string))
    };
    assert_eq!(
        reasons,
        vec![
            s("a1", "queued", None),
            s("b1", "skipped", Some("no_consent")),
            s("c1", "skipped", Some("no_consent")),
            s("d1", "skipped", Some("suppressed")),
            s("a1-again", "skipped", Some("duplicate_today")),
            s("b-service", "queued", None),
        ]
    );
    assert_eq!((r.queued, r.skipped, r.existing), (2, 4, 0));

    let a1 = db.outbox_by_key("a1").await.expect("read").expect("a1");
    // Deferred, not dropped: the next 09:00 Beijing = 01:00 UTC on 24 November.
    assert_eq!(a1.next_attempt_at, ts("2026-11-24T01:00:00Z"));
    assert_eq!(a1.send_day.to_string(), "2026-11-24");
    // Signed with the store's name, opt-out appended.
    assert_eq!(a1.body, "【杭州一汽-大众4S店】冬季保养八折回T退订");
    let service = db
        .outbox_by_key("b-service")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(service.next_attempt_at, ts(now));
    assert_eq!(service.body, "【杭州一汽-大众4S店】您的爱车明天到期保养");

    // Enqueuing the same key again writes nothing and reports the existing row.
    let again = svc
        .enqueue_messages(&[m("a1", a, "13800000001", "冬季保养八折")])
        .await
        .expect("again");
    assert_eq!((again.queued, again.skipped, again.existing), (0, 0, 1));
    assert_eq!(again.messages[0].id, a1.id);

    // Frequency cap: 4 marketing messages per 30 days by default. A has one (a1); three
    // more different texts fit, the fifth does not.
    let r = svc
        .enqueue_messages(&[
            m("a2", a, "13800000001", "新车到店"),
            m("a3", a, "13800000001", "试驾有礼"),
            m("a4", a, "13800000001", "置换补贴"),
            m("a5", a, "13800000001", "会员日"),
        ])
        .await
        .expect("cap");
    let why: Vec<Option<String>> = r.messages.iter().map(|m| m.skip_reason.clone()).collect();
    assert_eq!(
        why,
        vec![None, None, None, Some("frequency_cap".to_string())]
    );

    // A marketing message without a customer cannot be checked for consent; a bad number
    // is skipped with its reason; an empty body is a field error of the call.
    let r = svc
        .enqueue_messages(&[
            msg(
                "anon",
                &f,
                None,
                Channel::Sms,
                Purpose::Marketing,
                "13800000009",
                "hi",
                now,
            ),
            msg(
                "bad",
                &f,
                Some(a),
                Channel::Sms,
                Purpose::ServiceNotice,
                "12345",
                "hi",
                now,
            ),
        ])
        .await
        .expect("enqueue");
    assert_eq!(r.messages[0].skip_reason.as_deref(), Some("no_consent"));
    assert_eq!(
        r.messages[1].skip_reason.as_deref(),
        Some("invalid_address")
    );
    match svc
        .enqueue_messages(&[msg(
            "empty",
            &f,
            Some(a),
            Channel::Sms,
            Purpose::ServiceNotice,
            "13800000001",
            " ",
            now,
        )])
        .await
    {
        Err(ServiceError::Invalid(e)) => assert_eq!(e[0].field, "messages[0].body"),
        other => panic!("expected a field error, got {other:?}"),
    }
}
both!(enqueue_applies_consent_hours_duplicates_and_cap);

async fn consent_withdrawn_after_enqueue_stops_the_send(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(db, f.store1, "张三", "13800000001", None).await;
    db.record_consent(
        a,
        "marketing",
        "sms",
        "v1",
        None,
        ts("2026-01-01T00:00:00Z"),
    )
    .await
    .expect("consent");
    let gw = Gateway::start(0).await;
    let mut cfg = config();
    cfg.sms = Some(gw.config());
    // 10:00 Beijing: inside the window.
    let svc = at(db, "2026-11-23T02:00:00Z", &cfg);
    svc.enqueue_messages(&[msg(
        "a1",
        &f,
        Some(a),
        Channel::Sms,
        Purpose::Marketing,
        "13800000001",
        "八折",
        "2026-11-23T02:00:00Z",
    )])
    .await
    .expect("enqueue");
    // The customer replies "退订" before the dispatcher runs.
    svc.sms_inbound(Some(SECRET), "+86 138-0000-0001", "退订")
        .await
        .expect("inbound");
    let r = svc.dispatch_due(10).await.expect("dispatch");
    assert_eq!((r.claimed, r.sent, r.skipped), (1, 0, 1));
    let row = db.outbox_by_key("a1").await.expect("read").expect("row");
    assert_eq!(
        (row.status.as_str(), row.skip_reason.as_deref()),
        ("skipped", Some("suppressed"))
    );
    assert_eq!(gw.calls.load(Ordering::SeqCst), 0);
}
both!(consent_withdrawn_after_enqueue_stops_the_send);

// ---- SMS gateway: retries, give-up, crash without duplicate -----------------------------

/// A local SMS gateway: fails the first `fail_first` calls with 503, then accepts, and
/// drops a second copy of an id it has already accepted (as real gateways dedup).
struct Gateway {
    url: String,
    calls: Arc<AtomicU32>,
    /// (id, mobile, text) of each distinct message accepted.
    accepted: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Gateway {
    async fn start(fail_first: u32) -> Gateway {
        use axum::Json;
        use axum::extract::State;
        use axum::http::StatusCode;
        type St = (
            Arc<AtomicU32>,
            u32,
            Arc<Mutex<Vec<(String, String, String)>>>,
        );
        async fn send(
            State((calls, fail_first, accepted)): State<St>,
            Json(v): Json<serde_json::Value>,
        ) -> (StatusCode, Json<serde_json::Value>) {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if n < fail_first {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"error": "busy"})),
                );
            }
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let mut acc = accepted.lock().expect("lock");
            let pos = match acc.iter().position(|(k, _, _)| *k == id) {
                Some(p) => p,
                None => {
                    acc.push((
                        id,
                        v["mobile"].as_str().unwrap_or_default().into(),
                        v["text"].as_str().unwrap_or_default().into(),
                    ));
                    acc.len() - 1
                }
            };
            (
                StatusCode::OK,
                Json(serde_json::json!({"id": format!("gw-{}", pos + 1)})),
            )
        }
        let calls = Arc::new(AtomicU32::new(0));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/send", axum::routing::post(send))
            .with_state((calls.clone(), fail_first, accepted.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/send", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Gateway {
            url,
            calls,
            accepted,
        }
    }

    fn config(&self) -> SmsGatewayConfig {
        SmsGatewayConfig {
            url: self.url.clone(),
            payload_template: DEFAULT_SMS_TEMPLATE.into(),
            token: None,
        }
    }
}

async fn gateway_failures_are_retried_with_back_off(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(db, f.store1, "张三", "13800000001", None).await;
    let gw = Gateway::start(2).await;
    let mut cfg = config();
    cfg.sms = Some(gw.config());
    let t0 = "2026-11-23T02:00:00Z";
    let svc = at(db, t0, &cfg);
    svc.enqueue_messages(&[msg(
        "svc-1",
        &f,
        Some(a),
        Channel::Sms,
        Purpose::ServiceNotice,
        "13800000001",
        "明天保养",
        t0,
    )])
    .await
    .expect("enqueue");
    // Attempt 1 fails (503): retry 60 s later.
    let r = svc.dispatch_due(10).await.expect("dispatch");
    assert_eq!((r.claimed, r.retried), (1, 1));
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 1));
    assert_eq!(row.next_attempt_at, ts("2026-11-23T02:01:00Z"));
    // Not due yet at t0.
    assert_eq!(svc.dispatch_due(10).await.expect("dispatch").claimed, 0);
    // Attempt 2 at +60 s fails: retry 120 s later, at +180 s.
    let r = at(db, "2026-11-23T02:01:00Z", &cfg)
        .dispatch_due(10)
        .await
        .expect("dispatch");
    assert_eq!(r.retried, 1);
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!(row.next_attempt_at, ts("2026-11-23T02:03:00Z"));
    // Attempt 3 succeeds.
    let r = at(db, "2026-11-23T02:03:00Z", &cfg)
        .dispatch_due(10)
        .await
        .expect("dispatch");
    assert_eq!(r.sent, 1);
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 3));
    assert_eq!(row.provider_id.as_deref(), Some("gw-1"));
    assert_eq!(gw.calls.load(Ordering::SeqCst), 3);
    let accepted = gw.accepted.lock().expect("lock").clone();
    assert_eq!(
        accepted,
        vec![(
            "svc-1".to_string(),
            "13800000001".to_string(),
            "【杭州一汽-大众4S店】明天保养".to_string()
        )]
    );

    // The delivery report arrives on the status webhook.
    let later = at(db, "2026-11-23T02:04:00Z", &cfg);
    assert!(matches!(
        later
            .sms_status(Some("wrong"), "gw-1", "delivered", "")
            .await,
        Err(ServiceError::Unauthenticated)
    ));
    later
        .sms_status(Some(SECRET), "gw-1", "delivered", "DELIVRD")
        .await
        .expect("status");
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!(row.status, "delivered");
    assert_eq!(row.delivered_at, Some(ts("2026-11-23T02:04:00Z")));
    let events: Vec<String> = db
        .message_events(row.id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(events, ["queued", "retry", "retry", "sent", "delivered"]);
}
both!(gateway_failures_are_retried_with_back_off);

async fn gateway_down_gives_up_after_five_attempts_and_a_manager_retries(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(db, f.store1, "张三", "13800000001", None).await;
    let gw = Gateway::start(1000).await;
    let mut cfg = config();
    cfg.sms = Some(gw.config());
    at(db, "2026-11-23T02:00:00Z", &cfg)
        .enqueue_messages(&[msg(
            "svc-1",
            &f,
            Some(a),
            Channel::Sms,
            Purpose::ServiceNotice,
            "13800000001",
            "明天保养",
            "2026-11-23T02:00:00Z",
        )])
        .await
        .expect("enqueue");
    // Back-off 60, 120, 240, 480 s: every attempt at an hour's interval is due.
    for hour in 2..7 {
        at(db, &format!("2026-11-23T{hour:02}:00:00Z"), &cfg)
            .dispatch_due(10)
            .await
            .expect("dispatch");
    }
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 5));
    assert!(row.last_error.as_deref().unwrap_or("").contains("503"));
    assert_eq!(gw.calls.load(Ordering::SeqCst), 5);
    // A consultant may not retry; the manager may.
    let svc = at(db, "2026-11-23T08:00:00Z", &cfg);
    assert!(matches!(
        svc.retry_message(&f.consultant_a, row.id).await,
        Err(ServiceError::Forbidden(_))
    ));
    svc.retry_message(&f.manager1, row.id).await.expect("retry");
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 0));
}
both!(gateway_down_gives_up_after_five_attempts_and_a_manager_retries);

async fn a_crash_while_sending_neither_loses_nor_duplicates(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(db, f.store1, "张三", "13800000001", None).await;
    let gw = Gateway::start(0).await;
    let mut cfg = config();
    cfg.sms = Some(gw.config());
    let svc = at(db, "2026-11-23T02:00:00Z", &cfg);
    svc.enqueue_messages(&[msg(
        "svc-1",
        &f,
        Some(a),
        Channel::Sms,
        Purpose::ServiceNotice,
        "13800000001",
        "明天保养",
        "2026-11-23T02:00:00Z",
    )])
    .await
    .expect("enqueue");
    // A dispatcher claims the row and the gateway accepts it, then the process dies
    // before recording the result.
    let claimed = db
        .claim_due_messages(
            ts("2026-11-23T02:00:00Z"),
            ts("2026-11-23T02:05:00Z"),
            10,
            &["sms".to_string()],
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    svc.send_claimed(&claimed[0])
        .await
        .expect("gateway accepted");
    drop(claimed);
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!(row.status, "sending");
    // Another dispatcher within the lease leaves it alone.
    assert_eq!(
        at(db, "2026-11-23T02:04:59Z", &cfg)
            .dispatch_due(10)
            .await
            .expect("dispatch")
            .claimed,
        0
    );
    // After the lease the row is sent again with the same key; the gateway drops the copy.
    let r = at(db, "2026-11-23T02:05:00Z", &cfg)
        .dispatch_due(10)
        .await
        .expect("dispatch");
    assert_eq!((r.claimed, r.sent), (1, 1));
    let row = db.outbox_by_key("svc-1").await.expect("read").expect("row");
    assert_eq!(
        (
            row.status.as_str(),
            row.attempts,
            row.provider_id.as_deref()
        ),
        ("sent", 2, Some("gw-1"))
    );
    assert_eq!(gw.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        gw.accepted.lock().expect("lock").len(),
        1,
        "exactly one message reached the phone"
    );
    // Nothing is left to send.
    assert_eq!(
        at(db, "2026-11-24T02:00:00Z", &cfg)
            .dispatch_due(10)
            .await
            .expect("dispatch")
            .claimed,
        0
    );

    // Two dispatchers claiming at the same moment never get the same row.
    svc.enqueue_messages(&[msg(
        "svc-2",
        &f,
        Some(a),
        Channel::Sms,
        Purpose::ServiceNotice,
        "13800000001",
        "后天保养",
        "2026-11-23T02:00:00Z",
    )])
    .await
    .expect("enqueue");
    let now = ts("2026-11-23T03:00:00Z");
    let lease = ts("2026-11-23T03:05:00Z");
    let ch = ["sms".to_string()];
    let (x, y) = tokio::join!(
        db.claim_due_messages(now, lease, 10, &ch),
        db.claim_due_messages(now, lease, 10, &ch)
    );
    assert_eq!(x.expect("claim").len() + y.expect("claim").len(), 1);
}
both!(a_crash_while_sending_neither_loses_nor_duplicates);

// ---- inbound replies ---------------------------------------------------------------------

async fn opt_out_replies_suppress_and_withdraw(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(db, f.store1, "张三", "13800000001", None).await;
    db.record_consent(
        a,
        "marketing",
        "sms",
        "v1",
        None,
        ts("2026-01-01T00:00:00Z"),
    )
    .await
    .expect("consent");
    let cfg = config();
    let svc = at(db, "2026-11-23T02:00:00Z", &cfg);
    assert!(matches!(
        svc.sms_inbound(None, "13800000001", "T").await,
        Err(ServiceError::Unauthenticated)
    ));
    let without_secret = at(db, "2026-11-23T02:00:00Z", &MessagingConfig::default());
    assert!(matches!(
        without_secret
            .sms_inbound(Some("x"), "13800000001", "T")
            .await,
        Err(ServiceError::Unauthenticated)
    ));
    // A question is kept but changes nothing.
    let r = svc
        .sms_inbound(Some(SECRET), "13800000001", "几点营业？")
        .await
        .expect("inbound");
    assert_eq!((r.opt_out, r.suppressed), (None, false));
    // Full-width "ＴＤ" with spaces is an opt-out.
    let r = svc
        .sms_inbound(Some(SECRET), "+8613800000001", " ＴＤ ")
        .await
        .expect("inbound");
    assert_eq!(
        (r.opt_out.as_deref(), r.suppressed),
        (Some("unsubscribe"), true)
    );
    let consents = db.customer_consents(a).await.expect("consents");
    assert_eq!(consents[0].withdrawn_at, Some(ts("2026-11-23T02:00:00Z")));
    let list = svc.suppression_list(&f.admin, 1).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(
        (
            list.items[0].address.as_str(),
            list.items[0].source.as_str()
        ),
        ("13800000001", "sms_reply")
    );
    // A second "R" finds the number already listed.
    let r = svc
        .sms_inbound(Some(SECRET), "13800000001", "r")
        .await
        .expect("inbound");
    assert_eq!(
        (r.opt_out.as_deref(), r.suppressed),
        (Some("refuse"), false)
    );
    // A marketing message to the number is now skipped.
    let e = svc
        .enqueue_messages(&[msg(
            "m",
            &f,
            Some(a),
            Channel::Sms,
            Purpose::Marketing,
            "13800000001",
            "八折",
            "2026-11-23T02:00:00Z",
        )])
        .await
        .expect("enqueue");
    assert_eq!(e.messages[0].skip_reason.as_deref(), Some("suppressed"));
    // Removing by hand is audited; a consultant may not see the list.
    assert!(matches!(
        svc.suppression_list(&f.consultant_a, 1).await,
        Err(ServiceError::Forbidden(_))
    ));
    svc.remove_suppression(&f.admin, list.items[0].id)
        .await
        .expect("remove");
    assert!(
        svc.suppression_list(&f.admin, 1)
            .await
            .expect("list")
            .items
            .is_empty()
    );
    let audit = db
        .audit_log(None, Some("unsuppress"), None, 50)
        .await
        .expect("audit");
    assert!(audit.iter().any(|e| e.action == "unsuppress"), "{audit:?}");
}
both!(opt_out_replies_suppress_and_withdraw);

// ---- e-mail over SMTP ---------------------------------------------------------------------

/// A tiny SMTP server: enough of RFC 5321 for one client (EHLO, MAIL, RCPT, DATA, QUIT).
/// Each message's envelope recipient and DATA are kept.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 localhost test SMTP\r\n").await.ok();
                let mut rcpt = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        w.write_all(b"250-localhost\r\n250 8BITMIME\r\n").await.ok();
                    } else if upper.starts_with("MAIL FROM") {
                        w.write_all(b"250 OK\r\n").await.ok();
                    } else if upper.starts_with("RCPT TO") {
                        rcpt = line[8..]
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_string();
                        w.write_all(b"250 OK\r\n").await.ok();
                    } else if upper == "DATA" {
                        w.write_all(b"354 go ahead\r\n").await.ok();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().expect("lock").push((rcpt.clone(), data));
                        w.write_all(b"250 OK queued\r\n").await.ok();
                    } else if upper.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.ok();
                        return;
                    } else {
                        w.write_all(b"250 OK\r\n").await.ok();
                    }
                }
            });
        }
    });
    (port, got)
}

/// Undoes quoted-printable soft line breaks and `=3D`, enough to read an ASCII link.
fn unqp(s: &str) -> String {
    s.replace("=\n", "").replace("=3D", "=")
}

async fn marketing_email_goes_out_over_smtp_with_an_unsubscribe_link(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(
        db,
        f.store1,
        "张三",
        "13800000001",
        Some("zhang@example.cn"),
    )
    .await;
    db.record_consent(
        a,
        "marketing",
        "email",
        "v1",
        None,
        ts("2026-01-01T00:00:00Z"),
    )
    .await
    .expect("consent");
    let (port, got) = smtp_server().await;
    let mut cfg = config();
    cfg.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "dealerbase <crm@example.cn>".into(),
    });
    let svc = at(db, "2026-11-23T02:00:00Z", &cfg);
    let r = svc
        .enqueue_messages(&[msg(
            "mail-1",
            &f,
            Some(a),
            Channel::Email,
            Purpose::Marketing,
            "Zhang@Example.cn",
            "Winter service: 20% off",
            "2026-11-23T02:00:00Z",
        )])
        .await
        .expect("enqueue");
    assert_eq!(r.queued, 1);
    let d = svc.dispatch_due(10).await.expect("dispatch");
    assert_eq!(d.sent, 1, "{d:?}");
    let mails = got.lock().expect("lock").clone();
    assert_eq!(mails.len(), 1);
    let (rcpt, data) = &mails[0];
    assert_eq!(rcpt, "zhang@example.cn");
    assert!(data.contains("Subject: Winter service"), "{data}");
    // The Message-ID comes from the idempotency key: a resend after a crash is the same mail.
    assert!(
        data.contains(&format!("Message-ID: {}", message_id_for("mail-1"))),
        "{data}"
    );
    let row = db
        .outbox_by_key("mail-1")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (row.status.as_str(), row.provider_id.clone()),
        ("sent", Some(message_id_for("mail-1")))
    );
    let body = unqp(data);
    assert!(body.contains("Winter service: 20% off"), "{body}");
    let link_start = body
        .find("https://crm.example.cn/unsubscribe?token=")
        .expect("unsubscribe link");
    let token: String = body[link_start + "https://crm.example.cn/unsubscribe?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    assert_eq!(
        svc.verify_unsubscribe_token(&token).expect("valid"),
        (a, "zhang@example.cn".to_string())
    );
    // A tampered token is refused.
    let mut bad = token.clone();
    bad.replace_range(0..1, if token.starts_with('9') { "8" } else { "9" });
    assert!(matches!(
        svc.unsubscribe(&bad).await,
        Err(ServiceError::NotFound { .. })
    ));
    // Following the link suppresses the address and withdraws the e-mail consent.
    assert_eq!(
        svc.unsubscribe(&token).await.expect("unsubscribe"),
        "zhang@example.cn"
    );
    let next = svc
        .enqueue_messages(&[msg(
            "mail-2",
            &f,
            Some(a),
            Channel::Email,
            Purpose::Marketing,
            "zhang@example.cn",
            "Spring offer",
            "2026-11-23T02:00:00Z",
        )])
        .await
        .expect("enqueue");
    assert_eq!(next.messages[0].skip_reason.as_deref(), Some("suppressed"));
    assert!(
        db.customer_consents(a).await.expect("consents")[0]
            .withdrawn_at
            .is_some()
    );
}
both!(marketing_email_goes_out_over_smtp_with_an_unsubscribe_link);

// ---- over HTTP -----------------------------------------------------------------------------

#[tokio::test]
async fn webhooks_outbox_and_unsubscribe_over_http() {
    let t = TestDb::sqlite().await;
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(
        db,
        f.store1,
        "张三",
        "13800000001",
        Some("zhang@example.cn"),
    )
    .await;
    db.record_consent(
        a,
        "marketing",
        "sms",
        "v1",
        None,
        ts("2026-01-01T00:00:00Z"),
    )
    .await
    .expect("consent");
    let svc = f.svc.clone().with_messaging(config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = svc.clone();
    tokio::spawn(async move { dealerbase_web::serve(listener, served).await });
    let http = reqwest::Client::new();

    // Inbound webhook: wrong secret 401, right secret suppresses.
    let resp = http
        .post(format!("{base}/api/v1/sms/inbound"))
        .header("x-gateway-secret", "nope")
        .json(&serde_json::json!({"from": "13800000001", "text": "T"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    let resp = http
        .post(format!("{base}/api/v1/sms/inbound"))
        .header("x-gateway-secret", SECRET)
        .json(&serde_json::json!({"from": "13800000001", "text": "T"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["opt_out"], "unsubscribe");
    // A bad number names the field.
    let resp = http
        .post(format!("{base}/api/v1/sms/inbound"))
        .header("x-gateway-secret", SECRET)
        .json(&serde_json::json!({"from": "12", "text": "T"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 422);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["code"], "mobile_format");

    // The status webhook: an unknown message is 404, an unknown status names the field.
    let resp = http
        .post(format!("{base}/api/v1/sms/status"))
        .header("x-gateway-secret", SECRET)
        .json(&serde_json::json!({"id": "nope", "status": "delivered"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 404);
    let resp = http
        .post(format!("{base}/api/v1/sms/status"))
        .header("x-gateway-secret", SECRET)
        .json(&serde_json::json!({"id": "nope", "status": "maybe"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 422);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        (v["code"].as_str(), v["field"].as_str()),
        (Some("one_of"), Some("status"))
    );

    // Enqueue through the API, then read the outbox as the manager (masked) and as a
    // consultant (forbidden).
    let token = svc
        .issue_api_token(f.manager1.staff_id, "test")
        .await
        .expect("token");
    let resp = http
        .post(format!("{base}/api/v1/messages"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"messages": [{
            "idempotency_key": "api-1", "store_id": f.store1, "customer_id": a, "channel": "sms",
            "purpose": "marketing", "to": "13800000001", "subject": null, "body": "八折",
            "campaign_id": null, "not_before": "2026-11-23T02:00:00Z"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["messages"][0]["skip_reason"], "suppressed");
    let resp = http
        .get(format!("{base}/api/v1/messages?status=skipped"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["items"][0]["idempotency_key"], "api-1");
    assert_eq!(v["items"][0]["skip_reason"], "suppressed");
    let resp = http
        .get(format!("{base}/api/v1/messages?status=lost"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 422);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["field"], "status");
    let consultant = svc
        .issue_api_token(f.consultant_a.staff_id, "test")
        .await
        .expect("token");
    let resp = http
        .get(format!("{base}/api/v1/messages"))
        .bearer_auth(&consultant)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 403);

    // The outbox and suppression pages (the manager may reveal: full numbers).
    let session = svc
        .sign_in("s01.manager", "password123", "test")
        .await
        .unwrap_or_else(|_| panic!("sign in"));
    let cookie = format!("dbsid={}", session.token);
    let page = http
        .get(format!("{base}/messages?status=skipped"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert!(html.contains("在免打扰名单中"), "{html}");
    let page = http
        .post(format!("{base}/suppressions"))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", session.csrf_token.as_str()),
            ("address", "12345"),
            ("reason", ""),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), 422);
    assert!(page.text().await.expect("body").contains("12345"));
    let page = http
        .post(format!("{base}/suppressions"))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", "wrong"),
            ("address", "13900000000"),
            ("reason", ""),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), 403);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client
        .post(format!("{base}/suppressions"))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", session.csrf_token.as_str()),
            ("address", "139 0000 0000"),
            ("reason", "客户来电要求"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), 303);
    let html = http
        .get(format!("{base}/suppressions"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    assert!(
        html.contains("13900000000") && html.contains("客户来电要求") && html.contains("手工添加"),
        "{html}"
    );

    // The unsubscribe page: GET asks (changes nothing), POST confirms; both languages.
    let link_token = svc.unsubscribe_token(a, "zhang@example.cn");
    let resp = http
        .get(format!("{base}/unsubscribe?token={link_token}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("body");
    assert!(page.contains("退订"), "{page}");
    assert!(
        svc.suppression_list(&f.admin, 1)
            .await
            .expect("list")
            .items
            .iter()
            .all(|s| s.address != "zhang@example.cn")
    );
    let resp = http
        .post(format!("{base}/unsubscribe"))
        .header("cookie", "dblang=en")
        .form(&[("token", link_token.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("body");
    assert!(page.contains("unsubscribed"), "{page}");
    assert!(
        svc.suppression_list(&f.admin, 1)
            .await
            .expect("list")
            .items
            .iter()
            .any(|s| s.address == "zhang@example.cn")
    );
    let resp = http
        .get(format!("{base}/unsubscribe?token=1.00.00"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 404);
    t.finish().await;
}

async fn outbox_is_scoped_and_masked(t: &TestDb) {
    let db = &t.db;
    let f = fixture(db).await;
    let a = customer(db, f.store1, "张三", "13800000001", None).await;
    let b = customer(db, f.store2, "李四", "13800000002", None).await;
    let svc = at(db, "2026-11-23T02:00:00Z", &config());
    let mut m2 = msg(
        "s2",
        &f,
        Some(b),
        Channel::Sms,
        Purpose::ServiceNotice,
        "13800000002",
        "保养",
        "2026-11-23T02:00:00Z",
    );
    m2.store_id = f.store2;
    svc.enqueue_messages(&[
        msg(
            "s1",
            &f,
            Some(a),
            Channel::Sms,
            Purpose::ServiceNotice,
            "13800000001",
            "保养",
            "2026-11-23T02:00:00Z",
        ),
        m2.clone(),
    ])
    .await
    .expect("enqueue");
    let keys = |p: dealerbase_store::Page<dealerbase_store::messaging::OutboxRow>| -> Vec<String> {
        p.items.into_iter().map(|r| r.idempotency_key).collect()
    };
    let all = dealerbase_store::messaging::OutboxFilter {
        page: 1,
        per_page: 50,
        ..Default::default()
    };
    // The store's manager sees the store; the administrator the group.
    assert_eq!(
        keys(svc.outbox(&f.manager1, all.clone()).await.expect("outbox")),
        ["s1"]
    );
    assert_eq!(
        keys(svc.outbox(&f.admin, all.clone()).await.expect("outbox")),
        ["s2", "s1"]
    );
    assert!(matches!(
        svc.outbox(&f.advisor1, all.clone()).await,
        Err(ServiceError::Forbidden(_))
    ));
    // Another store's message is not found for the manager.
    let s2 = db.outbox_by_key("s2").await.expect("read").expect("row");
    assert!(matches!(
        svc.outbox_message(&f.manager1, s2.id).await,
        Err(ServiceError::NotFound { .. })
    ));
    // Marketing may not reveal personal data: numbers masked.
    let mut marketing = f.manager1.clone();
    marketing.role = dealerbase_domain::model::Role::Marketing;
    let page = svc.outbox(&marketing, all.clone()).await.expect("outbox");
    assert_eq!(page.items[0].to_address, "138****0001");
    let page = svc.outbox(&f.manager1, all).await.expect("outbox");
    assert_eq!(page.items[0].to_address, "13800000001");
    // The manager cannot enqueue into another store.
    assert!(matches!(
        svc.enqueue_messages_as(&f.manager1, &[m2]).await,
        Err(ServiceError::Forbidden(_))
    ));
}
both!(outbox_is_scoped_and_masked);

/// `dealerbase outbox` sends what is due once, with the transports from its flags.
#[tokio::test(flavor = "multi_thread")]
async fn outbox_command_sends_what_is_due() {
    let t = TestDb::sqlite().await;
    let f = fixture(&t.db).await;
    let a = customer(&t.db, f.store1, "张三", "13800000001", None).await;
    at(&t.db, "2026-11-23T02:00:00Z", &config())
        .enqueue_messages(&[msg(
            "cli-1",
            &f,
            Some(a),
            Channel::Sms,
            Purpose::ServiceNotice,
            "13800000001",
            "明天保养",
            "2026-11-23T02:00:00Z",
        )])
        .await
        .expect("enqueue");
    let gw = Gateway::start(0).await;
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_dealerbase"))
                .args(&args)
                .env("DEALERBASE_LOG", "error")
                .env("DEALERBASE_UNSUBSCRIBE_SECRET", "k")
                .output()
                .expect("run dealerbase");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
    };
    let (ok, _, err) = run(vec![
        "outbox".into(),
        "--database-url".into(),
        t.url.clone(),
        "--smtp-security".into(),
        "ssl3".into(),
    ])
    .await
    .expect("join");
    assert!(
        !ok && err.contains("--smtp-security") && err.contains("ssl3"),
        "{err}"
    );
    let (ok, out, err) = run(vec![
        "outbox".into(),
        "--database-url".into(),
        t.url.clone(),
        "--sms-url".into(),
        gw.url.clone(),
    ])
    .await
    .expect("join");
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json report");
    assert_eq!(
        (v["claimed"].as_u64(), v["sent"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(gw.accepted.lock().expect("lock").len(), 1);
    let row =
        t.db.outbox_by_key("cli-1")
            .await
            .expect("read")
            .expect("row");
    assert_eq!(row.status, "sent");
    t.finish().await;
}
