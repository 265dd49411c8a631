//! Post pages over HTTP: what a stranger, a patron and the creator are
//! shown, and the pictures' addresses, on both backends.

use maecenas_services::accounts::NewAccount;
use maecenas_services::billing::{CardInput, NewPledgeRequest};
use maecenas_services::posts::PostInput;
use rstest::rstest;

use crate::support::{Backend, TestApp, browser, get, log_in};

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
    let patron = s
        .create_user(NewAccount {
            email: "reader@example.test".into(),
            password: "correct horse".into(),
            first_name: "Reader".into(),
            ..NewAccount::default()
        })
        .await
        .unwrap();
    s.create_pledge(NewPledgeRequest {
        patron: patron.id,
        campaign: demo.campaign_id,
        amount_minor: 700,
        tier: None,
        card: Some(CardInput {
            number: "4242424242424242".into(),
            exp_month: 12,
            exp_year: 2034,
            cvc: "123".into(),
        }),
        patron_pays_fees: false,
        pledge_cap_minor: None,
        vat_country: None,
        shipping: None,
    })
    .await
    .unwrap();
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
            "correct horse"
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
