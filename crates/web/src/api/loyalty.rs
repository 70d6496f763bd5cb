//! Loyalty points through the API: a member's points (ledger with lots, balance, tier,
//! member number), redemption, transfer within a household, manual adjustment (managers),
//! and a store's loyalty settings. The same services as the pages.

use super::{ApiActor, ApiJson, ApiPath};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use dealerbase_domain::loyalty::LoyaltySettings;
use dealerbase_service::loyalty::{AdjustInput, LoyaltyView, RedeemInput, TransferInput};
use dealerbase_store::Id;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_loyalty))
        .routes(routes!(redeem))
        .routes(routes!(transfer))
        .routes(routes!(adjust))
        .routes(routes!(get_settings, put_settings))
}

/// The ledger entries a write created.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryIds {
    pub entry_ids: Vec<Id>,
    /// The member's balance afterwards.
    pub balance: i64,
}

/// A customer's points: member number, tier, balance, ledger (with the lots each debit
/// used), lots, trailing-12-month figures and household members.
#[utoipa::path(get, path = "/api/v1/customers/{id}/loyalty", tag = "loyalty", params(("id" = i64, Path)),
    responses((status = 200, body = LoyaltyView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn get_loyalty(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<LoyaltyView>> {
    Ok(Json(
        s.services
            .customer_loyalty(&a.actor, id, a.lang)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

async fn balance(s: &AppState, a: &ApiActor, id: Id) -> ApiResult<i64> {
    Ok(s.services
        .loyalty_summary(id, a.lang)
        .await
        .map_err(|e| a.err(e))?
        .balance)
}

/// Redeems points (first to expire used first). 422 `insufficient_points` names the balance.
#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/redeem", tag = "loyalty", params(("id" = i64, Path)),
    request_body = RedeemInput,
    responses((status = 200, body = EntryIds), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn redeem(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<RedeemInput>,
) -> ApiResult<Json<EntryIds>> {
    let e = s
        .services
        .redeem_points(&a.actor, id, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(EntryIds {
        entry_ids: vec![e],
        balance: balance(&s, &a, id).await?,
    }))
}

/// Transfers points to a household member; answers the transfer_out and transfer_in
/// entries. 422 `not_household` when the receiver is not of the household.
#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/transfer", tag = "loyalty", params(("id" = i64, Path)),
    request_body = TransferInput,
    responses((status = 200, body = EntryIds), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn transfer(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<TransferInput>,
) -> ApiResult<Json<EntryIds>> {
    let (out, inn) = s
        .services
        .transfer_points(&a.actor, id, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(EntryIds {
        entry_ids: vec![out, inn],
        balance: balance(&s, &a, id).await?,
    }))
}

/// A manual adjustment with its reason (sales managers, general managers, administrators;
/// audited). Positive points open a lot; negative ones take points first-expiring first.
#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/adjust", tag = "loyalty", params(("id" = i64, Path)),
    request_body = AdjustInput,
    responses((status = 200, body = EntryIds), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn adjust(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<AdjustInput>,
) -> ApiResult<Json<EntryIds>> {
    let e = s
        .services
        .adjust_points(&a.actor, id, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(EntryIds {
        entry_ids: vec![e],
        balance: balance(&s, &a, id).await?,
    }))
}

/// A store's loyalty settings: earning rates, kind percents, rounding, expiry, tiers.
#[utoipa::path(get, path = "/api/v1/loyalty/settings/{id}", tag = "loyalty", params(("id" = i64, Path, description = "store id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_settings(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(store_id): ApiPath<Id>,
) -> ApiResult<Json<LoyaltySettings>> {
    Ok(Json(
        s.services
            .loyalty_settings_of(&a.actor, store_id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Replaces a store's loyalty settings (administrators, group staff, the store's general
/// manager); missing keys take the defaults; every broken rule is reported.
#[utoipa::path(put, path = "/api/v1/loyalty/settings/{id}", tag = "loyalty", params(("id" = i64, Path, description = "store id")),
    request_body(content = Object),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_settings(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(store_id): ApiPath<Id>,
    ApiJson(input): ApiJson<LoyaltySettings>,
) -> ApiResult<Json<LoyaltySettings>> {
    s.services
        .set_loyalty_settings(&a.actor, store_id, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(
        s.services
            .loyalty_settings_of(&a.actor, store_id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}
