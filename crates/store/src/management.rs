//! Management data entered by people (issue 9): monthly operating costs per store and
//! monthly targets per store and staff member. Every multi-row write is one transaction.

use crate::model::Id;
use crate::{Db, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// One cost line of a store's month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct CostRow {
    pub store_id: Id,
    pub month_start: NaiveDate,
    pub category: String,
    /// fixed | variable
    pub kind: String,
    pub amount_fen: i64,
}

/// One target: staff_id 0 is the store's own target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct TargetRow {
    pub store_id: Id,
    pub staff_id: Id,
    pub month_start: NaiveDate,
    pub metric: String,
    pub value: i64,
}

fn id_list(ids: &[Id]) -> String {
    if ids.is_empty() {
        return "0".into();
    }
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Db {
    /// The cost lines of some stores for months in `[from, until)`, by store, month, category.
    pub async fn operating_costs(
        &self,
        stores: &[Id],
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<CostRow>> {
        let sql = format!(
            "SELECT store_id, month_start, category, kind, amount_fen FROM operating_cost \
             WHERE month_start >= $1 AND month_start < $2 AND store_id IN ({}) ORDER BY store_id, month_start, category",
            id_list(stores)
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, CostRow>(sqlx::AssertSqlSafe(sql)).bind(from).bind(until).fetch_all(p).await?))
    }

    /// Replaces a store's cost lines of one month — one transaction.
    pub async fn replace_operating_costs(
        &self,
        store_id: Id,
        month_start: NaiveDate,
        lines: &[(String, String, i64)],
        by: Id,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM operating_cost WHERE store_id = $1 AND month_start = $2")
                .bind(store_id).bind(month_start).execute(&mut *tx).await?;
            for (category, kind, amount) in lines {
                sqlx::query("INSERT INTO operating_cost (store_id, month_start, category, kind, amount_fen, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(store_id).bind(month_start).bind(category).bind(kind).bind(amount).bind(by).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Adds or updates cost lines (an import) — one transaction.
    pub async fn upsert_operating_costs(
        &self,
        rows: &[CostRow],
        by: Id,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut n = 0;
            for r in rows {
                n += sqlx::query("INSERT INTO operating_cost (store_id, month_start, category, kind, amount_fen, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (store_id, month_start, category) DO UPDATE SET kind = excluded.kind, amount_fen = excluded.amount_fen, updated_by = excluded.updated_by, updated_at = excluded.updated_at")
                    .bind(r.store_id).bind(r.month_start).bind(&r.category).bind(&r.kind).bind(r.amount_fen).bind(by).bind(now)
                    .execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Targets of some stores for months in `[from, until)`.
    pub async fn kpi_targets(
        &self,
        stores: &[Id],
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<TargetRow>> {
        let sql = format!(
            "SELECT store_id, staff_id, month_start, metric, value FROM kpi_target \
             WHERE month_start >= $1 AND month_start < $2 AND store_id IN ({}) ORDER BY store_id, staff_id, month_start, metric",
            id_list(stores)
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql)).bind(from).bind(until).fetch_all(p).await?))
    }

    /// Sets targets (store and staff rows of one split) — one transaction.
    pub async fn set_kpi_targets(
        &self,
        rows: &[TargetRow],
        by: Id,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for r in rows {
                sqlx::query("INSERT INTO kpi_target (store_id, staff_id, month_start, metric, value, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (store_id, staff_id, month_start, metric) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at")
                    .bind(r.store_id).bind(r.staff_id).bind(r.month_start).bind(&r.metric).bind(r.value).bind(by).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
