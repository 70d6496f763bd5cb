//! Mining results: the newest snapshot's group-level results, a customer's scores, and the
//! churn-risk list (a campaign target list). Scope comes from the caller's role and is
//! applied in the store queries.

use super::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dealerbase_service::export::ExportFormat;
use dealerbase_service::mining_views::{
    CallListInput, CallListReport, CampaignResponse, MiningDashboard, ScoreQuery, VehicleCrossSell,
};
use dealerbase_store::Id;
use dealerbase_store::Page;
use dealerbase_store::mining::CustomerScore;
use dealerbase_store::mining_views::ScoredCustomer;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(customer_scores))
        .routes(routes!(churn_risks))
        .routes(routes!(dashboard))
        .routes(routes!(campaign_response))
        .routes(routes!(scores))
        .routes(routes!(export_scores))
        .routes(routes!(create_call_list))
        .routes(routes!(cross_sell))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoreParam {
    /// One store of the caller's group (group roles); store roles always get their store.
    pub store_id: Option<Id>,
}

fn no_snapshot(a: &ApiActor) -> ApiError {
    a.err(dealerbase_service::ServiceError::NotFound {
        entity: "mining snapshot",
        id: "latest".into(),
    })
}

/// The mining dashboard's numbers for the caller's store, the group, or one store of it:
/// segments, tiers, churn-risk deciles and CLV sums from the scores (scoped), Pareto,
/// Lorenz and Gini, retention curves, model quality, rules, loyalty, campaign response.
#[utoipa::path(get, path = "/api/v1/mining/dashboard", tag = "mining", params(StoreParam),
    responses((status = 200, body = MiningDashboard), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn dashboard(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<StoreParam>,
) -> ApiResult<Json<MiningDashboard>> {
    let d = s
        .services
        .mining_dashboard(&a.actor, q.store_id, a.lang)
        .await
        .map_err(|e| a.err(e))?
        .ok_or_else(|| no_snapshot(&a))?;
    Ok(Json(d))
}

/// Campaign response by whole months since the customer's last service visit (outbound
/// campaign, call-list and win-back contacts; a response is a service visit within 30 days).
#[utoipa::path(get, path = "/api/v1/mining/campaign-response", tag = "mining", params(StoreParam),
    responses((status = 200, body = CampaignResponse), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn campaign_response(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<StoreParam>,
) -> ApiResult<Json<CampaignResponse>> {
    let d = s
        .services
        .mining_dashboard(&a.actor, q.store_id, a.lang)
        .await
        .map_err(|e| a.err(e))?
        .ok_or_else(|| no_snapshot(&a))?;
    Ok(Json(d.campaign_response))
}

/// Scored customers in the caller's scope with filters, highest churn risk first (a
/// campaign target list); mobiles masked.
#[utoipa::path(get, path = "/api/v1/mining/scores", tag = "mining", params(ScoreQuery),
    responses((status = 200, body = Page<ScoredCustomer>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn scores(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ScoreQuery>,
) -> ApiResult<Json<Page<ScoredCustomer>>> {
    Ok(Json(
        s.services
            .scored_customers(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ScoreExportQuery {
    /// csv (default) | xlsx
    pub format: Option<String>,
    /// RFM segment code (as in `/api/v1/mining/scores`)
    pub segment: Option<String>,
    /// platinum | gold | silver | bronze
    pub tier: Option<String>,
    /// Churn risk at least this many percent (0–100)
    pub min_churn: Option<i64>,
    /// Trade-in propensity at least this many percent (0–100)
    pub min_trade_in: Option<i64>,
    pub store_id: Option<Id>,
}

/// The whole filtered list as CSV or XLSX; mobiles masked unless the role may see them;
/// audited.
#[utoipa::path(get, path = "/api/v1/mining/scores/export", tag = "mining", params(ScoreExportQuery),
    responses((status = 200, description = "the file (text/csv or XLSX)"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_scores(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ScoreExportQuery>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(q.format.as_deref().unwrap_or("csv")).map_err(|e| a.err(e))?;
    let query = ScoreQuery {
        segment: q.segment,
        tier: q.tier,
        min_churn: q.min_churn,
        min_trade_in: q.min_trade_in,
        store_id: q.store_id,
        ..Default::default()
    };
    let mut body = Vec::new();
    s.services
        .export_scored_customers(&a.actor, &query, format, a.lang, &mut body)
        .await
        .map_err(|e| a.err(e))?;
    let name = format!("mining-customers.{}", format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Turns the filtered list into call tasks: one per customer with marketing consent, for
/// the chosen care specialist or the customer's consultant; a customer is listed once per
/// snapshot.
#[utoipa::path(post, path = "/api/v1/mining/call-lists", tag = "mining", request_body = CallListInput,
    responses((status = 201, body = CallListReport), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_call_list(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<CallListInput>,
) -> ApiResult<(StatusCode, Json<CallListReport>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_call_list(&a.actor, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct CrossSellQuery {
    /// Line codes of the visit, joined by ','; when absent, the vehicle's open work order
    /// (else its latest) is used.
    pub lines: Option<String>,
}

/// Cross-sell offers for a visit of the vehicle, from the newest snapshot's rules; items
/// of the visit or bought for the vehicle in the past 12 months are left out.
#[utoipa::path(get, path = "/api/v1/vehicles/{id}/cross-sell", tag = "mining", params(("id" = i64, Path), CrossSellQuery),
    responses((status = 200, body = VehicleCrossSell), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn cross_sell(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(q): ApiQuery<CrossSellQuery>,
) -> ApiResult<Json<VehicleCrossSell>> {
    let lines = q.lines.map(|l| {
        l.split(',')
            .map(|x| x.trim().to_string())
            .collect::<Vec<_>>()
    });
    Ok(Json(
        s.services
            .cross_sell(&a.actor, id, lines)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MiningSummary {
    pub run_id: Id,
    pub as_of: chrono::NaiveDate,
    pub customers: i64,
    pub transactions: i64,
    /// Segments, tiers, Pareto table, Lorenz curve, Gini, model quality (AUC, Brier,
    /// calibration), retention curves, churn critical point, rules, loyalty matrix.
    #[schema(value_type = Object)]
    pub results: serde_json::Value,
}

/// The newest mining snapshot's group-level results (managers and group staff).
#[utoipa::path(get, path = "/api/v1/mining/summary", tag = "mining",
    responses((status = 200, body = MiningSummary), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn summary(State(s): State<AppState>, a: ApiActor) -> ApiResult<Json<MiningSummary>> {
    let (run, results) = s
        .services
        .mining_summary(&a.actor)
        .await
        .map_err(|e| a.err(e))?
        .ok_or_else(|| {
            a.err(dealerbase_service::ServiceError::NotFound {
                entity: "mining snapshot",
                id: "latest".into(),
            })
        })?;
    Ok(Json(MiningSummary {
        run_id: run.id,
        as_of: run.as_of,
        customers: run.customers,
        transactions: run.transactions,
        results,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerScores {
    pub scores: CustomerScore,
    /// The churn reasons in the caller's language.
    pub churn_reasons: String,
    pub trade_in_reasons: String,
}

/// A customer's scores in the newest snapshot (404 when none or out of scope).
#[utoipa::path(get, path = "/api/v1/mining/customers/{id}", tag = "mining", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerScores), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn customer_scores(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<CustomerScores>> {
    let scores = s
        .services
        .customer_scores(&a.actor, id)
        .await
        .map_err(|e| a.err(e))?
        .ok_or_else(|| {
            a.err(dealerbase_service::ServiceError::NotFound {
                entity: "customer",
                id: id.to_string(),
            })
        })?;
    let words = |c: &str| dealerbase_service::mining::reasons_in_words(c, a.lang);
    Ok(Json(CustomerScores {
        churn_reasons: words(&scores.churn_reasons),
        trade_in_reasons: words(&scores.trade_in_reasons),
        scores,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RiskQuery {
    /// At most this many customers (1–1000, default 100).
    pub limit: Option<i64>,
}

/// Customers in the caller's scope with the highest churn risk, highest first.
#[utoipa::path(get, path = "/api/v1/mining/churn-risks", tag = "mining", params(RiskQuery),
    responses((status = 200, body = Vec<CustomerScore>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn churn_risks(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<RiskQuery>,
) -> ApiResult<Json<Vec<CustomerScore>>> {
    Ok(Json(
        s.services
            .churn_risk_list(&a.actor, q.limit.unwrap_or(100))
            .await
            .map_err(|e| a.err(e))?,
    ))
}
