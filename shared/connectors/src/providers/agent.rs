//! AI agents (the inbound responder, the outbound sequencer) posting canonical events to
//! `POST /v1/events`, signed with handoff's own scheme:
//!
//! `Handoff-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
//! accepted within 5 minutes of now. Several `v1` values may be sent during a key rotation.
//! The body is one [`IntakeEvent`] as JSON (schema: `docs/events.schema.json`). The secret is
//! `HANDOFF_SECRET_AGENT`. The same scheme signs `POST /v1/threads` (outbound thread context).

use crate::provider::{check_window, AuthError, ParseError, Parsed, Provider, Secrets, Verified};
use crate::request::RawRequest;
use crate::signature::TimestampedSignature;
use chrono::{DateTime, Utc};
use handoff_domain::event::IntakeEvent;

/// The signature header.
pub const HEADER: &str = "handoff-signature";
/// How far the signed timestamp may be from now.
pub const WINDOW_SECS: i64 = 300;

/// handoff's own signed canonical events.
#[derive(Debug, Default, Clone, Copy)]
pub struct Agent;

/// Verifies a `Handoff-Signature` header over the raw body (shared with `/v1/threads`).
pub fn verify_handoff_signature(
    request: &RawRequest,
    secrets: &Secrets,
    now: DateTime<Utc>,
) -> Result<Verified, AuthError> {
    let header = request
        .header(HEADER)
        .ok_or(AuthError::MissingHeader("Handoff-Signature"))?;
    let sig = TimestampedSignature::parse(header).ok_or_else(|| AuthError::Malformed {
        what: "Handoff-Signature header",
        detail: "expected t=<unix seconds>,v1=<hex>".into(),
    })?;
    let at = DateTime::from_timestamp(sig.timestamp, 0).ok_or_else(|| AuthError::Malformed {
        what: "Handoff-Signature timestamp",
        detail: "out of range".into(),
    })?;
    check_window("Handoff-Signature timestamp", at, now, WINDOW_SECS)?;
    if crate::provider::any_secret(secrets, |s| sig.matches(s, &request.body)) {
        Ok(Verified::default())
    } else {
        Err(AuthError::BadSignature("Handoff-Signature"))
    }
}

impl Provider for Agent {
    fn name(&self) -> &'static str {
        "agent"
    }
    fn path(&self) -> &'static str {
        "/v1/events"
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["application/json"]
    }
    fn verify(
        &self,
        request: &RawRequest,
        secrets: &Secrets,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        verify_handoff_signature(request, secrets, now)
    }
    fn parse(
        &self,
        request: &RawRequest,
        _received_at: DateTime<Utc>,
    ) -> Result<Parsed, ParseError> {
        let event: IntakeEvent = crate::json::body(&request.body, "the event is not valid")?;
        Ok(Parsed::events(vec![event]))
    }
    fn sign(&self, request: &mut RawRequest, secret: &str, now: DateTime<Utc>) {
        let value = TimestampedSignature::sign(secret.as_bytes(), now.timestamp(), &request.body);
        request.set_header(HEADER, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = include_str!("../../../../examples/events/02-ai-qualified-lead.json");

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn signed(secret: &str, at: DateTime<Utc>) -> RawRequest {
        let mut r = RawRequest::post(
            "http://127.0.0.1:8080/v1/events",
            &[("content-type", "application/json")],
            EVENT.as_bytes().to_vec(),
        );
        Agent.sign(&mut r, secret, at);
        r
    }

    #[test]
    fn signed_event_verifies_and_parses() {
        let secrets = Secrets::parse("s3cret").unwrap();
        let r = signed("s3cret", now());
        assert!(Agent.verify(&r, &secrets, now()).is_ok());
        let parsed = Agent.parse(&r, now()).unwrap();
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.events[0].source.as_str(), "alim");
    }

    #[test]
    fn refusals_name_the_problem() {
        let secrets = Secrets::parse("s3cret").unwrap();
        let mut tampered = signed("s3cret", now());
        tampered.body.push(b' ');
        assert_eq!(
            Agent.verify(&tampered, &secrets, now()),
            Err(AuthError::BadSignature("Handoff-Signature"))
        );
        let wrong = signed("other", now());
        assert!(matches!(
            Agent.verify(&wrong, &secrets, now()),
            Err(AuthError::BadSignature(_))
        ));
        let old = signed("s3cret", now() - chrono::Duration::seconds(301));
        assert!(matches!(
            Agent.verify(&old, &secrets, now()),
            Err(AuthError::Expired { .. })
        ));
        let mut missing = signed("s3cret", now());
        missing.headers.retain(|(k, _)| k != HEADER);
        assert_eq!(
            Agent.verify(&missing, &secrets, now()),
            Err(AuthError::MissingHeader("Handoff-Signature"))
        );
    }

    #[test]
    fn rotation_accepts_old_and_new() {
        let secrets = Secrets::parse("new,old").unwrap();
        assert!(Agent.verify(&signed("old", now()), &secrets, now()).is_ok());
        assert!(Agent.verify(&signed("new", now()), &secrets, now()).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            header in ".{0,200}",
        ) {
            let mut r = RawRequest::post("http://x/v1/events", &[("content-type", "application/json")], body);
            r.set_header(HEADER, header);
            let secrets = Secrets::parse("s3cret").unwrap();
            let _ = Agent.verify(&r, &secrets, now());
            let _ = Agent.parse(&r, now());
        }
    }

    #[test]
    fn a_bad_event_names_the_problem() {
        let r = RawRequest::post(
            "http://x/v1/events",
            &[],
            b"{\"type\":\"email_reply\"}".to_vec(),
        );
        let e = Agent.parse(&r, now()).unwrap_err();
        assert!(e.field.starts_with("body"), "{e}");
    }
}
