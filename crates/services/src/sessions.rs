//! Logging in and out of the web pages.

use maecenas_domain::{Email, UserId};
use maecenas_store::Tx;
use maecenas_store::sessions as store;
use maecenas_store::users::{self, UserRow};
use time::{Duration, OffsetDateTime};

use crate::{ServiceError, Services, secrets};

pub const SESSION_PREFIX: &str = "mss_";
pub const SESSION_LIFETIME: Duration = Duration::days(30);

/// The same answer for an unknown email and a wrong password: a log-in error
/// never tells whether an account exists.
pub const BAD_CREDENTIALS: &str = "email or password is incorrect";

impl Services {
    /// Checks the password and opens a session; returns the session token for the cookie.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(UserRow, String), ServiceError> {
        let email = Email::parse(email)
            .map_err(|_| ServiceError::invalid("credentials", BAD_CREDENTIALS))?;
        let user = {
            let mut tx = self.store.read().await?;
            users::user_by_email(&mut tx, email.as_str()).await?
        };
        // Verify against a real hash even when the user is unknown, so both cases take as long.
        let (stored, user) = match user {
            Some(user) if user.password_hash.is_some() && user.standing().is_active() => {
                (user.password_hash.clone().unwrap_or_default(), Some(user))
            }
            _ => {
                let decoy = tokio::task::spawn_blocking(|| secrets::timing_decoy_hash().to_owned())
                    .await
                    .map_err(|e| anyhow::anyhow!("decoy hash task: {e}"))?;
                (decoy, None)
            }
        };
        let ok = secrets::verify_password(password.to_owned(), stored).await?;
        let user = match (ok, user) {
            (true, Some(user)) => user,
            _ => return Err(ServiceError::invalid("credentials", BAD_CREDENTIALS)),
        };
        let mut tx = self.store.write().await?;
        let token = start_session(&mut tx, user.id, self.clock.now()).await?;
        tx.commit().await?;
        Ok((user, token))
    }

    /// The user behind a session cookie, if the session is live and the user may act.
    pub async fn session_user(&self, session_token: &str) -> Result<Option<UserRow>, ServiceError> {
        let hash = secrets::sha256(session_token);
        let mut tx = self.store.read_without_snapshot().await?;
        let Some(user_id) = store::session_user(&mut tx, &hash, self.clock.now()).await? else {
            return Ok(None);
        };
        let user = users::user_by_id(&mut tx, user_id).await?;
        Ok(user.filter(|u| u.standing().is_active()))
    }

    /// Ends a session on the server (the cookie alone is not enough to log out).
    pub async fn log_out(&self, session_token: &str) -> Result<(), ServiceError> {
        let mut tx = self.store.write().await?;
        store::delete_session(&mut tx, &secrets::sha256(session_token)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A new session for `user`; the cookie's value (only its hash is stored).
pub(crate) async fn start_session(
    tx: &mut Tx,
    user: UserId,
    now: OffsetDateTime,
) -> Result<String, ServiceError> {
    let token = secrets::mint(SESSION_PREFIX)?;
    store::insert_session(tx, &token.hash, user, now, now + SESSION_LIFETIME).await?;
    Ok(token.plaintext)
}
