//! Maecenas over HTTP. Handlers are thin: parse, call one use case in
//! `maecenas_services`, render. This crate does not depend on the store, so
//! a handler cannot write SQL.
//!
//! Dialects (Patreon v1, Sponsus v1, OAuth) and the web pages mount here, each
//! with its own routes, JSON shapes and error shape.

pub mod dialect;
mod health;
mod layers;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod patreon_v1;
pub mod patreon_v2;
pub mod rate_limit;
pub mod redirect;
pub mod sponsus_v1;
mod stored_image;
pub mod web;

use axum::Router;
use axum::http::{HeaderName, Method, header};
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
    pub login_throttle: std::sync::Arc<web::throttle::LoginThrottle>,
}

/// Limits of the HTTP layer, from the server's configuration.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub request_timeout: std::time::Duration,
    pub max_body_bytes: usize,
    pub rate_limits: rate_limit::RateLimitSettings,
    /// Where rate limits are counted when several nodes share them.
    pub shared_limits: Option<maecenas_services::throttle::SharedLimiter>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            request_timeout: std::time::Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            rate_limits: rate_limit::RateLimitSettings::default(),
            shared_limits: None,
        }
    }
}

/// The JSON APIs (the resource dialects and the token endpoints), each route
/// registered with its OpenAPI operation, behind their rate limits.
fn json_apis(limits: &rate_limit::RateLimits) -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    let resource_apis = utoipa_axum::router::OpenApiRouter::new()
        .merge(sponsus_v1::routes())
        .merge(patreon_v1::routes())
        .merge(patreon_v2::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            rate_limit::limit_api,
        ));
    let token_endpoints = oauth::api_routes().route_layer(axum::middleware::from_fn_with_state(
        limits.clone(),
        rate_limit::limit_token,
    ));
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(resource_apis)
        .merge(token_endpoints)
}

/// The whole application router, with its layers.
pub fn router(state: AppState, options: &HttpOptions) -> Router {
    let pages = web::page_headers(web::routes().merge(oauth::page_routes()));
    let limits = rate_limit::RateLimits::new(options.rate_limits, options.shared_limits.clone());
    // Browser clients may call the resource APIs from any origin: they
    // authenticate with a header, never a cookie, so no credentials are
    // allowed and a page elsewhere gains nothing it could not do itself.
    // The authorize and token endpoints answer no CORS at all.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::predicate(|_, request| {
            matches!(
                dialect::owner_of(request.uri.path()),
                dialect::Owner::PatreonApi | dialect::Owner::Sponsus
            )
        }))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            header::RETRY_AFTER,
        ])
        .max_age(std::time::Duration::from_secs(600));
    let (json_apis, doc) = json_apis(&limits).split_for_parts();
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", openapi::serve(&openapi::document(doc)))
        .merge(pages)
        .merge(json_apis)
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .fallback(health::not_found)
        .method_not_allowed_fallback(health::method_not_allowed)
        .with_state(state)
        // Outside the routes: preflights use OPTIONS, which no route has.
        .layer(cors);
    layers::apply(routes, options)
}
