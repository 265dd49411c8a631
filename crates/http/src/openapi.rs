//! The OpenAPI 3.1 document of every JSON route, served at `/openapi.json`.
//! Operations come from the `#[utoipa::path]` attribute on each handler, so
//! the document moves with the code; the shapes below are the envelopes the
//! dialects answer with (the views build the rest).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// A JSON:API document (Patreon): `data` is a resource or an array of them.
#[derive(Serialize, ToSchema)]
pub struct JsonApiDocument {
    pub data: Value,
    pub included: Option<Vec<Value>>,
    pub links: Option<Value>,
    pub meta: Option<Value>,
}

/// One error of a JSON:API error document.
#[derive(Serialize, ToSchema)]
pub struct JsonApiErrorObject {
    /// Patreon's numeric code (1 Unauthorized, 2 Forbidden, 3 NotFound, 4 BadRequest, …).
    pub code: i64,
    pub code_name: String,
    /// The HTTP status, as a string.
    pub status: String,
    pub title: String,
    pub detail: String,
}

/// Every Patreon failure: `{"errors": [...]}` (401 adds `WWW-Authenticate: Bearer`).
#[derive(Serialize, ToSchema)]
pub struct JsonApiErrors {
    pub errors: Vec<JsonApiErrorObject>,
}

/// A Sponsus success: `success` is true, the rest depends on the route.
#[derive(Serialize, ToSchema)]
pub struct SponsusSuccess {
    pub success: bool,
}

/// Every Sponsus failure.
#[derive(Serialize, ToSchema)]
pub struct SponsusFailure {
    /// Always false.
    pub success: bool,
    pub error: String,
    pub error_description: Option<String>,
}

/// An RFC 6749 error.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    pub error: String,
    pub error_description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    /// With `client_secret_post` (else HTTP Basic).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

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

/// Sponsus profile update: every field optional.
#[derive(Deserialize, ToSchema)]
pub struct ProfileUpdateBody {
    pub about: Option<String>,
    pub description: Option<String>,
    /// `public` or `hidden`.
    pub status: Option<String>,
    pub username: Option<String>,
    pub unique_url: Option<String>,
}

/// A webhook as JSON:API: `{"data": {"type": "webhook", "attributes": {...}, "relationships": {...}}}`.
#[derive(Deserialize, ToSchema)]
pub struct WebhookDocument {
    pub data: Value,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Include {
    /// Comma-separated: `rewards`, `creator`, `goals`, `pledge` (all by default).
    pub include: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Includes {
    /// The seed's spelling of `include`.
    pub includes: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Pledges per page, 1–100 (default 20).
    #[serde(rename = "page[count]")]
    #[param(rename = "page[count]", minimum = 1, maximum = 100)]
    pub count: Option<i64>,
    /// The opaque cursor of `links.next`.
    #[serde(rename = "page[cursor]")]
    #[param(rename = "page[cursor]")]
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookFields {
    /// Sparse fieldset: comma-separated attribute names.
    #[serde(rename = "fields[webhook]")]
    #[param(rename = "fields[webhook]")]
    pub fields: Option<String>,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "a personal API key, sent as the whole header value (no scheme)",
            ))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Maecenas", description = "The Patreon and Sponsus APIs of a Maecenas server. Human-readable documentation: /docs."),
    paths(
        crate::patreon_v1::handlers::current_user,
        crate::patreon_v1::handlers::current_user_campaigns,
        crate::patreon_v1::handlers::campaign_pledges,
        crate::patreon_v2::webhooks::list,
        crate::patreon_v2::webhooks::show,
        crate::patreon_v2::webhooks::create,
        crate::patreon_v2::webhooks::update,
        crate::patreon_v2::webhooks::delete,
        crate::sponsus_v1::profile::oauth_me,
        crate::sponsus_v1::profile::public,
        crate::sponsus_v1::profile::avatar,
        crate::sponsus_v1::profile::upload_avatar,
        crate::sponsus_v1::profile::update_me,
        crate::sponsus_v1::payments::sponsoring,
        crate::oauth::token::patreon_token,
        crate::oauth::token::sponsus_token,
        crate::oauth::token::patreon_revoke,
        crate::oauth::token::sponsus_revoke,
        crate::oauth::metadata::metadata,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "patreon", description = "Patreon v1 resource API (JSON:API)"),
        (name = "webhooks", description = "Patreon v2 webhooks management"),
        (name = "sponsus", description = "Sponsus v1 API"),
        (name = "oauth", description = "OAuth2 token, revocation, metadata"),
    )
)]
pub struct ApiDoc;

/// The document, with the routes served under two prefixes listed under both.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let aliases: Vec<(String, utoipa::openapi::PathItem)> = doc
        .paths
        .paths
        .iter()
        .filter_map(|(path, item)| {
            if let Some(rest) = path.strip_prefix("/api/oauth2/api/") {
                Some((format!("/oauth2/api/{rest}"), item.clone()))
            } else if path == "/api/oauth2/token" {
                Some(("/oauth2/token".to_owned(), item.clone()))
            } else {
                None
            }
        })
        .collect();
    for (path, mut item) in aliases {
        // Operation ids stay unique.
        for op in [&mut item.get, &mut item.post].into_iter().flatten() {
            if let Some(id) = &op.operation_id {
                op.operation_id = Some(format!("{id}_alias"));
            }
        }
        doc.paths.paths.insert(path, item);
    }
    doc
}

static DOCUMENT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| document().to_json().unwrap_or_else(|_| "{}".to_owned()));

/// `GET /openapi.json`.
pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_json_route_is_in_the_document() {
        let doc = super::document();
        for path in [
            "/api/oauth2/api/current_user",
            "/oauth2/api/current_user",
            "/api/oauth2/api/campaigns/{campaign_id}/pledges",
            "/api/oauth2/v2/webhooks/{id}",
            "/v1/profiles/{id_or_url}",
            "/v1/payments/{user_id}/sponsoring",
            "/api/oauth2/token",
            "/oauth2/token",
            "/v1/oauth/token",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        let json = doc.to_json().unwrap();
        assert!(json.contains("\"openapi\":\"3.1"), "{}", &json[..80]);
    }
}
