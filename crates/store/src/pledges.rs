//! `pledges`: a patron's standing support of a campaign, from first charge to end.

use maecenas_domain::{
    AddressId, CampaignId, PaymentMethodId, PledgeId, PledgeStatus, TierId, UserId,
};
use time::OffsetDateTime;

use crate::cards::{AddressRow, PaymentMethodRow};
use crate::db_time::db;
use crate::{Backend, StoreError, Tx, on_backend};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PledgeRow {
    #[sqlx(try_from = "i64")]
    pub id: PledgeId,
    #[sqlx(try_from = "i64")]
    pub patron_id: UserId,
    #[sqlx(try_from = "i64")]
    pub campaign_id: CampaignId,
    pub tier_id: Option<i64>,
    pub amount_minor: i64,
    pub currency: String,
    pub pledge_cap_minor: Option<i64>,
    pub patron_pays_fees: bool,
    pub address_id: Option<i64>,
    pub payment_method_id: Option<i64>,
    pub vat_country: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: PledgeStatus,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub cancelled_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
}

impl PledgeRow {
    pub fn tier(&self) -> Option<TierId> {
        self.tier_id.map(TierId::from)
    }
    pub fn address(&self) -> Option<AddressId> {
        self.address_id.map(AddressId::from)
    }
    pub fn payment_method(&self) -> Option<PaymentMethodId> {
        self.payment_method_id.map(PaymentMethodId::from)
    }
}

macro_rules! pledge_columns {
    () => {
        "id, patron_id, campaign_id, tier_id, amount_minor, currency, pledge_cap_minor, patron_pays_fees, \
         address_id, payment_method_id, vat_country, status, created_at, updated_at, cancelled_at, ended_at"
    };
}

#[derive(Debug, Clone)]
pub struct NewPledge {
    pub id: PledgeId,
    pub patron_id: UserId,
    pub campaign_id: CampaignId,
    pub tier_id: Option<TierId>,
    pub amount_minor: i64,
    pub currency: String,
    pub pledge_cap_minor: Option<i64>,
    pub patron_pays_fees: bool,
    pub address_id: Option<AddressId>,
    pub payment_method_id: Option<PaymentMethodId>,
    pub vat_country: Option<String>,
    pub created_at: OffsetDateTime,
}

const INSERT_PLEDGE: &str = "INSERT INTO pledges (id, patron_id, campaign_id, tier_id, amount_minor, currency, \
     pledge_cap_minor, patron_pays_fees, address_id, payment_method_id, vat_country, status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $12)";

/// A patron has at most one current pledge per campaign: a second is a
/// [`StoreError::Conflict`].
pub async fn insert_pledge(tx: &mut Tx, p: &NewPledge) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_PLEDGE)
        .bind(p.id.get())
        .bind(p.patron_id.get())
        .bind(p.campaign_id.get())
        .bind(p.tier_id.map(TierId::get))
        .bind(p.amount_minor)
        .bind(&p.currency)
        .bind(p.pledge_cap_minor)
        .bind(p.patron_pays_fees)
        .bind(p.address_id.map(AddressId::get))
        .bind(p.payment_method_id.map(PaymentMethodId::get))
        .bind(&p.vat_country)
        .bind(db(p.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const PLEDGE_BY_ID: &str = concat!("SELECT ", pledge_columns!(), " FROM pledges WHERE id = $1");
const CURRENT_PLEDGE: &str = concat!(
    "SELECT ",
    pledge_columns!(),
    " FROM pledges WHERE patron_id = $1 AND campaign_id = $2 AND ended_at IS NULL"
);
// The keyset of a campaign's pledges: `campaign_id = $1 AND id > $2`, in id
// order, `$3` of them. PostgreSQL gets it as a range of the (campaign_id, id)
// index: given the equality, its planner walks the primary key in id order and
// filters, reading every pledge of older campaigns first (100,000 rows and
// 17 ms for the first page of a campaign younger than a big one). SQLite
// uses the index for either text.
macro_rules! campaign_keyset {
    (sqlite) => {
        " FROM pledges WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    };
    (postgres) => {
        " FROM pledges WHERE (campaign_id, id) > ($1, $2) AND campaign_id <= $1 \
         ORDER BY campaign_id, id LIMIT $3"
    };
}

const PLEDGES_PAGE_SQLITE: &str = concat!("SELECT ", pledge_columns!(), campaign_keyset!(sqlite));
const PLEDGES_PAGE_PG: &str = concat!("SELECT ", pledge_columns!(), campaign_keyset!(postgres));

pub async fn pledge_by_id(tx: &mut Tx, id: PledgeId) -> Result<Option<PledgeRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PledgeRow>(
        PLEDGE_BY_ID
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

/// The patron's current (not ended) pledge to a campaign.
pub async fn current_pledge(
    tx: &mut Tx,
    patron: UserId,
    campaign: CampaignId,
) -> Result<Option<PledgeRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PledgeRow>(
        CURRENT_PLEDGE
    )
    .bind(patron.get())
    .bind(campaign.get())
    .fetch_optional(conn)
    .await)?)
}

/// A patron's current pledge to a creator's campaign and whether it is
/// paid: what the Sponsus `sponsoring` endpoint answers, in one query.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SponsorshipRow {
    #[sqlx(flatten)]
    pub pledge: PledgeRow,
    /// Monthly: this period's charge succeeded. Per creation: no charge,
    /// or the newest one succeeded.
    pub has_paid: bool,
}

// The CASE evaluates only its campaign's branch: a monthly campaign (the
// common case) looks up one charge by (pledge, period) and never sorts.
const SPONSORSHIP: &str = concat!(
    "SELECT ",
    pledge_columns!(),
    ", CASE WHEN (SELECT c.is_monthly FROM campaigns c WHERE c.id = pledges.campaign_id) \
       THEN EXISTS (SELECT 1 FROM charges ch WHERE ch.pledge_id = pledges.id AND ch.period = $3 \
                    AND ch.status = 'succeeded') \
       ELSE coalesce((SELECT ch.status = 'succeeded' FROM charges ch WHERE ch.pledge_id = pledges.id \
                      ORDER BY ch.id DESC LIMIT 1), TRUE) \
     END AS has_paid \
     FROM pledges WHERE patron_id = $2 AND ended_at IS NULL \
     AND campaign_id = (SELECT c.id FROM campaigns c WHERE c.creator_id = $1)"
);

/// `patron`'s current pledge to `creator`'s campaign and whether it is paid
/// (`period`: this month, for a monthly campaign); `None` without campaign
/// or pledge.
pub async fn sponsorship(
    tx: &mut Tx,
    creator: UserId,
    patron: UserId,
    period: &str,
) -> Result<Option<SponsorshipRow>, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, SponsorshipRow>(SPONSORSHIP)
            .bind(creator.get())
            .bind(patron.get())
            .bind(period)
            .fetch_optional(conn)
            .await
    })?)
}

/// A campaign's pledges in creation order (ids are time-ordered), strictly
/// after `after`: keyset paging, so the last page costs what the first does
/// and a pledge made meanwhile never makes a page skip or repeat one.
pub async fn pledges_of_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<Vec<PledgeRow>, StoreError> {
    let sql = match tx.backend() {
        Backend::Sqlite => PLEDGES_PAGE_SQLITE,
        Backend::Postgres => PLEDGES_PAGE_PG,
    };
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PledgeRow>(sql)
        .bind(campaign.get())
        .bind(after.map_or(0, PledgeId::get))
        .bind(limit)
        .fetch_all(conn)
        .await)?)
}

const CANCEL: &str = "UPDATE pledges SET status = 'cancelled', cancelled_at = $2, updated_at = $2 \
     WHERE id = $1 AND status = 'active' AND ended_at IS NULL";

/// Cancels a current pledge: it stays (entitled until its paid month ends) but is no longer active.
pub async fn cancel_pledge(
    tx: &mut Tx,
    id: PledgeId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| sqlx::query(CANCEL)
        .bind(id.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Takes back a cancellation while the pledge still counts (its paid month
/// not over): the same pledge, active again. Whether it was cancelled.
pub async fn resume_pledge(
    tx: &mut Tx,
    id: PledgeId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE pledges SET status = 'active', cancelled_at = NULL, updated_at = $2 \
         WHERE id = $1 AND status = 'cancelled' AND ended_at IS NULL";
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Cancels every current pledge to a campaign (its creator's account
/// closed), declined ones included: each keeps the month it paid for.
pub async fn cancel_pledges_to_campaign(
    tx: &mut Tx,
    campaign: CampaignId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE pledges SET status = 'cancelled', cancelled_at = $2, updated_at = $2 \
         WHERE campaign_id = $1 AND status IN ('active', 'declined') AND ended_at IS NULL";
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(campaign.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

// What a page of pledges points at, each in one query: the page is named by
// the same keyset (campaign, after, limit) as `pledges_of_campaign`, so no
// list of ids has to be spliced into SQL.
macro_rules! of_page {
    ($select:literal, $column:literal, $backend:tt) => {
        concat!(
            $select,
            " WHERE id IN (SELECT ",
            $column,
            campaign_keyset!($backend),
            ")"
        )
    };
}
macro_rules! patrons_of_page {
    ($backend:tt) => {
        of_page!(
            "SELECT id, email, password_hash, username, first_name, last_name, about, description, \
             status, image_url, thumb_url, facebook_id, youtube, twitter, facebook, is_creator, \
             is_admin, is_suspended, is_deleted, is_nuked, created_at, updated_at, email_verified_at \
             FROM users",
            "patron_id",
            $backend
        )
    };
}
macro_rules! addresses_of_page {
    ($backend:tt) => {
        of_page!(
            "SELECT id, user_id, addressee, line_1, line_2, postal_code, city, state, country, \
             phone_number, created_at, updated_at FROM addresses",
            "address_id",
            $backend
        )
    };
}
macro_rules! cards_of_page {
    ($backend:tt) => {
        of_page!(
            "SELECT id, user_id, gateway, gateway_ref, brand, last4, exp_month, exp_year, \
             is_verified, has_failed_payment, created_at, removed_at FROM payment_methods",
            "payment_method_id",
            $backend
        )
    };
}
/// (patrons, addresses, cards) of a page, per backend.
const OF_PAGE_SQLITE: [&str; 3] = [
    patrons_of_page!(sqlite),
    addresses_of_page!(sqlite),
    cards_of_page!(sqlite),
];
const OF_PAGE_PG: [&str; 3] = [
    patrons_of_page!(postgres),
    addresses_of_page!(postgres),
    cards_of_page!(postgres),
];

/// The patrons, addresses and cards of the page `pledges_of_campaign` returns for the same arguments.
pub async fn page_references(
    tx: &mut Tx,
    campaign: CampaignId,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<
    (
        Vec<crate::users::UserRow>,
        Vec<AddressRow>,
        Vec<PaymentMethodRow>,
    ),
    StoreError,
> {
    let after = after.map_or(0, PledgeId::get);
    let [patrons_sql, addresses_sql, cards_sql] = match tx.backend() {
        Backend::Sqlite => OF_PAGE_SQLITE,
        Backend::Postgres => OF_PAGE_PG,
    };
    let patrons = on_backend!(tx, |conn| sqlx::query_as::<_, crate::users::UserRow>(
        patrons_sql
    )
    .bind(campaign.get())
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await)?;
    let addresses = on_backend!(tx, |conn| sqlx::query_as::<_, AddressRow>(addresses_sql)
        .bind(campaign.get())
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await)?;
    let cards = on_backend!(tx, |conn| sqlx::query_as::<_, PaymentMethodRow>(cards_sql)
        .bind(campaign.get())
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await)?;
    Ok((patrons, addresses, cards))
}

/// Whether a patron pledged to a campaign before (a returning member), other than `except`.
pub async fn pledged_before(
    tx: &mut Tx,
    patron: UserId,
    campaign: CampaignId,
    except: PledgeId,
) -> Result<bool, StoreError> {
    const SQL: &str =
        "SELECT count(*) FROM pledges WHERE patron_id = $1 AND campaign_id = $2 AND id <> $3";
    let n: i64 = on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(patron.get())
        .bind(campaign.get())
        .bind(except.get())
        .fetch_one(conn)
        .await)?;
    Ok(n > 0)
}

/// The campaign's newest pledge (webhook test events are about it).
pub async fn latest_pledge(
    tx: &mut Tx,
    campaign: CampaignId,
) -> Result<Option<PledgeId>, StoreError> {
    const SQL: &str = "SELECT max(id) FROM pledges WHERE campaign_id = $1";
    let id: Option<i64> = on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(campaign.get())
        .fetch_one(conn)
        .await)?;
    Ok(id.map(PledgeId::from))
}

/// New terms of a current pledge (the patron panel's "change").
#[derive(Debug, Clone)]
pub struct PledgeTerms {
    pub tier_id: Option<TierId>,
    pub amount_minor: i64,
    pub pledge_cap_minor: Option<i64>,
    pub patron_pays_fees: bool,
}

pub async fn change_pledge_terms(
    tx: &mut Tx,
    id: PledgeId,
    t: &PledgeTerms,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| sqlx::query(
        "UPDATE pledges SET tier_id = $2, amount_minor = $3, pledge_cap_minor = $4, \
         patron_pays_fees = $5, updated_at = $6 WHERE id = $1 AND ended_at IS NULL"
    )
    .bind(id.get())
    .bind(t.tier_id.map(TierId::get))
    .bind(t.amount_minor)
    .bind(t.pledge_cap_minor)
    .bind(t.patron_pays_fees)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

const PLEDGES_OF_PATRON: &str = concat!(
    "SELECT ",
    pledge_columns!(),
    " FROM pledges WHERE patron_id = $1 ORDER BY id DESC LIMIT $2"
);

/// A patron's pledges, current and past, newest first.
pub async fn pledges_of_patron(
    tx: &mut Tx,
    patron: UserId,
    limit: i64,
) -> Result<Vec<PledgeRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, PledgeRow>(
        PLEDGES_OF_PATRON
    )
    .bind(patron.get())
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

/// Pledges whose charge failed for good stop counting: not paid, benefits withheld.
pub async fn decline_pledge(
    tx: &mut Tx,
    pledge: PledgeId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE pledges SET status = 'declined', updated_at = $2 WHERE id = $1 AND status = 'active'";
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(pledge.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A declined pledge whose charge went through after all is active again.
/// Whether it was declined (and so changed).
pub async fn reactivate_pledge(
    tx: &mut Tx,
    pledge: PledgeId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE pledges SET status = 'active', updated_at = $2 WHERE id = $1 AND status = 'declined'";
    let n = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(pledge.get())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Cancelled pledges end when the period they paid for is over.
pub async fn end_cancelled_pledges(
    tx: &mut Tx,
    period_start: OffsetDateTime,
) -> Result<u64, StoreError> {
    const SQL: &str = "UPDATE pledges SET ended_at = $1, updated_at = $1 \
         WHERE status = 'cancelled' AND ended_at IS NULL AND cancelled_at < $1";
    Ok(on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(db(period_start))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Moves a patron's current pledges to a new card.
pub async fn set_pledges_card(
    tx: &mut Tx,
    patron: UserId,
    payment_method: i64,
    now: OffsetDateTime,
) -> Result<Vec<(PledgeId, CampaignId)>, StoreError> {
    const SQL: &str = "UPDATE pledges SET payment_method_id = $2, updated_at = $3 WHERE patron_id = $1 AND ended_at IS NULL \
         RETURNING id, campaign_id";
    let rows: Vec<(i64, i64)> = on_backend!(tx, |conn| sqlx::query_as(SQL)
        .bind(patron.get())
        .bind(payment_method)
        .bind(db(now))
        .fetch_all(conn)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(p, c)| (PledgeId::from(p), CampaignId::from(c)))
        .collect())
}
