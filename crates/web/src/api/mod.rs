//! JSON API v1. Every route is declared with its OpenAPI description next to it, and the
//! document at `/api/openapi.json` is generated from the same router, so they match.

mod aftersales;
mod export;
mod imports;
mod lists;
mod loyalty;
mod management;
mod marketing;
mod messaging;
mod mining;
mod records;
mod sales;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, FieldError, lang_of};
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use dealerbase_domain::Lang;
use dealerbase_service::{Actor, ServiceError};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "dealerbase API", version = "1", description = "CRM and customer-database mining for car dealerships. Errors are JSON {code, message, field, errors}. Authenticate with `Authorization: Bearer <token>` (see `dealerbase token create`). `Accept-Language: en` for English messages; Chinese is the default."),
    components(schemas(ErrorBody, FieldError)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(records::router())
        .merge(export::router())
        // imports, merges, lists and exports (issue 4)
        .merge(imports::router())
        .merge(lists::router())
        .merge(mining::router())
        .merge(aftersales::router())
        .merge(sales::router())
        .merge(management::router())
        .merge(loyalty::router())
        // marketing segments and campaigns (issue 8)
        .merge(marketing::router())
        .merge(messaging::router())
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    router().split_for_parts().1
}

pub async fn openapi_json() -> impl IntoResponse {
    Json(openapi())
}

/// A JSON body whose rejection is an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A path whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A query string whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The signed-in staff member and their language.
pub struct ApiActor {
    pub actor: Actor,
    pub lang: Lang,
}

impl ApiActor {
    pub fn err(&self, e: ServiceError) -> ApiError {
        ApiError::new(e, self.lang)
    }
}

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let Some(token) = token else {
            // A browser signed in to the web application uses its session cookie, with
            // the same scope rules; a state-changing call must then carry the session's
            // CSRF token in `X-CSRF-Token` (a bearer token is never sent by a browser on
            // its own, so token calls need none).
            let session = crate::session::signed_in(parts, state)
                .await
                .map_err(|e| ApiError::new(e, lang))?;
            let Some(session) = session else {
                return Err(ApiError::new(ServiceError::Unauthenticated, lang));
            };
            if crate::session::is_state_changing(&parts.method) {
                let given = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !session.csrf_ok(given) {
                    return Err(ApiError::new(ServiceError::Forbidden("csrf"), lang));
                }
            }
            return Ok(ApiActor {
                actor: session.actor,
                lang,
            });
        };
        let actor = state
            .services
            .actor_for_token(token)
            .await
            .map_err(|e| ApiError::new(e, lang))?;
        Ok(ApiActor { actor, lang })
    }
}
