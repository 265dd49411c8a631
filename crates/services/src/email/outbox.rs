//! Writing a message to the outbox, inside the caller's transaction.

use maecenas_domain::EmailKind;
use maecenas_store::Tx;
use maecenas_store::emails::{self, NewEmail};
use maecenas_store::users::UserRow;
use time::Duration;

use super::messages::{self, Footer, Letter};
use crate::{ServiceError, Services, secrets};

/// How long the worker keeps trying a message.
pub(super) const TRY_FOR: Duration = Duration::days(1);

/// Writes `letter` to `to`'s address in the outbox, unless `to` turned this
/// kind off or their account is gone; `true` if it was written. A kind that
/// can be turned off gets an unsubscribe link of its own (kept as a hash).
pub(crate) async fn enqueue(
    services: &Services,
    tx: &mut Tx,
    to: &UserRow,
    kind: EmailKind,
    letter: &Letter,
) -> Result<bool, ServiceError> {
    if to.standing().is_gone() {
        return Ok(false);
    }
    // Whether `to` turned the kind off is asked by the insert itself.
    let (unsubscribe, unsubscribe_hash) = if kind.can_be_turned_off() {
        let token = secrets::mint("mcu_")?;
        (
            Some(
                services
                    .mail
                    .link(&format!("/email/unsubscribe?token={}", token.plaintext)),
            ),
            Some(token.hash),
        )
    } else {
        (None, None)
    };
    let footer = Footer {
        reason: reason(kind),
        unsubscribe,
        settings: services.mail.link("/settings/email"),
    };
    let content = serde_json::to_string(&messages::Stored {
        letter: letter.clone(),
        footer,
    })
    .map_err(|e| ServiceError::Internal(e.into()))?;
    let now = services.clock.now();
    Ok(emails::insert_email(
        tx,
        &NewEmail {
            id: services.ids.next_raw(),
            user_id: to.id,
            kind,
            to_address: to.email.clone(),
            subject: letter.subject.clone(),
            content,
            unsubscribe_hash,
            created_at: now,
            give_up_at: now + TRY_FOR,
        },
    )
    .await?)
}

pub(super) fn reason(kind: EmailKind) -> String {
    match kind {
        EmailKind::VerifyAddress | EmailKind::PasswordReset | EmailKind::AddressChanged => format!(
            "You get this because this address was given for an account on {}.",
            messages::SITE
        ),
        other => format!(
            "You get this because you have an account on {} and e-mails about {} are on.",
            messages::SITE,
            other.described()
        ),
    }
}
