//! The Sponsus v1 dialect: every answer carries `success`; failures carry
//! `error` (see `error.rs`, the only place an error body is built).

mod auth;
mod error;
pub(crate) mod payments;
pub(crate) mod profile;
pub mod schema;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

pub use error::SponsusError;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/oauth/@me/profile", get(profile::oauth_me))
        .route("/v1/profiles/@me", post(profile::update_me))
        .route("/v1/profiles/@me/avatar", post(profile::upload_avatar))
        .route("/v1/profiles/{id_or_url}", get(profile::public))
        .route("/v1/profiles/{id}/avatar", get(profile::avatar))
        .route(
            "/v1/payments/{user_id}/sponsoring",
            get(payments::sponsoring),
        )
}
