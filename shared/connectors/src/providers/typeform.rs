//! Typeform webhooks (`POST /forms/typeform`): a completed form response becomes a
//! [`FormLead`](handoff_domain::event::FormLead).
//!
//! **Auth:** `Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>`. There is no
//! timestamp, so there is no replay window: intake dedups on the provider event id
//! (`event_id`, else `form_response.token`). The secret is `HANDOFF_SECRET_TYPEFORM`.
//!
//! **Payload:** `{event_id, event_type, form_response{form_id, token, submitted_at, hidden{},
//! calculated{score}, definition{id, title, fields[]}, answers[]}}`. Only `form_response`
//! (a complete submission) creates a lead; `form_response_partial` and anything else parse to
//! an empty [`Parsed`]. Answers are typed (`text`, `email`, `phone_number`, `choice{label}`,
//! `choices{labels}`, `boolean`, `number`, `date`, `url`, `file_url`, `payment`) and matched to
//! their question by `field.ref` and the question's title in `definition.fields[]` (through
//! [`FormAnswers`]). Hidden fields go in as answers too (`utm_*`, a hidden `email`/`company`);
//! `calculated.score` is kept as field `score` and the form's title/id as field `form`.

use crate::fields::{kind_of, FieldKind, FormAnswers};
use crate::provider::{any_secret, AuthError, ParseError, Parsed, Provider, Secrets, Verified};
use crate::request::RawRequest;
use crate::signature::{decode_base64, encode_base64, hmac_sha256, verify_hmac_sha256};
use chrono::{DateTime, Utc};
use handoff_domain::event::{Channel, EventKind, IntakeEvent};
use handoff_domain::ids::ProviderEventId;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The signature header (lower case, as the HTTP layer stores it).
pub const HEADER: &str = "typeform-signature";
/// The prefix of the header value.
const PREFIX: &str = "sha256=";

/// Typeform form responses.
#[derive(Debug, Default, Clone, Copy)]
pub struct Typeform;

impl Provider for Typeform {
    fn name(&self) -> &'static str {
        "typeform"
    }
    fn path(&self) -> &'static str {
        "/forms/typeform"
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
            .ok_or(AuthError::MissingHeader("Typeform-Signature"))?;
        let encoded = header
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| AuthError::Malformed {
                what: "Typeform-Signature header",
                detail: "expected sha256=<base64>".into(),
            })?;
        let mac = decode_base64(encoded).ok_or_else(|| AuthError::Malformed {
            what: "Typeform-Signature header",
            detail: "the value after sha256= is not base64".into(),
        })?;
        if any_secret(secrets, |s| verify_hmac_sha256(s, &[&request.body], &mac)) {
            Ok(Verified::default())
        } else {
            Err(AuthError::BadSignature("Typeform-Signature"))
        }
    }

    fn parse(
        &self,
        request: &RawRequest,
        received_at: DateTime<Utc>,
    ) -> Result<Parsed, ParseError> {
        let root: Value = crate::json::body(&request.body, "not valid JSON")?;
        let root = root
            .as_object()
            .ok_or_else(|| ParseError::new("body", "expected a JSON object"))?;
        match root.get("event_type").and_then(Value::as_str) {
            Some("form_response") => {}
            Some(_) => return Ok(Parsed::default()),
            None => return Err(ParseError::new("event_type", "missing")),
        }
        let response = root
            .get("form_response")
            .and_then(Value::as_object)
            .ok_or_else(|| ParseError::new("form_response", "missing or not an object"))?;
        let event_id = root
            .get("event_id")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .or_else(|| response.get("token").and_then(Value::as_str))
            .ok_or_else(|| {
                ParseError::new("event_id", "missing (and no form_response.token either)")
            })?;
        let provider_event_id = ProviderEventId::parse(event_id)
            .map_err(|e| ParseError::new("event_id", e.to_string()))?;

        let (answers, email_field) = collect_answers(response);
        let lead = answers.form_lead(&email_field)?;
        let source = crate::json::source(self.name())?;
        Ok(Parsed::events(vec![IntakeEvent {
            source,
            channel: Channel::WebForm,
            provider_event_id,
            received_at,
            kind: EventKind::FormLead(lead),
        }]))
    }

    fn sign(&self, request: &mut RawRequest, secret: &str, _now: DateTime<Utc>) {
        let mac = hmac_sha256(secret.as_bytes(), &[&request.body]);
        request.set_header(HEADER, format!("{PREFIX}{}", encode_base64(&mac)));
    }
}

/// The question a `definition.fields[]` entry describes.
struct Question<'a> {
    reference: &'a str,
    title: &'a str,
}

/// Every answer, hidden field and extra of a `form_response`, plus the path to name when the
/// email is missing or invalid.
fn collect_answers(response: &Map<String, Value>) -> (FormAnswers, String) {
    let definition = response.get("definition");
    let questions: HashMap<&str, Question<'_>> = definition
        .and_then(|d| d.get("fields"))
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| {
                    let id = f.get("id")?.as_str()?;
                    Some((
                        id,
                        Question {
                            reference: str_of(f, "ref"),
                            title: str_of(f, "title"),
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default();

    let mut answers = FormAnswers::new();
    let mut email_field = None;
    let list = response
        .get("answers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, answer) in list.iter().enumerate() {
        let Some(kind) = answer.get("type").and_then(Value::as_str) else {
            continue;
        };
        let Some(value) = answer_text(kind, answer.get(kind)).filter(|v| !v.trim().is_empty())
        else {
            continue;
        };
        let field = answer.get("field");
        let id = field.map(|f| str_of(f, "id")).unwrap_or("");
        let question = questions.get(id);
        let reference = field
            .map(|f| str_of(f, "ref"))
            .filter(|r| !r.is_empty())
            .or(question.map(|q| q.reference))
            .unwrap_or("");
        let title = question.map(|q| q.title).unwrap_or("");
        // An email-typed answer is an email whatever its question says.
        let (key, label) = if kind == "email" {
            ("email", title)
        } else {
            (reference, if title.is_empty() { id } else { title })
        };
        if email_field.is_none() && kind_of(key, label) == FieldKind::Email {
            email_field = Some(format!("form_response.answers[{i}].{kind}"));
        }
        answers.add(key, label, &value);
    }

    if let Some(hidden) = response.get("hidden").and_then(Value::as_object) {
        for (name, value) in hidden {
            if let Some(text) = scalar_text(value).filter(|v| !v.trim().is_empty()) {
                if email_field.is_none() && kind_of(name, name) == FieldKind::Email {
                    email_field = Some(format!("form_response.hidden.{name}"));
                }
                answers.add(name, name, &text);
            }
        }
    }
    if let Some(score) = response
        .get("calculated")
        .and_then(|c| c.get("score"))
        .and_then(scalar_text)
    {
        answers.note("score", &score);
    }
    let form_id = response
        .get("form_id")
        .and_then(Value::as_str)
        .or_else(|| definition.and_then(|d| d.get("id")).and_then(Value::as_str))
        .unwrap_or("");
    let title = definition.map(|d| str_of(d, "title")).unwrap_or("").trim();
    let form = match (title.is_empty(), form_id.trim().is_empty()) {
        (false, false) => format!("{title} ({form_id})"),
        (false, true) => title.to_string(),
        _ => form_id.to_string(),
    };
    answers.note("form", &form);
    (
        answers,
        email_field.unwrap_or_else(|| "form_response.answers".to_string()),
    )
}

/// The text of an answer's value (`value` is the member named after the answer's type).
fn answer_text(kind: &str, value: Option<&Value>) -> Option<String> {
    let value = value?;
    match kind {
        "choice" => value
            .get("label")
            .or_else(|| value.get("other"))
            .and_then(scalar_text),
        "choices" => {
            let mut labels: Vec<String> = value
                .get("labels")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(scalar_text).collect())
                .unwrap_or_default();
            if let Some(other) = value.get("other").and_then(scalar_text) {
                labels.push(other);
            }
            (!labels.is_empty()).then(|| labels.join(", "))
        }
        "payment" => {
            let amount = value.get("amount").and_then(scalar_text)?;
            let paid = match value.get("success").and_then(Value::as_bool) {
                Some(true) => "paid",
                Some(false) => "failed",
                None => "payment",
            };
            Some(match value.get("name").and_then(scalar_text) {
                Some(name) => format!("{amount} ({paid}, {name})"),
                None => format!("{amount} ({paid})"),
            })
        }
        _ => scalar_text(value),
    }
}

/// A string, number or boolean as text; `None` for anything else.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
        _ => None,
    }
}

/// A string member of `v`, or "" when absent.
fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIXTURE: &[u8] =
        include_bytes!("../../../../tests/fixtures/providers/typeform_form_response.json");
    const URL: &str = "https://abc123.lambda-url.us-east-1.on.aws/forms/typeform";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn request(body: &[u8]) -> RawRequest {
        RawRequest::post(URL, &[("content-type", "application/json")], body.to_vec())
    }

    fn signed(secret: &str, body: &[u8]) -> RawRequest {
        let mut r = request(body);
        Typeform.sign(&mut r, secret, now());
        r
    }

    #[test]
    fn documented_local_vector() {
        assert_eq!(FIXTURE.len(), 7043);
        let r = signed("test-secret", FIXTURE);
        assert_eq!(
            r.header("Typeform-Signature").unwrap(),
            "sha256=PaGoQtLgiLgoO5mZxFRfIC/RowBcShAiZ3kIcxsWVr0="
        );
        let given = RawRequest::post(
            URL,
            &[(
                "Typeform-Signature",
                "sha256=PaGoQtLgiLgoO5mZxFRfIC/RowBcShAiZ3kIcxsWVr0=",
            )],
            FIXTURE.to_vec(),
        );
        let secrets = Secrets::parse("test-secret").unwrap();
        assert!(Typeform.verify(&given, &secrets, now()).is_ok());
    }

    #[test]
    fn fixture_becomes_a_form_lead() {
        let parsed = Typeform.parse(&request(FIXTURE), now()).unwrap();
        assert!(parsed.lookups.is_empty());
        assert_eq!(parsed.events.len(), 1);
        let e = &parsed.events[0];
        assert_eq!(e.source.as_str(), "typeform");
        assert_eq!(e.channel, Channel::WebForm);
        assert_eq!(e.provider_event_id.as_str(), "LtWXD3crgy");
        assert_eq!(e.received_at, now());
        let EventKind::FormLead(lead) = &e.kind else {
            panic!("expected a form lead, got {:?}", e.kind);
        };
        assert_eq!(lead.buyer.email.as_str(), "laura@example.com");
        assert_eq!(lead.buyer.name.as_deref(), Some("Laura"));
        assert!(
            lead.message.starts_with("It's cold right now!"),
            "{}",
            lead.message
        );
        assert_eq!(lead.fields["score"], "9");
        assert_eq!(lead.fields["form"], "Webhooks example (lT4Z3j)");
        assert_eq!(lead.fields["user_id"], "abc123456");
        assert_eq!(
            lead.fields["Which pictures do you like? You can choose as many as you like."],
            "London, Sydney"
        );
        assert_eq!(
            lead.fields["Which of these cities is your favorite?"],
            "London"
        );
        assert_eq!(
            lead.fields["Do you have a favorite city we haven't listed?"],
            "no"
        );
        assert_eq!(
            lead.fields["When did you move to the place where you live?"],
            "2005-10-15"
        );
        assert_eq!(
            lead.fields["Book a time with me"],
            "https://calendly.com/scheduled_events/EVENT_TYPE/invitees/INVITEE"
        );
    }

    #[test]
    fn hidden_fields_utm_and_token_fallback() {
        let body = serde_json::json!({
            "event_type": "form_response",
            "form_response": {
                "form_id": "abc", "token": "tok-1",
                "hidden": {"email": "dana@acme.com", "company": "Acme", "utm_source": "ads"},
                "definition": {"id": "abc", "title": "Contact sales", "fields": [
                    {"id": "f1", "ref": "company_size", "title": "How big is your team?", "type": "multiple_choice"},
                    {"id": "f2", "ref": "phone", "title": "Phone", "type": "phone_number"}
                ]},
                "answers": [
                    {"type": "choice", "choice": {"label": "51-200"}, "field": {"id": "f1", "type": "multiple_choice"}},
                    {"type": "phone_number", "phone_number": "+4930123456", "field": {"id": "f2", "type": "phone_number"}},
                    {"type": "payment", "payment": {"amount": "4.20", "last4": "4242", "name": "Dana", "success": true}, "field": {"id": "f3", "type": "payment"}}
                ]
            }
        });
        let parsed = Typeform
            .parse(&request(body.to_string().as_bytes()), now())
            .unwrap();
        let e = &parsed.events[0];
        assert_eq!(e.provider_event_id.as_str(), "tok-1");
        let b = e.buyer();
        assert_eq!(b.email.as_str(), "dana@acme.com");
        assert_eq!(b.company.as_deref(), Some("Acme"));
        assert_eq!(b.employees, Some(51));
        assert_eq!(b.phone.as_deref(), Some("+4930123456"));
        let EventKind::FormLead(lead) = &e.kind else {
            panic!("not a form lead");
        };
        assert_eq!(lead.fields["utm_source"], "ads");
        assert_eq!(lead.fields["form"], "Contact sales (abc)");
        assert_eq!(lead.fields["f3"], "4.20 (paid, Dana)");
    }

    #[test]
    fn other_event_types_create_nothing() {
        let body = String::from_utf8_lossy(FIXTURE).replace(
            "\"event_type\": \"form_response\"",
            "\"event_type\": \"form_response_partial\"",
        );
        let parsed = Typeform.parse(&request(body.as_bytes()), now()).unwrap();
        assert_eq!(parsed, Parsed::default());
    }

    #[test]
    fn problems_name_the_field() {
        let no_email = String::from_utf8_lossy(FIXTURE).replace("laura@example.com", "");
        let e = Typeform
            .parse(&request(no_email.as_bytes()), now())
            .unwrap_err();
        assert_eq!(e.field, "form_response.answers");
        let bad_email = String::from_utf8_lossy(FIXTURE).replace("laura@example.com", "laura");
        let e = Typeform
            .parse(&request(bad_email.as_bytes()), now())
            .unwrap_err();
        assert_eq!(e.field, "form_response.answers[1].email");
        let e = Typeform.parse(&request(b"[1,2"), now()).unwrap_err();
        assert!(e.field.starts_with("body"), "{e}");
        let e = Typeform
            .parse(&request(br#"{"event_type":"form_response"}"#), now())
            .unwrap_err();
        assert_eq!(e.field, "form_response");
    }

    #[test]
    fn refusals_name_the_problem() {
        let secrets = Secrets::parse("test-secret").unwrap();
        let mut tampered = signed("test-secret", FIXTURE);
        tampered.body[20] ^= 1;
        assert_eq!(
            Typeform.verify(&tampered, &secrets, now()),
            Err(AuthError::BadSignature("Typeform-Signature"))
        );
        assert_eq!(
            Typeform.verify(&signed("wrong", FIXTURE), &secrets, now()),
            Err(AuthError::BadSignature("Typeform-Signature"))
        );
        assert_eq!(
            Typeform.verify(&request(FIXTURE), &secrets, now()),
            Err(AuthError::MissingHeader("Typeform-Signature"))
        );
        for bad in [
            "PaGoQtLgiLgoO5mZxFRfIC/RowBcShAiZ3kIcxsWVr0=",
            "sha256=!!",
            "sha1=abc",
        ] {
            let r = RawRequest::post(URL, &[("typeform-signature", bad)], FIXTURE.to_vec());
            assert!(
                matches!(
                    Typeform.verify(&r, &secrets, now()),
                    Err(AuthError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn sign_verify_round_trip_and_rotation() {
        let secrets = Secrets::parse("new,old").unwrap();
        for secret in ["new", "old"] {
            let r = signed(secret, FIXTURE);
            assert!(Typeform.verify(&r, &secrets, now()).is_ok(), "{secret}");
        }
        assert!(Typeform
            .verify(&signed("older", FIXTURE), &secrets, now())
            .is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            header in ".{0,80}",
        ) {
            let secrets = Secrets::parse("test-secret").unwrap();
            let r = RawRequest::post(URL, &[("typeform-signature", header.as_str())], body.clone());
            let _ = Typeform.verify(&r, &secrets, now());
            let prefixed = format!("sha256={header}");
            let r = RawRequest::post(URL, &[("typeform-signature", prefixed.as_str())], body);
            let _ = Typeform.verify(&r, &secrets, now());
            let _ = Typeform.parse(&r, now());
        }

        #[test]
        fn mutated_fixture_never_panics(at in 0..FIXTURE.len(), byte in any::<u8>()) {
            let mut body = FIXTURE.to_vec();
            body[at] = byte;
            let _ = Typeform.parse(&request(&body), now());
        }
    }
}
