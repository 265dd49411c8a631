//! Server-rendered pages (maud). They work without JavaScript; every form
//! carries a CSRF token; pages cannot be framed.

pub mod admin;
pub mod admin_emails;
pub mod apps;
pub mod avatars;
pub mod creator;
pub mod dashboard;
pub mod developers;
pub mod directory;
pub mod docs;
pub mod email;
pub mod feeds;
pub mod guard;
pub mod keys;
pub mod kit;
pub mod layout;
pub mod login;
pub mod panel;
pub mod patron_feed;
pub mod pledge;
pub mod post_editor;
pub mod posts;
pub mod public;
pub mod session;
pub mod settings;
pub mod signup;
pub mod throttle;
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
        .route("/", get(directory::home))
        .route("/signup", get(signup::show).post(signup::submit))
        .route("/docs", get(docs::index))
        .route("/docs/{page}", get(docs::page))
        .route("/settings", get(settings::show))
        .route("/settings/profile", post(settings::save_profile))
        .route("/settings/avatar", post(settings::upload_avatar))
        .route("/settings/password", post(settings::change_password))
        .route("/settings/delete", post(settings::delete_account))
        .route("/settings/data", get(settings::download_data))
        .route("/settings/creator", post(settings::become_creator))
        .route(
            "/settings/email",
            get(email::settings).post(email::save_settings),
        )
        .route("/settings/email/resend", post(email::resend))
        .route("/settings/email/address", post(email::change_address))
        .route(
            "/password/forgot",
            get(email::forgot).post(email::request_reset),
        )
        .route("/password/reset", get(email::reset_form).post(email::reset))
        .route("/email/verify", get(email::verify))
        .route(
            "/email/unsubscribe",
            get(email::unsubscribe_page).post(email::unsubscribe),
        )
        .route("/admin/emails", get(admin_emails::list))
        .route("/admin/emails/{id}", get(admin_emails::show))
        .route("/settings/apps", get(apps::show))
        .route("/settings/apps/{client}/revoke", post(apps::revoke))
        .route("/dashboard", get(dashboard::show))
        .route("/dashboard/patrons", get(dashboard::patrons))
        .route("/dashboard/patrons.csv", get(dashboard::patrons_csv))
        .route(
            "/dashboard/campaign",
            get(creator::show).post(creator::save),
        )
        .route("/dashboard/campaign/new", post(creator::create))
        .route("/dashboard/campaign/{action}", post(creator::publish))
        .route(
            "/dashboard/posts",
            get(post_editor::list).post(post_editor::create),
        )
        .route("/dashboard/posts/new", get(post_editor::new))
        .route(
            "/dashboard/posts/{id}",
            get(post_editor::edit).post(post_editor::save),
        )
        .route("/dashboard/posts/{id}/publish", post(post_editor::publish))
        .route(
            "/dashboard/posts/{id}/delete",
            get(post_editor::confirm_delete).post(post_editor::delete),
        )
        .route("/dashboard/posts/{id}/images", post(post_editor::add_image))
        .route(
            "/dashboard/posts/{id}/images/{image}/delete",
            post(post_editor::delete_image),
        )
        .route("/dashboard/tiers", post(creator::create_tier))
        .route(
            "/dashboard/tiers/{id}",
            get(creator::edit_tier).post(creator::save_tier),
        )
        .route("/dashboard/tiers/{id}/{action}", post(creator::tier_action))
        .route("/dashboard/goals", post(creator::create_goal))
        .route(
            "/dashboard/goals/{id}",
            get(creator::edit_goal).post(creator::save_goal),
        )
        .route("/dashboard/goals/{id}/delete", post(creator::delete_goal))
        .route("/panel", get(panel::show))
        .route("/panel/card", post(panel::update_card))
        .route("/panel/{campaign}/change", post(panel::change))
        .route(
            "/panel/{campaign}/cancel",
            get(panel::confirm_cancel).post(panel::cancel),
        )
        .route("/panel/{campaign}/resume", post(panel::resume))
        // A form's log-in trip returns to its section (see `guard`): each is a page.
        .route(
            "/admin",
            get(|| async { crate::redirect::see_other("/admin/users") }),
        )
        .route(
            "/developers",
            get(|| async { crate::redirect::see_other("/developers/clients") }),
        )
        .route("/admin/users", get(admin::list))
        .route("/admin/users/{id}/{action}", post(admin::act))
        .route("/assets/avatars/{id}", get(avatars::show))
        .route("/feed", get(patron_feed::show))
        .route("/feed/private", post(patron_feed::make_private))
        .route("/feed/private/revoke", post(patron_feed::revoke_private))
        .route("/feeds/{file}", get(feeds::private))
        .route(
            "/feeds/{secret}/posts/{post}/images/{image}",
            get(feeds::private_image),
        )
        .route("/{username}/feed.atom", get(feeds::public))
        .route("/{username}", get(public::show))
        .route("/{username}/posts/{id}", get(public::post))
        .route(
            "/{username}/posts/{id}/images/{image}",
            get(public::post_image),
        )
        .route(
            "/{username}/pledge",
            get(pledge::choose).post(pledge::confirm),
        )
        .route("/{username}/pledge/review", post(pledge::review))
        .route(
            "/{username}/donate",
            get(pledge::donate_form).post(pledge::donate),
        )
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
            HeaderValue::from_static("default-src 'self'; img-src 'self' https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' http: https:"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
}
