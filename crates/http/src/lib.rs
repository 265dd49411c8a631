//! Maecenas over HTTP. Handlers are thin: parse, call one use case in
//! `maecenas_services`, render. This crate does not depend on the store, so
//! a handler cannot write SQL.
//!
//! Dialects (Patreon v1, Sponsus v1, OAuth) and the web pages mount here, each
//! with its own routes, JSON shapes and error shape.

mod health;
mod layers;

use axum::Router;
use axum::routing::get;
use maecenas_services::Services;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
}

/// Limits of the HTTP layer, from the server's configuration.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub request_timeout: std::time::Duration,
    pub max_body_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            request_timeout: std::time::Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// The whole application router, with its layers.
pub fn router(state: AppState, options: &HttpOptions) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(health::not_found)
        .with_state(state);
    layers::apply(routes, options)
}
