//! The payment gateway boundary: what billing asks of a processor. Two
//! implementations: [`TestGateway`] (built in, the default, no network) and
//! [`StripeGateway`] (Stripe's REST API). An enum rather than a trait object:
//! there are two, and async methods stay plain `async fn`s.

use std::time::Duration;

use super::stripe::StripeGateway;
use super::test_gateway::TestGateway;

/// A card as the patron typed it. Never stored: only the gateway's reference,
/// the brand and the last four digits are.
#[derive(Clone)]
pub struct CardInput {
    pub number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: String,
}

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits: String = self.number.chars().filter(char::is_ascii_digit).collect();
        let last4 = &digits[digits.len().saturating_sub(4)..];
        write!(
            f,
            "CardInput(**** {last4}, {:02}/{})",
            self.exp_month, self.exp_year
        )
    }
}

/// A card the gateway accepted and will charge later (off session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedCard {
    /// What billing hands back to charge it (for Stripe, `cus_…:pm_…`).
    pub gateway_ref: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
}

/// One attempt to take money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// Sent as the `Idempotency-Key`: one per attempt of a charge.
    pub idempotency_key: String,
    /// Attached as metadata (`reference`) so the charge can be found after a crash.
    pub reference: String,
    pub payment_method_ref: String,
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        payment_ref: String,
    },
    /// The gateway said no (a decline, insufficient funds): retry later.
    Declined {
        code: String,
        message: String,
    },
    /// No answer (timeout, lost connection, a 5xx): the money may have moved.
    /// Billing looks the charge up by its reference before trying again.
    Unknown {
        message: String,
    },
}

/// What the gateway knows of a reference after the fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Succeeded {
        payment_ref: String,
    },
    /// Attempts were made under these idempotency keys and all failed.
    Failed {
        keys: Vec<String>,
        code: String,
        message: String,
    },
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The card was refused (bad number, declined at attach, expired).
    #[error("{message}")]
    Card { code: String, message: String },
    /// The gateway could not be reached or answered nonsense.
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway cannot do this at all (for example payouts without Connect).
    #[error("{0}")]
    Unsupported(String),
}

/// A transfer of a creator's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    pub idempotency_key: String,
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// Money back to the patron, against a payment the gateway made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub idempotency_key: String,
    pub reference: String,
    /// The gateway's payment id (`pi_…`).
    pub payment_ref: String,
    pub amount_minor: i64,
    pub currency: String,
}

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
