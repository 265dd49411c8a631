//! `GET /`: the home page, with the directory of published creators (search
//! by name, keyset paging), "how it works" for visitors, and a signed-in
//! person's own places.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maecenas_domain::CampaignId;
use maecenas_services::creators::DirectoryPage;
use maecenas_services::records::DirectoryEntry;
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::Visitor;
use super::kit::form_error;
use super::layout::{Viewer, wide_page};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct DirectoryQuery {
    #[serde(default)]
    q: String,
    /// Where the page starts: the last campaign id of the previous one. An
    /// address that is not one starts at the beginning.
    before: Option<String>,
}

pub async fn home(
    State(state): State<AppState>,
    Visitor(signed): Visitor,
    // An address whose query does not read as one shows everyone.
    query: Result<Query<DirectoryQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let before = query
        .before
        .as_deref()
        .and_then(|b| b.parse::<i64>().ok())
        .map(CampaignId::from);
    let directory = state.services.creator_directory(&query.q, before).await;
    let viewer = signed.as_ref().map(|s| s.viewer());
    let body = html! {
        @match viewer.as_ref() {
            Some(viewer) => (own_places(viewer)),
            None => (how_it_works()),
        }
        section.card #creators {
            h2 { "Creators" }
            form.search method="get" action="/" role="search" {
                label.visually-hidden for="q" { "Search creators" }
                input #q type="search" name="q" value=(query.q) placeholder="Search by name or by what they make";
                button type="submit" { "Search" }
            }
            @match &directory {
                Ok(found) => (listing(found, &query.q)),
                Err(error) => (form_error(Some(error), &[])),
            }
        }
    };
    wide_page(viewer.as_ref(), "Maecenas", body).into_response()
}

fn how_it_works() -> Markup {
    html! {
        section.card {
            h1 { "Maecenas" }
            p { "Sponsor the people whose work you love, monthly or per creation, or give once." }
            ol {
                li { b { "Find a creator" } " below and choose a tier: what it costs and what it unlocks are on their page." }
                li { b { "Pledge" } " with a card. You see the exact total, fees included, before you pay; cancel whenever you like." }
                li { b { "Read what they publish" } " for your tier, on the web or in your own feed reader. Maecenas charges automatically and pays the creator out every month." }
            }
            p { a.button href="/signup" { "Create an account" } " " a.button.secondary href="/login" { "Log in" } }
            p.muted { "Creators: make an account, tick \"I am a creator\", and your page is a few minutes away." }
        }
    }
}

fn own_places(viewer: &Viewer<'_>) -> Markup {
    let user = viewer.user;
    html! {
        section.card {
            h1 { "Welcome, " (user.public_name()) }
            p.muted { "Logged in as " (user.email) "." }
            ul {
                @if user.is_creator {
                    li { a href="/dashboard" { "Your dashboard" } ": patrons, income, balance" }
                    li { a href="/dashboard/campaign" { "Your campaign" } ": page, tiers, goals, publishing" }
                    li { a href="/dashboard/posts" { "Your posts" } ": write, publish, choose who reads them" }
                }
                li { a href="/panel" { "My sponsorships" } ": pledges, card, history" }
                li { a href="/feed" { "Feed" } ": the posts of everyone you sponsor" }
                li { a href="/settings" { "Settings" } ": profile, picture, password" }
                li { a href="/developers/clients" { "Developers" } ": OAuth apps, API keys, webhooks" }
            }
        }
    }
}

fn listing(found: &DirectoryPage, search: &str) -> Markup {
    let search = search.trim();
    html! {
        @if found.entries.is_empty() {
            @if search.is_empty() {
                p.muted data-testid="no-creators" { "No creator has published a page yet." }
            } @else {
                p.muted data-testid="no-creators" { "No creator matches \u{201c}" (search) "\u{201d}. " a href="/" { "See everyone" } "." }
            }
        } @else {
            ul.directory {
                @for entry in &found.entries { (card(entry)) }
            }
        }
        @if let Some(next) = found.next {
            p { a data-testid="more-creators" href=(next_page(search, next)) { "More creators" } }
        }
    }
}

fn card(entry: &DirectoryEntry) -> Markup {
    let name = entry.page_name.clone().unwrap_or_else(|| {
        maecenas_domain::user::public_name(
            &entry.first_name,
            &entry.last_name,
            Some(&entry.username),
        )
    });
    html! {
        li.creator data-testid="creator" {
            img.avatar src=(super::avatars::url(entry.creator_id)) alt="";
            div {
                a href=(format!("/{}", entry.username)) { b { (name) } }
                @if let Some(line) = &entry.one_liner { div { (line) } }
                div.muted {
                    @if let Some(creation) = &entry.creation_name { "Creating " (creation) " · " }
                    @if entry.is_monthly { "monthly" }
                    @else { "per " (entry.pay_per_name.as_deref().unwrap_or("creation")) }
                    @if entry.is_nsfw { " · " span.badge.bad { "Adult content" } }
                }
            }
        }
    }
}

fn next_page(search: &str, before: CampaignId) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    query.append_pair("before", &before.get().to_string());
    format!("/?{}#creators", query.finish())
}
