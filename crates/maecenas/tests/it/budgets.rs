//! The request path's budgets, counted on the real server: how many
//! transactions and statements one request runs. They are read from the
//! server's own JSON logs, grouped by request id: sqlx logs every statement
//! (`sqlx::query` at debug), the store every transaction it begins
//! (`maecenas_store::tx`). A budget met once must stay met: a change that
//! adds a round trip to these requests fails here, on both backends.

use std::time::Duration;

use rstest::rstest;
use serde_json::Value;

use crate::support::{self, Backend, Server, TestDb, admin, maecenas};

/// What one request cost. Counted apart, as not the use case's: the shared
/// rate limit (on PostgreSQL a row of `rate_limits` written in a transaction
/// of its own, the same for every request), and the built-in test gateway,
/// which stands for the card network and keeps its record of operations in
/// the database, in one transaction per call. `COMMIT` is not a statement
/// here: transactions are counted as such, and reads without a snapshot
/// (no BEGIN or COMMIT at all) apart from them.
#[derive(Debug, Default)]
struct Cost {
    transactions: usize,
    reads_without_snapshot: usize,
    statements: Vec<String>,
    rate_limit_statements: usize,
    gateway_statements: usize,
}

async fn cost_of(server: &Server, request_id: &str) -> Cost {
    // The log line of a statement is written before the answer is sent, but
    // stderr is a file the server appends to: give it a moment to land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut cost = Cost::default();
    for line in server.stderr().lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["span"]["request_id"] != request_id {
            continue;
        }
        if event["message"] == "transaction" && event["snapshot"] == false {
            cost.reads_without_snapshot += 1;
        } else if event["message"] == "transaction" {
            cost.transactions += 1;
        } else if let Some(statement) = event["summary"].as_str() {
            let full = event["db.statement"].as_str().unwrap_or_default();
            if full.contains("rate_limits") {
                cost.rate_limit_statements += 1;
            } else if full.contains("test_gateway_operations") {
                cost.gateway_statements += 1;
            } else if !matches!(statement, "COMMIT" | "ROLLBACK" | "BEGIN") {
                cost.statements.push(statement.to_owned());
            }
        }
    }
    cost.transactions -= usize::from(cost.rate_limit_statements > 0);
    cost.transactions -= usize::from(cost.gateway_statements > 0);
    cost
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_user_and_the_pledge_form_stay_within_their_budgets(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut command = maecenas(db.dir());
    command
        .env("DATABASE_URL", db.url())
        .env("MAECENAS_LOG_FORMAT", "json")
        .env(
            "MAECENAS_LOG",
            // The request span (info) carries the request id to every line.
            "warn,maecenas_http=info,sqlx::query=debug,maecenas_store::tx=debug",
        )
        .args(["serve", "--listen", "127.0.0.1:0", "--demo"]);
    let mut server = Server::start(command, db.dir().join("stderr.log")).await;
    let client_id = server
        .stdout_lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("client_id: "))
        .expect("the demo's client")
        .trim()
        .to_owned();
    let tokens = admin(
        &db,
        &[
            "admin",
            "token",
            "create",
            "--client",
            &client_id,
            "--user",
            "creator@demo.maecenas.test",
            "--json",
        ],
    )
    .await
    .json();
    let access = tokens["access_token"].as_str().unwrap();

    // Patreon v1 `current_user` with the campaign: the token, its user and
    // its campaign's id in one query without a snapshot, then the campaign
    // row and its numbers (not kept yet) in one read transaction.
    let http = reqwest::Client::new();
    let answer = http
        .get(server.url("/api/oauth2/api/current_user?include=campaign"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let cost = cost_of(&server, &request_id(&answer)).await;
    println!("current_user: {cost:#?}");

    assert_eq!(cost.reads_without_snapshot, 1, "current_user: {cost:#?}");
    assert_eq!(cost.transactions, 1, "current_user: {cost:#?}");
    assert!(cost.statements.len() <= 6, "current_user: {cost:#?}");

    // Again, as a client polling it does: the campaign's row, totals, tiers
    // and goals are kept for a second, so only the token's query runs, and
    // no BEGIN or COMMIT is waited for.
    let again = http
        .get(server.url("/api/oauth2/api/current_user?include=campaign"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let cost = cost_of(&server, &request_id(&again)).await;
    println!("current_user again: {cost:#?}");
    assert_eq!(
        cost.reads_without_snapshot, 1,
        "current_user again: {cost:#?}"
    );
    assert_eq!(cost.transactions, 0, "current_user again: {cost:#?}");
    assert_eq!(cost.statements.len(), 1, "current_user again: {cost:#?}");

    // The pledge form, paid with a card: at most 4 transactions and 18
    // statements (the gateway's call is outside every transaction). Before
    // e-mail the budget was 16: the creator's "new patron" costs two (who,
    // then the insert that also asks whether the kind is turned off); the
    // patron's receipt costs nothing here (the mail worker writes it from
    // the charge).
    let created = admin(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--email",
            "budget@example.org",
            "--password",
            "budget-password",
        ],
    )
    .await;
    assert!(created.status.success(), "{}", created.stderr);
    let browser = support::browser();
    let logged = support::log_in(
        &browser,
        &server.url(""),
        "budget@example.org",
        "budget-password",
    )
    .await;
    assert_eq!(logged.status(), 303);
    let (_, public) = support::get(&browser, server.url("/cerulean")).await;
    let tier = public
        .split("pledge?tier=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a Join link with a tier")
        .to_owned();
    let (status, form) = support::get(
        &browser,
        server.url(&format!("/cerulean/pledge?tier={tier}")),
    )
    .await;
    assert_eq!(status, 200);
    let csrf = support::hidden(&form, "csrf").unwrap();
    let amount = support::hidden(&form, "amount")
        .or_else(|| {
            form.split("name=\"amount\"")
                .nth(1)
                .and_then(|rest| rest.split("value=\"").nth(1))
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        })
        .expect("the tier's amount in the form");
    let paid = browser
        .post(server.url("/cerulean/pledge"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("tier", tier.as_str()),
            ("amount", amount.as_str()),
            ("country", "DE"),
            ("card_number", "4242424242424242"),
            ("card_exp", "12/34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303, "{:?}", paid.text().await);
    let cost = cost_of(&server, &request_id(&paid)).await;
    println!("pledge form: {cost:#?}");
    assert!(cost.transactions <= 4, "pledge form: {cost:#?}");
    assert!(cost.statements.len() <= 18, "pledge form: {cost:#?}");

    server.signal("TERM");
    assert!(server.wait().await.success());
}
