//! What creators set up: a campaign, its tiers, its creations. The web pages
//! and `maecenas admin campaign|tier|creation` come here.

use maecenas_domain::{CampaignId, Currency, UserId};
use maecenas_store::campaigns::{self, CampaignFields, CampaignRow, CreationRow, NewTier, TierRow};
use maecenas_store::{StoreError, users};

use crate::{ServiceError, Services};

#[derive(Debug, Clone)]
pub struct NewTierRequest {
    pub title: String,
    pub description: String,
    pub amount_minor: i64,
    pub patron_limit: Option<i32>,
    pub requires_shipping: bool,
}

impl Services {
    /// A creator's campaign (one each), published at once.
    pub async fn create_campaign(
        &self,
        creator: UserId,
        currency: &str,
        is_monthly: bool,
        summary: Option<String>,
    ) -> Result<CampaignRow, ServiceError> {
        let currency: Currency = currency
            .parse()
            .map_err(|_| ServiceError::invalid("currency", "not an ISO 4217 currency code"))?;
        let now = self.clock.now();
        let id: CampaignId = self.ids.next();
        let mut tx = self.store.write().await?;
        let user = users::user_by_id(&mut tx, creator)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or(ServiceError::NotFound("creator"))?;
        if !user.is_creator {
            return Err(ServiceError::invalid(
                "creator",
                "this user is not a creator",
            ));
        }
        let fields = CampaignFields {
            summary,
            is_monthly,
            show_earnings: true,
            ..CampaignFields::default()
        };
        match campaigns::insert_campaign(
            &mut tx,
            id,
            creator,
            currency.code(),
            &fields,
            Some(now),
            now,
        )
        .await
        {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict(
                    "this creator already has a campaign",
                ));
            }
            other => other?,
        }
        let row = campaigns::campaign_by_id(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn campaign_of_creator(&self, creator: UserId) -> Result<CampaignRow, ServiceError> {
        let mut tx = self.store.read().await?;
        campaigns::campaign_by_creator(&mut tx, creator)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))
    }

    pub async fn create_tier(
        &self,
        campaign: CampaignId,
        tier: NewTierRequest,
    ) -> Result<TierRow, ServiceError> {
        let title = tier.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ServiceError::invalid(
                "title",
                "must be 1 to 200 characters",
            ));
        }
        if tier.amount_minor < 0 {
            return Err(ServiceError::invalid("amount", "cannot be negative"));
        }
        if tier.patron_limit.is_some_and(|n| n <= 0) {
            return Err(ServiceError::invalid(
                "patron_limit",
                "must be more than zero",
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let position = campaigns::tiers_of_campaign(&mut tx, campaign).await?.len() as i32;
        let new = NewTier {
            id: self.ids.next(),
            campaign_id: campaign,
            title: title.to_owned(),
            description: tier.description,
            amount_minor: tier.amount_minor,
            patron_limit: tier.patron_limit,
            requires_shipping: tier.requires_shipping,
            image_url: None,
            position,
            created_at: now,
        };
        match campaigns::insert_tier(&mut tx, &new).await {
            Err(StoreError::MissingReference) => return Err(ServiceError::NotFound("campaign")),
            other => other?,
        }
        let row = campaigns::tier_by_id(&mut tx, new.id)
            .await?
            .ok_or(ServiceError::NotFound("tier"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Publishes a creation now. A paid creation of a per-creation campaign
    /// adds one pledge amount to every patron's month (up to their cap).
    pub async fn publish_creation(
        &self,
        campaign: CampaignId,
        title: &str,
        is_paid: bool,
    ) -> Result<CreationRow, ServiceError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(ServiceError::invalid("title", "must not be empty"));
        }
        let now = self.clock.now();
        let creation = CreationRow {
            id: self.ids.next(),
            campaign_id: campaign,
            title: title.to_owned(),
            body: String::new(),
            is_paid,
            created_at: now,
            published_at: Some(now),
        };
        let mut tx = self.store.write().await?;
        match campaigns::insert_creation(&mut tx, &creation).await {
            Err(StoreError::MissingReference) => return Err(ServiceError::NotFound("campaign")),
            other => other?,
        }
        tx.commit().await?;
        Ok(creation)
    }
}
