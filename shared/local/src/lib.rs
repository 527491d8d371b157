//! The embedded default: SQLite store and queue, file CRM, log notifier.
