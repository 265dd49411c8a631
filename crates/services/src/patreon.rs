//! Use cases behind the Patreon v1 resource API: what a token may see of its
//! user, their campaign and the pledges to it.

use maecenas_domain::{CampaignId, PledgeId, Scope};
use maecenas_store::Tx;
use maecenas_store::campaigns::{self, CampaignRow, CampaignTotals, GoalRow, TierRow};
use maecenas_store::cards::{AddressRow, PaymentMethodRow};
use maecenas_store::pledges;
use maecenas_store::pledges::PledgeRow;
use maecenas_store::users::UserRow;

use crate::aggregates::CampaignNumbers;
use crate::oauth::Bearer;
use crate::{ServiceError, Services};

/// Most pledges on one page; the default is the seed's twenty.
pub const MAX_PAGE: i64 = 100;
pub const DEFAULT_PAGE: i64 = 20;

/// A campaign with what the API derives and embeds.
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub campaign: CampaignRow,
    pub creator: UserRow,
    pub totals: CampaignTotals,
    pub tiers: Vec<TierRow>,
    /// Current patrons per tier, for `remaining`.
    pub tier_patrons: Vec<(i64, i64)>,
    pub goals: Vec<GoalRow>,
}

/// One pledge with what it points at.
#[derive(Debug, Clone)]
pub struct PledgeView {
    pub pledge: PledgeRow,
    pub patron: UserRow,
    pub address: Option<AddressRow>,
    pub card: Option<PaymentMethodRow>,
}

#[derive(Debug, Clone)]
pub struct PledgePage {
    pub campaign: CampaignView,
    pub pledges: Vec<PledgeView>,
    /// The last pledge of this page when more follow: the next page starts after it.
    pub next_after: Option<PledgeId>,
}

impl Services {
    /// The caller behind an access token and, if they are a creator, their
    /// campaign: one read transaction. `None` for a token that is not live.
    pub async fn current_user(
        &self,
        access_token: &str,
    ) -> Result<Option<(Bearer, Option<CampaignView>)>, ServiceError> {
        // The token, the user and their campaign need not be one snapshot;
        // the campaign's numbers are (see `campaign_view`).
        let mut tx = self.store.read_without_snapshot().await?;
        let Some(bearer) = crate::oauth::bearer_in(&mut tx, access_token, self.clock.now()).await?
        else {
            return Ok(None);
        };
        // The token's query found the campaign's id; its row comes with
        // its numbers, kept for a second: one query in all, most of the time.
        let Some(campaign) = bearer.campaign else {
            return Ok(Some((bearer, None)));
        };
        let numbers = self.aggregates.numbers(campaign, &mut tx).await?;
        let view = numbers
            .campaign
            .clone()
            .map(|campaign| view_of(campaign, bearer.user.clone(), &numbers));
        Ok(Some((bearer, view)))
    }

    /// A page of pledges to a campaign, in the order they were made, after
    /// `after` (keyset: the last page costs what the first does). Only the
    /// campaign's creator may read it, with `pledges-to-me`.
    pub async fn campaign_pledges(
        &self,
        bearer: &Bearer,
        campaign: CampaignId,
        after: Option<PledgeId>,
        count: i64,
    ) -> Result<PledgePage, ServiceError> {
        let count = count.clamp(1, MAX_PAGE);
        let mut tx = self.store.read().await?;
        let row = campaigns::campaign_by_id(&mut tx, campaign)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        if row.creator_id != bearer.user.id || !bearer.scopes.contains(Scope::PledgesToMe) {
            return Err(ServiceError::Forbidden);
        }
        let view = campaign_view(self, &mut tx, row, bearer.user.clone()).await?;
        // One more than asked tells whether another page follows.
        let mut rows = pledges::pledges_of_campaign(&mut tx, campaign, after, count + 1).await?;
        let more = rows.len() as i64 > count;
        rows.truncate(count as usize);
        let (patrons, addresses, cards) =
            pledges::page_references(&mut tx, campaign, after, count).await?;
        let mut out = Vec::with_capacity(rows.len());
        for pledge in rows {
            let patron = patrons
                .iter()
                .find(|u| u.id == pledge.patron_id)
                .cloned()
                .ok_or(ServiceError::NotFound("patron"))?;
            let address = pledge
                .address()
                .and_then(|id| addresses.iter().find(|a| a.id == id).cloned());
            let card = pledge
                .payment_method()
                .and_then(|id| cards.iter().find(|c| c.id == id).cloned());
            out.push(PledgeView {
                pledge,
                patron,
                address,
                card,
            });
        }
        let next_after = if more {
            out.last().map(|p| p.pledge.id)
        } else {
            None
        };
        Ok(PledgePage {
            campaign: view,
            pledges: out,
            next_after,
        })
    }
}

pub(crate) async fn campaign_view(
    services: &Services,
    tx: &mut Tx,
    campaign: CampaignRow,
    creator: UserRow,
) -> Result<CampaignView, ServiceError> {
    let numbers = services.aggregates.numbers(campaign.id, tx).await?;
    Ok(view_of(campaign, creator, &numbers))
}

fn view_of(campaign: CampaignRow, creator: UserRow, numbers: &CampaignNumbers) -> CampaignView {
    CampaignView {
        campaign,
        creator,
        totals: numbers.totals,
        tiers: numbers.tiers.clone(),
        tier_patrons: numbers.tier_patrons.clone(),
        goals: numbers.goals.clone(),
    }
}
