//! Receipts and declined-payment messages. Billing only marks each charge
//! whose outcome its payer should hear of (`charges.mail_due`, set in the
//! statement that records the outcome); the mail worker writes the messages
//! from those charges, a few hundred per transaction, before it sends. So a
//! run of a million charges costs the run nothing more than a flag, and the
//! outbox holds what the mail server can take, not a month's receipts at once.

use maecenas_domain::{BillingPeriod, ChargeStatus, EmailKind, UserId};
use maecenas_store::emails::{self, ChargeMail, NewEmail};
use time::OffsetDateTime;

use super::messages::{self, Footer, Letter, Payment};
use super::outbox::{TRY_FOR, reason};
use crate::text::{date, money, month};
use crate::{ServiceError, Services, secrets};

/// Charges turned into messages per transaction.
const BATCH: i64 = 500;
/// No more are written while this many messages wait: the outbox holds
/// what the mail server can take soon, and the charges keep the rest.
const MAX_BACKLOG: i64 = 2_000;

fn what_was_paid(charge: &ChargeMail) -> String {
    match charge
        .period
        .as_deref()
        .and_then(|p| p.parse::<BillingPeriod>().ok())
    {
        Some(period) => format!("your pledge for {}", month(period)),
        None if charge.donation_id.is_some() => "a one-time gift".to_owned(),
        None => "your pledge".to_owned(),
    }
}

impl Services {
    /// Writes the receipt or decline of up to a batch of charges whose
    /// payers have not heard of them; how many charges it handled.
    pub(crate) async fn write_charge_mail(&self) -> Result<usize, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if emails::backlog_reaches(&mut tx, MAX_BACKLOG).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        let due = emails::charges_due_for_mail(&mut tx, BATCH).await?;
        if due.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let mut written = Vec::with_capacity(due.len());
        for charge in &due {
            if let Some(email) = self.charge_message(charge, now)? {
                written.push(email);
            }
        }
        emails::insert_emails(&mut tx, &written).await?;
        let ids: Vec<i64> = due.iter().map(|c| c.charge_id).collect();
        emails::charges_mailed(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(due.len())
    }

    /// What `charge`'s payer is told now, if anything: a charge settled
    /// since it was marked says what it is now (a decline that a retry paid
    /// since is a receipt).
    fn charge_message(
        &self,
        charge: &ChargeMail,
        now: OffsetDateTime,
    ) -> Result<Option<NewEmail>, ServiceError> {
        if charge.payer_gone {
            return Ok(None);
        }
        let (kind, retry_on) = match charge.status {
            ChargeStatus::Succeeded if !charge.no_receipts => (EmailKind::Receipt, None),
            ChargeStatus::Retrying if !charge.no_declines => (
                EmailKind::PaymentDeclined,
                Some(date(charge.next_attempt_at)),
            ),
            ChargeStatus::Failed if !charge.no_declines => (EmailKind::PaymentDeclined, None),
            _ => return Ok(None),
        };
        let creator = charge.page_name.clone().unwrap_or_else(|| {
            maecenas_domain::user::public_name(
                &charge.creator_first_name,
                &charge.creator_last_name,
                charge.creator_username.as_deref(),
            )
        });
        let payment = Payment {
            creator,
            amount: money(charge.amount_minor, &charge.currency),
            what: what_was_paid(charge),
            date: date(charge.succeeded_at.unwrap_or(charge.updated_at)),
            card: match (&charge.card_brand, &charge.card_last4) {
                (Some(brand), Some(last4)) => maecenas_domain::billing::card_label(brand, last4),
                _ => "no card on file".to_owned(),
            },
            reference: charge.charge_id.to_string(),
        };
        let letter = match kind {
            EmailKind::Receipt => {
                messages::receipt(&charge.first_name, &payment, &self.mail.link("/panel"))
            }
            _ => messages::payment_declined(
                &charge.first_name,
                &payment,
                retry_on.as_deref(),
                &self.mail.link("/panel#card"),
            ),
        };
        Ok(Some(self.new_email(
            charge.user_id,
            &charge.email,
            kind,
            &letter,
            now,
        )?))
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
