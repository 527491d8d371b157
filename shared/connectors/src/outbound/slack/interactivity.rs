//! What the buttons send back: Slack POSTs `application/x-www-form-urlencoded` with one field,
//! `payload`, holding URL-encoded JSON, signed with the app's signing secret:
//! `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<X-Slack-Request-Timestamp>:<raw body>")>`.
//!
//! [`verify_request`] checks the signature over the raw bytes (constant time, every configured
//! secret during a rotation) and the timestamp (at most five minutes either way);
//! [`parse_interaction`] then reads the click.

use super::blocks::{action_id, action_of, ButtonValue};
use crate::provider::{any_secret, check_window, AuthError, ParseError, Secrets};
use crate::signature::{decode_hex, hmac_sha256, verify_hmac_sha256};
use chrono::{DateTime, Utc};
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::ids::HandoffId;
use serde_json::Value;

/// The timestamp header (unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// The signature header (`v0=<hex>`).
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// How far the timestamp may be from now, either way.
pub const MAX_AGE_SECS: i64 = 300;

const TIMESTAMP_NAME: &str = "X-Slack-Request-Timestamp";
const SIGNATURE_NAME: &str = "X-Slack-Signature";

/// The `X-Slack-Signature` value Slack sends for `body` at `timestamp` (unix seconds).
pub fn sign_request(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac_sha256(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]);
    format!("v0={}", hex::encode(mac))
}

/// Checks a request from Slack: the signature over the raw `body` with any of `secrets`
/// (constant time, through `hmac`'s `verify_slice`), then that the timestamp is within
/// [`MAX_AGE_SECS`] of `now`. `timestamp` and `signature` are the header values.
pub fn verify_request(
    secrets: &Secrets,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let ts_raw = timestamp
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::MissingHeader(TIMESTAMP_NAME))?;
    let ts: i64 = ts_raw.parse().map_err(|_| AuthError::Malformed {
        what: TIMESTAMP_NAME,
        detail: "expected unix seconds".into(),
    })?;
    let at = DateTime::from_timestamp(ts, 0).ok_or_else(|| AuthError::Malformed {
        what: TIMESTAMP_NAME,
        detail: "out of range".into(),
    })?;
    let sig_raw = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::MissingHeader(SIGNATURE_NAME))?;
    let hex = sig_raw
        .strip_prefix("v0=")
        .ok_or_else(|| AuthError::Malformed {
            what: SIGNATURE_NAME,
            detail: "expected v0=<hex>".into(),
        })?;
    let mac = decode_hex(hex)
        .filter(|m| m.len() == 32)
        .ok_or_else(|| AuthError::Malformed {
            what: SIGNATURE_NAME,
            detail: "expected 64 hex digits after v0=".into(),
        })?;
    let signed = any_secret(secrets, |key| {
        verify_hmac_sha256(key, &[b"v0:", ts_raw.as_bytes(), b":", body], &mac)
    });
    if !signed {
        return Err(AuthError::BadSignature(SIGNATURE_NAME));
    }
    check_window(TIMESTAMP_NAME, at, now, MAX_AGE_SECS)
}

/// A click on one of handoff's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The Slack member who clicked (`user.id`).
    pub user_id: String,
    pub action: ClaimAction,
    pub handoff_id: HandoffId,
    /// The message's channel (`container.channel_id`, else `channel.id`).
    pub channel: Option<String>,
    /// The message's `ts` (`container.message_ts`, else `message.ts`).
    pub message_ts: Option<String>,
}

/// What an interactivity payload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// Not for handoff (another payload type, another app's or block's action): answer 200 and
    /// do nothing. The text says why, for the log.
    Ignored(String),
    /// One of handoff's buttons.
    Click(Click),
}

fn text_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str().filter(|s| !s.trim().is_empty())
}

/// Reads an interactivity request body (`payload=<url-encoded JSON>`). Errors name the field.
pub fn parse_interaction(body: &[u8]) -> Result<Interaction, ParseError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ParseError::new("body", format!("not a form body: {e}")))?;
    let payload = form
        .iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| {
            ParseError::new("payload", "missing: Slack sends one form field, payload")
        })?;
    let v: Value = serde_json::from_str(payload).map_err(|e| {
        ParseError::new(
            "payload",
            format!("not JSON (line {}, column {}): {e}", e.line(), e.column()),
        )
    })?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::new("type", "missing"))?;
    if kind != "block_actions" {
        return Ok(Interaction::Ignored(format!("payload type {kind:?}")));
    }
    let actions = v
        .get("actions")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new("actions", "missing or not a list"))?;
    let Some((i, action, claim)) = actions.iter().enumerate().find_map(|(i, a)| {
        let id = a.get("action_id").and_then(Value::as_str)?;
        action_of(id).map(|claim| (i, a, claim))
    }) else {
        return Ok(Interaction::Ignored(
            "no handoff button among the actions".into(),
        ));
    };
    let field = format!("actions[{i}].value");
    let raw = action
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::new(&field, "missing"))?;
    let value: ButtonValue = serde_json::from_str(raw).map_err(|e| {
        ParseError::new(
            &field,
            format!("not a handoff button value {{\"h\":…,\"a\":…}}: {e}"),
        )
    })?;
    let handoff_id = HandoffId::parse(&value.h)
        .map_err(|e| ParseError::new(format!("{field}.h"), e.to_string()))?;
    match ClaimAction::parse(&value.a) {
        Some(a) if a == claim => {}
        Some(a) => {
            return Err(ParseError::new(
                format!("{field}.a"),
                format!(
                    "says {:?} but the button is {}",
                    a.as_str(),
                    action_id(claim)
                ),
            ))
        }
        None => {
            return Err(ParseError::new(
                format!("{field}.a"),
                format!("unknown action {:?}", value.a),
            ))
        }
    }
    let user_id = text_at(&v, &["user", "id"])
        .ok_or_else(|| ParseError::new("user.id", "missing"))?
        .to_string();
    let channel = text_at(&v, &["container", "channel_id"])
        .or_else(|| text_at(&v, &["channel", "id"]))
        .map(str::to_string);
    let message_ts = text_at(&v, &["container", "message_ts"])
        .or_else(|| text_at(&v, &["message", "ts"]))
        .map(str::to_string);
    Ok(Interaction::Click(Click {
        user_id,
        action: claim,
        handoff_id,
        channel,
        message_ts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM_BODY: &str =
        include_str!("../../../../../tests/fixtures/providers/slack_block_actions_form_body.txt");

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).unwrap()
    }

    #[test]
    fn slack_documented_vector_verifies() {
        // https://api.slack.com/authentication/verifying-requests-from-slack
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign_request(secret, 1531420618, body.as_bytes()), expected);
        let secrets = Secrets::parse(secret).unwrap();
        let now = at(1531420618 + 60);
        assert_eq!(
            verify_request(
                &secrets,
                Some("1531420618"),
                Some(expected),
                body.as_bytes(),
                now
            ),
            Ok(())
        );
    }

    #[test]
    fn local_vector_over_the_fixture_form_body() {
        assert_eq!(FORM_BODY.len(), 1250);
        let expected = "v0=41285fadd2b276ad04a2a4d6b9241b7063fa345dde47a34bd285dd338498c75d";
        assert_eq!(
            sign_request("test-secret", 1_700_000_000, FORM_BODY.as_bytes()),
            expected
        );
        let secrets = Secrets::parse("test-secret").unwrap();
        assert!(verify_request(
            &secrets,
            Some("1700000000"),
            Some(expected),
            FORM_BODY.as_bytes(),
            at(1_700_000_000)
        )
        .is_ok());
    }

    #[test]
    fn rotation_tampering_window_and_malformed_headers() {
        let body = b"payload=%7B%7D";
        let now = at(1_700_000_000);
        let sig = sign_request("old", 1_700_000_000, body);
        let rotating = Secrets::parse("new,old").unwrap();
        assert!(verify_request(&rotating, Some("1700000000"), Some(&sig), body, now).is_ok());
        let only_new = Secrets::parse("new").unwrap();
        assert_eq!(
            verify_request(&only_new, Some("1700000000"), Some(&sig), body, now),
            Err(AuthError::BadSignature(SIGNATURE_NAME))
        );
        // Tampered body; a signature made for another timestamp.
        assert!(
            verify_request(&rotating, Some("1700000000"), Some(&sig), b"payload=x", now).is_err()
        );
        assert!(verify_request(&rotating, Some("1700000001"), Some(&sig), body, now).is_err());
        // Older or newer than five minutes.
        let old = sign_request("new", 1_700_000_000 - 301, body);
        assert!(matches!(
            verify_request(&rotating, Some("1699999699"), Some(&old), body, now),
            Err(AuthError::Expired { .. })
        ));
        let future = sign_request("new", 1_700_000_000 + 301, body);
        assert!(matches!(
            verify_request(&rotating, Some("1700000301"), Some(&future), body, now),
            Err(AuthError::Expired { .. })
        ));
        let edge = sign_request("new", 1_700_000_000 - 300, body);
        assert!(verify_request(&rotating, Some("1699999700"), Some(&edge), body, now).is_ok());
        // Missing or malformed headers.
        assert_eq!(
            verify_request(&rotating, None, Some(&sig), body, now),
            Err(AuthError::MissingHeader(TIMESTAMP_NAME))
        );
        assert_eq!(
            verify_request(&rotating, Some("1700000000"), None, body, now),
            Err(AuthError::MissingHeader(SIGNATURE_NAME))
        );
        for bad in ["abc", "1700000000x", ""] {
            assert!(verify_request(&rotating, Some(bad), Some(&sig), body, now).is_err());
        }
        for bad in [&sig[3..], "v1=00", "v0=zz", "v0=00ff"] {
            assert!(matches!(
                verify_request(&rotating, Some("1700000000"), Some(bad), body, now),
                Err(AuthError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn the_documented_payload_is_not_ours_until_it_carries_our_button() {
        let got = parse_interaction(FORM_BODY.as_bytes()).unwrap();
        assert!(matches!(got, Interaction::Ignored(_)), "{got:?}");

        let mut v: Value = serde_json::from_str(include_str!(
            "../../../../../tests/fixtures/providers/slack_block_actions_payload.json"
        ))
        .unwrap();
        let id = HandoffId::parse("h_0123456789abcdef0123456789abcdef").unwrap();
        v["actions"][0]["action_id"] = "handoff_wrong_owner".into();
        v["actions"][0]["value"] =
            super::super::blocks::button_value(&id, ClaimAction::WrongOwner).into();
        let body = serde_urlencoded::to_string([("payload", v.to_string())]).unwrap();
        let got = parse_interaction(body.as_bytes()).unwrap();
        assert_eq!(
            got,
            Interaction::Click(Click {
                user_id: "W111".into(),
                action: ClaimAction::WrongOwner,
                handoff_id: id,
                channel: Some("C111".into()),
                message_ts: Some("111.222".into()),
            })
        );
    }

    #[test]
    fn malformed_payloads_name_the_field() {
        let form = |json: &str| serde_urlencoded::to_string([("payload", json)]).unwrap();
        let field = |body: &str| parse_interaction(body.as_bytes()).unwrap_err().field;
        assert_eq!(field("nothing=1"), "payload");
        assert_eq!(field(&form("{not json")), "payload");
        assert_eq!(field(&form("{}")), "type");
        assert_eq!(field(&form(r#"{"type":"block_actions"}"#)), "actions");
        let click = |value: &str, user: &str| {
            form(&format!(
                r#"{{"type":"block_actions","user":{user},"actions":[{{"action_id":"x"}},{{"action_id":"handoff_claim","value":{value}}}]}}"#
            ))
        };
        assert_eq!(field(&click("42", r#"{"id":"U1"}"#)), "actions[1].value");
        assert_eq!(
            field(&click(r#""nope""#, r#"{"id":"U1"}"#)),
            "actions[1].value"
        );
        assert_eq!(
            field(&click(
                r#""{\"h\":\"bad id\",\"a\":\"accept\"}""#,
                r#"{"id":"U1"}"#
            )),
            "actions[1].value.h"
        );
        let id = "h_0123456789abcdef0123456789abcdef";
        assert_eq!(
            field(&click(
                &format!(r#""{{\"h\":\"{id}\",\"a\":\"requalify\"}}""#),
                r#"{"id":"U1"}"#
            )),
            "actions[1].value.a"
        );
        assert_eq!(
            field(&click(
                &format!(r#""{{\"h\":\"{id}\",\"a\":\"accept\"}}""#),
                "{}"
            )),
            "user.id"
        );
        // Other payload types are not errors.
        assert!(matches!(
            parse_interaction(form(r#"{"type":"view_submission"}"#).as_bytes()).unwrap(),
            Interaction::Ignored(_)
        ));
    }
}
