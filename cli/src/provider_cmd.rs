//! `handoff sign` and `handoff classify --source`: raw provider payloads on the command line.
//!
//! `sign` does what the provider would do to a payload (headers, or body fields for Mailgun)
//! with the secret from `HANDOFF_SECRET_<PROVIDER>`, and prints a curl config, so
//! `handoff sign --provider typeform payload.json | curl -K -` posts it to a running
//! `handoff serve` exactly as Typeform would.

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use handoff_connectors::provider::Provider;
use handoff_connectors::{registry, RawRequest};
use handoff_domain::event::IntakeEvent;
use std::io::Read;

/// The provider called `name`, or an error listing the known ones.
pub fn provider(name: &str) -> Result<&'static dyn Provider> {
    registry::by_name(name).ok_or_else(|| {
        anyhow!(
            "unknown provider {name:?}; one of: {}",
            registry::all()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Reads a file, or standard input for `-`, as bytes.
pub fn read_input(input: &str) -> Result<Vec<u8>> {
    if input == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .context("cannot read standard input")?;
        Ok(v)
    } else {
        std::fs::read(input).with_context(|| format!("cannot read {input}"))
    }
}

/// The content type a provider's payload is posted with, unless given.
pub fn content_type_for(provider: &dyn Provider, given: Option<&str>) -> String {
    given
        .map(str::to_string)
        .unwrap_or_else(|| provider.media_types()[0].to_string())
}

/// The canonical events of a raw provider payload (no signature check, no side effects).
pub fn parse_payload(
    provider: &dyn Provider,
    content_type: &str,
    body: Vec<u8>,
    name: &str,
) -> Result<Vec<IntakeEvent>> {
    let request = RawRequest::post(
        format!("http://127.0.0.1{}", provider.path()),
        &[("content-type", content_type)],
        body,
    );
    let parsed = provider
        .parse(&request, Utc::now())
        .map_err(|e| anyhow!("{name}: {e}"))?;
    if !parsed.lookups.is_empty() && parsed.events.is_empty() {
        bail!(
            "{name}: these {} webhook events name CRM contacts ({}) without their data; handoff reads them from HubSpot when it serves the route",
            provider.name(),
            parsed
                .lookups
                .iter()
                .map(|l| l.object_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if parsed.events.is_empty() {
        bail!(
            "{name}: this {} payload creates no handoff (an event type handoff ignores)",
            provider.name()
        );
    }
    Ok(parsed.events)
}

/// The signed request as a curl config (`curl -K -`). The body is written inline, so it must be
/// text (every provider payload here is; attachments' bytes are not needed to try a route).
pub fn sign_as_curl_config(
    provider: &dyn Provider,
    secret: &str,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<String> {
    let mut request = RawRequest::post(url, &[("content-type", content_type)], body);
    provider.sign(&mut request, secret, Utc::now());
    if std::str::from_utf8(&request.body).is_err() || request.body.starts_with(b"@") {
        bail!("the signed body is not plain text (or starts with '@'), so it cannot be written into a curl config");
    }
    let mut out = format!("url = {}\nrequest = \"POST\"\n", quote(url.as_bytes()));
    for (k, v) in &request.headers {
        out.push_str(&format!(
            "header = {}\n",
            quote(format!("{k}: {v}").as_bytes())
        ));
    }
    out.push_str(&format!("data-binary = {}\n", quote(&request.body)));
    Ok(out)
}

/// A curl config value: double-quoted, with backslash, quote, newline, return and tab escaped
/// (curl's config syntax).
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON Schema of what agents post: a canonical event to `POST /v1/events` and an outbound
/// thread to `POST /v1/threads` (published as `docs/events.schema.json`).
pub fn events_schema() -> String {
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "handoff agent API",
        "description": "Bodies agents POST to handoff, each signed with `Handoff-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>` (5-minute window; secret HANDOFF_SECRET_AGENT). See docs/agent-api.md.",
        "oneOf": [
            {"$ref": "#/$defs/event"},
            {"$ref": "#/$defs/thread"}
        ],
        "$defs": {
            "event": schemars::schema_for!(IntakeEvent),
            "thread": schemars::schema_for!(handoff_domain::ports::OutboundThread),
        }
    });
    serde_json::to_string_pretty(&schema).expect("schema serialises")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_events_schema_is_current() {
        let committed = include_str!("../../docs/events.schema.json");
        assert_eq!(
            committed.trim(),
            super::events_schema().trim(),
            "run `cargo run -- events schema > docs/events.schema.json`"
        );
    }

    #[test]
    fn curl_config_values_are_escaped() {
        assert_eq!(super::quote(b"a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
