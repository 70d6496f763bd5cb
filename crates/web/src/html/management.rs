//! Management pages (issue 9): the KPI overview (every KPI of the catalogue for a period
//! and scope, with MoM and YoY) and a KPI's page (definition, 12-month trend, ranking of
//! stores or staff with the change of rank, and the records behind the number). Thin: each
//! handler calls the management services.

use super::{Ctx, PageResult, Q, Web, chart, i18n, nonempty, render, url_encode};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use dealerbase_domain::Lang;
use dealerbase_domain::kpi::{KpiDef, Unit};
use dealerbase_service::ServiceError;
use dealerbase_service::management::{KpiQuery, KpiRankRow, KpiRecordRow, KpiValue, StoreChoice};
use serde::Deserialize;

/// The filter of the management pages, as the form sends it (all text).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct PageQuery {
    pub period: Option<String>,
    pub at: Option<String>,
    pub store: Option<String>,
    pub brand: Option<String>,
    pub staff: Option<String>,
    pub which: Option<String>,
    pub page: Option<String>,
}

impl PageQuery {
    fn kpi_query(&self, kpi: &str) -> KpiQuery {
        let brand = nonempty(&self.brand).and_then(|b| b.parse().ok());
        let staff = nonempty(&self.staff).and_then(|b| b.parse().ok());
        let store = nonempty(&self.store);
        KpiQuery {
            kpi: kpi.to_string(),
            period: nonempty(&self.period),
            at: nonempty(&self.at),
            scope: if staff.is_some() {
                Some("staff".into())
            } else if store.is_some() {
                Some("store".into())
            } else if brand.is_some() {
                Some("brand".into())
            } else {
                None
            },
            store,
            brand,
            staff,
        }
    }

    /// The query string of this filter (without `which` and `page`), for links.
    pub fn link(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("period", &self.period),
            ("at", &self.at),
            ("store", &self.store),
            ("brand", &self.brand),
            ("staff", &self.staff),
        ] {
            if let Some(v) = nonempty(v) {
                parts.push(format!("{k}={}", url_encode(&v)));
            }
        }
        parts.join("&")
    }

    fn with(&self, f: impl FnOnce(&mut PageQuery)) -> PageQuery {
        let mut q = self.clone();
        f(&mut q);
        q
    }
}

/// One line of the overview.
pub struct Line {
    pub def: &'static KpiDef,
    pub value: KpiValue,
}

/// The filter form's state and choices.
pub struct Filter {
    pub period: String,
    pub at: String,
    pub store: String,
    pub brand: String,
    pub stores: Vec<StoreChoice>,
    pub brands: Vec<(i64, String)>,
    pub group_wide: bool,
    /// A validation message for a field of the form: (field, message).
    pub error: Option<(String, String)>,
}

impl Filter {
    pub fn error_for(&self, field: &str) -> String {
        match &self.error {
            Some((f, m)) if f == field => m.clone(),
            _ => String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "management_kpis.html")]
struct OverviewPage {
    c: Ctx,
    action: String,
    f: Filter,
    scope_name: String,
    period: String,
    lines: Vec<(String, Vec<Line>)>,
    link: String,
}

impl OverviewPage {
    fn name(&self, d: &KpiDef) -> &'static str {
        d.name(self.c.lang)
    }
    fn definition(&self, d: &KpiDef) -> &'static str {
        d.definition(self.c.lang)
    }
}

async fn filter(s: &AppState, web: &Web, q: &PageQuery) -> Result<Filter, super::PageError> {
    let stores = s
        .services
        .kpi_stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let mut brands: Vec<(i64, String)> = stores
        .iter()
        .map(|s| (s.brand_id, s.brand_name.clone()))
        .collect();
    brands.sort();
    brands.dedup();
    Ok(Filter {
        period: nonempty(&q.period).unwrap_or_else(|| "month".into()),
        at: nonempty(&q.at).unwrap_or_default(),
        store: nonempty(&q.store).unwrap_or_default(),
        brand: nonempty(&q.brand).unwrap_or_default(),
        group_wide: web.user.actor.role.scope_level()
            == dealerbase_domain::model::ScopeLevel::Group,
        stores,
        brands,
        error: None,
    })
}

fn area_key(d: &KpiDef) -> &'static str {
    match d.area {
        dealerbase_domain::kpi::Area::Sales => "mgmt.area_sales",
        dealerbase_domain::kpi::Area::Aftersales => "mgmt.area_aftersales",
        dealerbase_domain::kpi::Area::Finance => "mgmt.area_finance",
    }
}

/// `/management/kpis`: every KPI for the period and scope with MoM and YoY.
pub async fn overview(State(s): State<AppState>, web: Web, Q(q): Q<PageQuery>) -> PageResult {
    let lang = web.lang();
    let mut f = filter(&s, &web, &q).await?;
    let mut lines: Vec<(String, Vec<Line>)> = Vec::new();
    let (mut scope_name, mut period) = (String::new(), String::new());
    let staff_level = nonempty(&q.staff).is_some()
        || web.user.actor.role.scope_level() == dealerbase_domain::model::ScopeLevel::Own;
    for def in s.services.kpi_catalogue() {
        if staff_level && !def.per_staff {
            continue;
        }
        match s
            .services
            .kpi_value(&web.user.actor, &q.kpi_query(def.id))
            .await
        {
            Ok(value) => {
                scope_name = scope_label(&value, lang);
                period = value.current.period.clone();
                let title = i18n::t(area_key(def), lang).to_string();
                let line = Line { def, value };
                match lines.iter_mut().find(|(t, _)| *t == title) {
                    Some((_, v)) => v.push(line),
                    None => lines.push((title, vec![line])),
                }
            }
            Err(ServiceError::Invalid(errors)) => {
                let e = &errors[0];
                f.error = Some((e.field.clone(), e.message(lang)));
                break;
            }
            Err(e) => return Err(web.err(e)),
        }
    }
    let status = if f.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = OverviewPage {
        c: web.ctx("nav.kpis"),
        action: "/management/kpis".into(),
        link: q.link(),
        f,
        scope_name,
        period,
        lines,
    };
    Ok(render(status, &page, lang))
}

fn scope_label(v: &KpiValue, lang: Lang) -> String {
    match v.scope.level.as_str() {
        "group" => i18n::t("mgmt.scope_group", lang).to_string(),
        _ => v.scope.name.clone(),
    }
}

#[derive(Template)]
#[template(path = "management_kpi.html")]
struct KpiPage {
    c: Ctx,
    action: String,
    f: Filter,
    def: &'static KpiDef,
    value: KpiValue,
    scope_name: String,
    trend_svg: String,
    ranking_title: String,
    ranking: Vec<(KpiRankRow, String)>,
    records: Vec<KpiRecordRow>,
    has_more: bool,
    which: String,
    page_no: i64,
    link: String,
    next_link: String,
    part_labels: Vec<String>,
}

impl KpiPage {
    fn name(&self) -> &'static str {
        self.def.name(self.c.lang)
    }
    fn formula(&self) -> &'static str {
        self.def.formula(self.c.lang)
    }
    fn definition(&self) -> &'static str {
        self.def.definition(self.c.lang)
    }
    fn is_rate(&self) -> bool {
        self.def.unit == Unit::Percent
    }
    fn part_label(&self, part: &i64) -> String {
        self.part_labels
            .get(*part as usize)
            .cloned()
            .unwrap_or_default()
    }
    fn amount(&self, n: &i64) -> String {
        self.def.format(Some(*n as f64))
    }
    fn which_link(&self, which: &str) -> String {
        format!(
            "/management/kpis/{}?{}&which={which}#records",
            self.def.id, self.link
        )
    }
}

/// What each record set of a KPI is, for the drill-down's first column.
fn part_labels(kpi: &str, lang: Lang) -> Vec<String> {
    let keys: &[&str] = match kpi {
        "test_drive_rate" => &["mgmt.part_test_drive", "mgmt.part_new_lead"],
        "conversion_rate" => &["mgmt.part_order", "mgmt.part_new_lead"],
        "defeat_rate" => &["mgmt.part_defeat", "mgmt.part_delivery"],
        "service_absorption" => &["mgmt.part_work_order", "mgmt.part_cost"],
        _ => &[],
    };
    keys.iter().map(|k| i18n::t(k, lang).to_string()).collect()
}

/// `/management/kpis/{id}`: one KPI with its trend, ranking and records.
pub async fn kpi(
    State(s): State<AppState>,
    web: Web,
    Path(id): Path<String>,
    Q(q): Q<PageQuery>,
) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let f = filter(&s, &web, &q).await?;
    let kq = q.kpi_query(&id);
    let value = s
        .services
        .kpi_value(actor, &kq)
        .await
        .map_err(|e| web.err(e))?;
    let def =
        dealerbase_domain::kpi::find("kpi", &id).map_err(|e| web.err(ServiceError::invalid(e)))?;
    let trend = s
        .services
        .kpi_trend(actor, &kq, 12)
        .await
        .map_err(|e| web.err(e))?;
    let no_data = i18n::t("common.no_data", lang);
    let labels: Vec<String> = trend.iter().map(|p| p.period.clone()).collect();
    let values: Vec<f64> = trend
        .iter()
        .map(|p| {
            let v = p.value.unwrap_or(0.0);
            match def.unit {
                Unit::Percent => v * 100.0,
                Unit::Money => v / 100.0,
                Unit::Count => v,
            }
        })
        .collect();
    let unit = match def.unit {
        Unit::Percent => " (%)",
        Unit::Money => " (¥)",
        Unit::Count => "",
    };
    let trend_title = format!("{}{unit}", def.name(lang));
    let trend_svg = if trend.iter().all(|p| p.numerator == 0 && p.denominator == 0) {
        chart::line(&trend_title, &[], &[], no_data)
    } else {
        chart::line(&trend_title, &labels, &values, no_data)
    };
    // Group and brand: rank the stores; a store: rank its staff when the KPI names them.
    let by = match value.scope.level.as_str() {
        "group" | "brand" => Some("store"),
        "store" if def.per_staff => Some("staff"),
        _ => None,
    };
    let mut ranking = Vec::new();
    let mut ranking_title = String::new();
    if let Some(by) = by {
        let r = s
            .services
            .kpi_ranking(actor, &kq, by)
            .await
            .map_err(|e| web.err(e))?;
        ranking_title = i18n::t(
            if by == "store" {
                "mgmt.ranking_stores"
            } else {
                "mgmt.ranking_staff"
            },
            lang,
        )
        .to_string();
        for row in r.rows {
            let href = if by == "store" {
                let code = f
                    .stores
                    .iter()
                    .find(|s| s.id == row.key)
                    .map(|s| s.code.clone())
                    .unwrap_or_default();
                let q2 = q.with(|x| {
                    x.store = Some(code);
                    x.brand = None;
                });
                format!("/management/kpis/{id}?{}", q2.link())
            } else if row.key > 0 {
                let q2 = q.with(|x| x.staff = Some(row.key.to_string()));
                format!("/management/kpis/{id}?{}", q2.link())
            } else {
                String::new()
            };
            ranking.push((row, href));
        }
    }
    let which = nonempty(&q.which).unwrap_or_else(|| "all".into());
    let page_no = nonempty(&q.page)
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let recs = s
        .services
        .kpi_records(actor, &kq, Some(&which), page_no)
        .await
        .map_err(|e| web.err(e))?;
    let link = q.link();
    let page = KpiPage {
        c: web.ctx("nav.kpis"),
        action: format!("/management/kpis/{id}"),
        scope_name: scope_label(&value, lang),
        next_link: format!(
            "/management/kpis/{id}?{link}&which={which}&page={}#records",
            page_no + 1
        ),
        link,
        f,
        def,
        value,
        trend_svg,
        ranking_title,
        ranking,
        records: recs.items,
        has_more: recs.has_more,
        which,
        page_no,
        part_labels: part_labels(&id, lang),
    };
    Ok(render(StatusCode::OK, &page, lang))
}

// ---- operating costs and service absorption ---------------------------------------------------

#[derive(Template)]
#[template(path = "management_costs.html")]
struct CostsPage {
    c: Ctx,
    stores: Vec<StoreChoice>,
    store: String,
    month: String,
    /// (category, kind, amount in yuan as typed, errors of the three fields)
    rows: Vec<(String, String, String, [String; 3])>,
    total: String,
    fixed: String,
    variable: String,
    may_edit: bool,
    message: String,
    error: String,
    absorption: Option<dealerbase_service::management::AbsorptionView>,
    band_label: String,
    trend_svg: String,
}

impl CostsPage {
    fn money(&self, fen: &i64) -> String {
        yuan(*fen)
    }
    fn kind_label(&self, k: &str) -> &'static str {
        dealerbase_domain::kpi::CostKind::parse("", k)
            .map(|k| k.label(self.c.lang))
            .unwrap_or("")
    }
}

fn yuan(fen: i64) -> String {
    let money = dealerbase_domain::kpi::find("kpi", "service_revenue").expect("in the catalogue");
    money.format(Some(fen as f64))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CostsQuery {
    store: Option<String>,
    month: Option<String>,
    saved: Option<String>,
}

async fn costs_page(
    s: &AppState,
    web: &Web,
    store: Option<String>,
    month: Option<String>,
    typed: Option<(
        Vec<(String, String, String)>,
        Vec<dealerbase_domain::ValidationError>,
    )>,
    message: String,
    error: String,
) -> Result<CostsPage, super::PageError> {
    let lang = web.lang();
    let actor = &web.user.actor;
    let stores = s.services.kpi_stores(actor).await.map_err(|e| web.err(e))?;
    let store = store
        .filter(|x| !x.trim().is_empty())
        .or_else(|| stores.first().map(|x| x.code.clone()))
        .unwrap_or_default();
    let month = month.filter(|x| !x.trim().is_empty()).unwrap_or_else(|| {
        dealerbase_domain::kpi::Period::containing(
            dealerbase_domain::kpi::PeriodKind::Month,
            s.services.clock.today(),
        )
        .label()
    });
    let mut rows = Vec::new();
    let (mut total, mut fixed, mut variable) = (String::new(), String::new(), String::new());
    let mut absorption = None;
    let mut trend_svg = String::new();
    let mut band_label = String::new();
    match s.services.operating_costs(actor, &store, &month).await {
        Ok(v) => {
            total = yuan(v.total_fen);
            fixed = yuan(v.fixed_fen);
            variable = yuan(v.variable_fen);
            if typed.is_none() {
                for l in &v.lines {
                    rows.push((
                        l.category.clone(),
                        l.kind.clone(),
                        format!("{}.{:02}", l.amount_fen / 100, l.amount_fen % 100),
                        Default::default(),
                    ));
                }
            }
            let a = s
                .services
                .absorption(
                    actor,
                    &KpiQuery {
                        kpi: String::new(),
                        at: Some(v.month.clone()),
                        scope: Some("store".into()),
                        store: Some(v.store_code.clone()),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| web.err(e))?;
            let labels: Vec<String> = a.trend.iter().map(|p| p.month.clone()).collect();
            let values: Vec<f64> = a
                .trend
                .iter()
                .map(|p| p.rate.unwrap_or(0.0) * 100.0)
                .collect();
            let title = format!("{} (%)", i18n::t("mgmt.absorption", lang));
            trend_svg = if a.trend.iter().all(|p| p.costs_fen == 0) {
                chart::line(&title, &[], &[], i18n::t("common.no_data", lang))
            } else {
                chart::line(&title, &labels, &values, i18n::t("common.no_data", lang))
            };
            band_label = a
                .rate
                .map(|r| {
                    dealerbase_domain::kpi::AbsorptionBand::of(r)
                        .label(lang)
                        .to_string()
                })
                .unwrap_or_default();
            absorption = Some(a);
        }
        Err(ServiceError::Invalid(e)) => {
            if error.is_empty() {
                return Ok(CostsPage {
                    c: web.ctx("nav.costs"),
                    stores,
                    store,
                    month,
                    rows: vec![Default::default(); 6],
                    total,
                    fixed,
                    variable,
                    may_edit: false,
                    message,
                    error: e[0].message(lang),
                    absorption,
                    band_label,
                    trend_svg,
                });
            }
        }
        Err(e) => return Err(web.err(e)),
    }
    if let Some((typed, errors)) = typed {
        for (i, (c, k, a)) in typed.into_iter().enumerate() {
            let err = |f: &str| {
                errors
                    .iter()
                    .find(|e| e.field == format!("lines[{i}].{f}"))
                    .map(|e| e.message(lang))
                    .unwrap_or_default()
            };
            let errs = [err("category"), err("kind"), err("amount")];
            rows.push((c, k, a, errs));
        }
    }
    while rows.len() < 8 {
        rows.push(Default::default());
    }
    Ok(CostsPage {
        c: web.ctx("nav.costs"),
        stores,
        store,
        month,
        rows,
        total,
        fixed,
        variable,
        may_edit: dealerbase_service::management::may_manage(actor.role),
        message,
        error,
        absorption,
        band_label,
        trend_svg,
    })
}

/// `/management/costs`: a store's monthly operating costs, the XLSX import and the
/// store's service absorption with its 12-month trend.
pub async fn costs(State(s): State<AppState>, web: Web, Q(q): Q<CostsQuery>) -> PageResult {
    let message = if q.saved.is_some() {
        i18n::t("mgmt.saved", web.lang()).to_string()
    } else {
        String::new()
    };
    let page = costs_page(&s, &web, q.store, q.month, None, message, String::new()).await?;
    let status = if page.error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(status, &page, web.lang()))
}

/// Saves the month's cost lines from the form (`category_0`, `kind_0`, `amount_0`, …).
pub async fn save_costs(
    State(s): State<AppState>,
    web: Web,
    super::F(form): super::F<std::collections::HashMap<String, String>>,
) -> PageResult {
    web.check_csrf(form.get("_csrf").map_or("", |s| s.as_str()))?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut lines = Vec::new();
    for i in 0..50 {
        if !form.contains_key(&format!("category_{i}")) {
            break;
        }
        lines.push(dealerbase_service::management::CostLineInput {
            category: get(&format!("category_{i}")),
            kind: get(&format!("kind_{i}")),
            amount: get(&format!("amount_{i}")),
        });
    }
    let input = dealerbase_service::management::CostsInput {
        store: get("store"),
        month: get("month"),
        lines: lines.clone(),
    };
    match s
        .services
        .set_operating_costs(&web.user.actor, &input)
        .await
    {
        Ok(v) => Ok(axum::response::Redirect::to(&format!(
            "/management/costs?store={}&month={}&saved=1",
            url_encode(&v.store_code),
            v.month
        ))
        .into_response()),
        Err(ServiceError::Invalid(errors)) => {
            let typed = lines
                .into_iter()
                .map(|l| (l.category, l.kind, l.amount))
                .collect();
            let month_error = errors
                .iter()
                .find(|e| e.field == "month")
                .map(|e| e.message(web.lang()))
                .unwrap_or_else(|| i18n::t("mgmt.fix_fields", web.lang()).to_string());
            let page = costs_page(
                &s,
                &web,
                Some(input.store),
                Some(input.month),
                Some((typed, errors)),
                String::new(),
                month_error,
            )
            .await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, web.lang()))
        }
        Err(e) => Err(web.err(e)),
    }
}

/// Imports an XLSX of cost lines (multipart: `file`, `_csrf`).
pub async fn import_costs(
    State(s): State<AppState>,
    web: Web,
    mut m: axum::extract::Multipart,
) -> PageResult {
    let (mut csrf, mut bytes) = (String::new(), Vec::new());
    while let Ok(Some(field)) = m.next_field().await {
        match field.name() {
            Some("_csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            _ => {}
        }
    }
    web.check_csrf(&csrf)?;
    match s
        .services
        .import_operating_costs_xlsx(&web.user.actor, &bytes)
        .await
    {
        Ok(n) => {
            let msg = format!("{} {n}", i18n::t("mgmt.imported_rows", web.lang()));
            let page = costs_page(&s, &web, None, None, None, msg, String::new()).await?;
            Ok(render(StatusCode::OK, &page, web.lang()))
        }
        Err(ServiceError::Invalid(errors)) => {
            let msg = errors
                .iter()
                .map(|e| e.message(web.lang()))
                .collect::<Vec<_>>()
                .join("；");
            let page = costs_page(&s, &web, None, None, None, String::new(), msg).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, web.lang()))
        }
        Err(e) => Err(web.err(e)),
    }
}

// ---- targets ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "management_targets.html")]
struct TargetsPage {
    c: Ctx,
    month: String,
    metric: String,
    store: String,
    stores: Vec<StoreChoice>,
    view: Option<dealerbase_service::management::TargetsView>,
    may_edit: bool,
    error: String,
    error_field: String,
}

impl TargetsPage {
    fn metrics(&self) -> Vec<(&'static str, &'static str)> {
        dealerbase_domain::kpi::TargetMetric::ALL
            .iter()
            .map(|m| (m.code(), m.label(self.c.lang)))
            .collect()
    }
    fn is_money(&self) -> bool {
        self.metric == "service_revenue"
    }
    fn show(&self, v: &i64) -> String {
        if self.is_money() {
            yuan(*v)
        } else {
            chart::number(*v as f64)
        }
    }
    fn edit_value(&self, v: &i64) -> String {
        if self.is_money() {
            format!("{}.{:02}", v / 100, v % 100)
        } else {
            v.to_string()
        }
    }
    fn pct(&self, v: &Option<f64>) -> String {
        v.map_or("—".into(), |x| format!("{:.1}%", x * 100.0))
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct TargetsQuery {
    month: Option<String>,
    metric: Option<String>,
    store: Option<String>,
}

async fn targets_page(
    s: &AppState,
    web: &Web,
    q: TargetsQuery,
    error: Option<(String, String)>,
) -> Result<(StatusCode, TargetsPage), super::PageError> {
    let actor = &web.user.actor;
    let lang = web.lang();
    let month = nonempty(&q.month).unwrap_or_else(|| {
        dealerbase_domain::kpi::Period::containing(
            dealerbase_domain::kpi::PeriodKind::Month,
            s.services.clock.today(),
        )
        .label()
    });
    let metric = nonempty(&q.metric).unwrap_or_else(|| "sales".into());
    let store = nonempty(&q.store).unwrap_or_default();
    let stores = s.services.kpi_stores(actor).await.map_err(|e| web.err(e))?;
    let (view, err) = match s
        .services
        .targets(
            actor,
            &month,
            &metric,
            Some(store.as_str()).filter(|x| !x.is_empty()),
        )
        .await
    {
        Ok(v) => (Some(v), error),
        Err(ServiceError::Invalid(e)) => (None, Some((e[0].field.clone(), e[0].message(lang)))),
        Err(e) => return Err(web.err(e)),
    };
    let status = if err.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (error_field, error) = err.unwrap_or_default();
    Ok((
        status,
        TargetsPage {
            c: web.ctx("nav.targets"),
            month,
            metric,
            store,
            stores,
            view,
            may_edit: dealerbase_service::management::may_manage(actor.role),
            error,
            error_field,
        },
    ))
}

/// `/management/targets`: actual against target for a month (group: stores; store: staff),
/// the split form and each target editable.
pub async fn targets(State(s): State<AppState>, web: Web, Q(q): Q<TargetsQuery>) -> PageResult {
    let (status, page) = targets_page(&s, &web, q, None).await?;
    Ok(render(status, &page, web.lang()))
}

/// Splits a total (form: month, metric, store, total, method).
pub async fn split_targets(
    State(s): State<AppState>,
    web: Web,
    super::F(form): super::F<std::collections::HashMap<String, String>>,
) -> PageResult {
    web.check_csrf(form.get("_csrf").map_or("", |s| s.as_str()))?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let input = dealerbase_service::management::SplitInput {
        month: get("month"),
        metric: get("metric"),
        store: Some(get("store")).filter(|x| !x.is_empty()),
        total: get("total"),
        method: get("method"),
    };
    let back = TargetsQuery {
        month: Some(input.month.clone()),
        metric: Some(input.metric.clone()),
        store: input.store.clone(),
    };
    match s.services.split_target(&web.user.actor, &input).await {
        Ok(_) => Ok(axum::response::Redirect::to(&format!(
            "/management/targets?month={}&metric={}&store={}",
            url_encode(&input.month),
            url_encode(&input.metric),
            url_encode(input.store.as_deref().unwrap_or(""))
        ))
        .into_response()),
        Err(ServiceError::Invalid(e)) => {
            let err = Some((e[0].field.clone(), e[0].message(web.lang())));
            let (_, page) = targets_page(&s, &web, back, err).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, web.lang()))
        }
        Err(e) => Err(web.err(e)),
    }
}

/// Edits one target (form: month, metric, store, staff, value).
pub async fn set_target(
    State(s): State<AppState>,
    web: Web,
    super::F(form): super::F<std::collections::HashMap<String, String>>,
) -> PageResult {
    web.check_csrf(form.get("_csrf").map_or("", |s| s.as_str()))?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let input = dealerbase_service::management::TargetInput {
        month: get("month"),
        metric: get("metric"),
        store: get("store"),
        staff: get("staff").parse().ok().filter(|v| *v > 0),
        value: get("value"),
    };
    let back_store = get("view_store");
    match s.services.set_target(&web.user.actor, &input).await {
        Ok(_) => Ok(axum::response::Redirect::to(&format!(
            "/management/targets?month={}&metric={}&store={}",
            url_encode(&input.month),
            url_encode(&input.metric),
            url_encode(&back_store)
        ))
        .into_response()),
        Err(ServiceError::Invalid(e)) => {
            let back = TargetsQuery {
                month: Some(input.month.clone()),
                metric: Some(input.metric.clone()),
                store: Some(back_store),
            };
            let err = Some((e[0].field.clone(), e[0].message(web.lang())));
            let (_, page) = targets_page(&s, &web, back, err).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, web.lang()))
        }
        Err(e) => Err(web.err(e)),
    }
}

// ---- dashboards and the monthly report --------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct DashQuery {
    #[serde(flatten)]
    q: PageQuery,
    view: Option<String>,
}

#[derive(Template)]
#[template(path = "management_dashboard.html")]
struct DashboardPage {
    c: Ctx,
    action: String,
    f: Filter,
    d: dealerbase_service::management::ManagementDashboard,
    scope_name: String,
    charts: Vec<(String, String)>,
    link: String,
    views: Vec<(&'static str, &'static str)>,
}

impl DashboardPage {
    fn name(&self, id: &str) -> &'static str {
        dealerbase_domain::kpi::find("kpi", id).map_or("", |d| d.name(self.c.lang))
    }
    fn money(&self, fen: &i64) -> String {
        yuan(*fen)
    }
    fn pct(&self, v: &Option<f64>) -> String {
        v.map_or("—".into(), |x| format!("{:.1}%", x * 100.0))
    }
    fn target_show(&self, metric: &str, v: &i64) -> String {
        if metric == "service_revenue" {
            yuan(*v)
        } else {
            chart::number(*v as f64)
        }
    }
}

fn chart_values(
    id: &str,
    points: &[dealerbase_service::management::KpiPoint],
) -> (String, Vec<f64>) {
    let unit = dealerbase_domain::kpi::find("kpi", id).map_or(Unit::Count, |d| d.unit);
    let (suffix, scale) = match unit {
        Unit::Percent => (" (%)", 100.0),
        Unit::Money => (" (¥)", 0.01),
        Unit::Count => ("", 1.0),
    };
    (
        suffix.to_string(),
        points
            .iter()
            .map(|p| p.value.unwrap_or(0.0) * scale)
            .collect(),
    )
}

/// `/management/dashboard`: the role's dashboard (group, general manager, sales manager,
/// after-sales) for a period, with SVG charts; store roles see their store only.
pub async fn dashboard(State(s): State<AppState>, web: Web, Q(dq): Q<DashQuery>) -> PageResult {
    let lang = web.lang();
    let q = dq.q.clone();
    let mut f = filter(&s, &web, &q).await?;
    let kq = q.kpi_query("");
    let d = match s
        .services
        .management_dashboard(&web.user.actor, &kq, nonempty(&dq.view).as_deref())
        .await
    {
        Ok(d) => d,
        Err(ServiceError::Invalid(errors)) => {
            f.error = Some((errors[0].field.clone(), errors[0].message(lang)));
            let d = s
                .services
                .management_dashboard(&web.user.actor, &PageQuery::default().kpi_query(""), None)
                .await
                .map_err(|e| web.err(e))?;
            let page = dashboard_page(&web, f, d, &q, lang);
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, lang));
        }
        Err(e) => return Err(web.err(e)),
    };
    let page = dashboard_page(&web, f, d, &q, lang);
    Ok(render(StatusCode::OK, &page, lang))
}

fn dashboard_page(
    web: &Web,
    f: Filter,
    d: dealerbase_service::management::ManagementDashboard,
    q: &PageQuery,
    lang: Lang,
) -> DashboardPage {
    let no_data = i18n::t("common.no_data", lang);
    let mut charts = Vec::new();
    for (id, points) in &d.trends {
        let (suffix, values) = chart_values(id, points);
        let labels: Vec<String> = points.iter().map(|p| p.period.clone()).collect();
        let title = format!(
            "{}{suffix}",
            dealerbase_domain::kpi::find("kpi", id).map_or("", |d| d.name(lang))
        );
        let svg = if points
            .iter()
            .all(|p| p.numerator == 0 && p.denominator == 0)
        {
            chart::line(&title, &[], &[], no_data)
        } else {
            chart::line(&title, &labels, &values, no_data)
        };
        charts.push((title, svg));
    }
    if let Some(r) = &d.ranking {
        let (suffix, _) = chart_values(&r.kpi, &[]);
        let title = format!(
            "{}{suffix}",
            dealerbase_domain::kpi::find("kpi", &r.kpi).map_or("", |d| d.name(lang))
        );
        let scale = match dealerbase_domain::kpi::find("kpi", &r.kpi).map(|d| d.unit) {
            Ok(Unit::Percent) => 100.0,
            Ok(Unit::Money) => 0.01,
            _ => 1.0,
        };
        let labels: Vec<String> = r.rows.iter().map(|x| x.name.clone()).collect();
        let values: Vec<f64> = r
            .rows
            .iter()
            .map(|x| x.value.unwrap_or(0.0) * scale)
            .collect();
        charts.push((title.clone(), chart::bar(&title, &labels, &values, no_data)));
    }
    if let Some(a) = &d.absorption {
        let labels: Vec<String> = a.trend.iter().map(|p| p.month.clone()).collect();
        let values: Vec<f64> = a
            .trend
            .iter()
            .map(|p| p.rate.unwrap_or(0.0) * 100.0)
            .collect();
        let title = format!("{} (%)", i18n::t("mgmt.absorption", lang));
        let svg = if a.trend.iter().all(|p| p.costs_fen == 0) {
            chart::line(&title, &[], &[], no_data)
        } else {
            chart::line(&title, &labels, &values, no_data)
        };
        charts.push((title, svg));
    }
    let scope_name = match d.scope.level.as_str() {
        "group" => i18n::t("mgmt.scope_group", lang).to_string(),
        _ => d.scope.name.clone(),
    };
    DashboardPage {
        c: web.ctx("nav.mgmt_dashboard"),
        action: "/management/dashboard".into(),
        f,
        scope_name,
        charts,
        link: q.link(),
        views: vec![
            ("group", "mgmt.view_group"),
            ("general_manager", "mgmt.view_gm"),
            ("sales", "mgmt.view_sales"),
            ("aftersales", "mgmt.view_aftersales"),
        ],
        d,
    }
}

#[derive(Template)]
#[template(path = "management_report.html")]
struct ReportPage {
    c: Ctx,
    r: dealerbase_service::management::MonthlyReport,
    scope_name: String,
    link: String,
}

impl ReportPage {
    fn name(&self, id: &str) -> &'static str {
        dealerbase_domain::kpi::find("kpi", id).map_or("", |d| d.name(self.c.lang))
    }
    fn formula(&self, id: &str) -> &'static str {
        dealerbase_domain::kpi::find("kpi", id).map_or("", |d| d.formula(self.c.lang))
    }
    fn metric(&self, m: &str) -> &'static str {
        dealerbase_domain::kpi::TargetMetric::parse("", m).map_or("", |m| m.label(self.c.lang))
    }
    fn target_show(&self, metric: &str, v: &i64) -> String {
        if metric == "service_revenue" {
            yuan(*v)
        } else {
            chart::number(*v as f64)
        }
    }
    fn money(&self, fen: &i64) -> String {
        yuan(*fen)
    }
    fn pct(&self, v: &Option<f64>) -> String {
        v.map_or("—".into(), |x| format!("{:.1}%", x * 100.0))
    }
}

/// `/management/report`: the month's report as a printable page.
pub async fn report(State(s): State<AppState>, web: Web, Q(q): Q<PageQuery>) -> PageResult {
    let lang = web.lang();
    let r = s
        .services
        .monthly_report(&web.user.actor, &q.kpi_query(""))
        .await
        .map_err(|e| web.err(e))?;
    let scope_name = match r.scope.level.as_str() {
        "group" => i18n::t("mgmt.scope_group", lang).to_string(),
        _ => r.scope.name.clone(),
    };
    let page = ReportPage {
        c: web.ctx("nav.mgmt_dashboard"),
        link: q.link(),
        r,
        scope_name,
    };
    Ok(render(StatusCode::OK, &page, lang))
}

/// `/management/report.xlsx`: the month's report as a workbook (audited).
pub async fn report_xlsx(State(s): State<AppState>, web: Web, Q(q): Q<PageQuery>) -> PageResult {
    let (name, bytes) = s
        .services
        .monthly_report_xlsx(&web.user.actor, &q.kpi_query(""), web.lang())
        .await
        .map_err(|e| web.err(e))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
