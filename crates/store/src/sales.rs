//! The showroom and the leads (issue 5): traffic log, lead registration with its first
//! contact and follow-up task, contacts that move the grade, hand-overs and the store pool
//! (公海), test drives, invitations, orders and delivery, defeat requests, daily reports,
//! and the counts behind the sales analytics. Every write of several rows is one
//! transaction; every read of lists applies the reader's scope.

use crate::customers::NameGrams;
use crate::model::*;
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, Pool, Result, ResultExt, StoreError, on_pool};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

// ---- rows and field sets --------------------------------------------------------------------

/// A showroom traffic record (来店(电)客户登记表) with the names a list shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct VisitRow {
    pub id: Id,
    pub store_id: Id,
    /// walk_in | phone_in
    pub channel: String,
    pub arrived_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub party_size: i64,
    pub consultant_id: Option<Id>,
    pub consultant_name: Option<String>,
    pub first_visit: bool,
    pub source: String,
    pub desired_model_id: Option<Id>,
    pub model_name: Option<String>,
    pub customer_id: Option<Id>,
    pub customer_name: Option<String>,
    pub lead_id: Option<Id>,
    pub visitor_name: Option<String>,
    /// Masked by the service unless revealed.
    pub mobile: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewVisit {
    pub store_id: Id,
    pub channel: String,
    pub arrived_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub party_size: i64,
    pub consultant_id: Option<Id>,
    pub first_visit: bool,
    pub source: String,
    pub desired_model_id: Option<Id>,
    pub customer_id: Option<Id>,
    pub lead_id: Option<Id>,
    pub visitor_name: Option<String>,
    pub mobile: Option<String>,
    pub note: Option<String>,
}

/// What the traffic statistics need of one record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitFact {
    pub arrived_at: DateTime<Utc>,
    pub channel: String,
    pub source: String,
    pub consultant_id: Option<Id>,
    pub first_visit: bool,
    pub registered: bool,
}

/// A contact to write with a lead event (owned, so a transaction can hold it).
#[derive(Debug, Clone)]
pub struct ContactWrite {
    pub staff_id: Option<Id>,
    pub channel: String,
    pub direction: String,
    pub purpose: String,
    pub occurred_at: DateTime<Utc>,
    pub outcome: String,
    pub note: Option<String>,
    pub grade_before: Option<String>,
    pub grade_after: Option<String>,
    pub next_date: Option<NaiveDate>,
}

/// A task to create with a lead event.
#[derive(Debug, Clone)]
pub struct TaskWrite {
    pub kind: String,
    pub assignee_id: Option<Id>,
    pub role: Option<String>,
    pub due_on: NaiveDate,
    pub note: Option<String>,
    pub vehicle_id: Option<Id>,
    pub dedupe_key: Option<String>,
}

/// A customer registered with a walk-in, a call or a lead typed in by hand.
#[derive(Debug, Clone)]
pub struct NewLeadCustomer {
    pub name: String,
    pub mobile: Option<String>,
    pub source: Option<String>,
    pub class: String,
    pub class_reason: String,
}

/// A new lead with its first contact (the grade's first author) and first follow-up task;
/// either for an existing customer or with a new one; optionally with the traffic record
/// it came from (new, or an existing one to link).
#[derive(Debug, Clone)]
pub struct LeadRegistration {
    pub customer_id: Option<Id>,
    pub new_customer: Option<NewLeadCustomer>,
    pub lead: LeadFields,
    pub contact: ContactWrite,
    pub task: TaskWrite,
    pub new_visit: Option<NewVisit>,
    pub link_visit: Option<Id>,
}

/// A lead as the sales pages show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LeadView {
    pub id: Id,
    pub store_id: Id,
    pub store_name: String,
    pub customer_id: Id,
    pub customer_name: String,
    /// Masked by the service.
    pub mobile: Option<String>,
    pub grade: String,
    pub source: String,
    pub source_detail: Option<String>,
    pub desired_model_id: Option<Id>,
    pub model_name: Option<String>,
    pub status: String,
    pub owner_id: Option<Id>,
    pub owner_name: Option<String>,
    pub next_follow_up: Option<NaiveDate>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub pooled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct LeadViewFilter {
    pub status: Option<String>,
    pub grade: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<Id>,
    /// Only leads in the store pool (no owner, open).
    pub pool: bool,
    /// Only open leads whose next follow-up is before this day.
    pub overdue_before: Option<NaiveDate>,
    pub page: u32,
    pub per_page: u32,
}

/// A contact of a lead with its author's name: the grade history is the contacts whose
/// grade changed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ContactRow {
    pub id: Id,
    pub lead_id: Option<Id>,
    pub staff_id: Option<Id>,
    pub staff_name: Option<String>,
    pub channel: String,
    pub purpose: String,
    pub occurred_at: DateTime<Utc>,
    pub outcome: String,
    pub note: Option<String>,
    pub grade_before: Option<String>,
    pub grade_after: Option<String>,
    pub next_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LeadAssignmentRow {
    pub id: Id,
    pub lead_id: Id,
    pub from_staff_id: Option<Id>,
    pub from_name: Option<String>,
    pub to_staff_id: Option<Id>,
    pub to_name: Option<String>,
    pub at: DateTime<Utc>,
    pub by_staff_id: Option<Id>,
    pub by_name: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct InvitationRow {
    pub id: Id,
    pub store_id: Id,
    pub lead_id: Id,
    pub staff_id: Option<Id>,
    pub invited_at: DateTime<Utc>,
    pub appointment_on: NaiveDate,
    pub status: String,
    pub showed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct TestDriveRow {
    pub id: Id,
    pub lead_id: Id,
    pub model_id: Id,
    pub model_name: String,
    pub staff_id: Option<Id>,
    pub booked_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub store_id: Id,
    pub customer_id: Id,
    pub lead_id: Id,
    pub model_id: Id,
    pub consultant_id: Option<Id>,
    pub kind: String,
    pub ordered_on: NaiveDate,
    pub deposit_fen: i64,
    pub price_fen: i64,
    pub expected_delivery: Option<NaiveDate>,
}

/// The car handed over: registered with the customer, sold here.
#[derive(Debug, Clone)]
pub struct DeliveredVehicle {
    pub vin: String,
    pub model_id: Id,
    pub colour: Option<String>,
    pub model_year: Option<i64>,
    pub plate: Option<String>,
    pub delivered_on: NaiveDate,
    pub store_id: Id,
    pub warranty_end_date: Option<NaiveDate>,
    pub warranty_end_km: Option<i64>,
}

/// A defeat request with what the approval queue shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DefeatRow {
    pub id: Id,
    pub lead_id: Id,
    pub store_id: Id,
    pub customer_id: Id,
    pub customer_name: String,
    pub grade: String,
    pub requested_by: Option<Id>,
    pub requested_by_name: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    pub competitor_brand: Option<String>,
    pub competitor_model: Option<String>,
    pub note: Option<String>,
    pub status: String,
    pub subjective: bool,
    pub decided_by: Option<Id>,
    pub decided_at: Option<DateTime<Utc>>,
    pub manager_comment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewDefeat {
    pub lead_id: Id,
    pub requested_by: Id,
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    pub competitor_brand: Option<String>,
    pub competitor_model: Option<String>,
    pub note: Option<String>,
    pub subjective: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DailyReportRow {
    pub id: Id,
    pub store_id: Id,
    pub staff_id: Id,
    pub staff_name: String,
    pub report_date: NaiveDate,
    /// The figures as submitted (JSON of dealerbase_domain::sales::DayFigures and more).
    pub figures: String,
    pub plan: String,
    pub submitted_at: DateTime<Utc>,
    pub signed_by: Option<Id>,
    pub signed_by_name: Option<String>,
    pub signed_at: Option<DateTime<Utc>>,
    pub manager_comment: Option<String>,
}

/// A task on a today list, with what the list links to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct TaskRow {
    pub id: Id,
    pub store_id: Id,
    pub kind: String,
    pub customer_id: Option<Id>,
    pub customer_name: Option<String>,
    pub lead_id: Option<Id>,
    pub vehicle_id: Option<Id>,
    pub assignee_id: Option<Id>,
    pub role: Option<String>,
    pub due_on: NaiveDate,
    pub status: String,
    pub note: Option<String>,
}

/// Filters of the analytics pages; the period is [from, until).
#[derive(Debug, Clone)]
pub struct SalesFilter {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub store_id: Option<Id>,
    pub source: Option<String>,
    pub model_id: Option<Id>,
    pub consultant_id: Option<Id>,
}

/// What the analytics break the counts down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum SalesDimension {
    #[default]
    Store,
    Source,
    Model,
    Consultant,
}

/// Counts of one group of the breakdown (key: store id, source code, model id or staff id
/// as text; "" when unknown).
pub type KeyedCounts = (String, dealerbase_domain::sales::SalesCounts);

// ---- helpers ----------------------------------------------------------------------------------

fn not_found(entity: &'static str, id: Id) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

/// ` AND <condition>` limiting a table with a store column and a staff column to the scope.
/// One record set of the sales funnel: table (and joins), its columns for store, lead
/// source, model and consultant, the date that places a row in a day (a timestamp, bounded
/// at China's midnight, or a calendar date) and up to three measures.
struct FunnelPart {
    from: &'static str,
    cols: [&'static str; 4],
    date: &'static str,
    ts: bool,
    measures: &'static str,
    extra: &'static str,
}

impl FunnelPart {
    /// The tables with the lead joined for its source where the table has none of its own.
    fn from_with_source(&self) -> &'static str {
        match self.from {
            "test_drive t" => "test_drive t JOIN lead l ON l.id = t.lead_id",
            "sales_order o" => "sales_order o LEFT JOIN lead l ON l.id = o.lead_id",
            other => other,
        }
    }
}

/// The one fact dimension (1 source, 2 model, 3 consultant) that a breakdown, its filters
/// and the scope need, when they need at most one (none: any, source); None when they need
/// two or more (then the full day facts).
fn one_dimension(scope: &Scope, f: &SalesFilter, by: SalesDimension) -> Option<i64> {
    let source = by == SalesDimension::Source || f.source.is_some();
    let model = by == SalesDimension::Model || f.model_id.is_some();
    let consultant = by == SalesDimension::Consultant
        || f.consultant_id.is_some()
        || matches!(scope, Scope::Own { .. });
    match (source, model, consultant) {
        (_, false, false) => Some(1),
        (false, true, false) => Some(2),
        (false, false, true) => Some(3),
        _ => None,
    }
}

/// The funnel's record sets; `add_funnel_part` says what each one's measures count.
const FUNNEL_PARTS: [FunnelPart; 9] = [
    FunnelPart {
        from: "showroom_visit v",
        cols: [
            "v.store_id",
            "v.source",
            "v.desired_model_id",
            "v.consultant_id",
        ],
        date: "v.arrived_at",
        ts: true,
        measures: "COUNT(*), SUM(CASE WHEN v.first_visit THEN 1 ELSE 0 END), SUM(CASE WHEN v.first_visit AND v.lead_id IS NOT NULL THEN 1 ELSE 0 END)",
        extra: "",
    },
    FunnelPart {
        from: "lead l",
        cols: ["l.store_id", "l.source", "l.desired_model_id", "l.owner_id"],
        date: "l.created_at",
        ts: true,
        measures: "COUNT(*), CAST(0 AS BIGINT), CAST(0 AS BIGINT)",
        extra: "",
    },
    // New leads of the period that came back: read from the repeat visits (few), not by
    // probing every new lead. A lead has one creation day, so per-day distinct counts add up.
    FunnelPart {
        from: "showroom_visit v JOIN lead l ON l.id = v.lead_id",
        cols: ["l.store_id", "l.source", "l.desired_model_id", "l.owner_id"],
        date: "l.created_at",
        ts: true,
        measures: "COUNT(DISTINCT l.id), CAST(0 AS BIGINT), CAST(0 AS BIGINT)",
        extra: " AND v.first_visit = FALSE",
    },
    FunnelPart {
        from: "test_drive t",
        cols: ["t.store_id", "l.source", "t.model_id", "t.staff_id"],
        date: "t.done_at",
        ts: true,
        measures: "COUNT(*), CAST(0 AS BIGINT), CAST(0 AS BIGINT)",
        extra: " AND t.status = 'done'",
    },
    FunnelPart {
        from: "invitation i JOIN lead l ON l.id = i.lead_id",
        cols: ["i.store_id", "l.source", "l.desired_model_id", "l.owner_id"],
        date: "i.appointment_on",
        ts: false,
        measures: "COUNT(*), SUM(CASE WHEN i.status = 'showed' THEN 1 ELSE 0 END), CAST(0 AS BIGINT)",
        extra: "",
    },
    FunnelPart {
        from: "sales_order o",
        cols: ["o.store_id", "l.source", "o.model_id", "o.consultant_id"],
        date: "o.ordered_on",
        ts: false,
        measures: "COUNT(*), CAST(0 AS BIGINT), CAST(0 AS BIGINT)",
        extra: " AND o.status <> 'cancelled'",
    },
    FunnelPart {
        from: "sales_order o",
        cols: ["o.store_id", "l.source", "o.model_id", "o.consultant_id"],
        date: "o.delivered_on",
        ts: false,
        measures: "COUNT(*), CAST(0 AS BIGINT), CAST(0 AS BIGINT)",
        extra: " AND o.status = 'delivered'",
    },
    FunnelPart {
        from: "defeat_request d JOIN lead l ON l.id = d.lead_id",
        cols: ["l.store_id", "l.source", "l.desired_model_id", "l.owner_id"],
        date: "d.requested_at",
        ts: true,
        measures: "COUNT(*), CAST(0 AS BIGINT), CAST(0 AS BIGINT)",
        extra: "",
    },
    FunnelPart {
        from: "defeat_request d JOIN lead l ON l.id = d.lead_id",
        cols: ["l.store_id", "l.source", "l.desired_model_id", "l.owner_id"],
        date: "d.decided_at",
        ts: true,
        measures: "COUNT(*), SUM(CASE WHEN d.reason NOT IN ('other', 'lost_contact') THEN 1 ELSE 0 END), SUM(CASE WHEN d.subjective THEN 1 ELSE 0 END)",
        extra: " AND d.status = 'approved'",
    },
];

/// Adds one funnel part's measures to the counts.
fn add_funnel_part(
    e: &mut dealerbase_domain::sales::SalesCounts,
    part: usize,
    a: i64,
    b: i64,
    c: i64,
) {
    match part {
        0 => {
            e.traffic += a;
            e.first_visits += b;
            e.registered += c;
        }
        1 => e.new_leads += a,
        2 => e.second_visits += a,
        3 => e.test_drives += a,
        4 => {
            e.invited += a;
            e.showed += b;
        }
        5 => e.orders += a,
        6 => e.deliveries += a,
        7 => e.defeat_requests += a,
        _ => {
            e.defeats += a;
            e.defeats_specific += b;
            e.defeats_subjective += c;
        }
    }
}

fn scope_on(sql: &mut Sql, scope: &Scope, store_col: &str, staff_col: &str) {
    match *scope {
        Scope::Group { group_id } => {
            sql.push(&format!(
                " AND {store_col} IN (SELECT id FROM store WHERE group_id = "
            ));
            sql.bind_i64(group_id).push(")");
        }
        Scope::Store { store_id } => {
            sql.push(&format!(" AND {store_col} = "));
            sql.bind_i64(store_id);
        }
        Scope::Own { store_id, staff_id } => {
            sql.push(&format!(" AND {store_col} = "));
            sql.bind_i64(store_id);
            sql.push(&format!(" AND {staff_col} = "));
            sql.bind_i64(staff_id);
        }
    }
}

const TASK_INSERT: &str = "INSERT INTO task (store_id, kind, customer_id, lead_id, vehicle_id, assignee_id, role, due_on, status, note, dedupe_key, created_at) \
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'open',$9,$10,$11) ON CONFLICT (dedupe_key) DO NOTHING";

const CONTACT_INSERT: &str = "INSERT INTO contact (store_id, customer_id, lead_id, staff_id, channel, direction, purpose, occurred_at, outcome, note, grade_before, grade_after, next_date) \
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id";

macro_rules! insert_contact {
    ($tx:expr, $store:expr, $customer:expr, $lead:expr, $c:expr) => {
        sqlx::query_scalar::<_, i64>(CONTACT_INSERT)
            .bind($store)
            .bind($customer)
            .bind($lead)
            .bind($c.staff_id)
            .bind(&$c.channel)
            .bind(&$c.direction)
            .bind(&$c.purpose)
            .bind($c.occurred_at)
            .bind(&$c.outcome)
            .bind(&$c.note)
            .bind(&$c.grade_before)
            .bind(&$c.grade_after)
            .bind($c.next_date)
            .fetch_one(&mut *$tx)
            .await?
    };
}

macro_rules! insert_visit {
    ($tx:expr, $v:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO showroom_visit (store_id, channel, arrived_at, left_at, party_size, consultant_id, first_visit, source, desired_model_id, \
             customer_id, lead_id, visitor_name, mobile, note) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id",
        )
        .bind($v.store_id)
        .bind(&$v.channel)
        .bind($v.arrived_at)
        .bind($v.left_at)
        .bind($v.party_size)
        .bind($v.consultant_id)
        .bind($v.first_visit)
        .bind(&$v.source)
        .bind($v.desired_model_id)
        .bind($v.customer_id)
        .bind($v.lead_id)
        .bind(&$v.visitor_name)
        .bind(&$v.mobile)
        .bind(&$v.note)
        .fetch_one(&mut *$tx)
        .await?
    };
}

macro_rules! insert_task {
    ($tx:expr, $store:expr, $customer:expr, $lead:expr, $t:expr, $at:expr) => {
        sqlx::query(TASK_INSERT)
            .bind($store)
            .bind(&$t.kind)
            .bind($customer)
            .bind($lead)
            .bind($t.vehicle_id)
            .bind($t.assignee_id)
            .bind(&$t.role)
            .bind($t.due_on)
            .bind(&$t.note)
            .bind(&$t.dedupe_key)
            .bind($at)
            .execute(&mut *$tx)
            .await?
    };
}

const LEAD_VIEW_SELECT: &str = "SELECT l.id, l.store_id, s.name AS store_name, l.customer_id, c.name AS customer_name, c.mobile, \
     l.grade, l.source, l.source_detail, l.desired_model_id, m.name AS model_name, l.status, l.owner_id, st.name AS owner_name, \
     l.next_follow_up, l.last_contact_at, l.pooled_at, l.created_at, l.closed_at \
     FROM lead l JOIN store s ON s.id = l.store_id JOIN customer c ON c.id = l.customer_id \
     LEFT JOIN vehicle_model m ON m.id = l.desired_model_id LEFT JOIN staff st ON st.id = l.owner_id";

const TASK_ROW_SELECT: &str = "SELECT t.id, t.store_id, t.kind, t.customer_id, c.name AS customer_name, t.lead_id, t.vehicle_id, \
     t.assignee_id, t.role, t.due_on, t.status, t.note FROM task t LEFT JOIN customer c ON c.id = t.customer_id";

impl Db {
    /// Binds a moment for comparison with a timestamp column (text on SQLite in the
    /// format sqlx writes; a cast on PostgreSQL).
    fn bind_moment(&self, sql: &mut Sql, t: DateTime<Utc>) {
        let pg = matches!(self.pool, Pool::Postgres(_));
        if pg {
            sql.push("CAST(");
        }
        sql.bind_text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false));
        if pg {
            sql.push(" AS TIMESTAMPTZ)");
        }
    }

    // ---- store configuration ------------------------------------------------------------

    /// Replaces a store's settings document (the service merges its part into it).
    pub async fn set_store_settings_json(&self, store_id: Id, settings: &str) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE store SET settings = $1 WHERE id = $2")
            .bind(settings).bind(store_id).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(not_found("store", store_id));
        }
        Ok(())
    }

    /// The models of a brand (the pickers of a store sell its brand).
    pub async fn models_of_brand(&self, brand_id: Id) -> Result<Vec<VehicleModel>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, VehicleModel>(
            "SELECT m.* FROM vehicle_model m JOIN series s ON s.id = m.series_id WHERE s.brand_id = $1 ORDER BY m.name, m.id")
            .bind(brand_id).fetch_all(p).await?))
    }

    /// Active sales consultants of a store: (id, name).
    pub async fn store_consultants(&self, store_id: Id) -> Result<Vec<(Id, String)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, String)>(
            "SELECT id, name FROM staff WHERE store_id = $1 AND role = 'sales_consultant' AND active = TRUE ORDER BY name, id")
            .bind(store_id).fetch_all(p).await?))
    }

    /// Active staff of a store with a role, oldest first (who receives role tasks).
    pub async fn staff_with_role(&self, store_id: Id, role: &str) -> Result<Vec<Id>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT id FROM staff WHERE store_id = $1 AND role = $2 AND active = TRUE ORDER BY id")
            .bind(store_id).bind(role).fetch_all(p).await?))
    }

    // ---- showroom traffic ---------------------------------------------------------------

    pub async fn create_visit(&self, v: &NewVisit) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let id = insert_visit!(tx, v);
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn visit(&self, scope: &Scope, id: Id) -> Result<VisitRow> {
        let mut sql = Sql::new(VISIT_SELECT);
        sql.push(" WHERE v.id = ").bind_i64(id);
        scope_on(&mut sql, scope, "v.store_id", "v.consultant_id");
        let row: Option<VisitRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, VisitRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("visit", id))
    }

    pub async fn set_visit_left(&self, id: Id, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE showroom_visit SET left_at = $1 WHERE id = $2").bind(at).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Traffic records arrived in [from, until), newest first.
    pub async fn visits(
        &self,
        scope: &Scope,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<VisitRow>> {
        let mut sql = Sql::new(VISIT_SELECT);
        sql.push(" WHERE v.arrived_at >= ");
        self.bind_moment(&mut sql, from);
        sql.push(" AND v.arrived_at < ");
        self.bind_moment(&mut sql, until);
        scope_on(&mut sql, scope, "v.store_id", "v.consultant_id");
        sql.push(&format!(
            " ORDER BY v.arrived_at DESC, v.id DESC LIMIT {}",
            limit.clamp(1, 1000)
        ));
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, VisitRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// What the traffic statistics need, for records arrived in [from, until) (at most
    /// `limit`; a group's quarter is a few tens of thousands).
    pub async fn visit_facts(
        &self,
        scope: &Scope,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        store_id: Option<Id>,
        limit: u32,
    ) -> Result<Vec<VisitFact>> {
        // Packed (`packed.rs`): a group's quarter is a hundred thousand visits, and one
        // fetch per row would be most of the time.
        let arrived = self.epoch_field("v.arrived_at");
        let fields = [
            arrived.as_str(),
            "v.channel",
            "COALESCE(v.consultant_id, 0)",
            "CASE WHEN v.first_visit THEN 1 ELSE 0 END",
            "CASE WHEN v.lead_id IS NULL THEN 0 ELSE 1 END",
            "v.source",
        ];
        let mut sql = self.packed_select(&fields);
        // The columns by name, so the rows come from the covering index sales_visit_stats.
        sql.push(
            "(SELECT v.arrived_at, v.channel, v.consultant_id, v.first_visit, v.lead_id, v.source \
             FROM showroom_visit v WHERE v.arrived_at >= ",
        );
        self.bind_moment(&mut sql, from);
        sql.push(" AND v.arrived_at < ");
        self.bind_moment(&mut sql, until);
        scope_on(&mut sql, scope, "v.store_id", "v.consultant_id");
        if let Some(s) = store_id {
            sql.push(" AND v.store_id = ").bind_i64(s);
        }
        sql.push(&format!(" LIMIT {}) v", limit.clamp(1, 500_000)));
        let mut out = Vec::new();
        self.packed_fetch(sql, fields.len(), |f| {
            let secs = crate::packed::int(f[0])?;
            out.push(VisitFact {
                arrived_at: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
                channel: f[1].to_string(),
                consultant_id: Some(crate::packed::int(f[2])?).filter(|&c| c != 0),
                first_visit: f[3] == "1",
                registered: f[4] == "1",
                source: f[5].to_string(),
            });
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Open invitations of the lead with an appointment on or before `day` are marked as
    /// shown (a repeat visit of the lead was logged).
    pub async fn mark_invitations_showed(
        &self,
        lead_id: Id,
        day: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        on_pool!(self, p => Ok(sqlx::query(
            "UPDATE invitation SET status = 'showed', showed_at = $1 WHERE lead_id = $2 AND status = 'invited' AND appointment_on <= $3")
            .bind(at).bind(lead_id).bind(day).execute(p).await?.rows_affected()))
    }

    /// The customer of a store with this mobile (the oldest, if several).
    pub async fn customer_by_mobile_in_store(
        &self,
        store_id: Id,
        mobile: &str,
    ) -> Result<Option<Id>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT id FROM customer WHERE mobile = $1 AND store_id = $2 AND merged_into IS NULL ORDER BY id LIMIT 1")
            .bind(mobile).bind(store_id).fetch_optional(p).await?))
    }

    /// The customer's open lead in a store, if any (the newest).
    pub async fn open_lead_of_customer(&self, store_id: Id, customer_id: Id) -> Result<Option<Id>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT id FROM lead WHERE customer_id = $1 AND store_id = $2 AND status IN ('open', 'ordered') ORDER BY id DESC LIMIT 1")
            .bind(customer_id).bind(store_id).fetch_optional(p).await?))
    }

    // ---- leads ---------------------------------------------------------------------------

    /// Registers a lead: the customer (new or existing), the lead, its first contact, its
    /// first follow-up task, and the traffic record — one transaction.
    /// Returns (customer, lead, traffic record).
    pub async fn register_lead(
        &self,
        r: &LeadRegistration,
        at: DateTime<Utc>,
    ) -> Result<(Id, Id, Option<Id>)> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let f = &r.lead;
            let customer_id = match (&r.new_customer, r.customer_id) {
                (Some(c), _) => {
                    let id = sqlx::query_scalar::<_, i64>(
                        "INSERT INTO customer (store_id, kind, name, mobile, source, consultant_id, class, class_reason, created_at, updated_at) \
                         VALUES ($1, 'individual', $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id")
                        .bind(f.store_id).bind(&c.name).bind(&c.mobile).bind(&c.source).bind(f.owner_id)
                        .bind(&c.class).bind(&c.class_reason).bind(at).fetch_one(&mut *tx).await?;
                    tx.write_name_grams(&[(id, &c.name)], true).await?;
                    if let Some(staff) = f.owner_id {
                        sqlx::query("INSERT INTO customer_assignment (customer_id, staff_id, assigned_at, reason) VALUES ($1, $2, $3, 'created')")
                            .bind(id).bind(staff).bind(at).execute(&mut *tx).await?;
                    }
                    id
                }
                (None, Some(id)) => id,
                (None, None) => return Err(StoreError::MissingReference { field: "customer_id", value: String::new() }),
            };
            let lead_id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO lead (store_id, customer_id, grade, source, source_detail, desired_model_id, status, owner_id, next_follow_up, created_at, updated_at, last_contact_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10,$11) RETURNING id")
                .bind(f.store_id).bind(customer_id).bind(&f.grade).bind(&f.source).bind(&f.source_detail).bind(f.desired_model_id)
                .bind(&f.status).bind(f.owner_id).bind(f.next_follow_up).bind(at).bind(r.contact.occurred_at).fetch_one(&mut *tx).await?;
            insert_contact!(tx, f.store_id, customer_id, lead_id, r.contact);
            insert_task!(tx, f.store_id, customer_id, lead_id, r.task, at);
            if let Some(staff) = f.owner_id {
                sqlx::query("INSERT INTO lead_assignment (lead_id, from_staff_id, to_staff_id, at, by_staff_id, reason) VALUES ($1, NULL, $2, $3, $4, 'created')")
                    .bind(lead_id).bind(staff).bind(at).bind(r.contact.staff_id).execute(&mut *tx).await?;
            }
            let mut visit_id = None;
            if let Some(v) = &r.new_visit {
                let mut v = v.clone();
                v.customer_id = Some(customer_id);
                v.lead_id = Some(lead_id);
                visit_id = Some(insert_visit!(tx, v));
            }
            if let Some(v) = r.link_visit {
                let n = sqlx::query("UPDATE showroom_visit SET customer_id = $1, lead_id = $2 WHERE id = $3 AND lead_id IS NULL")
                    .bind(customer_id).bind(lead_id).bind(v).execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    return Err(StoreError::Conflict { field: "visit_id", value: v.to_string() });
                }
                visit_id = Some(v);
            }
            tx.commit().await?;
            Ok((customer_id, lead_id, visit_id))
        })
    }

    pub async fn lead_view(&self, scope: &Scope, id: Id) -> Result<LeadView> {
        let mut sql = Sql::new(LEAD_VIEW_SELECT);
        sql.push(" WHERE l.id = ").bind_i64(id);
        sql.lead_scope(scope, "l");
        let row: Option<LeadView> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, LeadView>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("lead", id))
    }

    /// A lead of the store pool, which every consultant of the store may see and claim.
    pub async fn pooled_lead_view(&self, store_id: Id, id: Id) -> Result<LeadView> {
        let mut sql = Sql::new(LEAD_VIEW_SELECT);
        sql.push(" WHERE l.id = ").bind_i64(id);
        sql.push(" AND l.store_id = ").bind_i64(store_id);
        sql.push(" AND l.owner_id IS NULL AND l.status = 'open'");
        let row: Option<LeadView> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, LeadView>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("lead", id))
    }

    /// Leads with names, newest first. The pool is read with the store's scope (a
    /// consultant sees the pool of their store, not only their own leads).
    pub async fn lead_views(&self, scope: &Scope, f: &LeadViewFilter) -> Result<Page<LeadView>> {
        let per_page = f.per_page.clamp(1, 200);
        let page = f.page.max(1);
        let mut sql = Sql::new(LEAD_VIEW_SELECT);
        sql.push(" WHERE 1 = 1");
        if f.pool {
            let store_scope = match *scope {
                Scope::Own { store_id, .. } => Scope::Store { store_id },
                other => other,
            };
            sql.lead_scope(&store_scope, "l");
            sql.push(" AND l.owner_id IS NULL AND l.status = 'open'");
        } else {
            sql.lead_scope(scope, "l");
        }
        if let Some(s) = &f.status {
            sql.push(" AND l.status = ").bind_text(s.clone());
        }
        if let Some(g) = &f.grade {
            sql.push(" AND l.grade = ").bind_text(g.clone());
        }
        if let Some(s) = &f.source {
            sql.push(" AND l.source = ").bind_text(s.clone());
        }
        if let Some(o) = f.owner_id {
            sql.push(" AND l.owner_id = ").bind_i64(o);
        }
        if let Some(d) = f.overdue_before {
            sql.push(" AND l.status IN ('open', 'ordered') AND l.next_follow_up < ")
                .bind_date(d);
        }
        sql.push(&format!(
            " ORDER BY l.id DESC LIMIT {} OFFSET {}",
            per_page + 1,
            (page as u64 - 1) * per_page as u64
        ));
        let mut items: Vec<LeadView> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, LeadView>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    pub async fn lead_contacts(&self, lead_id: Id) -> Result<Vec<ContactRow>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, ContactRow>(
            "SELECT c.id, c.lead_id, c.staff_id, s.name AS staff_name, c.channel, c.purpose, c.occurred_at, c.outcome, c.note, \
             c.grade_before, c.grade_after, c.next_date FROM contact c LEFT JOIN staff s ON s.id = c.staff_id \
             WHERE c.lead_id = $1 ORDER BY c.occurred_at DESC, c.id DESC")
            .bind(lead_id).fetch_all(p).await?))
    }

    pub async fn lead_assignments(&self, lead_id: Id) -> Result<Vec<LeadAssignmentRow>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, LeadAssignmentRow>(
            "SELECT a.id, a.lead_id, a.from_staff_id, f.name AS from_name, a.to_staff_id, t.name AS to_name, a.at, a.by_staff_id, b.name AS by_name, a.reason \
             FROM lead_assignment a LEFT JOIN staff f ON f.id = a.from_staff_id LEFT JOIN staff t ON t.id = a.to_staff_id \
             LEFT JOIN staff b ON b.id = a.by_staff_id WHERE a.lead_id = $1 ORDER BY a.at, a.id")
            .bind(lead_id).fetch_all(p).await?))
    }

    pub async fn lead_tasks(&self, lead_id: Id) -> Result<Vec<TaskRow>> {
        let sql =
            format!("{TASK_ROW_SELECT} WHERE t.lead_id = $1 ORDER BY t.due_on DESC, t.id DESC");
        on_pool!(self, p => Ok(sqlx::query_as::<_, TaskRow>(AssertSqlSafe(sql)).bind(lead_id).fetch_all(p).await?))
    }

    /// Records a contact on a lead: the contact (with the grade before and after), the
    /// lead's grade, next follow-up and last contact, the open follow-ups closed with the
    /// contact's outcome, and the next follow-up task — one transaction. The grade changes
    /// only if it is still `grade_before` (two people saving at once cannot both win).
    pub async fn record_lead_contact(
        &self,
        lead: &Lead,
        c: &ContactWrite,
        next: &TaskWrite,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        let grade_before = c.grade_before.clone().unwrap_or_default();
        let grade_after = c.grade_after.clone().unwrap_or(grade_before.clone());
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE lead SET grade = $1, next_follow_up = $2, last_contact_at = $3, updated_at = $4 \
                 WHERE id = $5 AND grade = $6 AND status IN ('open', 'ordered')")
                .bind(&grade_after).bind(next.due_on).bind(c.occurred_at).bind(at).bind(lead.id).bind(&grade_before)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict { field: "grade", value: grade_before });
            }
            let id = insert_contact!(tx, lead.fields.store_id, lead.fields.customer_id, lead.id, c);
            sqlx::query("UPDATE task SET status = 'done', outcome = $1, done_at = $2 WHERE lead_id = $3 AND kind IN ('lead_follow_up', 'lead_escalation') AND status = 'open'")
                .bind(&c.outcome).bind(at).bind(lead.id).execute(&mut *tx).await?;
            insert_task!(tx, lead.fields.store_id, lead.fields.customer_id, lead.id, next, at);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Hands a lead to another consultant (`to` = None: back to the store pool), with a
    /// history row, and the customer's consultant follows the new owner — one transaction.
    /// Open follow-ups move with the lead; going to the pool cancels them, and `new_task`
    /// (a claim's first follow-up) is created. `expect_owner` (None = claimed from the
    /// pool) guards against two hand-overs or claims at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn reassign_lead(
        &self,
        lead_id: Id,
        expect_owner: Option<Id>,
        to: Option<Id>,
        by: Option<Id>,
        reason: &str,
        new_task: Option<&TaskWrite>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = if let Some(o) = expect_owner {
                sqlx::query("UPDATE lead SET owner_id = $1, pooled_at = $2, updated_at = $3 WHERE id = $4 AND owner_id = $5 AND status IN ('open', 'ordered', 'defeat_pending')")
                    .bind(to).bind(if to.is_none() { Some(at) } else { None }).bind(at).bind(lead_id).bind(o)
                    .execute(&mut *tx).await?.rows_affected()
            } else {
                sqlx::query("UPDATE lead SET owner_id = $1, pooled_at = $2, updated_at = $3 WHERE id = $4 AND owner_id IS NULL AND status = 'open'")
                    .bind(to).bind(if to.is_none() { Some(at) } else { None }).bind(at).bind(lead_id)
                    .execute(&mut *tx).await?.rows_affected()
            };
            if n == 0 {
                return Err(StoreError::Conflict { field: "owner_id", value: expect_owner.map(|o| o.to_string()).unwrap_or_default() });
            }
            sqlx::query("INSERT INTO lead_assignment (lead_id, from_staff_id, to_staff_id, at, by_staff_id, reason) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(lead_id).bind(expect_owner).bind(to).bind(at).bind(by).bind(reason).execute(&mut *tx).await?;
            if to.is_some() {
                sqlx::query("UPDATE task SET assignee_id = $1 WHERE lead_id = $2 AND kind = 'lead_follow_up' AND status = 'open'")
                    .bind(to).bind(lead_id).execute(&mut *tx).await?;
            } else {
                sqlx::query("UPDATE task SET status = 'cancelled', outcome = 'pooled', done_at = $1 WHERE lead_id = $2 AND kind = 'lead_follow_up' AND status = 'open'")
                    .bind(at).bind(lead_id).execute(&mut *tx).await?;
            }
            let (store, customer): (i64, i64) = sqlx::query_as("SELECT store_id, customer_id FROM lead WHERE id = $1").bind(lead_id).fetch_one(&mut *tx).await?;
            if let Some(t) = new_task {
                sqlx::query("UPDATE lead SET next_follow_up = $1 WHERE id = $2").bind(t.due_on).bind(lead_id).execute(&mut *tx).await?;
                insert_task!(tx, store, customer, lead_id, t, at);
            }
            if let Some(staff) = to {
                let moved = sqlx::query("UPDATE customer SET consultant_id = $1, updated_at = $2 WHERE id = $3 AND (consultant_id IS NULL OR consultant_id <> $1)")
                    .bind(staff).bind(at).bind(customer).execute(&mut *tx).await?.rows_affected();
                if moved > 0 {
                    sqlx::query("UPDATE customer_assignment SET ended_at = $1 WHERE customer_id = $2 AND ended_at IS NULL")
                        .bind(at).bind(customer).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO customer_assignment (customer_id, staff_id, assigned_at, assigned_by, reason) VALUES ($1, $2, $3, $4, $5)")
                        .bind(customer).bind(staff).bind(at).bind(by).bind(reason).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Open leads of a store with an owner whose last contact (or, never contacted,
    /// creation) is before `before`: candidates for the pool.
    pub async fn pool_candidates(
        &self,
        store_id: Id,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Id, Id)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, i64)>(
            "SELECT l.id, l.owner_id FROM lead l WHERE l.store_id = $1 AND l.status = 'open' AND l.owner_id IS NOT NULL \
             AND COALESCE(l.last_contact_at, (SELECT MAX(c.occurred_at) FROM contact c WHERE c.lead_id = l.id), l.created_at) < $2 \
             ORDER BY l.id LIMIT $3")
            .bind(store_id).bind(before).bind(limit as i64).fetch_all(p).await?))
    }

    /// Open lead follow-ups of a store due on or before `cutoff` that were not escalated yet.
    pub async fn escalation_candidates(
        &self,
        store_id: Id,
        cutoff: NaiveDate,
        limit: u32,
    ) -> Result<Vec<TaskRow>> {
        let sql = format!(
            "{TASK_ROW_SELECT} WHERE t.store_id = $1 AND t.kind = 'lead_follow_up' AND t.status = 'open' AND t.due_on <= $2 \
             AND NOT EXISTS (SELECT 1 FROM task e WHERE e.dedupe_key = 'lead_escalation:' || CAST(t.id AS TEXT)) ORDER BY t.id LIMIT $3"
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, TaskRow>(AssertSqlSafe(sql)).bind(store_id).bind(cutoff).bind(limit as i64).fetch_all(p).await?))
    }

    /// Creates tasks (those whose dedupe key exists already are skipped) in one
    /// transaction; returns how many were new.
    pub async fn create_tasks(
        &self,
        tasks: &[(Id, Option<Id>, Option<Id>, TaskWrite)],
        at: DateTime<Utc>,
    ) -> Result<u64> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut n = 0;
            for (store, customer, lead, t) in tasks {
                n += insert_task!(tx, *store, *customer, *lead, t, at).rows_affected();
            }
            tx.commit().await?;
            Ok(n)
        })
    }

    pub async fn task_row(&self, id: Id) -> Result<TaskRow> {
        let sql = format!("{TASK_ROW_SELECT} WHERE t.id = $1");
        let row: Option<TaskRow> = on_pool!(self, p => sqlx::query_as::<_, TaskRow>(AssertSqlSafe(sql)).bind(id).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("task", id))
    }

    /// Open tasks for a staff member due on or before `until`: their own, and those of
    /// their store addressed to their role with nobody named.
    pub async fn open_tasks_for(
        &self,
        staff_id: Id,
        store_id: Option<Id>,
        role: &str,
        until: NaiveDate,
        limit: u32,
    ) -> Result<Vec<TaskRow>> {
        let sql = format!(
            "{TASK_ROW_SELECT} WHERE t.status = 'open' AND t.due_on <= $1 AND (t.assignee_id = $2 OR (t.assignee_id IS NULL AND t.role = $3 AND t.store_id = $4)) \
             ORDER BY t.due_on, t.id LIMIT $5"
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, TaskRow>(AssertSqlSafe(sql)).bind(until).bind(staff_id).bind(role).bind(store_id.unwrap_or(0)).bind(limit as i64).fetch_all(p).await?))
    }

    /// Completes a task with an outcome and, when given, the contact that did it — one
    /// transaction. Fails when the task is no longer open.
    pub async fn complete_task_with_contact(
        &self,
        task: &TaskRow,
        contact: Option<&ContactWrite>,
        outcome: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE task SET status = 'done', outcome = $1, done_at = $2, note = COALESCE($3, note) WHERE id = $4 AND status = 'open'")
                .bind(outcome).bind(at).bind(note).bind(task.id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(not_found("open task", task.id));
            }
            if let (Some(c), Some(customer)) = (contact, task.customer_id) {
                insert_contact!(tx, task.store_id, customer, task.lead_id, c);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    // ---- test drives and invitations -----------------------------------------------------

    pub async fn book_test_drive(
        &self,
        lead_id: Id,
        model_id: Id,
        staff_id: Option<Id>,
        booked_at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO test_drive (lead_id, model_id, staff_id, booked_at, status, store_id) \
             VALUES ($1, $2, $3, $4, 'booked', (SELECT store_id FROM lead WHERE id = $1)) RETURNING id")
            .bind(lead_id).bind(model_id).bind(staff_id).bind(booked_at).fetch_one(p).await?))
    }

    pub async fn test_drive(&self, id: Id) -> Result<TestDriveRow> {
        let row: Option<TestDriveRow> = on_pool!(self, p => sqlx::query_as::<_, TestDriveRow>(
            "SELECT t.id, t.lead_id, t.model_id, m.name AS model_name, t.staff_id, t.booked_at, t.done_at, t.status \
             FROM test_drive t JOIN vehicle_model m ON m.id = t.model_id WHERE t.id = $1").bind(id).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("test drive", id))
    }

    pub async fn lead_test_drive_rows(&self, lead_id: Id) -> Result<Vec<TestDriveRow>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, TestDriveRow>(
            "SELECT t.id, t.lead_id, t.model_id, m.name AS model_name, t.staff_id, t.booked_at, t.done_at, t.status \
             FROM test_drive t JOIN vehicle_model m ON m.id = t.model_id WHERE t.lead_id = $1 ORDER BY t.booked_at, t.id")
            .bind(lead_id).fetch_all(p).await?))
    }

    /// Moves a booked test drive to done or cancelled; fails when it is not booked.
    pub async fn finish_test_drive(
        &self,
        id: Id,
        status: &str,
        done_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE test_drive SET status = $1, done_at = $2 WHERE id = $3 AND status = 'booked'")
            .bind(status).bind(done_at).bind(id).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict {
                field: "status",
                value: status.into(),
            });
        }
        Ok(())
    }

    pub async fn create_invitation(
        &self,
        store_id: Id,
        lead_id: Id,
        staff_id: Option<Id>,
        appointment_on: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO invitation (store_id, lead_id, staff_id, invited_at, appointment_on, status) VALUES ($1, $2, $3, $4, $5, 'invited') RETURNING id")
            .bind(store_id).bind(lead_id).bind(staff_id).bind(at).bind(appointment_on).fetch_one(p).await?))
    }

    pub async fn invitation(&self, id: Id) -> Result<InvitationRow> {
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as::<_, InvitationRow>("SELECT * FROM invitation WHERE id = $1").bind(id).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("invitation", id))
    }

    pub async fn lead_invitations(&self, lead_id: Id) -> Result<Vec<InvitationRow>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, InvitationRow>("SELECT * FROM invitation WHERE lead_id = $1 ORDER BY appointment_on, id")
            .bind(lead_id).fetch_all(p).await?))
    }

    pub async fn set_invitation_status(
        &self,
        id: Id,
        status: &str,
        showed_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE invitation SET status = $1, showed_at = $2 WHERE id = $3 AND status = 'invited'")
            .bind(status).bind(showed_at).bind(id).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict {
                field: "status",
                value: status.into(),
            });
        }
        Ok(())
    }

    // ---- orders and delivery --------------------------------------------------------------

    /// Takes an order: the order, the contact that moves the lead to grade O, the lead
    /// (grade O, status ordered), open follow-ups closed and the next one — one transaction.
    pub async fn take_order(
        &self,
        lead: &Lead,
        o: &NewOrder,
        c: &ContactWrite,
        next: &TaskWrite,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE lead SET grade = 'O', status = 'ordered', next_follow_up = $1, last_contact_at = $2, updated_at = $3 WHERE id = $4 AND status = 'open'")
                .bind(next.due_on).bind(c.occurred_at).bind(at).bind(lead.id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict { field: "status", value: lead.fields.status.clone() });
            }
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO sales_order (store_id, customer_id, lead_id, model_id, consultant_id, kind, status, ordered_on, deposit_fen, price_fen, expected_delivery) \
                 VALUES ($1,$2,$3,$4,$5,$6,'open',$7,$8,$9,$10) RETURNING id")
                .bind(o.store_id).bind(o.customer_id).bind(o.lead_id).bind(o.model_id).bind(o.consultant_id).bind(&o.kind)
                .bind(o.ordered_on).bind(o.deposit_fen).bind(o.price_fen).bind(o.expected_delivery).fetch_one(&mut *tx).await?;
            insert_contact!(tx, lead.fields.store_id, lead.fields.customer_id, lead.id, c);
            sqlx::query("UPDATE task SET status = 'done', outcome = 'ordered', done_at = $1 WHERE lead_id = $2 AND kind = 'lead_follow_up' AND status = 'open'")
                .bind(at).bind(lead.id).execute(&mut *tx).await?;
            insert_task!(tx, lead.fields.store_id, lead.fields.customer_id, lead.id, next, at);
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn sales_order(&self, id: Id) -> Result<SalesOrder> {
        let row: Option<SalesOrder> = on_pool!(self, p => sqlx::query_as::<_, SalesOrder>("SELECT * FROM sales_order WHERE id = $1").bind(id).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("sales order", id))
    }

    pub async fn lead_orders(&self, lead_id: Id) -> Result<Vec<SalesOrder>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, SalesOrder>("SELECT * FROM sales_order WHERE lead_id = $1 ORDER BY ordered_on, id")
            .bind(lead_id).fetch_all(p).await?))
    }

    /// Delivers an order: the vehicle registered with the customer (sold here), the order
    /// delivered, the lead closed as delivered with its open follow-ups, and the
    /// post-delivery calls — one transaction. Returns the vehicle id.
    pub async fn deliver_order(
        &self,
        order: &SalesOrder,
        v: &DeliveredVehicle,
        calls: &[TaskWrite],
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let vehicle_id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO vehicle (vin, model_id, colour, model_year, plate, purchase_date, invoice_date, delivery_date, selling_store_id, own_sold, \
                 warranty_end_date, warranty_end_km, store_id, created_at) VALUES ($1,$2,$3,$4,$5,$6,$6,$6,$7,TRUE,$8,$9,$7,$10) RETURNING id")
                .bind(&v.vin).bind(v.model_id).bind(&v.colour).bind(v.model_year).bind(&v.plate).bind(v.delivered_on)
                .bind(v.store_id).bind(v.warranty_end_date).bind(v.warranty_end_km).bind(at)
                .fetch_one(&mut *tx).await.on_unique("vin", &v.vin)?;
            sqlx::query("INSERT INTO vehicle_ownership (vehicle_id, customer_id, from_date) VALUES ($1, $2, $3)")
                .bind(vehicle_id).bind(order.customer_id).bind(v.delivered_on).execute(&mut *tx).await?;
            let n = sqlx::query("UPDATE sales_order SET status = 'delivered', delivered_on = $1, vehicle_id = $2 WHERE id = $3 AND status = 'open'")
                .bind(v.delivered_on).bind(vehicle_id).bind(order.id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict { field: "status", value: order.status.clone() });
            }
            if let Some(lead) = order.lead_id {
                sqlx::query("UPDATE lead SET status = 'delivered', next_follow_up = NULL, updated_at = $1, closed_at = $1 WHERE id = $2")
                    .bind(at).bind(lead).execute(&mut *tx).await?;
                sqlx::query("UPDATE task SET status = 'done', outcome = 'delivered', done_at = $1 WHERE lead_id = $2 AND kind = 'lead_follow_up' AND status = 'open'")
                    .bind(at).bind(lead).execute(&mut *tx).await?;
            }
            for t in calls {
                let mut t = t.clone();
                t.vehicle_id = Some(vehicle_id);
                insert_task!(tx, order.store_id, order.customer_id, order.lead_id, t, at);
            }
            tx.commit().await?;
            Ok(vehicle_id)
        })
    }

    // ---- defeat ---------------------------------------------------------------------------

    /// The (day, planned next follow-up) of each contact of a lead, for the
    /// subjective-defeat rule.
    pub async fn lead_follow_up_plan(
        &self,
        lead_id: Id,
    ) -> Result<Vec<(DateTime<Utc>, Option<NaiveDate>)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (DateTime<Utc>, Option<NaiveDate>)>(
            "SELECT occurred_at, next_date FROM contact WHERE lead_id = $1 ORDER BY occurred_at, id").bind(lead_id).fetch_all(p).await?))
    }

    /// A defeat request and the lead waiting for the manager — one transaction.
    pub async fn request_defeat(&self, d: &NewDefeat) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE lead SET status = 'defeat_pending', updated_at = $1 WHERE id = $2 AND status = 'open'")
                .bind(d.requested_at).bind(d.lead_id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict { field: "status", value: "defeat_pending".into() });
            }
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO defeat_request (lead_id, requested_by, requested_at, reason, competitor_brand, competitor_model, note, status, subjective) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,'pending',$8) RETURNING id")
                .bind(d.lead_id).bind(d.requested_by).bind(d.requested_at).bind(&d.reason).bind(&d.competitor_brand)
                .bind(&d.competitor_model).bind(&d.note).bind(d.subjective).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn defeat_row(&self, scope: &Scope, id: Id) -> Result<DefeatRow> {
        let mut sql = Sql::new(DEFEAT_SELECT);
        sql.push(" WHERE d.id = ").bind_i64(id);
        sql.lead_scope(scope, "l");
        let row: Option<DefeatRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, DefeatRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("defeat request", id))
    }

    /// Defeat requests in the scope with a status, oldest first (the approval queue).
    pub async fn defeat_rows(
        &self,
        scope: &Scope,
        status: &str,
        limit: u32,
    ) -> Result<Vec<DefeatRow>> {
        let mut sql = Sql::new(DEFEAT_SELECT);
        sql.push(" WHERE d.status = ").bind_text(status);
        sql.lead_scope(scope, "l");
        sql.push(&format!(
            " ORDER BY d.requested_at, d.id LIMIT {}",
            limit.clamp(1, 500)
        ));
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, DefeatRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    pub async fn lead_defeat_rows(&self, lead_id: Id) -> Result<Vec<DefeatRow>> {
        let sql = format!("{DEFEAT_SELECT} WHERE d.lead_id = $1 ORDER BY d.requested_at, d.id");
        on_pool!(self, p => Ok(sqlx::query_as::<_, DefeatRow>(AssertSqlSafe(sql)).bind(lead_id).fetch_all(p).await?))
    }

    /// The manager's decision — one transaction. Approved: the request approved and the
    /// lead defeated and closed, its open follow-ups cancelled. Rejected: the request
    /// rejected with the comment, the lead open again with a new follow-up task.
    pub async fn decide_defeat(
        &self,
        d: &DefeatRow,
        approve: bool,
        by: Id,
        comment: Option<&str>,
        follow_up: Option<&TaskWrite>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE defeat_request SET status = $1, decided_by = $2, decided_at = $3, manager_comment = $4 WHERE id = $5 AND status = 'pending'")
                .bind(if approve { "approved" } else { "rejected" }).bind(by).bind(at).bind(comment).bind(d.id)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict { field: "status", value: d.status.clone() });
            }
            if approve {
                sqlx::query("UPDATE lead SET status = 'defeated', next_follow_up = NULL, updated_at = $1, closed_at = $1 WHERE id = $2")
                    .bind(at).bind(d.lead_id).execute(&mut *tx).await?;
                sqlx::query("UPDATE task SET status = 'cancelled', outcome = 'defeated', done_at = $1 WHERE lead_id = $2 AND status = 'open' AND kind IN ('lead_follow_up', 'lead_escalation')")
                    .bind(at).bind(d.lead_id).execute(&mut *tx).await?;
            } else {
                let next = follow_up.map(|t| t.due_on);
                sqlx::query("UPDATE lead SET status = 'open', next_follow_up = COALESCE($1, next_follow_up), updated_at = $2 WHERE id = $3")
                    .bind(next).bind(at).bind(d.lead_id).execute(&mut *tx).await?;
                if let Some(t) = follow_up {
                    sqlx::query("UPDATE task SET status = 'cancelled', done_at = $1 WHERE lead_id = $2 AND kind = 'lead_follow_up' AND status = 'open'")
                        .bind(at).bind(d.lead_id).execute(&mut *tx).await?;
                    insert_task!(tx, d.store_id, d.customer_id, d.lead_id, t, at);
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    // ---- daily reports --------------------------------------------------------------------

    /// (lead, purpose, grade before, grade after) of a staff member's contacts in
    /// [from, until).
    #[allow(clippy::type_complexity)]
    pub async fn staff_contacts_between(
        &self,
        staff_id: Id,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(Option<Id>, String, Option<String>, Option<String>)>> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT lead_id, purpose, grade_before, grade_after FROM contact WHERE staff_id = $1 AND occurred_at >= $2 AND occurred_at < $3 ORDER BY occurred_at, id")
            .bind(staff_id).bind(from).bind(until).fetch_all(p).await?))
    }

    /// A consultant's open leads by grade (本日止意向客户数).
    pub async fn open_leads_by_grade_of(&self, owner_id: Id) -> Result<Vec<(String, i64)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (String, i64)>(
            "SELECT grade, COUNT(*) FROM lead WHERE owner_id = $1 AND status IN ('open', 'ordered', 'defeat_pending') GROUP BY grade")
            .bind(owner_id).fetch_all(p).await?))
    }

    /// Open follow-ups of a staff member due on a day (the plan for tomorrow).
    pub async fn follow_ups_due_on(&self, staff_id: Id, day: NaiveDate) -> Result<Vec<TaskRow>> {
        let sql = format!(
            "{TASK_ROW_SELECT} WHERE t.assignee_id = $1 AND t.status = 'open' AND t.due_on = $2 ORDER BY t.id LIMIT 200"
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, TaskRow>(AssertSqlSafe(sql)).bind(staff_id).bind(day).fetch_all(p).await?))
    }

    /// Submits (or, until signed, resubmits) a daily report.
    pub async fn submit_daily_report(
        &self,
        store_id: Id,
        staff_id: Id,
        day: NaiveDate,
        figures: &str,
        plan: &str,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let existing: Option<(i64, Option<i64>)> = sqlx::query_as("SELECT id, signed_by FROM daily_report WHERE staff_id = $1 AND report_date = $2")
                .bind(staff_id).bind(day).fetch_optional(&mut *tx).await?;
            let id = match existing {
                Some((_, Some(_))) => return Err(StoreError::Conflict { field: "report_date", value: day.to_string() }),
                Some((id, None)) => {
                    sqlx::query("UPDATE daily_report SET figures = $1, plan = $2, submitted_at = $3 WHERE id = $4")
                        .bind(figures).bind(plan).bind(at).bind(id).execute(&mut *tx).await?;
                    id
                }
                None => sqlx::query_scalar::<_, i64>(
                    "INSERT INTO daily_report (store_id, staff_id, report_date, figures, plan, submitted_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id")
                    .bind(store_id).bind(staff_id).bind(day).bind(figures).bind(plan).bind(at).fetch_one(&mut *tx).await
                    .on_unique("report_date", &day.to_string())?,
            };
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn daily_report_of(
        &self,
        staff_id: Id,
        day: NaiveDate,
    ) -> Result<Option<DailyReportRow>> {
        let sql = format!("{REPORT_SELECT} WHERE r.staff_id = $1 AND r.report_date = $2");
        on_pool!(self, p => Ok(sqlx::query_as::<_, DailyReportRow>(AssertSqlSafe(sql)).bind(staff_id).bind(day).fetch_optional(p).await?))
    }

    pub async fn daily_report(&self, scope: &Scope, id: Id) -> Result<DailyReportRow> {
        let mut sql = Sql::new(REPORT_SELECT);
        sql.push(" WHERE r.id = ").bind_i64(id);
        scope_on(&mut sql, scope, "r.store_id", "r.staff_id");
        let row: Option<DailyReportRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, DailyReportRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?);
        row.ok_or_else(|| not_found("daily report", id))
    }

    /// Reports in the scope, newest first; `unsigned` for the sign-off queue.
    pub async fn daily_reports(
        &self,
        scope: &Scope,
        unsigned: bool,
        limit: u32,
    ) -> Result<Vec<DailyReportRow>> {
        let mut sql = Sql::new(REPORT_SELECT);
        sql.push(" WHERE 1 = 1");
        scope_on(&mut sql, scope, "r.store_id", "r.staff_id");
        if unsigned {
            sql.push(" AND r.signed_at IS NULL");
        }
        sql.push(&format!(
            " ORDER BY r.report_date DESC, r.id DESC LIMIT {}",
            limit.clamp(1, 500)
        ));
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, DailyReportRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    pub async fn sign_daily_report(
        &self,
        id: Id,
        by: Id,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE daily_report SET signed_by = $1, signed_at = $2, manager_comment = $3 WHERE id = $4 AND signed_at IS NULL")
            .bind(by).bind(at).bind(comment).bind(id).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict {
                field: "signed_at",
                value: id.to_string(),
            });
        }
        Ok(())
    }

    // ---- backfills (generators, imports) -----------------------------------------------------

    /// Leads in id order after `after_id`: (id, store, customer, owner, grade, status,
    /// next follow-up, created at, desired model), for generators and backfills that walk
    /// every lead.
    #[allow(clippy::type_complexity)]
    pub async fn lead_chunk(
        &self,
        after_id: Id,
        limit: u32,
    ) -> Result<
        Vec<(
            Id,
            Id,
            Id,
            Option<Id>,
            String,
            String,
            Option<NaiveDate>,
            DateTime<Utc>,
            Option<Id>,
        )>,
    > {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT id, store_id, customer_id, owner_id, grade, status, next_follow_up, created_at, desired_model_id FROM lead WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id).bind(limit as i64).fetch_all(p).await?))
    }

    /// Sets `lead.last_contact_at` from the contact table for open leads that have none
    /// (rows written by generators and imports).
    pub async fn fill_last_contact_at(&self) -> Result<u64> {
        on_pool!(self, p => Ok(sqlx::query(
            "UPDATE lead SET last_contact_at = (SELECT MAX(c.occurred_at) FROM contact c WHERE c.lead_id = lead.id) \
             WHERE last_contact_at IS NULL AND status IN ('open', 'ordered', 'defeat_pending')")
            .execute(p).await?.rows_affected()))
    }

    /// Sets `test_drive.store_id` from the lead where it is missing (rows written by
    /// generators and imports).
    pub async fn fill_test_drive_store(&self) -> Result<u64> {
        on_pool!(self, p => Ok(sqlx::query(
            "UPDATE test_drive SET store_id = (SELECT l.store_id FROM lead l WHERE l.id = test_drive.lead_id) WHERE store_id IS NULL")
            .execute(p).await?.rows_affected()))
    }

    /// Defeat requests after an id: (id, lead, requested at).
    pub async fn defeat_chunk(
        &self,
        after_id: Id,
        limit: u32,
    ) -> Result<Vec<(Id, Id, DateTime<Utc>)>> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT id, lead_id, requested_at FROM defeat_request WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id).bind(limit as i64).fetch_all(p).await?))
    }

    /// (lead, when, planned next follow-up) of the contacts of some leads.
    pub async fn contact_plans(
        &self,
        lead_ids: &[Id],
    ) -> Result<Vec<(Id, DateTime<Utc>, Option<NaiveDate>)>> {
        if lead_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = lead_ids.iter().map(|i| i.to_string()).collect();
        let sql = format!(
            "SELECT lead_id, occurred_at, next_date FROM contact WHERE lead_id IN ({}) ORDER BY lead_id, occurred_at, id",
            ids.join(", ")
        );
        on_pool!(self, p => Ok(sqlx::query_as(AssertSqlSafe(sql)).fetch_all(p).await?))
    }

    /// (lead, requested at) of the defeat requests of some leads.
    pub async fn defeat_requests_of(&self, lead_ids: &[Id]) -> Result<Vec<(Id, DateTime<Utc>)>> {
        if lead_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = lead_ids.iter().map(|i| i.to_string()).collect();
        let sql = format!(
            "SELECT lead_id, requested_at FROM defeat_request WHERE lead_id IN ({}) ORDER BY lead_id, requested_at",
            ids.join(", ")
        );
        on_pool!(self, p => Ok(sqlx::query_as(AssertSqlSafe(sql)).fetch_all(p).await?))
    }

    /// Flags defeat requests as subjective.
    pub async fn mark_defeats_subjective(&self, ids: &[Id]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let sql = format!(
            "UPDATE defeat_request SET subjective = TRUE WHERE id IN ({})",
            list.join(", ")
        );
        on_pool!(self, p => Ok(sqlx::query(AssertSqlSafe(sql)).execute(p).await?.rows_affected()))
    }

    // ---- analytics --------------------------------------------------------------------------

    /// The sales counts of a period, broken down by a dimension, within the scope and the
    /// filters: one grouped query per kind of event, each on an index of its date.
    pub async fn sales_counts(
        &self,
        scope: &Scope,
        f: &SalesFilter,
        by: SalesDimension,
    ) -> Result<Vec<KeyedCounts>> {
        use std::collections::BTreeMap;
        let mut out: BTreeMap<String, dealerbase_domain::sales::SalesCounts> = BTreeMap::new();
        // Days before `built_until` from the nightly facts, the rest from the records.
        let built = self.sales_facts_built_until().await?;
        let split = built.map_or(f.from, |b| b.clamp(f.from, f.until));
        if split > f.from {
            self.funnel_from_facts(scope, f, f.from, split, by, &mut out)
                .await?;
        }
        if split < f.until {
            self.funnel_from_records(scope, f, split, f.until, by, &mut out)
                .await?;
        }
        Ok(out.into_iter().collect())
    }

    /// The first day the funnel facts do not cover (None: never built).
    pub async fn sales_facts_built_until(&self) -> Result<Option<NaiveDate>> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, Option<NaiveDate>>(
            "SELECT built_until FROM sales_fact_state WHERE id = 1").fetch_optional(p).await?)
            .flatten(),
        )
    }

    /// Rebuilds the funnel facts for every day before `until` (China days), in one
    /// transaction: readers see the old facts or the new ones, never a mix. Returns the
    /// number of fact rows.
    pub async fn rebuild_sales_facts(&self, until: NaiveDate, now: DateTime<Utc>) -> Result<u64> {
        let pg = matches!(self.pool, Pool::Postgres(_));
        let until_ts = dealerbase_domain::sales::china_day_start(until);
        let mut statements: Vec<Sql> = Vec::new();
        for (ix, part) in FUNNEL_PARTS.iter().enumerate() {
            let day = match (part.ts, pg) {
                (false, _) => part.date.to_string(),
                (true, false) => format!("date({}, '+8 hours')", part.date),
                (true, true) => format!(
                    "CAST(({} AT TIME ZONE 'UTC') + INTERVAL '8 hours' AS DATE)",
                    part.date
                ),
            };
            let [store, source, model, consultant] = part.cols;
            let mut sql = Sql::new(&format!(
                "INSERT INTO sales_day_fact (day, part, store_id, source, model_id, consultant_id, a, b, c) \
                 SELECT {day}, {ix}, {store}, COALESCE(CAST({source} AS TEXT), ''), COALESCE({model}, 0), COALESCE({consultant}, 0), {} \
                 FROM {} WHERE {} < ",
                part.measures,
                part.from_with_source(),
                part.date
            ));
            if part.ts {
                self.bind_moment(&mut sql, until_ts);
            } else {
                sql.bind_date(until);
            }
            sql.push(part.extra);
            sql.push(" GROUP BY 1, 2, 3, 4, 5, 6");
            statements.push(sql);
        }
        // The same facts by one dimension: per day, and per whole month before the month
        // `until` falls in.
        let month = if pg {
            "CAST(date_trunc('month', day) AS DATE)"
        } else {
            "substr(day, 1, 8) || '01'"
        };
        let mut dims =
            Sql::new("INSERT INTO sales_dim_day_fact (day, part, store_id, dim, k, a, b, c) ");
        for (i, (dim, key, group)) in [
            (1, "source", "source"),
            (
                2,
                "CASE WHEN model_id = 0 THEN '' ELSE CAST(model_id AS TEXT) END",
                "model_id",
            ),
            (
                3,
                "CASE WHEN consultant_id = 0 THEN '' ELSE CAST(consultant_id AS TEXT) END",
                "consultant_id",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                dims.push(" UNION ALL ");
            }
            dims.push(&format!(
                "SELECT day, part, store_id, {dim}, {key}, SUM(a), SUM(b), SUM(c) FROM sales_day_fact \
                 GROUP BY day, part, store_id, {group}"
            ));
        }
        let mut months = Sql::new(&format!(
            "INSERT INTO sales_dim_month_fact (month, part, store_id, dim, k, a, b, c) \
             SELECT {month}, part, store_id, dim, k, SUM(a), SUM(b), SUM(c) FROM sales_dim_day_fact WHERE day < "
        ));
        months.bind_date(until.with_day(1).unwrap_or(until));
        months.push(" GROUP BY 1, 2, 3, 4, 5");
        statements.push(dims);
        statements.push(months);
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for table in ["sales_day_fact", "sales_dim_day_fact", "sales_dim_month_fact"] {
                sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *tx).await?;
            }
            let mut rows = 0;
            let n = statements.len();
            for (i, sql) in statements.into_iter().enumerate() {
                let done = bind_args!(sqlx::query(AssertSqlSafe(sql.text.clone())), sql.args)
                    .execute(&mut *tx).await?.rows_affected();
                // The count is of the day facts (the dimension rows are derived).
                if i + 2 < n {
                    rows += done;
                }
            }
            sqlx::query("UPDATE sales_fact_state SET built_until = $1, built_at = $2 WHERE id = 1")
                .bind(until).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(rows)
        })
    }

    async fn funnel_from_facts(
        &self,
        scope: &Scope,
        f: &SalesFilter,
        from: NaiveDate,
        until: NaiveDate,
        by: SalesDimension,
        out: &mut std::collections::BTreeMap<String, dealerbase_domain::sales::SalesCounts>,
    ) -> Result<()> {
        // At most one of source / model / consultant asked for (breakdown, filters, a
        // consultant's own scope): the facts by that dimension, whole months by month.
        if let Some(dim) = one_dimension(scope, f, by) {
            let first_month = if from.day() == 1 {
                from
            } else {
                from.with_day(1)
                    .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                    .unwrap_or(until)
            };
            let last_month = until.with_day(1).unwrap_or(until);
            if first_month < last_month {
                let dim_read =
                    |table, a, b| self.funnel_from_dim_facts(table, dim, scope, f, a, b, by);
                for (k, part, a, b, c) in dim_read("sales_dim_day_fact", from, first_month)
                    .await?
                    .into_iter()
                    .chain(dim_read("sales_dim_month_fact", first_month, last_month).await?)
                    .chain(dim_read("sales_dim_day_fact", last_month, until).await?)
                {
                    add_funnel_part(out.entry(k).or_default(), part as usize, a, b, c);
                }
            } else {
                for (k, part, a, b, c) in self
                    .funnel_from_dim_facts("sales_dim_day_fact", dim, scope, f, from, until, by)
                    .await?
                {
                    add_funnel_part(out.entry(k).or_default(), part as usize, a, b, c);
                }
            }
            return Ok(());
        }
        let key = match by {
            SalesDimension::Store => "CAST(x.store_id AS TEXT)",
            SalesDimension::Source => "x.source",
            SalesDimension::Model => {
                "CASE WHEN x.model_id = 0 THEN '' ELSE CAST(x.model_id AS TEXT) END"
            }
            SalesDimension::Consultant => {
                "CASE WHEN x.consultant_id = 0 THEN '' ELSE CAST(x.consultant_id AS TEXT) END"
            }
        };
        let mut sql = Sql::new(&format!(
            "SELECT {key} AS k, x.part, CAST(SUM(x.a) AS BIGINT), CAST(SUM(x.b) AS BIGINT), CAST(SUM(x.c) AS BIGINT) \
             FROM sales_day_fact x WHERE x.day >= "
        ));
        sql.bind_date(from);
        sql.push(" AND x.day < ");
        sql.bind_date(until);
        scope_on(&mut sql, scope, "x.store_id", "x.consultant_id");
        if let Some(s) = f.store_id {
            sql.push(" AND x.store_id = ").bind_i64(s);
        }
        if let Some(s) = &f.source {
            sql.push(" AND x.source = ").bind_text(s.clone());
        }
        if let Some(m) = f.model_id {
            sql.push(" AND x.model_id = ").bind_i64(m);
        }
        if let Some(c) = f.consultant_id {
            sql.push(" AND x.consultant_id = ").bind_i64(c);
        }
        sql.push(" GROUP BY 1, 2");
        let rows: Vec<(String, i64, i64, i64, i64)> = on_pool!(self, p => bind_args!(
            sqlx::query_as::<_, (String, i64, i64, i64, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
        for (k, part, a, b, c) in rows {
            add_funnel_part(out.entry(k).or_default(), part as usize, a, b, c);
        }
        Ok(())
    }

    /// (key, part, a, b, c) of the facts by dimension `dim` (1 source, 2 model, 3
    /// consultant) in `table`, for days (or months) in [from, until).
    #[allow(clippy::too_many_arguments)]
    async fn funnel_from_dim_facts(
        &self,
        table: &str,
        dim: i64,
        scope: &Scope,
        f: &SalesFilter,
        from: NaiveDate,
        until: NaiveDate,
        by: SalesDimension,
    ) -> Result<Vec<(String, i64, i64, i64, i64)>> {
        if from >= until {
            return Ok(Vec::new());
        }
        let day = if table == "sales_dim_month_fact" {
            "month"
        } else {
            "day"
        };
        let key = match by {
            SalesDimension::Store => "CAST(x.store_id AS TEXT)",
            _ => "x.k",
        };
        let mut sql = Sql::new(&format!(
            "SELECT {key} AS k, x.part, CAST(SUM(x.a) AS BIGINT), CAST(SUM(x.b) AS BIGINT), CAST(SUM(x.c) AS BIGINT) \
             FROM {table} x WHERE x.dim = "
        ));
        sql.bind_i64(dim);
        sql.push(&format!(" AND x.{day} >= "));
        sql.bind_date(from);
        sql.push(&format!(" AND x.{day} < "));
        sql.bind_date(until);
        match *scope {
            Scope::Own { store_id, staff_id } => {
                // one_dimension chose the consultant dimension.
                sql.push(" AND x.store_id = ").bind_i64(store_id);
                sql.push(" AND x.k = ").bind_text(staff_id.to_string());
            }
            _ => scope_on(&mut sql, scope, "x.store_id", "x.k"),
        }
        if let Some(s) = f.store_id {
            sql.push(" AND x.store_id = ").bind_i64(s);
        }
        let wanted = match dim {
            1 => f.source.clone(),
            2 => f.model_id.map(|m| m.to_string()),
            _ => f.consultant_id.map(|c| c.to_string()),
        };
        if let Some(k) = wanted {
            sql.push(" AND x.k = ").bind_text(k);
        }
        sql.push(" GROUP BY 1, 2");
        Ok(on_pool!(self, p => bind_args!(
            sqlx::query_as::<_, (String, i64, i64, i64, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    async fn funnel_from_records(
        &self,
        scope: &Scope,
        f: &SalesFilter,
        from: NaiveDate,
        until: NaiveDate,
        by: SalesDimension,
        out: &mut std::collections::BTreeMap<String, dealerbase_domain::sales::SalesCounts>,
    ) -> Result<()> {
        let from_ts = dealerbase_domain::sales::china_day_start(from);
        let until_ts = dealerbase_domain::sales::china_day_start(until);
        let dim = match by {
            SalesDimension::Store => 0,
            SalesDimension::Source => 1,
            SalesDimension::Model => 2,
            SalesDimension::Consultant => 3,
        };
        let need_source = by == SalesDimension::Source || f.source.is_some();
        for (ix, part) in FUNNEL_PARTS.iter().enumerate() {
            let key = part.cols[dim];
            // Tables that carry their own store, model and staff join the lead only for
            // its source.
            let from_tables = if need_source {
                part.from_with_source()
            } else {
                part.from
            };
            let mut sql = Sql::new(&format!(
                "SELECT COALESCE(CAST({key} AS TEXT), '') AS k, {} FROM {from_tables} WHERE {} >= ",
                part.measures, part.date
            ));
            if part.ts {
                self.bind_moment(&mut sql, from_ts);
            } else {
                sql.bind_date(from);
            }
            sql.push(&format!(" AND {} < ", part.date));
            if part.ts {
                self.bind_moment(&mut sql, until_ts);
            } else {
                sql.bind_date(until);
            }
            sql.push(part.extra);
            scope_on(&mut sql, scope, part.cols[0], part.cols[3]);
            if let Some(s) = f.store_id {
                sql.push(&format!(" AND {} = ", part.cols[0])).bind_i64(s);
            }
            if let Some(s) = &f.source {
                sql.push(&format!(" AND {} = ", part.cols[1]))
                    .bind_text(s.clone());
            }
            if let Some(m) = f.model_id {
                sql.push(&format!(" AND {} = ", part.cols[2])).bind_i64(m);
            }
            if let Some(c) = f.consultant_id {
                sql.push(&format!(" AND {} = ", part.cols[3])).bind_i64(c);
            }
            sql.push(" GROUP BY 1");
            let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = on_pool!(self, p => bind_args!(
                sqlx::query_as::<_, (String, i64, Option<i64>, Option<i64>)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
            for (k, a, b, c) in rows {
                add_funnel_part(
                    out.entry(k).or_default(),
                    ix,
                    a,
                    b.unwrap_or(0),
                    c.unwrap_or(0),
                );
            }
        }
        Ok(())
    }

    /// Approved defeats of the period by reason, and by competitor brand and model.
    #[allow(clippy::type_complexity)]
    pub async fn defeat_breakdown(
        &self,
        scope: &Scope,
        f: &SalesFilter,
    ) -> Result<(Vec<(String, i64)>, Vec<(String, String, i64)>)> {
        let base = |sel: &str, this: &Db| {
            let mut sql = Sql::new(&format!(
                "SELECT {sel} FROM defeat_request d JOIN lead l ON l.id = d.lead_id WHERE d.status = 'approved' AND d.decided_at >= "
            ));
            this.bind_moment(&mut sql, dealerbase_domain::sales::china_day_start(f.from));
            sql.push(" AND d.decided_at < ");
            this.bind_moment(&mut sql, dealerbase_domain::sales::china_day_start(f.until));
            scope_on(&mut sql, scope, "l.store_id", "l.owner_id");
            if let Some(s) = f.store_id {
                sql.push(" AND l.store_id = ").bind_i64(s);
            }
            if let Some(s) = &f.source {
                sql.push(" AND l.source = ").bind_text(s.clone());
            }
            if let Some(m) = f.model_id {
                sql.push(" AND l.desired_model_id = ").bind_i64(m);
            }
            if let Some(c) = f.consultant_id {
                sql.push(" AND l.owner_id = ").bind_i64(c);
            }
            sql
        };
        let mut by_reason = base("d.reason, COUNT(*)", self);
        by_reason.push(" GROUP BY d.reason ORDER BY 2 DESC, 1");
        let mut by_competitor = base(
            "COALESCE(d.competitor_brand, ''), COALESCE(d.competitor_model, ''), COUNT(*)",
            self,
        );
        by_competitor
            .push(" AND d.reason = 'competitor_brand' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2");
        let reasons: Vec<(String, i64)> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(by_reason.text.clone())), by_reason.args).fetch_all(p).await?);
        let competitors: Vec<(String, String, i64)> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, (String, String, i64)>(AssertSqlSafe(by_competitor.text.clone())), by_competitor.args).fetch_all(p).await?);
        Ok((reasons, competitors))
    }

    /// Open leads (open or ordered) by store and grade in the scope and filters.
    pub async fn open_leads_by_store_grade(
        &self,
        scope: &Scope,
        f: &SalesFilter,
    ) -> Result<Vec<(Id, String, i64)>> {
        let mut sql = Sql::new(
            "SELECT l.store_id, l.grade, COUNT(*) FROM lead l WHERE l.status IN ('open', 'ordered')",
        );
        scope_on(&mut sql, scope, "l.store_id", "l.owner_id");
        if let Some(s) = f.store_id {
            sql.push(" AND l.store_id = ").bind_i64(s);
        }
        if let Some(s) = &f.source {
            sql.push(" AND l.source = ").bind_text(s.clone());
        }
        if let Some(m) = f.model_id {
            sql.push(" AND l.desired_model_id = ").bind_i64(m);
        }
        if let Some(c) = f.consultant_id {
            sql.push(" AND l.owner_id = ").bind_i64(c);
        }
        sql.push(" GROUP BY l.store_id, l.grade");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, (i64, String, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// Stores of the scope (for the forecast's per-store rates).
    pub async fn stores_in_scope(&self, scope: &Scope) -> Result<Vec<Id>> {
        let mut sql = Sql::new("SELECT s.id FROM store s WHERE 1 = 1");
        match *scope {
            Scope::Group { group_id } => {
                sql.push(" AND s.group_id = ").bind_i64(group_id);
            }
            Scope::Store { store_id } | Scope::Own { store_id, .. } => {
                sql.push(" AND s.id = ").bind_i64(store_id);
            }
        }
        sql.push(" ORDER BY s.id");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// The saved close rates per grade of some stores: (store, grade, as_of, graded, ordered).
    #[allow(clippy::type_complexity)]
    pub async fn grade_close_rates(
        &self,
        store_ids: &[Id],
    ) -> Result<Vec<(Id, String, NaiveDate, i64, i64)>> {
        if store_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = store_ids.iter().map(|i| i.to_string()).collect();
        let sql = format!(
            "SELECT store_id, grade, as_of, graded, ordered FROM grade_close_rate WHERE store_id IN ({}) ORDER BY store_id, grade",
            ids.join(", ")
        );
        on_pool!(self, p => Ok(sqlx::query_as(AssertSqlSafe(sql)).fetch_all(p).await?))
    }

    /// Replaces a store's close rates — one transaction.
    pub async fn save_grade_close_rates(
        &self,
        store_id: Id,
        as_of: NaiveDate,
        rows: &[(String, i64, i64)],
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM grade_close_rate WHERE store_id = $1").bind(store_id).execute(&mut *tx).await?;
            for (grade, graded, ordered) in rows {
                sqlx::query("INSERT INTO grade_close_rate (store_id, grade, as_of, graded, ordered) VALUES ($1, $2, $3, $4, $5)")
                    .bind(store_id).bind(grade).bind(as_of).bind(graded).bind(ordered).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Gradings of a store's leads in [from, until): (lead, grade given, when).
    pub async fn store_gradings(
        &self,
        store_id: Id,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(Id, String, DateTime<Utc>)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, String, DateTime<Utc>)>(
            "SELECT c.lead_id, c.grade_after, c.occurred_at FROM contact c WHERE c.store_id = $1 AND c.lead_id IS NOT NULL \
             AND c.grade_after IS NOT NULL AND c.occurred_at >= $2 AND c.occurred_at < $3")
            .bind(store_id).bind(from).bind(until).fetch_all(p).await?))
    }

    /// First order day of each lead of a store with an order on or after `since`.
    pub async fn store_first_orders(
        &self,
        store_id: Id,
        since: NaiveDate,
    ) -> Result<Vec<(Id, NaiveDate)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, NaiveDate)>(
            "SELECT o.lead_id, MIN(o.ordered_on) FROM sales_order o WHERE o.store_id = $1 AND o.lead_id IS NOT NULL AND o.ordered_on >= $2 GROUP BY o.lead_id")
            .bind(store_id).bind(since).fetch_all(p).await?))
    }
}

const VISIT_SELECT: &str = "SELECT v.id, v.store_id, v.channel, v.arrived_at, v.left_at, v.party_size, v.consultant_id, s.name AS consultant_name, \
     v.first_visit, v.source, v.desired_model_id, m.name AS model_name, v.customer_id, c.name AS customer_name, v.lead_id, v.visitor_name, \
     COALESCE(v.mobile, c.mobile) AS mobile, v.note \
     FROM showroom_visit v LEFT JOIN staff s ON s.id = v.consultant_id LEFT JOIN vehicle_model m ON m.id = v.desired_model_id \
     LEFT JOIN customer c ON c.id = v.customer_id";

const DEFEAT_SELECT: &str = "SELECT d.id, d.lead_id, l.store_id, l.customer_id, c.name AS customer_name, l.grade, d.requested_by, \
     s.name AS requested_by_name, d.requested_at, d.reason, d.competitor_brand, d.competitor_model, d.note, d.status, d.subjective, \
     d.decided_by, d.decided_at, d.manager_comment \
     FROM defeat_request d JOIN lead l ON l.id = d.lead_id JOIN customer c ON c.id = l.customer_id LEFT JOIN staff s ON s.id = d.requested_by";

const REPORT_SELECT: &str = "SELECT r.id, r.store_id, r.staff_id, s.name AS staff_name, r.report_date, r.figures, r.plan, r.submitted_at, \
     r.signed_by, m.name AS signed_by_name, r.signed_at, r.manager_comment \
     FROM daily_report r JOIN staff s ON s.id = r.staff_id LEFT JOIN staff m ON m.id = r.signed_by";
