//! Mining on the dealer database (`mine all` and the daily job), on SQLite and PostgreSQL.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, today, vin};
use dealerbase_domain::FixedClock;
use dealerbase_service::Services;
use dealerbase_service::input::{CustomerInput, VehicleInput, WorkOrderInput, WorkOrderLineInput};
use dealerbase_store::Scope;
use dealerbase_store::mining::day_number;
use std::sync::Arc;

fn visit(number: &str, vehicle: i64, on: &str, fen: i64) -> WorkOrderInput {
    WorkOrderInput {
        number: Some(number.into()),
        vehicle_id: Some(vehicle),
        kind: Some("maintenance".into()),
        opened_on: Some(on.into()),
        settled_on: Some(on.into()),
        odometer_km: Some(10_000),
        lines: vec![WorkOrderLineInput {
            line_kind: Some("labour".into()),
            name: Some("保养工时".into()),
            amount_fen: Some(fen),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Two customers with known work orders: the columns fed to RFM and the stored RFM values
/// can be checked by hand.
/// Two customers of store 1 with known work orders: 甲 three visits, 600 + 400 + 1,000
/// yuan; 乙 one visit of 2,500 yuan. All before the harness's today (2026-11-23).
async fn two_customers(f: &Fixture) -> ((i64, i64), (i64, i64)) {
    let mut ids = Vec::new();
    for (k, (name, mobile)) in [("甲客户", "13833330001"), ("乙客户", "13833330002")]
        .into_iter()
        .enumerate()
    {
        let c = f
            .svc
            .create_customer(
                &f.manager1,
                &CustomerInput {
                    name: Some(name.into()),
                    mobile: Some(mobile.into()),
                    ..Default::default()
                },
            )
            .await
            .expect("customer");
        let v = f
            .svc
            .create_vehicle(
                &f.manager1,
                &VehicleInput {
                    vin: Some(vin(100 + k as u32)),
                    model_id: Some(f.model),
                    delivery_date: Some("2024-01-10".into()),
                    own_sold: Some(true),
                    customer_id: Some(c.customer.id),
                    ..Default::default()
                },
            )
            .await
            .expect("vehicle");
        ids.push((c.customer.id, v.id));
    }
    let (a, va) = ids[0];
    let (b, vb) = ids[1];
    // 甲: three visits, 600 + 400 + 1,000 yuan; 乙: one visit of 2,500 yuan. All before
    // the harness's today (2026-11-23).
    for (n, v, on, fen) in [
        ("A-1", va, "2024-07-01", 60_000),
        ("A-2", va, "2025-07-01", 40_000),
        ("A-3", va, "2026-01-05", 100_000),
        ("B-1", vb, "2024-08-01", 250_000),
    ] {
        f.svc
            .create_work_order(&f.advisor1, &visit(n, v, on, fen))
            .await
            .expect("work order");
    }
    ((a, va), (b, vb))
}

async fn visits_fed_to_rfm_are_the_work_orders(t: &TestDb) {
    let f = fixture(&t.db).await;
    let ((a, _), (b, _)) = two_customers(&f).await;
    let cols = t.db.mining_visits(today()).await.expect("visits");
    let mut rows: Vec<(u32, i32, i64)> = (0..cols.customer.len())
        .map(|k| (cols.customer[k], cols.day[k], cols.amount_fen[k]))
        .collect();
    rows.sort();
    let d = |s: &str| day_number(s.parse().expect("date"));
    assert_eq!(
        rows,
        vec![
            (a as u32, d("2024-07-01"), 60_000),
            (a as u32, d("2025-07-01"), 40_000),
            (a as u32, d("2026-01-05"), 100_000),
            (b as u32, d("2024-08-01"), 250_000),
        ]
    );
    let report = f.svc.mine_all(today(), |_| {}).await.expect("mine");
    assert_eq!((report.customers, report.visits), (2, 4));
    let sa =
        t.db.customer_score(&f.group_staff.scope(), a)
            .await
            .expect("score")
            .expect("a scored");
    let sb =
        t.db.customer_score(&f.group_staff.scope(), b)
            .await
            .expect("score")
            .expect("b scored");
    assert_eq!((sa.frequency, sa.monetary_fen), (3, 200_000));
    assert_eq!((sb.frequency, sb.monetary_fen), (1, 250_000));
    assert_eq!(
        sa.recency_days,
        i64::from(d(&today().to_string()) - d("2026-01-05"))
    );
    assert_eq!(
        sb.recency_days,
        i64::from(d(&today().to_string()) - d("2024-08-01"))
    );
    // Only b's 2,500 yuan is above a's 2,000: b's share above is 0 (platinum); a's is
    // 2,500/4,500 = 56% (gold).
    assert_eq!((sb.tier.as_str(), sa.tier.as_str()), ("platinum", "gold"));
    // A consultant with neither customer sees neither score.
    assert!(
        t.db.customer_score(&f.consultant_store2.scope(), a)
            .await
            .expect("score")
            .is_none()
    );
}
both!(visits_fed_to_rfm_are_the_work_orders);

async fn mine_all_on_the_demo_group_once_a_day(t: &TestDb) {
    let opts = dealerbase_demo::DemoOptions {
        customers: 1500,
        stores: 3,
        seed: 11,
        as_of: today(),
        batch: 500,
    };
    dealerbase_demo::generate(&t.db, &opts, |_| {})
        .await
        .expect("demo");
    let svc = Services::new(t.db.clone(), Arc::new(FixedClock::on(today())));
    let report = svc.mine_all(today(), |_| {}).await.expect("mine");
    assert!(!report.skipped);
    assert!(
        report.customers > 500 && report.customers <= 1500,
        "{report:?}"
    );
    let run =
        t.db.latest_mining_run()
            .await
            .expect("run")
            .expect("complete run");
    assert_eq!(run.as_of, today());
    assert_eq!(
        t.db.customer_score_count(run.id).await.expect("count") as usize,
        report.customers
    );
    // The churn model was trained and checked on the demo's history.
    let auc = report.churn_auc.expect("churn auc");
    assert!((0.5..=1.0).contains(&auc), "{report:?}");
    assert!(report.churn_brier.expect("brier") < 0.25, "{report:?}");
    let summary: serde_json::Value = serde_json::from_str(&run.summary_json).expect("json");
    for key in [
        "segments",
        "tiers",
        "pareto",
        "lorenz",
        "gini",
        "models",
        "retention",
        "rules",
        "loyalty",
        "churn_histogram",
        "clusters",
    ] {
        assert!(summary.get(key).is_some(), "summary lacks {key}");
    }
    assert!(
        summary["retention"]["purchase_year"][0]["curves"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );

    let group = Scope::Group { group_id: 1 };
    let all = t.db.top_churn_risks(&group, 100_000).await.expect("scores");
    assert_eq!(all.len(), report.customers);
    for s in &all {
        assert!(
            (1..=5).contains(&s.r) && (1..=5).contains(&s.f) && (1..=5).contains(&s.m),
            "{s:?}"
        );
        assert!(
            (0.0..=1.0).contains(&s.churn_risk) && (0.0..=1.0).contains(&s.trade_in),
            "{s:?}"
        );
        assert!(s.p_alive.is_none_or(|p| (0.0..=1.0).contains(&p)), "{s:?}");
        assert!(s.frequency >= 1 && s.recency_days >= 0, "{s:?}");
        assert!(["platinum", "gold", "silver", "bronze"].contains(&s.tier.as_str()));
    }
    assert!(all.windows(2).all(|w| w[0].churn_risk >= w[1].churn_risk));
    // k-means clusters: every scored customer in one of 5, numbered by decreasing size, and
    // the profiles count the same customers.
    let mut sizes = [0usize; 5];
    for s in &all {
        let c = s.cluster.expect("a cluster");
        assert!((1..=5).contains(&c), "{s:?}");
        sizes[c as usize - 1] += 1;
    }
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    let profiles = summary["clusters"]["profiles"]
        .as_array()
        .expect("profiles");
    let counted: Vec<usize> = profiles
        .iter()
        .map(|p| p["customers"].as_u64().expect("customers") as usize)
        .collect();
    assert_eq!(counted, sizes.to_vec());
    // Scope: a store sees only its customers; a consultant only theirs.
    let store = all[0].store_id;
    let in_store =
        t.db.top_churn_risks(&Scope::Store { store_id: store }, 100_000)
            .await
            .expect("store");
    assert!(!in_store.is_empty() && in_store.len() < all.len());
    assert!(in_store.iter().all(|s| s.store_id == store));
    if let Some(staff) = all.iter().find_map(|s| s.consultant_id) {
        let own =
            t.db.top_churn_risks(
                &Scope::Own {
                    store_id: store,
                    staff_id: staff,
                },
                100_000,
            )
            .await
            .expect("own");
        assert!(own.len() < in_store.len());
    }

    // Same day again: nothing new.
    let again = svc.mine_all(today(), |_| {}).await.expect("again");
    assert!(again.skipped);
    assert_eq!(
        t.db.customer_score_count(run.id).await.expect("count") as usize,
        report.customers
    );
    let latest = t.db.latest_mining_run().await.expect("run").expect("run");
    assert_eq!(latest.id, run.id);
}
both!(mine_all_on_the_demo_group_once_a_day);

/// The API answers from the snapshot and keeps to the caller's scope.
#[tokio::test]
async fn api_shows_scores_within_scope() {
    let t = TestDb::sqlite().await;
    let f = fixture(&t.db).await;
    let ((a, _), _) = two_customers(&f).await;
    f.svc.mine_all(today(), |_| {}).await.expect("mine");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let svc = f.svc.clone();
    tokio::spawn(async move { dealerbase_web::serve(listener, svc).await });
    let http = reqwest::Client::new();
    let token = async |id| f.svc.issue_api_token(id, "test").await.expect("token");
    let manager = token(f.manager1.staff_id).await;
    let other_store = token(f.consultant_store2.staff_id).await;
    let get = async |path: &str, tok: &str| {
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(tok)
            .header("Accept-Language", "en")
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        (
            status,
            r.json::<serde_json::Value>().await.unwrap_or_default(),
        )
    };
    let (status, body) = get("/api/v1/mining/summary", &manager).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["results"]["gini"].is_number(), "{body}");
    assert_eq!(get("/api/v1/mining/summary", &other_store).await.0, 403);
    let (status, body) = get(&format!("/api/v1/mining/customers/{a}"), &manager).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scores"]["frequency"], 3);
    assert!(body["churn_reasons"].is_string());
    assert_eq!(
        get(&format!("/api/v1/mining/customers/{a}"), &other_store)
            .await
            .0,
        404
    );
    let (status, body) = get("/api/v1/mining/churn-risks?limit=10", &manager).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(2));
    let (_, body) = get("/api/v1/mining/churn-risks", &other_store).await;
    assert_eq!(body.as_array().map(Vec::len), Some(0));
    t.finish().await;
}
