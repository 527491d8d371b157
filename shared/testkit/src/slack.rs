//! A local stand-in for the Slack Web API methods handoff calls: `chat.postMessage`,
//! `chat.update` and `chat.postEphemeral` under `/api/`.
//!
//! It answers like Slack: HTTP 200 with `{"ok":false,"error":"…"}` for a missing or wrong bot
//! token (`not_authed`, `invalid_auth`), a body that is not JSON, a missing `channel`, invalid
//! blocks (unknown block types, buttons without `action_id`, texts over the Block Kit limits:
//! `invalid_blocks`), no `text` and no `blocks` (`no_text`), or an update of a message it never
//! posted (`message_not_found`); otherwise `{"ok":true,"channel":…,"ts":…,"message":{…}}`.
//! Posting to a member id (`U…`/`W…`) answers with the DM channel `D…`; a channel name
//! (`#sales-queue`) gets a stable `C…` id.
//!
//! Every call takes the next queued [`Fault`] first (see [`slack_error`] and [`rate_limited`]
//! for Slack's own failure shapes); calls that get past the faults are appended to the
//! [`CallLog`] as `slack POST /api/<method>`.

use crate::standin::{CallLog, Fault, Faults};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One message as it stands now, with its earlier versions.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    /// The channel id (`D…` for a direct message).
    pub channel: String,
    pub ts: String,
    pub text: String,
    pub blocks: Vec<Value>,
    /// Earlier `(text, blocks)` versions, oldest first (one per `chat.update`).
    pub versions: Vec<(String, Vec<Value>)>,
}

impl SlackMessage {
    /// How many times the message was updated.
    pub fn updates(&self) -> usize {
        self.versions.len()
    }

    /// The `action_id`s of every button in the message.
    pub fn action_ids(&self) -> Vec<String> {
        self.blocks
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["action_id"].as_str().map(str::to_string))
            .collect()
    }

    /// The `value` of the button with `action_id`.
    pub fn button_value(&self, action_id: &str) -> Option<String> {
        self.blocks
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .find(|e| e["action_id"] == action_id)
            .and_then(|e| e["value"].as_str().map(str::to_string))
    }

    /// Every text of the message (fallback text and every text object of the blocks), joined.
    pub fn all_text(&self) -> String {
        let mut out = self.text.clone();
        for b in &self.blocks {
            collect_text(b, &mut out);
        }
        out
    }
}

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(t)) = map.get("text") {
                out.push('\n');
                out.push_str(t);
            }
            for (k, child) in map {
                if k != "text" || !child.is_string() {
                    collect_text(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        _ => {}
    }
}

/// A message only one user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackEphemeral {
    pub channel: String,
    pub user: String,
    pub text: String,
}

/// One accepted `chat.postMessage` or `chat.update`, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackDelivery {
    /// `chat.postMessage` or `chat.update`.
    pub method: String,
    pub channel: String,
    pub ts: String,
    pub text: String,
    pub blocks: Vec<Value>,
}

impl SlackDelivery {
    fn mentions(&self, needle: &str) -> bool {
        self.text.contains(needle) || self.blocks.iter().any(|b| b.to_string().contains(needle))
    }
}

#[derive(Default)]
struct Inner {
    messages: Vec<SlackMessage>,
    ephemerals: Vec<SlackEphemeral>,
    deliveries: Vec<SlackDelivery>,
    channels: BTreeMap<String, String>,
    next_ts: u64,
}

#[derive(Clone)]
struct Shared {
    token: &'static str,
    log: CallLog,
    faults: Faults,
    inner: Arc<Mutex<Inner>>,
}

/// The running stand-in (stops when dropped).
pub struct SlackStandIn {
    base_url: String,
    shared: Shared,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for SlackStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackStandIn")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// HTTP 200 `{"ok":false,"error":"<code>"}`: how Slack reports most failures.
pub fn slack_error(code: &str) -> Fault {
    Fault::Status {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!({"ok": false, "error": code}).to_string(),
    }
}

/// HTTP 429 with `Retry-After` and `{"ok":false,"error":"ratelimited"}`, as Slack throttles.
pub fn rate_limited(retry_after_secs: u64) -> Fault {
    Fault::Status {
        status: 429,
        headers: vec![
            ("retry-after".into(), retry_after_secs.to_string()),
            ("content-type".into(), "application/json".into()),
        ],
        body: json!({"ok": false, "error": "ratelimited"}).to_string(),
    }
}

/// The DM channel the stand-in opens for a member id (`ULENA` → `DLENA`).
pub fn dm_channel(user: &str) -> String {
    format!("D{}", &user[1..])
}

impl SlackStandIn {
    /// Serves the stand-in on 127.0.0.1 (a free port), accepting `Bearer <bot_token>`.
    pub async fn start(bot_token: &'static str, log: CallLog, faults: Faults) -> Self {
        let shared = Shared {
            token: bot_token,
            log,
            faults,
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let app = Router::new()
            .route("/api/{method}", post(handle))
            .with_state(shared.clone());
        let (addr, stop) = crate::standin::serve_local(app).await;
        Self {
            base_url: format!("http://{addr}/api"),
            shared,
            _stop: stop,
        }
    }

    /// The Web API base URL (`[notify.slack] api_url`): `http://127.0.0.1:<port>/api`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The call log it appends to.
    pub fn log(&self) -> &CallLog {
        &self.shared.log
    }

    /// The faults it applies.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message posted, as it stands now, in posting order.
    pub fn messages(&self) -> Vec<SlackMessage> {
        self.inner().messages.clone()
    }

    /// The messages in one channel id.
    pub fn messages_in(&self, channel: &str) -> Vec<SlackMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.channel == channel)
            .collect()
    }

    /// The message `ts` in `channel`.
    pub fn message(&self, channel: &str, ts: &str) -> Option<SlackMessage> {
        self.messages()
            .into_iter()
            .find(|m| m.channel == channel && m.ts == ts)
    }

    /// The messages whose text or blocks mention `needle` (a handoff id).
    pub fn messages_about(&self, needle: &str) -> Vec<SlackMessage> {
        self.messages()
            .into_iter()
            .filter(|m| {
                m.all_text().contains(needle)
                    || m.blocks.iter().any(|b| b.to_string().contains(needle))
            })
            .collect()
    }

    /// The id of a channel name as the stand-in knows it (`#sales-queue` → `C…`), if used.
    pub fn channel_id(&self, name: &str) -> Option<String> {
        self.inner()
            .channels
            .get(name.trim_start_matches('#'))
            .cloned()
    }

    /// Every ephemeral message, in order.
    pub fn ephemerals(&self) -> Vec<SlackEphemeral> {
        self.inner().ephemerals.clone()
    }

    /// The ephemerals one user got.
    pub fn ephemerals_for(&self, user: &str) -> Vec<SlackEphemeral> {
        self.ephemerals()
            .into_iter()
            .filter(|e| e.user == user)
            .collect()
    }

    /// Every accepted post and update, in order.
    pub fn deliveries(&self) -> Vec<SlackDelivery> {
        self.inner().deliveries.clone()
    }

    /// How many messages were posted or updated about a handoff (its id in the text or blocks).
    pub fn deliveries_for(&self, handoff_id: &str) -> usize {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.mentions(handoff_id))
            .count()
    }
}

fn ok(body: Value) -> Response {
    Json(body).into_response()
}

fn err(code: &str) -> Response {
    ok(json!({"ok": false, "error": code}))
}

fn invalid_blocks(why: String) -> Response {
    ok(json!({
        "ok": false,
        "error": "invalid_blocks",
        "response_metadata": {"messages": [format!("[ERROR] {why}")]}
    }))
}

async fn handle(
    State(s): State<Shared>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = s.faults.apply().await {
        return fault;
    }
    s.log.push("slack", "POST", &format!("/api/{method}"));
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        None => return err("not_authed"),
        Some(auth) if auth != format!("Bearer {}", s.token) => return err("invalid_auth"),
        Some(_) => {}
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return err("invalid_form_data");
    }
    let Ok(args) = serde_json::from_slice::<Value>(&body) else {
        return err("invalid_json");
    };
    if !args.is_object() {
        return err("invalid_json");
    }
    let mut inner = s.inner.lock().unwrap_or_else(|p| p.into_inner());
    let Some(channel) = args["channel"].as_str().filter(|c| !c.trim().is_empty()) else {
        return err("channel_not_found");
    };
    let Some(channel) = resolve_channel(&mut inner, channel) else {
        return err("channel_not_found");
    };
    match method.as_str() {
        "chat.postMessage" | "chat.update" => {
            let text = args["text"].as_str().unwrap_or("").to_string();
            let blocks = match &args["blocks"] {
                Value::Null => Vec::new(),
                Value::Array(items) => items.clone(),
                _ => return invalid_blocks("blocks must be an array".into()),
            };
            if let Err(why) = check_blocks(&blocks) {
                return invalid_blocks(why);
            }
            if text.trim().is_empty() && blocks.is_empty() {
                return err("no_text");
            }
            if text.chars().count() > 40_000 {
                return err("msg_too_long");
            }
            if method == "chat.postMessage" {
                inner.next_ts += 1;
                let ts = format!("{}.{:06}", 1_700_000_000 + inner.next_ts, inner.next_ts);
                inner.messages.push(SlackMessage {
                    channel: channel.clone(),
                    ts: ts.clone(),
                    text: text.clone(),
                    blocks: blocks.clone(),
                    versions: Vec::new(),
                });
                inner.deliveries.push(SlackDelivery {
                    method,
                    channel: channel.clone(),
                    ts: ts.clone(),
                    text: text.clone(),
                    blocks: blocks.clone(),
                });
                ok(json!({
                    "ok": true,
                    "channel": channel,
                    "ts": ts,
                    "message": {"type": "message", "bot_id": "B0STANDIN", "text": text, "blocks": blocks, "ts": ts}
                }))
            } else {
                let Some(ts) = args["ts"].as_str().filter(|t| !t.is_empty()) else {
                    return err("message_not_found");
                };
                let ts = ts.to_string();
                let Some(message) = inner
                    .messages
                    .iter_mut()
                    .find(|m| m.channel == channel && m.ts == ts)
                else {
                    return err("message_not_found");
                };
                let previous = (
                    std::mem::replace(&mut message.text, text.clone()),
                    std::mem::replace(&mut message.blocks, blocks.clone()),
                );
                message.versions.push(previous);
                inner.deliveries.push(SlackDelivery {
                    method,
                    channel: channel.clone(),
                    ts: ts.clone(),
                    text: text.clone(),
                    blocks: blocks.clone(),
                });
                ok(json!({
                    "ok": true,
                    "channel": channel,
                    "ts": ts,
                    "text": text,
                    "message": {"type": "message", "bot_id": "B0STANDIN", "text": text, "blocks": blocks}
                }))
            }
        }
        "chat.postEphemeral" => {
            let Some(user) = args["user"].as_str().filter(|u| !u.trim().is_empty()) else {
                return err("user_not_found");
            };
            let text = args["text"].as_str().unwrap_or("").to_string();
            if text.trim().is_empty() && args["blocks"].is_null() {
                return err("no_text");
            }
            inner.ephemerals.push(SlackEphemeral {
                channel,
                user: user.to_string(),
                text,
            });
            inner.next_ts += 1;
            let ts = format!("{}.{:06}", 1_700_000_000 + inner.next_ts, inner.next_ts);
            ok(json!({"ok": true, "message_ts": ts}))
        }
        _ => err("unknown_method"),
    }
}

/// The channel id for a `channel` argument: member ids open a DM, names get a stable id.
fn resolve_channel(inner: &mut Inner, raw: &str) -> Option<String> {
    let raw = raw.trim();
    let first = raw.chars().next()?;
    let id_like = raw.len() > 1
        && raw
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if id_like && matches!(first, 'U' | 'W') {
        return Some(dm_channel(raw));
    }
    if id_like && matches!(first, 'C' | 'G' | 'D') {
        return Some(raw.to_string());
    }
    let name = raw.trim_start_matches('#');
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return None;
    }
    let next = inner.channels.len() + 1;
    Some(
        inner
            .channels
            .entry(name.to_string())
            .or_insert_with(|| format!("C{next:08}"))
            .clone(),
    )
}

const KNOWN_BLOCKS: &[&str] = &[
    "section",
    "divider",
    "image",
    "actions",
    "context",
    "input",
    "file",
    "header",
    "video",
    "rich_text",
];

fn text_object(v: &Value, at: &str, max: usize, plain_only: bool) -> Result<(), String> {
    let kind = v["type"].as_str().unwrap_or("");
    let ok_kind = if plain_only {
        kind == "plain_text"
    } else {
        kind == "plain_text" || kind == "mrkdwn"
    };
    if !ok_kind {
        return Err(format!(
            "{at}: must be a {} text object",
            if plain_only { "plain_text" } else { "text" }
        ));
    }
    let Some(text) = v["text"].as_str() else {
        return Err(format!("{at}.text: missing"));
    };
    let n = text.chars().count();
    if n == 0 || n > max {
        return Err(format!("{at}.text: must be 1 to {max} characters, got {n}"));
    }
    Ok(())
}

/// Checks blocks roughly like Slack does (known types, required fields, limits).
fn check_blocks(blocks: &[Value]) -> Result<(), String> {
    if blocks.len() > 50 {
        return Err("no more than 50 blocks".into());
    }
    let mut action_ids = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("blocks[{i}]");
        let Some(kind) = b["type"].as_str() else {
            return Err(format!("{at}.type: missing"));
        };
        if !KNOWN_BLOCKS.contains(&kind) {
            return Err(format!("{at}.type: unknown block type {kind:?}"));
        }
        if let Some(id) = b.get("block_id") {
            let id = id.as_str().unwrap_or("");
            if id.is_empty() || id.len() > 255 {
                return Err(format!("{at}.block_id: must be 1 to 255 characters"));
            }
        }
        match kind {
            "header" => text_object(&b["text"], &format!("{at}.text"), 150, true)?,
            "section" => {
                let has_text = !b["text"].is_null();
                let fields = b["fields"].as_array();
                if !has_text && fields.is_none() {
                    return Err(format!("{at}: a section needs text or fields"));
                }
                if has_text {
                    text_object(&b["text"], &format!("{at}.text"), 3000, false)?;
                }
                if let Some(fields) = fields {
                    if fields.is_empty() || fields.len() > 10 {
                        return Err(format!("{at}.fields: 1 to 10 fields"));
                    }
                    for (j, f) in fields.iter().enumerate() {
                        text_object(f, &format!("{at}.fields[{j}]"), 2000, false)?;
                    }
                }
            }
            "context" => {
                let Some(elements) = b["elements"].as_array() else {
                    return Err(format!("{at}.elements: missing"));
                };
                if elements.is_empty() || elements.len() > 10 {
                    return Err(format!("{at}.elements: 1 to 10 elements"));
                }
                for (j, e) in elements.iter().enumerate() {
                    if e["type"] != "image" {
                        text_object(e, &format!("{at}.elements[{j}]"), 2000, false)?;
                    }
                }
            }
            "actions" => {
                let Some(elements) = b["elements"].as_array() else {
                    return Err(format!("{at}.elements: missing"));
                };
                if elements.is_empty() || elements.len() > 25 {
                    return Err(format!("{at}.elements: 1 to 25 elements"));
                }
                for (j, e) in elements.iter().enumerate() {
                    let at = format!("{at}.elements[{j}]");
                    let Some(id) = e["action_id"].as_str().filter(|id| !id.is_empty()) else {
                        return Err(format!("{at}.action_id: missing"));
                    };
                    if id.len() > 255 {
                        return Err(format!("{at}.action_id: longer than 255"));
                    }
                    if action_ids.contains(&id.to_string()) {
                        return Err(format!("{at}.action_id: {id:?} is not unique"));
                    }
                    action_ids.push(id.to_string());
                    if e["type"] == "button" {
                        text_object(&e["text"], &format!("{at}.text"), 75, true)?;
                        if let Some(v) = e.get("value") {
                            if v.as_str().is_none_or(|v| v.len() > 2000) {
                                return Err(format!("{at}.value: a string of at most 2000"));
                            }
                        }
                        if let Some(style) = e.get("style") {
                            if style != "primary" && style != "danger" {
                                return Err(format!("{at}.style: primary or danger"));
                            }
                        }
                    } else if e["type"].as_str().is_none() {
                        return Err(format!("{at}.type: missing"));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
