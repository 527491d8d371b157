//! A local stand-in for Amazon Bedrock Runtime's `Converse` (`POST /model/{modelId}/converse`),
//! as the judge calls it.
//!
//! Every request is checked against the documented shape before anything else: a SigV4
//! `Authorization` header for service `bedrock` (with `X-Amz-Date`), a JSON body with
//! `messages` (a user message with text), `system` (text), `toolConfig.tools[0].toolSpec` (a
//! name and an `inputSchema.json` object schema), `toolConfig.toolChoice.tool.name` naming that
//! tool, and `inferenceConfig` (`maxTokens`, `temperature`); the model id in the path must be the
//! one the stand-in serves. A request that fails a check is answered like Bedrock answers a bad
//! request (HTTP 400, `ValidationException`) and the reason is kept ([`BedrockStandIn::problems`]).
//!
//! Then the next queued [`Fault`] applies ([`throttling`], [`service_unavailable`],
//! [`Fault::Delay`]), then the next queued answer: a tool call ([`Answer::ToolUse`], the default
//! being `{"reply_class":"meeting_request","escalate":true,…}`) or plain text
//! ([`Answer::Text`]), in the documented response shape (`output.message.content`,
//! `stopReason`, `usage`, `metrics`). Accepted calls are logged as `bedrock POST /model/<id>/converse`.

use crate::standin::{CallLog, Fault, Faults};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// What the stand-in answers a valid request with.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A `toolUse` block calling the request's tool with this input (`stopReason: tool_use`).
    ToolUse(Value),
    /// A text block and no tool call (`stopReason: end_turn`).
    Text(String),
}

/// The answer given when none is queued.
pub fn default_answer() -> Answer {
    Answer::ToolUse(json!({
        "reply_class": "meeting_request",
        "escalate": true,
        "reason": "The buyer proposes a time to meet."
    }))
}

/// HTTP 429 with `x-amzn-ErrorType: ThrottlingException`, as Bedrock throttles.
pub fn throttling() -> Fault {
    Fault::Status {
        status: 429,
        headers: vec![
            (
                "x-amzn-ErrorType".into(),
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/".into(),
            ),
            ("content-type".into(), "application/json".into()),
        ],
        body: json!({"message": "Too many requests, please wait before trying again."}).to_string(),
    }
}

/// HTTP 503 `ServiceUnavailableException`.
pub fn service_unavailable() -> Fault {
    Fault::Status {
        status: 503,
        headers: vec![
            (
                "x-amzn-ErrorType".into(),
                "ServiceUnavailableException".into(),
            ),
            ("content-type".into(), "application/json".into()),
        ],
        body: json!({"message": "Bedrock is unable to process your request."}).to_string(),
    }
}

/// A documented Converse response with `content` and `stop_reason`.
pub fn converse_response(content: Value, stop_reason: &str) -> Value {
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 812, "outputTokens": 61, "totalTokens": 873},
        "metrics": {"latencyMs": 1042}
    })
}

#[derive(Default)]
struct Inner {
    answers: VecDeque<Answer>,
    requests: Vec<Value>,
    problems: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    model_id: String,
    log: CallLog,
    faults: Faults,
    inner: Arc<Mutex<Inner>>,
}

/// The running stand-in (stops when dropped).
pub struct BedrockStandIn {
    endpoint_url: String,
    shared: Shared,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for BedrockStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockStandIn")
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl BedrockStandIn {
    /// Serves `model_id` on 127.0.0.1 (a free port).
    pub async fn start(model_id: &str, log: CallLog, faults: Faults) -> Self {
        let shared = Shared {
            model_id: model_id.to_string(),
            log,
            faults,
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let app = Router::new()
            .route("/model/{model_id}/converse", post(converse))
            .with_state(shared.clone());
        let (addr, stop) = crate::standin::serve_local(app).await;
        Self {
            endpoint_url: format!("http://{addr}"),
            shared,
            _stop: stop,
        }
    }

    /// The SDK's `endpoint_url`: `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
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

    /// Queues the answer to a coming valid request.
    pub fn answer_with(&self, answer: Answer) {
        self.inner().answers.push_back(answer);
    }

    /// Every request body that passed the checks, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.inner().requests.clone()
    }

    /// Why requests were refused, in order (empty when every request was the documented one).
    pub fn problems(&self) -> Vec<String> {
        self.inner().problems.clone()
    }
}

/// What is wrong with a Converse request, if anything.
fn check(
    expected_model: &str,
    model: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, String> {
    if model != expected_model {
        return Err(format!(
            "model id {model:?} in the path, expected {expected_model:?}"
        ));
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let auth = header("authorization");
    if !auth.starts_with("AWS4-HMAC-SHA256 Credential=") {
        return Err("no SigV4 Authorization header".into());
    }
    if !auth.contains("/bedrock/aws4_request") {
        return Err(format!("not signed for service bedrock: {auth}"));
    }
    if !auth.contains("SignedHeaders=") || !auth.contains("Signature=") {
        return Err("Authorization without SignedHeaders or Signature".into());
    }
    if header("x-amz-date").is_empty() {
        return Err("no X-Amz-Date header".into());
    }
    if !header("content-type").starts_with("application/json") {
        return Err(format!("content-type {:?}", header("content-type")));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let user = &v["messages"][0];
    if user["role"] != "user" || !user["content"][0]["text"].is_string() {
        return Err("messages[0] is not a user message with text".into());
    }
    if !v["system"][0]["text"].is_string() {
        return Err("system[0].text missing".into());
    }
    let spec = &v["toolConfig"]["tools"][0]["toolSpec"];
    let name = spec["name"]
        .as_str()
        .ok_or("toolConfig.tools[0].toolSpec.name missing")?;
    let schema = &spec["inputSchema"]["json"];
    if schema["type"] != "object" || !schema["properties"].is_object() {
        return Err("toolSpec.inputSchema.json is not an object schema".into());
    }
    if v["toolConfig"]["toolChoice"]["tool"]["name"] != name {
        return Err("toolConfig.toolChoice does not force the tool".into());
    }
    let inference = &v["inferenceConfig"];
    if !inference["maxTokens"].is_u64() || !inference["temperature"].is_number() {
        return Err("inferenceConfig.maxTokens / temperature missing".into());
    }
    Ok(v)
}

async fn converse(
    State(shared): State<Shared>,
    Path(model): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match check(&shared.model_id, &model, &headers, &body) {
        Ok(v) => v,
        Err(problem) => {
            let message = problem.clone();
            shared
                .inner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .problems
                .push(problem);
            return (
                StatusCode::BAD_REQUEST,
                [
                    ("x-amzn-ErrorType", "ValidationException"),
                    ("content-type", "application/json"),
                ],
                json!({ "message": message }).to_string(),
            )
                .into_response();
        }
    };
    shared
        .log
        .push("bedrock", "POST", &format!("/model/{model}/converse"));
    if let Some(fault) = shared.faults.apply().await {
        return fault;
    }
    let tool = request["toolConfig"]["tools"][0]["toolSpec"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let answer = {
        let mut inner = shared.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.requests.push(request);
        inner.answers.pop_front().unwrap_or_else(default_answer)
    };
    let body = match answer {
        Answer::ToolUse(input) => converse_response(
            json!([{"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": tool, "input": input}}]),
            "tool_use",
        ),
        Answer::Text(text) => converse_response(json!([{ "text": text }]), "end_turn"),
    };
    (
        StatusCode::OK,
        [
            ("content-type", "application/json"),
            ("x-amzn-RequestId", "5d3f1a2e-6a2b-4c1e-9d7a-0f1e2d3c4b5a"),
        ],
        body.to_string(),
    )
        .into_response()
}
