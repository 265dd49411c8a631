//! A post as its reader may see it, in a list or on its own page. Who may
//! read what is decided by the posts use cases; this only shows what they
//! answer. The pages that show posts are in `public`.

use maecenas_services::posts::{PostCard, PostCursor, Unlock};
use maud::{Markup, html};

use super::kit::{date, excerpt, markdown, money};

/// A post as its reader may see it: in full, or its title, date and what
/// would unlock it. `full`: on its own page (else in a list, linked).
pub fn card(username: &str, currency: &str, card: &PostCard, full: bool) -> Markup {
    let post = &card.post;
    let href = format!("/{username}/posts/{}", post.id);
    html! {
        article.post data-testid="post" {
            @if full {
                h1 style="margin:.2rem 0" { (post.title) }
            } @else {
                h3 style="margin:.2rem 0" { a href=(href) { (post.title) } }
            }
            p.muted style="margin:0" {
                @if let Some(at) = post.published_at { (date(at)) } @else { span.badge { "Draft" } }
                @match &card.unlock {
                    None => {}
                    Some(Unlock::Patrons) => { " · " span.badge { "Patrons only" } }
                    Some(Unlock::Tier { title, .. }) => { " · " span.badge { (title) " and up" } }
                }
                @if post.is_paid { " · " span.badge { "Paid post" } }
            }
            @if card.readable {
                @if full {
                    div { (markdown(&post.body)) }
                    @for image in &card.images {
                        img src=(format!("{href}/images/{}", image.id)) alt=""
                            width=(image.width) height=(image.height)
                            style="max-width:100%;height:auto;border-radius:6px;margin:.5rem 0";
                    }
                    @if let Some(link) = &post.embed_url {
                        p { a href=(link) rel="noopener nofollow" { "Open the linked media" } }
                    }
                } @else {
                    p style="margin:.3rem 0" { (excerpt(&post.body, 280)) }
                    p style="margin:.3rem 0" { a href=(href) { "Read the post" } }
                }
            } @else {
                (locked(username, currency, card))
            }
        }
    }
}

fn locked(username: &str, currency: &str, card: &PostCard) -> Markup {
    html! {
        div.locked data-testid="locked" {
            @match &card.unlock {
                Some(Unlock::Tier { title, amount_minor, .. }) if card.reader_pledges => {
                    p { "This post is for " b { (title) } " (" (money(*amount_minor, currency)) " or more). Raise your pledge to read it: the new amount applies from your next payment." }
                    a.button href="/panel" { "Change my pledge" }
                }
                Some(Unlock::Tier { title, amount_minor, id }) => {
                    p { "Join " b { (title) } " (" (money(*amount_minor, currency)) " or more) to unlock this post." }
                    a.button href=(format!("/{username}/pledge?tier={id}")) { "Join " (title) }
                }
                _ => {
                    p { "Become a patron to unlock this post." }
                    a.button href=(format!("/{username}/pledge")) { "Become a patron" }
                }
            }
        }
    }
}

/// A page cursor in a URL: the publication time in microseconds and the id.
pub fn cursor_text(cursor: PostCursor) -> String {
    format!(
        "{}_{}",
        cursor.published_at.unix_timestamp_nanos() / 1000,
        cursor.id
    )
}

pub fn parse_cursor(text: &str) -> Option<PostCursor> {
    let (micros, id) = text.split_once('_')?;
    let micros: i128 = micros.parse().ok()?;
    let published_at =
        time::OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000)?).ok()?;
    Some(PostCursor {
        published_at,
        id: id.parse().ok()?,
    })
}
