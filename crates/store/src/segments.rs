//! Segments as SQL: a validated condition tree (dealerbase-domain `segment::Node`) becomes
//! the WHERE clause of ONE query over `customer c`, with every value a bind parameter.
//!
//! Customer fields are conditions on `c`. Vehicle, lead, policy and mining conditions are
//! semi-joins `c.id IN (SELECT customer_id FROM … WHERE …)`; the leaves of one kind that
//! sit directly in the same AND group share one subquery, so they must hold for the same
//! car, lead, policy or score row ("a Passat bought before 2020", not "a Passat, and some
//! car bought before 2020"). The last visit is the customer's own column `last_visit_on`
//! (kept by triggers on work_order); visits and spend in a window are aggregates, each its
//! own subquery on `work_order (opened_on, customer_id)`.
//! We write semi-joins as uncorrelated `IN` rather than correlated `EXISTS`: PostgreSQL
//! plans both as a semi-join, but SQLite runs a correlated EXISTS once per customer
//! (a million probes) while it evaluates an uncorrelated IN once, from the index of the
//! selective condition (policy end date, due date, grade …), into a temporary set.
//! Scope is the customer list's own condition (`Sql::customer_scope`).

use crate::model::{Id, Page};
use crate::sql::{Arg, Scope, Sql, bind_args};
use crate::{Db, Result, StoreError, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use dealerbase_domain::sales::china_day_start;
use dealerbase_domain::segment::{
    self, Arg as SArg, DateBounds, Entity, Field, Leaf, Node, Op, age_bounds, date_bounds,
    int_bounds,
};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

use crate::mining::LATEST_RUN;

/// A customer of a segment as lists show them. `mobile` is as stored: the service masks it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct SegmentCustomer {
    pub id: Id,
    pub name: String,
    pub mobile: Option<String>,
    pub store_id: Id,
    pub store_name: String,
    pub class: String,
    pub consultant_id: Option<Id>,
    pub consultant_name: Option<String>,
}

/// A saved segment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct SegmentRow {
    pub id: Id,
    pub group_id: Id,
    pub store_id: Option<Id>,
    pub name: String,
    /// The condition tree as JSON text.
    pub definition: String,
    /// dynamic | frozen
    pub mode: String,
    pub frozen_at: Option<DateTime<Utc>>,
    pub member_count: i64,
    pub created_by: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the compiled query needs besides the tree.
#[derive(Debug, Clone, Copy)]
pub struct SegmentQuery<'a> {
    pub scope: &'a Scope,
    pub node: &'a Node,
    /// The dealer's today: relative dates are resolved against it.
    pub today: NaiveDate,
}

const FROM: &str = " FROM customer c WHERE c.merged_into IS NULL";

/// ` AND <scope> AND (<tree>)` for `customer c`.
fn where_clause(q: &mut Sql, sq: &SegmentQuery) {
    q.customer_scope(sq.scope, "c");
    q.push(" AND ");
    node(q, sq.node, sq.today);
}

fn node(q: &mut Sql, n: &Node, today: NaiveDate) {
    match n {
        Node::And(children) => {
            if children.is_empty() {
                q.push("1 = 1");
                return;
            }
            // Leaves on the same kind of record share one subquery.
            let mut parts: Vec<Part> = Vec::new();
            for c in children {
                match c {
                    Node::Leaf(l) if grouped(entity(l)) => {
                        let e = entity(l);
                        match parts
                            .iter_mut()
                            .find(|p| matches!(p, Part::Group(g, _) if *g == e))
                        {
                            Some(Part::Group(_, ls)) => ls.push(l),
                            _ => parts.push(Part::Group(e, vec![l])),
                        }
                    }
                    other => parts.push(Part::Node(other)),
                }
            }
            q.push("(");
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    q.push(" AND ");
                }
                match p {
                    Part::Group(e, ls) => group(q, *e, ls, today),
                    Part::Node(n) => node(q, n, today),
                }
            }
            q.push(")");
        }
        Node::Or(children) => {
            q.push("(");
            for (i, c) in children.iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                node(q, c, today);
            }
            q.push(")");
        }
        Node::Not(c) => {
            q.push("NOT (");
            node(q, c, today);
            q.push(")");
        }
        Node::Leaf(l) if grouped(entity(l)) => group(q, entity(l), &[l], today),
        Node::Leaf(l) => leaf(q, l, today),
    }
}

enum Part<'a> {
    Group(Entity, Vec<&'a Leaf>),
    Node(&'a Node),
}

fn entity(l: &Leaf) -> Entity {
    segment::def_of(l.field).entity
}

fn grouped(e: Entity) -> bool {
    matches!(
        e,
        Entity::Vehicle | Entity::Lead | Entity::Policy | Entity::Mining
    )
}

/// `c.id IN (SELECT <x>.customer_id FROM … WHERE <leaves>)`.
fn group(q: &mut Sql, e: Entity, leaves: &[&Leaf], today: NaiveDate) {
    match e {
        Entity::Vehicle => {
            let names = leaves.iter().any(|l| {
                matches!(
                    l.field,
                    Field::VehicleBrand | Field::VehicleSeries | Field::VehicleModel
                )
            });
            let due = leaves
                .iter()
                .any(|l| l.field == Field::VehicleNextServiceDue);
            q.push("c.id IN (SELECT o.customer_id FROM vehicle_ownership o JOIN vehicle v ON v.id = o.vehicle_id");
            if names {
                q.push(" JOIN vehicle_model vm ON vm.id = v.model_id JOIN series vs ON vs.id = vm.series_id JOIN brand vb ON vb.id = vs.brand_id");
            }
            if due {
                q.push(" LEFT JOIN vehicle_service_status vss ON vss.vehicle_id = v.id");
            }
            q.push(" WHERE o.to_date IS NULL");
        }
        Entity::Lead => {
            q.push("c.id IN (SELECT l.customer_id FROM lead l WHERE 1 = 1");
        }
        Entity::Policy => {
            q.push("c.id IN (SELECT p.customer_id FROM insurance_policy p WHERE 1 = 1");
        }
        Entity::Mining => {
            q.push("c.id IN (SELECT s.customer_id FROM customer_score s WHERE s.run_id = ")
                .push(LATEST_RUN);
        }
        Entity::Customer | Entity::WorkOrder => unreachable!("not grouped"),
    }
    for l in leaves {
        q.push(" AND ");
        leaf(q, l, today);
    }
    q.push(")");
}

fn date_col(q: &mut Sql, col: &str, b: DateBounds) {
    q.push("(").push(col).push(" IS NOT NULL");
    if let Some(f) = b.from {
        q.push(" AND ").push(col).push(" >= ").bind_date(f);
    }
    if let Some(t) = b.to {
        q.push(" AND ").push(col).push(" <= ").bind_date(t);
    }
    q.push(")");
}

/// A timestamp column against China calendar-day bounds.
fn ts_col(q: &mut Sql, col: &str, b: DateBounds) {
    q.push("(").push(col).push(" IS NOT NULL");
    if let Some(f) = b.from {
        q.push(" AND ").push(col).push(" >= ");
        q.bind(Arg::Ts(china_day_start(f)));
    }
    if let Some(t) = b.to {
        q.push(" AND ").push(col).push(" < ");
        q.bind(Arg::Ts(china_day_start(t.succ_opt().unwrap_or(t))));
    }
    q.push(")");
}

fn set_col(q: &mut Sql, col: &str, op: Op) {
    match op {
        Op::IsSet => q.push("(").push(col).push(" IS NOT NULL)"),
        _ => q.push("(").push(col).push(" IS NULL)"),
    };
}

/// Dates (`col`) or set tests, for a date leaf.
fn date_leaf(q: &mut Sql, col: &str, l: &Leaf, today: NaiveDate) {
    match date_bounds(l.op, &l.arg, today) {
        Some(b) => date_col(q, col, b),
        None => set_col(q, col, l.op),
    }
}

fn like_pattern(s: &str) -> String {
    let mut out = String::from("%");
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// Text operators on one or more columns (any column matching is a match; `ne` needs all
/// to differ). Nullable columns count NULL as "not equal".
fn text_leaf(q: &mut Sql, cols: &[&str], l: &Leaf) {
    let v = match &l.arg {
        SArg::Text(t) => t.clone(),
        _ => String::new(),
    };
    match l.op {
        Op::IsSet | Op::NotSet => {
            let c = cols[0];
            if l.op == Op::IsSet {
                q.push(&format!("({c} IS NOT NULL AND {c} <> '')"));
            } else {
                q.push(&format!("({c} IS NULL OR {c} = '')"));
            }
        }
        Op::Ne => {
            q.push("(");
            for (i, c) in cols.iter().enumerate() {
                if i > 0 {
                    q.push(" AND ");
                }
                q.push(&format!("({c} IS NULL OR {c} <> "))
                    .bind_text(v.clone())
                    .push(")");
            }
            q.push(")");
        }
        _ => {
            q.push("(");
            for (i, c) in cols.iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                if l.op == Op::Contains {
                    q.push(&format!("{c} LIKE "))
                        .bind_text(like_pattern(&v))
                        .push(" ESCAPE '\\'");
                } else {
                    q.push(&format!("{c} = ")).bind_text(v.clone());
                }
            }
            q.push(")");
        }
    }
}

fn in_list(q: &mut Sql, col: &str, l: &Leaf, nullable: bool) {
    let not = l.op == Op::NotIn;
    if not && nullable {
        q.push(&format!("({col} IS NULL OR "));
    }
    q.push(col).push(if not { " NOT IN (" } else { " IN (" });
    match &l.arg {
        SArg::Texts(v) => {
            for (i, t) in v.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind_text(t.clone());
            }
        }
        SArg::Ids(v) => {
            for (i, t) in v.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind_i64(*t);
            }
        }
        _ => {
            q.push("NULL");
        }
    }
    q.push(")");
    if not && nullable {
        q.push(")");
    }
}

fn bool_leaf(q: &mut Sql, cond: &str, l: &Leaf) {
    if l.op == Op::IsTrue {
        q.push("(").push(cond).push(")");
    } else {
        q.push("NOT (").push(cond).push(")");
    }
}

/// A number operator on a column, with values scaled (percent → share, yuan → fen).
fn num_leaf(q: &mut Sql, col: &str, l: &Leaf, scale: f64, as_int: bool) {
    let bind = |q: &mut Sql, v: f64| {
        if as_int {
            q.bind_i64((v * scale).round() as i64);
        } else {
            q.bind(Arg::F64(v * scale));
        }
    };
    match (l.op, &l.arg) {
        (Op::IsSet | Op::NotSet, _) => set_col(q, col, l.op),
        (Op::Between, SArg::Range(a, b)) => {
            q.push("(").push(col).push(" >= ");
            bind(q, *a);
            q.push(" AND ").push(col).push(" <= ");
            bind(q, *b);
            q.push(")");
        }
        (op, SArg::Num(v)) => {
            let sign = match op {
                Op::Lt => " < ",
                Op::Le => " <= ",
                Op::Gt => " > ",
                Op::Ge => " >= ",
                _ => " = ",
            };
            q.push("(").push(col).push(sign);
            bind(q, *v);
            q.push(")");
        }
        _ => {
            q.push("1 = 0");
        }
    }
}

/// Does 0 satisfy the number condition? (A customer with no work order in the window has
/// 0 visits and spent 0.)
fn zero_matches(l: &Leaf) -> bool {
    match (l.op, &l.arg) {
        (Op::Eq, SArg::Num(v)) => *v == 0.0,
        (Op::Lt, SArg::Num(v)) => 0.0 < *v,
        (Op::Le, SArg::Num(v)) => 0.0 <= *v,
        (Op::Gt, SArg::Num(v)) => 0.0 > *v,
        (Op::Ge, SArg::Num(v)) => 0.0 >= *v,
        (Op::Between, SArg::Range(a, b)) => *a <= 0.0 && 0.0 <= *b,
        _ => false,
    }
}

const VISITS: &str = "SELECT w.customer_id FROM work_order w WHERE w.kind <> 'pdi'";

/// "The customer's last visit is within the bounds": the customer's own column, kept by
/// triggers on work_order (migration 19), on its index `customer_last_visit`.
fn last_visit(q: &mut Sql, b: DateBounds) {
    date_col(q, "c.last_visit_on", b);
}

fn leaf(q: &mut Sql, l: &Leaf, today: NaiveDate) {
    match l.field {
        Field::CustomerKind => in_list(q, "c.kind", l, false),
        Field::CustomerClass => in_list(q, "c.class", l, false),
        Field::CustomerStore => in_list(q, "c.store_id", l, false),
        Field::CustomerConsultant => match l.op {
            Op::IsSet | Op::NotSet => set_col(q, "c.consultant_id", l.op),
            _ => in_list(q, "c.consultant_id", l, true),
        },
        Field::CustomerCity => text_leaf(q, &["c.city_code"], l),
        Field::CustomerGender => match l.op {
            Op::IsSet | Op::NotSet => set_col(q, "c.gender", l.op),
            _ => in_list(q, "c.gender", l, true),
        },
        Field::CustomerAge => {
            let (lo, hi) = int_bounds(l.op, &l.arg).unwrap_or((None, None));
            date_col(q, "c.birthday", age_bounds(lo, hi, today, 12));
        }
        Field::CustomerSource => text_leaf(q, &["c.source"], l),
        Field::CustomerVip => bool_leaf(q, "c.vip", l),
        Field::CustomerHasMobile => bool_leaf(q, "c.mobile IS NOT NULL AND c.mobile <> ''", l),
        Field::CustomerCreated => {
            let b = date_bounds(l.op, &l.arg, today).unwrap_or(DateBounds {
                from: None,
                to: None,
            });
            ts_col(q, "c.created_at", b);
        }
        Field::ConsentMarketingSms | Field::ConsentMarketingEmail => {
            let channel = if l.field == Field::ConsentMarketingSms {
                "sms"
            } else {
                "email"
            };
            let cond = format!(
                "c.id IN (SELECT k.customer_id FROM consent k WHERE k.purpose = 'marketing' AND k.channel = '{channel}' AND k.withdrawn_at IS NULL)"
            );
            bool_leaf(q, &cond, l);
        }
        Field::VehicleBrand => text_leaf(q, &["vb.name", "vb.name_en"], l),
        Field::VehicleSeries => text_leaf(q, &["vs.name"], l),
        Field::VehicleModel => text_leaf(q, &["vm.name", "vm.code"], l),
        Field::VehiclePurchaseDate => date_leaf(q, "v.purchase_date", l, today),
        Field::VehicleAgeYears => {
            let (lo, hi) = int_bounds(l.op, &l.arg).unwrap_or((None, None));
            date_col(q, "v.purchase_date", age_bounds(lo, hi, today, 12));
        }
        Field::VehicleMileage => match l.op {
            Op::IsSet => {
                q.push("v.id IN (SELECT r.vehicle_id FROM odometer_reading r)");
            }
            Op::NotSet => {
                q.push("v.id NOT IN (SELECT r.vehicle_id FROM odometer_reading r)");
            }
            _ => num_leaf(
                q,
                "(SELECT MAX(r.km) FROM odometer_reading r WHERE r.vehicle_id = v.id)",
                l,
                1.0,
                true,
            ),
        },
        Field::VehicleNextServiceDue => date_leaf(q, "vss.next_due_on", l, today),
        Field::VehicleInspectionDue => date_leaf(q, "v.inspection_due", l, today),
        Field::VehicleOwnSold => bool_leaf(q, "v.own_sold", l),
        Field::LeadGrade => in_list(q, "l.grade", l, false),
        Field::LeadStatus => in_list(q, "l.status", l, false),
        Field::LeadSource => in_list(q, "l.source", l, false),
        Field::LeadCreated => {
            let b = date_bounds(l.op, &l.arg, today).unwrap_or(DateBounds {
                from: None,
                to: None,
            });
            ts_col(q, "l.created_at", b);
        }
        Field::LeadDaysSinceContact => {
            // At least N whole days since the last contact: no contact from the start of
            // day today − N + 1 on (a lead never contacted qualifies).
            let (lo, _) = int_bounds(l.op, &l.arg).unwrap_or((Some(0), None));
            let n = lo.unwrap_or(0).max(0);
            let since = today
                .checked_sub_days(chrono::Days::new(n as u64))
                .and_then(|d| d.succ_opt())
                .unwrap_or(today);
            q.push("l.id NOT IN (SELECT x.lead_id FROM contact x WHERE x.lead_id IS NOT NULL AND x.occurred_at >= ");
            q.bind(Arg::Ts(china_day_start(since)));
            q.push(")");
        }
        Field::LeadNextFollowUp => date_leaf(q, "l.next_follow_up", l, today),
        Field::WorkOrderLastVisit => match date_bounds(l.op, &l.arg, today) {
            Some(b) => last_visit(q, b),
            None => set_col(q, "c.last_visit_on", l.op),
        },
        Field::WorkOrderMonthsSinceVisit => {
            let (lo, hi) = int_bounds(l.op, &l.arg).unwrap_or((None, None));
            last_visit(q, age_bounds(lo, hi, today, 1));
        }
        Field::WorkOrderVisits | Field::WorkOrderSpend => {
            let months = l.months.unwrap_or(12);
            let from = today
                .checked_sub_months(chrono::Months::new(months))
                .unwrap_or(today);
            let zero = zero_matches(l);
            q.push(if zero { "c.id NOT IN (" } else { "c.id IN (" })
                .push(VISITS)
                .push(" AND w.opened_on > ")
                .bind_date(from)
                .push(" GROUP BY w.customer_id HAVING ");
            if zero {
                q.push("NOT ");
            }
            if l.field == Field::WorkOrderVisits {
                num_leaf(q, "COUNT(*)", l, 1.0, true);
            } else {
                num_leaf(q, "SUM(w.total_fen)", l, 100.0, true);
            }
            q.push(")");
        }
        Field::PolicyEndDate => date_leaf(q, "p.end_date", l, today),
        Field::PolicyKind => in_list(q, "p.kind", l, false),
        // Correlated on purpose: it is asked only of the policies the other conditions left
        // (an uncorrelated list would gather every renewal of the group first).
        Field::PolicyRenewed => bool_leaf(
            q,
            "EXISTS (SELECT 1 FROM insurance_policy rn WHERE rn.renewal_of = p.id)",
            l,
        ),
        Field::MiningSegment => in_list(q, "s.segment", l, false),
        Field::MiningTier => in_list(q, "s.tier", l, false),
        Field::MiningChurnRisk => num_leaf(q, "s.churn_risk", l, 0.01, false),
        Field::MiningClv => num_leaf(q, "s.clv_fen", l, 100.0, true),
        Field::MiningPAlive => num_leaf(q, "s.p_alive", l, 0.01, false),
        Field::MiningTradeIn => num_leaf(q, "s.trade_in", l, 0.01, false),
        Field::MiningMonetary => num_leaf(q, "s.monetary_fen", l, 100.0, true),
        Field::MiningCluster => num_leaf(q, "s.cluster", l, 1.0, true),
    }
}

const CUSTOMER_SELECT: &str = "SELECT c.id, c.name, c.mobile, c.store_id, st.name AS store_name, c.class, \
     c.consultant_id, sf.name AS consultant_name \
     FROM customer c JOIN store st ON st.id = c.store_id LEFT JOIN staff sf ON sf.id = c.consultant_id \
     WHERE c.merged_into IS NULL";

impl Db {
    /// The SQL of a segment's count, for EXPLAIN and the tests (values stay parameters).
    pub fn segment_count_sql(sq: &SegmentQuery) -> (String, usize) {
        let mut q = Sql::new("SELECT COUNT(*)");
        q.push(FROM);
        where_clause(&mut q, sq);
        let n = q.args.len();
        (q.text, n)
    }

    /// How many customers in scope the segment holds.
    pub async fn segment_count(&self, sq: &SegmentQuery<'_>) -> Result<i64> {
        let mut q = Sql::new("SELECT COUNT(*)");
        q.push(FROM);
        where_clause(&mut q, sq);
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)), q.args)
            .fetch_one(p).await?))
    }

    /// The query plan of a segment's count (EXPLAIN QUERY PLAN / EXPLAIN), one line a row.
    pub async fn segment_explain(&self, sq: &SegmentQuery<'_>) -> Result<Vec<String>> {
        let mut q = Sql::new("SELECT COUNT(*)");
        q.push(FROM);
        where_clause(&mut q, sq);
        match &self.pool {
            crate::Pool::Sqlite(p) => {
                let sql = format!("EXPLAIN QUERY PLAN {}", q.text);
                let rows: Vec<(i64, i64, i64, String)> =
                    bind_args!(sqlx::query_as(AssertSqlSafe(sql)), q.args)
                        .fetch_all(p)
                        .await?;
                Ok(rows.into_iter().map(|r| r.3).collect())
            }
            crate::Pool::Postgres(p) => {
                let sql = format!("EXPLAIN {}", q.text);
                Ok(
                    bind_args!(sqlx::query_scalar::<_, String>(AssertSqlSafe(sql)), q.args)
                        .fetch_all(p)
                        .await?,
                )
            }
        }
    }

    /// Up to `limit` customers of the segment after customer `after`, in id order: the
    /// sample (`after` 0), a page of members, and the walk over all of them (by chunks).
    pub async fn segment_customers(
        &self,
        sq: &SegmentQuery<'_>,
        after: Id,
        limit: i64,
    ) -> Result<Vec<SegmentCustomer>> {
        let mut q = Sql::new(CUSTOMER_SELECT);
        where_clause(&mut q, sq);
        q.push(" AND c.id > ").bind_i64(after);
        q.push(" ORDER BY c.id LIMIT ").bind_i64(limit);
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, SegmentCustomer>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?))
    }

    /// The ids of the segment's customers after `after`, in id order, `limit` at a time.
    pub async fn segment_ids(
        &self,
        sq: &SegmentQuery<'_>,
        after: Id,
        limit: i64,
    ) -> Result<Vec<Id>> {
        let mut q = Sql::new("SELECT c.id");
        q.push(FROM);
        where_clause(&mut q, sq);
        q.push(" AND c.id > ").bind_i64(after);
        q.push(" ORDER BY c.id LIMIT ").bind_i64(limit);
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?))
    }

    /// Members of a frozen segment still in the reader's scope, after `after`, in id order.
    pub async fn frozen_members(
        &self,
        scope: &Scope,
        segment_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<SegmentCustomer>> {
        let mut q = Sql::new(CUSTOMER_SELECT);
        q.customer_scope(scope, "c");
        q.push(" AND c.id IN (SELECT m.customer_id FROM segment_member m WHERE m.segment_id = ")
            .bind_i64(segment_id)
            .push(")");
        q.push(" AND c.id > ").bind_i64(after);
        q.push(" ORDER BY c.id LIMIT ").bind_i64(limit);
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, SegmentCustomer>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?))
    }

    /// Frozen members' ids after `after` (no scope: the list as frozen), `limit` at a time.
    pub async fn frozen_member_ids(
        &self,
        segment_id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<Id>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT customer_id FROM segment_member WHERE segment_id = $1 AND customer_id > $2 ORDER BY customer_id LIMIT $3")
            .bind(segment_id).bind(after).bind(limit).fetch_all(p).await?))
    }

    /// Saves a new segment.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_segment(
        &self,
        group_id: Id,
        store_id: Option<Id>,
        name: &str,
        definition: &str,
        created_by: Id,
        now: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO segment (group_id, store_id, name, definition, mode, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'dynamic', $5, $6, $6) RETURNING id")
            .bind(group_id).bind(store_id).bind(name).bind(definition).bind(created_by).bind(now)
            .fetch_one(p).await?))
    }

    /// Changes a dynamic segment's name and definition.
    pub async fn update_segment(
        &self,
        id: Id,
        name: &str,
        definition: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE segment SET name = $2, definition = $3, updated_at = $4 WHERE id = $1")
            .bind(id).bind(name).bind(definition).bind(now).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound {
                entity: "segment",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    pub async fn segment(&self, id: Id) -> Result<SegmentRow> {
        let row = on_pool!(self, p => sqlx::query_as::<_, SegmentRow>("SELECT * FROM segment WHERE id = $1")
            .bind(id).fetch_optional(p).await?);
        row.ok_or(StoreError::NotFound {
            entity: "segment",
            id: id.to_string(),
        })
    }

    /// Saved segments of a group; with a store, that store's and the group-level ones.
    pub async fn segments(
        &self,
        group_id: Id,
        store_id: Option<Id>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<SegmentRow>> {
        let mut q = Sql::new("SELECT * FROM segment WHERE group_id = ");
        q.bind_i64(group_id);
        if let Some(s) = store_id {
            q.push(" AND (store_id IS NULL OR store_id = ")
                .bind_i64(s)
                .push(")");
        }
        q.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
            .bind_i64(per_page as i64 + 1)
            .push(" OFFSET ")
            .bind_i64(page.saturating_sub(1) as i64 * per_page as i64);
        let sql = q.text.clone();
        let mut items: Vec<SegmentRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, SegmentRow>(AssertSqlSafe(sql)), q.args)
            .fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// Deletes a segment and its member list, in one transaction; a segment a campaign
    /// targets is kept (`Conflict` on `campaign`).
    pub async fn delete_segment(&self, id: Id) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM marketing_campaign WHERE segment_id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            if used > 0 {
                return Err(StoreError::Conflict { field: "campaign", value: used.to_string() });
            }
            sqlx::query("DELETE FROM segment_member WHERE segment_id = $1").bind(id).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM segment WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound { entity: "segment", id: id.to_string() });
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Freezes a segment: its members now (evaluated in `sq`) replace any earlier list, the
    /// mode turns `frozen` and the count is kept — one transaction, one INSERT … SELECT.
    pub async fn freeze_segment(
        &self,
        id: Id,
        sq: &SegmentQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let mut q = Sql::new("INSERT INTO segment_member (segment_id, customer_id) SELECT ");
        q.bind_i64(id);
        q.push(", c.id");
        q.push(FROM);
        where_clause(&mut q, sq);
        let sql = q.text.clone();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM segment_member WHERE segment_id = $1").bind(id).execute(&mut *tx).await?;
            let n = bind_args!(sqlx::query(AssertSqlSafe(sql)), q.args).execute(&mut *tx).await?.rows_affected() as i64;
            let u = sqlx::query("UPDATE segment SET mode = 'frozen', frozen_at = $2, member_count = $3, updated_at = $2 WHERE id = $1")
                .bind(id).bind(now).bind(n).execute(&mut *tx).await?.rows_affected();
            if u == 0 {
                return Err(StoreError::NotFound { entity: "segment", id: id.to_string() });
            }
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Turns a frozen segment dynamic again (its list is dropped), one transaction.
    pub async fn unfreeze_segment(&self, id: Id, now: DateTime<Utc>) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM segment_member WHERE segment_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("UPDATE segment SET mode = 'dynamic', frozen_at = NULL, member_count = 0, updated_at = $2 WHERE id = $1")
                .bind(id).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
