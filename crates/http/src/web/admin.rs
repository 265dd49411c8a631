//! `/admin/users`: suspend, delete and nuke accounts. What each means is
//! written on the page and enforced by the use cases (`Services::moderate`):
//! - suspended: cannot log in; sessions, tokens and API keys stop working;
//!   the profile stays. Reversible.
//! - deleted: as suspended, and gone from public pages and APIs; pledges are
//!   cancelled. Reversible (pledges stay cancelled).
//! - nuked: as deleted, and every personal detail is erased for good.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::{AccountStanding, UserId};
use maecenas_services::ServiceError;
use maecenas_services::records::Moderation;
use maud::html;
use serde::Deserialize;

use super::guard::{Admin, Button, SignedForm, SignedIn, refusal};
use super::kit::date;
use super::layout::{Viewer, wide_page};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    after: Option<i64>,
    done: Option<String>,
}

const PAGE_SIZE: i64 = 50;

pub async fn list(
    State(state): State<AppState>,
    Admin(SignedIn { user, csrf }): Admin,
    Query(query): Query<UsersQuery>,
) -> Response {
    let users = match state
        .services
        .search_users(&query.q, query.after.map(UserId::from), PAGE_SIZE + 1)
        .await
    {
        Ok(users) => users,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let more = users.len() as i64 > PAGE_SIZE;
    let shown = &users[..users.len().min(PAGE_SIZE as usize)];
    let encoded: String = url::form_urlencoded::byte_serialize(query.q.as_bytes()).collect();
    let viewer = Viewer {
        user: &user,
        csrf: &csrf,
    };
    let body = html! {
        @if let Some(done) = &query.done { p.notice role="status" { "Done: " (done) "." } }
        section.card {
            h1 { "Users" }
            p.muted { "Also: " a href="/admin/emails" { "the e-mail outbox" } " (what was sent, what is waiting or failing)." }
            dl {
                dt { "Suspend" } dd { "Cannot log in; sessions, OAuth tokens and API keys stop working. The profile stays. Can be undone." }
                dt { "Delete" } dd { "As suspended, and gone from public pages and APIs; their pledges are cancelled. Can be undone (pledges stay cancelled)." }
                dt { "Nuke" } dd { "As deleted, and every personal detail (email, names, profile, picture, addresses, API keys, app grants) is erased for good. Charges stay for the books. Cannot be undone." }
            }
            form method="get" action="/admin/users" role="search" {
                label for="q" { "Email or username contains" }
                input id="q" name="q" type="search" value=(query.q);
                button type="submit" { "Search" }
            }
            div.table-wrap { table {
                thead { tr { th { "User" } th { "Email" } th { "Since" } th { "State" } th { "" } } }
                tbody {
                    @for u in shown {
                        tr data-user=(u.id.get()) {
                            td { (u.username.clone().unwrap_or_else(|| "—".to_owned())) @if u.is_creator { " " span.badge { "creator" } } @if u.is_admin { " " span.badge { "admin" } } }
                            td { (u.email) }
                            td { (date(u.created_at)) }
                            @let standing = u.standing();
                            td {
                                @match standing {
                                    AccountStanding::Nuked => span.badge.bad { "nuked" },
                                    AccountStanding::Closed => span.badge.bad { "deleted" },
                                    AccountStanding::Suspended => span.badge.bad { "suspended" },
                                    AccountStanding::Active => span.badge.good { "active" },
                                }
                            }
                            td {
                                @if u.id != user.id && standing != AccountStanding::Nuked {
                                    @let actions: &[(&str, &str)] = match standing {
                                        AccountStanding::Closed | AccountStanding::Nuked => &[("restore", "Restore"), ("nuke", "Nuke")],
                                        AccountStanding::Suspended => &[("unsuspend", "Unsuspend"), ("delete", "Delete"), ("nuke", "Nuke")],
                                        AccountStanding::Active => &[("suspend", "Suspend"), ("delete", "Delete"), ("nuke", "Nuke")],
                                    };
                                    @for (action, label) in actions {
                                        form.inline method="post" action=(format!("/admin/users/{}/{action}", u.id.get())) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            button.secondary.danger[*action == "nuke"] type="submit" { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
            @if more {
                @if let Some(last) = shown.last() {
                    p { a href=(format!("/admin/users?q={encoded}&after={}", last.id.get())) { "Next page" } }
                }
            }
        }
    };
    wide_page(Some(&viewer), "Users", body).into_response()
}

pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    SignedForm {
        who: Admin(SignedIn { user, csrf }),
        form: _,
    }: SignedForm<Button, Admin>,
) -> Response {
    let target = UserId::from(id);
    if target == user.id {
        return refusal(
            &user,
            &csrf,
            ServiceError::invalid("user", "you cannot moderate your own account"),
        );
    }
    let current = match state.services.user_by_id(target).await {
        Ok(found) => found,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let keep = Moderation {
        is_suspended: current.is_suspended,
        is_deleted: current.is_deleted,
        is_nuked: current.is_nuked,
    };
    let (flags, done) = match action.as_str() {
        "suspend" => (
            Moderation {
                is_suspended: true,
                ..keep
            },
            "suspended",
        ),
        "unsuspend" => (
            Moderation {
                is_suspended: false,
                ..keep
            },
            "unsuspended",
        ),
        "delete" => (
            Moderation {
                is_deleted: true,
                ..keep
            },
            "deleted",
        ),
        "restore" => (
            Moderation {
                is_deleted: false,
                is_suspended: false,
                ..keep
            },
            "restored",
        ),
        "nuke" => (
            Moderation {
                is_nuked: true,
                is_deleted: true,
                ..keep
            },
            "nuked",
        ),
        _ => return refusal(&user, &csrf, ServiceError::NotFound("action")),
    };
    match state.services.moderate(target, flags).await {
        Ok(()) => Redirect::to(&format!("/admin/users?done={done}")).into_response(),
        Err(err) => refusal(&user, &csrf, err),
    }
}
