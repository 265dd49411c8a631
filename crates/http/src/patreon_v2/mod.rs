//! The part of Patreon's current (v2) API that Maecenas serves: webhook
//! management, `/api/oauth2/v2/webhooks`, so tools written for Patreon can
//! register and manage webhooks unchanged. JSON:API, the v1 error shape.

pub mod schema;
mod views;
/// Public so that the fuzz targets in `fuzz/` can reach `fields[webhook]` parsing.
pub mod webhooks;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/oauth2/v2/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/api/oauth2/v2/webhooks/{id}",
            get(webhooks::show)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
}
