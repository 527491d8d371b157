//! The seeded fault campaign on the cloud adapters: DynamoDB store and SQS queues on the
//! emulator, every port behind a faulty wrapper (`handoff_testkit::faults::campaign`), more
//! than a thousand events. Every accepted event must end notified exactly once (or closed
//! without handoff, as the rules say) or dead-lettered with a reason: none lost, and no
//! duplicate notification but those a notifier call that failed after delivering explains.
//!
//! SQS counts every delivery toward its redrive policy, so the queues get the deployed
//! `maxReceiveCount` (50) and the consumers' policy stays within it; visibility timeouts and
//! postponements are whole seconds there (1 s: shorter than many a stage run on the emulator,
//! so a delivery can reach a second consumer while the first still works on it).
//!
//! The emulator backs up a whole table before every transaction (moto's rollback copy), so a
//! write costs time and memory in proportion to the table: the campaign runs in [`PARTS`] parts
//! of 35 events, [`AT_ONCE`] at a time, each on a fresh table and fresh queues deleted after it,
//! and their reports add up to one.
//!
//! The seed is printed with the report; `HANDOFF_CAMPAIGN_SEED=<n>` reruns one.
//!
//! Needs `AWS_ENDPOINT_URL` (`eval "$(scripts/emulator.sh start)"`). Without it: a notice and an
//! early return on a developer machine, a failure under `CI=true`.

use handoff_aws::DynamoStore;
use handoff_domain::ports::Stage;
use handoff_testkit::faults::campaign::{self, Backend, CampaignReport, Settings, FAST_POLICY};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The deployed template's `MaxReceiveCount`.
const MAX_RECEIVES: u32 = 50;
/// Campaigns of their own, each on a fresh table and fresh queues.
const PARTS: usize = 30;
/// Parts running at once (a new one starts as soon as one ends).
const AT_ONCE: usize = 6;

/// A name no other run uses.
fn unique(part: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{:x}-{part}",
        nanos ^ (u128::from(std::process::id()) << 64)
    )
}

/// One part of the campaign on a fresh table and fresh queues, deleted afterwards (the emulator
/// keeps everything in memory).
async fn run_part(sdk: &handoff_aws::config::SdkConfig, settings: Settings) -> CampaignReport {
    let name = format!("handoff-campaign-{}", unique(settings.part));
    let dynamodb = handoff_aws::config::dynamodb_client(sdk);
    let sqs = handoff_aws::config::sqs_client(sdk);
    handoff_aws::ensure_table(&dynamodb, &name)
        .await
        .expect("table");
    let queue = Arc::new(
        handoff_aws::ensure_queues(&sqs, &name, MAX_RECEIVES)
            .await
            .expect("queues"),
    );
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), &name));
    let backend = Backend {
        name: "DynamoDB and SQS (emulator)",
        store: store.clone(),
        threads: store,
        queue: queue.clone(),
        visibility: Duration::from_secs(1),
        longest_postponement: Duration::from_secs(1),
        // One message per receive, so a delivery is answered as soon as it can be; an empty
        // receive waits up to a second for one (SQS long polling).
        batch: 1,
        consumers: 2,
        poll_pause: Duration::ZERO,
        policy: FAST_POLICY.within(MAX_RECEIVES),
    };
    let report = campaign::run(backend, settings).await;
    dynamodb
        .delete_table()
        .table_name(&name)
        .send()
        .await
        .expect("delete the table");
    for stage in Stage::ALL {
        let urls = queue.urls(stage);
        for url in [&urls.queue, &urls.dead_letter] {
            sqs.delete_queue()
                .queue_url(url)
                .send()
                .await
                .expect("delete a queue");
        }
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_through_random_faults_on_dynamodb_and_sqs_none_lost_none_duplicated() {
    if handoff_testkit::emulator::with_test_credentials().is_none() {
        return;
    }
    let started = Instant::now();
    let sdk = handoff_aws::aws_config_from_env().await;
    let settings = Settings::standard(campaign::seed_from_env());
    let odds = settings.odds.clone();
    let gate = tokio::sync::Semaphore::new(AT_ONCE);
    let runs = settings.split(PARTS).into_iter().map(|part| {
        let (sdk, gate) = (&sdk, &gate);
        async move {
            let _turn = gate.acquire().await.expect("the gate stays open");
            run_part(sdk, part).await
        }
    });
    let parts = handoff_testkit::join_all(runs).await;
    let report = CampaignReport::merge(parts, started.elapsed());
    eprintln!("{report}");
    report.assert_sound(1_000, &odds);
}
