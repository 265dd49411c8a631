//! Probes for operators and orchestrators.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

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

/// Paths no route claims: in the owner's shape (see `dialect`), never an
/// empty body. The path is echoed, the query string (which may hold a code)
/// is not.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    let message = format!("no route for {method} {}", uri.path());
    crate::dialect::refusal(uri.path(), StatusCode::NOT_FOUND, "not_found", &message)
}

/// A known path with the wrong method.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("{method} is not allowed on {}", uri.path());
    crate::dialect::refusal(
        uri.path(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &message,
    )
}
