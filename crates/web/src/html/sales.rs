//! The showroom and the leads: the phone-first traffic log, traffic statistics, the lead
//! list and the store pool, the lead page with every action (contact and grade, test
//! drive, invitation, order, delivery, defeat, hand-over, claim), the defeat approval
//! queue, the daily report and its sign-off, the sales analytics, the store's sales
//! settings, and completing tasks from "today". Every handler makes one service call.

use super::{
    Ctx, F, PageError, PageResult, PathId, Q, Web, chart, i18n, nonempty, parse_id, render,
};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::model::*;
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_service::ServiceError;
use dealerbase_service::input::LeadInput;
use dealerbase_service::sales::*;
use dealerbase_store::sales::{DailyReportRow, DefeatRow, LeadView, VisitRow};
use dealerbase_store::{Id, Page, VehicleModel};
use serde::Deserialize;

type Errors = Vec<(String, String)>;

fn errors_of(e: ServiceError, lang: Lang) -> Result<Errors, PageError> {
    match e {
        ServiceError::Invalid(list) => Ok(list
            .iter()
            .map(|e| (e.field.clone(), e.rule.message(lang)))
            .collect()),
        ServiceError::Conflict { field, .. } => Ok(vec![(field.to_string(), e.message(lang))]),
        other => Err(PageError::service(other, lang)),
    }
}

/// Every field any sales form sends (each form uses some); text as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SalesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    channel: Option<String>,
    direction: Option<String>,
    outcome: Option<String>,
    grade: Option<String>,
    note: Option<String>,
    next_follow_up: Option<String>,
    model_id: Option<String>,
    at: Option<String>,
    appointment_on: Option<String>,
    kind: Option<String>,
    price_yuan: Option<String>,
    deposit_yuan: Option<String>,
    expected_delivery: Option<String>,
    vin: Option<String>,
    plate: Option<String>,
    colour: Option<String>,
    delivered_on: Option<String>,
    reason: Option<String>,
    competitor_brand: Option<String>,
    competitor_model: Option<String>,
    to_staff_id: Option<String>,
    done: Option<String>,
    approve: Option<String>,
    comment: Option<String>,
    plan: Option<String>,
    date: Option<String>,
    // the traffic form and the lead form
    arrived_at: Option<String>,
    party_size: Option<String>,
    consultant_id: Option<String>,
    first_visit: Option<String>,
    source: Option<String>,
    source_detail: Option<String>,
    desired_model_id: Option<String>,
    visitor_name: Option<String>,
    name: Option<String>,
    mobile: Option<String>,
    customer_id: Option<String>,
    visit_id: Option<String>,
    // store settings
    store_id: Option<String>,
    cadence_o: Option<String>,
    cadence_h: Option<String>,
    cadence_a: Option<String>,
    cadence_b: Option<String>,
    cadence_c: Option<String>,
    escalate_after_days: Option<String>,
    pool_after_days: Option<String>,
    call_consultant_days: Option<String>,
    call_manager_days: Option<String>,
    call_care_days: Option<String>,
}

impl SalesForm {
    fn v(&self, name: &str) -> String {
        let o = match name {
            "channel" => &self.channel,
            "outcome" => &self.outcome,
            "grade" => &self.grade,
            "note" => &self.note,
            "next_follow_up" => &self.next_follow_up,
            "model_id" => &self.model_id,
            "at" => &self.at,
            "appointment_on" => &self.appointment_on,
            "kind" => &self.kind,
            "price_yuan" => &self.price_yuan,
            "deposit_yuan" => &self.deposit_yuan,
            "expected_delivery" => &self.expected_delivery,
            "vin" => &self.vin,
            "plate" => &self.plate,
            "colour" => &self.colour,
            "delivered_on" => &self.delivered_on,
            "reason" => &self.reason,
            "competitor_brand" => &self.competitor_brand,
            "competitor_model" => &self.competitor_model,
            "comment" => &self.comment,
            "plan" => &self.plan,
            "visitor_name" => &self.visitor_name,
            "name" => &self.name,
            "mobile" => &self.mobile,
            "source" => &self.source,
            "source_detail" => &self.source_detail,
            "party_size" => &self.party_size,
            "desired_model_id" => &self.desired_model_id,
            _ => &None,
        };
        o.clone().unwrap_or_default()
    }
}

/// A number typed into a form: empty is None; anything else must be a number.
fn num(field: &str, raw: &Option<String>, errors: &mut Vec<ValidationError>) -> Option<i64> {
    let t = raw.as_deref().map(str::trim).unwrap_or("");
    if t.is_empty() {
        return None;
    }
    match t.parse::<i64>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(ValidationError::new(
                field,
                t,
                Rule::OutOfRange {
                    min: 0,
                    max: i64::MAX,
                },
            ));
            None
        }
    }
}

fn u32_field(field: &str, raw: &Option<String>, errors: &mut Vec<ValidationError>) -> Option<u32> {
    num(field, raw, errors).and_then(|v| {
        u32::try_from(v).ok().or_else(|| {
            errors.push(ValidationError::new(
                field,
                v.to_string(),
                Rule::OutOfRange { min: 0, max: 365 },
            ));
            None
        })
    })
}

/// Yuan as typed (12.5, 12,000) into fen.
fn yuan_to_fen(
    field: &str,
    raw: &Option<String>,
    errors: &mut Vec<ValidationError>,
) -> Option<i64> {
    let t: String = raw
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    if t.is_empty() {
        return None;
    }
    match t.parse::<f64>() {
        Ok(v) if (0.0..1e11).contains(&v) => Some((v * 100.0).round() as i64),
        _ => {
            errors.push(ValidationError::new(
                field,
                t,
                Rule::OutOfRange {
                    min: 0,
                    max: 1_000_000_000,
                },
            ));
            None
        }
    }
}

fn labels<T: Copy>(
    all: &[T],
    code: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|x| (code(*x).to_string(), label(*x).to_string()))
        .collect()
}

/// A field's name in the user's language (the form labels), else the field itself.
fn field_label(field: &str, lang: Lang) -> String {
    let key = format!("sf.{field}");
    let t = i18n::t(&key, lang);
    if t == key {
        field.to_string()
    } else {
        t.to_string()
    }
}

fn pct(v: &Option<f64>) -> String {
    match v {
        Some(x) => format!("{:.1}%", x * 100.0),
        None => "–".into(),
    }
}

// ---- the showroom ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "showroom.html")]
struct ShowroomPage {
    c: Ctx,
    visits: Vec<VisitRow>,
    models: Vec<VehicleModel>,
    consultants: Vec<(Id, String)>,
    sources: Vec<(String, String)>,
    grades: Vec<(String, String)>,
    f: SalesForm,
    errors: Errors,
    me: Id,
    done: Option<String>,
}

impl ShowroomPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn showroom_page(
    s: &AppState,
    web: &Web,
    f: SalesForm,
    errors: Errors,
    done: Option<String>,
) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let visits = s
        .services
        .visits_of_day(actor, None)
        .await
        .map_err(|e| web.err(e))?;
    let (models, consultants) = s
        .services
        .sales_pickers(actor, None)
        .await
        .map_err(|e| web.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ShowroomPage {
        c: web.ctx("nav.showroom"),
        visits,
        models,
        consultants,
        sources: labels(LeadSource::ALL, |x| x.code(), |x| x.label(lang)),
        grades: labels(
            &[LeadGrade::H, LeadGrade::A, LeadGrade::B, LeadGrade::C],
            |x| x.code(),
            |x| x.label(lang),
        ),
        f,
        errors,
        me: actor.staff_id,
        done,
    };
    Ok(render(status, &page, lang))
}

pub async fn showroom(State(s): State<AppState>, web: Web, Q(q): Q<DoneQuery>) -> PageResult {
    showroom_page(
        &s,
        &web,
        SalesForm::default(),
        Vec::new(),
        nonempty(&q.done),
    )
    .await
}

pub async fn log_visit(State(s): State<AppState>, web: Web, F(f): F<SalesForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let mut bad = Vec::new();
    let input = VisitInput {
        channel: nonempty(&f.channel),
        arrived_at: nonempty(&f.arrived_at),
        party_size: num("party_size", &f.party_size, &mut bad),
        consultant_id: parse_id(&f.consultant_id),
        first_visit: Some(f.first_visit.as_deref() != Some("repeat")),
        source: nonempty(&f.source),
        source_detail: nonempty(&f.source_detail),
        desired_model_id: parse_id(&f.desired_model_id),
        visitor_name: nonempty(&f.visitor_name),
        mobile: nonempty(&f.mobile),
        note: nonempty(&f.note),
        grade: nonempty(&f.grade),
        ..Default::default()
    };
    if !bad.is_empty() {
        let errors = bad
            .iter()
            .map(|e| (e.field.clone(), e.rule.message(lang)))
            .collect();
        return showroom_page(&s, &web, f, errors, None).await;
    }
    match s.services.log_visit(&web.user.actor, &input).await {
        Ok(out) => match (out.lead_created, out.lead_id) {
            (true, Some(l)) => Ok(Redirect::to(&format!("/leads/{l}?new=1")).into_response()),
            _ => Ok(Redirect::to(&format!("/showroom?done={}", out.visit.id)).into_response()),
        },
        Err(e) => {
            let errors = errors_of(e, lang)?;
            showroom_page(&s, &web, f, errors, None).await
        }
    }
}

pub async fn visit_left(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .visit_left(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to("/showroom").into_response())
}

#[derive(Template)]
#[template(path = "showroom_stats.html")]
struct StatsPage {
    c: Ctx,
    stats: TrafficStats,
    from: String,
    to: String,
    charts: Vec<(String, String)>,
}

impl StatsPage {
    fn pct(&self, v: &Option<f64>) -> String {
        pct(v)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PeriodForm {
    from: Option<String>,
    to: Option<String>,
    store: Option<String>,
    source: Option<String>,
    model: Option<String>,
    consultant: Option<String>,
    by: Option<String>,
}

impl PeriodForm {
    fn query(&self) -> PeriodQuery {
        PeriodQuery {
            from: nonempty(&self.from),
            to: nonempty(&self.to),
            store_id: parse_id(&self.store),
            source: nonempty(&self.source),
            model_id: parse_id(&self.model),
            consultant_id: parse_id(&self.consultant),
            by: nonempty(&self.by),
        }
    }
}

pub async fn showroom_stats(
    State(s): State<AppState>,
    web: Web,
    Q(q): Q<PeriodForm>,
) -> PageResult {
    let lang = web.lang();
    let stats = s
        .services
        .traffic_stats(&web.user.actor, &q.query(), lang)
        .await
        .map_err(|e| web.err(e))?;
    let t = |k: &str| i18n::t(k, lang).to_string();
    let no_data = t("common.no_data");
    let hours: Vec<String> = (0..24).map(|h| h.to_string()).collect();
    let by_hour = chart::bar(
        &t("traffic.by_hour"),
        &hours,
        &stats.by_hour.iter().map(|v| *v as f64).collect::<Vec<_>>(),
        &no_data,
    );
    let days: Vec<String> = (0..7).map(|i| t(&format!("weekday.{i}"))).collect();
    let by_weekday = chart::bar(
        &t("traffic.by_weekday"),
        &days,
        &stats
            .by_weekday
            .iter()
            .map(|v| *v as f64)
            .collect::<Vec<_>>(),
        &no_data,
    );
    let (dl, dv): (Vec<String>, Vec<f64>) = stats
        .by_day
        .iter()
        .map(|(d, n)| (d.format("%m-%d").to_string(), *n as f64))
        .unzip();
    let by_day = chart::line(&t("traffic.by_day"), &dl, &dv, &no_data);
    let by_source = chart::pie(
        &t("traffic.by_source"),
        &stats
            .by_source
            .iter()
            .map(|r| (r.label.clone(), r.visits as f64))
            .collect::<Vec<_>>(),
        &no_data,
    );
    let (cl, cv): (Vec<String>, Vec<f64>) = stats
        .by_consultant
        .iter()
        .map(|r| (r.label.clone(), r.visits as f64))
        .unzip();
    let by_consultant = chart::bar(&t("traffic.by_consultant"), &cl, &cv, &no_data);
    let page = StatsPage {
        c: web.ctx("nav.showroom_stats"),
        from: stats.from.to_string(),
        to: stats.to.to_string(),
        charts: vec![
            (t("traffic.by_hour"), by_hour),
            (t("traffic.by_weekday"), by_weekday),
            (t("traffic.by_day"), by_day),
            (t("traffic.by_source"), by_source),
            (t("traffic.by_consultant"), by_consultant),
        ],
        stats,
    };
    Ok(render(StatusCode::OK, &page, lang))
}

// ---- leads -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LeadsQuery {
    status: Option<String>,
    grade: Option<String>,
    source: Option<String>,
    pool: Option<String>,
    overdue: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    c: Ctx,
    page: Page<LeadView>,
    status: String,
    grade: String,
    source: String,
    pool: bool,
    overdue: bool,
    statuses: Vec<(String, String)>,
    grades: Vec<(String, String)>,
    sources: Vec<(String, String)>,
    prev_href: Option<String>,
    next_href: Option<String>,
    today: chrono::NaiveDate,
}

impl LeadsPage {
    fn is_overdue(&self, l: &LeadView) -> bool {
        l.next_follow_up.is_some_and(|d| d < self.today)
            && (l.status == "open" || l.status == "ordered")
    }
}

pub async fn leads(State(s): State<AppState>, web: Web, Q(q): Q<LeadsQuery>) -> PageResult {
    let lang = web.lang();
    let status = nonempty(&q.status).filter(|v| LeadStatus::parse("", v).is_ok());
    let grade = nonempty(&q.grade).filter(|v| LeadGrade::parse("", v).is_ok());
    let source = nonempty(&q.source).filter(|v| LeadSource::parse("", v).is_ok());
    let pool = q.pool.as_deref() == Some("1");
    let overdue = q.overdue.as_deref() == Some("1");
    let page_no = nonempty(&q.page)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let page = s
        .services
        .lead_list(
            &web.user.actor,
            &LeadListQuery {
                status: status.clone(),
                grade: grade.clone(),
                source: source.clone(),
                pool: Some(pool),
                overdue: Some(overdue),
                page: Some(page_no),
                per_page: Some(30),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    let base = format!(
        "/leads?status={}&grade={}&source={}&pool={}&overdue={}",
        super::url_encode(status.as_deref().unwrap_or("")),
        super::url_encode(grade.as_deref().unwrap_or("")),
        super::url_encode(source.as_deref().unwrap_or("")),
        if pool { "1" } else { "" },
        if overdue { "1" } else { "" },
    );
    let out = LeadsPage {
        c: web.ctx("nav.leads"),
        statuses: labels(LeadStatus::ALL, |x| x.code(), |x| x.label(lang)),
        grades: labels(LeadGrade::ALL, |x| x.code(), |x| x.label(lang)),
        sources: labels(LeadSource::ALL, |x| x.code(), |x| x.label(lang)),
        status: status.unwrap_or_default(),
        grade: grade.unwrap_or_default(),
        source: source.unwrap_or_default(),
        pool,
        overdue,
        prev_href: (page.page > 1).then(|| format!("{base}&page={}", page.page - 1)),
        next_href: page
            .has_more
            .then(|| format!("{base}&page={}", page.page + 1)),
        page,
        today: s.services.clock.today(),
    };
    Ok(render(StatusCode::OK, &out, lang))
}

#[derive(Template)]
#[template(path = "lead_form.html")]
struct LeadFormPage {
    c: Ctx,
    f: SalesForm,
    errors: Errors,
    models: Vec<VehicleModel>,
    sources: Vec<(String, String)>,
    grades: Vec<(String, String)>,
    customer_id: String,
    visit_id: String,
}

impl LeadFormPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewLeadQuery {
    customer_id: Option<String>,
    visit_id: Option<String>,
}

async fn lead_form_page(s: &AppState, web: &Web, f: SalesForm, errors: Errors) -> PageResult {
    let lang = web.lang();
    let (models, _) = s
        .services
        .sales_pickers(&web.user.actor, None)
        .await
        .map_err(|e| web.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = LeadFormPage {
        c: web.ctx("nav.leads"),
        customer_id: f.customer_id.clone().unwrap_or_default(),
        visit_id: f.visit_id.clone().unwrap_or_default(),
        f,
        errors,
        models,
        sources: labels(LeadSource::ALL, |x| x.code(), |x| x.label(lang)),
        grades: labels(
            &[LeadGrade::H, LeadGrade::A, LeadGrade::B, LeadGrade::C],
            |x| x.code(),
            |x| x.label(lang),
        ),
    };
    Ok(render(status, &page, lang))
}

pub async fn new_lead_page(
    State(s): State<AppState>,
    web: Web,
    Q(q): Q<NewLeadQuery>,
) -> PageResult {
    let f = SalesForm {
        customer_id: parse_id(&q.customer_id).map(|i| i.to_string()),
        visit_id: parse_id(&q.visit_id).map(|i| i.to_string()),
        ..Default::default()
    };
    lead_form_page(&s, &web, f, Vec::new()).await
}

pub async fn create_lead(State(s): State<AppState>, web: Web, F(f): F<SalesForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = LeadInput {
        customer_id: parse_id(&f.customer_id),
        grade: nonempty(&f.grade),
        source: nonempty(&f.source),
        source_detail: nonempty(&f.source_detail),
        desired_model_id: parse_id(&f.desired_model_id),
        name: nonempty(&f.name),
        mobile: nonempty(&f.mobile),
        visit_id: parse_id(&f.visit_id),
        channel: nonempty(&f.channel),
        note: nonempty(&f.note),
        ..Default::default()
    };
    match s.services.register_lead(&web.user.actor, &input).await {
        Ok(l) => Ok(Redirect::to(&format!("/leads/{}?new=1", l.id)).into_response()),
        Err(e) => {
            let errors = errors_of(e, web.lang())?;
            lead_form_page(&s, &web, f, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    c: Ctx,
    d: LeadDetail,
    models: Vec<VehicleModel>,
    consultants: Vec<(Id, String)>,
    grades: Vec<(String, String)>,
    outcomes: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    reasons: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    /// Which form failed, its errors and what was typed.
    failed: String,
    errors: Errors,
    f: SalesForm,
    is_manager: bool,
    is_consultant: bool,
    is_open: bool,
    is_ordered: bool,
    in_pool: bool,
    today: String,
    fresh: bool,
}

impl LeadPage {
    fn err(&self, form: &str, field: &str) -> Option<String> {
        if self.failed != form {
            return None;
        }
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
    }
    fn form_errors(&self, form: &str) -> Vec<String> {
        if self.failed != form {
            return Vec::new();
        }
        self.errors
            .iter()
            .map(|(f, m)| format!("{}: {m}", field_label(f, self.c.lang)))
            .collect()
    }
    /// What was typed into a field of the failed form (empty for the others).
    fn typed(&self, form: &str, field: &str) -> String {
        if self.failed == form {
            self.f.v(field)
        } else {
            String::new()
        }
    }
    fn model_name(&self, id: impl std::borrow::Borrow<i64>) -> String {
        let id = *id.borrow();
        self.models
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.name.clone())
            .unwrap_or_default()
    }
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.c.yuan(*fen.borrow())
    }
    fn is_desired(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.d.lead.desired_model_id == Some(*id.borrow())
    }
    fn is_owner(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.d.lead.owner_id == Some(*id.borrow())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LeadQuery {
    new: Option<String>,
}

async fn lead_page(
    s: &AppState,
    web: &Web,
    id: Id,
    failed: &str,
    f: SalesForm,
    errors: Errors,
    fresh: bool,
) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let d = s
        .services
        .lead_detail(actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let (models, consultants) = s
        .services
        .sales_pickers(actor, Some(d.lead.store_id))
        .await
        .map_err(|e| web.err(e))?;
    let status = LeadStatus::parse("", &d.lead.status).ok();
    let page = LeadPage {
        c: web.ctx("nav.leads"),
        models,
        consultants,
        grades: labels(LeadGrade::ALL, |x| x.code(), |x| x.label(lang)),
        outcomes: labels(ContactOutcome::ALL, |x| x.code(), |x| x.label(lang)),
        channels: labels(ContactChannel::ALL, |x| x.code(), |x| x.label(lang)),
        reasons: labels(DefeatReason::ALL, |x| x.code(), |x| x.label(lang)),
        kinds: labels(SalesOrderKind::ALL, |x| x.code(), |x| x.label(lang)),
        failed: failed.to_string(),
        is_manager: matches!(
            actor.role,
            Role::SalesManager | Role::GeneralManager | Role::Admin
        ),
        is_consultant: actor.role == Role::SalesConsultant,
        is_open: status == Some(LeadStatus::Open),
        is_ordered: status == Some(LeadStatus::Ordered),
        in_pool: d.lead.owner_id.is_none() && status == Some(LeadStatus::Open),
        today: s.services.clock.today().to_string(),
        fresh,
        d,
        errors,
        f,
    };
    let code = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(code, &page, lang))
}

pub async fn lead(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    Q(q): Q<LeadQuery>,
) -> PageResult {
    lead_page(
        &s,
        &web,
        id,
        "",
        SalesForm::default(),
        Vec::new(),
        q.new.is_some(),
    )
    .await
}

/// Runs a lead action; on a validation error the lead page comes back with the form's
/// errors and what was typed, otherwise the browser goes back to the lead.
async fn lead_action<T>(
    s: &AppState,
    web: &Web,
    lead_id: Id,
    form: &str,
    f: SalesForm,
    bad: Vec<ValidationError>,
    result: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> PageResult {
    let lang = web.lang();
    let outcome = if bad.is_empty() {
        result.await.map(|_| ())
    } else {
        Err(ServiceError::Invalid(bad))
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/leads/{lead_id}#{form}")).into_response()),
        Err(e) => {
            let errors = errors_of(e, lang)?;
            lead_page(s, web, lead_id, form, f, errors, false).await
        }
    }
}

pub async fn lead_contact(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = ContactInput {
        channel: nonempty(&f.channel),
        direction: nonempty(&f.direction),
        outcome: nonempty(&f.outcome),
        grade: nonempty(&f.grade),
        note: nonempty(&f.note),
        next_follow_up: nonempty(&f.next_follow_up),
    };
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, id, "contact", f, Vec::new(), async move {
        svc.record_contact(&actor, id, &input).await
    })
    .await
}

pub async fn lead_assign(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = AssignInput {
        to_staff_id: parse_id(&f.to_staff_id),
        reason: nonempty(&f.note),
    };
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, id, "assign", f, Vec::new(), async move {
        svc.assign_lead(&actor, id, &input).await
    })
    .await
}

pub async fn lead_claim(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, id, "claim", f, Vec::new(), async move {
        svc.claim_lead(&actor, id).await
    })
    .await
}

pub async fn lead_test_drive(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = TestDriveInput {
        model_id: parse_id(&f.model_id),
        at: nonempty(&f.at),
    };
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, id, "test-drive", f, Vec::new(), async move {
        svc.book_test_drive(&actor, id, &input).await
    })
    .await
}

pub async fn test_drive_finish(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let done = f.done.as_deref() != Some("0");
    let td = s
        .services
        .finish_test_drive(&web.user.actor, id, done)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!("/leads/{}#test-drive", td.lead_id)).into_response())
}

pub async fn lead_invite(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = InvitationInput {
        appointment_on: nonempty(&f.appointment_on),
    };
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, id, "invite", f, Vec::new(), async move {
        svc.invite(&actor, id, &input).await
    })
    .await
}

pub async fn invitation_outcome(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let showed = f.done.as_deref() != Some("0");
    let inv = s
        .services
        .invitation_outcome(&web.user.actor, id, showed)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!("/leads/{}#invite", inv.lead_id)).into_response())
}

pub async fn lead_order(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let mut bad = Vec::new();
    let input = OrderInput {
        model_id: parse_id(&f.model_id),
        kind: nonempty(&f.kind),
        price_fen: yuan_to_fen("price_fen", &f.price_yuan, &mut bad),
        deposit_fen: yuan_to_fen("deposit_fen", &f.deposit_yuan, &mut bad),
        expected_delivery: nonempty(&f.expected_delivery),
    };
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, id, "order", f, bad, async move {
        svc.take_order(&actor, id, &input).await
    })
    .await
}

pub async fn order_deliver(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let order = s
        .services
        .sales_order_for(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let Some(lead_id) = order.lead_id else {
        return Err(PageError::status(
            StatusCode::NOT_FOUND,
            lang,
            "error.not_found",
        ));
    };
    let input = DeliveryInput {
        vin: nonempty(&f.vin),
        plate: nonempty(&f.plate),
        colour: nonempty(&f.colour),
        delivered_on: nonempty(&f.delivered_on),
    };
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, lead_id, "deliver", f, Vec::new(), async move {
        svc.deliver(&actor, id, &input).await
    })
    .await
}

pub async fn lead_defeat(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = DefeatInput {
        reason: nonempty(&f.reason),
        competitor_brand: nonempty(&f.competitor_brand),
        competitor_model: nonempty(&f.competitor_model),
        note: nonempty(&f.note),
    };
    let svc = s.services.clone();
    let actor = web.user.actor.clone();
    lead_action(&s, &web, id, "defeat", f, Vec::new(), async move {
        svc.request_defeat(&actor, id, &input).await
    })
    .await
}

// ---- defeat approvals --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "defeats.html")]
struct DefeatsPage {
    c: Ctx,
    rows: Vec<DefeatRow>,
    errors: Errors,
    failed: Id,
}

pub async fn defeats(State(s): State<AppState>, web: Web) -> PageResult {
    defeats_page(&s, &web, 0, Vec::new()).await
}

async fn defeats_page(s: &AppState, web: &Web, failed: Id, errors: Errors) -> PageResult {
    let rows = s
        .services
        .defeat_queue(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(
        status,
        &DefeatsPage {
            c: web.ctx("nav.defeats"),
            rows,
            errors,
            failed,
        },
        web.lang(),
    ))
}

pub async fn decide_defeat(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = DefeatDecision {
        approve: f.approve.as_deref().map(|a| a == "1"),
        comment: nonempty(&f.comment),
    };
    match s.services.decide_defeat(&web.user.actor, id, &input).await {
        Ok(_) => Ok(Redirect::to("/defeats").into_response()),
        Err(e) => {
            let errors = errors_of(e, web.lang())?;
            defeats_page(&s, &web, id, errors).await
        }
    }
}

// ---- daily report ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "daily_report.html")]
struct DailyReportPage {
    c: Ctx,
    view: Option<DailyReportView>,
    reports: Vec<DailyReportRow>,
    errors: Errors,
    plan: String,
    is_manager: bool,
}

impl DailyReportPage {
    fn grade_count(&self, f: &ReportFigures, i: impl std::borrow::Borrow<usize>) -> i64 {
        f.open_by_grade.get(*i.borrow()).copied().unwrap_or(0)
    }
    fn day_grade(&self, f: &ReportFigures, i: impl std::borrow::Borrow<usize>) -> u32 {
        f.day.by_grade.get(*i.borrow()).copied().unwrap_or(0)
    }
}

async fn daily_report_page(
    s: &AppState,
    web: &Web,
    errors: Errors,
    plan: Option<String>,
) -> PageResult {
    let actor = &web.user.actor;
    let is_consultant = actor.role == Role::SalesConsultant;
    let is_manager = matches!(
        actor.role,
        Role::SalesManager | Role::GeneralManager | Role::Admin
    );
    let view = if is_consultant {
        Some(
            s.services
                .daily_report_view(actor, None)
                .await
                .map_err(|e| web.err(e))?,
        )
    } else {
        None
    };
    let reports = s
        .services
        .daily_reports(actor, false)
        .await
        .map_err(|e| web.err(e))?;
    let plan = plan
        .or_else(|| {
            view.as_ref()
                .and_then(|v| v.submitted.as_ref().map(|r| r.plan.clone()))
        })
        .unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = DailyReportPage {
        c: web.ctx("nav.daily_report"),
        view,
        reports,
        errors,
        plan,
        is_manager,
    };
    Ok(render(status, &page, web.lang()))
}

pub async fn daily_report(State(s): State<AppState>, web: Web) -> PageResult {
    daily_report_page(&s, &web, Vec::new(), None).await
}

pub async fn submit_daily_report(
    State(s): State<AppState>,
    web: Web,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = DailyReportInput {
        date: nonempty(&f.date),
        plan: nonempty(&f.plan),
    };
    match s
        .services
        .submit_daily_report(&web.user.actor, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to("/reports/daily").into_response()),
        Err(e) => {
            let errors = errors_of(e, web.lang())?;
            daily_report_page(&s, &web, errors, f.plan.clone()).await
        }
    }
}

#[derive(Template)]
#[template(path = "daily_report_one.html")]
struct OneReportPage {
    c: Ctx,
    r: DailyReportRow,
    figures: Option<ReportFigures>,
    is_manager: bool,
    errors: Errors,
}

impl OneReportPage {
    fn grade_count(&self, f: &ReportFigures, i: impl std::borrow::Borrow<usize>) -> i64 {
        f.open_by_grade.get(*i.borrow()).copied().unwrap_or(0)
    }
    fn day_grade(&self, f: &ReportFigures, i: impl std::borrow::Borrow<usize>) -> u32 {
        f.day.by_grade.get(*i.borrow()).copied().unwrap_or(0)
    }
}

pub async fn one_daily_report(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
) -> PageResult {
    let (r, figures) = s
        .services
        .daily_report(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let is_manager = matches!(
        web.user.actor.role,
        Role::SalesManager | Role::GeneralManager | Role::Admin
    );
    Ok(render(
        StatusCode::OK,
        &OneReportPage {
            c: web.ctx("nav.daily_report"),
            r,
            figures,
            is_manager,
            errors: Vec::new(),
        },
        web.lang(),
    ))
}

pub async fn sign_daily_report(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = SignInput {
        comment: nonempty(&f.comment),
    };
    match s
        .services
        .sign_daily_report(&web.user.actor, id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/reports/daily/{id}")).into_response()),
        Err(e) => {
            let errors = errors_of(e, web.lang())?;
            let (r, figures) = s
                .services
                .daily_report(&web.user.actor, id)
                .await
                .map_err(|e| web.err(e))?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &OneReportPage {
                    c: web.ctx("nav.daily_report"),
                    r,
                    figures,
                    is_manager: true,
                    errors,
                },
                web.lang(),
            ))
        }
    }
}

// ---- analytics ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sales_analytics.html")]
struct AnalyticsPage {
    c: Ctx,
    a: SalesAnalytics,
    charts: Vec<(String, String)>,
    q: PeriodEcho,
    stores: Vec<(Id, String)>,
    models: Vec<VehicleModel>,
    sources: Vec<(String, String)>,
    consultants: Vec<(Id, String)>,
    dims: Vec<(&'static str, &'static str)>,
}

struct PeriodEcho {
    from: String,
    to: String,
    store: String,
    source: String,
    model: String,
    consultant: String,
    by: String,
}

impl AnalyticsPage {
    fn pct(&self, v: &Option<f64>) -> String {
        pct(v)
    }
    fn share(&self, v: &f64) -> String {
        format!("{:.1}%", v * 100.0)
    }
    fn dec(&self, v: &f64) -> String {
        format!("{v:.1}")
    }
    fn grade_label(&self, g: &str) -> String {
        self.c.code("grade", g)
    }
}

pub async fn analytics(State(s): State<AppState>, web: Web, Q(q): Q<PeriodForm>) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let a = s
        .services
        .sales_analytics(actor, &q.query(), lang)
        .await
        .map_err(|e| web.err(e))?;
    let t = |k: &str| i18n::t(k, lang).to_string();
    let no_data = t("common.no_data");
    let tc = &a.total.counts;
    let funnel = chart::funnel(
        &t("sales.funnel"),
        &[
            (t("sales.traffic"), tc.traffic as f64),
            (t("sales.registered"), tc.registered as f64),
            (t("sales.test_drives"), tc.test_drives as f64),
            (t("sales.orders"), tc.orders as f64),
            (t("sales.deliveries"), tc.deliveries as f64),
        ],
        &no_data,
    );
    let rate_labels: Vec<String> = [
        "sales.registration",
        "sales.invitation",
        "sales.test_drive_rate",
        "sales.conversion",
        "sales.defeat_rate",
        "sales.clarity",
    ]
    .iter()
    .map(|k| t(k))
    .collect();
    let r = &a.total.rates;
    let rate_values: Vec<f64> = [
        r.registration,
        r.invitation_show_up,
        r.test_drive,
        r.conversion,
        r.defeat,
        r.defeat_clarity,
    ]
    .iter()
    .map(|v| (v.unwrap_or(0.0) * 1000.0).round() / 10.0)
    .collect();
    let rates = chart::bar(&t("sales.rates_pct"), &rate_labels, &rate_values, &no_data);
    let reasons = chart::pie(
        &t("sales.defeat_reasons"),
        &a.defeat_reasons
            .iter()
            .map(|(_, l, n)| (l.clone(), *n as f64))
            .collect::<Vec<_>>(),
        &no_data,
    );
    let competitors = chart::pie(
        &t("sales.competitors"),
        &a.competitors
            .iter()
            .take(8)
            .map(|(b, m, n, _)| (format!("{b} {m}"), *n as f64))
            .collect::<Vec<_>>(),
        &no_data,
    );
    let (bl, bv): (Vec<String>, Vec<f64>) = a
        .rows
        .iter()
        .take(12)
        .map(|r| (r.label.clone(), r.counts.orders as f64))
        .unzip();
    let orders_by = chart::bar(&t("sales.orders_by"), &bl, &bv, &no_data);
    let (fl, fv): (Vec<String>, Vec<f64>) = a
        .forecast
        .lines
        .iter()
        .map(|l| (l.grade.clone(), (l.expected_orders * 10.0).round() / 10.0))
        .unzip();
    let forecast = chart::bar(&t("sales.forecast"), &fl, &fv, &no_data);
    let stores = s
        .services
        .stores(actor)
        .await
        .map_err(|e| web.err(e))?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let (models, consultants) = s
        .services
        .sales_pickers(actor, parse_id(&q.store))
        .await
        .map_err(|e| web.err(e))?;
    let page = AnalyticsPage {
        c: web.ctx("nav.analytics"),
        charts: vec![
            (t("sales.funnel"), funnel),
            (t("sales.rates_pct"), rates),
            (t("sales.orders_by"), orders_by),
            (t("sales.defeat_reasons"), reasons),
            (t("sales.competitors"), competitors),
            (t("sales.forecast"), forecast),
        ],
        q: PeriodEcho {
            from: a.from.to_string(),
            to: a.to.to_string(),
            store: q.store.clone().unwrap_or_default(),
            source: q.source.clone().unwrap_or_default(),
            model: q.model.clone().unwrap_or_default(),
            consultant: q.consultant.clone().unwrap_or_default(),
            by: match a.by {
                dealerbase_store::sales::SalesDimension::Store => "store",
                dealerbase_store::sales::SalesDimension::Source => "source",
                dealerbase_store::sales::SalesDimension::Model => "model",
                dealerbase_store::sales::SalesDimension::Consultant => "consultant",
            }
            .into(),
        },
        stores,
        models,
        consultants,
        sources: labels(LeadSource::ALL, |x| x.code(), |x| x.label(lang)),
        dims: vec![
            ("store", "common.store"),
            ("source", "f.lead_source"),
            ("model", "sales.model"),
            ("consultant", "sales.consultant"),
        ],
        a,
    };
    Ok(render(StatusCode::OK, &page, lang))
}

// ---- settings ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sales_settings.html")]
struct SettingsPage {
    c: Ctx,
    store_id: Id,
    stores: Vec<(Id, String)>,
    form: SalesSettingsForm,
    errors: Errors,
    saved: bool,
}

impl SettingsPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
    }
    fn val(&self, v: impl std::borrow::Borrow<Option<u32>>) -> String {
        v.borrow().map(|x| x.to_string()).unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StoreQuery {
    store: Option<String>,
    saved: Option<String>,
}

pub async fn settings(State(s): State<AppState>, web: Web, Q(q): Q<StoreQuery>) -> PageResult {
    let actor = &web.user.actor;
    let stores: Vec<(Id, String)> = s
        .services
        .stores(actor)
        .await
        .map_err(|e| web.err(e))?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let store_id = parse_id(&q.store)
        .or(actor.store_id)
        .or(stores.first().map(|s| s.0))
        .unwrap_or(0);
    let form = s
        .services
        .sales_settings_form(actor, store_id)
        .await
        .map_err(|e| web.err(e))?;
    let page = SettingsPage {
        c: web.ctx("nav.sales_settings"),
        store_id,
        stores,
        form,
        errors: Vec::new(),
        saved: q.saved.is_some(),
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

pub async fn save_settings(State(s): State<AppState>, web: Web, F(f): F<SalesForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let actor = &web.user.actor;
    let store_id = parse_id(&f.store_id).or(actor.store_id).unwrap_or(0);
    let mut bad = Vec::new();
    let form = SalesSettingsForm {
        cadence_o: u32_field("cadence.O", &f.cadence_o, &mut bad),
        cadence_h: u32_field("cadence.H", &f.cadence_h, &mut bad),
        cadence_a: u32_field("cadence.A", &f.cadence_a, &mut bad),
        cadence_b: u32_field("cadence.B", &f.cadence_b, &mut bad),
        cadence_c: u32_field("cadence.C", &f.cadence_c, &mut bad),
        escalate_after_days: u32_field("escalate_after_days", &f.escalate_after_days, &mut bad),
        pool_after_days: u32_field("pool_after_days", &f.pool_after_days, &mut bad),
        call_consultant_days: u32_field(
            "delivery_calls.consultant",
            &f.call_consultant_days,
            &mut bad,
        ),
        call_manager_days: u32_field("delivery_calls.manager", &f.call_manager_days, &mut bad),
        call_care_days: u32_field("delivery_calls.care", &f.call_care_days, &mut bad),
    };
    let result = if bad.is_empty() {
        s.services
            .update_sales_settings(actor, store_id, &form)
            .await
    } else {
        Err(ServiceError::Invalid(bad))
    };
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/settings/sales?store={store_id}&saved=1")).into_response())
        }
        Err(e) => {
            let errors = errors_of(e, lang)?;
            let stores = s
                .services
                .stores(actor)
                .await
                .map_err(|e| web.err(e))?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect();
            let page = SettingsPage {
                c: web.ctx("nav.sales_settings"),
                store_id,
                stores,
                form,
                errors,
                saved: false,
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, lang))
        }
    }
}

// ---- tasks -------------------------------------------------------------------------------

pub async fn complete_task(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<SalesForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = TaskCompletion {
        outcome: nonempty(&f.outcome),
        note: nonempty(&f.note),
    };
    s.services
        .complete_sales_task(&web.user.actor, id, &input)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to("/today").into_response())
}
