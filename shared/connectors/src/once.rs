//! The one-time-token port: remembers tokens a verified request may use only once (Mailgun's
//! `token`). Adapters: `handoff_local::SqliteStore` and `handoff_aws::DynamoStore`
//! (conditional put with a TTL); the conformance suite is `handoff_testkit::once_token_suite!`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

/// The ledger could not be reached (answered 503: the provider retries).
#[derive(Debug, Clone, Error)]
#[error("one-time token ledger unavailable: {0}")]
pub struct OnceError(pub String);

/// Records tokens as used, atomically.
#[async_trait]
pub trait OnceTokens: Send + Sync {
    /// Records `key` as used until `remember_until`. `true` when it was not used before (the
    /// caller may act), `false` when it was (a replay). Expired entries count as unused.
    async fn use_once(
        &self,
        key: &str,
        remember_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, OnceError>;
    /// Forgets `key` (the request that used it failed before its event was durable, so the
    /// provider's retry must be accepted).
    async fn release(&self, key: &str) -> Result<(), OnceError>;
}
