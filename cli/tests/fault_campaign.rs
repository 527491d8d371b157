//! The seeded fault campaign on the local store: SQLite store and SQLite queues in a temporary
//! directory, every port behind a faulty wrapper (`handoff_testkit::faults::campaign`), more
//! than a thousand events. Every accepted event must end notified exactly once (or closed
//! without handoff, as the rules say) or dead-lettered with a reason: none lost, and no
//! duplicate notification but those a notifier call that failed after delivering explains.
//!
//! The seed is printed with the report; `HANDOFF_CAMPAIGN_SEED=<n>` reruns one.

use handoff_local::{SqliteQueue, SqliteStore};
use handoff_testkit::faults::campaign::{self, Backend, Settings, FAST_POLICY};
use std::sync::Arc;
use std::time::Duration;

/// Receives before a message goes to the dead-letter queue, as `handoff serve` has it.
const MAX_RECEIVES: u32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_through_random_faults_on_sqlite_none_lost_none_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("handoff.sqlite")).unwrap());
    let queue = Arc::new(SqliteQueue::open(dir.path().join("queue.sqlite"), MAX_RECEIVES).unwrap());
    let settings = Settings::standard(campaign::seed_from_env());
    let odds = settings.odds.clone();
    let backend = Backend {
        name: "SQLite (store and queues)",
        store: store.clone(),
        threads: store,
        queue,
        // Shorter than many a stage run here: deliveries often overrun it and reach a second
        // consumer while the first still works, which the stage's lease must handle.
        visibility: Duration::from_millis(250),
        longest_postponement: FAST_POLICY.cap,
        batch: 10,
        consumers: 2,
        poll_pause: Duration::from_millis(5),
        policy: FAST_POLICY,
    };
    let report = campaign::run(backend, settings).await;
    eprintln!("{report}");
    report.assert_sound(1_000, &odds);
}
