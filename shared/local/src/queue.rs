//! [`SqliteQueue`]: at-least-once stage queues with visibility timeouts and dead-letter queues
//! on a SQLite file, with the semantics of SQS plus a redrive policy (checked by
//! `handoff_testkit::queue_conformance!`).
//!
//! A receive claims visible messages in one transaction: it pushes `visible_at` forward by the
//! visibility timeout and bumps `receive_count`. A message whose deliveries without an answer
//! (`receive_count - postponed`) already reached `max_receives` is moved to `dead_letters`
//! instead of being delivered: a postponed delivery (a transient failure the consumer will retry
//! with backoff) does not count. Nothing is lost on a crash: an un-acked message is simply
//! visible again once its timeout passes.
//!
//! A receipt is `<message id>.<receive count>`: unique per delivery (ids are never reused), so
//! a stale receipt from an earlier delivery cannot ack or dead-letter the redelivered message.
//!
//! A dead letter keeps its reason, when it was moved and how many receives it had; a redrive
//! (`handoff dlq redrive`) moves dead letters back in one transaction, safe while a server
//! works the same file.

use crate::db::{Db, DbError, OpenError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{DeadLetter, Delivery, QueueError, Stage, StageMessage, StageQueue};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SCHEMA: &str = include_str!("queue_schema.sql");

/// What [`SqliteQueue::erase_mentions`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueErasure {
    /// Messages waiting or in flight.
    pub messages: usize,
    /// Dead letters.
    pub dead_letters: usize,
}

/// The embedded stage queues: one SQLite file holds every stage and its dead-letter queue.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    max_receives: u32,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("max_receives", &self.max_receives)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn receipt(id: i64, receive_count: i64) -> String {
    format!("{id}.{receive_count}")
}

fn parse_receipt(receipt: &str) -> Result<(i64, i64), QueueError> {
    let (id, count) = receipt.split_once('.').ok_or(QueueError::InvalidReceipt)?;
    Ok((
        id.parse().map_err(|_| QueueError::InvalidReceipt)?,
        count.parse().map_err(|_| QueueError::InvalidReceipt)?,
    ))
}

/// What a receipt found.
enum Claim {
    /// The delivery it names is the message's latest: acted on.
    Done,
    /// The message was redelivered since: the receipt is stale.
    Stale,
    /// The message is gone (acked or dead-lettered before): nothing to do.
    Gone,
}

impl Claim {
    fn into_result(self) -> Result<(), QueueError> {
        match self {
            Claim::Done | Claim::Gone => Ok(()),
            Claim::Stale => Err(QueueError::InvalidReceipt),
        }
    }
}

/// Brings a file written by an older version up to date (idempotent, one transaction):
/// `dead_letters.receive_count`, `messages.postponed`.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (table, column) in [("dead_letters", "receive_count"), ("messages", "postponed")] {
        let has_column = {
            let mut stmt = tx.prepare(&format!("PRAGMA table_info({table})"))?;
            let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
            names
                .collect::<rusqlite::Result<Vec<_>>>()?
                .iter()
                .any(|n| n == column)
        };
        if !has_column {
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"
            ))?;
        }
    }
    tx.commit()
}

fn at_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn message_exists(tx: &rusqlite::Transaction<'_>, id: i64) -> Result<bool, DbError> {
    Ok(tx
        .query_row("SELECT 1 FROM messages WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

impl SqliteQueue {
    /// The redrive threshold the product uses unless told otherwise.
    pub const DEFAULT_MAX_RECEIVES: u32 = 5;

    /// Opens the queues in the SQLite file at `path` (created when missing; it may be the
    /// store's file). A message received `max_receives` times without an ack goes to the
    /// dead-letter queue on its next receive (at least 1).
    pub fn open(path: impl AsRef<Path>, max_receives: u32) -> Result<Self, OpenError> {
        let path = path.as_ref();
        let db = Db::open(path, SCHEMA)?;
        db.setup(migrate).map_err(|source| OpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            db,
            max_receives: max_receives.max(1),
        })
    }

    /// Private in-memory queues, for tests (nothing survives the process).
    pub fn open_in_memory(max_receives: u32) -> Result<Self, OpenError> {
        Ok(Self {
            db: Db::open_in_memory(SCHEMA)?,
            max_receives: max_receives.max(1),
        })
    }

    /// Deliveries before a message is dead-lettered.
    pub fn max_receives(&self) -> u32 {
        self.max_receives
    }

    /// Enqueues `body` as is (tests and tools use it to inject poison messages).
    pub async fn send_raw(&self, stage: Stage, body: &str) -> Result<(), QueueError> {
        self.insert(stage, vec![body.to_string()]).await
    }

    /// Messages of a stage not yet acked or dead-lettered (visible or in flight).
    pub async fn depth(&self, stage: Stage) -> Result<usize, QueueError> {
        self.db
            .run(move |conn| {
                let n: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM messages WHERE stage = ?1",
                    [stage.as_str()],
                    |r| r.get(0),
                )?;
                Ok(usize::try_from(n).unwrap_or(0))
            })
            .await
            .map_err(QueueError::from)
    }

    /// Deletes the messages (pending or in flight) and dead letters of every stage whose body
    /// contains one of `needles`, compared case-insensitively; blank needles are ignored. Used to
    /// erase a buyer (their handoff ids and address): an in-flight message's worker then acks
    /// nothing (`ack` of a gone message succeeds). One transaction.
    pub async fn erase_mentions(&self, needles: &[String]) -> Result<QueueErasure, QueueError> {
        let needles: Vec<String> = needles
            .iter()
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        if needles.is_empty() {
            return Ok(QueueErasure::default());
        }
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut erased = QueueErasure::default();
                for needle in &needles {
                    erased.messages += tx.execute(
                        "DELETE FROM messages WHERE instr(lower(body), ?1) > 0",
                        [needle],
                    )?;
                    erased.dead_letters += tx.execute(
                        "DELETE FROM dead_letters WHERE instr(lower(body), ?1) > 0",
                        [needle],
                    )?;
                }
                tx.commit()?;
                Ok(erased)
            })
            .await
            .map_err(QueueError::from)
    }

    /// Runs `act` on the delivery a receipt names, in one transaction: `act` changes the
    /// message only if the receipt is its latest delivery and returns the rows it changed. None
    /// changed: a stale receipt (the message was delivered again since) is refused, a gone
    /// message (acked or dead-lettered before) is nothing to do.
    async fn on_receipt(
        &self,
        id: i64,
        act: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<usize> + Send + 'static,
    ) -> Result<(), QueueError> {
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let claim = if act(&tx)? > 0 {
                    Claim::Done
                } else if message_exists(&tx, id)? {
                    Claim::Stale
                } else {
                    Claim::Gone
                };
                tx.commit()?;
                Ok(claim)
            })
            .await?
            .into_result()
    }

    async fn insert(&self, stage: Stage, bodies: Vec<String>) -> Result<(), QueueError> {
        if bodies.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO messages (stage, body, visible_at, receive_count, created_at)
                         VALUES (?1, ?2, ?3, 0, ?3)",
                    )?;
                    for body in &bodies {
                        stmt.execute(params![stage.as_str(), body, now])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await
            .map_err(QueueError::from)
    }
}

#[async_trait]
impl StageQueue for SqliteQueue {
    async fn send(&self, stage: Stage, messages: &[StageMessage]) -> Result<(), QueueError> {
        let bodies = messages
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError::Unavailable(format!("cannot encode stage message: {e}")))?;
        self.insert(stage, bodies).await
    }

    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let until = now.saturating_add(millis(visibility));
        let max_receives = i64::from(self.max_receives);
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let (deliveries, dead) = self
            .db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // Redrive: visible messages that were already delivered max_receives times.
                let reason = format!("max receives exceeded ({max_receives})");
                let dead = tx.execute(
                    "INSERT INTO dead_letters (stage, body, reason, at, receive_count)
                     SELECT stage, body, ?4, ?2, receive_count FROM messages
                     WHERE stage = ?1 AND visible_at <= ?2 AND receive_count - postponed >= ?3
                     ORDER BY id",
                    params![stage.as_str(), now, max_receives, reason],
                )?;
                if dead > 0 {
                    tx.execute(
                        "DELETE FROM messages
                         WHERE stage = ?1 AND visible_at <= ?2 AND receive_count - postponed >= ?3",
                        params![stage.as_str(), now, max_receives],
                    )?;
                }
                let mut claimed: Vec<(i64, String, i64)> = {
                    let mut stmt = tx.prepare_cached(
                        "UPDATE messages SET visible_at = ?4, receive_count = receive_count + 1
                         WHERE id IN (SELECT id FROM messages WHERE stage = ?1 AND visible_at <= ?2
                                      ORDER BY visible_at, id LIMIT ?3)
                         RETURNING id, body, receive_count",
                    )?;
                    let rows = stmt.query_map(params![stage.as_str(), now, limit, until], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?;
                    rows.collect::<Result<_, _>>()?
                };
                tx.commit()?;
                claimed.sort_by_key(|(id, _, _)| *id);
                let deliveries = claimed
                    .into_iter()
                    .map(|(id, body, count)| Delivery {
                        body,
                        receipt: receipt(id, count),
                        receive_count: u32::try_from(count).unwrap_or(u32::MAX),
                    })
                    .collect::<Vec<_>>();
                Ok((deliveries, dead))
            })
            .await?;
        if dead > 0 {
            tracing::warn!(
                stage = stage.as_str(),
                count = dead,
                max_receives = self.max_receives,
                "moved messages to the dead-letter queue after max receives"
            );
        }
        Ok(deliveries)
    }

    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError> {
        let (id, count) = parse_receipt(receipt)?;
        self.on_receipt(id, move |tx| {
            tx.execute(
                "DELETE FROM messages WHERE id = ?1 AND stage = ?2 AND receive_count = ?3",
                params![id, stage.as_str(), count],
            )
        })
        .await
    }

    /// Makes the delivery's message visible at now + `delay` and counts the delivery as
    /// postponed (not toward `max_receives`); a stale receipt is refused like `ack`'s.
    async fn postpone(
        &self,
        stage: Stage,
        delivery: &Delivery,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let (id, count) = parse_receipt(&delivery.receipt)?;
        let visible_at = now_ms().saturating_add(millis(delay));
        self.on_receipt(id, move |tx| {
            tx.execute(
                "UPDATE messages SET visible_at = ?4, postponed = postponed + 1
                 WHERE id = ?1 AND stage = ?2 AND receive_count = ?3",
                params![id, stage.as_str(), count, visible_at],
            )
        })
        .await
    }

    async fn dead_letter(
        &self,
        stage: Stage,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        let (id, count) = parse_receipt(&delivery.receipt)?;
        let reason = reason.to_string();
        let now = now_ms();
        self.on_receipt(id, move |tx| {
            let moved = tx.execute(
                "INSERT INTO dead_letters (stage, body, reason, at, receive_count)
                 SELECT stage, body, ?4, ?5, receive_count FROM messages
                 WHERE id = ?1 AND stage = ?2 AND receive_count = ?3",
                params![id, stage.as_str(), count, reason, now],
            )?;
            if moved > 0 {
                tx.execute("DELETE FROM messages WHERE id = ?1", [id])?;
            }
            Ok(moved)
        })
        .await
    }

    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.db
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, body, reason, at, receive_count FROM dead_letters
                     WHERE stage = ?1 ORDER BY id LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![stage.as_str(), limit], |r| {
                    let id: i64 = r.get(0)?;
                    let body: String = r.get(1)?;
                    Ok(DeadLetter {
                        id: id.to_string(),
                        handoff_id: StageMessage::handoff_in(&body),
                        body,
                        reason: r.get(2)?,
                        at: at_millis(r.get(3)?),
                        receive_count: r.get(4)?,
                    })
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .map_err(QueueError::from)
    }

    /// One transaction: copies the chosen dead letters to the stage queue (visible now,
    /// receive count 0, in their dead-letter order) and deletes them.
    async fn redrive(&self, stage: Stage, which: Option<&HandoffId>) -> Result<usize, QueueError> {
        let which = which.cloned();
        let now = now_ms();
        let moved = self
            .db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut chosen: Vec<(i64, String)> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT id, body FROM dead_letters WHERE stage = ?1 ORDER BY id",
                    )?;
                    let rows = stmt.query_map([stage.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    rows.collect::<Result<_, _>>()?
                };
                if let Some(wanted) = &which {
                    chosen.retain(|(_, body)| {
                        StageMessage::handoff_in(body).as_ref() == Some(wanted)
                    });
                }
                {
                    let mut insert = tx.prepare_cached(
                        "INSERT INTO messages (stage, body, visible_at, receive_count, created_at)
                         VALUES (?1, ?2, ?3, 0, ?3)",
                    )?;
                    let mut delete = tx.prepare_cached("DELETE FROM dead_letters WHERE id = ?1")?;
                    for (id, body) in &chosen {
                        insert.execute(params![stage.as_str(), body, now])?;
                        delete.execute([id])?;
                    }
                }
                tx.commit()?;
                Ok(chosen.len())
            })
            .await?;
        if moved > 0 {
            tracing::info!(
                stage = stage.as_str(),
                count = moved,
                "moved dead letters back to the stage queue"
            );
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_testkit::fixtures;

    fn msg(n: usize) -> StageMessage {
        fixtures::stage_message(&format!("unit-{n}"), Stage::Classify)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postponed_deliveries_do_not_count_toward_max_receives() {
        let q = SqliteQueue::open_in_memory(2).unwrap();
        q.send(Stage::Classify, &[msg(1)]).await.unwrap();
        // Twelve transient failures in a row, each postponed: never dead-lettered.
        for n in 1..=12 {
            let got = q
                .receive(Stage::Classify, 10, Duration::from_secs(60))
                .await
                .unwrap();
            assert_eq!(got.len(), 1, "delivery {n}");
            assert_eq!(got[0].receive_count, n);
            q.postpone(Stage::Classify, &got[0], Duration::ZERO)
                .await
                .unwrap();
        }
        assert!(q
            .dead_letters(Stage::Classify, 10)
            .await
            .unwrap()
            .is_empty());
        // Deliveries that get no answer (a crash) still do: two of them and it is dead.
        for _ in 0..2 {
            let got = q
                .receive(Stage::Classify, 10, Duration::ZERO)
                .await
                .unwrap();
            assert_eq!(got.len(), 1);
        }
        assert!(q
            .receive(Stage::Classify, 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty());
        let dead = q.dead_letters(Stage::Classify, 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].receive_count, 14);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_receipt_cannot_postpone_the_redelivered_message() {
        let q = SqliteQueue::open_in_memory(5).unwrap();
        q.send(Stage::Classify, &[msg(1)]).await.unwrap();
        let first = q
            .receive(Stage::Classify, 10, Duration::ZERO)
            .await
            .unwrap();
        let second = q
            .receive(Stage::Classify, 10, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(matches!(
            q.postpone(Stage::Classify, &first[0], Duration::ZERO).await,
            Err(QueueError::InvalidReceipt)
        ));
        q.ack(Stage::Classify, &second[0].receipt).await.unwrap();
        // A gone message: nothing to postpone, no error (like ack).
        q.postpone(Stage::Classify, &second[0], Duration::ZERO)
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_receipt_cannot_ack_or_dead_letter_the_redelivered_message() {
        let q = SqliteQueue::open_in_memory(5).unwrap();
        q.send(Stage::Classify, &[msg(1)]).await.unwrap();
        let first = q
            .receive(Stage::Classify, 10, Duration::ZERO)
            .await
            .unwrap()
            .remove(0);
        let second = q
            .receive(Stage::Classify, 10, Duration::from_secs(60))
            .await
            .unwrap()
            .remove(0);
        assert_eq!(second.receive_count, 2);
        assert_ne!(first.receipt, second.receipt);
        assert!(matches!(
            q.ack(Stage::Classify, &first.receipt).await,
            Err(QueueError::InvalidReceipt)
        ));
        assert!(matches!(
            q.dead_letter(Stage::Classify, &first, "stale").await,
            Err(QueueError::InvalidReceipt)
        ));
        assert_eq!(q.depth(Stage::Classify).await.unwrap(), 1);
        // The current receipt works on its own stage only.
        assert!(matches!(
            q.ack(Stage::Assign, &second.receipt).await,
            Err(QueueError::InvalidReceipt)
        ));
        q.ack(Stage::Classify, &second.receipt).await.unwrap();
        assert_eq!(q.depth(Stage::Classify).await.unwrap(), 0);
        // Acking again (a retried ack) is harmless.
        q.ack(Stage::Classify, &second.receipt).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn default_redrive_is_five_receives_and_redrive_brings_messages_back() {
        let q = SqliteQueue::open_in_memory(SqliteQueue::DEFAULT_MAX_RECEIVES).unwrap();
        q.send(Stage::Assign, &[msg(2)]).await.unwrap();
        for n in 1..=5 {
            let got = q.receive(Stage::Assign, 10, Duration::ZERO).await.unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].receive_count, n);
        }
        assert_eq!(
            q.receive(Stage::Assign, 10, Duration::ZERO).await.unwrap(),
            vec![]
        );
        let dead = q.dead_letters(Stage::Assign, 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].reason, "max receives exceeded (5)");
        assert_eq!(dead[0].receive_count, 5);

        assert_eq!(q.redrive(Stage::Assign, None).await.unwrap(), 1);
        assert_eq!(q.dead_letters(Stage::Assign, 10).await.unwrap(), vec![]);
        let again = q.receive(Stage::Assign, 10, Duration::ZERO).await.unwrap();
        assert_eq!(again[0].receive_count, 1);
        assert_eq!(again[0].body, dead[0].body);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn receive_is_fifo_and_honours_max() {
        let q = SqliteQueue::open_in_memory(5).unwrap();
        let sent: Vec<_> = (0..5).map(msg).collect();
        q.send(Stage::Classify, &sent).await.unwrap();
        let got = q
            .receive(Stage::Classify, 3, Duration::from_secs(60))
            .await
            .unwrap();
        let bodies: Vec<StageMessage> = got
            .iter()
            .map(|d| serde_json::from_str(&d.body).unwrap())
            .collect();
        assert_eq!(bodies, sent[..3].to_vec());
        assert_eq!(
            q.receive(Stage::Classify, 0, Duration::from_secs(60))
                .await
                .unwrap(),
            vec![]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redrive_of_a_handoff_leaves_poison_behind_and_redrive_all_takes_it() {
        let q = SqliteQueue::open_in_memory(5).unwrap();
        q.send_raw(Stage::Classify, "not a stage message")
            .await
            .unwrap();
        q.send(Stage::Classify, &[msg(3)]).await.unwrap();
        for d in q
            .receive(Stage::Classify, 10, Duration::from_secs(60))
            .await
            .unwrap()
        {
            q.dead_letter(Stage::Classify, &d, "poison").await.unwrap();
        }
        let letters = q.dead_letters(Stage::Classify, 10).await.unwrap();
        let handoffs: Vec<_> = letters.iter().map(|l| l.handoff_id.clone()).collect();
        assert_eq!(handoffs, vec![None, Some(msg(3).handoff_id)]);
        assert!(letters.iter().all(|l| l.receive_count == 1));

        let wanted = msg(3).handoff_id;
        assert_eq!(q.redrive(Stage::Classify, Some(&wanted)).await.unwrap(), 1);
        let left = q.dead_letters(Stage::Classify, 10).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].body, "not a stage message");
        assert_eq!(q.redrive(Stage::Classify, None).await.unwrap(), 1);
        assert_eq!(q.dead_letters(Stage::Classify, 10).await.unwrap(), vec![]);
        assert_eq!(q.depth(Stage::Classify).await.unwrap(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_from_before_receive_counts_were_kept_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT,
                     stage TEXT NOT NULL, body TEXT NOT NULL, reason TEXT NOT NULL,
                     at INTEGER NOT NULL);
                 INSERT INTO dead_letters (stage, body, reason, at)
                     VALUES ('assign', 'old', 'max receives exceeded (5)', 1000);",
            )
            .unwrap();
        }
        let q = SqliteQueue::open(&path, 5).unwrap();
        let old = q.dead_letters(Stage::Assign, 10).await.unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(
            (old[0].receive_count, old[0].at.timestamp_millis()),
            (0, 1000)
        );
        // New dead letters record their receive count; opening again changes nothing.
        q.send(Stage::Assign, &[msg(4)]).await.unwrap();
        let d = q
            .receive(Stage::Assign, 10, Duration::from_secs(60))
            .await
            .unwrap()
            .remove(0);
        q.dead_letter(Stage::Assign, &d, "gone").await.unwrap();
        drop(q);
        let q = SqliteQueue::open(&path, 5).unwrap();
        let counts: Vec<u32> = q
            .dead_letters(Stage::Assign, 10)
            .await
            .unwrap()
            .iter()
            .map(|l| l.receive_count)
            .collect();
        assert_eq!(counts, vec![0, 1]);
    }

    #[test]
    fn receipts_are_parsed_strictly() {
        assert_eq!(parse_receipt("12.3").unwrap(), (12, 3));
        for bad in ["", "12", "a.b", "12.x", "not-a-receipt"] {
            assert!(
                matches!(parse_receipt(bad), Err(QueueError::InvalidReceipt)),
                "{bad}"
            );
        }
    }
}
