//! Atom feeds, for feed and podcast readers: a creator's public posts at
//! `/{username}/feed.atom`, and each patron's private feed at
//! `/feeds/{secret}.atom` with what their pledges unlock. A private feed's
//! address is its only key (readers cannot sign in), so it is a secret the
//! patron can replace or revoke in their settings; its pictures are served
//! under the same address.

use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maecenas_domain::{CreationId, PostImageId};
use maecenas_services::ServiceError;
use maecenas_services::posts::PostCard;
use maud::html;
use time::OffsetDateTime;

use super::guard::failure;
use super::kit::markdown;
use crate::AppState;
use crate::stored_image::{self, Caching};

const ATOM: &str = "application/atom+xml; charset=utf-8";

pub async fn public(State(state): State<AppState>, Path(username): Path<String>) -> Response {
    let feed = match state.services.public_feed(&username).await {
        Ok(feed) => feed,
        Err(err) => return failure(err),
    };
    let base = state.public_url.trim_end_matches('/');
    let name = super::public::creator_name(&feed.view);
    let page = format!("{base}/{username}");
    let entries = feed
        .posts
        .iter()
        .map(|card| entry(base, &username, &name, card, None))
        .collect();
    let feed = atom(
        format!("{name} on Maecenas"),
        format!("{base}/{username}/feed.atom"),
        page,
        entries,
        feed.posts.first().map(|card| card.post.updated_at),
    );
    answer(feed, "public, max-age=300")
}

pub async fn private(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let secret = file.strip_suffix(".atom").unwrap_or(&file);
    let feed = match state.services.private_feed(secret).await {
        Ok(feed) => feed,
        Err(err) => return failure(err),
    };
    let base = state.public_url.trim_end_matches('/');
    let entries = feed
        .items
        .iter()
        .map(|item| {
            entry(
                base,
                &item.creator_username,
                &item.creator_name,
                &item.card,
                Some(secret),
            )
        })
        .collect();
    let first = if feed.patron.first_name.is_empty() {
        "Your".to_owned()
    } else {
        format!("{}'s", feed.patron.first_name)
    };
    let feed = atom(
        format!("{first} Maecenas feed"),
        format!("{base}/feeds/{secret}.atom"),
        format!("{base}/feed"),
        entries,
        feed.items.first().map(|item| item.card.post.updated_at),
    );
    // The address is a credential: no shared cache keeps it.
    answer(feed, "private, max-age=300")
}

/// A picture of a post in a private feed, for the feed's reader.
pub async fn private_image(
    State(state): State<AppState>,
    Path((secret, post, image)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let (Ok(post), Ok(image)) = (post.parse::<CreationId>(), image.parse::<PostImageId>()) else {
        return failure(ServiceError::NotFound("image"));
    };
    match state
        .services
        .private_feed_image(&secret, post, image)
        .await
    {
        Ok(image) => stored_image::response(
            &headers,
            image.meta.content_type,
            &image.meta.etag,
            image.bytes,
            Caching::Private,
        ),
        Err(err) => failure(err),
    }
}

fn atom(
    title: String,
    self_url: String,
    page: String,
    entries: Vec<Entry>,
    updated: Option<OffsetDateTime>,
) -> Feed {
    let mut feed = Feed::default();
    feed.set_title(title);
    feed.set_id(self_url.clone());
    // A feed with nothing in it yet was last changed, as far as a reader can
    // tell, at the epoch.
    feed.set_updated(when(updated.unwrap_or(OffsetDateTime::UNIX_EPOCH)));
    feed.set_links(vec![link(&self_url, "self"), link(&page, "alternate")]);
    feed.set_entries(entries);
    feed
}

fn entry(
    base: &str,
    username: &str,
    creator: &str,
    card: &PostCard,
    private_secret: Option<&str>,
) -> Entry {
    let post = &card.post;
    let url = format!("{base}/{username}/posts/{}", post.id);
    let body = html! {
        (markdown(&post.body))
        @for image in &card.images {
            @let src = match private_secret {
                Some(secret) => format!("{base}/feeds/{secret}/posts/{}/images/{}", post.id, image.id),
                None => format!("{url}/images/{}", image.id),
            };
            p { img src=(src) alt="" width=(image.width) height=(image.height); }
        }
        @if let Some(link) = &post.embed_url {
            p { a href=(link) { "Open the linked media" } }
        }
    };
    let mut content = Content::default();
    content.set_content_type("html".to_owned());
    content.set_value(body.into_string());
    let mut author = Person::default();
    author.set_name(creator.to_owned());
    author.set_uri(format!("{base}/{username}"));
    let mut links = vec![link(&url, "alternate")];
    if let Some(media) = &post.embed_url {
        links.push(link(media, "related"));
    }
    let mut entry = Entry::default();
    entry.set_title(post.title.clone());
    entry.set_id(url);
    entry.set_updated(when(post.updated_at));
    entry.set_published(post.published_at.map(when));
    entry.set_authors(vec![author]);
    entry.set_links(links);
    entry.set_content(content);
    entry
}

fn link(href: &str, rel: &str) -> Link {
    let mut link = Link::default();
    link.set_href(href.to_owned());
    link.set_rel(rel.to_owned());
    link
}

fn when(at: OffsetDateTime) -> FixedDateTime {
    let rfc3339 = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned());
    FixedDateTime::parse_from_rfc3339(&rfc3339).unwrap_or_default()
}

fn answer(feed: Feed, cache: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ATOM)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        feed.to_string(),
    )
        .into_response()
}
