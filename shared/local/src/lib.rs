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
//!
//! SQLite work runs on tokio's blocking pool behind one connection per store/queue, so async
//! callers never block the runtime. Everything is durable: reopen the same files after a crash
//! and committed records, timelines and un-acked messages are all there.

pub mod crm;
mod db;
mod fsutil;
pub mod notifier;
pub mod queue;
pub mod rules;
pub mod store;

pub use crm::{CrmRecord, FileCrm};
pub use db::OpenError;
pub use notifier::{LogNotifier, LoggedNotification, NotificationErasure};
pub use queue::{QueueErasure, SqliteQueue};
pub use rules::FileRules;
pub use store::{Purged, SqliteStore};
