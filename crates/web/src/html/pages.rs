//! The start page, "today" and the dashboard (the lead pages are in `sales.rs`).

use super::{Ctx, PageResult, Web, chart, i18n, render, start_page};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_service::admin::TodayItem;

pub async fn home(web: Web) -> PageResult {
    Ok(Redirect::to(start_page(web.user.actor.role)).into_response())
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    c: Ctx,
    items: Vec<TodayItem>,
    /// Upcoming calls, overdue leads, defeat approvals and report sign-offs.
    sales: dealerbase_service::sales::SalesToday,
    outcomes: Vec<(String, String)>,
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
    let sales = s
        .services
        .sales_today(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let lang = web.lang();
    let page = TodayPage {
        c: web.ctx("nav.today"),
        items,
        sales,
        outcomes: dealerbase_domain::model::ContactOutcome::ALL
            .iter()
            .map(|o| (o.code().to_string(), o.label(lang).to_string()))
            .collect(),
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
