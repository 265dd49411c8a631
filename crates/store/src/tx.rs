use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Postgres, Sqlite, Transaction};

use crate::{Backend, StoreError};

/// A transaction on either backend. Every store function takes one, so a
/// use case can make several calls and commit them together.
pub enum Tx {
    Sqlite(Held<Sqlite>),
    Postgres(Held<Postgres>),
}

/// The connection a [`Tx`] holds: in a transaction, or plain for a read
/// whose statements need not agree with one another
/// ([`crate::Store::read_without_snapshot`]), where each statement is its own
/// snapshot and there is no BEGIN or COMMIT to wait for.
pub enum Held<DB: Database> {
    Transaction(Transaction<'static, DB>),
    Plain(PoolConnection<DB>),
}

impl<DB: Database> Deref for Held<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            Held::Transaction(tx) => tx,
            Held::Plain(conn) => conn,
        }
    }
}

impl<DB: Database> DerefMut for Held<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Held::Transaction(tx) => tx,
            Held::Plain(conn) => conn,
        }
    }
}

impl<DB: Database> Held<DB> {
    async fn commit(self) -> Result<(), StoreError> {
        if let Held::Transaction(tx) = self {
            tx.commit().await?;
        }
        Ok(())
    }

    async fn rollback(self) -> Result<(), StoreError> {
        if let Held::Transaction(tx) = self {
            tx.rollback().await?;
        }
        Ok(())
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(held) => held.commit().await,
            Tx::Postgres(held) => held.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(held) => held.rollback().await,
            Tx::Postgres(held) => held.rollback().await,
        }
    }

    /// Whether the statements run on it see one snapshot (a transaction),
    /// or each its own ([`crate::Store::read_without_snapshot`]).
    pub fn is_snapshot(&self) -> bool {
        matches!(
            self,
            Tx::Sqlite(Held::Transaction(_)) | Tx::Postgres(Held::Transaction(_))
        )
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Runs one body against whichever connection the [`Tx`] holds. The body is
/// expanded once per backend, so the same `sqlx::query(...)` text and binds
/// serve both (the body must therefore type-check for both).
#[macro_export]
macro_rules! on_backend {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
