//! What a creator does with webhooks, through the API or the portal: create,
//! list, change, pause and resume, delete, read the delivery log, redeliver,
//! send a test event. Each use case is one transaction.

use maecenas_domain::webhooks::{join_triggers, signing_secret};
use maecenas_domain::{
    CampaignId, DeliveryId, OAuthClientId, PledgeId, Trigger, UserId, WebhookId,
};
use maecenas_store::Tx;
use maecenas_store::campaigns::{self, CampaignRow};
use maecenas_store::pledges;
use maecenas_store::pledges::PledgeRow;
use maecenas_store::webhooks::{
    self as store, AttemptRow, DeliveryCounts, DeliveryRow, NewDelivery, NewEvent, WebhookRow,
};

use super::PledgeEvent;
use super::guard;
use super::outbox::pledge_view;
use crate::patreon::PledgeView;
use crate::{ServiceError, Services};

/// Who manages webhooks: the creator in the portal sees and changes all of
/// their campaign's; an app, through the API with the creator's token, only
/// those it registered (Patreon v2's rule: another app's are not found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookManager {
    Creator(UserId),
    App {
        creator: UserId,
        client: OAuthClientId,
    },
}

impl WebhookManager {
    pub fn creator(self) -> UserId {
        match self {
            WebhookManager::Creator(creator) | WebhookManager::App { creator, .. } => creator,
        }
    }

    fn client(self) -> Option<OAuthClientId> {
        match self {
            WebhookManager::Creator(_) => None,
            WebhookManager::App { client, .. } => Some(client),
        }
    }

    /// Whether this manager may see and change `hook`.
    fn manages(self, hook: &WebhookRow) -> bool {
        match self {
            WebhookManager::Creator(_) => true,
            WebhookManager::App { client, .. } => hook.client() == Some(client),
        }
    }
}

/// Most webhooks one campaign may have.
pub const MAX_WEBHOOKS_PER_CAMPAIGN: usize = 20;

/// A change to a webhook: what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub uri: Option<String>,
    pub triggers: Option<Vec<String>>,
    pub paused: Option<bool>,
}

/// A webhook with its latest deliveries and attempts, for the portal.
#[derive(Debug, Clone)]
pub struct WebhookLog {
    pub webhook: WebhookRow,
    pub counts: DeliveryCounts,
    pub deliveries: Vec<DeliveryRow>,
    pub attempts: Vec<AttemptRow>,
}

fn parse_triggers(names: &[String]) -> Result<Vec<Trigger>, ServiceError> {
    if names.is_empty() {
        return Err(ServiceError::invalid(
            "triggers",
            "choose at least one trigger",
        ));
    }
    names
        .iter()
        .map(|name| {
            name.trim().parse::<Trigger>().map_err(|_| {
                ServiceError::invalid(
                    "triggers",
                    format!(
                        "unknown trigger {name:?}; known: {}",
                        Trigger::ALL.map(Trigger::as_str).join(", ")
                    ),
                )
            })
        })
        .collect()
}

impl Services {
    async fn check_target(&self, uri: &str) -> Result<String, ServiceError> {
        guard::check_target(&self.webhooks.settings.policy, uri)
            .await
            .map(|url| url.to_string())
            .map_err(|e| ServiceError::invalid("uri", e.to_string()))
    }

    /// A new webhook for the owner's campaign. Its target must be public (or
    /// allowed by the operator); nothing is sent to it yet.
    pub async fn create_webhook(
        &self,
        by: WebhookManager,
        campaign: Option<CampaignId>,
        uri: &str,
        triggers: &[String],
    ) -> Result<WebhookRow, ServiceError> {
        let triggers = parse_triggers(triggers)?;
        let uri = self.check_target(uri).await?;
        let mut key = [0u8; 24];
        getrandom::fill(&mut key)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let own = owned_campaign(&mut tx, by.creator(), campaign).await?;
        if store::webhooks_of_campaign(&mut tx, own.id).await?.len() >= MAX_WEBHOOKS_PER_CAMPAIGN {
            return Err(ServiceError::Conflict(
                "this campaign has as many webhooks as it may have (20)",
            ));
        }
        let row = WebhookRow {
            id: self.ids.next(),
            campaign_id: own.id,
            oauth_client_id: by.client().map(OAuthClientId::get),
            uri,
            triggers: join_triggers(&triggers),
            secret: signing_secret(&key),
            paused: false,
            paused_reason: None,
            num_consecutive_times_failed: 0,
            last_attempted_at: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        store::insert_webhook(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The creator's campaign (if they have one) and the webhooks `by` manages there.
    pub async fn webhooks_of(
        &self,
        by: WebhookManager,
    ) -> Result<(Option<CampaignRow>, Vec<WebhookRow>), ServiceError> {
        let mut tx = self.store.read().await?;
        let Some(campaign) = campaigns::campaign_by_creator(&mut tx, by.creator()).await? else {
            return Ok((None, Vec::new()));
        };
        let mut hooks = store::webhooks_of_campaign(&mut tx, campaign.id).await?;
        hooks.retain(|hook| by.manages(hook));
        Ok((Some(campaign), hooks))
    }

    pub async fn webhook(
        &self,
        by: WebhookManager,
        id: WebhookId,
    ) -> Result<WebhookRow, ServiceError> {
        let mut tx = self.store.read().await?;
        owned_webhook(&mut tx, by, id).await
    }

    /// Changes a webhook. Resuming a paused one puts the deliveries it gave
    /// up on back in line: no event is lost to an outage.
    pub async fn update_webhook(
        &self,
        by: WebhookManager,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<WebhookRow, ServiceError> {
        let triggers = patch.triggers.as_deref().map(parse_triggers).transpose()?;
        let uri = match &patch.uri {
            Some(uri) => Some(self.check_target(uri).await?),
            None => None,
        };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let current = owned_webhook(&mut tx, by, id).await?;
        let paused = patch.paused.unwrap_or(current.paused);
        if current.paused && !paused && current.paused_reason.as_deref() == Some("access_revoked") {
            return Err(ServiceError::Conflict(
                "the app that registered this webhook no longer has your authorization; it resumes when you authorize the app again",
            ));
        }
        store::update_webhook(
            &mut tx,
            id,
            uri.as_deref().unwrap_or(&current.uri),
            &triggers.map_or_else(|| current.triggers.clone(), |t| join_triggers(&t)),
            paused,
            now,
        )
        .await?;
        let mut requeued = 0;
        if current.paused && !paused {
            requeued =
                store::requeue_failed(&mut tx, id, now, now + self.webhooks.settings.give_up_after)
                    .await?;
        }
        let row = owned_webhook(&mut tx, by, id).await?;
        tx.commit().await?;
        if !paused {
            self.webhooks_written(requeued.max(1) as usize);
        }
        Ok(row)
    }

    pub async fn delete_webhook(
        &self,
        by: WebhookManager,
        id: WebhookId,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.write().await?;
        owned_webhook(&mut tx, by, id).await?;
        store::delete_webhook(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The webhook, its delivery counts and its latest deliveries and attempts.
    pub async fn webhook_log(
        &self,
        by: WebhookManager,
        id: WebhookId,
        limit: i64,
    ) -> Result<WebhookLog, ServiceError> {
        let mut tx = self.store.read().await?;
        let webhook = owned_webhook(&mut tx, by, id).await?;
        let counts = store::delivery_counts(&mut tx, id).await?;
        let deliveries = store::deliveries_of_webhook(&mut tx, id, limit).await?;
        let attempts = store::attempts_of_webhook(&mut tx, id, limit).await?;
        Ok(WebhookLog {
            webhook,
            counts,
            deliveries,
            attempts,
        })
    }

    /// Sends one delivery again, now, whatever became of it.
    pub async fn redeliver(
        &self,
        by: WebhookManager,
        webhook: WebhookId,
        delivery: DeliveryId,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        owned_webhook(&mut tx, by, webhook).await?;
        let found = store::delivery_by_id(&mut tx, delivery)
            .await?
            .filter(|d| d.webhook_id == webhook)
            .ok_or(ServiceError::NotFound("delivery"))?;
        store::redeliver(
            &mut tx,
            found.id,
            now,
            now + self.webhooks.settings.give_up_after,
        )
        .await?;
        tx.commit().await?;
        self.webhooks_written(1);
        Ok(())
    }

    /// Sends `trigger` to this webhook alone, about the campaign's newest
    /// pledge (or, before the first one, a sample pledge from the creator).
    pub async fn send_test_event(
        &self,
        by: WebhookManager,
        webhook: WebhookId,
        trigger: Trigger,
    ) -> Result<DeliveryId, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let hook = owned_webhook(&mut tx, by, webhook).await?;
        let campaign = self.campaign_view_of(&mut tx, hook.campaign_id).await?;
        let (body, pledge_id) = if trigger.is_post() {
            // The newest post, or a sample one before the first.
            let post = maecenas_store::posts::recent_creations(&mut tx, hook.campaign_id, 1)
                .await?
                .pop()
                .unwrap_or_else(|| sample_post(&campaign, now));
            let body = self.render_post(&super::PostEvent {
                trigger,
                post: &post,
                campaign: &campaign.campaign,
                creator: &campaign.creator,
            })?;
            (body, None)
        } else {
            let pledge = match pledges::latest_pledge(&mut tx, hook.campaign_id).await? {
                Some(id) => pledge_view(&mut tx, id).await?,
                None => None,
            };
            let pledge = pledge.unwrap_or_else(|| sample_pledge(&campaign, now));
            let body = self.render(&PledgeEvent {
                trigger,
                pledge: &pledge,
                campaign: &campaign,
                charge: None,
            })?;
            (body, Some(pledge.pledge.id.get()).filter(|id| *id != 0))
        };
        let event = NewEvent {
            id: self.ids.next(),
            campaign_id: hook.campaign_id,
            trigger: trigger.as_str().to_owned(),
            pledge_id,
            charge_id: None,
            is_test: true,
            body,
            created_at: now,
        };
        let delivery = NewDelivery {
            id: self.ids.next(),
            webhook_id: hook.id,
            event_id: event.id,
            next_attempt_at: now,
            give_up_at: now + self.webhooks.settings.give_up_after,
        };
        let delivery_id = delivery.id;
        store::insert_events(&mut tx, &[event], &[delivery]).await?;
        tx.commit().await?;
        self.webhooks_written(1);
        Ok(delivery_id)
    }

    /// Deliveries still owed, across all webhooks.
    pub async fn pending_deliveries(&self) -> Result<i64, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(store::pending_deliveries(&mut tx).await?)
    }
}

/// The owner's campaign; `asked` must be it when given.
async fn owned_campaign(
    tx: &mut Tx,
    owner: UserId,
    asked: Option<CampaignId>,
) -> Result<CampaignRow, ServiceError> {
    let own = campaigns::campaign_by_creator(tx, owner)
        .await?
        .ok_or(ServiceError::invalid(
            "campaign",
            "only a creator with a campaign can have webhooks",
        ))?;
    match asked {
        Some(id) if id != own.id => Err(ServiceError::Forbidden),
        _ => Ok(own),
    }
}

/// A webhook of the creator's campaign that `by` manages; another's is not
/// found (not forbidden: its existence is none of their business).
async fn owned_webhook(
    tx: &mut Tx,
    by: WebhookManager,
    id: WebhookId,
) -> Result<WebhookRow, ServiceError> {
    let hook = store::webhook_by_id(tx, id)
        .await?
        .ok_or(ServiceError::NotFound("webhook"))?;
    let campaign = campaigns::campaign_by_id(tx, hook.campaign_id).await?;
    match campaign {
        Some(c) if c.creator_id == by.creator() && by.manages(&hook) => Ok(hook),
        _ => Err(ServiceError::NotFound("webhook")),
    }
}

/// A pledge that never was, for a test event before the first real one.
fn sample_pledge(campaign: &crate::patreon::CampaignView, now: time::OffsetDateTime) -> PledgeView {
    let tier = campaign.tiers.iter().find(|t| t.retired_at.is_none());
    PledgeView {
        pledge: PledgeRow {
            id: PledgeId::from(0),
            patron_id: campaign.creator.id,
            campaign_id: campaign.campaign.id,
            tier_id: tier.map(|t| t.id.get()),
            amount_minor: tier.map_or(500, |t| t.amount_minor),
            currency: campaign.campaign.currency.clone(),
            pledge_cap_minor: None,
            patron_pays_fees: false,
            address_id: None,
            payment_method_id: None,
            vat_country: None,
            status: maecenas_domain::PledgeStatus::Active,
            created_at: now,
            updated_at: now,
            cancelled_at: None,
            ended_at: None,
        },
        patron: campaign.creator.clone(),
        address: None,
        card: None,
    }
}

/// A post to show a receiver what `posts:*` bodies look like before the
/// campaign has any.
fn sample_post(
    campaign: &crate::patreon::CampaignView,
    now: time::OffsetDateTime,
) -> maecenas_store::posts::CreationRow {
    maecenas_store::posts::CreationRow {
        id: maecenas_domain::CreationId::from(0),
        campaign_id: campaign.campaign.id,
        title: "A sample post".to_owned(),
        body: "Sent by **Send a test event**: your campaign has no posts yet.".to_owned(),
        is_paid: false,
        audience: "public".to_owned(),
        min_tier_id: None,
        embed_url: None,
        created_at: now,
        updated_at: now,
        published_at: Some(now),
    }
}
