//! Management through the API (issue 9): the KPI catalogue, a KPI's value for a period and
//! scope with MoM/YoY, rankings, trends and the records behind a number. The same services
//! as the pages.

use super::{ApiActor, ApiJson, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use dealerbase_service::management::{
    AbsorptionView, CostsInput, CostsView, KpiInfo, KpiPoint, KpiQuery, KpiRanking, KpiRecords,
    KpiValue, ManagementDashboard, MonthlyReport, SplitInput, TargetInput, TargetsView,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalogue))
        .routes(routes!(values))
        .routes(routes!(ranking))
        .routes(routes!(records))
        .routes(routes!(trend))
        .routes(routes!(get_costs, put_costs))
        .routes(routes!(import_costs))
        .routes(routes!(absorption))
        .routes(routes!(get_targets, put_target))
        .routes(routes!(split_target))
        .routes(routes!(dashboard))
        .routes(routes!(report))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DashboardQuery {
    /// group | general_manager | sales | aftersales (default by role)
    pub view: Option<String>,
}

/// A role's dashboard: KPI tiles with MoM/YoY, 12-month trends, a ranking, service
/// absorption and the month's target. Store roles see their store only.
#[utoipa::path(get, path = "/api/v1/management/dashboard", tag = "management", params(KpiQuery, DashboardQuery),
    responses((status = 200, body = ManagementDashboard), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn dashboard(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
    ApiQuery(d): ApiQuery<DashboardQuery>,
) -> ApiResult<Json<ManagementDashboard>> {
    Ok(Json(
        s.services
            .management_dashboard(&a.actor, &q, d.view.as_deref())
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The month's management report (every KPI, stores side by side, targets, absorption);
/// the page `/management/report.xlsx` downloads it as a workbook.
#[utoipa::path(get, path = "/api/v1/management/report", tag = "management", params(KpiQuery),
    responses((status = 200, body = MonthlyReport), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn report(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> ApiResult<Json<MonthlyReport>> {
    Ok(Json(
        s.services
            .monthly_report(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TargetsQuery {
    /// 2026-10
    pub month: Option<String>,
    /// sales | traffic | renewals | service_revenue
    pub metric: Option<String>,
    /// A store code for its staff's targets (group roles; store roles always see theirs).
    pub store: Option<String>,
}

/// Actual against target for a month: the group's stores, or a store's staff, with the
/// completion rate.
#[utoipa::path(get, path = "/api/v1/targets", tag = "management", params(TargetsQuery),
    responses((status = 200, body = TargetsView), (status = 422, body = ErrorBody)))]
async fn get_targets(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<TargetsQuery>,
) -> ApiResult<Json<TargetsView>> {
    Ok(Json(
        s.services
            .targets(
                &a.actor,
                q.month.as_deref().unwrap_or(""),
                q.metric.as_deref().unwrap_or(""),
                q.store.as_deref(),
            )
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Sets one target (a store's, or with `staff` a staff member's share).
#[utoipa::path(put, path = "/api/v1/targets", tag = "management", request_body = TargetInput,
    responses((status = 200, body = TargetsView), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_target(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<TargetInput>,
) -> ApiResult<Json<TargetsView>> {
    Ok(Json(
        s.services
            .set_target(&a.actor, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Splits a total: the group's over its stores, or a store's over its staff, in proportion
/// to the same month a year before (`method=last_year`) or evenly (`method=even`).
#[utoipa::path(post, path = "/api/v1/targets/split", tag = "management", request_body = SplitInput,
    responses((status = 200, body = TargetsView), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn split_target(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<SplitInput>,
) -> ApiResult<Json<TargetsView>> {
    Ok(Json(
        s.services
            .split_target(&a.actor, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CostsQuery {
    /// Store code (S01) or id.
    pub store: Option<String>,
    /// 2026-10
    pub month: Option<String>,
}

/// A store's operating costs of a month, by category, with fixed, variable and total (fen).
#[utoipa::path(get, path = "/api/v1/operating-costs", tag = "management", params(CostsQuery),
    responses((status = 200, body = CostsView), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_costs(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<CostsQuery>,
) -> ApiResult<Json<CostsView>> {
    Ok(Json(
        s.services
            .operating_costs(
                &a.actor,
                q.store.as_deref().unwrap_or(""),
                q.month.as_deref().unwrap_or(""),
            )
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Replaces a store's operating costs of a month (general manager of the store, group
/// staff, administrators). Amounts in yuan; every bad field is reported (`lines[2].amount`).
#[utoipa::path(put, path = "/api/v1/operating-costs", tag = "management", request_body = CostsInput,
    responses((status = 200, body = CostsView), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_costs(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<CostsInput>,
) -> ApiResult<Json<CostsView>> {
    Ok(Json(
        s.services
            .set_operating_costs(&a.actor, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportedCosts {
    pub rows: u64,
}

/// Imports operating costs from an XLSX file sent as the request body (columns 门店编码,
/// 月份, 费用类别, 性质, 金额). All rows or none: errors name the row and the column.
#[utoipa::path(post, path = "/api/v1/operating-costs/import", tag = "management",
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = ImportedCosts), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn import_costs(
    State(s): State<AppState>,
    a: ApiActor,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImportedCosts>> {
    let rows = s
        .services
        .import_operating_costs_xlsx(&a.actor, &body)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(ImportedCosts { rows }))
}

/// Service absorption (after-sales gross profit ÷ operating costs) for the period and
/// scope, its band (60/80/100%) and the last 12 months.
#[utoipa::path(get, path = "/api/v1/absorption", tag = "management", params(KpiQuery),
    responses((status = 200, body = AbsorptionView), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn absorption(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> ApiResult<Json<AbsorptionView>> {
    Ok(Json(
        s.services
            .absorption(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Every KPI: id, names, formula, unit, direction and a plain-language definition in
/// Chinese and English.
#[utoipa::path(get, path = "/api/v1/kpis", tag = "management",
    responses((status = 200, body = Vec<KpiInfo>), (status = 401, body = ErrorBody)))]
async fn catalogue(State(s): State<AppState>, _a: ApiActor) -> Json<Vec<KpiInfo>> {
    Json(
        s.services
            .kpi_catalogue()
            .iter()
            .map(KpiInfo::from)
            .collect(),
    )
}

/// A KPI's value for a period (`period=day|month|quarter|year`, `at=2026-10`) and scope
/// (`scope=staff|store|brand|group` with `store=S01`, `brand=ID` or `staff=ID`), with the
/// previous period, the same period a year before, MoM and YoY. Store roles see their own
/// store only; consultants and advisors their own figures.
#[utoipa::path(get, path = "/api/v1/kpis/values", tag = "management", params(KpiQuery),
    responses((status = 200, body = KpiValue), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn values(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> ApiResult<Json<KpiValue>> {
    Ok(Json(
        s.services
            .kpi_value(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RankingQuery {
    /// store | brand | staff | model
    pub by: Option<String>,
}

/// The stores, brands, staff or models of the scope ranked on a KPI (direction-aware),
/// with each one's rank in the previous period and the places climbed.
#[utoipa::path(get, path = "/api/v1/kpis/ranking", tag = "management", params(KpiQuery, RankingQuery),
    responses((status = 200, body = KpiRanking), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn ranking(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
    ApiQuery(r): ApiQuery<RankingQuery>,
) -> ApiResult<Json<KpiRanking>> {
    Ok(Json(
        s.services
            .kpi_ranking(&a.actor, &q, r.by.as_deref().unwrap_or("store"))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RecordsQuery {
    /// all | hit (counted in the numerator) | miss (in the denominator only, e.g. the
    /// policies not renewed).
    pub which: Option<String>,
    /// Page (100 records each), from 1.
    pub page: Option<i64>,
}

/// The records behind a KPI value, each with what it adds to numerator and denominator
/// (customer names masked).
#[utoipa::path(get, path = "/api/v1/kpis/records", tag = "management", params(KpiQuery, RecordsQuery),
    responses((status = 200, body = KpiRecords), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn records(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
    ApiQuery(r): ApiQuery<RecordsQuery>,
) -> ApiResult<Json<KpiRecords>> {
    Ok(Json(
        s.services
            .kpi_records(&a.actor, &q, r.which.as_deref(), r.page.unwrap_or(1))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TrendQuery {
    /// Months ending with the month of `at` (1–36, default 12).
    pub months: Option<u32>,
}

/// The KPI month by month for the scope.
#[utoipa::path(get, path = "/api/v1/kpis/trend", tag = "management", params(KpiQuery, TrendQuery),
    responses((status = 200, body = Vec<KpiPoint>), (status = 422, body = ErrorBody)))]
async fn trend(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
    ApiQuery(t): ApiQuery<TrendQuery>,
) -> ApiResult<Json<Vec<KpiPoint>>> {
    Ok(Json(
        s.services
            .kpi_trend(&a.actor, &q, t.months.unwrap_or(12))
            .await
            .map_err(|e| a.err(e))?,
    ))
}
