//! What creators set up: a campaign, its tiers, its creations. The web pages
//! and `maecenas admin campaign|tier|creation` come here.

use maecenas_domain::{CampaignId, Currency, GoalId, ProfileStatus, TierId, UserId};
use maecenas_store::campaigns::{
    self, CampaignFields, CampaignRow, DirectoryEntry, GoalRow, NewTier, TierFields, TierRow,
};
use maecenas_store::posts::{self, CreationRow};
use maecenas_store::users::UserRow;
use maecenas_store::{StoreError, Tx, users};

use crate::patreon::{CampaignView, campaign_view};
use crate::{ServiceError, Services};

#[derive(Debug, Clone)]
pub struct NewTierRequest {
    pub title: String,
    pub description: String,
    pub amount_minor: i64,
    pub patron_limit: Option<i32>,
    pub requires_shipping: bool,
}

/// Creators on one page of the home page's directory.
pub const DIRECTORY_PAGE: usize = 24;

/// One page of the directory, and where the next one starts.
#[derive(Debug, Clone)]
pub struct DirectoryPage {
    pub entries: Vec<DirectoryEntry>,
    pub next: Option<CampaignId>,
}

impl Services {
    /// The home page's directory of published creators: everyone, or those
    /// whose name, handle, one-liner or kind of work contains `search`.
    pub async fn creator_directory(
        &self,
        search: &str,
        before: Option<CampaignId>,
    ) -> Result<DirectoryPage, ServiceError> {
        // A search longer than any name matches nothing; cut it rather than
        // refuse it, as a search box does.
        let search: String = search.trim().chars().take(100).collect();
        let mut tx = self.store.read().await?;
        let mut entries =
            campaigns::directory(&mut tx, &search, before, DIRECTORY_PAGE as i64 + 1).await?;
        let next = if entries.len() > DIRECTORY_PAGE {
            entries.truncate(DIRECTORY_PAGE);
            entries.last().map(|e| e.campaign_id)
        } else {
            None
        };
        Ok(DirectoryPage { entries, next })
    }

    /// A creator's campaign (one each), published at once.
    pub async fn create_campaign(
        &self,
        creator: UserId,
        currency: &str,
        is_monthly: bool,
        summary: Option<String>,
    ) -> Result<CampaignRow, ServiceError> {
        self.new_campaign(creator, currency, is_monthly, summary, true)
            .await
    }

    /// A campaign its creator publishes later (the web's set-up page): never
    /// public, not even for a moment.
    pub async fn create_draft_campaign(
        &self,
        creator: UserId,
        currency: &str,
        is_monthly: bool,
    ) -> Result<CampaignRow, ServiceError> {
        self.new_campaign(creator, currency, is_monthly, None, false)
            .await
    }

    async fn new_campaign(
        &self,
        creator: UserId,
        currency: &str,
        is_monthly: bool,
        summary: Option<String>,
        published: bool,
    ) -> Result<CampaignRow, ServiceError> {
        let currency: Currency = currency
            .parse()
            .map_err(|_| ServiceError::invalid("currency", "not an ISO 4217 currency code"))?;
        let now = self.clock.now();
        let id: CampaignId = self.ids.next();
        let mut tx = self.store.write().await?;
        let user = users::user_by_id(&mut tx, creator)
            .await?
            .filter(|u| !u.standing().is_gone())
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
            published.then_some(now),
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
        self.aggregates.forget(campaign);
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
            audience: if is_paid { "patrons" } else { "public" }.to_owned(),
            min_tier_id: None,
            embed_url: None,
            created_at: now,
            updated_at: now,
            published_at: Some(now),
        };
        let mut tx = self.store.write().await?;
        match posts::insert_creation(&mut tx, &creation).await {
            Err(StoreError::MissingReference) => return Err(ServiceError::NotFound("campaign")),
            other => other?,
        }
        tx.commit().await?;
        self.aggregates.forget(campaign);
        Ok(creation)
    }

    /// A creator's campaign with tiers, goals and totals, as the setup pages show it.
    pub async fn campaign_setup(&self, creator: UserId) -> Result<CampaignView, ServiceError> {
        let mut tx = self.store.read().await?;
        let campaign = campaigns::campaign_by_creator(&mut tx, creator)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        let user = users::user_by_id(&mut tx, creator)
            .await?
            .ok_or(ServiceError::NotFound("creator"))?;
        let mut view = campaign_view(self, &mut tx, campaign, user).await?;
        view.totals = campaigns::campaign_totals(&mut tx, view.campaign.id).await?;
        view.tier_patrons = campaigns::patrons_per_tier(&mut tx, view.campaign.id).await?;
        Ok(view)
    }

    /// The public page at `/{username}`: only a published campaign of a
    /// public, active creator. Anything else is "not found", so a hidden or
    /// deleted account cannot be told apart from one that never existed.
    pub async fn creator_page(&self, username: &str) -> Result<CampaignView, ServiceError> {
        let mut tx = self.store.read().await?;
        let (user, campaign) = published_creator(&mut tx, username).await?;
        campaign_view(self, &mut tx, campaign, user).await
    }

    /// Saves what a creator sets on their campaign (all of it, as the form sends it).
    pub async fn update_campaign(
        &self,
        creator: UserId,
        fields: CampaignFields,
    ) -> Result<CampaignRow, ServiceError> {
        check_campaign_fields(&fields)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        campaigns::update_campaign(&mut tx, campaign.id, &fields, now).await?;
        let row = own_campaign(&mut tx, creator).await?;
        tx.commit().await?;
        self.aggregates.forget(campaign.id);
        Ok(row)
    }

    pub async fn set_campaign_published(
        &self,
        creator: UserId,
        published: bool,
    ) -> Result<CampaignRow, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        if published {
            let tiers = campaigns::tiers_of_campaign(&mut tx, campaign.id).await?;
            if campaign
                .summary
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
                && tiers.is_empty()
            {
                return Err(ServiceError::invalid(
                    "campaign",
                    "add a summary or a tier before publishing",
                ));
            }
        }
        let at = published.then_some(campaign.published_at.unwrap_or(now));
        campaigns::set_published(&mut tx, campaign.id, at, now).await?;
        let row = own_campaign(&mut tx, creator).await?;
        tx.commit().await?;
        self.aggregates.forget(campaign.id);
        Ok(row)
    }

    /// Edits one of the creator's tiers. Current patrons keep what they pledged.
    pub async fn update_tier(
        &self,
        creator: UserId,
        tier: TierId,
        request: NewTierRequest,
    ) -> Result<TierRow, ServiceError> {
        let fields = tier_fields(request)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        own_tier(&mut tx, creator, tier).await?;
        campaigns::update_tier(&mut tx, tier, &fields, now).await?;
        let row = own_tier(&mut tx, creator, tier).await?;
        tx.commit().await?;
        self.aggregates.forget(row.campaign_id);
        Ok(row)
    }

    /// Moves a tier one place up (`-1`) or down (`+1`) among the campaign's tiers.
    pub async fn move_tier(
        &self,
        creator: UserId,
        tier: TierId,
        step: i32,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let row = own_tier(&mut tx, creator, tier).await?;
        let mut order = campaigns::tiers_of_campaign(&mut tx, row.campaign_id).await?;
        let Some(from) = order.iter().position(|t| t.id == tier) else {
            return Err(ServiceError::NotFound("tier"));
        };
        let to = from as i64 + i64::from(step.signum());
        if to < 0 || to >= order.len() as i64 {
            return Ok(());
        }
        order.swap(from, to as usize);
        // Renumber all: positions may have ties from older data.
        for (position, t) in order.iter().enumerate() {
            if t.position != position as i32 {
                campaigns::set_tier_position(&mut tx, t.id, position as i32, now).await?;
            }
        }
        tx.commit().await?;
        self.aggregates.forget(row.campaign_id);
        Ok(())
    }

    /// Retires a tier: it takes no new patrons and leaves the public page;
    /// the patrons it has keep it (their pledges are not touched).
    pub async fn retire_tier(&self, creator: UserId, tier: TierId) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let row = own_tier(&mut tx, creator, tier).await?;
        campaigns::retire_tier(&mut tx, tier, now).await?;
        tx.commit().await?;
        self.aggregates.forget(row.campaign_id);
        Ok(())
    }

    pub async fn create_goal(
        &self,
        creator: UserId,
        amount_minor: i64,
        title: &str,
        description: &str,
    ) -> Result<GoalRow, ServiceError> {
        let (title, description) = checked_goal(amount_minor, title, description)?;
        let now = self.clock.now();
        let id: GoalId = self.ids.next();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        campaigns::insert_goal(
            &mut tx,
            id,
            campaign.id,
            amount_minor,
            title,
            description,
            now,
        )
        .await?;
        let goal = campaigns::goals_of_campaign(&mut tx, campaign.id)
            .await?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or(ServiceError::NotFound("goal"))?;
        tx.commit().await?;
        self.aggregates.forget(campaign.id);
        Ok(goal)
    }

    /// Changes one of the creator's goals (title, amount, description).
    pub async fn update_goal(
        &self,
        creator: UserId,
        goal: GoalId,
        amount_minor: i64,
        title: &str,
        description: &str,
    ) -> Result<(), ServiceError> {
        let (title, description) = checked_goal(amount_minor, title, description)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        if !campaigns::update_goal(
            &mut tx,
            goal,
            campaign.id,
            amount_minor,
            title,
            description,
            now,
        )
        .await?
        {
            return Err(ServiceError::NotFound("goal"));
        }
        tx.commit().await?;
        self.aggregates.forget(campaign.id);
        Ok(())
    }

    pub async fn delete_goal(&self, creator: UserId, goal: GoalId) -> Result<(), ServiceError> {
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        if !campaigns::delete_goal(&mut tx, goal, campaign.id).await? {
            return Err(ServiceError::NotFound("goal"));
        }
        tx.commit().await?;
        self.aggregates.forget(campaign.id);
        Ok(())
    }
}

/// A goal's title and description, trimmed, if the goal is one a campaign may have.
fn checked_goal<'a>(
    amount_minor: i64,
    title: &'a str,
    description: &'a str,
) -> Result<(&'a str, &'a str), ServiceError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "title",
            "A goal needs a title of 1 to 200 characters.",
        ));
    }
    if amount_minor <= 0 {
        return Err(ServiceError::invalid(
            "amount",
            "A goal's amount must be more than zero.",
        ));
    }
    let description = description.trim();
    if description.chars().count() > 2_000 {
        return Err(ServiceError::invalid(
            "description",
            "A goal's description can be at most 2000 characters.",
        ));
    }
    Ok((title, description))
}

async fn own_campaign(tx: &mut Tx, creator: UserId) -> Result<CampaignRow, ServiceError> {
    campaigns::campaign_by_creator(tx, creator)
        .await?
        .ok_or(ServiceError::NotFound("campaign"))
}

/// A tier of the creator's own campaign; another creator's tier is "not found".
async fn own_tier(tx: &mut Tx, creator: UserId, tier: TierId) -> Result<TierRow, ServiceError> {
    let campaign = own_campaign(tx, creator).await?;
    campaigns::tier_by_id(tx, tier)
        .await?
        .filter(|t| t.campaign_id == campaign.id)
        .ok_or(ServiceError::NotFound("tier"))
}

fn tier_fields(tier: NewTierRequest) -> Result<TierFields, ServiceError> {
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
    Ok(TierFields {
        title: title.to_owned(),
        description: tier.description,
        amount_minor: tier.amount_minor,
        patron_limit: tier.patron_limit,
        requires_shipping: tier.requires_shipping,
    })
}

/// URLs a creator sets are shown as links and video sources: http(s) only.
fn check_campaign_fields(f: &CampaignFields) -> Result<(), ServiceError> {
    let urls: [(&'static str, &Option<String>); 5] = [
        ("main_video_url", &f.main_video_url),
        ("image_url", &f.image_url),
        ("image_small_url", &f.image_small_url),
        ("thanks_video_url", &f.thanks_video_url),
        ("main_video_embed", &f.main_video_embed),
    ];
    for (field, value) in urls {
        if let Some(v) = value.as_deref() {
            match url::Url::parse(v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && v.len() <= 500 => {}
                _ => {
                    return Err(ServiceError::invalid(
                        field,
                        "must be an http:// or https:// address",
                    ));
                }
            }
        }
    }
    let texts: [(&'static str, &Option<String>, usize); 7] = [
        ("page_name", &f.page_name, 100),
        ("summary", &f.summary, 20_000),
        ("creation_name", &f.creation_name, 100),
        ("pay_per_name", &f.pay_per_name, 100),
        ("one_liner", &f.one_liner, 300),
        ("thanks_msg", &f.thanks_msg, 5_000),
        ("thanks_embed", &f.thanks_embed, 500),
    ];
    for (field, value, max) in texts {
        if value.as_deref().is_some_and(|v| v.chars().count() > max) {
            return Err(ServiceError::invalid(
                field,
                format!("must be at most {max} characters"),
            ));
        }
    }
    Ok(())
}

/// The creator at `username` and their campaign, if both are public: a
/// visible profile and a published campaign; else "not found".
pub(crate) async fn published_creator(
    tx: &mut Tx,
    username: &str,
) -> Result<(UserRow, CampaignRow), ServiceError> {
    let not_found = ServiceError::NotFound("creator");
    let user = users::user_by_username(tx, username)
        .await?
        .filter(|u| u.status == ProfileStatus::Public.as_str() && u.standing().is_active())
        .ok_or(not_found)?;
    let campaign = campaigns::campaign_by_creator(tx, user.id)
        .await?
        .filter(|c| c.published_at.is_some())
        .ok_or(ServiceError::NotFound("creator"))?;
    Ok((user, campaign))
}
