//! Rules for OAuth clients that do not need a database.

use std::fmt;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    #[error("redirect URI {0:?} is not an absolute URL")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} must use https (http is allowed only on loopback addresses)")]
    NotHttps(String),
    #[error("redirect URI {0:?} must not contain a fragment")]
    Fragment(String),
    #[error("redirect URI {0:?} must not contain user information")]
    UserInfo(String),
}

/// A registered redirect URI, kept exactly as the developer wrote it: at
/// authorize time it is compared by exact string match (RFC 6749 §3.1.2),
/// except that the port of a loopback URI may vary (RFC 8252 §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, RedirectUriError> {
        let url =
            url::Url::parse(raw).map_err(|_| RedirectUriError::NotAbsolute(raw.to_owned()))?;
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(RedirectUriError::NotAbsolute(raw.to_owned()));
        }
        if url.fragment().is_some() || raw.contains('#') {
            return Err(RedirectUriError::Fragment(raw.to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::UserInfo(raw.to_owned()));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => return Err(RedirectUriError::NotHttps(raw.to_owned())),
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` (from an authorize request) matches this registered URI.
    pub fn matches(&self, presented: &str) -> bool {
        if self.0 == presented {
            return true;
        }
        let (Ok(registered), Ok(presented)) =
            (url::Url::parse(&self.0), url::Url::parse(presented))
        else {
            return false;
        };
        if registered.scheme() != "http" || !is_loopback(&registered) {
            return false;
        }
        // Loopback: everything but the port must be identical.
        let mut without_port = presented.clone();
        if without_port.set_port(registered.port()).is_err() {
            return false;
        }
        without_port.as_str() == registered.as_str() && presented.fragment().is_none()
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long an authorization code lives (the Sponsus seed: one minute).
pub const CODE_LIFETIME_SECS: i64 = 60;
/// How long an access token lives (both seeds: one month), the `expires_in` of every token answer.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 2_592_000;

/// PKCE (RFC 7636 §4.6): whether `verifier` is the one behind an S256 `challenge`.
/// Compared in constant time; a malformed verifier never matches.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let Some(computed) = pkce_s256_challenge(verifier) else {
        return false;
    };
    computed.len() == challenge.len()
        && computed
            .bytes()
            .zip(challenge.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The S256 challenge of a PKCE verifier (RFC 7636 §4.2), or `None` for a
/// malformed verifier (which matches no challenge).
pub fn pkce_s256_challenge(verifier: &str) -> Option<String> {
    use base64::Engine;
    use sha2::Digest;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed.then(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    })
}

/// A PKCE challenge as sent to the authorize endpoint: 43 base64url characters (S256).
pub fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(RedirectUri::parse("https://www.mysite.com/custom-uri").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:9000/cb").is_ok());
        assert!(RedirectUri::parse("http://[::1]/cb").is_ok());
        assert!(RedirectUri::parse("http://localhost/cb").is_ok());
        assert!(matches!(
            RedirectUri::parse("http://mypatreonapp.com/oauth/redirect"),
            Err(RedirectUriError::NotHttps(_))
        ));
        assert!(matches!(
            RedirectUri::parse("https://a.example/cb#x"),
            Err(RedirectUriError::Fragment(_))
        ));
        assert!(matches!(
            RedirectUri::parse("/relative"),
            Err(RedirectUriError::NotAbsolute(_))
        ));
        assert!(matches!(
            RedirectUri::parse("javascript:alert(1)"),
            Err(RedirectUriError::NotAbsolute(_))
        ));
        assert!(matches!(
            RedirectUri::parse("https://u:p@a.example/cb"),
            Err(RedirectUriError::UserInfo(_))
        ));
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_valid_s256_challenge(challenge));
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(!pkce_s256_matches("short", challenge));
    }

    #[test]
    fn exact_match_except_loopback_port() {
        let remote = RedirectUri::parse("https://a.example/cb").unwrap();
        assert!(remote.matches("https://a.example/cb"));
        assert!(!remote.matches("https://a.example/cb/"));
        assert!(!remote.matches("https://a.example:8443/cb"));
        let local = RedirectUri::parse("http://127.0.0.1/cb?x=1").unwrap();
        assert!(local.matches("http://127.0.0.1:51234/cb?x=1"));
        assert!(!local.matches("http://127.0.0.1:51234/other?x=1"));
        assert!(!local.matches("http://localhost:51234/cb?x=1"));
    }
}
