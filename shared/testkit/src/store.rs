//! The [`HandoffStore`] conformance cases.
//!
//! Every case gets a fresh, empty store and uses the fixed fixture times ([`fixtures::t0`]),
//! never the wall clock. What the cases pin down beyond the trait's doc comments:
//!
//! - `create` of an existing id returns `AlreadyExists(current state)` and changes nothing.
//! - `update` of a missing id is `NotFound` (never an upsert); a version mismatch is
//!   `VersionConflict { id, expected: record.version - 1 }` and writes neither record nor entry.
//! - `timeline` of an unknown id is empty; entries come back equal (timestamps to the
//!   nanosecond) and ordered by numeric version (10 after 9).
//! - `due` pages: every page but the last holds exactly `limit` items, `next` is `None` exactly
//!   when no due item is left (no trailing empty page), and
//!   `items_read == items.len() + (next.is_some() as usize)`: a store reads one item past the
//!   page to know whether there is a next one, and nothing that is not due (sparse index, range
//!   condition on the deadline). Items with equal deadlines may come in any order among
//!   themselves; deadlines differing by less than a second are ordered correctly.
//! - `by_contact` / `by_domain` return summaries of the *current* records, newest first.
//! - `created_between` returns current records in any order.
//! - Counters and rep loads start at 0; the first increment returns 1.
//! - Fairness counters read as zeros for a rep never counted; `record_assignment` adds every
//!   share and win exactly once under concurrency and returns the new load (`None` without one).
//!
//! Erasure and retention have their own suite, [`privacy`] (`store_privacy_conformance!`).

pub mod privacy;

use crate::fixtures::{self, at, email, rep, t0};
use crate::join_all;
use chrono::{Duration, NaiveDate};
use handoff_domain::ids::CompanyDomain;
use handoff_domain::lifecycle::{HandoffRecord, State, Transition};
use handoff_domain::ports::{
    AvailabilityOverride, CreateOutcome, DueHandoff, HandoffStore, HandoffSummary, StoreError,
};

fn assert_conflict(result: Result<(), StoreError>, record: &HandoffRecord) {
    match result {
        Err(StoreError::VersionConflict { id, expected }) => {
            assert_eq!(id, record.id, "conflict names the handoff");
            assert_eq!(
                expected,
                record.version - 1,
                "conflict names the expected stored version"
            );
        }
        other => panic!(
            "expected VersionConflict for {} v{}, got {other:?}",
            record.id, record.version
        ),
    }
}

fn due_of(record: &HandoffRecord) -> DueHandoff {
    DueHandoff {
        id: record.id.clone(),
        due_at: record.due_at().expect("record is due"),
    }
}

/// Creating an existing id reports its current state and leaves record and timeline untouched.
pub async fn case_create_if_absent(store: &dyn HandoffStore) {
    let (record, entry) = fixtures::record("create-1");
    assert_eq!(
        store.create(&record, &entry).await.unwrap(),
        CreateOutcome::Created
    );

    let mut replay = record.clone();
    replay.updated_at = at(5);
    replay.reroutes = 9;
    let mut replay_entry = entry.clone();
    replay_entry.note = "replayed".into();
    assert_eq!(
        store.create(&replay, &replay_entry).await.unwrap(),
        CreateOutcome::AlreadyExists(State::Received)
    );
    assert_eq!(store.get(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(
        store.timeline(&record.id).await.unwrap(),
        vec![entry.clone()]
    );

    // The outcome carries the *current* state, not the state of the replayed record.
    let mut moved = record.clone();
    let classified = fixtures::step(&mut moved, Transition::Classify, at(1));
    store.update(&moved, &classified).await.unwrap();
    assert_eq!(
        store.create(&record, &entry).await.unwrap(),
        CreateOutcome::AlreadyExists(State::Classified)
    );
    assert_eq!(store.get(&record.id).await.unwrap(), Some(moved));
    assert_eq!(
        store.timeline(&record.id).await.unwrap(),
        vec![entry, classified]
    );
}

/// Reading an unknown id: no record, empty timeline.
pub async fn case_get_missing(store: &dyn HandoffStore) {
    let (other, other_entry) = fixtures::record("present");
    store.create(&other, &other_entry).await.unwrap();
    let missing = fixtures::handoff_id("missing");
    assert_eq!(store.get(&missing).await.unwrap(), None);
    assert_eq!(store.timeline(&missing).await.unwrap(), vec![]);
}

/// An update from the stored version replaces the whole record and appends its entry.
pub async fn case_update_with_expected_version(store: &dyn HandoffStore) {
    let (mut record, created) = fixtures::record("update-1");
    store.create(&record, &created).await.unwrap();

    let classified = fixtures::step(&mut record, Transition::Classify, at(1));
    store.update(&record, &classified).await.unwrap();
    assert_eq!(store.get(&record.id).await.unwrap(), Some(record.clone()));

    // Every field is replaced (owner, SLA, routing trace…), not merged.
    record.owner = Some(fixtures::owner("lena"));
    record.sla = Some(fixtures::sla(at(61)));
    record.routing = vec![];
    record.crm_ref = Some("crm-1".into());
    let assigned = fixtures::step(&mut record, Transition::Assign, at(2));
    store.update(&record, &assigned).await.unwrap();

    let stored = store.get(&record.id).await.unwrap().expect("record exists");
    assert_eq!(stored, record);
    assert_eq!(stored.version, 3);
    assert_eq!(
        store.timeline(&record.id).await.unwrap(),
        vec![created, classified, assigned]
    );
}

/// A stale (or future) version conflicts and writes neither the record nor the entry.
pub async fn case_update_with_stale_version_changes_nothing(store: &dyn HandoffStore) {
    let (record, created) = fixtures::record("stale-1");
    store.create(&record, &created).await.unwrap();
    let mut current = record.clone();
    let classified = fixtures::step(&mut current, Transition::Classify, at(1));
    store.update(&current, &classified).await.unwrap();

    // A writer still holding version 1 tries to close it.
    let mut stale = record.clone();
    let closed = fixtures::step(&mut stale, Transition::Close, at(2));
    assert_conflict(store.update(&stale, &closed).await, &stale);

    // A version from the future is no better.
    let mut ahead = current.clone();
    ahead.version = 7;
    let mut ahead_entry = classified.clone();
    ahead_entry.version = 7;
    assert_conflict(store.update(&ahead, &ahead_entry).await, &ahead);

    assert_eq!(store.get(&record.id).await.unwrap(), Some(current));
    assert_eq!(
        store.timeline(&record.id).await.unwrap(),
        vec![created, classified]
    );
}

/// `update` never creates: a missing record is `NotFound` and stays missing.
pub async fn case_update_of_missing_record_is_not_found(store: &dyn HandoffStore) {
    let (mut record, _) = fixtures::record("never-created");
    let classified = fixtures::step(&mut record, Transition::Classify, at(1));
    match store.update(&record, &classified).await {
        Err(StoreError::NotFound(id)) => assert_eq!(id, record.id),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.get(&record.id).await.unwrap(), None);
    assert_eq!(store.timeline(&record.id).await.unwrap(), vec![]);
}

/// Concurrent writers from the same version: exactly one wins, the rest conflict.
pub async fn case_concurrent_updates_exactly_one_wins(store: &dyn HandoffStore) {
    let (record, created) = fixtures::record("race-1");
    store.create(&record, &created).await.unwrap();
    let mut timeline = vec![created];
    let mut base = record;

    // Round 1: eight classifiers from v1; round 2: eight closers from the winner's v2.
    for (round, transition) in [(1, Transition::Classify), (2, Transition::Close)] {
        let candidates: Vec<_> = (0..8)
            .map(|i| {
                let mut r = base.clone();
                let mut e = fixtures::step(&mut r, transition, at(round * 10 + i));
                e.note = format!("writer {i}");
                (r, e)
            })
            .collect();
        let results = join_all(candidates.iter().map(|(r, e)| store.update(r, e))).await;
        let winners: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one writer wins, got {results:?}"
        );
        for (i, result) in results.into_iter().enumerate() {
            if i != winners[0] {
                assert_conflict(result, &candidates[i].0);
            }
        }
        let (winner, entry) = candidates[winners[0]].clone();
        assert_eq!(store.get(&winner.id).await.unwrap(), Some(winner.clone()));
        timeline.push(entry);
        assert_eq!(store.timeline(&winner.id).await.unwrap(), timeline);
        base = winner;
    }
}

/// The timeline comes back oldest first by numeric version, across more than nine versions.
pub async fn case_timeline_ordered_by_version(store: &dyn HandoffStore) {
    let (mut record, created) = fixtures::record("timeline-1");
    store.create(&record, &created).await.unwrap();
    let mut expected = vec![created];
    let mut minute = 0;
    let mut next = || {
        minute += 1;
        at(minute)
    };
    let when = next();
    expected.push(fixtures::advance(store, &mut record, Transition::Classify, when).await);
    record.owner = Some(fixtures::owner("lena"));
    record.sla = Some(fixtures::sla(at(60)));
    let when = next();
    expected.push(fixtures::advance(store, &mut record, Transition::Assign, when).await);
    for rep_id in ["max", "omar", "ines"] {
        let when = next();
        expected
            .push(fixtures::advance(store, &mut record, Transition::RecordCrmWrite, when).await);
        let when = next();
        expected.push(
            fixtures::advance(store, &mut record, Transition::RecordNotification, when).await,
        );
        let when = next();
        let entry = fixtures::reroute(&mut record, rep_id, at(120), when);
        store.update(&record, &entry).await.unwrap();
        expected.push(entry);
    }
    let when = next();
    expected.push(fixtures::advance(store, &mut record, Transition::Accept, when).await);
    assert!(expected.len() >= 12, "the case must cross version 10");

    let timeline = store.timeline(&record.id).await.unwrap();
    assert_eq!(
        timeline.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=expected.len() as u64).collect::<Vec<_>>()
    );
    assert_eq!(timeline, expected);
    assert_eq!(store.get(&record.id).await.unwrap(), Some(record));
}

/// `due` returns exactly the records whose `due_at` (an SLA or a stage deadline) is at or before
/// `now`, earliest first; accepted, closed and not-yet-due records are left out.
pub async fn case_due_only_overdue_awaiting_earliest_first(store: &dyn HandoffStore) {
    let now = at(60);
    let seed = |id: &'static str, state: State, deadline| async move {
        fixtures::seed_in_state(store, id, fixtures::BUYER_EMAIL, t0(), state, deadline).await
    };
    let a = seed("due-a", State::Assigned, at(50)).await;
    let b = seed("due-b", State::Notified, at(20)).await;
    let c = seed("due-c", State::CrmWritten, now).await; // exactly now: due
    let e = seed(
        "due-e",
        State::Assigned,
        at(50) + Duration::milliseconds(500),
    )
    .await;
    let i = seed("due-i", State::Escalated, at(30)).await;
    let j = seed("due-j", State::RequalificationRequested, at(40)).await;
    // Not due:
    seed(
        "due-future",
        State::Assigned,
        now + Duration::milliseconds(1),
    )
    .await;
    seed("due-later", State::Notified, at(61)).await;
    // Owe a stage, due by its deadline (later).
    seed("due-received", State::Received, at(70)).await;
    seed("due-classified", State::Classified, at(80)).await;
    seed("due-closed", State::ClosedWithoutHandoff, at(0)).await;
    seed("due-accepted", State::Accepted, at(10)).await;

    let page = store.due(now, 100, None).await.unwrap();
    let expected: Vec<DueHandoff> = [&b, &i, &j, &a, &e, &c].into_iter().map(due_of).collect();
    assert_eq!(
        page.items, expected,
        "due items, earliest first, sub-second order kept"
    );
    assert_eq!(page.next, None);
    assert_eq!(page.items_read, expected.len(), "reads only what is due");

    let before_any = store.due(at(19), 100, None).await.unwrap();
    assert_eq!(before_any.items, vec![]);
    assert_eq!(before_any.next, None);
    assert_eq!(before_any.items_read, 0);
}

/// Paging with `limit` and the cursor returns every due item exactly once, in deadline
/// order; full pages, no trailing empty page, one look-ahead read per non-final page.
pub async fn case_due_pages_cover_every_item_once(store: &dyn HandoffStore) {
    let deadlines = [at(1), at(2), at(2), at(2), at(3), at(4), at(5)];
    let mut due = Vec::new();
    for (n, deadline) in deadlines.iter().enumerate() {
        let r = fixtures::seed_awaiting(store, &format!("page-{n}"), "lena", *deadline).await;
        due.push(due_of(&r));
    }
    fixtures::seed_awaiting(store, "page-future-1", "lena", at(11)).await;
    fixtures::seed_awaiting(store, "page-future-2", "lena", at(30)).await;
    let now = at(10);
    let sorted = |items: &[DueHandoff]| {
        let mut keys: Vec<(String, i64)> = items
            .iter()
            .map(|d| {
                (
                    d.id.to_string(),
                    d.due_at.timestamp_nanos_opt().unwrap_or_default(),
                )
            })
            .collect();
        keys.sort();
        keys
    };
    let all = sorted(&due);

    for limit in [1usize, 2, 3, 6, 7, 8, 100] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(
                pages <= due.len() + 1,
                "limit {limit}: paging does not terminate"
            );
            let page = store.due(now, limit, cursor.take()).await.unwrap();
            let remaining = due.len() - seen.len();
            assert_eq!(
                page.items.len(),
                remaining.min(limit),
                "limit {limit}: page {pages} is full unless last"
            );
            assert_eq!(
                page.next.is_some(),
                remaining > limit,
                "limit {limit}: next is None exactly at the end"
            );
            assert_eq!(
                page.items_read,
                page.items.len() + usize::from(page.next.is_some()),
                "limit {limit}: items_read is the page plus one look-ahead"
            );
            seen.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), due.len(), "limit {limit}: every due item once");
        assert_eq!(sorted(&seen), all, "limit {limit}: the due items");
        assert!(
            seen.windows(2).all(|w| w[0].due_at <= w[1].due_at),
            "limit {limit}: earliest first across pages: {seen:?}"
        );
    }
}

/// Records that are not due cost nothing: `items_read` counts due items only.
pub async fn case_due_reads_only_due_items(store: &dyn HandoffStore) {
    let now = at(100);
    let mut n = 0;
    let mut seed = |state: State, deadline| {
        n += 1;
        let id = format!("sparse-{n}");
        async move {
            fixtures::seed_in_state(store, &id, fixtures::BUYER_EMAIL, t0(), state, deadline).await
        }
    };
    let mut expected = vec![
        due_of(&seed(State::Notified, at(40)).await),
        due_of(&seed(State::Assigned, at(10)).await),
    ];
    for _ in 0..4 {
        // Owes the classify stage, due later.
        seed(State::Received, at(200)).await;
        seed(State::Accepted, at(5)).await;
        seed(State::ClosedWithoutHandoff, at(0)).await;
        seed(State::Assigned, at(200)).await;
    }
    expected.sort_by_key(|d| d.due_at);
    let page = store.due(now, 10, None).await.unwrap();
    assert_eq!(page.items, expected);
    assert_eq!(page.next, None);
    assert_eq!(page.items_read, 2, "only due items are read (sparse index)");
}

/// The due index follows the record: a new deadline moves it (no stale duplicate), leaving
/// the awaiting states removes it.
pub async fn case_due_follows_state_and_deadline_changes(store: &dyn HandoffStore) {
    let mut record = fixtures::seed_awaiting(store, "follow-1", "lena", at(5)).await;
    assert_eq!(
        store.due(at(10), 10, None).await.unwrap().items,
        vec![due_of(&record)]
    );

    // Missed: rerouted to max with a new deadline in the future.
    let entry = fixtures::reroute(&mut record, "max", at(30), at(10));
    store.update(&record, &entry).await.unwrap();
    let page = store.due(at(10), 10, None).await.unwrap();
    assert_eq!((page.items, page.next, page.items_read), (vec![], None, 0));
    let page = store.due(at(40), 10, None).await.unwrap();
    assert_eq!(
        page.items,
        vec![DueHandoff {
            id: record.id.clone(),
            due_at: at(30)
        }]
    );
    assert_eq!(page.items_read, 1);

    // Escalated: due when its CRM write (a stage it owes) is, five minutes on.
    fixtures::advance(store, &mut record, Transition::Escalate, at(41)).await;
    assert_eq!(record.due_at(), Some(at(46)));
    assert_eq!(store.due(at(45), 10, None).await.unwrap().items, vec![]);
    assert_eq!(
        store.due(at(46), 10, None).await.unwrap().items,
        vec![due_of(&record)]
    );

    // Accepted with the CRM in sync: gone from the index for good.
    record.crm.synced = Some(record.crm_sync_key());
    fixtures::advance(store, &mut record, Transition::Accept, at(42)).await;
    let page = store.due(at(500), 10, None).await.unwrap();
    assert_eq!((page.items, page.next, page.items_read), (vec![], None, 0));
}

async fn seed_lookups(store: &dyn HandoffStore) -> Vec<HandoffRecord> {
    let s = |id: &'static str, mail: &'static str, minute: i64, state: State| async move {
        fixtures::seed_in_state(store, id, mail, at(minute), state, at(minute + 60)).await
    };
    vec![
        s("look-d1", "dana@acme.com", 1, State::Received).await,
        s("look-d2", "dana@acme.com", 2, State::Accepted).await,
        s("look-d3", "dana@acme.com", 3, State::ClosedWithoutHandoff).await,
        s("look-d4", "dana@acme.com", 4, State::Notified).await,
        s("look-s1", "sam@acme.com", 5, State::Classified).await,
        s("look-g1", "dana@gmail.com", 6, State::Received).await,
        s("look-o1", "olga@other.io", 7, State::Received).await,
    ]
}

fn summaries(records: &[&HandoffRecord]) -> Vec<HandoffSummary> {
    records.iter().map(|r| HandoffSummary::of(r)).collect()
}

/// `by_contact`: all handoffs of that email (open or not), newest first, at most `limit`,
/// summarising the current record.
pub async fn case_by_contact_newest_first_with_limit(store: &dyn HandoffStore) {
    let mut r = seed_lookups(store).await;
    let dana = email("dana@acme.com");
    // The summary follows updates (state, owner).
    r[0].owner = Some(fixtures::owner("lena"));
    r[0].sla = Some(fixtures::sla(at(90)));
    fixtures::advance(store, &mut r[0], Transition::Classify, at(8)).await;
    let all = store.by_contact(&dana, 10).await.unwrap();
    assert_eq!(all, summaries(&[&r[3], &r[2], &r[1], &r[0]]));
    assert_eq!(all[3].state, State::Classified);
    assert_eq!(all[3].owner, Some(rep("lena")));
    assert_eq!(
        store.by_contact(&dana, 2).await.unwrap(),
        summaries(&[&r[3], &r[2]])
    );
    assert_eq!(
        store
            .by_contact(&email("dana@gmail.com"), 10)
            .await
            .unwrap(),
        summaries(&[&r[5]])
    );
    assert_eq!(
        store
            .by_contact(&email("nobody@acme.com"), 10)
            .await
            .unwrap(),
        vec![]
    );
}

/// `by_domain`: all handoffs of that company domain, newest first, at most `limit`;
/// free-mail contacts have no domain and appear under none.
pub async fn case_by_domain_newest_first_with_limit(store: &dyn HandoffStore) {
    let r = seed_lookups(store).await;
    let acme = CompanyDomain::parse("acme.com").unwrap();
    assert_eq!(
        store.by_domain(&acme, 10).await.unwrap(),
        summaries(&[&r[4], &r[3], &r[2], &r[1], &r[0]])
    );
    assert_eq!(
        store.by_domain(&acme, 3).await.unwrap(),
        summaries(&[&r[4], &r[3], &r[2]])
    );
    let other = CompanyDomain::parse("other.io").unwrap();
    assert_eq!(
        store.by_domain(&other, 10).await.unwrap(),
        summaries(&[&r[6]])
    );
    assert_eq!(
        store
            .by_domain(&CompanyDomain::parse("gmail.com").unwrap(), 10)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .by_domain(&CompanyDomain::parse("nobody.io").unwrap(), 10)
            .await
            .unwrap(),
        vec![]
    );
}

/// `created_between(from, to)` covers `[from, to)`: from included, to excluded; it returns
/// current records.
pub async fn case_created_between_is_half_open(store: &dyn HandoffStore) {
    let mut records = Vec::new();
    for (n, minute) in [0i64, 60, 120, 180].into_iter().enumerate() {
        let created = at(minute);
        records.push(
            fixtures::seed_in_state(
                store,
                &format!("range-{n}"),
                "dana@acme.com",
                created,
                State::Received,
                at(999),
            )
            .await,
        );
    }
    let just_before_to = at(180) - Duration::nanoseconds(1);
    let (mut late, e) = fixtures::record_from("range-late", "dana@acme.com", just_before_to);
    store.create(&late, &e).await.unwrap();
    fixtures::advance(store, &mut late, Transition::Classify, at(200)).await;
    fixtures::advance(store, &mut records[1], Transition::Close, at(200)).await;

    let mut got = store.created_between(at(60), at(180)).await.unwrap();
    got.sort_by_key(|r| r.created_at);
    assert_eq!(got, vec![records[1].clone(), records[2].clone(), late]);
    assert_eq!(store.created_between(at(60), at(60)).await.unwrap(), vec![]);
    assert_eq!(store.created_between(at(-60), at(0)).await.unwrap(), vec![]);
    assert_eq!(
        store.created_between(at(-60), at(1)).await.unwrap(),
        vec![records[0].clone()]
    );
}

/// Account owners: unknown is `None`, set then overwrite, domains independent.
pub async fn case_account_owner_set_get_overwrite(store: &dyn HandoffStore) {
    let acme = CompanyDomain::parse("acme.com").unwrap();
    let other = CompanyDomain::parse("other.io").unwrap();
    assert_eq!(store.account_owner(&acme).await.unwrap(), None);
    store.set_account_owner(&acme, &rep("lena")).await.unwrap();
    assert_eq!(store.account_owner(&acme).await.unwrap(), Some(rep("lena")));
    assert_eq!(store.account_owner(&other).await.unwrap(), None);
    store.set_account_owner(&acme, &rep("max")).await.unwrap();
    store.set_account_owner(&other, &rep("omar")).await.unwrap();
    assert_eq!(store.account_owner(&acme).await.unwrap(), Some(rep("max")));
    assert_eq!(
        store.account_owner(&other).await.unwrap(),
        Some(rep("omar"))
    );
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 1, d).expect("valid day")
}

/// Rep load: starts at 0, counts per rep and per day independently; `add` returns the new count.
pub async fn case_rep_load_per_rep_and_day(store: &dyn HandoffStore) {
    let (lena, max) = (rep("lena"), rep("max"));
    assert_eq!(store.rep_load(&lena, day(7)).await.unwrap(), 0);
    assert_eq!(store.add_rep_load(&lena, day(7)).await.unwrap(), 1);
    assert_eq!(store.add_rep_load(&lena, day(7)).await.unwrap(), 2);
    assert_eq!(store.add_rep_load(&max, day(7)).await.unwrap(), 1);
    assert_eq!(store.add_rep_load(&lena, day(8)).await.unwrap(), 1);
    assert_eq!(store.rep_load(&lena, day(7)).await.unwrap(), 2);
    assert_eq!(store.rep_load(&max, day(7)).await.unwrap(), 1);
    assert_eq!(store.rep_load(&lena, day(8)).await.unwrap(), 1);
    assert_eq!(store.rep_load(&max, day(8)).await.unwrap(), 0);
    assert_eq!(store.rep_load(&lena, day(6)).await.unwrap(), 0);
}

/// The batched read agrees with single reads, keeps the order asked, and counts absent loads as 0.
pub async fn case_rep_loads_batch_matches_single_reads(store: &dyn HandoffStore) {
    let (lena, max) = (rep("lena"), rep("max"));
    for _ in 0..3 {
        store.add_rep_load(&lena, day(7)).await.unwrap();
    }
    store.add_rep_load(&max, day(8)).await.unwrap();
    let wanted = vec![
        (max.clone(), day(8)),
        (lena.clone(), day(7)),
        (lena.clone(), day(8)),
        (rep("nobody"), day(7)),
        (lena.clone(), day(7)),
    ];
    assert_eq!(store.rep_loads(&wanted).await.unwrap(), vec![1, 3, 0, 0, 3]);
    assert_eq!(store.rep_loads(&[]).await.unwrap(), Vec::<u32>::new());
    // More reps than one backend batch holds (DynamoDB: 100 keys).
    let many: Vec<_> = (0..130)
        .map(|i| (rep(&format!("rep-{i}")), day(7)))
        .collect();
    for (r, d) in many.iter().step_by(13) {
        store.add_rep_load(r, *d).await.unwrap();
    }
    let counts = store.rep_loads(&many).await.unwrap();
    assert_eq!(counts.len(), 130);
    assert_eq!(counts.iter().sum::<u32>(), 10);
    assert!(counts.iter().step_by(13).all(|c| *c == 1));
}

/// Twenty concurrent increments: each sees a distinct count, none is lost.
pub async fn case_rep_load_atomic_under_concurrency(store: &dyn HandoffStore) {
    let lena = rep("lena");
    let results = join_all((0..20).map(|_| store.add_rep_load(&lena, day(7)))).await;
    let mut counts: Vec<u32> = results.into_iter().map(|r| r.unwrap()).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<_>>());
    assert_eq!(store.rep_load(&lena, day(7)).await.unwrap(), 20);
    assert_eq!(store.rep_load(&lena, day(8)).await.unwrap(), 0);
}

/// Counters start at 1 on first use and are independent per name.
pub async fn case_counter_sequential_and_per_name(store: &dyn HandoffStore) {
    assert_eq!(store.next_counter("rr:emea-ae").await.unwrap(), 1);
    assert_eq!(store.next_counter("rr:emea-ae").await.unwrap(), 2);
    assert_eq!(store.next_counter("rr:amer-ae").await.unwrap(), 1);
    assert_eq!(store.next_counter("rr:emea-ae").await.unwrap(), 3);
    assert_eq!(store.next_counter("rr:amer-ae").await.unwrap(), 2);
}

/// Twenty concurrent increments of one counter: distinct values 1..=20, other names untouched.
pub async fn case_counter_atomic_under_concurrency(store: &dyn HandoffStore) {
    let results = join_all((0..20).map(|_| store.next_counter("rr:race"))).await;
    let mut values: Vec<u64> = results.into_iter().map(|r| r.unwrap()).collect();
    values.sort_unstable();
    assert_eq!(values, (1..=20).collect::<Vec<_>>());
    assert_eq!(store.next_counter("rr:race").await.unwrap(), 21);
    assert_eq!(store.next_counter("rr:other").await.unwrap(), 1);
}

/// Availability overrides: empty at first, one per rep, a new value replaces the old one.
pub async fn case_availability_set_overwrite_list(store: &dyn HandoffStore) {
    assert_eq!(store.availability().await.unwrap(), vec![]);
    let away = AvailabilityOverride {
        rep: rep("lena"),
        available: false,
        from: None,
        until: Some(at(24 * 60) + Duration::milliseconds(250)),
        reason: None,
        set_at: t0(),
    };
    let back = AvailabilityOverride {
        rep: rep("max"),
        available: true,
        from: None,
        until: None,
        reason: None,
        set_at: at(1),
    };
    store.set_availability(&away).await.unwrap();
    store.set_availability(&back).await.unwrap();
    let mut list = store.availability().await.unwrap();
    list.sort_by(|a, b| a.rep.cmp(&b.rep));
    assert_eq!(list, vec![away.clone(), back.clone()]);

    let returned = AvailabilityOverride {
        rep: rep("lena"),
        available: true,
        from: None,
        until: None,
        reason: None,
        set_at: at(2),
    };
    store.set_availability(&returned).await.unwrap();
    let mut list = store.availability().await.unwrap();
    list.sort_by(|a, b| a.rep.cmp(&b.rep));
    assert_eq!(list, vec![returned, back]);
}

// ---- One open handoff per buyer (a later event joins the buyer's open handoff) ----------------

/// Summaries carry the buyer's name and phone as the event gave them, through both lookups (the
/// classify stage recognises the same person at the same company by them); a buyer who gave
/// neither has none.
pub async fn case_summaries_carry_the_buyers_name_and_phone(store: &dyn HandoffStore) {
    let dana = fixtures::event_of_person(
        "person-dana",
        "dana@acme.com",
        "Dana Scully",
        Some("+49 30 1234567"),
        at(1),
    );
    let mut sam = fixtures::event_from("person-sam", "sam@acme.com", at(2));
    sam.kind.buyer_mut().name = None;
    let mut records = Vec::new();
    for (event, created) in [(dana, at(1)), (sam, at(2))] {
        let (record, entry) = HandoffRecord::received(event, created);
        store.create(&record, &entry).await.unwrap();
        records.push(record);
    }
    let by_contact = store.by_contact(&email("dana@acme.com"), 10).await.unwrap();
    assert_eq!(by_contact, summaries(&[&records[0]]));
    assert_eq!(by_contact[0].name.as_deref(), Some("Dana Scully"));
    assert_eq!(by_contact[0].phone.as_deref(), Some("+49 30 1234567"));
    let acme = CompanyDomain::parse("acme.com").unwrap();
    let by_domain = store.by_domain(&acme, 10).await.unwrap();
    assert_eq!(by_domain, summaries(&[&records[1], &records[0]]));
    assert_eq!(
        (by_domain[0].name.clone(), by_domain[0].phone.clone()),
        (None, None)
    );
}

/// `attached` is stored like any other state: the event's record keeps the handoff it joined,
/// the lookups report it, it is never due, a replayed create reports it; the joined handoff
/// keeps its touches and its `new_touch` timeline entry.
pub async fn case_attached_records_and_touches_round_trip(store: &dyn HandoffStore) {
    use handoff_domain::lifecycle::{Actor, AttachedTouch};
    let mut open = fixtures::seed_in_state(
        store,
        "join-open",
        "dana@acme.com",
        at(0),
        State::Notified,
        at(60),
    )
    .await;
    let (mut joining, entry) = fixtures::record_from("join-new", "dana@acme.com", at(5));
    store.create(&joining, &entry).await.unwrap();
    joining.attached_to = Some(open.id.clone());
    fixtures::advance(store, &mut joining, Transition::Attach, at(6)).await;
    let touch = AttachedTouch {
        key: "website\u{1f}join-new".into(),
        handoff_id: joining.id.clone(),
        at: at(6),
        source: joining.event.source.clone(),
        channel: joining.event.channel,
        trigger: handoff_domain::package::TriggerKind::DemoRequest,
        summary: "a web form via web form from website".into(),
        told: None,
    };
    let touched = open
        .touch(touch, Actor::System("classify".into()), "new touch")
        .expect("a first touch");
    store.update(&open, &touched).await.unwrap();

    assert_eq!(store.get(&joining.id).await.unwrap(), Some(joining.clone()));
    assert_eq!(store.get(&open.id).await.unwrap(), Some(open.clone()));
    let lookups = store.by_contact(&email("dana@acme.com"), 10).await.unwrap();
    assert_eq!(lookups, summaries(&[&joining, &open]));
    assert_eq!(lookups[0].state, State::Attached);
    assert_eq!(
        store.due(at(500), 10, None).await.unwrap().items,
        vec![due_of(&open)],
        "an attached record is never due"
    );
    let last = store.timeline(&open.id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.event.as_str(), last.version),
        ("new_touch", open.version)
    );
    assert_eq!(
        store.create(&joining, &entry).await.unwrap(),
        CreateOutcome::AlreadyExists(State::Attached)
    );
}

// ---- Round-robin fairness counters, recorded with the load --------------------------------------

/// One round-robin decision among `candidates` (rep, share in millionths) won by `winner`, with
/// the winner's load on `on`.
fn assignment(
    candidates: &[(&str, u64)],
    winner: &str,
    on: Option<NaiveDate>,
) -> handoff_domain::ports::Assignment {
    handoff_domain::ports::Assignment {
        load: on.map(|d| (rep(winner), d)),
        fair_share: Some(handoff_domain::routing::FairShare {
            shares: candidates.iter().map(|(r, s)| (rep(r), *s)).collect(),
            winner: rep(winner),
        }),
    }
}

fn counters(owed: u64, won: u64) -> handoff_domain::routing::FairnessCounters {
    handoff_domain::routing::FairnessCounters { owed, won }
}

/// Fairness counters start at zero, come back in the order asked (repeats included), add up
/// every share and win, and move only with a fair share; `record_assignment` returns the new
/// load, or `None` without one, and counts it on the same item `rep_load` and `add_rep_load` use.
pub async fn case_fairness_counters_add_up_with_the_load(store: &dyn HandoffStore) {
    let (lena, max, omar) = (rep("lena"), rep("max"), rep("omar"));
    assert_eq!(
        store.fairness(&[lena.clone(), max.clone()]).await.unwrap(),
        vec![counters(0, 0); 2]
    );
    assert_eq!(store.fairness(&[]).await.unwrap(), vec![]);
    let two_to_one = [("lena", 666_667), ("max", 333_333)];
    let first = assignment(&two_to_one, "lena", Some(day(7)));
    assert_eq!(store.record_assignment(&first).await.unwrap(), Some(1));
    let second = assignment(&two_to_one, "max", Some(day(7)));
    assert_eq!(store.record_assignment(&second).await.unwrap(), Some(1));
    assert_eq!(store.record_assignment(&first).await.unwrap(), Some(2));
    // Alone after hours: the whole handoff is owed to the one candidate, who wins it.
    let alone = assignment(&[("omar", 1_000_000)], "omar", None);
    assert_eq!(store.record_assignment(&alone).await.unwrap(), None);
    // Continuity and escalations count the load only.
    let load_only = handoff_domain::ports::Assignment {
        load: Some((max.clone(), day(8))),
        fair_share: None,
    };
    assert_eq!(store.record_assignment(&load_only).await.unwrap(), Some(1));
    assert_eq!(store.add_rep_load(&max, day(8)).await.unwrap(), 2);
    assert_eq!(
        store
            .fairness(&[
                omar.clone(),
                lena.clone(),
                rep("nobody"),
                max.clone(),
                lena.clone()
            ])
            .await
            .unwrap(),
        vec![
            counters(1_000_000, 1),
            counters(2_000_001, 2),
            counters(0, 0),
            counters(999_999, 1),
            counters(2_000_001, 2),
        ]
    );
    assert_eq!(store.rep_load(&lena, day(7)).await.unwrap(), 2);
    assert_eq!(store.rep_load(&max, day(7)).await.unwrap(), 1);
    assert_eq!(store.rep_load(&max, day(8)).await.unwrap(), 2);
    assert_eq!(store.rep_load(&omar, day(7)).await.unwrap(), 0);
}

/// Sixty assignments recorded at once from as many futures: every share, win and load is
/// counted exactly once, and the deficits still sum to zero.
pub async fn case_fairness_counters_exact_under_concurrency(store: &dyn HandoffStore) {
    let candidates = [("lena", 500_000), ("max", 333_333), ("omar", 166_667)];
    // Of every six: lena 3, max 2, omar 1.
    let winners = ["lena", "max", "lena", "omar", "lena", "max"];
    let assignments: Vec<_> = (0..60)
        .map(|i| assignment(&candidates, winners[i % winners.len()], Some(day(7))))
        .collect();
    let results = join_all(assignments.iter().map(|a| store.record_assignment(a))).await;
    let mut loads: Vec<u32> = results.into_iter().map(|r| r.unwrap().unwrap()).collect();
    loads.sort_unstable();
    let mut expected: Vec<u32> = (1..=30).chain(1..=20).chain(1..=10).collect();
    expected.sort_unstable();
    assert_eq!(loads, expected, "every load increment seen exactly once");
    let reps = [rep("lena"), rep("max"), rep("omar")];
    let got = store.fairness(&reps).await.unwrap();
    assert_eq!(
        got,
        vec![
            counters(30_000_000, 30),
            counters(19_999_980, 20),
            counters(10_000_020, 10),
        ]
    );
    let deficits: i128 = got.iter().map(|c| c.deficit()).sum();
    assert_eq!(deficits, 0);
    for (r, n) in reps.iter().zip([30, 20, 10]) {
        assert_eq!(store.rep_load(r, day(7)).await.unwrap(), n);
    }
}

/// A roster larger than one backend batch (130 reps) is read in one call, in order.
pub async fn case_fairness_of_a_large_roster(store: &dyn HandoffStore) {
    let reps: Vec<_> = (0..130).map(|i| format!("rep-{i}")).collect();
    let shares: Vec<(&str, u64)> = reps
        .iter()
        .map(|r| (r.as_str(), if r == "rep-0" { 6_700 } else { 7_700 }))
        .collect();
    assert_eq!(shares.iter().map(|(_, s)| s).sum::<u64>(), 1_000_000);
    store
        .record_assignment(&assignment(&shares, "rep-129", None))
        .await
        .unwrap();
    let ids: Vec<_> = reps.iter().map(|r| rep(r)).collect();
    let got = store.fairness(&ids).await.unwrap();
    assert_eq!(got.len(), 130);
    assert_eq!(got[0], counters(6_700, 0));
    assert_eq!(got[1], counters(7_700, 0));
    assert_eq!(got[129], counters(7_700, 1));
}
