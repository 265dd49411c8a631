//! Small pieces the pages share: money and dates as people read them, safe
//! Markdown, errors next to their field, the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use maecenas_domain::Currency;
use maecenas_services::ServiceError;
use maud::{Markup, PreEscaped, html};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use time::OffsetDateTime;

/// "12.50 USD" (or the raw minor units if the currency is unknown).
pub fn money(minor: i64, currency: &str) -> String {
    match currency.parse::<Currency>() {
        Ok(c) => maecenas_domain::Money::new(minor, c).to_string(),
        Err(_) => format!("{minor} {currency} (minor units)"),
    }
}

/// The decimal a form field shows for an amount ("12.50").
pub fn plain_amount(minor: i64, currency: &str) -> String {
    currency
        .parse::<Currency>()
        .map(|c| c.format_plain(minor))
        .unwrap_or_else(|_| minor.to_string())
}

pub use maecenas_services::billing::typed::parse_amount;

pub fn date(at: OffsetDateTime) -> String {
    format!("{} {} {}", at.day(), at.month(), at.year())
}

/// Markdown a person wrote, as HTML that cannot run script: raw HTML is shown
/// as text, and links and images keep only http(s) and mailto addresses.
pub fn markdown(text: &str) -> Markup {
    let parser = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).map(
        |event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: if safe_url(&dest_url) {
                    dest_url
                } else {
                    "#".into()
                },
                title,
                id,
            }),
            // Images would load from anywhere: shown as their text instead.
            Event::Start(Tag::Image { dest_url, .. }) => Event::Text(dest_url),
            Event::End(TagEnd::Image) => Event::Text("".into()),
            other => other,
        },
    );
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, parser);
    PreEscaped(out)
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        // A path on this site (not `//host`, which is another site).
        || (lower.starts_with('/') && !lower.starts_with("//") && !lower.starts_with("/\\"))
}

/// The message for one field of a refused form, shown under its input.
pub fn field_error(error: Option<&ServiceError>, field: &str) -> Markup {
    match error {
        Some(ServiceError::Invalid { field: f, reason }) if *f == field => {
            html! { p.field-error role="alert" { (reason) } }
        }
        _ => html! {},
    }
}

/// A refusal that belongs to no field of the form, shown above it.
pub fn form_error(error: Option<&ServiceError>, fields: &[&str]) -> Markup {
    let message = match error {
        None => return html! {},
        Some(ServiceError::Invalid { field, .. }) if fields.contains(field) => return html! {},
        Some(ServiceError::Invalid { field, reason }) => {
            format!("{}: {reason}", field.replace('_', " "))
        }
        Some(ServiceError::Internal(inner)) => {
            tracing::error!(error = ?inner, "form failed");
            "Something went wrong. Please try again.".to_owned()
        }
        Some(other) => capitalise(&other.to_string()),
    };
    html! { p.error role="alert" { (message) } }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// The address the request came from (the TCP peer).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// An optional text field: blank is `None`.
pub fn optional(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_never_carries_script() {
        let html = markdown(
            "<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](//evil.example) [z](/docs) ![i](https://e.x/i.png) **ok**",
        )
        .0;
        assert!(html.contains("href=\"/docs\""), "{html}");
        assert!(!html.contains("evil.example\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("<strong>ok</strong>"), "{html}");
    }
}
