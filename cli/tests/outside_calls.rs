//! Outside calls happen once (the domain's `lease` module), and reach someone who can act,
//! shown one fault at a time on the local store:
//!
//! - the save that records a sent notification, or a CRM object just created, fails (a 5xx, an
//!   error after the write) or loses a version race to another writer: the result is recorded
//!   anyway, and no retry calls the notifier or the CRM again;
//! - two deliveries of one handoff at once: one makes the call, the other backs off until it
//!   is done, and finds it done;
//! - a run that failed gives its lease up, so the retry goes on at once; a run whose holder
//!   died takes over once the lease lapses, with a `taken_up` timeline entry;
//! - an owner whose notification is refused for good (a Slack user or an address that does not
//!   exist) is not waited on forever: the next in the failover chain gets the handoff at once.

use chrono::{TimeZone, Utc};
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{HandoffId, ProviderEventId};
use handoff_domain::lifecycle::{State, STAGE_LEASE};
use handoff_domain::ports::{
    DeliveryError, HandoffStore, ManualClock, Notification, Notifier, Stage, StageMessage,
};
use handoff_domain::service::stages::StageOutcome;
use handoff_domain::service::{ServiceError, Services};
use handoff_testkit::faults::fakes::{RecordingCrm, RecordingNotifier};
use handoff_testkit::faults::{FaultKind, FaultPlan, Port};
use handoff_testkit::faults::{FaultyCrm, FaultyNotifier, FaultyStore};
use std::sync::Arc;

mod support;

/// The local pipeline's services with the store, CRM and notifier behind one fault plan, a
/// recording CRM and notifier underneath.
struct Rig {
    _dir: tempfile::TempDir,
    services: Services,
    plan: Arc<FaultPlan>,
    clock: Arc<ManualClock>,
    crm: Arc<RecordingCrm>,
    notifier: Arc<RecordingNotifier>,
}

impl Rig {
    async fn new() -> Self {
        Self::with_notifier(|n| n).await
    }

    /// `wrap` puts something around the recording notifier (under the faults).
    async fn with_notifier(wrap: impl FnOnce(Arc<dyn Notifier>) -> Arc<dyn Notifier>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap(),
        ));
        let pipeline = support::open(dir.path(), clock.clone()).await;
        let plan = Arc::new(FaultPlan::quiet());
        let crm = Arc::new(RecordingCrm::new());
        let notifier = Arc::new(RecordingNotifier::new());
        let mut services = (*pipeline.services).clone();
        services.store = Arc::new(FaultyStore::with_plan(services.store.clone(), plan.clone()));
        services.crm = Arc::new(FaultyCrm::with_plan(crm.clone(), plan.clone()));
        services.notifier = Arc::new(FaultyNotifier::with_plan(
            wrap(notifier.clone()),
            plan.clone(),
        ));
        Self {
            _dir: dir,
            services,
            plan,
            clock,
            crm,
            notifier,
        }
    }

    /// A hot inbound lead, classified: the assign stage is next.
    async fn classified(&self, key: &str) -> HandoffId {
        let mut event: IntakeEvent = serde_json::from_str(include_str!(
            "../../examples/events/02-ai-qualified-lead.json"
        ))
        .unwrap();
        event.provider_event_id = ProviderEventId::parse(key).unwrap();
        let id = self.services.intake(event).await.unwrap().handoff_id;
        self.services
            .run_stage(&StageMessage::new(id.clone(), Stage::Classify))
            .await
            .unwrap();
        id
    }

    async fn state(&self, id: &HandoffId) -> State {
        self.services.store.get(id).await.unwrap().unwrap().state
    }

    async fn events(&self, id: &HandoffId) -> Vec<String> {
        let timeline = self.services.store.timeline(id).await.unwrap();
        timeline.into_iter().map(|e| e.event).collect()
    }

    fn notified(&self, id: &HandoffId) -> usize {
        self.notifier
            .count_by_handoff("assigned")
            .get(id)
            .copied()
            .unwrap_or(0)
    }
}

fn assign(id: &HandoffId) -> StageMessage {
    StageMessage::new(id.clone(), Stage::Assign)
}

#[tokio::test]
async fn a_failed_save_of_a_sent_notification_is_retried_not_sent_again() {
    for kind in [
        FaultKind::ServerError,
        FaultKind::Throttled,
        FaultKind::ErrorAfterWrite,
    ] {
        let rig = Rig::new().await;
        let id = rig.classified(&format!("notified-save-{kind:?}")).await;
        rig.plan
            .script_step(Port::Store, "update", "notified", kind, 3);
        let outcome = rig.services.run_stage(&assign(&id)).await;
        assert_eq!(
            outcome.unwrap(),
            StageOutcome::Advanced(State::Notified),
            "{kind:?}"
        );
        // A redelivery finds it done.
        let again = rig.services.run_stage(&assign(&id)).await.unwrap();
        assert_eq!(again, StageOutcome::AlreadyDone(State::Notified));
        assert_eq!(rig.notified(&id), 1, "{kind:?}");
        let events = rig.events(&id).await;
        let notified = events.iter().filter(|e| *e == "notified").count();
        assert_eq!(notified, 1, "{kind:?}: {events:?}");
        assert!(rig.plan.failures(Port::Store, "update") >= 1);
        let record = rig.services.store.get(&id).await.unwrap().unwrap();
        assert!(record.notification_ref.is_some());
        assert_eq!(record.lease, None, "the last save releases the lease");
    }
}

#[tokio::test]
async fn a_store_down_past_the_retries_fails_the_stage_and_the_retry_sends_once_more() {
    let rig = Rig::new().await;
    let id = rig.classified("notified-save-down").await;
    // One more failure than the stage retries within the call: the result cannot be recorded.
    rig.plan.script_step(
        Port::Store,
        "update",
        "notified",
        FaultKind::ServerError,
        64,
    );
    let err = rig.services.run_stage(&assign(&id)).await.unwrap_err();
    assert!(matches!(err, ServiceError::Transient(_)), "{err}");
    assert_eq!(rig.state(&id).await, State::CrmWritten);
    rig.plan
        .script_step(Port::Store, "update", "notified", FaultKind::ServerError, 0);
    // At least once, never lost: the retry sends the notification the store could not record.
    rig.services.run_stage(&assign(&id)).await.unwrap();
    assert_eq!(rig.state(&id).await, State::Notified);
    assert_eq!(rig.notified(&id), 2);
}

#[tokio::test]
async fn a_failed_save_of_a_crm_object_just_created_creates_nothing_twice() {
    for kind in [FaultKind::TimedOut, FaultKind::ErrorAfterWrite] {
        let rig = Rig::new().await;
        let id = rig.classified(&format!("crm-save-{kind:?}")).await;
        rig.plan
            .script_step(Port::Store, "update", "crm_progress", kind, 4);
        rig.services.run_stage(&assign(&id)).await.unwrap();
        rig.services.run_stage(&assign(&id)).await.unwrap();
        assert_eq!(rig.state(&id).await, State::Notified);
        let ledger = rig.crm.ledger(&id);
        assert_eq!(ledger.created_twice(), 0, "{kind:?}: {ledger:?}");
        assert_eq!(
            ledger.created.len(),
            3,
            "contact, note and task: {ledger:?}"
        );
        assert_eq!(rig.notified(&id), 1);
    }
}

/// A notifier that lets another writer change the record right after the notification went
/// out, as the sweep's re-drive mark or a new touch can.
struct WriterAround {
    recording: Arc<dyn Notifier>,
    store: std::sync::OnceLock<Arc<dyn HandoffStore>>,
}

#[async_trait::async_trait]
impl Notifier for WriterAround {
    async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
        let receipt = self.recording.notify(n).await?;
        let store = self.store.get().expect("the store is set");
        let mut record = store.get(&n.handoff_id).await.unwrap().unwrap();
        let now = record.updated_at;
        let entry = record.progress(
            "someone_else",
            handoff_domain::lifecycle::Actor::System("test".into()),
            now,
            "another writer",
        );
        store.update(&record, &entry).await.unwrap();
        Ok(receipt)
    }
}

#[tokio::test]
async fn a_notification_save_that_loses_a_version_race_is_applied_to_the_fresh_record() {
    let slot: Arc<std::sync::OnceLock<Arc<WriterAround>>> = Arc::new(std::sync::OnceLock::new());
    let rig = {
        let slot = slot.clone();
        Rig::with_notifier(move |recording| {
            let writer = Arc::new(WriterAround {
                recording,
                store: std::sync::OnceLock::new(),
            });
            let _ = slot.set(writer.clone());
            writer
        })
        .await
    };
    let writer = slot.get().unwrap();
    let _ = writer.store.set(rig.services.store.clone());
    let id = rig.classified("notified-race").await;
    let outcome = rig.services.run_stage(&assign(&id)).await.unwrap();
    assert_eq!(outcome, StageOutcome::Advanced(State::Notified));
    rig.services.run_stage(&assign(&id)).await.unwrap();
    assert_eq!(rig.notified(&id), 1);
    let events = rig.events(&id).await;
    assert_eq!(
        &events[events.len() - 2..],
        ["someone_else", "notified"],
        "the other writer's change is kept and the notification recorded after it: {events:?}"
    );
}

/// A notifier whose first call waits until the test lets it go.
struct Gate {
    inner: Arc<dyn Notifier>,
    entered: tokio::sync::Notify,
    release: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl Notifier for Gate {
    async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
        self.entered.notify_one();
        let _pass = self.release.acquire().await.expect("the gate stays open");
        self.inner.notify(n).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliveries_at_once_notify_once() {
    let gate: Arc<std::sync::OnceLock<Arc<Gate>>> = Arc::new(std::sync::OnceLock::new());
    let rig = {
        let gate = gate.clone();
        Rig::with_notifier(move |recording| {
            let g = Arc::new(Gate {
                inner: recording,
                entered: tokio::sync::Notify::new(),
                release: tokio::sync::Semaphore::new(0),
            });
            let _ = gate.set(g.clone());
            g
        })
        .await
    };
    let gate = gate.get().unwrap().clone();
    let id = rig.classified("two-at-once").await;
    let services = Arc::new(rig.services.clone());
    // The first delivery routes, writes the CRM and stops inside the notifier.
    let first = {
        let (services, message) = (services.clone(), assign(&id));
        tokio::spawn(async move { services.run_stage(&message).await })
    };
    gate.entered.notified().await;
    // A second message for the same handoff (a re-drive, a re-send) arrives meanwhile.
    let second = services.run_stage(&assign(&id)).await.unwrap_err();
    assert!(
        second
            .to_string()
            .contains("another delivery is working on handoff"),
        "{second}"
    );
    gate.release.add_permits(10);
    assert_eq!(
        first.await.unwrap().unwrap(),
        StageOutcome::Advanced(State::Notified)
    );
    // The second message's retry finds the work done.
    let retry = services.run_stage(&assign(&id)).await.unwrap();
    assert_eq!(retry, StageOutcome::AlreadyDone(State::Notified));
    assert_eq!(rig.notified(&id), 1);
}

#[tokio::test]
async fn a_failed_run_gives_up_its_lease_so_the_retry_goes_on_at_once() {
    let rig = Rig::new().await;
    let id = rig.classified("failed-run").await;
    rig.plan
        .script(Port::Notifier, "notify", FaultKind::ServerError, 1);
    rig.services.run_stage(&assign(&id)).await.unwrap_err();
    let record = rig.services.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.state, State::CrmWritten);
    assert_eq!(record.lease, None, "given up");
    let timeline = rig.services.store.timeline(&id).await.unwrap();
    let failed = timeline.last().unwrap();
    assert_eq!(failed.event, "attempt_failed");
    assert!(failed.note.contains("injected fault"), "{}", failed.note);
    // The retry (any delivery) goes on at once, on the clock as it stands.
    let outcome = rig.services.run_stage(&assign(&id)).await.unwrap();
    assert_eq!(outcome, StageOutcome::Advanced(State::Notified));
    assert_eq!(rig.notified(&id), 1);
    let events = rig.events(&id).await;
    assert_eq!(
        &events[events.len() - 3..],
        ["attempt_failed", "taken_up", "notified"],
        "{events:?}"
    );
}

#[tokio::test]
async fn a_lease_whose_holder_died_is_taken_over_once_it_lapses() {
    let rig = Rig::new().await;
    let id = rig.classified("holder-died").await;
    // The holder's notification fails and so does the write that would give its lease up: it
    // is as if its consumer died holding the lease.
    rig.plan
        .script(Port::Notifier, "notify", FaultKind::TimedOut, 1);
    rig.plan.script_step(
        Port::Store,
        "update",
        "attempt_failed",
        FaultKind::ServerError,
        1,
    );
    rig.services.run_stage(&assign(&id)).await.unwrap_err();
    let waiting = rig.services.run_stage(&assign(&id)).await.unwrap_err();
    assert!(
        waiting
            .to_string()
            .contains("another delivery is working on handoff"),
        "{waiting}"
    );
    rig.clock.advance(STAGE_LEASE);
    let outcome = rig.services.run_stage(&assign(&id)).await.unwrap();
    assert_eq!(outcome, StageOutcome::Advanced(State::Notified));
    assert_eq!(rig.notified(&id), 1);
    let timeline = rig.services.store.timeline(&id).await.unwrap();
    let taken = timeline
        .iter()
        .find(|e| e.event == "taken_up")
        .expect("a taken_up entry");
    assert!(
        taken.note.contains("stopped answering"),
        "the note says why: {}",
        taken.note
    );
}

#[tokio::test]
async fn an_owner_who_cannot_be_notified_is_passed_over_at_once() {
    let rig = Rig::new().await;
    let id = rig.classified("unreachable").await;
    rig.plan
        .script(Port::Notifier, "notify", FaultKind::Rejected, 1);
    let outcome = rig.services.run_stage(&assign(&id)).await.unwrap();
    assert_eq!(outcome, StageOutcome::Advanced(State::Notified));
    let record = rig.services.store.get(&id).await.unwrap().unwrap();
    let first = record.reassignments[0].from.clone().unwrap();
    let now_with = record.owner.as_ref().unwrap();
    assert_ne!(now_with.rep.as_ref(), Some(&first));
    assert!(record.missed_by.contains(&first), "never offered it again");
    assert_eq!(
        record.reassignments[0].reason,
        handoff_domain::lifecycle::ReassignReason::Unreachable
    );
    assert_eq!(
        record.reassignments[0].told.as_deref(),
        Some("not told: they could not be notified")
    );
    // Told once: the new owner. Nobody tries the unreachable owner again with a "moved" notice.
    let delivered = rig.notifier.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].kind, "assigned");
    assert_eq!(delivered[0].target, now_with.notify);
    let timeline = rig.services.store.timeline(&id).await.unwrap();
    let moved = timeline
        .iter()
        .find(|e| e.event == "rerouted_unreachable" || e.event == "escalated")
        .expect("a reroute entry");
    assert!(
        moved.note.contains("could not be notified") && moved.note.contains("injected fault"),
        "the note says who and why: {}",
        moved.note
    );
    // The CRM names the new owner and notes the change.
    assert!(!record.crm_stale());
    let ledger = rig.crm.ledger(&id);
    assert_eq!(ledger.created_twice(), 0, "{ledger:?}");
}

#[tokio::test]
async fn a_shared_queue_whose_channel_refuses_is_dead_lettered_not_passed_on() {
    let rig = Rig::new().await;
    let id = rig.classified("unreachable-queue").await;
    // Every notification is refused: the chain runs out at the shared queue, which has nobody
    // after it, so the stage fails for good with the reason.
    rig.plan
        .script(Port::Notifier, "notify", FaultKind::Rejected, 1_000);
    let err = rig.services.run_stage(&assign(&id)).await.unwrap_err();
    assert!(matches!(err, ServiceError::Permanent(_)), "{err}");
    let record = rig.services.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        record.owner.as_ref().unwrap().rep,
        None,
        "in the shared queue"
    );
    assert_eq!(
        record.state,
        State::CrmWritten,
        "written to the CRM, nobody told"
    );
    assert!(rig.events(&id).await.contains(&"escalated".to_string()));
    assert!(rig.notifier.delivered().is_empty());
    assert!(!record.missed_by.is_empty());
}
