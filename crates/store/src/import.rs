//! Imports: the run that records how far an import got (and, for the upload page, its
//! options, progress and outcome), the rejected rows of a run, the look-up of existing
//! customers by their recognition keys (mobile, ID number, VIN of a vehicle they own), and
//! the write of one customer batch — new customers with their name fragments as bulk rows
//! (multi-row INSERT on SQLite, COPY on PostgreSQL), changed customers with what changed,
//! the run's progress and problems — in one transaction.

use crate::bulk::{
    BulkConn, RowUpdates, SqlType, TableRows, Val, sqlite_text_list, sqlite_values_rows,
};
use crate::customers::{NameGrams, name_gram_rows, name_grams_value};
use crate::model::{Customer, CustomerFields, Id};
use crate::{Db, Pool, Result, StoreError, on_pool};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ImportRun {
    pub id: Id,
    /// customers | vehicles | sales | work-orders | policies
    pub kind: String,
    pub file_name: String,
    pub file_sha256: String,
    pub staff_id: Option<Id>,
    pub store_id: Id,
    /// queued | running | done | refused | failed | interrupted
    pub status: String,
    /// write | dry_run | all_or_nothing
    pub mode: String,
    pub sheet: Option<String>,
    /// Data rows in the file when known beforehand (the upload page counts them).
    pub rows_total: Option<i64>,
    pub rows_done: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub merged: i64,
    pub rejected: i64,
    /// Customers created as owners by an import of vehicles, sales, work orders or policies.
    pub customers_created: i64,
    pub encoding: String,
    /// Headers that matched no field, joined by ", ".
    pub unknown_columns: String,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Counters a batch adds to its run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub merged: i64,
    pub rejected: i64,
    pub customers_created: i64,
}

impl ImportCounts {
    pub fn minus(self, before: ImportCounts) -> ImportCounts {
        ImportCounts {
            inserted: self.inserted - before.inserted,
            updated: self.updated - before.updated,
            unchanged: self.unchanged - before.unchanged,
            merged: self.merged - before.merged,
            rejected: self.rejected - before.rejected,
            customers_created: self.customers_created - before.customers_created,
        }
    }
}

/// One problem with one cell of a source row (or the whole row: `column` empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ImportProblem {
    /// Line of a CSV file (the header is line 1) or row of a sheet.
    pub line: i64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// One field of an existing customer changed by an import or a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// What one customer batch writes.
#[derive(Debug, Default)]
pub struct CustomerBatch {
    pub inserts: Vec<CustomerFields>,
    pub updates: Vec<(Id, CustomerFields, Vec<FieldChange>)>,
    /// Source records consumed once this batch is committed (the resume point).
    pub rows_done: i64,
    pub counts: ImportCounts,
    pub problems: Vec<ImportProblem>,
}

/// The new customers of a batch as bulk rows ([`Db::new_customer_rows`]).
#[derive(Debug)]
pub struct NewCustomerRows {
    reserved: Option<Vec<Id>>,
    customers: TableRows,
    /// The name fragments as rows of `customer_name_gram` (SQLite).
    grams: Option<TableRows>,
}

/// A new run as the upload page or the CLI asks for it.
#[derive(Debug, Clone)]
pub struct NewImportRun<'a> {
    pub kind: &'a str,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub staff_id: Option<Id>,
    pub store_id: Id,
    pub status: &'a str,
    pub mode: &'a str,
    pub sheet: Option<&'a str>,
    pub rows_total: Option<i64>,
}

/// Which recognition key a customer was found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Mobile,
    IdNumber,
    Vin,
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
pub(crate) use bind_customer_fields;

/// WAL pages (4 KiB each) between automatic checkpoints while an import writes batches.
const BULK_WAL_PAGES: u32 = 32_768;

const RUN_COLUMNS: &str = "id, kind, file_name, file_sha256, staff_id, store_id, status, mode, sheet, rows_total, rows_done, inserted, updated, unchanged, merged, rejected, customers_created, encoding, unknown_columns, error, started_at, finished_at";

pub(crate) const CUSTOMER_INSERT_COLUMNS: &[&str] = &[
    "id",
    "store_id",
    "kind",
    "name",
    "title",
    "gender",
    "id_type",
    "id_number",
    "birthday",
    "lunar_birthday",
    "mobile",
    "other_phones",
    "email",
    "province_code",
    "city_code",
    "district_code",
    "address",
    "industry",
    "occupation",
    "marital_status",
    "income_band",
    "education",
    "interests",
    "source",
    "vip",
    "key_account",
    "class",
    "class_reason",
    "created_at",
    "updated_at",
];

/// A new customer as one bulk row (`CUSTOMER_INSERT_COLUMNS`).
pub(crate) fn customer_row(
    id: Id,
    f: &CustomerFields,
    class: (&str, &str),
    at: DateTime<Utc>,
) -> [Val; 30] {
    [
        id.into(),
        f.store_id.into(),
        f.kind.clone().into(),
        f.name.clone().into(),
        f.title.clone().into(),
        f.gender.clone().into(),
        f.id_type.clone().into(),
        f.id_number.clone().into(),
        f.birthday.into(),
        f.lunar_birthday.into(),
        f.mobile.clone().into(),
        f.other_phones.clone().into(),
        f.email.clone().into(),
        f.province_code.clone().into(),
        f.city_code.clone().into(),
        f.district_code.clone().into(),
        f.address.clone().into(),
        f.industry.clone().into(),
        f.occupation.clone().into(),
        f.marital_status.clone().into(),
        f.income_band.clone().into(),
        f.education.clone().into(),
        f.interests.clone().into(),
        f.source.clone().into(),
        f.vip.into(),
        f.key_account.clone().into(),
        class.0.into(),
        class.1.into(),
        at.into(),
        at.into(),
    ]
}

/// A customer column an import may change, with its type and the value in `f`.
fn customer_column(f: &CustomerFields, field: &str) -> Option<(&'static str, SqlType, Val)> {
    use SqlType::{Bool, Date, I64, Text};
    let t = |v: &Option<String>| Val::from(v.clone());
    Some(match field {
        "store_id" => ("store_id", I64, f.store_id.into()),
        "kind" => ("kind", Text, f.kind.clone().into()),
        "name" => ("name", Text, f.name.clone().into()),
        "title" => ("title", Text, t(&f.title)),
        "gender" => ("gender", Text, t(&f.gender)),
        "id_type" => ("id_type", Text, t(&f.id_type)),
        "id_number" => ("id_number", Text, t(&f.id_number)),
        "birthday" => ("birthday", Date, f.birthday.into()),
        "lunar_birthday" => ("lunar_birthday", Bool, f.lunar_birthday.into()),
        "mobile" => ("mobile", Text, t(&f.mobile)),
        "other_phones" => ("other_phones", Text, t(&f.other_phones)),
        "email" => ("email", Text, t(&f.email)),
        "province_code" => ("province_code", Text, t(&f.province_code)),
        "city_code" => ("city_code", Text, t(&f.city_code)),
        "district_code" => ("district_code", Text, t(&f.district_code)),
        "address" => ("address", Text, t(&f.address)),
        "industry" => ("industry", Text, t(&f.industry)),
        "occupation" => ("occupation", Text, t(&f.occupation)),
        "marital_status" => ("marital_status", Text, t(&f.marital_status)),
        "income_band" => ("income_band", Text, t(&f.income_band)),
        "education" => ("education", Text, t(&f.education)),
        "interests" => ("interests", Text, t(&f.interests)),
        "source" => ("source", Text, t(&f.source)),
        "vip" => ("vip", Bool, f.vip.into()),
        "key_account" => ("key_account", Text, t(&f.key_account)),
        _ => return None,
    })
}

pub(crate) const PROBLEM_COLUMNS: &[&str] = &["run_id", "line", "column_name", "value", "reason"];

pub(crate) fn problem_rows(run_id: Id, problems: &[ImportProblem]) -> TableRows {
    let mut t = TableRows::new("import_problem", PROBLEM_COLUMNS);
    for p in problems {
        t.push([
            run_id.into(),
            p.line.into(),
            p.column.clone().into(),
            p.value.clone().into(),
            p.reason.clone().into(),
        ]);
    }
    t
}

impl Db {
    /// The unfinished run of the same file (same kind, SHA-256 and mode), to resume, or a
    /// new run.
    pub async fn start_import_run(
        &self,
        r: &NewImportRun<'_>,
        at: DateTime<Utc>,
    ) -> Result<ImportRun> {
        on_pool!(self, p => {
            let sql = format!("SELECT {RUN_COLUMNS} FROM import_run WHERE kind = $1 AND file_sha256 = $2 AND status IN ('running', 'interrupted') AND mode = $3 AND store_id = $4 ORDER BY id DESC LIMIT 1");
            if let Some(run) = sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql)).bind(r.kind).bind(r.file_sha256).bind(r.mode).bind(r.store_id).fetch_optional(p).await? {
                sqlx::query("UPDATE import_run SET status = 'running' WHERE id = $1").bind(run.id).execute(p).await?;
                return Ok(run);
            }
        });
        self.create_import_run(r, at).await
    }

    pub async fn create_import_run(
        &self,
        r: &NewImportRun<'_>,
        at: DateTime<Utc>,
    ) -> Result<ImportRun> {
        let sql = format!(
            "INSERT INTO import_run (kind, file_name, file_sha256, staff_id, store_id, status, mode, sheet, rows_total, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {RUN_COLUMNS}"
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql))
            .bind(r.kind).bind(r.file_name).bind(r.file_sha256).bind(r.staff_id).bind(r.store_id)
            .bind(r.status).bind(r.mode).bind(r.sheet).bind(r.rows_total).bind(at)
            .fetch_one(p).await?))
    }

    pub async fn import_run(&self, id: Id) -> Result<ImportRun> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM import_run WHERE id = $1");
        let row: Option<ImportRun> = on_pool!(self, p => sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql)).bind(id).fetch_optional(p).await?);
        row.ok_or(StoreError::NotFound {
            entity: "import run",
            id: id.to_string(),
        })
    }

    /// Recent runs of some stores (None: every store), newest first.
    pub async fn import_runs(
        &self,
        store_ids: Option<&[Id]>,
        limit: i64,
    ) -> Result<Vec<ImportRun>> {
        let filter = match store_ids {
            None => String::new(),
            Some([]) => " WHERE 1 = 0".into(),
            Some(ids) => format!(
                " WHERE store_id IN ({})",
                ids.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let sql = format!("SELECT {RUN_COLUMNS} FROM import_run{filter} ORDER BY id DESC LIMIT $1");
        on_pool!(self, p => Ok(sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql)).bind(limit).fetch_all(p).await?))
    }

    /// Sets what the header told about the file (once the run starts reading).
    pub async fn describe_import_run(
        &self,
        id: Id,
        encoding: &str,
        unknown_columns: &str,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE import_run SET encoding = $1, unknown_columns = $2, status = CASE WHEN status = 'queued' THEN 'running' ELSE status END WHERE id = $3")
                .bind(encoding).bind(unknown_columns).bind(id).execute(p).await?;
            Ok(())
        })
    }

    /// Ends a run: done, refused (all-or-nothing with rejected rows), failed (with the
    /// error) or interrupted.
    pub async fn end_import_run(
        &self,
        id: Id,
        status: &str,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE import_run SET status = $1, error = $2, finished_at = $3 WHERE id = $4")
                .bind(status).bind(error).bind(at).bind(id).execute(p).await?;
            Ok(())
        })
    }

    /// Clears a run's counters and problems (between the check pass and the write pass of
    /// an all-or-nothing upload).
    pub async fn reset_import_run(&self, id: Id) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM import_problem WHERE run_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("UPDATE import_run SET rows_done = 0, inserted = 0, updated = 0, unchanged = 0, merged = 0, rejected = 0, customers_created = 0 WHERE id = $1")
                .bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Progress and problems of a pass that writes no data (dry run, check pass), in their
    /// own small transaction.
    pub async fn record_import_progress(
        &self,
        run_id: Id,
        rows_done: i64,
        c: ImportCounts,
        problems: &[ImportProblem],
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            progress!(&mut *tx, run_id, rows_done, c);
            tx.write_rows(&problem_rows(run_id, problems)).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Problems of a run in file order, `limit` at a time after the problem id `after`
    /// (so a report of a million rows is streamed, not loaded). Returns (id, problem).
    pub async fn import_problems(
        &self,
        run_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<(Id, ImportProblem)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Id,
            #[sqlx(flatten)]
            p: ImportProblem,
        }
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as::<_, Row>(
            "SELECT id, line, column_name AS \"column\", value, reason FROM import_problem WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(run_id).bind(after).bind(limit).fetch_all(p).await?);
        Ok(rows.into_iter().map(|r| (r.id, r.p)).collect())
    }

    /// Which live (not merged-away) customers of a dealer group have these mobiles, ID
    /// numbers or own (currently) vehicles with these VINs: (key kind, key, customer id).
    /// One query per kind of key for the whole batch.
    pub async fn customer_ids_by_keys(
        &self,
        group_id: Id,
        mobiles: &[String],
        id_numbers: &[String],
        vins: &[String],
    ) -> Result<Vec<(KeyKind, String, Id)>> {
        let mut out = Vec::new();
        let pg = matches!(self.pool, Pool::Postgres(_));
        let live =
            "c.merged_into IS NULL AND c.store_id IN (SELECT id FROM store WHERE group_id = $1)";
        for (kind, keys) in [
            (KeyKind::Mobile, mobiles),
            (KeyKind::IdNumber, id_numbers),
            (KeyKind::Vin, vins),
        ] {
            let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            keys.sort_unstable();
            keys.dedup();
            if keys.is_empty() {
                continue;
            }
            // PostgreSQL takes the whole list as one array parameter. SQLite, which binds
            // parameters one by one, gets literals (one statement, parsed once) and is told
            // to look each key up in its index: its statistics may date from a much smaller
            // table (the import grows it), and then it would scan the whole table instead.
            let sql = match (kind, pg) {
                (KeyKind::Mobile, true) => {
                    format!(
                        "SELECT c.mobile, c.id FROM customer c WHERE {live} AND c.mobile = ANY($2)"
                    )
                }
                (KeyKind::IdNumber, true) => format!(
                    "SELECT c.id_number, c.id FROM customer c WHERE {live} AND c.id_number = ANY($2)"
                ),
                (KeyKind::Vin, true) => format!(
                    "SELECT v.vin, c.id FROM vehicle v JOIN vehicle_ownership o ON o.vehicle_id = v.id AND o.to_date IS NULL \
                     JOIN customer c ON c.id = o.customer_id WHERE {live} AND v.vin = ANY($2)"
                ),
                (KeyKind::Mobile, false) => format!(
                    "SELECT c.mobile, c.id FROM customer c INDEXED BY customer_mobile WHERE {live} AND c.mobile IN {}",
                    sqlite_text_list(&keys)
                ),
                (KeyKind::IdNumber, false) => format!(
                    "SELECT c.id_number, c.id FROM customer c INDEXED BY customer_id_number WHERE {live} AND c.id_number IN {}",
                    sqlite_text_list(&keys)
                ),
                // CROSS JOIN makes the list the outer loop on SQLite: one index look-up
                // of the VIN per key.
                (KeyKind::Vin, false) => format!(
                    "SELECT v.vin, c.id FROM (VALUES {}) AS k CROSS JOIN vehicle v \
                     JOIN vehicle_ownership o ON o.vehicle_id = v.id AND o.to_date IS NULL \
                     JOIN customer c ON c.id = o.customer_id WHERE v.vin = k.column1 AND {live}",
                    sqlite_values_rows(&keys)
                ),
            };
            let rows: Vec<(String, i64)> = match &self.pool {
                Pool::Sqlite(p) => {
                    // A statement used once: not kept in the prepared-statement cache.
                    sqlx::query_as(AssertSqlSafe(sql))
                        .persistent(false)
                        .bind(group_id)
                        .fetch_all(p)
                        .await?
                }
                Pool::Postgres(p) => {
                    sqlx::query_as(AssertSqlSafe(sql))
                        .bind(group_id)
                        .bind(keys)
                        .fetch_all(p)
                        .await?
                }
            };
            out.extend(rows.into_iter().map(|(k, id)| (kind, k, id)));
        }
        Ok(out)
    }

    /// Customers by id (any scope; for the import's merge of matched customers).
    pub async fn customers_by_ids(&self, ids: &[Id]) -> Result<Vec<Customer>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(5000) {
            let rows: Vec<Customer> = match &self.pool {
                // Each id looked up by the primary key whatever the statistics say.
                Pool::Sqlite(p) => {
                    let list: Vec<String> = chunk.iter().map(|i| format!("({i})")).collect();
                    let sql = format!(
                        "SELECT c.* FROM (VALUES {}) AS k CROSS JOIN customer c WHERE c.id = k.column1 ORDER BY c.id",
                        list.join(",")
                    );
                    sqlx::query_as::<_, Customer>(AssertSqlSafe(sql))
                        .persistent(false)
                        .fetch_all(p)
                        .await?
                }
                Pool::Postgres(p) => {
                    sqlx::query_as::<_, Customer>(
                        "SELECT * FROM customer WHERE id = ANY($1) ORDER BY id",
                    )
                    .bind(chunk)
                    .fetch_all(p)
                    .await?
                }
            };
            out.extend(rows);
        }
        Ok(out)
    }

    /// Live customers of a dealer group having one of the mobiles or ID numbers.
    pub async fn customers_by_keys(
        &self,
        group_id: Id,
        mobiles: &[String],
        id_numbers: &[String],
    ) -> Result<Vec<Customer>> {
        let keys = self
            .customer_ids_by_keys(group_id, mobiles, id_numbers, &[])
            .await?;
        let mut ids: Vec<Id> = keys.into_iter().map(|(_, _, id)| id).collect();
        ids.sort_unstable();
        ids.dedup();
        self.customers_by_ids(&ids).await
    }

    /// Ids for `n` new customers taken from the sequence now, so that a batch's new
    /// customers have their ids before it is written (PostgreSQL; a sequence hands out
    /// each value once, committed or not). `None` on SQLite, whose ids are assigned inside
    /// the write (`MAX(id) + 1` under its write lock).
    pub async fn reserve_customer_ids(&self, n: usize) -> Result<Option<Vec<Id>>> {
        let Pool::Postgres(p) = &self.pool else {
            return Ok(None);
        };
        if n == 0 {
            return Ok(Some(Vec::new()));
        }
        // The sequence named once: `nextval(pg_get_serial_sequence(…))` looks the name up
        // again for every id (measured: 55 ms for 10,000 ids, 7 ms so).
        let seq: String = sqlx::query_scalar("SELECT pg_get_serial_sequence('customer', 'id')")
            .fetch_one(p)
            .await?;
        let sql = format!(
            "SELECT nextval('{}'::regclass) FROM generate_series(1, $1)",
            seq.replace('\'', "''")
        );
        let ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(n as i64)
            .fetch_all(p)
            .await?;
        Ok(Some(ids))
    }

    /// The new customers of a batch as bulk rows, built before the batch is written (the
    /// import builds them while the batch before it is being written). With ids reserved
    /// (`reserve_customer_ids`, PostgreSQL, whose rows carry their name fragments) the rows
    /// carry those ids; otherwise they are numbered from 0, with the name fragments as rows
    /// of their own (SQLite), and the write moves them to the ids it assigns.
    pub fn new_customer_rows(
        &self,
        inserts: &[CustomerFields],
        reserved: Option<Vec<Id>>,
        class: (&str, &str),
        at: DateTime<Utc>,
    ) -> Result<NewCustomerRows> {
        let pg = matches!(self.pool, Pool::Postgres(_));
        if reserved
            .as_ref()
            .is_some_and(|ids| ids.len() != inserts.len())
        {
            return Err(StoreError::Abandoned(
                "reserved ids do not match the batch's new customers",
            ));
        }
        let ids: Vec<Id> = match &reserved {
            Some(ids) => ids.clone(),
            None => (0..inserts.len() as i64).collect(),
        };
        let mut customers = TableRows::new("customer", CUSTOMER_INSERT_COLUMNS);
        // On PostgreSQL the name fragments go into the customer row (see `NameGrams`).
        if pg {
            customers = customers.with_column("name_grams");
        }
        for (f, id) in inserts.iter().zip(&ids) {
            let row = customer_row(*id, f, class, at);
            if pg {
                customers.push(row.into_iter().chain([name_grams_value(&f.name)]));
            } else {
                customers.push(row);
            }
        }
        let grams = (!pg).then(|| {
            let names: Vec<(Id, &str)> = inserts
                .iter()
                .zip(&ids)
                .map(|(f, id)| (*id, f.name.as_str()))
                .collect();
            name_gram_rows(&names)
        });
        Ok(NewCustomerRows {
            reserved,
            customers,
            grams,
        })
    }

    /// Writes one batch, its problems and the run's progress in one transaction: after a
    /// crash either the whole batch and its progress are there or neither is. Returns the
    /// ids of the new customers.
    ///
    /// `turn` resolves once the batch before this one is committed (true) or has failed
    /// (false). A batch with reserved ids (`reserve_customer_ids`, PostgreSQL) streams its
    /// new customers first, while the batch before it may still be writing, and waits for
    /// its turn only before what has to follow that batch: changes to customers (which may
    /// be the ones it wrote), the problems and the progress row. So batches commit in file
    /// order and the progress row never gets ahead of the rows written. Without reserved
    /// ids (SQLite) the batch waits for its turn first.
    pub async fn write_customer_batch(
        &self,
        run_id: Id,
        batch: &CustomerBatch,
        rows: NewCustomerRows,
        at: DateTime<Utc>,
        turn: impl std::future::Future<Output = bool> + Send,
    ) -> Result<Vec<Id>> {
        let pg = matches!(self.pool, Pool::Postgres(_));
        let n = batch.inserts.len();
        if rows.customers.len() != n {
            return Err(StoreError::Abandoned(
                "new customer rows do not match the batch",
            ));
        }
        let NewCustomerRows {
            reserved,
            mut customers,
            mut grams,
        } = rows;
        on_pool!(self, p => {
            let mut conn = p.acquire().await?;
            if !pg {
                // A larger WAL between checkpoints while batches follow each other: a page
                // changed by many batches is copied into the database once, not once per
                // batch. Committed batches stay as durable (the commit itself is unchanged).
                sqlx::raw_sql(AssertSqlSafe(format!("PRAGMA wal_autocheckpoint = {BULK_WAL_PAGES}"))).execute(&mut *conn).await?;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let started = std::time::Instant::now();
            let early = reserved.is_some();
            if early {
                tx.write_rows(&customers).await?;
                if let Some(g) = &grams {
                    tx.write_rows(g).await?;
                }
            }
            let streamed = std::time::Instant::now();
            if !turn.await {
                // Dropping the transaction rolls it back.
                return Err(StoreError::Abandoned("the import batch before this one was not written"));
            }
            let waited = std::time::Instant::now();
            // The progress row first after the turn: on SQLite this takes the write lock,
            // so the ids read below cannot be taken by another writer before this
            // transaction commits.
            progress!(&mut *tx, run_id, batch.rows_done, batch.counts);
            let ids: Vec<Id> = match reserved {
                Some(ids) => ids,
                None if n == 0 => Vec::new(),
                None => {
                    let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM customer").fetch_one(&mut *tx).await?;
                    // The rows are numbered from 0: moved to the ids after the largest.
                    customers.shift_column(0, max + 1);
                    tx.write_rows(&customers).await?;
                    if let Some(g) = &mut grams {
                        g.shift_column(1, max + 1);
                        tx.write_rows(g).await?;
                    }
                    (max + 1..=max + n as i64).collect()
                }
            };
            drop(customers);
            drop(grams);
            let inserted = std::time::Instant::now();
            // Changed customers: one statement per set of changed columns, which writes only
            // those columns (so only the indexes on them are maintained).
            let mut groups: BTreeMap<Vec<&'static str>, RowUpdates> = BTreeMap::new();
            let mut changes = TableRows::new("customer_change", &["customer_id", "import_run_id", "field", "old_value", "new_value", "at"]);
            let mut renamed: Vec<(Id, &str)> = Vec::new();
            for (id, f, ch) in &batch.updates {
                let mut cols = Vec::with_capacity(ch.len());
                let mut vals = Vec::with_capacity(ch.len());
                for c in ch {
                    let (col, ty, v) = customer_column(f, &c.field).ok_or_else(|| StoreError::NotFound {
                        entity: "customer column",
                        id: c.field.clone(),
                    })?;
                    if !cols.iter().any(|(k, _)| *k == col) {
                        cols.push((col, ty));
                        vals.push(v);
                    }
                    changes.push([(*id).into(), run_id.into(), c.field.clone().into(), c.old_value.clone().into(), c.new_value.clone().into(), at.into()]);
                }
                let key: Vec<&'static str> = cols.iter().map(|(k, _)| *k).collect();
                groups
                    .entry(key)
                    .or_insert_with(|| RowUpdates::new("customer", cols, vec![("updated_at", at.into())]))
                    .push(*id, vals);
                if ch.iter().any(|c| c.field == "name") {
                    renamed.push((*id, &f.name));
                }
            }
            for u in groups.values() {
                tx.update_rows(u).await?;
            }
            let updated = std::time::Instant::now();
            tx.write_rows(&changes).await?;
            tx.write_name_grams(&renamed, false).await?;
            tx.write_rows(&problem_rows(run_id, &batch.problems)).await?;
            let written = std::time::Instant::now();
            tx.commit().await?;
            tracing::debug!(
                stream_ms = (streamed - started).as_millis() as u64,
                turn_ms = (waited - streamed).as_millis() as u64,
                insert_ms = (inserted - waited).as_millis() as u64,
                update_ms = (updated - inserted).as_millis() as u64,
                rest_ms = (written - updated).as_millis() as u64,
                commit_ms = written.elapsed().as_millis() as u64,
                early,
                "customer batch written"
            );
            if !pg {
                // Back to SQLite's default for whatever else uses this pooled connection.
                sqlx::raw_sql("PRAGMA wal_autocheckpoint = 1000").execute(&mut *conn).await?;
            }
            Ok(ids)
        })
    }

    /// The recorded changes of a customer, oldest first.
    pub async fn customer_changes(&self, customer_id: Id) -> Result<Vec<FieldChange>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, FieldChange>(
            "SELECT field, old_value, new_value FROM customer_change WHERE customer_id = $1 ORDER BY id")
            .bind(customer_id).fetch_all(p).await?))
    }

    /// The most recent import run, if any (progress for tests and tools).
    pub async fn latest_import_run(&self) -> Result<Option<ImportRun>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM import_run ORDER BY id DESC LIMIT 1");
        on_pool!(self, p => Ok(sqlx::query_as::<_, ImportRun>(AssertSqlSafe(sql)).fetch_optional(p).await?))
    }

    /// Customers, customers without any name fragment, and fragments whose customer does
    /// not exist: a consistency check after interrupted writes.
    pub async fn customer_gram_integrity(&self) -> Result<(i64, i64, i64)> {
        // On PostgreSQL the fragments are in the customer row: none can lack its customer.
        let sql = match self.pool {
            Pool::Sqlite(_) => {
                "SELECT (SELECT COUNT(*) FROM customer), \
                 (SELECT COUNT(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM customer_name_gram g WHERE g.customer_id = c.id)), \
                 (SELECT COUNT(*) FROM customer_name_gram g WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = g.customer_id))"
            }
            Pool::Postgres(_) => {
                "SELECT (SELECT COUNT(*) FROM customer), \
                 (SELECT COUNT(*) FROM customer WHERE COALESCE(cardinality(name_grams), 0) = 0), 0::bigint"
            }
        };
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, i64, i64)>(sql).fetch_one(p).await?))
    }

    /// Partial records an interrupted import could leave (foreign keys already forbid
    /// rows pointing at nothing): vehicles without an owner, lines or policies without
    /// their parent, customers without name fragments. All zero in a consistent database.
    pub async fn import_integrity(&self) -> Result<Vec<(String, i64)>> {
        let checks: [(&str, &str); 4] = [
            (
                "vehicle without owner",
                "SELECT COUNT(*) FROM vehicle v WHERE NOT EXISTS (SELECT 1 FROM vehicle_ownership o WHERE o.vehicle_id = v.id)",
            ),
            (
                "line without work order",
                "SELECT COUNT(*) FROM work_order_line l WHERE NOT EXISTS (SELECT 1 FROM work_order w WHERE w.id = l.work_order_id)",
            ),
            (
                "policy without vehicle",
                "SELECT COUNT(*) FROM insurance_policy i WHERE NOT EXISTS (SELECT 1 FROM vehicle v WHERE v.id = i.vehicle_id)",
            ),
            (
                "customer without name fragment",
                match self.pool {
                    Pool::Sqlite(_) => {
                        "SELECT COUNT(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM customer_name_gram g WHERE g.customer_id = c.id)"
                    }
                    Pool::Postgres(_) => {
                        "SELECT COUNT(*) FROM customer WHERE COALESCE(cardinality(name_grams), 0) = 0"
                    }
                },
            ),
        ];
        let mut out = Vec::new();
        for (name, sql) in checks {
            let n: i64 = on_pool!(self, p => sqlx::query_scalar(sql).fetch_one(p).await?);
            out.push((name.to_string(), n));
        }
        Ok(out)
    }
}

/// Moves a run's progress forward (inside the caller's transaction).
macro_rules! progress {
    ($conn:expr, $run_id:expr, $rows_done:expr, $c:expr) => {{
        let c: $crate::import::ImportCounts = $c;
        sqlx::query("UPDATE import_run SET rows_done = $1, inserted = inserted + $2, updated = updated + $3, unchanged = unchanged + $4, merged = merged + $5, rejected = rejected + $6, customers_created = customers_created + $7 WHERE id = $8")
            .bind($rows_done).bind(c.inserted).bind(c.updated).bind(c.unchanged).bind(c.merged).bind(c.rejected).bind(c.customers_created).bind($run_id)
            .execute($conn).await?;
    }};
}
pub(crate) use progress;
