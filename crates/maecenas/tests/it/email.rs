//! E-mail, on SQLite and PostgreSQL, over real SMTP to aiosmtpd: the
//! messages are read back from its maildir and parsed as a mail program
//! would. Sign-up's address check, the forgotten password, receipts,
//! declined payments, cancellations, new patrons, new posts, unsubscribing
//! (the page and RFC 8058's one click), the choices in settings, the file
//! transport operators read at /admin/emails, and a mail server that is
//! down (retried, then given up on).

use maecenas_domain::EmailStatus;
use maecenas_services::accounts::NewAccount;
use maecenas_services::clock::Clock;
use maecenas_services::creators::NewTierRequest;
use maecenas_services::posts::PostInput;
use maecenas_services::records::{TierRow, UserRow};
use maecenas_testkit::SmtpSink;
use maecenas_testkit::smtp::Received;
use rstest::rstest;

use crate::support::{self, Backend, TestApp, account, browser, get, hidden, pledge_to_tier};

const PASSWORD: &str = "correct horse battery";

async fn with_smtp(backend: Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(backend, move |config| {
        config.mail.smtp_url = Some(url);
        config.mail.from = "Maecenas <no-reply@maecenas.test>".into();
    })
    .await
}

async fn campaign_with_tier(app: &TestApp, creator: &UserRow) -> TierRow {
    let campaign = app
        .services
        .create_campaign(creator.id, "USD", true, Some("Songs".into()))
        .await
        .unwrap();
    app.services
        .create_tier(
            campaign.id,
            NewTierRequest {
                title: "Supporter".into(),
                description: String::new(),
                amount_minor: 500,
                patron_limit: None,
                requires_shipping: false,
            },
        )
        .await
        .unwrap()
}

/// A link of the message as a path on the server (`/email/verify?…`).
fn path_of(message: &Received, prefix: &str, app: &TestApp) -> String {
    let base = app.url("");
    let link = message
        .link_starting(&format!("{base}{prefix}"))
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{}", message.text));
    assert!(
        message.html.contains(&link.replace('&', "&amp;")),
        "the HTML part carries the same link"
    );
    link[base.len()..].to_owned()
}

/// Signing up sends a message with a link that proves the address and
/// leads on to where the person was going; the link works once.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_sends_a_link_that_proves_the_address(#[case] backend: Backend) {
    let sink = SmtpSink::start();
    let app = with_smtp(backend, &sink).await;
    let visitor = browser();
    let (_, signup) = get(&visitor, app.url("/signup?next=%2Fpanel")).await;
    let created = visitor
        .post(app.url("/signup"))
        .form(&[
            ("csrf", hidden(&signup, "csrf").unwrap()),
            ("next", "/panel".into()),
            ("email", "Nia@Example.com".into()),
            ("password", "a long enough password".into()),
            ("username", "nia".into()),
            ("first_name", "Nia".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let (_, settings) = get(&visitor, app.url("/settings/email")).await;
    assert!(settings.contains(">not verified<"), "{settings}");

    let message = sink.wait_for("nia@example.com", 1).remove(0);
    assert_eq!(message.subject, "Confirm your e-mail address for Maecenas");
    assert_eq!(message.from, "no-reply@maecenas.test");
    assert_eq!(message.to, "nia@example.com");
    assert!(message.text.starts_with("Hello Nia,"), "{}", message.text);
    assert!(
        message.message_id.ends_with("@maecenas.test"),
        "{}",
        message.message_id
    );
    assert_eq!(
        message.header("List-Unsubscribe"),
        None,
        "an account's own check cannot be turned off"
    );
    let link = path_of(&message, "/email/verify?token=", &app);
    assert!(link.ends_with("&next=%2Fpanel"), "{link}");

    let anyone = browser();
    let (status, verified) = get(&anyone, app.url(&link)).await;
    assert_eq!(status, 200, "{verified}");
    assert!(verified.contains("nia@example.com"), "{verified}");
    assert!(verified.contains("href=\"/panel\""), "{verified}");
    let (_, settings) = get(&visitor, app.url("/settings/email")).await;
    assert!(settings.contains(">verified<"), "{settings}");
    let (status, again) = get(&anyone, app.url(&link)).await;
    assert_eq!(status, 404, "used once: {again}");
    assert!(again.contains("does not work any more"));

    // "Send the link again" once verified sends nothing and says why.
    let resent = visitor
        .post(app.url("/settings/email/resend"))
        .form(&[("csrf", hidden(&settings, "csrf").unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resent.headers()["location"],
        "/settings/email?done=verified"
    );
    app.stop().await;
    assert_eq!(sink.wait_for("nia@example.com", 1).len(), 1);
}

/// A forgotten password: the form answers the same for any address, the
/// link works once and for an hour, the new password logs in and the old
/// sessions end.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_from_the_emailed_link(#[case] backend: Backend) {
    let sink = SmtpSink::start();
    let app = with_smtp(backend, &sink).await;
    account(&app, "ada@example.com", "ada", false, false).await;
    let old_session = browser();
    let logged = support::log_in(&old_session, &app.url(""), "ada@example.com", PASSWORD).await;
    assert_eq!(logged.status(), 303);

    let visitor = browser();
    let (_, login) = get(&visitor, app.url("/login")).await;
    assert!(login.contains("href=\"/password/forgot\""));
    let ask = |email: &'static str| {
        let visitor = visitor.clone();
        let app_url = app.url("/password/forgot");
        async move {
            let form = visitor
                .get(&app_url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let answer = visitor
                .post(&app_url)
                .form(&[
                    ("csrf", hidden(&form, "csrf").unwrap()),
                    ("email", email.into()),
                ])
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, for_nobody) = ask("nobody@example.com").await;
    assert_eq!(status, 200);
    let (status, for_ada) = ask("ADA@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(
        for_nobody.replace("nobody@example.com", "X"),
        for_ada.replace("ADA@example.com", "X"),
        "the answer tells nobody which addresses have accounts"
    );
    let forged = visitor
        .post(app.url("/password/forgot"))
        .form(&[("csrf", "forged"), ("email", "ada@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let message = sink.wait_for("ada@example.com", 1).remove(0);
    assert_eq!(message.subject, "Reset your Maecenas password");
    let link = path_of(&message, "/password/reset?token=", &app);
    let (_, second_ask) = ask("ada@example.com").await;
    assert!(second_ask.contains("on its way"));
    let second = sink.wait_for("ada@example.com", 2).remove(1);
    let second_link = path_of(&second, "/password/reset?token=", &app);

    let (status, form) = get(&visitor, app.url(&link)).await;
    assert_eq!(status, 200, "{form}");
    let token = hidden(&form, "token").unwrap();
    let too_short = visitor
        .post(app.url("/password/reset"))
        .form(&[
            ("csrf", hidden(&form, "csrf").unwrap()),
            ("token", token.clone()),
            ("new_password", "short".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(too_short.status(), 422);
    let refused = too_short.text().await.unwrap();
    assert!(refused.contains("at least 8"), "{refused}");

    let (_, form) = get(&visitor, app.url(&link)).await;
    let reset = visitor
        .post(app.url("/password/reset"))
        .form(&[
            ("csrf", hidden(&form, "csrf").unwrap()),
            ("token", token.clone()),
            ("new_password", "a brand new password".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 303);
    assert_eq!(reset.headers()["location"], "/login?done=password_reset");
    let (_, login) = get(&visitor, app.url("/login?done=password_reset")).await;
    assert!(login.contains("Your new password is saved"), "{login}");

    let (status, _) = get(&old_session, app.url("/settings")).await;
    assert_eq!(status, 303, "the session from before the reset is over");
    let old = support::log_in(&browser(), &app.url(""), "ada@example.com", PASSWORD).await;
    assert_eq!(old.status(), 401);
    let new = support::log_in(
        &browser(),
        &app.url(""),
        "ada@example.com",
        "a brand new password",
    )
    .await;
    assert_eq!(new.status(), 303);
    for used in [&link, &second_link] {
        let (status, page) = get(&visitor, app.url(used)).await;
        assert_eq!(status, 404, "{used}: {page}");
        assert!(page.contains("Ask for a new link"));
    }
    let ada = app.services.user_by_email("ada@example.com").await.unwrap();
    assert!(
        ada.email_verified_at.is_some(),
        "the link reached the address: it is proven"
    );

    // A link works for an hour.
    let (_, _) = ask("ada@example.com").await;
    let third = sink.wait_for("ada@example.com", 3).remove(2);
    let third_link = path_of(&third, "/password/reset?token=", &app);
    app.clock.advance(time::Duration::minutes(61));
    let (status, _) = get(&visitor, app.url(&third_link)).await;
    assert_eq!(status, 404);
}

/// Pledging, paying, a declined card, cancelling, publishing and payouts
/// each send what their people expect; an unsubscribe link (the page or a
/// mail program's one click) and the settings turn a kind off, and it stays off.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pledges_life_sends_its_messages_and_each_kind_can_be_turned_off(
    #[case] backend: Backend,
) {
    let sink = SmtpSink::start();
    let app = with_smtp(backend, &sink).await;
    let creator = account(&app, "ada@example.com", "ada", true, false).await;
    let tier = campaign_with_tier(&app, &creator).await;
    let grace = account(&app, "grace@example.com", "grace", false, false).await;
    pledge_to_tier(&app, &grace, &tier, support::VISA).await;

    let receipt = sink.wait_for("grace@example.com", 1).remove(0);
    assert_eq!(receipt.subject, "Receipt: $5.00 to ada");
    for fact in ["$5.00", "Visa ending 4242", "your pledge for"] {
        assert!(receipt.text.contains(fact), "{fact}: {}", receipt.text);
    }
    let new_patron = sink.wait_for("ada@example.com", 1).remove(0);
    assert_eq!(new_patron.subject, "New patron: grace");
    assert!(
        new_patron
            .text
            .contains("grace joined Supporter with $5.00 a month."),
        "{}",
        new_patron.text
    );
    assert!(new_patron.text.contains("/dashboard/patrons"));

    // A card declined when charged: when it is tried again, and where to change it.
    let lin = account(&app, "lin@example.com", "lin", false, false).await;
    pledge_to_tier(&app, &lin, &tier, "4000000000000341").await;
    let declined = sink.wait_for("lin@example.com", 1).remove(0);
    assert_eq!(declined.subject, "Your payment to ada was declined");
    assert!(
        declined.text.contains("We will try again on"),
        "{}",
        declined.text
    );
    assert!(declined.text.contains(&app.url("/panel#card")));

    // The receipt's own unsubscribe link: asked first, then done.
    let unsubscribe = receipt
        .header("List-Unsubscribe")
        .expect("receipts can be turned off")
        .trim_matches(['<', '>'])
        .to_owned();
    assert_eq!(
        receipt.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let page_link = path_of(&receipt, "/email/unsubscribe?token=", &app);
    assert_eq!(app.url(&page_link), unsubscribe);
    let anyone = browser();
    let (status, confirm) = get(&anyone, app.url(&page_link)).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("receipts for your payments"), "{confirm}");
    assert!(
        app.services
            .email_choices(grace.id)
            .await
            .unwrap()
            .iter()
            .all(|c| c.on),
        "opening the link changes nothing"
    );
    let done = anyone
        .post(app.url("/email/unsubscribe"))
        .form(&[("token", hidden(&confirm, "token").unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("No more e-mails about"));

    // A mail program's one click (RFC 8058): a POST to the header's link.
    let declined_link = declined
        .header("List-Unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    let one_click = reqwest::Client::new()
        .post(&declined_link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), 200);
    let lin_choices = app.services.email_choices(lin.id).await.unwrap();
    assert!(
        lin_choices
            .iter()
            .any(|c| c.kind == maecenas_domain::EmailKind::PaymentDeclined && !c.on)
    );

    // Cancelling: the patron is told, and so is the creator.
    app.services
        .cancel_pledge(grace.id, tier.campaign_id)
        .await
        .unwrap();
    let to_grace = sink.wait_for("grace@example.com", 2).remove(1);
    assert_eq!(to_grace.subject, "You cancelled your pledge to ada");
    let to_ada = sink.wait_for("ada@example.com", 3);
    assert!(
        to_ada
            .iter()
            .any(|m| m.subject == "grace cancelled their pledge"),
        "{:?}",
        to_ada.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );

    // Settings: the creator turns new-patron messages off there.
    let ada = browser();
    assert_eq!(
        support::log_in(&ada, &app.url(""), "ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let (_, settings) = get(&ada, app.url("/settings/email")).await;
    assert!(settings.contains("E-mails about new patrons"), "{settings}");
    let saved = ada
        .post(app.url("/settings/email"))
        .form(&[
            ("csrf", hidden(&settings, "csrf").unwrap()),
            ("receipt", "on".into()),
            ("payout", "on".into()),
            ("patron_cancelled", "on".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.headers()["location"], "/settings/email?done=saved");
    let (_, settings) = get(&ada, app.url("/settings/email?done=saved")).await;
    assert!(settings.contains("Your e-mail choices are saved."));
    assert!(!settings.contains("name=\"new_patron\" value=\"on\" checked"));
    assert!(settings.contains("name=\"payout\" value=\"on\" checked"));
    let kim = account(&app, "kim@example.com", "kim", false, false).await;
    pledge_to_tier(&app, &kim, &tier, support::VISA).await;
    sink.wait_for("kim@example.com", 1);

    // A post reaches the active patrons: Grace cancelled; Lin's pledge, being retried, still counts.
    let post = app
        .services
        .create_post(
            creator.id,
            &PostInput {
                title: "New song".into(),
                body: "## Hello\n\nThe **first** verse is up.".into(),
                embed_url: String::new(),
                audience: "patrons".into(),
                min_tier: None,
                is_paid: false,
            },
        )
        .await
        .unwrap();
    app.services
        .publish_post(creator.id, post.id)
        .await
        .unwrap();
    let to_kim = sink.wait_for("kim@example.com", 2).remove(1);
    assert_eq!(to_kim.subject, "ada posted: New song");
    assert!(
        to_kim.text.contains("Hello The first verse is up."),
        "{}",
        to_kim.text
    );
    assert!(
        to_kim
            .text
            .contains(&app.url(&format!("/ada/posts/{}", post.id.get())))
    );

    // Payouts: the creator hears of the money.
    app.services.pay_out(tier.campaign_id, None).await.unwrap();
    let payout = sink
        .wait_for("ada@example.com", 4)
        .into_iter()
        .find(|m| m.subject.starts_with("Payout sent"))
        .expect("a payout message");
    assert!(payout.text.contains("We paid out"), "{}", payout.text);

    // Next month's run: each renewal's receipt is written by the mail
    // worker from the charge, after the run.
    app.clock.advance(time::Duration::days(31));
    let month = maecenas_domain::BillingPeriod::containing(app.clock.now());
    let run = app
        .services
        .run_billing(None, &maecenas_services::billing::Quiet)
        .await
        .unwrap();
    assert!(run.succeeded >= 1, "{run:?}");
    let renewal = sink.wait_for("kim@example.com", 3).remove(2);
    assert_eq!(renewal.subject, "Receipt: $5.00 to ada");
    assert!(
        renewal.text.contains(&format!(
            "your pledge for {} {}",
            month.month(),
            month.year()
        )),
        "{}",
        renewal.text
    );

    // The creator closes the account: each active patron hears that the pledge ended.
    app.services
        .delete_own_account(creator.id, PASSWORD)
        .await
        .unwrap();
    let ended = sink.wait_for("kim@example.com", 4).remove(3);
    assert_eq!(ended.subject, "Your pledge to ada has ended");
    assert!(
        ended.text.contains("you will not be charged for it again"),
        "{}",
        ended.text
    );

    app.stop().await;
    let subjects = |to: &str| {
        sink.received()
            .into_iter()
            .filter(|m| m.envelope_to.contains(to))
            .map(|m| m.subject)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subjects("grace@example.com"),
        ["Receipt: $5.00 to ada", "You cancelled your pledge to ada"],
        "no post for a cancelled pledge"
    );
    assert!(
        !subjects("ada@example.com").contains(&"New patron: kim".to_owned()),
        "turned off in settings"
    );
    assert!(
        subjects("lin@example.com")
            .iter()
            .any(|s| s.contains("posted")),
        "a pledge being retried still reads what its tier unlocks"
    );
}

/// Without a mail server each message is a file, and operators read it at
/// /admin/emails; patrons cannot.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mail_server_operators_read_the_messages(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.services
        .create_user(NewAccount {
            email: "root@example.com".into(),
            password: PASSWORD.into(),
            username: Some("root".into()),
            is_admin: true,
            ..NewAccount::default()
        })
        .await
        .unwrap();
    account(&app, "ada@example.com", "ada", false, false).await;
    app.services
        .request_password_reset("ada@example.com")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let sent = loop {
        let emails = app.services.recent_emails(None, 10).await.unwrap();
        if emails
            .first()
            .is_some_and(|e| e.status == EmailStatus::Sent)
        {
            break emails[0].clone();
        }
        assert!(std::time::Instant::now() < deadline, "not sent: {emails:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let files: Vec<_> = std::fs::read_dir(app.mail_dir()).unwrap().collect();
    assert_eq!(files.len(), 1, "one .eml file");

    let root = browser();
    support::log_in(&root, &app.url(""), "root@example.com", PASSWORD).await;
    let (status, list) = get(&root, app.url("/admin/emails")).await;
    assert_eq!(status, 200);
    assert!(list.contains("Reset your Maecenas password"), "{list}");
    assert!(list.contains("written as a file"), "{list}");
    let (status, one) = get(&root, app.url(&format!("/admin/emails/{}", sent.id))).await;
    assert_eq!(status, 200);
    assert!(one.contains("/password/reset?token=mcr_"), "{one}");
    let (status, _) = get(&root, app.url("/admin/emails/not-a-number")).await;
    assert_eq!(status, 404);

    let ada = browser();
    support::log_in(&ada, &app.url(""), "ada@example.com", PASSWORD).await;
    let (status, _) = get(&ada, app.url("/admin/emails")).await;
    assert_eq!(status, 403);
}

/// A mail server that does not answer: the message waits and is tried
/// again with growing pauses, and is given up on after a day, with the
/// error kept for operators.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_is_down_is_retried_then_given_up_on(#[case] backend: Backend) {
    let closed = maecenas_testkit::localstripe::free_port();
    let app = TestApp::spawn_with(backend, move |config| {
        config.mail.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"));
    })
    .await;
    account(&app, "ada@example.com", "ada", false, false).await;
    app.services
        .request_password_reset("ada@example.com")
        .await
        .unwrap();
    // An attempt counts once recorded: given up, or its retry set after the
    // clock (while it is in flight the row still shows the last attempt's
    // error and its due time, and moving the clock then would race it).
    let wait_for = |attempts: i32| {
        let services = app.services.clone();
        let clock = app.clock.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let e = services.recent_emails(None, 1).await.unwrap().remove(0);
                let recorded = e.status != EmailStatus::Pending || e.next_attempt_at > clock.now();
                if e.attempts >= attempts && e.last_error.is_some() && recorded {
                    return e;
                }
                assert!(std::time::Instant::now() < deadline, "{e:?}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    let first = wait_for(1).await;
    assert_eq!(first.status, EmailStatus::Pending);
    assert!(first.next_attempt_at > app.clock.now(), "{first:?}");
    // Each step passes the longest pause (an hour), so each makes it due.
    let mut attempts = first.attempts;
    let last = loop {
        app.clock.advance(time::Duration::hours(2));
        let e = wait_for(attempts + 1).await;
        if e.status != EmailStatus::Pending {
            break e;
        }
        attempts = e.attempts;
    };
    assert!(attempts >= 10, "tried all day long: {attempts} attempts");
    assert_eq!(last.status, EmailStatus::Failed);
    assert!(
        last.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("onnect"),
        "{last:?}"
    );
    app.stop().await;
}

/// Changing one's address: the password is asked, an address another
/// account has is refused next to its field, the old address is told and
/// the new one gets a verification link; a reset link sent to the old one
/// stops working.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_address_is_verified_anew_and_the_old_one_is_told(#[case] backend: Backend) {
    let sink = SmtpSink::start();
    let app = with_smtp(backend, &sink).await;
    account(&app, "ada@example.com", "ada", false, false).await;
    account(&app, "grace@example.com", "grace", false, false).await;
    app.services
        .request_password_reset("ada@example.com")
        .await
        .unwrap();
    let reset = sink.wait_for("ada@example.com", 1).remove(0);
    let reset_link = path_of(&reset, "/password/reset?token=", &app);

    let ada = browser();
    support::log_in(&ada, &app.url(""), "ada@example.com", PASSWORD).await;
    let (_, page) = get(&ada, app.url("/settings/email")).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let change = |email: &'static str, password: &'static str| {
        let ada = ada.clone();
        let url = app.url("/settings/email/address");
        let csrf = csrf.clone();
        async move {
            let r = ada
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", email),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, page) = change("ada@new.example", "not my password").await;
    assert_eq!(status, 422);
    assert!(page.contains("That is not your password."), "{page}");
    assert!(
        page.contains("value=\"ada@new.example\""),
        "what was typed stays"
    );
    let (status, page) = change("grace@example.com", PASSWORD).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("Another account uses this address."),
        "{page}"
    );
    let (status, page) = change("not an address", PASSWORD).await;
    assert_eq!(status, 422, "{page}");
    let (status, _) = change("Ada@New.example", PASSWORD).await;
    assert_eq!(status, 303);

    let told = sink.wait_for("ada@example.com", 2).remove(1);
    assert_eq!(told.subject, "Your Maecenas e-mail address was changed");
    assert!(told.text.contains("ada@new.example"), "{}", told.text);
    assert_eq!(told.header("List-Unsubscribe"), None);
    let verify = sink.wait_for("ada@new.example", 1).remove(0);
    let link = path_of(&verify, "/email/verify?token=", &app);
    let (_, settings) = get(&ada, app.url("/settings/email?done=changed")).await;
    assert!(settings.contains("ada@new.example") && settings.contains(">not verified<"));
    assert!(settings.contains("Your address is changed."));
    let (status, _) = get(&browser(), app.url(&link)).await;
    assert_eq!(status, 200);
    let (_, settings) = get(&ada, app.url("/settings/email")).await;
    assert!(settings.contains(">verified<"), "{settings}");
    let (status, _) = get(&browser(), app.url(&reset_link)).await;
    assert_eq!(
        status, 404,
        "a reset link sent to the old address no longer works"
    );
    let again = support::log_in(&browser(), &app.url(""), "ada@new.example", PASSWORD).await;
    assert_eq!(again.status(), 303, "the new address logs in");
    app.stop().await;
}
