//! Values people type (`crates/domain/src/user.rs`, `money.rs`):
//! `Username::parse`, `Email::parse`, `ProfileStatus`, currency codes and
//! `Currency::parse_amount` / `format_plain`.
//!
//! Input: the text typed; its first bytes also pick a currency and an amount.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maecenas_domain::{Currency, Email, ProfileStatus, Username};
use maecenas_fuzz::{text, u64_from};

/// Currencies of every number of decimals (0 to 4).
const CODES: [&str; 7] = ["USD", "EUR", "JPY", "KWD", "BHD", "CLF", "UYW"];

fuzz_target!(|data: &[u8]| {
    let raw = text(data);

    if let Ok(name) = Username::parse(&raw) {
        let s = name.as_str();
        assert_eq!(s, raw.trim());
        assert!((3..=32).contains(&s.len()));
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        );
        assert!(
            !s.bytes().all(|b| b.is_ascii_digit()),
            "a numeric username: {s:?}"
        );
        assert_eq!(Username::parse(s), Ok(name.clone()));
    }

    if let Ok(email) = Email::parse(&raw) {
        let s = email.as_str();
        assert!(s.len() <= 254);
        assert_eq!(s.matches('@').count(), 1, "{s:?}");
        let (local, domain) = s.split_once('@').unwrap();
        assert!(!local.is_empty() && !domain.is_empty());
        assert!(!domain.starts_with('.') && !domain.ends_with('.'));
        assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
        // One person, one account: normalising is idempotent.
        assert_eq!(Email::parse(s), Ok(email.clone()), "{raw:?}");
    }

    if let Ok(status) = raw.parse::<ProfileStatus>() {
        assert_eq!(status.as_str(), raw);
    }

    if let Ok(currency) = raw.parse::<Currency>() {
        assert!(currency.code().eq_ignore_ascii_case(&raw));
        assert!(currency.minor_digits() <= 4);
    }

    let pick = data.first().copied().unwrap_or(0);
    let currency: Currency = CODES[usize::from(pick) % CODES.len()].parse().unwrap();
    let unit = 10i64.pow(currency.minor_digits());
    let max = 1_000_000_000 * unit + (unit - 1);
    for typed in [raw.as_str(), raw.get(1..).unwrap_or("")] {
        if let Some(minor) = currency.parse_amount(typed) {
            assert!((0..=max).contains(&minor), "{typed:?} -> {minor}");
            assert_eq!(
                currency.parse_amount(&currency.format_plain(minor)),
                Some(minor)
            );
        }
    }
    // Every amount in range is shown and read back exactly.
    let minor = (u64_from(data.get(1..).unwrap_or(&[])) % (max as u64 + 1)) as i64;
    let shown = currency.format_plain(minor);
    assert_eq!(currency.parse_amount(&shown), Some(minor), "{shown:?}");
});
