//! Use cases about people: creating and listing users.

use maecenas_domain::{Email, UserId, Username};
use maecenas_store::StoreError;
use maecenas_store::sessions as sessions_store;
use maecenas_store::users::{self, Moderation, NewUser, UserRow};

use crate::{ServiceError, Services, secrets};

/// What it takes to create a user (sign-up, `maecenas admin user create`).
#[derive(Clone, Default)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub is_creator: bool,
    pub is_admin: bool,
}
maecenas_domain::debug_showing!(NewAccount {
    email,
    username,
    first_name,
    last_name,
    is_creator,
    is_admin
});

/// A person making their own account (not an operator making one).
struct SignUp<'a> {
    next: Option<&'a str>,
}

impl Services {
    /// A patron who starts creating: the account becomes a creator's, kept
    /// as it is (pledges, history, log-ins), and may set up a campaign. Its
    /// username is the page's address, so one is needed first.
    pub async fn become_creator(&self, user: UserId) -> Result<UserRow, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let row = users::user_by_id(&mut tx, user)
            .await?
            .filter(|u| u.standing().is_active())
            .ok_or(ServiceError::NotFound("user"))?;
        if row.username.is_none() {
            return Err(ServiceError::invalid(
                "username",
                "Choose a username in your profile first: it is your page's address.",
            ));
        }
        if !row.is_creator {
            users::make_creator(&mut tx, user, now).await?;
        }
        let row = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Creates a user. The email is normalised; the username, if any, must
    /// be free. An operator makes it, so no verification message is sent.
    pub async fn create_user(&self, account: NewAccount) -> Result<UserRow, ServiceError> {
        self.new_account(account, None).await.map(|(row, _)| row)
    }

    /// Sign-up: the account, its first session and the message that
    /// verifies its address (whose link leads on to `next`), in one
    /// transaction with one password hash (logging in afterwards would hash
    /// it again).
    pub async fn sign_up(
        &self,
        account: NewAccount,
        next: Option<&str>,
    ) -> Result<(UserRow, String), ServiceError> {
        let (row, session) = self.new_account(account, Some(SignUp { next })).await?;
        Ok((row, session.unwrap_or_default()))
    }

    async fn new_account(
        &self,
        account: NewAccount,
        signing_up: Option<SignUp<'_>>,
    ) -> Result<(UserRow, Option<String>), ServiceError> {
        let email = Email::parse(&account.email)?;
        let username = account
            .username
            .as_deref()
            .map(Username::parse)
            .transpose()?;
        // Hash before the transaction: argon2 takes tens of milliseconds, and
        // SQLite has one writer.
        let password_hash = secrets::hash_password(account.password).await?;
        let user = NewUser {
            id: self.ids.next(),
            email: email.as_str().to_owned(),
            password_hash: Some(password_hash),
            username: username.map(|u| u.as_str().to_owned()),
            first_name: account.first_name.trim().to_owned(),
            last_name: account.last_name.trim().to_owned(),
            about: String::new(),
            description: String::new(),
            is_creator: account.is_creator,
            is_admin: account.is_admin,
            created_at: self.clock.now(),
        };
        let mut tx = self.store.write().await?;
        if users::user_by_email(&mut tx, &user.email).await?.is_some() {
            return Err(ServiceError::Conflict(
                "a user with this email already exists",
            ));
        }
        if let Some(name) = &user.username
            && users::user_by_username(&mut tx, name).await?.is_some()
        {
            return Err(ServiceError::Conflict("this username is taken"));
        }
        match users::insert_user(&mut tx, &user).await {
            // Someone else took the email or username since we looked.
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict("email or username already taken"));
            }
            other => other?,
        }
        let row = users::user_by_id(&mut tx, user.id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        let session = match signing_up {
            Some(SignUp { next }) => {
                self.send_verification_in(&mut tx, &row, next).await?;
                Some(crate::sessions::start_session(&mut tx, user.id, user.created_at).await?)
            }
            None => None,
        };
        tx.commit().await?;
        Ok((row, session))
    }

    /// A page of users in creation order, after `after`.
    pub async fn list_users(
        &self,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserRow>, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(users::list_users(&mut tx, after, limit.clamp(1, 10_000)).await?)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<UserRow, ServiceError> {
        let email = Email::parse(email)?;
        let mut tx = self.store.read().await?;
        users::user_by_email(&mut tx, email.as_str())
            .await?
            .ok_or(ServiceError::NotFound("user"))
    }

    /// Changes a password after checking the current one; every other session ends.
    pub async fn change_password(
        &self,
        user: UserId,
        current: &str,
        new: &str,
        keep_session: &str,
    ) -> Result<(), ServiceError> {
        let stored = {
            let mut tx = self.store.read().await?;
            users::user_by_id(&mut tx, user)
                .await?
                .and_then(|u| u.password_hash)
                .ok_or(ServiceError::NotFound("user"))?
        };
        if !secrets::verify_password(current.to_owned(), stored).await? {
            return Err(ServiceError::invalid(
                "current_password",
                "That is not your current password.",
            ));
        }
        let hash = secrets::hash_password(new.to_owned()).await?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        users::set_password_hash(&mut tx, user, &hash, now).await?;
        sessions_store::delete_sessions_of_user(&mut tx, user).await?;
        // The session that changed the password stays: the person is still here.
        sessions_store::insert_session(
            &mut tx,
            &secrets::sha256(keep_session),
            user,
            now,
            now + crate::sessions::SESSION_LIFETIME,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A person deletes their own account, after confirming with the password:
    /// their pledges are cancelled (the paid month stays theirs), sessions end,
    /// and they disappear from public pages and APIs (`is_deleted`).
    pub async fn delete_own_account(
        &self,
        user: UserId,
        password: &str,
    ) -> Result<(), ServiceError> {
        let row = {
            let mut tx = self.store.read().await?;
            users::user_by_id(&mut tx, user)
                .await?
                .ok_or(ServiceError::NotFound("user"))?
        };
        let stored = row.password_hash.clone().unwrap_or_default();
        if !secrets::verify_password(password.to_owned(), stored).await? {
            return Err(ServiceError::invalid("password", "is not your password"));
        }
        self.moderate(
            user,
            Moderation {
                is_suspended: row.is_suspended,
                is_deleted: true,
                is_nuked: row.is_nuked,
            },
        )
        .await
    }

    /// Sets the moderation flags (admin, or the account's own deletion).
    /// - suspended: cannot log in, sessions end, tokens and API keys stop working; the profile stays.
    /// - deleted: as suspended, and gone from public pages and APIs; pledges are cancelled.
    /// - nuked: as deleted, and every personal detail is erased for good
    ///   (email, names, profile, avatar, addresses, grants, API keys).
    pub async fn moderate(&self, user: UserId, flags: Moderation) -> Result<(), ServiceError> {
        let flags = Moderation {
            is_deleted: flags.is_deleted || flags.is_nuked,
            ..flags
        };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let current = users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if current.is_nuked {
            return Err(ServiceError::invalid(
                "is_nuked",
                "a nuked account cannot be changed or restored",
            ));
        }
        // A closed account's pledges end with it, each with its own
        // cancellation event, in the same transaction as the closing.
        let mut deliveries = 0;
        if flags.is_deleted {
            let current_pledges = maecenas_store::pledges::pledges_of_patron(&mut tx, user, 10_000)
                .await?
                .into_iter()
                .filter(|p| p.ended_at.is_none() && p.cancelled_at.is_none());
            for pledge in current_pledges {
                match self.cancel_in(&mut tx, &pledge, now).await {
                    Ok((_, written)) => deliveries += written,
                    Err(ServiceError::Conflict(_)) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        users::set_moderation(&mut tx, user, flags, now).await?;
        if flags.is_suspended || flags.is_deleted {
            sessions_store::delete_sessions_of_user(&mut tx, user).await?;
        }
        if flags.is_deleted && !current.is_deleted {
            close_account(self, &mut tx, user, now).await?;
        }
        if flags.is_nuked && !current.is_nuked {
            let placeholder = format!("nuked-{}@invalid", user.get());
            users::erase_personal_data(&mut tx, user, &placeholder, now).await?;
        }
        tx.commit().await?;
        self.webhooks_written(deliveries);
        Ok(())
    }

    /// Users whose email or username contains `needle`, for the admin page.
    pub async fn search_users(
        &self,
        needle: &str,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserRow>, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(users::search_users(&mut tx, needle.trim(), after, limit.clamp(1, 500)).await?)
    }

    pub async fn user_by_id(&self, user: UserId) -> Result<UserRow, ServiceError> {
        let mut tx = self.store.read().await?;
        users::user_by_id(&mut tx, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))
    }
}

/// What a closed account leaves behind stops with it. Its campaign's pledges
/// end (no further charge, retries stopped; each keeps the month it paid
/// for) and its webhooks are paused (`account_closed`); every grant it gave
/// and every grant to an app it owns is revoked, and those apps' webhooks
/// pause. (A suspended creator's patrons are not charged meanwhile: billing
/// skips them until the account is reinstated.)
async fn close_account(
    services: &Services,
    tx: &mut maecenas_store::Tx,
    user: UserId,
    now: time::OffsetDateTime,
) -> Result<(), ServiceError> {
    use maecenas_store::{campaigns, oauth, webhooks};
    use maecenas_store::{charges, pledges};
    if let Some(campaign) = campaigns::campaign_by_creator(tx, user).await? {
        // Told before the pledges change: the query finds them by their state.
        services.mail_pledges_ended_in(tx, &campaign).await?;
        pledges::cancel_pledges_to_campaign(tx, campaign.id, now).await?;
        charges::stop_open_charges_of_campaign(tx, campaign.id, now).await?;
        webhooks::pause_webhooks_of_campaign(tx, campaign.id, "account_closed", now).await?;
    }
    oauth::revoke_grants_of_account(tx, user, now).await?;
    webhooks::pause_webhooks_of_clients_owned_by(tx, user, now).await?;
    Ok(())
}
