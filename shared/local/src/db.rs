//! One SQLite connection shared by async callers: opened with WAL and a busy timeout, used
//! from `spawn_blocking` behind a mutex so no runtime thread ever waits on the disk.

use chrono::{DateTime, Utc};
use handoff_domain::ports::{QueueError, StoreError};
use rusqlite::{Connection, ErrorCode};
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
    /// Opens (creating if needed) the file at `path` in WAL mode and applies `schema`.
    pub(crate) fn open(path: &Path, schema: &str) -> Result<Self, OpenError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let sqlite = |source| OpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sqlite)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
        // WAL: readers never block the writer; FULL: a committed transaction survives power loss.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sqlite)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "SQLite refused WAL mode; continuing with {mode}");
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        conn.execute_batch(schema).map_err(sqlite)?;
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
