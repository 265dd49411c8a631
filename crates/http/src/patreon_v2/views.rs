//! Every field of the v2 `webhook` resource is written here.

use maecenas_domain::webhooks::split_triggers;
use maecenas_services::records::WebhookRow;
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
