//! The HTTP shell of dealerbase: the JSON API v1 (with its OpenAPI document) and the
//! server-rendered web application. Handlers translate HTTP to service calls and back;
//! business rules live in dealerbase-service and dealerbase-domain.

pub mod api;
pub mod error;
mod html;
mod session;
mod upload;

use axum::Router;
use dealerbase_service::Services;
use std::net::SocketAddr;
use tokio::net::TcpListener;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
}

/// The whole application as one router.
pub fn app(services: Services) -> Router {
    let state = AppState { services };
    let (api, _openapi) = api::router().split_for_parts();
    Router::new()
        .merge(api)
        .route("/api/openapi.json", axum::routing::get(api::openapi_json))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .merge(html::router())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(session::security_headers))
        .with_state(state)
}

/// Serves until the listener fails or Ctrl-C / SIGTERM arrives.
///
/// When `DEALERBASE_ADMIN_LOGIN` and `DEALERBASE_ADMIN_PASSWORD` are set and no active
/// administrator exists, that administrator is created first (for unattended installs).
pub async fn serve(listener: TcpListener, services: Services) -> std::io::Result<()> {
    if let (Ok(login), Ok(password)) = (
        std::env::var("DEALERBASE_ADMIN_LOGIN"),
        std::env::var("DEALERBASE_ADMIN_PASSWORD"),
    ) {
        match services.bootstrap_admin(&login, &password).await {
            Ok(Some(_)) => eprintln!("administrator {login} created from DEALERBASE_ADMIN_LOGIN"),
            Ok(None) => {}
            Err(e) => eprintln!(
                "DEALERBASE_ADMIN_LOGIN: administrator not created: {}",
                e.message(dealerbase_domain::Lang::En)
            ),
        }
    }
    let router = app(services);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
