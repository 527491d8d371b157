//! `handoff dlq list|show|redrive` on a local data directory: poison and a handoff whose
//! message failed end in the dead-letter queues with their reasons; `list` and `show` say so in
//! prose; `redrive --id` moves back only that handoff's dead letter, which the pipeline then
//! works to the end.

mod support;

use chrono::{TimeZone, Utc};
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::ProviderEventId;
use handoff_domain::lifecycle::State;
use handoff_domain::ports::{ManualClock, Stage, StageQueue};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn handoff(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .output()
        .expect("run handoff");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn event() -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(include_str!(
        "../../examples/events/02-ai-qualified-lead.json"
    ))
    .unwrap();
    e.provider_event_id = ProviderEventId::parse("dlq-cli-1").unwrap();
    e
}

fn data(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_shown_and_redriven_by_handoff() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ));
    let pipeline = support::open(dir.path(), clock).await;
    let d = data(dir.path());

    // Nothing yet.
    let (ok, out, err) = handoff(&["dlq", "list", "--data", d]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!("no dead letters in the local queues in {d} (classify and assign stages)\n")
    );

    // A poison body, and a real handoff whose classify message is dead-lettered as if the
    // store had failed for good.
    pipeline
        .queue
        .send_raw(Stage::Classify, "definitely not json")
        .await
        .unwrap();
    let id = pipeline.services.intake(event()).await.unwrap().handoff_id;
    let deliveries = pipeline
        .queue
        .receive(Stage::Classify, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 2);
    for delivery in &deliveries {
        let reason = if delivery.body.contains(id.as_str()) {
            "store unavailable: disk full"
        } else {
            "unreadable stage message: expected value at line 1 column 1"
        };
        pipeline
            .queue
            .dead_letter(Stage::Classify, delivery, reason)
            .await
            .unwrap();
    }

    let (ok, out, err) = handoff(&["dlq", "list", "--data", d]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("2 dead letters in the local queues in {d} (classify 2, assign 0):"),
        "{out}"
    );
    let real = lines
        .iter()
        .find(|l| l.contains(id.as_str()))
        .unwrap_or_else(|| panic!("a line for {id}: {out}"));
    assert!(
        real.starts_with(&format!("  classify  handoff {id}  dead-lettered ")),
        "{real}"
    );
    assert!(
        real.contains(" after 1 receive  id ") && real.ends_with("  store unavailable: disk full"),
        "{real}"
    );
    assert!(
        out.contains("classify  no handoff (the body is not a stage message)"),
        "{out}"
    );
    assert!(
        out.contains("unreadable stage message: expected value at line 1 column 1"),
        "{out}"
    );
    // `--stage assign` has none.
    let (ok, out_assign, _) = handoff(&["dlq", "list", "--stage", "assign", "--data", d]);
    assert!(ok);
    assert!(out_assign.starts_with("no dead letters"), "{out_assign}");

    // Show the real one by the id the list printed.
    let letter_id = real
        .split("  id ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    let (ok, shown, err) = handoff(&["dlq", "show", letter_id, "--data", d]);
    assert!(ok, "{err}");
    assert!(
        shown.starts_with(&format!(
            "dead letter {letter_id} of the classify stage in the local queues in {d}\n"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("  handoff         {id}\n")),
        "{shown}"
    );
    assert!(shown.contains("  receives        1\n"), "{shown}");
    assert!(
        shown.contains("  reason          store unavailable: disk full\n"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("    \"handoff_id\": \"{id}\",\n")),
        "{shown}"
    );
    let (ok, _, err) = handoff(&["dlq", "show", "999999", "--data", d]);
    assert!(!ok);
    assert!(err.contains("no dead letter with id \"999999\""), "{err}");

    // Redrive only the real handoff: the poison stays, the handoff is worked to the end.
    let (ok, out, err) = handoff(&["dlq", "redrive", "--id", id.as_str(), "--data", d]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "classify: moved 1 dead letter of handoff {id} back to the stage queue\nassign: no dead letters of handoff {id}\n"
        )),
        "{out}"
    );
    let left = pipeline
        .queue
        .dead_letters(Stage::Classify, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].handoff_id, None);
    pipeline.drain().await.unwrap();
    let record = pipeline.services.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.state, State::Notified);

    // Nothing of that handoff is left to redrive.
    let (ok, out, _) = handoff(&["dlq", "redrive", "--id", id.as_str(), "--data", d]);
    assert!(ok);
    assert!(
        out.starts_with("nothing to redrive: no dead letters of handoff"),
        "{out}"
    );
}

#[test]
fn mistakes_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(dir.path());
    let (ok, _, err) = handoff(&["dlq", "list", "--data", d]);
    assert!(!ok);
    assert!(err.contains(&format!("no local queues in {d}")), "{err}");
    let (ok, _, err) = handoff(&["dlq", "list", "--stage", "route", "--data", d]);
    assert!(!ok);
    assert!(err.contains("expected classify or assign"), "{err}");
    let (ok, _, err) = handoff(&["dlq", "redrive", "--id", "h_nope", "--data", d]);
    assert!(!ok);
    assert!(
        err.contains("expected h_ followed by 32 hex digits"),
        "{err}"
    );
    let (ok, _, err) = handoff(&["dlq", "list", "--region", "eu-west-1", "--data", d]);
    assert!(!ok);
    assert!(err.contains("add --queue-prefix"), "{err}");
}
