//! [`ThreadIndex`] on the handoff table: one item per normalised thread key.
//!
//! | `PK` | `SK` | attributes |
//! |---|---|---|
//! | `TH#<thread_key(key)>` | `THREAD` | `thread` (the `OutboundThread` as JSON), `expires_at` (put + 180 days), and when the thread names its buyer `CPK` = `C#<email>`, `CRSK` = `TH#` |
//!
//! The `CPK`/`CRSK` pair puts a buyer's thread items into the `contact` GSI (after every
//! handoff of that buyer: `by_contact` reads only sort keys below `:`), so erasing the buyer
//! finds them with one `Query` instead of a `Scan`.
//!
//! `put_thread` writes every key of the thread with `BatchWriteItem` (25 puts a call, unprocessed
//! items retried with backoff); a later put of a key replaces its item. `find_thread` reads all
//! asked keys with one `BatchGetItem` (strongly consistent) and returns the thread of the first
//! key, in the order asked, that has one.

use super::codec::{get_json, key, n, s, sdk_error, Item};
use super::{keys, DynamoStore};
use crate::error::built;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::Utc;
use handoff_domain::ports::{thread_key, OutboundThread, StoreError, ThreadIndex};
use std::collections::HashMap;
use std::time::Duration;

/// How long a thread item is kept after its last put (DynamoDB TTL).
pub const THREAD_RETENTION_DAYS: i64 = 180;

/// `BatchWriteItem` takes at most 25 requests.
const BATCH_WRITE_MAX: usize = 25;

/// How often a batch with unprocessed items is retried before `Unavailable`.
const UNPROCESSED_RETRIES: u32 = 8;

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

impl DynamoStore {
    /// Writes `requests` with `BatchWriteItem`, 25 a call, retrying unprocessed items.
    pub(super) async fn batch_write(
        &self,
        requests: Vec<WriteRequest>,
        op: &str,
    ) -> Result<(), StoreError> {
        for chunk in requests.chunks(BATCH_WRITE_MAX) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut pending))
                    .send()
                    .await
                    .map_err(|e| sdk_error(op, e))?;
                let left = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if !left.is_empty() {
                    attempt += 1;
                    if attempt > UNPROCESSED_RETRIES {
                        return Err(StoreError::Unavailable(format!(
                            "DynamoDB {op}: BatchWriteItem kept leaving items unprocessed"
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                    pending = left;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ThreadIndex for DynamoStore {
    async fn put_thread(&self, thread: &OutboundThread) -> Result<(), StoreError> {
        let keys = normalised_keys(&thread.keys);
        if keys.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_string(thread)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode thread: {e}")))?;
        let expires = (Utc::now() + chrono::Duration::days(THREAD_RETENTION_DAYS)).timestamp();
        let requests = keys
            .iter()
            .map(|k| {
                let mut item = key(keys::thread_pk(k), keys::THREAD_SK);
                item.insert(keys::THREAD.into(), s(json.clone()));
                item.insert(keys::EXPIRES_AT.into(), n(expires));
                if let Some(buyer) = &thread.buyer_email {
                    item.insert(keys::CONTACT_PK.into(), s(keys::contact_pk(buyer)));
                    item.insert(keys::CREATED_SK.into(), s(keys::THREAD_CONTACT_SK));
                }
                let put = built(PutRequest::builder().set_item(Some(item)).build())?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests, "BatchWriteItem threads").await
    }

    async fn find_thread(&self, keys: &[String]) -> Result<Option<OutboundThread>, StoreError> {
        let keys = normalised_keys(keys);
        if keys.is_empty() {
            return Ok(None);
        }
        let items = self
            .batch_items(
                keys.iter()
                    .map(|k| key(keys::thread_pk(k), keys::THREAD_SK))
                    .collect(),
                true,
            )
            .await?;
        let mut by_pk: HashMap<String, Item> = HashMap::with_capacity(items.len());
        for item in items {
            let pk = super::codec::get_s(&item, keys::PK)?.to_string();
            by_pk.insert(pk, item);
        }
        for k in &keys {
            if let Some(item) = by_pk.get(&keys::thread_pk(k)) {
                return get_json(item, keys::THREAD).map(Some);
            }
        }
        Ok(None)
    }
}
