//! The Patreon v1 dialect (JSON:API): `current_user`, `current_user/campaigns`
//! and a campaign's pledges, under `/oauth2/api/` and `/api/oauth2/api/`.

mod error;
pub mod events;
/// Public so that the fuzz targets in `fuzz/` can reach the query parsers.
pub mod handlers;
pub mod schema;
pub mod views;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::JsonApiError;

use crate::AppState;

/// The v1 resource API, served (and documented) under both of Patreon's
/// prefixes: the handlers' `#[utoipa::path]` paths are relative to them.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .nest("/api/oauth2/api", resources())
        .nest("/oauth2/api", resources())
}

fn resources() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::current_user))
        .routes(routes!(handlers::current_user_campaigns))
        .routes(routes!(handlers::campaign_pledges))
}
