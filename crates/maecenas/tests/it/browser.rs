//! The web pages end to end in headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver by `fantoccini`), on SQLite and
//! PostgreSQL: a creator signs up and publishes a campaign, a patron pledges
//! with a test card (declined first), changes tier and cancels, the creator
//! sees each step. Screenshots of the main pages go to
//! `target/screenshots/<backend>/` (not committed).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use rstest::rstest;
use tokio::process::{Child, Command};

use crate::support::{Backend, TestApp};

/// A chromedriver of our own on a free port, and a headless Chromium session through it.
struct Browser {
    client: Client,
    driver: Child,
    shots: PathBuf,
    base: String,
}

impl Browser {
    async fn start(base: String, backend: Backend) -> Browser {
        let driver_path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromedriver is missing (Debian's chromium-driver): run the tests with `scripts/test`, which installs it");
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1200,1600", "--user-data-dir=/tmp/maecenas-chromium-".to_owned() + &port.to_string()]
            }),
        );
        let webdriver = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&webdriver)
                .await
            {
                Ok(client) => {
                    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("../../target/screenshots")
                        .join(format!("{backend:?}").to_lowercase());
                    std::fs::create_dir_all(&shots).unwrap();
                    return Browser {
                        client,
                        driver,
                        shots,
                        base,
                    };
                }
                Err(e) => {
                    last_error = e.to_string();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("no WebDriver session with chromedriver: {last_error}");
    }

    async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Clicks something that loads a new page, and waits for that page:
    /// the old document is marked, so a finished load is one without the mark.
    async fn follow(&self, css: &str) {
        self.client
            .execute(
                "document.documentElement.setAttribute('data-stale', '1')",
                vec![],
            )
            .await
            .unwrap();
        self.click(css).await;
        for _ in 0..500 {
            let loaded = self
                .client
                .execute(
                    "return document.readyState === 'complete' && !document.documentElement.hasAttribute('data-stale')",
                    vec![],
                )
                .await
                .unwrap_or(serde_json::Value::Bool(false));
            if loaded == serde_json::Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("clicking {css} loaded no new page");
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn page(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_up(&self, email: &str, username: &str, first_name: &str, creator: bool) {
        self.go("/signup").await;
        self.fill("#email", email).await;
        self.fill("#password", "correct horse battery").await;
        self.fill("#username", username).await;
        self.fill("#first_name", first_name).await;
        if creator {
            self.click("input[name=creator]").await;
        }
        self.follow("form[action='/signup'] button[type=submit]")
            .await;
    }

    async fn log_in(&self, email: &str) {
        self.go("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", "correct horse battery").await;
        self.follow("form[action='/login'] button[type=submit]")
            .await;
    }

    async fn log_out(&self) {
        self.follow("header form[action='/logout'] button").await;
        assert_eq!(self.path().await, "/login");
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_and_a_patron_go_through_the_pages_in_chromium(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = Browser::start(app.url(""), backend).await;

    // The creator signs up and lands on the campaign setup.
    b.sign_up("ada@example.com", "ada-studio", "Ada", true)
        .await;
    assert_eq!(b.path().await, "/dashboard/campaign", "{}", b.page().await);
    b.click("input[name=billing][value=monthly]").await;
    b.follow("form[action='/dashboard/campaign/new'] button[type=submit]")
        .await;
    assert!(b.page().await.contains("Not published"));
    // Before publishing, the creator previews the page nobody else can see yet.
    b.follow("a[data-testid=preview-page]").await;
    assert_eq!(b.path().await, "/ada-studio");
    let preview = b.page().await;
    assert!(preview.contains("not published yet"), "{preview}");
    b.go("/dashboard/campaign").await;

    b.fill("#page_name", "Ada's Synth Lab").await;
    // A cover from the same server, so the test needs no other host.
    b.fill("#image_url", &app.url("/assets/avatars/ada-studio"))
        .await;
    b.fill("#one_liner", "Synthesizer music, every week").await;
    b.fill("#summary", "I make **music** for you.").await;
    b.fill(
        "#thanks_msg",
        "Welcome aboard! Your first track is in your feed.",
    )
    .await;
    b.follow("form[action='/dashboard/campaign'] button[type=submit]")
        .await;
    assert!(b.text("p.notice").await.contains("Page saved"));

    b.fill("#tier_title", "Supporter").await;
    b.fill("#tier_amount", "5").await;
    b.follow("form[action='/dashboard/tiers'] button[type=submit]")
        .await;
    b.fill("#tier_title", "Champion").await;
    b.fill("#tier_amount", "20").await;
    b.fill("#tier_limit", "10").await;
    b.follow("form[action='/dashboard/tiers'] button[type=submit]")
        .await;
    // A bad amount is refused next to its field, nothing is added.
    b.fill("#tier_title", "Broken").await;
    b.fill("#tier_amount", "five").await;
    b.follow("form[action='/dashboard/tiers'] button[type=submit]")
        .await;
    assert!(
        b.text(".field-error")
            .await
            .contains("as a number, like 5.00")
    );
    assert!(!b.page().await.contains("<b>Broken</b>"));

    b.fill("#goal_title", "New microphone").await;
    b.fill("#goal_amount", "100").await;
    b.follow("form[action='/dashboard/goals'] button[type=submit]")
        .await;
    assert_eq!(b.path().await, "/dashboard/campaign?done=goal_added");
    b.follow("a[href^='/dashboard/goals/']").await;
    b.fill("#goal_amount", "120").await;
    b.follow("form[action^='/dashboard/goals/'] button[type=submit]")
        .await;
    assert!(b.text("p.notice").await.contains("Goal saved"));
    assert!(b.text("#goals").await.contains("$120.00"));
    b.follow("form[action='/dashboard/campaign/publish'] button")
        .await;
    assert!(b.text("p.notice").await.contains("Published"));
    b.shot("01-campaign-setup").await;

    // An app the creator authorized, and where they can take that back.
    let app_client = app
        .services
        .create_oauth_client(maecenas_services::developers::NewClient {
            owner_email: "ada@example.com".into(),
            name: "Discord roles".into(),
            redirect_uris: vec!["https://roles.example/cb".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    app.services
        .mint_tokens(
            &app_client.client.client_id,
            "ada@example.com",
            "users my-campaign w:campaigns.webhook",
        )
        .await
        .unwrap();
    b.go("/settings/apps").await;
    assert!(b.page().await.contains("Discord roles"));
    b.shot("01b-authorized-apps").await;
    b.follow("form[action$='/revoke'] button").await;
    assert!(b.page().await.contains("You have not authorized any app"));
    // Where a person finds their data archive, and what deletion keeps.
    b.go("/settings").await;
    b.client
        .execute(
            "document.querySelector(\"a[href='/settings/data']\").scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        b.text("a[href='/settings/data']")
            .await
            .contains("Download my data")
    );
    b.shot("01c-settings-your-data").await;
    b.log_out().await;

    // The public page, as anyone sees it.
    b.go("/ada-studio").await;
    let public = b.page().await;
    assert!(
        public.contains("Supporter") && public.contains("Champion"),
        "{public}"
    );
    assert!(public.contains("<strong>music</strong>"));
    assert!(public.contains("10 of 10 left"));
    assert!(public.contains("New microphone"));
    // The page goes by its own name; the creator's stays on "About".
    assert_eq!(b.text("h1").await, "Ada's Synth Lab");
    let cover_width = b
        .client
        .execute(
            "const cover = document.querySelector('img[data-testid=cover]'); \
             return cover.complete ? cover.naturalWidth : -1",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        cover_width.as_i64().is_some_and(|w| w > 0),
        "the cover image is shown: {cover_width}"
    );
    b.shot("02-public-page").await;

    // A patron signs up and pledges to the first tier, covering the fees.
    b.sign_up("grace@example.com", "grace", "Grace", false)
        .await;
    b.go("/ada-studio").await;
    b.follow("a.button[href*='pledge?tier=']").await;
    assert!(b.path().await.starts_with("/ada-studio/pledge?tier="));
    assert_eq!(
        b.client
            .find(Locator::Css("#amount"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("5.00")
    );
    b.click("input[name=cover_fees]").await;
    b.fill("#country", "DE").await;
    b.follow("form[action='/ada-studio/pledge/review'] button[type=submit]")
        .await;
    // The exact total, fees included, before any card is asked for.
    let quote = app.services.fee_quote(500, true);
    let total = b.text("[data-testid=total]").await;
    let expected_total = format!(
        "${}.{:02}",
        quote.gross_minor / 100,
        quote.gross_minor % 100
    );
    assert!(
        total.contains(&expected_total),
        "{total} vs {expected_total}"
    );
    b.shot("03-pledge-review").await;

    // A declined card: a clear message, no pledge.
    b.fill("#card_number", "4000 0000 0000 0002").await;
    b.fill("#card_exp", "12/34").await;
    b.fill("#card_cvc", "123").await;
    b.follow("form[action='/ada-studio/pledge'] button[type=submit]")
        .await;
    let declined = b.text(".field-error").await;
    assert!(declined.contains("declined"), "{declined}");
    b.shot("04-card-declined").await;
    b.go("/panel").await;
    assert!(b.page().await.contains("You do not sponsor anyone yet"));

    // A good card: the pledge is made and paid.
    b.go("/ada-studio").await;
    b.follow("a.button[href*='pledge?tier=']").await;
    b.click("input[name=cover_fees]").await;
    b.follow("form[action='/ada-studio/pledge/review'] button[type=submit]")
        .await;
    b.fill("#card_number", "4242 4242 4242 4242").await;
    b.fill("#card_exp", "12/34").await;
    b.fill("#card_cvc", "123").await;
    b.follow("form[action='/ada-studio/pledge'] button[type=submit]")
        .await;
    let landed = b.path().await;
    assert!(
        landed.starts_with("/panel?thanks="),
        "{landed}: {}",
        b.text("main").await
    );
    assert!(
        b.text("p.notice")
            .await
            .contains("You now sponsor Ada's Synth Lab")
    );
    assert_eq!(b.text("[data-testid=tier]").await, "Supporter");
    assert!(b.text("[data-testid=status]").await.contains("active"));
    assert!(b.text("[data-testid=payment]").await.contains("paid"));
    assert!(
        b.text("[data-testid=thanks]")
            .await
            .contains("Welcome aboard! Your first track is in your feed."),
        "a new patron reads the creator's thank-you message"
    );
    b.shot("05-patron-panel").await;

    // Change tier: to Champion at 20.
    b.click("details summary").await;
    let select = b
        .client
        .find(Locator::Css("select[name=tier]"))
        .await
        .unwrap();
    select.select_by_label("Champion — $20.00").await.unwrap();
    b.fill("input[name=amount]", "20").await;
    b.follow("form[action$='/change'] button[type=submit]")
        .await;
    assert!(b.text("p.notice").await.contains("changed"));
    assert_eq!(b.text("[data-testid=tier]").await, "Champion");
    assert!(b.text("[data-testid=amount]").await.contains("$20.00"));
    b.log_out().await;

    // The creator sees the patron, on the dashboard and in the patron list.
    b.log_in("ada@example.com").await;
    b.go("/dashboard").await;
    assert_eq!(b.text("[data-testid=patrons]").await, "1");
    b.shot("06-creator-dashboard").await;
    b.go("/dashboard/patrons").await;
    let row = b.text("table tbody tr").await;
    assert!(
        row.contains("grace") && row.contains("Champion") && row.contains("active"),
        "{row}"
    );
    b.shot("07-patron-list").await;
    b.log_out().await;

    // The patron cancels: active until the paid month ends.
    b.log_in("grace@example.com").await;
    b.go("/panel").await;
    // Cancelling asks first, and says what it does.
    b.follow("a[href$='/cancel']").await;
    assert!(b.text("h1").await.starts_with("Cancel your pledge to"));
    assert!(b.page().await.contains("end of the month you paid for"));
    b.shot("08-cancel-confirmation").await;
    b.follow("form[action$='/cancel'] button").await;
    assert!(b.text("p.notice").await.contains("cancelled"));
    assert!(
        b.text("[data-testid=status]")
            .await
            .contains("active until")
    );
    b.log_out().await;

    // And the creator sees the cancellation.
    b.log_in("ada@example.com").await;
    b.go("/dashboard/patrons?status=cancelled").await;
    let row = b.text("table tbody tr").await;
    assert!(row.contains("grace") && row.contains("cancelled"), "{row}");
    b.go("/dashboard").await;
    assert_eq!(b.text("[data-testid=patrons]").await, "0");

    b.stop().await;
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_reads_a_public_post_and_sees_a_locked_one_in_chromium(
    #[case] backend: Backend,
) {
    use maecenas_services::posts::PostInput;
    let app = TestApp::spawn(backend).await;
    let s = app.services.clone();
    let demo = s.seed_demo().await.unwrap();
    let creator = demo.creator_id;
    let user = demo.creator_username.clone();
    let open = s
        .create_post(
            creator,
            &PostInput {
                title: "Behind the scenes of Short #12".into(),
                body: "We shot the last scene **twice**.\n\n- the light\n- the rain".into(),
                audience: "public".into(),
                embed_url: "https://video.example/watch/12".into(),
                ..PostInput::default()
            },
        )
        .await
        .unwrap();
    s.add_post_image(creator, open.id, maecenas_domain::avatar::TINY_PNG.to_vec())
        .await
        .unwrap();
    s.publish_post(creator, open.id).await.unwrap();
    let top = s.campaign_setup(creator).await.unwrap().tiers;
    let top = top.iter().max_by_key(|t| t.amount_minor).unwrap();
    let locked = s
        .create_post(
            creator,
            &PostInput {
                title: "The director's cut".into(),
                body: "Only for the top tier.".into(),
                audience: "tier".into(),
                min_tier: Some(top.id),
                ..PostInput::default()
            },
        )
        .await
        .unwrap();
    s.publish_post(creator, locked.id).await.unwrap();

    let b = Browser::start(app.url(""), backend).await;
    b.go(&format!("/{user}")).await;
    b.shot("posts-on-the-creator-page").await;
    let listed = b.text("#posts").await;
    assert!(
        listed.find("The director's cut").unwrap() < listed.find("Behind the scenes").unwrap(),
        "{listed}"
    );
    b.follow(&format!("a[href='/{user}/posts/{}']", open.id))
        .await;
    assert_eq!(b.path().await, format!("/{user}/posts/{}", open.id));
    b.shot("post-public").await;
    let post = b.text("article").await;
    assert!(post.contains("We shot the last scene twice."), "{post}");
    assert!(b.page().await.contains("/images/"), "the picture is shown");
    b.go(&format!("/{user}/posts/{}", locked.id)).await;
    b.shot("post-locked").await;
    let post = b.text("article").await;
    assert!(post.contains(&format!("Join {}", top.title)), "{post}");
    assert!(!post.contains("Only for the top tier."), "{post}");
    b.stop().await;
    app.stop().await;
}

/// The creator's story with a post, in Chromium: write a draft for one tier
/// and up, add a picture, preview it, publish it, edit it; a patron of that
/// tier reads it in their feed and on its page, a patron below it and a
/// stranger see it locked and cannot open its picture; the patron makes a
/// private feed address.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_writes_and_publishes_a_post_that_only_its_tier_reads_in_chromium(
    #[case] backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let s = app.services.clone();
    let demo = s.seed_demo().await.unwrap();
    let user = demo.creator_username.clone();
    let tiers = s.campaign_setup(demo.creator_id).await.unwrap().tiers;
    let fan = tiers.iter().find(|t| t.title == "Fan").unwrap().clone();
    for (email, amount) in [("fan@example.test", 1000), ("supporter@example.test", 300)] {
        crate::support::patron_pledging(
            &s,
            demo.campaign_id,
            email,
            amount,
            None,
            crate::support::VISA,
        )
        .await;
    }
    // One file per case: the SQLite and PostgreSQL cases run at once in
    // this process, and each removes its own file at the end.
    let picture = std::env::temp_dir().join(format!(
        "maecenas-post-{}-{backend:?}.png",
        std::process::id()
    ));
    std::fs::write(&picture, maecenas_domain::avatar::TINY_PNG).unwrap();

    let b = Browser::start(app.url(""), backend).await;
    b.go("/login").await;
    b.fill("#email", &demo.creator_email).await;
    b.fill("#password", demo.password).await;
    b.follow("form[action='/login'] button[type=submit]").await;
    b.go("/dashboard").await;
    b.follow("a[href='/dashboard/posts']").await;
    b.shot("posts-dashboard").await;
    b.follow("a[href='/dashboard/posts/new']").await;
    b.fill("#title", "Storyboard for Short #13").await;
    b.fill(
        "#body",
        "Here is the **whole** storyboard.\n\n1. the chase\n2. the rooftop",
    )
    .await;
    b.click("input[name=audience][value=tier]").await;
    b.click(&format!("select[name=min_tier] option[value='{}']", fan.id))
        .await;
    b.shot("post-new").await;
    b.follow("form[action='/dashboard/posts'] button[type=submit]")
        .await;
    let editor = b.path().await;
    assert!(editor.ends_with("?done=created"), "{editor}");
    let editor = editor.trim_end_matches("?done=created").to_owned();
    let id = editor.rsplit('/').next().unwrap().to_owned();
    assert!(b.text("[role=status]").await.contains("Draft saved"));

    b.client
        .find(Locator::Css("#image"))
        .await
        .unwrap()
        .send_keys(picture.to_str().unwrap())
        .await
        .unwrap();
    b.follow(&format!(
        "form[action='{editor}/images'] button[type=submit]"
    ))
    .await;
    assert!(b.text("[role=status]").await.contains("Picture added"));
    b.shot("post-editor-draft").await;
    let readers = b.text("[data-testid=charge-preview]").await;
    assert!(readers.contains("patrons of Fan ($10.00"), "{readers}");

    b.follow("a[data-testid=preview]").await;
    assert_eq!(b.path().await, format!("/{user}/posts/{id}"));
    b.shot("post-preview").await;
    assert!(
        b.text("article")
            .await
            .contains("Here is the whole storyboard.")
    );
    assert!(b.text("[role=status]").await.contains("This is a draft"));
    b.follow("[role=status] a").await;

    b.follow(&format!("form[action='{editor}/publish'] button"))
        .await;
    assert!(b.text("[role=status]").await.contains("Published"));
    b.fill("#title", "Storyboard for Short #13 (final)").await;
    b.follow(&format!("form[action='{editor}'] button[type=submit]"))
        .await;
    assert!(b.text("[role=status]").await.contains("Changes saved"));
    b.shot("post-editor-published").await;
    b.go("/dashboard/posts").await;
    assert!(
        b.text("table")
            .await
            .contains("Storyboard for Short #13 (final)")
    );
    b.log_out().await;

    // The fan reads it in their feed and on its page, picture included.
    b.log_in("fan@example.test").await;
    b.go("/feed").await;
    b.shot("patron-feed").await;
    assert!(
        b.text("#posts")
            .await
            .contains("Storyboard for Short #13 (final)")
    );
    b.go(&format!("/{user}/posts/{id}")).await;
    b.shot("post-read-by-its-tier").await;
    assert!(b.text("article").await.contains("the rooftop"));
    let image = b
        .client
        .find(Locator::Css("article img"))
        .await
        .unwrap()
        .attr("src")
        .await
        .unwrap()
        .expect("the picture");
    b.go("/feed").await;
    b.follow("form[action='/feed/private#reader'] button").await;
    b.shot("feed-private-address").await;
    let address = b.text("[data-testid=private-feed]").await;
    assert!(address.contains("/feeds/mcf_"), "{address}");
    b.log_out().await;

    // Below the tier, and a stranger: locked, and the picture's address opens nothing.
    b.log_in("supporter@example.test").await;
    b.go(&format!("/{user}/posts/{id}")).await;
    b.shot("post-locked-below-its-tier").await;
    let post = b.text("article").await;
    assert!(
        post.contains("This post is for Fan") && post.contains("Change my pledge"),
        "a patron below the tier is asked to raise their pledge: {post}"
    );
    assert!(!post.contains("the rooftop"), "{post}");
    b.go(&image).await;
    // An empty 404, which Chromium shows as its own "can't be found" page.
    let refused = b.text("body").await;
    assert!(refused.contains("HTTP ERROR 404"), "{image}: {refused}");
    b.go("/feed").await;
    b.log_out().await;
    b.go(&format!("/{user}/posts/{id}")).await;
    assert!(
        b.text("article").await.contains("Join Fan"),
        "a stranger is asked to join"
    );
    b.go(&image).await;
    let refused = b.text("body").await;
    assert!(refused.contains("HTTP ERROR 404"), "{image}: {refused}");

    let _ = std::fs::remove_file(&picture);
    b.stop().await;
    app.stop().await;
}

/// A patron who forgot their password gets it back from the e-mailed link,
/// in Chromium, over real SMTP; the pages on the way are screenshotted.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_from_the_emailed_link_in_chromium(#[case] backend: Backend) {
    let sink = maecenas_testkit::SmtpSink::start();
    let smtp = sink.url();
    let app = TestApp::spawn_with(backend, move |config| {
        config.mail.smtp_url = Some(smtp);
    })
    .await;
    let b = Browser::start(app.url(""), backend).await;
    b.sign_up("grace@example.com", "grace", "Grace", false)
        .await;
    let welcome = sink.wait_for("grace@example.com", 1).remove(0);
    b.go("/settings/email").await;
    assert_eq!(b.text("[data-testid=address-state]").await, "not verified");
    b.shot("20-email-settings-unverified").await;
    let verify = welcome
        .link_starting(&app.url("/email/verify?token="))
        .expect("a verification link");
    b.client.goto(&verify).await.unwrap();
    assert!(b.text("h1").await.contains("verified"));
    b.shot("21-address-verified").await;
    b.follow("a[data-testid=continue]").await;
    b.log_out().await;

    b.follow("a[href='/password/forgot']").await;
    b.fill("#email", "grace@example.com").await;
    b.follow("form[action='/password/forgot'] button[type=submit]")
        .await;
    assert!(b.text("p[role=status]").await.contains("on its way"));
    b.shot("22-reset-link-sent").await;

    let message = sink.wait_for("grace@example.com", 2).remove(1);
    let link = message
        .link_starting(&app.url("/password/reset?token="))
        .expect("a reset link");
    b.client.goto(&link).await.unwrap();
    b.fill("#new_password", "short").await;
    // The browser's own check (minlength) stops a short one before the server does.
    b.client
        .execute(
            "document.getElementById('new_password').removeAttribute('minlength')",
            vec![],
        )
        .await
        .unwrap();
    b.follow("form[action='/password/reset'] button[type=submit]")
        .await;
    assert!(b.text(".field-error").await.contains("at least 8"));
    b.shot("23-reset-refused").await;
    b.fill("#new_password", "my new long password").await;
    b.follow("form[action='/password/reset'] button[type=submit]")
        .await;
    assert_eq!(b.path().await, "/login?done=password_reset");
    assert!(b.text("p.notice").await.contains("new password is saved"));
    b.shot("24-log-in-after-reset").await;
    b.fill("#email", "grace@example.com").await;
    b.fill("#password", "my new long password").await;
    b.follow("form[action='/login'] button[type=submit]").await;
    assert_eq!(b.path().await, "/");
    b.go("/settings/email").await;
    assert_eq!(b.text("[data-testid=address-state]").await, "verified");
    b.shot("25-email-settings").await;
    b.stop().await;
    app.stop().await;
}

/// An operator without a mail server reads the messages at /admin/emails
/// (the one-command install's only inbox).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reads_the_outbox_in_chromium(#[case] backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (email, admin) in [("root@example.com", true), ("ada@example.com", false)] {
        app.services
            .create_user(maecenas_services::accounts::NewAccount {
                email: email.into(),
                password: "correct horse battery".into(),
                first_name: "Ada".into(),
                is_admin: admin,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    app.services
        .request_password_reset("ada@example.com")
        .await
        .unwrap();
    let b = Browser::start(app.url(""), backend).await;
    b.log_in("root@example.com").await;
    let mut sent = false;
    for _ in 0..200 {
        b.go("/admin/emails").await;
        if b.page().await.contains(">sent<") {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sent, "{}", b.page().await);
    assert!(b.page().await.contains("written as a file"));
    b.shot("26-admin-outbox").await;
    b.follow("a[href^='/admin/emails/']").await;
    assert!(
        b.text("[data-testid=email-text]")
            .await
            .contains("/password/reset?token=mcr_")
    );
    b.shot("27-admin-one-message").await;
    b.stop().await;
    app.stop().await;
}
