//! `/assets/avatars/{id}`: the picture pages show for a person. Their own
//! picture if they have one (stored here, or elsewhere by address); else a
//! circle with their initials, so that no page shows a broken image. (The
//! Sponsus API's avatar address keeps answering 404 for someone without one.)

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maecenas_services::ServiceError;
use maecenas_services::sponsus::PublicAvatar;
use maud::html;

use crate::AppState;
use crate::stored_image::{self, Caching};

pub fn url(user: maecenas_domain::UserId) -> String {
    format!("/assets/avatars/{}", user.get())
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let found = match id.parse::<maecenas_domain::UserId>() {
        Ok(_) => state.services.public_avatar(&id).await,
        Err(_) => Err(ServiceError::NotFound("user")),
    };
    match found {
        Ok(PublicAvatar::Stored(avatar)) => stored_image::response(
            &headers,
            avatar.content_type,
            &avatar.etag,
            avatar.bytes,
            Caching::Public,
        ),
        Ok(PublicAvatar::Elsewhere(address)) => {
            crate::redirect::temporary(&address).unwrap_or_else(|| placeholder("", &id))
        }
        Ok(PublicAvatar::None { name }) => placeholder(&name, &id),
        // Someone hidden or gone is drawn as nobody in particular.
        Err(_) => placeholder("", &id),
    }
}

/// Up to two initials, or "?" for no name.
fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "?".to_owned()
    } else {
        letters
    }
}

fn placeholder(name: &str, seed: &str) -> Response {
    // The same person always gets the same colour.
    let hue = seed
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 360;
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 72 72" width="72" height="72" role="img" aria-label=(name) {
            rect width="72" height="72" fill=(format!("hsl({hue},45%,42%)")) {}
            text x="36" y="37" dominant-baseline="middle" text-anchor="middle"
                font-family="system-ui,sans-serif" font-size="28" font-weight="600" fill="#fff" {
                (initials(name))
            }
        }
    };
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            // Drawn by us, shown as a picture: nothing in it may run or load.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
        ],
        svg.into_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_are_two_letters_at_most() {
        assert_eq!(initials("Cerulean Studio"), "CS");
        assert_eq!(initials("ada"), "A");
        assert_eq!(initials("Jean-Luc van der Berg"), "JV");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("élodie <b>"), "ÉB");
    }
}
