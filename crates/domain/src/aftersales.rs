//! After-sales retention rules (DOMAIN.md §3–§4): how far a car is driven a day, when its
//! next maintenance is due and whether the first and second services were done here,
//! elsewhere or missed; which reminders and follow-up calls fall due on a date; what a call
//! outcome does; complaint timers in working days; questionnaire scores; KPI formulas.
//!
//! Pure functions over dates and numbers; the daily job and the pages feed them.

use crate::error::{Rule, ValidationError};
use crate::model::{ConsentPurpose, ContactOutcome, Role, TaskKind, code_enum};
use crate::workdays::HolidaySchedule;
use crate::{Lang, lunar};
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

// ---- settings ---------------------------------------------------------------------------

/// A store's after-sales configuration: every offset and window, with the defaults of
/// DOMAIN.md §3. Stored in `store.settings` under `"aftersales"`; missing keys take the
/// default, so a store sets only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AftersalesSettings {
    /// Maintenance reminders, days before the predicted due date; each later one is sent
    /// only while no appointment or visit followed ("one push is not enough").
    pub maintenance_reminder_days: Vec<i64>,
    /// First-service window closing: remind this many days before the window closes.
    pub first_service_closing_days: i64,
    /// Grace after the first/second service is due (DOMAIN: ≈ 1 month / 1,000 km).
    pub service_grace_days: i64,
    pub service_grace_km: i64,
    /// Insurance renewal lists (policies ending within these many days).
    pub insurance_list_days: Vec<i64>,
    /// Insurance renewal calls, days before the policy ends.
    pub insurance_contact_days: Vec<i64>,
    pub inspection_days: i64,
    pub warranty_days: i64,
    pub birthday_days: i64,
    pub anniversary_days: i64,
    pub holiday_days: i64,
    /// Holiday care calls only for VIP customers (everyone else gets the SMS campaign).
    pub holiday_vip_only: bool,
    /// No service visit for longer than this → lapsed, a win-back call.
    pub lapse_months: u32,
    /// Post-delivery calls: (days after delivery, role).
    pub delivery_follow_up: Vec<(i64, Role)>,
    pub service_follow_up_days: i64,
    pub complaint_follow_up_days: i64,
    /// An unreachable customer is called again the next working day, this many tries in all.
    pub call_attempts: u32,
    pub complaint_contact_working_days: u32,
    pub complaint_outcome_working_days: u32,
    pub complaint_close_working_days: u32,
    /// A questionnaire below this score (of 1000) opens a complaint.
    pub low_score: f64,
    /// Daily km when neither the car nor its model has a usable history.
    pub default_daily_km: f64,
    /// A reminder whose day passed while the job did not run is still created this many
    /// days later.
    pub catch_up_days: i64,
}

impl Default for AftersalesSettings {
    fn default() -> Self {
        AftersalesSettings {
            maintenance_reminder_days: vec![14, 7, 0],
            first_service_closing_days: 14,
            service_grace_days: 30,
            service_grace_km: 1000,
            insurance_list_days: vec![90, 60, 30],
            insurance_contact_days: vec![45, 33, 30],
            inspection_days: 45,
            warranty_days: 30,
            birthday_days: 1,
            anniversary_days: 0,
            holiday_days: 2,
            holiday_vip_only: true,
            lapse_months: 12,
            delivery_follow_up: vec![
                (3, Role::SalesConsultant),
                (7, Role::SalesManager),
                (30, Role::CareSpecialist),
            ],
            service_follow_up_days: 2,
            complaint_follow_up_days: 3,
            call_attempts: 3,
            complaint_contact_working_days: 3,
            complaint_outcome_working_days: 5,
            complaint_close_working_days: 14,
            low_score: 600.0,
            default_daily_km: 40.0,
            catch_up_days: 7,
        }
    }
}

/// The fields of the after-sales settings form, in the order the page shows them. Lists are
/// typed comma-separated (`14, 7, 0`); a delivery follow-up is `days role` (`3 sales_consultant`).
pub const SETTINGS_FIELDS: &[&str] = &[
    "maintenance_reminder_days",
    "first_service_closing_days",
    "service_grace_days",
    "service_grace_km",
    "default_daily_km",
    "insurance_list_days",
    "insurance_contact_days",
    "inspection_days",
    "warranty_days",
    "birthday_days",
    "anniversary_days",
    "holiday_days",
    "holiday_vip_only",
    "lapse_months",
    "delivery_follow_up",
    "service_follow_up_days",
    "complaint_follow_up_days",
    "call_attempts",
    "complaint_contact_working_days",
    "complaint_outcome_working_days",
    "complaint_close_working_days",
    "low_score",
    "catch_up_days",
];

fn join_days(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// A whole number typed in a settings field.
fn int_field(field: &str, text: &str) -> Result<i64, ValidationError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ValidationError::new(field, text, Rule::Number))
}

/// A comma-separated list of whole numbers (at least one).
fn days_field(field: &str, text: &str) -> Result<Vec<i64>, ValidationError> {
    let parts: Vec<&str> = text
        .split([',', '，', ' ', '、'])
        .filter(|p| !p.trim().is_empty())
        .collect();
    if parts.is_empty() {
        return Err(ValidationError::new(field, text, Rule::Required));
    }
    parts.iter().map(|p| int_field(field, p)).collect()
}

impl AftersalesSettings {
    /// The settings as the form's (field, text) pairs, in [`SETTINGS_FIELDS`] order.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        SETTINGS_FIELDS
            .iter()
            .map(|f| {
                let v = match *f {
                    "maintenance_reminder_days" => join_days(&self.maintenance_reminder_days),
                    "first_service_closing_days" => self.first_service_closing_days.to_string(),
                    "service_grace_days" => self.service_grace_days.to_string(),
                    "service_grace_km" => self.service_grace_km.to_string(),
                    "default_daily_km" => self.default_daily_km.to_string(),
                    "insurance_list_days" => join_days(&self.insurance_list_days),
                    "insurance_contact_days" => join_days(&self.insurance_contact_days),
                    "inspection_days" => self.inspection_days.to_string(),
                    "warranty_days" => self.warranty_days.to_string(),
                    "birthday_days" => self.birthday_days.to_string(),
                    "anniversary_days" => self.anniversary_days.to_string(),
                    "holiday_days" => self.holiday_days.to_string(),
                    "holiday_vip_only" => self.holiday_vip_only.to_string(),
                    "lapse_months" => self.lapse_months.to_string(),
                    "delivery_follow_up" => self
                        .delivery_follow_up
                        .iter()
                        .map(|(d, r)| format!("{d} {}", r.code()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    "service_follow_up_days" => self.service_follow_up_days.to_string(),
                    "complaint_follow_up_days" => self.complaint_follow_up_days.to_string(),
                    "call_attempts" => self.call_attempts.to_string(),
                    "complaint_contact_working_days" => {
                        self.complaint_contact_working_days.to_string()
                    }
                    "complaint_outcome_working_days" => {
                        self.complaint_outcome_working_days.to_string()
                    }
                    "complaint_close_working_days" => self.complaint_close_working_days.to_string(),
                    "low_score" => self.low_score.to_string(),
                    _ => self.catch_up_days.to_string(),
                };
                (*f, v)
            })
            .collect()
    }

    /// Reads the settings form: every field of [`SETTINGS_FIELDS`] (a missing one keeps
    /// `base`'s value; an unchecked `holiday_vip_only` box is absent, so it is read as
    /// "false" when `checkbox_sent` says the form was the page's own), then validates.
    /// Errors name the field, the value typed and the rule.
    pub fn from_fields(
        base: &AftersalesSettings,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<AftersalesSettings, Vec<ValidationError>> {
        let mut s = base.clone();
        let mut errors = Vec::new();
        for f in SETTINGS_FIELDS {
            let text = match get(f) {
                Some(t) => t,
                None if *f == "holiday_vip_only" => "false".into(),
                None => continue,
            };
            let int = |errors: &mut Vec<ValidationError>| match int_field(f, &text) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(e);
                    None
                }
            };
            let days = |errors: &mut Vec<ValidationError>| match days_field(f, &text) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(e);
                    None
                }
            };
            let u32_of = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
            match *f {
                "maintenance_reminder_days" => {
                    if let Some(v) = days(&mut errors) {
                        s.maintenance_reminder_days = v;
                    }
                }
                "insurance_list_days" => {
                    if let Some(v) = days(&mut errors) {
                        s.insurance_list_days = v;
                    }
                }
                "insurance_contact_days" => {
                    if let Some(v) = days(&mut errors) {
                        s.insurance_contact_days = v;
                    }
                }
                "holiday_vip_only" => {
                    s.holiday_vip_only = matches!(text.trim(), "true" | "on" | "1" | "yes");
                }
                "default_daily_km" | "low_score" => match text.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => {
                        if *f == "low_score" {
                            s.low_score = v;
                        } else {
                            s.default_daily_km = v;
                        }
                    }
                    _ => errors.push(ValidationError::new(*f, text.as_str(), Rule::Number)),
                },
                "delivery_follow_up" => {
                    let mut calls = Vec::new();
                    for part in text
                        .split([',', '，', '、'])
                        .filter(|p| !p.trim().is_empty())
                    {
                        // `3 sales_consultant`, `3 销售顾问` or `3 Sales consultant`.
                        let part = part.trim();
                        let (day, role) =
                            part.split_once(char::is_whitespace).unwrap_or((part, ""));
                        if role.trim().is_empty() {
                            errors.push(ValidationError::new(*f, part, Rule::Required));
                            continue;
                        }
                        match (int_field(f, day), Role::parse(f, role)) {
                            (Ok(d), Ok(r)) => calls.push((d, r)),
                            (Err(e), _) | (_, Err(e)) => errors.push(e),
                        }
                    }
                    s.delivery_follow_up = calls;
                }
                _ => {
                    if let Some(v) = int(&mut errors) {
                        match *f {
                            "first_service_closing_days" => s.first_service_closing_days = v,
                            "service_grace_days" => s.service_grace_days = v,
                            "service_grace_km" => s.service_grace_km = v,
                            "inspection_days" => s.inspection_days = v,
                            "warranty_days" => s.warranty_days = v,
                            "birthday_days" => s.birthday_days = v,
                            "anniversary_days" => s.anniversary_days = v,
                            "holiday_days" => s.holiday_days = v,
                            "lapse_months" => s.lapse_months = u32_of(v),
                            "service_follow_up_days" => s.service_follow_up_days = v,
                            "complaint_follow_up_days" => s.complaint_follow_up_days = v,
                            "call_attempts" => s.call_attempts = u32_of(v),
                            "complaint_contact_working_days" => {
                                s.complaint_contact_working_days = u32_of(v)
                            }
                            "complaint_outcome_working_days" => {
                                s.complaint_outcome_working_days = u32_of(v)
                            }
                            "complaint_close_working_days" => {
                                s.complaint_close_working_days = u32_of(v)
                            }
                            _ => s.catch_up_days = v,
                        }
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        s.validate()?;
        Ok(s)
    }
}

impl AftersalesSettings {
    /// Checks a configuration typed by an administrator.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut errors = Vec::new();
        let range = |field: &str, v: i64, min: i64, max: i64, errors: &mut Vec<ValidationError>| {
            if v < min || v > max {
                errors.push(ValidationError::new(
                    field,
                    v.to_string(),
                    Rule::OutOfRange { min, max },
                ));
            }
        };
        for d in &self.maintenance_reminder_days {
            range("maintenance_reminder_days", *d, 0, 90, &mut errors);
        }
        for d in &self.insurance_contact_days {
            range("insurance_contact_days", *d, 1, 120, &mut errors);
        }
        for d in &self.insurance_list_days {
            range("insurance_list_days", *d, 1, 180, &mut errors);
        }
        range("lapse_months", self.lapse_months as i64, 3, 36, &mut errors);
        range(
            "call_attempts",
            self.call_attempts as i64,
            1,
            10,
            &mut errors,
        );
        range(
            "complaint_close_working_days",
            self.complaint_close_working_days as i64,
            1,
            60,
            &mut errors,
        );
        range("low_score", self.low_score as i64, 0, 1000, &mut errors);
        for (field, v, min, max) in [
            (
                "first_service_closing_days",
                self.first_service_closing_days,
                0,
                90,
            ),
            ("service_grace_days", self.service_grace_days, 0, 180),
            ("service_grace_km", self.service_grace_km, 0, 10_000),
            ("default_daily_km", self.default_daily_km as i64, 1, 1000),
            ("inspection_days", self.inspection_days, 0, 180),
            ("warranty_days", self.warranty_days, 0, 180),
            ("birthday_days", self.birthday_days, 0, 30),
            ("anniversary_days", self.anniversary_days, 0, 30),
            ("holiday_days", self.holiday_days, 0, 30),
            ("service_follow_up_days", self.service_follow_up_days, 1, 30),
            (
                "complaint_follow_up_days",
                self.complaint_follow_up_days,
                1,
                30,
            ),
            (
                "complaint_contact_working_days",
                self.complaint_contact_working_days as i64,
                1,
                30,
            ),
            (
                "complaint_outcome_working_days",
                self.complaint_outcome_working_days as i64,
                1,
                60,
            ),
            ("catch_up_days", self.catch_up_days, 0, 30),
        ] {
            range(field, v, min, max, &mut errors);
        }
        for (d, _) in &self.delivery_follow_up {
            range("delivery_follow_up", *d, 1, 365, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

// ---- mileage and maintenance due --------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reading {
    pub on: NaiveDate,
    pub km: i64,
}

code_enum! {
    /// Where a daily-mileage estimate comes from.
    pub enum RateSource {
        Own = "own", "本车里程记录", "the car's own readings";
        Model = "model", "同车型平均", "model average";
        Store = "store", "门店默认值", "store default";
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DailyKm {
    pub km_per_day: f64,
    pub source: RateSource,
}

/// Plausible daily mileage; anything outside is a typo or a swapped odometer.
const MIN_DAILY_KM: f64 = 1.0;
const MAX_DAILY_KM: f64 = 500.0;
/// Readings closer than this say little about the rate.
const MIN_SPAN_DAYS: i64 = 14;
/// Only the last two years of readings set the rate (habits change).
const RATE_WINDOW_DAYS: i64 = 730;

/// The readings that form the longest non-decreasing sequence in date order: a typo
/// (a reading lower than the one before, or one far too high) is the odd one out and is
/// dropped, whichever side of the true value it falls. Readings implying more than
/// 500 km a day from the previous kept one are dropped too.
pub fn clean_readings(readings: &[Reading]) -> Vec<Reading> {
    let mut r: Vec<Reading> = readings.iter().copied().filter(|r| r.km >= 0).collect();
    r.sort();
    r.dedup_by(|a, b| a.on == b.on && a.km == b.km);
    // Longest non-decreasing subsequence by km (O(n log n) patience sorting).
    let n = r.len();
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let pos = tails.partition_point(|&t| r[t].km <= r[i].km);
        if pos > 0 {
            prev[i] = Some(tails[pos - 1]);
        }
        if pos == tails.len() {
            tails.push(i);
        } else {
            tails[pos] = i;
        }
    }
    let mut kept = Vec::new();
    let mut at = tails.last().copied();
    while let Some(i) = at {
        kept.push(r[i]);
        at = prev[i];
    }
    kept.reverse();
    // Drop jumps no car drives.
    let mut out: Vec<Reading> = Vec::with_capacity(kept.len());
    for x in kept {
        if let Some(last) = out.last() {
            let days = (x.on - last.on).num_days().max(1) as f64;
            if (x.km - last.km) as f64 / days > MAX_DAILY_KM {
                continue;
            }
        }
        out.push(x);
    }
    out
}

/// Daily km from the car's own readings (the last two years of clean readings spanning at
/// least two weeks), else the fallback (the model's or the store's average).
pub fn daily_km(readings: &[Reading], fallback: DailyKm) -> DailyKm {
    let clean = clean_readings(readings);
    own_rate(&clean).map_or(fallback, |km_per_day| DailyKm {
        km_per_day,
        source: RateSource::Own,
    })
}

fn own_rate(clean: &[Reading]) -> Option<f64> {
    let last = clean.last()?;
    let first = clean
        .iter()
        .find(|r| (last.on - r.on).num_days() <= RATE_WINDOW_DAYS)?;
    let days = (last.on - first.on).num_days();
    if days < MIN_SPAN_DAYS {
        return None;
    }
    let rate = (last.km - first.km) as f64 / days as f64;
    (MIN_DAILY_KM..=MAX_DAILY_KM)
        .contains(&rate)
        .then_some(rate)
}

/// A model's maintenance schedule (vehicle_model columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub first_km: i64,
    pub first_months: u32,
    pub interval_km: i64,
    pub interval_months: u32,
}

code_enum! {
    /// Which rule of the schedule sets the due date.
    pub enum DueRule {
        Time = "time", "按时间", "by time";
        Km = "km", "按里程", "by km";
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DuePrediction {
    /// 1 = the first service; 2 = the second; …
    pub service_no: u32,
    pub due_on: NaiveDate,
    pub rule: DueRule,
    /// The odometer at which the km rule falls due.
    pub due_km: i64,
    /// The estimated odometer today.
    pub km_today: i64,
    pub rate: DailyKm,
}

fn add_months(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_add_months(Months::new(m)).unwrap_or(d)
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs())).unwrap_or(d)
    }
}

/// The estimated odometer on a date from the newest clean reading at or before it (or the
/// delivery at 0 km), moving at the daily rate.
pub fn km_on(date: NaiveDate, delivery: NaiveDate, clean: &[Reading], rate: f64) -> i64 {
    let anchor = clean
        .iter()
        .rev()
        .find(|r| r.on <= date)
        .copied()
        .unwrap_or(Reading {
            on: delivery,
            km: 0,
        });
    anchor.km + ((date - anchor.on).num_days().max(0) as f64 * rate).round() as i64
}

/// The next maintenance: the earlier of the time rule and the km rule of the schedule,
/// counted from the last service (or from delivery for the first service). The km rule's
/// date is where the newest reading, moving at the daily rate, reaches the due km.
pub fn next_due(
    delivery: NaiveDate,
    services_done: u32,
    last_service: Option<Reading>,
    readings: &[Reading],
    rate: DailyKm,
    schedule: &Schedule,
    today: NaiveDate,
) -> DuePrediction {
    let clean = clean_readings(readings);
    let r = rate.km_per_day.max(MIN_DAILY_KM);
    let (base, months, km) = match (services_done, last_service) {
        (0, _) | (_, None) => (
            Reading {
                on: delivery,
                km: 0,
            },
            schedule.first_months,
            schedule.first_km,
        ),
        (_, Some(s)) => (s, schedule.interval_months, schedule.interval_km),
    };
    let by_time = add_months(base.on, months);
    let due_km = base.km + km;
    // Anchor: the newest reading since the base (the base itself if none).
    let anchor = clean
        .iter()
        .rev()
        .find(|x| x.on >= base.on)
        .copied()
        .unwrap_or(base);
    let days_to_km = ((due_km - anchor.km) as f64 / r).ceil() as i64;
    let by_km = add_days(anchor.on, days_to_km.max(0));
    let (due_on, rule) = if by_km < by_time {
        (by_km, DueRule::Km)
    } else {
        (by_time, DueRule::Time)
    };
    DuePrediction {
        service_no: if last_service.is_none() {
            1
        } else {
            services_done + 1
        },
        due_on,
        rule,
        due_km,
        km_today: km_on(today, delivery, &clean, r),
        rate,
    }
}

code_enum! {
    /// Where the first (second) service stands.
    pub enum WindowStatus {
        Upcoming = "upcoming", "未到期", "Upcoming";
        Open = "open", "窗口期内", "Window open";
        DoneHere = "done_here", "本店完成", "Done here";
        DoneElsewhere = "done_elsewhere", "他处完成", "Done elsewhere";
        Missed = "missed", "已流失", "Missed";
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServiceWindow {
    pub service_no: u32,
    pub due_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub status: WindowStatus,
    /// The visit (here or elsewhere) that fulfilled it.
    pub done_on: Option<NaiveDate>,
}

/// The first- and second-service windows of a car. `visits_here` are its maintenance
/// visits at our stores (first service and regular maintenance), `elsewhere` the dates the
/// owner told us of a service elsewhere; both in any order.
#[allow(clippy::too_many_arguments)]
pub fn service_windows(
    delivery: NaiveDate,
    rate: f64,
    schedule: &Schedule,
    settings: &AftersalesSettings,
    visits_here: &[NaiveDate],
    elsewhere: &[NaiveDate],
    today: NaiveDate,
) -> [ServiceWindow; 2] {
    let r = rate.max(MIN_DAILY_KM);
    let mut here: Vec<NaiveDate> = visits_here
        .iter()
        .copied()
        .filter(|d| *d >= delivery)
        .collect();
    here.sort();
    let mut away: Vec<NaiveDate> = elsewhere.to_vec();
    away.sort();
    let window = |base: NaiveDate, months: u32, km: i64| {
        let by_time = add_months(base, months);
        let by_km = add_days(base, (km as f64 / r).ceil() as i64);
        let due = by_time.min(by_km);
        let close_time = add_days(by_time, settings.service_grace_days);
        let close_km = add_days(
            base,
            ((km + settings.service_grace_km) as f64 / r).ceil() as i64,
        );
        (due, close_time.min(close_km))
    };
    let status = |due: NaiveDate,
                  closes: NaiveDate,
                  after: NaiveDate,
                  here: &[NaiveDate],
                  away: &[NaiveDate]|
     -> (WindowStatus, Option<NaiveDate>) {
        if let Some(d) = here.iter().find(|d| **d > after && **d <= closes) {
            return (WindowStatus::DoneHere, Some(*d));
        }
        if let Some(d) = away.iter().find(|d| **d > after && **d <= closes) {
            return (WindowStatus::DoneElsewhere, Some(*d));
        }
        if today > closes {
            (WindowStatus::Missed, None)
        } else if today >= add_days(due, -30) {
            (WindowStatus::Open, None)
        } else {
            (WindowStatus::Upcoming, None)
        }
    };
    let (due1, closes1) = window(delivery, schedule.first_months, schedule.first_km);
    let before_delivery = add_days(delivery, -1);
    let (st1, done1) = status(due1, closes1, before_delivery, &here, &away);
    let base2 = done1.unwrap_or(due1);
    let (due2, closes2) = window(base2, schedule.interval_months, schedule.interval_km);
    let (st2, done2) = status(due2, closes2, base2, &here, &away);
    [
        ServiceWindow {
            service_no: 1,
            due_on: due1,
            closes_on: closes1,
            status: st1,
            done_on: done1,
        },
        ServiceWindow {
            service_no: 2,
            due_on: due2,
            closes_on: closes2,
            status: st2,
            done_on: done2,
        },
    ]
}

// ---- when reminders fall due -------------------------------------------------------------

/// Event dates whose reminder `offset` days BEFORE the event falls due today (or fell due
/// in the last `catch_up` days, for a job that did not run): events in
/// `[today + offset − catch_up, today + offset]`.
pub fn before_event_window(today: NaiveDate, offset: i64, catch_up: i64) -> (NaiveDate, NaiveDate) {
    (add_days(today, offset - catch_up), add_days(today, offset))
}

/// Event dates whose call `offset` days AFTER the event falls due today (or in the last
/// `catch_up` days): events in `[today − offset − catch_up, today − offset]`.
pub fn after_event_window(today: NaiveDate, offset: i64, catch_up: i64) -> (NaiveDate, NaiveDate) {
    (
        add_days(today, -offset - catch_up),
        add_days(today, -offset),
    )
}

/// The maintenance reminders of a due date that fall due today or fell due within the
/// catch-up days: (offset, reminder date), earliest first. Later reminders repeat an
/// earlier one; the caller skips them when a booking or visit followed.
pub fn maintenance_reminders_due(
    due_on: NaiveDate,
    offsets: &[i64],
    today: NaiveDate,
    catch_up: i64,
) -> Vec<(i64, NaiveDate)> {
    let mut v: Vec<(i64, NaiveDate)> = offsets
        .iter()
        .map(|o| (*o, add_days(due_on, -*o)))
        .filter(|(_, d)| *d <= today && *d >= add_days(today, -catch_up))
        .collect();
    v.sort_by_key(|(_, d)| *d);
    v
}

/// Whether the first-service window's closing reminder falls due (window still open, not
/// yet done, closing within `days`).
pub fn first_service_closing_due(w: &ServiceWindow, days: i64, today: NaiveDate) -> bool {
    w.service_no == 1
        && matches!(w.status, WindowStatus::Open | WindowStatus::Upcoming)
        && today >= add_days(w.closes_on, -days)
        && today <= w.closes_on
}

/// This year's celebration date of a birthday: solar (29 Feb kept on 28 Feb in common
/// years) or lunar (the lunar month/day of the birth date, in the lunar year that falls
/// in `year`; day 30 kept on 29 in a short month, a leap-month birthday in the ordinary
/// month).
pub fn birthday_in_year(birth: NaiveDate, lunar_birthday: bool, year: i32) -> Option<NaiveDate> {
    if lunar_birthday {
        let l = lunar::to_lunar(birth)?;
        lunar::in_solar_year(year, l.month, l.day)
    } else {
        NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
    }
}

/// The birth dates (born `from_year`..=`to_year`) whose birthday is celebrated on
/// `target`: the set a set-based query looks for.
pub fn birth_dates_celebrated_on(
    target: NaiveDate,
    lunar_birthday: bool,
    from_year: i32,
    to_year: i32,
) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    if lunar_birthday {
        let Some(t) = lunar::to_lunar(target) else {
            return out;
        };
        // Born on this lunar month/day; on the 29th of a short month also those born on
        // the 30th.
        let short_end =
            !t.leap && t.day == 29 && lunar::month_len(t.year, t.month, false) == Some(29);
        let mut days = vec![t.day];
        if short_end {
            days.push(30);
        }
        for y in from_year..=to_year {
            for day in &days {
                for leap in [false, true] {
                    if let Some(b) = lunar::to_solar(lunar::LunarDate {
                        year: y,
                        month: t.month,
                        day: *day,
                        leap,
                    }) {
                        out.push(b);
                    }
                }
            }
        }
    } else {
        for y in from_year..=to_year {
            if let Some(b) = NaiveDate::from_ymd_opt(y, target.month(), target.day()) {
                out.push(b);
            }
            // 29 Feb birthdays are kept on 28 Feb in common years.
            let common = NaiveDate::from_ymd_opt(target.year(), 2, 29).is_none();
            if common && target.month() == 2 && target.day() == 28 {
                if let Some(b) = NaiveDate::from_ymd_opt(y, 2, 29) {
                    out.push(b);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Delivery dates whose n-th anniversary (1 ≤ n ≤ `years`) is `target`.
pub fn anniversary_deliveries(target: NaiveDate, years: u32) -> Vec<NaiveDate> {
    birth_dates_celebrated_on(
        target,
        false,
        target.year() - years as i32,
        target.year() - 1,
    )
}

/// Festivals whose care call (`notice` days before) falls due today or within catch-up:
/// (festival, festival date).
pub fn festivals_due(
    today: NaiveDate,
    notice: i64,
    catch_up: i64,
) -> Vec<(crate::workdays::Festival, NaiveDate)> {
    let (lo, hi) = before_event_window(today, notice, catch_up);
    let mut out = Vec::new();
    for year in [lo.year(), hi.year()] {
        for f in crate::workdays::Festival::ALL {
            if let Some(d) = f.date(year)
                && d >= lo
                && d <= hi
                && !out.contains(&(f, d))
            {
                out.push((f, d));
            }
        }
    }
    out
}

/// The last visit before which an owner counts as lapsed today.
pub fn lapse_cutoff(today: NaiveDate, lapse_months: u32) -> NaiveDate {
    today
        .checked_sub_months(Months::new(lapse_months))
        .unwrap_or(today)
}

// ---- who calls, for what purpose ---------------------------------------------------------

/// The role that works a task kind.
pub fn role_for(kind: TaskKind) -> Role {
    match kind {
        TaskKind::MaintenanceReminder
        | TaskKind::FirstServiceReminder
        | TaskKind::AppointmentReminder
        | TaskKind::NoShowFollowUp => Role::ServiceAdvisor,
        TaskKind::LeadFollowUp => Role::SalesConsultant,
        TaskKind::ComplaintEscalation => Role::GeneralManager,
        _ => Role::CareSpecialist,
    }
}

/// The consent purpose a contact of this kind falls under (DOMAIN.md §6): service notices
/// (maintenance, inspection, warranty, appointments, follow-up calls, complaints) need no
/// marketing consent; renewal offers, care greetings and win-back campaigns do.
pub fn purpose_of(kind: TaskKind) -> ConsentPurpose {
    match kind {
        TaskKind::InsuranceRenewal
        | TaskKind::Birthday
        | TaskKind::PurchaseAnniversary
        | TaskKind::Holiday
        | TaskKind::WinBack
        | TaskKind::LeadFollowUp => ConsentPurpose::Marketing,
        _ => ConsentPurpose::Service,
    }
}

/// The task kinds that are follow-up calls (回访) with a questionnaire.
pub fn is_follow_up(kind: TaskKind) -> bool {
    matches!(
        kind,
        TaskKind::DeliveryFollowUp | TaskKind::ServiceFollowUp | TaskKind::ComplaintFollowUp
    )
}

/// The one-click outcomes of an outbound call.
pub const CALL_OUTCOMES: [ContactOutcome; 6] = [
    ContactOutcome::Booked,
    ContactOutcome::Declined,
    ContactOutcome::Unreachable,
    ContactOutcome::WrongNumber,
    ContactOutcome::ServicedElsewhere,
    ContactOutcome::DoNotContact,
];

/// What recording an outcome does to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEffect {
    /// The task is done with this outcome.
    Done,
    /// Unreachable: call again on this date (attempt n of the allowed).
    Retry(NaiveDate),
    /// Unreachable for the last allowed time: done as unreachable.
    GiveUp,
}

/// The rule for an outcome: unreachable calls are retried the next working day until the
/// store's number of attempts is used (an unanswered call is not a contact).
pub fn task_effect(
    outcome: ContactOutcome,
    attempts_before: u32,
    allowed: u32,
    today: NaiveDate,
    schedule: &HolidaySchedule,
) -> TaskEffect {
    match outcome {
        ContactOutcome::Unreachable if attempts_before + 1 < allowed => {
            TaskEffect::Retry(schedule.next_working_day(today))
        }
        ContactOutcome::Unreachable => TaskEffect::GiveUp,
        _ => TaskEffect::Done,
    }
}

/// Whether a later reminder of the same cycle should still be sent after an earlier one
/// ended with this outcome.
pub fn outcome_stops_cycle(outcome: &str) -> bool {
    matches!(
        outcome,
        "booked"
            | "declined"
            | "serviced_elsewhere"
            | "do_not_contact"
            | "wrong_number"
            | "visited"
    )
}

// ---- complaints -----------------------------------------------------------------------------

code_enum! {
    pub enum ComplaintChannel {
        Phone = "phone", "电话", "Phone";
        Visit = "visit", "到店", "In person";
        FollowUpCall = "follow_up_call", "回访发现", "Follow-up call";
        Oem = "oem", "厂家转办", "OEM hotline";
        Online = "online", "网络/社交媒体", "Online";
        Letter = "letter", "信函", "Letter";
    }
}

code_enum! {
    /// Complaint categories (the demo's Chinese labels parse as these).
    pub enum ComplaintCategory {
        RepairQuality = "repair_quality", "维修质量", "Repair quality";
        Attitude = "attitude", "服务态度", "Staff attitude";
        Waiting = "waiting", "等待时间", "Waiting time";
        Charges = "charges", "收费争议", "Charges";
        Parts = "parts", "配件缺货", "Parts availability";
        Delivery = "delivery", "交车延误", "Delivery delay";
        Product = "product", "产品质量", "Product quality";
        Sales = "sales", "销售服务", "Sales service";
    }
}

code_enum! {
    pub enum Severity {
        Low = "low", "一般", "Low";
        Medium = "medium", "较重", "Medium";
        High = "high", "严重", "High";
    }
}

code_enum! {
    /// The customer's satisfaction with how a complaint was resolved.
    pub enum ResolutionSatisfaction {
        Satisfied = "satisfied", "满意", "Satisfied";
        Neutral = "neutral", "一般", "Neutral";
        Dissatisfied = "dissatisfied", "不满意", "Dissatisfied";
    }
}

code_enum! {
    /// The three timers of a complaint, in the order they run out.
    pub enum SlaStage {
        Contact = "contact", "首次联系", "first contact";
        Outcome = "outcome", "处理方案", "outcome";
        Close = "close", "结案", "closing";
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ComplaintSla {
    pub contact_by: NaiveDate,
    pub outcome_by: NaiveDate,
    pub close_by: NaiveDate,
}

/// The complaint's deadlines in working days from the day it was opened.
pub fn complaint_sla(
    opened_on: NaiveDate,
    s: &AftersalesSettings,
    schedule: &HolidaySchedule,
) -> ComplaintSla {
    ComplaintSla {
        contact_by: schedule.add_working_days(opened_on, s.complaint_contact_working_days),
        outcome_by: schedule.add_working_days(opened_on, s.complaint_outcome_working_days),
        close_by: schedule.add_working_days(opened_on, s.complaint_close_working_days),
    }
}

/// The timers that have run out by `today` (a timer runs out the day after its deadline)
/// and whose step was not done in time.
pub fn overdue_stages(
    sla: &ComplaintSla,
    contacted_on: Option<NaiveDate>,
    outcome_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<SlaStage> {
    let late = |by: NaiveDate, done: Option<NaiveDate>| match done {
        Some(d) => d > by,
        None => today > by,
    };
    let mut v = Vec::new();
    if late(sla.contact_by, contacted_on) {
        v.push(SlaStage::Contact);
    }
    if late(sla.outcome_by, outcome_on) {
        v.push(SlaStage::Outcome);
    }
    if late(sla.close_by, closed_on) {
        v.push(SlaStage::Close);
    }
    v
}

// ---- questionnaires ---------------------------------------------------------------------

code_enum! {
    /// How a question is answered.
    pub enum AnswerScale {
        Five = "five", "1–5 分", "1–5";
        Ten = "ten", "0–10 分", "0–10";
        YesNo = "yes_no", "是/否", "yes/no";
        Satisfaction = "satisfaction", "非常满意…非常不满意", "very satisfied … very dissatisfied";
    }
}

impl AnswerScale {
    pub fn range(self) -> (i64, i64) {
        match self {
            AnswerScale::Five | AnswerScale::Satisfaction => (1, 5),
            AnswerScale::Ten => (0, 10),
            AnswerScale::YesNo => (0, 1),
        }
    }
    /// An answer as a share of the best answer, 0..=1.
    pub fn normalise(self, v: i64) -> f64 {
        let (lo, hi) = self.range();
        (v - lo) as f64 / (hi - lo) as f64
    }
    /// "Dissatisfied": 1–2 of 5, 0–4 of 10, "no".
    pub fn is_dissatisfied(self, v: i64) -> bool {
        match self {
            AnswerScale::Five | AnswerScale::Satisfaction => v <= 2,
            AnswerScale::Ten => v <= 4,
            AnswerScale::YesNo => v == 0,
        }
    }
    /// "Satisfied or very satisfied": 4–5 of 5, 8–10 of 10, "yes".
    pub fn is_satisfied(self, v: i64) -> bool {
        match self {
            AnswerScale::Five | AnswerScale::Satisfaction => v >= 4,
            AnswerScale::Ten => v >= 8,
            AnswerScale::YesNo => v == 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionRule {
    pub id: i64,
    pub scale: AnswerScale,
    pub weight: f64,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuestionnaireScore {
    /// Weighted mean of the normalised answers × 1000 (the SSI/CSI scale).
    pub points: f64,
    /// Weighted share of satisfied answers ≥ 0.5 → counted "satisfied" in the KPI.
    pub satisfied: bool,
    /// Some answer was "dissatisfied".
    pub any_dissatisfied: bool,
}

/// Validates answers against the template (required questions answered, values on the
/// scale) and scores them. `answers` are (question id, value).
pub fn score_answers(
    questions: &[QuestionRule],
    answers: &[(i64, i64)],
) -> Result<QuestionnaireScore, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let (mut sum, mut weights, mut sat_w) = (0.0, 0.0, 0.0);
    let mut any_dissatisfied = false;
    for q in questions {
        let field = format!("q{}", q.id);
        match answers.iter().find(|(id, _)| *id == q.id) {
            None if q.required => errors.push(ValidationError::new(&field, "", Rule::Required)),
            None => {}
            Some((_, v)) => {
                let (lo, hi) = q.scale.range();
                if *v < lo || *v > hi {
                    errors.push(ValidationError::new(
                        &field,
                        v.to_string(),
                        Rule::OutOfRange { min: lo, max: hi },
                    ));
                    continue;
                }
                sum += q.weight * q.scale.normalise(*v);
                weights += q.weight;
                if q.scale.is_satisfied(*v) {
                    sat_w += q.weight;
                }
                any_dissatisfied |= q.scale.is_dissatisfied(*v);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if weights <= 0.0 {
        return Err(vec![ValidationError::new("answers", "", Rule::Required)]);
    }
    Ok(QuestionnaireScore {
        points: (sum / weights * 1000.0 * 10.0).round() / 10.0,
        satisfied: sat_w / weights >= 0.5,
        any_dissatisfied,
    })
}

/// Whether a scored call opens a complaint: below the store's low score, or any
/// "dissatisfied" answer.
pub fn opens_complaint(s: &QuestionnaireScore, settings: &AftersalesSettings) -> bool {
    s.points < settings.low_score || s.any_dissatisfied
}

// ---- KPI formulas (DOMAIN.md §4) -----------------------------------------------------------

/// numerator ÷ denominator, None when nothing was due.
pub fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// 两周结案率: closed within two weeks ÷ (closed + still open after two weeks).
pub fn complaint_closure_rate(
    closed_in_time: i64,
    closed_late: i64,
    open_over: i64,
) -> Option<f64> {
    ratio(closed_in_time, closed_in_time + closed_late + open_over)
}

/// A rate as "87.5%" (or "—").
pub fn percent(r: Option<f64>, _lang: Lang) -> String {
    match r {
        Some(v) => format!("{:.1}%", v * 100.0),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn r(on: &str, km: i64) -> Reading {
        Reading { on: d(on), km }
    }
    const FALLBACK: DailyKm = DailyKm {
        km_per_day: 40.0,
        source: RateSource::Model,
    };
    const SCHED: Schedule = Schedule {
        first_km: 5000,
        first_months: 6,
        interval_km: 10000,
        interval_months: 12,
    };

    #[test]
    fn daily_km_from_own_readings() {
        // 2026-01-01 10,000 km → 2026-07-20 (200 days) 16,000 km: 30 km/day.
        let k = daily_km(
            &[r("2026-01-01", 10_000), r("2026-07-20", 16_000)],
            FALLBACK,
        );
        assert_eq!(k.source, RateSource::Own);
        assert!((k.km_per_day - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_lower_reading_is_a_typo_and_dropped() {
        // 12,000 on 2026-03-01 is below the 13,000 before it: dropped. The others give
        // (19,000 − 10,000) / 300 days (2026-01-01 → 2026-10-28) = 30 km/day.
        let rs = [
            r("2026-01-01", 10_000),
            r("2026-02-01", 13_000),
            r("2026-03-01", 1_200),
            r("2026-10-28", 19_000),
        ];
        let clean = clean_readings(&rs);
        assert_eq!(clean.len(), 3);
        assert!(!clean.iter().any(|x| x.km == 1_200));
        let k = daily_km(&rs, FALLBACK);
        assert!((k.km_per_day - 30.0).abs() < 1e-9, "{k:?}");
        // A reading far too high (an extra digit) is dropped too: 130,000 between
        // 10,000 and 19,000.
        let rs = [
            r("2026-01-01", 10_000),
            r("2026-02-01", 130_000),
            r("2026-10-28", 19_000),
        ];
        let k = daily_km(&rs, FALLBACK);
        assert_eq!(k.source, RateSource::Own);
        assert!((k.km_per_day - 30.0).abs() < 1e-9, "{k:?}");
    }

    #[test]
    fn a_single_reading_falls_back_to_the_model_average() {
        assert_eq!(daily_km(&[r("2026-05-01", 3_000)], FALLBACK), FALLBACK);
        assert_eq!(daily_km(&[], FALLBACK), FALLBACK);
        // Two readings a week apart say too little.
        assert_eq!(
            daily_km(&[r("2026-05-01", 3_000), r("2026-05-08", 3_400)], FALLBACK),
            FALLBACK
        );
    }

    #[test]
    fn first_service_by_time_rule() {
        // Delivered 2026-01-10, 10 km/day: 5,000 km would take 500 days; 6 months
        // come first → 2026-07-10, by time.
        let rate = DailyKm {
            km_per_day: 10.0,
            source: RateSource::Own,
        };
        let p = next_due(d("2026-01-10"), 0, None, &[], rate, &SCHED, d("2026-03-01"));
        assert_eq!(p.service_no, 1);
        assert_eq!(p.due_on, d("2026-07-10"));
        assert_eq!(p.rule, DueRule::Time);
        // km today: 50 days × 10 km = 500.
        assert_eq!(p.km_today, 500);
    }

    #[test]
    fn first_service_by_km_rule() {
        // Delivered 2026-01-10, reading 2026-02-09 at 3,000 km (100 km/day over 30 days):
        // 2,000 km more → 20 days → 2026-03-01, before 2026-07-10.
        let rs = [r("2026-02-09", 3_000)];
        let rate = DailyKm {
            km_per_day: 100.0,
            source: RateSource::Own,
        };
        let p = next_due(d("2026-01-10"), 0, None, &rs, rate, &SCHED, d("2026-02-10"));
        assert_eq!(p.due_on, d("2026-03-01"));
        assert_eq!(p.rule, DueRule::Km);
        assert_eq!(p.due_km, 5_000);
    }

    #[test]
    fn regular_maintenance_counts_from_the_last_service() {
        // Last service 2026-03-01 at 8,000 km; 20 km/day: 10,000 km take 500 days, so the
        // 12-month rule wins: 2027-03-01.
        let rate = DailyKm {
            km_per_day: 20.0,
            source: RateSource::Own,
        };
        let p = next_due(
            d("2025-06-01"),
            1,
            Some(r("2026-03-01", 8_000)),
            &[r("2026-03-01", 8_000)],
            rate,
            &SCHED,
            d("2026-04-01"),
        );
        assert_eq!(p.service_no, 2);
        assert_eq!(p.due_on, d("2027-03-01"));
        assert_eq!(p.rule, DueRule::Time);
        assert_eq!(p.due_km, 18_000);
    }

    #[test]
    fn service_windows_here_elsewhere_and_missed() {
        let s = AftersalesSettings::default();
        // 20 km/day: first due 6 months after 2025-01-01 (5,000 km take 250 days) =
        // 2025-07-01; closes min(07-01 + 30 d, 01-01 + 6,000/20 = 300 d) = 2025-07-31.
        let w = service_windows(
            d("2025-01-01"),
            20.0,
            &SCHED,
            &s,
            &[d("2025-06-20")],
            &[],
            d("2026-11-23"),
        );
        assert_eq!(w[0].due_on, d("2025-07-01"));
        assert_eq!(w[0].closes_on, d("2025-07-31"));
        assert_eq!(w[0].status, WindowStatus::DoneHere);
        // Second: from the first service 2025-06-20 + 12 months (10,000 km take 500 days)
        // = 2026-06-20, closes 2026-07-20; nothing since → missed.
        assert_eq!(w[1].due_on, d("2026-06-20"));
        assert_eq!(w[1].status, WindowStatus::Missed);
        // Told us of a service elsewhere on 2026-06-25: done elsewhere.
        let w = service_windows(
            d("2025-01-01"),
            20.0,
            &SCHED,
            &s,
            &[d("2025-06-20")],
            &[d("2026-06-25")],
            d("2026-11-23"),
        );
        assert_eq!(w[1].status, WindowStatus::DoneElsewhere);
        // A new car: first window upcoming, then open within 30 days of due.
        let w = service_windows(d("2026-10-01"), 20.0, &SCHED, &s, &[], &[], d("2026-11-23"));
        assert_eq!(w[0].status, WindowStatus::Upcoming);
        let w = service_windows(d("2026-06-01"), 20.0, &SCHED, &s, &[], &[], d("2026-11-23"));
        assert_eq!(w[0].status, WindowStatus::Open);
    }

    #[test]
    fn maintenance_reminders_repeat_before_the_due_date() {
        // Due 2026-12-07: reminders on 11-23 (14 days), 11-30 (7), 12-07 (0).
        let due = d("2026-12-07");
        assert_eq!(
            maintenance_reminders_due(due, &[14, 7, 0], d("2026-11-23"), 0),
            vec![(14, d("2026-11-23"))]
        );
        assert_eq!(
            maintenance_reminders_due(due, &[14, 7, 0], d("2026-11-30"), 0),
            vec![(7, d("2026-11-30"))]
        );
        // The job last ran on 11-22; on 12-01 with 7 catch-up days only reminders dated
        // 11-24 … 12-01 are made up for: the 7-day one (11-30), not the 14-day one (11-23).
        assert_eq!(
            maintenance_reminders_due(due, &[14, 7, 0], d("2026-12-01"), 7),
            vec![(7, d("2026-11-30"))]
        );
        assert!(maintenance_reminders_due(due, &[14, 7, 0], d("2026-11-22"), 7).is_empty());
    }

    #[test]
    fn first_service_closing_reminder() {
        let w = ServiceWindow {
            service_no: 1,
            due_on: d("2026-11-01"),
            closes_on: d("2026-12-01"),
            status: WindowStatus::Open,
            done_on: None,
        };
        assert!(!first_service_closing_due(&w, 14, d("2026-11-16")));
        assert!(first_service_closing_due(&w, 14, d("2026-11-17")));
        let done = ServiceWindow {
            status: WindowStatus::DoneHere,
            ..w
        };
        assert!(!first_service_closing_due(&done, 14, d("2026-11-20")));
    }

    #[test]
    fn insurance_inspection_and_warranty_windows() {
        // A policy ending 2027-01-07 is called at T−45 = 2026-11-23.
        let (lo, hi) = before_event_window(d("2026-11-23"), 45, 0);
        assert_eq!((lo, hi), (d("2027-01-07"), d("2027-01-07")));
        // With 7 catch-up days, ends 2026-12-31 … 2027-01-07.
        let (lo, _) = before_event_window(d("2026-11-23"), 45, 7);
        assert_eq!(lo, d("2026-12-31"));
        // Post-service call D+2: work orders settled 2026-11-21.
        assert_eq!(
            after_event_window(d("2026-11-23"), 2, 0),
            (d("2026-11-21"), d("2026-11-21"))
        );
    }

    #[test]
    fn solar_and_lunar_birthdays() {
        // Solar: born 1980-11-24 → celebrated 2026-11-24.
        assert_eq!(
            birthday_in_year(d("1980-11-24"), false, 2026),
            Some(d("2026-11-24"))
        );
        // 29 Feb in a common year → 28 Feb.
        assert_eq!(
            birthday_in_year(d("1988-02-29"), false, 2026),
            Some(d("2026-02-28"))
        );
        assert!(
            birth_dates_celebrated_on(d("2026-02-28"), false, 1988, 1988)
                .contains(&d("1988-02-29"))
        );
        // Lunar: born 1984-02-02 = lunar 1984-01-01 → celebrated on 春节 2026-02-17.
        assert_eq!(
            birthday_in_year(d("1984-02-02"), true, 2026),
            Some(d("2026-02-17"))
        );
        let born = birth_dates_celebrated_on(d("2026-02-17"), true, 1980, 1990);
        assert!(born.contains(&d("1984-02-02")), "{born:?}");
        // Born on 春节 1990 (1990-01-27) too.
        assert!(born.contains(&d("1990-01-27")), "{born:?}");
    }

    #[test]
    fn anniversaries_and_festivals() {
        let v = anniversary_deliveries(d("2026-11-23"), 3);
        assert_eq!(v, vec![d("2023-11-23"), d("2024-11-23"), d("2025-11-23")]);
        // Two days' notice: on 2026-09-23 the Mid-Autumn call (2026-09-25) falls due.
        let f = festivals_due(d("2026-09-23"), 2, 0);
        assert_eq!(
            f,
            vec![(crate::workdays::Festival::MidAutumn, d("2026-09-25"))]
        );
        assert!(festivals_due(d("2026-09-22"), 2, 0).is_empty());
        // Spring Festival 2027 (2027-02-06) with 2 days' notice on 2027-02-04.
        let f = festivals_due(d("2027-02-04"), 2, 0);
        assert_eq!(f[0].1, d("2027-02-06"));
    }

    #[test]
    fn lapse_and_purposes() {
        assert_eq!(lapse_cutoff(d("2026-11-23"), 12), d("2025-11-23"));
        assert_eq!(
            purpose_of(TaskKind::InsuranceRenewal),
            ConsentPurpose::Marketing
        );
        assert_eq!(
            purpose_of(TaskKind::MaintenanceReminder),
            ConsentPurpose::Service
        );
        assert_eq!(
            role_for(TaskKind::MaintenanceReminder),
            Role::ServiceAdvisor
        );
        assert_eq!(role_for(TaskKind::InsuranceRenewal), Role::CareSpecialist);
    }

    #[test]
    fn unreachable_is_retried_the_next_working_day_then_given_up() {
        let s = HolidaySchedule::official();
        // Friday 2026-11-20, first try unreachable, 3 allowed → Monday 2026-11-23.
        assert_eq!(
            task_effect(ContactOutcome::Unreachable, 0, 3, d("2026-11-20"), s),
            TaskEffect::Retry(d("2026-11-23"))
        );
        assert_eq!(
            task_effect(ContactOutcome::Unreachable, 2, 3, d("2026-11-23"), s),
            TaskEffect::GiveUp
        );
        assert_eq!(
            task_effect(ContactOutcome::Booked, 0, 3, d("2026-11-23"), s),
            TaskEffect::Done
        );
        assert!(outcome_stops_cycle("booked"));
        assert!(!outcome_stops_cycle("unreachable"));
    }

    #[test]
    fn complaint_timers_over_a_weekend() {
        let s = AftersalesSettings::default();
        let h = HolidaySchedule::official();
        // Opened Friday 2026-11-20: contact by Wed 11-25, outcome by Fri 11-27,
        // close by (14 working days) Thu 12-10.
        let sla = complaint_sla(d("2026-11-20"), &s, h);
        assert_eq!(sla.contact_by, d("2026-11-25"));
        assert_eq!(sla.outcome_by, d("2026-11-27"));
        assert_eq!(sla.close_by, d("2026-12-10"));
        assert!(overdue_stages(&sla, None, None, None, d("2026-11-25")).is_empty());
        assert_eq!(
            overdue_stages(&sla, None, None, None, d("2026-11-26")),
            vec![SlaStage::Contact]
        );
        assert_eq!(
            overdue_stages(&sla, Some(d("2026-11-23")), None, None, d("2026-11-30")),
            vec![SlaStage::Outcome]
        );
    }

    #[test]
    fn questionnaire_scores_and_the_complaint_trigger() {
        let qs = [
            QuestionRule {
                id: 1,
                scale: AnswerScale::Satisfaction,
                weight: 2.0,
                required: true,
            },
            QuestionRule {
                id: 2,
                scale: AnswerScale::Ten,
                weight: 1.0,
                required: false,
            },
        ];
        // 5/5 (1.0) weight 2 and 8/10 (0.8) weight 1: (2 + 0.8) / 3 × 1000 = 933.3.
        let s = score_answers(&qs, &[(1, 5), (2, 8)]).unwrap();
        assert_eq!(s.points, 933.3);
        assert!(s.satisfied && !s.any_dissatisfied);
        assert!(!opens_complaint(&s, &AftersalesSettings::default()));
        // 2/5 (0.25) alone: 250 → dissatisfied, opens a complaint.
        let s = score_answers(&qs, &[(1, 2)]).unwrap();
        assert_eq!(s.points, 250.0);
        assert!(s.any_dissatisfied);
        assert!(opens_complaint(&s, &AftersalesSettings::default()));
        // Required question missing, value off the scale: both named.
        let e = score_answers(&qs, &[(2, 11)]).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["q1", "q2"]);
    }

    #[test]
    fn kpi_formulas() {
        // 8 closed in two weeks, 1 closed late, 1 open for more than two weeks: 8/10.
        assert_eq!(complaint_closure_rate(8, 1, 1), Some(0.8));
        assert_eq!(ratio(0, 0), None);
        assert_eq!(percent(Some(0.875), Lang::Zh), "87.5%");
    }

    #[test]
    fn settings_default_and_validation() {
        let s = AftersalesSettings::default();
        assert_eq!(s.insurance_contact_days, vec![45, 33, 30]);
        assert!(s.validate().is_ok());
        let bad = AftersalesSettings {
            lapse_months: 1,
            ..s
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e[0].field, "lapse_months");
    }

    #[test]
    fn settings_form_round_trip_and_field_errors() {
        let s = AftersalesSettings::default();
        let fields: std::collections::HashMap<&str, String> = s.to_fields().into_iter().collect();
        assert_eq!(fields["maintenance_reminder_days"], "14, 7, 0");
        assert_eq!(
            fields["delivery_follow_up"],
            "3 sales_consultant, 7 sales_manager, 30 care_specialist"
        );
        // The page's own fields read back give the same settings.
        let back = AftersalesSettings::from_fields(&s, |k| fields.get(k).cloned()).unwrap();
        assert_eq!(back, s);
        // Typed changes: full-width commas, an unchecked box (absent), a new follow-up list.
        let typed = |k: &str| -> Option<String> {
            match k {
                "maintenance_reminder_days" => Some("21，7, 0".into()),
                "holiday_vip_only" => None,
                "delivery_follow_up" => Some("2 sales_consultant".into()),
                "lapse_months" => Some(" 18 ".into()),
                other => fields.get(other).cloned(),
            }
        };
        let changed = AftersalesSettings::from_fields(&s, typed).unwrap();
        assert_eq!(changed.maintenance_reminder_days, vec![21, 7, 0]);
        assert!(!changed.holiday_vip_only);
        assert_eq!(changed.delivery_follow_up, vec![(2, Role::SalesConsultant)]);
        assert_eq!(changed.lapse_months, 18);
        // Bad input: each error names the field, the value typed and the rule.
        let bad = |k: &str| -> Option<String> {
            match k {
                "inspection_days" => Some("abc".into()),
                "delivery_follow_up" => Some("3 janitor".into()),
                "call_attempts" => Some("99".into()),
                other => fields.get(other).cloned(),
            }
        };
        let e = AftersalesSettings::from_fields(&s, bad).unwrap_err();
        assert!(
            e.iter().any(|e| e.field == "inspection_days"
                && e.value == "abc"
                && e.rule == Rule::Number)
        );
        assert!(
            e.iter()
                .any(|e| e.field == "delivery_follow_up" && e.value == "janitor")
        );
        // Range checks run only once every field parses.
        let e = AftersalesSettings::from_fields(&s, |k| {
            if k == "call_attempts" {
                Some("99".into())
            } else {
                fields.get(k).cloned()
            }
        })
        .unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].value.as_str()),
            ("call_attempts", "99")
        );
        assert_eq!(e[0].rule, Rule::OutOfRange { min: 1, max: 10 });
    }
}
