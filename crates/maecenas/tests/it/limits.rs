//! Rate limits, CORS and security headers, on SQLite and PostgreSQL: what a
//! browser client and an over-eager integration see.

use rstest::rstest;
use serde_json::Value;

use crate::support::{Backend, TestApp};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_requests_are_limited_per_token_with_headers_and_the_dialects_errors(
    #[case] backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |c| {
        c.rate_limits.api_per_minute = 5;
        c.rate_limits.token_per_minute = 3;
    })
    .await;
    let demo = app.services.seed_demo().await.unwrap();
    let token = app
        .services
        .mint_tokens(&demo.client_id, &demo.creator_email, "")
        .await
        .unwrap()
        .access_token;
    let http = reqwest::Client::new();
    let call =
        |auth: String, path: &str| http.get(app.url(path)).header("authorization", auth).send();
    let mut remaining = vec![];
    for _ in 0..5 {
        let r = call(format!("Bearer {token}"), "/api/oauth2/api/current_user")
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["ratelimit-limit"], "5");
        remaining.push(
            r.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0]);
    let refused = call(format!("Bearer {token}"), "/api/oauth2/api/current_user")
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["status"], "429", "{body}");
    assert_eq!(body["errors"][0]["code_name"], "TooManyRequests");

    // Another credential has its own allowance: the Sponsus API key, in Sponsus's shape once spent.
    for _ in 0..5 {
        let r = call(
            demo.api_key.clone(),
            &format!("/v1/profiles/{}", demo.creator_username),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    let refused = call(
        demo.api_key.clone(),
        &format!("/v1/profiles/{}", demo.creator_username),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("too many requests")
    );

    // The token endpoint: per client, in OAuth's shape.
    let mut statuses = vec![];
    for _ in 0..4 {
        let r = http
            .post(app.url("/api/oauth2/token"))
            .basic_auth(&demo.client_id, Some("wrong-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "too_many_requests", "{body}");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_may_call_the_resource_apis_but_not_the_token_endpoint(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::new();
    let preflight = |path: &str| {
        http.request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let api = preflight("/api/oauth2/api/current_user").await.unwrap();
    assert!(api.status().is_success(), "{}", api.status());
    assert_eq!(
        api.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        api.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let sponsus = preflight("/v1/oauth/@me/profile").await.unwrap();
    assert_eq!(
        sponsus.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    // An answer (here a 401) carries the header too, so the browser can read the error.
    let unauthorized = http
        .get(app.url("/api/oauth2/api/current_user"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(
        unauthorized.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );

    for path in [
        "/api/oauth2/token",
        "/oauth2/token",
        "/v1/oauth/token",
        "/oauth2/authorize",
    ] {
        let r = preflight(path).await.unwrap();
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{path} answers CORS"
        );
    }

    // Pages: no framing, no sniffing, no referrer, a content security policy.
    let page = http.get(app.url("/login")).send().await.unwrap();
    let h = page.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_requests_get_the_dialects_errors(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let demo = app.services.seed_demo().await.unwrap();
    let token = app
        .services
        .mint_tokens(&demo.client_id, &demo.creator_email, "w:campaigns.webhook")
        .await
        .unwrap()
        .access_token;
    let http = reqwest::Client::new();
    let long = "x".repeat(9 * 1024);

    let r = http
        .get(app.url(&format!("/api/oauth2/api/current_user?include={long}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 414);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["status"], "414", "{body}");
    let r = http
        .get(app.url(&format!("/v1/profiles/{long}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 414);
    assert_eq!(r.json::<Value>().await.unwrap()["success"], false);

    let r = http
        .get(app.url("/v1/profiles/cerulean"))
        .header("x-padding", "y".repeat(33 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(r.json::<Value>().await.unwrap()["success"], false);

    // JSON nested deeper than the parser goes, and a body of the wrong type.
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let r = http
        .post(app.url("/api/oauth2/v2/webhooks"))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.api+json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["status"],
        "400"
    );
    let r = http
        .post(app.url("/api/oauth2/v2/webhooks"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // A body over the limit.
    let r = http
        .post(app.url("/v1/profiles/@me"))
        .header("authorization", &demo.api_key)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<Value>().await.unwrap()["success"], false);
    app.stop().await;
}
