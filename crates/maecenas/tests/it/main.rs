//! The integration test binary: the real server on 127.0.0.1:0, over HTTP,
//! on SQLite and on PostgreSQL. One module per capability.

mod admin_cli;
mod billing;
mod billing_cli;
mod health;
mod oauth;
mod operations;
mod patreon;
mod proxy;
mod sponsus;
mod support;
mod webhooks;
