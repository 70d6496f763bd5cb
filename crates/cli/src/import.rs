//! `dealerbase import …`: opens the files, calls the import service, writes the report;
//! `dealerbase import generate` writes a large customer file for the import benchmark.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use dealerbase_domain::Lang;
use dealerbase_service::Actor;
use dealerbase_service::import::{ImportKind, ImportOptions, ImportSummary, Mapping};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import customers (recognised by mobile, ID number or the VIN of a vehicle they own).
    #[command(
        after_help = "Example: dealerbase import customers 客户.csv --store S01 --report report.csv --dry-run"
    )]
    Customers(ImportArgs),
    /// Import vehicles with their owners (车架号, 车牌号, 车型, 购车日期, 行驶里程, 车主, 手机 …).
    #[command(
        after_help = "Example: dealerbase import vehicles 车辆.xlsx --sheet 车辆 --store S01"
    )]
    Vehicles(ImportArgs),
    /// Import vehicle sales (订单号 or 车架号, 购车日期, 交车日期, 成交价, 销售顾问, customer …).
    #[command(after_help = "Example: dealerbase import sales 销售.csv --store S01")]
    Sales(ImportArgs),
    /// Import work orders: one row per line, the rows of a work order share its 工单号.
    #[command(after_help = "Example: dealerbase import work-orders 工单.csv --store S01")]
    WorkOrders(ImportArgs),
    /// Import insurance policies (保单号, 险种, 保险公司, 保险到期日, 车架号 …).
    #[command(after_help = "Example: dealerbase import policies 保单.csv --store S01")]
    Policies(ImportArgs),
    /// Write a large generated customer CSV for the import benchmark.
    #[command(
        after_help = "Example: dealerbase import generate --rows 1000000 -o customers-1m.csv && /usr/bin/time -v dealerbase import customers customers-1m.csv --store S01"
    )]
    Generate {
        /// Data rows
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Output file
        #[arg(long, short)]
        output: PathBuf,
        /// Seed of the generator
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: crate::DbArgs,
    /// The file to import: CSV (UTF-8, UTF-8 with BOM, GBK, GB18030) or XLSX
    pub file: PathBuf,
    /// Who imports (an administrator or manager); recorded in the audit log
    #[arg(long = "as", env = "DEALERBASE_LOGIN", default_value = "admin")]
    pub login: String,
    /// Store code the records belong to (default: the user's store)
    #[arg(long, env = "DEALERBASE_IMPORT_STORE")]
    pub store: Option<String>,
    /// TOML file mapping headers to fields: [columns] "客户全名" = "name"
    #[arg(long, env = "DEALERBASE_IMPORT_MAPPING")]
    pub mapping: Option<PathBuf>,
    /// Sheet of an XLSX file (default: the first)
    #[arg(long, env = "DEALERBASE_IMPORT_SHEET")]
    pub sheet: Option<String>,
    /// Check and report without writing anything
    #[arg(long, env = "DEALERBASE_IMPORT_DRY_RUN")]
    pub dry_run: bool,
    /// Write nothing if any row is rejected
    #[arg(long, env = "DEALERBASE_IMPORT_ALL_OR_NOTHING")]
    pub all_or_nothing: bool,
    /// Write every problem (line, column, value, reason) to this CSV file
    #[arg(long, env = "DEALERBASE_IMPORT_REPORT")]
    pub report: Option<PathBuf>,
    /// Rows per transaction
    #[arg(long, env = "DEALERBASE_IMPORT_BATCH_SIZE", default_value_t = 10_000)]
    pub batch_size: usize,
    /// Language of the reasons: zh | en
    #[arg(long, env = "DEALERBASE_LANG", default_value = "zh")]
    pub lang: String,
}

pub async fn run(cmd: ImportCommand) -> Result<()> {
    let (kind, a) = match cmd {
        ImportCommand::Customers(a) => (ImportKind::Customers, a),
        ImportCommand::Vehicles(a) => (ImportKind::Vehicles, a),
        ImportCommand::Sales(a) => (ImportKind::Sales, a),
        ImportCommand::WorkOrders(a) => (ImportKind::WorkOrders, a),
        ImportCommand::Policies(a) => (ImportKind::Policies, a),
        ImportCommand::Generate { rows, output, seed } => {
            let t = std::time::Instant::now();
            generate(rows, &output, seed)?;
            eprintln!(
                "{rows} rows written to {} in {:.1} s",
                output.display(),
                t.elapsed().as_secs_f64()
            );
            return Ok(());
        }
    };
    let lang = if a.lang == "en" { Lang::En } else { Lang::Zh };
    let database = crate::open(&a.db).await?;
    let staff = database
        .staff_by_login(&a.login)
        .await?
        .with_context(|| format!("--as {:?}: no such user", a.login))?;
    let actor = Actor::from_staff(&staff).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store_id = match &a.store {
        Some(code) => Some(
            database
                .store_by_code(code)
                .await?
                .with_context(|| format!("--store {code:?}: no store has this code"))?
                .id,
        ),
        None => None,
    };
    let mapping = match &a.mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading --mapping {}", p.display()))?;
            Some(Mapping::parse(&text).map_err(|e| anyhow::anyhow!("{}", e.message(lang)))?)
        }
        None => None,
    };
    let opts = ImportOptions {
        store_id,
        mapping,
        dry_run: a.dry_run,
        all_or_nothing: a.all_or_nothing,
        sheet: a.sheet.clone(),
        batch_size: a.batch_size,
        lang,
        ..Default::default()
    };
    let svc = crate::services(database);
    let started = std::time::Instant::now();
    let summary = svc
        .import_file(&actor, kind, &a.file, &opts)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message(lang)))?;
    let elapsed = started.elapsed();
    if let Some(path) = &a.report {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        );
        match summary.run_id.filter(|_| summary.written) {
            // A writing run's report comes from the database: it covers the part of the
            // file an interrupted earlier run had committed, too.
            Some(run) => {
                svc.import_report_of_run(run, &mut out)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.message(lang)))?;
            }
            None => write_report(&mut out, &summary)?,
        }
        out.flush()?;
    }
    print_summary(&summary);
    eprintln!(
        "{:.1} s, {:.0} rows/s",
        elapsed.as_secs_f64(),
        summary.read as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    if a.all_or_nothing && !summary.written && !a.dry_run {
        bail!(
            "{} rows rejected: nothing was written (--all-or-nothing)",
            summary.rejected
        );
    }
    Ok(())
}

fn write_report(out: &mut dyn Write, s: &ImportSummary) -> Result<()> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["line", "column", "value", "reason"])?;
    for p in &s.problems {
        w.write_record([
            &p.line.to_string(),
            &dealerbase_service::export::neutralize(&p.column),
            &dealerbase_service::export::neutralize(&p.value),
            &dealerbase_service::export::neutralize(&p.reason),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn print_summary(s: &ImportSummary) {
    if !s.unknown_columns.is_empty() {
        eprintln!(
            "unknown columns (not imported): {}",
            s.unknown_columns.join(", ")
        );
    }
    if s.resumed_after > 0 {
        eprintln!(
            "resumed an interrupted run after {} committed rows",
            s.resumed_after
        );
    }
    println!("encoding: {}", s.encoding);
    println!("read: {}", s.read);
    println!("inserted: {}", s.inserted);
    println!("updated: {}", s.updated);
    println!("unchanged: {}", s.unchanged);
    println!("merged: {}", s.merged);
    println!("rejected: {}", s.rejected);
    if s.customers_created > 0 {
        println!("customers created: {}", s.customers_created);
    }
    println!("written: {}", if s.written { "yes" } else { "no" });
}

/// A deterministic DMS-like customer file: Chinese names, mobiles in the usual DMS forms
/// (+86, dashes, full-width digits now and then), a valid resident ID for a third of the
/// rows, birthdays and addresses, 2 % repeated people (the same mobile again, a newer
/// address) and 0.5 % bad mobiles.
fn generate(rows: u64, output: &PathBuf, seed: u64) -> Result<()> {
    const SURNAMES: &[&str] = &[
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
        "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
        "欧阳", "司马",
    ];
    const GIVEN: &[&str] = &[
        "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
        "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "子涵",
        "浩然", "一诺",
    ];
    const CITIES: &[&str] = &[
        "杭州市西湖区",
        "上海市浦东新区",
        "北京市朝阳区",
        "广州市天河区",
        "成都市武侯区",
        "南京市鼓楼区",
        "武汉市洪山区",
        "西安市雁塔区",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut w = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(output).with_context(|| format!("writing {}", output.display()))?,
    );
    writeln!(w, "客户姓名,手机号码,身份证号,性别,出生日期,地址,客户来源")?;
    for i in 0..rows {
        let r = next();
        // 2 % of the rows repeat an earlier person with a newer address.
        let person = if i > 100 && r % 50 == 0 {
            (r >> 8) % i
        } else {
            i
        };
        let name = format!(
            "{}{}",
            SURNAMES[(person as usize * 7 + 3) % SURNAMES.len()],
            GIVEN[(person as usize * 13 + 5) % GIVEN.len()]
        );
        let digits = format!("1{}{:09}", 3 + person % 7, (person * 7_919) % 1_000_000_000);
        let mobile = match r % 200 {
            0 => "1234567".to_string(),
            1..=20 => format!("+86 {}-{}-{}", &digits[..3], &digits[3..7], &digits[7..]),
            21..=30 => digits
                .chars()
                .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c))
                .collect(),
            _ => digits,
        };
        let (id, gender, birthday) = if person % 3 == 0 {
            // One ID number per person: (birthday, sequence) numbers the people with an ID
            // one by one (15,120 birthdays × 1,000 sequences), so two people never share one.
            let k = person / 3;
            let seq = k % 1000;
            let d = k / 1000;
            let year = 1960 + d % 45;
            let month = 1 + (d / 45) % 12;
            let day = 1 + (d / 540) % 28;
            let first17 = format!("330106{year}{month:02}{day:02}{seq:03}");
            let check = dealerbase_domain::resident_id::check_char(&first17).unwrap_or('0');
            (format!("{first17}{check}"), String::new(), String::new())
        } else {
            (
                String::new(),
                if person % 2 == 0 { "男" } else { "女" }.to_string(),
                format!(
                    "{}/{}/{}",
                    1970 + person % 35,
                    1 + person % 12,
                    1 + person % 28
                ),
            )
        };
        let address = CITIES[((person + u64::from(person != i)) as usize) % CITIES.len()];
        writeln!(
            w,
            "{name},{mobile},{id},{gender},{birthday},{address},展厅来店"
        )?;
    }
    w.flush()?;
    Ok(())
}
