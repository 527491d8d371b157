//! [`SqliteStore`]: the [`HandoffStore`] on one SQLite file, with the same semantics as the
//! DynamoDB store (checked by `handoff_testkit::store_conformance!`).
//!
//! Layout (`store_schema.sql`): `handoffs` holds each record as JSON plus the columns its
//! lookups need; `due_at` is set only while the record awaits its owner and a partial index
//! over it is the sweep's sparse index. `timeline` is keyed by (handoff, version). `update` is
//! one transaction: a conditional `UPDATE … WHERE id = ? AND version = ?` and the timeline
//! insert, so the two are never apart. `record_assignment` adds to the rep's daily load and to
//! the round robin's fairness counters (table `fairness`: shares owed and decisions won per rep)
//! in one transaction.
//!
//! The same store is also the [`ThreadIndex`] (table `threads`: one row per normalised key) and
//! the [`OnceTokens`] ledger (table `once_tokens`: an upsert that takes over only expired rows).
//!
//! Personal data (`privacy.rs`): with a [`Retention`] ([`SqliteStore::with_retention`]) every
//! write of a closed handoff stamps `expires_at`, and [`SqliteStore::purge_expired`] (called by
//! the local sweep) removes expired records with their timelines; `erase_contact` removes one
//! buyer's handoffs, timelines and threads in one transaction.

use crate::db::{parse_timestamp, timestamp, Db, DbError, OpenError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use handoff_connectors::once::{OnceError, OnceTokens};
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, State, TimelineEntry};
use handoff_domain::ports::Assignment;
use handoff_domain::ports::{
    thread_key, AvailabilityOverride, CreateOutcome, DueHandoff, DuePage, HandoffStore,
    HandoffSummary, OutboundThread, StoreError, ThreadIndex,
};
use handoff_domain::privacy::{Erasure, Retention};
use handoff_domain::routing::FairnessCounters;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use std::path::Path;

mod privacy;

pub use privacy::Purged;

const SCHEMA: &str = include_str!("store_schema.sql");

/// The embedded handoff store: a SQLite file in WAL mode.
///
/// Cheap to share behind an `Arc`; every call runs on tokio's blocking pool, so async callers
/// never block the runtime. Durable: a reopened file has every committed record and timeline.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    retention: Option<Retention>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store in the SQLite file at `path`, creating the file, its directory and the
    /// tables when missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let path = path.as_ref();
        Self::migrated(Db::open(path, SCHEMA)?, path)
    }

    /// A private in-memory store, for tests (nothing survives the process).
    pub fn open_in_memory() -> Result<Self, OpenError> {
        Self::migrated(Db::open_in_memory(SCHEMA)?, Path::new(":memory:"))
    }

    fn migrated(db: Db, path: &Path) -> Result<Self, OpenError> {
        db.setup(privacy::migrate)
            .map_err(|source| OpenError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            db,
            retention: None,
        })
    }

    /// Keeps closed handoffs for `retention` after their last write: from now on every write of
    /// a closed handoff records when it expires, and [`SqliteStore::purge_expired`] removes it
    /// then. Without it (the default) nothing expires.
    pub fn with_retention(mut self, retention: impl Into<Retention>) -> Self {
        self.retention = Some(retention.into());
        self
    }

    /// The retention, if any.
    pub fn retention(&self) -> Option<Retention> {
        self.retention
    }

    /// Removes every handoff whose expiry is at or before `now`, with its timeline (one
    /// transaction; the partial index `handoffs_expiry` holds only expiring rows).
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Purged, StoreError> {
        let now = now.timestamp();
        self.run(move |conn| privacy::purge(conn, now)).await
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, DbError> + Send + 'static,
    {
        self.db.run(f).await.map_err(StoreError::from)
    }
}

/// The columns a record is stored with.
struct Row {
    id: String,
    version: i64,
    state: &'static str,
    record: String,
    contact_email: String,
    company_domain: Option<String>,
    created_at: String,
    due_at: Option<String>,
    expires_at: Option<i64>,
}

impl Row {
    fn of(record: &HandoffRecord, retention: Option<Retention>) -> Result<Self, StoreError> {
        Ok(Self {
            id: record.id.to_string(),
            version: to_i64(record.version)?,
            state: record.state.as_str(),
            record: serde_json::to_string(record).map_err(|e| {
                StoreError::Corrupt(format!("cannot encode record {}: {e}", record.id))
            })?,
            contact_email: record.contact_email.to_string(),
            company_domain: record.company_domain.as_ref().map(|d| d.to_string()),
            created_at: timestamp(record.created_at),
            due_at: record.due_at().map(timestamp),
            expires_at: retention
                .and_then(|r| r.record_expiry(record))
                .map(|t| t.timestamp()),
        })
    }
}

fn to_i64(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("version {version} is out of range")))
}

/// A stored fairness counter (never negative: they only grow).
fn counter_of(rep: &str, value: i64) -> Result<u64, DbError> {
    u64::try_from(value)
        .map_err(|_| DbError::Corrupt(format!("fairness counter {value} of {rep} is negative")))
}

fn encode_entry(entry: &TimelineEntry) -> Result<String, StoreError> {
    serde_json::to_string(entry)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode timeline entry: {e}")))
}

fn parse_state(label: &str) -> Result<State, DbError> {
    serde_json::from_value(serde_json::Value::String(label.to_string()))
        .map_err(|_| DbError::Corrupt(format!("unknown state {label:?}")))
}

fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A due-page cursor: the deadline and id of the last item returned.
fn encode_cursor(due_at: &str, id: &str) -> String {
    format!("{due_at}|{id}")
}

fn decode_cursor(cursor: &str) -> Result<(String, String), StoreError> {
    let invalid = || StoreError::Corrupt(format!("invalid due cursor {cursor:?}"));
    let (due_at, id) = cursor.split_once('|').ok_or_else(invalid)?;
    parse_timestamp(due_at).map_err(|_| invalid())?;
    HandoffId::parse(id).map_err(|_| invalid())?;
    Ok((due_at.to_string(), id.to_string()))
}

/// Outcome of the conditional update.
enum Updated {
    Done,
    Conflict,
    Missing,
}

fn records(rows: Vec<String>) -> Result<Vec<HandoffRecord>, DbError> {
    rows.iter()
        .map(|json| serde_json::from_str(json).map_err(DbError::from))
        .collect()
}

#[async_trait]
impl HandoffStore for SqliteStore {
    async fn create(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<CreateOutcome, StoreError> {
        let row = Row::of(record, self.retention)?;
        let entry = encode_entry(entry)?;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT INTO handoffs (id, version, state, record, contact_email, company_domain, created_at, due_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
                params![
                    row.id,
                    row.version,
                    row.state,
                    row.record,
                    row.contact_email,
                    row.company_domain,
                    row.created_at,
                    row.due_at,
                    row.expires_at
                ],
            )?;
            if inserted == 0 {
                let state: String = tx.query_row("SELECT state FROM handoffs WHERE id = ?1", [&row.id], |r| r.get(0))?;
                return Ok(CreateOutcome::AlreadyExists(parse_state(&state)?));
            }
            tx.execute(
                "INSERT INTO timeline (handoff_id, version, entry) VALUES (?1, ?2, ?3)",
                params![row.id, row.version, entry],
            )?;
            tx.commit()?;
            Ok(CreateOutcome::Created)
        })
        .await
    }

    async fn get(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let json: Option<String> = conn
                .query_row("SELECT record FROM handoffs WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
        })
        .await
    }

    async fn update(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        let row = Row::of(record, self.retention)?;
        let entry = encode_entry(entry)?;
        let expected = record.version.saturating_sub(1);
        let stored_version = to_i64(expected)?;
        let outcome = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let changed = tx.execute(
                    "UPDATE handoffs SET version = ?2, state = ?3, record = ?4, contact_email = ?5,
                            company_domain = ?6, created_at = ?7, due_at = ?8, expires_at = ?10
                     WHERE id = ?1 AND version = ?9",
                    params![
                        row.id,
                        row.version,
                        row.state,
                        row.record,
                        row.contact_email,
                        row.company_domain,
                        row.created_at,
                        row.due_at,
                        stored_version,
                        row.expires_at
                    ],
                )?;
                if changed == 0 {
                    let exists = tx
                        .query_row(
                            "SELECT 1 FROM handoffs WHERE id = ?1",
                            [&row.id],
                            |_| Ok(()),
                        )
                        .optional()?
                        .is_some();
                    return Ok(if exists {
                        Updated::Conflict
                    } else {
                        Updated::Missing
                    });
                }
                tx.execute(
                    "INSERT INTO timeline (handoff_id, version, entry) VALUES (?1, ?2, ?3)",
                    params![row.id, row.version, entry],
                )?;
                tx.commit()?;
                Ok(Updated::Done)
            })
            .await?;
        match outcome {
            Updated::Done => Ok(()),
            Updated::Conflict => Err(StoreError::VersionConflict {
                id: record.id.clone(),
                expected,
            }),
            Updated::Missing => Err(StoreError::NotFound(record.id.clone())),
        }
    }

    async fn timeline(&self, id: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT entry FROM timeline WHERE handoff_id = ?1 ORDER BY version",
            )?;
            let rows = stmt.query_map([&id], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for json in rows {
                out.push(serde_json::from_str(&json?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<DuePage, StoreError> {
        let limit = limit.max(1);
        let after = cursor.as_deref().map(decode_cursor).transpose()?;
        let now = timestamp(now);
        // Read one past the page to know whether there is a next one.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows: Vec<(String, String)> = self
            .run(move |conn| {
                let mut out = Vec::new();
                let mut push = |r: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
                    out.push((r.get(0)?, r.get(1)?));
                    Ok(())
                };
                match after {
                    None => {
                        let mut stmt = conn.prepare_cached(
                            "SELECT id, due_at FROM handoffs
                             WHERE due_at IS NOT NULL AND due_at <= ?1
                             ORDER BY due_at, id LIMIT ?2",
                        )?;
                        let mut rows = stmt.query(params![now, fetch])?;
                        while let Some(r) = rows.next()? {
                            push(r)?;
                        }
                    }
                    Some((due_at, id)) => {
                        let mut stmt = conn.prepare_cached(
                            "SELECT id, due_at FROM handoffs
                             WHERE due_at IS NOT NULL AND due_at <= ?1 AND (due_at, id) > (?2, ?3)
                             ORDER BY due_at, id LIMIT ?4",
                        )?;
                        let mut rows = stmt.query(params![now, due_at, id, fetch])?;
                        while let Some(r) = rows.next()? {
                            push(r)?;
                        }
                    }
                }
                Ok(out)
            })
            .await?;
        let items_read = rows.len();
        let next = (rows.len() > limit).then(|| {
            let (id, due_at) = &rows[limit - 1];
            encode_cursor(due_at, id)
        });
        let items = rows
            .into_iter()
            .take(limit)
            .map(|(id, due_at)| {
                Ok(DueHandoff {
                    id: HandoffId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    due_at: parse_timestamp(&due_at).map_err(StoreError::from)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(DuePage {
            items,
            next,
            items_read,
        })
    }

    async fn by_contact(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.newest_where(Lookup::Contact, email.to_string(), limit)
            .await
    }

    async fn by_domain(
        &self,
        domain: &CompanyDomain,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.newest_where(Lookup::Domain, domain.to_string(), limit)
            .await
    }

    async fn created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HandoffRecord>, StoreError> {
        let (from, to) = (timestamp(from), timestamp(to));
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT record FROM handoffs WHERE created_at >= ?1 AND created_at < ?2 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map(params![from, to], |r| r.get::<_, String>(0))?;
            records(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn account_owner(&self, domain: &CompanyDomain) -> Result<Option<RepId>, StoreError> {
        let domain = domain.to_string();
        self.run(move |conn| {
            let rep: Option<String> = conn
                .query_row(
                    "SELECT rep FROM account_owners WHERE domain = ?1",
                    [&domain],
                    |r| r.get(0),
                )
                .optional()?;
            rep.map(|r| RepId::parse(&r).map_err(|e| DbError::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    async fn set_account_owner(
        &self,
        domain: &CompanyDomain,
        rep: &RepId,
    ) -> Result<(), StoreError> {
        let (domain, rep) = (domain.to_string(), rep.to_string());
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO account_owners (domain, rep) VALUES (?1, ?2)
                 ON CONFLICT (domain) DO UPDATE SET rep = excluded.rep",
                params![domain, rep],
            )?;
            Ok(())
        })
        .await
    }

    async fn rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        let (rep, day) = (rep.to_string(), day_key(day));
        self.run(move |conn| {
            let count: Option<u32> = conn
                .query_row(
                    "SELECT count FROM rep_load WHERE rep = ?1 AND day = ?2",
                    params![rep, day],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(count.unwrap_or(0))
        })
        .await
    }

    async fn fairness(&self, reps: &[RepId]) -> Result<Vec<FairnessCounters>, StoreError> {
        let reps: Vec<String> = reps.iter().map(RepId::to_string).collect();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT owed, won FROM fairness WHERE rep = ?1")?;
            let mut out = Vec::with_capacity(reps.len());
            for rep in &reps {
                let row: Option<(i64, i64)> = stmt
                    .query_row([rep], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                out.push(match row {
                    Some((owed, won)) => FairnessCounters {
                        owed: counter_of(rep, owed)?,
                        won: counter_of(rep, won)?,
                    },
                    None => FairnessCounters::default(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn record_assignment(&self, assignment: &Assignment) -> Result<Option<u32>, StoreError> {
        let load = assignment
            .load
            .as_ref()
            .map(|(rep, day)| (rep.to_string(), day_key(*day)));
        let fair_share = match &assignment.fair_share {
            Some(f) => {
                let shares = f
                    .shares
                    .iter()
                    .map(|(rep, share)| Ok((rep.to_string(), to_i64(*share)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Some((shares, f.winner.to_string()))
            }
            None => None,
        };
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let count = match &load {
                Some((rep, day)) => Some(tx.query_row(
                    "INSERT INTO rep_load (rep, day, count) VALUES (?1, ?2, 1)
                     ON CONFLICT (rep, day) DO UPDATE SET count = count + 1
                     RETURNING count",
                    params![rep, day],
                    |r| r.get(0),
                )?),
                None => None,
            };
            if let Some((shares, winner)) = &fair_share {
                let mut owe = tx.prepare_cached(
                    "INSERT INTO fairness (rep, owed, won) VALUES (?1, ?2, 0)
                     ON CONFLICT (rep) DO UPDATE SET owed = owed + excluded.owed",
                )?;
                for (rep, share) in shares {
                    owe.execute(params![rep, share])?;
                }
                drop(owe);
                tx.execute(
                    "INSERT INTO fairness (rep, owed, won) VALUES (?1, 0, 1)
                     ON CONFLICT (rep) DO UPDATE SET won = won + 1",
                    [winner],
                )?;
            }
            tx.commit()?;
            Ok(count)
        })
        .await
    }

    async fn next_counter(&self, name: &str) -> Result<u64, StoreError> {
        let name = name.to_string();
        self.run(move |conn| {
            Ok(conn.query_row(
                "INSERT INTO counters (name, value) VALUES (?1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = value + 1
                 RETURNING value",
                [&name],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare_cached("SELECT value FROM availability ORDER BY rep")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for json in rows {
                out.push(serde_json::from_str(&json?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn set_availability(&self, value: &AvailabilityOverride) -> Result<(), StoreError> {
        let rep = value.rep.to_string();
        let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO availability (rep, value) VALUES (?1, ?2)
                 ON CONFLICT (rep) DO UPDATE SET value = excluded.value",
                params![rep, json],
            )?;
            Ok(())
        })
        .await
    }

    async fn expires_at(&self, id: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let id = id.to_string();
        let secs: Option<i64> = self
            .run(move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT expires_at FROM handoffs WHERE id = ?1",
                        [&id],
                        |r| r.get::<_, Option<i64>>(0),
                    )
                    .optional()?
                    .flatten())
            })
            .await?;
        secs.map(|s| {
            DateTime::from_timestamp(s, 0)
                .ok_or_else(|| StoreError::Corrupt(format!("expires_at {s} is out of range")))
        })
        .transpose()
    }

    async fn erase_contact(&self, email: &EmailAddress) -> Result<Erasure, StoreError> {
        let email = email.clone();
        self.run(move |conn| privacy::erase(conn, &email)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_testkit::fixtures::{self, at};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn due_query_uses_the_partial_index() {
        let store = SqliteStore::open_in_memory().unwrap();
        fixtures::seed_awaiting(&store, "plan", "lena", at(5)).await;
        let plan: Vec<String> = store
            .db
            .run(|conn| {
                let mut stmt = conn.prepare(
                    "EXPLAIN QUERY PLAN SELECT id, due_at FROM handoffs
                     WHERE due_at IS NOT NULL AND due_at <= ?1 AND (due_at, id) > (?2, ?3)
                     ORDER BY due_at, id LIMIT ?4",
                )?;
                let rows =
                    stmt.query_map(params!["9", "0", "h_", 10], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert!(plan.iter().any(|d| d.contains("handoffs_due")), "{plan:?}");
        assert!(
            !plan.iter().any(|d| d.starts_with("SCAN handoffs")),
            "{plan:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_json_is_corrupt_and_bad_cursor_is_refused() {
        let store = SqliteStore::open_in_memory().unwrap();
        let (r, e) = fixtures::record("corrupt");
        store.create(&r, &e).await.unwrap();
        let id = r.id.to_string();
        store
            .db
            .run(move |conn| {
                conn.execute(
                    "UPDATE handoffs SET record = '{not json' WHERE id = ?1",
                    [&id],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(matches!(
            store.get(&r.id).await,
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            store.due(at(0), 10, Some("garbage".into())).await,
            Err(StoreError::Corrupt(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_from_before_the_fairness_counters_gains_them_and_keeps_its_loads() {
        use handoff_domain::routing::FairShare;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("before-fairness.sqlite");
        let day = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE rep_load (
                     rep TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL,
                     PRIMARY KEY (rep, day)
                 ) WITHOUT ROWID;
                 INSERT INTO rep_load VALUES ('lena', '2030-01-07', 4);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let lena = fixtures::rep("lena");
        assert_eq!(
            store.fairness(std::slice::from_ref(&lena)).await.unwrap(),
            vec![FairnessCounters::default()]
        );
        let assignment = Assignment {
            load: Some((lena.clone(), day)),
            fair_share: Some(FairShare {
                shares: vec![(lena.clone(), 1_000_000)],
                winner: lena.clone(),
            }),
        };
        assert_eq!(store.record_assignment(&assignment).await.unwrap(), Some(5));
        assert_eq!(
            store.fairness(std::slice::from_ref(&lena)).await.unwrap(),
            vec![FairnessCounters {
                owed: 1_000_000,
                won: 1
            }]
        );
    }
}

/// The indexed columns `by_contact` / `by_domain` look up.
#[derive(Clone, Copy)]
enum Lookup {
    Contact,
    Domain,
}

impl SqliteStore {
    /// Summaries of the newest handoffs whose lookup column equals `value`.
    async fn newest_where(
        &self,
        lookup: Lookup,
        value: String,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        let sql = match lookup {
            Lookup::Contact => {
                "SELECT record FROM handoffs WHERE contact_email = ?1
                 ORDER BY created_at DESC, id DESC LIMIT ?2"
            }
            Lookup::Domain => {
                "SELECT record FROM handoffs WHERE company_domain = ?1
                 ORDER BY created_at DESC, id DESC LIMIT ?2"
            }
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(sql)?;
                let rows = stmt.query_map(params![value, limit], |r| r.get::<_, String>(0))?;
                records(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        Ok(rows.iter().map(HandoffSummary::of).collect())
    }
}

/// Normalised, non-empty, de-duplicated keys in the order given.
fn normalised_keys<'a>(raw: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in raw.into_iter().map(|k| thread_key(k)) {
        if !key.is_empty() && !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// Outbound threads in the `threads` table: one row per normalised key, all written in one
/// transaction; a later put of a key replaces its row.
#[async_trait]
impl ThreadIndex for SqliteStore {
    async fn put_thread(&self, thread: &OutboundThread) -> Result<(), StoreError> {
        let keys = normalised_keys(&thread.keys);
        if keys.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_string(thread)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode thread: {e}")))?;
        let stored_at = timestamp(Utc::now());
        let buyer = thread.buyer_email.as_ref().map(|e| e.to_string());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO threads (key, thread, stored_at, buyer_email) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (key) DO UPDATE SET thread = excluded.thread,
                                                     stored_at = excluded.stored_at,
                                                     buyer_email = excluded.buyer_email",
                )?;
                for key in &keys {
                    stmt.execute(params![key, json, stored_at, buyer])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn find_thread(&self, keys: &[String]) -> Result<Option<OutboundThread>, StoreError> {
        let keys = normalised_keys(keys);
        if keys.is_empty() {
            return Ok(None);
        }
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT thread FROM threads WHERE key = ?1")?;
            for key in &keys {
                let json: Option<String> = stmt.query_row([key], |r| r.get(0)).optional()?;
                if let Some(json) = json {
                    return Ok(Some(serde_json::from_str(&json)?));
                }
            }
            Ok(None)
        })
        .await
    }
}

/// One-time tokens in the `once_tokens` table. `use_once` is one statement: an insert that, on
/// an existing key, takes the row over only if it expired (`expires_at < now`, epoch seconds as
/// on DynamoDB), so of concurrent callers exactly one sees a changed row.
#[async_trait]
impl OnceTokens for SqliteStore {
    async fn use_once(
        &self,
        key: &str,
        remember_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, OnceError> {
        let (key, until, now) = (key.to_string(), remember_until.timestamp(), now.timestamp());
        self.db
            .run(move |conn| {
                let changed = conn.execute(
                    "INSERT INTO once_tokens (key, expires_at) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE once_tokens.expires_at < ?3",
                    params![key, until, now],
                )?;
                Ok(changed == 1)
            })
            .await
            .map_err(|e| OnceError(StoreError::from(e).to_string()))
    }

    async fn release(&self, key: &str) -> Result<(), OnceError> {
        let key = key.to_string();
        self.db
            .run(move |conn| {
                conn.execute("DELETE FROM once_tokens WHERE key = ?1", [&key])?;
                Ok(())
            })
            .await
            .map_err(|e| OnceError(StoreError::from(e).to_string()))
    }
}
