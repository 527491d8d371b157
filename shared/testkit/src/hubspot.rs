//! A local stand-in for HubSpot's CRM API.
//!
//! Two ways to run it:
//!
//! - [`serve`]: only the documented `POST /crm/v3/objects/contacts/batch/read` ([`BATCH_READ`]),
//!   for the tests that replay HubSpot's Webhooks API examples (which name contacts without
//!   their data). Contacts it returns are realistic leads keyed by id ([`contact_email`]).
//! - [`HubspotStandIn`]: the calls the CRM adapter makes as well, holding what they wrote:
//!   `POST /crm/v3/objects/contacts/batch/upsert` (by `email`), `POST /crm/v3/objects/notes`,
//!   `POST /crm/v3/objects/tasks`, `PATCH /crm/v3/objects/tasks/{taskId}` (and the batch read).
//!
//! Every request must carry `Authorization: Bearer <token>` (else 401
//! `INVALID_AUTHENTICATION`), a JSON content type (else 415) and a body of the documented
//! shape: upsert `inputs[]` with `idProperty = "email"`, `id` and `properties`; notes with
//! `hs_timestamp` and `hs_note_body`; tasks with `hs_timestamp` and `hs_task_subject` and
//! valid `hs_task_status` / `hs_task_priority` / `hs_task_type` options; associations as
//! `[{"to":{"id"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":202}]}]`
//! (`204` for tasks) naming an existing contact. Anything else is a 400 `VALIDATION_ERROR` with
//! HubSpot's message shapes (an unknown contact property is `PROPERTY_DOESNT_EXIST`, named in
//! the message exactly as HubSpot embeds it); updating an unknown task is 404. The stand-in
//! appends each request to the [`CallLog`] (service `hubspot`) and then applies the next
//! [`Faults`] entry before answering.

use crate::delivery::CrmSeen;
use crate::standin::{CallLog, Faults};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use handoff_domain::ids::HandoffId;
use handoff_domain::package::CrmField;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// The path of the batch read.
pub const BATCH_READ: &str = "/crm/v3/objects/contacts/batch/read";
/// The path of the contacts batch upsert.
pub const BATCH_UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";
/// The path of the notes.
pub const NOTES: &str = "/crm/v3/objects/notes";
/// The path of the tasks.
pub const TASKS: &str = "/crm/v3/objects/tasks";
/// The service name in the [`CallLog`].
pub const SERVICE: &str = "hubspot";

/// The email the stand-in gives contact `id`.
pub fn contact_email(id: &str) -> String {
    format!("lead-{id}@brightline-freight.com")
}

/// Serves the stand-in on 127.0.0.1 (a free port) for as long as the runtime lives; its base URL.
pub async fn serve(token: &'static str) -> String {
    let app =
        Router::new().route(
            BATCH_READ,
            post(move |headers: HeaderMap, body: String| async move {
                batch_read(token, &headers, &body)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn batch_read(token: &str, headers: &HeaderMap, body: &str) -> (StatusCode, String) {
    batch_read_with(token, headers, body, |_| None)
}

/// The batch read; `stored` gives a contact the stand-in holds by id, if any.
fn batch_read_with(
    token: &str,
    headers: &HeaderMap,
    body: &str,
    stored: impl Fn(&str) -> Option<Value>,
) -> (StatusCode, String) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(format!("Bearer {token}").as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}).to_string(),
        );
    }
    let request: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                json!({"status": "error", "message": e.to_string()}).to_string(),
            )
        }
    };
    let (Some(inputs), Some(_)) = (
        request["inputs"].as_array(),
        request["properties"].as_array(),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"status": "error", "message": "inputs and properties are required", "category": "VALIDATION_ERROR"}).to_string(),
        );
    };
    let results: Vec<Value> = inputs
        .iter()
        .filter_map(|i| i["id"].as_str())
        .map(|id| {
            stored(id).unwrap_or_else(|| {
                json!({
                    "id": id,
                    "properties": {
                        "email": contact_email(id),
                        "firstname": "Sam",
                        "lastname": format!("Contact{id}"),
                        "company": "Brightline Freight",
                        "jobtitle": "VP Sales",
                        "numemployees": "650",
                        "message": "We want a demo of lead routing for our 40 reps this quarter.",
                        "hs_object_id": id,
                        "lastmodifieddate": "2026-11-24T09:00:00Z"
                    },
                    "createdAt": "2026-11-24T08:00:00Z",
                    "updatedAt": "2026-11-24T09:00:00Z",
                    "archived": false
                })
            })
        })
        .collect();
    (
        StatusCode::OK,
        json!({"status": "COMPLETE", "results": results, "startedAt": "2026-11-24T09:00:00Z", "completedAt": "2026-11-24T09:00:00Z"}).to_string(),
    )
}

/// The standard contact properties the stand-in knows (beyond `handoff_<field>`).
pub const STANDARD_CONTACT_PROPERTIES: &[&str] = &[
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "phone",
    "mobilephone",
    "country",
    "city",
    "state",
    "website",
    "numemployees",
    "industry",
    "message",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
];

/// The contact properties a fresh stand-in knows: the standard ones and `handoff_<field>` for
/// every [`CrmField`] (the custom properties the README asks you to create).
pub fn default_contact_properties() -> BTreeSet<String> {
    STANDARD_CONTACT_PROPERTIES
        .iter()
        .map(|p| p.to_string())
        .chain(
            CrmField::ALL
                .iter()
                .map(|f| format!("handoff_{}", f.as_str())),
        )
        .collect()
}

const NOTE_PROPERTIES: &[&str] = &[
    "hs_timestamp",
    "hs_note_body",
    "hubspot_owner_id",
    "hs_attachment_ids",
];
const TASK_PROPERTIES: &[&str] = &[
    "hs_timestamp",
    "hs_task_subject",
    "hs_task_body",
    "hs_task_status",
    "hs_task_priority",
    "hs_task_type",
    "hs_task_reminders",
    "hubspot_owner_id",
];
const TASK_STATUSES: &[&str] = &[
    "NOT_STARTED",
    "IN_PROGRESS",
    "WAITING",
    "COMPLETED",
    "DEFERRED",
];
const TASK_PRIORITIES: &[&str] = &["NONE", "LOW", "MEDIUM", "HIGH"];
const TASK_TYPES: &[&str] = &["TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING"];

/// An association of a note or task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// The contact id.
    pub to: String,
    pub category: String,
    pub type_id: u64,
}

/// A contact, note or task the stand-in holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub id: String,
    /// Property values as HubSpot stores them (text; `""` for a cleared value).
    pub properties: BTreeMap<String, String>,
    /// The contacts a note or task is associated with (empty for contacts).
    pub associations: Vec<Association>,
}

impl StoredObject {
    /// A property's value, `None` when absent or empty.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether the object is associated with contact `id`.
    pub fn associated_with(&self, contact: &str) -> bool {
        self.associations.iter().any(|a| a.to == contact)
    }

    fn to_json(&self) -> Value {
        let mut properties: Map<String, Value> = self
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        properties.insert("hs_object_id".into(), json!(self.id));
        properties.insert("createdate".into(), json!("2030-01-07T09:00:00.000Z"));
        properties.insert("lastmodifieddate".into(), json!("2030-01-07T09:00:00.000Z"));
        json!({
            "id": self.id,
            "properties": properties,
            "createdAt": "2030-01-07T09:00:00.000Z",
            "updatedAt": "2030-01-07T09:00:00.000Z",
            "archived": false
        })
    }
}

/// A request as the stand-in received it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

#[derive(Debug)]
struct Store {
    next_id: u64,
    /// By lower-cased email.
    contacts: BTreeMap<String, StoredObject>,
    notes: Vec<StoredObject>,
    tasks: Vec<StoredObject>,
    known_properties: BTreeSet<String>,
    requests: Vec<SeenRequest>,
}

impl Store {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }
    fn contact_by_id(&self, id: &str) -> Option<&StoredObject> {
        self.contacts.values().find(|c| c.id == id)
    }
}

struct Inner {
    token: &'static str,
    store: Mutex<Store>,
    log: CallLog,
    faults: Faults,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The HubSpot stand-in (see the module docs); it serves until the runtime ends.
#[derive(Clone)]
pub struct HubspotStandIn {
    base_url: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HubspotStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubspotStandIn")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HubspotStandIn {
    /// Starts the stand-in on 127.0.0.1 (a free port), accepting `token`, knowing the
    /// [`default_contact_properties`].
    pub async fn start(token: &'static str, log: CallLog, faults: Faults) -> HubspotStandIn {
        Self::start_with_properties(token, log, faults, default_contact_properties()).await
    }

    /// Like [`HubspotStandIn::start`], knowing only the contact properties `known`.
    pub async fn start_with_properties(
        token: &'static str,
        log: CallLog,
        faults: Faults,
        known: BTreeSet<String>,
    ) -> HubspotStandIn {
        let inner = Arc::new(Inner {
            token,
            store: Mutex::new(Store {
                next_id: 1000,
                contacts: BTreeMap::new(),
                notes: Vec::new(),
                tasks: Vec::new(),
                known_properties: known,
                requests: Vec::new(),
            }),
            log,
            faults,
        });
        let app = Router::new()
            .route(BATCH_READ, post(read_route))
            .route(BATCH_UPSERT, post(upsert_route))
            .route(NOTES, post(note_route))
            .route(TASKS, post(task_route))
            .route(&format!("{TASKS}/{{task_id}}"), patch(task_update_route))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HubspotStandIn {
            base_url: format!("http://{addr}"),
            inner,
        }
    }

    /// `http://127.0.0.1:<port>` (the adapter's `api_url`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The call log it appends to.
    pub fn log(&self) -> &CallLog {
        &self.inner.log
    }

    /// The faults it applies.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Every request received, in order (refused ones included).
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.inner.lock().requests.clone()
    }

    /// Makes a contact property known (as if created in HubSpot).
    pub fn add_property(&self, name: &str) {
        self.inner.lock().known_properties.insert(name.to_string());
    }

    /// Forgets a contact property (writing it is then `PROPERTY_DOESNT_EXIST`).
    pub fn remove_property(&self, name: &str) {
        self.inner.lock().known_properties.remove(name);
    }

    /// The contact with this email.
    pub fn contact(&self, email: &str) -> Option<StoredObject> {
        self.inner
            .lock()
            .contacts
            .get(&email.trim().to_ascii_lowercase())
            .cloned()
    }

    /// Every contact.
    pub fn contacts(&self) -> Vec<StoredObject> {
        self.inner.lock().contacts.values().cloned().collect()
    }

    /// Every note, oldest first.
    pub fn notes(&self) -> Vec<StoredObject> {
        self.inner.lock().notes.clone()
    }

    /// Every task, oldest first.
    pub fn tasks(&self) -> Vec<StoredObject> {
        self.inner.lock().tasks.clone()
    }

    /// The notes associated with the contact of this email, oldest first.
    pub fn notes_for(&self, email: &str) -> Vec<StoredObject> {
        let Some(contact) = self.contact(email) else {
            return Vec::new();
        };
        self.notes()
            .into_iter()
            .filter(|n| n.associated_with(&contact.id))
            .collect()
    }

    /// The tasks associated with the contact of this email, oldest first.
    pub fn tasks_for(&self, email: &str) -> Vec<StoredObject> {
        let Some(contact) = self.contact(email) else {
            return Vec::new();
        };
        self.tasks()
            .into_iter()
            .filter(|t| t.associated_with(&contact.id))
            .collect()
    }

    /// What HubSpot holds for one handoff, for the CRM conformance cases. Fixture handoffs share
    /// the buyer's contact, so notes and tasks are told apart by the handoff id in their body:
    /// `packages` are such notes, `change_notes` those starting with "Moved from" or "New
    /// touch:", `tasks`
    /// such tasks, `owner` the last such task's `hubspot_owner_id`, and `contacts` the contacts
    /// whose `handoff_handoff_id` is the id or that those notes and tasks are associated with.
    pub fn seen(&self, id: &HandoffId) -> CrmSeen {
        let id = id.as_str();
        let store = self.inner.lock();
        let mine = |o: &&StoredObject, body: &str| o.property(body).is_some_and(|b| b.contains(id));
        let notes: Vec<&StoredObject> = store
            .notes
            .iter()
            .filter(|n| mine(n, "hs_note_body"))
            .collect();
        let tasks: Vec<&StoredObject> = store
            .tasks
            .iter()
            .filter(|t| mine(t, "hs_task_body"))
            .collect();
        let is_change = |n: &&&StoredObject| {
            strip_tags(n.property("hs_note_body").unwrap_or_default())
                .trim_start()
                .starts_with("Moved from")
                || strip_tags(n.property("hs_note_body").unwrap_or_default())
                    .trim_start()
                    .starts_with("New touch:")
        };
        let change_notes = notes.iter().filter(is_change).count();
        let mut contacts: BTreeSet<&str> = store
            .contacts
            .values()
            .filter(|c| c.property("handoff_handoff_id") == Some(id))
            .map(|c| c.id.as_str())
            .collect();
        contacts.extend(
            notes
                .iter()
                .chain(tasks.iter())
                .flat_map(|o| o.associations.iter())
                .filter(|a| store.contact_by_id(&a.to).is_some())
                .map(|a| a.to.as_str()),
        );
        CrmSeen {
            contacts: contacts.len(),
            packages: notes.len() - change_notes,
            tasks: tasks.len(),
            change_notes,
            owner: tasks
                .last()
                .and_then(|t| t.property("hubspot_owner_id"))
                .map(str::to_string),
        }
    }
}

/// Text without HTML tags.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// An error answer, boxed (responses are large).
type Refused = Box<Response>;

fn correlation_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "0b8c1f2e-0000-4000-8000-{:012x}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// HubSpot's error body.
fn error(status: StatusCode, category: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({
            "status": "error",
            "message": message.into(),
            "correlationId": correlation_id(),
            "category": category,
        })),
    )
        .into_response()
}

fn validation(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
}

/// HubSpot's "Property values were not valid" error, one entry per refused property.
fn invalid_properties(items: Vec<(String, &str, String)>) -> Response {
    let details: Vec<Value> = items
        .iter()
        .map(|(name, code, message)| {
            json!({
                "isValid": false,
                "message": message,
                "error": code,
                "name": name,
                "localizedErrorMessage": message,
            })
        })
        .collect();
    validation(format!(
        "Property values were not valid: {}",
        Value::Array(details)
    ))
}

/// Logs the request, applies the next fault, then checks the token and content type and
/// parses the JSON body.
async fn accept(
    inner: &Inner,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &str,
) -> Result<Value, Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    inner.log.push(SERVICE, method.as_str(), uri.path());
    inner.lock().requests.push(SeenRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    });
    if let Some(response) = inner.faults.apply().await {
        return Err(response);
    }
    if header("authorization").as_deref() != Some(format!("Bearer {}", inner.token).as_str()) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        ));
    }
    let json_type = header("content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json_type {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "VALIDATION_ERROR",
            "Content type must be application/json",
        ));
    }
    let value: Value = serde_json::from_str(body).map_err(|e| {
        validation(format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if !value.is_object() {
        return Err(validation("Invalid input JSON: expected an object"));
    }
    Ok(value)
}

/// A `properties` object as text values; non-scalar values are refused.
fn properties_of(value: &Value, what: &str) -> Result<BTreeMap<String, String>, Refused> {
    let Some(map) = value.as_object() else {
        return Err(Box::new(validation(format!(
            "{what}: properties must be an object"
        ))));
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            _ => {
                return Err(Box::new(invalid_properties(vec![(
                    k.clone(),
                    "INVALID_PROPERTY_VALUE",
                    format!("{v} is not a valid value for property {k:?}"),
                )])))
            }
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

fn unknown_properties(
    properties: &BTreeMap<String, String>,
    known: impl Fn(&str) -> bool,
) -> Vec<(String, &'static str, String)> {
    properties
        .keys()
        .filter(|k| !known(k))
        .map(|k| {
            (
                k.clone(),
                "PROPERTY_DOESNT_EXIST",
                format!("Property \"{k}\" does not exist"),
            )
        })
        .collect::<Vec<_>>()
}

/// Whether `hs_timestamp` is a UTC ISO-8601 time or epoch milliseconds.
fn valid_timestamp(v: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(v.trim()).is_ok() || v.trim().parse::<i64>().is_ok()
}

async fn read_route(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    inner.log.push(SERVICE, method.as_str(), uri.path());
    if let Some(response) = inner.faults.apply().await {
        return response;
    }
    let stored = |id: &str| inner.lock().contact_by_id(id).map(StoredObject::to_json);
    let (status, text) = batch_read_with(inner.token, &headers, &body, stored);
    (status, [("content-type", "application/json")], text).into_response()
}

async fn upsert_route(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(&inner, &method, &uri, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(inputs) = request["inputs"].as_array().filter(|i| !i.is_empty()) else {
        return validation("inputs: must not be empty");
    };
    if inputs.len() > 100 {
        return validation("inputs: at most 100 inputs per batch");
    }
    let mut parsed = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match input["idProperty"].as_str() {
            Some("email") => {}
            Some(other) => {
                return validation(format!(
                    "Unable to perform update/upsert by non-unique 0-1 property {other}"
                ))
            }
            None => {
                return validation(format!(
                    "inputs[{i}].idProperty: an upsert needs a unique property (\"email\")"
                ))
            }
        }
        let Some(email) = input["id"]
            .as_str()
            .map(str::trim)
            .filter(|e| e.contains('@'))
        else {
            return validation(format!(
                "inputs[{i}].id: the email to upsert by is required"
            ));
        };
        let properties = match properties_of(&input["properties"], &format!("inputs[{i}]")) {
            Ok(p) => p,
            Err(r) => return *r,
        };
        parsed.push((email.to_ascii_lowercase(), properties));
    }
    let mut store = inner.lock();
    let unknown: Vec<_> = parsed
        .iter()
        .flat_map(|(_, p)| unknown_properties(p, |k| store.known_properties.contains(k)))
        .collect();
    if !unknown.is_empty() {
        return invalid_properties(unknown);
    }
    let mut results = Vec::new();
    let mut created = false;
    for (email, properties) in parsed {
        let is_new = !store.contacts.contains_key(&email);
        if is_new {
            let id = store.new_id();
            store.contacts.insert(
                email.clone(),
                StoredObject {
                    id,
                    properties: BTreeMap::new(),
                    associations: Vec::new(),
                },
            );
        }
        created |= is_new;
        let contact = store.contacts.get_mut(&email).expect("just inserted");
        contact.properties.extend(properties);
        contact.properties.insert("email".into(), email.clone());
        let mut result = contact.to_json();
        result["new"] = json!(is_new);
        results.push(result);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(json!({
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2030-01-07T09:00:00.000Z",
            "completedAt": "2030-01-07T09:00:00.100Z",
        })),
    )
        .into_response()
}

/// Checks `associations` against the documented shape and the contacts held.
fn associations_of(
    store: &Store,
    value: &Value,
    type_id: u64,
    kind: &str,
) -> Result<Vec<Association>, Refused> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let Some(items) = value.as_array() else {
        return Err(Box::new(validation("associations: must be an array")));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let to = match &item["to"]["id"] {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(Box::new(validation(format!(
                    "associations[{i}].to.id: the id of the object to associate is required"
                ))))
            }
        };
        let Some(types) = item["types"].as_array().filter(|t| !t.is_empty()) else {
            return Err(Box::new(validation(format!(
                "associations[{i}].types: at least one association type is required"
            ))));
        };
        for (j, t) in types.iter().enumerate() {
            let category = t["associationCategory"].as_str().unwrap_or_default();
            if !matches!(
                category,
                "HUBSPOT_DEFINED" | "USER_DEFINED" | "INTEGRATOR_DEFINED"
            ) {
                return Err(Box::new(validation(format!(
                    "associations[{i}].types[{j}].associationCategory: {category:?} is not one of HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED"
                ))));
            }
            let Some(id) = t["associationTypeId"].as_u64() else {
                return Err(Box::new(validation(format!(
                    "associations[{i}].types[{j}].associationTypeId: a number is required"
                ))));
            };
            if category != "HUBSPOT_DEFINED" || id != type_id {
                return Err(Box::new(validation(format!(
                    "associations[{i}]: {category} {id} is not a valid association type from {kind} to contact (HUBSPOT_DEFINED {type_id})"
                ))));
            }
            out.push(Association {
                to: to.clone(),
                category: category.to_string(),
                type_id: id,
            });
        }
        if store.contact_by_id(&to).is_none() {
            return Err(Box::new(validation(format!(
                "One or more associations are invalid: contact {to} does not exist"
            ))));
        }
    }
    Ok(out)
}

/// Checks a task's enumerated properties.
fn check_task_options(properties: &BTreeMap<String, String>) -> Result<(), Refused> {
    let mut bad = Vec::new();
    for (name, allowed) in [
        ("hs_task_status", TASK_STATUSES),
        ("hs_task_priority", TASK_PRIORITIES),
        ("hs_task_type", TASK_TYPES),
    ] {
        if let Some(v) = properties.get(name) {
            if !allowed.contains(&v.as_str()) {
                bad.push((
                    name.to_string(),
                    "INVALID_OPTION",
                    format!(
                        "{v} was not one of the allowed options: [{}]",
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(v) = properties.get("hs_timestamp") {
        if !valid_timestamp(v) {
            bad.push((
                "hs_timestamp".to_string(),
                "INVALID_DATE",
                format!("{v} is not a valid date-time"),
            ));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Box::new(invalid_properties(bad)))
    }
}

/// Creates a note or task from a documented create body.
fn create_object(
    inner: &Inner,
    request: &Value,
    kind: &str,
    known: &[&str],
    required: &[&str],
    type_id: u64,
) -> Response {
    let properties = match properties_of(&request["properties"], "properties") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let unknown = unknown_properties(&properties, |k| known.contains(&k));
    if !unknown.is_empty() {
        return invalid_properties(unknown);
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| properties.get(*r).is_none_or(|v| v.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return validation(format!(
            "Missing required properties for a {kind}: {}",
            missing.join(", ")
        ));
    }
    if !valid_timestamp(&properties["hs_timestamp"]) {
        return invalid_properties(vec![(
            "hs_timestamp".into(),
            "INVALID_DATE",
            format!("{} is not a valid date-time", properties["hs_timestamp"]),
        )]);
    }
    if kind == "task" {
        if let Err(r) = check_task_options(&properties) {
            return *r;
        }
    }
    let mut store = inner.lock();
    let associations = match associations_of(&store, &request["associations"], type_id, kind) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let object = StoredObject {
        id: store.new_id(),
        properties,
        associations,
    };
    let body = object.to_json();
    if kind == "task" {
        store.tasks.push(object);
    } else {
        store.notes.push(object);
    }
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn note_route(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    match accept(&inner, &method, &uri, &headers, &body).await {
        Ok(request) => create_object(
            &inner,
            &request,
            "note",
            NOTE_PROPERTIES,
            &["hs_timestamp", "hs_note_body"],
            202,
        ),
        Err(r) => r,
    }
}

async fn task_route(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    match accept(&inner, &method, &uri, &headers, &body).await {
        Ok(request) => create_object(
            &inner,
            &request,
            "task",
            TASK_PROPERTIES,
            &["hs_timestamp", "hs_task_subject"],
            204,
        ),
        Err(r) => r,
    }
}

async fn task_update_route(
    State(inner): State<Arc<Inner>>,
    Path(task_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(&inner, &method, &uri, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let properties = match properties_of(&request["properties"], "properties") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    if properties.is_empty() {
        return validation("No properties found to update, please provide at least one.");
    }
    let unknown = unknown_properties(&properties, |k| TASK_PROPERTIES.contains(&k));
    if !unknown.is_empty() {
        return invalid_properties(unknown);
    }
    if let Err(r) = check_task_options(&properties) {
        return *r;
    }
    let mut store = inner.lock();
    let Some(task) = store.tasks.iter_mut().find(|t| t.id == task_id) else {
        return error(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        );
    };
    task.properties.extend(properties);
    (StatusCode::OK, Json(task.to_json())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_properties_cover_every_field() {
        let known = default_contact_properties();
        assert!(known.contains("email") && known.contains("hubspot_owner_id"));
        for f in CrmField::ALL {
            assert!(known.contains(&format!("handoff_{}", f.as_str())));
        }
    }

    #[test]
    fn tags_are_stripped() {
        assert_eq!(strip_tags("<p>Moved from <b>a</b></p>"), "Moved from a");
    }
}
