//! `GET /oauth2/authorize`, `GET /oauth/authorize`: the consent page; and
//! `POST /oauth/consent`: the person's answer.

use axum::Form;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maecenas_services::oauth::{AuthorizeContext, AuthorizeParams, AuthorizeRejection, Dialect};
use maud::html;
use serde::Deserialize;

use crate::AppState;
use crate::web::guard::Visitor;
use crate::web::layout::page;
use crate::web::session;

pub async fn patreon(
    state: State<AppState>,
    visitor: Visitor,
    query: RawQuery,
    uri: OriginalUri,
) -> Response {
    show(state, Dialect::Patreon, visitor, query, uri).await
}

pub async fn sponsus(
    state: State<AppState>,
    visitor: Visitor,
    query: RawQuery,
    uri: OriginalUri,
) -> Response {
    show(state, Dialect::Sponsus, visitor, query, uri).await
}

async fn show(
    State(state): State<AppState>,
    dialect: Dialect,
    visitor: Visitor,
    RawQuery(query): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let params: AuthorizeParams = match serde_urlencoded::from_str(query.as_deref().unwrap_or("")) {
        Ok(params) => params,
        Err(_) => {
            return error_page(
                "The authorization request is malformed (a parameter is repeated or not valid).",
            );
        }
    };
    let context = match state.services.validate_authorize(dialect, &params).await {
        Ok(context) => context,
        Err(rejection) => return reject(&state, rejection),
    };
    let Visitor(Some(signed)) = visitor else {
        // Log in first, then come back to this very request.
        let next = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
        let login = format!(
            "/login?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
        );
        return crate::redirect::see_other(&login);
    };
    let (user, csrf) = (&signed.user, &signed.csrf);
    let client = &context.client;
    let body = html! {
        h1 { "Allow " (client.name) " to access your account?" }
        @if !client.description.is_empty() { p.muted { (client.description) } }
        p { "Logged in as " strong { (user.email) } ". " (client.name) " will be able to:" }
        ul.scopes { @for scope in context.scopes.iter() { li { (scope.describe()) } } }
        p.muted { "After you answer, your browser goes to " code { (context.redirect_uri) } "." }
        form method="post" action="/oauth/consent" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="dialect" value=(dialect_name(dialect));
            input type="hidden" name="response_type" value="code";
            input type="hidden" name="client_id" value=(client.client_id);
            input type="hidden" name="redirect_uri" value=(context.redirect_uri);
            input type="hidden" name="scope" value=(context.scopes.to_string());
            @if let Some(state) = &context.state { input type="hidden" name="state" value=(state); }
            @if let Some(challenge) = &context.code_challenge {
                input type="hidden" name="code_challenge" value=(challenge);
                input type="hidden" name="code_challenge_method" value="S256";
            }
            button type="submit" name="decision" value="allow" { "Allow" }
            " "
            button.secondary type="submit" name="decision" value="deny" { "Deny" }
        }
    };
    page("Authorize", body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    csrf: String,
    dialect: String,
    decision: String,
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

pub async fn decide(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ConsentForm>,
) -> Response {
    let Visitor(Some(signed)) = visitor else {
        return error_page_with(
            StatusCode::UNAUTHORIZED,
            "Your session ended. Please start again from the application.",
        );
    };
    if !session::csrf_matches(&signed.csrf, &form.csrf) {
        return error_page_with(
            StatusCode::FORBIDDEN,
            "This form did not come from this site. Please start again from the application.",
        );
    }
    let dialect = match form.dialect.as_str() {
        "sponsus" => Dialect::Sponsus,
        _ => Dialect::Patreon,
    };
    let params = AuthorizeParams {
        response_type: form.response_type,
        client_id: form.client_id,
        redirect_uri: form.redirect_uri,
        scope: form.scope,
        state: form.state,
        code_challenge: form.code_challenge,
        code_challenge_method: form.code_challenge_method,
    };
    // Nothing in the form is trusted: the request is checked again.
    let context = match state.services.validate_authorize(dialect, &params).await {
        Ok(context) => context,
        Err(rejection) => return reject(&state, rejection),
    };
    if form.decision != "allow" {
        return reject(
            &state,
            AuthorizeRejection::Redirect {
                redirect_uri: context.redirect_uri,
                error: "access_denied",
                description: "the user denied the request".into(),
                state: context.state,
            },
        );
    }
    match state.services.issue_code(&signed.user, &context).await {
        Ok(code) => redirect_back(&state, &context, &[("code", code.as_str())]),
        Err(err) => {
            tracing::error!(error = ?err, "issuing an authorization code");
            reject(
                &state,
                AuthorizeRejection::Redirect {
                    redirect_uri: context.redirect_uri,
                    error: "server_error",
                    description: "the authorization server failed".into(),
                    state: context.state,
                },
            )
        }
    }
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Patreon => "patreon",
        Dialect::Sponsus => "sponsus",
    }
}

fn reject(state: &AppState, rejection: AuthorizeRejection) -> Response {
    match rejection {
        AuthorizeRejection::Page(message) => error_page(&message),
        AuthorizeRejection::Redirect {
            redirect_uri,
            error,
            description,
            state: client_state,
        } => {
            let mut pairs = vec![
                ("error", error.to_owned()),
                ("error_description", description),
            ];
            if let Some(client_state) = client_state {
                pairs.push(("state", client_state));
            }
            pairs.push(("iss", issuer(state)));
            see_other(append_query(&redirect_uri, &pairs))
        }
    }
}

fn redirect_back(state: &AppState, context: &AuthorizeContext, extra: &[(&str, &str)]) -> Response {
    let mut pairs: Vec<(&str, String)> = extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    if let Some(client_state) = &context.state {
        pairs.push(("state", client_state.clone()));
    }
    pairs.push(("iss", issuer(state)));
    see_other(append_query(&context.redirect_uri, &pairs))
}

/// RFC 9207: the `iss` of every authorization response.
fn issuer(state: &AppState) -> String {
    state.public_url.trim_end_matches('/').to_owned()
}

fn append_query(base: &str, pairs: &[(&str, String)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
            url.into()
        }
        Err(_) => base.to_owned(),
    }
}

fn see_other(location: String) -> Response {
    crate::redirect::see_other(&location)
}

fn error_page(message: &str) -> Response {
    error_page_with(StatusCode::BAD_REQUEST, message)
}

fn error_page_with(status: StatusCode, message: &str) -> Response {
    let body = html! {
        h1 { "This authorization request cannot be completed" }
        p.error role="alert" { (message) }
        p.muted { "Go back to the application and try again, or tell its developer." }
    };
    (status, page("Authorization error", body)).into_response()
}
