//! One way to call an outside HTTP API (HubSpot, Salesforce, Slack, a webhook): explicit
//! timeouts, transient failures retried with exponential backoff and jitter (the `backon`
//! crate), `Retry-After` respected, and every failure sorted into
//! [`DeliveryError::Transient`] (the stage message goes back to the queue, and after the
//! queue's receive limit to the dead-letter queue with this reason) or
//! [`DeliveryError::Permanent`] (dead-lettered at once with a clear reason).
//!
//! Each adapter passes a `judge` that knows its API's error conventions (Salesforce's
//! `REQUEST_LIMIT_EXCEEDED`, Slack's `ok: false`); [`default_verdict`] covers plain HTTP.
//! Request bodies and credentials never appear in errors or logs.

use backon::BackoffBuilder;
use handoff_domain::ports::DeliveryError;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Timeouts and retry limits for one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request (connect, send, receive).
    pub request_timeout: Duration,
    /// Attempts in this call (the first included) before giving the failure back to the queue.
    pub attempts: usize,
    /// First backoff delay; it doubles per attempt, with jitter.
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` / rate-limit wait this call sleeps through; a longer one is
    /// returned as transient at once (the queue's visibility timeout does the waiting).
    pub max_wait: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            attempts: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_wait: Duration::from_secs(5),
        }
    }
}

impl HttpPolicy {
    /// Short delays and timeouts, for tests against local servers.
    pub fn fast() -> Self {
        Self {
            connect_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_millis(1500),
            attempts: 3,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_wait: Duration::from_secs(2),
        }
    }

    /// An HTTP client with these timeouts (rustls; no proxy from the environment).
    pub fn client(&self) -> Result<reqwest::Client, DeliveryError> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .no_proxy()
            .build()
            .map_err(|e| DeliveryError::Permanent(format!("cannot build an HTTP client: {e}")))
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body's first 300 characters as one line (it may echo buyer text, and it ends up in
    /// dead-letter reasons and logs), for error messages.
    pub fn excerpt(&self) -> String {
        handoff_domain::render::escape::fit_line(&String::from_utf8_lossy(&self.body), 301)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a response means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Success,
    /// Worth retrying; `after` is how long the API asked us to wait, when it said.
    Transient {
        after: Option<Duration>,
        reason: String,
    },
    Permanent(String),
}

/// Plain HTTP: 2xx succeed; 408, 425, 429 and 5xx are transient (429 waits `Retry-After`
/// seconds when given); every other status is permanent (400 bad request, 401/403 refused
/// credentials, 404 unknown object…).
pub fn default_verdict(what: &str, r: &Response) -> Verdict {
    match r.status {
        200..=299 => Verdict::Success,
        408 | 425 | 429 | 500..=599 => Verdict::Transient {
            after: retry_after(r),
            reason: format!("{what}: HTTP {} {}", r.status, r.excerpt()),
        },
        401 => Verdict::Permanent(format!(
            "{what}: HTTP 401, the credentials were refused (check the secret) {}",
            r.excerpt()
        )),
        403 => Verdict::Permanent(format!(
            "{what}: HTTP 403, the credentials lack a permission or scope {}",
            r.excerpt()
        )),
        404 => Verdict::Permanent(format!("{what}: HTTP 404 not found {}", r.excerpt())),
        status => Verdict::Permanent(format!("{what}: HTTP {status} {}", r.excerpt())),
    }
}

/// `Retry-After` in seconds (the form these APIs send), when present.
pub fn retry_after(r: &Response) -> Option<Duration> {
    r.header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Sends the request `build` makes (called again for every attempt) and judges the response.
/// Transport failures (timeouts, refused connections) are transient. Retries transient
/// verdicts up to `policy.attempts` times, waiting the API's `after` when given (up to
/// `policy.max_wait`) or the next jittered exponential delay.
pub async fn send(
    policy: &HttpPolicy,
    what: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
    judge: impl Fn(&Response) -> Verdict,
) -> Result<Response, DeliveryError> {
    let mut delays = backon::ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_jitter()
        .with_max_times(policy.attempts.saturating_sub(1))
        .build();
    loop {
        let (reason, after) = match build().send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(body) => {
                        let response = Response {
                            status,
                            headers,
                            body: body.to_vec(),
                        };
                        match judge(&response) {
                            Verdict::Success => return Ok(response),
                            Verdict::Permanent(reason) => {
                                return Err(DeliveryError::Permanent(reason))
                            }
                            Verdict::Transient { after, reason } => (reason, after),
                        }
                    }
                    Err(e) => (
                        format!("{what}: reading the response failed: {}", e.without_url()),
                        None,
                    ),
                }
            }
            Err(e) if e.is_timeout() => (format!("{what}: timed out"), None),
            Err(e) if e.is_connect() => (format!("{what}: cannot connect"), None),
            Err(e) if e.is_builder() => {
                return Err(DeliveryError::Permanent(format!(
                    "{what}: invalid request: {}",
                    e.without_url()
                )))
            }
            Err(e) => (format!("{what}: request failed: {}", e.without_url()), None),
        };
        if after.is_some_and(|a| a > policy.max_wait) {
            return Err(DeliveryError::Transient(format!(
                "{reason} (asked to wait {}s; the queue retries later)",
                after.unwrap_or_default().as_secs()
            )));
        }
        match delays.next() {
            Some(delay) => {
                let wait = after.unwrap_or(delay);
                tracing::warn!(what, wait_ms = wait.as_millis() as u64, %reason, "transient failure; retrying");
                tokio::time::sleep(wait).await;
            }
            None => return Err(DeliveryError::Transient(reason)),
        }
    }
}
