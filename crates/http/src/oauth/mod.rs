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

use crate::AppState;

pub use error::OAuthErrorBody;

/// Pages of the flow (HTML): these get the page headers.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/authorize", get(authorize::patreon))
        .route("/oauth/authorize", get(authorize::sponsus))
        .route("/oauth/consent", post(authorize::decide))
}

/// JSON endpoints for client applications.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/token", post(token::patreon_token))
        .route("/api/oauth2/token", post(token::patreon_token))
        .route("/v1/oauth/token", post(token::sponsus_token))
        .route("/oauth2/revoke", post(token::patreon_revoke))
        .route("/v1/oauth/token/revoke", post(token::sponsus_revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
}
