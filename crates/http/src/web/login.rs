//! `GET/POST /login` and `POST /logout`.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maecenas_services::ServiceError;
use maud::html;
use serde::Deserialize;

use super::guard::Visitor;
use super::kit::ClientAddr;
use super::layout::page;
use super::session::{self, LOGIN_CSRF_COOKIE};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
    /// What sent the person here (`password_reset`), for a notice.
    pub done: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}
maecenas_domain::debug_showing!(LoginForm { email, next });

pub async fn show(
    State(state): State<AppState>,
    Query(query): Query<NextQuery>,
    jar: CookieJar,
) -> Response {
    let notice = (query.done.as_deref() == Some("password_reset")).then_some(
        "Your new password is saved and every device was logged out. Log in with it now.",
    );
    render_login(
        &state,
        jar,
        query.next.as_deref(),
        Login {
            notice,
            ..Login::default()
        },
        StatusCode::OK,
    )
}

/// What the log-in form says above itself, and the address it keeps.
#[derive(Default)]
struct Login<'a> {
    notice: Option<&'a str>,
    error: Option<&'a str>,
    email: &'a str,
}

fn render_login(
    state: &AppState,
    jar: CookieJar,
    next: Option<&str>,
    Login {
        notice,
        error,
        email,
    }: Login<'_>,
    status: StatusCode,
) -> Response {
    let (csrf, jar) = session::issue_login_csrf(jar, state.secure_cookies);
    let next = session::safe_next(next);
    // Where they were going survives choosing to sign up instead.
    let sign_up = if next == "/" {
        "/signup".to_owned()
    } else {
        format!("/signup?next={}", session::encode_next(&next))
    };
    let body = html! {
        h1 { "Log in" }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
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
        p.muted { a href="/password/forgot" { "Forgot your password?" } }
        p.muted { "New here? " a href=(sign_up) { "Create an account" } "." }
    };
    (status, jar, page("Log in", body)).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if !session::login_csrf_ok(&jar, &form.csrf) {
        return render_login(
            &state,
            jar,
            form.next.as_deref(),
            Login {
                error: Some("The form expired. Please try again."),
                email: &form.email,
                ..Login::default()
            },
            StatusCode::FORBIDDEN,
        );
    }
    if let Err(wait) = state.login_throttle.attempt(&form.email, address).await {
        let seconds = wait.as_secs().max(1);
        let mut response = render_login(
            &state,
            jar,
            form.next.as_deref(),
            Login {
                error: Some(&format!(
                    "Too many log-in attempts. Please wait {seconds} seconds and try again."
                )),
                email: &form.email,
                ..Login::default()
            },
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(value) = seconds.to_string().parse() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        return response;
    }
    match state.services.log_in(&form.email, &form.password).await {
        Ok((_, token)) => {
            // A fresh session id at every log-in: no fixation.
            let jar = jar
                .remove(LOGIN_CSRF_COOKIE)
                .add(session::session_cookie(token, state.secure_cookies));
            (
                jar,
                crate::redirect::see_other(&session::safe_next(form.next.as_deref())),
            )
                .into_response()
        }
        Err(ServiceError::Invalid { reason, .. }) => render_login(
            &state,
            jar,
            form.next.as_deref(),
            Login {
                error: Some(&reason),
                email: &form.email,
                ..Login::default()
            },
            StatusCode::UNAUTHORIZED,
        ),
        Err(err) => {
            tracing::error!(error = ?err, "log-in failed");
            render_login(
                &state,
                jar,
                form.next.as_deref(),
                Login {
                    error: Some("Something went wrong. Please try again."),
                    email: &form.email,
                    ..Login::default()
                },
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}
maecenas_domain::debug_showing!(LogoutForm {});

pub async fn log_out(
    State(state): State<AppState>,
    Visitor(signed): Visitor,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Response {
    // Logging out without a session only clears the cookie: nothing to forge.
    if let (Some(signed), Some(token)) = (&signed, jar.get(session::SESSION_COOKIE)) {
        if !session::csrf_matches(&signed.csrf, &form.csrf) {
            return (
                StatusCode::FORBIDDEN,
                page(
                    "Log out",
                    html! { p.error { "The form expired. Please try again." } },
                ),
            )
                .into_response();
        }
        if let Err(err) = state.services.log_out(token.value()).await {
            tracing::error!(error = ?err, "log-out failed");
        }
    }
    (
        jar.remove(session::SESSION_COOKIE),
        crate::redirect::see_other("/login"),
    )
        .into_response()
}
