//! `/{username}`: a creator's public page with their posts, and each post's
//! page and pictures (`/{username}/posts/{id}`).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maecenas_domain::{CreationId, PostImageId};
use maecenas_services::ServiceError;
use maecenas_services::patreon::CampaignView;
use maecenas_services::posts::PostList;
use maecenas_services::records::PledgeRow;
use maud::html;

use super::guard::{Visitor, failure};
use super::kit::{markdown, money};
use super::layout::wide_page;
use crate::AppState;
use crate::stored_image::Caching;

#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    /// Where the page of posts starts (`older` links carry it).
    #[serde(default)]
    pub before: Option<String>,
    /// What a change that redirected here did.
    #[serde(default)]
    pub done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(username): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    // A query or cursor that does not read is the first page, not an error.
    let after = query
        .and_then(|q| serde_urlencoded::from_str::<PageQuery>(&q).ok())
        .and_then(|q| q.before)
        .and_then(|c| super::posts::parse_cursor(&c));
    let reader = visitor.user().map(|u| u.id);
    let list = match state
        .services
        .posts_of_creator(&username, reader, after)
        .await
    {
        Ok(list) => list,
        Err(ServiceError::NotFound(_)) => return not_found(&visitor),
        Err(err) => return failure(err),
    };
    let name = creator_name(&list.view);
    let body = html! {
        (render(&list.view, &name, list.own, list.your_pledge.as_ref()))
        (posts(&list))
    };
    wide_page(visitor.viewer().as_ref(), &name, body).into_response()
}

fn posts(list: &PostList) -> maud::Markup {
    let username = list.view.creator.username.clone().unwrap_or_default();
    let currency = list.view.campaign.currency.as_str();
    html! {
        section.card #posts {
            h2 { "Posts" }
            @if list.posts.is_empty() {
                p.muted { "No posts yet." }
            }
            @for card in &list.posts {
                (super::posts::card(&username, currency, card, false))
            }
            @if let Some(next) = list.next {
                p { a href=(format!("/{username}?before={}#posts", super::posts::cursor_text(next))) { "Older posts" } }
            }
        }
    }
}

fn not_found(visitor: &Visitor) -> Response {
    let body = html! { section.card { h1 { "Not found" } p { "There is no public page at this address." } } };
    (
        StatusCode::NOT_FOUND,
        wide_page(visitor.viewer().as_ref(), "Not found", body),
    )
        .into_response()
}

/// The name at the top of the page, in its title and its feed: the page's
/// own name if the creator gave one, else theirs.
pub fn creator_name(view: &CampaignView) -> String {
    view.campaign
        .page_name
        .clone()
        .unwrap_or_else(|| view.creator.public_name())
}

fn render(
    view: &CampaignView,
    name: &str,
    own: bool,
    your_pledge: Option<&PledgeRow>,
) -> maud::Markup {
    let campaign = &view.campaign;
    let currency = campaign.currency.as_str();
    let username = view.creator.username.clone().unwrap_or_default();
    let per = campaign.pay_per_name.clone().unwrap_or_else(|| {
        if campaign.is_monthly {
            "month".into()
        } else {
            "creation".into()
        }
    });
    let pledged = view.totals.pledge_sum_minor;
    html! {
        section.card {
            @if let Some(cover) = &campaign.image_url {
                img.cover src=(cover) alt="" data-testid="cover";
            }
            div style="display:flex;gap:1rem;align-items:center" {
                img.avatar src=(super::avatars::url(view.creator.id)) alt="";
                div {
                    h1 style="margin:0" { (name) }
                    @if let Some(line) = &campaign.one_liner { p style="margin:.2rem 0" { (line) } }
                    @if let Some(creation) = &campaign.creation_name { p.muted style="margin:0" { "Creating " (creation) } }
                }
            }
            @if campaign.is_nsfw { p { span.badge.bad { "Adult content" } } }
            div.stats style="margin-top:1rem" {
                div.stat { b data-testid="patron-count" { (view.totals.patron_count) } "patrons" }
                @if campaign.show_earnings {
                    div.stat { b data-testid="monthly-total" { (money(pledged, currency)) } "per " (per) }
                }
            }
            @if own && campaign.published_at.is_none() {
                p.notice data-testid="preview" { "A preview: your page is not published yet, so only you can see it. " a href="/dashboard/campaign" { "Edit or publish it" } "." }
            } @else if own {
                p.notice { "This is your page as patrons see it. " a href="/dashboard/campaign" { "Edit it" } "." }
            }
            @if let Some(summary) = &campaign.summary { div { (markdown(summary)) } }
            @if let Some(video) = &campaign.main_video_url { p { a href=(video) rel="noopener nofollow" { "Watch the video" } } }
            @if !view.creator.about.is_empty() { details { summary { "About " (view.creator.public_name()) } (markdown(&view.creator.about)) } }
            p {
                @for (label, link) in [("YouTube", &view.creator.youtube), ("Twitter", &view.creator.twitter), ("Facebook", &view.creator.facebook)] {
                    @if let Some(link) = link { a href=(link) rel="noopener nofollow me" { (label) } " " }
                }
            }
        }
        section.card {
            h2 { "Tiers" }
            div.tiers {
                @for tier in view.tiers.iter().filter(|t| t.retired_at.is_none()) {
                    @let taken = view.tier_patrons.iter().find(|(id, _)| *id == tier.id.get()).map_or(0, |(_, n)| *n);
                    @let remaining = tier.patron_limit.map(|limit| (i64::from(limit) - taken).max(0));
                    div.tier {
                        h3 style="margin-top:0" { (tier.title) }
                        p.price { (money(tier.amount_minor, currency)) span.muted { " / " (per) } }
                        @if !tier.description.is_empty() { div { (markdown(&tier.description)) } }
                        @if let Some(remaining) = remaining {
                            p.muted { (remaining) " of " (tier.patron_limit.unwrap_or_default()) " left" }
                        }
                        @if your_pledge.is_some_and(|p| p.tier_id == Some(tier.id.get())) {
                            p { span.badge.good data-testid="your-tier" { "Your tier" } }
                            a.button.secondary href="/panel" { "Change my pledge" }
                        } @else if remaining == Some(0) {
                            p { span.badge { "Sold out" } }
                        } @else if your_pledge.is_some() {
                            // A patron changes tier on their pledge, not with a second one.
                            a.button.secondary href="/panel" { "Switch to " (tier.title) }
                        } @else if !own {
                            a.button href=(format!("/{username}/pledge?tier={}", tier.id.get())) { "Join " (tier.title) }
                        }
                    }
                }
            }
            @if let Some(pledge) = your_pledge {
                p data-testid="your-pledge" {
                    "You sponsor " (name) ": " (money(pledge.amount_minor, currency)) " per " (per)
                    @if pledge.cancelled_at.is_some() { " (cancelled, until the end of the month you paid for)" }
                    ". " a href="/panel" { "Manage it" } " · " a href=(format!("/{username}/donate")) { "Give once" }
                }
            } @else if !own {
                p { a href=(format!("/{username}/pledge")) { "Pledge a custom amount" } " · " a href=(format!("/{username}/donate")) { "Give once" } }
            }
        }
        @if !view.goals.is_empty() {
            section.card {
                h2 { "Goals" }
                @for goal in &view.goals {
                    @let percent = (pledged.max(0) * 100 / goal.amount_minor.max(1)).min(100);
                    div {
                        p { b { (goal.title) } " — " (money(goal.amount_minor, currency)) " per " (per) }
                        div.progress role="progressbar" aria-label=(goal.title) aria-valuenow=(percent) aria-valuemin="0" aria-valuemax="100" { span style=(format!("width:{percent}%")) {} }
                        p.muted { (percent) "% reached" }
                        @if !goal.description.is_empty() { p { (goal.description) } }
                    }
                }
            }
        }
    }
}

/// `/{username}/posts/{id}`: one post.
pub async fn post(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((username, id)): Path<(String, String)>,
) -> Response {
    let Ok(id) = id.parse::<CreationId>() else {
        return not_found(&visitor);
    };
    let reader = visitor.user().map(|u| u.id);
    let page = match state.services.post_page(&username, id, reader).await {
        Ok(page) => page,
        Err(ServiceError::NotFound(_)) => return not_found(&visitor),
        Err(err) => return failure(err),
    };
    let name = creator_name(&page.view);
    let currency = page.view.campaign.currency.as_str();
    let body = html! {
        section.card {
            p.muted style="margin:0" {
                a href=(format!("/{username}")) { (name) }
            }
            (super::posts::card(&username, currency, &page.card, true))
            @if page.own && page.card.post.published_at.is_none() {
                p.notice role="status" {
                    "This is a draft: only you can see it. "
                    a href=(format!("/dashboard/posts/{}", page.card.post.id)) { "Back to the editor" }
                }
            }
        }
    };
    wide_page(visitor.viewer().as_ref(), &page.card.post.title, body).into_response()
}

/// A post's picture, only for a reader of its post (anyone else: 404).
pub async fn post_image(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((username, post, image)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let (Ok(post), Ok(image)) = (post.parse::<CreationId>(), image.parse::<PostImageId>()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let reader = visitor.user().map(|u| u.id);
    let image = match state
        .services
        .post_image(&username, post, image, reader)
        .await
    {
        Ok(image) => image,
        Err(ServiceError::NotFound(_)) => return StatusCode::NOT_FOUND.into_response(),
        Err(err) => return failure(err),
    };
    crate::stored_image::response(
        &headers,
        image.meta.content_type,
        &image.meta.etag,
        image.bytes,
        Caching::Private,
    )
}
