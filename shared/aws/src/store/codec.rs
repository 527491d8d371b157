//! Items ⇄ domain values, the due-page cursor, and SDK errors → [`StoreError`].

use super::keys::{self, meta};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use handoff_domain::lifecycle::{HandoffRecord, State, TimelineEntry};
use handoff_domain::ports::{HandoffSummary, StoreError};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::str::FromStr;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The primary key of an item.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}

/// A string attribute, or `Corrupt`.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(corrupt(item, format!("attribute {name} is not a string"))),
        None => Err(corrupt(item, format!("attribute {name} is missing"))),
    }
}

/// A number attribute parsed as `T`, or `Corrupt`.
pub fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| corrupt(item, format!("attribute {name} = {v:?} is out of range"))),
        Some(_) => Err(corrupt(item, format!("attribute {name} is not a number"))),
        None => Err(corrupt(item, format!("attribute {name} is missing"))),
    }
}

/// A JSON text attribute decoded as `T`, or `Corrupt`.
pub fn get_json<T: DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    serde_json::from_str(get_s(item, name)?)
        .map_err(|e| corrupt(item, format!("attribute {name}: {e}")))
}

fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot encode {what}: {e}")))
}

fn corrupt(item: &Item, message: String) -> StoreError {
    let at = |k| match item.get(k) {
        Some(AttributeValue::S(v)) => v.as_str(),
        _ => "?",
    };
    StoreError::Corrupt(format!("item {}/{}: {message}", at(keys::PK), at(keys::SK)))
}

/// The `META` item of a record, with every index key it belongs under. The due keys are written
/// only while [`HandoffRecord::due_at`] is `Some`; since `META` is always written whole (Put),
/// leaving them out removes the handoff from the sparse `due` index.
pub fn meta_item(record: &HandoffRecord, due_shards: u32) -> Result<Item, StoreError> {
    let mut item = key(keys::handoff_pk(&record.id), keys::META_SK);
    item.insert(meta::RECORD.into(), s(to_json("record", record)?));
    item.insert(meta::VERSION.into(), n(record.version));
    item.insert(meta::STATE.into(), s(record.state.as_str()));
    item.insert(
        meta::CREATED_AT.into(),
        s(keys::timestamp(record.created_at)),
    );
    item.insert(
        meta::SUMMARY.into(),
        s(to_json("summary", &HandoffSummary::of(record))?),
    );
    item.insert(
        keys::CONTACT_PK.into(),
        s(keys::contact_pk(&record.contact_email)),
    );
    if let Some(domain) = &record.company_domain {
        item.insert(keys::DOMAIN_PK.into(), s(keys::domain_pk(domain)));
    }
    item.insert(
        keys::DAY_PK.into(),
        s(keys::day_pk(record.created_at.date_naive())),
    );
    item.insert(
        keys::CREATED_SK.into(),
        s(keys::created_sk(record.created_at, &record.id)),
    );
    if let Some(due) = record.due_at() {
        let shard = keys::due_shard(&record.id, due_shards);
        item.insert(keys::DUE_PK.into(), s(keys::due_pk(shard)));
        item.insert(keys::DUE_SK.into(), s(keys::due_sk(due, &record.id)));
    }
    Ok(item)
}

/// Decodes the record of a `META` item.
pub fn record_of(item: &Item) -> Result<HandoffRecord, StoreError> {
    get_json(item, meta::RECORD)
}

/// The state label of a `META` item (all that `create` needs to report a replay).
pub fn state_of(item: &Item) -> Result<State, StoreError> {
    let label = get_s(item, meta::STATE)?;
    serde_json::from_value(serde_json::Value::String(label.to_string()))
        .map_err(|_| corrupt(item, format!("unknown state {label:?}")))
}

/// Decodes the summary projected into the `contact` / `domain` GSIs.
pub fn summary_of(item: &Item) -> Result<HandoffSummary, StoreError> {
    get_json(item, meta::SUMMARY)
}

/// A timeline item.
pub fn timeline_item(entry: &TimelineEntry) -> Result<Item, StoreError> {
    let mut item = key(
        keys::handoff_pk(&entry.handoff_id),
        keys::timeline_sk(entry.version),
    );
    item.insert(keys::ENTRY.into(), s(to_json("timeline entry", entry)?));
    Ok(item)
}

/// Decodes a timeline item.
pub fn entry_of(item: &Item) -> Result<TimelineEntry, StoreError> {
    get_json(item, keys::ENTRY)
}

/// A fresh `ClientRequestToken` (32 hex digits): unique per call, reused by the SDK's own
/// retries of that call.
pub fn request_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(nanos);
    h.write_u32(std::process::id());
    format!("{:016x}{:016x}", h.finish(), nanos)
}

/// Where each due shard's query resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardCursor {
    /// Not read yet: from the earliest deadline.
    Start,
    /// Resume after this `DUESK` (the shard's last consumed key).
    After(String),
    /// Nothing more at or before `now`.
    Done,
}

const CURSOR_TAG: &str = "due1";

/// Encodes the per-shard positions: `due1|<s0>|<s1>|…` with `` = start, `-` = done, else the
/// `DUESK` to resume after (its `PK`/`SK` follow from the id inside it).
pub fn encode_cursor(shards: &[ShardCursor]) -> String {
    let mut out = String::from(CURSOR_TAG);
    for c in shards {
        out.push('|');
        match c {
            ShardCursor::Start => {}
            ShardCursor::After(sk) => out.push_str(sk),
            ShardCursor::Done => out.push('-'),
        }
    }
    out
}

/// Decodes a cursor for `shards` shards.
pub fn decode_cursor(raw: &str, shards: u32) -> Result<Vec<ShardCursor>, StoreError> {
    let bad = || StoreError::Corrupt(format!("invalid due cursor {raw:?} for {shards} shards"));
    let mut parts = raw.split('|');
    if parts.next() != Some(CURSOR_TAG) {
        return Err(bad());
    }
    let out = parts
        .map(|p| match p {
            "" => Ok(ShardCursor::Start),
            "-" => Ok(ShardCursor::Done),
            sk if keys::parse_due_sk(sk).is_some() => Ok(ShardCursor::After(sk.to_string())),
            _ => Err(bad()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if out.len() != shards as usize {
        return Err(bad());
    }
    Ok(out)
}

/// Error codes that no retry can fix: the request or the data is refused.
const PERMANENT_CODES: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "ItemCollectionSizeLimitExceededException",
];

/// Maps an SDK error: refused requests/data → `Corrupt`; throttling, timeouts, dispatch
/// failures, server errors, missing tables and anything unknown → `Unavailable` (retry, then DLQ).
pub fn sdk_error<E, R>(op: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let text = format!("DynamoDB {op}: {}", DisplayErrorContext(&err));
    match code.as_deref() {
        Some(c) if PERMANENT_CODES.contains(&c) => StoreError::Corrupt(text),
        _ => StoreError::Unavailable(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let sk = "2025-01-02T03:04:05.000000000Z#h_0000000000000000000000000000000a".to_string();
        let c = vec![
            ShardCursor::Start,
            ShardCursor::After(sk),
            ShardCursor::Done,
        ];
        assert_eq!(decode_cursor(&encode_cursor(&c), 3).unwrap(), c);
    }

    #[test]
    fn bad_cursors_are_refused() {
        assert!(decode_cursor("due1||", 3).is_err());
        assert!(decode_cursor("nope", 1).is_err());
        assert!(decode_cursor("due1|garbage", 1).is_err());
    }
}
