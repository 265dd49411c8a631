//! Copies of an SQLite database, for `maecenas backup` and `maecenas restore`.
//! (PostgreSQL has `pg_dump` and `pg_restore`; nothing here is for it.)
//!
//! - A copy is made with `VACUUM INTO` on a read-only connection: one read
//!   transaction, so the copy is the database as of one commit, while the
//!   server goes on writing beside it (WAL lets readers and a writer overlap).
//! - A copy is trusted only after `integrity_check`, `foreign_key_check` and a
//!   `_sqlx_migrations` table whose every version (and checksum) this binary
//!   knows: [`check_copy`].
//! - "In use" is known two ways. Every [`crate::Store`] on an SQLite file
//!   holds a shared lock ([`InUseLock`], `flock` on `FILE-lock` beside it)
//!   for as long as it is open; a restore takes it exclusively, which fails at
//!   once while any maecenas process has the database open and keeps new ones
//!   waiting until the restore is done. Programs that do not know that lock
//!   (`sqlite3`, an older maecenas) are caught by [`take_over`]: it switches
//!   the old file out of WAL without waiting, which SQLite allows only to a
//!   connection that has the file to itself (every open WAL connection holds a
//!   shared lock on the WAL index), and which folds the old WAL into the file
//!   so no stale WAL can be replayed onto the file that replaces it.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};

use crate::StoreError;

/// How long opening a database waits for a restore to finish.
const RESTORE_WAIT: Duration = Duration::from_secs(30);

/// `PATH` + `suffix`, as SQLite names `-wal` and `-shm`.
pub fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An advisory lock on `DB-lock`: shared while a store has the database
/// open, exclusive while a restore replaces it. Released when dropped (and
/// by the kernel when the process ends, however it ends).
#[derive(Debug)]
pub struct InUseLock {
    _file: File,
}

fn open_lock_file(db: &Path) -> Result<(File, PathBuf), StoreError> {
    let path = beside(db, "-lock");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::Config(format!("cannot open {}: {e}", path.display())))?;
    Ok((file, path))
}

impl InUseLock {
    /// The lock every open store holds. Waits (up to 30 s) while a restore
    /// holds it exclusively.
    pub async fn shared(db: &Path) -> Result<InUseLock, StoreError> {
        let (file, path) = open_lock_file(db)?;
        let deadline = tokio::time::Instant::now() + RESTORE_WAIT;
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(InUseLock { _file: file }),
                Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::InUse(format!(
                        "the database {} is being restored (another process holds {} exclusively); try again once the restore is done",
                        db.display(),
                        path.display()
                    )));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(StoreError::Config(format!(
                        "cannot lock {}: {e}",
                        path.display()
                    )));
                }
            }
        }
    }

    /// The lock of a restore: refused at once while any store has the
    /// database open.
    pub fn exclusive(db: &Path) -> Result<InUseLock, StoreError> {
        let (file, path) = open_lock_file(db)?;
        match file.try_lock() {
            Ok(()) => Ok(InUseLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::InUse(format!(
                "the database {} is in use by a running maecenas (serve, admin or billing): stop it first",
                db.display()
            ))),
            Err(TryLockError::Error(e)) => Err(StoreError::Config(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }
}

/// Writes a consistent copy of the SQLite database `source` to `dest`, a
/// path that must not exist yet. The source may be written meanwhile.
pub async fn vacuum_into(source: &Path, dest: &Path) -> Result<(), StoreError> {
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Config(format!("{} is not a UTF-8 path", dest.display())))?;
    let options = SqliteConnectOptions::new()
        .filename(source)
        .read_only(true)
        .create_if_missing(false)
        // A checkpoint or recovery by the server may hold a lock for a moment.
        .busy_timeout(Duration::from_secs(10))
        .disable_statement_logging();
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(dest)
        .execute(&mut conn)
        .await;
    conn.close().await?;
    copied?;
    Ok(())
}

/// What a copy holds, once it passed [`check_copy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Migration versions applied to it, oldest first (never empty).
    pub migrations: Vec<i64>,
}

/// Whether the file at `path` is a whole Maecenas SQLite database this binary
/// can run: `integrity_check` and `foreign_key_check` pass, and it has
/// migrations, all finished, all known to this binary with the same checksum
/// (an older database is fine: `serve` migrates it). Leaves the file in
/// rollback-journal mode, so it is one self-contained file.
///
/// Only for a private copy: it is opened for writing (a file someone copied
/// while it was in WAL mode needs that to be read at all).
pub async fn check_copy(path: &Path) -> Result<CopyReport, StoreError> {
    let invalid = |reason: String| StoreError::InvalidCopy(reason);
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete)
        .disable_statement_logging();
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| invalid(format!("it cannot be opened as an SQLite database: {e}")))?;
    let report = inspect(&mut conn).await;
    let closed = conn.close().await;
    let report = report?;
    closed.map_err(|e| invalid(format!("closing it failed: {e}")))?;
    Ok(report)
}

async fn inspect(conn: &mut SqliteConnection) -> Result<CopyReport, StoreError> {
    let invalid = |reason: String| StoreError::InvalidCopy(reason);
    let unreadable = |e: sqlx::Error| invalid(format!("it cannot be read: {e}"));
    let integrity: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check(20)")
        .fetch_all(&mut *conn)
        .await
        .map_err(unreadable)?;
    if integrity.len() != 1 || integrity[0].0 != "ok" {
        let problems: Vec<String> = integrity.into_iter().map(|(p,)| p).collect();
        return Err(invalid(format!(
            "integrity_check failed: {}",
            problems.join("; ")
        )));
    }
    let dangling: Vec<(String,)> =
        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check LIMIT 20")
            .fetch_all(&mut *conn)
            .await
            .map_err(unreadable)?;
    if !dangling.is_empty() {
        let tables: Vec<String> = dangling.into_iter().map(|(t,)| t).collect();
        return Err(invalid(format!(
            "foreign_key_check failed: rows of {} point at missing rows",
            tables.join(", ")
        )));
    }
    let has_migrations: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(unreadable)?;
    if has_migrations.is_none() {
        return Err(invalid(
            "it is not a Maecenas database (it has no _sqlx_migrations table)".into(),
        ));
    }
    let applied: Vec<(i64, bool, Vec<u8>)> =
        sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(unreadable)?;
    if applied.is_empty() {
        return Err(invalid(
            "it is not a Maecenas database (no migration was applied to it)".into(),
        ));
    }
    let known = crate::migrate::sqlite_migrator();
    for (version, success, checksum) in &applied {
        if !success {
            return Err(invalid(format!("its migration {version} did not finish")));
        }
        match known.iter().find(|m| m.version == *version) {
            None => {
                return Err(invalid(format!(
                    "it has migration {version}, which this maecenas binary does not know: it was made by a newer version"
                )));
            }
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(invalid(format!(
                    "its migration {version} differs from this binary's"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(CopyReport {
        migrations: applied.into_iter().map(|(v, _, _)| v).collect(),
    })
}

/// Makes the existing database at `target` ready to be replaced: refuses if
/// any other connection has it open (see the module doc), and otherwise folds
/// its WAL into the file and leaves it in rollback-journal mode, so nothing
/// beside it (`-wal`, `-shm`) belongs to it any more. Call it holding
/// [`InUseLock::exclusive`], so no maecenas process opens it meanwhile.
pub async fn take_over(target: &Path) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(target)
        .create_if_missing(false)
        // No waiting: a lock held by anyone else means the file is in use.
        .busy_timeout(Duration::ZERO)
        .disable_statement_logging();
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| in_use_or(target, e))?;
    let switched: Result<(String,), sqlx::Error> = sqlx::query_as("PRAGMA journal_mode = DELETE")
        .fetch_one(&mut conn)
        .await;
    let _ = conn.close().await;
    match switched {
        Ok((mode,)) if mode.eq_ignore_ascii_case("delete") => Ok(()),
        Ok((mode,)) => Err(StoreError::InUse(format!(
            "the database {} could not leave {mode} mode: another program has it open; stop it first",
            target.display()
        ))),
        Err(e) => Err(in_use_or(target, e)),
    }
}

fn in_use_or(target: &Path, err: sqlx::Error) -> StoreError {
    let busy = matches!(&err, sqlx::Error::Database(db)
        if db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6)));
    if busy {
        StoreError::InUse(format!(
            "the database {} is open in another program (it is locked): stop it first",
            target.display()
        ))
    } else {
        StoreError::Config(format!(
            "the database {} cannot be taken over: {err}",
            target.display()
        ))
    }
}
