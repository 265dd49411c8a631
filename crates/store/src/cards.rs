//! What a pledge or donation is paid with and sent to: `payment_methods` (cards) and `addresses`.

use maecenas_domain::{AddressId, PaymentMethodId, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

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

pub async fn mark_card_failed(tx: &mut Tx, payment_method: i64) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE payment_methods SET has_failed_payment = TRUE WHERE id = $1";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(payment_method)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The card a patron added last and has not removed.
pub async fn latest_payment_method(
    tx: &mut Tx,
    user: UserId,
) -> Result<Option<PaymentMethodRow>, StoreError> {
    const SQL: &str = "SELECT id, user_id, gateway, gateway_ref, brand, last4, exp_month, exp_year, is_verified, \
         has_failed_payment, created_at, removed_at FROM payment_methods \
         WHERE user_id = $1 AND removed_at IS NULL ORDER BY id DESC LIMIT 1";
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, PaymentMethodRow>(SQL)
            .bind(user.get())
            .fetch_optional(conn)
            .await
    })?)
}

/// Every address a person saved, oldest first (their data archive).
pub async fn addresses_of_user(tx: &mut Tx, user: UserId) -> Result<Vec<AddressRow>, StoreError> {
    const SQL: &str = "SELECT id, user_id, addressee, line_1, line_2, postal_code, city, state, country, \
         phone_number, created_at, updated_at FROM addresses WHERE user_id = $1 ORDER BY id";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, AddressRow>(
        SQL
    )
    .bind(user.get())
    .fetch_all(conn)
    .await)?)
}

/// Every card a person added, removed ones too, oldest first (their data archive).
pub async fn payment_methods_of_user(
    tx: &mut Tx,
    user: UserId,
) -> Result<Vec<PaymentMethodRow>, StoreError> {
    const SQL: &str = "SELECT id, user_id, gateway, gateway_ref, brand, last4, exp_month, exp_year, is_verified, \
         has_failed_payment, created_at, removed_at FROM payment_methods WHERE user_id = $1 ORDER BY id";
    Ok(on_backend!(tx, |conn| {
        sqlx::query_as::<_, PaymentMethodRow>(SQL)
            .bind(user.get())
            .fetch_all(conn)
            .await
    })?)
}
