//! `maecenas serve --demo`: a creator with a published campaign, tiers, goals,
//! creations, a few hundred patrons with pledges, an OAuth client and an API
//! key, so a newcomer can look around and call the API at once.

use maecenas_domain::{CampaignId, PledgeId, UserId, snowflake_at};
use maecenas_store::campaigns::{self, CampaignFields, NewTier};
use maecenas_store::cards::{AddressRow, PaymentMethodRow};
use maecenas_store::donations::DonationRow;
use maecenas_store::pledges::NewPledge;
use maecenas_store::posts::{self, CreationRow};
use maecenas_store::users::{self, NewUser};
use maecenas_store::{api_keys, oauth_clients};
use maecenas_store::{cards, donations, pledges};
use time::{Duration, OffsetDateTime};

use crate::developers::{API_KEY_PREFIX, CLIENT_SECRET_PREFIX};
use crate::{ServiceError, Services, secrets};

pub const DEMO_CREATOR_EMAIL: &str = "creator@demo.maecenas.test";
pub const DEMO_CREATOR_USERNAME: &str = "cerulean";
/// The demo accounts' password. Known on purpose: this is sample data for a
/// local server, and `serve --demo` says so when it starts.
pub const DEMO_PASSWORD: &str = "maecenas-demo";
pub const DEMO_PATRONS: usize = 300;
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:5000/oauth/callback";

/// What `serve --demo` prints. Secrets are fresh on every start: only their
/// hashes are stored, so the previous ones cannot be shown again.
pub struct DemoAccess {
    pub newly_seeded: bool,
    pub creator_email: String,
    pub creator_username: String,
    pub creator_id: UserId,
    pub campaign_id: CampaignId,
    pub patron_email_example: String,
    pub password: &'static str,
    pub patrons: usize,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: &'static str,
    pub api_key: String,
}
maecenas_domain::debug_showing!(DemoAccess {
    newly_seeded,
    creator_email,
    creator_username,
    creator_id,
    campaign_id,
    patron_email_example,
    patrons,
    client_id,
    redirect_uri
});

struct DemoTier {
    title: &'static str,
    description: &'static str,
    price: i64,
    limit: Option<i32>,
    shipping: bool,
}

const TIERS: [DemoTier; 3] = [
    DemoTier {
        title: "Supporter",
        description: "My thanks, and your name in the credits.",
        price: 300,
        limit: None,
        shipping: false,
    },
    DemoTier {
        title: "Fan",
        description: "Every short a week early, plus the making-of notes.",
        price: 1000,
        limit: None,
        shipping: false,
    },
    DemoTier {
        title: "Producer",
        description: "A signed print each season, mailed to you.",
        price: 2500,
        limit: Some(40),
        shipping: true,
    },
];

const COUNTRIES: [&str; 6] = ["US", "DE", "FR", "GB", "BE", "JP"];

impl Services {
    /// Seeds the demo data once; on later starts only mints a fresh client
    /// secret and API key to print.
    pub async fn seed_demo(&self) -> Result<DemoAccess, ServiceError> {
        // One hash for every demo account: argon2 is slow on purpose.
        let password_hash = secrets::hash_password(DEMO_PASSWORD.to_owned()).await?;
        let client_secret = secrets::mint(CLIENT_SECRET_PREFIX)?;
        let api_key = secrets::mint(API_KEY_PREFIX)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;

        if let Some(creator) = users::user_by_email(&mut tx, DEMO_CREATOR_EMAIL).await? {
            let campaign = campaigns::campaign_by_creator(&mut tx, creator.id)
                .await?
                .ok_or(ServiceError::NotFound("demo campaign"))?;
            let client = oauth_clients::list_clients(&mut tx, Some(creator.id))
                .await?
                .into_iter()
                .next()
                .ok_or(ServiceError::NotFound("demo client"))?;
            oauth_clients::rotate_secret(&mut tx, client.id, &client_secret.hash, now).await?;
            insert_demo_key(self, &mut tx, creator.id, &api_key, now).await?;
            tx.commit().await?;
            return Ok(self.demo_access(
                false,
                creator.id,
                campaign.id,
                client.client_id,
                client_secret,
                api_key,
            ));
        }

        let node = self.ids.node();
        // Back-dated records get ids minted for their own dates, so that ids
        // stay in creation order; each gets a distinct millisecond.
        let mut sequence = 0u16;
        let mut id_at = |at: OffsetDateTime| {
            sequence = sequence.wrapping_add(1);
            snowflake_at(
                (at.unix_timestamp_nanos() / 1_000_000) as u64,
                node,
                sequence,
            )
        };
        let year_ago = now - Duration::days(365);

        let creator = NewUser {
            id: UserId::from(id_at(year_ago)),
            email: DEMO_CREATOR_EMAIL.into(),
            password_hash: Some(password_hash.clone()),
            username: Some(DEMO_CREATOR_USERNAME.into()),
            first_name: "Cerulean".into(),
            last_name: "Studio".into(),
            about: "We make **short animated films** by hand, one frame at a time.\n\nEvery pledge buys us drawing time.".into(),
            description: "Hand-drawn animated shorts, every month.".into(),
            is_creator: true,
            is_admin: false,
            created_at: year_ago,
        };
        users::insert_user(&mut tx, &creator).await?;
        let campaign_id = CampaignId::from(id_at(year_ago + Duration::minutes(5)));
        let fields = CampaignFields {
            summary: Some("Cerulean Studio makes hand-drawn animated shorts. Patrons fund the drawing time and get every film early.".into()),
            creation_name: Some("animated shorts".into()),
            pay_per_name: Some("month".into()),
            one_liner: Some("Hand-drawn animation, one frame at a time".into()),
            thanks_msg: Some("Thank you! Your first early-access film is on its way.".into()),
            is_monthly: true,
            is_nsfw: false,
            show_earnings: true,
            ..CampaignFields::default()
        };
        campaigns::insert_campaign(
            &mut tx,
            campaign_id,
            creator.id,
            "USD",
            &fields,
            Some(year_ago + Duration::days(1)),
            year_ago,
        )
        .await?;

        let mut tier_ids = Vec::new();
        for (position, tier) in TIERS.iter().enumerate() {
            let id = id_at(year_ago + Duration::minutes(10 + position as i64)).into();
            campaigns::insert_tier(
                &mut tx,
                &NewTier {
                    id,
                    campaign_id,
                    title: tier.title.into(),
                    description: tier.description.into(),
                    amount_minor: tier.price,
                    patron_limit: tier.limit,
                    requires_shipping: tier.shipping,
                    image_url: None,
                    position: position as i32,
                    created_at: year_ago,
                },
            )
            .await?;
            tier_ids.push(id);
        }
        let goals = [
            (
                300_000,
                "A new short every month",
                "At $3,000 a month we can release a film every month instead of every season.",
            ),
            (
                800_000,
                "A second animator",
                "At $8,000 a month we hire a second animator full time.",
            ),
        ];
        for (i, (amount, title, description)) in goals.into_iter().enumerate() {
            let id = id_at(year_ago + Duration::minutes(20 + i as i64)).into();
            campaigns::insert_goal(
                &mut tx,
                id,
                campaign_id,
                amount,
                title,
                description,
                year_ago,
            )
            .await?;
        }
        for month in 0..12i64 {
            let published = year_ago + Duration::days(30 * month + 15);
            posts::insert_creation(
                &mut tx,
                &CreationRow {
                    id: id_at(published).into(),
                    campaign_id,
                    title: format!("Short #{}", month + 1),
                    body: "A new film is out for patrons.".into(),
                    is_paid: true,
                    audience: "patrons".into(),
                    min_tier_id: None,
                    embed_url: None,
                    created_at: published,
                    updated_at: published,
                    published_at: Some(published),
                },
            )
            .await?;
        }

        for n in 0..DEMO_PATRONS {
            // Patrons join over the year, a little faster lately.
            let joined = year_ago
                + Duration::hours(
                    24 + (n as i64 * n as i64 * 8760 / (DEMO_PATRONS as i64 * DEMO_PATRONS as i64))
                        * 3
                        / 4
                        + n as i64,
                );
            let email = format!("patron{:03}@demo.maecenas.test", n + 1);
            let patron_id = UserId::from(id_at(joined));
            users::insert_user(
                &mut tx,
                &NewUser {
                    id: patron_id,
                    email,
                    password_hash: Some(password_hash.clone()),
                    username: Some(format!("patron{:03}", n + 1)),
                    first_name: FIRST_NAMES[n % FIRST_NAMES.len()].into(),
                    last_name: LAST_NAMES[(n / FIRST_NAMES.len()) % LAST_NAMES.len()].into(),
                    about: String::new(),
                    description: String::new(),
                    is_creator: false,
                    is_admin: false,
                    created_at: joined,
                },
            )
            .await?;
            let card_id = id_at(joined + Duration::seconds(1)).into();
            cards::insert_payment_method(
                &mut tx,
                &PaymentMethodRow {
                    id: card_id,
                    user_id: patron_id,
                    gateway: "test".into(),
                    gateway_ref: format!("pm_test_ok_demo{}", patron_id),
                    brand: "Visa".into(),
                    last4: "4242".into(),
                    exp_month: 1 + (n % 12) as i32,
                    exp_year: 2030,
                    is_verified: true,
                    has_failed_payment: false,
                    created_at: joined,
                    removed_at: None,
                },
            )
            .await?;
            let tier_index = match n % 10 {
                0..=5 => 0,
                6..=8 => 1,
                _ => 2,
            };
            let tier = &TIERS[tier_index];
            let country = COUNTRIES[n % COUNTRIES.len()];
            let address_id = if tier.shipping {
                let id = id_at(joined + Duration::seconds(2)).into();
                cards::insert_address(
                    &mut tx,
                    &AddressRow {
                        id,
                        user_id: patron_id,
                        addressee: format!(
                            "{} {}",
                            FIRST_NAMES[n % FIRST_NAMES.len()],
                            LAST_NAMES[(n / FIRST_NAMES.len()) % LAST_NAMES.len()]
                        ),
                        line_1: format!("{} Demo Street", n + 1),
                        line_2: None,
                        postal_code: format!("{:05}", 10_000 + n),
                        city: "Sampleton".into(),
                        state: None,
                        country: country.into(),
                        phone_number: None,
                        created_at: joined,
                        updated_at: joined,
                    },
                )
                .await?;
                Some(id)
            } else {
                None
            };
            // Some patrons give more than their tier asks.
            let extra = if n % 7 == 0 { 200 } else { 0 };
            pledges::insert_pledge(
                &mut tx,
                &NewPledge {
                    id: PledgeId::from(id_at(joined + Duration::seconds(3))),
                    patron_id,
                    campaign_id,
                    tier_id: Some(tier_ids[tier_index]),
                    amount_minor: tier.price + extra,
                    currency: "USD".into(),
                    pledge_cap_minor: None,
                    patron_pays_fees: n % 4 == 0,
                    address_id,
                    payment_method_id: Some(card_id),
                    vat_country: Some(country.into()),
                    created_at: joined + Duration::seconds(3),
                },
            )
            .await?;
            if n % 25 == 0 {
                let at = joined + Duration::days(2);
                donations::insert_donation(
                    &mut tx,
                    &DonationRow {
                        id: id_at(at).into(),
                        donor_id: patron_id,
                        campaign_id,
                        amount_minor: 1500,
                        currency: "USD".into(),
                        message: "Keep drawing!".into(),
                        payment_method_id: Some(card_id.get()),
                        status: maecenas_domain::DonationStatus::Succeeded,
                        active_until: Some(at + Duration::days(30)),
                        created_at: at,
                    },
                )
                .await?;
            }
        }

        let client_id = secrets::public_identifier(24)?;
        oauth_clients::insert_client(
            &mut tx,
            &oauth_clients::NewOAuthClient {
                id: self.ids.next(),
                client_id: client_id.clone(),
                owner_id: creator.id,
                name: "Demo integration".into(),
                description:
                    "An OAuth client to try the Patreon and Sponsus flows against the demo data."
                        .into(),
                icon_url: None,
                secret_hash: client_secret.hash.clone(),
                redirect_uris: vec![DEMO_REDIRECT_URI.into()],
                created_at: now,
            },
        )
        .await?;
        insert_demo_key(self, &mut tx, creator.id, &api_key, now).await?;
        tx.commit().await?;
        // Demo cards are test-gateway cards: charge this month as a live
        // platform would have, so the demo shows paid pledges and a balance.
        if self.gateway_name() == "test" {
            self.run_billing(None, &crate::billing::Quiet).await?;
        }
        Ok(self.demo_access(
            true,
            creator.id,
            campaign_id,
            client_id,
            client_secret,
            api_key,
        ))
    }

    fn demo_access(
        &self,
        newly_seeded: bool,
        creator_id: UserId,
        campaign_id: CampaignId,
        client_id: String,
        client_secret: secrets::MintedSecret,
        api_key: secrets::MintedSecret,
    ) -> DemoAccess {
        DemoAccess {
            newly_seeded,
            creator_email: DEMO_CREATOR_EMAIL.into(),
            creator_username: DEMO_CREATOR_USERNAME.into(),
            creator_id,
            campaign_id,
            patron_email_example: "patron001@demo.maecenas.test".into(),
            password: DEMO_PASSWORD,
            patrons: DEMO_PATRONS,
            client_id,
            client_secret: client_secret.plaintext,
            redirect_uri: DEMO_REDIRECT_URI,
            api_key: api_key.plaintext,
        }
    }
}

async fn insert_demo_key(
    services: &Services,
    tx: &mut maecenas_store::Tx,
    owner: UserId,
    key: &secrets::MintedSecret,
    now: OffsetDateTime,
) -> Result<(), ServiceError> {
    api_keys::insert_api_key(
        tx,
        &api_keys::NewApiKey {
            id: services.ids.next(),
            owner_id: owner,
            name: format!("demo key ({})", now.date()),
            prefix: key.plaintext[..API_KEY_PREFIX.len() + 6].to_owned(),
            key_hash: key.hash.clone(),
            created_at: now,
        },
    )
    .await?;
    Ok(())
}

const FIRST_NAMES: [&str; 20] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Margaret",
    "Dennis",
    "Radia",
    "Ken",
    "Hedy",
    "Tim",
    "Katherine",
    "Linus",
    "Sophie",
    "Niklaus",
    "Joan",
    "Claude",
];
const LAST_NAMES: [&str; 15] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Thompson",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
];
