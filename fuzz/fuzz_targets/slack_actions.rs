//! `slack_actions`: `POST /slack/actions` as the API takes it: the signature check
//! (`verify_request` with a fixed secret and clock) and the payload reader
//! (`parse_interaction`), on a request carved from the input:
//!
//! ```text
//! byte 0   flags: bit 0 sends X-Slack-Request-Timestamp, bit 1 sends X-Slack-Signature
//! line 0   the timestamp header value
//! line 1   the signature header value
//! rest     the body (`payload=<url-encoded JSON>`)
//! ```
//!
//! Beyond "no panic": a request is accepted only if both headers were sent, the signature is
//! `v0=` and the hex HMAC-SHA256 of `v0:<timestamp as sent, trimmed>:<body>` under one of the
//! secrets, and the timestamp is within five minutes of the clock. The secrets and clock match
//! the seeds `scripts/fuzz.sh` writes.
#![no_main]

use chrono::{DateTime, Utc};
use handoff_connectors::outbound::slack::interactivity::{
    parse_interaction, verify_request, MAX_AGE_SECS,
};
use handoff_connectors::signature::{decode_hex, hmac_sha256};
use handoff_connectors::Secrets;
use libfuzzer_sys::fuzz_target;

/// The signing secrets, as during a rotation.
const SECRETS: &str = "fuzz-slack-secret,fuzz-slack-old";
/// The fixed clock (2023-11-14T22:13:20Z).
const NOW_SECS: i64 = 1_700_000_000;
/// The longest carved header value.
const MAX_LINE: usize = 1024;

/// Takes one `\n`-terminated line off the front of `data` (lossy UTF-8, cut at `MAX_LINE`).
fn take_line(data: &mut &[u8]) -> String {
    let (line, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (*data, &[][..]),
    };
    *data = rest;
    String::from_utf8_lossy(&line[..line.len().min(MAX_LINE)]).into_owned()
}

/// Whether the signature is exactly Slack's over the raw timestamp and body.
fn genuinely_signed(secrets: &[&str], timestamp: &str, signature: &str, body: &[u8]) -> bool {
    let Some(mac) = signature.trim().strip_prefix("v0=").and_then(decode_hex) else {
        return false;
    };
    secrets.iter().any(|secret| {
        hmac_sha256(
            secret.as_bytes(),
            &[b"v0:", timestamp.trim().as_bytes(), b":", body],
        ) == mac
    })
}

fuzz_target!(|data: &[u8]| {
    let (flags, mut rest) = match data {
        [f, rest @ ..] => (*f, rest),
        [] => (0, &[][..]),
    };
    let timestamp = take_line(&mut rest);
    let signature = take_line(&mut rest);
    let body = rest;
    let sent_timestamp = (flags & 1 != 0).then_some(timestamp.as_str());
    let sent_signature = (flags & 2 != 0).then_some(signature.as_str());
    let secrets = Secrets::parse(SECRETS).expect("fixed secrets parse");
    let now = DateTime::<Utc>::from_timestamp(NOW_SECS, 0).expect("fixed clock");

    let verdict = verify_request(&secrets, sent_timestamp, sent_signature, body, now);
    if verdict.is_ok() {
        let (ts, sig) = (
            sent_timestamp.expect("accepted without a timestamp"),
            sent_signature.expect("accepted without a signature"),
        );
        assert!(
            genuinely_signed(&["fuzz-slack-secret", "fuzz-slack-old"], ts, sig, body),
            "accepted a request that is not signed: timestamp {ts:?}, signature {sig:?}"
        );
        let at: i64 = ts
            .trim()
            .parse()
            .expect("accepted a timestamp that is not a number");
        assert!(
            (at - NOW_SECS).abs() <= MAX_AGE_SECS,
            "accepted a timestamp outside the window: {at}"
        );
    }
    let _ = std::hint::black_box(parse_interaction(body));
});
