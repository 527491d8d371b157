//! Signature primitives shared by the providers. Every comparison goes through the `hmac`
//! crate's `verify_slice`, which is constant-time; nothing here compares secrets by hand.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `parts` (concatenated) under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Whether `expected` (raw MAC bytes) is the HMAC-SHA256 of `parts` under `key`, in constant time.
pub fn verify_hmac_sha256(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(expected).is_ok()
}

/// Decodes standard base64 (with padding); `None` when it is not base64.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

/// Encodes standard base64 with padding.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes lower- or upper-case hex; `None` when it is not hex.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    hex::decode(s.trim()).ok()
}

/// A `t=<unix>,v1=<hex>[,v1=<hex>…]` header (Calendly's scheme and handoff's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampedSignature {
    pub timestamp: i64,
    /// Every `v1` value, decoded (a sender may include several during a key rotation).
    pub v1: Vec<Vec<u8>>,
}

impl TimestampedSignature {
    /// Parses the header; `None` when `t` or every `v1` is missing or malformed.
    pub fn parse(header: &str) -> Option<Self> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for part in header.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k.trim() {
                "t" => timestamp = Some(v.trim().parse::<i64>().ok()?),
                "v1" => v1.push(decode_hex(v)?),
                _ => {}
            }
        }
        (!v1.is_empty()).then_some(Self {
            timestamp: timestamp?,
            v1,
        })
    }

    /// Whether any `v1` is HMAC-SHA256(`secret`, "<t>.<body>").
    pub fn matches(&self, secret: &[u8], body: &[u8]) -> bool {
        let t = self.timestamp.to_string();
        self.v1
            .iter()
            .any(|sig| verify_hmac_sha256(secret, &[t.as_bytes(), b".", body], sig))
    }

    /// The header value for `body` signed at `timestamp`.
    pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
        let t = timestamp.to_string();
        let mac = hmac_sha256(secret, &[t.as_bytes(), b".", body]);
        format!("t={t},v1={}", hex::encode(mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_the_mac_and_nothing_else() {
        let mac = hmac_sha256(b"k", &[b"a", b"b"]);
        assert!(verify_hmac_sha256(b"k", &[b"ab"], &mac));
        assert!(!verify_hmac_sha256(b"k2", &[b"ab"], &mac));
        assert!(!verify_hmac_sha256(b"k", &[b"ab"], &mac[..31]));
    }

    #[test]
    fn timestamped_header_round_trips_and_rejects_garbage() {
        let h = TimestampedSignature::sign(b"test-secret", 1_700_000_000, b"{}");
        let p = TimestampedSignature::parse(&h).unwrap();
        assert_eq!(p.timestamp, 1_700_000_000);
        assert!(p.matches(b"test-secret", b"{}"));
        assert!(!p.matches(b"test-secret", b"{ }"));
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "garbage"] {
            assert!(TimestampedSignature::parse(bad).is_none(), "{bad}");
        }
    }
}
