//! Small pieces the pages share: money and dates as people read them, safe
//! Markdown, errors next to their field, the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use maecenas_domain::Currency;
use maecenas_services::ServiceError;
use maud::{Markup, PreEscaped, html};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

pub use maecenas_services::text::{date, money, month};

/// The decimal a form field shows for an amount, by the currency's
/// convention ("12.50", "12,50").
pub fn plain_amount(minor: i64, currency: &str) -> String {
    currency
        .parse::<Currency>()
        .map(|c| c.format_plain(minor))
        .unwrap_or_else(|_| minor.to_string())
}

pub use maecenas_services::billing::typed::parse_amount;

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

pub use maecenas_services::text::excerpt;

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
            html! { p.field-error role="alert" { (sentence(reason)) } }
        }
        _ => html! {},
    }
}

/// A reason as a sentence: a capital first, a full stop last.
fn sentence(reason: &str) -> String {
    let reason = reason.trim();
    let mut chars = reason.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut text: String = first.to_uppercase().chain(chars).collect();
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// A refusal of `field` as one sentence for the top of a form. A reason
/// that names its subject stands alone; one that does not ("must be an
/// https address") gets the field's name in front.
pub fn refusal_sentence(field: &str, reason: &str) -> String {
    if reason.starts_with(|c: char| c.is_lowercase()) {
        sentence(&format!("{} {reason}", subject(field)))
    } else {
        sentence(reason)
    }
}

/// What a field is called in a sentence about it, when the reason is
/// shown above the form rather than under the field's input.
fn subject(field: &str) -> String {
    let known = [
        ("uri", "The address"),
        ("triggers", "The events"),
        ("campaign", "The campaign"),
        ("tier", "The tier"),
        ("image_url", "The cover image address"),
        ("image_small_url", "The small image address"),
        ("thanks_video_url", "The thank-you video address"),
        ("main_video_url", "The video address"),
        ("redirect_uri", "The redirect address"),
        ("redirect_uris", "The redirect addresses"),
        ("form", "The form"),
        ("account", "This account"),
    ];
    match known.iter().find(|(name, _)| *name == field) {
        Some((_, label)) => (*label).to_owned(),
        None => format!("The {}", field.replace('_', " ")),
    }
}

/// A refusal that belongs to no field of the form, shown above it.
pub fn form_error(error: Option<&ServiceError>, fields: &[&str]) -> Markup {
    let message = match error {
        None => return html! {},
        Some(ServiceError::Invalid { field, .. }) if fields.contains(field) => return html! {},
        Some(ServiceError::Invalid { field, reason }) => refusal_sentence(field, reason),
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

/// What a change that redirected to a page did (`?done=saved`), so that the
/// page can say so (POST, redirect, GET: see docs/ARCHITECTURE.md).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

impl Done {
    pub fn key(&self) -> &str {
        &self.done
    }

    /// The page's sentence for what was done, from its table of `(key, notice)`.
    pub fn notice(&self, notices: &[(&str, &'static str)]) -> Option<&'static str> {
        notices
            .iter()
            .find(|(key, _)| *key == self.done)
            .map(|(_, notice)| *notice)
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
    fn an_excerpt_is_plain_text_cut_at_a_word() {
        assert_eq!(excerpt("Short **and** sweet.", 100), "Short and sweet.");
        assert_eq!(excerpt("In *Lanterns*, rain.", 100), "In Lanterns, rain.");
        assert_eq!(
            excerpt("# Title\n\nOne two three four five six", 20),
            "Title One two three…"
        );
        assert_eq!(
            excerpt("<b>raw</b> [link](https://x.test)", 100),
            "<b>raw</b> link"
        );
        assert_eq!(excerpt("ééééé", 3), "ééé…");
    }

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
