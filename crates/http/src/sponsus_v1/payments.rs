//! `GET /v1/payments/{userID}/sponsoring[?include_donations=true]`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use maecenas_domain::{Scope, UserId};
use serde_json::{Value, json};

use super::{SponsusError, auth, views};
use crate::AppState;

#[utoipa::path(get, path = "/v1/payments/{user_id}/sponsoring", tag = "sponsus",
    description = "That user's sponsorship of the caller (the creator's API key, or OAuth scope `sponsoring`).",
    params(("user_id" = String, Path, description = "the patron's user id"),
        ("include_donations" = Option<bool>, Query, description = "add the donations")),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "the sponsorship", body = crate::sponsus_v1::schema::SponsusSuccess),
        (status = "default", description = "Sponsus error", body = crate::sponsus_v1::schema::SponsusFailure)))]
pub async fn sponsoring(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, SponsusError> {
    let creator = auth::caller(&state, &headers, Some(Scope::Sponsoring)).await?;
    let patron: UserId = user_id
        .parse()
        .map_err(|_| SponsusError::new(StatusCode::BAD_REQUEST, "userID must be a numeric id"))?;
    let include_donations = include_donations(query.as_deref())?;
    let status = state
        .services
        .sponsorship_status(creator.id, patron, include_donations)
        .await?;
    Ok(Json(
        json!({ "success": true, "sponsorship": views::sponsorship(&status) }),
    ))
}

fn include_donations(query: Option<&str>) -> Result<bool, SponsusError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| SponsusError::new(StatusCode::BAD_REQUEST, "the query string is not valid"))?;
    let mut include = false;
    for (key, value) in pairs {
        match (key.as_str(), value.as_str()) {
            ("include_donations", "true" | "1") => include = true,
            ("include_donations", "false" | "0" | "") => include = false,
            ("include_donations", _) => {
                return Err(SponsusError::new(
                    StatusCode::BAD_REQUEST,
                    "include_donations must be true or false",
                ));
            }
            _ => {}
        }
    }
    Ok(include)
}
