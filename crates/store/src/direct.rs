//! SQLite's group writer: the busiest write use cases run as whole jobs on
//! the one write connection, many to a transaction.
//!
//! Through sqlx every statement is a round trip to the connection's own
//! thread, and under load each trip also waits for a turn on a busy tokio
//! worker; with `synchronous = FULL` every commit is an fsync besides. The
//! one writer spent most of its time waiting, so the token endpoint topped
//! out near 1,900 answers a second (see BENCHMARKS.md). Here a job is a
//! closure over [`Direct`], which runs each statement at once on the calling
//! thread (rusqlite, on the very handle sqlx's writer holds, taken with its
//! `lock_handle`). The writer task takes every job queued, runs each inside
//! a savepoint (a job that fails or says not to keep its writes undoes only
//! its own), commits once, and only then answers each job's caller: one
//! fsync for the batch, and no answer before its writes are durable.
//!
//! Sharing sqlx's connection keeps the writes of this process in one queue:
//! a batch waits for the pool's one connection like any other write, so the
//! two paths never race for SQLite's write lock. The SQL texts are the
//! store's own (`$n` placeholders are bound by their number here as sqlx
//! does), so a query is written once for every backend.

use std::panic::AssertUnwindSafe;

use rusqlite::types::ToSql;
use sqlx::SqlitePool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::db_time::sqlite_text;

/// The most jobs one transaction takes: a bound on how long the first of
/// them waits for its answer.
const MAX_BATCH: usize = 128;

/// One write connection in the middle of a batch's transaction, with the
/// job's savepoint open.
pub struct Direct<'c> {
    conn: &'c mut rusqlite::Connection,
}

impl Direct<'_> {
    /// Runs one statement; how many rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, binds: &[&dyn ToSql]) -> Result<u64, StoreError> {
        let mut statement = self.prepared(sql, binds)?;
        Ok(statement.raw_execute()? as u64)
    }

    /// The first row a query returns, mapped, or `None`.
    pub(crate) fn query_row<T>(
        &mut self,
        sql: &str,
        binds: &[&dyn ToSql],
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        let mut statement = self.prepared(sql, binds)?;
        let mut rows = statement.raw_query();
        match rows.next()? {
            Some(row) => Ok(Some(map(row)?)),
            None => Ok(None),
        }
    }

    fn prepared(
        &mut self,
        sql: &str,
        binds: &[&dyn ToSql],
    ) -> Result<rusqlite::CachedStatement<'_>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        // `$n` is a named parameter to SQLite, numbered by first appearance;
        // bind each by its own number, as sqlx does, so `$2 … $1` works.
        for (i, value) in binds.iter().enumerate() {
            if let Some(index) = statement.parameter_index(&format!("${}", i + 1))? {
                statement.raw_bind_parameter(index, value)?;
            }
        }
        Ok(statement)
    }
}

/// A time as the store binds it on SQLite (see [`crate::db_time`]).
pub(crate) fn time_text(at: OffsetDateTime) -> String {
    sqlite_text(at)
}

/// A time column as SQLite keeps it: RFC 3339 text.
pub(crate) fn time_of(row: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<OffsetDateTime> {
    let text: String = row.get(column)?;
    parse_time(column, &text)
}

pub(crate) fn optional_time_of(
    row: &rusqlite::Row<'_>,
    column: &str,
) -> rusqlite::Result<Option<OffsetDateTime>> {
    let text: Option<String> = row.get(column)?;
    text.map(|text| parse_time(column, &text)).transpose()
}

fn parse_time(column: &str, text: &str) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("{column}: {e}").into(),
        )
    })
}

/// What a job's caller is told once the batch's commit is known.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A job: runs on the writer (or, given `None`, does not run at all), says
/// whether to keep its writes, and leaves the answer to give after the commit.
type Job = Box<dyn FnOnce(Option<&mut Direct<'_>>) -> (bool, Answer) + Send>;

/// The queue into SQLite's group writer; cheap to clone.
#[derive(Clone)]
pub struct GroupWriter {
    jobs: mpsc::UnboundedSender<Job>,
}

impl GroupWriter {
    /// Starts the writer task over the store's write pool.
    pub(crate) fn start(writer: SqlitePool) -> GroupWriter {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, queue));
        GroupWriter { jobs }
    }

    /// Runs `job` in a write transaction shared with whatever else is
    /// queued, and answers once that transaction committed. The job returns
    /// its value and whether its writes are kept (`false` undoes them, as a
    /// rollback would, and still answers the value).
    pub async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Direct<'_>) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        tracing::debug!(target: "maecenas_store::tx", kind = "write", "transaction");
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |direct| {
            let outcome = match direct {
                Some(direct) => std::panic::catch_unwind(AssertUnwindSafe(|| job(direct)))
                    .unwrap_or_else(|_| Err(StoreError::Config("a write job panicked".into()))),
                // Not run: the answer carries the failure that stopped it.
                None => Err(StoreError::Config("not run".into())),
            };
            let keep = matches!(outcome, Ok((_, true)));
            let answer: Answer = Box::new(move |committed| {
                let result = match committed {
                    Ok(()) => outcome.map(|(value, _)| value),
                    Err(why) => Err(StoreError::Config(format!(
                        "the write did not commit: {why}"
                    ))),
                };
                answer.send(result).ok();
            });
            (keep, answer)
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Config("the database writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Config("the database writer has stopped".into()))?
    }
}

async fn run(pool: SqlitePool, mut queue: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let answers = match pool.acquire().await {
            Ok(mut conn) => match conn.lock_handle().await {
                Ok(mut locked) => {
                    let raw = locked.as_raw_handle();
                    // SAFETY: the handle is sqlx's open connection, locked
                    // for this scope: its worker thread does nothing until
                    // `locked` is dropped, and the rusqlite wrapper made
                    // here neither outlives that nor closes the handle.
                    #[allow(unsafe_code)]
                    let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) };
                    match conn {
                        Ok(mut conn) => blocking(|| run_batch(&mut conn, batch)),
                        Err(e) => fail(batch, &e.to_string()),
                    }
                }
                Err(e) => fail(batch, &e.to_string()),
            },
            Err(e) => fail(batch, &e.to_string()),
        };
        for (answer, committed) in answers {
            answer(committed);
        }
    }
}

/// Runs SQLite's work off the async workers' hands where the runtime allows.
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

type Answered = Vec<(Answer, Result<(), String>)>;

fn fail(batch: Vec<Job>, why: &str) -> Answered {
    batch
        .into_iter()
        .map(|job| (job(None).1, Err(why.to_owned())))
        .collect()
}

fn run_batch(conn: &mut rusqlite::Connection, batch: Vec<Job>) -> Answered {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return fail(batch, &e.to_string());
    }
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            answers.push((job(None).1, Err(e.to_string())));
            continue;
        }
        let (keep, answer) = job(Some(&mut Direct { conn }));
        let closed = if keep {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        answers.push((answer, closed.map_err(|e| e.to_string())));
    }
    let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if committed.is_err() {
        conn.execute_batch("ROLLBACK").ok();
    }
    answers
        .into_iter()
        .map(|(answer, closed)| {
            let result = closed.and(committed.clone());
            (answer, result)
        })
        .collect()
}
