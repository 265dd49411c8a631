//! The OpenAPI 3.1 document of every JSON route, served at `/openapi.json`.
//! Operations come from the `#[utoipa::path]` attribute on each handler and
//! are registered with its route (`utoipa_axum`'s `routes!`), so the
//! document lists exactly what is routed; each dialect's shapes are in its
//! own `schema.rs`. This module imports no dialect, and none imports it.

use axum::http::header;
use axum::response::IntoResponse;
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
    modifiers(&SecuritySchemes),
    tags(
        (name = "patreon", description = "Patreon v1 resource API (JSON:API)"),
        (name = "webhooks", description = "Patreon v2 webhooks management"),
        (name = "sponsus", description = "Sponsus v1 API"),
        (name = "oauth", description = "OAuth2 token, revocation, metadata"),
    )
)]
pub struct ApiDoc;

/// The document of `routes` (the JSON APIs as they are routed): its
/// operations were registered with the routes, so nothing is listed twice.
/// Routes served under two prefixes appear under both; the second copy's
/// operation ids get `_alias`, so that every id stays unique.
pub fn document(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut seen = std::collections::BTreeSet::new();
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            if let Some(id) = &operation.operation_id
                && !seen.insert(id.clone())
            {
                operation.operation_id = Some(format!("{id}_alias"));
            }
        }
    }
    doc
}

/// `GET /openapi.json`: the document, rendered once when the router is built.
pub fn serve(doc: &utoipa::openapi::OpenApi) -> axum::routing::MethodRouter<crate::AppState> {
    let json: std::sync::Arc<str> = doc.to_json().unwrap_or_else(|_| "{}".to_owned()).into();
    axum::routing::get(move || {
        let json = json.clone();
        async move {
            (
                [(header::CONTENT_TYPE, "application/json")],
                json.to_string(),
            )
                .into_response()
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_json_route_is_in_the_document() {
        let doc = crate::json_apis(&crate::rate_limit::RateLimits::new(
            Default::default(),
            None,
        ))
        .split_for_parts()
        .1;
        let doc = super::document(doc);
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
