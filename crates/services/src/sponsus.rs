//! Use cases behind the Sponsus v1 API: personal API keys, profiles and
//! sponsorship status.

use maecenas_domain::{ApiKeyId, Currency, ProfileStatus, UserId, Username};
use maecenas_store::StoreError;
use maecenas_store::api_keys::{self, ApiKeyRow};
use maecenas_store::campaigns::{self, TierRow};
use maecenas_store::donations::DonationTotals;
use maecenas_store::pledges::PledgeRow;
use maecenas_store::users::{self, ProfileFields, UserRow};
use maecenas_store::{donations, pledges};
use time::Duration;

use crate::{ServiceError, Services, secrets};

/// A sponsorship as the Sponsus seed describes it.
#[derive(Debug, Clone)]
pub struct SponsorshipStatus {
    pub pledge: PledgeRow,
    /// The creator sponsored (the seed's `targetID`).
    pub creator: UserId,
    pub tier: Option<TierRow>,
    pub currency: Currency,
    /// Whether this month is paid: for a monthly campaign, this month's
    /// charge went through; for a per-creation one, no charge is unpaid.
    pub has_paid: bool,
    pub donations: Option<DonationTotals>,
}

/// Changes to one's own profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub username: Option<String>,
    pub about: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    /// The rest are set on the settings page; the Sponsus API leaves them `None`.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `Some("")` clears a link.
    pub youtube: Option<String>,
    pub twitter: Option<String>,
    pub facebook: Option<String>,
}

pub const ABOUT_MAX_CHARS: usize = 20_000;
pub const DESCRIPTION_MAX_CHARS: usize = 500;
pub const NAME_MAX_CHARS: usize = 100;

/// A social link is an https URL (shown as a link on public pages, so never `javascript:`).
fn check_social_link(field: &'static str, link: &str) -> Result<(), ServiceError> {
    match url::Url::parse(link) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() && link.len() <= 300 => {
            Ok(())
        }
        _ => Err(ServiceError::invalid(
            field,
            "must be an https:// address of at most 300 characters",
        )),
    }
}

fn link_or(update: Option<String>, current: Option<String>) -> Option<String> {
    match update {
        Some(link) if link.trim().is_empty() => None,
        Some(link) => Some(link.trim().to_owned()),
        None => current,
    }
}

impl Services {
    /// The owner of a personal API key, if the key is live and its owner may act.
    pub async fn api_key_owner(&self, key: &str) -> Result<Option<UserRow>, ServiceError> {
        let hash = secrets::sha256(key);
        let now = self.clock.now();
        let live = {
            let mut tx = self.store.read_without_snapshot().await?;
            api_keys::owner_by_key_hash(&mut tx, &hash).await?
        };
        let Some(row) = live.filter(|k| k.owner.standing().is_active()) else {
            return Ok(None);
        };
        // Record the use, at most once a minute per key: a write per request
        // would queue every API call behind SQLite's one writer.
        if row
            .last_used_at
            .is_none_or(|at| now - at > Duration::minutes(1))
        {
            let mut tx = self.store.write().await?;
            api_keys::touch_api_key(&mut tx, row.key_id, now).await?;
            tx.commit().await?;
        }
        Ok(Some(row.owner))
    }

    /// `GET /v1/profiles/{userID or unique_url}`: hidden and deleted profiles do not exist for others.
    pub async fn public_profile(&self, id_or_username: &str) -> Result<UserRow, ServiceError> {
        let mut tx = self.store.read_without_snapshot().await?;
        let user = match id_or_username.parse::<UserId>() {
            Ok(id) => users::user_by_id(&mut tx, id).await?,
            Err(_) => users::user_by_username(&mut tx, id_or_username).await?,
        };
        user.filter(|u| u.status == ProfileStatus::Public.as_str() && u.standing().is_active())
            .ok_or(ServiceError::NotFound("profile"))
    }

    /// `POST /v1/profiles/@me`: validated, all or nothing.
    pub async fn update_own_profile(
        &self,
        user: UserId,
        update: ProfileUpdate,
    ) -> Result<UserRow, ServiceError> {
        let username = match update.username.as_deref() {
            Some(name) => Some(Username::parse(name)?.as_str().to_owned()),
            None => None,
        };
        // PostgreSQL cannot store a NUL in text (SQLite could): refused on
        // both, with the field's name, rather than failing in the database.
        for (field, text) in [
            ("first_name", &update.first_name),
            ("last_name", &update.last_name),
            ("about", &update.about),
            ("description", &update.description),
            ("youtube", &update.youtube),
            ("twitter", &update.twitter),
            ("facebook", &update.facebook),
        ] {
            if text.as_deref().is_some_and(|t| t.contains('\0')) {
                return Err(ServiceError::invalid(
                    field,
                    "must not contain a NUL character",
                ));
            }
        }
        for (field, name) in [
            ("first_name", &update.first_name),
            ("last_name", &update.last_name),
        ] {
            if name
                .as_ref()
                .is_some_and(|n| n.chars().count() > NAME_MAX_CHARS)
            {
                return Err(ServiceError::invalid(
                    field,
                    format!("must be at most {NAME_MAX_CHARS} characters"),
                ));
            }
        }
        for (field, link) in [
            ("youtube", &update.youtube),
            ("twitter", &update.twitter),
            ("facebook", &update.facebook),
        ] {
            if let Some(link) = link.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                check_social_link(field, link)?;
            }
        }
        if let Some(status) = update.status.as_deref() {
            status.parse::<ProfileStatus>()?;
        }
        if update
            .about
            .as_ref()
            .is_some_and(|a| a.chars().count() > ABOUT_MAX_CHARS)
        {
            return Err(ServiceError::invalid(
                "about",
                format!("must be at most {ABOUT_MAX_CHARS} characters"),
            ));
        }
        if update
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS)
        {
            return Err(ServiceError::invalid(
                "description",
                format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let current = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if let Some(name) = &username
            && let Some(holder) = users::user_by_username(&mut tx, name).await?
            && holder.id != user
        {
            return Err(ServiceError::Conflict("this username is taken"));
        }
        let fields = ProfileFields {
            username: username.or(current.username),
            first_name: update.first_name.unwrap_or(current.first_name),
            last_name: update.last_name.unwrap_or(current.last_name),
            about: update.about.unwrap_or(current.about),
            description: update.description.unwrap_or(current.description),
            status: update.status.unwrap_or(current.status),
            youtube: link_or(update.youtube, current.youtube),
            twitter: link_or(update.twitter, current.twitter),
            facebook: link_or(update.facebook, current.facebook),
        };
        match users::update_profile(&mut tx, user, &fields, now).await {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict("this username is taken"));
            }
            other => other?,
        }
        let updated = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// `GET /v1/payments/{userID}/sponsoring`: `patron`'s sponsorship of `creator`.
    pub async fn sponsorship_status(
        &self,
        creator: UserId,
        patron: UserId,
        include_donations: bool,
    ) -> Result<SponsorshipStatus, ServiceError> {
        let now = self.clock.now();
        let this_month = maecenas_domain::BillingPeriod::containing(now).to_string();
        // The pledge with its payment state, its tier and the donations each
        // stand on their own: no snapshot across them is needed.
        let mut tx = self.store.read_without_snapshot().await?;
        let found = pledges::sponsorship(&mut tx, creator, patron, &this_month)
            .await?
            .ok_or(ServiceError::NotFound("sponsorship"))?;
        let pledge = found.pledge;
        // The campaign's tiers are usually kept with its totals (a second old at most).
        let kept = |tier| {
            self.aggregates
                .fresh(pledge.campaign_id)
                .and_then(|numbers| numbers.tiers.iter().find(|t| t.id == tier).cloned())
        };
        let tier = match pledge.tier() {
            Some(tier) => match kept(tier) {
                Some(row) => Some(row),
                None => campaigns::tier_by_id(&mut tx, tier).await?,
            },
            None => None,
        };
        let donations = if include_donations {
            Some(donations::donation_totals(&mut tx, pledge.campaign_id, patron, now).await?)
        } else {
            None
        };
        let currency = pledge
            .currency
            .parse::<Currency>()
            .map_err(|e| anyhow::anyhow!("stored currency: {e}"))?;
        Ok(SponsorshipStatus {
            creator,
            pledge,
            tier,
            currency,
            has_paid: found.has_paid,
            donations,
        })
    }

    /// A user's own keys, for the portal.
    pub async fn api_keys_owned_by(&self, owner: UserId) -> Result<Vec<ApiKeyRow>, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(api_keys::list_api_keys(&mut tx, Some(owner)).await?)
    }

    /// Revokes a key; only its owner may (`None`: an operator).
    pub async fn revoke_api_key(
        &self,
        owner: Option<UserId>,
        key: ApiKeyId,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let row = api_keys::api_key_by_id(&mut tx, key)
            .await?
            .filter(|k| owner.is_none_or(|o| o == k.owner_id))
            .ok_or(ServiceError::NotFound("api key"))?;
        api_keys::revoke_api_key(&mut tx, row.id, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Where a public profile's picture is.
#[derive(Debug, Clone)]
pub enum PublicAvatar {
    /// Uploaded to Maecenas: served from here.
    Stored(users::AvatarRow),
    /// A picture elsewhere (`image_url`, for example from an import).
    Elsewhere(String),
    /// No picture: pages draw one from the name (the API answers 404).
    None { name: String },
}

impl Services {
    /// `GET /v1/profiles/{userID}/avatar`: only for a public profile.
    pub async fn public_avatar(&self, id_or_username: &str) -> Result<PublicAvatar, ServiceError> {
        let user = self.public_profile(id_or_username).await?;
        let mut tx = self.store.read().await?;
        if let Some(stored) = users::avatar_of(&mut tx, user.id).await? {
            return Ok(PublicAvatar::Stored(stored));
        }
        let name = user.public_name();
        Ok(user
            .image_url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map_or(PublicAvatar::None { name }, PublicAvatar::Elsewhere))
    }

    /// Sets one's own picture: PNG, JPEG or WebP, validated (see `maecenas_domain::avatar`).
    pub async fn set_own_avatar(
        &self,
        user: UserId,
        bytes: Vec<u8>,
    ) -> Result<users::AvatarRow, ServiceError> {
        let image = maecenas_domain::avatar::validate_avatar(&bytes)
            .map_err(|e| ServiceError::invalid("avatar", e.to_string()))?;
        let row = users::AvatarRow {
            user_id: user,
            content_type: image.content_type.to_owned(),
            width: image.width as i32,
            height: image.height as i32,
            etag: hex::encode(secrets::sha256_bytes(&bytes)),
            bytes,
            updated_at: self.clock.now(),
        };
        let mut tx = self.store.write().await?;
        users::user_by_id(&mut tx, user)
            .await?
            .filter(|u| !u.standing().is_gone())
            .ok_or(ServiceError::NotFound("user"))?;
        users::put_avatar(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(row)
    }
}
