//! `oauth_clients` and their redirect URIs.

use maecenas_domain::{OAuthClientId, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthClientRow {
    #[sqlx(try_from = "i64")]
    pub id: OAuthClientId,
    pub client_id: String,
    #[sqlx(try_from = "i64")]
    pub owner_id: UserId,
    pub owner_email: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub secret_hash: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub secret_rotated_at: OffsetDateTime,
}
maecenas_domain::debug_showing!(OAuthClientRow {
    id,
    client_id,
    owner_id,
    owner_email,
    name,
    description,
    icon_url,
    created_at,
    secret_rotated_at
});

macro_rules! client_select {
    () => {
        "SELECT c.id, c.client_id, c.owner_id, u.email AS owner_email, c.name, c.description, c.icon_url, \
         c.secret_hash, c.created_at, c.secret_rotated_at \
         FROM oauth_clients c JOIN users u ON u.id = c.owner_id "
    };
}

#[derive(Clone)]
pub struct NewOAuthClient {
    pub id: OAuthClientId,
    pub client_id: String,
    pub owner_id: UserId,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub secret_hash: Vec<u8>,
    /// Already validated (see `maecenas_domain::RedirectUri`), in the developer's order.
    pub redirect_uris: Vec<String>,
    pub created_at: OffsetDateTime,
}
maecenas_domain::debug_showing!(NewOAuthClient {
    id,
    client_id,
    owner_id,
    name,
    description,
    icon_url,
    redirect_uris,
    created_at
});

const INSERT_CLIENT: &str = "INSERT INTO oauth_clients (id, client_id, owner_id, name, description, icon_url, \
     secret_hash, created_at, secret_rotated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
const INSERT_REDIRECT_URI: &str =
    "INSERT INTO oauth_client_redirect_uris (client_row_id, position, uri) VALUES ($1, $2, $3)";

pub async fn insert_client(tx: &mut Tx, c: &NewOAuthClient) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_CLIENT)
        .bind(c.id.get())
        .bind(&c.client_id)
        .bind(c.owner_id.get())
        .bind(&c.name)
        .bind(&c.description)
        .bind(&c.icon_url)
        .bind(&c.secret_hash)
        .bind(db(c.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    for (position, uri) in c.redirect_uris.iter().enumerate() {
        on_backend!(tx, |conn| sqlx::query(INSERT_REDIRECT_URI)
            .bind(c.id.get())
            .bind(position as i32)
            .bind(uri)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

const BY_CLIENT_ID: &str = concat!(client_select!(), "WHERE c.client_id = $1");
const ALL: &str = concat!(client_select!(), "ORDER BY c.id");
const OF_OWNER: &str = concat!(client_select!(), "WHERE c.owner_id = $1 ORDER BY c.id");
const REDIRECT_URIS: &str =
    "SELECT uri FROM oauth_client_redirect_uris WHERE client_row_id = $1 ORDER BY position";

pub async fn client_by_client_id(
    tx: &mut Tx,
    client_id: &str,
) -> Result<Option<OAuthClientRow>, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, OAuthClientRow>(BY_CLIENT_ID)
            .bind(client_id)
            .fetch_optional(conn)
            .await
    })?)
}

/// Every client, or one owner's, oldest first.
pub async fn list_clients(
    tx: &mut Tx,
    owner: Option<UserId>,
) -> Result<Vec<OAuthClientRow>, StoreError> {
    Ok(match owner {
        None => on_backend!(tx, |conn| sqlx::query_as::<_, OAuthClientRow>(ALL)
            .fetch_all(conn)
            .await)?,
        Some(owner) => on_backend!(tx, |conn| sqlx::query_as::<_, OAuthClientRow>(OF_OWNER)
            .bind(owner.get())
            .fetch_all(conn)
            .await)?,
    })
}

pub async fn redirect_uris(tx: &mut Tx, client: OAuthClientId) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = on_backend!(tx, |conn| sqlx::query_as(REDIRECT_URIS)
        .bind(client.get())
        .fetch_all(conn)
        .await)?;
    Ok(rows.into_iter().map(|(uri,)| uri).collect())
}

const ROTATE_SECRET: &str =
    "UPDATE oauth_clients SET secret_hash = $2, secret_rotated_at = $3 WHERE id = $1";

/// Replaces the secret's hash: the old secret stops working at commit.
/// Returns whether the client exists.
pub async fn rotate_secret(
    tx: &mut Tx,
    client: OAuthClientId,
    secret_hash: &[u8],
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = on_backend!(tx, |conn| sqlx::query(ROTATE_SECRET)
        .bind(client.get())
        .bind(secret_hash)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Deletes a client; its redirect URIs, grants, codes and tokens go with it.
pub async fn delete_client(tx: &mut Tx, client: OAuthClientId) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM oauth_clients WHERE id = $1"
    )
    .bind(client.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
