//! Redirects that cannot panic. `axum::response::Redirect` panics on a
//! location that is not a valid header value (a `\r` or `\n` in it), which
//! the catch-panic layer turns into a 500; these answer with a safe place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `303 See Other` to `location`, or to `/` when it cannot be a header.
pub fn see_other(location: &str) -> Response {
    redirect(StatusCode::SEE_OTHER, location, "/")
}

/// `307 Temporary Redirect` to `location`; `None` when it cannot be a header.
pub fn temporary(location: &str) -> Option<Response> {
    let value = HeaderValue::from_str(location).ok()?;
    Some((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, value)]).into_response())
}

fn redirect(status: StatusCode, location: &str, fallback: &'static str) -> Response {
    let value = HeaderValue::from_str(location)
        .ok()
        .filter(|_| !location.is_empty())
        .unwrap_or(HeaderValue::from_static(fallback));
    (status, [(header::LOCATION, value)]).into_response()
}
