//! Receipts and declined-payment messages, written in bulk inside the
//! transaction that settles a batch of charges: one query finds every payer
//! (and what they turned off), one statement per thousand writes the
//! messages. A run of a million charges writes a million small rows
//! (a few hundred bytes each: the text is written out when sent).

use std::collections::HashMap;

use maecenas_domain::{BillingPeriod, EmailKind, UserId};
use maecenas_store::Tx;
use maecenas_store::charges::ChargeRow;
use maecenas_store::emails::{self, ChargeRecipient, NewEmail};
use time::OffsetDateTime;

use super::messages::{self, Footer, Letter, Payment};
use super::notices::money;
use super::outbox::{TRY_FOR, reason};
use crate::{ServiceError, Services, secrets};

/// What became of a charge, as far as its payer's inbox is concerned.
pub(crate) enum ChargeMail {
    Paid,
    /// Declined; tried again at `retry_at`, or never again (`None`).
    Declined {
        retry_at: Option<OffsetDateTime>,
    },
}

fn what_was_paid(charge: &ChargeRow) -> String {
    match charge
        .period
        .as_deref()
        .and_then(|p| p.parse::<BillingPeriod>().ok())
    {
        Some(period) => format!("your pledge for {} {}", period.month(), period.year()),
        None if charge.donation_id.is_some() => "a one-time gift".to_owned(),
        None => "your pledge".to_owned(),
    }
}

fn day(at: OffsetDateTime) -> String {
    format!("{} {} {}", at.day(), at.month(), at.year())
}

fn card_label(payer: &ChargeRecipient) -> String {
    match (&payer.card_brand, &payer.card_last4) {
        (Some(brand), Some(last4)) => maecenas_domain::billing::card_label(brand, last4),
        _ => "no card on file".to_owned(),
    }
}

impl Services {
    /// Writes the receipt or decline of each charge in `settled` to its
    /// payer, in `tx`.
    pub(crate) async fn mail_charges_in(
        &self,
        tx: &mut Tx,
        settled: &[(&ChargeRow, ChargeMail)],
    ) -> Result<(), ServiceError> {
        if settled.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = settled.iter().map(|(c, _)| c.id.get()).collect();
        let payers: HashMap<i64, ChargeRecipient> = emails::charge_recipients(tx, &ids)
            .await?
            .into_iter()
            .map(|p| (p.charge_id, p))
            .collect();
        let now = self.clock.now();
        let mut written = Vec::with_capacity(settled.len());
        for (charge, outcome) in settled {
            let Some(payer) = payers.get(&charge.id.get()) else {
                continue;
            };
            let (kind, off) = match outcome {
                ChargeMail::Paid => (EmailKind::Receipt, payer.no_receipts),
                ChargeMail::Declined { .. } => (EmailKind::PaymentDeclined, payer.no_declines),
            };
            if off {
                continue;
            }
            let creator = payer.page_name.clone().unwrap_or_else(|| {
                maecenas_domain::user::public_name(
                    &payer.creator_first_name,
                    &payer.creator_last_name,
                    payer.creator_username.as_deref(),
                )
            });
            let payment = Payment {
                creator,
                amount: money(charge.amount_minor, &charge.currency),
                what: what_was_paid(charge),
                date: day(now),
                card: card_label(payer),
                reference: charge.id.to_string(),
            };
            let letter = match outcome {
                ChargeMail::Paid => {
                    messages::receipt(&payer.first_name, &payment, &self.mail.link("/panel"))
                }
                ChargeMail::Declined { retry_at } => messages::payment_declined(
                    &payer.first_name,
                    &payment,
                    retry_at.map(day).as_deref(),
                    &self.mail.link("/panel#card"),
                ),
            };
            written.push(self.new_email(payer.user_id, &payer.email, kind, &letter, now)?);
        }
        emails::insert_emails(tx, &written).await?;
        Ok(())
    }

    /// A message of a kind that can be turned off, for a bulk write (the
    /// caller has checked that `to` wants it).
    pub(super) fn new_email(
        &self,
        user: UserId,
        to: &str,
        kind: EmailKind,
        letter: &Letter,
        now: OffsetDateTime,
    ) -> Result<NewEmail, ServiceError> {
        let token = secrets::mint("mcu_")?;
        let footer = Footer {
            reason: reason(kind),
            unsubscribe: Some(
                self.mail
                    .link(&format!("/email/unsubscribe?token={}", token.plaintext)),
            ),
            settings: self.mail.link("/settings/email"),
        };
        let content = serde_json::to_string(&messages::Stored {
            letter: letter.clone(),
            footer,
        })
        .map_err(|e| ServiceError::Internal(e.into()))?;
        Ok(NewEmail {
            id: self.ids.next_raw(),
            user_id: user,
            kind,
            to_address: to.to_owned(),
            subject: letter.subject.clone(),
            content,
            unsubscribe_hash: Some(token.hash),
            created_at: now,
            give_up_at: now + TRY_FOR,
        })
    }
}
