//! Erasing a buyer from the table (`HandoffStore::erase_contact`), without a `Scan`.
//!
//! 1. One `Query` of the buyer's `contact` GSI partition (`CPK = C#<email>`, all pages) finds
//!    their handoffs (`CRSK = <created_at>#<id>`) and the thread items naming them
//!    (`CRSK = TH#`).
//! 2. The records are read (`BatchGetItem`, consistent) for the thread keys their replies name.
//! 3. Threads go first — the buyer's, and buyer-less ones an erased reply (or an erased thread)
//!    names, read with `BatchGetItem` round by round — then the handoffs, so that a crash in
//!    between leaves records a rerun still finds, never threads nothing leads to any more.
//! 4. Per handoff: a consistent `GetItem` of `META` (its version), a consistent `Query` of its
//!    timeline keys, `BatchWriteItem` deletes of the entries (25 a call, unprocessed retried),
//!    then `DeleteItem` of `META` on `version = <read>`. A transition that lands in between
//!    fails that condition; the loop then reads again and deletes its entry too. `META` goes
//!    last: until then the handoff is still in the GSI, so an interrupted erasure is finished
//!    by the next run. With `META` the index entries (contact, domain, created, due) go too.
//!
//! Counts are of items that existed: a second run reports nothing.

use super::codec::{get_json, get_n, get_s, key, n, s, sdk_error, Item};
use super::{keys, DynamoStore};
use crate::error::built;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use handoff_domain::ids::{EmailAddress, HandoffId};
use handoff_domain::lifecycle::HandoffRecord;
use handoff_domain::ports::{thread_key, OutboundThread, StoreError};
use handoff_domain::privacy::{erases_thread, thread_keys_of, Erasure};
use std::collections::{HashMap, HashSet};

/// How often one handoff's deletion is retried when transitions keep landing meanwhile.
const ERASE_ATTEMPTS: u32 = 5;

/// Rounds of following thread keys to further thread items (each round is one batch read).
const THREAD_ROUNDS: usize = 8;

/// What the buyer's `contact` GSI partition holds.
#[derive(Default)]
struct ContactPartition {
    handoffs: Vec<HandoffId>,
    /// Normalised thread keys of the thread items naming the buyer.
    thread_keys: Vec<String>,
}

impl DynamoStore {
    /// See the module docs.
    pub(super) async fn erase(&self, email: &EmailAddress) -> Result<Erasure, StoreError> {
        let partition = self.contact_partition(email).await?;
        let records: Vec<HandoffRecord> = self
            .batch_records(&partition.handoffs)
            .await?
            .into_iter()
            .filter(|r| &r.contact_email == email)
            .collect();
        let reply_keys: Vec<String> = records.iter().flat_map(thread_keys_of).collect();
        let mut erasure = Erasure {
            thread_keys: self
                .erase_threads(email, partition.thread_keys, reply_keys)
                .await?,
            ..Erasure::default()
        };
        for record in &records {
            if let Some((record, entries)) = self.erase_handoff(&record.id, email).await? {
                erasure.add_record(&record, entries);
            }
        }
        Ok(erasure)
    }

    async fn contact_partition(
        &self,
        email: &EmailAddress,
    ) -> Result<ContactPartition, StoreError> {
        let mut out = ContactPartition::default();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::INDEX_CONTACT)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::CONTACT_PK)
                .expression_attribute_values(":pk", s(keys::contact_pk(email)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query contact (erase)", e))?;
            for item in page.items() {
                let pk = get_s(item, keys::PK)?;
                if get_s(item, keys::CREATED_SK)?.starts_with(keys::THREAD_CONTACT_SK) {
                    if let Some(k) = pk.strip_prefix("TH#") {
                        out.thread_keys.push(k.to_string());
                    }
                } else if let Some(id) = pk
                    .strip_prefix("H#")
                    .and_then(|raw| HandoffId::parse(raw).ok())
                {
                    out.handoffs.push(id);
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Deletes the thread items [`erases_thread`] picks, starting from the buyer's indexed keys
    /// and the keys erased replies named; returns how many existed.
    async fn erase_threads(
        &self,
        email: &EmailAddress,
        indexed: Vec<String>,
        reply_keys: Vec<String>,
    ) -> Result<u64, StoreError> {
        let mut frontier: Vec<(String, bool)> = indexed
            .into_iter()
            .map(|k| (k, false))
            .chain(reply_keys.into_iter().map(|k| (k, true)))
            .collect();
        let mut seen: HashSet<String> = HashSet::new();
        let mut doomed: Vec<String> = Vec::new();
        for _ in 0..THREAD_ROUNDS {
            frontier.retain(|(k, _)| seen.insert(k.clone()));
            if frontier.is_empty() {
                break;
            }
            let items = self
                .batch_items(
                    frontier
                        .iter()
                        .map(|(k, _)| key(keys::thread_pk(k), keys::THREAD_SK))
                        .collect(),
                    true,
                )
                .await?;
            let mut by_pk: HashMap<String, Item> = HashMap::with_capacity(items.len());
            for item in items {
                by_pk.insert(get_s(&item, keys::PK)?.to_string(), item);
            }
            let mut next = Vec::new();
            for (k, reached) in frontier.drain(..) {
                let Some(item) = by_pk.get(&keys::thread_pk(&k)) else {
                    continue;
                };
                let thread: OutboundThread = get_json(item, keys::THREAD)?;
                if !erases_thread(&thread, email, reached) {
                    continue;
                }
                doomed.push(k);
                for other in thread.keys.iter().map(|raw| thread_key(raw)) {
                    if !other.is_empty() && !seen.contains(&other) {
                        next.push((other, true));
                    }
                }
            }
            frontier = next;
        }
        let requests = doomed
            .iter()
            .map(|k| delete_request(keys::thread_pk(k), keys::THREAD_SK))
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests, "BatchWriteItem erase threads")
            .await?;
        Ok(doomed.len() as u64)
    }

    /// Deletes one handoff's timeline and then its record (see the module docs); `None` when
    /// it is gone already or belongs to another contact.
    async fn erase_handoff(
        &self,
        id: &HandoffId,
        email: &EmailAddress,
    ) -> Result<Option<(HandoffRecord, u64)>, StoreError> {
        let pk = keys::handoff_pk(id);
        let mut entries = 0u64;
        for _ in 0..ERASE_ATTEMPTS {
            let Some(item) = self.get_item(pk.clone(), keys::META_SK, "GetItem").await? else {
                return Ok(None);
            };
            let record = super::codec::record_of(&item)?;
            if &record.contact_email != email {
                return Ok(None);
            }
            let version: u64 = get_n(&item, keys::meta::VERSION)?;
            let timeline = self.timeline_keys(&pk).await?;
            entries += timeline.len() as u64;
            let requests = timeline
                .into_iter()
                .map(|sk| delete_request(pk.clone(), sk))
                .collect::<Result<Vec<_>, _>>()?;
            self.batch_write(requests, "BatchWriteItem erase timeline")
                .await?;
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(pk.clone(), keys::META_SK)))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(version))
                .send()
                .await;
            match deleted {
                Ok(_) => return Ok(Some((record, entries))),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    // A transition landed (or someone else erased it): read again.
                    continue;
                }
                Err(e) => return Err(sdk_error("DeleteItem erase", e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "handoff {id} kept changing while it was erased; run the erasure again"
        )))
    }

    /// The sort keys of a handoff's timeline items (consistent, all pages).
    async fn timeline_keys(&self, pk: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :t)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":t", s(keys::TIMELINE_PREFIX))
                .projection_expression("#pk, #sk")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query timeline (erase)", e))?;
            for item in page.items() {
                out.push(get_s(item, keys::SK)?.to_string());
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

fn delete_request(pk: String, sk: impl Into<String>) -> Result<WriteRequest, StoreError> {
    let delete = built(DeleteRequest::builder().set_key(Some(key(pk, sk))).build())?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}
