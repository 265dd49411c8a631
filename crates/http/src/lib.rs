//! Maecenas over HTTP. Handlers are thin: parse, call one use case in
//! `maecenas_services`, render. This crate does not depend on the store, so
//! a handler cannot write SQL.
//!
//! Dialects (Patreon v1, Sponsus v1, OAuth) and the web pages mount here, each
//! with its own routes, JSON shapes and error shape.

mod health;
mod layers;
pub mod oauth;
pub mod patreon_v1;
pub mod patreon_v2;
pub mod sponsus_v1;
pub mod web;

use axum::Router;
use axum::routing::get;
use maecenas_services::Services;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    /// The server's public base URL: OAuth `iss`, links in API answers.
    pub public_url: String,
    /// Whether cookies get `Secure` (the public URL is https).
    pub secure_cookies: bool,
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
    let pages = web::page_headers(web::routes().merge(oauth::page_routes()));
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(pages)
        .merge(oauth::api_routes())
        .merge(sponsus_v1::routes())
        .merge(patreon_v1::routes())
        .merge(patreon_v2::routes())
        .fallback(health::not_found)
        .method_not_allowed_fallback(health::method_not_allowed)
        .with_state(state);
    layers::apply(routes, options)
}
