//! `/feed`: a signed-in patron reads the posts of everyone they sponsor,
//! newest first, and makes (or ends) the private address that lets a feed
//! or podcast reader fetch the same posts.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maecenas_services::posts::FeedPage;
use maud::{Markup, html};

use super::guard::{Button, SignedForm, SignedIn};
use super::kit::date;
use super::layout::wide_page;
use super::posts::{card, cursor_text, parse_cursor};
use super::public::PageQuery;
use crate::AppState;
use crate::redirect::see_other;

const HERE: &str = "/feed";

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query
        .and_then(|q| serde_urlencoded::from_str::<PageQuery>(&q).ok())
        .unwrap_or_default();
    let after = query.before.as_deref().and_then(parse_cursor);
    let revoked = query.done.as_deref() == Some("revoked");
    render(&state, &signed, after, None, revoked, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    signed: &SignedIn,
    after: Option<maecenas_services::posts::PostCursor>,
    new_address: Option<&str>,
    revoked: bool,
    status: StatusCode,
) -> Response {
    let services = &state.services;
    let (page, since) = match tokio::try_join!(
        services.patron_feed(signed.user.id, after),
        services.private_feed_since(signed.user.id)
    ) {
        Ok(found) => found,
        Err(err) => return signed.refusal(err),
    };
    let base = state.public_url.trim_end_matches('/');
    let body = html! {
        section.card {
            h1 { "Your feed" }
            p.muted { "The posts of every creator you sponsor, newest first." }
        }
        (posts(&page))
        (reader_address(signed, base, since, new_address, revoked))
    };
    (status, wide_page(Some(&signed.viewer()), "Your feed", body)).into_response()
}

fn posts(page: &FeedPage) -> Markup {
    html! {
        section.card #posts {
            @if page.items.is_empty() {
                p { "Nothing here yet. When a creator you sponsor publishes a post, it appears here." }
                p { a href="/panel" { "Your sponsorships" } }
            }
            @for item in &page.items {
                p.muted style="margin:1rem 0 0" { a href=(format!("/{}", item.creator_username)) { (item.creator_name) } }
                (card(&item.creator_username, &item.currency, &item.card, false))
            }
            @if let Some(next) = page.next {
                p { a href=(format!("{HERE}?before={}#posts", cursor_text(next))) { "Older posts" } }
            }
        }
    }
}

fn reader_address(
    signed: &SignedIn,
    base: &str,
    since: Option<time::OffsetDateTime>,
    new_address: Option<&str>,
    revoked: bool,
) -> Markup {
    html! {
        section.card #reader {
            h2 { "In a feed or podcast reader" }
            p { "A private address gives a feed reader the posts your pledges unlock. Anyone who has it can read them, so keep it to yourself; you can replace it or turn it off here at any time." }
            @if revoked { p.notice role="status" { "Your private feed address no longer works." } }
            @if let Some(secret) = new_address {
                p.notice role="status" { "Your private feed address. Copy it into your reader now: it is shown only once." }
                pre { code data-testid="private-feed" { (base) "/feeds/" (secret) ".atom" } }
            }
            @match since {
                Some(at) if new_address.is_none() => {
                    p { "You made your current address on " (date(at)) "." }
                }
                _ => {}
            }
            form.inline method="post" action="/feed/private#reader" {
                input type="hidden" name="csrf" value=(signed.csrf);
                button type="submit" {
                    @if since.is_some() { "Replace my address" } @else { "Make my private address" }
                }
            }
            @if since.is_some() {
                form.inline method="post" action="/feed/private/revoke#reader" {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    button.secondary type="submit" { "Turn it off" }
                }
            }
        }
    }
}

/// A new private address, shown once on the page this answers with (not a
/// redirect: the secret must not sit in an address bar or a history).
pub async fn make_private(
    State(state): State<AppState>,
    SignedForm { who, .. }: SignedForm<Button>,
) -> Response {
    match state.services.new_private_feed(who.user.id).await {
        Ok(secret) => render(&state, &who, None, Some(&secret), false, StatusCode::OK).await,
        Err(err) => who.refusal(err),
    }
}

pub async fn revoke_private(
    State(state): State<AppState>,
    SignedForm { who, .. }: SignedForm<Button>,
) -> Response {
    match state.services.revoke_private_feed(who.user.id).await {
        Ok(()) => see_other(&format!("{HERE}?done=revoked#reader")),
        Err(err) => who.refusal(err),
    }
}
