//! The delivery worker `serve` runs: claim due deliveries, send each signed
//! with a timeout, record the attempts in batches.
//!
//! Three parts, so that no slow thing holds up another: the dispatcher claims
//! as many deliveries as there are free slots (leaving out webhooks that
//! already have `per_webhook` attempts in flight: a slow receiver holds at
//! most that many slots); each attempt is its own task; the recorder writes
//! finished attempts in one transaction per batch (group commit), so the
//! database is not the ceiling of deliveries per second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use maecenas_domain::WebhookId;
use maecenas_domain::webhooks::{TargetError, retry_delay};
use maecenas_store::webhooks::{self as store, AttemptOutcome, ClaimedDelivery, NextStep};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore, mpsc, watch};

use super::signing::sign;
use crate::{ServiceError, Services, secrets};

/// The most answer bytes kept in the delivery log.
const RESPONSE_START_BYTES: usize = 512;
/// The most deliveries claimed in one transaction.
const CLAIM_BATCH: usize = 500;

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
        let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let in_flight: Arc<Mutex<HashMap<WebhookId, usize>>> = Arc::default();
        let finished = Arc::new(Notify::new());
        let (done_tx, done_rx) = mpsc::unbounded_channel::<AttemptOutcome>();
        let recorder = tokio::spawn(record_loop(self.clone(), worker.clone(), done_rx));
        let mut recorder = AbortOnDrop(recorder);
        let mut report = DeliveryReport::default();
        tracing::info!(%worker, "webhook delivery worker started");
        while !*stop.borrow() {
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    () = finished.notified() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let busy: Vec<WebhookId> = in_flight
                .lock()
                .expect("in-flight counts")
                .iter()
                .filter(|(_, n)| **n >= settings.per_webhook)
                .map(|(w, _)| *w)
                .collect();
            let limit = free.min(CLAIM_BATCH);
            let claimed = match self.claim_deliveries(&worker, &busy, limit).await {
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
            for delivery in claimed {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    break;
                };
                *in_flight
                    .lock()
                    .expect("in-flight counts")
                    .entry(delivery.webhook_id)
                    .or_default() += 1;
                report.attempts += 1;
                let services = self.clone();
                let done = done_tx.clone();
                let in_flight = in_flight.clone();
                let finished = finished.clone();
                tokio::spawn(async move {
                    let webhook = delivery.webhook_id;
                    let outcome = services.attempt_delivery(delivery).await;
                    let _ = done.send(outcome);
                    drop(permit);
                    if let Some(n) = in_flight
                        .lock()
                        .expect("in-flight counts")
                        .get_mut(&webhook)
                    {
                        *n = n.saturating_sub(1);
                    }
                    finished.notify_one();
                });
            }
            if got < limit {
                // Nothing more is due now: wait for new events, a finished
                // attempt (a busy webhook may have room again) or the poll.
                tokio::select! {
                    () = self.webhooks.wake.notified() => {}
                    () = finished.notified(), if !busy.is_empty() => {}
                    () = tokio::time::sleep(settings.poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        // Stopping: no new claims; attempts in flight finish (each has a timeout).
        let all = u32::try_from(settings.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(
            settings.timeout + std::time::Duration::from_secs(1),
            slots.acquire_many(all),
        )
        .await;
        drop(done_tx);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut recorder.0).await;
        tracing::info!(%worker, attempts = report.attempts, "webhook delivery worker stopped");
        report
    }

    async fn claim_deliveries(
        &self,
        worker: &str,
        busy: &[WebhookId],
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, ServiceError> {
        let now = self.clock.now();
        // The lease outlasts an attempt's timeout, so only a dead worker loses one.
        let lease_until = now + self.webhooks.settings.timeout + std::time::Duration::from_secs(60);
        let mut tx = self.store.write().await?;
        let claimed =
            store::claim_deliveries(&mut tx, now, worker, lease_until, busy, limit as i64).await?;
        tx.commit().await?;
        Ok(claimed)
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
            error,
            response_start,
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

/// Writes finished attempts, a batch per transaction, until the worker is done.
async fn record_loop(
    services: Services,
    worker: String,
    mut done: mpsc::UnboundedReceiver<AttemptOutcome>,
) {
    let mut batch = Vec::with_capacity(1000);
    while done.recv_many(&mut batch, 1000).await > 0 {
        // A failed write is retried with the same outcomes: an attempt that
        // happened is never forgotten while this process lives.
        while let Err(e) = services.record_attempts(&worker, &batch).await {
            tracing::error!(error = %e, attempts = batch.len(), "recording webhook attempts failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        batch.clear();
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
