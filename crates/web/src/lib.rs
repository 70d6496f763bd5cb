//! The HTTP shell of dealerbase: the JSON API v1 (with its OpenAPI document) and the
//! server-rendered web application. Handlers translate HTTP to service calls and back;
//! business rules live in dealerbase-service and dealerbase-domain.

pub mod api;
pub mod error;

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
        .fallback(error::not_found)
        .with_state(state)
}

/// Serves until the listener fails or Ctrl-C / SIGTERM arrives.
pub async fn serve(listener: TcpListener, services: Services) -> std::io::Result<()> {
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
