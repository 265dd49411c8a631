//! Who may see a page and send its forms, decided here and nowhere else.
//! Page handlers take one of these extractors instead of checking for
//! themselves:
//!
//! - [`Visitor`]: anyone, signed in or not;
//! - [`SignedIn`]: a live session, else a trip to `/login` and back;
//! - [`Creator`] and [`Admin`]: a signed-in creator or administrator, else a
//!   refusal page;
//! - [`SignedForm<T, W>`]: the form `T` of a person `W` (one of the above)
//!   whose CSRF token is their session's, else 403.
//!
//! A use case's refusal becomes a page through [`SignedIn::refusal`] (the
//! signed-in layout) or [`failure`] (no session).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use maecenas_services::ServiceError;
use maecenas_services::records::UserRow;
use maud::html;
use serde::de::DeserializeOwned;

use super::layout::{Viewer, page, user_page};
use super::session::{self, MaybeUser};
use crate::AppState;

/// A signed-in person and their session's CSRF token (forms repeat it).
pub struct SignedIn {
    pub user: UserRow,
    pub csrf: String,
}

impl SignedIn {
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            user: &self.user,
            csrf: &self.csrf,
        }
    }

    /// A use case's refusal as a page in the signed-in layout.
    pub fn refusal(&self, err: ServiceError) -> Response {
        refusal(&self.user, &self.csrf, err)
    }

    /// The refusal of a form whose token is not this session's; `None` when
    /// it is. [`SignedForm`] calls it; a file upload (not URL-encoded) too.
    pub fn refuse_forged(&self, presented: &str) -> Option<Response> {
        (!session::csrf_matches(&self.csrf, presented)).then(forged)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(Visitor(signed)) = Visitor::from_request_parts(parts, state).await;
        signed.ok_or_else(|| log_in_first(parts))
    }
}

/// To `/login`, and back afterwards: to this page for a page; for a form
/// (whose address is not a page) to the section it belongs to, `/panel` for
/// `/panel/{campaign}/cancel`. Pages send no `Referer`, so the form's own
/// page cannot be known.
fn log_in_first(parts: &Parts) -> Response {
    let back = if parts.method == Method::GET || parts.method == Method::HEAD {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned())
    } else {
        let section = parts.uri.path().split('/').nth(1).unwrap_or_default();
        format!("/{section}")
    };
    let back = session::safe_next(Some(&back));
    crate::redirect::see_other(&format!("/login?next={}", session::encode_next(&back)))
}

/// Anyone: signed in or not (public pages show the signed-in header).
pub struct Visitor(pub Option<SignedIn>);

impl Visitor {
    pub fn viewer(&self) -> Option<Viewer<'_>> {
        self.0.as_ref().map(SignedIn::viewer)
    }

    pub fn user(&self) -> Option<&UserRow> {
        self.0.as_ref().map(|signed| &signed.user)
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(found) = MaybeUser::from_request_parts(parts, state).await;
        Ok(Visitor(match (found.user, found.session_token) {
            (Some(user), Some(token)) => Some(SignedIn {
                user,
                csrf: session::csrf_for_session(&token),
            }),
            _ => None,
        }))
    }
}

/// A signed-in creator account.
pub struct Creator(pub SignedIn);

impl std::ops::Deref for Creator {
    type Target = SignedIn;
    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl FromRequestParts<AppState> for Creator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed = SignedIn::from_request_parts(parts, state).await?;
        if !signed.user.is_creator {
            return Err(not_a_creator(&signed));
        }
        Ok(Creator(signed))
    }
}

/// A signed-in administrator.
pub struct Admin(pub SignedIn);

impl std::ops::Deref for Admin {
    type Target = SignedIn;
    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed = SignedIn::from_request_parts(parts, state).await?;
        if !signed.user.is_admin {
            return Err(signed.refusal(ServiceError::Forbidden));
        }
        Ok(Admin(signed))
    }
}

/// Who sent a form: the session's CSRF token is what it must repeat.
pub trait FormSender: FromRequestParts<AppState, Rejection = Response> {
    fn signed(&self) -> &SignedIn;
}

impl FormSender for SignedIn {
    fn signed(&self) -> &SignedIn {
        self
    }
}

impl FormSender for Creator {
    fn signed(&self) -> &SignedIn {
        &self.0
    }
}

impl FormSender for Admin {
    fn signed(&self) -> &SignedIn {
        &self.0
    }
}

/// A URL-encoded form `T` sent by `W`, its CSRF field (`csrf`) checked. `T`
/// need not declare that field. Refused in this order: no session (to
/// log-in), a forged form (403), a form that does not parse (422).
pub struct SignedForm<T, W = SignedIn> {
    pub who: W,
    pub form: T,
}

#[derive(Debug, Default, serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T, W> FromRequest<AppState> for SignedForm<T, W>
where
    T: DeserializeOwned,
    W: FormSender + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let who = W::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| {
                who.signed().refusal(ServiceError::invalid(
                    "form",
                    format!("the form could not be read: {}", rejection.body_text()),
                ))
            })?;
        let presented: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if let Some(refused) = who.signed().refuse_forged(&presented.csrf) {
            return Err(refused);
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            who.signed().refusal(ServiceError::invalid(
                "form",
                format!(
                    "the form is not what this page sends ({e}); reload the page and try again"
                ),
            ))
        })?;
        Ok(SignedForm { who, form })
    }
}

/// A form that is only a button: its CSRF token and nothing else.
#[derive(Debug, serde::Deserialize)]
pub struct Button {}

fn forged() -> Response {
    (
        StatusCode::FORBIDDEN,
        page(
            "Forbidden",
            html! { p.error { "This form did not come from this site. Please reload the page and try again." } },
        ),
    )
        .into_response()
}

/// A creator's page opened by a patron: what it is for, and the way to
/// become a creator (not a bare error).
fn not_a_creator(signed: &SignedIn) -> Response {
    let body = html! {
        h1 { "This page is for creators" }
        p { "Only creator accounts have a campaign and a dashboard. Yours is a patron's: "
            "you can become a creator and keep everything you have (pledges, history, log-in)." }
        form method="post" action="/settings/creator" {
            input type="hidden" name="csrf" value=(signed.csrf);
            button type="submit" { "Become a creator" }
        }
        p.muted { a href="/panel" { "Back to my sponsorships" } }
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        user_page(&signed.viewer(), "For creators", body),
    )
        .into_response()
}

/// A use case's refusal as a page in the signed-in layout of `user`.
pub fn refusal(user: &UserRow, csrf: &str, err: ServiceError) -> Response {
    let (status, message) = refusal_text(err);
    let body = html! { p.error role="alert" { (message) } };
    (status, user_page(&Viewer { user, csrf }, "Error", body)).into_response()
}

/// A use case's refusal as a page for someone without a session.
pub fn failure(err: ServiceError) -> Response {
    let (status, message) = refusal_text(err);
    (
        status,
        page("Error", html! { p.error role="alert" { (message) } }),
    )
        .into_response()
}

/// The status a refusal deserves and a message a person can act on.
fn refusal_text(err: ServiceError) -> (StatusCode, String) {
    match &err {
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found.".to_owned()),
        ServiceError::Invalid { reason, .. } => (StatusCode::UNPROCESSABLE_ENTITY, reason.clone()),
        ServiceError::Forbidden => (
            StatusCode::FORBIDDEN,
            "This page is not open to your account.".to_owned(),
        ),
        ServiceError::Internal(inner) => {
            tracing::error!(error = ?inner, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again.".to_owned(),
            )
        }
        other => (StatusCode::BAD_REQUEST, other.to_string()),
    }
}
