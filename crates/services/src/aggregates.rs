//! Campaign totals, derived from the pledge records and kept for one second,
//! with the campaign's tiers and goals read in the same pass.
//!
//! The campaign row, its tiers and goals ride along because every API read
//! of a campaign shows them: keeping them saves up to three queries per
//! request. A write through
//! this process that changes them ([`CampaignAggregates::forget`]) drops the
//! entry at once; another process's write (the CLI, a second server on the
//! same PostgreSQL) shows within the second, as the totals do.
//!
//! `pledge_sum`, `patron_count` and patrons per tier are sums over every
//! current pledge of a campaign: a scan that grows with the campaign (tens of
//! milliseconds at 100,000 pledges). Every API read needs them. Keeping the
//! result for a second turns one scan per request into one scan per second
//! per process, and the numbers stay derived from the records (never a
//! counter that can drift): a second old, give or take one scan.
//!
//! When the second is up, one request recomputes while the others keep
//! answering with the previous numbers (for up to 30 s), instead of every
//! request in flight starting the same scan at once: at 1,000,000 pledges
//! that stampede was the p99 of `current_user`.
//!
//! A process with no numbers yet for a campaign (just started, or a write
//! through it forgot them) has nothing to answer with meanwhile: requests
//! that read without a snapshot then share one computation, which runs on
//! the store's aside pool ([`Store::read_aside`]), as does the recomputation
//! such a request takes on. On the main pool it would queue behind the very
//! requests waiting for it, each holding a connection: a new process under
//! load served nothing for seconds. A caller inside a transaction computes
//! in it instead (it holds what it needs, and sees its own writes), as does
//! every waiter if the shared computation failed, so that a database error
//! reaches each request as its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tracing::Instrument;

use maecenas_domain::CampaignId;
use maecenas_store::campaigns::{self, CampaignRow, CampaignTotals, GoalRow, TierRow};
use maecenas_store::{Store, StoreError, Tx};

const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long the previous numbers are served while they are recomputed.
const SERVE_STALE_FOR: Duration = Duration::from_secs(30);
/// A recomputation in a caller's transaction claimed longer ago than this is
/// presumed failed (its request errored out); the next request takes it over.
const RECOMPUTE_ABANDONED_AFTER: Duration = Duration::from_secs(5);
/// Campaigns remembered before stale ones are dropped.
const REMEMBERED: usize = 10_000;

/// What every read of a campaign shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignNumbers {
    /// The campaign row itself, for the reads that know only its id
    /// (`current_user` finds it with the token): `None` once it is gone.
    pub campaign: Option<CampaignRow>,
    pub totals: CampaignTotals,
    /// (tier id, current patrons).
    pub tier_patrons: Vec<(i64, i64)>,
    pub tiers: Vec<TierRow>,
    pub goals: Vec<GoalRow>,
}

impl CampaignNumbers {
    /// Totals and patrons per tier must agree: `tx` is one snapshot.
    async fn read(tx: &mut Tx, campaign: CampaignId) -> Result<CampaignNumbers, StoreError> {
        Ok(CampaignNumbers {
            campaign: campaigns::campaign_by_id(tx, campaign).await?,
            totals: campaigns::campaign_totals(tx, campaign).await?,
            tier_patrons: campaigns::patrons_per_tier(tx, campaign).await?,
            tiers: campaigns::tiers_of_campaign(tx, campaign).await?,
            goals: campaigns::goals_of_campaign(tx, campaign).await?,
        })
    }
}

/// A computation in the background that requests share; `None` if it failed.
type Flight = Shared<BoxFuture<'static, Option<Arc<CampaignNumbers>>>>;

#[derive(Debug)]
struct Kept {
    at: Instant,
    numbers: Arc<CampaignNumbers>,
}

#[derive(Default)]
struct Slot {
    kept: Option<Kept>,
    flight: Option<Flight>,
    /// When a caller took on recomputing in its own transaction.
    claimed: Option<Instant>,
    /// Raised by every [`CampaignAggregates::forget`]: a computation started
    /// before it may have read the records before the write, so its result
    /// is not kept.
    generation: u64,
}

/// What [`CampaignAggregates::look`] tells a caller to do.
enum Look {
    Answer(Arc<CampaignNumbers>),
    /// Nothing to answer with: compute in the caller's snapshot, then
    /// [`CampaignAggregates::land`] the result under this generation.
    ComputeHere(u64),
    Wait(Flight),
}

pub struct CampaignAggregates {
    store: Store,
    slots: Mutex<HashMap<CampaignId, Slot>>,
    /// Counts forgets, so that a slot dropped and made again never takes a
    /// generation it had before.
    forgets: AtomicU64,
}

impl CampaignAggregates {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            slots: Mutex::default(),
            forgets: AtomicU64::new(0),
        }
    }

    /// The campaign's numbers, at most a second old when this process has
    /// been asked for them within the last 30 s.
    pub async fn numbers(
        self: &Arc<Self>,
        campaign: CampaignId,
        tx: &mut Tx,
    ) -> Result<Arc<CampaignNumbers>, StoreError> {
        let generation = match self.look(campaign, tx.is_snapshot()) {
            Look::Answer(numbers) => return Ok(numbers),
            Look::ComputeHere(generation) => generation,
            Look::Wait(flight) => match flight.await {
                Some(numbers) => return Ok(numbers),
                None => self.generation(campaign),
            },
        };
        let numbers = Arc::new(CampaignNumbers::read(tx, campaign).await?);
        self.land(campaign, generation, Some(numbers.clone()));
        Ok(numbers)
    }

    fn look(self: &Arc<Self>, campaign: CampaignId, in_snapshot: bool) -> Look {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() > REMEMBERED {
            slots.retain(|_, slot| {
                slot.flight.is_some()
                    || slot
                        .kept
                        .as_ref()
                        .is_some_and(|kept| kept.at.elapsed() < SERVE_STALE_FOR)
            });
        }
        let slot = slots.entry(campaign).or_default();
        let kept = slot
            .kept
            .as_ref()
            .filter(|kept| kept.at.elapsed() < SERVE_STALE_FOR);
        if let Some(kept) = kept {
            let recomputing = slot.flight.is_some()
                || slot
                    .claimed
                    .is_some_and(|at| at.elapsed() < RECOMPUTE_ABANDONED_AFTER);
            if kept.at.elapsed() < FRESH_FOR || recomputing {
                return Look::Answer(kept.numbers.clone());
            }
        }
        if in_snapshot {
            if kept.is_some() {
                slot.claimed = Some(Instant::now());
            }
            return Look::ComputeHere(slot.generation);
        }
        Look::Wait(self.take_off(campaign, slot))
    }

    /// The campaign's computation in the background, started unless one is
    /// under way.
    fn take_off(self: &Arc<Self>, campaign: CampaignId, slot: &mut Slot) -> Flight {
        if let Some(flight) = &slot.flight {
            return flight.clone();
        }
        let this = Arc::clone(self);
        let generation = slot.generation;
        // Spawned, so that the computation outlives a waiter that gives up;
        // in the span of the request that started it, which its statements
        // are logged (and counted) under.
        let task = tokio::spawn(
            async move {
                let read = async {
                    let mut tx = this.store.read_aside().await?;
                    CampaignNumbers::read(&mut tx, campaign).await
                };
                let numbers = match read.await {
                    Ok(numbers) => Some(Arc::new(numbers)),
                    Err(error) => {
                        tracing::warn!(%error, campaign = %campaign, "computing a campaign's numbers failed");
                        None
                    }
                };
                this.land(campaign, generation, numbers.clone());
                numbers
            }
            .in_current_span(),
        );
        let flight = task.map(|joined| joined.ok().flatten()).boxed().shared();
        slot.flight = Some(flight.clone());
        flight
    }

    /// Keeps `numbers` unless the campaign was forgotten since `generation`.
    fn land(&self, campaign: CampaignId, generation: u64, numbers: Option<Arc<CampaignNumbers>>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots.entry(campaign).or_default();
        if slot.generation != generation {
            return;
        }
        slot.flight = None;
        slot.claimed = None;
        if let Some(numbers) = numbers {
            slot.kept = Some(Kept {
                at: Instant::now(),
                numbers,
            });
        }
    }

    fn generation(&self, campaign: CampaignId) -> u64 {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.get(&campaign).map_or(0, |slot| slot.generation)
    }

    /// What is kept of a campaign if it is fresh, without starting a
    /// computation (for a reader that wants a tier and would not refresh
    /// the totals).
    pub fn fresh(&self, campaign: CampaignId) -> Option<Arc<CampaignNumbers>> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .get(&campaign)
            .and_then(|slot| slot.kept.as_ref())
            .filter(|kept| kept.at.elapsed() < FRESH_FOR)
            .map(|kept| kept.numbers.clone())
    }

    /// Drops what is kept of a campaign whose records this process changed,
    /// and any computation of it under way.
    pub fn forget(&self, campaign: CampaignId) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots.entry(campaign).or_default();
        slot.kept = None;
        slot.flight = None;
        slot.claimed = None;
        slot.generation = self.forgets.fetch_add(1, Ordering::Relaxed) + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maecenas_store::ConnectOptions;
    use maecenas_testkit::{Backend, TestDb};
    use rstest::rstest;

    fn made_up(patrons: i64) -> Arc<CampaignNumbers> {
        Arc::new(CampaignNumbers {
            campaign: None,
            totals: CampaignTotals {
                patron_count: patrons,
                pledge_sum_minor: patrons * 500,
                creation_count: 0,
                outstanding_minor: 0,
            },
            tier_patrons: vec![(1, patrons)],
            tiers: Vec::new(),
            goals: Vec::new(),
        })
    }

    /// Numbers kept as if computed `ago`, for a campaign with no records
    /// (whose real numbers are all zero).
    fn keep(cache: &CampaignAggregates, campaign: CampaignId, patrons: i64, ago: Duration) {
        cache.land(campaign, cache.generation(campaign), Some(made_up(patrons)));
        let mut slots = cache.slots.lock().unwrap();
        slots.get_mut(&campaign).unwrap().kept.as_mut().unwrap().at -= ago;
    }

    fn flight(cache: &CampaignAggregates, campaign: CampaignId) -> Option<Flight> {
        let slots = cache.slots.lock().unwrap();
        slots.get(&campaign).and_then(|slot| slot.flight.clone())
    }

    /// A pool of one connection, as a server whose requests hold every
    /// connection of its pool.
    async fn one_connection_store(db: &TestDb) -> Store {
        db.store().await;
        let options = ConnectOptions {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(2),
            ..ConnectOptions::default()
        };
        Store::connect(db.url(), &options).await.unwrap()
    }

    #[rstest]
    #[case::sqlite(Backend::Sqlite)]
    #[case::postgres(Backend::Postgres)]
    #[tokio::test]
    async fn a_request_holding_the_last_connection_still_gets_first_numbers(
        #[case] backend: Backend,
    ) {
        let db = TestDb::new(backend).await;
        let store = one_connection_store(&db).await;
        let cache = Arc::new(CampaignAggregates::new(store.clone()));
        let campaign = CampaignId::from(7);
        let mut held = store.read_without_snapshot().await.unwrap();
        let numbers = cache.numbers(campaign, &mut held).await.unwrap();
        assert_eq!(numbers.totals.patron_count, 0);
        assert_eq!(
            cache.fresh(campaign),
            Some(numbers),
            "kept for the next request"
        );
    }

    #[rstest]
    #[case::sqlite(Backend::Sqlite)]
    #[case::postgres(Backend::Postgres)]
    #[tokio::test]
    async fn cold_requests_share_one_computation_and_stale_numbers_answer_meanwhile(
        #[case] backend: Backend,
    ) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let cache = Arc::new(CampaignAggregates::new(store.clone()));
        let campaign = CampaignId::from(8);

        let Look::Wait(first) = cache.look(campaign, false) else {
            panic!("nothing kept: the first request waits for a computation");
        };
        let Look::Wait(second) = cache.look(campaign, false) else {
            panic!("the second waits too");
        };
        assert!(first.ptr_eq(&second), "one computation for both");
        assert_eq!(first.await.unwrap().totals.patron_count, 0);
        assert!(flight(&cache, campaign).is_none(), "landed");
        assert!(matches!(cache.look(campaign, false), Look::Answer(_)));

        // Two seconds old: the next request recomputes, the others are
        // answered with the previous numbers meanwhile.
        keep(&cache, campaign, 3, Duration::from_secs(2));
        assert!(matches!(cache.look(campaign, false), Look::Wait(_)));
        let Look::Answer(meanwhile) = cache.look(campaign, false) else {
            panic!("a request during the recomputation is answered at once");
        };
        assert_eq!(meanwhile.totals.patron_count, 3);
        flight(&cache, campaign).unwrap().await;
        assert_eq!(cache.fresh(campaign).unwrap().totals.patron_count, 0);
    }

    #[rstest]
    #[case::sqlite(Backend::Sqlite)]
    #[case::postgres(Backend::Postgres)]
    #[tokio::test]
    async fn a_computation_started_before_a_forget_is_not_kept(#[case] backend: Backend) {
        let db = TestDb::new(backend).await;
        let cache = Arc::new(CampaignAggregates::new(db.store().await));
        let campaign = CampaignId::from(9);
        let Look::Wait(before_the_write) = cache.look(campaign, false) else {
            panic!("nothing kept yet");
        };
        cache.forget(campaign);
        assert!(before_the_write.await.is_some(), "its waiters are answered");
        assert!(cache.fresh(campaign).is_none(), "but it is not kept");
    }

    #[rstest]
    #[case::sqlite(Backend::Sqlite)]
    #[case::postgres(Backend::Postgres)]
    #[tokio::test]
    async fn a_caller_in_a_transaction_computes_in_it_and_one_recomputes_at_a_time(
        #[case] backend: Backend,
    ) {
        let db = TestDb::new(backend).await;
        let cache = Arc::new(CampaignAggregates::new(db.store().await));
        let campaign = CampaignId::from(10);
        assert!(matches!(cache.look(campaign, true), Look::ComputeHere(_)));
        keep(&cache, campaign, 2, Duration::from_secs(2));
        assert!(matches!(cache.look(campaign, true), Look::ComputeHere(_)));
        assert!(
            matches!(cache.look(campaign, true), Look::Answer(_)),
            "the recomputation is claimed"
        );
        keep(&cache, campaign, 2, SERVE_STALE_FOR);
        assert!(matches!(cache.look(campaign, true), Look::ComputeHere(_)));
        assert!(
            matches!(cache.look(campaign, true), Look::ComputeHere(_)),
            "too old to answer anyone with"
        );
    }
}
