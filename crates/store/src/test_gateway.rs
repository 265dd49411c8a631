//! The books of the built-in `test` payment gateway. It stands in for an
//! outside processor, so it writes in transactions of its own: a billing run
//! that crashes cannot roll back what "the processor" already did.

use time::OffsetDateTime;

use crate::{StoreError, Tx, on_backend};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Operation {
    pub id: String,
    pub kind: String,
    pub idempotency_key: String,
    pub reference: String,
    pub payment_method: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub failure_code: Option<String>,
    pub created_at: OffsetDateTime,
}

macro_rules! columns {
    () => {
        "id, kind, idempotency_key, reference, payment_method, amount_minor, currency, status, failure_code, created_at"
    };
}

const BY_KEY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM test_gateway_operations WHERE idempotency_key = $1"
);
const BY_REFERENCE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM test_gateway_operations WHERE reference = $1 ORDER BY created_at, id"
);
const INSERT: &str = concat!(
    "INSERT INTO test_gateway_operations (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);

pub async fn by_idempotency_key(tx: &mut Tx, key: &str) -> Result<Option<Operation>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, Operation>(
        BY_KEY
    )
    .bind(key)
    .fetch_optional(conn)
    .await)?)
}

pub async fn by_reference(tx: &mut Tx, reference: &str) -> Result<Vec<Operation>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, Operation>(
        BY_REFERENCE
    )
    .bind(reference)
    .fetch_all(conn)
    .await)?)
}

pub async fn insert(tx: &mut Tx, op: &Operation) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT)
        .bind(&op.id)
        .bind(&op.kind)
        .bind(&op.idempotency_key)
        .bind(&op.reference)
        .bind(&op.payment_method)
        .bind(op.amount_minor)
        .bind(&op.currency)
        .bind(&op.status)
        .bind(&op.failure_code)
        .bind(op.created_at)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
