//! What billing and a payment processor say to each other: the card a
//! patron typed, a charge, payout or refund asked for, and each answer.
//! Shared by [`super::gateway`] and the two processors it dispatches to.

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
