//! SQLite's WAL checkpoints, off the writer's path.
//!
//! By default the connection whose commit takes the WAL past 1,000 pages
//! copies it back into the database file itself, inside that commit: under
//! token load that was the one writer stopping every fraction of a second
//! to read, write and fsync the database while every queued request
//! waited (see BENCHMARKS.md). Here a connection of its own checkpoints in
//! the background instead (`PASSIVE`: it never blocks a reader or the
//! writer), and the writer's own threshold stays only as a bound on the
//! WAL should the background fall behind.

use std::sync::{Mutex, Weak};
use std::time::Duration;

use sqlx::SqlitePool;

use crate::backup::InUseLock;

/// The WAL size, in pages, at which a committing writer checkpoints after
/// all (about 40 MiB): reached only if the background falls behind.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// How often the background copies the WAL back.
const EVERY: Duration = Duration::from_millis(100);

/// Checkpoints on `pool` (one read-write connection of its own) for as long
/// as the store is open: until every handle is dropped or it is closed.
/// `Store::close` closes `pool` itself and waits for it, so no checkpoint
/// runs after the store is closed (a restore or a copy may follow at once).
pub(crate) fn start(pool: SqlitePool, open: Weak<Mutex<Option<InUseLock>>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let still_open = open
                .upgrade()
                .is_some_and(|held| held.lock().is_ok_and(|lock| lock.is_some()));
            if !still_open || pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %e, "background WAL checkpoint");
            }
        }
        pool.close().await;
    });
}
