//! Pledging, donating and changing cards: the use cases that take money
//! right away. The web pledge flow and `maecenas admin pledge create` both
//! come here.

use maecenas_domain::{
    BillingPeriod, CampaignId, ChargeId, DonationId, DonationStatus, PledgeId, TierId, Trigger,
    UserId,
};
use maecenas_store::campaigns::{self, CampaignRow, TierRow};
use maecenas_store::cards::{AddressRow, PaymentMethodRow};
use maecenas_store::charges::{ChargeRow, NewCharge};
use maecenas_store::donations::DonationRow;
use maecenas_store::pledges::{NewPledge, PledgeRow, PledgeTerms};
use maecenas_store::users::UserRow;
use maecenas_store::{OffsetDateTime, StoreError, Tx, users};
use maecenas_store::{cards, charges, donations, pledges};

use super::RunReport;
use super::gateway::{CardInput, GatewayError};
pub use super::typed::{NewPledgeRequest, ShippingAddress};
use super::typed::{
    TypedCard, TypedPledge, check_address, check_country, decide, own_campaign, parse_tier_choice,
    under_price,
};
use crate::creators::published_creator;
use crate::webhooks::PendingEvent;
use crate::{ServiceError, Services, secrets};

/// What a patron changes on a current pledge; it applies from the next charge.
#[derive(Debug, Clone)]
pub struct PledgeChange {
    pub tier: Option<TierId>,
    pub amount_minor: i64,
    pub pledge_cap_minor: Option<i64>,
    pub patron_pays_fees: bool,
}

/// A new pledge and what its first charge did.
#[derive(Debug, Clone)]
pub struct PledgeReceipt {
    pub pledge: PledgeRow,
    pub card: PaymentMethodRow,
    /// The current month's charge (monthly campaigns; per-creation ones are
    /// charged when the month closes).
    pub charge: Option<ChargeRow>,
}

#[derive(Debug, Clone)]
pub struct NewDonationRequest {
    pub donor: UserId,
    pub campaign: CampaignId,
    pub amount_minor: i64,
    pub card: Option<CardInput>,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct DonationReceipt {
    pub donation: DonationRow,
    pub charge: ChargeRow,
}

fn card_refused(e: GatewayError) -> ServiceError {
    match e {
        GatewayError::Card { message, .. } => ServiceError::invalid("card", message),
        GatewayError::Unsupported(message) => ServiceError::invalid("card", message),
        GatewayError::Unavailable(message) => {
            ServiceError::Internal(anyhow::anyhow!("payment gateway unavailable: {message}"))
        }
    }
}

impl Services {
    /// What a pledge of `amount_minor` costs the patron each month and what
    /// the creator gets, with the fees this platform charges.
    pub fn fee_quote(
        &self,
        amount_minor: i64,
        patron_pays_fees: bool,
    ) -> maecenas_domain::FeeBreakdown {
        self.billing
            .settings
            .fees
            .charge_for(amount_minor, patron_pays_fees)
    }

    /// Pledges, and charges the current month at once (so the month is paid
    /// from the start). A declined first charge leaves the pledge on the
    /// retry schedule like any other; the receipt says so.
    pub async fn create_pledge(
        &self,
        request: NewPledgeRequest,
    ) -> Result<PledgeReceipt, ServiceError> {
        let (campaign, patron_email) = {
            let mut tx = self.store.read().await?;
            let campaign = campaigns::campaign_by_id(&mut tx, request.campaign)
                .await?
                .ok_or(ServiceError::NotFound("campaign"))?;
            let patron = users::user_by_id(&mut tx, request.patron)
                .await?
                .filter(|u| u.standing().is_active())
                .ok_or(ServiceError::NotFound("patron"))?;
            check_new_pledge(&mut tx, &campaign, &request, None).await?;
            (campaign, patron.email)
        };
        let made = self
            .pledge_checked(campaign, &patron_email, request)
            .await?;
        let mut tx = self.store.read().await?;
        let pledge = pledges::pledge_by_id(&mut tx, made.pledge)
            .await?
            .ok_or(ServiceError::NotFound("pledge"))?;
        let charge = match made.charge {
            Some(id) => charges::charge_by_id(&mut tx, id).await?,
            None => None,
        };
        Ok(PledgeReceipt {
            pledge,
            card: made.card,
            charge,
        })
    }

    /// The pledge page's use case: the pledge `patron` typed for the creator
    /// at `username`, parsed and checked here, then made and charged as
    /// [`Services::create_pledge`] does. Three transactions (checks; the
    /// pledge and its charge; the charge's outcome); the gateway is called
    /// between them, never inside one.
    pub async fn pledge_from_page(
        &self,
        patron: &UserRow,
        username: &str,
        typed: &TypedPledge,
        card: &TypedCard,
    ) -> Result<(CampaignId, PledgeOutcome), ServiceError> {
        let (campaign, request) = {
            let mut tx = self.store.read().await?;
            let (creator, campaign) = published_creator(&mut tx, username).await?;
            if creator.id == patron.id {
                return Err(own_campaign());
            }
            let tier = match parse_tier_choice(&typed.tier)? {
                Some(id) => campaigns::tier_by_id(&mut tx, id).await?,
                None => None,
            };
            let mut request = decide(patron.id, &campaign, tier.as_ref(), typed)?;
            request.card = Some(card.parse()?);
            check_new_pledge(&mut tx, &campaign, &request, tier).await?;
            (campaign, request)
        };
        let campaign_id = campaign.id;
        let made = self
            .pledge_checked(campaign, &patron.email, request)
            .await?;
        let outcome = if made.charge.is_none() {
            PledgeOutcome::ChargedLater
        } else if made.report.succeeded > 0 {
            PledgeOutcome::Paid
        } else if made.report.retrying > 0 || made.report.declined > 0 {
            PledgeOutcome::Declined
        } else {
            PledgeOutcome::Unknown
        };
        Ok((campaign_id, outcome))
    }

    /// Makes a pledge whose request was checked, and charges it: attaches the
    /// card (at the gateway), writes the pledge, its first charge and their
    /// events in one transaction, then sends the charge.
    async fn pledge_checked(
        &self,
        campaign: CampaignRow,
        patron_email: &str,
        request: NewPledgeRequest,
    ) -> Result<PledgeMade, ServiceError> {
        let new_card = self
            .attach(request.patron, request.card.as_ref(), patron_email)
            .await?;
        let now = self.clock.now();
        let run = format!("pledge-{}", secrets::random_hex(16));
        let pledge_id: PledgeId = self.ids.next();
        let mut tx = self.store.write().await?;
        let card = self.card_to_use(&mut tx, request.patron, new_card).await?;
        // Checked again inside the transaction: a slot may have gone meanwhile.
        let tier = match request.tier {
            Some(tier) => Some(check_tier(&mut tx, &campaign, tier, request.amount_minor).await?),
            None => None,
        };
        let address_id = match &request.shipping {
            Some(address) => {
                let row = AddressRow {
                    id: self.ids.next(),
                    user_id: request.patron,
                    addressee: address.addressee.trim().to_owned(),
                    line_1: address.line_1.trim().to_owned(),
                    line_2: address.line_2.clone().filter(|l| !l.trim().is_empty()),
                    postal_code: address.postal_code.trim().to_owned(),
                    city: address.city.trim().to_owned(),
                    state: address.state.clone().filter(|s| !s.trim().is_empty()),
                    country: address.country.trim().to_ascii_uppercase(),
                    phone_number: None,
                    created_at: now,
                    updated_at: now,
                };
                cards::insert_address(&mut tx, &row).await?;
                Some(row.id)
            }
            None => None,
        };
        let insert = pledges::insert_pledge(
            &mut tx,
            &NewPledge {
                id: pledge_id,
                patron_id: request.patron,
                campaign_id: campaign.id,
                tier_id: request.tier,
                amount_minor: request.amount_minor,
                currency: campaign.currency.clone(),
                pledge_cap_minor: request.pledge_cap_minor,
                patron_pays_fees: request.patron_pays_fees,
                address_id,
                payment_method_id: Some(card.id),
                vat_country: request
                    .vat_country
                    .as_deref()
                    .map(|c| c.trim().to_ascii_uppercase()),
                created_at: now,
            },
        )
        .await;
        match insert {
            Err(StoreError::Conflict) => return Err(already_pledges()),
            other => other?,
        }
        let mut claimed = Vec::new();
        if campaign.is_monthly {
            let fees = self
                .billing
                .settings
                .fees
                .charge_for(request.amount_minor, request.patron_pays_fees);
            let charge = NewCharge {
                id: self.ids.next(),
                kind: "pledge",
                pledge_id: Some(pledge_id),
                donation_id: None,
                period: Some(BillingPeriod::containing(now).to_string()),
                patron_id: request.patron,
                campaign_id: campaign.id,
                payment_method_id: Some(card.id.get()),
                currency: campaign.currency.clone(),
                amount_minor: fees.gross_minor,
                gateway_fee_minor: fees.gateway_fee_minor,
                platform_fee_minor: fees.platform_fee_minor,
                creator_net_minor: fees.creator_net_minor,
                gateway: self.billing.gateway_name().to_owned(),
                claimed_by: run,
                claimed_until: now + self.billing.settings.lease,
                created_at: now,
            };
            let ids: Vec<i64> = charges::insert_charges(&mut tx, &[charge])
                .await?
                .iter()
                .map(|id| id.get())
                .collect();
            claimed = charges::charges_with_cards(&mut tx, &ids).await?;
        }
        let returning =
            pledges::pledged_before(&mut tx, request.patron, campaign.id, pledge_id).await?;
        let event = PendingEvent {
            pledge: pledge_id,
            campaign: campaign.id,
            triggers: Trigger::on_pledge_created(!returning).to_vec(),
            charge: None,
        };
        let deliveries = self.write_events(&mut tx, &[event], now).await?;
        self.mail_new_patron_in(
            &mut tx,
            request.patron,
            &campaign,
            tier.as_ref().map(|t| t.title.as_str()),
            request.amount_minor,
        )
        .await?;
        tx.commit().await?;
        self.webhooks_written(deliveries);
        let charge = claimed.first().map(|c| c.charge.id);
        let mut report = RunReport::default();
        self.attempt(claimed, &mut report).await?;
        Ok(PledgeMade {
            pledge: pledge_id,
            card,
            charge,
            report,
        })
    }

    /// A one-off donation, charged at once (no retries: the donor sees the answer).
    pub async fn donate(
        &self,
        request: NewDonationRequest,
    ) -> Result<DonationReceipt, ServiceError> {
        if request.amount_minor <= 0 {
            return Err(ServiceError::invalid("amount", "must be more than zero"));
        }
        let (campaign, email) = {
            let mut tx = self.store.read().await?;
            let campaign = campaigns::campaign_by_id(&mut tx, request.campaign)
                .await?
                .ok_or(ServiceError::NotFound("campaign"))?;
            let donor = users::user_by_id(&mut tx, request.donor)
                .await?
                .filter(|u| u.standing().is_active())
                .ok_or(ServiceError::NotFound("donor"))?;
            (campaign, donor.email)
        };
        let new_card = self
            .attach(request.donor, request.card.as_ref(), &email)
            .await?;
        let now = self.clock.now();
        let donation_id: DonationId = self.ids.next();
        let mut tx = self.store.write().await?;
        let card = self.card_to_use(&mut tx, request.donor, new_card).await?;
        donations::insert_donation(
            &mut tx,
            &DonationRow {
                id: donation_id,
                donor_id: request.donor,
                campaign_id: campaign.id,
                amount_minor: request.amount_minor,
                currency: campaign.currency.clone(),
                message: request.message.trim().to_owned(),
                payment_method_id: Some(card.id.get()),
                status: DonationStatus::Pending,
                active_until: None,
                created_at: now,
            },
        )
        .await?;
        let fees = self
            .billing
            .settings
            .fees
            .charge_for(request.amount_minor, false);
        let charge = NewCharge {
            id: self.ids.next(),
            kind: "donation",
            pledge_id: None,
            donation_id: Some(donation_id.get()),
            period: None,
            patron_id: request.donor,
            campaign_id: campaign.id,
            payment_method_id: Some(card.id.get()),
            currency: campaign.currency.clone(),
            amount_minor: fees.gross_minor,
            gateway_fee_minor: fees.gateway_fee_minor,
            platform_fee_minor: fees.platform_fee_minor,
            creator_net_minor: fees.creator_net_minor,
            gateway: self.billing.gateway_name().to_owned(),
            claimed_by: format!("donation-{}", secrets::random_hex(16)),
            claimed_until: now + self.billing.settings.lease,
            created_at: now,
        };
        let inserted = charges::insert_charges(&mut tx, &[charge]).await?;
        let charge_id = *inserted
            .first()
            .ok_or_else(|| anyhow::anyhow!("a new donation's charge was not inserted"))?;
        let claimed = charges::charges_with_cards(&mut tx, &[charge_id.get()]).await?;
        tx.commit().await?;
        self.attempt(claimed, &mut RunReport::default()).await?;
        let mut tx = self.store.read().await?;
        let donation = donations::donations_of_donor(&mut tx, campaign.id, request.donor)
            .await?
            .into_iter()
            .find(|d| d.id == donation_id)
            .ok_or(ServiceError::NotFound("donation"))?;
        let charge = charges::charge_by_id(&mut tx, charge_id)
            .await?
            .ok_or(ServiceError::NotFound("charge"))?;
        Ok(DonationReceipt { donation, charge })
    }

    /// A new card for all of a patron's pledges. Charges that failed on the
    /// old card are tried again on the new one at once.
    pub async fn update_card(
        &self,
        patron: UserId,
        card: CardInput,
    ) -> Result<RunReport, ServiceError> {
        let email = {
            let mut tx = self.store.read().await?;
            users::user_by_id(&mut tx, patron)
                .await?
                .ok_or(ServiceError::NotFound("patron"))?
                .email
        };
        let attached = self.attach(patron, Some(&card), &email).await?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let card = self.card_to_use(&mut tx, patron, attached).await?;
        let changed = pledges::set_pledges_card(&mut tx, patron, card.id.get(), now).await?;
        charges::reopen_charges_of_patron(&mut tx, patron, card.id.get(), now).await?;
        let events: Vec<PendingEvent> = changed
            .into_iter()
            .map(|(pledge, campaign)| PendingEvent {
                pledge,
                campaign,
                triggers: Trigger::ON_PLEDGE_UPDATED.to_vec(),
                charge: None,
            })
            .collect();
        let deliveries = self.write_events(&mut tx, &events, now).await?;
        tx.commit().await?;
        self.webhooks_written(deliveries);
        let run = format!("card-{}", secrets::random_hex(16));
        let mut report = RunReport::default();
        self.attempt_due(&run, Some(patron), &mut report, &crate::billing::Quiet)
            .await?;
        Ok(report)
    }

    async fn attach(
        &self,
        owner: UserId,
        card: Option<&CardInput>,
        email: &str,
    ) -> Result<Option<PaymentMethodRow>, ServiceError> {
        let Some(card) = card else { return Ok(None) };
        let today = self.clock.now().date();
        let attached = self
            .billing
            .gateway
            .attach_card(card, email, today)
            .await
            .map_err(card_refused)?;
        Ok(Some(PaymentMethodRow {
            id: self.ids.next(),
            user_id: owner,
            gateway: self.billing.gateway_name().to_owned(),
            gateway_ref: attached.gateway_ref,
            brand: attached.brand,
            last4: attached.last4,
            exp_month: i32::from(attached.exp_month),
            exp_year: i32::from(attached.exp_year),
            is_verified: true,
            has_failed_payment: false,
            created_at: self.clock.now(),
            removed_at: None,
        }))
    }

    /// Stores a newly attached card, or finds the patron's last one.
    async fn card_to_use(
        &self,
        tx: &mut Tx,
        owner: UserId,
        new_card: Option<PaymentMethodRow>,
    ) -> Result<PaymentMethodRow, ServiceError> {
        match new_card {
            Some(card) => {
                cards::insert_payment_method(tx, &card).await?;
                Ok(card)
            }
            None => cards::latest_payment_method(tx, owner)
                .await?
                .filter(|c| c.gateway == self.billing.gateway_name())
                .ok_or_else(|| {
                    ServiceError::invalid("card", "no card on file: give a card number")
                }),
        }
    }
}

/// The tier must belong to the campaign, be open, have a slot, and the
/// amount must reach its price.
/// A pledge written and its first charge sent.
struct PledgeMade {
    pledge: PledgeId,
    card: PaymentMethodRow,
    charge: Option<ChargeId>,
    report: RunReport,
}

/// What became of a pledge made on the pledge page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PledgeOutcome {
    /// The month is paid.
    Paid,
    /// The card was declined; the charge is retried as any other.
    Declined,
    /// A per-creation pledge: charged when the month closes.
    ChargedLater,
    /// The gateway did not answer; the next billing run finds out.
    Unknown,
}

fn already_pledges() -> ServiceError {
    ServiceError::Conflict("this patron already pledges to this campaign")
}

/// The rules a new pledge must meet before a card is attached: not the
/// creator's own campaign, a tier of this campaign at its price with a slot,
/// an address when the tier ships, a country code, no current pledge.
/// `tier`: the row of `request.tier` when the caller has read it already.
async fn check_new_pledge(
    tx: &mut Tx,
    campaign: &CampaignRow,
    request: &NewPledgeRequest,
    tier: Option<TierRow>,
) -> Result<(), ServiceError> {
    if request.amount_minor <= 0 {
        return Err(ServiceError::invalid("amount", "must be more than zero"));
    }
    if request
        .pledge_cap_minor
        .is_some_and(|cap| cap < request.amount_minor)
    {
        return Err(ServiceError::invalid(
            "pledge_cap",
            "must be at least the pledge amount",
        ));
    }
    if campaign.creator_id == request.patron {
        return Err(own_campaign());
    }
    if let Some(id) = request.tier {
        let row = match tier.filter(|t| t.id == id) {
            Some(row) => row,
            None => campaigns::tier_by_id(tx, id)
                .await?
                .ok_or(ServiceError::NotFound("tier"))?,
        };
        check_tier_row(tx, campaign, &row, request.amount_minor).await?;
        match &request.shipping {
            Some(address) => check_address(address)?,
            None if row.requires_shipping => {
                return Err(ServiceError::invalid(
                    "shipping",
                    "this tier ships rewards: a shipping address is required",
                ));
            }
            None => {}
        }
    }
    if let Some(country) = request.vat_country.as_deref() {
        check_country("vat_country", country)?;
    }
    if pledges::current_pledge(tx, request.patron, campaign.id)
        .await?
        .is_some()
    {
        return Err(already_pledges());
    }
    Ok(())
}

async fn check_tier(
    tx: &mut Tx,
    campaign: &CampaignRow,
    tier: TierId,
    amount: i64,
) -> Result<TierRow, ServiceError> {
    let row = campaigns::tier_by_id(tx, tier)
        .await?
        .ok_or(ServiceError::NotFound("tier"))?;
    check_tier_row(tx, campaign, &row, amount).await?;
    Ok(row)
}

/// A tier the pledge may take: of this campaign, not retired, at most its
/// price, with a slot left.
async fn check_tier_row(
    tx: &mut Tx,
    campaign: &CampaignRow,
    row: &TierRow,
    amount: i64,
) -> Result<(), ServiceError> {
    if row.campaign_id != campaign.id || row.retired_at.is_some() {
        return Err(ServiceError::NotFound("tier"));
    }
    if amount < row.amount_minor {
        return Err(under_price(row, &campaign.currency));
    }
    if let Some(limit) = row.patron_limit {
        let taken = campaigns::patrons_per_tier(tx, campaign.id)
            .await?
            .into_iter()
            .find(|(id, _)| *id == row.id.get())
            .map_or(0, |(_, n)| n);
        if taken >= i64::from(limit) {
            return Err(ServiceError::Conflict("this tier has no slot left"));
        }
    }
    Ok(())
}

impl Services {
    /// Cancels a patron's pledge: no further charges; the month already paid
    /// stays paid and entitled until it ends (Sponsus `is_active` false,
    /// `has_paid` true), then the pledge ends.
    pub async fn cancel_pledge(
        &self,
        patron: UserId,
        campaign: CampaignId,
    ) -> Result<PledgeRow, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let pledge = pledges::current_pledge(&mut tx, patron, campaign)
            .await?
            .ok_or(ServiceError::NotFound("pledge"))?;
        let (row, deliveries) = self.cancel_in(&mut tx, &pledge, now).await?;
        tx.commit().await?;
        self.webhooks_written(deliveries);
        Ok(row)
    }

    /// The patron's pledge to the campaign while it still counts (active,
    /// being retried, or cancelled with its paid month not over).
    pub async fn current_pledge_of(
        &self,
        patron: UserId,
        campaign: CampaignId,
    ) -> Result<Option<PledgeRow>, ServiceError> {
        let mut tx = self.store.read().await?;
        Ok(pledges::current_pledge(&mut tx, patron, campaign).await?)
    }

    /// Takes back a cancellation before the paid month is over: the same
    /// pledge, with its terms and its history, active again and charged as
    /// usual from the next month. A pledge that has ended is pledged anew.
    pub async fn resume_pledge(
        &self,
        patron: UserId,
        campaign: CampaignId,
    ) -> Result<PledgeRow, ServiceError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let pledge = pledges::current_pledge(&mut tx, patron, campaign)
            .await?
            .ok_or(ServiceError::NotFound("pledge"))?;
        if !pledges::resume_pledge(&mut tx, pledge.id, now).await? {
            return Err(ServiceError::Conflict("this pledge is not cancelled"));
        }
        let row = pledges::pledge_by_id(&mut tx, pledge.id)
            .await?
            .ok_or(ServiceError::NotFound("pledge"))?;
        let event = PendingEvent {
            pledge: pledge.id,
            campaign: pledge.campaign_id,
            triggers: Trigger::ON_PLEDGE_UPDATED.to_vec(),
            charge: None,
        };
        let deliveries = self.write_events(&mut tx, &[event], now).await?;
        tx.commit().await?;
        self.webhooks_written(deliveries);
        Ok(row)
    }

    /// Cancels `pledge` in the caller's transaction: its open retries stop
    /// and its cancellation events are written. Returns the pledge as it is
    /// now and the deliveries written (for [`Services::webhooks_written`]
    /// once the caller commits).
    pub(crate) async fn cancel_in(
        &self,
        tx: &mut Tx,
        pledge: &PledgeRow,
        now: OffsetDateTime,
    ) -> Result<(PledgeRow, usize), ServiceError> {
        if !pledges::cancel_pledge(tx, pledge.id, now).await? {
            return Err(ServiceError::Conflict("this pledge is not active"));
        }
        // Retries of an unpaid month stop too: cancelling is not a promise to pay.
        charges::stop_open_charges_of_pledge(tx, pledge.id, now).await?;
        let row = pledges::pledge_by_id(tx, pledge.id)
            .await?
            .ok_or(ServiceError::NotFound("pledge"))?;
        let event = PendingEvent {
            pledge: pledge.id,
            campaign: pledge.campaign_id,
            triggers: Trigger::ON_PLEDGE_CANCELLED.to_vec(),
            charge: None,
        };
        let deliveries = self.write_events(tx, &[event], now).await?;
        self.mail_pledge_cancelled_in(tx, &row).await?;
        Ok((row, deliveries))
    }

    /// Changes the tier, amount, cap or who pays the fees of a current pledge.
    /// The month already charged stays as it is; the next charge uses the new terms.
    pub async fn change_pledge(
        &self,
        patron: UserId,
        campaign: CampaignId,
        change: PledgeChange,
    ) -> Result<PledgeRow, ServiceError> {
        if change.amount_minor <= 0 {
            return Err(ServiceError::invalid("amount", "must be more than zero"));
        }
        if change
            .pledge_cap_minor
            .is_some_and(|cap| cap < change.amount_minor)
        {
            return Err(ServiceError::invalid(
                "pledge_cap",
                "must be at least the pledge amount",
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let pledge = pledges::current_pledge(&mut tx, patron, campaign)
            .await?
            .filter(|p| p.cancelled_at.is_none())
            .ok_or(ServiceError::NotFound("pledge"))?;
        let campaign_row = campaigns::campaign_by_id(&mut tx, campaign)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        match change.tier {
            Some(tier) if pledge.tier() != Some(tier) => {
                check_tier(&mut tx, &campaign_row, tier, change.amount_minor).await?;
                let needs_shipping = campaigns::tier_by_id(&mut tx, tier)
                    .await?
                    .is_some_and(|t| t.requires_shipping);
                if needs_shipping && pledge.address_id.is_none() {
                    return Err(ServiceError::invalid(
                        "shipping",
                        "this tier ships rewards: pledge again with a shipping address",
                    ));
                }
            }
            Some(tier) => {
                // Staying on one's tier: the slot is already one's own; the price still holds.
                let row = campaigns::tier_by_id(&mut tx, tier)
                    .await?
                    .ok_or(ServiceError::NotFound("tier"))?;
                if change.amount_minor < row.amount_minor {
                    return Err(ServiceError::invalid(
                        "amount",
                        "must be at least the tier's price",
                    ));
                }
            }
            None => {}
        }
        let terms = PledgeTerms {
            tier_id: change.tier,
            amount_minor: change.amount_minor,
            pledge_cap_minor: change.pledge_cap_minor,
            patron_pays_fees: change.patron_pays_fees,
        };
        if !pledges::change_pledge_terms(&mut tx, pledge.id, &terms, now).await? {
            return Err(ServiceError::Conflict("this pledge has ended"));
        }
        let event = PendingEvent {
            pledge: pledge.id,
            campaign,
            triggers: Trigger::ON_PLEDGE_UPDATED.to_vec(),
            charge: None,
        };
        let deliveries = self.write_events(&mut tx, &[event], now).await?;
        let row = pledges::pledge_by_id(&mut tx, pledge.id)
            .await?
            .ok_or(ServiceError::NotFound("pledge"))?;
        tx.commit().await?;
        self.webhooks_written(deliveries);
        Ok(row)
    }
}
