//! `emails` (the outbox of messages), `email_tokens` (one-time links, as
//! hashes) and `email_opt_outs` (the kinds each person turned off).

use maecenas_domain::{ChargeStatus, EmailKind, EmailStatus, UserId};
use time::OffsetDateTime;

use crate::db_time::db;
use crate::{StoreError, Tx, on_backend};

/// A message as the use case that causes it writes it.
#[derive(Clone)]
pub struct NewEmail {
    pub id: i64,
    pub user_id: UserId,
    pub kind: EmailKind,
    pub to_address: String,
    pub subject: String,
    /// What it says, as the services write it out (JSON).
    pub content: String,
    pub unsubscribe_hash: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
    pub give_up_at: OffsetDateTime,
}

/// Writes `e` unless its kind can be turned off and its person turned it
/// off (checked in the same statement); `true` if it was written.
pub async fn insert_email(tx: &mut Tx, e: &NewEmail) -> Result<bool, StoreError> {
    const SQL: &str = "INSERT INTO emails (id, user_id, kind, to_address, subject, content, \
         unsubscribe_hash, status, attempts, next_attempt_at, give_up_at, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9, $8 \
         WHERE $7 IS NULL OR NOT EXISTS \
         (SELECT 1 FROM email_opt_outs WHERE user_id = $2 AND kind = $3)";
    let written = on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(e.id)
        .bind(e.user_id.get())
        .bind(e.kind.as_str())
        .bind(&e.to_address)
        .bind(&e.subject)
        .bind(&e.content)
        .bind(e.unsubscribe_hash.as_deref())
        .bind(db(e.created_at))
        .bind(db(e.give_up_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(written > 0)
}

/// A message a worker holds until its lease ends.
#[derive(Clone, sqlx::FromRow)]
pub struct ClaimedEmail {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub content: Option<String>,
    pub attempts: i32,
    pub give_up_at: OffsetDateTime,
}

maecenas_domain::debug_showing!(ClaimedEmail {
    id,
    to_address,
    subject,
    attempts,
    give_up_at
});

// The due messages, oldest first; on PostgreSQL those another worker holds
// are skipped, so that any number of nodes send each message once.
macro_rules! claim_emails {
    ($lock:literal) => {
        concat!(
            "UPDATE emails SET attempts = attempts + 1, claimed_until = $2 WHERE id IN \
             (SELECT id FROM emails WHERE status = 'pending' AND next_attempt_at <= $1 \
              AND (claimed_until IS NULL OR claimed_until <= $1) \
              ORDER BY next_attempt_at, id LIMIT $3",
            $lock,
            ") RETURNING id, to_address, subject, content, attempts, give_up_at"
        )
    };
}

/// Takes up to `limit` due messages until `lease_until`; each starts an attempt.
pub async fn claim_emails(
    tx: &mut Tx,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<ClaimedEmail>, StoreError> {
    let sql = match tx.backend() {
        crate::Backend::Sqlite => claim_emails!(""),
        crate::Backend::Postgres => claim_emails!(" FOR UPDATE SKIP LOCKED"),
    };
    let mut claimed = on_backend!(tx, |conn| sqlx::query_as::<_, ClaimedEmail>(sql)
        .bind(db(now))
        .bind(db(lease_until))
        .bind(limit)
        .fetch_all(conn)
        .await)?;
    claimed.sort_by_key(|e| e.id);
    Ok(claimed)
}

/// Handed over: the content (which may carry a one-time link) are dropped.
pub async fn mark_sent(
    tx: &mut Tx,
    id: i64,
    sent_ref: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE emails SET status = 'sent', sent_at = $2, sent_ref = $3, \
         content = NULL, claimed_until = NULL, last_error = NULL WHERE id = $1";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(db(now))
        .bind(sent_ref)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Not handed over: try again at `next_attempt_at`, or give up (`None`),
/// which drops the content as sending does.
pub async fn mark_attempt_failed(
    tx: &mut Tx,
    id: i64,
    error: &str,
    next_attempt_at: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    const RETRY: &str = "UPDATE emails SET next_attempt_at = $2, last_error = $3, claimed_until = NULL \
         WHERE id = $1";
    const GIVE_UP: &str = "UPDATE emails SET status = 'failed', last_error = $2, claimed_until = NULL, \
         content = NULL WHERE id = $1";
    match next_attempt_at {
        Some(at) => on_backend!(tx, |conn| sqlx::query(RETRY)
            .bind(id)
            .bind(db(at))
            .bind(error)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?,
        None => on_backend!(tx, |conn| sqlx::query(GIVE_UP)
            .bind(id)
            .bind(error)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?,
    };
    Ok(())
}

/// A message as the operators' list and a person's data archive show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailRow {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    #[sqlx(try_from = "String")]
    pub kind: EmailKind,
    pub to_address: String,
    pub subject: String,
    #[sqlx(try_from = "String")]
    pub status: EmailStatus,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub sent_ref: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

macro_rules! email_columns {
    () => {
        "id, user_id, kind, to_address, subject, status, attempts, next_attempt_at, last_error, \
         sent_ref, created_at, sent_at"
    };
}

/// Newest first, strictly before `before` (keyset).
pub async fn recent_emails(
    tx: &mut Tx,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EmailRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        email_columns!(),
        " FROM emails WHERE id < $1 ORDER BY id DESC LIMIT $2"
    );
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, EmailRow>(SQL)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(conn)
        .await)?)
}

pub async fn emails_of_user(tx: &mut Tx, user: UserId) -> Result<Vec<EmailRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        email_columns!(),
        " FROM emails WHERE user_id = $1 ORDER BY id"
    );
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, EmailRow>(SQL)
        .bind(user.get())
        .fetch_all(conn)
        .await)?)
}

pub async fn email_by_id(tx: &mut Tx, id: i64) -> Result<Option<EmailRow>, StoreError> {
    const SQL: &str = concat!("SELECT ", email_columns!(), " FROM emails WHERE id = $1");
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, EmailRow>(SQL)
        .bind(id)
        .fetch_optional(conn)
        .await)?)
}

/// The person and kind behind an unsubscribe link.
pub async fn email_by_unsubscribe_hash(
    tx: &mut Tx,
    hash: &[u8],
) -> Result<Option<EmailRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        email_columns!(),
        " FROM emails WHERE unsubscribe_hash = $1"
    );
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, EmailRow>(SQL)
        .bind(hash)
        .fetch_optional(conn)
        .await)?)
}

/// Whether at least `n` messages wait to be sent (counted no further).
pub async fn backlog_reaches(tx: &mut Tx, n: i64) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT count(*) FROM \
         (SELECT 1 FROM emails WHERE status = 'pending' LIMIT $1) AS waiting";
    let count: i64 = on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(n)
        .fetch_one(conn)
        .await)?;
    Ok(count >= n)
}

/// Messages waiting to be sent, the due time of the most overdue one, and
/// the charges whose payers are still to be written to: the mail queue as
/// `/metrics` shows it.
pub async fn mail_queue(tx: &mut Tx) -> Result<(i64, Option<OffsetDateTime>, i64), StoreError> {
    const PENDING: &str = "SELECT count(*) FROM emails WHERE status = 'pending'";
    const OLDEST: &str = "SELECT next_attempt_at FROM emails WHERE status = 'pending' \
         ORDER BY next_attempt_at LIMIT 1";
    const CHARGES: &str = "SELECT count(*) FROM charges WHERE mail_due";
    let pending: i64 = on_backend!(tx, |conn| sqlx::query_scalar(PENDING).fetch_one(conn).await)?;
    let oldest: Option<OffsetDateTime> = on_backend!(tx, |conn| sqlx::query_scalar(OLDEST)
        .fetch_optional(conn)
        .await)?;
    let charges: i64 = on_backend!(tx, |conn| sqlx::query_scalar(CHARGES).fetch_one(conn).await)?;
    Ok((pending, oldest, charges))
}

/// Nothing unsent about `campaign` goes out: its charges' outcomes are not
/// mailed, and messages waiting for its creator are dropped (the demo's
/// back-dated history is not news to anyone).
pub async fn forget_unsent_mail_of_campaign(
    tx: &mut Tx,
    campaign: maecenas_domain::CampaignId,
) -> Result<(), StoreError> {
    const CHARGES: &str = "UPDATE charges SET mail_due = FALSE WHERE mail_due AND campaign_id = $1";
    const EMAILS: &str = "DELETE FROM emails WHERE status = 'pending' \
         AND user_id = (SELECT creator_id FROM campaigns WHERE id = $1)";
    on_backend!(tx, |conn| sqlx::query(CHARGES)
        .bind(campaign.get())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    on_backend!(tx, |conn| sqlx::query(EMAILS)
        .bind(campaign.get())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Verify,
    Reset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Verify => "verify",
            TokenPurpose::Reset => "reset",
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_email_token(
    tx: &mut Tx,
    id: i64,
    user: UserId,
    purpose: TokenPurpose,
    email: &str,
    token_hash: &[u8],
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO email_tokens (id, user_id, purpose, email, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(user.get())
        .bind(purpose.as_str())
        .bind(email)
        .bind(token_hash)
        .bind(db(now))
        .bind(db(expires_at))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A one-time link that was just used.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UsedToken {
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub email: String,
}

/// Uses the link behind `hash` if it is for `purpose`, unused and not
/// expired at `now`: at most once, whoever asks at the same moment.
pub async fn use_email_token(
    tx: &mut Tx,
    hash: &[u8],
    purpose: TokenPurpose,
    now: OffsetDateTime,
) -> Result<Option<UsedToken>, StoreError> {
    const SQL: &str = "UPDATE email_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3 RETURNING user_id, email";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, UsedToken>(SQL)
        .bind(hash)
        .bind(purpose.as_str())
        .bind(db(now))
        .fetch_optional(conn)
        .await)?)
}

/// Whether the link behind `hash` would still work (a form shows before it is used).
pub async fn email_token_is_live(
    tx: &mut Tx,
    hash: &[u8],
    purpose: TokenPurpose,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT count(*) FROM email_tokens WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3";
    let n: i64 = on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(hash)
        .bind(purpose.as_str())
        .bind(db(now))
        .fetch_one(conn)
        .await)?;
    Ok(n > 0)
}

/// Ends every unused link of `user` for `purpose` (a new password makes the
/// other reset links useless; a new address, the old verification links).
pub async fn expire_email_tokens(
    tx: &mut Tx,
    user: UserId,
    purpose: TokenPurpose,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE email_tokens SET expires_at = $3 WHERE user_id = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3";
    on_backend!(tx, |conn| sqlx::query(SQL)
        .bind(user.get())
        .bind(purpose.as_str())
        .bind(db(now))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The kinds `user` turned off.
pub async fn opt_outs_of(tx: &mut Tx, user: UserId) -> Result<Vec<EmailKind>, StoreError> {
    const SQL: &str = "SELECT kind FROM email_opt_outs WHERE user_id = $1 ORDER BY kind";
    let kinds: Vec<String> = on_backend!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(user.get())
        .fetch_all(conn)
        .await)?;
    // A word no longer known (a kind since retired) turns nothing off.
    Ok(kinds.iter().filter_map(|k| k.parse().ok()).collect())
}

/// Turns `kind` off (`off`) or back on for `user`; saying it twice is harmless.
pub async fn set_opt_out(
    tx: &mut Tx,
    user: UserId,
    kind: EmailKind,
    off: bool,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    const OFF: &str = "INSERT INTO email_opt_outs (user_id, kind, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, kind) DO NOTHING";
    const ON: &str = "DELETE FROM email_opt_outs WHERE user_id = $1 AND kind = $2";
    if off {
        on_backend!(tx, |conn| sqlx::query(OFF)
            .bind(user.get())
            .bind(kind.as_str())
            .bind(db(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
    } else {
        on_backend!(tx, |conn| sqlx::query(ON)
            .bind(user.get())
            .bind(kind.as_str())
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Many messages in a few statements (a billing run's receipts).
pub async fn insert_emails(tx: &mut Tx, all: &[NewEmail]) -> Result<(), StoreError> {
    // 9 values a row: well under SQLite's 32,766 bound parameters.
    for chunk in all.chunks(1_000) {
        on_backend!(tx, |conn| {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO emails (id, user_id, kind, to_address, subject, content, \
                 unsubscribe_hash, status, attempts, next_attempt_at, give_up_at, created_at) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.id)
                    .push_bind(e.user_id.get())
                    .push_bind(e.kind.as_str())
                    .push_bind(&e.to_address)
                    .push_bind(&e.subject)
                    .push_bind(&e.content)
                    .push_bind(e.unsubscribe_hash.as_deref())
                    .push("'pending'")
                    .push("0")
                    .push_bind(db(e.created_at))
                    .push_bind(db(e.give_up_at))
                    .push_bind(db(e.created_at));
            });
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// A charge whose payer is to hear of its outcome, with what the message
/// says of it: the payer, the card, the creator (and what the payer turned off).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChargeMail {
    pub charge_id: i64,
    #[sqlx(try_from = "String")]
    pub status: ChargeStatus,
    pub period: Option<String>,
    pub donation_id: Option<i64>,
    pub currency: String,
    pub amount_minor: i64,
    pub next_attempt_at: OffsetDateTime,
    pub succeeded_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    /// The payer, and whether their account is gone (then nothing is sent).
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub payer_gone: bool,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    /// The campaign's page name, and its creator's names (what names the page without one).
    pub page_name: Option<String>,
    pub creator_first_name: String,
    pub creator_last_name: String,
    pub creator_username: Option<String>,
    /// The payer turned receipts off.
    pub no_receipts: bool,
    /// The payer turned declined-payment messages off.
    pub no_declines: bool,
}

macro_rules! charge_mail_due {
    ($lock:literal) => {
        concat!(
            "SELECT c.id AS charge_id, c.status, c.period, c.donation_id, c.currency, c.amount_minor, \
             c.next_attempt_at, c.succeeded_at, c.updated_at, \
             u.id AS user_id, u.email, u.first_name, (u.is_deleted OR u.is_nuked) AS payer_gone, \
             pm.brand AS card_brand, pm.last4 AS card_last4, cp.page_name, \
             cu.first_name AS creator_first_name, cu.last_name AS creator_last_name, \
             cu.username AS creator_username, \
             EXISTS (SELECT 1 FROM email_opt_outs o WHERE o.user_id = u.id AND o.kind = 'receipt') AS no_receipts, \
             EXISTS (SELECT 1 FROM email_opt_outs o WHERE o.user_id = u.id AND o.kind = 'payment_declined') AS no_declines \
             FROM charges c JOIN users u ON u.id = c.patron_id \
             JOIN campaigns cp ON cp.id = c.campaign_id JOIN users cu ON cu.id = cp.creator_id \
             LEFT JOIN payment_methods pm ON pm.id = c.payment_method_id \
             WHERE c.mail_due ORDER BY c.id LIMIT $1",
            $lock
        )
    };
}

/// Up to `limit` charges whose outcome is still to be written to their
/// payers, oldest first. On PostgreSQL rows another worker holds are
/// skipped, so two workers never write the same receipt.
pub async fn charges_due_for_mail(tx: &mut Tx, limit: i64) -> Result<Vec<ChargeMail>, StoreError> {
    let sql = match tx.backend() {
        crate::Backend::Sqlite => charge_mail_due!(""),
        crate::Backend::Postgres => charge_mail_due!(" FOR UPDATE OF c SKIP LOCKED"),
    };
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, ChargeMail>(
        sql
    )
    .bind(limit)
    .fetch_all(conn)
    .await)?)
}

/// The payers of `charges` have been written to.
pub async fn charges_mailed(tx: &mut Tx, charges: &[i64]) -> Result<(), StoreError> {
    for chunk in charges.chunks(1_000) {
        on_backend!(tx, |conn| {
            let mut qb =
                sqlx::QueryBuilder::new("UPDATE charges SET mail_due = FALSE WHERE id IN (");
            let mut ids = qb.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            qb.push(")");
            qb.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Someone a message to many goes to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
}

/// The patrons of `campaign` with an active pledge who have not turned
/// `kind` off and whose accounts are not gone (a new post's readers).
pub async fn active_patron_recipients(
    tx: &mut Tx,
    campaign: maecenas_domain::CampaignId,
    kind: EmailKind,
) -> Result<Vec<Recipient>, StoreError> {
    const SQL: &str = "SELECT u.id AS user_id, u.email, u.first_name FROM pledges p \
         JOIN users u ON u.id = p.patron_id \
         WHERE p.campaign_id = $1 AND p.status = 'active' AND p.ended_at IS NULL \
         AND NOT u.is_deleted AND NOT u.is_nuked \
         AND NOT EXISTS (SELECT 1 FROM email_opt_outs o WHERE o.user_id = u.id AND o.kind = $2) \
         ORDER BY u.id";
    Ok(on_backend!(tx, |conn| sqlx::query_as::<_, Recipient>(SQL)
        .bind(campaign.get())
        .bind(kind.as_str())
        .fetch_all(conn)
        .await)?)
}
