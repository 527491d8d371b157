//! The shared port suites against the embedded adapters, plus crash/restart durability.

use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::{State, Transition};
use handoff_domain::ports::{HandoffStore, Stage, StageQueue};
use handoff_local::{FileCrm, LogNotifier, Purged, QueueErasure, SqliteQueue, SqliteStore};
use handoff_testkit::delivery::CrmSeen;
use handoff_testkit::{fixtures, Guarded};
use std::time::Duration;
use tempfile::TempDir;

/// A store on a fresh file in its own temp dir (the product's configuration).
async fn file_store() -> Guarded<SqliteStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("handoff.sqlite")).unwrap();
    Guarded::new(store, dir)
}

/// A store on a fresh file keeping closed handoffs for the privacy suite's retention.
async fn retaining_file_store() -> Guarded<SqliteStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("handoff.sqlite"))
        .unwrap()
        .with_retention(handoff_testkit::store::privacy::retention());
    Guarded::new(store, dir)
}

/// Queues on a fresh file, redriving after the suite's `MAX_RECEIVES`.
async fn file_queue() -> Guarded<SqliteQueue> {
    let dir = tempfile::tempdir().unwrap();
    let queue = SqliteQueue::open(
        dir.path().join("queue.sqlite"),
        handoff_testkit::queue::MAX_RECEIVES,
    )
    .unwrap();
    Guarded::new(queue, dir)
}

handoff_testkit::store_conformance!(mod sqlite_store, async { file_store().await });
handoff_testkit::store_conformance!(mod sqlite_store_in_memory, async {
    SqliteStore::open_in_memory().unwrap()
});
handoff_testkit::store_privacy_conformance!(mod sqlite_privacy, async {
    retaining_file_store().await
});
handoff_testkit::store_privacy_conformance!(mod sqlite_privacy_in_memory, async {
    SqliteStore::open_in_memory()
        .unwrap()
        .with_retention(handoff_testkit::store::privacy::retention())
});
handoff_testkit::queue_conformance!(mod sqlite_queue, async { file_queue().await });
handoff_testkit::thread_index_suite!(mod sqlite_threads, async { file_store().await });
handoff_testkit::thread_index_suite!(mod sqlite_threads_in_memory, async {
    SqliteStore::open_in_memory().unwrap()
});
handoff_testkit::once_token_suite!(mod sqlite_once, async { file_store().await });
handoff_testkit::once_token_suite!(mod sqlite_once_in_memory, async {
    SqliteStore::open_in_memory().unwrap()
});

handoff_testkit::crm_conformance!(
    mod file_crm,
    async {
        let dir = tempfile::tempdir().unwrap();
        Guarded::new(FileCrm::new(dir.path()).unwrap(), dir)
    },
    |crm: &Guarded<FileCrm>, id: &HandoffId| match crm.read(id).unwrap() {
        // The file is the contact, the package and the owner's task in one.
        Some(record) => CrmSeen {
            contacts: 1,
            packages: 1,
            tasks: 1,
            change_notes: record.owner_changes.len(),
            owner: record
                .package
                .owner
                .and_then(|o| o.rep)
                .map(|r| r.to_string()),
        },
        None => CrmSeen::default(),
    },
);

handoff_testkit::notifier_conformance!(
    mod log_notifier,
    async {
        let dir = tempfile::tempdir().unwrap();
        Guarded::new(LogNotifier::new(dir.path()).unwrap(), dir)
    },
    |n: &Guarded<LogNotifier>, id: &HandoffId| {
        let dir: &TempDir = n.guard().unwrap();
        let log = std::fs::read_to_string(dir.path().join("notifications.jsonl")).unwrap_or_default();
        log.lines().filter(|l| l.contains(id.as_str())).count()
    },
    ("slack:@lena", "email:max@us.example"),
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_crash_resume_redelivers_unacked_message_after_visibility() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let visibility = Duration::from_secs(1);
    let sent = fixtures::stage_message("crash-1", Stage::Assign);
    let first = {
        let queue = SqliteQueue::open(&path, 5).unwrap();
        queue
            .send(Stage::Assign, std::slice::from_ref(&sent))
            .await
            .unwrap();
        queue.send_raw(Stage::Classify, "poison").await.unwrap();
        let got = queue.receive(Stage::Assign, 10, visibility).await.unwrap();
        assert_eq!(got.len(), 1);
        let poison = queue
            .receive(Stage::Classify, 10, visibility)
            .await
            .unwrap();
        queue
            .dead_letter(Stage::Classify, &poison[0], "bad body")
            .await
            .unwrap();
        got.into_iter().next().unwrap()
        // The process "crashes": the queue is dropped without an ack.
    };

    let queue = SqliteQueue::open(&path, 5).unwrap();
    assert_eq!(
        queue.receive(Stage::Assign, 10, visibility).await.unwrap(),
        vec![],
        "still invisible right after the restart"
    );
    tokio::time::sleep(visibility + Duration::from_millis(200)).await;
    let again = queue.receive(Stage::Assign, 10, visibility).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, first.body);
    assert_eq!(
        serde_json::from_str::<handoff_domain::ports::StageMessage>(&again[0].body).unwrap(),
        sent
    );
    assert_eq!(again[0].receive_count, 2);
    queue.ack(Stage::Assign, &again[0].receipt).await.unwrap();
    assert_eq!(
        queue.dead_letters(Stage::Classify, 10).await.unwrap()[0].reason,
        "bad body"
    );
    drop(queue);

    let reopened = SqliteQueue::open(&path, 5).unwrap();
    assert_eq!(
        reopened.depth(Stage::Assign).await.unwrap(),
        0,
        "the ack was durable"
    );
    assert_eq!(
        reopened
            .dead_letters(Stage::Classify, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_reopen_keeps_records_timelines_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data/handoff.sqlite");
    let (record, timeline) = {
        let store = SqliteStore::open(&path).unwrap();
        let mut record =
            fixtures::seed_awaiting(&store, "durable-1", "lena", fixtures::at(5)).await;
        fixtures::advance(
            &store,
            &mut record,
            Transition::RecordCrmWrite,
            fixtures::at(1),
        )
        .await;
        store.next_counter("rr:emea").await.unwrap();
        store
            .add_rep_load(&fixtures::rep("lena"), fixtures::t0().date_naive())
            .await
            .unwrap();
        let timeline = store.timeline(&record.id).await.unwrap();
        (record, timeline)
    };

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(store.timeline(&record.id).await.unwrap(), timeline);
    assert_eq!(timeline.len(), 4);
    let due = store.due(fixtures::at(10), 10, None).await.unwrap();
    assert_eq!(due.items.len(), 1);
    assert_eq!(store.next_counter("rr:emea").await.unwrap(), 2);
    assert_eq!(
        store
            .rep_load(&fixtures::rep("lena"), fixtures::t0().date_naive())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_and_queue_can_share_one_file_and_two_handles_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("handoff.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let queue = SqliteQueue::open(&path, 5).unwrap();
    let other = SqliteStore::open(&path).unwrap();
    let (record, entry) = fixtures::record("shared-file");
    store.create(&record, &entry).await.unwrap();
    queue
        .send(
            Stage::Classify,
            &[fixtures::stage_message("shared-file", Stage::Classify)],
        )
        .await
        .unwrap();
    assert_eq!(other.get(&record.id).await.unwrap(), Some(record));
    assert_eq!(queue.depth(Stage::Classify).await.unwrap(), 1);
    // Two connections writing at once: SQLite's lock plus busy_timeout serialise them.
    let results = handoff_testkit::join_all((0..10).map(|i| {
        let s: &dyn HandoffStore = if i % 2 == 0 { &store } else { &other };
        s.next_counter("shared")
    }))
    .await;
    let mut values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
    values.sort_unstable();
    assert_eq!(values, (1..=10).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retention_nothing_expires_or_is_purged() {
    let store = file_store().await;
    handoff_testkit::store::privacy::case_without_retention_nothing_expires(&*store).await;
    let far = fixtures::at(0) + chrono::Duration::days(100 * 365);
    assert_eq!(store.purge_expired(far).await.unwrap(), Purged::default());
    assert_eq!(
        store
            .created_between(fixtures::at(-1), fixtures::at(10))
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_removes_expired_handoffs_with_their_timelines_and_nothing_else() {
    let store = retaining_file_store().await;
    let keep = chrono::Duration::days(handoff_testkit::store::privacy::RETENTION_DAYS);
    let accepted = fixtures::seed_in_state(
        &*store,
        "purge-accepted",
        "dana@acme.com",
        fixtures::at(1),
        State::Accepted,
        fixtures::at(60),
    )
    .await;
    let open = fixtures::seed_awaiting(&*store, "purge-open", "lena", fixtures::at(60)).await;
    let expiry = store.expires_at(&accepted.id).await.unwrap().unwrap();
    assert_eq!(expiry, fixtures::at(1) + keep);

    let before = expiry - chrono::Duration::seconds(1);
    assert_eq!(
        store.purge_expired(before).await.unwrap(),
        Purged::default()
    );
    assert!(store.get(&accepted.id).await.unwrap().is_some());

    assert_eq!(
        store.purge_expired(expiry).await.unwrap(),
        Purged {
            handoffs: 1,
            timeline_entries: 6
        }
    );
    assert_eq!(store.get(&accepted.id).await.unwrap(), None);
    assert_eq!(store.timeline(&accepted.id).await.unwrap(), vec![]);
    assert_eq!(
        store
            .by_contact(&fixtures::email("dana@acme.com"), 10)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        vec![open.id.clone()]
    );
    assert_eq!(store.get(&open.id).await.unwrap(), Some(open.clone()));
    assert_eq!(store.timeline(&open.id).await.unwrap().len(), 3);
    let far = expiry + chrono::Duration::days(10 * 365);
    assert_eq!(store.purge_expired(far).await.unwrap(), Purged::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_erase_mentions_removes_messages_and_dead_letters_naming_the_buyer() {
    let queue = file_queue().await;
    let erased = fixtures::stage_message("q-erased", Stage::Assign);
    let kept = fixtures::stage_message("q-kept", Stage::Assign);
    queue
        .send(Stage::Assign, &[erased.clone(), kept.clone()])
        .await
        .unwrap();
    queue
        .send(Stage::Classify, std::slice::from_ref(&erased))
        .await
        .unwrap();
    queue
        .send_raw(Stage::Classify, "poison mentioning Dana@Acme.com")
        .await
        .unwrap();
    // One of them in flight, one dead-lettered.
    let got = queue
        .receive(Stage::Classify, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let poison = got.iter().find(|d| d.body.contains("poison")).unwrap();
    queue
        .dead_letter(Stage::Classify, poison, "bad body")
        .await
        .unwrap();
    let needles = vec![
        erased.handoff_id.to_string(),
        "dana@acme.com".to_string(),
        "  ".to_string(),
    ];
    assert_eq!(
        queue.erase_mentions(&needles).await.unwrap(),
        QueueErasure {
            messages: 2,
            dead_letters: 1
        }
    );
    assert_eq!(queue.depth(Stage::Classify).await.unwrap(), 0);
    assert_eq!(
        queue.dead_letters(Stage::Classify, 10).await.unwrap(),
        vec![]
    );
    let left = queue
        .receive(Stage::Assign, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].body.contains(kept.handoff_id.as_str()));
    // The in-flight delivery's ack finds nothing to do.
    let in_flight = got.iter().find(|d| !d.body.contains("poison")).unwrap();
    queue
        .ack(Stage::Classify, &in_flight.receipt)
        .await
        .unwrap();
    assert_eq!(
        queue.erase_mentions(&needles).await.unwrap(),
        QueueErasure::default()
    );
    assert_eq!(
        queue.erase_mentions(&[]).await.unwrap(),
        QueueErasure::default()
    );
}
