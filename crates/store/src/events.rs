//! Everything that happens to a customer: leads, contacts, tasks, sales orders, work
//! orders with lines, insurance policies, complaints, survey answers, consents, and the
//! audit log.

use crate::model::*;
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, Result, ResultExt, StoreError, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub status: Option<String>,
    pub grade: Option<String>,
    pub owner_id: Option<Id>,
    pub customer_id: Option<Id>,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone)]
pub struct NewContact<'a> {
    pub store_id: Id,
    pub customer_id: Id,
    pub lead_id: Option<Id>,
    pub staff_id: Option<Id>,
    pub channel: &'a str,
    pub direction: &'a str,
    pub purpose: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub outcome: &'a str,
    pub note: Option<&'a str>,
    pub grade_before: Option<&'a str>,
    pub grade_after: Option<&'a str>,
    pub next_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub store_id: Id,
    pub kind: &'a str,
    pub customer_id: Option<Id>,
    pub lead_id: Option<Id>,
    pub vehicle_id: Option<Id>,
    pub assignee_id: Option<Id>,
    pub role: Option<&'a str>,
    pub due_on: NaiveDate,
    pub note: Option<&'a str>,
    /// Generated tasks carry a key so that generating twice creates nothing new.
    pub dedupe_key: Option<&'a str>,
}

impl Db {
    // ---- work orders -------------------------------------------------------------------

    /// Stores a work order and its lines in one transaction.
    pub async fn create_work_order(
        &self,
        f: &WorkOrderFields,
        lines: &[WorkOrderLine],
    ) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO work_order (store_id, number, vehicle_id, customer_id, advisor_id, kind, status, opened_on, settled_on, odometer_km, total_fen, paid_by) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id")
                .bind(f.store_id).bind(&f.number).bind(f.vehicle_id).bind(f.customer_id).bind(f.advisor_id).bind(&f.kind)
                .bind(&f.status).bind(f.opened_on).bind(f.settled_on).bind(f.odometer_km).bind(f.total_fen).bind(&f.paid_by)
                .fetch_one(&mut *tx).await.on_unique("number", &f.number)?;
            for l in lines {
                sqlx::query("INSERT INTO work_order_line (work_order_id, line_kind, code, name, quantity, amount_fen, cost_fen) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                    .bind(id).bind(&l.line_kind).bind(&l.code).bind(&l.name).bind(l.quantity).bind(l.amount_fen).bind(l.cost_fen)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// A work order with its lines, if its customer lies in the scope.
    pub async fn work_order(&self, scope: &Scope, id: Id) -> Result<WorkOrder> {
        let mut sql = Sql::new(
            "SELECT w.* FROM work_order w JOIN customer c ON c.id = w.customer_id WHERE w.id = ",
        );
        sql.bind_i64(id).customer_scope(scope, "c");
        let wo: Option<WorkOrder> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, WorkOrder>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?);
        let mut wo = wo.ok_or(StoreError::NotFound {
            entity: "work order",
            id: id.to_string(),
        })?;
        wo.lines = on_pool!(self, p => sqlx::query_as::<_, WorkOrderLine>(
            "SELECT line_kind, code, name, quantity, amount_fen, cost_fen FROM work_order_line WHERE work_order_id = $1 ORDER BY id")
            .bind(id).fetch_all(p).await?);
        Ok(wo)
    }

    /// A customer's work orders with their lines, newest first.
    pub async fn customer_work_orders(&self, customer_id: Id) -> Result<Vec<WorkOrder>> {
        let mut orders: Vec<WorkOrder> = on_pool!(self, p => sqlx::query_as::<_, WorkOrder>(
            "SELECT * FROM work_order WHERE customer_id = $1 ORDER BY opened_on DESC, id DESC").bind(customer_id).fetch_all(p).await?);
        #[derive(sqlx::FromRow)]
        struct LineOf {
            work_order_id: i64,
            #[sqlx(flatten)]
            line: WorkOrderLine,
        }
        let lines: Vec<LineOf> = on_pool!(self, p => sqlx::query_as::<_, LineOf>(
            "SELECT l.work_order_id, l.line_kind, l.code, l.name, l.quantity, l.amount_fen, l.cost_fen FROM work_order_line l \
             JOIN work_order w ON w.id = l.work_order_id WHERE w.customer_id = $1 ORDER BY l.id").bind(customer_id).fetch_all(p).await?);
        for l in lines {
            if let Some(o) = orders.iter_mut().find(|o| o.id == l.work_order_id) {
                o.lines.push(l.line);
            }
        }
        Ok(orders)
    }

    // ---- leads -------------------------------------------------------------------------

    pub async fn create_lead(&self, f: &LeadFields, at: DateTime<Utc>) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO lead (store_id, customer_id, grade, source, source_detail, desired_model_id, status, owner_id, next_follow_up, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10) RETURNING id")
            .bind(f.store_id).bind(f.customer_id).bind(&f.grade).bind(&f.source).bind(&f.source_detail).bind(f.desired_model_id)
            .bind(&f.status).bind(f.owner_id).bind(f.next_follow_up).bind(at).fetch_one(p).await?))
    }

    pub async fn lead(&self, scope: &Scope, id: Id) -> Result<Lead> {
        let mut sql = Sql::new("SELECT l.* FROM lead l WHERE l.id = ");
        sql.bind_i64(id).lead_scope(scope, "l");
        let row: Option<Lead> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, Lead>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?);
        row.ok_or(StoreError::NotFound {
            entity: "lead",
            id: id.to_string(),
        })
    }

    pub async fn list_leads(&self, scope: &Scope, f: &LeadFilter) -> Result<Page<Lead>> {
        let per_page = f.per_page.clamp(1, 200);
        let page = f.page.max(1);
        let mut sql = Sql::new("SELECT l.* FROM lead l WHERE 1 = 1");
        sql.lead_scope(scope, "l");
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
        sql.push(&format!(
            " ORDER BY l.id DESC LIMIT {} OFFSET {}",
            per_page + 1,
            (page as u64 - 1) * per_page as u64
        ));
        let mut items: Vec<Lead> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, Lead>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    pub async fn customer_leads(&self, customer_id: Id) -> Result<Vec<Lead>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Lead>("SELECT * FROM lead WHERE customer_id = $1 ORDER BY id DESC")
            .bind(customer_id).fetch_all(p).await?))
    }

    /// Replaces the mutable fields of a lead (grade, status, owner, next follow-up, model).
    pub async fn update_lead(&self, id: Id, f: &LeadFields, at: DateTime<Utc>) -> Result<()> {
        let closed = !matches!(f.status.as_str(), "open" | "ordered" | "defeat_pending");
        let done = on_pool!(self, p => sqlx::query(
            "UPDATE lead SET grade = $1, source = $2, source_detail = $3, desired_model_id = $4, status = $5, owner_id = $6, \
             next_follow_up = $7, updated_at = $8, closed_at = CASE WHEN $9 THEN COALESCE(closed_at, $8) ELSE NULL END WHERE id = $10")
            .bind(&f.grade).bind(&f.source).bind(&f.source_detail).bind(f.desired_model_id).bind(&f.status).bind(f.owner_id)
            .bind(f.next_follow_up).bind(at).bind(closed).bind(id).execute(p).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound {
                entity: "lead",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    pub async fn lead_test_drives(&self, lead_id: Id) -> Result<Vec<TestDrive>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, TestDrive>("SELECT * FROM test_drive WHERE lead_id = $1 ORDER BY booked_at")
            .bind(lead_id).fetch_all(p).await?))
    }

    pub async fn lead_defeat_requests(&self, lead_id: Id) -> Result<Vec<DefeatRequest>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, DefeatRequest>("SELECT * FROM defeat_request WHERE lead_id = $1 ORDER BY requested_at")
            .bind(lead_id).fetch_all(p).await?))
    }

    // ---- contacts and tasks ------------------------------------------------------------

    pub async fn create_contact(&self, c: &NewContact<'_>) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO contact (store_id, customer_id, lead_id, staff_id, channel, direction, purpose, occurred_at, outcome, note, grade_before, grade_after, next_date) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id")
            .bind(c.store_id).bind(c.customer_id).bind(c.lead_id).bind(c.staff_id).bind(c.channel).bind(c.direction).bind(c.purpose)
            .bind(c.occurred_at).bind(c.outcome).bind(c.note).bind(c.grade_before).bind(c.grade_after).bind(c.next_date)
            .fetch_one(p).await?))
    }

    pub async fn customer_contacts(&self, customer_id: Id) -> Result<Vec<Contact>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Contact>("SELECT * FROM contact WHERE customer_id = $1 ORDER BY occurred_at DESC, id DESC")
            .bind(customer_id).fetch_all(p).await?))
    }

    /// Creates a task; with a dedupe key already used, creates nothing and returns None.
    pub async fn create_task(&self, t: &NewTask<'_>, at: DateTime<Utc>) -> Result<Option<Id>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO task (store_id, kind, customer_id, lead_id, vehicle_id, assignee_id, role, due_on, status, note, dedupe_key, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'open',$9,$10,$11) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id")
            .bind(t.store_id).bind(t.kind).bind(t.customer_id).bind(t.lead_id).bind(t.vehicle_id).bind(t.assignee_id).bind(t.role)
            .bind(t.due_on).bind(t.note).bind(t.dedupe_key).bind(at).fetch_optional(p).await?))
    }

    pub async fn customer_tasks(&self, customer_id: Id) -> Result<Vec<Task>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Task>(
            "SELECT id, store_id, kind, customer_id, lead_id, vehicle_id, assignee_id, role, due_on, status, outcome, note, created_at, done_at \
             FROM task WHERE customer_id = $1 ORDER BY due_on DESC, id DESC").bind(customer_id).fetch_all(p).await?))
    }

    /// Open tasks of a staff member due on or before a date, oldest first.
    pub async fn due_tasks(
        &self,
        assignee_id: Id,
        until: NaiveDate,
        limit: u32,
    ) -> Result<Vec<Task>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Task>(
            "SELECT id, store_id, kind, customer_id, lead_id, vehicle_id, assignee_id, role, due_on, status, outcome, note, created_at, done_at \
             FROM task WHERE assignee_id = $1 AND status = 'open' AND due_on <= $2 ORDER BY due_on, id LIMIT $3")
            .bind(assignee_id).bind(until).bind(limit as i64).fetch_all(p).await?))
    }

    pub async fn complete_task(&self, id: Id, outcome: &str, at: DateTime<Utc>) -> Result<()> {
        let done = on_pool!(self, p => sqlx::query("UPDATE task SET status = 'done', outcome = $1, done_at = $2 WHERE id = $3 AND status = 'open'")
            .bind(outcome).bind(at).bind(id).execute(p).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound {
                entity: "open task",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    // ---- sales, insurance, complaints, surveys, consent ---------------------------------

    pub async fn customer_sales_orders(&self, customer_id: Id) -> Result<Vec<SalesOrder>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, SalesOrder>("SELECT * FROM sales_order WHERE customer_id = $1 ORDER BY ordered_on DESC, id DESC")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn customer_policies(&self, customer_id: Id) -> Result<Vec<InsurancePolicy>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, InsurancePolicy>("SELECT * FROM insurance_policy WHERE customer_id = $1 ORDER BY end_date DESC, id DESC")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn customer_complaints(&self, customer_id: Id) -> Result<Vec<Complaint>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Complaint>("SELECT * FROM complaint WHERE customer_id = $1 ORDER BY opened_at DESC, id DESC")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn customer_surveys(&self, customer_id: Id) -> Result<Vec<SurveyResponse>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, SurveyResponse>("SELECT * FROM survey_response WHERE customer_id = $1 ORDER BY answered_on DESC, id DESC")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn customer_consents(&self, customer_id: Id) -> Result<Vec<Consent>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Consent>(
            "SELECT id, customer_id, purpose, channel, granted_at, notice_version, withdrawn_at FROM consent WHERE customer_id = $1 ORDER BY granted_at, id")
            .bind(customer_id).fetch_all(p).await?))
    }

    pub async fn record_consent(
        &self,
        customer_id: Id,
        purpose: &str,
        channel: &str,
        notice_version: &str,
        by: Option<Id>,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO consent (customer_id, purpose, channel, granted_at, notice_version, recorded_by) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id")
            .bind(customer_id).bind(purpose).bind(channel).bind(at).bind(notice_version).bind(by).fetch_one(p).await?))
    }

    pub async fn withdraw_consent(
        &self,
        customer_id: Id,
        purpose: &str,
        channel: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        on_pool!(self, p => Ok(sqlx::query("UPDATE consent SET withdrawn_at = $1 WHERE customer_id = $2 AND purpose = $3 AND channel = $4 AND withdrawn_at IS NULL")
            .bind(at).bind(customer_id).bind(purpose).bind(channel).execute(p).await?.rows_affected()))
    }

    // ---- audit -------------------------------------------------------------------------

    pub async fn audit(
        &self,
        staff_id: Option<Id>,
        action: &str,
        entity: &str,
        entity_id: Option<Id>,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO audit_log (at, staff_id, action, entity, entity_id, detail) VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(at).bind(staff_id).bind(action).bind(entity).bind(entity_id).bind(detail).execute(p).await?;
            Ok(())
        })
    }

    pub async fn audit_log(
        &self,
        staff_id: Option<Id>,
        action: Option<&str>,
        entity: Option<(&str, Id)>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let mut sql = Sql::new(
            "SELECT id, at, staff_id, action, entity, entity_id, detail FROM audit_log WHERE 1 = 1",
        );
        if let Some(s) = staff_id {
            sql.push(" AND staff_id = ").bind_i64(s);
        }
        if let Some(a) = action {
            sql.push(" AND action = ").bind_text(a);
        }
        if let Some((e, id)) = entity {
            sql.push(" AND entity = ").bind_text(e);
            sql.push(" AND entity_id = ").bind_i64(id);
        }
        sql.push(&format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 1000)));
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, AuditEntry>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }
}
