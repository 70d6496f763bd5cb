//! Reads for the mining job, as columns, and the snapshot tables it writes.
//!
//! The big tables are read in key order, packed by the database a chunk of ids at a time
//! (`packed.rs`: one fetch per 100,000 ids rather than one per row), so a million customers
//! and ten million work orders arrive as flat vectors without a huge result set held. Dates become days since 1970-01-01 (`i32`) and ids `u32`,
//! the shapes `dealerbase-mining` takes.

use crate::bulk::{TableRows, Val};
use crate::model::Id;
use crate::sql::{Sql, bind_args};
use crate::{Db, Result, Scope, on_pool, packed};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

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

/// Runs `read` on the four quarters `(after, until]` of the keys `lo..=hi` at once.
async fn quarters<T, F, Fut>(lo: i64, hi: i64, read: F) -> Result<(T, T, T, T)>
where
    F: Fn(i64, i64) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let step = (hi - lo) / 4 + 1;
    let cut = |k: i64| (lo - 1 + k * step).min(hi);
    tokio::try_join!(
        read(cut(0), cut(1)),
        read(cut(1), cut(2)),
        read(cut(2), cut(3)),
        read(cut(3), hi)
    )
}

/// The lines one slice of the line table kept, codes interned per slice.
#[derive(Default)]
struct LineSlice {
    order: Vec<u32>,
    item: Vec<u32>,
    codes: Vec<String>,
    /// A work order holding each code (to read its name).
    first_order: Vec<u32>,
    index: std::collections::HashMap<String, u32>,
}

impl LineSlice {
    fn push(&mut self, wo: u32, code: &str) {
        let item = match self.index.get(code) {
            Some(&i) => i,
            None => {
                let i = self.codes.len() as u32;
                self.codes.push(code.to_string());
                self.first_order.push(wo);
                self.index.insert(code.to_string(), i);
                i
            }
        };
        self.order.push(wo);
        self.item.push(item);
    }
}

/// Work orders (service visits) opened on or before the as-of date, PDI excluded (it is
/// done before delivery, not a visit by the owner).
#[derive(Debug, Default, Clone)]
pub struct VisitColumns {
    /// The work order.
    pub id: Vec<u32>,
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
    /// slices at once, each on its own connection, packed (`packed.rs`): on SQLite each
    /// connection steps on its own thread, so the slices are built in parallel.
    pub async fn mining_visits(&self, as_of: NaiveDate) -> Result<VisitColumns> {
        let Some((lo, hi)) = self.key_range("work_order", "id").await? else {
            return Ok(VisitColumns::default());
        };
        let at = day_number(as_of);
        let (a, b, c, d) =
            quarters(lo, hi, |after, until| self.visit_slice(after, until, at)).await?;
        let mut out = a;
        for more in [b, c, d] {
            out.id.extend(more.id);
            out.customer.extend(more.customer);
            out.vehicle.extend(more.vehicle);
            out.day.extend(more.day);
            out.amount_fen.extend(more.amount_fen);
            out.odometer_km.extend(more.odometer_km);
            out.repair.extend(more.repair);
        }
        Ok(out)
    }

    /// Visits with `after < id <= until`, opened on or before day `at`.
    async fn visit_slice(&self, after: i64, until: i64, at: i32) -> Result<VisitColumns> {
        let mut out = VisitColumns::default();
        let opened = self.day_field("opened_on");
        let fields = [
            "id",
            "customer_id",
            "vehicle_id",
            &opened,
            "total_fen",
            "COALESCE(odometer_km, -1)",
            "CASE WHEN kind IN ('repair', 'accident', 'warranty', 'claim') THEN 1 ELSE 0 END",
        ];
        self.packed_rows(
            &fields,
            "work_order",
            "id",
            "AND kind <> 'pdi'",
            after,
            until,
            packed::KEYS_PER_FETCH,
            |f| {
                let day = packed::day(f[3])?.unwrap_or(i32::MAX);
                if day > at {
                    return Ok(());
                }
                out.id.push(id32(packed::int(f[0])?));
                out.customer.push(id32(packed::int(f[1])?));
                out.vehicle.push(id32(packed::int(f[2])?));
                out.day.push(day);
                out.amount_fen.push(packed::int(f[4])?.max(0));
                let km = packed::int(f[5])?;
                out.odometer_km.push(if km < 0 {
                    -1
                } else {
                    km.min(i32::MAX as i64) as i32
                });
                out.repair.push(f[6] == "1");
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// Customers not merged into another.
    pub async fn mining_customers(&self) -> Result<CustomerColumns> {
        let mut out = CustomerColumns::default();
        let fields = ["id", "store_id", "COALESCE(consultant_id, 0)"];
        self.packed_table(
            &fields,
            "customer",
            "customer",
            "id",
            "AND merged_into IS NULL",
            |f| {
                out.id.push(id32(packed::int(f[0])?));
                out.store.push(id32(packed::int(f[1])?));
                out.consultant.push(id32(packed::int(f[2])?));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// Every vehicle ownership with the vehicle's dates.
    pub async fn mining_ownerships(&self) -> Result<OwnershipColumns> {
        let mut out = OwnershipColumns::default();
        let (from, to, delivery, warranty) = (
            self.day_field("o.from_date"),
            self.day_field("o.to_date"),
            self.day_field("COALESCE(v.delivery_date, v.purchase_date)"),
            self.day_field("v.warranty_end_date"),
        );
        let fields = [
            "o.customer_id",
            "o.vehicle_id",
            "v.model_id",
            "COALESCE(v.selling_store_id, v.store_id)",
            &from,
            &to,
            &delivery,
            &warranty,
            "CASE WHEN v.own_sold THEN 1 ELSE 0 END",
        ];
        self.packed_table(
            &fields,
            "vehicle_ownership o",
            "vehicle_ownership o JOIN vehicle v ON v.id = o.vehicle_id",
            "o.id",
            "",
            |f| {
                let from = packed::day(f[4])?.unwrap_or(0);
                out.customer.push(id32(packed::int(f[0])?));
                out.vehicle.push(id32(packed::int(f[1])?));
                out.model.push(id32(packed::int(f[2])?));
                out.store.push(id32(packed::int(f[3])?));
                out.from_day.push(from);
                out.to_day.push(packed::day(f[5])?.unwrap_or(i32::MAX));
                out.delivery_day.push(packed::day(f[6])?.unwrap_or(from));
                out.warranty_end_day
                    .push(packed::day(f[7])?.unwrap_or(i32::MIN));
                out.own_sold.push(f[8] == "1");
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// Survey answers (scores 1–5).
    pub async fn mining_surveys(&self) -> Result<SurveyColumns> {
        let mut out = SurveyColumns::default();
        let answered = self.day_field("answered_on");
        let fields = [
            "customer_id",
            &answered,
            "COALESCE(product_score, -1)",
            "service_score",
        ];
        self.packed_table(
            &fields,
            "survey_response",
            "survey_response",
            "id",
            "",
            |f| {
                out.customer.push(id32(packed::int(f[0])?));
                out.day.push(packed::day(f[1])?.unwrap_or(0));
                let product = packed::int(f[2])?;
                out.product_score.push(if product < 0 {
                    -1
                } else {
                    product.min(5) as i8
                });
                out.service_score.push(packed::int(f[3])?.clamp(0, 5) as i8);
                Ok(())
            },
        )
        .await?;
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

    /// Insurance policies.
    pub async fn mining_policies(&self) -> Result<PolicyColumns> {
        let mut out = PolicyColumns::default();
        let (start, end) = (self.day_field("start_date"), self.day_field("end_date"));
        let fields = [
            "customer_id",
            &start,
            &end,
            "CASE WHEN sold_here THEN 1 ELSE 0 END",
        ];
        self.packed_table(
            &fields,
            "insurance_policy",
            "insurance_policy",
            "id",
            "",
            |f| {
                out.customer.push(id32(packed::int(f[0])?));
                out.start_day.push(packed::day(f[1])?.unwrap_or(0));
                out.end_day.push(packed::day(f[2])?.unwrap_or(0));
                out.sold_here.push(f[3] == "1");
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// The lines of the given work orders, one basket per work order, at most about
    /// `limit` lines: over the limit, whole baskets are kept by a hash of the work order,
    /// the same ones every run (FP-growth on a few million lines already gives stable
    /// supports). The line table is read in four slices of its ids, packed, and only the
    /// lines of these work orders are kept; the names are read once per code.
    pub async fn mining_line_baskets(&self, orders: &[u32], limit: usize) -> Result<LineBaskets> {
        let (Some(&first), Some(&last)) = (orders.iter().min(), orders.iter().max()) else {
            return Ok(LineBaskets::default());
        };
        let Some((lo, hi)) = self.key_range("work_order_line", "id").await? else {
            return Ok(LineBaskets::default());
        };
        let mut wanted = vec![false; last as usize + 1];
        for &o in orders {
            wanted[o as usize] = true;
        }
        let wanted = &wanted;
        let filter = format!("AND work_order_id >= {first} AND work_order_id <= {last}");
        let filter = filter.as_str();
        let (a, b, c, d) = quarters(lo, hi, |after, until| async move {
            let mut s = LineSlice::default();
            self.packed_rows(
                &["work_order_id", "code"],
                "work_order_line",
                "id",
                filter,
                after,
                until,
                packed::KEYS_PER_FETCH,
                |f| {
                    let wo = id32(packed::int(f[0])?);
                    if wanted.get(wo as usize).copied().unwrap_or(false) {
                        s.push(wo, f[1]);
                    }
                    Ok(())
                },
            )
            .await?;
            Ok(s)
        })
        .await?;
        let total: usize = [&a, &b, &c, &d].iter().map(|s| s.order.len()).sum();
        // Keep a basket when the top 32 bits of its hash fall under limit/total of 2^32.
        let keep_below = if total > limit {
            ((limit as u128) << 32) / total as u128
        } else {
            1u128 << 32
        };
        let kept = |wo: u32| {
            (((wo as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u128) < keep_below
        };
        let mut out = LineBaskets::default();
        let mut index = std::collections::HashMap::<String, u32>::new();
        let mut sample_order: Vec<u32> = Vec::new();
        for s in [a, b, c, d] {
            let global: Vec<u32> = s
                .codes
                .iter()
                .zip(&s.first_order)
                .map(|(code, &wo)| {
                    let next = index.len() as u32;
                    *index.entry(code.clone()).or_insert_with(|| {
                        out.codes.push(code.clone());
                        sample_order.push(wo);
                        next
                    })
                })
                .collect();
            for (wo, item) in s.order.into_iter().zip(s.item) {
                if kept(wo) {
                    out.basket.push(wo);
                    out.item.push(global[item as usize]);
                }
            }
        }
        // A name per code, from a work order known to hold it.
        let mut names = std::collections::HashMap::<String, String>::new();
        for ids in sample_order.chunks(500) {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let sql =
                format!("SELECT code, name FROM work_order_line WHERE work_order_id IN ({list})");
            let rows: Vec<(String, String)> =
                on_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(p).await?);
            for (code, name) in rows {
                names.entry(code).or_insert(name);
            }
        }
        out.names = out
            .codes
            .iter()
            .map(|code| {
                format!(
                    "{code} {}",
                    names.get(code).map(String::as_str).unwrap_or("")
                )
            })
            .collect();
        Ok(out)
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
