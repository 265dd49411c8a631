//! The shapes of this dialect that the OpenAPI document (`/openapi.json`)
//! describes and the handlers' `#[utoipa::path]` attributes name.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RFC 6749 error.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// A token request as it arrives (form body, or the query string on the
/// Patreon paths): what `token::token_request` reads.
#[derive(Default, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token` (required).
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    /// With `client_secret_post` (else HTTP Basic).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// On a refresh: a narrower set of the grant's scopes.
    pub scope: Option<String>,
}

/// The Patreon dialect's token answer.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub scope: String,
    pub token_type: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RevokeRequest {
    pub token: String,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct SponsusRevokeRequest {
    pub access_token: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}
