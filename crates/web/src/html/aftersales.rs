//! After-sales pages: the outbound call list with one-click outcomes, the insurance
//! renewal lists (T−90/60/30), the follow-up questionnaire, appointments and the service
//! advisor's arrival view, a car's due view, the complaint board and a complaint's timers,
//! and the KPI page with charts. Thin: each handler calls one service.

use super::{
    Ctx, F, PageError, PageResult, PathId, Q, Web, chart, i18n, nonempty, parse_id, render,
};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::Lang;
use dealerbase_domain::aftersales::{
    self as rules, AnswerScale, ComplaintCategory, ComplaintChannel, ResolutionSatisfaction,
    Severity,
};
use dealerbase_domain::model::{TaskKind, WorkOrderKind};
use dealerbase_service::aftersales::{
    AftersalesKpis, AppointmentInput, ArrivalView, CallQuery, ComplaintInput, ComplaintQuery,
    ComplaintStepInput, ComplaintView, FollowUpInput, OutcomeInput, VehicleDue,
};
use dealerbase_store::Task;
use dealerbase_store::aftersales::{CallItem, Question, Questionnaire, RenewalItem};
use serde::Deserialize;
use std::collections::HashMap;

fn label_of<T: Copy>(
    r: Result<T, dealerbase_domain::ValidationError>,
    f: impl Fn(T) -> &'static str,
    raw: &str,
) -> String {
    r.map(|x| f(x).to_string())
        .unwrap_or_else(|_| raw.to_string())
}

/// Labels for the after-sales codes (domain enums) in the page's language.
pub struct Labels(pub Lang);

impl Labels {
    pub fn kind(&self, k: &str) -> String {
        label_of(TaskKind::parse("", k), |x| x.label(self.0), k)
    }
    pub fn category(&self, k: &str) -> String {
        label_of(ComplaintCategory::parse("", k), |x| x.label(self.0), k)
    }
    pub fn severity(&self, k: &str) -> String {
        label_of(Severity::parse("", k), |x| x.label(self.0), k)
    }
    pub fn channel(&self, k: &str) -> String {
        label_of(ComplaintChannel::parse("", k), |x| x.label(self.0), k)
    }
    pub fn satisfaction(&self, k: &Option<String>) -> String {
        k.as_deref()
            .map(|k| label_of(ResolutionSatisfaction::parse("", k), |x| x.label(self.0), k))
            .unwrap_or_default()
    }
    pub fn service(&self, k: &str) -> String {
        label_of(WorkOrderKind::parse("", k), |x| x.label(self.0), k)
    }
    pub fn stage(&self, k: &str) -> String {
        label_of(rules::SlaStage::parse("", k), |x| x.label(self.0), k)
    }
    pub fn window(&self, k: &str) -> String {
        label_of(rules::WindowStatus::parse("", k), |x| x.label(self.0), k)
    }
    pub fn scale(&self, k: &str) -> String {
        label_of(AnswerScale::parse("", k), |x| x.label(self.0), k)
    }
    pub fn pct(&self, r: &Option<f64>) -> String {
        rules::percent(*r, self.0)
    }
    pub fn pctv(&self, r: &f64) -> String {
        rules::percent(Some(*r), self.0)
    }
    pub fn rule(&self, r: &rules::DueRule) -> &'static str {
        r.label(self.0)
    }
    pub fn source(&self, r: &rules::RateSource) -> &'static str {
        r.label(self.0)
    }
    pub fn within(&self, days: &i64) -> String {
        i18n::t("as.within_days", self.0).replace("{}", &days.to_string())
    }
    pub fn is_follow_up(&self, k: &str) -> bool {
        TaskKind::parse("", k).is_ok_and(rules::is_follow_up)
    }
}

fn outcomes(lang: Lang) -> Vec<(&'static str, &'static str)> {
    rules::CALL_OUTCOMES
        .iter()
        .map(|o| (o.code(), o.label(lang)))
        .collect()
}

// ---- the call list ---------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallsQuery {
    kind: Option<String>,
    ahead: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "aftersales_calls.html")]
struct CallsPage {
    c: Ctx,
    l: Labels,
    items: Vec<CallItem>,
    kind: String,
    ahead: i64,
    kinds: Vec<(&'static str, &'static str)>,
    outcomes: Vec<(&'static str, &'static str)>,
    back: String,
    done: Option<String>,
}

fn done_note(done: &Option<String>, lang: Lang) -> Option<String> {
    parse_id(done).map(|d| i18n::t("as.recorded", lang).replace("{}", &d.to_string()))
}

pub async fn calls(State(s): State<AppState>, web: Web, Q(q): Q<CallsQuery>) -> PageResult {
    let lang = web.lang();
    let kind = nonempty(&q.kind).filter(|k| TaskKind::parse("", k).is_ok());
    let ahead = parse_id(&q.ahead).unwrap_or(0).min(90);
    let items = s
        .services
        .call_list(
            &web.user.actor,
            &CallQuery {
                kind: kind.clone(),
                ahead_days: Some(ahead),
                limit: Some(300),
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    let page = CallsPage {
        l: Labels(lang),
        kinds: TaskKind::ALL
            .iter()
            .filter(|k| **k != TaskKind::LeadFollowUp && **k != TaskKind::Other)
            .map(|k| (k.code(), k.label(lang)))
            .collect(),
        outcomes: outcomes(lang),
        back: web.path.clone(),
        done: done_note(&q.done, lang),
        c: web.ctx("nav.calls"),
        items,
        kind: kind.unwrap_or_default(),
        ahead,
    };
    Ok(render(StatusCode::OK, &page, lang))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OutcomeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    outcome: String,
    note: Option<String>,
    place: Option<String>,
    serviced_on: Option<String>,
    appointment_on: Option<String>,
    slot: Option<String>,
    this_vehicle_only: Option<String>,
    back: Option<String>,
}

pub async fn outcome(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<OutcomeForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .record_outcome(
            &web.user.actor,
            id,
            &OutcomeInput {
                outcome: f.outcome,
                note: f.note,
                place: f.place,
                serviced_on: f.serviced_on,
                appointment_on: f.appointment_on,
                slot: nonempty(&f.slot),
                this_vehicle_only: Some(f.this_vehicle_only.is_some()),
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    let back = super::safe_next(f.back.as_deref());
    let back = if back.starts_with("/aftersales/") {
        back
    } else {
        "/aftersales/calls".into()
    };
    // Back to the list, without an earlier `done=` note.
    let (path, query) = back.split_once('?').unwrap_or((back.as_str(), ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("done="))
        .collect();
    let done = format!("done={id}");
    params.push(&done);
    Ok(Redirect::to(&format!("{path}?{}", params.join("&"))).into_response())
}

// ---- renewals ------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RenewalQuery {
    within: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "aftersales_renewals.html")]
struct RenewalsPage {
    c: Ctx,
    l: Labels,
    items: Vec<RenewalItem>,
    within: i64,
    buckets: Vec<i64>,
    outcomes: Vec<(&'static str, &'static str)>,
    back: String,
    done: Option<String>,
}

pub async fn renewals(State(s): State<AppState>, web: Web, Q(q): Q<RenewalQuery>) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let buckets = match actor.store_id {
        Some(sid) => {
            s.services
                .store_aftersales_settings(sid)
                .await
                .map_err(|e| web.err(e))?
                .insurance_list_days
        }
        None => rules::AftersalesSettings::default().insurance_list_days,
    };
    let within = parse_id(&q.within).unwrap_or(*buckets.first().unwrap_or(&90));
    let items = s
        .services
        .renewal_list(actor, within)
        .await
        .map_err(|e| web.err(e))?;
    let page = RenewalsPage {
        l: Labels(lang),
        outcomes: outcomes(lang),
        back: web.path.clone(),
        done: done_note(&q.done, lang),
        c: web.ctx("nav.renewals"),
        items,
        within,
        buckets,
    };
    Ok(render(StatusCode::OK, &page, lang))
}

// ---- follow-up questionnaire --------------------------------------------------------------

#[derive(Template)]
#[template(path = "aftersales_call.html")]
struct CallPage {
    c: Ctx,
    l: Labels,
    task: Task,
    questionnaire: Questionnaire,
    questions: Vec<Question>,
    /// (question id, allowed values with labels)
    choices: Vec<(i64, Vec<(i64, String)>)>,
    errors: Vec<(String, String)>,
}

fn choices_of(q: &Question, lang: Lang) -> Vec<(i64, String)> {
    let scale = AnswerScale::parse("", &q.scale).unwrap_or(AnswerScale::Five);
    let (lo, hi) = scale.range();
    (lo..=hi)
        .rev()
        .map(|v| {
            let label = match (scale, v, lang) {
                (AnswerScale::YesNo, 1, _) => i18n::t("common.yes", lang).to_string(),
                (AnswerScale::YesNo, _, _) => i18n::t("common.no", lang).to_string(),
                (AnswerScale::Satisfaction, v, _) => {
                    i18n::t(&format!("as.sat{v}"), lang).to_string()
                }
                (_, v, _) => v.to_string(),
            };
            (v, label)
        })
        .collect()
}

async fn call_page(
    s: &AppState,
    web: &Web,
    id: i64,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> PageResult {
    let lang = web.lang();
    let (task, questionnaire, questions) = s
        .services
        .questionnaire_for_task(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let choices = questions
        .iter()
        .map(|q| (q.id, choices_of(q, lang)))
        .collect();
    let page = CallPage {
        c: web.ctx("nav.calls"),
        l: Labels(lang),
        task,
        questionnaire,
        questions,
        choices,
        errors,
    };
    Ok(render(status, &page, lang))
}

pub async fn call_form(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    call_page(&s, &web, id, Vec::new(), StatusCode::OK).await
}

pub async fn call_submit(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(form): F<Vec<(String, String)>>,
) -> PageResult {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    web.check_csrf(csrf)?;
    let mut answers = Vec::new();
    let mut bad = Vec::new();
    for (k, v) in &form {
        if let Some(q) = k.strip_prefix('q').and_then(|q| q.parse::<i64>().ok()) {
            if v.trim().is_empty() {
                continue;
            }
            match v.trim().parse::<i64>() {
                Ok(v) => answers.push((q, v)),
                Err(_) => bad.push((k.clone(), i18n::t("as.bad_answer", web.lang()).to_string())),
            }
        }
    }
    let comment = form
        .iter()
        .find(|(k, _)| k == "comment")
        .map(|(_, v)| v.clone());
    if !bad.is_empty() {
        return call_page(&s, &web, id, bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match s
        .services
        .record_follow_up(&web.user.actor, id, &FollowUpInput { answers, comment })
        .await
    {
        Ok(r) => Ok(Redirect::to(&match r.complaint_id {
            Some(k) => format!("/aftersales/complaints/{k}?opened_by_call={}", r.call_id),
            None => format!("/aftersales/calls?done={id}"),
        })
        .into_response()),
        Err(dealerbase_service::ServiceError::Invalid(list)) => {
            let errors = list
                .iter()
                .map(|e| (e.field.clone(), e.rule.message(web.lang())))
                .collect();
            call_page(&s, &web, id, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(web.err(e)),
    }
}

// ---- appointments and arrivals --------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ArrivalsQuery {
    date: Option<String>,
    vehicle: Option<String>,
}

#[derive(Template)]
#[template(path = "aftersales_appointments.html")]
struct AppointmentsPage {
    c: Ctx,
    l: Labels,
    date: String,
    items: Vec<ArrivalView>,
    services: Vec<(&'static str, &'static str)>,
    vehicle: String,
}

pub async fn appointments(
    State(s): State<AppState>,
    web: Web,
    Q(q): Q<ArrivalsQuery>,
) -> PageResult {
    let lang = web.lang();
    let date = nonempty(&q.date)
        .and_then(|d| dealerbase_domain::dates::parse_dms_date("date", &d).ok())
        .unwrap_or_else(|| s.services.clock.today());
    let items = s
        .services
        .arrivals(&web.user.actor, Some(date))
        .await
        .map_err(|e| web.err(e))?;
    let page = AppointmentsPage {
        c: web.ctx("nav.appointments"),
        l: Labels(lang),
        date: date.to_string(),
        items,
        services: WorkOrderKind::ALL
            .iter()
            .filter(|k| !matches!(k, WorkOrderKind::Pdi))
            .map(|k| (k.code(), k.label(lang)))
            .collect(),
        vehicle: nonempty(&q.vehicle).unwrap_or_default(),
    };
    Ok(render(StatusCode::OK, &page, lang))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BookForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    vehicle_id: Option<String>,
    service: String,
    scheduled_on: String,
    slot: Option<String>,
    note: Option<String>,
}

pub async fn book(State(s): State<AppState>, web: Web, F(f): F<BookForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let vehicle_id = parse_id(&f.vehicle_id).unwrap_or(0);
    s.services
        .book_appointment(
            &web.user.actor,
            &AppointmentInput {
                vehicle_id,
                service: f.service,
                scheduled_on: f.scheduled_on.clone(),
                slot: nonempty(&f.slot),
                advisor_id: None,
                note: f.note,
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!(
        "/aftersales/appointments?date={}",
        super::url_encode(f.scheduled_on.trim())
    ))
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    status: String,
    date: Option<String>,
}

pub async fn appointment_status(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<StatusForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .appointment_status(&web.user.actor, id, &f.status)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!(
        "/aftersales/appointments?date={}",
        super::url_encode(&f.date.unwrap_or_default())
    ))
    .into_response())
}

// ---- a car's due view -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "aftersales_vehicle.html")]
struct VehiclePage {
    c: Ctx,
    l: Labels,
    due: VehicleDue,
}

pub async fn vehicle(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    let due = s
        .services
        .vehicle_due(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let page = VehiclePage {
        c: web.ctx("nav.appointments"),
        l: Labels(web.lang()),
        due,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

// ---- complaints -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BoardQuery {
    status: Option<String>,
    category: Option<String>,
}

#[derive(Template)]
#[template(path = "aftersales_complaints.html")]
struct BoardPage {
    c: Ctx,
    l: Labels,
    items: Vec<ComplaintView>,
    status: String,
    category: String,
    categories: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
}

pub async fn complaints(State(s): State<AppState>, web: Web, Q(q): Q<BoardQuery>) -> PageResult {
    let lang = web.lang();
    let status =
        nonempty(&q.status).filter(|s| matches!(s.as_str(), "open" | "resolved" | "closed"));
    let category = nonempty(&q.category).filter(|c| ComplaintCategory::parse("", c).is_ok());
    let items = s
        .services
        .complaint_board(
            &web.user.actor,
            &ComplaintQuery {
                status: status.clone(),
                category: category.clone(),
                limit: Some(300),
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    let page = BoardPage {
        c: web.ctx("nav.complaints"),
        l: Labels(lang),
        items,
        status: status.unwrap_or_default(),
        category: category.unwrap_or_default(),
        categories: ComplaintCategory::ALL
            .iter()
            .map(|c| (c.code(), c.label(lang)))
            .collect(),
        channels: ComplaintChannel::ALL
            .iter()
            .map(|c| (c.code(), c.label(lang)))
            .collect(),
        severities: Severity::ALL
            .iter()
            .map(|c| (c.code(), c.label(lang)))
            .collect(),
    };
    Ok(render(StatusCode::OK, &page, lang))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewComplaintForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    customer_id: Option<String>,
    vehicle_id: Option<String>,
    work_order_id: Option<String>,
    channel: String,
    category: String,
    severity: String,
    description: String,
}

pub async fn create_complaint(
    State(s): State<AppState>,
    web: Web,
    F(f): F<NewComplaintForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let id = s
        .services
        .open_complaint(
            &web.user.actor,
            &ComplaintInput {
                customer_id: parse_id(&f.customer_id).unwrap_or(0),
                vehicle_id: parse_id(&f.vehicle_id),
                work_order_id: parse_id(&f.work_order_id),
                channel: f.channel,
                category: f.category,
                severity: f.severity,
                owner_id: None,
                description: f.description,
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!("/aftersales/complaints/{id}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ComplaintPageQuery {
    opened_by_call: Option<String>,
}

#[derive(Template)]
#[template(path = "aftersales_complaint.html")]
struct ComplaintPage {
    c: Ctx,
    l: Labels,
    k: ComplaintView,
    opened_by_call: Option<i64>,
    satisfactions: Vec<(&'static str, &'static str)>,
}

pub async fn complaint(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    Q(q): Q<ComplaintPageQuery>,
) -> PageResult {
    let lang = web.lang();
    let k = s
        .services
        .complaint(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let page = ComplaintPage {
        c: web.ctx("nav.complaints"),
        l: Labels(lang),
        k,
        opened_by_call: parse_id(&q.opened_by_call),
        satisfactions: ResolutionSatisfaction::ALL
            .iter()
            .map(|x| (x.code(), x.label(lang)))
            .collect(),
    };
    Ok(render(StatusCode::OK, &page, lang))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StepForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    step: String,
    resolution: Option<String>,
    satisfaction: Option<String>,
}

pub async fn complaint_step(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<StepForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .complaint_step(
            &web.user.actor,
            id,
            &ComplaintStepInput {
                step: f.step,
                resolution: f.resolution,
                satisfaction: nonempty(&f.satisfaction),
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!("/aftersales/complaints/{id}")).into_response())
}

// ---- KPIs -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "aftersales_kpi.html")]
struct KpiPage {
    c: Ctx,
    l: Labels,
    k: AftersalesKpis,
    charts: Vec<(String, String)>,
    /// The stores the user may pick (group roles); empty for one store's staff.
    stores: Vec<(i64, String)>,
    store_id: Option<i64>,
}

impl KpiPage {
    fn is_store(&self, id: &i64) -> bool {
        self.store_id == Some(*id)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KpiQuery {
    store: Option<String>,
}

pub async fn kpi(State(s): State<AppState>, web: Web, Q(q): Q<KpiQuery>) -> PageResult {
    let lang = web.lang();
    let k = s
        .services
        .aftersales_kpis(&web.user.actor, 12, parse_id(&q.store))
        .await
        .map_err(|e| web.err(e))?;
    let t = |key: &str| i18n::t(key, lang).to_string();
    let no_data = t("common.no_data");
    let pct =
        |v: &[Option<f64>]| -> Vec<f64> { v.iter().map(|x| x.unwrap_or(0.0) * 100.0).collect() };
    let mut charts = Vec::new();
    for (key, series) in [
        ("as.kpi_first", &k.first_service),
        ("as.kpi_second", &k.second_service),
        ("as.kpi_renewal", &k.renewal),
        ("as.kpi_follow_up", &k.follow_up),
        ("as.kpi_csi", &k.csi),
        ("as.kpi_ssi", &k.ssi),
    ] {
        let title = format!("{} (%)", t(key));
        let svg = if series.denominator == 0 {
            chart::line(&title, &[], &[], &no_data)
        } else {
            chart::line(&title, &k.months, &pct(&series.values), &no_data)
        };
        charts.push((title, svg));
    }
    let (cats, rates): (Vec<String>, Vec<f64>) = k
        .complaints_by_category
        .iter()
        .map(|c| {
            (
                Labels(lang).category(&c.category),
                c.rate.unwrap_or(0.0) * 100.0,
            )
        })
        .unzip();
    let title = format!("{} (%)", t("as.kpi_closure_by_category"));
    charts.push((title.clone(), chart::bar(&title, &cats, &rates, &no_data)));
    let (stores, lapsed): (Vec<String>, Vec<f64>) = k
        .lapsed_by_store
        .iter()
        .map(|(n, c)| (n.clone(), *c as f64))
        .unzip();
    let title = t("as.kpi_lapsed");
    charts.push((
        title.clone(),
        chart::bar(&title, &stores, &lapsed, &no_data),
    ));
    let (names, points): (Vec<String>, Vec<f64>) =
        k.advisors.iter().map(|(n, _, p)| (n.clone(), *p)).unzip();
    let title = t("as.kpi_csi_by_advisor");
    charts.push((title.clone(), chart::bar(&title, &names, &points, &no_data)));
    let stores = if web.user.actor.store_id.is_none() {
        settings_stores(&s, &web).await?
    } else {
        Vec::new()
    };
    let page = KpiPage {
        c: web.ctx("nav.aftersales_kpi"),
        l: Labels(lang),
        k,
        charts,
        stores,
        store_id: parse_id(&q.store),
    };
    Ok(render(StatusCode::OK, &page, lang))
}

// ---- settings ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsQuery {
    store: Option<String>,
}

#[derive(Template)]
#[template(path = "aftersales_settings.html")]
struct SettingsPage {
    c: Ctx,
    store_id: i64,
    stores: Vec<(i64, String)>,
    fields: Vec<SettingField>,
    has_errors: bool,
    saved: bool,
}

/// One input of the settings form: its name, label, hint, the text shown and its error.
struct SettingField {
    key: &'static str,
    label: String,
    hint: Option<String>,
    value: String,
    error: Option<String>,
}

impl SettingField {
    fn is_bool(&self) -> bool {
        self.key == "holiday_vip_only"
    }
    fn checked(&self) -> bool {
        self.value == "true"
    }
}

fn setting_fields(
    values: Vec<(&'static str, String)>,
    errors: &[dealerbase_domain::ValidationError],
    lang: Lang,
) -> Vec<SettingField> {
    values
        .into_iter()
        .map(|(key, value)| {
            let label = i18n::t(&format!("as.set.{key}"), lang).to_string();
            SettingField {
                key,
                hint: {
                    let k = format!("as.hint.{key}");
                    let h = i18n::t(&k, lang);
                    (h != k).then(|| h.to_string())
                },
                error: errors
                    .iter()
                    .find(|e| e.field == key)
                    .map(|e| format!("{label} “{}”: {}", e.value, e.rule.message(lang))),
                label,
                value,
            }
        })
        .collect()
}

fn settings_store(web: &Web, q: Option<&String>, stores: &[(i64, String)]) -> i64 {
    parse_id(&q.cloned())
        .or(web.user.actor.store_id)
        .or(stores.first().map(|s| s.0))
        .unwrap_or(0)
}

async fn settings_stores(s: &AppState, web: &Web) -> Result<Vec<(i64, String)>, PageError> {
    Ok(s.services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

pub async fn settings(State(s): State<AppState>, web: Web, Q(q): Q<SettingsQuery>) -> PageResult {
    let stores = settings_stores(&s, &web).await?;
    let store_id = settings_store(&web, q.store.as_ref(), &stores);
    let current = s
        .services
        .aftersales_settings_of(&web.user.actor, store_id)
        .await
        .map_err(|e| web.err(e))?;
    let page = SettingsPage {
        c: web.ctx("nav.aftersales_kpi"),
        store_id,
        stores,
        fields: setting_fields(current.to_fields(), &[], web.lang()),
        has_errors: false,
        saved: false,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

/// Saves the settings form: each field is parsed and checked by
/// `AftersalesSettings::from_fields`; errors are shown next to their field (422).
pub async fn save_settings(
    State(s): State<AppState>,
    web: Web,
    F(f): F<HashMap<String, String>>,
) -> PageResult {
    web.check_csrf(f.get("_csrf").map(String::as_str).unwrap_or(""))?;
    let lang = web.lang();
    let stores = settings_stores(&s, &web).await?;
    let store_id = settings_store(&web, f.get("store"), &stores);
    let current = s
        .services
        .aftersales_settings_of(&web.user.actor, store_id)
        .await
        .map_err(|e| web.err(e))?;
    let parsed = rules::AftersalesSettings::from_fields(&current, |k| f.get(k).cloned());
    let errors = match parsed {
        Ok(cfg) => match s
            .services
            .set_aftersales_settings(&web.user.actor, store_id, &cfg)
            .await
        {
            Ok(()) => Vec::new(),
            Err(dealerbase_service::ServiceError::Invalid(list)) => list,
            Err(e) => return Err(web.err(e)),
        },
        Err(list) => list,
    };
    // Re-show what was typed, so a mistake can be corrected in place.
    let typed: Vec<(&'static str, String)> = rules::SETTINGS_FIELDS
        .iter()
        .map(|k| {
            let v = match (f.get(*k), *k) {
                (Some(v), _) => v.clone(),
                (None, "holiday_vip_only") => "false".into(),
                (None, _) => String::new(),
            };
            (*k, v)
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SettingsPage {
        c: web.ctx("nav.aftersales_kpi"),
        store_id,
        stores,
        has_errors: !errors.is_empty(),
        saved: errors.is_empty(),
        fields: setting_fields(typed, &errors, lang),
    };
    Ok(render(status, &page, lang))
}
