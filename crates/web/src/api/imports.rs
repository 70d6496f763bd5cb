//! Imports (upload, status, report of rejected rows) and manual merges of customers.

use super::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dealerbase_service::merge::{MergePreview, MergeResult, MergeView};
use dealerbase_store::import::ImportRun;
use dealerbase_store::{Id, Page};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_import, list_imports))
        .layer(DefaultBodyLimit::max(crate::upload::MAX_UPLOAD_BYTES))
        .routes(routes!(get_import))
        .routes(routes!(import_report))
        .routes(routes!(merge_preview, merge_customers))
        .routes(routes!(list_merges))
}

/// The multipart form of an upload.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
struct UploadForm {
    /// customers | vehicles | sales | work-orders | policies
    kind: String,
    /// CSV (UTF-8, UTF-8 with BOM, GBK, GB18030) or XLSX
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Optional mapping TOML: [columns] "header" = "field"
    #[schema(value_type = Option<String>, format = Binary)]
    mapping: Option<Vec<u8>>,
    /// write (default) | dry_run | all_or_nothing
    mode: Option<String>,
    /// Sheet of an XLSX file (default: the first)
    sheet: Option<String>,
    /// Store the records go to (default: the caller's)
    store_id: Option<Id>,
}

/// Uploads a DMS export and starts importing it in the background. The header row and the
/// mapping are checked at once (422); poll `GET /api/v1/imports/{id}` for progress and the
/// summary, and fetch the rejected rows from `/api/v1/imports/{id}/report`.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 202, body = ImportRun), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_import(
    State(s): State<AppState>,
    a: ApiActor,
    m: Multipart,
) -> Result<(StatusCode, Json<ImportRun>), ApiError> {
    let up = crate::upload::read_upload(m, a.lang)
        .await
        .map_err(|e| a.err(e))?;
    let run = crate::upload::start(&s.services, &a.actor, up)
        .await
        .map_err(|e| a.err(e))?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// Recent imports of the stores the caller may import into.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports",
    responses((status = 200, body = Vec<ImportRun>), (status = 403, body = ErrorBody)))]
async fn list_imports(
    State(s): State<AppState>,
    a: ApiActor,
) -> Result<Json<Vec<ImportRun>>, ApiError> {
    Ok(Json(
        s.services
            .import_runs(&a.actor)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// One import: status (queued, running, done, refused, failed), rows done of rows total,
/// and the counts (inserted, updated, unchanged, merged, rejected).
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports", params(("id" = i64, Path)),
    responses((status = 200, body = ImportRun), (status = 404, body = ErrorBody)))]
async fn get_import(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> Result<Json<ImportRun>, ApiError> {
    Ok(Json(
        s.services
            .import_run_for(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The rejected rows of an import as CSV: line (or sheet row), column, value, reason.
#[utoipa::path(get, path = "/api/v1/imports/{id}/report", tag = "imports", params(("id" = i64, Path)),
    responses((status = 200, description = "text/csv"), (status = 404, body = ErrorBody)))]
async fn import_report(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> Result<Response, ApiError> {
    let mut body = Vec::new();
    s.services
        .write_import_report(&a.actor, id, &mut body)
        .await
        .map_err(|e| a.err(e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"import-{id}-report.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
pub struct MergeTarget {
    /// The customer merged into the one in the path (it disappears from lists)
    pub merged_id: Id,
}

/// What merging `merged_id` into this customer would do: which field values win and how
/// many records of each kind move.
#[utoipa::path(get, path = "/api/v1/customers/{id}/merge", tag = "customers", params(("id" = i64, Path), MergeTarget),
    responses((status = 200, body = MergePreview), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn merge_preview(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(q): ApiQuery<MergeTarget>,
) -> Result<Json<MergePreview>, ApiError> {
    Ok(Json(
        s.services
            .merge_preview(&a.actor, id, q.merged_id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Merges `merged_id` into this customer in one transaction: vehicles, orders, work
/// orders, policies, leads, contacts, tasks, consents … move; the merged customer is hidden
/// and points here; the merge is recorded and audited.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", params(("id" = i64, Path)), request_body = MergeTarget,
    responses((status = 200, body = MergeResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn merge_customers(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(t): ApiJson<MergeTarget>,
) -> Result<Json<MergeResult>, ApiError> {
    Ok(Json(
        s.services
            .merge_customers(&a.actor, id, t.merged_id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct PageQuery {
    pub page: Option<u32>,
}

/// Recorded merges (who, when, what moved, which fields changed), newest first.
#[utoipa::path(get, path = "/api/v1/merges", tag = "customers", params(PageQuery),
    responses((status = 200, body = Page<MergeView>), (status = 403, body = ErrorBody)))]
async fn list_merges(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<MergeView>>, ApiError> {
    Ok(Json(
        s.services
            .customer_merges(&a.actor, q.page.unwrap_or(1))
            .await
            .map_err(|e| a.err(e))?,
    ))
}
