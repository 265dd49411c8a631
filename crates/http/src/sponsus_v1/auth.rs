//! Who is calling a Sponsus route: a personal API key (`Authorization: <key>`,
//! no scheme, as the seed shows) or, where a route allows it, an OAuth token
//! (`Authorization: Bearer <token>`) with the route's scope.

use axum::http::{HeaderMap, header};
use maecenas_domain::Scope;
use maecenas_services::records::UserRow;

use super::SponsusError;
use crate::AppState;

pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    oauth_scope: Option<Scope>,
) -> Result<UserRow, SponsusError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(SponsusError::missing_authorization)?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        let Some(scope) = oauth_scope else {
            return Err(SponsusError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "This route needs a personal API key (Authorization: <api_key>), not an OAuth token",
            ));
        };
        let bearer = state
            .services
            .bearer(token.trim())
            .await?
            .ok_or_else(SponsusError::invalid_token)?;
        if !bearer.scopes.contains(scope) {
            return Err(SponsusError::insufficient_scope(
                scope_challenge(scope),
                scope.as_str(),
            ));
        }
        return Ok(bearer.user);
    }
    state
        .services
        .api_key_owner(value)
        .await?
        .ok_or_else(SponsusError::invalid_api_key)
}

fn scope_challenge(scope: Scope) -> &'static str {
    match scope {
        Scope::Identify => {
            "Bearer realm=\"maecenas\", error=\"insufficient_scope\", scope=\"identify\""
        }
        Scope::Sponsoring => {
            "Bearer realm=\"maecenas\", error=\"insufficient_scope\", scope=\"sponsoring\""
        }
        _ => "Bearer realm=\"maecenas\", error=\"insufficient_scope\"",
    }
}
