//! `charges`: what a patron is charged, per pledge and period or per donation, and each attempt's outcome.
//!
//! Work is claimed with a lease (`claimed_by`, `claimed_until`); on
//! PostgreSQL the rows are also locked with `FOR UPDATE SKIP LOCKED` while
//! they are claimed, so several processes running the same period split the
//! work instead of queueing on it. These are the only queries whose text
//! differs between the backends.

use maecenas_domain::{CampaignId, ChargeId, ChargeStatus, PledgeId, UserId};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{Backend, StoreError, Tx, on_backend};

/// A pledge owing a charge for a period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DuePledge {
    #[sqlx(try_from = "i64")]
    pub id: PledgeId,
    #[sqlx(try_from = "i64")]
    pub patron_id: UserId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub amount_minor: i64,
    pub currency: String,
    pub patron_pays_fees: bool,
    pub pledge_cap_minor: Option<i64>,
    pub payment_method_id: Option<i64>,
    /// Per-creation campaigns: paid creations published in the period while the pledge stood.
    pub paid_creations: i64,
    /// The gateway's reference of the pledge's card.
    pub payment_method_ref: Option<String>,
}

macro_rules! due_pledges {
    ($campaign_kind:literal, $creations:literal, $lock:literal) => {
        concat!(
            "SELECT p.id, p.patron_id, p.campaign_id, p.amount_minor, p.currency, p.patron_pays_fees, \
             p.pledge_cap_minor, p.payment_method_id, ",
            $creations,
            " AS paid_creations, pm.gateway_ref AS payment_method_ref \
             FROM pledges p JOIN campaigns c ON c.id = p.campaign_id \
             JOIN users creator ON creator.id = c.creator_id \
             LEFT JOIN payment_methods pm ON pm.id = p.payment_method_id WHERE ",
            $campaign_kind,
            " AND NOT creator.is_suspended AND NOT creator.is_deleted \
             AND p.status = 'active' AND p.ended_at IS NULL AND p.created_at < $1 AND p.id > $2 \
             AND (SELECT count(*) FROM charges ch WHERE ch.pledge_id = p.id AND ch.period = $3) = 0 \
             ORDER BY p.id LIMIT $4",
            $lock
        )
    };
}

const MONTHLY_DUE_SQLITE: &str = due_pledges!("c.is_monthly", "CAST(0 AS BIGINT)", "");
const MONTHLY_DUE_PG: &str = due_pledges!(
    "c.is_monthly",
    "CAST(0 AS BIGINT)",
    " FOR UPDATE OF p SKIP LOCKED"
);
const PER_CREATION_DUE_SQLITE: &str = due_pledges!(
    "NOT c.is_monthly",
    "(SELECT CAST(count(*) AS BIGINT) FROM creations cr WHERE cr.campaign_id = p.campaign_id \
         AND cr.is_paid AND cr.published_at >= $5 AND cr.published_at < $1 AND cr.published_at >= p.created_at)",
    ""
);
const PER_CREATION_DUE_PG: &str = due_pledges!(
    "NOT c.is_monthly",
    "(SELECT CAST(count(*) AS BIGINT) FROM creations cr WHERE cr.campaign_id = p.campaign_id \
         AND cr.is_paid AND cr.published_at >= $5 AND cr.published_at < $1 AND cr.published_at >= p.created_at)",
    " FOR UPDATE OF p SKIP LOCKED"
);

// The lock-free texts (`*_SQLITE`) are also what `due_pledges_unlocked`
// runs on PostgreSQL. A suspended or closed creator's pledges are not due.
//
// "Has no charge for the period" is a scalar subquery, not NOT EXISTS:
// PostgreSQL turns NOT EXISTS into an anti-join, and while a run fills
// `charges` its statistics still say "empty", so it hashed every charge for
// every batch (2-3 s a batch at 1M). A scalar subquery stays one index probe
// per pledge (charges_pledge_period) whatever the statistics say.

/// The next pledges (by id, after `after`) that owe a charge for the period
/// `[period_start, period_end)` labelled `period` and have none yet. Monthly
/// campaigns' pledges when `per_creation` is false, per-creation campaigns'
/// otherwise. On PostgreSQL, pledges another process holds are skipped.
pub async fn due_pledges(
    tx: &mut Tx,
    per_creation: bool,
    period: &str,
    period_start: OffsetDateTime,
    period_end: OffsetDateTime,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<Vec<DuePledge>, StoreError> {
    let after = after.map_or(0, PledgeId::get);
    // The one difference between the backends is the text: PostgreSQL skips locked rows.
    let sql = match (tx.backend(), per_creation) {
        (Backend::Sqlite, false) => MONTHLY_DUE_SQLITE,
        (Backend::Sqlite, true) => PER_CREATION_DUE_SQLITE,
        (Backend::Postgres, false) => MONTHLY_DUE_PG,
        (Backend::Postgres, true) => PER_CREATION_DUE_PG,
    };
    Ok(on_backend!(tx, |conn| {
        let query = sqlx::query_as::<_, DuePledge>(sql)
            .bind(db(period_end))
            .bind(after)
            .bind(period)
            .bind(limit);
        // The monthly query has no $5, and a bind too many is an error.
        let query = if per_creation {
            query.bind(db(period_start))
        } else {
            query
        };
        query.fetch_all(conn).await
    })?)
}

/// As [`due_pledges`], without taking or skipping any lock: what is still
/// due whoever holds it (a plain read waits on no row lock on PostgreSQL).
/// For a run to say what it could not do.
pub async fn due_pledges_unlocked(
    tx: &mut Tx,
    per_creation: bool,
    period: &str,
    period_start: OffsetDateTime,
    period_end: OffsetDateTime,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<Vec<DuePledge>, StoreError> {
    let after = after.map_or(0, PledgeId::get);
    let sql = if per_creation {
        PER_CREATION_DUE_SQLITE
    } else {
        MONTHLY_DUE_SQLITE
    };
    Ok(on_backend!(tx, |conn| {
        let query = sqlx::query_as::<_, DuePledge>(sql)
            .bind(db(period_end))
            .bind(after)
            .bind(period)
            .bind(limit);
        let query = if per_creation {
            query.bind(db(period_start))
        } else {
            query
        };
        query.fetch_all(conn).await
    })?)
}

#[derive(Debug, Clone)]
pub struct NewCharge {
    pub id: ChargeId,
    pub kind: &'static str,
    pub pledge_id: Option<PledgeId>,
    pub donation_id: Option<i64>,
    pub period: Option<String>,
    pub patron_id: UserId,
    pub campaign_id: CampaignId,
    pub payment_method_id: Option<i64>,
    pub currency: String,
    pub amount_minor: i64,
    pub gateway_fee_minor: i64,
    pub platform_fee_minor: i64,
    pub creator_net_minor: i64,
    pub gateway: String,
    /// The run that will make the first attempt right away, and its lease.
    pub claimed_by: String,
    pub claimed_until: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl NewCharge {
    /// The row as inserted, claimed by its run: what the first attempt needs,
    /// without reading back what was just written.
    pub fn claimed(&self, payment_method_ref: Option<String>) -> ClaimedCharge {
        ClaimedCharge {
            charge: ChargeRow {
                id: self.id,
                kind: self.kind.to_owned(),
                pledge_id: self.pledge_id.map(PledgeId::get),
                donation_id: self.donation_id,
                period: self.period.clone(),
                patron_id: self.patron_id,
                campaign_id: self.campaign_id,
                payment_method_id: self.payment_method_id,
                currency: self.currency.clone(),
                amount_minor: self.amount_minor,
                gateway_fee_minor: self.gateway_fee_minor,
                platform_fee_minor: self.platform_fee_minor,
                creator_net_minor: self.creator_net_minor,
                status: ChargeStatus::Pending,
                attempts: 1,
                next_attempt_at: self.created_at,
                first_failed_at: None,
                failure_code: None,
                failure_message: None,
                gateway: self.gateway.clone(),
                gateway_ref: None,
                claimed_by: Some(self.claimed_by.clone()),
                claimed_until: Some(self.claimed_until),
                created_at: self.created_at,
                updated_at: self.created_at,
                succeeded_at: None,
            },
            payment_method_ref,
            resumed: false,
        }
    }
}

/// Inserts charges, skipping any whose pledge and period (or donation)
/// already has one; returns the ids actually inserted.
pub async fn insert_charges(
    tx: &mut Tx,
    charges: &[NewCharge],
) -> Result<Vec<ChargeId>, StoreError> {
    if charges.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<i64> = Vec::with_capacity(charges.len());
    // 21 binds a row: a thousand rows stay under SQLite's 32,766 variables.
    for chunk in charges.chunks(1_000) {
        let inserted: Vec<i64> = on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO charges (id, kind, pledge_id, donation_id, period, patron_id, campaign_id, \
             payment_method_id, currency, amount_minor, gateway_fee_minor, platform_fee_minor, creator_net_minor, \
             status, attempts, next_attempt_at, gateway, claimed_by, claimed_until, created_at, updated_at) ",
            );
            qb.push_values(chunk, |mut b, c| {
                b.push_bind(c.id.get())
                    .push_bind(c.kind)
                    .push_bind(c.pledge_id.map(PledgeId::get))
                    .push_bind(c.donation_id)
                    .push_bind(&c.period)
                    .push_bind(c.patron_id.get())
                    .push_bind(c.campaign_id.get())
                    .push_bind(c.payment_method_id)
                    .push_bind(&c.currency)
                    .push_bind(c.amount_minor)
                    .push_bind(c.gateway_fee_minor)
                    .push_bind(c.platform_fee_minor)
                    .push_bind(c.creator_net_minor)
                    .push_bind("pending")
                    .push_bind(1_i32)
                    .push_bind(db(c.created_at))
                    .push_bind(&c.gateway)
                    .push_bind(&c.claimed_by)
                    .push_bind(db(c.claimed_until))
                    .push_bind(db(c.created_at))
                    .push_bind(db(c.created_at));
            });
            qb.push(" ON CONFLICT DO NOTHING RETURNING id");
            qb.build_query_scalar::<i64>().fetch_all(conn).await
        })?;
        ids.extend(inserted);
    }
    Ok(ids.into_iter().map(ChargeId::from).collect())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChargeRow {
    #[sqlx(try_from = "i64")]
    pub id: ChargeId,
    pub kind: String,
    pub pledge_id: Option<i64>,
    pub donation_id: Option<i64>,
    pub period: Option<String>,
    #[sqlx(try_from = "i64")]
    pub patron_id: UserId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub payment_method_id: Option<i64>,
    pub currency: String,
    pub amount_minor: i64,
    pub gateway_fee_minor: i64,
    pub platform_fee_minor: i64,
    pub creator_net_minor: i64,
    #[sqlx(try_from = "String")]
    pub status: ChargeStatus,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub first_failed_at: Option<OffsetDateTime>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub gateway: String,
    pub gateway_ref: Option<String>,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub succeeded_at: Option<OffsetDateTime>,
}

macro_rules! charge_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "kind, ",
            $p,
            "pledge_id, ",
            $p,
            "donation_id, ",
            $p,
            "period, ",
            $p,
            "patron_id, ",
            $p,
            "campaign_id, ",
            $p,
            "payment_method_id, ",
            $p,
            "currency, ",
            $p,
            "amount_minor, ",
            $p,
            "gateway_fee_minor, ",
            $p,
            "platform_fee_minor, ",
            $p,
            "creator_net_minor, ",
            $p,
            "status, ",
            $p,
            "attempts, ",
            $p,
            "next_attempt_at, ",
            $p,
            "first_failed_at, ",
            $p,
            "failure_code, ",
            $p,
            "failure_message, ",
            $p,
            "gateway, ",
            $p,
            "gateway_ref, ",
            $p,
            "claimed_by, ",
            $p,
            "claimed_until, ",
            $p,
            "created_at, ",
            $p,
            "updated_at, ",
            $p,
            "succeeded_at"
        )
    };
}

/// A charge taken by a run, with what the gateway needs to make the attempt.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedCharge {
    #[sqlx(flatten)]
    pub charge: ChargeRow,
    /// The gateway's reference of the card to charge (None: the pledge has no card).
    pub payment_method_ref: Option<String>,
    /// Taken over while pending: its attempt may have reached the gateway
    /// before the run that held it stopped, so look it up before sending.
    #[sqlx(skip)]
    pub resumed: bool,
}

const CHARGE_BY_ID: &str = concat!(
    "SELECT ",
    charge_columns!(""),
    " FROM charges WHERE id = $1"
);

pub async fn charge_by_id(tx: &mut Tx, id: ChargeId) -> Result<Option<ChargeRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, ChargeRow>(
        CHARGE_BY_ID
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

const CHARGES_OF_PLEDGE: &str = concat!(
    "SELECT ",
    charge_columns!(""),
    " FROM charges WHERE pledge_id = $1 ORDER BY id DESC LIMIT $2"
);

/// A pledge's charges, newest first.
pub async fn charges_of_pledge(
    tx: &mut Tx,
    pledge: PledgeId,
    limit: i64,
) -> Result<Vec<ChargeRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, ChargeRow>(
        CHARGES_OF_PLEDGE
    )
    .bind(pledge.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

const CHARGES_OF_PATRON: &str = concat!(
    "SELECT ",
    charge_columns!(""),
    " FROM charges WHERE patron_id = $1 ORDER BY id DESC LIMIT $2"
);

/// A patron's charges (pledges and donations), newest first.
pub async fn charges_of_patron(
    tx: &mut Tx,
    patron: UserId,
    limit: i64,
) -> Result<Vec<ChargeRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, ChargeRow>(
        CHARGES_OF_PATRON
    )
    .bind(patron.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

macro_rules! claimable {
    ($lock:literal) => {
        concat!(
            "SELECT c.id, c.status FROM charges c WHERE c.status IN ('pending', 'retrying') AND c.next_attempt_at <= $1 \
             AND (c.claimed_until IS NULL OR c.claimed_until <= $1) \
             AND (c.claimed_by IS NULL OR c.claimed_by <> $2) \
             AND ($3 = 0 OR c.patron_id = $3) \
             AND NOT EXISTS (SELECT 1 FROM campaigns ca JOIN users u ON u.id = ca.creator_id WHERE ca.id = c.campaign_id \
                 AND ((u.is_suspended AND NOT u.is_deleted) OR (u.is_deleted AND c.status = 'retrying'))) \
             ORDER BY c.next_attempt_at, c.id LIMIT $4",
            $lock
        )
    };
}
const CLAIMABLE_SQLITE: &str = claimable!("");
const CLAIMABLE_PG: &str = claimable!(" FOR UPDATE OF c SKIP LOCKED");

/// Claims up to `limit` charges that are due (`next_attempt_at <= now`),
/// not leased by a live run and not already handled by this one, optionally
/// of one patron. A retrying charge starts its next attempt; a pending one
/// keeps its attempt number, because that attempt may have reached the
/// gateway before a crash and must be looked up first under the same key.
pub async fn claim_due_charges(
    tx: &mut Tx,
    now: OffsetDateTime,
    run: &str,
    lease_until: OffsetDateTime,
    patron: Option<UserId>,
    limit: i64,
) -> Result<Vec<ClaimedCharge>, StoreError> {
    let patron = patron.map_or(0, UserId::get);
    let sql = match tx.backend() {
        Backend::Sqlite => CLAIMABLE_SQLITE,
        Backend::Postgres => CLAIMABLE_PG,
    };
    let found: Vec<(i64, String)> = on_backend!(tx, |conn| sqlx::query_as(sql)
        .bind(db(now))
        .bind(run)
        .bind(patron)
        .bind(limit)
        .fetch_all(conn)
        .await)?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    on_backend!(tx, |conn| {
        let mut qb = QueryBuilder::new(
            "UPDATE charges SET attempts = CASE WHEN status = 'retrying' THEN attempts + 1 ELSE attempts END, status = 'pending', claimed_by = ",
        );
        qb.push_bind(run)
            .push(", claimed_until = ")
            .push_bind(db(lease_until))
            .push(", updated_at = ")
            .push_bind(db(now))
            .push(" WHERE id IN (");
        let mut list = qb.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await?;
        Ok::<_, sqlx::Error>(())
    })?;
    let mut claimed = charges_with_cards(tx, &ids).await?;
    for charge in &mut claimed {
        charge.resumed = found
            .iter()
            .any(|(id, status)| *id == charge.charge.id.get() && status == "pending");
    }
    Ok(claimed)
}

/// Charges by id with the gateway reference of the card each is to be made on.
pub async fn charges_with_cards(
    tx: &mut Tx,
    ids: &[i64],
) -> Result<Vec<ClaimedCharge>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_backend!(tx, |conn| {
        let mut qb = QueryBuilder::new(concat!(
            "SELECT ",
            charge_columns!("c."),
            ", pm.gateway_ref AS payment_method_ref FROM charges c \
             LEFT JOIN payment_methods pm ON pm.id = c.payment_method_id WHERE c.id IN ("
        ));
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(") ORDER BY c.id");
        qb.build_query_as::<ClaimedCharge>().fetch_all(conn).await
    })?)
}

/// Successful attempts: (charge, the gateway's payment id).
pub async fn record_successes(
    tx: &mut Tx,
    run: &str,
    succeeded: &[(ChargeId, String)],
    now: OffsetDateTime,
) -> Result<Vec<ChargeId>, StoreError> {
    if succeeded.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = on_backend!(tx, |conn| {
        // One statement for the batch: UPDATE ... FROM (VALUES ...), which both backends speak.
        let mut qb = QueryBuilder::new("UPDATE charges SET status = 'succeeded', succeeded_at = ");
        qb.push_bind(db(now))
            .push(", updated_at = ")
            .push_bind(db(now))
            .push(", claimed_until = NULL, failure_code = NULL, failure_message = NULL, mail_due = TRUE, gateway_ref = v.column2 FROM (");
        qb.push_values(succeeded, |mut b, (id, reference)| {
            b.push("CAST(")
                .push_bind_unseparated(id.get())
                .push_unseparated(" AS BIGINT)")
                .push("CAST(")
                .push_bind_unseparated(reference)
                .push_unseparated(" AS TEXT)");
        });
        qb.push(") AS v WHERE charges.id = v.column1 AND charges.status = 'pending' AND charges.claimed_by = ")
            .push_bind(run)
            .push(" RETURNING charges.id");
        qb.build_query_scalar::<i64>().fetch_all(conn).await
    })?;
    Ok(ids.into_iter().map(ChargeId::from).collect())
}

/// Keeps `run`'s claim on charges it is still working on (a gateway round
/// that outlives the lease must not be taken over under it).
pub async fn renew_leases(
    tx: &mut Tx,
    run: &str,
    charges: &[ChargeId],
    until: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut renewed = 0;
    for chunk in charges.chunks(1000) {
        renewed += on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new("UPDATE charges SET claimed_until = ");
            qb.push_bind(db(until))
                .push(" WHERE status = 'pending' AND claimed_by = ")
                .push_bind(run)
                .push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.get());
            }
            qb.push(")");
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(renewed)
}

/// A declined attempt: why, since when the charge fails, and when to try again.
#[derive(Debug, Clone, Copy)]
pub struct Declined<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub first_failed_at: OffsetDateTime,
    /// `None`: no retry is left; the charge fails for good.
    pub retry_at: Option<OffsetDateTime>,
}

/// Records a declined attempt of a charge `run` holds: retried at
/// `retry_at`, or failed for good. `false` when the charge is no longer
/// pending under `run` (another run took it over or settled it).
pub async fn record_failure(
    tx: &mut Tx,
    run: &str,
    id: ChargeId,
    declined: Declined<'_>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let Declined {
        code,
        message,
        first_failed_at,
        retry_at,
    } = declined;
    const SQL: &str = "UPDATE charges SET status = $2, failure_code = $3, failure_message = $4, \
         first_failed_at = coalesce(first_failed_at, $5), next_attempt_at = coalesce($6, next_attempt_at), \
         claimed_until = NULL, mail_due = TRUE, updated_at = $7 WHERE id = $1 AND status = 'pending' AND claimed_by = $8";
    let status = if retry_at.is_some() {
        "retrying"
    } else {
        "failed"
    };
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id.get())
        .bind(status)
        .bind(code)
        .bind(message)
        .bind(db(first_failed_at))
        .bind(db(retry_at))
        .bind(db(now))
        .bind(run)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The outcome of an attempt is unknown (timeout, lost connection): the
/// charge stays pending, this run lets go of it, and the next run looks the
/// attempt up at the gateway before trying again.
pub async fn release_unknown(
    tx: &mut Tx,
    run: &str,
    id: ChargeId,
    message: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE charges SET claimed_until = $2, failure_message = $3, updated_at = $2 \
         WHERE id = $1 AND status = 'pending' AND claimed_by = $4";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id.get())
        .bind(db(now))
        .bind(message)
        .bind(run)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Open and failed charges of a patron's current pledges move to the new
/// card and become due at once (a patron who updates the card is retried now).
pub async fn reopen_charges_of_patron(
    tx: &mut Tx,
    patron: UserId,
    payment_method: i64,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE charges SET payment_method_id = $2, \
         status = CASE WHEN status = 'failed' THEN 'retrying' ELSE status END, \
         next_attempt_at = $3, claimed_by = NULL, claimed_until = NULL, updated_at = $3 \
         WHERE patron_id = $1 AND kind = 'pledge' AND status IN ('retrying', 'failed') \
         AND pledge_id IN (SELECT id FROM pledges WHERE patron_id = $1 AND ended_at IS NULL)";
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(patron.get())
        .bind(payment_method)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// What the billing of a campaign looks like in a period (dashboards, Patreon fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct PeriodTotals {
    pub expected_minor: i64,
    pub collected_minor: i64,
    pub failing_minor: i64,
}

const PERIOD_TOTALS: &str = "SELECT \
     CAST(coalesce(sum(creator_net_minor), 0) AS BIGINT) AS expected_minor, \
     CAST(coalesce(sum(CASE WHEN status = 'succeeded' THEN creator_net_minor ELSE 0 END), 0) AS BIGINT) AS collected_minor, \
     CAST(coalesce(sum(CASE WHEN status IN ('retrying', 'failed') THEN amount_minor ELSE 0 END), 0) AS BIGINT) AS failing_minor \
     FROM charges WHERE campaign_id = $1 AND period = $2";

pub async fn period_totals(
    tx: &mut Tx,
    campaign: CampaignId,
    period: &str,
) -> Result<PeriodTotals, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PeriodTotals>(
        PERIOD_TOTALS
    )
    .bind(campaign.get())
    .bind(period)
    .fetch_one(conn)
    .await)?)
}

/// Counts of charges by status (for summaries and tests).
pub async fn charge_counts(
    tx: &mut Tx,
    period: Option<&str>,
) -> Result<Vec<(String, i64)>, StoreError> {
    const SQL: &str = "SELECT status, count(*) FROM charges WHERE ($1 IS NULL OR period = $1) GROUP BY status ORDER BY status";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, (String, i64)>(
        SQL
    )
    .bind(period)
    .fetch_all(conn)
    .await)?)
}

/// A cancelled pledge's charges that were waiting for a retry stop for good.
pub async fn stop_open_charges_of_pledge(
    tx: &mut Tx,
    pledge: PledgeId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE charges SET status = 'failed', failure_code = coalesce(failure_code, 'cancelled'), \
         failure_message = 'The pledge was cancelled.', updated_at = $2 \
         WHERE pledge_id = $1 AND status = 'retrying'";
    stop_retries(tx, SQL, pledge.get(), now).await
}

/// Stops the retries of every charge to a campaign whose creator's account closed.
pub async fn stop_open_charges_of_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE charges SET status = 'failed', failure_code = coalesce(failure_code, 'cancelled'), \
         failure_message = 'The creator closed their account.', updated_at = $2 \
         WHERE campaign_id = $1 AND status = 'retrying'";
    stop_retries(tx, SQL, campaign.get(), now).await
}

async fn stop_retries(
    tx: &mut Tx,
    sql: &str,
    id: i64,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query(sql)
        .bind(id)
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// A succeeded charge was refunded; `false` if it was not (or no longer) succeeded.
pub async fn mark_refunded(
    tx: &mut Tx,
    id: ChargeId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE charges SET status = 'refunded', updated_at = $2 WHERE id = $1 AND status = 'succeeded'";
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// When the open charge that has waited longest was due (`None`: none is
/// open). Read from the front of `charges_open`, for operators' metrics.
pub async fn oldest_open_charge(tx: &mut Tx) -> Result<Option<OffsetDateTime>, StoreError> {
    const SQL: &str = "SELECT next_attempt_at FROM charges WHERE status IN ('pending', 'retrying') \
         ORDER BY next_attempt_at LIMIT 1";
    Ok(on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .fetch_optional(conn)
        .await)?)
}
