//! The token endpoint's two grants (`authorization_code`, `refresh_token`),
//! each one transaction, written once over the store's
//! [`TokenStatements`]: on PostgreSQL they run in a [`maecenas_store::Tx`],
//! on SQLite as jobs of its group writer, many to a commit.
//!
//! Everything a grant needs from outside (the time, the new token's id and
//! secrets) is made before it starts, so the job is plain data plus these
//! functions.

use maecenas_domain::{
    ACCESS_TOKEN_LIFETIME_SECS, Scope, ScopeSet, pkce_s256_challenge, pkce_s256_matches,
};
use maecenas_store::oauth::{CodeRow, GrantRow, TokenRow};
use maecenas_store::token_at_once::{self, CodeExchange, RefreshRotation};
use maecenas_store::token_statements::{ClientKey, TokenStatements};
use maecenas_store::{Store, StoreError};
use std::future::Future;

use time::{Duration, OffsetDateTime};

use super::{ClientCredentials, IssuedTokens, TokenError, TokenParams};
use crate::secrets;

/// A grant's input, owned, so it can travel to the writer.
pub(crate) struct GrantInput {
    pub credentials: ClientCredentials,
    pub params: TokenParams,
    pub now: OffsetDateTime,
    /// The token row a successful grant inserts (its grant id filled in then).
    pub token: TokenRow,
    pub access_plaintext: String,
    pub refresh_plaintext: String,
}

/// What a grant decided: its answer, whether its writes stand (a refusal
/// that burnt a code or revoked a grant keeps them; one that found nothing
/// to keep rolls back), and how many webhooks it resumed.
pub(crate) struct GrantOutcome {
    pub answer: Result<IssuedTokens, TokenError>,
    pub keep: bool,
    pub webhooks_resumed: u64,
}

impl GrantOutcome {
    fn refused(error: TokenError) -> Self {
        GrantOutcome {
            answer: Err(error),
            keep: false,
            webhooks_resumed: 0,
        }
    }

    fn refused_keeping_writes(error: TokenError) -> Self {
        GrantOutcome {
            answer: Err(error),
            keep: true,
            webhooks_resumed: 0,
        }
    }
}

/// A write use case that can run on either write path: in a transaction
/// of its own, or as a job of SQLite's group writer. It returns its answer
/// and whether its writes stand.
pub(crate) trait WriteCase: Send + Sync + 'static {
    type Answer: Send + 'static;
    fn on<S: TokenStatements>(
        &self,
        statements: &mut S,
    ) -> impl Future<Output = Result<(Self::Answer, bool), StoreError>> + Send;
}

/// Runs `case` on whichever write path the store has: one transaction each
/// on PostgreSQL, many to a commit on SQLite.
pub(crate) async fn run_case<C: WriteCase>(
    store: &Store,
    case: C,
) -> Result<C::Answer, StoreError> {
    if let Some(writer) = store.group_writer() {
        // Every statement on `Direct` runs on the spot: the future is ready
        // at its first poll, and `block_on` never waits.
        return writer
            .run(move |direct| futures_executor::block_on(case.on(direct)))
            .await;
    }
    let mut tx = store.write().await?;
    let (answer, keep) = case.on(&mut tx).await?;
    if keep {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(answer)
}

/// The two grants, each with its input.
pub(crate) enum Grant {
    ExchangeCode(GrantInput),
    Refresh(GrantInput),
}

impl WriteCase for Grant {
    type Answer = GrantOutcome;

    async fn on<S: TokenStatements>(
        &self,
        statements: &mut S,
    ) -> Result<(GrantOutcome, bool), StoreError> {
        let outcome = match self {
            Grant::ExchangeCode(input) => exchange_code(statements, input).await?,
            Grant::Refresh(input) => refresh(statements, input).await?,
        };
        let keep = outcome.keep;
        Ok((outcome, keep))
    }
}

impl Grant {
    /// On PostgreSQL, the grant in one statement if it succeeds (see
    /// [`maecenas_store::token_at_once`]); `None`: nothing was written, run
    /// the whole use case, which also finds why a request is refused.
    pub(crate) async fn at_once(&self, store: &Store) -> Result<Option<IssuedTokens>, StoreError> {
        if store.group_writer().is_some() {
            return Ok(None);
        }
        let (input, scope) = match self {
            Grant::ExchangeCode(input) => {
                let params = &input.params;
                let verifier_challenge = match params.code_verifier.as_deref() {
                    None => None,
                    Some(verifier) => match pkce_s256_challenge(verifier) {
                        Some(challenge) => Some(challenge),
                        None => return Ok(None),
                    },
                };
                let Some(redirect_uri) = params.redirect_uri.as_deref() else {
                    return Ok(None);
                };
                let request = CodeExchange {
                    client_id: &input.credentials.client_id,
                    client_secret_hash: &secrets::sha256(&input.credentials.client_secret),
                    code_hash: &secrets::sha256(params.code.as_deref().unwrap_or_default()),
                    redirect_uri,
                    verifier_challenge: verifier_challenge.as_deref(),
                    now: input.now,
                    token: &input.token,
                };
                (input, token_at_once::exchange_code(store, request).await?)
            }
            Grant::Refresh(input) => {
                let params = &input.params;
                if params
                    .scope
                    .as_deref()
                    .is_some_and(|s| !s.trim().is_empty())
                {
                    return Ok(None);
                }
                let request = RefreshRotation {
                    client_id: &input.credentials.client_id,
                    client_secret_hash: &secrets::sha256(&input.credentials.client_secret),
                    refresh_hash: &secrets::sha256(
                        params.refresh_token.as_deref().unwrap_or_default(),
                    ),
                    now: input.now,
                    token: &input.token,
                };
                (input, token_at_once::rotate_refresh(store, request).await?)
            }
        };
        Ok(scope.map(|scope| issued(input, &scope)))
    }
}

/// A consent given: a grant and its single-use code.
pub(crate) struct IssueCode {
    pub grant: GrantRow,
    pub code: CodeRow,
}

impl WriteCase for IssueCode {
    type Answer = ();

    async fn on<S: TokenStatements>(&self, statements: &mut S) -> Result<((), bool), StoreError> {
        statements.insert_grant(&self.grant).await?;
        statements.insert_code(&self.code).await?;
        Ok(((), true))
    }
}

const CODE_REFUSED: &str = "the code is invalid, expired or already used";
const REFRESH_REFUSED: &str = "the refresh token is invalid, revoked or already used";

async fn exchange_code<S: TokenStatements>(
    s: &mut S,
    input: &GrantInput,
) -> Result<GrantOutcome, StoreError> {
    let now = input.now;
    let params = &input.params;
    let code = params.code.as_deref().unwrap_or_default();
    let Some(client) = authenticate_client(s, &input.credentials).await? else {
        return Ok(GrantOutcome::refused(TokenError::InvalidClient));
    };
    let Some(found) = s.code_with_grant(&secrets::sha256(code)).await? else {
        return Ok(GrantOutcome::refused(TokenError::InvalidGrant(
            CODE_REFUSED,
        )));
    };
    let (row, grant) = (&found.code, &found.grant);
    if grant.client_row_id != client.id {
        // Another client's code: refuse without saying more.
        return Ok(GrantOutcome::refused(TokenError::InvalidGrant(
            CODE_REFUSED,
        )));
    }
    if row.used_at.is_some() || grant.revoked_at.is_some() {
        // A replayed code: someone else may hold its tokens. Revoke them all,
        // and keep that even though the answer is an error.
        revoke_grant(s, grant, now).await?;
        return Ok(GrantOutcome::refused_keeping_writes(
            TokenError::InvalidGrant(CODE_REFUSED),
        ));
    }
    if row.expires_at <= now {
        return Ok(GrantOutcome::refused(TokenError::InvalidGrant(
            CODE_REFUSED,
        )));
    }
    if params.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
        return Ok(GrantOutcome::refused(TokenError::InvalidGrant(
            "redirect_uri does not match the one of the authorization request",
        )));
    }
    if let Err(refusal) = check_pkce(row, params) {
        // A code presented with a wrong or missing verifier is burnt (and
        // its grant revoked, as for a replay): whoever holds a stolen code
        // cannot try verifiers until one fits.
        s.use_code(&row.code_hash, now).await?;
        revoke_grant(s, grant, now).await?;
        return Ok(GrantOutcome::refused_keeping_writes(refusal));
    }
    if !s.use_code(&row.code_hash, now).await? {
        return Ok(GrantOutcome::refused(TokenError::InvalidGrant(
            CODE_REFUSED,
        )));
    }
    if found.standing.is_none_or(|standing| !standing.is_active()) {
        return Ok(GrantOutcome::refused(TokenError::InvalidGrant(
            "the user can no longer authorize applications",
        )));
    }
    let answer = insert_tokens(s, input, grant).await?;
    let webhooks_resumed = if grant_holds_webhooks(grant) {
        s.resume_webhooks_with_access(grant.client_row_id, grant.user_id, now)
            .await?
    } else {
        0
    };
    Ok(GrantOutcome {
        answer: Ok(answer),
        keep: true,
        webhooks_resumed,
    })
}

async fn refresh<S: TokenStatements>(
    s: &mut S,
    input: &GrantInput,
) -> Result<GrantOutcome, StoreError> {
    let now = input.now;
    let params = &input.params;
    let refresh_token = params.refresh_token.as_deref().unwrap_or_default();
    let Some(client) = authenticate_client(s, &input.credentials).await? else {
        return Ok(GrantOutcome::refused(TokenError::InvalidClient));
    };
    let invalid = || TokenError::InvalidGrant(REFRESH_REFUSED);
    let Some(found) = s
        .refresh_with_grant(&secrets::sha256(refresh_token))
        .await?
    else {
        return Ok(GrantOutcome::refused(invalid()));
    };
    let (token, grant) = (&found.token, &found.grant);
    if grant.client_row_id != client.id {
        return Ok(GrantOutcome::refused(invalid()));
    }
    if token.refreshed_at.is_some() {
        // Reuse of a rotated refresh token (RFC 9700 §4.14.2): revoke the
        // whole grant, keep that, then refuse.
        revoke_grant(s, grant, now).await?;
        return Ok(GrantOutcome::refused_keeping_writes(invalid()));
    }
    if token.revoked_at.is_some() || grant.revoked_at.is_some() {
        return Ok(GrantOutcome::refused(invalid()));
    }
    if let Some(asked) = params.scope.as_deref().filter(|s| !s.trim().is_empty()) {
        let asked: ScopeSet = match asked.parse() {
            Ok(asked) => asked,
            Err(e) => {
                let e: maecenas_domain::ScopeError = e;
                return Ok(GrantOutcome::refused(TokenError::InvalidScope(
                    e.to_string(),
                )));
            }
        };
        let granted: ScopeSet = grant.scope.parse().unwrap_or_default();
        if asked.iter().any(|s| !granted.contains(s)) {
            return Ok(GrantOutcome::refused(TokenError::InvalidScope(
                "a refresh cannot widen the granted scope".into(),
            )));
        }
    }
    if !s.mark_refreshed(token.id, now).await? {
        return Ok(GrantOutcome::refused(invalid()));
    }
    if found.standing.is_none_or(|standing| !standing.is_active()) {
        return Ok(GrantOutcome::refused(TokenError::InvalidGrant(
            "the user can no longer authorize applications",
        )));
    }
    let answer = insert_tokens(s, input, grant).await?;
    Ok(GrantOutcome {
        answer: Ok(answer),
        keep: true,
        webhooks_resumed: 0,
    })
}

/// The client the request authenticates as, or `None`. The secret is
/// compared in constant time, against a dummy for an unknown client, so
/// timing tells nothing.
async fn authenticate_client<S: TokenStatements>(
    s: &mut S,
    credentials: &ClientCredentials,
) -> Result<Option<ClientKey>, StoreError> {
    let client = s.client_key(&credentials.client_id).await?;
    let stored = client
        .as_ref()
        .map(|c| c.secret_hash.clone())
        .unwrap_or_else(|| vec![0; 32]);
    let ok = secrets::matches_hash(&credentials.client_secret, &stored);
    Ok(client.filter(|_| ok))
}

/// Revokes a grant, its tokens and what only it allowed: the app's webhooks
/// on the user's campaign pause when no other grant of theirs to the app
/// holds the webhook scope (they resume when the app is authorized again).
/// The token endpoint's replays and a user's own revocation both end here.
pub(super) async fn revoke_grant<S: TokenStatements>(
    s: &mut S,
    grant: &GrantRow,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    s.revoke_grant(grant.id, now).await?;
    s.pause_webhooks_without_access(
        grant.client_row_id,
        grant.user_id,
        Scope::CampaignsWebhook.as_str(),
        now,
    )
    .await?;
    Ok(())
}

fn grant_holds_webhooks(grant: &GrantRow) -> bool {
    let scopes: ScopeSet = grant.scope.parse().unwrap_or_default();
    scopes.contains(Scope::CampaignsWebhook)
}

async fn insert_tokens<S: TokenStatements>(
    s: &mut S,
    input: &GrantInput,
    grant: &GrantRow,
) -> Result<IssuedTokens, StoreError> {
    let token = TokenRow {
        grant_id: grant.id,
        ..input.token.clone()
    };
    s.insert_token(&token).await?;
    Ok(issued(input, &grant.scope))
}

fn issued(input: &GrantInput, scope: &str) -> IssuedTokens {
    IssuedTokens {
        access_token: input.access_plaintext.clone(),
        refresh_token: input.refresh_plaintext.clone(),
        expires_in: ACCESS_TOKEN_LIFETIME_SECS,
        scopes: scope.parse().unwrap_or_default(),
    }
}

/// Whether the token request proves PKCE as the code requires: the verifier
/// of its challenge, and no verifier for a code issued without one.
fn check_pkce(row: &CodeRow, params: &TokenParams) -> Result<(), TokenError> {
    match (&row.code_challenge, params.code_verifier.as_deref()) {
        (None, None) => Ok(()),
        (Some(challenge), Some(verifier)) if pkce_s256_matches(verifier, challenge) => Ok(()),
        (Some(_), None) => Err(TokenError::InvalidGrant(
            "code_verifier is required for this code",
        )),
        (Some(_), Some(_)) => Err(TokenError::InvalidGrant(
            "code_verifier does not match the code_challenge",
        )),
        // A verifier for a code issued without a challenge: a downgrade attempt (RFC 9700 §2.1.1).
        (None, Some(_)) => Err(TokenError::InvalidGrant(
            "this code was issued without a code_challenge",
        )),
    }
}

/// The token a successful grant will insert, minted before the grant runs.
pub(crate) fn new_token(id: i64, now: OffsetDateTime) -> TokenRow {
    TokenRow {
        id,
        grant_id: 0,
        access_hash: Vec::new(),
        refresh_hash: Vec::new(),
        created_at: now,
        access_expires_at: now + Duration::seconds(ACCESS_TOKEN_LIFETIME_SECS),
        refreshed_at: None,
        revoked_at: None,
    }
}
