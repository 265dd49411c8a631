//! The Patreon v1 resource API (JSON:API), field by field, paging, access
//! rules, and the official Python client unmodified; on both backends, with
//! the demo data set (300 pledges) as the world.

use std::collections::HashSet;

use maecenas_services::accounts::NewAccount;
use maecenas_services::demo::DemoAccess;
use rstest::rstest;
use serde_json::Value;

use crate::support::{Backend, TestApp};

struct World {
    app: TestApp,
    demo: DemoAccess,
    token: String,
}

async fn world(backend: Backend) -> World {
    let app = TestApp::spawn(backend).await;
    let demo = app.services.seed_demo().await.unwrap();
    let token = app
        .services
        .mint_tokens(
            &demo.client_id,
            &demo.creator_email,
            "users pledges-to-me my-campaign",
        )
        .await
        .unwrap()
        .access_token;
    World { app, demo, token }
}

impl World {
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.app.http.get(self.app.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }
}

fn is_date(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
    })
}

fn check(attributes: &Value, expected: &[(&str, &str)]) {
    for (name, kind) in expected {
        let value = attributes
            .get(*name)
            .unwrap_or_else(|| panic!("attribute {name} is missing: {attributes}"));
        let ok = match *kind {
            "string" => value.is_string(),
            "string?" => value.is_string() || value.is_null(),
            "bool" => value.is_boolean(),
            "int" => value.is_i64(),
            "int?" => value.is_i64() || value.is_null(),
            "date" => is_date(value),
            "date?" => value.is_null() || is_date(value),
            other => panic!("unknown kind {other}"),
        };
        assert!(ok, "{name} should be {kind}, is {value}");
    }
}

const USER_ATTRIBUTES: &[(&str, &str)] = &[
    ("first_name", "string"),
    ("last_name", "string"),
    ("full_name", "string"),
    ("vanity", "string?"),
    ("about", "string"),
    ("facebook_id", "string?"),
    ("image_url", "string?"),
    ("thumb_url", "string?"),
    ("youtube", "string?"),
    ("twitter", "string?"),
    ("facebook", "string?"),
    ("is_suspended", "bool"),
    ("is_deleted", "bool"),
    ("is_nuked", "bool"),
    ("created", "date"),
    ("url", "string"),
];
const CAMPAIGN_ATTRIBUTES: &[(&str, &str)] = &[
    ("summary", "string?"),
    ("creation_name", "string?"),
    ("pay_per_name", "string?"),
    ("one_liner", "string?"),
    ("main_video_embed", "string?"),
    ("main_video_url", "string?"),
    ("image_small_url", "string?"),
    ("image_url", "string?"),
    ("thanks_video_url", "string?"),
    ("thanks_embed", "string?"),
    ("thanks_msg", "string?"),
    ("is_monthly", "bool"),
    ("is_nsfw", "bool"),
    ("created_at", "date"),
    ("published_at", "date?"),
    ("pledge_url", "string"),
    ("pledge_sum", "int"),
    ("patron_count", "int"),
    ("creation_count", "int"),
    ("outstanding_payment_amount_cents", "int"),
];
const PLEDGE_ATTRIBUTES: &[(&str, &str)] = &[
    ("amount_cents", "int"),
    ("created_at", "date"),
    ("pledge_cap_cents", "int?"),
    ("patron_pays_fees", "bool"),
];

/// A server with a pool of one connection, and a burst of clients at once on
/// a campaign whose numbers it has yet to compute: each request holds the
/// pool's connection in turn while it waits for the numbers, so computing
/// them must not need one of its connections (before, the computing request
/// waited for a second connection until the pool gave up).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_current_user_reads_on_cold_numbers_is_answered_by_a_pool_of_one(
    #[case] backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |config| config.db_max_connections = 1).await;
    let demo = app.services.seed_demo().await.unwrap();
    let token = app
        .services
        .mint_tokens(&demo.client_id, &demo.creator_email, "users my-campaign")
        .await
        .unwrap()
        .access_token;
    let url = app.url("/api/oauth2/api/current_user?include=campaign");
    let burst = (0..16).map(|_| async {
        let answer = app.http.get(&url).bearer_auth(&token).send().await.unwrap();
        let status = answer.status().as_u16();
        let doc: Value = answer.json().await.unwrap();
        (status, doc)
    });
    for (status, doc) in futures_util::future::join_all(burst).await {
        assert_eq!(status, 200, "{doc}");
        let campaign = doc["included"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "campaign")
            .expect("the campaign is included");
        assert_eq!(campaign["attributes"]["patron_count"], 300);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn current_user_has_every_attribute_of_the_seed(#[case] backend: Backend) {
    let w = world(backend).await;
    let (status, doc) = w.get("/api/oauth2/api/current_user", Some(&w.token)).await;
    assert_eq!(status, 200, "{doc}");
    let user = &doc["data"];
    assert_eq!(
        (user["type"].as_str(), user["id"].as_str()),
        (Some("user"), Some(w.demo.creator_id.to_string().as_str()))
    );
    check(&user["attributes"], USER_ATTRIBUTES);
    assert_eq!(
        user["attributes"]["email"], "creator@demo.maecenas.test",
        "its own email, with `users`"
    );
    assert_eq!(user["attributes"]["vanity"], "cerulean");
    assert_eq!(
        user["relationships"]["campaign"]["data"]["id"],
        w.demo.campaign_id.to_string()
    );
    let campaign = doc["included"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "campaign")
        .expect("the campaign is included");
    check(&campaign["attributes"], CAMPAIGN_ATTRIBUTES);
    assert_eq!(campaign["attributes"]["patron_count"], 300);
    assert_eq!(campaign["attributes"]["creation_count"], 12);
    let rewards: Vec<&Value> = doc["included"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "reward")
        .collect();
    assert_eq!(
        rewards
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .take(2)
            .collect::<Vec<_>>(),
        ["-1", "0"],
        "the v1 pseudo-rewards"
    );
    assert_eq!(rewards.len(), 5);
    assert!(doc["links"].is_object());

    // Without `users`, no email; the same path under /oauth2/api too.
    let narrow = w
        .app
        .services
        .mint_tokens(&w.demo.client_id, &w.demo.creator_email, "my-campaign")
        .await
        .unwrap()
        .access_token;
    let (status, doc) = w.get("/oauth2/api/current_user", Some(&narrow)).await;
    assert_eq!(status, 200);
    assert!(
        doc["data"]["attributes"].get("email").is_none(),
        "left out, not faked"
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn campaigns_embed_the_first_twenty_pledges_with_a_next_link(#[case] backend: Backend) {
    let w = world(backend).await;
    let (status, doc) = w
        .get("/api/oauth2/api/current_user/campaigns", Some(&w.token))
        .await;
    assert_eq!(status, 200, "{doc}");
    let data = doc["data"].as_array().expect("data is an array");
    assert_eq!(data.len(), 1);
    let campaign = &data[0];
    check(&campaign["attributes"], CAMPAIGN_ATTRIBUTES);
    for rel in ["creator", "rewards", "goals", "pledges"] {
        assert!(
            campaign["relationships"][rel]["data"].is_object()
                || campaign["relationships"][rel]["data"].is_array(),
            "{rel}"
        );
    }
    assert_eq!(
        campaign["relationships"]["pledges"]["data"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert!(
        doc["links"]["next"]
            .as_str()
            .unwrap()
            .contains("page%5Bcursor%5D=")
    );
    let included = doc["included"].as_array().unwrap();
    let pledge = included.iter().find(|r| r["type"] == "pledge").unwrap();
    check(&pledge["attributes"], PLEDGE_ATTRIBUTES);
    for rel in [
        "patron",
        "reward",
        "creator",
        "address",
        "card",
        "pledge_vat_location",
    ] {
        assert!(
            pledge["relationships"].get(rel).is_some(),
            "pledge relationship {rel}"
        );
    }
    let patron_id = pledge["relationships"]["patron"]["data"]["id"]
        .as_str()
        .unwrap();
    let patron = included
        .iter()
        .find(|r| r["type"] == "user" && r["id"] == patron_id)
        .expect("the patron is included");
    check(&patron["attributes"], USER_ATTRIBUTES);
    assert!(
        patron["attributes"]["email"].is_string(),
        "a creator with pledges-to-me sees patron emails"
    );
    assert!(included.iter().any(|r| r["type"] == "card"));
    assert!(
        included.iter().any(|r| r["type"] == "pledge-vat-location"
            && r["attributes"]["geo_country_code"].is_string())
    );
    let ids: Vec<(String, String)> = included
        .iter()
        .map(|r| (r["type"].to_string(), r["id"].to_string()))
        .collect();
    assert_eq!(
        ids.len(),
        ids.iter().collect::<HashSet<_>>().len(),
        "no resource twice in included"
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn paging_finds_every_pledge_once_even_while_someone_pledges(#[case] backend: Backend) {
    let w = world(backend).await;
    let mut url = format!(
        "/api/oauth2/api/campaigns/{}/pledges?page%5Bcount%5D=25",
        w.demo.campaign_id
    );
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, doc) = w.get(&url, Some(&w.token)).await;
        assert_eq!(status, 200, "{doc}");
        assert!(
            doc["links"]["first"].is_string(),
            "every page has links, the last one too"
        );
        for pledge in doc["data"].as_array().unwrap() {
            seen.push((
                pledge["id"].as_str().unwrap().to_owned(),
                pledge["attributes"]["created_at"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
        pages += 1;
        if pages == 3 {
            // A new patron pledges in the middle of the paging.
            add_patron(&w).await;
        }
        match doc["links"]["next"].as_str() {
            Some(next) => url = next.trim_start_matches(&w.app.url("")).to_owned(),
            None => break,
        }
    }
    let ids: HashSet<&String> = seen.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), seen.len(), "no pledge twice");
    assert_eq!(
        seen.len(),
        301,
        "the 300 demo pledges and the one made while paging"
    );
    assert!(
        seen.windows(2).all(|w| w[0].1 <= w[1].1),
        "sorted by the date the pledge was made"
    );
    w.app.stop().await;
}

async fn add_patron(w: &World) {
    use maecenas_store::pledges;
    use maecenas_store::pledges::NewPledge;
    let user = w
        .app
        .services
        .create_user(NewAccount {
            email: "late@example.org".into(),
            password: "12345678".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let store = w.app.db().store().await;
    let mut tx = store.write().await.unwrap();
    let id = maecenas_domain::SnowflakeGenerator::new(9).unwrap().next();
    pledges::insert_pledge(
        &mut tx,
        &NewPledge {
            id,
            patron_id: user.id,
            campaign_id: w.demo.campaign_id,
            tier_id: None,
            amount_minor: 700,
            currency: "USD".into(),
            pledge_cap_minor: None,
            patron_pays_fees: false,
            address_id: None,
            payment_method_id: None,
            vat_country: None,
            created_at: maecenas_store::OffsetDateTime::now_utc(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn access_rules_and_errors_are_json_api(#[case] backend: Backend) {
    let w = world(backend).await;
    let pledges = format!("/api/oauth2/api/campaigns/{}/pledges", w.demo.campaign_id);
    let res = w.app.http.get(w.app.url(&pledges)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let doc: Value = res.json().await.unwrap();
    let error = &doc["errors"][0];
    assert_eq!(
        (error["status"].as_str(), error["code_name"].as_str()),
        (Some("401"), Some("Unauthorized"))
    );
    assert!(error["code"].is_i64() && error["title"].is_string() && error["detail"].is_string());

    let (status, doc) = w.get(&pledges, Some("mat_not-a-token")).await;
    assert_eq!(
        (status, doc["errors"][0]["status"].as_str()),
        (401, Some("401"))
    );

    // Another creator's pledges: 403.
    w.app
        .services
        .create_user(NewAccount {
            email: "other@example.org".into(),
            password: "12345678".into(),
            is_creator: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let other = w
        .app
        .services
        .mint_tokens(
            &w.demo.client_id,
            "other@example.org",
            "users pledges-to-me my-campaign",
        )
        .await
        .unwrap()
        .access_token;
    let (status, doc) = w.get(&pledges, Some(&other)).await;
    assert_eq!(
        (status, doc["errors"][0]["status"].as_str()),
        (403, Some("403"))
    );
    let (status, doc) = w
        .get("/api/oauth2/api/current_user/campaigns", Some(&other))
        .await;
    assert_eq!(
        (status, doc["data"].as_array().map(Vec::len)),
        (200, Some(0)),
        "no campaign: an empty array"
    );

    let (status, _) = w
        .get("/api/oauth2/api/campaigns/12345/pledges", Some(&w.token))
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .get(
            &format!("{pledges}?page%5Bcursor%5D=%25%25%25"),
            Some(&w.token),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = w
        .get(&format!("{pledges}?page%5Bcount%5D=100000"), Some(&w.token))
        .await;
    assert_eq!(status, 400);
    let identify_only = w
        .app
        .services
        .mint_tokens(&w.demo.client_id, &w.demo.creator_email, "identify")
        .await
        .unwrap()
        .access_token;
    let (status, _) = w.get(&pledges, Some(&identify_only)).await;
    assert_eq!(status, 403, "pledges need pledges-to-me");
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_official_python_client_fetches_and_pages_everything(#[case] backend: Backend) {
    let w = world(backend).await;
    let python = crate::support::test_python();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/patreon_api.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("MAECENAS_BASE_URL", w.app.url(""))
        .env("ACCESS_TOKEN", &w.token)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["user_id"], w.demo.creator_id.to_string());
    assert_eq!(result["vanity"], "cerulean");
    assert_eq!(result["campaign_id"], w.demo.campaign_id.to_string());
    assert_eq!(result["first_pledges"], 20);
    let ids = result["pledge_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 300, "every pledge");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        300,
        "each exactly once"
    );
    w.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_official_javascript_client_fetches_pages_and_refreshes(#[case] backend: Backend) {
    use maecenas_services::oauth::{AuthorizeParams, Dialect};
    let w = world(backend).await;
    // A code as the consent page would issue it, for the client's own token exchange.
    let params = AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some(w.demo.client_id.clone()),
        redirect_uri: Some(w.demo.redirect_uri.into()),
        scope: None,
        ..Default::default()
    };
    let context = w
        .app
        .services
        .validate_authorize(Dialect::Patreon, &params)
        .await
        .unwrap();
    let creator = w
        .app
        .services
        .user_by_email(&w.demo.creator_email)
        .await
        .unwrap();
    let code = w.app.services.issue_code(&creator, &context).await.unwrap();

    let modules = crate::support::node_modules();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/patreon_client.js");
    let output = tokio::process::Command::new("node")
        .arg(script)
        .env("NODE_PATH", &modules)
        .env("PATREON_OAUTH_HOST", w.app.url(""))
        .env("ACCESS_TOKEN", &w.token)
        .env("CAMPAIGN_ID", w.demo.campaign_id.to_string())
        .env("CLIENT_ID", &w.demo.client_id)
        .env("CLIENT_SECRET", &w.demo.client_secret)
        .env("CODE", &code)
        .env("REDIRECT_URI", w.demo.redirect_uri)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(result["user_id"], w.demo.creator_id.to_string());
    assert_eq!(result["campaigns"], 1);
    let ids = result["pledge_ids"].as_array().unwrap();
    assert_eq!(
        (ids.len(), ids.iter().collect::<HashSet<_>>().len()),
        (300, 300),
        "every pledge, once"
    );
    assert!(
        result["tokens"]["access_token"].is_string() && result["tokens"]["expires_in"].is_i64()
    );
    assert_ne!(
        result["refreshed"]["access_token"],
        result["tokens"]["access_token"]
    );
    w.app.stop().await;
}
