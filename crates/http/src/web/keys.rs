//! The developer portal's personal API keys: create (shown once), list with
//! created and last-used times, revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maecenas_domain::ApiKeyId;
use maecenas_services::ServiceError;
use maecenas_services::records::ApiKeyRow;
use maud::{Markup, html};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use super::guard::{Button, SignedForm, SignedIn};
use super::layout::user_page;
use crate::AppState;

fn when(at: Option<time::OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "never".into())
}

fn keys_body(keys: &[ApiKeyRow], csrf: &str, fresh: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        h1 { "Personal API keys" }
        p.muted { "Send a key as " code { "Authorization: <key>" } " to the " code { "/v1/" } " API. It acts as you." }
        @if let Some(key) = fresh {
            p { "Your new key: " code id="new-key" { (key) } }
            p.error { "Copy it now: it is shown only once. Maecenas keeps only its hash." }
        }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        table {
            thead { tr { th { "Name" } th { "Key" } th { "Created" } th { "Last used" } th { "" } } }
            tbody {
                @for key in keys {
                    tr {
                        td { (key.name) }
                        td { code { (key.prefix) "…" } }
                        td { (when(Some(key.created_at))) }
                        td { (when(key.last_used_at)) }
                        td {
                            @if key.revoked_at.is_some() { "revoked" } @else {
                                form method="post" action={"/developers/keys/" (key.id) "/revoke"} {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.secondary type="submit" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Create a key" }
        form method="post" action="/developers/keys" {
            input type="hidden" name="csrf" value=(csrf);
            label for="name" { "Name (where you will use it)" }
            input id="name" name="name" required;
            button type="submit" { "Create key" }
        }
    }
}

pub async fn list(State(state): State<AppState>, signed: SignedIn) -> Response {
    match state.services.api_keys_owned_by(signed.user.id).await {
        Ok(keys) => user_page(
            &signed.viewer(),
            "API keys",
            keys_body(&keys, &signed.csrf, None, None),
        )
        .into_response(),
        Err(err) => signed.refusal(err),
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm { who, form }: SignedForm<CreateForm>,
) -> Response {
    let (fresh, error, status) = match state
        .services
        .create_api_key(&who.user.email, &form.name)
        .await
    {
        Ok(created) => (Some(created.plaintext.plaintext), None, StatusCode::OK),
        Err(ServiceError::Invalid { field, reason }) => (
            None,
            Some(super::kit::refusal_sentence(field, &reason)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(err) => return who.refusal(err),
    };
    match state.services.api_keys_owned_by(who.user.id).await {
        Ok(keys) => (
            status,
            user_page(
                &who.viewer(),
                "API keys",
                keys_body(&keys, &who.csrf, fresh.as_deref(), error.as_deref()),
            ),
        )
            .into_response(),
        Err(err) => who.refusal(err),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { who, .. }: SignedForm<Button>,
) -> Response {
    let Ok(id) = id.parse::<ApiKeyId>() else {
        return who.refusal(ServiceError::NotFound("api key"));
    };
    match state.services.revoke_api_key(Some(who.user.id), id).await {
        Ok(()) => crate::redirect::see_other("/developers/keys"),
        Err(err) => who.refusal(err),
    }
}
