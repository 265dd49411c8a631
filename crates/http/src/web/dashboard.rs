//! `/dashboard`: a creator's numbers: this month's expected and collected
//! totals, the balance, income and patrons over time (SVG), payments being
//! retried and declined pledges, payouts with their ledger postings, and
//! the patron list (paged, searchable, CSV).

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::{PayoutStatus, PledgeId, PledgeStatus};
use maecenas_services::ServiceError;
use maecenas_services::records::{MonthIncome, PatronLine};
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{Creator, SignedIn, refusal};
use super::kit::{date, money, month};
use super::layout::{Viewer, wide_page};
use crate::AppState;

const PAGE_SIZE: i64 = 50;

pub async fn show(
    State(state): State<AppState>,
    Creator(SignedIn { user, csrf }): Creator,
) -> Response {
    let dash = match state.services.creator_dashboard(user.id).await {
        Ok(dash) => dash,
        Err(ServiceError::NotFound(_)) => {
            return Redirect::to("/dashboard/campaign").into_response();
        }
        Err(err) => return refusal(&user, &csrf, err),
    };
    let currency = dash.view.campaign.currency.as_str();
    let username = user.username.clone().unwrap_or_default();
    let viewer = Viewer {
        user: &user,
        csrf: &csrf,
    };
    let body = html! {
        section.card {
            h1 { "Dashboard" }
            p {
                a href="/dashboard/campaign" { "Set up your campaign" } " · "
                a href="/dashboard/posts" { "Posts" } " · "
                a href="/dashboard/patrons" { "Patrons" } " · "
                @if dash.view.campaign.published_at.is_some() { a href=(format!("/{username}")) { "Your public page" } }
                @else { span.badge { "Not published" } }
            }
            div.stats {
                div.stat { b data-testid="patrons" { (dash.view.totals.patron_count) } "active patrons" }
                div.stat { b { (money(dash.view.totals.pledge_sum_minor, currency)) } "pledged per " (if dash.view.campaign.is_monthly { "month".to_owned() } else { dash.view.campaign.pay_per_name.clone().unwrap_or_else(|| "creation".to_owned()) }) }
                div.stat { b data-testid="expected" { (money(dash.this_month.expected_minor, currency)) } "expected in " (month(dash.period)) }
                div.stat { b data-testid="collected" { (money(dash.this_month.collected_minor, currency)) } "collected in " (month(dash.period)) }
                @for balance in &dash.balance {
                    div.stat { b data-testid="balance" { (money(balance.amount_minor, &balance.currency)) } "outstanding balance" }
                }
                @if dash.balance.is_empty() { div.stat { b data-testid="balance" { (money(0, currency)) } "outstanding balance" } }
            }
            p.muted { "Expected and collected are what you get after fees. The balance is paid out to you at the start of each month." }
        }
        section.card {
            h2 { "Income and patrons by month" }
            (chart(&dash.income, currency))
        }
        section.card #payment-problems {
            h2 { "Payment problems" }
            @if dash.retrying.is_empty() && dash.declined.is_empty() {
                p.muted { "None: every patron's last payment went through." }
            }
            @if !dash.retrying.is_empty() {
                h3 { "Being retried" }
                p.muted { "Their last payment failed. It is tried again on the date shown, and they are asked to update their card." }
                div.table-wrap { table data-testid="retrying" {
                    thead { tr { th { "Patron" } th { "Amount" } th { "Failed attempts" } th { "Next try" } th { "Reason" } } }
                    tbody {
                        @for r in &dash.retrying {
                            tr {
                                td { (format!("{} {}", r.first_name, r.last_name).trim()) br; span.muted { (r.email) } }
                                td { (money(r.amount_minor, &r.currency)) }
                                td { (r.attempts) }
                                td { (date(r.next_attempt_at)) }
                                td { (r.failure_message.as_deref().unwrap_or("declined")) }
                            }
                        }
                    }
                } }
            }
            @if !dash.declined.is_empty() {
                h3 { "Declined" }
                p.muted { "Every attempt failed: these pledges are no longer charged until the patron gives a new card." }
                (patron_table(&dash.declined))
            }
        }
        section.card #payouts {
            h2 { "Payouts" }
            @if dash.payouts.is_empty() {
                p.muted { "No payout yet. Your balance is paid out at the start of each month." }
            } @else {
                div.table-wrap { table data-testid="payouts" {
                    thead { tr { th { "Made" } th { "For" } th { "Amount" } th { "Status" } th { "Ledger" } } }
                    tbody {
                        @for p in &dash.payouts {
                            tr {
                                td { (date(p.created_at)) }
                                td { (p.period.as_deref().unwrap_or("—")) }
                                td { (money(p.amount_minor, &p.currency)) }
                                td {
                                    @match p.status {
                                        PayoutStatus::Paid => { span.badge.good { "paid" } @if let Some(at) = p.paid_at { " " (date(at)) } }
                                        PayoutStatus::Pending => span.badge { "on its way" },
                                        PayoutStatus::Failed => { span.badge.bad { "failed" } @if let Some(why) = &p.failure_message { " " (why) } }
                                    }
                                }
                                td {
                                    @for posting in dash.payout_postings.iter().filter(|l| l.payout_id == p.id.get()) {
                                        div.muted { (account_name(&posting.account)) ": " (money(posting.amount_minor, &posting.currency)) }
                                    }
                                }
                            }
                        }
                    }
                } }
                p.muted { "Ledger: each payout takes the amount out of what Maecenas owes you (your balance) and out of the platform's cash with the payment provider." }
            }
        }
    };
    wide_page(Some(&viewer), "Dashboard", body).into_response()
}

/// Bars of net income per month with a line of paying patrons, oldest left,
/// with a scale on each side: money on the left, patrons on the right. With
/// many months only some are named under the bars, so the names never overlap.
fn chart(income: &[MonthIncome], currency: &str) -> Markup {
    if income.is_empty() {
        return html! { p.muted { "No income yet: the chart starts with the first payment." } };
    }
    let months: Vec<&MonthIncome> = income.iter().rev().collect();
    let (width, height) = (680.0_f64, 240.0_f64);
    let (left, right, top, bottom) = (78.0_f64, 44.0_f64, 14.0_f64, 30.0_f64);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max_money = nice_ceiling(months.iter().map(|m| m.net_minor).max().unwrap_or(0));
    let max_patrons = nice_ceiling(months.iter().map(|m| m.paying_patrons).max().unwrap_or(0));
    let slot = plot_w / months.len() as f64;
    let bar = (slot * 0.6).clamp(2.0, 40.0);
    // Name every month up to twelve, then every second, third…
    let every = months.len().div_ceil(12);
    let x_of = |i: usize| left + slot * i as f64 + slot / 2.0;
    let y_money = |minor: i64| top + plot_h - plot_h * minor as f64 / max_money as f64;
    let y_patrons = |n: i64| top + plot_h - plot_h * n as f64 / max_patrons as f64;
    let points: Vec<String> = months
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{:.1},{:.1}", x_of(i), y_patrons(m.paying_patrons)))
        .collect();
    let ticks = [0, max_money / 2, max_money];
    let patron_ticks = [0, max_patrons / 2, max_patrons];
    html! {
        svg role="img" aria-label="Monthly income (bars, left scale) and paying patrons (line, right scale)"
            viewBox=(format!("0 0 {width} {height}")) width="100%" data-testid="income-chart" {
            @for (tick, patrons) in ticks.iter().zip(patron_ticks) {
                @let y = y_money(*tick);
                line x1=(left) x2=(width - right) y1=(format!("{y:.1}")) y2=(format!("{y:.1}")) stroke="#e4e7f0" {}
                text x=(left - 6.0) y=(format!("{:.1}", y + 3.5)) font-size="10" text-anchor="end" fill="#1f3a93" { (money(*tick, currency)) }
                text x=(width - right + 6.0) y=(format!("{:.1}", y + 3.5)) font-size="10" fill="#2e7d32" { (patrons) }
            }
            @for (i, m) in months.iter().enumerate() {
                @let y = y_money(m.net_minor);
                rect x=(format!("{:.1}", x_of(i) - bar / 2.0)) y=(format!("{y:.1}")) width=(format!("{bar:.1}"))
                    height=(format!("{:.1}", top + plot_h - y)) fill="#1f3a93" {
                    title { (m.period) ": " (money(m.net_minor, currency)) " kept, " (m.paying_patrons) " paying patrons" }
                }
                @if i % every == 0 || i + 1 == months.len() {
                    text x=(format!("{:.1}", x_of(i))) y=(format!("{:.1}", height - bottom + 16.0)) font-size="10" text-anchor="middle" fill="#5b6375" { (m.period) }
                }
            }
            polyline points=(points.join(" ")) fill="none" stroke="#2e7d32" stroke-width="2" {}
            @for (i, m) in months.iter().enumerate() {
                circle cx=(format!("{:.1}", x_of(i))) cy=(format!("{:.1}", y_patrons(m.paying_patrons))) r="2.5" fill="#2e7d32" {}
            }
        }
        p.muted {
            span style="color:#1f3a93" { "■" } " What you kept each month, after fees (left scale). "
            span style="color:#2e7d32" { "●" } " Patrons who paid that month (right scale)."
        }
    }
}

/// A ledger account as a creator reads it.
fn account_name(account: &str) -> &str {
    match account {
        "creator_payable" => "your balance",
        "gateway_cash" => "cash with the payment provider",
        "platform_revenue" => "platform fees",
        other => other,
    }
}

/// A round number at or above `n` (at least 1) for the top of a scale, a
/// power of ten times 1, 2, 2.5, 3, 4, 5, 6 or 8, so that its half is round
/// too and the tallest bar fills most of the height.
fn nice_ceiling(n: i64) -> i64 {
    let n = n.max(1);
    let mut power = 1i64;
    while power.saturating_mul(10) <= n {
        power = power.saturating_mul(10);
    }
    // Tenths of the power, so that 2.5 stays exact.
    [10, 20, 25, 30, 40, 50, 60, 80, 100]
        .iter()
        .map(|tenths| power.saturating_mul(*tenths) / 10)
        .find(|top| *top >= n)
        .unwrap_or(i64::MAX)
        .max(1)
}

fn patron_table(lines: &[PatronLine]) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th { "Patron" } th { "Email" } th { "Tier" } th { "Amount" } th { "Status" } th { "Since" } } }
            tbody {
                @for line in lines {
                    tr {
                        td { (line.username.clone().unwrap_or_else(|| format!("{} {}", line.first_name, line.last_name))) }
                        td { (line.email) }
                        td { (line.tier_title.clone().unwrap_or_else(|| "—".to_owned())) }
                        td { (money(line.amount_minor, &line.currency)) }
                        td {
                            @match line.status {
                                PledgeStatus::Active if line.cancelled_at.is_none() => span.badge.good { "active" },
                                PledgeStatus::Declined => span.badge.bad { "declined" },
                                PledgeStatus::Active | PledgeStatus::Cancelled => span.badge { "cancelled" },
                            }
                        }
                        td { (date(line.created_at)) }
                    }
                }
            }
        } }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PatronQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    after: Option<i64>,
}

pub async fn patrons(
    State(state): State<AppState>,
    Creator(SignedIn { user, csrf }): Creator,
    Query(query): Query<PatronQuery>,
) -> Response {
    let lines = match state
        .services
        .campaign_patrons(
            user.id,
            &query.q,
            &query.status,
            query.after.map(PledgeId::from),
            PAGE_SIZE + 1,
        )
        .await
    {
        Ok(lines) => lines,
        Err(err) => return refusal(&user, &csrf, err),
    };
    let more = lines.len() as i64 > PAGE_SIZE;
    let shown = &lines[..lines.len().min(PAGE_SIZE as usize)];
    let next = more.then(|| shown.last().map(|l| l.pledge_id)).flatten();
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let filter = format!("q={}&status={}", encode(&query.q), encode(&query.status));
    let viewer = Viewer {
        user: &user,
        csrf: &csrf,
    };
    let body = html! {
        section.card {
            h1 { "Patrons" }
            form method="get" action="/dashboard/patrons" role="search" {
                label for="q" { "Search by name, username or email" }
                input id="q" name="q" type="search" value=(query.q);
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" selected[query.status.is_empty()] { "All current" }
                    @for s in ["active", "declined", "cancelled"] { option value=(s) selected[query.status == s] { (s) } }
                }
                button type="submit" { "Search" }
            }
            p { a href=(format!("/dashboard/patrons.csv?{filter}")) download { "Download CSV" } }
            @if shown.is_empty() { p.muted { "No patrons match." } } @else { (patron_table(shown)) }
            p {
                @if query.after.is_some() { a href=(format!("/dashboard/patrons?{filter}")) { "First page" } " " }
                @if let Some(next) = next { a href=(format!("/dashboard/patrons?{filter}&after={next}")) { "Next page" } }
            }
        }
    };
    wide_page(Some(&viewer), "Patrons", body).into_response()
}

/// The patron list as CSV, streamed page by page so a large campaign does
/// not sit in memory.
pub async fn patrons_csv(
    State(state): State<AppState>,
    Creator(SignedIn { user, csrf }): Creator,
    Query(query): Query<PatronQuery>,
) -> Response {
    let services = state.services.clone();
    // Refusals (no campaign, a bad status) before the first byte is sent.
    if let Err(err) = services
        .campaign_patrons(user.id, &query.q, &query.status, None, 1)
        .await
    {
        return refusal(&user, &csrf, err);
    }
    // The shipping columns are filled for pledges to tiers that ship.
    let header_line = "pledge_id,patron_id,username,first_name,last_name,email,tier,amount,currency,status,since,\
        ship_to,ship_line_1,ship_line_2,ship_postal_code,ship_city,ship_state,ship_country,ship_phone\n"
        .to_owned();
    let stream = futures_util::stream::unfold(
        (Some(header_line), None::<PledgeId>, false),
        move |(header_line, after, done)| {
            let services = services.clone();
            let q = query.q.clone();
            let status = query.status.clone();
            async move {
                if let Some(line) = header_line {
                    return Some((Ok::<_, std::io::Error>(line), (None, after, done)));
                }
                if done {
                    return None;
                }
                let page = services
                    .campaign_patrons(user.id, &q, &status, after, 1_000)
                    .await
                    .ok()?;
                if page.is_empty() {
                    return None;
                }
                let last = page.last().map(|l| PledgeId::from(l.pledge_id));
                let finished = page.len() < 1_000;
                let mut chunk = String::new();
                for l in &page {
                    // For spreadsheets and scripts: a decimal point in every currency.
                    let amount = l
                        .currency
                        .parse::<maecenas_domain::Currency>()
                        .map(|c| c.format_point(l.amount_minor))
                        .unwrap_or_else(|_| l.amount_minor.to_string());
                    let status = if l.cancelled_at.is_some() {
                        "cancelled"
                    } else {
                        l.status.as_str()
                    };
                    let fields = [
                        l.pledge_id.to_string(),
                        l.patron_id.to_string(),
                        l.username.clone().unwrap_or_default(),
                        l.first_name.clone(),
                        l.last_name.clone(),
                        l.email.clone(),
                        l.tier_title.clone().unwrap_or_default(),
                        amount,
                        l.currency.clone(),
                        status.to_owned(),
                        l.created_at.date().to_string(),
                    ];
                    let ship = &l.shipping;
                    let shipping = [
                        &ship.ship_addressee,
                        &ship.ship_line_1,
                        &ship.ship_line_2,
                        &ship.ship_postal_code,
                        &ship.ship_city,
                        &ship.ship_state,
                        &ship.ship_country,
                        &ship.ship_phone,
                    ]
                    .map(|f| f.clone().unwrap_or_default());
                    let fields: Vec<&String> = fields.iter().chain(shipping.iter()).collect();
                    chunk.push_str(
                        &fields
                            .iter()
                            .map(|f| csv_field(f))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    chunk.push('\n');
                }
                Some((Ok(chunk), (None, last, finished)))
            }
        },
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"patrons.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// RFC 4180 quoting, and a leading quote mark on anything a spreadsheet
/// would run as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        for (n, top) in [
            (0, 1),
            (1, 1),
            (7, 8),
            (206_422, 250_000),
            (300, 300),
            (301, 400),
            (999, 1000),
        ] {
            assert_eq!(super::nice_ceiling(n), top, "{n}");
        }
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
