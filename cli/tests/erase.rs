//! Personal data on the local runtime: `handoff erase --email` (the real binary) on a data
//! directory that went through the pipeline, and the retention purge of `HANDOFF_RETENTION_DAYS`.

mod support;
use support::open;

use chrono::Utc;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{EmailAddress, HandoffId, ProviderEventId};
use handoff_domain::lifecycle::State;
use handoff_domain::ports::{HandoffStore, ManualClock, Stage, StageQueue};
use handoff_domain::privacy::RETENTION_DAYS_VAR;
use handoff_local::SqliteStore;
use std::process::Command;
use std::sync::Arc;

/// The example AI-qualified lead (Jordan Blake, Peak Freight) as `email` with its own event id;
/// another address than Jordan's is another person (another name too: the same name at the
/// same company would be Jordan again).
fn lead(event_id: &str, email: &str) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(include_str!(
        "../../examples/events/02-ai-qualified-lead.json"
    ))
    .unwrap();
    e.provider_event_id = ProviderEventId::parse(event_id).unwrap();
    let buyer = e.kind.buyer_mut();
    if !email.starts_with("jordan.blake@") {
        buyer.name = Some(email.split('@').next().unwrap_or_default().to_string());
    }
    buyer.email = EmailAddress::parse(email).unwrap();
    e
}

fn handoff(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .env("HANDOFF_LOG", "info")
        .output()
        .expect("run handoff");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_removes_one_buyer_from_a_local_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // An hour ago, so that `handoff audit --days 1` (wall clock) covers the handoffs.
    let clock = Arc::new(ManualClock::new(Utc::now() - chrono::Duration::hours(1)));
    let (jordan, sam): (Vec<HandoffId>, HandoffId) = {
        let pipeline = open(dir.path(), clock.clone()).await;
        let mut jordan = Vec::new();
        for id in ["erase-j1", "erase-j2"] {
            let event = lead(id, "jordan.blake@peakfreight.com");
            jordan.push(pipeline.services.intake(event).await.unwrap().handoff_id);
            clock.advance(chrono::Duration::minutes(1));
        }
        let sam = pipeline
            .services
            .intake(lead("erase-s1", "sam.ortiz@peakfreight.com"))
            .await
            .unwrap()
            .handoff_id;
        pipeline.drain().await.unwrap();
        // A message still waiting for Jordan's first handoff, and a dead letter naming him.
        pipeline
            .queue
            .send_raw(
                Stage::Assign,
                &format!(r#"{{"handoff_id":"{}","stage":"assign"}}"#, jordan[0]),
            )
            .await
            .unwrap();
        let poison = "unreadable mail from Jordan.Blake@PeakFreight.com";
        pipeline
            .queue
            .send_raw(Stage::Classify, poison)
            .await
            .unwrap();
        let got = pipeline
            .queue
            .receive(Stage::Classify, 10, std::time::Duration::from_secs(30))
            .await
            .unwrap();
        pipeline
            .queue
            .dead_letter(Stage::Classify, &got[0], "bad body")
            .await
            .unwrap();
        // Jordan's second lead joined his open handoff as a new touch.
        for (id, state) in [
            (&jordan[0], State::Notified),
            (&jordan[1], State::Attached),
            (&sam, State::Notified),
        ] {
            assert_eq!(
                pipeline
                    .services
                    .store
                    .get(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .state,
                state
            );
        }
        (jordan, sam)
    };
    for id in [&jordan[0], &sam] {
        assert!(dir.path().join(format!("crm/{id}.json")).is_file());
        assert!(dir.path().join(format!("notifications/{id}.txt")).is_file());
    }

    let (ok, out, err) = handoff(&[
        "erase",
        "--email",
        "Jordan.Blake@peakfreight.com",
        "--data",
        data,
    ]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "erase jordan.blake@peakfreight.com from the local store in {data}\n"
        )),
        "{out}"
    );
    assert!(out.contains("removed 2 handoff(s):"), "{out}");
    for (id, state) in [(&jordan[0], "notified"), (&jordan[1], "attached")] {
        assert!(out.contains(&format!("  {id}  {state}, created ")), "{out}");
    }
    assert!(!out.contains(sam.as_str()), "{out}");
    // Both leads were classified in one batch, so the second joined the first before it was
    // assigned: received, classified, new_touch, assigned, crm_written, notified for the first;
    // received, attached for the second.
    assert!(out.contains("timeline entries      8"), "{out}");
    // contact, creation day and company domain for each; due for the open one.
    assert!(
        out.contains("index entries         7 (contact, creation day, company domain; 1 due)"),
        "{out}"
    );
    assert!(out.contains("outbound thread keys  0"), "{out}");
    assert!(
        out.contains("stage messages        1 waiting or in flight, 1 dead letters"),
        "{out}"
    );
    // One CRM record and one notification (the touch rode along in the first one).
    assert!(out.contains("local CRM files       1"), "{out}");
    assert!(
        out.contains("notifications         1 files, 1 log lines"),
        "{out}"
    );
    assert!(out.contains("kept: the account owner"), "{out}");
    assert!(
        !err.to_lowercase().contains("jordan.blake"),
        "the address is never logged: {err}"
    );

    // Nothing of Jordan is left; Sam at the same company is untouched.
    let store = SqliteStore::open(dir.path().join("handoff.sqlite")).unwrap();
    for id in &jordan {
        assert_eq!(store.get(id).await.unwrap(), None);
        assert_eq!(store.timeline(id).await.unwrap(), vec![]);
        assert!(!dir.path().join(format!("crm/{id}.json")).exists());
        assert!(!dir.path().join(format!("notifications/{id}.txt")).exists());
    }
    let jordan_email = EmailAddress::parse("jordan.blake@peakfreight.com").unwrap();
    assert_eq!(store.by_contact(&jordan_email, 10).await.unwrap(), vec![]);
    assert_eq!(
        store.get(&sam).await.unwrap().unwrap().state,
        State::Notified
    );
    assert!(dir.path().join(format!("crm/{sam}.json")).is_file());
    let log = std::fs::read_to_string(dir.path().join("notifications.jsonl")).unwrap();
    assert!(!log.to_lowercase().contains("jordan.blake"), "{log}");
    assert!(log.contains(sam.as_str()));

    // The audit (the local "list") counts only Sam's handoff now.
    let (ok, audit, err) = handoff(&["audit", "--data", data, "--days", "1"]);
    assert!(ok, "{err}");
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit["handoffs"], 1, "{audit}");

    // Idempotent: a second request finds nothing and says so.
    let (ok, out, err) = handoff(&[
        "erase",
        "--email",
        "jordan.blake@peakfreight.com",
        "--data",
        data,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("nothing to remove"), "{out}");
    assert!(!out.contains("removed"), "{out}");
}

#[test]
fn erase_refuses_a_malformed_address_and_a_missing_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, out, err) = handoff(&["erase", "--email", "jordan at peakfreight", "--data", data]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("--email: not a valid address"), "{err}");

    let (ok, _, err) = handoff(&["erase", "--email", "jordan@peakfreight.com", "--data", data]);
    assert!(!ok);
    assert!(err.contains("no local store in"), "{err}");

    let (ok, _, err) = handoff(&[
        "erase",
        "--email",
        "jordan@peakfreight.com",
        "--queue-prefix",
        "handoff-prod",
    ]);
    assert!(!ok);
    assert!(err.contains("apply to a deployed table"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_handoffs_are_purged_after_the_retention_from_the_environment() {
    // Only this test of this binary reads the variable in-process (the binary runs above inherit
    // it harmlessly: erasure does not depend on retention).
    std::env::set_var(RETENTION_DAYS_VAR, "2");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let pipeline = open(dir.path(), clock.clone()).await;
    let ooo: IntakeEvent =
        serde_json::from_str(include_str!("../../examples/events/06-out-of-office.json")).unwrap();
    let closed = pipeline.services.intake(ooo).await.unwrap().handoff_id;
    let open_one = pipeline
        .services
        .intake(lead("retain-1", "jordan.blake@peakfreight.com"))
        .await
        .unwrap()
        .handoff_id;
    pipeline.drain().await.unwrap();
    let record = pipeline.services.store.get(&closed).await.unwrap().unwrap();
    assert_eq!(record.state, State::ClosedWithoutHandoff);
    let expiry = pipeline
        .services
        .store
        .expires_at(&closed)
        .await
        .unwrap()
        .expect("a closed handoff expires");
    assert_eq!(
        expiry.timestamp(),
        (record.updated_at + chrono::Duration::days(2)).timestamp()
    );
    assert_eq!(
        pipeline.services.store.expires_at(&open_one).await.unwrap(),
        None
    );

    clock.advance(chrono::Duration::days(1));
    assert_eq!(pipeline.purge_expired().await.unwrap().handoffs, 0);
    clock.advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let purged = pipeline.purge_expired().await.unwrap();
    assert_eq!(purged.handoffs, 1);
    assert!(purged.timeline_entries >= 3, "{purged:?}");
    assert_eq!(pipeline.services.store.get(&closed).await.unwrap(), None);
    assert_eq!(
        pipeline.services.store.timeline(&closed).await.unwrap(),
        vec![]
    );
    assert!(pipeline
        .services
        .store
        .get(&open_one)
        .await
        .unwrap()
        .is_some());
}
