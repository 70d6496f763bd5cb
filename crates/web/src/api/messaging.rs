//! Messaging through the API: the SMS gateway's webhooks (delivery status, inbound replies;
//! authenticated by the shared secret in `X-Gateway-Secret`, not by a staff token), the
//! outbox for managers (list, one message with its history, retry a failed one, enqueue),
//! and the suppression list.

use super::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody, lang_of};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use dealerbase_service::messaging::{EnqueueReport, InboundOutcome, NewMessage};
use dealerbase_store::messaging::{MessageEvent, OutboxFilter, OutboxRow, SuppressionRow};
use dealerbase_store::{Id, Page};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sms_inbound))
        .routes(routes!(sms_status))
        .routes(routes!(list_messages, enqueue_messages))
        .routes(routes!(message))
        .routes(routes!(retry_message))
        .routes(routes!(list_suppressions, add_suppression))
        .routes(routes!(remove_suppression))
}

fn gateway_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-gateway-secret")
        .and_then(|v| v.to_str().ok())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct InboundSms {
    /// The sender's mobile number.
    pub from: String,
    pub text: String,
}

/// The SMS gateway's inbound webhook: a customer's reply. T, TD, 退订 and R put the number
/// on the suppression list and withdraw its marketing-SMS consent.
#[utoipa::path(post, path = "/api/v1/sms/inbound", tag = "messaging", request_body = InboundSms, security(()),
    params(("X-Gateway-Secret" = String, Header, description = "the shared secret configured for the gateway")),
    responses((status = 200, body = InboundOutcome), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sms_inbound(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<InboundSms>,
) -> ApiResult<Json<InboundOutcome>> {
    let lang = lang_of(&headers);
    s.services
        .sms_inbound(gateway_secret(&headers), &body.from, &body.text)
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, lang))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SmsStatus {
    /// The gateway's message id, or our idempotency key.
    pub id: String,
    /// delivered | failed
    pub status: String,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusRecorded {
    pub message_id: Id,
}

/// The SMS gateway's delivery report for a message.
#[utoipa::path(post, path = "/api/v1/sms/status", tag = "messaging", request_body = SmsStatus, security(()),
    params(("X-Gateway-Secret" = String, Header, description = "the shared secret configured for the gateway")),
    responses((status = 200, body = StatusRecorded), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sms_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SmsStatus>,
) -> ApiResult<Json<StatusRecorded>> {
    let lang = lang_of(&headers);
    s.services
        .sms_status(
            gateway_secret(&headers),
            &body.id,
            &body.status,
            &body.detail,
        )
        .await
        .map(|message_id| Json(StatusRecorded { message_id }))
        .map_err(|e| ApiError::new(e, lang))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct OutboxQuery {
    /// queued | sending | sent | delivered | failed | skipped
    pub status: Option<String>,
    /// sms | email | phone
    pub channel: Option<String>,
    /// marketing | service_notice
    pub purpose: Option<String>,
    /// Group roles: one store (default every store of the group)
    pub store_id: Option<Id>,
    pub page: Option<u32>,
}

/// The outbox (administrators, group staff, general managers, sales managers, marketing),
/// newest first, with each message's status and skip reason; addresses masked unless the
/// role may reveal personal data.
#[utoipa::path(get, path = "/api/v1/messages", tag = "messaging", params(OutboxQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_messages(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<Page<OutboxRow>>> {
    let f = OutboxFilter {
        store_id: q.store_id,
        group_id: 0,
        status: q.status.filter(|s| !s.is_empty()),
        channel: q.channel.filter(|s| !s.is_empty()),
        purpose: q.purpose.filter(|s| !s.is_empty()),
        page: q.page.unwrap_or(1),
        per_page: 50,
    };
    Ok(Json(
        s.services.outbox(&a.actor, f).await.map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnqueueBody {
    pub messages: Vec<NewMessage>,
}

/// Enqueues messages (one transaction): each is queued or skipped with its reason
/// (`no_consent`, `suppressed`, `duplicate_today`, `frequency_cap`, `invalid_address`).
#[utoipa::path(post, path = "/api/v1/messages", tag = "messaging", request_body = EnqueueBody,
    responses((status = 200, body = EnqueueReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn enqueue_messages(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(body): ApiJson<EnqueueBody>,
) -> ApiResult<Json<EnqueueReport>> {
    Ok(Json(
        s.services
            .enqueue_messages_as(&a.actor, &body.messages)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub message: OutboxRow,
    pub events: Vec<MessageEvent>,
}

/// One message with its status history.
#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messaging", params(("id" = i64, Path, description = "message id")),
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody)))]
async fn message(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<MessageView>> {
    let (message, events) = s
        .services
        .outbox_message(&a.actor, id)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(MessageView { message, events }))
}

/// Puts a failed message back in the queue (audited).
#[utoipa::path(post, path = "/api/v1/messages/{id}/retry", tag = "messaging", params(("id" = i64, Path, description = "message id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn retry_message(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    s.services
        .retry_message(&a.actor, id)
        .await
        .map_err(|e| a.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct PageQuery {
    pub page: Option<u32>,
}

/// The suppression list, newest first.
#[utoipa::path(get, path = "/api/v1/suppressions", tag = "messaging", params(PageQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn list_suppressions(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<SuppressionRow>>> {
    Ok(Json(
        s.services
            .suppression_list(&a.actor, q.page.unwrap_or(1))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuppressionInput {
    /// A mobile number or an e-mail address.
    pub address: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressionAdded {
    /// False when the address was on the list already.
    pub added: bool,
}

/// Adds a number or an address to the suppression list by hand (audited).
#[utoipa::path(post, path = "/api/v1/suppressions", tag = "messaging", request_body = SuppressionInput,
    responses((status = 200, body = SuppressionAdded), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_suppression(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(body): ApiJson<SuppressionInput>,
) -> ApiResult<Json<SuppressionAdded>> {
    let added = s
        .services
        .add_suppression(&a.actor, &body.address, &body.reason)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(SuppressionAdded { added }))
}

/// Removes an entry from the suppression list (audited).
#[utoipa::path(delete, path = "/api/v1/suppressions/{id}", tag = "messaging", params(("id" = i64, Path, description = "entry id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_suppression(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    s.services
        .remove_suppression(&a.actor, id)
        .await
        .map_err(|e| a.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}
