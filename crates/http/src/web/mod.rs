//! Server-rendered pages (maud). They work without JavaScript; every form
//! carries a CSRF token; pages cannot be framed.

pub mod developers;
pub mod keys;
pub mod layout;
pub mod login;
pub mod portal;
pub mod session;
pub mod webhooks;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::log_out))
        .route("/", get(login::home))
        .route("/developers/keys", get(keys::list).post(keys::create))
        .route("/developers/keys/{id}/revoke", post(keys::revoke))
        .route(
            "/developers/clients",
            get(developers::list).post(developers::create),
        )
        .route("/developers/clients/{client_id}", get(developers::show))
        .route(
            "/developers/clients/{client_id}/rotate",
            post(developers::rotate),
        )
        .route(
            "/developers/clients/{client_id}/delete",
            post(developers::delete),
        )
        .route(
            "/developers/clients/{client_id}/token",
            post(developers::token),
        )
        .route(
            "/developers/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/developers/webhooks/{id}", get(webhooks::show))
        .route("/developers/webhooks/{id}/{action}", post(webhooks::act))
        .route(
            "/developers/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(webhooks::redeliver),
        )
}

/// Headers every HTML page gets: no framing (clickjacking on consent), no sniffing.
pub fn page_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' http: https:"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
}
