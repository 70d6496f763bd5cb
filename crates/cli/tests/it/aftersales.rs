//! After-sales retention on SQLite and PostgreSQL: the daily generation creates each
//! reminder once (and nothing on a second run), outcomes retry / block / record, a low
//! follow-up score opens a complaint, complaint timers escalate, appointments remind and
//! turn into no-shows, KPIs worked out by hand, and two app instances on one PostgreSQL
//! generate each task once.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, today, vin};
use chrono::{DateTime, NaiveDate, Utc};
use dealerbase_domain::FixedClock;
use dealerbase_domain::model::Role;
use dealerbase_service::aftersales::{
    AppointmentInput, CallQuery, ComplaintInput, ComplaintStepInput, FollowUpInput, OutcomeInput,
};
use dealerbase_service::{Actor, ServiceError, Services};
use dealerbase_store::{CustomerFields, Db, Id, VehicleFields, WorkOrderFields};
use std::sync::Arc;

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("ts")
        .with_timezone(&Utc)
}

async fn customer(
    db: &Db,
    store: Id,
    name: &str,
    class: &str,
    birthday: Option<&str>,
    consent: Option<bool>,
) -> Id {
    let id = db
        .create_customer(
            &CustomerFields {
                store_id: store,
                kind: "individual".into(),
                name: name.into(),
                mobile: Some(format!(
                    "1390000{:04}",
                    name.chars().count() * 1000 + name.len()
                )),
                birthday: birthday.map(d),
                vip: class == "vip",
                ..Default::default()
            },
            None,
            (class, ""),
            ts("2020-01-01T00:00:00Z"),
        )
        .await
        .expect("customer");
    if let Some(live) = consent {
        db.record_consent(
            id,
            "marketing",
            "sms",
            "2021-11",
            None,
            ts("2021-01-01T00:00:00Z"),
        )
        .await
        .expect("consent");
        if !live {
            db.withdraw_consent(id, "marketing", "sms", ts("2024-01-01T00:00:00Z"))
                .await
                .expect("withdraw");
        }
    }
    id
}

#[allow(clippy::too_many_arguments)]
async fn vehicle(
    db: &Db,
    f: &Fixture,
    serial: u32,
    owner: Id,
    delivered: &str,
    inspection: Option<&str>,
    warranty: Option<&str>,
) -> Id {
    db.create_vehicle(
        &VehicleFields {
            vin: vin(serial),
            model_id: f.model,
            plate: Some(format!("浙A{serial:05}")),
            delivery_date: Some(d(delivered)),
            own_sold: true,
            inspection_due: inspection.map(d),
            warranty_end_date: warranty.map(d),
            store_id: f.store1,
            ..Default::default()
        },
        Some((owner, d(delivered))),
        ts("2020-01-01T00:00:00Z"),
    )
    .await
    .expect("vehicle")
}

#[allow(clippy::too_many_arguments)]
async fn work_order(
    db: &Db,
    f: &Fixture,
    number: &str,
    vehicle: Id,
    customer: Id,
    kind: &str,
    on: &str,
    km: i64,
) -> Id {
    db.create_work_order(
        &WorkOrderFields {
            store_id: f.store1,
            number: number.into(),
            vehicle_id: vehicle,
            customer_id: customer,
            advisor_id: Some(f.advisor1.staff_id),
            kind: kind.into(),
            status: "settled".into(),
            opened_on: d(on),
            settled_on: Some(d(on)),
            odometer_km: Some(km),
            total_fen: 50_000,
            paid_by: "customer".into(),
        },
        &[],
    )
    .await
    .expect("work order")
}

async fn care(f: &Fixture, db: &Db) -> Actor {
    let id = f
        .svc
        .add_user(
            f.admin.group_id,
            Some(f.store1),
            "s01.care",
            "客服小周",
            Role::CareSpecialist,
            "password123",
        )
        .await
        .expect("care user");
    Actor::from_staff(&db.staff(id).await.expect("staff")).expect("actor")
}

struct Scenario {
    a: Id,
    v1: Id,
    v3: Id,
    v4: Id,
    d_customer: Id,
    open_complaint: Id,
}

/// The store-1 world of the generation test (today = Monday 2026-11-23). Each line says
/// which rule it should trigger.
async fn scenario(f: &Fixture, db: &Db) -> Scenario {
    // A: owner with marketing consent, born 1980-11-24 (birthday tomorrow, 1 day notice).
    let a = customer(
        db,
        f.store1,
        "张三",
        "own_sold_owner",
        Some("1980-11-24"),
        Some(true),
    )
    .await;
    // V1 delivered 2023-11-23 (3rd anniversary today), inspection due 2027-01-07 (T−45),
    // warranty ends 2026-12-23 (T−30), policy ends 2027-01-07 (renewal call at T−45).
    let v1 = vehicle(
        db,
        f,
        1,
        a,
        "2023-11-23",
        Some("2027-01-07"),
        Some("2026-12-23"),
    )
    .await;
    // Maintenance: 7,000 km on 2024-05-20, 20,000 km on 2025-12-07 (13,000 km in 566 days
    // ≈ 23 km/day); next due by time 2025-12-07 + 12 months = 2026-12-07 (by km: 10,000 km
    // take ≈ 435 days → 2027-02); the 14-day reminder falls on 2026-11-23, today.
    work_order(db, f, "W-1", v1, a, "first_service", "2024-05-20", 7_000).await;
    work_order(db, f, "W-2", v1, a, "maintenance", "2025-12-07", 20_000).await;
    db.execute_admin(&format!(
        "INSERT INTO insurance_policy (store_id, vehicle_id, customer_id, kind, insurer, policy_no, start_date, end_date, premium_fen, sold_here) \
         VALUES ({}, {v1}, {a}, 'commercial', '平安', 'P-1', '2026-01-08', '2027-01-07', 450000, TRUE)",
        f.store1
    ))
    .await
    .expect("policy");
    // B: lapsed owner (last visit 2025-11-20, 12 months + 3 days ago), with consent: win-back.
    let b = customer(db, f.store1, "李四", "lapsed", None, Some(true)).await;
    let v2 = vehicle(db, f, 2, b, "2022-03-01", None, None).await;
    work_order(db, f, "W-3", v2, b, "repair", "2025-11-20", 40_000).await;
    // C: delivered 2026-11-20 by consultant A (D+3 call today, for the consultant); has an
    // appointment tomorrow (reminder today).
    let c = customer(db, f.store1, "王五", "own_sold_owner", None, None).await;
    let v3 = vehicle(db, f, 3, c, "2026-11-20", None, None).await;
    db.execute_admin(&format!(
        "INSERT INTO sales_order (store_id, customer_id, vehicle_id, model_id, consultant_id, kind, status, ordered_on, price_fen, delivered_on) \
         VALUES ({}, {c}, {v3}, {}, {}, 'new', 'delivered', '2026-11-01', 13990000, '2026-11-20')",
        f.store1, f.model, f.consultant_a.staff_id
    ))
    .await
    .expect("sale");
    db.execute_admin(&format!(
        "INSERT INTO appointment (store_id, customer_id, vehicle_id, service, scheduled_on, slot, status, created_at) \
         VALUES ({}, {c}, {v3}, 'maintenance', '2026-11-24', '10:00', 'booked', '2026-11-20T02:00:00+00:00')",
        f.store1
    ))
    .await
    .expect("appointment");
    // D: first service settled 2026-11-21 (post-service call D+2 today); born 1990-11-24 but
    // withdrew marketing consent (no birthday call); missed an appointment on 2026-11-20.
    let dc = customer(
        db,
        f.store1,
        "赵六",
        "own_sold_owner",
        Some("1990-11-24"),
        Some(false),
    )
    .await;
    let v4 = vehicle(db, f, 4, dc, "2026-05-01", None, None).await;
    work_order(db, f, "W-4", v4, dc, "first_service", "2026-11-21", 6_000).await;
    db.execute_admin(&format!(
        "INSERT INTO appointment (store_id, customer_id, vehicle_id, service, scheduled_on, slot, status, created_at) \
         VALUES ({}, {dc}, {v4}, 'repair', '2026-11-20', '09:00', 'booked', '2026-11-18T02:00:00+00:00')",
        f.store1
    ))
    .await
    .expect("appointment");
    // F: complaint closed 2026-11-20 (post-complaint call D+3 today).
    let fc = customer(db, f.store1, "钱七", "own_sold_owner", None, None).await;
    db.execute_admin(&format!(
        "INSERT INTO complaint (store_id, customer_id, category, severity, status, description, opened_at, resolved_at, closed_at) \
         VALUES ({}, {fc}, 'waiting', 'low', 'closed', '等待时间长', '2026-11-16T02:00:00+00:00', '2026-11-19T02:00:00+00:00', '2026-11-20T02:00:00+00:00')",
        f.store1
    ))
    .await
    .expect("complaint");
    // G: complaint opened Friday 2026-11-13, never contacted: contact due Wed 11-18,
    // outcome due Fri 11-20 — both ran out; escalated once (at the outcome stage).
    let g = customer(db, f.store1, "孙八", "own_sold_owner", None, None).await;
    let open_complaint = f
        .svc
        .db
        .create_complaint(&dealerbase_store::aftersales::NewComplaint {
            store_id: f.store1,
            customer_id: g,
            vehicle_id: None,
            work_order_id: None,
            channel: "phone",
            category: "charges",
            severity: "medium",
            owner_id: None,
            description: "收费不透明",
            opened_at: ts("2026-11-13T02:00:00Z"),
        })
        .await
        .expect("open complaint");
    Scenario {
        a,
        v1,
        v3,
        v4,
        d_customer: dc,
        open_complaint,
    }
}

async fn counts(db: &Db) -> Vec<(String, i64)> {
    db.task_counts_by_kind().await.expect("counts")
}

async fn generation_creates_each_reminder_once(t: &TestDb) {
    let f = fixture(&t.db).await;
    let s = scenario(&f, &t.db).await;
    let r = f.svc.generate_aftersales(today()).await.expect("generate");
    let expected: Vec<(String, i64)> = [
        ("annual_inspection", 1),
        ("appointment_reminder", 1),
        ("birthday", 1),
        ("complaint_escalation", 1),
        ("complaint_follow_up", 1),
        ("delivery_follow_up", 1),
        ("insurance_renewal", 1),
        ("maintenance_reminder", 1),
        ("no_show_follow_up", 1),
        ("purchase_anniversary", 1),
        ("service_follow_up", 1),
        ("warranty_expiry", 1),
        ("win_back", 1),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), *n))
    .collect();
    assert_eq!(counts(&t.db).await, expected, "{r:?}");
    assert_eq!(r.no_shows, 1);
    assert_eq!(r.escalations, 1);
    assert_eq!(r.vehicles, 4);
    // Run again: nothing new.
    let again = f.svc.generate_aftersales(today()).await.expect("again");
    assert_eq!(again.total(), 0, "{again:?}");
    assert_eq!(again.escalations, 0);
    assert_eq!(counts(&t.db).await, expected);
    // The post-delivery call is the consultant's; the maintenance reminder the advisors'.
    let tasks = t.db.customer_tasks(s.a).await.expect("tasks");
    let m = tasks
        .iter()
        .find(|x| x.kind == "maintenance_reminder")
        .expect("maintenance");
    assert_eq!(m.role.as_deref(), Some("service_advisor"));
    assert_eq!(m.vehicle_id, Some(s.v1));
    assert!(
        m.note.as_deref().unwrap_or("").starts_with("2026-12-07"),
        "{:?}",
        m.note
    );
    let due = f.svc.vehicle_due(&f.manager1, s.v1).await.expect("due");
    assert_eq!(due.prediction.due_on, d("2026-12-07"));
    assert_eq!(due.windows[0].status.code(), "done_here");
    let snap =
        t.db.vehicle_service_status(s.v4)
            .await
            .expect("snap")
            .expect("row");
    assert_eq!(snap.first_status, "done_here");
    assert_eq!(snap.next_service_no, 2);
    assert_eq!(snap.as_of, today());
    // The prediction is one current row per vehicle, rewritten only when it changes: the
    // next day nothing changed, so every row keeps the day it was written; a new
    // maintenance visit of v1 then rewrites v1's row.
    let next = today() + chrono::Duration::days(1);
    f.svc.generate_aftersales(next).await.expect("next day");
    for v in [s.v1, s.v4] {
        let row =
            t.db.vehicle_service_status(v)
                .await
                .expect("row")
                .expect("row");
        assert_eq!(
            row.as_of,
            today(),
            "an unchanged prediction is not rewritten: {row:?}"
        );
    }
    work_order(
        &t.db,
        &f,
        "WO-NEXT",
        s.v1,
        s.a,
        "maintenance",
        &next.to_string(),
        16_000,
    )
    .await;
    let third = next + chrono::Duration::days(1);
    f.svc.generate_aftersales(third).await.expect("third day");
    let v1 =
        t.db.vehicle_service_status(s.v1)
            .await
            .expect("v1")
            .expect("row");
    assert_eq!(v1.as_of, third, "a changed prediction is rewritten");
    assert!(v1.next_due_on > d("2026-12-07"), "{v1:?}");
    let k = f
        .svc
        .complaint(&f.manager1, s.open_complaint)
        .await
        .expect("complaint");
    assert_eq!(k.contact_by, d("2026-11-18"));
    assert_eq!(k.outcome_by, d("2026-11-20"));
    assert_eq!(
        k.overdue,
        vec!["contact".to_string(), "outcome".to_string()]
    );
    assert_eq!(k.complaint.escalated.as_deref(), Some("outcome"));
    let _ = (s.v3, s.v4, s.d_customer);
}
both!(generation_creates_each_reminder_once);

async fn holidays_and_lunar_birthdays(t: &TestDb) {
    let f = fixture(&t.db).await;
    // A VIP with consent, born 1984-02-02 = lunar 1984-01-01, keeps the lunar birthday:
    // 春节 2026 is 2026-02-17, so the birthday call (1 day notice) is made on 2026-02-16
    // and the Spring Festival call (2 days notice) on 2026-02-15.
    let e = customer(
        &t.db,
        f.store1,
        "周九",
        "vip",
        Some("1984-02-02"),
        Some(true),
    )
    .await;
    t.db.execute_admin(&format!(
        "UPDATE customer SET lunar_birthday = TRUE WHERE id = {e}"
    ))
    .await
    .expect("lunar");
    f.svc
        .generate_aftersales(d("2026-02-15"))
        .await
        .expect("0215");
    let kinds = |v: Vec<dealerbase_store::Task>| -> Vec<(String, Option<String>)> {
        v.into_iter().map(|t| (t.kind, t.note)).collect()
    };
    assert_eq!(
        kinds(t.db.customer_tasks(e).await.expect("tasks")),
        vec![("holiday".to_string(), Some("春节".to_string()))]
    );
    f.svc
        .generate_aftersales(d("2026-02-16"))
        .await
        .expect("0216");
    let mut k = kinds(t.db.customer_tasks(e).await.expect("tasks"));
    k.sort();
    assert_eq!(
        k,
        vec![
            ("birthday".to_string(), Some("农历生日".to_string())),
            ("holiday".to_string(), Some("春节".to_string())),
        ]
    );
}
both!(holidays_and_lunar_birthdays);

async fn outcomes_retry_block_and_record(t: &TestDb) {
    let f = fixture(&t.db).await;
    let s = scenario(&f, &t.db).await;
    let care = care(&f, &t.db).await;
    f.svc.generate_aftersales(today()).await.expect("generate");
    let list = f
        .svc
        .call_list(&care, &CallQuery::default())
        .await
        .expect("list");
    let renewal = list
        .iter()
        .find(|c| c.kind == "insurance_renewal")
        .expect("renewal call");
    assert!(
        renewal.mobile.as_deref().unwrap_or("").contains("****"),
        "masked"
    );
    assert_eq!(renewal.policy_end, Some(d("2027-01-07")));
    // Unreachable on Monday: retried Tuesday, then Wednesday, then given up (3 tries).
    let out = |o: &str| OutcomeInput {
        outcome: o.into(),
        ..Default::default()
    };
    let r = f
        .svc
        .record_outcome(&care, renewal.task_id, &out("unreachable"))
        .await
        .expect("1st");
    assert_eq!((r.retry_on, r.done), (Some(d("2026-11-24")), false));
    let r = f
        .svc
        .record_outcome(&care, renewal.task_id, &out("unreachable"))
        .await
        .expect("2nd");
    assert_eq!(r.retry_on, Some(d("2026-11-24")));
    let r = f
        .svc
        .record_outcome(&care, renewal.task_id, &out("unreachable"))
        .await
        .expect("3rd");
    assert!(r.done && r.retry_on.is_none());
    let again = f
        .svc
        .record_outcome(&care, renewal.task_id, &out("booked"))
        .await
        .unwrap_err();
    assert!(matches!(again, ServiceError::Conflict { .. }), "{again:?}");
    // Serviced elsewhere needs where; with it, the service is recorded against the car.
    let maint = f
        .svc
        .call_list(&f.advisor1, &CallQuery::default())
        .await
        .expect("advisor list");
    let m = maint
        .iter()
        .find(|c| c.kind == "maintenance_reminder")
        .expect("maintenance call");
    let e = f
        .svc
        .record_outcome(&f.advisor1, m.task_id, &out("serviced_elsewhere"))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("place"));
    f.svc
        .record_outcome(
            &f.advisor1,
            m.task_id,
            &OutcomeInput {
                outcome: "serviced_elsewhere".into(),
                place: Some("路边快修店".into()),
                serviced_on: Some("2026-11-20".into()),
                ..Default::default()
            },
        )
        .await
        .expect("elsewhere");
    assert_eq!(
        t.db.service_elsewhere_of(s.v1).await.expect("elsewhere"),
        vec![d("2026-11-20")]
    );
    // Bad outcome codes are refused naming the field.
    let e = f
        .svc
        .record_outcome(&care, 999_999, &out("booked"))
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::NotFound { .. }));
    // Do not contact (marketing) on the birthday call: the customer's other marketing
    // calls are cancelled and no new one is generated; service calls go on. (The
    // birthday call is due on the birthday, tomorrow: the list looks a day ahead.)
    let bday = f
        .svc
        .call_list(
            &care,
            &CallQuery {
                ahead_days: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("list")
        .into_iter()
        .find(|c| c.kind == "birthday")
        .expect("birthday call");
    f.svc
        .record_outcome(&care, bday.task_id, &out("do_not_contact"))
        .await
        .expect("dnc");
    let tasks = t.db.customer_tasks(s.a).await.expect("tasks");
    let state = |k: &str| {
        tasks
            .iter()
            .find(|t| t.kind == k)
            .map(|t| t.status.clone())
            .expect(k)
    };
    assert_eq!(state("purchase_anniversary"), "cancelled");
    assert_eq!(state("annual_inspection"), "open");
    // Next year's birthday is not generated for a blocked customer.
    let before = t.db.customer_tasks(s.a).await.expect("tasks").len();
    f.svc
        .generate_aftersales(d("2027-11-23"))
        .await
        .expect("next year");
    let after = t.db.customer_tasks(s.a).await.expect("tasks");
    assert!(
        !after
            .iter()
            .any(|t| t.kind == "birthday" && t.due_on == d("2027-11-24")),
        "blocked: {after:?}"
    );
    assert!(after.len() >= before);
    // Booked with a date: an appointment for the car.
    let insp = after
        .iter()
        .find(|t| t.kind == "annual_inspection" && t.status == "open")
        .expect("inspection");
    let r = f
        .svc
        .record_outcome(
            &care,
            insp.id,
            &OutcomeInput {
                outcome: "booked".into(),
                appointment_on: Some("2026-11-26".into()),
                slot: Some("10:30".into()),
                ..Default::default()
            },
        )
        .await
        .expect("booked");
    let appt =
        t.db.appointment(r.appointment_id.expect("appointment"))
            .await
            .expect("appt");
    assert_eq!(
        (appt.vehicle_id, appt.scheduled_on, appt.slot.as_str()),
        (s.v1, d("2026-11-26"), "10:30")
    );
}
both!(outcomes_retry_block_and_record);

async fn low_follow_up_score_opens_a_complaint(t: &TestDb) {
    let f = fixture(&t.db).await;
    let s = scenario(&f, &t.db).await;
    let care = care(&f, &t.db).await;
    f.svc.generate_aftersales(today()).await.expect("generate");
    let call = f
        .svc
        .call_list(
            &care,
            &CallQuery {
                kind: Some("service_follow_up".into()),
                ..Default::default()
            },
        )
        .await
        .expect("list")
        .into_iter()
        .next()
        .expect("post-service call");
    let (_, q, questions) = f
        .svc
        .questionnaire_for_task(&care, call.task_id)
        .await
        .expect("questionnaire");
    assert_eq!(q.kind, "service_follow_up");
    assert_eq!(questions.len(), 4);
    // A required answer missing → refused, naming the question.
    let e = f
        .svc
        .record_follow_up(
            &care,
            call.task_id,
            &FollowUpInput {
                answers: vec![(questions[0].id, 5)],
                comment: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some(format!("q{}", questions[1].id).as_str()));
    // Overall 2/5 (weight 3), advisor 3/5, on time "no", recommend 5/10:
    // (3·0.25 + 1·0.5 + 1·0 + 1·0.5) / 6 × 1000 = 1.75 / 6 × 1000 = 291.7.
    let r = f
        .svc
        .record_follow_up(
            &care,
            call.task_id,
            &FollowUpInput {
                answers: vec![
                    (questions[0].id, 2),
                    (questions[1].id, 3),
                    (questions[2].id, 0),
                    (questions[3].id, 5),
                ],
                comment: Some("等了三个小时".into()),
            },
        )
        .await
        .expect("follow-up");
    assert_eq!(r.points, 291.7);
    assert!(!r.satisfied);
    let k = f
        .svc
        .complaint(&f.manager1, r.complaint_id.expect("complaint opened"))
        .await
        .expect("complaint");
    assert_eq!(k.complaint.channel, "follow_up_call");
    assert_eq!(k.complaint.customer_id, s.d_customer);
    assert_eq!(k.complaint.severity, "high");
    assert!(k.complaint.description.contains("等了三个小时"));
    assert_eq!(k.complaint.vehicle_id, Some(s.v4));
    // The task is done as reached; the answer is a CSI survey response 1–5:
    // round(291.7 / 250) + 1 = 2.
    let surveys = t.db.customer_surveys(s.d_customer).await.expect("surveys");
    assert_eq!(
        (surveys[0].kind.as_str(), surveys[0].service_score),
        ("csi", 2)
    );
    // Close the complaint: outcome needs a resolution; close needs a satisfaction.
    let step = |step: &str, res: Option<&str>, sat: Option<&str>| ComplaintStepInput {
        step: step.into(),
        resolution: res.map(str::to_string),
        satisfaction: sat.map(str::to_string),
    };
    let e = f
        .svc
        .complaint_step(&care, k.complaint.id, &step("outcome", None, None))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("resolution"));
    f.svc
        .complaint_step(&care, k.complaint.id, &step("contact", None, None))
        .await
        .expect("contact");
    let closed = f
        .svc
        .complaint_step(
            &care,
            k.complaint.id,
            &step("close", Some("致歉并赠送保养券"), Some("satisfied")),
        )
        .await
        .expect("close");
    assert_eq!(closed.complaint.status, "closed");
    assert!(closed.overdue.is_empty());
    // Registering a complaint checks every field at once.
    let e = f
        .svc
        .open_complaint(
            &care,
            &ComplaintInput {
                customer_id: s.a,
                channel: "pigeon".into(),
                category: "repair_quality".into(),
                severity: "extreme".into(),
                description: " ".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let ServiceError::Invalid(list) = e else {
        panic!("invalid expected")
    };
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["channel", "severity", "description"]);
}
both!(low_follow_up_score_opens_a_complaint);

async fn appointments_book_and_arrive(t: &TestDb) {
    let f = fixture(&t.db).await;
    let s = scenario(&f, &t.db).await;
    let id = f
        .svc
        .book_appointment(
            &f.advisor1,
            &AppointmentInput {
                vehicle_id: s.v1,
                service: "maintenance".into(),
                scheduled_on: "2026-11-23".into(),
                slot: Some("14:00".into()),
                advisor_id: None,
                note: None,
            },
        )
        .await
        .expect("book");
    let e = f
        .svc
        .book_appointment(
            &f.advisor1,
            &AppointmentInput {
                vehicle_id: s.v1,
                service: "wash".into(),
                scheduled_on: "2026-11-01".into(),
                slot: Some("25:00".into()),
                advisor_id: None,
                note: None,
            },
        )
        .await
        .unwrap_err();
    let ServiceError::Invalid(list) = e else {
        panic!("invalid")
    };
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["service", "scheduled_on", "slot"]);
    // The arrival view shows what the car is due for (2026-12-07, the 3rd service).
    let view = f.svc.arrivals(&f.advisor1, None).await.expect("arrivals");
    assert_eq!(view.len(), 1);
    let due = view[0].due.as_ref().expect("due");
    assert_eq!(due.prediction.due_on, d("2026-12-07"));
    assert_eq!(due.prediction.service_no, 3);
    assert!(view[0].score.is_none(), "no mining snapshot yet");
    f.svc
        .appointment_status(&f.advisor1, id, "arrived")
        .await
        .expect("arrived");
    let e = f
        .svc
        .appointment_status(&f.advisor1, id, "arrived")
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::NotFound { .. }));
    // Another store's consultant cannot book this car.
    assert!(
        f.svc
            .book_appointment(
                &f.consultant_store2,
                &AppointmentInput {
                    vehicle_id: s.v1,
                    service: "maintenance".into(),
                    scheduled_on: "2026-11-25".into(),
                    ..Default::default()
                },
            )
            .await
            .is_err()
    );
}
both!(appointments_book_and_arrive);

async fn kpis_by_hand(t: &TestDb) {
    let f = fixture(&t.db).await;
    let s = scenario(&f, &t.db).await;
    f.svc.generate_aftersales(today()).await.expect("generate");
    let k = f
        .svc
        .aftersales_kpis(&f.manager1, 12, None)
        .await
        .expect("kpis");
    assert_eq!(k.months.len(), 12);
    assert_eq!(k.months.last().map(String::as_str), Some("2026-11"));
    // First-service windows closing 2025-12-01 … 2026-11-23: V4 (delivered 2026-05-01,
    // 6 months → due 2026-11-01, closes 30 days later 2026-12-01 — not yet closed) is
    // out; V1's first window closed in 2024, V3's is in 2027, V2's in 2022. So 0 / 0.
    assert_eq!(k.first_service.denominator, 0);
    // Renewal: the only policy ends 2027-01-07, outside the 12 months → nothing due.
    assert_eq!(k.renewal.denominator, 0);
    // Follow-up calls due in the period: 3 (delivery D+3, service D+2, complaint D+3),
    // none reached yet → 0 / 3.
    assert_eq!((k.follow_up.numerator, k.follow_up.denominator), (0, 3));
    // Complaints opened since 2025-12-01: F (closed after 4 days → in time) and G (open
    // 10 days, not yet over two weeks) → closure = 1 / (1 + 0 + 0) = 100%.
    assert_eq!(k.complaint_closure, Some(1.0));
    // Lapsed owners in store 1: B.
    assert_eq!(k.lapsed_by_store[0].1, 1);
    let _ = s;
}
both!(kpis_by_hand);

/// Two app instances (two pools, two Services) on one PostgreSQL database run the daily
/// jobs at the same moment: one of them runs them, and each task exists once — and even
/// when both run the generation itself concurrently, the dedupe keys keep one of each.
#[tokio::test]
async fn two_instances_on_postgres_generate_each_task_once() {
    let admin = std::env::var("DEALERBASE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("dbtest_as_{}", std::process::id());
    let admin_db = Db::connect(&admin).await.expect("postgres");
    admin_db
        .execute_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
    admin_db
        .execute_admin(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    let (base, _) = admin.rsplit_once('/').expect("url");
    let url = format!("{base}/{name}");
    let db1 = Db::open(&url).await.expect("instance 1");
    let db2 = Db::open(&url).await.expect("instance 2");
    let f = fixture(&db1).await;
    scenario(&f, &db1).await;
    let clock = Arc::new(FixedClock::on(today()));
    let one = Services::new(db1.clone(), clock.clone());
    let two = Services::new(db2.clone(), clock.clone());
    let (a, b) = tokio::join!(
        one.run_daily_jobs("instance-1"),
        two.run_daily_jobs("instance-2")
    );
    let ran: Vec<bool> = [a.expect("1"), b.expect("2")]
        .iter()
        .map(Option::is_some)
        .collect();
    assert_eq!(
        ran.iter().filter(|r| **r).count(),
        1,
        "exactly one ran: {ran:?}"
    );
    let after_jobs = counts(&db1).await;
    assert_eq!(after_jobs.len(), 13);
    assert!(after_jobs.iter().all(|(_, n)| *n == 1), "{after_jobs:?}");
    // The next day, again at the same moment: again exactly one runs, and the day's new
    // calls exist once each.
    let day2 = Arc::new(FixedClock::on(today() + chrono::Duration::days(1)));
    let one = Services::new(db1.clone(), day2.clone());
    let two = Services::new(db2.clone(), day2.clone());
    let (a, b) = tokio::join!(
        one.run_daily_jobs("instance-1"),
        two.run_daily_jobs("instance-2")
    );
    let reports: Vec<_> = [a.expect("1"), b.expect("2")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(reports.len(), 1);
    let made = reports[0]
        .aftersales
        .as_ref()
        .expect("generation ran")
        .total() as i64;
    let total: i64 = counts(&db2).await.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 13 + made);
    db1.close().await;
    db2.close().await;
    let _ = admin_db
        .execute_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin_db.close().await;
}
