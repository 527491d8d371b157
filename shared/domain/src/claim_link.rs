//! Signed, expiring claim links: what a rep clicks to accept, say "wrong owner", or ask for
//! re-qualification.
//!
//! The signature is HMAC-SHA256 over `handoff_id|rep|action|expires_unix` with a server-side
//! secret, hex encoded; verification is constant time and rejects expired links.
//!
//! The key is text, used as written: hex or base64 of at least 32 random bytes
//! ([`check_claim_key`], which every loader applies: the local `DATA/claim-secret` file and the
//! Secrets Manager secret of the functions). A weaker key would let anyone who guesses it forge
//! links, so it is refused rather than used.

use crate::ids::{HandoffId, RepId};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

/// What the rep does with a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimAction {
    Accept,
    WrongOwner,
    Requalify,
}

impl ClaimAction {
    /// Every action, in the order they are offered.
    pub const ALL: [ClaimAction; 3] = [
        ClaimAction::Accept,
        ClaimAction::WrongOwner,
        ClaimAction::Requalify,
    ];

    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimAction::Accept => "accept",
            ClaimAction::WrongOwner => "wrong_owner",
            ClaimAction::Requalify => "requalify",
        }
    }

    /// Parses a label.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The claim a link carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub handoff_id: HandoffId,
    pub rep: RepId,
    pub action: ClaimAction,
    pub expires: i64,
    /// Hex HMAC-SHA256.
    pub sig: String,
}

/// Why a claim link was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClaimLinkError {
    #[error("the claim link expired")]
    Expired,
    #[error("the claim link signature is invalid")]
    BadSignature,
}

/// The least key material a claim-link key carries: 32 random bytes (256 bits).
pub const MIN_CLAIM_KEY_BYTES: usize = 32;

/// Fewer different characters than this and a key is a placeholder or a pattern, not random:
/// 64 random hex digits use 8 or more of the 16 with near certainty (1 in 10^18 do not).
const MIN_DISTINCT_CHARACTERS: usize = 8;

/// How the text of a key encodes its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEncoding {
    /// Hex digits (either case): 4 bits each.
    Hex,
    /// Base64, standard or URL-safe, padded or not: 6 bits each.
    Base64,
}

impl std::fmt::Display for KeyEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyEncoding::Hex => "hex",
            KeyEncoding::Base64 => "base64",
        })
    }
}

/// Why a claim-link key is refused. The messages never quote the key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WeakClaimKey {
    #[error("it is empty")]
    Empty,
    #[error(
        "it is neither hex nor base64 text (letters, digits, `+`, `/`, `-`, `_`, `=` padding), \
         so how many random bytes it holds cannot be told"
    )]
    NotEncoded,
    #[error(
        "it holds {bytes} bytes of key material ({characters} {encoding} characters), and a key \
         needs at least 32 random bytes: 64 hex digits or 43 base64 characters, such as the \
         output of `openssl rand -hex 32`"
    )]
    TooShort {
        bytes: usize,
        characters: usize,
        encoding: KeyEncoding,
    },
    #[error("it uses only {distinct} different characters, which no random key does")]
    Repetitive { distinct: usize },
}

/// Checks that `key` (already trimmed) is hex or base64 text of at least
/// [`MIN_CLAIM_KEY_BYTES`] bytes, drawn from at least 8 different characters. Hex is assumed
/// when every character is a hex digit (the lower estimate); `=` counts only as trailing
/// padding. The key is then used as written, so the 64 hex digits earlier versions generated
/// keep verifying the links they signed.
pub fn check_claim_key(key: &str) -> Result<(), WeakClaimKey> {
    if key.is_empty() {
        return Err(WeakClaimKey::Empty);
    }
    let data = key.trim_end_matches('=');
    let padding = key.len() - data.len();
    let base64_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_');
    let (encoding, bits_each) = if padding == 0 && key.chars().all(|c| c.is_ascii_hexdigit()) {
        (KeyEncoding::Hex, 4)
    } else if padding <= 2 && !data.is_empty() && data.chars().all(base64_char) {
        (KeyEncoding::Base64, 6)
    } else {
        return Err(WeakClaimKey::NotEncoded);
    };
    let bytes = data.len() * bits_each / 8;
    if bytes < MIN_CLAIM_KEY_BYTES {
        return Err(WeakClaimKey::TooShort {
            bytes,
            characters: data.len(),
            encoding,
        });
    }
    let distinct = data
        .bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len();
    if distinct < MIN_DISTINCT_CHARACTERS {
        return Err(WeakClaimKey::Repetitive { distinct });
    }
    Ok(())
}

/// Signs and verifies claim links with one secret.
#[derive(Clone)]
pub struct ClaimSigner {
    secret: Vec<u8>,
    /// Keys being rotated out: links they signed still verify until they expire.
    previous: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ClaimSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimSigner(<secret>)")
    }
}

impl ClaimSigner {
    /// A signer with this secret, taken as is: loaders of a real key refuse a weak one with
    /// [`check_claim_key`] first (tests and benchmarks may sign with anything).
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
            previous: Vec::new(),
        }
    }

    /// Also accepts links signed with `previous` keys (a rotation: sign with the new key, keep
    /// verifying the old one until the links it signed have expired, then drop it).
    pub fn with_previous(mut self, previous: Vec<Vec<u8>>) -> Self {
        self.previous = previous;
        self
    }

    fn mac(&self, id: &HandoffId, rep: &RepId, action: ClaimAction, expires: i64) -> Hmac<Sha256> {
        Self::mac_with(&self.secret, id, rep, action, expires)
    }

    fn mac_with(
        key: &[u8],
        id: &HandoffId,
        rep: &RepId,
        action: ClaimAction,
        expires: i64,
    ) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(format!("{}|{}|{}|{}", id, rep, action.as_str(), expires).as_bytes());
        mac
    }

    /// A claim valid until `expires`.
    pub fn sign(
        &self,
        id: &HandoffId,
        rep: &RepId,
        action: ClaimAction,
        expires: DateTime<Utc>,
    ) -> Claim {
        let ts = expires.timestamp();
        let sig = hex::encode(self.mac(id, rep, action, ts).finalize().into_bytes());
        Claim {
            handoff_id: id.clone(),
            rep: rep.clone(),
            action,
            expires: ts,
            sig,
        }
    }

    /// Checks the signature (constant time, against the current key and then any previous one)
    /// and the expiry.
    pub fn verify(&self, claim: &Claim, now: DateTime<Utc>) -> Result<(), ClaimLinkError> {
        let sig = hex::decode(&claim.sig).map_err(|_| ClaimLinkError::BadSignature)?;
        let signed_by = |key: &Vec<u8>| {
            Self::mac_with(
                key,
                &claim.handoff_id,
                &claim.rep,
                claim.action,
                claim.expires,
            )
            .verify_slice(&sig)
            .is_ok()
        };
        if !(signed_by(&self.secret) || self.previous.iter().any(signed_by)) {
            return Err(ClaimLinkError::BadSignature);
        }
        if now.timestamp() > claim.expires {
            return Err(ClaimLinkError::Expired);
        }
        Ok(())
    }
}

impl Claim {
    /// The link under `base_url` (e.g. `http://127.0.0.1:8080`): `/v1/claim?...`.
    pub fn url(&self, base_url: &str) -> String {
        format!(
            "{}/v1/claim?handoff_id={}&rep={}&action={}&expires={}&sig={}",
            base_url.trim_end_matches('/'),
            self.handoff_id,
            self.rep,
            self.action.as_str(),
            self.expires,
            self.sig
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ProviderEventId, SourceName};
    use chrono::TimeZone;

    fn claim(signer: &ClaimSigner) -> Claim {
        let id = HandoffId::for_event(
            &SourceName::parse("web").unwrap(),
            &ProviderEventId::parse("1").unwrap(),
        );
        signer.sign(
            &id,
            &RepId::parse("lena").unwrap(),
            ClaimAction::Accept,
            Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap(),
        )
    }

    #[test]
    fn signed_claim_verifies_until_it_expires() {
        let s = ClaimSigner::new("k".repeat(32));
        let c = claim(&s);
        assert_eq!(
            s.verify(&c, Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap()),
            Ok(())
        );
        assert_eq!(
            s.verify(&c, Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 1).unwrap()),
            Err(ClaimLinkError::Expired)
        );
    }

    #[test]
    fn a_rotated_key_keeps_its_links_valid_while_listed_as_previous() {
        let before = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
        let old = ClaimSigner::new("o".repeat(32));
        let link = claim(&old);
        let rotated = ClaimSigner::new("n".repeat(32)).with_previous(vec![b"o".repeat(32)]);
        assert_eq!(rotated.verify(&link, before), Ok(()));
        // New links are signed with the new key only.
        let fresh = claim(&rotated);
        assert_eq!(
            old.verify(&fresh, before),
            Err(ClaimLinkError::BadSignature)
        );
        // Once the old key is dropped, its links stop verifying.
        let dropped = ClaimSigner::new("n".repeat(32));
        assert_eq!(
            dropped.verify(&link, before),
            Err(ClaimLinkError::BadSignature)
        );
        assert_eq!(dropped.verify(&fresh, before), Ok(()));
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let s = ClaimSigner::new("k".repeat(32));
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
        let mut c = claim(&s);
        c.action = ClaimAction::WrongOwner;
        assert_eq!(s.verify(&c, now), Err(ClaimLinkError::BadSignature));
        let mut c = claim(&s);
        c.expires += 3600;
        assert_eq!(s.verify(&c, now), Err(ClaimLinkError::BadSignature));
        let c = claim(&ClaimSigner::new("other-secret"));
        assert_eq!(s.verify(&c, now), Err(ClaimLinkError::BadSignature));
        let mut c = claim(&s);
        c.sig = "zz".into();
        assert_eq!(s.verify(&c, now), Err(ClaimLinkError::BadSignature));
    }

    #[test]
    fn weak_claim_keys_are_refused_and_random_ones_accepted() {
        use KeyEncoding::{Base64, Hex};
        let too_short = |bytes, characters, encoding| {
            Err(WeakClaimKey::TooShort {
                bytes,
                characters,
                encoding,
            })
        };
        let zeros = "0".repeat(64);
        let placeholder = "changeme".repeat(8);
        let hex_64 = "3f9a1c0be47d25861fa0c3e9b7d4528e6c1f0a93b5d7e2480c6a1f39e5b7d204";
        let cases: Vec<(&str, &str, Result<(), WeakClaimKey>)> = vec![
            ("empty", "", Err(WeakClaimKey::Empty)),
            ("64 hex digits, as generated", hex_64, Ok(())),
            (
                "upper-case hex",
                "3F9A1C0BE47D25861FA0C3E9B7D4528E6C1F0A93B5D7E2480C6A1F39E5B7D204",
                Ok(()),
            ),
            ("62 hex digits", &hex_64[..62], too_short(31, 62, Hex)),
            (
                "openssl rand -base64 32",
                "q8Zl0c3vN1xYbT7mJp2RkW9sHd4eGa6uVfC5nEoL+/M=",
                Ok(()),
            ),
            (
                "url-safe base64 unpadded",
                "q8Zl0c3vN1xYbT7mJp2RkW9sHd4eGa6uVfC5nEoL-_M",
                Ok(()),
            ),
            (
                "42 base64 characters",
                "q8Zl0c3vN1xYbT7mJp2RkW9sHd4eGa6uVfC5nEoL-_",
                too_short(31, 42, Base64),
            ),
            (
                "64 letters and digits, as the stack generates",
                "Xk3r9QmZ2vTn8LbW4cYp7HsJ1dGf6eRa0uVoNi5KqzMwS2tB8yCxPl3jDh9gUe4A",
                Ok(()),
            ),
            (
                "32 letters and digits (24 bytes)",
                "Xk3r9QmZ2vTn8LbW4cYp7HsJ1dGf6eRa",
                too_short(24, 32, Base64),
            ),
            ("a short word", "secret", too_short(4, 6, Base64)),
            (
                "a passphrase with spaces",
                "correct horse battery staple and then some more words",
                Err(WeakClaimKey::NotEncoded),
            ),
            (
                "padding in the middle",
                "q8Zl0c3vN1xYbT7m=Jp2RkW9sHd4eGa6uVfC5nEoL+/M",
                Err(WeakClaimKey::NotEncoded),
            ),
            ("only padding", "==", Err(WeakClaimKey::NotEncoded)),
            (
                "64 zeros",
                &zeros,
                Err(WeakClaimKey::Repetitive { distinct: 1 }),
            ),
            (
                "a repeated placeholder",
                &placeholder,
                Err(WeakClaimKey::Repetitive { distinct: 7 }),
            ),
        ];
        for (name, key, want) in cases {
            assert_eq!(check_claim_key(key), want, "{name}");
        }
    }

    #[test]
    fn a_refusal_never_quotes_the_key() {
        let key = "Xk3r9QmZ2vTn8LbW4cYp7HsJ1dGf6eRa";
        let message = check_claim_key(key).unwrap_err().to_string();
        assert!(!message.contains(key), "{message}");
        assert!(message.contains("24 bytes"), "{message}");
    }

    #[test]
    fn url_carries_every_part() {
        let s = ClaimSigner::new("secret");
        let c = claim(&s);
        let u = c.url("http://127.0.0.1:8080/");
        assert!(u.starts_with("http://127.0.0.1:8080/v1/claim?handoff_id=h_"));
        assert!(u.contains("&action=accept&"));
        assert!(u.ends_with(&c.sig));
    }
}
