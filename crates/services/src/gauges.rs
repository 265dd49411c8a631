//! What an operator watches, read when metrics are scraped: how full the
//! connection pools are and how far behind the webhook, billing and mail
//! queues run. One read transaction over index fronts and partial-index
//! counts; nothing is kept between scrapes.

use maecenas_store::{PoolUse, charges, emails, webhooks};
use time::OffsetDateTime;

use crate::{ServiceError, Services};

#[derive(Debug, Clone, PartialEq)]
pub struct Gauges {
    pub pools: Vec<PoolUse>,
    /// Deliveries owed (due now or retrying later).
    pub webhook_deliveries_pending: i64,
    /// How long the longest-waiting due delivery has waited; 0 when none is due.
    pub webhook_lag_seconds: f64,
    /// How long the longest-waiting due charge has waited; 0 when none is due.
    pub billing_lag_seconds: f64,
    /// Messages waiting to be sent (due now or retrying later).
    pub emails_pending: i64,
    /// How long the most overdue message has waited; 0 when none is due.
    pub email_lag_seconds: f64,
    /// Charges whose receipt or decline the mail worker has yet to write.
    pub charges_awaiting_mail: i64,
}

fn lag(oldest_due: Option<OffsetDateTime>, now: OffsetDateTime) -> f64 {
    oldest_due.map_or(0.0, |due| (now - due).as_seconds_f64().max(0.0))
}

impl Services {
    pub async fn gauges(&self) -> Result<Gauges, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let webhook_deliveries_pending = webhooks::pending_deliveries(&mut tx).await?;
        let oldest_delivery = webhooks::oldest_pending_delivery(&mut tx).await?;
        let oldest_charge = charges::oldest_open_charge(&mut tx).await?;
        let (emails_pending, oldest_email, charges_awaiting_mail) =
            emails::mail_queue(&mut tx).await?;
        drop(tx);
        Ok(Gauges {
            pools: self.store.pool_use(),
            webhook_deliveries_pending,
            webhook_lag_seconds: lag(oldest_delivery, now),
            billing_lag_seconds: lag(oldest_charge, now),
            emails_pending,
            email_lag_seconds: lag(oldest_email, now),
            charges_awaiting_mail,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    #[test]
    fn lag_counts_only_what_is_overdue() {
        let now = time::OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        assert_eq!(super::lag(None, now), 0.0);
        assert_eq!(super::lag(Some(now - Duration::seconds(90)), now), 90.0);
        assert_eq!(super::lag(Some(now + Duration::seconds(30)), now), 0.0);
    }
}
