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
    pub columns: &'static [&'static str],
    values: Vec<Val>,
}

impl TableRows {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> TableRows {
        TableRows {
            table,
            columns,
            values: Vec::new(),
        }
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

/// A connection (or transaction) that can take a table of rows the fast way: literal
/// multi-row INSERTs on SQLite, COPY on PostgreSQL. Lets other store modules write bulk
/// rows inside their own transactions (an import batch with its progress row).
pub(crate) trait BulkConn {
    fn write_rows(&mut self, t: &TableRows) -> impl Future<Output = Result<()>> + Send;
}

impl BulkConn for sqlx::SqliteConnection {
    async fn write_rows(&mut self, t: &TableRows) -> Result<()> {
        if t.is_empty() {
            return Ok(());
        }
        // Values are written as SQL literals (escaped below): binding millions of
        // parameters one by one costs more than SQLite's parser does.
        let head = format!("INSERT INTO {} ({}) VALUES ", t.table, t.columns.join(", "));
        let mut sql = String::with_capacity(1 << 20);
        let n = t.len();
        for (i, row) in t.rows().enumerate() {
            if sql.is_empty() {
                sql.push_str(&head);
            } else {
                sql.push(',');
            }
            sql.push('(');
            for (c, v) in row.iter().enumerate() {
                if c > 0 {
                    sql.push(',');
                }
                sqlite_literal(&mut sql, v);
            }
            sql.push(')');
            if sql.len() > (1 << 19) || i + 1 == n {
                sqlx::raw_sql(AssertSqlSafe(std::mem::take(&mut sql)))
                    .execute(&mut *self)
                    .await?;
            }
        }
        Ok(())
    }
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
            if buf.len() > (1 << 20) {
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
}

/// Values of a text list as an SQL list of literals, `('a','b')`, for IN on SQLite (one
/// statement instead of thousands of bound parameters).
pub(crate) fn sqlite_text_list(values: &[String]) -> String {
    let mut out = String::with_capacity(values.len() * 16 + 2);
    out.push('(');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        sqlite_literal(&mut out, &Val::Text(v.clone()));
    }
    if values.is_empty() {
        out.push_str("NULL");
    }
    out.push(')');
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
    fn copy_text_escapes_special_characters() {
        let mut s = String::new();
        copy_escape(&mut s, &Val::Text("a\tb\\c\nd".into()));
        assert_eq!(s, "a\\tb\\\\c\\nd");
        s.clear();
        copy_escape(&mut s, &Val::Null);
        assert_eq!(s, "\\N");
    }
}
