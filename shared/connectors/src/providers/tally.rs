//! Tally form webhooks (`POST /forms/tally`): a `FORM_RESPONSE` becomes a
//! [`FormLead`](handoff_domain::event::FormLead).
//!
//! **Auth:** `Tally-Signature: <base64 HMAC-SHA256(signing secret, raw body)>`, no prefix and no
//! timestamp, so intake dedups on `eventId`. The secret is `HANDOFF_SECRET_TALLY`. The HMAC is
//! checked over the raw bytes only. Tally's own Express example hashes `JSON.stringify(body)`,
//! and a "compact re-serialisation" fallback has been suggested; it is deliberately **not**
//! implemented: nothing is parsed or re-serialised before verification, and a body that only
//! verifies after re-serialisation is refused.
//!
//! **Payload:** `{eventId, eventType:"FORM_RESPONSE", createdAt, data{responseId, formId,
//! formName, fields[]}}`, each field `{key, label, type, value, options?[]}`. Fields are matched
//! by key and label through [`FormAnswers`] (Tally's generated `question_xxxx` keys say nothing
//! and are not used for matching). Choice values (`MULTIPLE_CHOICE`, `DROPDOWN`, `CHECKBOXES`,
//! `MULTI_SELECT`, `RANKING`) are option UUIDs, mapped through `options[]{id,text}`; the extra
//! per-option boolean fields checkboxes produce (`<key>_<optionId>`) are skipped. `HIDDEN_FIELDS`
//! are matched by label (`utm_campaign`, a hidden `email`); `CALCULATED_FIELDS` are kept as fields
//! by label. Other event types parse to an empty [`Parsed`].

use crate::fields::{kind_of, FieldKind, FormAnswers};
use crate::provider::{any_secret, AuthError, ParseError, Parsed, Provider, Secrets, Verified};
use crate::request::RawRequest;
use crate::signature::{decode_base64, encode_base64, hmac_sha256, verify_hmac_sha256};
use chrono::{DateTime, Utc};
use handoff_domain::event::{Channel, EventKind, IntakeEvent};
use handoff_domain::ids::ProviderEventId;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The signature header (lower case, as the HTTP layer stores it).
pub const HEADER: &str = "tally-signature";

/// Tally form responses.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally;

impl Provider for Tally {
    fn name(&self) -> &'static str {
        "tally"
    }
    fn path(&self) -> &'static str {
        "/forms/tally"
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
            .ok_or(AuthError::MissingHeader("Tally-Signature"))?;
        let mac = decode_base64(header).ok_or_else(|| AuthError::Malformed {
            what: "Tally-Signature header",
            detail: "expected base64".into(),
        })?;
        if any_secret(secrets, |s| verify_hmac_sha256(s, &[&request.body], &mac)) {
            Ok(Verified::default())
        } else {
            Err(AuthError::BadSignature("Tally-Signature"))
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
        match root.get("eventType").and_then(Value::as_str) {
            Some("FORM_RESPONSE") => {}
            Some(_) => return Ok(Parsed::default()),
            None => return Err(ParseError::new("eventType", "missing")),
        }
        let event_id = root
            .get("eventId")
            .and_then(Value::as_str)
            .ok_or_else(|| ParseError::new("eventId", "missing"))?;
        let provider_event_id = ProviderEventId::parse(event_id)
            .map_err(|e| ParseError::new("eventId", e.to_string()))?;
        let data = root
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| ParseError::new("data", "missing or not an object"))?;
        let (answers, email_field) = collect_answers(data);
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
        request.set_header(HEADER, encode_base64(&mac));
    }
}

/// Every field of `data`, plus the path to name when the email is missing or invalid.
fn collect_answers(data: &Map<String, Value>) -> (FormAnswers, String) {
    let fields = data
        .get("fields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();

    // The per-option boolean fields checkboxes add: `<key>_<optionId>`.
    let per_option: HashSet<String> = fields
        .iter()
        .flat_map(|f| {
            let key = str_of(f, "key");
            options(f)
                .into_keys()
                .map(move |id| format!("{key}_{id}"))
                .collect::<Vec<_>>()
        })
        .collect();

    let mut answers = FormAnswers::new();
    let mut email_field = None;
    for (i, field) in fields.iter().enumerate() {
        let key = str_of(field, "key");
        let label = str_of(field, "label");
        let kind = str_of(field, "type");
        if per_option.contains(key) {
            continue;
        }
        let Some(value) = field.get("value").and_then(|v| field_text(field, v)) else {
            continue;
        };
        let name = if label.is_empty() { key } else { label };
        if kind == "CALCULATED_FIELDS" {
            answers.note(name, &value);
            continue;
        }
        // Generated keys (`question_mVGEg3`) carry no meaning; an email-typed field is an email
        // whatever its label says.
        let match_key = match kind {
            "INPUT_EMAIL" => "email",
            "HIDDEN_FIELDS" => label,
            _ if key.starts_with("question_") => "",
            _ => key,
        };
        if email_field.is_none() && kind_of(match_key, name) == FieldKind::Email {
            email_field = Some(format!("data.fields[{i}].value"));
        }
        answers.add(match_key, name, &value);
    }

    let form = [str_of_map(data, "formName"), str_of_map(data, "formId")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
    answers.note("form", form);
    (
        answers,
        email_field.unwrap_or_else(|| "data.fields".to_string()),
    )
}

fn str_of_map<'a>(map: &'a Map<String, Value>, key: &str) -> &'a str {
    map.get(key).and_then(Value::as_str).unwrap_or("").trim()
}

/// A field's `options[]` (or a matrix's `rows[]`/`columns[]`) by id.
fn id_texts<'a>(field: &'a Value, list: &str) -> HashMap<&'a str, &'a str> {
    field
        .get(list)
        .and_then(Value::as_array)
        .map(|opts| {
            opts.iter()
                .filter_map(|o| Some((o.get("id")?.as_str()?, o.get("text")?.as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn options(field: &Value) -> HashMap<&str, &str> {
    id_texts(field, "options")
}

/// A field's value as text: option ids become their text, uploads their URL, a matrix
/// `row: column` pairs; `None` when there is nothing to keep.
fn field_text(field: &Value, value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Array(items) => {
            let opts = options(field);
            items
                .iter()
                .filter_map(|item| match item {
                    Value::String(id) => {
                        Some(opts.get(id.as_str()).unwrap_or(&id.as_str()).to_string())
                    }
                    Value::Object(o) => o
                        .get("url")
                        .or_else(|| o.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Object(matrix) => {
            let columns = id_texts(field, "columns");
            // In the order of `rows[]`, then any row id `rows[]` does not list.
            let listed: Vec<(&str, &str)> = field
                .get("rows")
                .and_then(Value::as_array)
                .map(|rows| {
                    rows.iter()
                        .filter_map(|r| Some((r.get("id")?.as_str()?, r.get("text")?.as_str()?)))
                        .collect()
                })
                .unwrap_or_default();
            let unlisted = matrix
                .keys()
                .filter(|k| !listed.iter().any(|(id, _)| id == k))
                .map(|k| (k.as_str(), k.as_str()));
            listed
                .iter()
                .copied()
                .chain(unlisted)
                .filter_map(|(id, text)| Some((text, matrix.get(id)?)))
                .map(|(row, cols)| {
                    let cols = cols
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .filter_map(Value::as_str)
                                .map(|id| columns.get(id).copied().unwrap_or(id))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    format!("{row}: {cols}")
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    (!text.trim().is_empty()).then_some(text)
}

/// A string member of `v`, or "" when absent.
fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIXTURE: &[u8] =
        include_bytes!("../../../../tests/fixtures/providers/tally_form_response.json");
    const URL: &str = "https://abc123.lambda-url.us-east-1.on.aws/forms/tally";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    /// The fixture with the scrape artefact replaced by a real address.
    fn fixed() -> Vec<u8> {
        String::from_utf8_lossy(FIXTURE)
            .replace("[email protected]", "alice@example.com")
            .into_bytes()
    }

    fn request(body: &[u8]) -> RawRequest {
        RawRequest::post(URL, &[("content-type", "application/json")], body.to_vec())
    }

    fn signed(secret: &str, body: &[u8]) -> RawRequest {
        let mut r = request(body);
        Tally.sign(&mut r, secret, now());
        r
    }

    #[test]
    fn documented_local_vector() {
        assert_eq!(FIXTURE.len(), 8452);
        let r = signed("test-secret", FIXTURE);
        assert_eq!(
            r.header("Tally-Signature").unwrap(),
            "+zxujZsG0uN2Br6OJeFZn4b7ou9OqYUR3Ys8YT+vMDk="
        );
        let given = RawRequest::post(
            URL,
            &[(
                "Tally-Signature",
                "+zxujZsG0uN2Br6OJeFZn4b7ou9OqYUR3Ys8YT+vMDk=",
            )],
            FIXTURE.to_vec(),
        );
        let secrets = Secrets::parse("test-secret").unwrap();
        assert!(Tally.verify(&given, &secrets, now()).is_ok());
    }

    #[test]
    fn fixture_becomes_a_form_lead() {
        let parsed = Tally.parse(&request(&fixed()), now()).unwrap();
        assert_eq!(parsed.events.len(), 1);
        let e = &parsed.events[0];
        assert_eq!(e.source.as_str(), "tally");
        assert_eq!(e.channel, Channel::WebForm);
        assert_eq!(
            e.provider_event_id.as_str(),
            "a4cb511e-d513-4fa5-baee-b815d718dfd1"
        );
        let EventKind::FormLead(lead) = &e.kind else {
            panic!("expected a form lead, got {:?}", e.kind);
        };
        let b = &lead.buyer;
        assert_eq!(b.email.as_str(), "alice@example.com");
        assert_eq!(b.phone.as_deref(), Some("+32491223344"));
        assert_eq!(b.company_domain.as_ref().unwrap().as_str(), "example.com");
        assert_eq!(lead.message, "Hello world");
        let f = &lead.fields;
        assert_eq!(f["utm_campaign"], "newsletter");
        assert_eq!(f["Score"], "20");
        assert_eq!(f["Type"], "Hard");
        assert_eq!(f["form"], "Webhook payload");
        assert_eq!(f["Text"], "Hello");
        assert_eq!(f["Multiple choice"], "In progress");
        assert_eq!(f["Checkboxes"], "Swimming, Skiing");
        assert_eq!(f["Dropdown"], "Hard");
        assert_eq!(f["Multi-select"], "Surf, Golf");
        assert_eq!(f["Ranking"], "Pear, Apple, Banana");
        assert_eq!(f["Matrix"], "Quality: Satisfied; Speed: Neutral");
        assert!(f["File upload"].ends_with("/Tally_Icon.png"));
        assert!(
            !f.keys().any(|k| k.starts_with("Checkboxes (")),
            "per-option checkbox fields are skipped: {f:?}"
        );
    }

    #[test]
    fn the_scrape_artefact_is_refused_naming_the_field() {
        let e = Tally.parse(&request(FIXTURE), now()).unwrap_err();
        assert_eq!(e.field, "data.fields[5].value");
        assert!(e.message.contains("email address"), "{e}");
    }

    #[test]
    fn hidden_email_and_other_event_types() {
        let body = serde_json::json!({
            "eventId": "e-1", "eventType": "FORM_RESPONSE",
            "data": {"formId": "f", "fields": [
                {"key": "question_a", "label": "email", "type": "HIDDEN_FIELDS", "value": "dana@acme.com"},
                {"key": "question_b", "label": "Company", "type": "INPUT_TEXT", "value": "Acme"},
                {"key": "question_c", "label": "Nothing", "type": "INPUT_TEXT", "value": null}
            ]}
        });
        let parsed = Tally
            .parse(&request(body.to_string().as_bytes()), now())
            .unwrap();
        let b = parsed.events[0].buyer();
        assert_eq!(b.email.as_str(), "dana@acme.com");
        assert_eq!(b.company.as_deref(), Some("Acme"));
        let other = br#"{"eventId":"e-2","eventType":"SOMETHING_ELSE","data":{}}"#;
        assert_eq!(
            Tally.parse(&request(other), now()).unwrap(),
            Parsed::default()
        );
        let e = Tally.parse(&request(b"nope"), now()).unwrap_err();
        assert!(e.field.starts_with("body"), "{e}");
    }

    #[test]
    fn refusals_name_the_problem() {
        let secrets = Secrets::parse("test-secret").unwrap();
        let mut tampered = signed("test-secret", &fixed());
        tampered.body.push(b'\n');
        assert_eq!(
            Tally.verify(&tampered, &secrets, now()),
            Err(AuthError::BadSignature("Tally-Signature"))
        );
        assert_eq!(
            Tally.verify(&signed("wrong", &fixed()), &secrets, now()),
            Err(AuthError::BadSignature("Tally-Signature"))
        );
        assert_eq!(
            Tally.verify(&request(&fixed()), &secrets, now()),
            Err(AuthError::MissingHeader("Tally-Signature"))
        );
        let r = RawRequest::post(URL, &[("tally-signature", "not base64!")], fixed());
        assert!(matches!(
            Tally.verify(&r, &secrets, now()),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn re_serialised_bodies_are_not_accepted() {
        // The signature over the compact re-serialisation does not verify the pretty body.
        let value: Value = serde_json::from_slice(&fixed()).unwrap();
        let compact = serde_json::to_vec(&value).unwrap();
        let mut r = signed("test-secret", &compact);
        r.body = fixed();
        let secrets = Secrets::parse("test-secret").unwrap();
        assert_eq!(
            Tally.verify(&r, &secrets, now()),
            Err(AuthError::BadSignature("Tally-Signature"))
        );
    }

    #[test]
    fn sign_verify_round_trip_and_rotation() {
        let secrets = Secrets::parse("new,old").unwrap();
        for secret in ["new", "old"] {
            assert!(Tally
                .verify(&signed(secret, &fixed()), &secrets, now())
                .is_ok());
        }
        assert!(Tally
            .verify(&signed("older", &fixed()), &secrets, now())
            .is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            header in ".{0,80}",
        ) {
            let secrets = Secrets::parse("test-secret").unwrap();
            let r = RawRequest::post(URL, &[("tally-signature", header.as_str())], body);
            let _ = Tally.verify(&r, &secrets, now());
            let _ = Tally.parse(&r, now());
        }

        #[test]
        fn mutated_fixture_never_panics(at in 0..FIXTURE.len(), byte in any::<u8>()) {
            let mut body = fixed();
            let at = at.min(body.len() - 1);
            body[at] = byte;
            let _ = Tally.parse(&request(&body), now());
        }
    }
}
