//! Personal data in the SQLite store: the schema migration that adds the retention and erasure
//! columns to older files, the erasure of one buyer, and the purge of expired handoffs.
//!
//! Both run as one `IMMEDIATE` transaction: a crash leaves everything or nothing erased (or
//! purged), and a stage's concurrent update either commits first (its entry is erased with the
//! rest) or runs after and finds no record (`NotFound`).

use crate::db::DbError;
use handoff_domain::ids::EmailAddress;
use handoff_domain::lifecycle::HandoffRecord;
use handoff_domain::ports::{thread_key, OutboundThread};
use handoff_domain::privacy::{erases_thread, thread_keys_of, Erasure};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashSet;

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Expired handoff records removed.
    pub handoffs: usize,
    /// Their timeline entries.
    pub timeline_entries: usize,
}

/// Brings a file written by an older version up to date (idempotent, one transaction, so two
/// processes opening the same old file cannot both add a column): `handoffs.expires_at`,
/// `threads.buyer_email` (filled from the stored threads) and their partial indexes.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !has_column(&tx, "handoffs", "expires_at")? {
        tx.execute_batch("ALTER TABLE handoffs ADD COLUMN expires_at INTEGER")?;
    }
    if !has_column(&tx, "threads", "buyer_email")? {
        tx.execute_batch(
            "ALTER TABLE threads ADD COLUMN buyer_email TEXT;
             UPDATE threads SET buyer_email = json_extract(thread, '$.buyer_email');",
        )?;
    }
    tx.execute_batch(
        "CREATE INDEX IF NOT EXISTS handoffs_expiry ON handoffs (expires_at)
             WHERE expires_at IS NOT NULL;
         CREATE INDEX IF NOT EXISTS threads_buyer ON threads (buyer_email)
             WHERE buyer_email IS NOT NULL;",
    )?;
    tx.commit()
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    for name in names {
        if name? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Erases every handoff of `email` with its timeline, and the threads [`erases_thread`] picks.
pub(super) fn erase(conn: &mut Connection, email: &EmailAddress) -> Result<Erasure, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let records: Vec<HandoffRecord> = {
        let mut stmt = tx.prepare_cached("SELECT record FROM handoffs WHERE contact_email = ?1")?;
        let rows = stmt.query_map([email.as_str()], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        out
    };
    let mut erasure = Erasure::default();
    let mut reply_keys = Vec::new();
    for record in &records {
        reply_keys.extend(thread_keys_of(record));
        let entries = tx.execute(
            "DELETE FROM timeline WHERE handoff_id = ?1",
            [record.id.as_str()],
        )?;
        tx.execute("DELETE FROM handoffs WHERE id = ?1", [record.id.as_str()])?;
        erasure.add_record(record, entries as u64);
    }
    erasure.thread_keys = erase_threads(&tx, email, reply_keys)?;
    tx.commit()?;
    Ok(erasure)
}

/// Deletes the thread rows naming `email`, and those reached through an erased reply's keys or
/// an erased thread's keys that name no buyer; returns how many rows went.
fn erase_threads(
    tx: &Transaction<'_>,
    email: &EmailAddress,
    reply_keys: Vec<String>,
) -> Result<u64, DbError> {
    // (key, reached through the buyer's own data rather than the buyer index)
    let mut frontier: Vec<(String, bool)> = {
        let mut stmt = tx.prepare_cached("SELECT key FROM threads WHERE buyer_email = ?1")?;
        let rows = stmt.query_map([email.as_str()], |r| r.get::<_, String>(0))?;
        rows.map(|k| k.map(|k| (k, false)))
            .collect::<Result<_, _>>()?
    };
    frontier.extend(reply_keys.into_iter().map(|k| (k, true)));
    let mut seen = HashSet::new();
    let mut erased = 0u64;
    while let Some((key, reached)) = frontier.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        let json: Option<String> = tx
            .query_row("SELECT thread FROM threads WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(json) = json else { continue };
        let thread: OutboundThread = serde_json::from_str(&json)?;
        if !erases_thread(&thread, email, reached) {
            continue;
        }
        erased += tx.execute("DELETE FROM threads WHERE key = ?1", [&key])? as u64;
        for other in thread.keys.iter().map(|k| thread_key(k)) {
            if !other.is_empty() && !seen.contains(&other) {
                frontier.push((other, true));
            }
        }
    }
    Ok(erased)
}

/// Removes the handoffs whose `expires_at` (epoch seconds) is at or before `now`, with their
/// timelines.
pub(super) fn purge(conn: &mut Connection, now: i64) -> Result<Purged, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let timeline_entries = tx.execute(
        "DELETE FROM timeline WHERE handoff_id IN
             (SELECT id FROM handoffs WHERE expires_at IS NOT NULL AND expires_at <= ?1)",
        params![now],
    )?;
    let handoffs = tx.execute(
        "DELETE FROM handoffs WHERE expires_at IS NOT NULL AND expires_at <= ?1",
        params![now],
    )?;
    tx.commit()?;
    Ok(Purged {
        handoffs,
        timeline_entries,
    })
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use handoff_domain::lifecycle::State;
    use handoff_domain::ports::{HandoffStore, ThreadIndex};
    use handoff_domain::privacy::Retention;
    use handoff_testkit::fixtures::{self, at, email};
    use rusqlite::params;

    /// `handoffs` and `threads` as versions before retention and erasure created them.
    const OLD_TABLES: &str = "
        CREATE TABLE handoffs (
            id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
            record TEXT NOT NULL, contact_email TEXT NOT NULL, company_domain TEXT,
            created_at TEXT NOT NULL, due_at TEXT
        ) WITHOUT ROWID;
        CREATE TABLE threads (
            key TEXT PRIMARY KEY NOT NULL, thread TEXT NOT NULL, stored_at TEXT NOT NULL
        ) WITHOUT ROWID;";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_older_file_is_migrated_once_and_its_threads_stay_erasable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(OLD_TABLES).unwrap();
            let thread = handoff_testkit::threads::thread("thr-old", &["<o1@mail.example>"]);
            conn.execute(
                "INSERT INTO threads (key, thread, stored_at) VALUES (?1, ?2, ?3)",
                params![
                    "o1@mail.example",
                    serde_json::to_string(&thread).unwrap(),
                    "2030-01-07T09:00:00.000000000Z"
                ],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path)
            .unwrap()
            .with_retention(Retention::days(30).unwrap());
        // A second handle (another process) finds the columns and changes nothing.
        let other = SqliteStore::open(&path).unwrap();
        let closed = fixtures::seed_in_state(
            &store,
            "old-closed",
            fixtures::BUYER_EMAIL,
            at(1),
            State::ClosedWithoutHandoff,
            at(60),
        )
        .await;
        assert_eq!(
            other.expires_at(&closed.id).await.unwrap(),
            Some(at(1) + chrono::Duration::days(30))
        );
        let erasure = other
            .erase_contact(&email(fixtures::BUYER_EMAIL))
            .await
            .unwrap();
        assert_eq!(erasure.handoffs.len(), 1);
        assert_eq!(
            erasure.thread_keys, 1,
            "found by the backfilled buyer column"
        );
        assert_eq!(
            store
                .find_thread(&["o1@mail.example".to_string()])
                .await
                .unwrap(),
            None
        );
    }
}
