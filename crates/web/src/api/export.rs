//! Exports of lists as files (CSV or XLSX), with the list's filters.

use super::{ApiActor, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dealerbase_service::export::ExportFormat;
use dealerbase_service::records::CustomerQuery;
use dealerbase_store::{CustomerSort, Id};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_customers))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct CustomerExportQuery {
    /// csv (default) | xlsx
    pub format: Option<String>,
    /// Name fragment, mobile, plate or VIN
    pub q: Option<String>,
    pub store_id: Option<Id>,
    pub class: Option<String>,
    pub kind: Option<String>,
    pub consultant_id: Option<Id>,
    /// newest | name | recently_updated
    pub sort: Option<CustomerSort>,
    /// Full mobile numbers (roles that may reveal them only; audited)
    pub reveal: Option<bool>,
}

/// The customer list with the same filters as `GET /api/v1/customers`, every page, masked as
/// in the list, as a CSV or XLSX file. Audited.
#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", params(CustomerExportQuery),
    responses((status = 200, description = "the file (text/csv or XLSX)"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_customers(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<CustomerExportQuery>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(q.format.as_deref().unwrap_or("csv")).map_err(|e| a.err(e))?;
    let query = CustomerQuery {
        q: q.q,
        store_id: q.store_id,
        class: q.class,
        kind: q.kind,
        consultant_id: q.consultant_id,
        sort: q.sort,
        ..Default::default()
    };
    let mut body = Vec::new();
    s.services
        .export_customers_as(
            &a.actor,
            &query,
            format,
            a.lang,
            q.reveal.unwrap_or(false),
            &mut body,
        )
        .await
        .map_err(|e| a.err(e))?;
    let name = format!("customers.{}", format.extension());
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
