//! Paying creators: a creator's balance (what `creator_payable` holds for
//! the campaign) leaves through the gateway, and the ledger records it.

use maecenas_domain::{BillingPeriod, CampaignId, PayoutStatus};
use maecenas_store::ledger::LedgerLine;
use maecenas_store::payouts::PayoutRow;
use maecenas_store::{ledger, payouts};

use super::gateway::{GatewayError, PayoutRequest};
use crate::{ServiceError, Services};

/// What a payout round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayoutReport {
    pub paid: Vec<PayoutRow>,
    pub failed: Vec<PayoutRow>,
    /// Sent, no answer yet: finished by the next round with the same key.
    pub pending: Vec<PayoutRow>,
}

impl Services {
    /// Pays out a campaign's balance now (`period`: the scheduled payout of
    /// that month, made at most once).
    pub async fn pay_out(
        &self,
        campaign: CampaignId,
        period: Option<BillingPeriod>,
    ) -> Result<PayoutReport, ServiceError> {
        let mut report = PayoutReport::default();
        self.finish_pending_payouts(&mut report).await?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let pending = payouts::payouts_of_campaign(&mut tx, campaign, 50)
            .await?
            .into_iter()
            .any(|p| p.status == PayoutStatus::Pending);
        if pending {
            // Its answer is outstanding; paying again now could pay twice.
            tx.rollback().await?;
            return Ok(report);
        }
        let mut planned = Vec::new();
        for balance in ledger::creator_balance(&mut tx, campaign).await? {
            if balance.amount_minor <= 0 {
                continue;
            }
            let payout = PayoutRow {
                id: self.ids.next(),
                campaign_id: campaign,
                period: period.map(|p| p.to_string()),
                currency: balance.currency,
                amount_minor: balance.amount_minor,
                status: PayoutStatus::Pending,
                gateway: self.billing.gateway_name().to_owned(),
                gateway_ref: None,
                failure_message: None,
                created_at: now,
                paid_at: None,
            };
            if payouts::insert_payout(&mut tx, &payout).await? {
                planned.push(payout);
            }
        }
        tx.commit().await?;
        for payout in planned {
            self.send_payout(payout, &mut report).await?;
        }
        Ok(report)
    }

    /// The monthly schedule: every campaign with a balance, once per `period`.
    pub async fn pay_out_all(&self, period: BillingPeriod) -> Result<PayoutReport, ServiceError> {
        let campaigns = {
            let mut tx = self.store.read().await?;
            ledger::campaigns_with_balance(&mut tx).await?
        };
        let mut report = PayoutReport::default();
        for campaign in campaigns {
            let one = self.pay_out(campaign, Some(period)).await?;
            report.paid.extend(one.paid);
            report.failed.extend(one.failed);
            report.pending.extend(one.pending);
        }
        Ok(report)
    }

    /// Payouts recorded but never answered (a crash, a timeout): sent again
    /// under the same idempotency key.
    async fn finish_pending_payouts(&self, report: &mut PayoutReport) -> Result<(), ServiceError> {
        let stale_before = self.clock.now() - self.billing.settings.lease;
        let pending = {
            let mut tx = self.store.read().await?;
            payouts::pending_payouts(&mut tx, stale_before).await?
        };
        for payout in pending {
            self.send_payout(payout, report).await?;
        }
        Ok(())
    }

    async fn send_payout(
        &self,
        mut payout: PayoutRow,
        report: &mut PayoutReport,
    ) -> Result<(), ServiceError> {
        let request = PayoutRequest {
            idempotency_key: format!("maecenas-payout-{}", payout.id),
            reference: format!("payout:{}", payout.id),
            amount_minor: payout.amount_minor,
            currency: payout.currency.clone(),
        };
        let answer = self.billing.gateway.payout(&request).await;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        match answer {
            Ok(reference) => {
                payouts::finish_payout(&mut tx, payout.id, Ok(&reference), now).await?;
                ledger::insert_ledger_lines(&mut tx, &payout_posting(&payout, now)).await?;
                self.mail_payout_in(&mut tx, &payout).await?;
                payout.status = PayoutStatus::Paid;
                payout.gateway_ref = Some(reference);
                payout.paid_at = Some(now);
                report.paid.push(payout);
            }
            Err(GatewayError::Unavailable(message)) => {
                tracing::warn!(payout = %payout.id, %message, "payout outcome unknown: sent again later");
                report.pending.push(payout);
            }
            Err(e) => {
                let message = e.to_string();
                payouts::finish_payout(&mut tx, payout.id, Err(&message), now).await?;
                payout.status = PayoutStatus::Failed;
                payout.failure_message = Some(message);
                report.failed.push(payout);
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The creator is owed less and the money leaves the gateway. Sums to zero.
fn payout_posting(payout: &PayoutRow, now: maecenas_store::OffsetDateTime) -> Vec<LedgerLine> {
    let line = |account: &'static str, campaign, amount: i64| LedgerLine {
        journal_id: payout.id.get(),
        account,
        campaign_id: campaign,
        line: "payout",
        amount_minor: amount,
        currency: payout.currency.clone(),
        charge_id: None,
        payout_id: Some(payout.id),
        created_at: now,
    };
    vec![
        line(
            "creator_payable",
            Some(payout.campaign_id),
            payout.amount_minor,
        ),
        line("gateway_cash", None, -payout.amount_minor),
    ]
}
