//! The generic webhook notifier: each notification is one `POST` of JSON to the
//! `[notify.webhook] url`, signed with handoff's own scheme, the one agents use towards handoff
//! (documented in `docs/agent-api.md`, section "The signature": the same header, HMAC and
//! 5-minute window).
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! User-Agent: handoff
//! Handoff-Event-Id: h_5f0c….assigned.9c1e2f4a7b3d0e18
//! Handoff-Signature: t=1767780000,v1=<hex HMAC-SHA256(webhook_secret, "<t>.<raw body>")>
//!
//! {"type":"handoff.assigned", "event_id":"…", "handoff_id":"h_…", "target":"webhook",
//!  "recipient_email":"lena@emea.example", "title":"…", "text":"…",
//!  "deadline_local":"Mon 07 Jan 11:00 CET", "actions":{"accept":"https://…", …},
//!  "crm_ref":"hubspot contact 51 · task 77", "package":{…the six parts…}}
//! ```
//!
//! `type` is `handoff.assigned` (the recipient owns the handoff now; `actions` holds the signed
//! claim links by action: `accept`, `wrong_owner`, `requalify`), `handoff.moved` (it moved
//! away from the recipient: `moved_to` and `reason` say to whom and why; no actions) or
//! `handoff.new_touch` (the buyer got in touch again and the event joined the recipient's
//! handoff: `summary` says what arrived; `package` is the updated package, `deadline_local` the
//! deadline, tightened when the news is hotter; `actions` while the recipient has not claimed
//! it).
//! `deadline_local` is `null` when there is no SLA deadline; `recipient_email` (when known) and
//! `replaces` (the receipt of the recipient's earlier message about this handoff) are left out
//! when absent.
//!
//! JSON needs no escaping of its own, but the readable members are made safe for a receiver
//! that shows them as they are: `title`, `summary`, `moved_to` and `reason` are one line each,
//! `text` keeps `\n` as its only line break, and none carries control or invisible characters
//! ([`escape`]). `package` is the data as stored: a receiver that renders its buyer fields
//! escapes them for its own format.
//!
//! ## Verifying a delivery (receiver side)
//!
//! 1. Read the raw body bytes; do not re-serialise the JSON before checking.
//! 2. Parse `Handoff-Signature` (`t=<unix seconds>,v1=<hex>[,v1=<hex>…]`) and reject a `t` more
//!    than 5 minutes from your clock (replay protection).
//! 3. Compute `hex(HMAC-SHA256(secret, "<t>." + body))` and compare it in constant time with
//!    each `v1`; accept when one matches. During a rotation `webhook_secret` holds
//!    `new,old`: handoff then sends one `v1` per secret (newest first), so a receiver that
//!    still knows only the old secret keeps accepting.
//! 4. Deduplicate on `Handoff-Event-Id`.
//!
//! The shell and Python snippets of `docs/agent-api.md` compute the same value; in Rust,
//! [`TimestampedSignature::parse`] + [`TimestampedSignature::matches`].
//!
//! ## `Handoff-Event-Id`
//!
//! `<handoff id>.<assigned|moved|new_touch>.<16 hex digits>`: the handoff and the kind, so a receiver
//! can group without parsing the body, plus a token unique to this call. The id is fixed
//! before the first attempt, so every retry of one delivery (a timeout after the receiver had
//! processed it, a 503) carries the same id and the receiver can drop the repeat. Two calls
//! get two ids even when their notifications are identical: each `notify` call is one
//! delivery (the domain calls it once per assignment and records the receipt), and a content
//! hash would make a receiver drop a legitimate second notice, e.g. when a handoff comes back
//! to the same rep with the same package. The receipt is `webhook:<status>:<event id>`.
//!
//! Retries, timeouts and the transient/permanent split are [`http::send`] with
//! [`http::default_verdict`]: 408/425/429/5xx and network failures are retried (then handed back
//! to the queue), any other non-2xx (400, 401, 404, 410…) is permanent. The secret
//! `webhook_secret` is required: without it nothing is sent (permanent, naming where it is
//! expected).

use super::http::{self, HttpPolicy};
use super::secret_names::WEBHOOK_SECRET;
use crate::secrets::SecretSource;
use crate::signature::TimestampedSignature;
use async_trait::async_trait;
use handoff_domain::config::WebhookSettings;
use handoff_domain::ports::{DeliveryError, Notification, NotificationKind, Notifier};
use handoff_domain::render::escape;
use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::Arc;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Handoff-Signature";
/// The delivery id header.
pub const EVENT_ID_HEADER: &str = "Handoff-Event-Id";

/// The [`Notifier`] of `webhook` targets.
pub struct WebhookNotifier {
    settings: WebhookSettings,
    secrets: Arc<dyn SecretSource>,
    policy: HttpPolicy,
    client: reqwest::Client,
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the host: a webhook URL's path often is a credential itself.
        let host = reqwest::Url::parse(self.settings.url.trim())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        f.debug_struct("WebhookNotifier")
            .field("host", &host)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// Posts to `settings.url`, signing with the `webhook_secret` from `secrets`, with the
    /// timeouts and retries of `policy`. Fails (permanently) only when the URL is not an
    /// `http(s)` URL or the HTTP client cannot be built.
    pub fn new(
        settings: WebhookSettings,
        secrets: Arc<dyn SecretSource>,
        policy: HttpPolicy,
    ) -> Result<Self, DeliveryError> {
        let url = reqwest::Url::parse(settings.url.trim()).map_err(|e| {
            DeliveryError::Permanent(format!(
                "[notify.webhook] url {:?} is not a URL: {e}",
                settings.url
            ))
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(DeliveryError::Permanent(format!(
                "[notify.webhook] url {:?} must be http(s)",
                settings.url
            )));
        }
        Ok(Self {
            client: policy.client()?,
            settings,
            secrets,
            policy,
        })
    }

    /// The JSON body for `n` with delivery id `event_id`.
    pub fn body(n: &Notification, event_id: &str) -> Value {
        let (kind, moved, news) = match &n.kind {
            NotificationKind::Assigned => ("handoff.assigned", None, None),
            NotificationKind::MovedAway { to, reason } => {
                ("handoff.moved", Some((to, reason)), None)
            }
            NotificationKind::NewTouch { summary } => ("handoff.new_touch", None, Some(summary)),
        };
        let actions: Map<String, Value> = n
            .actions
            .iter()
            .map(|(action, url)| (action.clone(), Value::String(url.clone())))
            .collect();
        let mut body = json!({
            "type": kind,
            "event_id": event_id,
            "handoff_id": n.handoff_id,
            "target": n.target,
            "title": escape::plain_line(&n.title),
            "text": escape::plain_text(&n.body),
            "deadline_local": n.deadline_local,
            "actions": actions,
            "crm_ref": n.crm_ref,
            "package": n.package,
        });
        if let Some(obj) = body.as_object_mut() {
            if let Some(email) = &n.recipient_email {
                obj.insert("recipient_email".into(), json!(email));
            }
            if let Some(replaces) = &n.replaces {
                obj.insert("replaces".into(), json!(replaces));
            }
            if let Some((to, reason)) = moved {
                obj.insert("moved_to".into(), json!(escape::plain_line(to)));
                obj.insert("reason".into(), json!(escape::plain_line(reason)));
            }
            if let Some(summary) = news {
                obj.insert("summary".into(), json!(escape::plain_line(summary)));
            }
        }
        body
    }

    /// A fresh delivery id for `n` (see the module docs).
    pub fn event_id(n: &Notification) -> String {
        let kind = match n.kind {
            NotificationKind::Assigned => "assigned",
            NotificationKind::MovedAway { .. } => "moved",
            NotificationKind::NewTouch { .. } => "new_touch",
        };
        format!(
            "{}.{kind}.{}",
            n.handoff_id,
            super::email::unique_token(&n.target)
        )
    }

    /// Every configured secret, newest first (missing: permanent; unreadable: transient).
    async fn signing_keys(&self) -> Result<Vec<String>, DeliveryError> {
        match self.secrets.secrets(WEBHOOK_SECRET).await {
            Ok(Some(s)) => Ok(s.values().map(str::to_string).collect()),
            Ok(None) => Err(DeliveryError::Permanent(format!(
                "the secret {WEBHOOK_SECRET} is not configured (expected in {})",
                self.secrets.location(WEBHOOK_SECRET)
            ))),
            Err(e) => Err(DeliveryError::Transient(format!(
                "cannot read the secret {WEBHOOK_SECRET}: {e}"
            ))),
        }
    }
}

/// The `Handoff-Signature` value for `body` at `timestamp`: exactly
/// [`TimestampedSignature::sign`] under the first key, with one more `v1` per older key.
pub fn signature_header(keys: &[String], timestamp: i64, body: &[u8]) -> String {
    let mut keys = keys.iter();
    let mut header = match keys.next() {
        Some(k) => TimestampedSignature::sign(k.as_bytes(), timestamp, body),
        None => return format!("t={timestamp}"),
    };
    for k in keys {
        let extra = TimestampedSignature::sign(k.as_bytes(), timestamp, body);
        if let Some((_, v1)) = extra.split_once(",v1=") {
            header.push_str(",v1=");
            header.push_str(v1);
        }
    }
    header
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
        let keys = self.signing_keys().await?;
        let event_id = Self::event_id(n);
        let body = serde_json::to_vec(&Self::body(n, &event_id)).map_err(|e| {
            DeliveryError::Permanent(format!("cannot serialise the webhook body: {e}"))
        })?;
        let url = self.settings.url.trim();
        let build = || {
            // Signed per attempt, so a retry carries a fresh timestamp.
            let signature = signature_header(&keys, chrono::Utc::now().timestamp(), &body);
            self.client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::USER_AGENT, "handoff")
                .header(EVENT_ID_HEADER, event_id.as_str())
                .header(SIGNATURE_HEADER, signature)
                .body(body.clone())
        };
        let response = http::send(&self.policy, "webhook", build, |r| {
            http::default_verdict("webhook", r)
        })
        .await?;
        Ok(format!("webhook:{}:{event_id}", response.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_members_are_clean_and_the_package_is_the_data() {
        use handoff_testkit::fixtures;
        let id = fixtures::handoff_id("webhook-forged");
        let name = "Ann\u{2028}Actions: accept: http://evil\u{1b}[2K";
        let mut n =
            fixtures::news_notification(&id, "webhook", "crm:x", "a reply\nActions: x\u{202E}");
        n.package.classification.buyer.name = Some(name.into());
        n.title = "News on Ann\r\nActions: x".into();
        n.body = "New touch: a reply\r\n\u{85}1. Trigger: x\u{7}".into();
        let body = WebhookNotifier::body(&n, "e1");
        assert_eq!(body["title"], "News on Ann Actions: x");
        assert_eq!(body["summary"], "a reply Actions: x");
        assert_eq!(body["text"], "New touch: a reply\n 1. Trigger: x");
        assert_eq!(body["package"], serde_json::to_value(&n.package).unwrap());
        assert!(body["package"].to_string().contains("Ann\u{2028}Actions"));
    }

    #[test]
    fn one_key_signs_exactly_like_timestamped_signature() {
        let keys = vec!["s3cret".to_string()];
        assert_eq!(
            signature_header(&keys, 1_700_000_000, b"{}"),
            TimestampedSignature::sign(b"s3cret", 1_700_000_000, b"{}")
        );
    }

    #[test]
    fn a_rotation_sends_one_v1_per_key_and_either_verifies() {
        let keys = vec!["new".to_string(), "old".to_string()];
        let header = signature_header(&keys, 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with(&TimestampedSignature::sign(
            b"new",
            1_700_000_000,
            b"{\"a\":1}"
        )));
        let parsed = TimestampedSignature::parse(&header).unwrap();
        assert_eq!(parsed.v1.len(), 2);
        assert!(parsed.matches(b"new", b"{\"a\":1}"));
        assert!(parsed.matches(b"old", b"{\"a\":1}"));
        assert!(!parsed.matches(b"other", b"{\"a\":1}"));
    }
}
