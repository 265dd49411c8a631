//! Request rate limits of the APIs (GCRA through `governor`): per access
//! token or API key (the `Authorization` header, hashed), else per client
//! address; the token endpoints per OAuth client (HTTP Basic) or address.
//! Every limited answer carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset`; a refusal is 429 with `Retry-After`, in the dialect's
//! error shape.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

use maecenas_services::throttle::{Quota as SharedQuota, SharedLimiter};

use crate::web::kit::ClientAddr;

/// Requests per minute; `0` turns a limit off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    pub api_per_minute: u32,
    pub token_per_minute: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            api_per_minute: 1_200,
            token_per_minute: 120,
        }
    }
}

type Keyed = RateLimiter<
    [u8; 32],
    DefaultKeyedStateStore<[u8; 32]>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One limit: its limiter and its size (for the headers).
pub struct Limit {
    limiter: Keyed,
    per_minute: u32,
}

impl Limit {
    fn new(per_minute: u32) -> Option<Arc<Limit>> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Arc::new(Limit {
            limiter: RateLimiter::keyed(Quota::per_minute(n))
                .with_middleware::<StateInformationMiddleware>(),
            per_minute,
        }))
    }
}

#[derive(Clone, Default)]
pub struct RateLimits {
    pub api: Option<Arc<Limit>>,
    pub token: Option<Arc<Limit>>,
    /// Where every node counts (PostgreSQL or Redis); `None`: this process alone.
    pub shared: Option<SharedLimiter>,
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings, shared: Option<SharedLimiter>) -> Self {
        Self {
            api: Limit::new(settings.api_per_minute),
            token: Limit::new(settings.token_per_minute),
            shared,
        }
    }
}

/// The key: a hash of the credentials the request presents (the token or
/// key itself is never kept), else the client address.
fn key_of(headers: &HeaderMap, address: Option<std::net::IpAddr>, basic_only: bool) -> [u8; 32] {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let credentials = match credentials {
        // At the token endpoint only a client's own credentials name it (the id part of Basic).
        Some(v) if basic_only => v
            .strip_prefix("Basic ")
            .map(|b| b.trim().to_owned())
            .and_then(|b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            })
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| pair.split_once(':').map(|(id, _)| format!("client:{id}"))),
        Some(v) => Some(format!("auth:{v}")),
        None => None,
    };
    let material = credentials.unwrap_or_else(|| match address {
        Some(ip) => format!("addr:{ip}"),
        None => "addr:unknown".to_owned(),
    });
    Sha256::digest(material.as_bytes()).into()
}

/// Whether the request may go on: `Ok((remaining, seconds to full))` or
/// `Err(seconds to wait)`. Shared state when there is one; a shared store
/// that does not answer lets the request through (an outage of Redis must
/// not take the APIs down) and says so in the log.
async fn decide(
    limit: &Limit,
    shared: Option<&SharedLimiter>,
    kind: &str,
    key: [u8; 32],
) -> Option<Result<(u32, u64), u64>> {
    if let Some(shared) = shared {
        return match shared
            .check(kind, &key, SharedQuota::per_minute(limit.per_minute))
            .await
        {
            Ok(d) if d.allowed => Some(Ok((d.remaining, d.reset.as_secs_f64().ceil() as u64))),
            Ok(d) => Some(Err(d.wait.as_secs_f64().ceil().max(1.0) as u64)),
            Err(e) => {
                tracing::warn!(error = %e, "the shared rate limit did not answer: request let through");
                None
            }
        };
    }
    Some(match limit.limiter.check_key(&key) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            // Back to a full allowance after the used part refills.
            let reset = (u64::from(limit.per_minute - remaining.min(limit.per_minute)) * 60)
                .div_ceil(u64::from(limit.per_minute));
            Ok((remaining, reset))
        }
        Err(not_until) => Err(not_until
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1)),
    })
}

async fn limited(
    limit: &Limit,
    shared: Option<&SharedLimiter>,
    kind: &str,
    key: [u8; 32],
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let limit_header = HeaderValue::from(limit.per_minute);
    let Some(decision) = decide(limit, shared, kind, key).await else {
        return next.run(request).await;
    };
    match decision {
        Ok((remaining, reset)) => {
            let mut response = next.run(request).await;
            let headers = response.headers_mut();
            headers.insert("ratelimit-limit", limit_header);
            headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
            headers.insert("ratelimit-reset", HeaderValue::from(reset));
            response
        }
        Err(wait) => {
            let message = format!(
                "too many requests: at most {} a minute; try again in {wait} s",
                limit.per_minute
            );
            let mut response = crate::dialect::refusal(
                &path,
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                &message,
            );
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
            headers.insert("ratelimit-limit", limit_header);
            headers.insert("ratelimit-remaining", HeaderValue::from(0u32));
            headers.insert("ratelimit-reset", HeaderValue::from(wait));
            response
        }
    }
}

/// Middleware of the resource APIs.
pub async fn limit_api(
    State(limits): State<RateLimits>,
    ClientAddr(address): ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    match &limits.api {
        Some(limit) => {
            let key = key_of(request.headers(), address, false);
            limited(limit, limits.shared.as_ref(), "api", key, request, next).await
        }
        None => next.run(request).await,
    }
}

/// Middleware of the token and revocation endpoints.
pub async fn limit_token(
    State(limits): State<RateLimits>,
    ClientAddr(address): ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    match &limits.token {
        Some(limit) => {
            let key = key_of(request.headers(), address, true);
            limited(limit, limits.shared.as_ref(), "token", key, request, next).await
        }
        None => next.run(request).await,
    }
}
