//! Probes for operators and orchestrators.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::patreon_v1::JsonApiError;
use crate::sponsus_v1::SponsusError;

/// `GET /healthz`: the process is up and serving. Touches nothing else, so a
/// slow database never makes an orchestrator kill a healthy process.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers; route traffic here.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.services.database_ready().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(err) => {
            tracing::warn!(error = ?err, "readiness check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "error": "database unreachable" })),
            )
        }
    }
}

/// Paths no route claims: JSON, never an empty or plain-text body; under
/// `/v1/` in the Sponsus envelope.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    let message = format!("no route for {method} {}", uri.path());
    if is_sponsus(&uri) {
        return SponsusError::new(StatusCode::NOT_FOUND, message).into_response();
    }
    if is_patreon_api(&uri) {
        return JsonApiError::new(StatusCode::NOT_FOUND, message).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "not_found", "error_description": message })),
    )
        .into_response()
}

/// A known path with the wrong method: JSON too.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("{method} is not allowed on {}", uri.path());
    if is_sponsus(&uri) {
        return SponsusError::new(StatusCode::METHOD_NOT_ALLOWED, message).into_response();
    }
    if is_patreon_api(&uri) {
        return JsonApiError::new(StatusCode::METHOD_NOT_ALLOWED, message).into_response();
    }
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "error": "method_not_allowed", "error_description": message })),
    )
        .into_response()
}

fn is_sponsus(uri: &Uri) -> bool {
    uri.path().starts_with("/v1/")
}

/// The Patreon resource API answers in JSON:API `errors[]` even here.
fn is_patreon_api(uri: &Uri) -> bool {
    uri.path().starts_with("/oauth2/api/") || uri.path().starts_with("/api/oauth2/api/")
}
