//! Meeting updates on the embedded runner, through the intake use case: a booking opens a
//! handoff (or joins the buyer's open one); a reschedule, cancellation or no-show joins it —
//! never a new handoff — and a provider's retry of a joined update changes nothing. What is
//! closed by the automation or older than the linking window is not joined.

mod support;
use support::open as pipeline;

use chrono::{DateTime, TimeZone, Utc};
use handoff_cli::runtime::LocalPipeline;
use handoff_domain::event::{EventKind, IntakeEvent};
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::ManualClock;
use std::sync::Arc;

const BOOKED: &str = include_str!("../../examples/events/10-meeting-booked.json");

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The example booking turned into another update of the same buyer's meeting.
fn update(kind: &str, id: &str, meeting: &str, rescheduled: bool) -> IntakeEvent {
    let mut v: serde_json::Value = serde_json::from_str(BOOKED).unwrap();
    v["type"] = kind.into();
    v["provider_event_id"] = id.into();
    v["meeting_id"] = meeting.into();
    if rescheduled {
        v["rescheduled"] = true.into();
    }
    serde_json::from_value(v).unwrap()
}

async fn events_of(p: &LocalPipeline, id: &HandoffId) -> Vec<String> {
    p.services
        .store
        .timeline(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reschedule_a_no_show_and_retries_join_the_booking() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-11-24T14:08:00Z")));
    let p = pipeline(dir.path(), clock.clone()).await;
    let s = &p.services;
    let booked = s
        .intake(serde_json::from_str(BOOKED).unwrap())
        .await
        .unwrap();
    assert!(!booked.linked && !booked.duplicate);
    p.drain().await.unwrap();

    // Calendly's reschedule: the old slot is cancelled (rescheduled) and a new one created.
    clock.advance(chrono::Duration::hours(2));
    for e in [
        update("meeting_cancelled", "r-cancel", "evt-copperleaf-demo", true),
        update("meeting_booked", "r-create", "evt-copperleaf-demo-2", true),
        update(
            "meeting_no_show",
            "r-noshow",
            "evt-copperleaf-demo-2",
            false,
        ),
    ] {
        let r = s.intake(e).await.unwrap();
        assert!(r.linked, "{r:?}");
        assert_eq!(r.handoff_id, booked.handoff_id, "never a new handoff");
    }
    // A provider retry of a joined update changes nothing.
    let again = s
        .intake(update(
            "meeting_no_show",
            "r-noshow",
            "evt-copperleaf-demo-2",
            false,
        ))
        .await
        .unwrap();
    assert!(again.duplicate && again.linked);
    assert_eq!(p.drain().await.unwrap(), 0, "joining enqueues nothing");

    let events = events_of(&p, &booked.handoff_id).await;
    for e in ["meeting_moved", "meeting_rescheduled", "meeting_no_show"] {
        assert_eq!(
            events.iter().filter(|x| *x == e).count(),
            1,
            "{e}: {events:?}"
        );
    }
    let record = s.store.get(&booked.handoff_id).await.unwrap().unwrap();
    assert_eq!(record.linked.len(), 3);
    let timeline = s.store.timeline(&booked.handoff_id).await.unwrap();
    let moved = timeline
        .iter()
        .find(|e| e.event == "meeting_moved")
        .unwrap();
    assert!(
        moved.note.contains("30 min Northwind demo"),
        "{}",
        moved.note
    );
    // One meeting held (the reschedule freed the first slot), and it was missed.
    let audit = s
        .audit(at("2026-11-23T00:00:00Z"), at("2026-11-26T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(audit.no_show_rate, Some(1.0), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_or_old_handoffs_are_not_joined() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-11-24T14:08:00Z")));
    let p = pipeline(dir.path(), clock.clone()).await;
    let s = &p.services;
    // An unsubscribe from the same buyer is closed by the automation: a booking does not join it.
    let mut unsubscribe: IntakeEvent =
        serde_json::from_str(include_str!("../../examples/events/12-unsubscribe.json")).unwrap();
    let booked: IntakeEvent = serde_json::from_str(BOOKED).unwrap();
    unsubscribe.kind.buyer_mut().email = booked.buyer().email.clone();
    let closed = s.intake(unsubscribe).await.unwrap();
    p.drain().await.unwrap();
    let r = s.intake(booked).await.unwrap();
    assert!(!r.linked);
    assert_ne!(r.handoff_id, closed.handoff_id);
    p.drain().await.unwrap();

    // Past the linking window, a new booking opens its own handoff again.
    clock.set(Utc.with_ymd_and_hms(2027, 1, 15, 10, 0, 0).unwrap());
    let mut later = update("meeting_booked", "much-later", "evt-copperleaf-q1", false);
    later.received_at = clock_now(&clock);
    let r2 = s.intake(later).await.unwrap();
    assert!(!r2.linked);
    assert_ne!(r2.handoff_id, r.handoff_id);
    assert!(matches!(
        s.store
            .get(&r2.handoff_id)
            .await
            .unwrap()
            .unwrap()
            .event
            .kind,
        EventKind::MeetingBooked(_)
    ));
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    use handoff_domain::ports::Clock;
    clock.now()
}
