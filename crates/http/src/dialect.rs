//! Which dialect owns a path: decided here and nowhere else. Every answer
//! made outside a handler (no route, a wrong method, a rate limit, a request
//! too large, a timeout, a panic) takes the error shape of the path's owner,
//! built by that dialect's own `error.rs` (a page for pages).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maecenas_services::oauth::Dialect;
use maud::html;
use serde_json::json;

use crate::oauth::OAuthErrorBody;
use crate::patreon_v1::JsonApiError;
use crate::sponsus_v1::SponsusError;

/// Who answers for a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Patreon's resource APIs, v1 and v2: JSON:API `errors[]`.
    PatreonApi,
    /// Sponsus's `/v1/` API: `{"success": false, "error": …}`.
    Sponsus,
    /// A token endpoint: RFC 6749 `{"error", "error_description"}`, in the
    /// Sponsus envelope on Sponsus's paths.
    OAuth(Dialect),
    /// The web pages, the consent page included: HTML.
    Pages,
    /// Anything else (probes, unknown deep paths): `{"error", "error_description"}`.
    Other,
}

/// The sections of the site that are pages (and `/{username}`).
const PAGE_SECTIONS: &[&str] = &[
    "login",
    "logout",
    "signup",
    "docs",
    "settings",
    "dashboard",
    "panel",
    "admin",
    "developers",
];

pub fn owner_of(path: &str) -> Owner {
    let is = |prefix: &str| path.starts_with(prefix);
    if is("/oauth2/api/") || is("/api/oauth2/api/") || is("/api/oauth2/v2/") {
        return Owner::PatreonApi;
    }
    if matches!(
        path,
        "/oauth2/authorize" | "/oauth/authorize" | "/oauth/consent"
    ) {
        return Owner::Pages;
    }
    if is("/v1/oauth/token") || is("/oauth/token") {
        return Owner::OAuth(Dialect::Sponsus);
    }
    if is("/oauth2/") || path == "/api/oauth2/token" {
        return Owner::OAuth(Dialect::Patreon);
    }
    if is("/v1/") {
        return Owner::Sponsus;
    }
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    let depth = 1 + segments.count();
    if matches!(first, "healthz" | "readyz") {
        return Owner::Other;
    }
    if path == "/" || PAGE_SECTIONS.contains(&first) {
        return Owner::Pages;
    }
    // `/{username}` and its pledge pages.
    let creator_page = depth == 1
        || (depth == 2 && matches!(path.rsplit('/').next(), Some("pledge" | "donate")))
        || path.ends_with("/pledge/review");
    if creator_page && !first.is_empty() && !first.contains('.') {
        return Owner::Pages;
    }
    Owner::Other
}

/// An answer made before or after the handler, in the owner's shape.
/// `oauth_error` is the RFC 6749-style code token endpoints use.
pub fn refusal(
    path: &str,
    status: StatusCode,
    oauth_error: &'static str,
    message: &str,
) -> Response {
    match owner_of(path) {
        Owner::PatreonApi => JsonApiError::new(status, message).into_response(),
        Owner::Sponsus => SponsusError::new(status, message).into_response(),
        Owner::OAuth(dialect) => {
            OAuthErrorBody::new(dialect, status, oauth_error, message).into_response()
        }
        Owner::Pages => {
            let title = status.canonical_reason().unwrap_or("Error");
            let body = html! { h1 { (title) } p.error role="alert" { (message) } };
            (status, crate::web::layout::page(title, body)).into_response()
        }
        Owner::Other => (
            status,
            Json(json!({ "error": oauth_error, "error_description": message })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Owner, owner_of};
    use maecenas_services::oauth::Dialect;

    #[test]
    fn every_path_has_one_owner() {
        for (path, owner) in [
            ("/oauth2/api/current_user", Owner::PatreonApi),
            ("/api/oauth2/api/current_user", Owner::PatreonApi),
            ("/api/oauth2/v2/webhooks", Owner::PatreonApi),
            ("/api/oauth2/v2/no-such-thing", Owner::PatreonApi),
            ("/oauth2/token", Owner::OAuth(Dialect::Patreon)),
            ("/api/oauth2/token", Owner::OAuth(Dialect::Patreon)),
            ("/v1/oauth/token/revoke", Owner::OAuth(Dialect::Sponsus)),
            ("/v1/profiles/x", Owner::Sponsus),
            ("/oauth2/authorize", Owner::Pages),
            ("/oauth/consent", Owner::Pages),
            ("/login", Owner::Pages),
            ("/", Owner::Pages),
            ("/dashboard/tiers/1/archive", Owner::Pages),
            ("/cerulean", Owner::Pages),
            ("/cerulean/pledge", Owner::Pages),
            ("/cerulean/pledge/review", Owner::Pages),
            ("/no/such/path", Owner::Other),
            ("/healthz/x", Owner::Other),
            ("/readyz", Owner::Other),
            ("/favicon.ico", Owner::Other),
        ] {
            assert_eq!(owner_of(path), owner, "{path}");
        }
    }
}
