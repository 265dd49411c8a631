//! Profiles: `GET /v1/oauth/@me/profile`, `GET /v1/profiles/{userID or unique_url}`,
//! `GET /v1/profiles/{userID}/avatar`, `POST /v1/profiles/@me`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::Scope;
use maecenas_services::sponsus::ProfileUpdate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{SponsusError, auth, views};
use crate::AppState;

/// The seed: scope `identify`. A bare token (no `Bearer`) is taken as an OAuth token here too.
pub async fn oauth_me(
    State(state): State<AppState>,
    mut headers: HeaderMap,
) -> Result<Json<Value>, SponsusError> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && !value.trim().is_empty()
        && !value.starts_with("Bearer ")
        && let Ok(bearer) = format!("Bearer {}", value.trim()).parse()
    {
        headers.insert(header::AUTHORIZATION, bearer);
    }
    let user = auth::caller(&state, &headers, Some(Scope::Identify)).await?;
    Ok(Json(
        json!({ "success": true, "profile": views::profile(&user) }),
    ))
}

pub async fn public(
    State(state): State<AppState>,
    Path(id_or_url): Path<String>,
) -> Result<Json<Value>, SponsusError> {
    let user = state.services.public_profile(&id_or_url).await?;
    Ok(Json(
        json!({ "success": true, "profile": views::profile(&user) }),
    ))
}

/// The picture, where the user has one (`image_url`); otherwise 404 in the envelope.
pub async fn avatar(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, SponsusError> {
    if id.parse::<maecenas_domain::UserId>().is_err() {
        return Err(SponsusError::new(
            StatusCode::BAD_REQUEST,
            "userID must be a numeric id",
        ));
    }
    let user = state.services.public_profile(&id).await?;
    match user
        .image_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        Some(url) => Ok(Redirect::temporary(url).into_response()),
        None => Err(SponsusError::new(StatusCode::NOT_FOUND, "avatar not found")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    username: Option<String>,
    unique_url: Option<String>,
    about: Option<String>,
    description: Option<String>,
    status: Option<String>,
}

/// Updates the API key owner's profile. JSON or form body.
pub async fn update_me(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, SponsusError> {
    let user = auth::caller(&state, &headers, None).await?;
    let body = body.map_err(|e| SponsusError::new(e.status(), e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let parsed: ProfileBody = match essence.as_str() {
        "application/json" => serde_json::from_slice(&body).map_err(|e| {
            SponsusError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid JSON body: {e}"),
            )
        })?,
        "application/x-www-form-urlencoded" => {
            serde_urlencoded::from_bytes(&body).map_err(|e| {
                SponsusError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("invalid form body: {e}"),
                )
            })?
        }
        _ if body.is_empty() => ProfileBody::default(),
        _ => {
            return Err(SponsusError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/json or application/x-www-form-urlencoded",
            ));
        }
    };
    if parsed.username.is_some() && parsed.unique_url.is_some() {
        return Err(SponsusError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "give username or unique_url, not both",
        ));
    }
    let update = ProfileUpdate {
        username: parsed.username.or(parsed.unique_url),
        about: parsed.about,
        description: parsed.description,
        status: parsed.status,
    };
    let updated = state.services.update_own_profile(user.id, update).await?;
    Ok(Json(
        json!({ "success": true, "profile": views::profile(&updated) }),
    ))
}
