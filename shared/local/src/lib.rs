//! # handoff-local
//!
//! The embedded default: everything handoff needs to run in one process on one machine, with
//! the same port semantics as the AWS adapters (both pass `handoff-testkit`'s suites).
//!
//! - [`store`]: [`SqliteStore`], the [`HandoffStore`](handoff_domain::ports::HandoffStore) on a
//!   SQLite file (WAL, conditional updates on the version, a partial index as the sparse
//!   due-by-deadline index). Schema in `store_schema.sql`.
//! - [`queue`]: [`SqliteQueue`], at-least-once [`StageQueue`](handoff_domain::ports::StageQueue)s
//!   with visibility timeouts, receive counts and dead-letter queues. Schema in
//!   `queue_schema.sql`.
//! - [`crm`]: [`FileCrm`], one JSON file per handoff under `<dir>/crm/`.
//! - [`notifier`]: [`LogNotifier`], `<dir>/notifications.jsonl` plus a readable
//!   `<dir>/notifications/<handoff_id>.txt`.
//! - [`rules`]: [`FileRules`], rules and roster from a TOML file, reloaded when it changes.
//! - [`claim_key`]: the claim-link key in `<dir>/claim-secret`, generated on first use, refused
//!   when weak.
//! - [`data_dir`]: checks on the data directory as a whole (a truncated store or queue file).
//!
//! Every file handoff creates in a data directory is private to its owner (`0600`, directories
//! `0700`); opening a database refuses one that cannot be written or fails its integrity check.
//!
//! SQLite work runs on tokio's blocking pool behind one connection per store/queue, so async
//! callers never block the runtime. Everything is durable: reopen the same files after a crash
//! and committed records, timelines and un-acked messages are all there.

pub mod claim_key;
pub mod crm;
pub mod data_dir;
mod db;
pub mod fsutil;
pub mod notifier;
pub mod queue;
pub mod rules;
pub mod store;

pub use claim_key::{claim_key, ClaimKeyError, CLAIM_KEY_FILE};
pub use crm::{CrmRecord, FileCrm};
pub use data_dir::{check_not_truncated, create_data_dir, TruncatedFile};
pub use db::OpenError;
pub use notifier::{LogNotifier, LoggedNotification, NotificationErasure};
pub use queue::{QueueErasure, SqliteQueue};
pub use rules::FileRules;
pub use store::{Purged, SqliteStore};
