//! `claim_link`: a claim as it reaches `GET /v1/claim` (a query string) or `POST /v1/claim` (a
//! form body, or JSON when the input starts with `{`), read into the same fields as the API's
//! `ClaimParams`, parsed into a `Claim` the way the API does, then verified with a fixed key,
//! a rotated-out previous key and a fixed clock. Beyond "no panic", two properties:
//!
//! - verification is exact: it accepts a claim if and only if its `sig` is the hex HMAC-SHA256
//!   of `handoff_id|rep|action|expires` under one of the keys (either letter case) and the
//!   clock has not passed `expires`;
//! - every link handoff issues works: the same fields re-signed, written out as a link with
//!   `Claim::url` and read back, give the same claim, which verifies unless it has expired.
//!
//! The keys and clock match the seeds `scripts/fuzz.sh` writes.
#![no_main]

use chrono::{DateTime, Utc};
use handoff_connectors::signature::hmac_sha256;
use handoff_domain::claim_link::{Claim, ClaimAction, ClaimLinkError, ClaimSigner};
use handoff_domain::ids::{HandoffId, RepId};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// The signing key (32 bytes) and the key being rotated out.
const KEY: &[u8] = b"fuzz-claim-key-0123456789abcdef!";
const PREVIOUS_KEY: &[u8] = b"fuzz-claim-key-previous-rotation";
/// The fixed clock (2023-11-14T22:13:20Z).
const NOW_SECS: i64 = 1_700_000_000;

/// The fields of a claim link, as `shared/api/src/claim.rs` reads them.
#[derive(Debug, Deserialize)]
struct ClaimParams {
    handoff_id: String,
    rep: String,
    action: String,
    expires: i64,
    sig: String,
}

/// The claim, if the fields parse (the API answers 400 otherwise).
fn claim_of(params: ClaimParams) -> Option<Claim> {
    Some(Claim {
        handoff_id: HandoffId::parse(&params.handoff_id).ok()?,
        rep: RepId::parse(&params.rep).ok()?,
        action: ClaimAction::parse(&params.action)?,
        expires: params.expires,
        sig: params.sig,
    })
}

/// What the signature of `claim` must be under `key`, computed independently of the signer.
fn expected_sig(key: &[u8], claim: &Claim) -> String {
    let message = format!(
        "{}|{}|{}|{}",
        claim.handoff_id,
        claim.rep,
        claim.action.as_str(),
        claim.expires
    );
    hex::encode(hmac_sha256(key, &[message.as_bytes()]))
}

fn read(data: &[u8]) -> Option<ClaimParams> {
    if data.first() == Some(&b'{') {
        serde_json::from_slice(data).ok()
    } else {
        serde_urlencoded::from_bytes(data).ok()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(claim) = read(data).and_then(claim_of) else {
        return;
    };
    let now = DateTime::<Utc>::from_timestamp(NOW_SECS, 0).expect("fixed clock");
    let signer = ClaimSigner::new(KEY.to_vec()).with_previous(vec![PREVIOUS_KEY.to_vec()]);

    let signed = [KEY, PREVIOUS_KEY]
        .iter()
        .any(|key| claim.sig.eq_ignore_ascii_case(&expected_sig(key, &claim)));
    let expected = match (signed, NOW_SECS > claim.expires) {
        (false, _) => Err(ClaimLinkError::BadSignature),
        (true, true) => Err(ClaimLinkError::Expired),
        (true, false) => Ok(()),
    };
    assert_eq!(
        signer.verify(&claim, now),
        expected,
        "verification of {claim:?}"
    );

    if let Some(expires) = DateTime::<Utc>::from_timestamp(claim.expires, 0) {
        let issued = signer.sign(&claim.handoff_id, &claim.rep, claim.action, expires);
        let link = issued.url("https://fuzz.handoff.example/");
        let (_, query) = link.split_once('?').expect("a claim link has a query");
        let back = serde_urlencoded::from_str::<ClaimParams>(query)
            .ok()
            .and_then(claim_of)
            .unwrap_or_else(|| panic!("an issued link does not read back: {link}"));
        assert_eq!(back, issued, "an issued link reads back different: {link}");
        let verdict = signer.verify(&back, now);
        if NOW_SECS > claim.expires {
            assert_eq!(verdict, Err(ClaimLinkError::Expired), "{link}");
        } else {
            assert_eq!(verdict, Ok(()), "an issued link does not verify: {link}");
        }
    }
});
