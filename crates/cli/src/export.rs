//! `dealerbase export …`: the same rows, filters, masking and audit as the list pages and
//! the API.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dealerbase_domain::Lang;
use dealerbase_service::export::{ExportFormat, TaskQuery, VehicleQuery, WorkOrderQuery};
use dealerbase_service::records::{CustomerQuery, LeadQuery};
use dealerbase_service::{Actor, Services};
use dealerbase_store::Id;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export the customer list (masked as on the list page) to CSV or XLSX.
    #[command(
        after_help = "Example: dealerbase export customers --class vip --format xlsx --output vip.xlsx"
    )]
    Customers {
        #[command(flatten)]
        common: ExportArgs,
        /// Search: name fragment, mobile, plate or VIN
        #[arg(long)]
        q: Option<String>,
        /// Customer class code (potential, intent, vip, lapsed, …)
        #[arg(long)]
        class: Option<String>,
        /// Customer kind code (individual, company, …)
        #[arg(long)]
        kind: Option<String>,
    },
    /// Export vehicles with their owners.
    #[command(
        after_help = "Example: dealerbase export vehicles --insurance-due-before 2026-12-31 --format xlsx -o renewals.xlsx"
    )]
    Vehicles {
        #[command(flatten)]
        common: ExportArgs,
        /// VIN or plate
        #[arg(long)]
        q: Option<String>,
        /// Either insurance ends on or before this date
        #[arg(long)]
        insurance_due_before: Option<String>,
    },
    /// Export leads.
    #[command(after_help = "Example: dealerbase export leads --status open --grade H -o hot.csv")]
    Leads {
        #[command(flatten)]
        common: ExportArgs,
        /// open | ordered | delivered | defeat_pending | defeated | frozen | lost_contact
        #[arg(long)]
        status: Option<String>,
        /// O | H | A | B | C
        #[arg(long)]
        grade: Option<String>,
    },
    /// Export tasks (follow-ups, reminders, renewals, …).
    #[command(
        after_help = "Example: dealerbase export tasks --status open --kind insurance_renewal -o calls.csv"
    )]
    Tasks {
        #[command(flatten)]
        common: ExportArgs,
        /// open | done | cancelled
        #[arg(long)]
        status: Option<String>,
        /// lead_follow_up | insurance_renewal | maintenance_reminder | …
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        due_from: Option<String>,
        #[arg(long)]
        due_to: Option<String>,
    },
    /// Export work orders.
    #[command(
        after_help = "Example: dealerbase export work-orders --opened-from 2026-01-01 --kind first_service -o first.xlsx --format xlsx"
    )]
    WorkOrders {
        #[command(flatten)]
        common: ExportArgs,
        /// first_service | maintenance | repair | accident | warranty | claim | pdi | accessory
        #[arg(long)]
        kind: Option<String>,
        /// open | settled
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        opened_from: Option<String>,
        #[arg(long)]
        opened_to: Option<String>,
    },
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
    /// Store code
    #[arg(long)]
    pub store: Option<String>,
    /// Full mobile numbers (only for roles that may reveal them; audited)
    #[arg(long)]
    pub reveal: bool,
    /// Headers in zh | en
    #[arg(long, env = "DEALERBASE_LANG", default_value = "zh")]
    pub lang: String,
}

pub async fn run(cmd: ExportCommand) -> Result<()> {
    let common = match &cmd {
        ExportCommand::Customers { common, .. }
        | ExportCommand::Vehicles { common, .. }
        | ExportCommand::Leads { common, .. }
        | ExportCommand::Tasks { common, .. }
        | ExportCommand::WorkOrders { common, .. } => common,
    };
    let lang = if common.lang == "en" {
        Lang::En
    } else {
        Lang::Zh
    };
    let err = |e: dealerbase_service::ServiceError| anyhow::anyhow!("{}", e.message(lang));
    let format = ExportFormat::parse(&common.format).map_err(err)?;
    let database = crate::open(&common.db).await?;
    let staff = database
        .staff_by_login(&common.login)
        .await?
        .with_context(|| format!("--as {:?}: no such user", common.login))?;
    let actor = Actor::from_staff(&staff).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store_id: Option<Id> = match &common.store {
        Some(code) => Some(
            database
                .store_by_code(code)
                .await?
                .with_context(|| format!("--store {code:?}: no store has this code"))?
                .id,
        ),
        None => None,
    };
    let svc: Services = crate::services(database);
    let reveal = common.reveal;
    let output = common.output.clone();
    let mut buf: Vec<u8> = Vec::new();
    let (n, what) = match cmd {
        ExportCommand::Customers { q, class, kind, .. } => {
            let query = CustomerQuery {
                q,
                store_id,
                class,
                kind,
                ..Default::default()
            };
            let n = svc
                .export_customers_as(&actor, &query, format, lang, reveal, &mut buf)
                .await
                .map_err(err)?;
            (n, "customers")
        }
        ExportCommand::Vehicles {
            q,
            insurance_due_before,
            ..
        } => {
            let query = VehicleQuery {
                q,
                store_id,
                insurance_due_before,
                ..Default::default()
            };
            let n = svc
                .export_vehicles(&actor, &query, format, lang, reveal, &mut buf)
                .await
                .map_err(err)?;
            (n, "vehicles")
        }
        ExportCommand::Leads { status, grade, .. } => {
            let query = LeadQuery {
                status,
                grade,
                ..Default::default()
            };
            let n = svc
                .export_leads(&actor, &query, format, lang, reveal, &mut buf)
                .await
                .map_err(err)?;
            (n, "leads")
        }
        ExportCommand::Tasks {
            status,
            kind,
            due_from,
            due_to,
            ..
        } => {
            let query = TaskQuery {
                store_id,
                status,
                kind,
                due_from,
                due_to,
                ..Default::default()
            };
            let n = svc
                .export_tasks(&actor, &query, format, lang, reveal, &mut buf)
                .await
                .map_err(err)?;
            (n, "tasks")
        }
        ExportCommand::WorkOrders {
            kind,
            status,
            opened_from,
            opened_to,
            ..
        } => {
            let query = WorkOrderQuery {
                store_id,
                kind,
                status,
                opened_from,
                opened_to,
                ..Default::default()
            };
            let n = svc
                .export_work_orders(&actor, &query, format, lang, reveal, &mut buf)
                .await
                .map_err(err)?;
            (n, "work orders")
        }
    };
    match &output {
        Some(p) => std::fs::write(p, &buf).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&buf)?;
        }
    }
    eprintln!("{n} {what} exported");
    Ok(())
}
