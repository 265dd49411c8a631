//! The delivery worker `serve` runs: claim due deliveries, send each signed
//! with a timeout, record the attempts in batches.
//!
//! Three parts, so that no slow thing holds up another: the dispatcher claims
//! as many deliveries as there are free slots, a few rounds' worth per
//! webhook at most, none for a webhook whose lanes are all busy; each webhook
//! has up to `per_webhook` lanes, tasks that send one delivery after another
//! from its queue (a slow receiver holds at most that many slots, a fast one
//! needs no claim per request); the recorder writes finished attempts in one
//! transaction per batch (group commit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use maecenas_domain::webhooks::{TargetError, retry_delay};
use maecenas_domain::{DeliveryId, Scope, WebhookId};
use maecenas_store::webhooks::{self as store, AttemptOutcome, ClaimedDelivery, NextStep};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore, mpsc, watch};

use super::signing::sign;
use crate::{ServiceError, Services, secrets};

/// The most answer bytes kept in the delivery log.
const RESPONSE_START_BYTES: usize = 512;
/// The most deliveries claimed in one transaction.
const CLAIM_BATCH: usize = 500;
/// How many times a batch of finished attempts is written before it is given up.
const RECORD_TRIES: u32 = 5;
/// The most attempts recorded in one transaction.
const RECORD_BATCH: usize = 256;
/// Batches written at once on PostgreSQL.
const RECORDERS_AT_ONCE: usize = 2;
/// How many rounds of a webhook's lanes one claim may take (see the lease).
const QUEUED_ROUNDS: usize = 4;

/// One webhook's attempts in this process: at most `per_webhook` run at
/// once, each lane taking the next queued delivery when its attempt ends.
#[derive(Default)]
struct Lane {
    running: usize,
    queued: std::collections::VecDeque<ClaimedDelivery>,
}

/// What a worker did before it stopped (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub attempts: u64,
}

/// Kills the recorder task if the worker's future is dropped (aborted).
struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Services {
    /// Delivers webhooks until `stop` turns true, then lets attempts in
    /// flight finish (up to the timeout) and records them.
    pub async fn run_webhook_worker(&self, mut stop: watch::Receiver<bool>) -> DeliveryReport {
        let worker = format!("webhooks-{}", secrets::random_hex(12));
        let settings = self.webhooks.settings.clone();
        let all_slots = settings.concurrency.max(1);
        let per_webhook = settings.per_webhook.clamp(1, all_slots);
        let slots = Arc::new(Semaphore::new(all_slots));
        let lanes: Arc<Mutex<HashMap<WebhookId, Lane>>> = Arc::default();
        let finished = Arc::new(Notify::new());
        let (done_tx, done_rx) = mpsc::unbounded_channel::<AttemptOutcome>();
        let recorder = tokio::spawn(record_loop(self.clone(), worker.clone(), done_rx));
        let mut recorder = AbortOnDrop(recorder);
        let heartbeat = AbortOnDrop(tokio::spawn(renew_loop(self.clone(), worker.clone())));
        let mut report = DeliveryReport::default();
        // Claim in batches of at least half the slots while attempts are in
        // flight: one claim per finished attempt would make the claiming
        // transaction, not the sending, the bottleneck.
        let low_water = (all_slots / 2).max(1);
        tracing::info!(%worker, "webhook delivery worker started");
        while !*stop.borrow() {
            let free = slots.available_permits();
            if free == 0 || (free < low_water && free < all_slots) {
                tokio::select! {
                    () = finished.notified() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            // Webhooks with all their lanes busy and work queued are not claimed for.
            let busy: Vec<WebhookId> = lanes
                .lock()
                .expect("lanes")
                .iter()
                .filter(|(_, lane)| lane.running >= per_webhook)
                .map(|(w, _)| *w)
                .collect();
            let limit = free.min(CLAIM_BATCH);
            // Up to a few rounds per webhook: the extra wait in its lane (one
            // attempt's time per round) stays far inside the lease.
            let claimed = match self
                .claim_deliveries(&worker, &busy, limit, per_webhook * QUEUED_ROUNDS)
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(error = %e, "claiming webhook deliveries failed");
                    tokio::select! {
                        () = tokio::time::sleep(settings.poll) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            let got = claimed.len();
            tracing::debug!(free, busy = busy.len(), got, "claimed webhook deliveries");
            report.attempts += got as u64;
            for delivery in claimed {
                let webhook = delivery.webhook_id;
                {
                    let mut lanes = lanes.lock().expect("lanes");
                    let lane = lanes.entry(webhook).or_default();
                    if lane.running >= per_webhook {
                        // Started by the next of its lanes to finish.
                        lane.queued.push_back(delivery);
                        continue;
                    }
                    lane.running += 1;
                }
                // A lane holds a slot while it runs; claims never exceed free slots
                // plus what is queued in lanes, so a slot is there.
                let permit = slots.clone().acquire_owned().await;
                let services = self.clone();
                let done = done_tx.clone();
                let lanes = lanes.clone();
                let finished = finished.clone();
                let worker = worker.clone();
                tokio::spawn(async move {
                    let mut next = Some(delivery);
                    while let Some(delivery) = next {
                        if let Some(outcome) = services.attempt_if_allowed(&worker, delivery).await
                        {
                            let _ = done.send(outcome);
                        }
                        let mut lanes = lanes.lock().expect("lanes");
                        let lane = lanes.entry(webhook).or_default();
                        next = lane.queued.pop_front();
                        if next.is_none() {
                            lane.running = lane.running.saturating_sub(1);
                            if lane.running == 0 {
                                lanes.remove(&webhook);
                            }
                        }
                    }
                    drop(permit);
                    finished.notify_one();
                });
            }
            if got < limit {
                // Nothing more is due now, or only for webhooks whose lanes
                // are full: wait for new events, a lane that ends (its webhook
                // has room again; one that ended meanwhile left a permit) or the poll.
                tokio::select! {
                    () = self.webhooks.wake.notified() => {}
                    () = finished.notified() => {}
                    () = tokio::time::sleep(settings.poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        // Stopping: no new claims, and what waits in lanes is handed back
        // unsent for another process to send at once; attempts in flight
        // finish (each has a timeout) and every one of them is recorded, so
        // a graceful stop sends nothing twice.
        let unstarted: Vec<DeliveryId> = lanes
            .lock()
            .expect("lanes")
            .values_mut()
            .flat_map(|lane| lane.queued.drain(..))
            .map(|d| d.id)
            .collect();
        if !unstarted.is_empty()
            && let Err(e) = self.release(&worker, &unstarted).await
        {
            tracing::warn!(error = %e, deliveries = unstarted.len(), "handing back unstarted deliveries failed; their lease will run out");
        }
        let all = u32::try_from(all_slots).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(
            settings.timeout + std::time::Duration::from_secs(1),
            slots.acquire_many(all),
        )
        .await;
        drop(done_tx);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), &mut recorder.0).await;
        drop(heartbeat);
        tracing::info!(%worker, attempts = report.attempts, "webhook delivery worker stopped");
        report
    }

    async fn claim_deliveries(
        &self,
        worker: &str,
        busy: &[WebhookId],
        limit: usize,
        per_webhook: usize,
    ) -> Result<Vec<ClaimedDelivery>, ServiceError> {
        let now = self.clock.now();
        // Renewed every third of it while this worker lives (`renew_loop`).
        let lease_until = now + self.webhooks.settings.lease;
        let mut tx = self.store.write().await?;
        let claimed = store::claim_deliveries(
            &mut tx,
            now,
            worker,
            lease_until,
            busy,
            limit as i64,
            per_webhook as i64,
        )
        .await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// An app's webhook is sent to only while the app still holds the
    /// creator's grant (asked again before every attempt, so nothing claimed
    /// before a revocation goes out after it); otherwise the delivery goes
    /// back unsent and `None` is returned.
    async fn attempt_if_allowed(&self, worker: &str, d: ClaimedDelivery) -> Option<AttemptOutcome> {
        if d.oauth_client_id.is_some() {
            match self.may_deliver(d.webhook_id).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(webhook = %d.webhook_id, delivery = %d.id, "webhook's app lost access: delivery withheld");
                    if let Err(e) = self.withhold(worker, &d).await {
                        tracing::warn!(error = %e, delivery = %d.id, "withholding a delivery failed; its lease will run out");
                    }
                    return None;
                }
                Err(e) => {
                    // Unknown is not allowed: the lease runs out and it is tried again.
                    tracing::warn!(error = %e, delivery = %d.id, "checking a webhook's access failed");
                    return None;
                }
            }
        }
        Some(self.attempt_delivery(d).await)
    }

    async fn may_deliver(&self, webhook: WebhookId) -> Result<bool, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(store::may_deliver(&mut tx, webhook, Scope::CampaignsWebhook.as_str()).await?)
    }

    async fn withhold(&self, worker: &str, d: &ClaimedDelivery) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        store::withhold_delivery(&mut tx, d.id, d.webhook_id, worker, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One attempt: send, then decide what comes next.
    async fn attempt_delivery(&self, d: ClaimedDelivery) -> AttemptOutcome {
        let settings = &self.webhooks.settings;
        let started_at = self.clock.now();
        let clock = Instant::now();
        let sent = self.send(&d).await;
        let latency_ms = clock.elapsed().as_millis() as i64;
        let (status_code, error, response_start) = match sent {
            Ok((status, start)) if (200..300).contains(&status) => {
                (Some(status), None, Some(start))
            }
            Ok((status, start)) => (
                Some(status),
                Some(format!("the receiver answered HTTP {status}")),
                Some(start),
            ),
            Err(message) => (None, Some(message), None),
        };
        let next = if error.is_none() {
            NextStep::Delivered
        } else {
            let mut unit = [0u8; 4];
            let _ = getrandom::fill(&mut unit);
            let unit = f64::from(u32::from_le_bytes(unit)) / f64::from(u32::MAX);
            let delay = retry_delay(
                d.attempts as u32 + 1,
                settings.first_retry,
                settings.longest_retry,
                unit,
            );
            let at = self.clock.now() + delay;
            if at > d.give_up_at {
                tracing::warn!(webhook = %d.webhook_id, delivery = %d.id, "webhook delivery given up on: pausing the webhook");
                NextStep::GiveUp
            } else {
                NextStep::RetryAt(at)
            }
        };
        AttemptOutcome {
            attempt_id: self.ids.next_raw(),
            delivery_id: d.id,
            webhook_id: d.webhook_id,
            attempt: d.attempts,
            started_at,
            latency_ms,
            status_code,
            error: error.map(loggable),
            response_start: response_start.map(loggable),
            next,
        }
    }

    /// Sends one delivery; the answer's status and first bytes, or why there was none.
    async fn send(&self, d: &ClaimedDelivery) -> Result<(i32, String), String> {
        let settings = &self.webhooks.settings;
        let url = url::Url::parse(&d.uri).map_err(|e| format!("the URL is not valid: {e}"))?;
        // Names are checked by the client's resolver; literals never reach it.
        if let Some(ip) = maecenas_domain::webhooks::literal_address(&url) {
            settings
                .policy
                .check(ip)
                .map_err(|e| format!("refused: {e}"))?;
        }
        let id = d.id.to_string();
        // The wall clock, not the use cases' clock: receivers compare this
        // timestamp with their own time to refuse replays.
        let signed = sign(
            &d.secret,
            &id,
            OffsetDateTime::now_utc().unix_timestamp(),
            d.body.as_bytes(),
        );
        let response = self
            .webhooks
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Patreon-Event", &d.trigger)
            .header("X-Patreon-Signature", &signed.patreon)
            .header("webhook-id", &signed.id)
            .header("webhook-timestamp", signed.timestamp.to_string())
            .header("webhook-signature", &signed.standard)
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| describe(&e, settings.timeout))?;
        let status = i32::from(response.status().as_u16());
        let mut response = response;
        let mut start = Vec::new();
        while start.len() < RESPONSE_START_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                // The status is the answer; an unread or broken body does not change it.
                Ok(None) | Err(_) => break,
            }
        }
        start.truncate(RESPONSE_START_BYTES);
        Ok((status, String::from_utf8_lossy(&start).into_owned()))
    }

    async fn release(&self, worker: &str, deliveries: &[DeliveryId]) -> Result<(), ServiceError> {
        let mut tx = self.store.write().await?;
        let released = store::release_claims(&mut tx, worker, deliveries).await?;
        tx.commit().await?;
        tracing::info!(released, "stopping: handed back deliveries not yet started");
        Ok(())
    }

    async fn renew_claims(&self, worker: &str) -> Result<(), ServiceError> {
        let until = self.clock.now() + self.webhooks.settings.lease;
        let mut tx = self.store.write().await?;
        store::renew_claims(&mut tx, worker, until).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_attempts(
        &self,
        worker: &str,
        outcomes: &[AttemptOutcome],
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        store::record_attempts(&mut tx, worker, outcomes, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Keeps this worker's claims alive while it lives.
async fn renew_loop(services: Services, worker: String) {
    let every = (services.webhooks.settings.lease / 3).max(std::time::Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = services.renew_claims(&worker).await {
            tracing::warn!(error = %e, "renewing webhook delivery claims failed; trying again");
        }
    }
}

/// A receiver's words as the log may keep them: a text column takes no NUL
/// (PostgreSQL refuses the whole statement), so each becomes U+FFFD.
fn loggable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{fffd}")
    } else {
        text
    }
}

/// Writes finished attempts, a batch per transaction, until the worker is done.
async fn record_loop(
    services: Services,
    worker: String,
    mut done: mpsc::UnboundedReceiver<AttemptOutcome>,
) {
    // An attempt answered but not yet recorded is sent again if this process
    // dies, so recording keeps up: batches stay small (a short transaction),
    // and on PostgreSQL the next batch is written while one commits.
    let at_once = match services.store.backend() {
        maecenas_store::Backend::Postgres => RECORDERS_AT_ONCE,
        maecenas_store::Backend::Sqlite => 1,
    };
    let mut writing = tokio::task::JoinSet::new();
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while done.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        while writing.len() >= at_once {
            writing.join_next().await;
        }
        let outcomes = std::mem::replace(&mut batch, Vec::with_capacity(RECORD_BATCH));
        writing.spawn(record_batch(services.clone(), worker.clone(), outcomes));
    }
    while writing.join_next().await.is_some() {}
}

/// Writes one batch. A failed write is retried; one bad row must not keep
/// the others from being recorded (and sent again), so after a failed batch
/// each is written on its own and only those that still fail are retried.
/// What keeps failing is dropped: its leases run out and it is sent again
/// (at least once) rather than the worker stalling behind it.
async fn record_batch(services: Services, worker: String, mut left: Vec<AttemptOutcome>) {
    for tries in 1..=RECORD_TRIES {
        let Err(e) = services.record_attempts(&worker, &left).await else {
            return;
        };
        if left.len() > 1 {
            let mut failed = Vec::new();
            for outcome in left {
                if services
                    .record_attempts(&worker, std::slice::from_ref(&outcome))
                    .await
                    .is_err()
                {
                    failed.push(outcome);
                }
            }
            left = failed;
            if left.is_empty() {
                return;
            }
        }
        if tries == RECORD_TRIES {
            tracing::error!(error = %e, attempts = left.len(), "recording webhook attempts failed; they will be sent again when their lease ends");
        } else {
            tracing::warn!(error = %e, attempts = left.len(), "recording webhook attempts failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// Why a request got no answer, in words for the delivery log.
fn describe(e: &reqwest::Error, timeout: std::time::Duration) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<TargetError>() {
            return format!("refused: {refused}");
        }
        source = err.source();
    }
    if e.is_timeout() {
        format!("no answer within {} s", timeout.as_secs_f32())
    } else if e.is_connect() {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut last = e.to_string();
        while let Some(err) = cause {
            last = err.to_string();
            cause = err.source();
        }
        format!("could not connect: {last}")
    } else {
        format!("the request failed: {e}")
    }
}
