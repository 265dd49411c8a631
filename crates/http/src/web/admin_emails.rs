//! `/admin/emails`: the outbox as operators see it: what was sent to whom,
//! what is waiting or failing and why. Without a mail server (the embedded
//! default) each message is a file, and its text is shown here, so that an
//! operator trying Maecenas out can follow a password-reset link.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maecenas_domain::EmailStatus;
use maecenas_services::ServiceError;
use maud::html;
use serde::Deserialize;

use super::guard::{Admin, SignedIn, refusal};
use super::kit::date;
use super::layout::{Viewer, wide_page};
use crate::AppState;

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    before: Option<i64>,
}

fn status_badge(status: EmailStatus) -> maud::Markup {
    match status {
        EmailStatus::Sent => html! { span.badge.good { "sent" } },
        EmailStatus::Failed => html! { span.badge.bad { "failed" } },
        EmailStatus::Pending => html! { span.badge { "waiting" } },
    }
}

pub async fn list(
    State(state): State<AppState>,
    Admin(SignedIn { user, csrf }): Admin,
    Query(query): Query<OutboxQuery>,
) -> Response {
    let emails = match state
        .services
        .recent_emails(query.before, PAGE_SIZE + 1)
        .await
    {
        Ok(emails) => emails,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let more = emails.len() as i64 > PAGE_SIZE;
    let shown = &emails[..emails.len().min(PAGE_SIZE as usize)];
    let viewer = Viewer {
        user: &user,
        csrf: &csrf,
    };
    let sending = if state.services.sends_mail() {
        match state.services.mail_folder() {
            Some(dir) => format!(
                "No mail server is set (--smtp-url): each message is written as a file under {} and shown here.",
                dir.display()
            ),
            None => "Messages go to the mail server set with --smtp-url.".to_owned(),
        }
    } else {
        "This process does not send e-mail: messages wait here for a server that does.".to_owned()
    };
    let body = html! {
        section.card {
            h1 { "E-mail" }
            p.muted { (sending) }
            @if shown.is_empty() {
                p { "Nothing has been written yet." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Written" } th { "To" } th { "Subject" } th { "State" } th { "Tries" } } }
                    tbody {
                        @for e in shown {
                            tr {
                                td { (date(e.created_at)) }
                                td { (e.to_address) }
                                td { a href=(format!("/admin/emails/{}", e.id)) { (e.subject) } }
                                td { (status_badge(e.status))
                                    @if let Some(error) = &e.last_error { br; span.muted { (error) } } }
                                td { (e.attempts) }
                            }
                        }
                    }
                } }
            }
            @if more {
                @if let Some(last) = shown.last() {
                    p { a href=(format!("/admin/emails?before={}", last.id)) { "Older messages" } }
                }
            }
        }
    };
    wide_page(Some(&viewer), "E-mail", body).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    Admin(SignedIn { user, csrf }): Admin,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return refusal(&user, &csrf, ServiceError::NotFound("e-mail"));
    };
    let message = match state.services.outbox_message(id).await {
        Ok(message) => message,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let viewer = Viewer {
        user: &user,
        csrf: &csrf,
    };
    let e = &message.row;
    let body = html! {
        section.card {
            h1 { (e.subject) }
            dl {
                dt { "To" } dd { (e.to_address) }
                dt { "Kind" } dd { "E-mail about " (e.kind.described()) }
                dt { "Written" } dd { (date(e.created_at)) }
                dt { "State" } dd { (status_badge(e.status))
                    @if let Some(at) = e.sent_at { " on " (date(at)) }
                    " after " (e.attempts) " attempt" @if e.attempts != 1 { "s" } }
                @if let Some(error) = &e.last_error { dt { "Last error" } dd { (error) } }
            }
            @match &message.text {
                Some(text) => { h2 { "Text" } pre data-testid="email-text" { (text) } },
                None => p.muted { "The text is not kept here: it is with the mail server once sent, and one-time links in it are not stored." },
            }
            p.muted { a href="/admin/emails" { "All messages" } }
        }
    };
    wide_page(Some(&viewer), "E-mail", body).into_response()
}
