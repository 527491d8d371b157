//! The whole pipeline on the AWS emulator, through the real handlers and real Lambda event
//! shapes: function URL → intake → SQS → classify → SQS → assign → CRM + notify → claim;
//! an unclaimed handoff rerouted by the scheduled failover handler under a controlled clock;
//! a poison message in an SQS batch; the weekly audit writing its report to the S3 bucket and
//! posting its summary with a presigned link to Slack; and every handler run twice on the same
//! input.
//!
//! Each function is built as `infra/template.yaml` deploys it: from the template's environment
//! for that function, with its own SDK clients recording every AWS call. At the end of each
//! scenario every call a function made must be granted to its role in the template; and
//! `every_grant_in_the_template_is_used` runs every scenario and fails on a granted action no
//! function ever calls (the audit's S3 calls are recorded apart, by `handoff_aws::s3::S3Calls`,
//! and checked with its other calls). The emulator does not enforce IAM; this is what keeps the
//! policies true.
//!
//! Needs `AWS_ENDPOINT_URL` (scripts/test.sh starts the emulator). Without it: a notice and an
//! early return on a developer machine, a failure under `CI=true`.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use handoff_api::App;
use handoff_aws::calls::{Call, CallRecorder};
use handoff_aws::SqsQueue;
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::State;
use handoff_domain::ports::{Clock, Delivery, ManualClock, Stage, StageQueue};
use handoff_domain::service::Services;
use handoff_lambda::env::Vars;
use handoff_lambda::wiring::{Function, FunctionConfig};
use handoff_lambda::{schedule, sqs};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use support::template::{glob, Resolver, Template};
use tower::ServiceExt;

mod support;

const FUNCTION_URL_JSON: &str = include_str!("../fixtures/function_url_json_body.json");
const FUNCTION_URL_BASE64: &str = include_str!("../fixtures/function_url_base64_body.json");
const SQS_EVENT: &str = include_str!("../fixtures/sqs_event.json");
const SCHEDULED_EVENT: &str = include_str!("../fixtures/eventbridge_scheduled_event.json");
const FORM_EVENT: &str = include_str!("../../examples/events/01-form-demo-request.json");
const MAX_RECEIVES: u32 = 3;
/// The HubSpot private-app token (secret `<prefix>hubspot_token`) the local HubSpot accepts.
const HUBSPOT_TOKEN: &str = "pat-e2e-hubspot";
/// The provider secrets the e2e stack holds in Secrets Manager.
const SECRETS: &[(&str, &str)] = &[
    ("agent", "e2e-agent-secret"),
    ("typeform", "e2e-typeform-secret"),
    ("tally", "e2e-tally-secret"),
    ("hubspot", "e2e-hubspot-client-secret"),
    ("postmark", "inbound:e2e-postmark-password"),
    ("mailgun", "e2e-mailgun-signing-key"),
    ("sendgrid", "parse:e2e-sendgrid-password"),
    ("calendly", "e2e-calendly-signing-key"),
    ("calcom", "e2e-calcom-secret"),
];

struct Cloud {
    /// Each function's state, built from the template's environment for it.
    intake: Arc<App>,
    classify: Arc<Services>,
    assign: Arc<Services>,
    failover: Arc<Services>,
    claim: Arc<App>,
    audit: Arc<Services>,
    /// Where the audit function writes its report and posts its summary, as deployed, and the
    /// S3 calls it made (its other calls are in `recorded`).
    audit_outputs: schedule::AuditOutputs,
    audit_s3: handoff_aws::s3::S3Calls,
    /// The report bucket.
    audit_bucket: String,
    /// What the test reads state through (its calls are nobody's).
    services: Arc<Services>,
    queue: SqsQueue,
    clock: Arc<ManualClock>,
    /// The CRM and Slack the deployed rules point at (local stand-ins checking the documented
    /// request shapes), and the order of their calls.
    hubspot: handoff_testkit::hubspot::HubspotStandIn,
    slack: handoff_testkit::slack::SlackStandIn,
    calls: handoff_testkit::standin::CallLog,
    /// The template, how its references resolve in this deployment, and each function's calls.
    template: Arc<Template>,
    resolver: Resolver,
    recorded: BTreeMap<Function, CallRecorder>,
}

impl Cloud {
    /// The function consuming `stage`'s queue.
    fn stage(&self, stage: Stage) -> &Services {
        match stage {
            Stage::Classify => &self.classify,
            Stage::Assign => &self.assign,
        }
    }
}

/// The claim-link key mid-rotation: links are signed with the new key, the old still verifies.
const NEW_CLAIM_KEY: &str = "e2e-claim-key-new-that-is-long-enough-0123456789";
const OLD_CLAIM_KEY: &str = "e2e-claim-key-old-that-is-long-enough-0123456789";

const SLACK_TOKEN: &str = "xoxb-e2e-slack-bot";
/// Where the weekly audit posts its summary (the stack's AuditSlackChannel).
const AUDIT_CHANNEL: &str = "#sales-leads";
const EMAIL_FROM: &str = "handoffs@northwind.example";

/// The example rules as a team deploys them: HubSpot as the CRM, Slack and SES email for the
/// reps, pointed at the local stand-ins.
fn deployed_rules(hubspot: &str, slack: &str) -> String {
    format!(
        "{}\n[crm]\nkind = \"hubspot\"\n[crm.hubspot]\napi_url = \"{hubspot}\"\n\n[notify.slack]\napi_url = \"{slack}\"\n[notify.email]\nfrom = \"{EMAIL_FROM}\"\n",
        include_str!("../../examples/handoff.toml")
    )
}

fn unique() -> String {
    format!(
        "{:x}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default() ^ (std::process::id() as i64) << 40
    )
}

async fn cloud() -> Option<Cloud> {
    handoff_testkit::emulator::with_test_credentials()?;
    let sdk = handoff_aws::aws_config_from_env().await;
    let id = unique();
    let table = format!("handoff-e2e-{id}");
    let prefix = format!("handoff-e2e-{id}");
    handoff_aws::ensure_table(&handoff_aws::config::dynamodb_client(&sdk), &table)
        .await
        .expect("table");
    let queue = handoff_aws::ensure_queues(
        &handoff_aws::config::sqs_client(&sdk),
        &prefix,
        MAX_RECEIVES,
    )
    .await
    .expect("queues");
    let calls = handoff_testkit::standin::CallLog::new();
    let hubspot = handoff_testkit::hubspot::HubspotStandIn::start(
        HUBSPOT_TOKEN,
        calls.clone(),
        Default::default(),
    )
    .await;
    let slack =
        handoff_testkit::slack::SlackStandIn::start(SLACK_TOKEN, calls.clone(), Default::default())
            .await;
    handoff_aws::push_rules(
        &handoff_aws::config::dynamodb_client(&sdk),
        &table,
        "examples/handoff.toml",
        &deployed_rules(hubspot.base_url(), slack.base_url()),
    )
    .await
    .expect("push rules");
    // The mail sender is a verified SES identity (on the emulator).
    handoff_aws::ses::sesv2_client(&sdk)
        .create_email_identity()
        .email_identity(EMAIL_FROM)
        .send()
        .await
        .expect("SES identity");
    // The claim-link key, as the stack generates it.
    let secretsmanager = handoff_aws::config::secretsmanager_client(&sdk);
    let claim_secret = secretsmanager
        .create_secret()
        .name(format!("handoff-e2e-{id}/claim-link-key"))
        .secret_string(format!("{NEW_CLAIM_KEY},{OLD_CLAIM_KEY}"))
        .send()
        .await
        .expect("claim secret")
        .arn()
        .unwrap()
        .to_string();
    // The provider secrets live in Secrets Manager (on the emulator), as deployed.
    let hubspot_token = [
        (handoff_api::HUBSPOT_TOKEN, HUBSPOT_TOKEN),
        ("slack_bot_token", SLACK_TOKEN),
        ("slack_signing_secret", "e2e-slack-signing-secret"),
    ];
    for (provider, value) in SECRETS.iter().chain(hubspot_token.iter()) {
        secretsmanager
            .create_secret()
            .name(format!("handoff-e2e-{id}/providers/{provider}"))
            .secret_string(*value)
            .send()
            .await
            .expect("create secret");
    }
    // How the template's references resolve in this deployment.
    let template = Arc::new(Template::load());
    let mut resolver = Resolver::new(&template);
    let stack = format!("handoff-e2e-{id}");
    resolver.params.insert("Stage".into(), format!("e2e-{id}"));
    resolver
        .params
        .insert("MaxReceiveCount".into(), MAX_RECEIVES.to_string());
    resolver.refs.insert("AWS::StackName".into(), stack.clone());
    resolver.refs.insert("Table".into(), table.clone());
    resolver.atts.insert(
        "Table.Arn".into(),
        format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table}"),
    );
    for (logical, stage, dlq) in [
        ("ClassifyQueue", Stage::Classify, false),
        ("ClassifyDeadLetterQueue", Stage::Classify, true),
        ("AssignQueue", Stage::Assign, false),
        ("AssignDeadLetterQueue", Stage::Assign, true),
    ] {
        let urls = queue.urls(stage);
        let url = if dlq { &urls.dead_letter } else { &urls.queue };
        let name = url.rsplit('/').next().unwrap();
        resolver.refs.insert(logical.into(), url.clone());
        resolver.atts.insert(
            format!("{logical}.Arn"),
            format!("arn:aws:sqs:us-east-1:123456789012:{name}"),
        );
        resolver
            .atts
            .insert(format!("{logical}.QueueName"), name.to_string());
    }
    resolver.refs.insert("ClaimSecret".into(), claim_secret);
    // The audit's report bucket, and its Slack summary channel.
    let audit_bucket = format!("handoff-e2e-{id}-audits");
    handoff_aws::s3::s3_client(&sdk, None)
        .create_bucket()
        .bucket(&audit_bucket)
        .send()
        .await
        .expect("report bucket");
    resolver
        .refs
        .insert("AuditReportBucket".into(), audit_bucket.clone());
    resolver.atts.insert(
        "AuditReportBucket.Arn".into(),
        format!("arn:aws:s3:::{audit_bucket}"),
    );
    resolver
        .params
        .insert("AuditSlackChannel".into(), AUDIT_CHANNEL.into());
    resolver.atts.insert(
        "ClaimFunctionUrl.FunctionUrl".into(),
        "https://claim.lambda-url.us-east-1.on.aws/".into(),
    );
    let hubspot_api_url = handoff_testkit::hubspot::serve(HUBSPOT_TOKEN).await;
    let mut recorded = BTreeMap::new();
    let mut configs = BTreeMap::new();
    let mut audit_publishing = None;
    for function in Function::ALL {
        let def = template
            .functions()
            .into_iter()
            .find(|f| f.binary == function.name())
            .expect("every function is in the template");
        let mut env: BTreeMap<String, String> = def
            .env
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), resolver.resolve(&template, v)?)))
            .collect();
        // The one variable the template leaves at its default: HubSpot's real API.
        env.insert("HANDOFF_HUBSPOT_API_URL".into(), hubspot_api_url.clone());
        let vars = Vars::from_fn(|k| env.get(k).cloned());
        let mut config = FunctionConfig::from_vars(function, &vars)
            .unwrap_or_else(|e| panic!("{}: {e:#}", function.name()));
        if function == Function::Audit {
            audit_publishing = Some(schedule::AuditPublishing::from_vars(&vars));
        }
        let recorder = CallRecorder::new();
        config.recorder = Some(recorder.clone());
        recorded.insert(function, recorder);
        configs.insert(function, config);
    }
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ));
    let c: Arc<dyn Clock> = clock.clone();
    let services = |f: Function| {
        let (config, c) = (configs[&f].clone(), c.clone());
        async move {
            Arc::new(
                handoff_lambda::wiring::services_with_clock(&config, c)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e:#}", f.name())),
            )
        }
    };
    let intake = Arc::new(
        handoff_lambda::wiring::app_with_clock(&configs[&Function::Intake], c.clone())
            .await
            .expect("intake"),
    );
    let claim = Arc::new(
        handoff_lambda::wiring::claim_app_with_clock(&configs[&Function::Claim], c.clone())
            .await
            .expect("claim"),
    );
    // The audit's outputs, built as the function builds them, recording into its recorder.
    let audit_s3 = handoff_aws::s3::S3Calls::new();
    let audit_outputs = audit_publishing.expect("the audit function").outputs(
        &handoff_aws::calls::Clients::new(sdk.clone(), Some(recorded[&Function::Audit].clone())),
        Some(audit_s3.clone()),
    );
    let mut reader = configs[&Function::Audit].clone();
    reader.recorder = None;
    let reader = Arc::new(
        handoff_lambda::wiring::services_with_clock(&reader, c.clone())
            .await
            .expect("reader"),
    );
    Some(Cloud {
        intake,
        classify: services(Function::Classify).await,
        assign: services(Function::Assign).await,
        failover: services(Function::Failover).await,
        audit: services(Function::Audit).await,
        audit_outputs,
        audit_s3,
        audit_bucket,
        claim,
        services: reader,
        queue,
        clock,
        hubspot,
        slack,
        calls,
        template,
        resolver,
        recorded,
    })
}

/// A function URL request as Lambda delivers it: the captured event with our path and body.
fn function_url_request(
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
    base64: bool,
) -> lambda_http::Request {
    let mut event: Value = serde_json::from_str(if base64 {
        FUNCTION_URL_BASE64
    } else {
        FUNCTION_URL_JSON
    })
    .unwrap();
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!("");
    event
        .as_object_mut()
        .unwrap()
        .remove("queryStringParameters");
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["headers"]["content-type"] = json!(content_type);
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["isBase64Encoded"] = json!(base64);
    event["body"] = if base64 {
        json!(base64::engine::general_purpose::STANDARD.encode(body))
    } else {
        json!(String::from_utf8(body.to_vec()).unwrap())
    };
    lambda_http::request::from_str(&event.to_string()).expect("a function URL event")
}

async fn call(router: axum::Router, req: lambda_http::Request) -> (u16, Value) {
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Receives what SQS has for a stage and wraps it as the event source mapping would.
async fn sqs_batch(queue: &SqsQueue, stage: Stage) -> (SqsEvent, Vec<Delivery>) {
    let mut deliveries = Vec::new();
    for _ in 0..5 {
        deliveries.extend(
            queue
                .receive(stage, 10, Duration::from_secs(30))
                .await
                .unwrap(),
        );
        if !deliveries.is_empty() {
            break;
        }
    }
    (sqs_event(&deliveries), deliveries)
}

fn sqs_event(deliveries: &[Delivery]) -> SqsEvent {
    let template: Value = serde_json::from_str(SQS_EVENT).unwrap();
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
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// Runs the SQS handler on a batch, then deletes what it reported done (as Lambda does).
async fn run_sqs(
    cloud: &Cloud,
    stage: Stage,
    event: SqsEvent,
    deliveries: &[Delivery],
) -> Vec<String> {
    let response = sqs::handle_batch(cloud.stage(stage), stage, event).await;
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    for (i, d) in deliveries.iter().enumerate() {
        if !failed.contains(&format!("msg-{i}")) {
            let _ = cloud.queue.ack(stage, &d.receipt).await;
        }
    }
    failed
}

async fn drive_to_notified(cloud: &Cloud, id: &HandoffId) {
    for stage in [Stage::Classify, Stage::Assign] {
        let (event, deliveries) = sqs_batch(&cloud.queue, stage).await;
        assert!(!deliveries.is_empty(), "a {} message", stage.as_str());
        // The same batch twice: the second run finds every transition done and changes nothing.
        let failed = sqs::handle_batch(cloud.stage(stage), stage, event.clone()).await;
        assert!(failed.batch_item_failures.is_empty());
        let before = cloud.services.store.timeline(id).await.unwrap().len();
        assert!(run_sqs(cloud, stage, event, &deliveries).await.is_empty());
        assert_eq!(
            cloud.services.store.timeline(id).await.unwrap().len(),
            before,
            "replay changed the timeline"
        );
        // The replayed classify re-sent its assign message; drop the duplicate after the real one.
    }
    let record = cloud.services.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        record.state,
        State::Notified,
        "{:?}",
        cloud.services.store.timeline(id).await.unwrap()
    );
}

fn form_event(provider_event_id: &str, at: DateTime<Utc>) -> Vec<u8> {
    let mut e: Value = serde_json::from_str(FORM_EVENT).unwrap();
    e["provider_event_id"] = json!(provider_event_id);
    e["received_at"] = json!(at);
    e.to_string().into_bytes()
}

/// An agent's canonical event through the intake function URL, signed with `Handoff-Signature`.
async fn intake(cloud: &Cloud, body: &[u8], base64: bool) -> (u16, Value) {
    agent_post(cloud, "/v1/events", body, base64).await
}

/// A signed agent request (`/v1/events`, `/v1/threads`) through the intake function URL.
async fn agent_post(cloud: &Cloud, path: &str, body: &[u8], base64: bool) -> (u16, Value) {
    let router = handoff_api::intake_router(cloud.intake.clone());
    let mut request = function_url_request("POST", path, "application/json", body, base64);
    let signature = handoff_connectors::signature::TimestampedSignature::sign(
        b"e2e-agent-secret",
        cloud.clock.now().timestamp(),
        body,
    );
    request
        .headers_mut()
        .insert("handoff-signature", signature.parse().unwrap());
    call(router, request).await
}

/// A rep's signed claim (accept, wrong owner, re-qualify) POSTed to the claim function URL.
async fn claim(
    cloud: &Cloud,
    id: &HandoffId,
    rep: &handoff_domain::ids::RepId,
    action: handoff_domain::claim_link::ClaimAction,
) -> (u16, Value) {
    let signed = cloud.assign.claims.sign(
        id,
        rep,
        action,
        cloud.clock.now() + chrono::Duration::hours(1),
    );
    let form = format!(
        "handoff_id={}&rep={}&action={}&expires={}&sig={}",
        id,
        rep,
        action.as_str(),
        signed.expires,
        signed.sig
    );
    call(
        handoff_api::claim_router(cloud.claim.clone()),
        function_url_request(
            "POST",
            "/v1/claim",
            "application/x-www-form-urlencoded",
            form.as_bytes(),
            true,
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_url_to_accepted_through_every_handler() {
    let Some(cloud) = cloud().await else { return };
    function_url_to_accepted_through_every_handler_on(&cloud).await;
    assert_calls_granted(&cloud);
}

async fn function_url_to_accepted_through_every_handler_on(cloud: &Cloud) {
    let now = cloud.clock.now();
    let body = form_event("e2e-aws-1", now);

    // The outbound sequencer tells intake which message ids a thread used.
    let thread = json!({
        "thread_id": "e2e-thread-1",
        "keys": ["<outbound-e2e-1@mail.northwind.io>", "e2e-reply-token"],
        "buyer_email": "katrin.vogel@brightline.example",
        "sequence": "revops-leaders-q4"
    });
    let (status, reply) =
        agent_post(cloud, "/v1/threads", thread.to_string().as_bytes(), false).await;
    assert_eq!(status, 202, "{reply}");

    // Intake: a function URL request whose body arrives base64-encoded.
    let (status, receipt) = intake(cloud, &body, true).await;
    assert_eq!(status, 202, "{receipt}");
    let id = HandoffId::parse(receipt["handoff_id"].as_str().unwrap()).unwrap();
    // The provider retries with a plain body: same handoff, one timeline entry.
    let (status, again) = intake(cloud, &body, false).await;
    assert_eq!(status, 202);
    assert_eq!(again["duplicate"], true);
    assert_eq!(cloud.services.store.timeline(&id).await.unwrap().len(), 1);

    drive_to_notified(cloud, &id).await;
    let events: Vec<String> = cloud
        .services
        .store
        .timeline(&id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.clone())
        .collect();
    assert_eq!(
        events,
        [
            "received",
            "classified",
            "assigned",
            "crm_progress",
            "crm_progress",
            "crm_written",
            "notified"
        ]
    );
    // HubSpot holds one contact, one note with the package and the owner's task; the rep was
    // told on Slack only after the CRM write.
    let seen = cloud.hubspot.seen(&id);
    assert_eq!(
        (seen.packages, seen.tasks, seen.change_notes),
        (1, 1, 0),
        "{seen:?}"
    );
    let record = cloud.services.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.crm.system, "hubspot");
    assert!(record.crm.note.is_some() && record.crm.task.is_some());
    // The owner is notified where they work: Slack (after every HubSpot call) or SES email.
    let receipt = record.notification_ref.clone().unwrap_or_default();
    let calls = cloud.calls.calls();
    let last_hubspot = calls
        .iter()
        .rposition(|c| c.starts_with("hubspot "))
        .unwrap();
    match receipt.split_once(':').map(|(k, _)| k) {
        Some("slack") => {
            assert_eq!(cloud.slack.deliveries_for(id.as_str()), 1);
            let first_slack = calls.iter().position(|c| c.starts_with("slack ")).unwrap();
            assert!(
                last_hubspot < first_slack,
                "CRM before notification: {calls:?}"
            );
        }
        Some("email") => assert_eq!(cloud.slack.deliveries_for(id.as_str()), 0),
        _ => panic!("unexpected receipt {receipt} for {:?}", record.owner),
    }

    // Claim: the rep's form POST to the claim function URL, from a link signed before the key
    // was rotated (the secret lists the new key first, then the old one).
    let record = cloud.services.store.get(&id).await.unwrap().unwrap();
    let rep = record.owner.unwrap().rep.unwrap();
    let claim = handoff_domain::claim_link::ClaimSigner::new(OLD_CLAIM_KEY).sign(
        &id,
        &rep,
        handoff_domain::claim_link::ClaimAction::Accept,
        now + chrono::Duration::hours(1),
    );
    let form = format!(
        "handoff_id={}&rep={}&action=accept&expires={}&sig={}",
        id, rep, claim.expires, claim.sig
    );
    let router = handoff_api::claim_router(cloud.claim.clone());
    let (status, body) = call(
        router.clone(),
        function_url_request(
            "POST",
            "/v1/claim",
            "application/x-www-form-urlencoded",
            form.as_bytes(),
            true,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "accepted");
    let (status, body) = call(
        router,
        function_url_request(
            "POST",
            "/v1/claim",
            "application/x-www-form-urlencoded",
            form.as_bytes(),
            true,
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["replay"], true);
    assert_eq!(cloud.services.store.timeline(&id).await.unwrap().len(), 8);
    // The weekly audit, scheduled an hour later, reads the week's handoffs.
    let mut scheduled: EventBridgeEvent = serde_json::from_str(SCHEDULED_EVENT).unwrap();
    scheduled.time = Some(now + chrono::Duration::hours(1));
    let report = schedule::audit(&cloud.audit, &scheduled).await.unwrap();
    assert_eq!(report.handoffs, 1, "{report:?}");
    assert_eq!(report.inbound.accepted, 1, "{report:?}");
    audit_is_published(cloud, &report).await;
    // Nothing left behind in any queue.
    for stage in Stage::ALL {
        let left = cloud
            .queue
            .receive(stage, 10, Duration::from_secs(1))
            .await
            .unwrap();
        for d in &left {
            // Replays may leave duplicate messages; they must be no-ops.
            assert!(matches!(
                cloud.stage(stage).handle_message(stage, &d.body).await,
                handoff_domain::service::delivery::Disposition::Ack(_)
            ));
        }
    }
}

/// The audit function's report in the bucket (the JSON is the report, the page readable through
/// the presigned link) and its summary in the Slack channel, with that link.
async fn audit_is_published(cloud: &Cloud, report: &handoff_domain::audit::AuditReport) {
    let published = schedule::publish_audit(&cloud.audit, report, &cloud.audit_outputs)
        .await
        .unwrap();
    let day = report.to.format("%Y-%m-%d");
    assert_eq!(
        published.keys,
        [
            format!("audits/{day}/report.json"),
            format!("audits/{day}/report.html")
        ]
    );
    let json = handoff_aws::s3::s3_client(&handoff_aws::aws_config_from_env().await, None)
        .get_object()
        .bucket(&cloud.audit_bucket)
        .key(&published.keys[0])
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let stored: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(stored, serde_json::to_value(report).unwrap());
    // The summary, with the link to the page.
    let receipt = published.slack.expect("posted to Slack");
    let channel = cloud.slack.channel_id(AUDIT_CHANNEL).expect("the channel");
    assert!(
        receipt.starts_with(&format!("slack:{channel}:")),
        "{receipt}"
    );
    let messages = cloud.slack.messages_in(&channel);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = &messages[0].text;
    assert!(text.contains("*Weekly handoff audit*"), "{text}");
    assert!(text.contains("1 handoff (1 inbound, 0 outbound)"), "{text}");
    assert!(text.contains("Acceptance: 100.0 % inbound"), "{text}");
    let start = text.find("<http").expect("a link") + 1;
    let link = text[start..]
        .split('|')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(link.contains(&published.keys[1]), "{link}");
    assert!(link.contains("X-Amz-Expires=43200"), "12 hours: {link}");
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), 200, "{link}");
    let html = page.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("The six metrics, inbound and outbound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclaimed_handoff_is_rerouted_by_the_scheduled_failover() {
    let Some(cloud) = cloud().await else { return };
    unclaimed_handoff_is_rerouted_by_the_scheduled_failover_on(&cloud).await;
    assert_calls_granted(&cloud);
}

async fn unclaimed_handoff_is_rerouted_by_the_scheduled_failover_on(cloud: &Cloud) {
    let (status, receipt) = intake(cloud, &form_event("e2e-aws-2", cloud.clock.now()), false).await;
    assert_eq!(status, 202);
    let id = HandoffId::parse(receipt["handoff_id"].as_str().unwrap()).unwrap();
    drive_to_notified(cloud, &id).await;
    let record = cloud.services.store.get(&id).await.unwrap().unwrap();
    let first = record.owner.clone().unwrap().rep.unwrap();
    let deadline = record.sla.unwrap().deadline;

    let mut scheduled: EventBridgeEvent = serde_json::from_str(SCHEDULED_EVENT).unwrap();
    let before = schedule::sweep(&cloud.failover, &scheduled, None)
        .await
        .unwrap();
    assert_eq!(before.due, 0, "nothing is due before the deadline");

    cloud.clock.set(deadline + chrono::Duration::minutes(1));
    scheduled.time = Some(cloud.clock.now());
    let report = schedule::sweep(&cloud.failover, &scheduled, None)
        .await
        .unwrap();
    assert_eq!(report.due, 1, "{report:?}");
    assert_eq!(report.rerouted + report.escalated, 1, "{report:?}");
    assert_eq!(
        report.items_read, 1,
        "the sweep reads only what is due: {report:?}"
    );
    // Running the schedule again at the same time finds nothing due (the new owner has a new SLA).
    let again = schedule::sweep(&cloud.failover, &scheduled, None)
        .await
        .unwrap();
    assert_eq!(again.due, 0, "{again:?}");

    let (event, deliveries) = sqs_batch(&cloud.queue, Stage::Assign).await;
    assert!(run_sqs(cloud, Stage::Assign, event, &deliveries)
        .await
        .is_empty());
    let record = cloud.services.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.state, State::Notified);
    let second = record.owner.clone().unwrap().rep.unwrap();
    assert_ne!(second, first);
    assert!(record.missed_by.contains(&first));

    // The new owner says it is not theirs: the claim function reroutes it to someone else.
    let (status, body) = claim(
        cloud,
        &id,
        &second,
        handoff_domain::claim_link::ClaimAction::WrongOwner,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let record = cloud.services.store.get(&id).await.unwrap().unwrap();
    assert_ne!(record.owner.unwrap().rep.as_ref(), Some(&second), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_goes_to_the_dlq_without_failing_its_batch() {
    let Some(cloud) = cloud().await else { return };
    a_poison_message_goes_to_the_dlq_without_failing_its_batch_on(&cloud).await;
    assert_calls_granted(&cloud);
}

/// What the stage queue delivers, received until at least `n` messages (or ten tries).
async fn receive_at_least(queue: &SqsQueue, stage: Stage, n: usize) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for _ in 0..10 {
        deliveries.extend(
            queue
                .receive(stage, 10, Duration::from_secs(30))
                .await
                .unwrap(),
        );
        if deliveries.len() >= n {
            break;
        }
    }
    deliveries
}

async fn a_poison_message_goes_to_the_dlq_without_failing_its_batch_on(cloud: &Cloud) {
    let (status, _) = intake(cloud, &form_event("e2e-aws-3", cloud.clock.now()), false).await;
    assert_eq!(status, 202);
    cloud
        .queue
        .send_raw(Stage::Classify, "{not json")
        .await
        .unwrap();
    let deliveries = receive_at_least(&cloud.queue, Stage::Classify, 2).await;
    assert_eq!(deliveries.len(), 2);
    let failed = run_sqs(cloud, Stage::Classify, sqs_event(&deliveries), &deliveries).await;
    assert!(
        failed.is_empty(),
        "one bad message never fails its batch-mates: {failed:?}"
    );
    let dead = cloud.queue.dead_letters(Stage::Classify, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].body, "{not json");
    assert!(
        dead[0].reason.contains("unreadable stage message"),
        "{}",
        dead[0].reason
    );
    // The good one moved on to the assign queue; a poison message there is dead-lettered too.
    cloud
        .queue
        .send_raw(Stage::Assign, "{not json")
        .await
        .unwrap();
    let next = receive_at_least(&cloud.queue, Stage::Assign, 2).await;
    assert_eq!(next.len(), 2);
    assert!(run_sqs(cloud, Stage::Assign, sqs_event(&next), &next)
        .await
        .is_empty());
    let dead = cloud.queue.dead_letters(Stage::Assign, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_postponed_with_backoff_not_dead_lettered() {
    let Some(cloud) = cloud().await else { return };
    a_transient_failure_is_postponed_with_backoff_not_dead_lettered_on(&cloud).await;
    assert_calls_granted(&cloud);
}

/// The classify function's table read fails once (throttled): the message is reported as a
/// batch item failure and postponed with `ChangeMessageVisibility` for the first backoff
/// (1–2 s), not the queue's 180 s visibility timeout; it comes back with receive count 2 and
/// goes through. Nothing is dead-lettered.
async fn a_transient_failure_is_postponed_with_backoff_not_dead_lettered_on(cloud: &Cloud) {
    let (status, body) = intake(
        cloud,
        &form_event("e2e-aws-transient", cloud.clock.now()),
        false,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let store = Arc::new(handoff_testkit::faulty_store::FaultyStore::new(
        cloud.classify.store.clone(),
    ));
    store.fail_next("get", 1);
    let mut throttled = (*cloud.classify).clone();
    throttled.store = store.clone();
    let (event, deliveries) = sqs_batch(&cloud.queue, Stage::Classify).await;
    assert_eq!(deliveries.len(), 1);
    let postponed_at = std::time::Instant::now();
    let response = sqs::handle_batch(&throttled, Stage::Classify, event).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "retried, not dropped"
    );
    assert_eq!(store.failures("get"), 1);
    let again = receive_at_least(&cloud.queue, Stage::Classify, 1).await;
    assert_eq!(again.len(), 1, "back after the backoff");
    assert!(
        postponed_at.elapsed() < Duration::from_secs(20),
        "came back after {:?}: the visibility timeout, not the backoff",
        postponed_at.elapsed()
    );
    assert_eq!(again[0].receive_count, 2);
    assert!(run_sqs(cloud, Stage::Classify, sqs_event(&again), &again)
        .await
        .is_empty());
    assert!(cloud
        .queue
        .dead_letters(Stage::Classify, 10)
        .await
        .unwrap()
        .is_empty());
    let id = HandoffId::parse(body["handoff_id"].as_str().unwrap()).unwrap();
    let record = cloud.services.store.get(&id).await.unwrap();
    assert!(
        record.as_ref().is_some_and(|r| r.state != State::Received),
        "{record:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_url_errors_are_json_with_a_status() {
    let Some(cloud) = cloud().await else { return };
    function_url_errors_are_json_with_a_status_on(&cloud).await;
    assert_calls_granted(&cloud);
}

async fn function_url_errors_are_json_with_a_status_on(cloud: &Cloud) {
    // The real base64 capture: `<idk/>` with content type `idk`.
    let req = lambda_http::request::from_str(FUNCTION_URL_BASE64).unwrap();
    let router = handoff_api::intake_router(cloud.intake.clone());
    let resp = router.clone().oneshot(req).await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        404,
        "the capture posts to /, which intake does not serve"
    );
    let (status, body) = call(
        router.clone(),
        function_url_request("POST", "/v1/events", "idk", b"<idk/>", true),
    )
    .await;
    assert_eq!(status, 415);
    assert_eq!(body["error"], "unsupported_media_type");
    // Unsigned: refused before anything is read into the store.
    let (status, body) = call(
        router,
        function_url_request(
            "POST",
            "/v1/events",
            "application/json",
            b"{\"type\":\"email_reply\"}",
            false,
        ),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unauthorized");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Handoff-Signature"),
        "{body}"
    );
    // Signed but not an event: 400 naming the problem.
    let (status, body) = intake(cloud, b"{\"type\":\"email_reply\"}", false).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_payload");
}

/// Sends a documented provider payload through the intake function URL, signed as the provider
/// signs it against the URL Lambda reconstructs (`https://<host><path>`); forms and multipart
/// bodies arrive base64-encoded, as function URLs deliver them.
async fn provider_request(
    cloud: &Cloud,
    provider: &str,
    content_type: &str,
    body: Vec<u8>,
    tamper: impl FnOnce(&mut handoff_connectors::RawRequest),
) -> (u16, Value) {
    let p = handoff_connectors::registry::by_name(provider).unwrap();
    let template: Value = serde_json::from_str(FUNCTION_URL_JSON).unwrap();
    let host = template["headers"]["host"].as_str().unwrap().to_string();
    let mut raw = handoff_connectors::RawRequest::post(
        format!("https://{host}{}", p.path()),
        &[("content-type", content_type)],
        body,
    );
    let secret = SECRETS.iter().find(|(n, _)| *n == provider).unwrap().1;
    p.sign(&mut raw, secret, cloud.clock.now());
    tamper(&mut raw);
    let base64 = !content_type.starts_with("application/json");
    let mut request = function_url_request("POST", p.path(), content_type, &raw.body, base64);
    for (k, v) in &raw.headers {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    call(handoff_api::intake_router(cloud.intake.clone()), request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_fixture_through_the_intake_function_url_to_a_notified_handoff() {
    let Some(cloud) = cloud().await else { return };
    every_provider_fixture_through_the_intake_function_url_to_a_notified_handoff_on(&cloud).await;
    assert_calls_granted(&cloud);
}

async fn every_provider_fixture_through_the_intake_function_url_to_a_notified_handoff_on(
    cloud: &Cloud,
) {
    let mut ids: Vec<(&str, HandoffId)> = Vec::new();
    for sample in handoff_connectors::samples::documented() {
        cloud.clock.advance(chrono::Duration::minutes(1));
        let (status, answer) = provider_request(
            cloud,
            sample.provider,
            sample.content_type,
            sample.body,
            |_| {},
        )
        .await;
        assert_eq!(status, 202, "{}: {answer}", sample.file);
        let handoffs = answer["handoffs"].as_array().unwrap();
        assert!(!handoffs.is_empty(), "{}: {answer}", sample.file);
        let opened = handoffs
            .iter()
            .filter(|h| h["duplicate"] != true && h["linked"] != true)
            .count();
        for h in handoffs {
            let id = HandoffId::parse(h["handoff_id"].as_str().unwrap()).unwrap();
            ids.push((sample.file, id));
        }
        // The stage functions as their SQS triggers would run them, on every opened handoff
        // (assign only for those a human takes: a sample whose words are no buying signal is
        // closed by the classify stage).
        for stage in [Stage::Classify, Stage::Assign] {
            let mut wanted = opened;
            if stage == Stage::Assign {
                for h in handoffs
                    .iter()
                    .filter(|h| h["duplicate"] != true && h["linked"] != true)
                {
                    let id = HandoffId::parse(h["handoff_id"].as_str().unwrap()).unwrap();
                    let record = cloud.services.store.get(&id).await.unwrap().unwrap();
                    if record.state == State::ClosedWithoutHandoff {
                        wanted -= 1;
                    }
                }
            }
            let mut done = 0;
            while done < wanted {
                let (event, deliveries) = sqs_batch(&cloud.queue, stage).await;
                assert!(
                    !deliveries.is_empty(),
                    "{}: a {} message",
                    sample.file,
                    stage.as_str()
                );
                done += deliveries.len();
                assert!(run_sqs(cloud, stage, event, &deliveries).await.is_empty());
            }
        }
    }
    assert_eq!(
        ids.iter().filter(|(f, _)| f.starts_with("hubspot")).count(),
        3,
        "one handoff per contact the HubSpot webhooks name"
    );
    let mut automated = 0;
    let mut joined_open: Vec<&str> = Vec::new();
    for (file, id) in &ids {
        let record = cloud.services.store.get(id).await.unwrap().unwrap();
        let events: Vec<String> = cloud
            .services
            .store
            .timeline(id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.event.clone())
            .collect();
        if events.iter().any(|e| e == "closed_without_handoff") {
            assert_eq!(
                record.state,
                State::ClosedWithoutHandoff,
                "{file}: {events:?}"
            );
            automated += 1;
            continue;
        }
        // A sample from a buyer whose handoff an earlier sample opened joins it as a new touch.
        if record.state == State::Attached {
            assert_eq!(events, ["received", "attached"], "{file}");
            let open = record.attached_to.clone().unwrap();
            let open = cloud.services.store.get(&open).await.unwrap().unwrap();
            assert!(open.touches.iter().any(|t| &t.handoff_id == id), "{file}");
            joined_open.push(*file);
            continue;
        }
        assert_eq!(record.state, State::Notified, "{file}: {events:?}");
        let crm = events.iter().position(|e| e == "crm_written").unwrap();
        let notified = events.iter().position(|e| e == "notified").unwrap();
        assert!(crm < notified, "{file}: {events:?}");
    }
    assert!(
        automated <= 2,
        "{automated} of {} samples never reached a rep",
        ids.len()
    );
    // SendGrid's three documented payloads are mails of one sender (test@example.com): the
    // first opens a handoff, the other two join it.
    assert_eq!(
        joined_open,
        [
            "sendgrid_inbound_parse_raw_data.multipart.txt",
            "sendgrid_inbound_parse_raw_data_with_attachments.multipart.txt"
        ]
    );
    // Calendly's no-show and cancellation joined the booking's handoff (same buyer).
    let booking = &ids
        .iter()
        .find(|(f, _)| *f == "calendly_invitee_created.json")
        .unwrap()
        .1;
    for joined in [
        "calendly_invitee_no_show_created.json",
        "calendly_invitee_canceled.json",
    ] {
        assert_eq!(&ids.iter().find(|(f, _)| *f == joined).unwrap().1, booking);
    }

    // Refused: tampered, wrong secret, expired; and a replayed Mailgun token. Nothing stored.
    let before = cloud
        .services
        .store
        .by_contact(
            &handoff_domain::ids::EmailAddress::parse("laura@example.com").unwrap(),
            10,
        )
        .await
        .unwrap()
        .len();
    let typeform = handoff_connectors::samples::documented().remove(0);
    let mut changed: Value = serde_json::from_slice(&typeform.body).unwrap();
    changed["event_id"] = json!("e2e-tampered");
    let (status, body) = provider_request(
        cloud,
        "typeform",
        "application/json",
        typeform.body.clone(),
        |r| {
            r.body = serde_json::to_vec(&changed).unwrap();
        },
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = provider_request(
        cloud,
        "typeform",
        "application/json",
        serde_json::to_vec(&changed).unwrap(),
        |r| {
            r.set_header("typeform-signature", "sha256=AAAA");
        },
    )
    .await;
    assert_eq!(status, 401);
    let calendly = handoff_connectors::samples::documented()
        .into_iter()
        .find(|s| s.provider == "calendly")
        .unwrap();
    cloud.clock.advance(chrono::Duration::minutes(5));
    let stale = handoff_connectors::signature::TimestampedSignature::sign(
        b"e2e-calendly-signing-key",
        (cloud.clock.now() - chrono::Duration::minutes(4)).timestamp(),
        &calendly.body,
    );
    let (status, body) =
        provider_request(cloud, "calendly", "application/json", calendly.body, |r| {
            r.set_header("calendly-webhook-signature", stale);
        })
        .await;
    assert_eq!(status, 401, "{body}");
    let mailgun = handoff_connectors::samples::documented()
        .into_iter()
        .find(|s| s.provider == "mailgun")
        .unwrap();
    let mut first = None;
    for attempt in 0..2 {
        let (status, body) = provider_request(
            cloud,
            "mailgun",
            mailgun.content_type,
            mailgun.body.clone(),
            |r| {
                // Both attempts carry the very same signed fields.
                match &first {
                    None => first = Some(r.body.clone()),
                    Some(b) => r.body = b.clone(),
                }
            },
        )
        .await;
        if attempt == 0 {
            // The message id was already taken above: a fresh token, a duplicate event.
            assert_eq!(status, 202, "{body}");
        } else {
            assert_eq!(status, 401, "a replayed token: {body}");
        }
    }
    assert_eq!(
        cloud
            .services
            .store
            .by_contact(
                &handoff_domain::ids::EmailAddress::parse("laura@example.com").unwrap(),
                10
            )
            .await
            .unwrap()
            .len(),
        before
    );
}

/// An agent's event from the examples with its own provider event id, received at `at`.
fn example_event(json: &str, provider_event_id: &str, at: DateTime<Utc>) -> Vec<u8> {
    let mut e: Value = serde_json::from_str(json).unwrap();
    e["provider_event_id"] = json!(provider_event_id);
    e["received_at"] = json!(at);
    e.to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_event_of_the_same_buyer_joins_the_open_handoff() {
    let Some(cloud) = cloud().await else { return };
    a_later_event_of_the_same_buyer_joins_the_open_handoff_on(&cloud).await;
    assert_calls_granted(&cloud);
}

/// One open handoff per buyer on DynamoDB and SQS: Dana answers the outbound sequence, the
/// handoff reaches its owner; eighteen minutes later she fills in the web form. The form's event
/// joins the open handoff (channel switch, a tighter deadline): still one HubSpot contact, note
/// and task (its due date moved), the owner told twice, one unit of their cap, and a replay of
/// the form or of the stage batches changes nothing.
async fn a_later_event_of_the_same_buyer_joins_the_open_handoff_on(cloud: &Cloud) {
    const REPLY: &str = include_str!("../../examples/events/03-positive-reply.json");
    const FORM: &str = include_str!("../../examples/events/09-channel-switch-form.json");
    const DANA: &str = "dana.whitfield@harborview.io";
    let (status, receipt) = intake(
        cloud,
        &example_event(REPLY, "e2e-join-reply", cloud.clock.now()),
        false,
    )
    .await;
    assert_eq!(status, 202, "{receipt}");
    let open = HandoffId::parse(receipt["handoff_id"].as_str().unwrap()).unwrap();
    drive_to_notified(cloud, &open).await;
    let before = cloud.services.store.get(&open).await.unwrap().unwrap();
    let owner = before.owner.clone().unwrap().rep.unwrap();

    cloud.clock.advance(chrono::Duration::minutes(18));
    let form_body = example_event(FORM, "e2e-join-form", cloud.clock.now());
    let (status, receipt) = intake(cloud, &form_body, false).await;
    assert_eq!(status, 202, "{receipt}");
    let form = HandoffId::parse(receipt["handoff_id"].as_str().unwrap()).unwrap();
    assert_ne!(form, open);
    // The classify and assign functions as their SQS triggers run them, each batch twice.
    for stage in [Stage::Classify, Stage::Assign] {
        // (The assign queue may still hold the duplicate a replayed classify batch sent above.)
        let (event, deliveries) = sqs_batch(&cloud.queue, stage).await;
        assert!(!deliveries.is_empty(), "a {} message", stage.as_str());
        assert!(run_sqs(cloud, stage, event.clone(), &deliveries)
            .await
            .is_empty());
        let version = cloud
            .services
            .store
            .get(&open)
            .await
            .unwrap()
            .unwrap()
            .version;
        let again = sqs::handle_batch(cloud.stage(stage), stage, event).await;
        assert!(again.batch_item_failures.is_empty());
        assert_eq!(
            cloud
                .services
                .store
                .get(&open)
                .await
                .unwrap()
                .unwrap()
                .version,
            version,
            "a replayed {} batch changed the handoff",
            stage.as_str()
        );
    }

    let joined = cloud.services.store.get(&form).await.unwrap().unwrap();
    assert_eq!(joined.state, State::Attached);
    assert_eq!(joined.attached_to.as_ref(), Some(&open));
    let record = cloud.services.store.get(&open).await.unwrap().unwrap();
    assert_eq!(record.state, State::Notified);
    assert_eq!(record.touches.len(), 1);
    let told = record.touches[0].told.clone().unwrap_or_default();
    assert!(
        told.starts_with("slack:") || told.starts_with("email:"),
        "the owner was told where they work: {told}"
    );
    let classification = record.classification.clone().unwrap();
    assert!(classification.has_flag(handoff_domain::package::RiskFlag::ChannelSwitch));
    let sla = record.sla.clone().unwrap();
    assert!(
        sla.deadline < before.sla.clone().unwrap().deadline,
        "{sla:?}"
    );
    let events: Vec<String> = cloud
        .services
        .store
        .timeline(&open)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(
        events.ends_with(&[
            "new_touch".to_string(),
            // The assign function takes the handoff up (its lease for the outside calls).
            "taken_up".to_string(),
            // The touch's note in HubSpot, then the task's due date.
            "crm_progress".to_string(),
            "crm_synced".to_string(),
            "owner_told_of_touch".to_string()
        ]),
        "{events:?}"
    );

    // HubSpot: one contact, one package note, one task, its due date moved to the new deadline,
    // and one note saying what the new touch brought; nothing for the form's own record.
    let seen = cloud.hubspot.seen(&open);
    assert_eq!(
        (seen.packages, seen.tasks, seen.change_notes),
        (1, 1, 1),
        "{seen:?}"
    );
    let touch_note = cloud
        .hubspot
        .notes_for(DANA)
        .into_iter()
        .filter_map(|n| n.property("hs_note_body").map(str::to_string))
        .find(|b| b.contains("New touch:"))
        .expect("a note for the new touch");
    assert!(touch_note.contains("channel switch"), "{touch_note}");
    let nothing = cloud.hubspot.seen(&form);
    assert_eq!((nothing.packages, nothing.tasks), (0, 0), "{nothing:?}");
    let tasks = cloud.hubspot.tasks_for(DANA);
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].property("hs_timestamp"),
        Some(
            sla.deadline
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .as_str()
        )
    );
    // The owner heard twice: assigned, then the news (on Slack after the HubSpot update).
    if told.starts_with("slack:") {
        assert_eq!(cloud.slack.deliveries_for(open.as_str()), 2);
        let calls = cloud.calls.calls();
        let last_hubspot = calls
            .iter()
            .rposition(|c| c.starts_with("hubspot "))
            .unwrap();
        let last_slack = calls.iter().rposition(|c| c.starts_with("slack ")).unwrap();
        assert!(last_hubspot < last_slack, "CRM before the news: {calls:?}");
    }
    assert_eq!(cloud.slack.deliveries_for(form.as_str()), 0);
    // One unit of the owner's daily cap.
    let rules = cloud.services.rules.current().await.unwrap();
    let tz = rules.rep(&owner).unwrap().timezone;
    let day = cloud.clock.now().with_timezone(&tz).date_naive();
    assert_eq!(cloud.services.store.rep_load(&owner, day).await.unwrap(), 1);

    // The provider delivers the form again: a duplicate, nothing enqueued, nothing changed.
    let (status, again) = intake(cloud, &form_body, false).await;
    assert_eq!(status, 202);
    assert_eq!(again["duplicate"], true);
    for stage in Stage::ALL {
        let left = cloud
            .queue
            .receive(stage, 10, Duration::from_secs(1))
            .await
            .unwrap();
        for d in &left {
            // Duplicates a replayed batch sent: each must be a no-op.
            assert!(
                d.body.contains(open.as_str()),
                "{}: {}",
                stage.as_str(),
                d.body
            );
            assert!(matches!(
                cloud.stage(stage).handle_message(stage, &d.body).await,
                handoff_domain::service::delivery::Disposition::Ack(_)
            ));
        }
    }
    assert_eq!(
        cloud
            .services
            .store
            .get(&open)
            .await
            .unwrap()
            .unwrap()
            .version,
        record.version
    );
}

/// Every scenario, each on a fresh stack: then every action a role grants must have been called
/// by its function, except what AWS calls with the role on the function's behalf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_in_the_template_is_used() {
    let mut all: BTreeMap<Function, BTreeSet<Call>> = BTreeMap::new();
    let mut last = None;
    for scenario in 0..5 {
        let Some(cloud) = cloud().await else { return };
        match scenario {
            0 => function_url_to_accepted_through_every_handler_on(&cloud).await,
            1 => unclaimed_handoff_is_rerouted_by_the_scheduled_failover_on(&cloud).await,
            2 => a_poison_message_goes_to_the_dlq_without_failing_its_batch_on(&cloud).await,
            3 => function_url_errors_are_json_with_a_status_on(&cloud).await,
            _ => {
                every_provider_fixture_through_the_intake_function_url_to_a_notified_handoff_on(
                    &cloud,
                )
                .await
            }
        }
        for (f, r) in &cloud.recorded {
            all.entry(*f).or_default().extend(r.calls());
        }
        all.entry(Function::Audit)
            .or_default()
            .extend(cloud.audit_s3.calls());
        last = Some(cloud);
    }
    let cloud = last.expect("a stack");
    let mut unused = Vec::new();
    for function in Function::ALL {
        let calls = all.get(&function).cloned().unwrap_or_default();
        let called: BTreeSet<&str> = calls.iter().map(|c| c.action.as_str()).collect();
        let role = role_of(&cloud.template, function);
        for statement in cloud.template.role_statements(&role) {
            for action in &statement.actions {
                if called_by_aws(function, action).is_some()
                    || NOT_REACHED_HERE
                        .iter()
                        .any(|(f, a, _)| *f == function && a == action)
                {
                    continue;
                }
                let used = called.iter().any(|c| glob(action, c))
                    // Secrets Manager checks GetSecretValue on every secret a batch returns.
                    || (action == "secretsmanager:GetSecretValue"
                        && called.contains("secretsmanager:BatchGetSecretValue"));
                if !used {
                    unused.push(format!(
                        "{role} ({}) grants {action} (Sid {}) but {} never calls it",
                        function.name(),
                        statement.sid,
                        function.name()
                    ));
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "grants nobody uses:\n  {}",
        unused.join("\n  ")
    );
}

/// Grants whose calls these scenarios do not reach, and where each call is exercised instead.
/// Keep this list short: every entry is a path the least-privilege check cannot see.
const NOT_REACHED_HERE: &[(Function, &str, &str)] = &[
    (
        Function::Intake,
        "dynamodb:DeleteItem",
        "OnceTokens::release: frees a Mailgun token when storing its event failed, so the \
         provider's retry is accepted (a fault path; shared/aws tests run it on the emulator)",
    ),
    (
        Function::Intake,
        "dynamodb:UpdateItem",
        "a Slack 'wrong owner' click reroutes through the same claim use case as the claim \
         function, whose UpdateItem the failover scenario reaches; the Slack route itself is \
         tested in shared/api/tests/slack_actions.rs",
    ),
];

/// Why AWS, not the function's code, uses `action` with `function`'s role (`None`: the code must).
fn called_by_aws(function: Function, action: &str) -> Option<&'static str> {
    let service = action.split(':').next().unwrap_or_default();
    match service {
        "logs" => return Some("Lambda writes the function's logs with its role"),
        "xray" => return Some("Lambda sends the invocation's trace segments (Tracing: Active)"),
        "kms" => return Some("DynamoDB, SQS, Secrets Manager and Logs use the key for the caller"),
        _ => {}
    }
    let polled = matches!(function, Function::Classify | Function::Assign);
    let polling = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    ];
    (polled && polling.contains(&action))
        .then_some("the SQS event source mapping polls and deletes with the function's role")
}

fn role_of(template: &Template, function: Function) -> String {
    template
        .functions()
        .into_iter()
        .find(|f| f.binary == function.name())
        .map(|f| f.role)
        .expect("the function is in the template")
}

/// Every AWS call each function made is granted to its role, on the resource it named.
fn assert_calls_granted(cloud: &Cloud) {
    let mut refused = Vec::new();
    for (function, recorder) in &cloud.recorded {
        let role = role_of(&cloud.template, *function);
        let statements = cloud.template.role_statements(&role);
        let mut calls = recorder.calls();
        if *function == Function::Audit {
            calls.extend(cloud.audit_s3.calls());
        }
        for call in calls {
            let grants: Vec<Vec<String>> = statements
                .iter()
                .filter(|s| s.actions.iter().any(|a| glob(a, &call.action)))
                .map(|s| {
                    s.resources
                        .iter()
                        .flat_map(|r| cloud.resolver.list(&cloud.template, r))
                        .collect()
                })
                .collect();
            if grants.is_empty() {
                refused.push(format!(
                    "{} calls {} but {role} does not grant it",
                    function.name(),
                    call.action
                ));
                continue;
            }
            let Some(arn) = resource_arn(&call) else {
                continue;
            };
            let covered = |action: &str| {
                statements
                    .iter()
                    .filter(|s| s.actions.iter().any(|a| glob(a, action)))
                    .flat_map(|s| s.resources.iter())
                    .flat_map(|r| cloud.resolver.list(&cloud.template, r))
                    .any(|pattern| glob(&pattern, &arn))
            };
            let action = if call.action == "secretsmanager:BatchGetSecretValue" {
                // Batch reads have no resource; each secret they return needs GetSecretValue.
                "secretsmanager:GetSecretValue"
            } else {
                call.action.as_str()
            };
            if !covered(action) {
                refused.push(format!(
                    "{} calls {} on {arn} but {role} grants {action} only on {:?}",
                    function.name(),
                    call.action,
                    grants
                ));
            }
        }
    }
    assert!(
        refused.is_empty(),
        "calls the template does not allow:\n  {}",
        refused.join("\n  ")
    );
}

/// The ARN a call acts on, for the calls whose policies name a resource: the queue of an SQS
/// call, the secret of a Secrets Manager read (on the emulator's account and region).
fn resource_arn(call: &Call) -> Option<String> {
    let resource = call.resource.as_deref()?;
    let service = call.action.split(':').next()?;
    match service {
        "sqs" => Some(format!(
            "arn:aws:sqs:us-east-1:123456789012:{}",
            resource.rsplit('/').next().unwrap_or(resource)
        )),
        "secretsmanager" if resource.starts_with("arn:") => Some(resource.to_string()),
        // A secret named without its ARN: Secrets Manager ARNs end in -<6 random characters>.
        "secretsmanager" => Some(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{resource}-AbCdEf"
        )),
        // The object's ARN (the report bucket's audits/… keys).
        "s3" => Some(resource.to_string()),
        _ => None,
    }
}
