//! Probes, request ids and the JSON fallback, over HTTP on both backends.

use rstest::rstest;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Backend, TestApp};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn healthz_and_readyz_answer_json(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["content-type"], "application/json");
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({ "status": "ready" })
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn every_response_carries_a_request_id(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.get("/healthz").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let second = app.get("/no/such/path").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    assert!(uuid_like(&first) && uuid_like(&second), "{first} {second}");
    // A caller's own id (a proxy's, say) is kept, so logs can be joined up.
    let mine = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "edge-42")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "edge-42");
    app.stop().await;
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|&c| c == '-').count() == 4
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn unknown_paths_are_404_in_json(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/no/such/path?code=abc").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    // The path is echoed, the query string (which may hold a code) is not.
    assert_eq!(
        body,
        json!({ "error": "not_found", "error_description": "no route for GET /no/such/path" })
    );
    app.stop().await;
}

/// An unknown path answers in the shape of the dialect it falls under.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn unknown_paths_answer_in_their_owners_shape(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let v2 = app.get("/api/oauth2/v2/no-such-thing").await;
    assert_eq!(v2.status(), 404);
    let body: Value = v2.json().await.unwrap();
    assert_eq!(body["errors"][0]["code_name"], "NotFound", "{body}");
    let sponsus = app.get("/v1/no-such-thing").await;
    assert_eq!(sponsus.status(), 404);
    assert_eq!(sponsus.json::<Value>().await.unwrap()["success"], false);
    let page = app.get("/dashboard/no-such-page").await;
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("<h1>Not Found</h1>"));
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_wrong_method_is_405_in_json(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.http.get(app.url("/oauth2/token")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "method_not_allowed"
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn connection_close_is_honoured(#[case] backend: Backend) {
    // The official Patreon JS client (node-fetch) sends `Connection: close`
    // and fails with "socket hang up" if the server keeps the socket.
    let app = TestApp::spawn(backend).await;
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    // read_to_string returns only once the server closes the connection.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        socket.read_to_string(&mut response),
    )
    .await
    .expect("the server closes the connection")
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    app.stop().await;
}
