//! `maecenas admin ...` as operators script it: the real binary, `--json`,
//! exit codes, and secrets that exist only as hashes, on both backends.

use maecenas_store::{api_keys, oauth_clients, users};
use rstest::rstest;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{Backend, TestDb, admin};

async fn create_user(db: &TestDb, email: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "admin",
        "user",
        "create",
        "--email",
        email,
        "--password",
        "correct horse",
        "--json",
    ];
    args.extend_from_slice(extra);
    let ran = admin(db, &args).await;
    assert!(ran.status.success(), "{}", ran.stderr);
    ran.json()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn users_are_created_listed_and_refused_clearly(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    let created = create_user(
        &db,
        " Ada@Example.org ",
        &["--username", "ada", "--creator", "--first-name", "Ada"],
    )
    .await;
    assert_eq!(created["email"], "ada@example.org", "emails are normalised");
    assert_eq!(created["username"], "ada");
    assert_eq!(created["is_creator"], true);
    assert_eq!(created["first_name"], "Ada");
    let id: i64 = created["id"]
        .as_str()
        .expect("ids are strings in JSON")
        .parse()
        .unwrap();
    assert!(id > 0);

    let list = admin(&db, &["admin", "user", "list", "--json"])
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], created["id"]);

    let duplicate = admin(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--email",
            "ada@example.org",
            "--password",
            "12345678",
        ],
    )
    .await;
    duplicate.assert_clean_failure("already exists");
    assert_eq!(duplicate.status.code(), Some(3));
    let taken = admin(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--email",
            "b@example.org",
            "--password",
            "12345678",
            "--username",
            "ADA",
        ],
    )
    .await;
    taken.assert_clean_failure("username is taken");
    assert_eq!(taken.status.code(), Some(3));
    let bad_email = admin(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--email",
            "nope",
            "--password",
            "12345678",
        ],
    )
    .await;
    bad_email.assert_clean_failure("email");
    assert_eq!(bad_email.status.code(), Some(2));
    let short = admin(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--email",
            "c@example.org",
            "--password",
            "short",
        ],
    )
    .await;
    short.assert_clean_failure("password: must be at least 8 characters");
    let numeric = admin(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--email",
            "d@example.org",
            "--password",
            "12345678",
            "--username",
            "12345",
        ],
    )
    .await;
    numeric.assert_clean_failure("username");

    // Nothing of the refused commands was written; the password is an argon2id hash.
    let store = db.store().await;
    let mut tx = store.read().await.unwrap();
    assert_eq!(users::count_users(&mut tx).await.unwrap(), 1);
    let row = users::user_by_email(&mut tx, "ada@example.org")
        .await
        .unwrap()
        .unwrap();
    let hash = row.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$") && !hash.contains("correct horse"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn oauth_clients_show_their_secret_once_and_store_only_its_hash(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    create_user(&db, "dev@example.org", &[]).await;
    let ran = admin(
        &db,
        &[
            "admin",
            "client",
            "create",
            "--owner",
            "dev@example.org",
            "--name",
            "My app",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--json",
        ],
    )
    .await;
    assert!(ran.status.success(), "{}", ran.stderr);
    let created = ran.json();
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("mcs_") && secret.len() >= 40, "{secret}");
    assert_eq!(
        created["redirect_uris"],
        serde_json::json!(["https://app.example/cb", "http://127.0.0.1/cb"])
    );
    assert_eq!(created["owner"], "dev@example.org");

    let listed = admin(&db, &["admin", "client", "list", "--json"]).await;
    assert!(
        !listed.stdout.contains(&secret),
        "a list never shows secrets"
    );
    assert_eq!(listed.json()[0]["client_id"], client_id.as_str());

    let store = db.store().await;
    let stored_hash = {
        let mut tx = store.read().await.unwrap();
        oauth_clients::client_by_client_id(&mut tx, &client_id)
            .await
            .unwrap()
            .unwrap()
            .secret_hash
    };
    assert_eq!(stored_hash, Sha256::digest(secret.as_bytes()).to_vec());

    let rotated = admin(
        &db,
        &["admin", "client", "rotate-secret", &client_id, "--json"],
    )
    .await
    .json();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let mut tx = store.read().await.unwrap();
    let after = oauth_clients::client_by_client_id(&mut tx, &client_id)
        .await
        .unwrap()
        .unwrap()
        .secret_hash;
    assert_eq!(
        after,
        Sha256::digest(new_secret.as_bytes()).to_vec(),
        "the old secret's hash is gone"
    );

    let plain_http = admin(
        &db,
        &[
            "admin",
            "client",
            "create",
            "--owner",
            "dev@example.org",
            "--name",
            "x",
            "--redirect-uri",
            "http://app.example/cb",
        ],
    )
    .await;
    plain_http.assert_clean_failure("must use https");
    assert_eq!(plain_http.status.code(), Some(2));
    let fragment = admin(
        &db,
        &[
            "admin",
            "client",
            "create",
            "--owner",
            "dev@example.org",
            "--name",
            "x",
            "--redirect-uri",
            "https://app.example/cb#top",
        ],
    )
    .await;
    fragment.assert_clean_failure("fragment");
    let nobody = admin(
        &db,
        &[
            "admin",
            "client",
            "create",
            "--owner",
            "ghost@example.org",
            "--name",
            "x",
            "--redirect-uri",
            "https://app.example/cb",
        ],
    )
    .await;
    nobody.assert_clean_failure("owner not found");
    assert_eq!(nobody.status.code(), Some(4));
    let unknown = admin(&db, &["admin", "client", "rotate-secret", "no-such-client"]).await;
    assert_eq!(unknown.status.code(), Some(4));
    assert_eq!(
        oauth_clients::list_clients(&mut tx, None)
            .await
            .unwrap()
            .len(),
        1,
        "refused commands wrote nothing"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn api_keys_show_the_key_once_and_list_only_prefixes(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    create_user(&db, "creator@example.org", &["--creator"]).await;
    let created = admin(
        &db,
        &[
            "admin",
            "api-key",
            "create",
            "--owner",
            "creator@example.org",
            "--name",
            "laptop",
            "--json",
        ],
    )
    .await
    .json();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("mck_"), "{key}");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(created["name"], "laptop");

    let listed = admin(
        &db,
        &[
            "admin",
            "api-key",
            "list",
            "--owner",
            "creator@example.org",
            "--json",
        ],
    )
    .await;
    assert!(!listed.stdout.contains(&key));
    let listed = listed.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["prefix"], created["prefix"]);
    assert_eq!(listed[0]["revoked_at"], Value::Null);
    assert!(listed[0].get("key").is_none());

    let store = db.store().await;
    let mut tx = store.read().await.unwrap();
    let hash = Sha256::digest(key.as_bytes()).to_vec();
    assert!(
        api_keys::api_key_by_hash(&mut tx, &hash)
            .await
            .unwrap()
            .is_some(),
        "stored as its SHA-256"
    );

    let unnamed = admin(
        &db,
        &[
            "admin",
            "api-key",
            "create",
            "--owner",
            "creator@example.org",
            "--name",
            "  ",
        ],
    )
    .await;
    unnamed.assert_clean_failure("name");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn tokens_are_minted_for_a_user_and_a_client(#[case] backend: Backend) {
    let db = TestDb::new(backend).await;
    create_user(&db, "dev@example.org", &[]).await;
    create_user(&db, "patron@example.org", &["--username", "patron"]).await;
    let client = admin(
        &db,
        &[
            "admin",
            "client",
            "create",
            "--owner",
            "dev@example.org",
            "--name",
            "x",
            "--redirect-uri",
            "https://x.example/cb",
            "--json",
        ],
    )
    .await
    .json();
    let client_id = client["client_id"].as_str().unwrap();
    let minted = admin(
        &db,
        &[
            "admin",
            "token",
            "create",
            "--client",
            client_id,
            "--user",
            "patron@example.org",
            "--scope",
            "identify users",
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(minted["scope"], "users identify");
    assert_eq!(minted["expires_in"], 2_592_000);
    assert_eq!(minted["token_type"], "Bearer");
    let access = minted["access_token"].as_str().unwrap();
    assert!(access.starts_with("mat_"));

    // The token works against a running server on the same database.
    let mut command = crate::support::maecenas(db.dir());
    command
        .env("DATABASE_URL", db.url())
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let mut server = crate::support::Server::start(command, db.dir().join("stderr.log")).await;
    let me: Value = reqwest::Client::new()
        .get(server.url("/v1/oauth/@me/profile"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["profile"]["username"], "patron");
    server.signal("TERM");
    assert!(server.wait().await.success());

    let bad_scope = admin(
        &db,
        &[
            "admin",
            "token",
            "create",
            "--client",
            client_id,
            "--user",
            "patron@example.org",
            "--scope",
            "kittens",
        ],
    )
    .await;
    bad_scope.assert_clean_failure("unknown scope");
    assert_eq!(bad_scope.status.code(), Some(2));
    let deleted = admin(&db, &["admin", "client", "delete", client_id, "--json"]).await;
    assert_eq!(deleted.json()["deleted"], true);
    let gone = admin(
        &db,
        &[
            "admin",
            "token",
            "create",
            "--client",
            client_id,
            "--user",
            "patron@example.org",
        ],
    )
    .await;
    assert_eq!(gone.status.code(), Some(4));
}
