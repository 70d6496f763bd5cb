//! Bulk loading for the demo generator and imports: rows with explicit ids, written in one
//! transaction per batch — multi-row INSERTs on SQLite, COPY on PostgreSQL.

use crate::{on_pool, Db, Pool, Result};
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
        TableRows { table, columns, values: Vec::new() }
    }
    /// Appends one row; the values must follow `columns`.
    pub fn push(&mut self, row: impl IntoIterator<Item = Val>) {
        let before = self.values.len();
        self.values.extend(row);
        assert_eq!(self.values.len() - before, self.columns.len(), "row width of {}", self.table);
    }
    pub fn len(&self) -> usize {
        self.values.len() / self.columns.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    fn rows(&self) -> impl Iterator<Item = &[Val]> {
        self.values.chunks(self.columns.len())
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

impl Db {
    /// Writes the tables in the order given, all in one transaction.
    pub async fn bulk_insert(&self, tables: &[TableRows]) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                for t in tables.iter().filter(|t| !t.is_empty()) {
                    // SQLite allows 32766 bound values per statement.
                    let per_stmt = (30_000 / t.columns.len()).max(1);
                    let rows: Vec<&[Val]> = t.rows().collect();
                    for chunk in rows.chunks(per_stmt) {
                        let mut sql = format!("INSERT INTO {} ({}) VALUES ", t.table, t.columns.join(", "));
                        let mut n = 0;
                        for (r, _) in chunk.iter().enumerate() {
                            sql.push_str(if r == 0 { "(" } else { ",(" });
                            for c in 0..t.columns.len() {
                                n += 1;
                                let _ = write!(sql, "{}${n}", if c == 0 { "" } else { "," });
                            }
                            sql.push(')');
                        }
                        let mut q = sqlx::query(AssertSqlSafe(sql));
                        for row in chunk {
                            for v in row.iter() {
                                q = match v {
                                    Val::Null => q.bind(None::<i64>),
                                    Val::I64(i) => q.bind(*i),
                                    Val::F64(f) => q.bind(*f),
                                    Val::Text(s) => q.bind(s.as_str()),
                                    Val::Date(d) => q.bind(*d),
                                    Val::Ts(t) => q.bind(*t),
                                    Val::Bool(b) => q.bind(*b),
                                };
                            }
                        }
                        q.execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                for t in tables.iter().filter(|t| !t.is_empty()) {
                    let mut copy = tx
                        .copy_in_raw(&format!("COPY {} ({}) FROM STDIN", t.table, t.columns.join(", ")))
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
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// After loading rows with explicit ids: move PostgreSQL's identity sequences past them
    /// and refresh planner statistics on both databases.
    pub async fn after_bulk_load(&self, tables: &[&str]) -> Result<()> {
        if let Pool::Postgres(p) = &self.pool {
            for t in tables {
                let sql = format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)");
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
    fn copy_text_escapes_special_characters() {
        let mut s = String::new();
        copy_escape(&mut s, &Val::Text("a\tb\\c\nd".into()));
        assert_eq!(s, "a\\tb\\\\c\\nd");
        s.clear();
        copy_escape(&mut s, &Val::Null);
        assert_eq!(s, "\\N");
    }
}
