//! Cross-cutting layers: request ids, tracing, limits, panics.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, Response, StatusCode};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::HttpOptions;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn apply(router: Router, options: &HttpOptions) -> Router {
    let trace = TraceLayer::new_for_http()
        // The path only: query strings can carry codes and secrets (the
        // Patreon token request puts them there) and never reach the logs.
        .make_span_with(|request: &Request<Body>| {
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id,
            )
        })
        .on_request(())
        .on_response(LogResponse)
        .on_failure(());

    router.layer(
        ServiceBuilder::new()
            // Outermost: every response, even a panic's, carries the request id.
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(trace)
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                options.request_timeout,
            ))
            // Extractors refuse larger bodies with 413.
            .layer(DefaultBodyLimit::max(options.max_body_bytes)),
    )
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(
            serde_json::json!({ "success": false, "error": "server_error", "error_description": "internal error" }),
        ),
    )
        .into_response()
}

/// One line per response, inside the request's span (so it carries the request id).
#[derive(Clone, Copy)]
struct LogResponse;

impl<B> tower_http::trace::OnResponse<B> for LogResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "served"
        );
    }
}
