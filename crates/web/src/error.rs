//! One error type for the web layer: every failure becomes a status code, a stable
//! machine code, a message in the user's language and, for bad input, the field.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dealerbase_domain::Lang;
use dealerbase_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `mobile_format`, `not_found`, `bad_json`
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    /// Every invalid field, when several were wrong
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub value: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub error: ServiceError,
    pub lang: Lang,
    /// Set for malformed requests (bad JSON, bad path or query) that never reach a service.
    pub malformed: Option<(&'static str, String)>,
}

impl ApiError {
    pub fn new(error: ServiceError, lang: Lang) -> ApiError {
        ApiError {
            error,
            lang,
            malformed: None,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        ApiError::new(e, Lang::Zh)
    }
}

fn malformed(code: &'static str, detail: String) -> ApiError {
    ApiError {
        error: ServiceError::Internal(String::new()),
        lang: Lang::Zh,
        malformed: Some((code, detail)),
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        malformed("bad_json", r.body_text())
    }
}
impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        malformed("bad_path", r.body_text())
    }
}
impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        malformed("bad_query", r.body_text())
    }
}

pub fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::Conflict { .. } => StatusCode::CONFLICT,
        ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some((code, detail)) = self.malformed {
            let body = ErrorBody {
                code: code.into(),
                message: detail,
                field: None,
                errors: vec![],
            };
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        let status = status_of(&self.error);
        if status.is_server_error() {
            tracing::error!(error = %self.error, "request failed");
        }
        let errors = match &self.error {
            ServiceError::Invalid(list) => list
                .iter()
                .map(|e| FieldError {
                    field: e.field.clone(),
                    value: e.value.clone(),
                    code: e.code().into(),
                    message: e.message(self.lang),
                })
                .collect(),
            _ => vec![],
        };
        let body = ErrorBody {
            code: self.error.code().into(),
            message: self.error.message(self.lang),
            field: self.error.field().map(str::to_string),
            errors,
        };
        let mut resp = (status, Json(body)).into_response();
        if matches!(self.error, ServiceError::Unauthenticated) {
            resp.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// The language asked for: `?lang=`/cookie handled by the HTML layer; here Accept-Language.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            if v.trim_start().to_ascii_lowercase().starts_with("en") {
                Lang::En
            } else {
                Lang::Zh
            }
        })
        .unwrap_or_default()
}

pub async fn not_found(headers: HeaderMap) -> Response {
    ApiError::new(
        ServiceError::NotFound {
            entity: "page",
            id: String::new(),
        },
        lang_of(&headers),
    )
    .into_response()
}
