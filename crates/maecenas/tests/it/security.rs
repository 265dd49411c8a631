//! Defects a black-box review found, each kept fixed here, on SQLite and
//! PostgreSQL over HTTP: where a log-in may send the browser, what reaches
//! the logs, and a public URL checked before the first request.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use rstest::rstest;

use crate::support::{self, Backend, Server, TestApp, TestDb, browser, hidden, maecenas};

const PASSWORD: &str = "correct horse battery";

/// `next` values that would leave the site (or break the header), raw as a
/// browser would send them once decoded from the query string.
const AWAY: &[&str] = &[
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\r\nSet-Cookie: stolen=1",
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example/x",
    "/%2F%2Fevil.example/x",
    "/%2Fevil.example/x",
    "/%5Cevil.example/x",
    "/%09/evil.example/x",
    "/%0D%0ASet-Cookie:%20stolen=1",
    "/%252F%252Fevil.example/x",
    "https://evil.example/x",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    " /x",
    "/ /evil.example",
];

async fn with_person(backend: Backend) -> TestApp {
    // Many log-ins of one person in a row: not what the throttle is tested for here.
    let app = TestApp::spawn_with(backend, |c| c.login_limits.per_account_burst = 1000).await;
    app.services
        .create_user(maecenas_services::accounts::NewAccount {
            email: "person@example.org".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    app
}

/// Logs in through the form with `next` as given; the answer.
async fn log_in_with_next(app: &TestApp, next: &str) -> reqwest::Response {
    let b = browser();
    let page = b
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    b.post(app.url("/login"))
        .form(&[
            ("email", "person@example.org"),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_log_in_only_ever_returns_to_a_path_of_this_site(#[case] backend: Backend) {
    let app = with_person(backend).await;
    for next in AWAY {
        // The page carries no such `next` into its form...
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let page = app.get(&format!("/login?next={encoded}")).await;
        assert_eq!(page.status(), StatusCode::OK, "{next:?}");
        let page = page.text().await.unwrap();
        assert_eq!(hidden(&page, "next").as_deref(), Some("/"), "{next:?}");
        // ...and a form posted with it anyway lands on the home page, never a 500.
        let res = log_in_with_next(&app, next).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(res.headers()[LOCATION], "/", "{next:?}");
        assert!(res.headers().contains_key(SET_COOKIE), "{next:?}");
    }
    for next in [
        "/settings",
        "/cerulean/pledge?tier=12",
        "/oauth2/authorize?response_type=code&scope=identity%20campaigns&state=a%2Fb",
    ] {
        let res = log_in_with_next(&app, next).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(res.headers()[LOCATION], next, "{next:?}");
    }
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn an_avatar_address_that_cannot_be_a_header_is_not_a_500(#[case] backend: Backend) {
    let app = with_person(backend).await;
    let store = app.db().store().await;
    let mut tx = store.write().await.unwrap();
    let person = maecenas_store::users::user_by_email(&mut tx, "person@example.org")
        .await
        .unwrap()
        .unwrap();
    // What an import or an older release could have stored.
    sqlx_execute(
        &mut tx,
        "UPDATE users SET image_url = $1, status = 'public' WHERE id = $2",
        "https://img.example/a\nb.png",
        person.id.get(),
    )
    .await;
    tx.commit().await.unwrap();
    let res = app.get(&format!("/v1/profiles/{}/avatar", person.id)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    app.stop().await;
}

async fn sqlx_execute(tx: &mut maecenas_store::Tx, sql: &str, text: &str, id: i64) {
    match tx {
        maecenas_store::Tx::Sqlite(tx) => {
            sqlx::query(sql)
                .bind(text)
                .bind(id)
                .execute(&mut **tx)
                .await
                .unwrap();
        }
        maecenas_store::Tx::Postgres(tx) => {
            sqlx::query(sql)
                .bind(text)
                .bind(id)
                .execute(&mut **tx)
                .await
                .unwrap();
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_malformed_public_url_stops_the_server_before_it_listens(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    for bad in [
        "not a url",
        "ftp://files.example",
        "https://user:pw@example.org",
        "https://example.org/?x=1",
        "mailto:someone@example.org",
    ] {
        let mut command = maecenas(db.dir());
        command.env("DATABASE_URL", db.url()).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            bad,
        ]);
        let ran = support::run(command).await;
        ran.assert_clean_failure("public_url");
    }
}

/// Every secret a person or an app hands the server, or the server hands
/// out, during a working session: none of them may appear in the logs, even
/// at the most talkative level.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut command = maecenas(db.dir());
    command
        .env("DATABASE_URL", db.url())
        .env("MAECENAS_LOG", "trace")
        .env("MAECENAS_WEBHOOK_ALLOW_NETS", "127.0.0.0/8")
        .args(["serve", "--listen", "127.0.0.1:0", "--demo"]);
    let mut server = Server::start(command, db.dir().join("stderr.log")).await;
    let printed = server.stdout_lines.join("\n");
    let field = |label: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {printed}"))
            .trim()
            .to_owned()
    };
    let client_id = field("client_id:");
    let client_secret = field("client_secret:");
    let api_key = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("mck_"))
        .map(|k| format!("mck_{k}"))
        .expect("an API key");
    let demo_password = "maecenas-demo";
    let new_password = "a brand new passphrase 42";
    let base = server.url("");
    let http = reqwest::Client::new();
    let mut secrets: BTreeSet<String> = [
        client_secret.clone(),
        api_key.clone(),
        demo_password.to_owned(),
        new_password.to_owned(),
    ]
    .into();

    // A failed and a good log-in, through the form.
    let b = browser();
    let refused =
        support::log_in(&b, &base, "creator@demo.maecenas.test", "wrong-password-x").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    secrets.insert("wrong-password-x".into());
    let logged = support::log_in(&b, &base, "creator@demo.maecenas.test", demo_password).await;
    assert_eq!(logged.status(), StatusCode::SEE_OTHER);
    for cookie in logged.headers().get_all(SET_COOKIE) {
        let cookie = cookie.to_str().unwrap();
        if let Some(value) = cookie.strip_prefix("maecenas_session=") {
            secrets.insert(value.split(';').next().unwrap().to_owned());
        }
    }

    // The whole OAuth dance with PKCE: code, tokens, refresh, an API call, revocation.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let mut authorize = url::Url::parse(&server.url("/oauth2/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", maecenas_services::demo::DEMO_REDIRECT_URI)
        .append_pair("scope", "users my-campaign w:campaigns.webhook")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    let consent = b.get(authorize.as_str()).send().await.unwrap();
    assert_eq!(consent.status(), StatusCode::OK);
    let page = consent.text().await.unwrap();
    let mut form: Vec<(String, String)> = [
        "csrf",
        "dialect",
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .filter_map(|f| hidden(&page, f).map(|v| (f.to_string(), v)))
    .collect();
    form.push(("decision".into(), "allow".into()));
    let back = b
        .post(server.url("/oauth/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let back = url::Url::parse(back.headers()[LOCATION].to_str().unwrap()).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    secrets.insert(code.clone());
    let token_call = |params: Vec<(&'static str, String)>| {
        http.post(format!("{base}/api/oauth2/token"))
            .form(&params)
            .send()
    };
    let tokens: serde_json::Value = token_call(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("client_id", client_id.clone()),
        ("client_secret", client_secret.clone()),
        (
            "redirect_uri",
            maecenas_services::demo::DEMO_REDIRECT_URI.into(),
        ),
        ("code_verifier", verifier.into()),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = tokens["access_token"].as_str().expect("tokens").to_owned();
    let refreshed: serde_json::Value = token_call(vec![
        ("grant_type", "refresh_token".into()),
        (
            "refresh_token",
            tokens["refresh_token"].as_str().unwrap().into(),
        ),
        ("client_id", client_id.clone()),
        ("client_secret", client_secret.clone()),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access2 = refreshed["access_token"]
        .as_str()
        .expect("refreshed")
        .to_owned();
    secrets.extend([
        access.clone(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
        access2.clone(),
        refreshed["refresh_token"].as_str().unwrap().to_owned(),
    ]);
    let me = http
        .get(format!("{base}/api/oauth2/api/current_user"))
        .bearer_auth(&access2)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // A webhook: its signing secret is handed out once.
    let hook: serde_json::Value = http
        .post(format!("{base}/api/oauth2/v2/webhooks"))
        .bearer_auth(&access2)
        .json(
            &serde_json::json!({ "data": { "type": "webhook", "attributes": {
            "uri": "http://127.0.0.1:9/hook", "triggers": ["pledges:create"] } } }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.insert(
        hook["data"]["attributes"]["secret"]
            .as_str()
            .expect("a webhook secret")
            .to_owned(),
    );
    let revoked = http
        .post(format!("{base}/oauth2/revoke"))
        .form(&[
            ("token", access2.as_str()),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    // The personal API key, and a password change.
    let profile = http
        .get(format!("{base}/v1/oauth/@me/profile"))
        .header("Authorization", &api_key)
        .send()
        .await
        .unwrap();
    assert!(profile.status().is_client_error() || profile.status().is_success());
    let settings = b
        .get(server.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&settings, "csrf").expect("a CSRF token on the settings page");
    secrets.insert(csrf.clone());
    let changed = b
        .post(server.url("/settings/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", demo_password),
            ("new_password", new_password),
        ])
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success() || changed.status().is_redirection());

    server.signal("TERM");
    assert!(server.wait().await.success());
    let logs = server.stderr();
    assert!(
        logs.lines().count() > 50,
        "trace logging was on: {} lines",
        logs.lines().count()
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret ({}…) is in the logs",
            &secret[..secret.len().min(6)]
        );
    }
}

/// `{:?}` of a record never shows the secret it holds (logs print records
/// with `?` when something goes wrong).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn records_that_hold_secrets_do_not_print_them(#[case] backend: Backend) {
    let app = with_person(backend).await;
    let demo = app.services.seed_demo().await.unwrap();
    let person = app
        .services
        .user_by_email("person@example.org")
        .await
        .unwrap();
    let hash = person.password_hash.clone().unwrap();
    assert!(hash.starts_with("$argon2id$"));
    let printed = format!("{person:?}");
    assert!(
        printed.contains("person@example.org") && !printed.contains(&hash),
        "{printed}"
    );

    let demo_printed = format!("{demo:?}");
    for secret in [&demo.client_secret, &demo.api_key] {
        assert!(!demo_printed.contains(secret.as_str()), "{demo_printed}");
    }
    assert!(!demo_printed.contains(demo.password), "{demo_printed}");

    let issued = app
        .services
        .mint_tokens(&demo.client_id, &demo.creator_email, "w:campaigns.webhook")
        .await
        .unwrap();
    let printed = format!("{issued:?}");
    assert!(
        !printed.contains(&issued.access_token) && !printed.contains(&issued.refresh_token),
        "{printed}"
    );

    let params = maecenas_services::oauth::TokenParams {
        grant_type: Some("authorization_code".into()),
        code: Some("mco_the-code".into()),
        code_verifier: Some("the-verifier".into()),
        refresh_token: Some("mrt_the-refresh".into()),
        client_secret: Some("mcs_the-secret".into()),
        ..Default::default()
    };
    let printed = format!("{params:?}");
    for secret in [
        "mco_the-code",
        "the-verifier",
        "mrt_the-refresh",
        "mcs_the-secret",
    ] {
        assert!(!printed.contains(secret), "{printed}");
    }
    let credentials = maecenas_services::oauth::ClientCredentials {
        client_id: demo.client_id.clone(),
        client_secret: demo.client_secret.clone(),
    };
    assert!(!format!("{credentials:?}").contains(&demo.client_secret));

    let hook = app
        .services
        .create_webhook(
            maecenas_services::webhooks::WebhookManager::Creator(demo.creator_id),
            None,
            "https://93.184.216.34/in",
            &["pledges:create".to_owned()],
        )
        .await
        .unwrap();
    assert!(hook.secret.starts_with("whsec_"));
    assert!(!format!("{hook:?}").contains(&hook.secret));
    let store = app.db().store().await;
    let mut tx = store.read().await.unwrap();
    let client = maecenas_store::oauth_clients::client_by_client_id(&mut tx, &demo.client_id)
        .await
        .unwrap()
        .unwrap();
    let printed = format!("{client:?}");
    assert!(!printed.contains("secret_hash"), "{printed}");
    drop(tx);
    app.stop().await;
}

/// Two `maecenas serve` processes on one PostgreSQL database, small limits,
/// counting in `redis` when given (else in the database).
async fn two_nodes(db: &TestDb, redis: Option<&str>) -> (Server, Server) {
    let prefix = format!(
        "maecenas-test-{}",
        maecenas_services::secrets::random_hex(8)
    );
    let mut nodes = Vec::new();
    for name in ["a", "b"] {
        let mut command = maecenas(db.dir());
        command
            .env("DATABASE_URL", db.url())
            .env("MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT", "3")
            .env("MAECENAS_TOKEN_REQUESTS_PER_MINUTE", "2")
            .env("MAECENAS_API_REQUESTS_PER_MINUTE", "3")
            .env("MAECENAS_BILLING_INTERVAL", "0")
            .env("MAECENAS_WEBHOOK_DELIVERY", "off")
            .env("MAECENAS_REDIS_PREFIX", &prefix)
            .args(["serve", "--listen", "127.0.0.1:0"]);
        if let Some(url) = redis {
            command.env("MAECENAS_REDIS_URL", url);
        }
        nodes.push(Server::start(command, db.dir().join(format!("{name}.log"))).await);
    }
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    (a, b)
}

#[rstest]
#[case::database(None)]
#[case::redis(Some("redis://127.0.0.1:6379"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttles_hold_across_nodes(#[case] redis: Option<&str>) {
    if let Some(url) = redis {
        let reachable = tokio::net::TcpStream::connect(url.trim_start_matches("redis://")).await;
        assert!(
            reachable.is_ok(),
            "Redis must run at {url} for this test: run the tests with `scripts/test`, which starts it"
        );
    }
    let db = TestDb::new(Backend::Postgres).await;
    let (mut a, mut b) = two_nodes(&db, redis).await;
    let email = format!(
        "guess-{}@example.org",
        maecenas_services::secrets::random_hex(6)
    );

    // Log-in: three tries on one node use up the account's allowance on both.
    let browser = browser();
    for _ in 0..3 {
        let res = support::log_in(&browser, &a.url(""), &email, "not-the-password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = support::log_in(&browser, &b.url(""), &email, "not-the-password").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));

    // The token endpoint, per client: two on one node, the third refused on the other.
    let http = reqwest::Client::new();
    let token = |base: String| {
        let http = http.clone();
        async move {
            http.post(format!("{base}/oauth2/token"))
                .basic_auth("some-client", Some("wrong"))
                .form(&[("grant_type", "authorization_code"), ("code", "x")])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..2 {
        assert_eq!(token(a.url("")).await.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = token(b.url("")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests", "{body}");

    // The resource API, per token: three on one node, the fourth refused on the other.
    let api = |base: String| {
        let http = http.clone();
        async move {
            http.get(format!("{base}/api/oauth2/api/current_user"))
                .bearer_auth("mat_not-a-real-token")
                .send()
                .await
                .unwrap()
        }
    };
    for left in [2, 1, 0] {
        let res = api(a.url("")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers()["ratelimit-remaining"],
            left.to_string().as_str()
        );
    }
    let refused = api(b.url("")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");

    for node in [&mut a, &mut b] {
        node.signal("TERM");
        assert!(node.wait().await.success(), "{}", node.stderr());
    }
}
