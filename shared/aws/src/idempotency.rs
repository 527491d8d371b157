//! [`IdempotencyKeys`]: short-lived "seen" markers with a TTL, for callers that have no natural
//! create-if-absent key. (Intake does not need them: the handoff id is derived from the
//! provider's event id and [`HandoffStore::create`](handoff_domain::ports::HandoffStore::create)
//! is create-if-absent.)
//!
//! Items are `I#<key>` / `I` with `expires_at` (epoch seconds, the table's TTL attribute).
//! DynamoDB deletes expired items only eventually (typically within days), so expiry is checked
//! in the condition too: an expired marker can be claimed again at once.

use crate::store::codec::{key, n, sdk_error};
use crate::store::keys;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use handoff_domain::ports::StoreError;
use std::time::Duration;

/// Idempotency markers in the handoff table.
#[derive(Debug, Clone)]
pub struct IdempotencyKeys {
    client: Client,
    table: String,
}

impl IdempotencyKeys {
    /// Markers in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Claims `key` until `now + ttl`: `true` if this call claimed it (never seen, or the last
    /// claim expired), `false` if a live claim exists.
    pub async fn claim(
        &self,
        key_text: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let expires = now
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            .timestamp();
        let mut item = key(format!("I#{key_text}"), "I");
        item.insert(keys::EXPIRES_AT.into(), n(expires));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR #exp <= :now")
            .expression_attribute_names("#exp", keys::EXPIRES_AT)
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("PutItem idempotency key", e)),
        }
    }
}
