//! The sales side of the demo beyond the customers' stories (issue 5), written after the
//! bulk load: each open lead's latest follow-up (most on time, a few late — the follow-up
//! task the stories wrote is due at the next one), invitations with show-ups over the last
//! half year, test drives booked for the coming days, the subjective-defeat flag by the
//! domain rule, and the last days' daily reports, signed by the managers except today's.
//!
//! Kept apart from `generate.rs` so the customer stories and this pass change separately.

use crate::DemoError;
use crate::rng::Rng;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use dealerbase_domain::FixedClock;
use dealerbase_domain::model::*;
use dealerbase_domain::sales::{SalesSettings, china_day_start};
use dealerbase_service::sales::{DailyReportInput, SignInput};
use dealerbase_service::{Actor, Services};
use dealerbase_store::Db;
use dealerbase_store::bulk::{TableRows, Val};
use std::sync::Arc;

const TABLES: &[&str] = &["contact", "invitation", "test_drive"];

fn at(d: NaiveDate, hour: i64, minute: i64) -> DateTime<Utc> {
    china_day_start(d) + Duration::hours(hour) + Duration::minutes(minute)
}

pub(crate) async fn enrich(db: &Db, seed: u64, as_of: NaiveDate) -> Result<(), DemoError> {
    let settings = SalesSettings::defaults();
    let recreate = db.before_bulk_load(TABLES).await?;
    let mut next_contact = db.max_id("contact").await?;
    let mut next_invitation = db.max_id("invitation").await?;
    let mut next_drive = db.max_id("test_drive").await?;
    let mut r = Rng::fork(seed, u64::MAX - 5);
    let mut after = 0;
    loop {
        let chunk = db.lead_chunk(after, 20_000).await?;
        let Some(last) = chunk.last() else { break };
        after = last.0;
        let mut contacts = TableRows::new(
            "contact",
            &[
                "id",
                "store_id",
                "customer_id",
                "lead_id",
                "staff_id",
                "channel",
                "direction",
                "purpose",
                "occurred_at",
                "outcome",
                "note",
                "grade_before",
                "grade_after",
                "next_date",
            ],
        );
        let mut invitations = TableRows::new(
            "invitation",
            &[
                "id",
                "store_id",
                "lead_id",
                "staff_id",
                "invited_at",
                "appointment_on",
                "status",
                "showed_at",
            ],
        );
        let mut drives = TableRows::new(
            "test_drive",
            &[
                "id",
                "lead_id",
                "model_id",
                "staff_id",
                "booked_at",
                "status",
            ],
        );
        for (lead, store, customer, owner, grade, status, next, created, model) in &chunk {
            let open = status == "open" || status == "ordered";
            let created_on = (*created + Duration::hours(8)).date_naive();
            let Ok(g) = LeadGrade::parse("", grade) else {
                continue;
            };
            // The latest follow-up: the one that set the next follow-up the story wrote.
            if open
                && let Some(next) = next
                && r.chance(0.97)
            {
                let day = *next - Duration::days(settings.cadence.days(g) as i64);
                if day > created_on && day <= as_of {
                    next_contact += 1;
                    contacts.push([
                        next_contact.into(),
                        (*store).into(),
                        (*customer).into(),
                        (*lead).into(),
                        Val::from(*owner),
                        (if r.chance(0.8) {
                            ContactChannel::Phone
                        } else {
                            ContactChannel::Wechat
                        })
                        .code()
                        .into(),
                        Direction::Outbound.code().into(),
                        VisitPurpose::Promote.code().into(),
                        at(day, r.range(9, 18), r.range(0, 59)).into(),
                        ContactOutcome::Reached.code().into(),
                        "跟进意向，确认购车时间".into(),
                        grade.clone().into(),
                        grade.clone().into(),
                        (*next).into(),
                    ]);
                }
            }
            // Invitations of the last half year: about a third of new leads are invited
            // within a week; about two in three come (DOMAIN.md §4 邀约到店率).
            if created_on > as_of - Duration::days(180) && r.chance(0.35) {
                let day = created_on + Duration::days(r.range(1, 7));
                let (st, showed) = if day > as_of {
                    ("invited", None)
                } else if r.chance(0.65) {
                    ("showed", Some(at(day, r.range(9, 18), 0)))
                } else {
                    ("no_show", None)
                };
                next_invitation += 1;
                invitations.push([
                    next_invitation.into(),
                    (*store).into(),
                    (*lead).into(),
                    Val::from(*owner),
                    at(created_on, 18, 0).into(),
                    day.into(),
                    st.into(),
                    Val::from(showed),
                ]);
            }
            // Test drives booked for the coming days.
            if open
                && r.chance(0.08)
                && let Some(model) = model
            {
                next_drive += 1;
                drives.push([
                    next_drive.into(),
                    (*lead).into(),
                    (*model).into(),
                    Val::from(*owner),
                    at(as_of + Duration::days(r.range(1, 5)), r.range(9, 17), 0).into(),
                    "booked".into(),
                ]);
            }
        }
        // Most consultants kept following a lead up until they asked for its defeat; about
        // one in four stopped calling first (the subjective defeats).
        let lost: Vec<_> = chunk
            .iter()
            .filter(|l| l.5 == "defeated" || l.5 == "defeat_pending")
            .collect();
        let ids: Vec<i64> = lost.iter().map(|l| l.0).collect();
        let requested: std::collections::HashMap<i64, DateTime<Utc>> =
            db.defeat_requests_of(&ids).await?.into_iter().collect();
        let mut last_plan: std::collections::HashMap<i64, (NaiveDate, NaiveDate)> =
            Default::default();
        for (lead, when, next) in db.contact_plans(&ids).await? {
            if let Some(n) = next {
                last_plan.insert(lead, ((when + Duration::hours(8)).date_naive(), n));
            }
        }
        for (lead, store, customer, owner, grade, ..) in lost {
            let (Some(req), Some((_, mut plan))) =
                (requested.get(lead), last_plan.get(lead).copied())
            else {
                continue;
            };
            if !r.chance(0.75) {
                continue;
            }
            let req_day = (*req + Duration::hours(8)).date_naive();
            let cadence = LeadGrade::parse("", grade)
                .map(|g| settings.cadence.days(g))
                .unwrap_or(14) as i64;
            while plan < req_day {
                let next = (plan + Duration::days(cadence)).min(req_day);
                next_contact += 1;
                contacts.push([
                    next_contact.into(),
                    (*store).into(),
                    (*customer).into(),
                    (*lead).into(),
                    Val::from(*owner),
                    ContactChannel::Phone.code().into(),
                    Direction::Outbound.code().into(),
                    VisitPurpose::Promote.code().into(),
                    at(plan, r.range(9, 18), r.range(0, 59)).into(),
                    ContactOutcome::Reached.code().into(),
                    "客户仍在比较，保持跟进".into(),
                    grade.clone().into(),
                    grade.clone().into(),
                    next.into(),
                ]);
                plan = next;
            }
        }
        db.bulk_insert(&[contacts, invitations, drives]).await?;
    }
    db.after_bulk_load(TABLES, &recreate).await?;
    db.fill_last_contact_at().await?;
    db.fill_test_drive_store().await?;
    let svc = Services::new(db.clone(), Arc::new(FixedClock::on(as_of)));
    svc.backfill_subjective_defeats()
        .await
        .map_err(|e| DemoError::Generator(e.to_string()))?;
    // The funnel facts the nightly job keeps, so the analytics read them from the start.
    svc.rebuild_sales_facts()
        .await
        .map_err(|e| DemoError::Generator(e.to_string()))?;
    daily_reports(db, as_of).await
}

/// The last three days' daily reports of every consultant, as they would have submitted
/// them; the managers signed all but today's.
async fn daily_reports(db: &Db, as_of: NaiveDate) -> Result<(), DemoError> {
    let err = |e: dealerbase_service::ServiceError| DemoError::Generator(e.to_string());
    for store in db.stores().await? {
        let staff = db.staff_of_store(store.id).await?;
        let manager = staff.iter().find(|s| s.role == Role::SalesManager.code());
        for day in [as_of - Duration::days(2), as_of - Duration::days(1), as_of] {
            let svc = Services::new(db.clone(), Arc::new(FixedClock::on(day)));
            for s in staff
                .iter()
                .filter(|s| s.role == Role::SalesConsultant.code())
            {
                let actor = Actor::from_staff(s).map_err(err)?;
                let r = svc
                    .submit_daily_report(
                        &actor,
                        &DailyReportInput {
                            plan: Some("回访明日到期的意向客户，邀约周末试驾".into()),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(err)?;
                if let Some(m) = manager
                    && day < as_of
                {
                    let m = Actor::from_staff(m).map_err(err)?;
                    svc.sign_daily_report(
                        &m,
                        r.id,
                        &SignInput {
                            comment: Some("已阅".into()),
                        },
                    )
                    .await
                    .map_err(err)?;
                }
            }
        }
    }
    Ok(())
}
