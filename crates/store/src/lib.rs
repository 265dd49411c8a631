//! The only place Maecenas writes SQL.
//!
//! One API over SQLite (embedded default) and PostgreSQL (multi-node). Each
//! query is written once with `$n` placeholders, which both sqlx drivers
//! accept, and run on whichever backend the [`Tx`] holds (see [`on_backend!`]).
//! The backends differ only where SQL must: connection set-up, migrations,
//! and (later) how background jobs are claimed.

pub mod backup;
mod checkpoint;
mod connect;
pub mod db_time;
pub mod direct;
mod error;
pub mod migrate;
mod tx;

pub mod api_keys;
pub mod campaigns;
pub mod cards;
pub mod charges;
pub mod dashboard;
pub mod donations;
pub mod emails;
pub mod ledger;
pub mod oauth;
pub mod oauth_clients;
pub mod payouts;
pub mod pledges;
pub mod posts;
pub mod rate_limits;
pub mod sessions;
pub mod test_gateway;
pub mod token_at_once;
pub mod token_statements;
pub mod users;
pub mod webhooks;

pub use connect::{Backend, ConnectOptions, PoolUse, SessionLimits, Store, sqlite_file};
pub use error::StoreError;
pub use tx::{Held, Tx};

pub use time::OffsetDateTime;
