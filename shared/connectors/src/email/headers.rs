//! Mail headers: a header block with folded lines (RFC 5322), structured values with parameters
//! (`form-data; name="x"`, RFC 2231 `filename*=utf-8''…`), encoded words (RFC 2047
//! `=?utf-8?Q?…?=`), message-id lists, and the headers that mark machine mail.
//!
//! Bounded: at most [`MAX_FIELDS`] fields are kept per block, and values kept in
//! [`machine_headers`] are cut at [`MAX_HINT_CHARS`] characters.

use super::mime::{decode_base64_lenient, decode_charset};
use std::collections::BTreeMap;

/// The most header fields read from one block.
pub const MAX_FIELDS: usize = 500;
/// The longest value kept for a machine-mail header.
pub const MAX_HINT_CHARS: usize = 256;

/// A parsed header block: names as sent, values unfolded, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Parses a header block (CRLF or LF line ends, folded continuation lines). Lines that are
    /// not `Name: value` (an mbox `From ` line, garbage) are skipped; bytes that are not UTF-8
    /// are replaced.
    pub fn parse(block: &[u8]) -> Self {
        let text = String::from_utf8_lossy(block);
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut folding = false;
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with([' ', '\t']) {
                if folding {
                    if let Some((_, v)) = fields.last_mut() {
                        v.push(' ');
                        v.push_str(line.trim());
                    }
                }
                continue;
            }
            folding = false;
            if line.is_empty() {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() || name.contains(' ') {
                continue;
            }
            if fields.len() == MAX_FIELDS {
                break;
            }
            fields.push((name.to_string(), value.trim().to_string()));
            folding = true;
        }
        Self(fields)
    }

    /// Headers from `(name, value)` pairs (Postmark's `Headers[]`, Mailgun's `message-headers`).
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .take(MAX_FIELDS)
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        )
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every field in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A structured header value: the main value and its `; key=value` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderValue {
    /// The main value, trimmed (`form-data`, `text/plain`).
    pub value: String,
    /// Parameters in order, keys lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl HeaderValue {
    /// Parses `value; key=value; key="quoted; \"value\""`.
    pub fn parse(raw: &str) -> Self {
        let mut pieces: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut escaped = false;
        for c in raw.chars() {
            if escaped {
                cur.push(c);
                escaped = false;
                continue;
            }
            match c {
                '\\' if quoted => escaped = true,
                '"' => {
                    quoted = !quoted;
                    cur.push(c);
                }
                ';' if !quoted => pieces.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        pieces.push(cur);
        let mut it = pieces.into_iter();
        let value = it.next().unwrap_or_default().trim().to_string();
        let params = it
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                Some((k.trim().to_ascii_lowercase(), v.to_string()))
            })
            .collect();
        Self { value, params }
    }

    /// A parameter: RFC 2231 `key*=charset'lang'percent-encoded` first, then `key`; encoded
    /// words in a plain value are decoded (mail clients put them in filenames).
    pub fn param(&self, key: &str) -> Option<String> {
        let star = format!("{key}*");
        if let Some((_, v)) = self.params.iter().find(|(k, _)| *k == star) {
            return Some(decode_rfc2231(v));
        }
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| decode_words(v))
    }

    /// The main value lower-cased (a media type, a disposition).
    pub fn lower(&self) -> String {
        self.value.to_ascii_lowercase()
    }
}

/// Decodes an RFC 2231 extended value: `utf-8'en'%E2%82%AC`.
fn decode_rfc2231(v: &str) -> String {
    let mut it = v.splitn(3, '\'');
    let (charset, text) = match (it.next(), it.next(), it.next()) {
        (Some(cs), Some(_lang), Some(text)) => (cs, text),
        _ => ("utf-8", v),
    };
    decode_charset(&percent_decode(text), charset)
}

/// `%XX` decoding; invalid escapes are kept.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = b.get(i + 1..i + 3).and_then(hex_pair) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Two hex digits as a byte.
pub(crate) fn hex_pair(pair: &[u8]) -> Option<u8> {
    let d = |c: u8| (c as char).to_digit(16);
    match pair {
        [a, b] => Some((d(*a)? * 16 + d(*b)?) as u8),
        _ => None,
    }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?Q?Gr=C3=BC=C3=9Fe?=`, `=?iso-8859-1?B?…?=`) in a
/// header value; whitespace between two encoded words is dropped, as the RFC says. Text that is
/// not a well-formed encoded word is kept as it is.
pub fn decode_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut pending_ws = String::new();
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some((decoded, used)) = encoded_word(rest) {
            if !last_was_word {
                out.push_str(&pending_ws);
            }
            pending_ws.clear();
            out.push_str(&decoded);
            rest = &rest[used..];
            last_was_word = true;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        rest = &rest[c.len_utf8()..];
        if c.is_whitespace() && last_was_word {
            pending_ws.push(c);
            continue;
        }
        out.push_str(&pending_ws);
        pending_ws.clear();
        out.push(c);
        last_was_word = false;
    }
    out.push_str(&pending_ws);
    out
}

/// The longest encoded word looked for (RFC 2047 allows 75 characters; some senders write
/// longer ones). Bounds the work per position.
const MAX_ENCODED_WORD: usize = 1024;

/// One encoded word at the start of `s`: its decoded text and the bytes it used.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let mut window = s.len().min(MAX_ENCODED_WORD);
    while !s.is_char_boundary(window) {
        window -= 1;
    }
    let s = &s[..window];
    let body = s.strip_prefix("=?")?;
    let (charset, after) = body.split_once('?')?;
    let (enc, after) = after.split_once('?')?;
    let end = after.find("?=")?;
    let text = &after[..end];
    if charset.is_empty() || charset.contains([' ', '=']) || text.contains(' ') {
        return None;
    }
    let charset = charset.split('*').next().unwrap_or(charset);
    let bytes = match enc {
        "Q" | "q" => {
            let b = text.as_bytes();
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'_' => out.push(b' '),
                    b'=' => {
                        if let Some(v) = b.get(i + 1..i + 3).and_then(hex_pair) {
                            out.push(v);
                            i += 3;
                            continue;
                        }
                        out.push(b'=');
                    }
                    c => out.push(c),
                }
                i += 1;
            }
            out
        }
        "B" | "b" => decode_base64_lenient(text.as_bytes()),
        _ => return None,
    };
    let used = s.len() - after.len() + end + 2;
    Some((decode_charset(&bytes, charset), used))
}

/// The message ids in a `References` (or `In-Reply-To`) value, oldest first: every `<…>`
/// token, or, when there are none, the whitespace-separated words. Kept as they appear (angle
/// brackets included), trimmed.
pub fn message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(close) = rest.find('>') {
        if let Some(open) = rest[..close].rfind('<') {
            if close > open + 1 {
                ids.push(rest[open..=close].to_string());
            }
        }
        rest = &rest[close + 1..];
    }
    if ids.is_empty() {
        ids = value
            .split([' ', '\t', ',', '\r', '\n'])
            .filter(|w| w.chars().any(|c| c != '<' && c != '>'))
            .map(str::to_string)
            .collect();
    }
    ids
}

/// One message id (`Message-ID`, `In-Reply-To`): the first of [`message_ids`], or `None`.
pub fn message_id(value: &str) -> Option<String> {
    message_ids(value).into_iter().next()
}

/// Headers kept in `EmailReply.headers` (lower-cased names): the marks of machine mail the
/// domain's reply classifier reads (`auto-submitted` not `no`, `x-autoreply`, `x-autorespond`,
/// `x-auto-reply`, `x-autogenerated`, `x-ms-exchange-generated-message-source`,
/// `x-failed-recipients`, `precedence: bulk|junk|auto_reply`), and hints it keeps for a reader
/// but does not count as machine mail (`x-auto-response-suppress`, which Outlook also sets on
/// mail people write; `list-id`, `list-unsubscribe`; `precedence: list`).
pub const KEPT_HEADERS: &[&str] = &[
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-reply",
    "x-autogenerated",
    "x-ms-exchange-generated-message-source",
    "x-failed-recipients",
    "precedence",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
];

/// The [`KEPT_HEADERS`] among `fields`, names lower-cased, first value of each, trimmed and cut
/// at [`MAX_HINT_CHARS`] characters.
pub fn machine_headers<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in fields {
        let name = name.trim().to_ascii_lowercase();
        if KEPT_HEADERS.contains(&name.as_str()) && !out.contains_key(&name) {
            let value: String = value.trim().chars().take(MAX_HINT_CHARS).collect();
            out.insert(name, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_block_unfolds_and_skips_garbage() {
        let h = Headers::parse(
            b"From nobody Mon\r\nSubject: a\r\n  long\r\n\tsubject\r\nReferences: <a@x>\n <b@x>\n: no name\nX-Empty:\n",
        );
        assert_eq!(h.get("subject"), Some("a long subject"));
        assert_eq!(h.get("REFERENCES"), Some("<a@x> <b@x>"));
        assert_eq!(h.get("x-empty"), Some(""));
        assert_eq!(h.iter().count(), 3);
    }

    #[test]
    fn structured_values_and_params() {
        let v = HeaderValue::parse(
            "form-data; name=\"a;b\"; filename=\"x \\\"y\\\".txt\"; FILENAME*=utf-8''%E2%82%AC.txt",
        );
        assert_eq!(v.value, "form-data");
        assert_eq!(v.param("name").as_deref(), Some("a;b"));
        assert_eq!(v.param("filename").as_deref(), Some("€.txt"));
        let v = HeaderValue::parse("text/plain; charset=UTF-8");
        assert_eq!(v.lower(), "text/plain");
        assert_eq!(v.param("charset").as_deref(), Some("UTF-8"));
        assert_eq!(v.param("missing"), None);
    }

    #[test]
    fn encoded_words() {
        for (raw, want) in [
            (
                "=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=",
                "Grüße aus Köln",
            ),
            ("=?ISO-8859-1?Q?J=F6rg?= <j@x.de>", "Jörg <j@x.de>"),
            ("=?utf-8?B?w6lsw6g=?= =?utf-8?B?dmU=?=", "élève"),
            ("Re: =?utf-8?q?caf=C3=A9?= time", "Re: café time"),
            ("plain =? not a word ?=", "plain =? not a word ?="),
            ("=?utf-8?X?abc?=", "=?utf-8?X?abc?="),
            ("=?", "=?"),
        ] {
            assert_eq!(decode_words(raw), want, "{raw}");
        }
    }

    #[test]
    fn message_id_lists() {
        assert_eq!(
            message_ids(" <a@x>\r\n <b@x> <c@x>"),
            ["<a@x>", "<b@x>", "<c@x>"]
        );
        assert_eq!(message_ids("a@x b@x"), ["a@x", "b@x"]);
        assert_eq!(
            message_id("<a@x> (Dana's message of Monday)").as_deref(),
            Some("<a@x>")
        );
        assert_eq!(message_id("  "), None);
        assert_eq!(message_ids("<<>"), Vec::<String>::new());
    }

    #[test]
    fn machine_headers_are_collected_lowercased() {
        let cases: &[(&str, &str, bool)] = &[
            ("Auto-Submitted", "auto-replied", true),
            ("X-Autoreply", "yes", true),
            ("X-Autorespond", "yes", true),
            ("X-Auto-Response-Suppress", "All", true),
            ("Precedence", "bulk", true),
            ("Precedence", "list", true),
            (
                "X-MS-Exchange-Generated-Message-Source",
                "Mailbox Rules Agent",
                true,
            ),
            ("X-Autogenerated", "Reply", true),
            ("X-Failed-Recipients", "a@x", true),
            ("List-Id", "<l.x>", true),
            ("List-Unsubscribe", "<mailto:u@x>", true),
            ("X-Spam-Score", "-0.1", false),
            ("Subject", "Automatic reply", false),
        ];
        for (name, value, kept) in cases {
            let m = machine_headers([(*name, *value)]);
            let key = name.to_ascii_lowercase();
            assert_eq!(
                m.get(&key).map(String::as_str) == Some(*value),
                *kept,
                "{name}"
            );
        }
        let m = machine_headers([("precedence", " bulk "), ("Precedence", "list")]);
        assert_eq!(m["precedence"], "bulk");
        let long = "x".repeat(1000);
        assert_eq!(
            machine_headers([("x-autoreply", long.as_str())])["x-autoreply"].len(),
            MAX_HINT_CHARS
        );
    }
}
