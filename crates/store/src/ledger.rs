//! `ledger_entries`: the double-entry postings of every charge, refund and payout, and
//! the invariants `verify` checks.

use maecenas_domain::{CampaignId, ChargeId, PayoutId};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

/// One line of a posting. Debits positive, credits negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    pub journal_id: i64,
    pub account: &'static str,
    pub campaign_id: Option<CampaignId>,
    pub line: &'static str,
    pub amount_minor: i64,
    pub currency: String,
    pub charge_id: Option<ChargeId>,
    pub payout_id: Option<PayoutId>,
    pub created_at: OffsetDateTime,
}

pub async fn insert_ledger_lines(tx: &mut Tx, lines: &[LedgerLine]) -> Result<(), StoreError> {
    for chunk in lines.chunks(2_000) {
        on_backend!(tx, |conn| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO ledger_entries (journal_id, account, campaign_id, line, amount_minor, currency, \
                 charge_id, payout_id, created_at) ",
            );
            qb.push_values(chunk, |mut b, l| {
                b.push_bind(l.journal_id)
                    .push_bind(l.account)
                    .push_bind(l.campaign_id.map(CampaignId::get))
                    .push_bind(l.line)
                    .push_bind(l.amount_minor)
                    .push_bind(&l.currency)
                    .push_bind(l.charge_id.map(ChargeId::get))
                    .push_bind(l.payout_id.map(PayoutId::get))
                    .push_bind(db(l.created_at));
            });
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// What the platform owes a campaign's creator, per currency.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Balance {
    pub currency: String,
    pub amount_minor: i64,
}

const CREATOR_BALANCE: &str = "SELECT currency, CAST(-sum(amount_minor) AS BIGINT) AS amount_minor \
     FROM ledger_entries WHERE account = 'creator_payable' AND campaign_id = $1 GROUP BY currency ORDER BY currency";

pub async fn creator_balance(
    tx: &mut Tx,
    campaign: CampaignId,
) -> Result<Vec<Balance>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, Balance>(
        CREATOR_BALANCE
    )
    .bind(campaign.get())
    .fetch_all(conn)
    .await)?)
}

const CAMPAIGNS_WITH_BALANCE: &str = "SELECT campaign_id FROM ledger_entries WHERE account = 'creator_payable' \
     GROUP BY campaign_id HAVING sum(amount_minor) < 0 ORDER BY campaign_id";

pub async fn campaigns_with_balance(tx: &mut Tx) -> Result<Vec<CampaignId>, StoreError> {
    let ids: Vec<i64> = on_backend!(tx, |conn| sqlx::query_scalar(CAMPAIGNS_WITH_BALANCE)
        .fetch_all(conn)
        .await)?;
    Ok(ids.into_iter().map(CampaignId::from).collect())
}

/// One broken rule of the ledger and how many rows break it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    pub count: i64,
}

const CHECKS: &[(&str, &str)] = &[
    (
        "every posting sums to zero in each currency",
        "SELECT count(*) FROM (SELECT journal_id FROM ledger_entries GROUP BY journal_id, currency \
         HAVING sum(amount_minor) <> 0) t",
    ),
    (
        "every succeeded charge is posted",
        "SELECT count(*) FROM charges c WHERE c.status IN ('succeeded', 'refunded') AND NOT EXISTS \
         (SELECT 1 FROM ledger_entries l WHERE l.charge_id = c.id AND l.line = 'charge')",
    ),
    (
        "only succeeded (or since refunded) charges are posted",
        "SELECT count(*) FROM ledger_entries l JOIN charges c ON c.id = l.charge_id \
         WHERE c.status NOT IN ('succeeded', 'refunded')",
    ),
    (
        "every refunded charge posts its refund, and only those",
        "SELECT count(*) FROM charges c WHERE (c.status = 'refunded') <> EXISTS \
         (SELECT 1 FROM ledger_entries l WHERE l.charge_id = c.id AND l.line = 'refund')",
    ),
    (
        "a charge posts its gross to the gateway",
        "SELECT count(*) FROM charges c JOIN ledger_entries l ON l.charge_id = c.id AND l.line = 'charge' \
         WHERE l.amount_minor <> c.amount_minor OR l.currency <> c.currency",
    ),
    (
        "a charge's parts sum to its gross",
        "SELECT count(*) FROM charges WHERE amount_minor <> gateway_fee_minor + platform_fee_minor + creator_net_minor",
    ),
    (
        "no creator balance is negative",
        "SELECT count(*) FROM (SELECT campaign_id FROM ledger_entries WHERE account = 'creator_payable' \
         GROUP BY campaign_id, currency HAVING sum(amount_minor) > 0) t",
    ),
    (
        "every paid payout is posted, and only those",
        "SELECT count(*) FROM payouts p WHERE (p.status = 'paid') <> EXISTS \
         (SELECT 1 FROM ledger_entries l WHERE l.payout_id = p.id)",
    ),
    (
        "a pledge is paid at most once per period",
        "SELECT count(*) FROM (SELECT pledge_id FROM charges WHERE pledge_id IS NOT NULL AND status = 'succeeded' \
         GROUP BY pledge_id, period HAVING count(*) > 1) t",
    ),
    (
        "the test gateway took each succeeded charge exactly once",
        "SELECT count(*) FROM charges c WHERE c.gateway = 'test' AND c.status IN ('succeeded', 'refunded') AND \
         (SELECT count(*) FROM test_gateway_operations g WHERE g.reference = 'charge:' || CAST(c.id AS TEXT) \
         AND g.status = 'succeeded') <> 1",
    ),
    (
        "the test gateway took no money Maecenas does not know it took",
        "SELECT count(*) FROM test_gateway_operations g WHERE g.kind = 'payment' AND g.status = 'succeeded' \
         AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.id = CAST(substr(g.reference, 8) AS BIGINT) \
         AND c.status IN ('succeeded', 'refunded', 'pending'))",
    ),
];

/// Checks the ledger's invariants; an empty answer means all hold. A charge
/// the test gateway took but that is still `pending` (its run crashed before
/// recording the answer) is allowed: the next run reconciles it.
pub async fn verify(tx: &mut Tx) -> Result<Vec<Violation>, StoreError> {
    let mut broken = Vec::new();
    for (rule, sql) in CHECKS {
        let count: i64 = on_backend!(tx, |conn| sqlx::query_scalar(sql).fetch_one(conn).await)?;
        if count != 0 {
            broken.push(Violation { rule, count });
        }
    }
    Ok(broken)
}
