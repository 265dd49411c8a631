//! Test support shared by the store's conformance suite and the server's
//! integration tests: a fresh, empty database per test on either backend.
//!
//! SQLite: a file in a new temporary directory. PostgreSQL: a new schema in
//! the database `MAECENAS_TEST_DATABASE_URL` names (default
//! `postgres://postgres@127.0.0.1:5432/test`), selected through `search_path`
//! in the URL, so tests run in parallel and leave nothing behind: the schema
//! is dropped when the [`TestDb`] is. PostgreSQL tests never skip: if the
//! server is down they fail and say how to start it.

use std::path::{Path, PathBuf};

pub mod localstripe;
pub use localstripe::LocalStripe;
pub mod smtp;
pub use smtp::SmtpSink;

pub use maecenas_store::Backend;
use maecenas_store::{ConnectOptions, Store};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_admin_url() -> String {
    std::env::var("MAECENAS_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A program or file that `scripts/test` installs under `target/` (the
/// Python and npm clients the tests drive, pinned in `scripts/test-clients/`),
/// by its path from the workspace root. A test run by plain `cargo test` on a
/// machine without it stops with a sentence saying how to get it.
pub fn installed_by_scripts_test(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    assert!(
        path.exists(),
        "{relative} is missing: run the tests with `scripts/test`, which installs \
         the test clients under target/ (once) and then runs `cargo test --workspace`"
    );
    path
}

pub struct TestDb {
    backend: Backend,
    url: String,
    dir: tempfile::TempDir,
    schema: Option<String>,
}

impl TestDb {
    /// A fresh, empty database (not migrated).
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::Builder::new()
            .prefix("maecenas-test-")
            .tempdir()
            .expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("maecenas.db").display());
                TestDb {
                    backend,
                    url,
                    dir,
                    schema: None,
                }
            }
            Backend::Postgres => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                run_on_postgres(&admin, &format!("CREATE SCHEMA {schema}")).await;
                let mut url = url::Url::parse(&admin).expect("MAECENAS_TEST_DATABASE_URL is a URL");
                url.query_pairs_mut()
                    .append_pair("options", &format!("-c search_path={schema}"))
                    // Lets the clean-up find this test's connections.
                    .append_pair("application_name", &schema);
                TestDb {
                    backend,
                    url: url.into(),
                    dir,
                    schema: Some(schema),
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A `DATABASE_URL` for this database, for the real binary too.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A temporary directory that lives as long as the database (the SQLite
    /// file is in it; tests may put a data dir or config files there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        (self.backend == Backend::Sqlite).then(|| self.dir.path().join("maecenas.db"))
    }

    /// A store on this database with every migration applied.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &ConnectOptions::default())
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself:
        // clean up from a thread with a runtime of its own.
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            // A connection the test left inside a transaction would hold
            // locks that DROP SCHEMA waits on forever: end them first.
            runtime.block_on(run_on_postgres(
                &admin,
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = '{schema}' AND pid <> pg_backend_pid()"
                ),
            ));
            runtime.block_on(run_on_postgres(
                &admin,
                &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            ));
        })
        .join();
    }
}

async fn run_on_postgres(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL tests need a server at {url} ({e}). Start it with \
             `scripts/test` (it starts PostgreSQL and creates the database), \
             or point MAECENAS_TEST_DATABASE_URL elsewhere."
        )
    });
    sqlx::query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}
