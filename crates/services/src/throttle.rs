//! Rate limits that hold across nodes. Several `serve` processes behind a
//! balancer must count one allowance, not one each: the state lives where
//! every node sees it, in PostgreSQL (an UNLOGGED table, one upsert per
//! check) or in Redis (one script per check) when `MAECENAS_REDIS_URL` is set.
//! SQLite runs on one node, so its limits stay in memory (`governor`).
//!
//! The algorithm is `governor`'s (GCRA): each key has a theoretical arrival
//! time (TAT); a request costs one emission interval and is allowed while the
//! TAT is no more than the burst tolerance ahead of now. governor keeps that
//! time in process memory and offers no shared store, so the few lines of
//! the step are written here, once in SQL and once in Lua, each atomic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use maecenas_store::{Store, rate_limits};
use sha2::{Digest, Sha256};

use crate::ServiceError;

/// A GCRA quota: `burst` requests at once, then one every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub every: Duration,
    pub burst: u32,
}

impl Quota {
    /// `n` a minute, all of them at once if need be (governor's `per_minute`).
    pub fn per_minute(n: u32) -> Quota {
        let n = n.max(1);
        Quota {
            every: Duration::from_secs(60) / n,
            burst: n,
        }
    }

    fn emission_us(self) -> i64 {
        (self.every.as_micros() as i64).max(1)
    }

    fn tolerance_us(self) -> i64 {
        self.emission_us() * i64::from(self.burst.max(1) - 1)
    }
}

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests that could follow at once.
    pub remaining: u32,
    /// When refused: how long until one is allowed.
    pub wait: Duration,
    /// How long until the allowance is full again.
    pub reset: Duration,
}

impl Decision {
    fn allowed(quota: Quota, now_us: i64, tat_us: i64) -> Decision {
        let ahead = (tat_us - now_us).max(0);
        // The next request is allowed while `ahead` is within the tolerance,
        // and each one allowed moves it one interval on.
        let tolerance = quota.tolerance_us();
        let remaining = if ahead <= tolerance {
            (tolerance - ahead) / quota.emission_us() + 1
        } else {
            0
        };
        Decision {
            allowed: true,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            wait: Duration::ZERO,
            reset: micros(ahead),
        }
    }

    fn refused(quota: Quota, now_us: i64, tat_us: i64) -> Decision {
        let ahead = (tat_us - now_us).max(0);
        Decision {
            allowed: false,
            remaining: 0,
            wait: micros((ahead - quota.tolerance_us()).max(0)),
            reset: micros(ahead),
        }
    }
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

/// Where the shared state is kept.
#[derive(Clone)]
pub enum SharedLimiter {
    Database(Store),
    Redis {
        connection: redis::aio::ConnectionManager,
        prefix: String,
    },
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SharedLimiter::Database(_) => "SharedLimiter(database)",
            SharedLimiter::Redis { .. } => "SharedLimiter(redis)",
        })
    }
}

/// GCRA in one step, atomically inside Redis: `{1, new TAT}` or `{0, TAT}`.
const GCRA_LUA: &str = r#"
local now = tonumber(ARGV[1])
local emission = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then return {0, string.format('%.0f', tat)} end
local new = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.floor((new - now) / 1000) + 1)
return {1, string.format('%.0f', new)}
"#;

impl SharedLimiter {
    /// Connects to Redis (`redis://HOST:PORT[/DB]`); keys are `PREFIX:kind:hash`.
    pub async fn redis(url: &str, prefix: &str) -> Result<SharedLimiter, ServiceError> {
        let client = redis::Client::open(url)
            .map_err(|e| ServiceError::invalid("redis_url", e.to_string()))?;
        let connection = redis::aio::ConnectionManager::new(client)
            .await
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("cannot connect to Redis: {e}")))?;
        Ok(SharedLimiter::Redis {
            connection,
            prefix: prefix.to_owned(),
        })
    }

    /// Counts one request of `kind` (`login-account`, `api`, …) for `subject`
    /// (already a hash of the credentials, or an email or an address).
    pub async fn check(
        &self,
        kind: &str,
        subject: &[u8],
        quota: Quota,
    ) -> Result<Decision, ServiceError> {
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or_default();
        let key: [u8; 32] = Sha256::new()
            .chain_update(kind.as_bytes())
            .chain_update([0])
            .chain_update(subject)
            .finalize()
            .into();
        let taken = match self {
            SharedLimiter::Database(store) => {
                let mut tx = store.write().await?;
                let taken = rate_limits::take(
                    &mut tx,
                    &key,
                    now_us,
                    quota.emission_us(),
                    quota.tolerance_us(),
                )
                .await?;
                // Now and then, forget keys whose allowance is full again.
                if key[0] == 0 && key[1] < 16 {
                    rate_limits::forget_full(&mut tx, now_us).await?;
                }
                tx.commit().await?;
                taken
            }
            SharedLimiter::Redis { connection, prefix } => {
                let name = format!("{prefix}:{kind}:{}", hex::encode(key));
                let (allowed, tat): (i64, String) = redis::Script::new(GCRA_LUA)
                    .key(name)
                    .arg(now_us)
                    .arg(quota.emission_us())
                    .arg(quota.tolerance_us())
                    .invoke_async(&mut connection.clone())
                    .await
                    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("Redis: {e}")))?;
                let tat: i64 = tat.parse().unwrap_or(now_us);
                if allowed == 1 { Ok(tat) } else { Err(tat) }
            }
        };
        Ok(match taken {
            Ok(tat) => Decision::allowed(quota, now_us, tat),
            Err(tat) => Decision::refused(quota, now_us, tat),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_follow_the_gcra_arithmetic() {
        let quota = Quota {
            every: Duration::from_secs(6),
            burst: 10,
        };
        // A fresh key: the first request leaves nine.
        let first = Decision::allowed(quota, 0, quota.emission_us());
        assert_eq!((first.remaining, first.reset), (9, Duration::from_secs(6)));
        // The tenth in a row leaves none; the eleventh waits one interval.
        let tenth = Decision::allowed(quota, 0, 10 * quota.emission_us());
        assert_eq!(tenth.remaining, 0);
        let eleventh = Decision::refused(quota, 0, 10 * quota.emission_us());
        assert_eq!(eleventh.wait, Duration::from_secs(6));
        assert_eq!(Quota::per_minute(120).every, Duration::from_millis(500));
    }
}
