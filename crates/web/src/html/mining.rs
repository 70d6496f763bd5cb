//! The mining dashboard (`/mining`, the group or one store), the scored-customer list that
//! is a campaign target list (`/mining/customers`, with export and "create call list"), and
//! the administrator's "run now". Charts are drawn here from the service's numbers.

use super::CsrfForm;
use super::chart::{self, Series, XyOptions};
use super::{Ctx, F, PageResult, Q, Web, i18n, nonempty, parse_id, render, url_encode};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use dealerbase_domain::Lang;
use dealerbase_domain::model::Role;
use dealerbase_service::mining_views::{
    CallListInput, CallListReport, MiningDashboard, MiningRunRequest, ScoreQuery, StoreChoice,
};
use dealerbase_store::Page;
use dealerbase_store::mining_views::{MiningRule, ScoredCustomer};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DashQuery {
    store: Option<String>,
    started: Option<String>,
}

/// A metric of a model-quality table: label and formatted value.
pub struct Metric {
    pub key: &'static str,
    pub value: String,
}

/// A row of a calibration table.
pub struct CalRow {
    pub bin: i64,
    pub count: i64,
    pub predicted: String,
    pub observed: String,
}

/// A row of the campaign-response table.
pub struct ResponseRow {
    pub months: String,
    pub contacted: i64,
    pub responded: i64,
    pub rate: String,
}

#[derive(Template)]
#[template(path = "mining.html")]
struct DashPage {
    c: Ctx,
    d: Option<MiningDashboard>,
    is_admin: bool,
    running: bool,
    notice: Option<&'static str>,
    store: String,
    stores: Vec<StoreChoice>,
    list_href: String,
    charts: Vec<(String, String, &'static str)>,
    pareto: Vec<(String, String)>,
    churn_metrics: Vec<Metric>,
    churn_calibration: Vec<CalRow>,
    trade_metrics: Vec<Metric>,
    trade_calibration: Vec<CalRow>,
    rules: Vec<MiningRule>,
    response: Vec<ResponseRow>,
    response_note: String,
    loyalty: Vec<(String, i64)>,
}

impl DashPage {
    /// "近期 高 · 频次 低 · 消费 中" from the cluster's levels.
    fn levels(&self, levels: &[String]) -> String {
        let lang = self.c.lang;
        ["mining.recency", "mining.visits", "mining.spend"]
            .iter()
            .zip(levels)
            .map(|(k, l)| {
                format!(
                    "{} {}",
                    i18n::t(k, lang),
                    i18n::t(&format!("mining.level_{l}"), lang)
                )
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
    fn pct(&self, v: impl std::borrow::Borrow<f64>) -> String {
        pct(*v.borrow())
    }
    fn segment_href(&self, code: &str) -> String {
        format!("{}&segment={code}", self.list_href)
    }
    fn tier_href(&self, code: &str) -> String {
        format!("{}&tier={code}", self.list_href)
    }
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "–".into()
    }
}

fn num3(v: &Value) -> String {
    v.as_f64().map_or_else(|| "–".into(), |x| format!("{x:.3}"))
}

fn calibration(v: &Value) -> Vec<CalRow> {
    v.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| CalRow {
                    bin: r["bin"].as_i64().unwrap_or(0) + 1,
                    count: r["count"].as_i64().unwrap_or(0),
                    predicted: pct(r["mean_predicted"].as_f64().unwrap_or(f64::NAN)),
                    observed: pct(r["observed_rate"].as_f64().unwrap_or(f64::NAN)),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Kaplan-Meier curves of one cohort kind and service number as chart series.
fn km_series(
    retention: &Value,
    cohort: &str,
    service: i64,
    name: impl Fn(i64) -> String,
) -> Vec<Series> {
    let Some(per_service) = retention[cohort].as_array() else {
        return Vec::new();
    };
    per_service
        .iter()
        .filter(|s| s["service"].as_i64() == Some(service))
        .flat_map(|s| s["curves"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            let t: Vec<f64> = serde_json::from_value(c["time"].clone()).unwrap_or_default();
            let sv: Vec<f64> = serde_json::from_value(c["survival"].clone()).unwrap_or_default();
            // A curve starts at 100% at delivery.
            let mut points = vec![(0.0, 1.0)];
            points.extend(t.into_iter().zip(sv));
            Series {
                name: name(c["group"].as_i64().unwrap_or(0)),
                points,
            }
        })
        .collect()
}

/// The `n` model cohorts with the most cars delivered, as curves to the 1st service,
/// named by the model.
fn top_model_curves(d: &MiningDashboard, n: usize) -> Vec<Series> {
    let size = |s: &Series| s.points.len();
    let names: std::collections::HashMap<i64, &str> = d
        .model_names
        .iter()
        .map(|(id, n)| (*id, n.as_str()))
        .collect();
    // Cohort size = cars at risk at the first time point.
    let mut sized: Vec<(i64, Series)> = d.retention["model"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["service"].as_i64() == Some(1))
        .flat_map(|s| s["curves"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            let at_risk = c["at_risk"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let t: Vec<f64> = serde_json::from_value(c["time"].clone()).unwrap_or_default();
            let sv: Vec<f64> = serde_json::from_value(c["survival"].clone()).unwrap_or_default();
            let mut points = vec![(0.0, 1.0)];
            points.extend(t.into_iter().zip(sv));
            let id = c["group"].as_i64().unwrap_or(0);
            let name = names
                .get(&id)
                .map_or_else(|| id.to_string(), |n| (*n).to_string());
            (at_risk, Series { name, points })
        })
        .collect();
    sized.sort_by(|a, b| b.0.cmp(&a.0).then(size(&b.1).cmp(&size(&a.1))));
    sized.into_iter().take(n).map(|(_, s)| s).collect()
}

fn charts(d: &MiningDashboard, lang: Lang) -> Vec<(String, String, &'static str)> {
    let t = |k: &str| i18n::t(k, lang).to_string();
    let no_data = t("common.no_data");
    let a = &d.aggregates;
    let mut out = Vec::new();
    let (labels, values): (Vec<String>, Vec<f64>) = a
        .segments
        .iter()
        .map(|s| (s.label.clone(), s.customers as f64))
        .unzip();
    out.push((
        t("mining.segments"),
        chart::bar(&t("mining.segments"), &labels, &values, &no_data),
        "chart-segments",
    ));
    let levels: Vec<(String, f64, String)> = a
        .tiers
        .iter()
        .map(|x| {
            (
                x.label.clone(),
                x.customers as f64,
                format!("{} {}", t("mining.revenue_share"), pct(x.revenue_share)),
            )
        })
        .collect();
    out.push((
        t("mining.pyramid"),
        chart::pyramid(&t("mining.pyramid"), &levels, &no_data),
        "chart-pyramid",
    ));
    let gini = d
        .gini
        .map(|g| format!("{g:.3}"))
        .unwrap_or_else(|| "–".into());
    let lorenz_title = format!("{} (Gini {gini})", t("mining.lorenz"));
    out.push((
        lorenz_title.clone(),
        chart::xy_lines(
            &lorenz_title,
            &[Series {
                name: t("mining.lorenz"),
                points: d.lorenz.clone(),
            }],
            &XyOptions {
                x_label: i18n::t("mining.customer_share", lang),
                y_max: Some(1.0),
                percent: true,
                diagonal: Some(i18n::t("mining.equality", lang)),
                ..Default::default()
            },
            &no_data,
        ),
        "chart-lorenz",
    ));
    // Retention: the chosen store's curves, or the group's by purchase year.
    let month = i18n::t("mining.months_after_delivery", lang);
    for service in 1..=3i64 {
        let key = format!("mining.retention_{service}");
        let series = if let Some(name) = &d.store_name {
            km_series(&d.retention, "store", service, |_| name.clone())
        } else {
            km_series(&d.retention, "purchase_year", service, |y| y.to_string())
        };
        out.push((
            t(&key),
            chart::xy_lines(
                &t(&key),
                &series,
                &XyOptions {
                    x_label: month,
                    y_max: Some(1.0),
                    percent: true,
                    step: true,
                    ..Default::default()
                },
                &no_data,
            ),
            "chart-retention",
        ));
    }
    // The group's largest model cohorts to the 1st service (group view only: a store's
    // staff see their own store's curves above).
    if d.store_name.is_none() {
        let series = top_model_curves(d, 6);
        let title = t("mining.retention_by_model");
        out.push((
            title.clone(),
            chart::xy_lines(
                &title,
                &series,
                &XyOptions {
                    x_label: month,
                    y_max: Some(1.0),
                    percent: true,
                    step: true,
                    ..Default::default()
                },
                &no_data,
            ),
            "chart-retention-model",
        ));
    }
    let rc = &d.retention["return_curve"];
    let times: Vec<f64> = serde_json::from_value(rc["time"].clone()).unwrap_or_default();
    let surv: Vec<f64> = serde_json::from_value(rc["survival"].clone()).unwrap_or_default();
    let mut points = vec![(0.0, 1.0)];
    points.extend(times.into_iter().zip(surv));
    out.push((
        t("mining.return_curve"),
        chart::xy_lines(
            &t("mining.return_curve"),
            &[Series {
                name: t("mining.not_yet_returned"),
                points,
            }],
            &XyOptions {
                x_label: i18n::t("mining.months_since_visit", lang),
                y_max: Some(1.0),
                percent: true,
                step: true,
                marker: d
                    .critical_month
                    .map(|m| (m, format!("{} {m:.0}", t("mining.critical_point")))),
                ..Default::default()
            },
            &no_data,
        ),
        "chart-return",
    ));
    let labels: Vec<String> = (0..10)
        .map(|i| format!("{}–{}%", i * 10, i * 10 + 10))
        .collect();
    let values: Vec<f64> = a.churn_deciles.iter().map(|&v| v as f64).collect();
    out.push((
        t("mining.churn_distribution"),
        chart::bar(&t("mining.churn_distribution"), &labels, &values, &no_data),
        "chart-churn",
    ));
    let rows = &d.campaign_response.rows;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| response_months(r["months"].as_i64().unwrap_or(0), lang))
        .collect();
    let values: Vec<f64> = rows
        .iter()
        .map(|r| (r["rate"].as_f64().unwrap_or(0.0) * 1000.0).round() / 10.0)
        .collect();
    out.push((
        t("mining.campaign_response"),
        chart::bar(
            &format!("{} (%)", t("mining.campaign_response")),
            &labels,
            &values,
            &no_data,
        ),
        "chart-response",
    ));
    let grid = |code: &str| {
        d.loyalty
            .iter()
            .find(|l| l.code == code)
            .map_or(0.0, |l| l.customers as f64)
    };
    out.push((
        t("mining.loyalty"),
        chart::heatmap(
            &t("mining.loyalty"),
            &[
                t("mining.product_satisfied"),
                t("mining.product_unsatisfied"),
            ],
            &[
                t("mining.service_satisfied"),
                t("mining.service_unsatisfied"),
            ],
            &[
                vec![grid("loyal"), grid("vulnerable")],
                vec![grid("hopeful"), grid("destructive")],
            ],
            &no_data,
        ),
        "chart-loyalty",
    ));
    out
}

fn response_months(m: i64, lang: Lang) -> String {
    let max = i64::from(dealerbase_service::mining::RESPONSE_MAX_MONTHS);
    match (m >= max, lang) {
        (true, Lang::Zh) => format!("≥{m}个月"),
        (true, Lang::En) => format!("≥{m} mo"),
        (false, Lang::Zh) => format!("{m}个月"),
        (false, Lang::En) => format!("{m} mo"),
    }
}

pub async fn dashboard(State(s): State<AppState>, web: Web, Q(q): Q<DashQuery>) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let store = parse_id(&q.store);
    let d = s
        .services
        .mining_dashboard(actor, store, lang)
        .await
        .map_err(|e| web.err(e))?;
    let running = s
        .services
        .mining_run_in_progress()
        .await
        .map_err(|e| web.err(e))?
        .is_some();
    let notice = match nonempty(&q.started).as_deref() {
        Some("start") => Some("mining.run_started"),
        Some("done") => Some("mining.run_done_today"),
        Some("running") => Some("mining.run_running"),
        _ => None,
    };
    let mut page = DashPage {
        c: web.ctx("nav.mining"),
        is_admin: actor.role == Role::Admin,
        running,
        notice,
        store: store.map(|v| v.to_string()).unwrap_or_default(),
        stores: Vec::new(),
        list_href: format!(
            "/mining/customers?store={}",
            store.map(|v| v.to_string()).unwrap_or_default()
        ),
        charts: Vec::new(),
        pareto: Vec::new(),
        churn_metrics: Vec::new(),
        churn_calibration: Vec::new(),
        trade_metrics: Vec::new(),
        trade_calibration: Vec::new(),
        rules: Vec::new(),
        response: Vec::new(),
        response_note: String::new(),
        loyalty: Vec::new(),
        d: None,
    };
    if let Some(d) = d {
        page.charts = charts(&d, lang);
        page.stores = d.stores.clone();
        page.pareto = d
            .pareto
            .iter()
            .map(|r| {
                (
                    pct(r["customer_share"].as_f64().unwrap_or(f64::NAN)),
                    pct(r["revenue_share"].as_f64().unwrap_or(f64::NAN)),
                )
            })
            .collect();
        let churn = &d.models["churn"];
        page.churn_metrics = vec![
            Metric {
                key: "mining.auc",
                value: num3(&churn["auc"]),
            },
            Metric {
                key: "mining.recency_auc",
                value: num3(&churn["recency_auc"]),
            },
            Metric {
                key: "mining.p_alive_auc",
                value: num3(&churn["p_alive_auc"]),
            },
            Metric {
                key: "mining.brier",
                value: num3(&churn["brier"]),
            },
            Metric {
                key: "mining.base_rate",
                value: churn["base_rate"].as_f64().map_or("–".into(), pct),
            },
            Metric {
                key: "mining.test_cutoff",
                value: churn["test_cutoff"].as_str().unwrap_or("–").to_string(),
            },
            Metric {
                key: "mining.test_rows",
                value: churn["test_rows"]
                    .as_i64()
                    .map_or("–".into(), |v| chart::number(v as f64)),
            },
        ];
        page.churn_calibration = calibration(&churn["calibration"]);
        let trade = &d.models["trade_in"];
        page.trade_metrics = vec![
            Metric {
                key: "mining.auc",
                value: num3(&trade["auc"]),
            },
            Metric {
                key: "mining.brier",
                value: num3(&trade["brier"]),
            },
            Metric {
                key: "mining.bought_again_rate",
                value: trade["base_rate"].as_f64().map_or("–".into(), pct),
            },
        ];
        page.trade_calibration = calibration(&trade["calibration"]);
        page.rules = d.rules.clone();
        page.response = d
            .campaign_response
            .rows
            .iter()
            .map(|r| ResponseRow {
                months: response_months(r["months"].as_i64().unwrap_or(0), lang),
                contacted: r["contacted"].as_i64().unwrap_or(0),
                responded: r["responded"].as_i64().unwrap_or(0),
                rate: pct(r["rate"].as_f64().unwrap_or(0.0)),
            })
            .collect();
        page.response_note = i18n::t("mining.response_note", lang)
            .replace("{}", &d.campaign_response.window_days.to_string());
        page.loyalty = d
            .loyalty
            .iter()
            .map(|l| (l.label.clone(), l.customers))
            .collect();
        page.d = Some(d);
    }
    Ok(render(StatusCode::OK, &page, lang))
}

/// An administrator starts today's snapshot; it runs in the background and the page
/// says so (the snapshot shows once complete).
pub async fn run(State(s): State<AppState>, web: Web, F(f): F<CsrfForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let answer = s
        .services
        .request_mining_run(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    if answer == MiningRunRequest::Start {
        let svc = s.services.clone();
        let today = svc.clock.today();
        tokio::spawn(async move {
            if let Err(e) = svc.mine_all(today, |_| {}).await {
                tracing::error!(error = %e, "mining run started from the page failed");
            }
        });
    }
    let code = match answer {
        MiningRunRequest::Start => "start",
        MiningRunRequest::Done => "done",
        MiningRunRequest::Running => "running",
    };
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to(&format!("/mining?started={code}")),
    ))
}

// ---- the scored-customer list --------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ListQuery {
    segment: Option<String>,
    tier: Option<String>,
    min_churn: Option<String>,
    min_trade_in: Option<String>,
    store: Option<String>,
    page: Option<String>,
}

impl ListQuery {
    /// The service query; numbers that do not parse are passed on as out of range so the
    /// service names the field.
    fn query(&self, page: Option<u32>) -> ScoreQuery {
        let pct = |v: &Option<String>| nonempty(v).map(|s| s.parse::<i64>().unwrap_or(-1));
        ScoreQuery {
            segment: nonempty(&self.segment),
            tier: nonempty(&self.tier),
            min_churn: pct(&self.min_churn),
            min_trade_in: pct(&self.min_trade_in),
            store_id: parse_id(&self.store),
            page,
            per_page: Some(50),
        }
    }

    fn filters_href(&self) -> String {
        let v = |o: &Option<String>| url_encode(nonempty(o).as_deref().unwrap_or(""));
        format!(
            "segment={}&tier={}&min_churn={}&min_trade_in={}&store_id={}",
            v(&self.segment),
            v(&self.tier),
            v(&self.min_churn),
            v(&self.min_trade_in),
            v(&self.store)
        )
    }
}

#[derive(Template)]
#[template(path = "mining_customers.html")]
struct ListPage {
    c: Ctx,
    page: Option<Page<ScoredCustomer>>,
    errors: Vec<String>,
    segment: String,
    tier: String,
    min_churn: String,
    min_trade_in: String,
    store: String,
    segments: Vec<(String, String)>,
    tiers: Vec<(String, String)>,
    stores: Vec<StoreChoice>,
    specialists: Vec<(i64, String)>,
    export_query: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    report: Option<CallListReport>,
}

impl ListPage {
    fn pct(&self, v: impl std::borrow::Borrow<f64>) -> String {
        format!("{:.0}%", v.borrow() * 100.0)
    }
    fn reasons(&self, codes: &str) -> String {
        dealerbase_service::mining::reasons_in_words(codes, self.c.lang)
    }
    fn segment_label(&self, code: &str) -> String {
        self.segments
            .iter()
            .find(|(c, _)| c == code)
            .map_or_else(|| code.to_string(), |(_, l)| l.clone())
    }
    fn tier_label(&self, code: &str) -> String {
        self.tiers
            .iter()
            .find(|(c, _)| c == code)
            .map_or_else(|| code.to_string(), |(_, l)| l.clone())
    }
}

async fn list_page(
    s: &AppState,
    web: &Web,
    q: &ListQuery,
    report: Option<CallListReport>,
) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let page_no = nonempty(&q.page)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let query = q.query(Some(page_no));
    let (page, errors) = match s.services.scored_customers(actor, &query).await {
        Ok(p) => (Some(p), Vec::new()),
        Err(dealerbase_service::ServiceError::Invalid(list)) => {
            (None, list.iter().map(|e| e.message(lang)).collect())
        }
        Err(e) => return Err(web.err(e)),
    };
    let dash_stores = s
        .services
        .mining_store_choices(actor)
        .await
        .map_err(|e| web.err(e))?;
    let specialists = s
        .services
        .care_specialists(actor)
        .await
        .map_err(|e| web.err(e))?;
    let filters = q.filters_href();
    let base = format!(
        "/mining/customers?{}",
        filters.replace("store_id=", "store=")
    );
    let out = ListPage {
        c: web.ctx("nav.mining"),
        prev_href: page
            .as_ref()
            .filter(|p| p.page > 1)
            .map(|p| format!("{base}&page={}", p.page - 1)),
        next_href: page
            .as_ref()
            .filter(|p| p.has_more)
            .map(|p| format!("{base}&page={}", p.page + 1)),
        page,
        errors,
        segment: nonempty(&q.segment).unwrap_or_default(),
        tier: nonempty(&q.tier).unwrap_or_default(),
        min_churn: nonempty(&q.min_churn).unwrap_or_default(),
        min_trade_in: nonempty(&q.min_trade_in).unwrap_or_default(),
        store: nonempty(&q.store).unwrap_or_default(),
        segments: dealerbase_service::mining_views::segment_choices(lang),
        tiers: dealerbase_service::mining_views::tier_choices(lang),
        stores: dash_stores,
        specialists,
        export_query: filters,
        report,
    };
    Ok(render(StatusCode::OK, &out, lang))
}

pub async fn customers(State(s): State<AppState>, web: Web, Q(q): Q<ListQuery>) -> PageResult {
    list_page(&s, &web, &q, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallListForm {
    segment: Option<String>,
    tier: Option<String>,
    min_churn: Option<String>,
    min_trade_in: Option<String>,
    store: Option<String>,
    assignee: Option<String>,
    due_on: Option<String>,
    note: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// "Create call list": one task per customer of the filtered list (consent and
/// deduplication in the service); the list is shown again with what was done.
pub async fn call_list(State(s): State<AppState>, web: Web, F(f): F<CallListForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let q = ListQuery {
        segment: f.segment,
        tier: f.tier,
        min_churn: f.min_churn,
        min_trade_in: f.min_trade_in,
        store: f.store,
        page: None,
    };
    let input = CallListInput {
        query: q.query(None),
        assignee_id: parse_id(&f.assignee),
        due_on: nonempty(&f.due_on),
        note: nonempty(&f.note),
    };
    match s.services.create_call_list(&web.user.actor, &input).await {
        Ok(report) => list_page(&s, &web, &q, Some(report)).await,
        Err(e) => Err(web.err(e)),
    }
}
