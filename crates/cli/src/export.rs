//! `dealerbase export …`: the same rows, filters, masking and audit as the list pages.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dealerbase_domain::Lang;
use dealerbase_service::Actor;
use dealerbase_service::export::ExportFormat;
use dealerbase_service::records::CustomerQuery;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export the customer list (masked as on the list page) to CSV or XLSX.
    #[command(
        after_help = "Example: dealerbase export customers --class vip --format xlsx --output vip.xlsx"
    )]
    Customers(ExportArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: crate::DbArgs,
    /// Who exports; the rows are this user's scope, and the export is audited under them
    #[arg(long = "as", env = "DEALERBASE_LOGIN", default_value = "admin")]
    pub login: String,
    /// csv | xlsx
    #[arg(long, env = "DEALERBASE_EXPORT_FORMAT", default_value = "csv")]
    pub format: String,
    /// Output file (default: standard output)
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Search: name fragment, mobile, plate or VIN
    #[arg(long)]
    pub q: Option<String>,
    /// Store code
    #[arg(long)]
    pub store: Option<String>,
    /// Customer class code (potential, intent, vip, lapsed, …)
    #[arg(long)]
    pub class: Option<String>,
    /// Customer kind code (individual, company, …)
    #[arg(long)]
    pub kind: Option<String>,
    /// Headers in zh | en
    #[arg(long, env = "DEALERBASE_LANG", default_value = "zh")]
    pub lang: String,
}

pub async fn run(cmd: ExportCommand) -> Result<()> {
    let ExportCommand::Customers(a) = cmd;
    let lang = if a.lang == "en" { Lang::En } else { Lang::Zh };
    let format =
        ExportFormat::parse(&a.format).map_err(|e| anyhow::anyhow!("{}", e.message(lang)))?;
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
    let query = CustomerQuery {
        q: a.q,
        store_id,
        class: a.class,
        kind: a.kind,
        ..Default::default()
    };
    let svc = crate::services(database);
    let mut buf: Vec<u8> = Vec::new();
    let n = svc
        .export_customers(&actor, &query, format, lang, &mut buf)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message(lang)))?;
    match &a.output {
        Some(p) => std::fs::write(p, &buf).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&buf)?;
        }
    }
    eprintln!("{n} customers exported");
    Ok(())
}
