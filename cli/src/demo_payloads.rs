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
use handoff_connectors::{registry, RawRequest};
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

macro_rules! fixture {
    ($file:literal) => {
        include_bytes!(concat!("../../tests/fixtures/providers/", $file))
    };
}

/// Tally's docs page was scraped with Cloudflare's email obfuscation; a real address goes back in.
pub const TALLY_ADDRESS: &str = "mira.jansen@kettle-analytics.nl";

/// The providers' documented payloads, in a plausible order of arrival.
pub fn provider_requests() -> Vec<DemoRequest> {
    let json = "application/json".to_string();
    let tally = String::from_utf8_lossy(fixture!("tally_form_response.json"))
        .replace("[email protected]", TALLY_ADDRESS);
    vec![
        DemoRequest {
            label: "typeform form_response",
            provider: "typeform",
            content_type: json.clone(),
            body: fixture!("typeform_form_response.json").to_vec(),
        },
        DemoRequest {
            label: "tally FORM_RESPONSE",
            provider: "tally",
            content_type: json.clone(),
            body: tally.into_bytes(),
        },
        DemoRequest {
            label: "hubspot workflow webhook (contact)",
            provider: "hubspot",
            content_type: json.clone(),
            body: include_bytes!("../../examples/providers/hubspot-workflow-contact.json").to_vec(),
        },
        DemoRequest {
            label: "postmark inbound reply",
            provider: "postmark",
            content_type: json.clone(),
            body: fixture!("postmark_inbound.json").to_vec(),
        },
        DemoRequest {
            label: "mailgun route forward",
            provider: "mailgun",
            content_type: "application/x-www-form-urlencoded".into(),
            body: mailgun_form(&String::from_utf8_lossy(fixture!(
                "mailgun_route_forward_fields.txt"
            ))),
        },
        DemoRequest {
            label: "sendgrid inbound parse (default)",
            provider: "sendgrid",
            content_type: "multipart/form-data; boundary=xYzZY".into(),
            body: fixture!("sendgrid_inbound_parse_default_data.multipart.txt").to_vec(),
        },
        DemoRequest {
            label: "sendgrid inbound parse (raw MIME, attachments)",
            provider: "sendgrid",
            content_type: "multipart/form-data; boundary=xYzZY".into(),
            body: fixture!("sendgrid_inbound_parse_raw_data_with_attachments.multipart.txt")
                .to_vec(),
        },
        DemoRequest {
            label: "calendly invitee.created",
            provider: "calendly",
            content_type: json.clone(),
            body: fixture!("calendly_invitee_created.json").to_vec(),
        },
        DemoRequest {
            label: "calendly invitee_no_show.created",
            provider: "calendly",
            content_type: json.clone(),
            body: fixture!("calendly_invitee_no_show_created.json").to_vec(),
        },
        DemoRequest {
            label: "calendly invitee.canceled",
            provider: "calendly",
            content_type: json.clone(),
            body: fixture!("calendly_invitee_canceled.json").to_vec(),
        },
        DemoRequest {
            label: "cal.com BOOKING_CREATED",
            provider: "calcom",
            content_type: json,
            body: fixture!("calcom_booking_created.json").to_vec(),
        },
    ]
}

/// Mailgun's documented field listing (`name: value` per line) as the form body Mailgun posts.
pub fn mailgun_form(listing: &str) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = listing
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.strip_prefix(' ').unwrap_or(v)))
        .collect();
    serde_urlencoded::to_string(pairs)
        .unwrap_or_default()
        .into_bytes()
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
