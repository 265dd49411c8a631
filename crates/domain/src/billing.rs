//! Billing arithmetic: periods, fees, caps and the decline retry schedule.
//!
//! Every amount is integer minor units. The one rule that matters most here:
//! a charge's gross always equals the sum of its parts (gateway fee, platform
//! fee, creator's net), so no cent is lost or invented by rounding.

use std::fmt;
use std::str::FromStr;

use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};

/// A calendar month in UTC: the period a monthly pledge pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillingPeriod {
    year: i32,
    month: Month,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a billing period: expected YYYY-MM, for example 2026-11")]
pub struct InvalidPeriod(pub String);

impl BillingPeriod {
    pub fn new(year: i32, month: Month) -> Self {
        Self { year, month }
    }

    /// The period `at` falls in (read in UTC whatever its offset).
    pub fn containing(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        Self {
            year: utc.year(),
            month: utc.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> Month {
        self.month
    }

    /// The first instant of the period: the 1st, 00:00 UTC.
    pub fn start(self) -> OffsetDateTime {
        Date::from_calendar_date(self.year, self.month, 1)
            .expect("the 1st exists in every month")
            .with_time(Time::MIDNIGHT)
            .assume_utc()
    }

    /// The first instant after the period (the next period's start).
    pub fn end(self) -> OffsetDateTime {
        self.next().start()
    }

    pub fn next(self) -> Self {
        match self.month {
            Month::December => Self::new(self.year + 1, Month::January),
            month => Self::new(self.year, month.next()),
        }
    }

    pub fn previous(self) -> Self {
        match self.month {
            Month::January => Self::new(self.year - 1, Month::December),
            month => Self::new(self.year, month.previous()),
        }
    }

    /// Days in the period (28 to 31; February follows the leap-year rule).
    pub fn days(self) -> u8 {
        self.month.length(self.year)
    }

    pub fn contains(self, at: OffsetDateTime) -> bool {
        at >= self.start() && at < self.end()
    }
}

impl fmt::Display for BillingPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month as u8)
    }
}

impl FromStr for BillingPeriod {
    type Err = InvalidPeriod;
    fn from_str(s: &str) -> Result<Self, InvalidPeriod> {
        let invalid = || InvalidPeriod(s.to_owned());
        let (year, month) = s.split_once('-').ok_or_else(invalid)?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u8 = month.parse().map_err(|_| invalid())?;
        let month = Month::try_from(month).map_err(|_| invalid())?;
        if year < 1970 {
            return Err(invalid());
        }
        Ok(Self::new(year, month))
    }
}

/// What the platform and the gateway take from a charge, in basis points
/// (1/100 of a percent) plus the gateway's fixed fee per charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    pub platform_bps: u32,
    pub gateway_bps: u32,
    pub gateway_fixed_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeePolicyError {
    #[error("fees of {0} basis points would take half of every charge or more")]
    TooHigh(u32),
    #[error("the gateway's fixed fee cannot be negative")]
    NegativeFixedFee,
}

impl FeePolicy {
    /// Stripe's card pricing and a 5% platform fee.
    pub const DEFAULT: FeePolicy = FeePolicy {
        platform_bps: 500,
        gateway_bps: 290,
        gateway_fixed_minor: 30,
    };

    pub fn new(
        platform_bps: u32,
        gateway_bps: u32,
        gateway_fixed_minor: i64,
    ) -> Result<Self, FeePolicyError> {
        let total = platform_bps.saturating_add(gateway_bps);
        if total >= 5_000 {
            return Err(FeePolicyError::TooHigh(total));
        }
        if gateway_fixed_minor < 0 {
            return Err(FeePolicyError::NegativeFixedFee);
        }
        Ok(Self {
            platform_bps,
            gateway_bps,
            gateway_fixed_minor,
        })
    }

    /// How a gross charge splits. Each percentage fee rounds half up on its
    /// own; fees never exceed the gross, so the creator's part is never negative.
    pub fn split(&self, gross_minor: i64) -> FeeBreakdown {
        let gross = gross_minor.max(0);
        let gateway = (percent_of(gross, self.gateway_bps) + self.gateway_fixed_minor).min(gross);
        let platform = percent_of(gross, self.platform_bps).min(gross - gateway);
        FeeBreakdown {
            gross_minor: gross,
            gateway_fee_minor: gateway,
            platform_fee_minor: platform,
            creator_net_minor: gross - gateway - platform,
        }
    }

    /// The charge for a pledge of `pledge_minor`. When the patron covers the
    /// fees, the smallest gross whose net reaches the pledge: the net grows by
    /// at most one unit per unit of gross, so the creator receives exactly the pledge.
    pub fn charge_for(&self, pledge_minor: i64, patron_pays_fees: bool) -> FeeBreakdown {
        if !patron_pays_fees || pledge_minor <= 0 {
            return self.split(pledge_minor);
        }
        // net(g) >= g*(1 - r) - fixed - 1, so below this estimate no gross can reach the pledge.
        let rate = i128::from(self.platform_bps + self.gateway_bps);
        let needed = i128::from(pledge_minor) + i128::from(self.gateway_fixed_minor);
        let estimate = needed * 10_000 / (10_000 - rate);
        let mut gross = (estimate - 3).max(i128::from(pledge_minor)) as i64;
        loop {
            let split = self.split(gross);
            if split.creator_net_minor >= pledge_minor {
                return split;
            }
            gross += 1;
        }
    }
}

impl Default for FeePolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn percent_of(amount: i64, bps: u32) -> i64 {
    // Half up, in i128 so large amounts cannot overflow.
    ((i128::from(amount) * i128::from(bps) + 5_000) / 10_000) as i64
}

/// One charge's parts. Invariant: `gross = gateway_fee + platform_fee + creator_net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeBreakdown {
    pub gross_minor: i64,
    pub gateway_fee_minor: i64,
    pub platform_fee_minor: i64,
    pub creator_net_minor: i64,
}

/// What a per-creation pledge owes for a period: its amount for each paid
/// creation published, never more than the patron's monthly cap.
pub fn per_creation_due(amount_minor: i64, paid_creations: i64, cap_minor: Option<i64>) -> i64 {
    let owed = amount_minor.saturating_mul(paid_creations.max(0));
    match cap_minor {
        Some(cap) => owed.min(cap),
        None => owed,
    }
}

/// Days after the first failed attempt on which a declined charge is tried
/// again; after the last one fails the pledge is declined.
pub const RETRY_DAYS: [i64; 4] = [1, 3, 5, 7];

/// When to try again after `attempts` attempts have failed, the first at
/// `first_failure`; `None` once the schedule is spent.
pub fn next_retry_at(first_failure: OffsetDateTime, attempts: u32) -> Option<OffsetDateTime> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_DAYS
        .get(index)
        .map(|days| first_failure + Duration::days(*days))
}

/// The most attempts a charge gets: the first and one per retry day.
pub const MAX_ATTEMPTS: u32 = RETRY_DAYS.len() as u32 + 1;

/// A card as people name it: "Visa ending 4242" (the brand is stored in
/// Patreon's `card_type` words: `visa`, `mastercard`, `amex`, …).
pub fn card_label(brand: &str, last4: &str) -> String {
    let brand = match brand {
        "visa" => "Visa",
        "mastercard" => "Mastercard",
        "amex" => "American Express",
        "discover" => "Discover",
        "diners" => "Diners Club",
        "jcb" => "JCB",
        "unionpay" => "UnionPay",
        "" | "unknown" => "Card",
        other => other,
    };
    format!("{brand} ending {last4}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cards_are_named_as_people_name_them() {
        assert_eq!(super::card_label("visa", "4242"), "Visa ending 4242");
        assert_eq!(
            super::card_label("amex", "0005"),
            "American Express ending 0005"
        );
        assert_eq!(super::card_label("", "1111"), "Card ending 1111");
    }

    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn periods_follow_the_calendar_in_utc() {
        let p = BillingPeriod::containing(datetime!(2028-02-29 23:59:59 UTC));
        assert_eq!(p.to_string(), "2028-02");
        assert_eq!(p.days(), 29, "2028 is a leap year");
        assert_eq!(p.end(), datetime!(2028-03-01 0:00 UTC));
        assert_eq!("2027-02".parse::<BillingPeriod>().unwrap().days(), 28);
        assert_eq!(
            "2100-02".parse::<BillingPeriod>().unwrap().days(),
            28,
            "centuries are not leap years"
        );
        assert_eq!(
            "2000-02".parse::<BillingPeriod>().unwrap().days(),
            29,
            "unless divisible by 400"
        );
        let december = "2026-12".parse::<BillingPeriod>().unwrap();
        assert_eq!(december.next().to_string(), "2027-01");
        assert_eq!(december.next().previous(), december);
        // 23:30 on the 31st in New York is already the 1st in UTC.
        let new_york = datetime!(2026-12-31 23:30 -5);
        assert_eq!(BillingPeriod::containing(new_york).to_string(), "2027-01");
        assert!(december.contains(datetime!(2026-12-31 23:59:59.999999 UTC)));
        assert!(!december.contains(datetime!(2027-01-01 0:00 UTC)));
    }

    #[test]
    fn bad_periods_are_refused() {
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "2026/01",
            "",
            "2026-01-01",
            "+026-01",
        ] {
            assert!(bad.parse::<BillingPeriod>().is_err(), "{bad}");
        }
    }

    #[test]
    fn default_fees_on_five_dollars() {
        let fees = FeePolicy::DEFAULT;
        let plain = fees.charge_for(500, false);
        // 2.9% of 500 = 14.5 -> 15, + 30 fixed = 45; 5% = 25.
        assert_eq!(
            plain,
            FeeBreakdown {
                gross_minor: 500,
                gateway_fee_minor: 45,
                platform_fee_minor: 25,
                creator_net_minor: 430
            }
        );
        let covered = fees.charge_for(500, true);
        assert!(covered.creator_net_minor >= 500);
        assert_eq!(covered.gross_minor, 576);
        assert!(fees.split(575).creator_net_minor < 500);
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let t = datetime!(2026-11-01 0:00 UTC);
        assert_eq!(next_retry_at(t, 1), Some(datetime!(2026-11-02 0:00 UTC)));
        assert_eq!(next_retry_at(t, 4), Some(datetime!(2026-11-08 0:00 UTC)));
        assert_eq!(next_retry_at(t, MAX_ATTEMPTS), None);
        assert_eq!(next_retry_at(t, 0), None);
    }

    #[test]
    fn caps_bound_per_creation_totals() {
        assert_eq!(per_creation_due(100, 3, Some(250)), 250);
        assert_eq!(per_creation_due(100, 2, Some(250)), 200);
        assert_eq!(per_creation_due(100, 0, Some(250)), 0);
        assert_eq!(per_creation_due(100, 4, None), 400);
    }

    fn policies() -> impl Strategy<Value = FeePolicy> {
        (0u32..2_000, 0u32..1_000, 0i64..100).prop_map(|(p, g, f)| FeePolicy::new(p, g, f).unwrap())
    }

    proptest! {
        #[test]
        fn parts_always_sum_to_the_gross(policy in policies(), gross in 0i64..10_000_000_000) {
            let s = policy.split(gross);
            prop_assert_eq!(s.gateway_fee_minor + s.platform_fee_minor + s.creator_net_minor, s.gross_minor);
            prop_assert!(s.gateway_fee_minor >= 0 && s.platform_fee_minor >= 0 && s.creator_net_minor >= 0);
        }

        #[test]
        fn covering_fees_is_the_least_that_pays_the_pledge(policy in policies(), pledge in 1i64..1_000_000_000) {
            let c = policy.charge_for(pledge, true);
            prop_assert_eq!(c.gateway_fee_minor + c.platform_fee_minor + c.creator_net_minor, c.gross_minor);
            // The net grows by at most a cent per cent of gross, so the least
            // gross that reaches the pledge pays exactly the pledge.
            prop_assert_eq!(c.creator_net_minor, pledge, "the creator receives the pledge: {:?}", c);
            prop_assert!(policy.split(c.gross_minor - 1).creator_net_minor < pledge, "one cent less would not");
        }

        #[test]
        fn periods_round_trip_through_text(year in 1970i32..9999, month in 1u8..=12) {
            let p = BillingPeriod::new(year, Month::try_from(month).unwrap());
            prop_assert_eq!(p.to_string().parse::<BillingPeriod>().unwrap(), p);
            prop_assert!(p.contains(p.start()) && !p.contains(p.end()));
            prop_assert_eq!((p.end() - p.start()).whole_days(), i64::from(p.days()));
        }
    }
}
