//! Slows down password guessing: log-in attempts are limited per account and
//! per client address (GCRA through `governor`), answered with 429 and
//! `Retry-After` once a limit is reached.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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

pub struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(burst: u32, every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every.max(Duration::from_millis(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LoginThrottle {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            accounts: RateLimiter::keyed(quota(limits.per_account_burst, limits.per_account_every)),
            addresses: RateLimiter::keyed(quota(
                limits.per_address_burst,
                limits.per_address_every,
            )),
        }
    }

    /// Counts one attempt; `Err(wait)` when the account or the address must wait.
    /// The account key is the email as typed, lower-cased: unknown emails are
    /// limited like known ones, so the answer tells nothing about existence.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), Duration> {
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
        let account = email.trim().to_lowercase();
        self.accounts
            .check_key(&account)
            .map_err(|wait| wait.wait_time_from(now))
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(LoginLimits::default())
    }
}
