//! A local stand-in for the parts of Salesforce the CRM adapter uses, checking the documented
//! request shapes and answering with Salesforce's own shapes and error codes.
//!
//! - `POST /services/oauth2/token` (form): `client_credentials` (checks `client_id` and
//!   `client_secret`) and `urn:ietf:params:oauth:grant-type:jwt-bearer` (verifies the RS256
//!   signature with the configured public key, `iss` = client id, `sub` = username, `aud` =
//!   the stand-in's base URL, `exp` in the future and at most 5 minutes ahead). Answers
//!   `{"access_token","instance_url"(= its own base URL),"id","token_type","issued_at",
//!   "signature"}` (+ `expires_in` when a token lifetime is configured) or
//!   `400 {"error":"invalid_client"|"invalid_grant"|…,"error_description"}`.
//! - Under `/services/data/{api_version}/` (with `Authorization: Bearer <issued token>`, else
//!   `401 [{"errorCode":"INVALID_SESSION_ID"}]`): `GET query?q=<SOQL>` (a small SOQL subset:
//!   `SELECT f, … FROM Object [WHERE a = 'x' AND b = false AND c LIKE '%y' AND
//!   CreatedDate = LAST_N_DAYS:n] [ORDER BY f [ASC|DESC]] [LIMIT n]`; a badly escaped literal
//!   is `MALFORMED_QUERY`), `POST composite` (`allOrNone` with rollback and
//!   `PROCESSING_HALTED`, `@{ref.id}` / `@{ref.records[0].Id}` references, at most 25
//!   subrequests), `POST sobjects/{Lead,Contact,Task,Note}`, `PATCH` and `GET
//!   sobjects/{Object}/{id}`. Bodies must be JSON with known field names (unknown →
//!   `INVALID_FIELD`; extra Lead/Contact fields via [`SalesforceStandInConfig::custom_fields`]),
//!   required fields present (`REQUIRED_FIELD_MISSING`: Lead `LastName`, `Company`; Contact
//!   `LastName`; Task `Subject`; Note `ParentId`, `Title`), references valid (`WhoId`,
//!   `ParentId`, `OwnerId`: `INVALID_CROSS_REFERENCE_KEY`), picklists and dates valid, text
//!   within limits (`STRING_TOO_LONG`).
//!
//! Every HTTP call is appended to the [`CallLog`] as `salesforce <METHOD> <path>` (without the
//! query string) and to [`SalesforceStandIn::requests`] with its query and body. Queued
//! [`Faults`] apply to data calls only (so a test aims them at the API, not the sign-in),
//! unless [`SalesforceStandInConfig::faults_on_token`] is set. On a data call a [`Fault::Delay`]
//! does the work first and then waits before answering, as a slow Salesforce would: the work
//! is done even when the client gave up (the case an adapter must not repeat blindly).
//!
//! Records get realistic ids (`00Q…` Lead, `003…` Contact, `00T…` Task, `002…` Note). What the
//! adapter wrote for one handoff is found by its id ([`SalesforceStandIn::seen`]).
//!

use crate::delivery::CrmSeen;
use crate::standin::{CallLog, Fault, Faults};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use handoff_connectors::outbound::secret_names;
use handoff_connectors::secrets::StaticSecrets;
use handoff_domain::config::{SalesforceAuth, SalesforceSettings};
use handoff_domain::ids::HandoffId;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The service name in the [`CallLog`].
pub const SERVICE: &str = "salesforce";
/// The integration user the tokens belong to (owner of records created without `OwnerId`).
pub const INTEGRATION_USER_ID: &str = "005000000000001AAA";
/// The stand-in org's id.
pub const ORG_ID: &str = "00D000000000001AAA";
/// The test-only RSA private key (PKCS#8 PEM) whose public half the stand-in trusts by default.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/salesforce/private_key.pem");
/// The public half of [`TEST_PRIVATE_KEY_PEM`] (SubjectPublicKeyInfo PEM).
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../fixtures/salesforce/public_key.pem");
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const HALTED: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

/// How the stand-in's org is set up.
#[derive(Debug, Clone)]
pub struct SalesforceStandInConfig {
    /// The connected app's consumer key.
    pub client_id: String,
    /// The connected app's consumer secret (client credentials flow).
    pub client_secret: String,
    /// PEM public key (`PUBLIC KEY` or `RSA PUBLIC KEY`) that verifies JWT bearer assertions.
    pub jwt_public_key: String,
    /// The integration user's username (the JWT `sub`).
    pub username: String,
    /// When set, tokens expire after this long and the token response says `expires_in`;
    /// otherwise (like Salesforce's usual answer) tokens live until [`SalesforceStandIn::expire_tokens`].
    pub token_lifetime: Option<Duration>,
    /// The REST API version served (`v61.0`).
    pub api_version: String,
    /// Custom fields Lead and Contact accept (`Handoff_Routing_Reason__c`).
    pub custom_fields: Vec<String>,
    /// Whether queued faults apply to the token endpoint too.
    pub faults_on_token: bool,
}

impl Default for SalesforceStandInConfig {
    fn default() -> Self {
        Self {
            client_id: "3MVG9standin.client.id".into(),
            client_secret: "standin-client-secret".into(),
            jwt_public_key: TEST_PUBLIC_KEY_PEM.into(),
            username: "integration@acme.example".into(),
            token_lifetime: None,
            api_version: "v61.0".into(),
            custom_fields: Vec::new(),
            faults_on_token: false,
        }
    }
}

/// One HTTP request the stand-in received.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The decoded query parameters (`q` for SOQL).
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl SeenRequest {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The body as form fields.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.body).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
struct Record {
    object: &'static str,
    id: String,
    fields: Map<String, Value>,
    created: DateTime<Utc>,
    /// Creation / modification order (timestamps may tie).
    created_seq: u64,
    modified_seq: u64,
}

impl Record {
    fn get(&self, field: &str) -> Value {
        match field {
            "Id" => Value::from(self.id.clone()),
            "CreatedDate" | "LastModifiedDate" => Value::from(
                self.created
                    .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
                    .to_string(),
            ),
            f => self.fields.get(f).cloned().unwrap_or(Value::Null),
        }
    }
    fn json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("Id".into(), Value::from(self.id.clone()));
        Value::Object(m)
    }
}

#[derive(Debug, Default)]
struct Org {
    records: Vec<Record>,
    /// Issued tokens and when they expire.
    tokens: HashMap<String, Option<Instant>>,
    issued: u64,
    seq: u64,
    requests: Vec<SeenRequest>,
}

struct Shared {
    config: SalesforceStandInConfig,
    base_url: String,
    org: Mutex<Org>,
    log: CallLog,
    faults: Faults,
}

/// A Salesforce stand-in on 127.0.0.1 (a free port), serving until dropped.
pub struct SalesforceStandIn {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for SalesforceStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::fmt::Debug for SalesforceStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceStandIn")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

type Reply = (StatusCode, Value);

fn errors(status: StatusCode, code: &str, message: &str, fields: &[&str]) -> Reply {
    (
        status,
        json!([{ "message": message, "errorCode": code, "fields": fields }]),
    )
}

fn bad(code: &str, message: &str, fields: &[&str]) -> Reply {
    errors(StatusCode::BAD_REQUEST, code, message, fields)
}

fn not_found() -> Reply {
    errors(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
        &[],
    )
}

impl SalesforceStandIn {
    /// Starts the stand-in; calls are appended to `log`, and `faults` answer instead of it.
    pub async fn start(config: SalesforceStandInConfig, log: CallLog, faults: Faults) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            config,
            base_url: format!("http://{addr}"),
            org: Mutex::new(Org::default()),
            log,
            faults,
        });
        let app = Router::new()
            .route("/services/oauth2/token", post(token))
            .fallback(data)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { shared, server }
    }

    /// Starts one with the default configuration and its own log and faults.
    pub async fn start_default() -> Self {
        Self::start(
            SalesforceStandInConfig::default(),
            CallLog::new(),
            Faults::new(),
        )
        .await
    }

    /// `http://127.0.0.1:<port>`: the login URL and the instance URL.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SalesforceStandInConfig {
        &self.shared.config
    }

    /// Adapter settings pointing at the stand-in (`fields` empty).
    pub fn settings(&self, auth: SalesforceAuth) -> SalesforceSettings {
        SalesforceSettings {
            login_url: self.shared.base_url.clone(),
            auth,
            username: Some(self.shared.config.username.clone()),
            api_version: self.shared.config.api_version.clone(),
            fields: BTreeMap::new(),
        }
    }

    /// The secrets the adapter needs: client id and secret, and the test private key.
    pub fn secrets(&self) -> StaticSecrets {
        let c = &self.shared.config;
        StaticSecrets::of(&[
            (secret_names::SALESFORCE_CLIENT_ID, c.client_id.as_str()),
            (
                secret_names::SALESFORCE_CLIENT_SECRET,
                c.client_secret.as_str(),
            ),
            (secret_names::SALESFORCE_PRIVATE_KEY, TEST_PRIVATE_KEY_PEM),
        ])
    }

    /// The shared call log.
    pub fn log(&self) -> &CallLog {
        &self.shared.log
    }

    /// The shared fault queue.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.org().requests.clone()
    }

    /// How many token requests were received.
    pub fn token_calls(&self) -> usize {
        self.org()
            .requests
            .iter()
            .filter(|r| r.path == "/services/oauth2/token")
            .count()
    }

    /// Makes every issued token invalid: the next data call answers 401 `INVALID_SESSION_ID`.
    pub fn expire_tokens(&self) {
        self.org().tokens.clear();
    }

    /// Every Lead, oldest first (fields plus `Id`).
    pub fn leads(&self) -> Vec<Value> {
        self.records("Lead")
    }
    /// Every Contact, oldest first.
    pub fn contacts(&self) -> Vec<Value> {
        self.records("Contact")
    }
    /// Every Task, oldest first.
    pub fn tasks(&self) -> Vec<Value> {
        self.records("Task")
    }
    /// Every Note, oldest first.
    pub fn notes(&self) -> Vec<Value> {
        self.records("Note")
    }

    /// Adds a Contact as if it existed before (no checks); its id.
    pub fn add_contact(&self, fields: Value) -> String {
        self.seed("Contact", fields)
    }

    /// Adds a Lead as if it existed before (no checks; `IsConverted` may be set); its id.
    pub fn add_lead(&self, fields: Value) -> String {
        self.seed("Lead", fields)
    }

    /// What the org holds for one handoff: its Tasks are those whose `Description` or `Subject`
    /// holds the handoff id (every fixture shares one buyer email, so the Lead cannot tell);
    /// `packages` counts the ones whose `Description` holds the package with that id;
    /// `contacts` the distinct Leads/Contacts they name; `change_notes` the Notes on those
    /// whose `Body` starts with "Moved from" and names the handoff; `owner` the first Task's
    /// owner (`None` when the integration user holds it: the shared queue).
    pub fn seen(&self, handoff: &HandoffId) -> CrmSeen {
        let id = handoff.as_str();
        let org = self.org();
        let text = |r: &Record, f: &str| r.get(f).as_str().unwrap_or_default().to_string();
        let tasks: Vec<&Record> = org
            .records
            .iter()
            .filter(|r| r.object == "Task")
            .filter(|r| text(r, "Description").contains(id) || text(r, "Subject").contains(id))
            .collect();
        let mut whos: Vec<String> = tasks.iter().map(|t| text(t, "WhoId")).collect();
        whos.sort();
        whos.dedup();
        whos.retain(|w| !w.is_empty());
        CrmSeen {
            contacts: whos.len(),
            packages: tasks
                .iter()
                .filter(|t| {
                    let d = text(t, "Description");
                    d.contains(id) && d.contains("1. Trigger:")
                })
                .count(),
            tasks: tasks.len(),
            change_notes: org
                .records
                .iter()
                .filter(|r| r.object == "Note")
                .filter(|n| whos.contains(&text(n, "ParentId")))
                .filter(|n| {
                    let body = text(n, "Body");
                    body.starts_with("Moved from") && body.contains(id)
                })
                .count(),
            owner: tasks
                .first()
                .map(|t| text(t, "OwnerId"))
                .filter(|o| !o.is_empty() && o != INTEGRATION_USER_ID),
        }
    }

    fn org(&self) -> std::sync::MutexGuard<'_, Org> {
        self.shared.org.lock().expect("stand-in lock")
    }

    fn records(&self, object: &str) -> Vec<Value> {
        self.org()
            .records
            .iter()
            .filter(|r| r.object == object)
            .map(Record::json)
            .collect()
    }

    fn seed(&self, object: &'static str, fields: Value) -> String {
        let mut org = self.org();
        let mut fields = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        fields
            .entry("OwnerId")
            .or_insert_with(|| Value::from(INTEGRATION_USER_ID));
        if object == "Lead" {
            fields.entry("IsConverted").or_insert(Value::Bool(false));
        }
        insert(&mut org, object, fields)
    }
}

fn insert(org: &mut Org, object: &'static str, fields: Map<String, Value>) -> String {
    org.seq += 1;
    let prefix = match object {
        "Lead" => "00Q",
        "Contact" => "003",
        "Task" => "00T",
        _ => "002",
    };
    let id = format!("{prefix}{:012}AAA", org.seq);
    org.records.push(Record {
        object,
        id: id.clone(),
        fields,
        created: Utc::now(),
        created_seq: org.seq,
        modified_seq: org.seq,
    });
    id
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn record_request(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &str) {
    shared.log.push(SERVICE, method.as_str(), uri.path());
    let query = uri
        .query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    shared
        .org
        .lock()
        .expect("stand-in lock")
        .requests
        .push(SeenRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query,
            authorization: header(headers, "authorization"),
            content_type: header(headers, "content-type"),
            body: body.to_string(),
        });
}

// ---------------------------------------------------------------------------------------------
// OAuth

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: String,
) -> Response {
    record_request(&shared, &Method::POST, &uri, &headers, &body);
    if shared.config.faults_on_token {
        if let Some(r) = shared.faults.apply().await {
            return r;
        }
    }
    if !header(&headers, "content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return oauth_error(
            "invalid_request",
            "must use application/x-www-form-urlencoded",
        );
    }
    let form: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let c = &shared.config;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match field("grant_type") {
        "client_credentials" => {
            if field("client_id") != c.client_id {
                return oauth_error("invalid_client_id", "client identifier invalid");
            }
            if field("client_secret") != c.client_secret {
                return oauth_error("invalid_client", "invalid client credentials");
            }
        }
        JWT_BEARER => {
            if let Err((error, description)) = check_assertion(&shared, field("assertion")) {
                return oauth_error(error, description);
            }
        }
        "" => return oauth_error("invalid_request", "grant type is required"),
        _ => return oauth_error("unsupported_grant_type", "grant type not supported"),
    }
    let mut org = shared.org.lock().expect("stand-in lock");
    org.issued += 1;
    let access_token = format!("{ORG_ID}!AQstandin.{:06}", org.issued);
    org.tokens.insert(
        access_token.clone(),
        c.token_lifetime.map(|l| Instant::now() + l),
    );
    let issued_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    let mut answer = json!({
        "access_token": access_token,
        "instance_url": shared.base_url,
        "id": format!("{}/id/{ORG_ID}/{INTEGRATION_USER_ID}", shared.base_url),
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": STANDARD.encode(format!("sig-{}", org.issued)),
        "scope": "api",
    });
    if let Some(l) = c.token_lifetime {
        answer["expires_in"] = Value::from(l.as_secs());
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// Checks a JWT bearer assertion the way Salesforce does: `(error, error_description)`.
fn check_assertion(shared: &Shared, assertion: &str) -> Result<(), (&'static str, &'static str)> {
    let invalid = ("invalid_grant", "invalid assertion");
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(invalid);
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| invalid);
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| invalid)?;
    if header["alg"] != "RS256" {
        return Err(("invalid_grant", "invalid assertion: alg must be RS256"));
    }
    let key = public_key_der(&shared.config.jwt_public_key).ok_or((
        "invalid_grant",
        "no certificate configured on the connected app",
    ))?;
    let signed = &assertion[..assertion.len() - signature.len() - 1];
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &decode(signature)?)
        .map_err(|_| {
            (
                "invalid_grant",
                "invalid assertion: signature does not verify",
            )
        })?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|_| invalid)?;
    if claims["iss"] != shared.config.client_id.as_str() {
        return Err(("invalid_client_id", "client identifier invalid"));
    }
    if claims["sub"] != shared.config.username.as_str() {
        return Err(("invalid_grant", "user hasn't approved this consumer"));
    }
    if claims["aud"].as_str().map(|a| a.trim_end_matches('/')) != Some(shared.base_url.as_str()) {
        return Err(("invalid_grant", "audience is invalid"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    match claims["exp"].as_u64() {
        Some(exp) if exp <= now => Err(("invalid_grant", "expired authorization code")),
        Some(exp) if exp > now + 300 => {
            Err(("invalid_grant", "invalid assertion: exp too far ahead"))
        }
        Some(_) => Ok(()),
        None => Err(("invalid_grant", "invalid assertion: no exp")),
    }
}

/// The PKCS#1 `RSAPublicKey` DER of a PEM `RSA PUBLIC KEY` or `PUBLIC KEY` (SPKI) block.
fn public_key_der(pem: &str) -> Option<Vec<u8>> {
    let spki = pem.contains("-----BEGIN PUBLIC KEY-----");
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect();
    let der = STANDARD.decode(b64).ok()?;
    if !spki {
        return Some(der);
    }
    // SEQUENCE { SEQUENCE { algorithm }, BIT STRING { 0 unused bits, RSAPublicKey } }
    let (_, outer, _) = der_item(&der)?;
    let (_, _, rest) = der_item(outer)?;
    let (tag, bits, _) = der_item(rest)?;
    (tag == 0x03 && bits.first() == Some(&0)).then(|| bits[1..].to_vec())
}

/// One DER item: (tag, content, what follows).
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

// ---------------------------------------------------------------------------------------------
// Data API

async fn data(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    record_request(&shared, &method, &uri, &headers, &body);
    // A delay is applied after the work (like a slow Salesforce: a client that gives up does
    // not undo it); any other fault answers instead, through `Faults::apply`.
    let delay = match shared.faults.next() {
        Some(Fault::Delay(d)) => Some(d),
        Some(other) => {
            let once = Faults::new();
            once.push(other);
            return once
                .apply()
                .await
                .unwrap_or_else(|| StatusCode::OK.into_response());
        }
        None => None,
    };
    let (status, answer) = handle_data(&shared, &method, &uri, &headers, &body);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    if status == StatusCode::NO_CONTENT {
        return status.into_response();
    }
    (status, axum::Json(answer)).into_response()
}

fn handle_data(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &str,
) -> Reply {
    let mut org = shared.org.lock().expect("stand-in lock");
    let token = header(headers, "authorization")
        .and_then(|a| a.strip_prefix("Bearer ").map(str::to_string));
    let valid = token
        .and_then(|t| org.tokens.get(&t).copied())
        .is_some_and(|exp| exp.is_none_or(|e| Instant::now() < e));
    if !valid {
        return errors(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            &[],
        );
    }
    let version_root = format!("/services/data/{}/", shared.config.api_version);
    let Some(rest) = uri.path().strip_prefix(&version_root) else {
        return not_found();
    };
    let json_body = if matches!(*method, Method::POST | Method::PATCH) {
        if !header(headers, "content-type").is_some_and(|c| c.starts_with("application/json")) {
            return errors(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type must be application/json",
                &[],
            );
        }
        match serde_json::from_str::<Value>(body) {
            Ok(v) => Some(v),
            Err(e) => {
                return bad(
                    "JSON_PARSER_ERROR",
                    &format!("Unexpected content: {e}"),
                    &[],
                )
            }
        }
    } else {
        None
    };
    if *method == Method::POST && rest == "composite" {
        return composite(shared, &mut org, json_body.unwrap_or(Value::Null));
    }
    execute(
        shared,
        &mut org,
        method.as_str(),
        rest,
        uri.query().unwrap_or(""),
        json_body.as_ref(),
    )
}

fn composite(shared: &Shared, org: &mut Org, body: Value) -> Reply {
    let all_or_none = match body.get("allOrNone") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return bad("JSON_PARSER_ERROR", "allOrNone must be a boolean", &[]),
    };
    let Some(subs) = body.get("compositeRequest").and_then(Value::as_array) else {
        return bad("INVALID_INPUT", "compositeRequest is required", &[]);
    };
    if subs.is_empty() || subs.len() > 25 {
        return bad(
            "INVALID_INPUT",
            "compositeRequest must hold 1 to 25 subrequests",
            &[],
        );
    }
    let mut seen_refs = Vec::new();
    for s in subs {
        let (Some(_), Some(url), Some(reference)) = (
            s.get("method").and_then(Value::as_str),
            s.get("url").and_then(Value::as_str),
            s.get("referenceId").and_then(Value::as_str),
        ) else {
            return bad(
                "INVALID_INPUT",
                "every subrequest needs method, url and referenceId",
                &[],
            );
        };
        if reference.is_empty()
            || !reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || seen_refs.contains(&reference)
        {
            return bad(
                "INVALID_INPUT",
                &format!("invalid or duplicate referenceId {reference:?}"),
                &[],
            );
        }
        if !url.starts_with("/services/data/") {
            return bad("INVALID_INPUT", &format!("invalid url {url:?}"), &[]);
        }
        seen_refs.push(reference);
    }

    let snapshot = (org.records.clone(), org.seq);
    let mut results: Vec<(String, StatusCode, Value)> = Vec::new();
    let mut failed = None;
    for (i, s) in subs.iter().enumerate() {
        let reference = s["referenceId"].as_str().unwrap_or_default().to_string();
        let method = s["method"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if all_or_none && failed.is_some() {
            results.push((reference, StatusCode::BAD_REQUEST, halted()));
            continue;
        }
        let reply = (|| {
            let url = resolve_str(s["url"].as_str().unwrap_or_default(), &results)?;
            let body = match s.get("body") {
                Some(b) => Some(resolve(b, &results)?),
                None => None,
            };
            let version_root = format!("/services/data/{}/", shared.config.api_version);
            let Some(rest) = url.strip_prefix(&version_root) else {
                return Ok(not_found());
            };
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            Ok(execute(shared, org, &method, path, query, body.as_ref()))
        })()
        .unwrap_or_else(|message: String| {
            errors(StatusCode::BAD_REQUEST, "PROCESSING_HALTED", &message, &[])
        });
        if reply.0.as_u16() >= 300 && failed.is_none() {
            failed = Some(i);
        }
        results.push((reference, reply.0, reply.1));
    }
    if let (true, Some(bad_one)) = (all_or_none, failed) {
        (org.records, org.seq) = snapshot;
        for (i, r) in results.iter_mut().enumerate() {
            if i != bad_one {
                r.1 = StatusCode::BAD_REQUEST;
                r.2 = halted();
            }
        }
    }
    let answers: Vec<Value> = results
        .into_iter()
        .map(|(reference, status, body)| {
            json!({
                "body": if status == StatusCode::NO_CONTENT { Value::Null } else { body },
                "httpHeaders": {},
                "httpStatusCode": status.as_u16(),
                "referenceId": reference,
            })
        })
        .collect();
    (StatusCode::OK, json!({ "compositeResponse": answers }))
}

fn halted() -> Value {
    json!([{ "errorCode": "PROCESSING_HALTED", "message": HALTED }])
}

/// Replaces every `@{ref.path}` in the strings of `v`.
fn resolve(v: &Value, done: &[(String, StatusCode, Value)]) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(resolve_str(s, done)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| resolve(i, done))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), resolve(v, done)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_str(s: &str, done: &[(String, StatusCode, Value)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("Invalid reference specified: {s}"))?;
        let path = &after[..end];
        out.push_str(&lookup(path, done).ok_or_else(|| {
            let reference = path.split(['.', '[']).next().unwrap_or(path);
            format!(
                "Invalid reference specified. No value for {path} found in {reference}. Provided referenceId ids are {}",
                done.iter().map(|d| d.0.as_str()).collect::<Vec<_>>().join(", ")
            )
        })?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(path: &str, done: &[(String, StatusCode, Value)]) -> Option<String> {
    let mut segments = path.split('.');
    let reference = segments.next()?;
    let (_, status, body) = done.iter().find(|d| d.0 == reference)?;
    if status.as_u16() >= 300 {
        return None;
    }
    let mut v = body;
    for seg in segments {
        let (name, indexes) = seg.split_once('[').unwrap_or((seg, ""));
        if !name.is_empty() {
            v = v.get(name)?;
        }
        for idx in indexes.split('[').filter(|i| !i.is_empty()) {
            v = v.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One REST call (directly or as a composite subrequest), `path` below the version root.
fn execute(
    shared: &Shared,
    org: &mut Org,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
) -> Reply {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["query"]) => {
            let params: Vec<(String, String)> =
                serde_urlencoded::from_str(query).unwrap_or_default();
            match params.iter().find(|(k, _)| k == "q") {
                Some((_, q)) => run_query(shared, org, q),
                None => bad("MALFORMED_QUERY", "q is required", &[]),
            }
        }
        ("POST", ["sobjects", object]) => match known_object(object) {
            Some(object) => create(shared, org, object, body),
            None => bad("NOT_FOUND", &format!("The requested resource does not exist: sobject type '{object}' is not supported"), &[]),
        },
        ("PATCH", ["sobjects", object, id]) => match known_object(object) {
            Some(object) => update(shared, org, object, id, body),
            None => not_found(),
        },
        ("GET", ["sobjects", object, id]) => org
            .records
            .iter()
            .find(|r| r.object == *object && r.id == *id)
            .map(|r| {
                let mut v = r.json();
                v["attributes"] = json!({"type": r.object, "url": format!("/services/data/{}/sobjects/{}/{}", shared.config.api_version, r.object, r.id)});
                (StatusCode::OK, v)
            })
            .unwrap_or_else(not_found),
        _ => not_found(),
    }
}

fn known_object(name: &str) -> Option<&'static str> {
    ["Lead", "Contact", "Task", "Note"]
        .into_iter()
        .find(|o| *o == name)
}

/// Fields a client may write.
fn writable(shared: &Shared, object: &str, field: &str) -> bool {
    let standard: &[&str] = match object {
        "Lead" => &[
            "FirstName",
            "LastName",
            "Company",
            "Email",
            "Title",
            "LeadSource",
            "OwnerId",
            "Phone",
            "Status",
            "Description",
            "Industry",
            "Website",
            "Country",
        ],
        "Contact" => &[
            "FirstName",
            "LastName",
            "Email",
            "Title",
            "LeadSource",
            "OwnerId",
            "Phone",
            "AccountId",
            "Description",
        ],
        "Task" => &[
            "WhoId",
            "WhatId",
            "OwnerId",
            "Subject",
            "ActivityDate",
            "Description",
            "Status",
            "Priority",
            "Type",
        ],
        "Note" => &["ParentId", "Title", "Body", "IsPrivate", "OwnerId"],
        _ => &[],
    };
    standard.contains(&field)
        || (matches!(object, "Lead" | "Contact")
            && shared.config.custom_fields.iter().any(|c| c == field))
}

/// Fields a query may read.
fn readable(shared: &Shared, object: &str, field: &str) -> bool {
    writable(shared, object, field)
        || matches!(field, "Id" | "CreatedDate" | "LastModifiedDate")
        || (object == "Lead" && field == "IsConverted")
}

fn required(object: &str) -> &'static [&'static str] {
    match object {
        "Lead" => &["LastName", "Company"],
        "Contact" => &["LastName"],
        "Task" => &["Subject"],
        "Note" => &["ParentId", "Title"],
        _ => &[],
    }
}

/// Checks the fields of a create or update: names, types, picklists, dates, references.
fn check_fields(
    shared: &Shared,
    org: &Org,
    object: &'static str,
    fields: &Map<String, Value>,
) -> Result<(), Reply> {
    for (name, value) in fields {
        if !writable(shared, object, name) {
            return Err(bad(
                "INVALID_FIELD",
                &format!("No such column '{name}' on sobject of type {object}"),
                &[],
            ));
        }
        if required(object).contains(&name.as_str())
            && value.as_str().is_none_or(|s| s.trim().is_empty())
        {
            return Err(bad(
                "REQUIRED_FIELD_MISSING",
                &format!("Required fields are missing: [{name}]"),
                &[name],
            ));
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.as_str(),
            Value::Bool(_) if name == "IsPrivate" => continue,
            _ => {
                return Err(bad(
                    "JSON_PARSER_ERROR",
                    &format!(
                        "Cannot deserialize instance of string from {value} for {object}.{name}"
                    ),
                    &[name],
                ))
            }
        };
        let limit = match name.as_str() {
            "Description" | "Body" => 32_000,
            "Subject" | "Company" => 255,
            "LastName" | "Email" | "Title" if object != "Note" => 128,
            _ => 32_768,
        };
        if text.chars().count() > limit {
            return Err(bad(
                "STRING_TOO_LONG",
                &format!("{name}: data value too large (max length={limit})"),
                &[name],
            ));
        }
        let picklist: &[&str] = match (object, name.as_str()) {
            ("Task", "Status") => &[
                "Not Started",
                "In Progress",
                "Completed",
                "Waiting on someone else",
                "Deferred",
            ],
            ("Task", "Priority") => &["High", "Normal", "Low"],
            _ => &[],
        };
        if !picklist.is_empty() && !picklist.contains(&text) {
            return Err(bad(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                &format!("{name}: bad value for restricted picklist field: {text}"),
                &[name],
            ));
        }
        if name == "ActivityDate" && NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() {
            return Err(bad(
                "JSON_PARSER_ERROR",
                &format!("Cannot deserialize instance of date from VALUE_STRING value {text}"),
                &[name],
            ));
        }
        let reference_ok = match name.as_str() {
            "OwnerId" => text.starts_with("005") || (object == "Lead" && text.starts_with("00G")),
            "WhoId" => org.records.iter().any(|r| {
                r.id == text
                    && (r.object == "Contact"
                        || (r.object == "Lead" && r.get("IsConverted") != Value::Bool(true)))
            }),
            "ParentId" => org.records.iter().any(|r| r.id == text),
            _ => true,
        };
        if !reference_ok {
            return Err(bad(
                "INVALID_CROSS_REFERENCE_KEY",
                &format!("invalid cross reference id: {name}"),
                &[name],
            ));
        }
    }
    Ok(())
}

fn body_fields(body: Option<&Value>) -> Result<Map<String, Value>, Reply> {
    match body {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(bad(
            "JSON_PARSER_ERROR",
            "the body must be a JSON object",
            &[],
        )),
    }
}

fn create(shared: &Shared, org: &mut Org, object: &'static str, body: Option<&Value>) -> Reply {
    let mut fields = match body_fields(body) {
        Ok(f) => f,
        Err(e) => return e,
    };
    if let Err(e) = check_fields(shared, org, object, &fields) {
        return e;
    }
    let missing: Vec<&str> = required(object)
        .iter()
        .copied()
        .filter(|f| {
            fields
                .get(*f)
                .and_then(Value::as_str)
                .is_none_or(|s| s.trim().is_empty())
        })
        .collect();
    if !missing.is_empty() {
        return bad(
            "REQUIRED_FIELD_MISSING",
            &format!("Required fields are missing: [{}]", missing.join(", ")),
            &missing,
        );
    }
    fields
        .entry("OwnerId")
        .or_insert_with(|| Value::from(INTEGRATION_USER_ID));
    match object {
        "Lead" => {
            fields.insert("IsConverted".into(), Value::Bool(false));
        }
        "Task" => {
            fields
                .entry("Status")
                .or_insert_with(|| Value::from("Not Started"));
            fields
                .entry("Priority")
                .or_insert_with(|| Value::from("Normal"));
        }
        _ => {}
    }
    let id = insert(org, object, fields);
    (
        StatusCode::CREATED,
        json!({ "id": id, "success": true, "errors": [] }),
    )
}

fn update(
    shared: &Shared,
    org: &mut Org,
    object: &'static str,
    id: &str,
    body: Option<&Value>,
) -> Reply {
    let fields = match body_fields(body) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(pos) = org
        .records
        .iter()
        .position(|r| r.object == object && r.id == id)
    else {
        return not_found();
    };
    if object == "Lead" && org.records[pos].get("IsConverted") == Value::Bool(true) {
        return bad(
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
            &[],
        );
    }
    if let Err(e) = check_fields(shared, org, object, &fields) {
        return e;
    }
    org.seq += 1;
    let seq = org.seq;
    let record = &mut org.records[pos];
    for (k, v) in fields {
        record.fields.insert(k, v);
    }
    record.modified_seq = seq;
    (StatusCode::NO_CONTENT, Value::Null)
}

// ---------------------------------------------------------------------------------------------
// SOQL (a subset)

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    /// A quoted literal's raw content (escapes kept).
    Str(String),
    Comma,
    Op(&'static str),
}

fn malformed(why: &str) -> Reply {
    bad("MALFORMED_QUERY", why, &[])
}

fn lex(q: &str) -> Result<Vec<Tok>, Reply> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            ',' => {
                chars.next();
                out.push(Tok::Comma);
            }
            '=' => {
                chars.next();
                out.push(Tok::Op("="));
            }
            '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err(malformed("unexpected '!'"));
                }
                out.push(Tok::Op("!="));
            }
            '\'' => {
                chars.next();
                let mut raw = String::new();
                loop {
                    match chars.next() {
                        None => return Err(malformed("unterminated string literal")),
                        Some('\'') => break,
                        Some('\\') => match chars.next() {
                            Some(
                                e @ ('\\' | '\'' | '"' | 'n' | 'r' | 't' | 'b' | 'f' | '_' | '%'),
                            ) => {
                                raw.push('\\');
                                raw.push(e);
                            }
                            _ => {
                                return Err(malformed(
                                    "invalid escape sequence in a string literal",
                                ))
                            }
                        },
                        Some(c) => raw.push(c),
                    }
                }
                out.push(Tok::Str(raw));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | ':') => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || matches!(c, '_' | '.' | ':') {
                        w.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Word(w));
            }
            c => return Err(malformed(&format!("unexpected character {c:?}"))),
        }
    }
    Ok(out)
}

/// The value of a raw literal (escapes resolved; `\_` and `\%` become `_` and `%`).
fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(e) => out.push(e),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `text` matches a raw LIKE pattern (case-insensitive; `%`, `_` wildcards).
fn like(text: &str, raw: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Ch(char),
    }
    let mut pattern = Vec::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        pattern.push(match c {
            '%' => P::Any,
            '_' => P::One,
            '\\' => match chars.next() {
                Some('n') => P::Ch('\n'),
                Some(e) => P::Ch(e),
                None => break,
            },
            c => P::Ch(c),
        });
    }
    let text: Vec<char> = text.to_lowercase().chars().collect();
    fn go(t: &[char], p: &[P]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((P::Any, rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
            Some((P::One, rest)) => !t.is_empty() && go(&t[1..], rest),
            Some((P::Ch(c), rest)) => {
                t.first()
                    .is_some_and(|x| c.to_lowercase().eq(std::iter::once(*x)))
                    && go(&t[1..], rest)
            }
        }
    }
    go(&text, &pattern)
}

enum Cond {
    Eq(String, Value, bool),
    Like(String, String),
    /// Only on the date fields (records are created "now", so both dates are the creation).
    LastNDays(i64),
}

fn run_query(shared: &Shared, org: &Org, q: &str) -> Reply {
    let toks = match lex(q) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let mut i = 0;
    let kw =
        |t: Option<&Tok>, k: &str| matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k));
    if !kw(toks.first(), "SELECT") {
        return malformed("expected SELECT");
    }
    i += 1;
    let mut fields = Vec::new();
    loop {
        match toks.get(i) {
            Some(Tok::Word(w)) => fields.push(w.clone()),
            _ => return malformed("expected a field name"),
        }
        i += 1;
        if toks.get(i) == Some(&Tok::Comma) {
            i += 1;
        } else {
            break;
        }
    }
    if !kw(toks.get(i), "FROM") {
        return malformed("expected FROM");
    }
    let Some(Tok::Word(object)) = toks.get(i + 1) else {
        return malformed("expected an object after FROM");
    };
    let Some(object) = known_object(object) else {
        return bad(
            "INVALID_TYPE",
            &format!("sObject type '{object}' is not supported."),
            &[],
        );
    };
    i += 2;
    let no_column = |f: &str| {
        bad(
            "INVALID_FIELD",
            &format!("No such column '{f}' on entity '{object}'."),
            &[],
        )
    };
    for f in &fields {
        if !readable(shared, object, f) {
            return no_column(f);
        }
    }
    let mut conds = Vec::new();
    if kw(toks.get(i), "WHERE") {
        i += 1;
        loop {
            let Some(Tok::Word(field)) = toks.get(i) else {
                return malformed("expected a field in WHERE");
            };
            if !readable(shared, object, field) {
                return no_column(field);
            }
            let cond = match (toks.get(i + 1), toks.get(i + 2)) {
                (Some(Tok::Op(op)), Some(Tok::Str(raw))) => {
                    Cond::Eq(field.clone(), Value::from(unescape(raw)), *op == "=")
                }
                (Some(Tok::Op(op)), Some(Tok::Word(w))) => {
                    let eq = *op == "=";
                    match w.to_ascii_lowercase().as_str() {
                        "true" => Cond::Eq(field.clone(), Value::Bool(true), eq),
                        "false" => Cond::Eq(field.clone(), Value::Bool(false), eq),
                        "null" => Cond::Eq(field.clone(), Value::Null, eq),
                        l if l.starts_with("last_n_days:") && eq => {
                            match l["last_n_days:".len()..].parse() {
                                Ok(n) if field.ends_with("Date") => Cond::LastNDays(n),
                                Ok(_) => return malformed("LAST_N_DAYS needs a date field"),
                                Err(_) => return malformed("bad LAST_N_DAYS"),
                            }
                        }
                        _ => return malformed(&format!("unexpected token {w}")),
                    }
                }
                (Some(Tok::Word(l)), Some(Tok::Str(raw))) if l.eq_ignore_ascii_case("LIKE") => {
                    Cond::Like(field.clone(), raw.clone())
                }
                _ => return malformed(&format!("unexpected condition on {field}")),
            };
            conds.push(cond);
            i += 3;
            if kw(toks.get(i), "AND") {
                i += 1;
            } else {
                break;
            }
        }
    }
    let mut order: Option<(String, bool)> = None;
    if kw(toks.get(i), "ORDER") && kw(toks.get(i + 1), "BY") {
        let Some(Tok::Word(f)) = toks.get(i + 2) else {
            return malformed("expected a field after ORDER BY");
        };
        if !readable(shared, object, f) {
            return no_column(f);
        }
        i += 3;
        let desc = if kw(toks.get(i), "DESC") {
            i += 1;
            true
        } else {
            if kw(toks.get(i), "ASC") {
                i += 1;
            }
            false
        };
        order = Some((f.clone(), desc));
    }
    let mut limit = None;
    if kw(toks.get(i), "LIMIT") {
        match toks.get(i + 1) {
            Some(Tok::Word(n)) => match n.parse::<usize>() {
                Ok(n) => limit = Some(n),
                Err(_) => return malformed("bad LIMIT"),
            },
            _ => return malformed("bad LIMIT"),
        }
        i += 2;
    }
    if i != toks.len() {
        return malformed(&format!(
            "unexpected token after position {i}: {:?}",
            toks[i]
        ));
    }

    let now = Utc::now();
    let mut hits: Vec<&Record> = org
        .records
        .iter()
        .filter(|r| r.object == object)
        .filter(|r| {
            conds.iter().all(|c| match c {
                Cond::Eq(f, v, eq) => {
                    let actual = r.get(f);
                    let same = match (&actual, v) {
                        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
                        (Value::Null, Value::Bool(false)) if f == "IsConverted" => true,
                        (a, b) => a == b,
                    };
                    same == *eq
                }
                Cond::Like(f, raw) => r.get(f).as_str().is_some_and(|t| like(t, raw)),
                Cond::LastNDays(n) => {
                    now.signed_duration_since(r.created) <= chrono::Duration::days(*n)
                }
            })
        })
        .collect();
    if let Some((f, desc)) = &order {
        hits.sort_by(|a, b| {
            let o = match f.as_str() {
                "LastModifiedDate" => a.modified_seq.cmp(&b.modified_seq),
                "CreatedDate" | "Id" => a.created_seq.cmp(&b.created_seq),
                f => a.get(f).to_string().cmp(&b.get(f).to_string()),
            };
            if *desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    if let Some(n) = limit {
        hits.truncate(n);
    }
    let records: Vec<Value> = hits
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert(
                "attributes".into(),
                json!({"type": object, "url": format!("/services/data/{}/sobjects/{object}/{}", shared.config.api_version, r.id)}),
            );
            for f in &fields {
                m.insert(f.clone(), r.get(f));
            }
            Value::Object(m)
        })
        .collect();
    (
        StatusCode::OK,
        json!({ "totalSize": records.len(), "done": true, "records": records }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("Handoff: x [h_ab]", r"%[h\_ab]"));
        assert!(!like("Handoff: x [hxab]", r"%[h\_ab]"));
        assert!(like("Handoff: x [hxab]", r"%[h_ab]"));
        assert!(like("ABC", "a%"));
        assert!(!like("ABC", "b%"));
    }

    #[test]
    fn literals_must_be_escaped() {
        assert!(lex(r"SELECT Id FROM Lead WHERE Email = 'o\'b@x.com'").is_ok());
        let toks = lex(r"SELECT Id FROM Lead WHERE Email = 'o'b@x.com'");
        // The literal ends early; what follows does not parse as a query.
        assert!(
            toks.is_err()
                || toks
                    .unwrap()
                    .iter()
                    .any(|t| matches!(t, Tok::Word(w) if w == "b"))
        );
        assert_eq!(unescape(r"o\'b\\c"), r"o'b\c");
    }

    #[test]
    fn spki_public_keys_are_read() {
        let der = public_key_der(TEST_PUBLIC_KEY_PEM).expect("the fixture key parses");
        assert_eq!(der.first(), Some(&0x30), "an RSAPublicKey SEQUENCE");
    }
}
