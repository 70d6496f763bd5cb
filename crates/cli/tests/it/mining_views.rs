//! Mining results as people use them, on SQLite and PostgreSQL: per-store aggregates of a
//! hand-made snapshot, the scored list with its filters, call lists (consent, dedupe),
//! campaign response and cross-sell offers from `mine all` on small fixtures, and snapshots
//! only for customers with a service visit. Every number is worked out by hand below.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, today, vin};
use chrono::{DateTime, NaiveDate, Utc};
use dealerbase_domain::Lang;
use dealerbase_domain::model::Role;
use dealerbase_service::input::{CustomerInput, VehicleInput, WorkOrderInput, WorkOrderLineInput};
use dealerbase_service::mining_views::{CallListInput, ScoreQuery};
use dealerbase_service::{Actor, ServiceError};
use dealerbase_store::mining::{CustomerScore, RunStart};
use dealerbase_store::mining_views::{ScoreCursor, ScoreFilter};
use dealerbase_store::{NewContact, Scope};

pub(crate) async fn new_customer(
    f: &Fixture,
    by: &Actor,
    name: &str,
    mobile: &str,
    consultant: Option<i64>,
) -> i64 {
    f.svc
        .create_customer(
            by,
            &CustomerInput {
                name: Some(name.into()),
                mobile: Some(mobile.into()),
                consultant_id: consultant,
                ..Default::default()
            },
        )
        .await
        .expect("customer")
        .customer
        .id
}

#[allow(clippy::too_many_arguments)]
fn score(
    run_id: i64,
    customer_id: i64,
    store_id: i64,
    segment: &str,
    tier: &str,
    monetary_fen: i64,
    clv_fen: Option<i64>,
    p_alive: Option<f64>,
    churn_risk: f64,
) -> CustomerScore {
    CustomerScore {
        run_id,
        customer_id,
        store_id,
        consultant_id: None,
        recency_days: 100,
        frequency: 2,
        monetary_fen,
        r: 3,
        f: 3,
        m: 3,
        segment: segment.into(),
        tier: tier.into(),
        p_alive,
        expected_visits: p_alive.map(|p| p * 2.0),
        clv_fen,
        churn_risk,
        churn_reasons: "recency+,frequency-".into(),
        trade_in: 0.2,
        trade_in_reasons: "vehicle_age+".into(),
        cluster: None,
    }
}

/// Four scored customers: S01 甲 (champions, platinum, 5,000 yuan, CLV 1,000, P(alive)
/// 0.9, churn 5%), 乙 (at risk, gold, 2,000, CLV 200, 0.3, 72%), 丙 (hibernating, bronze,
/// 100, no CLV or P(alive), 95%); S02 丁 (champions, silver, 3,000, CLV 500, 0.6, 55%).
/// Consents: 乙, 丙 and 丁 gave marketing consent; 丙 then asked not to be contacted.
/// 乙's consultant is s01.b, 丁's s02.a (who created them); 甲 and 丙 have none.
pub(crate) struct Hand {
    pub jia: i64,
    pub yi: i64,
    pub bing: i64,
    pub ding: i64,
}

pub(crate) async fn hand_snapshot(t: &TestDb, f: &Fixture) -> Hand {
    let jia = new_customer(f, &f.manager1, "甲客户", "13800000001", None).await;
    let yi = new_customer(
        f,
        &f.manager1,
        "乙客户",
        "13800000002",
        Some(f.consultant_b.staff_id),
    )
    .await;
    let bing = new_customer(f, &f.manager1, "丙客户", "13800000003", None).await;
    let ding = new_customer(f, &f.consultant_store2, "丁客户", "13800000004", None).await;
    let now = f.svc.clock.now();
    for c in [yi, bing, ding] {
        t.db.record_consent(c, "marketing", "sms", "2026-01", None, now)
            .await
            .expect("consent");
    }
    t.db.create_contact(&NewContact {
        store_id: f.store1,
        customer_id: bing,
        lead_id: None,
        staff_id: None,
        channel: "phone",
        direction: "outbound",
        purpose: "campaign",
        occurred_at: now,
        outcome: "do_not_contact",
        note: None,
        grade_before: None,
        grade_after: None,
        next_date: None,
    })
    .await
    .expect("contact");
    let RunStart::Started(run) = t.db.start_mining_run(today(), now).await.expect("run") else {
        panic!("a new run");
    };
    let (s1, s2) = (f.store1, f.store2);
    t.db.write_customer_scores(&[
        score(
            run,
            jia,
            s1,
            "champions",
            "platinum",
            500_000,
            Some(100_000),
            Some(0.9),
            0.05,
        ),
        score(
            run,
            yi,
            s1,
            "at_risk",
            "gold",
            200_000,
            Some(20_000),
            Some(0.3),
            0.72,
        ),
        score(
            run,
            bing,
            s1,
            "hibernating",
            "bronze",
            10_000,
            None,
            None,
            0.95,
        ),
        score(
            run,
            ding,
            s2,
            "champions",
            "silver",
            300_000,
            Some(50_000),
            Some(0.6),
            0.55,
        ),
    ])
    .await
    .expect("scores");
    t.db.finish_mining_run(run, now, 4, 8, "{}")
        .await
        .expect("finish");
    Hand {
        jia,
        yi,
        bing,
        ding,
    }
}

async fn per_store_aggregates_are_worked_out_by_hand(t: &TestDb) {
    let f = fixture(&t.db).await;
    hand_snapshot(t, &f).await;
    // The store manager sees S01 even when asking for S02.
    let d = f
        .svc
        .mining_dashboard(&f.manager1, Some(f.store2), Lang::En)
        .await
        .expect("dashboard")
        .expect("a snapshot");
    assert_eq!(d.store_id, Some(f.store1));
    assert!(d.stores.is_empty(), "no store picker for a store role");
    let a = &d.aggregates;
    // S01: 5,000 + 2,000 + 100 = 7,100 yuan; CLV 1,000 + 200 = 1,200 (丙 has none).
    assert_eq!(
        (a.customers, a.revenue_fen, a.clv_fen),
        (3, 710_000, 120_000)
    );
    // Mean P(alive) over those that have one: (0.9 + 0.3) / 2 = 0.6.
    assert!((a.mean_p_alive.expect("p") - 0.6).abs() < 1e-9);
    // Churn 5% → decile 0, 72% → 7, 95% → 9; two at 50% or more.
    assert_eq!(a.churn_deciles, vec![1, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
    assert_eq!(a.high_risk, 2);
    let seg = |code: &str| {
        a.segments
            .iter()
            .find(|s| s.code == code)
            .map(|s| (s.customers, s.revenue_fen))
            .expect("segment")
    };
    assert_eq!(seg("champions"), (1, 500_000));
    assert_eq!(seg("at_risk"), (1, 200_000));
    assert_eq!(seg("hibernating"), (1, 10_000));
    assert_eq!(seg("new_customers"), (0, 0));
    // Champions bring 5,000 / 7,100 = 70.42% of S01's revenue.
    let champions = a
        .segments
        .iter()
        .find(|s| s.code == "champions")
        .expect("row");
    assert!((champions.revenue_share - 5000.0 / 7100.0).abs() < 1e-9);
    let tiers: Vec<(String, i64)> = a
        .tiers
        .iter()
        .map(|t| (t.label.clone(), t.customers))
        .collect();
    assert_eq!(
        tiers,
        vec![
            ("Platinum".to_string(), 1),
            ("Gold".to_string(), 1),
            ("Silver".to_string(), 0),
            ("Bronze".to_string(), 1)
        ]
    );
    // S01's Gini over 100, 2,000, 5,000 yuan: 2·(1·100 + 2·2,000 + 3·5,000)/(3·7,100) − 4/3
    // = 38,200/21,300 − 1.33333 = 0.46009.
    assert!(
        (d.gini.expect("gini") - 0.460_094).abs() < 1e-5,
        "{:?}",
        d.gini
    );
    // The top 10% of three customers is one customer (⌈0.3⌉): 5,000 / 7,100.
    assert!((d.pareto[0]["revenue_share"].as_f64().expect("share") - 0.704_225).abs() < 1e-5);
    assert_eq!(d.lorenz.first(), Some(&(0.0, 0.0)));
    assert_eq!(d.lorenz.last(), Some(&(1.0, 1.0)));

    // Group staff: the whole group, then one store they pick.
    let g = f
        .svc
        .mining_dashboard(&f.group_staff, None, Lang::Zh)
        .await
        .expect("dashboard")
        .expect("snapshot");
    assert_eq!(g.store_id, None);
    assert_eq!(g.stores.len(), 2);
    // 7,100 + 3,000 = 10,100 yuan; CLV 1,200 + 500 = 1,700; three at 50% or more.
    assert_eq!(
        (
            g.aggregates.customers,
            g.aggregates.revenue_fen,
            g.aggregates.clv_fen,
            g.aggregates.high_risk
        ),
        (4, 1_010_000, 170_000, 3)
    );
    let s2 = f
        .svc
        .mining_dashboard(&f.group_staff, Some(f.store2), Lang::Zh)
        .await
        .expect("dashboard")
        .expect("snapshot");
    assert_eq!(
        (s2.aggregates.customers, s2.aggregates.revenue_fen, s2.gini),
        (1, 300_000, Some(0.0))
    );
    assert_eq!(s2.store_name.as_deref(), Some("上海广汽丰田4S店"));
    // A store of another group is not found; consultants and advisors see no dashboard.
    assert!(matches!(
        f.svc
            .mining_dashboard(&f.group_staff, Some(999), Lang::Zh)
            .await,
        Err(ServiceError::NotFound { .. })
    ));
    for who in [&f.consultant_a, &f.advisor1] {
        assert!(matches!(
            f.svc.mining_dashboard(who, None, Lang::Zh).await,
            Err(ServiceError::Forbidden(_))
        ));
    }
}
both!(per_store_aggregates_are_worked_out_by_hand);

async fn the_scored_list_filters_pages_and_walks_in_risk_order(t: &TestDb) {
    let f = fixture(&t.db).await;
    let h = hand_snapshot(t, &f).await;
    let ids = |items: &[dealerbase_store::mining_views::ScoredCustomer]| {
        items.iter().map(|c| c.customer_id).collect::<Vec<_>>()
    };
    let q = ScoreQuery {
        min_churn: Some(50),
        ..Default::default()
    };
    // Group: 丙 95%, 乙 72%, 丁 55% — highest risk first; mobiles masked.
    let page = f
        .svc
        .scored_customers(&f.group_staff, &q)
        .await
        .expect("list");
    assert_eq!(ids(&page.items), vec![h.bing, h.yi, h.ding]);
    assert_eq!(page.items[0].mobile.as_deref(), Some("138****0003"));
    assert_eq!(
        (
            page.items[0].marketing_consent,
            page.items[0].do_not_contact
        ),
        (1, 1)
    );
    assert_eq!(page.items[1].consultant_name.as_deref(), Some("s01.b"));
    // The store manager: S01 only.
    let page = f.svc.scored_customers(&f.manager1, &q).await.expect("list");
    assert_eq!(ids(&page.items), vec![h.bing, h.yi]);
    // Segment and tier filters; a page of one with more to come.
    let page = f
        .svc
        .scored_customers(
            &f.group_staff,
            &ScoreQuery {
                segment: Some("champions".into()),
                per_page: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!((ids(&page.items), page.has_more), (vec![h.ding], true));
    let page = f
        .svc
        .scored_customers(
            &f.group_staff,
            &ScoreQuery {
                tier: Some("platinum".into()),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(ids(&page.items), vec![h.jia]);
    // Bad filters name the field.
    let Err(ServiceError::Invalid(e)) = f
        .svc
        .scored_customers(
            &f.group_staff,
            &ScoreQuery {
                tier: Some("diamond".into()),
                ..Default::default()
            },
        )
        .await
    else {
        panic!("invalid tier");
    };
    assert_eq!(e[0].field, "tier");
    // Keyset walk after 乙 (72%): 丁 (55%), then 甲 (5%).
    let rest =
        t.db.scored_customers_after(
            &Scope::Group {
                group_id: f.group_staff.group_id,
            },
            &ScoreFilter::default(),
            Some(ScoreCursor {
                churn_risk: 0.72,
                customer_id: h.yi,
            }),
            10,
        )
        .await
        .expect("after");
    assert_eq!(ids(&rest), vec![h.ding, h.jia]);
}
both!(the_scored_list_filters_pages_and_walks_in_risk_order);

async fn call_lists_respect_consent_and_are_created_once(t: &TestDb) {
    let f = fixture(&t.db).await;
    let h = hand_snapshot(t, &f).await;
    let care = f
        .svc
        .add_user(
            f.admin.group_id,
            Some(f.store1),
            "s01.care",
            "s01.care",
            Role::CareSpecialist,
            "password123",
        )
        .await
        .expect("care");
    // S01's list at 50% or more: 丙 asked not to be contacted, 乙 is listed for s01.b.
    let input = CallListInput {
        query: ScoreQuery {
            min_churn: Some(50),
            ..Default::default()
        },
        note: Some("秋季保养活动".into()),
        ..Default::default()
    };
    let r = f
        .svc
        .create_call_list(&f.manager1, &input)
        .await
        .expect("call list");
    assert_eq!(
        (
            r.matched,
            r.created,
            r.do_not_contact,
            r.no_consent,
            r.already_listed
        ),
        (2, 1, 1, 0, 0)
    );
    let tasks = t.db.customer_tasks(h.yi).await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (
            tasks[0].kind.as_str(),
            tasks[0].assignee_id,
            tasks[0].due_on,
            tasks[0].note.as_deref()
        ),
        (
            "campaign",
            Some(f.consultant_b.staff_id),
            today(),
            Some("秋季保养活动")
        )
    );
    // Again: nothing new.
    let r = f
        .svc
        .create_call_list(&f.manager1, &input)
        .await
        .expect("again");
    assert_eq!((r.created, r.already_listed), (0, 1));
    assert_eq!(t.db.customer_tasks(h.yi).await.expect("tasks").len(), 1);
    // Group staff, the whole list, for the S01 care specialist: 甲 has no consent, 丙 no
    // contact, 乙 listed already, 丁 is of S02.
    let r = f
        .svc
        .create_call_list(
            &f.group_staff,
            &CallListInput {
                assignee_id: Some(care),
                due_on: Some("2026-12-01".into()),
                ..Default::default()
            },
        )
        .await
        .expect("group list");
    assert_eq!(
        (
            r.matched,
            r.created,
            r.no_consent,
            r.do_not_contact,
            r.already_listed,
            r.other_store
        ),
        (4, 0, 1, 1, 1, 1)
    );
    // Without a specialist, 丁 goes to their consultant s02.a (who created them).
    let r = f
        .svc
        .create_call_list(&f.group_staff, &CallListInput::default())
        .await
        .expect("group list");
    assert_eq!((r.created, r.already_listed, r.no_assignee), (1, 1, 0));
    let tasks = t.db.customer_tasks(h.ding).await.expect("tasks");
    assert_eq!(tasks[0].assignee_id, Some(f.consultant_store2.staff_id));
    // Bad input: a consultant as "care specialist", a date in the past; consultants may
    // not make lists.
    for (bad, field) in [
        (
            CallListInput {
                assignee_id: Some(f.consultant_a.staff_id),
                ..Default::default()
            },
            "assignee_id",
        ),
        (
            CallListInput {
                due_on: Some("2020-01-01".into()),
                ..Default::default()
            },
            "due_on",
        ),
        (
            CallListInput {
                due_on: Some("明天".into()),
                ..Default::default()
            },
            "due_on",
        ),
    ] {
        let Err(ServiceError::Invalid(e)) = f.svc.create_call_list(&f.manager1, &bad).await else {
            panic!("{field} accepted");
        };
        assert_eq!(e[0].field, field);
    }
    assert!(matches!(
        f.svc
            .create_call_list(&f.consultant_a, &CallListInput::default())
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    // Each call list is in the audit log.
    let log =
        t.db.audit_log(Some(f.manager1.staff_id), Some("create"), None, 50)
            .await
            .expect("audit");
    assert_eq!(log.iter().filter(|e| e.entity == "call_list").count(), 2);
}
both!(call_lists_respect_consent_and_are_created_once);

// ---- from `mine all` on small fixtures ------------------------------------------------------

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// 10:00 in China on a date.
fn china_ten(s: &str) -> DateTime<Utc> {
    date(s).and_hms_opt(2, 0, 0).expect("time").and_utc()
}

async fn vehicle_of(f: &Fixture, customer: i64, serial: u32) -> i64 {
    f.svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(vin(serial)),
                model_id: Some(f.model),
                delivery_date: Some("2024-01-10".into()),
                own_sold: Some(true),
                customer_id: Some(customer),
                ..Default::default()
            },
        )
        .await
        .expect("vehicle")
        .id
}

async fn work_order(
    f: &Fixture,
    number: &str,
    vehicle: i64,
    on: &str,
    kind: &str,
    codes: &[&str],
    open: bool,
) {
    f.svc
        .create_work_order(
            &f.advisor1,
            &WorkOrderInput {
                number: Some(number.into()),
                vehicle_id: Some(vehicle),
                kind: Some(kind.into()),
                opened_on: Some(on.into()),
                settled_on: (!open).then(|| on.into()),
                odometer_km: Some(10_000),
                lines: codes
                    .iter()
                    .map(|c| WorkOrderLineInput {
                        line_kind: Some("part".into()),
                        code: Some(c.to_string()),
                        name: Some(format!("件{c}")),
                        amount_fen: Some(10_000),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
        )
        .await
        .expect("work order");
}

async fn touch(t: &TestDb, f: &Fixture, customer: i64, on: &str, purpose: &str, direction: &str) {
    t.db.create_contact(&NewContact {
        store_id: f.store1,
        customer_id: customer,
        lead_id: None,
        staff_id: None,
        channel: "phone",
        direction,
        purpose,
        occurred_at: china_ten(on),
        outcome: "reached",
        note: None,
        grade_before: None,
        grade_after: None,
        next_date: None,
    })
    .await
    .expect("contact");
}

async fn campaign_response_is_counted_by_months_since_the_last_visit(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = new_customer(&f, &f.manager1, "甲", "13811110001", None).await;
    let b = new_customer(&f, &f.manager1, "乙", "13811110002", None).await;
    let c = new_customer(&f, &f.manager1, "丙", "13811110003", None).await;
    let va = vehicle_of(&f, a, 301).await;
    let vb = vehicle_of(&f, b, 302).await;
    vehicle_of(&f, c, 303).await;
    // 甲 visits 2026-01-05 and 2026-03-20; 乙 visits 2025-06-01; 丙 never.
    work_order(&f, "A1", va, "2026-01-05", "maintenance", &["OIL"], false).await;
    work_order(&f, "A2", va, "2026-03-20", "maintenance", &["OIL"], false).await;
    work_order(&f, "B1", vb, "2025-06-01", "maintenance", &["OIL"], false).await;
    // Touches (today is 2026-11-23; a touch counts once its 30 days have passed):
    // 甲 2026-03-10: 64 days after 01-05 = 2.10 months → 2; visit on 03-20 (10 days) → responded.
    touch(t, &f, a, "2026-03-10", "campaign", "outbound").await;
    // 甲 2026-09-01: 165 days after 03-20 = 5.42 → 5; no visit since → not responded.
    touch(t, &f, a, "2026-09-01", "marketing", "outbound").await;
    // 乙 2026-02-01: 245 days after 2025-06-01 = 8.05 → 8; not responded.
    touch(t, &f, b, "2026-02-01", "win_back", "outbound").await;
    // 乙 2026-10-30: its window ends 11-29, after today: not counted yet.
    touch(t, &f, b, "2026-10-30", "campaign", "outbound").await;
    // 丙 2026-05-01: never visited, counted apart.
    touch(t, &f, c, "2026-05-01", "campaign", "outbound").await;
    // Not campaign touches: an after-sales call and an inbound call.
    touch(t, &f, a, "2026-03-10", "after_sales", "outbound").await;
    touch(t, &f, b, "2026-02-01", "campaign", "inbound").await;

    let touches =
        t.db.mining_campaign_touches(
            &["campaign", "marketing", "win_back"],
            china_ten("2024-11-23"),
            china_ten("2026-10-26"),
        )
        .await
        .expect("touches");
    assert_eq!(
        touches.customer.len(),
        4,
        "five outbound campaign touches, one too late"
    );

    let report = f.svc.mine_all(today(), |_| {}).await.expect("mine");
    assert_eq!(report.customers, 2, "甲 and 乙 have visits; 丙 none");
    let run = t.db.latest_mining_run().await.expect("run").expect("run");
    let s: serde_json::Value = serde_json::from_str(&run.summary_json).expect("json");
    let cr = &s["campaign_response"];
    assert_eq!(cr["window_days"], 30);
    assert_eq!(cr["touches"], 4);
    assert_eq!(cr["never_visited"]["contacted"], 1);
    assert_eq!(cr["never_visited"]["responded"], 0);
    // Rows from 2 months (the smallest seen) to 12: 2 → 1 of 1, 5 → 0 of 1, 8 → 0 of 1.
    let rows = cr["group"].as_array().expect("rows");
    let got: Vec<(i64, i64, i64)> = rows
        .iter()
        .filter(|r| r["contacted"].as_i64() > Some(0))
        .map(|r| {
            (
                r["months"].as_i64().unwrap_or(-1),
                r["contacted"].as_i64().unwrap_or(-1),
                r["responded"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(got, vec![(2, 1, 1), (5, 1, 0), (8, 1, 0)]);
    assert_eq!(rows.len(), 11, "months 2..=12");
    assert_eq!(rows[0]["rate"], 1.0);
    // The store's dashboard shows S01's touches; S02 made none.
    let d = f
        .svc
        .mining_dashboard(&f.manager1, None, Lang::Zh)
        .await
        .expect("dash")
        .expect("snapshot");
    assert_eq!(d.campaign_response.level, "store");
    assert_eq!(d.campaign_response.rows.len(), 11);
    let d2 = f
        .svc
        .mining_dashboard(&f.group_staff, Some(f.store2), Lang::Zh)
        .await
        .expect("dash")
        .expect("snapshot");
    assert!(d2.campaign_response.rows.is_empty());
}
both!(campaign_response_is_counted_by_months_since_the_last_visit);

async fn cross_sell_offers_come_from_the_mined_rules(t: &TestDb) {
    let f = fixture(&t.db).await;
    let fleet = new_customer(&f, &f.manager1, "车队客户", "13822220001", None).await;
    let x_owner = new_customer(&f, &f.manager1, "戊客户", "13822220002", None).await;
    // Ten work orders in the last 12 months (the baskets):
    //   4 × {OIL, FILTER}, 2 × {OIL}, 2 × {TYRE, ALIGN}, 1 × {WIPER}, and 戊's open work
    //   order {TYRE}.
    // Supports: OIL 6/10, FILTER 4/10, TYRE 3/10, ALIGN 2/10, WIPER 1/10.
    // Rules (support ≥ 1%, confidence ≥ 30%, lift ≥ 1.2):
    //   OIL → FILTER: confidence 4/6 = 0.6667, lift 0.6667/0.4 = 1.6667
    //   FILTER → OIL: 4/4 = 1, lift 1/0.6 = 1.6667
    //   TYRE → ALIGN: 2/3 = 0.6667, lift 0.6667/0.2 = 3.3333
    //   ALIGN → TYRE: 2/2 = 1, lift 1/0.3 = 3.3333
    let mut vehicles = Vec::new();
    let plan: [&[&str]; 9] = [
        &["OIL", "FILTER"],
        &["OIL", "FILTER"],
        &["OIL", "FILTER"],
        &["OIL", "FILTER"],
        &["OIL"],
        &["OIL"],
        &["TYRE", "ALIGN"],
        &["TYRE", "ALIGN"],
        &["WIPER"],
    ];
    for (k, codes) in plan.iter().enumerate() {
        let v = vehicle_of(&f, fleet, 400 + k as u32).await;
        work_order(
            &f,
            &format!("X{k}"),
            v,
            "2026-06-15",
            "maintenance",
            codes,
            false,
        )
        .await;
        vehicles.push(v);
    }
    let vx = vehicle_of(&f, x_owner, 420).await;
    work_order(&f, "OPEN-1", vx, "2026-11-20", "repair", &["TYRE"], true).await;
    // An old work order outside the 12 months is not a basket.
    work_order(
        &f,
        "OLD-1",
        vehicles[8],
        "2025-01-15",
        "maintenance",
        &["WIPER", "OIL"],
        false,
    )
    .await;
    f.svc.mine_all(today(), |_| {}).await.expect("mine");
    let rules = t.db.latest_mining_rules().await.expect("rules");
    let mut got: Vec<(String, String, i64, i64)> = rules
        .iter()
        .map(|r| {
            (
                r.antecedent.clone(),
                r.consequent.clone(),
                (r.confidence * 10_000.0).round() as i64,
                (r.lift * 10_000.0).round() as i64,
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("ALIGN".into(), "TYRE".into(), 10_000, 33_333),
            ("FILTER".into(), "OIL".into(), 10_000, 16_667),
            ("OIL".into(), "FILTER".into(), 6_667, 16_667),
            ("TYRE".into(), "ALIGN".into(), 6_667, 33_333),
        ]
    );
    // A visit with OIL on a car that never had a filter: offer FILTER.
    let x = f
        .svc
        .cross_sell(&f.manager1, vehicles[4], Some(vec!["OIL".into()]))
        .await
        .expect("cross-sell");
    assert_eq!(x.basket_source, "given");
    let offers: Vec<(&str, &str, i64)> = x
        .offers
        .iter()
        .map(|o| {
            (
                o.code.as_str(),
                o.name.as_str(),
                (o.confidence * 10_000.0).round() as i64,
            )
        })
        .collect();
    assert_eq!(offers, vec![("FILTER", "件FILTER", 6_667)]);
    assert!((x.offers[0].support - 0.4).abs() < 1e-9);
    // The same visit on a car that had a filter in June: nothing to offer.
    let x = f
        .svc
        .cross_sell(&f.manager1, vehicles[0], Some(vec!["OIL".into()]))
        .await
        .expect("cross-sell");
    assert!(x.offers.is_empty(), "{x:?}");
    // Without lines: 戊's open work order {TYRE} → ALIGN.
    let x = f
        .svc
        .cross_sell(&f.manager1, vx, None)
        .await
        .expect("cross-sell");
    assert_eq!(
        (x.basket_source.as_str(), x.basket.clone()),
        ("open_work_order", vec!["TYRE".to_string()])
    );
    assert_eq!(x.offers.len(), 1);
    assert_eq!(x.offers[0].code, "ALIGN");
    assert!((x.offers[0].lift - 10.0 / 3.0).abs() < 1e-9);
    // The 360 document carries the same offer for 戊's car; out of scope: not found.
    let d = f
        .svc
        .customer_360(&f.manager1, x_owner, Lang::Zh)
        .await
        .expect("360");
    assert_eq!(d.cross_sell.len(), 1);
    assert_eq!(d.cross_sell[0].offers[0].code, "ALIGN");
    assert!(matches!(
        f.svc.cross_sell(&f.consultant_store2, vx, None).await,
        Err(ServiceError::NotFound { .. })
    ));
}
both!(cross_sell_offers_come_from_the_mined_rules);

async fn only_customers_with_a_service_visit_are_scored(t: &TestDb) {
    let f = fixture(&t.db).await;
    let visited = new_customer(&f, &f.manager1, "回厂客户", "13833330011", None).await;
    let pdi_only = new_customer(&f, &f.manager1, "新车客户", "13833330012", None).await;
    let none = new_customer(&f, &f.manager1, "潜在客户", "13833330013", None).await;
    let v1 = vehicle_of(&f, visited, 501).await;
    let v2 = vehicle_of(&f, pdi_only, 502).await;
    work_order(&f, "V-1", v1, "2026-05-05", "maintenance", &["OIL"], false).await;
    // A PDI is done by the dealer before delivery: not a visit by the owner.
    work_order(&f, "P-1", v2, "2024-01-08", "pdi", &["L-PDI"], false).await;
    let report = f.svc.mine_all(today(), |_| {}).await.expect("mine");
    assert_eq!((report.customers, report.visits), (1, 1));
    let scope = f.group_staff.scope();
    assert!(
        t.db.customer_score(&scope, visited)
            .await
            .expect("score")
            .is_some()
    );
    for c in [pdi_only, none] {
        assert!(
            t.db.customer_score(&scope, c)
                .await
                .expect("score")
                .is_none()
        );
        assert!(
            f.svc
                .customer_score_view(&f.manager1, c, Lang::Zh)
                .await
                .expect("view")
                .is_none()
        );
    }
    // The score view speaks words.
    let v = f
        .svc
        .customer_score_view(&f.manager1, visited, Lang::En)
        .await
        .expect("view")
        .expect("scored");
    assert_eq!(v.as_of, today());
    assert_eq!(v.score.frequency, 1);
    assert!(!v.segment_label.is_empty() && !v.tier_label.is_empty());
}
both!(only_customers_with_a_service_visit_are_scored);

async fn a_run_under_way_is_not_replaced(t: &TestDb) {
    let f = fixture(&t.db).await;
    let now = f.svc.clock.now();
    let RunStart::Started(_) = t.db.start_mining_run(today(), now).await.expect("start") else {
        panic!("started");
    };
    // A second start while the first is young: told it is running; the day is not done.
    assert_eq!(
        t.db.start_mining_run(today(), now).await.expect("again"),
        RunStart::Running
    );
    let r = f.svc.mine_all(today(), |_| {}).await.expect("mine");
    assert!(r.skipped && r.in_progress, "{r:?}");
    assert_eq!(
        t.db.mining_run_in_progress(now).await.expect("q"),
        Some(today())
    );
    // Half an hour later it counts as interrupted and is replaced.
    let later = now + chrono::Duration::minutes(31);
    let RunStart::Started(_) =
        t.db.start_mining_run(today(), later)
            .await
            .expect("replace")
    else {
        panic!("replaced");
    };
}
both!(a_run_under_way_is_not_replaced);
