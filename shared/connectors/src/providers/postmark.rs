//! Postmark inbound webhook (`POST /email/postmark`, `application/json`): a buyer's reply to
//! outbound mail becomes an [`EmailReply`](handoff_domain::event::EmailReply).
//!
//! **Auth:** Postmark does not sign inbound webhooks. The webhook URL carries HTTP Basic
//! credentials (`https://user:password@host/email/postmark`), which arrive as
//! `Authorization: Basic base64(user:password)`; the secret `HANDOFF_SECRET_POSTMARK` is
//! `user:password` (a comma-separated list during a rotation), compared in constant time (see
//! [`basic_auth`]). There is no timestamp: intake dedups on the event id.
//!
//! **Payload:** `{From, FromName, FromFull{Email, Name, MailboxHash}, To, ToFull[],
//! OriginalRecipient, Subject, MessageID, MailboxHash, TextBody, HtmlBody, StrippedTextReply,
//! Headers[{Name, Value}], Attachments[{Name, Content, ContentType, ContentLength}]}`.
//! - The buyer is `FromFull` (else `From`/`FromName`).
//! - The text is `StrippedTextReply` when non-empty, else `TextBody` (else `HtmlBody` as text),
//!   run through `strip_quoted_history` either way.
//! - The RFC `Message-ID`, `In-Reply-To` and `References` are only in `Headers[]` (the top-level
//!   `MessageID` is Postmark's own UUID); machine-mail headers are kept from there too.
//! - The reply token is `MailboxHash` (else a recipient's `MailboxHash` or `+token`).
//! - The event id is the RFC `Message-ID`, else `MessageID`, else the body's SHA-256.
//! - Attachments are noted by `Name`, `ContentLength`, `ContentType`; `Content` is dropped.

use crate::email::{self, basic_auth, headers::Headers, InboundEmail};
use crate::provider::{AuthError, ParseError, Parsed, Provider, Secrets, Verified};
use crate::request::RawRequest;
use chrono::{DateTime, Utc};
use handoff_domain::event::AttachmentNote;
use serde::Deserialize;

/// Postmark's inbound webhook.
#[derive(Debug, Default, Clone, Copy)]
pub struct Postmark;

/// An address in `FromFull` / `ToFull[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Address {
    email: Option<String>,
    name: Option<String>,
    mailbox_hash: Option<String>,
}

/// One of `Headers[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Header {
    name: Option<String>,
    value: Option<String>,
}

/// One of `Attachments[]` (its `Content` is never read).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Attachment {
    name: Option<String>,
    content_type: Option<String>,
    content_length: Option<u64>,
}

/// The fields of the inbound payload handoff reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Inbound {
    from: Option<String>,
    from_name: Option<String>,
    from_full: Option<Address>,
    to: Option<String>,
    to_full: Option<Vec<Address>>,
    original_recipient: Option<String>,
    subject: Option<String>,
    #[serde(rename = "MessageID")]
    message_id: Option<String>,
    mailbox_hash: Option<String>,
    text_body: Option<String>,
    html_body: Option<String>,
    stripped_text_reply: Option<String>,
    headers: Option<Vec<Header>>,
    attachments: Option<Vec<Attachment>>,
}

/// A non-blank, trimmed value.
fn present(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

impl Provider for Postmark {
    fn name(&self) -> &'static str {
        "postmark"
    }
    fn path(&self) -> &'static str {
        "/email/postmark"
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["application/json"]
    }

    fn verify(
        &self,
        request: &RawRequest,
        secrets: &Secrets,
        _now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        basic_auth::verify(request, secrets)
    }

    fn parse(
        &self,
        request: &RawRequest,
        received_at: DateTime<Utc>,
    ) -> Result<Parsed, ParseError> {
        let inbound: Inbound = crate::json::body(&request.body, "not a Postmark inbound payload")?;
        let from_full = inbound.from_full.unwrap_or_default();
        let (from, from_field) = match present(from_full.email.as_deref()) {
            Some(e) => (e.to_string(), "FromFull.Email"),
            None => (inbound.from.clone().unwrap_or_default(), "From"),
        };
        let header_block = Headers::from_pairs(
            inbound
                .headers
                .unwrap_or_default()
                .into_iter()
                .filter_map(|h| Some((h.name?, h.value.unwrap_or_default()))),
        );
        let to_full = inbound.to_full.unwrap_or_default();
        let reply_token = present(inbound.mailbox_hash.as_deref())
            .map(str::to_string)
            .or_else(|| {
                to_full
                    .iter()
                    .find_map(|a| present(a.mailbox_hash.as_deref()).map(str::to_string))
            })
            .or_else(|| {
                email::first_plus_token(
                    [inbound.original_recipient.as_deref(), inbound.to.as_deref()]
                        .into_iter()
                        .flatten()
                        .chain(to_full.iter().filter_map(|a| a.email.as_deref())),
                )
            });
        let attachments = inbound
            .attachments
            .unwrap_or_default()
            .into_iter()
            .map(|a| AttachmentNote {
                name: present(a.name.as_deref()).unwrap_or("unnamed").to_string(),
                size: a.content_length,
                content_type: present(a.content_type.as_deref()).map(str::to_string),
            })
            .collect();
        let mut mail = InboundEmail {
            from,
            from_name: present(from_full.name.as_deref())
                .or(present(inbound.from_name.as_deref()))
                .map(str::to_string),
            subject: inbound.subject.unwrap_or_default(),
            stripped_text: inbound.stripped_text_reply,
            text: inbound.text_body,
            html: inbound.html_body,
            reply_token,
            attachments,
            ..InboundEmail::default()
        };
        mail.absorb_headers(&header_block);
        let fallback = present(inbound.message_id.as_deref())
            .map(str::to_string)
            .unwrap_or_else(|| email::sha256_hex(&request.body));
        let event = mail.into_event(self.name(), from_field, &fallback, received_at)?;
        Ok(Parsed::events(vec![event]))
    }

    fn sign(&self, request: &mut RawRequest, secret: &str, _now: DateTime<Utc>) {
        basic_auth::sign(request, secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::reply_of;
    use handoff_domain::classify::{classify, MatchContext};
    use handoff_domain::config::Rules;
    use handoff_domain::package::ReplyClass;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const FIXTURE: &str =
        include_str!("../../../../tests/fixtures/providers/postmark_inbound.json");
    const URL: &str = "https://user:pw@abc123.lambda-url.us-east-1.on.aws/email/postmark";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn request(body: &[u8]) -> RawRequest {
        RawRequest::post(URL, &[("content-type", "application/json")], body.to_vec())
    }

    fn signed(secret: &str, body: &[u8]) -> RawRequest {
        let mut r = request(body);
        Postmark.sign(&mut r, secret, now());
        r
    }

    /// The fixture with RFC threading headers and extra `Headers[]` entries.
    fn with_headers(extra: &[(&str, &str)]) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        let headers = v["Headers"].as_array_mut().unwrap();
        for (name, value) in extra {
            headers.push(json!({"Name": name, "Value": value}));
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn the_docs_example_parses() {
        let parsed = Postmark.parse(&request(FIXTURE.as_bytes()), now()).unwrap();
        assert_eq!(parsed.events.len(), 1);
        let e = &parsed.events[0];
        assert_eq!(e.source.as_str(), "postmark");
        assert_eq!(
            e.provider_event_id.as_str(),
            "73e6d360-66eb-11e1-8e72-a8904824019b"
        );
        let r = reply_of(e).unwrap();
        assert_eq!(r.buyer.email.as_str(), "support@postmarkapp.com");
        assert_eq!(r.buyer.name.as_deref(), Some("Postmarkapp Support"));
        assert_eq!(r.subject, "Test subject");
        assert_eq!(r.text, "This is the reply text");
        assert_eq!(r.reply_token.as_deref(), Some("SampleHash"));
        assert_eq!(r.thread_id, "SampleHash");
        assert_eq!(r.message_id, None);
        assert!(r.references.is_empty());
        assert!(r.headers.is_empty());
        assert_eq!(
            r.attachments,
            vec![AttachmentNote {
                name: "test.txt".into(),
                size: Some(45),
                content_type: Some("text/plain".into()),
            }]
        );
    }

    #[test]
    fn rfc_threading_headers_come_from_the_headers_list() {
        let body = with_headers(&[
            ("Message-ID", " <reply-1@mail.acme.com> "),
            ("In-Reply-To", "<out-2@us.com>"),
            ("References", "<out-1@us.com>\r\n <out-2@us.com>"),
            ("X-Auto-Response-Suppress", "All"),
        ]);
        let e = &Postmark.parse(&request(&body), now()).unwrap().events[0];
        assert_eq!(e.provider_event_id.as_str(), "<reply-1@mail.acme.com>");
        let r = reply_of(e).unwrap();
        assert_eq!(r.message_id.as_deref(), Some("<reply-1@mail.acme.com>"));
        assert_eq!(r.in_reply_to.as_deref(), Some("<out-2@us.com>"));
        assert_eq!(r.references, ["<out-1@us.com>", "<out-2@us.com>"]);
        assert_eq!(r.thread_id, "<out-1@us.com>");
        assert_eq!(r.headers["x-auto-response-suppress"], "All");
    }

    #[test]
    fn text_falls_back_to_the_body_and_is_stripped() {
        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["StrippedTextReply"] = json!("");
        v["TextBody"] =
            json!("Yes, send pricing.\r\n\r\nOn Tue, Nov 3, 2026 at 9:00 AM Vera <v@us.com> wrote:\r\n> hi");
        v["MailboxHash"] = Value::Null;
        v["FromFull"] = Value::Null;
        v["From"] = json!("Dana Smith <dana@acme.com>");
        let e = &Postmark
            .parse(&request(&serde_json::to_vec(&v).unwrap()), now())
            .unwrap()
            .events[0];
        let r = reply_of(e).unwrap();
        assert_eq!(r.text, "Yes, send pricing.");
        assert_eq!(r.buyer.email.as_str(), "dana@acme.com");
        assert_eq!(r.buyer.name.as_deref(), Some("Postmarkapp Support"));
        assert_eq!(r.reply_token.as_deref(), Some("SampleHash"), "from ToFull");
    }

    #[test]
    fn an_auto_reply_header_reaches_the_classifier() {
        let body = with_headers(&[("Auto-Submitted", "auto-replied")]);
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        v["StrippedTextReply"] = json!("Thanks, we received your message.");
        let e = &Postmark
            .parse(&request(&serde_json::to_vec(&v).unwrap()), now())
            .unwrap()
            .events[0];
        assert_eq!(
            reply_of(e).unwrap().headers["auto-submitted"],
            "auto-replied"
        );
        let rules = Rules::from_toml(
            "examples/handoff.toml",
            include_str!("../../../../examples/handoff.toml"),
        )
        .unwrap();
        let c = classify(e, &MatchContext::default(), &rules);
        assert_eq!(c.reply_class, Some(ReplyClass::AutoReply));
    }

    #[test]
    fn bad_payloads_name_the_problem() {
        let e = Postmark
            .parse(&request(b"{\"From\": 1"), now())
            .unwrap_err();
        assert!(e.field.starts_with("body"), "{e}");
        let e = Postmark.parse(&request(b"{}"), now()).unwrap_err();
        assert_eq!(e.field, "From");
        let e = Postmark
            .parse(&request(b"{\"FromFull\":{\"Email\":\"nope\"}}"), now())
            .unwrap_err();
        assert_eq!(e.field, "FromFull.Email");
    }

    #[test]
    fn credentials_are_checked() {
        let secrets = Secrets::parse("postmark:s3cret").unwrap();
        let body = FIXTURE.as_bytes();
        assert_eq!(
            Postmark.verify(&signed("postmark:s3cret", body), &secrets, now()),
            Ok(Verified::default())
        );
        assert_eq!(
            Postmark.verify(&signed("postmark:wrong", body), &secrets, now()),
            Err(AuthError::BadSignature("Authorization header"))
        );
        assert_eq!(
            Postmark.verify(&signed("other:s3cret", body), &secrets, now()),
            Err(AuthError::BadSignature("Authorization header"))
        );
        assert_eq!(
            Postmark.verify(&request(body), &secrets, now()),
            Err(AuthError::MissingHeader("Authorization"))
        );
        let mut r = request(body);
        r.set_header("authorization", "Bearer x");
        assert!(matches!(
            Postmark.verify(&r, &secrets, now()),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn rotation_accepts_old_and_new() {
        let secrets = Secrets::parse("postmark:new,postmark:old").unwrap();
        for s in ["postmark:new", "postmark:old"] {
            assert!(Postmark.verify(&signed(s, b"{}"), &secrets, now()).is_ok());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            auth in ".{0,40}",
            content_type in ".{0,40}",
        ) {
            let secrets = Secrets::parse("u:p").unwrap();
            let r = RawRequest::post(URL, &[("authorization", auth.as_str()), ("content-type", content_type.as_str())], body);
            let _ = Postmark.verify(&r, &secrets, now());
            let _ = Postmark.parse(&r, now());
        }

        #[test]
        fn arbitrary_field_values_never_panic(
            from in ".{0,40}", text in ".{0,200}", refs in ".{0,80}", hash in ".{0,20}",
        ) {
            let body = json!({
                "From": from, "TextBody": text, "MailboxHash": hash,
                "Headers": [{"Name": "References", "Value": refs}, {"Name": "Message-ID", "Value": refs}],
            });
            let _ = Postmark.parse(&request(&serde_json::to_vec(&body).unwrap()), now());
        }
    }
}
