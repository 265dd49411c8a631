//! Money: integer minor units plus an ISO 4217 currency. Never a float.
//!
//! Amounts travel as `i64` minor units beside their currency code (as they
//! are stored and as every API dialect sends them); the fee and total
//! arithmetic is integer arithmetic in `billing.rs`, checked by its property
//! tests. What this module adds is what integers cannot say alone: which
//! currencies exist, how many minor digits each has (ISO 4217, from
//! `iso_currency`), how a person types an amount and how one is shown, by
//! the currency's own convention (from `rusty-money`): `$12.50`, `12,50 €`,
//! `¥500`, `12,50 kr`.

use std::fmt;
use std::str::FromStr;

use rusty_money::{Formatter, LocalFormat, Params, Position};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
}

/// Why a typed amount was refused; each says what to type instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("Enter an amount, like {example}.")]
    Empty { example: String },
    #[error("Enter the amount as a number, like {example}.")]
    NotANumber { example: String },
    #[error("{code} amounts have no decimals: enter a whole number, like {example}.")]
    NoDecimals { code: &'static str, example: String },
    #[error("{code} amounts have at most {digits} decimals, like {example}.")]
    TooManyDecimals {
        code: &'static str,
        digits: u32,
        example: String,
    },
    #[error(
        "\"{typed}\" could mean {whole} or {fraction}: enter it as {whole_plain} or {fraction_plain}."
    )]
    Ambiguous {
        typed: String,
        whole: String,
        fraction: String,
        whole_plain: String,
        fraction_plain: String,
    },
    #[error("That is more than {limit}, the largest amount accepted.")]
    TooLarge { limit: String },
}

/// The largest amount a person may type, in whole units.
const MAX_WHOLE_UNITS: i64 = 1_000_000_000;

/// How a currency is written: from `rusty-money`'s table, or for the few
/// ISO currencies it lacks, the code after the amount with a decimal point.
struct Style {
    symbol: &'static str,
    symbol_first: bool,
    decimal: char,
    grouping: char,
    pattern: Vec<usize>,
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

    fn style(&self) -> Style {
        match rusty_money::iso::find(self.code()) {
            Some(found) => {
                let local = LocalFormat::from_locale(found.locale);
                Style {
                    symbol: found.symbol,
                    // rusty-money writes the euro as in Ireland (`€3,00`);
                    // most of the euro area, and our readers, write `3,00 €`.
                    symbol_first: found.symbol_first && found.iso_alpha_code != "EUR",
                    decimal: local.exponent_separator,
                    grouping: local.digit_separator,
                    pattern: local.digit_separator_pattern(),
                }
            }
            None => Style {
                symbol: self.code(),
                symbol_first: false,
                decimal: '.',
                grouping: ',',
                pattern: vec![3, 3, 3],
            },
        }
    }

    /// The mark between units and decimals: `.` for USD, `,` for EUR.
    pub fn decimal_mark(&self) -> char {
        self.style().decimal
    }

    /// An amount as a person types it, in minor units, read by the
    /// currency's convention: `1,50` and `1.50` are one and a half euros,
    /// `1.500` is fifteen hundred euros and `1,500` fifteen hundred dollars,
    /// `1.234,50` and `1,234.50` both mean what they say. The currency's
    /// symbol or code around it is ignored. Refused: what is not a number,
    /// negative amounts, more decimals than the currency has, more than a
    /// billion units, and what could be read two ways (`1,500` in a
    /// currency with three decimals).
    pub fn parse_amount(&self, text: &str) -> Result<i64, AmountError> {
        let style = self.style();
        let digits = self.minor_digits();
        let example = self.format_plain(500 * 10i64.pow(digits) / 100);
        let not_a_number = || AmountError::NotANumber {
            example: example.clone(),
        };
        let mut typed = text.trim();
        for affix in [style.symbol, self.code()] {
            if let Some(rest) = typed
                .strip_prefix(affix)
                .or_else(|| typed.strip_suffix(affix))
            {
                typed = rest.trim();
            }
        }
        // Spaces (also no-break and thin ones) and apostrophes only group digits.
        let cleaned: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '’')
            .collect();
        if cleaned.is_empty() {
            return Err(AmountError::Empty { example });
        }
        if !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        {
            return Err(not_a_number());
        }
        let last_mark = cleaned.rfind(['.', ',']);
        let (whole, fraction) = match last_mark {
            None => (cleaned.as_str(), None),
            Some(at) => {
                let mark = cleaned[at..].chars().next().unwrap_or('.');
                let (before, after) = (&cleaned[..at], &cleaned[at + 1..]);
                let marks_of_kind = cleaned.matches(mark).count();
                let other_marks = cleaned.matches(['.', ',']).count() - marks_of_kind;
                if marks_of_kind > 1 {
                    // Repeated, it can only group: 1.234.567 or 1,234,567.
                    if other_marks > 0 || !grouped(&cleaned, mark) {
                        return Err(not_a_number());
                    }
                    (cleaned.as_str(), None)
                } else if other_marks > 0 {
                    // Both marks: the last is the decimal one, the others group.
                    let other = if mark == '.' { ',' } else { '.' };
                    if !grouped(before, other) {
                        return Err(not_a_number());
                    }
                    (before, Some(after))
                } else if mark == style.decimal || after.len() != 3 {
                    (before, Some(after))
                } else if digits < 3 {
                    // The grouping mark before three digits, where three
                    // decimals cannot be meant: it groups.
                    if before.is_empty() {
                        return Err(not_a_number());
                    }
                    (cleaned.as_str(), None)
                } else {
                    let as_whole = digits_of(&format!("{before}{after}"))
                        .filter(|w| *w <= MAX_WHOLE_UNITS)
                        .ok_or_else(not_a_number)?;
                    let as_fraction = digits_of(before).unwrap_or(0) * 10i64.pow(digits)
                        + digits_of(after).unwrap_or(0) * 10i64.pow(digits - 3);
                    let unit = 10i64.pow(digits);
                    return Err(AmountError::Ambiguous {
                        typed: typed.to_owned(),
                        whole: Money::new(as_whole * unit, *self).to_string(),
                        fraction: Money::new(as_fraction, *self).to_string(),
                        whole_plain: self.format_plain(as_whole * unit),
                        fraction_plain: self.format_plain(as_fraction),
                    });
                }
            }
        };
        let whole_text: String = whole.chars().filter(char::is_ascii_digit).collect();
        let fraction = fraction.unwrap_or("");
        if whole_text.is_empty() && fraction.is_empty() {
            return Err(not_a_number());
        }
        if fraction.len() > digits as usize {
            return Err(if digits == 0 {
                AmountError::NoDecimals {
                    code: self.code(),
                    example,
                }
            } else {
                AmountError::TooManyDecimals {
                    code: self.code(),
                    digits,
                    example,
                }
            });
        }
        let too_large = || AmountError::TooLarge {
            limit: Money::new(MAX_WHOLE_UNITS * 10i64.pow(digits), *self).to_string(),
        };
        let whole_units = if whole_text.is_empty() {
            0
        } else if whole_text.len() > 10 {
            return Err(too_large());
        } else {
            digits_of(&whole_text).ok_or_else(not_a_number)?
        };
        if whole_units > MAX_WHOLE_UNITS {
            return Err(too_large());
        }
        let padded = format!("{fraction:0<width$}", width = digits as usize);
        let fraction_units = if padded.is_empty() {
            0
        } else {
            digits_of(&padded).ok_or_else(not_a_number)?
        };
        Ok(whole_units * 10i64.pow(digits) + fraction_units)
    }

    /// The amount as a form field shows it, by the currency's convention
    /// and without grouping: `12.50` in dollars, `12,50` in euros, `500` in yen.
    pub fn format_plain(&self, minor: i64) -> String {
        let plain = self.format_point(minor);
        let decimal = self.decimal_mark();
        if decimal == '.' {
            plain
        } else {
            plain.replace('.', &decimal.to_string())
        }
    }

    /// Minor units as a decimal with a point ("12.50"), as machines read it.
    pub fn format_point(&self, minor: i64) -> String {
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

/// Whether `text` is digits grouped between `mark`s: one to three first,
/// three last, and two or three between (`1,234,567`, or `12,34,567` as
/// rupees are grouped).
fn grouped(text: &str, mark: char) -> bool {
    let groups: Vec<&str> = text.split(mark).collect();
    let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    let (first, last) = (groups[0], groups[groups.len() - 1]);
    groups.iter().all(|g| digits(g))
        && (1..=3).contains(&first.len())
        && (groups.len() == 1 || last.len() == 3)
        && groups[1..groups.len().saturating_sub(1)]
            .iter()
            .all(|g| (2..=3).contains(&g.len()))
}

fn digits_of(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// As people read it, by the currency's convention: `$12.50`, `-0,05 €`,
/// `¥500`, `1.234,50 kr`. Exact: the decimal is written from the integer.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let style = self.currency.style();
        // A symbol in letters (kr, Fr) reads apart from the digits.
        let spaced = style.symbol.chars().any(char::is_alphabetic);
        let positions = match (style.symbol_first, spaced) {
            (true, false) => vec![Position::Sign, Position::Symbol, Position::Amount],
            (true, true) => vec![
                Position::Sign,
                Position::Symbol,
                Position::Space,
                Position::Amount,
            ],
            (false, _) => vec![
                Position::Sign,
                Position::Amount,
                Position::Space,
                Position::Symbol,
            ],
        };
        let digits = self.currency.minor_digits();
        let amount = rust_decimal::Decimal::from_i128_with_scale(i128::from(self.minor), digits);
        // The formatter reads only the amount and its sign from the money it
        // is given; how to write it is all in `params`.
        let carrier = rusty_money::iso::find(self.currency.code()).unwrap_or(rusty_money::iso::USD);
        let money = rusty_money::Money::from_decimal(amount, carrier);
        let params = Params {
            digit_separator: style.grouping,
            exponent_separator: style.decimal,
            separator_pattern: style.pattern,
            rounding: None,
            symbol: Some(style.symbol),
            code: Some(self.currency.code()),
            positions,
        };
        f.write_str(&Formatter::money(&money, params))
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

    fn currency(code: &str) -> Currency {
        code.parse().unwrap()
    }

    #[test]
    fn money_is_written_by_the_currencys_convention() {
        let cases = [
            (1250, "USD", "$12.50"),
            (-5, "EUR", "-0,05 €"),
            (123_456_789, "EUR", "1.234.567,89 €"),
            (500, "JPY", "¥500"),
            (250_000, "SEK", "2 500,00 kr"),
            (100_000, "CHF", "Fr 1,000.00"),
            (1500, "KWD", "د.ك 1.500"),
            (1_000_000, "GBP", "£10,000.00"),
        ];
        for (minor, code, written) in cases {
            assert_eq!(Money::new(minor, currency(code)).to_string(), written);
        }
        assert_eq!(
            Money::new(i64::MIN, Currency::USD).to_string(),
            "-$92233720,368,547,758.08",
            "exact even at the edge (only three groups are marked)"
        );
    }

    #[test]
    fn amounts_are_read_as_people_type_them_in_their_currency() {
        let usd = Currency::USD;
        let eur = Currency::EUR;
        let kwd = currency("KWD");
        let jpy = currency("JPY");
        let ok = [
            (usd, "5", 500),
            (usd, "5.5", 550),
            (usd, " 1,234.05 ", 123_405),
            (usd, ".25", 25),
            (usd, "$3", 300),
            (usd, "1,500", 150_000),
            (usd, "1,50", 150),
            (eur, "1,50", 150),
            (eur, "1.50", 150),
            (eur, "1.500", 150_000),
            (eur, "1.234,50", 123_450),
            (eur, "1,234.50", 123_450),
            (eur, "3,50 €", 350),
            (eur, "EUR 12", 1200),
            (eur, "1 234,50", 123_450),
            (currency("CHF"), "1'234.50", 123_450),
            (jpy, "1,500", 1500),
            (jpy, "¥500", 500),
            (kwd, "1.500", 1500),
        ];
        for (c, typed, minor) in ok {
            assert_eq!(c.parse_amount(typed), Ok(minor), "{typed:?} in {c}");
        }
        let refused = [
            (usd, ""),
            (usd, "."),
            (usd, "-5"),
            (usd, "5.123"),
            (usd, "abc"),
            (usd, "1e3"),
            (usd, "99999999999"),
            (usd, "1,2,3"),
            (usd, "1.234,5.6"),
            (eur, ",500"),
            (jpy, "5.5"),
        ];
        for (c, typed) in refused {
            assert!(c.parse_amount(typed).is_err(), "{typed:?} in {c}");
        }
        assert_eq!(
            kwd.parse_amount("1,500").unwrap_err().to_string(),
            "\"1,500\" could mean د.ك 1,500.000 or د.ك 1.500: enter it as 1500.000 or 1.500."
        );
        assert_eq!(
            jpy.parse_amount("5.5").unwrap_err().to_string(),
            "JPY amounts have no decimals: enter a whole number, like 5."
        );
        assert_eq!(
            eur.parse_amount("1,505").unwrap_err().to_string(),
            "EUR amounts have at most 2 decimals, like 5,00."
        );
        assert_eq!(
            usd.parse_amount("lots").unwrap_err().to_string(),
            "Enter the amount as a number, like 5.00."
        );
    }

    proptest::proptest! {
        /// In every currency a campaign may use, what a form shows and what
        /// a page shows both read back as the same amount.
        #[test]
        fn what_is_shown_reads_back_as_the_same_amount(
            code in proptest::sample::select(vec!["USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "JPY", "KWD", "INR", "BRL", "PLN"]),
            whole in 0i64..=1_000_000_000,
            fraction in 0i64..1000,
        ) {
            let c = currency(code);
            let unit = 10i64.pow(c.minor_digits());
            let minor = whole * unit + fraction % unit;
            proptest::prop_assert_eq!(c.parse_amount(&c.format_plain(minor)), Ok(minor));
            proptest::prop_assert_eq!(c.parse_amount(&Money::new(minor, c).to_string()), Ok(minor));
        }

        /// Nothing typed makes the reader panic or accept a negative amount.
        #[test]
        fn anything_typed_is_read_or_refused(typed in "[0-9.,' €$a-z-]{0,16}") {
            for code in ["USD", "EUR", "JPY", "KWD"] {
                if let Ok(minor) = currency(code).parse_amount(&typed) {
                    proptest::prop_assert!(minor >= 0);
                }
            }
        }
    }
}
