//! `maecenas admin ...` and `maecenas migrate`: operator commands. Their
//! shape is part of the product (operators script them), so every command
//! takes `--json` and prints exactly one JSON document on stdout.

use std::net::SocketAddr;

use clap::Subcommand;
use maecenas_services::accounts::NewAccount;
use maecenas_services::demo::DemoAccess;
use maecenas_services::developers::{ClientManager, NewClient};
use maecenas_store::api_keys::ApiKeyRow;
use maecenas_store::users::UserRow;
use maecenas_store::{ConnectOptions, Store};
use serde_json::{Value, json};

use super::billing::{self, CardCommand, DonationCommand, PledgeCommand};
use super::campaigns::{self, CampaignCommand, CreationCommand, TierCommand};
use super::failure::Failure;
use super::output::{output, rfc3339};
use crate::{Config, open_services};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Users: patrons, creators, operators
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// OAuth clients of integrating developers
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Personal API keys (`Authorization: <key>`)
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// OAuth access tokens minted without the browser flow
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Creators' campaigns
    Campaign {
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// Tiers of a campaign
    Tier {
        #[command(subcommand)]
        command: TierCommand,
    },
    /// Creations (posts); paid ones drive per-creation billing
    Creation {
        #[command(subcommand)]
        command: CreationCommand,
    },
    /// Pledges, made as the pledge page makes them (support staff)
    Pledge {
        #[command(subcommand)]
        command: PledgeCommand,
    },
    /// One-off donations
    Donation {
        #[command(subcommand)]
        command: DonationCommand,
    },
    /// Patrons' cards
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint an access and refresh token for a user and a client (support, scripts)
    Create {
        /// The client's public client_id
        #[arg(long)]
        client: String,
        /// Email of the user the token acts for
        #[arg(long)]
        user: String,
        /// Space- or comma-separated scopes [default: users pledges-to-me my-campaign]
        #[arg(long, default_value = "")]
        scope: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user
    Create {
        #[arg(long)]
        email: String,
        /// At least 8 characters
        #[arg(long)]
        password: String,
        /// Public handle (Sponsus unique_url, Patreon vanity, creator page /USERNAME)
        #[arg(long)]
        username: Option<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// The user is a creator (may publish a campaign)
        #[arg(long)]
        creator: bool,
        /// The user is a platform operator
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List users, oldest first
    List {
        /// Most users to list
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an OAuth client; prints its client_id and client_secret (shown once)
    Create {
        /// Email of the developer who owns it
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        /// Where the browser is sent after consent (https, or http on loopback); repeatable
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        icon_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List OAuth clients
    List {
        /// Only this developer's clients
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client; every token it was given dies with it
    Delete {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace a client's secret; the old one stops working at once
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a personal API key; prints the key (shown once)
    Create {
        /// Email of the user the key acts as
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key by its id (from `list`)
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List API keys (never the keys themselves: only their prefixes)
    List {
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: &Config, command: AdminCommand) -> Result<(), Failure> {
    let services = open_services(config).await?;
    let result = match command {
        AdminCommand::Campaign { command } => campaigns::campaign(&services, command).await,
        AdminCommand::Tier { command } => campaigns::tier(&services, command).await,
        AdminCommand::Creation { command } => campaigns::creation(&services, command).await,
        AdminCommand::Pledge { command } => billing::pledge(&services, command).await,
        AdminCommand::Donation { command } => billing::donation(&services, command).await,
        AdminCommand::Card { command } => billing::card(&services, command).await,
        AdminCommand::User { command } => match command {
            UserCommand::Create {
                email,
                password,
                username,
                first_name,
                last_name,
                creator,
                admin,
                json,
            } => {
                let user = services
                    .create_user(NewAccount {
                        email,
                        password,
                        username,
                        first_name,
                        last_name,
                        is_creator: creator,
                        is_admin: admin,
                    })
                    .await?;
                output(json, user_json(&user), || {
                    format!("created user {} <{}>", user.id, user.email)
                });
                Ok(())
            }
            UserCommand::List { limit, json } => {
                let users = services.list_users(None, limit).await?;
                let docs: Vec<Value> = users.iter().map(user_json).collect();
                output(json, Value::Array(docs), || {
                    users
                        .iter()
                        .map(|u| {
                            let roles = [
                                (u.is_creator, "creator"),
                                (u.is_admin, "admin"),
                                (u.is_suspended, "suspended"),
                                (u.is_deleted, "deleted"),
                            ]
                            .iter()
                            .filter(|(on, _)| *on)
                            .map(|(_, name)| *name)
                            .collect::<Vec<_>>()
                            .join(",");
                            format!(
                                "{}\t{}\t{}\t{}",
                                u.id,
                                u.email,
                                u.username.as_deref().unwrap_or("-"),
                                roles
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                Ok(())
            }
        },
        AdminCommand::Client { command } => match command {
            ClientCommand::Create {
                owner,
                name,
                redirect_uris,
                description,
                icon_url,
                json,
            } => {
                let created = services
                    .create_oauth_client(NewClient {
                        owner_email: owner,
                        name,
                        description,
                        icon_url,
                        redirect_uris,
                    })
                    .await?;
                let doc = json!({
                    "client_id": created.client.client_id,
                    "client_secret": created.client_secret.plaintext,
                    "name": created.client.name,
                    "owner": created.client.owner_email,
                    "redirect_uris": created.redirect_uris,
                    "created_at": rfc3339(created.client.created_at),
                });
                output(json, doc, || {
                    format!(
                        "client_id:     {}\nclient_secret: {}\n(the secret is shown only now; store it safely)",
                        created.client.client_id, created.client_secret.plaintext
                    )
                });
                Ok(())
            }
            ClientCommand::List { owner, json } => {
                let clients = services.list_oauth_clients(owner.as_deref()).await?;
                let docs: Vec<Value> = clients
                    .iter()
                    .map(|c| {
                        json!({
                            "client_id": c.client.client_id,
                            "name": c.client.name,
                            "description": c.client.description,
                            "owner": c.client.owner_email,
                            "redirect_uris": c.redirect_uris,
                            "created_at": rfc3339(c.client.created_at),
                            "secret_rotated_at": rfc3339(c.client.secret_rotated_at),
                        })
                    })
                    .collect();
                output(json, Value::Array(docs), || {
                    clients
                        .iter()
                        .map(|c| {
                            format!(
                                "{}\t{}\t{}\t{}",
                                c.client.client_id,
                                c.client.name,
                                c.client.owner_email,
                                c.redirect_uris.join(" ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                Ok(())
            }
            ClientCommand::Delete { client_id, json } => {
                services
                    .delete_oauth_client(ClientManager::Operator, &client_id)
                    .await?;
                output(
                    json,
                    json!({ "client_id": client_id, "deleted": true }),
                    || format!("deleted client {client_id}"),
                );
                Ok(())
            }
            ClientCommand::RotateSecret { client_id, json } => {
                let secret = services
                    .rotate_client_secret(ClientManager::Operator, &client_id)
                    .await?;
                output(
                    json,
                    json!({ "client_id": client_id, "client_secret": secret.plaintext }),
                    || {
                        format!(
                            "client_secret: {}\n(the old secret no longer works)",
                            secret.plaintext
                        )
                    },
                );
                Ok(())
            }
        },
        AdminCommand::Token { command } => match command {
            TokenCommand::Create {
                client,
                user,
                scope,
                json,
            } => {
                let tokens = services.mint_tokens(&client, &user, &scope).await?;
                let doc = json!({
                    "access_token": tokens.access_token,
                    "refresh_token": tokens.refresh_token,
                    "expires_in": tokens.expires_in,
                    "scope": tokens.scopes.to_string(),
                    "token_type": "Bearer",
                });
                output(json, doc, || {
                    format!(
                        "access_token:  {}\nrefresh_token: {}\nscope: {}",
                        tokens.access_token, tokens.refresh_token, tokens.scopes
                    )
                });
                Ok(())
            }
        },
        AdminCommand::ApiKey { command } => match command {
            ApiKeyCommand::Create { owner, name, json } => {
                let created = services.create_api_key(&owner, &name).await?;
                let mut doc = api_key_json(&created.key);
                doc["key"] = Value::String(created.plaintext.plaintext.clone());
                output(json, doc, || {
                    format!(
                        "key: {}\n(the key is shown only now; send it as `Authorization: <key>`)",
                        created.plaintext.plaintext
                    )
                });
                Ok(())
            }
            ApiKeyCommand::Revoke { id, json } => {
                let key_id = id
                    .parse::<maecenas_domain::ApiKeyId>()
                    .map_err(|_| Failure {
                        code: 2,
                        message: format!("{id:?} is not an API key id"),
                    })?;
                services.revoke_api_key(None, key_id).await?;
                output(json, json!({ "id": id, "revoked": true }), || {
                    format!("revoked API key {id}")
                });
                Ok(())
            }
            ApiKeyCommand::List { owner, json } => {
                let keys = services.list_api_keys(owner.as_deref()).await?;
                let docs: Vec<Value> = keys.iter().map(api_key_json).collect();
                output(json, Value::Array(docs), || {
                    keys.iter()
                        .map(|k| {
                            let state = if k.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "active"
                            };
                            format!(
                                "{}\t{}…\t{}\t{}\t{}",
                                k.id, k.prefix, k.name, k.owner_email, state
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                Ok(())
            }
        },
    };
    services.store().close().await;
    result
}

/// `maecenas migrate`: only the schema; nothing else is opened.
pub async fn migrate(config: &Config, json: bool) -> Result<(), Failure> {
    let options = ConnectOptions {
        max_connections: 1,
        session_limits: config.db_session_limits,
        ..ConnectOptions::default()
    };
    let store = Store::connect(&config.database_url, &options)
        .await
        .map_err(anyhow::Error::from)?;
    let report = store.migrate().await.map_err(anyhow::Error::from)?;
    store.close().await;
    let doc = json!({
        "backend": store.backend().name(),
        "applied": report.applied_now,
        "current_version": report.current,
    });
    output(json, doc, || match report.applied_now.len() {
        0 => format!(
            "database is up to date (version {})",
            report.current.unwrap_or(0)
        ),
        n => format!(
            "applied {n} migration(s); database is at version {}",
            report.current.unwrap_or(0)
        ),
    });
    Ok(())
}

pub fn print_demo_access(access: &DemoAccess, address: SocketAddr) {
    let base = format!("http://{address}");
    let seeded = if access.newly_seeded {
        format!(
            "seeded demo data: 2 creators (a monthly campaign in dollars and a per-episode podcast \
             in euros), their tiers, goals and posts, {} patrons with pledges",
            access.patrons
        )
    } else {
        "demo data already present; minted a fresh client secret and API key".to_owned()
    };
    println!(
        "\
== Maecenas demo ==
{seeded}

Start here: {base}/{username}   (the demo creator's public page: tiers, goals, posts, \"Join\")
            {base}/{second}   (a second creator, paid per episode, in euros)

Log in at {base}/login with the password {password:?} (sample data: do not expose this server):
  the creator: {creator}   then {base}/dashboard (campaign, tiers, patrons)
  a patron:    {patron}   then {base}/panel (what they sponsor)
               (patron002 … patron{last:03} are patrons too)
  another creator: {second_email}
  the operator: {admin}   then {base}/admin/emails (every e-mail sent: no mail server needed)

For developers:
  developer portal:  {base}/developers/clients   (OAuth clients, API keys, webhooks; log in first)
  API documentation: {base}/docs
  OpenAPI document:  {base}/openapi.json
  The creator's ids: user {creator_id}, campaign {campaign_id}
  The demo's OAuth client (redirect URI {redirect}):
    client_id:     {client_id}
    client_secret: {client_secret}
  The creator's API key (send as `Authorization: <key>`):
    {api_key}
  Try:
    curl {base}/healthz
    open {base}/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={redirect}&scope=identify
    curl -X POST {base}/oauth2/token -d grant_type=authorization_code -d code=CODE \\
         -d client_id={client_id} -d client_secret=SECRET -d redirect_uri={redirect}
    curl -H 'Authorization: Bearer ACCESS_TOKEN' {base}/v1/oauth/@me/profile
  Webhooks to this machine (loopback) need MAECENAS_WEBHOOK_ALLOW_NETS=127.0.0.0/8.
",
        password = access.password,
        creator = access.creator_email,
        username = access.creator_username,
        second = maecenas_services::demo::DEMO_SECOND_CREATOR_USERNAME,
        second_email = maecenas_services::demo::DEMO_SECOND_CREATOR_EMAIL,
        admin = maecenas_services::demo::DEMO_ADMIN_EMAIL,
        creator_id = access.creator_id,
        campaign_id = access.campaign_id,
        patron = access.patron_email_example,
        last = access.patrons,
        redirect = access.redirect_uri,
        client_id = access.client_id,
        client_secret = access.client_secret,
        api_key = access.api_key,
    );
}

fn user_json(u: &UserRow) -> Value {
    json!({
        "id": u.id.to_string(),
        "email": u.email,
        "username": u.username,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "status": u.status,
        "is_creator": u.is_creator,
        "is_admin": u.is_admin,
        "is_suspended": u.is_suspended,
        "is_deleted": u.is_deleted,
        "created_at": rfc3339(u.created_at),
    })
}

fn api_key_json(k: &ApiKeyRow) -> Value {
    json!({
        "id": k.id.to_string(),
        "name": k.name,
        "prefix": k.prefix,
        "owner": k.owner_email,
        "created_at": rfc3339(k.created_at),
        "last_used_at": k.last_used_at.map(rfc3339),
        "revoked_at": k.revoked_at.map(rfc3339),
    })
}
