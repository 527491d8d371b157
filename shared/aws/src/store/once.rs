//! [`OnceTokens`] on the handoff table.
//!
//! | `PK` | `SK` | attributes |
//! |---|---|---|
//! | `ONCE#<key>` | `ONCE` | `expires_at` (`remember_until`, epoch seconds: the table's TTL) |
//!
//! `use_once` is one conditional `PutItem`: `attribute_not_exists(PK) OR #exp < :now`. The
//! condition accepts an expired item because DynamoDB's TTL deletes expired items only
//! eventually. A failed condition is a replay (`false`); of concurrent callers exactly one put
//! succeeds. `release` deletes the item.

use super::codec::{key, n, sdk_error};
use super::{keys, DynamoStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use chrono::{DateTime, Utc};
use handoff_connectors::once::{OnceError, OnceTokens};

#[async_trait]
impl OnceTokens for DynamoStore {
    async fn use_once(
        &self,
        key_text: &str,
        remember_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, OnceError> {
        let mut item = key(keys::once_pk(key_text), keys::ONCE_SK);
        item.insert(keys::EXPIRES_AT.into(), n(remember_until.timestamp()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR #exp < :now")
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
            Err(e) => Err(OnceError(sdk_error("PutItem once", e).to_string())),
        }
    }

    async fn release(&self, key_text: &str) -> Result<(), OnceError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::once_pk(key_text), keys::ONCE_SK)))
            .send()
            .await
            .map_err(|e| OnceError(sdk_error("DeleteItem once", e).to_string()))?;
        Ok(())
    }
}
