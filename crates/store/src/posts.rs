//! `creations` (posts), their pictures, and patrons' private feed secrets.
//!
//! Published posts are paged newest first by `(published_at, id)`: a page
//! after the first starts strictly below the last one shown, so the hundredth
//! page costs what the first does (index `creations_published`).

use maecenas_domain::{CampaignId, CreationId, PostImageId, TierId, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CreationRow {
    #[sqlx(try_from = "i64")]
    pub id: CreationId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Per-creation campaigns: publishing it charges patrons.
    pub is_paid: bool,
    /// `public`, `patrons` or `tier` (see `maecenas_domain::posts::Audience`).
    pub audience: String,
    /// For `tier`: the tier whose amount a pledge must reach.
    pub min_tier_id: Option<i64>,
    /// A link or embed shown with the post.
    pub embed_url: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// `None`: a draft only its creator sees.
    pub published_at: Option<OffsetDateTime>,
}

impl CreationRow {
    pub fn min_tier(&self) -> Option<TierId> {
        self.min_tier_id.map(TierId::from)
    }
}

/// Where a page of published posts starts: just below this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostCursor {
    pub published_at: OffsetDateTime,
    pub id: CreationId,
}

macro_rules! creation_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "campaign_id, ",
            $p,
            "title, ",
            $p,
            "body, ",
            $p,
            "is_paid, ",
            $p,
            "audience, ",
            $p,
            "min_tier_id, ",
            $p,
            "embed_url, ",
            $p,
            "created_at, ",
            $p,
            "updated_at, ",
            $p,
            "published_at"
        )
    };
}

const INSERT_CREATION: &str = "INSERT INTO creations (id, campaign_id, title, body, is_paid, audience, \
     min_tier_id, embed_url, created_at, updated_at, published_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

pub async fn insert_creation(tx: &mut Tx, c: &CreationRow) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_CREATION)
        .bind(c.id.get())
        .bind(c.campaign_id.get())
        .bind(&c.title)
        .bind(&c.body)
        .bind(c.is_paid)
        .bind(&c.audience)
        .bind(c.min_tier_id)
        .bind(&c.embed_url)
        .bind(db(c.created_at))
        .bind(db(c.updated_at))
        .bind(db(c.published_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const UPDATE_CREATION: &str = "UPDATE creations SET title = $2, body = $3, is_paid = $4, audience = $5, \
     min_tier_id = $6, embed_url = $7, updated_at = $8, published_at = $9 WHERE id = $1";

/// Saves every field a creator edits; false when there is no such post.
pub async fn update_creation(tx: &mut Tx, c: &CreationRow) -> Result<bool, StoreError> {
    let changed = on_backend!(tx, |conn| sqlx::query(UPDATE_CREATION)
        .bind(c.id.get())
        .bind(&c.title)
        .bind(&c.body)
        .bind(c.is_paid)
        .bind(&c.audience)
        .bind(c.min_tier_id)
        .bind(&c.embed_url)
        .bind(db(c.updated_at))
        .bind(db(c.published_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Deletes a post and its pictures; false when there is no such post.
pub async fn delete_creation(tx: &mut Tx, id: CreationId) -> Result<bool, StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM creation_images WHERE creation_id = $1"
    )
    .bind(id.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    let deleted = on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM creations WHERE id = $1"
    )
    .bind(id.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(deleted == 1)
}

const CREATION_BY_ID: &str = concat!(
    "SELECT ",
    creation_columns!(""),
    " FROM creations WHERE id = $1"
);

pub async fn creation_by_id(
    tx: &mut Tx,
    id: CreationId,
) -> Result<Option<CreationRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, CreationRow>(
        CREATION_BY_ID
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

const CREATIONS_OF_CAMPAIGN: &str = concat!(
    "SELECT ",
    creation_columns!(""),
    " FROM creations WHERE campaign_id = $1 ORDER BY id DESC LIMIT $2"
);

/// A campaign's posts, drafts included, the newest written first.
pub async fn recent_creations(
    tx: &mut Tx,
    campaign: CampaignId,
    limit: i64,
) -> Result<Vec<CreationRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, CreationRow>(
        CREATIONS_OF_CAMPAIGN
    )
    .bind(campaign.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

const PUBLISHED_FIRST_PAGE: &str = concat!(
    "SELECT ",
    creation_columns!(""),
    " FROM creations WHERE campaign_id = $1 AND published_at IS NOT NULL \
     ORDER BY published_at DESC, id DESC LIMIT $2"
);
const PUBLISHED_NEXT_PAGE: &str = concat!(
    "SELECT ",
    creation_columns!(""),
    " FROM creations WHERE campaign_id = $1 AND published_at IS NOT NULL \
     AND (published_at < $3 OR (published_at = $3 AND id < $4)) \
     ORDER BY published_at DESC, id DESC LIMIT $2"
);

/// A campaign's published posts, newest first, after `after` when given.
pub async fn published_creations(
    tx: &mut Tx,
    campaign: CampaignId,
    after: Option<PostCursor>,
    limit: i64,
) -> Result<Vec<CreationRow>, StoreError> {
    Ok(match after {
        None => on_backend!(tx, |conn| sqlx::query_as::<_, CreationRow>(
            PUBLISHED_FIRST_PAGE
        )
        .bind(campaign.get())
        .bind(limit)
        .fetch_all(conn)
        .await)?,
        Some(cursor) => on_backend!(tx, |conn| sqlx::query_as::<_, CreationRow>(
            PUBLISHED_NEXT_PAGE
        )
        .bind(campaign.get())
        .bind(limit)
        .bind(db(cursor.published_at))
        .bind(cursor.id.get())
        .fetch_all(conn)
        .await)?,
    })
}

/// A post in a patron's feed, with what decides whether they may read it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FeedRow {
    #[sqlx(flatten)]
    pub creation: CreationRow,
    /// The patron's current pledge to the post's campaign.
    pub pledge_amount_minor: i64,
    /// The amount of the post's tier (`tier` posts).
    pub tier_amount_minor: Option<i64>,
    pub tier_title: Option<String>,
    #[sqlx(try_from = "i64")]
    pub creator_id: UserId,
    pub creator_username: Option<String>,
    pub creator_first_name: String,
    pub creator_last_name: String,
    pub campaign_currency: String,
    pub campaign_page_name: Option<String>,
}

macro_rules! feed_query {
    ($after:literal) => {
        concat!(
            "SELECT ",
            creation_columns!("cr."),
            ", p.amount_minor AS pledge_amount_minor, t.amount_minor AS tier_amount_minor, \
             t.title AS tier_title, u.id AS creator_id, u.username AS creator_username, \
             u.first_name AS creator_first_name, u.last_name AS creator_last_name, \
             c.currency AS campaign_currency, c.page_name AS campaign_page_name \
             FROM pledges p JOIN creations cr ON cr.campaign_id = p.campaign_id \
             JOIN campaigns c ON c.id = p.campaign_id JOIN users u ON u.id = c.creator_id \
             LEFT JOIN tiers t ON t.id = cr.min_tier_id \
             WHERE p.patron_id = $1 AND p.ended_at IS NULL AND cr.published_at IS NOT NULL \
             AND c.published_at IS NOT NULL AND NOT u.is_deleted AND NOT u.is_suspended",
            $after,
            " ORDER BY cr.published_at DESC, cr.id DESC LIMIT $2"
        )
    };
}
const FEED_FIRST_PAGE: &str = feed_query!("");
const FEED_NEXT_PAGE: &str =
    feed_query!(" AND (cr.published_at < $3 OR (cr.published_at = $3 AND cr.id < $4))");

/// The published posts of every campaign `patron` currently sponsors, newest first.
pub async fn feed_of_patron(
    tx: &mut Tx,
    patron: UserId,
    after: Option<PostCursor>,
    limit: i64,
) -> Result<Vec<FeedRow>, StoreError> {
    Ok(match after {
        None => on_backend!(tx, |conn| sqlx::query_as::<_, FeedRow>(FEED_FIRST_PAGE)
            .bind(patron.get())
            .bind(limit)
            .fetch_all(conn)
            .await)?,
        Some(cursor) => on_backend!(tx, |conn| sqlx::query_as::<_, FeedRow>(FEED_NEXT_PAGE)
            .bind(patron.get())
            .bind(limit)
            .bind(db(cursor.published_at))
            .bind(cursor.id.get())
            .fetch_all(conn)
            .await)?,
    })
}

/// What publishing one more paid post would add to one pledge's month.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PerCreationPledge {
    pub amount_minor: i64,
    pub pledge_cap_minor: Option<i64>,
    /// Paid posts already published this period while the pledge stood.
    pub paid_creations: i64,
}

const PER_CREATION_PLEDGES: &str = "SELECT p.amount_minor, p.pledge_cap_minor, \
     (SELECT CAST(count(*) AS BIGINT) FROM creations cr WHERE cr.campaign_id = p.campaign_id \
      AND cr.is_paid AND cr.published_at >= $2 AND cr.published_at >= p.created_at) AS paid_creations \
     FROM pledges p WHERE p.campaign_id = $1 AND p.status = 'active' AND p.ended_at IS NULL";

/// The pledges month-close billing would charge for a paid post published
/// now (the same conditions as the billing run's), with this period's count
/// so far; `period_start` is the current billing period's first instant.
pub async fn per_creation_pledges(
    tx: &mut Tx,
    campaign: CampaignId,
    period_start: OffsetDateTime,
) -> Result<Vec<PerCreationPledge>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<
        _,
        PerCreationPledge,
    >(PER_CREATION_PLEDGES)
    .bind(campaign.get())
    .bind(db(period_start))
    .fetch_all(conn)
    .await)?)
}

/// A picture in a post, without its bytes (what a page lists).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostImageMeta {
    #[sqlx(try_from = "i64")]
    pub id: PostImageId,
    #[sqlx(try_from = "i64")]
    pub creation_id: CreationId,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub etag: String,
}

/// A picture in a post, as it is served.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostImageRow {
    #[sqlx(flatten)]
    pub meta: PostImageMeta,
    pub bytes: Vec<u8>,
    pub created_at: OffsetDateTime,
}

pub async fn insert_image(tx: &mut Tx, image: &PostImageRow) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO creation_images (id, creation_id, content_type, width, height, \
         bytes, etag, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(image.meta.id.get())
        .bind(image.meta.creation_id.get())
        .bind(&image.meta.content_type)
        .bind(image.meta.width)
        .bind(image.meta.height)
        .bind(&image.bytes)
        .bind(&image.meta.etag)
        .bind(db(image.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A post's pictures in upload order.
pub async fn images_of(
    tx: &mut Tx,
    creation: CreationId,
) -> Result<Vec<PostImageMeta>, StoreError> {
    const SQL: &str = "SELECT id, creation_id, content_type, width, height, etag \
         FROM creation_images WHERE creation_id = $1 ORDER BY id";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PostImageMeta>(
        SQL
    )
    .bind(creation.get())
    .fetch_all(conn)
    .await)?)
}

/// One picture of one post (both must match).
pub async fn image_of(
    tx: &mut Tx,
    creation: CreationId,
    image: PostImageId,
) -> Result<Option<PostImageRow>, StoreError> {
    const SQL: &str = "SELECT id, creation_id, content_type, width, height, etag, bytes, created_at \
         FROM creation_images WHERE id = $1 AND creation_id = $2";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PostImageRow>(
        SQL
    )
    .bind(image.get())
    .bind(creation.get())
    .fetch_optional(conn)
    .await)?)
}

/// Removes one picture of one post; false when it was not there.
pub async fn delete_image(
    tx: &mut Tx,
    creation: CreationId,
    image: PostImageId,
) -> Result<bool, StoreError> {
    let deleted = on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM creation_images WHERE id = $1 AND creation_id = $2"
    )
    .bind(image.get())
    .bind(creation.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(deleted == 1)
}

/// Gives `user` a private feed secret (its SHA-256), replacing the old one.
pub async fn put_feed_secret(
    tx: &mut Tx,
    user: UserId,
    secret_hash: &[u8],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO patron_feeds (user_id, secret_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(user.get())
        .bind(secret_hash)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whose private feed a secret opens.
pub async fn feed_owner(tx: &mut Tx, secret_hash: &[u8]) -> Result<Option<UserId>, StoreError> {
    let row: Option<(i64,)> = on_backend!(tx, |conn| sqlx::query_as(
        "SELECT user_id FROM patron_feeds WHERE secret_hash = $1"
    )
    .bind(secret_hash)
    .fetch_optional(conn)
    .await)?;
    Ok(row.map(|(id,)| UserId::from(id)))
}

/// When `user`'s private feed secret was made, if they have one.
pub async fn feed_created_at(
    tx: &mut Tx,
    user: UserId,
) -> Result<Option<OffsetDateTime>, StoreError> {
    let row: Option<(OffsetDateTime,)> = on_backend!(tx, |conn| sqlx::query_as(
        "SELECT created_at FROM patron_feeds WHERE user_id = $1"
    )
    .bind(user.get())
    .fetch_optional(conn)
    .await)?;
    Ok(row.map(|(at,)| at))
}

/// Ends `user`'s private feed: its address stops working.
pub async fn delete_feed_secret(tx: &mut Tx, user: UserId) -> Result<bool, StoreError> {
    let deleted = on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM patron_feeds WHERE user_id = $1"
    )
    .bind(user.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(deleted == 1)
}
