use sqlx::error::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (the email is taken, say).
    #[error("conflict: a row with the same unique value already exists")]
    Conflict,
    /// A reference points at a row that does not exist.
    #[error("a referenced row does not exist")]
    MissingReference,
    /// A CHECK or NOT NULL constraint refused the value.
    #[error("a value was refused by the database: {0}")]
    Refused(String),
    #[error("{0}")]
    Config(String),
    #[error(
        "the database has migration {version}, which this maecenas binary does not know: it was migrated by a newer version; run that version or restore a backup"
    )]
    MigrationsNewerThanBinary { version: i64 },
    #[error(
        "migration {version} applied to the database differs from this binary's: the migration files were edited after they were applied"
    )]
    MigrationModified { version: i64 },
    /// The SQLite file is open elsewhere (restore), or being restored (open).
    #[error("{0}")]
    InUse(String),
    /// A file offered as a backup is not a database this binary can run.
    #[error("{0}")]
    InvalidCopy(String),
    #[error("migrating the database failed: {0}")]
    Migrate(String),
    /// The database cannot store a value as given (PostgreSQL's data
    /// exceptions: a NUL byte in text, a number out of range).
    #[error("a value cannot be stored: {0}")]
    Unstorable(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// From SQLite's group writer (see `direct`).
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(failure, message) = &err {
            let message = message.clone().unwrap_or_default();
            match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Conflict;
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StoreError::MissingReference,
                ffi::SQLITE_CONSTRAINT_CHECK | ffi::SQLITE_CONSTRAINT_NOTNULL => {
                    return StoreError::Refused(message);
                }
                _ => {}
            }
        }
        StoreError::Sqlite(err)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        // Classified by kind, not by constraint name: SQLite gives no names.
        if let sqlx::Error::Database(db) = &err {
            match db.kind() {
                ErrorKind::UniqueViolation => return StoreError::Conflict,
                ErrorKind::ForeignKeyViolation => return StoreError::MissingReference,
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    return StoreError::Refused(db.message().to_owned());
                }
                _ => {}
            }
            // PostgreSQL's class 22, "data exception": a value it cannot
            // store as given (a NUL byte in text, an out-of-range number).
            if db.code().is_some_and(|code| code.starts_with("22")) {
                return StoreError::Unstorable(db.message().to_owned());
            }
        }
        StoreError::Database(err)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError;
        match err {
            MigrateError::VersionMissing(version) => {
                StoreError::MigrationsNewerThanBinary { version }
            }
            MigrateError::VersionMismatch(version) => StoreError::MigrationModified { version },
            other => StoreError::Migrate(other.to_string()),
        }
    }
}
