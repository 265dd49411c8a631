//! 64-bit, time-ordered snowflake ids.
//!
//! Layout (most significant first): 1 unused sign bit, 41 bits of milliseconds
//! since [`EPOCH_MS`], 10 bits of node id, 12 bits of sequence. Ids from one
//! node are strictly increasing; ids from different nodes are ordered by time
//! to the millisecond. 41 bits of milliseconds last until the year 2084.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// 2015-01-01T00:00:00Z, in Unix milliseconds.
pub const EPOCH_MS: u64 = 1_420_070_400_000;
pub const NODE_BITS: u32 = 10;
pub const SEQUENCE_BITS: u32 = 12;
pub const MAX_NODE_ID: u16 = (1 << NODE_BITS) - 1;
const SEQUENCE_MASK: u16 = (1 << SEQUENCE_BITS) - 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("node id {0} is out of range (0..={MAX_NODE_ID})")]
pub struct NodeIdOutOfRange(pub u32);

/// Mints snowflake ids for one node. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct SnowflakeGenerator {
    node: u16,
    state: Mutex<SequenceState>,
}

#[derive(Debug, Default)]
struct SequenceState {
    last_ms: u64,
    /// Each millisecond's sequence starts at a random value in the lower half
    /// of its range, so that two processes that share a node id by mistake (an
    /// operator's `admin` command beside `serve`) rarely collide rather than
    /// almost surely; it counts up from there, so ids stay increasing.
    sequence: u16,
}

impl SnowflakeGenerator {
    pub fn new(node: u32) -> Result<Self, NodeIdOutOfRange> {
        if node > u32::from(MAX_NODE_ID) {
            return Err(NodeIdOutOfRange(node));
        }
        Ok(Self {
            node: node as u16,
            state: Mutex::new(SequenceState::default()),
        })
    }

    pub fn node(&self) -> u16 {
        self.node
    }

    /// The next id; blocks for at most a millisecond when this millisecond's
    /// sequence (at least 2048 ids) is used up.
    pub fn next_raw(&self) -> i64 {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            // A clock that steps backwards must not produce an id twice:
            // keep counting in the last millisecond we used.
            let now = now_ms().max(state.last_ms);
            if now > state.last_ms {
                let start = random_sequence_start();
                *state = SequenceState {
                    last_ms: now,
                    sequence: start,
                };
                return compose(now, self.node, start);
            }
            if state.sequence < SEQUENCE_MASK {
                state.sequence += 1;
                return compose(now, self.node, state.sequence);
            }
            // This millisecond is exhausted; wait for the clock to move on.
            while now_ms() <= state.last_ms {
                std::hint::spin_loop();
            }
        }
    }

    pub fn next<T: From<i64>>(&self) -> T {
        T::from(self.next_raw())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .saturating_sub(EPOCH_MS)
}

fn random_sequence_start() -> u16 {
    let mut bytes = [0u8; 2];
    // The OS RNG failing is not worth failing an insert for: start at 0.
    let _ = getrandom::fill(&mut bytes);
    u16::from_le_bytes(bytes) & (SEQUENCE_MASK >> 1)
}

fn compose(ms: u64, node: u16, sequence: u16) -> i64 {
    ((ms << (NODE_BITS + SEQUENCE_BITS)) | (u64::from(node) << SEQUENCE_BITS) | u64::from(sequence))
        as i64
}

/// A snowflake for a moment in the past, for imported or seeded records
/// (their ids must sort by their own dates). The caller keeps `(unix_ms,
/// node, sequence)` unique; [`SnowflakeGenerator`] only mints for "now".
pub fn snowflake_at(unix_ms: u64, node: u16, sequence: u16) -> i64 {
    compose(
        unix_ms.saturating_sub(EPOCH_MS),
        node & MAX_NODE_ID,
        sequence & SEQUENCE_MASK,
    )
}

/// The Unix time in milliseconds at which a snowflake was minted.
pub fn snowflake_unix_ms(id: i64) -> u64 {
    ((id as u64) >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS
}

/// The node that minted a snowflake.
pub fn snowflake_node(id: i64) -> u16 {
    (((id as u64) >> SEQUENCE_BITS) as u16) & MAX_NODE_ID
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid id")]
pub struct InvalidId;

macro_rules! snowflake_id {
    ($($(#[$meta:meta])* $name:ident;)*) => {$(
        $(#[$meta])*
        ///
        /// No serde derive on purpose: each API view decides how an id is
        /// written (a string in JSON:API, a number in some Sponsus fields).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(raw: i64) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            /// Only positive decimal integers: no sign, no spaces, no leading zeros games.
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(InvalidId);
                }
                s.parse::<i64>().map(Self).map_err(|_| InvalidId)
            }
        }
    )*};
}

snowflake_id! {
    /// A person: patron, creator, developer or operator.
    UserId;
    /// A creator's campaign (one per creator).
    CampaignId;
    /// A tier: a Patreon "reward", a Sponsus "tier".
    TierId;
    GoalId;
    PledgeId;
    DonationId;
    /// A creation (post) of a campaign; paid creations drive per-creation billing.
    CreationId;
    /// A picture uploaded into a post.
    PostImageId;
    PaymentMethodId;
    AddressId;
    /// The internal row id of an OAuth client (its public `client_id` is a string).
    OAuthClientId;
    ApiKeyId;
    /// One amount owed by a patron: a pledge's month, or a donation.
    ChargeId;
    /// A transfer of a creator's balance out of the platform.
    PayoutId;
    /// A creator's webhook: a target URL, its triggers and signing secret.
    WebhookId;
    /// One event in the outbox (a pledge created, a charge failed...).
    WebhookEventId;
    /// One event owed to one webhook; its id is the `webhook-id` receivers deduplicate on.
    DeliveryId;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_from_one_generator_are_unique_and_increasing() {
        let generator = SnowflakeGenerator::new(7).unwrap();
        let ids: Vec<i64> = (0..20_000).map(|_| generator.next_raw()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        assert!(ids.iter().all(|&id| id > 0 && snowflake_node(id) == 7));
    }

    #[test]
    fn id_carries_its_creation_time() {
        let generator = SnowflakeGenerator::new(0).unwrap();
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let id = generator.next_raw();
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let minted = snowflake_unix_ms(id);
        assert!(
            before <= minted && minted <= after,
            "{before} <= {minted} <= {after}"
        );
    }

    #[test]
    fn back_dated_ids_decode_to_their_parts() {
        let id = snowflake_at(1_557_425_238_978, 5, 77);
        assert_eq!(
            (snowflake_unix_ms(id), snowflake_node(id)),
            (1_557_425_238_978, 5)
        );
    }

    #[test]
    fn node_id_is_bounded() {
        assert_eq!(
            SnowflakeGenerator::new(1024).unwrap_err(),
            NodeIdOutOfRange(1024)
        );
        assert_eq!(SnowflakeGenerator::new(1023).unwrap().node(), 1023);
    }

    #[test]
    fn ids_parse_only_from_plain_decimal() {
        assert_eq!(
            "1737920327297667072".parse::<UserId>(),
            Ok(UserId(1737920327297667072))
        );
        for bad in ["", "-1", "+1", " 1", "1e3", "abc", "99999999999999999999"] {
            assert_eq!(bad.parse::<UserId>(), Err(InvalidId), "{bad:?}");
        }
    }
}
