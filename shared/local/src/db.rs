//! One SQLite connection shared by async callers: opened with WAL and a busy timeout, used
//! from `spawn_blocking` behind a mutex so no runtime thread ever waits on the disk.
//!
//! Opening refuses a file handoff could not run on, naming it, instead of starting and failing
//! every call: a directory it cannot create files in (SQLite keeps `-wal` and `-shm` there), a
//! file SQLite can only read, one that fails `PRAGMA quick_check` (not a database, or damaged),
//! and one where a committed write (the one-row `health` table, rewritten at every open) does
//! not go through. A new file is created with mode `0600` before SQLite opens it (SQLite gives
//! its `-wal` and `-shm` the database's mode); files an earlier version left readable by others
//! lose those bits.

use crate::fsutil;
use chrono::{DateTime, Utc};
use handoff_domain::ports::{QueueError, StoreError};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thiserror::Error;

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a database could not be opened.
#[derive(Debug, Error)]
pub enum OpenError {
    /// The parent directory could not be created.
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file or its directory cannot be written (permissions, a read-only mount).
    #[error(
        "{path} is not writable: {reason}. handoff writes to its data directory: give this user \
         write access to the directory and its files (each database with its -wal and -shm \
         files), and check that the disk is not mounted read-only"
    )]
    NotWritable { path: PathBuf, reason: String },
    /// The integrity check failed: not a database, or a damaged one.
    #[error(
        "{path} is damaged ({detail}), so handoff does not start on it. Stop every handoff \
         process using it, move the data directory away (keep it: `sqlite3 FILE .recover` often \
         saves most of a damaged database) and start again with an empty one or a backup"
    )]
    Corrupt { path: PathBuf, detail: String },
    /// SQLite refused to open or initialise the file.
    #[error("cannot open SQLite database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// A failure inside a database call, before it becomes a port error.
#[derive(Debug, Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("invalid stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Corrupt(String),
    #[error("database task failed: {0}")]
    Task(String),
}

impl DbError {
    /// Whether the data itself is bad (retrying will not help).
    fn is_corrupt(&self) -> bool {
        match self {
            DbError::Json(_) | DbError::Corrupt(_) => true,
            DbError::Sqlite(e) => {
                matches!(
                    e.sqlite_error_code(),
                    Some(
                        ErrorCode::DatabaseCorrupt
                            | ErrorCode::NotADatabase
                            | ErrorCode::ConstraintViolation
                    )
                ) || matches!(
                    e,
                    rusqlite::Error::FromSqlConversionFailure(..)
                        | rusqlite::Error::InvalidColumnType(..)
                        | rusqlite::Error::IntegralValueOutOfRange(..)
                )
            }
            DbError::Task(_) => false,
        }
    }
}

impl From<DbError> for StoreError {
    /// Busy/locked and I/O problems are `Unavailable` (transient); bad data is `Corrupt`.
    fn from(e: DbError) -> Self {
        if e.is_corrupt() {
            StoreError::Corrupt(e.to_string())
        } else {
            StoreError::Unavailable(e.to_string())
        }
    }
}

impl From<DbError> for QueueError {
    fn from(e: DbError) -> Self {
        QueueError::Unavailable(e.to_string())
    }
}

/// A shared connection.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the file at `path` in WAL mode and applies `schema`, after
    /// checking that the file is a sound database this process can write (see the module docs).
    pub(crate) fn open(path: &Path, schema: &str) -> Result<Self, OpenError> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fsutil::create_private_dir_all(dir).map_err(|source| OpenError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        fsutil::probe_writable_dir(dir).map_err(|e| OpenError::NotWritable {
            path: dir.to_path_buf(),
            reason: format!("no file can be created in it ({e})"),
        })?;
        create_private_file(path)?;
        for file in [
            path.to_path_buf(),
            sibling(path, "-wal"),
            sibling(path, "-shm"),
        ] {
            if let Err(e) = fsutil::restrict_to_owner(&file) {
                tracing::warn!(path = %file.display(), error = %e, "cannot make the file private to its owner");
            }
        }
        let failed = |source| open_failure(path, source);
        let mut conn = Connection::open(path).map_err(failed)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(failed)? {
            return Err(OpenError::NotWritable {
                path: path.to_path_buf(),
                reason: "SQLite can open it for reading only".into(),
            });
        }
        check_integrity(&conn).map_err(|e| match e {
            IntegrityError::Sqlite(source) => failed(source),
            IntegrityError::Damaged(detail) => OpenError::Corrupt {
                path: path.to_path_buf(),
                detail,
            },
        })?;
        // WAL: readers never block the writer; FULL: a committed transaction survives power loss.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(failed)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "SQLite refused WAL mode; continuing with {mode}");
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        conn.execute_batch(schema).map_err(failed)?;
        record_open(&mut conn).map_err(failed)?;
        Ok(Self::wrap(conn))
    }

    /// A private in-memory database with `schema` (tests only: nothing survives the process).
    pub(crate) fn open_in_memory(schema: &str) -> Result<Self, OpenError> {
        let sqlite = |source| OpenError::Sqlite {
            path: PathBuf::from(":memory:"),
            source,
        };
        let conn = Connection::open_in_memory().map_err(sqlite)?;
        conn.execute_batch(schema).map_err(sqlite)?;
        Ok(Self::wrap(conn))
    }

    fn wrap(conn: Connection) -> Self {
        Self {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// Runs `f` with the connection on the caller's thread: for opening (migrations), before
    /// async callers share the connection.
    pub(crate) fn setup<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut guard = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic mid-call rolls its transaction back when the guard drops, so the
            // connection is still usable: ignore the poison.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}

/// `path` with `suffix` appended to its file name (`handoff.sqlite-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates the database file with mode `0600` unless it exists, so SQLite never creates it
/// under the umask.
fn create_private_file(path: &Path) -> Result<(), OpenError> {
    match fsutil::private_options()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(OpenError::NotWritable {
            path: path.to_path_buf(),
            reason: format!("it cannot be created ({e})"),
        }),
    }
}

/// An error while opening, named for what it means: a damaged file, one that cannot be
/// written, or anything else SQLite reports.
fn open_failure(path: &Path, source: rusqlite::Error) -> OpenError {
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => OpenError::Corrupt {
            path,
            detail: source.to_string(),
        },
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => OpenError::NotWritable {
            path,
            reason: source.to_string(),
        },
        _ => OpenError::Sqlite { path, source },
    }
}

/// What `PRAGMA quick_check` found.
enum IntegrityError {
    /// The check could not run (a file that is not a database ends here).
    Sqlite(rusqlite::Error),
    /// The problems it listed (the first few).
    Damaged(String),
}

/// Runs `PRAGMA quick_check` (every page and index entry well formed; linear in the file's
/// size, without the index-against-table comparison of `integrity_check`).
fn check_integrity(conn: &Connection) -> Result<(), IntegrityError> {
    const SHOWN: usize = 3;
    let mut stmt = conn
        .prepare("PRAGMA quick_check")
        .map_err(IntegrityError::Sqlite)?;
    let lines = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.take(SHOWN).collect::<rusqlite::Result<Vec<String>>>())
        .map_err(IntegrityError::Sqlite)?;
    match lines.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        _ => Err(IntegrityError::Damaged(format!(
            "the integrity check says: {}",
            lines.join("; ")
        ))),
    }
}

/// Rewrites the one row of the `health` table in a committed transaction: proof that this
/// connection can write the file (and the `-wal` beside it), not just read it.
fn record_open(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS health (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             opened_at TEXT NOT NULL
         ) WITHOUT ROWID;
         INSERT INTO health (id, opened_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             ON CONFLICT (id) DO UPDATE SET opened_at = excluded.opened_at;",
    )?;
    tx.commit()
}

/// Fixed-width UTC RFC 3339 with nanoseconds, so text order is time order.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Parses a [`timestamp`].
pub(crate) fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, DbError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DbError::Corrupt(format!("bad timestamp {s:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let a = Utc.with_ymd_and_hms(2030, 1, 7, 9, 0, 0).unwrap();
        let b = a + chrono::Duration::milliseconds(500);
        assert_eq!(timestamp(a), "2030-01-07T09:00:00.000000000Z");
        assert!(timestamp(a) < timestamp(b));
        assert_eq!(parse_timestamp(&timestamp(b)).unwrap(), b);
    }

    #[test]
    fn errors_split_into_transient_and_corrupt() {
        let busy = DbError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ));
        assert!(matches!(StoreError::from(busy), StoreError::Unavailable(_)));
        let locked = DbError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_LOCKED),
            None,
        ));
        assert!(matches!(
            StoreError::from(locked),
            StoreError::Unavailable(_)
        ));
        let json = DbError::Json(serde_json::from_str::<u8>("x").unwrap_err());
        assert!(matches!(StoreError::from(json), StoreError::Corrupt(_)));
        let corrupt = DbError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        ));
        assert!(matches!(StoreError::from(corrupt), StoreError::Corrupt(_)));
    }
}
