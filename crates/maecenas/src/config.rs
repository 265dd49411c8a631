//! Configuration: flags, then environment variables, then an optional TOML
//! file, then defaults, in that order of precedence. Flags and environment
//! variables are read by clap (see `cli/mod.rs`); this module merges them with the
//! file and the defaults into one [`Config`].

use maecenas_http::rate_limit::RateLimitSettings;
use maecenas_http::web::throttle::LoginLimits;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use maecenas_domain::{FeePolicy, TargetPolicy};
use maecenas_services::billing::{BillingSettings, GatewayChoice, TestGatewayFault};
use maecenas_services::email::MailSettings;
use maecenas_services::webhooks::WebhookSettings;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAIL_FROM: &str = "Maecenas <no-reply@localhost>";
pub const DEFAULT_CONFIG_FILE: &str = "maecenas.toml";
/// sqlx logs PostgreSQL notices ("relation already exists, skipping") at info.
pub const DEFAULT_LOG_LEVEL: &str = "info,sqlx=warn";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings every subcommand shares, as given on the command line or in the
/// environment (`None`: not given there).
#[derive(Debug, Clone, Default, clap::Args, Serialize, Deserialize)]
pub struct CommonArgs {
    /// TOML configuration file [default: ./maecenas.toml if it exists]
    #[arg(
        long,
        env = "MAECENAS_CONFIG",
        global = true,
        value_name = "FILE",
        help_heading = "Database and log settings"
    )]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [default: ./data]
    #[arg(
        long,
        env = "MAECENAS_DATA_DIR",
        global = true,
        value_name = "DIR",
        help_heading = "Database and log settings"
    )]
    pub data_dir: Option<PathBuf>,
    /// sqlite:PATH or postgres://USER@HOST/DB [default: sqlite:DATA_DIR/maecenas.db]
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true,
        help_heading = "Database and log settings"
    )]
    pub database_url: Option<String>,
    /// Snowflake node id, 0-1023, distinct for each process sharing a database [default: random]
    #[arg(
        long,
        env = "MAECENAS_NODE_ID",
        global = true,
        value_name = "N",
        help_heading = "Database and log settings"
    )]
    pub node_id: Option<u32>,
    /// Log line format [default: text]
    #[arg(
        long,
        env = "MAECENAS_LOG_FORMAT",
        global = true,
        value_enum,
        help_heading = "Database and log settings"
    )]
    pub log_format: Option<LogFormat>,
    /// Log filter, as in RUST_LOG (`info`, `maecenas=debug,sqlx=warn`) [default: info,sqlx=warn]
    #[arg(
        long,
        env = "MAECENAS_LOG",
        global = true,
        value_name = "FILTER",
        help_heading = "Database and log settings"
    )]
    pub log_level: Option<String>,
    /// Largest database connection pool [default: 10]
    #[arg(
        long,
        env = "MAECENAS_DB_MAX_CONNECTIONS",
        global = true,
        value_name = "N",
        help_heading = "Database and log settings"
    )]
    pub db_max_connections: Option<u32>,
    /// PostgreSQL: the longest one statement may run, in seconds (0: no limit) [default: 120]
    #[arg(
        long,
        env = "MAECENAS_DB_STATEMENT_TIMEOUT",
        global = true,
        value_name = "SECONDS",
        help_heading = "Database and log settings"
    )]
    pub db_statement_timeout: Option<u64>,
    /// PostgreSQL: the longest a statement waits for a lock, in seconds (0: no limit) [default: 30]
    #[arg(
        long,
        env = "MAECENAS_DB_LOCK_TIMEOUT",
        global = true,
        value_name = "SECONDS",
        help_heading = "Database and log settings"
    )]
    pub db_lock_timeout: Option<u64>,
    /// PostgreSQL: a transaction left idle this many seconds is ended, and its locks released (0: never) [default: 30]
    #[arg(
        long,
        env = "MAECENAS_DB_IDLE_IN_TRANSACTION_TIMEOUT",
        global = true,
        value_name = "SECONDS",
        help_heading = "Database and log settings"
    )]
    pub db_idle_in_transaction_timeout: Option<u64>,
    /// Payment gateway: `test` (built in, Stripe's test card numbers) or `stripe` [default: test]
    #[arg(
        long,
        env = "MAECENAS_GATEWAY",
        global = true,
        value_enum,
        help_heading = "Billing settings"
    )]
    pub gateway: Option<GatewayKind>,
    /// Stripe secret key (`sk_...`), with --gateway stripe
    #[arg(
        long,
        env = "MAECENAS_STRIPE_SECRET_KEY",
        global = true,
        value_name = "KEY",
        hide_env_values = true,
        help_heading = "Billing settings"
    )]
    pub stripe_secret_key: Option<String>,
    /// Stripe API base URL [default: https://api.stripe.com]
    #[arg(
        long,
        env = "MAECENAS_STRIPE_API_BASE",
        global = true,
        value_name = "URL",
        help_heading = "Billing settings"
    )]
    pub stripe_api_base: Option<String>,
    /// Platform fee in basis points of each charge (500 = 5%) [default: 500]
    #[arg(
        long,
        env = "MAECENAS_PLATFORM_FEE_BPS",
        global = true,
        value_name = "BPS",
        help_heading = "Billing settings"
    )]
    pub platform_fee_bps: Option<u32>,
    /// Gateway fee in basis points of each charge [default: 290]
    #[arg(
        long,
        env = "MAECENAS_GATEWAY_FEE_BPS",
        global = true,
        value_name = "BPS",
        help_heading = "Billing settings"
    )]
    pub gateway_fee_bps: Option<u32>,
    /// Gateway fixed fee per charge, in minor units [default: 30]
    #[arg(
        long,
        env = "MAECENAS_GATEWAY_FEE_FIXED",
        global = true,
        value_name = "MINOR",
        help_heading = "Billing settings"
    )]
    pub gateway_fee_fixed: Option<i64>,
    /// Seconds a billing run holds the charges it took before another run may take them over [default: 300]
    #[arg(
        long,
        env = "MAECENAS_BILLING_LEASE",
        global = true,
        value_name = "SECONDS",
        help_heading = "Billing settings"
    )]
    pub billing_lease: Option<u64>,
    /// Milliseconds one round of gateway calls may take before its outcome counts as unknown [default: 30000]
    #[arg(
        long,
        env = "MAECENAS_GATEWAY_TIMEOUT_MS",
        global = true,
        value_name = "MS",
        help_heading = "Billing settings"
    )]
    pub gateway_timeout_ms: Option<u64>,
    /// Charges planned, sent and recorded together [default: 2000]
    #[arg(
        long,
        env = "MAECENAS_BILLING_BATCH",
        global = true,
        value_name = "N",
        help_heading = "Billing settings"
    )]
    pub billing_batch: Option<usize>,
    /// Test gateway fault injection (tests): error-after-charge:N | timeout-after-charge:N
    #[arg(
        long,
        env = "MAECENAS_TEST_GATEWAY_FAULT",
        global = true,
        hide = true,
        help_heading = "Billing settings"
    )]
    #[serde(skip)]
    pub test_gateway_fault: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    Test,
    Stripe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PayoutSchedule {
    /// Every campaign's balance is paid out once a month
    Monthly,
    /// Payouts only when asked (`maecenas billing payout`)
    Off,
}

/// Settings only `serve` reads.
#[derive(Debug, Clone, Default, clap::Args, Serialize, Deserialize)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "MAECENAS_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Public base URL, used in links the API returns [default: http://LISTEN]
    #[arg(long, env = "MAECENAS_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// A second address that serves Prometheus metrics at /metrics (request counts and latencies per route, pool use, webhook and billing lag), e.g. 127.0.0.1:9464; keep it off the public network [default: off]
    #[arg(long, env = "MAECENAS_METRICS_LISTEN", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
    /// Redis for state every node shares (rate limits, log-in throttling), e.g. redis://127.0.0.1:6379 [default: PostgreSQL's own table; in memory on SQLite]
    #[arg(
        long,
        env = "MAECENAS_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Prefix of the keys Maecenas writes in Redis [default: maecenas]
    #[arg(long, env = "MAECENAS_REDIS_PREFIX", value_name = "PREFIX")]
    pub redis_prefix: Option<String>,
    /// Mail server for the e-mail Maecenas sends (receipts, password resets, new posts), e.g. smtp://127.0.0.1:25 or smtps://user:password@mail.example.org [default: none: each message is written to DATA_DIR/mail and shown at /admin/emails]
    #[arg(
        long,
        env = "MAECENAS_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// The From: of every e-mail, e.g. "Maecenas <no-reply@example.org>" [default: Maecenas <no-reply@localhost>]
    #[arg(long, env = "MAECENAS_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT [default: 30]
    #[arg(long, env = "MAECENAS_SHUTDOWN_GRACE", value_name = "SECONDS")]
    pub shutdown_grace: Option<u64>,
    /// Seconds before a request is answered 408 [default: 30]
    #[arg(long, env = "MAECENAS_REQUEST_TIMEOUT", value_name = "SECONDS")]
    pub request_timeout: Option<u64>,
    /// Largest request body accepted, in bytes [default: 1048576]
    #[arg(long, env = "MAECENAS_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seed demo data (a creator, tiers, goals, patrons, an OAuth client, an API key) and print how to use it
    #[arg(long)]
    #[serde(skip)]
    pub demo: bool,
    /// Seconds between billing runs inside `serve`; 0 turns them off [default: 300]
    #[arg(long, env = "MAECENAS_BILLING_INTERVAL", value_name = "SECONDS")]
    pub billing_interval: Option<u64>,
    /// Scheduled payouts to creators [default: monthly]
    #[arg(long, env = "MAECENAS_PAYOUTS", value_enum)]
    pub payouts: Option<PayoutSchedule>,
    /// Webhook delivery inside `serve` [default: on]
    #[arg(long, env = "MAECENAS_WEBHOOK_DELIVERY", value_enum)]
    pub webhook_delivery: Option<Switch>,
    /// Log-in attempts one account may make in a burst; then one per 6 s [default: 10]
    #[arg(long, env = "MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT", value_name = "N")]
    pub login_attempts_per_account: Option<u32>,
    /// Log-in attempts one client address may make in a burst; then one per second [default: 60]
    #[arg(long, env = "MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS", value_name = "N")]
    pub login_attempts_per_address: Option<u32>,
    /// Resource API requests per minute per token, API key or (without one) address; 0 turns it off [default: 1200]
    #[arg(long, env = "MAECENAS_API_REQUESTS_PER_MINUTE", value_name = "N")]
    pub api_requests_per_minute: Option<u32>,
    /// Token and revocation requests per minute per OAuth client or address; 0 turns it off [default: 120]
    #[arg(long, env = "MAECENAS_TOKEN_REQUESTS_PER_MINUTE", value_name = "N")]
    pub token_requests_per_minute: Option<u32>,
    /// Networks webhooks may reach despite being internal, comma-separated CIDRs (`127.0.0.0/8,::1/128`) [default: none]
    #[arg(
        long,
        env = "MAECENAS_WEBHOOK_ALLOW_NETS",
        value_name = "CIDRS",
        help_heading = "Webhook settings"
    )]
    pub webhook_allow_nets: Option<String>,
    /// Milliseconds one webhook attempt may take, connecting included [default: 10000]
    #[arg(
        long,
        env = "MAECENAS_WEBHOOK_TIMEOUT_MS",
        value_name = "MS",
        help_heading = "Webhook settings"
    )]
    pub webhook_timeout_ms: Option<u64>,
    /// Webhook attempts in flight at once, per process [default: 256]
    #[arg(
        long,
        env = "MAECENAS_WEBHOOK_CONCURRENCY",
        value_name = "N",
        help_heading = "Webhook settings"
    )]
    pub webhook_concurrency: Option<usize>,
    /// Milliseconds before the first retry of a failed delivery; each next waits about twice as long, up to 6 h [default: 30000]
    #[arg(
        long,
        env = "MAECENAS_WEBHOOK_FIRST_RETRY_MS",
        value_name = "MS",
        help_heading = "Webhook settings"
    )]
    pub webhook_first_retry_ms: Option<u64>,
    /// Seconds after its event a failing delivery is given up on and its webhook paused [default: 259200, 3 days]
    #[arg(
        long,
        env = "MAECENAS_WEBHOOK_GIVE_UP_AFTER",
        value_name = "SECONDS",
        help_heading = "Webhook settings"
    )]
    pub webhook_give_up_after: Option<u64>,
    /// Seconds a process's claim on a delivery lasts, renewed while it works; a process that dies hands its deliveries to the others this long after [default: 15]
    #[arg(
        long,
        env = "MAECENAS_WEBHOOK_LEASE",
        value_name = "SECONDS",
        help_heading = "Webhook settings"
    )]
    pub webhook_lease: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    On,
    Off,
}

/// The resolved configuration.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub node_id: Option<u32>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db_max_connections: u32,
    /// PostgreSQL's limits on each session of ours.
    pub db_session_limits: maecenas_store::SessionLimits,
    pub listen: SocketAddr,
    /// Where Prometheus metrics are served, when set.
    pub metrics_listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    /// Where shared state lives when set (may hold a password: never printed).
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub shutdown_grace: Duration,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub billing: BillingSettings,
    /// Zero: `serve` runs no billing of its own.
    pub billing_interval: Duration,
    pub payouts: PayoutSchedule,
    pub webhooks: WebhookSettings,
    /// Whether `serve` delivers webhooks (another process may do it instead).
    pub webhook_delivery: bool,
    pub login_limits: LoginLimits,
    pub rate_limits: RateLimitSettings,
    /// How `serve` sends e-mail (its links start with the public URL).
    pub mail: MailSettings,
}

impl std::fmt::Debug for Config {
    /// The database URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("node_id", &self.node_id)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("db_max_connections", &self.db_max_connections)
            .field("db_session_limits", &self.db_session_limits)
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "[set]"))
            .field("redis_prefix", &self.redis_prefix)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("billing", &self.billing)
            .field("billing_interval", &self.billing_interval)
            .field("payouts", &self.payouts)
            .field("webhooks", &self.webhooks)
            .field("webhook_delivery", &self.webhook_delivery)
            .field("login_limits", &self.login_limits)
            .field("rate_limits", &self.rate_limits)
            .field("mail", &self.mail)
            .finish()
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Config {
    /// Merges flags/environment (already in `common` and `serve`), the file, and defaults.
    pub fn resolve(flags: &CommonArgs, serve_flags: &ServeArgs) -> anyhow::Result<Config> {
        // Every setting is declared once, in `CommonArgs` or `ServeArgs`: the
        // file's keys are their field names, and a flag or variable given
        // outranks the file's value.
        let (file_common, file_serve) = load_file(flags.config.as_deref())?;
        let common = &CommonArgs {
            config: flags.config.clone(),
            test_gateway_fault: flags.test_gateway_fault.clone(),
            ..layered(flags, &file_common)?
        };
        let serve = &ServeArgs {
            demo: serve_flags.demo,
            ..layered(serve_flags, &file_serve)?
        };
        let webhooks = webhook_settings(serve)?;
        let data_dir = common
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = common
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", data_dir.join("maecenas.db").display()));
        let listen_text = serve
            .listen
            .clone()
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.parse().with_context(|| {
            format!("--listen {listen_text:?} is not an ADDRESS:PORT such as 127.0.0.1:8080")
        })?;
        let metrics_listen = serve
            .metrics_listen
            .as_deref()
            .filter(|text| !text.trim().is_empty())
            .map(|text| {
                text.trim().parse::<SocketAddr>().with_context(|| {
                    format!(
                        "--metrics-listen {text:?} is not an ADDRESS:PORT such as 127.0.0.1:9464"
                    )
                })
            })
            .transpose()?;
        let node_id = common.node_id;
        if let Some(node) = node_id
            && node > u32::from(maecenas_domain::MAX_NODE_ID)
        {
            bail!(
                "node id {node} is out of range: it must be 0 to {}",
                maecenas_domain::MAX_NODE_ID
            );
        }
        let db_max_connections = common.db_max_connections.unwrap_or(10);
        if db_max_connections == 0 {
            bail!("db_max_connections must be at least 1");
        }
        let billing = billing_settings(common)?;
        let webhook_delivery = serve.webhook_delivery.unwrap_or(Switch::On) == Switch::On;
        Ok(Config {
            data_dir: data_dir.clone(),
            database_url,
            node_id,
            log_format: common.log_format.unwrap_or(LogFormat::Text),
            log_level: common
                .log_level
                .clone()
                .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned()),
            db_max_connections,
            db_session_limits: {
                let defaults = maecenas_store::SessionLimits::default();
                let seconds = |given: Option<u64>, default: Duration| {
                    given.map_or(default, Duration::from_secs)
                };
                maecenas_store::SessionLimits {
                    statement_timeout: seconds(
                        common.db_statement_timeout,
                        defaults.statement_timeout,
                    ),
                    lock_timeout: seconds(common.db_lock_timeout, defaults.lock_timeout),
                    idle_in_transaction_timeout: seconds(
                        common.db_idle_in_transaction_timeout,
                        defaults.idle_in_transaction_timeout,
                    ),
                }
            },
            listen,
            metrics_listen,
            public_url: serve
                .public_url
                .clone()
                .map(|url| checked_public_url(&url))
                .transpose()?,
            redis_url: serve.redis_url.clone(),
            redis_prefix: serve
                .redis_prefix
                .clone()
                .unwrap_or_else(|| "maecenas".to_owned()),
            shutdown_grace: Duration::from_secs(serve.shutdown_grace.unwrap_or(30)),
            request_timeout: Duration::from_secs(serve.request_timeout.unwrap_or(30).max(1)),
            max_body_bytes: serve.max_body_bytes.unwrap_or(1024 * 1024),
            billing,
            billing_interval: Duration::from_secs(serve.billing_interval.unwrap_or(300)),
            payouts: serve.payouts.unwrap_or(PayoutSchedule::Monthly),
            webhooks,
            webhook_delivery,
            login_limits: LoginLimits {
                per_account_burst: serve
                    .login_attempts_per_account
                    .unwrap_or(LoginLimits::default().per_account_burst)
                    .max(1),
                per_address_burst: serve
                    .login_attempts_per_address
                    .unwrap_or(LoginLimits::default().per_address_burst)
                    .max(1),
                ..LoginLimits::default()
            },
            rate_limits: RateLimitSettings {
                api_per_minute: serve
                    .api_requests_per_minute
                    .unwrap_or(RateLimitSettings::default().api_per_minute),
                token_per_minute: serve
                    .token_requests_per_minute
                    .unwrap_or(RateLimitSettings::default().token_per_minute),
            },
            mail: MailSettings {
                smtp_url: serve.smtp_url.clone().filter(|url| !url.trim().is_empty()),
                from: serve
                    .mail_from
                    .clone()
                    .unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned()),
                mail_dir: data_dir.join("mail"),
                // `serve` replaces it with the address it really listens on.
                base_url: format!("http://{listen}"),
            },
        })
    }

    /// A configuration with every default, for tests and embedding.
    pub fn for_database(database_url: impl Into<String>) -> Config {
        let mut config = Config::resolve(&CommonArgs::default(), &ServeArgs::default())
            .expect("defaults are valid");
        config.database_url = database_url.into();
        config
    }
}

fn billing_settings(common: &CommonArgs) -> anyhow::Result<BillingSettings> {
    let defaults = BillingSettings::default();
    let gateway = match common.gateway.unwrap_or(GatewayKind::Test) {
        GatewayKind::Test => {
            let fault = match &common.test_gateway_fault {
                Some(spec) => spec
                    .parse::<TestGatewayFault>()
                    .map_err(anyhow::Error::msg)?,
                None => TestGatewayFault::None,
            };
            GatewayChoice::Test { fault }
        }
        GatewayKind::Stripe => {
            let secret_key = common
                .stripe_secret_key
                .clone()
                .filter(|k| !k.is_empty())
                .context("the stripe gateway needs a secret key: set MAECENAS_STRIPE_SECRET_KEY")?;
            let api_base = common
                .stripe_api_base
                .clone()
                .unwrap_or_else(|| "https://api.stripe.com".to_owned());
            GatewayChoice::Stripe {
                secret_key,
                api_base,
            }
        }
    };
    let fees = FeePolicy::new(
        common
            .platform_fee_bps
            .unwrap_or(defaults.fees.platform_bps),
        common.gateway_fee_bps.unwrap_or(defaults.fees.gateway_bps),
        common
            .gateway_fee_fixed
            .unwrap_or(defaults.fees.gateway_fixed_minor),
    )
    .map_err(|e| anyhow::anyhow!("fees: {e}"))?;
    let batch_size = common.billing_batch.unwrap_or(defaults.batch_size);
    if !(1..=5_000).contains(&batch_size) {
        bail!("billing_batch must be between 1 and 5000");
    }
    Ok(BillingSettings {
        gateway,
        fees,
        lease: common
            .billing_lease
            .map_or(defaults.lease, Duration::from_secs),
        gateway_timeout: common
            .gateway_timeout_ms
            .map_or(defaults.gateway_timeout, Duration::from_millis),
        batch_size,
    })
}

fn webhook_settings(serve: &ServeArgs) -> anyhow::Result<WebhookSettings> {
    let defaults = WebhookSettings::default();
    let allow = serve.webhook_allow_nets.clone().unwrap_or_default();
    let policy = TargetPolicy::from_allow_list(&allow)
        .map_err(|e| anyhow::anyhow!("webhook_allow_nets: {e}"))?;
    let concurrency = serve.webhook_concurrency.unwrap_or(defaults.concurrency);
    if !(1..=10_000).contains(&concurrency) {
        bail!("webhook_concurrency must be between 1 and 10000");
    }
    let timeout = serve
        .webhook_timeout_ms
        .map_or(defaults.timeout, Duration::from_millis);
    if timeout.is_zero() {
        bail!("webhook_timeout_ms must be more than 0");
    }
    Ok(WebhookSettings {
        policy,
        timeout,
        concurrency,
        per_webhook: defaults.per_webhook.min(concurrency),
        first_retry: serve
            .webhook_first_retry_ms
            .map_or(defaults.first_retry, Duration::from_millis),
        give_up_after: serve
            .webhook_give_up_after
            .map_or(defaults.give_up_after, Duration::from_secs),
        lease: serve
            .webhook_lease
            .map_or(defaults.lease, Duration::from_secs)
            .max(Duration::from_secs(1)),
        ..defaults
    })
}

/// The settings a flag or variable gave (`flags`), over those of the file.
fn layered<T: Serialize + DeserializeOwned>(flags: &T, file: &T) -> anyhow::Result<T> {
    let mut merged = serde_json::to_value(file)?;
    if let (Some(merged), serde_json::Value::Object(given)) =
        (merged.as_object_mut(), serde_json::to_value(flags)?)
    {
        for (key, value) in given {
            if !value.is_null() {
                merged.insert(key, value);
            }
        }
    }
    Ok(serde_json::from_value(merged)?)
}

/// The file's settings (none without a file). Unknown keys are refused with
/// their line: a typo must not be silently ignored.
fn load_file(explicit: Option<&Path>) -> anyhow::Result<(CommonArgs, ServeArgs)> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            if !default.exists() {
                return Ok(Default::default());
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    let invalid = |line: Option<usize>, message: &str| {
        let location = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        anyhow::anyhow!(
            "the configuration file {} is not valid{location}: {message}",
            path.display()
        )
    };
    let parse = |e: toml::de::Error| {
        // toml's message spans several lines with a source excerpt; keep one line.
        let line = e
            .span()
            .map(|span| text[..span.start].matches('\n').count() + 1);
        invalid(line, e.message())
    };
    let table: toml::Table = toml::from_str(&text).map_err(parse)?;
    let common: CommonArgs = toml::from_str(&text).map_err(parse)?;
    let serve: ServeArgs = toml::from_str(&text).map_err(parse)?;
    let known = |value: serde_json::Value| -> Vec<String> {
        value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut known_keys = known(serde_json::to_value(&common)?);
    known_keys.extend(known(serde_json::to_value(&serve)?));
    if let Some(unknown) = table.keys().find(|key| !known_keys.contains(key)) {
        let line = text
            .lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(unknown.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|at| at + 1);
        return Err(invalid(line, &format!("unknown setting `{unknown}`")));
    }
    Ok((common, serve))
}

/// The public URL as links and redirects will use it: absolute http(s), a
/// host, no credentials, query or fragment; without a trailing slash.
/// Checked at start-up so that no request can find it malformed.
pub fn checked_public_url(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url.trim())
        .map_err(|e| anyhow::anyhow!("public_url {url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        bail!("public_url {url:?} must be an http:// or https:// address with a host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!("public_url {url:?} must not carry a user name or password");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!("public_url {url:?} must not have a query or a fragment");
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:hunter2@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            redact_url("sqlite:data/maecenas.db"),
            "sqlite:data/maecenas.db"
        );
        let config = Config::for_database("postgres://u:hunter2@db/x");
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn flags_outrank_the_file_which_outranks_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\nnode_id = 3\ndata_dir = \"/srv/m\"\n",
        )
        .unwrap();
        let common = CommonArgs {
            config: Some(file),
            node_id: Some(7),
            ..Default::default()
        };
        let config = Config::resolve(&common, &ServeArgs::default()).unwrap();
        assert_eq!(config.node_id, Some(7), "flag or env wins over the file");
        assert_eq!(config.listen.port(), 9999, "file wins over the default");
        assert_eq!(
            config.database_url, "sqlite:/srv/m/maecenas.db",
            "the database follows the data dir"
        );
        assert_eq!(
            config.log_format,
            LogFormat::Text,
            "default when nobody says"
        );
    }

    #[test]
    fn every_setting_is_read_from_the_file_under_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            "platform_fee_bps = 700\nwebhook_concurrency = 9\nlogin_attempts_per_account = 4\n",
        )
        .unwrap();
        let common = CommonArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let config = Config::resolve(&common, &ServeArgs::default()).unwrap();
        assert_eq!(config.billing.fees.platform_bps, 700);
        assert_eq!(config.webhooks.concurrency, 9);
        assert_eq!(config.login_limits.per_account_burst, 4);
        // A flag of `serve` outranks the file too.
        let serve = ServeArgs {
            webhook_concurrency: Some(3),
            ..Default::default()
        };
        assert_eq!(
            Config::resolve(&common, &serve)
                .unwrap()
                .webhooks
                .concurrency,
            3
        );
        // What only a flag may say is not a setting of the file.
        std::fs::write(&file, "demo = true\n").unwrap();
        let err = Config::resolve(&common, &ServeArgs::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown setting `demo`") && err.contains("line 1"),
            "{err}"
        );
    }

    #[test]
    fn a_typo_in_the_file_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\nlisten_adress = 1\n").unwrap();
        let common = CommonArgs {
            config: Some(file),
            ..Default::default()
        };
        let err = Config::resolve(&common, &ServeArgs::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("listen_adress"),
            "{err}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
    }
}
