//! A minimal RFC 5322 / MIME reader, enough for SendGrid's raw mode (the `email` field holds the
//! whole message): the header block, the first `text/plain` part of a (nested) multipart, and
//! the attachments' names, sizes and types.
//!
//! Transfer encodings `quoted-printable` and `base64` are decoded; charsets `utf-8`,
//! `us-ascii`, `iso-8859-1` and `windows-1252` are decoded exactly, any other as lossy UTF-8.
//! When there is no `text/plain` part, the first `text/html` part is turned into text.
//!
//! Bounded: multiparts nest at most [`MAX_DEPTH`] deep and at most [`MAX_ENTITIES`] parts are
//! looked at; every step is linear in its input. It never panics.

use super::headers::{HeaderValue, Headers};
use super::multipart;
use handoff_domain::event::AttachmentNote;

/// How deep multiparts may nest.
pub const MAX_DEPTH: usize = 8;
/// The most MIME parts looked at in one message.
pub const MAX_ENTITIES: usize = 500;

/// What the reader takes from a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MimeMessage {
    /// The top-level header block.
    pub headers: Headers,
    /// The first `text/plain` part, decoded (else the first `text/html` part as text).
    pub text: Option<String>,
    /// Attachments, in order: noted, never kept.
    pub attachments: Vec<AttachmentNote>,
}

/// Reads a whole message (headers, blank line, body).
pub fn parse_message(raw: &[u8]) -> MimeMessage {
    let (head, body) = multipart::split_head(raw);
    let headers = Headers::parse(head);
    let mut walk = Walk::default();
    walk.entity(&headers, body, 0);
    MimeMessage {
        headers,
        text: walk.text.or_else(|| walk.html.map(|h| html_to_text(&h))),
        attachments: walk.attachments,
    }
}

#[derive(Default)]
struct Walk {
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<AttachmentNote>,
    seen: usize,
}

impl Walk {
    fn entity(&mut self, headers: &Headers, body: &[u8], depth: usize) {
        self.seen += 1;
        if self.seen > MAX_ENTITIES {
            return;
        }
        let ct = headers
            .get("content-type")
            .map(HeaderValue::parse)
            .unwrap_or_default();
        let media = match ct.lower() {
            m if m.is_empty() => "text/plain".to_string(),
            m => m,
        };
        if media.starts_with("multipart/") {
            if depth >= MAX_DEPTH {
                return;
            }
            let Some(boundary) = ct.param("boundary") else {
                return;
            };
            if let Ok(parts) = multipart::split(body, &boundary) {
                for p in parts {
                    self.entity(&p.headers(), p.body, depth + 1);
                }
            }
            return;
        }
        let disposition = headers
            .get("content-disposition")
            .map(HeaderValue::parse)
            .unwrap_or_default();
        let filename = disposition.param("filename").or_else(|| ct.param("name"));
        let encoding = headers
            .get("content-transfer-encoding")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let is_text = media == "text/plain" || media == "text/html";
        if disposition.lower() == "attachment" || filename.is_some() || !is_text {
            let size = match encoding.as_str() {
                "base64" => base64_decoded_len(body),
                "quoted-printable" => decode_quoted_printable(body).len(),
                _ => body.len(),
            };
            let subtype = media.rsplit('/').next().unwrap_or("bin");
            self.attachments.push(AttachmentNote {
                name: filename.unwrap_or_else(|| format!("unnamed.{subtype}")),
                size: Some(size as u64),
                content_type: Some(media),
            });
            return;
        }
        let slot = if media == "text/plain" {
            &mut self.text
        } else {
            &mut self.html
        };
        if slot.is_none() {
            let bytes = decode_transfer(body, &encoding);
            let charset = ct.param("charset").unwrap_or_else(|| "us-ascii".into());
            *slot = Some(decode_charset(&bytes, &charset));
        }
    }
}

/// Decodes a `Content-Transfer-Encoding` (`base64`, `quoted-printable`; anything else as is).
pub fn decode_transfer(body: &[u8], encoding: &str) -> Vec<u8> {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "base64" => decode_base64_lenient(body),
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.to_vec(),
    }
}

/// Quoted-printable: `=XX` escapes and `=` soft line breaks; a malformed escape is kept.
pub fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'=' {
            if body.get(i + 1..i + 3) == Some(b"\r\n") {
                i += 3;
                continue;
            }
            if body.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(v) = body.get(i + 1..i + 3).and_then(super::headers::hex_pair) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// The value of a base64 character.
fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Base64 that skips line breaks and any other character outside the alphabet, and stops at
/// the first `=` (padding).
pub fn decode_base64_lenient(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &c in body {
        if c == b'=' {
            break;
        }
        let Some(v) = b64_value(c) else { continue };
        acc = (acc << 6) | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// How many bytes a base64 body decodes to, without decoding it.
fn base64_decoded_len(body: &[u8]) -> usize {
    let n = body
        .iter()
        .take_while(|&&c| c != b'=')
        .filter(|&&c| b64_value(c).is_some())
        .count();
    n / 4 * 3 + [0, 0, 1, 2][n % 4]
}

/// Windows-1252's characters for 0x80–0x9F (the rest is ISO-8859-1).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Decodes text in `charset`: UTF-8 and US-ASCII (lossy), ISO-8859-1, Windows-1252; any other
/// charset is read as lossy UTF-8.
pub fn decode_charset(bytes: &[u8], charset: &str) -> String {
    let cs = charset.trim().trim_matches('"').to_ascii_lowercase();
    match cs.as_str() {
        "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        "windows-1252" | "cp1252" | "x-cp1252" => bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9f => CP1252_HIGH[usize::from(b - 0x80)],
                _ => char::from(b),
            })
            .collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A plain-text rendering of HTML: `<script>`/`<style>` dropped, tags removed, line breaks at
/// `<br>` and block ends, the common entities decoded, blank runs collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        rest = &rest[lt..];
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = rest[1..gt].trim().to_ascii_lowercase();
        rest = &rest[gt + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let close = format!("</{name}");
            rest = match find_ignore_case(rest, &close) {
                Some(i) => rest.get(i..).unwrap_or(""),
                None => "",
            };
            continue;
        }
        if matches!(
            name.as_str(),
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "blockquote"
        ) {
            out.push('\n');
        }
    }
    out.push_str(&decode_entities(rest));
    let mut text = String::with_capacity(out.len());
    let mut blank = 0;
    for line in out.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            if blank > 1 || text.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(line);
        text.push('\n');
    }
    text.trim().to_string()
}

/// The first position of ASCII `needle` in `hay`, ignoring ASCII case.
fn find_ignore_case(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`, `&apos;`, `&nbsp;` and numeric entities.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let mut window = rest.len().min(12);
        while !rest.is_char_boundary(window) {
            window -= 1;
        }
        let semi = rest[..window].find(';');
        let decoded = semi.and_then(|i| {
            let name = &rest[1..i];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name.strip_prefix('#').and_then(|n| {
                    let v = match n.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => n.parse().ok(),
                    };
                    v.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, i + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nested_multipart_with_qp_latin1_and_an_attachment() {
        let msg = b"From: =?iso-8859-1?Q?J=F6rg?= <j@x.de>\r\nSubject: Hallo\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
preamble\r\n--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n\
--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n\
--inner\r\nContent-Type: text/plain; charset=\"ISO-8859-1\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Gr=FC=DFe, wir m=\r\n=F6chten =3D mehr.\r\n--inner--\r\n\
--outer\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"Angebot.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
SGVs\r\nbG8=\r\n--outer--\r\n";
        let m = parse_message(msg);
        assert_eq!(m.headers.get("subject"), Some("Hallo"));
        assert_eq!(m.text.as_deref(), Some("Grüße, wir möchten = mehr."));
        assert_eq!(
            m.attachments,
            vec![AttachmentNote {
                name: "Angebot.pdf".into(),
                size: Some(5),
                content_type: Some("application/pdf".into()),
            }]
        );
    }

    #[test]
    fn single_part_base64_and_html_only() {
        let m = parse_message(
            b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nR3LDvMOfZQ==\n",
        );
        assert_eq!(m.text.as_deref(), Some("Grüße"));
        let m = parse_message(
            b"Content-Type: text/html\n\n<html><style>p{}</style><body><p>Hi &amp; hello</p><br>Bye&nbsp;now &#x263A;</body></html>",
        );
        assert_eq!(m.text.as_deref(), Some("Hi & hello\n\nBye now \u{263a}"));
        let m = parse_message(b"Subject: none\n\nplain body");
        assert_eq!(m.text.as_deref(), Some("plain body"));
    }

    #[test]
    fn charsets() {
        assert_eq!(decode_charset(&[0x80, 0xe9], "windows-1252"), "€é");
        assert_eq!(decode_charset(&[0xe9], "ISO-8859-1"), "é");
        assert_eq!(decode_charset("é".as_bytes(), "UTF-8"), "é");
        assert_eq!(decode_charset(&[0xff], "koi8-r"), "\u{fffd}");
    }

    #[test]
    fn base64_lengths_match_decoding() {
        for s in ["", "QQ==", "QUI=", "QUJD", "QUJDRA==\r\n", "Q\nU\nJ\nD"] {
            assert_eq!(
                base64_decoded_len(s.as_bytes()),
                decode_base64_lenient(s.as_bytes()).len(),
                "{s}"
            );
        }
    }

    #[test]
    fn deep_nesting_stops() {
        let mut msg = String::new();
        for i in 0..50 {
            msg.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"
            ));
        }
        msg.push_str("Content-Type: text/plain\n\ndeep\n");
        assert_eq!(parse_message(msg.as_bytes()).text, None);
    }

    proptest! {
        #[test]
        fn never_panics(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_message(&raw);
        }

        #[test]
        fn never_panics_on_mime_shaped_input(chunks in proptest::collection::vec(prop_oneof![
            Just("Content-Type: multipart/mixed; boundary=b\n".to_string()),
            Just("Content-Type: text/plain; charset=iso-8859-1\n".to_string()),
            Just("Content-Transfer-Encoding: quoted-printable\n".to_string()),
            Just("Content-Transfer-Encoding: base64\n".to_string()),
            Just("Content-Disposition: attachment; filename*=utf-8''%E2\n".to_string()),
            Just("--b\n".to_string()), Just("--b--\n".to_string()), Just("\n".to_string()),
            Just("=?utf-8?B?".to_string()), Just("&#x".to_string()), Just("<style".to_string()),
            "[=a-f0-9<>;& ]{0,6}",
        ], 0..40)) {
            let _ = parse_message(chunks.concat().as_bytes());
            let _ = html_to_text(&chunks.concat());
        }
    }
}
