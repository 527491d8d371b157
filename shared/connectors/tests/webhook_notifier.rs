//! [`WebhookNotifier`] against a local axum receiver that verifies `Handoff-Signature` the way
//! a customer would (`TimestampedSignature::parse(..).matches(..)`, 5-minute window) and records
//! every attempt: the body's shape, the exact signature, retries of a 503 under one event id,
//! 410 as permanent, a missing secret, key rotation, and the notifier conformance case.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::webhook::WebhookNotifier;
use handoff_connectors::secrets::StaticSecrets;
use handoff_connectors::signature::TimestampedSignature;
use handoff_domain::config::WebhookSettings;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{DeliveryError, Notifier};
use handoff_testkit::standin::{Fault, Faults};
use handoff_testkit::{fixtures, Guarded};
use serde_json::Value;
use std::sync::{Arc, Mutex};

const SECRET: &str = "whsec-test-0123456789";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Attempt {
    event_id: String,
    signature: String,
    content_type: String,
    user_agent: String,
    body: Vec<u8>,
    /// Whether the signature verified (only checked when no fault answered).
    verified: bool,
    /// The status answered.
    status: u16,
}

impl Attempt {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// The customer's endpoint.
struct Receiver {
    /// The secret it verifies with.
    secret: String,
    faults: Faults,
    attempts: Mutex<Vec<Attempt>>,
}

impl Receiver {
    fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }
    /// Accepted deliveries (2xx, signature verified).
    fn accepted(&self) -> Vec<Attempt> {
        self.attempts()
            .into_iter()
            .filter(|a| a.verified && a.status == 200)
            .collect()
    }
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut attempt = Attempt {
        event_id: header(&headers, "handoff-event-id"),
        signature: header(&headers, "handoff-signature"),
        content_type: header(&headers, "content-type"),
        user_agent: header(&headers, "user-agent"),
        body: body.to_vec(),
        verified: false,
        status: 0,
    };
    if let Some(response) = r.faults.apply().await {
        attempt.status = response.status().as_u16();
        r.attempts.lock().unwrap().push(attempt);
        return response;
    }
    let now = chrono::Utc::now().timestamp();
    attempt.verified = TimestampedSignature::parse(&attempt.signature).is_some_and(|sig| {
        (now - sig.timestamp).abs() <= 300 && sig.matches(r.secret.as_bytes(), &body)
    });
    let status = if attempt.verified {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    attempt.status = status.as_u16();
    r.attempts.lock().unwrap().push(attempt);
    (status, "ok").into_response()
}

/// A receiver on a free port; its URL.
async fn receiver(secret: &str) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver {
        secret: secret.into(),
        faults: Faults::new(),
        attempts: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/hooks/handoff", post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/handoff", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, url)
}

fn notifier(url: &str, secrets: &[(&str, &str)]) -> WebhookNotifier {
    WebhookNotifier::new(
        WebhookSettings { url: url.into() },
        Arc::new(StaticSecrets::of(secrets)),
        HttpPolicy::fast(),
    )
    .expect("a valid webhook URL")
}

#[tokio::test]
async fn posts_signed_json_with_the_documented_shape() {
    let (r, url) = receiver(SECRET).await;
    let hooks = notifier(&url, &[("webhook_secret", SECRET)]);
    let id = fixtures::handoff_id("hook-shape");
    let mut n = fixtures::notification(&id, "webhook", "hubspot contact 51 · task 77");
    n.recipient_email = Some("lena@emea.example".into());
    let receipt = hooks.notify(&n).await.unwrap();

    let got = r.accepted();
    assert_eq!(got.len(), 1, "{:?}", r.attempts());
    let a = &got[0];
    assert_eq!(receipt, format!("webhook:200:{}", a.event_id));
    assert_eq!(a.content_type, "application/json");
    assert_eq!(a.user_agent, "handoff");

    // The event id: handoff, kind, then 16 hex digits.
    let prefix = format!("{id}.assigned.");
    let token = a
        .event_id
        .strip_prefix(&prefix)
        .expect("handoff.kind.token");
    assert!(token.len() == 16 && token.chars().all(|c| c.is_ascii_hexdigit()));

    // The signature is exactly TimestampedSignature::sign over the raw body.
    let sig = TimestampedSignature::parse(&a.signature).unwrap();
    assert_eq!(
        a.signature,
        TimestampedSignature::sign(SECRET.as_bytes(), sig.timestamp, &a.body)
    );
    assert!((chrono::Utc::now().timestamp() - sig.timestamp).abs() < 60);
    assert!(!sig.matches(b"another secret", &a.body));

    let body = a.json();
    assert_eq!(body["type"], "handoff.assigned");
    assert_eq!(body["event_id"], a.event_id.as_str());
    assert_eq!(body["handoff_id"], id.as_str());
    assert_eq!(body["target"], "webhook");
    assert_eq!(body["recipient_email"], "lena@emea.example");
    assert_eq!(body["title"], n.title.as_str());
    assert_eq!(body["text"], n.body.as_str());
    assert_eq!(body["deadline_local"], "Mon 07 Jan 11:00 CET");
    assert_eq!(body["crm_ref"], "hubspot contact 51 · task 77");
    for (action, url) in &n.actions {
        assert_eq!(body["actions"][action], url.as_str(), "{action}");
    }
    assert_eq!(body["actions"].as_object().unwrap().len(), 3);
    assert_eq!(body["package"], serde_json::to_value(&n.package).unwrap());
    assert!(body.get("moved_to").is_none() && body.get("reason").is_none());
}

#[tokio::test]
async fn moved_notice_names_the_new_owner_and_the_reason() {
    let (r, url) = receiver(SECRET).await;
    let hooks = notifier(&url, &[("webhook_secret", SECRET)]);
    let id = fixtures::handoff_id("hook-moved");
    let first = hooks
        .notify(&fixtures::notification(&id, "webhook", "crm"))
        .await
        .unwrap();
    let moved = fixtures::moved_notification(&id, "webhook", Some(first.clone()));
    let receipt = hooks.notify(&moved).await.unwrap();

    let got = r.accepted();
    assert_eq!(got.len(), 2);
    let body = got[1].json();
    assert_eq!(body["type"], "handoff.moved");
    assert_eq!(body["moved_to"], "max (EMEA AE)");
    assert_eq!(body["reason"], "the SLA passed unclaimed");
    assert_eq!(body["replaces"], first.as_str());
    assert_eq!(body["deadline_local"], Value::Null);
    assert_eq!(body["actions"], serde_json::json!({}));
    assert!(got[1].event_id.starts_with(&format!("{id}.moved.")));
    assert!(receipt.ends_with(&got[1].event_id));
    assert_ne!(got[0].event_id, got[1].event_id);
}

#[tokio::test]
async fn news_of_a_touch_carries_the_summary_and_the_updated_package() {
    let (r, url) = receiver(SECRET).await;
    let hooks = notifier(&url, &[("webhook_secret", SECRET)]);
    let id = fixtures::handoff_id("hook-news");
    hooks
        .notify(&fixtures::notification(&id, "webhook", "crm"))
        .await
        .unwrap();
    let news = fixtures::news_notification(&id, "webhook", "crm", "a web form: demo request");
    hooks.notify(&news).await.unwrap();

    let got = r.accepted();
    assert_eq!(got.len(), 2);
    let body = got[1].json();
    assert_eq!(body["type"], "handoff.new_touch");
    assert_eq!(body["summary"], "a web form: demo request");
    assert_eq!(body["title"], news.title.as_str());
    assert_eq!(
        body["package"],
        serde_json::to_value(&news.package).unwrap()
    );
    assert_eq!(body["actions"].as_object().unwrap().len(), 3);
    assert!(body.get("moved_to").is_none());
    assert!(got[1].event_id.starts_with(&format!("{id}.new_touch.")));
}

#[tokio::test]
async fn a_503_is_retried_under_the_same_event_id_then_succeeds() {
    let (r, url) = receiver(SECRET).await;
    r.faults.push(Fault::unavailable());
    let hooks = notifier(&url, &[("webhook_secret", SECRET)]);
    let n = fixtures::notification(&fixtures::handoff_id("hook-503"), "webhook", "crm");
    let receipt = hooks.notify(&n).await.unwrap();

    let attempts = r.attempts();
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [503, 200]
    );
    assert_eq!(
        attempts[0].event_id, attempts[1].event_id,
        "one delivery, one id"
    );
    assert_eq!(attempts[0].body, attempts[1].body);
    assert_eq!(receipt, format!("webhook:200:{}", attempts[1].event_id));
}

#[tokio::test]
async fn gone_is_permanent_and_not_retried() {
    let (r, url) = receiver(SECRET).await;
    r.faults.push(Fault::Status {
        status: 410,
        headers: Vec::new(),
        body: "this endpoint was removed".into(),
    });
    let hooks = notifier(&url, &[("webhook_secret", SECRET)]);
    let n = fixtures::notification(&fixtures::handoff_id("hook-410"), "webhook", "crm");
    let err = hooks.notify(&n).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("410")),
        "{err}"
    );
    assert_eq!(r.attempts().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_transient_after_the_policy_attempts() {
    let (r, url) = receiver(SECRET).await;
    for _ in 0..5 {
        r.faults.push(Fault::unavailable());
    }
    let hooks = notifier(&url, &[("webhook_secret", SECRET)]);
    let n = fixtures::notification(&fixtures::handoff_id("hook-down"), "webhook", "crm");
    let err = hooks.notify(&n).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Transient(ref m) if m.contains("503")),
        "{err}"
    );
    assert_eq!(r.attempts().len(), HttpPolicy::fast().attempts);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_receiver_as_permanent() {
    let (r, url) = receiver(SECRET).await;
    let hooks = notifier(&url, &[("webhook_secret", "not-the-receivers-secret")]);
    let n = fixtures::notification(&fixtures::handoff_id("hook-401"), "webhook", "crm");
    let err = hooks.notify(&n).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("401")),
        "{err}"
    );
    assert!(r.accepted().is_empty());
}

#[tokio::test]
async fn a_missing_secret_is_permanent_and_sends_nothing() {
    let (r, url) = receiver(SECRET).await;
    let hooks = notifier(&url, &[]);
    let n = fixtures::notification(&fixtures::handoff_id("hook-nosecret"), "webhook", "crm");
    let err = hooks.notify(&n).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("webhook_secret")),
        "{err}"
    );
    assert!(r.attempts().is_empty());
}

#[tokio::test]
async fn during_a_rotation_receivers_with_either_secret_accept() {
    for receiver_secret in ["new-secret", "old-secret"] {
        let (r, url) = receiver(receiver_secret).await;
        let hooks = notifier(&url, &[("webhook_secret", "new-secret, old-secret")]);
        let n = fixtures::notification(&fixtures::handoff_id("hook-rotate"), "webhook", "crm");
        hooks.notify(&n).await.unwrap();
        let got = r.accepted();
        assert_eq!(got.len(), 1, "{receiver_secret}");
        let sig = TimestampedSignature::parse(&got[0].signature).unwrap();
        assert_eq!(sig.v1.len(), 2);
        assert!(got[0].signature.starts_with(&TimestampedSignature::sign(
            b"new-secret",
            sig.timestamp,
            &got[0].body
        )));
    }
}

#[tokio::test]
async fn only_http_urls_are_accepted() {
    for url in ["not a url", "ftp://example.com/hook", "file:///etc/passwd"] {
        let made = WebhookNotifier::new(
            WebhookSettings { url: url.into() },
            Arc::new(StaticSecrets::default()),
            HttpPolicy::fast(),
        );
        assert!(matches!(made, Err(DeliveryError::Permanent(_))), "{url}");
    }
}

// ---------------------------------------------------------------------------------------------
// The notifier conformance case

async fn webhook_notifier() -> Guarded<WebhookNotifier> {
    let (r, url) = receiver(SECRET).await;
    Guarded::new(notifier(&url, &[("webhook_secret", SECRET)]), r)
}

fn deliveries(n: &Guarded<WebhookNotifier>, id: &HandoffId) -> usize {
    n.guard::<Arc<Receiver>>()
        .expect("the receiver")
        .accepted()
        .iter()
        .filter(|a| a.json()["handoff_id"] == id.as_str())
        .count()
}

handoff_testkit::notifier_conformance!(
    mod webhook,
    webhook_notifier(),
    |n: &Guarded<WebhookNotifier>, id: &HandoffId| deliveries(n, id),
    ("webhook", "webhook"),
);
