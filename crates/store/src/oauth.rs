//! `oauth_grants`, `oauth_codes`, `oauth_tokens`: state of the OAuth2
//! authorization server. Secrets appear here only as
//! SHA-256 hashes.

use maecenas_domain::{OAuthClientId, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::users::user_columns;
use crate::{StoreError, Tx, on_backend};

// The SQL texts the token endpoint's writes share with the group writer
// (see `crate::token_statements`): one text for every backend and path.

pub(crate) const INSERT_GRANT: &str = "INSERT INTO oauth_grants \
     (id, client_row_id, user_id, scope, created_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const INSERT_CODE: &str = "INSERT INTO oauth_codes \
     (code_hash, grant_id, redirect_uri, code_challenge, expires_at, used_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const USE_CODE: &str =
    "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL";
pub(crate) const MARK_REFRESHED: &str = "UPDATE oauth_tokens SET refreshed_at = $2 \
     WHERE id = $1 AND refreshed_at IS NULL AND revoked_at IS NULL";
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO oauth_tokens \
     (id, grant_id, access_hash, refresh_hash, created_at, access_expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const REVOKE_GRANT: &str =
    "UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
pub(crate) const REVOKE_TOKENS_OF_GRANT: &str =
    "UPDATE oauth_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL";

// ---- grants ---------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GrantRow {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub client_row_id: OAuthClientId,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub scope: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

pub async fn insert_grant(
    tx: &mut Tx,
    id: i64,
    client: OAuthClientId,
    user: UserId,
    scope: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| {
        sqlx::query(INSERT_GRANT)
            .bind(id)
            .bind(client.get())
            .bind(user.get())
            .bind(scope)
            .bind(db(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn grant_by_id(tx: &mut Tx, id: i64) -> Result<Option<GrantRow>, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, GrantRow>(
        "SELECT id, client_row_id, user_id, scope, created_at, revoked_at FROM oauth_grants WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    })?)
}

/// Revokes a grant and every token of it (a replayed code or refresh token).
pub async fn revoke_grant(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(REVOKE_GRANT)
        .bind(id)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    on_backend!(tx, |conn| sqlx::query(REVOKE_TOKENS_OF_GRANT)
        .bind(id)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

// ---- codes ----------------------------------------------------------------

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CodeRow {
    pub code_hash: Vec<u8>,
    pub grant_id: i64,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}
maecenas_domain::debug_showing!(CodeRow {
    grant_id,
    redirect_uri,
    code_challenge,
    expires_at,
    used_at
});

pub async fn insert_code(tx: &mut Tx, code: &CodeRow) -> Result<(), StoreError> {
    on_backend!(tx, |conn| {
        sqlx::query(INSERT_CODE)
            .bind(&code.code_hash)
            .bind(code.grant_id)
            .bind(&code.redirect_uri)
            .bind(&code.code_challenge)
            .bind(db(code.expires_at))
            .bind(db(code.used_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn code_by_hash(tx: &mut Tx, code_hash: &[u8]) -> Result<Option<CodeRow>, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, CodeRow>(
        "SELECT code_hash, grant_id, redirect_uri, code_challenge, expires_at, used_at FROM oauth_codes WHERE code_hash = $1"
    )
    .bind(code_hash)
    .fetch_optional(conn)
    .await
    })?)
}

/// Marks a code used; false when it already was (a concurrent redemption).
pub async fn use_code(
    tx: &mut Tx,
    code_hash: &[u8],
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| sqlx::query(USE_CODE)
        .bind(code_hash)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Revokes every grant a user gave, and every grant given to an app the user
/// owns (their account closed): all those tokens stop working.
pub async fn revoke_grants_of_account(
    tx: &mut Tx,
    user: UserId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE oauth_grants SET revoked_at = $2 WHERE revoked_at IS NULL \
         AND (user_id = $1 OR client_row_id IN (SELECT id FROM oauth_clients WHERE owner_id = $1))";
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(user.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// A live grant of a user's and the name of the app it was given to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppGrantRow {
    #[sqlx(try_from = "i64")]
    pub client_row_id: OAuthClientId,
    pub client_name: String,
    pub scope: String,
    pub created_at: OffsetDateTime,
    /// When the app last received a token under this grant (a log-in or a
    /// refresh): API calls themselves are not recorded, they would cost a
    /// write each.
    pub last_token_at: Option<OffsetDateTime>,
}

/// The live grants a user gave, oldest first.
pub async fn live_grants_of_user(
    tx: &mut Tx,
    user: UserId,
) -> Result<Vec<AppGrantRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, AppGrantRow>(
        "SELECT g.client_row_id, c.name AS client_name, g.scope, g.created_at, \
         (SELECT max(t.created_at) FROM oauth_tokens t WHERE t.grant_id = g.id) AS last_token_at \
         FROM oauth_grants g \
         JOIN oauth_clients c ON c.id = g.client_row_id \
         WHERE g.user_id = $1 AND g.revoked_at IS NULL ORDER BY g.created_at, g.id"
    )
    .bind(user.get())
    .fetch_all(conn)
    .await)?)
}

/// A grant a user gave, live or revoked, with its app's name and when the
/// app last received a token under it (their data archive).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GrantHistoryRow {
    pub client_name: String,
    pub scope: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_token_at: Option<OffsetDateTime>,
}

/// Every grant a user gave, oldest first.
pub async fn grants_of_user(tx: &mut Tx, user: UserId) -> Result<Vec<GrantHistoryRow>, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, GrantHistoryRow>(
            "SELECT c.name AS client_name, g.scope, g.created_at, g.revoked_at, \
         (SELECT max(t.created_at) FROM oauth_tokens t WHERE t.grant_id = g.id) AS last_token_at \
         FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_row_id \
         WHERE g.user_id = $1 ORDER BY g.created_at, g.id",
        )
        .bind(user.get())
        .fetch_all(conn)
        .await
    })?)
}

/// Revokes every live grant a user gave one app; how many.
pub async fn revoke_grants_of_app(
    tx: &mut Tx,
    user: UserId,
    client: OAuthClientId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $3 WHERE user_id = $1 AND client_row_id = $2 AND revoked_at IS NULL"
    )
    .bind(user.get())
    .bind(client.get())
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
    })?)
}

// ---- tokens ---------------------------------------------------------------

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub grant_id: i64,
    pub access_hash: Vec<u8>,
    pub refresh_hash: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub access_expires_at: OffsetDateTime,
    pub refreshed_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}
maecenas_domain::debug_showing!(TokenRow {
    id,
    grant_id,
    created_at,
    access_expires_at,
    refreshed_at,
    revoked_at
});

macro_rules! token_select {
    () => {
        "SELECT id, grant_id, access_hash, refresh_hash, created_at, access_expires_at, refreshed_at, revoked_at FROM oauth_tokens "
    };
}

pub async fn insert_token(tx: &mut Tx, token: &TokenRow) -> Result<(), StoreError> {
    on_backend!(tx, |conn| {
        sqlx::query(INSERT_TOKEN)
            .bind(token.id)
            .bind(token.grant_id)
            .bind(&token.access_hash)
            .bind(&token.refresh_hash)
            .bind(db(token.created_at))
            .bind(db(token.access_expires_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn token_by_access_hash(
    tx: &mut Tx,
    hash: &[u8],
) -> Result<Option<TokenRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, TokenRow>(
        concat!(token_select!(), "WHERE access_hash = $1")
    )
    .bind(hash)
    .fetch_optional(conn)
    .await)?)
}

pub async fn token_by_refresh_hash(
    tx: &mut Tx,
    hash: &[u8],
) -> Result<Option<TokenRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, TokenRow>(
        concat!(token_select!(), "WHERE refresh_hash = $1")
    )
    .bind(hash)
    .fetch_optional(conn)
    .await)?)
}

/// Marks a token's refresh token used; false when it already was.
pub async fn mark_refreshed(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| {
        sqlx::query(MARK_REFRESHED)
            .bind(id)
            .bind(db(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

pub async fn revoke_token(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE oauth_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    )
    .bind(id)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The caller behind a live access token, read in one query: the user, and
/// the scope and client of the token's grant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BearerRow {
    #[sqlx(flatten)]
    pub user: crate::users::UserRow,
    pub scope: String,
    #[sqlx(try_from = "i64")]
    pub client_row_id: OAuthClientId,
    /// The user's campaign, if they are a creator: read here so that
    /// `current_user` needs no second query to find it.
    pub campaign_id: Option<i64>,
}

// The token and its grant are joined in a derived table, so that the user's
// columns stay unqualified (the one list `users::user_columns!` keeps). The
// token itself is looked up in a derived table of its own, `LIMIT 1`, which
// SQLite cannot flatten into the join: statistics taken while the table was
// nearly empty cannot turn that lookup into a scan of every token. (The grant
// and user joins stay exposed to such statistics; the token endpoint's
// lookups avoid joins altogether, see `token_statements`.)
const BEARER: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", scope, client_row_id, \
     (SELECT c.id FROM campaigns c WHERE c.creator_id = users.id) AS campaign_id \
     FROM users JOIN (SELECT g.user_id AS grant_user, g.scope, g.client_row_id \
     FROM (SELECT grant_id FROM oauth_tokens WHERE access_hash = $1 AND revoked_at IS NULL \
         AND refreshed_at IS NULL AND access_expires_at > $2 LIMIT 1) t \
     JOIN oauth_grants g ON g.id = t.grant_id \
     WHERE g.revoked_at IS NULL) live ON users.id = live.grant_user"
);

/// The user, scope and client behind `hash` when its token is neither
/// expired (at `now`), rotated nor revoked and its grant is not revoked.
pub async fn bearer_by_access_hash(
    tx: &mut Tx,
    hash: &[u8],
    now: OffsetDateTime,
) -> Result<Option<BearerRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, BearerRow>(
        BEARER
    )
    .bind(hash)
    .bind(db(now))
    .fetch_optional(conn)
    .await)?)
}
