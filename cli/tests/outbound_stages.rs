//! The assign stage's outward side, with fault-injecting CRM and notifier fakes on the real
//! local store and queue: the CRM is written step by step and recorded before anyone is told,
//! a crash (a transient failure) at any point resumes without a second note, task or message,
//! and every change of owner reaches the CRM and the previous owner.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use handoff_cli::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{HandoffId, ProviderEventId, RepId};
use handoff_domain::lifecycle::{ReassignReason, RerouteReason, State};
use handoff_domain::ports::{
    Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError, ManualClock, Notification, NotificationKind,
    Notifier, Stage, StageMessage,
};
use handoff_domain::service::{ServiceError, Services};
use std::sync::{Arc, Mutex};

/// Everything the fakes did, in order.
#[derive(Default)]
struct World {
    log: Mutex<Vec<String>>,
    /// Fail the next N calls whose log line starts with the given prefix (transiently).
    fail_next: Mutex<Vec<(String, usize)>>,
    counter: Mutex<u32>,
}

impl World {
    fn should_fail(&self, what: &str) -> bool {
        let mut fails = self.fail_next.lock().unwrap();
        for (prefix, left) in fails.iter_mut() {
            if what.starts_with(prefix.as_str()) && *left > 0 {
                *left -= 1;
                return true;
            }
        }
        false
    }
    fn fail(&self, prefix: &str, times: usize) {
        self.fail_next
            .lock()
            .unwrap()
            .push((prefix.to_string(), times));
    }
    fn record(&self, what: String) -> Result<u32, DeliveryError> {
        if self.should_fail(&what) {
            return Err(DeliveryError::Transient(format!("injected: {what}")));
        }
        self.log.lock().unwrap().push(what);
        let mut c = self.counter.lock().unwrap();
        *c += 1;
        Ok(*c)
    }
    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
    fn count(&self, prefix: &str) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

/// A CRM in three creating steps (contact+note, task, change notes) plus owner updates.
struct FakeCrm(Arc<World>);

#[async_trait]
impl Crm for FakeCrm {
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        let mut refs = CrmRefs {
            system: "fake".into(),
            ..refs.clone()
        };
        let id = write.package.handoff_id.to_string();
        let owner = write
            .package
            .owner
            .as_ref()
            .and_then(|o| o.rep.as_ref())
            .map(|r| r.to_string());
        if refs.note.is_none() {
            let n = self.0.record(format!("crm note {id}"))?;
            refs.contact = Some("c1".into());
            refs.note = Some(format!("n{n}"));
            return Ok(CrmStep::Progress(refs));
        }
        if refs.task.is_none() {
            let n = self.0.record(format!(
                "crm task {id} owner={}",
                owner.clone().unwrap_or_default()
            ))?;
            refs.task = Some(format!("t{n}"));
            refs.owner = owner;
            return Ok(CrmStep::Progress(refs));
        }
        if refs.owner != owner {
            self.0.record(format!(
                "crm owner {id} owner={}",
                owner.clone().unwrap_or_default()
            ))?;
            refs.owner = owner;
        }
        if (refs.change_notes as usize) < write.changes.len() {
            let text = &write.changes[refs.change_notes as usize].text;
            self.0.record(format!("crm change-note {id} {text}"))?;
            refs.change_notes += 1;
            return Ok(CrmStep::Progress(refs));
        }
        Ok(CrmStep::Done(refs))
    }
}

struct FakeNotifier(Arc<World>);

#[async_trait]
impl Notifier for FakeNotifier {
    async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
        let kind = match &n.kind {
            NotificationKind::Assigned => "assigned".to_string(),
            NotificationKind::MovedAway { to, .. } => format!("moved to {to}"),
            NotificationKind::NewTouch { .. } => "news".to_string(),
        };
        let replaces = n.replaces.clone().unwrap_or_default();
        let c = self.0.record(format!(
            "notify {} {} {kind} replaces={replaces}",
            n.handoff_id, n.target
        ))?;
        Ok(format!("receipt-{c}"))
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    _pipeline: LocalPipeline,
    services: Services,
    world: Arc<World>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
    ));
    let pipeline = LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: dir.path().to_path_buf(),
        rules: RulesChoice::Embedded,
        clock,
        public_url: "http://127.0.0.1:1".into(),
        secrets: Arc::new(handoff_connectors::secrets::StaticSecrets::default()),
    })
    .await
    .unwrap();
    let world = Arc::new(World::default());
    let services = Services {
        crm: Arc::new(FakeCrm(world.clone())),
        notifier: Arc::new(FakeNotifier(world.clone())),
        ..(*pipeline.services).clone()
    };
    Fixture {
        _dir: dir,
        _pipeline: pipeline,
        services,
        world,
    }
}

fn event(name: &str) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(include_str!(
        "../../examples/events/02-ai-qualified-lead.json"
    ))
    .unwrap();
    e.provider_event_id = ProviderEventId::parse(name).unwrap();
    e
}

async fn assign(services: &Services, id: &HandoffId) -> Result<(), ServiceError> {
    services
        .run_stage(&StageMessage::new(id.clone(), Stage::Assign))
        .await
        .map(|_| ())
}

/// Runs the assign stage on the message the pipeline sent for `id` (a reroute hands its delivery
/// the lease), or a new one, until it succeeds (each failure is a redelivery of that message),
/// at most `tries`.
async fn assign_until_done(services: &Services, id: &HandoffId, tries: usize) -> usize {
    let sent = services
        .queue
        .receive(Stage::Assign, 10, std::time::Duration::from_secs(600))
        .await
        .unwrap();
    let message = sent
        .iter()
        .filter_map(|d| serde_json::from_str::<StageMessage>(&d.body).ok())
        .rfind(|m| &m.handoff_id == id)
        .unwrap_or_else(|| StageMessage::new(id.clone(), Stage::Assign));
    run_until_done(services, &message, tries).await
}

/// Runs the assign stage on `message` until it succeeds, at most `tries`.
async fn run_until_done(services: &Services, message: &StageMessage, tries: usize) -> usize {
    for attempt in 1..=tries {
        match services.run_stage(message).await.map(|_| ()) {
            Ok(()) => return attempt,
            Err(e) => assert!(
                matches!(e, ServiceError::Transient(_) | ServiceError::Raced(_)),
                "{e}"
            ),
        }
    }
    panic!("assign did not finish in {tries} tries");
}

async fn classified(f: &Fixture, name: &str) -> HandoffId {
    let id = f.services.intake(event(name)).await.unwrap().handoff_id;
    f.services
        .run_stage(&StageMessage::new(id.clone(), Stage::Classify))
        .await
        .unwrap();
    id
}

async fn state(f: &Fixture, id: &HandoffId) -> handoff_domain::lifecycle::HandoffRecord {
    f.services.store.get(id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crm_is_written_and_recorded_before_the_rep_is_told() {
    let f = fixture().await;
    let id = classified(&f, "order-1").await;
    assign(&f.services, &id).await.unwrap();
    let lines = f.world.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("crm note"));
    assert!(lines[1].starts_with("crm task"));
    assert!(lines[2].starts_with("notify") && lines[2].contains("assigned"));
    let record = state(&f, &id).await;
    assert_eq!(record.state, State::Notified);
    assert_eq!(record.crm.note.as_deref(), Some("n1"));
    assert_eq!(record.crm.task.as_deref(), Some("t2"));
    assert!(!record.crm_stale());
    let events: Vec<String> = f
        .services
        .store
        .timeline(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(
        events.ends_with(&[
            "crm_progress".into(),
            "crm_progress".into(),
            "crm_written".into(),
            "notified".into()
        ]),
        "{events:?}"
    );
    // A replayed message finds everything done.
    assign(&f.services, &id).await.unwrap();
    assert_eq!(f.world.lines().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_step_resumes_without_duplicates() {
    for (i, failing) in ["crm note", "crm task", "notify"].iter().enumerate() {
        let f = fixture().await;
        let id = classified(&f, &format!("resume-{i}")).await;
        f.world.fail(failing, 2);
        let tries = assign_until_done(&f.services, &id, 5).await;
        assert_eq!(tries, 3, "{failing}: two failures, then success");
        assert_eq!(f.world.count("crm note"), 1, "{failing}");
        assert_eq!(f.world.count("crm task"), 1, "{failing}");
        assert_eq!(f.world.count("notify"), 1, "{failing}");
        let lines = f.world.lines();
        assert!(lines.last().unwrap().starts_with("notify"), "{lines:?}");
        assert_eq!(state(&f, &id).await.state, State::Notified);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_owner_reroute_updates_the_crm_tells_the_old_owner_then_the_new_one() {
    let f = fixture().await;
    let id = classified(&f, "reroute-1").await;
    assign(&f.services, &id).await.unwrap();
    let first = state(&f, &id).await;
    let old = first.owner.clone().unwrap().rep.unwrap();
    let first_receipt = first.notification_ref.clone().unwrap();

    f.services
        .claim(&id, &old, ClaimAction::WrongOwner)
        .await
        .unwrap();
    f.world.fail("notify", 1);
    assign_until_done(&f.services, &id, 3).await;

    let record = state(&f, &id).await;
    let new = record.owner.clone().unwrap().rep.unwrap();
    assert_ne!(new, old);
    assert_eq!(record.state, State::Notified);
    assert_eq!(record.reassignments.len(), 1);
    assert_eq!(record.reassignments[0].reason, ReassignReason::WrongOwner);
    assert!(record.reassignments[0].told.is_some());
    assert!(!record.crm_stale());

    let lines = f.world.lines();
    let after: Vec<&String> = lines.iter().skip(3).collect();
    assert_eq!(after.len(), 4, "{after:?}");
    assert!(after[0].starts_with("crm owner") && after[0].contains(new.as_str()));
    assert!(after[1].starts_with("crm change-note") && after[1].contains("wrong owner"));
    assert!(
        after[2].contains("moved to") && after[2].contains(&format!("replaces={first_receipt}")),
        "the old owner's message is replaced: {after:?}"
    );
    assert!(after[3].contains("assigned") && !after[3].contains(&format!("@{old}")));
    assert_eq!(
        f.world.count("crm note"),
        1,
        "the package is not duplicated"
    );
    assert_eq!(f.world.count("crm task"), 1, "the task is not duplicated");

    // Whoever said "wrong owner" cannot take it back with the old link.
    let err = f
        .services
        .claim(&id, &old, ClaimAction::Accept)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Conflict(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pickup_from_the_shared_queue_names_the_picker_in_the_crm() {
    let f = fixture().await;
    let id = classified(&f, "queue-1").await;
    assign(&f.services, &id).await.unwrap();
    // Everyone in the chain declines until it lands in the shared queue.
    for _ in 0..10 {
        let record = state(&f, &id).await;
        let Some(rep) = record.owner.as_ref().and_then(|o| o.rep.clone()) else {
            break;
        };
        f.services
            .fail_over(&id, RerouteReason::WrongOwner, Some(rep))
            .await
            .unwrap();
        assign_until_done(&f.services, &id, 2).await;
    }
    let queued = state(&f, &id).await;
    assert!(queued.owner.as_ref().unwrap().rep.is_none(), "in the queue");
    assert_eq!(queued.crm.owner, None, "the CRM names nobody while queued");

    // A rep who never declined picks it up.
    let rules = f.services.rules.current().await.unwrap();
    let declined: Vec<RepId> = queued
        .reassignments
        .iter()
        .filter_map(|r| r.from.clone())
        .collect();
    let picker = rules
        .reps
        .iter()
        .find(|r| r.active && !declined.contains(&r.id))
        .unwrap()
        .id
        .clone();
    f.services
        .claim(&id, &picker, ClaimAction::Accept)
        .await
        .unwrap();
    assert!(
        state(&f, &id).await.crm_stale(),
        "the CRM lags until synced"
    );
    let before = f.world.lines().len();
    assign_until_done(&f.services, &id, 2).await;
    let record = state(&f, &id).await;
    assert_eq!(record.state, State::Accepted);
    assert!(!record.crm_stale());
    assert_eq!(record.crm.owner.as_deref(), Some(picker.as_str()));
    let lines = f.world.lines();
    let new_lines = &lines[before..];
    assert!(
        new_lines[0].starts_with("crm owner") && new_lines[0].contains(picker.as_str()),
        "{new_lines:?}"
    );
    assert!(new_lines
        .iter()
        .any(|l| l.starts_with("crm change-note") && l.contains("shared queue")));
    assert!(
        new_lines.iter().all(|l| !l.contains("assigned")),
        "nobody is asked to act on an accepted handoff: {new_lines:?}"
    );
    assert_eq!(f.world.count("crm task"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_accepted_before_the_crm_write_still_reaches_the_crm() {
    let f = fixture().await;
    let id = classified(&f, "early-1").await;
    // Route only: the CRM fails, so the stage stops at `assigned`.
    f.world.fail("crm note", 1);
    let first = StageMessage::new(id.clone(), Stage::Assign);
    assert!(f.services.run_stage(&first).await.is_err());
    let record = state(&f, &id).await;
    assert_eq!(record.state, State::Assigned);
    let owner = record.owner.unwrap().rep.unwrap();
    f.services
        .claim(&id, &owner, ClaimAction::Accept)
        .await
        .unwrap();
    // The failed delivery comes back and finishes the work (the accept's own message then
    // finds it done).
    run_until_done(&f.services, &first, 2).await;
    let record = state(&f, &id).await;
    assert_eq!(record.state, State::Accepted);
    assert!(!record.crm_stale());
    assert_eq!(f.world.count("crm note"), 1);
    assert_eq!(f.world.count("crm task"), 1);
    assert_eq!(
        f.world.count("notify"),
        0,
        "an accepted handoff needs no nudge"
    );
}
