//! Imports: the run that records how far an import got, the look-up of existing customers
//! by their recognition keys, and the write of one batch (new customers with their name
//! fragments, changed customers with what changed, the run's progress) in one transaction.

use crate::customers::{CUSTOMER_COLUMNS, name_grams};
use crate::model::{Customer, CustomerFields, Id};
use crate::{Db, Pool, Result, on_pool};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ImportRun {
    pub id: Id,
    pub kind: String,
    pub file_name: String,
    pub file_sha256: String,
    pub store_id: Id,
    pub status: String,
    pub rows_done: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub merged: i64,
    pub rejected: i64,
}

/// Counters a batch adds to its run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub merged: i64,
    pub rejected: i64,
}

/// One field of an existing customer changed by an import or a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// What one batch writes.
#[derive(Debug, Default)]
pub struct CustomerBatch {
    pub inserts: Vec<CustomerFields>,
    pub updates: Vec<(Id, CustomerFields, Vec<FieldChange>)>,
    /// Source records consumed once this batch is committed (the resume point).
    pub rows_done: i64,
    pub counts: ImportCounts,
}

// The customer columns in `CUSTOMER_COLUMNS` order (a copy of the macro in customers.rs,
// which is private to that module).
macro_rules! bind_customer_fields {
    ($q:expr, $f:expr) => {
        $q.bind($f.store_id)
            .bind(&$f.kind)
            .bind(&$f.name)
            .bind(&$f.title)
            .bind(&$f.gender)
            .bind(&$f.id_type)
            .bind(&$f.id_number)
            .bind($f.birthday)
            .bind($f.lunar_birthday)
            .bind(&$f.mobile)
            .bind(&$f.other_phones)
            .bind(&$f.email)
            .bind(&$f.province_code)
            .bind(&$f.city_code)
            .bind(&$f.district_code)
            .bind(&$f.address)
            .bind(&$f.industry)
            .bind(&$f.occupation)
            .bind(&$f.marital_status)
            .bind(&$f.income_band)
            .bind(&$f.education)
            .bind(&$f.interests)
            .bind(&$f.source)
            .bind($f.vip)
            .bind(&$f.key_account)
    };
}

/// Rows per multi-row INSERT. Small on purpose: SQLite looks `$n` parameters up one by one
/// along the statement, so a statement's binding cost grows with the square of its size.
const ROWS_PER_INSERT: usize = 50;

const RUN_COLUMNS: &str = "id, kind, file_name, file_sha256, store_id, status, rows_done, inserted, updated, unchanged, merged, rejected";

impl Db {
    /// The unfinished run of the same file, to resume, or a new run.
    pub async fn start_import_run(
        &self,
        kind: &str,
        file_name: &str,
        file_sha256: &str,
        staff_id: Option<Id>,
        store_id: Id,
        at: DateTime<Utc>,
    ) -> Result<ImportRun> {
        on_pool!(self, p => {
            let sql = format!("SELECT {RUN_COLUMNS} FROM import_run WHERE kind = $1 AND file_sha256 = $2 AND status = 'running' ORDER BY id DESC LIMIT 1");
            if let Some(run) = sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql)).bind(kind).bind(file_sha256).fetch_optional(p).await? {
                return Ok(run);
            }
            let sql = format!("INSERT INTO import_run (kind, file_name, file_sha256, staff_id, store_id, status, started_at) VALUES ($1, $2, $3, $4, $5, 'running', $6) RETURNING {RUN_COLUMNS}");
            Ok(sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql))
                .bind(kind).bind(file_name).bind(file_sha256).bind(staff_id).bind(store_id).bind(at)
                .fetch_one(p).await?)
        })
    }

    pub async fn import_run(&self, id: Id) -> Result<ImportRun> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM import_run WHERE id = $1");
        on_pool!(self, p => Ok(sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    pub async fn finish_import_run(&self, id: Id, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE import_run SET status = 'done', finished_at = $1 WHERE id = $2").bind(at).bind(id).execute(p).await?;
            Ok(())
        })
    }

    /// Live (not merged-away) customers of a dealer group having one of the mobiles or ID
    /// numbers.
    pub async fn customers_by_keys(
        &self,
        group_id: Id,
        mobiles: &[String],
        id_numbers: &[String],
    ) -> Result<Vec<Customer>> {
        let mut out = Vec::new();
        // Small chunks: SQLite binds `$n` by looking each one up (see ROWS_PER_INSERT).
        for (col, keys) in [("mobile", mobiles), ("id_number", id_numbers)] {
            for chunk in keys.chunks(500) {
                let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let sql = format!(
                    "SELECT c.* FROM customer c WHERE c.merged_into IS NULL AND c.store_id IN (SELECT id FROM store WHERE group_id = $1) AND c.{col} IN ({})",
                    marks.join(",")
                );
                let rows: Vec<Customer> = on_pool!(self, p => {
                    let mut q = sqlx::query_as::<_, Customer>(AssertSqlSafe(sql)).bind(group_id);
                    for k in chunk {
                        q = q.bind(k);
                    }
                    q.fetch_all(p).await?
                });
                out.extend(rows);
            }
        }
        out.sort_by_key(|c| c.id);
        out.dedup_by_key(|c| c.id);
        Ok(out)
    }

    /// Writes one batch and the run's progress in one transaction: after a crash either the
    /// whole batch and its progress are there or neither is.
    pub async fn write_customer_batch(
        &self,
        run_id: Id,
        batch: &CustomerBatch,
        class: (&str, &str),
        at: DateTime<Utc>,
    ) -> Result<()> {
        let pg = matches!(self.pool, Pool::Postgres(_));
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let c = batch.counts;
            // The progress row first: on SQLite this takes the write lock, so the ids read
            // below cannot be taken by another writer before this transaction commits.
            sqlx::query("UPDATE import_run SET rows_done = $1, inserted = inserted + $2, updated = updated + $3, unchanged = unchanged + $4, merged = merged + $5, rejected = rejected + $6 WHERE id = $7")
                .bind(batch.rows_done).bind(c.inserted).bind(c.updated).bind(c.unchanged).bind(c.merged).bind(c.rejected).bind(run_id)
                .execute(&mut *tx).await?;
            // Ids are reserved up front so that customers go in as multi-row INSERTs (one
            // statement per thousand rows rather than one each) and their name fragments
            // can be written with them.
            let n = batch.inserts.len() as i64;
            let ids: Vec<i64> = if n == 0 {
                Vec::new()
            } else if pg {
                sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('customer', 'id')) FROM generate_series(1, $1)")
                    .bind(n).fetch_all(&mut *tx).await?
            } else {
                let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM customer").fetch_one(&mut *tx).await?;
                (max + 1..=max + n).collect()
            };
            let mut grams: Vec<(String, Id)> = Vec::new();
            const WIDTH: usize = 30;
            for (chunk_no, chunk) in batch.inserts.chunks(ROWS_PER_INSERT).enumerate() {
                let marks: Vec<String> = (0..chunk.len())
                    .map(|r| format!("({})", (1..=WIDTH).map(|c| format!("${}", r * WIDTH + c)).collect::<Vec<_>>().join(",")))
                    .collect();
                let sql = format!(
                    "INSERT INTO customer (id, {CUSTOMER_COLUMNS}, class, class_reason, created_at, updated_at) VALUES {}",
                    marks.join(",")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (i, f) in chunk.iter().enumerate() {
                    let id = ids[chunk_no * ROWS_PER_INSERT + i];
                    q = bind_customer_fields!(q.bind(id), f).bind(class.0).bind(class.1).bind(at).bind(at);
                    grams.extend(name_grams(&f.name).into_iter().map(|g| (g, id)));
                }
                q.execute(&mut *tx).await?;
            }
            let assignments: Vec<String> = CUSTOMER_COLUMNS.split(", ").enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
            let update = format!("UPDATE customer SET {}, updated_at = $26 WHERE id = $27", assignments.join(", "));
            let mut regram: Vec<Id> = Vec::new();
            for (id, f, changes) in &batch.updates {
                let q = sqlx::query(AssertSqlSafe(update.clone()));
                bind_customer_fields!(q, f).bind(at).bind(*id).execute(&mut *tx).await?;
                for c in changes {
                    sqlx::query("INSERT INTO customer_change (customer_id, import_run_id, field, old_value, new_value, at) VALUES ($1,$2,$3,$4,$5,$6)")
                        .bind(*id).bind(run_id).bind(&c.field).bind(&c.old_value).bind(&c.new_value).bind(at).execute(&mut *tx).await?;
                }
                if changes.iter().any(|c| c.field == "name") {
                    regram.push(*id);
                    grams.extend(name_grams(&f.name).into_iter().map(|g| (g, *id)));
                }
            }
            for id in regram {
                sqlx::query("DELETE FROM customer_name_gram WHERE customer_id = $1").bind(id).execute(&mut *tx).await?;
            }
            // Multi-row inserts: one statement per few thousand fragments instead of one each.
            for chunk in grams.chunks(500) {
                let marks: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2)).collect();
                let sql = format!("INSERT INTO customer_name_gram (gram, customer_id) VALUES {}", marks.join(","));
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (g, id) in chunk {
                    q = q.bind(g).bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The recorded changes of a customer, oldest first.
    pub async fn customer_changes(&self, customer_id: Id) -> Result<Vec<FieldChange>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, FieldChange>(
            "SELECT field, old_value, new_value FROM customer_change WHERE customer_id = $1 ORDER BY id")
            .bind(customer_id).fetch_all(p).await?))
    }

    /// The most recent import run, if any (progress for the upload page and tests).
    pub async fn latest_import_run(&self) -> Result<Option<ImportRun>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM import_run ORDER BY id DESC LIMIT 1");
        on_pool!(self, p => Ok(sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql)).fetch_optional(p).await?))
    }

    /// Customers, customers without any name fragment, and fragments whose customer does
    /// not exist: a consistency check after interrupted writes.
    pub async fn customer_gram_integrity(&self) -> Result<(i64, i64, i64)> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT (SELECT COUNT(*) FROM customer), \
             (SELECT COUNT(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM customer_name_gram g WHERE g.customer_id = c.id)), \
             (SELECT COUNT(*) FROM customer_name_gram g WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = g.customer_id))")
            .fetch_one(p).await?))
    }
}
