//! No stranded state: a stage message lost at each step where one is sent (intake after its
//! write, classify after its save, a failover, a re-qualification, a new touch) leaves the
//! handoff owing a stage with a deadline, and the failover sweep re-drives it within that
//! deadline plus one sweep — without any provider resend or manual redrive. An owner who was
//! never told is not failed over for the SLA meanwhile.

use chrono::{TimeZone, Utc};
use handoff_cli::runtime::LocalPipeline;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{HandoffId, ProviderEventId};
use handoff_domain::lifecycle::{HandoffRecord, State, STAGE_GRACE};
use handoff_domain::ports::{
    Clock, DeadLetter, Delivery, ManualClock, QueueError, Stage, StageMessage, StageQueue,
};
use handoff_domain::service::Services;
use std::sync::Arc;
use std::time::Duration;

mod support;

/// A queue that loses every message sent to it (a crash between a write and its send, or a
/// send that never arrived); everything else goes to the real queue.
struct LosesSends(Arc<dyn StageQueue>);

#[async_trait::async_trait]
impl StageQueue for LosesSends {
    async fn send(&self, _: Stage, _: &[StageMessage]) -> Result<(), QueueError> {
        Ok(())
    }
    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.0.receive(stage, max, visibility).await
    }
    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError> {
        self.0.ack(stage, receipt).await
    }
    async fn postpone(
        &self,
        stage: Stage,
        d: &Delivery,
        delay: Duration,
    ) -> Result<(), QueueError> {
        self.0.postpone(stage, d, delay).await
    }
    async fn dead_letter(
        &self,
        stage: Stage,
        d: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.0.dead_letter(stage, d, reason).await
    }
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.0.dead_letters(stage, max).await
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    pipeline: LocalPipeline,
    /// The same services, with a queue that loses what is sent.
    losing: Services,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ));
    let pipeline = support::open(dir.path(), clock.clone()).await;
    let mut losing = (*pipeline.services).clone();
    losing.queue = Arc::new(LosesSends(pipeline.services.queue.clone()));
    Harness {
        _dir: dir,
        clock,
        pipeline,
        losing,
    }
}

fn event(name: &str, file: &str) -> IntakeEvent {
    let path = format!("{}/../examples/events/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut e: IntakeEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    e.provider_event_id = ProviderEventId::parse(format!("stranded-{name}")).unwrap();
    e
}

impl Harness {
    async fn record(&self, id: &HandoffId) -> HandoffRecord {
        self.pipeline.services.store.get(id).await.unwrap().unwrap()
    }

    async fn events(&self, id: &HandoffId) -> Vec<String> {
        self.pipeline
            .services
            .store
            .timeline(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect()
    }

    /// Runs the one message waiting on `stage`'s queue (about `id`) with the services whose
    /// sends are lost, and acks it: the stage did its work, the message it sent never arrives.
    async fn run_losing_sends(&self, stage: Stage, id: &HandoffId) {
        let queue = &self.pipeline.services.queue;
        let got = queue
            .receive(stage, 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        let message = StageMessage::new(id.clone(), stage);
        self.losing.run_stage(&message).await.unwrap();
        queue.ack(stage, &got[0].receipt).await.unwrap();
    }

    /// Nothing moves without the sweep: the queues are empty, and a sweep before the stage
    /// deadline changes nothing. Then time passes the deadline, one sweep re-drives it, and the
    /// pipeline finishes the handoff.
    async fn repair(&self, id: &HandoffId) {
        assert_eq!(self.pipeline.drain().await.unwrap(), 0, "nothing is queued");
        let stuck = self.record(id).await;
        let due = stuck
            .stage_due
            .expect("a stranded handoff carries a stage deadline");
        assert!(stuck.owed_stage().is_some(), "{}", stuck.state.as_str());
        assert_eq!(stuck.due_at(), Some(due));
        self.clock.set(due - chrono::TimeDelta::seconds(1));
        let early = self.pipeline.services.sweep(100, 4).await.unwrap();
        assert_eq!(early.redriven, 0, "{early:?}");
        self.clock.set(due);
        let report = self.pipeline.services.sweep(100, 4).await.unwrap();
        assert_eq!(
            (report.redriven, report.failed, report.rerouted),
            (1, 0, 0),
            "{report:?}"
        );
        assert!(self.pipeline.drain().await.unwrap() > 0);
        let repaired = self.record(id).await;
        assert_eq!(repaired.owed_stage(), None, "{}", repaired.state.as_str());
        assert_eq!(repaired.stage_due, None);
        assert!(self.events(id).await.contains(&"redriven".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_classify_message_was_lost_after_intake_is_redriven() {
    let h = harness().await;
    let id = h
        .losing
        .intake(event("intake", "02-ai-qualified-lead.json"))
        .await
        .unwrap()
        .handoff_id;
    assert_eq!(h.record(&id).await.state, State::Received);
    assert_eq!(
        h.record(&id).await.stage_due,
        Some(h.clock.now() + STAGE_GRACE)
    );
    h.repair(&id).await;
    let r = h.record(&id).await;
    assert_eq!(r.state, State::Notified);
    assert_eq!(
        h.events(&id).await,
        [
            "received",
            "redriven",
            "classified",
            "assigned",
            "crm_written",
            "notified"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_whose_assign_message_was_lost_after_classify_is_redriven() {
    let h = harness().await;
    let id = h
        .pipeline
        .services
        .intake(event("classify", "01-form-demo-request.json"))
        .await
        .unwrap()
        .handoff_id;
    // Classify runs with the losing queue: its assign message never arrives.
    h.run_losing_sends(Stage::Classify, &id).await;
    assert_eq!(h.record(&id).await.state, State::Classified);
    h.repair(&id).await;
    assert_eq!(h.record(&id).await.state, State::Notified);
}

/// The first owner misses the SLA; the failover's message to the assign stage is lost. The new
/// owner is not failed over for an SLA they never heard of: the handoff is re-driven and they
/// are told, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_whose_assign_message_was_lost_is_redriven_not_failed_over_again() {
    let h = harness().await;
    let id = h
        .pipeline
        .services
        .intake(event("failover", "02-ai-qualified-lead.json"))
        .await
        .unwrap()
        .handoff_id;
    h.pipeline.drain().await.unwrap();
    let first = h.record(&id).await;
    let first_owner = first.owner.clone().unwrap().rep.unwrap();
    h.clock.set(first.sla.clone().unwrap().deadline);
    let report = h.losing.sweep(100, 4).await.unwrap();
    assert_eq!(report.rerouted + report.escalated, 1, "{report:?}");
    let moved = h.record(&id).await;
    assert_ne!(moved.owner.clone().unwrap().rep, Some(first_owner.clone()));
    assert!(moved.owed_stage().is_some());
    // Much later than the new owner's SLA: still not blamed on them, only re-driven.
    let new_deadline = moved.sla.clone().unwrap().deadline;
    assert!(new_deadline > moved.stage_due.unwrap());
    h.repair(&id).await;
    let told = h.record(&id).await;
    assert_eq!(told.state, State::Notified);
    assert_eq!(told.missed_by, vec![first_owner]);
    let notified = h
        .events(&id)
        .await
        .iter()
        .filter(|e| *e == "notified")
        .count();
    assert_eq!(notified, 2, "the first owner and the new one, once each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_not_told_because_the_message_was_lost_is_never_failed_over_for_the_sla() {
    let h = harness().await;
    let id = h
        .pipeline
        .services
        .intake(event("never-told", "01-form-demo-request.json"))
        .await
        .unwrap()
        .handoff_id;
    h.pipeline.process_stage(Stage::Classify, 10).await.unwrap();
    // The assign message is lost before the stage ran.
    let d = h
        .pipeline
        .services
        .queue
        .receive(Stage::Assign, 10, Duration::from_secs(30))
        .await
        .unwrap();
    h.pipeline
        .services
        .queue
        .ack(Stage::Assign, &d[0].receipt)
        .await
        .unwrap();
    // Days pass (sweeps that fail to send keep moving the deadline out, never failing over).
    h.clock.advance(chrono::TimeDelta::days(3));
    let report = h.losing.sweep(100, 4).await.unwrap();
    assert_eq!(
        (report.redriven, report.rerouted, report.escalated),
        (1, 0, 0)
    );
    h.clock.advance(chrono::TimeDelta::minutes(4));
    let quiet = h.pipeline.services.sweep(100, 4).await.unwrap();
    assert_eq!(
        quiet.due, 0,
        "the next re-drive waits ten minutes: {quiet:?}"
    );
    let r = h.record(&id).await;
    assert_eq!(r.redrives, 1);
    assert!(r.missed_by.is_empty());
    h.repair(&id).await;
    let r = h.record(&id).await;
    assert_eq!(r.state, State::Notified);
    assert!(r.missed_by.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requalification_whose_assign_message_was_lost_is_redriven() {
    let h = harness().await;
    let id = h
        .pipeline
        .services
        .intake(event("requalify", "02-ai-qualified-lead.json"))
        .await
        .unwrap()
        .handoff_id;
    h.pipeline.drain().await.unwrap();
    let owner = h.record(&id).await.owner.unwrap().rep.unwrap();
    h.losing
        .claim(&id, &owner, ClaimAction::Requalify)
        .await
        .unwrap();
    assert_eq!(h.record(&id).await.state, State::RequalificationRequested);
    h.repair(&id).await;
    let r = h.record(&id).await;
    assert_eq!(r.state, State::Notified);
    assert!(
        r.reassignments.iter().all(|c| c.told.is_some()),
        "the previous owner was told"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_touch_whose_news_message_was_lost_is_redriven_and_the_owner_told() {
    let h = harness().await;
    // An email thread first, then the same buyer fills in the form (the channel switch).
    let mut first = event("touch-1", "03-positive-reply.json");
    first.received_at = Utc.with_ymd_and_hms(2026, 11, 24, 14, 2, 0).unwrap();
    let mut second = event("touch-2", "09-channel-switch-form.json");
    second.received_at = Utc.with_ymd_and_hms(2026, 11, 24, 14, 20, 0).unwrap();
    h.clock.set(first.received_at);
    let id = h.pipeline.services.intake(first).await.unwrap().handoff_id;
    h.pipeline.drain().await.unwrap();
    assert_eq!(h.record(&id).await.state, State::Notified);
    h.clock.set(second.received_at);
    // The same buyer writes again; classify joins it to the open handoff, but the message that
    // would tell the owner is lost.
    let joined = h.pipeline.services.intake(second).await.unwrap().handoff_id;
    h.run_losing_sends(Stage::Classify, &joined).await;
    assert_eq!(h.record(&joined).await.state, State::Attached);
    let open = h.record(&id).await;
    assert_eq!(open.touches.len(), 1);
    assert!(open.touches[0].told.is_none());
    h.repair(&id).await;
    let r = h.record(&id).await;
    assert!(r.touches[0].told.is_some());
    assert!(!r.crm_stale());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_message_is_redriven_from_the_record_without_a_manual_redrive() {
    let h = harness().await;
    let id = h
        .pipeline
        .services
        .intake(event("dead", "01-form-demo-request.json"))
        .await
        .unwrap()
        .handoff_id;
    // The classify message is dead-lettered (say it failed for hours while the store was down).
    let d = h
        .pipeline
        .services
        .queue
        .receive(Stage::Classify, 10, Duration::from_secs(30))
        .await
        .unwrap();
    h.pipeline
        .services
        .queue
        .dead_letter(
            Stage::Classify,
            &d[0],
            "still failing after 40 attempts: store unavailable",
        )
        .await
        .unwrap();
    h.repair(&id).await;
    assert_eq!(h.record(&id).await.state, State::Notified);
    // The dead letter stays for the operator to read; redriving it now changes nothing.
    let letters = h
        .pipeline
        .services
        .queue
        .dead_letters(Stage::Classify, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        h.pipeline
            .services
            .queue
            .redrive(Stage::Classify, None)
            .await
            .unwrap(),
        1
    );
    let version = h.record(&id).await.version;
    h.pipeline.drain().await.unwrap();
    assert_eq!(h.record(&id).await.version, version);
}
