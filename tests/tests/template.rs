//! The template and the code agree (no emulator needed): every function binary is deployed, each
//! function gets exactly the variables it reads, no variable holds a secret, and the scheduled
//! functions' input is the event they parse. The least-privilege half — every AWS call a
//! function makes is granted to its role, and every grant is used — is checked against the calls
//! recorded on the emulator, in `aws_pipeline.rs`.

mod support;

use handoff_lambda::env::Vars;
use handoff_lambda::schedule::AuditPublishing;
use handoff_lambda::wiring::{Function, FunctionConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use support::template::{intrinsic, Resolver, Template};

/// Variables a function may read without the template setting them: each has a documented
/// default that is right in the cloud.
const OPTIONAL: &[(&str, &str)] = &[(
    "HANDOFF_HUBSPOT_API_URL",
    "HubSpot's API base; the default https://api.hubapi.com is the real one (tests point it at a stand-in)",
)];

/// Variables the template sets that `FunctionConfig` does not read, and who reads them.
const READ_ELSEWHERE: &[(&str, &str)] = &[(
    "HANDOFF_STAGE",
    "shared/lambda/src/metrics.rs: the stage dimension of every metric",
)];

fn function_of(binary: &str) -> Function {
    *Function::ALL
        .iter()
        .find(|f| f.name() == binary)
        .unwrap_or_else(|| panic!("the template deploys {binary}, which is not a Function"))
}

#[test]
fn every_function_binary_is_deployed_once() {
    let template = Template::load();
    let deployed: Vec<String> = template
        .functions()
        .iter()
        .map(|f| f.binary.clone())
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let mut binaries: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    binaries.sort();
    let mut sorted = deployed.clone();
    sorted.sort();
    assert_eq!(
        sorted, binaries,
        "functions/ and the template's CodeUri dirs"
    );
    let known: Vec<String> = {
        let mut v: Vec<String> = Function::ALL.iter().map(|f| f.name().to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(sorted, known, "wiring::Function::ALL and the template");
    for f in template.functions() {
        assert_eq!(
            f.properties["CodeUri"].as_str(),
            Some(format!("../target/lambda/{}/", f.binary).as_str()),
            "{}: CodeUri is what scripts/build-lambdas.sh builds",
            f.logical_id
        );
        assert_eq!(
            f.properties["LoggingConfig"]["LogFormat"].as_str(),
            Some("JSON"),
            "{}: JSON logs",
            f.logical_id
        );
    }
}

#[test]
fn each_function_gets_exactly_the_variables_it_reads() {
    let template = Template::load();
    let resolver = Resolver::new(&template);
    for f in template.functions() {
        let function = function_of(&f.binary);
        let env: BTreeMap<String, String> = f
            .env
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), resolver.resolve(&template, v)?)))
            .collect();
        let asked = Mutex::new(BTreeSet::new());
        let vars = Vars::from_fn(|name| {
            asked.lock().unwrap().insert(name.to_string());
            env.get(name).cloned()
        });
        // The template's environment is enough to start the function.
        let config = FunctionConfig::from_vars(function, &vars)
            .unwrap_or_else(|e| panic!("{}: {e:#}", f.logical_id));
        // The audit also reads where its report and summary go.
        if function == Function::Audit {
            let publishing = AuditPublishing::from_vars(&vars);
            assert!(
                publishing.bucket.is_some() && publishing.secrets_prefix.is_some(),
                "{}: the report bucket and the secrets prefix are set: {publishing:?}",
                f.logical_id
            );
        }
        assert!(
            config.queue_urls.is_some(),
            "{}: the queue URLs are set, so no GetQueueUrl at cold start",
            f.logical_id
        );
        drop(vars);
        let asked = asked.into_inner().unwrap();
        for name in &asked {
            assert!(
                env.contains_key(name) || OPTIONAL.iter().any(|(o, _)| o == name),
                "{} reads {name}, which the template does not set for it",
                f.logical_id
            );
        }
        for name in env.keys().filter(|k| k.starts_with("HANDOFF_")) {
            assert!(
                asked.contains(name) || READ_ELSEWHERE.iter().any(|(o, _)| o == name),
                "the template sets {name} for {}, which never reads it",
                f.logical_id
            );
        }
    }
}

#[test]
fn variables_read_elsewhere_are_really_read_there() {
    for (name, reader) in READ_ELSEWHERE {
        let path = reader.split(':').next().unwrap();
        let source =
            std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(
            source.contains(&format!("\"{name}\"")),
            "{path} reads {name}"
        );
    }
}

#[test]
fn every_variable_the_lambda_crate_names_is_accounted_for() {
    // A `HANDOFF_…` literal read outside FunctionConfig would escape the check above.
    let template = Template::load();
    let set: BTreeSet<String> = template
        .functions()
        .iter()
        .flat_map(|f| f.env.keys().cloned())
        .chain(OPTIONAL.iter().map(|(n, _)| n.to_string()))
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/lambda/src");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        for (i, _) in source.match_indices("\"HANDOFF_") {
            let name: String = source[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if source[i + 1 + name.len()..].starts_with('{') || name.ends_with('_') {
                continue; // a format string such as HANDOFF_{name}_QUEUE_URL
            }
            assert!(
                set.contains(&name),
                "{} names {name}, which no function gets from the template",
                path.display()
            );
        }
    }
}

#[test]
fn no_function_variable_holds_a_secret() {
    let template = Template::load();
    for f in template.functions() {
        for (name, value) in &f.env {
            let raw = format!("{value:?}");
            assert!(
                !raw.contains("resolve:secretsmanager") && !raw.contains("resolve:ssm-secure"),
                "{}: {name} resolves a secret into the function configuration",
                f.logical_id
            );
            let upper = name.to_ascii_uppercase();
            let secretish = ["SECRET", "TOKEN", "PASSWORD", "KEY"]
                .iter()
                .any(|w| upper.contains(w));
            let allowed = upper.ends_with("_SECRET_ID")
                || upper.ends_with("_SECRETS_PREFIX")
                || upper.ends_with("_SECRETS_TTL_SECS");
            assert!(
                !secretish || allowed,
                "{}: {name} looks like a secret in a plain environment variable",
                f.logical_id
            );
        }
    }
}

#[test]
fn scheduled_functions_parse_what_the_scheduler_sends() {
    use aws_lambda_events::event::eventbridge::EventBridgeEvent;
    let template = Template::load();
    let resolver = Resolver::new(&template);
    let mut schedules = 0;
    for f in template.functions() {
        for (_, event) in f.properties["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() != Some("ScheduleV2") {
                assert_ne!(
                    event["Type"].as_str(),
                    Some("Schedule"),
                    "{}: schedules use EventBridge Scheduler (ScheduleV2)",
                    f.logical_id
                );
                continue;
            }
            schedules += 1;
            let props = &event["Properties"];
            let input = resolver
                .resolve(&template, &props["Input"])
                .unwrap_or_else(|| panic!("{}: a ScheduleV2 Input", f.logical_id));
            let input = input
                .replace(
                    "<aws.scheduler.execution-id>",
                    "5e4b7c2a-0000-4000-8000-000000000000",
                )
                .replace("<aws.scheduler.scheduled-time>", "2026-11-23T07:00:00Z")
                .replace(
                    "<aws.scheduler.schedule-arn>",
                    "arn:aws:scheduler:us-east-1:123456789012:schedule/default/x",
                )
                .replace("<aws.scheduler.attempt-number>", "1");
            let parsed: EventBridgeEvent = serde_json::from_str(&input)
                .unwrap_or_else(|e| panic!("{}: Input {input} is not an event: {e}", f.logical_id));
            assert_eq!(
                parsed.time.map(|t| t.to_rfc3339()),
                Some("2026-11-23T07:00:00+00:00".to_string()),
                "{}: the audit window ends at the scheduled time",
                f.logical_id
            );
            assert!(
                !props["DeadLetterConfig"].is_null(),
                "{}: a failed scheduled invocation lands in a dead-letter queue",
                f.logical_id
            );
            assert!(
                intrinsic(&props["Input"]).is_some() || props["Input"].is_string(),
                "{}: Input",
                f.logical_id
            );
        }
    }
    assert_eq!(schedules, 2, "the sweep and the weekly audit");
}

/// The second opinion is opt-in: without `JudgeModelId` no role may call Bedrock; with it,
/// classify alone may invoke that one foundation model (the action and resource the judge's
/// recorded `Converse` needs: `bedrock:InvokeModel` on the model id, see
/// `shared/aws/tests/judge_bedrock.rs`) and count its daily calls, and its timeout and queue
/// visibility grow together.
#[test]
fn the_judge_may_call_one_model_only_when_the_operator_opts_in() {
    const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
    let template = Template::load();
    let off = Resolver::new(&template);
    assert_eq!(off.params["JudgeModelId"], "", "off by default");
    let mut on = off.clone();
    on.params.insert("JudgeModelId".into(), MODEL.into());

    // (Sid, Action, resolved Resource) of the conditional statements of a role, for `resolver`.
    let judge_statements = |role: &str, resolver: &Resolver| -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for s in template.raw_statements(role) {
            let Some(("If", arg)) = intrinsic(s) else {
                continue;
            };
            let p = arg.as_sequence().unwrap();
            if p[0].as_str() != Some("HasJudgeModel") {
                continue;
            }
            let branch = if resolver.condition(&template, "HasJudgeModel") {
                &p[1]
            } else {
                &p[2]
            };
            if intrinsic(branch).is_some() {
                continue; // AWS::NoValue
            }
            out.push((
                branch["Sid"].as_str().unwrap().to_string(),
                branch["Action"].as_str().unwrap().to_string(),
                resolver.resolve(&template, &branch["Resource"]).unwrap(),
            ));
        }
        out
    };
    let roles: Vec<String> = template
        .resources()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::Role"))
        .map(|(id, _)| id)
        .collect();
    for role in &roles {
        assert!(
            judge_statements(role, &off).is_empty(),
            "{role} without JudgeModelId"
        );
        let text = format!("{:?}", template.resource(role));
        if role != "ClassifyRole" {
            assert!(!text.contains("bedrock"), "{role} never calls Bedrock");
        }
    }
    let granted = judge_statements("ClassifyRole", &on);
    assert_eq!(
        granted,
        [
            (
                "JudgeInvokeModel".to_string(),
                "bedrock:InvokeModel".to_string(),
                format!("arn:aws:bedrock:us-east-1::foundation-model/{MODEL}")
            ),
            (
                "JudgeDailyCount".to_string(),
                "dynamodb:UpdateItem".to_string(),
                "<Table.Arn>".to_string()
            ),
        ]
    );

    let classify = template
        .functions()
        .into_iter()
        .find(|f| f.binary == "classify")
        .unwrap();
    let queue = &template.resource("ClassifyQueue")["Properties"]["VisibilityTimeout"];
    for (resolver, timeout) in [(&off, "30"), (&on, "60")] {
        let t = resolver
            .resolve(&template, &classify.properties["Timeout"])
            .unwrap();
        assert_eq!(t, timeout);
        let visibility: u32 = resolver.resolve(&template, queue).unwrap().parse().unwrap();
        assert_eq!(
            visibility,
            6 * t.parse::<u32>().unwrap(),
            "visibility 6 x the timeout"
        );
    }
    // A batch whose every message waits the longest judge timeout still fits the timeout.
    let batch = classify.properties["Events"]["ClassifyQueue"]["Properties"]["BatchSize"]
        .as_u64()
        .unwrap();
    let with_judge: u64 = on
        .resolve(&template, &classify.properties["Timeout"])
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        batch * handoff_domain::config::JUDGE_TIMEOUT_MAX_MS < with_judge * 1000,
        "{batch} judged messages of {} ms each within {with_judge} s",
        handoff_domain::config::JUDGE_TIMEOUT_MAX_MS
    );
}

/// The audit reports' bucket is private and encrypted, expires its reports, and the audit role
/// may write and read there under audits/ only (and no other role touches S3).
#[test]
fn the_audit_report_bucket_is_private_and_only_the_audit_writes_there() {
    let template = Template::load();
    let bucket = template.resource("AuditReportBucket");
    let p = &bucket["Properties"];
    let block = &p["PublicAccessBlockConfiguration"];
    for key in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[key].as_bool(), Some(true), "{key}");
    }
    assert!(
        !p["BucketEncryption"]["ServerSideEncryptionConfiguration"].is_null(),
        "encrypted"
    );
    let rules = p["LifecycleConfiguration"]["Rules"].as_sequence().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["Prefix"].as_str() == Some("audits/") && !r["ExpirationInDays"].is_null()),
        "reports expire"
    );
    assert_eq!(
        p["OwnershipControls"]["Rules"][0]["ObjectOwnership"].as_str(),
        Some("BucketOwnerEnforced")
    );
    let policy = format!("{:?}", template.resource("AuditReportBucketPolicy"));
    assert!(policy.contains("aws:SecureTransport"), "TLS only");

    let resolver = Resolver::new(&template);
    let s3: Vec<(String, Vec<String>)> = template
        .role_statements("AuditRole")
        .into_iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("s3:")))
        .map(|s| {
            (
                s.actions.join(","),
                s.resources
                    .iter()
                    .flat_map(|r| resolver.list(&template, r))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        s3,
        [(
            "s3:PutObject,s3:GetObject".to_string(),
            vec!["<AuditReportBucket.Arn>/audits/*".to_string()]
        )]
    );
    let roles: Vec<String> = template
        .resources()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::Role"))
        .map(|(id, _)| id)
        .collect();
    for role in roles.iter().filter(|r| *r != "AuditRole") {
        let text = format!("{:?}", template.resource(role));
        assert!(!text.contains("s3:"), "{role} never calls S3");
    }
    let audit = template
        .functions()
        .into_iter()
        .find(|f| f.binary == "audit")
        .unwrap();
    assert!(audit.env.contains_key("HANDOFF_AUDIT_BUCKET"));
}
