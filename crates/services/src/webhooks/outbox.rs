//! Writing events into the outbox, inside the transaction of the change.
//!
//! Events are written only where a webhook subscribes to them: the outbox is
//! the delivery queue, and a campaign without webhooks pays one query per
//! transaction (one per billing batch) and nothing else.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use maecenas_domain::webhooks::split_triggers;
use maecenas_domain::{CampaignId, ChargeId, PledgeId, Trigger};
use maecenas_store::Tx;
use maecenas_store::campaigns::{self, CampaignRow};
use maecenas_store::posts::CreationRow;
use maecenas_store::users;
use maecenas_store::users::UserRow;
use maecenas_store::webhooks::{self as store, NewDelivery, NewEvent, WebhookRow};
use maecenas_store::{cards, charges, pledges};
use time::OffsetDateTime;

use super::{PledgeEvent, PostEvent};
use crate::patreon::{CampaignView, PledgeView};
use crate::{ServiceError, Services};

/// A change to a pledge that receivers may care about.
#[derive(Debug, Clone)]
pub(crate) struct PendingEvent {
    pub pledge: PledgeId,
    pub campaign: CampaignId,
    pub triggers: Vec<Trigger>,
    /// The charge the event is about (`charges:*`), as it is after the change.
    pub charge: Option<ChargeId>,
}

impl Services {
    /// Writes the events of `changes` and the deliveries they owe, in `tx`.
    /// Returns how many deliveries were written; call
    /// [`Services::webhooks_written`] with it after committing.
    pub(crate) async fn write_events(
        &self,
        tx: &mut Tx,
        changes: &[PendingEvent],
        now: OffsetDateTime,
    ) -> Result<usize, ServiceError> {
        if changes.is_empty() {
            return Ok(0);
        }
        let mut campaign_ids: Vec<CampaignId> = changes.iter().map(|c| c.campaign).collect();
        campaign_ids.sort();
        campaign_ids.dedup();
        let hooks = store::webhooks_of_campaigns(tx, &campaign_ids).await?;
        if hooks.is_empty() {
            return Ok(0);
        }
        let subscriptions: Vec<(WebhookRow, Vec<Trigger>)> = hooks
            .into_iter()
            .map(|h| {
                let triggers = split_triggers(&h.triggers);
                (h, triggers)
            })
            .collect();
        let mut views: HashMap<CampaignId, CampaignView> = HashMap::new();
        let mut events = Vec::new();
        let mut deliveries = Vec::new();
        let give_up_at = now + self.webhooks.settings.give_up_after;
        for change in changes {
            let wanted: Vec<(Trigger, Vec<&WebhookRow>)> = change
                .triggers
                .iter()
                .map(|trigger| {
                    let to: Vec<&WebhookRow> = subscriptions
                        .iter()
                        .filter(|(h, t)| h.campaign_id == change.campaign && t.contains(trigger))
                        .map(|(h, _)| h)
                        .collect();
                    (*trigger, to)
                })
                .filter(|(_, to)| !to.is_empty())
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let Some(pledge) = pledge_view(tx, change.pledge).await? else {
                continue;
            };
            if let Entry::Vacant(slot) = views.entry(change.campaign) {
                slot.insert(self.campaign_view_of(tx, change.campaign).await?);
            }
            let campaign = &views[&change.campaign];
            let charge = match change.charge {
                Some(id) => charges::charge_by_id(tx, id).await?,
                None => None,
            };
            for (trigger, to) in wanted {
                let body = self.render(&PledgeEvent {
                    trigger,
                    pledge: &pledge,
                    campaign,
                    charge: charge.as_ref(),
                })?;
                let event = NewEvent {
                    id: self.ids.next(),
                    campaign_id: change.campaign,
                    trigger: trigger.as_str().to_owned(),
                    pledge_id: Some(change.pledge.get()),
                    charge_id: change.charge.map(ChargeId::get),
                    is_test: false,
                    body,
                    created_at: now,
                };
                for hook in to {
                    deliveries.push(NewDelivery {
                        id: self.ids.next(),
                        webhook_id: hook.id,
                        event_id: event.id,
                        next_attempt_at: now,
                        give_up_at,
                    });
                }
                events.push(event);
            }
        }
        store::insert_events(tx, &events, &deliveries).await?;
        Ok(deliveries.len())
    }

    /// After the transaction that wrote deliveries committed: send them now.
    pub(crate) fn webhooks_written(&self, deliveries: usize) {
        if deliveries > 0 {
            self.webhooks.wake();
        }
    }

    pub(super) fn render(&self, event: &PledgeEvent<'_>) -> Result<String, ServiceError> {
        Ok(self.renderer()?.render(event))
    }

    pub(super) fn render_post(&self, event: &PostEvent<'_>) -> Result<String, ServiceError> {
        Ok(self.renderer()?.render_post(event))
    }

    fn renderer(&self) -> Result<&dyn super::EventRenderer, ServiceError> {
        self.webhooks.renderer.as_deref().ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!(
                "a webhook is subscribed but no event renderer is configured"
            ))
        })
    }

    /// Writes a `posts:*` event and its deliveries, in `tx`, for the
    /// campaign's webhooks that subscribe to `trigger`. Returns how many
    /// deliveries were written (see [`Services::webhooks_written`]).
    pub(crate) async fn write_post_event(
        &self,
        tx: &mut Tx,
        trigger: Trigger,
        post: &CreationRow,
        campaign: &CampaignRow,
        creator: &UserRow,
        now: OffsetDateTime,
    ) -> Result<usize, ServiceError> {
        let hooks: Vec<WebhookRow> = store::webhooks_of_campaigns(tx, &[campaign.id])
            .await?
            .into_iter()
            .filter(|h| split_triggers(&h.triggers).contains(&trigger))
            .collect();
        if hooks.is_empty() {
            return Ok(0);
        }
        let body = self.render_post(&PostEvent {
            trigger,
            post,
            campaign,
            creator,
        })?;
        let event = NewEvent {
            id: self.ids.next(),
            campaign_id: campaign.id,
            trigger: trigger.as_str().to_owned(),
            pledge_id: None,
            charge_id: None,
            is_test: false,
            body,
            created_at: now,
        };
        let give_up_at = now + self.webhooks.settings.give_up_after;
        let deliveries: Vec<NewDelivery> = hooks
            .iter()
            .map(|hook| NewDelivery {
                id: self.ids.next(),
                webhook_id: hook.id,
                event_id: event.id,
                next_attempt_at: now,
                give_up_at,
            })
            .collect();
        store::insert_events(tx, &[event], &deliveries).await?;
        Ok(deliveries.len())
    }

    pub(super) async fn campaign_view_of(
        &self,
        tx: &mut Tx,
        campaign: CampaignId,
    ) -> Result<CampaignView, ServiceError> {
        let row = campaigns::campaign_by_id(tx, campaign)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        let creator = users::user_by_id(tx, row.creator_id)
            .await?
            .ok_or(ServiceError::NotFound("creator"))?;
        crate::patreon::campaign_view(self, tx, row, creator).await
    }
}

/// A pledge with its patron, address and card, as they are in `tx`.
pub(super) async fn pledge_view(
    tx: &mut Tx,
    id: PledgeId,
) -> Result<Option<PledgeView>, ServiceError> {
    let Some(pledge) = pledges::pledge_by_id(tx, id).await? else {
        return Ok(None);
    };
    let Some(patron) = users::user_by_id(tx, pledge.patron_id).await? else {
        return Ok(None);
    };
    let address = match pledge.address() {
        Some(a) => cards::address_by_id(tx, a).await?,
        None => None,
    };
    let card = match pledge.payment_method() {
        Some(c) => cards::payment_method_by_id(tx, c).await?,
        None => None,
    };
    Ok(Some(PledgeView {
        pledge,
        patron,
        address,
        card,
    }))
}
