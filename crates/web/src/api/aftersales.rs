//! After-sales retention through the API: outbound calls and their outcomes, renewal
//! lists, a car's due prediction, appointments and arrivals, follow-up questionnaires,
//! complaints with their timers, and the KPIs. The same services as the pages.

use super::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dealerbase_domain::aftersales::AftersalesSettings;
use dealerbase_service::aftersales::{
    AftersalesKpis, AppointmentInput, ArrivalView, CallQuery, ComplaintInput, ComplaintQuery,
    ComplaintStepInput, ComplaintView, FollowUpInput, FollowUpResult, OutcomeInput, OutcomeResult,
    QuestionnaireInput, VehicleDue,
};
use dealerbase_store::Id;
use dealerbase_store::aftersales::{CallItem, Question, Questionnaire, RenewalItem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calls))
        .routes(routes!(outcome))
        .routes(routes!(questionnaire, follow_up))
        .routes(routes!(renewals))
        .routes(routes!(vehicle_due))
        .routes(routes!(arrivals, book))
        .routes(routes!(appointment_status))
        .routes(routes!(complaints, open_complaint))
        .routes(routes!(complaint))
        .routes(routes!(complaint_step))
        .routes(routes!(create_questionnaire))
        .routes(routes!(kpis))
        .routes(routes!(get_settings, put_settings))
}

/// A store's after-sales settings: every reminder offset, window and threshold (defaults
/// from DOMAIN.md §3 for keys not set).
#[utoipa::path(get, path = "/api/v1/aftersales/settings/{id}", tag = "aftersales", params(("id" = i64, Path, description = "store id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_settings(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<AftersalesSettings>> {
    Ok(Json(
        s.services
            .aftersales_settings_of(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Replaces a store's after-sales settings (administrators, group staff, the store's
/// general manager); missing keys take the defaults.
#[utoipa::path(put, path = "/api/v1/aftersales/settings/{id}", tag = "aftersales", params(("id" = i64, Path, description = "store id")),
    request_body(content = Object),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_settings(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<AftersalesSettings>,
) -> ApiResult<Json<AftersalesSettings>> {
    s.services
        .set_aftersales_settings(&a.actor, id, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(
        s.services
            .aftersales_settings_of(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The caller's outbound calls due (role pool and own), mobiles masked.
#[utoipa::path(get, path = "/api/v1/aftersales/calls", tag = "aftersales", params(CallQuery),
    responses((status = 200, body = Vec<CallItem>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn calls(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<CallQuery>,
) -> ApiResult<Json<Vec<CallItem>>> {
    Ok(Json(
        s.services
            .call_list(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Records the outcome of a call (booked, declined, unreachable — retried by the store's
/// rule — wrong number, serviced elsewhere, do not contact).
#[utoipa::path(post, path = "/api/v1/aftersales/tasks/{id}/outcome", tag = "aftersales", params(("id" = i64, Path)),
    request_body = OutcomeInput,
    responses((status = 200, body = OutcomeResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn outcome(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> ApiResult<Json<OutcomeResult>> {
    Ok(Json(
        s.services
            .record_outcome(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireOfTask {
    pub task_id: Id,
    pub questionnaire: Questionnaire,
    pub questions: Vec<Question>,
}

/// The questionnaire of a follow-up call task.
#[utoipa::path(get, path = "/api/v1/aftersales/tasks/{id}/follow-up", tag = "aftersales", params(("id" = i64, Path)),
    responses((status = 200, body = QuestionnaireOfTask), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn questionnaire(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<QuestionnaireOfTask>> {
    let (task, questionnaire, questions) = s
        .services
        .questionnaire_for_task(&a.actor, id)
        .await
        .map_err(|e| a.err(e))?;
    Ok(Json(QuestionnaireOfTask {
        task_id: task.id,
        questionnaire,
        questions,
    }))
}

/// Stores the answers of a follow-up call; a low score or a dissatisfied answer opens a
/// complaint (its id is returned).
#[utoipa::path(post, path = "/api/v1/aftersales/tasks/{id}/follow-up", tag = "aftersales", params(("id" = i64, Path)),
    request_body = FollowUpInput,
    responses((status = 201, body = FollowUpResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn follow_up(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<FollowUpInput>,
) -> ApiResult<(StatusCode, Json<FollowUpResult>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .record_follow_up(&a.actor, id, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RenewalQuery {
    /// Policies ending within this many days (1–180, default 90).
    pub within: Option<i64>,
}

/// Policies ending soon and not renewed (the T−90/60/30 lists), mobiles masked.
#[utoipa::path(get, path = "/api/v1/aftersales/renewals", tag = "aftersales", params(RenewalQuery),
    responses((status = 200, body = Vec<RenewalItem>), (status = 401, body = ErrorBody)))]
async fn renewals(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<RenewalQuery>,
) -> ApiResult<Json<Vec<RenewalItem>>> {
    Ok(Json(
        s.services
            .renewal_list(&a.actor, q.within.unwrap_or(90))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// What a car is due for: next maintenance (time or km rule, daily km and its source),
/// first/second service windows, open recalls and campaigns.
#[utoipa::path(get, path = "/api/v1/aftersales/vehicles/{id}/due", tag = "aftersales", params(("id" = i64, Path)),
    responses((status = 200, body = VehicleDue), (status = 404, body = ErrorBody)))]
async fn vehicle_due(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<VehicleDue>> {
    Ok(Json(
        s.services
            .vehicle_due(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ArrivalQuery {
    /// YYYY-MM-DD; default today.
    pub date: Option<chrono::NaiveDate>,
}

/// A day's appointments with what each car is due for, its open recalls, and the owner's
/// value and churn risk from the newest mining snapshot.
#[utoipa::path(get, path = "/api/v1/aftersales/appointments", tag = "aftersales", params(ArrivalQuery),
    responses((status = 200, body = Vec<ArrivalView>), (status = 400, body = ErrorBody)))]
async fn arrivals(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ArrivalQuery>,
) -> ApiResult<Json<Vec<ArrivalView>>> {
    Ok(Json(
        s.services
            .arrivals(&a.actor, q.date)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: Id,
}

/// Books an appointment for a vehicle and a service.
#[utoipa::path(post, path = "/api/v1/aftersales/appointments", tag = "aftersales", request_body = AppointmentInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn book(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<AppointmentInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .services
        .book_appointment(&a.actor, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusInput {
    /// arrived | no_show | cancelled
    pub status: String,
}

/// Marks a booked appointment arrived, no-show or cancelled.
#[utoipa::path(post, path = "/api/v1/aftersales/appointments/{id}/status", tag = "aftersales", params(("id" = i64, Path)),
    request_body = StatusInput,
    responses((status = 204), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn appointment_status(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<StatusInput>,
) -> ApiResult<StatusCode> {
    s.services
        .appointment_status(&a.actor, id, &input.status)
        .await
        .map_err(|e| a.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The complaint board with each complaint's timers.
#[utoipa::path(get, path = "/api/v1/aftersales/complaints", tag = "aftersales", params(ComplaintQuery),
    responses((status = 200, body = Vec<ComplaintView>), (status = 401, body = ErrorBody)))]
async fn complaints(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ComplaintQuery>,
) -> ApiResult<Json<Vec<ComplaintView>>> {
    Ok(Json(
        s.services
            .complaint_board(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Registers a complaint (channel, category, severity, vehicle, work order, owner).
#[utoipa::path(post, path = "/api/v1/aftersales/complaints", tag = "aftersales", request_body = ComplaintInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn open_complaint(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<ComplaintInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .services
        .open_complaint(&a.actor, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// One complaint with its timers (contact, outcome, close in working days).
#[utoipa::path(get, path = "/api/v1/aftersales/complaints/{id}", tag = "aftersales", params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintView), (status = 404, body = ErrorBody)))]
async fn complaint(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<ComplaintView>> {
    Ok(Json(
        s.services
            .complaint(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Records a complaint's progress: contact, outcome (resolution) or close (with the
/// customer's satisfaction).
#[utoipa::path(post, path = "/api/v1/aftersales/complaints/{id}/step", tag = "aftersales", params(("id" = i64, Path)),
    request_body = ComplaintStepInput,
    responses((status = 200, body = ComplaintView), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn complaint_step(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<ComplaintStepInput>,
) -> ApiResult<Json<ComplaintView>> {
    Ok(Json(
        s.services
            .complaint_step(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// A questionnaire template: questions with answer scales, weights and required flags.
#[utoipa::path(post, path = "/api/v1/aftersales/questionnaires", tag = "aftersales", request_body = QuestionnaireInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_questionnaire(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<QuestionnaireInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .services
        .create_questionnaire(&a.actor, &input)
        .await
        .map_err(|e| a.err(e))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct KpiQuery {
    /// Months back (1–24, default 12).
    pub months: Option<u32>,
    /// One store of the caller's (group roles see every store by default).
    pub store_id: Option<Id>,
}

/// First/second-service return, renewal, follow-up success, satisfaction (CSI/SSI),
/// complaint closure within two weeks by category, lapsed owners, scores per staff.
#[utoipa::path(get, path = "/api/v1/aftersales/kpis", tag = "aftersales", params(KpiQuery),
    responses((status = 200, body = AftersalesKpis), (status = 401, body = ErrorBody)))]
async fn kpis(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> ApiResult<Json<AftersalesKpis>> {
    Ok(Json(
        s.services
            .aftersales_kpis(&a.actor, q.months.unwrap_or(12), q.store_id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}
