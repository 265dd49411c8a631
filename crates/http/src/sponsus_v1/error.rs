//! The only place a Sponsus error body is built.

use super::schema::SponsusFailure;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maecenas_services::ServiceError;

#[derive(Debug)]
pub struct SponsusError {
    status: StatusCode,
    message: String,
    www_authenticate: Option<&'static str>,
}

impl SponsusError {
    /// The seed's exact words for a request without `Authorization`.
    pub fn missing_authorization() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authorization header not found in request",
        )
        .with_challenge("Bearer realm=\"maecenas\"")
    }

    pub fn invalid_api_key() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Invalid API key")
            .with_challenge("ApiKey realm=\"maecenas\"")
    }

    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The access token is invalid, expired or revoked",
        )
        .with_challenge("Bearer realm=\"maecenas\", error=\"invalid_token\"")
    }

    pub fn insufficient_scope(challenge: &'static str, scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("This access token lacks the `{scope}` scope"),
        )
        .with_challenge(challenge)
    }

    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            www_authenticate: None,
        }
    }

    fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }
}

impl From<ServiceError> for SponsusError {
    fn from(e: ServiceError) -> Self {
        let status = match &e {
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Forbidden => StatusCode::FORBIDDEN,
            ServiceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Internal(inner) => {
                tracing::error!(error = ?inner, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for SponsusError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(SponsusFailure {
                success: false,
                error: self.message,
                error_description: None,
            }),
        )
            .into_response();
        if let Some(challenge) = self.www_authenticate {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
