//! `sessions`: who is logged in to the web pages. The cookie's value appears
//! here only as its SHA-256 hash.

use maecenas_domain::UserId;
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

pub async fn insert_session(
    tx: &mut Tx,
    token_hash: &[u8],
    user: UserId,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(token_hash)
    .bind(user.get())
    .bind(db(now))
    .bind(db(expires_at))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user of a live session.
pub async fn session_user(
    tx: &mut Tx,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> Result<Option<UserId>, StoreError> {
    let row: Option<(i64,)> = on_backend!(tx, |conn| sqlx::query_as(
        "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2"
    )
    .bind(token_hash)
    .bind(db(now))
    .fetch_optional(conn)
    .await)?;
    Ok(row.map(|(id,)| UserId::from(id)))
}

pub async fn delete_session(tx: &mut Tx, token_hash: &[u8]) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends every session of a user (password changed, account deleted or suspended).
pub async fn delete_sessions_of_user(tx: &mut Tx, user: UserId) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1"
    )
    .bind(user.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
