//! Signed, expiring claim links: what a rep clicks to accept, say "wrong owner", or ask for
//! re-qualification.
//!
//! The signature is HMAC-SHA256 over `handoff_id|rep|action|expires_unix` with a server-side
//! secret, hex encoded; verification is constant time and rejects expired links.

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
    /// A signer with this secret (at least 16 bytes recommended).
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
    fn url_carries_every_part() {
        let s = ClaimSigner::new("secret");
        let c = claim(&s);
        let u = c.url("http://127.0.0.1:8080/");
        assert!(u.starts_with("http://127.0.0.1:8080/v1/claim?handoff_id=h_"));
        assert!(u.contains("&action=accept&"));
        assert!(u.ends_with(&c.sig));
    }
}
