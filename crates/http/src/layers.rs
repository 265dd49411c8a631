//! Cross-cutting layers: request ids, tracing, limits, panics.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, Response, StatusCode};
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
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
        return crate::dialect::refusal(
            &path,
            StatusCode::URI_TOO_LONG,
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
        return crate::dialect::refusal(
            &path,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
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
            // Counts what the client got: panics and timeouts included.
            .layer(axum::middleware::from_fn(crate::metrics::record))
            .layer(axum::middleware::from_fn(answer_panics))
            .layer(axum::middleware::from_fn(request_size_limits))
            .layer(axum::middleware::from_fn_with_state(
                options.request_timeout,
                time_limit,
            ))
            // Extractors refuse larger bodies with 413.
            .layer(DefaultBodyLimit::max(options.max_body_bytes)),
    )
}

/// A handler that panicked: 500 in the path owner's shape, and a log line.
async fn answer_panics(request: Request<Body>, next: axum::middleware::Next) -> Response<Body> {
    use futures_util::FutureExt;
    let path = request.uri().path().to_owned();
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a handler panicked");
            crate::dialect::refusal(
                &path,
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            )
        }
    }
}

/// A request that takes longer than `limit`: 408 in the path owner's shape.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::dialect::refusal(
            &path,
            StatusCode::REQUEST_TIMEOUT,
            "temporarily_unavailable",
            &format!("the request took longer than {} s", limit.as_secs_f64()),
        ),
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use crate::HttpOptions;

    async fn answer(router: &Router, path: &str) -> (StatusCode, String, String) {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, kind, String::from_utf8_lossy(&body).into_owned())
    }

    fn boom() -> Router {
        async fn panics() -> &'static str {
            panic!("a bug")
        }
        Router::new()
            .route("/dashboard/boom", get(panics))
            .route("/api/oauth2/v2/boom", get(panics))
            .route("/v1/boom", get(panics))
    }

    #[tokio::test]
    async fn a_panic_answers_500_in_the_owners_shape() {
        let router = super::apply(boom(), &HttpOptions::default());
        let (status, kind, body) = answer(&router, "/dashboard/boom").await;
        assert_eq!(status, 500);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(body.contains("<h1>Internal Server Error</h1>"), "{body}");
        let (status, _, body) = answer(&router, "/api/oauth2/v2/boom").await;
        assert_eq!(status, 500);
        assert!(body.contains("\"errors\""), "{body}");
        let (status, _, body) = answer(&router, "/v1/boom").await;
        assert_eq!(status, 500);
        assert!(body.contains("\"success\":false"), "{body}");
    }

    #[tokio::test]
    async fn a_slow_request_answers_408_in_the_owners_shape() {
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }
        let router = Router::new()
            .route("/settings/slow", get(slow))
            .route("/api/oauth2/api/slow", get(slow));
        let options = HttpOptions {
            request_timeout: Duration::from_millis(50),
            ..HttpOptions::default()
        };
        let router = super::apply(router, &options);
        let (status, kind, _) = answer(&router, "/settings/slow").await;
        assert_eq!(status, 408);
        assert!(kind.starts_with("text/html"), "{kind}");
        let (status, _, body) = answer(&router, "/api/oauth2/api/slow").await;
        assert_eq!(status, 408);
        assert!(body.contains("RequestTimeout"), "{body}");
    }
}
