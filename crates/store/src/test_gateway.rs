//! The books of the built-in `test` payment gateway. It stands in for an
//! outside processor, so it writes in transactions of its own: a billing run
//! that crashes cannot roll back what "the processor" already did.

use time::OffsetDateTime;

use crate::db_time::db;
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
        .bind(db(op.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The operations already made under any of `keys` (one query for a batch).
pub async fn by_idempotency_keys(
    tx: &mut Tx,
    keys: &[String],
) -> Result<Vec<Operation>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for chunk in keys.chunks(1_000) {
        let rows = on_backend!(tx, |conn| {
            let mut qb = sqlx::QueryBuilder::new(concat!(
                "SELECT ",
                columns!(),
                " FROM test_gateway_operations WHERE idempotency_key IN ("
            ));
            let mut list = qb.separated(", ");
            for key in chunk {
                list.push_bind(key);
            }
            qb.push(")");
            qb.build_query_as::<Operation>().fetch_all(conn).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Records a batch of operations in one statement per thousand.
pub async fn insert_many(tx: &mut Tx, ops: &[Operation]) -> Result<(), StoreError> {
    for chunk in ops.chunks(1_000) {
        on_backend!(tx, |conn| {
            let mut qb = sqlx::QueryBuilder::new(concat!(
                "INSERT INTO test_gateway_operations (",
                columns!(),
                ") "
            ));
            qb.push_values(chunk, |mut b, op| {
                b.push_bind(&op.id)
                    .push_bind(&op.kind)
                    .push_bind(&op.idempotency_key)
                    .push_bind(&op.reference)
                    .push_bind(&op.payment_method)
                    .push_bind(op.amount_minor)
                    .push_bind(&op.currency)
                    .push_bind(&op.status)
                    .push_bind(&op.failure_code)
                    .push_bind(db(op.created_at));
            });
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}
