//! `maecenas backup FILE` and `maecenas restore FILE`, for the embedded
//! SQLite database (PostgreSQL has `pg_dump` and `pg_restore`: README,
//! "Backups"). The SQLite side is `maecenas_store::backup`; this module
//! handles files: each is written under a temporary name in its final
//! directory, checked, synced and renamed into place, so a crash or a refusal
//! never leaves a half-written backup or database behind.

use std::path::{Path, PathBuf};
use std::time::Instant;

use maecenas_store::backup::{self, InUseLock};
use maecenas_store::{Backend, StoreError};
use serde_json::json;

use super::failure::Failure;
use super::output::output;
use crate::Config;

fn failure(code: u8, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

/// Exit codes as elsewhere: a copy that is not a database we can run is bad
/// input (2); a database in use, like any other failure, is 1.
fn store_failure(err: StoreError) -> Failure {
    let code = match err {
        StoreError::InvalidCopy(_) => 2,
        _ => 1,
    };
    failure(code, err.to_string())
}

fn io_failure(what: &str, path: &Path, err: std::io::Error) -> Failure {
    failure(1, format!("{what} {}: {err}", path.display()))
}

/// The SQLite file `config` names, or the refusal for PostgreSQL.
fn sqlite_database(config: &Config, command: &str) -> Result<PathBuf, Failure> {
    match Backend::of_url(&config.database_url).map_err(store_failure)? {
        Backend::Sqlite => maecenas_store::sqlite_file(&config.database_url).map_err(store_failure),
        Backend::Postgres => Err(failure(
            2,
            match command {
                "backup" => {
                    "backup copies an SQLite database and DATABASE_URL names PostgreSQL: use pg_dump instead (pg_dump --format=custom --file FILE \"$DATABASE_URL\"; see the README, Backups)"
                }
                _ => {
                    "restore puts an SQLite backup in place and DATABASE_URL names PostgreSQL: use pg_restore instead (pg_restore --clean --if-exists --no-owner --dbname \"$DATABASE_URL\" FILE; see the README, Backups)"
                }
            },
        )),
    }
}

/// A file being written under a temporary name beside its final place;
/// removed (with any journal SQLite left) unless it was put in place.
struct Partial {
    path: PathBuf,
    placed: bool,
}

impl Partial {
    fn beside(final_path: &Path, what: &str) -> Partial {
        let dir = directory_of(final_path);
        let name = final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "maecenas.db".to_owned());
        let mut random = [0u8; 6];
        let _ = getrandom::fill(&mut random);
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Partial {
            path: dir.join(format!(".{name}.{what}-{suffix}")),
            placed: false,
        }
    }

    /// Syncs the file, renames it to `to` and syncs the directory, so the
    /// new name survives a power cut.
    fn place(mut self, to: &Path) -> Result<(), Failure> {
        sync_file(&self.path)?;
        std::fs::rename(&self.path, to).map_err(|e| io_failure("cannot rename to", to, e))?;
        self.placed = true;
        sync_file(&directory_of(to))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.placed {
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let _ = std::fs::remove_file(backup::beside(&self.path, suffix));
            }
        }
    }
}

fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_file(path: &Path) -> Result<(), Failure> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_failure("cannot sync", path, e))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `maecenas backup FILE [--force]`.
pub async fn backup(config: &Config, file: &Path, force: bool, json: bool) -> Result<(), Failure> {
    let started = Instant::now();
    let database = sqlite_database(config, "backup")?;
    if !database.is_file() {
        return Err(failure(
            4,
            format!("there is no database at {}", database.display()),
        ));
    }
    if file.is_dir() {
        return Err(failure(
            2,
            format!("{} is a directory: name the backup file", file.display()),
        ));
    }
    if same_file(file, &database) {
        return Err(failure(
            2,
            "the backup file is the database itself: name another file",
        ));
    }
    if file.exists() && !force {
        return Err(failure(
            3,
            format!("{} already exists (--force replaces it)", file.display()),
        ));
    }
    let dir = directory_of(file);
    if !dir.is_dir() {
        return Err(failure(
            4,
            format!("the directory {} does not exist", dir.display()),
        ));
    }
    // Shared, as the server's: a restore cannot swap the file mid-copy.
    let _in_use = InUseLock::shared(&database).await.map_err(store_failure)?;
    let partial = Partial::beside(file, "partial");
    backup::vacuum_into(&database, &partial.path)
        .await
        .map_err(store_failure)?;
    let report = backup::check_copy(&partial.path).await.map_err(|e| {
        failure(
            1,
            format!("the copy failed its own check, nothing was written: {e}"),
        )
    })?;
    let bytes = std::fs::metadata(&partial.path)
        .map_err(|e| io_failure("cannot read", &partial.path, e))?
        .len();
    partial.place(file)?;
    let migration = report.migrations.last().copied();
    output(
        json,
        json!({
            "file": file.display().to_string(),
            "database": database.display().to_string(),
            "bytes": bytes,
            "migration": migration,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        }),
        || {
            format!(
                "backed up {} to {} ({bytes} bytes, migration {})",
                database.display(),
                file.display(),
                migration.unwrap_or(0)
            )
        },
    );
    Ok(())
}

/// `maecenas restore FILE [--force]`.
pub async fn restore(config: &Config, file: &Path, force: bool, json: bool) -> Result<(), Failure> {
    let started = Instant::now();
    let target = sqlite_database(config, "restore")?;
    if !file.is_file() {
        return Err(failure(
            4,
            format!("there is no backup file at {}", file.display()),
        ));
    }
    if same_file(file, &target) {
        return Err(failure(
            2,
            "the backup file is the database itself: nothing to restore",
        ));
    }
    let dir = directory_of(&target);
    std::fs::create_dir_all(&dir)
        .map_err(|e| io_failure("cannot create the data directory", &dir, e))?;
    // Held to the end: no maecenas process opens the database meanwhile.
    let _exclusive = InUseLock::exclusive(&target).map_err(store_failure)?;
    let replacing = target.exists();
    if replacing && !force {
        return Err(failure(
            3,
            format!(
                "{} already exists: restoring replaces it; stop everything that uses it and add --force",
                target.display()
            ),
        ));
    }
    let partial = Partial::beside(&target, "restoring");
    std::fs::copy(file, &partial.path)
        .map_err(|e| io_failure("cannot copy the backup to", &partial.path, e))?;
    let report = backup::check_copy(&partial.path).await.map_err(|e| {
        failure(
            2,
            format!(
                "{} is not a backup this maecenas can restore: {e}",
                file.display()
            ),
        )
    })?;
    if replacing {
        backup::take_over(&target).await.map_err(store_failure)?;
    }
    // Nothing beside the old file belongs to the new one (take_over folded
    // any WAL into the old file; a stale one must never be replayed).
    for suffix in ["-wal", "-shm", "-journal"] {
        let leftover = backup::beside(&target, suffix);
        match std::fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_failure("cannot remove", &leftover, e)),
        }
    }
    partial.place(&target)?;
    let migration = report.migrations.last().copied();
    output(
        json,
        json!({
            "file": file.display().to_string(),
            "database": target.display().to_string(),
            "replaced": replacing,
            "migration": migration,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        }),
        || {
            format!(
                "restored {} to {} (migration {}); the next start applies newer migrations",
                file.display(),
                target.display(),
                migration.unwrap_or(0)
            )
        },
    );
    Ok(())
}
