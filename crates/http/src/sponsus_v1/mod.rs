//! The Sponsus v1 dialect: every answer carries `success`; failures carry
//! `error` (see `error.rs`, the only place an error body is built).

mod auth;
mod error;
pub(crate) mod payments;
pub(crate) mod profile;
pub mod schema;
pub mod views;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::SponsusError;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(profile::oauth_me))
        .routes(routes!(profile::update_me))
        .routes(routes!(profile::upload_avatar))
        .routes(routes!(profile::public))
        .routes(routes!(profile::avatar))
        .routes(routes!(payments::sponsoring))
}
