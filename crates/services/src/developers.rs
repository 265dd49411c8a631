//! Use cases for integrating developers: OAuth clients and personal API keys.

use maecenas_domain::{Email, RedirectUri, UserId};
use maecenas_store::api_keys::{self, ApiKeyRow, NewApiKey};
use maecenas_store::oauth_clients::{self, NewOAuthClient, OAuthClientRow};
use maecenas_store::{Tx, users};

use crate::{ServiceError, Services, secrets};

/// Prefix of client secrets: "Maecenas Client Secret".
pub const CLIENT_SECRET_PREFIX: &str = "mcs_";
/// Prefix of personal API keys: "Maecenas Component Key".
pub const API_KEY_PREFIX: &str = "mck_";
/// How much of a key is kept in clear to tell keys apart in a list.
const API_KEY_VISIBLE: usize = API_KEY_PREFIX.len() + 6;

#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub owner_email: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub redirect_uris: Vec<String>,
}

/// A client just created: the secret is in here and nowhere else, ever.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: OAuthClientRow,
    pub redirect_uris: Vec<String>,
    pub client_secret: secrets::MintedSecret,
}

#[derive(Debug)]
pub struct ClientWithUris {
    pub client: OAuthClientRow,
    pub redirect_uris: Vec<String>,
}

/// A key just created: the plaintext is shown once.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub key: ApiKeyRow,
    pub plaintext: secrets::MintedSecret,
}

impl Services {
    pub async fn create_oauth_client(&self, new: NewClient) -> Result<CreatedClient, ServiceError> {
        let owner_email = Email::parse(&new.owner_email)?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "name",
                "must be 1 to 100 characters long",
            ));
        }
        if new.redirect_uris.is_empty() {
            return Err(ServiceError::invalid(
                "redirect_uri",
                "at least one redirect URI is required",
            ));
        }
        let mut redirect_uris = Vec::with_capacity(new.redirect_uris.len());
        for raw in &new.redirect_uris {
            let uri = RedirectUri::parse(raw)
                .map_err(|e| ServiceError::invalid("redirect_uri", e.to_string()))?;
            if redirect_uris.contains(&uri.as_str().to_owned()) {
                return Err(ServiceError::invalid(
                    "redirect_uri",
                    format!("{raw:?} is listed twice"),
                ));
            }
            redirect_uris.push(uri.as_str().to_owned());
        }
        if let Some(icon) = &new.icon_url
            && !(icon.starts_with("https://") || icon.starts_with("http://"))
        {
            return Err(ServiceError::invalid("icon_url", "must be an http(s) URL"));
        }
        let secret = secrets::mint(CLIENT_SECRET_PREFIX)?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let owner = users::user_by_email(&mut tx, owner_email.as_str())
            .await?
            .ok_or(ServiceError::NotFound("owner"))?;
        let client = NewOAuthClient {
            id: self.ids.next(),
            client_id: secrets::public_identifier(24)?,
            owner_id: owner.id,
            name: name.to_owned(),
            description: new.description.trim().to_owned(),
            icon_url: new.icon_url,
            secret_hash: secret.hash.clone(),
            redirect_uris: redirect_uris.clone(),
            created_at: now,
        };
        oauth_clients::insert_client(&mut tx, &client).await?;
        let row = oauth_clients::client_by_client_id(&mut tx, &client.client_id)
            .await?
            .ok_or(ServiceError::NotFound("client"))?;
        tx.commit().await?;
        Ok(CreatedClient {
            client: row,
            redirect_uris,
            client_secret: secret,
        })
    }

    /// Every client, or those of one owner.
    pub async fn list_oauth_clients(
        &self,
        owner_email: Option<&str>,
    ) -> Result<Vec<ClientWithUris>, ServiceError> {
        let mut tx = self.store.read().await?;
        let owner = owner_filter(&mut tx, owner_email).await?;
        let mut out = Vec::new();
        for client in oauth_clients::list_clients(&mut tx, owner).await? {
            let redirect_uris = oauth_clients::redirect_uris(&mut tx, client.id).await?;
            out.push(ClientWithUris {
                client,
                redirect_uris,
            });
        }
        Ok(out)
    }

    /// A new secret for a client; the old one stops working at once.
    pub async fn rotate_client_secret(
        &self,
        by: ClientManager,
        client_id: &str,
    ) -> Result<secrets::MintedSecret, ServiceError> {
        let secret = secrets::mint(CLIENT_SECRET_PREFIX)?;
        let mut tx = self.store.write().await?;
        let client = managed_client(&mut tx, by, client_id).await?;
        oauth_clients::rotate_secret(&mut tx, client.id, &secret.hash, self.clock.now()).await?;
        tx.commit().await?;
        Ok(secret)
    }

    pub async fn create_api_key(
        &self,
        owner_email: &str,
        name: &str,
    ) -> Result<CreatedApiKey, ServiceError> {
        let owner_email = Email::parse(owner_email)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "name",
                "must be 1 to 100 characters long",
            ));
        }
        let secret = secrets::mint(API_KEY_PREFIX)?;
        let mut tx = self.store.write().await?;
        let owner = users::user_by_email(&mut tx, owner_email.as_str())
            .await?
            .ok_or(ServiceError::NotFound("owner"))?;
        let key = NewApiKey {
            id: self.ids.next(),
            owner_id: owner.id,
            name: name.to_owned(),
            prefix: secret.plaintext[..API_KEY_VISIBLE].to_owned(),
            key_hash: secret.hash.clone(),
            created_at: self.clock.now(),
        };
        api_keys::insert_api_key(&mut tx, &key).await?;
        let row = api_keys::api_key_by_hash(&mut tx, &key.key_hash)
            .await?
            .ok_or(ServiceError::NotFound("api key"))?;
        tx.commit().await?;
        Ok(CreatedApiKey {
            key: row,
            plaintext: secret,
        })
    }

    pub async fn list_api_keys(
        &self,
        owner_email: Option<&str>,
    ) -> Result<Vec<ApiKeyRow>, ServiceError> {
        let mut tx = self.store.read().await?;
        let owner = owner_filter(&mut tx, owner_email).await?;
        Ok(api_keys::list_api_keys(&mut tx, owner).await?)
    }
}

/// The user an optional `--owner EMAIL` filter names; `None` means everyone.
async fn owner_filter(
    tx: &mut Tx,
    owner_email: Option<&str>,
) -> Result<Option<UserId>, ServiceError> {
    let Some(email) = owner_email else {
        return Ok(None);
    };
    let email = Email::parse(email)?;
    let owner = users::user_by_email(tx, email.as_str())
        .await?
        .ok_or(ServiceError::NotFound("owner"))?;
    Ok(Some(owner.id))
}

impl Services {
    /// A developer's own clients, for the portal.
    pub async fn clients_owned_by(
        &self,
        owner: UserId,
    ) -> Result<Vec<ClientWithUris>, ServiceError> {
        let mut tx = self.store.read().await?;
        let mut out = Vec::new();
        for client in oauth_clients::list_clients(&mut tx, Some(owner)).await? {
            let redirect_uris = oauth_clients::redirect_uris(&mut tx, client.id).await?;
            out.push(ClientWithUris {
                client,
                redirect_uris,
            });
        }
        Ok(out)
    }

    /// One client, only for its owner: anyone else gets "not found", not "forbidden",
    /// so client ids of others cannot be probed.
    pub async fn owned_client(
        &self,
        owner: UserId,
        client_id: &str,
    ) -> Result<ClientWithUris, ServiceError> {
        let mut tx = self.store.read().await?;
        let client = oauth_clients::client_by_client_id(&mut tx, client_id)
            .await?
            .filter(|c| c.owner_id == owner)
            .ok_or(ServiceError::NotFound("client"))?;
        let redirect_uris = oauth_clients::redirect_uris(&mut tx, client.id).await?;
        Ok(ClientWithUris {
            client,
            redirect_uris,
        })
    }
}

/// Who manages an OAuth client: the operator (`maecenas admin client`) any,
/// a developer in the portal only their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientManager {
    Operator,
    Owner(UserId),
}

/// The client `by` may manage; another's is "not found", as if absent.
pub(crate) async fn managed_client(
    tx: &mut maecenas_store::Tx,
    by: ClientManager,
    client_id: &str,
) -> Result<OAuthClientRow, ServiceError> {
    oauth_clients::client_by_client_id(tx, client_id)
        .await?
        .filter(|c| match by {
            ClientManager::Operator => true,
            ClientManager::Owner(owner) => c.owner_id == owner,
        })
        .ok_or(ServiceError::NotFound("client"))
}
