//! The statements of the OAuth token endpoint (code exchange and refresh),
//! on either path a write can take: a [`Tx`] (PostgreSQL, and SQLite when
//! called that way) or a job on SQLite's group writer ([`Direct`]).
//!
//! The use case is written once, over [`TokenStatements`]; each SQL text
//! below is written once and run by both implementations. On `Direct` the
//! futures finish without waiting (each statement runs on the spot), so the
//! job can drive the use case to its end with a plain `block_on`.

use std::future::Future;

use maecenas_domain::{AccountStanding, OAuthClientId, UserId};
use time::OffsetDateTime;

use crate::direct::{Direct, optional_time_of, time_of, time_text};
use crate::oauth::{
    CodeRow, GrantRow, INSERT_CODE, INSERT_GRANT, INSERT_TOKEN, MARK_REFRESHED, REVOKE_GRANT,
    REVOKE_TOKENS_OF_GRANT, TokenRow, USE_CODE,
};
use crate::webhooks::{PAUSE_WEBHOOKS_WITHOUT_ACCESS, RESUME_WEBHOOKS_WITH_ACCESS, scope_pattern};
use crate::{StoreError, Tx, on_backend};

/// A client as the token endpoint checks it: its row id and secret hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientKey {
    pub id: OAuthClientId,
    pub secret_hash: Vec<u8>,
}
maecenas_domain::debug_showing!(ClientKey { id });

/// A code with its grant and where its user stands (`None`: no such user).
#[derive(Debug, Clone)]
pub struct CodeWithGrant {
    pub code: CodeRow,
    pub grant: GrantRow,
    pub standing: Option<AccountStanding>,
}

/// A token found by its refresh hash, with its grant and user's standing.
#[derive(Debug, Clone)]
pub struct RefreshWithGrant {
    pub token: TokenRow,
    pub grant: GrantRow,
    pub standing: Option<AccountStanding>,
}

/// What the token endpoint reads and writes, one call per statement (two
/// for [`TokenStatements::revoke_grant`]).
pub trait TokenStatements: Send {
    fn client_key(
        &mut self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<ClientKey>, StoreError>> + Send;
    fn code_with_grant(
        &mut self,
        code_hash: &[u8],
    ) -> impl Future<Output = Result<Option<CodeWithGrant>, StoreError>> + Send;
    fn refresh_with_grant(
        &mut self,
        refresh_hash: &[u8],
    ) -> impl Future<Output = Result<Option<RefreshWithGrant>, StoreError>> + Send;
    /// Marks a code used; false when it already was.
    fn use_code(
        &mut self,
        code_hash: &[u8],
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks a refresh token used; false when it already was (or is revoked).
    fn mark_refreshed(
        &mut self,
        token: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn insert_grant(
        &mut self,
        grant: &GrantRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_code(
        &mut self,
        code: &CodeRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_token(
        &mut self,
        token: &TokenRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Revokes a grant and every token of it.
    fn revoke_grant(
        &mut self,
        grant: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// See [`crate::webhooks::pause_webhooks_without_access`].
    fn pause_webhooks_without_access(
        &mut self,
        client: OAuthClientId,
        creator: UserId,
        scope: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// See [`crate::webhooks::resume_webhooks_with_access`].
    fn resume_webhooks_with_access(
        &mut self,
        client: OAuthClientId,
        creator: UserId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

const CLIENT_KEY: &str = "SELECT id, secret_hash FROM oauth_clients WHERE client_id = $1";

// The grant's columns and its user's standing, each a lookup by primary key
// (`$fk` is the grant id column of the row they belong to). Written as
// scalar subqueries, not joins, on purpose: statistics taken while these
// tables were nearly empty (an `ANALYZE` on a young database, as the
// benchmark harness does) led SQLite's planner to scan the whole grant and
// user tables inside a join, for every request and slower with every token
// issued (BENCHMARKS.md, performance step 2). A scalar subquery over one
// table with its primary key is looked up whatever the statistics say.
macro_rules! grant_and_standing_of {
    ($fk:literal) => {
        concat!(
            "(SELECT client_row_id FROM oauth_grants WHERE id = ",
            $fk,
            ") AS client_row_id, ",
            "(SELECT user_id FROM oauth_grants WHERE id = ",
            $fk,
            ") AS user_id, ",
            "(SELECT scope FROM oauth_grants WHERE id = ",
            $fk,
            ") AS scope, ",
            "(SELECT created_at FROM oauth_grants WHERE id = ",
            $fk,
            ") AS grant_created_at, ",
            "(SELECT revoked_at FROM oauth_grants WHERE id = ",
            $fk,
            ") AS grant_revoked_at, ",
            "(SELECT is_suspended FROM users WHERE id = \
             (SELECT user_id FROM oauth_grants WHERE id = ",
            $fk,
            ")) AS is_suspended, ",
            "(SELECT is_deleted FROM users WHERE id = \
             (SELECT user_id FROM oauth_grants WHERE id = ",
            $fk,
            ")) AS is_deleted, ",
            "(SELECT is_nuked FROM users WHERE id = \
             (SELECT user_id FROM oauth_grants WHERE id = ",
            $fk,
            ")) AS is_nuked "
        )
    };
}

const CODE_WITH_GRANT: &str = concat!(
    "SELECT c.code_hash, c.grant_id, c.redirect_uri, c.code_challenge, c.expires_at, c.used_at, ",
    grant_and_standing_of!("c.grant_id"),
    "FROM oauth_codes c WHERE c.code_hash = $1"
);

const REFRESH_WITH_GRANT: &str = concat!(
    "SELECT t.id, t.grant_id, t.access_hash, t.refresh_hash, t.created_at, t.access_expires_at, \
     t.refreshed_at, t.revoked_at, ",
    grant_and_standing_of!("t.grant_id"),
    "FROM oauth_tokens t WHERE t.refresh_hash = $1"
);

// ---- rows as the lookups above return them --------------------------------

#[derive(sqlx::FromRow)]
struct GrantColumns {
    grant_id: i64,
    client_row_id: i64,
    user_id: i64,
    scope: String,
    grant_created_at: OffsetDateTime,
    grant_revoked_at: Option<OffsetDateTime>,
    is_suspended: Option<bool>,
    is_deleted: Option<bool>,
    is_nuked: Option<bool>,
}

impl GrantColumns {
    fn split(self) -> (GrantRow, Option<AccountStanding>) {
        let standing = match (self.is_suspended, self.is_deleted, self.is_nuked) {
            (Some(suspended), Some(deleted), Some(nuked)) => {
                Some(AccountStanding::from_flags(suspended, deleted, nuked))
            }
            _ => None,
        };
        let grant = GrantRow {
            id: self.grant_id,
            client_row_id: self.client_row_id.into(),
            user_id: self.user_id.into(),
            scope: self.scope,
            created_at: self.grant_created_at,
            revoked_at: self.grant_revoked_at,
        };
        (grant, standing)
    }

    fn of_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<GrantColumns> {
        Ok(GrantColumns {
            grant_id: row.get("grant_id")?,
            client_row_id: row.get("client_row_id")?,
            user_id: row.get("user_id")?,
            scope: row.get("scope")?,
            grant_created_at: time_of(row, "grant_created_at")?,
            grant_revoked_at: optional_time_of(row, "grant_revoked_at")?,
            is_suspended: row.get("is_suspended")?,
            is_deleted: row.get("is_deleted")?,
            is_nuked: row.get("is_nuked")?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CodeColumns {
    code_hash: Vec<u8>,
    redirect_uri: String,
    code_challenge: Option<String>,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
    #[sqlx(flatten)]
    grant: GrantColumns,
}

impl CodeColumns {
    fn joined(self) -> CodeWithGrant {
        let grant_id = self.grant.grant_id;
        let (grant, standing) = self.grant.split();
        CodeWithGrant {
            code: CodeRow {
                code_hash: self.code_hash,
                grant_id,
                redirect_uri: self.redirect_uri,
                code_challenge: self.code_challenge,
                expires_at: self.expires_at,
                used_at: self.used_at,
            },
            grant,
            standing,
        }
    }

    fn of_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<CodeColumns> {
        Ok(CodeColumns {
            code_hash: row.get("code_hash")?,
            redirect_uri: row.get("redirect_uri")?,
            code_challenge: row.get("code_challenge")?,
            expires_at: time_of(row, "expires_at")?,
            used_at: optional_time_of(row, "used_at")?,
            grant: GrantColumns::of_sqlite(row)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RefreshColumns {
    id: i64,
    access_hash: Vec<u8>,
    refresh_hash: Vec<u8>,
    created_at: OffsetDateTime,
    access_expires_at: OffsetDateTime,
    refreshed_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
    #[sqlx(flatten)]
    grant: GrantColumns,
}

impl RefreshColumns {
    fn joined(self) -> RefreshWithGrant {
        let grant_id = self.grant.grant_id;
        let (grant, standing) = self.grant.split();
        RefreshWithGrant {
            token: TokenRow {
                id: self.id,
                grant_id,
                access_hash: self.access_hash,
                refresh_hash: self.refresh_hash,
                created_at: self.created_at,
                access_expires_at: self.access_expires_at,
                refreshed_at: self.refreshed_at,
                revoked_at: self.revoked_at,
            },
            grant,
            standing,
        }
    }

    fn of_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<RefreshColumns> {
        Ok(RefreshColumns {
            id: row.get("id")?,
            access_hash: row.get("access_hash")?,
            refresh_hash: row.get("refresh_hash")?,
            created_at: time_of(row, "created_at")?,
            access_expires_at: time_of(row, "access_expires_at")?,
            refreshed_at: optional_time_of(row, "refreshed_at")?,
            revoked_at: optional_time_of(row, "revoked_at")?,
            grant: GrantColumns::of_sqlite(row)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClientKeyColumns {
    id: i64,
    secret_hash: Vec<u8>,
}

// ---- on a transaction -------------------------------------------------------

impl TokenStatements for Tx {
    async fn client_key(&mut self, client_id: &str) -> Result<Option<ClientKey>, StoreError> {
        let row = on_backend!(self, |conn| sqlx::query_as::<_, ClientKeyColumns>(
            CLIENT_KEY
        )
        .bind(client_id)
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(|r| ClientKey {
            id: r.id.into(),
            secret_hash: r.secret_hash,
        }))
    }

    async fn code_with_grant(
        &mut self,
        code_hash: &[u8],
    ) -> Result<Option<CodeWithGrant>, StoreError> {
        let row = on_backend!(self, |conn| sqlx::query_as::<_, CodeColumns>(
            CODE_WITH_GRANT
        )
        .bind(code_hash)
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(CodeColumns::joined))
    }

    async fn refresh_with_grant(
        &mut self,
        refresh_hash: &[u8],
    ) -> Result<Option<RefreshWithGrant>, StoreError> {
        let row = on_backend!(self, |conn| sqlx::query_as::<_, RefreshColumns>(
            REFRESH_WITH_GRANT
        )
        .bind(refresh_hash)
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(RefreshColumns::joined))
    }

    async fn use_code(
        &mut self,
        code_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        crate::oauth::use_code(self, code_hash, now).await
    }

    async fn mark_refreshed(
        &mut self,
        token: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        crate::oauth::mark_refreshed(self, token, now).await
    }

    async fn insert_grant(&mut self, grant: &GrantRow) -> Result<(), StoreError> {
        crate::oauth::insert_grant(
            self,
            grant.id,
            grant.client_row_id,
            grant.user_id,
            &grant.scope,
            grant.created_at,
        )
        .await
    }

    async fn insert_code(&mut self, code: &CodeRow) -> Result<(), StoreError> {
        crate::oauth::insert_code(self, code).await
    }

    async fn insert_token(&mut self, token: &TokenRow) -> Result<(), StoreError> {
        crate::oauth::insert_token(self, token).await
    }

    async fn revoke_grant(&mut self, grant: i64, now: OffsetDateTime) -> Result<(), StoreError> {
        crate::oauth::revoke_grant(self, grant, now).await
    }

    async fn pause_webhooks_without_access(
        &mut self,
        client: OAuthClientId,
        creator: UserId,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        crate::webhooks::pause_webhooks_without_access(self, client, creator, scope, now).await
    }

    async fn resume_webhooks_with_access(
        &mut self,
        client: OAuthClientId,
        creator: UserId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        crate::webhooks::resume_webhooks_with_access(self, client, creator, now).await
    }
}

// ---- on SQLite's group writer ---------------------------------------------

impl TokenStatements for Direct<'_> {
    async fn client_key(&mut self, client_id: &str) -> Result<Option<ClientKey>, StoreError> {
        self.query_row(CLIENT_KEY, &[&client_id], |row| {
            Ok(ClientKey {
                id: row.get::<_, i64>("id")?.into(),
                secret_hash: row.get("secret_hash")?,
            })
        })
    }

    async fn code_with_grant(
        &mut self,
        code_hash: &[u8],
    ) -> Result<Option<CodeWithGrant>, StoreError> {
        Ok(self
            .query_row(CODE_WITH_GRANT, &[&code_hash], CodeColumns::of_sqlite)?
            .map(CodeColumns::joined))
    }

    async fn refresh_with_grant(
        &mut self,
        refresh_hash: &[u8],
    ) -> Result<Option<RefreshWithGrant>, StoreError> {
        Ok(self
            .query_row(
                REFRESH_WITH_GRANT,
                &[&refresh_hash],
                RefreshColumns::of_sqlite,
            )?
            .map(RefreshColumns::joined))
    }

    async fn use_code(
        &mut self,
        code_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(USE_CODE, &[&code_hash, &time_text(now)])? == 1)
    }

    async fn mark_refreshed(
        &mut self,
        token: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(MARK_REFRESHED, &[&token, &time_text(now)])? == 1)
    }

    async fn insert_grant(&mut self, grant: &GrantRow) -> Result<(), StoreError> {
        self.execute(
            INSERT_GRANT,
            &[
                &grant.id,
                &grant.client_row_id.get(),
                &grant.user_id.get(),
                &grant.scope,
                &time_text(grant.created_at),
            ],
        )?;
        Ok(())
    }

    async fn insert_code(&mut self, code: &CodeRow) -> Result<(), StoreError> {
        self.execute(
            INSERT_CODE,
            &[
                &code.code_hash,
                &code.grant_id,
                &code.redirect_uri,
                &code.code_challenge,
                &time_text(code.expires_at),
                &code.used_at.map(time_text),
            ],
        )?;
        Ok(())
    }

    async fn insert_token(&mut self, token: &TokenRow) -> Result<(), StoreError> {
        self.execute(
            INSERT_TOKEN,
            &[
                &token.id,
                &token.grant_id,
                &token.access_hash,
                &token.refresh_hash,
                &time_text(token.created_at),
                &time_text(token.access_expires_at),
            ],
        )?;
        Ok(())
    }

    async fn revoke_grant(&mut self, grant: i64, now: OffsetDateTime) -> Result<(), StoreError> {
        let now = time_text(now);
        self.execute(REVOKE_GRANT, &[&grant, &now])?;
        self.execute(REVOKE_TOKENS_OF_GRANT, &[&grant, &now])?;
        Ok(())
    }

    async fn pause_webhooks_without_access(
        &mut self,
        client: OAuthClientId,
        creator: UserId,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.execute(
            PAUSE_WEBHOOKS_WITHOUT_ACCESS,
            &[
                &client.get(),
                &creator.get(),
                &time_text(now),
                &scope_pattern(scope),
            ],
        )
    }

    async fn resume_webhooks_with_access(
        &mut self,
        client: OAuthClientId,
        creator: UserId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.execute(
            RESUME_WEBHOOKS_WITH_ACCESS,
            &[&client.get(), &creator.get(), &time_text(now)],
        )
    }
}
