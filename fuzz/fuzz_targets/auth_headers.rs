//! `Authorization` headers: HTTP Basic client credentials
//! (`crates/http/src/oauth/token.rs` `basic_credentials`), the Bearer token of
//! the Patreon dialects (`patreon_v1::handlers::bearer`), the Sponsus header
//! that is either `Bearer <token>` or a raw personal API key
//! (`sponsus_v1::auth::caller`), and the bare-token rewrite of
//! `GET /v1/oauth/@me/profile` (`sponsus_v1::profile::oauth_me`).
//!
//! The Bearer and Sponsus readings are inline in async handlers that go on to
//! the database, so they are mirrored here line for line (kept in sync by
//! hand; see the README); the header values themselves go through the real
//! `http::HeaderValue` parsing.
//!
//! Input: the header value's bytes.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use maecenas_http::oauth::token::basic_credentials;

/// `patreon_v1::handlers::bearer`: the token handed to `services.bearer`.
fn patreon_bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[derive(Debug, PartialEq)]
enum SponsusCaller<'a> {
    Missing,
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// `sponsus_v1::auth::caller`: what is looked up, token or API key.
fn sponsus_caller(headers: &HeaderMap) -> SponsusCaller<'_> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return SponsusCaller::Missing;
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return SponsusCaller::Bearer(token.trim());
    }
    SponsusCaller::ApiKey(value)
}

/// `sponsus_v1::profile::oauth_me`: a bare token is taken as a Bearer token.
fn oauth_me_rewrite(headers: &mut HeaderMap) {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && !value.trim().is_empty()
        && !value.starts_with("Bearer ")
        && let Ok(bearer) = format!("Bearer {}", value.trim()).parse()
    {
        headers.insert(header::AUTHORIZATION, bearer);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value.clone());
    let text = value.to_str().ok();

    match basic_credentials(&headers) {
        Ok(None) => assert!(
            text.is_none_or(|t| !t.starts_with("Basic ") && !t.starts_with("basic ")),
            "a Basic header was ignored: {text:?}"
        ),
        Ok(Some(_)) | Err(_) => {
            let t = text.expect("only a readable header is decoded");
            assert!(t.starts_with("Basic ") || t.starts_with("basic "));
        }
    }

    if let Some(token) = patreon_bearer(&headers) {
        assert!(!token.is_empty() && token.trim() == token);
        let t = text.expect("a token comes from a readable header");
        assert!(t.starts_with("Bearer ") && t.contains(token));
        // The same token sent again, as a client would, reads the same.
        let mut again = HeaderMap::new();
        again.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).expect("a token is a header value"),
        );
        assert_eq!(patreon_bearer(&again), Some(token));
    }

    match sponsus_caller(&headers) {
        SponsusCaller::Missing => assert!(text.is_none_or(|t| t.trim().is_empty())),
        SponsusCaller::Bearer(token) => assert_eq!(token.trim(), token),
        SponsusCaller::ApiKey(key) => {
            assert!(!key.is_empty() && key.trim() == key);
            assert!(
                !key.starts_with("Bearer "),
                "a Bearer header was taken as an API key"
            );
        }
    }

    let mut rewritten = headers.clone();
    oauth_me_rewrite(&mut rewritten);
    if let Some(t) = text
        && !t.trim().is_empty()
        && !t.starts_with("Bearer ")
    {
        // A bare token always becomes a Bearer header with that very token.
        assert_eq!(sponsus_caller(&rewritten), SponsusCaller::Bearer(t.trim()));
    } else {
        assert_eq!(rewritten, headers);
    }
});
