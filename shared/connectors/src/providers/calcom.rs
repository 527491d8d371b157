//! Cal.com webhooks at `POST /meetings/calcom`, `application/json`.
//!
//! **Credentials:** `X-Cal-Signature-256: <hex HMAC-SHA256(secret, raw body)>`, no prefix and no
//! timestamp (so nothing to check against the clock; dedup relies on the event id below). The
//! secret is `HANDOFF_SECRET_CALCOM`; during a rotation either configured secret verifies. A
//! cal.com webhook without a secret sends the literal `no-secret-provided`: that is refused as
//! a missing signature, never compared.
//!
//! **Events** (`{triggerEvent, createdAt, payload}`):
//!
//! | `triggerEvent`            | becomes                                                    |
//! |---------------------------|------------------------------------------------------------|
//! | `BOOKING_CREATED`         | `MeetingBooked`                                            |
//! | `BOOKING_RESCHEDULED`     | `MeetingBooked` with `rescheduled: true`                   |
//! | `BOOKING_CANCELLED`       | `MeetingCancelled` (notes: the `cancellationReason`)        |
//! | `BOOKING_NO_SHOW_UPDATED` | one `MeetingNoShow` per attendee marked `noShow: true`     |
//! | anything else             | nothing (`Parsed::default()`)                              |
//!
//! Other triggers (`BOOKING_REQUESTED`, `BOOKING_PAID`, `MEETING_ENDED`, `FORM_SUBMITTED`,
//! `PING`…) are acknowledged and create nothing.
//!
//! **Booking mapping:** the buyer is `attendees[0]` (email, name, phone) plus the booking
//! questions in `responses` through [`FormAnswers`]. A response is `{label, value}` (or, in
//! older payloads, the bare value); a value may be a string, a number, a list or an object, and
//! `responses.name.value` may be a string or `{firstName, lastName}`. `location` and `guests`
//! are not about the buyer and are skipped. The host is `organizer.email`, `meeting_id` the
//! booking `uid`, `starts_at` the `startTime`, `title` the `title` (else `eventTitle`).
//! `notes`: the cancellation ("Cancelled by invitee: <reason>") or reschedule reason first,
//! then `additionalNotes` / `responses.notes.value` (once, when they say the same thing), then
//! the other answers as "<label>: <value>" lines.
//!
//! **No-show mapping:** `BOOKING_NO_SHOW_UPDATED` has its own shape,
//! `{triggerEvent, createdAt, payload: {message, bookingUid, bookingId, attendees: [{email,
//! noShow}]}}`. It carries no meeting time, title or host: `starts_at` is the envelope's
//! `createdAt` (when the no-show was recorded), `meeting_id` the `bookingUid`. Attendees with
//! `noShow: false` (an un-marking) create nothing.
//!
//! **Dedup key** (`provider_event_id`): `<uid>#<triggerEvent>`; for a reschedule
//! `<uid>#BOOKING_RESCHEDULED#<rescheduleUid, else startTime>` so a second reschedule is a
//! distinct event; for a no-show `<bookingUid>#BOOKING_NO_SHOW_UPDATED#<attendee email>`.

use crate::fields::FormAnswers;
use crate::json::{text, timestamp};
use crate::provider::{any_secret, AuthError, ParseError, Parsed, Provider, Secrets, Verified};
use crate::request::RawRequest;
use crate::signature::{decode_hex, hmac_sha256, verify_hmac_sha256};
use chrono::{DateTime, Utc};
use handoff_domain::event::{Channel, EventKind, FormLead, IntakeEvent, MeetingEvent};
use handoff_domain::ids::{EmailAddress, ProviderEventId};
use serde_json::Value;

/// The signature header (lower case, as stored in [`RawRequest`]).
pub const HEADER: &str = "x-cal-signature-256";
/// The header's name as cal.com writes it (errors name it so).
const HEADER_NAME: &str = "X-Cal-Signature-256";
/// What cal.com sends in the header when the webhook has no secret.
pub const NO_SECRET: &str = "no-secret-provided";
/// The refusal for [`NO_SECRET`]: the request is unsigned, as if the header were missing.
const NO_SECRET_REFUSAL: &str = "X-Cal-Signature-256 (cal.com sent `no-secret-provided`: the \
     webhook has no secret set, so the request is unsigned)";

/// Cal.com booking webhooks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Calcom;

/// The triggers that create something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    Created,
    Rescheduled,
    Cancelled,
    NoShow,
}

impl Provider for Calcom {
    fn name(&self) -> &'static str {
        "calcom"
    }
    fn path(&self) -> &'static str {
        "/meetings/calcom"
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["application/json"]
    }

    fn verify(
        &self,
        request: &RawRequest,
        secrets: &Secrets,
        _now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        let header = request
            .header(HEADER)
            .ok_or(AuthError::MissingHeader(HEADER_NAME))?
            .trim();
        if header.eq_ignore_ascii_case(NO_SECRET) {
            return Err(AuthError::MissingHeader(NO_SECRET_REFUSAL));
        }
        let sig = decode_hex(header).ok_or_else(|| AuthError::Malformed {
            what: "X-Cal-Signature-256 header",
            detail: "expected the hex HMAC-SHA256 of the body".into(),
        })?;
        if any_secret(secrets, |s| verify_hmac_sha256(s, &[&request.body], &sig)) {
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
        let trigger = text(&root, "triggerEvent")
            .ok_or_else(|| ParseError::new("triggerEvent", "missing: the webhook trigger"))?;
        let handled = match trigger {
            "BOOKING_CREATED" => Handled::Created,
            "BOOKING_RESCHEDULED" => Handled::Rescheduled,
            "BOOKING_CANCELLED" => Handled::Cancelled,
            "BOOKING_NO_SHOW_UPDATED" => Handled::NoShow,
            // Acknowledged, nothing to create (see the module docs).
            _ => return Ok(Parsed::default()),
        };
        let payload = crate::json::object(&root, "payload", "an object")?;
        let source = crate::json::source(self.name())?;
        let event = |provider_event_id, kind| IntakeEvent {
            source: source.clone(),
            channel: Channel::Meeting,
            provider_event_id,
            received_at,
            kind,
        };

        if handled == Handled::NoShow {
            let mut events = Vec::new();
            for (provider_event_id, meeting) in no_shows(&root, payload)? {
                events.push(event(provider_event_id, EventKind::MeetingNoShow(meeting)));
            }
            return Ok(Parsed::events(events));
        }

        let (provider_event_id, meeting) = booking(trigger, handled, payload)?;
        let kind = match handled {
            Handled::Cancelled => EventKind::MeetingCancelled(meeting),
            _ => EventKind::MeetingBooked(meeting),
        };
        Ok(Parsed::events(vec![event(provider_event_id, kind)]))
    }

    fn sign(&self, request: &mut RawRequest, secret: &str, _now: DateTime<Utc>) {
        let mac = hmac_sha256(secret.as_bytes(), &[&request.body]);
        request.set_header(HEADER, hex::encode(mac));
    }
}

/// A created, rescheduled or cancelled booking.
fn booking(
    trigger: &str,
    handled: Handled,
    payload: &Value,
) -> Result<(ProviderEventId, MeetingEvent), ParseError> {
    let lead = answers(payload).form_lead("payload.attendees[0].email")?;
    let uid = text(payload, "uid").ok_or_else(|| ParseError::new("payload.uid", "missing"))?;
    let start_raw = text(payload, "startTime")
        .ok_or_else(|| ParseError::new("payload.startTime", "missing"))?;
    let starts_at = timestamp(start_raw, "payload.startTime")?;
    let title = text(payload, "title")
        .or_else(|| text(payload, "eventTitle"))
        .unwrap_or_default()
        .to_string();
    let host_email = payload
        .get("organizer")
        .and_then(|o| text(o, "email"))
        .and_then(|e| EmailAddress::parse(e).ok());

    let event_id = match handled {
        Handled::Rescheduled => {
            let earlier = text(payload, "rescheduleUid").unwrap_or(start_raw);
            format!("{uid}#{trigger}#{earlier}")
        }
        _ => format!("{uid}#{trigger}"),
    };
    let provider_event_id = ProviderEventId::parse(event_id)
        .map_err(|e| ParseError::new("payload.uid", e.to_string()))?;

    let first = match handled {
        Handled::Cancelled => cancellation_line(payload, &lead),
        Handled::Rescheduled => response(payload, "rescheduleReason")
            .or_else(|| text(payload, "rescheduleReason").map(str::to_string))
            .map(|reason| format!("Rescheduled: {reason}")),
        _ => None,
    };
    let meeting = MeetingEvent {
        buyer: lead.buyer.clone(),
        meeting_id: uid.to_string(),
        starts_at,
        title,
        host_email,
        notes: notes(first, text(payload, "additionalNotes"), &lead),
        rescheduled: handled == Handled::Rescheduled,
        replaces: match handled {
            Handled::Rescheduled => text(payload, "rescheduleUid")
                .filter(|old| *old != uid)
                .map(str::to_string),
            _ => None,
        },
    };
    Ok((provider_event_id, meeting))
}

/// One no-show per attendee marked `noShow: true`.
fn no_shows(
    root: &Value,
    payload: &Value,
) -> Result<Vec<(ProviderEventId, MeetingEvent)>, ParseError> {
    let booking_uid = text(payload, "bookingUid")
        .ok_or_else(|| ParseError::new("payload.bookingUid", "missing"))?;
    let attendees = payload
        .get("attendees")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new("payload.attendees", "missing: expected a list"))?;
    let mut out = Vec::new();
    for (i, attendee) in attendees.iter().enumerate() {
        if attendee.get("noShow").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        // Only now is the time needed: an un-marking without createdAt is still fine.
        let raw = text(root, "createdAt").ok_or_else(|| {
            ParseError::new("createdAt", "missing: it stands in for the meeting time")
        })?;
        let starts_at = timestamp(raw, "createdAt")?;
        let field = format!("payload.attendees[{i}].email");
        let mut a = FormAnswers::new();
        if let Some(email) = text(attendee, "email") {
            a.add("email", "", email);
        }
        if let Some(name) = text(attendee, "name") {
            a.add("name", "", name);
        }
        let buyer = a.buyer(&field)?;
        let event_id = format!(
            "{booking_uid}#BOOKING_NO_SHOW_UPDATED#{}",
            buyer.email.as_str()
        );
        let provider_event_id = ProviderEventId::parse(event_id)
            .map_err(|e| ParseError::new("payload.bookingUid", e.to_string()))?;
        out.push((
            provider_event_id,
            MeetingEvent {
                buyer,
                meeting_id: booking_uid.to_string(),
                starts_at,
                title: String::new(),
                host_email: None,
                notes: String::new(),
                rescheduled: false,
                replaces: None,
            },
        ));
    }
    Ok(out)
}

/// A value's text: strings as they are, numbers and booleans written out, lists joined, an
/// object through its `value` (a location's `{value, optionValue}`).
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Yes" } else { "No" }.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(value_text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Object(o) => o.get("value").and_then(value_text),
        Value::Null => None,
    }
}

/// The `(label, value)` of a response: `{label, value}`, or a bare value in older payloads.
fn split_response(entry: &Value) -> (&str, Option<&Value>) {
    match entry {
        Value::Object(o) if o.contains_key("value") || o.contains_key("label") => (
            o.get("label").and_then(Value::as_str).unwrap_or_default(),
            o.get("value"),
        ),
        other => ("", Some(other)),
    }
}

/// The text of `responses.<key>`.
fn response(payload: &Value, key: &str) -> Option<String> {
    let entry = payload.get("responses")?.get(key)?;
    split_response(entry).1.and_then(value_text)
}

/// Responses that are not about the buyer, or that the notes carry on their own.
const SKIPPED_RESPONSES: &[&str] = &["location", "guests", "rescheduleReason"];

/// The attendee's identity and the booking answers.
fn answers(payload: &Value) -> FormAnswers {
    let mut a = FormAnswers::new();
    if let Some(attendee) = payload
        .get("attendees")
        .and_then(Value::as_array)
        .and_then(|list| list.first())
    {
        if let Some(email) = text(attendee, "email") {
            a.add("email", "", email);
        }
        if let Some(name) = text(attendee, "name") {
            a.add("name", "", name);
        }
        if let Some(phone) = text(attendee, "phoneNumber") {
            a.add("phone", "", phone);
        }
    }
    if let Some(responses) = payload.get("responses").and_then(Value::as_object) {
        for (key, entry) in responses {
            if SKIPPED_RESPONSES.contains(&key.as_str()) {
                continue;
            }
            let (label, value) = split_response(entry);
            let Some(value) = value else { continue };
            if key == "name" {
                if let Value::Object(parts) = value {
                    if let Some(first) = text(value, "firstName") {
                        a.add("first_name", "", first);
                    }
                    if let Some(last) = text(value, "lastName") {
                        a.add("last_name", "", last);
                    }
                    if parts.contains_key("firstName") || parts.contains_key("lastName") {
                        continue;
                    }
                }
            }
            if let Some(v) = value_text(value) {
                a.add(key, label, &v);
            }
        }
    }
    a
}

/// "Cancelled by invitee: <reason>": who from `cancelledBy` (the attendee → invitee, the
/// organizer → host, else as given), why from `cancellationReason`.
fn cancellation_line(payload: &Value, lead: &FormLead) -> Option<String> {
    let reason = text(payload, "cancellationReason");
    let by = text(payload, "cancelledBy").map(|by| {
        let organizer = payload.get("organizer").and_then(|o| text(o, "email"));
        if by.eq_ignore_ascii_case(lead.buyer.email.as_str()) {
            "invitee"
        } else if organizer.is_some_and(|o| o.eq_ignore_ascii_case(by)) {
            "host"
        } else {
            by
        }
    });
    match (by, reason) {
        (Some(by), Some(reason)) => Some(format!("Cancelled by {by}: {reason}")),
        (Some(by), None) => Some(format!("Cancelled by {by}")),
        (None, Some(reason)) => Some(format!("Cancelled: {reason}")),
        (None, None) => None,
    }
}

/// The meeting notes: the cancellation/reschedule line, the buyer's notes, the other answers.
fn notes(first: Option<String>, additional: Option<&str>, lead: &FormLead) -> String {
    let mut message = lead.message.clone();
    if let Some(extra) = additional.filter(|x| !message.contains(x)) {
        message = [extra, message.as_str()]
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    let others = lead
        .fields
        .iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    [first.unwrap_or_default(), message, others]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const CREATED: &str =
        include_str!("../../../../tests/fixtures/providers/calcom_booking_created.json");

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn request(body: &str) -> RawRequest {
        RawRequest::post(
            "https://hooks.example.com/meetings/calcom",
            &[("Content-Type", "application/json")],
            body.as_bytes().to_vec(),
        )
    }

    fn signed(body: &str, secret: &str) -> RawRequest {
        let mut r = request(body);
        Calcom.sign(&mut r, secret, now());
        r
    }

    fn secrets(list: &str) -> Secrets {
        Secrets::parse(list).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn meeting(e: &IntakeEvent) -> &MeetingEvent {
        match &e.kind {
            EventKind::MeetingBooked(m)
            | EventKind::MeetingCancelled(m)
            | EventKind::MeetingNoShow(m) => m,
            other => panic!("not a meeting: {other:?}"),
        }
    }

    fn only(parsed: Parsed) -> IntakeEvent {
        assert!(parsed.lookups.is_empty());
        assert_eq!(parsed.events.len(), 1, "{parsed:?}");
        parsed.events.into_iter().next().unwrap()
    }

    /// The fixture with `edit` applied to its JSON.
    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(CREATED).unwrap();
        edit(&mut v);
        serde_json::to_string(&v).unwrap()
    }

    /// A reschedule in the documented shape (the new booking, pointing at the old one).
    fn rescheduled(new_uid: &str, old_uid: Option<&str>, start: &str) -> String {
        edited(|v| {
            v["triggerEvent"] = "BOOKING_RESCHEDULED".into();
            let p = &mut v["payload"];
            p["uid"] = new_uid.into();
            p["startTime"] = start.into();
            p["endTime"] = "2023-05-26T11:30:00Z".into();
            if let Some(old) = old_uid {
                p["rescheduleUid"] = old.into();
                p["rescheduleStartTime"] = "2023-05-25T09:30:00Z".into();
            }
            p["responses"]["rescheduleReason"] =
                json!({"label": "reschedule_reason", "value": "Travel came up"});
        })
    }

    #[test]
    fn identity() {
        assert_eq!(Calcom.name(), "calcom");
        assert_eq!(Calcom.path(), "/meetings/calcom");
        assert_eq!(Calcom.media_types(), ["application/json"]);
    }

    #[test]
    fn documented_vector_verifies() {
        assert_eq!(CREATED.len(), 2755);
        let sig = "f814a3877c5027326abde41f09e816db1a53eab37b63466cac3175a1911c3e11";
        let r = RawRequest::post(
            "https://hooks.example.com/meetings/calcom",
            &[
                ("Content-Type", "application/json"),
                ("X-Cal-Signature-256", sig),
                ("X-Cal-Webhook-Version", "2021-10-20"),
            ],
            CREATED.as_bytes().to_vec(),
        );
        assert_eq!(
            Calcom.verify(&r, &secrets("test-secret"), now()),
            Ok(Verified::default())
        );
        assert_eq!(signed(CREATED, "test-secret").header(HEADER), Some(sig));
    }

    #[test]
    fn sign_then_verify_round_trips_without_a_clock() {
        let r = signed(CREATED, "k");
        assert!(Calcom.verify(&r, &secrets("k"), now()).is_ok());
        // No timestamp is signed: any time verifies.
        let later = now() + chrono::Duration::days(30);
        assert!(Calcom.verify(&r, &secrets("k"), later).is_ok());
        // Upper-case hex is the same MAC.
        let mut upper = r.clone();
        let value = upper.header(HEADER).unwrap().to_ascii_uppercase();
        upper.set_header(HEADER, value);
        assert!(Calcom.verify(&upper, &secrets("k"), now()).is_ok());
    }

    #[test]
    fn refusals_name_the_problem() {
        let s = secrets("test-secret");
        let mut tampered = signed(CREATED, "test-secret");
        tampered.body.push(b' ');
        assert_eq!(
            Calcom.verify(&tampered, &s, now()),
            Err(AuthError::BadSignature("X-Cal-Signature-256"))
        );
        let wrong = signed(CREATED, "other-secret");
        assert_eq!(
            Calcom.verify(&wrong, &s, now()),
            Err(AuthError::BadSignature("X-Cal-Signature-256"))
        );
        assert_eq!(
            Calcom.verify(&request(CREATED), &s, now()),
            Err(AuthError::MissingHeader("X-Cal-Signature-256"))
        );
        let mut not_hex = request(CREATED);
        not_hex.set_header(HEADER, "sha256=zz");
        assert!(matches!(
            Calcom.verify(&not_hex, &s, now()),
            Err(AuthError::Malformed { .. })
        ));
        let mut short = request(CREATED);
        short.set_header(HEADER, "00");
        assert_eq!(
            Calcom.verify(&short, &s, now()),
            Err(AuthError::BadSignature("X-Cal-Signature-256"))
        );
    }

    #[test]
    fn no_secret_provided_is_a_missing_signature() {
        let mut r = request(CREATED);
        r.set_header(HEADER, "no-secret-provided");
        let e = Calcom
            .verify(&r, &secrets("test-secret"), now())
            .unwrap_err();
        assert!(matches!(e, AuthError::MissingHeader(_)), "{e:?}");
        let message = e.to_string();
        assert!(message.contains("no-secret-provided"), "{message}");
        assert!(message.contains("missing"), "{message}");
        // Even a secret that happens to be that literal is never compared against it.
        let e = Calcom
            .verify(&r, &secrets("no-secret-provided"), now())
            .unwrap_err();
        assert!(matches!(e, AuthError::MissingHeader(_)));
    }

    #[test]
    fn rotation_accepts_old_and_new() {
        let s = secrets("new-secret,old-secret");
        assert!(Calcom
            .verify(&signed(CREATED, "old-secret"), &s, now())
            .is_ok());
        assert!(Calcom
            .verify(&signed(CREATED, "new-secret"), &s, now())
            .is_ok());
        assert!(Calcom
            .verify(&signed(CREATED, "retired"), &s, now())
            .is_err());
    }

    #[test]
    fn booking_created_is_a_booking() {
        let e = only(Calcom.parse(&request(CREATED), now()).unwrap());
        assert_eq!(e.source.as_str(), "calcom");
        assert_eq!(e.channel, Channel::Meeting);
        assert_eq!(e.received_at, now());
        assert_eq!(
            e.provider_event_id.as_str(),
            "bFJeNb2uX8ANpT3JL5EfXw#BOOKING_CREATED"
        );
        assert!(matches!(e.kind, EventKind::MeetingBooked(_)));
        let m = meeting(&e);
        assert_eq!(m.buyer.email.as_str(), "john.doe@example.com");
        assert_eq!(m.buyer.name.as_deref(), Some("John Doe"));
        assert_eq!(m.meeting_id, "bFJeNb2uX8ANpT3JL5EfXw");
        assert_eq!(m.starts_at, at("2023-05-25T09:30:00Z"));
        assert_eq!(m.title, "60min between Pro Example and John Doe");
        assert_eq!(m.host_email.as_ref().unwrap().as_str(), "pro@example.com");
        assert_eq!(m.notes, "");
        assert!(!m.rescheduled);
    }

    #[test]
    fn responses_fill_the_buyer_and_the_notes() {
        let body = edited(|v| {
            let p = &mut v["payload"];
            p["attendees"][0]["name"] = Value::Null;
            p["additionalNotes"] = "We need routing for 40 reps.".into();
            p["responses"]["name"] =
                json!({"label": "your_name", "value": {"firstName": "Dana", "lastName": "Ruiz"}});
            p["responses"]["notes"] =
                json!({"label": "additional_notes", "value": "We need routing for 40 reps."});
            p["responses"]["company"] = json!({"label": "Company", "value": "Acme Corp"});
            p["responses"]["attendeePhoneNumber"] =
                json!({"label": "phone_number", "value": "+1 415 555 0100"});
            p["responses"]["crm"] = json!({"label": "Which CRM?", "value": ["HubSpot", "Sheets"]});
            p["responses"]["guests"] =
                json!({"label": "additional_guests", "value": ["cfo@acme.com"]});
        });
        let e = only(Calcom.parse(&request(&body), now()).unwrap());
        let m = meeting(&e);
        assert_eq!(m.buyer.email.as_str(), "john.doe@example.com");
        assert_eq!(m.buyer.name.as_deref(), Some("Dana Ruiz"));
        assert_eq!(m.buyer.company.as_deref(), Some("Acme Corp"));
        assert_eq!(m.buyer.phone.as_deref(), Some("+1 415 555 0100"));
        assert_eq!(
            m.notes,
            "We need routing for 40 reps.\n\nWhich CRM?: HubSpot, Sheets"
        );
    }

    #[test]
    fn bare_response_values_are_read_too() {
        let body = edited(|v| {
            let p = &mut v["payload"];
            p["attendees"] = json!([{"email": "sam@globex.com"}]);
            p["responses"] =
                json!({"name": "Sam Lee", "email": "sam@globex.com", "notes": "Pricing?"});
        });
        let m = meeting(&only(Calcom.parse(&request(&body), now()).unwrap())).clone();
        assert_eq!(m.buyer.email.as_str(), "sam@globex.com");
        assert_eq!(m.buyer.name.as_deref(), Some("Sam Lee"));
        assert_eq!(m.notes, "Pricing?");
    }

    #[test]
    fn a_reschedule_is_a_flagged_booking_with_its_own_id() {
        let first = rescheduled(
            "newUid1",
            Some("bFJeNb2uX8ANpT3JL5EfXw"),
            "2023-05-26T10:30:00Z",
        );
        let e = only(Calcom.parse(&request(&first), now()).unwrap());
        assert_eq!(
            e.provider_event_id.as_str(),
            "newUid1#BOOKING_RESCHEDULED#bFJeNb2uX8ANpT3JL5EfXw"
        );
        assert!(matches!(e.kind, EventKind::MeetingBooked(_)));
        let m = meeting(&e);
        assert!(m.rescheduled);
        assert_eq!(m.meeting_id, "newUid1");
        assert_eq!(m.starts_at, at("2023-05-26T10:30:00Z"));
        assert_eq!(m.buyer.email.as_str(), "john.doe@example.com");
        assert_eq!(m.notes, "Rescheduled: Travel came up");

        // Without rescheduleUid the start time tells two reschedules apart.
        let a = rescheduled("sameUid", None, "2023-05-26T10:30:00Z");
        let b = rescheduled("sameUid", None, "2023-05-27T10:30:00Z");
        let ia = only(Calcom.parse(&request(&a), now()).unwrap()).provider_event_id;
        let ib = only(Calcom.parse(&request(&b), now()).unwrap()).provider_event_id;
        assert_eq!(
            ia.as_str(),
            "sameUid#BOOKING_RESCHEDULED#2023-05-26T10:30:00Z"
        );
        assert_ne!(ia, ib);
    }

    #[test]
    fn a_cancellation_carries_the_reason() {
        let body = edited(|v| {
            v["triggerEvent"] = "BOOKING_CANCELLED".into();
            v["payload"]["cancellationReason"] = "Budget frozen".into();
            v["payload"]["cancelledBy"] = "john.doe@example.com".into();
            v["payload"]["status"] = "CANCELLED".into();
        });
        let e = only(Calcom.parse(&request(&body), now()).unwrap());
        assert_eq!(
            e.provider_event_id.as_str(),
            "bFJeNb2uX8ANpT3JL5EfXw#BOOKING_CANCELLED"
        );
        assert!(matches!(e.kind, EventKind::MeetingCancelled(_)));
        let m = meeting(&e);
        assert_eq!(m.meeting_id, "bFJeNb2uX8ANpT3JL5EfXw");
        assert_eq!(m.notes, "Cancelled by invitee: Budget frozen");
        assert!(!m.rescheduled);

        let by_host = edited(|v| {
            v["triggerEvent"] = "BOOKING_CANCELLED".into();
            v["payload"]["cancellationReason"] = "Sick".into();
            v["payload"]["cancelledBy"] = "pro@example.com".into();
        });
        let e = only(Calcom.parse(&request(&by_host), now()).unwrap());
        assert_eq!(meeting(&e).notes, "Cancelled by host: Sick");

        let bare = edited(|v| {
            v["triggerEvent"] = "BOOKING_CANCELLED".into();
            v["payload"]["cancellationReason"] = "No longer needed".into();
        });
        let e = only(Calcom.parse(&request(&bare), now()).unwrap());
        assert_eq!(meeting(&e).notes, "Cancelled: No longer needed");
    }

    #[test]
    fn no_show_updated_is_one_no_show_per_marked_attendee() {
        let body = json!({
            "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
            "createdAt": "2023-05-25T10:05:00.000Z",
            "payload": {
                "message": "john.doe@example.com marked as no-show",
                "bookingUid": "bFJeNb2uX8ANpT3JL5EfXw",
                "bookingId": 91,
                "attendees": [
                    {"email": "john.doe@example.com", "noShow": true},
                    {"email": "cfo@example.com", "noShow": false},
                    {"email": "Jane@Example.com", "noShow": true}
                ]
            }
        })
        .to_string();
        let parsed = Calcom.parse(&request(&body), now()).unwrap();
        assert_eq!(parsed.events.len(), 2);
        let ids: Vec<&str> = parsed
            .events
            .iter()
            .map(|e| e.provider_event_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "bFJeNb2uX8ANpT3JL5EfXw#BOOKING_NO_SHOW_UPDATED#john.doe@example.com",
                "bFJeNb2uX8ANpT3JL5EfXw#BOOKING_NO_SHOW_UPDATED#jane@example.com",
            ]
        );
        for e in &parsed.events {
            assert!(matches!(e.kind, EventKind::MeetingNoShow(_)));
            assert_eq!(e.channel, Channel::Meeting);
            let m = meeting(e);
            assert_eq!(m.meeting_id, "bFJeNb2uX8ANpT3JL5EfXw");
            assert_eq!(m.starts_at, at("2023-05-25T10:05:00Z"));
            assert!(!m.rescheduled);
        }
        assert_eq!(
            meeting(&parsed.events[1]).buyer.email.as_str(),
            "jane@example.com"
        );

        let unmarked = json!({
            "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
            "payload": {"bookingUid": "u", "attendees": [{"email": "a@b.co", "noShow": false}]}
        })
        .to_string();
        assert_eq!(
            Calcom.parse(&request(&unmarked), now()).unwrap(),
            Parsed::default()
        );

        let no_time = json!({
            "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
            "payload": {"bookingUid": "u", "attendees": [{"email": "a@b.co", "noShow": true}]}
        })
        .to_string();
        assert_eq!(
            Calcom.parse(&request(&no_time), now()).unwrap_err().field,
            "createdAt"
        );

        let bad_email = json!({
            "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
            "createdAt": "2023-05-25T10:05:00Z",
            "payload": {"bookingUid": "u", "attendees": [{"email": "nope", "noShow": true}]}
        })
        .to_string();
        assert_eq!(
            Calcom.parse(&request(&bad_email), now()).unwrap_err().field,
            "payload.attendees[0].email"
        );
    }

    #[test]
    fn missing_pieces_name_the_field() {
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 6] = [
            ("payload.uid", |v| v["payload"]["uid"] = Value::Null),
            ("payload.startTime", |v| {
                v["payload"]["startTime"] = Value::Null
            }),
            ("payload.startTime", |v| {
                v["payload"]["startTime"] = "soon".into()
            }),
            ("payload.attendees[0].email", |v| {
                v["payload"]["attendees"] = json!([]);
                v["payload"]["responses"] = json!({});
            }),
            ("payload", |v| v["payload"] = Value::Null),
            ("triggerEvent", |v| v["triggerEvent"] = Value::Null),
        ];
        for (field, edit) in cases {
            let body = edited(edit);
            assert_eq!(
                Calcom.parse(&request(&body), now()).unwrap_err().field,
                field
            );
        }
        let e = Calcom.parse(&request("nope"), now()).unwrap_err();
        assert!(e.field.starts_with("body"), "{e}");
        assert_eq!(
            Calcom.parse(&request("\"s\""), now()).unwrap_err().field,
            "body"
        );
    }

    #[test]
    fn other_triggers_create_nothing() {
        for trigger in [
            "BOOKING_REQUESTED",
            "MEETING_ENDED",
            "FORM_SUBMITTED",
            "PING",
        ] {
            let body = edited(|v| v["triggerEvent"] = trigger.into());
            assert_eq!(
                Calcom.parse(&request(&body), now()).unwrap(),
                Parsed::default(),
                "{trigger}"
            );
        }
    }

    /// Every JSON pointer a field of the documented shapes lives at.
    const POINTERS: &[&str] = &[
        "/triggerEvent",
        "/createdAt",
        "/payload",
        "/payload/uid",
        "/payload/title",
        "/payload/startTime",
        "/payload/organizer",
        "/payload/organizer/email",
        "/payload/attendees",
        "/payload/attendees/0",
        "/payload/attendees/0/email",
        "/payload/attendees/0/noShow",
        "/payload/responses",
        "/payload/responses/name",
        "/payload/responses/name/value",
        "/payload/responses/email/value",
        "/payload/responses/notes",
        "/payload/additionalNotes",
        "/payload/rescheduleUid",
        "/payload/cancellationReason",
        "/payload/cancelledBy",
        "/payload/bookingUid",
    ];

    proptest! {
        #[test]
        fn verify_and_parse_never_panic(
            body in prop::collection::vec(any::<u8>(), 0..512),
            header in ".{0,200}",
        ) {
            let s = secrets("test-secret");
            let mut r = request("");
            r.body = body;
            let _ = Calcom.verify(&r, &s, now());
            let _ = Calcom.parse(&r, now());
            r.set_header(HEADER, header);
            let _ = Calcom.verify(&r, &s, now());
        }

        #[test]
        fn mangled_payloads_never_panic(
            trigger in prop::sample::select(vec![
                "BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED",
                "BOOKING_NO_SHOW_UPDATED",
            ]),
            edits in prop::collection::vec((prop::sample::select(POINTERS), crate::testing::any_json(&["2023-05-25T09:30:00Z", "x@example.com", "BOOKING_NO_SHOW_UPDATED"])), 1..4),
        ) {
            let mut v: Value = serde_json::from_str(CREATED).unwrap();
            v["triggerEvent"] = trigger.into();
            v["payload"]["bookingUid"] = "u".into();
            for (pointer, value) in edits {
                if let Some(slot) = v.pointer_mut(pointer) {
                    *slot = value;
                }
            }
            let body = serde_json::to_string(&v).unwrap();
            let _ = Calcom.parse(&request(&body), now());
        }
    }
}
