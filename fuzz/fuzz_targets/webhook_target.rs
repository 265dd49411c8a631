//! Webhook targets (`crates/domain/src/webhooks.rs`): the URL's shape
//! (`parse_target`), its address literal (`literal_address`), the address
//! policy and its operator allow-list (`TargetPolicy`), and the stored
//! trigger list (`split_triggers` / `join_triggers`).
//!
//! Input: `uri\nallow-list\naddress-bytes-or-trigger-list`.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use maecenas_domain::webhooks::{
    MAX_URI_LEN, TargetError, join_triggers, literal_address, parse_target, split_triggers,
};
use maecenas_domain::{TargetPolicy, Trigger};
use maecenas_fuzz::{fields, text};

/// An independent statement of the networks no webhook may reach (the IANA
/// special-purpose registries, as `FORBIDDEN_NETS` lists them), written with
/// `std`'s classifications where they exist.
fn forbidden(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 88 && c == 99)
        || (a == 198 && (b == 18 || b == 19))
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
        || (s[0] == 0x100 && s[1..4] == [0; 3])
        || (s[0] == 0x2001 && s[1] < 0x200)
        || (s[0] == 0x2001 && s[1] == 0xdb8)
        || s[0] == 0x2002
}

/// What a C resolver would take for an IPv4 literal (`inet_aton`: 1 to 4
/// parts, decimal, octal or hex). A host the URL parser leaves as a name must
/// not be one, or it would reach the resolver as an address unchecked.
fn looks_numeric(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() <= 4
        && parts.iter().all(|p| {
            let p = p.to_ascii_lowercase();
            !p.is_empty()
                && match p.strip_prefix("0x") {
                    Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
                    None => p.bytes().all(|b| b.is_ascii_digit()),
                }
        })
}

fuzz_target!(|data: &[u8]| {
    let [uri, allow, extra] = fields::<3>(data);
    let (uri, allow) = (text(uri), text(allow));
    let default = TargetPolicy::default();

    match parse_target(&uri) {
        Ok(url) => {
            assert!(uri.len() <= MAX_URI_LEN);
            assert!(matches!(url.scheme(), "http" | "https"));
            assert!(url.username().is_empty() && url.password().is_none());
            let host = url.host().expect("a target has a host");
            match literal_address(&url) {
                Some(addr) => {
                    // The policy refuses exactly the forbidden networks.
                    assert_eq!(
                        default.check(addr).is_err(),
                        forbidden(addr),
                        "{uri:?} -> {addr}"
                    );
                    if let Err(e) = default.check(addr) {
                        assert!(matches!(e, TargetError::Forbidden(_)));
                    }
                }
                None => {
                    let url::Host::Domain(name) = host else {
                        panic!("an address host without a literal address")
                    };
                    assert!(name.parse::<IpAddr>().is_err(), "{name:?} is an address");
                    assert!(!looks_numeric(name), "{name:?} reads as an IPv4 address");
                    let bracketed = name.trim_start_matches('[').trim_end_matches(']');
                    assert!(bracketed.parse::<Ipv6Addr>().is_err(), "{name:?}");
                }
            }
            // The URL as stored parses to itself.
            if url.as_str().len() <= MAX_URI_LEN {
                assert_eq!(parse_target(url.as_str()).as_ref(), Ok(&url));
            }
        }
        Err(TargetError::TooLong) => assert!(uri.len() > MAX_URI_LEN),
        Err(TargetError::Forbidden(_) | TargetError::Unresolvable(_)) => {
            panic!("parse_target does not judge addresses")
        }
        Err(_) => {}
    }

    // The allow-list: an allowed address passes, and nothing else changes.
    let addr = match extra.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(extra).unwrap())),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(extra).unwrap())),
        _ => None,
    };
    if let Some(addr) = addr {
        assert_eq!(default.check(addr).is_err(), forbidden(addr), "{addr}");
        if let Ok(policy) = TargetPolicy::from_allow_list(&allow) {
            let judged = match addr {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
                v4 => v4,
            };
            let allowed = policy.allowed_nets().iter().any(|n| n.contains(&judged));
            assert_eq!(
                policy.check(addr).is_ok(),
                allowed || default.check(addr).is_ok(),
                "{addr} under {allow:?}"
            );
        }
    }
    if let Ok(policy) = TargetPolicy::from_allow_list(&allow) {
        let parts = allow.split(',').filter(|s| !s.trim().is_empty()).count();
        assert_eq!(policy.allowed_nets().len(), parts);
    }

    // Triggers as stored.
    let stored = text(extra);
    let triggers = split_triggers(&stored);
    for t in &triggers {
        assert!(stored.split(',').any(|part| part == t.as_str()));
        assert_eq!(t.as_str().parse::<Trigger>(), Ok(*t));
    }
    let joined = join_triggers(&triggers);
    let mut canonical = triggers.clone();
    canonical.sort();
    canonical.dedup();
    assert_eq!(split_triggers(&joined), canonical);
    assert_eq!(join_triggers(&split_triggers(&joined)), joined);
});
