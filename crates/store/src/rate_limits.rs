//! `rate_limits`: the state of rate limits that every node shares (GCRA,
//! one theoretical arrival time per key).

use crate::{StoreError, Tx, on_backend};

/// One GCRA step, atomically: a request at `now_us` that costs `emission_us`
/// is allowed when the key's arrival time is at most `tolerance_us` ahead of
/// now. `Ok(new arrival time)` when allowed, `Err(current arrival time)` when not.
pub async fn take(
    tx: &mut Tx,
    key: &[u8],
    now_us: i64,
    emission_us: i64,
    tolerance_us: i64,
) -> Result<Result<i64, i64>, StoreError> {
    // `CASE` rather than GREATEST/max: one text for both backends.
    const TAKE: &str = "INSERT INTO rate_limits (key, tat_us) VALUES ($1, $2 + $3) \
         ON CONFLICT (key) DO UPDATE SET \
         tat_us = (CASE WHEN rate_limits.tat_us > $2 THEN rate_limits.tat_us ELSE $2 END) + $3 \
         WHERE (CASE WHEN rate_limits.tat_us > $2 THEN rate_limits.tat_us ELSE $2 END) - $2 <= $4 \
         RETURNING tat_us";
    const CURRENT: &str = "SELECT tat_us FROM rate_limits WHERE key = $1";
    let taken: Option<i64> = on_backend!(tx, |conn| sqlx::query_scalar(TAKE)
        .bind(key)
        .bind(now_us)
        .bind(emission_us)
        .bind(tolerance_us)
        .fetch_optional(conn)
        .await)?;
    if let Some(tat) = taken {
        return Ok(Ok(tat));
    }
    let current: Option<i64> = on_backend!(tx, |conn| sqlx::query_scalar(CURRENT)
        .bind(key)
        .fetch_optional(conn)
        .await)?;
    Ok(Err(current.unwrap_or(now_us)))
}

/// Forgets keys whose allowance is full again (an absent key means the same).
pub async fn forget_full(tx: &mut Tx, now_us: i64) -> Result<u64, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM rate_limits WHERE tat_us < $1"
    )
    .bind(now_us)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?)
}
