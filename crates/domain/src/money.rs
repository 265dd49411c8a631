//! Money: integer minor units plus an ISO 4217 currency. Never a float.
//!
//! Amounts travel as `i64` minor units beside their currency code (as they
//! are stored and as every API dialect sends them); the fee and total
//! arithmetic is integer arithmetic in `billing.rs`, checked by its property
//! tests. What this module adds is what integers cannot say alone: which
//! currencies exist, how many minor digits each has, how a person types an
//! amount, and how one is shown (`12.50 USD`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
}

impl Currency {
    pub const USD: Currency = Currency(iso_currency::Currency::USD);
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY, 3 for KWD).
    pub fn minor_digits(&self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(0)
    }

    /// An amount as a person types it ("5", "5.5", "1,234.50") in minor units.
    /// At most the currency's decimals; never negative; at most a billion units.
    pub fn parse_amount(&self, text: &str) -> Option<i64> {
        let digits = self.minor_digits();
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != ' ')
            .collect();
        let (whole, fraction) = match cleaned.split_once('.') {
            Some((w, f)) => (w, f),
            None => (cleaned.as_str(), ""),
        };
        if whole.is_empty() && fraction.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > digits as usize
            || whole.len() > 10
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        if whole > 1_000_000_000 {
            return None;
        }
        let padded = format!("{fraction:0<width$}", width = digits as usize);
        let fraction: i64 = if padded.is_empty() {
            0
        } else {
            padded.parse().ok()?
        };
        whole.checked_mul(10i64.pow(digits))?.checked_add(fraction)
    }

    /// Minor units as the plain decimal a form shows ("12.50").
    pub fn format_plain(&self, minor: i64) -> String {
        let digits = self.minor_digits();
        if digits == 0 {
            return minor.to_string();
        }
        let unit = 10i64.pow(digits);
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs() as i64;
        format!(
            "{sign}{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = digits as usize
        )
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(code: &str) -> Result<Self, MoneyError> {
        iso_currency::Currency::from_code(&code.to_ascii_uppercase())
            .map(Currency)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub const fn minor(&self) -> i64 {
        self.minor
    }

    pub const fn currency(&self) -> Currency {
        self.currency
    }
}

/// `12.50 USD`, `-0.05 EUR`, `500 JPY`: exact, from integers only.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if digits == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let unit = 10u64.pow(digits);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / unit,
            abs % unit,
            self.currency,
            width = digits as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes_parse_case_insensitively() {
        assert_eq!("usd".parse::<Currency>().unwrap(), Currency::USD);
        assert_eq!("JPY".parse::<Currency>().unwrap().minor_digits(), 0);
        assert_eq!(
            "XXY".parse::<Currency>().unwrap_err(),
            MoneyError::UnknownCurrency("XXY".into())
        );
    }

    #[test]
    fn display_is_exact() {
        assert_eq!(Money::new(1250, Currency::USD).to_string(), "12.50 USD");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
        assert_eq!(
            Money::new(500, "JPY".parse().unwrap()).to_string(),
            "500 JPY"
        );
        assert_eq!(
            Money::new(i64::MIN, Currency::USD).to_string(),
            "-92233720368547758.08 USD"
        );
    }

    #[test]
    fn amounts_parse_as_people_type_them() {
        let usd = Currency::USD;
        assert_eq!(usd.parse_amount("5"), Some(500));
        assert_eq!(usd.parse_amount("5.5"), Some(550));
        assert_eq!(usd.parse_amount(" 1,234.05 "), Some(123_405));
        assert_eq!(usd.parse_amount(".25"), Some(25));
        for bad in ["", ".", "-5", "5.123", "abc", "1e3", "99999999999"] {
            assert_eq!(usd.parse_amount(bad), None, "{bad:?}");
        }
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(jpy.parse_amount("500"), Some(500));
        assert_eq!(jpy.parse_amount("5.5"), None);
    }

    proptest::proptest! {
        #[test]
        fn formatting_then_parsing_gives_the_amount_back(minor in 0i64..100_000_000_000) {
            let usd = Currency::USD;
            proptest::prop_assert_eq!(usd.parse_amount(&usd.format_plain(minor)), Some(minor));
        }
    }
}
