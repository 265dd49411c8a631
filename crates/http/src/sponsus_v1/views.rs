//! Every Sponsus JSON field is written here.
//!
//! Ids: the seed prints a profile's `_id` as a string and a sponsorship's
//! `userID` / `targetID` / tier `_id` as numbers. Snowflakes exceed 2^53, so
//! JavaScript's `JSON.parse` rounds those numbers; each object that has them
//! also carries `lossless` with the same ids as strings and amounts in minor
//! units (see README, "Sponsus v1").

use maecenas_services::records::{TierRow, UserRow};
use maecenas_services::sponsus::SponsorshipStatus;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The seed's Profile object.
pub fn profile(user: &UserRow) -> Value {
    json!({
        "description": user.description,
        "about": user.about,
        "status": user.status,
        "username": user.username.clone().unwrap_or_default(),
        "_id": user.id.to_string(),
    })
}

/// The seed's Sponsorship object.
pub fn sponsorship(status: &SponsorshipStatus) -> Value {
    let pledge = &status.pledge;
    let digits = status.currency.minor_digits();
    let mut out = json!({
        "userID": pledge.patron_id.get(),
        "created_at": epoch_seconds(pledge.created_at),
        "targetID": status.creator.get(),
        "is_active": pledge.status == maecenas_domain::PledgeStatus::Active && pledge.cancelled_at.is_none(),
        "tier": status.tier.as_ref().map(|t| tier(t, status)),
        "has_paid": status.has_paid,
    });
    if let Some(donations) = &status.donations {
        out["donations"] = json!({
            "total": major(donations.total_minor, digits),
            "active_amount": major(donations.active_minor, digits),
        });
    }
    out["lossless"] = json!({
        "userID": pledge.patron_id.to_string(),
        "targetID": status.creator.to_string(),
        "tier_id": status.tier.as_ref().map(|t| t.id.to_string()),
        "amount_minor": pledge.amount_minor,
        "currency": status.currency.code(),
        "donations_total_minor": status.donations.map(|d| d.total_minor),
        "donations_active_minor": status.donations.map(|d| d.active_minor),
    });
    out
}

fn tier(tier: &TierRow, status: &SponsorshipStatus) -> Value {
    json!({
        "_id": tier.id.get(),
        "title": tier.title,
        "price": major(tier.amount_minor, status.currency.minor_digits()),
        "description": tier.description,
        "userID": status.creator.get(),
        "advanced": {},
        "created_at": epoch_seconds(tier.created_at),
        "is_active": tier.retired_at.is_none(),
        "lossless": { "_id": tier.id.to_string(), "price_minor": tier.amount_minor, "currency": status.currency.code() },
    })
}

/// `1557425238.978872`: UTC seconds since the epoch as a float, as the seed prints them.
fn epoch_seconds(at: OffsetDateTime) -> f64 {
    at.unix_timestamp() as f64 + f64::from(at.microsecond()) / 1e6
}

/// Major units as a JSON number (the seed's `price: 1`): an integer when whole,
/// otherwise the decimal written exactly from the integer minor units.
fn major(minor: i64, digits: u32) -> Value {
    let unit = 10i64.pow(digits);
    if minor % unit == 0 {
        return json!(minor / unit);
    }
    let text = format!(
        "{}{}.{:0width$}",
        if minor < 0 { "-" } else { "" },
        (minor / unit).abs(),
        (minor % unit).abs(),
        width = digits as usize
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
