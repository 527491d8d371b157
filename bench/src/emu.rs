//! The emulator side of the bench: clients, per-section tables and queues, the services wired
//! like a function's (optionally with a [`Meter`] on the clients), and the real Lambda event
//! shapes (function URL, SQS, EventBridge) built from the e2e test's fixtures.

use crate::meter::Meter;
use anyhow::{bail, Context, Result};
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use handoff_aws::{DynamoRules, DynamoStore, SqsQueue};
use handoff_domain::claim_link::ClaimSigner;
use handoff_domain::ports::{Clock, Delivery, Stage, StageQueue};
use handoff_domain::service::Services;
use handoff_local::{FileCrm, LogNotifier};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const FUNCTION_URL_JSON: &str = include_str!("../../tests/fixtures/function_url_json_body.json");
const SQS_EVENT: &str = include_str!("../../tests/fixtures/sqs_event.json");
pub const SCHEDULED_EVENT: &str =
    include_str!("../../tests/fixtures/eventbridge_scheduled_event.json");
const FORM_EVENT: &str = include_str!("../../examples/events/01-form-demo-request.json");
const RULES_TOML: &str = include_str!("../../examples/handoff.toml");

/// Receives before SQS redrives to the DLQ (as the template's default).
pub const MAX_RECEIVES: u32 = 5;
/// The claim secret every bench service and function shares.
pub const CLAIM_SECRET: &str = "handoff-bench-claim-secret-0123456789abcdef";

/// The emulator and the names of this run's resources.
pub struct Emu {
    pub endpoint: String,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    run: String,
}

impl Emu {
    /// Connects to `AWS_ENDPOINT_URL` (checked by a `ListTables`).
    pub async fn connect() -> Result<Self> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        if endpoint.trim().is_empty() {
            bail!("AWS_ENDPOINT_URL is not set: run scripts/bench.sh, or `eval \"$(scripts/emulator.sh start)\"` first");
        }
        let sdk = handoff_aws::aws_config_from_env().await;
        let dynamo = handoff_aws::config::dynamodb_client(&sdk);
        let sqs = handoff_aws::config::sqs_client(&sdk);
        dynamo
            .list_tables()
            .limit(1)
            .send()
            .await
            .with_context(|| format!("the emulator at {endpoint} does not answer"))?;
        let run = format!("{:x}", Utc::now().timestamp_millis() % 0xff_ffff_ffff);
        Ok(Self {
            endpoint,
            dynamo,
            sqs,
            run,
        })
    }

    /// This run's id (distinguishes resources and provider event ids between runs).
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// A table and stage queues for `section`, with the example rules pushed.
    pub async fn provision(&self, section: &str) -> Result<(String, String, SqsQueue)> {
        let name = format!("bench-{section}-{}", self.run);
        handoff_aws::ensure_table(&self.dynamo, &name)
            .await
            .with_context(|| format!("creating table {name}"))?;
        let queue = handoff_aws::ensure_queues(&self.sqs, &name, MAX_RECEIVES)
            .await
            .with_context(|| format!("creating queues {name}-*"))?;
        handoff_aws::push_rules(&self.dynamo, &name, "examples/handoff.toml", RULES_TOML)
            .await
            .context("pushing the example rules")?;
        Ok((name.clone(), name, queue))
    }

    /// Services wired as `handoff_lambda::wiring` does, on clients carrying `meter` if given.
    pub async fn services(
        &self,
        table: &str,
        prefix: &str,
        clock: Arc<dyn Clock>,
        meter: Option<&Meter>,
        out: &Path,
    ) -> Result<Services> {
        let sdk = handoff_aws::aws_config_from_env().await;
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(&sdk);
        let mut sqs = aws_sdk_sqs::config::Builder::from(&sdk);
        if let Some(m) = meter {
            dynamo = dynamo.interceptor(m.clone());
            sqs = sqs.interceptor(m.clone());
        }
        let dynamo = aws_sdk_dynamodb::Client::from_conf(dynamo.build());
        let sqs = aws_sdk_sqs::Client::from_conf(sqs.build());
        let store = Arc::new(DynamoStore::new(dynamo.clone(), table));
        Ok(Services {
            store: store.clone(),
            threads: store,
            queue: Arc::new(SqsQueue::connect(sqs, prefix, MAX_RECEIVES).await?),
            crm: Arc::new(FileCrm::new(out)?),
            notifier: Arc::new(LogNotifier::new(out)?),
            clock,
            rules: Arc::new(DynamoRules::new(dynamo, table).with_ttl(Duration::from_secs(60))),
            judge: Arc::new(handoff_domain::ports::NoJudge),
            claims: ClaimSigner::new(CLAIM_SECRET.as_bytes().to_vec()),
            public_url: "https://claim.lambda-url.us-east-1.on.aws".into(),
            claim_link_ttl: chrono::Duration::days(7),
        })
    }

    /// A queue adapter for the bench's own driver (standing in for the event source mapping).
    pub async fn driver_queue(&self, prefix: &str, meter: &Meter) -> Result<SqsQueue> {
        let sdk = handoff_aws::aws_config_from_env().await;
        let sqs = aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(meter.clone())
            .build();
        Ok(SqsQueue::connect(aws_sdk_sqs::Client::from_conf(sqs), prefix, MAX_RECEIVES).await?)
    }
}

/// The demo's web-form event with its own provider event id, buyer and company (so handoffs of
/// one run are not each other's duplicates).
pub fn form_event(provider_event_id: &str, buyer: usize, at: DateTime<Utc>) -> Vec<u8> {
    let mut e: Value = serde_json::from_str(FORM_EVENT).expect("the example event is JSON");
    e["provider_event_id"] = json!(provider_event_id);
    e["received_at"] = json!(at);
    e["buyer"]["email"] = json!(format!("katrin.vogel@brightline-{buyer}.de"));
    e["buyer"]["company"] = json!(format!("Brightline {buyer} GmbH"));
    e.to_string().into_bytes()
}

/// A function URL event as Lambda delivers it (the captured fixture with our path and body), as
/// JSON text: what `lambda_http` parses before the router runs.
pub fn function_url_event(method: &str, path: &str, content_type: &str, body: &[u8]) -> String {
    let mut event: Value = serde_json::from_str(FUNCTION_URL_JSON).expect("fixture is JSON");
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!("");
    if let Some(o) = event.as_object_mut() {
        o.remove("queryStringParameters");
    }
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["headers"]["content-type"] = json!(content_type);
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["isBase64Encoded"] = json!(false);
    event["body"] = json!(String::from_utf8_lossy(body));
    event.to_string()
}

/// The agent secret every bench intake verifies (`HANDOFF_SECRET_AGENT`'s role).
pub const AGENT_SECRET: &str = "handoff-bench-agent-secret-0123456789";

/// A canonical event POSTed to `/v1/events` as an agent sends it: signed with
/// `Handoff-Signature` at `now` (the services' clock, which checks the window).
pub fn agent_event(body: &[u8], now: DateTime<Utc>) -> String {
    let mut event: Value = serde_json::from_str(&function_url_event(
        "POST",
        "/v1/events",
        "application/json",
        body,
    ))
    .expect("built above");
    event["headers"]["handoff-signature"] =
        json!(handoff_connectors::signature::TimestampedSignature::sign(
            AGENT_SECRET.as_bytes(),
            now.timestamp(),
            body
        ));
    event.to_string()
}

/// The HTTP routes' state over `services`, verifying agents with [`AGENT_SECRET`].
pub fn app(
    services: Arc<Services>,
    once: Arc<dyn handoff_connectors::once::OnceTokens>,
) -> Arc<handoff_api::App> {
    Arc::new(handoff_api::App {
        services,
        intake: handoff_api::IntakeEdge {
            secrets: Arc::new(handoff_connectors::secrets::StaticSecrets::of(&[(
                "agent",
                AGENT_SECRET,
            )])),
            once,
            contacts: None,
            public_base_url: None,
        },
    })
}

/// Parses a function URL event and runs it through `router`: status and JSON body.
pub async fn call(router: axum::Router, event: &str) -> Result<(u16, Value)> {
    let req = lambda_http::request::from_str(event).context("not a function URL event")?;
    let resp = router.oneshot(req).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// Wraps deliveries as the SQS event source mapping does.
pub fn sqs_event(deliveries: &[Delivery]) -> SqsEvent {
    let template: Value = serde_json::from_str(SQS_EVENT).expect("fixture is JSON");
    let records: Vec<Value> = deliveries
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut r = template["Records"][0].clone();
            r["messageId"] = json!(format!("msg-{i}"));
            r["receiptHandle"] = json!(d.receipt);
            r["body"] = json!(d.body);
            r["attributes"]["ApproximateReceiveCount"] = json!(d.receive_count.to_string());
            r
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
}

/// Receives the next batch of `stage` (a few long polls), as the event source mapping would.
pub async fn receive(queue: &SqsQueue, stage: Stage) -> Result<Vec<Delivery>> {
    for _ in 0..5 {
        let got = queue.receive(stage, 10, Duration::from_secs(30)).await?;
        if !got.is_empty() {
            return Ok(got);
        }
    }
    bail!("no {} message arrived", stage.as_str())
}

/// Runs the SQS handler on a batch and deletes what it did not report failed (as Lambda does).
pub async fn run_stage(services: &Services, driver: &SqsQueue, stage: Stage) -> Result<()> {
    let deliveries = receive(driver, stage).await?;
    let response = handoff_lambda::sqs::handle_batch(services, stage, sqs_event(&deliveries)).await;
    if !response.batch_item_failures.is_empty() {
        bail!("the {} stage failed a message", stage.as_str());
    }
    for d in &deliveries {
        driver.ack(stage, &d.receipt).await?;
    }
    Ok(())
}
