//! Posts: a creator writes, previews, publishes, edits and deletes them;
//! patrons read what their pledge unlocks, on the creator's page, in their
//! feed and in feed readers. Who may read a post is decided here, through
//! [`maecenas_domain::posts::may_read`], for pages, pictures and feeds alike.
//!
//! Publishing, editing a published post and deleting one write `posts:*`
//! webhook events in the same transaction as the change.

use maecenas_domain::posts::{self as rules, Audience, Reader};
use maecenas_domain::{
    BillingPeriod, CampaignId, CreationId, PostImageId, TierId, Trigger, UserId,
};
use maecenas_store::campaigns::{self, CampaignRow};
use maecenas_store::pledges::PledgeRow;
use maecenas_store::posts::{self as store, CreationRow, FeedRow, PostImageMeta, PostImageRow};
use maecenas_store::users::UserRow;
use maecenas_store::{Tx, pledges, users};
use time::OffsetDateTime;

pub use maecenas_store::posts::PostCursor;

use crate::creators::published_creator;
use crate::patreon::{CampaignView, campaign_view};
use crate::secrets;
use crate::{ServiceError, Services};

/// Posts per page on a creator's page and in a patron's feed.
pub const PAGE_SIZE: i64 = 10;
/// Posts in an Atom feed.
pub const FEED_SIZE: i64 = 50;
/// Posts the dashboard lists.
const DASHBOARD_SIZE: i64 = 200;

/// What a creator's post form sends.
#[derive(Debug, Clone, Default)]
pub struct PostInput {
    pub title: String,
    /// Markdown.
    pub body: String,
    /// A link or embed address; blank for none.
    pub embed_url: String,
    /// `public`, `patrons` or `tier`.
    pub audience: String,
    /// For `tier`: the lowest tier that may read it.
    pub min_tier: Option<TierId>,
    /// Per-creation campaigns: whether publishing it charges patrons.
    pub is_paid: bool,
}

/// What a reader who may not read a post would need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlock {
    /// Any pledge.
    Patrons,
    /// A pledge of at least this tier's amount.
    Tier {
        title: String,
        amount_minor: i64,
        id: TierId,
    },
}

/// A post as one reader sees it.
#[derive(Debug, Clone)]
pub struct PostCard {
    pub post: CreationRow,
    /// Whether the body and pictures are theirs to see.
    pub readable: bool,
    /// What would unlock it (for posts that are not public).
    pub unlock: Option<Unlock>,
    /// Its pictures; empty when `readable` is false.
    pub images: Vec<PostImageMeta>,
    /// The reader already pledges to the campaign (a locked post asks them
    /// to change their pledge rather than to join).
    pub reader_pledges: bool,
}

/// A creator's public page of posts.
#[derive(Debug, Clone)]
pub struct PostList {
    pub view: CampaignView,
    pub posts: Vec<PostCard>,
    /// Where the next page starts, when there is one.
    pub next: Option<PostCursor>,
    /// The reader is this campaign's creator.
    pub own: bool,
    /// The reader's pledge to this campaign, while it still counts.
    pub your_pledge: Option<PledgeRow>,
}

/// One post on its own page.
#[derive(Debug, Clone)]
pub struct PostPage {
    pub view: CampaignView,
    pub card: PostCard,
    pub own: bool,
}

/// What a paid post would charge when published now (per-creation campaigns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChargePreview {
    /// Patrons it adds a charge to.
    pub patrons: i64,
    /// What it adds to this month's charges, caps applied.
    pub total_minor: i64,
    /// Patrons already at their monthly cap, whom it does not charge.
    pub at_cap: i64,
}

/// A post in the creator's editor.
#[derive(Debug, Clone)]
pub struct PostEditor {
    pub view: CampaignView,
    pub post: CreationRow,
    pub images: Vec<PostImageMeta>,
    /// For a paid draft of a per-creation campaign.
    pub charge: Option<ChargePreview>,
}

/// The creator's list of posts, drafts first.
#[derive(Debug, Clone)]
pub struct DashboardPosts {
    pub campaign: CampaignRow,
    pub posts: Vec<CreationRow>,
}

/// A post in a patron's feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub card: PostCard,
    pub creator_username: String,
    pub creator_name: String,
    /// The campaign's currency (a locked post names its tier's amount).
    pub currency: String,
}

#[derive(Debug, Clone)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub next: Option<PostCursor>,
}

/// A creator's public Atom feed: their public posts.
#[derive(Debug, Clone)]
pub struct PublicFeed {
    pub view: CampaignView,
    pub posts: Vec<PostCard>,
}

/// A patron's private feed: what their pledges unlock.
#[derive(Debug, Clone)]
pub struct PrivateFeed {
    pub patron: UserRow,
    pub items: Vec<FeedItem>,
}

impl Services {
    /// The creator's posts for the dashboard: every draft and published post.
    pub async fn creator_posts(&self, creator: UserId) -> Result<DashboardPosts, ServiceError> {
        let mut tx = self.store.read().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let mut posts = store::recent_creations(&mut tx, campaign.id, DASHBOARD_SIZE).await?;
        // Drafts first (what is in progress), then by publication, newest first.
        posts.sort_by(|a, b| {
            (a.published_at.is_some(), std::cmp::Reverse(a.published_at))
                .cmp(&(b.published_at.is_some(), std::cmp::Reverse(b.published_at)))
        });
        Ok(DashboardPosts { campaign, posts })
    }

    /// Saves a new post as a draft: nobody but its creator sees it yet.
    pub async fn create_post(
        &self,
        creator: UserId,
        input: &PostInput,
    ) -> Result<CreationRow, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let fields = checked(&mut tx, &campaign, input, None).await?;
        let post = CreationRow {
            id: self.ids.next(),
            campaign_id: campaign.id,
            title: fields.title,
            body: fields.body,
            is_paid: fields.is_paid,
            audience: fields.audience.as_str().to_owned(),
            min_tier_id: fields.min_tier.map(TierId::get),
            embed_url: fields.embed_url,
            created_at: now,
            updated_at: now,
            published_at: None,
        };
        store::insert_creation(&mut tx, &post).await?;
        tx.commit().await?;
        Ok(post)
    }

    /// The editor's view of one of the creator's posts.
    pub async fn post_editor(
        &self,
        creator: UserId,
        post: CreationId,
    ) -> Result<PostEditor, ServiceError> {
        let mut tx = self.store.read().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let post = own_post(&mut tx, &campaign, post).await?;
        let images = store::images_of(&mut tx, post.id).await?;
        let charge = if !campaign.is_monthly && post.is_paid && post.published_at.is_none() {
            Some(self.charge_preview(&mut tx, campaign.id).await?)
        } else {
            None
        };
        let user = users::user_by_id(&mut tx, creator)
            .await?
            .ok_or(ServiceError::NotFound("creator"))?;
        let view = campaign_view(self, &mut tx, campaign, user).await?;
        Ok(PostEditor {
            view,
            post,
            images,
            charge,
        })
    }

    /// Saves a creator's edit. A published post's paid flag stays as it was
    /// published: patrons were told what it costs.
    pub async fn update_post(
        &self,
        creator: UserId,
        id: CreationId,
        input: &PostInput,
    ) -> Result<CreationRow, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let before = own_post(&mut tx, &campaign, id).await?;
        let fields = checked(&mut tx, &campaign, input, Some(&before)).await?;
        let post = CreationRow {
            title: fields.title,
            body: fields.body,
            is_paid: fields.is_paid,
            audience: fields.audience.as_str().to_owned(),
            min_tier_id: fields.min_tier.map(TierId::get),
            embed_url: fields.embed_url,
            updated_at: now,
            ..before
        };
        store::update_creation(&mut tx, &post).await?;
        let deliveries = if post.published_at.is_some() {
            self.post_event(&mut tx, Trigger::PostsUpdate, &post, &campaign, now)
                .await?
        } else {
            0
        };
        tx.commit().await?;
        self.webhooks_written(deliveries);
        Ok(post)
    }

    /// Publishes a draft now (publishing a published post changes nothing).
    /// A paid post of a per-creation campaign is charged at month close.
    pub async fn publish_post(
        &self,
        creator: UserId,
        id: CreationId,
    ) -> Result<CreationRow, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let draft = own_post(&mut tx, &campaign, id).await?;
        if draft.published_at.is_some() {
            return Ok(draft);
        }
        if draft.audience == Audience::Tier.as_str() && draft.min_tier().is_none() {
            return Err(ServiceError::invalid(
                "min_tier",
                rules::PostError::NoTier.to_string(),
            ));
        }
        let post = CreationRow {
            published_at: Some(now),
            updated_at: now,
            ..draft
        };
        store::update_creation(&mut tx, &post).await?;
        let deliveries = self
            .post_event(&mut tx, Trigger::PostsPublish, &post, &campaign, now)
            .await?;
        self.mail_new_post_in(&mut tx, &post, &campaign).await?;
        tx.commit().await?;
        self.webhooks_written(deliveries);
        self.aggregates.forget(campaign.id);
        Ok(post)
    }

    /// Deletes a post and its pictures. A paid post deleted before its month
    /// is billed is not charged.
    pub async fn delete_post(&self, creator: UserId, id: CreationId) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let post = own_post(&mut tx, &campaign, id).await?;
        let deliveries = if post.published_at.is_some() {
            self.post_event(&mut tx, Trigger::PostsDelete, &post, &campaign, now)
                .await?
        } else {
            0
        };
        store::delete_creation(&mut tx, post.id).await?;
        tx.commit().await?;
        self.webhooks_written(deliveries);
        self.aggregates.forget(campaign.id);
        Ok(())
    }

    /// Adds an uploaded picture to one of the creator's posts.
    pub async fn add_post_image(
        &self,
        creator: UserId,
        post: CreationId,
        bytes: Vec<u8>,
    ) -> Result<PostImageMeta, ServiceError> {
        let image = maecenas_domain::avatar::validate_avatar(&bytes)
            .map_err(|e| ServiceError::invalid("image", e.to_string()))?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let post = own_post(&mut tx, &campaign, post).await?;
        if store::images_of(&mut tx, post.id).await?.len() >= rules::IMAGES_PER_POST {
            return Err(ServiceError::invalid(
                "image",
                format!(
                    "A post holds at most {} pictures; remove one first.",
                    rules::IMAGES_PER_POST
                ),
            ));
        }
        let row = PostImageRow {
            meta: PostImageMeta {
                id: self.ids.next(),
                creation_id: post.id,
                content_type: image.content_type.to_owned(),
                width: image.width as i32,
                height: image.height as i32,
                etag: hex::encode(secrets::sha256_bytes(&bytes)),
            },
            bytes,
            created_at: now,
        };
        store::insert_image(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(row.meta)
    }

    pub async fn delete_post_image(
        &self,
        creator: UserId,
        post: CreationId,
        image: PostImageId,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.write().await?;
        let campaign = own_campaign(&mut tx, creator).await?;
        let post = own_post(&mut tx, &campaign, post).await?;
        if !store::delete_image(&mut tx, post.id, image).await? {
            return Err(ServiceError::NotFound("image"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A creator's published posts as `reader` sees them, newest first.
    pub async fn posts_of_creator(
        &self,
        username: &str,
        reader: Option<UserId>,
        after: Option<PostCursor>,
    ) -> Result<PostList, ServiceError> {
        let mut tx = self.store.read().await?;
        // Its creator also sees a page not published yet: the preview.
        let (creator, campaign) = creator_for(&mut tx, username, reader).await?;
        let (who, your_pledge) = reader_and_pledge(&mut tx, &campaign, reader).await?;
        let mut rows =
            store::published_creations(&mut tx, campaign.id, after, PAGE_SIZE + 1).await?;
        let next = page_end(&mut rows, PAGE_SIZE, |r| r);
        let view = campaign_view(self, &mut tx, campaign, creator).await?;
        let mut posts = Vec::with_capacity(rows.len());
        for post in rows {
            posts.push(card(&mut tx, &view, post, who).await?);
        }
        Ok(PostList {
            view,
            posts,
            next,
            own: who == Reader::Owner,
            your_pledge,
        })
    }

    /// One post at `/{username}/posts/{id}`. A draft is its creator's alone:
    /// anyone else is told it does not exist.
    pub async fn post_page(
        &self,
        username: &str,
        id: CreationId,
        reader: Option<UserId>,
    ) -> Result<PostPage, ServiceError> {
        let mut tx = self.store.read().await?;
        let (creator, campaign) = creator_for(&mut tx, username, reader).await?;
        let who = reader_of(&mut tx, &campaign, reader).await?;
        let post = store::creation_by_id(&mut tx, id)
            .await?
            .filter(|p| p.campaign_id == campaign.id)
            .filter(|p| p.published_at.is_some() || who == Reader::Owner)
            .ok_or(ServiceError::NotFound("post"))?;
        let view = campaign_view(self, &mut tx, campaign, creator).await?;
        let card = card(&mut tx, &view, post, who).await?;
        Ok(PostPage {
            view,
            card,
            own: who == Reader::Owner,
        })
    }

    /// A post's picture, for a reader who may read the post. Anyone else
    /// is told it does not exist, so its address alone opens nothing.
    pub async fn post_image(
        &self,
        username: &str,
        post: CreationId,
        image: PostImageId,
        reader: Option<UserId>,
    ) -> Result<PostImageRow, ServiceError> {
        let mut tx = self.store.read().await?;
        let (_, campaign) = creator_for(&mut tx, username, reader).await?;
        let who = reader_of(&mut tx, &campaign, reader).await?;
        image_for(&mut tx, &campaign, who, post, image).await
    }

    /// A picture of a post in a private feed, for that feed's reader, who
    /// may see it if its patron may read the post.
    pub async fn private_feed_image(
        &self,
        secret: &str,
        post: CreationId,
        image: PostImageId,
    ) -> Result<PostImageRow, ServiceError> {
        let not_found = ServiceError::NotFound("image");
        let mut tx = self.store.read().await?;
        let patron = feed_patron(&mut tx, secret).await?;
        let campaign = match store::creation_by_id(&mut tx, post).await? {
            Some(row) => campaigns::campaign_by_id(&mut tx, row.campaign_id)
                .await?
                .ok_or(not_found)?,
            None => return Err(not_found),
        };
        let who = reader_of(&mut tx, &campaign, Some(patron.id)).await?;
        image_for(&mut tx, &campaign, who, post, image).await
    }

    /// The posts of everyone `patron` sponsors, newest first.
    pub async fn patron_feed(
        &self,
        patron: UserId,
        after: Option<PostCursor>,
    ) -> Result<FeedPage, ServiceError> {
        let mut tx = self.store.read().await?;
        let mut rows = store::feed_of_patron(&mut tx, patron, after, PAGE_SIZE + 1).await?;
        let next = page_end(&mut rows, PAGE_SIZE, |r| &r.creation);
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(feed_item(&mut tx, row).await?);
        }
        Ok(FeedPage { items, next })
    }

    /// A creator's public posts for their Atom feed.
    pub async fn public_feed(&self, username: &str) -> Result<PublicFeed, ServiceError> {
        let mut tx = self.store.read().await?;
        let (creator, campaign) = published_creator(&mut tx, username).await?;
        // Only public posts belong in a feed anyone may read; a page of
        // published posts may hold fewer, which a feed reader does not mind.
        let public: Vec<CreationRow> =
            store::published_creations(&mut tx, campaign.id, None, FEED_SIZE)
                .await?
                .into_iter()
                .filter(|p| audience_of(p) == Audience::Public)
                .collect();
        let view = campaign_view(self, &mut tx, campaign, creator).await?;
        let mut posts = Vec::with_capacity(public.len());
        for post in public {
            posts.push(card(&mut tx, &view, post, Reader::Other).await?);
        }
        Ok(PublicFeed { view, posts })
    }

    /// When the patron's private feed address was made, if they have one.
    pub async fn private_feed_since(
        &self,
        patron: UserId,
    ) -> Result<Option<OffsetDateTime>, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(store::feed_created_at(&mut tx, patron).await?)
    }

    /// A new private feed address for `patron` (the secret in it is shown
    /// once); the previous address stops working.
    pub async fn new_private_feed(&self, patron: UserId) -> Result<String, ServiceError> {
        let secret = secrets::mint("mcf_")?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        store::put_feed_secret(&mut tx, patron, &secret.hash, now).await?;
        tx.commit().await?;
        Ok(secret.plaintext)
    }

    /// Ends the patron's private feed: its address stops working.
    pub async fn revoke_private_feed(&self, patron: UserId) -> Result<(), ServiceError> {
        let mut tx = self.store.write().await?;
        store::delete_feed_secret(&mut tx, patron).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The posts a private feed address opens: what its patron's pledges
    /// unlock, newest first. An unknown or revoked secret is "not found".
    pub async fn private_feed(&self, secret: &str) -> Result<PrivateFeed, ServiceError> {
        let mut tx = self.store.read().await?;
        let patron = feed_patron(&mut tx, secret).await?;
        let rows = store::feed_of_patron(&mut tx, patron.id, None, FEED_SIZE).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let item = feed_item(&mut tx, row).await?;
            if item.card.readable {
                items.push(item);
            }
        }
        Ok(PrivateFeed { patron, items })
    }

    /// What publishing one more paid post would add to this month's charges.
    async fn charge_preview(
        &self,
        tx: &mut Tx,
        campaign: CampaignId,
    ) -> Result<ChargePreview, ServiceError> {
        let period = BillingPeriod::containing(self.clock.now());
        let mut preview = ChargePreview::default();
        for p in store::per_creation_pledges(tx, campaign, period.start()).await? {
            let due = |n| {
                maecenas_domain::billing::per_creation_due(p.amount_minor, n, p.pledge_cap_minor)
            };
            let added = due(p.paid_creations + 1) - due(p.paid_creations);
            if added > 0 {
                preview.patrons += 1;
                preview.total_minor += added;
            } else {
                preview.at_cap += 1;
            }
        }
        Ok(preview)
    }
}

/// The fields of a post form once checked.
struct CheckedPost {
    title: String,
    body: String,
    embed_url: Option<String>,
    audience: Audience,
    min_tier: Option<TierId>,
    is_paid: bool,
}

async fn checked(
    tx: &mut Tx,
    campaign: &CampaignRow,
    input: &PostInput,
    before: Option<&CreationRow>,
) -> Result<CheckedPost, ServiceError> {
    let invalid = |field, e: rules::PostError| ServiceError::invalid(field, e.to_string());
    let title = rules::clean_title(&input.title).map_err(|e| invalid("title", e))?;
    let body = rules::clean_body(&input.body).map_err(|e| invalid("body", e))?;
    let embed_url = rules::clean_link(&input.embed_url).map_err(|e| invalid("embed_url", e))?;
    let audience: Audience = input
        .audience
        .parse()
        .map_err(|_| ServiceError::invalid("audience", "Choose who may read this post."))?;
    let min_tier = match audience {
        Audience::Tier => {
            let tier = input
                .min_tier
                .ok_or_else(|| invalid("min_tier", rules::PostError::NoTier))?;
            campaigns::tier_by_id(tx, tier)
                .await?
                .filter(|t| t.campaign_id == campaign.id)
                .ok_or_else(|| invalid("min_tier", rules::PostError::NoTier))?;
            Some(tier)
        }
        _ => None,
    };
    let is_paid = match before {
        Some(published) if published.published_at.is_some() => published.is_paid,
        _ => input.is_paid && !campaign.is_monthly,
    };
    Ok(CheckedPost {
        title,
        body,
        embed_url,
        audience,
        min_tier,
        is_paid,
    })
}

async fn own_campaign(tx: &mut Tx, creator: UserId) -> Result<CampaignRow, ServiceError> {
    campaigns::campaign_by_creator(tx, creator)
        .await?
        .ok_or(ServiceError::NotFound("campaign"))
}

async fn own_post(
    tx: &mut Tx,
    campaign: &CampaignRow,
    id: CreationId,
) -> Result<CreationRow, ServiceError> {
    store::creation_by_id(tx, id)
        .await?
        .filter(|p| p.campaign_id == campaign.id)
        .ok_or(ServiceError::NotFound("post"))
}

/// The creator at `/{username}`: a published campaign for everyone, and
/// also a not-yet-published one for its own creator (previews).
/// The patron whose private feed `secret` opens; "not found" for an
/// unknown or revoked secret, or an account that is gone.
async fn feed_patron(tx: &mut Tx, secret: &str) -> Result<UserRow, ServiceError> {
    let patron = store::feed_owner(tx, &secrets::sha256(secret))
        .await?
        .ok_or(ServiceError::NotFound("feed"))?;
    users::user_by_id(tx, patron)
        .await?
        .filter(|u| !u.standing().is_gone())
        .ok_or(ServiceError::NotFound("feed"))
}

/// A picture of one of `campaign`'s posts if `who` may read the post; "not
/// found" otherwise, so that its address alone opens nothing.
async fn image_for(
    tx: &mut Tx,
    campaign: &CampaignRow,
    who: Reader,
    post: CreationId,
    image: PostImageId,
) -> Result<PostImageRow, ServiceError> {
    let not_found = || ServiceError::NotFound("image");
    let post = store::creation_by_id(tx, post)
        .await?
        .filter(|p| p.campaign_id == campaign.id)
        .filter(|p| p.published_at.is_some() || who == Reader::Owner)
        .ok_or_else(not_found)?;
    let tier_amount = tier_amount(tx, &post).await?;
    if !rules::may_read(audience_of(&post), tier_amount, who) {
        return Err(not_found());
    }
    store::image_of(tx, post.id, image)
        .await?
        .ok_or_else(not_found)
}

async fn creator_for(
    tx: &mut Tx,
    username: &str,
    reader: Option<UserId>,
) -> Result<(UserRow, CampaignRow), ServiceError> {
    match published_creator(tx, username).await {
        Err(ServiceError::NotFound(_)) if reader.is_some() => {
            let user = users::user_by_username(tx, username)
                .await?
                .filter(|u| Some(u.id) == reader)
                .ok_or(ServiceError::NotFound("creator"))?;
            let campaign = own_campaign(tx, user.id).await?;
            Ok((user, campaign))
        }
        other => other,
    }
}

async fn reader_of(
    tx: &mut Tx,
    campaign: &CampaignRow,
    reader: Option<UserId>,
) -> Result<Reader, ServiceError> {
    Ok(reader_and_pledge(tx, campaign, reader).await?.0)
}

/// Who `reader` is to `campaign`, and their pledge to it when they are a patron.
async fn reader_and_pledge(
    tx: &mut Tx,
    campaign: &CampaignRow,
    reader: Option<UserId>,
) -> Result<(Reader, Option<PledgeRow>), ServiceError> {
    Ok(match reader {
        None => (Reader::Other, None),
        Some(id) if id == campaign.creator_id => (Reader::Owner, None),
        Some(id) => match pledges::current_pledge(tx, id, campaign.id).await? {
            Some(pledge) => (
                Reader::Patron {
                    amount_minor: pledge.amount_minor,
                },
                Some(pledge),
            ),
            None => (Reader::Other, None),
        },
    })
}

pub fn audience_of(post: &CreationRow) -> Audience {
    // The column's CHECK admits only the three names; an unknown one (a
    // newer schema) stays closed.
    post.audience.parse().unwrap_or(Audience::Tier)
}

async fn tier_amount(tx: &mut Tx, post: &CreationRow) -> Result<Option<i64>, ServiceError> {
    Ok(match post.min_tier() {
        Some(tier) => campaigns::tier_by_id(tx, tier)
            .await?
            .map(|t| t.amount_minor),
        None => None,
    })
}

async fn card(
    tx: &mut Tx,
    view: &CampaignView,
    post: CreationRow,
    who: Reader,
) -> Result<PostCard, ServiceError> {
    let tier = post
        .min_tier()
        .and_then(|id| view.tiers.iter().find(|t| t.id == id));
    let audience = audience_of(&post);
    let readable = rules::may_read(audience, tier.map(|t| t.amount_minor), who);
    let unlock = unlock_of(
        audience,
        tier.map(|t| (t.id, t.title.clone(), t.amount_minor)),
    );
    let images = if readable {
        store::images_of(tx, post.id).await?
    } else {
        Vec::new()
    };
    Ok(PostCard {
        post,
        readable,
        unlock,
        images,
        reader_pledges: matches!(who, Reader::Patron { .. }),
    })
}

async fn feed_item(tx: &mut Tx, row: FeedRow) -> Result<FeedItem, ServiceError> {
    let audience = audience_of(&row.creation);
    let reader = Reader::Patron {
        amount_minor: row.pledge_amount_minor,
    };
    let readable = rules::may_read(audience, row.tier_amount_minor, reader);
    let tier = match (
        row.creation.min_tier(),
        row.tier_title,
        row.tier_amount_minor,
    ) {
        (Some(id), Some(title), Some(amount_minor)) => Some((id, title, amount_minor)),
        _ => None,
    };
    let unlock = unlock_of(audience, tier);
    let images = if readable {
        store::images_of(tx, row.creation.id).await?
    } else {
        Vec::new()
    };
    let name = row.campaign_page_name.unwrap_or_else(|| {
        maecenas_domain::user::public_name(
            &row.creator_first_name,
            &row.creator_last_name,
            row.creator_username.as_deref(),
        )
    });
    let username = row.creator_username.unwrap_or_default();
    Ok(FeedItem {
        card: PostCard {
            post: row.creation,
            readable,
            unlock,
            images,
            reader_pledges: true,
        },
        creator_username: username,
        creator_name: name,
        currency: row.campaign_currency,
    })
}

/// What would unlock a post for `audience`; `tier`: its tier's id, title
/// and amount, when it still exists.
fn unlock_of(audience: Audience, tier: Option<(TierId, String, i64)>) -> Option<Unlock> {
    match audience {
        Audience::Public => None,
        Audience::Patrons => Some(Unlock::Patrons),
        Audience::Tier => tier.map(|(id, title, amount_minor)| Unlock::Tier {
            title,
            amount_minor,
            id,
        }),
    }
}

fn cursor_of(post: &CreationRow) -> Option<PostCursor> {
    post.published_at.map(|published_at| PostCursor {
        published_at,
        id: post.id,
    })
}

/// Trims a page fetched one longer than `size`; the cursor of its last post
/// when there is more.
fn page_end<T>(
    rows: &mut Vec<T>,
    size: i64,
    post: impl Fn(&T) -> &CreationRow,
) -> Option<PostCursor> {
    if rows.len() as i64 > size {
        rows.truncate(size as usize);
        rows.last().map(post).and_then(cursor_of)
    } else {
        None
    }
}

impl Services {
    /// Writes the `posts:*` event about `post` for the campaign's webhooks
    /// that subscribe to it; returns the deliveries written.
    async fn post_event(
        &self,
        tx: &mut Tx,
        trigger: Trigger,
        post: &CreationRow,
        campaign: &CampaignRow,
        now: OffsetDateTime,
    ) -> Result<usize, ServiceError> {
        let creator = users::user_by_id(tx, campaign.creator_id)
            .await?
            .ok_or(ServiceError::NotFound("creator"))?;
        self.write_post_event(tx, trigger, post, campaign, &creator, now)
            .await
    }
}
