//! Every field of the v2 `webhook` and `post` resources is written here.

use maecenas_domain::webhooks::split_triggers;
use maecenas_services::records::{CreationRow, UserRow, WebhookRow};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

/// The attributes Patreon's v2 API documents for a webhook.
pub const ATTRIBUTES: [&str; 6] = [
    "last_attempted_at",
    "num_consecutive_times_failed",
    "paused",
    "secret",
    "triggers",
    "uri",
];

/// A webhook; `fields`: the sparse fieldset asked for (`fields[webhook]`), all when `None`.
pub fn webhook(row: &WebhookRow, fields: Option<&[String]>) -> Value {
    let all = json!({
        "last_attempted_at": row.last_attempted_at.and_then(|t| t.format(&Rfc3339).ok()),
        "num_consecutive_times_failed": row.num_consecutive_times_failed,
        "paused": row.paused,
        "secret": row.secret,
        "triggers": split_triggers(&row.triggers).iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "uri": row.uri,
    });
    let attributes: Map<String, Value> = match (all, fields) {
        (Value::Object(map), Some(fields)) => map
            .into_iter()
            .filter(|(k, _)| fields.iter().any(|f| f == k))
            .collect(),
        (Value::Object(map), None) => map,
        _ => Map::new(),
    };
    json!({
        "type": "webhook",
        "id": row.id.to_string(),
        "attributes": attributes,
        "relationships": {
            "campaign": { "data": { "type": "campaign", "id": row.campaign_id.to_string() } },
            "client": match row.oauth_client_id {
                Some(id) => json!({ "data": { "type": "oauth-client", "id": id.to_string() } }),
                None => json!({ "data": null }),
            },
        },
    })
}

/// A post as Patreon's v2 API writes it: `content` is HTML (the Markdown
/// rendered as the post's page renders it), `url` its page here.
pub fn post(post: &CreationRow, creator: &UserRow, base: &str) -> Value {
    let date = |t: Option<time::OffsetDateTime>| t.and_then(|t| t.format(&Rfc3339).ok());
    let username = creator.username.as_deref().unwrap_or_default();
    json!({
        "type": "post",
        "id": post.id.to_string(),
        "attributes": {
            "title": post.title,
            "content": crate::web::kit::markdown(&post.body).into_string(),
            "is_paid": post.is_paid,
            "is_public": post.audience == "public",
            "published_at": date(post.published_at),
            "edited_at": date(Some(post.updated_at)),
            "url": format!("{base}/{username}/posts/{}", post.id),
            "embed_url": post.embed_url,
            "embed_data": Value::Null,
            "app_id": Value::Null,
            "app_status": Value::Null,
        },
        "relationships": {
            "campaign": { "data": { "type": "campaign", "id": post.campaign_id.to_string() } },
            "user": { "data": { "type": "user", "id": creator.id.to_string() } },
        },
    })
}
