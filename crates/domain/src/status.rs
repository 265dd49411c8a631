//! The states a pledge, a charge, a donation, a payout, a webhook delivery
//! and an account move through, as enums: outcomes are
//! decided by matching on them, never by comparing text. Each has one stored
//! spelling (the database's CHECK constraints list the same words); the
//! store reads rows through `TryFrom<String>`.

use std::fmt;
use std::str::FromStr;

macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and API) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("{other:?} is not a {}", stringify!($name))),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        /// Reads as the stored word in tests and logs: `status == "active"`.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}
pub(crate) use stored_enum;

stored_enum!(
    /// A pledge's standing.
    PledgeStatus {
        /// Charged as it falls due.
        Active => "active",
        /// Ended by the patron (paid months stay paid).
        Cancelled => "cancelled",
        /// Its charge failed for good; a new card can bring it back.
        Declined => "declined",
    }
);

stored_enum!(
    /// Where a charge is.
    ChargeStatus {
        /// Planned or sent, the outcome not yet recorded.
        Pending => "pending",
        /// Declined; another attempt is scheduled.
        Retrying => "retrying",
        Succeeded => "succeeded",
        /// Declined for good.
        Failed => "failed",
        Refunded => "refunded",
    }
);

stored_enum!(
    /// Where a donation is (it has one charge, and takes its outcome).
    DonationStatus {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
        Refunded => "refunded",
    }
);

stored_enum!(
    /// Where a payout to a creator is.
    PayoutStatus {
        /// Recorded before it was sent; the answer is not recorded yet.
        Pending => "pending",
        Paid => "paid",
        Failed => "failed",
    }
);

stored_enum!(
    /// Where one event's delivery to one webhook is.
    DeliveryStatus {
        /// Owed: due now or at its next attempt.
        Pending => "pending",
        /// The receiver answered 2xx.
        Delivered => "delivered",
        /// No attempt is left (or its app lost access).
        Failed => "failed",
    }
);

/// Where an account stands, from its stored flags (`is_suspended`,
/// `is_deleted`, `is_nuked`; the Patreon dialect shows the flags as they
/// are). Nuked is the strongest, then closed, then suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStanding {
    Active,
    /// An administrator stopped it; it is kept and can be restored.
    Suspended,
    /// Closed by its owner or an administrator: gone from pages and APIs.
    Closed,
    /// Closed and its personal data erased, for good.
    Nuked,
}

impl AccountStanding {
    pub fn from_flags(is_suspended: bool, is_deleted: bool, is_nuked: bool) -> Self {
        if is_nuked {
            AccountStanding::Nuked
        } else if is_deleted {
            AccountStanding::Closed
        } else if is_suspended {
            AccountStanding::Suspended
        } else {
            AccountStanding::Active
        }
    }

    /// May sign in, pledge, be pledged to and grant apps access.
    pub fn is_active(self) -> bool {
        self == AccountStanding::Active
    }

    /// Closed or nuked: shown nowhere.
    pub fn is_gone(self) -> bool {
        matches!(self, AccountStanding::Closed | AccountStanding::Nuked)
    }
}

stored_enum!(
    /// An e-mail in the outbox.
    EmailStatus {
        /// Due, or being sent while a worker holds it.
        Pending => "pending",
        /// Handed to the mail server (or written to the mail folder).
        Sent => "sent",
        /// Given up on after a day of attempts.
        Failed => "failed",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_stored_word() {
        for status in PledgeStatus::ALL {
            assert_eq!(status.as_str().parse::<PledgeStatus>(), Ok(*status));
        }
        for status in ChargeStatus::ALL {
            assert_eq!(ChargeStatus::try_from(status.to_string()), Ok(*status));
        }
        for status in DonationStatus::ALL {
            assert_eq!(status.as_str().parse::<DonationStatus>(), Ok(*status));
        }
        for status in PayoutStatus::ALL {
            assert_eq!(status.as_str().parse::<PayoutStatus>(), Ok(*status));
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(status.as_str().parse::<DeliveryStatus>(), Ok(*status));
        }
        assert!("paused".parse::<PledgeStatus>().is_err());
        assert!(ChargeStatus::Succeeded == "succeeded");
    }
}

#[cfg(test)]
mod standing {
    use super::AccountStanding::{self, *};

    #[test]
    fn the_strongest_flag_decides() {
        assert_eq!(AccountStanding::from_flags(false, false, false), Active);
        assert_eq!(AccountStanding::from_flags(true, false, false), Suspended);
        assert_eq!(AccountStanding::from_flags(true, true, false), Closed);
        assert_eq!(AccountStanding::from_flags(false, true, true), Nuked);
        assert!(Active.is_active() && !Suspended.is_active());
        assert!(!Suspended.is_gone() && Closed.is_gone() && Nuked.is_gone());
    }
}
