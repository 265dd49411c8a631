//! `donations`: one-off gifts to a campaign.

use maecenas_domain::{CampaignId, DonationId, DonationStatus, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DonationRow {
    #[sqlx(try_from = "i64")]
    pub id: DonationId,
    #[sqlx(try_from = "i64")]
    pub donor_id: UserId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub amount_minor: i64,
    pub currency: String,
    pub message: String,
    pub payment_method_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: DonationStatus,
    pub active_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

const INSERT_DONATION: &str = "INSERT INTO donations (id, donor_id, campaign_id, amount_minor, currency, message, \
     payment_method_id, status, active_until, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub async fn insert_donation(tx: &mut Tx, d: &DonationRow) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_DONATION)
        .bind(d.id.get())
        .bind(d.donor_id.get())
        .bind(d.campaign_id.get())
        .bind(d.amount_minor)
        .bind(&d.currency)
        .bind(&d.message)
        .bind(d.payment_method_id)
        .bind(d.status.as_str())
        .bind(db(d.active_until))
        .bind(db(d.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const DONATIONS_OF: &str = "SELECT id, donor_id, campaign_id, amount_minor, currency, message, payment_method_id, \
     status, active_until, created_at FROM donations WHERE campaign_id = $1 AND donor_id = $2 ORDER BY id";

/// One donor's donations to one campaign, oldest first.
pub async fn donations_of_donor(
    tx: &mut Tx,
    campaign: CampaignId,
    donor: UserId,
) -> Result<Vec<DonationRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, DonationRow>(
        DONATIONS_OF
    )
    .bind(campaign.get())
    .bind(donor.get())
    .fetch_all(conn)
    .await)?)
}

/// What a donor gave a campaign: everything that succeeded, and the part
/// still "active" (its `active_until` is in the future).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DonationTotals {
    pub total_minor: i64,
    pub active_minor: i64,
}

const DONATION_TOTALS: &str = "SELECT \
     CAST(coalesce(sum(amount_minor), 0) AS BIGINT) AS total_minor, \
     CAST(coalesce(sum(CASE WHEN active_until > $3 THEN amount_minor ELSE 0 END), 0) AS BIGINT) AS active_minor \
     FROM donations WHERE campaign_id = $1 AND donor_id = $2 AND status = 'succeeded'";

pub async fn donation_totals(
    tx: &mut Tx,
    campaign: CampaignId,
    donor: UserId,
    now: OffsetDateTime,
) -> Result<DonationTotals, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, DonationTotals>(DONATION_TOTALS)
            .bind(campaign.get())
            .bind(donor.get())
            .bind(db(now))
            .fetch_one(conn)
            .await
    })?)
}
/// A donation's charge went through (`active_until` set) or failed.
pub async fn set_donation_outcome(
    tx: &mut Tx,
    donation: i64,
    status: DonationStatus,
    active_until: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE donations SET status = $2, active_until = $3 WHERE id = $1";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(donation)
        .bind(status.as_str())
        .bind(db(active_until))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const DONATIONS_OF_DONOR_ALL: &str = "SELECT id, donor_id, campaign_id, amount_minor, currency, message, \
     payment_method_id, status, active_until, created_at FROM donations WHERE donor_id = $1 ORDER BY id DESC LIMIT $2";

/// A donor's donations to any campaign, newest first.
pub async fn donations_by(
    tx: &mut Tx,
    donor: UserId,
    limit: i64,
) -> Result<Vec<DonationRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, DonationRow>(
        DONATIONS_OF_DONOR_ALL
    )
    .bind(donor.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}
