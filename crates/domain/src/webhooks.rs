//! Webhook rules: the triggers a webhook may subscribe to, which target URLs
//! and addresses it may point at, and how long a failing delivery is retried.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::LazyLock;

use ipnet::IpNet;
use url::{Host, Url};

/// What happened, under the name receivers see in `X-Patreon-Event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trigger {
    /// Patreon's names of the v1 era.
    PledgesCreate,
    PledgesUpdate,
    PledgesDelete,
    /// Patreon's current names: the membership...
    MembersCreate,
    MembersUpdate,
    MembersDelete,
    /// ...and the pledge inside it.
    MembersPledgeCreate,
    MembersPledgeUpdate,
    MembersPledgeDelete,
    /// Maecenas: a pledge's charge went through, or was refused.
    ChargesSucceeded,
    ChargesFailed,
    /// A post: published, edited after publishing, deleted once published.
    PostsPublish,
    PostsUpdate,
    PostsDelete,
}

impl Trigger {
    pub const ALL: [Trigger; 14] = [
        Trigger::PledgesCreate,
        Trigger::PledgesUpdate,
        Trigger::PledgesDelete,
        Trigger::MembersCreate,
        Trigger::MembersUpdate,
        Trigger::MembersDelete,
        Trigger::MembersPledgeCreate,
        Trigger::MembersPledgeUpdate,
        Trigger::MembersPledgeDelete,
        Trigger::ChargesSucceeded,
        Trigger::ChargesFailed,
        Trigger::PostsPublish,
        Trigger::PostsUpdate,
        Trigger::PostsDelete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::PledgesCreate => "pledges:create",
            Trigger::PledgesUpdate => "pledges:update",
            Trigger::PledgesDelete => "pledges:delete",
            Trigger::MembersCreate => "members:create",
            Trigger::MembersUpdate => "members:update",
            Trigger::MembersDelete => "members:delete",
            Trigger::MembersPledgeCreate => "members:pledge:create",
            Trigger::MembersPledgeUpdate => "members:pledge:update",
            Trigger::MembersPledgeDelete => "members:pledge:delete",
            Trigger::ChargesSucceeded => "charges:succeeded",
            Trigger::ChargesFailed => "charges:failed",
            Trigger::PostsPublish => "posts:publish",
            Trigger::PostsUpdate => "posts:update",
            Trigger::PostsDelete => "posts:delete",
        }
    }

    /// Whether the event is about a post (its body is a post document).
    pub fn is_post(self) -> bool {
        matches!(
            self,
            Trigger::PostsPublish | Trigger::PostsUpdate | Trigger::PostsDelete
        )
    }

    /// What the developer portal says a trigger means.
    pub fn describe(self) -> &'static str {
        match self {
            Trigger::PledgesCreate | Trigger::MembersPledgeCreate => "a patron pledges",
            Trigger::PledgesUpdate | Trigger::MembersPledgeUpdate => {
                "a pledge changes (card, decline, reactivation)"
            }
            Trigger::PledgesDelete | Trigger::MembersPledgeDelete => "a patron cancels a pledge",
            Trigger::MembersCreate => "someone becomes a member for the first time",
            Trigger::MembersUpdate => "a membership changes (pledged again, cancelled)",
            Trigger::MembersDelete => "a membership is removed (the patron's account is deleted)",
            Trigger::ChargesSucceeded => "a pledge's charge went through",
            Trigger::ChargesFailed => "a pledge's charge was refused",
            Trigger::PostsPublish => "a post is published",
            Trigger::PostsUpdate => "a published post is edited",
            Trigger::PostsDelete => "a published post is deleted",
        }
    }

    /// The events of a new pledge. `first_time`: the patron never pledged to
    /// this campaign before (a new member rather than a returning one).
    pub fn on_pledge_created(first_time: bool) -> [Trigger; 3] {
        [
            Trigger::PledgesCreate,
            Trigger::MembersPledgeCreate,
            if first_time {
                Trigger::MembersCreate
            } else {
                Trigger::MembersUpdate
            },
        ]
    }

    pub const ON_PLEDGE_UPDATED: [Trigger; 3] = [
        Trigger::PledgesUpdate,
        Trigger::MembersPledgeUpdate,
        Trigger::MembersUpdate,
    ];

    /// A cancelled pledge: the member stays (entitled until the paid month ends).
    pub const ON_PLEDGE_CANCELLED: [Trigger; 3] = [
        Trigger::PledgesDelete,
        Trigger::MembersPledgeDelete,
        Trigger::MembersUpdate,
    ];
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown trigger {0:?}")]
pub struct UnknownTrigger(pub String);

impl FromStr for Trigger {
    type Err = UnknownTrigger;
    fn from_str(s: &str) -> Result<Self, UnknownTrigger> {
        Trigger::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTrigger(s.to_owned()))
    }
}

/// Triggers as stored: one comma-separated text column, in a stable order.
pub fn join_triggers(triggers: &[Trigger]) -> String {
    let mut sorted = triggers.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The stored column back; unknown names (from a newer version) are skipped.
pub fn split_triggers(stored: &str) -> Vec<Trigger> {
    stored.split(',').filter_map(|t| t.parse().ok()).collect()
}

/// Longest target URL accepted.
pub const MAX_URI_LEN: usize = 2000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("the URL is not valid: {0}")]
    Malformed(String),
    #[error("the URL must use http or https")]
    Scheme,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the URL is longer than {MAX_URI_LEN} characters")]
    TooLong,
    #[error(
        "{0} is a loopback, private, link-local or otherwise internal address: webhooks may only target the public internet"
    )]
    Forbidden(IpAddr),
    #[error("the host name {0} does not resolve")]
    Unresolvable(String),
}

/// A target URL's shape: absolute http(s), a host, no credentials. Where it
/// points is [`TargetPolicy`]'s question, asked for every address it resolves to.
pub fn parse_target(uri: &str) -> Result<Url, TargetError> {
    if uri.len() > MAX_URI_LEN {
        return Err(TargetError::TooLong);
    }
    let url = Url::parse(uri.trim()).map_err(|e| TargetError::Malformed(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    if url.host().is_none() {
        return Err(TargetError::Malformed("no host".into()));
    }
    Ok(url)
}

/// The address literal of a URL's host, if it is one (no DNS needed).
pub fn literal_address(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

/// Networks no webhook may reach: this host, private networks, link-local
/// (cloud metadata at 169.254.169.254 and fd00:ec2::254 included), carrier-grade
/// NAT, multicast, reserved and documentation ranges (IANA special-purpose registries).
static FORBIDDEN_NETS: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        // ::ffff:0:0/96, ::/96, 64:ff9b::/96 and 2002::/16 carry an IPv4
        // address and are judged as it (`embedded_ipv4`).
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .map(|net| net.parse().expect("a valid CIDR"))
    .collect()
});

/// Which addresses webhooks may be sent to: the public internet, plus the
/// operator's allow-list (`MAECENAS_WEBHOOK_ALLOW_NETS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    allowed: Vec<IpNet>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a network in CIDR notation (such as 10.0.0.0/8 or fd00::/8)")]
pub struct BadNetwork(pub String);

impl TargetPolicy {
    /// From the comma-separated CIDR list of the setting (empty: no exceptions).
    pub fn from_allow_list(list: &str) -> Result<TargetPolicy, BadNetwork> {
        let allowed = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadNetwork(s.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TargetPolicy { allowed })
    }

    pub fn allowed_nets(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether a connection to `addr` may be made.
    pub fn check(&self, addr: IpAddr) -> Result<(), TargetError> {
        // An IPv4 address carried inside an IPv6 one is judged as itself.
        let addr = match addr {
            IpAddr::V6(v6) => embedded_ipv4(v6).map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if self.allowed.iter().any(|net| net.contains(&addr)) {
            return Ok(());
        }
        if FORBIDDEN_NETS.iter().any(|net| net.contains(&addr)) {
            return Err(TargetError::Forbidden(addr));
        }
        Ok(())
    }
}

/// The IPv4 address an IPv6 address stands for, where the network routes it
/// to one: v4-mapped `::ffff:a.b.c.d`, the deprecated v4-compatible
/// `::a.b.c.d` (RFC 4291 §2.5.5.1), NAT64's well-known prefix
/// `64:ff9b::a.b.c.d` (RFC 6052) and 6to4's `2002:AABB:CCDD::/48` (RFC 3056).
/// `::` and `::1` are themselves, not 0.0.0.0 and 0.0.0.1.
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// A delivery is retried for this long after its event, then the webhook is
/// paused and its creator told (Patreon pauses failing webhooks too).
pub const GIVE_UP_AFTER_SECS: i64 = 3 * 24 * 3600;
/// The first retry waits about this long; each next one twice as long...
pub const FIRST_RETRY_SECS: u64 = 30;
/// ...up to this.
pub const LONGEST_RETRY_SECS: u64 = 6 * 3600;

/// How long to wait before attempt `next` (2 for the first retry): doubling
/// from `first` up to `longest`, with "equal jitter" so that the deliveries of
/// a receiver that was down do not all come back at once. `unit` is a random
/// number in [0, 1).
pub fn retry_delay(
    next: u32,
    first: std::time::Duration,
    longest: std::time::Duration,
    unit: f64,
) -> std::time::Duration {
    let doublings = next.saturating_sub(2).min(30);
    let base = first.saturating_mul(1u32 << doublings).min(longest);
    let half = base / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// A signing secret as Standard Webhooks libraries take it (`whsec_` and the
/// base64 of the key bytes). Patreon-style receivers use the whole string as
/// their HMAC-MD5 key, so one secret serves both.
pub fn signing_secret(key: &[u8]) -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The key bytes inside a `whsec_` secret (for the Standard Webhooks HMAC-SHA256).
pub fn signing_key(secret: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trigger_names_round_trip() {
        for t in Trigger::ALL {
            assert_eq!(t.as_str().parse::<Trigger>(), Ok(t));
        }
        assert!("pledges:explode".parse::<Trigger>().is_err());
        let stored = join_triggers(&[
            Trigger::MembersCreate,
            Trigger::PledgesCreate,
            Trigger::PledgesCreate,
        ]);
        assert_eq!(stored, "pledges:create,members:create");
        assert_eq!(
            split_triggers(&stored),
            vec![Trigger::PledgesCreate, Trigger::MembersCreate]
        );
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let policy = TargetPolicy::default();
        for addr in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "::169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:a9fe:a9fe::",
            "64:ff9b:1::1",
            "fe80::1",
            "fd00:ec2::254",
            "224.0.0.1",
        ] {
            let ip: IpAddr = addr.parse().unwrap();
            assert!(policy.check(ip).is_err(), "{addr} must be refused");
        }
        for addr in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::1.1.1.1",
            "2002:101:101::1",
        ] {
            assert_eq!(
                policy.check(addr.parse().unwrap()),
                Ok(()),
                "{addr} is public"
            );
        }
        let loopback = TargetPolicy::from_allow_list("127.0.0.0/8, ::1").unwrap();
        assert_eq!(loopback.check("127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(loopback.check("::1".parse().unwrap()), Ok(()));
        assert!(loopback.check("10.0.0.1".parse().unwrap()).is_err());
        assert!(TargetPolicy::from_allow_list("localhost").is_err());
    }

    #[test]
    fn target_urls_are_checked_for_shape() {
        assert!(parse_target("https://example.com/hook").is_ok());
        assert_eq!(parse_target("ftp://example.com/"), Err(TargetError::Scheme));
        assert_eq!(
            parse_target("https://user:pw@example.com/"),
            Err(TargetError::Credentials)
        );
        assert!(matches!(
            parse_target("not a url"),
            Err(TargetError::Malformed(_))
        ));
        assert_eq!(
            literal_address(&parse_target("http://[::1]:8080/").unwrap()),
            Some("::1".parse().unwrap())
        );
        assert_eq!(
            literal_address(&parse_target("http://example.com/").unwrap()),
            None
        );
    }

    #[test]
    fn secrets_round_trip_to_their_key() {
        let secret = signing_secret(&[7u8; 24]);
        assert!(secret.starts_with("whsec_"));
        assert_eq!(signing_key(&secret), Some(vec![7u8; 24]));
        assert_eq!(signing_key("plain"), None);
    }

    #[test]
    fn retries_double_up_to_the_longest_and_span_three_days() {
        use std::time::Duration;
        let first = Duration::from_secs(FIRST_RETRY_SECS);
        let longest = Duration::from_secs(LONGEST_RETRY_SECS);
        assert_eq!(retry_delay(2, first, longest, 1.0), first);
        assert_eq!(retry_delay(3, first, longest, 1.0), first * 2);
        assert_eq!(retry_delay(3, first, longest, 0.0), first);
        assert_eq!(retry_delay(40, first, longest, 1.0), longest);
        // Without jitter's luck, how many attempts fit in the three days.
        let mut waited = Duration::ZERO;
        let mut attempts = 1;
        while waited < Duration::from_secs(GIVE_UP_AFTER_SECS as u64) {
            attempts += 1;
            waited += retry_delay(attempts, first, longest, 0.5);
        }
        assert!(
            (15..=30).contains(&attempts),
            "{attempts} attempts in three days"
        );
    }

    proptest! {
        #[test]
        fn a_delay_stays_within_half_and_all_of_its_base(next in 2u32..60, unit in 0.0f64..1.0) {
            let first = std::time::Duration::from_secs(FIRST_RETRY_SECS);
            let longest = std::time::Duration::from_secs(LONGEST_RETRY_SECS);
            let full = retry_delay(next, first, longest, 1.0);
            let delay = retry_delay(next, first, longest, unit);
            prop_assert!(delay >= full / 2 && delay <= full);
        }

        #[test]
        fn any_mapped_v4_is_judged_as_v4(a: u8, b: u8, c: u8, d: u8) {
            let policy = TargetPolicy::default();
            let v4 = std::net::Ipv4Addr::new(a, b, c, d);
            prop_assert_eq!(
                policy.check(IpAddr::V4(v4)).is_ok(),
                policy.check(IpAddr::V6(v4.to_ipv6_mapped())).is_ok()
            );
        }

        #[test]
        fn any_embedded_v4_is_judged_as_v4(a: u8, b: u8, c: u8, d: u8) {
            let policy = TargetPolicy::default();
            let v4 = Ipv4Addr::new(a, b, c, d);
            let [x, y, z, w] = v4.octets();
            let hi = u16::from_be_bytes([x, y]);
            let lo = u16::from_be_bytes([z, w]);
            let verdict = policy.check(IpAddr::V4(v4)).is_ok();
            for v6 in [
                Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
                Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1),
            ] {
                prop_assert_eq!(policy.check(IpAddr::V6(v6)).is_ok(), verdict, "{}", v6);
            }
            if hi != 0 {
                let compatible = Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo);
                prop_assert_eq!(policy.check(IpAddr::V6(compatible)).is_ok(), verdict, "{}", compatible);
            }
        }
    }
}
