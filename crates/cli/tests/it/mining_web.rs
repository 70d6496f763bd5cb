//! The mining pages and API over HTTP against the real router: the dashboard with its
//! charts in Chinese and English, what each role sees, the administrator's "run now", the
//! target list with its audited export and "create call list", the 360 page's scores, and
//! the JSON endpoints.

use crate::harness::{Fixture, TestDb, fixture, today};
use crate::mining_views::{hand_snapshot, new_customer};
use dealerbase_service::Services;
use dealerbase_service::input::{VehicleInput, WorkOrderInput, WorkOrderLineInput};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

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
    content_type: String,
    bytes: Vec<u8>,
}

impl Resp {
    fn body(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
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
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Resp {
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
        if let Some(form) = form {
            let body: Vec<String> = form
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect();
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.join("&"));
        }
        let r = req.send().await.expect("send");
        let status = r.status();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let (location, content_type) = (header("location"), header("content-type"));
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap_or("");
            if let Some((k, v)) = c.split(';').next().unwrap_or("").split_once('=') {
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
            content_type,
            bytes: r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
        }
    }

    async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send("POST", path, Some(form)).await
    }

    async fn sign_in(base: &str, login: &str) -> Browser {
        let mut b = Browser::new(base);
        let page = b.get("/login").await;
        let csrf = csrf_of(&page.body());
        let r = b
            .post(
                "/login",
                &[
                    ("login", login),
                    ("password", "password123"),
                    ("_csrf", &csrf),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{login} signs in");
        b
    }

    async fn csrf(&mut self) -> String {
        csrf_of(&self.get("/password").await.body())
    }
}

struct App {
    base: String,
    f: Fixture,
    t: TestDb,
}

async fn start() -> App {
    let t = TestDb::sqlite().await;
    let f = fixture(&t.db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let s: Services = f.svc.clone();
    tokio::spawn(async move { dealerbase_web::serve(listener, s).await });
    App { base, f, t }
}

fn charts(html: &str) -> usize {
    html.matches("<svg class=\"chart\"").count()
}

/// The text of the element with this id (up to the next tag).
fn by_id(html: &str, id: &str) -> String {
    html.split(&format!("id=\"{id}\">"))
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_dashboard_says_how_to_run_then_shows_the_snapshot_by_scope() {
    let app = start().await;
    let f = &app.f;
    // No snapshot yet: the page says so and how to make one; only the administrator has
    // the button.
    let mut manager = Browser::sign_in(&app.base, "s01.manager").await;
    let page = manager.get("/mining").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body();
    assert!(
        html.contains("还没有挖掘结果") && html.contains("dealerbase mine all"),
        "{html}"
    );
    assert!(!html.contains("id=\"mining-run\""));
    assert!(
        html.contains("href=\"/mining\""),
        "the navigation links the page"
    );
    let mut admin = Browser::sign_in(&app.base, "admin").await;
    assert!(
        admin
            .get("/mining")
            .await
            .body()
            .contains("id=\"mining-run\"")
    );
    // A consultant has neither the link nor the page.
    let mut consultant = Browser::sign_in(&app.base, "s01.a").await;
    assert!(
        !consultant
            .get("/customers")
            .await
            .body()
            .contains("href=\"/mining\"")
    );
    assert_eq!(
        consultant.get("/mining").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        consultant.get("/mining/customers").await.status,
        StatusCode::FORBIDDEN
    );
    // The manager may not start a run (and a form without the token is refused).
    let token = manager.csrf().await;
    assert_eq!(
        manager
            .post("/mining/run", &[("_csrf", &token)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post("/mining/run", &[("_csrf", "nope")]).await.status,
        StatusCode::FORBIDDEN
    );

    hand_snapshot(&app.t, f).await;
    // Retention by model in the run's summary: the group view draws it, named by the model.
    app.t
        .db
        .execute_admin(&format!(
            r#"UPDATE mining_run SET summary_json = '{{"retention": {{"model": [{{"service": 1, "curves": [{{"group": {}, "median": 6, "time": [3, 6], "at_risk": [10, 4], "survival": [0.6, 0.4]}}]}}]}}}}'"#,
            f.model
        ))
        .await
        .expect("summary");
    // The store manager: S01's figures (3 customers, 2 at high risk), every chart.
    let html = manager.get("/mining").await.body();
    assert_eq!(by_id(&html, "kpi-customers"), "3");
    assert_eq!(by_id(&html, "kpi-high-risk"), "2");
    assert_eq!(by_id(&html, "kpi-clv"), "¥1,200.00");
    assert_eq!(by_id(&html, "mining-store"), "杭州一汽-大众4S店");
    assert!(charts(&html) >= 10, "{}", charts(&html));
    for id in [
        "chart-segments",
        "chart-pyramid",
        "chart-lorenz",
        "chart-retention",
        "chart-return",
        "chart-churn",
        "chart-response",
        "chart-loyalty",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(
        !html.contains("chart-retention-model"),
        "a store's staff see their own store's curves, not the group's by model"
    );
    assert!(html.contains("重要价值客户") && html.contains("铂金客户"));
    assert!(
        !html.contains("mining-store-select"),
        "no store picker for a store role"
    );
    // ?store= of another store changes nothing for a store role.
    let other = manager
        .get(&format!("/mining?store={}", f.store2))
        .await
        .body();
    assert_eq!(by_id(&other, "kpi-customers"), "3");
    // Group staff: the group, then S02 picked.
    let mut group = Browser::sign_in(&app.base, "group").await;
    let html = group.get("/mining").await.body();
    assert_eq!(by_id(&html, "kpi-customers"), "4");
    assert!(html.contains("mining-store-select"));
    assert!(html.contains("id=\"chart-retention-model\""));
    assert!(html.contains("速腾 200TSI"), "the model's curve is named");
    let html = group
        .get(&format!("/mining?store={}", f.store2))
        .await
        .body();
    assert_eq!(by_id(&html, "kpi-customers"), "1");
    assert_eq!(by_id(&html, "mining-store"), "上海广汽丰田4S店");
    // English.
    let r = group.get("/lang?to=en&next=/mining").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = group.get("/mining").await.body();
    assert!(
        html.contains("Customer mining")
            && html.contains("Champions")
            && html.contains("Value pyramid"),
        "{html}"
    );
    assert!(!html.contains("客户数据挖掘"));
    // Today's snapshot exists: "run now" says so instead of starting another.
    let token = admin.csrf().await;
    let r = admin.post("/mining/run", &[("_csrf", &token)]).await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/mining?started=done")
    );
}

#[tokio::test]
async fn an_administrator_starts_a_run_from_the_page() {
    let app = start().await;
    let c = new_customer(&app.f, &app.f.manager1, "回厂客户", "13866660001", None).await;
    let v = app
        .f
        .svc
        .create_vehicle(
            &app.f.manager1,
            &VehicleInput {
                vin: Some(crate::harness::vin(900)),
                model_id: Some(app.f.model),
                customer_id: Some(c),
                ..Default::default()
            },
        )
        .await
        .expect("vehicle");
    app.f
        .svc
        .create_work_order(
            &app.f.advisor1,
            &WorkOrderInput {
                number: Some("W-1".into()),
                vehicle_id: Some(v.id),
                kind: Some("maintenance".into()),
                opened_on: Some("2026-05-01".into()),
                settled_on: Some("2026-05-01".into()),
                lines: vec![WorkOrderLineInput {
                    line_kind: Some("labour".into()),
                    name: Some("保养".into()),
                    amount_fen: Some(50_000),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .expect("work order");
    let mut admin = Browser::sign_in(&app.base, "admin").await;
    let token = admin.csrf().await;
    let r = admin.post("/mining/run", &[("_csrf", &token)]).await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/mining?started=start")
    );
    assert!(
        admin
            .get("/mining?started=start")
            .await
            .body()
            .contains("id=\"mining-notice\"")
    );
    // The run finishes in the background.
    let mut done = None;
    for _ in 0..100 {
        if let Some(run) = app.t.db.latest_mining_run().await.expect("run") {
            done = Some(run);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let run = done.expect("the run completed");
    assert_eq!((run.as_of, run.customers), (today(), 1));
    let log = app
        .t
        .db
        .audit_log(None, Some("start"), None, 10)
        .await
        .expect("audit");
    assert_eq!(log[0].entity, "mining_run");
}

#[tokio::test]
async fn the_target_list_exports_audited_and_makes_a_call_list_once() {
    let app = start().await;
    let f = &app.f;
    let h = hand_snapshot(&app.t, f).await;
    let mut manager = Browser::sign_in(&app.base, "s01.manager").await;
    let html = manager.get("/mining/customers?min_churn=50").await.body();
    // S01 at 50% or more: 丙 then 乙, masked, with the export links carrying the filter.
    let bing = html.find("丙客户").expect("丙");
    let yi = html.find("乙客户").expect("乙");
    assert!(bing < yi, "highest risk first");
    assert!(!html.contains("甲客户") && !html.contains("丁客户"));
    assert!(html.contains("138****0002") && !html.contains("13800000002"));
    let href = html
        .split("id=\"export-xlsx\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert_eq!(
        href,
        "/api/v1/mining/scores/export?format=xlsx&segment=&tier=&min_churn=50&min_trade_in=&store_id="
    );
    // A bad filter is explained, not a server error.
    let r = manager.get("/mining/customers?min_churn=abc").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body().contains("class=\"alert\""));

    // Export: a sales manager may see numbers, so the file has them; audited.
    let r = manager
        .get("/api/v1/mining/scores/export?format=csv&min_churn=50")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/csv"));
    let csv = r.body();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].contains("丙客户") && lines[1].contains("13800000003"),
        "{csv}"
    );
    assert!(
        lines[2].contains("乙客户") && lines[2].contains("距上次回厂时间长"),
        "{csv}"
    );
    let r = manager
        .get("/api/v1/mining/scores/export?format=xlsx&segment=at_risk")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.bytes.starts_with(b"PK"), "an XLSX file");
    let log = app
        .t
        .db
        .audit_log(Some(f.manager1.staff_id), Some("export"), None, 10)
        .await
        .expect("audit");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].entity, "customer_score");
    assert!(
        log[1].detail.contains("\"min_churn\":50")
            && log[1].detail.contains("\"unmasked_mobiles\":true"),
        "{}",
        log[1].detail
    );
    // Marketing may export, masked.
    let mk = f
        .svc
        .add_user(
            f.admin.group_id,
            Some(f.store1),
            "s01.marketing",
            "s01.marketing",
            dealerbase_domain::model::Role::Marketing,
            "password123",
        )
        .await
        .expect("marketing");
    let mut marketing = Browser::sign_in(&app.base, "s01.marketing").await;
    let csv = marketing
        .get("/api/v1/mining/scores/export?format=csv")
        .await
        .body();
    assert!(
        csv.contains("138****0003") && !csv.contains("13800000003"),
        "{csv}"
    );
    let log = app
        .t
        .db
        .audit_log(Some(mk), Some("export"), None, 10)
        .await
        .expect("audit");
    assert!(log[0].detail.contains("\"unmasked_mobiles\":false"));
    // Bad format: 422 with the field.
    let r = manager.get("/api/v1/mining/scores/export?format=pdf").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body().contains("\"field\":\"format\""));

    // Create call list from the page: 乙 gets one task (丙 asked not to be contacted);
    // the second time nothing new.
    let token = manager.csrf().await;
    let form = [
        ("_csrf", token.as_str()),
        ("segment", ""),
        ("tier", ""),
        ("min_churn", "50"),
        ("min_trade_in", ""),
        ("store", ""),
        ("assignee", ""),
        ("due_on", ""),
        ("note", "冬季关怀"),
    ];
    let r = manager.post("/mining/customers/call-list", &form).await;
    assert_eq!(r.status, StatusCode::OK);
    let report = by_id(&r.body(), "call-list-report");
    assert!(
        report.contains("新建任务 1") && report.contains("拒绝联系 1"),
        "{report}"
    );
    let r = manager.post("/mining/customers/call-list", &form).await;
    let report = by_id(&r.body(), "call-list-report");
    assert!(
        report.contains("新建任务 0") && report.contains("已在名单中 1"),
        "{report}"
    );
    let tasks = app.t.db.customer_tasks(h.yi).await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].note.as_deref(), Some("冬季关怀"));
    // Without the form token: refused.
    let r = manager
        .post("/mining/customers/call-list", &[("min_churn", "50")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_360_page_and_document_show_the_scores() {
    let app = start().await;
    let f = &app.f;
    let h = hand_snapshot(&app.t, f).await;
    // 乙's car is in the workshop with new tyres; the snapshot's rule says tyres go with an
    // alignment (confidence 80%, lift 2.5).
    let v = f
        .svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(crate::harness::vin(910)),
                model_id: Some(f.model),
                customer_id: Some(h.yi),
                ..Default::default()
            },
        )
        .await
        .expect("vehicle");
    f.svc
        .create_work_order(
            &f.advisor1,
            &WorkOrderInput {
                number: Some("T-1".into()),
                vehicle_id: Some(v.id),
                kind: Some("repair".into()),
                opened_on: Some("2026-11-22".into()),
                lines: vec![WorkOrderLineInput {
                    line_kind: Some("part".into()),
                    code: Some("P-TYRE".into()),
                    name: Some("轮胎".into()),
                    amount_fen: Some(80_000),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .expect("work order");
    let (run, _) = app
        .t
        .db
        .latest_mining_run_date()
        .await
        .expect("run")
        .expect("run");
    app.t
        .db
        .write_mining_rules(
            run,
            &[dealerbase_store::mining_views::MiningRule {
                rule_no: 1,
                antecedent: "P-TYRE".into(),
                consequent: "L-ALIGN".into(),
                antecedent_names: "P-TYRE 轮胎".into(),
                consequent_names: "L-ALIGN 四轮定位".into(),
                support: 0.05,
                confidence: 0.8,
                lift: 2.5,
            }],
        )
        .await
        .expect("rules");
    let mut manager = Browser::sign_in(&app.base, "s01.manager").await;
    let html = manager.get(&format!("/customers/{}", h.yi)).await.body();
    let offers = html
        .split(&format!("id=\"cross-sell-{}\"", v.id))
        .nth(1)
        .and_then(|r| r.split("</div>").next())
        .unwrap_or_default()
        .to_string();
    assert!(
        offers.contains("四轮定位") && offers.contains("80%") && offers.contains("2.50"),
        "{offers}"
    );
    assert_eq!(by_id(&html, "score-segment"), "重要挽留客户");
    assert_eq!(by_id(&html, "score-tier"), "黄金客户");
    assert_eq!(by_id(&html, "score-clv"), "¥200.00");
    assert_eq!(by_id(&html, "score-p-alive"), "30%");
    assert!(html.contains("72%"));
    assert_eq!(
        by_id(&html, "score-churn-reasons"),
        "距上次回厂时间长；回厂次数少"
    );
    // English.
    manager.get("/lang?to=en&next=/").await;
    let html = manager.get(&format!("/customers/{}", h.yi)).await.body();
    assert_eq!(by_id(&html, "score-segment"), "At risk");
    assert_eq!(
        by_id(&html, "score-churn-reasons"),
        "long since the last visit; few visits"
    );
    // A customer without scores says so.
    let none = new_customer(f, &f.manager1, "新客户", "13877770001", None).await;
    let html = manager.get(&format!("/customers/{none}")).await.body();
    assert!(html.contains("id=\"scores-none\""));
    // The JSON 360 document carries the scores with the reasons in words.
    let doc: Value = serde_json::from_slice(
        &manager
            .get(&format!("/api/v1/customers/{}/360", h.yi))
            .await
            .bytes,
    )
    .expect("json");
    assert_eq!(doc["scores"]["segment"], "at_risk");
    assert_eq!(doc["scores"]["churn_risk"], 0.72);
    assert!(
        doc["scores"]["churn_reasons_text"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(doc["cross_sell"][0]["offers"][0]["code"], "L-ALIGN");
    assert_eq!(doc["cross_sell"][0]["basket_source"], "open_work_order");
}

#[tokio::test]
async fn the_mining_api_answers_within_scope() {
    let app = start().await;
    let f = &app.f;
    let h = hand_snapshot(&app.t, f).await;
    let http = reqwest::Client::new();
    let token = async |id| f.svc.issue_api_token(id, "test").await.expect("token");
    let manager = token(f.manager1.staff_id).await;
    let group = token(f.group_staff.staff_id).await;
    let consultant = token(f.consultant_a.staff_id).await;
    let call = async |method: &str, path: &str, tok: &str, body: Option<Value>| {
        let mut r = http
            .request(
                method.parse().expect("method"),
                format!("{}{path}", app.base),
            )
            .bearer_auth(tok)
            .header("Accept-Language", "en");
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.expect("send");
        let status = r.status();
        (status, r.json::<Value>().await.unwrap_or_default())
    };
    let (s, d) = call("GET", "/api/v1/mining/dashboard", &manager, None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["aggregates"]["customers"], 3);
    assert_eq!(d["aggregates"]["segments"][0]["label"], "Champions");
    let (s, d) = call(
        "GET",
        &format!("/api/v1/mining/dashboard?store_id={}", f.store2),
        &group,
        None,
    )
    .await;
    assert_eq!(
        (s, d["aggregates"]["customers"].clone()),
        (StatusCode::OK, json!(1))
    );
    let (s, d) = call("GET", "/api/v1/mining/dashboard", &consultant, None).await;
    assert_eq!(
        (s, d["code"].clone()),
        (StatusCode::FORBIDDEN, json!("forbidden"))
    );
    let (s, d) = call("GET", "/api/v1/mining/campaign-response", &manager, None).await;
    assert_eq!(
        (s, d["level"].clone(), d["window_days"].clone()),
        (StatusCode::OK, json!("store"), json!(30))
    );
    let (s, d) = call(
        "GET",
        "/api/v1/mining/scores?min_churn=50&per_page=1",
        &group,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        (d["items"][0]["customer_id"].clone(), d["has_more"].clone()),
        (json!(h.bing), json!(true))
    );
    assert_eq!(d["items"][0]["mobile"], "138****0003");
    let (s, d) = call(
        "GET",
        "/api/v1/mining/scores?min_churn=500&segment=x",
        &group,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{d}");
    assert_eq!(d["errors"].as_array().map(Vec::len), Some(2));
    let (s, _) = call("GET", "/api/v1/mining/scores?min_churn=abc", &group, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Call list: created once; the second call finds 乙 listed.
    let body = json!({"min_churn": 50, "note": "API"});
    let (s, d) = call(
        "POST",
        "/api/v1/mining/call-lists",
        &manager,
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (s, d["created"].clone(), d["do_not_contact"].clone()),
        (StatusCode::CREATED, json!(1), json!(1)),
        "{d}"
    );
    let (_, d) = call("POST", "/api/v1/mining/call-lists", &manager, Some(body)).await;
    assert_eq!(
        (d["created"].clone(), d["already_listed"].clone()),
        (json!(0), json!(1))
    );
    let (s, d) = call(
        "POST",
        "/api/v1/mining/call-lists",
        &manager,
        Some(json!({"due_on": "yesterday"})),
    )
    .await;
    assert_eq!(
        (s, d["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("due_on"))
    );
    // Cross-sell of a vehicle out of scope: 404; of no vehicle: 400.
    let (s, _) = call("GET", "/api/v1/vehicles/999999/cross-sell", &manager, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call("GET", "/api/v1/vehicles/abc/cross-sell", &manager, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
