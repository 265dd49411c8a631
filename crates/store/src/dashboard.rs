//! What the creator dashboard reads: the patron list (searchable, keyset
//! paged, also the CSV export), income per month, declined patrons.

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
}

/// `status`: `""` for every current pledge, else `active`, `declined` or `cancelled`.
/// The keyset differs by backend for the reason `pledges::campaign_keyset` gives.
macro_rules! patrons_sql {
    ($keyset:literal, $order:literal) => {
        concat!(
            "SELECT p.id AS pledge_id, u.id AS patron_id, u.email, u.username, u.first_name, \
             u.last_name, t.title AS tier_title, p.amount_minor, p.currency, p.status, p.created_at, \
             p.cancelled_at FROM pledges p JOIN users u ON u.id = p.patron_id \
             LEFT JOIN tiers t ON t.id = p.tier_id WHERE ",
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
