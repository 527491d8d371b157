//! Slack: Block Kit messages with Claim / Wrong owner / Needs re-qualification buttons through
//! the Web API (`chat.postMessage`, `chat.update`, `chat.postEphemeral`), and the interactivity
//! payloads those buttons send back (`POST /slack/actions`).
//!
//! - A `slack:@handle` target goes to the recipient's `slack_user_id` (posting to a member id
//!   opens the DM with the bot); `slack:#name` or `slack:#C0123…` goes to that channel.
//! - The receipt is `slack:<channel id>:<ts>`: a later "it moved" notice updates that message in
//!   place (`chat.update`, buttons removed) instead of posting a new one.
//! - News (the buyer got in touch again and the event joined the handoff) is a new message to
//!   the owner: the touch, the deadline, the flags, and the buttons while it is unclaimed.
//! - Every call goes through [`super::http::send`]: Slack answers HTTP 200 with
//!   `{"ok":false,"error":"…"}` on failure, sorted by [`slack_verdict`] into transient
//!   (`ratelimited`, `internal_error`, …; HTTP 429 honours `Retry-After`) and permanent errors
//!   naming the error code and what to fix.
//! - The bot token (`slack_bot_token`) is read from the secrets port on every call, so a
//!   rotation needs no restart; it never appears in errors or logs.
//!
//! Submodules: [`blocks`] (layouts and mrkdwn escaping), [`interactivity`] (signature
//! verification and the click payload).

pub mod blocks;
pub mod interactivity;

pub use blocks::{
    action_id, action_of, assigned_blocks, assigned_text, button_value, escape_mrkdwn, news_blocks,
    news_text, resolved_blocks, resolved_text, ButtonValue, Resolution, ACTIONS_BLOCK_ID,
    ACTION_CLAIM, ACTION_REQUALIFY, ACTION_WRONG_OWNER,
};
pub use interactivity::{
    parse_interaction, sign_request, verify_request, Click, Interaction, MAX_AGE_SECS,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

use super::http::{default_verdict, retry_after, send, HttpPolicy, Response, Verdict};
use super::required_secret;
use super::secret_names::SLACK_BOT_TOKEN;
use crate::secrets::SecretSource;
use async_trait::async_trait;
use handoff_domain::config::SlackSettings;
use handoff_domain::ports::{DeliveryError, Notification, NotificationKind, Notifier};
use serde_json::{json, Value};
use std::sync::Arc;

/// Slack error codes worth retrying.
const TRANSIENT_ERRORS: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// A message's receipt: `slack:<channel>:<ts>`.
pub fn receipt(channel: &str, ts: &str) -> String {
    format!("slack:{channel}:{ts}")
}

/// The channel and ts of a receipt made by [`receipt`] (`None` for anything else).
pub fn parse_receipt(receipt: &str) -> Option<(String, String)> {
    let rest = receipt.strip_prefix("slack:")?;
    let (channel, ts) = rest.split_once(':')?;
    let channel = channel.trim();
    let ts = ts.trim();
    let valid_ts = !ts.is_empty() && ts.chars().all(|c| c.is_ascii_digit() || c == '.');
    (!channel.is_empty() && valid_ts).then(|| (channel.to_string(), ts.to_string()))
}

/// Whether a channel reference looks like a Slack id (`C0123ABCD`, `G…`, `D…`) rather than a name.
fn looks_like_channel_id(s: &str) -> bool {
    s.len() >= 9
        && matches!(s.as_bytes()[0], b'C' | b'G' | b'D')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The `channel` argument for a notification's target.
pub fn channel_for(n: &Notification) -> Result<String, DeliveryError> {
    let rest =
        n.target.trim().strip_prefix("slack:").ok_or_else(|| {
            DeliveryError::Permanent(format!("{:?} is not a Slack target", n.target))
        })?;
    if rest.starts_with('@') {
        return match n.recipient.slack_user_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(DeliveryError::Permanent(format!(
                "the rep notified at {} has no slack_user_id in the roster (their Slack member id, U…); set it to send them a direct message",
                n.target
            ))),
        };
    }
    match rest.strip_prefix('#').map(str::trim) {
        Some(id) if looks_like_channel_id(id) => Ok(id.to_string()),
        Some(name) if !name.is_empty() => Ok(format!("#{name}")),
        _ => Err(DeliveryError::Permanent(format!(
            "{:?} is not slack:@user or slack:#channel",
            n.target
        ))),
    }
}

/// What a Slack Web API answer means: non-2xx HTTP as usual (429 waits `Retry-After`); on 2xx,
/// `ok: true` succeeds and `ok: false` is transient for [`TRANSIENT_ERRORS`], else permanent
/// with the error code and a hint. `token_location` says where the bot token is configured.
pub fn slack_verdict(what: &str, token_location: &str, r: &Response) -> Verdict {
    if !(200..300).contains(&r.status) {
        return default_verdict(what, r);
    }
    let v = r.json();
    match v.get("ok").and_then(Value::as_bool) {
        Some(true) => Verdict::Success,
        Some(false) => {
            let code = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error");
            if TRANSIENT_ERRORS.contains(&code) {
                return Verdict::Transient {
                    after: retry_after(r),
                    reason: format!("{what}: Slack error {code}"),
                };
            }
            let hint = match code {
                "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked"
                | "token_expired" | "no_permission" | "ekm_access_denied" => format!(
                    "the bot token was refused; check the secret {SLACK_BOT_TOKEN} ({token_location})"
                ),
                "missing_scope" => format!(
                    "the Slack app lacks the scope {}; add it under OAuth & Permissions and reinstall the app",
                    v.get("needed").and_then(Value::as_str).unwrap_or("chat:write")
                ),
                "channel_not_found" => {
                    "the channel does not exist or the bot cannot see it (private channels need the bot invited)".into()
                }
                "not_in_channel" => "invite the bot to the channel (/invite @<bot>)".into(),
                "is_archived" => "the channel is archived".into(),
                "user_not_found" => "the slack_user_id in the roster is not a member of this workspace".into(),
                "invalid_blocks" | "invalid_blocks_format" => {
                    let details = v
                        .pointer("/response_metadata/messages")
                        .and_then(Value::as_array)
                        .map(|m| {
                            m.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                        .unwrap_or_default();
                    format!("Slack refused the message layout {details}")
                }
                "msg_too_long" => "the message is too long".into(),
                "message_not_found" | "cant_update_message" | "edit_window_closed" => {
                    "the earlier message cannot be updated".into()
                }
                _ => "see https://api.slack.com/methods for the code".into(),
            };
            Verdict::Permanent(format!("{what}: Slack error {code}: {}", hint.trim()))
        }
        None => Verdict::Permanent(format!(
            "{what}: not a Slack API answer (HTTP {}): {}",
            r.status,
            r.excerpt()
        )),
    }
}

/// Whether a permanent error says the earlier message is gone or cannot be edited (then a new
/// message is posted instead).
fn cannot_update(reason: &str) -> bool {
    [
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "channel_not_found",
    ]
    .iter()
    .any(|code| reason.contains(&format!("Slack error {code}")))
}

/// The Slack notifier and the client `/slack/actions` uses to update messages.
pub struct SlackNotifier {
    api_url: String,
    secrets: Arc<dyn SecretSource>,
    policy: HttpPolicy,
    client: reqwest::Client,
}

impl std::fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackNotifier")
            .field("api_url", &self.api_url)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A posted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The channel id Slack answered with (`D…` for a direct message).
    pub channel: String,
    pub ts: String,
}

impl Posted {
    /// `slack:<channel>:<ts>`.
    pub fn receipt(&self) -> String {
        receipt(&self.channel, &self.ts)
    }
}

impl SlackNotifier {
    /// A notifier for `[notify.slack]`; the bot token comes from `secrets` on each call.
    pub fn new(
        settings: SlackSettings,
        secrets: Arc<dyn SecretSource>,
        policy: HttpPolicy,
    ) -> Result<Self, DeliveryError> {
        let api_url = settings.api_url.trim().trim_end_matches('/').to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(DeliveryError::Permanent(format!(
                "[notify.slack] api_url {:?} is not an http(s) URL",
                settings.api_url
            )));
        }
        Ok(Self {
            api_url,
            secrets,
            policy,
            client: policy.client()?,
        })
    }

    /// The Web API base URL (`https://slack.com/api`).
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Calls a Web API method with a JSON body; the answer's JSON on `ok: true`.
    async fn call(&self, method: &str, body: &Value) -> Result<Value, DeliveryError> {
        let token = required_secret(self.secrets.as_ref(), SLACK_BOT_TOKEN).await?;
        let location = self.secrets.location(SLACK_BOT_TOKEN);
        let url = format!("{}/{method}", self.api_url);
        let what = format!("slack {method}");
        let bytes = serde_json::to_vec(body).map_err(|e| {
            DeliveryError::Permanent(format!("{what}: cannot encode the request: {e}"))
        })?;
        let response = send(
            &self.policy,
            &what,
            || {
                self.client
                    .post(&url)
                    .bearer_auth(&token)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/json; charset=utf-8",
                    )
                    .body(bytes.clone())
            },
            |r| slack_verdict(&what, &location, r),
        )
        .await?;
        Ok(response.json())
    }

    /// `chat.postMessage` to `channel` (an id, `#name` or a member id for a DM).
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: &[Value],
    ) -> Result<Posted, DeliveryError> {
        let answer = self
            .call(
                "chat.postMessage",
                &json!({"channel": channel, "text": text, "blocks": blocks, "unfurl_links": false, "unfurl_media": false}),
            )
            .await?;
        let ts = answer
            .get("ts")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                DeliveryError::Permanent("slack chat.postMessage: the answer has no ts".to_string())
            })?;
        let channel = answer
            .get("channel")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .unwrap_or(channel);
        Ok(Posted {
            channel: channel.to_string(),
            ts: ts.to_string(),
        })
    }

    /// `chat.update` of the message `ts` in `channel` (a channel id) with new text and blocks
    /// (an empty `blocks` removes them all).
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &[Value],
    ) -> Result<(), DeliveryError> {
        self.call(
            "chat.update",
            &json!({"channel": channel, "ts": ts, "text": text, "blocks": blocks}),
        )
        .await
        .map(|_| ())
    }

    /// `chat.postEphemeral`: a message only `user` sees, in `channel`. `text` is mrkdwn: escape
    /// what handoff did not write with [`escape_mrkdwn`].
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), DeliveryError> {
        self.call(
            "chat.postEphemeral",
            &json!({"channel": channel, "user": user, "text": text}),
        )
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl Notifier for SlackNotifier {
    async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
        match &n.kind {
            NotificationKind::Assigned => {
                let channel = channel_for(n)?;
                let posted = self
                    .post_message(&channel, &assigned_text(n), &assigned_blocks(n))
                    .await?;
                Ok(posted.receipt())
            }
            NotificationKind::MovedAway { to, reason } => {
                let resolution = Resolution::Moved {
                    to: to.clone(),
                    reason: reason.clone(),
                };
                let text = resolved_text(&n.package, &resolution);
                if let Some((channel, ts)) = n.replaces.as_deref().and_then(parse_receipt) {
                    let blocks = resolved_blocks(&n.package, &resolution);
                    match self.update_message(&channel, &ts, &text, &blocks).await {
                        Ok(()) => return Ok(receipt(&channel, &ts)),
                        Err(DeliveryError::Permanent(why)) if cannot_update(&why) => {
                            tracing::info!(handoff_id = %n.handoff_id, %why, "the earlier Slack message cannot be updated; posting a notice");
                        }
                        Err(e) => return Err(e),
                    }
                }
                let channel = channel_for(n)?;
                let blocks = blocks::moved_notice_blocks(n, to, reason);
                Ok(self.post_message(&channel, &text, &blocks).await?.receipt())
            }
            NotificationKind::NewTouch { summary } => {
                let channel = channel_for(n)?;
                let posted = self
                    .post_message(&channel, &news_text(n), &news_blocks(n, summary))
                    .await?;
                Ok(posted.receipt())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn receipts_round_trip() {
        assert_eq!(
            receipt("D0LENA", "1700000000.000100"),
            "slack:D0LENA:1700000000.000100"
        );
        assert_eq!(
            parse_receipt("slack:D0LENA:1700000000.000100"),
            Some(("D0LENA".into(), "1700000000.000100".into()))
        );
        for bad in [
            "",
            "slack:",
            "slack:C1",
            "slack::1.2",
            "email:x",
            "slack:C1:abc",
            "crm_task:x",
        ] {
            assert_eq!(parse_receipt(bad), None, "{bad}");
        }
    }

    #[test]
    fn ok_false_is_sorted_by_code() {
        let v = |body: &str| {
            slack_verdict(
                "slack chat.postMessage",
                "HANDOFF_SECRET_SLACK_BOT_TOKEN",
                &answer(200, body),
            )
        };
        assert_eq!(v(r#"{"ok":true,"ts":"1.2"}"#), Verdict::Success);
        for code in TRANSIENT_ERRORS {
            assert!(
                matches!(
                    v(&format!(r#"{{"ok":false,"error":"{code}"}}"#)),
                    Verdict::Transient { .. }
                ),
                "{code}"
            );
        }
        for code in [
            "invalid_auth",
            "not_authed",
            "account_inactive",
            "token_revoked",
            "missing_scope",
            "channel_not_found",
            "not_in_channel",
            "user_not_found",
            "invalid_blocks",
            "msg_too_long",
            "something_new",
        ] {
            match v(&format!(
                r#"{{"ok":false,"error":"{code}","needed":"chat:write"}}"#
            )) {
                Verdict::Permanent(why) => assert!(why.contains(code), "{why}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        match v(r#"{"ok":false,"error":"missing_scope","needed":"chat:write"}"#) {
            Verdict::Permanent(why) => assert!(why.contains("chat:write"), "{why}"),
            other => panic!("{other:?}"),
        }
        match v(r#"{"ok":false,"error":"invalid_auth"}"#) {
            Verdict::Permanent(why) => {
                assert!(why.contains("HANDOFF_SECRET_SLACK_BOT_TOKEN"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(v("<html>"), Verdict::Permanent(_)));
        let limited = slack_verdict(
            "x",
            "y",
            &answer(429, r#"{"ok":false,"error":"ratelimited"}"#),
        );
        assert!(matches!(limited, Verdict::Transient { .. }));
    }

    #[test]
    fn channel_ids_and_names() {
        assert!(looks_like_channel_id("C0123ABCD"));
        assert!(looks_like_channel_id("G0123ABCDEF"));
        assert!(!looks_like_channel_id("sales-queue"));
        assert!(!looks_like_channel_id("CHANNEL"));
    }
}
