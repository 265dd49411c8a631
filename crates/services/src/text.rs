//! Text as messages and pages show it: money, months and dates as people
//! read them, and a plain excerpt of Markdown.

use maecenas_domain::{BillingPeriod, Currency, Money};
use pulldown_cmark::{Event, Parser, TagEnd};
use time::OffsetDateTime;

/// Money as people read it in its currency: `$12.50`, `12,50 €`. (A code we
/// do not know, which the store never holds, is shown after the number.)
pub fn money(minor: i64, currency: &str) -> String {
    match currency.parse::<Currency>() {
        Ok(c) => Money::new(minor, c).to_string(),
        Err(_) => format!("{minor} {currency}"),
    }
}

/// A billing period ("2026-12") as people say it: "December 2026".
pub fn month(period: BillingPeriod) -> String {
    format!("{} {}", period.month(), period.year())
}

/// A day as people write it: "4 December 2026".
pub fn date(at: OffsetDateTime) -> String {
    format!("{} {} {}", at.day(), at.month(), at.year())
}

/// The start of what Markdown says, as plain text of at most about `chars`
/// characters, cut at a word and marked with "…" when there is more.
pub fn excerpt(text: &str, chars: usize) -> String {
    let mut plain = String::new();
    for event in Parser::new(text) {
        match event {
            // Raw HTML is shown as text, as `markdown` shows it.
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                plain.push_str(&t)
            }
            // Between blocks and lines a space; inline ends (emphasis, links) none.
            Event::End(
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Link
                | TagEnd::Image,
            ) => {}
            Event::SoftBreak | Event::HardBreak | Event::End(_) if !plain.ends_with(' ') => {
                plain.push(' ')
            }
            _ => {}
        }
        if plain.chars().count() > chars {
            break;
        }
    }
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain.chars().count() <= chars {
        return plain;
    }
    let cut: String = plain.chars().take(chars).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > chars / 2 => &cut[..space],
        _ => &cut,
    };
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}
