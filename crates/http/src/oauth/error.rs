//! RFC 6749 §5.2 error bodies: the only place they are built. The Sponsus
//! paths wrap the same codes in their `{"success": false, ...}` envelope.

use super::schema::OAuthError;
use crate::sponsus_v1::schema::SponsusFailure;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maecenas_services::oauth::{Dialect, TokenError};

pub struct OAuthErrorBody {
    pub dialect: Dialect,
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
}

impl OAuthErrorBody {
    pub fn new(
        dialect: Dialect,
        status: StatusCode,
        code: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            dialect,
            status,
            code,
            description: description.into(),
        }
    }

    pub fn from_token_error(dialect: Dialect, err: TokenError) -> Self {
        let status = match &err {
            TokenError::InvalidClient => StatusCode::UNAUTHORIZED,
            TokenError::Internal(inner) => {
                tracing::error!(error = ?inner, "token endpoint failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            dialect,
            status,
            code: err.code(),
            description: err.to_string(),
        }
    }
}

impl IntoResponse for OAuthErrorBody {
    fn into_response(self) -> Response {
        let mut response = match self.dialect {
            Dialect::Patreon => (
                self.status,
                Json(OAuthError {
                    error: self.code.to_owned(),
                    error_description: Some(self.description),
                }),
            )
                .into_response(),
            Dialect::Sponsus => (
                self.status,
                Json(SponsusFailure {
                    success: false,
                    error: self.code.to_owned(),
                    error_description: Some(self.description),
                }),
            )
                .into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"maecenas\""),
            );
        }
        response
    }
}
