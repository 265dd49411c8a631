//! The integration test binary: the real server on 127.0.0.1:0, over HTTP,
//! on SQLite and on PostgreSQL. One module per capability.

mod admin_cli;
mod architecture;
mod backup;
mod billing;
mod billing_cli;
mod browser;
mod budgets;
mod contract;
mod docs;
mod email;
mod health;
mod limits;
mod metrics;
mod oauth;
mod operations;
mod pages;
mod patreon;
mod posts;
mod proxy;
mod security;
mod sponsus;
mod support;
mod webhooks;
