//! Slows down password guessing: log-in attempts are limited per account and
//! per client address (GCRA through `governor`), answered with 429 and
//! `Retry-After` once a limit is reached.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota as GovernorQuota, RateLimiter};
use maecenas_services::throttle::{Quota, SharedLimiter};

/// How many attempts may come in a burst, and how fast the allowance refills.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account_burst: u32,
    pub per_account_every: Duration,
    pub per_address_burst: u32,
    pub per_address_every: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            // Ten tries, then one every six seconds: a person never notices,
            // a guesser gets 600 an hour per account instead of millions.
            per_account_burst: 10,
            per_account_every: Duration::from_secs(6),
            // An address (an office, a NAT) may hold many people.
            per_address_burst: 60,
            per_address_every: Duration::from_secs(1),
        }
    }
}

/// Per account and per address. With a shared store (several nodes) the
/// counts live there; the in-memory limiters are what a node falls back on
/// when that store does not answer, so an outage never turns the
/// protection against password guessing off.
pub struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    limits: LoginLimits,
    shared: Option<SharedLimiter>,
}

fn quota(burst: u32, every: Duration) -> GovernorQuota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    GovernorQuota::with_period(every.max(Duration::from_millis(1)))
        .unwrap_or_else(|| GovernorQuota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LoginThrottle {
    pub fn new(limits: LoginLimits) -> Self {
        Self::shared(limits, None)
    }

    pub fn shared(limits: LoginLimits, shared: Option<SharedLimiter>) -> Self {
        Self {
            accounts: RateLimiter::keyed(quota(limits.per_account_burst, limits.per_account_every)),
            addresses: RateLimiter::keyed(quota(
                limits.per_address_burst,
                limits.per_address_every,
            )),
            limits,
            shared,
        }
    }

    /// Counts one attempt; `Err(wait)` when the account or the address must wait.
    pub async fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let account = email.trim().to_lowercase();
        if let Some(shared) = &self.shared {
            match self.attempt_shared(shared, &account, address).await {
                Ok(verdict) => return verdict,
                Err(e) => {
                    tracing::warn!(error = %e, "the shared log-in throttle did not answer: counting in this process");
                }
            }
        }
        self.attempt_here(&account, address)
    }

    async fn attempt_shared(
        &self,
        shared: &SharedLimiter,
        account: &str,
        address: Option<IpAddr>,
    ) -> Result<Result<(), Duration>, maecenas_services::ServiceError> {
        let l = &self.limits;
        if let Some(address) = address {
            let quota = Quota {
                every: l.per_address_every,
                burst: l.per_address_burst.max(1),
            };
            let d = shared
                .check("login-address", address.to_string().as_bytes(), quota)
                .await?;
            if !d.allowed {
                return Ok(Err(d.wait.max(Duration::from_secs(1))));
            }
        }
        let quota = Quota {
            every: l.per_account_every,
            burst: l.per_account_burst.max(1),
        };
        let d = shared
            .check("login-account", account.as_bytes(), quota)
            .await?;
        Ok(if d.allowed {
            Ok(())
        } else {
            Err(d.wait.max(Duration::from_secs(1)))
        })
    }

    /// In this process's memory. The account key is the email as typed,
    /// lower-cased: unknown emails are limited like known ones, so the
    /// answer tells nothing about existence.
    fn attempt_here(&self, account: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        if self.accounts.len() > 100_000 {
            self.accounts.retain_recent();
        }
        if self.addresses.len() > 100_000 {
            self.addresses.retain_recent();
        }
        let now = DefaultClock::default().now();
        if let Some(address) = address
            && let Err(wait) = self.addresses.check_key(&address)
        {
            return Err(wait.wait_time_from(now));
        }
        self.accounts
            .check_key(&account.to_owned())
            .map_err(|wait| wait.wait_time_from(now))
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(LoginLimits::default())
    }
}
