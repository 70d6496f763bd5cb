//! Background-job coordination: several app instances may share one PostgreSQL database,
//! and each daily job must run once. A job is taken by one conditional UPDATE — only one
//! instance can match it — and marked done for the day when it finishes.

use crate::model::Id;
use crate::{Db, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};

impl Db {
    /// Takes job `name` for `today` unless it already ran today or another holder's lease
    /// (`locked_until`) has not expired. Returns whether this caller took it.
    pub async fn try_start_job(
        &self,
        name: &str,
        holder: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let taken = on_pool!(self, p => {
            sqlx::query("INSERT INTO job_lock (name, holder, locked_until) VALUES ($1, '', $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(epoch).execute(p).await?;
            sqlx::query(
                "UPDATE job_lock SET holder = $2, locked_until = $3 \
                 WHERE name = $1 AND (last_run_on IS NULL OR last_run_on < $4) AND locked_until < $5")
                .bind(name).bind(holder).bind(lease_until).bind(today).bind(now).execute(p).await?.rows_affected()
        });
        Ok(taken == 1)
    }

    /// Marks the job done for `today` and releases the lease.
    pub async fn finish_job(&self, name: &str, holder: &str, today: NaiveDate) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE job_lock SET last_run_on = $3, locked_until = $4 WHERE name = $1 AND holder = $2")
                .bind(name).bind(holder).bind(today).bind(DateTime::<Utc>::UNIX_EPOCH).execute(p).await?;
        });
        Ok(())
    }

    /// Customers whose derived class may have changed with the passing of time: owners with
    /// no visit or delivery since `cutoff` (they may have lapsed) and lapsed customers who
    /// came back. The class rule itself is the domain's; this only narrows the set.
    pub async fn lapse_candidates(&self, cutoff: NaiveDate) -> Result<Vec<Id>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT c.id FROM customer c WHERE c.class IN ('own_sold_owner', 'other_sold_owner') AND c.merged_into IS NULL \
               AND NOT EXISTS (SELECT 1 FROM work_order w WHERE w.customer_id = c.id AND w.opened_on >= $1) \
               AND NOT EXISTS (SELECT 1 FROM vehicle_ownership o JOIN vehicle v ON v.id = o.vehicle_id \
                               WHERE o.customer_id = c.id AND o.to_date IS NULL AND v.delivery_date >= $1) \
             UNION \
             SELECT c.id FROM customer c WHERE c.class = 'lapsed' \
               AND EXISTS (SELECT 1 FROM work_order w WHERE w.customer_id = c.id AND w.opened_on >= $1) \
             ORDER BY 1")
            .bind(cutoff).fetch_all(p).await?))
    }
}
