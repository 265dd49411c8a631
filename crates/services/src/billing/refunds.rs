//! Refunds: a succeeded charge's money goes back to the patron. The creator
//! gives back exactly the share the charge earned them; the platform gives
//! back its fee and bears the gateway's fee, which the gateway keeps (as
//! Stripe does). The posting sums to zero like every other.

use maecenas_domain::{ChargeId, DonationStatus, PledgeId};
use maecenas_store::charges::ChargeRow;
use maecenas_store::ledger::LedgerLine;
use maecenas_store::{charges, donations, ledger};

use super::engine::charge_reference;
use super::gateway::{GatewayError, RefundRequest};
use crate::{ServiceError, Services};

impl Services {
    /// Refunds a charge in full. Refused when it did not succeed, or when the
    /// creator's balance (after payouts) no longer covers it. Running it again
    /// after a crash sends the same idempotency key.
    pub async fn refund_charge(&self, id: ChargeId) -> Result<ChargeRow, ServiceError> {
        let charge = {
            let mut tx = self.store.read().await?;
            charges::charge_by_id(&mut tx, id)
                .await?
                .ok_or(ServiceError::NotFound("charge"))?
        };
        if charge.status != maecenas_domain::ChargeStatus::Succeeded {
            return Err(ServiceError::invalid(
                "charge",
                format!(
                    "only a succeeded charge can be refunded (this one is {})",
                    charge.status
                ),
            ));
        }
        let owed_back = charge.creator_net_minor;
        let balance: i64 = {
            let mut tx = self.store.read().await?;
            ledger::creator_balance(&mut tx, charge.campaign_id)
                .await?
                .into_iter()
                .filter(|b| b.currency == charge.currency)
                .map(|b| b.amount_minor)
                .sum()
        };
        if balance < owed_back {
            return Err(ServiceError::invalid(
                "charge",
                format!(
                    "the creator's balance ({balance}) no longer covers this refund ({owed_back})"
                ),
            ));
        }
        let payment_ref = charge
            .gateway_ref
            .clone()
            .ok_or_else(|| anyhow::anyhow!("a succeeded charge without a gateway reference"))?;
        let request = RefundRequest {
            idempotency_key: format!("maecenas-refund-{}", charge.id),
            reference: charge_reference(charge.id),
            payment_ref,
            amount_minor: charge.amount_minor,
            currency: charge.currency.clone(),
        };
        let refund_ref = self
            .billing
            .gateway
            .refund(&request)
            .await
            .map_err(|e| match e {
                GatewayError::Unavailable(m) => {
                    ServiceError::Internal(anyhow::anyhow!("payment gateway unavailable: {m}"))
                }
                other => ServiceError::invalid("charge", other.to_string()),
            })?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if !charges::mark_refunded(&mut tx, charge.id, now).await? {
            return Err(ServiceError::Conflict("this charge was refunded meanwhile"));
        }
        let journal: i64 = self.ids.next_raw();
        let line = |account: &'static str, campaign, name: &'static str, amount: i64| LedgerLine {
            journal_id: journal,
            account,
            campaign_id: campaign,
            line: name,
            amount_minor: amount,
            currency: charge.currency.clone(),
            charge_id: Some(charge.id),
            payout_id: None,
            created_at: now,
        };
        let lines: Vec<LedgerLine> = [
            line("gateway_cash", None, "refund", -charge.amount_minor),
            line(
                "platform_revenue",
                None,
                "refund_platform_fee",
                charge.platform_fee_minor + charge.gateway_fee_minor,
            ),
            line(
                "creator_payable",
                Some(charge.campaign_id),
                "refund_creator_share",
                owed_back,
            ),
        ]
        .into_iter()
        .filter(|l| l.amount_minor != 0 || l.line == "refund")
        .collect();
        ledger::insert_ledger_lines(&mut tx, &lines).await?;
        if let Some(donation) = charge.donation_id {
            donations::set_donation_outcome(&mut tx, donation, DonationStatus::Refunded, None)
                .await?;
        }
        let refunded = charges::charge_by_id(&mut tx, charge.id)
            .await?
            .ok_or(ServiceError::NotFound("charge"))?;
        tx.commit().await?;
        tracing::info!(charge = %charge.id, refund = %refund_ref, pledge = ?charge.pledge_id.map(PledgeId::from), "charge refunded");
        Ok(refunded)
    }
}
