//! Campaign totals, derived from the pledge records and kept for one second.
//!
//! `pledge_sum`, `patron_count` and patrons per tier are sums over every
//! current pledge of a campaign: a scan that grows with the campaign (tens of
//! milliseconds at 100,000 pledges). Every API read needs them. Keeping the
//! result for a second turns one scan per request into one scan per second
//! per process, and the numbers stay derived from the records (never a
//! counter that can drift): at worst a second old.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use maecenas_domain::CampaignId;
use maecenas_store::campaigns::CampaignTotals;

const FRESH_FOR: Duration = Duration::from_secs(1);

type Entry = (Instant, CampaignTotals, Vec<(i64, i64)>);

#[derive(Debug, Default)]
pub struct CampaignAggregates {
    entries: Mutex<HashMap<CampaignId, Entry>>,
}

impl CampaignAggregates {
    pub fn get(&self, campaign: CampaignId) -> Option<(CampaignTotals, Vec<(i64, i64)>)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&campaign)
            .filter(|(at, _, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, totals, tiers)| (*totals, tiers.clone()))
    }

    pub fn put(&self, campaign: CampaignId, totals: CampaignTotals, tiers: Vec<(i64, i64)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: forget stale entries when the map grows.
        if entries.len() > 10_000 {
            entries.retain(|_, (at, _, _)| at.elapsed() < FRESH_FOR);
        }
        entries.insert(campaign, (Instant::now(), totals, tiers));
    }
}
