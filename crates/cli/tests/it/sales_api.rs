//! The showroom and lead operations through the JSON API against the real server: the
//! whole path from a walk-in to the post-delivery calls, a defeat approved by the manager,
//! the daily report, analytics and the store settings, with 4xx answers for bad input.

use crate::harness::{Fixture, TestDb, fixture, vin};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

struct Api {
    base: String,
    http: Client,
    f: Fixture,
    manager: String,
    a: String,
    b: String,
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
            a: token(f.consultant_a.staff_id).await,
            b: token(f.consultant_b.staff_id).await,
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
        let mut req = self
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{}", self.base, path),
            )
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
}

#[tokio::test]
async fn from_walk_in_to_delivery_calls_and_a_defeat() {
    let api = Api::start().await;
    let model = api.f.model;
    // A walk-in registered as an H lead in one call.
    let (s, v) = api
        .call("POST", "/api/v1/showroom/visits", &api.a, Some(json!({"visitor_name": "陈真", "mobile": "13900001234", "grade": "H", "desired_model_id": model, "party_size": 2})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["lead_created"], true);
    assert_eq!(v["visit"]["mobile"], "139****1234", "masked");
    let lead = v["lead_id"].as_i64().expect("lead");
    // Registering needs a mobile; the error names the field.
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/showroom/visits",
            &api.a,
            Some(json!({"visitor_name": "无号", "grade": "A", "desired_model_id": model})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("required"), Some("mobile"))
    );
    let (s, e) = api
        .call(
            "POST",
            "/api/v1/showroom/visits",
            &api.a,
            Some(json!({"party_size": 99})),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("party_size"))
    );
    let (s, list) = api
        .call("GET", "/api/v1/showroom/visits", &api.b, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        list.as_array().expect("visits").len(),
        1,
        "the showroom log is the store's"
    );
    // A contact moves the grade; the other consultant cannot.
    let (s, d) = api
        .call(
            "POST",
            &format!("/api/v1/leads/{lead}/contacts"),
            &api.a,
            Some(json!({"grade": "A", "outcome": "reached", "note": "约周末试驾"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["lead"]["grade"], "A");
    assert_eq!(d["grade_history"].as_array().expect("history").len(), 2);
    let (s, _) = api
        .call(
            "POST",
            &format!("/api/v1/leads/{lead}/contacts"),
            &api.b,
            Some(json!({"grade": "B"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Test drive, invitation.
    let (s, td) = api
        .call(
            "POST",
            &format!("/api/v1/leads/{lead}/test-drives"),
            &api.a,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, td["status"].as_str()),
        (StatusCode::CREATED, Some("booked"))
    );
    let (s, td) = api
        .call(
            "POST",
            &format!("/api/v1/test-drives/{}/finish", td["id"]),
            &api.a,
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!((s, td["status"].as_str()), (StatusCode::OK, Some("done")));
    let (s, inv) = api
        .call(
            "POST",
            &format!("/api/v1/leads/{lead}/invitations"),
            &api.a,
            Some(json!({"appointment_on": "2026-11-25"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    let (s, inv) = api
        .call(
            "POST",
            &format!("/api/v1/invitations/{}/outcome", inv["id"]),
            &api.a,
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!(
        (s, inv["status"].as_str()),
        (StatusCode::OK, Some("showed"))
    );
    // Order and delivery.
    let (s, o) = api
        .call(
            "POST",
            &format!("/api/v1/leads/{lead}/orders"),
            &api.a,
            Some(json!({"deposit_fen": 500000, "expected_delivery": "2026-12-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let order = o["id"].as_i64().expect("order");
    let (s, e) = api
        .call(
            "POST",
            &format!("/api/v1/orders/{order}/deliver"),
            &api.a,
            Some(json!({"vin": "LATPAB071W1005302"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str(), e["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vin_check_digit"),
            Some("vin")
        )
    );
    let (s, out) = api
        .call(
            "POST",
            &format!("/api/v1/orders/{order}/deliver"),
            &api.a,
            Some(json!({"vin": vin(901)})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["calls"].as_array().expect("calls").len(), 3);
    let (_, today) = api.call("GET", "/api/v1/sales/today", &api.a, None).await;
    assert!(
        today["upcoming"]
            .as_array()
            .expect("upcoming")
            .iter()
            .any(|t| t["kind"] == "delivery_follow_up" && t["due_on"] == "2026-11-26"),
        "{today}"
    );

    // A defeat on another lead, approved by the manager.
    let (_, v2) = api
        .call("POST", "/api/v1/showroom/visits", &api.a, Some(json!({"visitor_name": "霍元甲", "mobile": "13900005678", "grade": "C", "desired_model_id": model})))
        .await;
    let lead2 = v2["lead_id"].as_i64().expect("lead");
    let (s, e) = api
        .call(
            "POST",
            &format!("/api/v1/leads/{lead2}/defeat"),
            &api.a,
            Some(json!({"reason": "other"})),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("note"))
    );
    let (s, req) = api
        .call("POST", &format!("/api/v1/leads/{lead2}/defeat"), &api.a, Some(json!({"reason": "competitor_brand", "competitor_brand": "吉利", "competitor_model": "星越L"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{req}");
    let (s, _) = api.call("GET", "/api/v1/defeats", &api.a, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, queue) = api.call("GET", "/api/v1/defeats", &api.manager, None).await;
    assert_eq!(queue.as_array().expect("queue").len(), 1);
    let (s, dec) = api
        .call(
            "POST",
            &format!("/api/v1/defeats/{}/decide", req["id"]),
            &api.manager,
            Some(json!({"approve": true})),
        )
        .await;
    assert_eq!(
        (s, dec["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );

    // The daily report and its sign-off.
    let (s, view) = api.call("GET", "/api/v1/daily-report", &api.a, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        view["current"]["day"]["contacts"]
            .as_u64()
            .expect("contacts")
            >= 4,
        "{view}"
    );
    let (s, r) = api
        .call(
            "POST",
            "/api/v1/daily-report",
            &api.a,
            Some(json!({"plan": "回访陈真"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = api
        .call(
            "POST",
            &format!("/api/v1/daily-reports/{}/sign", r["id"]),
            &api.manager,
            Some(json!({"comment": "好"})),
        )
        .await;
    assert_eq!(
        (s, r["manager_comment"].as_str()),
        (StatusCode::OK, Some("好"))
    );

    // Analytics and traffic statistics.
    let (s, an) = api
        .call(
            "GET",
            "/api/v1/sales/analytics?by=source",
            &api.manager,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{an}");
    assert_eq!(an["total"]["counts"]["new_leads"], 2);
    assert_eq!(an["total"]["counts"]["deliveries"], 1);
    assert_eq!(an["total"]["rates"]["defeat"], 0.5);
    let (s, e) = api
        .call(
            "GET",
            "/api/v1/sales/analytics?by=weather",
            &api.manager,
            None,
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("by"))
    );
    let (s, st) = api
        .call("GET", "/api/v1/showroom/stats", &api.manager, None)
        .await;
    assert_eq!(
        (s, st["total"]["registration_rate"].as_f64()),
        (StatusCode::OK, Some(1.0))
    );

    // Store settings.
    let path = format!("/api/v1/stores/{}/sales-settings", api.f.store1);
    let (s, _) = api
        .call("PUT", &path, &api.a, Some(json!({"cadence_h": 1})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = api
        .call("PUT", &path, &api.manager, Some(json!({"cadence_h": 0})))
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cadence.H"))
    );
    let (s, ok) = api
        .call(
            "PUT",
            &path,
            &api.manager,
            Some(json!({"cadence_h": 1, "pool_after_days": 20})),
        )
        .await;
    assert_eq!(
        (s, ok["cadence_h"].as_u64(), ok["cadence_c"].as_u64()),
        (StatusCode::OK, Some(1), Some(14))
    );
    let (_, got) = api.call("GET", &path, &api.a, None).await;
    assert_eq!(got["pool_after_days"], 20);
    // The pool as a list, and leads with names.
    let (s, page) = api
        .call("GET", "/api/v1/sales/leads?overdue=false", &api.b, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page["items"].as_array().expect("items").is_empty(),
        "B has no leads"
    );
}
