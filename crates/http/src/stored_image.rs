//! A picture kept in the database, as a response: its type, an ETag of its
//! bytes (a matching `If-None-Match` gets 304), `nosniff`, and how long a
//! cache may keep it. Avatars and post pictures are served through here.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Who may keep a copy: anyone (`public`), or only the asker's browser, which
/// asks again before each use (`private`: whether it may be shown depends on
/// who asks, and one browser may be signed in as someone else next time).
/// The question is cheap: the ETag answers it with a 304 for a reader who
/// still may see the picture.
#[derive(Debug, Clone, Copy)]
pub enum Caching {
    Public,
    Private,
}

pub fn response(
    request: &HeaderMap,
    content_type: String,
    etag: &str,
    bytes: Vec<u8>,
    caching: Caching,
) -> Response {
    let cache = match caching {
        Caching::Public => "public, max-age=300",
        Caching::Private => "private, no-cache",
    };
    let common = [
        (header::ETAG, format!("\"{etag}\"")),
        (header::CACHE_CONTROL, cache.to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tag| tag.trim_matches('"') == etag);
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}
