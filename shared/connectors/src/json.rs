//! Reading JSON webhook bodies: one way to parse a body (errors name the line and column) and
//! the small accessors every JSON provider needs.

use crate::provider::ParseError;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses the raw body as `T`; `what` says what was expected ("not valid JSON", "not a Postmark
/// inbound payload").
pub fn body<T: DeserializeOwned>(raw: &[u8], what: &str) -> Result<T, ParseError> {
    serde_json::from_slice(raw).map_err(|e| {
        ParseError::new(
            format!("body (line {}, column {})", e.line(), e.column()),
            format!("{what}: {e}"),
        )
    })
}

/// The raw body as a JSON object (what every JSON webhook sends).
pub fn object_body(raw: &[u8]) -> Result<Value, ParseError> {
    let root: Value = body(raw, "not valid JSON")?;
    if !root.is_object() {
        return Err(ParseError::new("body", "expected a JSON object"));
    }
    Ok(root)
}

/// A required object member; the error names `key` and says what was `expected`.
pub fn object<'a>(v: &'a Value, key: &str, expected: &str) -> Result<&'a Value, ParseError> {
    v.get(key)
        .filter(|m| m.is_object())
        .ok_or_else(|| ParseError::new(key, format!("missing: expected {expected}")))
}

/// The `source` of a provider's events (its registry name).
pub fn source(name: &str) -> Result<handoff_domain::ids::SourceName, ParseError> {
    handoff_domain::ids::SourceName::parse(name)
        .map_err(|e| ParseError::new("source", e.to_string()))
}

/// A non-blank string member, trimmed.
pub fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An RFC 3339 timestamp; the error names `field`.
pub fn timestamp(raw: &str, field: &str) -> Result<DateTime<Utc>, ParseError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| ParseError::new(field, format!("not an RFC 3339 timestamp: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_body_names_line_and_column() {
        let e = body::<Value>(b"{\n  \"a\": }", "not valid JSON").unwrap_err();
        assert_eq!(e.field, "body (line 2, column 8)");
        assert!(e.message.starts_with("not valid JSON: "), "{e}");
    }

    #[test]
    fn text_is_trimmed_and_never_blank() {
        let v = serde_json::json!({"a": "  x ", "b": "  ", "c": 3});
        assert_eq!(text(&v, "a"), Some("x"));
        assert_eq!(text(&v, "b"), None);
        assert_eq!(text(&v, "c"), None);
        assert!(timestamp("2026-11-24T10:00:00Z", "t").is_ok());
        assert_eq!(
            timestamp("yesterday", "payload.t").unwrap_err().field,
            "payload.t"
        );
    }
}
