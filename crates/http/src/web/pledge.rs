//! The pledge flow: choose (`GET /{username}/pledge`), review the exact
//! total and enter a card (`POST /{username}/pledge/review`), confirm
//! (`POST /{username}/pledge`). One-off donations: `/{username}/donate`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_services::ServiceError;
use maecenas_services::billing::typed::{
    self, TypedAddress, TypedCard, TypedPledge, parse_tier_choice,
};
use maecenas_services::billing::{NewDonationRequest, NewPledgeRequest, PledgeOutcome};
use maecenas_services::patreon::CampaignView;
use maecenas_services::records::UserRow;
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{SignedForm, SignedIn, refusal};
use super::kit::{field_error, form_error, money, parse_amount, plain_amount};
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
        return Err(refusal(&user, &csrf, typed::own_campaign()));
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
    // Someone who already sponsors (or cancelled, and may resume) changes
    // that pledge on the panel: say so before asking for anything.
    match state
        .services
        .current_pledge_of(user.id, view.campaign.id)
        .await
    {
        Ok(Some(_)) => {
            return crate::redirect::see_other(&format!(
                "/panel?already={}",
                view.campaign.id.get()
            ));
        }
        Ok(None) => {}
        Err(err) => return refusal(&user, &csrf, err),
    }
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

/// The form as typed, for the services to parse.
fn typed(form: &PledgeForm) -> TypedPledge {
    TypedPledge {
        tier: form.tier.clone(),
        amount: form.amount.clone(),
        cap: form.cap.clone(),
        cover_fees: form.cover_fees.is_some(),
        vat_country: form.country.clone(),
        shipping: TypedAddress {
            addressee: form.addressee.clone(),
            line_1: form.line_1.clone(),
            line_2: form.line_2.clone(),
            postal_code: form.postal_code.clone(),
            city: form.city.clone(),
            state: form.state.clone(),
            country: form.address_country.clone(),
        },
    }
}

fn typed_card(form: &PledgeForm) -> TypedCard {
    TypedCard {
        number: form.card_number.clone(),
        exp: form.card_exp.clone(),
        cvc: form.card_cvc.clone(),
    }
}

/// The pledge the form asks for, checked against the page's campaign (the
/// review step: nothing is written).
fn decide(
    user: &UserRow,
    view: &CampaignView,
    form: &PledgeForm,
) -> Result<NewPledgeRequest, ServiceError> {
    let chosen = parse_tier_choice(&form.tier)?;
    let tier = chosen.and_then(|id| view.tiers.iter().find(|t| t.id == id));
    typed::decide(user.id, &view.campaign, tier, &typed(form))
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
        Ok(request) => render_review(&state, &page, &form, &request, None, StatusCode::OK),
        Err(err) => render_choice(&page, &form, Some(&err), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

fn render_review(
    state: &AppState,
    page: &Page<'_>,
    form: &PledgeForm,
    request: &NewPledgeRequest,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let view = page.view;
    let currency = view.campaign.currency.as_str();
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

pub async fn confirm(
    State(state): State<AppState>,
    Path(username): Path<String>,
    SignedForm { who, form }: SignedForm<PledgeForm>,
) -> Response {
    let made = state
        .services
        .pledge_from_page(&who.user, &username, &typed(&form), &typed_card(&form))
        .await;
    let err = match made {
        Ok((campaign, outcome)) => {
            let shown = match outcome {
                PledgeOutcome::Paid | PledgeOutcome::ChargedLater => "thanks",
                PledgeOutcome::Declined | PledgeOutcome::Unknown => "declined",
            };
            return crate::redirect::see_other(&format!("/panel?{shown}={}", campaign.get()));
        }
        Err(err) => err,
    };
    // Refused: the page again, with the refusal next to its field.
    let (user, csrf, view) = match context(&state, who, &username).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = Page {
        user: &user,
        csrf: &csrf,
        view: &view,
    };
    match err {
        ServiceError::Conflict(message) if message.contains("already pledges") => {
            crate::redirect::see_other(&format!("/panel?already={}", view.campaign.id.get()))
        }
        ServiceError::Conflict(message) => {
            let err = ServiceError::invalid("tier", message);
            render_choice(&page, &form, Some(&err), StatusCode::CONFLICT)
        }
        ServiceError::Invalid { field, .. } if CARD_FIELDS.contains(&field) => {
            match decide(&user, &view, &form) {
                Ok(request) => {
                    // The gateway's refusal of the card is a 402; a card typed wrong, a 422.
                    let status = if field == "card" {
                        StatusCode::PAYMENT_REQUIRED
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    };
                    render_review(&state, &page, &form, &request, Some(&err), status)
                }
                Err(other) => {
                    render_choice(&page, &form, Some(&other), StatusCode::UNPROCESSABLE_ENTITY)
                }
            }
        }
        err @ ServiceError::Invalid { .. } => {
            render_choice(&page, &form, Some(&err), StatusCode::UNPROCESSABLE_ENTITY)
        }
        err => refusal(&user, &csrf, err),
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
            card: Some(
                TypedCard {
                    number: form.card_number.clone(),
                    exp: form.card_exp.clone(),
                    cvc: form.card_cvc.clone(),
                }
                .parse()?,
            ),
            message: form.message.trim().to_owned(),
        };
        state.services.donate(request).await
    }
    .await;
    match outcome {
        Ok(receipt) if receipt.charge.status == maecenas_domain::ChargeStatus::Succeeded => {
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
