//! [`HubspotCrm`]: the HubSpot adapter behind the domain's [`Crm`] port.
//!
//! # The calls
//!
//! Every call goes to `{api_url}` (`https://api.hubapi.com` unless `[crm.hubspot] api_url`
//! says otherwise) with `Authorization: Bearer <private-app token>`, the token read through the
//! secrets port (`hubspot_token`) on every `sync`, so a rotated token takes effect at once. The
//! private app needs the scope `crm.objects.contacts.write` (notes and tasks on contacts use it
//! too). All calls go through [`http::send`](super::http::send): explicit timeouts, backoff with
//! jitter, `Retry-After` respected.
//!
//! 1. **Contact upsert** — `POST /crm/v3/objects/contacts/batch/upsert` with
//!    `{"inputs":[{"idProperty":"email","id":<email>,"properties":{…}}]}` (HubSpot CRM API,
//!    *Contacts → Create or update a batch of contacts by unique property values*). The
//!    properties: `email`, `firstname` / `lastname` (split from the buyer's name), `company`,
//!    `jobtitle` (the buyer's role), `hubspot_owner_id` (left out for the shared queue, or `""`
//!    to clear an owner handoff wrote before), and every CRM field of the package under the
//!    property `[crm.hubspot.properties]` names (default `handoff_<field>`; inbound and
//!    outbound packages carry different fields). 200 and 201 both succeed; 207 multi-status
//!    with errors is refused with HubSpot's message.
//! 2. **Package note** — `POST /crm/v3/objects/notes` with `hs_timestamp`, `hs_note_body` (the
//!    package as HTML, ending with the handoff id) and `hubspot_owner_id`, associated to the
//!    contact in the same call (*Engagements → Notes*; association type `202` note → contact,
//!    `HUBSPOT_DEFINED`, from the v4 associations API's type list).
//! 3. **Owner task** — `POST /crm/v3/objects/tasks` with `hs_timestamp` (due: the SLA
//!    deadline), `hs_task_subject`, `hs_task_body` (the package as text, ending with the
//!    handoff id), `hs_task_status = NOT_STARTED`, `hs_task_priority` (`HIGH` for a hot SLA
//!    policy or a human-only decision, else `MEDIUM`), `hs_task_type = TODO` and
//!    `hubspot_owner_id`, associated to the contact in the same call (*Engagements → Tasks*;
//!    association type `204` task → contact).
//! 4. **Owner / due change** — `PATCH /crm/v3/objects/tasks/{taskId}` with `hubspot_owner_id`
//!    (`""` clears it for the shared queue) and `hs_timestamp` (*CRM objects → Update*); the
//!    contact's owner follows by running the upsert of step 1 again.
//! 5. **One note per owner change** — like step 2, with the change's line ("Moved from … to
//!    …: why."), HTML-escaped.
//!
//! Buyer text is escaped on the way in: the name, company and role are written as one line each
//! and the package's CRM fields keep `\n` as their only line break, without control or
//! invisible characters ([`escape`]); the note is the package's escaped HTML
//! ([`render::package_html`]), the task body its text ([`render::package_text`]), whose buyer
//! values cannot start a line of their own.
//!
//! # Exactly once
//!
//! HubSpot has no idempotency keys for creates, so the adapter relies on the refs the domain
//! saves after every [`CrmStep::Progress`]: each `sync` makes at most one create (note, task or
//! change note) and returns `Progress` right after it with the new id recorded (`note`,
//! `task`, `change_notes`, plus `contact`, `owner` and `due` as written). Idempotent calls
//! (the upsert, the task `PATCH`) are simply repeated when a retry gets there again. When the
//! refs show that everything matches the write, `sync` returns [`CrmStep::Done`] without any
//! HTTP call. The one window left is a create whose response is lost after HubSpot committed it
//! (a timeout at the wrong moment): the retry then creates it a second time, as any client of
//! an API without idempotency keys would.
//!
//! # Errors
//!
//! 429 waits `Retry-After`, or else HubSpot's `X-HubSpot-RateLimit-Interval-Milliseconds`
//! window (capped at the policy's `max_wait`), and is transient like 5xx and timeouts; the
//! daily limit is handed back to the queue at once. 400 (an unknown custom property names the
//! property and how to create it), 401 (the token), 403 (the missing scope) and 404 are
//! permanent, with HubSpot's `message` and `category`. The token never appears in errors or
//! logs.

use super::http::{self, default_verdict, retry_after, HttpPolicy, Response, Verdict};
use super::{required_secret, secret_names};
use crate::secrets::SecretSource;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use handoff_domain::config::HubspotSettings;
use handoff_domain::package::HandoffPackage;
use handoff_domain::ports::{Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError};
use handoff_domain::render;
use handoff_domain::render::escape;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// The `system` the refs name.
pub const SYSTEM: &str = "hubspot";
/// The contacts batch upsert path.
pub const UPSERT_PATH: &str = "/crm/v3/objects/contacts/batch/upsert";
/// The notes path.
pub const NOTES_PATH: &str = "/crm/v3/objects/notes";
/// The tasks path (`/{taskId}` to update one).
pub const TASKS_PATH: &str = "/crm/v3/objects/tasks";
/// HubSpot-defined association type: note → contact.
pub const NOTE_TO_CONTACT: u32 = 202;
/// HubSpot-defined association type: task → contact.
pub const TASK_TO_CONTACT: u32 = 204;
/// The scope the private app needs.
pub const REQUIRED_SCOPE: &str = "crm.objects.contacts.write";
/// The header HubSpot uses for its rolling rate-limit window.
pub const RATE_LIMIT_INTERVAL_HEADER: &str = "x-hubspot-ratelimit-interval-milliseconds";

/// The longest task subject written (HubSpot shows it in lists).
const SUBJECT_MAX: usize = 120;

/// Writes handoffs to HubSpot: contact, package note, owner task, owner-change notes.
pub struct HubspotCrm {
    settings: HubspotSettings,
    base: String,
    secrets: Arc<dyn SecretSource>,
    policy: HttpPolicy,
    http: reqwest::Client,
}

impl std::fmt::Debug for HubspotCrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubspotCrm")
            .field("api_url", &self.base)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl HubspotCrm {
    /// An adapter for `settings`, reading the token from `secrets` on every sync. Fails
    /// (permanently) when `api_url` is not an `http(s)` URL or no HTTP client can be built.
    pub fn new(
        settings: HubspotSettings,
        secrets: Arc<dyn SecretSource>,
        policy: HttpPolicy,
    ) -> Result<Self, DeliveryError> {
        let base = settings.api_url.trim().trim_end_matches('/').to_string();
        let valid = reqwest::Url::parse(&base)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !valid {
            return Err(DeliveryError::Permanent(format!(
                "[crm.hubspot] api_url {:?} is not an http(s) URL",
                settings.api_url
            )));
        }
        let http = policy.client()?;
        Ok(Self {
            settings,
            base,
            secrets,
            policy,
            http,
        })
    }

    /// The settings this adapter writes with.
    pub fn settings(&self) -> &HubspotSettings {
        &self.settings
    }

    /// One call: sends `body` as JSON with the bearer token, judges the answer the HubSpot way,
    /// and returns the response body as JSON. Errors never contain the token.
    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<(u16, Value), DeliveryError> {
        let url = format!("{}{path}", self.base);
        let policy = self.policy;
        let result = http::send(
            &self.policy,
            what,
            || {
                self.http
                    .request(method.clone(), &url)
                    .bearer_auth(token)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .json(body)
            },
            |r| judge(what, &policy, r),
        )
        .await;
        match result {
            Ok(r) => Ok((r.status, r.json())),
            Err(DeliveryError::Permanent(m)) => Err(DeliveryError::Permanent(redact(m, token))),
            Err(DeliveryError::Transient(m)) => Err(DeliveryError::Transient(redact(m, token))),
        }
    }

    /// Step 1: creates or updates the contact by email; its id.
    async fn upsert_contact(
        &self,
        token: &str,
        write: &CrmWrite,
        owner: Option<&str>,
    ) -> Result<String, DeliveryError> {
        let email = write.package.classification.buyer.email.to_string();
        let properties = contact_properties(&self.settings, write, owner);
        let body =
            json!({"inputs": [{"idProperty": "email", "id": email, "properties": properties}]});
        let what = "HubSpot contact upsert";
        let (_, answer) = self
            .call(token, reqwest::Method::POST, UPSERT_PATH, &body, what)
            .await?;
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        let chosen = results
            .iter()
            .find(|r| {
                r["properties"]["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
            })
            .or_else(|| results.first());
        chosen.and_then(object_id).ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "{what}: the answer names no contact (expected results[].id): {}",
                excerpt(&answer)
            ))
        })
    }

    /// Creates a note or task associated to `contact`; its id.
    async fn create(
        &self,
        token: &str,
        path: &str,
        what: &str,
        properties: Map<String, Value>,
        contact: &str,
        association: u32,
    ) -> Result<String, DeliveryError> {
        let body = json!({
            "properties": properties,
            "associations": [{
                "to": {"id": contact},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": association}]
            }]
        });
        let (_, answer) = self
            .call(token, reqwest::Method::POST, path, &body, what)
            .await?;
        object_id(&answer).ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "{what}: the answer names no object (expected an id): {}",
                excerpt(&answer)
            ))
        })
    }
}

#[async_trait]
impl Crm for HubspotCrm {
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        let mut refs = refs.for_system(SYSTEM);
        let handoff = write.package.handoff_id.to_string();
        let owner = owner_id(write);
        // Without an SLA the due time written first stays (a "now" would change every call).
        let due = write
            .package
            .sla
            .as_ref()
            .map(|s| s.deadline)
            .or(refs.due)
            .unwrap_or(write.now);
        let owner_changed = refs.owner != owner;
        let due_changed = refs.due != Some(due);
        let written_changes = refs.change_notes as usize;
        let changes_missing = written_changes < write.changes.len();
        if refs.contact.is_some()
            && refs.note.is_some()
            && refs.task.is_some()
            && !owner_changed
            && !due_changed
            && !changes_missing
        {
            return Ok(CrmStep::Done(refs));
        }

        let token = required_secret(self.secrets.as_ref(), secret_names::HUBSPOT_TOKEN).await?;

        let contact = match (&refs.contact, owner_changed) {
            (Some(c), false) => c.clone(),
            _ => {
                // Clear an owner handoff wrote before; never clear one it did not write.
                let owner_property = match (&owner, &refs.owner) {
                    (Some(o), _) => Some(o.as_str()),
                    (None, Some(_)) => Some(""),
                    (None, None) => None,
                };
                let id = self.upsert_contact(&token, write, owner_property).await?;
                tracing::debug!(handoff_id = %handoff, contact_id = %id, "hubspot contact upserted");
                refs.contact = Some(id.clone());
                if refs.task.is_none() {
                    refs.owner = owner.clone();
                }
                id
            }
        };

        if refs.note.is_none() {
            let mut properties = Map::new();
            properties.insert("hs_timestamp".into(), json!(timestamp(write.now)));
            properties.insert(
                "hs_note_body".into(),
                json!(format!(
                    "{}<p>Handoff id: {}</p>",
                    write.html,
                    render::escape_html(&handoff)
                )),
            );
            if let Some(o) = &owner {
                properties.insert("hubspot_owner_id".into(), json!(o));
            }
            let id = self
                .create(
                    &token,
                    NOTES_PATH,
                    "HubSpot note create",
                    properties,
                    &contact,
                    NOTE_TO_CONTACT,
                )
                .await?;
            tracing::info!(handoff_id = %handoff, contact_id = %contact, note_id = %id, "hubspot package note created");
            refs.note = Some(id);
            return Ok(CrmStep::Progress(refs));
        }

        if refs.task.is_none() {
            let properties = task_properties(write, owner.as_deref(), due);
            let id = self
                .create(
                    &token,
                    TASKS_PATH,
                    "HubSpot task create",
                    properties,
                    &contact,
                    TASK_TO_CONTACT,
                )
                .await?;
            tracing::info!(handoff_id = %handoff, contact_id = %contact, task_id = %id, "hubspot task created");
            refs.task = Some(id);
            refs.owner = owner;
            refs.due = Some(due);
            return Ok(CrmStep::Progress(refs));
        }

        if owner_changed || due_changed {
            let task = refs.task.clone().unwrap_or_default();
            let body = json!({"properties": {
                "hubspot_owner_id": owner.clone().unwrap_or_default(),
                "hs_timestamp": timestamp(due),
            }});
            let path = format!("{TASKS_PATH}/{task}");
            let what = format!("HubSpot task {task} update");
            self.call(&token, reqwest::Method::PATCH, &path, &body, &what)
                .await?;
            tracing::info!(handoff_id = %handoff, task_id = %task, "hubspot task owner and due updated");
            refs.owner = owner.clone();
            refs.due = Some(due);
        }

        if changes_missing {
            let change = &write.changes[written_changes];
            let mut properties = Map::new();
            properties.insert("hs_timestamp".into(), json!(timestamp(change.at)));
            properties.insert(
                "hs_note_body".into(),
                json!(change_note_body(&change.text, &handoff)),
            );
            if let Some(o) = &owner {
                properties.insert("hubspot_owner_id".into(), json!(o));
            }
            let id = self
                .create(
                    &token,
                    NOTES_PATH,
                    "HubSpot owner-change note create",
                    properties,
                    &contact,
                    NOTE_TO_CONTACT,
                )
                .await?;
            tracing::info!(handoff_id = %handoff, contact_id = %contact, note_id = %id, "hubspot owner-change note created");
            refs.change_notes += 1;
            return Ok(CrmStep::Progress(refs));
        }

        Ok(CrmStep::Done(refs))
    }
}

/// The HubSpot owner the write names (`None`: the shared queue, or a blank id).
fn owner_id(write: &CrmWrite) -> Option<String> {
    write
        .owner_ids
        .hubspot_owner_id
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string)
}

/// `hs_timestamp` text: RFC 3339 in UTC with milliseconds.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Splits a buyer's name into HubSpot's `firstname` / `lastname`: "Dana Scully" → (Dana,
/// Scully), "Scully, Dana" → (Dana, Scully), "Cher" → (Cher, none), "Anna van der Berg" →
/// (Anna, van der Berg).
fn split_name(name: &str) -> (Option<String>, Option<String>) {
    let clean = |s: &str| {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        (!s.is_empty()).then_some(s)
    };
    if let Some((last, first)) = name.split_once(',') {
        if let (Some(first), Some(last)) = (clean(first), clean(last)) {
            return (Some(first), Some(last));
        }
    }
    let mut words = name.split_whitespace();
    let first = words.next().map(str::to_string);
    let rest: Vec<&str> = words.collect();
    (first, (!rest.is_empty()).then(|| rest.join(" ")))
}

/// The contact's properties for the upsert. `owner`: the `hubspot_owner_id` to write (`""`
/// clears it), `None` to leave the contact's owner alone.
fn contact_properties(
    settings: &HubspotSettings,
    write: &CrmWrite,
    owner: Option<&str>,
) -> Map<String, Value> {
    let buyer = &write.package.classification.buyer;
    let mut p = Map::new();
    p.insert("email".into(), json!(buyer.email.as_str()));
    if let Some(name) = buyer.name.as_deref() {
        let (first, last) = split_name(&escape::plain_line(name));
        if let Some(first) = first {
            p.insert("firstname".into(), json!(first));
        }
        if let Some(last) = last {
            p.insert("lastname".into(), json!(last));
        }
    }
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(v) = value.map(escape::plain_line).filter(|v| !v.is_empty()) {
            p.insert(key.into(), json!(v));
        }
    };
    put("company", buyer.company.as_deref());
    put("jobtitle", buyer.role.as_deref());
    if let Some(o) = owner {
        p.insert("hubspot_owner_id".into(), json!(o));
    }
    for (field, value) in &write.fields {
        if let Some(property) = settings.property(*field) {
            p.insert(property, json!(escape::plain_text(value)));
        }
    }
    p
}

/// `HIGH` for a hot SLA policy (`inbound/hot`) or a decision only a human may take, else
/// `MEDIUM`.
fn task_priority(package: &HandoffPackage) -> &'static str {
    let hot = package
        .sla
        .as_ref()
        .is_some_and(|s| s.policy.to_ascii_lowercase().contains("hot"));
    if hot || package.classification.human_decision.is_some() {
        "HIGH"
    } else {
        "MEDIUM"
    }
}

/// "Handoff: <title>", at most [`SUBJECT_MAX`] characters.
fn task_subject(package: &HandoffPackage) -> String {
    let subject = format!("Handoff: {}", render::title(package));
    if subject.chars().count() <= SUBJECT_MAX {
        return subject;
    }
    let mut short: String = subject.chars().take(SUBJECT_MAX - 1).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

/// The task's properties (step 3).
fn task_properties(
    write: &CrmWrite,
    owner: Option<&str>,
    due: DateTime<Utc>,
) -> Map<String, Value> {
    let package = &write.package;
    let mut p = Map::new();
    p.insert("hs_timestamp".into(), json!(timestamp(due)));
    p.insert("hs_task_subject".into(), json!(task_subject(package)));
    p.insert(
        "hs_task_body".into(),
        json!(format!(
            "{}\n\nHandoff id: {}",
            write.text.trim_end(),
            package.handoff_id
        )),
    );
    p.insert("hs_task_status".into(), json!("NOT_STARTED"));
    p.insert("hs_task_priority".into(), json!(task_priority(package)));
    p.insert("hs_task_type".into(), json!("TODO"));
    if let Some(o) = owner {
        p.insert("hubspot_owner_id".into(), json!(o));
    }
    p
}

/// The body of an owner-change note: the change's line (one line), escaped, then the handoff id.
fn change_note_body(text: &str, handoff: &str) -> String {
    format!(
        "<p>{}</p><p>Handoff id: {}</p>",
        render::escape_html(&escape::plain_line(text)),
        render::escape_html(handoff)
    )
}

/// An object's id (HubSpot sends it as a string; a number is accepted too).
fn object_id(v: &Value) -> Option<String> {
    match &v["id"] {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn excerpt(v: &Value) -> String {
    let text = v.to_string();
    let mut out: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// Removes the token from a message, should an answer ever echo it.
fn redact(message: String, token: &str) -> String {
    if token.len() >= 4 && message.contains(token) {
        message.replace(token, "[redacted]")
    } else {
        message
    }
}

/// One property HubSpot refused.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PropertyError {
    name: String,
    /// `PROPERTY_DOESNT_EXIST`, `INVALID_OWNER_ID`, `INVALID_OPTION`…
    code: String,
    message: String,
}

/// What a HubSpot error body (`{"status":"error","message","category","errors":[…]}`) says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct HubspotError {
    message: String,
    category: String,
    properties: Vec<PropertyError>,
    scopes: Vec<String>,
    policy: String,
}

impl HubspotError {
    /// Reads an error body (anything else gives an empty error).
    fn parse(v: &Value) -> Self {
        let mut e = HubspotError {
            message: v["message"].as_str().unwrap_or_default().trim().to_string(),
            category: v["category"].as_str().unwrap_or_default().to_string(),
            policy: v["policyName"].as_str().unwrap_or_default().to_string(),
            ..Default::default()
        };
        // "Property values were not valid: [{\"isValid\":false,\"message\":…,\"error\":…,\"name\":…}]"
        if let Some(start) = e.message.find('[') {
            if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&e.message[start..]) {
                for item in &items {
                    if let Some(name) = item["name"].as_str() {
                        e.properties.push(PropertyError {
                            name: name.to_string(),
                            code: item["error"].as_str().unwrap_or_default().to_string(),
                            message: item["message"].as_str().unwrap_or_default().to_string(),
                        });
                    }
                }
                if !e.properties.is_empty() {
                    e.message = e.message[..start]
                        .trim_end()
                        .trim_end_matches(':')
                        .to_string();
                }
            }
        }
        for item in v["errors"].as_array().into_iter().flatten() {
            let code = item["code"]
                .as_str()
                .or_else(|| item["error"].as_str())
                .unwrap_or_default();
            let names = item["context"]["propertyName"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .chain(item["name"].as_str());
            for name in names {
                if !e.properties.iter().any(|p| p.name == name) {
                    e.properties.push(PropertyError {
                        name: name.to_string(),
                        code: code.to_string(),
                        message: item["message"].as_str().unwrap_or_default().to_string(),
                    });
                }
            }
            for scope in item["context"]["requiredGranularScopes"]
                .as_array()
                .into_iter()
                .chain(item["context"]["requiredScopes"].as_array())
                .flatten()
                .filter_map(Value::as_str)
            {
                if !e.scopes.iter().any(|s| s == scope) {
                    e.scopes.push(scope.to_string());
                }
            }
            // A batch answer's errors are whole error bodies themselves.
            if item["status"].as_str() == Some("error") && item.get("message").is_some() {
                let inner = HubspotError::parse(item);
                if e.message.is_empty() {
                    e.message = inner.message.clone();
                    e.category = inner.category.clone();
                }
                for p in inner.properties {
                    if !e.properties.iter().any(|q| q.name == p.name) {
                        e.properties.push(p);
                    }
                }
            }
        }
        if e.message.chars().count() > 300 {
            e.message = e.message.chars().take(300).collect::<String>() + "…";
        }
        e
    }

    /// `message (CATEGORY)`, or the raw excerpt when the body is not HubSpot's error shape.
    fn summary(&self, r: &Response) -> String {
        match (self.message.is_empty(), self.category.is_empty()) {
            (true, _) => r.excerpt(),
            (false, true) => self.message.clone(),
            (false, false) => format!("{} ({})", self.message, self.category),
        }
    }

    /// One readable sentence per refused property, with what to do about it.
    fn property_advice(&self) -> String {
        self.properties
            .iter()
            .map(|p| match p.code.as_str() {
                "PROPERTY_DOESNT_EXIST" => format!(
                    "the property {:?} does not exist in this HubSpot account (PROPERTY_DOESNT_EXIST): create the custom property, see README section \"CRM and notifications\", or map the field to another property, or to \"\" to leave it out, in [crm.hubspot.properties]",
                    p.name
                ),
                "INVALID_OWNER_ID" => format!(
                    "{:?}: {} (INVALID_OWNER_ID): check the rep's hubspot_owner_id in the roster",
                    p.name, p.message
                ),
                code => format!("the property {:?} was refused: {} ({code})", p.name, p.message),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// How HubSpot's answers are judged: [`default_verdict`] plus HubSpot's conventions (207
/// batch errors, rate-limit headers and policies, error bodies, scopes).
fn judge(what: &str, policy: &HttpPolicy, r: &Response) -> Verdict {
    let body = r.json();
    let error = HubspotError::parse(&body);
    match r.status {
        207 => {
            let errors = body["errors"].as_array().map(Vec::len).unwrap_or(0);
            let advice = error.property_advice();
            Verdict::Permanent(format!(
                "{what}: HubSpot refused {} of the inputs (HTTP 207): {}{}",
                errors.max(1),
                error.summary(r),
                if advice.is_empty() {
                    String::new()
                } else {
                    format!("; {advice}")
                }
            ))
        }
        200..=299 => Verdict::Success,
        429 => {
            if error.policy == "DAILY" {
                // Waiting seconds will not help: give the message back to the queue at once.
                return Verdict::Transient {
                    after: Some(Duration::from_secs(3600)),
                    reason: format!(
                        "{what}: HTTP 429, the HubSpot account's daily API limit is used up (it resets at midnight in the account's time zone): {}",
                        error.summary(r)
                    ),
                };
            }
            let after = retry_after(r).or_else(|| {
                r.header(RATE_LIMIT_INTERVAL_HEADER)
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|ms| Duration::from_millis(ms).min(policy.max_wait))
            });
            Verdict::Transient {
                after,
                reason: format!(
                    "{what}: HTTP 429, HubSpot rate limit{}: {}",
                    if error.policy.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", error.policy)
                    },
                    error.summary(r)
                ),
            }
        }
        400 => {
            let advice = error.property_advice();
            Verdict::Permanent(format!(
                "{what}: HTTP 400, HubSpot refused the request: {}{}",
                error.summary(r),
                if advice.is_empty() {
                    String::new()
                } else {
                    format!("; {advice}")
                }
            ))
        }
        401 => Verdict::Permanent(format!(
            "{what}: HTTP 401, HubSpot refused the credentials: the private-app token in the secret {} is missing, revoked or wrong: {}",
            secret_names::HUBSPOT_TOKEN,
            error.summary(r)
        )),
        403 => {
            let mut scopes = vec![REQUIRED_SCOPE.to_string()];
            for s in &error.scopes {
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
            Verdict::Permanent(format!(
                "{what}: HTTP 403, the HubSpot private app lacks a scope: grant it {} (Settings → Integrations → Private apps → Scopes): {}",
                scopes.join(", "),
                error.summary(r)
            ))
        }
        404 => Verdict::Permanent(format!(
            "{what}: HTTP 404, HubSpot does not know the object (deleted or merged in HubSpot?) or the path (check [crm.hubspot] api_url): {}",
            error.summary(r)
        )),
        _ => match default_verdict(what, r) {
            Verdict::Permanent(_) if !error.message.is_empty() => Verdict::Permanent(format!(
                "{what}: HTTP {}: {}",
                r.status,
                error.summary(r)
            )),
            other => other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_domain::config::HubspotSettings;
    use handoff_domain::package::CrmField;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Response {
            status,
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    const RATE_LIMITED: &str = r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c0ffee","policyName":"TEN_SECONDLY_ROLLING"}"#;

    #[test]
    fn names_are_split_into_first_and_last() {
        let s = |n: &str| {
            let (f, l) = split_name(n);
            (f.unwrap_or_default(), l.unwrap_or_default())
        };
        assert_eq!(s("Dana Scully"), ("Dana".into(), "Scully".into()));
        assert_eq!(s("  Dana   Scully "), ("Dana".into(), "Scully".into()));
        assert_eq!(s("Scully, Dana"), ("Dana".into(), "Scully".into()));
        assert_eq!(
            s("Anna van der Berg"),
            ("Anna".into(), "van der Berg".into())
        );
        assert_eq!(s("Cher"), ("Cher".into(), String::new()));
        assert_eq!(split_name("   "), (None, None));
        assert_eq!(split_name("Cher,"), (Some("Cher,".into()), None));
    }

    fn write_with(fields: Vec<(CrmField, String)>) -> CrmWrite {
        use handoff_domain::event::{Channel, MeetingStatus, Urgency};
        use handoff_domain::ids::{EmailAddress, HandoffId, ProviderEventId, SourceName};
        use handoff_domain::package::*;
        let source = SourceName::parse("website").unwrap();
        let package = HandoffPackage {
            handoff_id: HandoffId::for_event(&source, &ProviderEventId::parse("e1").unwrap()),
            classification: Classification {
                motion: Motion::Inbound,
                trigger: TriggerKind::DemoRequest,
                reply_class: None,
                qualification: Qualification::Qualified,
                risk_flags: vec![],
                human_decision: None,
                escalate: true,
                next_step: NextStep {
                    action: NextAction::CallToday,
                    detail: "Call Dana.".into(),
                },
                buyer: BuyerContext {
                    email: EmailAddress::parse("dana@acme.com").unwrap(),
                    name: Some("Dana Scully".into()),
                    company: Some("Acme".into()),
                    company_domain: None,
                    role: Some("Head of RevOps".into()),
                    country: None,
                    employees: None,
                    source: source.clone(),
                    channel: Channel::WebForm,
                    problem_statement: "Demo".into(),
                },
                motion_fields: MotionFields::Inbound {
                    source,
                    channel: Channel::WebForm,
                    qualification_answers: vec![],
                    urgency: Urgency::High,
                    meeting_status: MeetingStatus::NotOffered,
                    routing_reason: "round robin".into(),
                },
                automation: None,
                product_line: None,
                evidence: vec![],
                needs_confirmation: None,
            },
            owner: None,
            sla: Some(Sla {
                business_minutes: 60,
                deadline: Utc::now(),
                policy: "inbound/hot".into(),
            }),
            routing: vec![],
        };
        CrmWrite {
            package,
            fields,
            owner_ids: Default::default(),
            owner_display: String::new(),
            changes: vec![],
            text: "text".into(),
            html: "<p>html</p>".into(),
            now: Utc::now(),
        }
    }

    #[test]
    fn contact_properties_map_fields_through_the_settings() {
        let mut settings = HubspotSettings::default();
        settings
            .properties
            .insert("routing_reason".into(), "why_this_rep".into());
        settings.properties.insert("urgency".into(), "".into());
        let write = write_with(vec![
            (CrmField::HandoffId, "h_1".into()),
            (CrmField::Urgency, "high".into()),
            (CrmField::RoutingReason, "round robin".into()),
        ]);
        let p = contact_properties(&settings, &write, Some("77"));
        assert_eq!(p["email"], "dana@acme.com");
        assert_eq!(p["firstname"], "Dana");
        assert_eq!(p["lastname"], "Scully");
        assert_eq!(p["company"], "Acme");
        assert_eq!(p["jobtitle"], "Head of RevOps");
        assert_eq!(p["hubspot_owner_id"], "77");
        assert_eq!(p["handoff_handoff_id"], "h_1");
        assert_eq!(p["why_this_rep"], "round robin");
        assert!(!p.contains_key("handoff_urgency"), "\"\" leaves it out");
        assert!(!p.contains_key("handoff_routing_reason"));

        let queue = contact_properties(&settings, &write, None);
        assert!(
            !queue.contains_key("hubspot_owner_id"),
            "the shared queue writes no owner"
        );
        let cleared = contact_properties(&settings, &write, Some(""));
        assert_eq!(cleared["hubspot_owner_id"], "");
    }

    #[test]
    fn buyer_values_reach_hubspot_as_clean_lines() {
        let mut settings = HubspotSettings::default();
        settings
            .properties
            .insert("routing_reason".into(), "why_this_rep".into());
        let mut write = write_with(vec![
            (CrmField::RoutingReason, "a\u{7}\u{202E}b".into()),
            (
                CrmField::QualificationAnswers,
                "Budget: yes\r\nSeats: 40\u{1b}[2K".into(),
            ),
        ]);
        let b = &mut write.package.classification.buyer;
        b.name = Some("Ann\u{2028}Actions: Lee\u{200B}".into());
        b.company = Some("Acme\r\nInc".into());
        b.role = Some("\u{202E}CEO\u{85}".into());
        let p = contact_properties(&settings, &write, None);
        assert_eq!(p["firstname"], "Ann");
        assert_eq!(p["lastname"], "Actions: Lee");
        assert_eq!(p["company"], "Acme Inc");
        assert_eq!(p["jobtitle"], "CEO");
        assert_eq!(p["why_this_rep"], "ab");
        assert_eq!(
            p["handoff_qualification_answers"],
            "Budget: yes\nSeats: 40[2K"
        );
        let subject = task_subject(&write.package);
        assert!(!subject
            .chars()
            .any(|c| c.is_control() || escape::is_line_break(c)));
        assert_eq!(
            change_note_body("Moved\nActions: x", "h_1"),
            "<p>Moved Actions: x</p><p>Handoff id: h_1</p>"
        );
    }

    #[test]
    fn priority_is_high_for_hot_policies_and_human_lanes() {
        let mut write = write_with(vec![]);
        assert_eq!(task_priority(&write.package), "HIGH");
        write.package.sla.as_mut().unwrap().policy = "outbound/standard".into();
        assert_eq!(task_priority(&write.package), "MEDIUM");
        write.package.classification.human_decision =
            Some(handoff_domain::package::HumanLane::Pricing);
        assert_eq!(task_priority(&write.package), "HIGH");
        write.package.classification.human_decision = None;
        write.package.sla = None;
        assert_eq!(task_priority(&write.package), "MEDIUM");
        assert!(task_subject(&write.package).starts_with("Handoff: [inbound] demo request"));
        write.package.classification.buyer.name = Some("x".repeat(300));
        assert_eq!(task_subject(&write.package).chars().count(), SUBJECT_MAX);
    }

    #[test]
    fn a_429_waits_retry_after_or_the_rate_limit_window() {
        let policy = HttpPolicy::fast();
        let with_retry_after = response(
            429,
            &[("retry-after", "1"), (RATE_LIMIT_INTERVAL_HEADER, "10000")],
            RATE_LIMITED,
        );
        match judge("call", &policy, &with_retry_after) {
            Verdict::Transient { after, reason } => {
                assert_eq!(after, Some(Duration::from_secs(1)));
                assert!(reason.contains("TEN_SECONDLY_ROLLING"), "{reason}");
            }
            v => panic!("{v:?}"),
        }
        let window = response(429, &[(RATE_LIMIT_INTERVAL_HEADER, "300")], RATE_LIMITED);
        assert!(matches!(
            judge("call", &policy, &window),
            Verdict::Transient { after: Some(a), .. } if a == Duration::from_millis(300)
        ));
        let long_window = response(429, &[(RATE_LIMIT_INTERVAL_HEADER, "10000")], RATE_LIMITED);
        assert!(matches!(
            judge("call", &policy, &long_window),
            Verdict::Transient { after: Some(a), .. } if a == policy.max_wait
        ));
        let bare = response(429, &[], RATE_LIMITED);
        assert!(matches!(
            judge("call", &policy, &bare),
            Verdict::Transient { after: None, .. }
        ));
        let daily = response(
            429,
            &[],
            r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}"#,
        );
        match judge("call", &policy, &daily) {
            Verdict::Transient {
                after: Some(a),
                reason,
            } => {
                assert!(a > policy.max_wait, "handed back to the queue at once");
                assert!(reason.contains("daily"), "{reason}");
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn errors_name_the_property_the_credentials_and_the_scope() {
        let policy = HttpPolicy::fast();
        let missing = response(
            400,
            &[],
            r#"{"status":"error","message":"Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"handoff_urgency\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"handoff_urgency\"}]","correlationId":"x","category":"VALIDATION_ERROR"}"#,
        );
        let Verdict::Permanent(m) = judge("HubSpot contact upsert", &policy, &missing) else {
            panic!()
        };
        assert!(m.contains("\"handoff_urgency\" does not exist"), "{m}");
        assert!(m.contains("create the custom property, see README"), "{m}");
        assert!(m.contains("VALIDATION_ERROR"), "{m}");

        let unauthorized = response(
            401,
            &[],
            r#"{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}"#,
        );
        let Verdict::Permanent(m) = judge("call", &policy, &unauthorized) else {
            panic!()
        };
        assert!(
            m.contains("credentials") && m.contains("hubspot_token"),
            "{m}"
        );
        assert!(m.contains("INVALID_AUTHENTICATION"), "{m}");

        let scope = response(
            403,
            &[],
            r#"{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.objects.contacts.write"]}}],"category":"MISSING_SCOPES"}"#,
        );
        let Verdict::Permanent(m) = judge("call", &policy, &scope) else {
            panic!()
        };
        assert!(
            m.contains("crm.objects.contacts.write") && m.contains("MISSING_SCOPES"),
            "{m}"
        );

        let multi = response(
            207,
            &[],
            r#"{"status":"COMPLETE","results":[],"numErrors":1,"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"handoff_x\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"handoff_x\"}]"}]}"#,
        );
        let Verdict::Permanent(m) = judge("call", &policy, &multi) else {
            panic!()
        };
        assert!(m.contains("HTTP 207") && m.contains("handoff_x"), "{m}");

        assert_eq!(
            judge("call", &policy, &response(201, &[], "{}")),
            Verdict::Success
        );
        assert!(matches!(
            judge("call", &policy, &response(503, &[], "down")),
            Verdict::Transient { .. }
        ));
        assert!(matches!(
            judge("call", &policy, &response(404, &[], r#"{"status":"error","message":"resource not found","category":"OBJECT_NOT_FOUND"}"#)),
            Verdict::Permanent(m) if m.contains("OBJECT_NOT_FOUND")
        ));
    }

    #[test]
    fn the_token_is_redacted() {
        assert_eq!(
            redact("echo pat-secret-1".into(), "pat-secret-1"),
            "echo [redacted]"
        );
    }
}
