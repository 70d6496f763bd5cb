//! Marketing segments on SQLite and PostgreSQL: a hand-built group of five customers where
//! every field family, operator and and/or/not gives a count worked out by hand below;
//! scope; saved, frozen and unfrozen segments; validation errors; the API.
//!
//! Today is 2026-11-23. Store S01 (seen by its manager):
//! - 甲: individual, male, born 1980-05-01 (46), city 330100, VIP, consultant s01.a,
//!   marketing SMS consent. Car 1 (速腾 200TSI, 一汽-大众) bought 2019-06-01 (7 years),
//!   sold here. Work orders 2025-08-01 (500 yuan) and 2026-09-10 (1,200 yuan): last visit
//!   74 days / 2 whole months ago. Compulsory policy ending 2026-12-20 (in 27 days).
//!   Scores: champions, platinum, CLV 8,000, churn 10%.
//! - 乙: company, no gender or birthday, city 310100, marketing email consent. Car 2 bought
//!   2024-03-01 (2 years), not sold here. Work order 2025-01-10 (300 yuan): 22 months ago.
//!   Commercial policy ending 2027-03-01. Scores: at risk, gold, CLV 12,000, churn 80%.
//! - 丙: individual, female, born 1995-11-24 (30 today, 31 tomorrow), consultant s01.a; an
//!   H lead (walk-in) registered on 2026-11-10: 13 days without contact.
//! - 丁: individual, consultant s01.a; an A lead (phone-in) registered today.
//!
//! Store S02: 戊 with car 3 (same model) bought 2022-01-15 and a work order 2026-10-01
//! (800 yuan); scores champions, silver, churn 30%.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, today, vin};
use chrono::NaiveDate;
use dealerbase_domain::segment::Definition;
use dealerbase_domain::{FixedClock, Lang};
use dealerbase_service::input::{
    CustomerInput, LeadInput, VehicleInput, WorkOrderInput, WorkOrderLineInput,
};
use dealerbase_service::marketing::{CampaignInput, SegmentInput};
use dealerbase_service::{Actor, ServiceError, Services};
use dealerbase_store::mining::{CustomerScore, RunStart};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) struct World {
    pub jia: i64,
    pub yi: i64,
    pub bing: i64,
    pub ding: i64,
    pub wu: i64,
    /// 乙's car.
    pub v2: i64,
}

async fn customer(f: &Fixture, by: &Actor, input: CustomerInput) -> i64 {
    f.svc
        .create_customer(by, &input)
        .await
        .expect("customer")
        .customer
        .id
}

async fn car(
    f: &Fixture,
    by: &Actor,
    owner: i64,
    serial: u32,
    bought: &str,
    own_sold: bool,
) -> i64 {
    f.svc
        .create_vehicle(
            by,
            &VehicleInput {
                vin: Some(vin(serial)),
                plate: Some(format!("浙A1234{serial}")),
                model_id: Some(f.model),
                purchase_date: Some(bought.into()),
                own_sold: Some(own_sold),
                customer_id: Some(owner),
                ..Default::default()
            },
        )
        .await
        .expect("vehicle")
        .id
}

async fn visit(f: &Fixture, by: &Actor, vehicle: i64, number: &str, on: &str, yuan: i64) {
    f.svc
        .create_work_order(
            by,
            &WorkOrderInput {
                number: Some(number.into()),
                vehicle_id: Some(vehicle),
                kind: Some("maintenance".into()),
                opened_on: Some(on.into()),
                settled_on: Some(on.into()),
                odometer_km: Some(10_000),
                lines: vec![WorkOrderLineInput {
                    line_kind: Some("labour".into()),
                    code: Some("M1".into()),
                    name: Some("保养".into()),
                    amount_fen: Some(yuan * 100),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .expect("work order");
}

fn score(
    run: i64,
    customer: i64,
    store: i64,
    segment: &str,
    tier: &str,
    clv_yuan: i64,
    churn: f64,
) -> CustomerScore {
    CustomerScore {
        run_id: run,
        customer_id: customer,
        store_id: store,
        consultant_id: None,
        recency_days: 100,
        frequency: 2,
        monetary_fen: 100_000,
        r: 3,
        f: 3,
        m: 3,
        segment: segment.into(),
        tier: tier.into(),
        p_alive: Some(0.5),
        expected_visits: Some(1.0),
        clv_fen: Some(clv_yuan * 100),
        churn_risk: churn,
        churn_reasons: String::new(),
        trade_in: 0.1,
        trade_in_reasons: String::new(),
        // k-means cluster: the champions in 1, everyone else in 2.
        cluster: Some(if segment == "champions" { 1 } else { 2 }),
    }
}

pub(crate) async fn world(t: &TestDb, f: &Fixture) -> World {
    let m = &f.manager1;
    let a = f.consultant_a.staff_id;
    let jia = customer(
        f,
        m,
        CustomerInput {
            name: Some("甲客户".into()),
            mobile: Some("13800000001".into()),
            gender: Some("male".into()),
            birthday: Some("1980-05-01".into()),
            city_code: Some("330100".into()),
            vip: Some(true),
            consultant_id: Some(a),
            ..Default::default()
        },
    )
    .await;
    let yi = customer(
        f,
        m,
        CustomerInput {
            kind: Some("company".into()),
            name: Some("乙公司".into()),
            mobile: Some("13800000002".into()),
            city_code: Some("310100".into()),
            ..Default::default()
        },
    )
    .await;
    let bing = customer(
        f,
        m,
        CustomerInput {
            name: Some("丙客户".into()),
            mobile: Some("13800000003".into()),
            gender: Some("female".into()),
            birthday: Some("1995-11-24".into()),
            consultant_id: Some(a),
            ..Default::default()
        },
    )
    .await;
    let ding = customer(
        f,
        m,
        CustomerInput {
            name: Some("丁客户".into()),
            mobile: Some("13800000004".into()),
            consultant_id: Some(a),
            ..Default::default()
        },
    )
    .await;
    let wu = customer(
        f,
        &f.consultant_store2,
        CustomerInput {
            name: Some("戊客户".into()),
            mobile: Some("13800000005".into()),
            ..Default::default()
        },
    )
    .await;
    let now = f.svc.clock.now();
    t.db.record_consent(jia, "marketing", "sms", "2026-01", None, now)
        .await
        .expect("consent");
    t.db.record_consent(yi, "marketing", "email", "2026-01", None, now)
        .await
        .expect("consent");
    let v1 = car(f, m, jia, 1, "2019-06-01", true).await;
    let v2 = car(f, m, yi, 2, "2024-03-01", false).await;
    let v3 = car(f, &f.admin, wu, 3, "2022-01-15", true).await;
    visit(f, &f.advisor1, v1, "W1", "2025-08-01", 500).await;
    visit(f, &f.advisor1, v1, "W2", "2026-09-10", 1200).await;
    visit(f, &f.advisor1, v2, "W3", "2025-01-10", 300).await;
    visit(f, &f.admin, v3, "W4", "2026-10-01", 800).await;
    let (s1, s2) = (f.store1, f.store2);
    t.db.execute_admin(&format!(
        "INSERT INTO insurance_policy (store_id, vehicle_id, customer_id, kind, insurer, policy_no, start_date, end_date, premium_fen) VALUES \
         ({s1}, {v1}, {jia}, 'compulsory', '人保', 'P1', '2025-12-21', '2026-12-20', 95000), \
         ({s1}, {v2}, {yi}, 'commercial', '平安', 'P2', '2026-03-02', '2027-03-01', 300000)"
    ))
    .await
    .expect("policies");
    // 丙's lead was registered 13 days ago (its first contact then); 丁's today.
    let earlier = Services::new(
        t.db.clone(),
        Arc::new(FixedClock::on(
            NaiveDate::from_ymd_opt(2026, 11, 10).expect("ok"),
        )),
    );
    earlier
        .register_lead(
            &f.consultant_a,
            &LeadInput {
                customer_id: Some(bing),
                grade: Some("H".into()),
                source: Some("walk_in".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    f.svc
        .register_lead(
            &f.consultant_a,
            &LeadInput {
                customer_id: Some(ding),
                grade: Some("A".into()),
                source: Some("phone_in".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    let RunStart::Started(run) = t.db.start_mining_run(today(), now).await.expect("run") else {
        panic!("a new run");
    };
    t.db.write_customer_scores(&[
        score(run, jia, s1, "champions", "platinum", 8_000, 0.10),
        score(run, yi, s1, "at_risk", "gold", 12_000, 0.80),
        score(run, wu, s2, "champions", "silver", 3_000, 0.30),
    ])
    .await
    .expect("scores");
    t.db.finish_mining_run(run, now, 3, 4, "{}")
        .await
        .expect("finish");
    World {
        jia,
        yi,
        bing,
        ding,
        wu,
        v2,
    }
}

fn def(v: Value) -> Definition {
    serde_json::from_value(json!({ "conditions": v })).expect("definition")
}

async fn count(f: &Fixture, who: &Actor, conditions: Value) -> i64 {
    f.svc
        .evaluate_segment(who, &def(conditions.clone()), 0, Lang::Zh)
        .await
        .unwrap_or_else(|e| panic!("{conditions}: {e}"))
        .count
}

async fn ids(f: &Fixture, who: &Actor, conditions: Value) -> Vec<i64> {
    let mut v: Vec<i64> = f
        .svc
        .evaluate_segment(who, &def(conditions), 50, Lang::Zh)
        .await
        .expect("evaluate")
        .sample
        .iter()
        .map(|m| m.id)
        .collect();
    v.sort();
    v
}

fn l(field: &str, op: &str, value: Value) -> Value {
    if value.is_null() {
        json!({"field": field, "op": op})
    } else {
        json!({"field": field, "op": op, "value": value})
    }
}

async fn customer_fields_count_by_hand(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let m = &f.manager1;
    let n = Value::Null;
    assert_eq!(count(&f, m, json!([])).await, 4, "everyone in S01");
    assert_eq!(
        count(&f, &f.group_staff, json!([])).await,
        5,
        "the whole group"
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("customer.kind", "in", json!(["individual"]))])
        )
        .await,
        vec![w.jia, w.bing, w.ding]
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("customer.kind", "not_in", json!(["individual"]))])
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("customer.gender", "in", json!(["female"]))])
        )
        .await,
        1
    );
    // NULL gender is "not male": 乙, 丙, 丁.
    assert_eq!(
        count(
            &f,
            m,
            json!([l("customer.gender", "not_in", json!(["男"]))])
        )
        .await,
        3
    );
    assert_eq!(
        count(&f, m, json!([l("customer.gender", "not_set", n.clone())])).await,
        2
    );
    assert_eq!(
        ids(&f, m, json!([l("customer.age", "ge", json!(40))])).await,
        vec![w.jia]
    );
    // 30 to 45: 丙 (30); 甲 is 46.
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("customer.age", "between", json!([30, 45]))])
        )
        .await,
        vec![w.bing]
    );
    assert_eq!(
        count(&f, m, json!([l("customer.age", "lt", json!(31))])).await,
        1
    );
    assert_eq!(
        count(&f, m, json!([l("customer.age", "eq", json!(31))])).await,
        0,
        "丙 is 31 tomorrow"
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("customer.city", "contains", json!("3301"))])
        )
        .await,
        vec![w.jia]
    );
    assert_eq!(
        ids(&f, m, json!([l("customer.city", "eq", json!("310100"))])).await,
        vec![w.yi]
    );
    assert_eq!(
        count(&f, m, json!([l("customer.city", "ne", json!("330100"))])).await,
        3
    );
    assert_eq!(
        count(&f, m, json!([l("customer.vip", "is_true", n.clone())])).await,
        1
    );
    assert_eq!(
        count(&f, m, json!([l("customer.vip", "is_false", n.clone())])).await,
        3
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("customer.consent_marketing_sms", "is_true", n.clone())])
        )
        .await,
        vec![w.jia]
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("customer.consent_marketing_email", "is_true", n.clone())])
        )
        .await,
        vec![w.yi]
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("customer.consent_marketing_sms", "is_false", n.clone())])
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l(
                "customer.consultant",
                "in",
                json!([f.consultant_a.staff_id])
            )])
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("customer.consultant", "not_set", n.clone())])
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &f,
            &f.group_staff,
            json!([l("customer.store", "in", json!([f.store2]))])
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("customer.created", "within_last_days", json!(0))])
        )
        .await,
        4
    );
    let _ = w.wu;
}
both!(customer_fields_count_by_hand);

async fn records_and_scores_count_by_hand(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let m = &f.manager1;
    let n = Value::Null;
    // Vehicles: brand by Chinese or English name, model by name.
    assert_eq!(
        count(&f, m, json!([l("vehicle.brand", "eq", json!("一汽-大众"))])).await,
        2
    );
    assert_eq!(
        count(&f, m, json!([l("vehicle.brand", "eq", json!("FAW-VW"))])).await,
        2
    );
    assert_eq!(
        count(
            &f,
            &f.group_staff,
            json!([l("vehicle.model", "contains", json!("200TSI"))])
        )
        .await,
        3
    );
    assert_eq!(
        ids(&f, m, json!([l("vehicle.age_years", "ge", json!(5))])).await,
        vec![w.jia]
    );
    assert_eq!(
        ids(&f, m, json!([l("vehicle.age_years", "lt", json!(3))])).await,
        vec![w.yi]
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("vehicle.purchase_date", "before", json!("2020-01-01"))])
        )
        .await,
        vec![w.jia]
    );
    // The same car: sold here AND under 3 years holds for no car; OR holds for both owners.
    let same = [
        l("vehicle.own_sold", "is_true", n.clone()),
        l("vehicle.age_years", "lt", json!(3)),
    ];
    assert_eq!(count(&f, m, json!([{"and": same.clone()}])).await, 0);
    assert_eq!(count(&f, m, json!(same.clone())).await, 0);
    assert_eq!(count(&f, m, json!([{"or": same.clone()}])).await, 2);
    // Work orders: 甲's last visit 74 days ago, 乙's 22 months ago, 丙 and 丁 never.
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("work_order.last_visit", "within_last_days", json!(90))])
        )
        .await,
        vec![w.jia]
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("work_order.last_visit", "more_than_days_ago", json!(365))])
        )
        .await,
        vec![w.yi]
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("work_order.last_visit", "not_set", n.clone())])
        )
        .await,
        vec![w.bing, w.ding]
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("work_order.months_since_visit", "ge", json!(12))])
        )
        .await,
        vec![w.yi]
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("work_order.months_since_visit", "le", json!(2))])
        )
        .await,
        vec![w.jia]
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("work_order.months_since_visit", "eq", json!(3))])
        )
        .await,
        0
    );
    // Visits and spend in a window (12 months: after 2025-11-23; 24: after 2024-11-23).
    assert_eq!(
        count(&f, m, json!([l("work_order.visits", "ge", json!(1))])).await,
        1
    );
    assert_eq!(
        count(&f, m, json!([l("work_order.visits", "eq", json!(0))])).await,
        3,
        "乙 丙 丁"
    );
    let two_in_24 = json!([{"field": "work_order.visits", "op": "ge", "value": 2, "months": 24}]);
    assert_eq!(ids(&f, m, two_in_24).await, vec![w.jia]);
    let one_in_24 = json!([{"field": "work_order.visits", "op": "ge", "value": 1, "months": 24}]);
    assert_eq!(count(&f, m, one_in_24).await, 2);
    assert_eq!(
        ids(&f, m, json!([l("work_order.spend", "ge", json!(1000))])).await,
        vec![w.jia]
    );
    assert_eq!(
        count(&f, m, json!([l("work_order.spend", "lt", json!(100))])).await,
        3
    );
    // 24 months: 甲 500 + 1,200 = 1,700 (in 400..2,000); 乙 300 (not).
    let spend =
        json!([{"field": "work_order.spend", "op": "between", "value": [400, 2000], "months": 24}]);
    assert_eq!(ids(&f, m, spend).await, vec![w.jia]);
    // Policies: 甲's ends in 27 days; the same policy is not commercial.
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("policy.end_date", "within_next_days", json!(60))])
        )
        .await,
        vec![w.jia]
    );
    let same_policy = json!([
        l("policy.end_date", "within_next_days", json!(60)),
        l("policy.kind", "in", json!(["commercial"]))
    ]);
    assert_eq!(count(&f, m, same_policy).await, 0);
    assert_eq!(
        count(&f, m, json!([l("policy.renewed", "is_false", n.clone())])).await,
        2
    );
    // Leads: 丙 (H, 13 days without contact) and 丁 (A, contacted today).
    assert_eq!(
        ids(&f, m, json!([l("lead.grade", "in", json!(["H"]))])).await,
        vec![w.bing]
    );
    assert_eq!(
        ids(&f, m, json!([l("lead.days_since_contact", "ge", json!(7))])).await,
        vec![w.bing]
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("lead.days_since_contact", "ge", json!(14))])
        )
        .await,
        0
    );
    assert_eq!(
        count(&f, m, json!([l("lead.status", "in", json!(["open"]))])).await,
        2
    );
    let h_quiet = json!([
        l("lead.grade", "in", json!(["H", "A"])),
        l("lead.days_since_contact", "ge", json!(7))
    ]);
    assert_eq!(ids(&f, m, h_quiet).await, vec![w.bing]);
    // Mining scores of the newest snapshot.
    assert_eq!(
        ids(
            &f,
            m,
            json!([l("mining.segment", "in", json!(["at_risk"]))])
        )
        .await,
        vec![w.yi]
    );
    assert_eq!(
        ids(&f, m, json!([l("mining.clv", "ge", json!(10000))])).await,
        vec![w.yi]
    );
    assert_eq!(
        ids(&f, m, json!([l("mining.churn_risk", "ge", json!(50))])).await,
        vec![w.yi]
    );
    assert_eq!(
        ids(&f, m, json!([l("mining.churn_risk", "lt", json!(50))])).await,
        vec![w.jia]
    );
    assert_eq!(
        count(
            &f,
            m,
            json!([l("mining.tier", "in", json!(["platinum", "gold"]))])
        )
        .await,
        2
    );
    // The k-means cluster: 甲 (champions) is in 1, 乙 (at risk) in 2; 戊 of S02 is out of scope.
    assert_eq!(
        ids(&f, m, json!([l("mining.cluster", "eq", json!(1))])).await,
        vec![w.jia]
    );
    assert_eq!(
        ids(&f, m, json!([l("mining.cluster", "ge", json!(2))])).await,
        vec![w.yi]
    );
    // Lapsed owners with a high CLV: 乙.
    let lapsed = json!([
        l("work_order.months_since_visit", "ge", json!(12)),
        l("mining.clv", "ge", json!(10000))
    ]);
    assert_eq!(ids(&f, m, lapsed).await, vec![w.yi]);
    // or / not: VIP or an H lead = 甲, 丙; neither = 乙, 丁; no car of the brand = 丙, 丁.
    let vip_or_h = json!({"or": [l("customer.vip", "is_true", n.clone()), l("lead.grade", "in", json!(["H"]))]});
    assert_eq!(
        ids(&f, m, json!([vip_or_h.clone()])).await,
        vec![w.jia, w.bing]
    );
    assert_eq!(
        ids(&f, m, json!([{"not": vip_or_h}])).await,
        vec![w.yi, w.ding]
    );
    assert_eq!(
        ids(
            &f,
            m,
            json!([{"not": l("vehicle.brand", "eq", json!("一汽-大众"))}])
        )
        .await,
        vec![w.bing, w.ding]
    );
    // Group scope: visits in 12 months = 甲 and 戊.
    assert_eq!(
        ids(
            &f,
            &f.group_staff,
            json!([l("work_order.visits", "ge", json!(1))])
        )
        .await,
        vec![w.jia, w.wu]
    );
}
both!(records_and_scores_count_by_hand);

async fn samples_are_masked_and_roles_checked(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let e = f
        .svc
        .evaluate_segment(&f.manager1, &def(json!([])), 2, Lang::En)
        .await
        .expect("evaluate");
    assert_eq!(e.count, 4);
    assert_eq!(e.sample.len(), 2);
    assert_eq!(e.sample[0].id, w.jia);
    assert_eq!(e.sample[0].mobile.as_deref(), Some("138****0001"));
    let err = f
        .svc
        .evaluate_segment(&f.consultant_a, &def(json!([])), 2, Lang::En)
        .await
        .expect_err("an error");
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err:?}");
}
both!(samples_are_masked_and_roles_checked);

async fn validation_errors_name_field_value_and_rule(t: &TestDb) {
    let f = fixture(&t.db).await;
    let d = def(json!([
        l("customer.shoe_size", "eq", json!(42)),
        {"or": [l("mining.churn_risk", "ge", json!(120))]},
        l("policy.end_date", "before", json!("明年")),
    ]));
    let Err(ServiceError::Invalid(errs)) =
        f.svc.evaluate_segment(&f.manager1, &d, 0, Lang::En).await
    else {
        panic!("invalid");
    };
    let got: Vec<(&str, &str, &str)> = errs
        .iter()
        .map(|e| (e.field.as_str(), e.value.as_str(), e.code()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("conditions[0].field", "customer.shoe_size", "one_of"),
            ("conditions[1].or[0].value", "120", "out_of_range"),
            ("conditions[2].value", "明年", "date_format"),
        ]
    );
    let Err(ServiceError::Invalid(errs)) = f
        .svc
        .create_segment(
            &f.manager1,
            &SegmentInput {
                name: " ".into(),
                definition: Definition::default(),
            },
        )
        .await
    else {
        panic!("invalid");
    };
    assert_eq!(errs[0].field, "name");
}
both!(validation_errors_name_field_value_and_rule);

async fn saved_segments_freeze_and_follow_the_data(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let m = &f.manager1;
    let lapsed = def(json!([l("work_order.months_since_visit", "ge", json!(12))]));
    let s = f
        .svc
        .create_segment(
            m,
            &SegmentInput {
                name: "流失客户".into(),
                definition: lapsed.clone(),
            },
        )
        .await
        .expect("create");
    assert_eq!(s.mode, "dynamic");
    let frozen = f.svc.freeze_segment(m, s.id).await.expect("freeze");
    assert_eq!((frozen.mode.as_str(), frozen.member_count), ("frozen", 1));
    // 乙 comes back today: the dynamic definition no longer holds him, the frozen list does.
    visit(&f, &f.advisor1, w.v2, "W9", "2026-11-23", 100).await;
    assert_eq!(
        f.svc
            .evaluate_segment(m, &lapsed, 0, Lang::Zh)
            .await
            .expect("ok")
            .count,
        0
    );
    let page = f
        .svc
        .segment_members(m, s.id, 0, 10, Lang::Zh)
        .await
        .expect("members");
    assert_eq!(
        page.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![w.yi]
    );
    assert_eq!(page.next_after, None);
    assert_eq!(
        f.svc.segment_member_ids(m, s.id).await.expect("ok"),
        vec![w.yi]
    );
    // A frozen definition is not edited; unfreezing makes it dynamic (and empty now).
    let e = f
        .svc
        .update_segment(
            m,
            s.id,
            &SegmentInput {
                name: "x".into(),
                definition: def(json!([])),
            },
        )
        .await
        .expect_err("an error");
    assert!(
        matches!(e, ServiceError::Conflict { field: "mode", .. }),
        "{e:?}"
    );
    let back = f.svc.unfreeze_segment(m, s.id).await.expect("unfreeze");
    assert_eq!((back.mode.as_str(), back.member_count), ("dynamic", 0));
    assert!(
        f.svc
            .segment_member_ids(m, s.id)
            .await
            .expect("ok")
            .is_empty()
    );
    // Another store's manager-level reader cannot see it; the group can; paging works.
    let all = f
        .svc
        .create_segment(
            m,
            &SegmentInput {
                name: "全部".into(),
                definition: def(json!([])),
            },
        )
        .await
        .expect("ok");
    let p1 = f
        .svc
        .segment_members(m, all.id, 0, 3, Lang::Zh)
        .await
        .expect("ok");
    assert_eq!(p1.items.len(), 3);
    assert_eq!(p1.next_after, Some(w.bing));
    let p2 = f
        .svc
        .segment_members(m, all.id, w.bing, 3, Lang::Zh)
        .await
        .expect("ok");
    assert_eq!(
        p2.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![w.ding]
    );
    let list = f.svc.segments(&f.group_staff, 1, 20).await.expect("ok");
    assert_eq!(list.items.len(), 2);
    f.svc.delete_segment(m, all.id).await.expect("delete");
    assert!(matches!(
        f.svc.segment(m, all.id).await.expect_err("an error"),
        ServiceError::NotFound { .. }
    ));
}
both!(saved_segments_freeze_and_follow_the_data);

// ---- over HTTP: the API and the no-script builder --------------------------------------------

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

fn by_id(html: &str, id: &str) -> String {
    html.split(&format!("id=\"{id}\">"))
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_default()
        .to_string()
}

/// A browser without JavaScript: one session cookie jar, no redirects followed.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (reqwest::StatusCode, String, String) {
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
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap_or("");
            if let Some((k, v)) = c.split(';').next().unwrap_or("").split_once('=') {
                self.cookies.retain(|(n, _)| n != k);
                if !v.is_empty() && !c.contains("Max-Age=0") {
                    self.cookies.push((k.to_string(), v.to_string()));
                }
            }
        }
        (status, location, r.text().await.unwrap_or_default())
    }

    async fn sign_in(base: &str, login: &str) -> Browser {
        let mut b = Browser {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        };
        let (_, _, page) = b.send("GET", "/login", None).await;
        let csrf = csrf_of(&page);
        let (s, _, _) = b
            .send(
                "POST",
                "/login",
                Some(&[
                    ("login", login),
                    ("password", "password123"),
                    ("_csrf", &csrf),
                    ("next", "/"),
                ]),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::SEE_OTHER, "{login} signs in");
        b
    }
}

#[tokio::test]
async fn the_segment_api_evaluates_saves_freezes_and_pages() {
    let app = start().await;
    let f = &app.f;
    let w = world(&app.t, f).await;
    let http = reqwest::Client::new();
    let manager = f
        .svc
        .issue_api_token(f.manager1.staff_id, "t")
        .await
        .expect("token");
    let consultant = f
        .svc
        .issue_api_token(f.consultant_a.staff_id, "t")
        .await
        .expect("token");
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
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or_default())
    };
    let lapsed_high = json!({"conditions": [
        {"field": "work_order.months_since_visit", "op": "ge", "value": 12},
        {"field": "mining.clv", "op": "ge", "value": 10000}
    ]});
    let (s, d) = call(
        "POST",
        "/api/v1/segments/evaluate",
        &manager,
        Some(json!({"definition": lapsed_high})),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["count"], 1);
    assert_eq!(d["sample"][0]["id"], w.yi);
    assert_eq!(d["sample"][0]["mobile"], "138****0002");
    let (s, d) = call(
        "POST",
        "/api/v1/segments/evaluate",
        &manager,
        Some(json!({"definition": {"conditions": [{"field": "lead.grade", "op": "in", "value": ["Z"]}]}})),
    )
    .await;
    assert_eq!(s, 422, "{d}");
    assert_eq!(
        (d["code"].as_str(), d["field"].as_str()),
        (Some("one_of"), Some("conditions[0].value"))
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap_or("")
            .contains("must be one of"),
        "{d}"
    );
    let (s, _) = call(
        "POST",
        "/api/v1/segments/evaluate",
        &consultant,
        Some(json!({"definition": {}})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, d) = call("GET", "/api/v1/segments/fields", &manager, None).await;
    assert_eq!(s, 200);
    assert!(
        d.as_array()
            .is_some_and(|a| a.iter().any(|f| f["code"] == "policy.end_date"))
    );
    let (s, d) = call(
        "POST",
        "/api/v1/segments",
        &manager,
        Some(json!({"name": "高价值流失", "definition": lapsed_high})),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    let id = d["id"].as_i64().expect("id");
    let (s, d) = call(
        "POST",
        &format!("/api/v1/segments/{id}/freeze"),
        &manager,
        None,
    )
    .await;
    assert_eq!(
        (s, d["mode"].as_str(), d["member_count"].as_i64()),
        (200, Some("frozen"), Some(1))
    );
    let (s, d) = call(
        "GET",
        &format!("/api/v1/segments/{id}/members?limit=1"),
        &manager,
        None,
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["items"][0]["id"], w.yi);
    assert_eq!(d["next_after"], Value::Null);
    let (s, d) = call("GET", "/api/v1/segments", &manager, None).await;
    assert_eq!((s, d["items"].as_array().map(|a| a.len())), (200, Some(1)));
    let (s, _) = call("DELETE", &format!("/api/v1/segments/{id}"), &manager, None).await;
    assert_eq!(s, 204);
    let (s, _) = call("GET", &format!("/api/v1/segments/{id}"), &manager, None).await;
    assert_eq!(s, 404);
    let _ = (w.jia, w.bing, w.ding, w.wu);
}

#[tokio::test]
async fn the_builder_works_without_javascript() {
    let app = start().await;
    let f = &app.f;
    world(&app.t, f).await;
    let mut b = Browser::sign_in(&app.base, "s01.manager").await;
    let (s, _, page) = b.send("GET", "/marketing/segments/new", None).await;
    assert_eq!(s, 200);
    let csrf = csrf_of(&page);
    // Add "VIP" at the top level: the page shows the tree and counts 甲.
    let (s, _, page) = b
        .send(
            "POST",
            "/marketing/segments/new",
            Some(&[
                ("_csrf", &csrf),
                ("name", ""),
                ("definition", ""),
                ("field", "customer.vip"),
                ("op", "is_true"),
                ("value", ""),
                ("months", ""),
                ("target", ""),
                ("action", "add"),
            ]),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(by_id(&page, "segment-count"), "1");
    assert!(page.contains("138****0001"), "masked sample");
    let def = page
        .split("id=\"definition\" rows=\"10\" cols=\"60\">")
        .nth(1)
        .and_then(|r| r.split("</textarea>").next())
        .expect("definition")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"");
    // Or an H lead, in a new OR group: VIP, or (H lead) — 甲 and 丙.
    let (s, _, page) = b
        .send(
            "POST",
            "/marketing/segments/new",
            Some(&[
                ("_csrf", &csrf),
                ("name", ""),
                ("definition", &def),
                ("field", "lead.grade"),
                ("op", "in"),
                ("value", "H"),
                ("months", ""),
                ("target", "new:or"),
                ("action", "add"),
            ]),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(
        by_id(&page, "segment-count"),
        "0",
        "VIP and an H lead: nobody"
    );
    // A bad value is explained with its field.
    let (s, _, page) = b
        .send(
            "POST",
            "/marketing/segments/new",
            Some(&[
                ("_csrf", &csrf),
                ("name", ""),
                ("definition", &def),
                ("field", "customer.age"),
                ("op", "ge"),
                ("value", "很老"),
                ("months", ""),
                ("target", ""),
                ("action", "add"),
            ]),
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("conditions[1].value"), "{page}");
    // Save with a name: a redirect to the saved segment, which can be frozen.
    let (s, loc, _) = b
        .send(
            "POST",
            "/marketing/segments/new",
            Some(&[
                ("_csrf", &csrf),
                ("name", "VIP客户"),
                ("definition", &def),
                ("action", "save"),
            ]),
        )
        .await;
    assert_eq!(s, 303, "saved");
    assert!(loc.starts_with("/marketing/segments/"), "{loc}");
    let (s, _, page) = b.send("GET", &loc, None).await;
    assert_eq!(s, 200);
    assert!(page.contains("VIP客户"));
    assert_eq!(by_id(&page, "segment-count"), "1");
    let (s, _, _) = b
        .send("POST", &format!("{loc}/freeze"), Some(&[("_csrf", &csrf)]))
        .await;
    assert_eq!(s, 303);
    let (_, _, page) = b.send("GET", &loc, None).await;
    assert!(page.contains("id=\"unfreeze\""), "frozen now");
    let (_, _, list) = b.send("GET", "/marketing/segments", None).await;
    assert!(list.contains("VIP客户"));
    // Removing the only condition leaves everyone in S01.
    let (s, _, page) = b
        .send(
            "POST",
            &loc,
            Some(&[
                ("_csrf", &csrf),
                ("name", "VIP客户"),
                ("definition", &def),
                ("action", "remove:0"),
            ]),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(by_id(&page, "segment-count"), "4");
}

/// The live count the builder's script asks for while a condition is typed (action=live):
/// the evaluation section alone, counting the tree with the typed condition added where
/// it would go; a condition not valid yet is left out, saying why; nothing is saved.
#[tokio::test]
async fn the_builder_counts_the_condition_being_typed() {
    let app = start().await;
    let f = &app.f;
    world(&app.t, f).await;
    let mut b = Browser::sign_in(&app.base, "s01.manager").await;
    let (s, _, page) = b.send("GET", "/marketing/segments/new", None).await;
    assert_eq!(s, 200);
    assert!(
        page.contains("/assets/segment.js"),
        "the page loads the script"
    );
    let csrf = csrf_of(&page);
    let vip = r#"{"conditions":[{"field":"customer.vip","op":"is_true"}]}"#;
    let live =
        |field: &'static str, op: &'static str, value: &'static str, target: &'static str| {
            [
                ("_csrf", csrf.clone()),
                ("name", String::new()),
                ("definition", vip.to_string()),
                ("field", field.to_string()),
                ("op", op.to_string()),
                ("value", value.to_string()),
                ("months", String::new()),
                ("target", target.to_string()),
                ("action", "live".to_string()),
            ]
        };
    let mut ask = async |form: [(&'static str, String); 9]| {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.send("POST", "/marketing/segments/new", Some(&form)).await
    };
    // Nothing typed (no value for "≥"): the tree's own count, VIP = 甲.
    let (s, _, frag) = ask(live("customer.age", "ge", "", "")).await;
    assert_eq!(s, 200, "{frag}");
    assert!(!frag.contains("<html"), "a fragment, not a page: {frag}");
    assert_eq!(by_id(&frag, "segment-count"), "1");
    assert!(!frag.contains("live-pending"), "{frag}");
    // VIP and an H lead (typed, not added): nobody, and the answer says it counts it.
    let (s, _, frag) = ask(live("lead.grade", "in", "H", "")).await;
    assert_eq!(
        (s.as_u16(), by_id(&frag, "segment-count").as_str()),
        (200, "0"),
        "{frag}"
    );
    assert!(frag.contains("id=\"live-pending\""), "{frag}");
    // VIP, or an H lead in a new OR group: 甲 and 丙.
    let (_, _, frag) = ask(live("lead.grade", "in", "H", "new:or")).await;
    assert_eq!(by_id(&frag, "segment-count"), "0", "VIP and (H): {frag}");
    // A value that is not valid yet: the tree's count, and why the condition is left out.
    let (s, _, frag) = ask(live("customer.age", "ge", "很老", "")).await;
    assert_eq!(
        (s.as_u16(), by_id(&frag, "segment-count").as_str()),
        (200, "1"),
        "{frag}"
    );
    assert!(
        frag.contains("live-incomplete") && frag.contains("conditions[1].value"),
        "{frag}"
    );
    // JSON edited by hand into nonsense: the answer is still a fragment, naming the problem.
    let mut broken = live("customer.age", "ge", "", "");
    broken[2].1 = "{\"conditions\": [".to_string();
    let (s, _, frag) = ask(broken).await;
    assert_eq!(s.as_u16(), 200, "{frag}");
    assert!(
        !frag.contains("<html") && frag.contains("live-incomplete"),
        "{frag}"
    );
    // Nothing was saved, and the script itself is served from the binary.
    let (_, _, list) = b.send("GET", "/marketing/segments", None).await;
    assert!(!list.contains("/marketing/segments/1\""), "{list}");
    let js = reqwest::get(format!("{}/assets/segment.js", app.base))
        .await
        .expect("script");
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/javascript")
    );
    assert!(
        js.text()
            .await
            .unwrap_or_default()
            .contains("action\", \"live")
    );
}

// ---- campaigns ---------------------------------------------------------------------------------

async fn all_of_s01(f: &Fixture) -> i64 {
    f.svc
        .create_segment(
            &f.manager1,
            &SegmentInput {
                name: "S01 全部".into(),
                definition: def(json!([])),
            },
        )
        .await
        .expect("segment")
        .id
}

/// The outbox messages of a campaign (as the administrator sees the outbox).
async fn campaign_outbox(f: &Fixture, id: i64) -> Vec<dealerbase_store::messaging::OutboxRow> {
    f.svc
        .outbox(
            &f.admin,
            dealerbase_store::messaging::OutboxFilter {
                group_id: 0,
                store_id: None,
                status: None,
                channel: None,
                purpose: None,
                page: 1,
                per_page: 50,
            },
        )
        .await
        .expect("outbox")
        .items
        .into_iter()
        .filter(|o| o.campaign_id == Some(id))
        .collect()
}

fn campaign_input(kind: &str, segment: i64, pct: f64, seed: i64) -> CampaignInput {
    CampaignInput {
        name: format!("{kind} 活动"),
        kind: kind.into(),
        segment_id: Some(segment),
        scheduled_at: Some("2026-11-30 10:00".into()),
        budget_yuan: Some(1000.0),
        cost_per_contact_yuan: Some(0.5),
        control_pct: Some(pct),
        seed: Some(seed),
        sms_template: Some("{姓名}您好，{车牌}{车型}保险{到期日}到期【{门店}】回T退订".into()),
        ..Default::default()
    }
}

async fn campaigns_hold_out_a_reproducible_control_group_and_prepare_once(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let m = &f.manager1;
    let seg = all_of_s01(&f).await;
    // 4 recipients × 25% = 1 held out; the same seed holds out the same customer.
    let a = f
        .svc
        .create_campaign(m, &campaign_input("sms", seg, 25.0, 7))
        .await
        .expect("campaign");
    let b = f
        .svc
        .create_campaign(m, &campaign_input("sms", seg, 25.0, 7))
        .await
        .expect("campaign");
    let ra = f
        .svc
        .prepare_campaign(m, a.campaign.id)
        .await
        .expect("prepare");
    assert_eq!(
        (ra.recipients, ra.held_out, ra.tasks, ra.already_prepared),
        (4, 1, 0, false)
    );
    f.svc
        .prepare_campaign(m, b.campaign.id)
        .await
        .expect("prepare");
    let held = async |id| -> Vec<i64> {
        f.svc
            .campaign_recipients(m, id, 0, 100, Lang::Zh)
            .await
            .expect("recipients")
            .items
            .iter()
            .filter(|r| r.row.control)
            .map(|r| r.row.customer_id)
            .collect()
    };
    let (ha, hb) = (held(a.campaign.id).await, held(b.campaign.id).await);
    assert_eq!(ha.len(), 1);
    assert_eq!(ha, hb, "same seed, same control group");
    // Preparing again stores nothing twice.
    let again = f
        .svc
        .prepare_campaign(m, a.campaign.id)
        .await
        .expect("again");
    assert_eq!(
        (again.recipients, again.held_out, again.already_prepared),
        (4, 1, true)
    );
    let v = f
        .svc
        .campaign(m, a.campaign.id, Lang::Zh)
        .await
        .expect("view");
    assert_eq!(v.by_status.iter().map(|s| s.recipients).sum::<i64>(), 4);
    // 3 contacted × 0.50 yuan = 1.50 yuan.
    assert_eq!(v.planned_cost_fen, 150);
    // Messages are rendered per recipient and kept for the outbox; nothing is sent.
    let rows = f
        .svc
        .campaign_recipients(m, a.campaign.id, 0, 100, Lang::Zh)
        .await
        .expect("ok")
        .items;
    let jia = rows
        .iter()
        .find(|r| r.row.customer_id == w.jia)
        .expect("甲");
    assert_eq!(
        jia.row.rendered,
        "甲客户您好，浙A12341速腾 200TSI保险2026-12-20到期【杭州一汽-大众4S店】回T退订"
    );
    assert_eq!(jia.row.mobile.as_deref(), Some("138****0001"));
    let bing = rows
        .iter()
        .find(|r| r.row.customer_id == w.bing)
        .expect("丙");
    assert_eq!(
        bing.row.rendered,
        "丙客户您好，保险到期【杭州一汽-大众4S店】回T退订"
    );
    for r in &rows {
        assert_eq!(
            r.row.status,
            if r.row.control {
                "held_out"
            } else {
                "prepared"
            }
        );
    }
}
both!(campaigns_hold_out_a_reproducible_control_group_and_prepare_once);

async fn previews_phone_tasks_and_invitations(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let m = &f.manager1;
    let seg = all_of_s01(&f).await;
    let sms = f
        .svc
        .create_campaign(m, &campaign_input("sms", seg, 0.0, 1))
        .await
        .expect("sms");
    let p = f
        .svc
        .preview_campaign(m, sms.campaign.id, 2)
        .await
        .expect("preview");
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].customer_id, w.yi);
    assert_eq!(
        p[1].text,
        "乙公司您好，浙A12342速腾 200TSI保险2027-03-01到期【杭州一汽-大众4S店】回T退订"
    );
    // Phone: 甲 (SMS consent) and 乙 (email consent) have marketing consent; 丙, 丁 none.
    let phone = f
        .svc
        .create_campaign(m, &campaign_input("phone", seg, 0.0, 1))
        .await
        .expect("phone");
    let r = f
        .svc
        .prepare_campaign(m, phone.campaign.id)
        .await
        .expect("prepare");
    assert_eq!((r.recipients, r.tasks, r.no_consent), (4, 2, 2));
    f.svc
        .prepare_campaign(m, phone.campaign.id)
        .await
        .expect("again");
    let rows = f
        .svc
        .campaign_recipients(m, phone.campaign.id, 0, 100, Lang::Zh)
        .await
        .expect("ok")
        .items;
    let tasks: Vec<Option<i64>> = rows.iter().map(|r| r.row.task_id).collect();
    assert_eq!(
        tasks.iter().filter(|x| x.is_some()).count(),
        2,
        "one task each, not two"
    );
    // 甲's call is on his consultant's list, due on the scheduled day.
    let a_tasks = f.svc.today(&f.consultant_a).await.expect("today");
    assert!(
        a_tasks.iter().all(|t| t.kind != "campaign"),
        "due on 2026-11-30, not today"
    );
    // An event: invite → accept → attend; a recipient without consent is not invited.
    let mut ev = campaign_input("event", seg, 0.0, 1);
    ev.sms_template = None;
    let ev = f.svc.create_campaign(m, &ev).await.expect("event");
    f.svc
        .prepare_campaign(m, ev.campaign.id)
        .await
        .expect("prepare");
    let id = ev.campaign.id;
    // The segment is in use: it cannot be deleted under the campaigns.
    assert!(matches!(
        f.svc.delete_segment(m, seg).await,
        Err(ServiceError::Conflict {
            field: "campaign",
            ..
        })
    ));
    assert_eq!(
        f.svc
            .record_invitation(m, id, w.jia, "invite")
            .await
            .expect("ok"),
        "invited"
    );
    assert_eq!(
        f.svc
            .record_invitation(m, id, w.jia, "accept")
            .await
            .expect("ok"),
        "accepted"
    );
    assert_eq!(
        f.svc
            .record_invitation(m, id, w.jia, "attend")
            .await
            .expect("ok"),
        "attended"
    );
    let Err(ServiceError::Invalid(e)) = f.svc.record_invitation(m, id, w.bing, "invite").await
    else {
        panic!("丙 has no consent");
    };
    assert_eq!(
        (e[0].field.as_str(), e[0].value.as_str()),
        ("step", "invite")
    );
    let Err(ServiceError::Invalid(e)) = f
        .svc
        .record_invitation(m, sms.campaign.id, w.jia, "invite")
        .await
    else {
        panic!("an SMS campaign has no invitations");
    };
    assert_eq!(e[0].field, "kind");
    // Store 2's customer is out of the manager's scope.
    assert!(
        f.svc
            .record_invitation(m, id, w.wu, "invite")
            .await
            .is_err()
    );
}
both!(previews_phone_tasks_and_invitations);

async fn campaign_input_is_checked_field_by_field(t: &TestDb) {
    let f = fixture(&t.db).await;
    let seg = all_of_s01(&f).await;
    let mut bad = campaign_input("fax", seg, 60.0, 1);
    bad.sms_template = Some("{生日}快乐".into());
    bad.scheduled_at = Some("下周".into());
    let Err(ServiceError::Invalid(e)) = f.svc.create_campaign(&f.manager1, &bad).await else {
        panic!("invalid");
    };
    let got: Vec<(&str, &str, &str)> = e
        .iter()
        .map(|e| (e.field.as_str(), e.value.as_str(), e.code()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("kind", "fax", "one_of"),
            ("scheduled_at", "下周", "date_format"),
            ("control_pct", "60", "out_of_range"),
            ("sms_template", "{生日}", "one_of"),
        ]
    );
    let mut email = campaign_input("email", seg, 0.0, 1);
    email.email_subject = Some("{姓名}，保养提醒".into());
    let Err(ServiceError::Invalid(e)) = f.svc.create_campaign(&f.manager1, &email).await else {
        panic!("invalid");
    };
    assert_eq!(e[0].field, "email_body");
    assert!(matches!(
        f.svc
            .create_campaign(&f.consultant_a, &campaign_input("sms", seg, 0.0, 1))
            .await,
        Err(ServiceError::Forbidden(_))
    ));
}
both!(campaign_input_is_checked_field_by_field);

#[tokio::test]
async fn campaign_pages_create_preview_prepare_and_track_rsvps() {
    let app = start().await;
    let f = &app.f;
    let w = world(&app.t, f).await;
    let seg = all_of_s01(f).await;
    let mut b = Browser::sign_in(&app.base, "s01.manager").await;
    let (s, _, page) = b.send("GET", "/marketing/campaigns", None).await;
    assert_eq!(s, 200);
    let csrf = csrf_of(&page);
    let seg_s = seg.to_string();
    // A template with an unknown field is refused with the field named.
    let form = |tpl: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("name", "车主试驾日".to_string()),
            ("kind", "event".to_string()),
            ("segment", seg_s.clone()),
            ("scheduled_at", "2026-11-30T10:00".to_string()),
            ("budget", "2000".to_string()),
            ("cost", "1.5".to_string()),
            ("control_pct", "0".to_string()),
            ("sms_template", tpl.to_string()),
        ]
    };
    let bad = form("{生日}");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, page) = b.send("POST", "/marketing/campaigns", Some(&bad)).await;
    assert_eq!(s, 422);
    assert!(page.contains("sms_template"), "{page}");
    // A response window that is not a whole number of days is refused, naming the field.
    let mut bad = form("{姓名}您好");
    bad.push(("window", "1.5".to_string()));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, page) = b.send("POST", "/marketing/campaigns", Some(&bad)).await;
    assert_eq!(s, 422);
    assert!(page.contains("response_window_days"), "{page}");
    let good = form("{姓名}您好，邀您{门店}试驾新车");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, loc, _) = b.send("POST", "/marketing/campaigns", Some(&good)).await;
    assert_eq!(s, 303);
    let (_, _, page) = b.send("GET", &loc, None).await;
    assert!(
        page.contains("甲客户您好，邀您杭州一汽-大众4S店试驾新车"),
        "preview: {page}"
    );
    let (s, _, page) = b
        .send("POST", &format!("{loc}/prepare"), Some(&[("_csrf", &csrf)]))
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("id=\"prepare-report\""));
    let jia = w.jia.to_string();
    let (s, _, _) = b
        .send(
            "POST",
            &format!("{loc}/invitation"),
            Some(&[("_csrf", &csrf), ("customer", &jia), ("step", "invite")]),
        )
        .await;
    assert_eq!(s, 303);
    // Attending straight from "prepared" is not a step that follows.
    let bing = w.bing.to_string();
    let (s, _, page) = b
        .send(
            "POST",
            &format!("{loc}/invitation"),
            Some(&[("_csrf", &csrf), ("customer", &bing), ("step", "attend")]),
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("step"), "{page}");
    let (_, _, page) = b.send("GET", &loc, None).await;
    assert!(page.contains("已邀约"), "甲 is invited");
}

/// Sending a prepared SMS campaign hands every recipient outside the control group to the
/// outbox: the one who consents is queued, the one whose number replied T (suppression
/// list) and the one who withdrew consent are skipped with that reason; sending again adds
/// nothing.
async fn sending_a_campaign_goes_through_the_outbox_rules(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let m = &f.manager1;
    let seg = all_of_s01(&f).await;
    let id = f
        .svc
        .create_campaign(m, &campaign_input("sms", seg, 25.0, 7))
        .await
        .expect("campaign")
        .campaign
        .id;
    match f.svc.send_campaign(m, id).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e[0].field, "status"),
        other => panic!("a draft is not sent: {other:?}"),
    }
    f.svc.prepare_campaign(m, id).await.expect("prepare");
    let recipients = async || {
        f.svc
            .campaign_recipients(m, id, 0, 100, Lang::Zh)
            .await
            .expect("recipients")
            .items
    };
    let held: Vec<i64> = recipients()
        .await
        .iter()
        .filter(|r| r.row.control)
        .map(|r| r.row.customer_id)
        .collect();
    let mobiles = [
        (w.jia, "13800000001"),
        (w.yi, "13800000002"),
        (w.bing, "13800000003"),
        (w.ding, "13800000004"),
    ];
    let contacted: Vec<(i64, &str)> = mobiles
        .iter()
        .filter(|(c, _)| !held.contains(c))
        .copied()
        .collect();
    assert_eq!((held.len(), contacted.len()), (1, 3));
    let t0 = f.svc.clock.now() - chrono::Duration::days(30);
    for (c, _) in &mobiles {
        t.db.record_consent(*c, "marketing", "sms", "v1", None, t0)
            .await
            .expect("consent");
    }
    f.svc
        .add_suppression(&f.admin, contacted[1].1, "回复T退订")
        .await
        .expect("suppress");
    t.db.withdraw_consent(
        contacted[2].0,
        "marketing",
        "sms",
        t0 + chrono::Duration::days(1),
    )
    .await
    .expect("withdraw");

    let r = f.svc.send_campaign(m, id).await.expect("send");
    assert_eq!((r.queued, r.skipped), (1, 2));
    let mut reasons = r.skipped_by_reason.clone();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![("no_consent".to_string(), 1), ("suppressed".to_string(), 1)]
    );
    let rows = recipients().await;
    let status = |c: i64| {
        rows.iter()
            .find(|r| r.row.customer_id == c)
            .map(|r| r.row.status.clone())
            .expect("recipient")
    };
    assert_eq!(status(contacted[0].0), "queued");
    assert_eq!(status(contacted[1].0), "suppressed");
    assert_eq!(status(contacted[2].0), "no_consent");
    assert_eq!(status(held[0]), "held_out");
    let v = f.svc.campaign(m, id, Lang::Zh).await.expect("view");
    assert_eq!(v.campaign.status, "sent");
    // Sending again (or after a crash) adds nothing.
    let again = f.svc.send_campaign(m, id).await.expect("again");
    assert_eq!((again.queued, again.skipped), (0, 0));
    // The outbox: one queued message to the consenting number, with the campaign's text
    // (signature and opt-out included), and the two skipped ones with their reasons.
    let ours = campaign_outbox(&f, id).await;
    assert_eq!(ours.len(), 3);
    let queued: Vec<_> = ours.iter().filter(|o| o.status == "queued").collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].customer_id, Some(contacted[0].0));
    assert!(queued[0].body.contains("回T退订"), "{}", queued[0].body);
}
both!(sending_a_campaign_goes_through_the_outbox_rules);

/// Response and return of an SMS + e-mail campaign, worked by hand.
///
/// Recipients: everyone in S01 — 甲, 乙, 丙, 丁 — with 丁 in the control group (set on the
/// prepared recipients so that the figures are fixed). Sent with the schedule 2026-11-30
/// 10:00: the 30-day window is 11-30 … 12-29. The outbox's outcome: 甲's SMS sent and
/// e-mail delivered, 乙's SMS sent (e-mail failed), 丙's both failed.
/// Records: 甲 visits the showroom 12-01 and orders a car for ¥100,000 on 12-20 (responds;
/// first response a visit); 乙 has work orders on 11-29 (the day before: not a response,
/// but his last visit) and 12-30 (the day after) and a cancelled order on 12-10 — no
/// response; 丙 test-drives on 12-02 (responds without being reached); 丁 (control) has a
/// settled ¥300 work order on 12-05.
/// → target 3, responders 2 (甲, 丙), revenue ¥100,000; reached 2 (甲, 乙), 1 responder;
///   control 1 of 1 with ¥300. Uplift 2/3 − 1 = −1/3. Incremental revenue
///   (100,000/3 − 300) × 3 = ¥99,100. Contacts 3 (甲 ×2, 乙) × ¥0.50 = ¥1.50; return on
///   spend 9,910,000 / 150 fen. SMS: 甲, 乙 → 1 of 2, uplift −0.5, cost ¥1.00; e-mail: 甲 →
///   1 of 1, uplift 0, cost ¥0.50. Months since the last visit on 11-30: 甲 2 (09-10),
///   乙 0 (11-29), 丙 and 丁 none.
async fn campaign_results_by_hand(t: &TestDb) {
    let f = fixture(&t.db).await;
    let w = world(t, &f).await;
    let m = &f.manager1;
    let (s1, model) = (f.store1, f.model);
    let (jia, yi, bing, ding) = (w.jia, w.yi, w.bing, w.ding);
    let seg = all_of_s01(&f).await;
    let mut input = campaign_input("sms_email", seg, 25.0, 7);
    input.email_subject = Some("{姓名}，保养提醒".into());
    input.email_body = Some("{姓名}您好，{车牌}该保养了。".into());
    let id = f
        .svc
        .create_campaign(m, &input)
        .await
        .expect("campaign")
        .campaign
        .id;
    assert!(
        f.svc
            .campaign_results(m, id)
            .await
            .expect("draft")
            .is_none(),
        "no results before it goes out"
    );
    let v4 = car(&f, m, bing, 4, "2023-01-01", true).await;
    let v5 = car(&f, m, ding, 5, "2023-02-01", true).await;
    f.svc.prepare_campaign(m, id).await.expect("prepare");
    t.db.execute_admin(&format!(
        "UPDATE marketing_recipient SET control = (customer_id = {ding}), \
           status = CASE WHEN customer_id = {ding} THEN 'held_out' ELSE 'prepared' END WHERE campaign_id = {id}; \
         UPDATE customer SET email = 'c' || CAST(id AS TEXT) || '@example.com' WHERE id IN ({jia}, {yi}, {bing}, {ding})"
    ))
    .await
    .expect("fixture");
    let t0 = f.svc.clock.now() - chrono::Duration::days(30);
    for c in [jia, yi, bing] {
        for ch in ["sms", "email"] {
            t.db.record_consent(c, "marketing", ch, "v1", None, t0)
                .await
                .expect("consent");
        }
    }
    assert!(
        f.svc
            .campaign_results(m, id)
            .await
            .expect("prepared")
            .is_none(),
        "an SMS campaign starts when sent"
    );
    let sent = f.svc.send_campaign(m, id).await.expect("send");
    assert_eq!((sent.queued, sent.skipped), (3, 0));
    // Two messages per recipient outside the control group.
    let ours = campaign_outbox(&f, id).await;
    assert_eq!(ours.len(), 6);
    let email_to_jia = ours
        .iter()
        .find(|o| o.idempotency_key == format!("campaign:{id}:{jia}:email"))
        .expect("甲's e-mail");
    assert_eq!(email_to_jia.subject.as_deref(), Some("甲客户，保养提醒"));
    assert!(
        email_to_jia
            .body
            .starts_with("甲客户您好，浙A12341该保养了。"),
        "{}",
        email_to_jia.body
    );
    assert!(
        ours.iter()
            .any(|o| o.idempotency_key == format!("campaign:{id}:{jia}:sms")
                && o.body.contains("回T退订"))
    );
    t.db.execute_admin(&format!(
        "UPDATE message_outbox SET status = CASE \
           WHEN idempotency_key IN ('campaign:{id}:{jia}:sms', 'campaign:{id}:{yi}:sms') THEN 'sent' \
           WHEN idempotency_key = 'campaign:{id}:{jia}:email' THEN 'delivered' ELSE 'failed' END \
         WHERE campaign_id = {id}; \
         INSERT INTO showroom_visit (store_id, channel, arrived_at, first_visit, source, customer_id) \
           VALUES ({s1}, 'walk_in', '2026-12-01T02:00:00+00:00', FALSE, 'walk_in', {jia}); \
         INSERT INTO sales_order (store_id, customer_id, model_id, kind, status, ordered_on, price_fen) VALUES \
           ({s1}, {jia}, {model}, 'new', 'open', '2026-12-20', 10000000), \
           ({s1}, {yi}, {model}, 'additional', 'cancelled', '2026-12-10', 9000000); \
         INSERT INTO work_order (store_id, number, vehicle_id, customer_id, kind, status, opened_on, settled_on, total_fen, paid_by) VALUES \
           ({s1}, 'R1', {v5}, {ding}, 'maintenance', 'settled', '2026-12-05', '2026-12-05', 30000, 'customer'), \
           ({s1}, 'R2', {v2}, {yi}, 'maintenance', 'settled', '2026-11-29', '2026-11-29', 50000, 'customer'), \
           ({s1}, 'R3', {v2}, {yi}, 'maintenance', 'settled', '2026-12-30', '2026-12-30', 80000, 'customer'); \
         INSERT INTO test_drive (lead_id, model_id, booked_at, done_at, status, store_id) \
           SELECT id, {model}, '2026-12-02T06:00:00+00:00', '2026-12-02T06:00:00+00:00', 'done', {s1} FROM lead WHERE customer_id = {bing}",
        v2 = w.v2
    ))
    .await
    .expect("records");
    let _ = v4;

    // Mid-window: the figures so far, marked as not final.
    let mid = Services::new(
        t.db.clone(),
        Arc::new(FixedClock::on(
            NaiveDate::from_ymd_opt(2026, 12, 15).expect("ok"),
        )),
    );
    let r = mid
        .campaign_results(m, id)
        .await
        .expect("results")
        .expect("gone out")
        .results;
    assert!(!r.complete);
    // After the window.
    let later = Services::new(
        t.db.clone(),
        Arc::new(FixedClock::on(
            NaiveDate::from_ymd_opt(2027, 1, 5).expect("ok"),
        )),
    );
    let res = later
        .campaign_results(m, id)
        .await
        .expect("results")
        .expect("gone out");
    let r = &res.results;
    assert!(r.complete);
    assert_eq!(
        r.window.start,
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    );
    assert_eq!(r.last_day, NaiveDate::from_ymd_opt(2026, 12, 29).unwrap());
    let tally =
        |x: &dealerbase_domain::attribution::Tally| (x.recipients, x.responders, x.revenue_fen);
    assert_eq!(tally(&r.target), (3, 2, 10_000_000));
    assert_eq!(tally(&r.contacted), (2, 1, 10_000_000));
    assert_eq!(tally(&r.control), (1, 1, 30_000));
    assert!((r.uplift.unwrap() - (2.0 / 3.0 - 1.0)).abs() < 1e-12);
    assert_eq!(r.incremental_revenue_fen, Some(9_910_000));
    assert_eq!((r.contacts, r.cost_fen), (3, 150));
    assert!((r.return_on_spend.unwrap() - 9_910_000.0 / 150.0).abs() < 1e-9);
    let ch: Vec<(&str, (i64, i64, i64), i64)> = r
        .by_channel
        .iter()
        .map(|c| (c.channel.code(), tally(&c.tally), c.cost_fen))
        .collect();
    assert_eq!(
        ch,
        vec![
            ("sms", (2, 1, 10_000_000), 100),
            ("email", (1, 1, 10_000_000), 50)
        ]
    );
    assert!((r.by_channel[0].uplift.unwrap() + 0.5).abs() < 1e-12);
    assert_eq!(r.by_channel[1].uplift, Some(0.0));
    let kinds: Vec<(&str, i64, i64)> = r
        .by_kind
        .iter()
        .map(|k| (k.kind.code(), k.target, k.control))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("visit", 1, 0),
            ("work_order", 0, 1),
            ("order", 0, 0),
            ("test_drive", 1, 0)
        ]
    );
    let rec: Vec<(Option<u32>, (i64, i64, i64), (i64, i64, i64))> = r
        .by_recency
        .iter()
        .map(|x| (x.months, tally(&x.target), tally(&x.control)))
        .collect();
    assert_eq!(
        rec,
        vec![
            (Some(0), (1, 0, 0), (0, 0, 0)),
            (Some(2), (1, 1, 10_000_000), (0, 0, 0)),
            (None, (1, 1, 0), (1, 1, 30_000)),
        ]
    );
    // Final results are stored and reused.
    let again = later
        .campaign_results(m, id)
        .await
        .expect("again")
        .expect("gone out");
    assert_eq!(again.computed_at, res.computed_at);
    // The overview adds the campaign to its channel and segment rows.
    let o = later
        .campaign_overview(m, Lang::Zh)
        .await
        .expect("overview");
    let row = o
        .campaigns
        .iter()
        .find(|c| c.campaign.id == id)
        .expect("listed");
    assert!(row.results.is_some());
    assert_eq!(row.segment_name, "S01 全部");
    let seg_row = o
        .by_segment
        .iter()
        .find(|s| s.label == "S01 全部")
        .expect("segment");
    assert_eq!((seg_row.campaigns, seg_row.target.recipients), (1, 3));
    assert_eq!(seg_row.incremental_revenue_fen, 9_910_000);
    let sms = o.by_channel.iter().find(|c| c.key == "sms").expect("sms");
    assert_eq!((sms.target.recipients, sms.target.responders), (2, 1));
    assert!((sms.uplift.unwrap() + 0.5).abs() < 1e-12);
    // A response window outside 1–365 days is refused, naming the field.
    let mut bad = campaign_input("sms", seg, 10.0, 1);
    bad.response_window_days = Some(0);
    match f.svc.create_campaign(m, &bad).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e[0].field, "response_window_days"),
        other => panic!("window 0: {other:?}"),
    }
    // SMS + e-mail needs both texts.
    let mut bad = campaign_input("sms_email", seg, 10.0, 1);
    bad.email_subject = None;
    match f.svc.create_campaign(m, &bad).await {
        Err(ServiceError::Invalid(e)) => {
            let fields: Vec<&str> = e.iter().map(|x| x.field.as_str()).collect();
            assert_eq!(fields, vec!["email_subject", "email_body"]);
        }
        other => panic!("no e-mail: {other:?}"),
    }
}
both!(campaign_results_by_hand);
