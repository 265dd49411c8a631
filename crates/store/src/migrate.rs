//! Schema migrations, one directory per backend with the same numbers and names
//! (`migrations/sqlite`, `migrations/postgres`), changed in the same commit.
//!
//! Migrations are expand/contract: a new binary only adds (tables, nullable
//! columns, indexes); removing what an older binary reads waits for a later
//! release. A database migrated by a newer binary is refused with a clear error
//! rather than half-understood.

use sqlx::migrate::Migrator;

use crate::{Store, StoreError};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// This binary's SQLite migrations (a backup is checked against them).
pub(crate) fn sqlite_migrator() -> &'static Migrator {
    &SQLITE
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions this call applied, oldest first.
    pub applied_now: Vec<i64>,
    /// The newest version the database now has.
    pub current: Option<i64>,
}

impl Store {
    /// Brings the schema up to this binary's version. Safe to call from
    /// several processes at once: PostgreSQL takes an advisory lock, SQLite
    /// an exclusive lock on a file beside the database.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let before = self.applied_migrations().await?;
        if let Some(pool) = self.sqlite_writer() {
            let path = self.sqlite_path().expect("sqlite store has a path");
            let lock_path = path.with_extension("migrate.lock");
            let lock = std::fs::File::create(&lock_path).map_err(|e| {
                StoreError::Config(format!("cannot create {}: {e}", lock_path.display()))
            })?;
            let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
                .await
                .map_err(|e| StoreError::Migrate(e.to_string()))?
                .map_err(|e| {
                    StoreError::Migrate(format!("cannot lock {}: {e}", lock_path.display()))
                })?;
            let result = SQLITE.run(pool).await;
            drop(lock);
            result?;
        } else if let Some(pool) = self.postgres_pool() {
            POSTGRES.run(pool).await?;
        }
        let after = self.applied_migrations().await?;
        Ok(MigrationReport {
            applied_now: after
                .iter()
                .copied()
                .filter(|v| !before.contains(v))
                .collect(),
            current: after.last().copied(),
        })
    }

    /// The versions this binary knows, oldest first.
    pub fn known_migrations(&self) -> Vec<i64> {
        let migrator = if self.sqlite_writer().is_some() {
            &SQLITE
        } else {
            &POSTGRES
        };
        migrator.iter().map(|m| m.version).collect()
    }

    /// Versions recorded as applied in the database, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        // The bookkeeping table exists only once something was migrated.
        const SELECT: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let versions: Vec<(i64,)> = if let Some(pool) = self.sqlite_writer() {
            let exists: Option<(i64,)> = sqlx::query_as(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_optional(pool)
            .await?;
            if exists.is_none() {
                return Ok(Vec::new());
            }
            sqlx::query_as(SELECT).fetch_all(pool).await?
        } else if let Some(pool) = self.postgres_pool() {
            let exists: (bool,) =
                sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?;
            if !exists.0 {
                return Ok(Vec::new());
            }
            sqlx::query_as(SELECT).fetch_all(pool).await?
        } else {
            Vec::new()
        };
        Ok(versions.into_iter().map(|(v,)| v).collect())
    }
}
