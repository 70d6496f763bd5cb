//! The upload page (progress page, summary, report of rejected rows), the merge page and
//! the list of merges through the real server; the same through the JSON API (upload,
//! status, report, merge preview and merge, lists and exports).

use crate::harness::{Fixture, TestDb, fixture, vin};
use dealerbase_service::input::{CustomerInput, VehicleInput};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;

fn fixture_file(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/import")
            .join(name),
    )
    .expect("fixture")
}

/// A multipart/form-data body: text fields and, optionally, files (field, name, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----dealerbase-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (field, name, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

struct Resp {
    status: StatusCode,
    location: String,
    body: String,
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
            base: base.into(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<(String, Vec<u8>)>) -> Resp {
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
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        let r = req.send().await.expect("send");
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap_or("");
            if let Some((k, v)) = c.split(';').next().unwrap_or("").split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.into(), v.into());
                }
            }
        }
        Resp {
            status,
            location,
            body: r.text().await.unwrap_or_default(),
        }
    }

    async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }

    async fn form(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
                )
            })
            .collect();
        self.send(
            "POST",
            path,
            Some((
                "application/x-www-form-urlencoded".into(),
                body.join("&").into_bytes(),
            )),
        )
        .await
    }

    async fn sign_in(&mut self, login: &str) {
        let page = self.get("/login").await;
        let csrf = csrf_of(&page.body);
        let r = self
            .form(
                "/login",
                &[
                    ("login", login),
                    ("password", "password123"),
                    ("_csrf", &csrf),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{login}: {}", r.body);
    }
}

fn csrf_of(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_string()
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
    let svc = f.svc.clone();
    tokio::spawn(async move { dealerbase_web::serve(listener, svc).await });
    App { base, f, t }
}

/// Polls a run's page until it is no longer queued or running.
async fn wait_page(b: &mut Browser, path: &str) -> String {
    for _ in 0..600 {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if !r.body.contains("data-status=\"queued\"") && !r.body.contains("data-status=\"running\"")
        {
            return r.body;
        }
        // While it works, the page refreshes itself.
        assert!(r.body.contains("http-equiv=\"refresh\""));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

#[tokio::test]
async fn upload_page_runs_the_import_and_offers_the_report() {
    let app = start().await;
    let mut b = Browser::new(&app.base);
    b.sign_in("admin").await;
    let page = b.get("/imports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"import-form\"")
            && page.body.contains("enctype=\"multipart/form-data\"")
    );
    let csrf = csrf_of(&page.body);
    let store = app.f.store1.to_string();
    let file = fixture_file("customers_zh.csv");
    let r = b
        .send(
            "POST",
            "/imports",
            Some(multipart(
                &[
                    ("_csrf", &csrf),
                    ("kind", "customers"),
                    ("mode", "write"),
                    ("store_id", &store),
                ],
                &[("file", "客户.csv", &file)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location.starts_with("/imports/"), "{}", r.location);
    let body = wait_page(&mut b, &r.location).await;
    assert!(body.contains("data-status=\"done\""), "{body}");
    // The summary: 11 rows, 5 new customers, 1 merged within the file, 5 rejected.
    for (id, n) in [
        ("n-read", 11),
        ("n-inserted", 5),
        ("n-merged", 1),
        ("n-rejected", 5),
    ] {
        assert!(body.contains(&format!("id=\"{id}\">{n}<")), "{id}: {body}");
    }
    assert!(body.contains("id=\"unknown-columns\">备注<"), "{body}");
    let report = b.get(&format!("{}/report", r.location)).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(
        report.body.contains("7,手机号码,12345678901,"),
        "{}",
        report.body
    );
    assert_eq!(report.body.lines().count(), 6, "{}", report.body);
    // The recent runs list it.
    assert!(b.get("/imports").await.body.contains("客户.csv"));

    // A dry run of an XLSX file: counted, nothing written.
    let dir = tempfile::tempdir().expect("dir");
    let xlsx = dir.path().join("c.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    s.write_string(0, 0, "姓名").expect("w");
    s.write_string(0, 1, "手机").expect("w");
    s.write_string(1, 0, "陈一").expect("w");
    s.write_number(1, 1, 13_012_345_678.0).expect("w");
    book.save(&xlsx).expect("save");
    let bytes = std::fs::read(&xlsx).expect("read");
    let r = b
        .send(
            "POST",
            "/imports",
            Some(multipart(
                &[
                    ("_csrf", &csrf),
                    ("kind", "customers"),
                    ("mode", "dry_run"),
                    ("store_id", &store),
                ],
                &[("file", "c.xlsx", &bytes)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let body = wait_page(&mut b, &r.location).await;
    assert!(
        body.contains("id=\"run-dry\"") && body.contains("id=\"n-inserted\">1<"),
        "{body}"
    );
    assert!(
        app.t
            .db
            .customers_by_keys(1, &["13012345678".into()], &[])
            .await
            .expect("lookup")
            .is_empty()
    );

    // A file of the wrong kind is refused on the form, naming the missing column.
    let r = b
        .send(
            "POST",
            "/imports",
            Some(multipart(
                &[("_csrf", &csrf), ("kind", "vehicles"), ("store_id", &store)],
                &[(
                    "file",
                    "customers.csv",
                    &fixture_file("customers_en_bom.csv"),
                )],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("id=\"import-error\"") && r.body.contains("vin"),
        "{}",
        r.body
    );
    // Without the CSRF token: refused.
    let r = b
        .send(
            "POST",
            "/imports",
            Some(multipart(
                &[("kind", "customers")],
                &[("file", "a.csv", &file)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A consultant may not import.
    let mut c = Browser::new(&app.base);
    c.sign_in("s01.a").await;
    assert_eq!(c.get("/imports").await.status, StatusCode::FORBIDDEN);
    assert!(!c.get("/customers").await.body.contains("href=\"/imports\""));
}

async fn two_customers(f: &Fixture) -> (i64, i64) {
    let mut ids = Vec::new();
    for (mobile, serial) in [("13822220001", 31), ("13822220002", 32)] {
        let c = f
            .svc
            .create_customer(
                &f.admin,
                &CustomerInput {
                    name: Some("欧阳明".into()),
                    mobile: Some(mobile.into()),
                    store_id: Some(f.store1),
                    ..Default::default()
                },
            )
            .await
            .expect("customer");
        f.svc
            .create_vehicle(
                &f.admin,
                &VehicleInput {
                    vin: Some(vin(serial)),
                    model_id: Some(f.model),
                    customer_id: Some(c.customer.id),
                    ..Default::default()
                },
            )
            .await
            .expect("vehicle");
        ids.push(c.customer.id);
    }
    (ids[0], ids[1])
}

#[tokio::test]
async fn merge_page_previews_merges_and_leaves_a_link() {
    let app = start().await;
    let (a, b_id) = two_customers(&app.f).await;
    let mut b = Browser::new(&app.base);
    b.sign_in("admin").await;
    let page = b.get(&format!("/customers/{a}")).await;
    assert!(
        page.body
            .contains(&format!("href=\"/customers/{a}/merge\"")),
        "{}",
        page.body
    );
    let search = b
        .get(&format!("/customers/{a}/merge?q=%E6%AC%A7%E9%98%B3"))
        .await;
    assert_eq!(search.status, StatusCode::OK);
    assert!(
        search.body.contains(&format!("merged_id={b_id}")),
        "{}",
        search.body
    );
    let preview = b
        .get(&format!("/customers/{a}/merge?merged_id={b_id}"))
        .await;
    assert!(
        preview.body.contains("id=\"merge-preview\"")
            && preview.body.contains("id=\"merge-moves\""),
        "{}",
        preview.body
    );
    // Mobiles stay masked in the preview.
    assert!(preview.body.contains("138****0002") && !preview.body.contains("13822220002"));
    let csrf = csrf_of(&preview.body);
    let r = b
        .form(
            &format!("/customers/{a}/merge"),
            &[("_csrf", &csrf), ("merged_id", &b_id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location.starts_with("/merges?done="), "{}", r.location);
    let list = b.get(&r.location).await;
    assert!(
        list.body.contains("id=\"merge-done\"")
            && list.body.contains(&format!("/customers/{b_id}")),
        "{}",
        list.body
    );
    // The merged customer's page says where it went; the list no longer shows it.
    let gone = b.get(&format!("/customers/{b_id}")).await;
    assert!(
        gone.body.contains("id=\"merged-into\"")
            && gone
                .body
                .contains(&format!("href=\"/customers/{a}\" id=\"survivor-link\"")),
        "{}",
        gone.body
    );
    let customers = b.get("/customers").await;
    assert!(!customers.body.contains(&format!("/customers/{b_id}\"")));
    // A consultant cannot open the merge page.
    let mut c = Browser::new(&app.base);
    c.sign_in("s01.a").await;
    assert_eq!(c.get("/merges").await.status, StatusCode::FORBIDDEN);
}

// ---- API ------------------------------------------------------------------------------

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> (StatusCode, String) {
        let mut req = self
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{}", self.base, path),
            )
            .bearer_auth(token)
            .header("accept-language", "en");
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        let r = req.send().await.expect("send");
        (r.status(), r.text().await.expect("text"))
    }
    async fn json(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, t) = self
            .call(
                method,
                path,
                token,
                body.map(|b| ("application/json".into(), b.to_string().into_bytes())),
            )
            .await;
        (s, serde_json::from_str(&t).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn api_uploads_merges_lists_and_exports() {
    let app = start().await;
    let f = &app.f;
    let admin = f
        .svc
        .issue_api_token(f.admin.staff_id, "t")
        .await
        .expect("token");
    let consultant = f
        .svc
        .issue_api_token(f.consultant_a.staff_id, "t")
        .await
        .expect("token");
    let api = Api {
        base: app.base.clone(),
        http: reqwest::Client::new(),
    };
    let store = f.store1.to_string();
    let (s, v) = api
        .call(
            "POST",
            "/api/v1/imports",
            &admin,
            Some(multipart(
                &[("kind", "vehicles"), ("store_id", &store)],
                &[("file", "vehicles.csv", &fixture_file("vehicles.csv"))],
            )),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let run: Value = serde_json::from_str(&v).expect("json");
    let id = run["id"].as_i64().expect("id");
    assert_eq!(run["status"], "queued");
    let mut last = Value::Null;
    for _ in 0..600 {
        let (s, r) = api
            .json("GET", &format!("/api/v1/imports/{id}"), &admin, None)
            .await;
        assert_eq!(s, StatusCode::OK);
        last = r;
        if !matches!(last["status"].as_str(), Some("queued" | "running")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(last["status"], "done", "{last}");
    assert_eq!(
        (
            last["inserted"].as_i64(),
            last["merged"].as_i64(),
            last["rejected"].as_i64(),
            last["customers_created"].as_i64()
        ),
        (Some(3), Some(1), Some(6), Some(3))
    );
    assert_eq!(last["rows_total"].as_i64(), Some(10));
    let (s, report) = api
        .call("GET", &format!("/api/v1/imports/{id}/report"), &admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(report.contains("4,车架号,LFV2A21K0P4000009,"), "{report}");
    let (s, list) = api.json("GET", "/api/v1/imports", &admin, None).await;
    assert_eq!(
        (s, list.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    // Refused at once: an unknown kind (422 naming the values), a consultant (403), no file.
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/imports",
            &admin,
            Some(multipart(
                &[("kind", "boats")],
                &[("file", "x.csv", b"a,b\n")],
            )),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e.contains("\"code\":\"one_of\"") && e.contains("work-orders"),
        "{e}"
    );
    let (s, _) = api
        .call(
            "POST",
            "/api/v1/imports",
            &consultant,
            Some(multipart(
                &[("kind", "customers")],
                &[("file", "x.csv", b"a\n1\n")],
            )),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api
        .call(
            "POST",
            "/api/v1/imports",
            &admin,
            Some(multipart(&[("kind", "customers")], &[])),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api
        .json("GET", &format!("/api/v1/imports/{id}"), &consultant, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Lists and exports with filters; masked unless revealed by a permitted role.
    let (s, page) = api
        .json("GET", "/api/v1/vehicles?q=%E6%B5%99A12345", &admin, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["items"][0]["owner_mobile"], "138****8000");
    let (s, csv) = api
        .call("GET", "/api/v1/vehicles/export?format=csv", &admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        csv.contains("138****8000") && !csv.contains("13800138000"),
        "{csv}"
    );
    let (s, csv) = api
        .call(
            "GET",
            "/api/v1/vehicles/export?format=csv&reveal=true",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.contains("13800138000"), "{csv}");
    let (s, _) = api
        .call(
            "GET",
            "/api/v1/vehicles/export?reveal=true",
            &consultant,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for path in [
        "/api/v1/tasks",
        "/api/v1/work-orders?kind=maintenance",
        "/api/v1/tasks/export?format=xlsx",
        "/api/v1/work-orders/export",
        "/api/v1/leads/export?grade=H",
        "/api/v1/customers/export?reveal=true",
    ] {
        let (s, body) = api.call("GET", path, &admin, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
    }
    let (s, e) = api
        .json(
            "GET",
            "/api/v1/work-orders?opened_from=yesterday",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("opened_from"))
    );

    // Merge: preview, merge, again (409), review.
    let (a, b) = two_customers(f).await;
    let (s, p) = api
        .json(
            "GET",
            &format!("/api/v1/customers/{a}/merge?merged_id={b}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["moves"]["vehicle_ownership"], 1);
    let (s, r) = api
        .json(
            "POST",
            &format!("/api/v1/customers/{a}/merge"),
            &admin,
            Some(serde_json::json!({"merged_id": b})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["moved"]["vehicle_ownership"], 1);
    let (s, _) = api
        .json(
            "POST",
            &format!("/api/v1/customers/{a}/merge"),
            &admin,
            Some(serde_json::json!({"merged_id": b})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = api
        .json(
            "POST",
            &format!("/api/v1/customers/{a}/merge"),
            &consultant,
            Some(serde_json::json!({"merged_id": b})),
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (s, m) = api.json("GET", "/api/v1/merges", &admin, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["items"][0]["survivor_id"], a);
    assert_eq!(m["items"][0]["merged_id"], b);
}
