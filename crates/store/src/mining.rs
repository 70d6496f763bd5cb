//! Reads for the mining job, as columns, and the snapshot tables it writes.
//!
//! The big tables are read in key order in chunks (`id > last ORDER BY id LIMIT n`), so a
//! million customers and six million work orders arrive as flat vectors without one huge
//! result set being held twice. Dates become days since 1970-01-01 (`i32`) and ids `u32`,
//! the shapes `dealerbase-mining` takes.

use crate::bulk::{TableRows, Val};
use crate::model::Id;
use crate::sql::{Sql, bind_args};
use crate::{Db, Result, Scope, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

const CHUNK: i64 = 250_000;

/// An incomplete snapshot older than this is taken to have been interrupted and is
/// replaced; a younger one is taken to be still running.
pub const STALE_RUN_MINUTES: i64 = 30;

/// The newest complete snapshot (by its date), as a subquery: every read of "the latest
/// results" uses this one definition.
pub(crate) const LATEST_RUN: &str =
    "(SELECT id FROM mining_run WHERE complete ORDER BY as_of DESC, id DESC LIMIT 1)";

/// What [`Db::start_mining_run`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStart {
    Started(Id),
    /// The day's snapshot is complete.
    Done,
    /// Another run of the day is under way.
    Running,
}

/// Days since 1970-01-01.
pub fn day_number(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

fn id32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Work orders (service visits) opened on or before the as-of date, PDI excluded (it is
/// done before delivery, not a visit by the owner).
#[derive(Debug, Default, Clone)]
pub struct VisitColumns {
    pub customer: Vec<u32>,
    pub vehicle: Vec<u32>,
    pub day: Vec<i32>,
    pub amount_fen: Vec<i64>,
    /// Odometer in km, -1 when not recorded.
    pub odometer_km: Vec<i32>,
    /// Repair, accident, warranty or claim (the "rising repair spend" of trade-in).
    pub repair: Vec<bool>,
}

/// Live (not merged) customers.
#[derive(Debug, Default, Clone)]
pub struct CustomerColumns {
    pub id: Vec<u32>,
    pub store: Vec<u32>,
    /// 0 when no consultant.
    pub consultant: Vec<u32>,
}

/// Every ownership of a vehicle, with the vehicle's dates.
#[derive(Debug, Default, Clone)]
pub struct OwnershipColumns {
    pub customer: Vec<u32>,
    pub vehicle: Vec<u32>,
    pub model: Vec<u32>,
    /// Selling store, else the servicing store.
    pub store: Vec<u32>,
    pub from_day: Vec<i32>,
    /// i32::MAX while still owned.
    pub to_day: Vec<i32>,
    /// Delivery (else purchase, else ownership start).
    pub delivery_day: Vec<i32>,
    /// i32::MIN when unknown.
    pub warranty_end_day: Vec<i32>,
    pub own_sold: Vec<bool>,
}

#[derive(Debug, Default, Clone)]
pub struct SurveyColumns {
    pub customer: Vec<u32>,
    pub day: Vec<i32>,
    /// -1 when the questionnaire had no product question.
    pub product_score: Vec<i8>,
    pub service_score: Vec<i8>,
}

#[derive(Debug, Default, Clone)]
pub struct PolicyColumns {
    pub customer: Vec<u32>,
    pub start_day: Vec<i32>,
    pub end_day: Vec<i32>,
    pub sold_here: Vec<bool>,
}

/// Work-order lines as baskets: one basket per work order, items interned to ids.
#[derive(Debug, Default, Clone)]
pub struct LineBaskets {
    pub basket: Vec<u32>,
    pub item: Vec<u32>,
    /// Item id → "code name".
    pub names: Vec<String>,
    /// Item id → line code.
    pub codes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct MiningRun {
    pub id: Id,
    pub as_of: NaiveDate,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub complete: bool,
    pub customers: i64,
    pub transactions: i64,
    pub summary_json: String,
}

/// One customer's row of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, ToSchema)]
pub struct CustomerScore {
    pub run_id: Id,
    pub customer_id: Id,
    pub store_id: Id,
    pub consultant_id: Option<Id>,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary_fen: i64,
    pub r: i64,
    pub f: i64,
    pub m: i64,
    pub segment: String,
    pub tier: String,
    pub p_alive: Option<f64>,
    pub expected_visits: Option<f64>,
    pub clv_fen: Option<i64>,
    pub churn_risk: f64,
    pub churn_reasons: String,
    pub trade_in: f64,
    pub trade_in_reasons: String,
    /// k-means cluster of the run, 1 = the largest (None in older snapshots).
    #[sqlx(default)]
    pub cluster: Option<i64>,
}

const SCORE_COLUMNS: &[&str] = &[
    "run_id",
    "customer_id",
    "store_id",
    "consultant_id",
    "recency_days",
    "frequency",
    "monetary_fen",
    "r",
    "f",
    "m",
    "segment",
    "tier",
    "p_alive",
    "expected_visits",
    "clv_fen",
    "churn_risk",
    "churn_reasons",
    "trade_in",
    "trade_in_reasons",
    "cluster",
];

impl Db {
    /// Service visits up to `as_of`, in work-order id order. The id range is read as four
    /// slices at once, each on its own connection and in chunks of ids: decoding rows is
    /// most of the cost of reading millions of work orders, and the slices decode in
    /// parallel (on SQLite each connection steps on its own thread).
    pub async fn mining_visits(&self, as_of: NaiveDate) -> Result<VisitColumns> {
        let (lo, hi): (Option<i64>, Option<i64>) = on_pool!(self, p => sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM work_order").fetch_one(p).await?);
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(VisitColumns::default());
        };
        let step = (hi - lo) / 4 + 1;
        let slice =
            |k: i64| self.visit_slice(lo - 1 + k * step, (lo - 1 + (k + 1) * step).min(hi), as_of);
        let (a, b, c, d) = tokio::try_join!(slice(0), slice(1), slice(2), slice(3))?;
        let mut out = a;
        for more in [b, c, d] {
            out.customer.extend(more.customer);
            out.vehicle.extend(more.vehicle);
            out.day.extend(more.day);
            out.amount_fen.extend(more.amount_fen);
            out.odometer_km.extend(more.odometer_km);
            out.repair.extend(more.repair);
        }
        Ok(out)
    }

    /// Visits with `after < id <= until`.
    async fn visit_slice(&self, after: i64, until: i64, as_of: NaiveDate) -> Result<VisitColumns> {
        let mut out = VisitColumns::default();
        let mut last = after;
        while last < until {
            type Row = (i64, i64, i64, NaiveDate, i64, Option<i64>, i64);
            let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(
                "SELECT id, customer_id, vehicle_id, opened_on, total_fen, odometer_km, \
                   CAST(CASE WHEN kind IN ('repair', 'accident', 'warranty', 'claim') THEN 1 ELSE 0 END AS BIGINT) \
                 FROM work_order WHERE id > $1 AND id <= $2 AND kind <> 'pdi' ORDER BY id LIMIT $3")
                .bind(last).bind(until).bind(CHUNK).fetch_all(p).await?);
            let Some(l) = rows.last() else { break };
            last = l.0;
            let n = rows.len();
            for (_, c, v, d, fen, km, repair) in rows {
                if d > as_of {
                    continue;
                }
                out.customer.push(id32(c));
                out.vehicle.push(id32(v));
                out.day.push(day_number(d));
                out.amount_fen.push(fen.max(0));
                out.odometer_km
                    .push(km.map_or(-1, |k| k.clamp(0, i32::MAX as i64) as i32));
                out.repair.push(repair == 1);
            }
            if (n as i64) < CHUNK {
                break;
            }
        }
        Ok(out)
    }

    /// Customers not merged into another.
    pub async fn mining_customers(&self) -> Result<CustomerColumns> {
        let mut out = CustomerColumns::default();
        let mut last: i64 = 0;
        loop {
            let rows: Vec<(i64, i64, Option<i64>)> = on_pool!(self, p => sqlx::query_as(
                "SELECT id, store_id, consultant_id FROM customer \
                 WHERE id > $1 AND merged_into IS NULL ORDER BY id LIMIT $2")
                .bind(last).bind(CHUNK).fetch_all(p).await?);
            let Some(l) = rows.last() else { break };
            last = l.0;
            let n = rows.len();
            for (id, store, consultant) in rows {
                out.id.push(id32(id));
                out.store.push(id32(store));
                out.consultant.push(consultant.map_or(0, id32));
            }
            if (n as i64) < CHUNK {
                break;
            }
        }
        Ok(out)
    }

    /// Every vehicle ownership with the vehicle's dates.
    pub async fn mining_ownerships(&self) -> Result<OwnershipColumns> {
        type Row = (
            i64,
            i64,
            i64,
            i64,
            i64,
            NaiveDate,
            Option<NaiveDate>,
            Option<NaiveDate>,
            Option<NaiveDate>,
            bool,
        );
        let mut out = OwnershipColumns::default();
        let mut last: i64 = 0;
        loop {
            let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(
                "SELECT o.id, o.customer_id, o.vehicle_id, v.model_id, COALESCE(v.selling_store_id, v.store_id), \
                   o.from_date, o.to_date, COALESCE(v.delivery_date, v.purchase_date), v.warranty_end_date, v.own_sold \
                 FROM vehicle_ownership o JOIN vehicle v ON v.id = o.vehicle_id \
                 WHERE o.id > $1 ORDER BY o.id LIMIT $2")
                .bind(last).bind(CHUNK).fetch_all(p).await?);
            let Some(l) = rows.last() else { break };
            last = l.0;
            let n = rows.len();
            for (_, c, v, model, store, from, to, delivery, warranty, own) in rows {
                out.customer.push(id32(c));
                out.vehicle.push(id32(v));
                out.model.push(id32(model));
                out.store.push(id32(store));
                out.from_day.push(day_number(from));
                out.to_day.push(to.map_or(i32::MAX, day_number));
                out.delivery_day.push(day_number(delivery.unwrap_or(from)));
                out.warranty_end_day
                    .push(warranty.map_or(i32::MIN, day_number));
                out.own_sold.push(own);
            }
            if (n as i64) < CHUNK {
                break;
            }
        }
        Ok(out)
    }

    /// Survey answers (scores 1–5).
    pub async fn mining_surveys(&self) -> Result<SurveyColumns> {
        let rows: Vec<(i64, NaiveDate, Option<i64>, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT customer_id, answered_on, product_score, service_score FROM survey_response")
            .fetch_all(p).await?);
        let mut out = SurveyColumns::default();
        for (c, d, product, service) in rows {
            out.customer.push(id32(c));
            out.day.push(day_number(d));
            out.product_score
                .push(product.map_or(-1, |s| s.clamp(0, 5) as i8));
            out.service_score.push(service.clamp(0, 5) as i8);
        }
        Ok(out)
    }

    /// Complaints as (customer, day opened).
    pub async fn mining_complaints(&self) -> Result<(Vec<u32>, Vec<i32>)> {
        let rows: Vec<(i64, DateTime<Utc>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT customer_id, opened_at FROM complaint").fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .map(|(c, at)| (id32(c), day_number(at.date_naive())))
            .unzip())
    }

    /// Insurance policies, in chunks.
    pub async fn mining_policies(&self) -> Result<PolicyColumns> {
        let mut out = PolicyColumns::default();
        let mut last: i64 = 0;
        loop {
            let rows: Vec<(i64, i64, NaiveDate, NaiveDate, bool)> = on_pool!(self, p => sqlx::query_as(
                "SELECT id, customer_id, start_date, end_date, sold_here FROM insurance_policy \
                 WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(last).bind(CHUNK).fetch_all(p).await?);
            let Some(l) = rows.last() else { break };
            last = l.0;
            let n = rows.len();
            for (_, c, start, end, here) in rows {
                out.customer.push(id32(c));
                out.start_day.push(day_number(start));
                out.end_day.push(day_number(end));
                out.sold_here.push(here);
            }
            if (n as i64) < CHUNK {
                break;
            }
        }
        Ok(out)
    }

    /// Lines of the work orders opened in `(from, to]`, one basket per work order, at most
    /// `limit` lines (the most recent window is what cross-selling needs, and FP-growth on a
    /// few hundred thousand baskets already gives stable supports).
    pub async fn mining_line_baskets(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: i64,
    ) -> Result<LineBaskets> {
        // Four slices of the period read at once (each at most a quarter of `limit`
        // lines), carrying only the code; the names are read once per code.
        let days = (to - from).num_days().max(1);
        let cut = |k: i64| from + chrono::Duration::days(days * k / 4);
        let slice =
            |k: i64| self.line_slice(cut(k), if k == 3 { to } else { cut(k + 1) }, limit / 4 + 1);
        let (a, b, c, d) = tokio::try_join!(slice(0), slice(1), slice(2), slice(3))?;
        let names: std::collections::HashMap<String, String> = on_pool!(self, p => sqlx::query_as::<_, (String, String)>(
            "SELECT l.code, MAX(l.name) FROM work_order w JOIN work_order_line l ON l.work_order_id = w.id \
             WHERE w.opened_on > $1 AND w.opened_on <= $2 AND w.kind <> 'pdi' GROUP BY l.code")
            .bind(from).bind(to).fetch_all(p).await?).into_iter().collect();
        let mut out = LineBaskets::default();
        let mut index = std::collections::HashMap::<String, u32>::new();
        for (wo, code) in a.into_iter().chain(b).chain(c).chain(d) {
            let next = index.len() as u32;
            let item = match index.get(&code) {
                Some(&i) => i,
                None => {
                    let name = names.get(&code).map(String::as_str).unwrap_or("");
                    out.names.push(format!("{code} {name}"));
                    out.codes.push(code.clone());
                    index.insert(code, next);
                    next
                }
            };
            out.basket.push(id32(wo));
            out.item.push(item);
        }
        Ok(out)
    }

    /// (work order, line code) of the work orders opened in `(from, to]`, at most `limit`.
    async fn line_slice(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT l.work_order_id, l.code FROM work_order w JOIN work_order_line l ON l.work_order_id = w.id \
             WHERE w.opened_on > $1 AND w.opened_on <= $2 AND w.kind <> 'pdi' LIMIT $3")
            .bind(from).bind(to).bind(limit).fetch_all(p).await?))
    }

    /// Whether the snapshot for `as_of` is complete.
    pub async fn mining_run_done(&self, as_of: NaiveDate) -> Result<bool> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM mining_run WHERE as_of = $1 AND complete")
            .bind(as_of).fetch_one(p).await?);
        Ok(n > 0)
    }

    /// Starts the snapshot for `as_of`, replacing an interrupted one of the same day — one
    /// started more than [`STALE_RUN_MINUTES`] ago; a younger incomplete one is taken to be
    /// still running (another instance, `mine all`, or a run started from the page), and
    /// nothing is started.
    pub async fn start_mining_run(&self, as_of: NaiveDate, now: DateTime<Utc>) -> Result<RunStart> {
        let stale = now - chrono::Duration::minutes(STALE_RUN_MINUTES);
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let existing: Option<(i64, bool, DateTime<Utc>)> = sqlx::query_as("SELECT id, complete, started_at FROM mining_run WHERE as_of = $1")
                .bind(as_of).fetch_optional(&mut *tx).await?;
            if let Some((id, complete, started)) = existing {
                if complete {
                    return Ok(RunStart::Done);
                }
                if started > stale {
                    return Ok(RunStart::Running);
                }
                sqlx::query("DELETE FROM customer_score WHERE run_id = $1").bind(id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM mining_rule WHERE run_id = $1").bind(id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM mining_run WHERE id = $1").bind(id).execute(&mut *tx).await?;
            }
            // Two instances racing here: the UNIQUE (as_of) lets one insert; the other gets
            // a conflict and is told a run is under way.
            let id: Option<i64> = sqlx::query_scalar("INSERT INTO mining_run (as_of, started_at) VALUES ($1, $2) ON CONFLICT (as_of) DO NOTHING RETURNING id")
                .bind(as_of).bind(now).fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            Ok(id.map_or(RunStart::Running, RunStart::Started))
        })
    }

    /// The incomplete snapshot being computed, if one started within [`STALE_RUN_MINUTES`].
    pub async fn mining_run_in_progress(&self, now: DateTime<Utc>) -> Result<Option<NaiveDate>> {
        let stale = now - chrono::Duration::minutes(STALE_RUN_MINUTES);
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "SELECT as_of FROM mining_run WHERE NOT complete AND started_at > $1 ORDER BY started_at DESC LIMIT 1")
            .bind(stale).fetch_optional(p).await?))
    }

    /// Writes one batch of customer scores (one transaction).
    pub async fn write_customer_scores(&self, rows: &[CustomerScore]) -> Result<()> {
        let mut t = TableRows::new("customer_score", SCORE_COLUMNS);
        for s in rows {
            t.push([
                Val::I64(s.run_id),
                Val::I64(s.customer_id),
                Val::I64(s.store_id),
                Val::from(s.consultant_id),
                Val::I64(s.recency_days),
                Val::I64(s.frequency),
                Val::I64(s.monetary_fen),
                Val::I64(s.r),
                Val::I64(s.f),
                Val::I64(s.m),
                Val::Text(s.segment.clone()),
                Val::Text(s.tier.clone()),
                Val::from(s.p_alive),
                Val::from(s.expected_visits),
                Val::from(s.clv_fen),
                Val::F64(s.churn_risk),
                Val::Text(s.churn_reasons.clone()),
                Val::F64(s.trade_in),
                Val::Text(s.trade_in_reasons.clone()),
                Val::from(s.cluster),
            ]);
        }
        self.bulk_insert(&[t]).await
    }

    /// Marks the snapshot complete with its group-level results.
    pub async fn finish_mining_run(
        &self,
        run_id: Id,
        now: DateTime<Utc>,
        customers: i64,
        transactions: i64,
        summary_json: &str,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE mining_run SET finished_at = $2, complete = TRUE, customers = $3, transactions = $4, summary_json = $5 WHERE id = $1")
                .bind(run_id).bind(now).bind(customers).bind(transactions).bind(summary_json).execute(p).await?;
        });
        Ok(())
    }

    /// The newest complete snapshot.
    pub async fn latest_mining_run(&self) -> Result<Option<MiningRun>> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT id, as_of, started_at, finished_at, complete, customers, transactions, summary_json \
             FROM mining_run WHERE complete ORDER BY as_of DESC, id DESC LIMIT 1")
            .fetch_optional(p).await?))
    }

    /// The newest complete snapshot's id and date, without its results.
    pub async fn latest_mining_run_date(&self) -> Result<Option<(Id, NaiveDate)>> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT id, as_of FROM mining_run WHERE complete ORDER BY as_of DESC, id DESC LIMIT 1")
            .fetch_optional(p).await?))
    }

    /// Number of score rows in a run (tests and reports).
    pub async fn customer_score_count(&self, run_id: Id) -> Result<i64> {
        on_pool!(self, p => Ok(sqlx::query_scalar("SELECT COUNT(*) FROM customer_score WHERE run_id = $1")
            .bind(run_id).fetch_one(p).await?))
    }

    /// A customer's scores in the newest complete snapshot, if the customer is in scope.
    pub async fn customer_score(
        &self,
        scope: &Scope,
        customer_id: Id,
    ) -> Result<Option<CustomerScore>> {
        let mut q = Sql::new(
            "SELECT s.* FROM customer_score s JOIN customer c ON c.id = s.customer_id \
             WHERE s.run_id = ",
        );
        q.push(LATEST_RUN);
        q.push(" AND s.customer_id = ");
        q.bind_i64(customer_id);
        q.customer_scope(scope, "c");
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, CustomerScore>(sqlx::AssertSqlSafe(sql)), q.args)
            .fetch_optional(p).await?))
    }

    /// Scores of the newest snapshot in scope, highest churn risk first.
    pub async fn top_churn_risks(&self, scope: &Scope, limit: i64) -> Result<Vec<CustomerScore>> {
        let mut q = Sql::new(
            "SELECT s.* FROM customer_score s JOIN customer c ON c.id = s.customer_id \
             WHERE s.run_id = ",
        );
        q.push(LATEST_RUN);
        q.customer_scope(scope, "c");
        q.push(" ORDER BY s.churn_risk DESC, s.customer_id LIMIT ");
        q.bind_i64(limit);
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, CustomerScore>(sqlx::AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?))
    }
}
