//! Campaign totals, derived from the pledge records and kept for one second,
//! with the campaign's tiers and goals read in the same pass.
//!
//! The tiers and goals ride along because every API read of a campaign
//! shows them: keeping them saves two queries per request. A write through
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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::sync::Arc;

use maecenas_domain::CampaignId;
use maecenas_store::campaigns::{CampaignTotals, GoalRow, TierRow};

const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long the previous numbers are served while one request recomputes.
const SERVE_STALE_FOR: Duration = Duration::from_secs(30);
/// A recomputation claimed longer ago than this is presumed failed (its
/// request errored out); the next request takes it over.
const RECOMPUTE_ABANDONED_AFTER: Duration = Duration::from_secs(5);

/// What every read of a campaign shows besides the campaign row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignNumbers {
    pub totals: CampaignTotals,
    /// (tier id, current patrons).
    pub tier_patrons: Vec<(i64, i64)>,
    pub tiers: Vec<TierRow>,
    pub goals: Vec<GoalRow>,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    numbers: Arc<CampaignNumbers>,
    recompute_claimed: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct CampaignAggregates {
    entries: Mutex<HashMap<CampaignId, Entry>>,
}

impl CampaignAggregates {
    /// The numbers to answer with; `None` means the caller recomputes them
    /// and hands them to [`put`](Self::put).
    pub fn get(&self, campaign: CampaignId) -> Option<Arc<CampaignNumbers>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get_mut(&campaign)?;
        let age = entry.at.elapsed();
        if age >= FRESH_FOR {
            if age >= SERVE_STALE_FOR {
                return None;
            }
            let claimed_by_another = entry
                .recompute_claimed
                .is_some_and(|at| at.elapsed() < RECOMPUTE_ABANDONED_AFTER);
            if !claimed_by_another {
                entry.recompute_claimed = Some(Instant::now());
                return None;
            }
        }
        Some(entry.numbers.clone())
    }

    /// What is kept of a campaign if it is fresh, without taking on its
    /// recomputation (for a reader that wants a tier and would not refresh
    /// the totals).
    pub fn fresh(&self, campaign: CampaignId) -> Option<Arc<CampaignNumbers>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&campaign)
            .filter(|entry| entry.at.elapsed() < FRESH_FOR)
            .map(|entry| entry.numbers.clone())
    }

    /// Drops what is kept of a campaign whose tiers or goals this process changed.
    pub fn forget(&self, campaign: CampaignId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&campaign);
    }

    pub fn put(&self, campaign: CampaignId, numbers: Arc<CampaignNumbers>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: forget stale entries when the map grows.
        if entries.len() > 10_000 {
            entries.retain(|_, entry| entry.at.elapsed() < SERVE_STALE_FOR);
        }
        entries.insert(
            campaign,
            Entry {
                at: Instant::now(),
                numbers,
                recompute_claimed: None,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(patrons: i64) -> Arc<CampaignNumbers> {
        Arc::new(CampaignNumbers {
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

    fn age(cache: &CampaignAggregates, campaign: CampaignId, by: Duration) {
        let mut entries = cache.entries.lock().unwrap();
        let entry = entries.get_mut(&campaign).unwrap();
        entry.at -= by;
    }

    #[test]
    fn one_request_recomputes_stale_numbers_while_the_others_are_answered() {
        let cache = CampaignAggregates::default();
        let campaign = CampaignId::from(7);
        assert!(cache.get(campaign).is_none(), "nothing cached yet");
        cache.put(campaign, totals(3));
        assert_eq!(cache.get(campaign), Some(totals(3)));

        age(&cache, campaign, Duration::from_secs(2));
        assert!(cache.get(campaign).is_none(), "the first caller recomputes");
        assert_eq!(
            cache.get(campaign).map(|n| n.totals.patron_count),
            Some(3),
            "the next ones get the previous numbers meanwhile"
        );
        cache.put(campaign, totals(4));
        assert_eq!(cache.get(campaign).map(|n| n.totals.patron_count), Some(4));
    }

    #[test]
    fn a_forgotten_campaign_is_read_again_at_once() {
        let cache = CampaignAggregates::default();
        let campaign = CampaignId::from(9);
        cache.put(campaign, totals(2));
        assert_eq!(cache.fresh(campaign), Some(totals(2)));
        cache.forget(campaign);
        assert!(cache.fresh(campaign).is_none());
        assert!(cache.get(campaign).is_none());
    }

    #[test]
    fn an_abandoned_recomputation_is_taken_over_and_old_numbers_expire() {
        let cache = CampaignAggregates::default();
        let campaign = CampaignId::from(8);
        cache.put(campaign, totals(1));
        age(&cache, campaign, Duration::from_secs(2));
        assert!(cache.get(campaign).is_none());
        {
            let mut entries = cache.entries.lock().unwrap();
            let entry = entries.get_mut(&campaign).unwrap();
            entry.recompute_claimed = Some(Instant::now() - Duration::from_secs(6));
        }
        assert!(cache.get(campaign).is_none(), "the claim was abandoned");

        age(&cache, campaign, SERVE_STALE_FOR);
        assert!(cache.get(campaign).is_none());
        assert!(cache.get(campaign).is_none(), "too old to serve to anyone");
    }
}
