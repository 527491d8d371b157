//! Ports: the narrow traits the domain services need from the outside world.
//!
//! Adapters live elsewhere (`handoff-local`: SQLite + files; `handoff-aws`: DynamoDB + SQS).
//! `handoff-testkit` holds one conformance suite per port, run against every adapter.

use crate::config::Rules;
use crate::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use crate::lifecycle::{HandoffRecord, State, TimelineEntry};
use crate::package::{HandoffPackage, Motion, ReplyClass, TriggerKind};
use crate::privacy::Erasure;
use crate::routing::{FairShare, FairnessCounters};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// How a failed port call should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Retry later (throttling, timeouts, network).
    Transient,
    /// Retrying will not help (bad data, misconfiguration).
    Permanent,
}

/// Errors from a [`HandoffStore`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// The record's version was not the expected one: someone else moved it first.
    #[error("handoff {id} changed concurrently (expected version {expected})")]
    VersionConflict { id: HandoffId, expected: u64 },
    #[error("handoff {0} not found")]
    NotFound(HandoffId),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether a retry may succeed.
    pub fn fault(&self) -> Fault {
        match self {
            StoreError::VersionConflict { .. } | StoreError::Unavailable(_) => Fault::Transient,
            StoreError::NotFound(_) | StoreError::Corrupt(_) => Fault::Permanent,
        }
    }
}

/// What `create` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// A handoff with this id already exists (a replayed event); its current state.
    AlreadyExists(State),
}

/// A page of due handoffs.
#[derive(Debug, Clone, PartialEq)]
pub struct DuePage {
    /// Due handoffs, earliest deadline first.
    pub items: Vec<DueHandoff>,
    /// Pass back to get the next page; `None` when done.
    pub next: Option<String>,
    /// How many stored items the store read to build this page (for the sweep-efficiency bench).
    pub items_read: usize,
}

/// A handoff whose deadline passed: its SLA while unclaimed, or the deadline of a stage it is owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueHandoff {
    pub id: HandoffId,
    pub due_at: DateTime<Utc>,
}

/// A short view of a handoff, for duplicate and channel-switch matching and for finding the
/// buyer's open handoff a new event joins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffSummary {
    pub id: HandoffId,
    pub state: State,
    pub created_at: DateTime<Utc>,
    pub channel: crate::event::Channel,
    pub source: crate::ids::SourceName,
    pub owner: Option<RepId>,
    /// The buyer's name and phone as the event gave them (the same person on another channel is
    /// recognised by phone, or by name at the same company domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl HandoffSummary {
    /// The summary of a record.
    pub fn of(r: &HandoffRecord) -> Self {
        Self {
            id: r.id.clone(),
            state: r.state,
            created_at: r.created_at,
            channel: r.event.channel,
            source: r.event.source.clone(),
            owner: r.owner.as_ref().and_then(|o| o.rep.clone()),
            name: r.event.buyer().name.clone(),
            phone: r.event.buyer().phone.clone(),
        }
    }
}

/// What [`HandoffStore::record_assignment`] adds for one new owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// The rep whose daily load grows by one, with their local date (`None`: a shared queue).
    pub load: Option<(RepId, NaiveDate)>,
    /// The round-robin decision's shares and winner (`None` when continuity or the failover
    /// chain chose the owner: those count against the daily cap only).
    pub fair_share: Option<FairShare>,
}

/// Durable handoff state.
///
/// Every method is atomic, except that `erase_contact` may be a sequence of idempotent deletes
/// where the backend has no transaction that large (DynamoDB): an interrupted erasure is finished
/// by running it again. `update` is conditional on the version and writes the record and its
/// timeline entry together. `due` reads only handoffs that wait for something (an owner, a
/// stage) and whose deadline has passed (a sparse index), never the whole table.
#[async_trait]
pub trait HandoffStore: Send + Sync {
    /// Creates the record with its first timeline entry unless a record with that id exists.
    async fn create(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<CreateOutcome, StoreError>;
    /// Reads a record.
    async fn get(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError>;
    /// Replaces the record if its stored version is `record.version - 1`, and appends `entry`.
    async fn update(&self, record: &HandoffRecord, entry: &TimelineEntry)
        -> Result<(), StoreError>;
    /// The timeline of one handoff, oldest first.
    async fn timeline(&self, id: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError>;
    /// Handoffs whose [`HandoffRecord::due_at`] is at or before `now` (awaiting an owner past
    /// the SLA, or owing a stage past its deadline), earliest first, `limit` per page.
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<DuePage, StoreError>;
    /// Handoffs (open or not) for a contact email, newest first, at most `limit`.
    async fn by_contact(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError>;
    /// Handoffs for a company domain, newest first, at most `limit`.
    async fn by_domain(
        &self,
        domain: &CompanyDomain,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError>;
    /// Handoffs created in `[from, to)`, for the audit.
    async fn created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HandoffRecord>, StoreError>;
    /// The learned owner of an account (set when a rep accepts a handoff for that domain).
    async fn account_owner(&self, domain: &CompanyDomain) -> Result<Option<RepId>, StoreError>;
    /// Records the owner of an account.
    async fn set_account_owner(
        &self,
        domain: &CompanyDomain,
        rep: &RepId,
    ) -> Result<(), StoreError>;
    /// How many handoffs were assigned to `rep` on `day` (the rep's local date).
    async fn rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError>;
    /// The loads of several reps, each on its own day, in the order asked (one round trip where
    /// the backend can batch reads).
    async fn rep_loads(&self, wanted: &[(RepId, NaiveDate)]) -> Result<Vec<u32>, StoreError> {
        let mut out = Vec::with_capacity(wanted.len());
        for (rep, day) in wanted {
            out.push(self.rep_load(rep, *day).await?);
        }
        Ok(out)
    }
    /// Atomically adds one to the rep's load for `day`; returns the new count. The same as a
    /// [`record_assignment`](Self::record_assignment) with a load and no fair share.
    async fn add_rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        let assignment = Assignment {
            load: Some((rep.clone(), day)),
            fair_share: None,
        };
        Ok(self.record_assignment(&assignment).await?.unwrap_or(0))
    }
    /// The round robin's fairness counters of several reps, in the order asked (zeros for a rep
    /// never counted); one read where the backend can.
    async fn fairness(&self, reps: &[RepId]) -> Result<Vec<FairnessCounters>, StoreError>;
    /// Records one assignment: one more handoff on the rep's load for the day, and what the
    /// round-robin decision adds to the fairness counters (every candidate's share to `owed`,
    /// one to the winner's `won`). Each part is a commutative addition, atomic on its own
    /// (no read, no condition: concurrent assignments never conflict and none is lost); the
    /// two parts need not be one transaction. Returns the new load (`None` without a load).
    async fn record_assignment(&self, assignment: &Assignment) -> Result<Option<u32>, StoreError>;
    /// Atomically increments a named counter (round-robin cursor) and returns the new value.
    async fn next_counter(&self, name: &str) -> Result<u64, StoreError>;
    /// Availability overrides set at run time (out of office now / back), by rep.
    async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError>;
    /// Sets or clears a rep's availability override.
    async fn set_availability(&self, value: &AvailabilityOverride) -> Result<(), StoreError>;
    /// When the stored handoff expires under the store's retention
    /// ([`Retention`](crate::privacy::Retention)), to the second: `None` while it is open, when
    /// the store keeps closed handoffs forever, or for an unknown id.
    async fn expires_at(&self, id: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Erases a buyer's personal data (a GDPR/CCPA deletion request): every handoff whose
    /// contact is `email` with its timeline and index entries, and the outbound threads kept by
    /// the same store that name the buyer (or that an erased reply named and that name no
    /// buyer). Account owners (by company domain), rep loads, counters and availability hold no
    /// buyer data and are kept. Idempotent: a second call removes nothing and says so. Safe to
    /// run while stages work: a concurrent transition either lands before the record is removed
    /// (and its entry is removed too) or finds the record gone (`NotFound`).
    async fn erase_contact(&self, email: &EmailAddress) -> Result<Erasure, StoreError>;
}

/// What the outbound sequencer told handoff about a thread it sent (`POST /v1/threads`), or what
/// an agent's reply event carried: enough to give a later reply the sequence and account context
/// when it arrives through an email provider, which knows only the message ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboundThread {
    /// The sequencer's thread id (becomes the reply's `thread_id`).
    pub thread_id: String,
    /// Every key a reply may carry: the RFC `Message-ID`s of the mails sent in this thread (with
    /// or without angle brackets) and the plus-address reply token, if one was used.
    pub keys: Vec<String>,
    /// The buyer the thread was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<EmailAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::event::AccountContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outreach_history: Vec<crate::event::Touch>,
}

/// Normalises a thread key: trims, drops angle brackets, lower-cases (message ids compare
/// case-insensitively in practice; tokens are generated lower-case).
pub fn thread_key(raw: &str) -> String {
    raw.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_ascii_lowercase()
}

/// Outbound thread context by message id or reply token.
#[async_trait]
pub trait ThreadIndex: Send + Sync {
    /// Stores the thread under each of its keys (normalised with [`thread_key`]); a later put
    /// for the same key replaces it.
    async fn put_thread(&self, thread: &OutboundThread) -> Result<(), StoreError>;
    /// The thread stored under the first of `keys` that has one (keys are normalised here).
    async fn find_thread(&self, keys: &[String]) -> Result<Option<OutboundThread>, StoreError>;
}

/// A run-time change of a rep's availability, effective without a redeploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityOverride {
    pub rep: RepId,
    /// `false`: treat the rep as out of office from `from` until `until` (or until cleared).
    pub available: bool,
    /// When it takes effect; `None`: at once, by whatever clock routing runs on (the server's,
    /// including `serve --test-clock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Why, as the person who set it wrote it ("dentist", "offsite"), shown by `rep list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was set (the latest override of a rep is the one in force).
    pub set_at: DateTime<Utc>,
}

/// A pipeline stage fed by a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Classify a received handoff.
    Classify,
    /// Route a classified handoff, then write the CRM and notify (also resumes reroutes).
    Assign,
}

impl Stage {
    /// Every stage.
    pub const ALL: [Stage; 2] = [Stage::Classify, Stage::Assign];
    /// The snake_case name (queue names derive from it).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Classify => "classify",
            Stage::Assign => "assign",
        }
    }
}

/// The body of every stage message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageMessage {
    pub handoff_id: HandoffId,
    pub stage: Stage,
}

impl StageMessage {
    /// A message for `stage` about `handoff_id`.
    pub fn new(handoff_id: HandoffId, stage: Stage) -> Self {
        Self { handoff_id, stage }
    }

    /// The handoff a raw queue body is about, when the body is a stage message (`None` for a
    /// poison body). Adapters use it to fill [`DeadLetter::handoff_id`] and to pick the dead
    /// letters of one handoff for [`StageQueue::redrive`].
    pub fn handoff_in(body: &str) -> Option<HandoffId> {
        serde_json::from_str::<StageMessage>(body)
            .ok()
            .map(|m| m.handoff_id)
    }
}

/// A message handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The raw body (normally a JSON [`StageMessage`]; may be anything if poisoned).
    pub body: String,
    /// Opaque handle for ack / dead-letter.
    pub receipt: String,
    /// How many times this message was received, this time included.
    pub receive_count: u32,
}

/// A message in a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Names this dead letter in its backend (the local row id, the SQS message id), for
    /// `handoff dlq show`.
    pub id: String,
    pub body: String,
    /// The handoff the message is about; `None` when the body is not a stage message.
    pub handoff_id: Option<HandoffId>,
    /// Why it ended there (`max receives exceeded` for automatic redrive).
    pub reason: String,
    /// When it entered the dead-letter queue. For a message SQS moved there by its redrive
    /// policy this is when the message was first sent: SQS keeps that timestamp (and counts the
    /// dead-letter queue's retention from it).
    pub at: DateTime<Utc>,
    /// How many times it had been received when it was dead-lettered (0: not recorded, for
    /// local dead letters from before this was kept).
    pub receive_count: u32,
}

/// Errors from a [`StageQueue`].
#[derive(Debug, Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("unknown or expired receipt")]
    InvalidReceipt,
}

/// At-least-once stage queues, each with a dead-letter queue.
///
/// A received message is invisible for `visibility`; unless acked it comes back with a higher
/// `receive_count`. A message received more than `max_receives` times goes to the stage's
/// dead-letter queue instead of being delivered.
#[async_trait]
pub trait StageQueue: Send + Sync {
    /// Sends messages to a stage (batched where the backend allows).
    async fn send(&self, stage: Stage, messages: &[StageMessage]) -> Result<(), QueueError>;
    /// Receives up to `max` messages, hiding them for `visibility`.
    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;
    /// Deletes a processed message.
    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError>;
    /// Moves a message that can never succeed to the dead-letter queue with a reason.
    async fn dead_letter(
        &self,
        stage: Stage,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError>;
    /// Makes a message that failed transiently visible again after `delay` instead of after its
    /// visibility timeout (SQS: `ChangeMessageVisibility`, at most 12 hours). A backend that can
    /// tell a postponed delivery from one that never got an answer does not count it toward
    /// `max_receives` (SQLite); SQS counts every delivery, so its redrive policy allows more
    /// (see [`crate::service::delivery::RetryPolicy::within`]).
    async fn postpone(
        &self,
        stage: Stage,
        delivery: &Delivery,
        delay: Duration,
    ) -> Result<(), QueueError>;
    /// Reads (without removing) up to `max` dead letters of a stage, oldest first where the
    /// backend keeps an order.
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError>;
    /// Moves dead letters of a stage back onto the stage's queue with a fresh receive count:
    /// all of them, or only those whose body names the handoff `which`. Returns how many moved.
    /// Each message moves atomically or, where the backend cannot (SQS: send, then delete), a
    /// crash in between leaves a duplicate on the stage queue, never a loss (the stages are
    /// idempotent). The default refuses: a queue that keeps dead letters must implement it.
    async fn redrive(&self, stage: Stage, which: Option<&HandoffId>) -> Result<usize, QueueError> {
        let _ = which;
        Err(QueueError::Unavailable(format!(
            "this queue cannot redrive the dead letters of the {} stage",
            stage.as_str()
        )))
    }
}

/// Errors from a [`Crm`] or [`Notifier`].
#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("temporarily failed: {0}")]
    Transient(String),
    #[error("rejected: {0}")]
    Permanent(String),
}

/// The CRM objects handoff wrote for one handoff, stored on the record.
///
/// The adapter fills in what it created; the record is saved after every step that created
/// something, so a retry after a crash finds the ids and creates nothing twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CrmRefs {
    /// Which CRM holds them: `hubspot`, `salesforce`, `file` or `none`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system: String,
    /// The contact (HubSpot contact id; Salesforce `Lead/00Q…` or `Contact/003…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The note holding the package (HubSpot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The owner's task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The CRM user the contact and task name as owner, as last written (`None`: unassigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The task's due time as last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// How many of the handoff's owner changes already have their note.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub change_notes: u32,
    /// Set by the domain when the CRM matched the handoff: `<owner>#<changes>`, plus
    /// `#<touches>` once a later event joined it; the CRM needs
    /// another sync whenever this differs from [`crate::lifecycle::HandoffRecord::crm_sync_key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl CrmRefs {
    /// These refs as `system` sees them: refs another CRM wrote (the rules switched
    /// `[crm] kind`) name nothing there, so only `synced` is kept; `system` is set.
    pub fn for_system(&self, system: &str) -> CrmRefs {
        let mut refs = if self.system.is_empty() || self.system == system {
            self.clone()
        } else {
            CrmRefs {
                synced: self.synced.clone(),
                ..CrmRefs::default()
            }
        };
        refs.system = system.to_string();
        refs
    }

    /// A short reference for timelines and notifications (`hubspot contact 51 · task 77`).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.contact {
            parts.push(format!("contact {c}"));
        }
        if let Some(n) = &self.note {
            parts.push(format!("note {n}"));
        }
        if let Some(t) = &self.task {
            parts.push(format!("task {t}"));
        }
        match (self.system.as_str(), parts.is_empty()) {
            ("", _) => "no CRM".to_string(),
            (s, true) => s.to_string(),
            (s, false) => format!("{s} {}", parts.join(" · ")),
        }
    }
}

/// The owner's ids in the outside systems, from the roster (`None` for a shared queue or a rep
/// without the id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalIds {
    pub hubspot_owner_id: Option<String>,
    pub salesforce_user_id: Option<String>,
    pub slack_user_id: Option<String>,
}

/// A change of owner the CRM must show with one note (who had it, who has it, why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerChangeNote {
    pub at: DateTime<Utc>,
    /// One readable line: "Moved from Lena Fischer to Max Weber: the SLA passed unclaimed".
    pub text: String,
}

/// What the CRM should hold for a handoff now.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmWrite {
    pub package: HandoffPackage,
    /// The CRM fields of the package, motion-specific (see [`HandoffPackage::crm_fields`]).
    pub fields: Vec<(crate::package::CrmField, String)>,
    /// The owner's CRM ids (`None`: the shared queue; the CRM keeps no owner).
    pub owner_ids: ExternalIds,
    /// The owner's name, for task subjects and notes.
    pub owner_display: String,
    /// Every change of owner and every new touch (a later event that joined the handoff) so
    /// far, oldest first; each needs one note.
    pub changes: Vec<OwnerChangeNote>,
    /// The package as readable text and as HTML (the note / task description).
    pub text: String,
    pub html: String,
    pub now: DateTime<Utc>,
}

/// What one [`Crm::sync`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmStep {
    /// It created something: record these refs, then call again.
    Progress(CrmRefs),
    /// The CRM now matches the write.
    Done(CrmRefs),
}

/// Brings the CRM in line with a handoff, one recorded step at a time.
#[async_trait]
pub trait Crm: Send + Sync {
    /// Does what is missing, given what `refs` records as written: returns
    /// [`CrmStep::Progress`] right after creating an object (the caller saves the refs before
    /// calling again, so a crash never creates it twice) and [`CrmStep::Done`] when the CRM
    /// holds the contact with its owner, the package, the owner's task and one note per owner
    /// change. Updates (owner, due date) are idempotent and need no step of their own.
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError>;
}

/// Why a notification is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NotificationKind {
    /// The recipient owns the handoff now and should act.
    Assigned,
    /// The recipient had it; it moved to someone else (`to`), for `reason`.
    MovedAway { to: String, reason: String },
    /// The recipient owns it and the buyer got in touch again: a later event joined the handoff
    /// (`summary`: what arrived, via which channel, the new trigger); the package is updated.
    NewTouch { summary: String },
}

/// What a rep is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub handoff_id: HandoffId,
    pub kind: NotificationKind,
    /// `slack:@lena`, `slack:#channel`, `email:…`, `webhook`, `crm_task`.
    pub target: String,
    /// The recipient's ids (Slack user id for `slack:@…` targets).
    #[serde(default)]
    pub recipient: ExternalIds,
    /// The recipient's email, when known (for `email` and webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_email: Option<String>,
    pub title: String,
    /// A readable summary of the six parts (plain text; adapters escape it for their format).
    pub body: String,
    /// The SLA deadline in the recipient's time zone ("Thu 26 Nov 14:30 CET"), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_local: Option<String>,
    /// The package itself, for adapters that lay it out (Slack blocks, HTML mail, webhooks).
    pub package: HandoffPackage,
    /// Signed claim links by action (`accept`, `wrong_owner`, `requalify`).
    pub actions: Vec<(String, String)>,
    /// CRM reference written before this notification.
    pub crm_ref: String,
    /// The receipt of the message this one supersedes (the recipient's earlier message about
    /// this handoff), so an adapter can update it in place (Slack `chat.update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// Tells a rep where they work.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends the notification; returns a receipt (for Slack `slack:<channel>:<ts>`, so the
    /// message can be updated later).
    async fn notify(&self, notification: &Notification) -> Result<String, DeliveryError>;
}

/// The current time (a test clock in tests).
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(at))
    }
    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }
    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// What a judge is asked about one low-confidence case: the buyer's words and what the rules
/// made of them. Built by [`crate::judge::request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeRequest {
    pub motion: Motion,
    /// The subject of a reply, when it has one.
    pub subject: Option<String>,
    /// The buyer's own words (a reply without its quoted history and signature, a form's
    /// message, a call's transcript excerpt, a meeting's notes), at most
    /// [`crate::judge::WORDS_MAX`] characters.
    pub words: String,
    /// The rules' trigger and decision.
    pub trigger: TriggerKind,
    pub escalate: bool,
    /// The reply classes the rules considered, with their confidence in percent, best first
    /// (empty for inbound events).
    pub candidates: Vec<(ReplyClass, u8)>,
    /// Why the rules are unsure (the classification's `needs_confirmation`).
    pub unsure_because: String,
    /// The classes an answer may name.
    pub allowed: Vec<ReplyClass>,
}

/// A judge's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgeOpinion {
    /// The class the judge reads in the buyer's words.
    pub reply_class: ReplyClass,
    /// Whether a human should take the case now.
    pub escalate: bool,
    /// One short sentence saying why.
    pub reason: String,
}

/// Why a judge gave no opinion. The texts name a kind, an error code or a field, never the
/// buyer's words or the model's answer: they are recorded as evidence on the handoff.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JudgeError {
    /// The service refused for rate (HTTP 429, `ThrottlingException`).
    #[error("throttled")]
    Throttled,
    /// No answer within the configured time.
    #[error("timed out")]
    Timeout,
    /// An answer that is not the forced tool call with a valid class, flag and reason.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// Anything else: not configured here, access denied, a server error, no connection.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// `[judge] max_calls_per_day` calls were made today.
    #[error("daily limit of {0} calls reached")]
    DailyLimit(u32),
}

/// A second opinion on a low-confidence case. Asked only when the rules are unsure and
/// `[judge]` names a judge; whatever it answers (or fails with) can only move the case toward a
/// human ([`crate::judge`]).
#[async_trait]
pub trait Judge: Send + Sync {
    async fn opinion(&self, request: &JudgeRequest) -> Result<JudgeOpinion, JudgeError>;
}

/// No judge in this deployment (`handoff serve`, tests): every request is `Unavailable`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoJudge;

#[async_trait]
impl Judge for NoJudge {
    async fn opinion(&self, _request: &JudgeRequest) -> Result<JudgeOpinion, JudgeError> {
        Err(JudgeError::Unavailable(
            "no judge is wired in this deployment".into(),
        ))
    }
}

/// Errors from a [`RulesSource`].
#[derive(Debug, Error)]
pub enum RulesSourceError {
    #[error(transparent)]
    Invalid(#[from] crate::config::RulesError),
    #[error("rules unavailable: {0}")]
    Unavailable(String),
}

/// Where the current rules and roster come from (a file locally, a versioned item in the cloud).
#[async_trait]
pub trait RulesSource: Send + Sync {
    async fn current(&self) -> Result<Arc<Rules>, RulesSourceError>;
}

/// A fixed set of rules.
pub struct StaticRules(pub Arc<Rules>);

#[async_trait]
impl RulesSource for StaticRules {
    async fn current(&self) -> Result<Arc<Rules>, RulesSourceError> {
        Ok(self.0.clone())
    }
}
