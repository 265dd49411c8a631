//! `GET/POST /api/oauth2/v2/webhooks`, `GET/PATCH/DELETE /api/oauth2/v2/webhooks/{id}`,
//! with a token holding `w:campaigns.webhook`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maecenas_domain::{CampaignId, Scope, WebhookId};
use maecenas_services::ServiceError;
use maecenas_services::webhooks::{WebhookManager, WebhookPatch};
use serde::Deserialize;
use serde_json::{Value, json};

use super::views::{self, ATTRIBUTES};
use crate::AppState;
use crate::patreon_v1::JsonApiError;
use crate::patreon_v1::handlers::bearer;

/// The app behind the token, managing its own webhooks on the creator's campaign.
async fn authorized(state: &AppState, headers: &HeaderMap) -> Result<WebhookManager, JsonApiError> {
    let bearer = bearer(state, headers).await?;
    if !bearer.scopes.contains(Scope::CampaignsWebhook) {
        return Err(JsonApiError::insufficient_scope(
            Scope::CampaignsWebhook.as_str(),
        ));
    }
    Ok(WebhookManager::App {
        creator: bearer.user.id,
        client: bearer.client,
    })
}

fn refused(e: ServiceError) -> JsonApiError {
    match e {
        ServiceError::Forbidden => JsonApiError::new(
            StatusCode::FORBIDDEN,
            "you may only manage the webhooks of your own campaign",
        ),
        ServiceError::Conflict(message) => JsonApiError::new(StatusCode::CONFLICT, message),
        other => other.into(),
    }
}

/// `fields[webhook]=uri,triggers`: the attributes to answer with. Public for `fuzz/`.
pub fn fields(query: Option<&str>) -> Result<Option<Vec<String>>, JsonApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| JsonApiError::new(StatusCode::BAD_REQUEST, "the query string is not valid"))?;
    let Some((_, list)) = pairs.iter().find(|(k, _)| k == "fields[webhook]") else {
        return Ok(None);
    };
    let asked: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(unknown) = asked.iter().find(|f| !ATTRIBUTES.contains(&f.as_str())) {
        return Err(JsonApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "fields[webhook]: unknown attribute {unknown:?}; known: {}",
                ATTRIBUTES.join(", ")
            ),
        ));
    }
    Ok(Some(asked))
}

fn webhook_id(raw: &str) -> Result<WebhookId, JsonApiError> {
    raw.parse()
        .map_err(|_| JsonApiError::new(StatusCode::NOT_FOUND, "webhook not found"))
}

#[derive(Debug, Deserialize)]
struct Document {
    data: Resource,
}

#[derive(Debug, Deserialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    attributes: Option<Attributes>,
    #[serde(default)]
    relationships: Option<Relationships>,
}

#[derive(Debug, Deserialize)]
struct Relationships {
    campaign: Option<Linkage>,
}

#[derive(Debug, Deserialize)]
struct Linkage {
    data: Option<ResourceId>,
}

#[derive(Debug, Deserialize)]
struct ResourceId {
    id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Attributes {
    triggers: Option<Vec<String>>,
    uri: Option<String>,
    paused: Option<bool>,
}

/// A JSON:API document of a webhook: JSON (or `application/vnd.api+json`), `type: "webhook"`.
fn document(headers: &HeaderMap, body: &[u8]) -> Result<Document, JsonApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media != "application/json" && media != "application/vnd.api+json" {
        return Err(JsonApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the webhook as JSON (Content-Type: application/json or application/vnd.api+json)",
        ));
    }
    let not_a_document = |e: serde_json::Error| {
        JsonApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not a JSON:API webhook document: {e}"),
        )
    };
    // An object only: serde would also read an array as the fields in order.
    let value: serde_json::Value = serde_json::from_slice(body).map_err(not_a_document)?;
    if !value.is_object() {
        return Err(JsonApiError::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON:API document (an object with `data`)",
        ));
    }
    let doc: Document = serde_json::from_value(value).map_err(not_a_document)?;
    if doc.data.kind.as_deref().is_some_and(|k| k != "webhook") {
        return Err(JsonApiError::new(
            StatusCode::BAD_REQUEST,
            "data.type must be \"webhook\"",
        ));
    }
    Ok(doc)
}

fn single(
    row: &maecenas_services::records::WebhookRow,
    state: &AppState,
    fields: Option<&[String]>,
) -> Value {
    json!({
        "data": views::webhook(row, fields),
        "links": { "self": format!("{}/api/oauth2/v2/webhooks/{}", state.public_url.trim_end_matches('/'), row.id) },
    })
}

#[utoipa::path(get, path = "/api/oauth2/v2/webhooks", tag = "webhooks",
    description = "The webhooks of the token's campaign (scope `w:campaigns.webhook`).",
    params(crate::patreon_v2::schema::WebhookFields), security(("bearer" = [])),
    responses((status = 200, description = "JSON:API document", body = crate::patreon_v1::schema::JsonApiDocument, content_type = "application/json"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, JsonApiError> {
    let app = authorized(&state, &headers).await?;
    let fields = fields(query.as_deref())?;
    let (_, hooks) = state.services.webhooks_of(app).await.map_err(refused)?;
    Ok(Json(json!({
        "data": hooks.iter().map(|h| views::webhook(h, fields.as_deref())).collect::<Vec<_>>(),
        "meta": { "pagination": { "total": hooks.len() } },
    })))
}

#[utoipa::path(get, path = "/api/oauth2/v2/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "the webhook's id"), crate::patreon_v2::schema::WebhookFields), security(("bearer" = [])),
    responses((status = 200, description = "JSON:API document", body = crate::patreon_v1::schema::JsonApiDocument, content_type = "application/json"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, JsonApiError> {
    let app = authorized(&state, &headers).await?;
    let fields = fields(query.as_deref())?;
    let row = state
        .services
        .webhook(app, webhook_id(&id)?)
        .await
        .map_err(refused)?;
    Ok(Json(single(&row, &state, fields.as_deref())))
}

#[utoipa::path(post, path = "/api/oauth2/v2/webhooks", tag = "webhooks",
    description = "Creates a webhook; the answer holds its `secret`.",
    params(crate::patreon_v2::schema::WebhookFields), security(("bearer" = [])),
    request_body(content = crate::patreon_v2::schema::WebhookDocument, content_type = "application/vnd.api+json"),
    responses((status = 201, description = "JSON:API document", body = crate::patreon_v1::schema::JsonApiDocument, content_type = "application/json"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, JsonApiError> {
    let app = authorized(&state, &headers).await?;
    let fields = fields(query.as_deref())?;
    let doc = document(&headers, &body)?;
    let attributes = doc.data.attributes.unwrap_or_default();
    if attributes.paused.is_some() {
        return Err(JsonApiError::new(
            StatusCode::BAD_REQUEST,
            "a new webhook cannot be paused; PATCH it afterwards",
        ));
    }
    let uri = attributes.uri.ok_or_else(|| {
        JsonApiError::new(StatusCode::BAD_REQUEST, "data.attributes.uri is required")
    })?;
    let triggers = attributes.triggers.ok_or_else(|| {
        JsonApiError::new(
            StatusCode::BAD_REQUEST,
            "data.attributes.triggers is required",
        )
    })?;
    let campaign = match doc
        .data
        .relationships
        .and_then(|r| r.campaign)
        .and_then(|c| c.data)
    {
        Some(linkage) => Some(
            linkage
                .id
                .parse::<CampaignId>()
                .map_err(|_| JsonApiError::new(StatusCode::NOT_FOUND, "campaign not found"))?,
        ),
        None => None,
    };
    let row = state
        .services
        .create_webhook(app, campaign, &uri, &triggers)
        .await
        .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(single(&row, &state, fields.as_deref())),
    )
        .into_response())
}

#[utoipa::path(patch, path = "/api/oauth2/v2/webhooks/{id}", tag = "webhooks",
    description = "Changes `triggers`, `uri` or `paused`.",
    params(("id" = String, Path, description = "the webhook's id"), crate::patreon_v2::schema::WebhookFields), security(("bearer" = [])),
    request_body(content = crate::patreon_v2::schema::WebhookDocument, content_type = "application/vnd.api+json"),
    responses((status = 200, description = "JSON:API document", body = crate::patreon_v1::schema::JsonApiDocument, content_type = "application/json"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<Value>, JsonApiError> {
    let app = authorized(&state, &headers).await?;
    let fields = fields(query.as_deref())?;
    let id = webhook_id(&id)?;
    let doc = document(&headers, &body)?;
    let attributes = doc.data.attributes.unwrap_or_default();
    let row = state
        .services
        .update_webhook(
            app,
            id,
            WebhookPatch {
                uri: attributes.uri,
                triggers: attributes.triggers,
                paused: attributes.paused,
            },
        )
        .await
        .map_err(refused)?;
    Ok(Json(single(&row, &state, fields.as_deref())))
}

#[utoipa::path(delete, path = "/api/oauth2/v2/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "the webhook's id")), security(("bearer" = [])),
    responses((status = 204, description = "deleted"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, JsonApiError> {
    let app = authorized(&state, &headers).await?;
    state
        .services
        .delete_webhook(app, webhook_id(&id)?)
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}
