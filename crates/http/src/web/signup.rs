//! `GET/POST /signup`: a new account, logged in at once.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maecenas_services::ServiceError;
use maecenas_services::accounts::NewAccount;
use maud::html;
use serde::Deserialize;

use super::kit::{ClientAddr, field_error, form_error};
use super::layout::page;
use super::login::NextQuery;
use super::session::{self, LOGIN_CSRF_COOKIE};
use crate::AppState;

#[derive(Default, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    /// A checkbox: present when ticked.
    creator: Option<String>,
    #[serde(default)]
    csrf: String,
    /// Where the person was going (a pledge form, say) when they were
    /// asked to log in and chose to create an account instead.
    next: Option<String>,
}
maecenas_domain::debug_showing!(SignupForm {
    email,
    username,
    first_name,
    last_name,
    creator,
    next
});

const FIELDS: &[&str] = &["email", "password", "username", "first_name", "last_name"];

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<NextQuery>,
) -> Response {
    let form = SignupForm {
        next: query.next,
        ..SignupForm::default()
    };
    render(&state, jar, &form, None, StatusCode::OK)
}

fn render(
    state: &AppState,
    jar: CookieJar,
    form: &SignupForm,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let (csrf, jar) = session::issue_login_csrf(jar, state.secure_cookies);
    let next = form.next.as_deref().map(|n| session::safe_next(Some(n)));
    let log_in = match next.as_deref() {
        Some(next) if next != "/" => format!("/login?next={}", session::encode_next(next)),
        _ => "/login".to_owned(),
    };
    let body = html! {
        h1 { "Create your account" }
        @if next.as_deref().is_some_and(|n| n != "/") {
            p.muted { "After this you go straight back to where you were." }
        }
        (form_error(error, FIELDS))
        form method="post" action="/signup" novalidate {
            input type="hidden" name="csrf" value=(csrf);
            @if let Some(next) = &next { input type="hidden" name="next" value=(next); }
            label for="email" { "Email" }
            input id="email" name="email" type="email" autocomplete="email" required value=(form.email);
            (field_error(error, "email"))
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="new-password" required minlength="8";
            p.muted { "At least 8 characters." }
            (field_error(error, "password"))
            label for="username" { "Username" }
            input id="username" name="username" autocomplete="username" required value=(form.username);
            p.muted { "Your page's address: /your-username. Letters, digits, '_', '-' and '.'." }
            (field_error(error, "username"))
            label for="first_name" { "First name" }
            input id="first_name" name="first_name" autocomplete="given-name" value=(form.first_name);
            (field_error(error, "first_name"))
            label for="last_name" { "Last name" }
            input id="last_name" name="last_name" autocomplete="family-name" value=(form.last_name);
            (field_error(error, "last_name"))
            label.check {
                input type="checkbox" name="creator" value="1" checked[form.creator.is_some()];
                " I am a creator: I want a page that patrons can sponsor"
            }
            button type="submit" { "Create account" }
        }
        p.muted { "Already have an account? " a href=(log_in) { "Log in" } "." }
    };
    (status, jar, page("Sign up", body)).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    jar: CookieJar,
    Form(form): Form<SignupForm>,
) -> Response {
    if !session::login_csrf_ok(&jar, &form.csrf) {
        let error = ServiceError::invalid("form", "the form expired, please try again");
        return render(&state, jar, &form, Some(&error), StatusCode::FORBIDDEN);
    }
    // Sign-ups share the log-in's limits: both cost an argon2 hash.
    if let Err(wait) = state.login_throttle.attempt(&form.email, address).await {
        let error = ServiceError::invalid(
            "form",
            format!(
                "too many attempts, please wait {} seconds",
                wait.as_secs().max(1)
            ),
        );
        return render(
            &state,
            jar,
            &form,
            Some(&error),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let account = NewAccount {
        email: form.email.clone(),
        password: form.password.clone(),
        username: Some(form.username.clone()),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        is_creator: form.creator.is_some(),
        is_admin: false,
    };
    let going_to = form
        .next
        .as_deref()
        .map(|n| session::safe_next(Some(n)))
        .filter(|next| next != "/");
    match state.services.sign_up(account, going_to.as_deref()).await {
        Ok((user, token)) => {
            let jar = jar
                .remove(LOGIN_CSRF_COOKIE)
                .add(session::session_cookie(token, state.secure_cookies));
            let next = match going_to {
                Some(next) => next,
                None if user.is_creator => "/dashboard".to_owned(),
                None => "/".to_owned(),
            };
            (jar, crate::redirect::see_other(&next)).into_response()
        }
        Err(err) => {
            let err = match err {
                // Say which field: a person fixes the form, not a database.
                ServiceError::Conflict(message) if message.contains("email") => {
                    ServiceError::invalid("email", "an account with this email already exists")
                }
                ServiceError::Conflict(_) => {
                    ServiceError::invalid("username", "this username is taken")
                }
                other => other,
            };
            let status = match &err {
                ServiceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            render(&state, jar, &form, Some(&err), status)
        }
    }
}
