//! Use cases about people: creating and listing users.

use maecenas_domain::{Email, UserId, Username};
use maecenas_store::StoreError;
use maecenas_store::users::{self, NewUser, UserRow};

use crate::{ServiceError, Services, secrets};

/// What it takes to create a user (sign-up, `maecenas admin user create`).
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub is_creator: bool,
    pub is_admin: bool,
}

impl Services {
    /// Creates a user. The email is normalised; the username, if any, must be free.
    pub async fn create_user(&self, account: NewAccount) -> Result<UserRow, ServiceError> {
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
        tx.commit().await?;
        Ok(row)
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
}
