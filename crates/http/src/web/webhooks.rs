//! The developer portal's webhooks: register a target and its triggers, see
//! the signing secret, the delivery log, redeliver, send a test event, pause,
//! resume, delete. A webhook paused after failing for days says so here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::webhooks::split_triggers;
use maecenas_domain::{DeliveryId, Trigger, WebhookId};
use maecenas_services::ServiceError;
use maecenas_services::records::{UserRow, WebhookRow};
use maecenas_services::webhooks::{WebhookLog, WebhookManager, WebhookPatch};
use maud::{Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::guard::{Button, SignedForm, SignedIn, refusal};
use super::layout::{Viewer, user_page};
use crate::AppState;

const HERE: &str = "/developers/webhooks";

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "never".into())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn state_of(hook: &WebhookRow) -> Markup {
    html! {
        @if hook.failing_since.is_some() { strong.error { "paused: failing" } }
        @else if hook.paused && hook.paused_reason.as_deref() == Some("access_revoked") {
            "paused: the app that registered it no longer has your authorization"
        }
        @else if hook.paused { "paused" }
        @else { "active" }
    }
}

fn failing_notice(hook: &WebhookRow) -> Markup {
    html! {
        @if let Some(since) = hook.failing_since {
            p.error role="alert" {
                "Deliveries to " code { (hook.uri) } " failed for three days, so this webhook was paused on "
                (when(Some(since))) ". Events keep being queued. Fix the receiver, then resume: everything queued is sent."
            }
        }
    }
}

fn list_body(
    hooks: &[WebhookRow],
    csrf: &str,
    has_campaign: bool,
    error: Option<&str>,
    uri: &str,
) -> Markup {
    html! {
        h1 { "Webhooks" }
        p.muted {
            "Maecenas sends a signed POST to your URL when patrons pledge, change, cancel or are charged. "
            "Each request carries " code { "X-Patreon-Event" } ", " code { "X-Patreon-Signature" }
            " (hex HMAC-MD5 of the body) and the Standard Webhooks headers " code { "webhook-id" } ", "
            code { "webhook-timestamp" } ", " code { "webhook-signature" } "."
        }
        @for hook in hooks.iter().filter(|h| h.failing_since.is_some()) { (failing_notice(hook)) }
        @if !has_campaign {
            p.error { "Webhooks belong to a campaign: set up your campaign first." }
        }
        @if hooks.is_empty() { p.muted { "No webhooks yet." } }
        @else {
            table {
                thead { tr { th { "URL" } th { "Triggers" } th { "State" } th { "Last attempt" } } }
                tbody {
                    @for hook in hooks {
                        tr {
                            td { a href={ (HERE) "/" (hook.id) } { code { (hook.uri) } } }
                            td { (split_triggers(&hook.triggers).iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")) }
                            td { (state_of(hook)) }
                            td { (when(hook.last_attempted_at)) }
                        }
                    }
                }
            }
        }
        @if has_campaign {
            h2 { "Add a webhook" }
            @if let Some(error) = error { p.error role="alert" id="webhook-error" { (error) } }
            form method="post" action=(HERE) {
                input type="hidden" name="csrf" value=(csrf);
                label for="uri" { "URL (https, on the public internet)" }
                input id="uri" name="uri" type="url" required value=(uri);
                fieldset {
                    legend { "Triggers" }
                    @for trigger in Trigger::ALL {
                        label.check {
                            input type="checkbox" name="triggers" value=(trigger.as_str());
                            " " code { (trigger.as_str()) } " " span.muted { "— " (trigger.describe()) }
                        }
                    }
                }
                button type="submit" { "Add webhook" }
            }
        }
    }
}

async fn list_page(
    state: &AppState,
    user: UserRow,
    csrf: &str,
    status: StatusCode,
    error: Option<&str>,
    uri: &str,
) -> Response {
    match state
        .services
        .webhooks_of(WebhookManager::Creator(user.id))
        .await
    {
        Ok((campaign, hooks)) => (
            status,
            user_page(
                &Viewer { user: &user, csrf },
                "Webhooks",
                list_body(&hooks, csrf, campaign.is_some(), error, uri),
            ),
        )
            .into_response(),
        Err(err) => refusal(&user, csrf, err),
    }
}

pub async fn list(State(state): State<AppState>, SignedIn { user, csrf }: SignedIn) -> Response {
    list_page(&state, user, &csrf, StatusCode::OK, None, "").await
}

/// The portal's forms repeat fields (`triggers`): read as pairs.
type Fields = Vec<(String, String)>;

pub async fn create(
    State(state): State<AppState>,
    SignedForm {
        who: SignedIn { user, csrf },
        form: fields,
    }: SignedForm<Fields>,
) -> Response {
    let uri = field(&fields, "uri");
    let triggers: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "triggers")
        .map(|(_, v)| v.clone())
        .collect();
    match state
        .services
        .create_webhook(WebhookManager::Creator(user.id), None, uri, &triggers)
        .await
    {
        Ok(hook) => Redirect::to(&format!("{HERE}/{}", hook.id)).into_response(),
        Err(ServiceError::Invalid { field, reason }) => {
            list_page(
                &state,
                user,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&super::kit::refusal_sentence(field, &reason)),
                uri,
            )
            .await
        }
        Err(ServiceError::Conflict(message)) => {
            list_page(
                &state,
                user,
                &csrf,
                StatusCode::CONFLICT,
                Some(message),
                uri,
            )
            .await
        }
        Err(err) => refusal(&user, &csrf, err),
    }
}

fn detail_body(log: &WebhookLog, csrf: &str) -> Markup {
    let hook = &log.webhook;
    let base = format!("{HERE}/{}", hook.id);
    html! {
        p { a href=(HERE) { "← All webhooks" } }
        h1 { "Webhook" }
        (failing_notice(hook))
        dl {
            dt { "URL" } dd { code id="webhook-uri" { (hook.uri) } }
            dt { "Triggers" } dd { (split_triggers(&hook.triggers).iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")) }
            dt { "State" } dd id="webhook-state" { (state_of(hook)) }
            dt { "Signing secret" } dd { code id="webhook-secret" { (hook.secret) } }
            dt { "Deliveries" } dd id="webhook-counts" {
                (log.counts.delivered) " delivered, " (log.counts.pending) " waiting, " (log.counts.failed) " given up"
            }
            dt { "Failures in a row" } dd { (hook.num_consecutive_times_failed) }
        }
        p.muted {
            "Verify " code { "X-Patreon-Signature" } " as the hex HMAC-MD5 of the raw body keyed with the whole secret, or "
            code { "webhook-signature" } " with any Standard Webhooks library given the secret as it is."
        }
        @if hook.client().is_some() {
            p.muted { "Registered by an app you authorized. It stops when you revoke that app's access, and resumes when you authorize it again." }
        }
        div {
            @if hook.paused && hook.paused_reason.as_deref() == Some("access_revoked") {
            } @else if hook.paused {
                form method="post" action={ (base) "/resume" } style="display:inline" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Resume" }
                }
            } @else {
                form method="post" action={ (base) "/pause" } style="display:inline" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary type="submit" { "Pause" }
                }
            }
            " "
            form method="post" action={ (base) "/delete" } style="display:inline" {
                input type="hidden" name="csrf" value=(csrf);
                button.secondary type="submit" { "Delete" }
            }
        }
        h2 { "Send a test event" }
        form method="post" action={ (base) "/test" } {
            input type="hidden" name="csrf" value=(csrf);
            label for="trigger" { "Event" }
            select id="trigger" name="trigger" {
                @for trigger in Trigger::ALL { option value=(trigger.as_str()) { (trigger.as_str()) } }
            }
            button type="submit" { "Send test event" }
        }
        h2 { "Deliveries" }
        @if log.deliveries.is_empty() { p.muted { "Nothing sent yet." } }
        @else {
            table id="deliveries" {
                thead { tr { th { "Event" } th { "webhook-id" } th { "State" } th { "Attempts" } th { "Last answer" } th { "" } } }
                tbody {
                    @for d in &log.deliveries {
                        tr {
                            td { code { (d.trigger) } @if d.is_test { " " span.muted { "(test)" } } }
                            td { code { (d.id) } }
                            td { (d.status) }
                            td { (d.attempts) }
                            td {
                                @if let Some(status) = d.last_status { "HTTP " (status) }
                                @if let Some(error) = &d.last_error { " " span.muted { (error) } }
                            }
                            td {
                                form method="post" action={ (base) "/deliveries/" (d.id) "/redeliver" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.secondary type="submit" { "Redeliver" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Attempts" }
        @if log.attempts.is_empty() { p.muted { "No attempt yet." } }
        @else {
            table id="attempts" {
                thead { tr { th { "When" } th { "Event" } th { "#" } th { "Answer" } th { "Latency" } th { "Response" } } }
                tbody {
                    @for a in &log.attempts {
                        tr {
                            td { (when(Some(a.started_at))) }
                            td { code { (a.trigger) } }
                            td { (a.attempt) }
                            td {
                                @if let Some(status) = a.status_code { "HTTP " (status) }
                                @if let Some(error) = &a.error { " " span.error { (error) } }
                            }
                            td { (a.latency_ms) " ms" }
                            td { code { (a.response_start.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
    }
}

/// A webhook id from the path; a malformed one is a webhook that is not there.
fn parse_id(raw: &str) -> Result<WebhookId, ServiceError> {
    raw.parse().map_err(|_| ServiceError::NotFound("webhook"))
}

pub async fn show(
    State(state): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(err) => return refusal(&user, &csrf, err),
    };
    match state
        .services
        .webhook_log(WebhookManager::Creator(user.id), id, 50)
        .await
    {
        Ok(log) => user_page(
            &Viewer {
                user: &user,
                csrf: &csrf,
            },
            "Webhook",
            detail_body(&log, &csrf),
        )
        .into_response(),
        Err(err) => refusal(&user, &csrf, err),
    }
}

/// The buttons of a webhook's page: `POST /developers/webhooks/{id}/{action}`
/// with `action` one of `pause`, `resume`, `delete`, `test`.
pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    SignedForm {
        who: SignedIn { user, csrf },
        form: fields,
    }: SignedForm<Fields>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let services = &state.services;
    let done = match action.as_str() {
        "pause" | "resume" => services
            .update_webhook(
                WebhookManager::Creator(user.id),
                id,
                WebhookPatch {
                    paused: Some(action == "pause"),
                    ..WebhookPatch::default()
                },
            )
            .await
            .map(|_| format!("{HERE}/{id}")),
        "delete" => services
            .delete_webhook(WebhookManager::Creator(user.id), id)
            .await
            .map(|()| HERE.to_owned()),
        "test" => match field(&fields, "trigger").parse::<Trigger>() {
            Ok(trigger) => services
                .send_test_event(WebhookManager::Creator(user.id), id, trigger)
                .await
                .map(|_| format!("{HERE}/{id}")),
            Err(e) => Err(ServiceError::invalid("trigger", e.to_string())),
        },
        _ => Err(ServiceError::NotFound("page")),
    };
    match done {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(err) => refusal(&user, &csrf, err),
    }
}

pub async fn redeliver(
    State(state): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    SignedForm {
        who: SignedIn { user, csrf },
        ..
    }: SignedForm<Button>,
) -> Response {
    let (Ok(webhook), Ok(delivery)) = (id.parse::<WebhookId>(), delivery.parse::<DeliveryId>())
    else {
        return refusal(&user, &csrf, ServiceError::NotFound("delivery"));
    };
    match state
        .services
        .redeliver(WebhookManager::Creator(user.id), webhook, delivery)
        .await
    {
        Ok(()) => Redirect::to(&format!("{HERE}/{webhook}")).into_response(),
        Err(err) => refusal(&user, &csrf, err),
    }
}
