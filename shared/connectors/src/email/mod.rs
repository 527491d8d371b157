//! What the inbound-email providers (Postmark, Mailgun, SendGrid) share: addresses and
//! plus-address tokens, threading keys, the reply text, and [`InboundEmail`], which every one of
//! them fills and turns into the canonical `email_reply` event.
//!
//! - [`multipart`]: a tolerant `multipart/form-data` splitter over raw bytes.
//! - [`mime`]: a minimal RFC 5322/MIME reader (SendGrid's raw mode).
//! - [`headers`]: header blocks, parameters, encoded words, message ids, machine-mail headers.
//! - [`basic_auth`]: constant-time HTTP Basic credentials (Postmark, SendGrid).
//!
//! Threading: the domain later looks the outbound thread up by these keys; here they are only
//! extracted. `thread_id` is the root of `References` (its first id), else `In-Reply-To`, else
//! the reply token, else the message's own `Message-ID` (else the provider's event id). Message
//! ids keep their angle brackets and lose surrounding whitespace (the domain normalises).
//!
//! Attachments are never stored: each is noted by name, size and content type.

pub mod basic_auth;
pub mod headers;
pub mod mime;
pub mod multipart;

use crate::provider::ParseError;
use chrono::{DateTime, Utc};
use handoff_domain::event::{
    strip_quoted_history, AttachmentNote, Buyer, Channel, EmailReply, EventKind, IntakeEvent,
};
use handoff_domain::ids::{EmailAddress, ProviderEventId};
use headers::Headers;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The longest provider event id kept as is; a longer one (a pathological `Message-ID`) is
/// replaced by its SHA-256 (the domain accepts at most 256 characters).
pub const MAX_EVENT_ID_CHARS: usize = 256;

/// Splits an address as a `From`/`To` header writes it into the display name and the address:
/// `Excited User <user@samples.mailgun.com>` → (`Some("Excited User")`, `user@samples.mailgun.com`).
/// Also `"Name, Quoted" <a@x>`, `a@x (Name)`, `<a@x>`, `mailto:a@x` and a bare address; encoded
/// words in the name are decoded. The address is trimmed, not validated.
pub fn parse_address(raw: &str) -> (Option<String>, String) {
    let raw = raw.trim();
    let (name, email) = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => (&raw[..open], &raw[open + 1..close]),
        _ => match (raw.find('('), raw.rfind(')')) {
            (Some(open), Some(close)) if open < close => (&raw[open + 1..close], &raw[..open]),
            _ => ("", raw),
        },
    };
    let email = email.trim();
    let email = email
        .strip_prefix("mailto:")
        .unwrap_or(email)
        .trim()
        .to_string();
    let name = name.trim();
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map(|n| n.replace("\\\"", "\"").replace("\\\\", "\\"))
        .unwrap_or_else(|| name.to_string());
    let name = headers::decode_words(name.trim()).trim().to_string();
    let name = (!name.is_empty() && !name.eq_ignore_ascii_case(&email)).then_some(name);
    (name, email)
}

/// Splits an address list (`To`, `Cc`) at commas outside quotes, angle brackets and comments,
/// and parses each with [`parse_address`]; entries without an address are dropped.
pub fn parse_address_list(raw: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut angle, mut paren, mut escaped) = (false, false, 0usize, false);
    for c in raw.chars() {
        if escaped {
            escaped = false;
        } else {
            match c {
                '\\' if quoted => escaped = true,
                '"' if !angle => quoted = !quoted,
                '<' if !quoted => angle = true,
                '>' if !quoted => angle = false,
                '(' if !quoted && !angle => paren += 1,
                ')' if !quoted && !angle => paren = paren.saturating_sub(1),
                ',' if !quoted && !angle && paren == 0 => {
                    out.push(parse_address(&std::mem::take(&mut cur)));
                    continue;
                }
                _ => {}
            }
        }
        cur.push(c);
    }
    out.push(parse_address(&cur));
    out.retain(|(_, e)| !e.is_empty());
    out
}

/// The plus-address token of an address: `replies+t0k3n@reply.example.com` → `t0k3n`. A
/// display name or angle brackets around the address are allowed.
pub fn plus_token(address: &str) -> Option<String> {
    let (_, email) = parse_address(address);
    let (local, _) = email.rsplit_once('@')?;
    let (_, token) = local.split_once('+')?;
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// The first plus-address token among some addresses (each may be an address list).
pub fn first_plus_token<'a>(addresses: impl IntoIterator<Item = &'a str>) -> Option<String> {
    addresses
        .into_iter()
        .flat_map(parse_address_list)
        .find_map(|(_, email)| plus_token(&email))
}

/// The reply's new text: the provider's stripped reply when it has one (Postmark's
/// `StrippedTextReply`, Mailgun's `stripped-text`), else the full text; either way run through
/// [`strip_quoted_history`].
pub fn reply_text(stripped: Option<&str>, full: Option<&str>) -> String {
    let chosen = stripped
        .filter(|s| !s.trim().is_empty())
        .or(full)
        .unwrap_or("");
    strip_quoted_history(chosen)
}

/// The thread id: the root of `References`, else `In-Reply-To`, else the reply token, else the
/// message's own id.
pub fn thread_id(
    references: &[String],
    in_reply_to: Option<&str>,
    reply_token: Option<&str>,
    message_id: Option<&str>,
) -> Option<String> {
    references
        .first()
        .map(String::as_str)
        .or(in_reply_to)
        .or(reply_token)
        .or(message_id)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Lower-case hex SHA-256 of `bytes` (a body's fallback event id).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An id usable as a provider event id: trimmed, and replaced by `sha256:<hex>` of itself when
/// longer than [`MAX_EVENT_ID_CHARS`].
pub fn bounded_event_id(raw: &str) -> String {
    let raw = raw.trim();
    if raw.chars().count() <= MAX_EVENT_ID_CHARS {
        raw.to_string()
    } else {
        format!("sha256:{}", sha256_hex(raw.as_bytes()))
    }
}

/// An inbound email as a provider describes it, before it becomes an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundEmail {
    /// The sender: a `From` value (`Name <address>`) or a bare address.
    pub from: String,
    /// The sender's name when the provider gives it apart (Postmark's `FromFull.Name`).
    pub from_name: Option<String>,
    pub subject: String,
    /// The provider's stripped reply, if it computes one.
    pub stripped_text: Option<String>,
    /// The full plain-text body.
    pub text: Option<String>,
    /// The HTML body (used only when there is no text at all).
    pub html: Option<String>,
    /// The RFC `Message-ID`, as it appears.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    /// `References`, oldest first.
    pub references: Vec<String>,
    /// The plus-address token of the address the mail was sent to.
    pub reply_token: Option<String>,
    /// Machine-mail headers and hints (see [`headers::machine_headers`]).
    pub headers: BTreeMap<String, String>,
    pub attachments: Vec<AttachmentNote>,
}

impl InboundEmail {
    /// Takes `Message-ID`, `In-Reply-To`, `References` and the machine-mail headers from a
    /// header block, where the email does not have them yet.
    pub fn absorb_headers(&mut self, headers: &Headers) {
        if self.message_id.is_none() {
            self.message_id = headers.get("message-id").and_then(headers::message_id);
        }
        if self.in_reply_to.is_none() {
            self.in_reply_to = headers.get("in-reply-to").and_then(headers::message_id);
        }
        if self.references.is_empty() {
            self.references = headers
                .get("references")
                .map(headers::message_ids)
                .unwrap_or_default();
        }
        for (k, v) in headers::machine_headers(headers.iter()) {
            self.headers.entry(k).or_insert(v);
        }
    }

    /// The canonical event. `source` is the provider's name; `from_field` names the sender field
    /// in errors; `fallback_event_id` is the event id when there is no `Message-ID`.
    pub fn into_event(
        self,
        source: &str,
        from_field: &str,
        fallback_event_id: &str,
        received_at: DateTime<Utc>,
    ) -> Result<IntakeEvent, ParseError> {
        let (parsed_name, address) = parse_address(&self.from);
        if address.is_empty() {
            return Err(ParseError::new(from_field, "no sender address"));
        }
        let email = EmailAddress::parse(&address)
            .map_err(|e| ParseError::new(from_field, e.to_string()))?;
        let name = self
            .from_name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .or(parsed_name);
        let mut text = reply_text(self.stripped_text.as_deref(), self.text.as_deref());
        if text.is_empty() && self.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
            if let Some(html) = self.html.as_deref() {
                text = strip_quoted_history(&mime::html_to_text(html));
            }
        }
        let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let message_id = clean(self.message_id);
        let in_reply_to = clean(self.in_reply_to);
        let reply_token = clean(self.reply_token);
        let references: Vec<String> = self
            .references
            .into_iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        let event_id = bounded_event_id(message_id.as_deref().unwrap_or(fallback_event_id));
        let provider_event_id = ProviderEventId::parse(&event_id)
            .map_err(|e| ParseError::new("message id", e.to_string()))?;
        let thread_id = thread_id(
            &references,
            in_reply_to.as_deref(),
            reply_token.as_deref(),
            message_id.as_deref(),
        )
        .unwrap_or_else(|| provider_event_id.as_str().to_string());
        let source = crate::json::source(source)?;
        Ok(IntakeEvent {
            source,
            channel: Channel::Email,
            provider_event_id,
            received_at,
            kind: EventKind::EmailReply(EmailReply {
                buyer: Buyer {
                    email,
                    name,
                    company: None,
                    company_domain: None,
                    role: None,
                    country: None,
                    employees: None,
                    phone: None,
                },
                subject: self.subject.trim().to_string(),
                text,
                thread_id,
                message_id,
                in_reply_to,
                references,
                reply_token,
                sequence: None,
                account: None,
                outreach_history: vec![],
                headers: self.headers,
                attachments: self.attachments,
            }),
        })
    }
}

/// The `email_reply` part of an event (tests and callers that know it is one).
pub fn reply_of(event: &IntakeEvent) -> Option<&EmailReply> {
    match &event.kind {
        EventKind::EmailReply(r) => Some(r),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for (raw, name, email) in [
            (
                "Excited User <user@samples.mailgun.com>",
                Some("Excited User"),
                "user@samples.mailgun.com",
            ),
            (
                "\"Smith, Dana \\\"DS\\\"\" <dana@acme.com>",
                Some("Smith, Dana \"DS\""),
                "dana@acme.com",
            ),
            (
                "dana@acme.com (Dana Smith)",
                Some("Dana Smith"),
                "dana@acme.com",
            ),
            ("<dana@acme.com>", None, "dana@acme.com"),
            ("  dana@acme.com ", None, "dana@acme.com"),
            ("mailto:dana@acme.com", None, "dana@acme.com"),
            ("\"dana@acme.com\" <dana@acme.com>", None, "dana@acme.com"),
            ("=?utf-8?Q?J=C3=B6rg?= <j@x.de>", Some("Jörg"), "j@x.de"),
            ("", None, ""),
        ] {
            assert_eq!(
                parse_address(raw),
                (name.map(str::to_string), email.to_string()),
                "{raw}"
            );
        }
    }

    #[test]
    fn address_lists_and_plus_tokens() {
        let list = parse_address_list(
            "\"Smith, Dana\" <dana@acme.com>, replies+T0k3n@reply.us.com (Replies, team), ,x@y.z",
        );
        let emails: Vec<&str> = list.iter().map(|(_, e)| e.as_str()).collect();
        assert_eq!(
            emails,
            ["dana@acme.com", "replies+T0k3n@reply.us.com", "x@y.z"]
        );
        assert_eq!(
            plus_token("Replies <replies+T0k3n@reply.us.com>").as_deref(),
            Some("T0k3n")
        );
        assert_eq!(plus_token("replies+@x.com"), None);
        assert_eq!(plus_token("replies@x.com"), None);
        assert_eq!(plus_token("no-at+sign"), None);
        assert_eq!(
            first_plus_token(["a@x.com, b+tok@x.com", "c+other@x.com"]).as_deref(),
            Some("tok")
        );
    }

    #[test]
    fn threading_keys_in_order() {
        let refs = vec!["<root@x>".to_string(), "<last@x>".to_string()];
        assert_eq!(
            thread_id(&refs, Some("<last@x>"), Some("tok"), Some("<me@x>")).as_deref(),
            Some("<root@x>")
        );
        assert_eq!(
            thread_id(&[], Some("<last@x>"), Some("tok"), Some("<me@x>")).as_deref(),
            Some("<last@x>")
        );
        assert_eq!(
            thread_id(&[], None, Some("tok"), Some("<me@x>")).as_deref(),
            Some("tok")
        );
        assert_eq!(
            thread_id(&[], None, None, Some(" <me@x> ")).as_deref(),
            Some("<me@x>")
        );
        assert_eq!(thread_id(&[], None, None, None), None);
    }

    #[test]
    fn reply_text_prefers_the_stripped_field_and_strips_it_again() {
        assert_eq!(
            reply_text(Some("Yes.\n\nSent from my iPhone"), Some("full")),
            "Yes."
        );
        assert_eq!(
            reply_text(Some("  "), Some("Yes.\n\nOn Tue Vera wrote:\n> hi")),
            "Yes."
        );
        assert_eq!(reply_text(None, None), "");
    }

    #[test]
    fn long_ids_are_hashed() {
        assert_eq!(bounded_event_id(" <a@x> "), "<a@x>");
        let long = format!("<{}@x>", "a".repeat(400));
        let id = bounded_event_id(&long);
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    }

    #[test]
    fn html_only_mail_becomes_text() {
        let email = InboundEmail {
            from: "Dana <dana@acme.com>".into(),
            html: Some("<p>Yes, let&#39;s talk.</p><p>On Tue Vera wrote:</p>old".into()),
            ..Default::default()
        };
        let e = email
            .into_event("postmark", "From", "id-1", Utc::now())
            .unwrap();
        let r = reply_of(&e).unwrap();
        assert_eq!(r.text, "Yes, let's talk.");
        assert_eq!(r.thread_id, "id-1");
        assert_eq!(e.provider_event_id.as_str(), "id-1");
    }

    #[test]
    fn a_bad_sender_names_the_field() {
        let email = InboundEmail {
            from: "not an address".into(),
            ..Default::default()
        };
        let e = email
            .into_event("postmark", "FromFull.Email", "id", Utc::now())
            .unwrap_err();
        assert_eq!(e.field, "FromFull.Email");
    }
}
