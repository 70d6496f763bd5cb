//! Showroom and lead rules (DOMAIN.md §2–§4, seed 004's 三表一卡): the follow-up cadence per
//! grade from the store's configuration, when an overdue follow-up goes to the manager and
//! when a lead returns to the store pool (公海), the defeat (战败) rules, the daily report's
//! figures, the sales KPIs and the 30-day forecast. Pure functions over dates and counts.

use crate::error::{Rule, ValidationError};
use crate::model::{DefeatReason, LeadGrade, Role, VisitPurpose};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Days between follow-ups per grade. Default: DOMAIN.md §2 (Beijing Hyundai standard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cadence {
    #[serde(rename = "O")]
    pub o: u32,
    #[serde(rename = "H")]
    pub h: u32,
    #[serde(rename = "A")]
    pub a: u32,
    #[serde(rename = "B")]
    pub b: u32,
    #[serde(rename = "C")]
    pub c: u32,
}

impl Default for Cadence {
    fn default() -> Cadence {
        Cadence {
            o: LeadGrade::O.default_cadence_days(),
            h: LeadGrade::H.default_cadence_days(),
            a: LeadGrade::A.default_cadence_days(),
            b: LeadGrade::B.default_cadence_days(),
            c: LeadGrade::C.default_cadence_days(),
        }
    }
}

impl Cadence {
    pub fn days(&self, g: LeadGrade) -> u32 {
        match g {
            LeadGrade::O => self.o,
            LeadGrade::H => self.h,
            LeadGrade::A => self.a,
            LeadGrade::B => self.b,
            LeadGrade::C => self.c,
        }
    }
    pub fn set(&mut self, g: LeadGrade, days: u32) {
        match g {
            LeadGrade::O => self.o = days,
            LeadGrade::H => self.h = days,
            LeadGrade::A => self.a = days,
            LeadGrade::B => self.b = days,
            LeadGrade::C => self.c = days,
        }
    }
}

/// Post-delivery calls: days after delivery (DOMAIN.md §3: D+3 consultant, D+7 sales
/// manager, within D+30 a sample call by the care team).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryCalls {
    pub consultant: u32,
    pub manager: u32,
    pub care: u32,
}

impl Default for DeliveryCalls {
    fn default() -> DeliveryCalls {
        DeliveryCalls {
            consultant: 3,
            manager: 7,
            care: 30,
        }
    }
}

/// The sales part of a store's configuration (`store.settings` → `"sales"`). Every field
/// has a default, so a store that configured nothing works by DOMAIN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SalesSettings {
    pub cadence: Cadence,
    /// A follow-up still open this many days after its due date is escalated to the
    /// sales manager (DOMAIN.md leaves the delay configurable; default 2 days).
    pub escalate_after_days: u32,
    /// An open lead without a contact for this many days returns to the store pool
    /// (公海), where any consultant of the store may claim it (default 30 days: two
    /// missed cycles of the slowest grade, C, every 14 days).
    pub pool_after_days: u32,
    pub delivery_calls: DeliveryCalls,
}

pub const DEFAULT_ESCALATE_AFTER_DAYS: u32 = 2;
pub const DEFAULT_POOL_AFTER_DAYS: u32 = 30;

impl SalesSettings {
    pub fn defaults() -> SalesSettings {
        SalesSettings {
            cadence: Cadence::default(),
            escalate_after_days: DEFAULT_ESCALATE_AFTER_DAYS,
            pool_after_days: DEFAULT_POOL_AFTER_DAYS,
            delivery_calls: DeliveryCalls::default(),
        }
    }

    /// Zero means "not configured" for every field (serde fills missing fields with 0
    /// through `Default`), so a partial configuration keeps the defaults for the rest.
    pub fn with_defaults(mut self) -> SalesSettings {
        let d = SalesSettings::defaults();
        for g in LeadGrade::ALL {
            if self.cadence.days(*g) == 0 {
                self.cadence.set(*g, d.cadence.days(*g));
            }
        }
        if self.escalate_after_days == 0 {
            self.escalate_after_days = d.escalate_after_days;
        }
        if self.pool_after_days == 0 {
            self.pool_after_days = d.pool_after_days;
        }
        let dc = &mut self.delivery_calls;
        if dc.consultant == 0 {
            dc.consultant = d.delivery_calls.consultant;
        }
        if dc.manager == 0 {
            dc.manager = d.delivery_calls.manager;
        }
        if dc.care == 0 {
            dc.care = d.delivery_calls.care;
        }
        self
    }

    /// Every out-of-range value, named by its field (`cadence.H`, `pool_after_days`, …).
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut e = Vec::new();
        let mut check = |field: String, v: u32, min: i64, max: i64| {
            if (v as i64) < min || (v as i64) > max {
                e.push(ValidationError::new(
                    &field,
                    v.to_string(),
                    Rule::OutOfRange { min, max },
                ));
            }
        };
        for g in LeadGrade::ALL {
            check(
                format!("cadence.{}", g.code()),
                self.cadence.days(*g),
                1,
                90,
            );
        }
        check(
            "escalate_after_days".into(),
            self.escalate_after_days,
            1,
            30,
        );
        check("pool_after_days".into(), self.pool_after_days, 3, 365);
        check(
            "delivery_calls.consultant".into(),
            self.delivery_calls.consultant,
            1,
            30,
        );
        check(
            "delivery_calls.manager".into(),
            self.delivery_calls.manager,
            1,
            30,
        );
        check(
            "delivery_calls.care".into(),
            self.delivery_calls.care,
            1,
            60,
        );
        e
    }

    /// The next follow-up after a contact on `contacted_on` that left the lead at `grade`.
    pub fn next_follow_up(&self, grade: LeadGrade, contacted_on: NaiveDate) -> NaiveDate {
        contacted_on + Duration::days(self.cadence.days(grade) as i64)
    }

    /// Follow-ups due on or before this date and still open today are escalated: due on
    /// the 20th with a 2-day delay, the manager hears of it on the 22nd.
    pub fn escalation_cutoff(&self, today: NaiveDate) -> NaiveDate {
        today - Duration::days(self.escalate_after_days as i64)
    }

    pub fn should_escalate(&self, due_on: NaiveDate, today: NaiveDate) -> bool {
        due_on <= self.escalation_cutoff(today)
    }

    /// Leads whose last contact (or creation, if never contacted) fell on or before this
    /// date return to the pool today: last contact on 1 November with 30 days → 1 December.
    pub fn pool_cutoff(&self, today: NaiveDate) -> NaiveDate {
        today - Duration::days(self.pool_after_days as i64)
    }

    pub fn should_return_to_pool(&self, last_contact_on: NaiveDate, today: NaiveDate) -> bool {
        last_contact_on <= self.pool_cutoff(today)
    }

    /// The post-delivery calls: who calls and when.
    pub fn delivery_follow_ups(&self, delivered_on: NaiveDate) -> [(Role, NaiveDate); 3] {
        let d = |n: u32| delivered_on + Duration::days(n as i64);
        [
            (Role::SalesConsultant, d(self.delivery_calls.consultant)),
            (Role::SalesManager, d(self.delivery_calls.manager)),
            (Role::CareSpecialist, d(self.delivery_calls.care)),
        ]
    }
}

/// A moment as the dealer's wall-clock time (China Standard Time, UTC+8).
pub fn china_local(t: DateTime<Utc>) -> NaiveDateTime {
    (t + Duration::hours(8)).naive_utc()
}

/// The UTC moment at which a China calendar day starts.
pub fn china_day_start(d: NaiveDate) -> DateTime<Utc> {
    let t = d.and_hms_opt(0, 0, 0).unwrap_or_default() - Duration::hours(8);
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// A moment typed by a person in China time: `HH:MM` (today), `YYYY-MM-DD HH:MM`,
/// `YYYY-MM-DDTHH:MM` (a browser's datetime-local field) or RFC 3339.
pub fn parse_china_time(
    field: &str,
    s: &str,
    today: NaiveDate,
) -> Result<DateTime<Utc>, ValidationError> {
    let t = crate::text::to_half_width(s.trim());
    if let Ok(dt) = DateTime::parse_from_rfc3339(&t) {
        return Ok(dt.with_timezone(&Utc));
    }
    let local = chrono::NaiveTime::parse_from_str(&t, "%H:%M")
        .map(|time| today.and_time(time))
        .or_else(|_| NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ValidationError::new(field, s, Rule::DateFormat))?;
    Ok(DateTime::from_naive_utc_and_offset(
        local - Duration::hours(8),
        Utc,
    ))
}

// ---- defeat (战败) -----------------------------------------------------------------------

/// What a consultant must say with a defeat request: the brand and model bought when the
/// customer went to a competitor, and words when the reason is "other".
pub fn check_defeat_request(
    reason: DefeatReason,
    competitor_brand: Option<&str>,
    competitor_model: Option<&str>,
    note: Option<&str>,
) -> Vec<ValidationError> {
    let blank = |s: Option<&str>| s.is_none_or(|s| s.trim().is_empty());
    let mut e = Vec::new();
    if reason == DefeatReason::CompetitorBrand {
        if blank(competitor_brand) {
            e.push(ValidationError::new("competitor_brand", "", Rule::Required));
        }
        if blank(competitor_model) {
            e.push(ValidationError::new("competitor_model", "", Rule::Required));
        }
    }
    if reason == DefeatReason::Other && blank(note) {
        e.push(ValidationError::new("note", "", Rule::Required));
    }
    e
}

/// A "specific" reason for the defeat-clarity KPI (战败明确率): one that says why the sale
/// was lost. "Other" and "lost contact" say nothing about why.
pub fn is_specific_reason(reason: DefeatReason) -> bool {
    !matches!(reason, DefeatReason::Other | DefeatReason::LostContact)
}

/// Whether a lead had missed follow-ups before its defeat request (the subjective-defeat
/// flag: the consultant let it go). `timeline` holds the lead's creation and each contact
/// as (day, next follow-up planned then); a follow-up is missed when the next contact — or
/// the request itself — came after the planned day.
pub fn missed_follow_up(
    timeline: &[(NaiveDate, Option<NaiveDate>)],
    requested_on: NaiveDate,
) -> bool {
    let mut events: Vec<(NaiveDate, Option<NaiveDate>)> = timeline.to_vec();
    events.sort_by_key(|(d, _)| *d);
    let mut plan: Option<NaiveDate> = None;
    for (day, next) in events.iter().filter(|(d, _)| *d <= requested_on) {
        if let Some(p) = plan
            && *day > p
        {
            return true;
        }
        if next.is_some() {
            plan = *next;
        }
    }
    plan.is_some_and(|p| requested_on > p)
}

// ---- daily report (营业日报) ---------------------------------------------------------------

/// One contact of the day as the daily report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayContact {
    pub lead_id: Option<i64>,
    pub purpose: Option<VisitPurpose>,
    pub grade_before: Option<LeadGrade>,
    pub grade_after: Option<LeadGrade>,
}

/// The figures of a consultant's day, built from the day's contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    pub contacts: u32,
    pub promote: u32,
    pub develop: u32,
    pub after_sales: u32,
    /// Leads contacted, by the grade the contact left them at (O, H, A, B, C).
    pub by_grade: [u32; 5],
    pub upgrades: u32,
    pub downgrades: u32,
    /// (lead, from, to) for every contact that changed the grade.
    pub grade_changes: Vec<(i64, String, String)>,
}

fn grade_ix(g: LeadGrade) -> usize {
    LeadGrade::ALL.iter().position(|x| *x == g).unwrap_or(0)
}

/// O is the closest to buying, C the farthest: a move towards O is an upgrade.
pub fn is_upgrade(from: LeadGrade, to: LeadGrade) -> bool {
    grade_ix(to) < grade_ix(from)
}

pub fn day_figures(contacts: &[DayContact]) -> DayFigures {
    let mut f = DayFigures {
        contacts: contacts.len() as u32,
        ..Default::default()
    };
    let mut seen: Vec<i64> = Vec::new();
    for c in contacts {
        match c.purpose {
            Some(VisitPurpose::Promote) => f.promote += 1,
            Some(VisitPurpose::Develop) => f.develop += 1,
            Some(VisitPurpose::AfterSales) => f.after_sales += 1,
            None => {}
        }
        if let (Some(l), Some(g)) = (c.lead_id, c.grade_after)
            && !seen.contains(&l)
        {
            seen.push(l);
            f.by_grade[grade_ix(g)] += 1;
        }
        if let (Some(l), Some(a), Some(b)) = (c.lead_id, c.grade_before, c.grade_after)
            && a != b
        {
            if is_upgrade(a, b) {
                f.upgrades += 1;
            } else {
                f.downgrades += 1;
            }
            f.grade_changes
                .push((l, a.code().to_string(), b.code().to_string()));
        }
    }
    f
}

// ---- KPIs (DOMAIN.md §4) -----------------------------------------------------------------

/// What happened in a period (and, for the breakdowns, in one store / source / model /
/// consultant), counted by the store layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesCounts {
    /// Showroom traffic records (walk-ins and calls).
    pub traffic: i64,
    /// First visits among them: the natural walk-ins of the registration rate.
    pub first_visits: i64,
    /// First visits registered as a lead.
    pub registered: i64,
    /// Leads created.
    pub new_leads: i64,
    /// New leads that came back on a second date.
    pub second_visits: i64,
    /// Test drives done.
    pub test_drives: i64,
    /// Invitations whose appointment fell in the period, and those who came.
    pub invited: i64,
    pub showed: i64,
    /// Orders taken and cars delivered.
    pub orders: i64,
    pub deliveries: i64,
    /// Defeat requests made, approved (decided in the period), and approved with a
    /// specific reason.
    pub defeat_requests: i64,
    pub defeats: i64,
    pub defeats_specific: i64,
    /// Approved defeats whose lead had missed follow-ups before the request.
    pub defeats_subjective: i64,
}

impl SalesCounts {
    pub fn add(&mut self, o: &SalesCounts) {
        self.traffic += o.traffic;
        self.first_visits += o.first_visits;
        self.registered += o.registered;
        self.new_leads += o.new_leads;
        self.second_visits += o.second_visits;
        self.test_drives += o.test_drives;
        self.invited += o.invited;
        self.showed += o.showed;
        self.orders += o.orders;
        self.deliveries += o.deliveries;
        self.defeat_requests += o.defeat_requests;
        self.defeats += o.defeats;
        self.defeats_specific += o.defeats_specific;
        self.defeats_subjective += o.defeats_subjective;
    }
}

/// The rates of DOMAIN.md §4, each `None` when its denominator is zero (shown as “–”).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SalesRates {
    /// 留档率: first visits registered as a lead ÷ first visits (natural walk-ins).
    pub registration: Option<f64>,
    /// 邀约到店率: invited who came ÷ invited.
    pub invitation_show_up: Option<f64>,
    /// 试乘试驾率: test drives ÷ new leads.
    pub test_drive: Option<f64>,
    /// 成交率: orders ÷ new leads.
    pub conversion: Option<f64>,
    /// 战败率: approved defeats ÷ leads closed (approved defeats + deliveries).
    pub defeat: Option<f64>,
    /// 战败明确率: approved defeats with a specific reason ÷ defeat requests.
    pub defeat_clarity: Option<f64>,
    /// 二次来店率: new leads with a visit on a second date ÷ new leads.
    pub second_visit: Option<f64>,
    /// Share of approved defeats flagged subjective.
    pub subjective_defeat: Option<f64>,
}

pub fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

pub fn sales_rates(c: &SalesCounts) -> SalesRates {
    SalesRates {
        registration: ratio(c.registered, c.first_visits),
        invitation_show_up: ratio(c.showed, c.invited),
        test_drive: ratio(c.test_drives, c.new_leads),
        conversion: ratio(c.orders, c.new_leads),
        defeat: ratio(c.defeats, c.defeats + c.deliveries),
        defeat_clarity: ratio(c.defeats_specific, c.defeat_requests),
        second_visit: ratio(c.second_visits, c.new_leads),
        subjective_defeat: ratio(c.defeats_subjective, c.defeats),
    }
}

// ---- forecast ------------------------------------------------------------------------------

/// How often a grade turned into an order within the horizon, in the store's own history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradeRate {
    pub grade: LeadGrade,
    /// Leads graded so in the history window (each lead once per grade).
    pub graded: i64,
    /// Of those, leads that ordered within the horizon after being graded.
    pub ordered: i64,
    pub rate: Option<f64>,
}

/// One grading: lead, grade given, day given.
pub type Grading = (i64, LeadGrade, NaiveDate);

/// Close rate per grade H, A, B, C: for each lead and grade, the first time in the history
/// that a contact gave the lead that grade; it counts as closed when the lead's first order
/// came on that day or within `horizon_days` after. Gradings after the lead had already
/// ordered are left out. O is not rated: an O lead has ordered already.
pub fn grade_close_rates(
    gradings: &[Grading],
    first_order: &HashMap<i64, NaiveDate>,
    horizon_days: i64,
) -> Vec<GradeRate> {
    let mut first: HashMap<(i64, LeadGrade), NaiveDate> = HashMap::new();
    for (lead, g, d) in gradings {
        if *g == LeadGrade::O {
            continue;
        }
        first
            .entry((*lead, *g))
            .and_modify(|x| *x = (*x).min(*d))
            .or_insert(*d);
    }
    let mut graded = [0i64; 5];
    let mut ordered = [0i64; 5];
    for ((lead, g), d) in &first {
        let o = first_order.get(lead).copied();
        if o.is_some_and(|o| o < *d) {
            continue;
        }
        graded[grade_ix(*g)] += 1;
        if o.is_some_and(|o| o <= *d + Duration::days(horizon_days)) {
            ordered[grade_ix(*g)] += 1;
        }
    }
    [LeadGrade::H, LeadGrade::A, LeadGrade::B, LeadGrade::C]
        .iter()
        .map(|g| GradeRate {
            grade: *g,
            graded: graded[grade_ix(*g)],
            ordered: ordered[grade_ix(*g)],
            rate: ratio(ordered[grade_ix(*g)], graded[grade_ix(*g)]),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRow {
    pub grade: LeadGrade,
    pub open_leads: i64,
    pub rate: Option<f64>,
    pub expected_orders: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub rows: Vec<ForecastRow>,
    /// Orders expected in the horizon from the open H/A/B/C leads.
    pub expected_orders: f64,
    /// O leads: ordered, waiting for delivery (the order backlog), not forecast.
    pub orders_in_hand: i64,
}

/// Expected orders in the horizon: open leads of each grade times the grade's rate. A
/// grade without history (no rate) contributes nothing and is shown without a rate.
pub fn forecast(open_by_grade: &[(LeadGrade, i64)], rates: &[GradeRate]) -> Forecast {
    let open = |g: LeadGrade| {
        open_by_grade
            .iter()
            .filter(|(x, _)| *x == g)
            .map(|(_, n)| n)
            .sum::<i64>()
    };
    let rows: Vec<ForecastRow> = rates
        .iter()
        .map(|r| {
            let n = open(r.grade);
            ForecastRow {
                grade: r.grade,
                open_leads: n,
                rate: r.rate,
                expected_orders: n as f64 * r.rate.unwrap_or(0.0),
            }
        })
        .collect();
    Forecast {
        expected_orders: rows.iter().map(|r| r.expected_orders).sum(),
        rows,
        orders_in_hand: open(LeadGrade::O),
    }
}

/// Rates of several stores summed by grade (a group's forecast uses each store's own
/// rates for its own leads; this is only for showing one combined rate per grade).
pub fn combine_rates(all: &[GradeRate]) -> Vec<GradeRate> {
    [LeadGrade::H, LeadGrade::A, LeadGrade::B, LeadGrade::C]
        .iter()
        .map(|g| {
            let (graded, ordered) = all
                .iter()
                .filter(|r| r.grade == *g)
                .fold((0, 0), |(a, b), r| (a + r.graded, b + r.ordered));
            GradeRate {
                grade: *g,
                graded,
                ordered,
                rate: ratio(ordered, graded),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn cadence_defaults_follow_domain_and_partial_settings_keep_defaults() {
        let s = SalesSettings::defaults();
        assert_eq!(
            s.next_follow_up(LeadGrade::H, d("2026-11-23")),
            d("2026-11-25")
        );
        assert_eq!(
            s.next_follow_up(LeadGrade::A, d("2026-11-23")),
            d("2026-11-26")
        );
        assert_eq!(
            s.next_follow_up(LeadGrade::B, d("2026-11-23")),
            d("2026-11-30")
        );
        assert_eq!(
            s.next_follow_up(LeadGrade::C, d("2026-11-23")),
            d("2026-12-07")
        );
        assert_eq!(
            s.next_follow_up(LeadGrade::O, d("2026-11-23")),
            d("2026-11-30")
        );
        // A store that only set H to daily (the Yonyou variant of seed 003).
        let mut partial = SalesSettings::default();
        partial.cadence.h = 1;
        let p = partial.with_defaults();
        assert_eq!(p.cadence.h, 1);
        assert_eq!(p.cadence.a, 3);
        assert_eq!(p.pool_after_days, 30);
        assert_eq!(p.delivery_calls.manager, 7);
        assert!(p.validate().is_empty());
    }

    #[test]
    fn settings_out_of_range_name_the_field() {
        let mut s = SalesSettings::defaults();
        s.cadence.c = 0;
        s.pool_after_days = 1000;
        let e = s.validate();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].field, "cadence.C");
        assert_eq!(e[1].field, "pool_after_days");
        assert_eq!(e[1].value, "1000");
        assert_eq!(e[1].code(), "out_of_range");
    }

    #[test]
    fn escalation_after_the_configured_delay() {
        let s = SalesSettings::defaults(); // 2 days
        let due = d("2026-11-20");
        assert!(!s.should_escalate(due, d("2026-11-20")));
        assert!(!s.should_escalate(due, d("2026-11-21")));
        assert!(s.should_escalate(due, d("2026-11-22")));
        assert_eq!(s.escalation_cutoff(d("2026-11-22")), due);
    }

    #[test]
    fn pool_return_after_n_days_without_contact() {
        let s = SalesSettings::defaults(); // 30 days
        let last = d("2026-11-01");
        assert!(!s.should_return_to_pool(last, d("2026-11-30")));
        assert!(s.should_return_to_pool(last, d("2026-12-01")));
    }

    #[test]
    fn delivery_calls_d3_d7_d30() {
        let s = SalesSettings::defaults();
        let calls = s.delivery_follow_ups(d("2026-11-23"));
        assert_eq!(
            calls,
            [
                (Role::SalesConsultant, d("2026-11-26")),
                (Role::SalesManager, d("2026-11-30")),
                (Role::CareSpecialist, d("2026-12-23")),
            ]
        );
    }

    #[test]
    fn china_day_boundaries() {
        let start = china_day_start(d("2026-11-23"));
        assert_eq!(start.to_rfc3339(), "2026-11-22T16:00:00+00:00");
        assert_eq!(china_local(start).date(), d("2026-11-23"));
    }

    #[test]
    fn china_times_as_typed() {
        let today = d("2026-11-23");
        let t = parse_china_time("arrived_at", "09:30", today).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T01:30:00+00:00");
        let t = parse_china_time("arrived_at", "2026-11-22T18:05", today).unwrap();
        assert_eq!(china_local(t).to_string(), "2026-11-22 18:05:00");
        assert_eq!(
            parse_china_time("arrived_at", "２０２６-11-22 18:05", today).unwrap(),
            t
        );
        let e = parse_china_time("arrived_at", "soon", today).unwrap_err();
        assert_eq!((e.field.as_str(), e.code()), ("arrived_at", "date_format"));
    }

    #[test]
    fn defeat_request_needs_competitor_or_words() {
        let e = check_defeat_request(DefeatReason::CompetitorBrand, Some("比亚迪"), None, None);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "competitor_model");
        assert!(
            check_defeat_request(
                DefeatReason::CompetitorBrand,
                Some("比亚迪"),
                Some("秦PLUS"),
                None
            )
            .is_empty()
        );
        let e = check_defeat_request(DefeatReason::Other, None, None, Some("  "));
        assert_eq!(e[0].field, "note");
        assert!(check_defeat_request(DefeatReason::Price, None, None, None).is_empty());
        assert!(is_specific_reason(DefeatReason::Price));
        assert!(!is_specific_reason(DefeatReason::Other));
        assert!(!is_specific_reason(DefeatReason::LostContact));
    }

    #[test]
    fn missed_follow_ups_before_a_defeat() {
        // Created on the 1st (next on the 3rd), contacted on the 3rd (next on the 6th),
        // on the 6th (next on the 13th): kept every appointment.
        let kept = [
            (d("2026-11-01"), Some(d("2026-11-03"))),
            (d("2026-11-03"), Some(d("2026-11-06"))),
            (d("2026-11-06"), Some(d("2026-11-13"))),
        ];
        assert!(!missed_follow_up(&kept, d("2026-11-10")));
        // The request on the 14th comes after the follow-up due on the 13th.
        assert!(missed_follow_up(&kept, d("2026-11-14")));
        // Contacted on the 5th although due on the 3rd.
        let late = [
            (d("2026-11-01"), Some(d("2026-11-03"))),
            (d("2026-11-05"), Some(d("2026-11-08"))),
        ];
        assert!(missed_follow_up(&late, d("2026-11-06")));
        // A contact without a plan keeps the earlier plan in force.
        let no_plan = [
            (d("2026-11-01"), Some(d("2026-11-03"))),
            (d("2026-11-02"), None),
        ];
        assert!(!missed_follow_up(&no_plan, d("2026-11-03")));
        assert!(missed_follow_up(&no_plan, d("2026-11-04")));
        assert!(!missed_follow_up(&[], d("2026-11-04")));
    }

    #[test]
    fn day_figures_count_purposes_grades_and_changes() {
        use LeadGrade::*;
        let c = |lead, p, a, b| DayContact {
            lead_id: Some(lead),
            purpose: Some(p),
            grade_before: a,
            grade_after: b,
        };
        let f = day_figures(&[
            c(1, VisitPurpose::Promote, Some(B), Some(A)),
            c(2, VisitPurpose::Promote, Some(H), Some(H)),
            c(3, VisitPurpose::Develop, None, Some(C)),
            c(1, VisitPurpose::Promote, Some(A), Some(H)),
            c(4, VisitPurpose::Promote, Some(A), Some(B)),
            DayContact {
                lead_id: None,
                purpose: Some(VisitPurpose::AfterSales),
                grade_before: None,
                grade_after: None,
            },
        ]);
        assert_eq!(f.contacts, 6);
        assert_eq!((f.promote, f.develop, f.after_sales), (4, 1, 1));
        // Leads 1 (first contact left it at A), 2 (H), 3 (C), 4 (B): O H A B C.
        assert_eq!(f.by_grade, [0, 1, 1, 1, 1]);
        // B→A and A→H are upgrades, A→B a downgrade.
        assert_eq!((f.upgrades, f.downgrades), (2, 1));
        assert_eq!(f.grade_changes.len(), 3);
    }

    #[test]
    fn rates_by_hand() {
        let c = SalesCounts {
            traffic: 120,
            first_visits: 100,
            registered: 45,
            new_leads: 60,
            second_visits: 15,
            test_drives: 24,
            invited: 20,
            showed: 13,
            orders: 9,
            deliveries: 6,
            defeat_requests: 10,
            defeats: 8,
            defeats_specific: 5,
            defeats_subjective: 2,
        };
        let r = sales_rates(&c);
        assert_eq!(r.registration, Some(0.45)); // 45 / 100
        assert_eq!(r.invitation_show_up, Some(0.65)); // 13 / 20
        assert_eq!(r.test_drive, Some(0.4)); // 24 / 60
        assert_eq!(r.conversion, Some(0.15)); // 9 / 60
        assert_eq!(r.defeat, Some(8.0 / 14.0)); // 8 / (8 + 6)
        assert_eq!(r.defeat_clarity, Some(0.5)); // 5 / 10
        assert_eq!(r.second_visit, Some(0.25)); // 15 / 60
        assert_eq!(r.subjective_defeat, Some(0.25)); // 2 / 8
        assert_eq!(sales_rates(&SalesCounts::default()).conversion, None);
    }

    #[test]
    fn close_rates_and_forecast_by_hand() {
        use LeadGrade::*;
        let g = |l, gr, s: &str| (l, gr, d(s));
        let gradings = vec![
            g(1, H, "2026-01-01"),
            g(1, H, "2026-01-03"), // second H grading of lead 1: only the first counts
            g(2, H, "2026-01-01"),
            g(3, A, "2026-01-01"),
            g(3, H, "2026-01-20"),
            g(4, A, "2026-01-01"),
            g(5, C, "2026-01-01"),
            g(6, B, "2026-03-01"), // graded after its order: left out
            g(6, O, "2026-02-01"), // O is not rated
        ];
        let orders: HashMap<i64, NaiveDate> = [
            (1, d("2026-01-10")), // H on 1 Jan, ordered 9 days later: closed
            (3, d("2026-02-05")), // A on 1 Jan: 35 days > 30, not closed; H on 20 Jan: 16 days, closed
            (6, d("2026-02-01")),
        ]
        .into_iter()
        .collect();
        let r = grade_close_rates(&gradings, &orders, 30);
        // H: leads 1, 2, 3 graded; 1 and 3 ordered within 30 days → 2/3.
        assert_eq!((r[0].graded, r[0].ordered), (3, 2));
        // A: leads 3, 4; neither within 30 days → 0/2.
        assert_eq!((r[1].graded, r[1].ordered, r[1].rate), (2, 0, Some(0.0)));
        // B: lead 6 graded after ordering is left out → no history, no rate.
        assert_eq!((r[2].graded, r[2].rate), (0, None));
        // C: lead 5 → 0/1.
        assert_eq!((r[3].graded, r[3].ordered), (1, 0));
        let f = forecast(&[(H, 6), (A, 10), (B, 4), (C, 7), (O, 3)], &r);
        // 6 × 2/3 + 10 × 0 + 4 × (no rate) + 7 × 0 = 4 expected orders; 3 in hand.
        assert!((f.expected_orders - 4.0).abs() < 1e-9);
        assert_eq!(f.orders_in_hand, 3);
        assert_eq!(f.rows[0].open_leads, 6);
        let combined = combine_rates(&[r[0], r[0]]);
        assert_eq!((combined[0].graded, combined[0].ordered), (6, 4));
    }
}
