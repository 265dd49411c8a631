//! Billing as operators run it: the real `maecenas` binary, killed at many
//! points of a run, several runs at once, and `admin pledge create`.

use std::collections::BTreeMap;
use std::time::Duration;

use maecenas_domain::BillingPeriod;
use maecenas_services::accounts::NewAccount;
use maecenas_services::billing::{CardInput, NewPledgeRequest};
use maecenas_services::records::CampaignRow;
use rstest::rstest;
use serde_json::Value;
use time::OffsetDateTime;

use crate::support::{Backend, Ran, TestApp, maecenas, run};

/// A server whose clock sits in last month, with `n` patrons who pledged
/// then: each owes this month's charge, which only a billing run makes.
async fn last_months_patrons(backend: Backend, n: usize) -> (TestApp, CampaignRow) {
    let app = TestApp::spawn_with(backend, |c| c.billing_interval = Duration::ZERO).await;
    let last_month = BillingPeriod::containing(OffsetDateTime::now_utc()).previous();
    app.clock.set(last_month.start() + time::Duration::days(14));
    let creator = app
        .services
        .create_user(NewAccount {
            email: "creator@cli.test".into(),
            password: "correct horse".into(),
            is_creator: true,
            ..NewAccount::default()
        })
        .await
        .unwrap();
    let campaign = app
        .services
        .create_campaign(creator.id, "EUR", true, None)
        .await
        .unwrap();
    for i in 0..n {
        let patron = app
            .services
            .create_user(NewAccount {
                email: format!("p{i}@cli.test"),
                password: "correct horse".into(),
                ..NewAccount::default()
            })
            .await
            .unwrap();
        app.services
            .create_pledge(NewPledgeRequest {
                patron: patron.id,
                campaign: campaign.id,
                amount_minor: 300 + i as i64,
                tier: None,
                card: Some(CardInput {
                    number: "4242424242424242".into(),
                    exp_month: 12,
                    exp_year: 2034,
                    cvc: "123".into(),
                }),
                patron_pays_fees: i % 2 == 0,
                pledge_cap_minor: None,
                vat_country: None,
            })
            .await
            .unwrap();
    }
    (app, campaign)
}

async fn billing(app: &TestApp, env: &[(&str, &str)], args: &[&str]) -> Ran {
    run(billing_command(app, env, args)).await
}

fn billing_command(app: &TestApp, env: &[(&str, &str)], args: &[&str]) -> tokio::process::Command {
    let db = app.db();
    let mut command = maecenas(db.dir());
    command
        .env("DATABASE_URL", db.url())
        .env("MAECENAS_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    command.args(args);
    command
}

/// This month's charges by status.
async fn this_month(app: &TestApp) -> BTreeMap<String, i64> {
    let period = BillingPeriod::containing(OffsetDateTime::now_utc());
    app.services
        .charge_counts(Some(period))
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn assert_every_pledge_charged_once(app: &TestApp, n: i64) {
    let counts = this_month(app).await;
    assert_eq!(
        counts,
        BTreeMap::from([("succeeded".to_owned(), n)]),
        "each of {n} pledges charged"
    );
    let verify = billing(app, &[], &["billing", "verify", "--json"]).await;
    assert!(
        verify.status.success(),
        "{}\n{}",
        verify.stdout,
        verify.stderr
    );
    assert_eq!(verify.json()["ok"], true, "{}", verify.stdout);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn killed_at_any_point_a_run_ends_with_every_pledge_charged_exactly_once(
    #[case] backend: Backend,
) {
    const PLEDGES: usize = 23;
    // Batches of 5: a crash lands before, inside and after the gateway call of
    // first, middle and last batches. The lease is one second so the next
    // run may take over what the killed one held.
    let faults = [
        "billing.after_plan:1",
        "billing.after_plan:3",
        "billing.after_gateway:1",
        "billing.after_gateway:4",
        "billing.after_gateway:5",
        "billing.after_settle:2",
        "billing.after_settle:5",
    ];
    let base = [
        ("MAECENAS_BILLING_BATCH", "5"),
        ("MAECENAS_BILLING_LEASE", "1"),
    ];
    for fault in faults {
        let (app, _) = last_months_patrons(backend, PLEDGES).await;
        let mut env = base.to_vec();
        env.push(("MAECENAS_FAULT_ABORT_AT", fault));
        let crashed = billing(&app, &env, &["billing", "run", "--json"]).await;
        assert!(
            !crashed.status.success(),
            "{fault}: the run was to die: {}",
            crashed.stdout
        );
        assert!(
            crashed.stderr.contains("fault injection"),
            "{fault}: {}",
            crashed.stderr
        );
        // Whatever it left is consistent already (pending charges are allowed).
        let verify = billing(&app, &[], &["billing", "verify", "--json"]).await;
        assert!(verify.status.success(), "{fault}: {}", verify.stdout);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let again = billing(&app, &base, &["billing", "run", "--json"]).await;
        assert!(again.status.success(), "{fault}: {}", again.stderr);
        assert_every_pledge_charged_once(&app, PLEDGES as i64).await;
        app.stop().await;
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn kill_9_mid_run_then_run_again_charges_each_pledge_once(#[case] backend: Backend) {
    const PLEDGES: usize = 120;
    let base = [
        ("MAECENAS_BILLING_BATCH", "7"),
        ("MAECENAS_BILLING_LEASE", "1"),
    ];
    for delay_ms in [40, 120, 250] {
        let (app, _) = last_months_patrons(backend, PLEDGES).await;
        let mut child = billing_command(&app, &base, &["billing", "run", "--json"])
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let _ = child.start_kill(); // SIGKILL
        let _ = child.wait().await;
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let again = billing(&app, &base, &["billing", "run", "--json"]).await;
        assert!(
            again.status.success(),
            "after {delay_ms} ms: {}",
            again.stderr
        );
        assert_every_pledge_charged_once(&app, PLEDGES as i64).await;
        app.stop().await;
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn three_runs_at_once_charge_each_pledge_once(#[case] backend: Backend) {
    const PLEDGES: usize = 150;
    let (app, _) = last_months_patrons(backend, PLEDGES).await;
    let env = [("MAECENAS_BILLING_BATCH", "10")];
    let runs = (0..3).map(|_| billing(&app, &env, &["billing", "run", "--json"]));
    let reports = futures_util::future::join_all(runs).await;
    let mut charged = 0;
    for r in &reports {
        assert!(r.status.success(), "{}", r.stderr);
        charged += r.json()["charged"].as_i64().unwrap();
    }
    assert_eq!(
        charged,
        PLEDGES as i64,
        "the runs split the work: {:?}",
        reports.iter().map(|r| r.stdout.clone()).collect::<Vec<_>>()
    );
    assert_every_pledge_charged_once(&app, PLEDGES as i64).await;
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn admin_pledge_create_charges_through_the_gateway_and_prints_both(#[case] backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.billing_interval = Duration::ZERO).await;
    let admin = |args: Vec<String>| {
        let command = billing_command(
            &app,
            &[],
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        run(command)
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    for args in [
        s(&[
            "admin",
            "user",
            "create",
            "--email",
            "c@x.test",
            "--password",
            "password1",
            "--creator",
            "--json",
        ]),
        s(&[
            "admin",
            "user",
            "create",
            "--email",
            "p@x.test",
            "--password",
            "password1",
            "--json",
        ]),
        s(&[
            "admin",
            "campaign",
            "create",
            "--creator",
            "c@x.test",
            "--json",
        ]),
    ] {
        let ran = admin(args).await;
        assert!(ran.status.success(), "{}", ran.stderr);
    }
    let tier = admin(s(&[
        "admin",
        "tier",
        "create",
        "--creator",
        "c@x.test",
        "--title",
        "Gold",
        "--amount-cents",
        "500",
        "--json",
    ]))
    .await;
    let tier_id = tier.json()["id"].as_str().unwrap().to_owned();

    let refused = admin(s(&[
        "admin",
        "pledge",
        "create",
        "--patron",
        "p@x.test",
        "--creator",
        "c@x.test",
        "--amount-cents",
        "500",
        "--tier",
        &tier_id,
        "--card",
        "4000000000000002",
        "--json",
    ]))
    .await;
    refused.assert_clean_failure("card: Your card was declined.");
    assert_eq!(refused.status.code(), Some(2));

    let ran = admin(s(&[
        "admin",
        "pledge",
        "create",
        "--patron",
        "p@x.test",
        "--creator",
        "c@x.test",
        "--amount-cents",
        "700",
        "--tier",
        &tier_id,
        "--card",
        "4242 4242 4242 4242",
        "--patron-pays-fees",
        "--json",
    ]))
    .await;
    assert!(ran.status.success(), "{}", ran.stderr);
    let doc: Value = ran.json();
    assert_eq!(doc["pledge"]["amount_cents"], 700);
    assert_eq!(doc["pledge"]["tier_id"], tier_id.as_str());
    assert_eq!(doc["pledge"]["status"], "active");
    assert_eq!(doc["card"]["last4"], "4242");
    assert_eq!(doc["card"]["brand"], "visa");
    assert!(
        !ran.stdout.contains("4242424242424242"),
        "the card number is never printed"
    );
    let charge = &doc["charge"];
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(charge["creator_net_cents"], 700);
    assert_eq!(
        charge["amount_cents"].as_i64().unwrap(),
        [
            "gateway_fee_cents",
            "platform_fee_cents",
            "creator_net_cents"
        ]
        .iter()
        .map(|k| charge[*k].as_i64().unwrap())
        .sum::<i64>()
    );
    assert!(
        charge["gateway_ref"]
            .as_str()
            .unwrap()
            .starts_with("pi_test_")
    );

    let again = admin(s(&[
        "admin",
        "pledge",
        "create",
        "--patron",
        "p@x.test",
        "--creator",
        "c@x.test",
        "--amount-cents",
        "700",
        "--json",
    ]))
    .await;
    again.assert_clean_failure("already pledges");
    assert_eq!(again.status.code(), Some(3));

    let bad_period = admin(s(&["billing", "run", "--period", "2026-13"])).await;
    bad_period.assert_clean_failure("is not a billing period");
    let future = admin(s(&["billing", "run", "--period", "2999-01"])).await;
    future.assert_clean_failure("has not started yet");

    let payout = admin(s(&["billing", "payout", "--creator", "c@x.test", "--json"])).await;
    assert!(payout.status.success(), "{}", payout.stderr);
    assert_eq!(payout.json()["paid"][0]["amount_cents"], 700);
    let verify = admin(s(&["billing", "verify"])).await;
    assert!(verify.status.success());
    assert!(verify.stdout.contains("ledger ok"), "{}", verify.stdout);
    app.stop().await;
}
