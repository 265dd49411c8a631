//! The OAuth2 authorization server (RFC 6749 code grant, RFC 7636 PKCE,
//! RFC 7009 revocation), shared by the Patreon and Sponsus dialects, which
//! differ only in paths, defaults and response shapes.

use maecenas_domain::{
    ACCESS_TOKEN_LIFETIME_SECS, CODE_LIFETIME_SECS, Email, OAuthClientId, Scope, ScopeSet,
    is_valid_s256_challenge,
};
use maecenas_domain::{CampaignId, UserId};
use maecenas_store::oauth::{self as store, CodeRow, GrantRow, TokenRow};
use maecenas_store::oauth_clients::{self, OAuthClientRow};
use maecenas_store::users::{self, UserRow};
use maecenas_store::webhooks;
use maecenas_store::{StoreError, Tx};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

mod grants;

use crate::developers::{ClientManager, managed_client};
use crate::{ServiceError, Services, secrets};
use grants::{Grant, GrantInput, IssueCode, new_token, revoke_grant, run_case};

pub const CODE_PREFIX: &str = "mco_";
pub const ACCESS_TOKEN_PREFIX: &str = "mat_";
pub const REFRESH_TOKEN_PREFIX: &str = "mrt_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `/oauth2/...`: scope defaults to `users pledges-to-me my-campaign`.
    Patreon,
    /// `/oauth/...`, `/v1/oauth/...`: at least one scope is required.
    Sponsus,
}

/// The query of an authorize request, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A valid authorize request: what the consent page shows and what a code binds.
#[derive(Debug, Clone)]
pub struct AuthorizeContext {
    pub client: OAuthClientRow,
    pub redirect_uri: String,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
}

/// Why an authorize request is refused, and where the refusal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRejection {
    /// The client or redirect URI cannot be trusted: say so on our own page,
    /// never redirect (RFC 6749 §4.1.2.1).
    Page(String),
    /// Everything else goes back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

/// RFC 6749 §5.2 errors of the token and revocation endpoints.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("the grant type is not supported; use authorization_code or refresh_token")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::Internal(_) => "server_error",
        }
    }
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        TokenError::Internal(anyhow::Error::new(e))
    }
}

impl From<ServiceError> for TokenError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Internal(e) => TokenError::Internal(e),
            other => TokenError::InvalidRequest(other.to_string()),
        }
    }
}

/// The parameters of a token request (form body, or the query string on the Patreon paths).
#[derive(Clone, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}
maecenas_domain::debug_showing!(TokenParams {
    grant_type,
    redirect_uri,
    client_id,
    scope
});

/// Who the client says it is: from HTTP Basic or from the body.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}
maecenas_domain::debug_showing!(ClientCredentials { client_id });

/// A token answer's content; each dialect renders it.
#[derive(Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub scopes: ScopeSet,
}
maecenas_domain::debug_showing!(IssuedTokens { expires_in, scopes });

/// The caller behind a valid access token.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub user: UserRow,
    pub scopes: ScopeSet,
    pub client: OAuthClientId,
    /// The user's campaign, if they are a creator.
    pub campaign: Option<CampaignId>,
}

impl Services {
    /// Checks an authorize request. Called when the consent page is shown and
    /// again when it is answered: nothing from the form is trusted.
    pub async fn validate_authorize(
        &self,
        dialect: Dialect,
        params: &AuthorizeParams,
    ) -> Result<AuthorizeContext, AuthorizeRejection> {
        let page = |message: &str| AuthorizeRejection::Page(message.to_owned());
        let client_id = params
            .client_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| page("The request names no client (client_id is missing)."))?;
        let internal = |_| page("Something went wrong on our side. Please try again.");
        let mut tx = self.store.read().await.map_err(internal)?;
        let client = oauth_clients::client_by_client_id(&mut tx, client_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| page("This application is not registered here (unknown client_id)."))?;
        let registered = oauth_clients::redirect_uris(&mut tx, client.id)
            .await
            .map_err(internal)?;
        drop(tx);
        let redirect_uri = params
            .redirect_uri
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| page("The request has no redirect_uri."))?;
        let allowed = registered
            .iter()
            .filter_map(|r| maecenas_domain::RedirectUri::parse(r).ok())
            .any(|r| r.matches(&redirect_uri));
        if !allowed {
            return Err(page(
                "The redirect_uri is not one this application registered.",
            ));
        }
        let state = params.state.clone();
        let refuse = |error: &'static str, description: &str| AuthorizeRejection::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone(),
        };
        match params.response_type.as_deref() {
            Some("code") => {}
            None | Some("") => return Err(refuse("invalid_request", "response_type is required")),
            Some(_) => {
                return Err(refuse(
                    "unsupported_response_type",
                    "only response_type=code is supported (no implicit grant)",
                ));
            }
        }
        let scopes = match (
            params
                .scope
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
            dialect,
        ) {
            (None, Dialect::Patreon) => ScopeSet::patreon_default(),
            (None, Dialect::Sponsus) => {
                return Err(refuse("invalid_scope", "at least one scope is required"));
            }
            (Some(scope), _) => scope
                .parse::<ScopeSet>()
                .map_err(|e| refuse("invalid_scope", &e.to_string()))?,
        };
        let code_challenge = match (
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        ) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge_method without code_challenge",
                ));
            }
            (Some(challenge), Some("S256")) if is_valid_s256_challenge(challenge) => {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256")) => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge must be 43 base64url characters",
                ));
            }
            (Some(_), _) => {
                return Err(refuse(
                    "invalid_request",
                    "only code_challenge_method=S256 is supported",
                ));
            }
        };
        Ok(AuthorizeContext {
            client,
            redirect_uri,
            scopes,
            state,
            code_challenge,
        })
    }

    /// The user said yes: a single-use code bound to client, redirect URI and PKCE challenge.
    pub async fn issue_code(
        &self,
        user: &UserRow,
        context: &AuthorizeContext,
    ) -> Result<String, ServiceError> {
        let code = secrets::mint(CODE_PREFIX)?;
        let now = self.clock.now();
        let grant_id: i64 = self.ids.next_raw();
        let case = IssueCode {
            grant: GrantRow {
                id: grant_id,
                client_row_id: context.client.id,
                user_id: user.id,
                scope: context.scopes.to_string(),
                created_at: now,
                revoked_at: None,
            },
            code: CodeRow {
                code_hash: code.hash.clone(),
                grant_id,
                redirect_uri: context.redirect_uri.clone(),
                code_challenge: context.code_challenge.clone(),
                expires_at: now + Duration::seconds(CODE_LIFETIME_SECS),
                used_at: None,
            },
        };
        run_case(&self.store, case).await?;
        Ok(code.plaintext)
    }

    /// The token endpoint: `authorization_code` and `refresh_token` grants.
    pub async fn token(
        &self,
        credentials: Option<ClientCredentials>,
        params: &TokenParams,
    ) -> Result<IssuedTokens, TokenError> {
        let grant_type = params
            .grant_type
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TokenError::InvalidRequest("grant_type is required".into()))?;
        if !matches!(grant_type, "authorization_code" | "refresh_token") {
            return Err(TokenError::UnsupportedGrantType);
        }
        let credentials = credentials.ok_or(TokenError::InvalidClient)?;
        match grant_type {
            "authorization_code" => self.exchange_code(&credentials, params).await,
            _ => self.refresh(&credentials, params).await,
        }
    }

    async fn exchange_code(
        &self,
        credentials: &ClientCredentials,
        params: &TokenParams,
    ) -> Result<IssuedTokens, TokenError> {
        if params.code.as_deref().is_none_or(str::is_empty) {
            return Err(TokenError::InvalidRequest("code is required".into()));
        }
        self.grant(Grant::ExchangeCode, credentials, params).await
    }

    async fn refresh(
        &self,
        credentials: &ClientCredentials,
        params: &TokenParams,
    ) -> Result<IssuedTokens, TokenError> {
        if params.refresh_token.as_deref().is_none_or(str::is_empty) {
            return Err(TokenError::InvalidRequest(
                "refresh_token is required".into(),
            ));
        }
        self.grant(Grant::Refresh, credentials, params).await
    }

    /// One grant, one transaction (see [`grants`]): the new
    /// token's id and secrets are minted first, so the grant itself only
    /// reads and writes.
    async fn grant(
        &self,
        grant: fn(GrantInput) -> Grant,
        credentials: &ClientCredentials,
        params: &TokenParams,
    ) -> Result<IssuedTokens, TokenError> {
        let access = secrets::mint(ACCESS_TOKEN_PREFIX)?;
        let refresh = secrets::mint(REFRESH_TOKEN_PREFIX)?;
        let now = self.clock.now();
        let mut token = new_token(self.ids.next_raw(), now);
        token.access_hash = access.hash;
        token.refresh_hash = refresh.hash;
        let input = GrantInput {
            credentials: credentials.clone(),
            params: params.clone(),
            now,
            token,
            access_plaintext: access.plaintext,
            refresh_plaintext: refresh.plaintext,
        };
        let grant = grant(input);
        if let Some(issued) = grant.at_once(&self.store).await? {
            return Ok(issued);
        }
        let outcome = run_case(&self.store, grant).await?;
        if outcome.webhooks_resumed > 0 {
            self.webhooks_written(1);
        }
        outcome.answer
    }

    /// RFC 7009 and the Sponsus revoke: the token dies (a refresh token takes
    /// its whole grant along). Unknown tokens, or another client's, are not an
    /// error: the answer must not tell which tokens exist.
    pub async fn revoke(
        &self,
        credentials: Option<ClientCredentials>,
        token: &str,
    ) -> Result<(), TokenError> {
        let credentials = credentials.ok_or(TokenError::InvalidClient)?;
        if token.is_empty() {
            return Err(TokenError::InvalidRequest("token is required".into()));
        }
        let now = self.clock.now();
        let hash = secrets::sha256(token);
        let mut tx = self.store.write().await?;
        let client = authenticate_client(&mut tx, &credentials).await?;
        let (row, is_refresh) = match store::token_by_access_hash(&mut tx, &hash).await? {
            Some(row) => (Some(row), false),
            None => (store::token_by_refresh_hash(&mut tx, &hash).await?, true),
        };
        if let Some(row) = row
            && let Some(grant) = store::grant_by_id(&mut tx, row.grant_id).await?
            && grant.client_row_id == client.id
        {
            if is_refresh {
                revoke_grant(&mut tx, &grant, now).await?;
            } else {
                store::revoke_token(&mut tx, row.id, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The caller behind `Authorization: Bearer <token>`, or `None` for a
    /// missing, expired, rotated or revoked token.
    pub async fn bearer(&self, access_token: &str) -> Result<Option<Bearer>, ServiceError> {
        let mut tx = self.store.read_without_snapshot().await?;
        bearer_in(&mut tx, access_token, self.clock.now()).await
    }

    /// Tokens for a user and client without the browser dance: the creator's
    /// own token (Patreon's "creator's access token") and `admin token create`.
    pub async fn mint_tokens(
        &self,
        client_id: &str,
        user_email: &str,
        scope: &str,
    ) -> Result<IssuedTokens, ServiceError> {
        self.mint_tokens_as(ClientManager::Operator, client_id, user_email, scope)
            .await
    }

    /// As [`Services::mint_tokens`], for a client `by` may manage (the
    /// portal's "your own access token" works only on your own client).
    pub async fn mint_tokens_as(
        &self,
        by: ClientManager,
        client_id: &str,
        user_email: &str,
        scope: &str,
    ) -> Result<IssuedTokens, ServiceError> {
        let email = Email::parse(user_email)?;
        let scopes: ScopeSet = if scope.trim().is_empty() {
            ScopeSet::patreon_default()
        } else {
            scope.parse().map_err(|e: maecenas_domain::ScopeError| {
                ServiceError::invalid("scope", e.to_string())
            })?
        };
        let now = self.clock.now();
        let grant_id = self.ids.next_raw();
        let mut tx = self.store.write().await?;
        let client = managed_client(&mut tx, by, client_id).await?;
        let user = users::user_by_email(&mut tx, email.as_str())
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        store::insert_grant(
            &mut tx,
            grant_id,
            client.id,
            user.id,
            &scopes.to_string(),
            now,
        )
        .await?;
        let access = secrets::mint(ACCESS_TOKEN_PREFIX)?;
        let refresh = secrets::mint(REFRESH_TOKEN_PREFIX)?;
        let token = TokenRow {
            grant_id,
            access_hash: access.hash,
            refresh_hash: refresh.hash,
            ..new_token(self.ids.next_raw(), now)
        };
        store::insert_token(&mut tx, &token).await?;
        let issued = IssuedTokens {
            access_token: access.plaintext,
            refresh_token: refresh.plaintext,
            expires_in: ACCESS_TOKEN_LIFETIME_SECS,
            scopes: scopes.clone(),
        };
        let resumed =
            resume_webhooks_of_grant(&mut tx, client.id, user.id, &scopes.to_string(), now).await?;
        tx.commit().await?;
        if resumed > 0 {
            self.webhooks_written(1);
        }
        Ok(issued)
    }

    /// The apps a person authorized (each once, with every scope it holds).
    pub async fn authorized_apps(&self, user: UserId) -> Result<Vec<AuthorizedApp>, ServiceError> {
        let mut tx = self.store.read().await?;
        let grants = store::live_grants_of_user(&mut tx, user).await?;
        let mut apps: Vec<AuthorizedApp> = Vec::new();
        for grant in grants {
            let scopes: ScopeSet = grant.scope.parse().unwrap_or_default();
            match apps.iter_mut().find(|a| a.client == grant.client_row_id) {
                Some(app) => {
                    app.last_used = app.last_used.max(grant.last_token_at);
                    for scope in scopes.iter() {
                        if !app.scopes.contains(&scope) {
                            app.scopes.push(scope);
                        }
                    }
                }
                None => apps.push(AuthorizedApp {
                    client: grant.client_row_id,
                    name: grant.client_name,
                    scopes: scopes.iter().collect(),
                    since: grant.created_at,
                    last_used: grant.last_token_at,
                }),
            }
        }
        Ok(apps)
    }

    /// A person takes back what they gave an app: every grant, so every token
    /// of it, and the app's webhooks on their campaign pause.
    pub async fn revoke_app(
        &self,
        user: UserId,
        client: OAuthClientId,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if store::revoke_grants_of_app(&mut tx, user, client, now).await? == 0 {
            return Err(ServiceError::NotFound("authorized app"));
        }
        webhooks::pause_webhooks_without_access(
            &mut tx,
            client,
            user,
            Scope::CampaignsWebhook.as_str(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a client; its grants, tokens and webhooks die with it.
    pub async fn delete_oauth_client(
        &self,
        by: ClientManager,
        client_id: &str,
    ) -> Result<(), ServiceError> {
        // Rows the delivery worker is recording are locked in its order, so a
        // deadlock should not happen; should PostgreSQL still pick this
        // transaction as a deadlock's victim, it is simply run again.
        let mut tries = 0;
        loop {
            tries += 1;
            match self.delete_oauth_client_once(by, client_id).await {
                Err(ServiceError::Internal(e))
                    if tries < 3 && format!("{e:#}").contains("deadlock") =>
                {
                    tracing::warn!(error = %e, "deleting a client met a deadlock; trying again");
                }
                other => return other,
            }
        }
    }

    async fn delete_oauth_client_once(
        &self,
        by: ClientManager,
        client_id: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.write().await?;
        let client = managed_client(&mut tx, by, client_id).await?;
        webhooks::delete_webhooks_of_client(&mut tx, client.id).await?;
        oauth_clients::delete_client(&mut tx, client.id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Tokens were issued from a grant: if it holds the webhook scope, the app's
/// webhooks paused for a lost grant run again. Returns how many resumed.
async fn resume_webhooks_of_grant(
    tx: &mut Tx,
    client: OAuthClientId,
    user: UserId,
    scope: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let scopes: ScopeSet = scope.parse().unwrap_or_default();
    if !scopes.contains(Scope::CampaignsWebhook) {
        return Ok(0);
    }
    webhooks::resume_webhooks_with_access(tx, client, user, now).await
}

/// An app a person authorized, for their settings.
#[derive(Debug, Clone)]
pub struct AuthorizedApp {
    pub client: OAuthClientId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub since: OffsetDateTime,
    /// When it last received a token (signed the person in or refreshed).
    pub last_used: Option<OffsetDateTime>,
}

/// Constant-time check of the client secret against its stored hash.
async fn authenticate_client(
    tx: &mut Tx,
    credentials: &ClientCredentials,
) -> Result<OAuthClientRow, TokenError> {
    let client = oauth_clients::client_by_client_id(tx, &credentials.client_id).await?;
    // Compare against something even for an unknown client, so timing tells nothing.
    let stored = client
        .as_ref()
        .map(|c| c.secret_hash.clone())
        .unwrap_or_else(|| vec![0; 32]);
    let ok = secrets::matches_hash(&credentials.client_secret, &stored);
    match client {
        Some(client) if ok => Ok(client),
        _ => Err(TokenError::InvalidClient),
    }
}

/// The caller behind an access token, read inside the caller's transaction,
/// or `None` for an unknown, expired, rotated or revoked token, a revoked
/// grant, or a suspended or deleted user.
pub(crate) async fn bearer_in(
    tx: &mut Tx,
    access_token: &str,
    now: OffsetDateTime,
) -> Result<Option<Bearer>, ServiceError> {
    let Some(live) = store::bearer_by_access_hash(tx, &secrets::sha256(access_token), now).await?
    else {
        return Ok(None);
    };
    let user = live.user;
    if !user.standing().is_active() {
        return Ok(None);
    }
    Ok(Some(Bearer {
        user,
        scopes: live.scope.parse().unwrap_or_default(),
        client: live.client_row_id,
        campaign: live.campaign_id.map(CampaignId::from),
    }))
}
