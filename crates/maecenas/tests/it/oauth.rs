//! The OAuth2 authorization server, driven as a browser and a client app
//! would, on both backends: log in, consent, exchange, call, refresh, revoke,
//! and the attacks.

use maecenas_services::accounts::NewAccount;
use maecenas_services::developers::NewClient;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, browser, hidden, log_in};

const PASSWORD: &str = "correct horse battery";
const REDIRECT: &str = "https://app.example/callback";

struct World {
    app: TestApp,
    client_id: String,
    client_secret: String,
    /// A browser: keeps cookies, never follows redirects (we look at each).
    browser: reqwest::Client,
}

async fn world(backend: Backend) -> World {
    let app = TestApp::spawn(backend).await;
    app.services
        .create_user(NewAccount {
            email: "patron@example.org".into(),
            password: PASSWORD.into(),
            username: Some("patron".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    app.services
        .create_user(NewAccount {
            email: "dev@example.org".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let client = app
        .services
        .create_oauth_client(NewClient {
            owner_email: "dev@example.org".into(),
            name: "Example App".into(),
            description: "Shows your pledges on example.app".into(),
            icon_url: None,
            redirect_uris: vec![REDIRECT.into(), "http://127.0.0.1/cb".into()],
        })
        .await
        .unwrap();
    let browser = browser();
    World {
        client_id: client.client.client_id.clone(),
        client_secret: client.client_secret.plaintext.clone(),
        app,
        browser,
    }
}

fn location(res: &reqwest::Response) -> url::Url {
    let raw = res.headers()[LOCATION].to_str().unwrap();
    url::Url::parse(raw)
        .unwrap_or_else(|_| url::Url::parse("http://local").unwrap().join(raw).unwrap())
}

fn query(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

impl World {
    async fn log_in(&self) {
        let res = log_in(
            &self.browser,
            &self.app.url(""),
            "patron@example.org",
            PASSWORD,
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{}",
            res.text().await.unwrap()
        );
    }

    fn authorize_url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.app.url(path)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT);
        for (k, v) in extra {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.into()
    }

    /// Opens the consent page and answers it; returns where the browser is sent.
    async fn consent(&self, authorize_url: &str, decision: &str) -> url::Url {
        let res = self.browser.get(authorize_url).send().await.unwrap();
        assert_eq!(res.status(), 200, "consent page");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        let page = res.text().await.unwrap();
        assert!(page.contains("Example App"), "the page names the client");
        let fields = [
            "csrf",
            "dialect",
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        ];
        let mut form: Vec<(String, String)> = fields
            .iter()
            .filter_map(|f| hidden(&page, f).map(|v| (f.to_string(), v)))
            .collect();
        form.push(("decision".into(), decision.into()));
        let res = self
            .browser
            .post(self.app.url("/oauth/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        location(&res)
    }

    /// Log in, consent, and return the code.
    async fn code(&self, path: &str, extra: &[(&str, &str)]) -> String {
        self.log_in().await;
        let back = self
            .consent(&self.authorize_url(path, extra), "allow")
            .await;
        assert!(back.as_str().starts_with(REDIRECT), "{back}");
        assert_eq!(
            query(&back, "iss").as_deref(),
            Some(self.app.url("").as_str()),
            "RFC 9207 iss"
        );
        query(&back, "code").expect("a code")
    }

    async fn token(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url(path))
            .form(params)
            .send()
            .await
            .unwrap()
    }

    async fn exchange(&self, code: &str) -> reqwest::Response {
        self.token(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.token(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
            ],
        )
        .await
    }

    async fn profile(&self, access_token: &str) -> reqwest::Response {
        self.app
            .http
            .get(self.app.url("/v1/oauth/@me/profile"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }
}

async fn ok_json(res: reqwest::Response) -> Value {
    let status = res.status();
    let no_store = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(no_store.as_deref(), Some("no-store"));
    body
}

async fn error_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn patreon_flow_exchange_call_refresh_revoke(#[case] backend: Backend) {
    let w = world(backend).await;
    let code = w
        .code(
            "/oauth2/authorize",
            &[("scope", "users identify"), ("state", "their_session_id")],
        )
        .await;
    let tokens = ok_json(w.exchange(&code).await).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 2_592_000, "an integer, one month");
    assert_eq!(
        tokens["scope"], "users identify",
        "a string on the Patreon paths"
    );
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let me = ok_json_plain(w.profile(&access).await).await;
    assert_eq!(me["success"], true);
    assert_eq!(me["profile"]["username"], "patron");

    let renewed = ok_json(w.refresh(&refresh).await).await;
    let new_access = renewed["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_access, access);
    assert_eq!(
        w.profile(&access).await.status(),
        401,
        "the refreshed token is deleted and forgotten"
    );
    assert_eq!(w.profile(&new_access).await.status(), 200);

    let revoked = w
        .token(
            "/oauth2/revoke",
            &[
                ("token", &new_access),
                ("client_id", &w.client_id),
                ("client_secret", &w.client_secret),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let gone = w.profile(&new_access).await;
    assert_eq!(gone.status(), 401);
    assert!(
        gone.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    w.app.stop().await;
}

async fn ok_json_plain(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn sponsus_flow_has_its_envelope_and_scope_array(#[case] backend: Backend) {
    let w = world(backend).await;
    let code = w
        .code("/oauth/authorize", &[("scope", "identify,sponsoring")])
        .await;
    let tokens = ok_json(
        w.token(
            "/v1/oauth/token",
            &[
                ("code", &code),
                ("grant_type", "authorization_code"),
                ("client_id", &w.client_id),
                ("client_secret", &w.client_secret),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(tokens["success"], true);
    assert_eq!(tokens["scope"], json!(["identify", "sponsoring"]));
    assert_eq!(tokens["expires_in"], 2_592_000);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let me = ok_json_plain(w.profile(&access).await).await;
    let profile = &me["profile"];
    assert_eq!(
        profile["_id"].as_str().map(|s| s.parse::<i64>().is_ok()),
        Some(true),
        "_id is a string of digits"
    );
    for field in ["description", "about", "status", "username"] {
        assert!(profile[field].is_string(), "{field}");
    }

    let revoked = w
        .token(
            "/v1/oauth/token/revoke",
            &[
                ("access_token", &access),
                ("client_id", &w.client_id),
                ("client_secret", &w.client_secret),
            ],
        )
        .await;
    assert_eq!(ok_json(revoked).await, json!({ "success": true }));
    let gone = w.profile(&access).await;
    assert_eq!(gone.status(), 401);
    assert_eq!(gone.json::<Value>().await.unwrap()["success"], false);
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_python_client_style_query_string_and_http_basic_work(#[case] backend: Backend) {
    let w = world(backend).await;
    // The official Python client: every parameter in the query string, empty body, no Content-Type.
    let code = w.code("/oauth2/authorize", &[]).await;
    let mut url = url::Url::parse(&w.app.url("/api/oauth2/token")).unwrap();
    url.query_pairs_mut()
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("client_id", &w.client_id)
        .append_pair("client_secret", &w.client_secret)
        .append_pair("redirect_uri", REDIRECT);
    let tokens = ok_json(w.app.http.post(url).send().await.unwrap()).await;
    assert_eq!(
        tokens["scope"], "users pledges-to-me my-campaign",
        "the Patreon default scope"
    );

    // HTTP Basic instead of client_secret_post.
    let refreshed = w
        .app
        .http
        .post(w.app.url("/oauth2/token"))
        .basic_auth(&w.client_id, Some(&w.client_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    ok_json(refreshed).await;

    // Both methods at once is refused.
    let both = w
        .app
        .http
        .post(w.app.url("/oauth2/token"))
        .basic_auth(&w.client_id, Some(&w.client_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_secret", &w.client_secret),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(both).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_issued(#[case] backend: Backend) {
    let w = world(backend).await;
    let code = w.code("/oauth2/authorize", &[("scope", "identify")]).await;
    let first = ok_json(w.exchange(&code).await).await;
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(w.profile(access).await.status(), 200);
    let (status, body) = error_of(w.exchange(&code).await).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        w.profile(access).await.status(),
        401,
        "tokens of a replayed code are revoked"
    );
    let (_, body) = error_of(w.refresh(first["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(body["error"], "invalid_grant");
    w.app.stop().await;
}

/// Grants sent together share a commit on SQLite (the group writer): each
/// must still stand or fall alone. Fresh codes, replayed codes (a refusal
/// that keeps its revocation), unknown codes (a refusal that writes nothing)
/// and one code sent twice at once all arrive together.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn grants_sent_together_each_stand_or_fall_alone(#[case] backend: Backend) {
    let w = world(backend).await;
    w.log_in().await;
    let authorize = w.authorize_url("/oauth2/authorize", &[("scope", "identify")]);
    let mut codes = Vec::new();
    for _ in 0..17 {
        let back = w.consent(&authorize, "allow").await;
        codes.push(query(&back, "code").expect("a code"));
    }
    let raced = codes.pop().unwrap();
    let fresh = codes.split_off(8);
    let mut replayed = Vec::new();
    for code in codes {
        let first = ok_json(w.exchange(&code).await).await;
        replayed.push((code, first["access_token"].as_str().unwrap().to_owned()));
    }

    let fresh_answers = futures_util::future::join_all(fresh.iter().map(|c| w.exchange(c)));
    let replay_answers =
        futures_util::future::join_all(replayed.iter().map(|(c, _)| w.exchange(c)));
    let unknown: Vec<String> = (0..8).map(|i| format!("mco_unknown{i}")).collect();
    let unknown_answers = futures_util::future::join_all(unknown.iter().map(|c| w.exchange(c)));
    let raced_answers = futures_util::future::join(w.exchange(&raced), w.exchange(&raced));
    let (fresh_answers, replay_answers, unknown_answers, (raced_a, raced_b)) = tokio::join!(
        fresh_answers,
        replay_answers,
        unknown_answers,
        raced_answers
    );

    for answer in fresh_answers {
        let tokens = ok_json(answer).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(
            w.profile(access).await.status(),
            200,
            "a fresh code's token"
        );
    }
    for (answer, (_, first_access)) in replay_answers.into_iter().zip(&replayed) {
        let (status, body) = error_of(answer).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert_eq!(
            w.profile(first_access).await.status(),
            401,
            "the replay's revocation was kept although the grant was refused"
        );
    }
    for answer in unknown_answers {
        let (status, body) = error_of(answer).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    let statuses = [raced_a.status().as_u16(), raced_b.status().as_u16()];
    assert!(
        statuses.contains(&200) && statuses.contains(&400),
        "one code sent twice at once: one exchange, one refusal, got {statuses:?}"
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_grant(#[case] backend: Backend) {
    let w = world(backend).await;
    let code = w.code("/oauth2/authorize", &[("scope", "identify")]).await;
    let first = ok_json(w.exchange(&code).await).await;
    let old_refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let second = ok_json(w.refresh(&old_refresh).await).await;
    let current_access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(w.profile(&current_access).await.status(), 200);
    // An attacker replays the rotated refresh token.
    let (status, body) = error_of(w.refresh(&old_refresh).await).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        w.profile(&current_access).await.status(),
        401,
        "RFC 9700: the grant is revoked"
    );
    let (_, body) = error_of(w.refresh(second["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(body["error"], "invalid_grant");
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn wrong_secret_wrong_redirect_other_client_and_expired_codes_are_refused(
    #[case] backend: Backend,
) {
    let w = world(backend).await;
    let code = w.code("/oauth2/authorize", &[]).await;

    let wrong_secret = w
        .token(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &w.client_id),
                ("client_secret", "mcs_not-the-secret"),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert!(
        wrong_secret.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (status, body) = error_of(wrong_secret).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let wrong_redirect = w
        .token(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &w.client_id),
                ("client_secret", &w.client_secret),
                ("redirect_uri", "http://127.0.0.1/cb"),
            ],
        )
        .await;
    assert_eq!(error_of(wrong_redirect).await.1["error"], "invalid_grant");

    let other = w
        .app
        .services
        .create_oauth_client(NewClient {
            owner_email: "dev@example.org".into(),
            name: "Other".into(),
            redirect_uris: vec![REDIRECT.into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let stolen = w
        .token(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &other.client.client_id),
                ("client_secret", &other.client_secret.plaintext),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(
        error_of(stolen).await.1["error"],
        "invalid_grant",
        "another client's code"
    );
    // The refusals above did not use the code up.
    ok_json(w.exchange(&code).await).await;

    let late = w.code("/oauth2/authorize", &[]).await;
    w.app.clock.advance(time::Duration::seconds(61));
    assert_eq!(
        error_of(w.exchange(&late).await).await.1["error"],
        "invalid_grant",
        "codes live 60 seconds"
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn pkce_is_required_once_used_and_cannot_be_downgraded(#[case] backend: Backend) {
    let w = world(backend).await;
    // RFC 7636 appendix B.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let pkce = [
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "identify"),
    ];
    let with_pkce = |code: String, verifier: Option<&'static str>| {
        let mut params = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("client_id", w.client_id.clone()),
            ("client_secret", w.client_secret.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
        ];
        if let Some(v) = verifier {
            params.push(("code_verifier", v.to_owned()));
        }
        params
    };
    let post = |params: Vec<(&'static str, String)>| {
        w.app
            .http
            .post(w.app.url("/oauth2/token"))
            .form(&params)
            .send()
    };
    // A missing or wrong verifier burns the code: the right one comes too late.
    for failed in [None, Some("wrong-verifier-wrong-verifier-wrong-verifier-x")] {
        let code = w.code("/oauth2/authorize", &pkce).await;
        let refused = post(with_pkce(code.clone(), failed)).await.unwrap();
        assert_eq!(error_of(refused).await.1["error"], "invalid_grant");
        let late = post(with_pkce(code, Some(verifier))).await.unwrap();
        let (status, body) = error_of(late).await;
        assert_eq!(
            (status.as_u16(), &body["error"]),
            (400, &json!("invalid_grant")),
            "{failed:?}"
        );
    }
    let code = w.code("/oauth2/authorize", &pkce).await;
    let right = ok_json(post(with_pkce(code.clone(), Some(verifier))).await.unwrap()).await;
    let access = right["access_token"].as_str().unwrap().to_owned();
    assert_eq!(w.profile(&access).await.status(), 200);
    // A used code tried again with a wrong verifier revokes what it issued.
    let again = post(with_pkce(
        code,
        Some("another-wrong-verifier-another-wrong-verifier"),
    ))
    .await
    .unwrap();
    assert_eq!(error_of(again).await.1["error"], "invalid_grant");
    assert_eq!(w.profile(&access).await.status(), 401);

    // Downgrade: a verifier for a code issued without a challenge.
    let plain_code = w.code("/oauth2/authorize", &[]).await;
    let downgrade = w
        .app
        .http
        .post(w.app.url("/oauth2/token"))
        .form(&with_pkce(plain_code, Some(verifier)))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(downgrade).await.1["error"], "invalid_grant");

    // `plain` is refused at the authorize step, back at the redirect URI.
    let back = w
        .browser
        .get(w.authorize_url(
            "/oauth2/authorize",
            &[
                ("code_challenge", challenge),
                ("code_challenge_method", "plain"),
                ("state", "s1"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let back = location(&back);
    assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query(&back, "state").as_deref(), Some("s1"));
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn authorize_errors_go_to_a_page_or_back_to_the_client(#[case] backend: Backend) {
    let w = world(backend).await;
    w.log_in().await;
    // Untrusted client or redirect URI: our own page, never a redirect.
    for url in [
        w.app.url("/oauth2/authorize?response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback"),
        w.app.url(&format!("/oauth2/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", w.client_id)),
    ] {
        let res = w.browser.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert!(res.headers().get(LOCATION).is_none());
        assert!(res.text().await.unwrap().contains("cannot be completed"));
    }
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (
            "/oauth2/authorize",
            &[("scope", "users kittens"), ("state", "xyz")],
            "invalid_scope",
        ),
        ("/oauth/authorize", &[("state", "xyz")], "invalid_scope"),
        ("/oauth2/authorize", &[("state", "xyz")], ""),
    ];
    for (path, extra, expected) in cases {
        let res = w
            .browser
            .get(w.authorize_url(path, extra))
            .send()
            .await
            .unwrap();
        if expected.is_empty() {
            assert_eq!(
                res.status(),
                200,
                "Patreon path without scope: the default scopes"
            );
            continue;
        }
        let back = location(&res);
        assert_eq!(
            query(&back, "error").as_deref(),
            Some(expected),
            "{path} {extra:?}"
        );
        assert_eq!(query(&back, "state").as_deref(), Some("xyz"));
        assert!(query(&back, "iss").is_some());
    }
    let mut implicit =
        url::Url::parse(&w.authorize_url("/oauth2/authorize", &[("state", "abc")])).unwrap();
    let pairs: Vec<(String, String)> = implicit
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "response_type" {
                "token".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    implicit.query_pairs_mut().clear().extend_pairs(pairs);
    let back = location(&w.browser.get(implicit).send().await.unwrap());
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("unsupported_response_type"),
        "no implicit grant"
    );

    let denied = w
        .consent(
            &w.authorize_url("/oauth2/authorize", &[("state", "keep me")]),
            "deny",
        )
        .await;
    assert_eq!(query(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        query(&denied, "state").as_deref(),
        Some("keep me"),
        "state comes back unchanged"
    );
    assert!(query(&denied, "code").is_none());
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_visitor_logs_in_first_and_comes_back_to_the_same_request(#[case] backend: Backend) {
    let w = world(backend).await;
    let authorize = w.authorize_url("/oauth2/authorize", &[("state", "s")]);
    let res = w.browser.get(&authorize).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let next = query(&login, "next").unwrap();
    assert!(authorize.ends_with(&next), "{next}");

    let page = w
        .browser
        .get(w.app.url(&format!("/login?next={}", urlencode(&next))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    assert_eq!(hidden(&page, "next").as_deref(), Some(next.as_str()));
    let wrong = w
        .browser
        .post(w.app.url("/login"))
        .form(&[
            ("email", "patron@example.org"),
            ("password", "wrong password"),
            ("csrf", &csrf),
            ("next", &next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let unknown_text = {
        let page = w
            .browser
            .get(w.app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden(&page, "csrf").unwrap();
        w.browser
            .post(w.app.url("/login"))
            .form(&[
                ("email", "nobody@example.org"),
                ("password", "wrong password"),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("email or password is incorrect")
    );
    assert!(
        unknown_text.contains("email or password is incorrect"),
        "a log-in error never tells whether the email exists"
    );

    let page = w
        .browser
        .get(w.app.url(&format!("/login?next={}", urlencode(&next))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let res = w
        .browser
        .post(w.app.url("/login"))
        .form(&[
            ("email", "patron@example.org"),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", &next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION].to_str().unwrap(), next);
    let session_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("maecenas_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    assert_eq!(
        w.browser
            .get(w.app.url(&next))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the consent page"
    );
    w.app.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_forged_consent_without_the_csrf_token_is_refused(#[case] backend: Backend) {
    let w = world(backend).await;
    w.log_in().await;
    let res = w
        .browser
        .post(w.app.url("/oauth/consent"))
        .form(&[
            ("csrf", "forged"),
            ("dialect", "patreon"),
            ("decision", "allow"),
            ("response_type", "code"),
            ("client_id", w.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "users"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get(LOCATION).is_none(), "no code leaves");
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn token_endpoint_refuses_json_and_bad_grants_in_each_dialects_shape(
    #[case] backend: Backend,
) {
    let w = world(backend).await;
    let json_body = w
        .app
        .http
        .post(w.app.url("/v1/oauth/token"))
        .json(&json!({ "grant_type": "authorization_code" }))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(json_body).await;
    assert_eq!(status.as_u16(), 415);
    assert_eq!(
        (body["success"].as_bool(), body["error"].as_str()),
        (Some(false), Some("invalid_request"))
    );

    let unsupported = w
        .token(
            "/oauth2/token",
            &[
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ],
        )
        .await;
    let (status, body) = error_of(unsupported).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    assert!(
        body.get("success").is_none(),
        "Patreon paths carry no envelope"
    );

    let missing = w.token("/v1/oauth/token", &[]).await;
    let (status, body) = error_of(missing).await;
    assert_eq!(
        (
            status.as_u16(),
            body["success"].as_bool(),
            body["error"].as_str()
        ),
        (400, Some(false), Some("invalid_request"))
    );
    let no_client = w
        .token(
            "/v1/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
    assert_eq!(error_of(no_client).await.0.as_u16(), 401);
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn metadata_loopback_ports_scopes_and_client_deletion(#[case] backend: Backend) {
    let w = world(backend).await;
    let meta = ok_json_plain(w.app.get("/.well-known/oauth-authorization-server").await).await;
    assert_eq!(meta["issuer"], w.app.url(""));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert!(
        meta["token_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/api/oauth2/token")
    );

    // RFC 8252 §7.3: a loopback redirect URI may come back on any port.
    w.log_in().await;
    let mut url = url::Url::parse(&w.app.url("/oauth2/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &w.client_id)
        .append_pair("redirect_uri", "http://127.0.0.1:53123/cb")
        .append_pair("scope", "identify");
    let back = w.consent(url.as_str(), "allow").await;
    assert_eq!(back.port(), Some(53123));

    // A token without `identify` cannot read the Sponsus profile.
    let tokens = w
        .app
        .services
        .mint_tokens(&w.client_id, "patron@example.org", "users")
        .await
        .unwrap();
    let res = w.profile(&tokens.access_token).await;
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    let tokens = w
        .app
        .services
        .mint_tokens(&w.client_id, "patron@example.org", "identify")
        .await
        .unwrap();
    assert_eq!(w.profile(&tokens.access_token).await.status(), 200);
    w.app
        .services
        .delete_oauth_client(
            maecenas_services::developers::ClientManager::Operator,
            &w.client_id,
        )
        .await
        .unwrap();
    assert_eq!(
        w.profile(&tokens.access_token).await.status(),
        401,
        "a deleted client's tokens die with it"
    );
    let missing = w
        .app
        .http
        .get(w.app.url("/v1/oauth/@me/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({ "success": false, "error": "Authorization header not found in request" })
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_official_python_client_exchanges_and_refreshes(#[case] backend: Backend) {
    let w = world(backend).await;
    let code = w
        .code("/oauth2/authorize", &[("scope", "users identify")])
        .await;
    let python = crate::support::test_python();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/patreon_oauth.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("MAECENAS_BASE_URL", w.app.url(""))
        .env("CLIENT_ID", &w.client_id)
        .env("CLIENT_SECRET", &w.client_secret)
        .env("CODE", &code)
        .env("REDIRECT_URI", REDIRECT)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let tokens = &result["tokens"];
    assert_eq!(tokens["token_type"], "Bearer", "{result}");
    assert!(
        tokens["expires_in"].is_i64() && tokens["scope"].is_string(),
        "{result}"
    );
    let refreshed = &result["refreshed"];
    let old = tokens["access_token"].as_str().unwrap();
    let new = refreshed["access_token"]
        .as_str()
        .expect("the refresh worked");
    assert_ne!(old, new);
    assert_eq!(w.profile(old).await.status(), 401);
    assert_eq!(w.profile(new).await.status(), 200);
    w.app.stop().await;
}

/// The text of the `<code>` element that follows `label` on a page.
fn code_after(html: &str, label: &str) -> String {
    let start = html
        .find(label)
        .unwrap_or_else(|| panic!("{label} not on the page"))
        + label.len();
    let open = start + html[start..].find("<code").unwrap();
    let content = open + html[open..].find('>').unwrap() + 1;
    let end = content + html[content..].find("</code>").unwrap();
    html[content..end].replace("&amp;", "&")
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_developer_portal_registers_rotates_generates_mints_and_deletes(
    #[case] backend: Backend,
) {
    let w = world(backend).await;
    // Not logged in: the portal sends you to log in first.
    let res = w
        .browser
        .get(w.app.url("/developers/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res).path(), "/login");
    w.log_in().await;
    let page = w
        .browser
        .get(w.app.url("/developers/clients"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").unwrap();

    let refused = w
        .browser
        .post(w.app.url("/developers/clients"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Mine"),
            ("redirect_uris", "http://mine.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(
        refused.text().await.unwrap().contains("must use https"),
        "the error is shown on the form"
    );
    let forged = w
        .browser
        .post(w.app.url("/developers/clients"))
        .form(&[
            ("csrf", "forged"),
            ("name", "Mine"),
            ("redirect_uris", "https://mine.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let created = w
        .browser
        .post(w.app.url("/developers/clients"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Mine"),
            ("description", "My tool"),
            (
                "redirect_uris",
                "https://mine.example/cb\nhttp://127.0.0.1/cb",
            ),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let client_id = code_after(&created, "Client ID:");
    let secret = code_after(&created, "Client secret:");
    assert!(secret.starts_with("mcs_"));
    let client_page = w
        .browser
        .get(w.app.url(&format!("/developers/clients/{client_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!client_page.contains(&secret), "the secret is shown once");

    // The URL generator, without JavaScript.
    let generated = w
        .browser
        .get(w.app.url(&format!("/developers/clients/{client_id}?scope=identify&scope=sponsoring&redirect_uri=https%3A%2F%2Fmine.example%2Fcb&dialect=sponsus")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let url = url::Url::parse(&code_after(&generated, "Send people to:")).unwrap();
    assert_eq!(url.path(), "/oauth/authorize");
    assert_eq!(query(&url, "scope").as_deref(), Some("identify,sponsoring"));
    assert_eq!(
        query(&url, "client_id").as_deref(),
        Some(client_id.as_str())
    );
    assert_eq!(
        w.browser.get(url.as_str()).send().await.unwrap().status(),
        200,
        "the generated URL opens the consent page"
    );

    // Rotate: the old secret stops working.
    let rotated = w
        .browser
        .post(
            w.app
                .url(&format!("/developers/clients/{client_id}/rotate")),
        )
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let new_secret = code_after(&rotated, "New client secret");
    assert_ne!(new_secret, secret);
    let with_old = w
        .token(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(with_old.status(), 401);
    let with_new = w
        .token(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", &client_id),
                ("client_secret", &new_secret),
            ],
        )
        .await;
    assert_eq!(
        error_of(with_new).await.1["error"],
        "invalid_grant",
        "the new secret authenticates"
    );

    // The creator's own token.
    let minted = w
        .browser
        .post(w.app.url(&format!("/developers/clients/{client_id}/token")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let access = code_after(&minted, "Access token:");
    assert_eq!(
        w.profile(&access).await.status(),
        403,
        "a valid token, without the identify scope"
    );

    // Another developer cannot see it: not found, not even "forbidden".
    let other = browser();
    let logged = log_in(&other, &w.app.url(""), "dev@example.org", PASSWORD).await;
    assert_eq!(logged.status(), StatusCode::SEE_OTHER);
    let stranger = other
        .get(w.app.url(&format!("/developers/clients/{client_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 404);
    // Nor act on it: each action checks ownership in its own transaction.
    let (_, settings) = crate::support::get(&other, w.app.url("/settings")).await;
    let stranger_csrf = crate::support::hidden(&settings, "csrf").unwrap();
    for action in ["rotate", "token", "delete"] {
        let refused = other
            .post(
                w.app
                    .url(&format!("/developers/clients/{client_id}/{action}")),
            )
            .form(&[("csrf", stranger_csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 404, "{action}");
    }
    let still = w
        .browser
        .get(w.app.url(&format!("/developers/clients/{client_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200, "the stranger deleted nothing");

    let deleted = w
        .browser
        .post(
            w.app
                .url(&format!("/developers/clients/{client_id}/delete")),
        )
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        w.profile(&access).await.status(),
        401,
        "its tokens died with it"
    );
    assert_eq!(
        w.browser
            .get(w.app.url(&format!("/developers/clients/{client_id}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_oauth2_crate_completes_the_flow_with_pkce_and_http_basic(#[case] backend: Backend) {
    use oauth2::basic::BasicClient;
    use oauth2::{
        AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
        RedirectUrl, Scope, TokenResponse, TokenUrl,
    };

    let w = world(backend).await;
    let client = BasicClient::new(ClientId::new(w.client_id.clone()))
        .set_client_secret(ClientSecret::new(w.client_secret.clone()))
        // The RFC 6749 endpoints the metadata advertises. (The Sponsus token answer gives
        // `scope` as an array, as its seed does, which RFC clients such as this one refuse.)
        .set_auth_uri(AuthUrl::new(w.app.url("/oauth2/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(w.app.url("/api/oauth2/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf_state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("identify".into()))
        .set_pkce_challenge(challenge)
        .url();

    w.log_in().await;
    let back = w.consent(authorize_url.as_str(), "allow").await;
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(csrf_state.secret().as_str())
    );
    let code = query(&back, "code").unwrap();

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        tokens.expires_in(),
        Some(std::time::Duration::from_secs(2_592_000))
    );
    assert_eq!(
        tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        Some(vec!["identify".to_owned()])
    );
    let access = tokens.access_token().secret().clone();
    assert_eq!(w.profile(&access).await.status(), 200);

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(w.profile(&access).await.status(), 401);
    assert_eq!(
        w.profile(refreshed.access_token().secret()).await.status(),
        200
    );
    w.app.stop().await;
}
