//! The REST API shapes the adapter uses: SOQL literals, composite requests and their answers,
//! and how Salesforce's errors are judged (transient or permanent, with Salesforce's own
//! `errorCode`, `message` and `fields` in the reason).

use crate::outbound::http::{default_verdict, retry_after, Response, Verdict};
use serde_json::{json, Map, Value};

/// Salesforce error codes a retry may get past (limits, maintenance, row locks).
const TRANSIENT_CODES: &[&str] = &[
    "REQUEST_LIMIT_EXCEEDED",
    "SERVER_UNAVAILABLE",
    "UNABLE_TO_LOCK_ROW",
    "QUERY_TIMEOUT",
    "REQUEST_RUNNING_TOO_LONG",
];
/// What a subrequest answers when an `allOrNone` composite rolled back because of another one.
pub const PROCESSING_HALTED: &str = "PROCESSING_HALTED";

/// A SOQL string literal's content: backslash and single quote escaped (the only characters
/// that can end or bend a quoted literal), newlines as `\n`.
pub fn soql_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for ch in raw.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// Like [`soql_escape`], for the pattern of a `LIKE`: `_` and `%` match themselves.
pub fn soql_like_escape(raw: &str) -> String {
    soql_escape(raw).replace('_', "\\_").replace('%', "\\%")
}

/// One subrequest of a composite request.
#[derive(Debug, Clone, PartialEq)]
pub struct Sub {
    pub method: &'static str,
    /// Relative to the data API: `sobjects/Lead`, `query?q=…`.
    pub path: String,
    pub reference: &'static str,
    pub body: Option<Value>,
}

impl Sub {
    pub fn query(reference: &'static str, soql: &str) -> Self {
        let q = serde_urlencoded::to_string([("q", soql)]).unwrap_or_default();
        Self {
            method: "GET",
            path: format!("query?{q}"),
            reference,
            body: None,
        }
    }
    pub fn create(reference: &'static str, object: &str, body: Map<String, Value>) -> Self {
        Self {
            method: "POST",
            path: format!("sobjects/{object}"),
            reference,
            body: Some(Value::Object(body)),
        }
    }
    pub fn update(
        reference: &'static str,
        object: &str,
        id: &str,
        body: Map<String, Value>,
    ) -> Self {
        Self {
            method: "PATCH",
            path: format!("sobjects/{object}/{id}"),
            reference,
            body: Some(Value::Object(body)),
        }
    }
}

/// The body of `POST /services/data/{version}/composite`.
pub fn composite(api_version: &str, all_or_none: bool, subs: &[Sub]) -> Value {
    let requests: Vec<Value> = subs
        .iter()
        .map(|s| {
            let mut r = json!({
                "method": s.method,
                "url": format!("/services/data/{api_version}/{}", s.path),
                "referenceId": s.reference,
            });
            if let Some(body) = &s.body {
                r["body"] = body.clone();
            }
            r
        })
        .collect();
    json!({ "allOrNone": all_or_none, "compositeRequest": requests })
}

/// The answer to one subrequest.
#[derive(Debug, Clone, PartialEq)]
pub struct SubResult {
    pub reference: String,
    pub status: u16,
    pub body: Value,
}

/// The `compositeResponse` entries of a composite answer.
pub fn sub_results(body: &Value) -> Vec<SubResult> {
    body.get("compositeResponse")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| SubResult {
                    reference: i["referenceId"].as_str().unwrap_or_default().to_string(),
                    status: i["httpStatusCode"].as_u64().unwrap_or(0) as u16,
                    body: i["body"].clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The subresult with `reference`.
pub fn find<'a>(results: &'a [SubResult], reference: &str) -> Option<&'a SubResult> {
    results.iter().find(|r| r.reference == reference)
}

/// The first `{errorCode, message, fields}` of a Salesforce error body.
fn first_error(body: &Value) -> Option<(String, String, Vec<String>)> {
    let e = match body {
        Value::Array(items) => items.first()?,
        Value::Object(_) => body,
        _ => return None,
    };
    let code = e.get("errorCode").and_then(Value::as_str)?.to_string();
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let fields = e
        .get("fields")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some((code, message, fields))
}

/// Salesforce's error as one line (its message may echo a value the buyer wrote).
fn describe(code: &str, message: &str, fields: &[String]) -> String {
    let line = handoff_domain::render::escape::plain_line;
    let mut s = format!("{}: {}", line(code), line(message));
    if !fields.is_empty() {
        s.push_str(&format!(" (fields: {})", fields.join(", ")));
    }
    s
}

/// How a data API answer is judged.
///
/// - 401: [`Verdict::Success`] so the caller sees it, renews the token once and repeats the
///   call (a second 401 is permanent there).
/// - 403 `REQUEST_LIMIT_EXCEEDED`, 503 `SERVER_UNAVAILABLE`, other 5xx: transient.
/// - Other 4xx: permanent, with Salesforce's `errorCode`, `message` and `fields`.
/// - 2xx composite answers: every subresponse is checked; the first real error (not
///   `PROCESSING_HALTED`) decides, transient when its code is one of the retryable ones.
pub fn verdict(what: &str, r: &Response) -> Verdict {
    if r.status == 401 {
        return Verdict::Success;
    }
    let body = r.json();
    if (200..300).contains(&r.status) {
        return match composite_error(&body) {
            None => Verdict::Success,
            Some((true, reason)) => Verdict::Transient {
                after: None,
                reason: format!("{what}: {reason}"),
            },
            Some((false, reason)) => Verdict::Permanent(format!("{what}: {reason}")),
        };
    }
    let Some((code, message, fields)) = first_error(&body) else {
        return default_verdict(what, r);
    };
    let detail = describe(&code, &message, &fields);
    if TRANSIENT_CODES.contains(&code.as_str()) || r.status >= 500 {
        return Verdict::Transient {
            after: retry_after(r),
            reason: format!("{what}: HTTP {} {detail}", r.status),
        };
    }
    Verdict::Permanent(match r.status {
        400 => format!("{what}: Salesforce rejected the request: {detail}"),
        403 => format!("{what}: HTTP 403, the integration user lacks a permission: {detail}"),
        404 => format!("{what}: HTTP 404 not found (deleted in Salesforce?): {detail}"),
        s => format!("{what}: HTTP {s} {detail}"),
    })
}

/// The first failed subrequest of a composite answer: `(transient, reason)`.
pub fn composite_error(body: &Value) -> Option<(bool, String)> {
    let results = sub_results(body);
    let failed: Vec<&SubResult> = results.iter().filter(|r| r.status >= 300).collect();
    if failed.is_empty() {
        return None;
    }
    let real = failed
        .iter()
        .find(|r| first_error(&r.body).is_none_or(|(code, _, _)| code != PROCESSING_HALTED))
        .or(failed.first())?;
    let (code, message, fields) = first_error(&real.body).unwrap_or_else(|| {
        (
            format!("HTTP {}", real.status),
            real.body.to_string().chars().take(300).collect(),
            Vec::new(),
        )
    });
    let transient = TRANSIENT_CODES.contains(&code.as_str()) || real.status >= 500;
    Some((
        transient,
        format!(
            "subrequest {} failed (HTTP {}): {}",
            real.reference,
            real.status,
            describe(&code, &message, &fields)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn soql_literals_are_escaped() {
        assert_eq!(soql_escape(r"o'brien\x@acme.com"), r"o\'brien\\x@acme.com");
        assert_eq!(soql_like_escape("h_1%"), r"h\_1\%");
    }

    #[test]
    fn queries_are_url_encoded() {
        let s = Sub::query("c", "SELECT Id FROM Contact WHERE Email = 'a+b@x.com'");
        assert_eq!(
            s.path,
            "query?q=SELECT+Id+FROM+Contact+WHERE+Email+%3D+%27a%2Bb%40x.com%27"
        );
    }

    #[test]
    fn errors_are_sorted() {
        let limit = response(
            403,
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(matches!(verdict("w", &limit), Verdict::Transient { .. }));
        let denied = response(
            403,
            r#"[{"message":"no access","errorCode":"INSUFFICIENT_ACCESS"}]"#,
        );
        assert!(matches!(verdict("w", &denied), Verdict::Permanent(_)));
        let field = response(
            400,
            r#"[{"message":"No such column 'Foo__c' on sobject of type Lead","errorCode":"INVALID_FIELD","fields":[]}]"#,
        );
        match verdict("w", &field) {
            Verdict::Permanent(why) => assert!(
                why.contains("INVALID_FIELD: No such column 'Foo__c'"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            verdict("w", &response(503, "[]")),
            Verdict::Transient { .. }
        ));
        assert_eq!(verdict("w", &response(401, "[]")), Verdict::Success);
    }

    #[test]
    fn composite_failures_name_the_real_error() {
        let body = r#"{"compositeResponse":[
            {"body":[{"errorCode":"PROCESSING_HALTED","message":"rolled back"}],"httpStatusCode":400,"referenceId":"refLead"},
            {"body":[{"errorCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Subject]","fields":["Subject"]}],"httpStatusCode":400,"referenceId":"refTask"}]}"#;
        match verdict("w", &response(200, body)) {
            Verdict::Permanent(why) => {
                assert!(why.contains("refTask"), "{why}");
                assert!(why.contains("REQUIRED_FIELD_MISSING"), "{why}");
                assert!(why.contains("fields: Subject"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        let locked = r#"{"compositeResponse":[{"body":[{"errorCode":"UNABLE_TO_LOCK_ROW","message":"locked"}],"httpStatusCode":400,"referenceId":"t"}]}"#;
        assert!(matches!(
            verdict("w", &response(200, locked)),
            Verdict::Transient { .. }
        ));
        let ok = r#"{"compositeResponse":[{"body":{"id":"00Q1","success":true},"httpStatusCode":201,"referenceId":"refLead"}]}"#;
        assert_eq!(verdict("w", &response(200, ok)), Verdict::Success);
    }
}
