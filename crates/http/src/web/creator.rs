//! `/dashboard/campaign`: what a creator sets up. The campaign (every
//! attribute of the Patreon seed a creator sets), publish and unpublish,
//! tiers (create, edit, reorder, retire) and goals.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::{GoalId, TierId};
use maecenas_services::ServiceError;
use maecenas_services::creators::NewTierRequest;
use maecenas_services::patreon::CampaignView;
use maecenas_services::records::{CampaignFields, TierRow, UserRow};
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{Button, Creator, SignedForm, SignedIn, failure, refusal};
use super::kit::{Done, field_error, form_error, money, optional, parse_amount, plain_amount};
use super::layout::{Viewer, wide_page};
use crate::AppState;

const HERE: &str = "/dashboard/campaign";

/// What the page says after each change it redirected from.
const NOTICES: &[(&str, &str)] = &[
    ("saved", "Page saved."),
    ("published", "Published: your page is live."),
    (
        "unpublished",
        "Unpublished: your page is hidden. Current patrons keep their pledges.",
    ),
    ("tier_added", "Tier added."),
    ("tier_saved", "Tier saved."),
    ("tier_up", "Tier moved up."),
    ("tier_down", "Tier moved down."),
    (
        "tier_retired",
        "Tier retired: it takes no new patrons; its patrons keep it.",
    ),
    ("goal_added", "Goal added."),
    ("goal_saved", "Goal saved."),
    ("goal_removed", "Goal removed."),
];

pub async fn show(
    State(state): State<AppState>,
    Creator(SignedIn { user, csrf }): Creator,
    Query(done): Query<Done>,
) -> Response {
    match state.services.campaign_setup(user.id).await {
        Ok(view) => render(
            &user,
            &csrf,
            &view,
            None,
            done.notice(NOTICES),
            StatusCode::OK,
        ),
        Err(ServiceError::NotFound(_)) => render_new(&user, &csrf, None, StatusCode::OK),
        Err(err) => refusal(&user, &csrf, err),
    }
}

/// Which form of the page a change came from (its refusal is shown there).
#[derive(Clone, Copy)]
enum Section<'a> {
    Campaign(&'a CampaignForm),
    NewTier(&'a TierForm),
    Goal(&'a GoalForm),
    Top,
}

struct Failed<'a> {
    error: &'a ServiceError,
    at: Section<'a>,
}

fn render_new(
    user: &UserRow,
    csrf: &str,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let viewer = Viewer { user, csrf };
    let body = html! {
        section.card {
            h1 { "Start your campaign" }
            p { "Choose the currency patrons pay in and how they pay. You can set up everything else next, before publishing." }
            (form_error(error, &["currency"]))
            form method="post" action="/dashboard/campaign/new" {
                input type="hidden" name="csrf" value=(csrf);
                label for="currency" { "Currency" }
                select id="currency" name="currency" {
                    @for code in ["USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "JPY"] {
                        option value=(code) { (code) }
                    }
                }
                (field_error(error, "currency"))
                fieldset {
                    legend { "Patrons pay" }
                    label.check { input type="radio" name="billing" value="monthly" checked; " monthly" }
                    label.check { input type="radio" name="billing" value="per_creation"; " per creation (with a monthly cap they choose)" }
                }
                button type="submit" { "Create campaign" }
            }
        }
    };
    (
        status,
        wide_page(Some(&viewer), "Start your campaign", body),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct NewCampaignForm {
    #[serde(default)]
    currency: String,
    #[serde(default)]
    billing: String,
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form,
    }: SignedForm<NewCampaignForm, Creator>,
) -> Response {
    let created = state
        .services
        .create_draft_campaign(user.id, &form.currency, form.billing != "per_creation")
        .await;
    match created {
        Ok(_) => Redirect::to(HERE).into_response(),
        Err(ServiceError::Conflict(_)) => Redirect::to(HERE).into_response(),
        Err(err) => render_new(&user, &csrf, Some(&err), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

fn render(
    user: &UserRow,
    csrf: &str,
    view: &CampaignView,
    failed: Option<Failed<'_>>,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let campaign = &view.campaign;
    let currency = campaign.currency.as_str();
    let saved = CampaignForm::of(&campaign_fields(view));
    let (campaign_error, campaign_form) = match &failed {
        Some(Failed {
            error,
            at: Section::Campaign(f),
        }) => (Some(*error), *f),
        _ => (None, &saved),
    };
    let blank_tier = TierForm::default();
    let (tier_error, tier_form) = match &failed {
        Some(Failed {
            error,
            at: Section::NewTier(f),
        }) => (Some(*error), *f),
        _ => (None, &blank_tier),
    };
    let blank_goal = GoalForm::default();
    let (goal_error, goal_form) = match &failed {
        Some(Failed {
            error,
            at: Section::Goal(f),
        }) => (Some(*error), *f),
        _ => (None, &blank_goal),
    };
    let publish_error = match &failed {
        Some(Failed {
            error,
            at: Section::Top,
        }) => Some(*error),
        _ => None,
    };
    let username = user.username.clone().unwrap_or_default();
    let user_name = user.public_name();
    let pledged = view.totals.pledge_sum_minor;
    let viewer = Viewer { user, csrf };
    let body = html! {
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        section.card {
            h1 { "Your campaign" }
            @if campaign.published_at.is_some() {
                p { span.badge.good { "Published" } " at " a href=(format!("/{username}")) { "/" (username) } }
                form.inline method="post" action="/dashboard/campaign/unpublish" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary type="submit" { "Unpublish" }
                }
            } @else {
                p { span.badge { "Not published" } " Patrons cannot see your page yet. " a href=(format!("/{username}")) data-testid="preview-page" { "Preview it" } }
                (form_error(publish_error, &[]))
                form.inline method="post" action="/dashboard/campaign/publish" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Publish" }
                }
            }
            p.muted { "Patrons pay " (if campaign.is_monthly { "monthly" } else { "per creation" }) " in " (currency) "." }
        }
        section.card #page {
            h2 { "Page" }
            (form_error(campaign_error, CAMPAIGN_FIELDS))
            form method="post" action="/dashboard/campaign" {
                input type="hidden" name="csrf" value=(csrf);
                (input_row("page_name", "Page name", &campaign_form.page_name, campaign_error))
                p.muted { "At the top of your page and its feed. Empty: your name, " (user_name) "." }
                (input_row("one_liner", "One-liner", &campaign_form.one_liner, campaign_error))
                label for="summary" { "Summary (Markdown)" }
                textarea id="summary" name="summary" { (campaign_form.summary) }
                (field_error(campaign_error, "summary"))
                (input_row("creation_name", "What you create (\"videos\", \"comics\")", &campaign_form.creation_name, campaign_error))
                (input_row("pay_per_name", "What patrons pay per (\"month\", \"video\")", &campaign_form.pay_per_name, campaign_error))
                (input_row("image_url", "Cover image URL", &campaign_form.image_url, campaign_error))
                (input_row("image_small_url", "Small image URL", &campaign_form.image_small_url, campaign_error))
                (input_row("main_video_url", "Main video URL", &campaign_form.main_video_url, campaign_error))
                (input_row("main_video_embed", "Main video embed URL", &campaign_form.main_video_embed, campaign_error))
                label for="thanks_msg" { "Thank-you message for new patrons" }
                textarea id="thanks_msg" name="thanks_msg" { (campaign_form.thanks_msg) }
                (field_error(campaign_error, "thanks_msg"))
                (input_row("thanks_video_url", "Thank-you video URL", &campaign_form.thanks_video_url, campaign_error))
                (input_row("thanks_embed", "Thank-you video embed", &campaign_form.thanks_embed, campaign_error))
                fieldset {
                    legend { "Patrons pay" }
                    label.check { input type="radio" name="billing" value="monthly" checked[campaign_form.billing != "per_creation"]; " monthly" }
                    label.check { input type="radio" name="billing" value="per_creation" checked[campaign_form.billing == "per_creation"]; " per creation" }
                }
                label.check { input type="checkbox" name="is_nsfw" value="1" checked[campaign_form.is_nsfw.is_some()]; " Adult content (NSFW)" }
                label.check { input type="checkbox" name="show_earnings" value="1" checked[campaign_form.show_earnings.is_some()]; " Show my monthly total on my page" }
                button type="submit" { "Save page" }
            }
        }
        section.card #tiers {
            h2 { "Tiers" }
            @if view.tiers.is_empty() { p.muted { "No tiers yet: patrons can still pledge any amount." } }
            div.table-wrap { table {
                thead { tr { th { "Tier" } th { "Price" } th { "Patrons" } th { "Limit" } th { "" } } }
                tbody {
                    @for (i, tier) in view.tiers.iter().enumerate() {
                        (tier_row(csrf, view, tier, i))
                    }
                }
            } }
            h3 { "New tier" }
            (tier_fields(csrf, "/dashboard/tiers", tier_form, tier_error, currency, "Add tier"))
        }
        section.card #goals {
            h2 { "Goals" }
            @for goal in &view.goals {
                @let percent = (pledged.max(0) * 100 / goal.amount_minor.max(1)).min(100);
                div {
                    p { b { (goal.title) } " — " (money(goal.amount_minor, currency)) " a month · " (percent) "%" }
                    div.progress role="progressbar" aria-valuenow=(percent) aria-valuemin="0" aria-valuemax="100" { span style=(format!("width:{percent}%")) {} }
                    @if !goal.description.is_empty() { p.muted { (goal.description) } }
                    a href=(format!("/dashboard/goals/{}", goal.id.get())) { "Edit" } " "
                    form.inline method="post" action=(format!("/dashboard/goals/{}/delete", goal.id.get())) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Remove goal" }
                    }
                }
            }
            h3 { "New goal" }
            (goal_fields(csrf, "/dashboard/goals", goal_form, goal_error, currency, "Add goal"))
        }
    };
    (status, wide_page(Some(&viewer), "Your campaign", body)).into_response()
}

fn tier_row(csrf: &str, view: &CampaignView, tier: &TierRow, index: usize) -> Markup {
    let patrons = view
        .tier_patrons
        .iter()
        .find(|(id, _)| *id == tier.id.get())
        .map_or(0, |(_, n)| *n);
    let base = format!("/dashboard/tiers/{}", tier.id.get());
    html! {
        tr {
            td { b { (tier.title) } @if tier.retired_at.is_some() { " " span.badge { "retired" } } @if tier.requires_shipping { " " span.badge { "ships" } } }
            td { (money(tier.amount_minor, &view.campaign.currency)) }
            td { (patrons) }
            td { @match tier.patron_limit { Some(n) => (n), None => "—" } }
            td {
                a href=(base) { "Edit" }
                @if index > 0 {
                    form.inline method="post" action=(format!("{base}/up")) { input type="hidden" name="csrf" value=(csrf); button.secondary type="submit" aria-label=(format!("Move {} up", tier.title)) { "↑" } }
                }
                @if index + 1 < view.tiers.len() {
                    form.inline method="post" action=(format!("{base}/down")) { input type="hidden" name="csrf" value=(csrf); button.secondary type="submit" aria-label=(format!("Move {} down", tier.title)) { "↓" } }
                }
                @if tier.retired_at.is_none() {
                    form.inline method="post" action=(format!("{base}/retire")) { input type="hidden" name="csrf" value=(csrf); button.secondary type="submit" { "Retire" } }
                }
            }
        }
    }
}

fn tier_fields(
    csrf: &str,
    action: &str,
    form: &TierForm,
    error: Option<&ServiceError>,
    currency: &str,
    submit: &str,
) -> Markup {
    html! {
        (form_error(error, &["title", "amount", "patron_limit", "description"]))
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            label for="tier_title" { "Title" }
            input id="tier_title" name="title" value=(form.title) required;
            (field_error(error, "title"))
            label for="tier_amount" { "Price (" (currency) ")" }
            input id="tier_amount" name="amount" inputmode="decimal" value=(form.amount) required;
            (field_error(error, "amount"))
            label for="tier_description" { "Description" }
            textarea id="tier_description" name="description" { (form.description) }
            label for="tier_limit" { "Patron limit (empty: no limit)" }
            input id="tier_limit" name="patron_limit" inputmode="numeric" value=(form.patron_limit);
            (field_error(error, "patron_limit"))
            label.check { input type="checkbox" name="requires_shipping" value="1" checked[form.requires_shipping.is_some()]; " Rewards are shipped (patrons give an address)" }
            button type="submit" { (submit) }
        }
    }
}

fn input_row(name: &'static str, label: &str, value: &str, error: Option<&ServiceError>) -> Markup {
    html! {
        label for=(name) { (label) }
        input id=(name) name=(name) value=(value);
        (field_error(error, name))
    }
}

const CAMPAIGN_FIELDS: &[&str] = &[
    "page_name",
    "summary",
    "creation_name",
    "pay_per_name",
    "one_liner",
    "main_video_embed",
    "main_video_url",
    "image_small_url",
    "image_url",
    "thanks_video_url",
    "thanks_embed",
    "thanks_msg",
];

#[derive(Debug, Default, Deserialize)]
pub struct CampaignForm {
    #[serde(default)]
    page_name: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    creation_name: String,
    #[serde(default)]
    pay_per_name: String,
    #[serde(default)]
    one_liner: String,
    #[serde(default)]
    main_video_embed: String,
    #[serde(default)]
    main_video_url: String,
    #[serde(default)]
    image_small_url: String,
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    thanks_video_url: String,
    #[serde(default)]
    thanks_embed: String,
    #[serde(default)]
    thanks_msg: String,
    #[serde(default)]
    billing: String,
    is_nsfw: Option<String>,
    show_earnings: Option<String>,
}

fn campaign_fields(view: &CampaignView) -> CampaignFields {
    let c = &view.campaign;
    CampaignFields {
        page_name: c.page_name.clone(),
        summary: c.summary.clone(),
        creation_name: c.creation_name.clone(),
        pay_per_name: c.pay_per_name.clone(),
        one_liner: c.one_liner.clone(),
        main_video_embed: c.main_video_embed.clone(),
        main_video_url: c.main_video_url.clone(),
        image_small_url: c.image_small_url.clone(),
        image_url: c.image_url.clone(),
        thanks_video_url: c.thanks_video_url.clone(),
        thanks_embed: c.thanks_embed.clone(),
        thanks_msg: c.thanks_msg.clone(),
        is_monthly: c.is_monthly,
        is_nsfw: c.is_nsfw,
        show_earnings: c.show_earnings,
    }
}

impl CampaignForm {
    fn of(f: &CampaignFields) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            page_name: text(&f.page_name),
            summary: text(&f.summary),
            creation_name: text(&f.creation_name),
            pay_per_name: text(&f.pay_per_name),
            one_liner: text(&f.one_liner),
            main_video_embed: text(&f.main_video_embed),
            main_video_url: text(&f.main_video_url),
            image_small_url: text(&f.image_small_url),
            image_url: text(&f.image_url),
            thanks_video_url: text(&f.thanks_video_url),
            thanks_embed: text(&f.thanks_embed),
            thanks_msg: text(&f.thanks_msg),
            billing: if f.is_monthly {
                "monthly"
            } else {
                "per_creation"
            }
            .to_owned(),
            is_nsfw: f.is_nsfw.then(|| "1".to_owned()),
            show_earnings: f.show_earnings.then(|| "1".to_owned()),
        }
    }

    fn fields(&self) -> CampaignFields {
        let text = |v: &String| optional(&Some(v.clone()));
        CampaignFields {
            page_name: text(&self.page_name),
            summary: text(&self.summary),
            creation_name: text(&self.creation_name),
            pay_per_name: text(&self.pay_per_name),
            one_liner: text(&self.one_liner),
            main_video_embed: text(&self.main_video_embed),
            main_video_url: text(&self.main_video_url),
            image_small_url: text(&self.image_small_url),
            image_url: text(&self.image_url),
            thanks_video_url: text(&self.thanks_video_url),
            thanks_embed: text(&self.thanks_embed),
            thanks_msg: text(&self.thanks_msg),
            is_monthly: self.billing != "per_creation",
            is_nsfw: self.is_nsfw.is_some(),
            show_earnings: self.show_earnings.is_some(),
        }
    }
}

/// After a change: on success, to the campaign page (`done` names what was
/// done, `anchor` the section to show); else the page again, with the
/// refusal where it belongs.
async fn after<T>(
    state: &AppState,
    user: &UserRow,
    csrf: &str,
    outcome: Result<T, ServiceError>,
    done: &str,
    at: Section<'_>,
) -> Response {
    if outcome.is_ok() {
        let anchor = match at {
            Section::Campaign(_) => "#page",
            Section::NewTier(_) => "#tiers",
            Section::Goal(_) => "#goals",
            Section::Top => "",
        };
        return crate::redirect::see_other(&format!("{HERE}?done={done}{anchor}"));
    }
    let view = match state.services.campaign_setup(user.id).await {
        Ok(view) => view,
        Err(err) => return failure(err),
    };
    match outcome {
        Ok(_) => unreachable!("a success redirected above"),
        Err(ServiceError::NotFound(what)) => failure(ServiceError::NotFound(what)),
        Err(err) => {
            let status = match err {
                ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            render(
                user,
                csrf,
                &view,
                Some(Failed { error: &err, at }),
                None,
                status,
            )
        }
    }
}

pub async fn save(
    State(state): State<AppState>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form,
    }: SignedForm<CampaignForm, Creator>,
) -> Response {
    let outcome = state.services.update_campaign(user.id, form.fields()).await;
    after(
        &state,
        &user,
        &csrf,
        outcome,
        "saved",
        Section::Campaign(&form),
    )
    .await
}

pub async fn publish(
    State(state): State<AppState>,
    Path(action): Path<String>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form: _,
    }: SignedForm<Button, Creator>,
) -> Response {
    let (published, notice) = match action.as_str() {
        "publish" => (true, "published"),
        "unpublish" => (false, "unpublished"),
        _ => return refusal(&user, &csrf, ServiceError::NotFound("action")),
    };
    let outcome = state
        .services
        .set_campaign_published(user.id, published)
        .await;
    after(&state, &user, &csrf, outcome, notice, Section::Top).await
}

#[derive(Debug, Default, Deserialize)]
pub struct TierForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    patron_limit: String,
    requires_shipping: Option<String>,
}

impl TierForm {
    fn request(&self, currency: &str) -> Result<NewTierRequest, ServiceError> {
        let patron_limit = match self.patron_limit.trim() {
            "" => None,
            text => Some(
                text.parse::<i32>()
                    .map_err(|_| ServiceError::invalid("patron_limit", "must be a whole number"))?,
            ),
        };
        Ok(NewTierRequest {
            title: self.title.clone(),
            description: self.description.trim().to_owned(),
            amount_minor: parse_amount("amount", &self.amount, currency)?,
            patron_limit,
            requires_shipping: self.requires_shipping.is_some(),
        })
    }
}

pub async fn create_tier(
    State(state): State<AppState>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form,
    }: SignedForm<TierForm, Creator>,
) -> Response {
    let outcome = async {
        let campaign = state.services.campaign_of_creator(user.id).await?;
        let request = form.request(&campaign.currency)?;
        state.services.create_tier(campaign.id, request).await
    }
    .await;
    after(
        &state,
        &user,
        &csrf,
        outcome,
        "tier_added",
        Section::NewTier(&form),
    )
    .await
}

pub async fn edit_tier(
    State(state): State<AppState>,
    Creator(SignedIn { user, csrf }): Creator,
    Path(id): Path<i64>,
) -> Response {
    let view = match state.services.campaign_setup(user.id).await {
        Ok(view) => view,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let Some(tier) = view.tiers.iter().find(|t| t.id.get() == id) else {
        return refusal(&user, &csrf, ServiceError::NotFound("tier"));
    };
    let form = TierForm {
        title: tier.title.clone(),
        amount: plain_amount(tier.amount_minor, &view.campaign.currency),
        description: tier.description.clone(),
        patron_limit: tier.patron_limit.map(|n| n.to_string()).unwrap_or_default(),
        requires_shipping: tier.requires_shipping.then(|| "1".to_owned()),
    };
    render_tier(
        &user,
        &csrf,
        id,
        &form,
        &view.campaign.currency,
        None,
        StatusCode::OK,
    )
}

fn render_tier(
    user: &UserRow,
    csrf: &str,
    id: i64,
    form: &TierForm,
    currency: &str,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let viewer = Viewer { user, csrf };
    let body = html! {
        section.card {
            h1 { "Edit tier" }
            p.muted { "Current patrons keep the amount they pledged; a new price applies to new pledges." }
            (tier_fields(csrf, &format!("/dashboard/tiers/{id}"), form, error, currency, "Save tier"))
            p { a href=(HERE) { "Back to your campaign" } }
        }
    };
    (status, wide_page(Some(&viewer), "Edit tier", body)).into_response()
}

pub async fn save_tier(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form,
    }: SignedForm<TierForm, Creator>,
) -> Response {
    let campaign = match state.services.campaign_of_creator(user.id).await {
        Ok(campaign) => campaign,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let outcome = async {
        let request = form.request(&campaign.currency)?;
        state
            .services
            .update_tier(user.id, TierId::from(id), request)
            .await
    }
    .await;
    match outcome {
        Ok(_) => crate::redirect::see_other(&format!("{HERE}?done=tier_saved#tiers")),
        Err(ServiceError::NotFound(what)) => refusal(&user, &csrf, ServiceError::NotFound(what)),
        Err(err) => render_tier(
            &user,
            &csrf,
            id,
            &form,
            &campaign.currency,
            Some(&err),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

pub async fn tier_action(
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form: _,
    }: SignedForm<Button, Creator>,
) -> Response {
    let tier = TierId::from(id);
    let (outcome, notice) = match action.as_str() {
        "up" => (state.services.move_tier(user.id, tier, -1).await, "tier_up"),
        "down" => (
            state.services.move_tier(user.id, tier, 1).await,
            "tier_down",
        ),
        "retire" => (
            state.services.retire_tier(user.id, tier).await,
            "tier_retired",
        ),
        _ => return refusal(&user, &csrf, ServiceError::NotFound("action")),
    };
    after(&state, &user, &csrf, outcome, notice, Section::Top).await
}

#[derive(Debug, Default, Deserialize)]
pub struct GoalForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    description: String,
}

pub async fn create_goal(
    State(state): State<AppState>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form,
    }: SignedForm<GoalForm, Creator>,
) -> Response {
    let outcome = async {
        let campaign = state.services.campaign_of_creator(user.id).await?;
        let amount = parse_amount("amount", &form.amount, &campaign.currency)?;
        state
            .services
            .create_goal(user.id, amount, &form.title, &form.description)
            .await
    }
    .await;
    after(
        &state,
        &user,
        &csrf,
        outcome,
        "goal_added",
        Section::Goal(&form),
    )
    .await
}

pub async fn delete_goal(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form: _,
    }: SignedForm<Button, Creator>,
) -> Response {
    let outcome = state.services.delete_goal(user.id, GoalId::from(id)).await;
    after(&state, &user, &csrf, outcome, "goal_removed", Section::Top).await
}

pub async fn edit_goal(
    State(state): State<AppState>,
    Creator(SignedIn { user, csrf }): Creator,
    Path(id): Path<i64>,
) -> Response {
    let view = match state.services.campaign_setup(user.id).await {
        Ok(view) => view,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let Some(goal) = view.goals.iter().find(|g| g.id.get() == id) else {
        return refusal(&user, &csrf, ServiceError::NotFound("goal"));
    };
    let form = GoalForm {
        title: goal.title.clone(),
        amount: plain_amount(goal.amount_minor, &view.campaign.currency),
        description: goal.description.clone(),
    };
    render_goal(
        &user,
        &csrf,
        id,
        &form,
        &view.campaign.currency,
        None,
        StatusCode::OK,
    )
}

fn render_goal(
    user: &UserRow,
    csrf: &str,
    id: i64,
    form: &GoalForm,
    currency: &str,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let viewer = Viewer { user, csrf };
    let body = html! {
        section.card {
            h1 { "Edit goal" }
            (goal_fields(csrf, &format!("/dashboard/goals/{id}"), form, error, currency, "Save goal"))
            p { a href=(format!("{HERE}#goals")) { "Back to your campaign" } }
        }
    };
    (status, wide_page(Some(&viewer), "Edit goal", body)).into_response()
}

pub async fn save_goal(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SignedForm {
        who: Creator(SignedIn { user, csrf }),
        form,
    }: SignedForm<GoalForm, Creator>,
) -> Response {
    let campaign = match state.services.campaign_of_creator(user.id).await {
        Ok(campaign) => campaign,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let outcome = async {
        let amount = parse_amount("amount", &form.amount, &campaign.currency)?;
        state
            .services
            .update_goal(
                user.id,
                GoalId::from(id),
                amount,
                &form.title,
                &form.description,
            )
            .await
    }
    .await;
    match outcome {
        Ok(()) => crate::redirect::see_other(&format!("{HERE}?done=goal_saved#goals")),
        Err(ServiceError::NotFound(what)) => refusal(&user, &csrf, ServiceError::NotFound(what)),
        Err(err) => render_goal(
            &user,
            &csrf,
            id,
            &form,
            &campaign.currency,
            Some(&err),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

fn goal_fields(
    csrf: &str,
    action: &str,
    form: &GoalForm,
    error: Option<&ServiceError>,
    currency: &str,
    submit: &str,
) -> Markup {
    html! {
        (form_error(error, &["title", "amount", "description"]))
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            label for="goal_title" { "Title" }
            input id="goal_title" name="title" value=(form.title) required;
            (field_error(error, "title"))
            label for="goal_amount" { "Monthly amount (" (currency) ")" }
            input id="goal_amount" name="amount" inputmode="decimal" value=(form.amount) required;
            (field_error(error, "amount"))
            label for="goal_description" { "Description" }
            textarea id="goal_description" name="description" { (form.description) }
            (field_error(error, "description"))
            button type="submit" { (submit) }
        }
    }
}
