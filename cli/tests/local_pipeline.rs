//! The local pipeline survives restarts and dead-letters poison messages with their reason.

use chrono::{TimeZone, Utc};
use handoff_cli::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::ProviderEventId;
use handoff_domain::lifecycle::State;
use handoff_domain::ports::{ManualClock, Stage, StageQueue};
use std::sync::Arc;

fn start() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ))
}

async fn open(dir: &std::path::Path) -> anyhow::Result<LocalPipeline> {
    open_with(dir, start()).await
}

async fn open_with(
    dir: &std::path::Path,
    clock: Arc<ManualClock>,
) -> anyhow::Result<LocalPipeline> {
    LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: dir.to_path_buf(),
        rules: RulesChoice::Embedded,
        clock,
        public_url: "http://127.0.0.1:1".into(),
        secrets: Arc::new(handoff_connectors::secrets::StaticSecrets::default()),
    })
    .await
}

fn event(i: usize) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(include_str!(
        "../../examples/events/02-ai-qualified-lead.json"
    ))
    .unwrap();
    e.provider_event_id = ProviderEventId::parse(format!("restart-{i}")).unwrap();
    // A buyer (and company) per event: a second event of one buyer would join the first's
    // open handoff instead of opening its own.
    e.kind.buyer_mut().email =
        handoff_domain::ids::EmailAddress::parse(format!("jordan.blake@peakfreight-{i}.com"))
            .unwrap();
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_stages_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    {
        let pipeline = open(dir.path()).await.unwrap();
        for i in 0..3 {
            ids.push(pipeline.services.intake(event(i)).await.unwrap().handoff_id);
        }
        // Only classification runs before the "crash".
        pipeline.process_stage(Stage::Classify, 10).await.unwrap();
        for id in &ids {
            assert_eq!(
                pipeline
                    .services
                    .store
                    .get(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .state,
                State::Classified
            );
        }
    }
    let pipeline = open(dir.path()).await.unwrap();
    pipeline.drain().await.unwrap();
    for id in &ids {
        let record = pipeline.services.store.get(id).await.unwrap().unwrap();
        assert_eq!(record.state, State::Notified, "{id}");
        let events: Vec<String> = pipeline
            .services
            .store
            .timeline(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(
            events,
            [
                "received",
                "classified",
                "assigned",
                "crm_written",
                "notified"
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_end_in_the_dead_letter_queue_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = open(dir.path()).await.unwrap();
    pipeline
        .queue
        .send_raw(Stage::Classify, "definitely not json")
        .await
        .unwrap();
    pipeline
        .queue
        .send_raw(
            Stage::Assign,
            r#"{"handoff_id":"h_00000000000000000000000000000000","stage":"assign"}"#,
        )
        .await
        .unwrap();
    let id = pipeline.services.intake(event(9)).await.unwrap().handoff_id;
    pipeline.drain().await.unwrap();
    assert_eq!(
        pipeline
            .services
            .store
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .state,
        State::Notified
    );
    let classify = pipeline
        .queue
        .dead_letters(Stage::Classify, 10)
        .await
        .unwrap();
    assert_eq!(classify.len(), 1);
    assert!(
        classify[0].reason.contains("unreadable stage message"),
        "{}",
        classify[0].reason
    );
    let assign = pipeline
        .queue
        .dead_letters(Stage::Assign, 10)
        .await
        .unwrap();
    assert_eq!(assign.len(), 1);
    assert!(
        assign[0].reason.contains("not found"),
        "{}",
        assign[0].reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_out_of_time_leaves_due_handoffs_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let pipeline = open_with(dir.path(), clock.clone()).await.unwrap();
    let id = pipeline.services.intake(event(7)).await.unwrap().handoff_id;
    pipeline.drain().await.unwrap();
    clock.advance(chrono::Duration::days(3));
    let out_of_time = pipeline
        .services
        .sweep_while(100, 4, &|| false)
        .await
        .unwrap();
    assert!(out_of_time.stopped_early);
    assert_eq!(out_of_time.due, 0);
    assert_eq!(
        pipeline
            .services
            .store
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .reroutes,
        0
    );
    let next = pipeline.services.sweep(100, 4).await.unwrap();
    assert!(!next.stopped_early);
    assert_eq!(next.due, 1);
    assert_eq!(
        pipeline
            .services
            .store
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .reroutes,
        1
    );
}

/// A queue whose sends fail, as if SQS were unreachable; everything else goes to `inner`.
struct SendsFail(Arc<dyn StageQueue>);

#[async_trait::async_trait]
impl StageQueue for SendsFail {
    async fn send(
        &self,
        _stage: Stage,
        _messages: &[handoff_domain::ports::StageMessage],
    ) -> Result<(), handoff_domain::ports::QueueError> {
        Err(handoff_domain::ports::QueueError::Unavailable(
            "connection refused".into(),
        ))
    }
    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: std::time::Duration,
    ) -> Result<Vec<handoff_domain::ports::Delivery>, handoff_domain::ports::QueueError> {
        self.0.receive(stage, max, visibility).await
    }
    async fn ack(
        &self,
        stage: Stage,
        receipt: &str,
    ) -> Result<(), handoff_domain::ports::QueueError> {
        self.0.ack(stage, receipt).await
    }
    async fn dead_letter(
        &self,
        stage: Stage,
        delivery: &handoff_domain::ports::Delivery,
        reason: &str,
    ) -> Result<(), handoff_domain::ports::QueueError> {
        self.0.dead_letter(stage, delivery, reason).await
    }
    async fn postpone(
        &self,
        stage: Stage,
        delivery: &handoff_domain::ports::Delivery,
        delay: std::time::Duration,
    ) -> Result<(), handoff_domain::ports::QueueError> {
        self.0.postpone(stage, delivery, delay).await
    }
    async fn dead_letters(
        &self,
        stage: Stage,
        max: usize,
    ) -> Result<Vec<handoff_domain::ports::DeadLetter>, handoff_domain::ports::QueueError> {
        self.0.dead_letters(stage, max).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_failover_is_reported_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let pipeline = open_with(dir.path(), clock.clone()).await.unwrap();
    let id = pipeline.services.intake(event(8)).await.unwrap().handoff_id;
    pipeline.drain().await.unwrap();
    clock.advance(chrono::Duration::days(3));
    let mut services = (*pipeline.services).clone();
    services.queue = Arc::new(SendsFail(pipeline.services.queue.clone()));
    let report = services.sweep(100, 4).await.unwrap();
    assert_eq!((report.due, report.failed), (1, 1), "{report:?}");
    assert_eq!(report.failures.len(), 1);
    let failure = &report.failures[0];
    assert_eq!(failure.handoff_id, id);
    assert_eq!(failure.fault, "transient");
    assert!(
        failure.error.contains("connection refused"),
        "{}",
        failure.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_whose_account_owner_write_failed_is_repaired_by_its_retry() {
    use handoff_domain::claim_link::ClaimAction;
    use handoff_domain::service::stages::StageOutcome;
    use handoff_testkit::faulty_store::FaultyStore;

    let dir = tempfile::tempdir().unwrap();
    let pipeline = open_with(dir.path(), start()).await.unwrap();
    let id = pipeline.services.intake(event(9)).await.unwrap().handoff_id;
    pipeline.drain().await.unwrap();
    let store = Arc::new(FaultyStore::new(pipeline.services.store.clone()));
    let mut services = (*pipeline.services).clone();
    services.store = store.clone();
    let record = services.store.get(&id).await.unwrap().unwrap();
    let rep = record.owner.clone().unwrap().rep.unwrap();
    let domain = record
        .company_domain
        .clone()
        .expect("the lead names its company");

    store.fail_next("set_account_owner", 1);
    let first = services.claim(&id, &rep, ClaimAction::Accept).await;
    assert!(first.is_err(), "{first:?}");
    assert_eq!(store.failures("set_account_owner"), 1);
    let saved = services.store.get(&id).await.unwrap().unwrap();
    assert_eq!(saved.state, State::Accepted);
    assert_eq!(services.store.account_owner(&domain).await.unwrap(), None);

    // The rep (or Slack) retries: "already done", and the account owner is learned now.
    let retry = services
        .claim(&id, &rep, ClaimAction::Accept)
        .await
        .unwrap();
    assert_eq!(retry, StageOutcome::AlreadyDone(State::Accepted));
    assert_eq!(
        services.store.account_owner(&domain).await.unwrap(),
        Some(rep.clone())
    );
}
