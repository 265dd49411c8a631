//! Webhook bodies: the JSON:API document of the pledge, with its patron,
//! reward, campaign and creator included, built from the same views the API
//! answers with, so a pushed pledge and a fetched one are the same JSON.

use maecenas_services::records::ChargeRow;
use maecenas_services::webhooks::{EventRenderer, PledgeEvent, PostEvent};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use super::views;

/// Renders events for webhooks; `base` is the server's public URL.
pub struct PatreonEventRenderer {
    pub base: String,
}

impl EventRenderer for PatreonEventRenderer {
    fn render(&self, event: &PledgeEvent<'_>) -> String {
        let base = self.base.trim_end_matches('/');
        let campaign = event.campaign;
        let (data, extra) = views::pledge(event.pledge, campaign);
        let mut included = vec![views::user(&event.pledge.patron, base, true, None)];
        if let Some(tier) = event
            .pledge
            .pledge
            .tier()
            .and_then(|id| campaign.tiers.iter().find(|t| t.id == id))
        {
            included.push(views::reward(tier, campaign, base));
        }
        included.push(views::campaign(campaign, base, None));
        included.push(views::user(
            &campaign.creator,
            base,
            false,
            Some(campaign.campaign.id.to_string()),
        ));
        included.extend(extra);
        if let Some(charge) = event.charge {
            included.push(charge_resource(charge));
        }
        json!({
            "data": data,
            "included": included,
            "links": { "self": format!("{base}/api/oauth2/api/campaigns/{}/pledges", campaign.campaign.id) },
        })
        .to_string()
    }

    /// `posts:*`: Patreon's v2 post document (receivers such as the
    /// WordPress plugin read `data.id` and fetch the post).
    fn render_post(&self, event: &PostEvent<'_>) -> String {
        let base = self.base.trim_end_matches('/');
        json!({
            "data": crate::patreon_v2::views::post(event.post, event.creator, base),
            "links": { "self": format!("{base}/api/oauth2/v2/posts/{}", event.post.id) },
        })
        .to_string()
    }
}

/// A charge, for `charges:*` events (Maecenas' own resource type).
fn charge_resource(charge: &ChargeRow) -> Value {
    let date = |at: time::OffsetDateTime| at.format(&Rfc3339).map_or(Value::Null, Value::String);
    json!({
        "type": "charge",
        "id": charge.id.to_string(),
        "attributes": {
            "status": charge.status,
            "amount_cents": charge.amount_minor,
            "currency": charge.currency,
            "period": charge.period,
            "attempt": charge.attempts,
            "created_at": date(charge.created_at),
            "succeeded_at": charge.succeeded_at.map(date),
            "next_attempt_at": (charge.status == maecenas_domain::ChargeStatus::Retrying).then(|| date(charge.next_attempt_at)),
            "decline_code": charge.failure_code,
            "decline_message": charge.failure_message,
        },
        "relationships": {
            "pledge": match charge.pledge_id {
                Some(id) => json!({ "data": { "type": "pledge", "id": id.to_string() } }),
                None => json!({ "data": null }),
            },
        },
    })
}
