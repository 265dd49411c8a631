//! `current_user`, `current_user/campaigns`, `campaigns/{id}/pledges`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maecenas_domain::{CampaignId, PledgeId, Scope};
use maecenas_services::oauth::Bearer;
use maecenas_services::patreon::{CampaignView, DEFAULT_PAGE, MAX_PAGE, PledgePage};
use serde_json::{Value, json};

use super::JsonApiError;
use super::views::{self, Includes};
use crate::AppState;

/// The access token of `Authorization: Bearer <token>`, not yet checked.
fn bearer_token(headers: &HeaderMap) -> Result<&str, JsonApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            JsonApiError::unauthorized("send an access token: Authorization: Bearer <access_token>")
        })
}

fn not_live() -> JsonApiError {
    JsonApiError::unauthorized("the access token is invalid, expired or revoked")
}

/// The caller and, for a creator, their campaign: one read transaction.
async fn caller_and_campaign(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Bearer, Option<CampaignView>), JsonApiError> {
    let token = bearer_token(headers)?;
    state
        .services
        .current_user(token)
        .await?
        .ok_or_else(not_live)
}

pub(crate) async fn bearer(state: &AppState, headers: &HeaderMap) -> Result<Bearer, JsonApiError> {
    let token = bearer_token(headers)?;
    state.services.bearer(token).await?.ok_or_else(not_live)
}

/// The query string as pairs, in order. Public for `fuzz/`.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, JsonApiError> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| JsonApiError::new(StatusCode::BAD_REQUEST, "the query string is not valid"))
}

/// The first value of parameter `name`. Public for `fuzz/`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `include` (or the seed's `includes`). Public for `fuzz/`.
pub fn includes(pairs: &[(String, String)]) -> Includes {
    Includes::parse(param(pairs, "include").or_else(|| param(pairs, "includes")))
}

fn base(state: &AppState) -> &str {
    state.public_url.trim_end_matches('/')
}

#[utoipa::path(get, path = "/current_user", tag = "patreon",
    description = "The token's user; with `my-campaign`, their campaign, rewards and goals in `included`. Also at `/oauth2/api/current_user`.",
    params(crate::patreon_v1::schema::Include, crate::patreon_v1::schema::Includes),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON:API document", body = crate::patreon_v1::schema::JsonApiDocument, content_type = "application/json"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn current_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, JsonApiError> {
    let (bearer, campaign) = caller_and_campaign(&state, &headers).await?;
    let pairs = query_pairs(query.as_deref())?;
    let includes = includes(&pairs);
    let base = base(&state);
    let data = views::user(
        &bearer.user,
        base,
        bearer.scopes.contains(Scope::Users),
        campaign.as_ref().map(|c| c.campaign.id.to_string()),
    );
    let mut included = Vec::new();
    if let Some(view) = campaign
        .as_ref()
        .filter(|_| includes.campaign && bearer.scopes.contains(Scope::MyCampaign))
    {
        included.push(views::campaign(view, base, None));
        included.extend(views::included_campaign_parts(view, base, &includes));
    }
    Ok(Json(
        json!({ "data": data, "included": included, "links": { "self": format!("{base}/api/oauth2/api/current_user") } }),
    ))
}

#[utoipa::path(get, path = "/current_user/campaigns", tag = "patreon",
    description = "The user's campaigns (scope `my-campaign`); with `pledges-to-me` the first page of pledges. Also at `/oauth2/api/current_user/campaigns`.",
    params(crate::patreon_v1::schema::Include, crate::patreon_v1::schema::Includes),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON:API document", body = crate::patreon_v1::schema::JsonApiDocument, content_type = "application/json"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn current_user_campaigns(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, JsonApiError> {
    let (bearer, campaign) = caller_and_campaign(&state, &headers).await?;
    if !bearer.scopes.contains(Scope::MyCampaign) {
        return Err(JsonApiError::insufficient_scope("my-campaign"));
    }
    let pairs = query_pairs(query.as_deref())?;
    let includes = includes(&pairs);
    let base = base(&state);
    let self_link = format!("{base}/api/oauth2/api/current_user/campaigns");
    let Some(view) = campaign else {
        return Ok(Json(
            json!({ "data": [], "included": [], "links": { "self": self_link } }),
        ));
    };
    let mut included = Vec::new();
    let mut pledge_links = None;
    let mut pledge_ids = None;
    if includes.pledges && bearer.scopes.contains(Scope::PledgesToMe) {
        let page = state
            .services
            .campaign_pledges(&bearer, view.campaign.id, None, DEFAULT_PAGE)
            .await?;
        pledge_ids = Some(
            page.pledges
                .iter()
                .map(|p| p.pledge.id.to_string())
                .collect::<Vec<_>>(),
        );
        pledge_links = Some(page_links(base, &page, DEFAULT_PAGE));
        included.extend(page_resources(&page, &bearer, base));
    }
    let mut data = views::campaign(&view, base, pledge_ids.as_deref());
    if let Some(links) = &pledge_links {
        data["relationships"]["pledges"]["links"] = links.clone();
    }
    if includes.creator {
        included.push(views::user(
            &bearer.user,
            base,
            bearer.scopes.contains(Scope::Users),
            Some(view.campaign.id.to_string()),
        ));
    }
    included.extend(views::included_campaign_parts(&view, base, &includes));
    let mut links = json!({ "self": self_link });
    if let Some(next) = pledge_links.as_ref().and_then(|l| l.get("next")) {
        links["next"] = next.clone();
    }
    Ok(Json(
        json!({ "data": [data], "included": dedupe(included), "links": links }),
    ))
}

#[utoipa::path(get, path = "/campaigns/{campaign_id}/pledges", tag = "patreon",
    description = "A keyset page of the campaign's pledges (scope `pledges-to-me`, own campaign only). Also at `/oauth2/api/campaigns/{campaign_id}/pledges`.",
    params(("campaign_id" = String, Path, description = "the campaign's id"), crate::patreon_v1::schema::Include, crate::patreon_v1::schema::Includes, crate::patreon_v1::schema::PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON:API document with `links.first` and, until the last page, `links.next`", body = crate::patreon_v1::schema::JsonApiDocument, content_type = "application/json"),
        (status = "default", description = "JSON:API errors", body = crate::patreon_v1::schema::JsonApiErrors)))]
pub async fn campaign_pledges(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(campaign_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, JsonApiError> {
    let bearer = bearer(&state, &headers).await?;
    let campaign: CampaignId = campaign_id
        .parse()
        .map_err(|_| JsonApiError::new(StatusCode::NOT_FOUND, "campaign not found"))?;
    let pairs = query_pairs(query.as_deref())?;
    let count = match param(&pairs, "page[count]") {
        None => DEFAULT_PAGE,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                JsonApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("page[count] must be 1 to {MAX_PAGE}"),
                )
            })?,
    };
    let after = match param(&pairs, "page[cursor]").filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
            JsonApiError::new(
                StatusCode::BAD_REQUEST,
                "page[cursor] is not a cursor this server issued",
            )
        })?),
    };
    let page = state
        .services
        .campaign_pledges(&bearer, campaign, after, count)
        .await?;
    let base = base(&state);
    let data: Vec<Value> = page
        .pledges
        .iter()
        .map(|p| views::pledge(p, &page.campaign).0)
        .collect();
    let included: Vec<Value> = page_resources(&page, &bearer, base)
        .into_iter()
        .filter(|r| r["type"] != "pledge")
        .collect();
    Ok(Json(
        json!({ "data": data, "included": dedupe(included), "links": page_links(base, &page, count) }),
    ))
}

/// The pledges of a page with their patrons, rewards, addresses, cards and VAT locations.
fn page_resources(page: &PledgePage, bearer: &Bearer, base: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for p in &page.pledges {
        let (resource, extra) = views::pledge(p, &page.campaign);
        out.push(resource);
        out.extend(extra);
        out.push(views::user(
            &p.patron,
            base,
            views::sees_patron_emails(bearer),
            None,
        ));
        if let Some(tier) = p
            .pledge
            .tier()
            .and_then(|t| page.campaign.tiers.iter().find(|row| row.id == t))
        {
            out.push(views::reward(tier, &page.campaign, base));
        }
    }
    out
}

/// `links.first` always, `links.next` while more pledges follow (the last page has none).
fn page_links(base: &str, page: &PledgePage, count: i64) -> Value {
    let path = format!(
        "{base}/api/oauth2/api/campaigns/{}/pledges",
        page.campaign.campaign.id
    );
    let mut links = json!({ "first": format!("{path}?page%5Bcount%5D={count}") });
    if let Some(after) = page.next_after {
        links["next"] = Value::String(format!(
            "{path}?page%5Bcount%5D={count}&page%5Bcursor%5D={}",
            encode_cursor(after)
        ));
    }
    links
}

/// Opaque and URL-safe (the JS client does not escape `+`). Public for `fuzz/`.
pub fn encode_cursor(after: PledgeId) -> String {
    URL_SAFE_NO_PAD.encode(after.to_string())
}

/// A `page[cursor]` back to the pledge it points after. Public for `fuzz/`.
pub fn decode_cursor(cursor: &str) -> Option<PledgeId> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

/// One resource per `(type, id)` in `included`.
fn dedupe(resources: Vec<Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    resources
        .into_iter()
        .filter(|r| seen.insert((r["type"].to_string(), r["id"].to_string())))
        .collect()
}
