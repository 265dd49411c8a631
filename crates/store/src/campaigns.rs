//! `campaigns`, `tiers`, `goals`: what a creator sets up (posts: [`crate::posts`]).

use maecenas_domain::{CampaignId, GoalId, TierId, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CampaignRow {
    #[sqlx(try_from = "i64")]
    pub id: CampaignId,
    #[sqlx(try_from = "i64")]
    pub creator_id: UserId,
    pub currency: String,
    pub page_name: Option<String>,
    pub summary: Option<String>,
    pub creation_name: Option<String>,
    pub pay_per_name: Option<String>,
    pub one_liner: Option<String>,
    pub main_video_embed: Option<String>,
    pub main_video_url: Option<String>,
    pub image_small_url: Option<String>,
    pub image_url: Option<String>,
    pub thanks_video_url: Option<String>,
    pub thanks_embed: Option<String>,
    pub thanks_msg: Option<String>,
    pub is_monthly: bool,
    pub is_nsfw: bool,
    pub show_earnings: bool,
    pub created_at: OffsetDateTime,
    pub published_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

macro_rules! campaign_columns {
    () => {
        "id, creator_id, currency, page_name, summary, creation_name, pay_per_name, one_liner, main_video_embed, \
         main_video_url, image_small_url, image_url, thanks_video_url, thanks_embed, thanks_msg, \
         is_monthly, is_nsfw, show_earnings, created_at, published_at, updated_at"
    };
}

/// Everything a creator sets on a campaign; the rest is derived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignFields {
    /// The name on the page; `None` shows the creator's name.
    pub page_name: Option<String>,
    pub summary: Option<String>,
    pub creation_name: Option<String>,
    pub pay_per_name: Option<String>,
    pub one_liner: Option<String>,
    pub main_video_embed: Option<String>,
    pub main_video_url: Option<String>,
    pub image_small_url: Option<String>,
    pub image_url: Option<String>,
    pub thanks_video_url: Option<String>,
    pub thanks_embed: Option<String>,
    pub thanks_msg: Option<String>,
    pub is_monthly: bool,
    pub is_nsfw: bool,
    pub show_earnings: bool,
}

const INSERT_CAMPAIGN: &str = "INSERT INTO campaigns (id, creator_id, currency, summary, creation_name, \
     pay_per_name, one_liner, main_video_embed, main_video_url, image_small_url, image_url, \
     thanks_video_url, thanks_embed, thanks_msg, is_monthly, is_nsfw, show_earnings, created_at, \
     published_at, updated_at, page_name) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $18, $20)";

/// One campaign per creator: a second one is a [`StoreError::Conflict`].
pub async fn insert_campaign(
    tx: &mut Tx,
    id: CampaignId,
    creator: UserId,
    currency: &str,
    fields: &CampaignFields,
    published_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_CAMPAIGN)
        .bind(id.get())
        .bind(creator.get())
        .bind(currency)
        .bind(&fields.summary)
        .bind(&fields.creation_name)
        .bind(&fields.pay_per_name)
        .bind(&fields.one_liner)
        .bind(&fields.main_video_embed)
        .bind(&fields.main_video_url)
        .bind(&fields.image_small_url)
        .bind(&fields.image_url)
        .bind(&fields.thanks_video_url)
        .bind(&fields.thanks_embed)
        .bind(&fields.thanks_msg)
        .bind(fields.is_monthly)
        .bind(fields.is_nsfw)
        .bind(fields.show_earnings)
        .bind(db(now))
        .bind(db(published_at))
        .bind(&fields.page_name)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const CAMPAIGN_BY_ID: &str = concat!(
    "SELECT ",
    campaign_columns!(),
    " FROM campaigns WHERE id = $1"
);
const CAMPAIGN_BY_CREATOR: &str = concat!(
    "SELECT ",
    campaign_columns!(),
    " FROM campaigns WHERE creator_id = $1"
);

pub async fn campaign_by_id(
    tx: &mut Tx,
    id: CampaignId,
) -> Result<Option<CampaignRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, CampaignRow>(
        CAMPAIGN_BY_ID
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

pub async fn campaign_by_creator(
    tx: &mut Tx,
    creator: UserId,
) -> Result<Option<CampaignRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, CampaignRow>(
        CAMPAIGN_BY_CREATOR
    )
    .bind(creator.get())
    .fetch_optional(conn)
    .await)?)
}

/// Totals derived from the pledge records themselves, never from counters
/// that could drift: current (not ended) pledges that are not declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct CampaignTotals {
    pub patron_count: i64,
    pub pledge_sum_minor: i64,
    pub creation_count: i64,
    /// The creator's balance: earned through charges, not yet paid out (the ledger's `creator_payable`).
    pub outstanding_minor: i64,
}

const TOTALS: &str = "SELECT \
     (SELECT count(*) FROM pledges WHERE campaign_id = $1 AND ended_at IS NULL AND status = 'active') AS patron_count, \
     (SELECT CAST(coalesce(sum(amount_minor), 0) AS BIGINT) FROM pledges WHERE campaign_id = $1 AND ended_at IS NULL AND status = 'active') AS pledge_sum_minor, \
     (SELECT count(*) FROM creations WHERE campaign_id = $1 AND published_at IS NOT NULL) AS creation_count, \
     (SELECT CAST(coalesce(-sum(amount_minor), 0) AS BIGINT) FROM ledger_entries WHERE account = 'creator_payable' AND campaign_id = $1) AS outstanding_minor";

pub async fn campaign_totals(tx: &mut Tx, id: CampaignId) -> Result<CampaignTotals, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, CampaignTotals>(TOTALS)
            .bind(id.get())
            .fetch_one(conn)
            .await
    })?)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TierRow {
    #[sqlx(try_from = "i64")]
    pub id: TierId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub title: String,
    pub description: String,
    pub amount_minor: i64,
    pub patron_limit: Option<i32>,
    pub requires_shipping: bool,
    pub image_url: Option<String>,
    pub position: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewTier {
    pub id: TierId,
    pub campaign_id: CampaignId,
    pub title: String,
    pub description: String,
    pub amount_minor: i64,
    pub patron_limit: Option<i32>,
    pub requires_shipping: bool,
    pub image_url: Option<String>,
    pub position: i32,
    pub created_at: OffsetDateTime,
}

const INSERT_TIER: &str = "INSERT INTO tiers (id, campaign_id, title, description, amount_minor, patron_limit, \
     requires_shipping, image_url, position, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";

pub async fn insert_tier(tx: &mut Tx, tier: &NewTier) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_TIER)
        .bind(tier.id.get())
        .bind(tier.campaign_id.get())
        .bind(&tier.title)
        .bind(&tier.description)
        .bind(tier.amount_minor)
        .bind(tier.patron_limit)
        .bind(tier.requires_shipping)
        .bind(&tier.image_url)
        .bind(tier.position)
        .bind(db(tier.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const TIERS_OF_CAMPAIGN: &str = "SELECT id, campaign_id, title, description, amount_minor, patron_limit, \
     requires_shipping, image_url, position, created_at, updated_at, retired_at \
     FROM tiers WHERE campaign_id = $1 ORDER BY position, amount_minor, id";

/// All tiers, retired ones too (old pledges still point at them), in display order.
pub async fn tiers_of_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
) -> Result<Vec<TierRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, TierRow>(
        TIERS_OF_CAMPAIGN
    )
    .bind(campaign.get())
    .fetch_all(conn)
    .await)?)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GoalRow {
    #[sqlx(try_from = "i64")]
    pub id: GoalId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub amount_minor: i64,
    pub title: String,
    pub description: String,
    pub created_at: OffsetDateTime,
    pub reached_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

const INSERT_GOAL: &str = "INSERT INTO goals (id, campaign_id, amount_minor, title, description, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6)";

pub async fn insert_goal(
    tx: &mut Tx,
    id: GoalId,
    campaign: CampaignId,
    amount_minor: i64,
    title: &str,
    description: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_GOAL)
        .bind(id.get())
        .bind(campaign.get())
        .bind(amount_minor)
        .bind(title)
        .bind(description)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const GOALS_OF_CAMPAIGN: &str = "SELECT id, campaign_id, amount_minor, title, description, created_at, reached_at, updated_at \
     FROM goals WHERE campaign_id = $1 ORDER BY amount_minor, id";

pub async fn goals_of_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
) -> Result<Vec<GoalRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, GoalRow>(
        GOALS_OF_CAMPAIGN
    )
    .bind(campaign.get())
    .fetch_all(conn)
    .await)?)
}

const TIER_BY_ID: &str = "SELECT id, campaign_id, title, description, amount_minor, patron_limit, \
     requires_shipping, image_url, position, created_at, updated_at, retired_at FROM tiers WHERE id = $1";

pub async fn tier_by_id(tx: &mut Tx, id: TierId) -> Result<Option<TierRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, TierRow>(
        TIER_BY_ID
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

const PATRONS_PER_TIER: &str = "SELECT tier_id, count(*) FROM pledges \
     WHERE campaign_id = $1 AND tier_id IS NOT NULL AND ended_at IS NULL AND status = 'active' GROUP BY tier_id";

/// Current patrons of each tier of a campaign: `(tier id, patrons)`.
pub async fn patrons_per_tier(
    tx: &mut Tx,
    campaign: CampaignId,
) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, (i64, i64)>(
        PATRONS_PER_TIER
    )
    .bind(campaign.get())
    .fetch_all(conn)
    .await)?)
}

const UPDATE_CAMPAIGN: &str = "UPDATE campaigns SET summary = $2, creation_name = $3, pay_per_name = $4, \
     one_liner = $5, main_video_embed = $6, main_video_url = $7, image_small_url = $8, image_url = $9, \
     thanks_video_url = $10, thanks_embed = $11, thanks_msg = $12, is_monthly = $13, is_nsfw = $14, \
     show_earnings = $15, updated_at = $16, page_name = $17 WHERE id = $1";

pub async fn update_campaign(
    tx: &mut Tx,
    id: CampaignId,
    f: &CampaignFields,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(UPDATE_CAMPAIGN)
        .bind(id.get())
        .bind(&f.summary)
        .bind(&f.creation_name)
        .bind(&f.pay_per_name)
        .bind(&f.one_liner)
        .bind(&f.main_video_embed)
        .bind(&f.main_video_url)
        .bind(&f.image_small_url)
        .bind(&f.image_url)
        .bind(&f.thanks_video_url)
        .bind(&f.thanks_embed)
        .bind(&f.thanks_msg)
        .bind(f.is_monthly)
        .bind(f.is_nsfw)
        .bind(f.show_earnings)
        .bind(db(now))
        .bind(&f.page_name)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// `Some(now)` publishes, `None` takes the page down (pledges carry on).
pub async fn set_published(
    tx: &mut Tx,
    id: CampaignId,
    published_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE campaigns SET published_at = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id.get())
    .bind(db(published_at))
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What a creator edits on a tier.
#[derive(Debug, Clone)]
pub struct TierFields {
    pub title: String,
    pub description: String,
    pub amount_minor: i64,
    pub patron_limit: Option<i32>,
    pub requires_shipping: bool,
}

pub async fn update_tier(
    tx: &mut Tx,
    id: TierId,
    f: &TierFields,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE tiers SET title = $2, description = $3, amount_minor = $4, patron_limit = $5, \
         requires_shipping = $6, updated_at = $7 WHERE id = $1"
    )
    .bind(id.get())
    .bind(&f.title)
    .bind(&f.description)
    .bind(f.amount_minor)
    .bind(f.patron_limit)
    .bind(f.requires_shipping)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_tier_position(
    tx: &mut Tx,
    id: TierId,
    position: i32,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE tiers SET position = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id.get())
    .bind(position)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A retired tier takes no new patrons; its current patrons keep it.
pub async fn retire_tier(tx: &mut Tx, id: TierId, now: OffsetDateTime) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE tiers SET retired_at = $2, updated_at = $2 WHERE id = $1 AND retired_at IS NULL"
    )
    .bind(id.get())
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Changes a goal of `campaign`; false when it has no such goal. A goal
/// moved above the campaign's total is no longer reached.
pub async fn update_goal(
    tx: &mut Tx,
    id: GoalId,
    campaign: CampaignId,
    amount_minor: i64,
    title: &str,
    description: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| sqlx::query(
        "UPDATE goals SET amount_minor = $3, title = $4, description = $5, updated_at = $6, \
         reached_at = CASE WHEN amount_minor = $3 THEN reached_at ELSE NULL END \
         WHERE id = $1 AND campaign_id = $2"
    )
    .bind(id.get())
    .bind(campaign.get())
    .bind(amount_minor)
    .bind(title)
    .bind(description)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn delete_goal(
    tx: &mut Tx,
    id: GoalId,
    campaign: CampaignId,
) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM goals WHERE id = $1 AND campaign_id = $2"
    )
    .bind(id.get())
    .bind(campaign.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A published creator, as the directory on the home page lists them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DirectoryEntry {
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    #[sqlx(try_from = "i64")]
    pub creator_id: UserId,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub page_name: Option<String>,
    pub one_liner: Option<String>,
    pub creation_name: Option<String>,
    pub pay_per_name: Option<String>,
    pub is_monthly: bool,
    pub is_nsfw: bool,
}

const DIRECTORY: &str = "SELECT c.id AS campaign_id, u.id AS creator_id, u.username, u.first_name, \
     u.last_name, c.page_name, c.one_liner, c.creation_name, c.pay_per_name, c.is_monthly, c.is_nsfw \
     FROM campaigns c JOIN users u ON u.id = c.creator_id \
     WHERE c.published_at IS NOT NULL AND u.username IS NOT NULL AND u.status = 'public' \
       AND NOT u.is_suspended AND NOT u.is_deleted AND NOT u.is_nuked AND c.id < $1 \
       AND ($2 = '' OR lower(coalesce(c.page_name, '')) LIKE $3 \
            OR lower(u.first_name || ' ' || u.last_name) LIKE $3 OR lower(u.username) LIKE $3 \
            OR lower(coalesce(c.one_liner, '')) LIKE $3 OR lower(coalesce(c.creation_name, '')) LIKE $3) \
     ORDER BY c.id DESC LIMIT $4";

/// Published pages of public creators whose name, handle, one-liner or
/// "what you create" contains `needle` (case-insensitive; everyone when it
/// is empty), newest campaign first, keyset-paged by campaign id.
pub async fn directory(
    tx: &mut Tx,
    needle: &str,
    before: Option<CampaignId>,
    limit: i64,
) -> Result<Vec<DirectoryEntry>, StoreError> {
    let pattern = crate::users::like_pattern(needle);
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, DirectoryEntry>(DIRECTORY)
            .bind(before.map_or(i64::MAX, CampaignId::get))
            .bind(needle)
            .bind(&pattern)
            .bind(limit)
            .fetch_all(conn)
            .await
    })?)
}
