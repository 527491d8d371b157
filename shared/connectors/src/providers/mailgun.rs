//! Mailgun inbound routes (`forward("https://host/email/mailgun")`): a buyer's reply becomes an
//! [`EmailReply`](handoff_domain::event::EmailReply).
//!
//! **Transport:** `application/x-www-form-urlencoded`, or `multipart/form-data` when the mail has
//! attachments (file parts `attachment-1..N`).
//!
//! **Auth:** the form carries `timestamp`, `token` (50 random characters) and
//! `signature = hex(HMAC-SHA256(webhook signing key, timestamp + token))`. The signature does
//! not cover the body, so two more checks bound a replay: `timestamp` must be within
//! [`WINDOW_SECS`] of now, and the verified request returns a
//! [`OnceToken`] `mailgun:<token>` (remembered [`REMEMBER_SECS`] past the timestamp) that the
//! caller records before acting, refusing a token seen before. The secret
//! (`HANDOFF_SECRET_MAILGUN`) is the HTTP webhook signing key; several during a rotation.
//!
//! **Fields:** `from` (else `sender`), `recipient`, `subject`, `stripped-text` (else
//! `body-plain`, else `body-html` as text; run through `strip_quoted_history` either way),
//! `Message-Id`, `In-Reply-To`, `References` (Mailgun posts every MIME header as a field; they
//! are also in `message-headers`, a JSON list of `[name, value]` pairs, read as a fallback),
//! machine-mail headers, attachments (file parts, or a stored message's `attachments` JSON).
//! The reply token is the `+token` of `recipient` (else of `To`). The event id is the
//! `Message-Id`, else the `token` (else the body's SHA-256).

use crate::email::multipart::{self, FormPart};
use crate::email::{self, headers, headers::HeaderValue, headers::Headers, InboundEmail};
use crate::provider::{
    any_secret, check_window, AuthError, OnceToken, ParseError, Parsed, Provider, Secrets, Verified,
};
use crate::request::RawRequest;
use crate::signature::{decode_hex, hmac_sha256, verify_hmac_sha256};
use chrono::{DateTime, Duration, Utc};
use handoff_domain::event::AttachmentNote;
use serde::Deserialize;

/// How far `timestamp` may be from now.
pub const WINDOW_SECS: i64 = 300;
/// How long past its timestamp a token is remembered (beyond the window, the timestamp check
/// refuses the request anyway).
pub const REMEMBER_SECS: i64 = 600;
/// The longest token accepted (Mailgun's are 50 characters).
pub const MAX_TOKEN_LEN: usize = 200;
/// The length of the token [`Mailgun::sign`] makes.
pub const TOKEN_LEN: usize = 50;
/// The three signature fields.
const SIGNATURE_FIELDS: [&str; 3] = ["timestamp", "token", "signature"];

/// Mailgun's inbound route forwarding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mailgun;

/// The posted form: text fields in order, and file parts.
struct Form<'a> {
    fields: Vec<(String, String)>,
    files: Vec<FormPart<'a>>,
}

impl<'a> Form<'a> {
    /// Reads the body as multipart (when the content type says so) or URL-encoded.
    fn read(request: &'a RawRequest) -> Result<Self, String> {
        if request.media_type() == "multipart/form-data" {
            let boundary = request
                .content_type_param("boundary")
                .ok_or("the multipart content type has no boundary")?;
            let parts =
                multipart::parse_form_data(&request.body, &boundary).map_err(|e| e.to_string())?;
            let (files, texts): (Vec<_>, Vec<_>) = parts
                .into_iter()
                .partition(|p| p.is_file() || is_attachment_name(&p.name));
            Ok(Self {
                fields: texts.iter().map(|p| (p.name.clone(), p.text())).collect(),
                files,
            })
        } else {
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body)
                .map_err(|e| format!("not a URL-encoded form: {e}"))?;
            Ok(Self {
                fields,
                files: Vec::new(),
            })
        }
    }

    /// The first value of `name`: exact name first, then any case (MIME header fields).
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| {
                self.fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.as_str())
    }

    /// A non-blank value of `name`.
    fn present(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }
}

/// Whether a part name is a file part's (`attachment-1`), not `attachment-count`.
fn is_attachment_name(name: &str) -> bool {
    name.strip_prefix("attachment-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A stored message's `attachments` JSON entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StoredAttachment {
    name: Option<String>,
    size: Option<u64>,
    #[serde(rename = "content-type")]
    content_type: Option<String>,
}

/// The token [`Mailgun::sign`] uses: 50 hex characters derived from `timestamp` and the body's
/// hash (deterministic, so tests and the demo are reproducible).
pub fn derived_token(timestamp: i64, body: &[u8]) -> String {
    let seed = format!("{timestamp}:{}", email::sha256_hex(body));
    email::sha256_hex(seed.as_bytes())[..TOKEN_LEN].to_string()
}

/// `hex(HMAC-SHA256(key, timestamp + token))`.
pub fn signature(key: &str, timestamp: &str, token: &str) -> String {
    hex::encode(hmac_sha256(
        key.as_bytes(),
        &[timestamp.as_bytes(), token.as_bytes()],
    ))
}

impl Provider for Mailgun {
    fn name(&self) -> &'static str {
        "mailgun"
    }
    fn path(&self) -> &'static str {
        "/email/mailgun"
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["application/x-www-form-urlencoded", "multipart/form-data"]
    }

    fn verify(
        &self,
        request: &RawRequest,
        secrets: &Secrets,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        let form = Form::read(request).map_err(|detail| AuthError::Malformed {
            what: "Mailgun form body",
            detail,
        })?;
        let timestamp = form
            .get("timestamp")
            .ok_or(AuthError::MissingField("timestamp"))?;
        let token = form.get("token").ok_or(AuthError::MissingField("token"))?;
        let signature = form
            .get("signature")
            .ok_or(AuthError::MissingField("signature"))?;
        let malformed = |what, detail: &str| AuthError::Malformed {
            what,
            detail: detail.to_string(),
        };
        let at = timestamp
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or_else(|| malformed("Mailgun timestamp", "expected unix seconds"))?;
        check_window("Mailgun timestamp", at, now, WINDOW_SECS)?;
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(malformed("Mailgun token", "expected 1 to 200 characters"));
        }
        let sig =
            decode_hex(signature).ok_or_else(|| malformed("Mailgun signature", "expected hex"))?;
        if !any_secret(secrets, |key| {
            verify_hmac_sha256(key, &[timestamp.as_bytes(), token.as_bytes()], &sig)
        }) {
            return Err(AuthError::BadSignature("Mailgun signature"));
        }
        Ok(Verified {
            once: Some(OnceToken {
                key: format!("mailgun:{token}"),
                remember_until: at + Duration::seconds(REMEMBER_SECS),
            }),
        })
    }

    fn parse(
        &self,
        request: &RawRequest,
        received_at: DateTime<Utc>,
    ) -> Result<Parsed, ParseError> {
        let form = Form::read(request).map_err(|detail| ParseError::new("body", detail))?;
        let message_headers = Headers::from_pairs(
            form.get("message-headers")
                .and_then(|j| serde_json::from_str::<Vec<(String, String)>>(j).ok())
                .unwrap_or_default(),
        );
        let (from, from_field) = match form.present("from") {
            Some(f) => (f.to_string(), "from"),
            None => (form.get("sender").unwrap_or_default().to_string(), "sender"),
        };
        let mut attachments: Vec<AttachmentNote> = form
            .files
            .iter()
            .map(|p| AttachmentNote {
                name: p.filename.clone().unwrap_or_else(|| p.name.clone()),
                size: Some(p.body.len() as u64),
                content_type: p
                    .content_type
                    .as_deref()
                    .map(|ct| HeaderValue::parse(ct).lower())
                    .filter(|ct| !ct.is_empty()),
            })
            .collect();
        if attachments.is_empty() {
            let stored: Vec<StoredAttachment> = form
                .get("attachments")
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default();
            attachments = stored
                .into_iter()
                .map(|a| AttachmentNote {
                    name: a.name.unwrap_or_else(|| "unnamed".into()),
                    size: a.size,
                    content_type: a.content_type,
                })
                .collect();
        }
        let mut mail = InboundEmail {
            from,
            subject: form.get("subject").unwrap_or_default().to_string(),
            stripped_text: form.get("stripped-text").map(str::to_string),
            text: form.get("body-plain").map(str::to_string),
            html: form.get("body-html").map(str::to_string),
            message_id: form.get("Message-Id").and_then(headers::message_id),
            in_reply_to: form.get("In-Reply-To").and_then(headers::message_id),
            references: form
                .get("References")
                .map(headers::message_ids)
                .unwrap_or_default(),
            reply_token: email::first_plus_token(
                [form.get("recipient"), form.get("To")]
                    .into_iter()
                    .flatten(),
            ),
            headers: headers::machine_headers(
                form.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            attachments,
            ..InboundEmail::default()
        };
        mail.absorb_headers(&message_headers);
        let fallback = form
            .present("token")
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|| email::sha256_hex(&request.body));
        let event = mail.into_event(self.name(), from_field, &fallback, received_at)?;
        Ok(Parsed::events(vec![event]))
    }

    fn sign(&self, request: &mut RawRequest, secret: &str, now: DateTime<Utc>) {
        let timestamp = now.timestamp().to_string();
        let token = derived_token(now.timestamp(), &request.body);
        let sig = signature(secret, &timestamp, &token);
        let values = [timestamp.as_str(), token.as_str(), sig.as_str()];
        let value_of = |name: &str| {
            SIGNATURE_FIELDS
                .iter()
                .position(|f| *f == name)
                .map(|i| values[i])
        };
        if request.media_type() == "multipart/form-data" {
            let Some(boundary) = request.content_type_param("boundary") else {
                return;
            };
            let Ok(parts) = multipart::parse_form_data(&request.body, &boundary) else {
                return;
            };
            let mut raws: Vec<Vec<u8>> = Vec::with_capacity(parts.len() + 3);
            let mut done = [false; 3];
            for p in &parts {
                match SIGNATURE_FIELDS.iter().position(|f| *f == p.name) {
                    Some(i) if !done[i] => {
                        raws.push(multipart::text_part(SIGNATURE_FIELDS[i], values[i]));
                        done[i] = true;
                    }
                    Some(_) => {}
                    None => raws.push(p.raw.to_vec()),
                }
            }
            for (i, name) in SIGNATURE_FIELDS.iter().enumerate() {
                if !done[i] {
                    raws.push(multipart::text_part(name, values[i]));
                }
            }
            request.body = multipart::build_form_data(&boundary, &raws);
        } else {
            let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
            else {
                return;
            };
            let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len() + 3);
            for (k, v) in pairs {
                match value_of(&k) {
                    Some(_) if out.iter().any(|(o, _)| *o == k) => {}
                    Some(new) => out.push((k, new.to_string())),
                    None => out.push((k, v)),
                }
            }
            for (i, name) in SIGNATURE_FIELDS.iter().enumerate() {
                if !out.iter().any(|(k, _)| k == name) {
                    out.push(((*name).to_string(), values[i].to_string()));
                }
            }
            if let Ok(body) = serde_urlencoded::to_string(&out) {
                request.body = body.into_bytes();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::reply_of;
    use proptest::prelude::*;

    const LISTING: &str =
        include_str!("../../../../tests/fixtures/providers/mailgun_route_forward_fields.txt");
    const URL: &str = "https://abc123.lambda-url.us-east-1.on.aws/email/mailgun";
    const KEY: &str = "test-signing-key";
    const DOC_TIMESTAMP: i64 = 1_481_310_293;
    const DOC_TOKEN: &str = "a71d0000ed34da6768198da96f9daaf8fb98adbccfdbd2fdaf";
    const DOC_SIGNATURE: &str = "4f3ddd4a0a591655cff671a51ecded0de64e97d8e02577ebff979f5bc11c502e";
    const FORM: &str = "application/x-www-form-urlencoded";

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).unwrap()
    }

    /// The docs listing as `(name, value)` pairs.
    fn listing() -> Vec<(String, String)> {
        LISTING
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()))
            .collect()
    }

    fn with_field(
        mut pairs: Vec<(String, String)>,
        name: &str,
        value: &str,
    ) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != name);
        pairs.push((name.into(), value.into()));
        pairs
    }

    fn form(pairs: &[(String, String)]) -> RawRequest {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        RawRequest::post(URL, &[("content-type", FORM)], body)
    }

    fn signed_form(secret: &str, ts: i64) -> RawRequest {
        let mut r = form(&listing());
        Mailgun.sign(&mut r, secret, at(ts));
        r
    }

    fn multipart_body() -> Vec<u8> {
        let mut raws: Vec<Vec<u8>> = listing()
            .iter()
            .map(|(k, v)| multipart::text_part(k, v))
            .collect();
        let mut file = b"Content-Disposition: form-data; name=\"attachment-1\"; filename=\"Quote Q4.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".to_vec();
        file.extend_from_slice(&[0x25, 0x50, 0x44, 0x46, 0, 0xff, b'\r', b'\n', b'-', b'-']);
        raws.push(file);
        raws.push(multipart::text_part("attachment-count", "1"));
        multipart::build_form_data("mgBoundary", &raws)
    }

    fn multipart_request() -> RawRequest {
        RawRequest::post(
            URL,
            &[(
                "content-type",
                "multipart/form-data; boundary=\"mgBoundary\"",
            )],
            multipart_body(),
        )
    }

    #[test]
    fn the_documented_vector_verifies() {
        assert_eq!(
            signature(KEY, &DOC_TIMESTAMP.to_string(), DOC_TOKEN),
            DOC_SIGNATURE
        );
        let r = form(&with_field(listing(), "signature", DOC_SIGNATURE));
        let secrets = Secrets::parse(KEY).unwrap();
        let v = Mailgun.verify(&r, &secrets, at(DOC_TIMESTAMP)).unwrap();
        assert_eq!(
            v.once,
            Some(OnceToken {
                key: format!("mailgun:{DOC_TOKEN}"),
                remember_until: at(DOC_TIMESTAMP + 600),
            })
        );
        // The listing's own sample signature is 65 hex digits: not a signature at all.
        assert!(matches!(
            Mailgun.verify(&form(&listing()), &secrets, at(DOC_TIMESTAMP)),
            Err(AuthError::Malformed {
                what: "Mailgun signature",
                ..
            })
        ));
    }

    #[test]
    fn the_docs_listing_parses() {
        let e = &Mailgun
            .parse(&form(&listing()), at(DOC_TIMESTAMP))
            .unwrap()
            .events[0];
        assert_eq!(e.source.as_str(), "mailgun");
        let id = "<CABPem2N_Ucj3wRRZnLVpVF_fRjkTBXHZReZC3zY-hHsRa=T51g@samples.mailgun.com>";
        assert_eq!(e.provider_event_id.as_str(), id);
        let r = reply_of(e).unwrap();
        assert_eq!(r.buyer.email.as_str(), "user@samples.mailgun.com");
        assert_eq!(r.buyer.name.as_deref(), Some("Excited User"));
        assert_eq!(r.subject, "Message Routes");
        assert_eq!(
            r.text,
            "Testing Mailgun's forwarded and stored message routes :)"
        );
        assert_eq!(r.message_id.as_deref(), Some(id));
        assert_eq!(r.thread_id, id);
        assert_eq!(r.in_reply_to, None);
        assert_eq!(r.reply_token, None);
        assert!(r.attachments.is_empty());
        assert!(r.headers.is_empty());
    }

    #[test]
    fn threading_from_fields_or_message_headers_and_a_reply_token() {
        let mut pairs = with_field(listing(), "recipient", "replies+T0k3n@reply.us.com");
        pairs.retain(|(k, _)| k != "Message-Id");
        pairs = with_field(
            pairs,
            "message-headers",
            r#"[["Message-Id", "<m@acme.com>"], ["In-Reply-To", "<o2@us.com>"], ["References", "<o1@us.com> <o2@us.com>"], ["Auto-Submitted", "auto-replied"]]"#,
        );
        pairs = with_field(pairs, "stripped-text", "");
        pairs = with_field(
            pairs,
            "body-plain",
            "Gerne.\n\nAm Di., 3. Nov. 2026 um 09:00 Uhr schrieb Vera <v@us.com>:\n> Hallo",
        );
        pairs = with_field(pairs, "X-Autorespond", "yes");
        let e = &Mailgun
            .parse(&form(&pairs), at(DOC_TIMESTAMP))
            .unwrap()
            .events[0];
        let r = reply_of(e).unwrap();
        assert_eq!(r.message_id.as_deref(), Some("<m@acme.com>"));
        assert_eq!(r.in_reply_to.as_deref(), Some("<o2@us.com>"));
        assert_eq!(r.references, ["<o1@us.com>", "<o2@us.com>"]);
        assert_eq!(r.thread_id, "<o1@us.com>");
        assert_eq!(r.reply_token.as_deref(), Some("T0k3n"));
        assert_eq!(r.text, "Gerne.");
        assert_eq!(r.headers["auto-submitted"], "auto-replied");
        assert_eq!(r.headers["x-autorespond"], "yes");
        // Without a Message-Id anywhere, the token is the event id.
        let mut pairs = listing();
        pairs.retain(|(k, _)| k != "Message-Id" && k != "message-headers");
        let e = &Mailgun
            .parse(&form(&pairs), at(DOC_TIMESTAMP))
            .unwrap()
            .events[0];
        assert_eq!(e.provider_event_id.as_str(), DOC_TOKEN);
    }

    #[test]
    fn multipart_with_an_attachment_parses_signs_and_verifies() {
        let r = multipart_request();
        let e = &Mailgun.parse(&r, at(DOC_TIMESTAMP)).unwrap().events[0];
        let reply = reply_of(e).unwrap();
        assert_eq!(reply.buyer.email.as_str(), "user@samples.mailgun.com");
        assert_eq!(
            reply.attachments,
            vec![AttachmentNote {
                name: "Quote Q4.pdf".into(),
                size: Some(10),
                content_type: Some("application/pdf".into()),
            }]
        );
        let mut signed = r.clone();
        let now = at(1_700_000_000);
        Mailgun.sign(&mut signed, "k", now);
        let secrets = Secrets::parse("k").unwrap();
        let v = Mailgun.verify(&signed, &secrets, now).unwrap();
        let token = derived_token(now.timestamp(), &r.body);
        assert_eq!(v.once.unwrap().key, format!("mailgun:{token}"));
        // The three fields were replaced in place, once each; the file part is byte for byte.
        let parts = multipart::parse_form_data(&signed.body, "mgBoundary").unwrap();
        for f in SIGNATURE_FIELDS {
            assert_eq!(parts.iter().filter(|p| p.name == f).count(), 1, "{f}");
        }
        let original = multipart::parse_form_data(&r.body, "mgBoundary").unwrap();
        let file = |ps: &[FormPart]| ps.iter().find(|p| p.is_file()).map(|p| p.raw.to_vec());
        assert_eq!(file(&parts), file(&original));
        assert_eq!(
            Mailgun.parse(&signed, now).unwrap(),
            Mailgun.parse(&r, now).unwrap()
        );
        // A multipart body without the fields gets them appended.
        let mut bare = RawRequest::post(
            URL,
            &[("content-type", "multipart/form-data; boundary=b")],
            multipart::build_form_data("b", &[multipart::text_part("from", "a@b.co")]),
        );
        Mailgun.sign(&mut bare, "k", now);
        assert!(Mailgun.verify(&bare, &secrets, now).is_ok());
    }

    #[test]
    fn sign_is_deterministic_and_round_trips() {
        let now = at(1_700_000_000);
        let a = signed_form("k", now.timestamp());
        let b = signed_form("k", now.timestamp());
        assert_eq!(a, b);
        let token = derived_token(now.timestamp(), form(&listing()).body.as_slice());
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        let secrets = Secrets::parse("k").unwrap();
        assert!(Mailgun.verify(&a, &secrets, now).is_ok());
        assert_ne!(signed_form("k", now.timestamp() + 1), a);
    }

    #[test]
    fn refusals_name_the_problem() {
        let now = at(1_700_000_000);
        let secrets = Secrets::parse("k").unwrap();
        let fields = |r: &RawRequest| -> Vec<(String, String)> {
            serde_urlencoded::from_bytes(&r.body).unwrap()
        };
        let good = signed_form("k", now.timestamp());
        let bad = AuthError::BadSignature("Mailgun signature");
        let flip = |name: &str, f: &dyn Fn(&str) -> String| {
            let pairs = fields(&good);
            let old = pairs.iter().find(|(k, _)| k == name).unwrap().1.clone();
            form(&with_field(pairs, name, &f(&old)))
        };
        let changed_sig = flip("signature", &|s| {
            let mut s = s.to_string();
            let last = if s.ends_with('0') { "1" } else { "0" };
            s.replace_range(s.len() - 1.., last);
            s
        });
        assert_eq!(
            Mailgun.verify(&changed_sig, &secrets, now),
            Err(bad.clone())
        );
        let changed_ts = flip("timestamp", &|t| {
            (t.parse::<i64>().unwrap() - 1).to_string()
        });
        assert_eq!(Mailgun.verify(&changed_ts, &secrets, now), Err(bad.clone()));
        let changed_token = flip("token", &|t| format!("{t}0"));
        assert_eq!(
            Mailgun.verify(&changed_token, &secrets, now),
            Err(bad.clone())
        );
        assert_eq!(
            Mailgun.verify(&signed_form("other", now.timestamp()), &secrets, now),
            Err(bad)
        );
        let old = signed_form("k", now.timestamp() - 301);
        assert!(matches!(
            Mailgun.verify(&old, &secrets, now),
            Err(AuthError::Expired {
                what: "Mailgun timestamp",
                ..
            })
        ));
        let future = signed_form("k", now.timestamp() + 301);
        assert!(matches!(
            Mailgun.verify(&future, &secrets, now),
            Err(AuthError::Expired { .. })
        ));
        for missing in SIGNATURE_FIELDS {
            let mut pairs = fields(&good);
            pairs.retain(|(k, _)| k != missing);
            assert_eq!(
                Mailgun.verify(&form(&pairs), &secrets, now),
                Err(AuthError::MissingField(missing))
            );
        }
        let not_a_number = flip("timestamp", &|_| "soon".into());
        assert!(matches!(
            Mailgun.verify(&not_a_number, &secrets, now),
            Err(AuthError::Malformed {
                what: "Mailgun timestamp",
                ..
            })
        ));
        let broken = RawRequest::post(
            URL,
            &[("content-type", "multipart/form-data")],
            multipart_body(),
        );
        assert!(matches!(
            Mailgun.verify(&broken, &secrets, now),
            Err(AuthError::Malformed {
                what: "Mailgun form body",
                ..
            })
        ));
    }

    #[test]
    fn rotation_accepts_old_and_new() {
        let now = at(1_700_000_000);
        let secrets = Secrets::parse("new-key,old-key").unwrap();
        for key in ["new-key", "old-key"] {
            assert!(Mailgun
                .verify(&signed_form(key, now.timestamp()), &secrets, now)
                .is_ok());
        }
    }

    #[test]
    fn a_missing_sender_names_the_field() {
        let mut pairs = listing();
        pairs.retain(|(k, _)| !k.eq_ignore_ascii_case("from") && k != "sender");
        let e = Mailgun.parse(&form(&pairs), at(DOC_TIMESTAMP)).unwrap_err();
        assert_eq!(e.field, "sender");
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            content_type in prop_oneof![
                Just(FORM.to_string()),
                Just("multipart/form-data; boundary=b".to_string()),
                ".{0,40}",
            ],
        ) {
            let secrets = Secrets::parse("k").unwrap();
            let mut r = RawRequest::post(URL, &[("content-type", content_type.as_str())], body);
            let _ = Mailgun.verify(&r, &secrets, at(DOC_TIMESTAMP));
            let _ = Mailgun.parse(&r, at(DOC_TIMESTAMP));
            Mailgun.sign(&mut r, "k", at(DOC_TIMESTAMP));
            let _ = Mailgun.verify(&r, &secrets, at(DOC_TIMESTAMP));
        }

        #[test]
        fn arbitrary_field_values_never_panic(
            values in proptest::collection::vec(".{0,60}", 8),
        ) {
            let names = ["from", "recipient", "Message-Id", "References", "message-headers", "timestamp", "token", "signature"];
            let pairs: Vec<(String, String)> = names.iter().map(|n| n.to_string()).zip(values).collect();
            let r = form(&pairs);
            let _ = Mailgun.verify(&r, &Secrets::parse("k").unwrap(), at(DOC_TIMESTAMP));
            let _ = Mailgun.parse(&r, at(DOC_TIMESTAMP));
        }
    }
}
