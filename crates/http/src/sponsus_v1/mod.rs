//! The Sponsus v1 dialect: every answer carries `success`; failures carry
//! `error`. (Today: the OAuth `@me` profile; the rest of the seed follows.)

mod error;
mod profile;
pub mod views;

use axum::Router;
use axum::routing::get;

pub use error::SponsusError;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/oauth/@me/profile", get(profile::oauth_me))
}
