//! Bulk loading for the demo generator and imports: rows with explicit ids, written in one
//! transaction per batch — multi-row INSERTs on SQLite, COPY on PostgreSQL.

use crate::{Db, Pool, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    I64(i64),
    F64(f64),
    Text(String),
    Date(NaiveDate),
    Ts(DateTime<Utc>),
    Bool(bool),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Bool(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<NaiveDate> for Val {
    fn from(v: NaiveDate) -> Val {
        Val::Date(v)
    }
}
impl From<DateTime<Utc>> for Val {
    fn from(v: DateTime<Utc>) -> Val {
        Val::Ts(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// Rows for one table, stored flat.
#[derive(Debug, Clone)]
pub struct TableRows {
    pub table: &'static str,
    pub columns: Vec<&'static str>,
    values: Vec<Val>,
}

impl TableRows {
    pub fn new(table: &'static str, columns: &[&'static str]) -> TableRows {
        TableRows {
            table,
            columns: columns.to_vec(),
            values: Vec::new(),
        }
    }
    /// The same table with one more column (before any row is pushed).
    pub fn with_column(mut self, column: &'static str) -> TableRows {
        debug_assert!(self.values.is_empty());
        self.columns.push(column);
        self
    }
    /// Appends one row; the values must follow `columns`.
    pub fn push(&mut self, row: impl IntoIterator<Item = Val>) {
        let before = self.values.len();
        self.values.extend(row);
        assert_eq!(
            self.values.len() - before,
            self.columns.len(),
            "row width of {}",
            self.table
        );
    }
    pub fn len(&self) -> usize {
        self.values.len() / self.columns.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// In the last row whose column `key_col` equals `key`, sets column `col` to `v`.
    pub fn set_last_matching(&mut self, key_col: usize, key: Val, col: usize, v: Val) {
        let w = self.columns.len();
        let n = self.len();
        for i in (0..n).rev() {
            if self.values[i * w + key_col] == key {
                self.values[i * w + col] = v;
                return;
            }
        }
    }
    /// Adds `by` to the integers of column `col` (rows numbered before their ids were
    /// known).
    pub fn shift_column(&mut self, col: usize, by: i64) {
        let w = self.columns.len();
        for v in self.values.iter_mut().skip(col).step_by(w) {
            if let Val::I64(i) = v {
                *i += by;
            }
        }
    }
    fn rows(&self) -> impl Iterator<Item = &[Val]> {
        self.values.chunks(self.columns.len())
    }
}

/// A value as an SQLite literal, in the same text forms sqlx uses when binding.
fn sqlite_literal(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("NULL"),
        Val::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Val::F64(f) if f.is_finite() => {
            let _ = write!(out, "{f:?}");
        }
        Val::F64(_) => out.push_str("NULL"),
        Val::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Val::Date(d) => {
            let _ = write!(out, "'{}'", d.format("%F"));
        }
        Val::Ts(t) => {
            let _ = write!(
                out,
                "'{}'",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            );
        }
        Val::Text(s) => {
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\0' => {}
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
    }
}

/// Rows per bound multi-row INSERT on SQLite: at most 256, within SQLite's default limit
/// of 32,766 parameters a statement.
fn sqlite_rows_per_insert(width: usize) -> usize {
    (32_766 / width.max(1)).clamp(1, 256)
}

/// The values of rows bound in the same form [`sqlite_literal`] writes them (text without
/// NUL characters, dates as `YYYY-MM-DD`, timestamps as RFC 3339, booleans as 0/1). `memo`
/// keeps the last timestamp's text: bulk rows share one.
fn sqlite_args(
    values: &[Val],
    memo: &mut Option<(DateTime<Utc>, std::sync::Arc<str>)>,
) -> Result<sqlx::sqlite::SqliteArguments> {
    use sqlx::Arguments as _;
    use std::sync::Arc;
    let mut args = sqlx::sqlite::SqliteArguments::default();
    args.reserve(values.len(), 0);
    for v in values {
        let r = match v {
            Val::Null => args.add(None::<i64>),
            Val::I64(i) => args.add(*i),
            Val::F64(f) if f.is_finite() => args.add(*f),
            Val::F64(_) => args.add(None::<f64>),
            Val::Bool(b) => args.add(i64::from(*b)),
            Val::Date(d) => args.add(Arc::<str>::from(d.to_string())),
            Val::Ts(t) => {
                let text = match memo {
                    Some((at, text)) if at == t => text.clone(),
                    _ => {
                        let text: Arc<str> =
                            Arc::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false));
                        *memo = Some((*t, text.clone()));
                        text
                    }
                };
                args.add(text)
            }
            Val::Text(s) if s.contains('\0') => args.add(Arc::<str>::from(s.replace('\0', ""))),
            Val::Text(s) => args.add(Arc::<str>::from(s.as_str())),
        };
        r.map_err(|e| crate::StoreError::Database(sqlx::Error::Encode(e)))?;
    }
    Ok(args)
}

fn copy_escape(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("\\N"),
        Val::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Val::F64(f) => {
            let _ = write!(out, "{f}");
        }
        Val::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Val::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Val::Ts(t) => out.push_str(&t.to_rfc3339()),
        // Most values need no escape: copied whole.
        Val::Text(s)
            if !s
                .bytes()
                .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) =>
        {
            out.push_str(s)
        }
        Val::Text(s) => {
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// The type of a column of [`RowUpdates`] (PostgreSQL binds each column as one typed
/// array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Text,
    Date,
    Bool,
    I64,
}

/// Rows of one table to update by id, each setting the same columns to its own values (and
/// the `also` columns to one value for all), written as one statement per chunk instead of
/// one statement per row.
#[derive(Debug, Clone)]
pub struct RowUpdates {
    pub table: &'static str,
    pub columns: Vec<(&'static str, SqlType)>,
    pub also: Vec<(&'static str, Val)>,
    ids: Vec<i64>,
    values: Vec<Val>,
}

impl RowUpdates {
    pub fn new(
        table: &'static str,
        columns: Vec<(&'static str, SqlType)>,
        also: Vec<(&'static str, Val)>,
    ) -> RowUpdates {
        RowUpdates {
            table,
            columns,
            also,
            ids: Vec::new(),
            values: Vec::new(),
        }
    }
    /// Adds the row `id`; the values must follow `columns`.
    pub fn push(&mut self, id: i64, row: impl IntoIterator<Item = Val>) {
        let before = self.values.len();
        self.values.extend(row);
        assert_eq!(
            self.values.len() - before,
            self.columns.len(),
            "update width of {}",
            self.table
        );
        self.ids.push(id);
    }
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    fn rows(&self) -> impl Iterator<Item = (i64, &[Val])> {
        let w = self.columns.len().max(1);
        self.ids.iter().copied().zip(self.values.chunks(w))
    }
}

/// A connection (or transaction) that can take a table of rows the fast way: bound
/// multi-row INSERTs (prepared once per connection) on SQLite, COPY on PostgreSQL. Lets
/// other store modules write bulk rows inside their own transactions (an import batch with
/// its progress row).
pub(crate) trait BulkConn {
    fn write_rows(&mut self, t: &TableRows) -> impl Future<Output = Result<()>> + Send;
    /// Updates rows by id: `UPDATE … FROM (VALUES …)` with literal rows on SQLite,
    /// `UPDATE … FROM UNNEST(typed arrays)` on PostgreSQL.
    fn update_rows(&mut self, u: &RowUpdates) -> impl Future<Output = Result<()>> + Send;
}

impl BulkConn for sqlx::SqliteConnection {
    async fn write_rows(&mut self, t: &TableRows) -> Result<()> {
        if t.is_empty() {
            return Ok(());
        }
        // Multi-row INSERTs with bound values, prepared once per connection and reused
        // for every full chunk: SQLite's parser, reading literal values, cost more than a
        // third of an import's database work (callgrind: ~1,300 instructions a value).
        let w = t.columns.len();
        let per = sqlite_rows_per_insert(w);
        let statement = |rows: usize| {
            let one = format!("({})", vec!["?"; w].join(","));
            format!(
                "INSERT INTO {} ({}) VALUES {}",
                t.table,
                t.columns.join(", "),
                vec![one; rows].join(",")
            )
        };
        let full = statement(per);
        let chunks: Vec<&[Val]> = t.values.chunks(per * w).collect();
        let mut memo = None;
        let mut next = Some(sqlite_args(chunks[0], &mut memo)?);
        for (k, chunk) in chunks.iter().enumerate() {
            let args = next.take().unwrap_or_default();
            let rows = chunk.len() / w;
            // The last, shorter chunk of a table: a statement used once.
            let sql = if rows == per {
                full.clone()
            } else {
                statement(rows)
            };
            let run = sqlx::query_with(AssertSqlSafe(sql), args)
                .persistent(rows == per)
                .execute(&mut *self);
            // The next chunk's values are bound while SQLite inserts this one (on its
            // own thread).
            let (done, bound) = tokio::join!(run, async {
                chunks
                    .get(k + 1)
                    .map(|c| sqlite_args(c, &mut memo))
                    .transpose()
            });
            done?;
            next = bound?;
        }
        Ok(())
    }

    async fn update_rows(&mut self, u: &RowUpdates) -> Result<()> {
        sqlite_update_rows(self, u).await
    }
}

async fn sqlite_update_rows(conn: &mut sqlx::SqliteConnection, u: &RowUpdates) -> Result<()> {
    if u.is_empty() || u.columns.is_empty() {
        return Ok(());
    }
    let mut sets: Vec<String> = u
        .columns
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = v.column{}", i + 2))
        .collect();
    for (c, v) in &u.also {
        let mut s = format!("{c} = ");
        sqlite_literal(&mut s, v);
        sets.push(s);
    }
    let head = format!("UPDATE {} SET {} FROM (VALUES ", u.table, sets.join(", "));
    let tail = format!(") AS v WHERE {}.id = v.column1", u.table);
    let mut sql = String::with_capacity(1 << 20);
    let n = u.len();
    for (i, (id, row)) in u.rows().enumerate() {
        if sql.is_empty() {
            sql.push_str(&head);
        } else {
            sql.push(',');
        }
        let _ = write!(sql, "({id}");
        for v in row {
            sql.push(',');
            sqlite_literal(&mut sql, v);
        }
        sql.push(')');
        if sql.len() > (1 << 19) || i + 1 == n {
            sql.push_str(&tail);
            sqlx::raw_sql(AssertSqlSafe(std::mem::take(&mut sql)))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Binds one value of a PostgreSQL statement by its kind.
fn pg_bind_val<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    v: &Val,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match v.clone() {
        Val::Null => q.bind(None::<String>),
        Val::I64(i) => q.bind(i),
        Val::F64(f) => q.bind(f),
        Val::Text(s) => q.bind(s),
        Val::Date(d) => q.bind(d),
        Val::Ts(t) => q.bind(t),
        Val::Bool(b) => q.bind(b),
    }
}

async fn pg_update_rows(conn: &mut sqlx::PgConnection, u: &RowUpdates) -> Result<()> {
    if u.is_empty() || u.columns.is_empty() {
        return Ok(());
    }
    let w = u.columns.len();
    let mut sets: Vec<String> = Vec::new();
    let mut arrays = vec!["$1::bigint[]".to_string()];
    let mut names = vec!["k".to_string()];
    for (i, (c, ty)) in u.columns.iter().enumerate() {
        sets.push(format!("{c} = u.c{i}"));
        let ty = match ty {
            SqlType::Text => "text",
            SqlType::Date => "date",
            SqlType::Bool => "boolean",
            SqlType::I64 => "bigint",
        };
        arrays.push(format!("${}::{ty}[]", i + 2));
        names.push(format!("c{i}"));
    }
    for (j, (c, _)) in u.also.iter().enumerate() {
        sets.push(format!("{c} = ${}", w + 2 + j));
    }
    let sql = format!(
        "UPDATE {t} AS t SET {} FROM UNNEST({}) AS u({}) WHERE t.id = u.k",
        sets.join(", "),
        arrays.join(", "),
        names.join(", "),
        t = u.table
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(u.ids.clone());
    for (i, (_, ty)) in u.columns.iter().enumerate() {
        let col = u.values.iter().skip(i).step_by(w);
        q = match ty {
            SqlType::Text => q.bind(
                col.map(|v| match v {
                    Val::Text(s) => Some(s.clone()),
                    _ => None,
                })
                .collect::<Vec<Option<String>>>(),
            ),
            SqlType::Date => q.bind(
                col.map(|v| match v {
                    Val::Date(d) => Some(*d),
                    _ => None,
                })
                .collect::<Vec<Option<NaiveDate>>>(),
            ),
            SqlType::Bool => q.bind(
                col.map(|v| match v {
                    Val::Bool(b) => Some(*b),
                    _ => None,
                })
                .collect::<Vec<Option<bool>>>(),
            ),
            SqlType::I64 => q.bind(
                col.map(|v| match v {
                    Val::I64(i) => Some(*i),
                    _ => None,
                })
                .collect::<Vec<Option<i64>>>(),
            ),
        };
    }
    for (_, v) in &u.also {
        q = pg_bind_val(q, v);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

impl BulkConn for sqlx::PgConnection {
    async fn write_rows(&mut self, t: &TableRows) -> Result<()> {
        if t.is_empty() {
            return Ok(());
        }
        let mut copy = self
            .copy_in_raw(&format!(
                "COPY {} ({}) FROM STDIN",
                t.table,
                t.columns.join(", ")
            ))
            .await?;
        let mut buf = String::with_capacity(1 << 20);
        for row in t.rows() {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.push('\t');
                }
                copy_escape(&mut buf, v);
            }
            buf.push('\n');
            // Small chunks: the server starts on the first rows while later ones are
            // still being encoded.
            if buf.len() > (1 << 17) {
                copy.send(buf.as_bytes()).await?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            copy.send(buf.as_bytes()).await?;
        }
        copy.finish().await?;
        Ok(())
    }

    async fn update_rows(&mut self, u: &RowUpdates) -> Result<()> {
        pg_update_rows(self, u).await
    }
}

/// Values of a text list as an SQL list of literals, `('a','b')`, for IN on SQLite (one
/// statement instead of thousands of bound parameters).
pub(crate) fn sqlite_text_list<S: AsRef<str>>(values: &[S]) -> String {
    let mut out = String::with_capacity(values.len() * 16 + 2);
    out.push('(');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        sqlite_literal(&mut out, &Val::Text(v.as_ref().to_string()));
    }
    if values.is_empty() {
        out.push_str("NULL");
    }
    out.push(')');
    out
}

/// Values of a text list as the rows of a `VALUES` clause on SQLite, `('a'),('b')` (a
/// list that must stay the outer loop of a join).
pub(crate) fn sqlite_values_rows<S: AsRef<str>>(values: &[S]) -> String {
    let mut out = String::with_capacity(values.len() * 18 + 6);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('(');
        sqlite_literal(&mut out, &Val::Text(v.as_ref().to_string()));
        out.push(')');
    }
    if values.is_empty() {
        out.push_str("(NULL)");
    }
    out
}

impl Db {
    /// Writes the tables in the order given, all in one transaction.
    pub async fn bulk_insert(&self, tables: &[TableRows]) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for t in tables {
                tx.write_rows(t).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Before loading many rows into empty tables: drop their secondary indexes (building
    /// an index once at the end is much faster than maintaining it row by row). Returns
    /// the statements that recreate them, for [`Db::after_bulk_load`].
    pub async fn before_bulk_load(&self, tables: &[&str]) -> Result<Vec<String>> {
        let mut recreate = Vec::new();
        for t in tables {
            let defs: Vec<(String, String)> = match &self.pool {
                Pool::Sqlite(p) => sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL")
                    .bind(*t).fetch_all(p).await?,
                Pool::Postgres(p) => sqlx::query_as(
                    "SELECT i.indexname::text, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() AND i.tablename = $1 \
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")
                    .bind(*t).fetch_all(p).await?,
            };
            let drops: Vec<String> = defs
                .iter()
                .map(|(name, _)| format!("DROP INDEX {name}"))
                .collect();
            self.run_ddl(&drops).await?;
            recreate.extend(defs.into_iter().map(|(_, sql)| sql));
        }
        Ok(recreate)
    }

    /// Runs schema statements on one connection. On SQLite a pooled connection may hold a
    /// stale copy of the schema (another connection changed it) and would reject `CREATE
    /// INDEX` as a duplicate at prepare time; reading sqlite_master first makes it reload.
    async fn run_ddl(&self, statements: &[String]) -> Result<()> {
        on_pool!(self, p => {
            let mut conn = p.acquire().await?;
            if matches!(self.pool, Pool::Sqlite(_)) {
                sqlx::query("SELECT COUNT(*) FROM sqlite_master").execute(&mut *conn).await?;
            }
            for sql in statements {
                sqlx::raw_sql(AssertSqlSafe(sql.clone())).execute(&mut *conn).await?;
            }
        });
        Ok(())
    }

    /// After loading rows with explicit ids: recreate the indexes dropped by
    /// [`Db::before_bulk_load`], move PostgreSQL's identity sequences past the loaded ids,
    /// and refresh planner statistics.
    pub async fn after_bulk_load(&self, tables: &[&str], recreate: &[String]) -> Result<()> {
        self.run_ddl(recreate).await?;
        if let Pool::Postgres(p) = &self.pool {
            for t in tables {
                let has_id: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id')",
                )
                .bind(*t)
                .fetch_one(p)
                .await?;
                if !has_id {
                    continue;
                }
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
                );
                sqlx::query(AssertSqlSafe(sql)).execute(p).await?;
            }
        }
        on_pool!(self, p => {
            sqlx::raw_sql("ANALYZE").execute(p).await?;
            Ok(())
        })
    }

    /// The largest id in a table (0 when empty), for generators that assign ids.
    pub async fn max_id(&self, table: &str) -> Result<i64> {
        let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).fetch_one(p).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_literals_are_escaped() {
        let mut s = String::new();
        sqlite_literal(&mut s, &Val::Text("O'Brien\0; DROP TABLE x".into()));
        assert_eq!(s, "'O''Brien; DROP TABLE x'");
        s.clear();
        sqlite_literal(&mut s, &Val::F64(f64::NAN));
        assert_eq!(s, "NULL");
    }

    #[test]
    fn rows_numbered_from_zero_move_to_their_ids() {
        let mut t = TableRows::new("customer_name_gram", &["gram", "customer_id"]);
        t.push(["张伟".into(), Val::I64(0)]);
        t.push(["伟明".into(), Val::I64(1)]);
        t.push(["x".into(), Val::Null]);
        t.shift_column(1, 41);
        let ids: Vec<&Val> = t.rows().map(|r| &r[1]).collect();
        assert_eq!(ids, [&Val::I64(41), &Val::I64(42), &Val::Null]);
        assert_eq!(
            t.rows().next().map(|r| r[0].clone()),
            Some(Val::Text("张伟".into()))
        );
    }

    #[test]
    fn sqlite_statements_stay_within_the_parameter_limit() {
        assert_eq!(sqlite_rows_per_insert(2), 256);
        assert_eq!(sqlite_rows_per_insert(30), 256);
        assert_eq!(sqlite_rows_per_insert(200), 163);
        assert!(sqlite_rows_per_insert(200) * 200 <= 32_766);
        assert_eq!(sqlite_rows_per_insert(40_000), 1);
    }

    #[test]
    fn copy_text_escapes_special_characters() {
        let mut s = String::new();
        copy_escape(&mut s, &Val::Text("a\tb\\c\nd".into()));
        assert_eq!(s, "a\\tb\\\\c\\nd");
        s.clear();
        copy_escape(&mut s, &Val::Null);
        assert_eq!(s, "\\N");
        s.clear();
        copy_escape(&mut s, &Val::Text("张伟 {\"a\"}".into()));
        assert_eq!(s, "张伟 {\"a\"}");
    }
}
