//! Refusals made before a request reaches its handler (rate limits, sizes),
//! in the error shape of the dialect its path belongs to.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error shape of the dialect a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    JsonApi,
    Sponsus,
    OAuth,
    /// Pages and everything else: plain text.
    Plain,
}

pub fn shape_of(path: &str) -> Shape {
    if path.starts_with("/oauth2/api/")
        || path.starts_with("/api/oauth2/api/")
        || path.starts_with("/api/oauth2/v2/")
    {
        Shape::JsonApi
    } else if path.starts_with("/v1/oauth/token")
        || path.starts_with("/oauth2/")
        || path == "/api/oauth2/token"
    {
        Shape::OAuth
    } else if path.starts_with("/v1/") {
        Shape::Sponsus
    } else {
        Shape::Plain
    }
}

/// `code` and `code_name` are JSON:API's (Patreon's numbering); `oauth_error`
/// the RFC 6749-style code.
pub fn refusal(
    path: &str,
    status: StatusCode,
    code: u16,
    code_name: &str,
    oauth_error: &str,
    message: &str,
) -> Response {
    match shape_of(path) {
        Shape::JsonApi => (
            status,
            Json(json!({ "errors": [{
                "code": code,
                "code_name": code_name,
                "status": status.as_u16().to_string(),
                "title": status.canonical_reason().unwrap_or("Error"),
                "detail": message,
            }]})),
        )
            .into_response(),
        Shape::Sponsus => {
            (status, Json(json!({ "success": false, "error": message }))).into_response()
        }
        Shape::OAuth => (
            status,
            Json(json!({ "error": oauth_error, "error_description": message })),
        )
            .into_response(),
        Shape::Plain => (status, message.to_owned()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Shape, shape_of};

    #[test]
    fn paths_map_to_their_dialect() {
        assert_eq!(shape_of("/oauth2/api/current_user"), Shape::JsonApi);
        assert_eq!(shape_of("/api/oauth2/api/current_user"), Shape::JsonApi);
        assert_eq!(shape_of("/api/oauth2/v2/webhooks"), Shape::JsonApi);
        assert_eq!(shape_of("/oauth2/token"), Shape::OAuth);
        assert_eq!(shape_of("/api/oauth2/token"), Shape::OAuth);
        assert_eq!(shape_of("/v1/oauth/token/revoke"), Shape::OAuth);
        assert_eq!(shape_of("/v1/profiles/x"), Shape::Sponsus);
        assert_eq!(shape_of("/login"), Shape::Plain);
    }
}
