//! Customers: create, read, replace, search and list within a scope; consultant
//! assignments with history; derived class; name fragments for Chinese substring search.

use crate::model::*;
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, Pool, Result, StoreError, on_pool};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

/// What the user typed into the search box, already recognised by the service layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchKey {
    Mobile(String),
    Plate(String),
    Vin(String),
    Name(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerSort {
    #[default]
    Newest,
    Name,
    RecentlyUpdated,
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub search: Option<SearchKey>,
    pub store_id: Option<Id>,
    pub class: Option<String>,
    pub kind: Option<String>,
    pub consultant_id: Option<Id>,
    pub sort: CustomerSort,
    pub page: u32,
    pub per_page: u32,
}

/// Single characters and adjacent pairs of a name, lower-cased, without spaces: any
/// fragment of one character is a gram, any longer fragment starts with one.
pub fn name_grams(name: &str) -> Vec<String> {
    let chars: Vec<char> = name
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let mut grams: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    grams.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
    grams.sort();
    grams.dedup();
    grams
}

/// Items as a PostgreSQL array literal, `{"张","张伟"}` (every item quoted, so commas,
/// braces and quotes in a name stay inside their item).
pub(crate) fn pg_text_array(items: &[String]) -> String {
    let mut out = String::with_capacity(items.iter().map(|s| s.len() + 3).sum::<usize>() + 2);
    out.push('{');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// Where each database keeps the name fragments: rows of `customer_name_gram` (a B-tree on
/// (gram, customer)) on SQLite; on PostgreSQL the `customer.name_grams` array under a GIN
/// index, whose bulk insertion costs a fifth of 3.7 fragment rows per customer with two
/// B-trees (migration 22). Every writer of a name goes through [`NameGrams`] (bulk imports
/// and the demo put the PostgreSQL array into the customer row itself).
pub(crate) trait NameGrams {
    /// Sets the fragments of these customers to those of their names. `fresh`: customers
    /// created in this transaction, which have none to replace yet.
    fn write_name_grams(
        &mut self,
        names: &[(Id, &str)],
        fresh: bool,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The fragments of a name as the value of `customer.name_grams` in bulk rows (PostgreSQL).
pub fn name_grams_value(name: &str) -> crate::bulk::Val {
    crate::bulk::Val::Text(pg_text_array(&name_grams(name)))
}

impl Db {
    /// The customer column that holds the name fragments in bulk rows (PostgreSQL), or
    /// `None` where they are rows of `customer_name_gram` (SQLite).
    pub fn name_grams_column(&self) -> Option<&'static str> {
        matches!(self.pool, Pool::Postgres(_)).then_some("name_grams")
    }
}

impl NameGrams for sqlx::SqliteConnection {
    async fn write_name_grams(&mut self, names: &[(Id, &str)], fresh: bool) -> Result<()> {
        use crate::bulk::BulkConn;
        if !fresh {
            for chunk in names.chunks(1000) {
                let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
                let sql = format!(
                    "DELETE FROM customer_name_gram WHERE customer_id IN ({})",
                    ids.join(",")
                );
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut *self)
                    .await?;
            }
        }
        self.write_rows(&name_gram_rows(names)).await
    }
}

/// The fragments of these names as rows of `customer_name_gram` (SQLite), in key order:
/// each insert lands next to the previous one in the B-tree.
pub(crate) fn name_gram_rows(names: &[(Id, &str)]) -> crate::bulk::TableRows {
    let mut grams: Vec<(String, Id)> = names
        .iter()
        .flat_map(|(id, name)| name_grams(name).into_iter().map(move |g| (g, *id)))
        .collect();
    grams.sort_unstable();
    let mut rows = crate::bulk::TableRows::new("customer_name_gram", &["gram", "customer_id"]);
    for (g, id) in grams {
        rows.push([g.into(), id.into()]);
    }
    rows
}

impl NameGrams for sqlx::PgConnection {
    async fn write_name_grams(&mut self, names: &[(Id, &str)], _fresh: bool) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        let ids: Vec<Id> = names.iter().map(|(id, _)| *id).collect();
        let arrays: Vec<String> = names
            .iter()
            .map(|(_, name)| pg_text_array(&name_grams(name)))
            .collect();
        sqlx::query(
            "UPDATE customer AS c SET name_grams = u.g::text[] FROM UNNEST($1::bigint[], $2::text[]) AS u(k, g) WHERE c.id = u.k",
        )
        .bind(ids)
        .bind(arrays)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}

pub(crate) const CUSTOMER_COLUMNS: &str = "store_id, kind, name, title, gender, id_type, id_number, birthday, lunar_birthday, mobile, other_phones, email, province_code, city_code, district_code, address, industry, occupation, marital_status, income_band, education, interests, source, vip, key_account";

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

const SUMMARY_SELECT: &str = "SELECT c.id, c.store_id, s.name AS store_name, c.kind, c.name, c.mobile, c.class, \
     c.consultant_id, st.name AS consultant_name, c.updated_at \
     FROM customer c JOIN store s ON s.id = c.store_id LEFT JOIN staff st ON st.id = c.consultant_id";

impl Db {
    /// Creates a customer (with its name fragments and, if given, the first consultant
    /// assignment) in one transaction.
    pub async fn create_customer(
        &self,
        f: &CustomerFields,
        consultant_id: Option<Id>,
        class: (&str, &str),
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let sql = format!(
                "INSERT INTO customer ({CUSTOMER_COLUMNS}, consultant_id, class, class_reason, created_at, updated_at) VALUES \
                 ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30) RETURNING id"
            );
            let q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
            let id = bind_customer_fields!(q, f)
                .bind(consultant_id)
                .bind(class.0)
                .bind(class.1)
                .bind(at)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            tx.write_name_grams(&[(id, &f.name)], true).await?;
            if let Some(staff) = consultant_id {
                sqlx::query("INSERT INTO customer_assignment (customer_id, staff_id, assigned_at, reason) VALUES ($1, $2, $3, 'created')")
                    .bind(id).bind(staff).bind(at).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Replaces every profile field of a customer; the name fragments follow the name.
    pub async fn update_customer(
        &self,
        id: Id,
        f: &CustomerFields,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let assignments: Vec<String> = CUSTOMER_COLUMNS.split(", ").enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
            let sql = format!("UPDATE customer SET {}, updated_at = $26 WHERE id = $27", assignments.join(", "));
            let q = sqlx::query(AssertSqlSafe(sql));
            let done = bind_customer_fields!(q, f).bind(at).bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { entity: "customer", id: id.to_string() });
            }
            tx.write_name_grams(&[(id, &f.name)], false).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// A customer if it exists and lies in the scope.
    pub async fn customer(&self, scope: &Scope, id: Id) -> Result<Customer> {
        let mut sql = Sql::new("SELECT * FROM customer c WHERE c.id = ");
        sql.bind_i64(id).customer_scope(scope, "c");
        let row: Option<Customer> = on_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, Customer>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?
        });
        row.ok_or(StoreError::NotFound {
            entity: "customer",
            id: id.to_string(),
        })
    }

    /// A customer regardless of scope, for jobs and internal rules (never for display).
    pub async fn customer_unscoped(&self, id: Id) -> Result<Customer> {
        let row: Option<Customer> = on_pool!(self, p => sqlx::query_as::<_, Customer>("SELECT * FROM customer WHERE id = $1").bind(id).fetch_optional(p).await?);
        row.ok_or(StoreError::NotFound {
            entity: "customer",
            id: id.to_string(),
        })
    }

    /// The facts the class rules need beyond the customer's own row.
    pub async fn customer_activity(&self, id: Id) -> Result<CustomerActivity> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, CustomerActivity>(
            "SELECT (SELECT MAX(opened_on) FROM work_order WHERE customer_id = $1 AND kind <> 'pdi') AS last_service_on, \
             (SELECT COUNT(*) FROM lead WHERE customer_id = $1 AND status IN ('open', 'ordered', 'defeat_pending')) AS open_leads, \
             (SELECT COUNT(*) FROM lead WHERE customer_id = $1 AND status = 'defeated') AS defeated_leads, \
             (SELECT COUNT(*) FROM contact WHERE customer_id = $1) + (SELECT COUNT(*) FROM work_order WHERE customer_id = $1) \
               + (SELECT COUNT(*) FROM showroom_visit WHERE customer_id = $1) AS interactions")
            .bind(id).fetch_one(p).await?))
    }

    /// A spread of existing customers with a current vehicle (for benchmarks): id, name,
    /// mobile, plate, VIN.
    pub async fn sample_customers(
        &self,
        n: u32,
    ) -> Result<Vec<(Id, String, Option<String>, Option<String>, String)>> {
        let max = self.max_id("customer").await?;
        let step = (max / n.max(1) as i64).max(1);
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT c.id, c.name, c.mobile, v.plate, v.vin FROM customer c \
             JOIN vehicle_ownership o ON o.customer_id = c.id AND o.to_date IS NULL JOIN vehicle v ON v.id = o.vehicle_id \
             WHERE c.id IN (SELECT id FROM customer WHERE id % $1 = 0) AND v.plate IS NOT NULL ORDER BY c.id LIMIT $2")
            .bind(step).bind(n as i64).fetch_all(p).await?))
    }

    /// One page of customers in the scope, filtered, searched and sorted.
    pub async fn list_customers(
        &self,
        scope: &Scope,
        f: &CustomerFilter,
    ) -> Result<Page<CustomerSummary>> {
        let per_page = f.per_page.clamp(1, 200);
        let page = f.page.max(1);
        let mut sql = Sql::new(SUMMARY_SELECT);
        let mut order_by_gram = false;
        match &f.search {
            Some(SearchKey::Name(fragment)) => {
                let frag: String = fragment
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .flat_map(char::to_lowercase)
                    .collect();
                let gram: String = frag.chars().take(2).collect();
                if matches!(self.pool, Pool::Postgres(_)) {
                    // The GIN index on the fragments, or for a common fragment a walk
                    // down the primary key stopping at the page size: the planner knows
                    // how common each fragment is from the array's statistics.
                    // Every pair of the fragment must be there (the LIKE below then only
                    // checks their order).
                    let chars: Vec<char> = frag.chars().collect();
                    let mut wanted: Vec<String> = if chars.len() < 2 {
                        vec![gram]
                    } else {
                        chars.windows(2).map(|w| w.iter().collect()).collect()
                    };
                    wanted.sort();
                    wanted.dedup();
                    sql.push(" WHERE c.name_grams @> ARRAY[");
                    for (i, g) in wanted.into_iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.bind_text(g);
                    }
                    sql.push("]::text[] AND c.merged_into IS NULL");
                } else {
                    // `+ 0` keeps the join a nested loop driven by the gram index in id
                    // order (stopping at the page size).
                    sql.push(
                        " JOIN customer_name_gram g ON c.id = g.customer_id + 0 AND g.gram = ",
                    );
                    sql.bind_text(gram);
                    sql.push(" WHERE c.merged_into IS NULL");
                    order_by_gram = true;
                }
                if frag.chars().count() > 2 {
                    sql.push(" AND LOWER(c.name) LIKE ");
                    let mut pattern = frag.replace('%', "").replace('_', "");
                    if matches!(self.pool, Pool::Postgres(_)) {
                        // PostgreSQL's LIKE escapes with a backslash (SQLite's has none).
                        pattern = pattern.replace('\\', "\\\\");
                    }
                    sql.bind_text(format!("%{pattern}%"));
                }
            }
            Some(SearchKey::Mobile(m)) => {
                sql.push(" WHERE c.merged_into IS NULL AND c.mobile = ");
                sql.bind_text(m.clone());
            }
            Some(SearchKey::Plate(v)) | Some(SearchKey::Vin(v)) => {
                let col = if matches!(f.search, Some(SearchKey::Plate(_))) {
                    "plate"
                } else {
                    "vin"
                };
                sql.push(&format!(
                    " WHERE c.merged_into IS NULL AND c.id IN (SELECT o.customer_id FROM vehicle v JOIN vehicle_ownership o \
                     ON o.vehicle_id = v.id AND o.to_date IS NULL WHERE v.{col} = "
                ));
                sql.bind_text(v.clone()).push(")");
            }
            None => {
                sql.push(" WHERE c.merged_into IS NULL");
            }
        }
        sql.customer_scope(scope, "c");
        if let Some(s) = f.store_id {
            sql.push(" AND c.store_id = ").bind_i64(s);
        }
        if let Some(class) = &f.class {
            sql.push(" AND c.class = ").bind_text(class.clone());
        }
        if let Some(kind) = &f.kind {
            sql.push(" AND c.kind = ").bind_text(kind.clone());
        }
        if let Some(cons) = f.consultant_id {
            sql.push(" AND c.consultant_id = ").bind_i64(cons);
        }
        sql.push(match (f.sort, order_by_gram) {
            (CustomerSort::Newest, true) => " ORDER BY g.customer_id DESC",
            (CustomerSort::Newest, false) => " ORDER BY c.id DESC",
            (CustomerSort::Name, _) => " ORDER BY c.name, c.id",
            (CustomerSort::RecentlyUpdated, _) => " ORDER BY c.updated_at DESC, c.id DESC",
        });
        sql.push(&format!(
            " LIMIT {} OFFSET {}",
            per_page + 1,
            (page as u64 - 1) * per_page as u64
        ));
        let mut items: Vec<CustomerSummary> = on_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, CustomerSummary>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?
        });
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// Hands a customer to another consultant, closing the current assignment.
    pub async fn assign_consultant(
        &self,
        customer_id: Id,
        staff_id: Id,
        by: Option<Id>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let done = sqlx::query("UPDATE customer SET consultant_id = $1, updated_at = $2 WHERE id = $3")
                .bind(staff_id).bind(at).bind(customer_id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { entity: "customer", id: customer_id.to_string() });
            }
            sqlx::query("UPDATE customer_assignment SET ended_at = $1 WHERE customer_id = $2 AND ended_at IS NULL")
                .bind(at).bind(customer_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO customer_assignment (customer_id, staff_id, assigned_at, assigned_by, reason) VALUES ($1, $2, $3, $4, $5)")
                .bind(customer_id).bind(staff_id).bind(at).bind(by).bind(reason).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn assignments(&self, customer_id: Id) -> Result<Vec<Assignment>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Assignment>(
            "SELECT a.id, a.customer_id, a.staff_id, s.name AS staff_name, a.assigned_at, a.ended_at, a.reason \
             FROM customer_assignment a JOIN staff s ON s.id = a.staff_id WHERE a.customer_id = $1 ORDER BY a.assigned_at, a.id")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn set_customer_class(
        &self,
        customer_id: Id,
        class: &str,
        reason: &str,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE customer SET class = $1, class_reason = $2 WHERE id = $3")
                .bind(class).bind(reason).bind(customer_id).execute(p).await?;
            Ok(())
        })
    }

    pub async fn company_contacts(&self, customer_id: Id) -> Result<Vec<CompanyContact>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, CompanyContact>(
            "SELECT id, customer_id, name, position, mobile, email, note FROM company_contact WHERE customer_id = $1 ORDER BY id")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn add_company_contact(
        &self,
        customer_id: Id,
        name: &str,
        position: Option<&str>,
        mobile: Option<&str>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO company_contact (customer_id, name, position, mobile) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(customer_id).bind(name).bind(position).bind(mobile).fetch_one(p).await?))
    }

    /// Relations in both directions (household members, referrals).
    pub async fn relations(&self, customer_id: Id) -> Result<Vec<CustomerRelation>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, CustomerRelation>(
            "SELECT r.id, r.customer_id, r.related_customer_id, c.name AS related_name, r.kind, r.note \
             FROM customer_relation r JOIN customer c ON c.id = r.related_customer_id WHERE r.customer_id = $1 \
             UNION ALL \
             SELECT r.id, r.related_customer_id AS customer_id, r.customer_id AS related_customer_id, c.name AS related_name, r.kind, r.note \
             FROM customer_relation r JOIN customer c ON c.id = r.customer_id WHERE r.related_customer_id = $1 ORDER BY 1")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn add_relation(
        &self,
        customer_id: Id,
        related: Id,
        kind: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO customer_relation (customer_id, related_customer_id, kind, note, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(customer_id).bind(related).bind(kind).bind(note).bind(at).fetch_one(p).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::{name_grams, pg_text_array};

    #[test]
    fn array_literals_keep_every_item_whole() {
        let items: Vec<String> = ["张", "a,b", "{x}", "say \"hi\"", "a\\b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            pg_text_array(&items),
            r#"{"张","a,b","{x}","say \"hi\"","a\\b"}"#
        );
        assert_eq!(pg_text_array(&[]), "{}");
    }

    #[test]
    fn grams_cover_every_fragment_start() {
        assert_eq!(
            name_grams("张 伟明"),
            vec!["伟", "伟明", "张", "张伟", "明"]
        );
        assert_eq!(
            name_grams("Li Na"),
            vec!["a", "i", "in", "l", "li", "n", "na"]
        );
    }
}
