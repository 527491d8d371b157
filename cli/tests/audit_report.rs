//! `handoff audit --since … --json FILE --html FILE` (the real binary) on a data directory that
//! went through the pipeline: an inbound lead accepted after 12 minutes, an outbound reply whose
//! owner says "wrong owner", and one nobody touches. The JSON has the figures inbound and
//! outbound side by side, and every figure of the JSON is in the page.

mod support;
use support::open;

use chrono::Utc;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{EmailAddress, HandoffId, ProviderEventId};
use handoff_domain::ports::ManualClock;
use handoff_report::audit::figures_in_json;
use serde_json::json;
use std::process::Command;
use std::sync::Arc;

fn event(example: &str, event_id: &str, email: &str) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(example).unwrap();
    e.provider_event_id = ProviderEventId::parse(event_id).unwrap();
    e.kind.buyer_mut().email = EmailAddress::parse(email).unwrap();
    e
}

const POSITIVE_REPLY: &str = include_str!("../../examples/events/03-positive-reply.json");
const INBOUND_LEAD: &str = include_str!("../../examples/events/02-ai-qualified-lead.json");

fn handoff(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .output()
        .expect("run handoff");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_writes_json_and_a_page_with_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // Two hours ago, so that `--since 1d` (wall clock) covers the handoffs.
    let clock = Arc::new(ManualClock::new(Utc::now() - chrono::Duration::hours(2)));
    let ids: Vec<HandoffId> = {
        let pipeline = open(dir.path(), clock.clone()).await;
        let s = &pipeline.services;
        let mut ids = Vec::new();
        for (example, event_id, email) in [
            (INBOUND_LEAD, "report-in", "sam@peakfreight.com"),
            (POSITIVE_REPLY, "report-out-1", "dana@harborview.io"),
            (POSITIVE_REPLY, "report-out-2", "lee@northwind.io"),
        ] {
            ids.push(
                s.intake(event(example, event_id, email))
                    .await
                    .unwrap()
                    .handoff_id,
            );
        }
        pipeline.drain().await.unwrap();
        for (id, wait, action) in [
            (&ids[0], 12, ClaimAction::Accept),
            (&ids[1], 8, ClaimAction::WrongOwner),
        ] {
            clock.advance(chrono::Duration::minutes(wait));
            let record = s.store.get(id).await.unwrap().unwrap();
            let rep = record.owner.and_then(|o| o.rep).expect("a rep owns it");
            s.claim(id, &rep, action).await.unwrap();
        }
        pipeline.drain().await.unwrap();
        ids
    };

    let json_path = dir.path().join("report.json");
    let html_path = dir.path().join("report.html");
    let (stdout, _) = handoff(&[
        "audit",
        "--data",
        data,
        "--since",
        "1d",
        "--json",
        json_path.to_str().unwrap(),
        "--html",
        html_path.to_str().unwrap(),
        "--console-url",
        "http://127.0.0.1:8080",
    ]);
    assert!(stdout.starts_with("wrote "), "{stdout}");
    assert!(stdout.contains("3 handoffs"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let html = std::fs::read_to_string(&html_path).unwrap();

    // Inbound and outbound side by side.
    let pick = |f: &serde_json::Value| {
        json!([
            f["handoffs"],
            f["owned"],
            f["accepted"],
            f["acceptance_rate"],
            f["wrong_owner_rate"]
        ])
    };
    assert_eq!(
        pick(&report["inbound"]),
        json!([1, 1, 1, 1.0, 0.0]),
        "{report}"
    );
    assert_eq!(
        pick(&report["outbound"]),
        json!([2, 2, 0, 0.0, 0.5]),
        "{report}"
    );
    assert_eq!(report["handoffs"], 3);
    assert_eq!(report["inbound"]["time_to_first_human_action"]["p50"], 12.0);
    assert_eq!(report["overall"]["time_to_first_human_action"]["count"], 2);
    // The rest waited: one no-follow-up of three owned.
    assert_eq!(report["no_follow_up_rate"], json!(1.0 / 3.0));
    // Every owned handoff is in one rule's row; the trend's period is the day before.
    let per_rule: u64 = report["per_rule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["handoffs"].as_u64().unwrap())
        .sum();
    assert_eq!(per_rule, 3, "{report}");
    assert_eq!(report["previous_period"]["overall"]["handoffs"], 0);
    let received: u64 = report["per_rep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["received"].as_u64().unwrap())
        .sum();
    assert_eq!(received, 4, "three assignments and one reroute: {report}");

    // The page is the same report.
    let missing: Vec<String> = figures_in_json(&report)
        .into_iter()
        .filter(|(path, text)| !html.contains(&format!("data-figure=\"{path}\">{text}<")))
        .map(|(path, text)| format!("{path} = {text}"))
        .collect();
    assert!(
        missing.is_empty(),
        "not in the page:\n{}",
        missing.join("\n")
    );
    let cases = report["messy_cases"].as_array().unwrap();
    assert!(
        !cases.is_empty(),
        "the example replies need confirmation: {report}"
    );
    for case in cases {
        let id = case["handoff_id"].as_str().unwrap();
        assert!(
            ids.iter().any(|h| h.to_string() == id),
            "{id} is one of ours"
        );
        assert!(
            html.contains(&format!("href=\"http://127.0.0.1:8080/handoffs/{id}\"")),
            "{id}"
        );
    }

    // Without files, the JSON goes to stdout, as before; --days is still understood.
    let (stdout, _) = handoff(&["audit", "--data", data, "--days", "1"]);
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["inbound"]["handoffs"], 1);
}

#[test]
fn a_bad_period_and_aws_flags_without_a_table_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(["audit", "--since", "seven days"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a period"));
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args([
            "audit",
            "--data",
            dir.path().to_str().unwrap(),
            "--since",
            "1d",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no local store"));
}
