//! The [`StageQueue`] conformance cases.
//!
//! Requirements on the queue under test (see [`queue_conformance!`](crate::queue_conformance)):
//! fresh and empty for every test, redrive after [`MAX_RECEIVES`] deliveries, and a
//! `send_raw(stage, body)` method for poison bodies.
//!
//! Timing: visibility timeouts are whole seconds (SQS has no finer unit); waits poll with a
//! deadline ([`EVENTUALLY`]) so a backend with sampling or eventual consistency passes, while a
//! wrong answer still fails. A `receive` on an empty queue may wait (long-poll) up to about one
//! second, not more.
//!
//! What the cases pin down beyond the trait's doc comments:
//! - `send` accepts any number of messages (an SQS adapter must chunk by 10); `receive` accepts
//!   any `max` (an SQS adapter must cap it at 10) and never returns more than `max`.
//! - `receive_count` is 1 on the first delivery and grows by one per redelivery; every
//!   delivery has a new receipt.
//! - A message delivered [`MAX_RECEIVES`] times and not acked is never delivered again: it
//!   lands in the stage's dead-letter queue with a reason containing `max receives`.
//! - `ack` with a receipt the queue never issued is `QueueError::InvalidReceipt`.
//! - `postpone` hides a delivery for its delay (a one-second delay is honoured to within
//!   100 ms), after which the message comes back with the next receive count.
//! - `dead_letter` moves the message at once with the given reason; `dead_letters` reads
//!   without removing. Stages (and their dead-letter queues) are independent.
//! - A dead letter has an id of its own, names the handoff its body is about, and says when it
//!   was dead-lettered (within [`CLOCK_SKEW`] of the test's clock) and after how many receives.
//! - `redrive` moves the dead letters of a stage (all, or one handoff's) back to the stage
//!   queue and says how many; a redriven message is delivered again with receive count 1.
//! - Bodies come back byte for byte, also when they are not JSON.

use crate::fixtures;
use handoff_domain::ports::{DeadLetter, Delivery, QueueError, Stage, StageMessage, StageQueue};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// The queue under test must move a message to its dead-letter queue after this many
/// deliveries (SQS: redrive policy `maxReceiveCount = 3`).
pub const MAX_RECEIVES: u32 = 3;

/// How long a case waits for something that must eventually happen.
pub const EVENTUALLY: Duration = Duration::from_secs(10);

/// The short visibility timeout the redelivery cases use.
pub const SHORT_VISIBILITY: Duration = Duration::from_secs(1);

/// Long enough to collect a few messages before any reappears, short enough to wait out.
pub const MEDIUM_VISIBILITY: Duration = Duration::from_secs(2);

/// A visibility timeout no case outlives.
pub const LONG_VISIBILITY: Duration = Duration::from_secs(60);

/// How far a backend's clock (SQS's) may be from the test's when a dead letter's time is checked.
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The future returned by the `send_raw` hook.
pub type RawSendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), QueueError>> + 'a>>;

/// Enqueues a raw body as is (the adapter's `send_raw`).
pub type SendRaw<'a> = dyn Fn(Stage, String) -> RawSendFuture<'a> + 'a;

fn message(n: usize, stage: Stage) -> StageMessage {
    fixtures::stage_message(&format!("queue-{n}"), stage)
}

fn parse(delivery: &Delivery) -> StageMessage {
    serde_json::from_str(&delivery.body).unwrap_or_else(|e| {
        panic!(
            "a sent StageMessage comes back as JSON ({e}): {:?}",
            delivery.body
        )
    })
}

/// Receives until at least `want` deliveries arrived (or [`EVENTUALLY`] passed); asserts no
/// receive returns more than `max`.
async fn receive_at_least(
    queue: &dyn StageQueue,
    stage: Stage,
    want: usize,
    max: usize,
    visibility: Duration,
) -> Vec<Delivery> {
    let started = Instant::now();
    let mut got = Vec::new();
    while got.len() < want {
        let batch = queue
            .receive(stage, max, visibility)
            .await
            .expect("receive");
        assert!(
            batch.len() <= max,
            "receive({max}) returned {} messages",
            batch.len()
        );
        got.extend(batch);
        if got.len() < want {
            assert!(
                started.elapsed() < EVENTUALLY,
                "expected {want} deliveries on {stage:?}, got {} after {EVENTUALLY:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    got
}

/// Reads the dead letters of `stage` until `check` holds (or [`EVENTUALLY`] passed).
async fn dead_letters_until(
    queue: &dyn StageQueue,
    stage: Stage,
    max: usize,
    what: &str,
    check: impl Fn(&[DeadLetter]) -> bool,
) -> Vec<DeadLetter> {
    let started = Instant::now();
    loop {
        let letters = queue.dead_letters(stage, max).await.expect("dead_letters");
        assert!(
            letters.len() <= max,
            "dead_letters({max}) returned {}",
            letters.len()
        );
        if check(&letters) {
            return letters;
        }
        assert!(
            started.elapsed() < EVENTUALLY,
            "{what}: dead letters of {stage:?} are {letters:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn sorted_bodies<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().map(str::to_string).collect();
    v.sort();
    v
}

/// 25 messages sent at once (more than one SQS batch) all come back once, as JSON stage
/// messages with receive count 1; `receive` honours `max` and accepts `max > 10`.
pub async fn case_round_trip_batches_over_ten(queue: &dyn StageQueue) {
    let sent: Vec<StageMessage> = (0..25).map(|n| message(n, Stage::Classify)).collect();
    queue.send(Stage::Classify, &sent).await.unwrap();

    let first = receive_at_least(queue, Stage::Classify, 1, 3, LONG_VISIBILITY).await;
    let mut got = first;
    got.extend(receive_at_least(queue, Stage::Classify, 25 - got.len(), 10, LONG_VISIBILITY).await);
    assert_eq!(
        got.len(),
        25,
        "every message once, no duplicates while invisible"
    );
    let mut ids: Vec<String> = got
        .iter()
        .map(|d| parse(d).handoff_id.to_string())
        .collect();
    ids.sort();
    let mut want: Vec<String> = sent.iter().map(|m| m.handoff_id.to_string()).collect();
    want.sort();
    assert_eq!(ids, want);
    assert!(got.iter().all(|d| parse(d).stage == Stage::Classify));
    assert!(
        got.iter().all(|d| d.receive_count == 1),
        "first deliveries have receive_count 1"
    );
    let mut receipts: Vec<&str> = got.iter().map(|d| d.receipt.as_str()).collect();
    receipts.sort_unstable();
    receipts.dedup();
    assert_eq!(receipts.len(), 25, "receipts are unique");

    // Everything is in flight: a large `max` is accepted and finds nothing.
    assert_eq!(
        queue
            .receive(Stage::Classify, 25, LONG_VISIBILITY)
            .await
            .unwrap(),
        vec![]
    );
    for d in &got {
        queue.ack(Stage::Classify, &d.receipt).await.unwrap();
    }
    // An empty send is a no-op.
    queue.send(Stage::Classify, &[]).await.unwrap();
}

/// A received message stays invisible for the visibility timeout, then comes back with
/// receive_count + 1 and a new receipt.
pub async fn case_received_is_invisible_then_redelivered(queue: &dyn StageQueue) {
    let visibility = Duration::from_secs(2);
    queue
        .send(Stage::Assign, &[message(1, Stage::Assign)])
        .await
        .unwrap();
    let first = receive_at_least(queue, Stage::Assign, 1, 10, visibility).await;
    let received_at = Instant::now();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);

    let during = queue.receive(Stage::Assign, 10, visibility).await.unwrap();
    assert!(
        received_at.elapsed() >= visibility || during.is_empty(),
        "a received message is invisible during its visibility timeout: {during:?}"
    );
    tokio::time::sleep(
        (visibility + Duration::from_millis(500)).saturating_sub(received_at.elapsed()),
    )
    .await;

    let again = receive_at_least(queue, Stage::Assign, 1, 10, visibility).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, first[0].body);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(
        again[0].receipt, first[0].receipt,
        "each delivery has its own receipt"
    );
    queue.ack(Stage::Assign, &again[0].receipt).await.unwrap();
}

/// An acked message never comes back; the unacked one does.
pub async fn case_ack_removes_for_good(queue: &dyn StageQueue) {
    let sent = [message(1, Stage::Classify), message(2, Stage::Classify)];
    queue.send(Stage::Classify, &sent).await.unwrap();
    let got = receive_at_least(queue, Stage::Classify, 2, 10, MEDIUM_VISIBILITY).await;
    assert_eq!(got.len(), 2);
    let (acked, kept) = (&got[0], &got[1]);
    queue.ack(Stage::Classify, &acked.receipt).await.unwrap();
    tokio::time::sleep(MEDIUM_VISIBILITY + Duration::from_millis(500)).await;

    let again = receive_at_least(queue, Stage::Classify, 1, 10, MEDIUM_VISIBILITY).await;
    assert_eq!(
        again.len(),
        1,
        "only the unacked message returns: {again:?}"
    );
    assert_eq!(again[0].body, kept.body);
    assert_eq!(again[0].receive_count, 2);
    queue.ack(Stage::Classify, &again[0].receipt).await.unwrap();
    tokio::time::sleep(MEDIUM_VISIBILITY + Duration::from_millis(500)).await;

    assert_eq!(
        queue
            .receive(Stage::Classify, 10, MEDIUM_VISIBILITY)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        queue.dead_letters(Stage::Classify, 10).await.unwrap(),
        vec![]
    );
}

/// A receipt the queue never issued is refused.
pub async fn case_ack_with_unknown_receipt_is_invalid(queue: &dyn StageQueue) {
    match queue.ack(Stage::Classify, "not-a-receipt").await {
        Err(QueueError::InvalidReceipt) => {}
        other => panic!("expected InvalidReceipt, got {other:?}"),
    }
}

/// Messages and dead letters of one stage never show up in another.
pub async fn case_stages_are_independent(queue: &dyn StageQueue) {
    queue
        .send(
            Stage::Classify,
            &[message(1, Stage::Classify), message(2, Stage::Classify)],
        )
        .await
        .unwrap();
    queue
        .send(Stage::Assign, &[message(3, Stage::Assign)])
        .await
        .unwrap();

    let assign = receive_at_least(queue, Stage::Assign, 1, 10, LONG_VISIBILITY).await;
    assert_eq!(assign.len(), 1);
    assert_eq!(parse(&assign[0]), message(3, Stage::Assign));
    let classify = receive_at_least(queue, Stage::Classify, 2, 10, LONG_VISIBILITY).await;
    assert_eq!(classify.len(), 2);
    assert!(classify.iter().all(|d| parse(d).stage == Stage::Classify));

    queue
        .dead_letter(Stage::Classify, &classify[0], "test: poison")
        .await
        .unwrap();
    dead_letters_until(queue, Stage::Classify, 10, "classify dead letter", |l| {
        l.len() == 1
    })
    .await;
    assert_eq!(queue.dead_letters(Stage::Assign, 10).await.unwrap(), vec![]);
    // The assign delivery's receipt is not valid on the classify queue's messages and v.v.:
    // acking each on its own stage works.
    queue.ack(Stage::Assign, &assign[0].receipt).await.unwrap();
    queue
        .ack(Stage::Classify, &classify[1].receipt)
        .await
        .unwrap();
}

/// `postpone` hides the delivery for the given delay (not for the receive's visibility
/// timeout), then the message comes back with the next receive count; a postponed message can
/// still be acked.
pub async fn case_postpone_brings_a_message_back_after_the_delay(queue: &dyn StageQueue) {
    queue
        .send(Stage::Classify, &[message(8, Stage::Classify)])
        .await
        .unwrap();
    let first = receive_at_least(queue, Stage::Classify, 1, 10, LONG_VISIBILITY).await;
    assert_eq!(first.len(), 1);
    queue
        .postpone(Stage::Classify, &first[0], Duration::from_secs(1))
        .await
        .unwrap();
    let postponed_at = Instant::now();
    let again = receive_at_least(queue, Stage::Classify, 1, 10, LONG_VISIBILITY).await;
    assert!(
        postponed_at.elapsed() >= Duration::from_millis(900),
        "came back after {:?}, before the delay",
        postponed_at.elapsed()
    );
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].body, first[0].body);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, first[0].receipt);
    queue.ack(Stage::Classify, &again[0].receipt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        queue
            .receive(Stage::Classify, 10, SHORT_VISIBILITY)
            .await
            .unwrap(),
        vec![]
    );
}

/// After [`MAX_RECEIVES`] unacked deliveries the message is dead-lettered with a reason naming
/// max receives, and never delivered again.
pub async fn case_max_receives_moves_to_dead_letters(queue: &dyn StageQueue) {
    queue
        .send(Stage::Classify, &[message(7, Stage::Classify)])
        .await
        .unwrap();
    let mut body = String::new();
    for n in 1..=MAX_RECEIVES {
        let got = receive_at_least(queue, Stage::Classify, 1, 10, SHORT_VISIBILITY).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].receive_count, n, "delivery {n}");
        body = got[0].body.clone();
        tokio::time::sleep(SHORT_VISIBILITY + Duration::from_millis(200)).await;
    }

    let started = Instant::now();
    let letters = loop {
        let got = queue
            .receive(Stage::Classify, 10, SHORT_VISIBILITY)
            .await
            .unwrap();
        assert_eq!(got, vec![], "no delivery after {MAX_RECEIVES} receives");
        let letters = queue.dead_letters(Stage::Classify, 10).await.unwrap();
        if !letters.is_empty() {
            break letters;
        }
        assert!(
            started.elapsed() < EVENTUALLY,
            "the message never reached the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].body, body);
    assert!(
        letters[0]
            .reason
            .to_ascii_lowercase()
            .contains("max receives"),
        "reason names max receives: {:?}",
        letters[0].reason
    );
    assert_eq!(
        letters[0].handoff_id,
        Some(message(7, Stage::Classify).handoff_id)
    );
    assert_eq!(letters[0].receive_count, MAX_RECEIVES);
    assert!(!letters[0].id.is_empty(), "a dead letter has an id");
    tokio::time::sleep(SHORT_VISIBILITY + Duration::from_millis(200)).await;
    assert_eq!(
        queue
            .receive(Stage::Classify, 10, SHORT_VISIBILITY)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(queue.dead_letters(Stage::Assign, 10).await.unwrap(), vec![]);
}

/// `dead_letter` moves the delivered message at once, with the given reason; the other
/// message of the stage is unaffected.
pub async fn case_dead_letter_moves_at_once_with_reason(queue: &dyn StageQueue) {
    let sent = [message(1, Stage::Assign), message(2, Stage::Assign)];
    queue.send(Stage::Assign, &sent).await.unwrap();
    let got = receive_at_least(queue, Stage::Assign, 2, 10, MEDIUM_VISIBILITY).await;
    let (poison, fine) = (&got[0], &got[1]);
    let reason = "handoff h_0 not found (permanent)";
    queue
        .dead_letter(Stage::Assign, poison, reason)
        .await
        .unwrap();

    let letters =
        dead_letters_until(queue, Stage::Assign, 10, "dead_letter", |l| !l.is_empty()).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        (letters[0].body.as_str(), letters[0].reason.as_str()),
        (poison.body.as_str(), reason)
    );
    tokio::time::sleep(MEDIUM_VISIBILITY + Duration::from_millis(500)).await;
    let again = receive_at_least(queue, Stage::Assign, 1, 10, MEDIUM_VISIBILITY).await;
    assert_eq!(
        again.len(),
        1,
        "the dead-lettered message is not redelivered: {again:?}"
    );
    assert_eq!(again[0].body, fine.body);
    queue.ack(Stage::Assign, &again[0].receipt).await.unwrap();
}

/// `dead_letters` reads without removing and honours `max`.
pub async fn case_dead_letters_lists_without_removing(queue: &dyn StageQueue) {
    let sent: Vec<StageMessage> = (0..3).map(|n| message(n, Stage::Classify)).collect();
    queue.send(Stage::Classify, &sent).await.unwrap();
    let got = receive_at_least(queue, Stage::Classify, 3, 10, LONG_VISIBILITY).await;
    for (n, d) in got.iter().enumerate() {
        queue
            .dead_letter(Stage::Classify, d, &format!("reason {n}"))
            .await
            .unwrap();
    }
    let mut want: Vec<(String, String)> = got
        .iter()
        .enumerate()
        .map(|(n, d)| (d.body.clone(), format!("reason {n}")))
        .collect();
    want.sort();
    let as_pairs = |letters: &[DeadLetter]| {
        let mut v: Vec<(String, String)> = letters
            .iter()
            .map(|l| (l.body.clone(), l.reason.clone()))
            .collect();
        v.sort();
        v
    };
    for read in 1..=3 {
        dead_letters_until(queue, Stage::Classify, 10, &format!("read {read}"), |l| {
            as_pairs(l) == want
        })
        .await;
    }
    let two = dead_letters_until(queue, Stage::Classify, 2, "max 2", |l| l.len() == 2).await;
    assert!(as_pairs(&two).iter().all(|p| want.contains(p)));
    dead_letters_until(queue, Stage::Classify, 10, "after max 2", |l| {
        as_pairs(l) == want
    })
    .await;
    assert_eq!(
        queue
            .receive(Stage::Classify, 10, LONG_VISIBILITY)
            .await
            .unwrap(),
        vec![]
    );
}

/// An empty queue answers quickly (at most a ~1 s long-poll) with nothing.
pub async fn case_receive_on_empty_queue_is_quick(queue: &dyn StageQueue) {
    for stage in Stage::ALL {
        let started = Instant::now();
        assert_eq!(
            queue.receive(stage, 10, SHORT_VISIBILITY).await.unwrap(),
            vec![]
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "receive on an empty queue took {:?}",
            started.elapsed()
        );
        assert_eq!(queue.dead_letters(stage, 10).await.unwrap(), vec![]);
    }
}

/// Bodies the domain did not write (poison) come back byte for byte, through delivery and
/// through the dead-letter queue.
pub async fn case_bodies_preserved_byte_for_byte(queue: &dyn StageQueue, send_raw: &SendRaw<'_>) {
    let bodies: Vec<String> = vec![
        "not json at all".into(),
        "{\"handoff_id\": 42, \"stage\": ".into(),
        "  leading and trailing spaces  ".into(),
        "tabs\tand\nnew lines\n".into(),
        "ünïcødé ✓ 🚀 <xml attr=\"1\"/> &amp; 'quotes' \\back\\slash %s {}".into(),
        format!("{{\"big\": \"{}\"}}", "x".repeat(20_000)),
    ];
    for body in &bodies {
        send_raw(Stage::Assign, body.clone())
            .await
            .expect("send_raw");
    }
    let got = receive_at_least(queue, Stage::Assign, bodies.len(), 10, LONG_VISIBILITY).await;
    assert_eq!(got.len(), bodies.len());
    let want = sorted_bodies(bodies.iter().map(String::as_str));
    assert_eq!(sorted_bodies(got.iter().map(|d| d.body.as_str())), want);

    for d in &got {
        queue
            .dead_letter(Stage::Assign, d, "unparseable body")
            .await
            .unwrap();
    }
    let letters = dead_letters_until(queue, Stage::Assign, 10, "poison dead letters", |l| {
        l.len() == bodies.len()
    })
    .await;
    assert_eq!(sorted_bodies(letters.iter().map(|l| l.body.as_str())), want);
    assert!(letters.iter().all(|l| l.reason == "unparseable body"));
}

/// A dead letter names its handoff, its reason, when it was dead-lettered and after how many
/// receives; ids are distinct.
pub async fn case_dead_letters_name_handoff_reason_time_and_receives(queue: &dyn StageQueue) {
    let before = chrono::Utc::now();
    let twice = message(1, Stage::Assign);
    queue
        .send(Stage::Assign, std::slice::from_ref(&twice))
        .await
        .unwrap();
    receive_at_least(queue, Stage::Assign, 1, 10, SHORT_VISIBILITY).await;
    tokio::time::sleep(SHORT_VISIBILITY + Duration::from_millis(200)).await;
    let second = receive_at_least(queue, Stage::Assign, 1, 10, LONG_VISIBILITY).await;
    assert_eq!(second[0].receive_count, 2);
    queue
        .dead_letter(Stage::Assign, &second[0], "crm rejected the owner")
        .await
        .unwrap();

    let once = message(2, Stage::Assign);
    queue
        .send(Stage::Assign, std::slice::from_ref(&once))
        .await
        .unwrap();
    let first = receive_at_least(queue, Stage::Assign, 1, 10, LONG_VISIBILITY).await;
    queue
        .dead_letter(Stage::Assign, &first[0], "handoff not found")
        .await
        .unwrap();
    let after = chrono::Utc::now();

    let letters = dead_letters_until(queue, Stage::Assign, 10, "two dead letters", |l| {
        l.len() == 2
    })
    .await;
    let mut seen: Vec<_> = letters
        .iter()
        .map(|l| {
            (
                l.handoff_id.clone(),
                l.reason.as_str(),
                l.receive_count,
                l.body.as_str(),
            )
        })
        .collect();
    seen.sort();
    let twice_body = serde_json::to_string(&twice).unwrap();
    let once_body = serde_json::to_string(&once).unwrap();
    let mut want = vec![
        (
            Some(twice.handoff_id.clone()),
            "crm rejected the owner",
            2,
            twice_body.as_str(),
        ),
        (
            Some(once.handoff_id.clone()),
            "handoff not found",
            1,
            once_body.as_str(),
        ),
    ];
    want.sort();
    assert_eq!(seen, want);
    let skew = chrono::Duration::from_std(CLOCK_SKEW).unwrap();
    for l in &letters {
        assert!(
            l.at >= before - skew && l.at <= after + skew,
            "dead-lettered at {} (test ran {before} to {after})",
            l.at
        );
    }
    let ids: HashSet<&str> = letters.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "distinct ids: {letters:?}");
    assert!(letters.iter().all(|l| !l.id.is_empty()));
}

/// Dead-letters every message of `sent` (received once) with `reason` and waits until the
/// stage's dead-letter queue shows them.
async fn dead_letter_all(queue: &dyn StageQueue, stage: Stage, sent: &[StageMessage]) {
    queue.send(stage, sent).await.unwrap();
    let got = receive_at_least(queue, stage, sent.len(), 10, LONG_VISIBILITY).await;
    for d in &got {
        queue.dead_letter(stage, d, "test: poison").await.unwrap();
    }
    dead_letters_until(queue, stage, 100, "dead-lettered", |l| {
        l.len() == sent.len()
    })
    .await;
}

/// Redriving one handoff moves only its dead letters; it is delivered again with receive
/// count 1, the others stay.
pub async fn case_redrive_of_one_handoff_moves_only_its_messages(queue: &dyn StageQueue) {
    let sent: Vec<StageMessage> = (1..=3).map(|n| message(n, Stage::Classify)).collect();
    dead_letter_all(queue, Stage::Classify, &sent).await;

    let moved = queue
        .redrive(Stage::Classify, Some(&sent[1].handoff_id))
        .await
        .unwrap();
    assert_eq!(moved, 1, "only the chosen handoff's dead letter moves");
    let left = dead_letters_until(queue, Stage::Classify, 10, "two left", |l| l.len() == 2).await;
    let mut left_ids: Vec<_> = left.iter().map(|l| l.handoff_id.clone()).collect();
    left_ids.sort();
    let mut want = vec![
        Some(sent[0].handoff_id.clone()),
        Some(sent[2].handoff_id.clone()),
    ];
    want.sort();
    assert_eq!(left_ids, want);

    let again = receive_at_least(queue, Stage::Classify, 1, 10, LONG_VISIBILITY).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(parse(&again[0]), sent[1]);
    assert_eq!(
        again[0].receive_count, 1,
        "a redriven message starts afresh"
    );
    queue.ack(Stage::Classify, &again[0].receipt).await.unwrap();
}

/// Redriving a stage moves all its dead letters (not another stage's); each is delivered again
/// with receive count 1.
pub async fn case_redrive_all_delivers_again_with_a_fresh_receive_count(queue: &dyn StageQueue) {
    let classify: Vec<StageMessage> = (1..=2).map(|n| message(n, Stage::Classify)).collect();
    dead_letter_all(queue, Stage::Classify, &classify).await;
    let assign = [message(3, Stage::Assign)];
    dead_letter_all(queue, Stage::Assign, &assign).await;

    assert_eq!(queue.redrive(Stage::Classify, None).await.unwrap(), 2);
    dead_letters_until(queue, Stage::Classify, 10, "classify emptied", |l| {
        l.is_empty()
    })
    .await;
    let again = receive_at_least(queue, Stage::Classify, 2, 10, LONG_VISIBILITY).await;
    assert_eq!(again.len(), 2, "{again:?}");
    let mut ids: Vec<String> = again
        .iter()
        .map(|d| parse(d).handoff_id.to_string())
        .collect();
    ids.sort();
    let mut want: Vec<String> = classify.iter().map(|m| m.handoff_id.to_string()).collect();
    want.sort();
    assert_eq!(ids, want);
    assert!(again.iter().all(|d| d.receive_count == 1), "{again:?}");
    for d in &again {
        queue.ack(Stage::Classify, &d.receipt).await.unwrap();
    }
    // The other stage's dead letter stayed, until its own redrive.
    let kept = dead_letters_until(queue, Stage::Assign, 10, "assign kept", |l| l.len() == 1).await;
    assert_eq!(kept[0].handoff_id, Some(assign[0].handoff_id.clone()));
    assert_eq!(queue.redrive(Stage::Assign, None).await.unwrap(), 1);
    let back = receive_at_least(queue, Stage::Assign, 1, 10, LONG_VISIBILITY).await;
    assert_eq!(parse(&back[0]), assign[0]);
    assert_eq!(back[0].receive_count, 1);
    queue.ack(Stage::Assign, &back[0].receipt).await.unwrap();
}

/// A redrive that finds nothing to move returns 0 and changes nothing.
pub async fn case_redrive_of_nothing_returns_zero(queue: &dyn StageQueue) {
    for stage in Stage::ALL {
        assert_eq!(queue.redrive(stage, None).await.unwrap(), 0);
    }
    let sent = [message(1, Stage::Assign)];
    dead_letter_all(queue, Stage::Assign, &sent).await;
    let stranger = message(2, Stage::Assign).handoff_id;
    assert_eq!(
        queue.redrive(Stage::Assign, Some(&stranger)).await.unwrap(),
        0
    );
    assert_eq!(
        queue
            .redrive(Stage::Classify, Some(&sent[0].handoff_id))
            .await
            .unwrap(),
        0,
        "the handoff's dead letter is in another stage"
    );
    let letters =
        dead_letters_until(queue, Stage::Assign, 10, "still there", |l| l.len() == 1).await;
    assert_eq!(letters[0].handoff_id, Some(sent[0].handoff_id.clone()));
    assert_eq!(
        queue
            .receive(Stage::Assign, 10, LONG_VISIBILITY)
            .await
            .unwrap(),
        vec![]
    );
}
