//! After-sales retention: the daily generation of reminders and follow-up calls (run under
//! the job lock by [`Services::run_daily_jobs`]), the maintenance prediction over every
//! car, working the outbound lists, appointments and the arrival view, follow-up calls
//! with questionnaires, complaints with their timers, and the KPIs.
//!
//! The rules are `dealerbase_domain::aftersales`; this module feeds them and writes what
//! they decide. Generation is idempotent: every generated task carries a dedupe key.

use crate::{Actor, Result, ServiceError, Services};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use dealerbase_domain::aftersales::{
    self as rules, AftersalesSettings, AnswerScale, ComplaintCategory, ComplaintChannel, DailyKm,
    DuePrediction, QuestionRule, RateSource, Reading, ResolutionSatisfaction, Schedule,
    ServiceWindow, Severity, SlaStage, TaskEffect,
};
use dealerbase_domain::mask::mask_mobile;
use dealerbase_domain::model::{
    ConsentPurpose, ContactOutcome, Role, ScopeLevel, TaskKind, WorkOrderKind,
};
use dealerbase_domain::workdays::HolidaySchedule;
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_store::aftersales::{
    self as st, ArrivalRow, CallFilter, CallItem, ComplaintFilter, ComplaintRow, NewAppointment,
    NewComplaint, NewFollowUpCall, OpenCampaign, Question, Questionnaire, RenewalItem, TaskRow,
    VehicleDate,
};
use dealerbase_store::mining::CustomerScore;
use dealerbase_store::{Id, Task};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// What one run of the generation did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct GenerationReport {
    /// (rule, tasks created)
    pub created: Vec<(String, u64)>,
    /// Vehicles whose maintenance was predicted.
    pub vehicles: usize,
    pub no_shows: u64,
    pub escalations: usize,
    pub elapsed_ms: u128,
    /// (step, milliseconds) — where the run's time went, for the benchmark.
    pub timings_ms: Vec<(String, u128)>,
    #[serde(skip)]
    mark: Option<std::time::Instant>,
}

impl GenerationReport {
    pub fn total(&self) -> u64 {
        self.created.iter().map(|(_, n)| n).sum()
    }
    /// Charges the time since the previous step to `step`.
    fn lap(&mut self, step: &str) {
        let now = std::time::Instant::now();
        let ms = self.mark.map_or(0, |m| now.duration_since(m).as_millis());
        self.mark = Some(now);
        match self.timings_ms.iter_mut().find(|(r, _)| r == step) {
            Some((_, t)) => *t += ms,
            None => self.timings_ms.push((step.to_string(), ms)),
        }
    }
    fn add(&mut self, rule: &str, n: u64) {
        self.lap(rule);
        match self.created.iter_mut().find(|(r, _)| r == rule) {
            Some((_, m)) => *m += n,
            None => self.created.push((rule.to_string(), n)),
        }
    }
}

/// Reads a store's after-sales settings from its settings JSON (`{"aftersales": {...}}`);
/// keys not given take the defaults, unreadable JSON takes all defaults.
pub fn settings_of(json: &str) -> AftersalesSettings {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("aftersales").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

fn days_of(d: NaiveDate) -> i32 {
    dealerbase_store::mining::day_number(d)
}

fn date_of(n: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + Duration::days(n as i64)
}

/// China-time midnight of a date, as UTC.
fn start_of(d: NaiveDate) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(
        d.and_hms_opt(0, 0, 0).expect("midnight") - Duration::hours(8),
        Utc,
    )
}

const K: usize = 6;

/// A vehicle's odometer history folded while streaming: the newest K readings, the
/// maintenance visits (count, first three, last with km).
#[derive(Clone, Copy, Default)]
struct Acc {
    n: u8,
    readings: [(i32, i32); K],
    maint: u16,
    first_maint: [i32; 3],
    last_maint: (i32, i32),
}

impl Acc {
    fn reading(&mut self, day: i32, km: i32) {
        let n = self.n as usize;
        if n < K {
            self.readings[n] = (day, km);
            self.n += 1;
            self.readings[..=n].sort_unstable();
        } else if day > self.readings[0].0 {
            self.readings[0] = (day, km);
            self.readings.sort_unstable();
        }
    }
    fn maintenance(&mut self, day: i32, km: i32) {
        let i = (self.maint as usize).min(3);
        if i < 3 {
            self.first_maint[i] = day;
            self.first_maint[..=i].sort_unstable();
        } else if day < self.first_maint[2] {
            self.first_maint[2] = day;
            self.first_maint.sort_unstable();
        }
        self.maint = self.maint.saturating_add(1);
        if day >= self.last_maint.0 {
            self.last_maint = (day, km);
        }
    }
    fn readings(&self) -> Vec<Reading> {
        self.readings[..self.n as usize]
            .iter()
            .map(|(d, km)| Reading {
                on: date_of(*d),
                km: *km as i64,
            })
            .collect()
    }
}

/// The stored values of a vehicle's prediction row (without the day it changed).
struct StatusValues {
    store: Id,
    customer: Id,
    daily_km: f64,
    rate_source: &'static str,
    service_no: i64,
    due_on: NaiveDate,
    due_rule: &'static str,
    due_km: i64,
    windows: [(NaiveDate, NaiveDate, &'static str); 2],
}

impl StatusValues {
    /// FNV-1a over the values: equal values give the same digest in every version and on
    /// every machine (std's hasher promises neither), so an unchanged row is never rewritten.
    fn digest(&self) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            // A separator, so that ("ab", "c") and ("a", "bc") differ.
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        let day = |d: NaiveDate| i64::from(d.num_days_from_ce()).to_le_bytes();
        feed(&self.store.to_le_bytes());
        feed(&self.customer.to_le_bytes());
        feed(&self.daily_km.to_bits().to_le_bytes());
        feed(self.rate_source.as_bytes());
        feed(&self.service_no.to_le_bytes());
        feed(&day(self.due_on));
        feed(self.due_rule.as_bytes());
        feed(&self.due_km.to_le_bytes());
        for (due, closes, status) in &self.windows {
            feed(&day(*due));
            feed(&day(*closes));
            feed(status.as_bytes());
        }
        h as i64
    }
}

#[derive(Clone, Copy)]
struct VFact {
    id: Id,
    store: Id,
    customer: Id,
    model: Id,
    delivery: i32,
    schedule: Schedule,
}

/// A vehicle's prediction, as the pages show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VehicleDue {
    pub vehicle_id: Id,
    #[schema(value_type = Object)]
    pub prediction: DuePrediction,
    #[schema(value_type = Vec<Object>)]
    pub windows: [ServiceWindow; 2],
    pub campaigns: Vec<OpenCampaign>,
}

fn predict(
    f: &VFact,
    acc: &Acc,
    elsewhere: &[NaiveDate],
    rate: DailyKm,
    s: &AftersalesSettings,
    today: NaiveDate,
) -> (DuePrediction, [ServiceWindow; 2]) {
    let readings = acc.readings();
    let delivery = date_of(f.delivery);
    let here: Vec<NaiveDate> = acc.first_maint[..(acc.maint as usize).min(3)]
        .iter()
        .map(|d| date_of(*d))
        .collect();
    let windows = rules::service_windows(
        delivery,
        rate.km_per_day,
        &f.schedule,
        s,
        &here,
        elsewhere,
        today,
    );
    let clean = rules::clean_readings(&readings);
    let mut last = (acc.maint > 0).then(|| Reading {
        on: date_of(acc.last_maint.0),
        km: if acc.last_maint.1 >= 0 {
            acc.last_maint.1 as i64
        } else {
            rules::km_on(date_of(acc.last_maint.0), delivery, &clean, rate.km_per_day)
        },
    });
    if let Some(e) = elsewhere.iter().max()
        && last.is_none_or(|l| *e > l.on)
    {
        last = Some(Reading {
            on: *e,
            km: rules::km_on(*e, delivery, &clean, rate.km_per_day),
        });
    }
    let done = acc.maint as u32 + elsewhere.len() as u32;
    let p = rules::next_due(delivery, done, last, &readings, rate, &f.schedule, today);
    (p, windows)
}

impl Services {
    /// Settings of every store, grouped: stores that share a configuration are generated
    /// with one statement per rule.
    async fn settings_groups(&self) -> Result<Vec<(AftersalesSettings, Vec<Id>)>> {
        let mut groups: Vec<(AftersalesSettings, Vec<Id>)> = Vec::new();
        for s in self.db.stores().await? {
            let cfg = settings_of(&s.settings);
            match groups.iter_mut().find(|(c, _)| *c == cfg) {
                Some((_, ids)) => ids.push(s.id),
                None => groups.push((cfg, vec![s.id])),
            }
        }
        Ok(groups)
    }

    /// A store's effective after-sales settings, for those who work in it.
    pub async fn aftersales_settings_of(
        &self,
        actor: &Actor,
        store_id: Id,
    ) -> Result<AftersalesSettings> {
        if !self.stores_of(actor).await?.contains(&store_id) {
            return Err(ServiceError::NotFound {
                entity: "store",
                id: store_id.to_string(),
            });
        }
        self.store_aftersales_settings(store_id).await
    }

    pub async fn store_aftersales_settings(&self, store_id: Id) -> Result<AftersalesSettings> {
        Ok(settings_of(&self.db.store(store_id).await?.settings))
    }

    /// Changes a store's after-sales settings (administrators and the store's general
    /// manager).
    pub async fn set_aftersales_settings(
        &self,
        actor: &Actor,
        store_id: Id,
        settings: &AftersalesSettings,
    ) -> Result<()> {
        if !matches!(actor.role, Role::Admin | Role::GeneralManager | Role::Group) {
            return Err(ServiceError::Forbidden("change store settings"));
        }
        self.check_store_access(actor, store_id).await?;
        settings.validate().map_err(ServiceError::Invalid)?;
        let store = self.db.store(store_id).await?;
        let mut v: serde_json::Value =
            serde_json::from_str(&store.settings).unwrap_or_else(|_| serde_json::json!({}));
        if !v.is_object() {
            v = serde_json::json!({});
        }
        v["aftersales"] =
            serde_json::to_value(settings).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.db.set_store_settings(store_id, &v.to_string()).await?;
        Ok(())
    }

    /// Today's after-sales generation: reminders, care calls, follow-up plans, no-shows,
    /// complaint escalations and the maintenance prediction. Idempotent (dedupe keys); the
    /// daily job calls it under the job lock so that several instances run it once.
    pub async fn generate_aftersales(&self, today: NaiveDate) -> Result<GenerationReport> {
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let mut r = GenerationReport::default();
        r.lap("start");
        let groups = self.settings_groups().await?;
        for (s, stores) in &groups {
            let cu = s.catch_up_days;
            // Insurance renewal calls at T−45/33/30.
            for off in &s.insurance_contact_days {
                let (lo, hi) = rules::before_event_window(today, *off, cu);
                let n = self
                    .db
                    .generate_insurance_tasks(*off, stores, lo, hi, today, now)
                    .await?;
                r.add("insurance_renewal", n);
            }
            let (lo, hi) = rules::before_event_window(today, s.inspection_days, cu);
            r.add(
                "annual_inspection",
                self.db
                    .generate_vehicle_date_tasks(
                        VehicleDate::InspectionDue,
                        stores,
                        lo,
                        hi,
                        today,
                        now,
                    )
                    .await?,
            );
            let (lo, hi) = rules::before_event_window(today, s.warranty_days, cu);
            r.add(
                "warranty_expiry",
                self.db
                    .generate_vehicle_date_tasks(
                        VehicleDate::WarrantyEnd,
                        stores,
                        lo,
                        hi,
                        today,
                        now,
                    )
                    .await?,
            );
            // Birthdays and anniversaries: the target day is `notice` days ahead; a
            // missed day is made up for within the catch-up days.
            for back in 0..=cu.min(3) {
                let target = today + Duration::days(s.birthday_days - back);
                if target < today {
                    continue;
                }
                let solar = rules::birth_dates_celebrated_on(
                    target,
                    false,
                    target.year() - 100,
                    target.year() - 16,
                );
                let lunar = rules::birth_dates_celebrated_on(
                    target,
                    true,
                    target.year() - 100,
                    target.year() - 16,
                );
                r.add(
                    "birthday",
                    self.db
                        .generate_birthday_tasks(stores, &solar, &lunar, target, now)
                        .await?,
                );
            }
            let target = today + Duration::days(s.anniversary_days);
            let deliveries = rules::anniversary_deliveries(target, 20);
            r.add(
                "purchase_anniversary",
                self.db
                    .generate_anniversary_tasks(stores, &deliveries, target, now)
                    .await?,
            );
            for (f, on) in rules::festivals_due(today, s.holiday_days, cu) {
                r.add(
                    "holiday",
                    self.db
                        .generate_holiday_tasks(
                            stores,
                            f.code(),
                            f.name_zh(),
                            on,
                            s.holiday_vip_only,
                            today,
                            now,
                        )
                        .await?,
                );
            }
            let cutoff = rules::lapse_cutoff(today, s.lapse_months);
            r.add(
                "win_back",
                self.db
                    .generate_winback_tasks(stores, cutoff - Duration::days(cu), cutoff, today, now)
                    .await?,
            );
            for (off, role) in &s.delivery_follow_up {
                let (lo, hi) = rules::after_event_window(today, *off, cu);
                r.add(
                    "delivery_follow_up",
                    self.db
                        .generate_delivery_follow_ups(*off, role.code(), stores, lo, hi, today, now)
                        .await?,
                );
            }
            let (lo, hi) = rules::after_event_window(today, s.service_follow_up_days, cu);
            r.add(
                "service_follow_up",
                self.db
                    .generate_service_follow_ups(stores, lo, hi, today, now)
                    .await?,
            );
            let (lo, hi) = rules::after_event_window(today, s.complaint_follow_up_days, cu);
            r.add(
                "complaint_follow_up",
                self.db
                    .generate_complaint_follow_ups(
                        stores,
                        start_of(lo),
                        start_of(hi + Duration::days(1)),
                        today,
                        now,
                    )
                    .await?,
            );
        }
        r.add(
            "appointment_reminder",
            self.db
                .generate_appointment_reminders(today + Duration::days(1), today, now)
                .await?,
        );
        r.no_shows = self.db.mark_no_shows(today, now).await?;
        r.escalations = self.escalate_complaints(today).await?;
        r.lap("no_shows_escalations");
        let (vehicles, maintenance) = self.predict_maintenance(today, &groups).await?;
        r.lap("maintenance_prediction");
        r.vehicles = vehicles;
        for (rule, n) in maintenance {
            r.add(rule, n);
        }
        r.elapsed_ms = started.elapsed().as_millis();
        tracing::info!(?r, "after-sales generation done");
        Ok(r)
    }

    /// The maintenance prediction over every car: streams vehicles, work orders and
    /// readings in id-ordered chunks, folds each car's history, writes the day's snapshot
    /// and creates the maintenance and first-service reminders due today.
    async fn predict_maintenance(
        &self,
        today: NaiveDate,
        groups: &[(AftersalesSettings, Vec<Id>)],
    ) -> Result<(usize, Vec<(&'static str, u64)>)> {
        let now = self.clock.now();
        let fresh = self.db.begin_service_status(today, now).await?;
        // Vehicles, in id order.
        let mut facts: Vec<VFact> = Vec::new();
        let mut after = 0;
        loop {
            let chunk = self.db.prediction_vehicles(after).await?;
            let Some(last) = chunk.last() else { break };
            after = last.id;
            let n = chunk.len();
            facts.extend(chunk.into_iter().map(|v| VFact {
                id: v.id,
                store: v.store_id,
                customer: v.customer_id,
                model: v.model_id,
                delivery: days_of(v.delivery_date),
                schedule: Schedule {
                    first_km: v.first_service_km,
                    first_months: v.first_service_months.clamp(1, 60) as u32,
                    interval_km: v.service_interval_km,
                    interval_months: v.service_interval_months.clamp(1, 60) as u32,
                },
            }));
            if n < 250_000 {
                break;
            }
        }
        let t0 = std::time::Instant::now();
        tracing::info!(
            vehicles = facts.len(),
            "maintenance prediction: vehicles read"
        );
        let mut accs = vec![Acc::default(); facts.len()];
        let index = |id: Id| facts.binary_search_by_key(&id, |f| f.id).ok();
        let mut buf = Vec::new();
        let mut after = 0;
        loop {
            buf.clear();
            let next = self.db.prediction_work_orders(after, &mut buf).await?;
            for o in &buf {
                if let Some(i) = index(o.vehicle_id) {
                    let d = days_of(o.on);
                    let km = o.km.map_or(-1, |k| k.clamp(0, i32::MAX as i64) as i32);
                    if km >= 0 {
                        accs[i].reading(d, km);
                    }
                    if o.maintenance {
                        accs[i].maintenance(d, km);
                    }
                }
            }
            match next {
                Some(n) => after = n,
                None => break,
            }
        }
        let mut after = 0;
        loop {
            buf.clear();
            let next = self.db.prediction_readings(after, &mut buf).await?;
            for o in &buf {
                if let (Some(i), Some(km)) = (index(o.vehicle_id), o.km) {
                    accs[i].reading(days_of(o.on), km.clamp(0, i32::MAX as i64) as i32);
                }
            }
            match next {
                Some(n) => after = n,
                None => break,
            }
        }
        tracing::info!(
            ms = t0.elapsed().as_millis() as u64,
            "maintenance prediction: work orders and readings folded"
        );
        let mut elsewhere: HashMap<Id, Vec<NaiveDate>> = HashMap::new();
        for (v, d) in self.db.services_elsewhere().await? {
            elsewhere.entry(v).or_default().push(d);
        }
        // Own rates, then the model averages as the fallback.
        let fallback_none = DailyKm {
            km_per_day: 0.0,
            source: RateSource::Store,
        };
        let own: Vec<Option<f64>> = accs
            .iter()
            .map(|a| {
                let k = rules::daily_km(&a.readings(), fallback_none);
                (k.source == RateSource::Own).then_some(k.km_per_day)
            })
            .collect();
        let mut by_model: HashMap<Id, (f64, u32)> = HashMap::new();
        for (f, r) in facts.iter().zip(&own) {
            if let Some(r) = r {
                let e = by_model.entry(f.model).or_default();
                e.0 += r;
                e.1 += 1;
            }
        }
        let settings_of_store: HashMap<Id, &AftersalesSettings> = groups
            .iter()
            .flat_map(|(s, ids)| ids.iter().map(move |i| (*i, s)))
            .collect();
        let default = AftersalesSettings::default();
        let booked: HashSet<Id> = self.db.vehicles_with_booking().await?.into_iter().collect();
        let stopped: HashSet<Id> = self
            .db
            .maintenance_cycle_stopped(today - Duration::days(120))
            .await?
            .into_iter()
            .collect();
        let mut blocked_customers: HashSet<Id> = HashSet::new();
        let mut blocked_vehicles: HashSet<Id> = HashSet::new();
        for (c, v) in self.db.service_contact_blocks().await? {
            match v {
                Some(v) => blocked_vehicles.insert(v),
                None => blocked_customers.insert(c),
            };
        }
        tracing::info!(
            ms = t0.elapsed().as_millis() as u64,
            "maintenance prediction: bookings and blocks read"
        );
        // The current rows' digests: only vehicles whose prediction changed are rewritten.
        let mut digests: HashMap<Id, i64> = if fresh {
            self.db
                .service_status_digests()
                .await?
                .into_iter()
                .collect()
        } else {
            HashMap::new()
        };
        let mut tasks: Vec<TaskRow> = Vec::new();
        let mut rows = st::service_status_rows();
        let mut ids: Vec<Id> = Vec::new();
        let mut written = 0usize;
        for ((f, acc), own) in facts.iter().zip(&accs).zip(&own) {
            let s = settings_of_store.get(&f.store).copied().unwrap_or(&default);
            let rate = match own {
                Some(r) => DailyKm {
                    km_per_day: *r,
                    source: RateSource::Own,
                },
                None => match by_model.get(&f.model) {
                    Some((sum, n)) if *n > 0 => DailyKm {
                        km_per_day: sum / *n as f64,
                        source: RateSource::Model,
                    },
                    _ => DailyKm {
                        km_per_day: s.default_daily_km,
                        source: RateSource::Store,
                    },
                },
            };
            let away = elsewhere.get(&f.id).map(Vec::as_slice).unwrap_or(&[]);
            let (p, w) = predict(f, acc, away, rate, s, today);
            if fresh {
                let row = StatusValues {
                    store: f.store,
                    customer: f.customer,
                    daily_km: (p.rate.km_per_day * 10.0).round() / 10.0,
                    rate_source: p.rate.source.code(),
                    service_no: p.service_no as i64,
                    due_on: p.due_on,
                    due_rule: p.rule.code(),
                    due_km: p.due_km,
                    windows: [
                        (w[0].due_on, w[0].closes_on, w[0].status.code()),
                        (w[1].due_on, w[1].closes_on, w[1].status.code()),
                    ],
                };
                let digest = row.digest();
                if digests.remove(&f.id) != Some(digest) {
                    use st::val;
                    ids.push(f.id);
                    rows.push([
                        val(f.id),
                        val(today),
                        val(row.store),
                        val(row.customer),
                        val(row.daily_km),
                        val(row.rate_source),
                        val(row.service_no),
                        val(row.due_on),
                        val(row.due_rule),
                        val(row.due_km),
                        val(row.windows[0].0),
                        val(row.windows[0].1),
                        val(row.windows[0].2),
                        val(row.windows[1].0),
                        val(row.windows[1].1),
                        val(row.windows[1].2),
                        val(digest),
                    ]);
                    if rows.len() >= 50_000 {
                        self.db.replace_service_status(&ids, &rows).await?;
                        written += rows.len();
                        rows = st::service_status_rows();
                        ids.clear();
                    }
                }
            }
            if booked.contains(&f.id)
                || stopped.contains(&f.id)
                || blocked_vehicles.contains(&f.id)
                || blocked_customers.contains(&f.customer)
            {
                continue;
            }
            let kind = if p.service_no == 1 {
                TaskKind::FirstServiceReminder
            } else {
                TaskKind::MaintenanceReminder
            };
            for (off, _) in rules::maintenance_reminders_due(
                p.due_on,
                &s.maintenance_reminder_days,
                today,
                s.catch_up_days,
            ) {
                tasks.push(TaskRow {
                    store_id: f.store,
                    kind: kind.code(),
                    customer_id: f.customer,
                    vehicle_id: Some(f.id),
                    assignee_id: None,
                    role: Role::ServiceAdvisor.code(),
                    due_on: today,
                    note: Some(format!(
                        "{} {} · {} km · {}",
                        p.due_on,
                        p.rule.label(Lang::Zh),
                        p.due_km,
                        p.rate.source.label(Lang::Zh)
                    )),
                    dedupe_key: format!("{}:{}:{}:{off}", kind.code(), f.id, p.service_no),
                });
            }
            if rules::first_service_closing_due(&w[0], s.first_service_closing_days, today) {
                tasks.push(TaskRow {
                    store_id: f.store,
                    kind: TaskKind::FirstServiceReminder.code(),
                    customer_id: f.customer,
                    vehicle_id: Some(f.id),
                    assignee_id: None,
                    role: Role::ServiceAdvisor.code(),
                    due_on: today,
                    note: Some(format!("首保窗口 {} 关闭", w[0].closes_on)),
                    dedupe_key: format!("first_service_closing:{}", f.id),
                });
            }
        }
        if fresh {
            // Vehicles no longer predicted (sold on, no delivery date) lose their row.
            ids.extend(digests.keys());
            if !ids.is_empty() {
                written += rows.len();
                self.db.replace_service_status(&ids, &rows).await?;
            }
            self.db
                .finish_service_status(today, written as i64, self.clock.now())
                .await?;
        }
        tracing::info!(
            ms = t0.elapsed().as_millis() as u64,
            written,
            "maintenance prediction: predicted and snapshot written"
        );
        let mut maintenance = 0;
        let mut first = 0;
        for t in &tasks {
            if t.kind == TaskKind::MaintenanceReminder.code() {
                maintenance += 1;
            } else {
                first += 1;
            }
        }
        let made = self.db.insert_generated_tasks(&tasks, now).await?;
        // Attribute what was new in proportion (exact per rule when nothing existed).
        let total = (maintenance + first).max(1) as u64;
        let m = made * maintenance as u64 / total;
        Ok((
            facts.len(),
            vec![
                ("maintenance_reminder", m),
                ("first_service_reminder", made - m),
            ],
        ))
    }

    /// Escalates open complaints whose timer ran out (once per stage); returns how many.
    async fn escalate_complaints(&self, today: NaiveDate) -> Result<usize> {
        let schedule = HolidaySchedule::official();
        let mut n = 0;
        let mut cache: HashMap<Id, AftersalesSettings> = HashMap::new();
        for k in self.db.open_complaints().await? {
            if !cache.contains_key(&k.store_id) {
                let s = self.store_aftersales_settings(k.store_id).await?;
                cache.insert(k.store_id, s);
            }
            let s = &cache[&k.store_id];
            let sla = complaint_sla_of(&k, s, schedule);
            let local = |t: Option<DateTime<Utc>>| t.map(|t| (t + Duration::hours(8)).date_naive());
            let stages = rules::overdue_stages(
                &sla,
                local(k.contacted_at),
                local(k.outcome_at),
                local(k.closed_at),
                today,
            );
            let Some(worst) = stages.last() else { continue };
            let already = k
                .escalated
                .as_deref()
                .and_then(|e| SlaStage::parse("escalated", e).ok());
            if already.is_some_and(|a| a >= *worst) {
                continue;
            }
            if self
                .db
                .escalate_complaint(&k, worst.code(), today, self.clock.now())
                .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }

    // ---- lists and outcomes ------------------------------------------------------------------

    /// The stores an actor works in: their own, or every store of the group.
    async fn stores_of(&self, actor: &Actor) -> Result<Vec<Id>> {
        Ok(match actor.role.scope_level() {
            ScopeLevel::Group => self.db.group_store_ids(actor.group_id).await?,
            _ => actor.store_id.into_iter().collect(),
        })
    }

    /// The actor's outbound list: calls due by `until` for their role's pool or assigned
    /// to them (managers see the store's whole list), masked.
    pub async fn call_list(&self, actor: &Actor, q: &CallQuery) -> Result<Vec<CallItem>> {
        let kinds = match &q.kind {
            Some(k) if !k.is_empty() => vec![
                TaskKind::parse("kind", k)
                    .map_err(ServiceError::invalid)?
                    .code()
                    .to_string(),
            ],
            _ => Vec::new(),
        };
        let (role, staff) = match actor.role {
            Role::CareSpecialist | Role::ServiceAdvisor | Role::SalesConsultant => {
                (Some(actor.role.code().to_string()), Some(actor.staff_id))
            }
            Role::SalesManager => (Some(actor.role.code().to_string()), Some(actor.staff_id)),
            _ => (None, None),
        };
        let until = self.clock.today() + Duration::days(q.ahead_days.unwrap_or(0).clamp(0, 90));
        let mut items = self
            .db
            .call_list(&CallFilter {
                store_ids: self.stores_of(actor).await?,
                role,
                staff_id: staff,
                kinds,
                due_until: until,
                limit: q.limit.unwrap_or(200),
            })
            .await?;
        for i in &mut items {
            i.mobile = i.mobile.as_deref().map(mask_mobile);
        }
        Ok(items)
    }

    /// Records a one-click outcome of a call (DOMAIN.md §3, §6): booked (with an
    /// appointment when a date is given), reached and declined, unreachable (retried the
    /// next working day until the store's attempts are used), wrong number, serviced
    /// elsewhere (where, and when), do not contact (for the call's purpose, this car or
    /// all the customer's cars).
    pub async fn record_outcome(
        &self,
        actor: &Actor,
        task_id: Id,
        input: &OutcomeInput,
    ) -> Result<OutcomeResult> {
        let (task, attempts, ..) = self.db.task_for_call(task_id).await?;
        self.check_store_access(actor, task.store_id).await?;
        if task.status != "open" {
            return Err(ServiceError::Conflict {
                field: "task",
                value: format!("{task_id} is {}", task.status),
            });
        }
        let outcome =
            ContactOutcome::parse("outcome", &input.outcome).map_err(ServiceError::invalid)?;
        if !rules::CALL_OUTCOMES.contains(&outcome) && outcome != ContactOutcome::Reached {
            return Err(ServiceError::invalid(ValidationError::new(
                "outcome",
                &input.outcome,
                Rule::OneOf {
                    allowed: rules::CALL_OUTCOMES
                        .iter()
                        .map(|o| o.code().to_string())
                        .collect(),
                },
            )));
        }
        let kind = TaskKind::parse("kind", &task.kind).unwrap_or(TaskKind::Other);
        let today = self.clock.today();
        let s = self.store_aftersales_settings(task.store_id).await?;
        let effect = rules::task_effect(
            outcome,
            attempts as u32,
            s.call_attempts,
            today,
            HolidaySchedule::official(),
        );
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let mut errors = Vec::new();
        let elsewhere = if outcome == ContactOutcome::ServicedElsewhere {
            let place = input.place.as_deref().map(str::trim).unwrap_or("");
            if place.is_empty() {
                errors.push(ValidationError::new("place", "", Rule::Required));
            }
            if task.vehicle_id.is_none() {
                errors.push(ValidationError::new("vehicle", "", Rule::Required));
            }
            let on = match input
                .serviced_on
                .as_deref()
                .filter(|d| !d.trim().is_empty())
            {
                Some(d) => match dealerbase_domain::dates::parse_dms_date("serviced_on", d) {
                    Ok(d) if d <= today => Some(d),
                    Ok(d) => {
                        errors.push(ValidationError::new(
                            "serviced_on",
                            d.to_string(),
                            Rule::OutOfRange {
                                min: 0,
                                max: days_of(today) as i64,
                            },
                        ));
                        None
                    }
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
                None => Some(today),
            };
            on.map(|on| (on, place.to_string()))
        } else {
            None
        };
        let appointment = if outcome == ContactOutcome::Booked {
            match input
                .appointment_on
                .as_deref()
                .filter(|d| !d.trim().is_empty())
            {
                Some(d) => match dealerbase_domain::dates::parse_dms_date("appointment_on", d) {
                    Ok(d) if d >= today => Some(d),
                    Ok(d) => {
                        errors.push(ValidationError::new(
                            "appointment_on",
                            d.to_string(),
                            Rule::OutOfRange {
                                min: days_of(today) as i64,
                                max: i32::MAX as i64,
                            },
                        ));
                        None
                    }
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
                None => None,
            }
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let purpose = match rules::purpose_of(kind) {
            ConsentPurpose::Marketing => "marketing",
            _ => "service",
        };
        let cancel: Vec<&str> = TaskKind::ALL
            .iter()
            .filter(|k| {
                rules::purpose_of(**k).code() == purpose || outcome == ContactOutcome::WrongNumber
            })
            .map(|k| k.code())
            .collect();
        let block_vehicle = if input.this_vehicle_only.unwrap_or(false) {
            task.vehicle_id
        } else {
            None
        };
        let block = match outcome {
            ContactOutcome::DoNotContact => Some((purpose, block_vehicle, cancel.as_slice())),
            ContactOutcome::WrongNumber => Some(("all", None, cancel.as_slice())),
            _ => None,
        };
        let slot = input.slot.clone().unwrap_or_else(|| "09:00".into());
        let service = if kind == TaskKind::FirstServiceReminder {
            WorkOrderKind::FirstService
        } else if matches!(
            kind,
            TaskKind::MaintenanceReminder | TaskKind::NoShowFollowUp
        ) {
            WorkOrderKind::Maintenance
        } else {
            WorkOrderKind::Repair
        };
        let new_appt = match (appointment, task.customer_id, task.vehicle_id) {
            (Some(on), Some(c), Some(v)) => Some(NewAppointment {
                store_id: task.store_id,
                customer_id: c,
                vehicle_id: v,
                service: service.code(),
                scheduled_on: on,
                slot: &slot,
                advisor_id: (actor.role == Role::ServiceAdvisor).then_some(actor.staff_id),
                note,
                task_id: Some(task.id),
                created_by: Some(actor.staff_id),
            }),
            _ => None,
        };
        let (stored_outcome, retry) = match effect {
            TaskEffect::Retry(d) => (outcome.code(), Some(d)),
            TaskEffect::GiveUp | TaskEffect::Done => (outcome.code(), None),
        };
        let appointment_id = self
            .db
            .record_call_outcome(
                &task,
                actor.staff_id,
                stored_outcome,
                note,
                retry,
                block,
                elsewhere.as_ref().map(|(d, p)| (*d, p.as_str())),
                new_appt.as_ref(),
                self.clock.now(),
            )
            .await?;
        Ok(OutcomeResult {
            task_id,
            outcome: stored_outcome.to_string(),
            retry_on: retry,
            done: retry.is_none(),
            appointment_id,
        })
    }

    /// Policies ending within `within` days (the T−90/60/30 renewal lists).
    pub async fn renewal_list(&self, actor: &Actor, within: i64) -> Result<Vec<RenewalItem>> {
        let today = self.clock.today();
        let within = within.clamp(1, 180);
        let mut items = self
            .db
            .renewal_list(
                &self.stores_of(actor).await?,
                today,
                today + Duration::days(within),
                500,
            )
            .await?;
        for i in &mut items {
            i.mobile = i.mobile.as_deref().map(mask_mobile);
        }
        Ok(items)
    }

    /// What a car is due for (computed now, from its own history), its first/second
    /// service windows and open recalls or campaigns.
    pub async fn vehicle_due(&self, actor: &Actor, vehicle_id: Id) -> Result<VehicleDue> {
        let v = self.db.vehicle(&actor.scope(), vehicle_id).await?;
        let facts = self
            .db
            .vehicle_facts(v.id)
            .await?
            .ok_or(ServiceError::NotFound {
                entity: "delivered vehicle",
                id: vehicle_id.to_string(),
            })?;
        let today = self.clock.today();
        let s = self.store_aftersales_settings(facts.store_id).await?;
        let mut acc = Acc::default();
        let mut obs = self.db.vehicle_observations(v.id).await?;
        obs.sort_by_key(|o| o.on);
        for o in &obs {
            let km = o.km.map_or(-1, |k| k.clamp(0, i32::MAX as i64) as i32);
            if km >= 0 {
                acc.reading(days_of(o.on), km);
            }
            if o.maintenance {
                acc.maintenance(days_of(o.on), km);
            }
        }
        let fallback = match self.db.model_daily_km(facts.model_id).await? {
            Some(k) => DailyKm {
                km_per_day: k,
                source: RateSource::Model,
            },
            None => DailyKm {
                km_per_day: s.default_daily_km,
                source: RateSource::Store,
            },
        };
        let rate = rules::daily_km(&acc.readings(), fallback);
        let f = VFact {
            id: facts.id,
            store: facts.store_id,
            customer: facts.customer_id,
            model: facts.model_id,
            delivery: days_of(facts.delivery_date),
            schedule: Schedule {
                first_km: facts.first_service_km,
                first_months: facts.first_service_months.clamp(1, 60) as u32,
                interval_km: facts.service_interval_km,
                interval_months: facts.service_interval_months.clamp(1, 60) as u32,
            },
        };
        let away = self.db.service_elsewhere_of(v.id).await?;
        let (prediction, windows) = predict(&f, &acc, &away, rate, &s, today);
        Ok(VehicleDue {
            vehicle_id: v.id,
            prediction,
            windows,
            campaigns: self.db.open_campaigns(v.id, today).await?,
        })
    }

    // ---- appointments ------------------------------------------------------------------------

    pub async fn book_appointment(&self, actor: &Actor, input: &AppointmentInput) -> Result<Id> {
        let v = self.db.vehicle(&actor.scope(), input.vehicle_id).await?;
        let owner = v.owner_id.ok_or(ServiceError::NotFound {
            entity: "owner of vehicle",
            id: v.id.to_string(),
        })?;
        self.check_store_access(actor, v.fields.store_id).await?;
        let mut errors = Vec::new();
        let service = WorkOrderKind::parse("service", &input.service);
        if let Err(e) = &service {
            errors.push(e.clone());
        }
        let today = self.clock.today();
        let on = match dealerbase_domain::dates::parse_dms_date("scheduled_on", &input.scheduled_on)
        {
            Ok(d) if d < today => {
                errors.push(ValidationError::new(
                    "scheduled_on",
                    d.to_string(),
                    Rule::OutOfRange {
                        min: days_of(today) as i64,
                        max: i32::MAX as i64,
                    },
                ));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let slot = input.slot.clone().unwrap_or_else(|| "09:00".into());
        let slot_ok = slot.len() == 5
            && slot.as_bytes()[2] == b':'
            && slot[..2].parse::<u32>().is_ok_and(|h| h < 24)
            && slot[3..].parse::<u32>().is_ok_and(|m| m < 60);
        if !slot_ok {
            errors.push(ValidationError::new("slot", &slot, Rule::DateFormat));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let (Ok(service), Some(on)) = (service, on) else {
            return Err(ServiceError::Internal("validated above".into()));
        };
        let note = input.note.as_deref().filter(|n| !n.trim().is_empty());
        Ok(self
            .db
            .create_appointment(
                &NewAppointment {
                    store_id: v.fields.store_id,
                    customer_id: owner,
                    vehicle_id: v.id,
                    service: service.code(),
                    scheduled_on: on,
                    slot: &slot,
                    advisor_id: input
                        .advisor_id
                        .or((actor.role == Role::ServiceAdvisor).then_some(actor.staff_id)),
                    note,
                    task_id: None,
                    created_by: Some(actor.staff_id),
                },
                self.clock.now(),
            )
            .await?)
    }

    /// Marks a booked appointment arrived, no-show or cancelled.
    pub async fn appointment_status(&self, actor: &Actor, id: Id, status: &str) -> Result<()> {
        let a = self.db.appointment(id).await?;
        self.check_store_access(actor, a.store_id).await?;
        if !matches!(status, "arrived" | "no_show" | "cancelled") {
            return Err(ServiceError::invalid(ValidationError::new(
                "status",
                status,
                Rule::OneOf {
                    allowed: vec!["arrived".into(), "no_show".into(), "cancelled".into()],
                },
            )));
        }
        self.db
            .set_appointment_status(id, status, self.clock.now())
            .await?;
        Ok(())
    }

    /// The service advisor's arrival view: a day's appointments with what each car is due
    /// for, its open recalls and campaigns, and the owner's value and churn risk when the
    /// mining snapshot has them.
    pub async fn arrivals(&self, actor: &Actor, on: Option<NaiveDate>) -> Result<Vec<ArrivalView>> {
        let on = on.unwrap_or_else(|| self.clock.today());
        let rows = self
            .db
            .appointments_on(&self.stores_of(actor).await?, on)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let due = self
                .vehicle_due(actor, row.appointment.vehicle_id)
                .await
                .ok();
            let score = self
                .db
                .customer_score(&actor.scope(), row.appointment.customer_id)
                .await?;
            out.push(ArrivalView { row, due, score });
        }
        Ok(out)
    }

    // ---- follow-up calls -------------------------------------------------------------------

    /// The questionnaire of a follow-up task.
    pub async fn questionnaire_for_task(
        &self,
        actor: &Actor,
        task_id: Id,
    ) -> Result<(Task, Questionnaire, Vec<Question>)> {
        let (task, ..) = self.db.task_for_call(task_id).await?;
        self.check_store_access(actor, task.store_id).await?;
        let kind = TaskKind::parse("kind", &task.kind).unwrap_or(TaskKind::Other);
        if !rules::is_follow_up(kind) {
            return Err(ServiceError::invalid(ValidationError::new(
                "task",
                &task.kind,
                Rule::OneOf {
                    allowed: vec![
                        "delivery_follow_up".into(),
                        "service_follow_up".into(),
                        "complaint_follow_up".into(),
                    ],
                },
            )));
        }
        let (q, qs) = self
            .db
            .active_questionnaire(task.store_id, &task.kind)
            .await?
            .ok_or(ServiceError::NotFound {
                entity: "questionnaire",
                id: task.kind.clone(),
            })?;
        Ok((task, q, qs))
    }

    /// Stores a completed follow-up call: answers validated and scored against the
    /// template; the task done; a survey answer written; a complaint opened when the
    /// score is below the store's low score or an answer is "dissatisfied".
    pub async fn record_follow_up(
        &self,
        actor: &Actor,
        task_id: Id,
        input: &FollowUpInput,
    ) -> Result<FollowUpResult> {
        let (task, q, questions) = self.questionnaire_for_task(actor, task_id).await?;
        if task.status != "open" {
            return Err(ServiceError::Conflict {
                field: "task",
                value: format!("{task_id} is {}", task.status),
            });
        }
        let rules_q: Vec<QuestionRule> = questions
            .iter()
            .map(|x| QuestionRule {
                id: x.id,
                scale: AnswerScale::parse("scale", &x.scale).unwrap_or(AnswerScale::Five),
                weight: x.weight,
                required: x.required,
            })
            .collect();
        let score =
            rules::score_answers(&rules_q, &input.answers).map_err(ServiceError::Invalid)?;
        let (_, _, wo, so, complaint_id) = self.db.task_for_call(task_id).await?;
        let (advisor, consultant) = self.db.follow_up_subjects(wo, so).await?;
        let s = self.store_aftersales_settings(task.store_id).await?;
        let customer_id = task.customer_id.ok_or(ServiceError::NotFound {
            entity: "customer of task",
            id: task_id.to_string(),
        })?;
        let comment = input
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let opens = rules::opens_complaint(&score, &s);
        let kind = TaskKind::parse("kind", &task.kind).unwrap_or(TaskKind::Other);
        let description = format!(
            "回访得分 {:.0}/1000{}{}",
            score.points,
            if score.any_dissatisfied {
                "，有不满意项"
            } else {
                ""
            },
            comment.map(|c| format!("：{c}")).unwrap_or_default()
        );
        let now = self.clock.now();
        let category = match kind {
            TaskKind::DeliveryFollowUp => ComplaintCategory::Sales,
            _ => ComplaintCategory::RepairQuality,
        };
        let (call_id, complaint) = self
            .db
            .record_follow_up_call(&NewFollowUpCall {
                task_id: Some(task.id),
                store_id: task.store_id,
                customer_id,
                kind: &task.kind,
                questionnaire_id: Some(q.id),
                staff_id: Some(actor.staff_id),
                called_at: now,
                called_on: self.clock.today(),
                completed: true,
                points: Some(score.points),
                satisfied: score.satisfied,
                dissatisfied: score.any_dissatisfied,
                advisor_id: advisor,
                consultant_id: consultant,
                work_order_id: wo,
                sales_order_id: so,
                complaint_id,
                comment,
                answers: &input.answers,
                complaint: opens.then(|| NewComplaint {
                    store_id: task.store_id,
                    customer_id,
                    vehicle_id: task.vehicle_id,
                    work_order_id: wo,
                    channel: ComplaintChannel::FollowUpCall.code(),
                    category: category.code(),
                    severity: if score.points < 400.0 {
                        Severity::High.code()
                    } else {
                        Severity::Medium.code()
                    },
                    owner_id: Some(actor.staff_id),
                    description: &description,
                    opened_at: now,
                }),
                survey_kind: if kind == TaskKind::DeliveryFollowUp {
                    "ssi"
                } else {
                    "csi"
                },
                survey_score: ((score.points / 250.0).round() as i64 + 1).clamp(1, 5),
            })
            .await?;
        Ok(FollowUpResult {
            call_id,
            points: score.points,
            satisfied: score.satisfied,
            complaint_id: complaint,
        })
    }

    /// A new questionnaire template (replaces the active one of its kind for the store, or
    /// for the group when `store_id` is empty).
    pub async fn create_questionnaire(
        &self,
        actor: &Actor,
        input: &QuestionnaireInput,
    ) -> Result<Id> {
        if !matches!(
            actor.role,
            Role::Admin | Role::Group | Role::GeneralManager | Role::CareSpecialist
        ) {
            return Err(ServiceError::Forbidden("manage questionnaires"));
        }
        if let Some(s) = input.store_id {
            self.check_store_access(actor, s).await?;
        } else if actor.role.scope_level() != ScopeLevel::Group {
            return Err(ServiceError::Forbidden("write to another store"));
        }
        let mut errors = Vec::new();
        if !matches!(
            input.kind.as_str(),
            "delivery_follow_up" | "service_follow_up" | "complaint_follow_up"
        ) {
            errors.push(ValidationError::new(
                "kind",
                &input.kind,
                Rule::OneOf {
                    allowed: vec![
                        "delivery_follow_up".into(),
                        "service_follow_up".into(),
                        "complaint_follow_up".into(),
                    ],
                },
            ));
        }
        if input.name.trim().is_empty() {
            errors.push(ValidationError::new("name", "", Rule::Required));
        }
        if input.questions.is_empty() {
            errors.push(ValidationError::new("questions", "", Rule::Required));
        }
        let mut qs = Vec::new();
        for (i, q) in input.questions.iter().enumerate() {
            let field = format!("questions[{i}]");
            if q.text.trim().is_empty() {
                errors.push(ValidationError::new(
                    format!("{field}.text"),
                    "",
                    Rule::Required,
                ));
            }
            match AnswerScale::parse(&format!("{field}.scale"), &q.scale) {
                Ok(s) => qs.push((
                    q.text.trim().to_string(),
                    s.code().to_string(),
                    q.weight.unwrap_or(1.0),
                    q.required.unwrap_or(true),
                )),
                Err(e) => errors.push(e),
            }
            if let Some(w) = q.weight
                && !(w > 0.0 && w <= 100.0)
            {
                errors.push(ValidationError::new(
                    format!("{field}.weight"),
                    w.to_string(),
                    Rule::OutOfRange { min: 0, max: 100 },
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        Ok(self
            .db
            .create_questionnaire(
                input.store_id,
                &input.kind,
                input.name.trim(),
                &qs,
                self.clock.now(),
            )
            .await?)
    }

    // ---- complaints ---------------------------------------------------------------------------

    /// The complaint board: complaints in scope with their timers.
    pub async fn complaint_board(
        &self,
        actor: &Actor,
        q: &ComplaintQuery,
    ) -> Result<Vec<ComplaintView>> {
        let rows = self
            .db
            .complaint_board(
                &actor.scope(),
                &ComplaintFilter {
                    status: q.status.clone().filter(|s| !s.is_empty()),
                    category: q.category.clone().filter(|s| !s.is_empty()),
                    limit: q.limit.unwrap_or(200),
                },
            )
            .await?;
        let mut cache: HashMap<Id, AftersalesSettings> = HashMap::new();
        let mut out = Vec::new();
        for k in rows {
            let sid = k.store_id;
            if !cache.contains_key(&sid) {
                let s = self.store_aftersales_settings(sid).await?;
                cache.insert(sid, s);
            }
            let view = self.complaint_view(k, &cache[&sid]);
            out.push(view);
        }
        Ok(out)
    }

    fn complaint_view(&self, k: ComplaintRow, s: &AftersalesSettings) -> ComplaintView {
        let schedule = HolidaySchedule::official();
        let sla = complaint_sla_of(&k, s, schedule);
        let local = |t: Option<DateTime<Utc>>| t.map(|t| (t + Duration::hours(8)).date_naive());
        let overdue = rules::overdue_stages(
            &sla,
            local(k.contacted_at),
            local(k.outcome_at),
            local(k.closed_at),
            self.clock.today(),
        )
        .into_iter()
        .map(|s| s.code().to_string())
        .collect();
        ComplaintView {
            contact_by: sla.contact_by,
            outcome_by: sla.outcome_by,
            close_by: sla.close_by,
            overdue,
            complaint: k,
        }
    }

    pub async fn complaint(&self, actor: &Actor, id: Id) -> Result<ComplaintView> {
        let k = self.db.complaint_row(&actor.scope(), id).await?;
        let s = self.store_aftersales_settings(k.store_id).await?;
        Ok(self.complaint_view(k, &s))
    }

    /// Registers a complaint.
    pub async fn open_complaint(&self, actor: &Actor, input: &ComplaintInput) -> Result<Id> {
        let c = self.db.customer(&actor.scope(), input.customer_id).await?;
        self.check_store_access(actor, c.fields.store_id).await?;
        let mut errors = Vec::new();
        let channel = ComplaintChannel::parse("channel", &input.channel);
        let category = ComplaintCategory::parse("category", &input.category);
        let severity = Severity::parse("severity", &input.severity);
        for e in [
            channel.as_ref().err(),
            category.as_ref().err(),
            severity.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        {
            errors.push(e.clone());
        }
        if input.description.trim().is_empty() {
            errors.push(ValidationError::new("description", "", Rule::Required));
        }
        if let Some(v) = input.vehicle_id
            && self.db.vehicle(&actor.scope(), v).await.is_err()
        {
            errors.push(ValidationError::new(
                "vehicle_id",
                v.to_string(),
                Rule::Required,
            ));
        }
        if let Some(w) = input.work_order_id
            && self.db.work_order(&actor.scope(), w).await.is_err()
        {
            errors.push(ValidationError::new(
                "work_order_id",
                w.to_string(),
                Rule::Required,
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let (Ok(channel), Ok(category), Ok(severity)) = (channel, category, severity) else {
            return Err(ServiceError::Internal("validated above".into()));
        };
        Ok(self
            .db
            .create_complaint(&NewComplaint {
                store_id: c.fields.store_id,
                customer_id: c.id,
                vehicle_id: input.vehicle_id,
                work_order_id: input.work_order_id,
                channel: channel.code(),
                category: category.code(),
                severity: severity.code(),
                owner_id: input.owner_id.or(Some(actor.staff_id)),
                description: input.description.trim(),
                opened_at: self.clock.now(),
            })
            .await?)
    }

    /// Records a complaint's progress: `contact`, `outcome` (with the resolution) or
    /// `close` (with the resolution and the customer's satisfaction).
    pub async fn complaint_step(
        &self,
        actor: &Actor,
        id: Id,
        input: &ComplaintStepInput,
    ) -> Result<ComplaintView> {
        let k = self.db.complaint_row(&actor.scope(), id).await?;
        self.check_store_access(actor, k.store_id).await?;
        let resolution = input
            .resolution
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let mut errors = Vec::new();
        let satisfaction = match input.step.as_str() {
            "contact" => None,
            "outcome" => {
                if resolution.is_none() {
                    errors.push(ValidationError::new("resolution", "", Rule::Required));
                }
                None
            }
            "close" => {
                if resolution.is_none() && k.resolution.is_none() {
                    errors.push(ValidationError::new("resolution", "", Rule::Required));
                }
                match ResolutionSatisfaction::parse(
                    "satisfaction",
                    input.satisfaction.as_deref().unwrap_or(""),
                ) {
                    Ok(s) => Some(s.code()),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            }
            other => {
                errors.push(ValidationError::new(
                    "step",
                    other,
                    Rule::OneOf {
                        allowed: vec!["contact".into(), "outcome".into(), "close".into()],
                    },
                ));
                None
            }
        };
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        self.db
            .complaint_progress(id, &input.step, resolution, satisfaction, self.clock.now())
            .await?;
        self.complaint(actor, id).await
    }

    // ---- KPIs ------------------------------------------------------------------------------------

    /// The after-sales KPIs of DOMAIN.md §4 for the actor's stores over the last `months`
    /// months (by month, oldest first).
    pub async fn aftersales_kpis(
        &self,
        actor: &Actor,
        months: u32,
        store: Option<Id>,
    ) -> Result<AftersalesKpis> {
        let mut stores = self.stores_of(actor).await?;
        if let Some(one) = store {
            if !stores.contains(&one) {
                return Err(ServiceError::NotFound {
                    entity: "store",
                    id: one.to_string(),
                });
            }
            stores = vec![one];
        }
        let today = self.clock.today();
        let months = months.clamp(1, 24);
        let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
            .and_then(|d| d.checked_sub_months(Months::new(months - 1)))
            .unwrap_or(today);
        let mut labels = Vec::new();
        let mut m = first;
        while m <= today {
            labels.push(m.format("%Y-%m").to_string());
            m = match m.checked_add_months(Months::new(1)) {
                Some(x) => x,
                None => break,
            };
        }
        let series = |rows: Vec<(String, i64, i64)>| -> RateSeries {
            let values = labels
                .iter()
                .map(|l| {
                    rows.iter()
                        .find(|(m, _, _)| m == l)
                        .and_then(|(_, n, d)| rules::ratio(*n, *d))
                })
                .collect();
            let n: i64 = rows.iter().map(|r| r.1).sum();
            let d: i64 = rows.iter().map(|r| r.2).sum();
            RateSeries {
                values,
                numerator: n,
                denominator: d,
                overall: rules::ratio(n, d),
            }
        };
        let first_service = series(
            self.db
                .service_return_by_month(&stores, 1, first, today)
                .await?,
        );
        let second_service = series(
            self.db
                .service_return_by_month(&stores, 2, first, today)
                .await?,
        );
        let renewal = series(self.db.renewals_by_month(&stores, first, today).await?);
        let follow_up = series(self.db.follow_ups_by_month(&stores, first, today).await?);
        let sat = |rows: Vec<(String, i64, i64, i64)>| {
            let mean = {
                let n: i64 = rows.iter().map(|r| r.2).sum();
                let sum: i64 = rows.iter().map(|r| r.3).sum();
                // 1–5 → 0–1000: (mean − 1) / 4 × 1000.
                (n > 0).then(|| ((sum as f64 / n as f64) - 1.0) / 4.0 * 1000.0)
            };
            (
                series(rows.into_iter().map(|(m, s, n, _)| (m, s, n)).collect()),
                mean,
            )
        };
        let (csi, csi_points) = sat(self
            .db
            .satisfaction_by_month(&stores, "csi", first, today)
            .await?);
        let (ssi, ssi_points) = sat(self
            .db
            .satisfaction_by_month(&stores, "ssi", first, today)
            .await?);
        // Complaint closure within two weeks, by category (DOMAIN: closed ÷ (closed + open
        // for more than two weeks)).
        let facts = self.db.complaint_facts(&stores, start_of(first)).await?;
        let now = self.clock.now();
        let mut by_cat: Vec<(String, i64, i64, i64)> = Vec::new();
        for (cat, status, opened, closed) in facts {
            let code = ComplaintCategory::parse("category", &cat)
                .map(|c| c.code().to_string())
                .unwrap_or(cat);
            let e = match by_cat.iter_mut().position(|x| x.0 == code) {
                Some(i) => &mut by_cat[i],
                None => {
                    by_cat.push((code, 0, 0, 0));
                    by_cat.last_mut().expect("pushed")
                }
            };
            let two_weeks = Duration::days(14);
            match (status.as_str(), closed) {
                ("closed", Some(c)) if c - opened <= two_weeks => e.1 += 1,
                ("closed", _) => e.2 += 1,
                (_, _) if now - opened > two_weeks => e.3 += 1,
                _ => {}
            }
        }
        let (a, b, c) = by_cat
            .iter()
            .fold((0, 0, 0), |acc, x| (acc.0 + x.1, acc.1 + x.2, acc.2 + x.3));
        let complaint_closure = rules::complaint_closure_rate(a, b, c);
        let complaints_by_category = by_cat
            .into_iter()
            .map(|(cat, i, l, o)| CategoryClosure {
                rate: rules::complaint_closure_rate(i, l, o),
                category: cat,
                closed_in_time: i,
                closed_late: l,
                open_over: o,
            })
            .collect();
        let lapsed_by_store = self
            .db
            .lapsed_by_store(&stores)
            .await?
            .into_iter()
            .map(|(_, n, c)| (n, c))
            .collect();
        let advisors = self.db.scores_by_staff(&stores, true, first, today).await?;
        let consultants = self
            .db
            .scores_by_staff(&stores, false, first, today)
            .await?;
        Ok(AftersalesKpis {
            months: labels,
            first_service,
            second_service,
            renewal,
            follow_up,
            csi,
            ssi,
            csi_points,
            ssi_points,
            complaint_closure,
            complaints_by_category,
            lapsed_by_store,
            advisors: advisors.into_iter().map(|(_, n, c, p)| (n, c, p)).collect(),
            consultants: consultants
                .into_iter()
                .map(|(_, n, c, p)| (n, c, p))
                .collect(),
            snapshot: self.db.latest_service_status().await?,
        })
    }
}

fn complaint_sla_of(
    k: &ComplaintRow,
    s: &AftersalesSettings,
    schedule: &HolidaySchedule,
) -> rules::ComplaintSla {
    rules::complaint_sla((k.opened_at + Duration::hours(8)).date_naive(), s, schedule)
}

// ---- inputs and views ----------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct CallQuery {
    /// A task kind (e.g. insurance_renewal); all when empty.
    pub kind: Option<String>,
    /// Also calls due within this many days (0–90, default 0: due today or overdue).
    pub ahead_days: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OutcomeInput {
    /// booked | declined | unreachable | wrong_number | serviced_elsewhere | do_not_contact | reached
    pub outcome: String,
    pub note: Option<String>,
    /// For serviced_elsewhere: where (required) and when (default today).
    pub place: Option<String>,
    pub serviced_on: Option<String>,
    /// For booked: the appointment date and slot (HH:MM); no appointment without a date.
    pub appointment_on: Option<String>,
    pub slot: Option<String>,
    /// For do_not_contact: block only this car (default: all the customer's cars).
    pub this_vehicle_only: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeResult {
    pub task_id: Id,
    pub outcome: String,
    /// Unreachable: the call moved to this day.
    pub retry_on: Option<NaiveDate>,
    pub done: bool,
    pub appointment_id: Option<Id>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AppointmentInput {
    pub vehicle_id: Id,
    /// A work-order kind: first_service, maintenance, repair, …
    pub service: String,
    pub scheduled_on: String,
    /// HH:MM, default 09:00.
    pub slot: Option<String>,
    pub advisor_id: Option<Id>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArrivalView {
    #[serde(flatten)]
    pub row: ArrivalRow,
    pub due: Option<VehicleDue>,
    pub score: Option<CustomerScore>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct FollowUpInput {
    /// (question id, value) on the question's scale.
    pub answers: Vec<(Id, i64)>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUpResult {
    pub call_id: Id,
    /// 0–1000 (SSI/CSI scale).
    pub points: f64,
    pub satisfied: bool,
    /// The complaint opened by a low score or a dissatisfied answer.
    pub complaint_id: Option<Id>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct QuestionInput {
    pub text: String,
    /// five | ten | yes_no | satisfaction
    pub scale: String,
    pub weight: Option<f64>,
    pub required: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct QuestionnaireInput {
    /// Empty: the group's template (group roles only).
    pub store_id: Option<Id>,
    /// delivery_follow_up | service_follow_up | complaint_follow_up
    pub kind: String,
    pub name: String,
    pub questions: Vec<QuestionInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ComplaintQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ComplaintInput {
    pub customer_id: Id,
    pub vehicle_id: Option<Id>,
    pub work_order_id: Option<Id>,
    /// phone | visit | follow_up_call | oem | online | letter
    pub channel: String,
    /// repair_quality | attitude | waiting | charges | parts | delivery | product | sales
    pub category: String,
    /// low | medium | high
    pub severity: String,
    pub owner_id: Option<Id>,
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ComplaintStepInput {
    /// contact | outcome | close
    pub step: String,
    pub resolution: Option<String>,
    /// For close: satisfied | neutral | dissatisfied
    pub satisfaction: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintView {
    #[serde(flatten)]
    pub complaint: ComplaintRow,
    pub contact_by: NaiveDate,
    pub outcome_by: NaiveDate,
    pub close_by: NaiveDate,
    /// Timers that ran out: contact | outcome | close.
    pub overdue: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RateSeries {
    /// One value a month (None: nothing was due).
    pub values: Vec<Option<f64>>,
    pub numerator: i64,
    pub denominator: i64,
    pub overall: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryClosure {
    pub category: String,
    pub closed_in_time: i64,
    pub closed_late: i64,
    pub open_over: i64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AftersalesKpis {
    pub months: Vec<String>,
    /// 首保回厂率: first services done here ÷ first-service windows closed in the month.
    pub first_service: RateSeries,
    pub second_service: RateSeries,
    /// 续保率: policies renewed ÷ policies ending in the month.
    pub renewal: RateSeries,
    /// 回访成功率: calls reached with the questionnaire completed ÷ calls due.
    pub follow_up: RateSeries,
    /// 满意度 (service): satisfied + very satisfied ÷ answered.
    pub csi: RateSeries,
    pub ssi: RateSeries,
    /// Mean score on the 1000-point scale.
    pub csi_points: Option<f64>,
    pub ssi_points: Option<f64>,
    /// 两周结案率.
    pub complaint_closure: Option<f64>,
    pub complaints_by_category: Vec<CategoryClosure>,
    /// (store, lapsed owners)
    pub lapsed_by_store: Vec<(String, i64)>,
    /// (name, completed calls, mean points) per service advisor (CSI) and consultant (SSI).
    pub advisors: Vec<(String, i64, f64)>,
    pub consultants: Vec<(String, i64, f64)>,
    /// The maintenance-prediction snapshot the service-return rates come from.
    pub snapshot: Option<NaiveDate>,
}
