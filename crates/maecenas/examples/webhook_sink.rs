//! A fast webhook receiver for benchmarks: answers every request 204 and, when
//! stopped (SIGTERM or Ctrl-C), prints how many requests it got and how many
//! distinct `webhook-id`s among them.
//!
//!   cargo run --release --example webhook_sink -- 127.0.0.1:9999

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9999".into());
    let seen: Arc<Mutex<(u64, HashSet<String>)>> = Arc::default();
    let counter = seen.clone();
    let router = axum::Router::new().fallback(move |headers: HeaderMap| {
        let counter = counter.clone();
        async move {
            let id = headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let mut seen = counter.lock().expect("counter");
            seen.0 += 1;
            seen.1.insert(id);
            StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("sink listening on {}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(maecenas::shutdown_signal())
        .await?;
    let seen = seen.lock().expect("counter");
    println!("requests {} distinct {}", seen.0, seen.1.len());
    Ok(())
}
