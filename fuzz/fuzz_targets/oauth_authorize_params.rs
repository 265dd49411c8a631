//! The authorize request's query (`AuthorizeParams`, decoded with
//! `serde_urlencoded` as `crates/http/src/oauth/authorize.rs` does), the
//! consent form (`ConsentForm` through axum's real `Form` extractor), and the
//! checks of `validate_authorize` that need no database: the scope list and
//! the PKCE challenge.
//!
//! Input: `query-or-form` (the same bytes are tried as both).
#![no_main]

use axum::Form;
use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use maecenas_domain::{ScopeSet, is_valid_s256_challenge};
use maecenas_fuzz::now;
use maecenas_http::oauth::authorize::ConsentForm;
use maecenas_services::oauth::AuthorizeParams;

const AUTHORIZE_FIELDS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];
const CONSENT_REQUIRED: [&str; 3] = ["csrf", "dialect", "decision"];

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let count = |name: &str| pairs.iter().filter(|(k, _)| k == name).count();
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };

    if let Ok(query) = std::str::from_utf8(data) {
        let parsed = serde_urlencoded::from_str::<AuthorizeParams>(query);
        let repeated = AUTHORIZE_FIELDS.iter().any(|f| count(f) > 1);
        match parsed {
            Ok(params) => {
                assert!(!repeated, "a repeated authorize parameter was accepted");
                assert_eq!(params.response_type, first("response_type"));
                assert_eq!(params.client_id, first("client_id"));
                assert_eq!(params.redirect_uri, first("redirect_uri"));
                assert_eq!(params.scope, first("scope"));
                assert_eq!(params.state, first("state"));
                assert_eq!(params.code_challenge, first("code_challenge"));
                assert_eq!(params.code_challenge_method, first("code_challenge_method"));
                check_scope(params.scope.as_deref());
                if let Some(challenge) = params.code_challenge.as_deref()
                    && is_valid_s256_challenge(challenge)
                {
                    assert_eq!(challenge.len(), 43);
                    assert!(
                        challenge
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    );
                }
                // What the consent page puts back in its hidden fields decodes the same.
                let again: Vec<(&str, String)> = AUTHORIZE_FIELDS
                    .iter()
                    .filter_map(|f| first(f).map(|v| (*f, v)))
                    .collect();
                let encoded = serde_urlencoded::to_string(&again).expect("pairs encode");
                let back: AuthorizeParams =
                    serde_urlencoded::from_str(&encoded).expect("an encoded request decodes");
                assert_eq!(back.client_id, params.client_id);
                assert_eq!(back.redirect_uri, params.redirect_uri);
                assert_eq!(back.scope, params.scope);
                assert_eq!(back.state, params.state);
            }
            Err(_) => assert!(
                repeated,
                "a query with no repeated field was refused: {query:?}"
            ),
        }
    }

    // `POST /oauth/consent` through axum's Form extractor, as the router runs it.
    let request = Request::post("/oauth/consent")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(data.to_vec()))
        .expect("a request");
    let form = now(Form::<ConsentForm>::from_request(request, &()));
    let well_formed = CONSENT_REQUIRED.iter().all(|f| count(f) == 1)
        && [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        ]
        .iter()
        .all(|f| count(f) <= 1);
    assert_eq!(form.is_ok(), well_formed, "{form:?}");
});

/// `validate_authorize`'s reading of `scope`: trimmed, empty means absent.
fn check_scope(scope: Option<&str>) {
    let Some(scope) = scope.map(str::trim).filter(|s| !s.is_empty()) else {
        return;
    };
    if let Ok(set) = scope.parse::<ScopeSet>() {
        assert_eq!(set.to_string().parse::<ScopeSet>(), Ok(set));
    }
}
