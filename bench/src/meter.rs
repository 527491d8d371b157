//! [`Meter`]: an SDK interceptor that counts DynamoDB and SQS requests per operation and
//! estimates the DynamoDB capacity they consume from the items on the wire.
//!
//! Why estimate: moto answers `ReturnConsumedCapacity` with a constant (1.0 per call, see
//! `include_consumed_capacity` in moto's `dynamodb/responses.py`), so its figures say nothing
//! about item sizes or indexes. The meter therefore applies DynamoDB's published on-demand
//! rules to the request and response bodies it sees:
//!
//! - **writes** (WRU): `ceil(item size / 1 KB)` per item written — the larger of the old and new
//!   item for a replacing `Put` — doubled inside `TransactWriteItems`; `UpdateItem` on the small
//!   counter/load items is 1. **Index writes** follow each `Put` of a record item: an entry that
//!   appears or disappears costs one write, a changed index key two (delete + put), an unchanged
//!   key one if a projected attribute changed (the `summary` of `contact`/`domain`) and none
//!   otherwise. The meter keeps the last item it saw written per key to know the "old" side.
//! - **reads** (RRU): `GetItem` `ceil(size / 4 KB)` (at least 1); `Query` the sum of the returned
//!   (projected) items rounded up to 4 KB once per call; `BatchGetItem` per item; eventually
//!   consistent reads (every GSI query) cost half.
//!
//! Requests are counted once per operation (after serialization; SDK retries are not counted —
//! none happen against the emulator, and `errors` says if any call failed).

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use handoff_aws::store::keys;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The GSIs of the table: name, partition key, sort key, projected non-key attributes.
/// Mirrors `handoff_aws::provision` (the definitions are private there).
const INDEXES: [(&str, &str, &str, &[&str]); 4] = [
    (
        keys::INDEX_CONTACT,
        keys::CONTACT_PK,
        keys::CREATED_SK,
        &[keys::meta::SUMMARY],
    ),
    (
        keys::INDEX_DOMAIN,
        keys::DOMAIN_PK,
        keys::CREATED_SK,
        &[keys::meta::SUMMARY],
    ),
    (keys::INDEX_CREATED, keys::DAY_PK, keys::CREATED_SK, &[]),
    (keys::INDEX_DUE, keys::DUE_PK, keys::DUE_SK, &[]),
];

/// What one operation kind cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpStats {
    pub requests: u64,
    /// Read request units.
    pub rru: f64,
    /// Write request units on the table.
    pub wru_table: f64,
    /// Write request units on the GSIs.
    pub wru_index: f64,
    /// `ScannedCount` summed over queries.
    pub scanned: u64,
}

/// Counters by operation (`dynamodb:PutItem`, `sqs:SendMessageBatch`…).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub ops: BTreeMap<String, OpStats>,
    /// Calls answered with an error, by `op: error type`.
    pub errors: BTreeMap<String, u64>,
}

impl Snapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let mut ops = BTreeMap::new();
        for (op, now) in &self.ops {
            let before = earlier.ops.get(op).cloned().unwrap_or_default();
            let d = OpStats {
                requests: now.requests - before.requests,
                rru: now.rru - before.rru,
                wru_table: now.wru_table - before.wru_table,
                wru_index: now.wru_index - before.wru_index,
                scanned: now.scanned - before.scanned,
            };
            if d.requests > 0 {
                ops.insert(op.clone(), d);
            }
        }
        let mut errors = BTreeMap::new();
        for (e, n) in &self.errors {
            let d = n - earlier.errors.get(e).copied().unwrap_or(0);
            if d > 0 {
                errors.insert(e.clone(), d);
            }
        }
        Snapshot { ops, errors }
    }

    /// Totals of the operations whose name starts with `service` (`dynamodb:` / `sqs:`).
    pub fn total(&self, service: &str) -> OpStats {
        self.ops
            .iter()
            .filter(|(op, _)| op.starts_with(service))
            .fold(OpStats::default(), |mut t, (_, s)| {
                t.requests += s.requests;
                t.rru += s.rru;
                t.wru_table += s.wru_table;
                t.wru_index += s.wru_index;
                t.scanned += s.scanned;
                t
            })
    }
}

#[derive(Debug, Default)]
struct State {
    snapshot: Snapshot,
    /// The last record item written per `PK|SK` (only items carrying index keys).
    shadow: HashMap<String, Map<String, Value>>,
}

/// The interceptor. Clone it into both SDK clients' configs; clones share the counters.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Mutex<State>>);

/// What a request was, kept in the operation's config bag until its response is read.
#[derive(Debug, Clone)]
struct Pending {
    op: String,
    consistent: bool,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

impl Meter {
    /// The counters so far.
    pub fn snapshot(&self) -> Snapshot {
        self.state().snapshot.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn on_request(&self, op: &str, body: Option<&Value>) -> bool {
        let mut state = self.state();
        state
            .snapshot
            .ops
            .entry(op.to_string())
            .or_default()
            .requests += 1;
        let Some(body) = body else { return false };
        let consistent = body.get("ConsistentRead") == Some(&Value::Bool(true))
            || body
                .get("RequestItems")
                .and_then(Value::as_object)
                .is_some_and(|t| {
                    t.values()
                        .any(|r| r.get("ConsistentRead") == Some(&Value::Bool(true)))
                });
        let mut writes: Vec<(&Map<String, Value>, bool)> = Vec::new();
        let mut flat_wru = 0.0;
        match op {
            "dynamodb:PutItem" => writes.extend(obj(body, "Item").map(|i| (i, false))),
            "dynamodb:TransactWriteItems" => {
                for t in body["TransactItems"].as_array().into_iter().flatten() {
                    match t.get("Put").and_then(|p| obj(p, "Item")) {
                        Some(item) => writes.push((item, true)),
                        None => flat_wru += 2.0,
                    }
                }
            }
            "dynamodb:BatchWriteItem" => {
                for reqs in body["RequestItems"]
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.values())
                {
                    for r in reqs.as_array().into_iter().flatten() {
                        match r.get("PutRequest").and_then(|p| obj(p, "Item")) {
                            Some(item) => writes.push((item, false)),
                            None => flat_wru += 1.0,
                        }
                    }
                }
            }
            "dynamodb:UpdateItem" | "dynamodb:DeleteItem" => {
                let size = obj(body, "Key").map(item_size).unwrap_or(0)
                    + obj(body, "ExpressionAttributeValues")
                        .map(item_size)
                        .unwrap_or(0);
                flat_wru += units(size, 1024);
            }
            _ => {}
        }
        let mut table = flat_wru;
        let mut index = 0.0;
        for (item, transactional) in writes {
            let (t, i) = write_cost(&mut state.shadow, item, transactional);
            table += t;
            index += i;
        }
        let stats = state.snapshot.ops.entry(op.to_string()).or_default();
        stats.wru_table += table;
        stats.wru_index += index;
        consistent
    }

    fn on_response(&self, pending: &Pending, status: u16, body: Option<&Value>) {
        let mut state = self.state();
        if status >= 400 {
            let kind = body
                .and_then(|b| b.get("__type").or_else(|| b.get("code")))
                .and_then(Value::as_str)
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                .unwrap_or_else(|| format!("HTTP {status}"));
            let reasons: Vec<&str> = body
                .and_then(|b| b.get("CancellationReasons"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("Code").and_then(Value::as_str))
                .collect();
            let key = if reasons.is_empty() {
                format!("{}: {kind}", pending.op)
            } else {
                format!("{}: {kind} [{}]", pending.op, reasons.join(", "))
            };
            *state.snapshot.errors.entry(key).or_default() += 1;
            return;
        }
        let Some(body) = body else { return };
        let factor = if pending.consistent { 1.0 } else { 0.5 };
        let (rru, scanned) = match pending.op.as_str() {
            "dynamodb:GetItem" => {
                let size = obj(body, "Item").map(item_size).unwrap_or(0);
                (units(size, 4096) * factor, 0)
            }
            "dynamodb:Query" => {
                let size: usize = body["Items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .map(item_size)
                    .sum();
                let scanned = body["ScannedCount"].as_u64().unwrap_or(0);
                (units(size, 4096) * factor, scanned)
            }
            "dynamodb:BatchGetItem" => {
                let rru: f64 = body["Responses"]
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.values())
                    .flat_map(|v| v.as_array().into_iter().flatten())
                    .filter_map(Value::as_object)
                    .map(|i| units(item_size(i), 4096) * factor)
                    .sum();
                (rru, 0)
            }
            _ => (0.0, 0),
        };
        let stats = state.snapshot.ops.entry(pending.op.clone()).or_default();
        stats.rru += rru;
        stats.scanned += scanned;
    }
}

fn obj<'a>(v: &'a Value, name: &str) -> Option<&'a Map<String, Value>> {
    v.get(name).and_then(Value::as_object)
}

/// `ceil(bytes / unit)`, at least 1.
pub fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

/// The DynamoDB size of an item in wire JSON (`{"name": {"S": "…"}, …}`): attribute names plus
/// values, numbers at about one byte per two digits plus one.
pub fn item_size(item: &Map<String, Value>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn number_size(n: &str) -> usize {
    let digits = n
        .trim_start_matches('-')
        .trim_matches('0')
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    digits.div_ceil(2) + 1
}

fn value_size(v: &Value) -> usize {
    let Some((tag, inner)) = v.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    match (tag.as_str(), inner) {
        ("S", Value::String(s)) => s.len(),
        ("N", Value::String(n)) => number_size(n),
        ("B", Value::String(b)) => b.len() * 3 / 4,
        ("BOOL" | "NULL", _) => 1,
        ("SS", Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::len).sum(),
        ("NS", Value::Array(a)) => a.iter().filter_map(Value::as_str).map(number_size).sum(),
        ("BS", Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|b| b.len() * 3 / 4)
            .sum(),
        ("L", Value::Array(a)) => 3 + a.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        ("M", Value::Object(m)) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

fn string_attr<'a>(item: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    item.get(name)?.get("S")?.as_str()
}

/// The index entry of `item` in one GSI (its keys, the table keys and the projection), if the
/// item carries the index's key attributes.
fn index_entry<'a>(
    item: &'a Map<String, Value>,
    (_, pk, sk, projected): (&str, &str, &str, &[&str]),
) -> Option<Vec<(&'a String, &'a Value)>> {
    string_attr(item, pk)?;
    string_attr(item, sk)?;
    let wanted =
        |k: &str| k == pk || k == sk || k == keys::PK || k == keys::SK || projected.contains(&k);
    Some(item.iter().filter(|(k, _)| wanted(k)).collect())
}

fn entry_size(entry: &[(&String, &Value)]) -> usize {
    entry.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Table and index write units of one `Put`.
fn write_cost(
    shadow: &mut HashMap<String, Map<String, Value>>,
    item: &Map<String, Value>,
    transactional: bool,
) -> (f64, f64) {
    let key = format!(
        "{}|{}",
        string_attr(item, keys::PK).unwrap_or_default(),
        string_attr(item, keys::SK).unwrap_or_default()
    );
    let old = shadow.get(&key);
    let size = item_size(item).max(old.map(item_size).unwrap_or(0));
    let table = units(size, 1024) * if transactional { 2.0 } else { 1.0 };
    let mut index = 0.0;
    let mut indexed = false;
    for def in INDEXES {
        let new_entry = index_entry(item, def);
        let old_entry = old.and_then(|o| index_entry(o, def));
        indexed |= new_entry.is_some();
        let (_, pk, sk, _) = def;
        index += match (&old_entry, &new_entry) {
            (None, None) => 0.0,
            (None, Some(n)) => units(entry_size(n), 1024),
            (Some(o), None) => units(entry_size(o), 1024),
            (Some(o), Some(n)) => {
                let same_keys = [pk, sk]
                    .iter()
                    .all(|k| old.and_then(|o| o.get(*k)) == item.get(*k));
                if !same_keys {
                    units(entry_size(o), 1024) + units(entry_size(n), 1024)
                } else if o != n {
                    units(entry_size(n), 1024)
                } else {
                    0.0
                }
            }
        };
    }
    if indexed || old.is_some() {
        shadow.insert(key, item.clone());
    }
    (table, index)
}

/// `DynamoDB_20120810.PutItem` → `dynamodb:PutItem`, `AmazonSQS.SendMessage` → `sqs:SendMessage`.
fn op_name(target: &str) -> String {
    let (service, op) = target.split_once('.').unwrap_or(("?", target));
    let service = if service.starts_with("DynamoDB") {
        "dynamodb"
    } else if service.starts_with("AmazonSQS") {
        "sqs"
    } else {
        service
    };
    format!("{service}:{op}")
}

fn json(bytes: Option<&[u8]>) -> Option<Value> {
    serde_json::from_slice(bytes?).ok()
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "handoff-bench-meter"
    }

    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let op = op_name(request.headers().get("x-amz-target").unwrap_or("?.unknown"));
        let body = json(request.body().bytes());
        let consistent = self.on_request(&op, body.as_ref());
        cfg.interceptor_state()
            .store_put(Pending { op, consistent });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(pending) = cfg.load::<Pending>() {
            let response = context.response();
            let body = json(response.body().bytes());
            self.on_response(pending, response.status().as_u16(), body.as_ref());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let i = item(json!({"PK": {"S": "H#abc"}, "n": {"N": "12345"}, "ok": {"BOOL": true}}));
        assert_eq!(item_size(&i), 2 + 5 + 1 + 4 + 2 + 1);
        assert_eq!(units(0, 1024), 1.0);
        assert_eq!(units(1025, 1024), 2.0);
        assert_eq!(number_size("100"), 2);
    }

    #[test]
    fn index_writes_follow_key_and_projection_changes() {
        let mut shadow = HashMap::new();
        let first = item(json!({
            "PK": {"S": "H#1"}, "SK": {"S": "META"}, "summary": {"S": "a"},
            "CPK": {"S": "C#x"}, "CRSK": {"S": "t#1"}, "DAYPK": {"S": "DAY#d"},
            "DUEPK": {"S": "DUE#0"}, "DUESK": {"S": "t1#1"}
        }));
        // New item: contact, created, due entries (no domain) → 3 index writes; 2× table (transaction).
        assert_eq!(write_cost(&mut shadow, &first, true), (2.0, 3.0));
        // Summary changed, due key moved: contact 1, created 0, due 2.
        let mut second = first.clone();
        second.insert("summary".into(), json!({"S": "b"}));
        second.insert("DUESK".into(), json!({"S": "t2#1"}));
        assert_eq!(write_cost(&mut shadow, &second, false), (1.0, 3.0));
        // Accepted: the due keys go (1 delete); summary unchanged.
        let mut third = second.clone();
        third.remove("DUEPK");
        third.remove("DUESK");
        assert_eq!(write_cost(&mut shadow, &third, false), (1.0, 1.0));
    }

    #[test]
    fn snapshots_subtract() {
        let mut a = Snapshot::default();
        a.ops.insert(
            "dynamodb:GetItem".into(),
            OpStats {
                requests: 2,
                rru: 2.0,
                ..Default::default()
            },
        );
        let mut b = a.clone();
        b.ops.get_mut("dynamodb:GetItem").unwrap().requests = 5;
        b.ops.insert(
            "sqs:SendMessageBatch".into(),
            OpStats {
                requests: 1,
                ..Default::default()
            },
        );
        let d = b.since(&a);
        assert_eq!(d.ops["dynamodb:GetItem"].requests, 3);
        assert_eq!(d.total("sqs:").requests, 1);
        assert_eq!(op_name("DynamoDB_20120810.Query"), "dynamodb:Query");
        assert_eq!(
            op_name("AmazonSQS.SendMessageBatch"),
            "sqs:SendMessageBatch"
        );
    }
}
