//! Starting Maecenas for a test: in-process through the same `App::build`
//! that `maecenas serve` runs, or as the real binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use maecenas::{App, Config};
pub use maecenas_testkit::{Backend, TestDb};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The server running inside the test process on a fresh database.
pub struct TestApp {
    /// Kept so the database outlives the server (`None` on a sibling, which shares another's).
    _db: Option<TestDb>,
    database_url: String,
    pub addr: SocketAddr,
    /// The same use cases the server runs, for setting up a test's world.
    pub services: maecenas_services::Services,
    /// The server's clock: tests move it to expire things.
    pub clock: maecenas_services::ManualClock,
    pub http: reqwest::Client,
    /// Where messages go when no SMTP server is configured (the default).
    mail_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// As [`TestApp::spawn`], with the configuration changed first.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(backend).await;
        let url = db.url().to_owned();
        Self::start(Some(db), url, configure).await
    }

    /// Stops this server and starts another, configured anew, on the same database.
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let db = self._db.take();
        let url = self.database_url.clone();
        self.stop().await;
        Self::start(db, url, configure).await
    }

    /// A second server on this one's database, as another `serve` process
    /// sharing it would be (its own pool, workers and node id).
    pub async fn sibling(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::start(None, self.database_url.clone(), |config| {
            configure(config);
            config.node_id = Some(2);
        })
        .await
    }

    async fn start(
        db: Option<TestDb>,
        database_url: String,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = Config::for_database(&database_url);
        config.node_id = Some(1);
        let mail_dir = tempfile::Builder::new()
            .prefix("maecenas-mail-")
            .tempdir()
            .expect("temp dir");
        config.mail.mail_dir = mail_dir.path().to_owned();
        configure(&mut config);
        config.listen = "127.0.0.1:0".parse().unwrap();
        // Binding happens inside build, before it returns: no sleep needed.
        let clock = maecenas_services::ManualClock::starting_now();
        let app = App::build_with_clock(config, std::sync::Arc::new(clock.clone()))
            .await
            .expect("the server starts");
        let addr = app.local_addr();
        let services = app.services().clone();
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async move {
            let _ = stop.await;
        }));
        TestApp {
            _db: db,
            database_url,
            addr,
            services,
            clock,
            http: reqwest::Client::new(),
            mail_dir,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The folder the file transport writes `.eml` files to.
    pub fn mail_dir(&self) -> &Path {
        self.mail_dir.path()
    }

    /// The server's database, for arranging what no use case makes yet.
    pub fn db(&self) -> &TestDb {
        self._db
            .as_ref()
            .expect("a sibling server shares another's database")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the server")
    }

    /// Stops the server the way SIGTERM does and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_maecenas")
}

/// The real binary, with none of the developer's own Maecenas settings leaking in.
pub fn maecenas(cwd: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .current_dir(cwd)
        .kill_on_drop(true)
        .stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("MAECENAS_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

/// A `maecenas serve` process, started and listening.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout_lines: Vec<String>,
    pub stderr_path: PathBuf,
}

impl Server {
    /// Starts `command` (a `serve` with `--listen 127.0.0.1:0`) and waits for
    /// the line that names its address.
    pub async fn start(mut command: Command, stderr_path: PathBuf) -> Server {
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        command.stdout(Stdio::piped()).stderr(Stdio::from(stderr));
        let mut child = command.spawn().expect("spawn maecenas");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdout_lines = Vec::new();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                stdout_lines.push(line.clone());
                if let Some(rest) = line.strip_prefix("maecenas listening on http://") {
                    return rest.parse::<SocketAddr>().unwrap();
                }
            }
            panic!(
                "maecenas exited before listening; stderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        })
        .await
        .expect("maecenas starts within 30 s");
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            child,
            addr,
            stdout_lines,
            stderr_path,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub async fn wait(&mut self) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits in time")
            .unwrap()
    }
}

/// The result of a command that ran to its end.
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// The failure rule: one line on stderr, a non-zero exit, no panic, no backtrace.
    pub fn assert_clean_failure(&self, needle: &str) {
        assert!(
            !self.status.success(),
            "expected failure, got success; stdout: {}",
            self.stdout
        );
        let stderr = self.stderr.trim_end();
        assert_eq!(
            stderr.lines().count(),
            1,
            "exactly one line on stderr, got:\n{stderr}"
        );
        assert!(stderr.starts_with("maecenas: error: "), "{stderr}");
        assert!(
            stderr.contains(needle),
            "stderr should mention {needle:?}: {stderr}"
        );
        for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "internal error"] {
            assert!(!stderr.contains(bad), "{stderr}");
        }
    }
}

pub async fn run(mut command: Command) -> Ran {
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the command ends within 60 s")
        .expect("spawn maecenas");
    Ran {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `maecenas ARGS` against the test database.
pub async fn admin(db: &TestDb, args: &[&str]) -> Ran {
    let mut command = maecenas(db.dir());
    command
        .env("DATABASE_URL", db.url())
        .env("MAECENAS_LOG", "warn")
        .args(args);
    run(command).await
}

/// The test Python (`target/pyenv`, made by `scripts/test`): the official
/// `patreon` client, `standardwebhooks`, localstripe, schemathesis, aiosmtpd.
pub fn test_python() -> PathBuf {
    maecenas_testkit::installed_by_scripts_test("target/pyenv/bin/python")
}

/// `node_modules` with the official `patreon` npm package (`target/npm`, made
/// by `scripts/test`).
pub fn node_modules() -> PathBuf {
    maecenas_testkit::installed_by_scripts_test("target/npm/node_modules/patreon/package.json");
    maecenas_testkit::installed_by_scripts_test("target/npm/node_modules")
}

/// A browser for page tests: keeps cookies and never follows redirects, so
/// each 303 can be looked at.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A page as `b` sees it: status and body.
pub async fn get(b: &reqwest::Client, url: String) -> (u16, String) {
    let r = b.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of a hidden input on a page maud rendered.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Logs `browser` in through the real log-in form; returns the answer (303 on success).
pub async fn log_in(
    browser: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = browser
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf")
        .unwrap_or_else(|| panic!("no CSRF field on the log-in page:\n{page}"));
    browser
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

/// A new patron (`email`, password "correct horse battery") pledging
/// `amount_minor` a month (or per creation, within `cap_minor`) to
/// `campaign` with the test card `card`, set up through the use cases.
pub async fn patron_pledging(
    services: &maecenas_services::Services,
    campaign: maecenas_domain::CampaignId,
    email: &str,
    amount_minor: i64,
    cap_minor: Option<i64>,
    card: &str,
) -> maecenas_services::records::UserRow {
    let patron = services
        .create_user(maecenas_services::accounts::NewAccount {
            email: email.into(),
            password: PATRON_PASSWORD.into(),
            first_name: "Pat".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    services
        .create_pledge(maecenas_services::billing::NewPledgeRequest {
            patron: patron.id,
            campaign,
            amount_minor,
            tier: None,
            card: Some(maecenas_services::billing::CardInput {
                number: card.into(),
                exp_month: 12,
                exp_year: 2034,
                cvc: "123".into(),
            }),
            patron_pays_fees: false,
            pledge_cap_minor: cap_minor,
            vat_country: None,
            shipping: None,
        })
        .await
        .unwrap();
    patron
}

/// The password of the patrons [`patron_pledging`] makes.
pub const PATRON_PASSWORD: &str = "correct horse battery";

/// A test card that is charged fine.
pub const VISA: &str = "4242424242424242";

/// A user made through the use cases (password "correct horse battery"),
/// their first name their username.
pub async fn account(
    app: &TestApp,
    email: &str,
    username: &str,
    creator: bool,
    admin: bool,
) -> maecenas_services::records::UserRow {
    app.services
        .create_user(maecenas_services::accounts::NewAccount {
            email: email.into(),
            password: PATRON_PASSWORD.into(),
            username: Some(username.into()),
            first_name: username.into(),
            is_creator: creator,
            is_admin: admin,
            ..maecenas_services::accounts::NewAccount::default()
        })
        .await
        .unwrap()
}

/// `patron` pledges `tier`'s amount to it with the test card `card_number`.
pub async fn pledge_to_tier(
    app: &TestApp,
    patron: &maecenas_services::records::UserRow,
    tier: &maecenas_services::records::TierRow,
    card_number: &str,
) {
    app.services
        .create_pledge(maecenas_services::billing::NewPledgeRequest {
            patron: patron.id,
            campaign: tier.campaign_id,
            amount_minor: tier.amount_minor,
            tier: Some(tier.id),
            card: Some(maecenas_services::billing::CardInput {
                number: card_number.into(),
                exp_month: 12,
                exp_year: 2034,
                cvc: "123".into(),
            }),
            patron_pays_fees: false,
            pledge_cap_minor: None,
            vat_country: None,
            shipping: None,
        })
        .await
        .unwrap();
}
