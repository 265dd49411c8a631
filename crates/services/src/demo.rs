//! `maecenas serve --demo`: a creator with a published campaign, tiers, goals,
//! creations, a few hundred patrons with pledges, an OAuth client and an API
//! key, so a newcomer can look around and call the API at once.

use maecenas_domain::{CampaignId, CreationId, PaymentMethodId, PledgeId, UserId, snowflake_at};
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
/// The demo's operator: `/admin/users`, and `/admin/emails` (every message the
/// demo sent, with no mail server).
pub const DEMO_ADMIN_EMAIL: &str = "operator@demo.maecenas.test";
pub const DEMO_PASSWORD: &str = "maecenas-demo";
pub const DEMO_PATRONS: usize = 300;
/// The newest patrons whose cards are declined when charged.
pub const DEMO_DECLINING_CARDS: usize = 4;
pub const DEMO_SECOND_CREATOR_USERNAME: &str = "nightgarden";
pub const DEMO_SECOND_CREATOR_EMAIL: &str = "garden@demo.maecenas.test";
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

struct DemoPost {
    title: &'static str,
    body: &'static str,
    video: Option<&'static str>,
}

/// A year of the demo studio's posts, oldest first.
const POSTS: [DemoPost; 12] = [
    DemoPost {
        title: "The paper boat",
        body: "Our first short of the year is out. **1,440 drawings**, three weeks of rain outside the studio, and one paper boat that refused to stay afloat.\n\nThank you for making the drawing time possible.",
        video: Some("https://video.example/cerulean/paper-boat"),
    },
    DemoPost {
        title: "Storyboards",
        body: "The storyboards for the next film, panel by panel, with the notes we scribbled on them.\n\n- the opening is a single long shot\n- the middle moved twice\n- the ending is still a secret",
        video: None,
    },
    DemoPost {
        title: "Director's commentary",
        body: "For Fans: twelve minutes of us talking over *The paper boat*, including the three scenes we cut and why.",
        video: Some("https://video.example/cerulean/paper-boat-commentary"),
    },
    DemoPost {
        title: "Colour tests",
        body: "We tried four palettes for the winter film. Vote in the comments of the stream: cold blue, warm grey, ink only, or all of them at once.",
        video: None,
    },
    DemoPost {
        title: "Lanterns",
        body: "*Lanterns* is finished. Patrons see it a month before anyone else; it goes public on the first of next month.",
        video: Some("https://video.example/cerulean/lanterns"),
    },
    DemoPost {
        title: "Brushes we use",
        body: "For Fans: the brush settings behind the soft edges in *Lanterns*, to download and try in your own drawings.",
        video: None,
    },
    DemoPost {
        title: "A studio tour",
        body: "The new desk, the light table we rescued from a school, and the cat that sleeps on the warm scanner.",
        video: Some("https://video.example/cerulean/studio-tour"),
    },
    DemoPost {
        title: "Sound design notes",
        body: "How the rain in *Lanterns* was made: a frying pan, rice, and a lot of patience.",
        video: None,
    },
    DemoPost {
        title: "Unused scenes",
        body: "For Fans: the scenes that did not make it into *Lanterns*, rough and unfinished, with a few words on each.",
        video: None,
    },
    DemoPost {
        title: "Winter",
        body: "Our longest film so far, and the first with a second voice actor. Thank you for a year of drawing time.",
        video: Some("https://video.example/cerulean/winter"),
    },
    DemoPost {
        title: "What comes next",
        body: "Next year: one short every month if we reach our first goal, and a longer film if we reach the second. Here is the plan, month by month.",
        video: None,
    },
    DemoPost {
        title: "Winter, frame by frame",
        body: "For Fans: the making of *Winter* in 300 frames, from the first pencil line to the final colour.",
        video: None,
    },
];

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

const CERULEAN_AVATAR: &[u8] = include_bytes!("../assets/demo/cerulean-avatar.jpg");
const GARDEN_AVATAR: &[u8] = include_bytes!("../assets/demo/night-garden-avatar.jpg");
const PAPER_BOAT: &[u8] = include_bytes!("../assets/demo/paper-boat.jpg");
const LANTERNS: &[u8] = include_bytes!("../assets/demo/lanterns.jpg");
const WINTER: &[u8] = include_bytes!("../assets/demo/winter.jpg");
const GARDEN: &[u8] = include_bytes!("../assets/demo/night-garden.jpg");

/// A demo patron of the first creator, some of whom also back the second.
struct DemoPatron {
    id: UserId,
    card: PaymentMethodId,
    country: &'static str,
    joined: OffsetDateTime,
}

/// What the pictures are added to once the records are in.
struct SecondCreator {
    creator: UserId,
    trailer: CreationId,
}

/// The second creator's episodes, oldest first: paid, so publishing each
/// charges its patrons at the month's close.
const EPISODES: [(&str, &str); 6] = [
    (
        "Moonflowers",
        "Why some flowers wait for the dark to open, and the moths that wait with them. Recorded in a greenhouse at two in the morning.",
    ),
    (
        "The smell of rain",
        "Petrichor, geosmin and the garden after a summer storm, with a soil scientist who has smelled more mud than anyone we know.",
    ),
    (
        "Night shift",
        "Bats, hedgehogs and the slugs nobody invited: who works in a garden while we sleep.",
    ),
    (
        "Glow",
        "Glow-worms, foxfire and a mushroom that lights a path. **Listener bonus:** the full interview, forty extra minutes.",
    ),
    (
        "Frost",
        "What a first frost does to a garden, cell by cell, and what the plants do to survive it.",
    ),
    (
        "The longest night",
        "A solstice special: a whole night in the garden, from dusk to the first bird, with almost no talking.",
    ),
];

/// A per-creation podcast in euros, whose page has its own name: about a
/// quarter of the first creator's patrons back it too, some with a monthly cap.
async fn seed_night_garden(
    tx: &mut maecenas_store::Tx,
    id_at: &mut impl FnMut(OffsetDateTime) -> i64,
    password_hash: &str,
    patrons: &[DemoPatron],
    now: OffsetDateTime,
) -> Result<SecondCreator, ServiceError> {
    let started = now - Duration::days(100);
    let creator = UserId::from(id_at(started));
    users::insert_user(
        tx,
        &NewUser {
            id: creator,
            email: DEMO_SECOND_CREATOR_EMAIL.into(),
            password_hash: Some(password_hash.to_owned()),
            username: Some(DEMO_SECOND_CREATOR_USERNAME.into()),
            first_name: "Mira".into(),
            last_name: "Okafor".into(),
            about:
                "I record gardens after dark: the plants, the animals and the people who know them."
                    .into(),
            description: "A podcast about gardens at night.".into(),
            is_creator: true,
            is_admin: false,
            created_at: started,
        },
    )
    .await?;
    let campaign_id = CampaignId::from(id_at(started + Duration::minutes(5)));
    let fields = CampaignFields {
        page_name: Some("The Night Garden".into()),
        summary: Some("A podcast about what happens in a garden after dark. Patrons pay per episode, never more than their monthly cap, and hear every episode the day it is out.".into()),
        creation_name: Some("a podcast about gardens at night".into()),
        pay_per_name: Some("episode".into()),
        one_liner: Some("Field recordings and stories from gardens after dark".into()),
        thanks_msg: Some("Welcome to the garden. The next episode comes to your feed the day it is out.".into()),
        is_monthly: false,
        is_nsfw: false,
        show_earnings: true,
        ..CampaignFields::default()
    };
    campaigns::insert_campaign(
        tx,
        campaign_id,
        creator,
        "EUR",
        &fields,
        Some(started + Duration::days(1)),
        started,
    )
    .await?;
    let tiers = [
        (
            "Listener",
            "Every episode, ad-free, the day it is out.",
            200,
        ),
        (
            "Gardener",
            "Every episode, plus the raw night recordings to download.",
            500,
        ),
    ];
    let mut tier_ids = Vec::new();
    for (position, (title, description, price)) in tiers.iter().enumerate() {
        let id = id_at(started + Duration::minutes(10 + position as i64)).into();
        campaigns::insert_tier(
            tx,
            &NewTier {
                id,
                campaign_id,
                title: (*title).into(),
                description: (*description).into(),
                amount_minor: *price,
                patron_limit: None,
                requires_shipping: false,
                image_url: None,
                position: position as i32,
                created_at: started,
            },
        )
        .await?;
        tier_ids.push(id);
    }
    campaigns::insert_goal(
        tx,
        id_at(started + Duration::minutes(20)).into(),
        campaign_id,
        100_000,
        "A second microphone",
        "At 1.000,00 € per episode we record in stereo, two gardens at once.",
        started,
    )
    .await?;

    let trailer_at = started + Duration::days(2);
    let trailer = CreationId::from(id_at(trailer_at));
    posts::insert_creation(
        tx,
        &CreationRow {
            id: trailer,
            campaign_id,
            title: "Trailer: welcome to the Night Garden".into(),
            body: "Two minutes from the greenhouse at night, and what this podcast will be. Free for everyone: share it with someone who likes gardens.".into(),
            is_paid: false,
            audience: "public".into(),
            min_tier_id: None,
            embed_url: Some("https://audio.example/night-garden/trailer.mp3".into()),
            created_at: trailer_at,
            updated_at: trailer_at,
            published_at: Some(trailer_at),
        },
    )
    .await?;
    for (n, (title, body)) in EPISODES.iter().enumerate() {
        // Every two weeks; the newest is a few days old.
        let published = started + Duration::days(14 * n as i64 + 20);
        posts::insert_creation(
            tx,
            &CreationRow {
                id: id_at(published).into(),
                campaign_id,
                title: format!("Episode {}: {title}", n + 1),
                body: (*body).into(),
                is_paid: true,
                // The raw recordings are for Gardeners; every episode is for
                // its paying patrons.
                audience: if n % 3 == 2 { "tier" } else { "patrons" }.into(),
                min_tier_id: (n % 3 == 2).then(|| tier_ids[1].get()),
                embed_url: Some(format!(
                    "https://audio.example/night-garden/episode-{}.mp3",
                    n + 1
                )),
                created_at: published,
                updated_at: published,
                published_at: Some(published),
            },
        )
        .await?;
    }

    for (n, patron) in patrons.iter().enumerate().filter(|(n, _)| n % 4 == 1) {
        let gardener = n % 3 == 0;
        let amount = if gardener { 500 } else { 200 };
        let joined = patron.joined.max(started + Duration::days(1)) + Duration::hours(6);
        pledges::insert_pledge(
            tx,
            &NewPledge {
                id: PledgeId::from(id_at(joined)),
                patron_id: patron.id,
                campaign_id,
                tier_id: Some(tier_ids[usize::from(gardener)]),
                amount_minor: amount,
                currency: "EUR".into(),
                // Some cap what an episode-heavy month may cost them.
                pledge_cap_minor: (n % 8 == 1).then_some(amount * 2),
                patron_pays_fees: false,
                address_id: None,
                payment_method_id: Some(patron.card),
                vat_country: Some(patron.country.into()),
                created_at: joined,
            },
        )
        .await?;
    }
    Ok(SecondCreator { creator, trailer })
}

impl Services {
    /// Seeds the demo data once; on later starts only mints a fresh client
    /// secret and API key to print.
    pub async fn seed_demo(&self) -> Result<DemoAccess, ServiceError> {
        self.seed_demo_with(false).await
    }

    /// As [`seed_demo`](Self::seed_demo); with `history`, the pledges are
    /// also charged for the eleven months before this one and each month is
    /// paid out, as a platform running all year would have, so that the
    /// dashboard's chart and payouts have a year behind them (`serve --demo`;
    /// tests that only need the records skip it).
    pub async fn seed_demo_with(&self, history: bool) -> Result<DemoAccess, ServiceError> {
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
        users::insert_user(
            &mut tx,
            &NewUser {
                id: UserId::from(id_at(year_ago)),
                email: DEMO_ADMIN_EMAIL.into(),
                password_hash: Some(password_hash.clone()),
                username: None,
                first_name: "Ola".into(),
                last_name: "Operator".into(),
                about: String::new(),
                description: String::new(),
                is_creator: false,
                is_admin: true,
                created_at: year_ago,
            },
        )
        .await?;
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
        let mut cerulean_posts = Vec::new();
        for (month, post) in POSTS.iter().enumerate() {
            let published = year_ago + Duration::days(30 * month as i64 + 15);
            // Every third post is for Fan and up, the first and every
            // fourth after it for everyone, the rest for all patrons.
            let (audience, min_tier_id) = match month {
                m if m % 3 == 2 => ("tier", Some(tier_ids[1].get())),
                m if m % 4 == 0 => ("public", None),
                _ => ("patrons", None),
            };
            let post_id = CreationId::from(id_at(published));
            cerulean_posts.push(post_id);
            posts::insert_creation(
                &mut tx,
                &CreationRow {
                    id: post_id,
                    campaign_id,
                    title: format!("Short #{}: {}", month + 1, post.title),
                    body: post.body.into(),
                    // A monthly campaign: no post is charged on its own.
                    is_paid: false,
                    audience: audience.into(),
                    min_tier_id,
                    embed_url: post.video.map(str::to_owned),
                    created_at: published,
                    updated_at: published,
                    published_at: Some(published),
                },
            )
            .await?;
        }

        let mut patrons = Vec::new();
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
                    gateway_ref: format!("pm_test_ok_demo{patron_id}"),
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
            patrons.push(DemoPatron {
                id: patron_id,
                card: card_id,
                country,
                joined,
            });
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

        let garden = seed_night_garden(&mut tx, &mut id_at, &password_hash, &patrons, now).await?;

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
        // Through the use cases a creator uploads with, so the demo's
        // pictures are validated and stored as anyone's are.
        self.set_own_avatar(creator.id, CERULEAN_AVATAR.to_vec())
            .await?;
        self.set_own_avatar(garden.creator, GARDEN_AVATAR.to_vec())
            .await?;
        for (post, picture) in [
            (cerulean_posts[0], PAPER_BOAT),
            (cerulean_posts[4], LANTERNS),
            (cerulean_posts[9], WINTER),
        ] {
            self.add_post_image(creator.id, post, picture.to_vec())
                .await?;
        }
        self.add_post_image(garden.creator, garden.trailer, GARDEN.to_vec())
            .await?;
        // Demo cards are test-gateway cards: charge this month as a live
        // platform would have, so the demo shows paid pledges and a balance.
        if self.gateway_name() == "test" {
            if history {
                self.seed_demo_history().await?;
            }
            let newest = &patrons[patrons.len() - DEMO_DECLINING_CARDS..];
            self.give_declining_cards(newest).await?;
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

    /// A few patrons' cards start to decline this month, so that the
    /// dashboard has payments being retried to show (and their patrons a
    /// card to update).
    async fn give_declining_cards(&self, patrons: &[DemoPatron]) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        for patron in patrons {
            let card: PaymentMethodId = self.ids.next();
            cards::insert_payment_method(
                &mut tx,
                &PaymentMethodRow {
                    id: card,
                    user_id: patron.id,
                    gateway: "test".into(),
                    gateway_ref: format!("pm_test_chargedecline_demo{}", patron.id),
                    brand: "Visa".into(),
                    last4: "0341".into(),
                    exp_month: 6,
                    exp_year: 2031,
                    is_verified: true,
                    has_failed_payment: false,
                    created_at: now,
                    removed_at: None,
                },
            )
            .await?;
            pledges::set_pledges_card(&mut tx, patron.id, card.get(), now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The eleven months before this one, charged and paid out in turn.
    async fn seed_demo_history(&self) -> Result<(), ServiceError> {
        let mut period = maecenas_domain::BillingPeriod::containing(self.clock.now());
        let mut past = Vec::new();
        for _ in 0..11 {
            period = period.previous();
            past.push(period);
        }
        for period in past.into_iter().rev() {
            // Each month is charged as it closes and paid out as the next
            // one starts, on a clock set to that moment, so that charges,
            // retries and payouts carry their own dates.
            let then = Services {
                clock: std::sync::Arc::new(crate::FixedClock(
                    period.next().start() + Duration::hours(2),
                )),
                ..self.clone()
            };
            then.run_billing(Some(period), &crate::billing::Quiet)
                .await?;
            then.pay_out_all(period).await?;
        }
        // Past months were mailed in the past: only this month's messages go out.
        let mut tx = self.store.write().await?;
        for email in [DEMO_CREATOR_EMAIL, DEMO_SECOND_CREATOR_EMAIL] {
            if let Some(creator) = users::user_by_email(&mut tx, email).await?
                && let Some(campaign) = campaigns::campaign_by_creator(&mut tx, creator.id).await?
            {
                maecenas_store::emails::forget_unsent_mail_of_campaign(&mut tx, campaign.id)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
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
