//! What the local API stand-ins (HubSpot, Salesforce, Slack, webhooks) share: a [`CallLog`] that
//! several stand-ins append to (so a test can assert the CRM was called before Slack), and
//! [`Faults`] a test queues up to make the next calls fail the way the real service does
//! (429 with or without `Retry-After`, 5xx, a slow answer that times out, an expired token).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every call the stand-ins accepted, in order: `"<service> <METHOD> <path>"`.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends one call.
    pub fn push(&self, service: &str, method: &str, path: &str) {
        self.0
            .lock()
            .expect("call log lock")
            .push(format!("{service} {method} {path}"));
    }
    /// Every call so far.
    pub fn calls(&self) -> Vec<String> {
        self.0.lock().expect("call log lock").clone()
    }
    /// The calls of one service.
    pub fn of(&self, service: &str) -> Vec<String> {
        let prefix = format!("{service} ");
        self.calls()
            .into_iter()
            .filter(|c| c.starts_with(&prefix))
            .collect()
    }
    /// The index of the first call containing `needle`.
    pub fn position(&self, needle: &str) -> Option<usize> {
        self.calls().iter().position(|c| c.contains(needle))
    }
}

/// A failure to give instead of the next answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status, headers and body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Wait this long before answering normally (longer than the client's timeout: a timeout).
    Delay(Duration),
}

impl Fault {
    /// HTTP 429, with `Retry-After: <secs>` when given.
    pub fn too_many_requests(retry_after_secs: Option<u64>) -> Self {
        Fault::Status {
            status: 429,
            headers: retry_after_secs
                .map(|s| vec![("retry-after".to_string(), s.to_string())])
                .unwrap_or_default(),
            body: r#"{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","category":"RATE_LIMITS"}"#.into(),
        }
    }
    /// HTTP 503.
    pub fn unavailable() -> Self {
        Fault::Status {
            status: 503,
            headers: Vec::new(),
            body: "Service Unavailable".into(),
        }
    }
}

/// Faults queued for the next calls (each used once, oldest first).
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<VecDeque<Fault>>>);

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }
    /// Queues a fault for a coming call.
    pub fn push(&self, fault: Fault) {
        self.0.lock().expect("faults lock").push_back(fault);
    }
    /// Takes the next fault, if any.
    pub fn next(&self) -> Option<Fault> {
        self.0.lock().expect("faults lock").pop_front()
    }
    /// Applies the next fault: `Some(response)` to answer with instead, `None` to answer
    /// normally (after sleeping first for a [`Fault::Delay`]).
    pub async fn apply(&self) -> Option<Response> {
        match self.next()? {
            Fault::Delay(d) => {
                tokio::time::sleep(d).await;
                None
            }
            Fault::Status {
                status,
                headers,
                body,
            } => {
                let mut map = HeaderMap::new();
                for (k, v) in headers {
                    if let (Ok(k), Ok(v)) = (
                        HeaderName::from_bytes(k.as_bytes()),
                        HeaderValue::from_str(&v),
                    ) {
                        map.insert(k, v);
                    }
                }
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Some((status, map, body).into_response())
            }
        }
    }
}

/// Serves `app` on 127.0.0.1 (a free port) until the returned sender is dropped; returns the
/// address it listens on.
pub async fn serve_local(
    app: axum::Router,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    (addr, stop)
}
