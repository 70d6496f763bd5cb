//! What the web application needs beyond the dealer model: server-side sessions, sign-in
//! throttling, the audit log with filters, store and user administration, and the
//! aggregates behind the dashboard charts (each within the reader's scope).

use crate::model::*;
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, Pool, Result, ResultExt, StoreError, on_pool};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

/// A signed-in browser, as stored (the cookie itself is never stored, only its hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebSession {
    pub token_hash: String,
    pub staff_id: Id,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
}

/// Failed sign-ins of one login.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct LoginThrottle {
    pub failures: i64,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// Audit-log filters; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub staff_id: Option<Id>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<Id>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
    pub page: u32,
    pub per_page: u32,
}

/// An audit entry with who did it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Id,
    pub at: DateTime<Utc>,
    pub staff_id: Option<Id>,
    pub staff_login: Option<String>,
    pub staff_name: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<Id>,
    pub detail: String,
}

/// A user as the administration pages list them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StaffRow {
    pub id: Id,
    pub store_id: Option<Id>,
    pub store_name: Option<String>,
    pub login: String,
    pub name: String,
    pub role: String,
    pub active: bool,
}

/// Leads created in a period and how far they got.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct LeadFunnel {
    pub leads: i64,
    pub test_driven: i64,
    pub ordered: i64,
    pub delivered: i64,
}

/// ` AND <condition>` limiting rows of a table with `store_id` and a staff column to the
/// scope (the staff column stands for "own" rows of a consultant).
fn store_scope(sql: &mut Sql, scope: &Scope, alias: &str, staff_col: &str) {
    match *scope {
        Scope::Group { group_id } => {
            sql.push(&format!(
                " AND {alias}.store_id IN (SELECT id FROM store WHERE group_id = "
            ));
            sql.bind_i64(group_id).push(")");
        }
        Scope::Store { store_id } => {
            sql.push(&format!(" AND {alias}.store_id = "));
            sql.bind_i64(store_id);
        }
        Scope::Own { store_id, staff_id } => {
            sql.push(&format!(" AND {alias}.store_id = "));
            sql.bind_i64(store_id);
            sql.push(&format!(" AND {alias}.{staff_col} = "));
            sql.bind_i64(staff_id);
        }
    }
}

const STAFF_ROW_SELECT: &str = "SELECT s.id, s.store_id, st.name AS store_name, s.login, s.name, s.role, s.active \
     FROM staff s LEFT JOIN store st ON st.id = s.store_id";

impl Db {
    /// Binds a moment for comparison with a timestamp column: the SQL helper has no
    /// timestamp argument, so it goes as RFC 3339 text, which SQLite compares as text in
    /// the very format sqlx writes, and PostgreSQL casts.
    fn bind_ts(&self, sql: &mut Sql, t: DateTime<Utc>) {
        let pg = matches!(self.pool, Pool::Postgres(_));
        if pg {
            sql.push("CAST(");
        }
        sql.bind_text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false));
        if pg {
            sql.push(" AS TIMESTAMPTZ)");
        }
    }

    // ---- sessions ----------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub async fn create_web_session(
        &self,
        token_hash: &str,
        staff_id: Id,
        csrf_token: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        absolute_expires_at: DateTime<Utc>,
        user_agent: &str,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO web_session (token_hash, staff_id, csrf_token, created_at, expires_at, absolute_expires_at, user_agent) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(token_hash).bind(staff_id).bind(csrf_token).bind(created_at).bind(expires_at)
                .bind(absolute_expires_at).bind(user_agent)
                .execute(p).await?;
            Ok(())
        })
    }

    pub async fn web_session(&self, token_hash: &str) -> Result<Option<WebSession>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, WebSession>(
            "SELECT token_hash, staff_id, csrf_token, created_at, expires_at, absolute_expires_at FROM web_session WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(p).await?))
    }

    pub async fn extend_web_session(
        &self,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE web_session SET expires_at = $1 WHERE token_hash = $2")
                .bind(expires_at).bind(token_hash).execute(p).await?;
            Ok(())
        })
    }

    pub async fn delete_web_session(&self, token_hash: &str) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM web_session WHERE token_hash = $1").bind(token_hash).execute(p).await?;
            Ok(())
        })
    }

    /// Ends every session of a staff member except, optionally, one.
    pub async fn delete_web_sessions_of(&self, staff_id: Id, except: Option<&str>) -> Result<u64> {
        on_pool!(self, p => Ok(sqlx::query("DELETE FROM web_session WHERE staff_id = $1 AND token_hash <> $2")
            .bind(staff_id).bind(except.unwrap_or("")).execute(p).await?.rows_affected()))
    }

    pub async fn delete_expired_web_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        on_pool!(self, p => Ok(sqlx::query("DELETE FROM web_session WHERE expires_at <= $1 OR absolute_expires_at <= $1")
            .bind(now).execute(p).await?.rows_affected()))
    }

    // ---- sign-in throttling ------------------------------------------------------------

    pub async fn login_throttle(&self, login: &str) -> Result<LoginThrottle> {
        let row: Option<LoginThrottle> = on_pool!(self, p => sqlx::query_as::<_, LoginThrottle>(
            "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE login = $1")
            .bind(login).fetch_optional(p).await?);
        Ok(row.unwrap_or_default())
    }

    pub async fn set_login_throttle(&self, login: &str, t: &LoginThrottle) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO login_throttle (login, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (login) DO UPDATE SET failures = $2, last_failure_at = $3, locked_until = $4")
                .bind(login).bind(t.failures).bind(t.last_failure_at).bind(t.locked_until).execute(p).await?;
            Ok(())
        })
    }

    pub async fn clear_login_throttle(&self, login: &str) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM login_throttle WHERE login = $1").bind(login).execute(p).await?;
            Ok(())
        })
    }

    // ---- users and stores ---------------------------------------------------------------

    /// Users of a group, optionally of one store, by store then login.
    pub async fn staff_rows(&self, group_id: Id, store_id: Option<Id>) -> Result<Vec<StaffRow>> {
        let mut sql = Sql::new(STAFF_ROW_SELECT);
        sql.push(" WHERE s.group_id = ").bind_i64(group_id);
        if let Some(s) = store_id {
            sql.push(" AND s.store_id = ").bind_i64(s);
        }
        sql.push(" ORDER BY s.store_id IS NOT NULL, s.store_id, s.login");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, StaffRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    pub async fn update_staff(
        &self,
        id: Id,
        name: &str,
        role: &str,
        store_id: Option<Id>,
        active: bool,
    ) -> Result<()> {
        let done = on_pool!(self, p => sqlx::query("UPDATE staff SET name = $1, role = $2, store_id = $3, active = $4 WHERE id = $5")
            .bind(name).bind(role).bind(store_id).bind(active).bind(id).execute(p).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound {
                entity: "staff",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    pub async fn set_password_hash(&self, staff_id: Id, hash: &str) -> Result<()> {
        let done = on_pool!(self, p => sqlx::query("UPDATE staff SET password_hash = $1 WHERE id = $2")
            .bind(hash).bind(staff_id).execute(p).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound {
                entity: "staff",
                id: staff_id.to_string(),
            });
        }
        Ok(())
    }

    /// Active administrators of a group (all groups when None).
    pub async fn count_active_admins(&self, group_id: Option<Id>) -> Result<i64> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM staff WHERE role = 'admin' AND active = TRUE AND ($1 IS NULL OR group_id = $1)")
            .bind(group_id).fetch_one(p).await?))
    }

    pub async fn update_store(&self, id: Id, name: &str, city: &str, brand_id: Id) -> Result<()> {
        let done = on_pool!(self, p => sqlx::query("UPDATE store SET name = $1, city = $2, brand_id = $3 WHERE id = $4")
            .bind(name).bind(city).bind(brand_id).bind(id).execute(p).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound {
                entity: "store",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    pub async fn stores_of_group(&self, group_id: Id) -> Result<Vec<Store>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Store>(
            "SELECT id, group_id, code, name, city, brand_id, settings FROM store WHERE group_id = $1 ORDER BY code")
            .bind(group_id).fetch_all(p).await?))
    }

    /// Names of the customers among `ids` that lie in the scope (for task lists).
    pub async fn customer_names(&self, scope: &Scope, ids: &[Id]) -> Result<Vec<(Id, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT c.id, c.name FROM customer c WHERE c.id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_i64(*id);
        }
        sql.push(")");
        sql.customer_scope(scope, "c");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    // ---- audit log ---------------------------------------------------------------------

    pub async fn audit_entries(&self, f: &AuditFilter) -> Result<Page<AuditRow>> {
        let per_page = f.per_page.clamp(1, 500);
        let page = f.page.clamp(1, 100_000);
        let mut sql = Sql::new(
            "SELECT a.id, a.at, a.staff_id, s.login AS staff_login, s.name AS staff_name, a.action, a.entity, a.entity_id, a.detail \
             FROM audit_log a LEFT JOIN staff s ON s.id = a.staff_id WHERE 1 = 1",
        );
        if let Some(s) = f.staff_id {
            sql.push(" AND a.staff_id = ").bind_i64(s);
        }
        if let Some(a) = &f.action {
            sql.push(" AND a.action = ").bind_text(a.clone());
        }
        if let Some(e) = &f.entity {
            sql.push(" AND a.entity = ").bind_text(e.clone());
        }
        if let Some(id) = f.entity_id {
            sql.push(" AND a.entity_id = ").bind_i64(id);
        }
        if let Some(t) = f.from {
            sql.push(" AND a.at >= ");
            self.bind_ts(&mut sql, t);
        }
        if let Some(t) = f.until {
            sql.push(" AND a.at < ");
            self.bind_ts(&mut sql, t);
        }
        sql.push(&format!(
            " ORDER BY a.id DESC LIMIT {} OFFSET {}",
            per_page + 1,
            (page as u64 - 1) * per_page as u64
        ));
        let mut items: Vec<AuditRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, AuditRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// Distinct actions and entities seen in the audit log, for the filter pickers.
    pub async fn audit_vocabulary(&self) -> Result<(Vec<String>, Vec<String>)> {
        on_pool!(self, p => {
            let actions = sqlx::query_scalar::<_, String>("SELECT DISTINCT action FROM audit_log ORDER BY action").fetch_all(p).await?;
            let entities = sqlx::query_scalar::<_, String>("SELECT DISTINCT entity FROM audit_log ORDER BY entity").fetch_all(p).await?;
            Ok((actions, entities))
        })
    }

    // ---- dashboard aggregates ----------------------------------------------------------

    /// Customers per class in the scope.
    pub async fn customers_by_class(&self, scope: &Scope) -> Result<Vec<(String, i64)>> {
        let mut sql =
            Sql::new("SELECT c.class, COUNT(*) FROM customer c WHERE c.merged_into IS NULL");
        sql.customer_scope(scope, "c");
        sql.push(" GROUP BY c.class ORDER BY 2 DESC");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// Work orders opened per day since a date, in the scope (months are summed by the
    /// caller: grouping by day needs no date functions, which differ between the backends).
    pub async fn work_orders_per_day(
        &self,
        scope: &Scope,
        since: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>> {
        let mut sql = Sql::new(
            "SELECT w.opened_on, COUNT(*) FROM work_order w JOIN customer c ON c.id = w.customer_id WHERE w.opened_on >= ",
        );
        sql.bind_date(since);
        sql.customer_scope(scope, "c");
        sql.push(" GROUP BY w.opened_on ORDER BY 1");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, (NaiveDate, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// Leads created since a moment and how far they got.
    pub async fn lead_funnel(&self, scope: &Scope, since: DateTime<Utc>) -> Result<LeadFunnel> {
        let mut sql = Sql::new(
            "SELECT COUNT(*) AS leads, \
             COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM test_drive t WHERE t.lead_id = l.id) THEN 1 ELSE 0 END), 0) AS test_driven, \
             COALESCE(SUM(CASE WHEN l.status IN ('ordered', 'delivered') THEN 1 ELSE 0 END), 0) AS ordered, \
             COALESCE(SUM(CASE WHEN l.status = 'delivered' THEN 1 ELSE 0 END), 0) AS delivered \
             FROM lead l WHERE l.created_at >= ",
        );
        self.bind_ts(&mut sql, since);
        sql.lead_scope(scope, "l");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, LeadFunnel>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_one(p).await?))
    }

    /// Leads created since a moment, per source.
    pub async fn leads_by_source(
        &self,
        scope: &Scope,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>> {
        let mut sql = Sql::new("SELECT l.source, COUNT(*) FROM lead l WHERE l.created_at >= ");
        self.bind_ts(&mut sql, since);
        sql.lead_scope(scope, "l");
        sql.push(" GROUP BY l.source ORDER BY 2 DESC");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// Arrival times of showroom visits since a moment (at most `limit`), for the traffic
    /// heat map; hours and weekdays are taken in China time by the caller.
    pub async fn showroom_arrivals(
        &self,
        scope: &Scope,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DateTime<Utc>>> {
        let mut sql = Sql::new("SELECT v.arrived_at FROM showroom_visit v WHERE v.arrived_at >= ");
        self.bind_ts(&mut sql, since);
        store_scope(&mut sql, scope, "v", "consultant_id");
        sql.push(&format!(
            " ORDER BY v.arrived_at DESC LIMIT {}",
            limit.clamp(1, 100_000)
        ));
        on_pool!(self, p => Ok(bind_args!(sqlx::query_scalar::<_, DateTime<Utc>>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// Creates a store; the code is unique.
    pub async fn create_store_checked(
        &self,
        group_id: Id,
        code: &str,
        name: &str,
        city: &str,
        brand_id: Id,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO store (group_id, code, name, city, brand_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(group_id).bind(code).bind(name).bind(city).bind(brand_id).bind(at).fetch_one(p).await.on_unique("store code", code)?))
    }
}
