//! What the patron panel and the creator dashboard read: each a few queries
//! in one read transaction, shaped for the page.

use std::collections::HashMap;

use maecenas_domain::{BillingPeriod, CampaignId, PaymentMethodId, PledgeId, UserId};
use maecenas_store::campaigns::{self, CampaignRow, TierRow};
use maecenas_store::cards::PaymentMethodRow;
use maecenas_store::charges::{ChargeRow, PeriodTotals};
use maecenas_store::dashboard::{self, MonthIncome, PatronLine, PayoutPosting, RetryLine};
use maecenas_store::donations::DonationRow;
use maecenas_store::ledger::Balance;
use maecenas_store::payouts::{self, PayoutRow};
use maecenas_store::pledges::PledgeRow;
use maecenas_store::users::{self, UserRow};
use maecenas_store::{cards, charges, donations, ledger, pledges};
use time::OffsetDateTime;

use crate::patreon::{CampaignView, campaign_view};
use crate::{ServiceError, Services};

/// One pledge as its patron sees it.
#[derive(Debug, Clone)]
pub struct Sponsorship {
    pub pledge: PledgeRow,
    pub campaign: CampaignRow,
    pub creator: UserRow,
    pub tier: Option<TierRow>,
    /// Tiers the patron may move to (not retired).
    pub open_tiers: Vec<TierRow>,
    pub card: Option<PaymentMethodRow>,
    /// When the next charge is made; `None` once cancelled.
    pub next_charge_at: Option<OffsetDateTime>,
    /// Until when a cancelled pledge still counts (the end of the paid month).
    pub active_until: Option<OffsetDateTime>,
    /// The newest charge of this pledge: its state is the payment state.
    pub last_charge: Option<ChargeRow>,
}

#[derive(Debug, Clone)]
pub struct PatronPanel {
    /// Current pledges (not ended), newest first.
    pub sponsorships: Vec<Sponsorship>,
    pub charges: Vec<ChargeRow>,
    pub donations: Vec<DonationRow>,
    /// Who each charge or donation went to, for the history.
    pub campaign_names: HashMap<CampaignId, String>,
}

#[derive(Debug, Clone)]
pub struct CreatorDashboard {
    pub view: CampaignView,
    pub period: BillingPeriod,
    /// This month's charges: what is expected and what came in (creator's net).
    pub this_month: PeriodTotals,
    pub balance: Vec<Balance>,
    /// Newest first.
    pub income: Vec<MonthIncome>,
    /// Pledges whose payment failed for good.
    pub declined: Vec<PatronLine>,
    /// Payments that failed and are tried again, the next one due first.
    pub retrying: Vec<RetryLine>,
    /// The latest payouts, newest first, with their ledger postings.
    pub payouts: Vec<PayoutRow>,
    pub payout_postings: Vec<PayoutPosting>,
}

/// Months of income the dashboard's chart shows at most.
pub const CHART_MONTHS: i64 = 48;
/// Payouts the dashboard lists.
pub const PAYOUTS_SHOWN: i64 = 24;

pub const HISTORY_LIMIT: i64 = 100;

impl Services {
    pub async fn patron_panel(&self, patron: UserId) -> Result<PatronPanel, ServiceError> {
        let now = self.clock.now();
        let period = BillingPeriod::containing(now);
        let mut tx = self.store.read().await?;
        let mut sponsorships = Vec::new();
        let mut names = HashMap::new();
        for pledge in pledges::pledges_of_patron(&mut tx, patron, 200).await? {
            let Some(campaign) = campaigns::campaign_by_id(&mut tx, pledge.campaign_id).await?
            else {
                continue;
            };
            let creator = users::user_by_id(&mut tx, campaign.creator_id)
                .await?
                .ok_or(ServiceError::NotFound("creator"))?;
            names.insert(campaign.id, page_name(&campaign, &creator));
            if pledge.ended_at.is_some() {
                continue;
            }
            let tiers = campaigns::tiers_of_campaign(&mut tx, campaign.id).await?;
            let tier = pledge
                .tier()
                .and_then(|id| tiers.iter().find(|t| t.id == id).cloned());
            let card = match pledge.payment_method() {
                Some(id) => cards::payment_method_by_id(&mut tx, id).await?,
                None => None,
            };
            let last_charge = charges::charges_of_pledge(&mut tx, pledge.id, 1)
                .await?
                .into_iter()
                .next();
            let cancelled = pledge.cancelled_at.is_some();
            sponsorships.push(Sponsorship {
                next_charge_at: (!cancelled).then(|| period.next().start()),
                active_until: cancelled.then(|| period.end()),
                open_tiers: tiers
                    .into_iter()
                    .filter(|t| t.retired_at.is_none())
                    .collect(),
                pledge,
                campaign,
                creator,
                tier,
                card,
                last_charge,
            });
        }
        let charges = charges::charges_of_patron(&mut tx, patron, HISTORY_LIMIT).await?;
        let donations = donations::donations_by(&mut tx, patron, HISTORY_LIMIT).await?;
        for campaign_id in charges
            .iter()
            .map(|c| c.campaign_id)
            .chain(donations.iter().map(|d| d.campaign_id))
        {
            if names.contains_key(&campaign_id) {
                continue;
            }
            if let Some(c) = campaigns::campaign_by_id(&mut tx, campaign_id).await?
                && let Some(creator) = users::user_by_id(&mut tx, c.creator_id).await?
            {
                names.insert(campaign_id, page_name(&c, &creator));
            }
        }
        Ok(PatronPanel {
            sponsorships,
            charges,
            donations,
            campaign_names: names,
        })
    }

    /// The patron's own card of a pledge (for "update the card" forms).
    pub async fn card_of(
        &self,
        patron: UserId,
        card: PaymentMethodId,
    ) -> Result<PaymentMethodRow, ServiceError> {
        let mut tx = self.store.read().await?;
        cards::payment_method_by_id(&mut tx, card)
            .await?
            .filter(|c| c.user_id == patron)
            .ok_or(ServiceError::NotFound("card"))
    }

    pub async fn creator_dashboard(
        &self,
        creator: UserId,
    ) -> Result<CreatorDashboard, ServiceError> {
        let period = BillingPeriod::containing(self.clock.now());
        let mut tx = self.store.read().await?;
        let campaign = campaigns::campaign_by_creator(&mut tx, creator)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        let user = users::user_by_id(&mut tx, creator)
            .await?
            .ok_or(ServiceError::NotFound("creator"))?;
        let this_month = charges::period_totals(&mut tx, campaign.id, &period.to_string()).await?;
        let balance = ledger::creator_balance(&mut tx, campaign.id).await?;
        let income = dashboard::monthly_income(&mut tx, campaign.id, CHART_MONTHS).await?;
        let declined = dashboard::patrons(&mut tx, campaign.id, "", "declined", None, 50).await?;
        let retrying = dashboard::retrying_payments(&mut tx, campaign.id, 50).await?;
        let payouts = payouts::payouts_of_campaign(&mut tx, campaign.id, PAYOUTS_SHOWN).await?;
        let payout_postings =
            dashboard::payout_postings(&mut tx, campaign.id, PAYOUTS_SHOWN).await?;
        let mut view = campaign_view(self, &mut tx, campaign, user).await?;
        // The creator's own numbers are never the API's second-old cache.
        view.totals = campaigns::campaign_totals(&mut tx, view.campaign.id).await?;
        view.tier_patrons = campaigns::patrons_per_tier(&mut tx, view.campaign.id).await?;
        Ok(CreatorDashboard {
            view,
            period,
            this_month,
            balance,
            income,
            declined,
            retrying,
            payouts,
            payout_postings,
        })
    }

    /// A page of the creator's patrons: `search` matches email, username or
    /// name; `status` is `""` or one pledge status.
    pub async fn campaign_patrons(
        &self,
        creator: UserId,
        search: &str,
        status: &str,
        after: Option<PledgeId>,
        limit: i64,
    ) -> Result<Vec<PatronLine>, ServiceError> {
        if !matches!(status, "" | "active" | "declined" | "cancelled") {
            return Err(ServiceError::invalid(
                "status",
                "must be active, declined or cancelled",
            ));
        }
        let mut tx = self.store.read().await?;
        let campaign = campaigns::campaign_by_creator(&mut tx, creator)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        Ok(dashboard::patrons(
            &mut tx,
            campaign.id,
            search.trim(),
            status,
            after,
            limit.clamp(1, 10_000),
        )
        .await?)
    }
}

/// What a patron knows a creator by: their page's name, else theirs.
pub fn page_name(campaign: &CampaignRow, creator: &UserRow) -> String {
    campaign
        .page_name
        .clone()
        .unwrap_or_else(|| creator.public_name())
}
