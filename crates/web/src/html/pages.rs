//! The start page, "today", the dashboard and the lead pages.

use super::{Ctx, PageResult, PathId, Q, Web, chart, i18n, nonempty, render, start_page};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::model::{LeadGrade, LeadStatus};
use dealerbase_service::admin::TodayItem;
use dealerbase_service::records::LeadQuery;
use dealerbase_store::{Lead, Page};
use serde::Deserialize;

pub async fn home(web: Web) -> PageResult {
    Ok(Redirect::to(start_page(web.user.actor.role)).into_response())
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    c: Ctx,
    items: Vec<TodayItem>,
    /// For the export link: the user's open tasks due by today.
    today: String,
    me: i64,
}

pub async fn today(State(s): State<AppState>, web: Web) -> PageResult {
    let items = s
        .services
        .today_list(&web.user.actor, web.lang())
        .await
        .map_err(|e| web.err(e))?;
    let page = TodayPage {
        c: web.ctx("nav.today"),
        items,
        today: s.services.clock.today().to_string(),
        me: web.user.actor.staff_id,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Ctx,
    charts: Vec<(String, String)>,
}

pub async fn dashboard(State(s): State<AppState>, web: Web) -> PageResult {
    let lang = web.lang();
    let d = s
        .services
        .dashboard(&web.user.actor, lang)
        .await
        .map_err(|e| web.err(e))?;
    let t = |k: &str| i18n::t(k, lang).to_string();
    let no_data = t("common.no_data");
    let (labels, values): (Vec<String>, Vec<f64>) = d
        .customers_by_class
        .iter()
        .map(|(_, label, n)| (label.clone(), *n as f64))
        .unzip();
    let by_class = chart::bar(&t("dash.by_class"), &labels, &values, &no_data);
    let (months, counts): (Vec<String>, Vec<f64>) = d
        .work_orders_by_month
        .iter()
        .map(|(m, n)| (m.clone(), *n as f64))
        .unzip();
    let wo = chart::line(&t("dash.wo_by_month"), &months, &counts, &no_data);
    let f = &d.lead_funnel;
    let funnel = chart::funnel(
        &t("dash.funnel"),
        &[
            (t("funnel.leads"), f.leads as f64),
            (t("funnel.test_driven"), f.test_driven as f64),
            (t("funnel.ordered"), f.ordered as f64),
            (t("funnel.delivered"), f.delivered as f64),
        ],
        &no_data,
    );
    let slices: Vec<(String, f64)> = d
        .leads_by_source
        .iter()
        .map(|(l, n)| (l.clone(), *n as f64))
        .collect();
    let sources = chart::pie(&t("dash.sources"), &slices, &no_data);
    let days: Vec<String> = (0..7).map(|i| t(&format!("weekday.{i}"))).collect();
    let hours: Vec<String> = (0..24).map(|h| h.to_string()).collect();
    let grid: Vec<Vec<f64>> = d
        .traffic
        .iter()
        .map(|r| r.iter().map(|v| *v as f64).collect())
        .collect();
    let traffic = chart::heatmap(&t("dash.traffic"), &days, &hours, &grid, &no_data);
    let page = DashboardPage {
        c: web.ctx("nav.dashboard"),
        charts: vec![
            (t("dash.by_class"), by_class),
            (t("dash.wo_by_month"), wo),
            (t("dash.funnel"), funnel),
            (t("dash.sources"), sources),
            (t("dash.traffic"), traffic),
        ],
    };
    Ok(render(StatusCode::OK, &page, lang))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LeadsQuery {
    status: Option<String>,
    grade: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    c: Ctx,
    page: Page<Lead>,
    status: String,
    grade: String,
    statuses: Vec<(String, String)>,
    grades: Vec<(String, String)>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

pub async fn leads(State(s): State<AppState>, web: Web, Q(q): Q<LeadsQuery>) -> PageResult {
    let lang = web.lang();
    // Unknown codes are dropped rather than passed on, so the filter shows what it applies.
    let status = nonempty(&q.status).filter(|v| LeadStatus::parse("", v).is_ok());
    let grade = nonempty(&q.grade).filter(|v| LeadGrade::parse("", v).is_ok());
    let page_no = nonempty(&q.page)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let page = s
        .services
        .list_leads(
            &web.user.actor,
            &LeadQuery {
                status: status.clone(),
                grade: grade.clone(),
                page: Some(page_no),
                per_page: Some(30),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| web.err(e))?;
    let base = format!(
        "/leads?status={}&grade={}",
        super::url_encode(status.as_deref().unwrap_or("")),
        super::url_encode(grade.as_deref().unwrap_or(""))
    );
    let prev_href = (page.page > 1).then(|| format!("{base}&page={}", page.page - 1));
    let next_href = page
        .has_more
        .then(|| format!("{base}&page={}", page.page + 1));
    let out = LeadsPage {
        c: web.ctx("nav.leads"),
        statuses: LeadStatus::ALL
            .iter()
            .map(|s| (s.code().to_string(), s.label(lang).to_string()))
            .collect(),
        grades: LeadGrade::ALL
            .iter()
            .map(|s| (s.code().to_string(), s.label(lang).to_string()))
            .collect(),
        status: status.unwrap_or_default(),
        grade: grade.unwrap_or_default(),
        prev_href,
        next_href,
        page,
    };
    Ok(render(StatusCode::OK, &out, lang))
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    c: Ctx,
    lead: Lead,
}

/// One lead; a lead outside the reader's scope is "not found", like one that does not exist.
pub async fn lead(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    let lead = s
        .services
        .lead(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let page = LeadPage {
        c: web.ctx("nav.leads"),
        lead,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}
