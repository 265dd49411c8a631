//! The `stripe` gateway: Stripe's REST API over reqwest, form-encoded bodies,
//! the secret key as the Basic auth user. Works against api.stripe.com and
//! against localstripe (whose gaps are noted where they matter).
//!
//! Nothing here logs or returns the secret key or a card number: every
//! message that leaves this module goes through [`StripeGateway::scrub`].

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::payment::{
    AttachedCard, CardInput, ChargeOutcome, ChargeRequest, GatewayError, Lookup, PayoutRequest,
    RefundRequest,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Payment intents created at once by [`StripeGateway::charge_many`].
const CONCURRENT_CHARGES: usize = 8;
/// Stripe's largest page.
const PAGE_SIZE: &str = "100";
/// Pages read by a full scan of the payment intents (when search is missing)
/// before giving up rather than answering `NotFound` on a partial view.
const MAX_SCAN_PAGES: usize = 200;
/// Stripe's search index lags writes ("usually under a minute"), so a lookup
/// also reads the newest intents from the (consistent) list, this far back.
const RECENT_WINDOW_SECS: i64 = 15 * 60;
const MAX_RECENT_PAGES: usize = 20;

pub struct StripeGateway {
    client: Client,
    secret_key: String,
    /// Without a trailing slash: `https://api.stripe.com`.
    api_base: String,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeGateway")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// Why a call gave no usable answer.
enum Failure {
    /// No HTTP answer: connection refused or lost, timeout, a body cut short,
    /// a request that could not be built.
    Transport(String),
    /// An HTTP error status; `error` is Stripe's error object when the body
    /// was one (localstripe answers unknown routes with plain text).
    Status {
        status: StatusCode,
        error: Option<StripeError>,
    },
    /// A success status with a body that is not what Stripe sends.
    Malformed(String),
}

/// Stripe's `{"error": {...}}`.
#[derive(Debug, Default, Deserialize)]
struct StripeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl StripeError {
    fn code_or(&self, default: &str) -> String {
        self.code
            .clone()
            .or_else(|| self.decline_code.clone())
            .unwrap_or_else(|| default.to_owned())
    }

    fn message_or(&self, default: &str) -> String {
        self.message.clone().unwrap_or_else(|| default.to_owned())
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: StripeError,
}

#[derive(Deserialize)]
struct Object {
    id: String,
}

#[derive(Deserialize)]
struct PaymentMethod {
    id: String,
    #[serde(default)]
    card: Option<CardDetails>,
}

#[derive(Deserialize)]
struct CardDetails {
    #[serde(default)]
    brand: Option<String>,
    #[serde(default)]
    last4: Option<String>,
    #[serde(default)]
    exp_month: Option<u64>,
    #[serde(default)]
    exp_year: Option<u64>,
}

#[derive(Deserialize)]
struct PaymentIntent {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    created: i64,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    last_payment_error: Option<StripeError>,
}

impl PaymentIntent {
    fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(key)?.as_str()
    }

    /// Why the intent did not succeed, as Billing stores it.
    fn failure(&self) -> (String, String) {
        let error = self.last_payment_error.as_ref();
        match self.status.as_str() {
            "requires_action" => (
                "authentication_required".to_owned(),
                error.and_then(|e| e.message.clone()).unwrap_or_else(|| {
                    "The card's issuer asks the patron to authenticate this payment.".to_owned()
                }),
            ),
            "canceled" => (
                error.map_or_else(|| "canceled".to_owned(), |e| e.code_or("canceled")),
                error.map_or_else(
                    || "The payment was canceled.".to_owned(),
                    |e| e.message_or("The payment was canceled."),
                ),
            ),
            _ => (
                error.map_or_else(
                    || "card_declined".to_owned(),
                    |e| e.code_or("card_declined"),
                ),
                error.map_or_else(
                    || "Your card was declined.".to_owned(),
                    |e| e.message_or("Your card was declined."),
                ),
            ),
        }
    }

    /// Money may still move (or is held) under this intent.
    fn in_flight(&self) -> bool {
        matches!(self.status.as_str(), "processing" | "requires_capture")
    }
}

/// A page of `GET /v1/payment_intents` or of its search.
#[derive(Deserialize)]
struct Page {
    data: Vec<PaymentIntent>,
    #[serde(default)]
    has_more: bool,
    /// Search only.
    #[serde(default)]
    next_page: Option<String>,
}

enum Scan {
    /// Every intent: localstripe has no search, and lists oldest first.
    All,
    /// The newest intents (Stripe lists newest first), back to a cutoff.
    Since(i64),
}

impl StripeGateway {
    /// `api_base` is the scheme and host, like `https://api.stripe.com` or
    /// `http://127.0.0.1:8420` (localstripe); a trailing slash is ignored.
    pub fn new(secret_key: String, api_base: String) -> Result<Self, GatewayError> {
        if secret_key.is_empty()
            || secret_key
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(GatewayError::Unavailable(
                "the Stripe secret key is empty or malformed".into(),
            ));
        }
        let api_base = api_base.trim().trim_end_matches('/').to_owned();
        let url = Url::parse(&api_base).map_err(|e| {
            GatewayError::Unavailable(format!(
                "the Stripe API base {api_base:?} is not a URL: {e}"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host().is_none()
            || url.query().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(GatewayError::Unavailable(format!(
                "the Stripe API base must look like https://api.stripe.com, not {:?}",
                url.origin().ascii_serialization()
            )));
        }
        let client = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("maecenas/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                GatewayError::Unavailable(format!("cannot build the HTTP client: {}", describe(&e)))
            })?;
        Ok(Self {
            client,
            secret_key,
            api_base,
        })
    }

    /// Creates a customer named by `owner_email`, a card payment method from
    /// the raw card, and attaches the one to the other. The reference is
    /// `cus_…:pm_…`, what [`Self::charge_many`] takes apart.
    ///
    /// Raw card numbers reach Stripe's API only in test mode or on accounts
    /// Stripe has cleared for it (PCI SAQ D); production should collect cards
    /// with Stripe.js and hand over a `pm_…` instead.
    pub async fn attach_card(
        &self,
        card: &CardInput,
        owner_email: &str,
    ) -> Result<AttachedCard, GatewayError> {
        let customer: Object = self
            .send(self.post("/v1/customers").form(&[("email", owner_email)]))
            .await
            .map_err(|f| self.attach_error(f, false))?;
        let customer_id = self
            .checked_id(&customer.id)
            .map_err(GatewayError::Unavailable)?;

        let number: String = card
            .number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        let form = [
            ("type", "card".to_owned()),
            ("card[number]", number),
            ("card[exp_month]", card.exp_month.to_string()),
            ("card[exp_year]", card.exp_year.to_string()),
            ("card[cvc]", card.cvc.clone()),
        ];
        let created: PaymentMethod = self
            .send(self.post("/v1/payment_methods").form(&form))
            .await
            .map_err(|f| self.attach_error(f, true))?;
        let method_id = self
            .checked_id(&created.id)
            .map_err(GatewayError::Unavailable)?;

        let attached: PaymentMethod = self
            .send(
                self.post(&format!("/v1/payment_methods/{method_id}/attach"))
                    .form(&[("customer", customer_id)]),
            )
            .await
            .map_err(|f| self.attach_error(f, true))?;

        let details = attached.card.or(created.card).ok_or_else(|| {
            GatewayError::Unavailable(
                "Stripe returned a payment method without card details".into(),
            )
        })?;
        let digits_on_file = || {
            let digits: String = card.number.chars().filter(char::is_ascii_digit).collect();
            digits[digits.len().saturating_sub(4)..].to_owned()
        };
        Ok(AttachedCard {
            gateway_ref: format!("{customer_id}:{method_id}"),
            brand: details
                .brand
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| "unknown".to_owned()),
            last4: details
                .last4
                .filter(|l| l.len() == 4)
                .unwrap_or_else(digits_on_file),
            exp_month: details
                .exp_month
                .and_then(|m| u8::try_from(m).ok())
                .unwrap_or(card.exp_month),
            exp_year: details
                .exp_year
                .and_then(|y| u16::try_from(y).ok())
                .unwrap_or(card.exp_year),
        })
    }

    /// One payment intent per request, created and confirmed off session,
    /// up to [`CONCURRENT_CHARGES`] at a time; the outcomes keep the order
    /// of the requests.
    pub async fn charge_many(&self, requests: &[ChargeRequest]) -> Vec<ChargeOutcome> {
        // The futures are collected first: a stream over `iter().map(closure)`
        // makes this future fail `Send` ("not general enough", a rustc
        // limitation with higher-ranked closures in async bodies).
        let attempts: Vec<_> = requests
            .iter()
            .map(|request| self.charge_one(request))
            .collect();
        futures_util::stream::iter(attempts)
            .buffered(CONCURRENT_CHARGES)
            .collect()
            .await
    }

    async fn charge_one(&self, request: &ChargeRequest) -> ChargeOutcome {
        let Some((customer, method)) = request
            .payment_method_ref
            .split_once(':')
            .filter(|(c, m)| self.checked_id(c).is_ok() && self.checked_id(m).is_ok())
        else {
            // Nothing was sent, so nothing moved: a refusal, not an unknown.
            return ChargeOutcome::Declined {
                code: "invalid_payment_method".into(),
                message: "The saved card is not a Stripe card (expected cus_…:pm_…).".into(),
            };
        };
        let form = [
            ("amount", request.amount_minor.to_string()),
            ("currency", request.currency.to_ascii_lowercase()),
            ("customer", customer.to_owned()),
            ("payment_method", method.to_owned()),
            // Explicit, so that accounts with automatic payment methods
            // (the default since API version 2023-08-16) need no return_url.
            ("payment_method_types[0]", "card".to_owned()),
            ("confirm", "true".to_owned()),
            ("off_session", "true".to_owned()),
            ("metadata[reference]", request.reference.clone()),
            ("metadata[idempotency_key]", request.idempotency_key.clone()),
        ];
        let builder = self
            .post("/v1/payment_intents")
            .header("Idempotency-Key", request.idempotency_key.as_str())
            .form(&form);
        let outcome = match self.send::<PaymentIntent>(builder).await {
            Ok(intent) => self.outcome_of_intent(&intent),
            Err(failure) => self.charge_failure(failure),
        };
        if let ChargeOutcome::Unknown { message } = &outcome {
            tracing::warn!(reference = %request.reference, "stripe charge outcome unknown: {message}");
        }
        outcome
    }

    fn outcome_of_intent(&self, intent: &PaymentIntent) -> ChargeOutcome {
        match intent.status.as_str() {
            "succeeded" => ChargeOutcome::Succeeded {
                payment_ref: intent.id.clone(),
            },
            "requires_action" | "requires_payment_method" | "canceled" => {
                let (code, message) = intent.failure();
                ChargeOutcome::Declined {
                    code,
                    message: self.scrub(&message),
                }
            }
            other => ChargeOutcome::Unknown {
                message: self.scrub(&format!(
                    "Stripe left payment {} in status {other:?}",
                    intent.id
                )),
            },
        }
    }

    fn charge_failure(&self, failure: Failure) -> ChargeOutcome {
        match failure {
            Failure::Transport(message) => ChargeOutcome::Unknown {
                message: self.scrub(&format!("no answer from Stripe: {message}")),
            },
            Failure::Malformed(message) => ChargeOutcome::Unknown {
                message: self.scrub(&message),
            },
            Failure::Status {
                status,
                error: Some(error),
            } if refused_charge(status, &error) => ChargeOutcome::Declined {
                code: error.code_or(if status == StatusCode::PAYMENT_REQUIRED {
                    "card_declined"
                } else {
                    "invalid_request"
                }),
                message: self.scrub(&error.message_or("Stripe refused the payment.")),
            },
            Failure::Status { status, error } => ChargeOutcome::Unknown {
                message: self.scrub(&status_message(status, error.as_ref())),
            },
        }
    }

    /// What Stripe knows of the payment intents made for `reference`
    /// (`metadata.reference`).
    ///
    /// On Stripe this is a search, plus a read of the newest intents from the
    /// list because the search index lags writes by up to about a minute. On
    /// localstripe, which has no search (404), every intent is listed.
    ///
    /// An intent still `processing` is an error (`Unavailable`): the money
    /// may yet move, so it is neither a success nor a failure.
    pub async fn lookup(&self, reference: &str) -> Result<Lookup, GatewayError> {
        let mut intents = match self.search(reference).await {
            Ok(found) => {
                let cutoff = time::OffsetDateTime::now_utc().unix_timestamp() - RECENT_WINDOW_SECS;
                let mut recent = self.scan(reference, Scan::Since(cutoff)).await?;
                recent.retain(|r| !found.iter().any(|f| f.id == r.id));
                found.into_iter().chain(recent).collect()
            }
            Err(Failure::Status {
                status: StatusCode::NOT_FOUND,
                ..
            }) => self.scan(reference, Scan::All).await?,
            Err(failure) => return Err(self.unavailable(failure)),
        };
        intents.sort_by_key(|i| i.created);

        if let Some(done) = intents.iter().find(|i| i.status == "succeeded") {
            return Ok(Lookup::Succeeded {
                payment_ref: done.id.clone(),
            });
        }
        if let Some(pending) = intents.iter().find(|i| i.in_flight()) {
            return Err(GatewayError::Unavailable(self.scrub(&format!(
                "Stripe payment {} is still {}",
                pending.id, pending.status
            ))));
        }
        let Some(last) = intents.last() else {
            return Ok(Lookup::NotFound);
        };
        let mut keys: Vec<String> = Vec::new();
        for key in intents.iter().filter_map(|i| i.metadata("idempotency_key")) {
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
        let (code, message) = last.failure();
        Ok(Lookup::Failed {
            keys,
            code,
            message: self.scrub(&message),
        })
    }

    /// Every page of `GET /v1/payment_intents/search` for the reference.
    async fn search(&self, reference: &str) -> Result<Vec<PaymentIntent>, Failure> {
        let escaped = reference.replace('\\', "\\\\").replace('\'', "\\'");
        let query = format!("metadata['reference']:'{escaped}'");
        let mut found = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_SCAN_PAGES {
            let mut params = vec![("query", query.as_str()), ("limit", PAGE_SIZE)];
            if let Some(token) = &page_token {
                params.push(("page", token.as_str()));
            }
            let page: Page = self
                .send(self.get("/v1/payment_intents/search").query(&params))
                .await?;
            found.extend(
                page.data
                    .into_iter()
                    .filter(|i| i.metadata("reference") == Some(reference)),
            );
            match page.next_page {
                Some(token) if page.has_more && !token.is_empty() => page_token = Some(token),
                _ => return Ok(found),
            }
        }
        Err(Failure::Malformed(format!(
            "more than {MAX_SCAN_PAGES} pages of Stripe search results for one reference"
        )))
    }

    /// Pages through `GET /v1/payment_intents`, keeping the reference's.
    async fn scan(&self, reference: &str, scan: Scan) -> Result<Vec<PaymentIntent>, GatewayError> {
        let max_pages = match scan {
            Scan::All => MAX_SCAN_PAGES,
            Scan::Since(_) => MAX_RECENT_PAGES,
        };
        let mut found = Vec::new();
        let mut starting_after: Option<String> = None;
        for _ in 0..max_pages {
            let mut params = vec![("limit", PAGE_SIZE)];
            if let Some(last) = &starting_after {
                params.push(("starting_after", last.as_str()));
            }
            let page: Page = self
                .send(self.get("/v1/payment_intents").query(&params))
                .await
                .map_err(|f| self.unavailable(f))?;
            let past_cutoff = match scan {
                Scan::Since(cutoff) => page.data.iter().any(|i| i.created < cutoff),
                Scan::All => false,
            };
            let next = page.data.last().map(|i| i.id.clone());
            found.extend(
                page.data
                    .into_iter()
                    .filter(|i| i.metadata("reference") == Some(reference)),
            );
            match next {
                Some(next)
                    if page.has_more && !past_cutoff && starting_after.as_ref() != Some(&next) =>
                {
                    starting_after = Some(next);
                }
                _ => return Ok(found),
            }
        }
        match scan {
            // The newest intents are read; search covers the older ones.
            Scan::Since(_) => Ok(found),
            // Better no answer than a NotFound that was never checked.
            Scan::All => Err(GatewayError::Unavailable(format!(
                "more than {MAX_SCAN_PAGES} pages of payment intents to list without Stripe search"
            ))),
        }
    }

    /// Pays `amount_minor` out of the platform's Stripe balance to its own
    /// bank account (`POST /v1/payouts`), and answers the payout's id.
    ///
    /// This is not yet a payout to a creator: that needs Stripe Connect (a
    /// connected account per creator and a transfer to it, then a payout on
    /// that account), which Maecenas does not model yet; localstripe has no
    /// transfers or Connect either. The request carries the idempotency key,
    /// so a retry after `Unavailable` with the same key cannot pay twice on
    /// Stripe (localstripe ignores the header). A refusal (4xx: currency,
    /// balance, account state) is `Unsupported`.
    /// `POST /v1/refunds` against the payment intent, with the idempotency key.
    pub async fn refund(&self, request: &RefundRequest) -> Result<String, GatewayError> {
        let form = [
            ("payment_intent", request.payment_ref.clone()),
            ("amount", request.amount_minor.to_string()),
            ("metadata[reference]", request.reference.clone()),
        ];
        let builder = self
            .post("/v1/refunds")
            .header("Idempotency-Key", request.idempotency_key.as_str())
            .form(&form);
        match self.send::<Object>(builder).await {
            Ok(refund) => Ok(refund.id),
            Err(Failure::Status {
                status,
                error: Some(error),
            }) if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS => {
                Err(GatewayError::Unsupported(self.scrub(&format!(
                    "Stripe refused the refund ({}): {}",
                    error.code_or("invalid_request"),
                    error.message_or("no reason given")
                ))))
            }
            Err(failure) => Err(self.unavailable(failure)),
        }
    }

    pub async fn payout(&self, request: &PayoutRequest) -> Result<String, GatewayError> {
        let form = [
            ("amount", request.amount_minor.to_string()),
            ("currency", request.currency.to_ascii_lowercase()),
            ("metadata[reference]", request.reference.clone()),
            ("metadata[idempotency_key]", request.idempotency_key.clone()),
        ];
        let builder = self
            .post("/v1/payouts")
            .header("Idempotency-Key", request.idempotency_key.as_str())
            .form(&form);
        match self.send::<Object>(builder).await {
            Ok(payout) => Ok(payout.id),
            Err(Failure::Status {
                status,
                error: Some(error),
            }) if refused_payout(status, &error) => {
                Err(GatewayError::Unsupported(self.scrub(&format!(
                    "Stripe refused the payout ({}): {}",
                    error.code_or("invalid_request"),
                    error.message_or("no reason given")
                ))))
            }
            Err(failure) => Err(self.unavailable(failure)),
        }
    }

    fn attach_error(&self, failure: Failure, card_step: bool) -> GatewayError {
        match failure {
            Failure::Status {
                status,
                error: Some(error),
            } if status == StatusCode::PAYMENT_REQUIRED
                || error.kind.as_deref() == Some("card_error")
                // What the patron typed is in this request only: a 400 means
                // the card details (localstripe says just "Bad request").
                || (card_step && status == StatusCode::BAD_REQUEST) =>
            {
                GatewayError::Card {
                    code: error.code_or(if status == StatusCode::PAYMENT_REQUIRED {
                        "card_declined"
                    } else {
                        "invalid_card"
                    }),
                    message: self.scrub(&error.message_or("Your card was declined.")),
                }
            }
            failure => self.unavailable(failure),
        }
    }

    fn unavailable(&self, failure: Failure) -> GatewayError {
        GatewayError::Unavailable(self.scrub(&match failure {
            Failure::Transport(message) => format!("no answer from Stripe: {message}"),
            Failure::Malformed(message) => message,
            Failure::Status { status, error } => status_message(status, error.as_ref()),
        }))
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", self.api_base))
            .basic_auth(&self.secret_key, None::<&str>)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.client
            .get(format!("{}{path}", self.api_base))
            .basic_auth(&self.secret_key, None::<&str>)
    }

    async fn send<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, Failure> {
        let response = builder
            .send()
            .await
            .map_err(|e| Failure::Transport(describe(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::Transport(describe(&e)))?;
        if status.is_success() {
            // serde_json's message names a position, not the content.
            serde_json::from_slice(&body).map_err(|e| {
                Failure::Malformed(format!(
                    "unexpected answer from Stripe (HTTP {status}): {e}"
                ))
            })
        } else {
            let error = serde_json::from_slice::<ErrorEnvelope>(&body)
                .ok()
                .map(|e| e.error);
            Err(Failure::Status { status, error })
        }
    }

    /// Ids go into paths and into `cus_…:pm_…`: Stripe's are `[A-Za-z0-9_]`.
    fn checked_id<'a>(&self, id: &'a str) -> Result<&'a str, String> {
        if !id.is_empty()
            && id.len() <= 255
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            Ok(id)
        } else {
            Err(self.scrub(&format!("Stripe id {id:?} is malformed")))
        }
    }

    /// Takes the secret key and anything shaped like a card number out of a
    /// message. The messages come from Stripe and from the HTTP stack, neither
    /// of which should echo either; this makes sure.
    fn scrub(&self, text: &str) -> String {
        redact_card_numbers(&text.replace(&self.secret_key, "[secret key]"))
    }
}

/// A charge Stripe refused outright: nothing moved under this key.
fn refused_charge(status: StatusCode, error: &StripeError) -> bool {
    match error.kind.as_deref() {
        // Same key, other parameters: an earlier attempt may have charged.
        Some("idempotency_error") => false,
        Some("card_error") => true,
        _ => matches!(
            status,
            // 404: localstripe's "no such customer/payment method"; Stripe
            // says 400 resource_missing. (A 404 without Stripe's error body,
            // a wrong API base, stays unknown.)
            StatusCode::BAD_REQUEST | StatusCode::PAYMENT_REQUIRED | StatusCode::NOT_FOUND
        ),
    }
}

fn refused_payout(status: StatusCode, error: &StripeError) -> bool {
    error.kind.as_deref() != Some("idempotency_error")
        && matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::PAYMENT_REQUIRED | StatusCode::NOT_FOUND
        )
}

fn status_message(status: StatusCode, error: Option<&StripeError>) -> String {
    let hint = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => " (check the Stripe secret key)",
        StatusCode::TOO_MANY_REQUESTS => " (rate limited)",
        _ => "",
    };
    match error.and_then(|e| e.message.as_deref()) {
        Some(message) => format!("Stripe answered HTTP {status}{hint}: {message}"),
        None => format!("Stripe answered HTTP {status}{hint}"),
    }
}

/// A reqwest error without its URL (which holds a reference at most, but
/// says nothing useful) and with its causes, which do say what went wrong.
fn describe(error: &reqwest::Error) -> String {
    let mut text = String::from(if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_builder() {
        "could not build the request"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut short"
    } else {
        "the request failed"
    });
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Replaces runs of 12 or more digits, optionally grouped by single spaces or
/// dashes, with `[redacted]`.
fn redact_card_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (mut j, mut end, mut digits) = (i, i, 0);
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if matches!(chars[j], ' ' | '-')
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= 12 {
            out.push_str("[redacted]");
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_redacted() {
        assert_eq!(
            redact_card_numbers("card 4242424242424242 refused"),
            "card [redacted] refused"
        );
        assert_eq!(redact_card_numbers("4242 4242 4242 4242"), "[redacted]");
        assert_eq!(redact_card_numbers("4242-4242-4242-4242."), "[redacted].");
        assert_eq!(
            redact_card_numbers("HTTP 402 at 2030-12 for 1500 cents"),
            "HTTP 402 at 2030-12 for 1500 cents"
        );
        assert_eq!(redact_card_numbers("ts 1795435461"), "ts 1795435461");
    }

    #[test]
    fn the_key_is_scrubbed_and_not_debugged() {
        let gateway =
            StripeGateway::new("sk_test_secret123".into(), "http://127.0.0.1:1/".into()).unwrap();
        assert_eq!(gateway.api_base, "http://127.0.0.1:1");
        assert_eq!(
            gateway.scrub("bad key sk_test_secret123"),
            "bad key [secret key]"
        );
        assert!(!format!("{gateway:?}").contains("secret123"));
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(StripeGateway::new(String::new(), "https://api.stripe.com".into()).is_err());
        assert!(StripeGateway::new("sk_test_x".into(), "api.stripe.com".into()).is_err());
        assert!(StripeGateway::new("sk_test_x".into(), "ftp://api.stripe.com".into()).is_err());
        assert!(StripeGateway::new("sk_test_x".into(), "https://api.stripe.com".into()).is_ok());
    }

    #[test]
    fn intent_failures() {
        let intent = |status: &str, error: Option<StripeError>| PaymentIntent {
            id: "pi_1".into(),
            status: status.into(),
            created: 0,
            metadata: None,
            last_payment_error: error,
        };
        assert_eq!(
            intent("requires_action", None).failure().0,
            "authentication_required"
        );
        let declined = StripeError {
            code: Some("card_declined".into()),
            decline_code: Some("insufficient_funds".into()),
            message: Some("Your card has insufficient funds.".into()),
            kind: Some("card_error".into()),
        };
        assert_eq!(
            intent("requires_payment_method", Some(declined)).failure(),
            (
                "card_declined".to_owned(),
                "Your card has insufficient funds.".to_owned()
            )
        );
        assert_eq!(
            intent("requires_payment_method", None).failure().0,
            "card_declined"
        );
    }
}
