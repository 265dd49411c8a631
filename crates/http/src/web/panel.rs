//! `/panel`: the patron's sponsorships: change, cancel, new card, history.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::{CampaignId, ChargeStatus, PledgeStatus};
use maecenas_services::ServiceError;
use maecenas_services::billing::PledgeChange;
use maecenas_services::billing::typed::{TypedCard, parse_tier_choice};
use maecenas_services::panel::{PatronPanel, Sponsorship};
use maecenas_services::records::{ChargeRow, UserRow};
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{Button, SignedForm, SignedIn, failure, refusal};
use super::kit::{
    date, field_error, form_error, markdown, money, optional, parse_amount, plain_amount,
};
use super::layout::{Viewer, wide_page};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct PanelQuery {
    thanks: Option<i64>,
    declined: Option<i64>,
    already: Option<i64>,
    gave: Option<i64>,
    changed: Option<i64>,
    cancelled: Option<i64>,
    resumed: Option<i64>,
    card: Option<String>,
}

/// A refusal and the sponsorship (or the card form: `None`) it belongs to.
struct Failed<'a> {
    campaign: Option<CampaignId>,
    error: &'a ServiceError,
}

pub async fn show(
    State(state): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    Query(query): Query<PanelQuery>,
) -> Response {
    render(&state, &user, &csrf, &query, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    user: &UserRow,
    csrf: &str,
    query: &PanelQuery,
    failed: Option<Failed<'_>>,
    status: StatusCode,
) -> Response {
    let panel = match state.services.patron_panel(user.id).await {
        Ok(panel) => panel,
        Err(err) => return failure(err),
    };
    let name_of = |id: Option<i64>| {
        id.and_then(|id| panel.campaign_names.get(&CampaignId::from(id)).cloned())
            .unwrap_or_else(|| "the creator".to_owned())
    };
    let notice = if query.thanks.is_some() {
        Some(format!(
            "Thank you! You now sponsor {}.",
            name_of(query.thanks)
        ))
    } else if query.gave.is_some() {
        Some(format!(
            "Thank you for your gift to {}.",
            name_of(query.gave)
        ))
    } else if query.changed.is_some() {
        Some("Your pledge was changed. The new amount applies from the next charge.".to_owned())
    } else if query.resumed.is_some() {
        Some(format!(
            "Welcome back: your pledge to {} is active again, on the same terms.",
            name_of(query.resumed)
        ))
    } else if query.cancelled.is_some() {
        Some(
            "Your pledge was cancelled. It stays active until the end of the month you paid for."
                .to_owned(),
        )
    } else if query.card.is_some() {
        Some(
            "Your card was updated. Payments that failed are being tried again with it.".to_owned(),
        )
    } else {
        query.already.map(|id| {
            let cancelled = panel
                .sponsorships
                .iter()
                .any(|s| s.campaign.id.get() == id && s.pledge.cancelled_at.is_some());
            if cancelled {
                format!(
                    "Your pledge to {} is cancelled, and counts until the end of the month you paid for: resume it below, on the same terms.",
                    name_of(query.already)
                )
            } else {
                format!(
                    "You already sponsor {}: change your pledge below.",
                    name_of(query.already)
                )
            }
        })
    };
    let warning = query.declined.map(|_| {
        format!(
            "Your pledge to {} is saved, but the first payment was declined. Update your card below; we will try again.",
            name_of(query.declined)
        )
    });
    // A new patron (even one whose first payment is being retried) gets the
    // creator's thank-you message.
    let welcome = query
        .thanks
        .or(query.declined)
        .and_then(|id| {
            panel
                .sponsorships
                .iter()
                .find(|s| s.campaign.id.get() == id)
        })
        .filter(|s| s.campaign.thanks_msg.is_some() || s.campaign.thanks_video_url.is_some());
    let viewer = Viewer { user, csrf };
    let card_error = match &failed {
        Some(Failed {
            campaign: None,
            error,
        }) => Some(*error),
        _ => None,
    };
    let body = html! {
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        @if let Some(warning) = &warning { p.error role="alert" { (warning) } }
        @if let Some(s) = welcome {
            section.card data-testid="thanks" {
                h2 { "A message from " (name_of(Some(s.campaign.id.get()))) }
                @if let Some(message) = &s.campaign.thanks_msg { (markdown(message)) }
                @if let Some(video) = &s.campaign.thanks_video_url {
                    p { a href=(video) rel="noopener nofollow" { "Watch the thank-you video" } }
                }
            }
        }
        section.card {
            h1 { "My sponsorships" }
            @if panel.sponsorships.is_empty() { p.muted { "You do not sponsor anyone yet." } }
            @for s in &panel.sponsorships {
                @let error = match &failed { Some(Failed { campaign: Some(id), error }) if *id == s.campaign.id => Some(*error), _ => None };
                (sponsorship(csrf, s, error))
            }
        }
        section.card #card {
            h2 { "Card" }
            p.muted { "A new card is used for all your sponsorships, and for any payment that failed." }
            (form_error(card_error, &["card", "card_exp"]))
            form method="post" action="/panel/card" {
                input type="hidden" name="csrf" value=(csrf);
                label for="card_number" { "Card number" }
                input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required;
                (field_error(card_error, "card"))
                label for="card_exp" { "Expiry (MM/YY)" }
                input id="card_exp" name="card_exp" autocomplete="cc-exp" placeholder="MM/YY" required;
                (field_error(card_error, "card_exp"))
                label for="card_cvc" { "Security code" }
                input id="card_cvc" name="card_cvc" inputmode="numeric" autocomplete="cc-csc" required;
                button type="submit" { "Update card" }
            }
        }
        (history(&panel))
    };
    (status, wide_page(Some(&viewer), "My sponsorships", body)).into_response()
}

fn payment_state(charge: Option<&ChargeRow>) -> Markup {
    match charge {
        None => html! { span.badge { "no charge yet" } },
        Some(c) => match c.status {
            ChargeStatus::Succeeded => html! { span.badge.good { "paid" } },
            ChargeStatus::Pending => html! { span.badge { "processing" } },
            // "Status" above says when it is tried again; this says why it failed.
            ChargeStatus::Retrying => html! {
                span.badge.bad { "declined" }
                " " span.muted { (c.failure_message.clone().unwrap_or_default()) }
            },
            ChargeStatus::Failed => {
                html! { span.badge.bad { "unpaid" } " " span.muted { (c.failure_message.clone().unwrap_or_default()) } }
            }
            ChargeStatus::Refunded => html! { span.badge { "refunded" } },
        },
    }
}

fn sponsorship(csrf: &str, s: &Sponsorship, error: Option<&ServiceError>) -> Markup {
    let currency = s.pledge.currency.as_str();
    let creator = s.creator.username.clone().unwrap_or_default();
    let cancelled = s.pledge.cancelled_at.is_some();
    let base = format!("/panel/{}", s.campaign.id.get());
    let per = if s.campaign.is_monthly {
        "month"
    } else {
        s.campaign.pay_per_name.as_deref().unwrap_or("creation")
    };
    html! {
        article.tier style="margin-bottom:1rem" data-campaign=(s.campaign.id.get()) {
            h2 style="margin-top:0" { a href=(format!("/{creator}")) { (maecenas_services::panel::page_name(&s.campaign, &s.creator)) } }
            dl {
                dt { "Tier" } dd data-testid="tier" { @match &s.tier { Some(t) => (t.title), None => "No tier" } }
                dt { "Amount" } dd data-testid="amount" { (money(s.pledge.amount_minor, currency)) " per " (per)
                    @if s.pledge.patron_pays_fees { " (you cover the fees)" } }
                @if let Some(cap) = s.pledge.pledge_cap_minor { dt { "Monthly cap" } dd { (money(cap, currency)) } }
                dt { "Status" } dd data-testid="status" {
                    @if cancelled {
                        span.badge { "cancelled" } " — active until " (s.active_until.map(date).unwrap_or_default())
                        form.inline method="post" action=(format!("{base}/resume")) {
                            input type="hidden" name="csrf" value=(csrf);
                            " "
                            button type="submit" { "Resume my pledge" }
                        }
                    } @else if s.pledge.status == PledgeStatus::Declined {
                        span.badge.bad { "declined" } " — " a href="#card" { "use another card" } " to keep it"
                    } @else if let Some(retry) = s.last_charge.as_ref().filter(|c| c.status == ChargeStatus::Retrying) {
                        span.badge.bad { "payment failed" }
                        " — retrying on " (date(retry.next_attempt_at)) ". "
                        a href="#card" { "Use another card" }
                    } @else {
                        span.badge.good { "active" }
                    }
                }
                @if let Some(next) = s.next_charge_at { dt { "Next charge" } dd { (date(next)) } }
                dt { "Payment" } dd data-testid="payment" { (payment_state(s.last_charge.as_ref())) }
                @if let Some(card) = &s.card { dt { "Card" } dd { (maecenas_domain::billing::card_label(&card.brand, &card.last4)) } }
            }
            @if !cancelled {
                (form_error(error, &["amount", "tier", "pledge_cap"]))
                details open[error.is_some()] {
                    summary { "Change tier or amount" }
                    form method="post" action=(format!("{base}/change")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for=(format!("tier-{}", s.campaign.id.get())) { "Tier" }
                        select id=(format!("tier-{}", s.campaign.id.get())) name="tier" {
                            option value="" selected[s.pledge.tier_id.is_none()] { "No tier" }
                            @for t in &s.open_tiers {
                                option value=(t.id.get()) selected[s.pledge.tier_id == Some(t.id.get())] { (t.title) " — " (money(t.amount_minor, currency)) }
                            }
                        }
                        (field_error(error, "tier"))
                        label for=(format!("amount-{}", s.campaign.id.get())) { "Amount (" (currency) ")" }
                        input id=(format!("amount-{}", s.campaign.id.get())) name="amount" inputmode="decimal" value=(plain_amount(s.pledge.amount_minor, currency));
                        (field_error(error, "amount"))
                        @if !s.campaign.is_monthly {
                            label for=(format!("cap-{}", s.campaign.id.get())) { "Monthly cap (" (currency) ")" }
                            input id=(format!("cap-{}", s.campaign.id.get())) name="cap" inputmode="decimal" value=(s.pledge.pledge_cap_minor.map(|c| plain_amount(c, currency)).unwrap_or_default());
                            (field_error(error, "pledge_cap"))
                        }
                        label.check { input type="checkbox" name="cover_fees" value="1" checked[s.pledge.patron_pays_fees]; " I'll cover the fees" }
                        button type="submit" { "Save changes" }
                    }
                }
                p { a.button.secondary href=(format!("{base}/cancel")) { "Cancel pledge…" } }
            }
        }
    }
}

fn history(panel: &PatronPanel) -> Markup {
    let name = |id: &CampaignId| panel.campaign_names.get(id).cloned().unwrap_or_default();
    html! {
        section.card {
            h2 { "History" }
            @if panel.charges.is_empty() { p.muted { "No payments yet." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th { "Date" } th { "To" } th { "For" } th { "Amount" } th { "State" } } }
                    tbody {
                        @for c in &panel.charges {
                            tr {
                                td { (date(c.created_at)) }
                                td { (name(&c.campaign_id)) }
                                td { @if c.kind == "donation" { "One-off gift" } @else { "Pledge, " (c.period.clone().unwrap_or_default()) } }
                                td { (money(c.amount_minor, &c.currency)) }
                                td { (payment_state(Some(c))) }
                            }
                        }
                    }
                } }
            }
            @if !panel.donations.is_empty() {
                h3 { "Gifts" }
                ul {
                    @for d in &panel.donations {
                        li { (date(d.created_at)) ": " (money(d.amount_minor, &d.currency)) " to " (name(&d.campaign_id)) " — " (d.status)
                            @if !d.message.is_empty() { " · “" (d.message) "”" } }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    tier: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    cap: String,
    cover_fees: Option<String>,
}

pub async fn change(
    State(state): State<AppState>,
    Path(campaign): Path<i64>,
    SignedForm {
        who: SignedIn { user, csrf },
        form,
    }: SignedForm<ChangeForm>,
) -> Response {
    let campaign = CampaignId::from(campaign);
    let panel = match state.services.patron_panel(user.id).await {
        Ok(panel) => panel,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let Some(current) = panel
        .sponsorships
        .iter()
        .find(|s| s.campaign.id == campaign)
    else {
        return refusal(&user, &csrf, ServiceError::NotFound("pledge"));
    };
    let currency = current.pledge.currency.clone();
    let outcome = async {
        let change = PledgeChange {
            tier: parse_tier_choice(&form.tier)?,
            amount_minor: parse_amount("amount", &form.amount, &currency)?,
            pledge_cap_minor: match optional(&Some(form.cap.clone())) {
                Some(cap) => Some(parse_amount("pledge_cap", &cap, &currency)?),
                None => None,
            },
            patron_pays_fees: form.cover_fees.is_some(),
        };
        state
            .services
            .change_pledge(user.id, campaign, change)
            .await
    }
    .await;
    match outcome {
        Ok(_) => Redirect::to(&format!("/panel?changed={}", campaign.get())).into_response(),
        Err(err) => {
            let err = match err {
                ServiceError::Conflict(m) => ServiceError::invalid("tier", m),
                ServiceError::NotFound("tier") => {
                    ServiceError::invalid("tier", "this tier is not available")
                }
                other => other,
            };
            let status = if matches!(err, ServiceError::Invalid { .. }) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            render(
                &state,
                &user,
                &csrf,
                &PanelQuery::default(),
                Some(Failed {
                    campaign: Some(campaign),
                    error: &err,
                }),
                status,
            )
            .await
        }
    }
}

/// `GET /panel/{campaign}/cancel`: what cancelling does, and a button to do it.
pub async fn confirm_cancel(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(campaign): Path<i64>,
) -> Response {
    let panel = match state.services.patron_panel(signed.user.id).await {
        Ok(panel) => panel,
        Err(err) => return refusal(&signed.user, &signed.csrf, err),
    };
    let Some(s) = panel
        .sponsorships
        .iter()
        .find(|s| s.campaign.id.get() == campaign && s.pledge.cancelled_at.is_none())
    else {
        return refusal(&signed.user, &signed.csrf, ServiceError::NotFound("pledge"));
    };
    let name = panel
        .campaign_names
        .get(&s.campaign.id)
        .cloned()
        .unwrap_or_else(|| "this creator".to_owned());
    let viewer = Viewer {
        user: &signed.user,
        csrf: &signed.csrf,
    };
    let body = html! {
        section.card {
            h1 { "Cancel your pledge to " (name) "?" }
            p {
                "No further charge is made. The pledge stays active until the end of the month you paid for, "
                "and what your tier unlocks stays yours until then. You can pledge again whenever you like."
            }
            form method="post" action=(format!("/panel/{campaign}/cancel")) style="display:inline;margin-right:.5rem" {
                input type="hidden" name="csrf" value=(signed.csrf);
                button.danger type="submit" { "Cancel the pledge" }
            }
            a.button.secondary href="/panel" { "Keep it" }
        }
    };
    wide_page(Some(&viewer), "Cancel pledge", body).into_response()
}

/// `POST /panel/{campaign}/resume`: takes back a cancellation.
pub async fn resume(
    State(state): State<AppState>,
    Path(campaign): Path<i64>,
    SignedForm {
        who: SignedIn { user, csrf },
        form: _,
    }: SignedForm<Button>,
) -> Response {
    match state
        .services
        .resume_pledge(user.id, CampaignId::from(campaign))
        .await
    {
        Ok(_) => Redirect::to(&format!("/panel?resumed={campaign}")).into_response(),
        Err(err) => refusal(&user, &csrf, err),
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(campaign): Path<i64>,
    SignedForm {
        who: SignedIn { user, csrf },
        form: _,
    }: SignedForm<Button>,
) -> Response {
    match state
        .services
        .cancel_pledge(user.id, CampaignId::from(campaign))
        .await
    {
        Ok(_) => Redirect::to(&format!("/panel?cancelled={campaign}")).into_response(),
        Err(err) => refusal(&user, &csrf, err),
    }
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_exp: String,
    #[serde(default)]
    card_cvc: String,
}
maecenas_domain::debug_showing!(CardForm {});

pub async fn update_card(
    State(state): State<AppState>,
    SignedForm {
        who: SignedIn { user, csrf },
        form,
    }: SignedForm<CardForm>,
) -> Response {
    let outcome = async {
        let card = TypedCard {
            number: form.card_number.clone(),
            exp: form.card_exp.clone(),
            cvc: form.card_cvc.clone(),
        }
        .parse()?;
        state.services.update_card(user.id, card).await.map(|_| ())
    }
    .await;
    match outcome {
        Ok(()) => Redirect::to("/panel?card=updated").into_response(),
        Err(err) => {
            let status = if matches!(err, ServiceError::Invalid { .. }) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            render(
                &state,
                &user,
                &csrf,
                &PanelQuery::default(),
                Some(Failed {
                    campaign: None,
                    error: &err,
                }),
                status,
            )
            .await
        }
    }
}
