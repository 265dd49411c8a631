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

use maecenas_testkit::LocalStripe;

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
                shipping: None,
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
    // Batches of one: three commits per charge, so the run lasts long enough to be cut.
    let base = [
        ("MAECENAS_BILLING_BATCH", "1"),
        ("MAECENAS_BILLING_LEASE", "1"),
    ];
    // Killed once a given number of charges went through: early, midway, late.
    for charged_before_kill in [3, 40, 80] {
        let (app, _) = last_months_patrons(backend, PLEDGES).await;
        let mut child = billing_command(&app, &base, &["billing", "run", "--json"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let done = this_month(&app)
                .await
                .get("succeeded")
                .copied()
                .unwrap_or(0);
            if done >= charged_before_kill {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the run made no progress"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.start_kill().unwrap(); // SIGKILL
        let status = child.wait().await.unwrap();
        assert_eq!(
            status.code(),
            None,
            "killed by the signal, not finished: {status:?}"
        );
        let cut = this_month(&app).await;
        eprintln!("killed after {charged_before_kill} charges: {cut:?}");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let again = billing(&app, &base, &["billing", "run", "--json"]).await;
        assert!(
            again.status.success(),
            "after {charged_before_kill} charges: {}",
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

/// The server's settings for the `stripe` gateway against this localstripe.
fn stripe_env(stripe: &LocalStripe) -> Vec<(&'static str, String)> {
    vec![
        ("MAECENAS_GATEWAY", "stripe".into()),
        (
            "MAECENAS_STRIPE_SECRET_KEY",
            "sk_test_maecenas_ci_key".into(),
        ),
        ("MAECENAS_STRIPE_API_BASE", stripe.api_base()),
    ]
}

/// Payment intents carrying `reference` in their metadata, as localstripe holds them.
async fn intents_for(stripe: &LocalStripe, reference: &str) -> usize {
    let mut found = 0;
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/payment_intents?limit=100", stripe.api_base());
        if let Some(id) = &after {
            url.push_str(&format!("&starting_after={id}"));
        }
        let page: Value = reqwest::Client::new()
            .get(url)
            .basic_auth("sk_test_maecenas_ci_key", Some(""))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = page["data"].as_array().unwrap();
        found += data
            .iter()
            .filter(|pi| pi["metadata"]["reference"] == reference)
            .count();
        if page["has_more"] != true || data.is_empty() {
            return found;
        }
        after = data.last().unwrap()["id"].as_str().map(str::to_owned);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_stripe_gateway_charges_retries_and_recovers_against_localstripe(
    #[case] backend: Backend,
) {
    let stripe = LocalStripe::start();
    let app = TestApp::spawn_with(backend, |c| c.billing_interval = Duration::ZERO).await;
    let stripe_env = stripe_env(&stripe);
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env: Vec<(&str, &str)> = stripe_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra);
        env
    };
    let cli = |env: Vec<(&'static str, &str)>, args: &[&str]| {
        let command = billing_command(&app, &env, args);
        run(command)
    };
    for args in [
        &[
            "admin",
            "user",
            "create",
            "--email",
            "c@s.test",
            "--password",
            "password1",
            "--creator",
        ][..],
        &[
            "admin",
            "user",
            "create",
            "--email",
            "p@s.test",
            "--password",
            "password1",
        ],
        &[
            "admin",
            "user",
            "create",
            "--email",
            "q@s.test",
            "--password",
            "password1",
        ],
        &[
            "admin",
            "user",
            "create",
            "--email",
            "r@s.test",
            "--password",
            "password1",
        ],
        &["admin", "campaign", "create", "--creator", "c@s.test"],
    ] {
        let ran = cli(with(&[]), args).await;
        assert!(ran.status.success(), "{args:?}: {}", ran.stderr);
    }
    let pledge = |patron: &'static str, card: &'static str| {
        [
            "admin",
            "pledge",
            "create",
            "--patron",
            patron,
            "--creator",
            "c@s.test",
            "--amount-cents",
            "900",
            "--card",
            card,
            "--json",
        ]
    };
    // A good card: charged through Stripe's PaymentIntents.
    let good = cli(with(&[]), &pledge("p@s.test", "4242424242424242")).await;
    assert!(good.status.success(), "{}", good.stderr);
    let charge = &good.json()["charge"];
    assert_eq!(charge["status"], "succeeded", "{}", good.stdout);
    assert_eq!(charge["gateway"], "stripe");
    assert!(
        charge["gateway_ref"].as_str().unwrap().starts_with("pi_"),
        "{charge}"
    );
    assert_eq!(
        intents_for(
            &stripe,
            &format!("charge:{}", charge["id"].as_str().unwrap())
        )
        .await,
        1
    );

    // Declined at attach: refused, nothing recorded.
    let refused = cli(with(&[]), &pledge("r@s.test", "4000000000000002")).await;
    refused.assert_clean_failure("declined");

    // Attaches, then declined when charged: on the retry schedule, then a new card pays at once.
    let declined = cli(with(&[]), &pledge("q@s.test", "4000000000000341")).await;
    assert!(declined.status.success(), "{}", declined.stderr);
    assert_eq!(
        declined.json()["charge"]["status"],
        "retrying",
        "{}",
        declined.stdout
    );
    let updated = cli(
        with(&[]),
        &[
            "admin",
            "card",
            "update",
            "--patron",
            "q@s.test",
            "--card",
            "4242424242424242",
            "--json",
        ],
    )
    .await;
    assert!(updated.status.success(), "{}", updated.stderr);
    assert_eq!(updated.json()["charged"], 1, "{}", updated.stdout);

    // The process dies right after Stripe charged: localstripe ignores
    // idempotency keys, so only the lookup by metadata prevents a second charge.
    let crashed = cli(
        with(&[
            ("MAECENAS_FAULT_ABORT_AT", "billing.after_gateway:1"),
            ("MAECENAS_BILLING_LEASE", "1"),
        ]),
        &pledge("r@s.test", "4242424242424242"),
    )
    .await;
    assert!(
        !crashed.status.success(),
        "the process was to die: {}",
        crashed.stdout
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let rerun = cli(with(&[]), &["billing", "run", "--json"]).await;
    assert!(rerun.status.success(), "{}", rerun.stderr);
    assert_eq!(rerun.json()["recovered"], 1, "{}", rerun.stdout);
    let counts = this_month(&app).await;
    assert_eq!(
        counts,
        BTreeMap::from([("succeeded".to_owned(), 3)]),
        "p, q and r are paid"
    );
    let store = app.db().store().await;
    let mut tx = store.read().await.unwrap();
    let r = maecenas_store::users::user_by_email(&mut tx, "r@s.test")
        .await
        .unwrap()
        .unwrap();
    let r_charge = maecenas_store::charges::charges_of_patron(&mut tx, r.id, 1)
        .await
        .unwrap()
        .remove(0);
    drop(tx);
    assert_eq!(
        intents_for(&stripe, &format!("charge:{}", r_charge.id)).await,
        1,
        "charged once at Stripe"
    );

    // A refund goes to Stripe's /v1/refunds against the payment intent.
    let refund = cli(
        with(&[]),
        &[
            "billing",
            "refund",
            "--charge",
            &r_charge.id.to_string(),
            "--json",
        ],
    )
    .await;
    assert!(refund.status.success(), "{}", refund.stderr);
    assert_eq!(refund.json()["status"], "refunded", "{}", refund.stdout);
    let verify = cli(with(&[]), &["billing", "verify", "--json"]).await;
    assert!(verify.status.success(), "{}", verify.stdout);
    // localstripe pays out only in EUR: a USD payout is refused, recorded as failed, posts nothing.
    let payout = cli(
        with(&[]),
        &["billing", "payout", "--creator", "c@s.test", "--json"],
    )
    .await;
    assert_eq!(payout.status.code(), Some(1), "{}", payout.stdout);
    assert_eq!(payout.json()["failed"][0]["status"], "failed");
    let verify = cli(with(&[]), &["billing", "verify"]).await;
    assert!(verify.status.success(), "{}", verify.stdout);
    app.stop().await;
}

/// The state letter of a process in /proc (`T` when stopped).
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// PostgreSQL only: SQLite has one writer, so nothing is skipped there; a
/// frozen writer makes the others wait out the busy timeout and fail.
#[tokio::test]
async fn a_frozen_run_cannot_hide_unbilled_pledges() {
    const PLEDGES: usize = 40;
    let (app, _) = last_months_patrons(Backend::Postgres, PLEDGES).await;
    let base = [
        ("MAECENAS_BILLING_BATCH", "10"),
        ("MAECENAS_DB_IDLE_IN_TRANSACTION_TIMEOUT", "8"),
    ];
    // The first run freezes while its second batch's pledges are locked.
    let mut frozen_env = base.to_vec();
    frozen_env.push(("MAECENAS_FAULT_STOP_AT", "billing.planning:2"));
    let mut frozen = billing_command(&app, &frozen_env, &["billing", "run", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = frozen.id().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while process_state(pid) != Some('T') {
        assert!(std::time::Instant::now() < deadline, "the run never froze");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let frozen_at = std::time::Instant::now();

    // A run beside it bills what it can, and says what it could not.
    let beside = billing(&app, &base, &["billing", "run", "--json"]).await;
    assert_eq!(
        beside.status.code(),
        Some(5),
        "{}\n{}",
        beside.stdout,
        beside.stderr
    );
    assert_eq!(beside.json()["unbilled"], 10, "{}", beside.stdout);
    // The frozen run charged its first batch; this one the last two.
    assert_eq!(beside.json()["charged"], 20, "{}", beside.stdout);
    assert!(
        beside.stderr.contains("10 due pledges are still unbilled"),
        "{}",
        beside.stderr
    );
    assert_eq!(this_month(&app).await.get("succeeded"), Some(&30));

    // PostgreSQL ends the frozen session after the idle timeout, which
    // releases its locks: the next run bills the rest.
    let idle = Duration::from_secs(8) + Duration::from_millis(500);
    if let Some(left) = idle.checked_sub(frozen_at.elapsed()) {
        tokio::time::sleep(left).await;
    }
    let after = billing(&app, &base, &["billing", "run", "--json"]).await;
    assert!(after.status.success(), "{}\n{}", after.stdout, after.stderr);
    assert_eq!(after.json()["unbilled"], 0);
    assert_eq!(after.json()["charged"], 10);

    // Woken, the frozen run finds its session gone and charges nothing twice.
    let status = std::process::Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let woke = tokio::time::timeout(Duration::from_secs(60), frozen.wait())
        .await
        .expect("the woken run ends")
        .unwrap();
    assert!(!woke.success(), "its transaction was ended under it");
    assert_every_pledge_charged_once(&app, PLEDGES as i64).await;
    app.stop().await;
}

/// Charges the gateway made but nobody recorded, recovered by two runs side
/// by side whose lookups outlast the lease: the one working keeps its lease,
/// the other does not take the batch over, and nothing is settled twice.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn recovery_runs_side_by_side_with_a_short_lease_settle_each_charge_once(
    #[case] backend: Backend,
) {
    const PLEDGES: usize = 160;
    let (app, _) = last_months_patrons(backend, PLEDGES).await;
    // Every charge is made at the gateway, then its answer is lost.
    let lost = billing(
        &app,
        &[("MAECENAS_TEST_GATEWAY_FAULT", "error-after-charge:1")],
        &["billing", "run", "--json"],
    )
    .await;
    assert!(lost.status.success(), "{}", lost.stderr);
    assert_eq!(lost.json()["unknown"], PLEDGES, "{}", lost.stdout);
    assert_eq!(
        this_month(&app).await,
        BTreeMap::from([("pending".to_owned(), PLEDGES as i64)])
    );
    // Two recovery runs at once; each batch of lookups takes about 2 s, the lease is 1 s.
    let env = [
        ("MAECENAS_BILLING_LEASE", "1"),
        ("MAECENAS_BILLING_BATCH", "80"),
        ("MAECENAS_TEST_GATEWAY_FAULT", "slow-lookups:200"),
    ];
    let runs = (0..2).map(|_| billing(&app, &env, &["billing", "run", "--json"]));
    let reports = futures_util::future::join_all(runs).await;
    let mut recovered = 0;
    for r in &reports {
        assert!(r.status.success(), "{}\n{}", r.stdout, r.stderr);
        recovered += r.json()["recovered"].as_i64().unwrap();
        assert_eq!(r.json()["charged"], r.json()["recovered"], "{}", r.stdout);
    }
    assert_eq!(
        recovered,
        PLEDGES as i64,
        "each charge recovered by one run: {:?}",
        reports.iter().map(|r| r.stdout.clone()).collect::<Vec<_>>()
    );
    assert_every_pledge_charged_once(&app, PLEDGES as i64).await;
    app.stop().await;
}
