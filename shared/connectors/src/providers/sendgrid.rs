//! SendGrid Inbound Parse (`POST /email/sendgrid`, `multipart/form-data`): a buyer's reply
//! becomes an [`EmailReply`](handoff_domain::event::EmailReply).
//!
//! **Auth:** Inbound Parse does not sign the body. The Parse URL carries HTTP Basic credentials
//! (`https://user:password@host/email/sendgrid`), which arrive as
//! `Authorization: Basic base64(user:password)`; the secret `HANDOFF_SECRET_SENDGRID` is
//! `user:password` (a comma-separated list during a rotation), compared in constant time (see
//! [`basic_auth`]). SendGrid's newer Parse "security policies" (an ECDSA signature, or OAuth
//! bearer tokens) are **not** verified here: their header names and signed layout for Parse
//! are unconfirmed. There is no timestamp: intake dedups on the event id.
//!
//! **Default mode fields:** `headers` (the raw header block: `Message-ID`, `In-Reply-To` and
//! `References` are only there), `from`, `to`, `subject`, `text`, `html`, `envelope` (JSON
//! `{"to": [...], "from": "..."}`), `charsets` (JSON: each field's charset), `attachment-info`
//! (JSON) and file parts `attachment1..N`. SendGrid computes no stripped reply: the text runs
//! through `strip_quoted_history`.
//!
//! **Raw mode** ("POST the raw, full MIME message"): the `email` field holds the whole message,
//! read with [`mime`]: headers, the first `text/plain` part, attachments.
//!
//! The reply token is the `+token` of an envelope recipient (else of `to`). The event id is the
//! `Message-ID`, else the SHA-256 hex of the body.

use crate::email::multipart::{self, FormPart};
use crate::email::{self, basic_auth, headers, headers::HeaderValue, headers::Headers, mime};
use crate::email::{mime::decode_charset, InboundEmail};
use crate::provider::{AuthError, ParseError, Parsed, Provider, Secrets, Verified};
use crate::request::RawRequest;
use chrono::{DateTime, Utc};
use handoff_domain::event::AttachmentNote;
use serde::Deserialize;
use std::collections::BTreeMap;

/// SendGrid's Inbound Parse webhook.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sendgrid;

/// `envelope`: the SMTP recipients and sender.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    to: Vec<String>,
    from: Option<String>,
}

/// One `attachment-info` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AttachmentInfo {
    filename: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    content_type: Option<String>,
}

/// The posted parts, with the charsets SendGrid declared for them.
struct Fields<'a> {
    parts: Vec<FormPart<'a>>,
    charsets: BTreeMap<String, String>,
}

impl Fields<'_> {
    /// The first non-file part called `name`, decoded in its declared charset.
    fn text(&self, name: &str) -> Option<String> {
        let part = self.parts.iter().find(|p| p.name == name && !p.is_file())?;
        let charset = self.charsets.get(name).map_or("utf-8", String::as_str);
        Some(decode_charset(part.body, charset))
    }

    /// A non-blank text field.
    fn present(&self, name: &str) -> Option<String> {
        self.text(name).filter(|v| !v.trim().is_empty())
    }

    /// The attachments of default mode: file parts, named from `attachment-info` when the part
    /// has no filename; then `attachment-info` entries without a part.
    fn attachments(&self) -> Vec<AttachmentNote> {
        let info: BTreeMap<String, AttachmentInfo> = self
            .text("attachment-info")
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        let mut notes = Vec::new();
        let mut used = Vec::new();
        for p in self.parts.iter().filter(|p| p.is_file()) {
            let i = info.get(&p.name);
            used.push(p.name.as_str());
            notes.push(AttachmentNote {
                name: p
                    .filename
                    .clone()
                    .filter(|f| !f.trim().is_empty())
                    .or_else(|| i.and_then(|i| i.filename.clone().or_else(|| i.name.clone())))
                    .unwrap_or_else(|| p.name.clone()),
                size: Some(p.body.len() as u64),
                content_type: p
                    .content_type
                    .as_deref()
                    .map(|ct| HeaderValue::parse(ct).lower())
                    .filter(|ct| !ct.is_empty())
                    .or_else(|| i.and_then(|i| i.content_type.clone())),
            });
        }
        for (key, i) in &info {
            if !used.contains(&key.as_str()) {
                notes.push(AttachmentNote {
                    name: i
                        .filename
                        .clone()
                        .or_else(|| i.name.clone())
                        .unwrap_or_else(|| key.clone()),
                    size: None,
                    content_type: i.content_type.clone(),
                });
            }
        }
        notes
    }
}

impl Provider for Sendgrid {
    fn name(&self) -> &'static str {
        "sendgrid"
    }
    fn path(&self) -> &'static str {
        "/email/sendgrid"
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["multipart/form-data"]
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
        if request.media_type() != "multipart/form-data" {
            return Err(ParseError::new(
                "content-type",
                "Inbound Parse posts multipart/form-data",
            ));
        }
        let boundary = request
            .content_type_param("boundary")
            .ok_or_else(|| ParseError::new("content-type", "the boundary parameter is missing"))?;
        let parts = multipart::parse_form_data(&request.body, &boundary)
            .map_err(|e| ParseError::new("body", e.to_string()))?;
        let mut fields = Fields {
            parts,
            charsets: BTreeMap::new(),
        };
        fields.charsets = fields
            .text("charsets")
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        let envelope: Envelope = fields
            .text("envelope")
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();

        let raw_mime = fields
            .parts
            .iter()
            .find(|p| p.name == "email")
            .map(|p| mime::parse_message(p.body));
        let (header_block, mut mail) = match raw_mime {
            Some(msg) => {
                let mail = InboundEmail {
                    from: msg
                        .headers
                        .get("from")
                        .map(str::to_string)
                        .or_else(|| fields.present("from"))
                        .unwrap_or_default(),
                    subject: msg
                        .headers
                        .get("subject")
                        .map(headers::decode_words)
                        .or_else(|| fields.text("subject"))
                        .unwrap_or_default(),
                    text: msg.text,
                    attachments: msg.attachments,
                    ..InboundEmail::default()
                };
                (msg.headers, mail)
            }
            None => {
                let block = Headers::parse(fields.text("headers").unwrap_or_default().as_bytes());
                let mail = InboundEmail {
                    from: fields
                        .present("from")
                        .or_else(|| block.get("from").map(str::to_string))
                        .unwrap_or_default(),
                    subject: fields
                        .text("subject")
                        .or_else(|| block.get("subject").map(headers::decode_words))
                        .unwrap_or_default(),
                    text: fields.text("text"),
                    html: fields.text("html"),
                    attachments: fields.attachments(),
                    ..InboundEmail::default()
                };
                (block, mail)
            }
        };
        if email::parse_address(&mail.from).1.is_empty() {
            mail.from = envelope.from.clone().unwrap_or_default();
        }
        let to_field = fields.text("to");
        mail.reply_token = email::first_plus_token(
            envelope
                .to
                .iter()
                .map(String::as_str)
                .chain(to_field.as_deref())
                .chain(header_block.get("to")),
        );
        mail.absorb_headers(&header_block);
        let fallback = email::sha256_hex(&request.body);
        let event = mail.into_event(self.name(), "from", &fallback, received_at)?;
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
    use crate::signature::decode_base64;
    use proptest::prelude::*;

    const DEFAULT: &str = include_str!(
        "../../../../tests/fixtures/providers/sendgrid_inbound_parse_default_data.multipart.txt"
    );
    const RAW: &str = include_str!(
        "../../../../tests/fixtures/providers/sendgrid_inbound_parse_raw_data.multipart.txt"
    );
    const RAW_ATTACHMENTS: &str = include_str!(
        "../../../../tests/fixtures/providers/sendgrid_inbound_parse_raw_data_with_attachments.multipart.txt"
    );
    const URL: &str = "https://user:pw@abc123.lambda-url.us-east-1.on.aws/email/sendgrid";
    const CONTENT_TYPE: &str = "multipart/form-data; boundary=xYzZY";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn request(body: &[u8]) -> RawRequest {
        RawRequest::post(URL, &[("content-type", CONTENT_TYPE)], body.to_vec())
    }

    fn parse(body: &[u8]) -> handoff_domain::event::IntakeEvent {
        let mut parsed = Sendgrid.parse(&request(body), now()).unwrap();
        assert_eq!(parsed.events.len(), 1);
        parsed.events.remove(0)
    }

    #[test]
    fn default_mode_sample_parses() {
        let e = parse(DEFAULT.as_bytes());
        assert_eq!(e.source.as_str(), "sendgrid");
        let hash = email::sha256_hex(DEFAULT.as_bytes());
        assert_eq!(e.provider_event_id.as_str(), hash);
        let r = reply_of(&e).unwrap();
        assert_eq!(r.buyer.email.as_str(), "test@example.com");
        assert_eq!(r.buyer.name.as_deref(), Some("Example User"));
        assert_eq!(r.subject, "Testing non-raw");
        assert_eq!(r.text, "Hello Twilio SendGrid!");
        assert_eq!(r.message_id, None);
        assert_eq!(r.thread_id, hash);
        assert_eq!(r.reply_token, None);
        assert!(r.attachments.is_empty());
        assert!(r.headers.is_empty());
    }

    #[test]
    fn crlf_and_a_quoted_boundary_parse_the_same() {
        let crlf = DEFAULT.replace('\n', "\r\n");
        let mut r = request(crlf.as_bytes());
        r.set_header("content-type", "multipart/form-data; boundary=\"xYzZY\"");
        let e = &Sendgrid.parse(&r, now()).unwrap().events[0];
        let (a, b) = (
            reply_of(e).unwrap(),
            reply_of(&parse(DEFAULT.as_bytes())).unwrap().clone(),
        );
        assert_eq!(a.text, b.text);
        assert_eq!(a.subject, b.subject);
        assert_eq!(a.buyer, b.buyer);
    }

    #[test]
    fn raw_mode_sample_parses() {
        let e = parse(RAW.as_bytes());
        let r = reply_of(&e).unwrap();
        assert_eq!(r.buyer.email.as_str(), "test@example.com");
        assert_eq!(r.buyer.name.as_deref(), Some("Example User"));
        assert_eq!(r.subject, "Inbound Parse Test Raw Data");
        assert_eq!(r.text, "Hello Twilio SendGrid!");
        assert_eq!(r.message_id, None);
        assert!(r.attachments.is_empty());
        assert_eq!(
            e.provider_event_id.as_str(),
            email::sha256_hex(RAW.as_bytes())
        );
    }

    #[test]
    fn raw_mode_sample_with_an_attachment_parses() {
        let e = parse(RAW_ATTACHMENTS.as_bytes());
        let r = reply_of(&e).unwrap();
        assert_eq!(r.buyer.email.as_str(), "test@example.com");
        assert_eq!(r.subject, "Inbound Parse Test Raw Data with Attachment");
        assert_eq!(r.text, "Hello Twilio SendGrid!");
        // The JPEG's size, decoded independently of the MIME reader.
        let start = RAW_ATTACHMENTS
            .find("X-Attachment-Id: f_irwihell0\n\n")
            .unwrap()
            + 30;
        let end = RAW_ATTACHMENTS
            .find("\n\n--001a1140ffb6f4fc63053a2257e2--")
            .unwrap();
        let jpeg = decode_base64(&RAW_ATTACHMENTS[start..end].replace('\n', "")).unwrap();
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        assert_eq!(
            r.attachments,
            vec![AttachmentNote {
                name: "SendGrid.jpg".into(),
                size: Some(jpeg.len() as u64),
                content_type: Some("image/jpeg".into()),
            }]
        );
    }

    /// A default-mode post of a real-looking reply: threading headers, a Latin-1 text field,
    /// a plus-addressed envelope recipient and an attachment.
    fn reply_post() -> Vec<u8> {
        let headers = "Message-ID: <CAF=reply@mail.gmail.com>\nIn-Reply-To: <out-2@us.com>\nReferences: <out-1@us.com>\n <out-2@us.com>\nFrom: =?utf-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@initech.de>\nAuto-Submitted: no\nPrecedence: list\nSubject: Re: Demo\n";
        let mut text = b"Gerne, schicken Sie mir die Preise f\xfcr 40 Pl\xe4tze.\n\nVon: Vera <vera@us.com>\nGesendet: Dienstag\nAn: J\xf6rg\n".to_vec();
        let mut text_part = b"Content-Disposition: form-data; name=\"text\"\n\n".to_vec();
        text_part.append(&mut text);
        let mut file = b"Content-Disposition: form-data; name=\"attachment1\"; filename=\"\"\nContent-Type: application/pdf\n\n".to_vec();
        file.extend_from_slice(&[0x25, 0x50, 0x44, 0x46, 0x00, 0xff]);
        let raws = vec![
            multipart::text_part("headers", headers),
            multipart::text_part("from", "=?utf-8?Q?J=C3=B6rg?= <joerg@initech.de>"),
            multipart::text_part("to", "Vera <vera@us.com>"),
            multipart::text_part("subject", "Re: Demo"),
            text_part,
            multipart::text_part(
                "envelope",
                r#"{"to":["replies+Tok42@reply.us.com"],"from":"bounce@initech.de"}"#,
            ),
            multipart::text_part("charsets", r#"{"text":"iso-8859-1","subject":"UTF-8"}"#),
            multipart::text_part(
                "attachment-info",
                r#"{"attachment1":{"filename":"Preise.pdf","type":"application/pdf"},"attachment2":{"name":"logo.png","type":"image/png"}}"#,
            ),
            file,
            multipart::text_part("attachments", "2"),
        ];
        multipart::build_form_data("xYzZY", &raws)
    }

    #[test]
    fn default_mode_reply_with_threading_charsets_and_attachments() {
        let e = parse(&reply_post());
        assert_eq!(e.provider_event_id.as_str(), "<CAF=reply@mail.gmail.com>");
        let r = reply_of(&e).unwrap();
        assert_eq!(r.buyer.email.as_str(), "joerg@initech.de");
        assert_eq!(r.buyer.name.as_deref(), Some("Jörg"));
        assert_eq!(r.text, "Gerne, schicken Sie mir die Preise für 40 Plätze.");
        assert_eq!(r.message_id.as_deref(), Some("<CAF=reply@mail.gmail.com>"));
        assert_eq!(r.in_reply_to.as_deref(), Some("<out-2@us.com>"));
        assert_eq!(r.references, ["<out-1@us.com>", "<out-2@us.com>"]);
        assert_eq!(r.thread_id, "<out-1@us.com>");
        assert_eq!(r.reply_token.as_deref(), Some("Tok42"));
        assert_eq!(r.headers["auto-submitted"], "no");
        assert_eq!(r.headers["precedence"], "list");
        assert_eq!(
            r.attachments,
            vec![
                AttachmentNote {
                    name: "Preise.pdf".into(),
                    size: Some(6),
                    content_type: Some("application/pdf".into()),
                },
                AttachmentNote {
                    name: "logo.png".into(),
                    size: None,
                    content_type: Some("image/png".into()),
                },
            ]
        );
    }

    #[test]
    fn bad_posts_name_the_problem() {
        let mut r = request(DEFAULT.as_bytes());
        r.set_header("content-type", "application/json");
        assert_eq!(Sendgrid.parse(&r, now()).unwrap_err().field, "content-type");
        r.set_header("content-type", "multipart/form-data");
        assert_eq!(Sendgrid.parse(&r, now()).unwrap_err().field, "content-type");
        assert_eq!(
            Sendgrid
                .parse(&request(b"not multipart"), now())
                .unwrap_err()
                .field,
            "body"
        );
        let no_sender = DEFAULT
            .replace("Example User <test@example.com>", "")
            .replace("\"from\":\"test@example.com\"", "\"from\":\"\"");
        assert_eq!(
            Sendgrid
                .parse(&request(no_sender.as_bytes()), now())
                .unwrap_err()
                .field,
            "from"
        );
    }

    #[test]
    fn credentials_are_checked_and_rotate() {
        let secrets = Secrets::parse("parse:new,parse:old").unwrap();
        for s in ["parse:new", "parse:old"] {
            let mut r = request(DEFAULT.as_bytes());
            Sendgrid.sign(&mut r, s, now());
            assert_eq!(
                Sendgrid.verify(&r, &secrets, now()),
                Ok(Verified::default())
            );
        }
        let mut wrong = request(DEFAULT.as_bytes());
        Sendgrid.sign(&mut wrong, "parse:guess", now());
        assert_eq!(
            Sendgrid.verify(&wrong, &secrets, now()),
            Err(AuthError::BadSignature("Authorization header"))
        );
        assert_eq!(
            Sendgrid.verify(&request(DEFAULT.as_bytes()), &secrets, now()),
            Err(AuthError::MissingHeader("Authorization"))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            content_type in prop_oneof![Just(CONTENT_TYPE.to_string()), ".{0,40}"],
            auth in ".{0,40}",
        ) {
            let secrets = Secrets::parse("u:p").unwrap();
            let r = RawRequest::post(URL, &[("content-type", content_type.as_str()), ("authorization", auth.as_str())], body);
            let _ = Sendgrid.verify(&r, &secrets, now());
            let _ = Sendgrid.parse(&r, now());
        }

        #[test]
        fn arbitrary_field_values_never_panic(values in proptest::collection::vec(".{0,80}", 7)) {
            let names = ["headers", "from", "to", "text", "envelope", "charsets", "email"];
            let raws: Vec<Vec<u8>> = names.iter().zip(&values).map(|(n, v)| multipart::text_part(n, v)).collect();
            let _ = Sendgrid.parse(&request(&multipart::build_form_data("xYzZY", &raws)), now());
            let _ = Sendgrid.parse(&request(&multipart::build_form_data("xYzZY", &raws[..6])), now());
        }
    }
}
