//! The KPI catalogue's SQL (issue 9): for every KPI of `dealerbase_domain::kpi::CATALOGUE`,
//! the record sets that count its numerator and denominator, as set-based queries bounded
//! by a period `[from, until)` and a list of stores (optionally one staff member).
//!
//! A KPI is one or more [`Part`]s; each part is one table (with joins) whose rows add
//! `num` to the numerator and `den` to the denominator. A cohort rate (renewal: policies
//! ending in the period, renewed or not) is one part with `den = 1` and `num = 1 when
//! renewed`; a ratio of two record sets (conversion: orders ÷ new leads) is two parts. The
//! store, staff and group values are therefore always `Σ num ÷ Σ den` over records, and the
//! drill-down lists exactly the rows that were summed.
//!
//! The parts whose window is the period itself are also kept summed per China day, store,
//! staff member and model in `kpi_day_fact` (migration 0018), rebuilt by the nightly job
//! ([`Db::rebuild_kpi_facts`]); [`Db::kpi_sums`] reads them for the days before
//! `kpi_fact_state.built_until` and the records from that day on, so a group's month is a
//! few thousand fact rows plus today's records.

use crate::model::Id;
use crate::sql::{Arg, Sql, bind_args};
use crate::{Db, Pool, Result, StoreError, on_pool};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

/// A policy `p` was renewed: a renewal policy names it, or a later policy of the same car
/// and kind started after it (the after-sales renewal list and KPI use the same rule).
macro_rules! policy_renewed {
    () => {
        "(EXISTS (SELECT 1 FROM insurance_policy n WHERE n.renewal_of = p.id) \
         OR EXISTS (SELECT 1 FROM insurance_policy n WHERE n.vehicle_id = p.vehicle_id AND n.kind = p.kind AND n.start_date > p.start_date))"
    };
}
pub(crate) const POLICY_RENEWED: &str = policy_renewed!();

/// Follow-up call tasks `t` that count as due (not cancelled).
macro_rules! follow_up_due {
    () => {
        "t.kind IN ('delivery_follow_up', 'service_follow_up', 'complaint_follow_up') AND t.status <> 'cancelled'"
    };
}
pub(crate) const FOLLOW_UP_DUE: &str = follow_up_due!();

/// A due follow-up task `t` that reached the customer.
macro_rules! follow_up_reached {
    () => {
        "t.status = 'done' AND t.outcome = 'reached'"
    };
}
pub(crate) const FOLLOW_UP_REACHED: &str = follow_up_reached!();

/// A visit `e` of the same customer after the visit `w` (a later day, or the same day
/// with a later id).
macro_rules! later_visit {
    () => {
        "(e.settled_on > w.settled_on OR (e.settled_on = w.settled_on AND e.id > w.id))"
    };
}

/// The first day of the month `n` months after the month of `w.settled_on`.
macro_rules! month_after {
    (sqlite, 1) => {
        "date(w.settled_on, 'start of month', '+1 month')"
    };
    (sqlite, 7) => {
        "date(w.settled_on, 'start of month', '+7 months')"
    };
    (pg, 1) => {
        "CAST(date_trunc('month', w.settled_on) + INTERVAL '1 month' AS DATE)"
    };
    (pg, 7) => {
        "CAST(date_trunc('month', w.settled_on) + INTERVAL '7 months' AS DATE)"
    };
}

/// One record set of a KPI.
#[derive(Debug, Clone, Copy)]
struct Part {
    /// Table and joins.
    from: &'static str,
    /// The date that places a row in a period, and whether it is a timestamp (bounded at
    /// China's midnight) or a calendar date.
    date: &'static str,
    ts: bool,
    store: &'static str,
    staff: Option<&'static str>,
    model: Option<&'static str>,
    /// Further conditions, each starting with ` AND`.
    filter: &'static str,
    /// What a row adds to the numerator and to the denominator.
    num: &'static str,
    den: &'static str,
    /// For the drill-down: the row's id, a label (policy number, work-order number, …) and
    /// its customer.
    id: &'static str,
    label: &'static str,
    customer: Option<&'static str>,
    /// A PostgreSQL spelling of `num` where the dialects differ.
    num_pg: Option<&'static str>,
    /// A PostgreSQL spelling of `filter` where the dialects differ.
    filter_pg: Option<&'static str>,
    /// Which dates of `date` a period selects (flows take the period itself; stocks and
    /// cohorts look before or after it). `{from}` and `{until}` in `filter` are the
    /// period's own bounds.
    window: Window,
    /// Always read from the records, never from the day facts (a small table people edit
    /// for past months: operating costs).
    live: bool,
}

/// The dates a part's rows are taken from, relative to the period `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// `[from, until)`: what happened in the period.
    Period,
    /// The period moved back so many months (a cohort whose outcome is known by now).
    Earlier(u32),
    /// `[until − months, until)`: the stock at the period's end (active customers).
    EndingAt(u32),
    /// `[from − months, from)`: the stock at the period's start.
    EndingAtStart(u32),
    /// Everything before `until` (open orders at the end of the period).
    Before,
    /// The month after the period (next month's target).
    NextMonth,
}

/// Whether a part's rows are kept as day facts: it selects the period itself, by its date
/// alone (no condition names the period's bounds), so a period's sum is the sum of its days;
/// and it is not one of the small hand-edited tables read live.
fn factual(p: &Part) -> bool {
    !p.live
        && p.window == Window::Period
        && !p.filter.contains('{')
        && !p.filter_pg.is_some_and(|f| f.contains('{'))
}

/// Whether two parts sum the same rows to the same keys (their facts are the same rows).
fn same_facts(a: &Part, b: &Part) -> bool {
    (a.from, a.date, a.ts, a.store, a.staff, a.model)
        == (b.from, b.date, b.ts, b.store, b.staff, b.model)
        && (a.filter, a.num, a.den, a.num_pg, a.filter_pg)
            == (b.filter, b.num, b.den, b.num_pg, b.filter_pg)
}

/// Whether the KPI's period parts are kept as day facts (the catalogue's KPIs are).
fn has_facts(kpi: &str) -> bool {
    dealerbase_domain::kpi::CATALOGUE
        .iter()
        .any(|k| k.id == kpi)
        && parts(kpi).is_some_and(|ps| ps.iter().any(factual))
}

impl Window {
    fn dates(self, from: NaiveDate, until: NaiveDate) -> (NaiveDate, NaiveDate) {
        let back = |d: NaiveDate, m: u32| d.checked_sub_months(Months::new(m)).unwrap_or(d);
        match self {
            Window::Period => (from, until),
            Window::Earlier(m) => (back(from, m), back(until, m)),
            Window::EndingAt(m) => (back(until, m), until),
            Window::EndingAtStart(m) => (back(from, m), from),
            Window::Before => (NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(from), until),
            Window::NextMonth => (
                until,
                until.checked_add_months(Months::new(1)).unwrap_or(until),
            ),
        }
    }
}

const BASE: Part = Part {
    from: "",
    date: "",
    ts: false,
    store: "",
    staff: None,
    model: None,
    filter: "",
    num: "1",
    den: "0",
    id: "",
    label: "''",
    customer: None,
    num_pg: None,
    filter_pg: None,
    window: Window::Period,
    live: false,
};

const VISITS: Part = Part {
    from: "showroom_visit v",
    date: "v.arrived_at",
    ts: true,
    store: "v.store_id",
    staff: Some("v.consultant_id"),
    model: Some("v.desired_model_id"),
    id: "v.id",
    label: "v.channel",
    customer: Some("v.customer_id"),
    ..BASE
};

const NEW_LEADS: Part = Part {
    from: "lead l",
    date: "l.created_at",
    ts: true,
    store: "l.store_id",
    staff: Some("l.owner_id"),
    model: Some("l.desired_model_id"),
    num: "0",
    den: "1",
    id: "l.id",
    label: "l.source",
    customer: Some("l.customer_id"),
    ..BASE
};

const ORDERS: Part = Part {
    from: "sales_order o",
    date: "o.ordered_on",
    store: "o.store_id",
    staff: Some("o.consultant_id"),
    model: Some("o.model_id"),
    filter: " AND o.status <> 'cancelled'",
    id: "o.id",
    label: "o.kind",
    customer: Some("o.customer_id"),
    ..BASE
};

const DELIVERIES: Part = Part {
    date: "o.delivered_on",
    filter: " AND o.status = 'delivered'",
    ..ORDERS
};

const WORK_ORDERS: Part = Part {
    from: "work_order w",
    date: "w.settled_on",
    store: "w.store_id",
    staff: Some("w.advisor_id"),
    id: "w.id",
    label: "w.number",
    customer: Some("w.customer_id"),
    ..BASE
};

/// Gross profit of a work order `w`: each line's amount less its cost.
const WORK_ORDER_GROSS_PROFIT: &str = "COALESCE((SELECT SUM(gl.amount_fen - gl.cost_fen) FROM work_order_line gl WHERE gl.work_order_id = w.id), 0)";

const COSTS: Part = Part {
    from: "operating_cost c",
    date: "c.month_start",
    store: "c.store_id",
    num: "c.amount_fen",
    id: "c.id",
    label: "c.category",
    live: true,
    ..BASE
};

fn parts(kpi: &str) -> Option<Vec<Part>> {
    Some(match kpi {
        "traffic" => vec![VISITS],
        "registration_rate" => vec![Part {
            filter: " AND v.first_visit = TRUE",
            num: "CASE WHEN v.lead_id IS NOT NULL THEN 1 ELSE 0 END",
            den: "1",
            ..VISITS
        }],
        "invitation_show_rate" => vec![Part {
            from: "invitation i JOIN lead l ON l.id = i.lead_id",
            date: "i.appointment_on",
            store: "i.store_id",
            staff: Some("i.staff_id"),
            model: Some("l.desired_model_id"),
            num: "CASE WHEN i.status = 'showed' THEN 1 ELSE 0 END",
            den: "1",
            id: "i.id",
            label: "i.status",
            customer: Some("l.customer_id"),
            ..BASE
        }],
        "test_drive_rate" => vec![
            Part {
                from: "test_drive t",
                date: "t.done_at",
                ts: true,
                store: "t.store_id",
                staff: Some("t.staff_id"),
                model: Some("t.model_id"),
                filter: " AND t.status = 'done'",
                id: "t.id",
                label: "'test_drive'",
                ..BASE
            },
            NEW_LEADS,
        ],
        "second_visit_rate" => vec![Part {
            num: "CASE WHEN EXISTS (SELECT 1 FROM showroom_visit rv WHERE rv.lead_id = l.id AND rv.first_visit = FALSE) THEN 1 ELSE 0 END",
            ..NEW_LEADS
        }],
        "conversion_rate" => vec![ORDERS, NEW_LEADS],
        "defeat_rate" => vec![
            Part {
                from: "defeat_request d JOIN lead l ON l.id = d.lead_id",
                date: "d.decided_at",
                ts: true,
                store: "l.store_id",
                staff: Some("l.owner_id"),
                model: Some("l.desired_model_id"),
                filter: " AND d.status = 'approved'",
                den: "1",
                id: "d.id",
                label: "d.reason",
                customer: Some("l.customer_id"),
                ..BASE
            },
            Part {
                num: "0",
                den: "1",
                ..DELIVERIES
            },
        ],
        "defeat_clarity_rate" => vec![Part {
            from: "defeat_request d JOIN lead l ON l.id = d.lead_id",
            date: "d.requested_at",
            ts: true,
            store: "l.store_id",
            staff: Some("l.owner_id"),
            model: Some("l.desired_model_id"),
            num: "CASE WHEN d.status = 'approved' AND d.reason NOT IN ('other', 'lost_contact') THEN 1 ELSE 0 END",
            den: "1",
            id: "d.id",
            label: "d.reason",
            customer: Some("l.customer_id"),
            ..BASE
        }],
        "owner_business_rate" => vec![Part {
            num: "CASE WHEN o.kind IN ('replacement', 'additional', 'referral') THEN 1 ELSE 0 END",
            den: "1",
            ..ORDERS
        }],
        "order_backlog_rate" => vec![
            Part {
                window: Window::Before,
                staff: None,
                model: None,
                filter: " AND o.status <> 'cancelled' AND (o.delivered_on IS NULL OR o.delivered_on >= {until})",
                ..ORDERS
            },
            Part {
                from: "kpi_target kt",
                date: "kt.month_start",
                store: "kt.store_id",
                window: Window::NextMonth,
                filter: " AND kt.metric = 'sales' AND kt.staff_id = 0",
                num: "0",
                den: "kt.value",
                id: "kt.id",
                label: "kt.metric",
                ..BASE
            },
        ],
        "churn_rate" => vec![Part {
            window: Window::Earlier(7),
            staff: None,
            filter: concat!(
                " AND NOT EXISTS (SELECT 1 FROM work_order e WHERE e.customer_id = w.customer_id AND e.store_id = w.store_id AND e.settled_on < ",
                month_after!(sqlite, 1),
                " AND ",
                later_visit!(),
                ")"
            ),
            filter_pg: Some(concat!(
                " AND NOT EXISTS (SELECT 1 FROM work_order e WHERE e.customer_id = w.customer_id AND e.store_id = w.store_id AND e.settled_on < ",
                month_after!(pg, 1),
                " AND ",
                later_visit!(),
                ")"
            )),
            num: concat!(
                "CASE WHEN NOT EXISTS (SELECT 1 FROM work_order e WHERE e.customer_id = w.customer_id AND e.store_id = w.store_id AND e.settled_on >= ",
                month_after!(sqlite, 1),
                " AND e.settled_on < ",
                month_after!(sqlite, 7),
                ") THEN 1 ELSE 0 END"
            ),
            num_pg: Some(concat!(
                "CASE WHEN NOT EXISTS (SELECT 1 FROM work_order e WHERE e.customer_id = w.customer_id AND e.store_id = w.store_id AND e.settled_on >= ",
                month_after!(pg, 1),
                " AND e.settled_on < ",
                month_after!(pg, 7),
                ") THEN 1 ELSE 0 END"
            )),
            den: "1",
            ..WORK_ORDERS
        }],
        "retention_rate" => vec![
            Part {
                window: Window::EndingAt(12),
                staff: None,
                filter: concat!(
                    " AND NOT EXISTS (SELECT 1 FROM work_order e WHERE e.customer_id = w.customer_id AND e.store_id = w.store_id AND e.settled_on < {until} AND ",
                    later_visit!(),
                    ") AND EXISTS (SELECT 1 FROM work_order e WHERE e.customer_id = w.customer_id AND e.store_id = w.store_id AND e.settled_on < {from})"
                ),
                ..WORK_ORDERS
            },
            Part {
                window: Window::EndingAtStart(12),
                staff: None,
                filter: concat!(
                    " AND NOT EXISTS (SELECT 1 FROM work_order e WHERE e.customer_id = w.customer_id AND e.store_id = w.store_id AND e.settled_on < {from} AND ",
                    later_visit!(),
                    ")"
                ),
                num: "0",
                den: "1",
                ..WORK_ORDERS
            },
        ],
        "orders" => vec![ORDERS],
        "deliveries" => vec![DELIVERIES],
        "renewal_rate" => vec![Part {
            from: "insurance_policy p",
            date: "p.end_date",
            store: "p.store_id",
            num: concat!("CASE WHEN ", policy_renewed!(), " THEN 1 ELSE 0 END"),
            den: "1",
            id: "p.id",
            label: "p.policy_no",
            customer: Some("p.customer_id"),
            ..BASE
        }],
        "first_service_return_rate" | "second_service_return_rate" => {
            let first = kpi.starts_with("first");
            vec![Part {
                from: "vehicle_service_status x JOIN vehicle xv ON xv.id = x.vehicle_id",
                date: if first {
                    "x.first_closes_on"
                } else {
                    "x.second_closes_on"
                },
                store: "x.store_id",
                model: Some("xv.model_id"),
                num: if first {
                    "CASE WHEN x.first_status = 'done_here' THEN 1 ELSE 0 END"
                } else {
                    "CASE WHEN x.second_status = 'done_here' THEN 1 ELSE 0 END"
                },
                den: "1",
                id: "x.vehicle_id",
                label: "xv.vin",
                customer: Some("x.customer_id"),
                ..BASE
            }]
        }
        "follow_up_success_rate" => vec![Part {
            from: "task t",
            date: "t.due_on",
            store: "t.store_id",
            staff: Some("t.assignee_id"),
            filter: concat!(" AND ", follow_up_due!()),
            num: concat!("CASE WHEN ", follow_up_reached!(), " THEN 1 ELSE 0 END"),
            den: "1",
            id: "t.id",
            label: "t.kind",
            customer: Some("t.customer_id"),
            ..BASE
        }],
        "complaint_closure_rate" => vec![Part {
            from: "complaint k",
            date: "k.opened_at",
            ts: true,
            store: "k.store_id",
            num: "CASE WHEN k.status = 'closed' AND julianday(COALESCE(k.closed_at, k.resolved_at)) - julianday(k.opened_at) <= 14 THEN 1 ELSE 0 END",
            num_pg: Some(
                "CASE WHEN k.status = 'closed' AND COALESCE(k.closed_at, k.resolved_at) - k.opened_at <= INTERVAL '14 days' THEN 1 ELSE 0 END",
            ),
            den: "1",
            id: "k.id",
            label: "k.category",
            customer: Some("k.customer_id"),
            ..BASE
        }],
        "csi_satisfaction_rate" => vec![Part {
            from: "survey_response r LEFT JOIN work_order w ON w.id = r.work_order_id",
            date: "r.answered_on",
            store: "r.store_id",
            staff: Some("w.advisor_id"),
            filter: " AND r.kind = 'csi'",
            num: "CASE WHEN r.service_score >= 4 THEN 1 ELSE 0 END",
            den: "1",
            id: "r.id",
            label: "CAST(r.service_score AS TEXT)",
            customer: Some("r.customer_id"),
            ..BASE
        }],
        "ssi_satisfaction_rate" => vec![Part {
            from: "survey_response r LEFT JOIN sales_order o ON o.id = r.sales_order_id",
            date: "r.answered_on",
            store: "r.store_id",
            staff: Some("o.consultant_id"),
            model: Some("o.model_id"),
            filter: " AND r.kind = 'ssi'",
            num: "CASE WHEN r.service_score >= 4 THEN 1 ELSE 0 END",
            den: "1",
            id: "r.id",
            label: "CAST(r.service_score AS TEXT)",
            customer: Some("r.customer_id"),
            ..BASE
        }],
        "work_orders" => vec![WORK_ORDERS],
        "service_revenue" => vec![Part {
            num: "w.total_fen",
            ..WORK_ORDERS
        }],
        "aftersales_gross_profit" => vec![Part {
            num: WORK_ORDER_GROSS_PROFIT,
            ..WORK_ORDERS
        }],
        "operating_cost" => vec![COSTS],
        "service_absorption" => vec![
            Part {
                num: WORK_ORDER_GROSS_PROFIT,
                ..WORK_ORDERS
            },
            Part {
                num: "0",
                den: "c.amount_fen",
                ..COSTS
            },
        ],
        _ => return None,
    })
}

/// What the sums are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KpiBy {
    /// One row (key 0) for everything selected.
    Total,
    Store,
    Staff,
    Model,
    /// By calendar month (China time), key `yyyymm` (202610).
    Month,
}

/// Numerator and denominator of one key (store, staff member, model; 0 for the total or
/// for records without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct KpiSum {
    pub key: Id,
    pub num: i64,
    pub den: i64,
}

/// Which records a KPI counts: a period of days and the stores (and one staff member).
#[derive(Debug, Clone)]
pub struct KpiSelect {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub stores: Vec<Id>,
    pub staff: Option<Id>,
    /// The dealer's today: what happens in a period still under way counts up to this day
    /// (month to date) — a policy ending later this month is not renewed or lost yet, a
    /// first-service window closing next week not kept or missed yet. None: the whole period.
    pub through: Option<NaiveDate>,
}

impl KpiSelect {
    /// The end of the days a period part reads: the period's end, or tomorrow when the
    /// period runs past today.
    fn period_until(&self) -> NaiveDate {
        match self.through.and_then(|t| t.succ_opt()) {
            Some(t) => self.until.min(t).max(self.from),
            None => self.until,
        }
    }
}

/// One record behind a KPI value, with what it adds to the numerator and denominator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct KpiRecord {
    pub id: Id,
    /// Which record set (0 = the first part of the KPI, …).
    pub part: i64,
    pub on: String,
    pub store_id: Id,
    pub store_name: String,
    pub staff_name: String,
    pub customer_id: Option<Id>,
    pub customer_name: String,
    pub label: String,
    pub num: i64,
    pub den: i64,
}

/// Which drill-down rows to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiRecordFilter {
    All,
    /// Rows that add to the numerator (renewed policies, …).
    Hit,
    /// Rows in the denominator that add nothing to the numerator (non-renewed policies).
    Miss,
}

fn id_list(ids: &[Id]) -> String {
    if ids.is_empty() {
        return "0".into();
    }
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether the KPI's records can be broken down so (every part names a staff member or a
/// model); unknown KPIs support nothing.
pub fn kpi_supports(kpi: &str, by: KpiBy) -> bool {
    parts(kpi).is_some_and(|ps| {
        ps.iter().all(|p| match by {
            KpiBy::Total | KpiBy::Store | KpiBy::Month => true,
            KpiBy::Staff => p.staff.is_some(),
            KpiBy::Model => p.model.is_some(),
        })
    })
}

/// Whether the store layer has SQL for this KPI id.
pub fn kpi_known(kpi: &str) -> bool {
    parts(kpi).is_some()
}

impl Db {
    fn part_where(&self, sql: &mut Sql, p: &Part, s: &KpiSelect) {
        let (from, until) = match p.window {
            Window::Period => (s.from, s.period_until()),
            w => w.dates(s.from, s.until),
        };
        sql.push(&format!(" WHERE {} >= ", p.date));
        if p.ts {
            sql.bind(Arg::Ts(dealerbase_domain::sales::china_day_start(from)));
            sql.push(&format!(" AND {} < ", p.date));
            sql.bind(Arg::Ts(dealerbase_domain::sales::china_day_start(until)));
        } else {
            sql.bind(Arg::Date(from));
            sql.push(&format!(" AND {} < ", p.date));
            sql.bind(Arg::Date(until));
        }
        sql.push(&format!(" AND {} IN ({})", p.store, id_list(&s.stores)));
        if let (Some(staff), Some(col)) = (s.staff, p.staff) {
            sql.push(&format!(" AND {col} = ")).bind_i64(staff);
        }
        let filter = match (&self.pool, p.filter_pg) {
            (Pool::Postgres(_), Some(pg)) => pg,
            _ => p.filter,
        };
        // `{from}` / `{until}`: the period's own bounds, bound as dates.
        let mut rest = filter;
        while let Some(at) = rest.find('{') {
            sql.push(&rest[..at]);
            let tail = &rest[at..];
            if let Some(t) = tail.strip_prefix("{from}") {
                sql.bind(Arg::Date(s.from));
                rest = t;
            } else if let Some(t) = tail.strip_prefix("{until}") {
                sql.bind(Arg::Date(s.until));
                rest = t;
            } else {
                sql.push("{");
                rest = &tail[1..];
            }
        }
        sql.push(rest);
    }

    /// `yyyymm` of a part's date, in China's calendar for timestamps.
    fn month_key(&self, p: &Part) -> String {
        match (&self.pool, p.ts) {
            (Pool::Sqlite(_), false) => format!(
                "(CAST(substr({d}, 1, 4) AS INTEGER) * 100 + CAST(substr({d}, 6, 2) AS INTEGER))",
                d = p.date
            ),
            (Pool::Sqlite(_), true) => format!(
                "(CAST(strftime('%Y', {d}, '+8 hours') AS INTEGER) * 100 + CAST(strftime('%m', {d}, '+8 hours') AS INTEGER))",
                d = p.date
            ),
            (Pool::Postgres(_), false) => format!("CAST(to_char({}, 'YYYYMM') AS BIGINT)", p.date),
            (Pool::Postgres(_), true) => format!(
                "CAST(to_char(({} AT TIME ZONE 'UTC') + INTERVAL '8 hours', 'YYYYMM') AS BIGINT)",
                p.date
            ),
        }
    }

    fn part_num(&self, p: &Part) -> &'static str {
        match (&self.pool, p.num_pg) {
            (Pool::Postgres(_), Some(pg)) => pg,
            _ => p.num,
        }
    }

    fn check_kpi(&self, kpi: &str, by: KpiBy, s: &KpiSelect) -> Result<Vec<Part>> {
        let ps = parts(kpi).ok_or_else(|| StoreError::NotFound {
            entity: "kpi",
            id: kpi.to_string(),
        })?;
        if !kpi_supports(kpi, by) || (s.staff.is_some() && !kpi_supports(kpi, KpiBy::Staff)) {
            return Err(StoreError::NotFound {
                entity: "kpi breakdown",
                id: format!("{kpi} by {by:?}"),
            });
        }
        Ok(ps)
    }

    /// Σ numerator and Σ denominator of a KPI over the selected records, by key. The parts
    /// kept as day facts are read from the facts for the days before `built_until` and from
    /// the records from it on: the same sums either way.
    pub async fn kpi_sums(&self, kpi: &str, s: &KpiSelect, by: KpiBy) -> Result<Vec<KpiSum>> {
        let ps = self.check_kpi(kpi, by, s)?;
        if by == KpiBy::Month && ps.iter().any(|p| p.window != Window::Period) {
            // A stock or a cohort is not a sum of its months' rows: one total per month.
            let mut out = Vec::new();
            let mut m = s.from.with_day(1).unwrap_or(s.from);
            while m < s.until {
                let next = m.checked_add_months(Months::new(1)).unwrap_or(s.until);
                let month = KpiSelect {
                    from: m,
                    until: next,
                    ..s.clone()
                };
                let t = Box::pin(self.kpi_sums(kpi, &month, KpiBy::Total)).await?;
                let (num, den) = t.iter().fold((0, 0), |(n, d), x| (n + x.num, d + x.den));
                out.push(KpiSum {
                    key: (m.year() * 100 + m.month() as i32) as i64,
                    num,
                    den,
                });
                m = next;
            }
            return Ok(out);
        }
        let mut out: Vec<KpiSum> = Vec::new();
        let mut add = |rows: Vec<(i64, i64, i64)>| {
            for (key, num, den) in rows {
                match out.iter_mut().find(|x| x.key == key) {
                    Some(x) => {
                        x.num += num;
                        x.den += den;
                    }
                    None => out.push(KpiSum { key, num, den }),
                }
            }
        };
        // Days before `split` from the nightly facts, the rest from the records.
        let split = if has_facts(kpi) && s.from < s.until {
            self.kpi_facts_built_until()
                .await?
                .map_or(s.from, |b| b.clamp(s.from, s.until))
        } else {
            s.from
        };
        if split > s.from {
            add(self.kpi_fact_sums(kpi, &ps, s, split, by).await?);
        }
        let live = KpiSelect {
            from: split,
            ..s.clone()
        };
        for p in &ps {
            let sel = if factual(p) {
                if split >= s.period_until() {
                    continue;
                }
                &live
            } else {
                s
            };
            let month;
            let key = match by {
                KpiBy::Total => "0",
                KpiBy::Store => p.store,
                KpiBy::Staff => p.staff.unwrap_or("0"),
                KpiBy::Model => p.model.unwrap_or("0"),
                KpiBy::Month => {
                    month = self.month_key(p);
                    month.as_str()
                }
            };
            let mut sql = Sql::new(&format!(
                "SELECT CAST(COALESCE({key}, 0) AS BIGINT), CAST(COALESCE(SUM({}), 0) AS BIGINT), CAST(COALESCE(SUM({}), 0) AS BIGINT) FROM {}",
                self.part_num(p),
                p.den,
                p.from
            ));
            self.part_where(&mut sql, p, sel);
            sql.push(" GROUP BY 1");
            let rows: Vec<(i64, i64, i64)> = on_pool!(self, pool => bind_args!(
                sqlx::query_as::<_, (i64, i64, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(pool).await?);
            add(rows);
        }
        out.sort_by_key(|x| x.key);
        Ok(out)
    }

    /// The facts' sums of a KPI's period parts for the days `[s.from, until)`, by key.
    async fn kpi_fact_sums(
        &self,
        kpi: &str,
        ps: &[Part],
        s: &KpiSelect,
        until: NaiveDate,
        by: KpiBy,
    ) -> Result<Vec<(i64, i64, i64)>> {
        // Summed per key (per day for months) first, then the few sums are keyed: the
        // month of a date is computed once a day, not once a row.
        let (inner, outer) = match (by, &self.pool) {
            (KpiBy::Total, _) => ("0", "y.k"),
            (KpiBy::Store, _) => ("x.store_id", "y.k"),
            (KpiBy::Staff, _) => ("x.staff_id", "y.k"),
            (KpiBy::Model, _) => ("x.model_id", "y.k"),
            (KpiBy::Month, Pool::Sqlite(_)) => (
                "x.day",
                "(CAST(substr(y.k, 1, 4) AS INTEGER) * 100 + CAST(substr(y.k, 6, 2) AS INTEGER))",
            ),
            (KpiBy::Month, Pool::Postgres(_)) => {
                ("x.day", "CAST(to_char(y.k, 'YYYYMM') AS BIGINT)")
            }
        };
        let part_ids: Vec<Id> = (0..ps.len() as Id)
            .filter(|&ix| factual(&ps[ix as usize]))
            .collect();
        let mut sql = Sql::new(&format!(
            "SELECT CAST({outer} AS BIGINT), CAST(COALESCE(SUM(y.n), 0) AS BIGINT), CAST(COALESCE(SUM(y.d), 0) AS BIGINT) \
             FROM (SELECT {inner} AS k, SUM(x.num) AS n, SUM(x.den) AS d FROM kpi_day_fact x WHERE x.kpi = "
        ));
        sql.bind(Arg::Text(kpi.to_string()));
        sql.push(&format!(" AND x.part IN ({})", id_list(&part_ids)));
        sql.push(" AND x.day >= ");
        sql.bind(Arg::Date(s.from));
        sql.push(" AND x.day < ");
        sql.bind(Arg::Date(until));
        sql.push(&format!(" AND x.store_id IN ({})", id_list(&s.stores)));
        if let Some(staff) = s.staff {
            sql.push(" AND x.staff_id = ").bind_i64(staff);
        }
        sql.push(" GROUP BY 1) y GROUP BY 1");
        Ok(on_pool!(self, pool => bind_args!(
            sqlx::query_as::<_, (i64, i64, i64)>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(pool).await?))
    }

    /// The first day the KPI day facts do not cover (None: never built).
    pub async fn kpi_facts_built_until(&self) -> Result<Option<NaiveDate>> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, Option<NaiveDate>>(
            "SELECT built_until FROM kpi_fact_state WHERE id = 1").fetch_optional(p).await?)
            .flatten(),
        )
    }

    /// Rebuilds the KPI day facts for every day before `until` (China days): for every
    /// catalogue KPI's period part, one set-based statement sums its records per day, store,
    /// staff member and model (a part summing the same rows as an earlier one copies its
    /// facts). One transaction: readers see the old facts or the new ones, never a mix.
    /// Returns the number of fact rows.
    pub async fn rebuild_kpi_facts(&self, until: NaiveDate, now: DateTime<Utc>) -> Result<u64> {
        let pg = matches!(self.pool, Pool::Postgres(_));
        let mut statements: Vec<Sql> = Vec::new();
        let mut built: Vec<(&'static str, usize, Part)> = Vec::new();
        for k in dealerbase_domain::kpi::CATALOGUE {
            let Some(ps) = parts(k.id) else { continue };
            for (ix, p) in ps.iter().enumerate() {
                if !factual(p) {
                    continue;
                }
                if let Some((kpi0, ix0, _)) = built.iter().find(|(_, _, q)| same_facts(q, p)) {
                    statements.push(Sql::new(&format!(
                        "INSERT INTO kpi_day_fact (kpi, part, day, store_id, staff_id, model_id, num, den) \
                         SELECT '{kpi}', {ix}, day, store_id, staff_id, model_id, num, den FROM kpi_day_fact WHERE kpi = '{kpi0}' AND part = {ix0}",
                        kpi = k.id
                    )));
                    continue;
                }
                built.push((k.id, ix, *p));
                let day = match (p.ts, pg) {
                    (false, _) => p.date.to_string(),
                    (true, false) => format!("date({}, '+8 hours')", p.date),
                    (true, true) => format!(
                        "CAST(({} AT TIME ZONE 'UTC') + INTERVAL '8 hours' AS DATE)",
                        p.date
                    ),
                };
                let mut sql = Sql::new(&format!(
                    "INSERT INTO kpi_day_fact (kpi, part, day, store_id, staff_id, model_id, num, den) \
                     SELECT '{kpi}', {ix}, {day}, COALESCE({store}, 0), COALESCE({staff}, 0), COALESCE({model}, 0), \
                     CAST(COALESCE(SUM({num}), 0) AS BIGINT), CAST(COALESCE(SUM({den}), 0) AS BIGINT) \
                     FROM {from} WHERE {date} < ",
                    kpi = k.id,
                    store = p.store,
                    staff = p.staff.unwrap_or("0"),
                    model = p.model.unwrap_or("0"),
                    num = self.part_num(p),
                    den = p.den,
                    from = p.from,
                    date = p.date,
                ));
                if p.ts {
                    sql.bind(Arg::Ts(dealerbase_domain::sales::china_day_start(until)));
                } else {
                    sql.bind(Arg::Date(until));
                }
                sql.push(match (&self.pool, p.filter_pg) {
                    (Pool::Postgres(_), Some(f)) => f,
                    _ => p.filter,
                });
                sql.push(" GROUP BY 3, 4, 5, 6");
                statements.push(sql);
            }
        }
        let rows = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM kpi_day_fact").execute(&mut *tx).await?;
            let mut rows = 0;
            for sql in statements {
                rows += bind_args!(sqlx::query(AssertSqlSafe(sql.text.clone())), sql.args)
                    .execute(&mut *tx).await?.rows_affected();
            }
            sqlx::query("UPDATE kpi_fact_state SET built_until = $1, built_at = $2 WHERE id = 1")
                .bind(until).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<u64, StoreError>(rows)
        })?;
        // PostgreSQL: clear the deleted rows and mark the pages all-visible, so the reads are
        // index-only scans, and give the planner the new row counts. Not fatal: the facts
        // are committed; autovacuum does the same later.
        if let Pool::Postgres(p) = &self.pool
            && let Err(e) = sqlx::raw_sql("VACUUM (ANALYZE) kpi_day_fact")
                .execute(p)
                .await
        {
            tracing::warn!(error = %e, "VACUUM of the KPI day facts failed");
        }
        Ok(rows)
    }

    /// The records behind a KPI value (every part, oldest first), a page at a time.
    pub async fn kpi_records(
        &self,
        kpi: &str,
        s: &KpiSelect,
        which: KpiRecordFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<KpiRecord>> {
        let ps = self.check_kpi(kpi, KpiBy::Total, s)?;
        let mut sql = Sql::new("SELECT * FROM (");
        for (ix, p) in ps.iter().enumerate() {
            if ix > 0 {
                sql.push(" UNION ALL ");
            }
            let num = self.part_num(p);
            sql.push(&format!(
                "SELECT CAST({id} AS BIGINT) AS id, CAST({ix} AS BIGINT) AS part, CAST({date} AS TEXT) AS on_text, \
                 CAST({store} AS BIGINT) AS store_id, rs.name AS store_name, COALESCE(rst.name, '') AS staff_name, \
                 CAST({cust} AS BIGINT) AS customer_id, COALESCE(rc.name, '') AS customer_name, COALESCE(CAST({label} AS TEXT), '') AS label, \
                 CAST({num} AS BIGINT) AS num, CAST({den} AS BIGINT) AS den \
                 FROM {from} JOIN store rs ON rs.id = {store} LEFT JOIN staff rst ON rst.id = {staff} LEFT JOIN customer rc ON rc.id = {cust}",
                id = p.id,
                date = p.date,
                store = p.store,
                cust = p.customer.unwrap_or("NULL"),
                label = p.label,
                den = p.den,
                from = p.from,
                staff = p.staff.unwrap_or("NULL"),
            ));
            self.part_where(&mut sql, p, s);
            match which {
                KpiRecordFilter::All => {}
                KpiRecordFilter::Hit => {
                    sql.push(&format!(" AND ({num}) <> 0"));
                }
                KpiRecordFilter::Miss => {
                    sql.push(&format!(" AND ({num}) = 0 AND ({}) <> 0", p.den));
                }
            }
        }
        sql.push(") x ORDER BY on_text, part, id LIMIT ");
        sql.bind_i64(limit.clamp(1, 1000));
        sql.push(" OFFSET ");
        sql.bind_i64(offset.max(0));
        let rows: Vec<(
            i64,
            i64,
            String,
            i64,
            String,
            String,
            Option<i64>,
            String,
            String,
            i64,
            i64,
        )> = on_pool!(self, pool => bind_args!(
            sqlx::query_as(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    part,
                    on,
                    store_id,
                    store_name,
                    staff_name,
                    customer_id,
                    customer_name,
                    label,
                    num,
                    den,
                )| KpiRecord {
                    id,
                    part,
                    on,
                    store_id,
                    store_name,
                    staff_name,
                    customer_id,
                    customer_name,
                    label,
                    num,
                    den,
                },
            )
            .collect())
    }

    /// Stores of a group with their brand: (store id, code, name, brand id, brand name).
    pub async fn kpi_group_stores(
        &self,
        group_id: Id,
    ) -> Result<Vec<(Id, String, String, Id, String)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, String, String, i64, String)>(
            "SELECT s.id, s.code, s.name, b.id, b.name FROM store s JOIN brand b ON b.id = s.brand_id WHERE s.group_id = $1 ORDER BY s.code")
            .bind(group_id).fetch_all(p).await?))
    }

    /// Names of staff members by id.
    pub async fn kpi_staff_names(&self, ids: &[Id]) -> Result<Vec<(Id, String)>> {
        let sql = format!(
            "SELECT id, name FROM staff WHERE id IN ({}) ORDER BY id",
            id_list(ids)
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)).fetch_all(p).await?))
    }

    /// Names of vehicle models by id.
    pub async fn kpi_model_names(&self, ids: &[Id]) -> Result<Vec<(Id, String)>> {
        let sql = format!(
            "SELECT id, name FROM vehicle_model WHERE id IN ({}) ORDER BY id",
            id_list(ids)
        );
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)).fetch_all(p).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_kpi_has_sql() {
        for k in dealerbase_domain::kpi::CATALOGUE {
            assert!(kpi_known(k.id), "{} has no SQL", k.id);
            assert_eq!(
                kpi_supports(k.id, KpiBy::Staff),
                k.per_staff,
                "{}: per_staff disagrees with the SQL",
                k.id
            );
        }
    }
}
