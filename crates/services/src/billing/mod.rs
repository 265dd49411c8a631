//! Billing: charging pledges and donations through a payment gateway,
//! recording every charge in a double-entry ledger, paying creators out.
//!
//! A charge is made at most once per pledge and period, whatever crashes:
//! the charge (the intent) is committed before the gateway is called, each
//! attempt carries its own idempotency key and the charge's reference as
//! metadata, and a run that takes over a charge another run left pending
//! looks it up at the gateway before trying again. The arithmetic lives in
//! `maecenas_domain::billing`.

mod engine;
pub mod gateway;
mod payment;
mod payouts;
mod pledging;
mod refunds;
mod stripe;
mod test_gateway;
pub mod typed;

use std::time::Duration;

use maecenas_domain::FeePolicy;
use maecenas_store::Store;

pub use engine::{Progress, Quiet, RunReport};
pub use gateway::*;
pub use payouts::PayoutReport;
pub use pledging::{
    DonationReceipt, NewDonationRequest, NewPledgeRequest, PledgeChange, PledgeOutcome,
    PledgeReceipt, ShippingAddress,
};
pub use stripe::StripeGateway;
pub use test_gateway::{TestGateway, TestGatewayFault};

/// Which gateway to use, as configured.
#[derive(Clone)]
pub enum GatewayChoice {
    Test {
        fault: TestGatewayFault,
    },
    Stripe {
        secret_key: String,
        api_base: String,
    },
}

impl std::fmt::Debug for GatewayChoice {
    /// Never prints the secret key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayChoice::Test { fault } => f.debug_struct("Test").field("fault", fault).finish(),
            GatewayChoice::Stripe { api_base, .. } => f
                .debug_struct("Stripe")
                .field("secret_key", &"***")
                .field("api_base", api_base)
                .finish(),
        }
    }
}

/// How billing behaves (see the README's configuration table).
#[derive(Debug, Clone)]
pub struct BillingSettings {
    pub gateway: GatewayChoice,
    pub fees: FeePolicy,
    /// How long a run holds the charges it took before another may take them over.
    pub lease: Duration,
    /// How long one round of gateway calls may take before its outcome is unknown.
    pub gateway_timeout: Duration,
    /// Charges planned, sent and recorded together (one transaction each way).
    pub batch_size: usize,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            gateway: GatewayChoice::Test {
                fault: TestGatewayFault::None,
            },
            fees: FeePolicy::DEFAULT,
            lease: Duration::from_secs(300),
            gateway_timeout: Duration::from_secs(30),
            batch_size: 2_000,
        }
    }
}

/// Billing as wired: settings and the gateway they chose.
pub struct Billing {
    pub(crate) settings: BillingSettings,
    pub(crate) gateway: PaymentGateway,
}

impl Billing {
    pub fn new(store: &Store, settings: BillingSettings) -> Result<Self, GatewayError> {
        let gateway = match &settings.gateway {
            GatewayChoice::Test { fault } => {
                PaymentGateway::Test(TestGateway::new(store.clone(), *fault))
            }
            GatewayChoice::Stripe {
                secret_key,
                api_base,
            } => PaymentGateway::Stripe(StripeGateway::new(secret_key.clone(), api_base.clone())?),
        };
        Ok(Self { settings, gateway })
    }

    pub fn gateway_name(&self) -> &'static str {
        self.gateway.name()
    }
}

mod queries {
    use maecenas_domain::{BillingPeriod, CampaignId, UserId};
    use maecenas_store::charges::ChargeRow;
    use maecenas_store::ledger::{Balance, Violation};
    use maecenas_store::{charges, ledger};

    use crate::{ServiceError, Services};

    impl Services {
        /// The ledger's invariants that do not hold (empty: all hold).
        pub async fn verify_ledger(&self) -> Result<Vec<Violation>, ServiceError> {
            let mut tx = self.store.read().await?;
            Ok(ledger::verify(&mut tx).await?)
        }

        /// How many charges are in each state (of one period, or all).
        pub async fn charge_counts(
            &self,
            period: Option<BillingPeriod>,
        ) -> Result<Vec<(String, i64)>, ServiceError> {
            let mut tx = self.store.read().await?;
            let label = period.map(|p| p.to_string());
            Ok(charges::charge_counts(&mut tx, label.as_deref()).await?)
        }

        /// A patron's charges, newest first (the patron panel's history).
        pub async fn charges_of_patron(
            &self,
            patron: UserId,
            limit: i64,
        ) -> Result<Vec<ChargeRow>, ServiceError> {
            let mut tx = self.store.read().await?;
            Ok(charges::charges_of_patron(&mut tx, patron, limit.clamp(1, 1_000)).await?)
        }

        /// What the platform owes a campaign's creator, per currency.
        pub async fn creator_balance(
            &self,
            campaign: CampaignId,
        ) -> Result<Vec<Balance>, ServiceError> {
            let mut tx = self.store.read().await?;
            Ok(ledger::creator_balance(&mut tx, campaign).await?)
        }
    }
}
