//! `maecenas backup` and `maecenas restore` as an operator runs them: the
//! real binary, a backup taken while `serve` takes pledges and gifts through
//! its pages, restored elsewhere and verified; restores that must be refused.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use maecenas::Config;
use maecenas_services::accounts::NewAccount;
use sqlx::Connection;
use tokio::sync::mpsc;

use crate::support::{Ran, Server, TestDb, browser, hidden, log_in, maecenas, run};

const PASSWORD: &str = "correct horse";
const CREATORS: usize = 10;
const PATRONS: usize = 6;

/// What a writer saw committed: a pledge (patron, creator) or a gift (its message).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Write {
    Pledge(String, String),
    Gift(String),
}

/// `maecenas ARGS` on the SQLite database under `data_dir`.
async fn on_data_dir(cwd: &Path, data_dir: &Path, args: &[&str]) -> Ran {
    let mut command = maecenas(cwd);
    command
        .env("MAECENAS_DATA_DIR", data_dir)
        .env("MAECENAS_LOG", "warn")
        .args(args);
    run(command).await
}

/// Creators with published campaigns and patrons, made before `serve` starts.
async fn world(data_dir: &Path) {
    let config = Config::for_database(format!("sqlite:{}", data_dir.join("maecenas.db").display()));
    let services = maecenas::open_services(&config).await.unwrap();
    for i in 0..CREATORS {
        let creator = services
            .create_user(NewAccount {
                email: format!("maker{i}@backup.test"),
                password: PASSWORD.into(),
                username: Some(format!("maker{i}")),
                is_creator: true,
                ..NewAccount::default()
            })
            .await
            .unwrap();
        services
            .create_campaign(creator.id, "USD", true, None)
            .await
            .unwrap();
    }
    for i in 0..PATRONS {
        services
            .create_user(NewAccount {
                email: format!("patron{i}@backup.test"),
                password: PASSWORD.into(),
                username: Some(format!("patron{i}")),
                ..NewAccount::default()
            })
            .await
            .unwrap();
    }
    services.store().close().await;
}

async fn serve(cwd: &Path, data_dir: &Path) -> Server {
    let mut command = maecenas(cwd);
    command
        .env("MAECENAS_DATA_DIR", data_dir)
        .env("MAECENAS_LOG", "warn")
        .env("MAECENAS_BILLING_INTERVAL", "0")
        .env("MAECENAS_WEBHOOK_DELIVERY", "off")
        .env("MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS", "1000")
        .args(["serve", "--listen", "127.0.0.1:0"]);
    Server::start(command, cwd.join("serve.log")).await
}

/// One patron through the pages: a pledge to every creator, then gifts until told to stop.
async fn write_until(
    base: String,
    patron: usize,
    stop: Arc<AtomicBool>,
    committed: mpsc::UnboundedSender<Write>,
) {
    let b = browser();
    let email = format!("patron{patron}@backup.test");
    let answer = log_in(&b, &base, &email, PASSWORD).await;
    assert_eq!(answer.status(), 303, "log-in of {email}");
    let page = b
        .get(format!("{base}/maker0/pledge"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").expect("the pledge page has a CSRF field");
    let card = [
        ("card_number", "4242424242424242"),
        ("card_exp", "12/34"),
        ("card_cvc", "123"),
    ];
    for creator in 0..CREATORS {
        let amount = (3 + patron + creator).to_string();
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("tier", ""),
            ("amount", amount.as_str()),
        ];
        form.extend(card);
        let r = b
            .post(format!("{base}/maker{creator}/pledge"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "pledge of {email} to maker{creator}");
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/panel?thanks="),
            "{:?}",
            r.headers()["location"]
        );
        let _ = committed.send(Write::Pledge(email.clone(), format!("maker{creator}")));
    }
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let message = format!("gift {n} of patron {patron}");
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("amount", "2"),
            ("message", message.as_str()),
        ];
        form.extend(card);
        let r = b
            .post(format!("{base}/maker{}/donate", n % CREATORS))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{message}");
        let _ = committed.send(Write::Gift(message));
        n += 1;
    }
}

/// Every pledge (patron email, creator username) and gift message in an SQLite file.
async fn writes_in(db: &Path) -> BTreeSet<Write> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}?mode=ro", db.display()))
        .await
        .unwrap();
    let pledges: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.email, cr.username FROM pledges p
         JOIN users u ON u.id = p.patron_id
         JOIN campaigns c ON c.id = p.campaign_id
         JOIN users cr ON cr.id = c.creator_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let gifts: Vec<(String,)> = sqlx::query_as("SELECT message FROM donations")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    pledges
        .into_iter()
        .map(|(p, c)| Write::Pledge(p, c))
        .chain(gifts.into_iter().map(|(m,)| Write::Gift(m)))
        .collect()
}

fn assert_ok(ran: &Ran, what: &str) {
    assert!(
        ran.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        ran.status,
        ran.stdout,
        ran.stderr
    );
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_serve_writes_restores_everything_committed_before_it() {
    let cwd = tempfile::tempdir().unwrap();
    let live = cwd.path().join("live");
    world(&live).await;
    let mut server = serve(cwd.path(), &live).await;

    let stop = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let writers: Vec<_> = (0..PATRONS)
        .map(|patron| {
            tokio::spawn(write_until(
                server.url(""),
                patron,
                stop.clone(),
                tx.clone(),
            ))
        })
        .collect();
    drop(tx);

    // A third of the pledges in, with every writer still going, back up.
    let mut before = BTreeSet::new();
    while before.len() < CREATORS * PATRONS / 3 {
        before.insert(rx.recv().await.expect("the writers are running"));
    }
    while let Ok(write) = rx.try_recv() {
        before.insert(write);
    }
    let backup_file = cwd.path().join("backups").join("nightly.db");
    std::fs::create_dir_all(backup_file.parent().unwrap()).unwrap();
    let backup_path = backup_file.to_str().unwrap();
    let backed_up = on_data_dir(cwd.path(), &live, &["backup", backup_path, "--json"]).await;
    let mut during = BTreeSet::new();
    while let Ok(write) = rx.try_recv() {
        during.insert(write);
    }
    assert_ok(&backed_up, "backup");
    let report = backed_up.json();
    assert!(report["bytes"].as_u64().unwrap() > 0, "{report}");
    assert!(report["migration"].as_i64().is_some(), "{report}");
    // Whether a write lands while the copy runs depends on timing (a busy
    // machine may fit none in); that serve goes on writing after it does not:
    // wait for one, which the backup cannot hold.
    let after_backup = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
        .await
        .expect("serve commits writes after the backup")
        .expect("the writers are running");
    during.insert(after_backup);
    assert_eq!(
        files_in(backup_file.parent().unwrap()),
        BTreeSet::from(["nightly.db".to_owned()]),
        "one file, nothing temporary left beside it"
    );
    // A second backup to the same name needs --force.
    let again = on_data_dir(cwd.path(), &live, &["backup", backup_path]).await;
    again.assert_clean_failure("already exists");
    assert_eq!(again.status.code(), Some(3));

    // Restoring onto the database `serve` has open is refused, even with --force.
    let onto_live = on_data_dir(cwd.path(), &live, &["restore", backup_path, "--force"]).await;
    onto_live.assert_clean_failure("in use");
    assert_eq!(onto_live.status.code(), Some(1));
    let health = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(health.status(), 200, "the server goes on");

    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.expect("a writer failed");
    }
    let while_it_ran = during.len();
    let mut all = before.clone();
    all.extend(during);
    while let Some(write) = rx.recv().await {
        all.insert(write);
    }

    // Restored into a fresh data directory: a valid database with everything
    // committed before the backup began, and nothing that was not committed at all.
    let fresh = cwd.path().join("fresh");
    let restored = on_data_dir(cwd.path(), &fresh, &["restore", backup_path, "--json"]).await;
    assert_ok(&restored, "restore into a fresh directory");
    assert_eq!(restored.json()["replaced"], false);
    let verify = on_data_dir(cwd.path(), &fresh, &["billing", "verify", "--json"]).await;
    assert_ok(&verify, "billing verify on the restored database");
    assert_eq!(verify.json()["ok"], true, "{}", verify.stdout);
    let in_backup = writes_in(&fresh.join("maecenas.db")).await;
    eprintln!(
        "committed: {} before the backup, {while_it_ran} while it ran or just after, {} in all; {} in the backup",
        before.len(),
        all.len(),
        in_backup.len()
    );
    let missing: Vec<_> = before.difference(&in_backup).collect();
    assert!(
        missing.is_empty(),
        "committed before the backup, missing from it: {missing:?}"
    );
    let unknown: Vec<_> = in_backup.difference(&all).collect();
    assert!(unknown.is_empty(), "never committed: {unknown:?}");
    assert!(
        in_backup.len() < all.len(),
        "the writes after the backup are not in it"
    );
    // A second restore there would replace a database: it needs --force.
    let twice = on_data_dir(cwd.path(), &fresh, &["restore", backup_path]).await;
    twice.assert_clean_failure("already exists");
    assert_eq!(twice.status.code(), Some(3));

    // The live server dies without a clean stop, so its WAL stays behind;
    // a forced restore replaces the database, and that WAL is not replayed
    // onto the restored file.
    server.signal("KILL");
    server.wait().await;
    assert!(
        backup_file_len(&live.join("maecenas.db-wal")) > 0,
        "a killed server leaves its WAL"
    );
    let forced = on_data_dir(
        cwd.path(),
        &live,
        &["restore", backup_path, "--force", "--json"],
    )
    .await;
    assert_ok(&forced, "forced restore onto a stopped database");
    assert_eq!(forced.json()["replaced"], true);
    assert_eq!(writes_in(&live.join("maecenas.db")).await, in_backup);
    let verify = on_data_dir(cwd.path(), &live, &["billing", "verify", "--json"]).await;
    assert_ok(&verify, "billing verify after the forced restore");
    assert_eq!(writes_in(&live.join("maecenas.db")).await, in_backup);
    let names = files_in(&live);
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "no temporary file left: {names:?}"
    );
}

fn backup_file_len(path: &PathBuf) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test]
async fn restores_that_would_lose_or_break_data_are_refused() {
    let cwd = tempfile::tempdir().unwrap();
    let live = cwd.path().join("live");
    world(&live).await;
    let db = live.join("maecenas.db");
    let backup = cwd.path().join("copy.db");
    let backup_path = backup.to_str().unwrap();
    assert_ok(
        &on_data_dir(cwd.path(), &live, &["backup", backup_path]).await,
        "backup of a stopped database",
    );

    // Open in a program that knows nothing of maecenas's lock (as `sqlite3` would be).
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    sqlx::query("SELECT count(*) FROM users")
        .execute(&mut other)
        .await
        .unwrap();
    let refused = on_data_dir(cwd.path(), &live, &["restore", backup_path, "--force"]).await;
    refused.assert_clean_failure("open in another program");
    assert_eq!(refused.status.code(), Some(1));
    other.close().await.unwrap();

    // Not a database, a truncated one, a database that is not Maecenas's: refused, nothing changed.
    let before = std::fs::read(&db).unwrap();
    let garbage = cwd.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database at all, just some bytes").unwrap();
    let truncated = cwd.path().join("truncated.db");
    let whole = std::fs::read(&backup).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let foreign = cwd.path().join("foreign.db");
    {
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite:{}?mode=rwc", foreign.display()))
                .await
                .unwrap();
        sqlx::query("CREATE TABLE notes (body TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    for (file, reason) in [
        (&garbage, "cannot be opened"),
        (&truncated, "malformed"),
        (&foreign, "not a Maecenas database"),
    ] {
        let ran = on_data_dir(
            cwd.path(),
            &live,
            &["restore", file.to_str().unwrap(), "--force"],
        )
        .await;
        ran.assert_clean_failure(reason);
        assert_eq!(ran.status.code(), Some(2), "{}", file.display());
    }
    let missing = on_data_dir(cwd.path(), &live, &["restore", "nowhere.db", "--force"]).await;
    missing.assert_clean_failure("no backup file");
    assert_eq!(missing.status.code(), Some(4));
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database is untouched"
    );
    let names = files_in(&live);
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "no temporary file left: {names:?}"
    );
}

#[tokio::test]
async fn on_postgresql_backup_and_restore_point_to_pg_dump() {
    let db = TestDb::new(crate::support::Backend::Postgres).await;
    let cwd = db.dir();
    for (args, tool) in [
        (["backup", "out.db"], "pg_dump"),
        (["restore", "out.db"], "pg_restore"),
    ] {
        let mut command = maecenas(cwd);
        command
            .env("DATABASE_URL", db.url())
            .env("MAECENAS_LOG", "warn")
            .args(args);
        let ran = run(command).await;
        ran.assert_clean_failure(tool);
        assert_eq!(ran.status.code(), Some(2));
        assert!(!cwd.join("out.db").exists());
    }
}
