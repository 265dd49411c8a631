//! E-mail. A use case that causes a message writes it to the outbox
//! (`emails`) in its own transaction ([`enqueue`]); the mail worker
//! ([`Services::run_mail_worker`]) claims due messages, hands them to the
//! transport and retries what fails, for up to a day. On PostgreSQL any
//! number of nodes may run the worker: a claim skips what another holds.
//!
//! A message is sent at least once, and in practice once: a worker that dies
//! after the mail server took a message but before recording it sends it
//! again when its lease ends. Every message carries its outbox id as its
//! `Message-ID`, so that a mail program can recognise the repeat.
//!
//! The transport is SMTP (`smtp_url`) or, without one, files: each message
//! is written as an `.eml` file under the data directory, and
//! `/admin/emails` shows them, so that the embedded default shows every
//! message it would have sent with no mail server at all.
//!
//! A message's bodies may carry a one-time link (a password reset), so they
//! are kept only until the message is handed over (or given up on).

mod account_links;
mod choices;
pub mod messages;
mod notices;
mod outbox;
mod receipts;
mod transport;
mod worker;

use std::path::PathBuf;

pub use account_links::Verified;
pub use choices::{EmailChoice, OutboxMessage, Unsubscribe};
pub(crate) use outbox::enqueue;
pub use transport::{MailError, Transport};
pub use worker::MailReport;

/// How the platform sends e-mail.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtps://user:password@host` (lettre's URL form);
    /// `None`: write messages to `mail_dir`.
    pub smtp_url: Option<String>,
    /// The `From:` of every message: `Maecenas <no-reply@example.org>`.
    pub from: String,
    /// Where messages go without SMTP.
    pub mail_dir: PathBuf,
    /// Links in messages start with this (the public URL).
    pub base_url: String,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may hold a password.
        f.debug_struct("MailSettings")
            .field("smtp", &self.smtp_url.as_ref().map(|_| "set"))
            .field("from", &self.from)
            .field("mail_dir", &self.mail_dir)
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// The mail side of [`crate::Services`]: where links point and how
/// messages leave. Without a transport, messages wait in the outbox (a
/// process that only runs the CLI never sends).
pub struct Mail {
    pub(crate) base_url: String,
    pub(crate) transport: Option<Transport>,
}

impl Mail {
    /// Messages are written to the outbox, never sent: for processes that
    /// do not run the worker.
    pub fn unsent(base_url: &str) -> Self {
        Mail {
            base_url: base_url.trim_end_matches('/').to_owned(),
            transport: None,
        }
    }

    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        Ok(Mail {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            transport: Some(Transport::new(settings)?),
        })
    }

    /// An absolute link to `path` (which starts with `/`).
    pub(crate) fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Where the file transport writes, if that is the transport.
    pub fn mail_dir(&self) -> Option<&std::path::Path> {
        self.transport.as_ref().and_then(Transport::mail_dir)
    }
}
