//! Webhooks, the event outbox, deliveries and their attempt log.
//!
//! Claiming due deliveries is the only SQL here that differs per backend:
//! PostgreSQL skips rows another `serve` process has locked.

use maecenas_domain::{
    CampaignId, DeliveryId, DeliveryStatus, OAuthClientId, UserId, WebhookEventId, WebhookId,
};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

// Shared with the token endpoint's grants on either write path (see
// `crate::token_statements`), so each text is written once.
pub(crate) const PAUSE_WEBHOOKS_WITHOUT_ACCESS: &str = "UPDATE webhooks SET paused = TRUE, \
     paused_reason = 'access_revoked', updated_at = $3 \
     WHERE oauth_client_id = $1 AND NOT paused \
     AND campaign_id IN (SELECT id FROM campaigns WHERE creator_id = $2) \
     AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_row_id = $1 AND g.user_id = $2 \
         AND g.revoked_at IS NULL AND (' ' || g.scope || ' ') LIKE $4)";
pub(crate) const RESUME_WEBHOOKS_WITH_ACCESS: &str = "UPDATE webhooks SET paused = FALSE, \
     paused_reason = NULL, updated_at = $3 \
     WHERE oauth_client_id = $1 AND paused AND paused_reason = 'access_revoked' \
     AND campaign_id IN (SELECT id FROM campaigns WHERE creator_id = $2)";

/// A LIKE pattern matching a space-separated scope list that holds `scope`
/// (scope names hold neither `%` nor `_`).
pub(crate) fn scope_pattern(scope: &str) -> String {
    format!("% {scope} %")
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    #[sqlx(try_from = "i64")]
    pub id: WebhookId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub oauth_client_id: Option<i64>,
    pub uri: String,
    /// Comma-separated trigger names (`maecenas_domain::webhooks::split_triggers`).
    pub triggers: String,
    pub secret: String,
    pub paused: bool,
    /// Why it is paused when the creator did not choose it: `access_revoked`
    /// (its app lost the creator's grant) or `account_closed`.
    pub paused_reason: Option<String>,
    pub num_consecutive_times_failed: i32,
    pub last_attempted_at: Option<OffsetDateTime>,
    pub failing_since: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}
maecenas_domain::debug_showing!(WebhookRow {
    id,
    campaign_id,
    oauth_client_id,
    uri,
    triggers,
    paused,
    paused_reason,
    num_consecutive_times_failed,
    last_attempted_at,
    failing_since,
    created_at,
    updated_at
});

impl WebhookRow {
    pub fn client(&self) -> Option<OAuthClientId> {
        self.oauth_client_id.map(OAuthClientId::from)
    }
}

macro_rules! webhook_columns {
    () => {
        "id, campaign_id, oauth_client_id, uri, triggers, secret, paused, paused_reason, \
         num_consecutive_times_failed, last_attempted_at, failing_since, created_at, updated_at"
    };
}

pub async fn insert_webhook(tx: &mut Tx, w: &WebhookRow) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        "INSERT INTO webhooks (",
        webhook_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(w.id.get())
        .bind(w.campaign_id.get())
        .bind(w.oauth_client_id)
        .bind(&w.uri)
        .bind(&w.triggers)
        .bind(&w.secret)
        .bind(w.paused)
        .bind(&w.paused_reason)
        .bind(w.num_consecutive_times_failed)
        .bind(db(w.last_attempted_at))
        .bind(db(w.failing_since))
        .bind(db(w.created_at))
        .bind(db(w.updated_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn webhook_by_id(tx: &mut Tx, id: WebhookId) -> Result<Option<WebhookRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        webhook_columns!(),
        " FROM webhooks WHERE id = $1"
    );
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, WebhookRow>(
        SQL
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

/// A campaign's webhooks, oldest first.
pub async fn webhooks_of_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
) -> Result<Vec<WebhookRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        webhook_columns!(),
        " FROM webhooks WHERE campaign_id = $1 ORDER BY id"
    );
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, WebhookRow>(
        SQL
    )
    .bind(campaign.get())
    .fetch_all(conn)
    .await)?)
}

/// The webhooks of several campaigns at once (a billing batch's).
pub async fn webhooks_of_campaigns(
    tx: &mut Tx,
    campaigns: &[CampaignId],
) -> Result<Vec<WebhookRow>, StoreError> {
    if campaigns.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    for chunk in campaigns.chunks(1000) {
        rows.extend(on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(concat!(
                "SELECT ",
                webhook_columns!(),
                " FROM webhooks WHERE campaign_id IN ("
            ));
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.get());
            }
            qb.push(") ORDER BY id");
            qb.build_query_as::<WebhookRow>().fetch_all(conn).await
        })?);
    }
    Ok(rows)
}

/// Changes what a creator may change. `unpaused`: the webhook was paused and
/// is not any more, so its failing state ends.
pub async fn update_webhook(
    tx: &mut Tx,
    id: WebhookId,
    uri: &str,
    triggers: &str,
    paused: bool,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE webhooks SET uri = $2, triggers = $3, paused = $4, updated_at = $5, \
         paused_reason = CASE WHEN $4 THEN paused_reason ELSE NULL END, \
         failing_since = CASE WHEN $4 THEN failing_since ELSE NULL END, \
         num_consecutive_times_failed = CASE WHEN paused AND NOT $4 THEN 0 ELSE num_consecutive_times_failed END \
         WHERE id = $1";
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id.get())
        .bind(uri)
        .bind(triggers)
        .bind(paused)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Pauses an app's webhooks on the campaigns of `creator` when no grant of
/// the creator's to that app holds `scope` any more (`access_revoked`).
/// Webhooks already paused keep their reason. Returns how many were paused.
pub async fn pause_webhooks_without_access(
    tx: &mut Tx,
    client: OAuthClientId,
    creator: UserId,
    scope: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = PAUSE_WEBHOOKS_WITHOUT_ACCESS;
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(client.get())
        .bind(creator.get())
        .bind(db(now))
        .bind(scope_pattern(scope))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Resumes the webhooks [`pause_webhooks_without_access`] paused, once the
/// creator has authorized the app again. Returns how many were resumed.
pub async fn resume_webhooks_with_access(
    tx: &mut Tx,
    client: OAuthClientId,
    creator: UserId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = RESUME_WEBHOOKS_WITH_ACCESS;
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(client.get())
        .bind(creator.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Pauses every webhook of a campaign for `reason`, whatever paused it before.
pub async fn pause_webhooks_of_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
    reason: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE webhooks SET paused = TRUE, paused_reason = $2, updated_at = $3 \
         WHERE campaign_id = $1";
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(campaign.get())
        .bind(reason)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Pauses every webhook registered by an app `owner` owns (`access_revoked`).
pub async fn pause_webhooks_of_clients_owned_by(
    tx: &mut Tx,
    owner: UserId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE webhooks SET paused = TRUE, paused_reason = 'access_revoked', updated_at = $2 \
         WHERE NOT paused AND oauth_client_id IN (SELECT id FROM oauth_clients WHERE owner_id = $1)";
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(owner.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Whether a webhook may be sent to now: not paused, its creator's account
/// open, and, for an app's webhook, a live grant of the creator's to that
/// app holding `scope`. Asked before every attempt.
pub async fn may_deliver(tx: &mut Tx, webhook: WebhookId, scope: &str) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT CAST(count(*) AS BIGINT) FROM webhooks w \
         JOIN campaigns c ON c.id = w.campaign_id JOIN users u ON u.id = c.creator_id \
         WHERE w.id = $1 AND NOT w.paused AND NOT u.is_deleted \
         AND (w.oauth_client_id IS NULL OR EXISTS (SELECT 1 FROM oauth_grants g \
             WHERE g.client_row_id = w.oauth_client_id AND g.user_id = c.creator_id \
             AND g.revoked_at IS NULL AND (' ' || g.scope || ' ') LIKE $2))";
    let n: i64 = on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(webhook.get())
        .bind(scope_pattern(scope))
        .fetch_one(conn)
        .await)?;
    Ok(n > 0)
}

/// Deletes every webhook an app registered, with their deliveries and logs,
/// deliveries before webhooks: the order the delivery recorder locks them in,
/// so deleting an app while its webhooks deliver cannot deadlock with it
/// (the foreign key's cascade would lock the webhook first).
pub async fn delete_webhooks_of_client(
    tx: &mut Tx,
    client: OAuthClientId,
) -> Result<u64, StoreError> {
    let ids: Vec<i64> = on_backend!(tx, |conn| sqlx::query_scalar(
        "SELECT id FROM webhooks WHERE oauth_client_id = $1 ORDER BY id"
    )
    .bind(client.get())
    .fetch_all(conn)
    .await)?;
    let mut deleted = 0;
    for id in ids {
        deleted += u64::from(delete_webhook(tx, WebhookId::from(id)).await?);
    }
    Ok(deleted)
}

/// Deletes a webhook with its deliveries and their log (the events stay).
pub async fn delete_webhook(tx: &mut Tx, id: WebhookId) -> Result<bool, StoreError> {
    const ATTEMPTS: &str = "DELETE FROM webhook_attempts WHERE webhook_id = $1";
    const DELIVERIES: &str = "DELETE FROM webhook_deliveries WHERE webhook_id = $1";
    const WEBHOOK: &str = "DELETE FROM webhooks WHERE id = $1";
    let n = on_backend!(tx, |conn| {
        sqlx::query(ATTEMPTS)
            .bind(id.get())
            .execute(&mut *conn)
            .await?;
        sqlx::query(DELIVERIES)
            .bind(id.get())
            .execute(&mut *conn)
            .await?;
        sqlx::query(WEBHOOK)
            .bind(id.get())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: WebhookEventId,
    pub campaign_id: CampaignId,
    pub trigger: String,
    pub pledge_id: Option<i64>,
    pub charge_id: Option<i64>,
    pub is_test: bool,
    pub body: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: WebhookEventId,
    pub next_attempt_at: OffsetDateTime,
    pub give_up_at: OffsetDateTime,
}

/// Writes events and the deliveries they owe, in the caller's transaction.
pub async fn insert_events(
    tx: &mut Tx,
    events: &[NewEvent],
    deliveries: &[NewDelivery],
) -> Result<(), StoreError> {
    for chunk in events.chunks(500) {
        on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO webhook_events (id, campaign_id, trigger, pledge_id, charge_id, is_test, body, created_at) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.id.get())
                    .push_bind(e.campaign_id.get())
                    .push_bind(&e.trigger)
                    .push_bind(e.pledge_id)
                    .push_bind(e.charge_id)
                    .push_bind(e.is_test)
                    .push_bind(&e.body)
                    .push_bind(db(e.created_at));
            });
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    for chunk in deliveries.chunks(1000) {
        on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, status, attempts, next_attempt_at, give_up_at, created_at) ",
            );
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(d.id.get())
                    .push_bind(d.webhook_id.get())
                    .push_bind(d.event_id.get())
                    .push_bind("pending")
                    .push_bind(0i32)
                    .push_bind(db(d.next_attempt_at))
                    .push_bind(db(d.give_up_at))
                    .push_bind(db(d.next_attempt_at));
            });
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// A delivery a worker took, with all it needs to send it.
#[derive(Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    #[sqlx(try_from = "i64")]
    pub id: DeliveryId,
    #[sqlx(try_from = "i64")]
    pub webhook_id: WebhookId,
    #[sqlx(try_from = "i64")]
    pub event_id: WebhookEventId,
    /// This attempt's number (1 for the first).
    pub attempts: i32,
    pub give_up_at: OffsetDateTime,
    /// The app that registered the webhook (`None`: the creator, in the portal).
    pub oauth_client_id: Option<i64>,
    pub uri: String,
    pub secret: String,
    pub trigger: String,
    pub body: String,
    pub event_created_at: OffsetDateTime,
}
maecenas_domain::debug_showing!(ClaimedDelivery {
    id,
    webhook_id,
    event_id,
    attempts,
    give_up_at,
    oauth_client_id,
    uri,
    trigger,
    body,
    event_created_at
});

// The due deliveries in order (locked, on PostgreSQL, skipping what another
// process holds), then at most `$4` of them per webhook: a receiver with a
// backlog cannot fill a whole claim. `$2` are the webhooks this worker has
// enough in flight for: a JSON array on SQLite, an array parameter on
// PostgreSQL. Paused webhooks are a small list, read once as a hashed
// subquery rather than joined.
macro_rules! claimable_deliveries {
    ($exclude:literal, $lock:literal) => {
        concat!(
            "WITH due AS (SELECT d.id, d.webhook_id, d.next_attempt_at FROM webhook_deliveries d \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
             AND d.webhook_id NOT IN (SELECT id FROM webhooks WHERE paused) ",
            $exclude,
            " ORDER BY d.next_attempt_at, d.id LIMIT $3",
            $lock,
            ") SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at, id) AS nth \
             FROM due) ranked WHERE nth <= $4"
        )
    };
}
const CLAIMABLE_SQLITE: &str = claimable_deliveries!(
    "AND d.webhook_id NOT IN (SELECT value FROM json_each($2))",
    ""
);
const CLAIMABLE_PG: &str = claimable_deliveries!(
    "AND NOT (d.webhook_id = ANY($2))",
    " FOR UPDATE OF d SKIP LOCKED"
);

/// Takes up to `limit` due deliveries of unpaused webhooks, at most
/// `per_webhook` of each, except those of `busy` webhooks, for `worker` until
/// `lease_until`; each starts its next attempt.
pub async fn claim_deliveries(
    tx: &mut Tx,
    now: OffsetDateTime,
    worker: &str,
    lease_until: OffsetDateTime,
    busy: &[WebhookId],
    limit: i64,
    per_webhook: i64,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let busy: Vec<i64> = busy.iter().map(|w| w.get()).collect();
    let ids: Vec<i64> = match tx {
        Tx::Sqlite(tx) => {
            let busy = serde_json::to_string(&busy).unwrap_or_else(|_| "[]".into());
            sqlx::query_scalar(CLAIMABLE_SQLITE)
                .bind(db(now))
                .bind(busy)
                .bind(limit)
                .bind(per_webhook)
                .fetch_all(&mut **tx)
                .await?
        }
        Tx::Postgres(tx) => {
            sqlx::query_scalar(CLAIMABLE_PG)
                .bind(db(now))
                .bind(&busy)
                .bind(limit)
                .bind(per_webhook)
                .fetch_all(&mut **tx)
                .await?
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    on_backend!(tx, |conn| {
        let mut qb = QueryBuilder::new("UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_by = ");
        qb.push_bind(worker)
            .push(", claimed_until = ")
            .push_bind(db(lease_until))
            .push(" WHERE id IN (");
        let mut list = qb.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await?;
        let mut qb = QueryBuilder::new(
            "SELECT d.id, d.webhook_id, d.event_id, d.attempts, d.give_up_at, w.oauth_client_id, w.uri, w.secret, e.trigger, e.body, \
             e.created_at AS event_created_at FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id JOIN webhook_events e ON e.id = d.event_id WHERE d.id IN (",
        );
        let mut list = qb.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        qb.push(") ORDER BY d.next_attempt_at, d.id");
        qb.build_query_as::<ClaimedDelivery>().fetch_all(conn).await
    })
    .map_err(StoreError::from)
}

/// Hands a claimed delivery back unsent, as if never claimed, because its
/// webhook may not be sent to (see [`may_deliver`]); a webhook still running
/// is paused (`access_revoked`) so that it is not claimed for again.
pub async fn withhold_delivery(
    tx: &mut Tx,
    delivery: DeliveryId,
    webhook: WebhookId,
    worker: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    const DELIVERY: &str = "UPDATE webhook_deliveries SET attempts = attempts - 1, claimed_by = NULL, \
         claimed_until = NULL WHERE id = $1 AND claimed_by = $2 AND status = 'pending'";
    const WEBHOOK: &str = "UPDATE webhooks SET paused = TRUE, paused_reason = 'access_revoked', updated_at = $2 \
         WHERE id = $1 AND NOT paused";
    on_backend!(tx, |conn| {
        sqlx::query(DELIVERY)
            .bind(delivery.get())
            .bind(worker)
            .execute(&mut *conn)
            .await?;
        sqlx::query(WEBHOOK)
            .bind(webhook.get())
            .bind(db(now))
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Renews `worker`'s claims on the deliveries it holds (claimed, not yet recorded).
pub async fn renew_claims(
    tx: &mut Tx,
    worker: &str,
    until: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQLITE: &str = "UPDATE webhook_deliveries SET claimed_until = $2 \
         WHERE claimed_by = $1 AND status = 'pending' AND claimed_until IS NOT NULL";
    // Rows the recorder holds are being recorded: skipped, not waited for
    // (and no lock-order deadlock with it).
    const PG: &str = "UPDATE webhook_deliveries SET claimed_until = $2 WHERE id IN \
         (SELECT id FROM webhook_deliveries WHERE claimed_by = $1 AND status = 'pending' \
          AND claimed_until IS NOT NULL FOR UPDATE SKIP LOCKED)";
    let sql = match tx.backend() {
        crate::Backend::Sqlite => SQLITE,
        crate::Backend::Postgres => PG,
    };
    Ok(on_backend!(tx, |conn| sqlx::query(sql)
        .bind(worker)
        .bind(db(until))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Hands back deliveries `worker` claimed but never started (it is
/// stopping), so that another process sends them at once.
pub async fn release_claims(
    tx: &mut Tx,
    worker: &str,
    deliveries: &[DeliveryId],
) -> Result<u64, StoreError> {
    let mut released = 0;
    for chunk in deliveries.chunks(1000) {
        released += on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(
                "UPDATE webhook_deliveries SET attempts = attempts - 1, claimed_by = NULL, claimed_until = NULL \
                 WHERE status = 'pending' AND claimed_by = ",
            );
            qb.push_bind(worker).push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.get());
            }
            qb.push(")");
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(released)
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub attempt_id: i64,
    pub delivery_id: DeliveryId,
    pub webhook_id: WebhookId,
    pub attempt: i32,
    pub started_at: OffsetDateTime,
    pub latency_ms: i64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub response_start: Option<String>,
    pub next: NextStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(OffsetDateTime),
    /// No retry is left: the delivery failed and its webhook is paused.
    GiveUp,
}

/// Records a batch of finished attempts in one transaction: the log, the
/// deliveries' next step, and each webhook's failure count.
pub async fn record_attempts(
    tx: &mut Tx,
    worker: &str,
    outcomes: &[AttemptOutcome],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for chunk in outcomes.chunks(500) {
        on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO webhook_attempts (id, delivery_id, webhook_id, attempt, started_at, latency_ms, status_code, error, response_start) ",
            );
            qb.push_values(chunk, |mut b, o| {
                b.push_bind(o.attempt_id)
                    .push_bind(o.delivery_id.get())
                    .push_bind(o.webhook_id.get())
                    .push_bind(o.attempt)
                    .push_bind(db(o.started_at))
                    .push_bind(o.latency_ms)
                    .push_bind(o.status_code)
                    .push_bind(&o.error)
                    .push_bind(&o.response_start);
            });
            // A webhook deleted meanwhile took its deliveries with it.
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    const RETRY: &str = "UPDATE webhook_deliveries SET next_attempt_at = $3, last_status = $4, last_error = $5, \
         claimed_until = NULL WHERE id = $1 AND claimed_by = $2 AND status = 'pending'";
    const FAILED: &str = "UPDATE webhook_deliveries SET status = 'failed', last_status = $3, last_error = $4, \
         claimed_until = NULL WHERE id = $1 AND claimed_by = $2 AND status = 'pending'";
    // The common case, delivered, is one statement per chunk: UPDATE ... FROM (VALUES ...).
    let delivered: Vec<(i64, Option<i32>)> = outcomes
        .iter()
        .filter(|o| o.next == NextStep::Delivered)
        .map(|o| (o.delivery_id.get(), o.status_code))
        .collect();
    for chunk in delivered.chunks(1000) {
        on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(
                "UPDATE webhook_deliveries SET status = 'delivered', last_error = NULL, claimed_until = NULL, delivered_at = ",
            );
            qb.push_bind(db(now))
                .push(", last_status = v.column2 FROM (");
            qb.push_values(chunk, |mut b, (id, status)| {
                b.push("CAST(")
                    .push_bind_unseparated(*id)
                    .push_unseparated(" AS BIGINT)")
                    .push("CAST(")
                    .push_bind_unseparated(*status)
                    .push_unseparated(" AS INTEGER)");
            });
            qb.push(") AS v WHERE webhook_deliveries.id = v.column1 AND webhook_deliveries.claimed_by = ")
                .push_bind(worker)
                .push(" AND webhook_deliveries.status = 'pending'");
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    for o in outcomes {
        on_backend!(tx, |conn| match o.next {
            NextStep::Delivered => Ok(()),
            NextStep::RetryAt(at) => sqlx::query(RETRY)
                .bind(o.delivery_id.get())
                .bind(worker)
                .bind(db(at))
                .bind(o.status_code)
                .bind(&o.error)
                .execute(conn)
                .await
                .map(|_| ()),
            NextStep::GiveUp => sqlx::query(FAILED)
                .bind(o.delivery_id.get())
                .bind(worker)
                .bind(o.status_code)
                .bind(&o.error)
                .execute(conn)
                .await
                .map(|_| ()),
        })?;
    }
    // Each webhook once, by its attempts in this batch, in order.
    let mut per_webhook: Vec<(WebhookId, i32, bool, bool)> = Vec::new();
    for o in outcomes {
        let entry = match per_webhook.iter_mut().find(|(w, ..)| *w == o.webhook_id) {
            Some(entry) => entry,
            None => {
                per_webhook.push((o.webhook_id, 0, false, false));
                per_webhook.last_mut().expect("just pushed")
            }
        };
        match o.next {
            NextStep::Delivered => {
                entry.1 = 0;
                entry.2 = true;
            }
            NextStep::RetryAt(_) => entry.1 += 1,
            NextStep::GiveUp => {
                entry.1 += 1;
                entry.3 = true;
            }
        }
    }
    // In id order: two batches written at once lock webhooks in the same order.
    per_webhook.sort_by_key(|(webhook, ..)| *webhook);
    const STATS: &str = "UPDATE webhooks SET last_attempted_at = $2, \
         num_consecutive_times_failed = CASE WHEN $3 THEN $4 ELSE num_consecutive_times_failed + $4 END, \
         failing_since = CASE WHEN $5 THEN coalesce(failing_since, $2) WHEN $3 THEN NULL ELSE failing_since END, \
         paused = CASE WHEN $5 THEN TRUE ELSE paused END WHERE id = $1";
    for (webhook, failures_since_success, any_success, gave_up) in per_webhook {
        on_backend!(tx, |conn| sqlx::query(STATS)
            .bind(webhook.get())
            .bind(db(now))
            .bind(any_success)
            .bind(failures_since_success)
            .bind(gave_up)
            .execute(conn)
            .await
            .map(|_| ()))?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    #[sqlx(try_from = "i64")]
    pub id: DeliveryId,
    #[sqlx(try_from = "i64")]
    pub webhook_id: WebhookId,
    #[sqlx(try_from = "i64")]
    pub event_id: WebhookEventId,
    pub trigger: String,
    pub is_test: bool,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
}

/// A webhook's latest deliveries, newest first.
pub async fn deliveries_of_webhook(
    tx: &mut Tx,
    webhook: WebhookId,
    limit: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    const SQL: &str = "SELECT d.id, d.webhook_id, d.event_id, e.trigger, e.is_test, d.status, d.attempts, \
         d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at \
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
         WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT $2";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, DeliveryRow>(
        SQL
    )
    .bind(webhook.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

pub async fn delivery_by_id(
    tx: &mut Tx,
    id: DeliveryId,
) -> Result<Option<DeliveryRow>, StoreError> {
    const SQL: &str = "SELECT d.id, d.webhook_id, d.event_id, e.trigger, e.is_test, d.status, d.attempts, \
         d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at \
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE d.id = $1";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, DeliveryRow>(
        SQL
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub delivery_id: DeliveryId,
    pub trigger: String,
    pub attempt: i32,
    pub started_at: OffsetDateTime,
    pub latency_ms: i64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub response_start: Option<String>,
}

/// A webhook's latest attempts, newest first: the portal's delivery log.
pub async fn attempts_of_webhook(
    tx: &mut Tx,
    webhook: WebhookId,
    limit: i64,
) -> Result<Vec<AttemptRow>, StoreError> {
    const SQL: &str = "SELECT a.id, a.delivery_id, e.trigger, a.attempt, a.started_at, a.latency_ms, a.status_code, \
         a.error, a.response_start FROM webhook_attempts a \
         JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_events e ON e.id = d.event_id \
         WHERE a.webhook_id = $1 ORDER BY a.id DESC LIMIT $2";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, AttemptRow>(
        SQL
    )
    .bind(webhook.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

/// Sends a delivery again (whatever its state) from now on, with a fresh retry window.
pub async fn redeliver(
    tx: &mut Tx,
    id: DeliveryId,
    now: OffsetDateTime,
    give_up_at: OffsetDateTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, give_up_at = $3, \
         claimed_until = NULL, delivered_at = NULL WHERE id = $1";
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id.get())
        .bind(db(now))
        .bind(db(give_up_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Puts a webhook's given-up deliveries back in line (when it is resumed).
pub async fn requeue_failed(
    tx: &mut Tx,
    webhook: WebhookId,
    now: OffsetDateTime,
    give_up_at: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, give_up_at = $3, \
         claimed_until = NULL WHERE webhook_id = $1 AND status = 'failed'";
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(webhook.get())
        .bind(db(now))
        .bind(db(give_up_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

pub async fn delivery_counts(
    tx: &mut Tx,
    webhook: WebhookId,
) -> Result<DeliveryCounts, StoreError> {
    #[derive(sqlx::FromRow)]
    struct StatusCount {
        #[sqlx(try_from = "String")]
        status: DeliveryStatus,
        n: i64,
    }
    const SQL: &str = "SELECT status, count(*) AS n FROM webhook_deliveries WHERE webhook_id = $1 GROUP BY status";
    let rows: Vec<StatusCount> = on_backend!(tx, |conn| sqlx::query_as(SQL)
        .bind(webhook.get())
        .fetch_all(conn)
        .await)?;
    let mut counts = DeliveryCounts::default();
    for StatusCount { status, n } in rows {
        match status {
            DeliveryStatus::Pending => counts.pending = n,
            DeliveryStatus::Delivered => counts.delivered = n,
            DeliveryStatus::Failed => counts.failed = n,
        }
    }
    Ok(counts)
}

/// Deliveries still owed across all webhooks (for benchmarks and operators).
pub async fn pending_deliveries(tx: &mut Tx) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'";
    Ok(on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .fetch_one(conn)
        .await)?)
}

/// When the delivery that has waited longest was due (`None`: nothing is
/// owed). Read from the front of the due index, for operators' metrics.
pub async fn oldest_pending_delivery(tx: &mut Tx) -> Result<Option<OffsetDateTime>, StoreError> {
    const SQL: &str = "SELECT next_attempt_at FROM webhook_deliveries WHERE status = 'pending' \
         ORDER BY next_attempt_at LIMIT 1";
    Ok(on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .fetch_optional(conn)
        .await)?)
}
