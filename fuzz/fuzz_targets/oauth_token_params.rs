//! The token and revocation endpoints' parameter parsing
//! (`crates/http/src/oauth/token.rs`): form bodies and query strings
//! (`read_params`), client authentication by Basic header or posted
//! credentials (`token_request`, `basic_credentials`).
//!
//! Input: `flags\ncontent-type\nauthorization\nquery\nbody`.
#![no_main]

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use maecenas_fuzz::fields;
use maecenas_http::oauth::token::{basic_credentials, read_params, token_request};
use maecenas_services::oauth::Dialect;

fuzz_target!(|data: &[u8]| {
    let [flags, content_type, authorization, query, body] = fields::<5>(data);
    let flags = flags.first().copied().unwrap_or(0);
    let dialect = if flags & 1 == 0 {
        Dialect::Patreon
    } else {
        Dialect::Sponsus
    };
    let mut headers = HeaderMap::new();
    if flags & 2 == 0
        && let Ok(value) = HeaderValue::from_bytes(content_type)
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if flags & 4 == 0
        && let Ok(value) = HeaderValue::from_bytes(authorization)
    {
        headers.insert(header::AUTHORIZATION, value);
    }
    // The Sponsus paths never read the query string.
    let query = match dialect {
        Dialect::Patreon => std::str::from_utf8(query).ok(),
        Dialect::Sponsus => None,
    };

    let result = read_params(dialect, &headers, query, body);
    match &result {
        Ok(params) => {
            let mut expected = HashMap::new();
            if !body.is_empty() {
                let essence = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(';').next())
                    .unwrap_or("")
                    .trim();
                assert!(
                    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded"),
                    "a body of type {essence:?} was read"
                );
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(body).expect("an accepted body is form data");
                for (key, value) in pairs {
                    assert!(
                        expected.insert(key, value).is_none(),
                        "a repeated parameter was accepted"
                    );
                }
            }
            if let Some(query) = query.filter(|q| !q.is_empty()) {
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_str(query).expect("an accepted query is form data");
                for (key, value) in pairs {
                    assert!(
                        expected.insert(key, value).is_none(),
                        "a repeated parameter was accepted"
                    );
                }
            }
            assert_eq!(params, &expected);
        }
        Err(e) => {
            assert_eq!(e.code, "invalid_request");
            assert!(matches!(e.status.as_u16(), 400 | 415), "{}", e.status);
        }
    }

    let Ok(params) = result else { return };
    let basic = basic_credentials(&headers);
    let posted_id = params.get("client_id").cloned();
    let posted_secret = params.get("client_secret").cloned();
    match token_request(dialect, &headers, params.clone()) {
        Ok((credentials, token)) => {
            assert!(token.client_id.is_none() && token.client_secret.is_none());
            assert_eq!(token.grant_type.as_ref(), params.get("grant_type"));
            assert_eq!(token.code.as_ref(), params.get("code"));
            assert_eq!(token.redirect_uri.as_ref(), params.get("redirect_uri"));
            assert_eq!(token.code_verifier.as_ref(), params.get("code_verifier"));
            assert_eq!(token.refresh_token.as_ref(), params.get("refresh_token"));
            assert_eq!(token.scope.as_ref(), params.get("scope"));
            let got = credentials.map(|c| (c.client_id, c.client_secret));
            match basic.expect("token_request succeeded, so the Basic header is valid") {
                Some(basic) => {
                    // Never two methods at once, never two client ids.
                    assert!(posted_secret.is_none());
                    if let Some(id) = &posted_id {
                        assert_eq!(id, &basic.client_id);
                    }
                    assert_eq!(got, Some((basic.client_id, basic.client_secret)));
                }
                None => match (posted_id, posted_secret) {
                    (Some(id), Some(secret)) => assert_eq!(got, Some((id, secret))),
                    _ => assert_eq!(got, None),
                },
            }
        }
        Err(e) => {
            let expected_code = if basic.is_err() {
                "invalid_client"
            } else {
                "invalid_request"
            };
            assert_eq!(e.code, expected_code);
        }
    }

    // Basic credentials round-trip: form-encode, join, base64 (RFC 6749 §2.3.1).
    let id = String::from_utf8_lossy(authorization);
    let secret = String::from_utf8_lossy(content_type);
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", encode(&id), encode(&secret));
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    let mut basic_headers = HeaderMap::new();
    basic_headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&value).expect("base64 is a valid header value"),
    );
    let credentials = basic_credentials(&basic_headers)
        .expect("well-formed Basic credentials are accepted")
        .expect("a Basic header is read");
    assert_eq!(credentials.client_id, id);
    assert_eq!(credentials.client_secret, secret);
});
