//! Mining results: the newest snapshot's group-level results, a customer's scores, and the
//! churn-risk list (a campaign target list). Scope comes from the caller's role and is
//! applied in the store queries.

use super::{ApiActor, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use dealerbase_store::Id;
use dealerbase_store::mining::CustomerScore;
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
