//! Showroom and leads (issue 5) on both databases, with fixed clocks: cadence and grade
//! history, escalation and the pool, defeat approval, order and delivery, the daily report,
//! and the KPIs and forecast on a small fixture worked out by hand.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, vin};
use chrono::NaiveDate;
use dealerbase_domain::FixedClock;
use dealerbase_service::input::LeadInput;
use dealerbase_service::sales::*;
use dealerbase_service::{Actor, ServiceError, Services};
use dealerbase_store::sales::LeadViewFilter;
use dealerbase_store::{Id, Lead, Scope};
use std::sync::Arc;

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// The same database seen on another day.
fn on(f: &Fixture, day: &str) -> Services {
    Services::new(f.svc.db.clone(), Arc::new(FixedClock::on(d(day))))
}

async fn walk_in(
    svc: &Services,
    who: &Actor,
    name: &str,
    mobile: &str,
    grade: &str,
    model: Id,
) -> Lead {
    svc.register_lead(
        who,
        &LeadInput {
            name: Some(name.into()),
            mobile: Some(mobile.into()),
            grade: Some(grade.into()),
            source: Some("walk_in".into()),
            desired_model_id: Some(model),
            ..Default::default()
        },
    )
    .await
    .expect("lead")
}

fn contact(grade: &str) -> ContactInput {
    ContactInput {
        grade: Some(grade.into()),
        outcome: Some("reached".into()),
        note: Some("电话跟进".into()),
        ..Default::default()
    }
}

fn field_of(e: &ServiceError) -> String {
    e.field().unwrap_or_default().to_string()
}

async fn open_follow_ups(svc: &Services, lead: Id) -> Vec<(NaiveDate, Option<Id>)> {
    svc.db
        .lead_tasks(lead)
        .await
        .expect("tasks")
        .into_iter()
        .filter(|t| t.kind == "lead_follow_up" && t.status == "open")
        .map(|t| (t.due_on, t.assignee_id))
        .collect()
}

async fn cadence_grades_only_through_contacts(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = &f.consultant_a;
    // 2026-11-02: a walk-in graded H; H is followed up every 2 days (DOMAIN.md §2).
    let day1 = on(&f, "2026-11-02");
    let lead = walk_in(&day1, a, "孙立", "13700001111", "H", f.model).await;
    assert_eq!(lead.fields.next_follow_up, Some(d("2026-11-04")));
    assert_eq!(
        open_follow_ups(&day1, lead.id).await,
        vec![(d("2026-11-04"), Some(a.staff_id))]
    );
    let c = day1
        .db
        .customer_unscoped(lead.fields.customer_id)
        .await
        .expect("customer");
    assert_eq!(c.class, "intent");
    // O only comes with an order.
    let e = day1
        .record_contact(a, lead.id, &contact("O"))
        .await
        .unwrap_err();
    assert_eq!((field_of(&e), e.code()), ("grade".into(), "one_of"));
    // 2026-11-04: the contact leaves it at A → next in 3 days; the old follow-up is done.
    let day3 = on(&f, "2026-11-04");
    let detail = day3
        .record_contact(a, lead.id, &contact("A"))
        .await
        .expect("contact");
    assert_eq!(detail.lead.grade, "A");
    assert_eq!(detail.lead.next_follow_up, Some(d("2026-11-07")));
    assert_eq!(
        open_follow_ups(&day3, lead.id).await,
        vec![(d("2026-11-07"), Some(a.staff_id))]
    );
    // The grade history: who and when, first H (the registration), then H → A.
    let h = &detail.grade_history;
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(
        (h[0].grade_before.as_deref(), h[0].grade_after.as_deref()),
        (Some("H"), Some("A"))
    );
    assert_eq!(h[0].staff_id, Some(a.staff_id));
    assert_eq!(h[0].occurred_at, day3.clock.now());
    assert_eq!(
        (h[1].grade_before.as_deref(), h[1].grade_after.as_deref()),
        (None, Some("H"))
    );
    // A later follow-up than the cadence allows is refused; an earlier one is kept.
    let mut late = contact("A");
    late.next_follow_up = Some("2026-11-20".into());
    let e = day3.record_contact(a, lead.id, &late).await.unwrap_err();
    assert_eq!(field_of(&e), "next_follow_up");
    // Only managers change the store's cadence; then H is daily (seed 003's variant).
    let form = SalesSettingsForm {
        cadence_h: Some(1),
        ..Default::default()
    };
    assert!(matches!(
        day3.update_sales_settings(a, f.store1, &form).await,
        Err(ServiceError::Forbidden(_))
    ));
    let bad = SalesSettingsForm {
        pool_after_days: Some(1),
        ..Default::default()
    };
    let e = day3
        .update_sales_settings(&f.manager1, f.store1, &bad)
        .await
        .unwrap_err();
    assert_eq!(
        (field_of(&e), e.code()),
        ("pool_after_days".into(), "out_of_range")
    );
    let saved = day3
        .update_sales_settings(&f.manager1, f.store1, &form)
        .await
        .expect("settings");
    assert_eq!(
        (saved.cadence_h, saved.cadence_a, saved.pool_after_days),
        (Some(1), Some(3), Some(30))
    );
    let detail = day3
        .record_contact(a, lead.id, &contact("H"))
        .await
        .expect("contact");
    assert_eq!(detail.lead.next_follow_up, Some(d("2026-11-05")));
    // Another consultant cannot touch it.
    assert!(matches!(
        day3.record_contact(&f.consultant_b, lead.id, &contact("B"))
            .await,
        Err(ServiceError::NotFound { .. })
    ));
}
both!(cadence_grades_only_through_contacts);

async fn escalation_and_pool_return(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = &f.consultant_a;
    let day0 = on(&f, "2026-11-01");
    let lead = walk_in(&day0, a, "钱多", "13700002222", "H", f.model).await; // due 11-03
    // The default delay is 2 days: still open on the 4th is not escalated yet…
    let r = on(&f, "2026-11-04").run_sales_jobs().await.expect("jobs");
    assert_eq!((r.escalated, r.pooled), (0, 0));
    // …on the 5th it is, once, to the store's sales manager.
    let day4 = on(&f, "2026-11-05");
    assert_eq!(day4.run_sales_jobs().await.expect("jobs").escalated, 1);
    assert_eq!(
        day4.run_sales_jobs().await.expect("jobs again").escalated,
        0,
        "idempotent"
    );
    let mine = day4.today(&f.manager1).await.expect("today");
    let esc: Vec<_> = mine
        .iter()
        .filter(|t| t.kind == "lead_escalation")
        .collect();
    assert_eq!(esc.len(), 1);
    assert_eq!(esc[0].lead_id, Some(lead.id));
    // The consultant's today page flags the lead as overdue.
    let today_a = day4.sales_today(a).await.expect("today");
    assert_eq!(
        today_a
            .overdue_leads
            .iter()
            .map(|l| l.id)
            .collect::<Vec<_>>(),
        vec![lead.id]
    );
    // A contact closes the follow-up and the escalation.
    day4.record_contact(a, lead.id, &contact("C"))
        .await
        .expect("contact"); // next 11-19
    assert!(
        day4.today(&f.manager1)
            .await
            .expect("today")
            .iter()
            .all(|t| t.kind != "lead_escalation")
    );

    // Pool: 30 days without a contact. Last contact 2026-11-05 → back on 2026-12-05.
    assert_eq!(
        on(&f, "2026-12-04")
            .run_sales_jobs()
            .await
            .expect("jobs")
            .pooled,
        0
    );
    let day_pool = on(&f, "2026-12-05");
    let r = day_pool.run_sales_jobs().await.expect("jobs");
    assert_eq!(r.pooled, 1);
    assert_eq!(
        day_pool.run_sales_jobs().await.expect("again").pooled,
        0,
        "idempotent"
    );
    let detail = day_pool
        .lead_detail(&f.manager1, lead.id)
        .await
        .expect("lead");
    assert_eq!(detail.lead.owner_id, None);
    assert!(detail.lead.pooled_at.is_some());
    let last = detail.assignments.last().expect("history");
    assert_eq!(
        (last.from_staff_id, last.to_staff_id, last.by_staff_id),
        (Some(a.staff_id), None, None)
    );
    assert_eq!(last.reason, "no_contact_30_days");
    assert!(
        open_follow_ups(&day_pool, lead.id).await.is_empty(),
        "pool leads have no follow-up owner"
    );
    // A no longer sees it as theirs; B sees it in the pool and claims it.
    assert!(day_pool.lead(a, lead.id).await.is_err());
    let pool = day_pool
        .lead_list(
            &f.consultant_b,
            &LeadListQuery {
                pool: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("pool");
    assert_eq!(
        pool.items.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![lead.id]
    );
    let claimed = day_pool
        .claim_lead(&f.consultant_b, lead.id)
        .await
        .expect("claim");
    assert_eq!(claimed.lead.owner_id, Some(f.consultant_b.staff_id));
    assert_eq!(
        open_follow_ups(&day_pool, lead.id).await,
        vec![(d("2026-12-05"), Some(f.consultant_b.staff_id))]
    );
    let e = day_pool.claim_lead(a, lead.id).await.unwrap_err();
    assert!(matches!(e, ServiceError::NotFound { .. }), "{e:?}");
    // The manager hands it to A again, with history.
    let back = day_pool
        .assign_lead(
            &f.manager1,
            lead.id,
            &AssignInput {
                to_staff_id: Some(a.staff_id),
                reason: Some("客户要求".into()),
            },
        )
        .await
        .expect("assign");
    assert_eq!(back.lead.owner_id, Some(a.staff_id));
    assert_eq!(
        back.assignments.len(),
        4,
        "created, pooled, claimed, reassigned"
    );
    assert!(matches!(
        day_pool
            .assign_lead(
                a,
                lead.id,
                &AssignInput {
                    to_staff_id: Some(f.consultant_b.staff_id),
                    reason: None
                }
            )
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    // The daily job runs the sales jobs once a day under the job lock.
    let day_job = on(&f, "2026-12-06");
    let first = day_job.run_daily_jobs("test-1").await.expect("daily");
    assert!(first.is_some());
    assert!(
        day_job
            .run_daily_jobs("test-2")
            .await
            .expect("daily")
            .is_none()
    );
}
both!(escalation_and_pool_return);

async fn defeat_request_rejection_and_approval(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = &f.consultant_a;
    let day0 = on(&f, "2026-11-01");
    let kept = walk_in(&day0, a, "周全", "13700003333", "B", f.model).await; // B: next 11-08
    let missed = walk_in(&day0, a, "吴用", "13700004444", "H", f.model).await; // H: next 11-03
    let day5 = on(&f, "2026-11-05");
    // A competitor needs brand and model; "other" needs words.
    let e = day5
        .request_defeat(
            a,
            kept.id,
            &DefeatInput {
                reason: Some("competitor_brand".into()),
                competitor_brand: Some("比亚迪".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (field_of(&e), e.code()),
        ("competitor_model".into(), "required")
    );
    let e = day5
        .request_defeat(
            a,
            kept.id,
            &DefeatInput {
                reason: Some("nonsense".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!((field_of(&e), e.code()), ("reason".into(), "one_of"));
    let req = day5
        .request_defeat(
            a,
            kept.id,
            &DefeatInput {
                reason: Some("competitor_brand".into()),
                competitor_brand: Some("比亚迪".into()),
                competitor_model: Some("秦PLUS".into()),
                note: Some("朋友推荐".into()),
            },
        )
        .await
        .expect("request");
    assert_eq!(req.status, "pending");
    assert!(!req.subjective, "contacted on time (next was 11-08)");
    // Missed: due 11-03, nobody called, request on the 5th → subjective.
    let req2 = day5
        .request_defeat(
            a,
            missed.id,
            &DefeatInput {
                reason: Some("price".into()),
                ..Default::default()
            },
        )
        .await
        .expect("request");
    assert!(req2.subjective);
    assert_eq!(
        day5.lead(a, kept.id).await.expect("lead").fields.status,
        "defeat_pending"
    );
    // The queue; consultants cannot decide; a rejection needs a comment.
    let queue = day5.defeat_queue(&f.manager1).await.expect("queue");
    assert_eq!(
        queue.iter().map(|q| q.id).collect::<Vec<_>>(),
        vec![req.id, req2.id]
    );
    assert!(matches!(
        day5.decide_defeat(
            a,
            req.id,
            &DefeatDecision {
                approve: Some(true),
                comment: None
            }
        )
        .await,
        Err(ServiceError::Forbidden(_))
    ));
    let e = day5
        .decide_defeat(
            &f.manager1,
            req.id,
            &DefeatDecision {
                approve: Some(false),
                comment: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "comment");
    // Rejected: open again with the comment and a follow-up due today.
    let day6 = on(&f, "2026-11-06");
    let rej = day6
        .decide_defeat(
            &f.manager1,
            req.id,
            &DefeatDecision {
                approve: Some(false),
                comment: Some("再争取一次试驾".into()),
            },
        )
        .await
        .expect("reject");
    assert_eq!(
        (rej.status.as_str(), rej.manager_comment.as_deref()),
        ("rejected", Some("再争取一次试驾"))
    );
    let lead = day6.lead(a, kept.id).await.expect("lead");
    assert_eq!(lead.fields.status, "open");
    assert_eq!(
        open_follow_ups(&day6, kept.id).await,
        vec![(d("2026-11-06"), Some(a.staff_id))]
    );
    // A decided request cannot be decided again.
    let e = day6
        .decide_defeat(
            &f.manager1,
            req.id,
            &DefeatDecision {
                approve: Some(true),
                comment: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "status");
    // Approved: the lead closes and the customer becomes "defeated".
    let ok = day6
        .decide_defeat(
            &f.manager1,
            req2.id,
            &DefeatDecision {
                approve: Some(true),
                comment: None,
            },
        )
        .await
        .expect("approve");
    assert_eq!(ok.status, "approved");
    let lost = day6.lead(&f.manager1, missed.id).await.expect("lead");
    assert_eq!(lost.fields.status, "defeated");
    assert!(lost.closed_at.is_some());
    assert!(open_follow_ups(&day6, missed.id).await.is_empty());
    let c = day6
        .db
        .customer_unscoped(lost.fields.customer_id)
        .await
        .expect("customer");
    assert_eq!(c.class, "defeated");
}
both!(defeat_request_rejection_and_approval);

async fn order_delivery_and_post_delivery_calls(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = &f.consultant_a;
    let care = f
        .svc
        .add_user(
            f.admin.group_id,
            Some(f.store1),
            "s01.care",
            "s01.care",
            dealerbase_domain::model::Role::CareSpecialist,
            "password123",
        )
        .await
        .expect("care");
    let day0 = on(&f, "2026-11-01");
    let lead = walk_in(&day0, a, "郑和", "13700005555", "H", f.model).await;
    let td = day0
        .book_test_drive(a, lead.id, &TestDriveInput::default())
        .await
        .expect("book");
    assert_eq!(td.status, "booked");
    assert_eq!(
        day0.finish_test_drive(a, td.id, true)
            .await
            .expect("done")
            .status,
        "done"
    );
    // The deposit is required; the model must be the store's brand.
    let e = day0
        .take_order(a, lead.id, &OrderInput::default())
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "deposit_fen");
    let order = day0
        .take_order(
            a,
            lead.id,
            &OrderInput {
                deposit_fen: Some(500_000),
                expected_delivery: Some("2026-11-20".into()),
                ..Default::default()
            },
        )
        .await
        .expect("order");
    assert_eq!(
        (order.status.as_str(), order.price_fen, order.deposit_fen),
        ("open", 13_990_000, 500_000)
    );
    let l = day0.lead_detail(a, lead.id).await.expect("lead");
    assert_eq!(
        (l.lead.grade.as_str(), l.lead.status.as_str()),
        ("O", "ordered")
    );
    assert_eq!(l.lead.next_follow_up, Some(d("2026-11-08")), "O: weekly");
    assert_eq!(l.grade_history[0].grade_before.as_deref(), Some("H"));
    assert_eq!(l.grade_history[0].grade_after.as_deref(), Some("O"));
    // Delivery: the VIN is checked.
    let day_d = on(&f, "2026-11-20");
    let mut bad = vin(77);
    bad.replace_range(8..9, if &bad[8..9] == "1" { "2" } else { "1" });
    let e = day_d
        .deliver(
            a,
            order.id,
            &DeliveryInput {
                vin: Some(bad),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!((field_of(&e), e.code()), ("vin".into(), "vin_check_digit"));
    assert!(matches!(
        day_d
            .deliver(
                &f.consultant_b,
                order.id,
                &DeliveryInput {
                    vin: Some(vin(77)),
                    ..Default::default()
                }
            )
            .await,
        Err(ServiceError::NotFound { .. })
    ));
    let out = day_d
        .deliver(
            a,
            order.id,
            &DeliveryInput {
                vin: Some(vin(77)),
                plate: Some("浙A12345".into()),
                ..Default::default()
            },
        )
        .await
        .expect("deliver");
    assert_eq!(out.order.status, "delivered");
    assert_eq!(out.order.delivered_on, Some(d("2026-11-20")));
    // The car is registered with the customer as sold here; the customer is an own-sold owner.
    let cars = day_d
        .db
        .customer_vehicles(lead.fields.customer_id)
        .await
        .expect("cars");
    assert_eq!(cars.len(), 1);
    assert!(cars[0].0.fields.own_sold);
    assert_eq!(cars[0].0.fields.selling_store_id, Some(f.store1));
    assert_eq!(cars[0].0.fields.warranty_end_date, Some(d("2029-11-20")));
    let c = day_d
        .db
        .customer_unscoped(lead.fields.customer_id)
        .await
        .expect("customer");
    assert_eq!(c.class, "own_sold_owner");
    let lead_after = day_d.lead(a, lead.id).await.expect("lead");
    assert_eq!(lead_after.fields.status, "delivered");
    // D+3 consultant, D+7 manager, D+30 care team.
    let mut calls: Vec<(String, NaiveDate, Option<Id>)> = day_d
        .db
        .lead_tasks(lead.id)
        .await
        .expect("tasks")
        .into_iter()
        .filter(|t| t.kind == "delivery_follow_up")
        .map(|t| (t.role.unwrap_or_default(), t.due_on, t.assignee_id))
        .collect();
    calls.sort_by_key(|c| c.1);
    assert_eq!(
        calls,
        vec![
            ("sales_consultant".into(), d("2026-11-23"), Some(a.staff_id)),
            (
                "sales_manager".into(),
                d("2026-11-27"),
                Some(f.manager1.staff_id)
            ),
            ("care_specialist".into(), d("2026-12-20"), Some(care)),
        ]
    );
    assert!(open_follow_ups(&day_d, lead.id).await.is_empty());
    // A second delivery of the same order is refused.
    let e = day_d
        .deliver(
            a,
            order.id,
            &DeliveryInput {
                vin: Some(vin(78)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "status");
    // The consultant sees the D+3 call among the next days, then on the day, and does it.
    let upcoming = day_d.sales_today(a).await.expect("today").upcoming;
    assert!(
        upcoming
            .iter()
            .any(|t| t.kind == "delivery_follow_up" && t.due_on == d("2026-11-23"))
    );
    let day3 = on(&f, "2026-11-23");
    let due = day3.today(a).await.expect("today");
    let call = due
        .iter()
        .find(|t| t.kind == "delivery_follow_up")
        .expect("D+3 call due");
    assert!(matches!(
        day3.complete_sales_task(&f.consultant_b, call.id, &TaskCompletion::default())
            .await,
        Err(ServiceError::NotFound { .. })
    ));
    let done = day3
        .complete_sales_task(
            a,
            call.id,
            &TaskCompletion {
                outcome: Some("reached".into()),
                note: Some("用车正常".into()),
            },
        )
        .await
        .expect("complete");
    assert_eq!(done.status, "done");
    let contacts = day3
        .db
        .customer_contacts(lead.fields.customer_id)
        .await
        .expect("contacts");
    assert_eq!(contacts[0].purpose, "after_sales");
    assert_eq!(contacts[0].note.as_deref(), Some("用车正常"));
}
both!(order_delivery_and_post_delivery_calls);

async fn daily_report_and_sign_off(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = &f.consultant_a;
    let day = on(&f, "2026-11-10");
    let l1 = walk_in(&day, a, "冯一", "13700006661", "B", f.model).await; // develop, → B
    let l2 = walk_in(&day, a, "冯二", "13700006662", "C", f.model).await; // develop, → C
    day.record_contact(a, l1.id, &contact("A"))
        .await
        .expect("B→A"); // promote, upgrade
    day.record_contact(a, l2.id, &contact("C"))
        .await
        .expect("C→C"); // promote, no change
    let v = day.daily_report_view(a, None).await.expect("view");
    let fig = &v.current;
    // 4 contacts: 2 develop (registrations) + 2 promote; one upgrade (B→A).
    assert_eq!(
        (
            fig.day.contacts,
            fig.day.develop,
            fig.day.promote,
            fig.day.after_sales
        ),
        (4, 2, 2, 0)
    );
    assert_eq!((fig.day.upgrades, fig.day.downgrades), (1, 0));
    // Leads contacted, by the grade the first contact of the day left them at: l1 B, l2 C.
    assert_eq!(fig.day.by_grade, [0, 0, 0, 1, 1]);
    // Open at the end of the day: l1 A, l2 C.
    assert_eq!(fig.open_by_grade, [0, 0, 1, 0, 1]);
    let r = day
        .submit_daily_report(
            a,
            &DailyReportInput {
                plan: Some("明天回访冯一，邀约试驾".into()),
                ..Default::default()
            },
        )
        .await
        .expect("submit");
    assert!(r.signed_at.is_none());
    assert!(matches!(
        day.submit_daily_report(&f.manager1, &DailyReportInput::default())
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    assert_eq!(
        day.sales_today(&f.manager1)
            .await
            .expect("today")
            .reports_to_sign
            .len(),
        1
    );
    assert!(matches!(
        day.sign_daily_report(a, r.id, &SignInput::default()).await,
        Err(ServiceError::Forbidden(_))
    ));
    let signed = day
        .sign_daily_report(
            &f.manager1,
            r.id,
            &SignInput {
                comment: Some("重点跟进A级".into()),
            },
        )
        .await
        .expect("sign");
    assert_eq!(signed.signed_by, Some(f.manager1.staff_id));
    assert_eq!(signed.manager_comment.as_deref(), Some("重点跟进A级"));
    // Signed reports are final.
    let e = day
        .submit_daily_report(
            a,
            &DailyReportInput {
                plan: Some("改".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "date");
    assert!(
        day.sales_today(&f.manager1)
            .await
            .expect("today")
            .reports_to_sign
            .is_empty()
    );
}
both!(daily_report_and_sign_off);

/// KPIs on a small fixture, every number worked out by hand below.
async fn kpis_and_forecast_by_hand(t: &TestDb) {
    let f = fixture(&t.db).await;
    let (a, b) = (&f.consultant_a, &f.consultant_b);
    // History for the forecast (September 2026, inside the window 2025-10-24 … 2026-10-23
    // that the rates of 2026-11-23 use): consultant A grades two leads H on 09-01; one of
    // them orders on 09-10 (9 days later, within 30). H rate = 1/2 = 50%.
    let sep = on(&f, "2026-09-01");
    let h1 = walk_in(&sep, a, "历史一", "13700007771", "H", f.model).await;
    let h2 = walk_in(&sep, a, "历史二", "13700007772", "H", f.model).await;
    on(&f, "2026-09-10")
        .take_order(
            a,
            h1.id,
            &OrderInput {
                deposit_fen: Some(100_000),
                ..Default::default()
            },
        )
        .await
        .expect("order");
    // h2 stays open (grade H) — its follow-up is long overdue, which is fine here.
    let _ = h2;

    // The period: November 2026 (from 11-01 to 11-23).
    let nov = on(&f, "2026-11-10");
    let visit = |who: &Actor, name: &str, mobile: &str, grade: Option<&str>| VisitInput {
        visitor_name: Some(name.into()),
        mobile: Some(mobile.into()),
        grade: grade.map(str::to_string),
        desired_model_id: Some(f.model),
        consultant_id: Some(who.staff_id),
        ..Default::default()
    };
    // Traffic: 5 first visits, 3 of them registered (A: 2, B: 1), 2 not registered.
    let r1 = nov
        .log_visit(a, &visit(a, "甲", "13700008881", Some("H")))
        .await
        .expect("v1");
    let r2 = nov
        .log_visit(a, &visit(a, "乙", "13700008882", Some("A")))
        .await
        .expect("v2");
    let r3 = nov
        .log_visit(b, &visit(b, "丙", "13700008883", Some("B")))
        .await
        .expect("v3");
    nov.log_visit(a, &VisitInput::default()).await.expect("v4");
    nov.log_visit(
        b,
        &VisitInput {
            channel: Some("phone_in".into()),
            ..Default::default()
        },
    )
    .await
    .expect("v5");
    assert!(r1.lead_created && r2.lead_created && r3.lead_created);
    // A repeat visit of 甲 (found by mobile): traffic 6, first visits still 5; 甲 has a second visit.
    let again = nov
        .log_visit(
            a,
            &VisitInput {
                mobile: Some("13700008881".into()),
                ..Default::default()
            },
        )
        .await
        .expect("v6");
    assert_eq!(
        (again.lead_id, again.lead_created, again.visit.first_visit),
        (r1.lead_id, false, false)
    );
    // A lead typed in by hand from a call (no traffic record): new leads = 3 + 1 = 4.
    let called = nov
        .register_lead(
            b,
            &LeadInput {
                name: Some("丁".into()),
                mobile: Some("13700008884".into()),
                grade: Some("C".into()),
                source: Some("phone_in".into()),
                ..Default::default()
            },
        )
        .await
        .expect("call");
    let (l1, l2, l3) = (
        r1.lead_id.expect("l1"),
        r2.lead_id.expect("l2"),
        r3.lead_id.expect("l3"),
    );
    // Test drives done: l1 and l3 → 2. A booked one that is cancelled does not count.
    for (who, l) in [(a, l1), (b, l3)] {
        let td = nov
            .book_test_drive(who, l, &TestDriveInput::default())
            .await
            .expect("td");
        nov.finish_test_drive(who, td.id, true).await.expect("done");
    }
    let td = nov
        .book_test_drive(a, l2, &TestDriveInput::default())
        .await
        .expect("td");
    nov.finish_test_drive(a, td.id, false)
        .await
        .expect("cancel");
    // Invitations for 11-12: l2 came, the call lead 丁 did not → show-up 1/2.
    let i1 = nov
        .invite(
            a,
            l2,
            &InvitationInput {
                appointment_on: Some("2026-11-12".into()),
            },
        )
        .await
        .expect("inv");
    let i2 = nov
        .invite(
            b,
            called.id,
            &InvitationInput {
                appointment_on: Some("2026-11-12".into()),
            },
        )
        .await
        .expect("inv");
    let day12 = on(&f, "2026-11-12");
    day12
        .invitation_outcome(a, i1.id, true)
        .await
        .expect("came");
    day12
        .invitation_outcome(b, i2.id, false)
        .await
        .expect("no show");
    // Orders: l1 orders on 11-12 and is delivered on 11-15 → orders 1, deliveries 1.
    let o = day12
        .take_order(
            a,
            l1,
            &OrderInput {
                deposit_fen: Some(200_000),
                ..Default::default()
            },
        )
        .await
        .expect("order");
    on(&f, "2026-11-15")
        .deliver(
            a,
            o.id,
            &DeliveryInput {
                vin: Some(vin(501)),
                ..Default::default()
            },
        )
        .await
        .expect("deliver");
    // Defeats: two requests (l3 price, 丁 other); l3 approved on 11-16 (a specific reason),
    // 丁 still pending. Defeats 1, requests 2, specific 1.
    let d1 = day12
        .request_defeat(
            b,
            l3,
            &DefeatInput {
                reason: Some("price".into()),
                ..Default::default()
            },
        )
        .await
        .expect("defeat");
    day12
        .request_defeat(
            b,
            called.id,
            &DefeatInput {
                reason: Some("other".into()),
                note: Some("联系不上家人".into()),
                ..Default::default()
            },
        )
        .await
        .expect("defeat");
    on(&f, "2026-11-16")
        .decide_defeat(
            &f.manager1,
            d1.id,
            &DefeatDecision {
                approve: Some(true),
                comment: None,
            },
        )
        .await
        .expect("approve");

    let now = on(&f, "2026-11-23");
    let q = PeriodQuery {
        from: Some("2026-11-01".into()),
        to: Some("2026-11-23".into()),
        by: Some("consultant".into()),
        ..Default::default()
    };
    let an = now
        .sales_analytics(&f.manager1, &q, dealerbase_domain::Lang::Zh)
        .await
        .expect("analytics");
    let c = &an.total.counts;
    assert_eq!((c.traffic, c.first_visits, c.registered), (6, 5, 3));
    assert_eq!((c.new_leads, c.second_visits), (4, 1));
    assert_eq!((c.test_drives, c.invited, c.showed), (2, 2, 1));
    assert_eq!((c.orders, c.deliveries), (1, 1));
    assert_eq!(
        (c.defeat_requests, c.defeats, c.defeats_specific),
        (2, 1, 1)
    );
    let r = &an.total.rates;
    assert_eq!(r.registration, Some(0.6)); // 3 registered / 5 first visits
    assert_eq!(r.invitation_show_up, Some(0.5)); // 1 came / 2 invited
    assert_eq!(r.test_drive, Some(0.5)); // 2 test drives / 4 new leads
    assert_eq!(r.conversion, Some(0.25)); // 1 order / 4 new leads
    assert_eq!(r.defeat, Some(0.5)); // 1 defeat / (1 defeat + 1 delivery)
    assert_eq!(r.defeat_clarity, Some(0.5)); // 1 specific / 2 requests
    assert_eq!(r.second_visit, Some(0.25)); // 1 lead came back / 4 new leads
    // By consultant: A has 甲 and 乙 (2 leads, 1 order: 50%), B has 丙 and 丁 (2 leads, 0 orders).
    let row = |id: Id| {
        an.rows
            .iter()
            .find(|x| x.key == id.to_string())
            .expect("row")
    };
    assert_eq!(
        (
            row(a.staff_id).counts.new_leads,
            row(a.staff_id).counts.orders
        ),
        (2, 1)
    );
    assert_eq!(row(a.staff_id).rates.conversion, Some(0.5));
    assert_eq!(
        (
            row(b.staff_id).counts.new_leads,
            row(b.staff_id).counts.defeats
        ),
        (2, 1)
    );
    assert_eq!(
        an.defeat_reasons
            .iter()
            .map(|(c, _, n)| (c.as_str(), *n))
            .collect::<Vec<_>>(),
        vec![("price", 1)]
    );
    // The forecast on 11-23: H rate 50% (history above). Open leads now: H: h2 and 甲? No —
    // 甲 (l1) is delivered. H: h2 only → 1; A: 乙 → 1; B: none (丙 defeated);
    // C: 丁 is pending defeat, not open → 0. O: h1 ordered in September → 1 in hand.
    // Expected orders = 1 × 50% + 1 × (A has no history: nothing) = 0.5.
    let fc = &an.forecast;
    let line = |g: &str| fc.lines.iter().find(|l| l.grade == g).expect("line");
    assert_eq!(
        (line("H").graded, line("H").ordered, line("H").rate),
        (2, 1, Some(0.5))
    );
    assert_eq!(
        (line("H").open_leads, line("A").open_leads, line("A").rate),
        (1, 1, None)
    );
    assert!(
        (fc.expected_orders - 0.5).abs() < 1e-9,
        "{}",
        fc.expected_orders
    );
    assert_eq!(fc.orders_in_hand, 1);
    // A consultant's analytics are their own: B sees B's leads only.
    let mine = now
        .sales_analytics(b, &q, dealerbase_domain::Lang::Zh)
        .await
        .expect("analytics");
    assert_eq!(mine.total.counts.new_leads, 2);
    // Traffic statistics: 6 records, 5 first visits, 3 registered → 60%.
    let st = now
        .traffic_stats(
            &f.manager1,
            &PeriodQuery {
                from: Some("2026-11-01".into()),
                to: Some("2026-11-23".into()),
                ..Default::default()
            },
            dealerbase_domain::Lang::Zh,
        )
        .await
        .expect("stats");
    assert_eq!(
        (st.total.visits, st.total.first_visits, st.total.registered),
        (6, 5, 3)
    );
    assert_eq!(st.total.registration_rate, Some(0.6));
    assert_eq!(st.by_weekday[1], 6, "2026-11-10 is a Tuesday");
    assert_eq!(st.by_hour[12], 6, "the fixed clock is noon China time");
    let phone = st
        .by_channel
        .iter()
        .find(|r| r.key == "phone_in")
        .expect("phone");
    assert_eq!(phone.visits, 1);
    // Scope: a store-2 consultant sees nothing of it.
    let other = now
        .lead_list(&f.consultant_store2, &LeadListQuery::default())
        .await
        .expect("list");
    assert!(other.items.is_empty());
    let views = now
        .db
        .lead_views(
            &Scope::Store { store_id: f.store1 },
            &LeadViewFilter {
                page: 1,
                per_page: 50,
                ..Default::default()
            },
        )
        .await
        .expect("views");
    assert_eq!(views.items.len(), 6);

    // The funnel facts of the nightly job: built on a day inside the period (days before it
    // from the facts, the rest from the records) or after it (all from the facts), the
    // analytics by every breakdown and a consultant's own are the same as from the records.
    // Every breakdown, a filtered one (two dimensions: the full day facts) and a
    // consultant's own, as `svc` answers them for the period `q`.
    let funnel_of = async |svc: &Services, q: &PeriodQuery| {
        let mut all = Vec::new();
        for by in ["store", "source", "model", "consultant"] {
            let q = PeriodQuery {
                by: Some(by.into()),
                ..q.clone()
            };
            let an = svc
                .sales_analytics(&f.manager1, &q, dealerbase_domain::Lang::Zh)
                .await
                .expect("analytics");
            all.extend(an.rows.into_iter().map(|r| (by, r.key, r.counts)));
        }
        let filtered = PeriodQuery {
            by: Some("model".into()),
            consultant_id: Some(a.staff_id),
            ..q.clone()
        };
        let an = svc
            .sales_analytics(&f.manager1, &filtered, dealerbase_domain::Lang::Zh)
            .await
            .expect("analytics");
        all.extend(
            an.rows
                .into_iter()
                .map(|r| ("a's by model", r.key, r.counts)),
        );
        let mine = svc
            .sales_analytics(b, q, dealerbase_domain::Lang::Zh)
            .await
            .expect("analytics");
        all.push(("own", String::new(), mine.total.counts));
        all
    };
    let funnel = async || funnel_of(&now, &q).await;
    let from_records = funnel().await;
    // A period with November whole in it, asked on 2026-12-05 (whole months come from the
    // monthly facts once built; the days around them from the daily ones).
    let later = on(&f, "2026-12-05");
    let months_q = PeriodQuery {
        from: Some("2026-10-20".into()),
        to: Some("2026-12-04".into()),
        ..q.clone()
    };
    let months_from_records = funnel_of(&later, &months_q).await;
    assert!(
        months_from_records.iter().any(|(_, _, c)| c.traffic > 0),
        "the wider period holds the visits"
    );
    assert_eq!(now.db.sales_facts_built_until().await.expect("state"), None);
    for day in [
        "2026-11-11",
        "2026-11-13",
        "2026-11-16",
        "2026-11-24",
        "2026-12-05",
    ] {
        on(&f, day).rebuild_sales_facts().await.expect("facts");
        assert_eq!(
            now.db.sales_facts_built_until().await.expect("state"),
            Some(d(day))
        );
        assert_eq!(funnel().await, from_records, "facts built until {day}");
        assert_eq!(
            funnel_of(&later, &months_q).await,
            months_from_records,
            "whole months, facts built until {day}"
        );
    }
    // Days before the build are read from the facts: a visit written afterwards on such a
    // day (bypassing the services) shows after the next night's rebuild.
    now.db
        .execute_admin(&format!(
            "INSERT INTO showroom_visit (store_id, channel, arrived_at, first_visit, source, consultant_id) \
             VALUES ({}, 'walk_in', '2026-11-10T04:00:00+00:00', TRUE, 'walk_in', {})",
            f.store1, a.staff_id
        ))
        .await
        .expect("visit");
    let traffic = async || {
        now.sales_analytics(&f.manager1, &q, dealerbase_domain::Lang::Zh)
            .await
            .expect("analytics")
            .total
            .counts
            .traffic
    };
    assert_eq!(traffic().await, 6);
    on(&f, "2026-11-24")
        .rebuild_sales_facts()
        .await
        .expect("facts");
    assert_eq!(traffic().await, 7);
}
both!(kpis_and_forecast_by_hand);
