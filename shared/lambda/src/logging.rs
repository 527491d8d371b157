//! Powertools-style structured logs for Lambda's `LogFormat: JSON`: one JSON object per line.
//!
//! Every line has `level` (`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`: what Lambda's application
//! log level filter reads), `message`, `timestamp` (RFC 3339), `service` and `location` (the
//! `file:line` of the log statement); `function_name` and `function_memory_size` (a number) when
//! Lambda sets them; inside an invocation also `cold_start`, `function_arn`,
//! `function_request_id` and `xray_trace_id`; then the event's own fields. An error logged as a
//! field named `error` (or `exception`) is also written as `exception`, Powertools' name; logged
//! as `&dyn Error`, its causes are appended (`outer: cause: root cause`).
//!
//! The level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda sets it from the function's
//! `ApplicationLogLevel`), else `RUST_LOG` (a bare level such as `debug`), else INFO; FATAL
//! means ERROR. A plain level filter keeps `regex` (what per-target filters need) out of the
//! function binaries.
//!
//! **Never personal data.** Callers log ids and counts, never emails, names, message bodies or
//! payloads (`tests/no_personal_data_in_logs.rs` scans every `tracing` call of the crates that
//! run in Lambda). As a second line of defence the logger itself writes `[redacted]` for any
//! field whose name means personal data ([`is_personal_field`]; e.g. the raw event `body`
//! lambda_runtime logs at TRACE) and masks anything shaped like an email address in every
//! string it writes (error texts can quote a value an API refused).

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

static SERVICE: OnceLock<String> = OnceLock::new();
static FUNCTION: OnceLock<Function> = OnceLock::new();
static COLD: AtomicBool = AtomicBool::new(true);
static INVOCATION: Mutex<Option<Invocation>> = Mutex::new(None);

/// What a field's value is replaced with when its name means personal data.
pub const REDACTED: &str = "[redacted]";
/// What an email address inside a string is replaced with.
pub const MASKED_EMAIL: &str = "[email]";

/// Installs the JSON logger for `service` on stdout (level: see the module docs).
pub fn init(service: &str) {
    let _ = SERVICE.set(service.to_string());
    let var = |name| std::env::var(name).ok();
    let level = level_from(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(PowertoolsJson)
        .with_writer(std::io::stdout)
        .try_init();
}

/// The service name given to [`init`] (`handoff` before).
pub fn service() -> &'static str {
    SERVICE.get().map(String::as_str).unwrap_or("handoff")
}

/// The level filter for Lambda's application log level and `RUST_LOG`, in that order.
pub fn level_from(lambda: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    let bare = |s: &str| {
        s.split(',')
            .filter(|d| !d.contains('='))
            .find_map(parse_level)
    };
    lambda
        .and_then(parse_level)
        .or_else(|| rust_log.and_then(bare))
        .unwrap_or(LevelFilter::INFO)
}

fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s.trim().to_ascii_uppercase().as_str() {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" | "WARNING" => LevelFilter::WARN,
        "ERROR" | "FATAL" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        _ => return None,
    })
}

/// The `level` a line without a level of its own (an EMF document) must carry so that Lambda's
/// application log level filter keeps it: the configured level itself (a line without one
/// counts as INFO, and would be dropped at WARN).
pub fn passing_level() -> &'static str {
    static LEVEL: OnceLock<&'static str> = OnceLock::new();
    LEVEL.get_or_init(|| {
        let configured = std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_default();
        ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
            .into_iter()
            .find(|l| l.eq_ignore_ascii_case(configured.trim()))
            .unwrap_or("INFO")
    })
}

/// What Lambda tells the process about the function.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Function {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_size: Option<u64>,
}

impl Function {
    fn from_env() -> Self {
        Function {
            name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
            memory_size: std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .ok()
                .and_then(|m| m.trim().parse().ok()),
        }
    }
}

/// The invocation a line belongs to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocation {
    pub request_id: String,
    /// The ARN the function was invoked with (`invoked_function_arn`).
    pub function_arn: String,
    pub xray_trace_id: Option<String>,
    /// The first invocation of the process.
    pub cold_start: bool,
}

/// Marks the start of an invocation: the first one of a process is the cold start. The trace id
/// comes from the context, else from `_X_AMZN_TRACE_ID` (which the runtime sets per invocation).
pub fn start_invocation(ctx: &lambda_runtime::Context) {
    let xray_trace_id = ctx
        .xray_trace_id
        .clone()
        .or_else(|| std::env::var("_X_AMZN_TRACE_ID").ok())
        .filter(|t| !t.is_empty());
    *INVOCATION.lock().unwrap_or_else(|p| p.into_inner()) = Some(Invocation {
        request_id: ctx.request_id.clone(),
        function_arn: ctx.invoked_function_arn.clone(),
        xray_trace_id,
        cold_start: COLD.swap(false, Ordering::SeqCst),
    });
}

/// Whether a field with this name would carry personal data: one of its words (split at `_`,
/// `.` and the like) is in the deny-list (email, name, body, phone, subject, text, company,
/// contact, payload…), unless its last word says it is an id, a reference or a count
/// (`contact_id`, `body_len` are fine; `contact`, `buyer_email`, `first_name` are not).
pub fn is_personal_field(name: &str) -> bool {
    const PERSONAL: &str = "email emails mail name names firstname lastname fullname display \
        body text html subject title note notes content payload raw \
        phone mobile address company contact buyer person answers";
    const SAFE_LAST: &[&str] = &["id", "ids", "ref", "refs", "count", "len", "kind", "type"];
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    match words.last() {
        Some(last) if SAFE_LAST.contains(&last.as_str()) => false,
        _ => words
            .iter()
            .any(|w| PERSONAL.split_whitespace().any(|p| p == w)),
    }
}

/// `text` with every email-shaped token (`local@domain.tld`) replaced by [`MASKED_EMAIL`].
pub fn mask_emails(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let local = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
    let host = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = text[from..].find('@') {
        let at = from + found;
        let start = text[copied..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| local(*c))
            .last()
            .map_or(at, |(i, _)| copied + i);
        let after = &text[at + 1..];
        let domain = &after[..after.find(|c: char| !host(c)).unwrap_or(after.len())];
        let domain = domain.trim_end_matches(['.', '-']);
        if start < at && domain.contains('.') && !domain.starts_with('.') {
            out.push_str(&text[copied..start]);
            out.push_str(MASKED_EMAIL);
            copied = at + 1 + domain.len();
            from = copied;
        } else {
            from = at + 1;
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The fields of one event, in the order they were recorded.
#[derive(Default)]
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let value = match value {
            _ if is_personal_field(name) => Value::from(REDACTED),
            Value::String(s) => Value::String(mask_emails(&s).into_owned()),
            v => v,
        };
        self.0.push((name.to_string(), value));
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, Value::String(text));
    }
}

/// What a line says besides its event: the process, the invocation and the time.
#[derive(Debug, Clone, Default)]
pub struct LineContext {
    pub service: String,
    pub function: Function,
    pub invocation: Option<Invocation>,
    /// RFC 3339.
    pub timestamp: String,
}

impl LineContext {
    fn current() -> Self {
        LineContext {
            service: service().to_string(),
            function: FUNCTION.get_or_init(Function::from_env).clone(),
            invocation: INVOCATION.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

const RESERVED: &[&str] = &[
    "level",
    "message",
    "timestamp",
    "service",
    "location",
    "cold_start",
    "function_name",
    "function_arn",
    "function_memory_size",
    "function_request_id",
    "xray_trace_id",
    "exception",
];

/// The JSON line (without the newline) for an event at `level` with these `fields` (its
/// `message` among them), logged at `location`.
pub fn render(
    level: Level,
    location: Option<&str>,
    fields: Vec<(String, Value)>,
    ctx: &LineContext,
) -> String {
    let mut out: Vec<(&str, Value)> = vec![
        ("level", Value::from(level.as_str())),
        ("message", Value::from("")),
        ("timestamp", Value::from(ctx.timestamp.as_str())),
        ("service", Value::from(ctx.service.as_str())),
    ];
    if let Some(location) = location {
        out.push(("location", Value::from(location)));
    }
    if let Some(inv) = &ctx.invocation {
        out.push(("cold_start", Value::from(inv.cold_start)));
    }
    if let Some(name) = &ctx.function.name {
        out.push(("function_name", Value::from(name.as_str())));
    }
    if let Some(inv) = &ctx.invocation {
        out.push(("function_arn", Value::from(inv.function_arn.as_str())));
    }
    if let Some(memory) = ctx.function.memory_size {
        out.push(("function_memory_size", Value::from(memory)));
    }
    if let Some(inv) = &ctx.invocation {
        out.push(("function_request_id", Value::from(inv.request_id.as_str())));
        if let Some(trace) = &inv.xray_trace_id {
            out.push(("xray_trace_id", Value::from(trace.as_str())));
        }
    }
    let mut extra: Vec<(&str, Value)> = Vec::new();
    for (name, value) in &fields {
        match name.as_str() {
            "message" => out[1].1 = value.clone(),
            "error" | "exception" => {
                if !out.iter().any(|(k, _)| *k == "exception") {
                    out.push(("exception", value.clone()));
                }
                if name == "error" {
                    extra.push(("error", value.clone()));
                }
            }
            n if RESERVED.contains(&n) || extra.iter().any(|(k, _)| *k == n) => {}
            n => extra.push((n, value.clone())),
        }
    }
    out.extend(extra);
    let mut line = String::from("{");
    for (i, (key, value)) in out.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&Value::from(*key).to_string());
        line.push(':');
        line.push_str(&value.to_string());
    }
    line.push('}');
    line
}

/// Formats events as Powertools-style JSON lines (see the module docs).
pub struct PowertoolsJson;

impl<S, N> FormatEvent<S, N> for PowertoolsJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let location = meta.file().map(|file| match meta.line() {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        });
        let line = render(
            *meta.level(),
            location.as_deref(),
            fields.0,
            &LineContext::current(),
        );
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    fn context() -> LineContext {
        LineContext {
            service: "handoff-assign".into(),
            function: Function {
                name: Some("handoff-prod-assign".into()),
                memory_size: Some(256),
            },
            invocation: Some(Invocation {
                request_id: "req-1".into(),
                function_arn: "arn:aws:lambda:us-east-1:123456789012:function:handoff-prod-assign"
                    .into(),
                xray_trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793".into()),
                cold_start: true,
            }),
            timestamp: "2026-11-23T07:00:00.000Z".into(),
        }
    }

    fn parse(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line: {line}");
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_line_has_every_powertools_field_with_the_right_type() {
        let fields = vec![
            ("message".to_string(), Value::from("message processed")),
            ("handoff_id".to_string(), Value::from("h_1")),
            ("attempts".to_string(), Value::from(2u64)),
        ];
        let v = parse(&render(
            Level::WARN,
            Some("shared/lambda/src/sqs.rs:42"),
            fields,
            &context(),
        ));
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "message processed");
        assert_eq!(v["timestamp"], "2026-11-23T07:00:00.000Z");
        assert_eq!(v["service"], "handoff-assign");
        assert_eq!(v["location"], "shared/lambda/src/sqs.rs:42");
        assert_eq!(v["cold_start"], true);
        assert_eq!(v["function_name"], "handoff-prod-assign");
        assert!(v["function_arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:lambda:"));
        assert_eq!(v["function_memory_size"], 256);
        assert!(v["function_memory_size"].is_u64());
        assert_eq!(v["function_request_id"], "req-1");
        assert!(v["xray_trace_id"].as_str().unwrap().starts_with("Root=1-"));
        assert_eq!(v["handoff_id"], "h_1");
        assert_eq!(v["attempts"], 2);
        assert!(v.get("exception").is_none());
        // Powertools order: the fixed keys first.
        let line = render(Level::INFO, None, Vec::new(), &context());
        assert!(
            line.starts_with(r#"{"level":"INFO","message":"","timestamp":"#),
            "{line}"
        );
    }

    #[test]
    fn outside_an_invocation_only_the_process_fields_are_written() {
        let ctx = LineContext {
            invocation: None,
            function: Function::default(),
            ..context()
        };
        let v = parse(&render(Level::ERROR, None, Vec::new(), &ctx));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, ["level", "message", "service", "timestamp"]);
    }

    #[test]
    fn an_error_field_is_also_the_exception_and_reserved_keys_cannot_be_overwritten() {
        let fields = vec![
            ("message".to_string(), Value::from("could not dead-letter")),
            ("error".to_string(), Value::from("queue unavailable")),
            ("level".to_string(), Value::from("DEBUG")),
            ("service".to_string(), Value::from("spoofed")),
        ];
        let v = parse(&render(Level::ERROR, None, fields, &context()));
        assert_eq!(v["exception"], "queue unavailable");
        assert_eq!(v["error"], "queue unavailable");
        assert_eq!(v["level"], "ERROR");
        assert_eq!(v["service"], "handoff-assign");
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Logs through the real formatter and returns the lines.
    fn log(f: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(LevelFilter::TRACE)
            .event_format(PowertoolsJson)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines().map(parse).collect()
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("CRM write failed")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_formatter_writes_location_levels_and_exceptions_from_tracing() {
        let lines = log(|| {
            tracing::debug!(count = 3u64, "a \"quoted\"\nmessage");
            let e = Outer(std::io::Error::other("timed out"));
            tracing::error!(error = &e as &dyn std::error::Error, "sync failed");
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["level"], "DEBUG");
        assert_eq!(lines[0]["message"], "a \"quoted\"\nmessage");
        assert_eq!(lines[0]["count"], 3);
        let location = lines[0]["location"].as_str().unwrap();
        let (file, line) = location.rsplit_once(':').unwrap();
        assert!(file.ends_with("src/logging.rs"), "{location}");
        assert!(line.parse::<u32>().unwrap() > 0, "{location}");
        assert_eq!(lines[1]["level"], "ERROR");
        assert_eq!(lines[1]["exception"], "CRM write failed: timed out");
    }

    #[test]
    fn the_logger_prints_only_what_it_is_given_and_never_personal_fields() {
        let lines = log(|| {
            tracing::info!(handoff_id = "h_1", "intake accepted");
            tracing::trace!(
                body = r#"{"email":"ana@buyer.example","text":"call me"}"#,
                "raw JSON event received from Lambda"
            );
            tracing::warn!(
                contact_email = "ana@buyer.example",
                first_name = "Ana",
                contact_id = "42",
                "x"
            );
            tracing::warn!(
                reason = "HubSpot: HTTP 400 Email address Ana.Lopez+x@Buyer.example.com is invalid",
                "message will be retried"
            );
        });
        let all = lines.iter().map(Value::to_string).collect::<String>();
        assert!(!all.contains("ana@"), "{all}");
        assert!(!all.to_lowercase().contains("lopez"), "{all}");
        assert!(!all.contains("call me"), "{all}");
        assert!(!all.contains("\"Ana\""), "{all}");
        let first = lines[0].as_object().unwrap();
        let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
        keys.retain(|k| !RESERVED.contains(k));
        assert_eq!(
            keys,
            ["handoff_id"],
            "nothing but the given field: {first:?}"
        );
        assert_eq!(lines[1]["body"], REDACTED);
        assert_eq!(lines[2]["contact_email"], REDACTED);
        assert_eq!(lines[2]["first_name"], REDACTED);
        assert_eq!(lines[2]["contact_id"], "42");
        assert_eq!(
            lines[3]["reason"],
            "HubSpot: HTTP 400 Email address [email] is invalid"
        );
    }

    #[test]
    fn emails_are_masked_and_other_text_is_kept() {
        assert_eq!(mask_emails("no address here"), "no address here");
        assert_eq!(mask_emails("a@b"), "a@b", "no dot in the domain");
        assert_eq!(mask_emails("@handle and x@"), "@handle and x@");
        assert_eq!(
            mask_emails("to <ana.lopez@acme.io>, bob@x.co."),
            "to <[email]>, [email]."
        );
        assert_eq!(mask_emails("é@ü.de ok"), "[email] ok");
        assert_eq!(mask_emails("a@b.c@d.e"), "[email]@d.e");
    }

    #[test]
    fn personal_field_names() {
        for bad in [
            "email",
            "contact_email",
            "buyer.email",
            "first_name",
            "name",
            "body",
            "text",
            "phone",
            "subject",
            "company",
            "contact",
            "payload",
        ] {
            assert!(is_personal_field(bad), "{bad}");
        }
        for ok in [
            "handoff_id",
            "contact_id",
            "body_len",
            "message_id",
            "provider",
            "stage",
            "reason",
            "error",
            "slack_user_id",
            "count",
        ] {
            assert!(!is_personal_field(ok), "{ok}");
        }
    }

    #[test]
    fn level_comes_from_lambda_then_rust_log_then_info() {
        assert_eq!(level_from(Some("DEBUG"), Some("error")), LevelFilter::DEBUG);
        assert_eq!(level_from(Some("FATAL"), None), LevelFilter::ERROR);
        assert_eq!(level_from(Some("warn"), None), LevelFilter::WARN);
        assert_eq!(level_from(Some("bogus"), Some("trace")), LevelFilter::TRACE);
        assert_eq!(
            level_from(None, Some("hyper=warn,debug")),
            LevelFilter::DEBUG
        );
        assert_eq!(level_from(None, Some("hyper=warn")), LevelFilter::INFO);
        assert_eq!(level_from(None, None), LevelFilter::INFO);
    }
}
