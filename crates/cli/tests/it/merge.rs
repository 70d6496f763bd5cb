//! Manual merge of two customers (preview, one transaction, hidden merged customer, the
//! record of the merge, roles) and the exports of vehicles, leads, tasks and work orders
//! (filters, masking, reveal by permitted roles, audit), on both databases.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture, today, vin};
use dealerbase_domain::Lang;
use dealerbase_service::ServiceError;
use dealerbase_service::export::{ExportFormat, TaskQuery, VehicleQuery, WorkOrderQuery};
use dealerbase_service::input::{
    CustomerInput, LeadInput, VehicleInput, WorkOrderInput, WorkOrderLineInput,
};
use dealerbase_service::records::{CustomerQuery, LeadQuery};
use dealerbase_store::{Id, NewContact, NewTask};

async fn customer(f: &Fixture, name: &str, mobile: &str, email: Option<&str>) -> Id {
    f.svc
        .create_customer(
            &f.manager1,
            &CustomerInput {
                name: Some(name.into()),
                mobile: Some(mobile.into()),
                email: email.map(str::to_string),
                store_id: Some(f.store1),
                ..Default::default()
            },
        )
        .await
        .expect("customer")
        .customer
        .id
}

/// A customer with a vehicle, a work order with a line, a lead, a contact, a task and a
/// consent.
async fn with_history(
    f: &Fixture,
    name: &str,
    mobile: &str,
    serial: u32,
    email: Option<&str>,
) -> Id {
    let id = customer(f, name, mobile, email).await;
    let v = f
        .svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(vin(serial)),
                model_id: Some(f.model),
                plate: Some(format!("浙A{serial:05}")),
                delivery_date: Some("2025-06-01".into()),
                own_sold: Some(true),
                customer_id: Some(id),
                ..Default::default()
            },
        )
        .await
        .expect("vehicle");
    f.svc
        .create_work_order(
            &f.manager1,
            &WorkOrderInput {
                number: Some(format!("W{serial}")),
                vehicle_id: Some(v.id),
                kind: Some("maintenance".into()),
                opened_on: Some("2026-06-01".into()),
                settled_on: Some("2026-06-01".into()),
                lines: vec![WorkOrderLineInput {
                    line_kind: Some("labour".into()),
                    name: Some("保养".into()),
                    amount_fen: Some(30_000),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .expect("work order");
    let lead = f
        .svc
        .create_lead(
            &f.manager1,
            &LeadInput {
                customer_id: Some(id),
                grade: Some("A".into()),
                source: Some("walk_in".into()),
                owner_id: Some(f.consultant_a.staff_id),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    let now = f.svc.clock.now();
    f.svc
        .db
        .create_contact(&NewContact {
            store_id: f.store1,
            customer_id: id,
            lead_id: Some(lead.id),
            staff_id: Some(f.consultant_a.staff_id),
            channel: "phone",
            direction: "outbound",
            purpose: "lead_follow_up",
            occurred_at: now,
            outcome: "reached",
            note: None,
            grade_before: None,
            grade_after: None,
            next_date: None,
        })
        .await
        .expect("contact");
    f.svc
        .db
        .create_task(
            &NewTask {
                store_id: f.store1,
                kind: "lead_follow_up",
                customer_id: Some(id),
                lead_id: Some(lead.id),
                vehicle_id: None,
                assignee_id: Some(f.consultant_a.staff_id),
                role: None,
                due_on: today(),
                note: Some("=cmd|' /C calc'!A0"),
                dedupe_key: None,
            },
            now,
        )
        .await
        .expect("task");
    f.svc
        .db
        .record_consent(
            id,
            "marketing",
            "paper",
            "v1",
            Some(f.manager1.staff_id),
            now,
        )
        .await
        .expect("consent");
    id
}

async fn merge_moves_everything_in_one_transaction(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = with_history(&f, "张伟", "13811110001", 1, None).await;
    let b = with_history(&f, "张伟", "13811110002", 2, Some("zw@example.com")).await;
    // B was updated an hour after A.
    let b_fields = t.db.customer_unscoped(b).await.expect("b").fields;
    t.db.update_customer(b, &b_fields, f.svc.clock.now() + chrono::Duration::hours(1))
        .await
        .expect("touch");
    let other = customer(&f, "李雷", "13811110003", None).await;
    // Preview: B's e-mail fills A's empty one; B was updated later, so its mobile wins.
    let p = f
        .svc
        .merge_preview(&f.manager1, a, b)
        .await
        .expect("preview");
    let email = p.fields.iter().find(|d| d.field == "email").expect("email");
    assert_eq!(
        (email.result.as_deref(), email.from.as_str()),
        (Some("zw@example.com"), "merged")
    );
    let mobile = p
        .fields
        .iter()
        .find(|d| d.field == "mobile")
        .expect("mobile");
    // Masked in the preview.
    assert_eq!(mobile.survivor_value.as_deref(), Some("138****0001"));
    for table in ["vehicle_ownership", "work_order", "lead", "consent"] {
        assert_eq!(p.moves.get(table), Some(&1), "{table}: {:?}", p.moves);
    }
    // Registering the lead wrote its first contact and scheduled its first follow-up, so
    // B has two contacts (that one + the call above) and two tasks (follow-up + the task).
    for table in ["contact", "task"] {
        assert_eq!(p.moves.get(table), Some(&2), "{table}: {:?}", p.moves);
    }
    // Not allowed: a consultant; the same customer twice.
    assert!(matches!(
        f.svc.merge_customers(&f.consultant_a, a, b).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        f.svc.merge_customers(&f.manager1, a, a).await,
        Err(ServiceError::Invalid(_))
    ));
    let r = f
        .svc
        .merge_customers(&f.manager1, a, b)
        .await
        .expect("merge");
    assert_eq!(r.moved.get("vehicle_ownership"), Some(&1));
    // Everything of B is A's now.
    assert_eq!(t.db.customer_vehicles(a).await.expect("v").len(), 2);
    assert_eq!(t.db.customer_work_orders(a).await.expect("wo").len(), 2);
    assert_eq!(t.db.customer_leads(a).await.expect("leads").len(), 2);
    // Two contacts and two tasks each (see the preview above): 2 + 2.
    assert_eq!(t.db.customer_contacts(a).await.expect("contacts").len(), 4);
    assert_eq!(t.db.customer_tasks(a).await.expect("tasks").len(), 4);
    assert_eq!(t.db.customer_consents(a).await.expect("consents").len(), 2);
    for n in [
        t.db.customer_vehicles(b).await.expect("v").len(),
        t.db.customer_work_orders(b).await.expect("wo").len(),
        t.db.customer_tasks(b).await.expect("t").len(),
    ] {
        assert_eq!(n, 0);
    }
    let a_now = t.db.customer_unscoped(a).await.expect("a");
    assert_eq!(a_now.fields.email.as_deref(), Some("zw@example.com"));
    assert_eq!(a_now.fields.mobile.as_deref(), Some("13811110002"));
    // B is hidden from lists and searches, and points at A.
    let list = f
        .svc
        .list_customers(
            &f.manager1,
            &CustomerQuery {
                q: Some("张伟".into()),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(list.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a]);
    let b_now = f
        .svc
        .customer(&f.manager1, b)
        .await
        .expect("b still readable");
    assert_eq!(b_now.customer.merged_into, Some(a));
    // Merged again: conflict; merging into a merged customer: conflict.
    assert!(matches!(
        f.svc.merge_customers(&f.manager1, a, b).await,
        Err(ServiceError::Conflict { .. })
    ));
    assert!(matches!(
        f.svc.merge_customers(&f.manager1, b, other).await,
        Err(ServiceError::Conflict { .. })
    ));
    // The record: who, what moved, which fields changed (masked), and the audit entry.
    let merges = f.svc.customer_merges(&f.manager1, 1).await.expect("merges");
    assert_eq!(merges.items.len(), 1);
    let m = &merges.items[0];
    assert_eq!(
        (m.merge.survivor_id, m.merge.merged_id, m.merge.staff_id),
        (a, b, Some(f.manager1.staff_id))
    );
    assert_eq!(m.moved_rows.get("task"), Some(&2));
    let fields: Vec<&str> = m.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["mobile", "email"]);
    assert_eq!(m.changes[0].new_value.as_deref(), Some("138****0002"));
    let audit =
        t.db.audit_log(Some(f.manager1.staff_id), Some("merge"), None, 10)
            .await
            .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(
        f.svc
            .merge_of(&f.manager1, b)
            .await
            .expect("merge of")
            .map(|m| m.survivor_id),
        Some(a)
    );
    // A consultant may not review merges.
    assert!(f.svc.customer_merges(&f.consultant_a, 1).await.is_err());
    t.db.close().await;
}
both!(merge_moves_everything_in_one_transaction);

async fn exports_of_every_list(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = with_history(&f, "王芳", "13911110001", 11, None).await;
    with_history(&f, "@SUM(A1)", "13911110002", 12, None).await;
    let _ = a;
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    // Vehicles, filtered by plate; owner mobile masked; formula neutralised.
    let mut out = Vec::new();
    let n = f
        .svc
        .export_vehicles(
            &f.manager1,
            &VehicleQuery {
                q: Some("浙A00012".into()),
                ..Default::default()
            },
            ExportFormat::Csv,
            Lang::En,
            false,
            &mut out,
        )
        .await
        .expect("vehicles");
    let csv = text(out);
    assert_eq!(n, 1, "{csv}");
    assert!(
        csv.contains("'@SUM(A1)") && csv.contains("139****0002") && !csv.contains("13911110002"),
        "{csv}"
    );
    // Revealed for a manager, refused for a consultant.
    let mut out = Vec::new();
    f.svc
        .export_vehicles(
            &f.manager1,
            &VehicleQuery::default(),
            ExportFormat::Csv,
            Lang::Zh,
            true,
            &mut out,
        )
        .await
        .expect("revealed");
    let csv = text(out);
    assert!(
        csv.contains("13911110001") && csv.starts_with("\u{feff}车架号,"),
        "{csv}"
    );
    assert!(matches!(
        f.svc
            .export_vehicles(
                &f.consultant_a,
                &VehicleQuery::default(),
                ExportFormat::Csv,
                Lang::Zh,
                true,
                &mut Vec::new()
            )
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    // Leads by grade; tasks (the note is neutralised); work orders by date, as XLSX.
    let mut out = Vec::new();
    let n = f
        .svc
        .export_leads(
            &f.manager1,
            &LeadQuery {
                grade: Some("A".into()),
                ..Default::default()
            },
            ExportFormat::Csv,
            Lang::En,
            false,
            &mut out,
        )
        .await
        .expect("leads");
    assert_eq!(n, 2);
    let mut out = Vec::new();
    let n = f
        .svc
        .export_leads(
            &f.manager1,
            &LeadQuery {
                grade: Some("H".into()),
                ..Default::default()
            },
            ExportFormat::Csv,
            Lang::En,
            false,
            &mut out,
        )
        .await
        .expect("leads");
    assert_eq!(n, 0);
    let mut out = Vec::new();
    let n = f
        .svc
        .export_tasks(
            &f.consultant_a,
            &TaskQuery {
                status: Some("open".into()),
                ..Default::default()
            },
            ExportFormat::Csv,
            Lang::En,
            false,
            &mut out,
        )
        .await
        .expect("tasks");
    let csv = text(out);
    // Per customer: the lead's first follow-up (scheduled when it was registered) and the
    // task written above, all assigned to consultant A: 2 customers × 2 = 4.
    assert_eq!(n, 4, "{csv}");
    assert!(csv.contains("'=cmd|"), "{csv}");
    // A consultant of another store sees none of them.
    let n = f
        .svc
        .export_tasks(
            &f.consultant_store2,
            &TaskQuery::default(),
            ExportFormat::Csv,
            Lang::En,
            false,
            &mut Vec::new(),
        )
        .await
        .expect("tasks");
    assert_eq!(n, 0);
    let mut out = Vec::new();
    let n = f
        .svc
        .export_work_orders(
            &f.manager1,
            &WorkOrderQuery {
                opened_from: Some("2026-06-01".into()),
                kind: Some("保养".into()),
                ..Default::default()
            },
            ExportFormat::Xlsx,
            Lang::Zh,
            false,
            &mut out,
        )
        .await
        .expect("work orders");
    assert_eq!(n, 2);
    assert!(out.starts_with(b"PK"));
    let n = f
        .svc
        .export_work_orders(
            &f.manager1,
            &WorkOrderQuery {
                opened_from: Some("2026-06-02".into()),
                ..Default::default()
            },
            ExportFormat::Csv,
            Lang::Zh,
            false,
            &mut Vec::new(),
        )
        .await
        .expect("work orders");
    assert_eq!(n, 0);
    // Bad filters are 422-style errors naming the field.
    let e = f
        .svc
        .export_work_orders(
            &f.manager1,
            &WorkOrderQuery {
                kind: Some("洗车".into()),
                ..Default::default()
            },
            ExportFormat::Csv,
            Lang::Zh,
            false,
            &mut Vec::new(),
        )
        .await
        .expect_err("bad kind");
    assert_eq!(e.field(), Some("kind"));
    // Every export is audited, with the number of rows and whether mobiles were revealed.
    let audit =
        t.db.audit_log(Some(f.manager1.staff_id), Some("export"), None, 20)
            .await
            .expect("audit");
    assert_eq!(audit.len(), 6, "{audit:?}");
    assert!(
        audit
            .iter()
            .any(|e| e.entity == "vehicle" && e.detail.contains("\"revealed\":true"))
    );
    // The lists behind the exports, page by page.
    let p = f
        .svc
        .list_vehicles(
            &f.manager1,
            &VehicleQuery {
                per_page: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert!(p.has_more && p.items.len() == 1);
    assert_eq!(p.items[0].owner_mobile.as_deref(), Some("139****0002"));
    let p = f
        .svc
        .list_work_orders(&f.consultant_store2, &WorkOrderQuery::default())
        .await
        .expect("list");
    assert!(p.items.is_empty());
    let _ = CustomerQuery::default();
    t.db.close().await;
}
both!(exports_of_every_list);
