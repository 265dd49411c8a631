//! `/settings/apps`: the apps a person authorized, and taking that back.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maecenas_domain::OAuthClientId;
use maecenas_services::ServiceError;
use maud::html;

use super::guard::{Button, SignedForm, SignedIn};
use super::kit;
use super::layout::user_page;
use crate::AppState;

const HERE: &str = "/settings/apps";

pub async fn show(State(state): State<AppState>, signed: SignedIn) -> Response {
    let apps = match state.services.authorized_apps(signed.user.id).await {
        Ok(apps) => apps,
        Err(err) => return signed.refusal(err),
    };
    let csrf = &signed.csrf;
    let body = html! {
        p { a href="/settings" { "← Settings" } }
        h1 { "Apps you authorized" }
        p.muted {
            "Each of these apps can act for you within what you allowed it. Revoking one ends every "
            "token it holds at once; webhooks it registered on your campaign stop until you authorize it again."
        }
        @if apps.is_empty() { p.muted { "You have not authorized any app." } }
        @for app in &apps {
            section.card {
                h2 { (app.name) }
                p.muted {
                    "Authorized on " (kit::date(app.since)) ". "
                    @match app.last_used {
                        Some(at) => { "Last used on " (kit::date(at)) " (it last received a token from us then). " }
                        None => { "Not used yet. " }
                    }
                    "It may:"
                }
                ul { @for scope in &app.scopes { li { (scope.describe()) } } }
                form method="post" action={ (HERE) "/" (app.client) "/revoke" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary type="submit" { "Revoke access" }
                }
            }
        }
    };
    user_page(&signed.viewer(), "Apps you authorized", body).into_response()
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(client): Path<String>,
    SignedForm { who, .. }: SignedForm<Button>,
) -> Response {
    let Ok(client) = client.parse::<OAuthClientId>() else {
        return who.refusal(ServiceError::NotFound("authorized app"));
    };
    match state.services.revoke_app(who.user.id, client).await {
        Ok(()) => crate::redirect::see_other(HERE),
        Err(err) => who.refusal(err),
    }
}
