//! [`DynamoStore`]: the [`HandoffStore`] on one DynamoDB table.
//!
//! # Single-table layout
//!
//! Every key attribute is a string. The table has `PK`/`SK` and four global secondary indexes.
//!
//! | item | `PK` | `SK` | other attributes |
//! |---|---|---|---|
//! | handoff record | `H#<id>` | `META` | `record` (JSON), `version` (N), `state`, `created_at`, `summary` (JSON), index keys below |
//! | timeline entry | `H#<id>` | `T#<version, 20 digits>` | `entry` (JSON) |
//! | account owner | `A#<domain>` | `OWNER` | `rep` |
//! | rep load | `L#<rep>` | `<yyyy-mm-dd>` | `n` (N, `ADD`), `expires_at` |
//! | counter | `CTR#<name>` | `CTR` | `n` (N, `ADD`) |
//! | fairness counters | `FAIR` | `FAIR` | per rep `O#<rep>` (N, shares owed in millionths) and `W#<rep>` (N, round-robin wins), all `ADD` |
//! | availability | `AVAIL` | `<rep>` | `value` (JSON) |
//! | rules version | `RULES` | `V#<version, 6+ digits>` | `toml`, `pushed_at` (see [`crate::rules`]) |
//! | current rules | `RULES` | `CURRENT` | `n` (N) |
//! | outbound thread key | `TH#<thread_key(key)>` | `THREAD` | `thread` (JSON), `expires_at` (put + 180 days), `CPK`/`CRSK = TH#` when it names its buyer; the [`ThreadIndex`](handoff_domain::ports::ThreadIndex) (`threads.rs`) |
//! | one-time token | `ONCE#<key>` | `ONCE` | `expires_at` (`remember_until`); the [`OnceTokens`](handoff_connectors::once::OnceTokens) ledger (`once.rs`) |
//!
//! | GSI | partition key | sort key | projection | serves |
//! |---|---|---|---|---|
//! | `contact` | `CPK` = `C#<email>` | `CRSK` = `<created_at>#<id>` (thread items: `TH#`) | `summary` | `by_contact`, newest first (`CRSK < ":"`: handoffs only); erasure |
//! | `domain` | `DPK` = `D#<domain>` | `CRSK` | `summary` | `by_domain`, newest first |
//! | `created` | `DAYPK` = `DAY#<yyyy-mm-dd>` | `CRSK` | keys only (+ `BatchGetItem`) | `created_between` (audit) |
//! | `due` (sparse) | `DUEPK` = `DUE#<shard>` | `DUESK` = `<deadline>#<id>` | keys only | `due` (failover sweep) |
//!
//! Timestamps in keys are fixed-width UTC RFC 3339 with nanoseconds, so string order is time
//! order. `DUEPK`/`DUESK` exist on a `META` item only while [`HandoffRecord::due_at`] is `Some`
//! (the owner has not accepted): `META` is always written whole, so an accepted or closed handoff
//! leaves the index and the sweep reads nothing but due handoffs. The sweep queries
//! `DUEPK = DUE#<shard> AND DUESK <= "<now>#~"` with `Limit = limit + 1` (the extra key proves
//! a next page exists) and returns a cursor holding each shard's resume key.
//!
//! The `due` partition can be sharded over `N` keys (`shard = fnv1a(id) % N`,
//! [`DynamoStore::with_due_shards`]) to spread index writes; the sweep then merges the shards in
//! deadline order (see `due.rs`). The default is one shard: one `due` partition takes ~1,000
//! index writes per second, far beyond any sales team's handoff rate, and with one shard a page
//! reads exactly `limit + 1` index items, which the port's conformance suite pins down. With
//! `N > 1` a page also reads some due keys past the page (at most about `limit / N` per other
//! shard, re-read on the next page; never a key that is not due). Every writer and the sweep
//! must use the same `N`.
//!
//! # Writes
//!
//! `create` and `update` are one `TransactWriteItems` each: the `META` put (conditional on
//! `attribute_not_exists(PK)`, respectively `version = record.version - 1`) together with the
//! timeline put (conditional on `attribute_not_exists(PK)`). Counters and loads are `UpdateItem`
//! with `ADD`. Nothing here ever scans.
//!
//! `record_assignment` is two such updates, sent together: `ADD` one to the rep-day load item,
//! and one `ADD` on the fairness item for every candidate's share and the winner's win. Neither
//! reads or checks anything, so concurrent assignments never conflict and none is lost; they are
//! not one transaction (a transaction on the one fairness item would cancel concurrent ones with
//! `TransactionConflict`), so a failure between them can lose one decision's fair share, which
//! the deficit model absorbs (the deficits still sum to zero). One item for every rep keeps a
//! decision at one write and the read at one `GetItem`: two numbers of some 30 bytes per rep,
//! so a roster of 100 is about 3 KB (3 write units), and the partition's 1,000 write units a
//! second allow some 300 round-robin decisions a second.
//!
//! # Personal data
//!
//! With a retention ([`DynamoStore::with_retention`]) a `META` written in a final state gets
//! `expires_at` = its `updated_at` + retention, and every timeline item its own `expires_at`
//! (the record's when written in a final state, otherwise the entry's time + retention +
//! [`TIMELINE_GRACE_DAYS`](handoff_domain::privacy::TIMELINE_GRACE_DAYS)), so DynamoDB's TTL
//! removes a closed handoff without a single extra write (windows: `docs/data-model.md`).
//! `erase_contact` is in `erase.rs`.
//!
//! # Consistency
//!
//! Reads on the table (`get`, `timeline`, `account_owner`, `rep_load`, `fairness`, `availability`) are
//! strongly consistent. GSI queries (`due`, `by_contact`, `by_domain`, `created_between`) are
//! eventually consistent on DynamoDB (usually well under a second); the emulator shows writes
//! immediately.

pub mod codec;
mod due;
mod erase;
pub mod keys;
mod once;
mod threads;

pub use threads::THREAD_RETENTION_DAYS;

use crate::error::built;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    KeysAndAttributes, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Days, NaiveDate, Utc};
use codec::{get_n, get_s, key, n, s, sdk_error, Item, ShardCursor};
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, TimelineEntry};
use handoff_domain::ports::{
    Assignment, AvailabilityOverride, CreateOutcome, DuePage, HandoffStore, HandoffSummary,
    StoreError,
};
use handoff_domain::privacy::{Erasure, Retention};
use handoff_domain::routing::{FairShare, FairnessCounters};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Default number of `due` index partitions (see the module docs for when to raise it).
pub const DEFAULT_DUE_SHARDS: u32 = 1;

/// A cancelled transaction action: its code and, when the service returned it, the old item.
type Reason = (Option<String>, Option<Item>);

/// How often a transaction cancelled by `TransactionConflict` is retried before `Unavailable`.
const TRANSACTION_CONFLICT_RETRIES: u32 = 5;

/// How long a rep's daily load item is kept after its day (DynamoDB TTL).
const LOAD_RETENTION_DAYS: u64 = 60;

/// The DynamoDB [`HandoffStore`]. Cheap to clone; build it once per process.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    due_shards: u32,
    retention: Option<Retention>,
}

impl DynamoStore {
    /// A store on `table` (created beforehand, e.g. by [`crate::provision::ensure_table`]) with
    /// [`DEFAULT_DUE_SHARDS`] due shards.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            due_shards: DEFAULT_DUE_SHARDS,
            retention: None,
        }
    }

    /// Keeps closed handoffs for `retention` (a `chrono::Duration`, a `std::time::Duration` or
    /// a [`Retention`]; at least a day) after their last write: from now on every write stamps
    /// the `expires_at` TTL attribute on `META` and on the timeline item (see the module docs).
    /// Without it (the default) nothing of a handoff expires. Items written before keep what
    /// they were written with.
    pub fn with_retention(mut self, retention: impl Into<Retention>) -> Self {
        self.retention = Some(retention.into());
        self
    }

    /// The retention, if any.
    pub fn retention(&self) -> Option<Retention> {
        self.retention
    }

    /// The `META` and timeline items of one write, with their `expires_at` under the retention.
    fn write_items(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<(Item, Item), StoreError> {
        let mut meta = codec::meta_item(record, self.due_shards)?;
        let mut timeline = codec::timeline_item(entry)?;
        if let Some(retention) = self.retention {
            if let Some(at) = retention.record_expiry(record) {
                meta.insert(keys::EXPIRES_AT.into(), n(at.timestamp()));
            }
            let at = retention.entry_expiry(record, entry);
            timeline.insert(keys::EXPIRES_AT.into(), n(at.timestamp()));
        }
        Ok((meta, timeline))
    }

    /// Sets the number of `due` shards (at least 1). Every writer and the sweep must agree;
    /// changing it on a live table needs the due keys rewritten.
    pub fn with_due_shards(mut self, shards: u32) -> Self {
        self.due_shards = shards.max(1);
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The number of `due` shards.
    pub fn due_shards(&self) -> u32 {
        self.due_shards
    }

    fn put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    async fn get_item(&self, pk: String, sk: &str, op: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(op, e))?;
        Ok(out.item)
    }

    /// Runs a transaction; on a failed condition returns the cancellation reasons (code, old
    /// item) per action. Each attempt carries a fresh `ClientRequestToken`, so an SDK retry after
    /// a lost response is answered as the success it was instead of failing its own condition;
    /// `TransactionConflict` cancellations (another transaction on the item) are retried here.
    async fn transact(
        &self,
        op: &str,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<Reason>>, StoreError> {
        let mut attempt = 0u32;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(codec::request_token())
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Ok(())),
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(tce)) =
                err.as_service_error()
            else {
                return Err(sdk_error(op, err));
            };
            let reasons: Vec<Reason> = tce
                .cancellation_reasons()
                .iter()
                .map(|r| (r.code().map(str::to_string), r.item().cloned()))
                .collect();
            let has = |code: &str| reasons.iter().any(|(c, _)| c.as_deref() == Some(code));
            if has("ConditionalCheckFailed") {
                return Ok(Err(reasons));
            }
            if has("TransactionConflict") && attempt < TRANSACTION_CONFLICT_RETRIES {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                continue;
            }
            let codes: Vec<&str> = reasons
                .iter()
                .map(|(c, _)| c.as_deref().unwrap_or("None"))
                .collect();
            return Err(StoreError::Unavailable(format!(
                "DynamoDB {op}: transaction cancelled ({})",
                codes.join(", ")
            )));
        }
    }

    /// Queries an index partition, newest first, up to `limit` summaries of handoffs (sort keys
    /// below [`keys::CREATED_SK_END`]: thread items in the `contact` index are left out).
    async fn summaries(
        &self,
        index: &str,
        pk_attr: &str,
        pk: String,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :pk AND #sk < :end")
                .expression_attribute_names("#pk", pk_attr)
                .expression_attribute_names("#sk", keys::CREATED_SK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":end", s(keys::CREATED_SK_END))
                .scan_index_forward(false)
                .limit(page_limit(limit - out.len()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error(index, e))?;
            for item in page.items() {
                out.push(codec::summary_of(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Adds one to a rep's load for `day` (the item expires [`LOAD_RETENTION_DAYS`] after it);
    /// the new count.
    async fn add_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        let expires = day
            .checked_add_days(Days::new(LOAD_RETENTION_DAYS))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp())
            .unwrap_or(i64::MAX);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::load_pk(rep), keys::day_sk(day))))
            .update_expression("ADD #n :one SET #exp = :exp")
            .expression_attribute_names("#n", keys::N)
            .expression_attribute_names("#exp", keys::EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(expires))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem load", e))?;
        get_n(&out.attributes.unwrap_or_default(), keys::N)
    }

    /// Adds one decision's shares to the owed counters and one win to the winner's, in one
    /// `UpdateItem ADD` on the fairness item (created by the first).
    async fn add_fair_share(&self, share: &FairShare) -> Result<(), StoreError> {
        let mut amounts: BTreeMap<String, u64> = BTreeMap::new();
        for (rep, owed) in &share.shares {
            *amounts.entry(keys::owed_attr(rep)).or_default() += owed;
        }
        *amounts.entry(keys::won_attr(&share.winner)).or_default() += 1;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::FAIRNESS_PK, keys::FAIRNESS_SK)));
        let mut terms = Vec::with_capacity(amounts.len());
        for (i, (attribute, amount)) in amounts.into_iter().enumerate() {
            terms.push(format!("#a{i} :a{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), attribute)
                .expression_attribute_values(format!(":a{i}"), n(amount));
        }
        update
            .update_expression(format!("ADD {}", terms.join(", ")))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem fairness", e))?;
        Ok(())
    }

    /// Reads `META` items by id with `BatchGetItem` (100 keys per call, unprocessed keys retried).
    async fn batch_records(&self, ids: &[HandoffId]) -> Result<Vec<HandoffRecord>, StoreError> {
        let keys = ids
            .iter()
            .map(|id| key(keys::handoff_pk(id), keys::META_SK))
            .collect();
        self.batch_items(keys, true)
            .await?
            .iter()
            .map(codec::record_of)
            .collect()
    }

    /// Reads items by key with `BatchGetItem`: 100 keys per call, unprocessed keys retried with
    /// backoff. Missing items are simply absent from the result (in no particular order).
    async fn batch_items(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = Some(built(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(consistent)
                    .build(),
            )?);
            let mut attempt = 0u32;
            while let Some(request) = pending.take() {
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchGetItem", e))?;
                if let Some(items) = resp.responses().and_then(|r| r.get(&self.table)) {
                    out.extend(items.iter().cloned());
                }
                if let Some(left) = resp
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                {
                    if !left.keys().is_empty() {
                        attempt += 1;
                        if attempt > 8 {
                            return Err(StoreError::Unavailable(
                                "BatchGetItem kept leaving keys unprocessed".into(),
                            ));
                        }
                        tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                        pending = Some(left);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The `due` index at one instant.
struct DueReader<'a> {
    store: &'a DynamoStore,
    /// `DUESK <= upper` selects deadlines at or before `now`.
    upper: String,
}

impl due::ShardReader for DueReader<'_> {
    async fn read(
        &self,
        shard: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<due::ShardPage, StoreError> {
        // The GSI's ExclusiveStartKey is the item's table key plus its index key.
        let start = after.and_then(|sk| {
            let (_, id) = keys::parse_due_sk(sk)?;
            let mut k = key(keys::handoff_pk(&id), keys::META_SK);
            k.insert(keys::DUE_PK.into(), s(keys::due_pk(shard)));
            k.insert(keys::DUE_SK.into(), s(sk));
            Some(k)
        });
        let out = self
            .store
            .client
            .query()
            .table_name(&self.store.table)
            .index_name(keys::INDEX_DUE)
            .key_condition_expression("#pk = :pk AND #sk <= :upper")
            .expression_attribute_names("#pk", keys::DUE_PK)
            .expression_attribute_names("#sk", keys::DUE_SK)
            .expression_attribute_values(":pk", s(keys::due_pk(shard)))
            .expression_attribute_values(":upper", s(self.upper.clone()))
            .limit(page_limit(limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query due", e))?;
        let keys = out
            .items()
            .iter()
            .map(|item| get_s(item, keys::DUE_SK).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let more_after = match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => Some(get_s(k, keys::DUE_SK)?.to_string()),
            _ => None,
        };
        Ok(due::ShardPage {
            keys,
            more_after,
            read: out.scanned_count().max(0) as usize,
        })
    }
}

fn page_limit(n: usize) -> i32 {
    n.clamp(1, 1000) as i32
}

fn conflict(record: &HandoffRecord) -> StoreError {
    StoreError::VersionConflict {
        id: record.id.clone(),
        expected: record.version.saturating_sub(1),
    }
}

#[async_trait]
impl HandoffStore for DynamoStore {
    async fn create(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<CreateOutcome, StoreError> {
        let (meta, timeline) = self.write_items(record, entry)?;
        let items = vec![
            self.put(meta, "attribute_not_exists(PK)", None)?,
            self.put(timeline, "attribute_not_exists(PK)", None)?,
        ];
        match self.transact("create", items).await? {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(reasons) => {
                // The old item comes back with the cancellation (ALL_OLD); read it if it did not.
                let old = match reasons.into_iter().next().and_then(|(_, item)| item) {
                    Some(item) if item.contains_key(keys::meta::STATE) => Some(item),
                    _ => {
                        self.get_item(keys::handoff_pk(&record.id), keys::META_SK, "GetItem")
                            .await?
                    }
                };
                match old {
                    Some(item) => Ok(CreateOutcome::AlreadyExists(codec::state_of(&item)?)),
                    None => Err(StoreError::Corrupt(format!(
                        "handoff {}: timeline entry exists without its record",
                        record.id
                    ))),
                }
            }
        }
    }

    async fn get(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        self.get_item(keys::handoff_pk(id), keys::META_SK, "GetItem")
            .await?
            .map(|item| codec::record_of(&item))
            .transpose()
    }

    async fn update(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        let expected = record
            .version
            .checked_sub(1)
            .ok_or_else(|| conflict(record))?;
        let (meta, timeline) = self.write_items(record, entry)?;
        let items = vec![
            self.put(
                meta,
                "version = :expected",
                Some(HashMap::from([(":expected".to_string(), n(expected))])),
            )?,
            self.put(timeline, "attribute_not_exists(PK)", None)?,
        ];
        match self.transact("update", items).await? {
            Ok(()) => Ok(()),
            Err(reasons) => {
                let meta_missing = matches!(
                    reasons.first(),
                    Some((Some(code), None)) if code == "ConditionalCheckFailed"
                );
                if meta_missing && self.get(&record.id).await?.is_none() {
                    return Err(StoreError::NotFound(record.id.clone()));
                }
                Err(conflict(record))
            }
        }
    }

    async fn timeline(&self, id: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :t)")
                .expression_attribute_values(":pk", s(keys::handoff_pk(id)))
                .expression_attribute_values(":t", s(keys::TIMELINE_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query timeline", e))?;
            for item in page.items() {
                out.push(codec::entry_of(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<DuePage, StoreError> {
        let positions = match cursor {
            Some(c) => codec::decode_cursor(&c, self.due_shards)?,
            None => vec![ShardCursor::Start; self.due_shards as usize],
        };
        let reader = DueReader {
            store: self,
            upper: keys::due_sk_upper(now),
        };
        due::page(&reader, positions, limit).await
    }

    async fn by_contact(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.summaries(
            keys::INDEX_CONTACT,
            keys::CONTACT_PK,
            keys::contact_pk(email),
            limit,
        )
        .await
    }

    async fn by_domain(
        &self,
        domain: &CompanyDomain,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.summaries(
            keys::INDEX_DOMAIN,
            keys::DOMAIN_PK,
            keys::domain_pk(domain),
            limit,
        )
        .await
    }

    async fn created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HandoffRecord>, StoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        // `created_at#id` BETWEEN `from` AND `to` is exactly [from, to): "<to>#…" sorts after "<to>".
        let (lo, hi) = (keys::timestamp(from), keys::timestamp(to));
        let last_day = (to - chrono::Duration::nanoseconds(1)).date_naive();
        let mut ids = Vec::new();
        let mut day = from.date_naive();
        while day <= last_day {
            let mut start: Option<Item> = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(keys::INDEX_CREATED)
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                    .expression_attribute_names("#pk", keys::DAY_PK)
                    .expression_attribute_names("#sk", keys::CREATED_SK)
                    .expression_attribute_values(":pk", s(keys::day_pk(day)))
                    .expression_attribute_values(":lo", s(lo.clone()))
                    .expression_attribute_values(":hi", s(hi.clone()))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("Query created", e))?;
                for item in page.items() {
                    let pk = get_s(item, keys::PK)?;
                    let id = pk
                        .strip_prefix("H#")
                        .and_then(|raw| HandoffId::parse(raw).ok())
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("created index key {pk:?} is malformed"))
                        })?;
                    ids.push(id);
                }
                match page.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
            day = match day.checked_add_days(Days::new(1)) {
                Some(d) => d,
                None => break,
            };
        }
        let mut records = self.batch_records(&ids).await?;
        records.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(records)
    }

    async fn account_owner(&self, domain: &CompanyDomain) -> Result<Option<RepId>, StoreError> {
        let Some(item) = self
            .get_item(keys::account_pk(domain), keys::OWNER_SK, "GetItem owner")
            .await?
        else {
            return Ok(None);
        };
        let raw = get_s(&item, keys::REP)?;
        RepId::parse(raw)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("account owner of {domain}: {e}")))
    }

    async fn set_account_owner(
        &self,
        domain: &CompanyDomain,
        rep: &RepId,
    ) -> Result<(), StoreError> {
        let mut item = key(keys::account_pk(domain), keys::OWNER_SK);
        item.insert(keys::REP.into(), s(rep.as_str()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem owner", e))?;
        Ok(())
    }

    async fn rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        match self
            .get_item(keys::load_pk(rep), &keys::day_sk(day), "GetItem load")
            .await?
        {
            Some(item) => get_n(&item, keys::N),
            None => Ok(0),
        }
    }

    async fn rep_loads(&self, wanted: &[(RepId, NaiveDate)]) -> Result<Vec<u32>, StoreError> {
        let mut unique: Vec<(String, String)> = wanted
            .iter()
            .map(|(rep, day)| (keys::load_pk(rep), keys::day_sk(*day)))
            .collect();
        unique.sort();
        unique.dedup();
        let items = self
            .batch_items(
                unique
                    .iter()
                    .map(|(pk, sk)| key(pk.clone(), sk.clone()))
                    .collect(),
                false,
            )
            .await?;
        let mut found = std::collections::HashMap::new();
        for item in &items {
            found.insert(
                (
                    get_s(item, keys::PK)?.to_string(),
                    get_s(item, keys::SK)?.to_string(),
                ),
                get_n::<u32>(item, keys::N)?,
            );
        }
        Ok(wanted
            .iter()
            .map(|(rep, day)| {
                found
                    .get(&(keys::load_pk(rep), keys::day_sk(*day)))
                    .copied()
                    .unwrap_or(0)
            })
            .collect())
    }

    async fn fairness(&self, reps: &[RepId]) -> Result<Vec<FairnessCounters>, StoreError> {
        let item = self
            .get_item(
                keys::FAIRNESS_PK.to_string(),
                keys::FAIRNESS_SK,
                "GetItem fairness",
            )
            .await?
            .unwrap_or_default();
        let counter = |name: String| -> Result<u64, StoreError> {
            if item.contains_key(&name) {
                get_n(&item, &name)
            } else {
                Ok(0)
            }
        };
        reps.iter()
            .map(|rep| {
                Ok(FairnessCounters {
                    owed: counter(keys::owed_attr(rep))?,
                    won: counter(keys::won_attr(rep))?,
                })
            })
            .collect()
    }

    async fn record_assignment(&self, assignment: &Assignment) -> Result<Option<u32>, StoreError> {
        let load = async {
            match &assignment.load {
                Some((rep, day)) => self.add_load(rep, *day).await.map(Some),
                None => Ok(None),
            }
        };
        let fairness = async {
            match &assignment.fair_share {
                Some(share) => self.add_fair_share(share).await,
                None => Ok(()),
            }
        };
        let (count, ()) = tokio::try_join!(load, fairness)?;
        Ok(count)
    }

    async fn next_counter(&self, name: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::counter_pk(name), keys::COUNTER_SK)))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", keys::N)
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem counter", e))?;
        get_n(&out.attributes.unwrap_or_default(), keys::N)
    }

    async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(keys::AVAILABILITY_PK))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query availability", e))?;
            for item in page.items() {
                out.push(codec::get_json(item, keys::VALUE)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn set_availability(&self, value: &AvailabilityOverride) -> Result<(), StoreError> {
        let mut item = key(keys::AVAILABILITY_PK, value.rep.as_str());
        let json = serde_json::to_string(value)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode availability: {e}")))?;
        item.insert(keys::VALUE.into(), s(json));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem availability", e))?;
        Ok(())
    }

    async fn expires_at(&self, id: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(item) = self
            .get_item(keys::handoff_pk(id), keys::META_SK, "GetItem")
            .await?
        else {
            return Ok(None);
        };
        if !item.contains_key(keys::EXPIRES_AT) {
            return Ok(None);
        }
        let secs: i64 = get_n(&item, keys::EXPIRES_AT)?;
        DateTime::from_timestamp(secs, 0)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("handoff {id}: expires_at {secs}")))
    }

    async fn erase_contact(&self, email: &EmailAddress) -> Result<Erasure, StoreError> {
        self.erase(email).await
    }
}
