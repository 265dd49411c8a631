//! PKCE (RFC 7636): `maecenas_domain::is_valid_s256_challenge` (authorize)
//! and `pkce_s256_matches` (token).
//!
//! Input: `verifier\nchallenge`.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use maecenas_domain::{is_valid_s256_challenge, pkce_s256_matches};
use maecenas_fuzz::{fields, text};
use sha2::{Digest, Sha256};

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

fn well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let [verifier, challenge] = fields::<2>(data);
    let (verifier, challenge) = (text(verifier), text(challenge));

    if is_valid_s256_challenge(&challenge) {
        assert_eq!(challenge.len(), 43);
        assert!(
            challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    if pkce_s256_matches(&verifier, &challenge) {
        assert!(well_formed(&verifier), "a malformed verifier matched");
        assert_eq!(challenge, challenge_of(&verifier));
        assert!(is_valid_s256_challenge(&challenge));
    } else if well_formed(&verifier) {
        assert_ne!(challenge, challenge_of(&verifier));
    }

    // Any well-formed verifier matches its own challenge and no other.
    let mapped: String = data
        .iter()
        .take(128)
        .map(|b| UNRESERVED[usize::from(*b) % UNRESERVED.len()] as char)
        .collect();
    if mapped.len() >= 43 {
        let own = challenge_of(&mapped);
        assert!(is_valid_s256_challenge(&own));
        assert!(pkce_s256_matches(&mapped, &own));
        let mut other = own.clone().into_bytes();
        other[usize::from(data[0]) % 43] ^= 0x01;
        if let Ok(other) = String::from_utf8(other) {
            assert!(!pkce_s256_matches(&mapped, &other));
        }
        assert!(!pkce_s256_matches(&mapped, &own[..42]));
    }
});
