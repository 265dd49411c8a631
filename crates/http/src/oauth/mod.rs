//! The OAuth2 authorization server on both dialects' paths (DESIGN.md):
//! authorize (consent page), token, revoke, and RFC 8414 metadata.

/// Public so that the fuzz targets in `fuzz/` can decode [`authorize::ConsentForm`].
pub mod authorize;
mod error;
pub(crate) mod metadata;
pub mod schema;
/// Public so that the fuzz targets in `fuzz/` can reach the parameter parsers.
pub mod token;

use axum::Router;
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub use error::OAuthErrorBody;

/// Pages of the flow (HTML): these get the page headers.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/authorize", get(authorize::patreon))
        .route("/oauth/authorize", get(authorize::sponsus))
        .route("/oauth/consent", post(authorize::decide))
}

/// JSON endpoints for client applications. Patreon's token endpoint is
/// served (and documented) under both of its prefixes.
pub fn api_routes() -> OpenApiRouter<AppState> {
    let patreon_token = || OpenApiRouter::new().routes(routes!(token::patreon_token));
    OpenApiRouter::new()
        .nest("/api/oauth2", patreon_token())
        .nest("/oauth2", patreon_token())
        .routes(routes!(token::sponsus_token))
        .routes(routes!(token::patreon_revoke))
        .routes(routes!(token::sponsus_revoke))
        .routes(routes!(metadata::metadata))
}
