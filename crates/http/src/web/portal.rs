//! What every logged-in page shares: who is signed in (or a trip to the
//! log-in page and back), the CSRF check, and error pages.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_services::ServiceError;
use maecenas_services::records::UserRow;
use maud::html;

use super::layout::page;
use super::session::{self, MaybeUser};

/// The signed-in user and their session's CSRF token, or a redirect to log
/// in that comes back to `here`.
pub fn signed_in(user: MaybeUser, here: &str) -> Result<(UserRow, String), Redirect> {
    match (user.user, user.session_token) {
        (Some(user), Some(token)) => Ok((user, session::csrf_for_session(&token))),
        _ => Err(Redirect::to(&format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>()
        ))),
    }
}

/// A form that is only a button: its CSRF token and nothing else.
#[derive(Debug, serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// The refusal of a form whose CSRF token is not the session's; `None` when it is.
pub fn forged_form(expected: &str, presented: &str) -> Option<Response> {
    if session::csrf_matches(expected, presented) {
        None
    } else {
        Some((
            StatusCode::FORBIDDEN,
            page("Forbidden", html! { p.error { "This form did not come from this site. Please reload the page and try again." } }),
        )
            .into_response())
    }
}

/// A use case's refusal as a page: the status it deserves, a message a person can act on.
pub fn failure(err: ServiceError) -> Response {
    let (status, message) = match &err {
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found.".to_owned()),
        ServiceError::Invalid { reason, .. } => (StatusCode::UNPROCESSABLE_ENTITY, reason.clone()),
        ServiceError::Internal(inner) => {
            tracing::error!(error = ?inner, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again.".to_owned(),
            )
        }
        other => (StatusCode::BAD_REQUEST, other.to_string()),
    };
    (
        status,
        page("Error", html! { p.error role="alert" { (message) } }),
    )
        .into_response()
}
