//! `/{username}`: a creator's public page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maecenas_services::ServiceError;
use maecenas_services::patreon::CampaignView;
use maud::html;

use super::guard::{Visitor, failure};
use super::kit::{markdown, money};
use super::layout::wide_page;
use crate::AppState;

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(username): Path<String>,
) -> Response {
    let view = match state.services.creator_page(&username).await {
        Ok(view) => view,
        Err(ServiceError::NotFound(_)) => return not_found(&visitor),
        Err(err) => return failure(err),
    };
    let own = visitor.user().is_some_and(|u| u.id == view.creator.id);
    let name = creator_name(&view);
    let body = render(&view, &name, own);
    wide_page(visitor.viewer().as_ref(), &name, body).into_response()
}

fn not_found(visitor: &Visitor) -> Response {
    let body = html! { section.card { h1 { "Not found" } p { "There is no public page at this address." } } };
    (
        StatusCode::NOT_FOUND,
        wide_page(visitor.viewer().as_ref(), "Not found", body),
    )
        .into_response()
}

pub fn creator_name(view: &CampaignView) -> String {
    let full = format!("{} {}", view.creator.first_name, view.creator.last_name);
    let full = full.trim();
    if full.is_empty() {
        view.creator.username.clone().unwrap_or_default()
    } else {
        full.to_owned()
    }
}

fn render(view: &CampaignView, name: &str, own: bool) -> maud::Markup {
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
            div style="display:flex;gap:1rem;align-items:center" {
                img.avatar src=(format!("/v1/profiles/{}/avatar", view.creator.id.get())) alt="";
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
            @if own { p.notice { "This is your page as patrons see it. " a href="/dashboard/campaign" { "Edit it" } "." } }
            @if let Some(summary) = &campaign.summary { div { (markdown(summary)) } }
            @if let Some(video) = &campaign.main_video_url { p { a href=(video) rel="noopener nofollow" { "Watch the video" } } }
            @if !view.creator.about.is_empty() { details { summary { "About " (name) } (markdown(&view.creator.about)) } }
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
                        @if remaining == Some(0) {
                            p { span.badge { "Sold out" } }
                        } @else if !own {
                            a.button href=(format!("/{username}/pledge?tier={}", tier.id.get())) { "Join " (tier.title) }
                        }
                    }
                }
            }
            @if !own {
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
