//! The pure core of Maecenas: types and rules with no I/O.
//!
//! Everything here can be tested without a database, a clock or a network:
//! time is passed in, randomness comes from the OS only where an id or a
//! secret is minted.

pub mod avatar;
pub mod billing;
pub mod email;
pub mod ids;
pub mod money;
pub mod oauth;
pub mod posts;
pub mod redact;
pub mod scope;
pub mod status;
pub mod user;
pub mod webhooks;

pub use billing::{BillingPeriod, FeeBreakdown, FeePolicy, RETRY_DAYS};
pub use email::EmailKind;
pub use ids::*;
pub use money::{Currency, Money, MoneyError};
pub use oauth::{
    ACCESS_TOKEN_LIFETIME_SECS, CODE_LIFETIME_SECS, RedirectUri, RedirectUriError,
    is_valid_s256_challenge, pkce_s256_challenge, pkce_s256_matches,
};
pub use scope::{Scope, ScopeError, ScopeSet};
pub use status::{
    AccountStanding, ChargeStatus, DeliveryStatus, DonationStatus, EmailStatus, PayoutStatus,
    PledgeStatus,
};
pub use user::{Email, ProfileStatus, Username, ValidationError};
pub use webhooks::{TargetPolicy, Trigger};
