//! Text as messages and pages show it.

use pulldown_cmark::{Event, Parser, TagEnd};

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
