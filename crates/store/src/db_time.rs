//! Times as the database keeps them. PostgreSQL stores `TIMESTAMPTZ`. SQLite
//! stores text, and sqlx writes RFC 3339 with as few fractional digits as
//! the value needs (none, 1 to 9), so two times within one second could
//! compare wrongly as text (`…00Z` sorts after `…00.5Z`). Every time bound
//! to a query goes through [`db`], which writes SQLite's text in one fixed
//! width, `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, where text order is time
//! order (Maecenas keeps times to the microsecond). Reading needs nothing:
//! sqlx parses that text as it parses any RFC 3339.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo};
use sqlx::{Encode, Postgres, Sqlite, Type};
use time::{OffsetDateTime, UtcOffset};

/// A time to bind, written in SQLite's fixed width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbTime(pub OffsetDateTime);

/// Fixed-width UTC text: text order is time order.
pub fn sqlite_text(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

impl Type<Sqlite> for DbTime {
    fn type_info() -> SqliteTypeInfo {
        <OffsetDateTime as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <OffsetDateTime as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for DbTime {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'_>>) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(sqlite_text(self.0), buf)
    }
}

impl Type<Postgres> for DbTime {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for DbTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

/// What a time (or an optional one) is bound as.
pub trait ToDb {
    type Bound;
    fn to_db(self) -> Self::Bound;
}

impl ToDb for OffsetDateTime {
    type Bound = DbTime;
    fn to_db(self) -> DbTime {
        DbTime(self)
    }
}

impl ToDb for &OffsetDateTime {
    type Bound = DbTime;
    fn to_db(self) -> DbTime {
        DbTime(*self)
    }
}

impl ToDb for Option<OffsetDateTime> {
    type Bound = Option<DbTime>;
    fn to_db(self) -> Option<DbTime> {
        self.map(DbTime)
    }
}

impl ToDb for &Option<OffsetDateTime> {
    type Bound = Option<DbTime>;
    fn to_db(self) -> Option<DbTime> {
        self.map(DbTime)
    }
}

/// A time as a query parameter: `.bind(db(now))`.
pub fn db<T: ToDb>(at: T) -> T::Bound {
    at.to_db()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sqlite_text_is_fixed_width_and_sorts_as_time() {
        let times = [
            datetime!(2026-12-01 10:00:00 UTC),
            datetime!(2026-12-01 10:00:00.000001 UTC),
            datetime!(2026-12-01 10:00:00.45 UTC),
            datetime!(2026-12-01 10:00:00.5 UTC),
            datetime!(2026-12-01 10:00:01 +01:00),
            datetime!(2026-12-01 10:00:01 UTC),
        ];
        let texts: Vec<String> = times.iter().map(|t| sqlite_text(*t)).collect();
        assert!(texts.iter().all(|t| t.len() == 27), "{texts:?}");
        assert_eq!(texts[0], "2026-12-01T10:00:00.000000Z");
        assert_eq!(texts[4], "2026-12-01T09:00:01.000000Z");
        let mut by_time = times.to_vec();
        by_time.sort();
        let mut by_text = texts.clone();
        by_text.sort();
        assert_eq!(
            by_text,
            by_time.iter().map(|t| sqlite_text(*t)).collect::<Vec<_>>()
        );
    }
}
