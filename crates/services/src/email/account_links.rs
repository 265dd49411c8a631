//! The two one-time links: proving an address (at sign-up and on change) and
//! resetting a forgotten password. Each token is 256 random bits, kept only
//! as its SHA-256, used at most once.

use maecenas_domain::email::{RESET_LINK_LIFETIME_SECS, VERIFY_LINK_LIFETIME_SECS};
use maecenas_domain::{Email, EmailKind, UserId};
use maecenas_store::Tx;
use maecenas_store::emails::{self, TokenPurpose};
use maecenas_store::sessions as sessions_store;
use maecenas_store::users::{self, UserRow};
use time::Duration;

use super::{enqueue, messages};
use crate::{ServiceError, Services, secrets};

/// What following a verification link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The address is proven; `next` is where the person was going.
    Address { email: String },
    /// The link is unknown, used, expired, or for an address since changed.
    NotValid,
}

/// Where a verification link sends the person afterwards: a path on this
/// site only (the web layer checks it again before redirecting).
fn verify_path(token: &str, next: Option<&str>) -> String {
    let mut path = format!("/email/verify?token={token}");
    if let Some(next) = next.filter(|n| n.starts_with('/') && !n.starts_with("//")) {
        path.push_str("&next=");
        path.push_str(&url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
    }
    path
}

impl Services {
    /// Writes a verification message for `user`'s current address in `tx`.
    pub(crate) async fn send_verification_in(
        &self,
        tx: &mut Tx,
        user: &UserRow,
        next: Option<&str>,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let token = secrets::mint("mcv_")?;
        emails::insert_email_token(
            tx,
            self.ids.next_raw(),
            user.id,
            TokenPurpose::Verify,
            &user.email,
            &token.hash,
            now,
            now + Duration::seconds(VERIFY_LINK_LIFETIME_SECS),
        )
        .await?;
        let link = self.mail.link(&verify_path(&token.plaintext, next));
        let letter = messages::verify_address(&user.first_name, &link);
        enqueue(self, tx, user, EmailKind::VerifyAddress, &letter).await?;
        Ok(())
    }

    /// "Send the link again": a new link (the old ones keep working until
    /// they expire). Nothing to do once the address is verified.
    pub async fn resend_verification(&self, user: UserId) -> Result<bool, ServiceError> {
        let mut tx = self.store.write().await?;
        let row = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if row.email_verified_at.is_some() {
            return Ok(false);
        }
        self.send_verification_in(&mut tx, &row, None).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A new address for `user`, after checking their password: the old
    /// address is told (the last message it gets), the new one gets a link
    /// to verify it, and reset links sent to the old one stop working.
    pub async fn change_email(
        &self,
        user: UserId,
        password: &str,
        new_email: &str,
    ) -> Result<UserRow, ServiceError> {
        let email =
            Email::parse(new_email).map_err(|e| ServiceError::invalid("email", e.to_string()))?;
        let row = {
            let mut tx = self.store.read().await?;
            users::user_by_id(&mut tx, user)
                .await?
                .ok_or(ServiceError::NotFound("user"))?
        };
        let Some(stored) = row.password_hash.clone() else {
            return Err(ServiceError::NotFound("user"));
        };
        if !secrets::verify_password(password.to_owned(), stored).await? {
            return Err(ServiceError::invalid(
                "password",
                "That is not your password.",
            ));
        }
        if row.email == email.as_str() {
            return Err(ServiceError::invalid(
                "email",
                "This is already your address.",
            ));
        }
        let taken = || ServiceError::invalid("email", "Another account uses this address.");
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if users::user_by_email(&mut tx, email.as_str())
            .await?
            .is_some()
        {
            return Err(taken());
        }
        match users::set_email(&mut tx, user, email.as_str(), now).await {
            Err(maecenas_store::StoreError::Conflict) => return Err(taken()),
            other => other?,
        }
        emails::expire_email_tokens(&mut tx, user, TokenPurpose::Reset, now).await?;
        let letter = messages::address_changed(&row.first_name, email.as_str());
        enqueue(self, &mut tx, &row, EmailKind::AddressChanged, &letter).await?;
        let updated = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        self.send_verification_in(&mut tx, &updated, None).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Follows a verification link.
    pub async fn verify_address(&self, token: &str) -> Result<Verified, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let Some(used) =
            emails::use_email_token(&mut tx, &secrets::sha256(token), TokenPurpose::Verify, now)
                .await?
        else {
            return Ok(Verified::NotValid);
        };
        if !users::set_email_verified(&mut tx, used.user_id, &used.email, now).await? {
            return Ok(Verified::NotValid);
        }
        tx.commit().await?;
        Ok(Verified::Address { email: used.email })
    }

    /// "Forgot your password?": a reset link to the account with `email`,
    /// if there is one that may log in. The caller answers the same either
    /// way, so that the form tells nobody which addresses have accounts.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), ServiceError> {
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let Some(user) = users::user_by_email(&mut tx, email.as_str())
            .await?
            .filter(|u| u.standing().is_active())
        else {
            return Ok(());
        };
        let token = secrets::mint("mcr_")?;
        emails::insert_email_token(
            &mut tx,
            self.ids.next_raw(),
            user.id,
            TokenPurpose::Reset,
            &user.email,
            &token.hash,
            now,
            now + Duration::seconds(RESET_LINK_LIFETIME_SECS),
        )
        .await?;
        let link = self
            .mail
            .link(&format!("/password/reset?token={}", token.plaintext));
        let letter = messages::password_reset(&user.first_name, &link);
        enqueue(self, &mut tx, &user, EmailKind::PasswordReset, &letter).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a reset link still works (its form is shown only then).
    pub async fn password_reset_is_live(&self, token: &str) -> Result<bool, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(emails::email_token_is_live(
            &mut tx,
            &secrets::sha256(token),
            TokenPurpose::Reset,
            self.clock.now(),
        )
        .await?)
    }

    /// Sets a new password from a reset link: the link is used up, every
    /// other reset link of the account stops working, and every session
    /// ends (whoever knew the old password is logged out). `None`: the link
    /// does not work (any more).
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<Option<UserRow>, ServiceError> {
        secrets::check_password_rules(new_password)?;
        // Hash before the transaction: argon2 takes tens of milliseconds.
        let hash = secrets::hash_password(new_password.to_owned()).await?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let Some(used) =
            emails::use_email_token(&mut tx, &secrets::sha256(token), TokenPurpose::Reset, now)
                .await?
        else {
            return Ok(None);
        };
        let Some(user) = users::user_by_id(&mut tx, used.user_id)
            .await?
            .filter(|u| u.standing().is_active())
        else {
            return Ok(None);
        };
        users::set_password_hash(&mut tx, user.id, &hash, now).await?;
        emails::expire_email_tokens(&mut tx, user.id, TokenPurpose::Reset, now).await?;
        sessions_store::delete_sessions_of_user(&mut tx, user.id).await?;
        // The link reached this address: it is proven too.
        users::set_email_verified(&mut tx, user.id, &used.email, now).await?;
        tx.commit().await?;
        Ok(Some(user))
    }
}

#[cfg(test)]
mod tests {
    use super::verify_path;

    #[test]
    fn next_rides_along_only_when_it_stays_on_the_site() {
        assert_eq!(
            verify_path("t", Some("/ada/join?tier=1")),
            "/email/verify?token=t&next=%2Fada%2Fjoin%3Ftier%3D1"
        );
        assert_eq!(
            verify_path("t", Some("//evil.test")),
            "/email/verify?token=t"
        );
        assert_eq!(
            verify_path("t", Some("https://evil.test")),
            "/email/verify?token=t"
        );
        assert_eq!(verify_path("t", None), "/email/verify?token=t");
    }
}
