//! The developer portal: register OAuth clients, see a secret once, rotate
//! it, delete a client, generate an authorize URL, mint the creator's own token.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maecenas_domain::Scope;
use maecenas_services::ServiceError;
use maecenas_services::developers::{ClientManager, ClientWithUris, NewClient};
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{Button, SignedForm, SignedIn};
use super::layout::user_page;
use crate::AppState;

pub async fn list(State(state): State<AppState>, signed: SignedIn) -> Response {
    match state.services.clients_owned_by(signed.user.id).await {
        Ok(clients) => user_page(
            &signed.viewer(),
            "OAuth clients",
            list_body(&clients, &signed.csrf, None, &NewClientForm::default()),
        )
        .into_response(),
        Err(err) => signed.refusal(err),
    }
}

fn list_body(
    clients: &[ClientWithUris],
    csrf: &str,
    error: Option<&str>,
    form: &NewClientForm,
) -> Markup {
    html! {
        h1 { "Your OAuth clients" }
        @if clients.is_empty() { p.muted { "No clients yet." } }
        ul { @for c in clients { li { a href={"/developers/clients/" (c.client.client_id)} { (c.client.name) } " " span.muted { code { (c.client.client_id) } } } } }
        h2 { "Register a client" }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form method="post" action="/developers/clients" {
            input type="hidden" name="csrf" value=(csrf);
            label for="name" { "Name" }
            input id="name" name="name" required value=(form.name);
            label for="description" { "Description" }
            input id="description" name="description" value=(form.description);
            label for="icon_url" { "Icon URL" }
            input id="icon_url" name="icon_url" type="url" value=(form.icon_url);
            label for="redirect_uris" { "Redirect URIs (one per line; https, or http on 127.0.0.1/localhost)" }
            textarea id="redirect_uris" name="redirect_uris" rows="3" required style="width:100%" { (form.redirect_uris) }
            button type="submit" { "Register" }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewClientForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    icon_url: String,
    #[serde(default)]
    redirect_uris: String,
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm { who, form }: SignedForm<NewClientForm>,
) -> Response {
    let new = NewClient {
        owner_email: who.user.email.clone(),
        name: form.name.clone(),
        description: form.description.clone(),
        icon_url: Some(form.icon_url.trim().to_owned()).filter(|s| !s.is_empty()),
        redirect_uris: form
            .redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    match state.services.create_oauth_client(new).await {
        Ok(created) => {
            let body = html! {
                h1 { "Client registered" }
                p { "Client ID: " code { (created.client.client_id) } }
                p { "Client secret: " code { (created.client_secret.plaintext) } }
                p.error { "Copy the secret now: it is shown only once. Maecenas keeps only its hash." }
                p { a href={"/developers/clients/" (created.client.client_id)} { "Go to the client's page" } }
            };
            user_page(&who.viewer(), "Client registered", body).into_response()
        }
        Err(ServiceError::Invalid { reason, .. }) => {
            let clients = state
                .services
                .clients_owned_by(who.user.id)
                .await
                .unwrap_or_default();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                user_page(
                    &who.viewer(),
                    "OAuth clients",
                    list_body(&clients, &who.csrf, Some(&reason), &form),
                ),
            )
                .into_response()
        }
        Err(err) => who.refusal(err),
    }
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let client = match state
        .services
        .owned_client(signed.user.id, &client_id)
        .await
    {
        Ok(client) => client,
        Err(err) => return signed.refusal(err),
    };
    let csrf = &signed.csrf;
    // The URL generator works without JavaScript: the form submits to this page.
    let chosen: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let scopes: Vec<&str> = chosen
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let redirect = chosen
        .iter()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.clone());
    let dialect = chosen
        .iter()
        .find(|(k, _)| k == "dialect")
        .map(|(_, v)| v.as_str())
        .unwrap_or("patreon");
    let generated = redirect
        .as_ref()
        .filter(|r| client.redirect_uris.contains(r))
        .and_then(|redirect_uri| {
            let path = if dialect == "sponsus" {
                "/oauth/authorize"
            } else {
                "/oauth2/authorize"
            };
            // The public URL was checked at start-up; were it not a URL, no link.
            let mut url =
                url::Url::parse(&format!("{}{path}", state.public_url.trim_end_matches('/')))
                    .ok()?;
            url.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", &client.client.client_id)
                .append_pair("redirect_uri", redirect_uri);
            if !scopes.is_empty() {
                let joined = scopes.join(if dialect == "sponsus" { "," } else { " " });
                url.query_pairs_mut().append_pair("scope", &joined);
            }
            Some(url.to_string())
        });
    let c = &client.client;
    let body = html! {
        h1 { (c.name) }
        @if !c.description.is_empty() { p.muted { (c.description) } }
        p { "Client ID: " code { (c.client_id) } }
        p { "Redirect URIs:" }
        ul { @for uri in &client.redirect_uris { li { code { (uri) } } } }
        h2 { "Authorize URL generator" }
        form method="get" action={"/developers/clients/" (c.client_id)} {
            fieldset {
                legend { "Scopes" }
                @for scope in Scope::ALL {
                    label { input type="checkbox" name="scope" value=(scope.as_str()) checked[scopes.contains(&scope.as_str())]; " " (scope.as_str()) " — " (scope.describe()) }
                }
            }
            label for="redirect_uri" { "Redirect URI" }
            select id="redirect_uri" name="redirect_uri" { @for uri in &client.redirect_uris { option value=(uri) selected[redirect.as_deref() == Some(uri.as_str())] { (uri) } } }
            label for="dialect" { "Flavour" }
            select id="dialect" name="dialect" {
                option value="patreon" selected[dialect == "patreon"] { "Patreon (/oauth2/authorize)" }
                option value="sponsus" selected[dialect == "sponsus"] { "Sponsus (/oauth/authorize)" }
            }
            button type="submit" { "Generate" }
        }
        @if let Some(url) = &generated { p { "Send people to:" } p { code id="generated-url" { (url) } } }
        h2 { "Your own access token" }
        p.muted { "A token for your own account through this client (the creator's access token), shown once." }
        form method="post" action={"/developers/clients/" (c.client_id) "/token"} {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Create my access token" }
        }
        h2 { "Secret" }
        form method="post" action={"/developers/clients/" (c.client_id) "/rotate"} {
            input type="hidden" name="csrf" value=(csrf);
            button.secondary type="submit" { "Rotate the secret (the old one stops working)" }
        }
        form method="post" action={"/developers/clients/" (c.client_id) "/delete"} {
            input type="hidden" name="csrf" value=(csrf);
            button.secondary type="submit" { "Delete this client (its tokens stop working)" }
        }
    };
    user_page(&signed.viewer(), &c.name, body).into_response()
}

pub async fn rotate(
    state: State<AppState>,
    path: Path<String>,
    SignedForm { who, .. }: SignedForm<Button>,
) -> Response {
    owner_action(state, who, path, Action::Rotate).await
}

pub async fn delete(
    state: State<AppState>,
    path: Path<String>,
    SignedForm { who, .. }: SignedForm<Button>,
) -> Response {
    owner_action(state, who, path, Action::Delete).await
}

pub async fn token(
    state: State<AppState>,
    path: Path<String>,
    SignedForm { who, .. }: SignedForm<Button>,
) -> Response {
    owner_action(state, who, path, Action::Token).await
}

enum Action {
    Rotate,
    Delete,
    Token,
}

async fn owner_action(
    State(state): State<AppState>,
    who: SignedIn,
    Path(client_id): Path<String>,
    action: Action,
) -> Response {
    // Each action checks, in its own transaction, that the client is theirs.
    let mine = ClientManager::Owner(who.user.id);
    let back = html! { p { a href={"/developers/clients/" (client_id)} { "Back to the client" } } };
    match action {
        Action::Rotate => match state.services.rotate_client_secret(mine, &client_id).await {
            Ok(secret) => user_page(&who.viewer(), "Secret rotated", html! {
                h1 { "New client secret" }
                p { code { (secret.plaintext) } }
                p.error { "Copy it now: it is shown only once. The old secret no longer works." }
                (back)
            })
            .into_response(),
            Err(err) => who.refusal(err),
        },
        Action::Delete => match state.services.delete_oauth_client(mine, &client_id).await {
            Ok(()) => crate::redirect::see_other("/developers/clients"),
            Err(err) => who.refusal(err),
        },
        Action::Token => match state
            .services
            .mint_tokens_as(mine, &client_id, &who.user.email, "").await {
            Ok(tokens) => user_page(&who.viewer(), "Your access token", html! {
                h1 { "Your access token" }
                p { "Access token: " code { (tokens.access_token) } }
                p { "Refresh token: " code { (tokens.refresh_token) } }
                p.muted { "Scopes: " (tokens.scopes.to_string()) ". Valid for " (tokens.expires_in / 86_400) " days." }
                p.error { "Copy them now: they are shown only once." }
                (back)
            })
            .into_response(),
            Err(err) => who.refusal(err),
        },
    }
}
