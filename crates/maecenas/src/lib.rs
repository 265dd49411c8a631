//! The `maecenas` binary as a library: [`App::build`] does everything `serve`
//! does before accepting connections, and [`App::run`] serves until told to
//! stop. Integration tests run the very same code on 127.0.0.1:0.

pub mod cli;
pub mod config;
pub mod logging;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use maecenas_domain::{MAX_NODE_ID, SnowflakeGenerator};
use maecenas_http::{AppState, HttpOptions};
use maecenas_services::{Clock, Services, SystemClock};
use maecenas_store::{ConnectOptions, Store};
use tokio::net::TcpListener;

pub use config::Config;

/// A server that is listening, migrated and ready to serve.
pub struct App {
    services: Services,
    listener: TcpListener,
    local_addr: SocketAddr,
    /// The operators' metrics listener, when `metrics_listen` is set.
    metrics_listener: Option<TcpListener>,
    config: Config,
    shared_limits: Option<maecenas_services::throttle::SharedLimiter>,
}

impl App {
    /// Binds the port first (an occupied port fails fast, before any
    /// database work), then opens and migrates the database.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`App::build`], with the time source given (tests move time by hand).
    pub async fn build_with_clock(
        mut config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        let started = Instant::now();
        config.public_url = config
            .public_url
            .as_deref()
            .map(config::checked_public_url)
            .transpose()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| cannot_listen(config.listen, e))?;
        let local_addr = listener
            .local_addr()
            .context("reading the listening address")?;
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(|e| cannot_listen(address, e))
                    .context("binding the metrics listener (--metrics-listen)")?,
            ),
            None => None,
        };
        let base_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let services = open_services_with_clock(&config, clock)
            .await?
            .with_mail(&maecenas_services::email::MailSettings {
                base_url,
                ..config.mail.clone()
            })
            .context("setting up e-mail (--smtp-url, --mail-from)")?;
        tracing::info!(
            backend = services.store().backend().name(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "database ready"
        );
        let shared_limits = shared_limits(&config, &services).await?;
        Ok(App {
            services,
            listener,
            local_addr,
            metrics_listener,
            config,
            shared_limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until `shutdown` completes, then lets in-flight requests
    /// finish for up to the configured grace period.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let public_url = self
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.local_addr));
        let secure_cookies = public_url.starts_with("https://");
        let state = AppState {
            services: self.services.clone(),
            public_url,
            secure_cookies,
            login_throttle: std::sync::Arc::new(
                maecenas_http::web::throttle::LoginThrottle::shared(
                    self.config.login_limits,
                    self.shared_limits.clone(),
                ),
            ),
        };
        let options = HttpOptions {
            request_timeout: self.config.request_timeout,
            max_body_bytes: self.config.max_body_bytes,
            rate_limits: self.config.rate_limits,
            shared_limits: self.shared_limits.clone(),
        };
        let metrics = match self.metrics_listener {
            Some(listener) => {
                let handle = maecenas_http::metrics::install()?;
                let scrape = maecenas_http::metrics::scrape_router(handle, self.services.clone());
                tracing::info!(address = %listener.local_addr()?, "serving metrics at /metrics");
                Some(tokio::spawn(
                    async move { axum::serve(listener, scrape).await },
                ))
            }
            None => None,
        };
        let router = maecenas_http::router(state, &options);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
            let _ = stopping_tx.send(());
        });
        let grace = self.config.shutdown_grace;
        let (stop_webhooks, webhook_stop) = tokio::sync::watch::channel(false);
        let webhooks = self.config.webhook_delivery.then(|| {
            let services = self.services.clone();
            tokio::spawn(async move { services.run_webhook_worker(webhook_stop).await })
        });
        let (stop_mail, mail_stop) = tokio::sync::watch::channel(false);
        let mail = {
            let services = self.services.clone();
            tokio::spawn(async move { services.run_mail_worker(mail_stop).await })
        };
        let billing = (!self.config.billing_interval.is_zero()).then(|| {
            spawn_billing_schedule(
                self.services.clone(),
                self.config.billing_interval,
                self.config.payouts,
            )
        });
        let server = tokio::spawn(async move { server.await });
        tokio::pin!(server);
        let outcome = tokio::select! {
            result = &mut server => result,
            () = async {
                // Only once shutdown began does the grace period start.
                if stopping_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "grace period over: dropping requests still in flight");
                server.abort();
                Ok(Ok(()))
            }
        };
        // Stopping mid-run is safe: what the run held is taken over by the
        // next run once its lease ends, and looked up at the gateway first.
        if let Some(billing) = billing {
            billing.abort();
        }
        // Attempts in flight finish and are recorded; the rest wait in the outbox.
        let _ = stop_webhooks.send(true);
        if let Some(webhooks) = webhooks {
            let _ = webhooks.await;
        }
        let _ = stop_mail.send(true);
        let _ = mail.await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        self.services.store().close().await;
        outcome.context("server task")?.context("serving HTTP")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// `serve` bills on its own: every `interval`, a run for the current month
/// (renewals on the 1st, retries, what a stopped run left) and, with monthly
/// payouts, last month's payout of every creator's balance (once each).
fn spawn_billing_schedule(
    services: Services,
    interval: std::time::Duration,
    payouts: config::PayoutSchedule,
) -> tokio::task::JoinHandle<()> {
    // A run that could not finish (pledges held by a stalled run, a failure)
    // is tried again soon, not an interval later.
    let soon = interval.min(std::time::Duration::from_secs(30));
    tokio::spawn(async move {
        let mut wait = interval;
        loop {
            tokio::time::sleep(wait).await;
            wait = match services
                .run_billing(None, &maecenas_services::billing::Quiet)
                .await
            {
                Ok(r) => {
                    tracing::info!(
                        charged = r.succeeded,
                        retrying = r.retrying,
                        declined = r.declined,
                        unknown = r.unknown,
                        recovered = r.recovered,
                        unbilled = r.unbilled,
                        "scheduled billing run"
                    );
                    if r.unbilled > 0 { soon } else { interval }
                }
                Err(e) => {
                    tracing::error!(error = %e, "scheduled billing run failed; trying again soon");
                    soon
                }
            };
            if payouts == config::PayoutSchedule::Monthly {
                let last_month =
                    maecenas_domain::BillingPeriod::containing(time::OffsetDateTime::now_utc())
                        .previous();
                match services.pay_out_all(last_month).await {
                    Ok(r) if !r.paid.is_empty() || !r.failed.is_empty() => tracing::info!(
                        paid = r.paid.len(),
                        failed = r.failed.len(),
                        "scheduled payouts"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "scheduled payouts failed"),
                }
            }
        }
    })
}

/// Opens the database, applies migrations and wires the use cases.
pub async fn open_services(config: &Config) -> anyhow::Result<Services> {
    open_services_with_clock(config, Arc::new(SystemClock)).await
}

async fn open_services_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Services> {
    let options = ConnectOptions {
        max_connections: config.db_max_connections,
        session_limits: config.db_session_limits,
        ..ConnectOptions::default()
    };
    let store = Store::connect(&config.database_url, &options).await?;
    let report = store.migrate().await?;
    if !report.applied_now.is_empty() {
        tracing::info!(applied = ?report.applied_now, "applied database migrations");
    }
    let node = config.node_id.unwrap_or_else(random_node_id);
    let ids = Arc::new(SnowflakeGenerator::new(node)?);
    let renderer = Arc::new(maecenas_http::patreon_v1::events::PatreonEventRenderer {
        base: public_base(config),
    });
    Ok(Services::new(store, ids, clock)
        .with_mail_links(&public_base(config))
        .with_billing(config.billing.clone())?
        .with_webhooks(config.webhooks.clone(), renderer)?)
}

/// Links in webhook bodies: the public URL, or the listening address.
fn public_base(config: &Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
}

/// Where rate limits are counted: Redis when configured, else PostgreSQL's
/// own table (several nodes may share it), else this process's memory.
async fn shared_limits(
    config: &Config,
    services: &Services,
) -> anyhow::Result<Option<maecenas_services::throttle::SharedLimiter>> {
    use maecenas_services::throttle::SharedLimiter;
    if let Some(url) = &config.redis_url {
        let limiter = SharedLimiter::redis(url, &config.redis_prefix)
            .await
            .map_err(|e| anyhow::anyhow!("redis_url: {e}"))?;
        tracing::info!("rate limits and log-in throttling are counted in Redis");
        return Ok(Some(limiter));
    }
    Ok(match services.store().backend() {
        maecenas_store::Backend::Postgres => {
            Some(SharedLimiter::Database(services.store().clone()))
        }
        maecenas_store::Backend::Sqlite => None,
    })
}

/// Without a configured node id, pick one at random: processes sharing a
/// database then collide only by bad luck rather than always (see README).
fn random_node_id() -> u32 {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    u32::from(u16::from_le_bytes(bytes) & MAX_NODE_ID)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called, not when the future is first polled: call it before
/// announcing the address, or a quick SIGTERM would kill the process outright.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Why `serve` cannot listen, with what to do about the two common causes.
fn cannot_listen(address: std::net::SocketAddr, error: std::io::Error) -> anyhow::Error {
    let advice = match error.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            ": another program listens on port {port} (an earlier `maecenas serve`?). \
             Stop it, or choose another port: --listen {ip}:{next} (or MAECENAS_LISTEN)",
            port = address.port(),
            ip = address.ip(),
            next = address.port().wrapping_add(1).max(1),
        ),
        std::io::ErrorKind::PermissionDenied if address.port() < 1024 => {
            ": ports below 1024 need privileges; choose one above, e.g. --listen 127.0.0.1:8080"
                .to_owned()
        }
        _ => String::new(),
    };
    anyhow::anyhow!("cannot listen on {address}: {error}{advice}")
}
