//! `maecenas billing run | verify | refund | payout` and the admin commands
//! that move money: `admin pledge | donation | card`. `--json` prints
//! exactly one JSON document.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use maecenas_domain::{BillingPeriod, TierId};
use maecenas_services::Services;
use maecenas_services::billing::{
    CardInput, NewDonationRequest, NewPledgeRequest, PayoutReport, Progress, RunReport,
};
use maecenas_services::records::{ChargeRow, PayoutRow};
use maecenas_store::cards::PaymentMethodRow;
use maecenas_store::donations::DonationRow;
use maecenas_store::pledges::PledgeRow;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::failure::Failure;
use super::output::{output, rfc3339};
use crate::{Config, open_services};

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Charge what is due: this month's monthly pledges (or --period's), last month's
    /// per-creation pledges, due retries, and charges a stopped run left pending
    Run {
        /// The month to charge monthly pledges for, YYYY-MM [default: this month, UTC]
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check the ledger's invariants; exits 1 when one does not hold
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Refund a succeeded charge in full (the creator gives back their share; the platform its fee and the gateway's)
    Refund {
        /// The charge's id (from `admin pledge create --json` or a patron's history)
        #[arg(long)]
        charge: String,
        #[arg(long)]
        json: bool,
    },
    /// Pay creators their balance through the gateway
    Payout {
        /// Only this creator's campaign
        #[arg(long, conflicts_with = "all")]
        creator: Option<String>,
        /// Every campaign with a balance
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PledgeCommand {
    /// Pledge for a patron, as the web pledge flow does: card through the gateway,
    /// the current month charged at once, the ledger posted
    Create {
        /// E-mail of the patron
        #[arg(long)]
        patron: String,
        /// E-mail of the creator
        #[arg(long)]
        creator: String,
        /// Amount in minor units of the campaign's currency (500 = 5.00)
        #[arg(long)]
        amount_cents: i64,
        /// Id of the tier [default: no tier]
        #[arg(long)]
        tier: Option<String>,
        /// A card number (test gateway: Stripe's test numbers) [default: the patron's last card]
        #[arg(long)]
        card: Option<String>,
        /// Card expiry month
        #[arg(long, default_value_t = 12)]
        exp_month: u8,
        /// Card expiry year
        #[arg(long, default_value_t = 2034)]
        exp_year: u16,
        /// Card security code
        #[arg(long, default_value = "123")]
        cvc: String,
        /// The patron covers the fees: the creator receives the whole amount
        #[arg(long)]
        patron_pays_fees: bool,
        /// Per-creation campaigns: the most a month may cost
        #[arg(long)]
        cap_cents: Option<i64>,
        /// ISO country code for VAT
        #[arg(long)]
        country: Option<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DonationCommand {
    /// A one-off donation, charged at once
    Create {
        /// E-mail of the donor
        #[arg(long)]
        donor: String,
        /// E-mail of the creator
        #[arg(long)]
        creator: String,
        /// Amount in minor units of the campaign's currency (500 = 5.00)
        /// Amount in minor units of the campaign's currency (500 = 5.00)
        #[arg(long)]
        amount_cents: i64,
        /// A card number (test gateway: Stripe's test numbers) [default: the donor's last card]
        #[arg(long)]
        card: Option<String>,
        /// A message to the creator
        #[arg(long, default_value = "")]
        message: String,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Give a patron a new card; charges that failed are retried on it at once
    Update {
        /// E-mail of the patron
        #[arg(long)]
        patron: String,
        /// The new card's number (test gateway: Stripe's test numbers)
        #[arg(long)]
        card: String,
        /// Card expiry month
        #[arg(long, default_value_t = 12)]
        exp_month: u8,
        /// Card expiry year
        #[arg(long, default_value_t = 2034)]
        exp_year: u16,
        /// Card security code
        #[arg(long, default_value = "123")]
        cvc: String,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_billing(config: &Config, command: BillingCommand) -> Result<(), Failure> {
    let services = open_services(config).await?;
    let result = match command {
        BillingCommand::Run { period, json } => billing_run(&services, period, json).await,
        BillingCommand::Verify { json } => verify(&services, json).await,
        BillingCommand::Payout { creator, all, json } => {
            payout(&services, creator, all, json).await
        }
        BillingCommand::Refund { charge, json } => refund(&services, &charge, json).await,
    };
    services.store().close().await;
    result
}

async fn billing_run(
    services: &Services,
    period: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let period = period
        .map(|p| p.parse::<BillingPeriod>())
        .transpose()
        .map_err(|e| Failure {
            code: 2,
            message: e.to_string(),
        })?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = services.run_billing(period, &Bar(bar.clone())).await?;
    bar.finish_and_clear();
    output(json, run_json(&report), || {
        let totals: Vec<String> = report
            .collected
            .iter()
            .map(|(currency, minor)| format!("{currency} {minor}"))
            .collect();
        format!(
            "billing {}: {} charged, {} retrying, {} declined, {} unknown (next run looks them up), \
             {} recovered after a crash, {} cancelled pledges ended; collected {}",
            report.period.map(|p| p.to_string()).unwrap_or_default(),
            report.succeeded,
            report.retrying,
            report.declined,
            report.unknown,
            report.recovered,
            report.ended,
            if totals.is_empty() {
                "nothing".to_owned()
            } else {
                totals.join(", ")
            }
        )
    });
    if report.unbilled > 0 {
        // The summary above went to stdout; this says the job is not done.
        return Err(Failure {
            code: UNBILLED_EXIT,
            message: format!(
                "{} due pledges are still unbilled (held by another billing run, which may have stalled, or left for a later run); run billing again",
                report.unbilled
            ),
        });
    }
    Ok(())
}

/// `billing run`'s exit status when due pledges are left unbilled.
pub const UNBILLED_EXIT: u8 = 5;

struct Bar(ProgressBar);

impl Progress for Bar {
    fn report(&self, r: &RunReport) {
        self.0.set_message(format!(
            "charged {}, retrying {}, declined {}, unknown {}",
            r.succeeded, r.retrying, r.declined, r.unknown
        ));
    }
}

fn run_json(r: &RunReport) -> Value {
    json!({
        "period": r.period.map(|p| p.to_string()),
        "per_creation_period": r.per_creation_period.map(|p| p.to_string()),
        "planned": r.planned,
        "charged": r.succeeded,
        "retrying": r.retrying,
        "declined": r.declined,
        "unknown": r.unknown,
        "recovered": r.recovered,
        "ended": r.ended,
        "unbilled": r.unbilled,
        "collected_minor": r.collected,
    })
}

async fn verify(services: &Services, json: bool) -> Result<(), Failure> {
    let broken = services.verify_ledger().await?;
    let counts = services.charge_counts(None).await?;
    let doc = json!({
        "ok": broken.is_empty(),
        "violations": broken.iter().map(|v| json!({"rule": v.rule, "count": v.count})).collect::<Vec<_>>(),
        "charges": counts.iter().map(|(status, n)| (status.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
    });
    output(json, doc, || {
        if broken.is_empty() {
            "ledger ok: every invariant holds".to_owned()
        } else {
            broken
                .iter()
                .map(|v| format!("BROKEN: {} ({} rows)", v.rule, v.count))
                .collect::<Vec<_>>()
                .join("\n")
        }
    });
    if broken.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("{} ledger invariant(s) do not hold", broken.len()),
        })
    }
}

async fn refund(services: &Services, charge: &str, json: bool) -> Result<(), Failure> {
    let id = charge
        .parse::<maecenas_domain::ChargeId>()
        .map_err(|_| Failure {
            code: 2,
            message: "--charge must be a charge id".into(),
        })?;
    let refunded = services.refund_charge(id).await?;
    output(json, charge_json(&refunded), || {
        format!(
            "refunded charge {} ({} {})",
            refunded.id, refunded.currency, refunded.amount_minor
        )
    });
    Ok(())
}

async fn payout(
    services: &Services,
    creator: Option<String>,
    all: bool,
    json: bool,
) -> Result<(), Failure> {
    let report = match (creator, all) {
        (Some(email), _) => {
            let user = services.user_by_email(&email).await?;
            let campaign = services.campaign_of_creator(user.id).await?;
            services.pay_out(campaign.id, None).await?
        }
        (None, true) => {
            let period = BillingPeriod::containing(OffsetDateTime::now_utc());
            services.pay_out_all(period).await?
        }
        (None, false) => {
            return Err(Failure {
                code: 2,
                message: "say which payouts: --creator EMAIL or --all".into(),
            });
        }
    };
    output(json, payout_report_json(&report), || {
        let mut lines: Vec<String> = report
            .paid
            .iter()
            .map(|p| {
                format!(
                    "paid {} {} to campaign {} ({})",
                    p.currency,
                    p.amount_minor,
                    p.campaign_id,
                    p.gateway_ref.as_deref().unwrap_or("")
                )
            })
            .collect();
        lines.extend(report.failed.iter().map(|p| {
            format!(
                "FAILED {} {} to campaign {}: {}",
                p.currency,
                p.amount_minor,
                p.campaign_id,
                p.failure_message.as_deref().unwrap_or("")
            )
        }));
        lines.extend(report.pending.iter().map(|p| {
            format!(
                "no answer yet for payout {}: sent again on the next run",
                p.id
            )
        }));
        if lines.is_empty() {
            "nothing to pay out".to_owned()
        } else {
            lines.join("\n")
        }
    });
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("{} payout(s) failed", report.failed.len()),
        })
    }
}

fn payout_report_json(r: &PayoutReport) -> Value {
    json!({
        "paid": r.paid.iter().map(payout_json).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(payout_json).collect::<Vec<_>>(),
        "pending": r.pending.iter().map(payout_json).collect::<Vec<_>>(),
    })
}

fn payout_json(p: &PayoutRow) -> Value {
    json!({
        "id": p.id.to_string(),
        "campaign_id": p.campaign_id.to_string(),
        "period": p.period,
        "currency": p.currency,
        "amount_cents": p.amount_minor,
        "status": p.status,
        "gateway": p.gateway,
        "gateway_ref": p.gateway_ref,
        "failure_message": p.failure_message,
        "created_at": rfc3339(p.created_at),
        "paid_at": p.paid_at.map(rfc3339),
    })
}

fn card_input(number: String, exp_month: u8, exp_year: u16, cvc: String) -> CardInput {
    CardInput {
        number,
        exp_month,
        exp_year,
        cvc,
    }
}

pub async fn pledge(services: &Services, command: PledgeCommand) -> Result<(), Failure> {
    let PledgeCommand::Create {
        patron,
        creator,
        amount_cents,
        tier,
        card,
        exp_month,
        exp_year,
        cvc,
        patron_pays_fees,
        cap_cents,
        country,
        json,
    } = command;
    let patron = services.user_by_email(&patron).await?;
    let creator = services.user_by_email(&creator).await?;
    let campaign = services.campaign_of_creator(creator.id).await?;
    let tier = tier
        .map(|t| t.parse::<TierId>())
        .transpose()
        .map_err(|_| Failure {
            code: 2,
            message: "--tier must be a tier id".into(),
        })?;
    let receipt = services
        .create_pledge(NewPledgeRequest {
            patron: patron.id,
            campaign: campaign.id,
            amount_minor: amount_cents,
            tier,
            card: card.map(|n| card_input(n, exp_month, exp_year, cvc)),
            patron_pays_fees,
            pledge_cap_minor: cap_cents,
            vat_country: country,
            shipping: None,
        })
        .await?;
    let doc = json!({
        "pledge": pledge_json(&receipt.pledge),
        "card": card_json(&receipt.card),
        "charge": receipt.charge.as_ref().map(charge_json),
    });
    output(json, doc, || {
        let charge = match &receipt.charge {
            Some(c) => format!(
                "first charge {} {} {}",
                c.currency, c.amount_minor, c.status
            ),
            None => "charged when the month closes (per creation)".to_owned(),
        };
        format!("created pledge {}; {charge}", receipt.pledge.id)
    });
    Ok(())
}

pub async fn donation(services: &Services, command: DonationCommand) -> Result<(), Failure> {
    let DonationCommand::Create {
        donor,
        creator,
        amount_cents,
        card,
        message,
        json,
    } = command;
    let donor = services.user_by_email(&donor).await?;
    let creator = services.user_by_email(&creator).await?;
    let campaign = services.campaign_of_creator(creator.id).await?;
    let receipt = services
        .donate(NewDonationRequest {
            donor: donor.id,
            campaign: campaign.id,
            amount_minor: amount_cents,
            card: card.map(|n| card_input(n, 12, 2034, "123".into())),
            message,
        })
        .await?;
    output(
        json,
        json!({"donation": donation_json(&receipt.donation), "charge": charge_json(&receipt.charge)}),
        || {
            format!(
                "donation {}: {}",
                receipt.donation.id, receipt.charge.status
            )
        },
    );
    Ok(())
}

pub async fn card(services: &Services, command: CardCommand) -> Result<(), Failure> {
    let CardCommand::Update {
        patron,
        card,
        exp_month,
        exp_year,
        cvc,
        json,
    } = command;
    let patron = services.user_by_email(&patron).await?;
    let report = services
        .update_card(patron.id, card_input(card, exp_month, exp_year, cvc))
        .await?;
    output(json, run_json(&report), || {
        format!(
            "card updated; retried at once: {} charged, {} still failing",
            report.succeeded,
            report.retrying + report.declined
        )
    });
    Ok(())
}

pub fn pledge_json(p: &PledgeRow) -> Value {
    json!({
        "id": p.id.to_string(),
        "patron_id": p.patron_id.to_string(),
        "campaign_id": p.campaign_id.to_string(),
        "tier_id": p.tier_id.map(|t| t.to_string()),
        "amount_cents": p.amount_minor,
        "currency": p.currency,
        "pledge_cap_cents": p.pledge_cap_minor,
        "patron_pays_fees": p.patron_pays_fees,
        "status": p.status,
        "created_at": rfc3339(p.created_at),
    })
}

fn card_json(c: &PaymentMethodRow) -> Value {
    json!({
        "id": c.id.to_string(),
        "gateway": c.gateway,
        "brand": c.brand,
        "last4": c.last4,
        "exp_month": c.exp_month,
        "exp_year": c.exp_year,
    })
}

pub fn charge_json(c: &ChargeRow) -> Value {
    json!({
        "id": c.id.to_string(),
        "kind": c.kind,
        "period": c.period,
        "status": c.status,
        "attempts": c.attempts,
        "currency": c.currency,
        "amount_cents": c.amount_minor,
        "gateway_fee_cents": c.gateway_fee_minor,
        "platform_fee_cents": c.platform_fee_minor,
        "creator_net_cents": c.creator_net_minor,
        "gateway": c.gateway,
        "gateway_ref": c.gateway_ref,
        "failure_code": c.failure_code,
        "failure_message": c.failure_message,
        "next_attempt_at": (c.status == maecenas_domain::ChargeStatus::Retrying).then(|| rfc3339(c.next_attempt_at)),
        "created_at": rfc3339(c.created_at),
        "succeeded_at": c.succeeded_at.map(rfc3339),
    })
}

fn donation_json(d: &DonationRow) -> Value {
    json!({
        "id": d.id.to_string(),
        "amount_cents": d.amount_minor,
        "currency": d.currency,
        "status": d.status,
        "message": d.message,
        "active_until": d.active_until.map(rfc3339),
    })
}
