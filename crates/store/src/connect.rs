use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ConstantBuilder, Retryable};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::backup::InUseLock;
use crate::checkpoint;
use crate::direct::GroupWriter;
use crate::tx::Held;
use crate::{StoreError, Tx};

/// Begins a transaction on a task of its own, so that a request dropped
/// while it waits (the client went away) cannot cut the begin in half. sqlx
/// 0.8 counts a transaction as open once the database has begun it, but rolls
/// back only one whose `Transaction` it finished making: cancelled between
/// the two, the pooled connection stayed "in a transaction" for good, and
/// every later `BEGIN IMMEDIATE` on it failed ("non-zero transaction depth"),
/// which the benchmark harness hit as runs of 500s from the token endpoint.
/// Spawned, the begin always completes; if nobody waits for it any more, the
/// finished transaction is dropped and rolled back as usual.
async fn begin_whole<F>(begin: F) -> Result<Tx, StoreError>
where
    F: std::future::Future<Output = Result<Tx, sqlx::Error>> + Send + 'static,
{
    tokio::spawn(begin)
        .await
        .map_err(|e| StoreError::Config(format!("beginning a transaction: {e}")))?
        .map_err(StoreError::from)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a `DATABASE_URL` names, or a clear error.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::Config(format!(
                "DATABASE_URL must start with sqlite: or postgres:, got {:?}",
                if scheme.is_empty() {
                    "(no scheme)"
                } else {
                    scheme
                }
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// PostgreSQL: pool size. SQLite: readers (writes go through one connection).
    pub max_connections: u32,
    /// How long to wait for a connection (and for an unreachable server) before giving up.
    pub acquire_timeout: Duration,
    /// PostgreSQL: how long one session may stall others (see [`SessionLimits`]).
    pub session_limits: SessionLimits,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            session_limits: SessionLimits::default(),
        }
    }
}

/// Limits PostgreSQL enforces on each of Maecenas' sessions, so a process
/// that stalls (frozen, paused, partitioned) cannot hold rows hostage: its
/// transaction is ended and its locks released. Zero turns one off.
///
/// Sized from what Maecenas does: no transaction waits on anything but the
/// database (gateway and webhook calls run outside transactions), the
/// longest statement (`billing verify` over a million charges) takes
/// seconds, and a row lock is held for one batch (under a second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// `statement_timeout`: the longest one statement may run.
    pub statement_timeout: Duration,
    /// `lock_timeout`: the longest a statement waits for a lock (migrations
    /// of a starting node wait on the advisory lock this long).
    pub lock_timeout: Duration,
    /// `idle_in_transaction_session_timeout`: the longest a transaction may
    /// sit open with nothing running; then PostgreSQL ends the session.
    pub idle_in_transaction_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(120),
            lock_timeout: Duration::from_secs(30),
            idle_in_transaction_timeout: Duration::from_secs(30),
        }
    }
}

impl SessionLimits {
    fn settings(&self) -> [(&'static str, String); 3] {
        let ms = |d: Duration| d.as_millis().to_string();
        [
            ("statement_timeout", ms(self.statement_timeout)),
            ("lock_timeout", ms(self.lock_timeout)),
            (
                "idle_in_transaction_session_timeout",
                ms(self.idle_in_transaction_timeout),
            ),
        ]
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// A small pool of its own for work that requests wait on (see
    /// [`Store::read_aside`]): requests holding every connection of the main
    /// pool while they wait cannot starve it.
    aside: Aside,
}

#[derive(Clone)]
enum Aside {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Connections of the aside pool: one computation at a time per campaign,
/// and few campaigns are cold at once.
const ASIDE_CONNECTIONS: u32 = 2;

#[derive(Clone)]
enum Pools {
    /// SQLite allows one writer at a time. One write connection in this
    /// process, with `BEGIN IMMEDIATE`, means writers queue in the pool rather
    /// than fail with SQLITE_BUSY; reads run beside it on read-only
    /// connections (WAL lets them). Other processes on the same file wait on
    /// the busy timeout.
    Sqlite {
        writer: SqlitePool,
        /// Jobs for `writer`, many to a transaction (see [`GroupWriter`]).
        group: GroupWriter,
        reader: SqlitePool,
        /// The background WAL checkpointer's own connection (see
        /// [`checkpoint`]); closed with the store, before the writer.
        checkpointer: SqlitePool,
        path: PathBuf,
        /// The shared lock that tells `maecenas restore` the file is in use.
        in_use: Arc<Mutex<Option<InUseLock>>>,
    },
    Postgres(PgPool),
}

/// How much of one connection pool is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pools {
            Pools::Sqlite { path, .. } => write!(f, "Store(sqlite:{})", path.display()),
            Pools::Postgres(_) => f.write_str("Store(postgres)"),
        }
    }
}

impl Store {
    /// Opens the database a `DATABASE_URL` names. Does not migrate: see
    /// [`Store::migrate`]. SQLite files (and their directory) are created.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Store, StoreError> {
        match Backend::of_url(url)? {
            Backend::Sqlite => connect_sqlite(url, options).await,
            Backend::Postgres => connect_postgres(url, options).await,
        }
    }

    /// Each pool's open and idle connections, for operators' metrics.
    pub fn pool_use(&self) -> Vec<PoolUse> {
        let of = |name: &'static str, size: u32, idle: usize| PoolUse {
            pool: name,
            open: size,
            idle: idle as u32,
        };
        match &self.pools {
            Pools::Sqlite { writer, reader, .. } => vec![
                of("sqlite_writer", writer.size(), writer.num_idle()),
                of("sqlite_reader", reader.size(), reader.num_idle()),
            ],
            Pools::Postgres(pool) => vec![of("postgres", pool.size(), pool.num_idle())],
        }
    }

    pub fn backend(&self) -> Backend {
        match &self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Where the SQLite file lives, for an SQLite store.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.pools {
            Pools::Sqlite { path, .. } => Some(path),
            Pools::Postgres(_) => None,
        }
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so it never fails half-way with a busy
    /// snapshot when another process wrote in between.
    pub async fn write(&self) -> Result<Tx, StoreError> {
        // Counted by the request-budget tests (and readable in production).
        tracing::debug!(target: "maecenas_store::tx", kind = "write", "transaction");
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                let writer = writer.clone();
                begin_whole(async move {
                    writer
                        .begin_with("BEGIN IMMEDIATE")
                        .await
                        .map(|tx| Tx::Sqlite(Held::Transaction(tx)))
                })
                .await
            }
            // PostgreSQL's transactions see one snapshot whether they write or not.
            Pools::Postgres(pool) => postgres_transaction(pool).await,
        }
    }

    /// A read whose statements need not agree with one another: each sees
    /// the latest commit on its own, with no BEGIN and COMMIT around them
    /// (on SQLite two more hand-offs to the connection's thread, on
    /// PostgreSQL two more round trips). For a use case such as a bearer
    /// check and the rows it leads to, where a write landing between two
    /// statements changes nothing that matters; anything that sums or
    /// compares across statements takes [`Store::read`].
    pub async fn read_without_snapshot(&self) -> Result<Tx, StoreError> {
        tracing::debug!(target: "maecenas_store::tx", kind = "read", snapshot = false, "transaction");
        // A plain acquire cannot be cut in half as a begin can (see
        // `begin_whole`): a dropped request just returns the connection.
        Ok(match &self.pools {
            Pools::Sqlite { reader, .. } => Tx::Sqlite(Held::Plain(reader.acquire().await?)),
            Pools::Postgres(pool) => Tx::Postgres(Held::Plain(pool.acquire().await?)),
        })
    }

    /// A transaction that only reads: a consistent snapshot.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        tracing::debug!(target: "maecenas_store::tx", kind = "read", "transaction");
        match &self.pools {
            Pools::Sqlite { reader, .. } => sqlite_snapshot(reader).await,
            Pools::Postgres(pool) => postgres_transaction(pool).await,
        }
    }

    /// A snapshot on a connection of the aside pool, apart from the one
    /// requests use. For a computation many requests wait on (a campaign's
    /// first numbers): run on the main pool, it would queue behind the very
    /// requests waiting for it, each holding a connection.
    pub async fn read_aside(&self) -> Result<Tx, StoreError> {
        tracing::debug!(target: "maecenas_store::tx", kind = "read", aside = true, "transaction");
        match &self.aside {
            Aside::Sqlite(pool) => sqlite_snapshot(pool).await,
            Aside::Postgres(pool) => postgres_transaction(pool).await,
        }
    }

    /// Whether the database answers: `SELECT 1`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { reader, .. } => sqlx::query("SELECT 1")
                .execute(reader)
                .await?
                .rows_affected(),
            Pools::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await?.rows_affected(),
        };
        Ok(())
    }

    pub async fn close(&self) {
        match &self.aside {
            Aside::Sqlite(pool) => pool.close().await,
            Aside::Postgres(pool) => pool.close().await,
        }
        match &self.pools {
            Pools::Sqlite {
                writer,
                reader,
                checkpointer,
                in_use,
                ..
            } => {
                // The writer closes last: the last connection to close folds
                // the WAL into the file, so nothing touches it afterwards.
                checkpointer.close().await;
                reader.close().await;
                writer.close().await;
                // Closed, this store no longer keeps a restore out.
                in_use.lock().map(|mut held| held.take()).ok();
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// SQLite's group writer, for the write use cases that run as jobs on
    /// it; `None` on PostgreSQL, where they run in a [`Tx`] of their own.
    pub fn group_writer(&self) -> Option<&GroupWriter> {
        match &self.pools {
            Pools::Sqlite { group, .. } => Some(group),
            Pools::Postgres(_) => None,
        }
    }

    pub(crate) fn sqlite_writer(&self) -> Option<&SqlitePool> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => Some(writer),
            Pools::Postgres(_) => None,
        }
    }

    pub(crate) fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pools {
            Pools::Postgres(pool) => Some(pool),
            Pools::Sqlite { .. } => None,
        }
    }
}

/// The options an SQLite `DATABASE_URL` gives, and the file it names (an
/// in-memory database is refused: the server's connections could not share it).
fn sqlite_options(url: &str) -> Result<(SqliteConnectOptions, PathBuf), StoreError> {
    let invalid =
        |e: sqlx::Error| StoreError::Config(format!("DATABASE_URL is not a valid SQLite URL: {e}"));
    let base = SqliteConnectOptions::from_str(url).map_err(invalid)?;
    let path = base.get_filename().to_path_buf();
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || url.contains("mode=memory")
    {
        return Err(StoreError::Config(
            "an in-memory SQLite database cannot be shared by the server's connections: give a file (--data-dir DIR)".into(),
        ));
    }
    Ok((base, path))
}

/// The file an SQLite `DATABASE_URL` names, without opening it.
pub fn sqlite_file(url: &str) -> Result<PathBuf, StoreError> {
    sqlite_options(url).map(|(_, path)| path)
}

async fn connect_sqlite(url: &str, options: &ConnectOptions) -> Result<Store, StoreError> {
    let (base, path) = sqlite_options(url)?;
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Config(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    // Before the file is opened: a restore in progress holds this lock
    // exclusively, and the database must not be read half-replaced.
    let in_use = InUseLock::shared(&path).await?;
    let base = base
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // A committed pledge or charge must survive power loss: FULL syncs the
        // WAL on every commit (NORMAL would only keep the database consistent).
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("temp_store", "memory")
        // Checkpoints run in the background (see `checkpoint`); this only
        // bounds the WAL should they fall behind.
        .pragma(
            "wal_autocheckpoint",
            checkpoint::WRITER_AUTOCHECKPOINT_PAGES.to_string(),
        );
    let cannot_open = |e: sqlx::Error| {
        StoreError::Config(format!(
            "cannot open the SQLite database {}: {e}",
            path.display()
        ))
    };
    // Two processes creating the same file at once race to switch it to WAL,
    // which needs a lock the busy timeout does not wait for: try again.
    // No ping before each use (`test_before_acquire`): a connection to a
    // local file cannot go stale the way a network one can, and the ping is
    // a round trip to the connection's worker thread on every transaction.
    // (An earlier trial without it was the first to hit the cancelled-begin
    // failure that `begin_whole` now prevents.) PostgreSQL keeps its ping.
    let writer = (|| {
        SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(options.acquire_timeout.max(Duration::from_secs(30)))
            .connect_with(base.clone())
    })
    .retry(
        ConstantBuilder::default()
            .with_delay(Duration::from_millis(50))
            .with_max_times(100),
    )
    .when(is_busy)
    .await
    .map_err(cannot_open)?;
    // Readers open lazily: the writer has created the file by now, and a
    // read-only connection cannot create it.
    let reader = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(base.clone().read_only(true));
    let in_use = Arc::new(Mutex::new(Some(in_use)));
    let aside = SqlitePoolOptions::new()
        .max_connections(ASIDE_CONNECTIONS)
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(base.clone().read_only(true));
    let checkpointer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_lazy_with(base);
    checkpoint::start(checkpointer.clone(), Arc::downgrade(&in_use));
    Ok(Store {
        aside: Aside::Sqlite(aside),
        pools: Pools::Sqlite {
            group: GroupWriter::start(writer.clone()),
            writer,
            reader,
            checkpointer,
            path,
            in_use,
        },
    })
}

/// How long after its last check a pooled PostgreSQL connection is used
/// without another.
const RECENTLY_CHECKED: Duration = Duration::from_secs(1);

async fn connect_postgres(url: &str, options: &ConnectOptions) -> Result<Store, StoreError> {
    let connect_options = PgConnectOptions::from_str(url)
        .map_err(|e| {
            StoreError::Config(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))
        })?
        .options(options.session_limits.settings());
    // Name the server without the password, which must never reach a log.
    let target = format!(
        "{}:{}/{}",
        connect_options.get_host(),
        connect_options.get_port(),
        connect_options.get_database().unwrap_or("")
    );
    let pool = match PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        // sqlx pings every connection as it goes back to the pool (and drops
        // a broken one), so a connection handed out again within a second was
        // checked a moment ago: skipping its pre-use ping saves a round trip
        // per request. One idle for longer may have been cut while it sat (a
        // restarted server, a proxy's timeout): that one is pinged first.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < RECENTLY_CHECKED {
                    return Ok(true);
                }
                sqlx::Connection::ping(conn).await.map(|()| true)
            })
        })
        .connect_with(connect_options.clone())
        .await
    {
        Ok(pool) => pool,
        Err(err) => {
            // The pool retries until its timeout and then only says it timed
            // out: one direct attempt tells why (refused, bad password, …).
            let reason = match err {
                sqlx::Error::PoolTimedOut => {
                    use sqlx::ConnectOptions as _;
                    match tokio::time::timeout(Duration::from_secs(3), connect_options.connect())
                        .await
                    {
                        Ok(Err(direct)) => describe(&direct),
                        _ => describe(&err),
                    }
                }
                other => describe(&other),
            };
            return Err(StoreError::Config(format!(
                "cannot connect to PostgreSQL at {target}: {reason}"
            )));
        }
    };
    // Opened when first needed; pinged before each use, as it sits idle most
    // of the time.
    let aside = PgPoolOptions::new()
        .max_connections(ASIDE_CONNECTIONS)
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(connect_options);
    Ok(Store {
        pools: Pools::Postgres(pool),
        aside: Aside::Postgres(aside),
    })
}

/// A read-only transaction (a consistent snapshot) on a connection of `pool`.
async fn sqlite_snapshot(pool: &SqlitePool) -> Result<Tx, StoreError> {
    let pool = pool.clone();
    begin_whole(async move {
        pool.begin()
            .await
            .map(|tx| Tx::Sqlite(Held::Transaction(tx)))
    })
    .await
}

/// A transaction on a connection of `pool` (a read sees one snapshot).
async fn postgres_transaction(pool: &PgPool) -> Result<Tx, StoreError> {
    let pool = pool.clone();
    begin_whole(async move {
        pool.begin()
            .await
            .map(|tx| Tx::Postgres(Held::Transaction(tx)))
    })
    .await
}

fn is_busy(err: &sqlx::Error) -> bool {
    // SQLITE_BUSY (5) and its extended codes (5 + n * 256).
    matches!(err, sqlx::Error::Database(db) if db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5))
}

/// sqlx's own text for a timeout says nothing about why; say it.
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::PoolTimedOut => "timed out (is the server running and reachable?)".into(),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "{io}: nothing listens there. Is PostgreSQL running? (On Debian: \
             `pg_ctlcluster --skip-systemctl-redirect 15 main start`, your version in \
             place of 15; `pg_lsclusters` lists them.)"
        ),
        other => other.to_string(),
    }
}
