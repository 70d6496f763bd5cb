//! `dealerbase import …`: opens the files, calls the import service, writes the report.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use dealerbase_domain::Lang;
use dealerbase_service::Actor;
use dealerbase_service::import::{ImportOptions, ImportSummary, Mapping};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import customers from a DMS export (CSV in UTF-8, UTF-8 with BOM, GBK or GB18030).
    #[command(
        after_help = "Example: dealerbase import customers 客户.csv --store S01 --report report.csv --dry-run"
    )]
    Customers(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: crate::DbArgs,
    /// The file to import
    pub file: PathBuf,
    /// Who imports (an administrator or manager); recorded in the audit log
    #[arg(long = "as", env = "DEALERBASE_LOGIN", default_value = "admin")]
    pub login: String,
    /// Store code the new customers belong to (default: the user's store)
    #[arg(long, env = "DEALERBASE_IMPORT_STORE")]
    pub store: Option<String>,
    /// TOML file mapping headers to fields: [columns] "客户全名" = "name"
    #[arg(long, env = "DEALERBASE_IMPORT_MAPPING")]
    pub mapping: Option<PathBuf>,
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
    #[arg(long, env = "DEALERBASE_IMPORT_BATCH_SIZE", default_value_t = 2000)]
    pub batch_size: usize,
    /// Language of the reasons: zh | en
    #[arg(long, env = "DEALERBASE_LANG", default_value = "zh")]
    pub lang: String,
}

pub async fn run(cmd: ImportCommand) -> Result<()> {
    let ImportCommand::Customers(a) = cmd;
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
        batch_size: a.batch_size,
        lang,
    };
    let svc = crate::services(database);
    let summary = svc
        .import_customers(&actor, &a.file, &opts)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message(lang)))?;
    if let Some(path) = &a.report {
        write_report(path, &summary)?;
    }
    print_summary(&summary);
    if a.all_or_nothing && !summary.written && !a.dry_run {
        bail!(
            "{} rows rejected: nothing was written (--all-or-nothing)",
            summary.rejected
        );
    }
    Ok(())
}

fn write_report(path: &PathBuf, s: &ImportSummary) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(["line", "column", "value", "reason"])?;
    for p in &s.problems {
        w.write_record([&p.line.to_string(), &p.column, &p.value, &p.reason])?;
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
    println!("written: {}", if s.written { "yes" } else { "no" });
}
