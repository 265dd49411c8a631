//! Post pages over HTTP: what a stranger, a patron and the creator are
//! shown, and the pictures' addresses, on both backends.

use maecenas_services::accounts::NewAccount;
use maecenas_services::posts::PostInput;
use rstest::rstest;

use crate::support::{
    Backend, PATRON_PASSWORD, TestApp, VISA, browser, get, hidden, log_in, patron_pledging,
};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn post_pages_show_each_reader_what_their_pledge_unlocks(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = app.services.clone();
    let demo = s.seed_demo().await.unwrap();
    let creator = demo.creator_id;
    let user = &demo.creator_username;
    patron_pledging(&s, demo.campaign_id, "reader@example.test", 700, None, VISA).await;
    let post = |title: &str, audience: &str| PostInput {
        title: title.into(),
        body: format!("The secret of {title}: *kept here*."),
        audience: audience.into(),
        ..PostInput::default()
    };
    let open = s
        .create_post(creator, &post("Open studio", "public"))
        .await
        .unwrap();
    let locked = s
        .create_post(creator, &post("Sketchbook", "patrons"))
        .await
        .unwrap();
    let draft = s
        .create_post(creator, &post("Unfinished", "public"))
        .await
        .unwrap();
    let picture = s
        .add_post_image(
            creator,
            locked.id,
            maecenas_domain::avatar::TINY_PNG.to_vec(),
        )
        .await
        .unwrap();
    s.publish_post(creator, open.id).await.unwrap();
    s.publish_post(creator, locked.id).await.unwrap();

    let page = |id| app.url(&format!("/{user}/posts/{id}"));
    let image_url = app.url(&format!(
        "/{user}/posts/{}/images/{}",
        locked.id, picture.id
    ));
    let stranger = browser();
    let (status, html) = get(&stranger, page(open.id)).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("The secret of Open studio: <em>kept here</em>"),
        "{html}"
    );
    let (status, html) = get(&stranger, page(locked.id)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Sketchbook") && html.contains("Become a patron to unlock"),
        "{html}"
    );
    assert!(
        !html.contains("The secret of Sketchbook"),
        "the body stays hidden: {html}"
    );
    assert!(
        !html.contains("/images/"),
        "no picture address for a locked post: {html}"
    );
    assert_eq!(get(&stranger, image_url.clone()).await.0, 404);
    for missing in [
        page(draft.id),
        app.url(&format!("/{user}/posts/12x")),
        page(1.into()),
    ] {
        assert_eq!(get(&stranger, missing.clone()).await.0, 404, "{missing}");
    }
    let (status, listing) = get(&stranger, app.url(&format!("/{user}"))).await;
    assert_eq!(status, 200);
    let (first, second) = (
        listing.find("Sketchbook").unwrap(),
        listing.find("Open studio").unwrap(),
    );
    assert!(first < second, "the newest post first");
    assert!(
        !listing.contains("Unfinished"),
        "no draft on the public page"
    );

    let reader = browser();
    assert_eq!(
        log_in(
            &reader,
            &app.url(""),
            "reader@example.test",
            PATRON_PASSWORD
        )
        .await
        .status(),
        303
    );
    let (status, html) = get(&reader, page(locked.id)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("The secret of Sketchbook: <em>kept here</em>"),
        "{html}"
    );
    let served = reader.get(image_url.clone()).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        served.bytes().await.unwrap(),
        maecenas_domain::avatar::TINY_PNG
    );

    let owner = browser();
    assert_eq!(
        log_in(&owner, &app.url(""), &demo.creator_email, demo.password)
            .await
            .status(),
        303
    );
    let (status, html) = get(&owner, page(draft.id)).await;
    assert_eq!(status, 200);
    assert!(html.contains("This is a draft"), "{html}");
    app.stop().await;
}

/// A per-creation creator writes in the web editor: a refused form comes
/// back as typed with its reason, a draft is previewed, a picture added and
/// removed, the publish section says what publishing will charge, and the
/// month close charges exactly the paid post published from the web (not
/// the one deleted before it), each patron within their limit.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_paid_post_written_on_the_web_is_charged_when_its_month_closes(#[case] backend: Backend) {
    use time::macros::datetime;

    let app = TestApp::spawn(backend).await;
    app.clock.set(datetime!(2027-05-03 10:00 UTC));
    let s = app.services.clone();
    let creator = s
        .create_user(NewAccount {
            email: "writer@example.test".into(),
            password: "correct horse".into(),
            username: Some("writer".into()),
            is_creator: true,
            ..NewAccount::default()
        })
        .await
        .unwrap();
    let campaign = s
        .create_campaign(
            creator.id,
            "EUR",
            false,
            Some("Comics, one page at a time".into()),
        )
        .await
        .unwrap();
    let mut patrons = Vec::new();
    for (n, cap) in [(1, None), (2, Some(150))] {
        let email = format!("patron{n}@example.test");
        patrons.push(patron_pledging(&s, campaign.id, &email, 100, cap, VISA).await);
    }

    let writer = browser();
    log_in(
        &writer,
        &app.url(""),
        "writer@example.test",
        "correct horse",
    )
    .await;
    let (status, form) = get(&writer, app.url("/dashboard/posts/new")).await;
    assert_eq!(status, 200, "{form}");
    let csrf = hidden(&form, "csrf").unwrap();
    let send = |path: String, fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf", csrf.clone()));
        writer.post(app.url(&path)).form(&fields).send()
    };

    // No title: the form again, with what was typed and why.
    let refused = send(
        "/dashboard/posts".into(),
        vec![
            ("title", "  ".into()),
            ("body", "Page *one* of the new story.".into()),
            ("audience", "patrons".into()),
            ("is_paid", "on".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("field-error"), "{html}");
    assert!(html.contains("Page *one* of the new story."), "{html}");

    let created = send(
        "/dashboard/posts".into(),
        vec![
            ("title", "Chapter one".into()),
            ("body", "Page *one* of the new story.".into()),
            ("audience", "patrons".into()),
            ("is_paid", "on".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 303);
    let editor = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(editor.ends_with("?done=created"), "{editor}");
    let editor = editor.trim_end_matches("?done=created").to_owned();
    let id = editor.rsplit('/').next().unwrap().to_owned();
    let (status, html) = get(&writer, app.url(&format!("{editor}?done=created"))).await;
    assert_eq!(status, 200);
    assert!(html.contains("Draft saved"), "{html}");
    let preview_text = html
        .split("data-testid=\"charge-preview\">")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .expect("the publish section says what publishing charges");
    assert!(
        preview_text.contains("adds a charge for 2 patrons")
            && preview_text.contains("2,00 €")
            && preview_text.contains("all patrons"),
        "{preview_text}"
    );
    let (status, preview) = get(&writer, app.url(&format!("/writer/posts/{id}"))).await;
    assert_eq!(status, 200);
    assert!(preview.contains("Page <em>one</em>") && preview.contains("This is a draft"));
    assert_eq!(
        get(&browser(), app.url(&format!("/writer/posts/{id}")))
            .await
            .0,
        404,
        "a draft is nobody else's to see"
    );

    // A picture: refused when it is not one, kept when it is, then removed.
    let upload = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "image",
                reqwest::multipart::Part::bytes(bytes).file_name("page.png"),
            );
        writer
            .post(app.url(&format!("{editor}/images")))
            .multipart(form)
            .send()
    };
    let not_a_picture = upload(b"GIF89a? no".to_vec()).await.unwrap();
    assert_eq!(not_a_picture.status(), 422);
    assert!(
        not_a_picture
            .text()
            .await
            .unwrap()
            .contains("role=\"alert\"")
    );
    let added = upload(maecenas_domain::avatar::TINY_PNG.to_vec())
        .await
        .unwrap();
    assert_eq!(added.status(), 303);
    let (_, html) = get(&writer, app.url(&editor)).await;
    let image_path = html
        .split("src=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .find(|src| src.contains("/images/"))
        .expect("the picture is shown in the editor")
        .to_owned();
    let image_id = image_path.rsplit('/').next().unwrap();
    let removed = send(format!("{editor}/images/{image_id}/delete"), vec![])
        .await
        .unwrap();
    assert_eq!(removed.status(), 303);
    assert!(!get(&writer, app.url(&editor)).await.1.contains(&image_path));

    // Publish; edit the title after; a second paid post is deleted again.
    let published = send(format!("{editor}/publish"), vec![]).await.unwrap();
    assert_eq!(published.status(), 303);
    let saved = send(
        editor.clone(),
        vec![
            ("title", "Chapter one (revised)".into()),
            ("body", "Page *one*, inked.".into()),
            ("audience", "patrons".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(saved.status(), 303);
    let post = s
        .post_editor(creator.id, id.parse().unwrap())
        .await
        .unwrap()
        .post;
    assert_eq!(post.title, "Chapter one (revised)");
    assert!(post.is_paid, "a published post stays paid");
    let second = send(
        "/dashboard/posts".into(),
        vec![
            ("title", "Chapter two".into()),
            ("body", "Soon.".into()),
            ("audience", "public".into()),
            ("is_paid", "on".into()),
        ],
    )
    .await
    .unwrap();
    let second = second.headers()["location"].to_str().unwrap().to_owned();
    let second = second.trim_end_matches("?done=created").to_owned();
    assert_eq!(
        send(format!("{second}/publish"), vec![])
            .await
            .unwrap()
            .status(),
        303
    );
    let (status, ask) = get(&writer, app.url(&format!("{second}/delete"))).await;
    assert_eq!(status, 200);
    assert!(
        ask.contains("Delete “Chapter two”?") && ask.contains("cannot be undone"),
        "{ask}"
    );
    assert_eq!(
        send(format!("{second}/delete"), vec![])
            .await
            .unwrap()
            .status(),
        303
    );
    let (_, list) = get(&writer, app.url("/dashboard/posts?done=deleted")).await;
    assert!(list.contains("Post deleted") && list.contains("Chapter one (revised)"));
    assert!(!list.contains("Chapter two"), "{list}");

    // The month closes: one paid post, one euro from each patron.
    app.clock.set(datetime!(2027-06-01 00:00:05 UTC));
    let close = s
        .run_billing(None, &maecenas_services::billing::Quiet)
        .await
        .unwrap();
    assert_eq!(close.succeeded, 2, "{close:?}");
    for patron in &patrons {
        let charges = s.charges_of_patron(patron.id, 10).await.unwrap();
        let amounts: Vec<i64> = charges.iter().map(|c| c.amount_minor).collect();
        assert_eq!(amounts, [100], "{charges:?}");
    }
    app.stop().await;
}

/// What `tests/python/read_feed.py` (feedparser) understood of the feed at `url`.
async fn read_feed(url: &str) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_feed.py");
    let output = tokio::process::Command::new(crate::support::test_python())
        .arg(script)
        .arg(url)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn titles(feed: &serde_json::Value) -> Vec<String> {
    feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_owned())
        .collect()
}

/// The public Atom feed holds a creator's public posts, for anyone; a
/// patron's private address gives a feed reader what their 7.00 pledge
/// unlocks (pictures too, through the same address) and nothing above it;
/// replacing the address ends the old one, and turning it off ends both.
/// Read by feedparser, as a feed reader reads it.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn feed_readers_get_public_posts_and_a_patrons_private_address_until_it_is_revoked(
    #[case] backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let s = app.services.clone();
    let demo = s.seed_demo().await.unwrap();
    let creator = demo.creator_id;
    let user = &demo.creator_username;
    patron_pledging(
        &s,
        demo.campaign_id,
        "listener@example.test",
        700,
        None,
        VISA,
    )
    .await;
    let producer = s
        .campaign_setup(creator)
        .await
        .unwrap()
        .tiers
        .into_iter()
        .find(|t| t.title == "Producer")
        .unwrap();
    let mut ids = Vec::new();
    for (title, audience, tier) in [
        ("Open studio", "public", None),
        ("Sketchbook", "patrons", None),
        ("Producer notes", "tier", Some(producer.id)),
    ] {
        let post = s
            .create_post(
                creator,
                &PostInput {
                    title: title.into(),
                    body: format!("Inside {title}: *the details*."),
                    audience: audience.into(),
                    min_tier: tier,
                    ..PostInput::default()
                },
            )
            .await
            .unwrap();
        let image = s
            .add_post_image(creator, post.id, maecenas_domain::avatar::TINY_PNG.to_vec())
            .await
            .unwrap();
        s.publish_post(creator, post.id).await.unwrap();
        ids.push((post.id, image.id));
    }

    // The public feed: public posts only, with their pictures.
    let public = read_feed(&app.url(&format!("/{user}/feed.atom"))).await;
    assert_eq!(public["status"], 200, "{public}");
    assert_eq!(public["bozo"], false, "well formed: {public}");
    assert_eq!(public["version"], "atom10");
    let listed = titles(&public);
    assert!(listed.contains(&"Open studio".to_owned()), "{public}");
    assert!(!listed.contains(&"Sketchbook".to_owned()), "{public}");
    assert!(!listed.contains(&"Producer notes".to_owned()), "{public}");
    let open = &public["entries"][0];
    assert_eq!(open["title"], "Open studio");
    assert_eq!(
        open["link"],
        app.url(&format!("/{user}/posts/{}", ids[0].0))
    );
    assert!(
        open["content"]
            .as_str()
            .unwrap()
            .contains("<em>the details</em>")
    );
    let picture = open["images"][0].as_str().unwrap();
    assert_eq!(browser().get(picture).send().await.unwrap().status(), 200);

    // The patron makes a private address on their feed page.
    let reader = browser();
    log_in(
        &reader,
        &app.url(""),
        "listener@example.test",
        PATRON_PASSWORD,
    )
    .await;
    let (status, page) = get(&reader, app.url("/feed")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Sketchbook")
            && page.contains("This post is for")
            && page.contains("Change my pledge"),
        "{page}"
    );
    let csrf = hidden(&page, "csrf").unwrap();
    let make = || {
        reader
            .post(app.url("/feed/private"))
            .form(&[("csrf", csrf.as_str())])
            .send()
    };
    let address_on = |html: &str| {
        let start = html
            .find("data-testid=\"private-feed\">")
            .expect("the address")
            + 27;
        html[start..start + html[start..].find('<').unwrap()].to_owned()
    };
    let first = address_on(&make().await.unwrap().text().await.unwrap());
    let second = address_on(&make().await.unwrap().text().await.unwrap());
    assert_ne!(first, second);
    assert_eq!(
        read_feed(&first).await["status"],
        404,
        "replacing the address ends the old one"
    );
    let private = read_feed(&second).await;
    assert_eq!(private["status"], 200, "{private}");
    assert_eq!(private["bozo"], false, "{private}");
    let listed = titles(&private);
    assert!(listed.contains(&"Sketchbook".to_owned()), "{private}");
    assert!(listed.contains(&"Open studio".to_owned()), "{private}");
    assert!(
        !listed.contains(&"Producer notes".to_owned()),
        "above the pledge: {private}"
    );
    let sketchbook = private["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "Sketchbook")
        .unwrap();
    let picture = sketchbook["images"][0].as_str().unwrap().to_owned();
    assert!(picture.contains("/feeds/"), "{picture}");
    let served = browser().get(&picture).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    let (producer_post, producer_image) = ids[2];
    let producer_picture = format!(
        "{}/posts/{producer_post}/images/{producer_image}",
        second.trim_end_matches(".atom")
    );
    assert_eq!(
        browser()
            .get(&producer_picture)
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "a picture above the pledge stays closed"
    );

    // Turned off: the address and its pictures open nothing.
    let off = reader
        .post(app.url("/feed/private/revoke"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 303);
    assert_eq!(read_feed(&second).await["status"], 404);
    assert_eq!(browser().get(&picture).send().await.unwrap().status(), 404);
    app.stop().await;
}
