//! `payouts`: what the platform sends each creator, recorded before it is sent.

use maecenas_domain::{CampaignId, PayoutId, PayoutStatus};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PayoutRow {
    #[sqlx(try_from = "i64")]
    pub id: PayoutId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub period: Option<String>,
    pub currency: String,
    pub amount_minor: i64,
    #[sqlx(try_from = "String")]
    pub status: PayoutStatus,
    pub gateway: String,
    pub gateway_ref: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
}

/// Records a payout about to be sent; `false` when the scheduled payout of
/// this campaign and period exists already.
pub async fn insert_payout(tx: &mut Tx, p: &PayoutRow) -> Result<bool, StoreError> {
    const SQL: &str = "INSERT INTO payouts (id, campaign_id, period, currency, amount_minor, status, gateway, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT DO NOTHING";
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(p.id.get())
        .bind(p.campaign_id.get())
        .bind(&p.period)
        .bind(&p.currency)
        .bind(p.amount_minor)
        .bind(&p.gateway)
        .bind(db(p.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn finish_payout(
    tx: &mut Tx,
    id: PayoutId,
    paid: Result<&str, &str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE payouts SET status = $2, gateway_ref = $3, failure_message = $4, paid_at = $5 \
         WHERE id = $1 AND status = 'pending'";
    let (status, reference, failure, paid_at) = match paid {
        Ok(reference) => (PayoutStatus::Paid, Some(reference), None, Some(now)),
        Err(message) => (PayoutStatus::Failed, None, Some(message), None),
    };
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id.get())
        .bind(status.as_str())
        .bind(reference)
        .bind(failure)
        .bind(db(paid_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const PENDING_PAYOUTS: &str = "SELECT id, campaign_id, period, currency, amount_minor, status, gateway, gateway_ref, \
     failure_message, created_at, paid_at FROM payouts WHERE status = 'pending' AND created_at < $1 ORDER BY id";

/// Payouts recorded but never finished (a crash between the intent and the answer).
pub async fn pending_payouts(
    tx: &mut Tx,
    before: OffsetDateTime,
) -> Result<Vec<PayoutRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PayoutRow>(
        PENDING_PAYOUTS
    )
    .bind(db(before))
    .fetch_all(conn)
    .await)?)
}

const PAYOUTS_OF: &str = "SELECT id, campaign_id, period, currency, amount_minor, status, gateway, gateway_ref, \
     failure_message, created_at, paid_at FROM payouts WHERE campaign_id = $1 ORDER BY id DESC LIMIT $2";

pub async fn payouts_of_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
    limit: i64,
) -> Result<Vec<PayoutRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PayoutRow>(
        PAYOUTS_OF
    )
    .bind(campaign.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}
