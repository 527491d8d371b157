//! The demo's provider traffic: the providers' own documented payloads (the fixtures under
//! `tests/fixtures/providers/`) and the example agent events, each signed as its sender would
//! sign it and sent through the real HTTP routes (the same router `handoff serve` and the
//! intake function URL run), in process.

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::Router;
use chrono::{DateTime, Utc};
use handoff_connectors::provider::Provider;
use handoff_connectors::secrets::StaticSecrets;
use handoff_connectors::{registry, samples, RawRequest};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// One request the demo sends: a label, the provider, its content type and raw body.
pub struct DemoRequest {
    pub label: &'static str,
    pub provider: &'static str,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What the demo sends: the documented payloads, except HubSpot's Webhooks API examples (they
/// only name contacts, which handoff reads from a HubSpot account the demo does not have), plus
/// a HubSpot workflow webhook that carries the contact itself.
pub fn provider_requests() -> Vec<DemoRequest> {
    let mut out: Vec<DemoRequest> = samples::documented()
        .into_iter()
        .filter(|s| s.provider != "hubspot")
        .map(|s| DemoRequest {
            label: s.file,
            provider: s.provider,
            content_type: s.content_type.to_string(),
            body: s.body,
        })
        .collect();
    out.insert(
        2,
        DemoRequest {
            label: "hubspot-workflow-contact.json",
            provider: "hubspot",
            content_type: "application/json".into(),
            body: include_bytes!("../../examples/providers/hubspot-workflow-contact.json").to_vec(),
        },
    );
    out
}

/// A fresh random secret per provider (the demo plays both sides).
pub fn demo_secrets() -> Result<StaticSecrets> {
    let mut map = std::collections::BTreeMap::new();
    for p in registry::all() {
        let secret = random_hex(24)?;
        // Basic-auth providers (their webhook URL carries user:password) get a user name too.
        let value = if matches!(p.name(), "postmark" | "sendgrid") {
            format!("handoff:{secret}")
        } else {
            secret
        };
        map.insert(p.name().to_string(), value);
    }
    Ok(StaticSecrets(map))
}

fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("cannot read /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Signs `body` as `provider` would at `now` and posts it through `router`; the JSON answer.
pub async fn send(
    router: &Router,
    secrets: &StaticSecrets,
    provider: &'static str,
    content_type: &str,
    body: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<(u16, Value)> {
    let p: &dyn Provider = registry::by_name(provider).context("known provider")?;
    let url = format!("http://127.0.0.1:8080{}", p.path());
    let mut request = RawRequest::post(&url, &[("content-type", content_type)], body);
    let secret = secrets.0.get(provider).context("demo secret")?;
    p.sign(&mut request, secret, now);
    let mut builder = axum::http::Request::post(p.path()).header("host", "127.0.0.1:8080");
    for (k, v) in &request.headers {
        builder = builder.header(k, v);
    }
    let response = router
        .clone()
        .oneshot(builder.body(Body::from(request.body))?)
        .await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        bail!("{provider}: {status} {value}");
    }
    Ok((status, value))
}
