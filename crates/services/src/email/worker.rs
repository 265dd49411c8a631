//! The mail worker: claims due messages, sends them, records the outcome.

use std::time::Duration as StdDuration;

use futures_util::StreamExt;
use maecenas_domain::webhooks::retry_delay;
use maecenas_store::emails::{self, ClaimedEmail};
use time::Duration;
use tokio::sync::watch;

use super::messages;
use super::transport::{Outgoing, SendFailure, Transport};
use crate::{ServiceError, Services};

/// Messages claimed at once, and sent side by side.
const CLAIM_BATCH: i64 = 8;
const SIDE_BY_SIDE: usize = 4;
/// A claim outlives the slowest batch (two rounds of 30 s SMTP timeouts).
const LEASE: Duration = Duration::minutes(2);
/// How often an idle worker looks for new messages.
const POLL: StdDuration = StdDuration::from_millis(500);
const FIRST_RETRY: StdDuration = StdDuration::from_secs(30);
const LONGEST_RETRY: StdDuration = StdDuration::from_secs(60 * 60);

/// What a worker did before it stopped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MailReport {
    /// Charges whose receipt or decline was written to the outbox.
    pub charges_written: u64,
    pub sent: u64,
    pub retrying: u64,
    pub given_up: u64,
}

impl Services {
    /// Sends e-mail until `stop` turns true; a batch under way is finished
    /// and recorded first. Does nothing without a transport.
    pub async fn run_mail_worker(&self, mut stop: watch::Receiver<bool>) -> MailReport {
        let mut report = MailReport::default();
        if self.mail.transport.is_none() {
            return report;
        }
        tracing::info!("mail worker started");
        while !*stop.borrow() {
            let idle = match self.send_due_emails().await {
                Ok(round) => {
                    report.charges_written += round.charges_written;
                    report.sent += round.sent;
                    report.retrying += round.retrying;
                    report.given_up += round.given_up;
                    round == MailReport::default()
                }
                Err(e) => {
                    tracing::error!(error = %e, "sending e-mail failed; trying again soon");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!(sent = report.sent, "mail worker stopped");
        report
    }

    /// One round: writes the messages billing's outcomes call for, then
    /// claims what is due and sends it.
    pub async fn send_due_emails(&self) -> Result<MailReport, ServiceError> {
        let Some(transport) = self.mail.transport.as_ref() else {
            return Ok(MailReport::default());
        };
        let charges_written = self.write_charge_mail().await? as u64;
        let now = self.clock.now();
        let claimed = {
            let mut tx = self.store.write().await?;
            let claimed = emails::claim_emails(&mut tx, now, now + LEASE, CLAIM_BATCH).await?;
            tx.commit().await?;
            claimed
        };
        let outcomes: Vec<Result<Outcome, ServiceError>> = futures_util::stream::iter(claimed)
            .map(|email| self.send_one(transport, email))
            .buffer_unordered(SIDE_BY_SIDE)
            .collect()
            .await;
        let mut report = MailReport {
            charges_written,
            ..MailReport::default()
        };
        for outcome in outcomes {
            match outcome? {
                Outcome::Sent => report.sent += 1,
                Outcome::Retrying => report.retrying += 1,
                Outcome::GivenUp => report.given_up += 1,
            }
        }
        Ok(report)
    }

    async fn send_one(
        &self,
        transport: &Transport,
        email: ClaimedEmail,
    ) -> Result<Outcome, ServiceError> {
        let stored = email
            .content
            .as_deref()
            .map(serde_json::from_str::<messages::Stored>);
        let result = match stored {
            Some(Ok(stored)) => {
                let written = messages::write(&stored.letter, &stored.footer);
                transport
                    .send(&Outgoing {
                        id: email.id,
                        to: &email.to_address,
                        subject: &email.subject,
                        text: &written.text,
                        html: &written.html,
                        unsubscribe: stored.footer.unsubscribe.as_deref(),
                    })
                    .await
            }
            Some(Err(e)) => Err(SendFailure {
                message: format!("the stored message does not read back: {e}"),
                permanent: true,
            }),
            // Only a message already handed over has no content.
            None => Ok("already sent".to_owned()),
        };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let outcome = match result {
            Ok(sent_ref) => {
                emails::mark_sent(&mut tx, email.id, &sent_ref, now).await?;
                tracing::debug!(email = email.id, "e-mail sent");
                Outcome::Sent
            }
            Err(failure) => {
                let mut unit = [0u8; 4];
                let _ = getrandom::fill(&mut unit);
                let unit = f64::from(u32::from_le_bytes(unit)) / f64::from(u32::MAX);
                let at =
                    now + retry_delay(email.attempts as u32 + 1, FIRST_RETRY, LONGEST_RETRY, unit);
                let next = (!failure.permanent && at <= email.give_up_at).then_some(at);
                // The error names the server's answer, never the message.
                tracing::warn!(email = email.id, error = %failure.message, retrying = next.is_some(), "e-mail not sent");
                emails::mark_attempt_failed(&mut tx, email.id, &failure.message, next).await?;
                if next.is_some() {
                    Outcome::Retrying
                } else {
                    Outcome::GivenUp
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

enum Outcome {
    Sent,
    Retrying,
    GivenUp,
}
