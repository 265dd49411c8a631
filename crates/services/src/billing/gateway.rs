//! The payment gateway boundary: what billing asks of a processor. Two
//! implementations: [`TestGateway`] (built in, the default, no network) and
//! [`StripeGateway`] (Stripe's REST API). An enum rather than a trait object:
//! there are two, and async methods stay plain `async fn`s.

use std::time::Duration;

pub use super::payment::{
    AttachedCard, CardInput, ChargeOutcome, ChargeRequest, GatewayError, Lookup, PayoutRequest,
    RefundRequest,
};
use super::stripe::StripeGateway;
use super::test_gateway::TestGateway;

pub enum PaymentGateway {
    Test(TestGateway),
    Stripe(StripeGateway),
}

impl PaymentGateway {
    /// The name stored beside every card and charge (`payment_methods.gateway`).
    pub fn name(&self) -> &'static str {
        match self {
            PaymentGateway::Test(_) => "test",
            PaymentGateway::Stripe(_) => "stripe",
        }
    }

    /// Registers a card for later off-session charges; `owner_email` names the customer.
    pub async fn attach_card(
        &self,
        card: &CardInput,
        owner_email: &str,
        today: time::Date,
    ) -> Result<AttachedCard, GatewayError> {
        match self {
            PaymentGateway::Test(g) => g.attach_card(card, today),
            PaymentGateway::Stripe(g) => g.attach_card(card, owner_email).await,
        }
    }

    /// Makes attempts, in one round where the gateway allows it. Whatever
    /// happens, the answer has one outcome per request, in order; past
    /// `timeout` every unanswered request is [`ChargeOutcome::Unknown`].
    pub async fn charge_many(
        &self,
        requests: &[ChargeRequest],
        timeout: Duration,
    ) -> Vec<ChargeOutcome> {
        let work = async {
            match self {
                PaymentGateway::Test(g) => g.charge_many(requests).await,
                PaymentGateway::Stripe(g) => g.charge_many(requests).await,
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(outcomes) => outcomes,
            Err(_) => requests
                .iter()
                .map(|_| ChargeOutcome::Unknown {
                    message: format!(
                        "no answer from the gateway within {} ms",
                        timeout.as_millis()
                    ),
                })
                .collect(),
        }
    }

    pub async fn lookup(&self, reference: &str) -> Result<Lookup, GatewayError> {
        match self {
            PaymentGateway::Test(g) => g.lookup(reference).await,
            PaymentGateway::Stripe(g) => g.lookup(reference).await,
        }
    }

    /// Refunds a payment; `Ok` carries the gateway's reference of the refund.
    pub async fn refund(&self, request: &RefundRequest) -> Result<String, GatewayError> {
        match self {
            PaymentGateway::Test(g) => g.refund(request).await,
            PaymentGateway::Stripe(g) => g.refund(request).await,
        }
    }

    /// Pays out; `Ok` carries the gateway's reference of the transfer.
    pub async fn payout(&self, request: &PayoutRequest) -> Result<String, GatewayError> {
        match self {
            PaymentGateway::Test(g) => g.payout(request).await,
            PaymentGateway::Stripe(g) => g.payout(request).await,
        }
    }
}
