//! The OpenAPI 3.1 document of every JSON route, served at `/openapi.json`.
//! Operations come from the `#[utoipa::path]` attribute on each handler, so
//! the document moves with the code; each dialect's shapes are in its own
//! `schema.rs`. This module imports the dialects; none imports it.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
