//! `handoff audit` (the real binary) on a data directory that went through the pipeline: the
//! re-qualification rate per reply class, next to the overall rate.

mod support;
use support::open;

use chrono::Utc;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{EmailAddress, HandoffId, ProviderEventId};
use handoff_domain::package::{Motion, ReplyClass};
use handoff_domain::ports::ManualClock;
use serde_json::json;
use std::process::Command;
use std::sync::Arc;

/// An example event with its own event id and buyer.
fn event(example: &str, event_id: &str, email: &str) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(example).unwrap();
    e.provider_event_id = ProviderEventId::parse(event_id).unwrap();
    e.kind.buyer_mut().email = EmailAddress::parse(email).unwrap();
    e
}

const POSITIVE_REPLY: &str = include_str!("../../examples/events/03-positive-reply.json");
const INBOUND_LEAD: &str = include_str!("../../examples/events/02-ai-qualified-lead.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_reports_requalification_per_reply_class() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // An hour ago, so that `handoff audit --days 1` (wall clock) covers the handoffs.
    let clock = Arc::new(ManualClock::new(Utc::now() - chrono::Duration::hours(1)));
    let class: ReplyClass = {
        let pipeline = open(dir.path(), clock.clone()).await;
        let s = &pipeline.services;
        let mut ids: Vec<HandoffId> = Vec::new();
        for (example, event_id, email) in [
            (POSITIVE_REPLY, "audit-out-1", "dana@harborview.io"),
            (POSITIVE_REPLY, "audit-out-2", "lee@northwind.io"),
            (INBOUND_LEAD, "audit-in-1", "sam@peakfreight.com"),
        ] {
            let e = event(example, event_id, email);
            ids.push(s.intake(e).await.unwrap().handoff_id);
            clock.advance(chrono::Duration::minutes(1));
        }
        pipeline.drain().await.unwrap();
        let mut records = Vec::new();
        for id in &ids {
            records.push(s.store.get(id).await.unwrap().unwrap());
        }
        let classification = |i: usize| records[i].classification.as_ref().unwrap();
        let class = classification(0)
            .reply_class
            .expect("an outbound reply class");
        assert_eq!(classification(1).reply_class, Some(class));
        assert_eq!(classification(2).motion, Motion::Inbound);
        // The owners of one outbound reply and of the inbound lead ask for re-qualification —
        // the outbound one twice (its second owner too).
        clock.advance(chrono::Duration::minutes(5));
        for id in [&ids[0], &ids[2], &ids[0]] {
            let record = s.store.get(id).await.unwrap().unwrap();
            let rep = record.owner.and_then(|o| o.rep).expect("a rep owns it");
            s.claim(id, &rep, ClaimAction::Requalify).await.unwrap();
            pipeline.drain().await.unwrap();
            clock.advance(chrono::Duration::minutes(1));
        }
        let events: Vec<String> = s
            .store
            .timeline(&ids[0])
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(
            events
                .iter()
                .filter(|e| *e == "requalification_requested")
                .count(),
            2,
            "{events:?}"
        );
        class
    };

    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(["audit", "--data", data, "--days", "1"])
        .output()
        .expect("run handoff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit["handoffs"], 3, "{audit}");
    assert_eq!(audit["owned"], 3, "{audit}");
    // Overall: both re-qualified handoffs, each once, of three owned.
    assert_eq!(audit["requalification_rate"], json!(2.0 / 3.0), "{audit}");
    // By reply class: the two outbound replies only.
    let mut expected = serde_json::Map::new();
    expected.insert(
        class.as_str().into(),
        json!({"owned": 2, "requalified": 1, "rate": 0.5}),
    );
    assert_eq!(
        audit["requalification_by_reply_class"],
        serde_json::Value::Object(expected),
        "{audit}"
    );
}
