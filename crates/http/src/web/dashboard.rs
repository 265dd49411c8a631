//! `/dashboard`: a creator's numbers: this month's expected and collected
//! totals, the balance, income and patrons over time (SVG), declined
//! patrons, and the patron list (paged, searchable, CSV).

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maecenas_domain::{PledgeId, PledgeStatus};
use maecenas_services::ServiceError;
use maecenas_services::records::{MonthIncome, PatronLine};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::guard::{Creator, SignedIn, refusal};
use super::kit::{date, money};
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
                a href="/dashboard/patrons" { "Patrons" } " · "
                @if dash.view.campaign.published_at.is_some() { a href=(format!("/{username}")) { "Your public page" } }
                @else { span.badge { "Not published" } }
            }
            div.stats {
                div.stat { b data-testid="patrons" { (dash.view.totals.patron_count) } "active patrons" }
                div.stat { b { (money(dash.view.totals.pledge_sum_minor, currency)) } "pledged per month" }
                div.stat { b data-testid="expected" { (money(dash.this_month.expected_minor, currency)) } "expected in " (dash.period.to_string()) }
                div.stat { b data-testid="collected" { (money(dash.this_month.collected_minor, currency)) } "collected in " (dash.period.to_string()) }
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
        section.card {
            h2 { "Declined patrons" }
            @if dash.declined.is_empty() { p.muted { "None: every patron's last payment went through." } }
            @else {
                p.muted { "Their payment failed; they are asked to update their card and charged again." }
                (patron_table(&dash.declined))
            }
        }
    };
    wide_page(Some(&viewer), "Dashboard", body).into_response()
}

/// Bars of net income per month with a line of paying patrons, oldest left.
fn chart(income: &[MonthIncome], currency: &str) -> Markup {
    if income.is_empty() {
        return html! { p.muted { "No income yet: the chart starts with the first payment." } };
    }
    let months: Vec<&MonthIncome> = income.iter().rev().collect();
    let (width, height, pad) = (640.0_f64, 220.0_f64, 30.0_f64);
    let max_money = months.iter().map(|m| m.net_minor).max().unwrap_or(1).max(1) as f64;
    let max_patrons = months
        .iter()
        .map(|m| m.paying_patrons)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let slot = (width - 2.0 * pad) / months.len() as f64;
    let bar = (slot * 0.6).max(2.0);
    let plot = height - 2.0 * pad;
    let mut svg = String::new();
    let mut points = Vec::new();
    for (i, m) in months.iter().enumerate() {
        let x = pad + slot * i as f64 + (slot - bar) / 2.0;
        let h = plot * m.net_minor as f64 / max_money;
        let y = height - pad - h;
        svg.push_str(&format!(
            r##"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="#1f3a93"><title>{}: {} net, {} patrons</title></rect>"##,
            escape(&m.period),
            escape(&money(m.net_minor, currency)),
            m.paying_patrons
        ));
        svg.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6375">{}</text>"##,
            x + bar / 2.0,
            height - pad + 14.0,
            escape(&m.period)
        ));
        let py = height - pad - plot * m.paying_patrons as f64 / max_patrons;
        points.push(format!("{:.1},{py:.1}", x + bar / 2.0));
    }
    svg.push_str(&format!(
        r##"<polyline points="{}" fill="none" stroke="#2e7d32" stroke-width="2"/>"##,
        points.join(" ")
    ));
    html! {
        svg role="img" aria-label="Monthly income (bars) and paying patrons (line)" viewBox=(format!("0 0 {width} {height}")) width="100%" {
            (PreEscaped(svg))
        }
        p.muted { "Bars: what you kept each month (top: " (money(max_money as i64, currency)) "). Line: patrons who paid (top: " (max_patrons as i64) ")." }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
    let header_line = "pledge_id,patron_id,username,first_name,last_name,email,tier,amount,currency,status,since\n".to_owned();
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
                    let amount = super::kit::plain_amount(l.amount_minor, &l.currency);
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
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
