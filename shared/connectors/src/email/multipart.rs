//! A tolerant multipart splitter over raw bytes: `multipart/form-data` bodies (SendGrid Inbound
//! Parse, Mailgun with attachments) and the `multipart/*` bodies of MIME messages.
//!
//! Tolerant of what real senders and SDK samples do: CRLF or bare LF line ends, a quoted or
//! unquoted boundary, a preamble, transport padding after a delimiter, a close delimiter with
//! trailing junk (`--xYzZY------`), a missing close delimiter (the last part runs to the end).
//! Part bodies are kept as bytes (attachments may be binary).
//!
//! Bounded: the boundary is at most [`MAX_BOUNDARY`] bytes, the body is scanned once from left
//! to right (delimiters are looked for only at line starts), and at most [`MAX_PARTS`] parts are
//! returned. It never panics.

use super::headers::{HeaderValue, Headers};
use thiserror::Error;

/// The most parts one body may hold.
pub const MAX_PARTS: usize = 1000;
/// The longest boundary accepted (RFC 2046 allows 70 characters).
pub const MAX_BOUNDARY: usize = 200;

/// Why a multipart body could not be split.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MultipartError {
    #[error("the multipart boundary is missing, empty or longer than {MAX_BOUNDARY} bytes")]
    BadBoundary,
    #[error("no delimiter line with the boundary was found")]
    NoDelimiter,
    #[error("the body has more than {MAX_PARTS} parts")]
    TooManyParts,
}

/// One part as it appears in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPart<'a> {
    /// The header block, without the blank line that ends it.
    pub head: &'a [u8],
    /// The content after the blank line, without the line break before the next delimiter.
    pub body: &'a [u8],
    /// Head, blank line and body exactly as in the input.
    pub raw: &'a [u8],
}

impl RawPart<'_> {
    /// The part's headers, parsed.
    pub fn headers(&self) -> Headers {
        Headers::parse(self.head)
    }
}

/// One `multipart/form-data` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart<'a> {
    /// The `name` of its `Content-Disposition` ("" when it has none).
    pub name: String,
    /// The `filename`, when the part is a file.
    pub filename: Option<String>,
    /// Its `Content-Type` header, as sent.
    pub content_type: Option<String>,
    /// The content bytes.
    pub body: &'a [u8],
    /// The part's headers and body exactly as in the input (for rewriting a body).
    pub raw: &'a [u8],
}

impl FormPart<'_> {
    /// The content as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.body).into_owned()
    }

    /// Whether the part is a file upload.
    pub fn is_file(&self) -> bool {
        self.filename.is_some()
    }
}

/// Whether `body[p..]` holds a delimiter line for `delim` (`--boundary`): followed by `--` (the
/// close delimiter, with any junk after it), or by optional whitespace up to the line end.
fn is_delimiter(body: &[u8], p: usize, delim: &[u8]) -> bool {
    let Some(rest) = body.get(p..) else {
        return false;
    };
    let Some(after) = rest.strip_prefix(delim) else {
        return false;
    };
    if after.starts_with(b"--") {
        return true;
    }
    after
        .iter()
        .take_while(|&&b| b != b'\n')
        .all(|&b| b == b' ' || b == b'\t' || b == b'\r')
}

/// The first delimiter line starting at or after `from` (only at line starts).
fn find_delimiter(body: &[u8], from: usize, delim: &[u8]) -> Option<usize> {
    let at_line_start = from == 0 || body.get(from.wrapping_sub(1)) == Some(&b'\n');
    if at_line_start && is_delimiter(body, from, delim) {
        return Some(from);
    }
    let mut scan = from;
    while scan < body.len() {
        let nl = scan + body.get(scan..)?.iter().position(|&b| b == b'\n')?;
        let p = nl + 1;
        if is_delimiter(body, p, delim) {
            return Some(p);
        }
        scan = p;
    }
    None
}

/// Splits a part into its header block and content at the first blank line (CRLF or LF).
pub(crate) fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    if let Some(rest) = raw.strip_prefix(b"\r\n") {
        return (&[], rest);
    }
    if let Some(rest) = raw.strip_prefix(b"\n") {
        return (&[], rest);
    }
    let mut scan = 0;
    while let Some(off) = raw
        .get(scan..)
        .and_then(|r| r.iter().position(|&b| b == b'\n'))
    {
        let nl = scan + off;
        let rest = raw.get(nl + 1..).unwrap_or(&[]);
        let head = raw.get(..nl).unwrap_or(&[]);
        let head = head.strip_suffix(b"\r").unwrap_or(head);
        if let Some(body) = rest.strip_prefix(b"\r\n") {
            return (head, body);
        }
        if let Some(body) = rest.strip_prefix(b"\n") {
            return (head, body);
        }
        scan = nl + 1;
    }
    (raw, &[])
}

/// Splits a multipart body on `boundary` (unquoted already, or quoted: quotes are dropped).
pub fn split<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<RawPart<'a>>, MultipartError> {
    let boundary = boundary.trim().trim_matches('"');
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        return Err(MultipartError::BadBoundary);
    }
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary.as_bytes());
    let mut pos = find_delimiter(body, 0, &delim).ok_or(MultipartError::NoDelimiter)?;
    let mut parts = Vec::new();
    loop {
        let after = pos + delim.len();
        let rest = body.get(after..).unwrap_or(&[]);
        if rest.starts_with(b"--") {
            break;
        }
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            break;
        };
        let start = after + nl + 1;
        let next = find_delimiter(body, start, &delim);
        let end = next.unwrap_or(body.len()).max(start);
        let mut raw = body.get(start..end).unwrap_or(&[]);
        if next.is_some() {
            raw = raw
                .strip_suffix(b"\r\n")
                .or_else(|| raw.strip_suffix(b"\n"))
                .unwrap_or(raw);
        }
        if next.is_some() || !raw.is_empty() {
            if parts.len() == MAX_PARTS {
                return Err(MultipartError::TooManyParts);
            }
            let (head, content) = split_head(raw);
            parts.push(RawPart {
                head,
                body: content,
                raw,
            });
        }
        match next {
            Some(p) => pos = p,
            None => break,
        }
    }
    Ok(parts)
}

/// Parses a `multipart/form-data` body into its named parts.
pub fn parse_form_data<'a>(
    body: &'a [u8],
    boundary: &str,
) -> Result<Vec<FormPart<'a>>, MultipartError> {
    Ok(split(body, boundary)?
        .into_iter()
        .map(|p| {
            let headers = p.headers();
            let disposition = headers
                .get("content-disposition")
                .map(HeaderValue::parse)
                .unwrap_or_default();
            FormPart {
                name: disposition.param("name").unwrap_or_default(),
                filename: disposition.param("filename"),
                content_type: headers.get("content-type").map(str::to_string),
                body: p.body,
                raw: p.raw,
            }
        })
        .collect())
}

/// Builds a `multipart/form-data` body (CRLF line ends) from raw parts (headers + blank line +
/// content, as [`FormPart::raw`] holds them).
pub fn build_form_data(boundary: &str, raw_parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for raw in raw_parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(raw);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out
}

/// The raw bytes of a text field part named `name` (header, blank line, value).
pub fn text_part(name: &str, value: &str) -> Vec<u8> {
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    format!("Content-Disposition: form-data; name=\"{escaped}\"\r\n\r\n{value}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lf_body_with_junk_after_the_close_delimiter() {
        let body = b"preamble\n--xYzZY\nContent-Disposition: form-data; name=\"a\"\n\none\n--xYzZY\nContent-Disposition: form-data; name=\"b\"\n\ntwo\nlines\n\n--xYzZY------\nepilogue";
        let parts = parse_form_data(body, "xYzZY").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "a");
        assert_eq!(parts[0].body, b"one");
        assert_eq!(parts[1].name, "b");
        assert_eq!(parts[1].body, b"two\nlines\n");
    }

    #[test]
    fn crlf_body_with_quoted_boundary_file_and_binary() {
        let mut body = b"--b1\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"a \\\"q\\\".bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        body.extend_from_slice(&[0, 255, 13, 10, 45, 45, 98]);
        body.extend_from_slice(
            b"\r\n--b1  \r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n--b1--\r\n",
        );
        let parts = parse_form_data(&body, "\"b1\"").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].filename.as_deref(), Some("a \"q\".bin"));
        assert_eq!(
            parts[0].content_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(parts[0].body, &[0, 255, 13, 10, 45, 45, 98]);
        assert!(parts[0].is_file());
        assert_eq!(parts[1].name, "x");
        assert_eq!(parts[1].body, b"");
    }

    #[test]
    fn a_longer_boundary_lookalike_is_content_and_an_unclosed_last_part_runs_to_the_end() {
        let body = b"--ab\n\nhello\n--abc\nstill hello\n--ab\nContent-Disposition: form-data; name=\"z\"\n\ntail";
        let parts = split(body, "ab").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].head, b"");
        assert_eq!(parts[0].body, b"hello\n--abc\nstill hello");
        assert_eq!(parts[1].body, b"tail");
    }

    #[test]
    fn refusals() {
        assert_eq!(split(b"x", ""), Err(MultipartError::BadBoundary));
        assert_eq!(
            split(b"x", &"b".repeat(MAX_BOUNDARY + 1)),
            Err(MultipartError::BadBoundary)
        );
        assert_eq!(split(b"no parts", "b"), Err(MultipartError::NoDelimiter));
        let many = "--b\n\nx\n".repeat(MAX_PARTS + 1);
        assert_eq!(
            split(many.as_bytes(), "b"),
            Err(MultipartError::TooManyParts)
        );
    }

    #[test]
    fn build_round_trips() {
        let raw = vec![text_part("timestamp", "1"), text_part("to\"ken", "t")];
        let body = build_form_data("B", &raw);
        let parts = parse_form_data(&body, "B").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "timestamp");
        assert_eq!(parts[0].text(), "1");
        assert_eq!(parts[1].name, "to\"ken");
        assert_eq!(parts[1].raw, raw[1].as_slice());
    }

    #[test]
    fn adversarial_input_is_linear() {
        // Many line starts that almost match the boundary, and one huge line.
        let mut body = "--bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbx\n".repeat(20_000);
        body.push_str(&"-".repeat(1_000_000));
        let started = std::time::Instant::now();
        let _ = split(body.as_bytes(), &"b".repeat(60));
        let _ = split(body.as_bytes(), "-");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..2048), boundary in "[-a-zA-Z0-9\"' ]{0,12}") {
            let _ = split(&body, &boundary);
            let _ = parse_form_data(&body, &boundary);
        }

        #[test]
        fn never_panics_on_multipart_shaped_input(chunks in proptest::collection::vec(prop_oneof![
            Just("--b".to_string()), Just("--b--".to_string()), Just("\r\n".to_string()),
            Just("\n".to_string()), Just("Content-Disposition: form-data; name=\"".to_string()),
            Just("\"; filename=\"f\"".to_string()), "[a-z=;\" ]{0,5}",
        ], 0..40)) {
            let body = chunks.concat();
            let _ = parse_form_data(body.as_bytes(), "b");
        }
    }
}
