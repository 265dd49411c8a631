//! Token and revocation endpoints of both dialects.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use maecenas_services::oauth::{ClientCredentials, Dialect, IssuedTokens, TokenParams};
use serde_json::json;

use super::error::OAuthErrorBody;
use super::schema::{TokenRequest, TokenResponse};
use crate::AppState;

/// `POST /oauth2/token`, `POST /api/oauth2/token`. The official Python client
/// sends every parameter in the query string with an empty body, as the
/// Patreon seed shows; the JS client sends a form body. Both are accepted.
#[utoipa::path(post, path = "/token", tag = "oauth",
    description = "RFC 6749 token endpoint: `authorization_code` (with PKCE if the code had a challenge) and `refresh_token`. Also at `/oauth2/token`; parameters may also come in the query string.",
    security((), ("basic" = [])),
    request_body(content = crate::oauth::schema::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "tokens", body = crate::oauth::schema::TokenResponse),
        (status = "default", description = "RFC 6749 error", body = crate::oauth::schema::OAuthError)))]
pub async fn patreon_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let dialect = Dialect::Patreon;
    let result = async {
        let params = read_params(dialect, &headers, query.as_deref(), &body)?;
        let (credentials, params) = token_request(dialect, &headers, params)?;
        state
            .services
            .token(credentials, &params)
            .await
            .map_err(|e| OAuthErrorBody::from_token_error(dialect, e))
    }
    .await;
    match result {
        Ok(tokens) => no_store(Json(TokenResponse {
            scope: tokens.scopes.to_string(),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
            token_type: "Bearer".to_owned(),
        })),
        Err(err) => err.into_response(),
    }
}

/// `POST /v1/oauth/token`: form bodies only, as the Sponsus seed says; the
/// answer adds `"success": true` and gives `scope` as an array.
#[utoipa::path(post, path = "/v1/oauth/token", tag = "oauth",
    description = "The token endpoint in Sponsus's shape.", security((), ("basic" = [])),
    request_body(content = crate::oauth::schema::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "tokens", body = crate::sponsus_v1::schema::SponsusSuccess),
        (status = "default", description = "Sponsus OAuth error", body = crate::sponsus_v1::schema::SponsusFailure)))]
pub async fn sponsus_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let dialect = Dialect::Sponsus;
    let result = async {
        let params = read_params(dialect, &headers, None, &body)?;
        let (credentials, params) = token_request(dialect, &headers, params)?;
        state
            .services
            .token(credentials, &params)
            .await
            .map_err(|e| OAuthErrorBody::from_token_error(dialect, e))
    }
    .await;
    match result {
        Ok(tokens) => no_store(Json(sponsus_tokens(&tokens))),
        Err(err) => err.into_response(),
    }
}

fn sponsus_tokens(tokens: &IssuedTokens) -> serde_json::Value {
    json!({
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "scope": tokens.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "expires_in": tokens.expires_in,
        "token_type": "Bearer",
        "success": true,
    })
}

/// `POST /oauth2/revoke` (RFC 7009): `token`, optional `token_type_hint`.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth",
    description = "RFC 7009 revocation (`token`).", security((), ("basic" = [])),
    request_body(content = crate::oauth::schema::RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "revoked (or unknown)"),
        (status = "default", description = "RFC 6749 error", body = crate::oauth::schema::OAuthError)))]
pub async fn patreon_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    revoke(state, Dialect::Patreon, headers, query, body, "token").await
}

/// `POST /v1/oauth/token/revoke`: `access_token`, `client_id`, `client_secret`.
#[utoipa::path(post, path = "/v1/oauth/token/revoke", tag = "oauth",
    description = "Revocation in Sponsus's shape (`access_token`).", security((), ("basic" = [])),
    request_body(content = crate::oauth::schema::SponsusRevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "revoked", body = crate::sponsus_v1::schema::SponsusSuccess),
        (status = "default", description = "Sponsus OAuth error", body = crate::sponsus_v1::schema::SponsusFailure)))]
pub async fn sponsus_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    revoke(state, Dialect::Sponsus, headers, None, body, "access_token").await
}

async fn revoke(
    state: AppState,
    dialect: Dialect,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
    token_param: &str,
) -> Response {
    let result = async {
        let mut params = read_params(dialect, &headers, query.as_deref(), &body)?;
        let token = params
            .remove(token_param)
            .or_else(|| params.remove("token"))
            .unwrap_or_default();
        let (credentials, _) = token_request(dialect, &headers, params)?;
        state
            .services
            .revoke(credentials, &token)
            .await
            .map_err(|e| OAuthErrorBody::from_token_error(dialect, e))
    }
    .await;
    match (result, dialect) {
        (Ok(()), Dialect::Patreon) => no_store(Json(json!({}))),
        (Ok(()), Dialect::Sponsus) => no_store(Json(json!({ "success": true }))),
        (Err(err), _) => err.into_response(),
    }
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Parameters from a form body and (Patreon paths only) the query string.
/// Repeated parameters are refused (RFC 6749 §3.2). Public for `fuzz/`.
pub fn read_params(
    dialect: Dialect,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<HashMap<String, String>, OAuthErrorBody> {
    let invalid = |status: StatusCode, message: &str| {
        OAuthErrorBody::new(dialect, status, "invalid_request", message)
    };
    let mut params = HashMap::new();
    let mut add = |pairs: Vec<(String, String)>| -> Result<(), OAuthErrorBody> {
        for (key, value) in pairs {
            if params.insert(key.clone(), value).is_some() {
                return Err(invalid(
                    StatusCode::BAD_REQUEST,
                    &format!("parameter {key} is repeated"),
                ));
            }
        }
        Ok(())
    };
    if !body.is_empty() {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(invalid(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the token endpoint accepts only application/x-www-form-urlencoded bodies",
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| invalid(StatusCode::BAD_REQUEST, "the body is not valid form data"))?;
        add(pairs)?;
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| invalid(StatusCode::BAD_REQUEST, "the query string is not valid"))?;
        add(pairs)?;
    }
    Ok(params)
}

/// Client authentication by HTTP Basic or `client_secret_post`, never both. Public for `fuzz/`.
pub fn token_request(
    dialect: Dialect,
    headers: &HeaderMap,
    params: HashMap<String, String>,
) -> Result<(Option<ClientCredentials>, TokenParams), OAuthErrorBody> {
    let basic = basic_credentials(headers).map_err(|message| {
        OAuthErrorBody::new(dialect, StatusCode::UNAUTHORIZED, "invalid_client", message)
    })?;
    // Every value is a string, so only unknown parameters (ignored) differ.
    let request: TokenRequest = serde_json::from_value(serde_json::Value::Object(
        params
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect(),
    ))
    .unwrap_or_default();
    let posted_id = request.client_id;
    let posted_secret = request.client_secret;
    let credentials = match (basic, posted_id, posted_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthErrorBody::new(
                dialect,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "use one client authentication method, not two",
            ));
        }
        (Some(basic), Some(id), None) if id != basic.client_id => {
            return Err(OAuthErrorBody::new(
                dialect,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id differs from the one in the Authorization header",
            ));
        }
        (Some(basic), _, None) => Some(basic),
        (None, Some(client_id), Some(client_secret)) => Some(ClientCredentials {
            client_id,
            client_secret,
        }),
        (None, _, _) => None,
    };
    let token_params = TokenParams {
        grant_type: request.grant_type,
        code: request.code,
        redirect_uri: request.redirect_uri,
        code_verifier: request.code_verifier,
        refresh_token: request.refresh_token,
        client_id: None,
        client_secret: None,
        scope: request.scope,
    };
    Ok((credentials, token_params))
}

/// The client credentials of an `Authorization: Basic` header, if any. Public for `fuzz/`.
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<ClientCredentials>, &'static str> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or("the Authorization header is not valid Basic credentials")?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or("the Authorization header is not valid Basic credentials")?;
    // RFC 6749 §2.3.1: both parts are form-encoded before base64.
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Ok(Some(ClientCredentials {
        client_id: unescape(id).ok_or("the Authorization header is not valid Basic credentials")?,
        client_secret: unescape(secret)
            .ok_or("the Authorization header is not valid Basic credentials")?,
    }))
}
