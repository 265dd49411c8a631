//! "Download my data": what Maecenas holds about a person, as one JSON
//! document they can read and take elsewhere (GDPR's rights of access and
//! portability, articles 15 and 20).
//!
//! The archive is written field by field here, not by serializing store
//! rows, so a column added to a table never leaks into it unseen: secrets
//! (the password hash, tokens, the gateway's references to a card) stay out,
//! and a card is its brand, last four digits and expiry.

use std::collections::HashMap;

use maecenas_domain::{CampaignId, UserId};
use maecenas_store::campaigns::{self, CampaignRow};
use maecenas_store::{cards, charges, donations, emails, oauth, pledges, users};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{ServiceError, Services};

/// Named in the archive, so a reader knows which shape it holds.
pub const ARCHIVE_FORMAT: &str = "maecenas-data-archive/1";

/// Far more than any person has; the archive is complete below it.
const ROWS_PER_LIST: i64 = 100_000;

#[derive(Debug, Serialize)]
pub struct DataArchive {
    pub format: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub profile: Profile,
    pub pledges: Vec<Pledge>,
    pub charges: Vec<Charge>,
    pub gifts: Vec<Gift>,
    pub addresses: Vec<Address>,
    pub cards: Vec<Card>,
    pub authorized_apps: Vec<AppGrant>,
    pub emails_sent: Vec<EmailSent>,
    /// What closing the account keeps, and why; the same words as the
    /// settings page.
    pub kept_after_deletion: &'static str,
}

/// Said on the settings page and in the archive.
pub const KEPT_AFTER_DELETION: &str = "Deleting your account cancels your pledges, revokes every app \
     and API key, hides your page and profile and ends your log-in. The record of each payment you made \
     (amount, date, the creator it went to) is kept, because the ledger must keep adding up for the \
     creators who were paid, for refunds and disputes, and for accounting law; your name and e-mail \
     address stay on the closed account with it. An operator erases those for good on request: the \
     payments then remain without anything that says who made them.";

#[derive(Debug, Serialize)]
pub struct Profile {
    pub id: String,
    pub email: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub email_verified_at: Option<OffsetDateTime>,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub about: String,
    pub is_creator: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
pub struct Pledge {
    pub id: String,
    pub creator: String,
    pub tier: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub amount: String,
    pub monthly_cap_minor: Option<i64>,
    pub patron_pays_fees: bool,
    pub status: &'static str,
    pub address_id: Option<String>,
    pub card_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub cancelled_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize)]
pub struct Charge {
    pub id: String,
    /// `pledge` or `donation`.
    pub kind: String,
    pub creator: String,
    pub period: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub amount: String,
    pub status: &'static str,
    pub failure_message: Option<String>,
    pub card_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub succeeded_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize)]
pub struct Gift {
    pub id: String,
    pub creator: String,
    pub amount_minor: i64,
    pub currency: String,
    pub amount: String,
    pub message: String,
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
pub struct Address {
    pub id: String,
    pub addressee: String,
    pub line_1: String,
    pub line_2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub state: Option<String>,
    pub country: String,
    pub phone_number: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A card as the archive shows it: never the gateway's reference to it.
#[derive(Debug, Serialize)]
pub struct Card {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub removed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize)]
pub struct AppGrant {
    pub app: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub authorized_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_token_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A message written to the person: its subject and fate, not its body
/// (which may have held a one-time link).
#[derive(Debug, Serialize)]
pub struct EmailSent {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

impl Services {
    /// Everything about `user`, read in one transaction so its parts agree.
    pub async fn data_archive(&self, user: UserId) -> Result<DataArchive, ServiceError> {
        let mut tx = self.store.read().await?;
        let me = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        let pledge_rows = pledges::pledges_of_patron(&mut tx, user, ROWS_PER_LIST).await?;
        let charge_rows = charges::charges_of_patron(&mut tx, user, ROWS_PER_LIST).await?;
        let gift_rows = donations::donations_by(&mut tx, user, ROWS_PER_LIST).await?;
        let address_rows = cards::addresses_of_user(&mut tx, user).await?;
        let card_rows = cards::payment_methods_of_user(&mut tx, user).await?;
        let grant_rows = oauth::grants_of_user(&mut tx, user).await?;
        let email_rows = emails::emails_of_user(&mut tx, user).await?;

        // The creators behind every campaign named above, by their public name.
        let mut creators: HashMap<CampaignId, String> = HashMap::new();
        let campaign_ids = pledge_rows
            .iter()
            .map(|p| p.campaign_id)
            .chain(charge_rows.iter().map(|c| c.campaign_id))
            .chain(gift_rows.iter().map(|g| g.campaign_id));
        for id in campaign_ids {
            if creators.contains_key(&id) {
                continue;
            }
            let name = match campaigns::campaign_by_id(&mut tx, id).await? {
                Some(campaign) => creator_name(&mut tx, &campaign).await?,
                None => format!("campaign {id}"),
            };
            creators.insert(id, name);
        }
        let mut tiers: HashMap<i64, String> = HashMap::new();
        for tier in pledge_rows.iter().filter_map(|p| p.tier()) {
            if let Some(row) = campaigns::tier_by_id(&mut tx, tier).await? {
                tiers.insert(tier.get(), row.title);
            }
        }
        let creator = |id: CampaignId| creators.get(&id).cloned().unwrap_or_default();

        Ok(DataArchive {
            format: ARCHIVE_FORMAT,
            generated_at: self.clock.now(),
            profile: Profile {
                id: me.id.to_string(),
                email: me.email,
                email_verified_at: me.email_verified_at,
                username: me.username,
                first_name: me.first_name,
                last_name: me.last_name,
                about: me.about,
                is_creator: me.is_creator,
                created_at: me.created_at,
                updated_at: me.updated_at,
            },
            pledges: pledge_rows
                .iter()
                .map(|p| Pledge {
                    id: p.id.to_string(),
                    creator: creator(p.campaign_id),
                    tier: p.tier_id.and_then(|t| tiers.get(&t).cloned()),
                    amount_minor: p.amount_minor,
                    currency: p.currency.clone(),
                    amount: crate::text::money(p.amount_minor, &p.currency),
                    monthly_cap_minor: p.pledge_cap_minor,
                    patron_pays_fees: p.patron_pays_fees,
                    status: p.status.as_str(),
                    address_id: p.address_id.map(|a| a.to_string()),
                    card_id: p.payment_method_id.map(|c| c.to_string()),
                    created_at: p.created_at,
                    cancelled_at: p.cancelled_at,
                    ended_at: p.ended_at,
                })
                .collect(),
            charges: charge_rows
                .iter()
                .map(|c| Charge {
                    id: c.id.to_string(),
                    kind: c.kind.clone(),
                    creator: creator(c.campaign_id),
                    period: c.period.clone(),
                    amount_minor: c.amount_minor,
                    currency: c.currency.clone(),
                    amount: crate::text::money(c.amount_minor, &c.currency),
                    status: c.status.as_str(),
                    failure_message: c.failure_message.clone(),
                    card_id: c.payment_method_id.map(|m| m.to_string()),
                    created_at: c.created_at,
                    succeeded_at: c.succeeded_at,
                })
                .collect(),
            gifts: gift_rows
                .iter()
                .map(|g| Gift {
                    id: g.id.to_string(),
                    creator: creator(g.campaign_id),
                    amount_minor: g.amount_minor,
                    currency: g.currency.clone(),
                    amount: crate::text::money(g.amount_minor, &g.currency),
                    message: g.message.clone(),
                    status: g.status.as_str(),
                    created_at: g.created_at,
                })
                .collect(),
            addresses: address_rows
                .into_iter()
                .map(|a| Address {
                    id: a.id.to_string(),
                    addressee: a.addressee,
                    line_1: a.line_1,
                    line_2: a.line_2,
                    postal_code: a.postal_code,
                    city: a.city,
                    state: a.state,
                    country: a.country,
                    phone_number: a.phone_number,
                    created_at: a.created_at,
                })
                .collect(),
            cards: card_rows
                .into_iter()
                .map(|m| Card {
                    id: m.id.to_string(),
                    brand: m.brand,
                    last4: m.last4,
                    exp_month: m.exp_month,
                    exp_year: m.exp_year,
                    added_at: m.created_at,
                    removed_at: m.removed_at,
                })
                .collect(),
            authorized_apps: grant_rows
                .into_iter()
                .map(|g| AppGrant {
                    app: g.client_name,
                    scopes: g.scope.split_whitespace().map(str::to_owned).collect(),
                    authorized_at: g.created_at,
                    last_token_at: g.last_token_at,
                    revoked_at: g.revoked_at,
                })
                .collect(),
            emails_sent: email_rows
                .into_iter()
                .map(|e| EmailSent {
                    kind: e.kind.as_str(),
                    to: e.to_address,
                    subject: e.subject,
                    status: e.status.as_str(),
                    written_at: e.created_at,
                    sent_at: e.sent_at,
                })
                .collect(),
            kept_after_deletion: KEPT_AFTER_DELETION,
        })
    }
}

/// A campaign's creator as pages name them.
async fn creator_name(
    tx: &mut maecenas_store::Tx,
    campaign: &CampaignRow,
) -> Result<String, ServiceError> {
    Ok(match users::user_by_id(tx, campaign.creator_id).await? {
        Some(creator) => crate::panel::page_name(campaign, &creator),
        None => String::new(),
    })
}
