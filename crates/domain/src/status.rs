//! The states a pledge and a charge move through, as enums: outcomes are
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
        assert!("paused".parse::<PledgeStatus>().is_err());
        assert!(ChargeStatus::Succeeded == "succeeded");
    }
}
