//! Calendly webhooks (API v2) at `POST /meetings/calendly`, `application/json`.
//!
//! **Credentials:** `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(signing
//! key, "<t>.<raw body>")>`, accepted within **3 minutes** of now (Calendly's own sample uses
//! that tolerance). The signing key is `HANDOFF_SECRET_CALENDLY`; during a rotation either
//! configured key verifies, and several `v1` values in one header are all tried.
//!
//! **Events** (`{event, created_at, created_by, payload: <Invitee>}`):
//!
//! | `event`                   | becomes                                                      |
//! |---------------------------|--------------------------------------------------------------|
//! | `invitee.created`         | `MeetingBooked`, `rescheduled` when `old_invitee` is set      |
//! | `invitee.canceled`        | `MeetingCancelled`, `rescheduled` = `payload.rescheduled`     |
//! | `invitee_no_show.created` | `MeetingNoShow`                                              |
//! | anything else             | nothing (`Parsed::default()`), e.g. `invitee_no_show.deleted` |
//!
//! Other events (`invitee_no_show.deleted`, `routing_form_submission.created`, future ones) are
//! acknowledged and create nothing: an un-marked no-show does not reopen anything, and a routing
//! form without a booking is not a meeting.
//!
//! **Mapping:**
//! - buyer: `payload.email`, `name` (or `first_name` + `last_name`), the answers of
//!   `questions_and_answers[]` through [`FormAnswers`] (company, role, phone, website…), and
//!   `text_reminder_number` as the phone when no answer gave one;
//! - `meeting_id`: `payload.scheduled_event.uri`, or `payload.event` in older payloads;
//! - `starts_at`: `payload.scheduled_event.start_time` (an error naming that field when the
//!   object is there without it). Older payloads carry no `scheduled_event` and so no start
//!   time at all: then the envelope's `created_at` (when Calendly sent the event) stands in;
//! - `title`: `scheduled_event.name`; `host_email`: the first valid
//!   `scheduled_event.event_memberships[].user_email`;
//! - `notes`: for a cancellation first "Cancelled by <canceler_type>: <reason>", then the
//!   buyer's message answers, then the other answers as "<question>: <answer>" lines.
//!   `MeetingEvent` has no fields map and its notes are read as the buyer's own words, so the
//!   `tracking.utm_*` values are not carried.
//!
//! **Dedup key** (`provider_event_id`): `<payload.uri>#<event>` (the invitee URI plus the event
//! name: a booking and the cancellation of the same invitee are different events, a retried
//! delivery is the same one); for a no-show, `payload.no_show.uri` when present.

use crate::fields::FormAnswers;
use crate::json::{text, timestamp};
use crate::provider::{
    any_secret, check_window, AuthError, ParseError, Parsed, Provider, Secrets, Verified,
};
use crate::request::RawRequest;
use crate::signature::TimestampedSignature;
use chrono::{DateTime, Utc};
use handoff_domain::event::{Channel, EventKind, FormLead, IntakeEvent, MeetingEvent};
use handoff_domain::ids::{EmailAddress, ProviderEventId};
use serde_json::Value;

/// The signature header (lower case, as stored in [`RawRequest`]).
pub const HEADER: &str = "calendly-webhook-signature";
/// The header's name as Calendly writes it (errors name it so).
const HEADER_NAME: &str = "Calendly-Webhook-Signature";
/// How far the signed timestamp may be from now: 3 minutes.
pub const WINDOW_SECS: i64 = 180;

/// Calendly invitee webhooks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Calendly;

/// The events that create something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    Created,
    Canceled,
    NoShow,
}

impl Provider for Calendly {
    fn name(&self) -> &'static str {
        "calendly"
    }
    fn path(&self) -> &'static str {
        "/meetings/calendly"
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
        let header = request
            .header(HEADER)
            .ok_or(AuthError::MissingHeader(HEADER_NAME))?;
        let sig = TimestampedSignature::parse(header).ok_or_else(|| AuthError::Malformed {
            what: "Calendly-Webhook-Signature header",
            detail: "expected t=<unix seconds>,v1=<hex>".into(),
        })?;
        let at =
            DateTime::from_timestamp(sig.timestamp, 0).ok_or_else(|| AuthError::Malformed {
                what: "Calendly-Webhook-Signature timestamp",
                detail: "out of range".into(),
            })?;
        check_window("Calendly-Webhook-Signature timestamp", at, now, WINDOW_SECS)?;
        if any_secret(secrets, |s| sig.matches(s, &request.body)) {
            Ok(Verified::default())
        } else {
            Err(AuthError::BadSignature(HEADER_NAME))
        }
    }

    fn parse(
        &self,
        request: &RawRequest,
        received_at: DateTime<Utc>,
    ) -> Result<Parsed, ParseError> {
        let root = crate::json::object_body(&request.body)?;
        let event_name = text(&root, "event")
            .ok_or_else(|| ParseError::new("event", "missing: the webhook event name"))?;
        let handled = match event_name {
            "invitee.created" => Handled::Created,
            "invitee.canceled" => Handled::Canceled,
            "invitee_no_show.created" => Handled::NoShow,
            // Acknowledged, nothing to create (see the module docs).
            _ => return Ok(Parsed::default()),
        };
        let payload = crate::json::object(&root, "payload", "the invitee object")?;

        let lead = answers(payload).form_lead("payload.email")?;
        let scheduled = payload.get("scheduled_event").filter(|s| s.is_object());

        let meeting_id = scheduled
            .and_then(|s| text(s, "uri"))
            .or_else(|| text(payload, "event"))
            .ok_or_else(|| {
                ParseError::new(
                    "payload.scheduled_event.uri",
                    "missing (and no payload.event URI either): the meeting cannot be named",
                )
            })?
            .to_string();
        let starts_at = match scheduled {
            Some(s) => {
                let raw = text(s, "start_time").ok_or_else(|| {
                    ParseError::new("payload.scheduled_event.start_time", "missing")
                })?;
                timestamp(raw, "payload.scheduled_event.start_time")?
            }
            // Older payloads have no scheduled_event and no start time anywhere.
            None => {
                let raw = text(&root, "created_at").ok_or_else(|| {
                    ParseError::new(
                        "payload.scheduled_event.start_time",
                        "missing, and no created_at to stand in for it",
                    )
                })?;
                timestamp(raw, "created_at")?
            }
        };
        let title = scheduled
            .and_then(|s| text(s, "name"))
            .unwrap_or_default()
            .to_string();
        let host_email = scheduled
            .and_then(|s| s.get("event_memberships"))
            .and_then(Value::as_array)
            .and_then(|members| {
                members
                    .iter()
                    .filter_map(|m| text(m, "user_email"))
                    .find_map(|e| EmailAddress::parse(e).ok())
            });

        let uri = text(payload, "uri")
            .ok_or_else(|| ParseError::new("payload.uri", "missing: the invitee URI"))?;
        let (event_id, id_field) = match handled {
            Handled::NoShow => match payload.get("no_show").and_then(|n| text(n, "uri")) {
                Some(no_show) => (no_show.to_string(), "payload.no_show.uri"),
                None => (format!("{uri}#{event_name}"), "payload.uri"),
            },
            _ => (format!("{uri}#{event_name}"), "payload.uri"),
        };
        let provider_event_id = ProviderEventId::parse(&event_id)
            .map_err(|e| ParseError::new(id_field, e.to_string()))?;

        let cancellation = match handled {
            Handled::Canceled => cancellation_line(payload),
            _ => None,
        };
        let rescheduled = match handled {
            Handled::Created => payload
                .get("old_invitee")
                .is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty())),
            Handled::Canceled => payload
                .get("rescheduled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            Handled::NoShow => false,
        };
        let meeting = MeetingEvent {
            buyer: lead.buyer.clone(),
            meeting_id,
            starts_at,
            title,
            host_email,
            notes: notes(cancellation, &lead),
            rescheduled,
            replaces: None,
        };
        let kind = match handled {
            Handled::Created => EventKind::MeetingBooked(meeting),
            Handled::Canceled => EventKind::MeetingCancelled(meeting),
            Handled::NoShow => EventKind::MeetingNoShow(meeting),
        };
        let source = crate::json::source(self.name())?;
        Ok(Parsed::events(vec![IntakeEvent {
            source,
            channel: Channel::Meeting,
            provider_event_id,
            received_at,
            kind,
        }]))
    }

    fn sign(&self, request: &mut RawRequest, secret: &str, now: DateTime<Utc>) {
        let value = TimestampedSignature::sign(secret.as_bytes(), now.timestamp(), &request.body);
        request.set_header(HEADER, value);
    }
}

/// An answer's text: strings as they are, numbers and booleans written out, lists joined.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Yes" } else { "No" }.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(value_text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Null | Value::Object(_) => None,
    }
}

/// The invitee's identity and booking answers.
fn answers(payload: &Value) -> FormAnswers {
    let mut a = FormAnswers::new();
    if let Some(email) = text(payload, "email") {
        a.add("email", "", email);
    }
    if let Some(name) = text(payload, "name") {
        a.add("name", "", name);
    }
    if let Some(first) = text(payload, "first_name") {
        a.add("first_name", "", first);
    }
    if let Some(last) = text(payload, "last_name") {
        a.add("last_name", "", last);
    }
    if let Some(qa) = payload
        .get("questions_and_answers")
        .and_then(Value::as_array)
    {
        for item in qa {
            let question = text(item, "question").unwrap_or_default();
            if let Some(answer) = item.get("answer").and_then(value_text) {
                a.add("", question, &answer);
            }
        }
    }
    // The number for SMS reminders is the invitee's phone when no answer gave one.
    if let Some(phone) = text(payload, "text_reminder_number") {
        a.add("phone", "", phone);
    }
    a
}

/// "Cancelled by invitee: Meeting Conflict" from `payload.cancellation`.
fn cancellation_line(payload: &Value) -> Option<String> {
    let c = payload.get("cancellation").filter(|c| c.is_object())?;
    let by = text(c, "canceler_type");
    let reason = text(c, "reason");
    Some(match (by, reason) {
        (Some(by), Some(reason)) => format!("Cancelled by {by}: {reason}"),
        (Some(by), None) => format!("Cancelled by {by}"),
        (None, Some(reason)) => format!("Cancelled: {reason}"),
        (None, None) => "Cancelled".to_string(),
    })
}

/// The meeting notes: the cancellation line, the buyer's message, the other answers.
fn notes(first: Option<String>, lead: &FormLead) -> String {
    let others = lead
        .fields
        .iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    [first.unwrap_or_default(), lead.message.clone(), others]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CREATED: &str =
        include_str!("../../../../tests/fixtures/providers/calendly_invitee_created.json");
    const CANCELED: &str =
        include_str!("../../../../tests/fixtures/providers/calendly_invitee_canceled.json");
    const NO_SHOW: &str =
        include_str!("../../../../tests/fixtures/providers/calendly_invitee_no_show_created.json");

    const INVITEE: &str =
        "https://api.calendly.com/scheduled_events/AAAAAAAAAAAAAAAA/invitees/AAAAAAAAAAAAAAAA";

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn now() -> DateTime<Utc> {
        t0() + chrono::Duration::seconds(60)
    }

    fn request(body: &str) -> RawRequest {
        RawRequest::post(
            "https://hooks.example.com/meetings/calendly",
            &[("Content-Type", "application/json")],
            body.as_bytes().to_vec(),
        )
    }

    fn signed(body: &str, secret: &str, at: DateTime<Utc>) -> RawRequest {
        let mut r = request(body);
        Calendly.sign(&mut r, secret, at);
        r
    }

    fn secrets(list: &str) -> Secrets {
        Secrets::parse(list).unwrap()
    }

    fn only(parsed: Parsed) -> IntakeEvent {
        assert!(parsed.lookups.is_empty());
        assert_eq!(parsed.events.len(), 1, "{parsed:?}");
        parsed.events.into_iter().next().unwrap()
    }

    fn meeting(e: &IntakeEvent) -> &MeetingEvent {
        match &e.kind {
            EventKind::MeetingBooked(m)
            | EventKind::MeetingCancelled(m)
            | EventKind::MeetingNoShow(m) => m,
            other => panic!("not a meeting: {other:?}"),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The fixture with `edit` applied to its JSON.
    fn edited(fixture: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(fixture).unwrap();
        edit(&mut v);
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn identity() {
        assert_eq!(Calendly.name(), "calendly");
        assert_eq!(Calendly.path(), "/meetings/calendly");
        assert_eq!(Calendly.media_types(), ["application/json"]);
    }

    #[test]
    fn documented_vector_verifies() {
        assert_eq!(CREATED.len(), 2224);
        let header =
            "t=1700000000,v1=ba44b5ee99e0af0848d6743b4193890a3d556ce73ba0a06b56ba022f8baa54f9";
        let r = RawRequest::post(
            "https://hooks.example.com/meetings/calendly",
            &[
                ("Content-Type", "application/json"),
                ("Calendly-Webhook-Signature", header),
            ],
            CREATED.as_bytes().to_vec(),
        );
        assert_eq!(
            Calendly.verify(&r, &secrets("test-secret"), now()),
            Ok(Verified::default())
        );
        // And sign produces exactly that header.
        assert_eq!(
            signed(CREATED, "test-secret", t0()).header(HEADER),
            Some(header)
        );
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let r = signed(CANCELED, "k", now());
        assert!(Calendly.verify(&r, &secrets("k"), now()).is_ok());
    }

    #[test]
    fn refusals_name_the_problem() {
        let s = secrets("test-secret");
        let mut tampered = signed(CREATED, "test-secret", t0());
        tampered.body.push(b' ');
        assert_eq!(
            Calendly.verify(&tampered, &s, now()),
            Err(AuthError::BadSignature("Calendly-Webhook-Signature"))
        );

        let wrong = signed(CREATED, "other-secret", t0());
        assert_eq!(
            Calendly.verify(&wrong, &s, now()),
            Err(AuthError::BadSignature("Calendly-Webhook-Signature"))
        );

        let missing = request(CREATED);
        assert_eq!(
            Calendly.verify(&missing, &s, now()),
            Err(AuthError::MissingHeader("Calendly-Webhook-Signature"))
        );

        let mut garbage = request(CREATED);
        garbage.set_header(HEADER, "sha256=abc");
        assert!(matches!(
            Calendly.verify(&garbage, &s, now()),
            Err(AuthError::Malformed { .. })
        ));

        let mut huge = request(CREATED);
        huge.set_header(HEADER, format!("t={},v1=00", i64::MAX));
        assert!(matches!(
            Calendly.verify(&huge, &s, now()),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn the_window_is_three_minutes() {
        let s = secrets("test-secret");
        let edge = signed(
            CREATED,
            "test-secret",
            now() - chrono::Duration::seconds(180),
        );
        assert!(Calendly.verify(&edge, &s, now()).is_ok());
        let old = signed(
            CREATED,
            "test-secret",
            now() - chrono::Duration::seconds(181),
        );
        assert_eq!(
            Calendly.verify(&old, &s, now()),
            Err(AuthError::Expired {
                what: "Calendly-Webhook-Signature timestamp",
                age_secs: 181,
                max_secs: 180,
            })
        );
        let future = signed(
            CREATED,
            "test-secret",
            now() + chrono::Duration::seconds(181),
        );
        assert!(matches!(
            Calendly.verify(&future, &s, now()),
            Err(AuthError::Expired { .. })
        ));
    }

    #[test]
    fn rotation_accepts_old_and_new() {
        let s = secrets("new-key,old-key");
        assert!(Calendly
            .verify(&signed(CREATED, "old-key", now()), &s, now())
            .is_ok());
        assert!(Calendly
            .verify(&signed(CREATED, "new-key", now()), &s, now())
            .is_ok());
        assert!(Calendly
            .verify(&signed(CREATED, "gone-key", now()), &s, now())
            .is_err());
        // A sender listing several v1 values (its own rotation) verifies with any of them.
        let new = TimestampedSignature::sign(b"new-key", now().timestamp(), CREATED.as_bytes());
        let v1 = new.split_once(",v1=").unwrap().1;
        let mut r = request(CREATED);
        r.set_header(
            HEADER,
            format!("t={},v1={},v1={v1}", now().timestamp(), "00".repeat(32)),
        );
        assert!(Calendly.verify(&r, &secrets("new-key"), now()).is_ok());
    }

    #[test]
    fn invitee_created_is_a_booking() {
        let e = only(Calendly.parse(&request(CREATED), now()).unwrap());
        assert_eq!(e.source.as_str(), "calendly");
        assert_eq!(e.channel, Channel::Meeting);
        assert_eq!(e.received_at, now());
        assert_eq!(
            e.provider_event_id.as_str(),
            format!("{INVITEE}#invitee.created")
        );
        assert!(matches!(e.kind, EventKind::MeetingBooked(_)));
        let m = meeting(&e);
        assert_eq!(m.buyer.email.as_str(), "test@example.com");
        assert_eq!(m.buyer.name.as_deref(), Some("John Doe"));
        assert_eq!(
            m.meeting_id,
            "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2"
        );
        assert_eq!(m.starts_at, at("2019-08-24T14:15:22.123456Z"));
        assert_eq!(m.title, "15 Minute Meeting");
        assert_eq!(m.host_email.as_ref().unwrap().as_str(), "user@example.com");
        assert_eq!(m.notes, "");
        assert!(!m.rescheduled);
    }

    #[test]
    fn invitee_canceled_is_a_cancellation_with_the_reason() {
        let e = only(Calendly.parse(&request(CANCELED), now()).unwrap());
        assert_eq!(
            e.provider_event_id.as_str(),
            format!("{INVITEE}#invitee.canceled")
        );
        assert!(matches!(e.kind, EventKind::MeetingCancelled(_)));
        let m = meeting(&e);
        assert_eq!(m.buyer.email.as_str(), "test@example.com");
        assert_eq!(
            m.meeting_id,
            "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2"
        );
        assert_eq!(m.starts_at, at("2019-08-24T14:15:22.123456Z"));
        assert_eq!(m.host_email.as_ref().unwrap().as_str(), "user@example.com");
        assert_eq!(m.notes, "Cancelled by invitee: Meeting Conflict");
        assert!(!m.rescheduled);
    }

    #[test]
    fn invitee_no_show_is_a_no_show_keyed_by_its_uri() {
        let e = only(Calendly.parse(&request(NO_SHOW), now()).unwrap());
        assert_eq!(
            e.provider_event_id.as_str(),
            "https://api.calendly.com/invitee_no_shows/AAAAAAAAAAAAAAAA"
        );
        assert!(matches!(e.kind, EventKind::MeetingNoShow(_)));
        let m = meeting(&e);
        assert_eq!(m.buyer.email.as_str(), "test@example.com");
        assert_eq!(
            m.meeting_id,
            "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2"
        );
        assert_eq!(m.starts_at, at("2019-08-24T14:15:22.123456Z"));
        assert!(!m.rescheduled);

        let without_uri = edited(NO_SHOW, |v| v["payload"]["no_show"] = Value::Null);
        let e = only(Calendly.parse(&request(&without_uri), now()).unwrap());
        assert_eq!(
            e.provider_event_id.as_str(),
            format!("{INVITEE}#invitee_no_show.created")
        );
    }

    #[test]
    fn a_reschedule_is_flagged_on_both_halves() {
        let created = edited(CREATED, |v| {
            v["payload"]["old_invitee"] =
                "https://api.calendly.com/scheduled_events/OLD/invitees/OLD".into();
        });
        let e = only(Calendly.parse(&request(&created), now()).unwrap());
        assert!(matches!(e.kind, EventKind::MeetingBooked(_)));
        assert!(meeting(&e).rescheduled);

        let canceled = edited(CANCELED, |v| {
            v["payload"]["rescheduled"] = true.into();
            v["payload"]["new_invitee"] =
                "https://api.calendly.com/scheduled_events/NEW/invitees/NEW".into();
        });
        let e = only(Calendly.parse(&request(&canceled), now()).unwrap());
        assert!(matches!(e.kind, EventKind::MeetingCancelled(_)));
        assert!(meeting(&e).rescheduled);
    }

    #[test]
    fn answers_fill_the_buyer_and_the_notes() {
        let body = edited(CREATED, |v| {
            let p = &mut v["payload"];
            p["name"] = Value::Null;
            p["first_name"] = "Katrin".into();
            p["last_name"] = "Vogel".into();
            p["email"] = "Katrin@Brightline.io".into();
            p["text_reminder_number"] = "+49 151 0000000".into();
            p["tracking"]["utm_campaign"] = "q4-revops".into();
            p["questions_and_answers"] = serde_json::json!([
                {"question": "Company name", "answer": "Brightline GmbH", "position": 0},
                {"question": "Phone number", "answer": "+49 30 1234567", "position": 1},
                {"question": "Please share anything that will help prepare for our meeting.",
                 "answer": "We route 2,000 leads a month and lose a third.", "position": 2},
                {"question": "Which CRM do you use?", "answer": "HubSpot", "position": 3}
            ]);
        });
        let e = only(Calendly.parse(&request(&body), now()).unwrap());
        let m = meeting(&e);
        assert_eq!(m.buyer.email.as_str(), "katrin@brightline.io");
        assert_eq!(m.buyer.name.as_deref(), Some("Katrin Vogel"));
        assert_eq!(m.buyer.company.as_deref(), Some("Brightline GmbH"));
        assert_eq!(m.buyer.phone.as_deref(), Some("+49 30 1234567"));
        assert_eq!(
            m.notes,
            "We route 2,000 leads a month and lose a third.\n\nWhich CRM do you use?: HubSpot"
        );
        assert!(!m.notes.contains("q4-revops"));
    }

    #[test]
    fn older_payloads_use_the_event_uri_and_created_at() {
        let body = edited(CREATED, |v| {
            v["payload"]
                .as_object_mut()
                .unwrap()
                .remove("scheduled_event");
        });
        let e = only(Calendly.parse(&request(&body), now()).unwrap());
        let m = meeting(&e);
        assert_eq!(
            m.meeting_id,
            "https://api.calendly.com/scheduled_events/AAAAAAAAAAAAAAAA"
        );
        assert_eq!(m.starts_at, at("2020-11-23T17:51:19.000000Z"));
        assert_eq!(m.title, "");
        assert_eq!(m.host_email, None);
    }

    #[test]
    fn missing_pieces_name_the_field() {
        let no_start = edited(CREATED, |v| {
            v["payload"]["scheduled_event"]
                .as_object_mut()
                .unwrap()
                .remove("start_time");
        });
        let e = Calendly.parse(&request(&no_start), now()).unwrap_err();
        assert_eq!(e.field, "payload.scheduled_event.start_time");

        let bad_start = edited(CREATED, |v| {
            v["payload"]["scheduled_event"]["start_time"] = "tomorrow".into();
        });
        let e = Calendly.parse(&request(&bad_start), now()).unwrap_err();
        assert_eq!(e.field, "payload.scheduled_event.start_time");

        let no_email = edited(CREATED, |v| v["payload"]["email"] = Value::Null);
        let e = Calendly.parse(&request(&no_email), now()).unwrap_err();
        assert_eq!(e.field, "payload.email");

        let no_uri = edited(CREATED, |v| v["payload"]["uri"] = Value::Null);
        let e = Calendly.parse(&request(&no_uri), now()).unwrap_err();
        assert_eq!(e.field, "payload.uri");

        let no_payload = edited(CREATED, |v| v["payload"] = Value::Null);
        assert_eq!(
            Calendly
                .parse(&request(&no_payload), now())
                .unwrap_err()
                .field,
            "payload"
        );

        let no_event = edited(CREATED, |v| v["event"] = Value::Null);
        assert_eq!(
            Calendly
                .parse(&request(&no_event), now())
                .unwrap_err()
                .field,
            "event"
        );

        let e = Calendly.parse(&request("{not json"), now()).unwrap_err();
        assert!(e.field.starts_with("body"), "{e}");
        let e = Calendly.parse(&request("[1]"), now()).unwrap_err();
        assert_eq!(e.field, "body");
    }

    #[test]
    fn other_events_create_nothing() {
        for name in [
            "invitee_no_show.deleted",
            "routing_form_submission.created",
            "something.new",
        ] {
            let body = edited(NO_SHOW, |v| v["event"] = name.into());
            assert_eq!(
                Calendly.parse(&request(&body), now()).unwrap(),
                Parsed::default(),
                "{name}"
            );
        }
    }

    /// Every JSON pointer a field of the fixtures lives at.
    const POINTERS: &[&str] = &[
        "/event",
        "/created_at",
        "/payload",
        "/payload/email",
        "/payload/name",
        "/payload/first_name",
        "/payload/uri",
        "/payload/event",
        "/payload/old_invitee",
        "/payload/rescheduled",
        "/payload/questions_and_answers",
        "/payload/text_reminder_number",
        "/payload/no_show",
        "/payload/cancellation",
        "/payload/cancellation/reason",
        "/payload/scheduled_event",
        "/payload/scheduled_event/uri",
        "/payload/scheduled_event/start_time",
        "/payload/scheduled_event/name",
        "/payload/scheduled_event/event_memberships",
    ];

    proptest! {
        #[test]
        fn verify_and_parse_never_panic(
            body in prop::collection::vec(any::<u8>(), 0..512),
            header in ".{0,200}",
            t in any::<i64>(),
            sig in "[0-9a-fA-F]{0,80}",
        ) {
            let s = secrets("test-secret");
            let mut r = request("");
            r.body = body;
            let _ = Calendly.verify(&r, &s, now());
            let _ = Calendly.parse(&r, now());
            r.set_header(HEADER, header);
            let _ = Calendly.verify(&r, &s, now());
            r.set_header(HEADER, format!("t={t},v1={sig}"));
            let _ = Calendly.verify(&r, &s, now());
        }

        #[test]
        fn mangled_fixtures_never_panic(
            fixture in prop::sample::select(vec![CREATED, CANCELED, NO_SHOW]),
            edits in prop::collection::vec((prop::sample::select(POINTERS), crate::testing::any_json(&["2019-08-24T14:15:22Z", "x@example.com"])), 1..4),
        ) {
            let mut v: Value = serde_json::from_str(fixture).unwrap();
            for (pointer, value) in edits {
                if let Some(slot) = v.pointer_mut(pointer) {
                    *slot = value;
                }
            }
            let body = serde_json::to_string(&v).unwrap();
            let _ = Calendly.parse(&request(&body), now());
        }
    }
}
