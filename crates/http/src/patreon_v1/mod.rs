//! The Patreon v1 dialect (JSON:API): `current_user`, `current_user/campaigns`
//! and a campaign's pledges, under `/oauth2/api/` and `/api/oauth2/api/`.

mod error;
pub mod events;
/// Public so that the fuzz targets in `fuzz/` can reach the query parsers.
pub mod handlers;
pub mod schema;
pub mod views;

use axum::Router;
use axum::routing::get;

pub use error::JsonApiError;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ["/oauth2/api", "/api/oauth2/api"] {
        router = router
            .route(
                &format!("{prefix}/current_user"),
                get(handlers::current_user),
            )
            .route(
                &format!("{prefix}/current_user/campaigns"),
                get(handlers::current_user_campaigns),
            )
            .route(
                &format!("{prefix}/campaigns/{{campaign_id}}/pledges"),
                get(handlers::campaign_pledges),
            );
    }
    router
}
