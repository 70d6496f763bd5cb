//! `dealerbase loyalty accrue|run`: the loyalty steps of the nightly job on demand.

use anyhow::Result;
use clap::Subcommand;
use dealerbase_service::Services;
use dealerbase_service::loyalty::LoyaltyJobReport;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum LoyaltyCommand {
    /// Earn points for settled work orders and delivered sales not yet accrued, and
    /// upgrade members who now qualify (idempotent: a second run earns nothing).
    #[command(after_help = "Example: dealerbase loyalty accrue --as-of 2026-11-23")]
    Accrue {
        #[command(flatten)]
        db: crate::DbArgs,
        /// The day to accrue as of (YYYY-MM-DD); default today
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Everything the nightly job does for loyalty: accrue, expire due lots, yearly tier
    /// review.
    #[command(after_help = "Example: dealerbase loyalty run --as-of 2026-11-23")]
    Run {
        #[command(flatten)]
        db: crate::DbArgs,
        /// The day to run for (YYYY-MM-DD); default today
        #[arg(long)]
        as_of: Option<String>,
    },
}

fn print(r: &LoyaltyJobReport) {
    println!(
        "work orders accrued {} · sales accrued {} · points {} · upgrades {} · lots expired {} · reviewed {} · downgrades {}",
        r.work_orders_accrued,
        r.sales_accrued,
        r.points_accrued,
        r.upgrades,
        r.lots_expired,
        r.reviewed,
        r.downgrades
    );
}

pub async fn run(cmd: LoyaltyCommand) -> Result<()> {
    let (db, as_of, all) = match cmd {
        LoyaltyCommand::Accrue { db, as_of } => (db, as_of, false),
        LoyaltyCommand::Run { db, as_of } => (db, as_of, true),
    };
    let as_of = crate::as_of_date(as_of)?;
    let database = crate::open(&db).await?;
    let svc = Services::new(database, Arc::new(dealerbase_domain::FixedClock::on(as_of)));
    let r = if all {
        svc.run_loyalty_jobs(as_of).await
    } else {
        svc.accrue_points(as_of).await
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    print(&r);
    Ok(())
}
