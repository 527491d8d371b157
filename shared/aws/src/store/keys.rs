//! Key and attribute names of the single table, and how keys are built from domain values.
//!
//! Every key is a string. Prefixes (`H#`, `C#`, `DUE#`…) keep the item kinds apart inside one
//! partition space; see the table in [`crate::store`] for the full layout.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};

/// Table partition key.
pub const PK: &str = "PK";
/// Table sort key.
pub const SK: &str = "SK";
/// GSI `contact` partition key: `C#<email>`.
pub const CONTACT_PK: &str = "CPK";
/// GSI `domain` partition key: `D#<domain>`.
pub const DOMAIN_PK: &str = "DPK";
/// GSI `created` partition key: `DAY#<yyyy-mm-dd>`.
pub const DAY_PK: &str = "DAYPK";
/// Sort key shared by the `contact`, `domain` and `created` GSIs: `<created_at>#<id>`.
pub const CREATED_SK: &str = "CRSK";
/// GSI `due` partition key: `DUE#<shard>` (present only while the handoff awaits its owner).
pub const DUE_PK: &str = "DUEPK";
/// GSI `due` sort key: `<deadline>#<id>` (present only while the handoff awaits its owner).
pub const DUE_SK: &str = "DUESK";
/// The `CRSK` of a thread item in the `contact` GSI (only thread items naming a buyer carry
/// `CPK`/`CRSK`, so erasure finds a buyer's threads): sorts after every `<created_at>#<id>`.
pub const THREAD_CONTACT_SK: &str = "TH#";
/// Exclusive upper bound of the handoff sort keys in the `contact` / `domain` GSIs: every
/// `<created_at>#<id>` starts with a digit, and `:` sorts right after `9` (and before
/// [`THREAD_CONTACT_SK`]).
pub const CREATED_SK_END: &str = ":";
/// The TTL attribute (epoch seconds) DynamoDB deletes expired items by.
pub const EXPIRES_AT: &str = "expires_at";

/// GSI names.
pub const INDEX_CONTACT: &str = "contact";
/// GSI over company domains.
pub const INDEX_DOMAIN: &str = "domain";
/// GSI over creation days.
pub const INDEX_CREATED: &str = "created";
/// Sparse GSI over SLA deadlines of unclaimed handoffs.
pub const INDEX_DUE: &str = "due";

/// Attributes of a handoff's `META` item.
pub mod meta {
    /// The record as JSON text.
    pub const RECORD: &str = "record";
    /// The record version (number); updates are conditional on it.
    pub const VERSION: &str = "version";
    /// The state label, readable without decoding the record.
    pub const STATE: &str = "state";
    /// Creation time, fixed-width RFC 3339.
    pub const CREATED_AT: &str = "created_at";
    /// A `HandoffSummary` as JSON text, projected into the `contact` and `domain` GSIs.
    pub const SUMMARY: &str = "summary";
}

/// Attribute of a timeline item: the entry as JSON text.
pub const ENTRY: &str = "entry";
/// Attribute holding a number (rep load, counter, rules version).
pub const N: &str = "n";
/// Attribute holding a rep id (account owner).
pub const REP: &str = "rep";
/// Attribute holding an availability override as JSON text.
pub const VALUE: &str = "value";

/// The sort key of a handoff's record item.
pub const META_SK: &str = "META";
/// The sort key of the account owner item.
pub const OWNER_SK: &str = "OWNER";
/// The sort key of a counter item.
pub const COUNTER_SK: &str = "CTR";
/// The partition holding every availability override.
pub const AVAILABILITY_PK: &str = "AVAIL";
/// Sort key prefix of timeline items.
pub const TIMELINE_PREFIX: &str = "T#";

/// Fixed-width UTC RFC 3339 with nanoseconds (`2025-01-02T03:04:05.000000000Z`), so that string
/// order is time order (for years 0000–9999).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Parses a [`timestamp`].
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `H#<id>`: the partition of a handoff (record and timeline).
pub fn handoff_pk(id: &HandoffId) -> String {
    format!("H#{id}")
}

/// `T#<version, 20 digits>`: a timeline item, sorted by version.
pub fn timeline_sk(version: u64) -> String {
    format!("{TIMELINE_PREFIX}{version:020}")
}

/// `C#<email>`.
pub fn contact_pk(email: &EmailAddress) -> String {
    format!("C#{email}")
}

/// `D#<domain>`.
pub fn domain_pk(domain: &CompanyDomain) -> String {
    format!("D#{domain}")
}

/// `DAY#<yyyy-mm-dd>`.
pub fn day_pk(day: NaiveDate) -> String {
    format!("DAY#{}", day.format("%Y-%m-%d"))
}

/// `<created_at>#<id>`.
pub fn created_sk(created_at: DateTime<Utc>, id: &HandoffId) -> String {
    format!("{}#{id}", timestamp(created_at))
}

/// `DUE#<shard>`.
pub fn due_pk(shard: u32) -> String {
    format!("DUE#{shard}")
}

/// `<deadline>#<id>`.
pub fn due_sk(deadline: DateTime<Utc>, id: &HandoffId) -> String {
    format!("{}#{id}", timestamp(deadline))
}

/// The inclusive upper bound of due sort keys for deadlines at or before `now`
/// (`~` sorts after every character of a handoff id).
pub fn due_sk_upper(now: DateTime<Utc>) -> String {
    format!("{}#~", timestamp(now))
}

/// Splits a due sort key back into deadline and id.
pub fn parse_due_sk(sk: &str) -> Option<(DateTime<Utc>, HandoffId)> {
    let (at, id) = sk.split_once('#')?;
    Some((parse_timestamp(at)?, HandoffId::parse(id).ok()?))
}

/// The due shard of a handoff: a stable FNV-1a hash of its id modulo `shards`.
pub fn due_shard(id: &HandoffId, shards: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_str().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(shards.max(1))) as u32
}

/// `A#<domain>`: the account owner partition.
pub fn account_pk(domain: &CompanyDomain) -> String {
    format!("A#{domain}")
}

/// `L#<rep>`: a rep's daily load partition.
pub fn load_pk(rep: &RepId) -> String {
    format!("L#{rep}")
}

/// `<yyyy-mm-dd>`.
pub fn day_sk(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// `CTR#<name>`.
pub fn counter_pk(name: &str) -> String {
    format!("CTR#{name}")
}

/// The partition (and sort key) of the one item holding every rep's fairness counters.
pub const FAIRNESS_PK: &str = "FAIR";
/// The sort key of the fairness item.
pub const FAIRNESS_SK: &str = "FAIR";

/// `O#<rep>`: the attribute of the fairness item holding a rep's owed shares (millionths).
pub fn owed_attr(rep: &RepId) -> String {
    format!("O#{rep}")
}

/// `W#<rep>`: the attribute of the fairness item holding a rep's round-robin wins.
pub fn won_attr(rep: &RepId) -> String {
    format!("W#{rep}")
}

/// Attribute of a thread item: the `OutboundThread` as JSON text.
pub const THREAD: &str = "thread";
/// The sort key of a thread item.
pub const THREAD_SK: &str = "THREAD";
/// The sort key of a one-time token item.
pub const ONCE_SK: &str = "ONCE";

/// `TH#<key>`: one key of an outbound thread, already normalised with
/// [`thread_key`](handoff_domain::ports::thread_key).
pub fn thread_pk(normalised_key: &str) -> String {
    format!("TH#{normalised_key}")
}

/// `ONCE#<key>`: a used one-time token.
pub fn once_pk(key: &str) -> String {
    format!("ONCE#{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id(n: u8) -> HandoffId {
        HandoffId::parse(format!("h_{:032x}", n)).unwrap()
    }

    #[test]
    fn timestamps_are_fixed_width_and_ordered() {
        let a = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let b = a + chrono::Duration::nanoseconds(1);
        assert_eq!(timestamp(a), "2025-01-02T03:04:05.000000000Z");
        assert_eq!(timestamp(a).len(), timestamp(b).len());
        assert!(timestamp(a) < timestamp(b));
        assert_eq!(parse_timestamp(&timestamp(b)), Some(b));
    }

    #[test]
    fn due_keys_round_trip_and_bound() {
        let t = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
        let sk = due_sk(t, &id(7));
        assert_eq!(parse_due_sk(&sk), Some((t, id(7))));
        assert!(sk <= due_sk_upper(t));
        assert!(sk > due_sk_upper(t - chrono::Duration::nanoseconds(1)));
    }

    #[test]
    fn shards_are_stable_and_spread() {
        let mut seen = [0u32; 4];
        for n in 0..=255u8 {
            let s = due_shard(&id(n), 4);
            assert_eq!(s, due_shard(&id(n), 4));
            seen[s as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 30), "{seen:?}");
        assert_eq!(due_shard(&id(1), 1), 0);
    }

    #[test]
    fn thread_entries_sort_after_every_handoff_in_the_contact_index() {
        let latest = created_sk(
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            &id(255),
        );
        let earliest = created_sk(Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(), &id(0));
        assert!(earliest.as_str() < CREATED_SK_END && latest.as_str() < CREATED_SK_END);
        assert!(CREATED_SK_END < THREAD_CONTACT_SK);
    }

    #[test]
    fn timeline_keys_sort_by_version() {
        assert!(timeline_sk(9) < timeline_sk(10));
        assert_eq!(timeline_sk(42), "T#00000000000000000042");
    }
}
