//! `GET/POST /login`, `POST /logout`, and the home page.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use maecenas_services::ServiceError;
use maud::html;
use serde::Deserialize;

use super::layout::page;
use super::session::{self, LOGIN_CSRF_COOKIE, MaybeUser};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Query(query): Query<NextQuery>,
    jar: CookieJar,
) -> Response {
    render_login(&state, jar, query.next.as_deref(), None, "", StatusCode::OK)
}

fn render_login(
    state: &AppState,
    jar: CookieJar,
    next: Option<&str>,
    error: Option<&str>,
    email: &str,
    status: StatusCode,
) -> Response {
    let csrf = maecenas_services::secrets::public_identifier(16).unwrap_or_default();
    let jar = jar.add(session::login_csrf_cookie(
        csrf.clone(),
        state.secure_cookies,
    ));
    let next = session::safe_next(next);
    let body = html! {
        h1 { "Log in" }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="next" value=(next);
            label for="email" { "Email" }
            input id="email" name="email" type="email" autocomplete="username" required value=(email);
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            button type="submit" { "Log in" }
        }
    };
    (status, jar, page("Log in", body)).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !session::csrf_matches(&expected, &form.csrf) {
        return render_login(
            &state,
            jar,
            form.next.as_deref(),
            Some("The form expired. Please try again."),
            &form.email,
            StatusCode::FORBIDDEN,
        );
    }
    match state.services.log_in(&form.email, &form.password).await {
        Ok((_, token)) => {
            // A fresh session id at every log-in: no fixation.
            let jar = jar
                .remove(LOGIN_CSRF_COOKIE)
                .add(session::session_cookie(token, state.secure_cookies));
            (jar, Redirect::to(&session::safe_next(form.next.as_deref()))).into_response()
        }
        Err(ServiceError::Invalid { reason, .. }) => render_login(
            &state,
            jar,
            form.next.as_deref(),
            Some(&reason),
            &form.email,
            StatusCode::UNAUTHORIZED,
        ),
        Err(err) => {
            tracing::error!(error = ?err, "log-in failed");
            render_login(
                &state,
                jar,
                form.next.as_deref(),
                Some("Something went wrong. Please try again."),
                &form.email,
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn log_out(
    State(state): State<AppState>,
    user: MaybeUser,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(token) = &user.session_token {
        if !session::csrf_matches(&session::csrf_for_session(token), &form.csrf) {
            return (
                StatusCode::FORBIDDEN,
                page(
                    "Log out",
                    html! { p.error { "The form expired. Please try again." } },
                ),
            )
                .into_response();
        }
        if let Err(err) = state.services.log_out(token).await {
            tracing::error!(error = ?err, "log-out failed");
        }
    }
    (jar.remove(session::SESSION_COOKIE), Redirect::to("/login")).into_response()
}

pub async fn home(user: MaybeUser) -> Response {
    let body = match (&user.user, &user.session_token) {
        (Some(user), Some(token)) => html! {
            h1 { "Welcome, " (user.username.as_deref().unwrap_or(&user.email)) }
            p.muted { "Logged in as " (user.email) "." }
            form method="post" action="/logout" {
                input type="hidden" name="csrf" value=(session::csrf_for_session(token));
                button.secondary type="submit" { "Log out" }
            }
        },
        _ => html! {
            h1 { "Maecenas" }
            p { "A self-hostable creator-sponsorship platform." }
            p { a href="/login" { "Log in" } }
        },
    };
    page("Home", body).into_response()
}
