//! Manual merge of two customers: every row that refers to the merged customer moves to
//! the survivor, in one transaction, and the merge is recorded for review.
//!
//! The tables that refer to a customer are read from the schema's foreign keys rather than
//! listed here, so a table added later (by any part of the product) moves too. Two loyalty
//! accounts (one row per customer) are folded into the survivor's first.

use crate::customers::{CUSTOMER_COLUMNS, NameGrams};
use crate::import::{FieldChange, bind_customer_fields};
use crate::model::{CustomerFields, Id, Page};
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, Pool, Result, StoreError, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use dealerbase_domain::loyalty::Tier;
use serde::Serialize;
use sqlx::AssertSqlSafe;

/// One recorded merge.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CustomerMerge {
    pub id: Id,
    pub survivor_id: Id,
    pub survivor_name: String,
    pub merged_id: Id,
    pub merged_name: String,
    pub staff_id: Option<Id>,
    pub staff_name: Option<String>,
    pub at: DateTime<Utc>,
    /// JSON object: rows moved per table.
    pub moved: String,
}

/// Columns that refer to a customer but stay with the merged one: its own history and
/// search fragments, and the merge records themselves.
const STAYS: &[(&str, &str)] = &[
    ("customer", "merged_into"),
    ("customer_name_gram", "customer_id"),
    ("customer_change", "customer_id"),
    ("customer_merge", "survivor_id"),
    ("customer_merge", "merged_id"),
];

const MERGE_SELECT: &str = "SELECT m.id, m.survivor_id, c.name AS survivor_name, m.merged_id, mc.name AS merged_name, m.staff_id, \
     st.name AS staff_name, m.at, m.moved FROM customer_merge m JOIN customer c ON c.id = m.survivor_id \
     JOIN customer mc ON mc.id = m.merged_id LEFT JOIN staff st ON st.id = m.staff_id";

impl Db {
    /// Every (table, column) holding a customer id that moves in a merge.
    pub async fn customer_references(&self) -> Result<Vec<(String, String)>> {
        let mut refs: Vec<(String, String)> = match &self.pool {
            Pool::Sqlite(p) => sqlx::query_as(
                "SELECT m.name, f.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' AND f.\"table\" = 'customer'",
            )
            .fetch_all(p)
            .await?,
            Pool::Postgres(p) => sqlx::query_as(
                "SELECT cl.relname::text, a.attname::text FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) \
                 WHERE c.contype = 'f' AND c.confrelid = 'customer'::regclass AND cl.relnamespace = current_schema()::regnamespace",
            )
            .fetch_all(p)
            .await?,
        };
        refs.retain(|(t, c)| !STAYS.iter().any(|(st, sc)| st == t && sc == c));
        refs.sort();
        refs.dedup();
        Ok(refs)
    }

    /// Rows per table that a merge of this customer would move.
    pub async fn customer_reference_counts(&self, customer_id: Id) -> Result<Vec<(String, i64)>> {
        let mut out: Vec<(String, i64)> = Vec::new();
        for (table, column) in self.customer_references().await? {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
            let n: i64 = on_pool!(self, p => sqlx::query_scalar(AssertSqlSafe(sql)).bind(customer_id).fetch_one(p).await?);
            if n > 0 {
                match out.iter_mut().find(|(t, _)| *t == table) {
                    Some((_, m)) => *m += n,
                    None => out.push((table, n)),
                }
            }
        }
        Ok(out)
    }

    /// Merges `merged` into `survivor` in one transaction: the survivor takes `fields`
    /// (each change recorded), every referring row moves, the merged customer is marked
    /// `merged_into` (and customers merged into it earlier now point at the survivor).
    /// Returns the merge id and the rows moved per table.
    #[allow(clippy::too_many_arguments)]
    pub async fn merge_customers(
        &self,
        survivor: Id,
        merged: Id,
        fields: &CustomerFields,
        consultant_id: Option<Id>,
        changes: &[FieldChange],
        staff_id: Option<Id>,
        at: DateTime<Utc>,
    ) -> Result<(Id, Vec<(String, i64)>)> {
        let refs = self.customer_references().await?;
        let assignments: Vec<String> = CUSTOMER_COLUMNS
            .split(", ")
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let update = format!(
            "UPDATE customer SET {}, consultant_id = $26, updated_at = $27 WHERE id = $28 AND merged_into IS NULL",
            assignments.join(", ")
        );
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            // Marking the merged customer first takes the row (and on SQLite the write
            // lock): a second merge of the same customer finds it already merged.
            let done = sqlx::query("UPDATE customer SET merged_into = $1, updated_at = $2 WHERE id = $3 AND merged_into IS NULL AND id <> $1")
                .bind(survivor).bind(at).bind(merged).execute(&mut *tx).await?.rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound { entity: "customer", id: merged.to_string() });
            }
            let q = sqlx::query(AssertSqlSafe(update));
            let done = bind_customer_fields!(q, fields).bind(consultant_id).bind(at).bind(survivor).execute(&mut *tx).await?.rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound { entity: "customer", id: survivor.to_string() });
            }
            let merge_id: i64 = sqlx::query_scalar("INSERT INTO customer_merge (survivor_id, merged_id, staff_id, at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(survivor).bind(merged).bind(staff_id).bind(at).fetch_one(&mut *tx).await?;
            // The merged customer's open consultant assignment ends with the merge.
            sqlx::query("UPDATE customer_assignment SET ended_at = $1 WHERE customer_id = $2 AND ended_at IS NULL")
                .bind(at).bind(merged).execute(&mut *tx).await?;
            // Two loyalty members become one: the survivor's account takes the merged
            // one's balance and the higher tier and keeps its member number (the merged
            // number is recorded as a change); the merged account's entries and lots then
            // move with every other row, so the ledger still adds up to the balance.
            let accounts: Vec<(Id, i64, String, String, NaiveDate)> = sqlx::query_as(
                "SELECT customer_id, balance, tier, member_no, joined_on FROM loyalty_account WHERE customer_id IN ($1, $2)")
                .bind(survivor).bind(merged).fetch_all(&mut *tx).await?;
            let mut loyalty_change: Option<(String, String)> = None;
            if let (Some(s), Some(m)) = (
                accounts.iter().find(|a| a.0 == survivor),
                accounts.iter().find(|a| a.0 == merged),
            ) {
                let rank = |t: &str| Tier::parse("tier", t).ok();
                let tier = if rank(&m.2) > rank(&s.2) { &m.2 } else { &s.2 };
                sqlx::query("DELETE FROM loyalty_account WHERE customer_id = $1").bind(merged).execute(&mut *tx).await?;
                sqlx::query("UPDATE loyalty_account SET balance = balance + $1, tier = $2, joined_on = $3, updated_at = $4 WHERE customer_id = $5")
                    .bind(m.1).bind(tier).bind(s.4.min(m.4)).bind(at).bind(survivor).execute(&mut *tx).await?;
                loyalty_change = Some((m.3.clone(), s.3.clone()));
            }
            if let Some((old, new)) = &loyalty_change {
                sqlx::query("INSERT INTO customer_change (customer_id, merge_id, field, old_value, new_value, at) VALUES ($1,$2,'loyalty.member_no',$3,$4,$5)")
                    .bind(survivor).bind(merge_id).bind(old).bind(new).bind(at).execute(&mut *tx).await?;
            }
            let mut moved: Vec<(String, i64)> = Vec::new();
            for (table, column) in &refs {
                let sql = format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2");
                let n = sqlx::query(AssertSqlSafe(sql)).bind(survivor).bind(merged).execute(&mut *tx).await?.rows_affected() as i64;
                if n > 0 {
                    match moved.iter_mut().find(|(t, _)| t == table) {
                        Some((_, m)) => *m += n,
                        None => moved.push((table.clone(), n)),
                    }
                }
            }
            // A relation between the two is now a relation of the survivor with itself.
            sqlx::query("DELETE FROM customer_relation WHERE customer_id = related_customer_id").execute(&mut *tx).await?;
            sqlx::query("UPDATE customer SET merged_into = $1 WHERE merged_into = $2").bind(survivor).bind(merged).execute(&mut *tx).await?;
            for c in changes {
                sqlx::query("INSERT INTO customer_change (customer_id, merge_id, field, old_value, new_value, at) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(survivor).bind(merge_id).bind(&c.field).bind(&c.old_value).bind(&c.new_value).bind(at).execute(&mut *tx).await?;
            }
            if changes.iter().any(|c| c.field == "name") {
                tx.write_name_grams(&[(survivor, &fields.name)], false).await?;
            }
            let json = serde_json::to_string(&moved.iter().cloned().collect::<std::collections::BTreeMap<String, i64>>()).unwrap_or_default();
            sqlx::query("UPDATE customer_merge SET moved = $1 WHERE id = $2").bind(json).bind(merge_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok((merge_id, moved))
        })
    }

    /// Merges whose survivor lies in the scope, newest first.
    pub async fn customer_merges(
        &self,
        scope: &Scope,
        page: u32,
        per_page: u32,
    ) -> Result<Page<CustomerMerge>> {
        let per_page = per_page.clamp(1, 200);
        let page = page.max(1);
        let mut sql = Sql::new(MERGE_SELECT);
        sql.push(" WHERE 1 = 1").customer_scope(scope, "c");
        sql.push(&format!(
            " ORDER BY m.id DESC LIMIT {} OFFSET {}",
            per_page + 1,
            (page as u64 - 1) * per_page as u64
        ));
        let mut items: Vec<CustomerMerge> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, CustomerMerge>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// The merge that took this customer away, if any.
    pub async fn merge_of(&self, merged_id: Id) -> Result<Option<CustomerMerge>> {
        let sql = format!("{MERGE_SELECT} WHERE m.merged_id = $1 ORDER BY m.id DESC LIMIT 1");
        on_pool!(self, p => Ok(sqlx::query_as::<_, CustomerMerge>(AssertSqlSafe(sql)).bind(merged_id).fetch_optional(p).await?))
    }

    /// The field changes a merge made to its survivor.
    pub async fn merge_changes(&self, merge_ids: &[Id]) -> Result<Vec<(Id, FieldChange)>> {
        if merge_ids.is_empty() {
            return Ok(Vec::new());
        }
        #[derive(sqlx::FromRow)]
        struct Row {
            merge_id: i64,
            #[sqlx(flatten)]
            c: FieldChange,
        }
        let list: Vec<String> = merge_ids.iter().map(|i| i.to_string()).collect();
        let sql = format!(
            "SELECT merge_id, field, old_value, new_value FROM customer_change WHERE merge_id IN ({}) ORDER BY id",
            list.join(",")
        );
        let rows: Vec<Row> =
            on_pool!(self, p => sqlx::query_as::<_, Row>(AssertSqlSafe(sql)).fetch_all(p).await?);
        Ok(rows.into_iter().map(|r| (r.merge_id, r.c)).collect())
    }
}
