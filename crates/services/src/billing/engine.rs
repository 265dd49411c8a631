//! The billing run: plan what is due, attempt it through the gateway, record
//! the outcome and post the ledger. Streams in batches (keyset over pledge
//! ids), so memory does not grow with the number of pledges.

use std::collections::BTreeMap;

use maecenas_domain::billing::{MAX_ATTEMPTS, next_retry_at, per_creation_due};
use maecenas_domain::{BillingPeriod, ChargeId, DonationStatus, PledgeId, Trigger};
use maecenas_store::charges::{ChargeRow, ClaimedCharge, DuePledge, NewCharge};
use maecenas_store::ledger::LedgerLine;
use maecenas_store::{Backend, OffsetDateTime, Tx};
use maecenas_store::{cards, charges, donations, ledger, pledges};
use time::Duration;

use super::gateway::{ChargeOutcome, ChargeRequest, Lookup};
use crate::webhooks::PendingEvent;
use crate::{ServiceError, Services, faults, secrets};

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// The period monthly pledges were charged for.
    pub period: Option<BillingPeriod>,
    /// The closed period per-creation pledges were charged for.
    pub per_creation_period: Option<BillingPeriod>,
    /// Charges created by this run.
    pub planned: u64,
    pub succeeded: u64,
    /// Failed, another attempt is scheduled.
    pub retrying: u64,
    /// Failed for good: the pledge is declined.
    pub declined: u64,
    /// No answer from the gateway: the next run looks them up.
    pub unknown: u64,
    /// Left pending by a run that stopped, found already made at the gateway.
    pub recovered: u64,
    /// Cancelled pledges whose paid period is over.
    pub ended: u64,
    /// Pledges still owing a charge for the period when the run ended: held
    /// by another run (which may have stalled), or left for any other reason.
    /// Anything but zero means the run did not finish its job.
    pub unbilled: u64,
    /// Gross collected per currency.
    pub collected: BTreeMap<String, i64>,
}

/// Told how a run goes, after each batch (the CLI's progress bar).
/// A trait rather than `dyn Fn(&RunReport)`: a higher-ranked closure type
/// held across awaits would make the run's future not `Send`.
pub trait Progress: Send + Sync {
    fn report(&self, report: &RunReport);
}

/// For runs nobody watches.
pub struct Quiet;

impl Progress for Quiet {
    fn report(&self, _: &RunReport) {}
}

/// What became of one attempt.
enum Settled {
    Succeeded {
        payment_ref: String,
        recovered: bool,
    },
    Declined {
        code: String,
        message: String,
    },
    Unknown {
        message: String,
    },
}

/// How many times a run counts what is left before reporting it.
const UNBILLED_RECHECKS: u32 = 3;

pub(crate) fn charge_reference(id: ChargeId) -> String {
    format!("charge:{id}")
}

fn idempotency_key(charge: &ChargeRow) -> String {
    format!("maecenas-charge-{}-{}", charge.id, charge.attempts)
}

impl Services {
    /// Charges what is due: monthly pledges for `period` (default: this
    /// month), per-creation pledges for the last closed month, retries that
    /// are due, and charges other runs left pending. Safe to run at any time,
    /// from several processes at once, and again after a crash.
    pub async fn run_billing(
        &self,
        period: Option<BillingPeriod>,
        progress: &dyn Progress,
    ) -> Result<RunReport, ServiceError> {
        let now = self.clock.now();
        let current = BillingPeriod::containing(now);
        let period = period.unwrap_or(current);
        if period > current {
            return Err(ServiceError::invalid(
                "period",
                format!("{period} has not started yet (this is {current})"),
            ));
        }
        let per_creation_period = if period.end() <= now {
            period
        } else {
            period.previous()
        };
        let run = format!("run-{}", secrets::random_hex(16));
        let mut report = RunReport {
            period: Some(period),
            per_creation_period: Some(per_creation_period),
            ..RunReport::default()
        };
        {
            let mut tx = self.store.write().await?;
            report.ended = pledges::end_cancelled_pledges(&mut tx, current.start()).await?;
            tx.commit().await?;
        }
        self.plan_and_charge(false, period, &run, &mut report, progress)
            .await?;
        self.plan_and_charge(true, per_creation_period, &run, &mut report, progress)
            .await?;
        self.attempt_due(&run, None, &mut report, progress).await?;
        // Pledges another run holds are skipped (PostgreSQL). A healthy run
        // commits its plan within a batch's time, so look again a few times
        // before saying that some are left: what stays held belongs to a run
        // that stalled, whose session PostgreSQL ends after
        // `idle_in_transaction_session_timeout`.
        for recheck in 1..=UNBILLED_RECHECKS {
            report.unbilled = self.unbilled(false, period).await?
                + self.unbilled(true, per_creation_period).await?;
            if report.unbilled == 0 || recheck == UNBILLED_RECHECKS {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            self.plan_and_charge(false, period, &run, &mut report, progress)
                .await?;
            self.plan_and_charge(true, per_creation_period, &run, &mut report, progress)
                .await?;
            self.attempt_due(&run, None, &mut report, progress).await?;
        }
        if report.unbilled > 0 {
            tracing::warn!(
                unbilled = report.unbilled,
                "billing run ended with due pledges still unbilled (held by another run, or left for a later one)"
            );
        }
        Ok(report)
    }

    /// How many pledges still owe a charge for `period`, whoever holds them.
    async fn unbilled(
        &self,
        per_creation: bool,
        period: BillingPeriod,
    ) -> Result<u64, ServiceError> {
        const PAGE: i64 = 10_000;
        let label = period.to_string();
        let mut after = None;
        let mut left = 0;
        loop {
            let mut tx = self.store.read().await?;
            let due = charges::due_pledges_unlocked(
                &mut tx,
                per_creation,
                &label,
                period.start(),
                period.end(),
                after,
                PAGE,
            )
            .await?;
            drop(tx);
            let Some(last) = due.last() else {
                return Ok(left);
            };
            after = Some(last.id);
            left += due
                .iter()
                .filter(|p| {
                    !per_creation
                        || per_creation_due(p.amount_minor, p.paid_creations, p.pledge_cap_minor)
                            > 0
                })
                .count() as u64;
        }
    }

    /// Creates the period's charges batch by batch and makes each batch's
    /// first attempts right away.
    async fn plan_and_charge(
        &self,
        per_creation: bool,
        period: BillingPeriod,
        run: &str,
        report: &mut RunReport,
        progress: &dyn Progress,
    ) -> Result<(), ServiceError> {
        let label = period.to_string();
        let settings = &self.billing.settings;
        // On PostgreSQL a pass skips pledges other processes hold; a second
        // pass picks up any whose holder stopped before charging them.
        let passes = if self.store.backend() == Backend::Postgres {
            2
        } else {
            1
        };
        for _ in 0..passes {
            let mut after: Option<PledgeId> = None;
            loop {
                let now = self.clock.now();
                let mut tx = self.store.write().await?;
                let due = charges::due_pledges(
                    &mut tx,
                    per_creation,
                    &label,
                    period.start(),
                    period.end(),
                    after,
                    settings.batch_size as i64,
                )
                .await?;
                let Some(last) = due.last() else {
                    tx.rollback().await?;
                    break;
                };
                // The batch's pledges are locked (PostgreSQL) until the commit below.
                faults::point("billing.planning");
                after = Some(last.id);
                let charges = self.new_charges(&due, per_creation, &label, run, now);
                let inserted = charges::insert_charges(&mut tx, &charges).await?;
                // Only the charges this run inserted are its to attempt (another
                // process may have charged a pledge of this batch meanwhile).
                let inserted_ids: std::collections::HashSet<ChargeId> =
                    inserted.iter().copied().collect();
                let claimed: Vec<ClaimedCharge> = charges
                    .iter()
                    .zip(&due_refs(&due, &charges))
                    .filter(|(c, _)| inserted_ids.contains(&c.id))
                    .map(|(c, card)| c.claimed(card.clone()))
                    .collect();
                tx.commit().await?;
                faults::point("billing.after_plan");
                report.planned += inserted.len() as u64;
                self.attempt(claimed, report).await?;
                progress.report(report);
            }
        }
        Ok(())
    }

    /// The charges owed by `due` pledges (none for a per-creation month without paid creations).
    fn new_charges(
        &self,
        due: &[DuePledge],
        per_creation: bool,
        label: &str,
        run: &str,
        now: OffsetDateTime,
    ) -> Vec<NewCharge> {
        let settings = &self.billing.settings;
        let mut charges = Vec::with_capacity(due.len());
        for p in due {
            let amount = if per_creation {
                per_creation_due(p.amount_minor, p.paid_creations, p.pledge_cap_minor)
            } else {
                p.amount_minor
            };
            if amount <= 0 {
                continue;
            }
            let fees = settings.fees.charge_for(amount, p.patron_pays_fees);
            charges.push(NewCharge {
                id: self.ids.next(),
                kind: "pledge",
                pledge_id: Some(p.id),
                donation_id: None,
                period: Some(label.to_owned()),
                patron_id: p.patron_id,
                campaign_id: p.campaign_id,
                payment_method_id: p.payment_method_id,
                currency: p.currency.clone(),
                amount_minor: fees.gross_minor,
                gateway_fee_minor: fees.gateway_fee_minor,
                platform_fee_minor: fees.platform_fee_minor,
                creator_net_minor: fees.creator_net_minor,
                gateway: self.billing.gateway_name().to_owned(),
                claimed_by: run.to_owned(),
                claimed_until: now + settings.lease,
                created_at: now,
            });
        }
        charges
    }

    /// Takes over due charges (retries, charges reopened by a new card,
    /// charges a stopped run left pending) and attempts them.
    pub(crate) async fn attempt_due(
        &self,
        run: &str,
        patron: Option<maecenas_domain::UserId>,
        report: &mut RunReport,
        progress: &dyn Progress,
    ) -> Result<(), ServiceError> {
        loop {
            let now = self.clock.now();
            let mut tx = self.store.write().await?;
            let claimed = charges::claim_due_charges(
                &mut tx,
                now,
                run,
                now + self.billing.settings.lease,
                patron,
                self.billing.settings.batch_size as i64,
            )
            .await?;
            tx.commit().await?;
            if claimed.is_empty() {
                return Ok(());
            }
            self.attempt(claimed, report).await?;
            progress.report(report);
        }
    }

    /// One round: look up what may already be done, send the rest in one
    /// gateway call, record every outcome in one transaction.
    pub(crate) async fn attempt(
        &self,
        claimed: Vec<ClaimedCharge>,
        report: &mut RunReport,
    ) -> Result<(), ServiceError> {
        if claimed.is_empty() {
            return Ok(());
        }
        // The claim is kept alive for as long as the gateway round takes, so
        // another run cannot take the batch over (and settle it twice).
        let settled = {
            let work = self.gateway_round(claimed.clone());
            tokio::pin!(work);
            let renewing = self.keep_leases(&claimed);
            tokio::pin!(renewing);
            tokio::select! {
                settled = &mut work => settled,
                () = &mut renewing => work.await,
            }
        };
        self.settle(settled, report).await?;
        faults::point("billing.after_settle");
        Ok(())
    }

    /// Renews the leases of `claimed` every third of a lease, until dropped.
    async fn keep_leases(&self, claimed: &[ClaimedCharge]) {
        let lease = self.billing.settings.lease;
        let mut by_run: BTreeMap<String, Vec<ChargeId>> = BTreeMap::new();
        for c in claimed {
            if let Some(run) = &c.charge.claimed_by {
                by_run.entry(run.clone()).or_default().push(c.charge.id);
            }
        }
        let every = (lease / 3).max(std::time::Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            let until = self.clock.now() + lease;
            let renewed = async {
                let mut tx = self.store.write().await?;
                for (run, ids) in &by_run {
                    charges::renew_leases(&mut tx, run, ids, until).await?;
                }
                tx.commit().await?;
                Ok::<_, ServiceError>(())
            };
            if let Err(e) = renewed.await {
                tracing::warn!(error = %e, "renewing billing leases failed; trying again");
            }
        }
    }

    /// Looks up what may already be done (several at a time), sends the
    /// rest in one gateway call; what became of each charge.
    async fn gateway_round(&self, claimed: Vec<ClaimedCharge>) -> Vec<(ChargeRow, Settled)> {
        use futures_util::StreamExt;
        const LOOKUPS_AT_ONCE: usize = 8;
        let gateway = &self.billing.gateway;
        let mut settled: Vec<(ChargeRow, Settled)> = Vec::with_capacity(claimed.len());
        let mut to_send: Vec<(ChargeRow, ChargeRequest)> = Vec::new();
        let looked_up: Vec<(ClaimedCharge, Option<_>)> = futures_util::stream::iter(claimed)
            .map(|c| async move {
                let found = if c.resumed {
                    Some(gateway.lookup(&charge_reference(c.charge.id)).await)
                } else {
                    None
                };
                (c, found)
            })
            .buffered(LOOKUPS_AT_ONCE)
            .collect()
            .await;
        for (
            ClaimedCharge {
                charge,
                payment_method_ref,
                ..
            },
            found,
        ) in looked_up
        {
            let key = idempotency_key(&charge);
            if let Some(found) = found {
                match found {
                    Ok(Lookup::Succeeded { payment_ref }) => {
                        settled.push((
                            charge,
                            Settled::Succeeded {
                                payment_ref,
                                recovered: true,
                            },
                        ));
                        continue;
                    }
                    Ok(Lookup::Failed {
                        keys,
                        code,
                        message,
                    }) if keys.contains(&key) => {
                        settled.push((charge, Settled::Declined { code, message }));
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        settled.push((
                            charge,
                            Settled::Unknown {
                                message: e.to_string(),
                            },
                        ));
                        continue;
                    }
                }
            }
            match payment_method_ref {
                None => settled.push((
                    charge,
                    Settled::Declined {
                        code: "no_payment_method".into(),
                        message: "There is no card on file.".into(),
                    },
                )),
                Some(payment_method_ref) => {
                    let request = ChargeRequest {
                        idempotency_key: key,
                        reference: charge_reference(charge.id),
                        payment_method_ref,
                        amount_minor: charge.amount_minor,
                        currency: charge.currency.clone(),
                    };
                    to_send.push((charge, request));
                }
            }
        }
        if !to_send.is_empty() {
            let requests: Vec<ChargeRequest> = to_send.iter().map(|(_, r)| r.clone()).collect();
            let gateway = &self.billing.gateway;
            let outcomes = gateway
                .charge_many(&requests, self.billing.settings.gateway_timeout)
                .await;
            faults::point("billing.after_gateway");
            for ((charge, _), outcome) in to_send.into_iter().zip(outcomes) {
                let outcome = match outcome {
                    ChargeOutcome::Succeeded { payment_ref } => Settled::Succeeded {
                        payment_ref,
                        recovered: false,
                    },
                    ChargeOutcome::Declined { code, message } => {
                        Settled::Declined { code, message }
                    }
                    ChargeOutcome::Unknown { message } => Settled::Unknown { message },
                };
                settled.push((charge, outcome));
            }
        }
        settled
    }

    /// Records what became of each charge, in one transaction. Only a
    /// charge still pending and claimed by the run that attempted it is
    /// settled: one another run took over (after its lease ran out) or
    /// settled already is skipped, so settling twice is harmless.
    async fn settle(
        &self,
        settled: Vec<(ChargeRow, Settled)>,
        report: &mut RunReport,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        // Successes first, in one statement per run: which of them are still ours.
        let mut by_run: BTreeMap<&str, Vec<(ChargeId, String)>> = BTreeMap::new();
        for (charge, outcome) in &settled {
            if let Settled::Succeeded { payment_ref, .. } = outcome {
                by_run
                    .entry(run_of(charge))
                    .or_default()
                    .push((charge.id, payment_ref.clone()));
            }
        }
        let mut recorded = std::collections::HashSet::new();
        for (run, succeeded) in &by_run {
            recorded.extend(charges::record_successes(&mut tx, run, succeeded, now).await?);
        }
        let mut lines = Vec::new();
        let mut tally = RunReport::default();
        let mut events = Vec::new();
        let mut skipped = 0u64;
        for (charge, outcome) in &settled {
            let pledge_event = |triggers: &[Trigger], with_charge: bool| {
                charge.pledge_id.map(|pledge| PendingEvent {
                    pledge: PledgeId::from(pledge),
                    campaign: charge.campaign_id,
                    triggers: triggers.to_vec(),
                    charge: with_charge.then_some(charge.id),
                })
            };
            match outcome {
                Settled::Succeeded { recovered, .. } => {
                    if !recorded.contains(&charge.id) {
                        skipped += 1;
                        continue;
                    }
                    lines.extend(charge_posting(charge, now));
                    if let Some(donation) = charge.donation_id {
                        donations::set_donation_outcome(
                            &mut tx,
                            donation,
                            DonationStatus::Succeeded,
                            Some(now + Duration::days(30)),
                        )
                        .await?;
                    }
                    events.extend(pledge_event(&[Trigger::ChargesSucceeded], true));
                    if let Some(pledge) = charge.pledge_id
                        && charge.attempts > 1
                        && pledges::reactivate_pledge(&mut tx, PledgeId::from(pledge), now).await?
                    {
                        events.extend(pledge_event(&Trigger::ON_PLEDGE_UPDATED, false));
                    }
                    tally.succeeded += 1;
                    tally.recovered += u64::from(*recovered);
                    *tally.collected.entry(charge.currency.clone()).or_default() +=
                        charge.amount_minor;
                }
                Settled::Declined { code, message } => {
                    let first_failure = charge.first_failed_at.unwrap_or(now);
                    let retry_at = match charge.pledge_id {
                        Some(_) if (charge.attempts as u32) < MAX_ATTEMPTS => {
                            next_retry_at(first_failure, charge.attempts as u32)
                        }
                        _ => None,
                    };
                    let declined = charges::Declined {
                        code,
                        message,
                        first_failed_at: first_failure,
                        retry_at,
                    };
                    if !charges::record_failure(&mut tx, run_of(charge), charge.id, declined, now)
                        .await?
                    {
                        skipped += 1;
                        continue;
                    }
                    events.extend(pledge_event(&[Trigger::ChargesFailed], true));
                    if retry_at.is_some() {
                        tally.retrying += 1;
                    } else {
                        tally.declined += 1;
                        if let Some(pledge) = charge.pledge_id
                            && pledges::decline_pledge(&mut tx, PledgeId::from(pledge), now).await?
                        {
                            events.extend(pledge_event(&Trigger::ON_PLEDGE_UPDATED, false));
                        }
                        if let Some(donation) = charge.donation_id {
                            donations::set_donation_outcome(
                                &mut tx,
                                donation,
                                DonationStatus::Failed,
                                None,
                            )
                            .await?;
                        }
                    }
                    if let Some(card) = charge.payment_method_id {
                        cards::mark_card_failed(&mut tx, card).await?;
                    }
                }
                Settled::Unknown { message } => {
                    tracing::warn!(charge = %charge.id, %message, "charge outcome unknown: the next run looks it up");
                    charges::release_unknown(&mut tx, run_of(charge), charge.id, message, now)
                        .await?;
                    tally.unknown += 1;
                }
            }
        }
        if skipped > 0 {
            tracing::info!(
                skipped,
                "charges settled by another run (it took them over) were left as it recorded them"
            );
        }
        ledger::insert_ledger_lines(&mut tx, &lines).await?;
        let deliveries = self.write_events(&mut tx, &events, now).await?;
        commit(tx).await?;
        self.webhooks_written(deliveries);
        report.succeeded += tally.succeeded;
        report.recovered += tally.recovered;
        report.retrying += tally.retrying;
        report.declined += tally.declined;
        report.unknown += tally.unknown;
        for (currency, amount) in tally.collected {
            *report.collected.entry(currency).or_default() += amount;
        }
        Ok(())
    }
}

/// The run holding a claimed charge.
fn run_of(charge: &ChargeRow) -> &str {
    charge.claimed_by.as_deref().unwrap_or_default()
}

/// The card reference of each planned charge's pledge.
fn due_refs(due: &[DuePledge], charges: &[NewCharge]) -> Vec<Option<String>> {
    let by_pledge: std::collections::HashMap<PledgeId, &Option<String>> =
        due.iter().map(|p| (p.id, &p.payment_method_ref)).collect();
    charges
        .iter()
        .map(|c| {
            c.pledge_id
                .and_then(|id| by_pledge.get(&id).and_then(|r| (*r).clone()))
        })
        .collect()
}

async fn commit(tx: Tx) -> Result<(), ServiceError> {
    tx.commit().await.map_err(ServiceError::from)
}

/// A charge's posting: the gross reaches the gateway, which keeps its fee;
/// the platform's fee and the creator's share are owed from it. Sums to zero.
fn charge_posting(charge: &ChargeRow, now: OffsetDateTime) -> Vec<LedgerLine> {
    let line = |account: &'static str, campaign, name: &'static str, amount: i64| LedgerLine {
        journal_id: charge.id.get(),
        account,
        campaign_id: campaign,
        line: name,
        amount_minor: amount,
        currency: charge.currency.clone(),
        charge_id: Some(charge.id),
        payout_id: None,
        created_at: now,
    };
    [
        line("gateway_cash", None, "charge", charge.amount_minor),
        line(
            "gateway_cash",
            None,
            "gateway_fee",
            -charge.gateway_fee_minor,
        ),
        line(
            "platform_revenue",
            None,
            "platform_fee",
            -charge.platform_fee_minor,
        ),
        line(
            "creator_payable",
            Some(charge.campaign_id),
            "creator_share",
            -charge.creator_net_minor,
        ),
    ]
    .into_iter()
    .filter(|l| l.amount_minor != 0 || l.line == "charge")
    .collect()
}
