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
pub(super) struct MaybeUser {
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

/// `next` as a query value (`/login?next=…`), every reserved character
/// escaped so that its own query survives.
pub fn encode_next(next: &str) -> String {
    url::form_urlencoded::byte_serialize(next.as_bytes()).collect()
}

/// Where to go after log-in: `next` when it is a path on this server, else `/`.
///
/// A browser's idea of a URL is looser than ours: it drops tabs and newlines,
/// reads `\` as `/`, and decodes some escapes, so `/\t/evil.example` or
/// `/%2F%2Fevil.example` leaves the site. Refused therefore, raw or
/// percent-decoded: anything but a leading `/`, a second `/` or `\` right
/// after it, any control character, whitespace or backslash. In the query
/// string escapes stay escaped (a scope list's `%20` is harmless there), so
/// only the raw text is judged.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(next: &str) -> bool {
    const MAX_LEN: usize = 2048;
    let unsafe_char = |c: char| c.is_control() || c.is_whitespace() || c == '\\';
    if next.len() > MAX_LEN || next.chars().any(unsafe_char) {
        return false;
    }
    let path = next.split(['?', '#']).next().unwrap_or_default();
    // Decode until nothing changes (an escape may hide another escape).
    let mut decoded = path.to_owned();
    for _ in 0..4 {
        let once = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
        if once == decoded {
            break;
        }
        decoded = once;
    }
    let leads_local = |p: &str| {
        let mut chars = p.chars();
        chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'))
    };
    leads_local(path)
        && leads_local(&decoded)
        && !decoded.chars().any(unsafe_char)
        // Belt and braces: resolved against a base, it stays on that base.
        && url::Url::parse("http://maecenas.invalid/")
            .and_then(|base| base.join(next))
            .is_ok_and(|url| url.host_str() == Some("maecenas.invalid") && url.port().is_none())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_server_are_followed() {
        for good in [
            "/",
            "/dashboard",
            "/cerulean/pledge?tier=1",
            "/oauth2/authorize?scope=identity%20campaigns&state=a%2Fb",
            "/a/b/c?x=//y",
        ] {
            assert_eq!(safe_next(Some(good)), good, "{good:?}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example/x",
            "/%09/evil.example/x",
            "/%2F%2Fevil.example",
            "/%2Fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/\r\nSet-Cookie:x=1",
            "/%0d%0aSet-Cookie:x=1",
            "/ /evil.example",
            "/\u{a0}x",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "",
            "\\\\evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
