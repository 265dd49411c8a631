//! Maecenas use cases. Each public method is one transaction: begin, apply
//! the domain rules with one `now`, call the store, commit. No HTTP here and
//! no SQL: handlers call these, these call the store.

pub mod accounts;
mod aggregates;
pub mod archive;
pub mod billing;
pub mod clock;
pub mod creators;
pub mod demo;
pub mod developers;
pub mod email;
mod error;
pub mod faults;
pub mod gauges;
pub mod oauth;
pub mod panel;
pub mod patreon;
pub mod posts;
pub mod secrets;
pub mod sessions;
pub mod sponsus;
pub mod text;
pub mod throttle;
pub mod webhooks;

use std::sync::Arc;

use maecenas_domain::SnowflakeGenerator;
use maecenas_store::Store;

pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
pub use error::ServiceError;

/// Everything a use case needs; cheap to clone into each request.
#[derive(Clone)]
pub struct Services {
    store: Store,
    ids: Arc<SnowflakeGenerator>,
    clock: Arc<dyn Clock>,
    aggregates: Arc<aggregates::CampaignAggregates>,
    billing: Arc<billing::Billing>,
    webhooks: Arc<webhooks::Webhooks>,
    mail: Arc<email::Mail>,
}

impl Services {
    /// Use cases over `store`, billing with the built-in test gateway and default fees.
    pub fn new(store: Store, ids: Arc<SnowflakeGenerator>, clock: Arc<dyn Clock>) -> Self {
        let billing = billing::Billing::new(&store, billing::BillingSettings::default())
            .expect("the test gateway needs no set-up");
        let webhooks = webhooks::Webhooks::new(webhooks::WebhookSettings::default(), None)
            .expect("the default webhook client builds");
        Self {
            aggregates: Arc::new(aggregates::CampaignAggregates::new(store.clone())),
            store,
            ids,
            clock,
            billing: Arc::new(billing),
            webhooks: Arc::new(webhooks),
            mail: Arc::new(email::Mail::unsent("http://localhost")),
        }
    }

    /// Sends e-mail as `settings` say (without this, messages wait in the outbox).
    pub fn with_mail(mut self, settings: &email::MailSettings) -> Result<Self, ServiceError> {
        let mail = email::Mail::new(settings)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("e-mail: {e}")))?;
        self.mail = Arc::new(mail);
        Ok(self)
    }

    /// Links in e-mail start with `base_url`; nothing is sent from this process.
    pub fn with_mail_links(mut self, base_url: &str) -> Self {
        self.mail = Arc::new(email::Mail::unsent(base_url));
        self
    }

    /// Where messages are written as files, when no mail server is set.
    pub fn mail_folder(&self) -> Option<&std::path::Path> {
        self.mail.mail_dir()
    }

    /// Whether this process sends e-mail (it has a transport).
    pub fn sends_mail(&self) -> bool {
        self.mail.transport.is_some()
    }

    /// The same use cases with webhooks as configured, their bodies written by `renderer`.
    pub fn with_webhooks(
        mut self,
        settings: webhooks::WebhookSettings,
        renderer: Arc<dyn webhooks::EventRenderer>,
    ) -> Result<Self, ServiceError> {
        let webhooks = webhooks::Webhooks::new(settings, Some(renderer))
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("webhook client: {e}")))?;
        self.webhooks = Arc::new(webhooks);
        Ok(self)
    }

    /// The same use cases with billing as configured (gateway, fees, leases).
    pub fn with_billing(
        mut self,
        settings: billing::BillingSettings,
    ) -> Result<Self, ServiceError> {
        let billing = billing::Billing::new(&self.store, settings)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("payment gateway: {e}")))?;
        self.billing = Arc::new(billing);
        Ok(self)
    }

    pub fn gateway_name(&self) -> &'static str {
        self.billing.gateway_name()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether the database answers (for `/readyz`).
    /// Answers within two seconds even when the database hangs.
    pub async fn database_ready(&self) -> Result<(), ServiceError> {
        match tokio::time::timeout(std::time::Duration::from_secs(2), self.store.ping()).await {
            Ok(result) => result.map_err(ServiceError::from),
            Err(_) => Err(ServiceError::Internal(anyhow::anyhow!(
                "database ping timed out"
            ))),
        }
    }
}

/// Records the use cases return. Re-exported so that the HTTP layer can read
/// them without depending on the store (and so without a way to write SQL).
pub mod records {
    pub use maecenas_store::api_keys::ApiKeyRow;
    pub use maecenas_store::campaigns::{
        CampaignFields, CampaignRow, DirectoryEntry, GoalRow, TierRow,
    };
    pub use maecenas_store::cards::PaymentMethodRow;
    pub use maecenas_store::charges::{ChargeRow, PeriodTotals};
    pub use maecenas_store::dashboard::{MonthIncome, PatronLine, PayoutPosting, RetryLine};
    pub use maecenas_store::donations::{DonationRow, DonationTotals};
    pub use maecenas_store::emails::EmailRow;
    pub use maecenas_store::ledger::Violation;
    pub use maecenas_store::oauth_clients::OAuthClientRow;
    pub use maecenas_store::payouts::PayoutRow;
    pub use maecenas_store::pledges::PledgeRow;
    pub use maecenas_store::posts::{CreationRow, PostImageMeta, PostImageRow};
    pub use maecenas_store::users::{AvatarRow, Moderation, UserRow};
    pub use maecenas_store::webhooks::{AttemptRow, DeliveryCounts, DeliveryRow, WebhookRow};
}

#[cfg(test)]
mod send_checks {
    fn assert_send<T: Send>(_: T) {}

    #[allow(dead_code, unreachable_code, clippy::diverging_sub_expression)]
    fn billing_futures_are_send(s: crate::Services) {
        assert_send(s.run_billing(None, &crate::billing::Quiet));
        assert_send(s.pay_out(maecenas_domain::CampaignId::from(1), None));
        assert_send(s.update_card(maecenas_domain::UserId::from(1), unimplemented!()));
    }
}
