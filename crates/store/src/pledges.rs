//! `pledges`, `donations`, and what a pledge points at: `addresses`, `payment_methods`.

use maecenas_domain::{
    AddressId, CampaignId, DonationId, PaymentMethodId, PledgeId, PledgeStatus, TierId, UserId,
};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{Backend, StoreError, Tx, on_backend};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AddressRow {
    #[sqlx(try_from = "i64")]
    pub id: AddressId,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub addressee: String,
    pub line_1: String,
    pub line_2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub state: Option<String>,
    pub country: String,
    pub phone_number: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const INSERT_ADDRESS: &str = "INSERT INTO addresses (id, user_id, addressee, line_1, line_2, postal_code, city, \
     state, country, phone_number, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub async fn insert_address(tx: &mut Tx, a: &AddressRow) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_ADDRESS)
        .bind(a.id.get())
        .bind(a.user_id.get())
        .bind(&a.addressee)
        .bind(&a.line_1)
        .bind(&a.line_2)
        .bind(&a.postal_code)
        .bind(&a.city)
        .bind(&a.state)
        .bind(&a.country)
        .bind(&a.phone_number)
        .bind(db(a.created_at))
        .bind(db(a.updated_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const ADDRESS_BY_ID: &str = "SELECT id, user_id, addressee, line_1, line_2, postal_code, city, state, country, \
     phone_number, created_at, updated_at FROM addresses WHERE id = $1";

pub async fn address_by_id(tx: &mut Tx, id: AddressId) -> Result<Option<AddressRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, AddressRow>(
        ADDRESS_BY_ID
    )
    .bind(id.get())
    .fetch_optional(conn)
    .await)?)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentMethodRow {
    #[sqlx(try_from = "i64")]
    pub id: PaymentMethodId,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub gateway: String,
    pub gateway_ref: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    pub is_verified: bool,
    pub has_failed_payment: bool,
    pub created_at: OffsetDateTime,
    pub removed_at: Option<OffsetDateTime>,
}

const INSERT_PAYMENT_METHOD: &str = "INSERT INTO payment_methods (id, user_id, gateway, gateway_ref, brand, last4, \
     exp_month, exp_year, is_verified, has_failed_payment, created_at, removed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub async fn insert_payment_method(tx: &mut Tx, m: &PaymentMethodRow) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT_PAYMENT_METHOD)
        .bind(m.id.get())
        .bind(m.user_id.get())
        .bind(&m.gateway)
        .bind(&m.gateway_ref)
        .bind(&m.brand)
        .bind(&m.last4)
        .bind(m.exp_month)
        .bind(m.exp_year)
        .bind(m.is_verified)
        .bind(m.has_failed_payment)
        .bind(db(m.created_at))
        .bind(db(m.removed_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const PAYMENT_METHOD_BY_ID: &str = "SELECT id, user_id, gateway, gateway_ref, brand, last4, exp_month, exp_year, \
     is_verified, has_failed_payment, created_at, removed_at FROM payment_methods WHERE id = $1";

pub async fn payment_method_by_id(
    tx: &mut Tx,
    id: PaymentMethodId,
) -> Result<Option<PaymentMethodRow>, StoreError> {
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, PaymentMethodRow>(PAYMENT_METHOD_BY_ID)
            .bind(id.get())
            .fetch_optional(conn)
            .await
    })?)
}

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
    pub status: String,
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
        .bind(&d.status)
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
             is_admin, is_suspended, is_deleted, is_nuked, created_at, updated_at FROM users",
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
