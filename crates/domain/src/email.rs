//! The kinds of e-mail the platform sends, and which of them a person may
//! turn off. The messages themselves are written in `maecenas-services`
//! (`email::messages`); the outbox stores the kind's word.

use std::fmt;
use std::str::FromStr;

use crate::status::stored_enum;

/// How long a password-reset link works.
pub const RESET_LINK_LIFETIME_SECS: i64 = 60 * 60;
/// How long an address-verification link works.
pub const VERIFY_LINK_LIFETIME_SECS: i64 = 7 * 24 * 60 * 60;

stored_enum!(
    /// What an e-mail is about. Every kind but the three that guard the
    /// account (two carry a one-time link, one tells the old address it was
    /// replaced) can be turned off in settings and from its own unsubscribe link.
    EmailKind {
        VerifyAddress => "verify_address",
        PasswordReset => "password_reset",
        AddressChanged => "address_changed",
        Receipt => "receipt",
        PaymentDeclined => "payment_declined",
        PledgeCancelled => "pledge_cancelled",
        PledgeEnded => "pledge_ended",
        NewPatron => "new_patron",
        PatronCancelled => "patron_cancelled",
        Payout => "payout",
        NewPost => "new_post",
    }
);

impl EmailKind {
    /// A person asked for it (or it guards their account): it is always sent.
    pub fn can_be_turned_off(self) -> bool {
        !matches!(
            self,
            EmailKind::VerifyAddress | EmailKind::PasswordReset | EmailKind::AddressChanged
        )
    }

    /// Whether the message is only for creators (settings show it to them only).
    pub fn is_for_creators(self) -> bool {
        matches!(
            self,
            EmailKind::NewPatron | EmailKind::PatronCancelled | EmailKind::Payout
        )
    }

    /// How settings and the unsubscribe page name it: "e-mails about …".
    pub fn described(self) -> &'static str {
        match self {
            EmailKind::VerifyAddress => "verifying your address",
            EmailKind::PasswordReset => "resetting your password",
            EmailKind::AddressChanged => "changes to your address",
            EmailKind::Receipt => "receipts for your payments",
            EmailKind::PaymentDeclined => "declined payments",
            EmailKind::PledgeCancelled => "pledges you cancel",
            EmailKind::PledgeEnded => "pledges that end",
            EmailKind::NewPatron => "new patrons",
            EmailKind::PatronCancelled => "patrons who cancel",
            EmailKind::Payout => "payouts to you",
            EmailKind::NewPost => "new posts from creators you support",
        }
    }

    /// The kinds a person may turn off, in the order settings list them.
    pub fn optional() -> impl Iterator<Item = EmailKind> {
        EmailKind::ALL
            .iter()
            .copied()
            .filter(|k| k.can_be_turned_off())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_word() {
        for kind in EmailKind::ALL {
            assert_eq!(kind.as_str().parse::<EmailKind>(), Ok(*kind));
        }
        assert!("newsletter".parse::<EmailKind>().is_err());
    }

    #[test]
    fn links_that_guard_the_account_cannot_be_turned_off() {
        assert!(!EmailKind::PasswordReset.can_be_turned_off());
        assert!(!EmailKind::VerifyAddress.can_be_turned_off());
        assert!(!EmailKind::AddressChanged.can_be_turned_off());
        assert_eq!(EmailKind::optional().count(), EmailKind::ALL.len() - 3);
    }
}
