//! Operators' metrics: a `serve` process with `--metrics-listen` serves
//! Prometheus text at `/metrics` on that address only, counting every
//! request by the route it matched, and reporting pool use and queue lag.

use rstest::rstest;

use crate::support::{Backend, Server, TestDb, maecenas};

/// The value of the sample `name{labels}` (labels in the exporter's order).
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            (key == name_and_labels).then(|| value.parse().ok())?
        })
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn metrics_count_requests_by_route_on_their_own_listener(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let cwd = tempfile::tempdir().unwrap();
    let mut command = maecenas(cwd.path());
    command.env("DATABASE_URL", db.url()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let mut server = Server::start(command, cwd.path().join("stderr.log")).await;
    let metrics_url = server
        .stdout_lines
        .iter()
        .find_map(|line| line.strip_prefix("maecenas metrics on "))
        .expect("the metrics address is printed before the listening line")
        .to_owned();

    let http = reqwest::Client::new();
    for _ in 0..3 {
        assert_eq!(
            http.get(server.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let profile = http
        .get(server.url("/v1/profiles/123456"))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 404);
    let missing = http.get(server.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    // The public port does not serve them.
    assert_eq!(
        http.get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let scraped = http.get(&metrics_url).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = scraped.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            r#"maecenas_http_requests_total{route="/healthz",method="GET",status="200"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"maecenas_http_requests_total{route="/v1/profiles/{id_or_url}",method="GET",status="404"}"#
        ),
        Some(1.0),
        "labelled by the route pattern, not the path: {text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"maecenas_http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        Some(1.0),
        "a path no route matches: {text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"maecenas_http_requests_total{route="/{username}",method="GET",status="404"}"#
        ),
        Some(1.0),
        "/metrics on the public port is a creator page nobody has: {text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"maecenas_http_request_duration_seconds_count{route="/healthz",method="GET"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(sample(&text, "maecenas_database_up"), Some(1.0), "{text}");
    let pool = match backend {
        Backend::Sqlite => "sqlite_reader",
        Backend::Postgres => "postgres",
    };
    assert!(
        sample(
            &text,
            &format!(r#"maecenas_db_pool_connections{{pool="{pool}",state="open"}}"#)
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "maecenas_webhook_deliveries_pending"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "maecenas_billing_lag_seconds"),
        Some(0.0),
        "{text}"
    );
    for queue in [
        "maecenas_emails_pending",
        "maecenas_email_lag_seconds",
        "maecenas_charges_awaiting_mail",
    ] {
        assert!(
            sample(&text, queue).is_some_and(|n| n >= 0.0),
            "{queue}: {text}"
        );
    }
    server.signal("TERM");
    assert!(server.wait().await.success());
}
