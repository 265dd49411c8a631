//! `maecenas admin campaign | tier | creation`: setting up what is billed.
//! `--json` prints exactly one JSON document.

use clap::Subcommand;
use maecenas_services::Services;
use maecenas_services::creators::NewTierRequest;
use serde_json::json;

use super::failure::Failure;
use super::output::{output, rfc3339};

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create (and publish) a creator's campaign
    Create {
        /// E-mail of the creator
        #[arg(long)]
        creator: String,
        /// ISO 4217 code of the campaign's currency
        #[arg(long, default_value = "USD")]
        currency: String,
        /// Patrons pay per paid creation, up to their monthly cap, instead of monthly
        #[arg(long)]
        per_creation: bool,
        /// The campaign's summary (Markdown)
        #[arg(long)]
        summary: Option<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TierCommand {
    /// Add a tier to a creator's campaign
    Create {
        /// E-mail of the creator
        #[arg(long)]
        creator: String,
        /// Title shown to patrons
        #[arg(long)]
        title: String,
        /// Amount in minor units of the campaign's currency (500 = 5.00)
        #[arg(long)]
        amount_cents: i64,
        /// Description shown to patrons (Markdown)
        #[arg(long, default_value = "")]
        description: String,
        /// Most patrons the tier takes
        #[arg(long)]
        limit: Option<i32>,
        /// The tier ships rewards: pledging needs a shipping address
        #[arg(long)]
        requires_shipping: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CreationCommand {
    /// Publish a creation now (paid unless --free)
    Publish {
        /// E-mail of the creator
        #[arg(long)]
        creator: String,
        /// Title shown to patrons
        #[arg(long)]
        title: String,
        /// A free creation: charges no one
        #[arg(long)]
        free: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn campaign(services: &Services, command: CampaignCommand) -> Result<(), Failure> {
    let CampaignCommand::Create {
        creator,
        currency,
        per_creation,
        summary,
        json,
    } = command;
    let user = services.user_by_email(&creator).await?;
    let c = services
        .create_campaign(user.id, &currency, !per_creation, summary)
        .await?;
    output(
        json,
        json!({"id": c.id.to_string(), "creator_id": c.creator_id.to_string(), "currency": c.currency, "is_monthly": c.is_monthly}),
        || {
            format!(
                "created campaign {} ({})",
                c.id,
                if c.is_monthly {
                    "monthly"
                } else {
                    "per creation"
                }
            )
        },
    );
    Ok(())
}

pub async fn tier(services: &Services, command: TierCommand) -> Result<(), Failure> {
    let TierCommand::Create {
        creator,
        title,
        amount_cents,
        description,
        limit,
        requires_shipping,
        json,
    } = command;
    let user = services.user_by_email(&creator).await?;
    let campaign = services.campaign_of_creator(user.id).await?;
    let t = services
        .create_tier(
            campaign.id,
            NewTierRequest {
                title,
                description,
                amount_minor: amount_cents,
                patron_limit: limit,
                requires_shipping,
            },
        )
        .await?;
    output(
        json,
        json!({"id": t.id.to_string(), "campaign_id": t.campaign_id.to_string(), "title": t.title,
               "amount_cents": t.amount_minor, "patron_limit": t.patron_limit}),
        || format!("created tier {} ({})", t.id, t.title),
    );
    Ok(())
}

pub async fn creation(services: &Services, command: CreationCommand) -> Result<(), Failure> {
    let CreationCommand::Publish {
        creator,
        title,
        free,
        json,
    } = command;
    let user = services.user_by_email(&creator).await?;
    let campaign = services.campaign_of_creator(user.id).await?;
    let c = services
        .publish_creation(campaign.id, &title, !free)
        .await?;
    output(
        json,
        json!({"id": c.id.to_string(), "campaign_id": c.campaign_id.to_string(), "title": c.title,
               "is_paid": c.is_paid, "published_at": c.published_at.map(rfc3339)}),
        || format!("published creation {}", c.id),
    );
    Ok(())
}
