//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use axum::Json;
use axum::extract::State;
use maecenas_domain::Scope;
use serde_json::{Value, json};

use crate::AppState;

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    description = "RFC 8414 authorization server metadata.",
    responses((status = 200, description = "metadata", body = Object)))]
pub async fn metadata(State(state): State<AppState>) -> Json<Value> {
    let base = state.public_url.trim_end_matches('/');
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/api/oauth2/token"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "scopes_supported": Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{base}/"),
        "maecenas_sponsus_endpoints": {
            "authorization_endpoint": format!("{base}/oauth/authorize"),
            "token_endpoint": format!("{base}/v1/oauth/token"),
            "revocation_endpoint": format!("{base}/v1/oauth/token/revoke"),
        },
    }))
}
