//! HubSpot (`POST /forms/hubspot`): Webhooks API batches and workflow "Send a webhook" calls.
//!
//! **Auth (v3 only):** `X-HubSpot-Signature-v3: base64(HMAC-SHA256(client secret, method + URI +
//! raw body + timestamp))` with `X-HubSpot-Request-Timestamp` in epoch **milliseconds**, accepted
//! within 5 minutes of now. The URI is [`RawRequest::url`] exactly as HubSpot called it
//! (`https://host/forms/hubspot?…`), and the timestamp is the header's text. The legacy v1/v2
//! signatures (`X-HubSpot-Signature` + `X-HubSpot-Signature-Version`) carry no timestamp and are
//! refused: a request carrying only them is answered "the X-HubSpot-Signature-v3 header is
//! missing". The secret is the app's client secret, `HANDOFF_SECRET_HUBSPOT`.
//!
//! **Payloads:**
//! - a JSON **array** of Webhooks API events (`subscriptionType`, or `eventType` in the docs
//!   example; `objectId`, `eventId`, `occurredAt` in ms). `contact.creation` and
//!   `contact.propertyChange` become [`ContactLookup`]s (the events carry no contact data; the
//!   caller reads the contacts with [`crate::hubspot_contacts::HubspotContacts`] and builds each
//!   event with [`contact_to_event`]); other subscription types are ignored.
//! - a JSON **object** from a workflow "Send a webhook" action: the contact as the CRM objects
//!   API returns it, v3 (`{"id", "properties": {"email": "…"}}`) or legacy v1 (`{"vid",
//!   "properties": {"email": {"value": "…"}}}`), which becomes one
//!   [`FormLead`](handoff_domain::event::FormLead) with provider event id
//!   `hubspot-contact-<id>-<last modified date>`: a retried delivery dedups, a later submission by
//!   the same contact is a new event.

use crate::fields::FormAnswers;
use crate::provider::{
    any_secret, check_window, AuthError, ContactLookup, ParseError, Parsed, Provider, Secrets,
    Verified,
};
use crate::request::RawRequest;
use crate::signature::{decode_base64, encode_base64, hmac_sha256, verify_hmac_sha256};
use chrono::{DateTime, Utc};
use handoff_domain::event::{Channel, EventKind, IntakeEvent};
use handoff_domain::ids::ProviderEventId;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The v3 signature header (lower case, as the HTTP layer stores it).
pub const SIGNATURE_HEADER: &str = "x-hubspot-signature-v3";
/// The timestamp header (epoch milliseconds).
pub const TIMESTAMP_HEADER: &str = "x-hubspot-request-timestamp";
/// The legacy v1/v2 signature header, refused.
pub const LEGACY_SIGNATURE_HEADER: &str = "x-hubspot-signature";
/// How far the signed timestamp may be from now.
pub const WINDOW_SECS: i64 = 300;
/// The Webhooks API subscription types that name a contact worth a lead.
pub const CONTACT_SUBSCRIPTIONS: &[&str] = &["contact.creation", "contact.propertyChange"];

/// Contact properties mapped onto the buyer and the lead (through [`FormAnswers`]).
const MAPPED: &[&str] = &[
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "phone",
    "mobilephone",
    "country",
    "numemployees",
    "website",
    "message",
];
/// Contact properties kept as they are in the lead's fields, when present.
const KEPT: &[&str] = &[
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_analytics_source_data_2",
    "recent_conversion_event_name",
];

/// HubSpot webhooks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Hubspot;

impl Provider for Hubspot {
    fn name(&self) -> &'static str {
        "hubspot"
    }
    fn path(&self) -> &'static str {
        "/forms/hubspot"
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
        let Some(signature) = request.header(SIGNATURE_HEADER) else {
            if request.header(LEGACY_SIGNATURE_HEADER).is_some() {
                tracing::warn!(
                    "HubSpot request carries only a legacy v1/v2 signature (no timestamp); \
                     refused, only X-HubSpot-Signature-v3 is accepted"
                );
            }
            return Err(AuthError::MissingHeader("X-HubSpot-Signature-v3"));
        };
        let timestamp = request
            .header(TIMESTAMP_HEADER)
            .ok_or(AuthError::MissingHeader("X-HubSpot-Request-Timestamp"))?
            .trim();
        let millis: i64 = timestamp.parse().map_err(|_| AuthError::Malformed {
            what: "X-HubSpot-Request-Timestamp header",
            detail: "expected epoch milliseconds".into(),
        })?;
        let at = DateTime::from_timestamp_millis(millis).ok_or_else(|| AuthError::Malformed {
            what: "X-HubSpot-Request-Timestamp header",
            detail: "out of range".into(),
        })?;
        check_window("X-HubSpot-Request-Timestamp", at, now, WINDOW_SECS)?;
        let mac = decode_base64(signature).ok_or_else(|| AuthError::Malformed {
            what: "X-HubSpot-Signature-v3 header",
            detail: "expected base64".into(),
        })?;
        let parts: [&[u8]; 4] = [
            request.method.as_bytes(),
            request.url.as_bytes(),
            &request.body,
            timestamp.as_bytes(),
        ];
        if any_secret(secrets, |s| verify_hmac_sha256(s, &parts, &mac)) {
            Ok(Verified::default())
        } else {
            Err(AuthError::BadSignature("X-HubSpot-Signature-v3"))
        }
    }

    fn parse(
        &self,
        request: &RawRequest,
        received_at: DateTime<Utc>,
    ) -> Result<Parsed, ParseError> {
        let root: Value = crate::json::body(&request.body, "not valid JSON")?;
        match &root {
            Value::Array(events) => parse_webhook_events(events),
            Value::Object(contact) => {
                let id = contact_id(&root)
                    .ok_or_else(|| ParseError::new("id", "the contact has no id (or vid)"))?;
                let version = contact_version(contact).unwrap_or_else(|| {
                    format!(
                        "sha256-{}",
                        &hex::encode(Sha256::digest(&request.body))[..16]
                    )
                });
                let event_id = format!("hubspot-contact-{id}-{version}");
                let event = build_event(&root, None, &event_id, received_at)?;
                Ok(Parsed::events(vec![event]))
            }
            _ => Err(ParseError::new(
                "body",
                "expected a JSON array of webhook events or a contact object",
            )),
        }
    }

    fn sign(&self, request: &mut RawRequest, secret: &str, now: DateTime<Utc>) {
        let timestamp = now.timestamp_millis().to_string();
        let mac = hmac_sha256(
            secret.as_bytes(),
            &[
                request.method.as_bytes(),
                request.url.as_bytes(),
                &request.body,
                timestamp.as_bytes(),
            ],
        );
        request.set_header(SIGNATURE_HEADER, encode_base64(&mac));
        request.set_header(TIMESTAMP_HEADER, timestamp);
    }
}

/// The event for a contact read from the CRM (`POST /crm/v3/objects/contacts/batch/read`
/// returns `{"id", "properties": {…}}` per contact) that a Webhooks API event named.
///
/// The provider event id is the lookup's (HubSpot's `eventId`), so a retried webhook event maps
/// to the same event. Pair contacts with lookups by [`contact_id`]; the contact's id is not
/// checked against `lookup.object_id` (a merged contact comes back under its surviving id).
pub fn contact_to_event(
    contact_json: &Value,
    lookup: &ContactLookup,
    received_at: DateTime<Utc>,
) -> Result<IntakeEvent, ParseError> {
    if !contact_json.is_object() {
        return Err(ParseError::new("contact", "expected a JSON object"));
    }
    build_event(
        contact_json,
        Some(lookup),
        &lookup.provider_event_id,
        received_at,
    )
}

/// A contact's id: v3 `id`, legacy `vid`/`canonical-vid`, or the `hs_object_id` property.
pub fn contact_id(contact_json: &Value) -> Option<String> {
    ["id", "vid", "canonical-vid"]
        .iter()
        .find_map(|k| contact_json.get(k).and_then(id_text))
        .or_else(|| {
            contact_json
                .get("properties")
                .and_then(Value::as_object)
                .and_then(|p| property(p, "hs_object_id"))
        })
        .filter(|id| !id.trim().is_empty())
}

fn parse_webhook_events(events: &[Value]) -> Result<Parsed, ParseError> {
    let mut lookups = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let obj = event
            .as_object()
            .ok_or_else(|| ParseError::new(format!("[{i}]"), "expected an event object"))?;
        let subscription = obj
            .get("subscriptionType")
            .or_else(|| obj.get("eventType"))
            .and_then(Value::as_str)
            .ok_or_else(|| ParseError::new(format!("[{i}].subscriptionType"), "missing"))?;
        if !CONTACT_SUBSCRIPTIONS.contains(&subscription) {
            continue;
        }
        let object_id = obj
            .get("objectId")
            .and_then(id_text)
            .ok_or_else(|| ParseError::new(format!("[{i}].objectId"), "missing"))?;
        let event_id = obj
            .get("eventId")
            .and_then(id_text)
            .ok_or_else(|| ParseError::new(format!("[{i}].eventId"), "missing"))?;
        ProviderEventId::parse(&event_id)
            .map_err(|e| ParseError::new(format!("[{i}].eventId"), e.to_string()))?;
        let occurred_at = obj
            .get("occurredAt")
            .and_then(Value::as_i64)
            .and_then(DateTime::from_timestamp_millis);
        lookups.push(ContactLookup {
            object_id,
            provider_event_id: event_id,
            subscription_type: subscription.to_string(),
            occurred_at,
        });
    }
    Ok(Parsed {
        events: Vec::new(),
        lookups,
    })
}

/// The contact's last modification (or creation) as HubSpot wrote it, for the dedup key.
fn contact_version(contact: &Map<String, Value>) -> Option<String> {
    let props = contact.get("properties").and_then(Value::as_object);
    let prop = |name: &str| props.and_then(|p| property(p, name));
    let top = |name: &str| contact.get(name).and_then(id_text);
    prop("lastmodifieddate")
        .or_else(|| prop("hs_lastmodifieddate"))
        .or_else(|| top("updatedAt"))
        .or_else(|| prop("createdate"))
        .or_else(|| top("createdAt"))
        .or_else(|| top("addedAt"))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn build_event(
    contact: &Value,
    lookup: Option<&ContactLookup>,
    provider_event_id: &str,
    received_at: DateTime<Utc>,
) -> Result<IntakeEvent, ParseError> {
    let empty = Map::new();
    let props = match contact.get("properties") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(ParseError::new("properties", "expected an object")),
        None => &empty,
    };
    let mut answers = FormAnswers::new();
    for name in MAPPED {
        if let Some(value) = property(props, name) {
            answers.add(name, "", &value);
        }
    }
    if let Some(email) = identity_email(contact) {
        answers.set_email_if_missing(&email);
    }
    for name in KEPT {
        if let Some(value) = property(props, name) {
            answers.note(name, &value);
        }
    }
    for name in props.keys() {
        if name.starts_with("utm_") {
            if let Some(value) = property(props, name) {
                answers.note(name, &value);
            }
        }
    }
    if let Some(id) = contact_id(contact) {
        answers.note("hubspot_contact_id", &id);
    }
    if let Some(lookup) = lookup {
        answers.note("hubspot_subscription", &lookup.subscription_type);
    }
    let lead = answers.form_lead("properties.email")?;
    let provider_event_id = ProviderEventId::parse(provider_event_id)
        .map_err(|e| ParseError::new("provider_event_id", e.to_string()))?;
    let source = crate::json::source("hubspot")?;
    Ok(IntakeEvent {
        source,
        channel: Channel::WebForm,
        provider_event_id,
        received_at,
        kind: EventKind::FormLead(lead),
    })
}

/// A property's value: v3 `"name": "value"` or legacy v1 `"name": {"value": "…"}`.
fn property(props: &Map<String, Value>, name: &str) -> Option<String> {
    let value = match props.get(name)? {
        Value::Object(o) => o.get("value")?,
        v => v,
    };
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// The primary email of a legacy v1 contact's `identity-profiles`.
fn identity_email(contact: &Value) -> Option<String> {
    contact
        .get("identity-profiles")?
        .as_array()?
        .iter()
        .filter_map(|p| p.get("identities")?.as_array())
        .flatten()
        .find(|i| i.get("type").and_then(Value::as_str) == Some("EMAIL"))
        .and_then(|i| i.get("value")?.as_str())
        .map(str::to_string)
}

/// An id written as a JSON string or number.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOCS_BATCH: &[u8] = include_bytes!(
        "../../../../tests/fixtures/providers/hubspot_webhooks_api_docs_example.json"
    );
    const V1_EXAMPLE: &[u8] = include_bytes!(
        "../../../../tests/fixtures/providers/hubspot_webhook_contact_creation_v1_validation_example.json"
    );
    const URL: &str = "https://abc123.lambda-url.us-east-1.on.aws/forms/hubspot";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn request(url: &str, body: &[u8]) -> RawRequest {
        RawRequest::post(url, &[("content-type", "application/json")], body.to_vec())
    }

    fn signed(secret: &str, body: &[u8], at: DateTime<Utc>) -> RawRequest {
        let mut r = request(URL, body);
        Hubspot.sign(&mut r, secret, at);
        r
    }

    fn v3_contact() -> Value {
        serde_json::json!({
            "id": "1246978",
            "properties": {
                "email": "Dana.Reyes@Brightline.io",
                "firstname": "Dana",
                "lastname": "Reyes",
                "company": "Brightline",
                "jobtitle": "VP Sales",
                "phone": "+49 30 1234567",
                "country": "Germany",
                "numemployees": "201-500",
                "message": "We need routing for 40 reps.",
                "website": "https://brightline.io",
                "hs_object_id": "1246978",
                "lifecyclestage": "lead",
                "createdate": "2026-11-20T09:00:00.000Z",
                "lastmodifieddate": "2026-11-24T10:00:00.000Z"
            },
            "createdAt": "2026-11-20T09:00:00.000Z",
            "updatedAt": "2026-11-24T10:00:00.000Z",
            "archived": false
        })
    }

    #[test]
    fn provider_vector_sdk_v3() {
        let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
        let body = b"{'example_field':'example_value'}";
        let at = DateTime::from_timestamp_millis(15_000_000).unwrap();
        let mut r = request("https://www.example.com/webhook_uri", body);
        Hubspot.sign(&mut r, secret, at);
        assert_eq!(r.header("X-HubSpot-Request-Timestamp").unwrap(), "15000000");
        assert_eq!(
            r.header("X-HubSpot-Signature-v3").unwrap(),
            "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
        );
        let given = RawRequest::post(
            "https://www.example.com/webhook_uri",
            &[
                (
                    "X-HubSpot-Signature-v3",
                    "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
                ),
                ("X-HubSpot-Request-Timestamp", "15000000"),
            ],
            body.to_vec(),
        );
        let secrets = Secrets::parse(secret).unwrap();
        assert!(Hubspot.verify(&given, &secrets, at).is_ok());
    }

    #[test]
    fn local_vector_v3() {
        let url = "https://abc123.lambda-url.us-east-1.on.aws/hubspot";
        let given = RawRequest::post(
            url,
            &[
                (
                    "X-HubSpot-Signature-v3",
                    "6uJHTGN8ojjXJbT3zgxpUEChg2dG/Ip08nssxeDRf2E=",
                ),
                ("X-HubSpot-Request-Timestamp", "1700000000000"),
            ],
            V1_EXAMPLE.to_vec(),
        );
        let secrets = Secrets::parse("test-secret").unwrap();
        assert!(Hubspot.verify(&given, &secrets, now()).is_ok());
        let mut r = request(url, V1_EXAMPLE);
        Hubspot.sign(&mut r, "test-secret", now());
        assert_eq!(
            r.header("x-hubspot-signature-v3").unwrap(),
            "6uJHTGN8ojjXJbT3zgxpUEChg2dG/Ip08nssxeDRf2E="
        );
    }

    #[test]
    fn docs_batch_becomes_lookups() {
        let parsed = Hubspot.parse(&request(URL, DOCS_BATCH), now()).unwrap();
        assert!(parsed.events.is_empty());
        assert_eq!(
            parsed.lookups,
            vec![
                ContactLookup {
                    object_id: "1246965".into(),
                    provider_event_id: "3816279340".into(),
                    subscription_type: "contact.propertyChange".into(),
                    occurred_at: DateTime::from_timestamp_millis(1_462_216_307_945),
                },
                ContactLookup {
                    object_id: "1246978".into(),
                    provider_event_id: "3816279480".into(),
                    subscription_type: "contact.creation".into(),
                    occurred_at: DateTime::from_timestamp_millis(1_462_216_307_945),
                },
            ]
        );
        let parsed = Hubspot.parse(&request(URL, V1_EXAMPLE), now()).unwrap();
        assert_eq!(parsed.lookups.len(), 1);
        assert_eq!(parsed.lookups[0].object_id, "123");
        assert_eq!(parsed.lookups[0].provider_event_id, "1");
        assert_eq!(parsed.lookups[0].subscription_type, "contact.creation");
    }

    #[test]
    fn other_subscriptions_are_ignored_and_bad_events_named() {
        let body = br#"[{"subscriptionType":"deal.creation","objectId":1,"eventId":2}]"#;
        assert_eq!(
            Hubspot.parse(&request(URL, body), now()).unwrap(),
            Parsed::default()
        );
        let body = br#"[{"subscriptionType":"contact.creation","eventId":2}]"#;
        let e = Hubspot.parse(&request(URL, body), now()).unwrap_err();
        assert_eq!(e.field, "[0].objectId");
        let e = Hubspot.parse(&request(URL, b"[1]"), now()).unwrap_err();
        assert_eq!(e.field, "[0]");
        let e = Hubspot.parse(&request(URL, b"\"x\""), now()).unwrap_err();
        assert_eq!(e.field, "body");
    }

    #[test]
    fn workflow_v3_contact_becomes_a_form_lead() {
        let body = serde_json::to_vec(&v3_contact()).unwrap();
        let parsed = Hubspot.parse(&request(URL, &body), now()).unwrap();
        assert!(parsed.lookups.is_empty());
        let e = &parsed.events[0];
        assert_eq!(e.source.as_str(), "hubspot");
        assert_eq!(e.channel, Channel::WebForm);
        assert_eq!(
            e.provider_event_id.as_str(),
            "hubspot-contact-1246978-2026-11-24T10:00:00.000Z"
        );
        let EventKind::FormLead(lead) = &e.kind else {
            panic!("expected a form lead");
        };
        let b = &lead.buyer;
        assert_eq!(b.email.as_str(), "dana.reyes@brightline.io");
        assert_eq!(b.name.as_deref(), Some("Dana Reyes"));
        assert_eq!(b.company.as_deref(), Some("Brightline"));
        assert_eq!(b.role.as_deref(), Some("VP Sales"));
        assert_eq!(b.phone.as_deref(), Some("+49 30 1234567"));
        assert_eq!(b.country.as_deref(), Some("DE"));
        assert_eq!(b.employees, Some(201));
        assert_eq!(b.company_domain.as_ref().unwrap().as_str(), "brightline.io");
        assert_eq!(lead.message, "We need routing for 40 reps.");
        assert_eq!(lead.fields["hubspot_contact_id"], "1246978");
        assert_eq!(lead.fields["lifecyclestage"], "lead");

        // A retry is the same event; a later change of the same contact a new one.
        let again = Hubspot.parse(&request(URL, &body), now()).unwrap();
        assert_eq!(again.events[0].provider_event_id, e.provider_event_id);
        let mut later = v3_contact();
        later["properties"]["lastmodifieddate"] = "2026-12-01T08:00:00.000Z".into();
        let later = Hubspot
            .parse(&request(URL, &serde_json::to_vec(&later).unwrap()), now())
            .unwrap();
        assert_ne!(later.events[0].provider_event_id, e.provider_event_id);
    }

    #[test]
    fn workflow_legacy_v1_contact_becomes_a_form_lead() {
        let body = serde_json::json!({
            "vid": 3234574,
            "canonical-vid": 3234574,
            "properties": {
                "firstname": {"value": "Katrin"},
                "lastname": {"value": "Vogel"},
                "company": {"value": "Nordwind"},
                "lastmodifieddate": {"value": "1484026585538"}
            },
            "identity-profiles": [{"identities": [
                {"type": "EMAIL", "value": "katrin@nordwind.de"},
                {"type": "LEAD_GUID", "value": "abc"}
            ]}]
        });
        let parsed = Hubspot
            .parse(&request(URL, body.to_string().as_bytes()), now())
            .unwrap();
        let e = &parsed.events[0];
        assert_eq!(
            e.provider_event_id.as_str(),
            "hubspot-contact-3234574-1484026585538"
        );
        assert_eq!(e.buyer().email.as_str(), "katrin@nordwind.de");
        assert_eq!(e.buyer().name.as_deref(), Some("Katrin Vogel"));
        assert_eq!(e.buyer().company.as_deref(), Some("Nordwind"));
    }

    #[test]
    fn contact_without_dates_dedups_on_the_body_and_without_email_is_refused() {
        let body = br#"{"id":"7","properties":{"email":"a@acme.com"}}"#;
        let first = Hubspot.parse(&request(URL, body), now()).unwrap();
        let again = Hubspot.parse(&request(URL, body), now()).unwrap();
        let id = first.events[0].provider_event_id.as_str();
        assert!(id.starts_with("hubspot-contact-7-sha256-"), "{id}");
        assert_eq!(again.events[0].provider_event_id.as_str(), id);
        let e = Hubspot
            .parse(&request(URL, br#"{"id":"7","properties":{}}"#), now())
            .unwrap_err();
        assert_eq!(e.field, "properties.email");
        let e = Hubspot
            .parse(
                &request(URL, br#"{"properties":{"email":"a@acme.com"}}"#),
                now(),
            )
            .unwrap_err();
        assert_eq!(e.field, "id");
    }

    #[test]
    fn fetched_contact_becomes_the_lookups_event() {
        let lookup = ContactLookup {
            object_id: "1246978".into(),
            provider_event_id: "3816279480".into(),
            subscription_type: "contact.creation".into(),
            occurred_at: DateTime::from_timestamp_millis(1_462_216_307_945),
        };
        let contact = v3_contact();
        assert_eq!(contact_id(&contact).as_deref(), Some("1246978"));
        let e = contact_to_event(&contact, &lookup, now()).unwrap();
        assert_eq!(e.provider_event_id.as_str(), "3816279480");
        assert_eq!(e.source.as_str(), "hubspot");
        assert_eq!(e.received_at, now());
        assert_eq!(e.buyer().email.as_str(), "dana.reyes@brightline.io");
        let EventKind::FormLead(lead) = &e.kind else {
            panic!("expected a form lead");
        };
        assert_eq!(lead.fields["hubspot_subscription"], "contact.creation");
        let e = contact_to_event(&serde_json::json!([]), &lookup, now()).unwrap_err();
        assert_eq!(e.field, "contact");
    }

    #[test]
    fn refusals_name_the_problem() {
        let secrets = Secrets::parse("test-secret").unwrap();
        let mut tampered = signed("test-secret", DOCS_BATCH, now());
        tampered.body[3] ^= 1;
        assert_eq!(
            Hubspot.verify(&tampered, &secrets, now()),
            Err(AuthError::BadSignature("X-HubSpot-Signature-v3"))
        );
        let mut other_url = signed("test-secret", DOCS_BATCH, now());
        other_url.url.push_str("?x=1");
        assert_eq!(
            Hubspot.verify(&other_url, &secrets, now()),
            Err(AuthError::BadSignature("X-HubSpot-Signature-v3"))
        );
        assert_eq!(
            Hubspot.verify(&signed("wrong", DOCS_BATCH, now()), &secrets, now()),
            Err(AuthError::BadSignature("X-HubSpot-Signature-v3"))
        );
        let old = signed(
            "test-secret",
            DOCS_BATCH,
            now() - chrono::Duration::seconds(301),
        );
        assert!(matches!(
            Hubspot.verify(&old, &secrets, now()),
            Err(AuthError::Expired { max_secs: 300, .. })
        ));
        let ahead = signed(
            "test-secret",
            DOCS_BATCH,
            now() + chrono::Duration::seconds(301),
        );
        assert!(matches!(
            Hubspot.verify(&ahead, &secrets, now()),
            Err(AuthError::Expired { .. })
        ));
        let mut no_ts = signed("test-secret", DOCS_BATCH, now());
        no_ts.headers.retain(|(k, _)| k != TIMESTAMP_HEADER);
        assert_eq!(
            Hubspot.verify(&no_ts, &secrets, now()),
            Err(AuthError::MissingHeader("X-HubSpot-Request-Timestamp"))
        );
        let mut seconds = signed("test-secret", DOCS_BATCH, now());
        seconds.set_header(TIMESTAMP_HEADER, "17e8");
        assert!(matches!(
            Hubspot.verify(&seconds, &secrets, now()),
            Err(AuthError::Malformed { .. })
        ));
        assert_eq!(
            Hubspot.verify(&request(URL, DOCS_BATCH), &secrets, now()),
            Err(AuthError::MissingHeader("X-HubSpot-Signature-v3"))
        );
    }

    #[test]
    fn legacy_signatures_are_refused() {
        // The documented v1 request, correctly signed, is still refused: no timestamp.
        let r = RawRequest::post(
            URL,
            &[
                (
                    "X-HubSpot-Signature",
                    "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de",
                ),
                ("X-HubSpot-Signature-Version", "v1"),
            ],
            V1_EXAMPLE.to_vec(),
        );
        let secrets = Secrets::parse("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy").unwrap();
        assert_eq!(
            Hubspot.verify(&r, &secrets, now()),
            Err(AuthError::MissingHeader("X-HubSpot-Signature-v3"))
        );
    }

    #[test]
    fn sign_verify_round_trip_and_rotation() {
        let secrets = Secrets::parse("new,old").unwrap();
        for secret in ["new", "old"] {
            let r = signed(secret, DOCS_BATCH, now());
            assert!(Hubspot.verify(&r, &secrets, now()).is_ok(), "{secret}");
        }
        assert!(Hubspot
            .verify(&signed("older", DOCS_BATCH, now()), &secrets, now())
            .is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            signature in ".{0,80}",
            timestamp in ".{0,24}",
            millis in any::<i64>(),
        ) {
            let secrets = Secrets::parse("test-secret").unwrap();
            for ts in [timestamp.clone(), millis.to_string()] {
                let r = RawRequest::post(
                    URL,
                    &[
                        ("x-hubspot-signature-v3", signature.as_str()),
                        ("x-hubspot-request-timestamp", ts.as_str()),
                    ],
                    body.clone(),
                );
                let _ = Hubspot.verify(&r, &secrets, now());
                let _ = Hubspot.parse(&r, now());
            }
        }

        #[test]
        fn mutated_payloads_never_panic(at in any::<usize>(), byte in any::<u8>(), which in 0..3usize) {
            let contact = serde_json::to_vec(&v3_contact()).unwrap();
            let mut body = [DOCS_BATCH, V1_EXAMPLE, contact.as_slice()][which].to_vec();
            let at = at % body.len();
            body[at] = byte;
            let r = request(URL, &body);
            let _ = Hubspot.parse(&r, now());
            if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                let lookup = ContactLookup {
                    object_id: "1".into(),
                    provider_event_id: "2".into(),
                    subscription_type: "contact.creation".into(),
                    occurred_at: None,
                };
                let _ = contact_to_event(&value, &lookup, now());
            }
        }
    }
}
