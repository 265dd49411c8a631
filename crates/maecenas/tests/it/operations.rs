//! Running Maecenas as an operator does: the real binary, its start-up,
//! its failures, its logs and its shutdown.

use std::time::{Duration, Instant};

use rstest::rstest;
use serde_json::Value;
use sqlx::Connection;

use crate::proxy::{DbProxy, postgres_addr};
use crate::support::{Backend, Server, TestDb, admin, maecenas, run};

#[tokio::test]
async fn serve_with_no_configuration_creates_a_wal_database_under_data() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = maecenas(cwd.path());
    // No flag but the port: 8080 may be taken on a developer's machine.
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut server = Server::start(command, cwd.path().join("stderr.log")).await;
    let db_path = cwd.path().join("data").join("maecenas.db");
    assert!(db_path.exists(), "the database is created under ./data");
    assert!(
        cwd.path().join("data").join("maecenas.db-wal").exists(),
        "WAL mode leaves a -wal file"
    );
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db_path.display()))
        .await
        .unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    conn.close().await.unwrap();
    let health: Value = reqwest::get(server.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    server.signal("TERM");
    let status = server.wait().await;
    assert!(
        status.success(),
        "SIGTERM is a clean stop: {status:?}\n{}",
        server.stderr()
    );
    assert!(server.stderr().contains("stopped"), "{}", server.stderr());
}

#[tokio::test]
async fn an_occupied_port_is_one_clear_line() {
    let cwd = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut command = maecenas(cwd.path());
    command.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let ran = run(command).await;
    ran.assert_clean_failure(&format!("cannot listen on 127.0.0.1:{port}"));
    assert!(
        ran.stderr.to_lowercase().contains("in use"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(&format!(
            "choose another port: --listen 127.0.0.1:{}",
            port + 1
        )),
        "says what to do: {}",
        ran.stderr
    );
    assert!(
        !cwd.path().join("data").exists(),
        "fails before touching the database"
    );
}

#[rstest]
#[case::unknown_scheme("mysql://root@127.0.0.1/test", "must start with sqlite: or postgres:")]
#[case::no_scheme("just-a-path.db", "must start with sqlite: or postgres:")]
#[case::malformed_postgres("postgres://[::1/test", "not a valid PostgreSQL URL")]
#[case::unreachable_postgres(
    "postgres://postgres@127.0.0.1:1/test",
    "cannot connect to PostgreSQL at 127.0.0.1:1/test"
)]
#[case::postgres_not_running("postgres://postgres@127.0.0.1:1/test", "Is PostgreSQL running?")]
#[case::unopenable_sqlite(
    "sqlite:/proc/maecenas/x.db",
    "cannot create the data directory /proc/maecenas"
)]
#[tokio::test]
async fn a_bad_database_url_is_one_clear_line(#[case] url: &str, #[case] expected: &str) {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = maecenas(cwd.path());
    command
        .env("DATABASE_URL", url)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let started = Instant::now();
    let ran = run(command).await;
    ran.assert_clean_failure(expected);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "gives up in bounded time"
    );
}

#[tokio::test]
async fn a_password_in_the_database_url_never_reaches_the_output() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = maecenas(cwd.path());
    command
        .env(
            "DATABASE_URL",
            "postgres://postgres:hunter2@127.0.0.1:1/test",
        )
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let ran = run(command).await;
    ran.assert_clean_failure("cannot connect to PostgreSQL");
    assert!(!ran.stderr.contains("hunter2") && !ran.stdout.contains("hunter2"));
}

#[tokio::test]
async fn a_missing_or_invalid_config_file_is_one_clear_line() {
    let cwd = tempfile::tempdir().unwrap();
    let mut missing = maecenas(cwd.path());
    missing.args(["serve", "--config", "nowhere.toml"]);
    run(missing)
        .await
        .assert_clean_failure("cannot read the configuration file nowhere.toml");

    std::fs::write(cwd.path().join("maecenas.toml"), "listen = 8080\n").unwrap();
    let mut invalid = maecenas(cwd.path());
    invalid.args(["serve"]);
    run(invalid)
        .await
        .assert_clean_failure("maecenas.toml is not valid (line 1)");

    std::fs::create_dir(cwd.path().join("dir.toml")).unwrap();
    let mut directory = maecenas(cwd.path());
    directory.args(["serve", "--config", "dir.toml"]);
    run(directory)
        .await
        .assert_clean_failure("cannot read the configuration file dir.toml");
}

#[tokio::test]
async fn flags_outrank_environment_which_outranks_the_file() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("maecenas.toml"),
        "data_dir = \"from-file\"\nlog_format = \"json\"\nlisten = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let mut command = maecenas(cwd.path());
    command
        .env("MAECENAS_LISTEN", "127.0.0.1:0") // env beats the file's port 1
        .env("MAECENAS_DATA_DIR", "from-env") // ... and the file's data dir
        .args(["serve", "--data-dir", "from-flag"]); // the flag beats the env
    let mut server = Server::start(command, cwd.path().join("stderr.log")).await;
    assert!(cwd.path().join("from-flag/maecenas.db").exists());
    assert!(!cwd.path().join("from-env").exists() && !cwd.path().join("from-file").exists());
    let first_line = server
        .stderr()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        serde_json::from_str::<Value>(&first_line).is_ok(),
        "the file's log_format applies: {first_line}"
    );
    server.signal("TERM");
    assert!(server.wait().await.success());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_database_from_a_newer_binary_is_refused_in_one_line(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let migrated = admin(&db, &["migrate", "--json"]).await;
    assert!(migrated.status.success(), "{}", migrated.stderr);
    let report = migrated.json();
    assert_eq!(report["backend"], backend.name());
    assert!(!report["applied"].as_array().unwrap().is_empty());
    assert_eq!(
        admin(&db, &["migrate", "--json"]).await.json()["applied"],
        serde_json::json!([])
    );

    let checksum = if backend == Backend::Sqlite {
        "X'00'"
    } else {
        "'\\x00'::bytea"
    };
    let insert = format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from the future', TRUE, {checksum}, 0)"
    );
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query(&insert).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(&insert).execute(&mut conn).await.unwrap();
        }
    }
    let mut command = maecenas(db.dir());
    command
        .env("DATABASE_URL", db.url())
        .args(["serve", "--listen", "127.0.0.1:0"]);
    run(command).await.assert_clean_failure(
        "has migration 99991231000000, which this maecenas binary does not know",
    );
}

#[rstest]
#[case::text("text")]
#[case::json("json")]
#[tokio::test]
async fn every_request_log_line_carries_the_request_id(#[case] format: &str) {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = maecenas(cwd.path());
    command.args(["serve", "--listen", "127.0.0.1:0", "--log-format", format]);
    let mut server = Server::start(command, cwd.path().join("stderr.log")).await;
    let res = reqwest::get(server.url("/healthz?token=sekrit"))
        .await
        .unwrap();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    server.signal("TERM");
    assert!(server.wait().await.success());
    let logs = server.stderr();
    assert!(
        !logs.contains("sekrit"),
        "query strings never reach the logs:\n{logs}"
    );
    let line = logs
        .lines()
        .find(|l| l.contains("/healthz"))
        .unwrap_or_else(|| panic!("no request line:\n{logs}"));
    assert!(line.contains(&request_id), "{line}");
    if format == "json" {
        for line in logs.lines() {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        }
        let doc: Value = serde_json::from_str(line).unwrap();
        assert_eq!(doc["span"]["request_id"], request_id.as_str(), "{line}");
        assert_eq!(doc["status"], 200, "{line}");
    }
}

#[tokio::test]
async fn readyz_follows_the_database_while_healthz_follows_the_process() {
    // PostgreSQL only: an embedded SQLite file cannot become unreachable.
    let db = TestDb::new(Backend::Postgres).await;
    let proxy = DbProxy::start(postgres_addr()).await;
    let mut command = maecenas(db.dir());
    command
        .env("DATABASE_URL", proxy.url_through(db.url()))
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let mut server = Server::start(command, db.dir().join("stderr.log")).await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    proxy.down();
    let started = Instant::now();
    let res = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "readiness answers quickly: {:?}",
        started.elapsed()
    );
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    proxy.resume();
    let mut ready = false;
    for _ in 0..50 {
        if http
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the database is back");
    server.signal("TERM");
    assert!(server.wait().await.success());
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_and_refuses_new_ones() {
    let db = TestDb::new(Backend::Postgres).await;
    let proxy = DbProxy::start(postgres_addr()).await;
    let mut command = maecenas(db.dir());
    command
        .env("DATABASE_URL", proxy.url_through(db.url()))
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let mut server = Server::start(command, db.dir().join("stderr.log")).await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The database stalls, so /readyz is in flight when SIGTERM arrives.
    proxy.pause();
    let in_flight = tokio::spawn({
        let url = server.url("/readyz");
        async move { reqwest::get(url).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = reqwest::Client::new()
        .get(server.url("/healthz"))
        .send()
        .await;
    assert!(refused.is_err(), "no new connections once shutting down");
    proxy.resume();

    let answered = in_flight
        .await
        .unwrap()
        .expect("the in-flight request gets its answer");
    assert!(
        answered.status() == 200 || answered.status() == 503,
        "{}",
        answered.status()
    );
    answered.json::<Value>().await.expect("a whole body");
    let status = server.wait().await;
    assert!(status.success(), "{status:?}\n{}", server.stderr());
}

#[tokio::test]
async fn two_servers_and_concurrent_admin_commands_share_one_sqlite_file_safely() {
    let cwd = tempfile::tempdir().unwrap();
    let start = |name: &str| {
        let mut command = maecenas(cwd.path());
        command.args(["serve", "--listen", "127.0.0.1:0"]);
        Server::start(command, cwd.path().join(name))
    };
    let (mut first, mut second) = tokio::join!(start("first.log"), start("second.log"));

    // Writers in other processes while both servers read.
    let mut writers = Vec::new();
    for n in 0..8 {
        let mut command = maecenas(cwd.path());
        command.args([
            "admin",
            "user",
            "create",
            "--email",
            &format!("u{n}@example.org"),
            "--password",
            "12345678",
            "--json",
        ]);
        writers.push(tokio::spawn(run(command)));
    }
    let http = reqwest::Client::new();
    for _ in 0..50 {
        for server in [&first, &second] {
            assert_eq!(
                http.get(server.url("/readyz"))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
    }
    for writer in writers {
        let ran = writer.await.unwrap();
        assert!(ran.status.success(), "{}", ran.stderr);
    }
    // One server dies hard in the middle of things; the file must not care.
    first.signal("KILL");
    first.wait().await;
    second.signal("TERM");
    assert!(second.wait().await.success());

    let mut list = maecenas(cwd.path());
    list.args(["admin", "user", "list", "--json"]);
    assert_eq!(run(list).await.json().as_array().unwrap().len(), 8);
    let db = cwd.path().join("data/maecenas.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn demo_seeds_once_and_prints_working_credentials(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let start = || {
        let mut command = maecenas(db.dir());
        command
            .env("DATABASE_URL", db.url())
            .args(["serve", "--listen", "127.0.0.1:0", "--demo"]);
        Server::start(command, db.dir().join("stderr.log"))
    };
    let mut server = start().await;
    let printed = server.stdout_lines.join("\n");
    assert!(printed.contains("seeded demo data"), "{printed}");
    assert!(
        printed.contains("creator@demo.maecenas.test") && printed.contains("maecenas-demo"),
        "{printed}"
    );
    let api_key = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("mck_"))
        .map(|k| format!("mck_{k}"))
        .expect("an API key");
    let client_secret = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("client_secret: "))
        .expect("a client secret")
        .to_owned();
    the_banner_names_pages_that_exist(&server, &printed).await;
    server.signal("TERM");
    assert!(server.wait().await.success());

    let users = admin(&db, &["admin", "user", "list", "--limit", "5000", "--json"])
        .await
        .json();
    assert_eq!(
        users.as_array().unwrap().len(),
        303,
        "two creators, the operator and 300 patrons"
    );
    let store = db.store().await;
    let mut tx = store.read().await.unwrap();
    use maecenas_store::pledges;
    use maecenas_store::{campaigns, oauth_clients, users as user_rows};
    let creator = user_rows::user_by_email(&mut tx, "creator@demo.maecenas.test")
        .await
        .unwrap()
        .unwrap();
    let campaign = campaigns::campaign_by_creator(&mut tx, creator.id)
        .await
        .unwrap()
        .unwrap();
    assert!(campaign.published_at.is_some());
    // The back-dated history is not mailed: no payouts of past months, no
    // receipts of past months' charges, only this month's.
    let written = maecenas_store::emails::recent_emails(&mut tx, None, 5_000)
        .await
        .unwrap();
    assert!(
        written
            .iter()
            .all(|e| e.kind != maecenas_domain::EmailKind::Payout),
        "no payout of the seeded past is announced"
    );
    let receipts = written
        .iter()
        .filter(|e| e.kind == maecenas_domain::EmailKind::Receipt)
        .count();
    // (The history would be about 3,000; how many of this month's the
    // worker wrote before the server stopped depends on timing.)
    assert!(receipts <= 300, "this month's receipts only: {receipts}");
    assert_eq!(
        campaigns::tiers_of_campaign(&mut tx, campaign.id)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        campaigns::goals_of_campaign(&mut tx, campaign.id)
            .await
            .unwrap()
            .len(),
        2
    );
    let totals = campaigns::campaign_totals(&mut tx, campaign.id)
        .await
        .unwrap();
    assert_eq!(totals.patron_count, 300);
    assert!(totals.pledge_sum_minor > 300 * 300);
    let page = pledges::pledges_of_campaign(&mut tx, campaign.id, None, 1000)
        .await
        .unwrap();
    assert!(
        page.windows(2).all(|w| w[0].created_at <= w[1].created_at),
        "ids sort pledges by date"
    );
    let client = &oauth_clients::list_clients(&mut tx, Some(creator.id))
        .await
        .unwrap()[0];
    assert!(
        maecenas_services::secrets::matches_hash(&client_secret, &client.secret_hash),
        "the printed secret is the stored one"
    );
    tx.commit().await.unwrap();
    let keys = admin(&db, &["admin", "api-key", "list", "--json"])
        .await
        .json();
    assert!(api_key.starts_with(keys[0]["prefix"].as_str().unwrap()));

    // A second start seeds nothing more and prints fresh secrets.
    let mut again = start().await;
    let printed_again = again.stdout_lines.join("\n");
    assert!(printed_again.contains("already present"), "{printed_again}");
    assert!(!printed_again.contains(&api_key) && !printed_again.contains(&client_secret));
    again.signal("TERM");
    let status = again.wait().await;
    assert!(status.success(), "{status:?}\n{}", again.stderr());
    let users = admin(&db, &["admin", "user", "list", "--limit", "5000", "--json"])
        .await
        .json();
    assert_eq!(users.as_array().unwrap().len(), 303);
    assert_eq!(
        admin(&db, &["admin", "api-key", "list", "--json"])
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// Every address the demo banner names answers: a page (200), or a page that
/// asks to log in first (303 to `/login`); the two log-ins it names work and
/// lead to the pages it says they do.
async fn the_banner_names_pages_that_exist(server: &Server, printed: &str) {
    let start_here = printed
        .lines()
        .find_map(|l| l.strip_prefix("Start here: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the banner says where to start");
    assert_eq!(start_here, server.url("/cerulean"), "{printed}");
    let base = server.url("");
    let anyone = crate::support::browser();
    let mut named = 0;
    // Lines that show a request to type (`curl -X POST`, `curl -H`) are not pages.
    for line in printed.lines().filter(|l| !l.contains("curl -")) {
        for url in line
            .split_whitespace()
            .filter(|word| word.starts_with(&base))
        {
            let answer = anyone.get(url).send().await.unwrap();
            let status = answer.status().as_u16();
            let location = answer
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned())
                .unwrap_or_default();
            assert!(
                status == 200 || (status == 303 && location.starts_with("/login")),
                "{url} answers {status} {location}"
            );
            named += 1;
        }
    }
    assert!(named >= 8, "{named} addresses in:\n{printed}");
    let docs = anyone
        .get(server.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        docs.contains("href=\"/openapi.json\""),
        "/docs links the OpenAPI document"
    );

    let password = "maecenas-demo";
    for (email, page, shows) in [
        ("creator@demo.maecenas.test", "/dashboard", "Patrons"),
        ("patron001@demo.maecenas.test", "/panel", "cerulean"),
    ] {
        assert!(
            printed.contains(email) && printed.contains(page),
            "{printed}"
        );
        let browser = crate::support::browser();
        let logged = crate::support::log_in(&browser, &base, email, password).await;
        assert_eq!(logged.status(), 303, "{email} logs in");
        let (status, body) = crate::support::get(&browser, server.url(page)).await;
        assert_eq!(status, 200, "{page} for {email}");
        assert!(
            body.contains(shows),
            "{page} for {email} shows {shows}:\n{body}"
        );
    }
}
