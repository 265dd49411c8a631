//! The two signatures every delivery carries, so that receivers written for
//! Patreon and receivers using a Standard Webhooks library can both verify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use maecenas_domain::webhooks::signing_key;

/// Header values of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-Patreon-Signature`: hex HMAC-MD5 of the raw body, keyed with the whole secret.
    pub patreon: String,
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`: Unix seconds.
    pub timestamp: i64,
    /// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
    pub standard: String,
}

pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> SignedHeaders {
    let mut md5 =
        Hmac::<md5::Md5>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    md5.update(body);
    let patreon = hex::encode(md5.finalize().into_bytes());
    // A secret made elsewhere (without `whsec_`) signs with its own bytes.
    let key = signing_key(secret).unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut sha = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    sha.update(id.as_bytes());
    sha.update(b".");
    sha.update(timestamp.to_string().as_bytes());
    sha.update(b".");
    sha.update(body);
    let standard = format!("v1,{}", STANDARD.encode(sha.finalize().into_bytes()));
    SignedHeaders {
        patreon,
        id: id.to_owned(),
        timestamp,
        standard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (and of its libraries' tests).
    #[test]
    fn matches_the_standard_webhooks_example() {
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signed.standard,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    /// RFC 2202's first HMAC-MD5 test case.
    #[test]
    fn patreon_signature_is_hex_hmac_md5() {
        let key = String::from_utf8(vec![0x0b; 16]).unwrap();
        let signed = sign(&key, "x", 0, b"Hi There");
        assert_eq!(signed.patreon, "9294727a3638bb1c13f48ef8158bfc9d");
    }
}
