//! The JSON API v1 against the real server on port 0 with a fresh database.

use crate::harness::{Fixture, TestDb, fixture, vin};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

struct Api {
    base: String,
    http: Client,
    f: Fixture,
    manager: String,
    consultant_a: String,
    consultant_b: String,
    advisor: String,
    _db: TestDb,
}

impl Api {
    async fn start() -> Api {
        let t = TestDb::sqlite().await;
        let f = fixture(&t.db).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let svc = f.svc.clone();
        tokio::spawn(async move { dealerbase_web::serve(listener, svc).await });
        let token = async |id| f.svc.issue_api_token(id, "test").await.expect("token");
        Api {
            manager: token(f.manager1.staff_id).await,
            consultant_a: token(f.consultant_a.staff_id).await,
            consultant_b: token(f.consultant_b.staff_id).await,
            advisor: token(f.advisor1.staff_id).await,
            base,
            http: Client::new(),
            f,
            _db: t,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .http
            .request(method.parse().expect("method"), url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn new_customer(&self, token: &str, name: &str, mobile: &str) -> i64 {
        let (s, body) = self
            .call(
                "POST",
                "/api/v1/customers",
                token,
                Some(json!({"name": name, "mobile": mobile})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["id"].as_i64().expect("id")
    }
}

#[tokio::test]
async fn authentication_is_required_and_checked() {
    let api = Api::start().await;
    let r = api
        .http
        .get(format!("{}/api/v1/customers", api.base))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["code"], "unauthenticated");
    let (s, _) = api
        .call("GET", "/api/v1/customers", "dbk_wrong", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, me) = api.call("GET", "/api/v1/me", &api.manager, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "sales_manager");
}

#[tokio::test]
async fn customers_create_read_update_search_and_bad_input() {
    let api = Api::start().await;
    let id = api
        .new_customer(&api.consultant_a, "赵敏", "+86 139-0000-1111")
        .await;
    let (s, c) = api
        .call(
            "GET",
            &format!("/api/v1/customers/{id}"),
            &api.consultant_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["mobile"], "139****1111");
    assert_eq!(c["consultant_id"], api.f.consultant_a.staff_id);
    // Every invalid field is reported, with a stable code and the field's name.
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/customers",
            &api.manager,
            Some(json!({"name": "", "mobile": "12345", "id_number": "110105194912310021"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|x| x["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["name", "id_number", "mobile"]);
    assert_eq!(e["errors"][2]["code"], "mobile_format");
    assert_eq!(e["errors"][2]["value"], "12345");
    assert!(
        e["message"].as_str().expect("message").contains("手机号"),
        "{e}"
    );
    // English on request.
    let r = api
        .http
        .post(format!("{}/api/v1/customers", api.base))
        .bearer_auth(&api.manager)
        .header("accept-language", "en-GB")
        .json(&json!({"name": "x", "mobile": "1"}))
        .send()
        .await
        .expect("send");
    let e: Value = r.json().await.expect("json");
    assert!(
        e["message"]
            .as_str()
            .expect("message")
            .contains("11 digits"),
        "{e}"
    );
    // Malformed requests are 400 with a code, never a 500.
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/customers",
            &api.manager,
            Some(json!({"name": 5})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_json"))
    );
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/customers",
            &api.manager,
            Some(json!({"nmae": "typo"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_json"))
    );
    let (s, e) = api
        .call("GET", "/api/v1/customers/abc", &api.manager, None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_path"))
    );
    let (s, e) = api
        .call("GET", "/api/v1/customers?page=-1", &api.manager, None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query"))
    );
    let (s, _) = api
        .call("GET", "/api/v1/customers/999999", &api.manager, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Update: given fields change, others stay.
    let (s, c) = api
        .call(
            "PATCH",
            &format!("/api/v1/customers/{id}"),
            &api.manager,
            Some(json!({"email": "zhao@example.cn", "birthday": "1990年5月6日"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        (c["name"].as_str(), c["birthday"].as_str()),
        (Some("赵敏"), Some("1990-05-06"))
    );
    let (s, _) = api
        .call(
            "PATCH",
            &format!("/api/v1/customers/{id}"),
            &api.manager,
            Some(json!({"email": "nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Search and filters.
    let (s, page) = api
        .call(
            "GET",
            "/api/v1/customers?q=%E8%B5%B5&class=base&per_page=5",
            &api.manager,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page["items"].as_array().expect("items").is_empty(),
        "class filter applies: {page}"
    );
    let (_, page) = api
        .call("GET", "/api/v1/customers?q=13900001111", &api.manager, None)
        .await;
    assert_eq!(page["items"][0]["id"], id);
}

#[tokio::test]
async fn consultants_cannot_read_each_others_customers_or_leads() {
    let api = Api::start().await;
    let id = api
        .new_customer(&api.consultant_a, "钱多", "13900002222")
        .await;
    let (s, lead) = api.call("POST", "/api/v1/leads", &api.consultant_a, Some(json!({"customer_id": id, "grade": "A", "source": "walk_in", "source_detail": "自然到店"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{lead}");
    assert_eq!(
        lead["next_follow_up"], "2026-11-26",
        "grade A: every 3 days"
    );
    let lead_id = lead["id"].as_i64().expect("id");
    for path in [
        format!("/api/v1/customers/{id}"),
        format!("/api/v1/customers/{id}/360"),
        format!("/api/v1/leads/{lead_id}"),
    ] {
        let (s, _) = api.call("GET", &path, &api.consultant_b, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        let (s, _) = api.call("GET", &path, &api.consultant_a, None).await;
        assert_eq!(s, StatusCode::OK, "{path}");
    }
    let (_, leads) = api
        .call("GET", "/api/v1/leads", &api.consultant_b, None)
        .await;
    assert!(leads["items"].as_array().expect("items").is_empty());
    let (s, e) = api
        .call("GET", "/api/v1/leads?per_page=many", &api.manager, None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query"))
    );
    let (_, leads) = api
        .call("GET", "/api/v1/leads?grade=A", &api.manager, None)
        .await;
    assert_eq!(leads["items"].as_array().expect("items").len(), 1);
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/leads",
            &api.consultant_a,
            Some(json!({"customer_id": id, "grade": "Z"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "grade");
    assert_eq!(e["errors"][1]["field"], "source");
}

#[tokio::test]
async fn reveal_is_for_permitted_roles_and_audited() {
    let api = Api::start().await;
    let id = api
        .new_customer(&api.consultant_a, "孙悟", "13900003333")
        .await;
    let (s, e) = api
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/reveal"),
            &api.consultant_a,
            None,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, r) = api
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/reveal"),
            &api.manager,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["mobile"], "13900003333");
    let log = api
        .f
        .svc
        .db
        .audit_log(
            Some(api.f.manager1.staff_id),
            Some("reveal"),
            Some(("customer", id)),
            5,
        )
        .await
        .expect("log");
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn vehicles_and_work_orders_with_lines() {
    let api = Api::start().await;
    let id = api
        .new_customer(&api.manager, "周车主", "13900004444")
        .await;
    let v = vin(42);
    let body = json!({"vin": v, "model_id": api.f.model, "plate": "浙A·8888D", "delivery_date": "2025-01-10", "own_sold": true, "customer_id": id});
    let (s, vehicle) = api
        .call("POST", "/api/v1/vehicles", &api.manager, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{vehicle}");
    assert_eq!(vehicle["plate"], "浙A8888D");
    let vid = vehicle["id"].as_i64().expect("id");
    let (s, e) = api
        .call("POST", "/api/v1/vehicles", &api.manager, Some(body))
        .await;
    assert_eq!(
        (s, e["code"].as_str(), e["field"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"), Some("vin"))
    );
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/vehicles",
            &api.manager,
            Some(json!({"vin": "LFV2A21K1P4000042", "model_id": api.f.model})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("vin_check_digit"))
    );
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/vehicles",
            &api.manager,
            Some(json!({"vin": vin(43), "model_id": 9999})),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("model_id"))
    );
    let (s, patched) = api
        .call(
            "PATCH",
            &format!("/api/v1/vehicles/{vid}"),
            &api.manager,
            Some(json!({"colour": "珍珠白", "plate": "无牌照"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (patched["colour"].as_str(), patched["plate"].as_str()),
        (Some("珍珠白"), None)
    );
    let wo = json!({"number": "S01-0001", "vehicle_id": vid, "kind": "first_service", "opened_on": "2025-07-01", "settled_on": "2025-07-01", "odometer_km": 6800, "paid_by": "oem",
        "lines": [{"line_kind": "labour", "name": "首保工时", "amount_fen": 0}, {"line_kind": "part", "code": "P-OIL", "name": "机油", "quantity": 4, "amount_fen": 36000}]});
    let (s, created) = api
        .call("POST", "/api/v1/work-orders", &api.advisor, Some(wo))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["lines"].as_array().expect("lines").len(), 2);
    assert_eq!(created["total_fen"], 36000);
    let wid = created["id"].as_i64().expect("id");
    let (s, got) = api
        .call(
            "GET",
            &format!("/api/v1/work-orders/{wid}"),
            &api.manager,
            None,
        )
        .await;
    assert_eq!(
        (s, got["number"].as_str()),
        (StatusCode::OK, Some("S01-0001"))
    );
    let (s, e) = api.call("POST", "/api/v1/work-orders", &api.advisor, Some(json!({"number": "S01-0002", "vehicle_id": vid, "kind": "maintenance", "opened_on": "2025-13-01", "lines": [{"line_kind": "part", "name": "x", "quantity": 0}]}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|x| x["field"].as_str().expect("f"))
        .collect();
    assert_eq!(fields, vec!["opened_on", "lines[1].quantity"]);
    let (s, doc) = api
        .call(
            "GET",
            &format!("/api/v1/customers/{id}/360"),
            &api.manager,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["vehicles"][0]["odometer"][0]["km"], 6800);
    assert_eq!(doc["work_orders"][0]["lines"][1]["name"], "机油");
    assert_eq!(doc["timeline"][0]["kind"], "work_order");
    let (s, _) = api
        .call(
            "GET",
            &format!("/api/v1/vehicles/{vid}"),
            &api.consultant_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, got) = api
        .call(
            "GET",
            &format!("/api/v1/vehicles/{vid}"),
            &api.advisor,
            None,
        )
        .await;
    assert_eq!(
        (s, got["model_name"].as_str()),
        (StatusCode::OK, Some("速腾 200TSI"))
    );
    let (s, e) = api
        .call(
            "PATCH",
            &format!("/api/v1/vehicles/{vid}"),
            &api.manager,
            Some(json!({"plate": "京I12345", "model_year": 1900})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let codes: Vec<&str> = e["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|x| x["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, vec!["plate_format", "out_of_range"]);
    let (s, _) = api
        .call(
            "GET",
            &format!("/api/v1/work-orders/{wid}"),
            &api.consultant_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = api
        .call("GET", "/api/v1/work-orders/0x1", &api.manager, None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_path"))
    );
}

#[tokio::test]
async fn openapi_document_matches_the_routes() {
    let api = Api::start().await;
    let doc: Value = api
        .http
        .get(format!("{}/api/openapi.json", api.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().expect("item").keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    let expected = [
        "DELETE /api/v1/segments/{id}",
        "DELETE /api/v1/suppressions/{id}",
        "GET /api/v1/absorption",
        "GET /api/v1/aftersales/appointments",
        "GET /api/v1/aftersales/calls",
        "GET /api/v1/aftersales/complaints",
        "GET /api/v1/aftersales/complaints/{id}",
        "GET /api/v1/aftersales/kpis",
        "GET /api/v1/aftersales/renewals",
        "GET /api/v1/aftersales/settings/{id}",
        "GET /api/v1/aftersales/tasks/{id}/follow-up",
        "GET /api/v1/aftersales/vehicles/{id}/due",
        "GET /api/v1/campaigns",
        "GET /api/v1/campaigns/results",
        "GET /api/v1/campaigns/{id}",
        "GET /api/v1/campaigns/{id}/preview",
        "GET /api/v1/campaigns/{id}/recipients",
        "GET /api/v1/campaigns/{id}/results",
        "GET /api/v1/customers",
        "GET /api/v1/customers/export",
        "GET /api/v1/customers/{id}",
        "GET /api/v1/customers/{id}/360",
        "GET /api/v1/customers/{id}/loyalty",
        "GET /api/v1/customers/{id}/merge",
        "GET /api/v1/daily-report",
        "GET /api/v1/daily-reports",
        "GET /api/v1/defeats",
        "GET /api/v1/imports",
        "GET /api/v1/imports/{id}",
        "GET /api/v1/imports/{id}/report",
        "GET /api/v1/kpis",
        "GET /api/v1/kpis/ranking",
        "GET /api/v1/kpis/records",
        "GET /api/v1/kpis/trend",
        "GET /api/v1/kpis/values",
        "GET /api/v1/leads",
        "GET /api/v1/leads/export",
        "GET /api/v1/leads/{id}",
        "GET /api/v1/leads/{id}/detail",
        "GET /api/v1/loyalty/settings/{id}",
        "GET /api/v1/management/dashboard",
        "GET /api/v1/management/report",
        "GET /api/v1/me",
        "GET /api/v1/merges",
        "GET /api/v1/messages",
        "GET /api/v1/messages/{id}",
        "GET /api/v1/mining/campaign-response",
        "GET /api/v1/mining/churn-risks",
        "GET /api/v1/mining/customers/{id}",
        "GET /api/v1/mining/dashboard",
        "GET /api/v1/mining/scores",
        "GET /api/v1/mining/scores/export",
        "GET /api/v1/mining/summary",
        "GET /api/v1/operating-costs",
        "GET /api/v1/sales/analytics",
        "GET /api/v1/sales/leads",
        "GET /api/v1/sales/today",
        "GET /api/v1/segments",
        "GET /api/v1/segments/fields",
        "GET /api/v1/segments/{id}",
        "GET /api/v1/segments/{id}/members",
        "GET /api/v1/segments/{id}/members/export",
        "GET /api/v1/showroom/stats",
        "GET /api/v1/showroom/visits",
        "GET /api/v1/stores/{id}/sales-settings",
        "GET /api/v1/suppressions",
        "GET /api/v1/targets",
        "GET /api/v1/tasks",
        "GET /api/v1/tasks/export",
        "GET /api/v1/vehicles",
        "GET /api/v1/vehicles/export",
        "GET /api/v1/vehicles/{id}",
        "GET /api/v1/vehicles/{id}/cross-sell",
        "GET /api/v1/work-orders",
        "GET /api/v1/work-orders/export",
        "GET /api/v1/work-orders/{id}",
        "PATCH /api/v1/customers/{id}",
        "PATCH /api/v1/vehicles/{id}",
        "POST /api/v1/aftersales/appointments",
        "POST /api/v1/aftersales/appointments/{id}/status",
        "POST /api/v1/aftersales/complaints",
        "POST /api/v1/aftersales/complaints/{id}/step",
        "POST /api/v1/aftersales/questionnaires",
        "POST /api/v1/aftersales/tasks/{id}/follow-up",
        "POST /api/v1/aftersales/tasks/{id}/outcome",
        "POST /api/v1/campaigns",
        "POST /api/v1/campaigns/{id}/prepare",
        "POST /api/v1/campaigns/{id}/recipients/{customer_id}/invitation",
        "POST /api/v1/campaigns/{id}/send",
        "POST /api/v1/customers",
        "POST /api/v1/customers/{id}/loyalty/adjust",
        "POST /api/v1/customers/{id}/loyalty/redeem",
        "POST /api/v1/customers/{id}/loyalty/transfer",
        "POST /api/v1/customers/{id}/merge",
        "POST /api/v1/customers/{id}/reveal",
        "POST /api/v1/daily-report",
        "POST /api/v1/daily-reports/{id}/sign",
        "POST /api/v1/defeats/{id}/decide",
        "POST /api/v1/imports",
        "POST /api/v1/invitations/{id}/outcome",
        "POST /api/v1/leads",
        "POST /api/v1/leads/{id}/assign",
        "POST /api/v1/leads/{id}/claim",
        "POST /api/v1/leads/{id}/contacts",
        "POST /api/v1/leads/{id}/defeat",
        "POST /api/v1/leads/{id}/invitations",
        "POST /api/v1/leads/{id}/orders",
        "POST /api/v1/leads/{id}/test-drives",
        "POST /api/v1/messages",
        "POST /api/v1/messages/{id}/retry",
        "POST /api/v1/mining/call-lists",
        "POST /api/v1/operating-costs/import",
        "POST /api/v1/orders/{id}/deliver",
        "POST /api/v1/sales/tasks/{id}/complete",
        "POST /api/v1/segments",
        "POST /api/v1/segments/evaluate",
        "POST /api/v1/segments/{id}/freeze",
        "POST /api/v1/segments/{id}/unfreeze",
        "POST /api/v1/showroom/visits",
        "POST /api/v1/showroom/visits/{id}/lead",
        "POST /api/v1/showroom/visits/{id}/left",
        "POST /api/v1/sms/inbound",
        "POST /api/v1/sms/status",
        "POST /api/v1/suppressions",
        "POST /api/v1/targets/split",
        "POST /api/v1/test-drives/{id}/finish",
        "POST /api/v1/vehicles",
        "POST /api/v1/work-orders",
        "PUT /api/v1/aftersales/settings/{id}",
        "PUT /api/v1/loyalty/settings/{id}",
        "PUT /api/v1/operating-costs",
        "PUT /api/v1/segments/{id}",
        "PUT /api/v1/stores/{id}/sales-settings",
        "PUT /api/v1/targets",
    ];
    assert_eq!(documented, expected);
    // Every documented route is served (a missing route would answer with the fallback's not_found body without a token check).
    for route in &documented {
        let (method, path) = route.split_once(' ').expect("route");
        let (s, _) = api
            .call(
                method,
                &path.replace("{id}", "1"),
                "dbk_none",
                Some(json!({})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{route} is not served");
    }
    let (s, _) = api
        .call("GET", "/api/v1/nothing-here", "dbk_none", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
