//! JSON:API errors, the only place their body is built:
//! `{"errors": [{"code", "code_name", "status" (a string), "title", "detail"}]}`.

use super::schema::{JsonApiErrorObject, JsonApiErrors};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maecenas_services::ServiceError;

#[derive(Debug)]
pub struct JsonApiError {
    status: StatusCode,
    detail: String,
    challenge: Option<&'static str>,
}

impl JsonApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            challenge: None,
        }
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self {
            challenge: Some("Bearer realm=\"maecenas\", error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, detail)
        }
    }

    pub fn insufficient_scope(scope: &str) -> Self {
        Self {
            challenge: Some("Bearer realm=\"maecenas\", error=\"insufficient_scope\""),
            ..Self::new(
                StatusCode::FORBIDDEN,
                format!("this access token lacks the `{scope}` scope"),
            )
        }
    }

    fn code(&self) -> (u16, &'static str) {
        match self.status {
            StatusCode::UNAUTHORIZED => (1, "Unauthorized"),
            StatusCode::FORBIDDEN => (2, "Forbidden"),
            StatusCode::NOT_FOUND => (3, "NotFound"),
            StatusCode::BAD_REQUEST => (4, "BadRequest"),
            StatusCode::METHOD_NOT_ALLOWED => (5, "MethodNotAllowed"),
            StatusCode::CONFLICT => (6, "Conflict"),
            StatusCode::PAYLOAD_TOO_LARGE => (7, "PayloadTooLarge"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (8, "UnsupportedMediaType"),
            StatusCode::TOO_MANY_REQUESTS => (9, "TooManyRequests"),
            StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                (4, "BadRequest")
            }
            StatusCode::REQUEST_TIMEOUT => (0, "RequestTimeout"),
            _ => (0, "InternalServerError"),
        }
    }
}

impl From<ServiceError> for JsonApiError {
    fn from(e: ServiceError) -> Self {
        let status = match &e {
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Forbidden => StatusCode::FORBIDDEN,
            ServiceError::Invalid { .. } | ServiceError::Conflict(_) => StatusCode::BAD_REQUEST,
            ServiceError::Internal(inner) => {
                tracing::error!(error = ?inner, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let detail = match &e {
            ServiceError::Forbidden => "you may only fetch your own campaign's pledges".to_owned(),
            other => other.to_string(),
        };
        Self::new(status, detail)
    }
}

impl IntoResponse for JsonApiError {
    fn into_response(self) -> Response {
        let (code, code_name) = self.code();
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = JsonApiErrors {
            errors: vec![JsonApiErrorObject {
                code: i64::from(code),
                code_name: code_name.to_owned(),
                status: self.status.as_u16().to_string(),
                title: title.to_owned(),
                detail: self.detail,
            }],
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
