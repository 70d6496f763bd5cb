//! Marketing segments: the field catalogue, live evaluation (count + masked sample), saved
//! segments (CRUD, freeze / unfreeze) and their members, paged by customer id.

use super::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dealerbase_domain::segment::Definition;
use dealerbase_service::campaign_results::{CampaignResults, Overview};
use dealerbase_service::export::ExportFormat;
use dealerbase_service::marketing::{
    CampaignInput, CampaignView, Evaluation, FieldView, MembersPage, PrepareReport, PreviewRow,
    RecipientsPage, SAMPLE_SIZE, SegmentInput, SegmentView, SendReport, field_catalogue,
};
use dealerbase_store::campaigns::CampaignRow;
use dealerbase_store::{Id, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(fields))
        .routes(routes!(evaluate))
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
        .routes(routes!(members))
        .routes(routes!(export_members))
        .routes(routes!(campaigns, create_campaign))
        .routes(routes!(campaign))
        .routes(routes!(preview_campaign))
        .routes(routes!(prepare_campaign))
        .routes(routes!(send_campaign))
        .routes(routes!(campaign_results))
        .routes(routes!(results_overview))
        .routes(routes!(campaign_recipients))
        .routes(routes!(record_invitation))
}

/// The fields a segment condition may use, with their operators and choices.
#[utoipa::path(get, path = "/api/v1/segments/fields", tag = "marketing",
    responses((status = 200, body = Vec<FieldView>), (status = 401, body = ErrorBody)))]
async fn fields(a: ApiActor) -> Json<Vec<FieldView>> {
    Json(field_catalogue(a.lang))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EvaluateInput {
    /// `{"conditions": [...]}`: leaves `{"field", "op", "value", "months"?}` and groups
    /// `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`; all top-level conditions hold.
    #[schema(value_type = Object)]
    pub definition: Definition,
    /// Sample size (default 20, at most 500).
    pub sample: Option<i64>,
}

/// Counts the customers in the caller's scope that match a definition and returns a
/// sample of them (mobiles masked).
#[utoipa::path(post, path = "/api/v1/segments/evaluate", tag = "marketing", request_body = EvaluateInput,
    responses((status = 200, body = Evaluation), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn evaluate(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<EvaluateInput>,
) -> ApiResult<Json<Evaluation>> {
    Ok(Json(
        s.services
            .evaluate_segment(
                &a.actor,
                &input.definition,
                input.sample.unwrap_or(SAMPLE_SIZE),
                a.lang,
            )
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Saved segments the caller may see (their store's and the group's), newest first.
#[utoipa::path(get, path = "/api/v1/segments", tag = "marketing", params(PageQuery),
    responses((status = 200, body = Page<SegmentView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<SegmentView>>> {
    Ok(Json(
        s.services
            .segments(&a.actor, q.page.unwrap_or(1), q.per_page.unwrap_or(50))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Saves a new (dynamic) segment.
#[utoipa::path(post, path = "/api/v1/segments", tag = "marketing", request_body = SegmentInput,
    responses((status = 201, body = SegmentView), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<SegmentView>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_segment(&a.actor, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

/// One saved segment.
#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 200, body = SegmentView), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn get_one(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(
        s.services
            .segment(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Renames a segment or changes its definition (409 `conflict` on `mode` when it is
/// frozen and the definition changes: unfreeze it first).
#[utoipa::path(put, path = "/api/v1/segments/{id}", tag = "marketing", params(("id" = i64, Path)), request_body = SegmentInput,
    responses((status = 200, body = SegmentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(
        s.services
            .update_segment(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Deletes a segment and its frozen list.
#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_segment(&a.actor, id)
        .await
        .map_err(|e| a.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Freezes the segment's current members (in the caller's scope) as its list.
#[utoipa::path(post, path = "/api/v1/segments/{id}/freeze", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 200, body = SegmentView), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn freeze(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(
        s.services
            .freeze_segment(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Makes a frozen segment dynamic again (its list is dropped).
#[utoipa::path(post, path = "/api/v1/segments/{id}/unfreeze", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 200, body = SegmentView), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn unfreeze(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(
        s.services
            .unfreeze_segment(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct MembersQuery {
    /// Continue after this customer id (the previous page's `next_after`).
    pub after: Option<Id>,
    /// Page size (default 100, at most 500).
    pub limit: Option<i64>,
}

/// Members of a saved segment in the caller's scope, by customer id: a dynamic segment is
/// evaluated now, a frozen one reads its list. Mobiles masked.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members", tag = "marketing", params(("id" = i64, Path), MembersQuery),
    responses((status = 200, body = MembersPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn members(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> ApiResult<Json<MembersPage>> {
    Ok(Json(
        s.services
            .segment_members(
                &a.actor,
                id,
                q.after.unwrap_or(0),
                q.limit.unwrap_or(100),
                a.lang,
            )
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ExportQuery {
    /// csv (default) | xlsx
    pub format: Option<String>,
}

/// All members as CSV or XLSX (mobiles masked); audited.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members/export", tag = "marketing", params(("id" = i64, Path), ExportQuery),
    responses((status = 200, description = "the file (text/csv or XLSX)"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_members(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(q.format.as_deref().unwrap_or("csv")).map_err(|e| a.err(e))?;
    let mut body = Vec::new();
    s.services
        .export_segment_members(&a.actor, id, format, a.lang, &mut body)
        .await
        .map_err(|e| a.err(e))?;
    Ok(export_response(format, &format!("segment-{id}"), body))
}

pub(crate) fn export_response(format: ExportFormat, stem: &str, body: Vec<u8>) -> Response {
    let name = format!("{stem}.{}", format.extension());
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

// ---- campaigns ----------------------------------------------------------------------------------

/// Campaigns the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "marketing",
    responses((status = 200, body = Vec<CampaignRow>), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn campaigns(State(s): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<CampaignRow>>> {
    Ok(Json(
        s.services.campaigns(&a.actor).await.map_err(|e| a.err(e))?,
    ))
}

/// Creates a draft campaign on a saved segment: kind (sms, email, phone, test_drive,
/// event), schedule, budget and cost per contact (yuan), control group percent, templates
/// with `{姓名}` `{车牌}` `{车型}` `{到期日}` `{门店}` `{顾问}`.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "marketing", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_campaign(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_campaign(&a.actor, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

/// One campaign with its recipients by status and the planned cost.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn campaign(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(
        s.services
            .campaign(&a.actor, id, a.lang)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct PreviewQuery {
    /// How many recipients (default 10, at most 100).
    pub n: Option<i64>,
}

/// The first recipients' messages as they would be prepared (nothing is stored).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/preview", tag = "marketing", params(("id" = i64, Path), PreviewQuery),
    responses((status = 200, body = Vec<PreviewRow>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn preview_campaign(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> ApiResult<Json<Vec<PreviewRow>>> {
    Ok(Json(
        s.services
            .preview_campaign(&a.actor, id, q.n.unwrap_or(10))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Prepares the campaign once: recipients with the control group held out, rendered
/// messages, and call tasks for phone campaigns. Nothing is sent. Preparing again
/// changes nothing (`already_prepared`).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/prepare", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 200, body = PrepareReport), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn prepare_campaign(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<PrepareReport>> {
    Ok(Json(
        s.services
            .prepare_campaign(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Sends a prepared SMS or e-mail campaign through the outbox (consent, suppression list,
/// identical messages, frequency cap and sending hours are checked per message); each
/// recipient's status says what became of its message. Sending again adds nothing.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/send", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 200, body = SendReport), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn send_campaign(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<SendReport>> {
    Ok(Json(
        s.services
            .send_campaign(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// A campaign's response and return: a response is a visit, work order, order or test drive
/// of a recipient in the response window (the day it went out and the following days);
/// target, reached and control groups, uplift, incremental revenue, cost, return on spend,
/// by channel, by first response and by months since the last visit. `null` while the
/// campaign has not gone out.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/results", tag = "marketing", params(("id" = i64, Path)),
    responses((status = 200, body = Option<CampaignResults>), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn campaign_results(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<Option<CampaignResults>>> {
    Ok(Json(
        s.services
            .campaign_results(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Every campaign in the caller's view with its results, and the totals by channel and by
/// segment.
#[utoipa::path(get, path = "/api/v1/campaigns/results", tag = "marketing",
    responses((status = 200, body = Overview), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn results_overview(State(s): State<AppState>, a: ApiActor) -> ApiResult<Json<Overview>> {
    Ok(Json(
        s.services
            .campaign_overview(&a.actor, a.lang)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Recipients in the caller's scope, by customer id (mobiles masked).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/recipients", tag = "marketing", params(("id" = i64, Path), MembersQuery),
    responses((status = 200, body = RecipientsPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn campaign_recipients(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> ApiResult<Json<RecipientsPage>> {
    Ok(Json(
        s.services
            .campaign_recipients(
                &a.actor,
                id,
                q.after.unwrap_or(0),
                q.limit.unwrap_or(100),
                a.lang,
            )
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationInput {
    /// invite | accept | decline | attend | no_show
    pub step: String,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct InvitationResult {
    /// The recipient's status now.
    pub status: String,
}

/// Records an invitation, an RSVP or attendance for a recipient of a test-drive or event
/// campaign (422 naming `step` when the step does not follow).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/recipients/{customer_id}/invitation", tag = "marketing",
    params(("id" = i64, Path), ("customer_id" = i64, Path)), request_body = InvitationInput,
    responses((status = 200, body = InvitationResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn record_invitation(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath((id, customer_id)): ApiPath<(Id, Id)>,
    ApiJson(input): ApiJson<InvitationInput>,
) -> ApiResult<Json<InvitationResult>> {
    Ok(Json(InvitationResult {
        status: s
            .services
            .record_invitation(&a.actor, id, customer_id, &input.step)
            .await
            .map_err(|e| a.err(e))?,
    }))
}
