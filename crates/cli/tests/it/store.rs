//! Store operations, the same test code on SQLite and PostgreSQL.

use crate::both;
use crate::harness::{TestDb, fixture, today, vin};
use dealerbase_service::ServiceError;
use dealerbase_service::input::{
    CustomerInput, LeadInput, VehicleInput, WorkOrderInput, WorkOrderLineInput,
};
use dealerbase_service::records::CustomerQuery;
use dealerbase_store::bulk::{TableRows, Val};
use dealerbase_store::{NewTask, Scope, StoreError};

fn person(name: &str, mobile: &str) -> CustomerInput {
    CustomerInput {
        name: Some(name.into()),
        mobile: Some(mobile.into()),
        ..Default::default()
    }
}

async fn migrations_are_idempotent(t: &TestDb) {
    t.db.migrate().await.expect("second migrate");
    assert_eq!(
        t.db.migrations_applied().await.expect("versions"),
        vec![
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23
        ]
    );
    assert!(t.db.is_empty().await.expect("empty"));
    // Migrations that ran leave planner statistics behind (SQLite keeps them in
    // sqlite_stat1, which only ANALYZE creates); refreshing them again is harmless.
    if t.db.backend() == dealerbase_store::Backend::Sqlite {
        t.db.execute_admin("SELECT COUNT(*) FROM sqlite_stat1")
            .await
            .expect("statistics after migrating");
    }
    t.db.refresh_statistics().await.expect("refresh");
}
both!(migrations_are_idempotent);

async fn customers_search_by_name_fragment_mobile_plate_and_vin(t: &TestDb) {
    let f = fixture(&t.db).await;
    let zhang = f
        .svc
        .create_customer(&f.manager1, &person("张伟明", "13812345678"))
        .await
        .expect("create");
    let li = f
        .svc
        .create_customer(&f.manager1, &person("李明", "13912345678"))
        .await
        .expect("create");
    f.svc
        .create_customer(&f.manager1, &person("欧阳娜娜", "13712345678"))
        .await
        .expect("create");
    let v = f
        .svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(vin(1)),
                model_id: Some(f.model),
                plate: Some("浙A12345".into()),
                customer_id: Some(zhang.customer.id),
                ..Default::default()
            },
        )
        .await
        .expect("vehicle");
    let search = |q: &str| CustomerQuery {
        q: Some(q.into()),
        ..Default::default()
    };
    let names = async |q: &str| -> Vec<String> {
        f.svc
            .list_customers(&f.manager1, &search(q))
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(names("伟明").await, vec!["张伟明"]);
    let mut ming = names("明").await;
    ming.sort();
    assert_eq!(ming, vec!["张伟明", "李明"]);
    assert_eq!(names("张伟明").await, vec!["张伟明"]);
    assert_eq!(names("欧阳娜").await, vec!["欧阳娜娜"]);
    assert!(names("王").await.is_empty());
    assert_eq!(names("139 1234 5678").await, vec!["李明"]);
    assert_eq!(names("浙a12345").await, vec!["张伟明"]);
    assert_eq!(names(&v.fields.vin.to_lowercase()).await, vec!["张伟明"]);
    // The list masks mobiles.
    let page = f
        .svc
        .list_customers(&f.manager1, &search("李明"))
        .await
        .expect("list");
    assert_eq!(page.items[0].mobile.as_deref(), Some("139****5678"));
    assert_eq!(page.items[0].id, li.customer.id);
}
both!(customers_search_by_name_fragment_mobile_plate_and_vin);

/// A database whose name fragments are rows (before migration 22) keeps them: on
/// PostgreSQL the migration folds them into the GIN-indexed array and drops the table.
async fn fragments_written_before_migration_22_are_searchable_after_it(t: &TestDb) {
    let f = fixture(&t.db).await;
    let c = f
        .svc
        .create_customer(&f.manager1, &person("欧阳娜娜", "13712345678"))
        .await
        .expect("create");
    if t.db.backend() == dealerbase_store::Backend::Postgres {
        let id = c.customer.id;
        let mut before = vec![
            "DROP INDEX customer_name_grams".to_string(),
            "ALTER TABLE customer DROP COLUMN name_grams".to_string(),
            "CREATE TABLE customer_name_gram (gram TEXT NOT NULL, customer_id BIGINT NOT NULL, PRIMARY KEY (gram, customer_id))".to_string(),
        ];
        for g in dealerbase_store::name_grams("欧阳娜娜") {
            before.push(format!(
                "INSERT INTO customer_name_gram (gram, customer_id) VALUES ('{g}', {id})"
            ));
        }
        before.push("DELETE FROM schema_migration WHERE version = 22".into());
        for sql in &before {
            t.db.execute_admin(sql).await.expect(sql);
        }
        t.db.migrate().await.expect("migration 22 again");
    }
    for q in ["阳娜", "娜", "欧阳娜娜"] {
        let found = f
            .svc
            .list_customers(
                &f.manager1,
                &CustomerQuery {
                    q: Some(q.into()),
                    ..Default::default()
                },
            )
            .await
            .expect("search");
        assert_eq!(
            found.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![c.customer.id],
            "{q}"
        );
    }
    let (_, without, orphans) = t.db.customer_gram_integrity().await.expect("integrity");
    assert_eq!((without, orphans), (0, 0));
}
both!(fragments_written_before_migration_22_are_searchable_after_it);

async fn update_keeps_grams_in_step_and_paging_works(t: &TestDb) {
    let f = fixture(&t.db).await;
    let c = f
        .svc
        .create_customer(&f.manager1, &person("王小红", "13800000001"))
        .await
        .expect("create");
    f.svc
        .update_customer(
            &f.manager1,
            c.customer.id,
            &CustomerInput {
                name: Some("王晓虹".into()),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    let q = |s: &str| CustomerQuery {
        q: Some(s.into()),
        ..Default::default()
    };
    assert!(
        f.svc
            .list_customers(&f.manager1, &q("小红"))
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(
        f.svc
            .list_customers(&f.manager1, &q("晓虹"))
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    for i in 2..=5 {
        f.svc
            .create_customer(
                &f.manager1,
                &person(&format!("客户{i}"), &format!("1380000000{i}")),
            )
            .await
            .expect("create");
    }
    let p1 = f
        .svc
        .list_customers(
            &f.manager1,
            &CustomerQuery {
                per_page: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("page 1");
    let p3 = f
        .svc
        .list_customers(
            &f.manager1,
            &CustomerQuery {
                per_page: Some(2),
                page: Some(3),
                ..Default::default()
            },
        )
        .await
        .expect("page 3");
    assert_eq!(p1.items.len(), 2);
    assert!(p1.has_more);
    assert_eq!(p3.items.len(), 1);
    assert!(!p3.has_more);
    assert!(p1.items[0].id > p1.items[1].id, "newest first");
}
both!(update_keeps_grams_in_step_and_paging_works);

async fn scope_rules_apply_where_data_is_read(t: &TestDb) {
    let f = fixture(&t.db).await;
    let of_a = f
        .svc
        .create_customer(&f.consultant_a, &person("甲客户", "13811110001"))
        .await
        .expect("a");
    let of_b = f
        .svc
        .create_customer(&f.consultant_b, &person("乙客户", "13811110002"))
        .await
        .expect("b");
    let in_store2 = f
        .svc
        .create_customer(&f.consultant_store2, &person("丙客户", "13811110003"))
        .await
        .expect("c");
    // A consultant sees their own customers only.
    assert!(
        f.svc
            .customer(&f.consultant_a, of_a.customer.id)
            .await
            .is_ok()
    );
    assert!(matches!(
        f.svc.customer(&f.consultant_a, of_b.customer.id).await,
        Err(ServiceError::NotFound { .. })
    ));
    let listed: Vec<i64> = f
        .svc
        .list_customers(&f.consultant_a, &CustomerQuery::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, vec![of_a.customer.id]);
    // Store roles see the store, group roles every store.
    assert_eq!(
        f.svc
            .list_customers(&f.manager1, &CustomerQuery::default())
            .await
            .expect("list")
            .items
            .len(),
        2
    );
    assert!(
        f.svc
            .customer(&f.manager1, in_store2.customer.id)
            .await
            .is_err()
    );
    assert_eq!(
        f.svc
            .list_customers(&f.group_staff, &CustomerQuery::default())
            .await
            .expect("list")
            .items
            .len(),
        3
    );
    assert!(
        f.svc
            .customer(&f.admin, in_store2.customer.id)
            .await
            .is_ok()
    );
    // Writing into another store is refused.
    let other = CustomerInput {
        store_id: Some(f.store2),
        ..person("丁", "13811110004")
    };
    assert!(matches!(
        f.svc.create_customer(&f.manager1, &other).await,
        Err(ServiceError::Forbidden(_))
    ));
    // A lead owned by B makes B's customer visible to B even when A is the consultant.
    let lead = f
        .svc
        .create_lead(
            &f.manager1,
            &LeadInput {
                customer_id: Some(of_a.customer.id),
                grade: Some("H".into()),
                source: Some("walk_in".into()),
                owner_id: Some(f.consultant_b.staff_id),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    assert!(
        f.svc
            .customer(&f.consultant_b, of_a.customer.id)
            .await
            .is_ok()
    );
    assert!(f.svc.lead(&f.consultant_b, lead.id).await.is_ok());
    assert!(
        f.svc.lead(&f.consultant_a, lead.id).await.is_err(),
        "A does not own the lead"
    );
    let scope = Scope::Own {
        store_id: f.store1,
        staff_id: f.consultant_a.staff_id,
    };
    assert!(t.db.lead(&scope, lead.id).await.is_err());
}
both!(scope_rules_apply_where_data_is_read);

async fn vehicles_ownership_and_duplicate_vin(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = f
        .svc
        .create_customer(&f.manager1, &person("车主甲", "13822220001"))
        .await
        .expect("a");
    let b = f
        .svc
        .create_customer(&f.manager1, &person("车主乙", "13822220002"))
        .await
        .expect("b");
    let input = VehicleInput {
        vin: Some(vin(7)),
        model_id: Some(f.model),
        delivery_date: Some("2026/3/5".into()),
        own_sold: Some(true),
        customer_id: Some(a.customer.id),
        ..Default::default()
    };
    let v = f
        .svc
        .create_vehicle(&f.manager1, &input)
        .await
        .expect("vehicle");
    assert_eq!(v.owner_id, Some(a.customer.id));
    assert_eq!(
        v.fields.warranty_end_date,
        "2029-03-05".parse().ok(),
        "warranty from delivery by the model's 36 months"
    );
    assert_eq!(
        t.db.customer_unscoped(a.customer.id)
            .await
            .expect("a")
            .class,
        "own_sold_owner"
    );
    let dup = f.svc.create_vehicle(&f.manager1, &input).await.unwrap_err();
    assert!(
        matches!(dup, ServiceError::Conflict { field: "vin", .. }),
        "{dup:?}"
    );
    t.db.transfer_vehicle(v.id, b.customer.id, "2026-06-01".parse().expect("date"))
        .await
        .expect("transfer");
    let history = t.db.ownership_history(v.id).await.expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].to_date, "2026-06-01".parse().ok());
    assert_eq!(history[1].customer_id, b.customer.id);
    assert_eq!(
        f.svc.vehicle(&f.manager1, v.id).await.expect("v").owner_id,
        Some(b.customer.id)
    );
}
both!(vehicles_ownership_and_duplicate_vin);

fn maintenance(number: &str, vehicle: i64) -> WorkOrderInput {
    WorkOrderInput {
        number: Some(number.into()),
        vehicle_id: Some(vehicle),
        kind: Some("maintenance".into()),
        opened_on: Some("2026-05-01".into()),
        settled_on: Some("2026-05-01".into()),
        odometer_km: Some(12_000),
        lines: vec![
            WorkOrderLineInput {
                line_kind: Some("labour".into()),
                name: Some("保养工时".into()),
                amount_fen: Some(20_000),
                ..Default::default()
            },
            WorkOrderLineInput {
                line_kind: Some("part".into()),
                name: Some("机油".into()),
                amount_fen: Some(38_000),
                cost_fen: Some(25_000),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

async fn work_orders_are_written_whole_or_not_at_all(t: &TestDb) {
    let f = fixture(&t.db).await;
    let c = f
        .svc
        .create_customer(&f.manager1, &person("保养客户", "13833330001"))
        .await
        .expect("c");
    let v = f
        .svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(vin(9)),
                model_id: Some(f.model),
                delivery_date: Some("2025-11-01".into()),
                own_sold: Some(true),
                customer_id: Some(c.customer.id),
                ..Default::default()
            },
        )
        .await
        .expect("v");
    let wo = f
        .svc
        .create_work_order(&f.advisor1, &maintenance("WO-1", v.id))
        .await
        .expect("wo");
    assert_eq!(wo.lines.len(), 2);
    assert_eq!(wo.fields.total_fen, 58_000);
    assert_eq!(
        wo.fields.customer_id, c.customer.id,
        "defaults to the vehicle's owner"
    );
    assert_eq!(wo.fields.advisor_id, Some(f.advisor1.staff_id));
    // Same number again: a conflict, and no orphan lines.
    let err = f
        .svc
        .create_work_order(&f.advisor1, &maintenance("WO-1", v.id))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Conflict {
                field: "number",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        t.db.customer_work_orders(c.customer.id)
            .await
            .expect("list")
            .iter()
            .map(|w| w.lines.len())
            .sum::<usize>(),
        2
    );
    let readings = t.db.odometer_readings(&[v.id]).await.expect("readings");
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0].km, 12_000);
}
both!(work_orders_are_written_whole_or_not_at_all);

async fn customer_360_has_every_section_and_a_timeline(t: &TestDb) {
    let f = fixture(&t.db).await;
    let c = f
        .svc
        .create_customer(
            &f.consultant_a,
            &CustomerInput {
                id_number: Some("11010519491231002X".into()),
                ..person("全景客户", "13844440001")
            },
        )
        .await
        .expect("c");
    let id = c.customer.id;
    assert_eq!(
        c.customer.fields.id_number.as_deref(),
        Some("1*************002X")
    );
    let v = f
        .svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(vin(11)),
                model_id: Some(f.model),
                delivery_date: Some("2025-11-01".into()),
                own_sold: Some(true),
                customer_id: Some(id),
                ..Default::default()
            },
        )
        .await
        .expect("v");
    f.svc
        .create_work_order(&f.advisor1, &maintenance("WO-360", v.id))
        .await
        .expect("wo");
    f.svc
        .create_lead(
            &f.consultant_a,
            &LeadInput {
                customer_id: Some(id),
                grade: Some("B".into()),
                source: Some("展厅来店".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    t.db.create_task(
        &NewTask {
            store_id: f.store1,
            kind: "birthday",
            customer_id: Some(id),
            lead_id: None,
            vehicle_id: None,
            assignee_id: Some(f.consultant_a.staff_id),
            role: None,
            due_on: today(),
            note: None,
            dedupe_key: Some("birthday:1"),
        },
        f.svc.clock.now(),
    )
    .await
    .expect("task");
    let doc = f
        .svc
        .customer_360(&f.consultant_a, id, dealerbase_domain::Lang::Zh)
        .await
        .expect("360");
    assert_eq!(
        doc.customer.customer.fields.mobile.as_deref(),
        Some("138****0001")
    );
    assert_eq!(doc.vehicles.len(), 1);
    assert_eq!(doc.vehicles[0].odometer.len(), 1);
    assert_eq!(doc.work_orders[0].lines.len(), 2);
    assert_eq!(doc.leads.len(), 1);
    // The birthday task, and the lead's first follow-up (a lead is registered with one).
    assert_eq!(doc.tasks.len(), 2);
    assert_eq!(doc.assignments.len(), 1);
    assert_eq!(doc.class_label, "自销保有客户");
    assert_eq!(doc.class_reason, "拥有本店销售的本品牌车辆");
    let kinds: Vec<&str> = doc.timeline.iter().map(|e| e.kind).collect();
    // … plus the lead's registration contact and its first follow-up.
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert_eq!(
        kinds[4], "work_order",
        "the May work order is the oldest event"
    );
    assert!(
        doc.timeline.windows(2).all(|w| w[0].date >= w[1].date),
        "newest first"
    );
    // Another consultant cannot read it.
    assert!(
        f.svc
            .customer_360(&f.consultant_b, id, dealerbase_domain::Lang::Zh)
            .await
            .is_err()
    );
}
both!(customer_360_has_every_section_and_a_timeline);

async fn reveal_is_role_checked_and_audited(t: &TestDb) {
    let f = fixture(&t.db).await;
    let c = f
        .svc
        .create_customer(&f.consultant_a, &person("隐私客户", "13855550001"))
        .await
        .expect("c");
    assert!(matches!(
        f.svc.reveal_customer(&f.consultant_a, c.customer.id).await,
        Err(ServiceError::Forbidden(_))
    ));
    let r = f
        .svc
        .reveal_customer(&f.manager1, c.customer.id)
        .await
        .expect("reveal");
    assert_eq!(r.mobile.as_deref(), Some("13855550001"));
    let log =
        t.db.audit_log(Some(f.manager1.staff_id), Some("reveal"), None, 10)
            .await
            .expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entity_id, Some(c.customer.id));
}
both!(reveal_is_role_checked_and_audited);

async fn tasks_with_a_key_are_created_once_and_completed(t: &TestDb) {
    let f = fixture(&t.db).await;
    let task = NewTask {
        store_id: f.store1,
        kind: "maintenance_reminder",
        customer_id: None,
        lead_id: None,
        vehicle_id: None,
        assignee_id: Some(f.advisor1.staff_id),
        role: None,
        due_on: today(),
        note: None,
        dedupe_key: Some("maint:1:2026-11"),
    };
    let first =
        t.db.create_task(&task, f.svc.clock.now())
            .await
            .expect("first");
    assert!(first.is_some());
    assert_eq!(
        t.db.create_task(&task, f.svc.clock.now())
            .await
            .expect("second"),
        None
    );
    assert_eq!(f.svc.today(&f.advisor1).await.expect("today").len(), 1);
    t.db.complete_task(first.expect("id"), "booked", f.svc.clock.now())
        .await
        .expect("complete");
    assert!(f.svc.today(&f.advisor1).await.expect("today").is_empty());
    assert!(matches!(
        t.db.complete_task(first.expect("id"), "booked", f.svc.clock.now())
            .await,
        Err(StoreError::NotFound { .. })
    ));
}
both!(tasks_with_a_key_are_created_once_and_completed);

async fn consents_assignments_and_relations(t: &TestDb) {
    let f = fixture(&t.db).await;
    let a = f
        .svc
        .create_customer(&f.consultant_a, &person("家庭甲", "13866660001"))
        .await
        .expect("a");
    let b = f
        .svc
        .create_customer(&f.manager1, &person("家庭乙", "13866660002"))
        .await
        .expect("b");
    let now = f.svc.clock.now();
    t.db.record_consent(
        a.customer.id,
        "marketing",
        "sms",
        "v1",
        Some(f.manager1.staff_id),
        now,
    )
    .await
    .expect("consent");
    assert_eq!(
        t.db.withdraw_consent(a.customer.id, "marketing", "sms", now)
            .await
            .expect("withdraw"),
        1
    );
    assert!(
        t.db.customer_consents(a.customer.id).await.expect("list")[0]
            .withdrawn_at
            .is_some()
    );
    f.svc
        .update_customer(
            &f.manager1,
            a.customer.id,
            &CustomerInput {
                consultant_id: Some(f.consultant_b.staff_id),
                ..Default::default()
            },
        )
        .await
        .expect("reassign");
    let history = t.db.assignments(a.customer.id).await.expect("history");
    assert_eq!(history.len(), 2);
    assert!(history[0].ended_at.is_some() && history[1].ended_at.is_none());
    assert_eq!(history[1].staff_id, f.consultant_b.staff_id);
    assert!(
        f.svc
            .customer(&f.consultant_a, a.customer.id)
            .await
            .is_err(),
        "handed over"
    );
    t.db.add_relation(a.customer.id, b.customer.id, "household", None, now)
        .await
        .expect("relation");
    assert_eq!(
        t.db.relations(b.customer.id).await.expect("relations")[0].related_name,
        "家庭甲"
    );
    let bad = CustomerInput {
        consultant_id: Some(f.consultant_store2.staff_id),
        ..Default::default()
    };
    assert!(matches!(
        f.svc
            .update_customer(&f.manager1, b.customer.id, &bad)
            .await,
        Err(ServiceError::Invalid(_))
    ));
}
both!(consents_assignments_and_relations);

/// The columns a bulk customer row of these tests needs at least.
const BULK_CUSTOMER_COLUMNS: &[&str] = &[
    "id",
    "store_id",
    "kind",
    "name",
    "class",
    "class_reason",
    "created_at",
    "updated_at",
    "lunar_birthday",
    "vip",
];

async fn bulk_load_then_normal_inserts_continue_the_ids(t: &TestDb) {
    let f = fixture(&t.db).await;
    let mut rows = TableRows::new("customer", BULK_CUSTOMER_COLUMNS);
    let now = f.svc.clock.now();
    for i in 1..=3i64 {
        rows.push([
            Val::I64(100 + i),
            f.store1.into(),
            "individual".into(),
            format!("批量{i}\t'引号'").into(),
            "potential".into(),
            "".into(),
            now.into(),
            now.into(),
            false.into(),
            false.into(),
        ]);
    }
    let recreate = t.db.before_bulk_load(&["customer"]).await.expect("before");
    t.db.bulk_insert(&[rows]).await.expect("bulk");
    t.db.after_bulk_load(&["customer"], &recreate)
        .await
        .expect("after");
    let c = t.db.customer_unscoped(102).await.expect("loaded");
    assert_eq!(c.fields.name, "批量2\t'引号'");
    let next = f
        .svc
        .create_customer(&f.manager1, &person("之后", "13877770001"))
        .await
        .expect("insert after bulk");
    assert!(next.customer.id > 103);
    // Indexes are back: searching by mobile still works and uses the recreated index.
    let found = f
        .svc
        .list_customers(
            &f.manager1,
            &CustomerQuery {
                q: Some("13877770001".into()),
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(found.items.len(), 1);
}
both!(bulk_load_then_normal_inserts_continue_the_ids);

/// Bulk rows go in as several statements (SQLite binds at most 256 rows a statement; the
/// last one is shorter): every row arrives once, in order, with its dates, timestamps,
/// yes/no values, empty cells and quoted text as written.
async fn bulk_rows_arrive_whole_across_statements(t: &TestDb) {
    let f = fixture(&t.db).await;
    let mut rows = TableRows::new("customer", BULK_CUSTOMER_COLUMNS)
        .with_column("birthday")
        .with_column("address");
    let now = f.svc.clock.now();
    let born = chrono::NaiveDate::from_ymd_opt(1985, 2, 28).expect("date");
    for i in 1..=600i64 {
        rows.push([
            Val::I64(5000 + i),
            f.store1.into(),
            "individual".into(),
            format!("批量{i} 'x' \\ \"y\"").into(),
            "potential".into(),
            "".into(),
            now.into(),
            now.into(),
            (i % 2 == 0).into(),
            (i % 3 == 0).into(),
            (i % 5 != 0).then_some(born).into(),
            (i % 7 == 0).then(|| format!("地址{i}")).into(),
        ]);
    }
    t.db.bulk_insert(&[rows]).await.expect("bulk");
    for i in [1i64, 255, 256, 257, 512, 513, 599, 600] {
        let c = t.db.customer_unscoped(5000 + i).await.expect("loaded");
        assert_eq!(c.fields.name, format!("批量{i} 'x' \\ \"y\""));
        assert_eq!(c.fields.lunar_birthday, i % 2 == 0, "{i}");
        assert_eq!(c.fields.vip, i % 3 == 0, "{i}");
        assert_eq!(c.fields.birthday, (i % 5 != 0).then_some(born), "{i}");
        assert_eq!(
            c.fields.address,
            (i % 7 == 0).then(|| format!("地址{i}")),
            "{i}"
        );
        assert_eq!(c.created_at, now);
    }
    assert!(t.db.customer_unscoped(5000).await.is_err());
    assert!(t.db.customer_unscoped(5601).await.is_err());
}
both!(bulk_rows_arrive_whole_across_statements);

async fn demo_group_is_deterministic_and_realistic(t: &TestDb) {
    let opts = dealerbase_demo::DemoOptions {
        customers: 600,
        stores: 3,
        seed: 7,
        as_of: today(),
        batch: 250,
    };
    let summary = dealerbase_demo::generate(&t.db, &opts, |_| {})
        .await
        .expect("demo");
    let count = |name: &str| {
        summary
            .counts
            .iter()
            .find(|(t, _)| *t == name)
            .map(|c| c.1)
            .unwrap_or(0)
    };
    assert_eq!(count("customer"), 600);
    assert!(
        count("vehicle") > 600 && count("work_order") > 2000,
        "{:?}",
        summary.counts
    );
    assert!(matches!(
        dealerbase_demo::generate(&t.db, &opts, |_| {}).await,
        Err(dealerbase_demo::DemoError::NotEmpty)
    ));
    // Every demo customer has its name fragments (rows on SQLite, the array on PostgreSQL)
    // and is found by a fragment of its name.
    let (_, without, orphans) = t.db.customer_gram_integrity().await.expect("integrity");
    assert_eq!((without, orphans), (0, 0));
    let someone =
        t.db.list_customers(
            &dealerbase_store::Scope::Group { group_id: 1 },
            &dealerbase_store::CustomerFilter {
                per_page: 1,
                page: 1,
                ..Default::default()
            },
        )
        .await
        .expect("list")
        .items
        .remove(0);
    let given: String = someone.name.chars().skip(1).collect();
    let found =
        t.db.list_customers(
            &dealerbase_store::Scope::Group { group_id: 1 },
            &dealerbase_store::CustomerFilter {
                search: Some(dealerbase_store::SearchKey::Name(given.clone())),
                per_page: 200,
                page: 1,
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert!(
        !found.items.is_empty() && found.items.iter().all(|c| c.name.contains(&given)),
        "{given}"
    );
    // Every class of DOMAIN.md appears.
    let admin = dealerbase_service::Actor::from_staff(
        &t.db
            .staff_by_login("admin")
            .await
            .expect("q")
            .expect("admin"),
    )
    .expect("actor");
    let svc = dealerbase_service::Services::new(
        t.db.clone(),
        std::sync::Arc::new(dealerbase_domain::FixedClock::on(today())),
    );
    for class in [
        "potential",
        "intent",
        "defeated",
        "own_sold_owner",
        "other_sold_owner",
        "other_brand_owner",
        "base",
        "lapsed",
    ] {
        let page = svc
            .list_customers(
                &admin,
                &CustomerQuery {
                    class: Some(class.into()),
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        assert!(
            !page.items.is_empty(),
            "no {class} customer in the demo group"
        );
    }
    // Same seed, same data: the first customer's name and mobile are fixed by the seed.
    let first = t.db.customer_unscoped(1).await.expect("first");
    let other = TestDb::sqlite().await;
    dealerbase_demo::generate(&other.db, &opts, |_| {})
        .await
        .expect("demo again");
    let again = other.db.customer_unscoped(1).await.expect("first again");
    assert_eq!(
        (first.fields.name, first.fields.mobile),
        (again.fields.name, again.fields.mobile)
    );
    other.finish().await;
}
both!(demo_group_is_deterministic_and_realistic);

async fn daily_jobs_run_once_per_day_across_instances(t: &TestDb) {
    let f = fixture(&t.db).await;
    let day = today();
    let now = f.svc.clock.now();
    let lease = now + chrono::Duration::hours(2);
    assert!(
        t.db.try_start_job("j", "instance-a", day, now, lease)
            .await
            .expect("a")
    );
    assert!(
        !t.db
            .try_start_job("j", "instance-b", day, now, lease)
            .await
            .expect("b"),
        "held by a"
    );
    t.db.finish_job("j", "instance-a", day)
        .await
        .expect("finish");
    assert!(
        !t.db
            .try_start_job("j", "instance-b", day, now, lease)
            .await
            .expect("b"),
        "already ran today"
    );
    let tomorrow = day.succ_opt().expect("date");
    assert!(
        t.db.try_start_job(
            "j",
            "instance-b",
            tomorrow,
            now + chrono::Duration::days(1),
            lease
        )
        .await
        .expect("b tomorrow")
    );
    // A lease that expired (instance died) can be taken over.
    let later = now + chrono::Duration::days(1) + chrono::Duration::hours(3);
    assert!(
        t.db.try_start_job(
            "j",
            "instance-c",
            tomorrow,
            later,
            later + chrono::Duration::hours(2)
        )
        .await
        .expect("c")
    );

    // The daily job re-derives classes as time passes: an owner with no visit for over a year lapses.
    let c = f
        .svc
        .create_customer(&f.manager1, &person("将流失", "13888880001"))
        .await
        .expect("c");
    f.svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(vin(77)),
                model_id: Some(f.model),
                delivery_date: Some("2026-01-10".into()),
                own_sold: Some(true),
                customer_id: Some(c.customer.id),
                ..Default::default()
            },
        )
        .await
        .expect("v");
    assert_eq!(
        t.db.customer_unscoped(c.customer.id)
            .await
            .expect("c")
            .class,
        "own_sold_owner"
    );
    let later_svc = dealerbase_service::Services::new(
        t.db.clone(),
        std::sync::Arc::new(dealerbase_domain::FixedClock::on(
            "2027-03-01".parse().expect("date"),
        )),
    );
    let first = later_svc
        .run_daily_jobs("x")
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(first.reclassified, 1);
    assert!(
        later_svc.run_daily_jobs("y").await.expect("run").is_none(),
        "once a day"
    );
    let lapsed = t.db.customer_unscoped(c.customer.id).await.expect("c");
    assert_eq!(
        (lapsed.class.as_str(), lapsed.class_reason.as_str()),
        ("lapsed", "no_visit_since:2026-01-10")
    );
}
both!(daily_jobs_run_once_per_day_across_instances);

async fn demo_service_retention_decays_like_the_domain_figures(t: &TestDb) {
    let opts = dealerbase_demo::DemoOptions {
        customers: 4000,
        stores: 4,
        seed: 11,
        as_of: today(),
        batch: 1000,
    };
    dealerbase_demo::generate(&t.db, &opts, |_| {})
        .await
        .expect("demo");
    // Vehicles old enough for four services under every brand's schedule.
    let visits =
        t.db.maintenance_visits_per_vehicle("2022-09-01".parse().expect("date"))
            .await
            .expect("visits");
    assert!(visits.len() > 300, "{} vehicles", visits.len());
    let share =
        |k: i64| visits.iter().filter(|(_, n)| *n >= k).count() as f64 / visits.len() as f64;
    // DOMAIN.md §3: 94% return for the first service, 63% second, 42% third, 31% fourth.
    for (k, expected) in [(1, 0.94), (2, 0.63), (3, 0.42), (4, 0.31)] {
        assert!(
            (share(k) - expected).abs() < 0.06,
            "service {k}: {:.3} vs {expected}",
            share(k)
        );
    }
}
both!(demo_service_retention_decays_like_the_domain_figures);

async fn catalogue_contacts_readings_and_lead_updates(t: &TestDb) {
    let f = fixture(&t.db).await;
    let now = f.svc.clock.now();
    assert_eq!(t.db.groups().await.expect("groups").len(), 1);
    assert_eq!(t.db.brands().await.expect("brands").len(), 2);
    assert_eq!(
        t.db.vehicle_models().await.expect("models")[0].first_service_km,
        7500
    );
    assert_eq!(
        t.db.store_by_code("S02")
            .await
            .expect("store")
            .expect("S02")
            .id,
        f.store2
    );
    assert_eq!(t.db.staff_of_store(f.store1).await.expect("staff").len(), 4);
    assert!(matches!(
        t.db.create_store(1, "S01", "dup", "", 1, now).await,
        Err(StoreError::Conflict {
            field: "store code",
            ..
        })
    ));
    let company = f
        .svc
        .create_customer(
            &f.manager1,
            &CustomerInput {
                kind: Some("公司".into()),
                ..person("华东物流有限公司", "13899990001")
            },
        )
        .await
        .expect("company");
    let cid = company.customer.id;
    t.db.add_company_contact(cid, "王车管", Some("车管负责人"), Some("13899990002"))
        .await
        .expect("contact person");
    assert_eq!(
        t.db.company_contacts(cid).await.expect("list")[0].name,
        "王车管"
    );
    let lead = f
        .svc
        .create_lead(
            &f.manager1,
            &LeadInput {
                customer_id: Some(cid),
                grade: Some("C".into()),
                source: Some("key_account".into()),
                owner_id: Some(f.consultant_a.staff_id),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    let contact = dealerbase_store::NewContact {
        store_id: f.store1,
        customer_id: cid,
        lead_id: Some(lead.id),
        staff_id: Some(f.consultant_a.staff_id),
        channel: "phone",
        direction: "outbound",
        purpose: "develop",
        occurred_at: now,
        outcome: "reached",
        note: Some("约周六到店"),
        grade_before: Some("C"),
        grade_after: Some("A"),
        next_date: Some(today() + chrono::Duration::days(3)),
    };
    t.db.create_contact(&contact).await.expect("contact");
    let mut fields = lead.fields.clone();
    fields.grade = "A".into();
    fields.next_follow_up = contact.next_date;
    t.db.update_lead(lead.id, &fields, now)
        .await
        .expect("update lead");
    let updated = f.svc.lead(&f.consultant_a, lead.id).await.expect("lead");
    assert_eq!(
        (updated.fields.grade.as_str(), updated.closed_at),
        ("A", None)
    );
    fields.status = "defeated".into();
    t.db.update_lead(lead.id, &fields, now)
        .await
        .expect("close lead");
    assert!(
        f.svc
            .lead(&f.consultant_a, lead.id)
            .await
            .expect("lead")
            .closed_at
            .is_some()
    );
    assert_eq!(
        t.db.customer_contacts(cid).await.expect("contacts")[0]
            .grade_after
            .as_deref(),
        Some("A")
    );
    assert_eq!(t.db.customer_leads(cid).await.expect("leads").len(), 1);
    assert!(
        t.db.lead_test_drives(lead.id)
            .await
            .expect("drives")
            .is_empty()
    );
    assert!(
        t.db.lead_defeat_requests(lead.id)
            .await
            .expect("defeats")
            .is_empty()
    );
    let v = f
        .svc
        .create_vehicle(
            &f.manager1,
            &VehicleInput {
                vin: Some(vin(88)),
                model_id: Some(f.model),
                customer_id: Some(cid),
                ..Default::default()
            },
        )
        .await
        .expect("v");
    let reading = dealerbase_store::OdometerReading {
        vehicle_id: v.id,
        read_on: today(),
        km: 15_300,
        source: "phone".into(),
    };
    t.db.add_odometer_reading(&reading).await.expect("reading");
    assert_eq!(
        t.db.odometer_readings(&[v.id]).await.expect("readings")[0].km,
        15_300
    );
    assert_eq!(
        t.db.vehicle_id_by_vin(&vin(88)).await.expect("by vin"),
        Some(v.id)
    );
}
both!(catalogue_contacts_readings_and_lead_updates);

/// The customer's last service visit follows every write of work orders (migration 19's
/// triggers): a PDI does not count, an older visit does not lower it, moving a visit's date
/// or deleting it recomputes it, and merging moves the visits to the survivor.
async fn the_last_visit_follows_the_work_orders(t: &TestDb) {
    use chrono::NaiveDate;
    use dealerbase_store::model::WorkOrderFields;
    let f = fixture(&t.db).await;
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    let mut ids = Vec::new();
    for (name, mobile) in [("王一", "13800000001"), ("王二", "13800000002")] {
        let c = f
            .svc
            .create_customer(&f.manager1, &person(name, mobile))
            .await
            .expect("customer");
        let v = f
            .svc
            .create_vehicle(
                &f.manager1,
                &VehicleInput {
                    vin: Some(vin(ids.len() as u32 + 1)),
                    model_id: Some(f.model),
                    customer_id: Some(c.customer.id),
                    ..Default::default()
                },
            )
            .await
            .expect("vehicle");
        ids.push((c.customer.id, v.id));
    }
    let [(a, va), (b, vb)] = [ids[0], ids[1]];
    let wo = |number: &str, vehicle, customer, kind: &str, on: &str| WorkOrderFields {
        store_id: f.store1,
        number: number.into(),
        vehicle_id: vehicle,
        customer_id: customer,
        advisor_id: None,
        kind: kind.into(),
        status: "settled".into(),
        opened_on: d(on),
        settled_on: Some(d(on)),
        odometer_km: None,
        total_fen: 10_000,
        paid_by: "customer".into(),
    };
    let last = async |id| {
        t.db.customer_unscoped(id)
            .await
            .expect("customer")
            .last_visit_on
    };
    assert_eq!(last(a).await, None, "never visited");
    let add = async |w: WorkOrderFields| t.db.create_work_order(&w, &[]).await.expect("wo");
    add(wo("L-1", va, a, "pdi", "2026-01-10")).await;
    assert_eq!(last(a).await, None, "a PDI is not a visit");
    add(wo("L-2", va, a, "maintenance", "2026-03-01")).await;
    let late = add(wo("L-3", va, a, "repair", "2026-06-15")).await;
    add(wo("L-4", va, a, "maintenance", "2026-04-01")).await;
    assert_eq!(
        last(a).await,
        Some(d("2026-06-15")),
        "the newest, not the last written"
    );
    add(wo("L-5", vb, b, "maintenance", "2026-09-09")).await;
    assert_eq!(last(b).await, Some(d("2026-09-09")));
    // Moving the newest visit's date back, then deleting it.
    t.db.execute_admin(&format!(
        "UPDATE work_order SET opened_on = '2026-02-01' WHERE id = {late}"
    ))
    .await
    .expect("move");
    assert_eq!(last(a).await, Some(d("2026-04-01")));
    t.db.execute_admin(&format!("DELETE FROM work_order WHERE id = {late}"))
        .await
        .expect("delete");
    assert_eq!(last(a).await, Some(d("2026-04-01")));
    // 王二 merged into 王一: the survivor's last visit is now 王二's.
    let survivor = t.db.customer_unscoped(a).await.expect("a");
    t.db.merge_customers(a, b, &survivor.fields, None, &[], None, f.svc.clock.now())
        .await
        .expect("merge");
    assert_eq!(
        last(a).await,
        Some(d("2026-09-09")),
        "visits moved to the survivor"
    );
    assert_eq!(last(b).await, None, "the merged customer has none left");
}
both!(the_last_visit_follows_the_work_orders);
