//! What a person chooses to receive, the unsubscribe links, and the
//! operators' view of the outbox.

use maecenas_domain::{EmailKind, UserId};
use maecenas_store::emails::{self, EmailRow};
use maecenas_store::users;

use crate::{ServiceError, Services, secrets};

/// One kind as settings show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailChoice {
    pub kind: EmailKind,
    pub on: bool,
}

/// The kind an unsubscribe link turns off, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub kind: EmailKind,
    pub to_address: String,
}

/// A message as operators see it; `text` is the plain-text part of the
/// `.eml` file the file transport wrote, while that file is there.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub row: EmailRow,
    pub text: Option<String>,
}

impl Services {
    /// The kinds `user` may turn off, each with whether it is on. Creators'
    /// kinds are shown to creators only.
    pub async fn email_choices(&self, user: UserId) -> Result<Vec<EmailChoice>, ServiceError> {
        let mut tx = self.store.read().await?;
        let row = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        let off = emails::opt_outs_of(&mut tx, user).await?;
        Ok(EmailKind::optional()
            .filter(|k| row.is_creator || !k.is_for_creators())
            .map(|kind| EmailChoice {
                kind,
                on: !off.contains(&kind),
            })
            .collect())
    }

    /// Saves the settings form: the kinds in `on` are on, every other kind
    /// that can be turned off is off.
    pub async fn set_email_choices(
        &self,
        user: UserId,
        on: &[EmailKind],
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        for kind in EmailKind::optional() {
            emails::set_opt_out(&mut tx, user, kind, !on.contains(&kind), now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What the unsubscribe link `token` would turn off (shown before the
    /// person confirms: a link checker opening it changes nothing).
    pub async fn unsubscribe_target(
        &self,
        token: &str,
    ) -> Result<Option<Unsubscribe>, ServiceError> {
        let mut tx = self.store.read().await?;
        let row = emails::email_by_unsubscribe_hash(&mut tx, &secrets::sha256(token)).await?;
        Ok(row.map(|r| Unsubscribe {
            kind: r.kind,
            to_address: r.to_address,
        }))
    }

    /// Turns off the kind of the message `token` came with.
    pub async fn unsubscribe(&self, token: &str) -> Result<Option<Unsubscribe>, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let Some(row) = emails::email_by_unsubscribe_hash(&mut tx, &secrets::sha256(token)).await?
        else {
            return Ok(None);
        };
        emails::set_opt_out(&mut tx, row.user_id, row.kind, true, now).await?;
        tx.commit().await?;
        Ok(Some(Unsubscribe {
            kind: row.kind,
            to_address: row.to_address,
        }))
    }

    /// The outbox, newest first (keyset on the id).
    pub async fn recent_emails(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<EmailRow>, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(emails::recent_emails(&mut tx, before, limit.clamp(1, 200)).await?)
    }

    /// One message for operators, with its text when the file transport wrote it.
    pub async fn outbox_message(&self, id: i64) -> Result<OutboxMessage, ServiceError> {
        let row = {
            let mut tx = self.store.read().await?;
            emails::email_by_id(&mut tx, id)
                .await?
                .ok_or(ServiceError::NotFound("e-mail"))?
        };
        let file = match (self.mail.mail_dir(), &row.sent_ref) {
            // The name is the transport's own (a UUID and `.eml`): never a path.
            (Some(dir), Some(name))
                if name.ends_with(".eml") && !name.contains('/') && !name.contains("..") =>
            {
                tokio::fs::read(dir.join(name)).await.ok()
            }
            _ => None,
        };
        let text = file.and_then(|bytes| {
            let message = mail_parser::MessageParser::default().parse(&bytes)?;
            message.body_text(0).map(|text| text.into_owned())
        });
        Ok(OutboxMessage { row, text })
    }

    /// The messages written to `user`, for their data archive.
    pub async fn emails_of_user(&self, user: UserId) -> Result<Vec<EmailRow>, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(emails::emails_of_user(&mut tx, user).await?)
    }
}
