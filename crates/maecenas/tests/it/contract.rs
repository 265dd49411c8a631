//! The API contract, on SQLite and PostgreSQL: `schemathesis` (PyPI, as it
//! is) generates requests from `/openapi.json` against the real server with
//! valid credentials, at least 2,000 per dialect, and fails on any server
//! error or any answer the document does not allow (status, content type,
//! headers, body schema). Its `positive_data_acceptance` check is left out:
//! it expects every request the schema allows to succeed, which no schema
//! can promise for rules that need the database or the network (a webhook
//! address must resolve to a public host; a campaign must be one's own).

use std::path::PathBuf;
use std::process::Command;

use rstest::rstest;

use crate::support::{Backend, TestApp};

fn schemathesis() -> PathBuf {
    maecenas_testkit::installed_by_scripts_test("target/pyenv/bin/schemathesis")
}

/// Runs one campaign; returns how many requests it generated.
fn campaign(base: &str, authorization: &str, tags: &[&str], examples: u32) -> u64 {
    let mut command = Command::new(schemathesis());
    command
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["-H", &format!("Authorization: {authorization}")])
        .args(["-n", &examples.to_string()])
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--seed", "20261123"])
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "");
    for tag in tags {
        command.args(["--include-tag", tag]);
    }
    let out = command.output().expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures ({:?}):\n{stdout}\n{}",
        tags,
        String::from_utf8_lossy(&out.stderr)
    );
    // "981 generated, 981 passed, 12 skipped"
    stdout
        .lines()
        .find_map(|line| {
            let line = line.trim();
            line.split_once(" generated")
                .and_then(|(n, _)| n.trim().parse::<u64>().ok())
        })
        .unwrap_or_else(|| panic!("no count of generated cases in:\n{stdout}"))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document(
    #[case] backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |c| {
        // The campaign measures the contract, not the rate limits.
        c.rate_limits.api_per_minute = 0;
        c.rate_limits.token_per_minute = 0;
    })
    .await;
    let demo = app.services.seed_demo().await.unwrap();
    let token = app
        .services
        .mint_tokens(
            &demo.client_id,
            &demo.creator_email,
            "users pledges-to-me my-campaign w:campaigns.webhook",
        )
        .await
        .unwrap()
        .access_token;
    let base = app.url("");
    let bearer = format!("Bearer {token}");
    let api_key = demo.api_key.clone();
    let (patreon, sponsus) = tokio::task::spawn_blocking(move || {
        (
            campaign(&base, &bearer, &["patreon", "webhooks", "oauth"], 120),
            campaign(&base, &api_key, &["sponsus"], 500),
        )
    })
    .await
    .unwrap();
    assert!(patreon >= 2_000, "Patreon and OAuth: {patreon} requests");
    assert!(sponsus >= 2_000, "Sponsus: {sponsus} requests");
    app.stop().await;
}
