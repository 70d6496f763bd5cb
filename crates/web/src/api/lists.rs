//! Lists of vehicles, tasks and work orders, and the exports of every list (vehicles,
//! leads, tasks, work orders; customers are in `export.rs`) with the list's filters.

use super::{ApiActor, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dealerbase_service::export::{ExportFormat, TaskQuery, VehicleQuery, WorkOrderQuery};
use dealerbase_service::records::LeadQuery;
use dealerbase_store::Page;
use dealerbase_store::lists::{TaskRow, VehicleRow, WorkOrderRow};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_vehicles))
        .routes(routes!(list_tasks))
        .routes(routes!(list_work_orders))
        .routes(routes!(export_vehicles))
        .routes(routes!(export_leads))
        .routes(routes!(export_tasks))
        .routes(routes!(export_work_orders))
}

/// How to write an export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ExportParams {
    /// csv (default) | xlsx
    pub format: Option<String>,
    /// Full mobile numbers (roles that may reveal them only; audited)
    pub reveal: Option<bool>,
}

fn file(name: &str, format: ExportFormat, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{}\"", format.extension()),
            ),
        ],
        body,
    )
        .into_response()
}

/// Vehicles whose current owner is in the caller's scope, with the owner (mobile masked).
#[utoipa::path(get, path = "/api/v1/vehicles", tag = "vehicles", params(VehicleQuery),
    responses((status = 200, body = Page<VehicleRow>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_vehicles(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<VehicleQuery>,
) -> Result<Json<Page<VehicleRow>>, ApiError> {
    Ok(Json(
        s.services
            .list_vehicles(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Tasks in the caller's scope (a consultant's own), customer mobile masked.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQuery),
    responses((status = 200, body = Page<TaskRow>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_tasks(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Page<TaskRow>>, ApiError> {
    Ok(Json(
        s.services
            .list_tasks(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Work orders whose customer is in the caller's scope, customer mobile masked.
#[utoipa::path(get, path = "/api/v1/work-orders", tag = "work orders", params(WorkOrderQuery),
    responses((status = 200, body = Page<WorkOrderRow>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_work_orders(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<WorkOrderQuery>,
) -> Result<Json<Page<WorkOrderRow>>, ApiError> {
    Ok(Json(
        s.services
            .list_work_orders(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The vehicle list with the same filters as `GET /api/v1/vehicles`, every page, as CSV or
/// XLSX. Audited.
#[utoipa::path(get, path = "/api/v1/vehicles/export", tag = "vehicles", params(VehicleQuery, ExportParams),
    responses((status = 200, description = "the file (text/csv or XLSX)"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_vehicles(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<VehicleQuery>,
    ApiQuery(e): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(e.format.as_deref().unwrap_or("csv")).map_err(|x| a.err(x))?;
    let mut body = Vec::new();
    s.services
        .export_vehicles(
            &a.actor,
            &q,
            format,
            a.lang,
            e.reveal.unwrap_or(false),
            &mut body,
        )
        .await
        .map_err(|x| a.err(x))?;
    Ok(file("vehicles", format, body))
}

/// The lead list with the same filters as `GET /api/v1/leads`, every page, as CSV or XLSX.
/// Audited.
#[utoipa::path(get, path = "/api/v1/leads/export", tag = "leads", params(LeadQuery, ExportParams),
    responses((status = 200, description = "the file (text/csv or XLSX)"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_leads(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<LeadQuery>,
    ApiQuery(e): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(e.format.as_deref().unwrap_or("csv")).map_err(|x| a.err(x))?;
    let mut body = Vec::new();
    s.services
        .export_leads(
            &a.actor,
            &q,
            format,
            a.lang,
            e.reveal.unwrap_or(false),
            &mut body,
        )
        .await
        .map_err(|x| a.err(x))?;
    Ok(file("leads", format, body))
}

/// The task list with the same filters as `GET /api/v1/tasks`, every page, as CSV or XLSX.
/// Audited.
#[utoipa::path(get, path = "/api/v1/tasks/export", tag = "tasks", params(TaskQuery, ExportParams),
    responses((status = 200, description = "the file (text/csv or XLSX)"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_tasks(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<TaskQuery>,
    ApiQuery(e): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(e.format.as_deref().unwrap_or("csv")).map_err(|x| a.err(x))?;
    let mut body = Vec::new();
    s.services
        .export_tasks(
            &a.actor,
            &q,
            format,
            a.lang,
            e.reveal.unwrap_or(false),
            &mut body,
        )
        .await
        .map_err(|x| a.err(x))?;
    Ok(file("tasks", format, body))
}

/// The work-order list with the same filters as `GET /api/v1/work-orders`, every page, as
/// CSV or XLSX. Audited.
#[utoipa::path(get, path = "/api/v1/work-orders/export", tag = "work orders", params(WorkOrderQuery, ExportParams),
    responses((status = 200, description = "the file (text/csv or XLSX)"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_work_orders(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<WorkOrderQuery>,
    ApiQuery(e): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(e.format.as_deref().unwrap_or("csv")).map_err(|x| a.err(x))?;
    let mut body = Vec::new();
    s.services
        .export_work_orders(
            &a.actor,
            &q,
            format,
            a.lang,
            e.reveal.unwrap_or(false),
            &mut body,
        )
        .await
        .map_err(|x| a.err(x))?;
    Ok(file("work-orders", format, body))
}
