//! Personal data: how long closed handoffs are kept ([`Retention`]) and what erasing a buyer
//! removed ([`Erasure`]).
//!
//! Pure rules the stores apply the same way: DynamoDB stamps the `expires_at` TTL attribute,
//! SQLite an `expires_at` column its purge deletes by (see `docs/data-model.md`, "Retention"
//! and "Erasure").

use crate::event::EventKind;
use crate::ids::{EmailAddress, HandoffId};
use crate::lifecycle::{HandoffRecord, State, TimelineEntry};
use crate::ports::{thread_key, OutboundThread};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use thiserror::Error;

/// The environment variable holding the retention of closed handoffs in whole days (unset or
/// empty: closed handoffs are kept forever).
pub const RETENTION_DAYS_VAR: &str = "HANDOFF_RETENTION_DAYS";

/// How much longer than the retention a timeline entry written while its handoff was still open
/// is kept (DynamoDB, where every item expires on its own): a handoff closed within this many
/// days of an entry never loses that entry before its record.
pub const TIMELINE_GRACE_DAYS: i64 = 30;

/// The longest retention accepted (100 years; longer is "forever": leave it unset).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// A retention that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "{RETENTION_DAYS_VAR} must be a whole number of days from 1 to {MAX_RETENTION_DAYS} \
     (got {0:?}); leave it unset to keep closed handoffs"
)]
pub struct RetentionError(pub String);

/// How long a closed handoff (accepted or closed without handoff) is kept after its last write.
///
/// A record in a final state ([`State::is_final`]) expires `keep` after its `updated_at`: the
/// close, or a later write to the closed handoff (a CRM catch-up after an accept, a linked
/// meeting update) that restarts the clock. Open handoffs never expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    keep: Duration,
}

impl Retention {
    /// Keeps closed handoffs for `keep`, at least one day (shorter is raised to a day: an
    /// accepted handoff still gets its CRM catch-up after the close) and at most
    /// [`MAX_RETENTION_DAYS`].
    pub fn new(keep: Duration) -> Self {
        Self {
            keep: keep.clamp(Duration::days(1), Duration::days(MAX_RETENTION_DAYS)),
        }
    }

    /// Keeps closed handoffs for `days` whole days (1 to [`MAX_RETENTION_DAYS`]).
    pub fn days(days: i64) -> Result<Self, RetentionError> {
        if (1..=MAX_RETENTION_DAYS).contains(&days) {
            Ok(Self::new(Duration::days(days)))
        } else {
            Err(RetentionError(days.to_string()))
        }
    }

    /// Parses the value of [`RETENTION_DAYS_VAR`]: blank is `None` (keep forever), otherwise a
    /// whole number of days.
    pub fn parse_days(raw: &str) -> Result<Option<Self>, RetentionError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let days = raw
            .parse::<i64>()
            .map_err(|_| RetentionError(raw.to_string()))?;
        Self::days(days).map(Some)
    }

    /// How long a closed handoff is kept.
    pub fn keep(self) -> Duration {
        self.keep
    }

    /// When `record` (as it is being written) expires: `updated_at + keep` once it is closed,
    /// `None` while it is open.
    pub fn record_expiry(self, record: &HandoffRecord) -> Option<DateTime<Utc>> {
        record
            .state
            .is_final()
            .then(|| add(record.updated_at, self.keep))
    }

    /// When a timeline entry, written together with `record`, expires where every item expires
    /// on its own (DynamoDB TTL): with the record when the record is closed by or before this
    /// write; otherwise [`TIMELINE_GRACE_DAYS`] after the retention counted from the entry, a
    /// bound the record cannot know yet (see `docs/data-model.md` for the windows this leaves).
    pub fn entry_expiry(self, record: &HandoffRecord, entry: &TimelineEntry) -> DateTime<Utc> {
        self.record_expiry(record)
            .unwrap_or_else(|| add(entry.at, self.keep + Duration::days(TIMELINE_GRACE_DAYS)))
    }
}

impl From<Duration> for Retention {
    /// [`Retention::new`].
    fn from(keep: Duration) -> Self {
        Self::new(keep)
    }
}

impl From<std::time::Duration> for Retention {
    /// [`Retention::new`] (a duration beyond chrono's range is the longest retention).
    fn from(keep: std::time::Duration) -> Self {
        Self::new(Duration::from_std(keep).unwrap_or(Duration::days(MAX_RETENTION_DAYS)))
    }
}

fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One handoff an erasure removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasedHandoff {
    pub id: HandoffId,
    /// Its state when it was removed.
    pub state: State,
    pub created_at: DateTime<Utc>,
}

/// What erasing a buyer's personal data removed from a store (`HandoffStore::erase_contact`).
///
/// Every count is of items that existed and were deleted by this call, so erasing again
/// reports nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The handoffs removed (record, timeline and index entries), oldest first.
    pub handoffs: Vec<ErasedHandoff>,
    /// Timeline entries removed.
    pub timeline_entries: u64,
    /// Index entries removed with the records: one per lookup a record was in (contact,
    /// creation day, company domain when it has one, due while it waited for an owner or a stage).
    pub index_entries: u64,
    /// Of `index_entries`, entries of the due index (handoffs that still waited for an owner or a
    /// stage).
    pub due_entries: u64,
    /// Outbound thread keys removed: keys whose thread names the buyer, or that an erased
    /// reply named and whose thread names no buyer.
    pub thread_keys: u64,
}

impl Erasure {
    /// Whether nothing was removed.
    pub fn is_empty(&self) -> bool {
        self.handoffs.is_empty() && self.thread_keys == 0
    }

    /// Counts a removed record with its `timeline_entries` and the index entries it was in;
    /// keeps `handoffs` oldest first.
    pub fn add_record(&mut self, record: &HandoffRecord, timeline_entries: u64) {
        let due = u64::from(record.due_at().is_some());
        let domain = u64::from(record.company_domain.is_some());
        self.index_entries += 2 + domain + due;
        self.due_entries += due;
        self.timeline_entries += timeline_entries;
        let erased = ErasedHandoff {
            id: record.id.clone(),
            state: record.state,
            created_at: record.created_at,
        };
        let at = self
            .handoffs
            .partition_point(|h| (h.created_at, &h.id) < (erased.created_at, &erased.id));
        self.handoffs.insert(at, erased);
    }

    /// The ids of the removed handoffs, oldest first.
    pub fn ids(&self) -> Vec<HandoffId> {
        self.handoffs.iter().map(|h| h.id.clone()).collect()
    }
}

/// The outbound-thread keys a handoff's event names (a reply's token, `In-Reply-To`,
/// `References`, own message id and thread id), normalised with [`thread_key`], without
/// duplicates. Empty for events that are not replies.
pub fn thread_keys_of(record: &HandoffRecord) -> Vec<String> {
    let EventKind::EmailReply(reply) = &record.event.kind else {
        return Vec::new();
    };
    let raw = reply
        .reply_token
        .iter()
        .chain(reply.in_reply_to.iter())
        .chain(reply.references.iter())
        .chain(reply.message_id.iter())
        .chain(std::iter::once(&reply.thread_id));
    let mut out: Vec<String> = Vec::new();
    for key in raw.map(|k| thread_key(k)) {
        if !key.is_empty() && !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// Whether erasing `email` removes a stored thread: it names that buyer, or it names no buyer
/// and was reached through the buyer's own data (a key an erased reply carried, or a key of a
/// thread being erased). A thread naming another buyer is kept.
pub fn erases_thread(thread: &OutboundThread, email: &EmailAddress, reached: bool) -> bool {
    match &thread.buyer_email {
        Some(buyer) => buyer == email,
        None => reached,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Buyer, Channel, EmailReply, IntakeEvent};
    use crate::ids::{ProviderEventId, SourceName};
    use crate::lifecycle::{Actor, Transition};
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 7, 9, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn reply(email: &str) -> IntakeEvent {
        reply_with("r-1", email)
    }

    fn reply_with(event_id: &str, email: &str) -> IntakeEvent {
        IntakeEvent {
            source: SourceName::parse("postmark").unwrap(),
            channel: Channel::Email,
            provider_event_id: ProviderEventId::parse(event_id).unwrap(),
            received_at: t(0),
            kind: EventKind::EmailReply(EmailReply {
                buyer: Buyer {
                    email: EmailAddress::parse(email).unwrap(),
                    name: None,
                    company: None,
                    company_domain: None,
                    role: None,
                    country: None,
                    employees: None,
                    phone: None,
                },
                subject: String::new(),
                text: "yes, let's talk".into(),
                thread_id: "thr-1".into(),
                message_id: Some("<Reply@Mail.Example>".into()),
                in_reply_to: Some("<out-2@mail.example>".into()),
                references: vec!["<out-1@mail.example>".into(), "<OUT-2@mail.example>".into()],
                reply_token: Some("tok-9".into()),
                sequence: None,
                account: None,
                outreach_history: vec![],
                headers: Default::default(),
                attachments: vec![],
            }),
        }
    }

    #[test]
    fn parse_days_accepts_whole_days_and_blank() {
        assert_eq!(Retention::parse_days("").unwrap(), None);
        assert_eq!(Retention::parse_days("  ").unwrap(), None);
        assert_eq!(
            Retention::parse_days(" 30 ").unwrap().unwrap().keep(),
            Duration::days(30)
        );
        for bad in ["0", "-1", "1.5", "forever", "36501"] {
            assert!(Retention::parse_days(bad).is_err(), "{bad}");
        }
        assert!(Retention::parse_days("x")
            .unwrap_err()
            .to_string()
            .contains(RETENTION_DAYS_VAR));
        assert_eq!(Retention::new(Duration::hours(1)).keep(), Duration::days(1));
        assert_eq!(
            Retention::from(std::time::Duration::from_secs(2 * 86_400)).keep(),
            Duration::days(2)
        );
        assert_eq!(
            Retention::from(Duration::days(100_000)).keep(),
            Duration::days(MAX_RETENTION_DAYS)
        );
    }

    #[test]
    fn closed_records_expire_after_their_last_write_open_ones_never() {
        let r = Retention::days(30).unwrap();
        let (mut record, first) = HandoffRecord::received(reply("dana@acme.com"), t(0));
        assert_eq!(r.record_expiry(&record), None);
        assert_eq!(
            r.entry_expiry(&record, &first),
            t(0) + Duration::days(30 + TIMELINE_GRACE_DAYS)
        );
        let sys = || Actor::System("test".into());
        record.apply(Transition::Classify, sys(), t(1), "").unwrap();
        let closed = record.apply(Transition::Close, sys(), t(2), "").unwrap();
        assert_eq!(r.record_expiry(&record), Some(t(2) + Duration::days(30)));
        assert_eq!(r.entry_expiry(&record, &closed), t(2) + Duration::days(30));
        let later = record.progress("crm_synced", sys(), t(90), "");
        assert_eq!(r.record_expiry(&record), Some(t(90) + Duration::days(30)));
        assert_eq!(r.entry_expiry(&record, &later), t(90) + Duration::days(30));
    }

    #[test]
    fn erasure_counts_index_entries_and_keeps_oldest_first() {
        let (mut late, _) = HandoffRecord::received(reply_with("r-late", "dana@acme.com"), t(10));
        late.company_domain = None;
        let (early, _) = HandoffRecord::received(reply_with("r-early", "dana@acme.com"), t(0));
        let mut e = Erasure::default();
        assert!(e.is_empty());
        e.add_record(&late, 3);
        e.add_record(&early, 1);
        assert_eq!(e.ids(), vec![early.id.clone(), late.id.clone()]);
        assert_eq!(e.timeline_entries, 4);
        // late: contact + day + due; early: contact + day + domain (acme.com) + due (both
        // received records still owe the classify stage, so the due index holds them).
        assert_eq!(e.index_entries, 7);
        assert_eq!(e.due_entries, 2);
        assert!(!e.is_empty());
    }

    #[test]
    fn reply_keys_are_normalised_and_deduplicated() {
        let (record, _) = HandoffRecord::received(reply("dana@acme.com"), t(0));
        assert_eq!(
            thread_keys_of(&record),
            vec![
                "tok-9",
                "out-2@mail.example",
                "out-1@mail.example",
                "reply@mail.example",
                "thr-1"
            ]
        );
    }

    #[test]
    fn threads_of_other_buyers_are_kept() {
        let dana = EmailAddress::parse("dana@acme.com").unwrap();
        let mut thread = OutboundThread {
            thread_id: "thr-1".into(),
            keys: vec!["a".into()],
            buyer_email: Some(dana.clone()),
            sequence: None,
            account: None,
            outreach_history: vec![],
        };
        assert!(erases_thread(&thread, &dana, false));
        thread.buyer_email = Some(EmailAddress::parse("sam@acme.com").unwrap());
        assert!(!erases_thread(&thread, &dana, true));
        thread.buyer_email = None;
        assert!(erases_thread(&thread, &dana, true));
        assert!(!erases_thread(&thread, &dana, false));
    }
}
