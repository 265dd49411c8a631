//! The built-in `test` gateway: no network, Stripe's test card numbers decide
//! what happens, idempotency keys are honoured as Stripe honours them, and
//! its books live in the database in transactions of their own (see
//! `maecenas_store::test_gateway`), so they survive a crash of Maecenas the
//! way an outside processor's would.

use std::sync::atomic::{AtomicU64, Ordering};

use maecenas_store::Store;
use maecenas_store::test_gateway::{self, Operation};

use super::payment::{
    AttachedCard, CardInput, ChargeOutcome, ChargeRequest, GatewayError, Lookup, PayoutRequest,
    RefundRequest,
};
use crate::secrets;

/// Faults to inject, for tests of what billing does when the gateway misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TestGatewayFault {
    #[default]
    None,
    /// Every Nth charge is made, then answered with an error (a 500 after the fact).
    ErrorAfterCharge(u64),
    /// Every Nth charge is made, then never answered (the caller's timeout fires).
    TimeoutAfterCharge(u64),
    /// Every lookup takes this many milliseconds (a far or busy gateway).
    SlowLookups(u64),
}

impl std::str::FromStr for TestGatewayFault {
    type Err = String;
    /// `error-after-charge:N`, `timeout-after-charge:N`, `slow-lookups:MS` or `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?} is not a test gateway fault: use error-after-charge:N, timeout-after-charge:N, slow-lookups:MS or none"
            )
        };
        if s == "none" || s.is_empty() {
            return Ok(Self::None);
        }
        let (kind, every) = s.split_once(':').ok_or_else(bad)?;
        let every: u64 = every.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        match kind {
            "error-after-charge" => Ok(Self::ErrorAfterCharge(every)),
            "timeout-after-charge" => Ok(Self::TimeoutAfterCharge(every)),
            "slow-lookups" => Ok(Self::SlowLookups(every)),
            _ => Err(bad()),
        }
    }
}

/// What a test card does, encoded in the reference handed out at attach
/// (`pm_test_<behaviour>_<random>`), as Stripe's test cards behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Succeeds,
    InsufficientFunds,
    DeclinesWhenCharged,
}

impl Behaviour {
    fn tag(self) -> &'static str {
        match self {
            Behaviour::Succeeds => "ok",
            Behaviour::InsufficientFunds => "insufficient",
            Behaviour::DeclinesWhenCharged => "chargedecline",
        }
    }

    fn of_reference(reference: &str) -> Option<Behaviour> {
        let rest = reference.strip_prefix("pm_test_")?;
        let (tag, _) = rest.split_once('_')?;
        [
            Behaviour::Succeeds,
            Behaviour::InsufficientFunds,
            Behaviour::DeclinesWhenCharged,
        ]
        .into_iter()
        .find(|b| b.tag() == tag)
    }
}

/// A card refused at attach: (code, message), as Stripe words them.
type Refusal = (&'static str, &'static str);

/// Stripe's documented test numbers this gateway knows.
fn test_card(number: &str) -> Option<(&'static str, Result<Behaviour, Refusal>)> {
    Some(match number {
        "4242424242424242" | "4000056655665556" => ("visa", Ok(Behaviour::Succeeds)),
        "5555555555554444" | "2223003122003222" | "5200828282828210" => {
            ("mastercard", Ok(Behaviour::Succeeds))
        }
        "378282246310005" | "371449635398431" => ("amex", Ok(Behaviour::Succeeds)),
        "6011111111111117" => ("discover", Ok(Behaviour::Succeeds)),
        "4000000000009995" => ("visa", Ok(Behaviour::InsufficientFunds)),
        "4000000000000341" => ("visa", Ok(Behaviour::DeclinesWhenCharged)),
        "4000000000000002" => ("visa", Err(("card_declined", "Your card was declined."))),
        "4000000000009987" => (
            "visa",
            Err(("card_declined", "Your card was declined (lost card).")),
        ),
        "4000000000009979" => (
            "visa",
            Err(("card_declined", "Your card was declined (stolen card).")),
        ),
        "4000000000000069" => ("visa", Err(("expired_card", "Your card has expired."))),
        "4000000000000127" => (
            "visa",
            Err(("incorrect_cvc", "Your card's security code is incorrect.")),
        ),
        "4000000000000119" => (
            "visa",
            Err((
                "processing_error",
                "An error occurred while processing your card.",
            )),
        ),
        _ => return None,
    })
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn card_error(code: &str, message: &str) -> GatewayError {
    GatewayError::Card {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

pub struct TestGateway {
    store: Store,
    fault: TestGatewayFault,
    charges_made: AtomicU64,
}

impl TestGateway {
    pub fn new(store: Store, fault: TestGatewayFault) -> Self {
        Self {
            store,
            fault,
            charges_made: AtomicU64::new(0),
        }
    }

    pub fn attach_card(
        &self,
        card: &CardInput,
        today: time::Date,
    ) -> Result<AttachedCard, GatewayError> {
        let digits: String = card
            .number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if digits.len() < 12
            || digits.len() > 19
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !luhn_valid(&digits)
        {
            return Err(card_error(
                "incorrect_number",
                "Your card number is incorrect.",
            ));
        }
        if !(1..=12).contains(&card.exp_month) {
            return Err(card_error(
                "invalid_expiry_month",
                "Your card's expiration month is invalid.",
            ));
        }
        let expired =
            (i32::from(card.exp_year), card.exp_month) < (today.year(), today.month() as u8);
        if expired {
            return Err(card_error("expired_card", "Your card has expired."));
        }
        if !(3..=4).contains(&card.cvc.len()) || !card.cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(card_error(
                "invalid_cvc",
                "Your card's security code is invalid.",
            ));
        }
        let Some((brand, behaviour)) = test_card(&digits) else {
            return Err(card_error(
                "card_declined",
                "Your card was declined: the test gateway takes only Stripe's test card numbers (4242 4242 4242 4242 and others).",
            ));
        };
        let behaviour = behaviour.map_err(|(code, message)| card_error(code, message))?;
        Ok(AttachedCard {
            gateway_ref: format!("pm_test_{}_{}", behaviour.tag(), &secrets::random_hex(12)),
            brand: brand.to_owned(),
            last4: digits[digits.len() - 4..].to_owned(),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
        })
    }

    /// All attempts in one transaction of the gateway's own: a key seen
    /// before gets the answer it got then, as with Stripe's idempotency keys.
    pub async fn charge_many(&self, requests: &[ChargeRequest]) -> Vec<ChargeOutcome> {
        match self.charge_in_one_transaction(requests).await {
            Ok((outcomes, hang)) => {
                if hang {
                    // The charges are made and committed; the answer never comes.
                    std::future::pending::<()>().await;
                }
                outcomes
            }
            Err(e) => requests
                .iter()
                .map(|_| ChargeOutcome::Unknown {
                    message: format!("test gateway: {e}"),
                })
                .collect(),
        }
    }

    async fn charge_in_one_transaction(
        &self,
        requests: &[ChargeRequest],
    ) -> Result<(Vec<ChargeOutcome>, bool), maecenas_store::StoreError> {
        let now = time::OffsetDateTime::now_utc();
        let mut tx = self.store.write().await?;
        let keys: Vec<String> = requests.iter().map(|r| r.idempotency_key.clone()).collect();
        let seen: std::collections::HashMap<String, Operation> =
            test_gateway::by_idempotency_keys(&mut tx, &keys)
                .await?
                .into_iter()
                .map(|op| (op.idempotency_key.clone(), op))
                .collect();
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut made = Vec::new();
        let mut hang = false;
        for request in requests {
            if let Some(op) = seen.get(&request.idempotency_key) {
                outcomes.push(outcome_of(op));
                continue;
            }
            let behaviour = Behaviour::of_reference(&request.payment_method_ref);
            let failure = match behaviour {
                Some(Behaviour::Succeeds) => None,
                Some(Behaviour::InsufficientFunds) => {
                    Some(("insufficient_funds", "Your card has insufficient funds."))
                }
                Some(Behaviour::DeclinesWhenCharged) => {
                    Some(("card_declined", "Your card was declined."))
                }
                None => Some(("resource_missing", "No such payment method.")),
            };
            let op = Operation {
                id: format!("pi_test_{}", secrets::random_hex(12)),
                kind: "payment".into(),
                idempotency_key: request.idempotency_key.clone(),
                reference: request.reference.clone(),
                payment_method: Some(request.payment_method_ref.clone()),
                amount_minor: request.amount_minor,
                currency: request.currency.clone(),
                status: if failure.is_some() {
                    "failed"
                } else {
                    "succeeded"
                }
                .into(),
                failure_code: failure.map(|(code, _)| code.to_owned()),
                created_at: now,
            };
            let mut outcome = outcome_of(&op);
            if failure.is_none() {
                let n = self.charges_made.fetch_add(1, Ordering::Relaxed) + 1;
                match self.fault {
                    TestGatewayFault::ErrorAfterCharge(every) if n.is_multiple_of(every) => {
                        outcome = ChargeOutcome::Unknown {
                            message: "test gateway: injected error after charging".into(),
                        };
                    }
                    TestGatewayFault::TimeoutAfterCharge(every) if n.is_multiple_of(every) => {
                        hang = true
                    }
                    _ => {}
                }
            }
            outcomes.push(outcome);
            made.push(op);
        }
        test_gateway::insert_many(&mut tx, &made).await?;
        tx.commit().await?;
        Ok((outcomes, hang))
    }

    pub async fn lookup(&self, reference: &str) -> Result<Lookup, GatewayError> {
        if let TestGatewayFault::SlowLookups(ms) = self.fault {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let mut tx = self
            .store
            .read()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let ops = test_gateway::by_reference(&mut tx, reference)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if let Some(done) = ops.iter().find(|op| op.status == "succeeded") {
            return Ok(Lookup::Succeeded {
                payment_ref: done.id.clone(),
            });
        }
        Ok(match ops.last() {
            None => Lookup::NotFound,
            Some(last) => Lookup::Failed {
                keys: ops.iter().map(|op| op.idempotency_key.clone()).collect(),
                code: last.failure_code.clone().unwrap_or_default(),
                message: failure_message(last.failure_code.as_deref()),
            },
        })
    }

    pub async fn refund(&self, request: &RefundRequest) -> Result<String, GatewayError> {
        let unavailable = |e: maecenas_store::StoreError| GatewayError::Unavailable(e.to_string());
        let mut tx = self.store.write().await.map_err(unavailable)?;
        if let Some(seen) = test_gateway::by_idempotency_key(&mut tx, &request.idempotency_key)
            .await
            .map_err(unavailable)?
        {
            return Ok(seen.id);
        }
        let paid = test_gateway::by_reference(&mut tx, &request.reference)
            .await
            .map_err(unavailable)?
            .into_iter()
            .find(|op| op.id == request.payment_ref && op.status == "succeeded")
            .ok_or_else(|| {
                GatewayError::Unsupported(format!("No such payment: {}", request.payment_ref))
            })?;
        if request.amount_minor > paid.amount_minor {
            return Err(GatewayError::Unsupported(
                "Refund amount is greater than the payment".into(),
            ));
        }
        let op = Operation {
            id: format!("re_test_{}", secrets::random_hex(12)),
            kind: "refund".into(),
            idempotency_key: request.idempotency_key.clone(),
            reference: format!("refund:{}", request.reference),
            payment_method: paid.payment_method,
            amount_minor: request.amount_minor,
            currency: request.currency.clone(),
            status: "succeeded".into(),
            failure_code: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        test_gateway::insert(&mut tx, &op)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(op.id)
    }

    pub async fn payout(&self, request: &PayoutRequest) -> Result<String, GatewayError> {
        let unavailable = |e: maecenas_store::StoreError| GatewayError::Unavailable(e.to_string());
        let mut tx = self.store.write().await.map_err(unavailable)?;
        if let Some(seen) = test_gateway::by_idempotency_key(&mut tx, &request.idempotency_key)
            .await
            .map_err(unavailable)?
        {
            return Ok(seen.id);
        }
        let op = Operation {
            id: format!("po_test_{}", secrets::random_hex(12)),
            kind: "payout".into(),
            idempotency_key: request.idempotency_key.clone(),
            reference: request.reference.clone(),
            payment_method: None,
            amount_minor: request.amount_minor,
            currency: request.currency.clone(),
            status: "succeeded".into(),
            failure_code: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        test_gateway::insert(&mut tx, &op)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(op.id)
    }
}

fn failure_message(code: Option<&str>) -> String {
    match code {
        Some("insufficient_funds") => "Your card has insufficient funds.",
        Some("resource_missing") => "No such payment method.",
        _ => "Your card was declined.",
    }
    .to_owned()
}

fn outcome_of(op: &Operation) -> ChargeOutcome {
    if op.status == "succeeded" {
        ChargeOutcome::Succeeded {
            payment_ref: op.id.clone(),
        }
    } else {
        ChargeOutcome::Declined {
            code: op.failure_code.clone().unwrap_or_default(),
            message: failure_message(op.failure_code.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4242424242424241"));
    }

    #[test]
    fn faults_parse() {
        assert_eq!(
            "error-after-charge:3".parse(),
            Ok(TestGatewayFault::ErrorAfterCharge(3))
        );
        assert_eq!("none".parse(), Ok(TestGatewayFault::None));
        assert!("error-after-charge:0".parse::<TestGatewayFault>().is_err());
        assert!("explode".parse::<TestGatewayFault>().is_err());
    }

    #[test]
    fn card_numbers_are_never_printed() {
        let card = CardInput {
            number: "4242 4242 4242 4242".into(),
            exp_month: 1,
            exp_year: 2030,
            cvc: "123".into(),
        };
        let shown = format!("{card:?}");
        assert!(
            shown.contains("4242") && !shown.contains("42424242") && !shown.contains("123"),
            "{shown}"
        );
    }
}
