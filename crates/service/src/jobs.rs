//! Daily jobs. `serve` calls [`Services::run_daily_jobs`] periodically on every instance; the
//! job lock in the database lets exactly one instance run each job once a day.

use crate::{Result, Services};
use chrono::{Duration, Months};
use dealerbase_domain::class::DEFAULT_LAPSE_MONTHS;
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct DailyReport {
    /// Customers whose class was derived again (owners who may have lapsed, and back).
    pub reclassified: usize,
    /// Customers scored in today's mining snapshot (None when it already existed or failed).
    pub mined: Option<usize>,
    /// After-sales reminders and follow-up calls created (None when the step failed).
    pub aftersales: Option<crate::aftersales::GenerationReport>,
    /// Escalated follow-ups, leads returned to the pool, close rates refreshed.
    pub sales: crate::sales::SalesJobReport,
    /// Points accrued, lots expired, tiers reviewed (None when the step failed).
    pub loyalty: Option<crate::loyalty::LoyaltyJobReport>,
    /// Rows of the KPI day facts rebuilt for the days before today (None when the step
    /// failed: the old facts stay valid for the days they cover).
    pub kpi_facts: Option<u64>,
}

pub const DAILY_JOB: &str = "daily";

impl Services {
    /// Runs today's jobs if no other instance has; returns None when another instance ran
    /// them or holds the lock.
    pub async fn run_daily_jobs(&self, holder: &str) -> Result<Option<DailyReport>> {
        let today = self.clock.today();
        let now = self.clock.now();
        if !self
            .db
            .try_start_job(DAILY_JOB, holder, today, now, now + Duration::hours(2))
            .await?
        {
            return Ok(None);
        }
        let mut report = DailyReport::default();
        let cutoff = today
            .checked_sub_months(Months::new(DEFAULT_LAPSE_MONTHS))
            .unwrap_or(today);
        for id in self.db.lapse_candidates(cutoff).await? {
            self.reclassify(id).await?;
            report.reclassified += 1;
        }
        // After-sales generation reads the classes just derived (lapsed owners). A failure is
        // logged and retried tomorrow; what was generated stays (dedupe keys).
        match self.generate_aftersales(today).await {
            Ok(g) => report.aftersales = Some(g),
            Err(e) => tracing::error!(error = %e, "after-sales generation failed"),
        }
        report.sales = self.run_sales_jobs().await?;
        // Loyalty: accrue, expire, review. Idempotent (source keys); a failure is logged
        // and tomorrow's run catches up.
        match self.run_loyalty_jobs(today).await {
            Ok(l) => report.loyalty = Some(l),
            Err(e) => tracing::error!(error = %e, "loyalty step failed"),
        }
        // The KPI day facts, after the writes above (tasks, policies' renewals, points).
        // A failure is logged: the old facts still cover the days before their
        // `built_until` and the KPIs read the records from there on.
        match self.run_management_jobs().await {
            Ok(rows) => report.kpi_facts = Some(rows),
            Err(e) => tracing::error!(error = %e, "KPI facts rebuild failed"),
        }
        // A failed snapshot is logged, not fatal: the other jobs' work stands, and the
        // snapshot is retried by tomorrow's run (or `dealerbase mine all`).
        match self.mine_all(today, |_| {}).await {
            Ok(m) if !m.skipped => report.mined = Some(m.customers),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "mining snapshot failed"),
        }
        // Fresh planner statistics after the night's writes (SQLite's advice for
        // long-lived databases).
        if let Err(e) = self.db.refresh_statistics().await {
            tracing::error!(error = %e, "refreshing planner statistics failed");
        }
        self.db.finish_job(DAILY_JOB, holder, today).await?;
        tracing::info!(?report, "daily jobs done");
        Ok(Some(report))
    }
}

/// Rows the outbox step claims at a time.
pub const OUTBOX_BATCH: u32 = 100;

impl Services {
    /// The outbox step of the background loop (every half minute, on every instance):
    /// sends what is due, a batch at a time, until a batch comes back short (at most ten
    /// batches a tick, so one tick never runs for long).
    pub async fn run_outbox(&self) -> Result<crate::messaging::DispatchReport> {
        let mut total = crate::messaging::DispatchReport::default();
        for _ in 0..10 {
            let r = self.dispatch_due(OUTBOX_BATCH).await?;
            total.claimed += r.claimed;
            total.sent += r.sent;
            total.retried += r.retried;
            total.failed += r.failed;
            total.skipped += r.skipped;
            if r.claimed < OUTBOX_BATCH as usize {
                break;
            }
        }
        Ok(total)
    }
}
