//! Management KPIs (issue 9) on a hand-built October 2026, on SQLite and PostgreSQL. Every
//! expected value is worked out by hand from the rows below.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, vin};
use chrono::NaiveDate;
use dealerbase_domain::FixedClock;
use dealerbase_service::management::KpiQuery;
use dealerbase_service::{ServiceError, Services};
use dealerbase_store::Db;
use dealerbase_store::kpi::{KpiBy, KpiSelect, KpiSum, kpi_supports};
use std::sync::Arc;

async fn sql(db: &Db, s: &str) {
    db.execute_admin(s)
        .await
        .unwrap_or_else(|e| panic!("{s}: {e}"));
}

/// The rows of October 2026 (times are UTC; China is UTC+8). Ids from 1000 up.
async fn october(db: &Db, f: &Fixture) {
    let (s1, s2, m) = (f.store1, f.store2, f.model);
    let (a, b, adv) = (
        f.consultant_a.staff_id,
        f.consultant_b.staff_id,
        f.advisor1.staff_id,
    );
    for (id, store, name) in [
        (1001, s1, "张三"),
        (1002, s1, "李四"),
        (1003, s1, "王五"),
        (1004, s1, "赵六"),
        (2001, s2, "钱七"),
    ] {
        sql(db, &format!("INSERT INTO customer (id, store_id, kind, name, created_at, updated_at) VALUES ({id}, {store}, 'individual', '{name}', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")).await;
    }
    for (id, store, n) in [(1101, s1, 1), (1102, s1, 2), (2101, s2, 3)] {
        sql(db, &format!("INSERT INTO vehicle (id, vin, model_id, store_id, created_at) VALUES ({id}, '{}', {m}, {store}, '2026-01-01T00:00:00+00:00')", vin(n))).await;
    }
    // Leads: L0 (A) from September; new in October: L1 (A), L2 (B), L3 (A).
    for (id, owner, created) in [
        (1200, a, "2026-09-10T02:00:00+00:00"),
        (1201, a, "2026-10-02T02:00:00+00:00"),
        (1202, b, "2026-10-05T02:00:00+00:00"),
        (1203, a, "2026-10-20T02:00:00+00:00"),
    ] {
        sql(db, &format!("INSERT INTO lead (id, store_id, customer_id, grade, source, status, owner_id, created_at, updated_at) VALUES ({id}, {s1}, 1001, 'A', 'walk_in', 'open', {owner}, '{created}', '{created}')")).await;
    }
    // Showroom: V1 first visit → L1 (A); V2 first visit, not registered (A); V3 L1 comes
    // back (A); V4 first visit → L2 (B); V5 at 01:00 on 1 October China time (17:00 UTC
    // on 30 September), first visit, not registered (B); V6 at 00:30 on 1 November China
    // time — November, not October.
    for (id, at, first, lead, staff) in [
        (1301, "2026-10-02T02:00:00+00:00", true, "1201", a),
        (1302, "2026-10-03T02:00:00+00:00", true, "NULL", a),
        (1303, "2026-10-09T02:00:00+00:00", false, "1201", a),
        (1304, "2026-10-05T02:00:00+00:00", true, "1202", b),
        (1305, "2026-09-30T17:00:00+00:00", true, "NULL", b),
        (1306, "2026-10-31T16:30:00+00:00", true, "NULL", b),
    ] {
        sql(db, &format!("INSERT INTO showroom_visit (id, store_id, channel, arrived_at, first_visit, source, consultant_id, lead_id) VALUES ({id}, {s1}, 'walk_in', '{at}', {first}, 'walk_in', {staff}, {lead})")).await;
    }
    // Invitations for October: I1 (L1) showed, I2 (L3) did not.
    sql(db, &format!("INSERT INTO invitation (id, store_id, lead_id, staff_id, invited_at, appointment_on, status) VALUES (1401, {s1}, 1201, {a}, '2026-10-01T02:00:00+00:00', '2026-10-06', 'showed')")).await;
    sql(db, &format!("INSERT INTO invitation (id, store_id, lead_id, staff_id, invited_at, appointment_on, status) VALUES (1402, {s1}, 1203, {a}, '2026-10-21T02:00:00+00:00', '2026-10-25', 'no_show')")).await;
    // Test drives: T1 done in October, T2 only booked.
    sql(db, &format!("INSERT INTO test_drive (id, lead_id, model_id, staff_id, booked_at, done_at, status, store_id) VALUES (1501, 1201, {m}, {a}, '2026-10-03T01:00:00+00:00', '2026-10-03T02:00:00+00:00', 'done', {s1})")).await;
    sql(db, &format!("INSERT INTO test_drive (id, lead_id, model_id, staff_id, booked_at, status, store_id) VALUES (1502, 1202, {m}, {b}, '2026-10-06T01:00:00+00:00', 'booked', {s1})")).await;
    // Orders: O1 (L1, A) ordered 10-10, delivered 10-25; O2 (L2, B) cancelled; O3 (L0, A)
    // ordered in September, delivered 10-08.
    sql(db, &format!("INSERT INTO sales_order (id, store_id, customer_id, lead_id, model_id, consultant_id, kind, status, ordered_on, price_fen, delivered_on) VALUES (1601, {s1}, 1001, 1201, {m}, {a}, 'new', 'delivered', '2026-10-10', 15000000, '2026-10-25')")).await;
    sql(db, &format!("INSERT INTO sales_order (id, store_id, customer_id, lead_id, model_id, consultant_id, kind, status, ordered_on, price_fen) VALUES (1602, {s1}, 1002, 1202, {m}, {b}, 'new', 'cancelled', '2026-10-12', 15000000)")).await;
    sql(db, &format!("INSERT INTO sales_order (id, store_id, customer_id, lead_id, model_id, consultant_id, kind, status, ordered_on, price_fen, delivered_on) VALUES (1603, {s1}, 1003, 1200, {m}, {a}, 'new', 'delivered', '2026-09-20', 15000000, '2026-10-08')")).await;
    // Defeats: D1 (L3) approved 10-22; D2 still pending.
    sql(db, &format!("INSERT INTO defeat_request (id, lead_id, requested_by, requested_at, reason, status, decided_at) VALUES (1701, 1203, {a}, '2026-10-21T02:00:00+00:00', 'price', 'approved', '2026-10-22T02:00:00+00:00')")).await;
    sql(db, &format!("INSERT INTO defeat_request (id, lead_id, requested_by, requested_at, reason, status) VALUES (1702, 1202, {b}, '2026-10-23T02:00:00+00:00', 'price', 'pending')")).await;
    // Policies. S01: P0 ends in September, renewed by P1 (a later policy of the same car
    // and kind); P1 ends 10-10 and is renewed by P1R (renewal_of); P2 ends 10-20, not
    // renewed. PY ended October 2025, followed by P0. S02: Q1–Q4 end in October, Q1–Q3
    // renewed (renewal_of), Q4 not.
    let pol = |id: i64, store, v, c, no: &str, start: &str, end: &str, of: &str| {
        format!(
            "INSERT INTO insurance_policy (id, store_id, vehicle_id, customer_id, kind, insurer, policy_no, start_date, end_date, renewal_of) VALUES ({id}, {store}, {v}, {c}, 'commercial', '平安', '{no}', '{start}', '{end}', {of})"
        )
    };
    for s in [
        pol(
            1800,
            s1,
            1101,
            1001,
            "PY",
            "2024-10-01",
            "2025-10-01",
            "NULL",
        ),
        pol(
            1801,
            s1,
            1101,
            1001,
            "P0",
            "2025-09-20",
            "2026-09-19",
            "NULL",
        ),
        pol(
            1802,
            s1,
            1101,
            1001,
            "P1",
            "2025-10-11",
            "2026-10-10",
            "NULL",
        ),
        pol(
            1803,
            s1,
            1101,
            1001,
            "P1R",
            "2026-10-11",
            "2027-10-10",
            "1802",
        ),
        pol(
            1804,
            s1,
            1102,
            1002,
            "P2",
            "2025-10-21",
            "2026-10-20",
            "NULL",
        ),
        pol(
            2801,
            s2,
            2101,
            2001,
            "Q1",
            "2025-10-02",
            "2026-10-01",
            "NULL",
        ),
        pol(
            2802,
            s2,
            2101,
            2001,
            "Q2",
            "2025-10-03",
            "2026-10-02",
            "NULL",
        ),
        pol(
            2803,
            s2,
            2101,
            2001,
            "Q3",
            "2025-10-04",
            "2026-10-03",
            "NULL",
        ),
        pol(
            2804,
            s2,
            2101,
            2001,
            "Q4",
            "2025-10-05",
            "2026-10-04",
            "NULL",
        ),
        pol(
            2811,
            s2,
            2101,
            2001,
            "Q1R",
            "2026-10-02",
            "2027-10-01",
            "2801",
        ),
        pol(
            2812,
            s2,
            2101,
            2001,
            "Q2R",
            "2026-10-03",
            "2027-10-02",
            "2802",
        ),
        pol(
            2813,
            s2,
            2101,
            2001,
            "Q3R",
            "2026-10-04",
            "2027-10-03",
            "2803",
        ),
    ] {
        sql(db, &s).await;
    }
    // Note: Q4 (vehicle 2101) is followed by later policies of the same car and kind
    // (Q1R… start after it) — so it counts as renewed by the "later policy" rule. To keep
    // one non-renewed S02 policy, Q4 is compulsory insurance, which nothing follows.
    sql(
        db,
        "UPDATE insurance_policy SET kind = 'compulsory' WHERE id = 2804",
    )
    .await;
    // The maintenance prediction of 2026-11-01: car 1101's first-service window closed
    // 10-15, done here; car 1102's closed 10-20, missed; car 1101's second window closed
    // 10-05, done here.
    sql(db, "INSERT INTO service_status_run (as_of, started_at, finished_at, complete, vehicles) VALUES ('2026-11-01', '2026-11-01T00:00:00+00:00', '2026-11-01T00:10:00+00:00', TRUE, 2)").await;
    for (v, c, fc, fs, sc, ss) in [
        (
            1101,
            1001,
            "2026-10-15",
            "done_here",
            "2026-10-05",
            "done_here",
        ),
        (1102, 1002, "2026-10-20", "missed", "2027-04-20", "pending"),
    ] {
        sql(db, &format!("INSERT INTO vehicle_service_status (as_of, vehicle_id, store_id, customer_id, daily_km, rate_source, next_service_no, next_due_on, next_due_rule, next_due_km, first_due_on, first_closes_on, first_status, second_due_on, second_closes_on, second_status, digest) \
             VALUES ('2026-11-01', {v}, {s1}, {c}, 40, 'model', 2, '2027-01-01', 'time', 15000, '2026-09-15', '{fc}', '{fs}', '2027-03-15', '{sc}', '{ss}', 0)")).await;
    }
    // Follow-up calls due in October: F1 reached, F2 open, F3 cancelled (not counted).
    for (id, status, outcome) in [
        (1901, "done", "'reached'"),
        (1902, "open", "NULL"),
        (1903, "cancelled", "NULL"),
    ] {
        sql(db, &format!("INSERT INTO task (id, store_id, kind, customer_id, assignee_id, due_on, status, outcome, created_at) VALUES ({id}, {s1}, 'service_follow_up', 1001, {adv}, '2026-10-12', '{status}', {outcome}, '2026-10-01T00:00:00+00:00')")).await;
    }
    // Complaints opened in October: K1 closed after 9 days, K2 after 25 days, K3 open.
    for (id, opened, status, closed) in [
        (
            1951,
            "2026-10-01T02:00:00+00:00",
            "closed",
            "'2026-10-10T02:00:00+00:00'",
        ),
        (
            1952,
            "2026-10-05T02:00:00+00:00",
            "closed",
            "'2026-10-30T02:00:00+00:00'",
        ),
        (1953, "2026-10-07T02:00:00+00:00", "open", "NULL"),
    ] {
        sql(db, &format!("INSERT INTO complaint (id, store_id, customer_id, category, severity, status, description, opened_at, resolved_at, closed_at) VALUES ({id}, {s1}, 1002, 'waiting', 'low', '{status}', '等待', '{opened}', {closed}, {closed})")).await;
    }
    // Surveys: service scores 5, 4, 2; one sales answer scoring 3.
    for (id, kind, score) in [
        (1961, "csi", 5),
        (1962, "csi", 4),
        (1963, "csi", 2),
        (1964, "ssi", 3),
    ] {
        sql(db, &format!("INSERT INTO survey_response (id, store_id, customer_id, kind, answered_on, service_score) VALUES ({id}, {s1}, 1001, '{kind}', '2026-10-15', {score})")).await;
    }
    // Work orders settled in October: W1 ¥1,000 (labour 400 + part 600 costing 350), W2
    // ¥500 (part 500 costing 300); W3 still open.
    for (id, no, settled, total) in [
        (1971, "W1", "'2026-10-08'", 100_000),
        (1972, "W2", "'2026-10-18'", 50_000),
        (1973, "W3", "NULL", 80_000),
    ] {
        sql(db, &format!("INSERT INTO work_order (id, store_id, number, vehicle_id, customer_id, advisor_id, kind, status, opened_on, settled_on, total_fen, paid_by) VALUES ({id}, {s1}, '{no}', 1101, 1001, {adv}, 'maintenance', 'settled', '2026-10-01', {settled}, {total}, 'customer')")).await;
    }
    for (wo, kind, amount, cost) in [
        (1971, "labour", 40_000, 0),
        (1971, "part", 60_000, 35_000),
        (1972, "part", 50_000, 30_000),
        (1973, "part", 80_000, 50_000),
    ] {
        sql(db, &format!("INSERT INTO work_order_line (work_order_id, line_kind, code, name, quantity, amount_fen, cost_fen) VALUES ({wo}, '{kind}', 'X', 'x', 1, {amount}, {cost})")).await;
    }
    // Operating costs of October: ¥500 rent (fixed) + ¥500 payroll (variable).
    sql(db, &format!("INSERT INTO operating_cost (store_id, month_start, category, kind, amount_fen, updated_at) VALUES ({s1}, '2026-10-01', 'rent', 'fixed', 50000, '2026-11-01T00:00:00+00:00')")).await;
    sql(db, &format!("INSERT INTO operating_cost (store_id, month_start, category, kind, amount_fen, updated_at) VALUES ({s1}, '2026-10-01', 'payroll', 'variable', 50000, '2026-11-01T00:00:00+00:00')")).await;
}

fn q(kpi: &str, scope: &str) -> KpiQuery {
    KpiQuery {
        kpi: kpi.into(),
        period: Some("month".into()),
        at: Some("2026-10".into()),
        scope: Some(scope.into()),
        store: (scope == "store").then(|| "S01".into()),
        ..Default::default()
    }
}

async fn every_kpi_by_hand_for_a_store(t: &TestDb) {
    let f = fixture(&t.db).await;
    october(&t.db, &f).await;
    // (kpi, numerator, denominator) for S01 in October 2026.
    let expected: &[(&str, i64, i64)] = &[
        // V1–V5 (V5 is 1 October in China; V6 is November).
        ("traffic", 5, 0),
        // first visits V1, V2, V4, V5; registered V1, V4 → 2/4.
        ("registration_rate", 2, 4),
        // I1 showed of I1, I2 → 1/2.
        ("invitation_show_rate", 1, 2),
        // T1 done ÷ new leads L1, L2, L3 → 1/3.
        ("test_drive_rate", 1, 3),
        // L1 came back (V3) of L1–L3 → 1/3.
        ("second_visit_rate", 1, 3),
        // O1 (O2 cancelled, O3 September) ÷ 3 new leads → 1/3.
        ("conversion_rate", 1, 3),
        // D1 approved ÷ (D1 + deliveries O1, O3) → 1/3.
        ("defeat_rate", 1, 3),
        ("orders", 1, 0),
        ("deliveries", 2, 0),
        // P1 (renewed by P1R), P2 (not) → 1/2.
        ("renewal_rate", 1, 2),
        // 1101 done here, 1102 missed → 1/2; second window: 1101 only → 1/1.
        ("first_service_return_rate", 1, 2),
        ("second_service_return_rate", 1, 1),
        // F1 reached of F1, F2 (F3 cancelled) → 1/2.
        ("follow_up_success_rate", 1, 2),
        // K1 within 14 days, K2 25 days, K3 open → 1/3.
        ("complaint_closure_rate", 1, 3),
        // scores 5, 4 of 5, 4, 2 → 2/3; sales 3 → 0/1.
        ("csi_satisfaction_rate", 2, 3),
        ("ssi_satisfaction_rate", 0, 1),
        // W1, W2 settled (W3 open).
        ("work_orders", 2, 0),
        // ¥1,000 + ¥500 = 150,000 fen.
        ("service_revenue", 150_000, 0),
        // (40,000 + 60,000 − 35,000) + (50,000 − 30,000) = 65,000 + 20,000 = 85,000 fen.
        ("aftersales_gross_profit", 85_000, 0),
        // 50,000 + 50,000.
        ("operating_cost", 100_000, 0),
        // 85,000 ÷ 100,000 = 85%.
        ("service_absorption", 85_000, 100_000),
    ];
    assert_eq!(
        expected.len() + COHORT_AND_STOCK_KPIS.len(),
        f.svc.kpi_catalogue().len(),
        "every KPI is checked"
    );
    for (kpi, num, den) in expected {
        let v = f
            .svc
            .kpi_value(&f.group_staff, &q(kpi, "store"))
            .await
            .unwrap_or_else(|e| panic!("{kpi}: {e}"));
        assert_eq!(
            (v.current.numerator, v.current.denominator),
            (*num, *den),
            "{kpi}"
        );
    }
    // Displays: 2/4 = 50.0%; 85,000 fen = ¥850.00.
    let reg = f
        .svc
        .kpi_value(&f.group_staff, &q("registration_rate", "store"))
        .await
        .expect("value");
    assert_eq!(reg.current.display, "50.0%");
    let gp = f
        .svc
        .kpi_value(&f.group_staff, &q("aftersales_gross_profit", "store"))
        .await
        .expect("value");
    assert_eq!(gp.current.display, "¥850.00");
    // Renewal: September P0 renewed (by P1) → 1/1 = 100%; October 50% → −50.0pt MoM.
    // October 2025: PY renewed by P0 (later, same car and kind) → 100% → −50.0pt YoY.
    let r = f
        .svc
        .kpi_value(&f.group_staff, &q("renewal_rate", "store"))
        .await
        .expect("value");
    assert_eq!((r.previous.numerator, r.previous.denominator), (1, 1));
    assert_eq!((r.year_ago.numerator, r.year_ago.denominator), (1, 1));
    assert_eq!(r.mom_display, "-50.0pt");
    assert_eq!(r.yoy_display, "-50.0pt");
    assert_eq!(r.mom_better, Some(false));
    // Per staff: consultant A's conversion: O1 ÷ leads L1, L3 = 1/2.
    let mut qa = q("conversion_rate", "staff");
    qa.staff = Some(f.consultant_a.staff_id);
    let v = f
        .svc
        .kpi_value(&f.manager1, &qa)
        .await
        .expect("staff value");
    assert_eq!((v.current.numerator, v.current.denominator), (1, 2));
    // A consultant sees only their own figures, whatever they ask for.
    let v = f
        .svc
        .kpi_value(
            &f.consultant_a,
            &KpiQuery {
                kpi: "conversion_rate".into(),
                at: Some("2026-10".into()),
                ..Default::default()
            },
        )
        .await
        .expect("own value");
    assert_eq!((v.scope.level.as_str(), v.current.numerator), ("staff", 1));
    let mut qb = qa.clone();
    qb.staff = Some(f.consultant_b.staff_id);
    assert!(matches!(
        f.svc.kpi_value(&f.consultant_a, &qb).await,
        Err(ServiceError::NotFound { .. })
    ));
    // Quarter and year contain October: the quarter's renewal has P1, P2 (Q4 2026) → 1/2.
    let mut qq = q("renewal_rate", "store");
    qq.period = Some("quarter".into());
    qq.at = Some("2026-Q4".into());
    let v = f.svc.kpi_value(&f.group_staff, &qq).await.expect("quarter");
    assert_eq!((v.current.numerator, v.current.denominator), (1, 2));
    // Day: only V5 arrived on 1 October (China time).
    let mut qd = q("traffic", "store");
    qd.period = Some("day".into());
    qd.at = Some("2026-10-01".into());
    let v = f.svc.kpi_value(&f.group_staff, &qd).await.expect("day");
    assert_eq!(v.current.numerator, 1);
    // Trend by month in China's calendar: October has V1–V5 (V5 is 01:00 on 1 October in
    // China), November V6 (00:30 on 1 November in China), September none.
    let mut qt = q("traffic", "store");
    qt.at = Some("2026-11".into());
    let t = f
        .svc
        .kpi_trend(&f.group_staff, &qt, 3)
        .await
        .expect("trend");
    let got: Vec<(&str, i64)> = t.iter().map(|p| (p.period.as_str(), p.numerator)).collect();
    assert_eq!(got, vec![("2026-09", 0), ("2026-10", 5), ("2026-11", 1)]);
    // Renewal is not per staff; a bad KPI id or period names the field.
    let mut qs = q("renewal_rate", "staff");
    qs.staff = Some(f.consultant_a.staff_id);
    match f.svc.kpi_value(&f.group_staff, &qs).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e[0].field, "scope"),
        other => panic!("{other:?}"),
    }
    match f.svc.kpi_value(&f.group_staff, &q("nope", "store")).await {
        Err(ServiceError::Invalid(e)) => {
            assert_eq!((e[0].field.as_str(), e[0].value.as_str()), ("kpi", "nope"))
        }
        other => panic!("{other:?}"),
    }
    let mut bad = q("traffic", "store");
    bad.at = Some("2026-13".into());
    match f.svc.kpi_value(&f.group_staff, &bad).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e[0].field, "at"),
        other => panic!("{other:?}"),
    }
}
both!(every_kpi_by_hand_for_a_store);

/// Checked by `cohort_and_stock_kpis_by_hand`; every other KPI by `every_kpi_by_hand_for_a_store`.
const COHORT_AND_STOCK_KPIS: [&str; 5] = [
    "churn_rate",
    "retention_rate",
    "order_backlog_rate",
    "owner_business_rate",
    "defeat_clarity_rate",
];

/// The KPIs that look before or after the period (a cohort, stocks at the start and end,
/// next month's target) and the two ratios over orders and defeat requests, for S01 in
/// October 2026, on rows of their own (ids from 5000 up).
async fn cohort_and_stock_kpis_by_hand(t: &TestDb) {
    let f = fixture(&t.db).await;
    let (s1, m, a, adv) = (
        f.store1,
        f.model,
        f.consultant_a.staff_id,
        f.advisor1.staff_id,
    );
    for c in 5001..=5008 {
        sql(&t.db, &format!("INSERT INTO customer (id, store_id, kind, name, created_at, updated_at) VALUES ({c}, {s1}, 'individual', '客户{c}', '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')")).await;
        sql(&t.db, &format!("INSERT INTO vehicle (id, vin, model_id, store_id, created_at) VALUES ({c}, '{}', {m}, {s1}, '2024-01-01T00:00:00+00:00')", vin(c as u32))).await;
    }
    // Visits (settled work orders) per customer.
    let visits: &[(i64, &str)] = &[
        (5001, "2026-03-05"),
        (5001, "2026-03-20"),
        (5001, "2026-06-10"),
        (5002, "2026-03-15"),
        (5002, "2026-10-05"),
        (5003, "2026-03-31"),
        (5003, "2026-09-30"),
        (5004, "2026-02-28"),
        (5005, "2025-10-20"),
        (5006, "2025-09-30"),
        (5006, "2026-10-20"),
        (5007, "2026-10-15"),
        (5008, "2025-10-15"),
    ];
    for (i, (c, on)) in visits.iter().enumerate() {
        let id = 5100 + i as i64;
        sql(&t.db, &format!("INSERT INTO work_order (id, store_id, number, vehicle_id, customer_id, advisor_id, kind, status, opened_on, settled_on, total_fen, paid_by) VALUES ({id}, {s1}, 'W{id}', {c}, {c}, {adv}, 'maintenance', 'settled', '{on}', '{on}', 10000, 'customer')")).await;
    }
    // Orders: (id, kind, status, ordered, delivered).
    let orders: &[(i64, &str, &str, &str, &str)] = &[
        (5201, "new", "open", "2026-10-10", "NULL"),
        (5202, "new", "delivered", "2026-09-01", "'2026-11-05'"),
        (
            5203,
            "replacement",
            "delivered",
            "2026-10-12",
            "'2026-10-25'",
        ),
        (5204, "referral", "cancelled", "2026-10-20", "NULL"),
        (5205, "new", "open", "2026-11-02", "NULL"),
        (
            5206,
            "additional",
            "delivered",
            "2026-10-15",
            "'2026-10-28'",
        ),
    ];
    for (id, kind, status, ordered, delivered) in orders {
        sql(&t.db, &format!("INSERT INTO sales_order (id, store_id, customer_id, model_id, consultant_id, kind, status, ordered_on, price_fen, delivered_on) VALUES ({id}, {s1}, 5001, {m}, {a}, '{kind}', '{status}', '{ordered}', 15000000, {delivered})")).await;
    }
    // Sales targets: November's store target 8 (a consultant's share 5 is not the
    // store's); October's 20 is not next month's.
    for (staff, month, value) in [
        (0, "2026-11-01", 8),
        (a, "2026-11-01", 5),
        (0, "2026-10-01", 20),
    ] {
        sql(&t.db, &format!("INSERT INTO kpi_target (store_id, staff_id, month_start, metric, value, updated_at) VALUES ({s1}, {staff}, '{month}', 'sales', {value}, '2026-09-01T00:00:00+00:00')")).await;
    }
    // Defeat requests in October: (lead, reason, status).
    let defeats: &[(i64, &str, &str)] = &[
        (5301, "price", "approved"),
        (5302, "other", "approved"),
        (5303, "price", "pending"),
        (5304, "lost_contact", "rejected"),
        (5305, "lost_contact", "approved"),
    ];
    for (lead, reason, status) in defeats {
        sql(&t.db, &format!("INSERT INTO lead (id, store_id, customer_id, grade, source, status, owner_id, created_at, updated_at) VALUES ({lead}, {s1}, 5001, 'C', 'walk_in', 'open', {a}, '2026-09-01T02:00:00+00:00', '2026-09-01T02:00:00+00:00')")).await;
        sql(&t.db, &format!("INSERT INTO defeat_request (lead_id, requested_by, requested_at, reason, status) VALUES ({lead}, {a}, '2026-10-12T02:00:00+00:00', '{reason}', '{status}')")).await;
    }
    // A request at 23:00 on 30 September in China (15:00 UTC) is September's.
    sql(&t.db, &format!("INSERT INTO defeat_request (lead_id, requested_by, requested_at, reason, status) VALUES (5301, {a}, '2026-09-30T15:00:00+00:00', 'price', 'approved')")).await;

    let expected: &[(&str, i64, i64)] = &[
        // Cohort March 2026 (October − 7): 5001 (twice in March, counted once; back in
        // June), 5002 (next visit 5 October: after the six months April–September →
        // churned), 5003 (back on 30 September, the window's last day). 5004 visited in
        // February, 5005 in October 2025: not in the cohort → 1/3.
        ("churn_rate", 1, 3),
        // Active at start (a visit in Oct 2025 – Sep 2026): 5001, 5002, 5003, 5004,
        // 5005, 5008 = 6 (5006's visit of 30 Sep 2025 is just outside). Active at end
        // (Nov 2025 – Oct 2026): 5001, 5002, 5003, 5004, 5006, 5007 = 6; new in October:
        // 5007 (first visit ever) → (6 − 1) ÷ 6 = 5/6.
        ("retention_rate", 5, 6),
        // Open at 31 October: 5201 (open), 5202 (delivered 5 November); not 5203/5206
        // (delivered in October), 5204 (cancelled), 5205 (November) → 2 ÷ November's
        // store target 8.
        ("order_backlog_rate", 2, 8),
        // October's orders not cancelled: 5201 new, 5203 replacement, 5206 additional
        // (5204 cancelled, 5202 September) → 2/3.
        ("owner_business_rate", 2, 3),
        // Five October requests; approved with a specific reason: only 5301's → 1/5.
        ("defeat_clarity_rate", 1, 5),
    ];
    assert_eq!(
        expected.iter().map(|e| e.0).collect::<Vec<_>>().len(),
        COHORT_AND_STOCK_KPIS.len()
    );
    for (kpi, num, den) in expected {
        assert!(COHORT_AND_STOCK_KPIS.contains(kpi), "{kpi}");
        let v = f
            .svc
            .kpi_value(&f.group_staff, &q(kpi, "store"))
            .await
            .unwrap_or_else(|e| panic!("{kpi}: {e}"));
        assert_eq!(
            (v.current.numerator, v.current.denominator),
            (*num, *den),
            "{kpi}"
        );
        // The group (S02 has none of these rows) agrees with the store.
        let g = f
            .svc
            .kpi_value(&f.group_staff, &q(kpi, "group"))
            .await
            .expect("group");
        assert_eq!(
            (g.current.numerator, g.current.denominator),
            (*num, *den),
            "{kpi} group"
        );
    }
    // The trend of a cohort KPI is one cohort per month, not October's rows by month:
    // September's cohort is February (5004, never back → 1/1).
    let trend = f
        .svc
        .kpi_trend(&f.group_staff, &q("churn_rate", "store"), 2)
        .await
        .expect("trend");
    let pts: Vec<(i64, i64)> = trend.iter().map(|p| (p.numerator, p.denominator)).collect();
    assert_eq!(pts, vec![(1, 1), (1, 3)]);
    // The owner-business and defeat-clarity ratios are kept as day facts: the same sums
    // with facts built before, inside and after October.
    facts_agree_with_records(&t.db, &f, &["2026-10-01", "2026-10-12", "2026-11-01"]).await;
}
both!(cohort_and_stock_kpis_by_hand);

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// Every catalogue KPI's sums straight from the store, labelled: October 2026, September to
/// December, 1 October alone and October 2025; both stores by every breakdown the KPI
/// supports, S01 alone in total, and each staff member's own where the KPI is per staff.
async fn all_sums(db: &Db, f: &Fixture) -> Vec<(String, Vec<KpiSum>)> {
    let periods = [
        ("2026-10-01", "2026-11-01"),
        ("2026-09-01", "2027-01-01"),
        ("2026-10-01", "2026-10-02"),
        ("2025-10-01", "2025-11-01"),
    ];
    let staff = [
        f.consultant_a.staff_id,
        f.consultant_b.staff_id,
        f.advisor1.staff_id,
    ];
    let mut out = Vec::new();
    for k in dealerbase_domain::kpi::CATALOGUE {
        for (from, until) in periods {
            let both_stores = KpiSelect {
                from: d(from),
                until: d(until),
                stores: vec![f.store1, f.store2],
                staff: None,
                through: None,
            };
            let mut asks: Vec<(KpiSelect, KpiBy)> = Vec::new();
            for by in [
                KpiBy::Total,
                KpiBy::Store,
                KpiBy::Staff,
                KpiBy::Model,
                KpiBy::Month,
            ] {
                if kpi_supports(k.id, by) {
                    asks.push((both_stores.clone(), by));
                }
            }
            asks.push((
                KpiSelect {
                    stores: vec![f.store1],
                    ..both_stores.clone()
                },
                KpiBy::Total,
            ));
            if kpi_supports(k.id, KpiBy::Staff) {
                for s in staff {
                    asks.push((
                        KpiSelect {
                            staff: Some(s),
                            ..both_stores.clone()
                        },
                        KpiBy::Total,
                    ));
                }
            }
            for (sel, by) in asks {
                let sums = db
                    .kpi_sums(k.id, &sel, by)
                    .await
                    .unwrap_or_else(|e| panic!("{} {by:?} {sel:?}: {e}", k.id));
                out.push((format!("{} {by:?} {sel:?}", k.id), sums));
            }
        }
    }
    out
}

/// Builds the KPI day facts until each of `days` in turn and checks every sum of
/// [`all_sums`] is what the records alone give.
async fn facts_agree_with_records(db: &Db, f: &Fixture, days: &[&str]) {
    db.execute_admin("DELETE FROM kpi_day_fact; UPDATE kpi_fact_state SET built_until = NULL")
        .await
        .expect("no facts");
    assert_eq!(db.kpi_facts_built_until().await.expect("state"), None);
    let from_records = all_sums(db, f).await;
    assert!(
        from_records.iter().filter(|(_, s)| !s.is_empty()).count() > 20,
        "the fixture has records for most sums"
    );
    for day in days {
        let rows = db
            .rebuild_kpi_facts(d(day), f.svc.clock.now())
            .await
            .expect("facts");
        assert_eq!(
            db.kpi_facts_built_until().await.expect("state"),
            Some(d(day))
        );
        let with_facts = all_sums(db, f).await;
        assert_eq!(with_facts.len(), from_records.len());
        for ((label, got), (_, want)) in with_facts.iter().zip(&from_records) {
            assert_eq!(got, want, "{label}, facts until {day} ({rows} rows)");
        }
    }
}

/// The sums are the same whether or not the nightly facts exist, whatever day they were
/// built until: before October, on its first day (1 October in China starts at 16:00 UTC
/// on 30 September — V5 is just after it), inside it, on 1 November (V6, 00:30 on 1
/// November in China, is not in the facts) and after it.
async fn kpi_facts_give_the_same_sums(t: &TestDb) {
    let f = fixture(&t.db).await;
    october(&t.db, &f).await;
    facts_agree_with_records(
        &t.db,
        &f,
        &[
            "2026-09-15",
            "2026-10-01",
            "2026-10-02",
            "2026-10-12",
            "2026-11-01",
            "2026-12-01",
        ],
    )
    .await;
}
both!(kpi_facts_give_the_same_sums);

/// The KPI values read the facts for the days they cover: a record removed afterwards
/// (bypassing the services) still counts until the next night's rebuild — the documented
/// staleness. Operating costs are read live: a changed cost shows at once.
async fn kpi_facts_are_read_until_the_next_rebuild(t: &TestDb) {
    let f = fixture(&t.db).await;
    october(&t.db, &f).await;
    let val = async |kpi: &str| {
        let v = f
            .svc
            .kpi_value(&f.group_staff, &q(kpi, "store"))
            .await
            .unwrap_or_else(|e| panic!("{kpi}: {e}"))
            .current;
        (v.numerator, v.denominator)
    };
    // Built the night of 1 November (as the daily job does: every day before today).
    let night = Services::new(t.db.clone(), Arc::new(FixedClock::on(d("2026-11-01"))));
    assert!(night.rebuild_kpi_facts().await.expect("facts") > 0);
    assert_eq!(
        t.db.kpi_facts_built_until().await.expect("state"),
        Some(d("2026-11-01"))
    );
    // W2 (¥500, gross profit ¥200) and V1 (a visit of 2 October) go.
    sql(
        &t.db,
        "DELETE FROM work_order_line WHERE work_order_id = 1972",
    )
    .await;
    sql(&t.db, "DELETE FROM work_order WHERE id = 1972").await;
    sql(&t.db, "DELETE FROM showroom_visit WHERE id = 1301").await;
    assert_eq!(val("work_orders").await, (2, 0));
    assert_eq!(val("service_revenue").await, (150_000, 0));
    assert_eq!(val("aftersales_gross_profit").await, (85_000, 0));
    assert_eq!(val("traffic").await, (5, 0));
    // The rent goes up from ¥500 to ¥700: costs are live, so absorption is at once
    // 85,000 ÷ (70,000 + 50,000) = 85,000 ÷ 120,000.
    sql(
        &t.db,
        "UPDATE operating_cost SET amount_fen = 70000 WHERE category = 'rent'",
    )
    .await;
    assert_eq!(val("operating_cost").await, (120_000, 0));
    assert_eq!(val("service_absorption").await, (85_000, 120_000));
    // The next night's daily jobs rebuild the facts: W1 alone (¥1,000, gross profit
    // 40,000 + 60,000 − 35,000 = 65,000 fen), traffic V2–V5 = 4, absorption 65,000 ÷ 120,000.
    let next = Services::new(t.db.clone(), Arc::new(FixedClock::on(d("2026-11-02"))));
    let report = next
        .run_daily_jobs("test")
        .await
        .expect("jobs")
        .expect("ran");
    assert!(report.kpi_facts.is_some_and(|n| n > 0), "{report:?}");
    assert_eq!(
        t.db.kpi_facts_built_until().await.expect("state"),
        Some(d("2026-11-02"))
    );
    assert_eq!(val("work_orders").await, (1, 0));
    assert_eq!(val("service_revenue").await, (100_000, 0));
    assert_eq!(val("aftersales_gross_profit").await, (65_000, 0));
    assert_eq!(val("traffic").await, (4, 0));
    assert_eq!(val("service_absorption").await, (65_000, 120_000));
}
both!(kpi_facts_are_read_until_the_next_rebuild);

async fn group_value_is_computed_from_records(t: &TestDb) {
    let f = fixture(&t.db).await;
    october(&t.db, &f).await;
    let val = async |scope: &str, store: Option<&str>| {
        let mut qq = q("renewal_rate", scope);
        qq.store = store.map(String::from);
        f.svc
            .kpi_value(&f.group_staff, &qq)
            .await
            .expect("value")
            .current
    };
    // S01: 1 of 2 renewed = 50%; S02: Q1–Q3 of Q1–Q4 = 75%.
    let s1 = val("store", Some("S01")).await;
    let s2 = val("store", Some("S02")).await;
    assert_eq!((s1.numerator, s1.denominator), (1, 2));
    assert_eq!((s2.numerator, s2.denominator), (3, 4));
    // Group: (1 + 3) ÷ (2 + 4) = 4/6 = 66.7%, not the mean of the store rates (62.5%).
    let g = val("group", None).await;
    assert_eq!((g.numerator, g.denominator), (4, 6));
    assert_eq!(g.display, "66.7%");
    let mean = (s1.value.unwrap() + s2.value.unwrap()) / 2.0;
    assert!((mean - 0.625).abs() < 1e-9);
    assert!((g.value.unwrap() - mean).abs() > 0.04);
    // Brand of S02 (the only store of its brand): 75%.
    let stores = f.svc.kpi_stores(&f.group_staff).await.expect("stores");
    let s02 = stores.iter().find(|s| s.code == "S02").expect("S02");
    let mut qb = q("renewal_rate", "brand");
    qb.brand = Some(s02.brand_id);
    let b = f.svc.kpi_value(&f.group_staff, &qb).await.expect("brand");
    assert_eq!((b.current.numerator, b.current.denominator), (3, 4));

    // Ranking of stores: S02 75% first, S01 50% second. September: S01 100% (P0) first,
    // S02 no policies (no rank). S01 fell from 1st to 2nd: change −1.
    let r = f
        .svc
        .kpi_ranking(&f.group_staff, &q("renewal_rate", "group"), "store")
        .await
        .expect("ranking");
    let rows: Vec<(&str, Option<u32>, Option<u32>, Option<i64>)> = r
        .rows
        .iter()
        .map(|x| (x.name.as_str(), x.rank, x.previous_rank, x.rank_change))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("上海广汽丰田4S店", Some(1), None, None),
            ("杭州一汽-大众4S店", Some(2), Some(1), Some(-1)),
        ]
    );
    // Defeat rate ranks the lowest first: staff of S01 — A: D1 ÷ (D1 + O1 + O3) = 1/3; B: no
    // defeats, no deliveries → no value.
    let mut qs = q("defeat_rate", "store");
    qs.store = Some("S01".into());
    let r = f
        .svc
        .kpi_ranking(&f.group_staff, &qs, "staff")
        .await
        .expect("staff ranking");
    assert_eq!(r.rows[0].key, f.consultant_a.staff_id);
    assert_eq!((r.rows[0].numerator, r.rows[0].denominator), (1, 3));

    // Drill-down from the group's renewal rate: the non-renewed policies P2 (S01) and Q4
    // (S02), names masked; the S01 drill has P1 (renewed) and P2 (not).
    let miss = f
        .svc
        .kpi_records(&f.group_staff, &q("renewal_rate", "group"), Some("miss"), 1)
        .await
        .expect("records");
    let labels: Vec<(&str, bool)> = miss
        .items
        .iter()
        .map(|r| (r.label.as_str(), r.hit))
        .collect();
    assert_eq!(labels, vec![("Q4", false), ("P2", false)]);
    assert_eq!(miss.items[1].customer_name, "李*");
    let all = f
        .svc
        .kpi_records(&f.group_staff, &q("renewal_rate", "store"), None, 1)
        .await
        .expect("records");
    let labels: Vec<(&str, bool)> = all
        .items
        .iter()
        .map(|r| (r.label.as_str(), r.hit))
        .collect();
    assert_eq!(labels, vec![("P1", true), ("P2", false)]);

    // Store roles see their own store only.
    assert!(matches!(
        f.svc
            .kpi_value(&f.manager1, &q("renewal_rate", "group"))
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    let mut other = q("renewal_rate", "store");
    other.store = Some("S02".into());
    assert!(matches!(
        f.svc.kpi_value(&f.manager1, &other).await,
        Err(ServiceError::NotFound { .. })
    ));
}
both!(group_value_is_computed_from_records);

/// A month still under way counts what happened up to today: asked on 15 October, S01's
/// October renewal rate is P1 alone (ended 10-10, renewed) — P2 ends on 10-20 and is not
/// lost yet; from 20 October on it counts (1 of 2). September is whole either way.
async fn a_month_under_way_counts_up_to_today(t: &TestDb) {
    let f = fixture(&t.db).await;
    october(&t.db, &f).await;
    let on = |day: &str| Services::new(t.db.clone(), Arc::new(FixedClock::on(d(day))));
    let val = async |svc: &Services, kpi: &str, at: &str| {
        let mut qq = q(kpi, "store");
        qq.at = Some(at.into());
        let v = svc
            .kpi_value(&f.group_staff, &qq)
            .await
            .expect("value")
            .current;
        (v.numerator, v.denominator)
    };
    assert_eq!(
        val(&on("2026-10-15"), "renewal_rate", "2026-10").await,
        (1, 1)
    );
    assert_eq!(
        val(&on("2026-10-20"), "renewal_rate", "2026-10").await,
        (1, 2)
    );
    assert_eq!(
        val(&on("2026-11-23"), "renewal_rate", "2026-10").await,
        (1, 2)
    );
    // September (P0, renewed by P1) is over on 15 October: counted whole.
    assert_eq!(
        val(&on("2026-10-15"), "renewal_rate", "2026-09").await,
        (1, 1)
    );
    // Asked on 1 October, nothing of October has ended yet.
    assert_eq!(
        val(&on("2026-10-01"), "renewal_rate", "2026-10").await,
        (0, 0)
    );
    // Orders (O1 ordered 10-10) are dated when they happen: the same on any later day.
    assert_eq!(val(&on("2026-10-15"), "orders", "2026-10").await.0, 1);
    // The store layer without a today counts the whole month.
    let whole =
        t.db.kpi_sums(
            "renewal_rate",
            &KpiSelect {
                from: d("2026-10-01"),
                until: d("2026-11-01"),
                stores: vec![f.store1],
                staff: None,
                through: None,
            },
            KpiBy::Total,
        )
        .await
        .expect("sums");
    assert_eq!((whole[0].num, whole[0].den), (1, 2));
}
both!(a_month_under_way_counts_up_to_today);

/// The server on port 0 over the October fixture (SQLite).
struct Server {
    base: String,
    http: reqwest::Client,
    f: Fixture,
    _db: TestDb,
}

impl Server {
    async fn start() -> Server {
        let t = TestDb::sqlite().await;
        let f = fixture(&t.db).await;
        october(&t.db, &f).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let svc = f.svc.clone();
        tokio::spawn(async move { dealerbase_web::serve(listener, svc).await });
        Server {
            base,
            http: reqwest::Client::new(),
            f,
            _db: t,
        }
    }

    async fn api(&self, path: &str, staff_id: i64) -> (reqwest::StatusCode, serde_json::Value) {
        let token = self
            .f
            .svc
            .issue_api_token(staff_id, "test")
            .await
            .expect("token");
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        let status = resp.status();
        (status, resp.json().await.unwrap_or_default())
    }

    async fn page(&self, path: &str, login: &str) -> (reqwest::StatusCode, String) {
        let session = self
            .f
            .svc
            .sign_in(login, "password123", "test")
            .await
            .unwrap_or_else(|_| panic!("sign in {login}"));
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("dbsid={}", session.token))
            .send()
            .await
            .expect("send");
        let status = resp.status();
        (status, resp.text().await.expect("body"))
    }
}

#[tokio::test]
async fn kpi_api_and_pages() {
    let s = Server::start().await;
    let group = s.f.group_staff.staff_id;
    let (st, cat) = s.api("/api/v1/kpis", group).await;
    assert_eq!(st, reqwest::StatusCode::OK);
    let renewal = cat
        .as_array()
        .expect("list")
        .iter()
        .find(|k| k["id"] == "renewal_rate")
        .expect("renewal in the catalogue");
    assert_eq!(renewal["unit"], "percent");
    assert_eq!(renewal["direction"], "higher_is_better");
    assert_eq!(renewal["name_zh"], "续保率");
    // The issue's example: S01's renewal in October = 1/2.
    let (st, v) = s
        .api(
            "/api/v1/kpis/values?kpi=renewal_rate&period=month&at=2026-10&scope=store&store=S01",
            group,
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{v}");
    assert_eq!(v["current"]["numerator"], 1);
    assert_eq!(v["current"]["denominator"], 2);
    assert_eq!(v["current"]["display"], "50.0%");
    assert_eq!(v["mom_display"], "-50.0pt");
    // Group 4/6; the ranking puts S02 first.
    let (_, v) = s
        .api(
            "/api/v1/kpis/values?kpi=renewal_rate&at=2026-10&scope=group",
            group,
        )
        .await;
    assert_eq!(
        (
            v["current"]["numerator"].as_i64(),
            v["current"]["denominator"].as_i64()
        ),
        (Some(4), Some(6))
    );
    let (st, r) = s
        .api(
            "/api/v1/kpis/ranking?kpi=renewal_rate&at=2026-10&scope=group&by=store",
            group,
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{r}");
    assert_eq!(r["rows"][0]["rank"], 1);
    assert_eq!(r["rows"][0]["name"], "上海广汽丰田4S店");
    let (_, recs) = s
        .api(
            "/api/v1/kpis/records?kpi=renewal_rate&at=2026-10&scope=group&which=miss",
            group,
        )
        .await;
    let labels: Vec<&str> = recs["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["label"].as_str().expect("label"))
        .collect();
    assert_eq!(labels, vec!["Q4", "P2"]);
    let (st, t) = s
        .api(
            "/api/v1/kpis/trend?kpi=renewal_rate&at=2026-10&scope=group&months=3",
            group,
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK);
    // August none, September 1/1, October 4/6.
    let dens: Vec<i64> = t
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["denominator"].as_i64().expect("den"))
        .collect();
    assert_eq!(dens, vec![0, 1, 6]);
    // Errors: a bad KPI id and a bad period are 422 naming the field; a store role asking
    // for the group is 403; another store is 404.
    let (st, e) = s.api("/api/v1/kpis/values?kpi=nope", group).await;
    assert_eq!(
        (st, e["field"].as_str()),
        (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("kpi"))
    );
    let (st, e) = s
        .api("/api/v1/kpis/values?kpi=traffic&period=week", group)
        .await;
    assert_eq!(
        (st, e["field"].as_str()),
        (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("period"))
    );
    let manager = s.f.manager1.staff_id;
    let (st, _) = s
        .api("/api/v1/kpis/values?kpi=renewal_rate&scope=group", manager)
        .await;
    assert_eq!(st, reqwest::StatusCode::FORBIDDEN);
    let (st, _) = s
        .api(
            "/api/v1/kpis/values?kpi=renewal_rate&scope=store&store=S02",
            manager,
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::NOT_FOUND);

    // Pages: the overview shows the group's renewal rate; the KPI page drills into S01 and
    // lists the non-renewed policy with the customer's name masked.
    let (st, html) = s
        .page("/management/kpis?period=month&at=2026-10", "group")
        .await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(html.contains("id=\"kpi-renewal_rate\""), "{html}");
    assert!(html.contains("66.7%"));
    let (st, html) = s
        .page(
            "/management/kpis/renewal_rate?period=month&at=2026-10",
            "group",
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(
        html.contains("/management/kpis/renewal_rate?period=month&#38;at=2026-10&#38;store=S01"),
        "store drill link: {}",
        html.split("id=\"ranking\"").nth(1).unwrap_or(&html)
    );
    let (st, html) = s
        .page(
            "/management/kpis/renewal_rate?period=month&at=2026-10&store=S01&which=miss",
            "group",
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(
        html.contains("P2") && !html.contains(">P1<"),
        "only the non-renewed policy"
    );
    assert!(html.contains("李*") && !html.contains("李四"));
    // A bad period is shown next to the field, not as an error page.
    let (st, html) = s
        .page("/management/kpis?period=month&at=2026-13", "group")
        .await;
    assert_eq!(st, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"err-at\""));
    // The costs page shows S01's October absorption (85%, good band) and its lines; the
    // targets page lists the stores.
    let (st, html) = s
        .page("/management/costs?store=S01&month=2026-10", "group")
        .await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(html.contains("85.0%") && html.contains("band-good") && html.contains("payroll"));
    let (st, html) = s.page("/management/targets?month=2026-10", "group").await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(html.contains("split-form") && html.contains("上海广汽丰田4S店"));
    let (st, html) = s.page("/management/targets?month=2026-99", "group").await;
    assert_eq!(st, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"err-month\""));
    // Dashboards: the group's (tiles, store ranking on renewal, absorption); the sales
    // manager's is their store's sales view; a bad view names the field.
    let (st, d) = s
        .api("/api/v1/management/dashboard?at=2026-10", group)
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{d}");
    assert_eq!(d["view"], "group");
    assert_eq!(d["tiles"].as_array().map(Vec::len), Some(9));
    assert_eq!(d["ranking"]["rows"][0]["name"], "上海广汽丰田4S店");
    assert_eq!(d["absorption"]["costs_fen"], 100_000);
    let (st, d) = s
        .api("/api/v1/management/dashboard?at=2026-10", manager)
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{d}");
    assert_eq!(
        (d["view"].as_str(), d["scope"]["level"].as_str()),
        (Some("sales"), Some("store"))
    );
    let (st, e) = s.api("/api/v1/management/dashboard?view=ceo", group).await;
    assert_eq!(
        (st, e["field"].as_str()),
        (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("view"))
    );
    let (st, r) = s.api("/api/v1/management/report?at=2026-10", group).await;
    assert_eq!(st, reqwest::StatusCode::OK, "{r}");
    // Every KPI but the churn cohort and the retention rate (26 − 2).
    assert_eq!(r["values"].as_array().map(Vec::len), Some(24));
    assert_eq!(r["stores"].as_array().map(Vec::len), Some(2));
    let (st, html) = s.page("/management/dashboard?at=2026-10", "group").await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(html.contains("id=\"tile-renewal_rate\"") && html.contains("<svg"));
    let (st, html) = s.page("/management/report?at=2026-10", "group").await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(html.contains("report-kpis") && html.contains("66.7%"));
    // The workbook download is an XLSX (a zip) and is audited.
    let session =
        s.f.svc
            .sign_in("group", "password123", "test")
            .await
            .expect("sign in");
    let resp = s
        .http
        .get(format!("{}/management/report.xlsx?at=2026-10", s.base))
        .header("cookie", format!("dbsid={}", session.token))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap_or("")
            .contains("management-report-2026-10.xlsx")
    );
    let bytes = resp.bytes().await.expect("bytes");
    assert_eq!(&bytes[..2], b"PK");
    let audits =
        s.f.svc
            .db
            .audit_log(None, Some("export"), None, 10)
            .await
            .expect("audit");
    assert!(
        audits.iter().any(|a| a.entity == "management_report"),
        "{audits:?}"
    );
    // The sales manager's overview is their store's.
    let (st, html) = s.page("/management/kpis?at=2026-10", "s01.manager").await;
    assert_eq!(st, reqwest::StatusCode::OK);
    assert!(html.contains("杭州一汽-大众4S店") && !html.contains("f-store"));
}

fn line(category: &str, kind: &str, amount: &str) -> dealerbase_service::management::CostLineInput {
    dealerbase_service::management::CostLineInput {
        category: category.into(),
        kind: kind.into(),
        amount: amount.into(),
    }
}

async fn operating_costs_and_absorption(t: &TestDb) {
    use dealerbase_service::management::CostsInput;
    let f = fixture(&t.db).await;
    october(&t.db, &f).await;
    // S01's October absorption: gross profit 85,000 fen ÷ costs 100,000 fen = 85%, "good"
    // (80–100%).
    let store_q = |store: &str| KpiQuery {
        at: Some("2026-10".into()),
        scope: Some("store".into()),
        store: Some(store.into()),
        ..Default::default()
    };
    let a = f
        .svc
        .absorption(&f.group_staff, &store_q("S01"))
        .await
        .expect("absorption");
    assert_eq!((a.gross_profit_fen, a.costs_fen), (85_000, 100_000));
    assert_eq!(
        (a.display.as_str(), a.band.as_deref()),
        ("85.0%", Some("good"))
    );
    // 12 months, November 2025 … October 2026; only October has costs.
    assert_eq!(a.trend.len(), 12);
    assert_eq!(a.trend[0].month, "2025-11");
    assert_eq!(a.trend[11].costs_fen, 100_000);
    assert!(a.trend[..11].iter().all(|p| p.rate.is_none()));

    // Entering S01's October again replaces its lines: ¥600 rent + ¥400.50 utilities =
    // 100,050 fen; 85,000 ÷ 100,050 = 84.96%.
    let v = f
        .svc
        .set_operating_costs(
            &f.group_staff,
            &CostsInput {
                store: "S01".into(),
                month: "2026-10".into(),
                lines: vec![
                    line("rent", "fixed", "600"),
                    line("", "fixed", ""),
                    line("utilities", "变动", "¥400.50"),
                ],
            },
        )
        .await
        .expect("costs");
    assert_eq!(
        (v.fixed_fen, v.variable_fen, v.total_fen),
        (60_000, 40_050, 100_050)
    );
    assert_eq!(v.lines.len(), 2);
    let a = f
        .svc
        .absorption(&f.group_staff, &store_q("S01"))
        .await
        .expect("absorption");
    assert_eq!(a.display, "85.0%");
    assert_eq!(a.costs_fen, 100_050);
    // S02 enters ¥1,000 of costs and has no after-sales profit: the group's absorption is
    // 85,000 ÷ (100,050 + 100,000) = 42.49% — critical.
    f.svc
        .set_operating_costs(
            &f.group_staff,
            &CostsInput {
                store: "S02".into(),
                month: "2026-10".into(),
                lines: vec![line("rent", "fixed", "1000")],
            },
        )
        .await
        .expect("costs");
    let g = f
        .svc
        .absorption(
            &f.group_staff,
            &KpiQuery {
                at: Some("2026-10".into()),
                scope: Some("group".into()),
                ..Default::default()
            },
        )
        .await
        .expect("group");
    assert_eq!((g.gross_profit_fen, g.costs_fen), (85_000, 200_050));
    assert_eq!(
        (g.display.as_str(), g.band.as_deref()),
        ("42.5%", Some("critical"))
    );

    // Bad input: every field named at once; nothing written.
    let e = f
        .svc
        .set_operating_costs(
            &f.group_staff,
            &CostsInput {
                store: "S01".into(),
                month: "2026-13".into(),
                lines: vec![
                    line("rent", "fixed", "12.345"),
                    line("rent", "monthly", "1"),
                    line("", "fixed", "5"),
                ],
            },
        )
        .await
        .expect_err("invalid");
    let ServiceError::Invalid(errors) = e else {
        panic!("{e:?}")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "month",
            "lines[0].amount",
            "lines[1].category",
            "lines[1].kind",
            "lines[2].category"
        ]
    );
    let v = f
        .svc
        .operating_costs(&f.group_staff, "S01", "2026-10")
        .await
        .expect("costs");
    assert_eq!(v.total_fen, 100_050);
    // Consultants and sales managers do not enter costs; a store role sees no other store.
    assert!(matches!(
        f.svc
            .set_operating_costs(
                &f.manager1,
                &CostsInput {
                    store: "S01".into(),
                    month: "2026-10".into(),
                    lines: vec![]
                }
            )
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        f.svc.operating_costs(&f.manager1, "S02", "2026-10").await,
        Err(ServiceError::NotFound { .. })
    ));

    // XLSX import: two good rows for November; then a file with a bad row writes nothing.
    let xlsx = |rows: &[[&str; 5]]| -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let s = book.add_worksheet();
        for (c, h) in ["门店编码", "月份", "费用类别", "性质", "金额"]
            .iter()
            .enumerate()
        {
            s.write_string(0, c as u16, *h).expect("header");
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                s.write_string(r as u32 + 1, c as u16, *v).expect("cell");
            }
        }
        book.save_to_buffer().expect("xlsx")
    };
    let n = f
        .svc
        .import_operating_costs_xlsx(
            &f.group_staff,
            &xlsx(&[
                ["S01", "2026-11", "房租", "固定", "50,000"],
                ["S02", "2026-11", "人工", "变动", "30000.5"],
            ]),
        )
        .await
        .expect("import");
    assert_eq!(n, 2);
    let v = f
        .svc
        .operating_costs(&f.group_staff, "S02", "2026-11")
        .await
        .expect("costs");
    assert_eq!(v.variable_fen, 3_000_050);
    let e = f
        .svc
        .import_operating_costs_xlsx(
            &f.group_staff,
            &xlsx(&[
                ["S01", "2026-12", "房租", "固定", "1"],
                ["S09", "2026-12", "房租", "固定", "abc"],
            ]),
        )
        .await
        .expect_err("bad row");
    let ServiceError::Invalid(errors) = e else {
        panic!("{e:?}")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["row 3: store", "row 3: amount"]);
    let v = f
        .svc
        .operating_costs(&f.group_staff, "S01", "2026-12")
        .await
        .expect("costs");
    assert!(v.lines.is_empty(), "nothing written");
}
both!(operating_costs_and_absorption);

async fn targets_split_and_completion(t: &TestDb) {
    use dealerbase_service::management::{SplitInput, TargetInput};
    let f = fixture(&t.db).await;
    october(&t.db, &f).await;
    // October 2025 (last year's same month): S01 3 orders (A 2, B 1), S02 1 order.
    let (a, b) = (f.consultant_a.staff_id, f.consultant_b.staff_id);
    for (id, store, staff) in [
        (3001, f.store1, a),
        (3002, f.store1, a),
        (3003, f.store1, b),
        (3004, f.store2, f.consultant_store2.staff_id),
    ] {
        sql(&t.db, &format!("INSERT INTO sales_order (id, store_id, customer_id, model_id, consultant_id, kind, status, ordered_on, price_fen) VALUES ({id}, {store}, 1001, {}, {staff}, 'new', 'open', '2025-10-15', 1)", f.model)).await;
    }
    let split = |store: Option<&str>, metric: &str, total: &str, method: &str| SplitInput {
        month: "2026-10".into(),
        metric: metric.into(),
        store: store.map(String::from),
        total: total.into(),
        method: method.into(),
    };
    // Group: 100 orders over S01 and S02 in proportion 3 : 1 → 75 and 25.
    let v = f
        .svc
        .split_target(&f.group_staff, &split(None, "sales", "100", "last_year"))
        .await
        .expect("group split");
    let rows: Vec<(&str, i64, i64)> = v
        .rows
        .iter()
        .map(|r| (r.store_code.as_str(), r.target, r.actual))
        .collect();
    // Actual October 2026: S01 O1 (1 order), S02 none.
    assert_eq!(rows, vec![("S01", 75, 1), ("S02", 25, 0)]);
    assert_eq!((v.target, v.actual), (100, 1));
    // S01: 10 over A and B in proportion 2 : 1 → 6.67 and 3.33 → 6 and 3, the one left
    // to the larger remainder (A) → 7 and 3. A's actual 1 (O1) → 1/7 = 14.3%.
    let v = f
        .svc
        .split_target(
            &f.group_staff,
            &split(Some("S01"), "sales", "10", "last_year"),
        )
        .await
        .expect("store split");
    let rows: Vec<(i64, i64, i64)> = v
        .rows
        .iter()
        .map(|r| (r.staff_id, r.target, r.actual))
        .collect();
    assert_eq!(rows, vec![(0, 10, 1), (a, 7, 1), (b, 3, 0)]);
    assert_eq!(v.completion, Some(0.1));
    // Edit B's share to 4.
    let v = f
        .svc
        .set_target(
            &f.group_staff,
            &TargetInput {
                month: "2026-10".into(),
                metric: "sales".into(),
                store: "S01".into(),
                staff: Some(b),
                value: "4".into(),
            },
        )
        .await
        .expect("edit");
    assert_eq!(
        v.rows.iter().find(|r| r.staff_id == b).map(|r| r.target),
        Some(4)
    );
    // After-sales revenue, evenly over S01's one advisor: ¥3,000 = 300,000 fen; actual
    // 150,000 fen (W1 + W2) → 50%.
    let v = f
        .svc
        .split_target(
            &f.group_staff,
            &split(Some("S01"), "service_revenue", "3000", "even"),
        )
        .await
        .expect("revenue split");
    let adv = v
        .rows
        .iter()
        .find(|r| r.staff_id == f.advisor1.staff_id)
        .expect("advisor");
    assert_eq!(
        (adv.target, adv.actual, adv.completion),
        (300_000, 150_000, Some(0.5))
    );
    // The store manager sees their store's staff; renewals are not split over staff; bad
    // input names the field; sales managers do not set targets.
    let v = f
        .svc
        .targets(&f.manager1, "2026-10", "sales", None)
        .await
        .expect("store view");
    assert_eq!((v.level.as_str(), v.rows.len()), ("store", 3));
    match f
        .svc
        .split_target(&f.group_staff, &split(Some("S01"), "renewals", "5", "even"))
        .await
    {
        Err(ServiceError::Invalid(e)) => assert_eq!(e[0].field, "metric"),
        other => panic!("{other:?}"),
    }
    match f
        .svc
        .split_target(&f.group_staff, &split(None, "sales", "-3", "even"))
        .await
    {
        Err(ServiceError::Invalid(e)) => {
            assert_eq!((e[0].field.as_str(), e[0].value.as_str()), ("total", "-3"))
        }
        other => panic!("{other:?}"),
    }
    match f
        .svc
        .split_target(&f.group_staff, &split(None, "sales", "3", "sideways"))
        .await
    {
        Err(ServiceError::Invalid(e)) => assert_eq!(e[0].field, "method"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        f.svc
            .split_target(&f.manager1, &split(Some("S01"), "sales", "3", "even"))
            .await,
        Err(ServiceError::Forbidden(_))
    ));
}
both!(targets_split_and_completion);
