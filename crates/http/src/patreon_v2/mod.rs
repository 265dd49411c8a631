//! The part of Patreon's current (v2) API that Maecenas serves: webhook
//! management, `/api/oauth2/v2/webhooks`, so tools written for Patreon can
//! register and manage webhooks unchanged. JSON:API, the v1 error shape.

pub mod schema;
pub(crate) mod views;
/// Public so that the fuzz targets in `fuzz/` can reach `fields[webhook]` parsing.
pub mod webhooks;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::show, webhooks::update, webhooks::delete))
}
