//! `api_keys`: personal keys sent as `Authorization: <key>`.

use maecenas_domain::{ApiKeyId, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    #[sqlx(try_from = "i64")]
    pub id: ApiKeyId,
    #[sqlx(try_from = "i64")]
    pub owner_id: UserId,
    pub owner_email: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}
maecenas_domain::debug_showing!(ApiKeyRow {
    id,
    owner_id,
    owner_email,
    name,
    prefix,
    created_at,
    last_used_at,
    revoked_at
});

macro_rules! key_select {
    () => {
        "SELECT k.id, k.owner_id, u.email AS owner_email, k.name, k.prefix, k.key_hash, k.created_at, \
         k.last_used_at, k.revoked_at FROM api_keys k JOIN users u ON u.id = k.owner_id "
    };
}

#[derive(Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub owner_id: UserId,
    pub name: String,
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub created_at: OffsetDateTime,
}
maecenas_domain::debug_showing!(NewApiKey {
    id,
    owner_id,
    name,
    prefix,
    created_at
});

const INSERT: &str = "INSERT INTO api_keys (id, owner_id, name, prefix, key_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

pub async fn insert_api_key(tx: &mut Tx, k: &NewApiKey) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT)
        .bind(k.id.get())
        .bind(k.owner_id.get())
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.key_hash)
        .bind(db(k.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const BY_HASH: &str = concat!(key_select!(), "WHERE k.key_hash = $1");
const ALL: &str = concat!(key_select!(), "ORDER BY k.id");
const OF_OWNER: &str = concat!(key_select!(), "WHERE k.owner_id = $1 ORDER BY k.id");

/// Looked up by the SHA-256 of the presented key: an index lookup on a hash
/// reveals nothing about the key through timing.
pub async fn api_key_by_hash(
    tx: &mut Tx,
    key_hash: &[u8],
) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, ApiKeyRow>(
        BY_HASH
    )
    .bind(key_hash)
    .fetch_optional(conn)
    .await)?)
}

pub async fn list_api_keys(
    tx: &mut Tx,
    owner: Option<UserId>,
) -> Result<Vec<ApiKeyRow>, StoreError> {
    Ok(match owner {
        None => on_backend!(tx, |conn| sqlx::query_as::<_, ApiKeyRow>(ALL)
            .fetch_all(conn)
            .await)?,
        Some(owner) => on_backend!(tx, |conn| sqlx::query_as::<_, ApiKeyRow>(OF_OWNER)
            .bind(owner.get())
            .fetch_all(conn)
            .await)?,
    })
}

const REVOKE: &str = "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

/// Returns whether a live key was revoked.
pub async fn revoke_api_key(
    tx: &mut Tx,
    id: ApiKeyId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = on_backend!(tx, |conn| sqlx::query(REVOKE)
        .bind(id.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

const TOUCH: &str = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1";

/// Records a use of the key (callers throttle this: one write per key per minute).
pub async fn touch_api_key(
    tx: &mut Tx,
    id: ApiKeyId,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(TOUCH)
        .bind(id.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const BY_ID: &str = concat!(key_select!(), "WHERE k.id = $1");

pub async fn api_key_by_id(tx: &mut Tx, id: ApiKeyId) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, ApiKeyRow>(
        BY_ID
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

/// The owner of a live (unrevoked) key, with what the key's use is recorded by.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyOwnerRow {
    #[sqlx(flatten)]
    pub owner: crate::users::UserRow,
    #[sqlx(try_from = "i64")]
    pub key_id: ApiKeyId,
    pub last_used_at: Option<OffsetDateTime>,
}

// As `oauth::bearer_by_access_hash`: the key in a derived table of its own
// (`LIMIT 1`, so stale statistics cannot turn the lookup into a scan), the
// user's columns unqualified.
const OWNER_BY_HASH: &str = concat!(
    "SELECT ",
    crate::users::user_columns!(),
    ", key_id, last_used_at FROM users JOIN (SELECT k.owner_id AS key_owner, k.id AS key_id, \
     k.last_used_at FROM api_keys k WHERE k.key_hash = $1 AND k.revoked_at IS NULL LIMIT 1) live \
     ON users.id = live.key_owner"
);

/// The owner behind a presented key's SHA-256, in one query; `None` for an
/// unknown or revoked key.
pub async fn owner_by_key_hash(
    tx: &mut Tx,
    key_hash: &[u8],
) -> Result<Option<KeyOwnerRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, KeyOwnerRow>(
        OWNER_BY_HASH
    )
    .bind(key_hash)
    .fetch_optional(conn)
    .await)?)
}
