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

/// Longest request target (path and query) accepted; longer is 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) accepted; more is 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses oversized request lines and headers before any handler reads
/// them, in the dialect's error shape. (JSON bodies nest at most 128 deep:
/// serde_json's recursion limit, answered 400 by each dialect's parser.)
async fn request_size_limits(
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return crate::refusal::refusal(
            &path,
            StatusCode::URI_TOO_LONG,
            4,
            "BadRequest",
            "invalid_request",
            &format!("the request target is longer than {MAX_URI_BYTES} bytes"),
        );
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return crate::refusal::refusal(
            &path,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            4,
            "BadRequest",
            "invalid_request",
            &format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
        );
    }
    next.run(request).await
}

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
            .layer(axum::middleware::from_fn(request_size_limits))
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
