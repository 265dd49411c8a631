//! What a person types on the pledge pages, parsed and checked here, so the
//! web layer parses nothing and the rules have one wording: amounts in the
//! campaign's currency, the tier and its price, the cap, the shipping
//! address, the card's expiry.

use maecenas_domain::{CampaignId, Currency, Money, TierId, UserId};
use maecenas_store::campaigns::{CampaignRow, TierRow};

use super::payment::CardInput;
use crate::ServiceError;

/// A pledge as typed on `/{username}/pledge`.
#[derive(Debug, Clone, Default)]
pub struct TypedPledge {
    /// A tier id, or empty for an amount of the patron's choosing.
    pub tier: String,
    pub amount: String,
    /// Per-creation campaigns: the most a month may cost (empty: no cap).
    pub cap: String,
    pub cover_fees: bool,
    /// Where the patron pays VAT (ISO 3166-1 alpha-2), or empty.
    pub vat_country: String,
    pub shipping: TypedAddress,
}

/// A shipping address as typed; all empty means none.
#[derive(Debug, Clone, Default)]
pub struct TypedAddress {
    pub addressee: String,
    pub line_1: String,
    pub line_2: String,
    pub postal_code: String,
    pub city: String,
    pub state: String,
    pub country: String,
}

/// A card as typed: number, expiry (`MM/YY`), CVC.
#[derive(Clone, Default)]
pub struct TypedCard {
    pub number: String,
    pub exp: String,
    pub cvc: String,
}
maecenas_domain::debug_showing!(TypedCard {});

impl TypedCard {
    pub fn parse(&self) -> Result<CardInput, ServiceError> {
        let (exp_month, exp_year) = parse_expiry(&self.exp)?;
        Ok(CardInput {
            number: self.number.clone(),
            exp_month,
            exp_year,
            cvc: self.cvc.trim().to_owned(),
        })
    }
}

fn parse_expiry(text: &str) -> Result<(u8, u16), ServiceError> {
    let bad = || ServiceError::invalid("card_exp", "write the expiry as MM/YY");
    let cleaned = text.trim().replace(' ', "/");
    let (month, year) = cleaned.split_once('/').ok_or_else(bad)?;
    let month: u8 = month.trim().parse().map_err(|_| bad())?;
    let year: u16 = year.trim().parse().map_err(|_| bad())?;
    let year = if year < 100 { 2000 + year } else { year };
    if !(1..=12).contains(&month) || !(2000..=2200).contains(&year) {
        return Err(bad());
    }
    Ok((month, year))
}

/// What a person typed as an amount of `currency`, in minor units.
pub fn parse_amount(field: &'static str, text: &str, currency: &str) -> Result<i64, ServiceError> {
    let currency: Currency = currency
        .parse()
        .map_err(|_| ServiceError::invalid(field, "The campaign's currency is unknown."))?;
    currency
        .parse_amount(text)
        .map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// The tier a form chose: empty for none.
pub fn parse_tier_choice(raw: &str) -> Result<Option<TierId>, ServiceError> {
    match raw.trim() {
        "" => Ok(None),
        id => id
            .parse::<i64>()
            .map(|id| Some(TierId::from(id)))
            .map_err(|_| ServiceError::invalid("tier", "choose a tier")),
    }
}

/// A tier's price in its campaign's currency, as people read it.
pub(crate) fn price(amount_minor: i64, currency: &str) -> String {
    match currency.parse::<Currency>() {
        Ok(c) => Money::new(amount_minor, c).to_string(),
        Err(_) => format!("{amount_minor} {currency}"),
    }
}

/// The refusal of a creator pledging to their own campaign.
pub fn own_campaign() -> ServiceError {
    ServiceError::invalid("patron", "you cannot sponsor your own campaign")
}

/// The refusal of an amount under the tier's price.
pub(crate) fn under_price(tier: &TierRow, currency: &str) -> ServiceError {
    ServiceError::invalid(
        "amount",
        format!(
            "must be at least the tier's price, {}",
            price(tier.amount_minor, currency)
        ),
    )
}

fn trimmed(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The pledge a form asks for, checked against the campaign and the chosen
/// tier (`tier`: the row of the id the form named, if it exists).
pub fn decide(
    patron: UserId,
    campaign: &CampaignRow,
    tier: Option<&TierRow>,
    typed: &TypedPledge,
) -> Result<NewPledgeRequest, ServiceError> {
    let currency = campaign.currency.as_str();
    let tier = match parse_tier_choice(&typed.tier)? {
        None => None,
        Some(id) => Some(
            tier.filter(|t| t.id == id && t.campaign_id == campaign.id && t.retired_at.is_none())
                .ok_or_else(|| ServiceError::invalid("tier", "this tier is not available"))?,
        ),
    };
    let amount = parse_amount("amount", &typed.amount, currency)?;
    if amount == 0 {
        return Err(ServiceError::invalid("amount", "must be more than zero"));
    }
    if let Some(tier) = tier
        && amount < tier.amount_minor
    {
        return Err(under_price(tier, currency));
    }
    let cap = match trimmed(&typed.cap) {
        Some(text) if !campaign.is_monthly => Some(parse_amount("pledge_cap", &text, currency)?),
        _ => None,
    };
    let typed_address = &typed.shipping;
    let has_address =
        !typed_address.line_1.trim().is_empty() || !typed_address.addressee.trim().is_empty();
    let shipping =
        (has_address || tier.is_some_and(|t| t.requires_shipping)).then(|| ShippingAddress {
            addressee: typed_address.addressee.clone(),
            line_1: typed_address.line_1.clone(),
            line_2: trimmed(&typed_address.line_2),
            postal_code: typed_address.postal_code.clone(),
            city: typed_address.city.clone(),
            state: trimmed(&typed_address.state),
            country: typed_address.country.clone(),
        });
    if let Some(address) = &shipping {
        address.validate()?;
    }
    Ok(NewPledgeRequest {
        patron,
        campaign: campaign.id,
        amount_minor: amount,
        tier: tier.map(|t| t.id),
        card: None,
        patron_pays_fees: typed.cover_fees,
        pledge_cap_minor: cap,
        vat_country: trimmed(&typed.vat_country),
        shipping,
    })
}

#[derive(Debug, Clone)]
pub struct NewPledgeRequest {
    pub patron: UserId,
    pub campaign: CampaignId,
    pub amount_minor: i64,
    pub tier: Option<TierId>,
    /// A new card; `None`: the card the patron added last.
    pub card: Option<CardInput>,
    pub patron_pays_fees: bool,
    /// Per-creation campaigns: the most a month may cost.
    pub pledge_cap_minor: Option<i64>,
    pub vat_country: Option<String>,
    /// Required when the tier requires shipping.
    pub shipping: Option<ShippingAddress>,
}

/// Where a tier's rewards are sent.
#[derive(Debug, Clone, Default)]
pub struct ShippingAddress {
    pub addressee: String,
    pub line_1: String,
    pub line_2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub state: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

impl ShippingAddress {
    /// The checks `create_pledge` makes, for pages that review before confirming.
    pub fn validate(&self) -> Result<(), ServiceError> {
        check_address(self)
    }
}

pub(crate) fn check_country(field: &'static str, code: &str) -> Result<(), ServiceError> {
    let code = code.trim();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            field,
            "must be a two-letter country code (ISO 3166-1)",
        ))
    }
}

pub(crate) fn check_address(a: &ShippingAddress) -> Result<(), ServiceError> {
    for (field, value) in [
        ("addressee", &a.addressee),
        ("line_1", &a.line_1),
        ("city", &a.city),
    ] {
        if value.trim().is_empty() || value.chars().count() > 200 {
            return Err(ServiceError::invalid(field, "must be 1 to 200 characters"));
        }
    }
    check_country("country", &a.country)
}
