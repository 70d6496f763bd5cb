//! Imports of vehicles, work orders (lines), insurance policies and sales from fixture
//! files, customers recognised by the VIN of a vehicle they own, XLSX files (sheet rows in
//! the report), on both databases; a killed import of customers and of work orders (kill
//! -9 of the binary) on both databases.

use crate::both;
use crate::harness::{Fixture, TestDb, fixture};
use dealerbase_domain::Lang;
use dealerbase_service::import::{ImportKind, ImportOptions, ImportSummary};
use dealerbase_store::{Customer, Db, Scope};
use std::path::PathBuf;

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// read, inserted, updated, unchanged, merged, rejected, customers created
fn counts(s: &ImportSummary) -> [i64; 7] {
    [
        s.read,
        s.inserted,
        s.updated,
        s.unchanged,
        s.merged,
        s.rejected,
        s.customers_created,
    ]
}

fn problems(s: &ImportSummary) -> Vec<(i64, &str, &str)> {
    s.problems
        .iter()
        .map(|p| (p.line, p.column.as_str(), p.value.as_str()))
        .collect()
}

async fn by_mobile(db: &Db, mobile: &str) -> Customer {
    let found = db
        .customers_by_keys(1, &[mobile.to_string()], &[])
        .await
        .expect("lookup");
    assert_eq!(found.len(), 1, "{mobile}");
    found.into_iter().next().expect("one")
}

fn opts(f: &Fixture) -> ImportOptions {
    ImportOptions {
        store_id: Some(f.store1),
        lang: Lang::En,
        ..Default::default()
    }
}

async fn import(f: &Fixture, kind: ImportKind, name: &str, o: &ImportOptions) -> ImportSummary {
    f.svc
        .import_file(&f.admin, kind, &file(name), o)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

const VIN1: &str = "LFV2A21K4P4000001";
const VIN2: &str = "LFV2A21K6P4000002";
const VIN4: &str = "LFV2A21KXP4000004";
const VIN5: &str = "LFV2A21K1P4000005";

async fn vehicles_then_work_orders_policies_and_customers_by_vin(t: &TestDb) {
    let f = fixture(&t.db).await;
    let o = opts(&f);
    // A dry run says what the import will do and writes nothing.
    let dry = import(
        &f,
        ImportKind::Vehicles,
        "vehicles.csv",
        &ImportOptions {
            dry_run: true,
            ..o.clone()
        },
    )
    .await;
    assert_eq!(t.db.max_id("vehicle").await.expect("max"), 0);
    let v = import(&f, ImportKind::Vehicles, "vehicles.csv", &o).await;
    // 10 rows: vehicles 1, 2 and 4 new (3 owners created), row 10 repeats vehicle 1, six
    // rows rejected.
    assert_eq!(counts(&v), [10, 3, 0, 0, 1, 6, 3], "{v:#?}");
    assert_eq!(counts(&dry), counts(&v));
    assert_eq!(dry.problems, v.problems);
    assert_eq!(v.unknown_columns, vec!["备注"]);
    assert_eq!(
        problems(&v),
        vec![
            (4, "车架号", "LFV2A21K0P4000009"),
            (5, "车牌号", "浙A1234"),
            (6, "车型代码", "XX-999"),
            (7, "购车日期", "2023-02-30"),
            (8, "手机", ""),
            (9, "手机", "12345"),
        ],
        "{:#?}",
        v.problems
    );
    // The check digit is named in the reason.
    assert!(
        v.problems[0].reason.contains("expected 9"),
        "{}",
        v.problems[0].reason
    );
    // Normalisation: VIN trimmed and upper-cased, full-width VIN and digits, plate with a
    // dot, dates in four forms (incl. an Excel serial), kilometres with separators.
    let zhang = by_mobile(&t.db, "13800138000").await;
    assert_eq!(zhang.fields.name, "张三");
    let vs = t.db.customer_vehicles(zhang.id).await.expect("vehicles");
    assert_eq!(vs.len(), 1);
    let v1 = &vs[0].0;
    assert_eq!(v1.fields.vin, VIN1);
    assert_eq!(v1.fields.plate.as_deref(), Some("浙A12345"));
    assert_eq!(
        v1.fields.purchase_date.map(|d| d.to_string()).as_deref(),
        Some("2023-01-05")
    );
    assert_eq!(
        v1.fields.delivery_date.map(|d| d.to_string()).as_deref(),
        Some("2023-01-08")
    );
    assert!(v1.fields.own_sold);
    // Warranty from the delivery date by the model's 36 months.
    assert_eq!(
        v1.fields
            .warranty_end_date
            .map(|d| d.to_string())
            .as_deref(),
        Some("2026-01-08")
    );
    // Both readings of vehicle 1 (rows 2 and 10) are kept.
    let km: Vec<i64> =
        t.db.odometer_readings(&[v1.id])
            .await
            .expect("odo")
            .iter()
            .map(|r| r.km)
            .collect();
    assert_eq!(km, vec![12_345, 15_000]);
    let li = by_mobile(&t.db, "13900139000").await;
    let v2 = &t.db.customer_vehicles(li.id).await.expect("vehicles")[0].0;
    assert_eq!(v2.fields.vin, VIN2);
    assert_eq!(v2.fields.plate.as_deref(), Some("浙AD12345"));
    assert_eq!(
        v2.fields.purchase_date.map(|d| d.to_string()).as_deref(),
        Some("2023-01-05")
    );
    assert_eq!(
        v2.fields.delivery_date.map(|d| d.to_string()).as_deref(),
        Some("2023-01-10")
    );
    assert!(!v2.fields.own_sold);
    // The owner recognised by ID number only.
    let wang =
        t.db.customers_by_keys(1, &[], &["11010519491231002X".to_string()])
            .await
            .expect("by id");
    assert_eq!(wang.len(), 1);
    assert_eq!(wang[0].fields.name, "王五");
    // Owners are classified after the import: sold here, no service visit since the
    // delivery in 2023 (today is 2026-11-23), so lapsed.
    assert_eq!(zhang.class, "lapsed", "{}", zhang.class_reason);
    assert_eq!(
        t.db.import_integrity()
            .await
            .expect("integrity")
            .iter()
            .map(|(_, n)| *n)
            .sum::<i64>(),
        0
    );

    // Importing the same file again changes nothing.
    let again = import(&f, ImportKind::Vehicles, "vehicles.csv", &o).await;
    assert_eq!(counts(&again), [10, 0, 0, 3, 1, 6, 0], "{again:#?}");

    // Work orders: rows of one number are one work order with its lines.
    let w = import(&f, ImportKind::WorkOrders, "work_orders.csv", &o).await;
    // 9 rows, 7 work orders: WO-1 and WO-2 new; WO-3 (unknown vehicle), WO-4 (line kind),
    // WO-5 (two VINs), WO-6 (amount) and the second, separated WO-1 rejected.
    assert_eq!(counts(&w), [9, 2, 0, 0, 0, 5, 0], "{w:#?}");
    assert_eq!(
        problems(&w),
        vec![
            (5, "车架号", "LFV2A21K7P4000008"),
            (6, "项目类型", "杂项"),
            (8, "车架号", "LFV2A21K6P4000002"),
            (9, "金额", "12元5角"),
            (10, "工单号", "WO-1"),
        ],
        "{:#?}",
        w.problems
    );
    let wos =
        t.db.customer_work_orders(zhang.id)
            .await
            .expect("work orders");
    assert_eq!(wos.len(), 1);
    let wo1 = &wos[0];
    assert_eq!(
        (
            wo1.fields.number.as_str(),
            wo1.fields.kind.as_str(),
            wo1.fields.status.as_str()
        ),
        ("WO-1", "maintenance", "settled")
    );
    // 200.00 labour + 320.00 of oil = 520.00 yuan = 52,000 fen.
    assert_eq!(wo1.fields.total_fen, 52_000);
    assert_eq!(wo1.lines.len(), 2);
    assert_eq!(
        (
            wo1.lines[1].quantity,
            wo1.lines[1].amount_fen,
            wo1.lines[1].cost_fen
        ),
        (4.0, 32_000, 20_000)
    );
    assert_eq!(wo1.fields.odometer_km, Some(20_000));
    assert_eq!(wo1.fields.advisor_id, Some(f.advisor1.staff_id));
    let wo2 = &t.db.customer_work_orders(li.id).await.expect("wo")[0];
    assert_eq!(
        (
            wo2.fields.kind.as_str(),
            wo2.fields.status.as_str(),
            wo2.fields.paid_by.as_str()
        ),
        ("first_service", "open", "oem")
    );
    let again = import(&f, ImportKind::WorkOrders, "work_orders.csv", &o).await;
    assert_eq!(counts(&again), [9, 0, 0, 2, 0, 5, 0], "{again:#?}");

    // Policies: by VIN or by plate; the vehicle's insurance end follows.
    let p = import(&f, ImportKind::Policies, "policies.csv", &o).await;
    assert_eq!(counts(&p), [6, 2, 0, 0, 1, 3, 0], "{p:#?}");
    assert_eq!(
        problems(&p),
        vec![
            (4, "保险到期日", "2026-13-01"),
            (5, "险种", "三者险"),
            (6, "保险公司", ""),
        ],
        "{:#?}",
        p.problems
    );
    let mut pol = t.db.customer_policies(zhang.id).await.expect("policies");
    pol.sort_by_key(|p| p.id);
    assert_eq!(pol.len(), 2);
    assert_eq!(
        (pol[0].kind.as_str(), pol[0].premium_fen, pol[0].sold_here),
        ("compulsory", 95_000, true)
    );
    // No start date: a year's cover ending 2026-12-01 starts 2025-12-02.
    assert_eq!(
        (
            pol[1].kind.as_str(),
            pol[1].premium_fen,
            pol[1].start_date.to_string().as_str(),
            pol[1].sold_here
        ),
        ("commercial", 320_050, "2025-12-02", false)
    );
    let v1 = &t.db.customer_vehicles(zhang.id).await.expect("vehicles")[0].0;
    assert_eq!(
        v1.fields
            .compulsory_insurance_end
            .map(|d| d.to_string())
            .as_deref(),
        Some("2026-12-01")
    );
    assert_eq!(
        v1.fields
            .commercial_insurance_end
            .map(|d| d.to_string())
            .as_deref(),
        Some("2026-12-01")
    );
    let again = import(&f, ImportKind::Policies, "policies.csv", &o).await;
    assert_eq!(counts(&again), [6, 0, 0, 2, 1, 3, 0], "{again:#?}");

    // A customer file recognised by VIN: the owner of vehicle 1 gets the newer name and the
    // e-mail; a VIN nobody owns, without mobile or ID number, is rejected.
    let c = import(&f, ImportKind::Customers, "customers_by_vin.csv", &o).await;
    assert_eq!(counts(&c), [2, 0, 1, 0, 0, 1, 0], "{c:#?}");
    assert_eq!(problems(&c), vec![(3, "车架号", "LFV2A21K9P4000009")]);
    let zhang = by_mobile(&t.db, "13800138000").await;
    assert_eq!(
        (zhang.fields.name.as_str(), zhang.fields.email.as_deref()),
        ("张三丰", Some("zs@example.com"))
    );
    let ch = t.db.customer_changes(zhang.id).await.expect("changes");
    assert!(
        ch.iter()
            .any(|c| c.field == "name" && c.new_value.as_deref() == Some("张三丰")),
        "{ch:?}"
    );
    let _ = VIN4;
    t.db.close().await;
}
both!(vehicles_then_work_orders_policies_and_customers_by_vin);

async fn sales_create_customers_and_vehicles(t: &TestDb) {
    let f = fixture(&t.db).await;
    let o = opts(&f);
    import(&f, ImportKind::Vehicles, "vehicles.csv", &o).await;
    let s = import(&f, ImportKind::Sales, "sales.csv", &o).await;
    // SO-1 (new customer, new vehicle) and SO-2 (existing owner and vehicle) imported;
    // a row without order number or VIN, a bad price and a new VIN without model rejected.
    assert_eq!(counts(&s), [5, 2, 0, 0, 0, 3, 1], "{s:#?}");
    assert_eq!(
        problems(&s),
        vec![(4, "订单号", ""), (5, "成交价", "abc"), (6, "车型", "")],
        "{:#?}",
        s.problems
    );
    let zhao = by_mobile(&t.db, "13600136000").await;
    let orders = t.db.customer_sales_orders(zhao.id).await.expect("orders");
    assert_eq!(orders.len(), 1);
    let so = &orders[0];
    // 139,900.00 yuan and a 5,000 yuan deposit, in fen.
    assert_eq!((so.price_fen, so.deposit_fen), (13_990_000, 500_000));
    assert_eq!(
        (so.kind.as_str(), so.status.as_str()),
        ("replacement", "delivered")
    );
    assert_eq!(so.consultant_id, Some(f.consultant_a.staff_id));
    let vs = t.db.customer_vehicles(zhao.id).await.expect("vehicles");
    assert_eq!(vs.len(), 1);
    assert_eq!(vs[0].0.fields.vin, VIN5);
    assert_eq!(vs[0].0.fields.plate.as_deref(), Some("浙C10001"));
    assert_eq!(Some(vs[0].0.id), so.vehicle_id);
    // Delivered here in March 2024, no service visit since: lapsed (today is 2026-11-23).
    assert_eq!(zhao.class, "lapsed", "{}", zhao.class_reason);
    let again = import(&f, ImportKind::Sales, "sales.csv", &o).await;
    assert_eq!(counts(&again), [5, 0, 0, 2, 0, 3, 0], "{again:#?}");
    // All or nothing: rejected rows, so nothing more is written.
    let before = t.db.max_id("sales_order").await.expect("max");
    let all = import(
        &f,
        ImportKind::Sales,
        "sales.csv",
        &ImportOptions {
            all_or_nothing: true,
            ..o.clone()
        },
    )
    .await;
    assert!(!all.written);
    assert_eq!(all.rejected, 3);
    assert_eq!(t.db.max_id("sales_order").await.expect("max"), before);
    t.db.close().await;
}
both!(sales_create_customers_and_vehicles);

/// An XLSX workbook: the second sheet chosen by name, English headers, a mobile stored as
/// a number, a birthday stored as a date cell; problems name the sheet row.
async fn xlsx_sheet_rows_and_cells(t: &TestDb) {
    let f = fixture(&t.db).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("customers.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    s.set_name("Notes").expect("name");
    s.write_string(0, 0, "exported by DMS").expect("write");
    let s = book.add_worksheet();
    s.set_name("Customers").expect("name");
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in ["Customer Name", "Mobile", "ID No", "Birthday", "Remark"]
        .iter()
        .enumerate()
    {
        s.write_string(0, c as u16, *h).expect("header");
    }
    s.write_string(1, 0, "周一").expect("w");
    s.write_number(1, 1, 13_811_112_222.0).expect("w");
    // 44931 is 2023-01-05 in Excel's calendar.
    s.write_number_with_format(1, 3, 44_931.0, &date)
        .expect("w");
    s.write_string(2, 0, "吴二").expect("w");
    s.write_string(2, 1, "+86 139-1111-2222").expect("w");
    s.write_string(2, 2, "11010519491231002X").expect("w");
    // Row 4 of the sheet is left empty; row 5 has a bad mobile.
    s.write_string(4, 0, "郑三").expect("w");
    s.write_string(4, 1, "1381111").expect("w");
    book.save(&path).expect("save");
    let o = ImportOptions {
        sheet: Some("Customers".into()),
        ..opts(&f)
    };
    let s = f
        .svc
        .import_file(&f.admin, ImportKind::Customers, &path, &o)
        .await
        .expect("xlsx");
    assert_eq!(s.encoding, "xlsx");
    assert_eq!(counts(&s), [3, 2, 0, 0, 0, 1, 0], "{s:#?}");
    assert_eq!(problems(&s), vec![(5, "Mobile", "1381111")]);
    assert_eq!(s.unknown_columns, vec!["Remark"]);
    let zhou = by_mobile(&t.db, "13811112222").await;
    assert_eq!(
        zhou.fields.birthday.map(|d| d.to_string()).as_deref(),
        Some("2023-01-05")
    );
    let wu = by_mobile(&t.db, "13911112222").await;
    assert_eq!(wu.fields.gender.as_deref(), Some("female"));
    // The first sheet (the default) has no name column: refused.
    let e = f
        .svc
        .import_file(&f.admin, ImportKind::Customers, &path, &opts(&f))
        .await
        .expect_err("no name column");
    assert!(
        e.message(Lang::En).contains("name"),
        "{}",
        e.message(Lang::En)
    );
    // An unknown sheet is refused naming the sheets.
    let e = f
        .svc
        .import_file(
            &f.admin,
            ImportKind::Customers,
            &path,
            &ImportOptions {
                sheet: Some("Vehicles".into()),
                ..opts(&f)
            },
        )
        .await
        .expect_err("no such sheet");
    assert!(
        e.message(Lang::En).contains("Customers"),
        "{}",
        e.message(Lang::En)
    );
    let _ = Scope::Group { group_id: 1 };
    t.db.close().await;
}
both!(xlsx_sheet_rows_and_cells);

// ---- kill -9 ---------------------------------------------------------------------------

fn dealerbase(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dealerbase"));
    cmd.args(args)
        .env_remove("DEALERBASE_DATABASE_URL")
        .env("DEALERBASE_LOG", "error");
    cmd
}

/// Starts the import, waits until some batches are committed, kills the process with
/// SIGKILL, and returns the rows done at the kill.
async fn kill_midway(db: &Db, args: &[&str], total: i64) -> i64 {
    let kind = args[1];
    let mut child = dealerbase(args).spawn().expect("spawn");
    let mut done = 0i64;
    for _ in 0..3000 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        done = db
            .latest_import_run()
            .await
            .expect("run")
            .filter(|r| r.kind == kind)
            .map_or(0, |r| r.rows_done);
        if done > 0 {
            break;
        }
    }
    assert!(done > 0, "the import did not start");
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let rows_done = db
        .latest_import_run()
        .await
        .expect("run")
        .map_or(0, |r| r.rows_done);
    assert!(rows_done < total, "killed too late: {rows_done} of {total}");
    rows_done
}

/// Killed with SIGKILL in the middle, the database holds whole batches only (every
/// customer with its name fragments, no fragment without its customer, counters equal to
/// the rows), and a rerun of the same file resumes and finishes with every row once.
async fn killed_customer_import_resumes(t: &TestDb) {
    fixture(&t.db).await;
    let dir = tempfile::tempdir().expect("dir");
    let n: i64 = 60_000;
    let csv = dir.path().join("big.csv");
    let mut text = String::from("客户姓名,手机\n");
    for i in 0..n {
        text.push_str(&format!("客户{i},1{:010}\n", 3_000_000_000i64 + i));
    }
    std::fs::write(&csv, text).expect("write");
    let args = [
        "import",
        "customers",
        csv.to_str().expect("path"),
        "--store",
        "S01",
        "--batch-size",
        "500",
        "--database-url",
        &t.url,
    ];
    let rows_done = kill_midway(&t.db, &args, n).await;
    let (customers, without_grams, orphan_grams) =
        t.db.customer_gram_integrity().await.expect("integrity");
    assert_eq!(customers, rows_done, "only whole batches are committed");
    assert_eq!((without_grams, orphan_grams), (0, 0));
    let run = t.db.latest_import_run().await.expect("run").expect("a run");
    assert_eq!(run.inserted, rows_done);
    let out = dealerbase(&args).output().expect("rerun");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resumed"), "{stderr}");
    let (customers, without_grams, orphan_grams) =
        t.db.customer_gram_integrity().await.expect("integrity");
    let run = t.db.latest_import_run().await.expect("run").expect("a run");
    assert_eq!((customers, run.rows_done, run.inserted), (n, n, n));
    assert_eq!((without_grams, orphan_grams), (0, 0));
    assert_eq!(run.status, "done");
    t.db.close().await;
}
both!(killed_customer_import_resumes);

/// The same for work orders with three lines each: no work order without all its lines,
/// no vehicle without its owner; the rerun finishes the file.
async fn killed_work_order_import_resumes(t: &TestDb) {
    fixture(&t.db).await;
    let dir = tempfile::tempdir().expect("dir");
    let vehicles: i64 = 300;
    let per_vehicle: i64 = 10;
    let vcsv = dir.path().join("v.csv");
    let mut text = String::from("车架号,车型代码,购车日期,车主姓名,手机\n");
    for i in 0..vehicles {
        text.push_str(&format!(
            "{},FV-SAG,2023-01-05,车主{i},1{:010}\n",
            crate::harness::vin(100 + i as u32),
            3_100_000_000i64 + i
        ));
    }
    std::fs::write(&vcsv, text).expect("write");
    let out = dealerbase(&[
        "import",
        "vehicles",
        vcsv.to_str().expect("p"),
        "--store",
        "S01",
        "--database-url",
        &t.url,
    ])
    .output()
    .expect("vehicles");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wcsv = dir.path().join("w.csv");
    let mut text = String::from("工单号,车架号,工单类型,开单日期,项目类型,项目名称,金额\n");
    for i in 0..vehicles {
        for k in 0..per_vehicle {
            let no = format!("W{i}-{k}");
            let vin = crate::harness::vin(100 + i as u32);
            text.push_str(&format!(
                "{no},{vin},保养,2024-01-{:02},工时,保养工时,100\n",
                1 + k
            ));
            text.push_str(&format!("{no},,,,配件,机油,80\n"));
            text.push_str(&format!("{no},,,,配件,机滤,20\n"));
        }
    }
    std::fs::write(&wcsv, text).expect("write");
    let rows = vehicles * per_vehicle * 3;
    let args = [
        "import",
        "work-orders",
        wcsv.to_str().expect("p"),
        "--store",
        "S01",
        "--batch-size",
        "30",
        "--database-url",
        &t.url,
    ];
    let rows_done = kill_midway(&t.db, &args, rows).await;
    let check = async |expect_orders: Option<i64>| {
        let integrity = t.db.import_integrity().await.expect("integrity");
        assert!(integrity.iter().all(|(_, n)| *n == 0), "{integrity:?}");
        let mut orders = 0;
        for i in 1..=vehicles {
            let c = by_mobile(&t.db, &format!("1{:010}", 3_100_000_000i64 + i - 1)).await;
            for wo in t.db.customer_work_orders(c.id).await.expect("wo") {
                orders += 1;
                assert_eq!(wo.lines.len(), 3, "{}", wo.fields.number);
                // 100 + 80 + 20 yuan.
                assert_eq!(wo.fields.total_fen, 20_000);
            }
        }
        if let Some(e) = expect_orders {
            assert_eq!(orders, e);
        }
        orders
    };
    let orders = check(None).await;
    let run = t.db.latest_import_run().await.expect("run").expect("a run");
    assert_eq!(
        run.rejected,
        0,
        "{run:?} {:?}",
        t.db.import_problems(run.id, 0, 3).await
    );
    assert_eq!(orders * 3, rows_done, "whole work orders of whole batches");
    let out = dealerbase(&args).output().expect("rerun");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(Some(vehicles * per_vehicle)).await;
    t.db.close().await;
}
both!(killed_work_order_import_resumes);
