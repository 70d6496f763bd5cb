//! The showroom and the leads: traffic log and statistics, lead registration, contacts,
//! hand-overs and the pool, test drives, invitations, orders, delivery, defeat approval,
//! daily reports, analytics with the forecast, tasks, and the store's sales settings.

use super::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dealerbase_service::input::LeadInput;
use dealerbase_service::sales::*;
use dealerbase_store::sales::{
    DailyReportRow, DefeatRow, InvitationRow, LeadView, TaskRow, TestDriveRow, VisitRow,
};
use dealerbase_store::{Id, Lead, Page, SalesOrder};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_visits, log_visit))
        .routes(routes!(visit_left))
        .routes(routes!(visit_to_lead))
        .routes(routes!(traffic_stats))
        .routes(routes!(lead_list))
        .routes(routes!(lead_detail))
        .routes(routes!(record_contact))
        .routes(routes!(assign_lead))
        .routes(routes!(claim_lead))
        .routes(routes!(book_test_drive))
        .routes(routes!(finish_test_drive))
        .routes(routes!(invite))
        .routes(routes!(invitation_outcome))
        .routes(routes!(take_order))
        .routes(routes!(deliver))
        .routes(routes!(request_defeat))
        .routes(routes!(defeat_queue))
        .routes(routes!(decide_defeat))
        .routes(routes!(daily_report_view, submit_daily_report))
        .routes(routes!(list_daily_reports))
        .routes(routes!(sign_daily_report))
        .routes(routes!(analytics))
        .routes(routes!(sales_today))
        .routes(routes!(complete_task))
        .routes(routes!(get_settings, put_settings))
}

fn created<T>(v: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(v))
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
struct DayQuery {
    /// YYYY-MM-DD; default today
    date: Option<String>,
}

fn day_of(q: &DayQuery, a: &ApiActor) -> ApiResult<Option<chrono::NaiveDate>> {
    match q.date.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => dealerbase_domain::dates::parse_dms_date("date", s)
            .map(Some)
            .map_err(|e| a.err(dealerbase_service::ServiceError::invalid(e))),
    }
}

/// The day's showroom traffic log of the caller's store, newest first (mobiles masked).
#[utoipa::path(get, path = "/api/v1/showroom/visits", tag = "showroom", params(DayQuery),
    responses((status = 200, body = Vec<VisitRow>), (status = 422, body = ErrorBody)))]
async fn list_visits(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<Vec<VisitRow>>> {
    let day = day_of(&q, &a)?;
    Ok(Json(
        s.services
            .visits_of_day(&a.actor, day)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Logs a walk-in or a call (来店(电)登记). With `grade`, `visitor_name`, `mobile` and
/// `desired_model_id` the visitor is registered as a lead at once; a known mobile with an
/// open lead makes it that lead's repeat visit.
#[utoipa::path(post, path = "/api/v1/showroom/visits", tag = "showroom", request_body = VisitInput,
    responses((status = 201, body = VisitOutcome), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn log_visit(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<VisitInput>,
) -> ApiResult<(StatusCode, Json<VisitOutcome>)> {
    Ok(created(
        s.services
            .log_visit(&a.actor, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The visitor left (now).
#[utoipa::path(post, path = "/api/v1/showroom/visits/{id}/left", tag = "showroom", params(("id" = i64, Path)),
    responses((status = 200, body = VisitRow), (status = 404, body = ErrorBody)))]
async fn visit_left(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<VisitRow>> {
    Ok(Json(
        s.services
            .visit_left(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Registers the visitor of an earlier traffic record as a lead.
#[utoipa::path(post, path = "/api/v1/showroom/visits/{id}/lead", tag = "showroom", params(("id" = i64, Path)), request_body = LeadInput,
    responses((status = 201, body = Lead), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn visit_to_lead(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<LeadInput>,
) -> ApiResult<(StatusCode, Json<Lead>)> {
    Ok(created(
        s.services
            .visit_to_lead(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Traffic statistics of a period by hour, weekday, day, channel, source and consultant,
/// with the registration rate (留档率).
#[utoipa::path(get, path = "/api/v1/showroom/stats", tag = "showroom", params(PeriodQuery),
    responses((status = 200, body = TrafficStats), (status = 422, body = ErrorBody)))]
async fn traffic_stats(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<TrafficStats>> {
    Ok(Json(
        s.services
            .traffic_stats(&a.actor, &q, a.lang)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Leads with names and masked mobiles; `pool=true` lists the store pool (公海),
/// `overdue=true` the overdue follow-ups.
#[utoipa::path(get, path = "/api/v1/sales/leads", tag = "leads", params(LeadListQuery),
    responses((status = 200, body = Page<LeadView>), (status = 400, body = ErrorBody)))]
async fn lead_list(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<LeadListQuery>,
) -> ApiResult<Json<Page<LeadView>>> {
    Ok(Json(
        s.services
            .lead_list(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Everything about a lead: contacts, the grade history (who, when), hand-overs, test
/// drives, invitations, orders, defeat requests, tasks.
#[utoipa::path(get, path = "/api/v1/leads/{id}/detail", tag = "leads", params(("id" = i64, Path)),
    responses((status = 200, body = LeadDetail), (status = 404, body = ErrorBody)))]
async fn lead_detail(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<LeadDetail>> {
    Ok(Json(
        s.services
            .lead_detail(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Records a contact: outcome and the new grade (the only way a grade changes); the next
/// follow-up is scheduled at the store's cadence for that grade.
#[utoipa::path(post, path = "/api/v1/leads/{id}/contacts", tag = "leads", params(("id" = i64, Path)), request_body = ContactInput,
    responses((status = 201, body = LeadDetail), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn record_contact(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<(StatusCode, Json<LeadDetail>)> {
    Ok(created(
        s.services
            .record_contact(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Hands a lead to another consultant, or (no `to_staff_id`) back to the store pool.
/// Sales managers.
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", tag = "leads", params(("id" = i64, Path)), request_body = AssignInput,
    responses((status = 200, body = LeadDetail), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_lead(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<AssignInput>,
) -> ApiResult<Json<LeadDetail>> {
    Ok(Json(
        s.services
            .assign_lead(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// A consultant claims a lead from the store pool.
#[utoipa::path(post, path = "/api/v1/leads/{id}/claim", tag = "leads", params(("id" = i64, Path)),
    responses((status = 200, body = LeadDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn claim_lead(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<LeadDetail>> {
    Ok(Json(
        s.services
            .claim_lead(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Books a test drive (default: the lead's desired model, now).
#[utoipa::path(post, path = "/api/v1/leads/{id}/test-drives", tag = "leads", params(("id" = i64, Path)), request_body = TestDriveInput,
    responses((status = 201, body = TestDriveRow), (status = 422, body = ErrorBody)))]
async fn book_test_drive(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<TestDriveInput>,
) -> ApiResult<(StatusCode, Json<TestDriveRow>)> {
    Ok(created(
        s.services
            .book_test_drive(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
struct DoneInput {
    /// true: done / came; false: cancelled / did not come
    done: Option<bool>,
}

/// A booked test drive done (`done: true`) or cancelled.
#[utoipa::path(post, path = "/api/v1/test-drives/{id}/finish", tag = "leads", params(("id" = i64, Path)), request_body = DoneInput,
    responses((status = 200, body = TestDriveRow), (status = 422, body = ErrorBody)))]
async fn finish_test_drive(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<DoneInput>,
) -> ApiResult<Json<TestDriveRow>> {
    Ok(Json(
        s.services
            .finish_test_drive(&a.actor, id, input.done.unwrap_or(true))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Invites the lead to the showroom on a day (邀约).
#[utoipa::path(post, path = "/api/v1/leads/{id}/invitations", tag = "leads", params(("id" = i64, Path)), request_body = InvitationInput,
    responses((status = 201, body = InvitationRow), (status = 422, body = ErrorBody)))]
async fn invite(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<InvitationInput>,
) -> ApiResult<(StatusCode, Json<InvitationRow>)> {
    Ok(created(
        s.services
            .invite(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Whether the invited lead came (`done: true`) or not.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/outcome", tag = "leads", params(("id" = i64, Path)), request_body = DoneInput,
    responses((status = 200, body = InvitationRow), (status = 422, body = ErrorBody)))]
async fn invitation_outcome(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<DoneInput>,
) -> ApiResult<Json<InvitationRow>> {
    Ok(Json(
        s.services
            .invitation_outcome(&a.actor, id, input.done.unwrap_or(true))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Takes an order with the deposit and the expected delivery; the lead becomes O.
#[utoipa::path(post, path = "/api/v1/leads/{id}/orders", tag = "leads", params(("id" = i64, Path)), request_body = OrderInput,
    responses((status = 201, body = SalesOrder), (status = 422, body = ErrorBody)))]
async fn take_order(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<(StatusCode, Json<SalesOrder>)> {
    Ok(created(
        s.services
            .take_order(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Delivers an order: registers the car (VIN checked) with the customer as sold here,
/// closes the lead, and schedules the post-delivery calls (D+3, D+7, D+30 by default).
#[utoipa::path(post, path = "/api/v1/orders/{id}/deliver", tag = "leads", params(("id" = i64, Path)), request_body = DeliveryInput,
    responses((status = 200, body = DeliveryOutcome), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn deliver(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<DeliveryInput>,
) -> ApiResult<Json<DeliveryOutcome>> {
    Ok(Json(
        s.services
            .deliver(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Requests a defeat (战败) with a reason; competitor brand and model when the customer
/// bought a competitor, words when the reason is "other".
#[utoipa::path(post, path = "/api/v1/leads/{id}/defeat", tag = "leads", params(("id" = i64, Path)), request_body = DefeatInput,
    responses((status = 201, body = DefeatRow), (status = 422, body = ErrorBody)))]
async fn request_defeat(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<DefeatInput>,
) -> ApiResult<(StatusCode, Json<DefeatRow>)> {
    Ok(created(
        s.services
            .request_defeat(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The defeat approval queue of a sales manager.
#[utoipa::path(get, path = "/api/v1/defeats", tag = "leads",
    responses((status = 200, body = Vec<DefeatRow>), (status = 403, body = ErrorBody)))]
async fn defeat_queue(State(s): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<DefeatRow>>> {
    Ok(Json(
        s.services
            .defeat_queue(&a.actor)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Approves (`approve: true`) or rejects a defeat request; a rejection needs a comment.
#[utoipa::path(post, path = "/api/v1/defeats/{id}/decide", tag = "leads", params(("id" = i64, Path)), request_body = DefeatDecision,
    responses((status = 200, body = DefeatRow), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_defeat(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<DefeatDecision>,
) -> ApiResult<Json<DefeatRow>> {
    Ok(Json(
        s.services
            .decide_defeat(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The caller's daily report (营业日报) for a day: figures built from the day's contacts,
/// and what was submitted and signed.
#[utoipa::path(get, path = "/api/v1/daily-report", tag = "reports", params(DayQuery),
    responses((status = 200, body = DailyReportView), (status = 403, body = ErrorBody)))]
async fn daily_report_view(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<DailyReportView>> {
    let day = day_of(&q, &a)?;
    Ok(Json(
        s.services
            .daily_report_view(&a.actor, day)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Submits the day's report with tomorrow's plan (again, until signed).
#[utoipa::path(post, path = "/api/v1/daily-report", tag = "reports", request_body = DailyReportInput,
    responses((status = 201, body = DailyReportRow), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn submit_daily_report(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<DailyReportInput>,
) -> ApiResult<(StatusCode, Json<DailyReportRow>)> {
    Ok(created(
        s.services
            .submit_daily_report(&a.actor, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
struct ReportsQuery {
    /// Only reports waiting for sign-off
    unsigned: Option<bool>,
}

/// Daily reports in the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/daily-reports", tag = "reports", params(ReportsQuery),
    responses((status = 200, body = Vec<DailyReportRow>)))]
async fn list_daily_reports(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ReportsQuery>,
) -> ApiResult<Json<Vec<DailyReportRow>>> {
    Ok(Json(
        s.services
            .daily_reports(&a.actor, q.unsigned.unwrap_or(false))
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The sales manager signs a daily report, with a comment.
#[utoipa::path(post, path = "/api/v1/daily-reports/{id}/sign", tag = "reports", params(("id" = i64, Path)), request_body = SignInput,
    responses((status = 200, body = DailyReportRow), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sign_daily_report(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<SignInput>,
) -> ApiResult<Json<DailyReportRow>> {
    Ok(Json(
        s.services
            .sign_daily_report(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Sales analytics of a period: the funnel (traffic → registered → test drive → order →
/// delivery), the rates of DOMAIN.md §4, a breakdown by store, source, model or
/// consultant, defeat reasons and competitors, and the 30-day forecast with the rates used.
#[utoipa::path(get, path = "/api/v1/sales/analytics", tag = "reports", params(PeriodQuery),
    responses((status = 200, body = SalesAnalytics), (status = 422, body = ErrorBody)))]
async fn analytics(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<SalesAnalytics>> {
    Ok(Json(
        s.services
            .sales_analytics(&a.actor, &q, a.lang)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The sales part of the caller's "today": upcoming calls, overdue leads, defeat
/// approvals and report sign-offs waiting.
#[utoipa::path(get, path = "/api/v1/sales/today", tag = "reports",
    responses((status = 200, body = SalesToday)))]
async fn sales_today(State(s): State<AppState>, a: ApiActor) -> ApiResult<Json<SalesToday>> {
    Ok(Json(
        s.services
            .sales_today(&a.actor)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Completes a task (a post-delivery call records the contact with its outcome). Lead
/// follow-ups are completed by recording a contact on the lead.
#[utoipa::path(post, path = "/api/v1/sales/tasks/{id}/complete", tag = "reports", params(("id" = i64, Path)), request_body = TaskCompletion,
    responses((status = 200, body = TaskRow), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn complete_task(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<TaskCompletion>,
) -> ApiResult<Json<TaskRow>> {
    Ok(Json(
        s.services
            .complete_sales_task(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// A store's sales settings: cadence per grade, escalation delay, pool days, post-delivery
/// call days (DOMAIN.md defaults where not set).
#[utoipa::path(get, path = "/api/v1/stores/{id}/sales-settings", tag = "stores", params(("id" = i64, Path)),
    responses((status = 200, body = SalesSettingsForm), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_settings(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<SalesSettingsForm>> {
    Ok(Json(
        s.services
            .sales_settings_form(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Changes a store's sales settings (sales manager, general manager, administrator).
#[utoipa::path(put, path = "/api/v1/stores/{id}/sales-settings", tag = "stores", params(("id" = i64, Path)), request_body = SalesSettingsForm,
    responses((status = 200, body = SalesSettingsForm), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_settings(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<SalesSettingsForm>,
) -> ApiResult<Json<SalesSettingsForm>> {
    Ok(Json(
        s.services
            .update_sales_settings(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}
