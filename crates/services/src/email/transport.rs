//! How a message leaves: SMTP through lettre, or an `.eml` file per message.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use super::MailSettings;

/// A setting that cannot work, said at start-up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(
        "mail_from {0:?} is not an address (write it as `Name <address@example.org>` or `address@example.org`)"
    )]
    From(String),
    #[error(
        "smtp_url is not a mail server address lettre understands ({0}); write it as smtp://host:port or smtps://user:password@host"
    )]
    SmtpUrl(String),
    #[error("the mail folder {path} cannot be made: {error}")]
    MailDir {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// One attempt that did not hand the message over.
#[derive(Debug)]
pub struct SendFailure {
    pub message: String,
    /// The server refused the message itself (an unknown mailbox): trying
    /// again cannot help.
    pub permanent: bool,
}

/// What a message is made from at sending time.
pub struct Outgoing<'a> {
    pub id: i64,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// The link that turns this kind off: mail programs offer it as a button
    /// (RFC 2369) that unsubscribes in one click (RFC 8058).
    pub unsubscribe: Option<&'a str>,
}

/// `List-Unsubscribe: <link>`.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.trim_matches(['<', '>']).to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the link takes a POST.
#[derive(Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(OneClick)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

pub enum Transport {
    Smtp {
        from: Mailbox,
        smtp: AsyncSmtpTransport<Tokio1Executor>,
    },
    Files {
        from: Mailbox,
        dir: PathBuf,
        files: AsyncFileTransport<Tokio1Executor>,
    },
}

/// Longest an SMTP conversation may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl Transport {
    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|_| MailError::From(settings.from.clone()))?;
        match &settings.smtp_url {
            Some(url) => {
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::SmtpUrl(e.to_string()))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Transport::Smtp { from, smtp })
            }
            None => {
                std::fs::create_dir_all(&settings.mail_dir).map_err(|error| {
                    MailError::MailDir {
                        path: settings.mail_dir.clone(),
                        error,
                    }
                })?;
                Ok(Transport::Files {
                    from,
                    dir: settings.mail_dir.clone(),
                    files: AsyncFileTransport::new(&settings.mail_dir),
                })
            }
        }
    }

    pub fn mail_dir(&self) -> Option<&Path> {
        match self {
            Transport::Files { dir, .. } => Some(dir),
            Transport::Smtp { .. } => None,
        }
    }

    fn from(&self) -> &Mailbox {
        match self {
            Transport::Smtp { from, .. } | Transport::Files { from, .. } => from,
        }
    }

    /// Hands `message` over; `Ok` says what took it (the server's reply, or
    /// the file's name).
    pub async fn send(&self, message: &Outgoing<'_>) -> Result<String, SendFailure> {
        let built = self.build(message)?;
        match self {
            Transport::Smtp { smtp, .. } => match smtp.send(built).await {
                Ok(response) => Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) => Err(SendFailure {
                    message: e.to_string(),
                    permanent: e.is_permanent(),
                }),
            },
            Transport::Files { files, .. } => match files.send(built).await {
                Ok(name) => Ok(format!("{name}.eml")),
                Err(e) => Err(SendFailure {
                    message: e.to_string(),
                    permanent: false,
                }),
            },
        }
    }

    fn build(&self, m: &Outgoing<'_>) -> Result<Message, SendFailure> {
        let refused = |what: String| SendFailure {
            message: what,
            permanent: true,
        };
        let to: Mailbox =
            m.to.parse()
                .map_err(|_| refused(format!("{:?} is not an address", m.to)))?;
        let from = self.from();
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(m.subject)
            .message_id(Some(format!("<{}@{}>", m.id, from.email.domain())));
        if let Some(link) = m.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(link.to_owned()))
                .header(OneClick);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                m.text.to_owned(),
                m.html.to_owned(),
            ))
            .map_err(|e| refused(format!("the message cannot be written: {e}")))
    }
}
