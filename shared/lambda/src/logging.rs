//! Powertools-style structured logs: one JSON object per line with `level`, `message`,
//! `timestamp`, `service`, `cold_start`, `function_request_id`, `xray_trace_id` and the event's
//! own fields. Callers log ids and counts, never whole events, emails or message bodies.

use serde_json::{Map, Value};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

static SERVICE: OnceLock<String> = OnceLock::new();
static COLD: AtomicBool = AtomicBool::new(true);
static INVOCATION: Mutex<Option<(String, Option<String>, bool)>> = Mutex::new(None);

/// Installs the JSON logger for `service` (level from `RUST_LOG`: one of `error`, `warn`,
/// `info`, `debug`, `trace`, `off`; default `info`). A plain level filter keeps `regex` (what
/// per-target filters need) out of the function binaries.
pub fn init(service: &str) {
    let _ = SERVICE.set(service.to_string());
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(PowertoolsJson)
        .with_writer(std::io::stdout)
        .try_init();
}

/// Marks the start of an invocation: the first one of a process is the cold start.
pub fn start_invocation(request_id: &str, xray_trace_id: Option<&str>) {
    let cold = COLD.swap(false, Ordering::SeqCst);
    *INVOCATION.lock().unwrap_or_else(|p| p.into_inner()) = Some((
        request_id.to_string(),
        xray_trace_id.map(str::to_string),
        cold,
    ));
}

/// Formats events as Powertools-like JSON.
pub struct PowertoolsJson;

struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            Value::String(format!("{value:?}")),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_string(), Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
}

/// The log line for an event with these fields (exposed for tests).
pub fn log_line(level: &str, fields: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("level".into(), Value::from(level));
    let mut fields = fields;
    out.insert(
        "message".into(),
        fields.remove("message").unwrap_or(Value::from("")),
    );
    out.insert(
        "timestamp".into(),
        Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    out.insert(
        "service".into(),
        Value::from(SERVICE.get().cloned().unwrap_or_else(|| "handoff".into())),
    );
    let inv = INVOCATION.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some((request_id, trace, cold)) = inv {
        out.insert("cold_start".into(), Value::from(cold));
        out.insert("function_request_id".into(), Value::from(request_id));
        if let Some(t) = trace {
            out.insert("xray_trace_id".into(), Value::from(t));
        }
    }
    for (k, v) in fields {
        out.entry(k).or_insert(v);
    }
    Value::Object(out)
}

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
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let line = log_line(event.metadata().level().as_str(), fields.0);
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_the_powertools_fields() {
        start_invocation("req-1", Some("Root=1-abc"));
        let mut f = Map::new();
        f.insert("message".into(), Value::from("hello"));
        f.insert("handoff_id".into(), Value::from("h_1"));
        let v = log_line("INFO", f);
        for key in [
            "level",
            "message",
            "timestamp",
            "service",
            "cold_start",
            "function_request_id",
            "xray_trace_id",
            "handoff_id",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        assert_eq!(v["message"], "hello");
        assert_eq!(v["function_request_id"], "req-1");
        start_invocation("req-2", None);
        let v = log_line("INFO", Map::new());
        assert_eq!(v["cold_start"], false);
    }
}
