//! Registered redirect URIs (`maecenas_domain::RedirectUri::parse`) and the
//! comparison with the one an authorize request presents (`matches`: exact,
//! but for the port of a loopback http URI).
//!
//! Input: `registered\npresented`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maecenas_domain::RedirectUri;
use maecenas_fuzz::{fields, text};

fuzz_target!(|data: &[u8]| {
    let [raw, presented] = fields::<2>(data);
    let (raw, presented) = (text(raw), text(presented));
    check(&raw, &presented);
    // The presented URI as a registration too, and a loopback variant of it.
    check(&presented, &raw);
});

fn check(raw: &str, presented: &str) {
    let Ok(registered) = RedirectUri::parse(raw) else {
        return;
    };
    assert_eq!(registered.as_str(), raw, "kept exactly as written");
    assert_eq!(
        RedirectUri::parse(&registered.to_string()),
        Ok(registered.clone())
    );
    assert!(!raw.contains('#'), "a fragment was accepted");
    let url = url::Url::parse(raw).expect("an accepted URI parses");
    assert!(url.username().is_empty() && url.password().is_none());
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" => assert!(loopback, "http on a non-loopback host: {raw:?}"),
        other => panic!("scheme {other:?} accepted"),
    }
    assert!(registered.matches(raw), "a URI must match itself");

    if registered.matches(presented) && presented != raw {
        // Only a loopback http URI matches another string, and only on the
        // same host, path and query (RFC 8252 §7.3).
        assert!(
            url.scheme() == "http" && loopback,
            "{raw:?} matched {presented:?}"
        );
        let other = url::Url::parse(presented).expect("a matched URI parses");
        assert!(other.fragment().is_none());
        assert_eq!(other.scheme(), url.scheme());
        assert_eq!(
            other.host(),
            url.host(),
            "{raw:?} matched {presented:?} on another host"
        );
        assert_eq!(other.path(), url.path());
        assert_eq!(other.query(), url.query());
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.octets()[0] == 127,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
