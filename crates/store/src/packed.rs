//! Bulk reads of millions of small rows, packed by the database.
//!
//! Fetching a row through the driver costs a few microseconds whatever it holds (on SQLite
//! each row crosses from the connection's thread to ours), which is most of the time of
//! reading ten million work orders. So the bulk reads of the mining job ask the database
//! to join a chunk of rows into one text — fields separated by U+001F, rows by U+001E,
//! `string_agg(concat_ws(…))`, the same SQL on SQLite (3.44 and later) and PostgreSQL —
//! and split it here: one fetch per chunk of ids instead of one per row.
//!
//! Fields are plain integers, dates ([`day_field`]: the date's text on SQLite, the day
//! number on PostgreSQL, empty when NULL) or, last in a row, free text (a line code).

use crate::sql::{Sql, bind_args};
use crate::{Backend, Db, Result, StoreError, on_pool};
use chrono::{Datelike, NaiveDate};
use sqlx::AssertSqlSafe;

/// Keys per packed fetch (a few megabytes of text).
pub(crate) const KEYS_PER_FETCH: i64 = 100_000;

/// Between the fields of a row.
pub(crate) const FIELD: char = '\u{1f}';
/// Between rows.
pub(crate) const ROW: char = '\u{1e}';

impl Db {
    /// A date column (or date expression) as a field: empty when NULL.
    pub(crate) fn day_field(&self, col: &str) -> String {
        if self.backend() == Backend::Postgres {
            format!("COALESCE(CAST(({col}) - DATE '1970-01-01' AS TEXT), '')")
        } else {
            format!("COALESCE({col}, '')")
        }
    }

    /// A timestamp column as a field: whole seconds since 1970-01-01 00:00 UTC.
    pub(crate) fn epoch_field(&self, col: &str) -> String {
        if self.backend() == Backend::Postgres {
            format!("CAST(FLOOR(EXTRACT(EPOCH FROM {col})) AS BIGINT)")
        } else {
            format!("unixepoch({col})")
        }
    }

    /// The start of a packed query of `fields`: the caller goes on with `FROM … WHERE …`
    /// (binding from `$3` on) and hands the whole to [`Db::packed_fetch`].
    pub(crate) fn packed_select(&self, fields: &[&str]) -> Sql {
        let mut sql = Sql::new("SELECT string_agg(concat_ws(");
        sql.bind_text(FIELD.to_string());
        sql.push(&format!(", {}), ", fields.join(", ")));
        sql.bind_text(ROW.to_string());
        sql.push(") FROM ");
        sql
    }

    /// Runs a query begun with [`Db::packed_select`] of `n` fields and calls `row` with
    /// the fields of each row.
    pub(crate) async fn packed_fetch(
        &self,
        sql: Sql,
        n: usize,
        mut row: impl FnMut(&[&str]) -> Result<()>,
    ) -> Result<()> {
        let text: Option<String> = on_pool!(self, p => bind_args!(
            sqlx::query_scalar::<_, Option<String>>(AssertSqlSafe(sql.text.clone())), sql.args)
            .fetch_one(p).await?);
        split_rows(text.as_deref().unwrap_or(""), n, &mut row)
    }

    /// Calls `row` with the fields of every row of
    /// `SELECT <fields> FROM <from> WHERE <key> > after AND <key> <= until <filter>`, in key
    /// order, `step` keys per fetch. `fields` are SQL expressions, none NULL (COALESCE
    /// them): `concat_ws` skips NULLs, which would shift the fields after them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn packed_rows(
        &self,
        fields: &[&str],
        from: &str,
        key: &str,
        filter: &str,
        after: i64,
        until: i64,
        step: i64,
        mut row: impl FnMut(&[&str]) -> Result<()>,
    ) -> Result<()> {
        let sql = format!(
            "SELECT string_agg(concat_ws($1, {}), $2 ORDER BY {key}) FROM {from} \
             WHERE {key} > $3 AND {key} <= $4 {filter}",
            fields.join(", ")
        );
        let mut lo = after;
        while lo < until {
            let hi = lo.saturating_add(step).min(until);
            let text: Option<String> = on_pool!(self, p => sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                .bind(FIELD.to_string()).bind(ROW.to_string()).bind(lo).bind(hi)
                .fetch_one(p).await?);
            split_rows(text.as_deref().unwrap_or(""), fields.len(), &mut row)?;
            lo = hi;
        }
        Ok(())
    }

    /// [`Db::packed_rows`] over every key of `table` (as `from` names it: `key` may carry
    /// the alias), [`KEYS_PER_FETCH`] keys a fetch.
    pub(crate) async fn packed_table(
        &self,
        fields: &[&str],
        table: &str,
        from: &str,
        key: &str,
        filter: &str,
        row: impl FnMut(&[&str]) -> Result<()>,
    ) -> Result<()> {
        let Some((lo, hi)) = self.key_range(table, key).await? else {
            return Ok(());
        };
        self.packed_rows(fields, from, key, filter, lo - 1, hi, KEYS_PER_FETCH, row)
            .await
    }

    /// The smallest and largest key of a table (None when empty).
    pub(crate) async fn key_range(&self, table: &str, key: &str) -> Result<Option<(i64, i64)>> {
        let sql = format!("SELECT MIN({key}), MAX({key}) FROM {table}");
        let (lo, hi): (Option<i64>, Option<i64>) =
            on_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql)).fetch_one(p).await?);
        Ok(lo.zip(hi))
    }
}

/// Splits packed text into rows of `n` fields; the last field takes the rest of its row
/// (free text may hold the field separator).
fn split_rows(text: &str, n: usize, row: &mut impl FnMut(&[&str]) -> Result<()>) -> Result<()> {
    let mut cells: Vec<&str> = Vec::with_capacity(n);
    for r in text.split(ROW) {
        if r.is_empty() {
            continue;
        }
        cells.clear();
        cells.extend(r.splitn(n, FIELD));
        if cells.len() != n {
            return Err(packed_error(r));
        }
        row(&cells)?;
    }
    Ok(())
}

fn packed_error(row: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(
        format!(
            "a packed row or field the bulk read cannot split: {:?}",
            row.chars().take(80).collect::<String>()
        )
        .into(),
    ))
}

/// An integer field.
pub(crate) fn int(f: &str) -> Result<i64> {
    f.parse().map_err(|_| packed_error(f))
}

/// A date field as days since 1970-01-01 (None when empty): `YYYY-MM-DD…` (SQLite's text,
/// a timestamp's date part included) or a day number (PostgreSQL).
pub(crate) fn day(f: &str) -> Result<Option<i32>> {
    if f.is_empty() {
        return Ok(None);
    }
    let b = f.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |s: &str| s.parse::<u32>().map_err(|_| packed_error(f));
        let d = NaiveDate::from_ymd_opt(num(&f[0..4])? as i32, num(&f[5..7])?, num(&f[8..10])?)
            .ok_or_else(|| packed_error(f))?;
        return Ok(Some(d.num_days_from_ce() - EPOCH_CE));
    }
    Ok(Some(i32::try_from(int(f)?).map_err(|_| packed_error(f))?))
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_CE: i32 = 719_163;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_either_database() {
        assert_eq!(day("1970-01-01").ok(), Some(Some(0)));
        assert_eq!(day("1970-01-02").ok(), Some(Some(1)));
        // 2026-12-07: 56 years with 14 leap days (1972 … 2024) = 20,454, + 340 days.
        assert_eq!(day("2026-12-07").ok(), Some(Some(20_794)));
        assert_eq!(day("2026-12-07 10:18:06.36+00:00").ok(), Some(Some(20_794)));
        assert_eq!(day("20794").ok(), Some(Some(20_794)));
        assert_eq!(day("").ok(), Some(None));
        assert!(day("2026-13-01").is_err());
        assert!(day("soon").is_err());
        assert_eq!(int("-1").ok(), Some(-1));
        assert!(int("1.5").is_err());
    }
}
