//! What the creator dashboard reads: the patron list (searchable, keyset
//! paged, also the CSV export), income per month, declined patrons, payments
//! being retried, and the ledger postings of payouts.

use maecenas_domain::{CampaignId, PledgeId, PledgeStatus};
use time::OffsetDateTime;

use crate::users::like_pattern;
use crate::{Backend, StoreError, Tx, on_backend};

/// One line of the creator's patron list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PatronLine {
    pub pledge_id: i64,
    pub patron_id: i64,
    pub email: String,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub tier_title: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    #[sqlx(try_from = "String")]
    pub status: PledgeStatus,
    pub created_at: OffsetDateTime,
    pub cancelled_at: Option<OffsetDateTime>,
    #[sqlx(flatten)]
    pub shipping: ShippingLine,
}

/// Where a patron's rewards go: only for a pledge to a tier that ships, and
/// all empty otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ShippingLine {
    pub ship_addressee: Option<String>,
    pub ship_line_1: Option<String>,
    pub ship_line_2: Option<String>,
    pub ship_postal_code: Option<String>,
    pub ship_city: Option<String>,
    pub ship_state: Option<String>,
    pub ship_country: Option<String>,
    pub ship_phone: Option<String>,
}

/// `status`: `""` for every current pledge, else `active`, `declined` or `cancelled`.
/// The keyset differs by backend for the reason `pledges::campaign_keyset` gives.
macro_rules! patrons_sql {
    ($keyset:literal, $order:literal) => {
        concat!(
            "SELECT p.id AS pledge_id, u.id AS patron_id, u.email, u.username, u.first_name, \
             u.last_name, t.title AS tier_title, p.amount_minor, p.currency, p.status, p.created_at, \
             p.cancelled_at, a.addressee AS ship_addressee, a.line_1 AS ship_line_1, \
             a.line_2 AS ship_line_2, a.postal_code AS ship_postal_code, a.city AS ship_city, \
             a.state AS ship_state, a.country AS ship_country, a.phone_number AS ship_phone \
             FROM pledges p JOIN users u ON u.id = p.patron_id \
             LEFT JOIN tiers t ON t.id = p.tier_id \
             LEFT JOIN addresses a ON a.id = p.address_id AND t.requires_shipping WHERE ",
            $keyset,
            " AND p.ended_at IS NULL AND ($3 = '' OR p.status = $3) \
             AND ($4 = '' OR lower(u.email) LIKE $5 OR lower(coalesce(u.username, '')) LIKE $5 \
                  OR lower(u.first_name || ' ' || u.last_name) LIKE $5) ORDER BY ",
            $order,
            " LIMIT $6"
        )
    };
}
const PATRONS_SQLITE: &str = patrons_sql!("p.campaign_id = $1 AND p.id > $2", "p.id");
const PATRONS_PG: &str = patrons_sql!(
    "(p.campaign_id, p.id) > ($1, $2) AND p.campaign_id <= $1",
    "p.campaign_id, p.id"
);

/// The current pledges of a campaign with who made them, after `after`.
pub async fn patrons(
    tx: &mut Tx,
    campaign: CampaignId,
    search: &str,
    status: &str,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<Vec<PatronLine>, StoreError> {
    let pattern = like_pattern(search);
    let sql = match tx.backend() {
        Backend::Sqlite => PATRONS_SQLITE,
        Backend::Postgres => PATRONS_PG,
    };
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PatronLine>(
        sql
    )
    .bind(campaign.get())
    .bind(after.map_or(0, PledgeId::get))
    .bind(status)
    .bind(search)
    .bind(&pattern)
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

/// A month of income: what patrons paid, what the creator keeps, how many paid.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonthIncome {
    pub period: String,
    pub gross_minor: i64,
    pub net_minor: i64,
    pub paying_patrons: i64,
}

const MONTHLY_INCOME: &str = "SELECT period, CAST(sum(amount_minor) AS BIGINT) AS gross_minor, \
     CAST(sum(creator_net_minor) AS BIGINT) AS net_minor, count(DISTINCT patron_id) AS paying_patrons \
     FROM charges WHERE campaign_id = $1 AND kind = 'pledge' AND status = 'succeeded' \
     GROUP BY period ORDER BY period DESC LIMIT $2";

/// The last `months` months that had income, newest first.
pub async fn monthly_income(
    tx: &mut Tx,
    campaign: CampaignId,
    months: i64,
) -> Result<Vec<MonthIncome>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, MonthIncome>(
        MONTHLY_INCOME
    )
    .bind(campaign.get())
    .bind(months)
    .fetch_all(conn)
    .await)?)
}

/// A patron's payment that failed and is tried again.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetryLine {
    pub patron_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The attempt that failed last.
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub failure_message: Option<String>,
}

const RETRYING: &str = "SELECT c.patron_id, u.first_name, u.last_name, u.email, c.amount_minor, \
     c.currency, c.attempts, c.next_attempt_at, c.failure_message FROM charges c \
     JOIN users u ON u.id = c.patron_id WHERE c.campaign_id = $1 AND c.status = 'retrying' \
     ORDER BY c.next_attempt_at, c.id LIMIT $2";

/// The campaign's payments being retried, the next one due first.
pub async fn retrying_payments(
    tx: &mut Tx,
    campaign: CampaignId,
    limit: i64,
) -> Result<Vec<RetryLine>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, RetryLine>(
        RETRYING
    )
    .bind(campaign.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

/// One posting of a payout in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PayoutPosting {
    pub payout_id: i64,
    pub account: String,
    pub line: String,
    /// Debits positive, credits negative.
    pub amount_minor: i64,
    pub currency: String,
}

const PAYOUT_POSTINGS: &str = "SELECT l.payout_id, l.account, l.line, l.amount_minor, l.currency \
     FROM ledger_entries l WHERE l.payout_id IN \
     (SELECT id FROM payouts WHERE campaign_id = $1 ORDER BY id DESC LIMIT $2) ORDER BY l.id";

/// The ledger postings of the campaign's latest `limit` payouts.
pub async fn payout_postings(
    tx: &mut Tx,
    campaign: CampaignId,
    limit: i64,
) -> Result<Vec<PayoutPosting>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PayoutPosting>(
        PAYOUT_POSTINGS
    )
    .bind(campaign.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}
