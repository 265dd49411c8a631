//! `/docs`: the API documentation, Markdown files of `docs/api/` compiled
//! into the binary, so the server documents exactly the version it is.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::kit::markdown;
use super::layout::wide_page;

const PAGES: &[(&str, &str, &str)] = &[
    (
        "",
        "Getting started",
        include_str!("../../../../docs/api/index.md"),
    ),
    (
        "oauth",
        "OAuth2",
        include_str!("../../../../docs/api/oauth.md"),
    ),
    (
        "patreon",
        "Patreon API",
        include_str!("../../../../docs/api/patreon.md"),
    ),
    (
        "sponsus",
        "Sponsus API",
        include_str!("../../../../docs/api/sponsus.md"),
    ),
    (
        "webhooks",
        "Webhooks",
        include_str!("../../../../docs/api/webhooks.md"),
    ),
    (
        "limits",
        "Limits and errors",
        include_str!("../../../../docs/api/limits.md"),
    ),
];

fn render(slug: &str) -> Response {
    match PAGES.iter().find(|(s, _, _)| *s == slug) {
        Some((_, title, text)) => {
            wide_page(None, title, html! { article.card { (markdown(text)) } }).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            wide_page(None, "Not found", html! { section.card { h1 { "Not found" } p { a href="/docs" { "The documentation" } } } }),
        )
            .into_response(),
    }
}

pub async fn index() -> Response {
    render("")
}

pub async fn page(Path(slug): Path<String>) -> Response {
    if slug.is_empty() {
        return render("");
    }
    render(&slug)
}
