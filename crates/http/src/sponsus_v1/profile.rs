//! `GET /v1/oauth/@me/profile` (scope `identify`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header;
use maecenas_domain::Scope;
use serde_json::{Value, json};

use super::{SponsusError, views};
use crate::AppState;

pub async fn oauth_me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, SponsusError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(SponsusError::missing_authorization)?;
    // The seed shows both `Bearer <token>` and the bare token.
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    let bearer = state
        .services
        .bearer(token)
        .await?
        .ok_or_else(SponsusError::invalid_token)?;
    if !bearer.scopes.contains(Scope::Identify) {
        return Err(SponsusError::insufficient_scope(
            "Bearer realm=\"maecenas\", error=\"insufficient_scope\", scope=\"identify\"",
            "identify",
        ));
    }
    Ok(Json(
        json!({ "success": true, "profile": views::profile(&bearer.user) }),
    ))
}
