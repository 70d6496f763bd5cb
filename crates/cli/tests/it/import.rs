//! Imports of DMS exports: encodings, headers, normalisation, each kind of bad row, merge,
//! idempotent re-import, dry run, all-or-nothing (both databases); the binary's report and
//! exit codes; a run killed with SIGKILL and finished by a rerun.

use crate::both;
use crate::harness::{TestDb, fixture};
use dealerbase_domain::Lang;
use dealerbase_service::import::{ImportOptions, ImportSummary, Mapping};
use dealerbase_store::{CustomerFilter, Scope};
use std::path::PathBuf;

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn counts(s: &ImportSummary) -> [i64; 6] {
    [
        s.read,
        s.inserted,
        s.updated,
        s.unchanged,
        s.merged,
        s.rejected,
    ]
}

async fn customer_by_mobile(db: &dealerbase_store::Db, mobile: &str) -> dealerbase_store::Customer {
    let found = db
        .customers_by_keys(1, &[mobile.to_string()], &[])
        .await
        .expect("lookup");
    assert_eq!(found.len(), 1, "{mobile}");
    found.into_iter().next().expect("one")
}

async fn import_zh_file_then_reimport_then_update(t: &TestDb) {
    let f = fixture(&t.db).await;
    let opts = ImportOptions {
        store_id: Some(f.store1),
        lang: Lang::En,
        ..Default::default()
    };
    // A dry run reports exactly what the real run does and writes nothing.
    let dry = f
        .svc
        .import_customers(
            &f.admin,
            &file("customers_zh.csv"),
            &ImportOptions {
                dry_run: true,
                ..opts.clone()
            },
        )
        .await
        .expect("dry run");
    let s = f
        .svc
        .import_customers(&f.admin, &file("customers_zh.csv"), &opts)
        .await
        .expect("import");
    assert_eq!(counts(&s), [11, 5, 0, 0, 1, 5], "{s:#?}");
    assert_eq!(counts(&dry), counts(&s));
    assert_eq!(dry.problems, s.problems);
    assert!(!dry.written && s.written);
    assert_eq!(s.encoding, "utf-8");
    assert_eq!(s.unknown_columns, vec!["备注"]);
    // Each kind of bad row, with its line, column and value.
    let p: Vec<(i64, &str, &str)> = s
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        p,
        vec![
            (7, "手机号码", "12345678901"),
            (8, "身份证号", "513101198201130015"),
            (9, "客户姓名", ""),
            (10, "手机号码", ""),
            (11, "出生日期", "2023-13-45"),
        ],
        "{:#?}",
        s.problems
    );
    assert!(s.problems.iter().all(|p| !p.reason.is_empty()));
    // Normalisation: +86 and separators, full-width digits, date forms, Excel serials; the
    // ID number fills birthday and gender; the later row of the same person wins the name
    // and keeps the address of the first.
    let zhang = customer_by_mobile(&t.db, "13800138000").await;
    assert_eq!(zhang.fields.name, "张三丰");
    assert_eq!(zhang.fields.address.as_deref(), Some("杭州市西湖区"));
    assert_eq!(
        zhang.fields.birthday.map(|d| d.to_string()).as_deref(),
        Some("1982-01-13")
    );
    assert_eq!(zhang.fields.gender.as_deref(), Some("male"));
    assert_eq!(zhang.fields.store_id, f.store1);
    let li = customer_by_mobile(&t.db, "13900139000").await;
    assert_eq!(
        li.fields.birthday.map(|d| d.to_string()).as_deref(),
        Some("2023-01-05")
    );
    let zhao = customer_by_mobile(&t.db, "13600136000").await;
    assert_eq!(
        zhao.fields.birthday.map(|d| d.to_string()).as_deref(),
        Some("1985-03-15")
    );
    let qian = customer_by_mobile(&t.db, "13500135000").await;
    assert_eq!(
        qian.fields.birthday.map(|d| d.to_string()).as_deref(),
        Some("1990-05-07")
    );
    // The name-fragment rows exist for imported customers: the search finds them.
    let page =
        t.db.list_customers(
            &Scope::Group { group_id: 1 },
            &CustomerFilter {
                search: Some(dealerbase_store::SearchKey::Name("三丰".into())),
                per_page: 10,
                page: 1,
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(page.items.len(), 1);

    // Re-importing the same file changes nothing.
    let again = f
        .svc
        .import_customers(&f.admin, &file("customers_zh.csv"), &opts)
        .await
        .expect("again");
    assert_eq!(counts(&again), [11, 0, 0, 5, 1, 5], "{again:#?}");
    assert_eq!(
        t.db.customer_changes(zhang.id).await.expect("changes"),
        vec![]
    );

    // An updated file updates only what changed, and the change is recorded.
    let v2 = f
        .svc
        .import_customers(&f.admin, &file("customers_zh_v2.csv"), &opts)
        .await
        .expect("v2");
    assert_eq!(counts(&v2), [12, 1, 1, 4, 1, 5], "{v2:#?}");
    let wang = customer_by_mobile(&t.db, "13700137000").await;
    assert_eq!(wang.fields.address.as_deref(), Some("上海市浦东新区"));
    let ch = t.db.customer_changes(wang.id).await.expect("changes");
    assert_eq!(ch.len(), 1);
    assert_eq!(
        (
            ch[0].field.as_str(),
            ch[0].old_value.as_deref(),
            ch[0].new_value.as_deref()
        ),
        ("address", None, Some("上海市浦东新区"))
    );
    // An English file with a BOM matches the existing customer by mobile and fills the
    // empty email; a bad email is rejected.
    let en = f
        .svc
        .import_customers(&f.admin, &file("customers_en_bom.csv"), &opts)
        .await
        .expect("en");
    assert_eq!(en.encoding, "utf-8-bom");
    assert_eq!(counts(&en), [2, 0, 1, 0, 0, 1], "{en:#?}");
    assert_eq!(en.problems[0].column, "E-mail");
    let li = customer_by_mobile(&t.db, "13900139000").await;
    assert_eq!(li.fields.email.as_deref(), Some("lisi@example.com"));
    assert_eq!(li.fields.name, "李四");
    t.db.close().await;
}
both!(import_zh_file_then_reimport_then_update);

async fn gbk_mapping_all_or_nothing_and_roles(t: &TestDb) {
    let f = fixture(&t.db).await;
    let opts = ImportOptions {
        store_id: Some(f.store1),
        ..Default::default()
    };
    let g = f
        .svc
        .import_customers(&f.manager1, &file("customers_gbk.csv"), &opts)
        .await
        .expect("gbk");
    assert_eq!(g.encoding, "gb18030");
    assert_eq!(counts(&g), [2, 2, 0, 0, 0, 0]);
    let chu = customer_by_mobile(&t.db, "13011112222").await;
    assert_eq!(chu.fields.name, "褚十三");
    assert_eq!(chu.fields.address.as_deref(), Some("广州市天河区"));

    let mapping = Mapping::parse(&std::fs::read_to_string(file("mapping.toml")).expect("mapping"))
        .expect("parse");
    let m = f
        .svc
        .import_customers(
            &f.admin,
            &file("customers_mapped.csv"),
            &ImportOptions {
                mapping: Some(mapping),
                ..opts.clone()
            },
        )
        .await
        .expect("mapped");
    assert_eq!(counts(&m), [1, 1, 0, 0, 0, 0]);
    assert_eq!(m.unknown_columns, vec!["微信"]);
    // Without the mapping the file has no name column: the whole import is refused.
    assert!(
        f.svc
            .import_customers(&f.admin, &file("customers_mapped.csv"), &opts)
            .await
            .is_err()
    );

    // All or nothing: one bad row, nothing written.
    let before = t.db.max_id("customer").await.expect("max");
    let all = f
        .svc
        .import_customers(
            &f.admin,
            &file("customers_zh.csv"),
            &ImportOptions {
                all_or_nothing: true,
                ..opts.clone()
            },
        )
        .await
        .expect("all or nothing");
    assert!(!all.written);
    assert_eq!(all.rejected, 5);
    assert_eq!(t.db.max_id("customer").await.expect("max"), before);

    // Consultants may not import; a manager may not import into another store.
    assert!(
        f.svc
            .import_customers(&f.consultant_a, &file("customers_gbk.csv"), &opts)
            .await
            .is_err()
    );
    assert!(
        f.svc
            .import_customers(
                &f.manager1,
                &file("customers_gbk.csv"),
                &ImportOptions {
                    store_id: Some(f.store2),
                    ..opts.clone()
                }
            )
            .await
            .is_err()
    );
    t.db.close().await;
}
both!(gbk_mapping_all_or_nothing_and_roles);

fn dealerbase(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dealerbase"));
    cmd.args(args)
        .env_remove("DEALERBASE_DATABASE_URL")
        .env("DEALERBASE_LOG", "error");
    cmd
}

async fn sqlite_with_fixture(dir: &std::path::Path) -> (String, dealerbase_store::Db) {
    let url = format!("sqlite://{}", dir.join("import.db").display());
    let db = dealerbase_store::Db::open(&url).await.expect("open");
    fixture(&db).await;
    (url, db)
}

#[tokio::test]
async fn cli_writes_the_report_and_fails_on_all_or_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (url, db) = sqlite_with_fixture(dir.path()).await;
    db.close().await;
    let report = dir.path().join("report.csv");
    let zh = file("customers_zh.csv");
    let out = dealerbase(&[
        "import",
        "customers",
        zh.to_str().expect("path"),
        "--store",
        "S01",
        "--all-or-nothing",
        "--report",
        report.to_str().expect("path"),
        "--database-url",
        &url,
    ])
    .output()
    .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("rejected: 5") && stdout.contains("written: no"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&report).expect("report");
    let text = text.trim_start_matches('\u{feff}');
    assert!(text.starts_with("line,column,value,reason\n"), "{text}");
    assert!(text.contains("7,手机号码,12345678901,"), "{text}");
    assert_eq!(text.lines().count(), 6);
    let out = dealerbase(&[
        "import",
        "customers",
        zh.to_str().expect("path"),
        "--store",
        "S01",
        "--database-url",
        &url,
    ])
    .output()
    .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("inserted: 5"), "{stdout}");
    // A missing file is an error naming the file, with a non-zero exit.
    let out = dealerbase(&[
        "import",
        "customers",
        "/nonexistent.csv",
        "--store",
        "S01",
        "--database-url",
        &url,
    ])
    .output()
    .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nonexistent.csv"));
}

/// Killed with SIGKILL in the middle, the database holds whole batches only (every
/// customer with its name fragments, no fragment without its customer), and a rerun of the
/// same file resumes and finishes with every row exactly once. On PostgreSQL two batches
/// are being written when the kill comes.
async fn killed_import_leaves_no_partial_rows_and_a_rerun_finishes(t: &TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    fixture(&t.db).await;
    let (url, db) = (t.url.clone(), t.db.clone());
    let n = 40_000;
    let csv = dir.path().join("big.csv");
    let mut text = String::from("客户姓名,手机\n");
    for i in 0..n {
        text.push_str(&format!("客户{i},1{:010}\n", 3_000_000_000u64 + i));
    }
    std::fs::write(&csv, text).expect("write");
    let args = [
        "import",
        "customers",
        csv.to_str().expect("path"),
        "--store",
        "S01",
        "--batch-size",
        "200",
        "--database-url",
        &url,
    ];
    let mut child = dealerbase(&args).spawn().expect("spawn");
    let mut done = 0i64;
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        done = db
            .latest_import_run()
            .await
            .expect("run")
            .map_or(0, |r| r.rows_done);
        if done > 0 {
            break;
        }
    }
    assert!(done > 0, "the import did not start");
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    // A commit the process sent just before it died may still be finishing on a server.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (customers, without_grams, orphan_grams) =
        db.customer_gram_integrity().await.expect("integrity");
    let rows_done = db
        .latest_import_run()
        .await
        .expect("run")
        .map_or(0, |r| r.rows_done);
    assert!(rows_done < n as i64, "killed too late: {rows_done}");
    assert_eq!(customers, rows_done, "only whole batches are committed");
    assert_eq!((without_grams, orphan_grams), (0, 0));
    let out = dealerbase(&args).output().expect("rerun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resumed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (customers, without_grams, orphan_grams) =
        db.customer_gram_integrity().await.expect("integrity");
    let rows_done = db
        .latest_import_run()
        .await
        .expect("run")
        .map_or(0, |r| r.rows_done);
    assert_eq!((customers, rows_done), (n as i64, n as i64));
    assert_eq!((without_grams, orphan_grams), (0, 0));
    db.close().await;
}
both!(killed_import_leaves_no_partial_rows_and_a_rerun_finishes);

async fn export_customers_neutralised_masked_filtered_audited(t: &TestDb) {
    use dealerbase_service::export::ExportFormat;
    use dealerbase_service::input::CustomerInput;
    use dealerbase_service::records::CustomerQuery;
    let f = fixture(&t.db).await;
    for (name, mobile, store) in [
        ("=HYPERLINK(\"http://x\")", "13900001111", f.store1),
        ("@SUM(A1)", "13900002222", f.store1),
        ("王小明", "13900003333", f.store2),
    ] {
        f.svc
            .create_customer(
                &f.admin,
                &CustomerInput {
                    name: Some(name.into()),
                    mobile: Some(mobile.into()),
                    store_id: Some(store),
                    ..Default::default()
                },
            )
            .await
            .expect("customer");
    }
    let mut out = Vec::new();
    let n = f
        .svc
        .export_customers(
            &f.admin,
            &CustomerQuery {
                store_id: Some(f.store1),
                ..Default::default()
            },
            ExportFormat::Csv,
            Lang::En,
            &mut out,
        )
        .await
        .expect("export");
    assert_eq!(n, 2);
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.starts_with("\u{feff}id,name,mobile,"), "{text}");
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
    assert!(text.contains(",'@SUM(A1),"), "{text}");
    assert!(
        text.contains("139****1111") && !text.contains("13900001111"),
        "{text}"
    );
    assert!(!text.contains("王小明"), "filtered by store: {text}");
    // A consultant of store 2 exports only their scope.
    let mut out = Vec::new();
    let n = f
        .svc
        .export_customers(
            &f.consultant_store2,
            &CustomerQuery::default(),
            ExportFormat::Xlsx,
            Lang::Zh,
            &mut out,
        )
        .await
        .expect("xlsx");
    assert!(n <= 1);
    assert!(out.starts_with(b"PK"), "an XLSX file is a zip");
    let audit =
        t.db.audit_log(Some(f.admin.staff_id), Some("export"), None, 10)
            .await
            .expect("audit");
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].detail.contains("\"rows\":2"),
        "{}",
        audit[0].detail
    );
    assert!(ExportFormat::parse("pdf").is_err());
    t.db.close().await;
}
both!(export_customers_neutralised_masked_filtered_audited);

#[tokio::test]
async fn cli_exports_customers_to_a_file() {
    let dir = tempfile::tempdir().expect("dir");
    let (url, db) = sqlite_with_fixture(dir.path()).await;
    db.close().await;
    let zh = file("customers_zh.csv");
    let ok = dealerbase(&[
        "import",
        "customers",
        zh.to_str().expect("path"),
        "--store",
        "S01",
        "--database-url",
        &url,
    ])
    .output()
    .expect("import");
    assert!(ok.status.success());
    let xlsx = dir.path().join("c.xlsx");
    let out = dealerbase(&[
        "export",
        "customers",
        "--format",
        "xlsx",
        "-o",
        xlsx.to_str().expect("path"),
        "--database-url",
        &url,
    ])
    .output()
    .expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 customers exported"));
    assert!(std::fs::read(&xlsx).expect("file").starts_with(b"PK"));
    let out = dealerbase(&[
        "export",
        "customers",
        "--format",
        "pdf",
        "--database-url",
        &url,
    ])
    .output()
    .expect("export");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pdf"));
}

/// Customers changed by one batch in different ways are written as one statement per set
/// of changed columns: a date and a yes/no column, a name (its search fragments move with
/// it), an address; each customer gets exactly its own values and changes.
async fn changed_customers_of_a_batch_keep_their_own_values(t: &TestDb) {
    let f = fixture(&t.db).await;
    let dir = tempfile::tempdir().expect("dir");
    let opts = ImportOptions {
        store_id: Some(f.store1),
        lang: Lang::En,
        ..Default::default()
    };
    let first = dir.path().join("first.csv");
    std::fs::write(
        &first,
        "客户姓名,手机号码,出生日期,VIP,地址\n\
         甲一,13900000001,1980-01-02,否,\n\
         乙二,13900000002,,否,北京\n\
         丙三,13900000003,1990-03-04,是,上海\n",
    )
    .expect("write");
    let second = dir.path().join("second.csv");
    std::fs::write(
        &second,
        "客户姓名,手机号码,出生日期,VIP,地址\n\
         甲一,13900000001,1981-02-03,是,\n\
         丁四,13900000002,,否,北京\n\
         丙三,13900000003,1990-03-04,是,广州\n\
         \"戊\"\"五\"\",{A\\B}\",13900000004,,否,\n",
    )
    .expect("write");
    let s = f
        .svc
        .import_customers(&f.admin, &first, &opts)
        .await
        .expect("first");
    assert_eq!(counts(&s), [3, 3, 0, 0, 0, 0], "{s:#?}");
    let s = f
        .svc
        .import_customers(&f.admin, &second, &opts)
        .await
        .expect("second");
    assert_eq!(counts(&s), [4, 1, 3, 0, 0, 0], "{s:#?}");
    let changes = |c: Vec<dealerbase_store::import::FieldChange>| -> Vec<(String, Option<String>, Option<String>)> {
        c.into_iter()
            .map(|c| (c.field, c.old_value, c.new_value))
            .collect()
    };
    let s = |v: &str| Some(v.to_string());
    let jia = customer_by_mobile(&t.db, "13900000001").await;
    assert_eq!(jia.fields.name, "甲一");
    assert_eq!(jia.fields.birthday.map(|d| d.to_string()), s("1981-02-03"));
    assert!(jia.fields.vip);
    assert_eq!(jia.fields.address, None);
    assert_eq!(
        changes(t.db.customer_changes(jia.id).await.expect("changes")),
        vec![
            ("birthday".into(), s("1980-01-02"), s("1981-02-03")),
            ("vip".into(), s("false"), s("true")),
        ]
    );
    let ding = customer_by_mobile(&t.db, "13900000002").await;
    assert_eq!(ding.fields.name, "丁四");
    assert_eq!(ding.fields.birthday, None);
    assert!(!ding.fields.vip);
    assert_eq!(ding.fields.address, s("北京"));
    assert_eq!(
        changes(t.db.customer_changes(ding.id).await.expect("changes")),
        vec![("name".into(), s("乙二"), s("丁四"))]
    );
    let bing = customer_by_mobile(&t.db, "13900000003").await;
    assert_eq!(bing.fields.birthday.map(|d| d.to_string()), s("1990-03-04"));
    assert!(bing.fields.vip);
    assert_eq!(bing.fields.address, s("广州"));
    assert_eq!(
        changes(t.db.customer_changes(bing.id).await.expect("changes")),
        vec![("address".into(), s("上海"), s("广州"))]
    );
    // The renamed customer is found by the new name only; every customer keeps fragments.
    let search = |q: &str| {
        let q = q.to_string();
        let db = t.db.clone();
        async move {
            db.list_customers(
                &Scope::Group { group_id: 1 },
                &CustomerFilter {
                    search: Some(dealerbase_store::SearchKey::Name(q)),
                    per_page: 10,
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .expect("search")
            .items
            .len()
        }
    };
    assert_eq!(search("丁四").await, 1);
    assert_eq!(search("乙二").await, 0);
    assert_eq!(search("甲一").await, 1);
    // Quotes, commas, braces and backslashes stay inside their fragments.
    assert_eq!(search("\"五\",{a\\b}").await, 1);
    assert_eq!(search("{a\\").await, 1);
    assert_eq!(search("\\b").await, 1);
    assert_eq!(search("a\\c").await, 0);
    let (_, without_grams, orphan_grams) = t.db.customer_gram_integrity().await.expect("integrity");
    assert_eq!((without_grams, orphan_grams), (0, 0));
    t.db.close().await;
}
both!(changed_customers_of_a_batch_keep_their_own_values);

/// One row per batch, each batch written only after the next one is looked up: a person
/// repeated in the next batch is the customer that batch is still writing, a changed
/// customer's fields are the changed ones, and a mobile the previous batch took away from
/// a customer no longer finds them. The outcome is that of batches run one by one.
async fn each_batch_sees_what_the_batch_before_it_writes(t: &TestDb) {
    let f = fixture(&t.db).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("repeats.csv");
    std::fs::write(
        &path,
        "客户姓名,手机号码,身份证号,地址\n\
         甲一,13900000011,110101198001020016,\n\
         甲一,13900000011,,北京\n\
         甲一,13900000012,110101198001020016,\n\
         乙二,13900000011,,\n\
         丙三,13900000013,,\n\
         丙三,13900000013,,上海\n",
    )
    .expect("write");
    let opts = ImportOptions {
        store_id: Some(f.store1),
        lang: Lang::En,
        batch_size: 1,
        test_write_delays: vec![std::time::Duration::from_millis(150)],
        ..Default::default()
    };
    let s = f
        .svc
        .import_customers(&f.admin, &path, &opts)
        .await
        .expect("import");
    assert_eq!(counts(&s), [6, 3, 0, 0, 3, 0], "{s:#?}");
    let jia = customer_by_mobile(&t.db, "13900000012").await;
    assert_eq!(jia.fields.name, "甲一");
    assert_eq!(jia.fields.id_number.as_deref(), Some("110101198001020016"));
    assert_eq!(jia.fields.address.as_deref(), Some("北京"));
    let yi = customer_by_mobile(&t.db, "13900000011").await;
    assert_eq!(yi.fields.name, "乙二");
    assert_ne!(yi.id, jia.id);
    let bing = customer_by_mobile(&t.db, "13900000013").await;
    assert_eq!(bing.fields.address.as_deref(), Some("上海"));
    let (customers, without_grams, orphan_grams) =
        t.db.customer_gram_integrity().await.expect("integrity");
    assert_eq!((without_grams, orphan_grams), (0, 0));
    let run = t.db.latest_import_run().await.expect("run").expect("a run");
    assert_eq!(run.rows_done, 6);
    // The fixture's own customers plus the three of the file.
    let before = customers - 3;
    assert!(before >= 0);
    t.db.close().await;
}
both!(each_batch_sees_what_the_batch_before_it_writes);

/// Batches commit in file order however long each takes: the first batch's write is held
/// back while the ones after it are ready (on PostgreSQL the second one streams its new
/// customers meanwhile). At no moment does the progress row count a row whose customer is
/// not there — a kill then would make the rerun skip it — and it ends at the last row.
async fn batches_commit_in_file_order(t: &TestDb) {
    let f = fixture(&t.db).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("four.csv");
    let mobiles: Vec<String> = (21..25).map(|i| format!("139000000{i}")).collect();
    let mut csv = String::from("客户姓名,手机号码\n");
    for (i, m) in mobiles.iter().enumerate() {
        csv.push_str(&format!("客户{i},{m}\n"));
    }
    std::fs::write(&path, csv).expect("write");
    let opts = ImportOptions {
        store_id: Some(f.store1),
        lang: Lang::En,
        batch_size: 1,
        test_write_delays: vec![
            std::time::Duration::from_millis(700),
            std::time::Duration::ZERO,
        ],
        ..Default::default()
    };
    let import = f.svc.import_customers(&f.admin, &path, &opts);
    tokio::pin!(import);
    let mut polls = 0;
    let s = loop {
        tokio::select! {
            s = &mut import => break s.expect("import"),
            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {
                if let Some(run) = t.db.latest_import_run().await.expect("run") {
                    let there = t.db.customers_by_keys(1, &mobiles, &[]).await.expect("lookup").len() as i64;
                    assert!(there >= run.rows_done, "progress at row {} with {there} customers written", run.rows_done);
                    polls += 1;
                }
            }
        }
    };
    assert!(polls > 10, "{polls} polls");
    assert_eq!(counts(&s), [4, 4, 0, 0, 0, 0], "{s:#?}");
    let run = t.db.latest_import_run().await.expect("run").expect("a run");
    assert_eq!((run.rows_done, run.inserted), (4, 4));
    t.db.close().await;
}
both!(batches_commit_in_file_order);

/// A batch whose turn never comes (the batch before it failed) writes nothing, even the
/// new customers it streamed beforehand with reserved ids (PostgreSQL); reserved ids or
/// rows that do not fit the batch are refused.
async fn a_batch_without_its_turn_writes_nothing(t: &TestDb) {
    use dealerbase_store::import::{CustomerBatch, ImportCounts, NewImportRun};
    let f = fixture(&t.db).await;
    let now = f.svc.clock.now();
    let run =
        t.db.create_import_run(
            &NewImportRun {
                kind: "customers",
                file_name: "x.csv",
                file_sha256: "00",
                staff_id: None,
                store_id: f.store1,
                status: "running",
                mode: "write",
                sheet: None,
                rows_total: None,
            },
            now,
        )
        .await
        .expect("run");
    let mobile = "13900000031".to_string();
    let mut fields = customer_by_mobile_fields(&f, &mobile);
    fields.name = "未写".into();
    let batch = CustomerBatch {
        inserts: vec![fields],
        rows_done: 1,
        counts: ImportCounts {
            inserted: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    use dealerbase_domain::class::{ClassFacts, DEFAULT_LAPSE_MONTHS, classify};
    let decision = classify(
        &ClassFacts::default(),
        f.svc.clock.today(),
        DEFAULT_LAPSE_MONTHS,
    );
    let class = (decision.class.code(), decision.reason.as_str());
    let reserved = t.db.reserve_customer_ids(1).await.expect("reserve");
    assert_eq!(
        reserved.is_some(),
        t.db.backend() == dealerbase_store::Backend::Postgres
    );
    let rows = |reserved| t.db.new_customer_rows(&batch.inserts, reserved, class, now);
    let r =
        t.db.write_customer_batch(
            run.id,
            &batch,
            rows(reserved.clone()).expect("rows"),
            now,
            async { false },
        )
        .await;
    assert!(
        matches!(r, Err(dealerbase_store::StoreError::Abandoned(_))),
        "{r:?}"
    );
    let after = t.db.import_run(run.id).await.expect("run");
    assert_eq!((after.rows_done, after.inserted), (0, 0));
    assert!(
        t.db.customers_by_keys(1, &[mobile.clone()], &[])
            .await
            .expect("lookup")
            .is_empty()
    );
    let r = rows(Some(vec![]));
    assert!(
        matches!(r, Err(dealerbase_store::StoreError::Abandoned(_))),
        "{r:?}"
    );
    let other = CustomerBatch::default();
    let r =
        t.db.write_customer_batch(
            run.id,
            &other,
            rows(reserved.clone()).expect("rows"),
            now,
            async { true },
        )
        .await;
    assert!(
        matches!(r, Err(dealerbase_store::StoreError::Abandoned(_))),
        "{r:?}"
    );
    // Its turn come, the same batch is written whole.
    let ids =
        t.db.write_customer_batch(run.id, &batch, rows(reserved).expect("rows"), now, async {
            true
        })
        .await
        .expect("write");
    assert_eq!(customer_by_mobile(&t.db, &mobile).await.id, ids[0]);
    let after = t.db.import_run(run.id).await.expect("run");
    assert_eq!((after.rows_done, after.inserted), (1, 1));
    t.db.close().await;
}
both!(a_batch_without_its_turn_writes_nothing);

/// The fields of a new customer of store 1 with this mobile.
fn customer_by_mobile_fields(
    f: &crate::harness::Fixture,
    mobile: &str,
) -> dealerbase_store::CustomerFields {
    let input = dealerbase_service::input::CustomerInput {
        store_id: Some(f.store1),
        name: Some("某".into()),
        mobile: Some(mobile.into()),
        ..Default::default()
    };
    input.apply(None, f.svc.clock.today()).expect("fields")
}

/// The benchmark file: a person with an ID number has it alone (IDs repeat only with
/// the person's own repeated rows), so repeats are the documented 2 % and not strangers
/// merged into each other. 70,000 rows reach past the 63,000-person cycle at which the
/// first version of the generator gave two people the same ID number.
#[test]
fn generated_benchmark_file_gives_each_person_their_own_id_number() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("gen.csv");
    let out = dealerbase(&[
        "import",
        "generate",
        "--rows",
        "70000",
        "-o",
        csv.to_str().expect("path"),
    ])
    .output()
    .expect("generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("read");
    let mut name_of_id: std::collections::HashMap<&str, &str> = Default::default();
    let mut with_id = 0;
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let (name, id) = (cells[0], cells[2]);
        if id.is_empty() {
            continue;
        }
        with_id += 1;
        let first = name_of_id.entry(id).or_insert(name);
        assert_eq!(*first, name, "ID number {id} given to two people");
    }
    // A third of the people have an ID number.
    assert!((22_000..25_000).contains(&with_id), "{with_id}");
}
