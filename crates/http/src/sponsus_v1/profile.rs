//! Profiles: `GET /v1/oauth/@me/profile`, `GET /v1/profiles/{userID or unique_url}`,
//! `GET /v1/profiles/{userID}/avatar`, `POST /v1/profiles/@me`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use maecenas_domain::Scope;
use maecenas_services::sponsus::{ProfileUpdate, PublicAvatar};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{SponsusError, auth, views};
use crate::AppState;

/// The seed: scope `identify`. A bare token (no `Bearer`) is taken as an OAuth token here too.
#[utoipa::path(get, path = "/v1/oauth/@me/profile", tag = "sponsus",
    description = "The token's user (OAuth scope `identify`).", security(("bearer" = [])),
    responses((status = 200, description = "the profile", body = crate::sponsus_v1::schema::SponsusSuccess),
        (status = "default", description = "Sponsus error", body = crate::sponsus_v1::schema::SponsusFailure)))]
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

#[utoipa::path(get, path = "/v1/profiles/{id_or_url}", tag = "sponsus",
    description = "A public profile by user id or `unique_url`; hidden or deleted ones are 404.",
    params(("id_or_url" = String, Path, description = "user id or unique_url")),
    responses((status = 200, description = "the profile", body = crate::sponsus_v1::schema::SponsusSuccess),
        (status = "default", description = "Sponsus error", body = crate::sponsus_v1::schema::SponsusFailure)))]
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
#[utoipa::path(get, path = "/v1/profiles/{id}/avatar", tag = "sponsus",
    description = "The user's picture.",
    params(("id" = String, Path, description = "user id or unique_url")),
    responses((status = 200, description = "the picture", content_type = "image/*"),
        (status = 304, description = "not modified (If-None-Match)"),
        (status = 307, description = "the picture is elsewhere (`Location`)"),
        (status = "default", description = "Sponsus error", body = crate::sponsus_v1::schema::SponsusFailure)))]
pub async fn avatar(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, SponsusError> {
    if id.parse::<maecenas_domain::UserId>().is_err() {
        return Err(SponsusError::new(
            StatusCode::BAD_REQUEST,
            "userID must be a numeric id",
        ));
    }
    match state.services.public_avatar(&id).await? {
        PublicAvatar::Stored(avatar) => Ok(crate::stored_image::response(
            &headers,
            avatar.content_type,
            &avatar.etag,
            avatar.bytes,
            crate::stored_image::Caching::Public,
        )),
        PublicAvatar::Elsewhere(url) => crate::redirect::temporary(&url)
            .ok_or_else(|| maecenas_services::ServiceError::NotFound("avatar").into()),
        PublicAvatar::None { .. } => {
            Err(maecenas_services::ServiceError::NotFound("avatar").into())
        }
    }
}

/// Sets the API key owner's picture: the raw bytes of a PNG, JPEG or WebP
/// image as the body, with its type as `Content-Type` (an extension of the seed).
#[utoipa::path(post, path = "/v1/profiles/@me/avatar", tag = "sponsus",
    description = "Sets the key owner's picture: the raw bytes of a PNG, JPEG or WebP picture (at most 1 MiB).",
    security(("api_key" = [])),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 200, description = "stored", body = crate::sponsus_v1::schema::SponsusSuccess),
        (status = "default", description = "Sponsus error", body = crate::sponsus_v1::schema::SponsusFailure)))]
pub async fn upload_avatar(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, SponsusError> {
    let user = auth::caller(&state, &headers, None).await?;
    let body = body.map_err(|e| SponsusError::new(e.status(), e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        content_type.as_str(),
        "image/png" | "image/jpeg" | "image/webp"
    ) {
        return Err(SponsusError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the picture's bytes as image/png, image/jpeg or image/webp",
        ));
    }
    let stored = state
        .services
        .set_own_avatar(user.id, body.to_vec())
        .await?;
    if stored.content_type != content_type {
        // Stored as what the bytes are; say so rather than fail.
        tracing::debug!(claimed = %content_type, actual = %stored.content_type, "avatar type differs from its header");
    }
    Ok(Json(json!({
        "success": true,
        "avatar": {
            "url": format!("{}/v1/profiles/{}/avatar", state.public_url, user.id),
            "content_type": stored.content_type,
            "width": stored.width,
            "height": stored.height,
        }
    })))
}

/// A Sponsus profile update: every field optional; an unknown one is refused.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    username: Option<String>,
    /// Sponsus's name for `username`.
    unique_url: Option<String>,
    /// Markdown.
    about: Option<String>,
    description: Option<String>,
    /// `public` or `hidden`.
    status: Option<String>,
}

/// A JSON body is an object (or `null`, which changes nothing). serde would
/// also take an array as the fields in order, which the document refuses.
fn json_profile_body(body: &[u8]) -> Result<ProfileBody, SponsusError> {
    let invalid = |detail: String| SponsusError::new(StatusCode::UNPROCESSABLE_ENTITY, detail);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("invalid JSON body: {e}")))?;
    match value {
        Value::Null => Ok(ProfileBody::default()),
        Value::Object(_) => {
            serde_json::from_value(value).map_err(|e| invalid(format!("invalid JSON body: {e}")))
        }
        _ => Err(invalid("the JSON body must be an object".into())),
    }
}

/// Updates the API key owner's profile. JSON or form body.
#[utoipa::path(post, path = "/v1/profiles/@me", tag = "sponsus",
    description = "Updates the key owner's profile.", security(("api_key" = [])),
    request_body(content = Option<ProfileBody>, content_type = "application/json", description = "JSON or form; an empty body changes nothing"),
    responses((status = 200, description = "the updated profile", body = crate::sponsus_v1::schema::SponsusSuccess),
        (status = "default", description = "Sponsus error", body = crate::sponsus_v1::schema::SponsusFailure)))]
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
        "application/json" => json_profile_body(&body)?,
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
        ..ProfileUpdate::default()
    };
    let updated = state.services.update_own_profile(user.id, update).await?;
    Ok(Json(
        json!({ "success": true, "profile": views::profile(&updated) }),
    ))
}
