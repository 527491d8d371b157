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
