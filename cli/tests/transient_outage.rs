//! Transient is not poison, on the local runner: a store outage while a backlog waits is ridden
//! out with backoff and nothing reaches the dead-letter queue, although the messages are
//! delivered many more times than the queue's `max_receives` during the outage; a message that
//! keeps failing past the policy's attempts is dead-lettered with its last error.
//!
//! Time is compressed: the workers retry with a millisecond policy instead of the standard one
//! (2 s doubling to 15 minutes), so the outage lasts only as long as it takes every message to
//! be tried many times.

use chrono::{TimeZone, Utc};
use handoff_cli::runtime::LocalPipeline;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{EmailAddress, ProviderEventId};
use handoff_domain::lifecycle::State;
use handoff_domain::ports::{ManualClock, Stage, StageQueue};
use handoff_domain::service::delivery::RetryPolicy;
use handoff_testkit::faulty_store::FaultyStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

const BACKLOG: usize = 300;

fn event(i: usize) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(include_str!(
        "../../examples/events/02-ai-qualified-lead.json"
    ))
    .unwrap();
    e.provider_event_id = ProviderEventId::parse(format!("outage-{i}")).unwrap();
    e.kind.buyer_mut().email =
        EmailAddress::parse(format!("jordan.blake@peakfreight-{i}.com")).unwrap();
    e
}

const FAST: RetryPolicy = RetryPolicy {
    first: Duration::from_millis(5),
    cap: Duration::from_millis(60),
    max_attempts: 10_000,
};

async fn open(dir: &std::path::Path) -> LocalPipeline {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ));
    let mut pipeline = support::open(dir, clock).await;
    pipeline.retry = FAST;
    pipeline
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_under_a_backlog_dead_letters_nothing_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = open(dir.path()).await;
    let mut ids = Vec::new();
    for i in 0..BACKLOG {
        ids.push(healthy.services.intake(event(i)).await.unwrap().handoff_id);
    }
    // The store goes down: every read of a handoff fails as unavailable.
    let store = Arc::new(FaultyStore::new(healthy.services.store.clone()));
    store.fail_next("get", 1_000_000);
    let mut services = (*healthy.services).clone();
    services.store = store.clone();
    let pipeline = Arc::new(LocalPipeline {
        services: Arc::new(services),
        app: healthy.app.clone(),
        queue: healthy.queue.clone(),
        store: healthy.store.clone(),
        data_dir: healthy.data_dir.clone(),
        retry: FAST,
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = pipeline.spawn_workers(Duration::from_secs(3600), stopped);

    // Wait (however long the machine takes) until the messages were delivered, on average,
    // three times as often as max_receives allows unanswered deliveries.
    let enough = BACKLOG * 3 * handoff_cli::runtime::MAX_RECEIVES as usize;
    let outage = Instant::now();
    while store.failures("get") < enough {
        assert!(
            outage.elapsed() < Duration::from_secs(120),
            "only {} failed reads in two minutes",
            store.failures("get")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for stage in Stage::ALL {
        assert!(healthy
            .queue
            .dead_letters(stage, 10)
            .await
            .unwrap()
            .is_empty());
    }
    // The store comes back.
    store.fail_next("get", 0);
    let started = Instant::now();
    loop {
        let mut notified = 0;
        for id in &ids {
            if healthy.services.store.get(id).await.unwrap().unwrap().state == State::Notified {
                notified += 1;
            }
        }
        if notified == BACKLOG {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{notified} of {BACKLOG} notified a minute after the outage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.send(true).unwrap();
    for w in workers {
        w.await.unwrap();
    }
    for stage in Stage::ALL {
        assert!(
            healthy
                .queue
                .dead_letters(stage, 10)
                .await
                .unwrap()
                .is_empty(),
            "{stage:?}"
        );
        assert_eq!(healthy.queue.depth(stage).await.unwrap(), 0, "{stage:?}");
    }
    for id in &ids {
        let timeline = healthy.services.store.timeline(id).await.unwrap();
        let notified = timeline.iter().filter(|e| e.event == "notified").count();
        assert_eq!(notified, 1, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_past_the_attempt_budget_are_dead_lettered_with_the_last_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = open(dir.path()).await;
    pipeline.retry = RetryPolicy {
        first: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        max_attempts: 8,
    };
    let id = pipeline.services.intake(event(1)).await.unwrap().handoff_id;
    let store = Arc::new(FaultyStore::new(pipeline.services.store.clone()));
    store.fail_next("get", 1_000_000);
    let mut services = (*pipeline.services).clone();
    services.store = store.clone();
    pipeline.services = Arc::new(services);
    let started = Instant::now();
    while pipeline
        .queue
        .dead_letters(Stage::Classify, 10)
        .await
        .unwrap()
        .is_empty()
    {
        pipeline.process_stage(Stage::Classify, 10).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        store.failures("get"),
        8,
        "eight attempts, then the dead-letter queue"
    );
    let letters = pipeline
        .queue
        .dead_letters(Stage::Classify, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].handoff_id.as_ref(), Some(&id));
    assert_eq!(letters[0].receive_count, 8);
    assert!(
        letters[0]
            .reason
            .starts_with("still failing after 8 attempts: ")
            && letters[0].reason.contains("store unavailable"),
        "{}",
        letters[0].reason
    );
}
