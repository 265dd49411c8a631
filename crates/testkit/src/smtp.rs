//! A real SMTP server for the e-mail tests: aiosmtpd (PyPI, installed by
//! `scripts/test` into `target/pyenv`) on a free port, storing what it
//! receives in a maildir. Messages are read back and parsed with
//! `mail-parser`, as a mail program would.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::io::Read;

/// A running aiosmtpd; killed on drop, panics included.
pub struct SmtpSink {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

/// One message as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope recipients (aiosmtpd's `X-RcptTo`).
    pub envelope_to: String,
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    /// Every header, name and raw value, in order.
    pub headers: Vec<(String, String)>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// The first link in the plain text that starts with `prefix`.
    pub fn link_starting(&self, prefix: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|word| word.starts_with(prefix))
            .map(|word| word.trim_end_matches(['.', ',', ')']).to_owned())
    }
}

impl SmtpSink {
    pub fn start() -> Self {
        let python = crate::installed_by_scripts_test("target/pyenv/bin/python");
        for _ in 0..5 {
            let maildir = tempfile::Builder::new()
                .prefix("maecenas-smtp-")
                .tempdir()
                .expect("temp dir");
            let port = crate::localstripe::free_port();
            let mut child = Command::new(&python)
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(maildir.path().join("box"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start aiosmtpd with {}: {e}", python.display()));
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken since it was picked: another
                }
                if greets(port) {
                    return SmtpSink {
                        child,
                        port,
                        maildir,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("aiosmtpd did not answer on port {port} within 20 s");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("aiosmtpd exited before answering, five times");
    }

    /// The `smtp_url` to give Maecenas.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn boxes(&self) -> Vec<PathBuf> {
        let root = self.maildir.path().join("box");
        vec![root.join("new"), root.join("cur")]
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for dir in self.boxes() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                files.push((modified, entry.path()));
            }
        }
        files.sort();
        files.iter().filter_map(|(_, path)| parse(path)).collect()
    }

    /// Waits up to 20 s for messages to `to` until `count` have come; returns them.
    pub fn wait_for(&self, to: &str, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mine: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|m| m.envelope_to.contains(to))
                .collect();
            if mine.len() >= count {
                return mine;
            }
            if Instant::now() > deadline {
                panic!(
                    "{count} message(s) to {to} did not arrive within 20 s; got {}: {:?}",
                    mine.len(),
                    mine.iter().map(|m| &m.subject).collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(path: &Path) -> Option<Received> {
    let bytes = std::fs::read(path).ok()?;
    let message = mail_parser::MessageParser::default().parse(&bytes)?;
    let addresses = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|addr| addr.address())
            .unwrap_or_default()
            .to_owned()
    };
    let raw_headers = message
        .headers_raw()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect::<Vec<_>>();
    let envelope_to = raw_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("X-RcptTo"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    Some(Received {
        envelope_to,
        to: addresses(message.to()),
        from: addresses(message.from()),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        headers: raw_headers,
    })
}

fn greets(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut greeting = [0u8; 3];
    stream.read_exact(&mut greeting).is_ok() && &greeting == b"220"
}
