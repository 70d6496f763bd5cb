//! Lists of vehicles, leads, tasks and work orders with the names people read (owner,
//! customer, staff, store), within a scope, filtered, newest first. Used by the list API
//! and by exports, which walk them with `before_id` (keyset paging: a million rows cost a
//! million index steps, not a quadratic OFFSET).

use crate::model::{Id, Page};
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub page: u32,
    pub per_page: u32,
    /// Only rows with a smaller id (keyset paging; then `page` is ignored).
    pub before_id: Option<Id>,
}

#[derive(Debug, Clone, Default)]
pub struct VehicleFilter {
    pub store_id: Option<Id>,
    pub vin: Option<String>,
    pub plate: Option<String>,
    pub owner_id: Option<Id>,
    pub model_id: Option<Id>,
    /// Either insurance ends on or before this date.
    pub insurance_due_before: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VehicleRow {
    pub id: Id,
    pub vin: String,
    pub plate: Option<String>,
    pub brand_name: String,
    pub model_name: String,
    pub colour: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub delivery_date: Option<NaiveDate>,
    pub warranty_end_date: Option<NaiveDate>,
    pub compulsory_insurance_end: Option<NaiveDate>,
    pub commercial_insurance_end: Option<NaiveDate>,
    pub store_id: Id,
    pub store_name: String,
    pub owner_id: Id,
    pub owner_name: String,
    /// Full in the store; the service masks it.
    pub owner_mobile: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub store_id: Option<Id>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub assignee_id: Option<Id>,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TaskRow {
    pub id: Id,
    pub store_name: String,
    pub kind: String,
    pub status: String,
    pub due_on: NaiveDate,
    pub customer_id: Option<Id>,
    pub customer_name: Option<String>,
    pub customer_mobile: Option<String>,
    pub assignee_id: Option<Id>,
    pub assignee_name: Option<String>,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    pub store_id: Option<Id>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub customer_id: Option<Id>,
    pub vehicle_id: Option<Id>,
    pub opened_from: Option<NaiveDate>,
    pub opened_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WorkOrderRow {
    pub id: Id,
    pub number: String,
    pub store_name: String,
    pub kind: String,
    pub status: String,
    pub opened_on: NaiveDate,
    pub settled_on: Option<NaiveDate>,
    pub odometer_km: Option<i64>,
    pub total_fen: i64,
    pub paid_by: String,
    pub vin: String,
    pub plate: Option<String>,
    pub customer_id: Id,
    pub customer_name: String,
    pub customer_mobile: Option<String>,
    pub advisor_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LeadListFilter {
    pub store_id: Option<Id>,
    pub status: Option<String>,
    pub grade: Option<String>,
    pub owner_id: Option<Id>,
    pub customer_id: Option<Id>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LeadRow {
    pub id: Id,
    pub store_name: String,
    pub grade: String,
    pub status: String,
    pub source: String,
    pub source_detail: Option<String>,
    pub desired_model: Option<String>,
    pub next_follow_up: Option<NaiveDate>,
    pub customer_id: Id,
    pub customer_name: String,
    pub customer_mobile: Option<String>,
    pub owner_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// ` ORDER BY … LIMIT …` with keyset or offset paging; returns the page size.
fn paging(sql: &mut Sql, id_col: &str, p: &ListPage) -> u32 {
    let per_page = p.per_page.clamp(1, 1000);
    if let Some(b) = p.before_id {
        sql.push(&format!(" AND {id_col} < ")).bind_i64(b);
        sql.push(&format!(" ORDER BY {id_col} DESC LIMIT {}", per_page + 1));
    } else {
        let page = p.page.max(1) as u64;
        sql.push(&format!(
            " ORDER BY {id_col} DESC LIMIT {} OFFSET {}",
            per_page + 1,
            (page - 1) * per_page as u64
        ));
    }
    per_page
}

fn page_of<T>(mut items: Vec<T>, p: &ListPage, per_page: u32) -> Page<T> {
    let has_more = items.len() > per_page as usize;
    items.truncate(per_page as usize);
    Page {
        items,
        page: p.page.max(1),
        per_page,
        has_more,
    }
}

impl Db {
    /// Vehicles whose current owner lies in the scope.
    pub async fn list_vehicles(
        &self,
        scope: &Scope,
        f: &VehicleFilter,
        p: &ListPage,
    ) -> Result<Page<VehicleRow>> {
        let mut sql = Sql::new(
            "SELECT v.id, v.vin, v.plate, b.name AS brand_name, m.name AS model_name, v.colour, v.purchase_date, v.delivery_date, \
             v.warranty_end_date, v.compulsory_insurance_end, v.commercial_insurance_end, v.store_id, s.name AS store_name, \
             c.id AS owner_id, c.name AS owner_name, c.mobile AS owner_mobile \
             FROM vehicle v JOIN vehicle_ownership o ON o.vehicle_id = v.id AND o.to_date IS NULL JOIN customer c ON c.id = o.customer_id \
             JOIN store s ON s.id = v.store_id JOIN vehicle_model m ON m.id = v.model_id JOIN series se ON se.id = m.series_id \
             JOIN brand b ON b.id = se.brand_id WHERE 1 = 1",
        );
        sql.customer_scope(scope, "c");
        if let Some(s) = f.store_id {
            sql.push(" AND v.store_id = ").bind_i64(s);
        }
        if let Some(v) = &f.vin {
            sql.push(" AND v.vin = ").bind_text(v.clone());
        }
        if let Some(v) = &f.plate {
            sql.push(" AND v.plate = ").bind_text(v.clone());
        }
        if let Some(o) = f.owner_id {
            sql.push(" AND c.id = ").bind_i64(o);
        }
        if let Some(m) = f.model_id {
            sql.push(" AND v.model_id = ").bind_i64(m);
        }
        if let Some(d) = f.insurance_due_before {
            sql.push(" AND (v.compulsory_insurance_end <= ")
                .bind_date(d);
            sql.push(" OR v.commercial_insurance_end <= ")
                .bind_date(d)
                .push(")");
        }
        let per_page = paging(&mut sql, "v.id", p);
        let items: Vec<VehicleRow> = on_pool!(self, pool => bind_args!(sqlx::query_as::<_, VehicleRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(pool).await?);
        Ok(page_of(items, p, per_page))
    }

    /// Tasks in the scope: the group's or the store's; a consultant's own.
    pub async fn list_tasks(
        &self,
        scope: &Scope,
        f: &TaskFilter,
        p: &ListPage,
    ) -> Result<Page<TaskRow>> {
        let mut sql = Sql::new(
            "SELECT t.id, s.name AS store_name, t.kind, t.status, t.due_on, t.customer_id, c.name AS customer_name, c.mobile AS customer_mobile, \
             t.assignee_id, st.name AS assignee_name, t.outcome, t.note, t.created_at \
             FROM task t JOIN store s ON s.id = t.store_id LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN staff st ON st.id = t.assignee_id WHERE 1 = 1",
        );
        match *scope {
            Scope::Group { group_id } => {
                sql.push(" AND s.group_id = ").bind_i64(group_id);
            }
            Scope::Store { store_id } => {
                sql.push(" AND t.store_id = ").bind_i64(store_id);
            }
            Scope::Own { store_id, staff_id } => {
                sql.push(" AND t.store_id = ").bind_i64(store_id);
                sql.push(" AND t.assignee_id = ").bind_i64(staff_id);
            }
        }
        if let Some(s) = f.store_id {
            sql.push(" AND t.store_id = ").bind_i64(s);
        }
        if let Some(s) = &f.status {
            sql.push(" AND t.status = ").bind_text(s.clone());
        }
        if let Some(k) = &f.kind {
            sql.push(" AND t.kind = ").bind_text(k.clone());
        }
        if let Some(a) = f.assignee_id {
            sql.push(" AND t.assignee_id = ").bind_i64(a);
        }
        if let Some(d) = f.due_from {
            sql.push(" AND t.due_on >= ").bind_date(d);
        }
        if let Some(d) = f.due_to {
            sql.push(" AND t.due_on <= ").bind_date(d);
        }
        let per_page = paging(&mut sql, "t.id", p);
        let items: Vec<TaskRow> = on_pool!(self, pool => bind_args!(sqlx::query_as::<_, TaskRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(pool).await?);
        Ok(page_of(items, p, per_page))
    }

    /// Work orders whose customer lies in the scope.
    pub async fn list_work_orders(
        &self,
        scope: &Scope,
        f: &WorkOrderFilter,
        p: &ListPage,
    ) -> Result<Page<WorkOrderRow>> {
        let mut sql = Sql::new(
            "SELECT w.id, w.number, s.name AS store_name, w.kind, w.status, w.opened_on, w.settled_on, w.odometer_km, w.total_fen, w.paid_by, \
             v.vin, v.plate, c.id AS customer_id, c.name AS customer_name, c.mobile AS customer_mobile, st.name AS advisor_name \
             FROM work_order w JOIN customer c ON c.id = w.customer_id JOIN vehicle v ON v.id = w.vehicle_id JOIN store s ON s.id = w.store_id \
             LEFT JOIN staff st ON st.id = w.advisor_id WHERE 1 = 1",
        );
        sql.customer_scope(scope, "c");
        if let Some(s) = f.store_id {
            sql.push(" AND w.store_id = ").bind_i64(s);
        }
        if let Some(k) = &f.kind {
            sql.push(" AND w.kind = ").bind_text(k.clone());
        }
        if let Some(k) = &f.status {
            sql.push(" AND w.status = ").bind_text(k.clone());
        }
        if let Some(c) = f.customer_id {
            sql.push(" AND w.customer_id = ").bind_i64(c);
        }
        if let Some(v) = f.vehicle_id {
            sql.push(" AND w.vehicle_id = ").bind_i64(v);
        }
        if let Some(d) = f.opened_from {
            sql.push(" AND w.opened_on >= ").bind_date(d);
        }
        if let Some(d) = f.opened_to {
            sql.push(" AND w.opened_on <= ").bind_date(d);
        }
        let per_page = paging(&mut sql, "w.id", p);
        let items: Vec<WorkOrderRow> = on_pool!(self, pool => bind_args!(sqlx::query_as::<_, WorkOrderRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(pool).await?);
        Ok(page_of(items, p, per_page))
    }

    /// Leads in the scope with their customer and owner names.
    pub async fn list_lead_rows(
        &self,
        scope: &Scope,
        f: &LeadListFilter,
        p: &ListPage,
    ) -> Result<Page<LeadRow>> {
        let mut sql = Sql::new(
            "SELECT l.id, s.name AS store_name, l.grade, l.status, l.source, l.source_detail, m.name AS desired_model, l.next_follow_up, \
             l.customer_id, c.name AS customer_name, c.mobile AS customer_mobile, st.name AS owner_name, l.created_at \
             FROM lead l JOIN customer c ON c.id = l.customer_id JOIN store s ON s.id = l.store_id \
             LEFT JOIN vehicle_model m ON m.id = l.desired_model_id LEFT JOIN staff st ON st.id = l.owner_id WHERE 1 = 1",
        );
        sql.lead_scope(scope, "l");
        if let Some(s) = f.store_id {
            sql.push(" AND l.store_id = ").bind_i64(s);
        }
        if let Some(s) = &f.status {
            sql.push(" AND l.status = ").bind_text(s.clone());
        }
        if let Some(g) = &f.grade {
            sql.push(" AND l.grade = ").bind_text(g.clone());
        }
        if let Some(o) = f.owner_id {
            sql.push(" AND l.owner_id = ").bind_i64(o);
        }
        if let Some(c) = f.customer_id {
            sql.push(" AND l.customer_id = ").bind_i64(c);
        }
        let per_page = paging(&mut sql, "l.id", p);
        let items: Vec<LeadRow> = on_pool!(self, pool => bind_args!(sqlx::query_as::<_, LeadRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(pool).await?);
        Ok(page_of(items, p, per_page))
    }
}
