//! Loyalty points on SQLite and PostgreSQL: the ledger's invariants under thousands of
//! random operations checked against a reference model (seeded, the seed printed), accrual
//! from work orders and sales once only, expiry and the yearly tier review, concurrent
//! redemptions that cannot overdraw, and the API with its role checks and 4xx answers.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, today, vin};
use chrono::{Days, Months, NaiveDate};
use dealerbase_domain::FixedClock;
use dealerbase_service::loyalty::{AdjustInput, RedeemInput, TransferInput};
use dealerbase_service::{Actor, ServiceError, Services};
use dealerbase_store::loyalty::Credit;
use dealerbase_store::{CustomerFields, Db, Id, VehicleFields, WorkOrderFields, WorkOrderLine};
use std::collections::HashMap;
use std::sync::Arc;

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

async fn customer(f: &Fixture, name: &str, mobile: &str) -> Id {
    f.svc
        .db
        .create_customer(
            &CustomerFields {
                store_id: f.store1,
                kind: "individual".into(),
                name: name.into(),
                mobile: Some(mobile.into()),
                ..Default::default()
            },
            Some(f.consultant_a.staff_id),
            ("base", ""),
            f.svc.clock.now(),
        )
        .await
        .expect("customer")
}

async fn household(f: &Fixture, a: Id, b: Id, kind: &str) {
    f.svc
        .db
        .add_relation(a, b, kind, None, f.svc.clock.now())
        .await
        .expect("relation");
}

fn at(db: &Db, day: NaiveDate) -> Services {
    Services::new(db.clone(), Arc::new(FixedClock::on(day)))
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// The reference model: each member's lots as (expires_on, order opened, remaining).
#[derive(Default, Clone, Debug, PartialEq)]
struct Model {
    lots: HashMap<Id, Vec<(NaiveDate, u64, i64)>>,
    seq: u64,
}

impl Model {
    fn balance(&self, c: Id) -> i64 {
        self.lots.get(&c).map_or(0, |l| l.iter().map(|x| x.2).sum())
    }
    fn credit(&mut self, c: Id, expires: NaiveDate, points: i64) {
        self.seq += 1;
        self.lots
            .entry(c)
            .or_default()
            .push((expires, self.seq, points));
    }
    /// Takes points first-expiring first (ties: the older lot); answers the pieces taken.
    fn debit(&mut self, c: Id, mut points: i64) -> Vec<(NaiveDate, i64)> {
        let lots = self.lots.entry(c).or_default();
        lots.sort_by_key(|l| (l.0, l.1));
        let mut taken = Vec::new();
        for l in lots.iter_mut() {
            let t = l.2.min(points);
            if t > 0 {
                l.2 -= t;
                points -= t;
                taken.push((l.0, t));
            }
        }
        lots.retain(|l| l.2 > 0);
        taken
    }
    fn expire(&mut self, today: NaiveDate) {
        for lots in self.lots.values_mut() {
            lots.retain(|l| l.0 > today);
        }
    }
}

async fn snapshot(db: &Db, members: &[Id]) -> Vec<(i64, usize, usize)> {
    let mut out = Vec::new();
    for &c in members {
        out.push((
            db.loyalty_check(c).await.expect("check").balance,
            db.loyalty_entries(c, 100_000).await.expect("entries").len(),
            db.loyalty_lots(c).await.expect("lots").len(),
        ));
    }
    out
}

async fn check_invariants(db: &Db, members: &[Id], model: &Model, step: usize, op: &str) {
    for &c in members {
        let k = db.loyalty_check(c).await.expect("check");
        assert!(k.balance >= 0, "step {step} {op}: negative balance {k:?}");
        assert_eq!(
            k.balance, k.entries_sum,
            "step {step} {op}: balance ≠ Σ entries"
        );
        assert_eq!(
            k.balance, k.lots_remaining_sum,
            "step {step} {op}: balance ≠ Σ lot remainders"
        );
        assert_eq!(
            k.consumed_sum, -k.debits_sum,
            "step {step} {op}: lots consumed ≠ debits"
        );
        assert_eq!(
            k.balance,
            model.balance(c),
            "step {step} {op}: balance differs from the model for customer {c}"
        );
    }
    assert_eq!(
        db.loyalty_unpaired_transfers().await.expect("pairs"),
        0,
        "step {step} {op}: unpaired transfer"
    );
}

async fn random_operations(t: &TestDb) {
    let f = fixture(&t.db).await;
    let db = &t.db;
    let seed: u64 = std::env::var("LOYALTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_123);
    let steps: usize = std::env::var("LOYALTY_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        // PostgreSQL round trips cost more: half the steps there by default.
        .unwrap_or(match db.backend() {
            dealerbase_store::Backend::Sqlite => 2_000,
            dealerbase_store::Backend::Postgres => 1_000,
        });
    println!("loyalty property test: seed {seed}, {steps} steps (LOYALTY_SEED / LOYALTY_STEPS)");
    let mut rng = Rng(seed);
    // A and B, A and C are households; D is only a referral of A.
    let a = customer(&f, "王家父", "13800000001").await;
    let b = customer(&f, "王家母", "13800000002").await;
    let c = customer(&f, "王家子", "13800000003").await;
    let dd = customer(&f, "李友", "13800000004").await;
    household(&f, a, b, "household").await;
    household(&f, c, a, "household").await;
    household(&f, dd, a, "referral").await;
    let members = [a, b, c, dd];
    let house = |x: Id, y: Id| x != y && (x == a || y == a) && x != dd && y != dd;
    let mut model = Model::default();
    let mut day = today();
    let mut earned_sources: Vec<Id> = Vec::new();
    let mut counts: HashMap<&str, (u32, u32)> = HashMap::new();
    for step in 0..steps {
        let svc = at(db, day);
        let who = members[rng.below(4) as usize];
        let before = snapshot(db, &members).await;
        let (op, ok) = match rng.below(100) {
            // earn from a work order (sometimes one that already earned)
            0..=29 => {
                let source = if !earned_sources.is_empty() && rng.below(5) == 0 {
                    earned_sources[rng.below(earned_sources.len() as u64) as usize]
                } else {
                    rng.range(1, 1_000_000)
                };
                let points = rng.range(-5, 500);
                let expires = day
                    .checked_add_months(Months::new(rng.range(1, 6) as u32))
                    .expect("date");
                let written = db
                    .loyalty_credit(
                        &[Credit {
                            customer_id: who,
                            store_id: f.store1,
                            kind: "earn",
                            points,
                            occurred_on: day,
                            expires_on: expires,
                            source: Some(("work_order", source)),
                            amount_fen: Some(points * 100),
                            staff_id: None,
                            reason: String::new(),
                        }],
                        svc.clock.now(),
                    )
                    .await
                    .expect("credit");
                let fresh = points > 0 && !earned_sources.contains(&source);
                assert_eq!(written[0].is_some(), fresh, "step {step}: earn written");
                if fresh {
                    earned_sources.push(source);
                    model.credit(who, expires, points);
                }
                ("earn", fresh)
            }
            // redeem, sometimes more than the balance, zero, negative or not a number
            30..=54 => {
                let balance = model.balance(who);
                let points = match rng.below(10) {
                    0 => "0".to_string(),
                    1 => "-7".to_string(),
                    2 => "十".to_string(),
                    3 => (balance + rng.range(1, 50)).to_string(),
                    _ => rng.range(1, balance.max(1)).to_string(),
                };
                let r = svc
                    .redeem_points(
                        &f.manager1,
                        who,
                        &RedeemInput {
                            points: points.clone(),
                            reason: "保养抵扣".into(),
                        },
                    )
                    .await;
                let p: i64 = points.parse().unwrap_or(0);
                let valid = p >= 1 && p <= balance;
                match r {
                    Ok(_) => {
                        assert!(valid, "step {step}: redeemed {points} of {balance}");
                        model.debit(who, p);
                    }
                    Err(ServiceError::Invalid(e)) => {
                        assert!(!valid, "step {step}: refused {points} of {balance}: {e:?}");
                        assert_eq!(e[0].field, "points");
                        if p > balance {
                            assert_eq!(e[0].code(), "insufficient_points");
                            assert_eq!(
                                e[0].rule,
                                dealerbase_domain::Rule::InsufficientPoints { balance }
                            );
                        }
                    }
                    Err(e) => panic!("step {step}: {e}"),
                }
                ("redeem", valid)
            }
            // transfer, sometimes outside the household or too many points
            55..=74 => {
                let to = members[rng.below(4) as usize];
                let balance = model.balance(who);
                let points = if rng.below(6) == 0 {
                    balance + 1
                } else {
                    rng.range(1, balance.max(1))
                };
                let r = svc
                    .transfer_points(
                        &f.manager1,
                        who,
                        &TransferInput {
                            to_customer_id: to.to_string(),
                            points: points.to_string(),
                            reason: String::new(),
                        },
                    )
                    .await;
                let valid = house(who, to) && points <= balance;
                match r {
                    Ok(_) => {
                        assert!(valid, "step {step}: transfer {who}→{to} {points}/{balance}");
                        for (expires, p) in model.debit(who, points) {
                            model.credit(to, expires, p);
                        }
                    }
                    Err(ServiceError::Invalid(e)) => {
                        assert!(!valid, "step {step}: refused transfer: {e:?}");
                        let code = if house(who, to) {
                            "insufficient_points"
                        } else {
                            "not_household"
                        };
                        assert_eq!(e[0].code(), code, "step {step}");
                    }
                    Err(e) => panic!("step {step}: {e}"),
                }
                ("transfer", valid)
            }
            // manual adjustment (a consultant may not)
            75..=84 => {
                let balance = model.balance(who);
                let points = rng.range(-(balance + 20), 300);
                let by = if rng.below(8) == 0 {
                    &f.consultant_a
                } else {
                    &f.manager1
                };
                let reason = if rng.below(10) == 0 {
                    ""
                } else {
                    "补录积分"
                };
                let r = svc
                    .adjust_points(
                        by,
                        who,
                        &AdjustInput {
                            points: points.to_string(),
                            reason: reason.into(),
                        },
                    )
                    .await;
                let valid = by.staff_id == f.manager1.staff_id
                    && !reason.is_empty()
                    && points != 0
                    && -points <= balance;
                match r {
                    Ok(_) => {
                        assert!(valid, "step {step}: adjust {points}/{balance}");
                        if points > 0 {
                            let expires = day.checked_add_months(Months::new(24)).expect("date");
                            model.credit(who, expires, points);
                        } else {
                            model.debit(who, -points);
                        }
                    }
                    Err(ServiceError::Forbidden(_)) => {
                        assert_eq!(by.staff_id, f.consultant_a.staff_id)
                    }
                    Err(ServiceError::Invalid(_)) => assert!(!valid, "step {step}"),
                    Err(e) => panic!("step {step}: {e}"),
                }
                ("adjust", valid)
            }
            // time passes; due lots expire (twice: the second run expires nothing)
            _ => {
                day = day
                    .checked_add_days(Days::new(rng.range(1, 40) as u64))
                    .expect("date");
                let svc = at(db, day);
                let n = db
                    .loyalty_expire_due(day, svc.clock.now())
                    .await
                    .expect("expire");
                assert_eq!(
                    db.loyalty_expire_due(day, svc.clock.now())
                        .await
                        .expect("expire again"),
                    0
                );
                model.expire(day);
                ("expire", n > 0)
            }
        };
        let e = counts.entry(op).or_default();
        if ok {
            e.0 += 1;
        } else {
            e.1 += 1;
            assert_eq!(
                snapshot(db, &members).await,
                before,
                "step {step} {op}: a rejected operation changed the ledger"
            );
        }
        check_invariants(db, &members, &model, step, op).await;
    }
    println!("operations (applied, rejected or no-op): {counts:?}");
    // every kind of operation happened both ways
    for op in ["earn", "redeem", "transfer", "adjust", "expire"] {
        let (ok, no) = counts[op];
        assert!(ok > 0 && no > 0, "{op}: {ok} applied, {no} rejected");
    }
}
both!(random_operations);

#[allow(clippy::too_many_arguments)]
async fn work_order(
    f: &Fixture,
    number: &str,
    vehicle: Id,
    customer: Id,
    kind: &str,
    paid_by: &str,
    on: NaiveDate,
    lines: &[(&str, i64)],
) -> Id {
    f.svc
        .db
        .create_work_order(
            &WorkOrderFields {
                store_id: f.store1,
                number: number.into(),
                vehicle_id: vehicle,
                customer_id: customer,
                advisor_id: Some(f.advisor1.staff_id),
                kind: kind.into(),
                status: "settled".into(),
                opened_on: on,
                settled_on: Some(on),
                odometer_km: Some(10_000),
                total_fen: lines.iter().map(|l| l.1).sum(),
                paid_by: paid_by.into(),
            },
            &lines
                .iter()
                .map(|(k, amount)| WorkOrderLine {
                    line_kind: (*k).into(),
                    code: "X".into(),
                    name: "项目".into(),
                    quantity: 1.0,
                    amount_fen: *amount,
                    cost_fen: 0,
                })
                .collect::<Vec<_>>(),
        )
        .await
        .expect("work order")
}

async fn accrual_expiry_and_review(t: &TestDb) {
    let f = fixture(&t.db).await;
    let db = &t.db;
    let owner = customer(&f, "赵车主", "13900000001").await;
    let car = db
        .create_vehicle(
            &VehicleFields {
                vin: vin(1),
                model_id: f.model,
                store_id: f.store1,
                own_sold: true,
                delivery_date: Some(d("2026-11-01")),
                ..Default::default()
            },
            Some((owner, d("2026-11-01"))),
            f.svc.clock.now(),
        )
        .await
        .expect("vehicle");
    // maintenance: 300 yuan labour ×1 + 500 yuan parts ×0.5 = 550 points
    work_order(
        &f,
        "WO1",
        car,
        owner,
        "maintenance",
        "customer",
        d("2026-11-10"),
        &[("labour", 30_000), ("part", 50_000)],
    )
    .await;
    // insurer-paid accident and a warranty job earn nothing
    work_order(
        &f,
        "WO2",
        car,
        owner,
        "accident",
        "insurer",
        d("2026-11-11"),
        &[("labour", 90_000)],
    )
    .await;
    work_order(
        &f,
        "WO3",
        car,
        owner,
        "warranty",
        "customer",
        d("2026-11-12"),
        &[("part", 90_000)],
    )
    .await;
    // older than the 24-month expiry window: never accrued
    work_order(
        &f,
        "WO0",
        car,
        owner,
        "maintenance",
        "customer",
        d("2024-11-01"),
        &[("labour", 10_000)],
    )
    .await;
    // a delivered car at 139,900.00 yuan: 1,399 points
    db.execute_admin(&format!(
        "INSERT INTO sales_order (store_id, customer_id, vehicle_id, model_id, kind, status, ordered_on, price_fen, delivered_on) \
         VALUES ({}, {owner}, {car}, {}, 'new', 'delivered', '2026-10-20', 13990000, '2026-11-01')",
        f.store1, f.model
    ))
    .await
    .expect("sale");

    let r = f.svc.run_loyalty_jobs(today()).await.expect("jobs");
    assert_eq!(
        (r.work_orders_accrued, r.sales_accrued, r.points_accrued),
        (1, 1, 1_949)
    );
    // spend 800 + 139,900 yuan ≥ platinum's 40,000 yuan: upgraded at once
    assert_eq!(r.upgrades, 1);
    let again = f.svc.run_loyalty_jobs(today()).await.expect("jobs again");
    assert_eq!(
        (
            again.work_orders_accrued,
            again.sales_accrued,
            again.points_accrued
        ),
        (0, 0, 0)
    );
    let acc = db.loyalty_account(owner).await.expect("q").expect("member");
    assert_eq!(acc.balance, 1_949);
    assert_eq!(acc.tier, "platinum");
    // S01 + 000001 + Luhn check 7 (worked in the domain test's manner)
    assert_eq!(acc.member_no, "S010000017");
    // the member joined with the first points written (work orders accrue before sales)
    assert_eq!(acc.joined_on, d("2026-11-10"));

    // A redemption takes the first lot to expire: the sale's (expires 2028-11-01).
    let v = f
        .svc
        .customer_loyalty(&f.manager1, owner, dealerbase_domain::Lang::Zh)
        .await
        .expect("view");
    assert_eq!(v.next_expiry, Some((d("2028-11-01"), 1_399)));
    f.svc
        .redeem_points(
            &f.manager1,
            owner,
            &RedeemInput {
                points: "1500".into(),
                reason: "精品兑换".into(),
            },
        )
        .await
        .expect("redeem");
    let uses: HashMap<Id, i64> = db
        .loyalty_lot_uses(owner)
        .await
        .expect("uses")
        .into_iter()
        .map(|u| (u.lot_id, u.points))
        .collect();
    let lots = db.loyalty_lots(owner).await.expect("lots");
    assert_eq!(lots[0].expires_on, d("2028-11-01"));
    assert_eq!((uses[&lots[0].id], uses[&lots[1].id]), (1_399, 101));
    assert_eq!(
        lots.iter().map(|l| l.remaining).collect::<Vec<_>>(),
        vec![0, 449]
    );

    // A year after joining, nothing earned in the trailing year (2026-11-11 on): the review
    // drops one tier (platinum → gold), not to classic.
    let later = d("2027-11-10");
    let r = at(db, later).run_loyalty_jobs(later).await.expect("review");
    assert_eq!((r.reviewed, r.downgrades, r.lots_expired), (1, 1, 0));
    let acc = db.loyalty_account(owner).await.expect("q").expect("member");
    assert_eq!((acc.tier.as_str(), acc.reviewed_on), ("gold", later));
    // Two years after the work order its lot (449 left) expires.
    let expiry = d("2028-11-10");
    let r = at(db, expiry)
        .run_loyalty_jobs(expiry)
        .await
        .expect("expire");
    assert_eq!(r.lots_expired, 1);
    let k = db.loyalty_check(owner).await.expect("check");
    assert_eq!((k.balance, k.entries_sum, k.lots_remaining_sum), (0, 0, 0));
    let entries = db.loyalty_entries(owner, 10).await.expect("entries");
    assert_eq!(
        (entries[0].kind.as_str(), entries[0].points),
        ("expire", -449)
    );
}
both!(accrual_expiry_and_review);

async fn concurrent_redemptions_cannot_overdraw(t: &TestDb) {
    let f = fixture(&t.db).await;
    let who = customer(&f, "钱多多", "13900000009").await;
    f.svc
        .adjust_points(
            &f.manager1,
            who,
            &AdjustInput {
                points: "100".into(),
                reason: "开卡礼".into(),
            },
        )
        .await
        .expect("adjust");
    for _ in 0..5 {
        let redeem = |by: Actor| {
            let svc = f.svc.clone();
            async move {
                svc.redeem_points(
                    &by,
                    who,
                    &RedeemInput {
                        points: "30".into(),
                        reason: String::new(),
                    },
                )
                .await
            }
        };
        let (x, y) = tokio::join!(
            tokio::spawn(redeem(f.manager1.clone())),
            tokio::spawn(redeem(f.consultant_a.clone()))
        );
        let _ = (x.expect("join"), y.expect("join"));
    }
    // 100 points hold three redemptions of 30; the other seven are refused.
    let k = t.db.loyalty_check(who).await.expect("check");
    assert_eq!(
        (k.balance, k.entries_sum, k.lots_remaining_sum),
        (10, 10, 10)
    );
    assert_eq!(t.db.loyalty_entries(who, 100).await.expect("e").len(), 4);
    // the adjustment was audited
    let audit =
        t.db.audit_log(None, Some("loyalty_adjust"), Some(("customer", who)), 10)
            .await
            .expect("audit");
    assert_eq!(audit.len(), 1);
}
both!(concurrent_redemptions_cannot_overdraw);

// ---- the API and the pages against the real server ------------------------------------------

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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let svc = f.svc.clone();
        tokio::spawn(async move { dealerbase_web::serve(listener, svc).await });
        Server {
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            f,
            _db: t,
        }
    }

    async fn token(&self, a: &Actor) -> String {
        self.f
            .svc
            .issue_api_token(a.staff_id, "test")
            .await
            .expect("token")
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut req = self
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{}", self.base, path),
            )
            .bearer_auth(token)
            .header("accept-language", "en");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}

#[tokio::test]
async fn api_points_with_role_checks_and_errors() {
    use reqwest::StatusCode;
    use serde_json::json;
    let s = Server::start().await;
    let f = &s.f;
    let a = customer(f, "孙父", "13700000001").await;
    let b = customer(f, "孙女", "13700000002").await;
    let x = customer(f, "外人", "13700000003").await;
    household(f, a, b, "household").await;
    let manager = s.token(&f.manager1).await;
    let own = s.token(&f.consultant_a).await;
    let other = s.token(&f.consultant_b).await;
    let admin = s.token(&f.admin).await;
    let base = format!("/api/v1/customers/{a}/loyalty");

    let (st, v) = s.call("GET", &base, &own, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["balance"].as_i64(), v["member_no"].is_null()),
        (Some(0), true)
    );
    // another consultant's customer is not found
    let (st, _) = s.call("GET", &base, &other, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // adjust: managers only, reason required
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/adjust"),
            &own,
            Some(json!({"points": 500, "reason": "开卡"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/adjust"),
            &manager,
            Some(json!({"points": 500})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (v["code"].as_str(), v["field"].as_str()),
        (Some("required"), Some("reason"))
    );
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/adjust"),
            &manager,
            Some(json!({"points": 500, "reason": "开卡礼"})),
        )
        .await;
    assert_eq!(
        (st, v["balance"].as_i64()),
        (StatusCode::OK, Some(500)),
        "{v}"
    );
    // redeem more than the balance: 422 naming field and balance
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/redeem"),
            &own,
            Some(json!({"points": 600})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (v["code"].as_str(), v["field"].as_str()),
        (Some("insufficient_points"), Some("points"))
    );
    assert!(v["message"].as_str().unwrap_or("").contains("500"), "{v}");
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/redeem"),
            &own,
            Some(json!({"points": "abc"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("number"))
    );
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/redeem"),
            &own,
            Some(json!({"points": 120, "reason": "洗车券"})),
        )
        .await;
    assert_eq!((st, v["balance"].as_i64()), (StatusCode::OK, Some(380)));
    // transfer: only within the household
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/transfer"),
            &own,
            Some(json!({"to_customer_id": x, "points": 10})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("not_household"),
            Some("to_customer_id")
        )
    );
    let (st, v) = s
        .call(
            "POST",
            &format!("{base}/transfer"),
            &own,
            Some(json!({"to_customer_id": b, "points": 80})),
        )
        .await;
    assert_eq!(
        (st, v["balance"].as_i64()),
        (StatusCode::OK, Some(300)),
        "{v}"
    );
    assert_eq!(v["entry_ids"].as_array().map(Vec::len), Some(2));
    let (_, v) = s
        .call("GET", &format!("/api/v1/customers/{b}/loyalty"), &own, None)
        .await;
    assert_eq!(v["balance"].as_i64(), Some(80));
    assert_eq!(v["entries"][0]["kind"].as_str(), Some("transfer_in"));
    // the 360 document carries the block
    let (_, v) = s
        .call("GET", &format!("/api/v1/customers/{a}/360"), &own, None)
        .await;
    assert_eq!(v["loyalty"]["balance"].as_i64(), Some(300));
    assert_eq!(v["loyalty"]["member_no"].as_str(), Some("S010000017"));

    // settings: read by the store's staff, changed by administrators, checked
    let path = format!("/api/v1/loyalty/settings/{}", f.store1);
    let (st, v) = s.call("GET", &path, &own, None).await;
    assert_eq!((st, v["labour_rate"].as_i64()), (StatusCode::OK, Some(100)));
    let (st, _) = s
        .call("PUT", &path, &manager, Some(json!({"part_rate": 80})))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = s
        .call("PUT", &path, &admin, Some(json!({"labour_rate": -1})))
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("out_of_range"),
            Some("labour_rate")
        )
    );
    let (st, v) = s
        .call("PUT", &path, &admin, Some(json!({"part_rate": 80})))
        .await;
    assert_eq!(
        (st, v["part_rate"].as_i64(), v["labour_rate"].as_i64()),
        (StatusCode::OK, Some(80), Some(100))
    );
    let (st, _) = s
        .call(
            "GET",
            &format!("/api/v1/loyalty/settings/{}", f.store2),
            &own,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Signs in through the login form; answers the session cookie and the CSRF token.
async fn sign_in(s: &Server, login: &str) -> (String, String) {
    let csrf_of = |html: &str| {
        html.split("name=\"_csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let page = s
        .http
        .get(format!("{}/login", s.base))
        .send()
        .await
        .expect("login page");
    let mut cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect();
    let csrf = csrf_of(&page.text().await.expect("body"));
    let r = s
        .http
        .post(format!("{}/login", s.base))
        .header("cookie", cookies.join("; "))
        .form(&[
            ("login", login),
            ("password", "password123"),
            ("_csrf", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("login");
    cookies.extend(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string)),
    );
    let cookie = cookies.join("; ");
    let html = s
        .http
        .get(format!("{}/password", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    (cookie, csrf_of(&html))
}

#[tokio::test]
async fn points_page_forms_show_field_errors() {
    let s = Server::start().await;
    let f = &s.f;
    let a = customer(f, "周父", "13600000001").await;
    let b = customer(f, "周母", "13600000002").await;
    household(f, a, b, "household").await;
    let (cookie, csrf) = sign_in(&s, "s01.manager").await;
    let get = |path: String| {
        let (h, c) = (s.http.clone(), cookie.clone());
        let url = format!("{}{}", s.base, path);
        async move {
            let r = h.get(url).header("cookie", c).send().await.expect("get");
            (r.status(), r.text().await.expect("body"))
        }
    };
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let (h, c) = (s.http.clone(), cookie.clone());
        let url = format!("{}{}", s.base, path);
        async move {
            let r = h
                .post(url)
                .header("cookie", c)
                .form(&form)
                .send()
                .await
                .expect("post");
            let loc = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (r.status(), loc, r.text().await.expect("body"))
        }
    };
    let (st, html) = get(format!("/customers/{a}/loyalty")).await;
    assert_eq!(st, 200);
    assert!(html.contains("id=\"adjust-form\"") && html.contains("id=\"transfer-form\""));
    let (st, loc, _) = post(
        format!("/customers/{a}/loyalty/adjust"),
        vec![
            ("_csrf", csrf.clone()),
            ("points", "200".into()),
            ("reason", "补录".into()),
        ],
    )
    .await;
    assert_eq!(
        (st.as_u16(), loc.as_str()),
        (303, format!("/customers/{a}/loyalty?done=adjust").as_str())
    );
    // redeeming more than the balance re-shows the form with the error and the value typed
    let (st, _, html) = post(
        format!("/customers/{a}/loyalty/redeem"),
        vec![
            ("_csrf", csrf.clone()),
            ("points", "250".into()),
            ("reason", "".into()),
        ],
    )
    .await;
    assert_eq!(st, 422);
    assert!(html.contains("id=\"err-redeem-points\""), "{html}");
    assert!(html.contains("积分不足（当前余额 200 分）"), "{html}");
    assert!(html.contains("value=\"250\""));
    let (st, _, _) = post(
        format!("/customers/{a}/loyalty/transfer"),
        vec![
            ("_csrf", csrf.clone()),
            ("to_customer_id", b.to_string()),
            ("points", "50".into()),
        ],
    )
    .await;
    assert_eq!(st, 303);
    let (_, html) = get(format!("/customers/{a}")).await;
    assert!(html.contains("id=\"loyalty-balance\">150<"), "360 block");
    assert!(html.contains("S010000017"));
    // a missing CSRF token is refused
    let (st, _, _) = post(
        format!("/customers/{a}/loyalty/redeem"),
        vec![("points", "1".into())],
    )
    .await;
    assert_eq!(st, 403);
    // the settings page: errors beside their field
    let (st, html) = get("/loyalty/settings".into()).await;
    assert_eq!(st, 200);
    assert!(html.contains("name=\"labour_rate\""));
    let (admin_cookie, admin_csrf) = sign_in(&s, "admin").await;
    let r = s
        .http
        .post(format!("{}/loyalty/settings", s.base))
        .header("cookie", admin_cookie)
        .form(&[
            ("_csrf", admin_csrf.as_str()),
            ("store", &f.store1.to_string()),
            ("expiry_months", "0"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("id=\"err-expiry_months\"")
    );
}

/// `dealerbase loyalty accrue` earns once; the nightly job runs the loyalty steps too.
#[tokio::test]
async fn cli_accrue_and_the_nightly_job() {
    let t = TestDb::sqlite().await;
    let f = fixture(&t.db).await;
    let owner = customer(&f, "吴车主", "13500000001").await;
    let car =
        t.db.create_vehicle(
            &VehicleFields {
                vin: vin(7),
                model_id: f.model,
                store_id: f.store1,
                ..Default::default()
            },
            Some((owner, d("2026-01-01"))),
            f.svc.clock.now(),
        )
        .await
        .expect("vehicle");
    // repair, 200.00 yuan labour + 100.00 yuan parts → 200 + 50 = 250 points
    work_order(
        &f,
        "WO9",
        car,
        owner,
        "repair",
        "customer",
        d("2026-11-20"),
        &[("labour", 20_000), ("part", 10_000)],
    )
    .await;
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dealerbase"))
            .args([
                "loyalty",
                "accrue",
                "--database-url",
                &t.url,
                "--as-of",
                "2026-11-23",
            ])
            .env("DEALERBASE_LOG", "error")
            .output()
            .expect("run dealerbase");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        run().contains("work orders accrued 1 · sales accrued 0 · points 250"),
        "first run"
    );
    assert!(run().contains("work orders accrued 0"), "second run");
    let acc =
        t.db.loyalty_account(owner)
            .await
            .expect("q")
            .expect("member");
    assert_eq!(acc.balance, 250);

    // the nightly job: a second work order is accrued by it
    work_order(
        &f,
        "WO10",
        car,
        owner,
        "maintenance",
        "customer",
        d("2026-11-22"),
        &[("labour", 10_000)],
    )
    .await;
    let report = f
        .svc
        .run_daily_jobs("test")
        .await
        .expect("daily")
        .expect("ran");
    let l = report.loyalty.expect("loyalty step");
    assert_eq!((l.work_orders_accrued, l.points_accrued), (1, 100));
    t.finish().await;
}

/// Merging two members folds their accounts: 甲 (100 points, classic) survives 乙 (40
/// points earned, 30 redeemed → 10 left, gold): one account with 110 points, the gold
/// tier, 甲's member number (乙's recorded as a change), and a ledger that still adds up.
/// Merging a member into a non-member moves the account as it is.
async fn merging_two_members_folds_their_accounts(t: &TestDb) {
    let f = fixture(&t.db).await;
    let jia = customer(&f, "甲会员", "13900000011").await;
    let yi = customer(&f, "乙会员", "13900000012").await;
    let bing = customer(&f, "丙非会员", "13900000013").await;
    for (who, points) in [(jia, "100"), (yi, "40")] {
        f.svc
            .adjust_points(
                &f.manager1,
                who,
                &AdjustInput {
                    points: points.into(),
                    reason: "开卡礼".into(),
                },
            )
            .await
            .expect("adjust");
    }
    f.svc
        .redeem_points(
            &f.manager1,
            yi,
            &RedeemInput {
                points: "30".into(),
                reason: "洗车".into(),
            },
        )
        .await
        .expect("redeem");
    t.db.execute_admin(&format!(
        "UPDATE loyalty_account SET tier = 'gold' WHERE customer_id = {yi}"
    ))
    .await
    .expect("tier");
    let jia_no =
        t.db.loyalty_account(jia)
            .await
            .expect("a")
            .expect("jia")
            .member_no;
    let yi_no =
        t.db.loyalty_account(yi)
            .await
            .expect("a")
            .expect("yi")
            .member_no;
    f.svc
        .merge_customers(&f.manager1, jia, yi)
        .await
        .expect("merge");
    let a =
        t.db.loyalty_account(jia)
            .await
            .expect("a")
            .expect("one account");
    assert_eq!((a.balance, a.tier.as_str()), (110, "gold"));
    assert_eq!(a.member_no, jia_no);
    assert!(t.db.loyalty_account(yi).await.expect("a").is_none());
    let k = t.db.loyalty_check(jia).await.expect("check");
    assert_eq!(
        (k.balance, k.entries_sum, k.lots_remaining_sum),
        (110, 110, 110)
    );
    assert_eq!(k.consumed_sum, -k.debits_sum);
    assert_eq!(t.db.loyalty_entries(jia, 100).await.expect("e").len(), 3);
    let changes = t.db.customer_changes(jia).await.expect("changes");
    assert!(
        changes.iter().any(|c| c.field == "loyalty.member_no"
            && c.old_value.as_deref() == Some(yi_no.as_str())
            && c.new_value.as_deref() == Some(jia_no.as_str())),
        "{changes:?}"
    );
    // 丙 has no account: merging 甲 into 丙 moves it whole.
    f.svc
        .merge_customers(&f.manager1, bing, jia)
        .await
        .expect("merge into a non-member");
    let a = t.db.loyalty_account(bing).await.expect("a").expect("moved");
    assert_eq!((a.balance, a.member_no.as_str()), (110, jia_no.as_str()));
    let k = t.db.loyalty_check(bing).await.expect("check");
    assert_eq!((k.entries_sum, k.lots_remaining_sum), (110, 110));
}
both!(merging_two_members_folds_their_accounts);
