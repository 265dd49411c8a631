//! The session cookie and CSRF tokens.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use maecenas_services::records::UserRow;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;

pub const SESSION_COOKIE: &str = "maecenas_session";
/// Before log-in there is no session to tie a CSRF token to: a random cookie
/// that the form must repeat (double submit) protects the log-in form.
pub const LOGIN_CSRF_COOKIE: &str = "maecenas_csrf";

/// The logged-in user, if any (an invalid or expired cookie counts as none).
pub struct MaybeUser {
    pub user: Option<UserRow>,
    pub session_token: Option<String>,
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Ok(MaybeUser {
                user: None,
                session_token: None,
            });
        };
        let user = state
            .services
            .session_user(&token)
            .await
            .unwrap_or_else(|err| {
                tracing::error!(error = ?err, "reading the session");
                None
            });
        Ok(MaybeUser {
            session_token: user.as_ref().map(|_| token),
            user,
        })
    }
}

/// The CSRF token of a session: derived from the session token, so nothing is
/// stored and a page from another origin cannot know it.
pub fn csrf_for_session(session_token: &str) -> String {
    hex::encode(&Sha256::digest(format!("csrf:{session_token}").as_bytes())[..16])
}

pub fn csrf_matches(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(30))
        .build()
}

/// The double-submit cookie of the forms used before a session exists (log-in, sign-up).
pub fn login_csrf_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}

/// A fresh double-submit token for a form shown before log-in, and the jar
/// carrying its cookie.
pub fn issue_login_csrf(jar: CookieJar, secure: bool) -> (String, CookieJar) {
    let csrf = maecenas_services::secrets::public_identifier(16).unwrap_or_default();
    let jar = jar.add(login_csrf_cookie(csrf.clone(), secure));
    (csrf, jar)
}

/// Whether a pre-log-in form repeats the token of its cookie.
pub fn login_csrf_ok(jar: &CookieJar, presented: &str) -> bool {
    jar.get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value())
        .is_some_and(|expected| !expected.is_empty() && csrf_matches(expected, presented))
}

/// Only local paths are followed after log-in: never an open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\") =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}
