//! Prometheus metrics for operators, served on a listener of their own
//! (`--metrics-listen`, off unless set) so that the public port never shows
//! them. Recorded with the `metrics` facade, rendered by
//! `metrics-exporter-prometheus`; without an installed recorder (metrics
//! off) every recording is a no-op.
//!
//! - `maecenas_http_requests_total{route, method, status}` and
//!   `maecenas_http_request_duration_seconds{route, method}`: every request,
//!   labelled by the route pattern it matched (`/v1/profiles/{id_or_url}`),
//!   never by the raw path, so that the label set stays small; requests that
//!   match no route are `route="unmatched"`.
//! - At each scrape, from [`maecenas_services::gauges`]: the database pools'
//!   open and idle connections, the webhook deliveries owed and how long the
//!   oldest due one has waited, and the same wait for billing's charges.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maecenas_services::Services;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const DURATION: &str = "maecenas_http_request_duration_seconds";
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Whether a recorder is installed: when metrics are off, requests skip
/// building labels at all.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Installs the process-wide recorder (once) and returns what renders it.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), BUCKETS)?
        .install_recorder()?;
    ENABLED.store(true, Ordering::Relaxed);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The route pattern a request matched, carried on its response to
/// [`record`] (which runs outside routing, where the pattern is not known).
#[derive(Clone)]
struct RoutePattern(String);

/// Inside routing: tags the response with the matched route pattern.
pub(crate) async fn tag_route(
    matched: Option<MatchedPath>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if let Some(matched) = matched.filter(|_| ENABLED.load(Ordering::Relaxed)) {
        response
            .extensions_mut()
            .insert(RoutePattern(matched.as_str().to_owned()));
    }
    response
}

/// Outside routing: counts and times every request, fallbacks included.
pub(crate) async fn record(request: Request<Body>, next: axum::middleware::Next) -> Response {
    if !ENABLED.load(Ordering::Relaxed) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RoutePattern>()
        .map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "maecenas_http_requests_total",
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The metrics listener's router: `GET /metrics`, Prometheus text format.
pub fn scrape_router(handle: PrometheusHandle, services: Services) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((handle, services))
}

async fn scrape(State((handle, services)): State<(PrometheusHandle, Services)>) -> Response {
    match services.gauges().await {
        Ok(gauges) => {
            metrics::gauge!("maecenas_database_up").set(1.0);
            for pool in &gauges.pools {
                let in_use = pool.open.saturating_sub(pool.idle);
                for (state, value) in [("open", pool.open), ("idle", pool.idle), ("in_use", in_use)]
                {
                    metrics::gauge!("maecenas_db_pool_connections", "pool" => pool.pool, "state" => state)
                        .set(f64::from(value));
                }
            }
            metrics::gauge!("maecenas_webhook_deliveries_pending")
                .set(gauges.webhook_deliveries_pending as f64);
            metrics::gauge!("maecenas_webhook_lag_seconds").set(gauges.webhook_lag_seconds);
            metrics::gauge!("maecenas_billing_lag_seconds").set(gauges.billing_lag_seconds);
            metrics::gauge!("maecenas_emails_pending").set(gauges.emails_pending as f64);
            metrics::gauge!("maecenas_email_lag_seconds").set(gauges.email_lag_seconds);
            metrics::gauge!("maecenas_charges_awaiting_mail")
                .set(gauges.charges_awaiting_mail as f64);
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics: the database did not answer");
            metrics::gauge!("maecenas_database_up").set(0.0);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
