//! Every Patreon v1 JSON:API field is written here. Ids are strings,
//! relationships carry `data` linkage, amounts are integer cents.

use maecenas_domain::Scope;
use maecenas_services::oauth::Bearer;
use maecenas_services::patreon::{CampaignView, PledgeView};
use maecenas_services::records::{GoalRow, TierRow, UserRow};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn date(at: OffsetDateTime) -> Value {
    at.format(&Rfc3339)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn linkage(kind: &str, id: impl ToString) -> Value {
    json!({ "data": { "type": kind, "id": id.to_string() } })
}

/// A user as the seed's User Object Structure shows it. `email` only when
/// the token may see it (its own user with `users`; a patron with `pledges-to-me`).
pub fn user(user: &UserRow, base: &str, show_email: bool, campaign_id: Option<String>) -> Value {
    let full_name = format!("{} {}", user.first_name, user.last_name)
        .trim()
        .to_owned();
    let mut attributes = json!({
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": full_name,
        "vanity": user.username,
        "about": user.about,
        "facebook_id": user.facebook_id,
        "image_url": user.image_url,
        "thumb_url": user.thumb_url,
        "youtube": user.youtube,
        "twitter": user.twitter,
        "facebook": user.facebook,
        "is_suspended": user.is_suspended,
        "is_deleted": user.is_deleted,
        "is_nuked": user.is_nuked,
        "created": date(user.created_at),
        "url": format!("{base}/{}", user.username.clone().unwrap_or_else(|| format!("user?u={}", user.id))),
    });
    if show_email {
        attributes["email"] = Value::String(user.email.clone());
    }
    json!({
        "type": "user",
        "id": user.id.to_string(),
        "attributes": attributes,
        "relationships": {
            "campaign": match campaign_id {
                Some(id) => linkage("campaign", id),
                None => json!({ "data": null }),
            },
        },
    })
}

/// The v1 API listed two pseudo-rewards first among a campaign's rewards.
fn pseudo_rewards(view: &CampaignView) -> [Value; 2] {
    let campaign = json!({ "data": { "type": "campaign", "id": view.campaign.id.to_string() } });
    [
        json!({ "type": "reward", "id": "-1", "attributes": { "amount": 0, "amount_cents": 0, "description": "Everyone", "title": "Everyone", "remaining": null, "requires_shipping": false, "user_limit": null, "created_at": null, "url": null }, "relationships": { "creator": linkage("user", view.creator.id), "campaign": campaign } }),
        json!({ "type": "reward", "id": "0", "attributes": { "amount": 1, "amount_cents": 1, "description": "Patrons Only", "title": "Patrons Only", "remaining": null, "requires_shipping": false, "user_limit": null, "created_at": null, "url": null }, "relationships": { "creator": linkage("user", view.creator.id), "campaign": campaign } }),
    ]
}

pub fn reward(tier: &TierRow, view: &CampaignView, base: &str) -> Value {
    let patrons = view
        .tier_patrons
        .iter()
        .find(|(id, _)| *id == tier.id.get())
        .map_or(0, |(_, n)| *n);
    json!({
        "type": "reward",
        "id": tier.id.to_string(),
        "attributes": {
            "amount": tier.amount_minor,
            "amount_cents": tier.amount_minor,
            "title": tier.title,
            "description": tier.description,
            "created_at": date(tier.created_at),
            "requires_shipping": tier.requires_shipping,
            "user_limit": tier.patron_limit,
            "remaining": tier.patron_limit.map(|limit| (i64::from(limit) - patrons).max(0)),
            "patron_count": patrons,
            "image_url": tier.image_url,
            "published": tier.retired_at.is_none(),
            "url": format!("{base}/{}?tier={}", view.creator.username.clone().unwrap_or_default(), tier.id),
        },
        "relationships": {
            "creator": linkage("user", view.creator.id),
            "campaign": linkage("campaign", view.campaign.id),
        },
    })
}

pub fn goal(goal: &GoalRow, view: &CampaignView) -> Value {
    let percent = if goal.amount_minor > 0 {
        (view.totals.pledge_sum_minor.saturating_mul(100) / goal.amount_minor).min(100)
    } else {
        0
    };
    json!({
        "type": "goal",
        "id": goal.id.to_string(),
        "attributes": {
            "amount": goal.amount_minor,
            "amount_cents": goal.amount_minor,
            "title": goal.title,
            "description": goal.description,
            "created_at": date(goal.created_at),
            "reached_at": goal.reached_at.map(date),
            "completed_percentage": percent,
        },
    })
}

/// The seed's Campaign Object Structure. Derived numbers come from the records.
pub fn campaign(view: &CampaignView, base: &str, pledge_ids: Option<&[String]>) -> Value {
    let c = &view.campaign;
    let mut rewards: Vec<Value> = vec![
        json!({ "type": "reward", "id": "-1" }),
        json!({ "type": "reward", "id": "0" }),
    ];
    rewards.extend(
        view.tiers
            .iter()
            .map(|t| json!({ "type": "reward", "id": t.id.to_string() })),
    );
    let mut relationships = json!({
        "creator": linkage("user", view.creator.id),
        "rewards": { "data": rewards },
        "goals": { "data": view.goals.iter().map(|g| json!({ "type": "goal", "id": g.id.to_string() })).collect::<Vec<_>>() },
    });
    if let Some(ids) = pledge_ids {
        relationships["pledges"] = json!({ "data": ids.iter().map(|id| json!({ "type": "pledge", "id": id })).collect::<Vec<_>>() });
    }
    json!({
        "type": "campaign",
        "id": c.id.to_string(),
        "attributes": {
            "summary": c.summary,
            "creation_name": c.creation_name,
            "pay_per_name": c.pay_per_name,
            "one_liner": c.one_liner,
            "main_video_embed": c.main_video_embed,
            "main_video_url": c.main_video_url,
            "image_small_url": c.image_small_url,
            "image_url": c.image_url,
            "thanks_video_url": c.thanks_video_url,
            "thanks_embed": c.thanks_embed,
            "thanks_msg": c.thanks_msg,
            "is_monthly": c.is_monthly,
            "is_nsfw": c.is_nsfw,
            "is_charged_immediately": c.is_monthly,
            "is_plural": false,
            "created_at": date(c.created_at),
            "published_at": c.published_at.map(date),
            "pledge_url": format!("{base}/{}", view.creator.username.clone().unwrap_or_default()),
            "pledge_sum": view.totals.pledge_sum_minor,
            "patron_count": view.totals.patron_count,
            "creation_count": view.totals.creation_count,
            // Payouts arrive with the billing engine; nothing is owed before a charge.
            "outstanding_payment_amount_cents": view.totals.outstanding_minor,
        },
        "relationships": relationships,
    })
}

/// The seed's Pledge Object Structure, and its address, card and VAT location.
pub fn pledge(p: &PledgeView, view: &CampaignView) -> (Value, Vec<Value>) {
    let pledge = &p.pledge;
    let mut extra = Vec::new();
    let address = p.address.as_ref().map(|a| {
        extra.push(json!({
            "type": "address",
            "id": a.id.to_string(),
            "attributes": { "addressee": a.addressee, "line_1": a.line_1, "line_2": a.line_2, "postal_code": a.postal_code, "city": a.city, "state": a.state, "country": a.country, "phone_number": a.phone_number, "created_at": date(a.created_at), "updated_at": date(a.updated_at) },
        }));
        linkage("address", a.id)
    });
    let card = p.card.as_ref().map(|c| {
        extra.push(json!({
            "type": "card",
            "id": c.id.to_string(),
            "attributes": { "card_type": c.brand, "number": format!("************{}", c.last4), "expiration_date": format!("{:04}-{:02}-01T00:00:00+00:00", c.exp_year, c.exp_month), "has_failed_payment": c.has_failed_payment, "is_verified": c.is_verified, "created_at": date(c.created_at) },
        }));
        linkage("card", c.id)
    });
    let vat = pledge.vat_country.as_ref().map(|country| {
        extra.push(json!({ "type": "pledge-vat-location", "id": pledge.id.to_string(), "attributes": { "geo_country_code": country } }));
        linkage("pledge-vat-location", pledge.id)
    });
    let resource = json!({
        "type": "pledge",
        "id": pledge.id.to_string(),
        "attributes": {
            "amount_cents": pledge.amount_minor,
            "created_at": date(pledge.created_at),
            "declined_since": if pledge.status == maecenas_domain::PledgeStatus::Declined { date(pledge.updated_at) } else { Value::Null },
            "patron_pays_fees": pledge.patron_pays_fees,
            "pledge_cap_cents": pledge.pledge_cap_minor,
        },
        "relationships": {
            "patron": linkage("user", pledge.patron_id),
            "reward": match pledge.tier() { Some(t) => linkage("reward", t), None => json!({ "data": null }) },
            "creator": linkage("user", view.creator.id),
            "address": address.unwrap_or_else(|| json!({ "data": null })),
            "card": card.unwrap_or_else(|| json!({ "data": null })),
            "pledge_vat_location": vat.unwrap_or_else(|| json!({ "data": null })),
        },
    });
    (resource, extra)
}

/// Whether the token may see a patron's email.
pub fn sees_patron_emails(bearer: &Bearer) -> bool {
    bearer.scopes.contains(Scope::PledgesToMe)
}

pub fn included_campaign_parts(view: &CampaignView, base: &str, includes: &Includes) -> Vec<Value> {
    let mut out = Vec::new();
    if includes.rewards {
        out.extend(pseudo_rewards(view));
        out.extend(view.tiers.iter().map(|t| reward(t, view, base)));
    }
    if includes.goals {
        out.extend(view.goals.iter().map(|g| goal(g, view)));
    }
    out
}

/// The seed's `includes` (and JSON:API `include`): default `rewards,creator,goals,pledge`.
#[derive(Debug, Clone, Copy)]
pub struct Includes {
    pub rewards: bool,
    pub creator: bool,
    pub goals: bool,
    pub pledges: bool,
    pub campaign: bool,
}

impl Includes {
    pub fn parse(raw: Option<&str>) -> Includes {
        let Some(raw) = raw else {
            return Includes {
                rewards: true,
                creator: true,
                goals: true,
                pledges: true,
                campaign: true,
            };
        };
        let mut out = Includes {
            rewards: false,
            creator: false,
            goals: false,
            pledges: false,
            campaign: false,
        };
        for part in raw.split(',').map(str::trim) {
            match part {
                "rewards" | "reward" => out.rewards = true,
                "creator" => out.creator = true,
                "goals" => out.goals = true,
                "pledge" | "pledges" => out.pledges = true,
                "campaign" => out.campaign = true,
                _ => {}
            }
        }
        out
    }
}
