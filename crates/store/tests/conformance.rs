//! One behaviour suite for the store, run on SQLite and on PostgreSQL.
//! What the compiler cannot check (SQL text, constraints, types each backend
//! decodes) is checked here, on both.

use maecenas_domain::*;
use maecenas_store::campaigns::{self, CampaignFields, NewTier};
use maecenas_store::cards::{AddressRow, PaymentMethodRow};
use maecenas_store::donations::DonationRow;
use maecenas_store::pledges::NewPledge;
use maecenas_store::posts::{self, CreationRow};
use maecenas_store::users::{self, NewUser};
use maecenas_store::{OffsetDateTime, Store, StoreError, api_keys, oauth_clients};
use maecenas_store::{cards, charges, donations, pledges};
use maecenas_testkit::{Backend, TestDb};
use rstest::rstest;

/// Times as both backends keep them: to the microsecond.
fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap()
}

fn ids() -> SnowflakeGenerator {
    SnowflakeGenerator::new(1).unwrap()
}

fn new_user(ids: &SnowflakeGenerator, email: &str, username: Option<&str>) -> NewUser {
    NewUser {
        id: ids.next(),
        email: email.into(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        username: username.map(Into::into),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        about: "I *write* notes.".into(),
        description: "Analyst".into(),
        is_creator: true,
        is_admin: false,
        created_at: now(),
    }
}

async fn insert(store: &Store, user: &NewUser) -> Result<(), StoreError> {
    let mut tx = store.write().await?;
    users::insert_user(&mut tx, user).await?;
    tx.commit().await
}

async fn creator_with_campaign(
    store: &Store,
    ids: &SnowflakeGenerator,
    name: &str,
) -> (UserId, CampaignId) {
    let user = new_user(ids, &format!("{name}@example.org"), Some(name));
    let campaign: CampaignId = ids.next();
    let mut tx = store.write().await.unwrap();
    users::insert_user(&mut tx, &user).await.unwrap();
    let fields = CampaignFields {
        summary: Some("Hi".into()),
        is_monthly: true,
        ..Default::default()
    };
    campaigns::insert_campaign(
        &mut tx,
        campaign,
        user.id,
        "USD",
        &fields,
        Some(now()),
        now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (user.id, campaign)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn migrations_apply_once_and_report_versions(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = maecenas_store::Store::connect(db.url(), &Default::default())
        .await
        .unwrap();
    assert!(store.applied_migrations().await.unwrap().is_empty());
    let first = store.migrate().await.unwrap();
    assert_eq!(first.applied_now, store.known_migrations());
    assert_eq!(first.current, store.known_migrations().last().copied());
    let second = store.migrate().await.unwrap();
    assert!(second.applied_now.is_empty());
    assert_eq!(second.current, first.current);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_database_migrated_by_a_newer_binary_is_refused(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    // What a newer binary would have recorded (the checksum literal is the only difference).
    let checksum = match backend {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    let sql = format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from the future', TRUE, {checksum}, 0)"
    );
    let mut tx = store.write().await.unwrap();
    maecenas_store::on_backend!(&mut tx, |conn| sqlx::query(&sql)
        .execute(conn)
        .await
        .map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
    match store.migrate().await {
        Err(StoreError::MigrationsNewerThanBinary { version }) => {
            assert_eq!(version, 99_991_231_000_000)
        }
        other => panic!("expected MigrationsNewerThanBinary, got {other:?}"),
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn users_round_trip_and_stay_unique(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let ada = new_user(&ids, "ada@example.org", Some("Ada"));
    insert(&store, &ada).await.unwrap();

    let mut tx = store.read().await.unwrap();
    let row = users::user_by_id(&mut tx, ada.id).await.unwrap().unwrap();
    assert_eq!(row.email, "ada@example.org");
    assert_eq!(row.username.as_deref(), Some("Ada"));
    assert_eq!(row.password_hash, ada.password_hash);
    assert_eq!(
        (row.first_name.as_str(), row.last_name.as_str()),
        ("Ada", "Lovelace")
    );
    assert_eq!(row.status, "public");
    assert!(
        row.is_creator && !row.is_admin && !row.is_suspended && !row.is_deleted && !row.is_nuked
    );
    assert_eq!(row.created_at, ada.created_at);
    assert_eq!(
        users::user_by_email(&mut tx, "ada@example.org")
            .await
            .unwrap()
            .unwrap()
            .id,
        ada.id
    );
    assert_eq!(
        users::user_by_username(&mut tx, "aDA")
            .await
            .unwrap()
            .unwrap()
            .id,
        ada.id
    );
    assert!(
        users::user_by_email(&mut tx, "nobody@example.org")
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();

    let same_email = new_user(&ids, "ada@example.org", None);
    assert!(matches!(
        insert(&store, &same_email).await,
        Err(StoreError::Conflict)
    ));
    let same_name_other_case = new_user(&ids, "other@example.org", Some("ADA"));
    assert!(matches!(
        insert(&store, &same_name_other_case).await,
        Err(StoreError::Conflict)
    ));

    let mut tx = store.read().await.unwrap();
    assert_eq!(users::count_users(&mut tx).await.unwrap(), 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let mut tx = store.write().await.unwrap();
    users::insert_user(&mut tx, &new_user(&ids, "a@example.org", None))
        .await
        .unwrap();
    // The second insert fails; the use case gives up and nothing of it stays.
    let failing = users::insert_user(&mut tx, &new_user(&ids, "a@example.org", None)).await;
    assert!(matches!(failing, Err(StoreError::Conflict)));
    tx.rollback().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(users::count_users(&mut tx).await.unwrap(), 0);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn campaigns_tiers_goals_and_creations_round_trip(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (creator, campaign) = creator_with_campaign(&store, &ids, "maker").await;

    let mut tx = store.write().await.unwrap();
    for (position, (title, price)) in [("Fan", 300), ("Friend", 1000)].into_iter().enumerate() {
        let tier = NewTier {
            id: ids.next(),
            campaign_id: campaign,
            title: title.into(),
            description: format!("{title} tier"),
            amount_minor: price,
            patron_limit: (price > 500).then_some(50),
            requires_shipping: price > 500,
            image_url: None,
            position: position as i32,
            created_at: now(),
        };
        campaigns::insert_tier(&mut tx, &tier).await.unwrap();
    }
    campaigns::insert_goal(
        &mut tx,
        ids.next(),
        campaign,
        100_000,
        "Studio",
        "A real studio",
        now(),
    )
    .await
    .unwrap();
    let creation = CreationRow {
        id: ids.next(),
        campaign_id: campaign,
        title: "Episode 1".into(),
        body: "…".into(),
        is_paid: true,
        audience: "patrons".into(),
        min_tier_id: None,
        embed_url: Some("https://video.example/1".into()),
        created_at: now(),
        updated_at: now(),
        published_at: Some(now()),
    };
    posts::insert_creation(&mut tx, &creation).await.unwrap();
    let second = campaigns::insert_campaign(
        &mut tx,
        ids.next(),
        creator,
        "USD",
        &Default::default(),
        None,
        now(),
    )
    .await;
    assert!(
        matches!(second, Err(StoreError::Conflict)),
        "one campaign per creator"
    );
    tx.rollback().await.unwrap();

    // The rollback above took the tiers with it; write them for real now.
    let mut tx = store.write().await.unwrap();
    let tier = NewTier {
        id: ids.next(),
        campaign_id: campaign,
        title: "Fan".into(),
        description: String::new(),
        amount_minor: 300,
        patron_limit: Some(10),
        requires_shipping: true,
        image_url: Some("https://img.example/fan.png".into()),
        position: 0,
        created_at: now(),
    };
    campaigns::insert_tier(&mut tx, &tier).await.unwrap();
    posts::insert_creation(&mut tx, &creation).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let row = campaigns::campaign_by_creator(&mut tx, creator)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.id, row.currency.as_str(), row.summary.as_deref()),
        (campaign, "USD", Some("Hi"))
    );
    assert!(row.is_monthly && !row.is_nsfw && row.published_at.is_some());
    let tiers = campaigns::tiers_of_campaign(&mut tx, campaign)
        .await
        .unwrap();
    assert_eq!(tiers.len(), 1);
    assert_eq!(
        (
            tiers[0].amount_minor,
            tiers[0].patron_limit,
            tiers[0].requires_shipping
        ),
        (300, Some(10), true)
    );
    assert_eq!(
        posts::recent_creations(&mut tx, campaign, 10)
            .await
            .unwrap(),
        vec![creation]
    );
    let totals = campaigns::campaign_totals(&mut tx, campaign).await.unwrap();
    assert_eq!(
        (
            totals.patron_count,
            totals.pledge_sum_minor,
            totals.creation_count
        ),
        (0, 0, 1)
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn pledges_page_by_keyset_and_one_current_pledge_per_patron(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (_, campaign) = creator_with_campaign(&store, &ids, "maker").await;

    let mut tx = store.write().await.unwrap();
    let mut pledged = Vec::new();
    for n in 0..45 {
        let patron = new_user(&ids, &format!("p{n}@example.org"), None);
        users::insert_user(&mut tx, &patron).await.unwrap();
        let address = AddressRow {
            id: ids.next(),
            user_id: patron.id,
            addressee: "P".into(),
            line_1: "1 Road".into(),
            line_2: None,
            postal_code: "1000".into(),
            city: "Town".into(),
            state: None,
            country: "BE".into(),
            phone_number: None,
            created_at: now(),
            updated_at: now(),
        };
        cards::insert_address(&mut tx, &address).await.unwrap();
        let card = PaymentMethodRow {
            id: ids.next(),
            user_id: patron.id,
            gateway: "test".into(),
            gateway_ref: format!("pm_{n}"),
            brand: "Visa".into(),
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2030,
            is_verified: true,
            has_failed_payment: false,
            created_at: now(),
            removed_at: None,
        };
        cards::insert_payment_method(&mut tx, &card).await.unwrap();
        let pledge = NewPledge {
            id: ids.next(),
            patron_id: patron.id,
            campaign_id: campaign,
            tier_id: None,
            amount_minor: 100 + n,
            currency: "USD".into(),
            pledge_cap_minor: Some(1000),
            patron_pays_fees: n % 2 == 0,
            address_id: Some(address.id),
            payment_method_id: Some(card.id),
            vat_country: Some("BE".into()),
            created_at: now(),
        };
        pledges::insert_pledge(&mut tx, &pledge).await.unwrap();
        pledged.push(pledge);
    }
    tx.commit().await.unwrap();

    // A second current pledge by the same patron to the same campaign is refused.
    let mut again = pledged[0].clone();
    again.id = ids.next();
    let mut tx = store.write().await.unwrap();
    assert!(matches!(
        pledges::insert_pledge(&mut tx, &again).await,
        Err(StoreError::Conflict)
    ));
    tx.rollback().await.unwrap();

    // A pledge to a tier that does not exist is refused.
    let mut dangling = pledged[0].clone();
    dangling.id = ids.next();
    dangling.patron_id = creator_with_campaign(&store, &ids, "other").await.0;
    dangling.tier_id = Some(TierId::from(42));
    let mut tx = store.write().await.unwrap();
    assert!(matches!(
        pledges::insert_pledge(&mut tx, &dangling).await,
        Err(StoreError::MissingReference)
    ));
    tx.rollback().await.unwrap();

    // A negative amount never reaches the table, whatever a caller forgot to check.
    let mut negative = dangling.clone();
    negative.tier_id = None;
    negative.amount_minor = -5;
    let mut tx = store.write().await.unwrap();
    assert!(matches!(
        pledges::insert_pledge(&mut tx, &negative).await,
        Err(StoreError::Refused(_))
    ));
    tx.rollback().await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    let mut tx = store.read().await.unwrap();
    loop {
        let page = pledges::pledges_of_campaign(&mut tx, campaign, after, 20)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|p| p.id);
        seen.extend(page);
    }
    assert_eq!(
        seen.iter().map(|p| p.id).collect::<Vec<_>>(),
        pledged.iter().map(|p| p.id).collect::<Vec<_>>()
    );
    let first = &seen[0];
    assert_eq!(
        (
            first.amount_minor,
            first.pledge_cap_minor,
            first.patron_pays_fees
        ),
        (100, Some(1000), true)
    );
    assert_eq!(
        (first.vat_country.as_deref(), first.status.as_str()),
        (Some("BE"), "active")
    );
    assert_eq!(first.payment_method(), pledged[0].payment_method_id);
    let card = cards::payment_method_by_id(&mut tx, first.payment_method().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((card.last4.as_str(), card.exp_month), ("4242", 12));
    let address = cards::address_by_id(&mut tx, first.address().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(address.country, "BE");
    let current = pledges::current_pledge(&mut tx, first.patron_id, campaign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.id, first.id);

    // What the first page points at, in one query each.
    let (patrons, addresses, cards) = pledges::page_references(&mut tx, campaign, None, 20)
        .await
        .unwrap();
    assert_eq!((patrons.len(), addresses.len(), cards.len()), (20, 20, 20));
    assert!(
        seen[..20]
            .iter()
            .all(|p| patrons.iter().any(|u| u.id == p.patron_id))
    );
    let (last_patrons, _, _) = pledges::page_references(&mut tx, campaign, Some(seen[39].id), 20)
        .await
        .unwrap();
    assert_eq!(last_patrons.len(), 5, "the last page's five");

    let totals = campaigns::campaign_totals(&mut tx, campaign).await.unwrap();
    assert_eq!(totals.patron_count, 45);
    assert_eq!(totals.pledge_sum_minor, (100..145).sum::<i64>());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn donations_round_trip(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (_, campaign) = creator_with_campaign(&store, &ids, "maker").await;
    let donor = new_user(&ids, "donor@example.org", None);
    insert(&store, &donor).await.unwrap();
    let donation = DonationRow {
        id: ids.next(),
        donor_id: donor.id,
        campaign_id: campaign,
        amount_minor: 500,
        currency: "EUR".into(),
        message: "Thanks!".into(),
        payment_method_id: None,
        status: DonationStatus::Succeeded,
        active_until: Some(now()),
        created_at: now(),
    };
    let mut tx = store.write().await.unwrap();
    donations::insert_donation(&mut tx, &donation)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        donations::donations_of_donor(&mut tx, campaign, donor.id)
            .await
            .unwrap(),
        vec![donation]
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn oauth_clients_and_api_keys_round_trip(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let dev = new_user(&ids, "dev@example.org", None);
    insert(&store, &dev).await.unwrap();

    let client = oauth_clients::NewOAuthClient {
        id: ids.next(),
        client_id: "abcDEF123".into(),
        owner_id: dev.id,
        name: "My app".into(),
        description: "Does things".into(),
        icon_url: None,
        secret_hash: vec![1; 32],
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        created_at: now(),
    };
    let key = api_keys::NewApiKey {
        id: ids.next(),
        owner_id: dev.id,
        name: "laptop".into(),
        prefix: "mck_abcd".into(),
        key_hash: vec![2; 32],
        created_at: now(),
    };
    let mut tx = store.write().await.unwrap();
    oauth_clients::insert_client(&mut tx, &client)
        .await
        .unwrap();
    api_keys::insert_api_key(&mut tx, &key).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let row = oauth_clients::client_by_client_id(&mut tx, "abcDEF123")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            row.name.as_str(),
            row.owner_email.as_str(),
            row.secret_hash.clone()
        ),
        ("My app", "dev@example.org", vec![1; 32])
    );
    assert_eq!(
        oauth_clients::redirect_uris(&mut tx, row.id).await.unwrap(),
        client.redirect_uris
    );
    assert!(
        oauth_clients::client_by_client_id(&mut tx, "ABCdef123")
            .await
            .unwrap()
            .is_none(),
        "client ids are exact"
    );
    assert!(
        oauth_clients::rotate_secret(&mut tx, row.id, &[3; 32], now())
            .await
            .unwrap()
    );
    assert_eq!(
        oauth_clients::list_clients(&mut tx, Some(dev.id))
            .await
            .unwrap()[0]
            .secret_hash,
        vec![3; 32]
    );
    assert_eq!(
        oauth_clients::list_clients(&mut tx, None)
            .await
            .unwrap()
            .len(),
        1
    );

    let found = api_keys::api_key_by_hash(&mut tx, &[2; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.prefix.as_str(), found.revoked_at),
        (key.id, "mck_abcd", None)
    );
    assert!(
        api_keys::api_key_by_hash(&mut tx, &[9; 32])
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        api_keys::revoke_api_key(&mut tx, key.id, now())
            .await
            .unwrap()
    );
    assert!(
        !api_keys::revoke_api_key(&mut tx, key.id, now())
            .await
            .unwrap(),
        "revoking twice changes nothing"
    );
    assert!(
        api_keys::list_api_keys(&mut tx, None).await.unwrap()[0]
            .revoked_at
            .is_some()
    );
    let duplicate = api_keys::NewApiKey {
        id: ids.next(),
        ..key.clone()
    };
    assert!(matches!(
        api_keys::insert_api_key(&mut tx, &duplicate).await,
        Err(StoreError::Conflict)
    ));
}

/// Polls `future` now and then for `micros` µs, then drops it: a request
/// whose client went away while it waited for its transaction.
async fn abandon_after<F: std::future::Future>(future: F, micros: u64) {
    let mut future = std::pin::pin!(future);
    let deadline = std::time::Instant::now() + std::time::Duration::from_micros(micros);
    loop {
        let ready =
            std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx).is_ready()))
                .await;
        if ready || std::time::Instant::now() >= deadline {
            return;
        }
        // Let the connection's worker thread run meanwhile.
        std::thread::sleep(std::time::Duration::from_micros(3));
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_abandoned_while_they_begin_leave_the_pool_usable(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    // Cut begins off at many different points: before the pool hands out a
    // connection, while the database begins, after.
    for i in 0..2000 {
        abandon_after(store.write(), i % 400).await;
        abandon_after(store.read(), i % 400).await;
    }
    for _ in 0..20 {
        let tx = store
            .write()
            .await
            .expect("a write transaction still begins");
        tx.commit().await.expect("and commits");
        let tx = store.read().await.expect("a read transaction still begins");
        tx.commit().await.expect("and ends");
    }
}

/// Times within one second compare as times, not as text of varying width
/// (on SQLite `…:00Z` used to sort after `…:00.5Z`).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn times_within_one_second_compare_as_times(#[case] backend: Backend) {
    use maecenas_store::sessions;
    use time::macros::datetime;
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let user = new_user(&ids, "clock@example.org", None);
    insert(&store, &user).await.unwrap();
    let whole = datetime!(2026-12-01 10:00:00 UTC);
    let half = datetime!(2026-12-01 10:00:00.5 UTC);
    let mut tx = store.write().await.unwrap();
    // One session ends on the whole second, one half a second later.
    sessions::insert_session(&mut tx, b"ends-whole", user.id, whole, whole)
        .await
        .unwrap();
    sessions::insert_session(&mut tx, b"ends-half", user.id, whole, half)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    // At 10:00:00.3 the first has ended and the second has not.
    let now = datetime!(2026-12-01 10:00:00.3 UTC);
    assert_eq!(
        sessions::session_user(&mut tx, b"ends-whole", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        sessions::session_user(&mut tx, b"ends-half", now)
            .await
            .unwrap(),
        Some(user.id)
    );
    // At the whole second exactly, the half-second one is still live.
    assert_eq!(
        sessions::session_user(&mut tx, b"ends-half", whole)
            .await
            .unwrap(),
        Some(user.id)
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn sessions_grants_codes_and_tokens_keep_their_rules(#[case] backend: Backend) {
    use maecenas_store::{oauth, sessions};
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let person = new_user(&ids, "person@example.org", None);
    insert(&store, &person).await.unwrap();
    let client = oauth_clients::NewOAuthClient {
        id: ids.next(),
        client_id: "conformance-app".into(),
        owner_id: person.id,
        name: "App".into(),
        description: String::new(),
        icon_url: None,
        secret_hash: vec![7; 32],
        redirect_uris: vec!["https://app.example/cb".into()],
        created_at: now(),
    };
    let t0 = now();
    let later = t0 + time::Duration::hours(1);
    let mut tx = store.write().await.unwrap();
    oauth_clients::insert_client(&mut tx, &client)
        .await
        .unwrap();

    // Sessions: live until they expire; deleted one by one or all of a user's.
    sessions::insert_session(&mut tx, b"s1", person.id, t0, later)
        .await
        .unwrap();
    sessions::insert_session(&mut tx, b"s2", person.id, t0, later)
        .await
        .unwrap();
    assert_eq!(
        sessions::session_user(&mut tx, b"s1", t0).await.unwrap(),
        Some(person.id)
    );
    assert_eq!(
        sessions::session_user(&mut tx, b"s1", later).await.unwrap(),
        None
    );
    sessions::delete_session(&mut tx, b"s1").await.unwrap();
    assert_eq!(
        sessions::session_user(&mut tx, b"s1", t0).await.unwrap(),
        None
    );
    sessions::delete_sessions_of_user(&mut tx, person.id)
        .await
        .unwrap();
    assert_eq!(
        sessions::session_user(&mut tx, b"s2", t0).await.unwrap(),
        None
    );

    // A grant, its code (used once) and its tokens (refreshed once).
    let grant_id = ids.next_raw();
    oauth::insert_grant(&mut tx, grant_id, client.id, person.id, "identity", t0)
        .await
        .unwrap();
    let code = oauth::CodeRow {
        code_hash: vec![3; 32],
        grant_id,
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: None,
        expires_at: later,
        used_at: None,
    };
    oauth::insert_code(&mut tx, &code).await.unwrap();
    assert_eq!(
        oauth::code_by_hash(&mut tx, &[3; 32]).await.unwrap(),
        Some(code.clone())
    );
    let token = oauth::TokenRow {
        id: ids.next_raw(),
        grant_id,
        access_hash: vec![4; 32],
        refresh_hash: vec![5; 32],
        created_at: t0,
        access_expires_at: later,
        refreshed_at: None,
        revoked_at: None,
    };
    oauth::insert_token(&mut tx, &token).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let by_access = oauth::token_by_access_hash(&mut tx, &[4; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((by_access.id, by_access.grant_id), (token.id, grant_id));
    assert_eq!(by_access.access_expires_at, later);
    let by_refresh = oauth::token_by_refresh_hash(&mut tx, &[5; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_refresh.id, token.id);
    assert!(
        oauth::mark_refreshed(&mut tx, token.id, later)
            .await
            .unwrap()
    );
    assert!(
        !oauth::mark_refreshed(&mut tx, token.id, later)
            .await
            .unwrap(),
        "a refresh token works once"
    );
    let grant = oauth::grant_by_id(&mut tx, grant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((grant.scope.as_str(), grant.revoked_at), ("identity", None));
    oauth::revoke_grant(&mut tx, grant_id, later).await.unwrap();
    let grant = oauth::grant_by_id(&mut tx, grant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.revoked_at, Some(later));
    let token = oauth::token_by_access_hash(&mut tx, &[4; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        token.revoked_at,
        Some(later),
        "revoking a grant revokes its tokens"
    );
    tx.commit().await.unwrap();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn charges_are_recorded_only_by_the_run_that_holds_them(#[case] backend: Backend) {
    use maecenas_store::charges::{Declined, NewCharge};
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (_, campaign) = creator_with_campaign(&store, &ids, "biller").await;
    let (patron, card, pledge) = patron_pledging(&store, &ids, campaign, "payer").await;
    let t0 = now();
    let charge = |id: ChargeId, run: &str| NewCharge {
        id,
        kind: "pledge",
        pledge_id: Some(pledge.id),
        donation_id: None,
        period: Some(format!("2026-{:02}", 1 + id.get() % 12)),
        patron_id: patron.id,
        campaign_id: campaign,
        payment_method_id: Some(card.id.get()),
        currency: "USD".into(),
        amount_minor: 500,
        gateway_fee_minor: 45,
        platform_fee_minor: 25,
        creator_net_minor: 430,
        gateway: "test".into(),
        claimed_by: run.to_owned(),
        claimed_until: t0 + time::Duration::minutes(5),
        created_at: t0,
    };
    let (paid, declined) = (ids.next(), ids.next());
    let mut tx = store.write().await.unwrap();
    let inserted =
        charges::insert_charges(&mut tx, &[charge(paid, "run-a"), charge(declined, "run-a")])
            .await
            .unwrap();
    assert_eq!(inserted.len(), 2);
    let claimed = charges::charges_with_cards(&mut tx, &[paid.get(), declined.get()])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2, "each charge with the card it is paid by");
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    // Another run's outcome is not recorded: the charge is not its to settle.
    let stolen = charges::record_successes(&mut tx, "run-b", &[(paid, "pi_x".into())], t0)
        .await
        .unwrap();
    assert!(stolen.is_empty());
    let recorded = charges::record_successes(&mut tx, "run-a", &[(paid, "pi_1".into())], t0)
        .await
        .unwrap();
    assert_eq!(recorded, vec![paid]);
    let retry_at = t0 + time::Duration::days(1);
    let failure = || Declined {
        code: "card_declined",
        message: "Your card was declined.",
        first_failed_at: t0,
        retry_at: Some(retry_at),
    };
    assert!(
        !charges::record_failure(&mut tx, "run-b", declined, failure(), t0)
            .await
            .unwrap()
    );
    assert!(
        charges::record_failure(&mut tx, "run-a", declined, failure(), t0)
            .await
            .unwrap()
    );
    let paid_row = charges::charge_by_id(&mut tx, paid).await.unwrap().unwrap();
    assert_eq!(paid_row.status, ChargeStatus::Succeeded);
    assert_eq!(paid_row.gateway_ref.as_deref(), Some("pi_1"));
    let declined_row = charges::charge_by_id(&mut tx, declined)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(declined_row.status, ChargeStatus::Retrying);
    assert_eq!(declined_row.next_attempt_at, retry_at);
    assert_eq!(declined_row.failure_code.as_deref(), Some("card_declined"));
    tx.commit().await.unwrap();

    // The creator's dashboard counts what was paid, by month.
    let mut tx = store.read().await.unwrap();
    let income = maecenas_store::dashboard::monthly_income(&mut tx, campaign, 12)
        .await
        .unwrap();
    assert_eq!(income.len(), 1, "{income:?}");
    assert_eq!(income[0].period, paid_row.period.clone().unwrap());
    assert_eq!(
        (
            income[0].gross_minor,
            income[0].net_minor,
            income[0].paying_patrons
        ),
        (500, 430, 1)
    );
}

/// A patron with a card and a monthly pledge of 5 USD to `campaign`, stored.
async fn patron_pledging(
    store: &Store,
    ids: &SnowflakeGenerator,
    campaign: CampaignId,
    name: &str,
) -> (NewUser, PaymentMethodRow, NewPledge) {
    let patron = new_user(ids, &format!("{name}@example.org"), None);
    let card = PaymentMethodRow {
        id: ids.next(),
        user_id: patron.id,
        gateway: "test".into(),
        gateway_ref: format!("pm_{name}"),
        brand: "Visa".into(),
        last4: "4242".into(),
        exp_month: 12,
        exp_year: 2030,
        is_verified: true,
        has_failed_payment: false,
        created_at: now(),
        removed_at: None,
    };
    let pledge = NewPledge {
        id: ids.next(),
        patron_id: patron.id,
        campaign_id: campaign,
        tier_id: None,
        amount_minor: 500,
        currency: "USD".into(),
        pledge_cap_minor: None,
        patron_pays_fees: false,
        address_id: None,
        payment_method_id: Some(card.id),
        vat_country: None,
        created_at: now(),
    };
    let mut tx = store.write().await.unwrap();
    users::insert_user(&mut tx, &patron).await.unwrap();
    cards::insert_payment_method(&mut tx, &card).await.unwrap();
    pledges::insert_pledge(&mut tx, &pledge).await.unwrap();
    tx.commit().await.unwrap();
    (patron, card, pledge)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_dashboard_lists_current_patrons_by_keyset_search_and_status(#[case] backend: Backend) {
    use maecenas_store::dashboard;
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (_, campaign) = creator_with_campaign(&store, &ids, "listed").await;
    let (_, older) = creator_with_campaign(&store, &ids, "elsewhere").await;
    let (_, _, first) = patron_pledging(&store, &ids, campaign, "first").await;
    let (_, _, second) = patron_pledging(&store, &ids, campaign, "second").await;
    let (_, _, other) = patron_pledging(&store, &ids, older, "other").await;
    let mut tx = store.write().await.unwrap();
    assert!(
        pledges::cancel_pledge(&mut tx, second.id, now())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let all = dashboard::patrons(&mut tx, campaign, "", "", None, 10)
        .await
        .unwrap();
    let listed: Vec<i64> = all.iter().map(|l| l.pledge_id).collect();
    assert_eq!(
        listed,
        vec![first.id.get(), second.id.get()],
        "in pledge order, this campaign only"
    );
    assert!(!listed.contains(&other.id.get()));
    assert_eq!(all[0].status, PledgeStatus::Active);
    assert_eq!(all[1].status, PledgeStatus::Cancelled);
    assert!(all[1].cancelled_at.is_some());
    assert_eq!(all[0].email, "first@example.org");

    let page = dashboard::patrons(&mut tx, campaign, "", "", Some(first.id), 10)
        .await
        .unwrap();
    assert_eq!(
        page.len(),
        1,
        "the keyset continues after the last line shown"
    );
    assert_eq!(page[0].pledge_id, second.id.get());
    let one = dashboard::patrons(&mut tx, campaign, "", "", None, 1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);

    let cancelled = dashboard::patrons(&mut tx, campaign, "", "cancelled", None, 10)
        .await
        .unwrap();
    assert_eq!(
        cancelled.iter().map(|l| l.pledge_id).collect::<Vec<_>>(),
        vec![second.id.get()]
    );
    let found = dashboard::patrons(&mut tx, campaign, "SECOND@", "", None, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "search ignores case");
    assert_eq!(found[0].pledge_id, second.id.get());
    let none = dashboard::patrons(&mut tx, campaign, "nobody", "", None, 10)
        .await
        .unwrap();
    assert!(none.is_empty());
    let income = dashboard::monthly_income(&mut tx, campaign, 12)
        .await
        .unwrap();
    assert!(income.is_empty(), "no charge has succeeded yet");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_ledger_keeps_its_invariants_and_a_payout_is_recorded_once(#[case] backend: Backend) {
    use maecenas_store::ledger::{self, LedgerLine};
    use maecenas_store::payouts::{self, PayoutRow};
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (_, campaign) = creator_with_campaign(&store, &ids, "earner").await;
    let t0 = now();
    let line =
        |journal: i64, account: &'static str, campaign, amount: i64, payout: Option<PayoutId>| {
            LedgerLine {
                journal_id: journal,
                account,
                campaign_id: campaign,
                line: if payout.is_some() {
                    "payout"
                } else {
                    "creator_share"
                },
                amount_minor: amount,
                currency: "USD".into(),
                charge_id: None,
                payout_id: payout,
                created_at: t0,
            }
        };

    // What the platform owes the creator is what was credited to them.
    let mut tx = store.write().await.unwrap();
    ledger::insert_ledger_lines(
        &mut tx,
        &[
            line(1, "gateway_cash", None, 430, None),
            line(1, "creator_payable", Some(campaign), -430, None),
        ],
    )
    .await
    .unwrap();
    assert!(ledger::verify(&mut tx).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let balance = ledger::creator_balance(&mut tx, campaign).await.unwrap();
    assert_eq!(balance.len(), 1);
    assert_eq!(
        (balance[0].currency.as_str(), balance[0].amount_minor),
        ("USD", 430)
    );
    assert_eq!(
        ledger::campaigns_with_balance(&mut tx).await.unwrap(),
        vec![campaign]
    );
    drop(tx);

    // A posting that does not sum to zero is reported (and rolled back here).
    let mut tx = store.write().await.unwrap();
    ledger::insert_ledger_lines(&mut tx, &[line(2, "gateway_cash", None, 1, None)])
        .await
        .unwrap();
    let broken = ledger::verify(&mut tx).await.unwrap();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(
        broken[0].rule,
        "every posting sums to zero in each currency"
    );
    drop(tx);

    // A payout is recorded before it is sent, once per campaign and period.
    let payout = PayoutRow {
        id: ids.next(),
        campaign_id: campaign,
        period: Some("2026-11".into()),
        currency: "USD".into(),
        amount_minor: 430,
        status: PayoutStatus::Pending,
        gateway: "manual".into(),
        gateway_ref: None,
        failure_message: None,
        created_at: t0,
        paid_at: None,
    };
    let mut tx = store.write().await.unwrap();
    assert!(payouts::insert_payout(&mut tx, &payout).await.unwrap());
    let again = PayoutRow {
        id: ids.next(),
        ..payout.clone()
    };
    assert!(
        !payouts::insert_payout(&mut tx, &again).await.unwrap(),
        "one payout per period"
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let pending = payouts::pending_payouts(&mut tx, t0 + time::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(pending, vec![payout.clone()]);
    assert!(
        payouts::pending_payouts(&mut tx, t0)
            .await
            .unwrap()
            .is_empty(),
        "only older than `before`"
    );
    drop(tx);

    // Paid: posted in the same transaction, the balance is settled.
    let mut tx = store.write().await.unwrap();
    payouts::finish_payout(&mut tx, payout.id, Ok("po_1"), t0)
        .await
        .unwrap();
    let unposted = ledger::verify(&mut tx).await.unwrap();
    assert_eq!(
        unposted.iter().map(|v| v.rule).collect::<Vec<_>>(),
        vec!["every paid payout is posted, and only those"]
    );
    ledger::insert_ledger_lines(
        &mut tx,
        &[
            line(3, "creator_payable", Some(campaign), 430, Some(payout.id)),
            line(3, "gateway_cash", None, -430, Some(payout.id)),
        ],
    )
    .await
    .unwrap();
    assert!(ledger::verify(&mut tx).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let listed = payouts::payouts_of_campaign(&mut tx, campaign, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, PayoutStatus::Paid);
    assert_eq!(listed[0].gateway_ref.as_deref(), Some("po_1"));
    assert_eq!(listed[0].paid_at, Some(t0));
    let settled = ledger::creator_balance(&mut tx, campaign).await.unwrap();
    assert!(settled.iter().all(|b| b.amount_minor == 0), "{settled:?}");
    assert!(
        payouts::pending_payouts(&mut tx, t0 + time::Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn webhook_deliveries_are_claimed_once_retried_and_held_while_paused(
    #[case] backend: Backend,
) {
    use maecenas_store::webhooks::{
        self, AttemptOutcome, NewDelivery, NewEvent, NextStep, WebhookRow,
    };
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (_, campaign) = creator_with_campaign(&store, &ids, "hooked").await;
    let t0 = now();
    let hook = WebhookRow {
        id: ids.next(),
        campaign_id: campaign,
        oauth_client_id: None,
        uri: "https://receiver.example/hook".into(),
        triggers: "members:pledge:create".into(),
        secret: "whsec_conformance".into(),
        paused: false,
        paused_reason: None,
        num_consecutive_times_failed: 0,
        last_attempted_at: None,
        failing_since: None,
        created_at: t0,
        updated_at: t0,
    };
    let event = |id: WebhookEventId| NewEvent {
        id,
        campaign_id: campaign,
        trigger: "members:pledge:create".into(),
        pledge_id: None,
        charge_id: None,
        is_test: false,
        body: r#"{"data":{}}"#.into(),
        created_at: t0,
    };
    let delivery = |id: DeliveryId, event_id| NewDelivery {
        id,
        webhook_id: hook.id,
        event_id,
        next_attempt_at: t0,
        give_up_at: t0 + time::Duration::days(3),
    };
    let (first_event, first) = (ids.next(), ids.next());
    let mut tx = store.write().await.unwrap();
    webhooks::insert_webhook(&mut tx, &hook).await.unwrap();
    webhooks::insert_events(
        &mut tx,
        &[event(first_event)],
        &[delivery(first, first_event)],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let lease = t0 + time::Duration::minutes(1);
    let claim = |at: OffsetDateTime, worker: &'static str| {
        let store = store.clone();
        async move {
            let mut tx = store.write().await.unwrap();
            let claimed = webhooks::claim_deliveries(
                &mut tx,
                at,
                worker,
                at + time::Duration::minutes(1),
                &[],
                10,
                10,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            claimed
        }
    };

    // One worker takes it; while its lease holds, nobody else does.
    let taken = claim(t0, "worker-a").await;
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id, taken[0].attempts), (first, 1));
    assert_eq!(taken[0].secret, "whsec_conformance");
    assert_eq!(taken[0].body, r#"{"data":{}}"#);
    assert!(claim(t0, "worker-b").await.is_empty(), "leased to worker-a");

    // A failed attempt is logged and retried when it is due, not before.
    let retry_at = t0 + time::Duration::minutes(5);
    let outcome = |attempt: i32, next: NextStep, status_code: i32| AttemptOutcome {
        attempt_id: ids.next_raw(),
        delivery_id: first,
        webhook_id: hook.id,
        attempt,
        started_at: t0,
        latency_ms: 12,
        status_code: Some(status_code),
        error: None,
        response_start: None,
        next,
    };
    let mut tx = store.write().await.unwrap();
    webhooks::record_attempts(
        &mut tx,
        "worker-a",
        &[outcome(1, NextStep::RetryAt(retry_at), 503)],
        t0,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(
        claim(lease, "worker-b").await.is_empty(),
        "not due until {retry_at}"
    );
    let retried = claim(retry_at, "worker-b").await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 2);

    // The worker that lost its lease records nothing; the holder does.
    let mut tx = store.write().await.unwrap();
    webhooks::record_attempts(
        &mut tx,
        "worker-a",
        &[outcome(2, NextStep::Delivered, 200)],
        retry_at,
    )
    .await
    .unwrap();
    let counts = webhooks::delivery_counts(&mut tx, hook.id).await.unwrap();
    assert_eq!(
        (counts.pending, counts.delivered),
        (1, 0),
        "worker-a no longer holds it"
    );
    webhooks::record_attempts(
        &mut tx,
        "worker-b",
        &[outcome(2, NextStep::Delivered, 200)],
        retry_at,
    )
    .await
    .unwrap();
    let counts = webhooks::delivery_counts(&mut tx, hook.id).await.unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.failed), (0, 1, 0));
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let shown = webhooks::delivery_by_id(&mut tx, first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown.status, DeliveryStatus::Delivered);
    assert_eq!((shown.attempts, shown.last_status), (2, Some(200)));
    assert!(shown.delivered_at.is_some());
    let attempts = webhooks::attempts_of_webhook(&mut tx, hook.id, 10)
        .await
        .unwrap();
    // What a worker sends after losing its lease is not its to record.
    let logged: Vec<_> = attempts
        .iter()
        .map(|a| (a.attempt, a.status_code))
        .collect();
    assert_eq!(logged, vec![(2, Some(200)), (1, Some(503))], "newest first");
    assert!(
        webhooks::may_deliver(&mut tx, hook.id, "w:campaigns.webhook")
            .await
            .unwrap()
    );
    drop(tx);

    // A paused webhook's deliveries wait: none is claimed, none is lost.
    let (second_event, second) = (ids.next(), ids.next());
    let mut tx = store.write().await.unwrap();
    webhooks::insert_events(
        &mut tx,
        &[event(second_event)],
        &[delivery(second, second_event)],
    )
    .await
    .unwrap();
    assert_eq!(
        webhooks::pause_webhooks_of_campaign(&mut tx, campaign, "account_closed", t0)
            .await
            .unwrap(),
        1
    );
    assert!(
        !webhooks::may_deliver(&mut tx, hook.id, "w:campaigns.webhook")
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert!(claim(retry_at, "worker-c").await.is_empty());
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        webhooks::delivery_counts(&mut tx, hook.id)
            .await
            .unwrap()
            .pending,
        1
    );
    assert_eq!(webhooks::pending_deliveries(&mut tx).await.unwrap(), 1);
    let paused = webhooks::webhook_by_id(&mut tx, hook.id)
        .await
        .unwrap()
        .unwrap();
    assert!(paused.paused);
    assert_eq!(paused.paused_reason.as_deref(), Some("account_closed"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn posts_page_newest_first_and_a_patrons_feed_follows_their_pledges(
    #[case] backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = ids();
    let (_, campaign) = creator_with_campaign(&store, &ids, "painter").await;
    let patron = new_user(&ids, "patron@example.org", Some("patron"));
    insert(&store, &patron).await.unwrap();
    let start = now() - time::Duration::days(30);
    let mut tx = store.write().await.unwrap();
    // Twenty-five published posts a day apart (the third and fourth at the
    // same instant, told apart by id) and one draft.
    let mut published = Vec::new();
    for n in 0..25i64 {
        let at = start + time::Duration::days(n.min(2) + (n - 2).max(0));
        let post = CreationRow {
            id: ids.next(),
            campaign_id: campaign,
            title: format!("Post {n}"),
            body: format!("Body {n}"),
            is_paid: false,
            audience: if n % 2 == 0 { "public" } else { "patrons" }.into(),
            min_tier_id: None,
            embed_url: None,
            created_at: at,
            updated_at: at,
            published_at: Some(at),
        };
        posts::insert_creation(&mut tx, &post).await.unwrap();
        published.push(post);
    }
    let draft = CreationRow {
        id: ids.next(),
        title: "Draft".into(),
        published_at: None,
        ..published[0].clone()
    };
    posts::insert_creation(&mut tx, &draft).await.unwrap();
    tx.commit().await.unwrap();

    let mut expected = published.clone();
    expected.sort_by_key(|p| std::cmp::Reverse((p.published_at, p.id)));
    let mut seen = Vec::new();
    let mut after = None;
    let mut tx = store.read().await.unwrap();
    loop {
        let page = posts::published_creations(&mut tx, campaign, after, 10)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(posts::PostCursor {
            published_at: last.published_at.unwrap(),
            id: last.id,
        });
        seen.extend(page);
    }
    assert_eq!(
        seen, expected,
        "every published post once, newest first, no draft"
    );
    assert_eq!(
        posts::recent_creations(&mut tx, campaign, 100)
            .await
            .unwrap()
            .len(),
        26
    );
    assert!(
        posts::feed_of_patron(&mut tx, patron.id, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "no pledge, no feed"
    );
    drop(tx);

    let mut tx = store.write().await.unwrap();
    pledges::insert_pledge(
        &mut tx,
        &NewPledge {
            id: ids.next(),
            patron_id: patron.id,
            campaign_id: campaign,
            tier_id: None,
            amount_minor: 500,
            currency: "USD".into(),
            pledge_cap_minor: None,
            patron_pays_fees: false,
            address_id: None,
            payment_method_id: None,
            vat_country: None,
            created_at: now(),
        },
    )
    .await
    .unwrap();
    let edited = CreationRow {
        title: "Post 24, edited".into(),
        embed_url: Some("https://video.example/24".into()),
        updated_at: now(),
        ..expected[0].clone()
    };
    assert!(posts::update_creation(&mut tx, &edited).await.unwrap());
    let image = posts::PostImageRow {
        meta: posts::PostImageMeta {
            id: ids.next(),
            creation_id: edited.id,
            content_type: "image/png".into(),
            width: 1,
            height: 1,
            etag: "e".into(),
        },
        bytes: maecenas_domain::avatar::TINY_PNG.to_vec(),
        created_at: now(),
    };
    posts::insert_image(&mut tx, &image).await.unwrap();
    posts::put_feed_secret(&mut tx, patron.id, b"hash-one", now())
        .await
        .unwrap();
    posts::put_feed_secret(&mut tx, patron.id, b"hash-two", now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let feed = posts::feed_of_patron(&mut tx, patron.id, None, 3)
        .await
        .unwrap();
    assert_eq!(feed.len(), 3);
    assert_eq!(feed[0].creation, edited);
    assert_eq!(
        (
            feed[0].pledge_amount_minor,
            feed[0].creator_username.as_deref()
        ),
        (500, Some("painter"))
    );
    assert_eq!(
        posts::image_of(&mut tx, edited.id, image.meta.id)
            .await
            .unwrap(),
        Some(image.clone())
    );
    assert_eq!(
        posts::image_of(&mut tx, expected[1].id, image.meta.id)
            .await
            .unwrap(),
        None,
        "a picture is found only under its own post"
    );
    assert_eq!(posts::feed_owner(&mut tx, b"hash-one").await.unwrap(), None);
    assert_eq!(
        posts::feed_owner(&mut tx, b"hash-two").await.unwrap(),
        Some(patron.id)
    );
    drop(tx);

    let mut tx = store.write().await.unwrap();
    assert!(posts::delete_creation(&mut tx, edited.id).await.unwrap());
    assert!(!posts::delete_creation(&mut tx, edited.id).await.unwrap());
    assert!(posts::delete_feed_secret(&mut tx, patron.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        posts::creation_by_id(&mut tx, edited.id).await.unwrap(),
        None
    );
    assert_eq!(posts::feed_owner(&mut tx, b"hash-two").await.unwrap(), None);
}
