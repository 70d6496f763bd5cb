//! The web application over HTTP (sessions, CSRF, lock-out, expiry, masking, forms, bad
//! input) against the real router on port 0, and the role × resource × action matrix of
//! the scope rules through the services on both databases.

use crate::harness::{Fixture, TestDb, fixture, today, vin};
use chrono::{DateTime, Duration, Utc};
use dealerbase_domain::Clock;
use dealerbase_service::admin::AuditQuery;
use dealerbase_service::input::{
    CustomerInput, LeadInput, VehicleInput, WorkOrderInput, WorkOrderLineInput,
};
use dealerbase_service::records::CustomerQuery;
use dealerbase_service::{Actor, ServiceError, Services};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A clock the test moves forward.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

impl TestClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().expect("clock") += d;
    }
}

fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// The HTML of a page: the CSRF token it carries.
fn csrf_of(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_string()
}

struct Resp {
    status: StatusCode,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
    headers: Vec<(String, String)>,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
            headers: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<String>,
        content_type: &str,
    ) -> Resp {
        let mut req = self.http.request(
            method.parse().expect("method"),
            format!("{}{}", self.base, path),
        );
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", c.join("; "));
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            req = req.header("content-type", content_type).body(b);
        }
        let r = req.send().await.expect("send");
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let set_cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        for c in &set_cookies {
            let first = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        Resp {
            status,
            location,
            set_cookies,
            body: r.text().await.unwrap_or_default(),
        }
    }

    async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None, "").await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        self.send(
            "POST",
            path,
            Some(body.join("&")),
            "application/x-www-form-urlencoded",
        )
        .await
    }

    async fn sign_in(&mut self, login: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        let csrf = csrf_of(&page.body);
        self.post(
            "/login",
            &[
                ("login", login),
                ("password", password),
                ("_csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await
    }

    /// The CSRF token of the signed-in session, read from a page.
    async fn csrf(&mut self) -> String {
        csrf_of(&self.get("/password").await.body)
    }
}

struct App {
    base: String,
    f: Fixture,
    svc: Services,
    clock: Arc<TestClock>,
    _db: TestDb,
}

async fn start() -> App {
    let t = TestDb::sqlite().await;
    let f = fixture(&t.db).await;
    let clock = Arc::new(TestClock(Mutex::new(f.svc.clock.now())));
    let svc = Services::new(t.db.clone(), clock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let s = svc.clone();
    tokio::spawn(async move { dealerbase_web::serve(listener, s).await });
    App {
        base,
        f,
        svc,
        clock,
        _db: t,
    }
}

async fn customer(svc: &Services, by: &Actor, name: &str, mobile: &str) -> i64 {
    svc.create_customer(
        by,
        &CustomerInput {
            name: Some(name.into()),
            mobile: Some(mobile.into()),
            id_number: Some("11010519491231002X".into()),
            ..Default::default()
        },
    )
    .await
    .expect("customer")
    .customer
    .id
}

#[tokio::test]
async fn sign_in_sets_safe_cookies_and_sign_out_ends_the_session() {
    let app = start().await;
    let mut b = Browser::new(&app.base);
    // Not signed in: pages send to the sign-in page and come back afterwards.
    let r = b.get("/customers?q=x").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location.starts_with("/login?next=/customers"),
        "{}",
        r.location
    );
    let page = b.get("/login").await;
    assert!(
        page.body.contains("登录名") && page.body.contains("lang=\"zh-CN\""),
        "Chinese by default"
    );
    let r = b.sign_in("s01.a", "password123").await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/today")
    );
    let session = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("dbsid="))
        .expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"), "plain http: {session}");
    let page = b.get("/customers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("s01.a") && !page.body.contains("/admin/users"),
        "consultant navigation"
    );
    assert_eq!(
        page.body.matches("name=\"_csrf\"").count(),
        1,
        "the sign-out form"
    );
    // The API accepts the browser session with the same scope.
    let r = b.get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = b.csrf().await;
    let r = b.post("/logout", &[("_csrf", &token)]).await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    assert_eq!(b.get("/customers").await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);

    // Behind a proxy that terminates TLS the cookie is Secure.
    let mut b = Browser::new(&app.base);
    b.headers.push(("x-forwarded-proto".into(), "https".into()));
    let r = b.sign_in("admin", "password123").await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/dashboard")
    );
    assert!(
        r.set_cookies
            .iter()
            .any(|c| c.starts_with("dbsid=") && c.contains("; Secure"))
    );
    let page = b.get("/admin/users").await;
    assert!(page.body.contains("s01.manager") && page.body.contains("/admin/audit"));
    // The dashboard renders every chart kind.
    let page = b.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("<svg class=\"chart\"").count(),
        5,
        "{}",
        page.body
    );
}

#[tokio::test]
async fn csrf_is_required_on_every_form_and_state_changing_api_call() {
    let app = start().await;
    let id = customer(&app.svc, &app.f.manager1, "孙立", "13911112222").await;
    let mut b = Browser::new(&app.base);
    // The sign-in form needs its double-submit cookie.
    let page = b.get("/login").await;
    let token = csrf_of(&page.body);
    b.cookies.remove("dbpre");
    let r = b
        .post(
            "/login",
            &[
                ("login", "s01.manager"),
                ("password", "password123"),
                ("_csrf", &token),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        b.sign_in("s01.manager", "password123").await.status,
        StatusCode::SEE_OTHER
    );
    let good = b.csrf().await;
    assert_eq!(good.len(), 64);
    for (path, form) in [
        ("/customers/new", vec![("name", "新客户")]),
        (&*format!("/customers/{id}/edit"), vec![("name", "改名")]),
        (&*format!("/customers/{id}/reveal"), vec![]),
        ("/password", vec![("current_password", "password123")]),
        ("/logout", vec![]),
    ] {
        for bad in [None, Some("0".repeat(64)), Some(String::new())] {
            let mut f = form.clone();
            if let Some(t) = &bad {
                f.push(("_csrf", t.as_str()));
            }
            let r = b.post(path, &f).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {bad:?}");
        }
    }
    // Nothing was changed or revealed by the rejected requests.
    let c = app
        .svc
        .customer(&app.f.manager1, id)
        .await
        .expect("customer");
    assert_eq!(c.customer.fields.name, "孙立");
    let reveals = app
        .svc
        .audit_log(
            &app.f.admin,
            &AuditQuery {
                action: Some("reveal".into()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert!(reveals.items.is_empty());
    // The JSON API with the session cookie: reads need no token, writes do.
    let body = r#"{"email": "sun@example.cn"}"#.to_string();
    let r = b
        .send(
            "PATCH",
            &format!("/api/v1/customers/{id}"),
            Some(body.clone()),
            "application/json",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    b.headers.push(("x-csrf-token".into(), good.clone()));
    let r = b
        .send(
            "PATCH",
            &format!("/api/v1/customers/{id}"),
            Some(body),
            "application/json",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // With the right token the form works, and the session is still alive.
    let r = b
        .post(
            "/customers/new",
            &[("name", "周到"), ("kind", "individual"), ("_csrf", &good)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location.starts_with("/customers/"));
}

#[tokio::test]
async fn failed_sign_ins_are_slowed_then_locked_for_a_while() {
    let app = start().await;
    let mut b = Browser::new(&app.base);
    let mut times = Vec::new();
    for _ in 0..4 {
        let started = std::time::Instant::now();
        let r = b.sign_in("s01.b", "wrong-password").await;
        times.push(started.elapsed());
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("登录名或密码错误"), "{}", r.body);
        assert!(
            r.body.contains("value=\"s01.b\""),
            "the login typed is kept"
        );
    }
    assert!(
        times[2] >= std::time::Duration::from_secs(1),
        "third failure is slowed: {times:?}"
    );
    assert!(
        times[3] >= std::time::Duration::from_secs(2),
        "fourth more: {times:?}"
    );
    let r = b.sign_in("s01.b", "wrong-password").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("锁定"), "{}", r.body);
    // Locked: even the right password is refused, and other logins are not affected.
    let r = b.sign_in("s01.b", "password123").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        Browser::new(&app.base)
            .sign_in("s01.a", "password123")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // Unknown logins are throttled the same way, so the answer tells nothing.
    let r = b.sign_in("nobody", "x").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("登录名或密码错误"));
    app.clock.advance(Duration::minutes(16));
    let r = b.sign_in("s01.b", "password123").await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/today")
    );
    let log = app
        .svc
        .audit_log(
            &app.f.admin,
            &AuditQuery {
                who: Some("s01.b".into()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"sign_in_locked") && actions.contains(&"sign_in"),
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "sign_in_failed").count(),
        5
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_a_working_day() {
    let app = start().await;
    let mut b = Browser::new(&app.base);
    b.sign_in("s01.a", "password123").await;
    assert_eq!(b.get("/today").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(119));
    assert_eq!(
        b.get("/today").await.status,
        StatusCode::OK,
        "used within the idle window"
    );
    app.clock.advance(Duration::minutes(121));
    let r = b.get("/today").await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/login?next=/today")
    );
    // Kept busy, a session still ends 12 hours after sign-in.
    b.sign_in("s01.a", "password123").await;
    for _ in 0..6 {
        app.clock.advance(Duration::minutes(110));
        assert_eq!(b.get("/today").await.status, StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(61));
    assert_eq!(b.get("/today").await.status, StatusCode::SEE_OTHER);
    // Changing the password ends the other sessions, not this one.
    let mut other = Browser::new(&app.base);
    other.sign_in("s01.a", "password123").await;
    b.sign_in("s01.a", "password123").await;
    let t = b.csrf().await;
    let r = b
        .post(
            "/password",
            &[
                ("current_password", "wrong"),
                ("new_password", "abc12345"),
                ("confirm_password", "abc12345"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("当前密码不正确"));
    let r = b
        .post(
            "/password",
            &[
                ("current_password", "password123"),
                ("new_password", "new-secret-1"),
                ("confirm_password", "new-secret-1"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("密码已修改"));
    assert_eq!(b.get("/today").await.status, StatusCode::OK);
    assert_eq!(other.get("/today").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        Browser::new(&app.base)
            .sign_in("s01.a", "new-secret-1")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn personal_data_is_masked_and_each_reveal_is_audited() {
    let app = start().await;
    let id = customer(&app.svc, &app.f.consultant_a, "吴敏", "13812345678").await;
    let mut consultant = Browser::new(&app.base);
    consultant.sign_in("s01.a", "password123").await;
    let page = consultant.get(&format!("/customers/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("138****5678") && page.body.contains("1*************002X"));
    assert!(!page.body.contains("13812345678") && !page.body.contains("11010519491231002X"));
    assert!(
        !page.body.contains("id=\"reveal\""),
        "consultants may not reveal"
    );
    let list = consultant.get("/customers?q=13812345678").await;
    // (The search box shows what the consultant typed; the list shows the mask.)
    assert!(
        list.body.contains("吴敏") && list.body.contains("<td class=\"mono\">138****5678</td>")
    );
    let t = consultant.csrf().await;
    let r = consultant
        .post(&format!("/customers/{id}/reveal"), &[("_csrf", &t)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("13812345678"));
    // The edit form does not show the numbers either.
    let form = consultant.get(&format!("/customers/{id}/edit")).await;
    assert!(!form.body.contains("13812345678") && form.body.contains("138****5678"));

    let mut manager = Browser::new(&app.base);
    manager.sign_in("s01.manager", "password123").await;
    let page = manager.get(&format!("/customers/{id}")).await;
    assert!(page.body.contains("id=\"reveal\""));
    let t = manager.csrf().await;
    let r = manager
        .post(&format!("/customers/{id}/reveal"), &[("_csrf", &t)])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("13812345678") && r.body.contains("11010519491231002X"));
    // Saving the edit form with the hidden fields left empty keeps the numbers.
    let r = manager
        .post(
            &format!("/customers/{id}/edit"),
            &[
                ("name", "吴敏"),
                ("kind", "individual"),
                ("address", "杭州"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let full = app
        .svc
        .reveal_customer(&app.f.admin, id)
        .await
        .expect("reveal");
    assert_eq!(full.mobile.as_deref(), Some("13812345678"));

    let mut admin = Browser::new(&app.base);
    admin.sign_in("admin", "password123").await;
    let log = admin
        .get("/admin/audit?action=reveal&who=s01.manager")
        .await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(
        log.body.contains(&format!("href=\"/customers/{id}\"")),
        "{}",
        log.body
    );
    let log = admin
        .get(&format!(
            "/admin/audit?entity=customer&entity_id={id}&from={}&to={}",
            today(),
            today()
        ))
        .await;
    assert!(
        log.body.contains("audit-reveal") && log.body.contains("audit-update"),
        "{}",
        log.body
    );
    let log = admin.get("/admin/audit?who=s01.a&action=reveal").await;
    assert!(!log.body.contains("audit-reveal"), "filters apply");
    // Only administrators read the audit log.
    assert_eq!(
        manager.get("/admin/audit").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn forms_keep_input_and_explain_errors_in_the_users_language() {
    let app = start().await;
    let mut b = Browser::new(&app.base);
    b.sign_in("s01.a", "password123").await;
    let t = b.csrf().await;
    let form = [
        ("name", "郑和"),
        ("kind", "individual"),
        ("mobile", "12345"),
        ("email", "not-an-email"),
        ("birthday", "2023-02-30"),
        ("address", "宁波市海曙区"),
        ("_csrf", t.as_str()),
    ];
    let r = b.post("/customers/new", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for text in [
        "id=\"err-mobile\"",
        "手机号应为",
        "id=\"err-email\"",
        "电子邮箱格式不正确",
        "id=\"err-birthday\"",
        "value=\"宁波市海曙区\"",
        "value=\"not-an-email\"",
        "value=\"12345\"",
    ] {
        assert!(r.body.contains(text), "{text} missing");
    }
    assert!(!r.body.contains("id=\"err-name\""));
    let r = b.get("/lang?to=en&next=/customers/new").await;
    assert_eq!(r.location, "/customers/new");
    let r = b.post("/customers/new", &form).await;
    assert!(
        r.body.contains("not an e-mail address")
            && r.body.contains("11 digits")
            && r.body.contains("lang=\"en\""),
        "{}",
        r.body
    );
    // Vehicle form: the VIN check digit and a plate, and numbers that are not numbers.
    let id = customer(&app.svc, &app.f.consultant_a, "郑和", "13700001111").await;
    let r = b
        .post(
            &format!("/customers/{id}/vehicles/new"),
            &[
                ("vin", "LFV2A21K0P4000001"),
                ("plate", "京I12345"),
                ("model_id", "abc"),
                ("model_year", "twenty"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for text in [
        "err-vin",
        "check digit",
        "err-plate",
        "err-model_id",
        "err-model_year",
        "value=\"twenty\"",
    ] {
        assert!(r.body.contains(text), "{text} missing");
    }
    let good = vin(7);
    let model = app.f.model.to_string();
    let r = b
        .post(
            &format!("/customers/{id}/vehicles/new"),
            &[
                ("vin", &good),
                ("plate", "浙A12345"),
                ("model_id", &model),
                ("delivery_date", "2024-03-01"),
                ("own_sold", "on"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.location.clone()),
        (StatusCode::SEE_OTHER, format!("/customers/{id}")),
        "{}",
        r.body
    );
    let page = b.get(&format!("/customers/{id}")).await;
    assert!(page.body.contains("浙A12345") && page.body.contains(&good));
    let list = b.get(&format!("/customers?q={}", enc("浙A12345"))).await;
    assert!(
        list.body.contains(&format!("/customers/{id}\"")),
        "search by plate"
    );
    // The same VIN again is a conflict shown on the field.
    let r = b
        .post(
            &format!("/customers/{id}/vehicles/new"),
            &[("vin", &good), ("model_id", &model), ("_csrf", &t)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("err-vin"));
}

#[tokio::test]
async fn aftersales_settings_are_a_form_with_errors_next_to_each_field() {
    let app = start().await;
    let mut b = Browser::new(&app.base);
    b.sign_in("admin", "password123").await;
    let page = b
        .get(&format!("/aftersales/settings?store={}", app.f.store1))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    // One labelled input per setting, the defaults of DOMAIN.md §3 filled in; a store picker
    // for a user who sees several stores.
    for text in [
        "name=\"maintenance_reminder_days\" type=\"text\" inputmode=\"decimal\" value=\"14, 7, 0\"",
        "name=\"insurance_contact_days\" type=\"text\" inputmode=\"decimal\" value=\"45, 33, 30\"",
        "保养提醒（到期前天数）",
        "id=\"settings-store\"",
        "name=\"holiday_vip_only\" type=\"checkbox\" value=\"true\" checked",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    assert!(!page.body.contains("<textarea"));
    let t = b.csrf().await;
    let store = app.f.store1.to_string();
    let r = b
        .post(
            "/aftersales/settings",
            &[
                ("_csrf", t.as_str()),
                ("store", store.as_str()),
                ("maintenance_reminder_days", "21, 7, 0"),
                ("inspection_days", "abc"),
                ("lapse_months", "18"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"err-inspection_days\""), "{}", r.body);
    assert!(r.body.contains("“abc”"));
    assert!(r.body.contains("value=\"21, 7, 0\""), "typed value kept");
    // Nothing was saved by the rejected form.
    let s = app
        .svc
        .store_aftersales_settings(app.f.store1)
        .await
        .unwrap();
    assert_eq!(s.maintenance_reminder_days, vec![14, 7, 0]);
    let r = b
        .post(
            "/aftersales/settings",
            &[
                ("_csrf", t.as_str()),
                ("store", store.as_str()),
                ("maintenance_reminder_days", "21，7, 0"),
                ("lapse_months", "18"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"saved\""));
    let s = app
        .svc
        .store_aftersales_settings(app.f.store1)
        .await
        .unwrap();
    assert_eq!(s.maintenance_reminder_days, vec![21, 7, 0]);
    assert_eq!(s.lapse_months, 18);
    assert!(!s.holiday_vip_only, "an unchecked box is off");
    assert_eq!(
        s.insurance_contact_days,
        vec![45, 33, 30],
        "fields not sent keep their value"
    );
    // The KPI page lets a user who sees several stores pick one; the link to the settings
    // keeps the store.
    let kpi = b
        .get(&format!("/aftersales/kpi?store={}", app.f.store1))
        .await;
    assert_eq!(kpi.status, StatusCode::OK);
    assert!(kpi.body.contains("id=\"kpi-store\""));
    assert!(
        kpi.body
            .contains(&format!("<option value=\"{}\" selected>", app.f.store1))
    );
    assert!(
        kpi.body
            .contains(&format!("/aftersales/settings?store={}", app.f.store1))
    );
    let mut m = Browser::new(&app.base);
    m.sign_in("s01.manager", "password123").await;
    let kpi = m.get("/aftersales/kpi").await;
    assert_eq!(kpi.status, StatusCode::OK);
    assert!(
        !kpi.body.contains("id=\"kpi-store\""),
        "one store's manager has no picker"
    );
}

#[tokio::test]
async fn no_input_a_user_can_send_gives_a_server_error() {
    let app = start().await;
    let id = customer(&app.svc, &app.f.consultant_a, "冯远", "13600002222").await;
    let mut signed_out = Browser::new(&app.base);
    let mut consultant = Browser::new(&app.base);
    consultant.sign_in("s01.b", "password123").await;
    let mut admin = Browser::new(&app.base);
    admin.sign_in("admin", "password123").await;
    let gets = [
        "/".to_string(),
        "/customers/abc".into(),
        "/customers/0".into(),
        "/customers/-5".into(),
        "/customers/99999999999999999999".into(),
        format!("/customers/{id}"),
        format!("/customers/{id}/edit"),
        format!("/customers/{id}/vehicles/new"),
        "/customers?page=-1&sort=zzz&class=nope&kind=%FF&consultant=abc&per_page=9999".into(),
        "/customers?page=999999999999&q=%E4%BA%AC".into(),
        "/customers?q=%25%25__%27%22%3B--".into(),
        "/customers?q=LFV2A21K0P4000001".into(),
        "/customers?page=1&page=2".into(),
        "/leads?status=zzz&grade=Q&page=x".into(),
        "/leads/abc".into(),
        "/leads/999999".into(),
        "/vehicles/999999/edit".into(),
        "/vehicles/abc/edit".into(),
        "/admin/users/abc".into(),
        "/admin/users/999999".into(),
        "/admin/stores/999999".into(),
        "/admin/audit?from=notadate&to=2026-13-45&entity_id=x&page=-3".into(),
        "/admin/audit?who=%00&action=%FF".into(),
        "/lang?to=xx&next=//evil.example".into(),
        "/lang".into(),
        "/login?next=https://evil.example".into(),
        "/dashboard".into(),
        "/today".into(),
        "/nowhere".into(),
        "/api/v1/customers/abc".into(),
        "/api/v1/leads?page=x".into(),
        "/assets/app.css".into(),
    ];
    for b in [&mut signed_out, &mut consultant, &mut admin] {
        for path in &gets {
            let r = b.get(path).await;
            assert!(
                r.status.as_u16() < 500,
                "GET {path}: {} {}",
                r.status,
                r.body
            );
            if r.status.is_redirection() {
                assert!(
                    r.location.starts_with('/') && !r.location.starts_with("//"),
                    "{path} → {}",
                    r.location
                );
            }
        }
    }
    let t = consultant.csrf().await;
    let at = admin.csrf().await;
    let long_name = "长".repeat(500);
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/customers/new".into(), vec![]),
        (
            "/customers/new".into(),
            vec![
                ("consultant_id", "abc"),
                ("store_id", "-1"),
                ("vip", "maybe"),
                ("name", &long_name),
            ],
        ),
        (format!("/customers/{id}/edit"), vec![("name", "x")]),
        (format!("/customers/{id}/reveal"), vec![]),
        ("/customers/abc/reveal".into(), vec![]),
        (
            format!("/customers/{id}/vehicles/new"),
            vec![("model_id", "99999999999999999999")],
        ),
        ("/vehicles/1/edit".into(), vec![("vin", "x")]),
        ("/password".into(), vec![("new_password", "x")]),
        (
            "/admin/users/new".into(),
            vec![("role", "emperor"), ("login", "a b")],
        ),
        (
            "/admin/users/1".into(),
            vec![("role", "admin"), ("store_id", "x")],
        ),
        ("/admin/users/1/password".into(), vec![("password", "1")]),
        (
            "/admin/stores/new".into(),
            vec![("code", "!!"), ("brand_id", "77")],
        ),
        ("/admin/stores/1".into(), vec![("name", "")]),
        ("/login".into(), vec![("login", "x")]),
    ];
    for (b, token) in [(&mut consultant, &t), (&mut admin, &at)] {
        for (path, form) in &posts {
            let mut f = form.clone();
            f.push(("_csrf", token));
            let r = b.post(path, &f).await;
            assert!(
                r.status.as_u16() < 500,
                "POST {path}: {} {}",
                r.status,
                r.body
            );
        }
        // Not a form at all.
        let r = b
            .send(
                "POST",
                "/customers/new",
                Some("{\"name\": 1}".into()),
                "application/json",
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = b
            .send(
                "POST",
                "/customers/new",
                Some("%%%".into()),
                "application/x-www-form-urlencoded",
            )
            .await;
        assert!(r.status.as_u16() < 500, "{}", r.status);
    }
    // Another consultant's customer is simply not found.
    assert_eq!(
        consultant.get(&format!("/customers/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = consultant.get("/lang?to=xx&next=//evil.example").await;
    assert_eq!(r.location, "/");
}

#[tokio::test]
async fn administrators_manage_stores_users_and_roles() {
    let app = start().await;
    let mut admin = Browser::new(&app.base);
    admin.sign_in("admin", "password123").await;
    let t = admin.csrf().await;
    let brand = app.svc.brands().await.expect("brands")[0].id.to_string();
    let r = admin
        .post(
            "/admin/stores/new",
            &[
                ("code", "s09"),
                ("name", "宁波一汽-大众4S店"),
                ("city", "宁波"),
                ("brand_id", &brand),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/stores"),
        "{}",
        r.body
    );
    let r = admin
        .post(
            "/admin/stores/new",
            &[
                ("code", "S09"),
                ("name", "重复"),
                ("brand_id", &brand),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("err-code"));
    let store = app
        .svc
        .stores(&app.f.admin)
        .await
        .expect("stores")
        .into_iter()
        .find(|s| s.code == "S09")
        .expect("S09");
    let sid = store.id.to_string();
    let r = admin
        .post(
            "/admin/users/new",
            &[
                ("login", "s09.a"),
                ("name", "陈新"),
                ("role", "sales_consultant"),
                ("store_id", &sid),
                ("password", "short"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("err-password") && r.body.contains("value=\"s09.a\""));
    let r = admin
        .post(
            "/admin/users/new",
            &[
                ("login", "s09.a"),
                ("name", "陈新"),
                ("role", "sales_consultant"),
                ("store_id", &sid),
                ("password", "welcome-2026"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut new_user = Browser::new(&app.base);
    assert_eq!(
        new_user.sign_in("s09.a", "welcome-2026").await.status,
        StatusCode::SEE_OTHER
    );
    // Promotion to store manager ends the user's sessions (their scope changed).
    let uid = app
        .svc
        .users(&app.f.admin)
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.login == "s09.a")
        .expect("user")
        .id;
    let r = admin
        .post(
            &format!("/admin/users/{uid}"),
            &[
                ("name", "陈新"),
                ("role", "sales_manager"),
                ("store_id", &sid),
                ("active", "on"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(new_user.get("/today").await.status, StatusCode::SEE_OTHER);
    // A store-bound role needs a store; the last administrator stays.
    let r = admin
        .post(
            &format!("/admin/users/{uid}"),
            &[
                ("name", "陈新"),
                ("role", "sales_manager"),
                ("store_id", ""),
                ("active", "on"),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let aid = app.f.admin.staff_id;
    let r = admin
        .post(
            &format!("/admin/users/{aid}"),
            &[
                ("name", "admin"),
                ("role", "admin"),
                ("store_id", ""),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Deactivated users cannot sign in.
    let r = admin
        .post(
            &format!("/admin/users/{uid}"),
            &[
                ("name", "陈新"),
                ("role", "sales_manager"),
                ("store_id", &sid),
                ("_csrf", &t),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        Browser::new(&app.base)
            .sign_in("s09.a", "welcome-2026")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Non-administrators get 403 on every administration page.
    let mut manager = Browser::new(&app.base);
    manager.sign_in("s01.manager", "password123").await;
    for path in [
        "/admin/users",
        "/admin/users/new",
        "/admin/stores",
        "/admin/stores/new",
        "/admin/audit",
        &format!("/admin/users/{uid}"),
    ] {
        assert_eq!(
            manager.get(path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let mt = manager.csrf().await;
    let r = manager
        .post(
            "/admin/users/new",
            &[
                ("login", "x.y"),
                ("role", "admin"),
                ("password", "welcome-2026"),
                ("_csrf", &mt),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn first_administrator_comes_from_the_operator_once() {
    let t = TestDb::sqlite().await;
    let svc = Services::new(
        t.db.clone(),
        Arc::new(dealerbase_domain::FixedClock::on(today())),
    );
    let id = svc
        .bootstrap_admin("root", "bootstrap-pass")
        .await
        .expect("bootstrap");
    assert!(id.is_some());
    assert_eq!(
        svc.bootstrap_admin("root2", "bootstrap-pass")
            .await
            .expect("again"),
        None
    );
    let actor = svc
        .authenticate("root", "bootstrap-pass")
        .await
        .expect("sign in");
    assert_eq!(actor.role.code(), "admin");
    t.finish().await;
}

// ---- the scope matrix, on both databases --------------------------------------------------

/// What each role may do with each resource: `true` = allowed, `false` = refused
/// (not found or forbidden; never the data).
async fn scope_matrix(t: &TestDb) {
    let f = fixture(&t.db).await;
    let svc = &f.svc;
    let mk = |name: &str, mobile: &str| CustomerInput {
        name: Some(name.into()),
        mobile: Some(mobile.into()),
        ..Default::default()
    };
    let c_a = svc
        .create_customer(&f.consultant_a, &mk("甲", "13800000001"))
        .await
        .expect("a")
        .customer
        .id;
    let c_b = svc
        .create_customer(&f.consultant_b, &mk("乙", "13800000002"))
        .await
        .expect("b")
        .customer
        .id;
    let c_2 = svc
        .create_customer(&f.consultant_store2, &mk("丙", "13800000003"))
        .await
        .expect("2")
        .customer
        .id;
    let vehicle = svc
        .create_vehicle(
            &f.consultant_a,
            &VehicleInput {
                vin: Some(vin(1)),
                model_id: Some(f.model),
                plate: Some("浙A00001".into()),
                customer_id: Some(c_a),
                ..Default::default()
            },
        )
        .await
        .expect("vehicle")
        .id;
    let lead = svc
        .create_lead(
            &f.consultant_a,
            &LeadInput {
                customer_id: Some(c_a),
                grade: Some("A".into()),
                source: Some("walk_in".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead")
        .id;
    let work_order = svc
        .create_work_order(
            &f.advisor1,
            &WorkOrderInput {
                number: Some("WO-1".into()),
                vehicle_id: Some(vehicle),
                kind: Some("maintenance".into()),
                opened_on: Some("2026-11-01".into()),
                odometer_km: Some(5000),
                lines: vec![WorkOrderLineInput {
                    line_kind: Some("labour".into()),
                    name: Some("保养".into()),
                    amount_fen: Some(30000),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .expect("work order")
        .id;

    let roles: [(&str, &Actor); 7] = [
        ("admin", &f.admin),
        ("group", &f.group_staff),
        ("manager1", &f.manager1),
        ("consultant_a", &f.consultant_a),
        ("consultant_b", &f.consultant_b),
        ("advisor1", &f.advisor1),
        ("consultant_store2", &f.consultant_store2),
    ];
    // Columns: read cA, read cB, read c2, update cA, reveal cA, vehicle of cA, lead of cA,
    // work order of cA, 360 of cA, list sees cA, list sees c2, audit log, manage users.
    let expected: [(&str, [bool; 13]); 7] = [
        (
            "admin",
            [
                true, true, true, true, true, true, true, true, true, true, true, true, true,
            ],
        ),
        (
            "group",
            [
                true, true, true, true, false, true, true, true, true, true, true, false, false,
            ],
        ),
        (
            "manager1",
            [
                true, true, false, true, true, true, true, true, true, true, false, false, false,
            ],
        ),
        (
            "consultant_a",
            [
                true, false, false, true, false, true, true, true, true, true, false, false, false,
            ],
        ),
        (
            "consultant_b",
            [
                false, true, false, false, false, false, false, false, false, false, false, false,
                false,
            ],
        ),
        (
            "advisor1",
            [
                true, true, false, true, false, true, true, true, true, true, false, false, false,
            ],
        ),
        (
            "consultant_store2",
            [
                false, false, true, false, false, false, false, false, false, false, true, false,
                false,
            ],
        ),
    ];
    let ok = |r: Result<(), ServiceError>| match r {
        Ok(()) => true,
        Err(ServiceError::NotFound { .. } | ServiceError::Forbidden(_)) => false,
        Err(e) => panic!("unexpected error {e:?}"),
    };
    for ((name, actor), (ename, row)) in roles.iter().zip(expected.iter()) {
        assert_eq!(name, ename);
        let list = svc
            .list_customers(
                actor,
                &CustomerQuery {
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        let listed = |id: i64| list.items.iter().any(|c| c.id == id);
        let got = [
            ok(svc.customer(actor, c_a).await.map(|_| ())),
            ok(svc.customer(actor, c_b).await.map(|_| ())),
            ok(svc.customer(actor, c_2).await.map(|_| ())),
            ok(svc
                .update_customer(
                    actor,
                    c_a,
                    &CustomerInput {
                        title: Some("先生".into()),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ())),
            ok(svc.reveal_customer(actor, c_a).await.map(|_| ())),
            ok(svc.vehicle(actor, vehicle).await.map(|_| ())),
            ok(svc.lead(actor, lead).await.map(|_| ())),
            ok(svc.work_order(actor, work_order).await.map(|_| ())),
            ok(svc
                .customer_360(actor, c_a, dealerbase_domain::Lang::Zh)
                .await
                .map(|_| ())),
            listed(c_a),
            listed(c_2),
            ok(svc
                .audit_log(actor, &AuditQuery::default())
                .await
                .map(|_| ())),
            ok(svc.users(actor).await.map(|_| ())),
        ];
        assert_eq!(
            &got, row,
            "{name}: read cA, read cB, read c2, update cA, reveal cA, vehicle, lead, work order, 360, list cA, list c2, audit, users"
        );
        // Dashboards and task lists run for everyone, within scope.
        let d = svc
            .dashboard(actor, dealerbase_domain::Lang::Zh)
            .await
            .expect("dashboard");
        let customers: i64 = d.customers_by_class.iter().map(|c| c.2).sum();
        assert_eq!(
            customers,
            list.items.len() as i64,
            "{name}: dashboard counts what the list shows"
        );
        svc.today_list(actor, dealerbase_domain::Lang::Zh)
            .await
            .expect("today");
        let wo: i64 = d.work_orders_by_month.iter().map(|m| m.1).sum();
        assert_eq!(wo > 0, row[7], "{name}: work orders counted only in scope");
    }
    // The audit log records the reveals, and its filters work on both databases.
    let log = svc
        .audit_log(
            &f.admin,
            &AuditQuery {
                action: Some("reveal".into()),
                entity: Some("customer".into()),
                entity_id: Some(c_a),
                from: Some(today().to_string()),
                to: Some(today().to_string()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    let who: Vec<Option<String>> = log.items.iter().map(|e| e.staff_login.clone()).collect();
    assert_eq!(
        who,
        vec![Some("s01.manager".to_string()), Some("admin".to_string())]
    );
    let tomorrow = (today() + Duration::days(1)).to_string();
    let later = svc
        .audit_log(
            &f.admin,
            &AuditQuery {
                from: Some(tomorrow),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert!(later.items.is_empty());
    let bad = svc
        .audit_log(
            &f.admin,
            &AuditQuery {
                from: Some("yesterday".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(ServiceError::Invalid(_))));
}
crate::both!(scope_matrix);

/// Sessions, throttling and lock-out in the store, on both databases.
async fn sessions_and_throttling(t: &TestDb) {
    let f = fixture(&t.db).await;
    let clock = Arc::new(TestClock(Mutex::new(f.svc.clock.now())));
    let svc = Services::new(t.db.clone(), clock.clone());
    let s = svc
        .sign_in("s01.a", "password123", "test")
        .await
        .expect("sign in");
    let info = svc.session(&s.token).await.expect("session");
    assert_eq!(
        (info.actor.staff_id, info.csrf_token.clone()),
        (f.consultant_a.staff_id, s.csrf_token.clone())
    );
    assert!(matches!(
        svc.session("dbs_unknown").await,
        Err(ServiceError::Unauthenticated)
    ));
    clock.advance(Duration::minutes(100));
    svc.session(&s.token)
        .await
        .expect("still alive, and extended");
    clock.advance(Duration::minutes(100));
    svc.session(&s.token)
        .await
        .expect("extended by the previous use");
    clock.advance(Duration::minutes(121));
    assert!(matches!(
        svc.session(&s.token).await,
        Err(ServiceError::Unauthenticated)
    ));
    for i in 1..=5 {
        let r = svc.sign_in("S01.B ", "nope", "").await;
        match (i, r) {
            (1..=4, Err(dealerbase_service::session::SignInFailure::BadCredentials { .. })) => {}
            (5, Err(dealerbase_service::session::SignInFailure::Locked { .. })) => {}
            (i, other) => panic!("attempt {i}: {other:?}"),
        }
    }
    assert!(
        svc.sign_in("s01.b", "password123", "").await.is_err(),
        "locked, case-insensitively"
    );
    clock.advance(Duration::minutes(15));
    let s = svc
        .sign_in("s01.b", "password123", "")
        .await
        .expect("lock over");
    svc.sign_out(&s.token).await.expect("sign out");
    assert!(svc.session(&s.token).await.is_err());
}
crate::both!(sessions_and_throttling);

#[tokio::test]
async fn the_customer_list_links_to_its_export_with_the_same_filters() {
    let app = start().await;
    customer(&app.svc, &app.f.consultant_a, "吴敏", "13812345678").await;
    let mut manager = Browser::new(&app.base);
    manager.sign_in("s01.manager", "password123").await;
    let list = manager.get("/customers?q=%E5%90%B4&class=&sort=name").await;
    let start = list
        .body
        .find("id=\"export-csv\" href=\"")
        .expect("export link")
        + 22;
    let href = list.body[start..]
        .split('"')
        .next()
        .expect("href")
        .replace("&amp;", "&");
    assert!(
        href.starts_with("/api/v1/customers/export?format=csv&q=%E5%90%B4"),
        "{href}"
    );
    let file = manager.get(&href).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    assert!(
        file.body.contains("吴敏") && file.body.contains("138****5678"),
        "{}",
        file.body
    );
    assert!(!file.body.contains("13812345678"));
}
