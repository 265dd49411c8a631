//! PostgreSQL's token endpoint in one statement, for the request that
//! succeeds.
//!
//! A grant written over [`crate::token_statements`] is five to seven round
//! trips on PostgreSQL (BEGIN, the client, the code or refresh token with
//! its grant, burning it, the new token, COMMIT), and the database and this
//! process spend most of each grant waiting on one another. Here the whole
//! successful exchange is one statement: data-modifying CTEs that burn the
//! code (or rotate the refresh token) only when every check passes, and
//! insert the new token from what they burnt. One statement is one
//! transaction; a concurrent use of the same code waits for the row lock and
//! then finds it used, so a code is still exchanged once.
//!
//! When it issues nothing (a wrong secret, a replay, an expired code, a
//! PKCE mismatch, a suspended user, a grant holding the webhook scope whose
//! webhooks an exchange may resume, a refresh that narrows its scope), the
//! caller runs the full use case, which finds the reason, answers with it
//! and keeps what a refusal must write (a replay revokes the grant). SQLite
//! needs none of this: its group writer runs the use case in-process.

use time::OffsetDateTime;

use maecenas_domain::Scope;

use crate::oauth::TokenRow;
use crate::webhooks::scope_pattern;
use crate::{Store, StoreError};

/// An `authorization_code` request as checked in SQL: hashes of its secrets,
/// and the S256 challenge of its verifier (`None`: no verifier was sent).
#[derive(Clone, Copy)]
pub struct CodeExchange<'a> {
    pub client_id: &'a str,
    pub client_secret_hash: &'a [u8],
    pub code_hash: &'a [u8],
    pub redirect_uri: &'a str,
    pub verifier_challenge: Option<&'a str>,
    pub now: OffsetDateTime,
    /// The token to insert; its `grant_id` is taken from the code.
    pub token: &'a TokenRow,
}

/// A `refresh_token` request without a `scope` parameter.
#[derive(Clone, Copy)]
pub struct RefreshRotation<'a> {
    pub client_id: &'a str,
    pub client_secret_hash: &'a [u8],
    pub refresh_hash: &'a [u8],
    pub now: OffsetDateTime,
    pub token: &'a TokenRow,
}

// `$1`/`$2` authenticate the client: an equality on the SHA-256 of its
// secret leaks nothing through timing (the hash is not the secret).
const EXCHANGE_CODE: &str = "\
WITH client AS (
    SELECT id FROM oauth_clients WHERE client_id = $1 AND secret_hash = $2
), burnt AS (
    UPDATE oauth_codes c SET used_at = $3
    FROM oauth_grants g, users u, client
    WHERE c.code_hash = $4 AND c.used_at IS NULL AND c.expires_at > $3
      AND c.redirect_uri = $5 AND c.code_challenge IS NOT DISTINCT FROM $6
      AND g.id = c.grant_id AND g.revoked_at IS NULL AND g.client_row_id = client.id
      AND ' ' || g.scope || ' ' NOT LIKE $7
      AND u.id = g.user_id AND NOT (u.is_suspended OR u.is_deleted OR u.is_nuked)
    RETURNING c.grant_id, g.scope
), issued AS (
    INSERT INTO oauth_tokens (id, grant_id, access_hash, refresh_hash, created_at, access_expires_at)
    SELECT $8, grant_id, $9, $10, $3, $11 FROM burnt
    RETURNING grant_id
)
SELECT burnt.scope FROM burnt JOIN issued ON issued.grant_id = burnt.grant_id";

const ROTATE_REFRESH: &str = "\
WITH client AS (
    SELECT id FROM oauth_clients WHERE client_id = $1 AND secret_hash = $2
), rotated AS (
    UPDATE oauth_tokens t SET refreshed_at = $3
    FROM oauth_grants g, users u, client
    WHERE t.refresh_hash = $4 AND t.refreshed_at IS NULL AND t.revoked_at IS NULL
      AND g.id = t.grant_id AND g.revoked_at IS NULL AND g.client_row_id = client.id
      AND u.id = g.user_id AND NOT (u.is_suspended OR u.is_deleted OR u.is_nuked)
    RETURNING t.grant_id, g.scope
), issued AS (
    INSERT INTO oauth_tokens (id, grant_id, access_hash, refresh_hash, created_at, access_expires_at)
    SELECT $5, grant_id, $6, $7, $3, $8 FROM rotated
    RETURNING grant_id
)
SELECT rotated.scope FROM rotated JOIN issued ON issued.grant_id = rotated.grant_id";

/// Exchanges a code that passes every check, in one statement; the granted
/// scope, or `None` when nothing was issued (and nothing written) and the
/// full use case must decide. Always `None` on SQLite.
pub async fn exchange_code(
    store: &Store,
    request: CodeExchange<'_>,
) -> Result<Option<String>, StoreError> {
    let Some(pool) = store.postgres_pool() else {
        return Ok(None);
    };
    let scope: Option<(String,)> = sqlx::query_as(EXCHANGE_CODE)
        .bind(request.client_id)
        .bind(request.client_secret_hash)
        .bind(request.now)
        .bind(request.code_hash)
        .bind(request.redirect_uri)
        .bind(request.verifier_challenge)
        .bind(scope_pattern(Scope::CampaignsWebhook.as_str()))
        .bind(request.token.id)
        .bind(&request.token.access_hash)
        .bind(&request.token.refresh_hash)
        .bind(request.token.access_expires_at)
        .fetch_optional(pool)
        .await?;
    Ok(scope.map(|(scope,)| scope))
}

/// Rotates a refresh token that passes every check, in one statement; the
/// granted scope, or `None` (nothing written; see [`exchange_code`]).
pub async fn rotate_refresh(
    store: &Store,
    request: RefreshRotation<'_>,
) -> Result<Option<String>, StoreError> {
    let Some(pool) = store.postgres_pool() else {
        return Ok(None);
    };
    let scope: Option<(String,)> = sqlx::query_as(ROTATE_REFRESH)
        .bind(request.client_id)
        .bind(request.client_secret_hash)
        .bind(request.now)
        .bind(request.refresh_hash)
        .bind(request.token.id)
        .bind(&request.token.access_hash)
        .bind(&request.token.refresh_hash)
        .bind(request.token.access_expires_at)
        .fetch_optional(pool)
        .await?;
    Ok(scope.map(|(scope,)| scope))
}
