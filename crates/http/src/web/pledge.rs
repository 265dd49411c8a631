//! The pledge flow: choose (`GET /{username}/pledge`), review the exact
//! total and enter a card (`POST /{username}/pledge/review`), confirm
//! (`POST /{username}/pledge`). One-off donations: `/{username}/donate`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::TierId;
use maecenas_services::ServiceError;
use maecenas_services::billing::{
    CardInput, NewDonationRequest, NewPledgeRequest, ShippingAddress,
};
use maecenas_services::patreon::CampaignView;
use maecenas_services::records::UserRow;
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{SignedForm, SignedIn, refusal};
use super::kit::{field_error, form_error, money, optional, parse_amount, plain_amount};
use super::layout::{Viewer, wide_page};
use super::public::creator_name;
use crate::AppState;

#[derive(Default, Clone, Deserialize)]
pub struct PledgeForm {
    /// A tier id, or empty for a custom amount.
    #[serde(default)]
    tier: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    cap: String,
    cover_fees: Option<String>,
    #[serde(default)]
    country: String,
    #[serde(default)]
    addressee: String,
    #[serde(default)]
    line_1: String,
    #[serde(default)]
    line_2: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    address_country: String,
    // Only on the review step.
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_exp: String,
    #[serde(default)]
    card_cvc: String,
}
maecenas_domain::debug_showing!(PledgeForm {
    tier,
    amount,
    cap,
    cover_fees,
    country,
    addressee,
    line_1,
    line_2,
    postal_code,
    city,
    state,
    address_country
});

const CHOICE_FIELDS: &[&str] = &[
    "tier",
    "amount",
    "pledge_cap",
    "vat_country",
    "shipping",
    "addressee",
    "line_1",
    "city",
    "country",
];
const CARD_FIELDS: &[&str] = &["card", "card_exp"];

struct Page<'a> {
    user: &'a UserRow,
    csrf: &'a str,
    view: &'a CampaignView,
}

impl Page<'_> {
    fn username(&self) -> String {
        self.view.creator.username.clone().unwrap_or_default()
    }

    fn respond(&self, status: StatusCode, title: &str, body: Markup) -> Response {
        let viewer = Viewer {
            user: self.user,
            csrf: self.csrf,
        };
        (status, wide_page(Some(&viewer), title, body)).into_response()
    }
}

/// The signed-in patron and the creator's page, or the answer to give instead.
async fn context(
    state: &AppState,
    SignedIn { user, csrf }: SignedIn,
    username: &str,
) -> Result<(UserRow, String, CampaignView), Response> {
    let view = match state.services.creator_page(username).await {
        Ok(view) => view,
        Err(err) => return Err(refusal(&user, &csrf, err)),
    };
    if view.creator.id == user.id {
        return Err(refusal(
            &user,
            &csrf,
            ServiceError::invalid("patron", "you cannot sponsor your own campaign"),
        ));
    }
    Ok((user, csrf, view))
}

#[derive(Debug, Deserialize)]
pub struct ChooseQuery {
    tier: Option<i64>,
}

pub async fn choose(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(username): Path<String>,
    Query(query): Query<ChooseQuery>,
) -> Response {
    let (user, csrf, view) = match context(&state, signed, &username).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let tier = query.tier.and_then(|id| {
        view.tiers
            .iter()
            .find(|t| t.id.get() == id && t.retired_at.is_none())
    });
    let form = PledgeForm {
        tier: tier.map(|t| t.id.get().to_string()).unwrap_or_default(),
        amount: tier
            .map(|t| plain_amount(t.amount_minor, &view.campaign.currency))
            .unwrap_or_default(),
        ..PledgeForm::default()
    };
    let page = Page {
        user: &user,
        csrf: &csrf,
        view: &view,
    };
    render_choice(&page, &form, None, StatusCode::OK)
}

fn render_choice(
    page: &Page<'_>,
    form: &PledgeForm,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let view = page.view;
    let currency = view.campaign.currency.as_str();
    let username = page.username();
    let name = creator_name(view);
    let body = html! {
        section.card {
            h1 { "Sponsor " (name) }
            (form_error(error, CHOICE_FIELDS))
            form method="post" action=(format!("/{username}/pledge/review")) {
                input type="hidden" name="csrf" value=(page.csrf);
                fieldset {
                    legend { "Tier" }
                    @for tier in view.tiers.iter().filter(|t| t.retired_at.is_none()) {
                        label.check {
                            input type="radio" name="tier" value=(tier.id.get()) checked[form.tier == tier.id.get().to_string()];
                            " " (tier.title) " — " (money(tier.amount_minor, currency)) " or more"
                            @if tier.requires_shipping { " (ships rewards)" }
                        }
                    }
                    label.check { input type="radio" name="tier" value="" checked[form.tier.is_empty()]; " No tier, just support" }
                }
                (field_error(error, "tier"))
                label for="amount" { "Amount per " (if view.campaign.is_monthly { "month" } else { "creation" }) " (" (currency) ")" }
                input id="amount" name="amount" inputmode="decimal" required value=(form.amount);
                p.muted { "Not below the tier's price." }
                (field_error(error, "amount"))
                @if !view.campaign.is_monthly {
                    label for="cap" { "Monthly cap (" (currency) ")" }
                    input id="cap" name="cap" inputmode="decimal" value=(form.cap);
                    p.muted { "The most you pay in a month, however much is created." }
                    (field_error(error, "pledge_cap"))
                }
                label.check { input type="checkbox" name="cover_fees" value="1" checked[form.cover_fees.is_some()]; " I'll cover the fees, so the creator gets my whole pledge" }
                label for="country" { "Your country (for VAT; two letters, e.g. DE)" }
                input id="country" name="country" maxlength="2" autocomplete="country" value=(form.country);
                (field_error(error, "vat_country"))
                fieldset {
                    legend { "Shipping address (only for tiers that ship rewards)" }
                    (field_error(error, "shipping"))
                    (text("addressee", "Name", &form.addressee, "name", error))
                    (text("line_1", "Address", &form.line_1, "address-line1", error))
                    (text("line_2", "Address, second line", &form.line_2, "address-line2", error))
                    (text("postal_code", "Postal code", &form.postal_code, "postal-code", error))
                    (text("city", "City", &form.city, "address-level2", error))
                    (text("state", "State or region", &form.state, "address-level1", error))
                    (text("address_country", "Country (two letters)", &form.address_country, "country", error))
                    (field_error(error, "country"))
                }
                button type="submit" { "Review" }
            }
        }
    };
    page.respond(status, "Sponsor", body)
}

fn text(
    name: &'static str,
    label: &str,
    value: &str,
    autocomplete: &str,
    error: Option<&ServiceError>,
) -> Markup {
    html! {
        label for=(name) { (label) }
        input id=(name) name=(name) autocomplete=(autocomplete) value=(value);
        (field_error(error, name))
    }
}

/// What the choice step decided, checked as far as can be without charging.
struct Choice {
    request: NewPledgeRequest,
}

fn decide(user: &UserRow, view: &CampaignView, form: &PledgeForm) -> Result<Choice, ServiceError> {
    let currency = view.campaign.currency.as_str();
    let tier = match form.tier.trim() {
        "" => None,
        id => {
            let id: i64 = id
                .parse()
                .map_err(|_| ServiceError::invalid("tier", "choose a tier"))?;
            let tier = view
                .tiers
                .iter()
                .find(|t| t.id.get() == id && t.retired_at.is_none())
                .ok_or_else(|| ServiceError::invalid("tier", "this tier is not available"))?;
            Some(tier)
        }
    };
    let amount = parse_amount("amount", &form.amount, currency)?;
    if amount == 0 {
        return Err(ServiceError::invalid("amount", "must be more than zero"));
    }
    if let Some(tier) = tier
        && amount < tier.amount_minor
    {
        return Err(ServiceError::invalid(
            "amount",
            format!(
                "must be at least the tier's price, {}",
                money(tier.amount_minor, currency)
            ),
        ));
    }
    let cap = match optional(&Some(form.cap.clone())) {
        Some(text) if !view.campaign.is_monthly => {
            Some(parse_amount("pledge_cap", &text, currency)?)
        }
        _ => None,
    };
    let has_address = !form.line_1.trim().is_empty() || !form.addressee.trim().is_empty();
    let shipping =
        (has_address || tier.is_some_and(|t| t.requires_shipping)).then(|| ShippingAddress {
            addressee: form.addressee.clone(),
            line_1: form.line_1.clone(),
            line_2: optional(&Some(form.line_2.clone())),
            postal_code: form.postal_code.clone(),
            city: form.city.clone(),
            state: optional(&Some(form.state.clone())),
            country: form.address_country.clone(),
        });
    if let Some(address) = &shipping {
        address.validate()?;
    }
    Ok(Choice {
        request: NewPledgeRequest {
            patron: user.id,
            campaign: view.campaign.id,
            amount_minor: amount,
            tier: tier.map(|t| t.id),
            card: None,
            patron_pays_fees: form.cover_fees.is_some(),
            pledge_cap_minor: cap,
            vat_country: optional(&Some(form.country.clone())),
            shipping,
        },
    })
}

pub async fn review(
    State(state): State<AppState>,
    Path(username): Path<String>,
    SignedForm { who, form }: SignedForm<PledgeForm>,
) -> Response {
    let (user, csrf, view) = match context(&state, who, &username).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = Page {
        user: &user,
        csrf: &csrf,
        view: &view,
    };
    match decide(&user, &view, &form) {
        Ok(choice) => render_review(&state, &page, &form, &choice, None, StatusCode::OK),
        Err(err) => render_choice(&page, &form, Some(&err), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

fn render_review(
    state: &AppState,
    page: &Page<'_>,
    form: &PledgeForm,
    choice: &Choice,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let view = page.view;
    let currency = view.campaign.currency.as_str();
    let request = &choice.request;
    let quote = state
        .services
        .fee_quote(request.amount_minor, request.patron_pays_fees);
    let tier = request
        .tier
        .and_then(|id| view.tiers.iter().find(|t| t.id == id));
    let username = page.username();
    let when = if view.campaign.is_monthly {
        "now, then on the 1st of every month"
    } else {
        "at the end of each month, for what was created"
    };
    let body = html! {
        section.card {
            h1 { "Review your pledge" }
            dl {
                dt { "Creator" } dd { (creator_name(view)) }
                dt { "Tier" } dd { @match tier { Some(t) => (t.title), None => "No tier" } }
                dt { "Pledge" } dd { (money(request.amount_minor, currency)) " per " (if view.campaign.is_monthly { "month" } else { "creation" }) }
                @if let Some(cap) = request.pledge_cap_minor { dt { "Monthly cap" } dd { (money(cap, currency)) } }
                dt { "Fees" } dd { (money(quote.gateway_fee_minor + quote.platform_fee_minor, currency)) @if request.patron_pays_fees { " (you cover them)" } @else { " (taken from the pledge)" } }
                dt { "You pay" } dd data-testid="total" { b { (money(quote.gross_minor, currency)) } " " (when) }
                dt { "The creator gets" } dd { (money(quote.creator_net_minor, currency)) }
            }
            (form_error(error, CARD_FIELDS))
            form method="post" action=(format!("/{username}/pledge")) {
                (hidden_choice(form, page.csrf))
                fieldset {
                    legend { "Card (" (state.services.gateway_name()) " gateway)" }
                    (card_inputs(form, error))
                }
                button type="submit" { "Confirm and pay " (money(quote.gross_minor, currency)) }
            }
            p { a href=(format!("/{username}/pledge")) { "Change my choice" } }
        }
    };
    page.respond(status, "Review your pledge", body)
}

fn card_inputs(form: &PledgeForm, error: Option<&ServiceError>) -> Markup {
    html! {
        label for="card_number" { "Card number" }
        input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required value=(form.card_number);
        (field_error(error, "card"))
        label for="card_exp" { "Expiry (MM/YY)" }
        input id="card_exp" name="card_exp" autocomplete="cc-exp" placeholder="MM/YY" required value=(form.card_exp);
        (field_error(error, "card_exp"))
        label for="card_cvc" { "Security code" }
        input id="card_cvc" name="card_cvc" inputmode="numeric" autocomplete="cc-csc" required;
        p.muted { "With the built-in test gateway, use 4242 4242 4242 4242 with any future date; 4000 0000 0000 0002 is declined." }
    }
}

fn hidden_choice(form: &PledgeForm, csrf: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="tier" value=(form.tier);
        input type="hidden" name="amount" value=(form.amount);
        input type="hidden" name="cap" value=(form.cap);
        @if form.cover_fees.is_some() { input type="hidden" name="cover_fees" value="1"; }
        input type="hidden" name="country" value=(form.country);
        input type="hidden" name="addressee" value=(form.addressee);
        input type="hidden" name="line_1" value=(form.line_1);
        input type="hidden" name="line_2" value=(form.line_2);
        input type="hidden" name="postal_code" value=(form.postal_code);
        input type="hidden" name="city" value=(form.city);
        input type="hidden" name="state" value=(form.state);
        input type="hidden" name="address_country" value=(form.address_country);
    }
}

/// "MM/YY", "MM/YYYY" or "MM YY" into (month, four-digit year).
pub fn parse_expiry(text: &str) -> Result<(u8, u16), ServiceError> {
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

pub fn card_of(
    form_number: &str,
    form_exp: &str,
    form_cvc: &str,
) -> Result<CardInput, ServiceError> {
    let (exp_month, exp_year) = parse_expiry(form_exp)?;
    Ok(CardInput {
        number: form_number.to_owned(),
        exp_month,
        exp_year,
        cvc: form_cvc.trim().to_owned(),
    })
}

pub async fn confirm(
    State(state): State<AppState>,
    Path(username): Path<String>,
    SignedForm { who, form }: SignedForm<PledgeForm>,
) -> Response {
    let (user, csrf, view) = match context(&state, who, &username).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = Page {
        user: &user,
        csrf: &csrf,
        view: &view,
    };
    let mut choice = match decide(&user, &view, &form) {
        Ok(choice) => choice,
        Err(err) => {
            return render_choice(&page, &form, Some(&err), StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    match card_of(&form.card_number, &form.card_exp, &form.card_cvc) {
        Ok(card) => choice.request.card = Some(card),
        Err(err) => {
            return render_review(
                &state,
                &page,
                &form,
                &choice,
                Some(&err),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    }
    match state.services.create_pledge(choice.request.clone()).await {
        Ok(receipt) => {
            let paid = receipt
                .charge
                .as_ref()
                .is_none_or(|c| c.status == "succeeded");
            let outcome = if paid { "thanks" } else { "declined" };
            Redirect::to(&format!("/panel?{outcome}={}", view.campaign.id.get())).into_response()
        }
        Err(err @ ServiceError::Invalid { field: "card", .. }) => render_review(
            &state,
            &page,
            &form,
            &choice,
            Some(&err),
            StatusCode::PAYMENT_REQUIRED,
        ),
        Err(ServiceError::Conflict(message)) if message.contains("already pledges") => {
            Redirect::to(&format!("/panel?already={}", view.campaign.id.get())).into_response()
        }
        Err(ServiceError::Conflict(message)) => {
            let err = ServiceError::invalid("tier", message);
            render_choice(&page, &form, Some(&err), StatusCode::CONFLICT)
        }
        Err(err @ ServiceError::Invalid { .. }) => {
            render_choice(&page, &form, Some(&err), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => refusal(&user, &csrf, err),
    }
}

#[derive(Default, Deserialize)]
pub struct DonationForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_exp: String,
    #[serde(default)]
    card_cvc: String,
}
maecenas_domain::debug_showing!(DonationForm { amount, message });

pub async fn donate_form(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(username): Path<String>,
) -> Response {
    let (user, csrf, view) = match context(&state, signed, &username).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = Page {
        user: &user,
        csrf: &csrf,
        view: &view,
    };
    render_donation(&page, &DonationForm::default(), None, StatusCode::OK)
}

fn render_donation(
    page: &Page<'_>,
    form: &DonationForm,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let currency = page.view.campaign.currency.as_str();
    let username = page.username();
    let card_form = PledgeForm {
        card_number: form.card_number.clone(),
        card_exp: form.card_exp.clone(),
        ..PledgeForm::default()
    };
    let body = html! {
        section.card {
            h1 { "Give once to " (creator_name(page.view)) }
            p.muted { "A one-off gift, charged now. No fees are added: the amount is what you pay." }
            (form_error(error, &["amount", "message", "card", "card_exp"]))
            form method="post" action=(format!("/{username}/donate")) {
                input type="hidden" name="csrf" value=(page.csrf);
                label for="amount" { "Amount (" (currency) ")" }
                input id="amount" name="amount" inputmode="decimal" required value=(form.amount);
                (field_error(error, "amount"))
                label for="message" { "Message (optional)" }
                textarea id="message" name="message" maxlength="1000" { (form.message) }
                fieldset { legend { "Card" } (card_inputs(&card_form, error)) }
                button type="submit" { "Give" }
            }
        }
    };
    page.respond(status, "Give once", body)
}

pub async fn donate(
    State(state): State<AppState>,
    Path(username): Path<String>,
    SignedForm { who, form }: SignedForm<DonationForm>,
) -> Response {
    let (user, csrf, view) = match context(&state, who, &username).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = Page {
        user: &user,
        csrf: &csrf,
        view: &view,
    };
    let outcome = async {
        let request = NewDonationRequest {
            donor: user.id,
            campaign: view.campaign.id,
            amount_minor: parse_amount("amount", &form.amount, &view.campaign.currency)?,
            card: Some(card_of(&form.card_number, &form.card_exp, &form.card_cvc)?),
            message: form.message.trim().to_owned(),
        };
        state.services.donate(request).await
    }
    .await;
    match outcome {
        Ok(receipt) if receipt.charge.status == "succeeded" => {
            Redirect::to(&format!("/panel?gave={}", view.campaign.id.get())).into_response()
        }
        Ok(receipt) => {
            let message = receipt
                .charge
                .failure_message
                .unwrap_or_else(|| "the payment did not go through".to_owned());
            let err = ServiceError::invalid("card", message);
            render_donation(&page, &form, Some(&err), StatusCode::PAYMENT_REQUIRED)
        }
        Err(err @ ServiceError::Invalid { .. }) => {
            render_donation(&page, &form, Some(&err), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => refusal(&user, &csrf, err),
    }
}

/// For the panel's change form.
pub fn tier_param(raw: &str) -> Result<Option<TierId>, ServiceError> {
    match raw.trim() {
        "" => Ok(None),
        id => id
            .parse::<i64>()
            .map(|id| Some(TierId::from(id)))
            .map_err(|_| ServiceError::invalid("tier", "choose a tier")),
    }
}
