//! `users`: people, whatever roles they have.

use maecenas_domain::{AccountStanding, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    #[sqlx(try_from = "i64")]
    pub id: UserId,
    pub email: String,
    pub password_hash: Option<String>,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub about: String,
    pub description: String,
    pub status: String,
    pub image_url: Option<String>,
    pub thumb_url: Option<String>,
    pub facebook_id: Option<String>,
    pub youtube: Option<String>,
    pub twitter: Option<String>,
    pub facebook: Option<String>,
    pub is_creator: bool,
    pub is_admin: bool,
    pub is_suspended: bool,
    pub is_deleted: bool,
    pub is_nuked: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// When the current address was proven to reach its owner.
    pub email_verified_at: Option<OffsetDateTime>,
}
impl UserRow {
    /// See [`maecenas_domain::user::public_name`].
    pub fn public_name(&self) -> String {
        maecenas_domain::user::public_name(
            &self.first_name,
            &self.last_name,
            self.username.as_deref(),
        )
    }

    pub fn standing(&self) -> AccountStanding {
        AccountStanding::from_flags(self.is_suspended, self.is_deleted, self.is_nuked)
    }
}

maecenas_domain::debug_showing!(UserRow {
    id,
    email,
    username,
    first_name,
    last_name,
    about,
    description,
    status,
    image_url,
    thumb_url,
    facebook_id,
    youtube,
    twitter,
    facebook,
    is_creator,
    is_admin,
    is_suspended,
    is_deleted,
    is_nuked,
    created_at,
    updated_at,
    email_verified_at
});

macro_rules! user_columns {
    () => {
        "id, email, password_hash, username, first_name, last_name, about, description, status, \
         image_url, thumb_url, facebook_id, youtube, twitter, facebook, \
         is_creator, is_admin, is_suspended, is_deleted, is_nuked, created_at, updated_at, \
         email_verified_at"
    };
}
pub(crate) use user_columns;

#[derive(Clone)]
pub struct NewUser {
    pub id: UserId,
    /// Already normalised (see `maecenas_domain::Email`).
    pub email: String,
    pub password_hash: Option<String>,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub about: String,
    pub description: String,
    pub is_creator: bool,
    pub is_admin: bool,
    pub created_at: OffsetDateTime,
}
maecenas_domain::debug_showing!(NewUser {
    id,
    email,
    username,
    first_name,
    last_name,
    about,
    description,
    is_creator,
    is_admin,
    created_at
});

const INSERT: &str = "INSERT INTO users (id, email, password_hash, username, first_name, last_name, \
     about, description, is_creator, is_admin, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)";

/// Fails with [`StoreError::Conflict`] when the email or username is taken.
pub async fn insert_user(tx: &mut Tx, user: &NewUser) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(INSERT)
        .bind(user.id.get())
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(&user.username)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.about)
        .bind(&user.description)
        .bind(user.is_creator)
        .bind(user.is_admin)
        .bind(db(user.created_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
const BY_EMAIL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1");
const BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE lower(username) = lower($1)"
);
const PAGE: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE id > $1 ORDER BY id LIMIT $2"
);

pub async fn user_by_id(tx: &mut Tx, id: UserId) -> Result<Option<UserRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, UserRow>(BY_ID)
        .bind(id.get())
        .fetch_optional(conn)
        .await)?)
}

/// Several accounts in one query, in no particular order; unknown ids are left out.
pub async fn users_by_ids(tx: &mut Tx, ids: &[UserId]) -> Result<Vec<UserRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_backend!(tx, |conn| {
        let mut qb = sqlx::QueryBuilder::new(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id IN ("
        ));
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(id.get());
        }
        qb.push(")");
        qb.build_query_as::<UserRow>().fetch_all(conn).await
    })?)
}

pub async fn user_by_email(tx: &mut Tx, email: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, UserRow>(
        BY_EMAIL
    )
    .bind(email)
    .fetch_optional(conn)
    .await)?)
}

/// Usernames are unique regardless of case.
pub async fn user_by_username(tx: &mut Tx, username: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, UserRow>(
        BY_USERNAME
    )
    .bind(username)
    .fetch_optional(conn)
    .await)?)
}

/// Users in id (creation) order, after `after`: keyset paging.
pub async fn list_users(
    tx: &mut Tx,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<UserRow>, StoreError> {
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, UserRow>(PAGE)
        .bind(after.map_or(0, UserId::get))
        .bind(limit)
        .fetch_all(conn)
        .await)?)
}

pub async fn count_users(tx: &mut Tx) -> Result<i64, StoreError> {
    let (count,): (i64,) = on_backend!(tx, |conn| sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(conn)
        .await)?;
    Ok(count)
}

/// The profile fields a user edits (Sponsus `POST /v1/profiles/@me`).
#[derive(Debug, Clone)]
pub struct ProfileFields {
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub about: String,
    pub description: String,
    pub status: String,
    pub youtube: Option<String>,
    pub twitter: Option<String>,
    pub facebook: Option<String>,
}

const UPDATE_PROFILE: &str = "UPDATE users SET username = $2, about = $3, description = $4, status = $5, updated_at = $6, \
     first_name = $7, last_name = $8, youtube = $9, twitter = $10, facebook = $11 WHERE id = $1";

/// A taken username is a [`StoreError::Conflict`].
pub async fn update_profile(
    tx: &mut Tx,
    id: UserId,
    p: &ProfileFields,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(UPDATE_PROFILE)
        .bind(id.get())
        .bind(&p.username)
        .bind(&p.about)
        .bind(&p.description)
        .bind(&p.status)
        .bind(db(now))
        .bind(&p.first_name)
        .bind(&p.last_name)
        .bind(&p.youtube)
        .bind(&p.twitter)
        .bind(&p.facebook)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A user's uploaded picture.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AvatarRow {
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: Vec<u8>,
    pub etag: String,
    pub updated_at: OffsetDateTime,
}

/// Sets (or replaces) a user's picture.
pub async fn put_avatar(tx: &mut Tx, a: &AvatarRow) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO user_avatars (user_id, content_type, width, height, bytes, etag, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET \
         content_type = excluded.content_type, width = excluded.width, height = excluded.height, \
         bytes = excluded.bytes, etag = excluded.etag, updated_at = excluded.updated_at";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(a.user_id.get())
        .bind(&a.content_type)
        .bind(a.width)
        .bind(a.height)
        .bind(&a.bytes)
        .bind(&a.etag)
        .bind(db(a.updated_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn avatar_of(tx: &mut Tx, user: UserId) -> Result<Option<AvatarRow>, StoreError> {
    const SQL: &str = "SELECT user_id, content_type, width, height, bytes, etag, updated_at \
         FROM user_avatars WHERE user_id = $1";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, AvatarRow>(SQL)
        .bind(user.get())
        .fetch_optional(conn)
        .await)?)
}

pub async fn set_password_hash(
    tx: &mut Tx,
    id: UserId,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id.get())
    .bind(password_hash)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records that `email` reaches the owner of `id`, if it is still their
/// address (a link to an address since changed proves nothing); `false` if not.
pub async fn set_email_verified(
    tx: &mut Tx,
    id: UserId,
    email: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = on_backend!(tx, |conn| {
        sqlx::query(
        "UPDATE users SET email_verified_at = coalesce(email_verified_at, $3) WHERE id = $1 AND email = $2"
    )
    .bind(id.get())
    .bind(email)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(changed == 1)
}

/// A new address, not yet verified. `Conflict` if another account has it.
pub async fn set_email(
    tx: &mut Tx,
    id: UserId,
    email: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE users SET email = $2, email_verified_at = NULL, updated_at = $3 WHERE id = $1"
    )
    .bind(id.get())
    .bind(email)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Makes an account a creator's (it may then set up a campaign).
pub async fn make_creator(tx: &mut Tx, id: UserId, now: OffsetDateTime) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE users SET is_creator = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id.get())
    .bind(true)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The moderation flags of the seed: `is_suspended`, `is_deleted`, `is_nuked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moderation {
    pub is_suspended: bool,
    pub is_deleted: bool,
    pub is_nuked: bool,
}

pub async fn set_moderation(
    tx: &mut Tx,
    id: UserId,
    m: Moderation,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let n = on_backend!(tx, |conn| {
        sqlx::query(
        "UPDATE users SET is_suspended = $2, is_deleted = $3, is_nuked = $4, updated_at = $5 WHERE id = $1"
    )
    .bind(id.get())
    .bind(m.is_suspended)
    .bind(m.is_deleted)
    .bind(m.is_nuked)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Nuking: everything that says who the person was is erased; the row stays
/// because charges and the ledger point at it. `placeholder_email` keeps the
/// column unique and frees the real address for a new account.
pub async fn erase_personal_data(
    tx: &mut Tx,
    id: UserId,
    placeholder_email: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE users SET email = $2, password_hash = NULL, username = NULL, first_name = '', \
         last_name = '', about = '', description = '', status = 'hidden', image_url = NULL, \
         thumb_url = NULL, facebook_id = NULL, youtube = NULL, twitter = NULL, facebook = NULL, \
         updated_at = $3 WHERE id = $1"
    )
    .bind(id.get())
    .bind(placeholder_email)
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    on_backend!(tx, |conn| sqlx::query(
        "DELETE FROM user_avatars WHERE user_id = $1"
    )
    .bind(id.get())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
    )
    .bind(id.get())
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    on_backend!(tx, |conn| sqlx::query(
        "UPDATE api_keys SET revoked_at = $2 WHERE owner_id = $1 AND revoked_at IS NULL"
    )
    .bind(id.get())
    .bind(db(now))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    on_backend!(tx, |conn| {
        sqlx::query("DELETE FROM addresses WHERE user_id = $1 AND id NOT IN (SELECT address_id FROM pledges WHERE address_id IS NOT NULL)")
        .bind(id.get())
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

const SEARCH: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE id > $1 AND ($2 = '' OR lower(email) LIKE $3 OR lower(coalesce(username, '')) LIKE $3) \
     ORDER BY id LIMIT $4"
);

/// Users whose email or username contains `needle` (case-insensitive), keyset-paged.
pub async fn search_users(
    tx: &mut Tx,
    needle: &str,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<UserRow>, StoreError> {
    let pattern = like_pattern(needle);
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, UserRow>(
        SEARCH
    )
    .bind(after.map_or(0, UserId::get))
    .bind(needle)
    .bind(&pattern)
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

/// `%needle%`, lower-cased, with LIKE's wildcards taken literally.
pub fn like_pattern(needle: &str) -> String {
    let escaped: String = needle
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect();
    format!("%{escaped}%")
}
