//! The pages e-mail links open, and the e-mail settings:
//! - `/password/forgot` and `/password/reset?token=…`: a forgotten password;
//! - `/email/verify?token=…`: proving an address;
//! - `/email/unsubscribe?token=…`: turning one kind of message off, asked
//!   first (a link checker opening it changes nothing), or in one click
//!   from a mail program (RFC 8058's `List-Unsubscribe=One-Click` POST);
//! - `/settings/email`: the address, its verification, and which messages come.
//!
//! The forms shown before log-in carry the log-in page's double-submit
//! token; the links' tokens are the only authority the rest need.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maecenas_domain::EmailKind;
use maecenas_services::ServiceError;
use maecenas_services::email::{EmailChoice, Verified};
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{Button, SignedForm, SignedIn, refusal};
use super::kit::{ClientAddr, Done, field_error, form_error};
use super::layout::{Viewer, page, user_page};
use super::session::{self, LOGIN_CSRF_COOKIE};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

fn expired_form() -> String {
    "The form expired. Please try again.".to_owned()
}

// --- Forgotten password ----------------------------------------------------

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf: String,
}
maecenas_domain::debug_showing!(ForgotForm { email });

pub async fn forgot(State(state): State<AppState>, jar: CookieJar) -> Response {
    render_forgot(&state, jar, "", None, StatusCode::OK)
}

fn render_forgot(
    state: &AppState,
    jar: CookieJar,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (csrf, jar) = session::issue_login_csrf(jar, state.secure_cookies);
    let body = html! {
        h1 { "Forgot your password?" }
        p { "Type the address you log in with. We will e-mail you a link to choose a new password; it works for an hour." }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form method="post" action="/password/forgot" {
            input type="hidden" name="csrf" value=(csrf);
            label for="email" { "Email" }
            input id="email" name="email" type="email" autocomplete="username" required value=(email);
            button type="submit" { "Send me a link" }
        }
        p.muted { a href="/login" { "Back to log in" } }
    };
    (status, jar, page("Forgot your password?", body)).into_response()
}

pub async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    jar: CookieJar,
    Form(form): Form<ForgotForm>,
) -> Response {
    if !session::login_csrf_ok(&jar, &form.csrf) {
        return render_forgot(
            &state,
            jar,
            &form.email,
            Some(&expired_form()),
            StatusCode::FORBIDDEN,
        );
    }
    // The log-in's limits: nobody fills a stranger's inbox from this form.
    if let Err(wait) = state.login_throttle.attempt(&form.email, address).await {
        let message = format!(
            "Too many attempts. Please wait {} seconds and try again.",
            wait.as_secs().max(1)
        );
        return render_forgot(
            &state,
            jar,
            &form.email,
            Some(&message),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    if let Err(err) = state.services.request_password_reset(&form.email).await {
        tracing::error!(error = ?err, "a password reset could not be written");
        return render_forgot(
            &state,
            jar,
            &form.email,
            Some("Something went wrong. Please try again."),
            StatusCode::INTERNAL_SERVER_ERROR,
        );
    }
    // The same answer whether or not the address has an account.
    let body = html! {
        h1 { "Check your e-mail" }
        p role="status" { "If an account uses " strong { (form.email.trim()) } ", a link to choose a new password is on its way there. It works for an hour, once." }
        p.muted { "Nothing arrived after a few minutes? Look in the spam folder, or " a href="/password/forgot" { "ask again" } "." }
        p.muted { a href="/login" { "Back to log in" } }
    };
    (
        jar.remove(LOGIN_CSRF_COOKIE),
        page("Check your e-mail", body),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    csrf: String,
}
maecenas_domain::debug_showing!(ResetForm {});

fn link_gone(title: &str, what: Markup) -> Response {
    (StatusCode::NOT_FOUND, page(title, what)).into_response()
}

fn reset_link_gone() -> Response {
    link_gone(
        "This link does not work",
        html! {
            h1 { "This link does not work any more" }
            p { "A link to reset a password works for an hour, once, and only the newest one counts after a reset." }
            p { a href="/password/forgot" { "Ask for a new link" } }
        },
    )
}

pub async fn reset_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Response {
    match state.services.password_reset_is_live(&query.token).await {
        Ok(true) => render_reset(&state, jar, &query.token, None, StatusCode::OK),
        Ok(false) => reset_link_gone(),
        Err(err) => super::guard::failure(err),
    }
}

fn render_reset(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let (csrf, jar) = session::issue_login_csrf(jar, state.secure_cookies);
    let body = html! {
        h1 { "Choose a new password" }
        (form_error(error, &["password"]))
        form method="post" action="/password/reset" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="token" value=(token);
            label for="new_password" { "New password" }
            input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="8";
            (field_error(error, "password"))
            p.muted { "At least 8 characters. Every device logged in to your account is logged out." }
            button type="submit" { "Save the new password" }
        }
    };
    (status, jar, page("Choose a new password", body)).into_response()
}

pub async fn reset(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    if !session::login_csrf_ok(&jar, &form.csrf) {
        let err = ServiceError::invalid("form", expired_form());
        return render_reset(&state, jar, &form.token, Some(&err), StatusCode::FORBIDDEN);
    }
    match state
        .services
        .reset_password(&form.token, &form.new_password)
        .await
    {
        Ok(Some(_)) => (
            jar.remove(LOGIN_CSRF_COOKIE)
                .remove(session::SESSION_COOKIE),
            crate::redirect::see_other("/login?done=password_reset"),
        )
            .into_response(),
        Ok(None) => reset_link_gone(),
        Err(err @ ServiceError::Invalid { .. }) => render_reset(
            &state,
            jar,
            &form.token,
            Some(&err),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(err) => super::guard::failure(err),
    }
}

// --- Verifying an address --------------------------------------------------

pub async fn verify(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Response {
    match state.services.verify_address(&query.token).await {
        Ok(Verified::Address { email }) => {
            let next = session::safe_next(query.next.as_deref());
            let body = html! {
                h1 { "Your address is verified" }
                p role="status" { "Thank you: " strong { (email) } " is proven to be yours. Receipts and account messages go there." }
                p { a href=(next) data-testid="continue" { "Continue" } }
            };
            page("Address verified", body).into_response()
        }
        Ok(Verified::NotValid) => link_gone(
            "This link does not work",
            html! {
                h1 { "This link does not work any more" }
                p { "A verification link works for a week, once, and only for the address it was sent to." }
                p { "Log in and send a new one from " a href="/settings/email" { "your e-mail settings" } "." }
            },
        ),
        Err(err) => super::guard::failure(err),
    }
}

// --- Unsubscribing ---------------------------------------------------------

fn unsubscribe_link_gone() -> Response {
    link_gone(
        "Unsubscribe",
        html! {
            h1 { "This unsubscribe link is not known" }
            p { "Log in and choose which e-mails you get in " a href="/settings/email" { "your e-mail settings" } "." }
        },
    )
}

pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Response {
    match state.services.unsubscribe_target(&query.token).await {
        Ok(Some(target)) => {
            let body = html! {
                h1 { "Unsubscribe" }
                p { "Stop sending e-mails about " strong { (target.kind.described()) } " to " strong { (target.to_address) } "?" }
                form method="post" action="/email/unsubscribe" {
                    input type="hidden" name="token" value=(query.token);
                    button type="submit" { "Unsubscribe" }
                }
                p.muted { "You can turn them on again in your e-mail settings." }
            };
            page("Unsubscribe", body).into_response()
        }
        Ok(None) => unsubscribe_link_gone(),
        Err(err) => super::guard::failure(err),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UnsubscribeForm {
    #[serde(default)]
    token: String,
}

/// The confirmation's button, or a mail program's one-click POST (the token
/// then rides in the query, the body says `List-Unsubscribe=One-Click`).
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    Form(form): Form<UnsubscribeForm>,
) -> Response {
    let token = if form.token.is_empty() {
        &query.token
    } else {
        &form.token
    };
    match state.services.unsubscribe(token).await {
        Ok(Some(done)) => {
            let body = html! {
                h1 { "Unsubscribed" }
                p role="status" { "No more e-mails about " strong { (done.kind.described()) } " go to " (done.to_address) "." }
                p.muted { "Changed your mind? Turn them on again in " a href="/settings/email" { "your e-mail settings" } "." }
            };
            page("Unsubscribed", body).into_response()
        }
        Ok(None) => unsubscribe_link_gone(),
        Err(err) => super::guard::failure(err),
    }
}

// --- Settings ----------------------------------------------------------------

const NOTICES: &[(&str, &str)] = &[
    ("saved", "Your e-mail choices are saved."),
    (
        "sent",
        "A new verification link is on its way. It works for a week.",
    ),
    ("verified", "Your address is already verified."),
    (
        "changed",
        "Your address is changed. We sent a link to the new one to verify it, and told the old one.",
    ),
];

pub async fn settings(
    State(state): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    Query(done): Query<Done>,
) -> Response {
    render_settings(
        &state,
        &user,
        &csrf,
        done.notice(NOTICES),
        None,
        StatusCode::OK,
    )
    .await
}

/// The page, with a refusal of the address form when there is one.
async fn render_settings(
    state: &AppState,
    user: &maecenas_services::records::UserRow,
    csrf: &str,
    notice: Option<&str>,
    change: Option<(&str, &ServiceError)>,
    status: StatusCode,
) -> Response {
    match state.services.email_choices(user.id).await {
        Ok(choices) => {
            let viewer = Viewer { user, csrf };
            let body = settings_body(&viewer, &choices, notice, change);
            (status, user_page(&viewer, "E-mail settings", body)).into_response()
        }
        Err(err) => refusal(user, csrf, err),
    }
}

fn settings_body(
    viewer: &Viewer<'_>,
    choices: &[EmailChoice],
    notice: Option<&str>,
    change: Option<(&str, &ServiceError)>,
) -> Markup {
    let user = viewer.user;
    let (typed, error) = match change {
        Some((typed, error)) => (typed, Some(error)),
        None => ("", None),
    };
    html! {
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        h1 { "E-mail" }
        p { "Messages go to " strong { (user.email) } " "
            @if user.email_verified_at.is_some() {
                span.badge.good data-testid="address-state" { "verified" }
            } @else {
                span.badge.bad data-testid="address-state" { "not verified" }
            }
        }
        @if user.email_verified_at.is_none() {
            p { "We sent a link to this address when you signed up. Following it proves the address is yours, so that receipts and password resets reach you." }
            form method="post" action="/settings/email/resend" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Send the link again" }
            }
        }
        details #change open[error.is_some()] {
            summary { "Change address" }
            (form_error(error, &["email", "password"]))
            form method="post" action="/settings/email/address" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="new_email" { "New address" }
                input id="new_email" name="email" type="email" autocomplete="email" required value=(typed);
                (field_error(error, "email"))
                label for="change_password" { "Your password, to confirm" }
                input id="change_password" name="password" type="password" autocomplete="current-password" required;
                (field_error(error, "password"))
                p.muted { "We send a link to the new address to verify it, and tell the old one." }
                button type="submit" { "Change address" }
            }
        }
        h2 { "What we send" }
        p.muted { "Password resets and address checks always come: they guard your account." }
        form method="post" action="/settings/email" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            @for choice in choices {
                label.check {
                    input type="checkbox" name=(choice.kind.as_str()) value="on" checked[choice.on];
                    " E-mails about " (choice.kind.described())
                }
            }
            button type="submit" { "Save" }
        }
        p.muted { a href="/settings" { "Back to settings" } }
    }
}

/// The checkboxes that came: each is named by its kind.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct ChoicesForm(HashMap<String, String>);

pub async fn save_settings(
    State(state): State<AppState>,
    SignedForm {
        who: SignedIn { user, csrf },
        form,
    }: SignedForm<ChoicesForm>,
) -> Response {
    let on: Vec<EmailKind> = form
        .0
        .keys()
        .filter_map(|name| name.parse::<EmailKind>().ok())
        .collect();
    match state.services.set_email_choices(user.id, &on).await {
        Ok(()) => crate::redirect::see_other("/settings/email?done=saved"),
        Err(err) => refusal(&user, &csrf, err),
    }
}

#[derive(Deserialize)]
pub struct AddressForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}
maecenas_domain::debug_showing!(AddressForm { email });

pub async fn change_address(
    State(state): State<AppState>,
    SignedForm {
        who: SignedIn { user, csrf },
        form,
    }: SignedForm<AddressForm>,
) -> Response {
    match state
        .services
        .change_email(user.id, &form.password, &form.email)
        .await
    {
        Ok(_) => crate::redirect::see_other("/settings/email?done=changed"),
        Err(err @ ServiceError::Invalid { .. }) => {
            render_settings(
                &state,
                &user,
                &csrf,
                None,
                Some((&form.email, &err)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(err) => refusal(&user, &csrf, err),
    }
}

pub async fn resend(
    State(state): State<AppState>,
    SignedForm {
        who: SignedIn { user, csrf },
        form: _,
    }: SignedForm<Button>,
) -> Response {
    match state.services.resend_verification(user.id).await {
        Ok(true) => crate::redirect::see_other("/settings/email?done=sent"),
        Ok(false) => crate::redirect::see_other("/settings/email?done=verified"),
        Err(err) => refusal(&user, &csrf, err),
    }
}
