//! The web pages over plain HTTP, on SQLite and PostgreSQL: what a browser
//! test would be slow to show. Forged forms, session fixation, log-out on
//! the server, hidden and deleted profiles, log-in throttling, password
//! changes, moderation, the patron CSV.

use maecenas_services::creators::NewTierRequest;
use maecenas_services::records::UserRow;
use rstest::rstest;

use crate::support::{self, Backend, TestApp, account, browser, get, hidden, pledge_to_tier};

const PASSWORD: &str = "correct horse battery";

async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let b = browser();
    let answer = support::log_in(&b, &app.url(""), email, PASSWORD).await;
    assert_eq!(answer.status(), 303, "log-in of {email}");
    b
}

/// A published campaign with one tier, and a patron pledging to it.
async fn creator_with_patron(app: &TestApp) -> (UserRow, UserRow) {
    let creator = account(app, "ada@example.com", "ada-studio", true, false).await;
    let campaign = app
        .services
        .create_campaign(creator.id, "USD", true, Some("Music".into()))
        .await
        .unwrap();
    let tier = app
        .services
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
        .unwrap();
    let patron = account(app, "grace@example.com", "grace", false, false).await;
    pledge_to_tier(app, &patron, &tier, "4242424242424242").await;
    (creator, patron)
}

/// Every page behind a log-in sends a visitor without a session to log in
/// and back: a page to itself, a form to the section it belongs to (each a
/// page). Creator and admin pages refuse other accounts with a page in the
/// signed-in layout.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_behind_a_log_in_send_visitors_there_and_back(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anyone = browser();
    for page in [
        "/settings",
        "/settings/apps",
        "/dashboard",
        "/dashboard/patrons?q=ada",
        "/dashboard/campaign",
        "/panel",
        "/admin/users",
        "/developers/clients",
        "/developers/keys",
        "/developers/webhooks",
        "/somebody/pledge?tier=7",
        "/somebody/donate",
    ] {
        let r = anyone.get(app.url(page)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{page}");
        let expected = format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(page.as_bytes()).collect::<String>()
        );
        assert_eq!(r.headers()["location"], expected.as_str(), "{page}");
    }
    for (form, section) in [
        ("/panel/1/cancel", "/panel"),
        ("/settings/profile", "/settings"),
        ("/settings/apps/1/revoke", "/settings"),
        ("/dashboard/tiers", "/dashboard"),
        ("/developers/keys", "/developers"),
        ("/developers/webhooks/1/pause", "/developers"),
        ("/admin/users/1/suspend", "/admin"),
        ("/somebody/pledge/review", "/somebody"),
    ] {
        let r = anyone
            .post(app.url(form))
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{form}");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            location,
            format!("/login?next=%2F{}", &section[1..]),
            "{form}"
        );
    }
    // The sections the admin and developer forms return to are pages.
    for (section, lands) in [
        ("/admin", "/admin/users"),
        ("/developers", "/developers/clients"),
    ] {
        let r = anyone.get(app.url(section)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], lands);
    }

    // A patron on a creator's page, a non-admin on the admin's: refused, in
    // the signed-in layout (the header offers log-out, not log-in).
    let (_, _) = creator_with_patron(&app).await;
    let patron = signed_in(&app, "grace@example.com").await;
    for (page, status, says) in [
        ("/dashboard", 422, "Only creator accounts"),
        ("/dashboard/campaign", 422, "Only creator accounts"),
        ("/admin/users", 403, "not open to your account"),
    ] {
        let (got, body) = get(&patron, app.url(page)).await;
        assert_eq!(got, status, "{page}: {body}");
        assert!(body.contains(says), "{page}: {body}");
        assert!(
            body.contains("Log out") && !body.contains("href=\"/signup\""),
            "{page}"
        );
    }
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_forms_are_refused_and_change_nothing(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, patron) = creator_with_patron(&app).await;
    let b = signed_in(&app, "grace@example.com").await;
    let panel = app.services.patron_panel(patron.id).await.unwrap();
    let campaign = panel.sponsorships[0].campaign.id.get();

    // A page on another site posts with the victim's cookie but no token (or a wrong one).
    for token in [None, Some("0123456789abcdef0123456789abcdef")] {
        let mut form = vec![];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let r = b
            .post(app.url(&format!("/panel/{campaign}/cancel")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("did not come from this site")
        );
    }
    let r = b
        .post(app.url("/settings/profile"))
        .form(&[("username", "hijacked"), ("status", "public")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let panel = app.services.patron_panel(patron.id).await.unwrap();
    assert!(
        panel.sponsorships[0].pledge.cancelled_at.is_none(),
        "the forged cancel did nothing"
    );
    assert_eq!(
        app.services
            .user_by_id(patron.id)
            .await
            .unwrap()
            .username
            .as_deref(),
        Some("grace")
    );

    // The log-in and sign-up forms (no session yet) need their double-submit token too.
    let fresh = browser();
    let r = fresh
        .post(app.url("/login"))
        .form(&[
            ("email", "grace@example.com"),
            ("password", PASSWORD),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = fresh
        .post(app.url("/signup"))
        .form(&[
            ("email", "eve@example.com"),
            ("password", PASSWORD),
            ("username", "eve-x"),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app.services.user_by_email("eve@example.com").await.is_err());

    // With the page's own token the same request goes through.
    let (_, page) = get(&b, app.url("/panel")).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let r = b
        .post(app.url(&format!("/panel/{campaign}/cancel")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_fresh_at_log_in_and_end_on_the_server(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    account(&app, "grace@example.com", "grace", false, false).await;

    // Fixation: a session id planted before log-in is not the one the log-in uses.
    let planted = "mss_planted-by-an-attacker";
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = b.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = page
        .cookies()
        .find(|c| c.name() == "maecenas_csrf")
        .map(|c| c.value().to_owned())
        .unwrap();
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    let logged = b
        .post(app.url("/login"))
        .header(
            "cookie",
            format!("maecenas_session={planted}; maecenas_csrf={csrf_cookie}"),
        )
        .form(&[
            ("email", "grace@example.com"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logged.status(), 303);
    let set = logged
        .cookies()
        .find(|c| c.name() == "maecenas_session")
        .expect("a session cookie");
    assert_ne!(set.value(), planted);
    assert!(set.http_only(), "HttpOnly");
    assert!(set.same_site_lax(), "SameSite=Lax");
    let session = set.value().to_owned();
    let with = |token: &str| {
        b.get(app.url("/settings"))
            .header("cookie", format!("maecenas_session={token}"))
            .send()
    };
    assert_eq!(
        with(planted).await.unwrap().status(),
        303,
        "the planted id is no session"
    );
    assert_eq!(with(&session).await.unwrap().status(), 200);

    // Log-out ends the session on the server: the old cookie no longer works.
    let settings = with(&session).await.unwrap().text().await.unwrap();
    let csrf = hidden(&settings, "csrf").unwrap();
    let out = b
        .post(app.url("/logout"))
        .header("cookie", format!("maecenas_session={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = with(&session).await.unwrap();
    assert_eq!(after.status(), 303);
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_and_deleted_profiles_disappear(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (creator, _) = creator_with_patron(&app).await;
    let anyone = browser();
    assert_eq!(get(&anyone, app.url("/ada-studio")).await.0, 200);
    assert_eq!(
        get(&anyone, app.url("/v1/profiles/ada-studio")).await.0,
        200
    );

    // The creator hides their profile through the settings page.
    let b = signed_in(&app, "ada@example.com").await;
    let (_, page) = get(&b, app.url("/settings")).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let saved = b
        .post(app.url("/settings/profile"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ada-studio"),
            ("first_name", "Ada"),
            ("status", "hidden"),
            ("about", "<script>alert(1)</script>**bold**"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let (status, body) = get(&anyone, app.url("/ada-studio")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("Music"));
    assert_eq!(
        get(&anyone, app.url("/v1/profiles/ada-studio")).await.0,
        404
    );

    // Public again: the about text is Markdown, never script.
    let saved = b
        .post(app.url("/settings/profile"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ada-studio"),
            ("status", "public"),
            (
                "about",
                "<script>alert(1)</script>\n\n**bold** [x](javascript:alert(2))",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let (status, body) = get(&anyone, app.url("/ada-studio")).await;
    assert_eq!(status, 200);
    assert!(body.contains("<strong>bold</strong>"), "{body}");
    assert!(
        !body.contains("<script>alert") && !body.contains("javascript:"),
        "{body}"
    );

    // A bad social link is refused next to its field, and nothing is saved.
    let refused = b
        .post(app.url("/settings/profile"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ada-studio"),
            ("status", "public"),
            ("twitter", "javascript:alert(1)"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("field-error"));
    assert_eq!(
        app.services.user_by_id(creator.id).await.unwrap().twitter,
        None
    );

    // Deleting the account (with the password): gone from pages and APIs, cannot log in.
    let deleted = b
        .post(app.url("/settings/delete"))
        .form(&[("csrf", csrf.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 303);
    assert_eq!(get(&anyone, app.url("/ada-studio")).await.0, 404);
    assert_eq!(
        get(&anyone, app.url("/v1/profiles/ada-studio")).await.0,
        404
    );
    let again = support::log_in(&browser(), &app.url(""), "ada@example.com", PASSWORD).await;
    assert_eq!(again.status(), 401);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_log_ins_are_slowed_down_without_telling_who_exists(
    #[case] backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |c| {
        c.login_limits.per_account_burst = 3;
    })
    .await;
    account(&app, "grace@example.com", "grace", false, false).await;
    for email in ["grace@example.com", "nobody@example.com"] {
        let b = browser();
        let mut statuses = vec![];
        let mut bodies = vec![];
        for _ in 0..4 {
            let r = support::log_in(&b, &app.url(""), email, "wrong password!").await;
            statuses.push(r.status().as_u16());
            if r.status() == 429 {
                let wait: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=10).contains(&wait), "{wait}");
            }
            bodies.push(r.text().await.unwrap());
        }
        // The same answers for an account that exists and one that does not.
        assert_eq!(statuses, [401, 401, 401, 429], "{email}");
        assert!(bodies[0].contains("email or password is incorrect"));
        assert!(bodies[3].contains("Too many log-in attempts"));
    }
    // Even the right password waits once the account's allowance is spent.
    let r = support::log_in(&browser(), &app.url(""), "grace@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_logs_out_every_other_session(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    account(&app, "grace@example.com", "grace", false, false).await;
    let laptop = signed_in(&app, "grace@example.com").await;
    let phone = signed_in(&app, "grace@example.com").await;
    let (_, page) = get(&laptop, app.url("/settings")).await;
    let csrf = hidden(&page, "csrf").unwrap();

    let wrong = laptop
        .post(app.url("/settings/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", "not it at all"),
            ("new_password", "a whole new secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That is not your current password.")
    );
    let short = laptop
        .post(app.url("/settings/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", PASSWORD),
            ("new_password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 422);

    let changed = laptop
        .post(app.url("/settings/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", PASSWORD),
            ("new_password", "a whole new secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(
        get(&laptop, app.url("/settings")).await.0,
        200,
        "this session carries on"
    );
    assert_eq!(
        get(&phone, app.url("/settings")).await.0,
        303,
        "the other one is logged out"
    );
    let old = support::log_in(&browser(), &app.url(""), "grace@example.com", PASSWORD).await;
    assert_eq!(old.status(), 401);
    let new = support::log_in(
        &browser(),
        &app.url(""),
        "grace@example.com",
        "a whole new secret",
    )
    .await;
    assert_eq!(new.status(), 303);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_suspend_delete_and_nuke_and_it_is_enforced(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (creator, patron) = creator_with_patron(&app).await;
    account(&app, "root@example.com", "site-admin", false, true).await;
    let key = app
        .services
        .create_api_key("ada@example.com", "integration")
        .await
        .unwrap()
        .plaintext
        .plaintext;
    // The Sponsus API with the creator's key: is the patron sponsoring them?
    let api = |k: String| {
        reqwest::Client::new()
            .get(app.url(&format!("/v1/payments/{}/sponsoring", patron.id.get())))
            .header("authorization", k)
            .send()
    };
    assert_eq!(api(key.clone()).await.unwrap().status(), 200);

    // Not an admin: no admin pages.
    let grace = signed_in(&app, "grace@example.com").await;
    assert_eq!(get(&grace, app.url("/admin/users")).await.0, 403);

    let admin = signed_in(&app, "root@example.com").await;
    let (status, page) = get(&admin, app.url("/admin/users?q=ada")).await;
    assert_eq!(status, 200);
    assert!(page.contains("ada@example.com") && !page.contains("grace@example.com"));
    let csrf = hidden(&page, "csrf").unwrap();
    let act = |id: i64, action: &str| {
        admin
            .post(app.url(&format!("/admin/users/{id}/{action}")))
            .form(&[("csrf", csrf.clone())])
            .send()
    };

    // Suspended: no log-in, no API key, the page stays.
    let ada = signed_in(&app, "ada@example.com").await;
    assert_eq!(
        act(creator.id.get(), "suspend").await.unwrap().status(),
        303
    );
    assert_eq!(
        get(&ada, app.url("/settings")).await.0,
        303,
        "the session ended"
    );
    assert_eq!(
        support::log_in(&browser(), &app.url(""), "ada@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(api(key.clone()).await.unwrap().status(), 401);
    assert_eq!(
        act(creator.id.get(), "unsuspend").await.unwrap().status(),
        303
    );
    assert_eq!(api(key.clone()).await.unwrap().status(), 200);

    // Deleted: gone from the public page and the API; the patron's pledge is cancelled.
    assert_eq!(act(patron.id.get(), "delete").await.unwrap().status(), 303);
    let panel = app.services.patron_panel(patron.id).await.unwrap();
    assert!(
        panel
            .sponsorships
            .iter()
            .all(|s| s.pledge.cancelled_at.is_some())
    );
    assert_eq!(get(&browser(), app.url("/v1/profiles/grace")).await.0, 404);

    // Nuked: personal details erased for good; the email is free again.
    assert_eq!(act(patron.id.get(), "nuke").await.unwrap().status(), 303);
    let nuked = app.services.user_by_id(patron.id).await.unwrap();
    assert!(nuked.is_nuked && nuked.is_deleted);
    assert_ne!(nuked.email, "grace@example.com");
    assert_eq!(nuked.username, None);
    assert!(nuked.password_hash.is_none());
    assert_eq!(
        act(patron.id.get(), "restore").await.unwrap().status(),
        422,
        "a nuked account stays nuked"
    );
    account(&app, "grace@example.com", "grace-again", false, false).await;
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creator_exports_patrons_as_csv_and_searches_them(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    creator_with_patron(&app).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let r = ada
        .get(app.url("/dashboard/patrons.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("pledge_id,patron_id,username"));
    assert!(
        lines[1].contains(",grace,")
            && lines[1].contains("grace@example.com")
            && lines[1].contains(",Supporter,5.00,USD,active,"),
        "{}",
        lines[1]
    );

    let (_, found) = get(&ada, app.url("/dashboard/patrons?q=GRACE")).await;
    assert!(found.contains("grace@example.com"));
    let (_, none) = get(&ada, app.url("/dashboard/patrons?q=nobody")).await;
    assert!(none.contains("No patrons match"));
    let (status, _) = get(&ada, app.url("/dashboard/patrons?status=bogus")).await;
    assert_eq!(status, 422);
    // A patron has no dashboard.
    let grace = signed_in(&app, "grace@example.com").await;
    assert_eq!(get(&grace, app.url("/dashboard/patrons.csv")).await.0, 422);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiers_are_edited_moved_and_retired_and_pictures_gifts_and_addresses_work(
    #[case] backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let (creator, _) = creator_with_patron(&app).await;
    let campaign = app.services.campaign_of_creator(creator.id).await.unwrap();
    let ships = app
        .services
        .create_tier(
            campaign.id,
            NewTierRequest {
                title: "Vinyl".into(),
                description: "A record a year".into(),
                amount_minor: 2_500,
                patron_limit: Some(2),
                requires_shipping: true,
            },
        )
        .await
        .unwrap();
    let ada = signed_in(&app, "ada@example.com").await;
    let (_, page) = get(&ada, app.url("/dashboard/campaign")).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let mut form = form;
        form.push(("csrf", csrf.clone()));
        ada.post(app.url(&path)).form(&form).send()
    };

    // Move the new tier up, edit its price, retire the old one.
    assert_eq!(
        post(format!("/dashboard/tiers/{}/up", ships.id.get()), vec![])
            .await
            .unwrap()
            .status(),
        303,
        "to the page, so that reloading it moves nothing again"
    );
    let setup = app.services.campaign_setup(creator.id).await.unwrap();
    assert_eq!(setup.tiers[0].id, ships.id, "moved to the top");
    let edited = post(
        format!("/dashboard/tiers/{}", ships.id.get()),
        vec![
            ("title", "Vinyl club".into()),
            ("amount", "30".into()),
            ("patron_limit", "2".into()),
            ("requires_shipping", "1".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(edited.status(), 303);
    let bad = post(
        format!("/dashboard/tiers/{}", ships.id.get()),
        vec![("title", "".into()), ("amount", "30".into())],
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);
    let old = setup.tiers[1].id;
    assert_eq!(
        post(format!("/dashboard/tiers/{}/retire", old.get()), vec![])
            .await
            .unwrap()
            .status(),
        303
    );
    let setup = app.services.campaign_setup(creator.id).await.unwrap();
    assert_eq!(setup.tiers[0].title, "Vinyl club");
    assert_eq!(setup.tiers[0].amount_minor, 3_000);
    assert!(setup.tiers[1].retired_at.is_some());
    let (_, public) = get(&browser(), app.url("/ada-studio")).await;
    assert!(
        public.contains("Vinyl club") && !public.contains(">Supporter<"),
        "a retired tier leaves the page"
    );
    assert!(public.contains("2 of 2 left"));

    // A second patron: the shipping tier wants an address; then a gift.
    account(&app, "linus@example.com", "linus", false, false).await;
    let linus = signed_in(&app, "linus@example.com").await;
    let (_, page) = get(
        &linus,
        app.url(&format!("/ada-studio/pledge?tier={}", ships.id.get())),
    )
    .await;
    let lcsrf = hidden(&page, "csrf").unwrap();
    let tier = ships.id.get().to_string();
    let review = linus
        .post(app.url("/ada-studio/pledge/review"))
        .form(&[
            ("csrf", lcsrf.as_str()),
            ("tier", tier.as_str()),
            ("amount", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(review.status(), 422);
    assert!(
        review
            .text()
            .await
            .unwrap()
            .contains("ust be 1 to 200 characters")
    );
    let paid = linus
        .post(app.url("/ada-studio/pledge"))
        .form(&[
            ("csrf", lcsrf.as_str()),
            ("tier", tier.as_str()),
            ("amount", "30"),
            ("addressee", "Linus"),
            ("line_1", "1 Main St"),
            ("city", "Helsinki"),
            ("postal_code", "00100"),
            ("address_country", "fi"),
            ("country", "FI"),
            ("card_number", "4242424242424242"),
            ("card_exp", "12/34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert!(
        paid.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/panel?thanks=")
    );
    let gift = linus
        .post(app.url("/ada-studio/donate"))
        .form(&[
            ("csrf", lcsrf.as_str()),
            ("amount", "3"),
            ("message", "for the mic"),
            ("card_number", "4242424242424242"),
            ("card_exp", "12/34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(gift.status(), 303);
    let (_, panel) = get(&linus, app.url("/panel")).await;
    assert!(
        panel.contains("One-off gift") && panel.contains("$3.00") && panel.contains("for the mic"),
        "{panel}"
    );
    assert!(panel.contains("Vinyl club"));

    // The creator's export has the address for the tier that ships (and
    // none for a tier that does not).
    let (status, csv) = get(&ada, app.url("/dashboard/patrons.csv")).await;
    assert_eq!(status, 200);
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with("ship_to,ship_line_1,ship_line_2,ship_postal_code,ship_city,ship_state,ship_country,ship_phone"), "{header}");
    let line = csv
        .lines()
        .find(|l| l.contains("linus@example.com"))
        .expect("linus is listed");
    assert!(
        line.contains(",Linus,1 Main St,,00100,Helsinki,,FI,"),
        "{line}"
    );
    let other = csv
        .lines()
        .find(|l| l.contains("Supporter"))
        .unwrap_or_default();
    assert!(!other.contains("Main St"), "{other}");

    // The creator's dashboard draws the month's income.
    let (_, dash) = get(&ada, app.url("/dashboard")).await;
    assert!(dash.contains("<svg") && dash.contains("<rect"), "{dash}");

    // A picture through the settings page: validated, then served.
    let (_, settings) = get(&linus, app.url("/settings")).await;
    let scsrf = hidden(&settings, "csrf").unwrap();
    let upload = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", scsrf.clone())
            .part(
                "avatar",
                reqwest::multipart::Part::bytes(bytes).file_name("me.png"),
            );
        linus
            .post(app.url("/settings/avatar"))
            .multipart(form)
            .send()
    };
    let refused = upload(b"not a picture".to_vec()).await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("field-error"));
    let saved = upload(maecenas_domain::avatar::TINY_PNG.to_vec())
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let linus_row = app
        .services
        .user_by_email("linus@example.com")
        .await
        .unwrap();
    let picture = browser()
        .get(app.url(&format!("/v1/profiles/{}/avatar", linus_row.id.get())))
        .send()
        .await
        .unwrap();
    assert_eq!(picture.status(), 200);
    assert_eq!(picture.headers()["content-type"], "image/png");
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_documentation_is_served_by_the_server(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anyone = browser();
    let (status, index) = get(&anyone, app.url("/docs")).await;
    assert_eq!(status, 200);
    assert!(
        index.contains("Getting started") && index.contains("<pre><code"),
        "{index}"
    );
    assert!(
        index.contains("href=\"/docs/webhooks\""),
        "links between pages stay"
    );
    for (page, expect) in [
        ("oauth", "S256"),
        ("webhooks", "standardwebhooks"),
        ("limits", "RateLimit-Remaining"),
        ("patreon", "page%5Bcount%5D"),
        ("sponsus", "include_donations"),
    ] {
        let (status, body) = get(&anyone, app.url(&format!("/docs/{page}"))).await;
        assert_eq!(status, 200, "{page}");
        assert!(body.contains(expect), "{page}: {expect}");
    }
    assert_eq!(get(&anyone, app.url("/docs/nope")).await.0, 404);
    app.stop().await;
}

/// The dashboard tells the truth about money: a patron whose payment failed
/// and is being retried is listed with the next try's date, and a payout is
/// listed with its period and its two ledger postings.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_dashboard_lists_retried_payments_and_payouts(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (creator, _) = creator_with_patron(&app).await;
    let campaign = app.services.campaign_of_creator(creator.id).await.unwrap();
    // Attached fine, declined when charged.
    support::patron_pledging(
        &app.services,
        campaign.id,
        "hedy@example.com",
        700,
        None,
        "4000000000000341",
    )
    .await;
    let period =
        maecenas_domain::BillingPeriod::containing(maecenas_services::Clock::now(&app.clock));
    app.services.pay_out_all(period).await.unwrap();

    let ada = signed_in(&app, "ada@example.com").await;
    let (status, dash) = get(&ada, app.url("/dashboard")).await;
    assert_eq!(status, 200);
    let retrying = dash
        .split("data-testid=\"retrying\"")
        .nth(1)
        .expect("a table of payments being retried");
    assert!(
        retrying.contains("hedy@example.com") && retrying.contains("$7.00"),
        "{retrying}"
    );
    let payouts = dash
        .split("data-testid=\"payouts\"")
        .nth(1)
        .expect("a table of payouts");
    assert!(
        payouts.contains(&period.to_string())
            && payouts.contains("paid")
            && payouts.contains("your balance: $")
            && payouts.contains("cash with the payment provider: -$"),
        "{payouts}"
    );
    app.stop().await;
}

/// The page's own name is shown at the top of the page and as its feed's
/// title; too long a name is refused next to its field and nothing changes.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_names_the_page_and_it_shows_everywhere_it_is_named(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (creator, _) = creator_with_patron(&app).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let (_, page) = get(&ada, app.url("/dashboard/campaign")).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let save = |name: String| {
        ada.post(app.url("/dashboard/campaign"))
            .form(&[
                ("csrf", csrf.clone()),
                ("page_name", name),
                ("summary", "Music".into()),
                ("billing", "monthly".into()),
            ])
            .send()
    };

    let saved = save("Ada's Synth Lab".into()).await.unwrap();
    assert_eq!(saved.status(), 303);
    let (status, public) = get(&browser(), app.url("/ada-studio")).await;
    assert_eq!(status, 200);
    assert!(
        public.contains(">Ada&#39;s Synth Lab</h1>") || public.contains(">Ada's Synth Lab</h1>"),
        "{public}"
    );
    let (_, feed) = get(&browser(), app.url("/ada-studio/feed.atom")).await;
    assert!(
        feed.contains("Ada's Synth Lab") || feed.contains("Ada&apos;s Synth Lab"),
        "{feed}"
    );

    let refused = save("x".repeat(101)).await.unwrap();
    assert_eq!(refused.status(), 422);
    let refusal = refused.text().await.unwrap();
    assert!(
        refusal.contains("Must be at most 100 characters"),
        "{refusal}"
    );
    let setup = app.services.campaign_setup(creator.id).await.unwrap();
    assert_eq!(setup.campaign.page_name.as_deref(), Some("Ada's Synth Lab"));

    // Emptied, the page goes by the creator's name again.
    save(String::new()).await.unwrap();
    let (_, public) = get(&browser(), app.url("/ada-studio")).await;
    assert!(!public.contains("Synth Lab"), "{public}");
}

/// The home page lists published creators, newest first, a page at a time;
/// a search finds them by name or by what they make; an unpublished page
/// and a hidden profile are not listed.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_find_creators_on_the_home_page(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let visitor = browser();
    let (status, empty) = get(&visitor, app.url("/")).await;
    assert_eq!(status, 200);
    assert!(
        empty.contains("No creator has published a page yet"),
        "{empty}"
    );

    let page_size = maecenas_services::creators::DIRECTORY_PAGE;
    for n in 0..page_size + 2 {
        let creator = account(
            &app,
            &format!("c{n}@example.com"),
            &format!("maker{n:02}"),
            true,
            false,
        )
        .await;
        app.services
            .create_campaign(creator.id, "USD", true, Some("Things".into()))
            .await
            .unwrap();
    }
    let drafting = account(&app, "draft@example.com", "drafting", true, false).await;
    app.services
        .create_campaign(drafting.id, "USD", true, None)
        .await
        .unwrap();
    app.services
        .set_campaign_published(drafting.id, false)
        .await
        .unwrap();
    let demo = app.services.seed_demo().await.unwrap();

    let (_, first) = get(&visitor, app.url("/")).await;
    assert_eq!(first.matches("data-testid=\"creator\"").count(), page_size);
    assert!(first.contains("maker25"), "the newest first: {first}");
    assert!(!first.contains("maker01"));
    assert!(
        !first.contains("drafting"),
        "an unpublished page is not listed"
    );
    let more = href_of_testid(&first, "more-creators");
    let (_, second) = get(&visitor, app.url(&more)).await;
    assert_eq!(
        second.matches("data-testid=\"creator\"").count(),
        4,
        "the rest of the 26 makers and the 2 demo creators, each once"
    );
    assert!(
        second.contains("maker00") && second.contains("The Night Garden"),
        "{second}"
    );
    assert!(!second.contains("more-creators"));

    let (_, found) = get(&visitor, app.url("/?q=GARDEN")).await;
    assert_eq!(
        found.matches("data-testid=\"creator\"").count(),
        1,
        "{found}"
    );
    assert!(found.contains("href=\"/nightgarden\""));
    let (_, by_work) = get(&visitor, app.url("/?q=animated")).await;
    assert!(by_work.contains(&format!("href=\"/{}\"", demo.creator_username)));
    let (_, none) = get(&visitor, app.url("/?q=%25%25zzz")).await;
    assert!(none.contains("No creator matches"), "{none}");
    let (status, odd) = get(&visitor, app.url("/?before=yesterday&q=")).await;
    assert_eq!(
        status, 200,
        "a page address that is not one starts at the top: {odd}"
    );

    app.services
        .update_own_profile(
            demo.creator_id,
            maecenas_services::sponsus::ProfileUpdate {
                status: Some("hidden".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, after_hiding) = get(&visitor, app.url("/?q=animated")).await;
    assert!(
        after_hiding.contains("No creator matches"),
        "a hidden profile is not listed"
    );
}

/// The address of the link marked `data-testid="{testid}"`.
fn href_of_testid(page: &str, testid: &str) -> String {
    let marker = format!("data-testid=\"{testid}\" href=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {testid} link in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

/// "Join <tier>" → log in → "Create an account" keeps where the visitor was
/// going: after sign-up they land on the pledge form they asked for, not on
/// the home page. A `next` that leaves the site is dropped at every step.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pledge_started_before_signing_up_continues_after_it(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    creator_with_patron(&app).await;
    let setup = app.services.creator_page("ada-studio").await.unwrap();
    let wanted = format!("/ada-studio/pledge?tier={}", setup.tiers[0].id.get());
    let visitor = browser();

    let asked = visitor.get(app.url(&wanted)).send().await.unwrap();
    assert_eq!(asked.status(), 303);
    let login = asked.headers()["location"].to_str().unwrap().to_owned();
    assert!(login.starts_with("/login?next="), "{login}");
    let (_, login_page) = get(&visitor, app.url(&login)).await;
    let sign_up = href_of_link(&login_page, "Create an account");
    assert!(sign_up.starts_with("/signup?next="), "{sign_up}");
    let (_, signup_page) = get(&visitor, app.url(&sign_up)).await;
    assert_eq!(
        hidden(&signup_page, "next").as_deref(),
        Some(wanted.as_str())
    );

    let created = visitor
        .post(app.url("/signup"))
        .form(&[
            ("csrf", hidden(&signup_page, "csrf").unwrap()),
            ("next", wanted.clone()),
            ("email", "new@example.com".into()),
            ("password", "a long enough password".into()),
            ("username", "newcomer".into()),
            ("first_name", "Nia".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()["location"], wanted.as_str());
    let (status, pledge_form) = get(&visitor, app.url(&wanted)).await;
    assert_eq!(status, 200, "signed in, on the pledge form: {pledge_form}");
    assert!(pledge_form.contains("Supporter"));

    // Somewhere else is never where a sign-up sends anyone.
    let stranger = browser();
    let (_, page) = get(&stranger, app.url("/signup?next=//evil.example/")).await;
    assert_ne!(hidden(&page, "next").as_deref(), Some("//evil.example/"));
    let created = stranger
        .post(app.url("/signup"))
        .form(&[
            ("csrf", hidden(&page, "csrf").unwrap()),
            ("next", "//evil.example/".into()),
            ("email", "other@example.com".into()),
            ("password", "a long enough password".into()),
            ("username", "other-one".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()["location"], "/");
}

/// The address of the link whose text is `text`, unescaped.
fn href_of_link(page: &str, text: &str) -> String {
    let end = page
        .find(&format!("\">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text:?} in {page}"));
    let start = page[..end].rfind("href=\"").unwrap() + "href=\"".len();
    page[start..end].replace("&amp;", "&")
}

/// A pledge whose payment failed says so where its status is, with the date
/// of the next try and the way to another card, instead of "active"; and
/// cancelling it asks first.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_shows_on_the_pledge_and_cancelling_asks_first(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (creator, _) = creator_with_patron(&app).await;
    let setup = app.services.campaign_setup(creator.id).await.unwrap();
    let patron = account(&app, "lin@example.com", "lin", false, false).await;
    // A card that attaches, then is declined when charged.
    pledge_to_tier(&app, &patron, &setup.tiers[0], "4000000000000341").await;
    let lin = signed_in(&app, "lin@example.com").await;
    let (_, panel) = get(&lin, app.url("/panel")).await;
    let status = panel
        .split("data-testid=\"status\"")
        .nth(1)
        .and_then(|rest| rest.split("</dd>").next())
        .unwrap_or_else(|| panic!("no status in {panel}"));
    assert!(
        status.contains("payment failed") && status.contains("retrying on"),
        "{status}"
    );
    assert!(status.contains("href=\"#card\""), "{status}");
    let payment = panel
        .split("data-testid=\"payment\"")
        .nth(1)
        .and_then(|rest| rest.split("</dd>").next())
        .unwrap_or_default();
    assert!(
        payment.contains(">declined<") && !payment.contains("payment failed"),
        "the reason, not the status again: {payment}"
    );
    assert!(!status.contains(">active<"), "{status}");

    let campaign = setup.campaign.id.get();
    let (code, confirm) = get(&lin, app.url(&format!("/panel/{campaign}/cancel"))).await;
    assert_eq!(code, 200);
    assert!(confirm.contains("Cancel your pledge to"), "{confirm}");
    assert_eq!(
        app.services
            .patron_panel(patron.id)
            .await
            .unwrap()
            .sponsorships[0]
            .pledge
            .cancelled_at,
        None,
        "asking cancels nothing"
    );
    let (code, _) = get(&lin, app.url("/panel/99/cancel")).await;
    assert_eq!(code, 404, "no pledge there: a page that says so");
}

/// A patron sees their own tier on the creator's page, and the way to
/// change it, instead of "Join" buttons that would start a second pledge.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patron_sees_their_tier_on_the_creators_page(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    creator_with_patron(&app).await;
    let grace = signed_in(&app, "grace@example.com").await;
    let (status, page) = get(&grace, app.url("/ada-studio")).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-testid=\"your-tier\""), "{page}");
    assert!(page.contains("data-testid=\"your-pledge\""), "{page}");
    assert!(page.contains("$5.00 per month"), "{page}");
    assert!(
        !page.contains("pledge?tier="),
        "no button starts a second pledge: {page}"
    );

    let (_, stranger_sees) = get(&browser(), app.url("/ada-studio")).await;
    assert!(!stranger_sees.contains("your-tier"));
    assert!(stranger_sees.contains("pledge?tier="));
}

/// A cancelled pledge is resumed from the panel, the same pledge on the same
/// terms; starting a pledge to someone one already sponsors (or cancelled)
/// goes to that pledge before any card is asked for.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_pledge_is_resumed_on_the_same_terms(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (creator, patron) = creator_with_patron(&app).await;
    let setup = app.services.campaign_setup(creator.id).await.unwrap();
    let campaign = setup.campaign.id.get();
    let grace = signed_in(&app, "grace@example.com").await;
    let before = app
        .services
        .patron_panel(patron.id)
        .await
        .unwrap()
        .sponsorships[0]
        .pledge
        .clone();

    let (_, panel) = get(&grace, app.url("/panel")).await;
    let csrf = hidden(&panel, "csrf").unwrap();
    let post = |path: String| {
        grace
            .post(app.url(&path))
            .form(&[("csrf", csrf.clone())])
            .send()
    };
    assert_eq!(
        post(format!("/panel/{campaign}/cancel"))
            .await
            .unwrap()
            .status(),
        303
    );

    // Pledging again goes to the pledge there is, which offers to resume.
    let again = grace
        .get(app.url(&format!(
            "/ada-studio/pledge?tier={}",
            setup.tiers[0].id.get()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    let to = again.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/panel?already={campaign}"));
    let (_, offered) = get(&grace, app.url(&to)).await;
    assert!(offered.contains("resume it below"), "{offered}");
    assert!(offered.contains(&format!("action=\"/panel/{campaign}/resume\"")));

    let resumed = post(format!("/panel/{campaign}/resume")).await.unwrap();
    assert_eq!(resumed.status(), 303);
    assert_eq!(
        resumed.headers()["location"],
        format!("/panel?resumed={campaign}").as_str()
    );
    let after = app
        .services
        .patron_panel(patron.id)
        .await
        .unwrap()
        .sponsorships[0]
        .pledge
        .clone();
    assert_eq!(after.id, before.id, "the same pledge, its history kept");
    assert_eq!(after.cancelled_at, None);
    assert_eq!(after.amount_minor, before.amount_minor);
    let (_, panel) = get(&grace, app.url(&format!("/panel?resumed={campaign}"))).await;
    assert!(panel.contains("active again"), "{panel}");
    assert!(!panel.contains(&format!("action=\"/panel/{campaign}/resume\"")));

    // Resuming what is not cancelled is refused with a page, and changes nothing.
    let twice = post(format!("/panel/{campaign}/resume")).await.unwrap();
    assert_eq!(twice.status(), 400);
    assert!(twice.text().await.unwrap().contains("not cancelled"));
}

/// A patron who opens a creator's page is offered to become one, and does,
/// keeping their pledge; then sets up a campaign.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patron_becomes_a_creator_and_keeps_their_pledge(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, patron) = creator_with_patron(&app).await;
    let grace = signed_in(&app, "grace@example.com").await;
    let (status, page) = get(&grace, app.url("/dashboard")).await;
    assert_eq!(status, 422);
    assert!(page.contains("This page is for creators"), "{page}");
    assert!(page.contains("action=\"/settings/creator\""), "{page}");
    let (_, settings) = get(&grace, app.url("/settings")).await;
    assert!(settings.contains("Become a creator"));

    let became = grace
        .post(app.url("/settings/creator"))
        .form(&[("csrf", hidden(&page, "csrf").unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(became.status(), 303);
    assert_eq!(became.headers()["location"], "/dashboard/campaign");
    let (status, setup) = get(&grace, app.url("/dashboard/campaign")).await;
    assert_eq!(status, 200, "{setup}");
    assert!(
        setup.contains("/dashboard/campaign/new"),
        "the campaign set-up: {setup}"
    );
    let panel = app.services.patron_panel(patron.id).await.unwrap();
    assert_eq!(panel.sponsorships.len(), 1, "the pledge is kept");
    let (_, settings) = get(&grace, app.url("/settings")).await;
    assert!(!settings.contains("action=\"/settings/creator\""));
}

/// "Download my data": one JSON file with the profile, pledges, payments,
/// gifts, addresses, cards (brand and last four only), authorized apps and
/// e-mails; never a secret; not cached; only for its owner.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_downloads_everything_held_about_them(#[case] backend: Backend) {
    use maecenas_services::billing::{CardInput, NewDonationRequest, NewPledgeRequest};
    let app = TestApp::spawn(backend).await;
    let (creator, patron) = creator_with_patron(&app).await;
    // A second creator whose tier ships: the pledge keeps an address.
    let potter = account(&app, "bo@example.com", "bo-pottery", true, false).await;
    let pottery = app
        .services
        .create_campaign(potter.id, "USD", true, Some("Pottery".into()))
        .await
        .unwrap();
    let mugs = app
        .services
        .create_tier(
            pottery.id,
            NewTierRequest {
                title: "A mug a year".into(),
                description: String::new(),
                amount_minor: 1500,
                patron_limit: None,
                requires_shipping: true,
            },
        )
        .await
        .unwrap();
    let card = || CardInput {
        number: support::VISA.into(),
        exp_month: 12,
        exp_year: 2034,
        cvc: "123".into(),
    };
    app.services
        .create_pledge(NewPledgeRequest {
            patron: patron.id,
            campaign: pottery.id,
            amount_minor: 1500,
            tier: Some(mugs.id),
            card: Some(card()),
            patron_pays_fees: false,
            pledge_cap_minor: None,
            vat_country: None,
            shipping: Some(maecenas_services::billing::ShippingAddress {
                addressee: "Grace Hopper".into(),
                line_1: "1 Harbour Road".into(),
                line_2: None,
                postal_code: "02134".into(),
                city: "Boston".into(),
                state: Some("MA".into()),
                country: "US".into(),
            }),
        })
        .await
        .unwrap();
    let ada = app.services.campaign_of_creator(creator.id).await.unwrap();
    app.services
        .donate(NewDonationRequest {
            donor: patron.id,
            campaign: ada.id,
            amount_minor: 300,
            card: Some(card()),
            message: "For the new album".into(),
        })
        .await
        .unwrap();
    let client = app
        .services
        .create_oauth_client(maecenas_services::developers::NewClient {
            owner_email: "ada@example.com".into(),
            name: "Listening Room".into(),
            description: "Plays patron-only tracks".into(),
            icon_url: None,
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
        })
        .await
        .unwrap();
    let tokens = app
        .services
        .mint_tokens(&client.client.client_id, "grace@example.com", "users")
        .await
        .unwrap();

    // Nobody else's: a visitor is sent to log in and back.
    let r = browser()
        .get(app.url("/settings/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=%2Fsettings%2Fdata");

    let grace = signed_in(&app, "grace@example.com").await;
    let (_, settings) = get(&grace, app.url("/settings")).await;
    assert!(settings.contains("Download my data"), "{settings}");
    assert!(
        settings.contains("The record of each payment you made"),
        "{settings}"
    );
    let (_, apps) = get(&grace, app.url("/settings/apps")).await;
    assert!(
        apps.contains("Listening Room") && apps.contains("Last used on"),
        "{apps}"
    );

    let r = grace.get(app.url("/settings/data")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"maecenas-data-")
            && disposition.ends_with(".json\""),
        "{disposition}"
    );
    let text = r.text().await.unwrap();
    for secret in [
        "$argon2",
        tokens.access_token.as_str(),
        tokens.refresh_token.as_str(),
        "gateway",
        "4242424242424242",
    ] {
        assert!(
            !text.contains(secret),
            "the archive holds {secret:?}:\n{text}"
        );
    }
    let archive: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(archive["format"], "maecenas-data-archive/1");
    assert_eq!(archive["profile"]["email"], "grace@example.com");
    assert_eq!(archive["profile"]["username"], "grace");

    let pledges = archive["pledges"].as_array().unwrap();
    let mut seen: Vec<(String, String, String)> = pledges
        .iter()
        .map(|p| {
            (
                p["creator"].as_str().unwrap().to_owned(),
                p["tier"].as_str().unwrap().to_owned(),
                p["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "ada-studio".to_owned(),
                "Supporter".to_owned(),
                "$5.00".to_owned()
            ),
            (
                "bo-pottery".to_owned(),
                "A mug a year".to_owned(),
                "$15.00".to_owned()
            ),
        ]
    );
    let mug_pledge = pledges
        .iter()
        .find(|p| p["creator"] == "bo-pottery")
        .unwrap();
    let addresses = archive["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 1, "{addresses:?}");
    assert_eq!(addresses[0]["city"], "Boston");
    assert_eq!(mug_pledge["address_id"], addresses[0]["id"]);

    let gifts = archive["gifts"].as_array().unwrap();
    assert_eq!(gifts.len(), 1);
    assert_eq!(gifts[0]["creator"], "ada-studio");
    assert_eq!(gifts[0]["message"], "For the new album");
    assert_eq!(gifts[0]["amount"], "$3.00");
    let charges = archive["charges"].as_array().unwrap();
    assert!(
        charges
            .iter()
            .any(|c| c["kind"] == "donation" && c["amount_minor"] == 300),
        "{charges:?}"
    );

    let cards = archive["cards"].as_array().unwrap();
    assert!(!cards.is_empty());
    for card in cards {
        let mut keys: Vec<&str> = card
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "added_at",
                "brand",
                "exp_month",
                "exp_year",
                "id",
                "last4",
                "removed_at"
            ]
        );
        assert_eq!(card["last4"], "4242");
    }
    let apps = archive["authorized_apps"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["app"], "Listening Room");
    assert_eq!(apps[0]["scopes"], serde_json::json!(["users"]));
    assert!(apps[0]["last_token_at"].is_string(), "{apps:?}");
    assert!(apps[0]["revoked_at"].is_null());
    assert!(archive["emails_sent"].is_array());
    assert!(
        archive["kept_after_deletion"]
            .as_str()
            .unwrap()
            .contains("ledger")
    );

    // Another person's archive holds none of it.
    let creator_browser = signed_in(&app, "ada@example.com").await;
    let (status, theirs) = get(&creator_browser, app.url("/settings/data")).await;
    assert_eq!(status, 200);
    assert!(
        !theirs.contains("grace@example.com") && !theirs.contains("Boston"),
        "{theirs}"
    );
}
