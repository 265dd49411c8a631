//! Webhooks: creators' targets, the outbox events written with the changes
//! they tell of, and the worker that delivers them.
//!
//! An event is rendered (by the Patreon dialect, through [`EventRenderer`])
//! and stored in the same transaction as the change, with one delivery per
//! subscribed webhook. The worker inside `serve` claims due deliveries
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), sends them signed two ways
//! (`X-Patreon-Signature`, Standard Webhooks), and records each attempt.
//! Failures are retried with growing, jittered delays for three days; then
//! the webhook is paused and its creator told in the portal.

mod delivery;
mod guard;
mod manage;
mod outbox;
mod signing;

use std::sync::Arc;
use std::time::Duration;

use maecenas_domain::TargetPolicy;
use maecenas_domain::webhooks::{FIRST_RETRY_SECS, GIVE_UP_AFTER_SECS, LONGEST_RETRY_SECS};
use tokio::sync::Notify;

use crate::patreon::{CampaignView, PledgeView};
use crate::records::{CampaignRow, ChargeRow, CreationRow, UserRow};

pub use delivery::DeliveryReport;
pub use manage::{WebhookLog, WebhookManager, WebhookPatch};
pub(crate) use outbox::PendingEvent;
pub use signing::{SignedHeaders, sign};

/// How webhooks behave (see the README's configuration table).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Which addresses targets may resolve to.
    pub policy: TargetPolicy,
    /// How long one attempt may take, connecting included.
    pub timeout: Duration,
    /// Attempts in flight at once, per process.
    pub concurrency: usize,
    /// Attempts in flight at once to one webhook (its lanes), so a slow receiver cannot hold every slot.
    pub per_webhook: usize,
    pub first_retry: Duration,
    pub longest_retry: Duration,
    /// How long after its event a delivery is given up on.
    pub give_up_after: Duration,
    /// How often an idle worker looks for due deliveries another process wrote.
    pub poll: Duration,
    /// How long a claim lasts. The worker renews its claims every third of
    /// it, so only a process that died (or froze) loses them, and the
    /// others send what it held this long after.
    pub lease: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            policy: TargetPolicy::default(),
            timeout: Duration::from_secs(10),
            concurrency: 256,
            per_webhook: 64,
            first_retry: Duration::from_secs(FIRST_RETRY_SECS),
            longest_retry: Duration::from_secs(LONGEST_RETRY_SECS),
            give_up_after: Duration::from_secs(GIVE_UP_AFTER_SECS as u64),
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(15),
        }
    }
}

/// One event as receivers get it: the pledge, what it belongs to, and the
/// charge when the event is about one.
pub struct PledgeEvent<'a> {
    pub trigger: maecenas_domain::Trigger,
    pub pledge: &'a PledgeView,
    pub campaign: &'a CampaignView,
    pub charge: Option<&'a ChargeRow>,
}

/// A `posts:*` event: the post as it is after the change (as it was, for a
/// deletion), and whose it is.
pub struct PostEvent<'a> {
    pub trigger: maecenas_domain::Trigger,
    pub post: &'a CreationRow,
    pub campaign: &'a CampaignRow,
    pub creator: &'a UserRow,
}

/// Writes an event's body. The Patreon dialects implement it, so the JSON of
/// a pledge or a post is produced in one place whether it is fetched or pushed.
pub trait EventRenderer: Send + Sync {
    fn render(&self, event: &PledgeEvent<'_>) -> String;
    fn render_post(&self, event: &PostEvent<'_>) -> String;
}

/// The webhook machinery a [`crate::Services`] carries.
pub struct Webhooks {
    pub(crate) settings: WebhookSettings,
    renderer: Option<Arc<dyn EventRenderer>>,
    /// Rung after a commit that wrote deliveries, so the worker sends at once.
    wake: Notify,
    client: reqwest::Client,
}

impl Webhooks {
    pub fn new(
        settings: WebhookSettings,
        renderer: Option<Arc<dyn EventRenderer>>,
    ) -> Result<Webhooks, reqwest::Error> {
        let client = guard::client(&settings)?;
        Ok(Webhooks {
            settings,
            renderer,
            wake: Notify::new(),
            client,
        })
    }

    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("settings", &self.settings)
            .field("renderer", &self.renderer.is_some())
            .finish()
    }
}
