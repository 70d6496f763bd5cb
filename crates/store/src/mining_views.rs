//! Reads of the newest mining snapshot as people use it: per-store aggregates of the
//! customer scores, the scored customer list with filters (the campaign target list), the
//! cross-sell rules and a vehicle's recent work-order lines, and the batch of call-list tasks.
//!
//! Aggregates are scoped on the snapshot's own copy of the customer's store
//! (`customer_score.store_id`), so a store's figures need no join; lists of customers apply
//! the customer scope on the live customer row, as every customer read does.

use crate::bulk::{TableRows, Val};
use crate::model::{Id, Page};
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, NewTask, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

use crate::mining::LATEST_RUN;

/// One cell of the aggregate: customers of one segment, tier and churn-risk decile.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScoreCell {
    pub segment: String,
    pub tier: String,
    /// 0 for a churn risk in [0, 0.1), …, 9 for [0.9, 1].
    pub risk_decile: i64,
    pub customers: i64,
    pub monetary_fen: i64,
    pub clv_fen: i64,
    /// Sum of P(alive) over the customers that have one, and how many have one.
    pub p_alive_sum: f64,
    pub p_alive_count: i64,
}

/// Filters of the scored-customer list (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreFilter {
    pub segment: Option<String>,
    pub tier: Option<String>,
    /// Churn risk at least this (0–1).
    pub min_churn: Option<f64>,
    /// Trade-in propensity at least this (0–1).
    pub min_trade_in: Option<f64>,
    pub store_id: Option<Id>,
}

/// A scored customer with what a campaign list needs. `mobile` is as stored: the service
/// masks it unless the reader may see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ScoredCustomer {
    pub customer_id: Id,
    pub name: String,
    pub mobile: Option<String>,
    pub store_id: Id,
    pub store_name: String,
    pub consultant_id: Option<Id>,
    pub consultant_name: Option<String>,
    pub segment: String,
    pub tier: String,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary_fen: i64,
    pub clv_fen: Option<i64>,
    pub p_alive: Option<f64>,
    pub churn_risk: f64,
    pub churn_reasons: String,
    pub trade_in: f64,
    pub trade_in_reasons: String,
    /// 1 when the customer has a marketing consent that is not withdrawn.
    pub marketing_consent: i64,
    /// 1 when a contact with the customer ended with "do not contact".
    pub do_not_contact: i64,
}

/// Where a keyset read of the list continues: after this (churn risk, customer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreCursor {
    pub churn_risk: f64,
    pub customer_id: Id,
}

/// One association rule of a snapshot; the sides are item codes sorted and joined by ','.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, ToSchema)]
pub struct MiningRule {
    pub rule_no: i64,
    pub antecedent: String,
    pub consequent: String,
    pub antecedent_names: String,
    pub consequent_names: String,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// A work-order line of a vehicle (for cross-selling).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VehicleLine {
    pub vehicle_id: Id,
    pub work_order_id: Id,
    pub status: String,
    pub opened_on: NaiveDate,
    pub code: String,
    pub name: String,
}

/// Outbound campaign contacts as columns: customer, the contact's store, China date.
#[derive(Debug, Default, Clone)]
pub struct TouchColumns {
    pub customer: Vec<u32>,
    pub store: Vec<u32>,
    pub day: Vec<i32>,
}

/// ` AND <condition>` limiting snapshot rows `s` to the scope, by the snapshot's store copy.
fn score_scope(q: &mut Sql, scope: &Scope) {
    match *scope {
        Scope::Group { group_id } => {
            q.push(" AND s.store_id IN (SELECT id FROM store WHERE group_id = ");
            q.bind_i64(group_id).push(")");
        }
        Scope::Store { store_id } => {
            q.push(" AND s.store_id = ");
            q.bind_i64(store_id);
        }
        Scope::Own { store_id, staff_id } => {
            q.push(" AND s.store_id = ");
            q.bind_i64(store_id);
            q.push(" AND s.consultant_id = ");
            q.bind_i64(staff_id);
        }
    }
}

fn list_filters(q: &mut Sql, f: &ScoreFilter) {
    if let Some(v) = &f.segment {
        q.push(" AND s.segment = ").bind_text(v.clone());
    }
    if let Some(v) = &f.tier {
        q.push(" AND s.tier = ").bind_text(v.clone());
    }
    if let Some(v) = f.min_churn {
        q.push(" AND s.churn_risk >= ")
            .bind(crate::sql::Arg::F64(v));
    }
    if let Some(v) = f.min_trade_in {
        q.push(" AND s.trade_in >= ").bind(crate::sql::Arg::F64(v));
    }
    if let Some(v) = f.store_id {
        q.push(" AND c.store_id = ").bind_i64(v);
    }
}

const SCORED_SELECT: &str = "SELECT s.customer_id, c.name, c.mobile, c.store_id, st.name AS store_name, \
       c.consultant_id, sf.name AS consultant_name, s.segment, s.tier, s.recency_days, s.frequency, \
       s.monetary_fen, s.clv_fen, s.p_alive, s.churn_risk, s.churn_reasons, s.trade_in, s.trade_in_reasons, \
       CAST(CASE WHEN EXISTS (SELECT 1 FROM consent k WHERE k.customer_id = c.id AND k.purpose = 'marketing' AND k.withdrawn_at IS NULL) THEN 1 ELSE 0 END AS BIGINT) AS marketing_consent, \
       CAST(CASE WHEN EXISTS (SELECT 1 FROM contact x WHERE x.customer_id = c.id AND x.outcome = 'do_not_contact') THEN 1 ELSE 0 END AS BIGINT) AS do_not_contact \
     FROM customer_score s JOIN customer c ON c.id = s.customer_id JOIN store st ON st.id = c.store_id \
     LEFT JOIN staff sf ON sf.id = c.consultant_id \
     WHERE s.run_id = ";

impl Db {
    /// Counts and sums of the newest snapshot's scores in the scope (optionally one store),
    /// by segment × tier × churn-risk decile. Empty when there is no snapshot.
    pub async fn score_cells(&self, scope: &Scope, store_id: Option<Id>) -> Result<Vec<ScoreCell>> {
        let mut q = Sql::new(
            "SELECT s.segment, s.tier, \
               CAST(CASE WHEN s.churn_risk < 0.1 THEN 0 WHEN s.churn_risk < 0.2 THEN 1 WHEN s.churn_risk < 0.3 THEN 2 \
                 WHEN s.churn_risk < 0.4 THEN 3 WHEN s.churn_risk < 0.5 THEN 4 WHEN s.churn_risk < 0.6 THEN 5 \
                 WHEN s.churn_risk < 0.7 THEN 6 WHEN s.churn_risk < 0.8 THEN 7 WHEN s.churn_risk < 0.9 THEN 8 ELSE 9 END AS BIGINT) AS risk_decile, \
               COUNT(*) AS customers, CAST(SUM(s.monetary_fen) AS BIGINT) AS monetary_fen, \
               CAST(COALESCE(SUM(s.clv_fen), 0) AS BIGINT) AS clv_fen, \
               CAST(COALESCE(SUM(s.p_alive), 0) AS DOUBLE PRECISION) AS p_alive_sum, COUNT(s.p_alive) AS p_alive_count \
             FROM customer_score s WHERE s.run_id = ",
        );
        q.push(LATEST_RUN);
        score_scope(&mut q, scope);
        if let Some(s) = store_id {
            q.push(" AND s.store_id = ").bind_i64(s);
        }
        q.push(" GROUP BY s.segment, s.tier, 3 ORDER BY 1, 2, 3");
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, ScoreCell>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?))
    }

    /// Revenue (fen) of every scored customer of one store in the newest snapshot, for the
    /// store's Lorenz curve and Pareto table (a store has tens of thousands of rows).
    pub async fn store_score_revenue(&self, store_id: Id) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT monetary_fen FROM customer_score WHERE run_id = {LATEST_RUN} AND store_id = $1"
        );
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).bind(store_id).fetch_all(p).await?))
    }

    /// A page of the newest snapshot's scored customers in scope, highest churn risk first.
    pub async fn scored_customers(
        &self,
        scope: &Scope,
        filter: &ScoreFilter,
        page: u32,
        per_page: u32,
    ) -> Result<Page<ScoredCustomer>> {
        let page = page.max(1);
        let per_page = per_page.clamp(1, 500);
        let mut q = Sql::new(SCORED_SELECT);
        q.push(LATEST_RUN);
        q.customer_scope(scope, "c");
        list_filters(&mut q, filter);
        q.push(" ORDER BY s.churn_risk DESC, s.customer_id LIMIT ");
        q.bind_i64(i64::from(per_page) + 1);
        q.push(" OFFSET ");
        q.bind_i64(i64::from(page - 1) * i64::from(per_page));
        let sql = q.text.clone();
        let mut items: Vec<ScoredCustomer> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, ScoredCustomer>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// The next `limit` scored customers after `after` in list order (exports and call
    /// lists walk the whole list this way, without OFFSET).
    pub async fn scored_customers_after(
        &self,
        scope: &Scope,
        filter: &ScoreFilter,
        after: Option<ScoreCursor>,
        limit: i64,
    ) -> Result<Vec<ScoredCustomer>> {
        let mut q = Sql::new(SCORED_SELECT);
        q.push(LATEST_RUN);
        q.customer_scope(scope, "c");
        list_filters(&mut q, filter);
        if let Some(a) = after {
            q.push(" AND (s.churn_risk < ")
                .bind(crate::sql::Arg::F64(a.churn_risk));
            q.push(" OR (s.churn_risk = ")
                .bind(crate::sql::Arg::F64(a.churn_risk));
            q.push(" AND s.customer_id > ").bind_i64(a.customer_id);
            q.push("))");
        }
        q.push(" ORDER BY s.churn_risk DESC, s.customer_id LIMIT ");
        q.bind_i64(limit.clamp(1, 50_000));
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, ScoredCustomer>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?))
    }

    /// Stores a snapshot's association rules (one transaction).
    pub async fn write_mining_rules(&self, run_id: Id, rules: &[MiningRule]) -> Result<()> {
        let mut t = TableRows::new(
            "mining_rule",
            &[
                "run_id",
                "rule_no",
                "antecedent",
                "consequent",
                "antecedent_names",
                "consequent_names",
                "support",
                "confidence",
                "lift",
            ],
        );
        for r in rules {
            t.push([
                Val::I64(run_id),
                Val::I64(r.rule_no),
                Val::Text(r.antecedent.clone()),
                Val::Text(r.consequent.clone()),
                Val::Text(r.antecedent_names.clone()),
                Val::Text(r.consequent_names.clone()),
                Val::F64(r.support),
                Val::F64(r.confidence),
                Val::F64(r.lift),
            ]);
        }
        self.bulk_insert(&[t]).await
    }

    /// The newest snapshot's association rules, in the order they were mined.
    pub async fn latest_mining_rules(&self) -> Result<Vec<MiningRule>> {
        let sql = format!(
            "SELECT rule_no, antecedent, consequent, antecedent_names, consequent_names, support, confidence, lift \
             FROM mining_rule WHERE run_id = {LATEST_RUN} ORDER BY rule_no"
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, MiningRule>(AssertSqlSafe(sql)).fetch_all(p).await?))
    }

    /// Lines of the vehicles' work orders opened on or after `since` (PDI excluded), newest
    /// work order first.
    pub async fn vehicle_lines_since(
        &self,
        vehicle_ids: &[Id],
        since: NaiveDate,
    ) -> Result<Vec<VehicleLine>> {
        if vehicle_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(
            "SELECT w.vehicle_id, w.id AS work_order_id, w.status, w.opened_on, l.code, l.name \
             FROM work_order w JOIN work_order_line l ON l.work_order_id = w.id \
             WHERE w.kind <> 'pdi' AND w.opened_on >= ",
        );
        q.bind_date(since);
        q.push(" AND w.vehicle_id IN (");
        for (i, v) in vehicle_ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind_i64(*v);
        }
        q.push(") ORDER BY w.vehicle_id, w.opened_on DESC, w.id DESC, l.id");
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, VehicleLine>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?))
    }

    /// Creates tasks in one transaction; a task whose dedupe key exists already is skipped.
    /// Returns how many were created.
    pub async fn create_new_tasks(
        &self,
        tasks: &[NewTask<'_>],
        at: DateTime<Utc>,
    ) -> Result<usize> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut created = 0usize;
            for t in tasks {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO task (store_id, kind, customer_id, lead_id, vehicle_id, assignee_id, role, due_on, status, note, dedupe_key, created_at) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'open',$9,$10,$11) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id")
                    .bind(t.store_id).bind(t.kind).bind(t.customer_id).bind(t.lead_id).bind(t.vehicle_id).bind(t.assignee_id).bind(t.role)
                    .bind(t.due_on).bind(t.note).bind(t.dedupe_key).bind(at).fetch_optional(&mut *tx).await?;
                created += usize::from(id.is_some());
            }
            tx.commit().await?;
            Ok(created)
        })
    }

    /// Outbound contacts with one of `purposes` that happened in `[from, to)`, read in
    /// chunks of contact ids; the day is the date in China (UTC+8).
    pub async fn mining_campaign_touches(
        &self,
        purposes: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<TouchColumns> {
        const CHUNK: i64 = 250_000;
        let mut out = TouchColumns::default();
        let mut last: i64 = 0;
        loop {
            let mut q = Sql::new(
                "SELECT id, customer_id, store_id, occurred_at FROM contact WHERE direction = 'outbound' AND id > ",
            );
            q.bind_i64(last);
            q.push(" AND purpose IN (");
            for (i, p) in purposes.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind_text(*p);
            }
            q.push(") ORDER BY id LIMIT ");
            q.bind_i64(CHUNK);
            let sql = q.text.clone();
            let rows: Vec<(i64, i64, i64, DateTime<Utc>)> = on_pool!(self, p => bind_args!(sqlx::query_as(AssertSqlSafe(sql)), q.args)
                .fetch_all(p).await?);
            let Some(l) = rows.last() else { break };
            last = l.0;
            let n = rows.len();
            for (_, c, s, at) in rows {
                if at < from || at >= to {
                    continue;
                }
                out.customer.push(u32::try_from(c).unwrap_or(u32::MAX));
                out.store.push(u32::try_from(s).unwrap_or(u32::MAX));
                out.day.push(crate::mining::day_number(
                    (at + chrono::Duration::hours(8)).date_naive(),
                ));
            }
            if (n as i64) < CHUNK {
                break;
            }
        }
        Ok(out)
    }
}
