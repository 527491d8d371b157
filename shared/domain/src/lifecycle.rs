//! The handoff lifecycle: an explicit state machine, the stored record and its timeline.
//!
//! ```text
//! received ─classify─▶ classified ─assign─▶ assigned ─crm─▶ crm_written ─notify─▶ notified ─accept─▶ accepted
//!     │                    │                  ▲   ▲                                  │
//!     └─close─▶ closed ◀───┘                  │   └──────── reroute (sla miss / wrong owner) ◀┤
//!                                             └── requalification_requested ◀──── requalify ◀┘
//!                                  escalated (team lead / shared queue) is an assigned state too
//!     └─attach─▶ attached   (the buyer already has an open handoff: the event joined it as a touch)
//! ```

use crate::event::{Channel, IntakeEvent};
use crate::ids::{CompanyDomain, EmailAddress, HandoffId, RepId, SourceName};
use crate::package::{Classification, HandoffPackage, Owner, Sla, TraceStep, TriggerKind};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a handoff is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Received,
    Classified,
    /// An owner is chosen (first time or after a reroute); CRM write pending.
    Assigned,
    CrmWritten,
    Notified,
    Accepted,
    /// A rep asked for re-qualification; waiting for the re-qualification owner's CRM write.
    RequalificationRequested,
    /// No rep could take it (chain exhausted): it sits with a team lead or shared queue; CRM write pending.
    Escalated,
    /// The automation handled it; no human handoff.
    ClosedWithoutHandoff,
    /// The buyer already had an open handoff: this event joined it as a new touch
    /// ([`HandoffRecord::attached_to`]) instead of opening a second one.
    Attached,
}

impl State {
    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Classified => "classified",
            State::Assigned => "assigned",
            State::CrmWritten => "crm_written",
            State::Notified => "notified",
            State::Accepted => "accepted",
            State::RequalificationRequested => "requalification_requested",
            State::Escalated => "escalated",
            State::ClosedWithoutHandoff => "closed_without_handoff",
            State::Attached => "attached",
        }
    }

    /// States in which an owner holds the handoff but has not accepted it (the SLA clock runs).
    pub fn awaits_owner(self) -> bool {
        matches!(
            self,
            State::Assigned
                | State::CrmWritten
                | State::Notified
                | State::RequalificationRequested
                | State::Escalated
        )
    }

    /// Terminal states.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Accepted | State::ClosedWithoutHandoff | State::Attached
        )
    }
}

impl State {
    /// Every state, in the order a handoff meets them.
    pub const ALL: [State; 10] = [
        State::Received,
        State::Classified,
        State::Assigned,
        State::CrmWritten,
        State::Notified,
        State::Accepted,
        State::RequalificationRequested,
        State::Escalated,
        State::ClosedWithoutHandoff,
        State::Attached,
    ];

    /// The state as a person reads it: "written to the CRM", "closed without a handoff".
    pub fn phrase(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Classified => "classified",
            State::Assigned => "assigned",
            State::CrmWritten => "written to the CRM",
            State::Notified => "notified",
            State::Accepted => "accepted",
            State::RequalificationRequested => "re-qualification requested",
            State::Escalated => "escalated",
            State::ClosedWithoutHandoff => "closed without a handoff",
            State::Attached => "joined an open handoff",
        }
    }
}

/// For people ([`State::phrase`]); the stored label is [`State::as_str`].
impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.phrase())
    }
}

/// Why a handoff moves to another owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RerouteReason {
    SlaMissed,
    WrongOwner,
    /// The owner's notification was refused for good (a Slack user or address that does not
    /// exist): they cannot be told, so the next in the chain is.
    Unreachable,
}

impl RerouteReason {
    /// Every reason.
    pub const ALL: [RerouteReason; 3] = [
        RerouteReason::SlaMissed,
        RerouteReason::WrongOwner,
        RerouteReason::Unreachable,
    ];

    /// The reason as a person reads it.
    pub fn phrase(self) -> &'static str {
        match self {
            RerouteReason::SlaMissed => "the SLA was missed",
            RerouteReason::WrongOwner => "the owner reported it as not theirs",
            RerouteReason::Unreachable => "the owner could not be notified",
        }
    }
}

/// For people ([`RerouteReason::phrase`]).
impl std::fmt::Display for RerouteReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.phrase())
    }
}

/// A request to move the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Transition {
    Classify,
    Close,
    Assign,
    RecordCrmWrite,
    RecordNotification,
    Accept,
    Reroute {
        reason: RerouteReason,
    },
    RequestRequalification,
    /// Every rep in the chain missed it: hand it to the team lead / shared queue.
    Escalate,
    /// The buyer already has an open handoff: the event joins it as a new touch.
    Attach,
}

impl Transition {
    /// The snake_case label used in timelines.
    pub fn label(self) -> &'static str {
        match self {
            Transition::Classify => "classified",
            Transition::Close => "closed_without_handoff",
            Transition::Assign => "assigned",
            Transition::RecordCrmWrite => "crm_written",
            Transition::RecordNotification => "notified",
            Transition::Accept => "accepted",
            Transition::Reroute {
                reason: RerouteReason::SlaMissed,
            } => "rerouted_sla_missed",
            Transition::Reroute {
                reason: RerouteReason::WrongOwner,
            } => "rerouted_wrong_owner",
            Transition::Reroute {
                reason: RerouteReason::Unreachable,
            } => "rerouted_unreachable",
            Transition::RequestRequalification => "requalification_requested",
            Transition::Escalate => "escalated",
            Transition::Attach => "attached",
        }
    }
}

impl Transition {
    /// Every transition (every reroute reason).
    pub const ALL: [Transition; 12] = [
        Transition::Classify,
        Transition::Close,
        Transition::Assign,
        Transition::RecordCrmWrite,
        Transition::RecordNotification,
        Transition::Accept,
        Transition::Reroute {
            reason: RerouteReason::SlaMissed,
        },
        Transition::Reroute {
            reason: RerouteReason::WrongOwner,
        },
        Transition::Reroute {
            reason: RerouteReason::Unreachable,
        },
        Transition::RequestRequalification,
        Transition::Escalate,
        Transition::Attach,
    ];

    /// What the transition does, as a person reads it: "reroute after a missed SLA".
    pub fn phrase(self) -> &'static str {
        match self {
            Transition::Classify => "classify",
            Transition::Close => "close without a handoff",
            Transition::Assign => "assign",
            Transition::RecordCrmWrite => "record the CRM write",
            Transition::RecordNotification => "record the notification",
            Transition::Accept => "accept",
            Transition::Reroute {
                reason: RerouteReason::SlaMissed,
            } => "reroute after a missed SLA",
            Transition::Reroute {
                reason: RerouteReason::WrongOwner,
            } => "reroute as the wrong owner",
            Transition::Reroute {
                reason: RerouteReason::Unreachable,
            } => "reroute when the owner cannot be notified",
            Transition::RequestRequalification => "request re-qualification",
            Transition::Escalate => "escalate",
            Transition::Attach => "join to an open handoff",
        }
    }

    /// What a timeline entry's `event` label ([`Transition::label`] or `received`) means, as a
    /// person reads it: "rerouted_sla_missed" → "rerouted: SLA missed". Labels written by other
    /// steps (`previous_owner_told`, `new_touch` …) read with spaces.
    pub fn event_phrase(event: &str) -> String {
        match event {
            "crm_written" => "written to the CRM".into(),
            "crm_synced" => "CRM synced".into(),
            "closed_without_handoff" => "closed without a handoff".into(),
            "rerouted_sla_missed" => "rerouted: SLA missed".into(),
            "rerouted_wrong_owner" => "rerouted: wrong owner".into(),
            "rerouted_unreachable" => "rerouted: owner unreachable".into(),
            "requalification_requested" => "re-qualification requested".into(),
            "attached" => "joined an open handoff".into(),
            other => other.replace('_', " "),
        }
    }
}

/// For people ([`Transition::phrase`]); timelines store [`Transition::label`].
impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.phrase())
    }
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot {transition} a handoff that is {from}")]
pub struct IllegalTransition {
    pub from: State,
    pub transition: Transition,
}

/// The state machine: the state after `transition`, or why it is illegal.
pub fn next_state(from: State, transition: Transition) -> Result<State, IllegalTransition> {
    use State as S;
    use Transition as T;
    let to = match (from, transition) {
        (S::Received, T::Classify) => S::Classified,
        (S::Received | S::Classified, T::Close) => S::ClosedWithoutHandoff,
        (S::Received, T::Attach) => S::Attached,
        (S::Classified, T::Assign) => S::Assigned,
        (S::Assigned | S::RequalificationRequested | S::Escalated, T::RecordCrmWrite) => {
            S::CrmWritten
        }
        (S::CrmWritten, T::RecordNotification) => S::Notified,
        (
            S::Assigned | S::CrmWritten | S::Notified | S::Escalated | S::RequalificationRequested,
            T::Accept,
        ) => S::Accepted,
        (
            S::Assigned | S::CrmWritten | S::Notified | S::RequalificationRequested,
            T::Reroute { .. },
        ) => S::Assigned,
        (S::Assigned | S::CrmWritten | S::Notified, T::RequestRequalification) => {
            S::RequalificationRequested
        }
        (
            S::Assigned | S::CrmWritten | S::Notified | S::RequalificationRequested | S::Escalated,
            T::Escalate,
        ) => S::Escalated,
        _ => return Err(IllegalTransition { from, transition }),
    };
    Ok(to)
}

/// Who caused a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Actor {
    /// A pipeline stage (`intake`, `classify`, `assign`, `failover`).
    System(String),
    /// A rep acting through a claim link or button.
    Rep(RepId),
}

/// One transition in a handoff's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineEntry {
    pub handoff_id: HandoffId,
    /// The record version this entry produced (1 for creation), unique per handoff.
    pub version: u64,
    pub at: DateTime<Utc>,
    /// `received` or a [`Transition::label`].
    pub event: String,
    pub from: Option<State>,
    pub to: State,
    pub actor: Actor,
    /// Who owned it after the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<RepId>,
    #[serde(default)]
    pub note: String,
}

/// The stored state of one handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HandoffRecord {
    pub id: HandoffId,
    /// Incremented by every transition; updates are conditional on it.
    pub version: u64,
    pub state: State,
    pub event: IntakeEvent,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub contact_email: EmailAddress,
    pub company_domain: Option<CompanyDomain>,
    pub classification: Option<Classification>,
    pub owner: Option<Owner>,
    pub sla: Option<Sla>,
    pub routing: Vec<TraceStep>,
    /// Reps who already held it and missed the SLA or declined it; failover never returns to them.
    #[serde(default)]
    pub missed_by: Vec<RepId>,
    /// How many times the owner changed after the first assignment.
    #[serde(default)]
    pub reroutes: u32,
    /// How many reps got it through failover (an SLA miss or a wrong-owner reroute that landed
    /// on a rep chosen by the layers, not on a team lead or the shared queue); the first owner
    /// does not count. Compared to `max_reps`.
    #[serde(default)]
    pub failover_reps: u32,
    /// The CRM's id for the record written, once written.
    #[serde(default)]
    pub crm_ref: Option<String>,
    /// The notifier's receipt, once notified.
    #[serde(default)]
    pub notification_ref: Option<String>,
    /// Later events about the same buyer that joined this handoff instead of opening a new one
    /// (a meeting booked, rescheduled, cancelled or missed), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked: Vec<LinkedEvent>,
    /// Later events of the same buyer that joined this open handoff as new touches instead of
    /// opening a second handoff (a form after an email thread, the same person on chat), oldest
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touches: Vec<AttachedTouch>,
    /// For an `attached` event: the open handoff it joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_to: Option<HandoffId>,
    /// What handoff wrote to the CRM for this handoff (ids recorded step by step).
    #[serde(default)]
    pub crm: crate::ports::CrmRefs,
    /// Every change of owner after the first assignment, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reassignments: Vec<Reassignment>,
    /// While the pipeline owes the handoff a stage ([`HandoffRecord::owed_stage`]): when that
    /// stage must have run. Every transition sets it [`STAGE_GRACE`] ahead; the failover sweep
    /// re-drives a handoff past it (a failed enqueue, a crash between a write and its enqueue,
    /// a lost or dead-lettered message). `None` when nothing is owed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_due: Option<DateTime<Utc>>,
    /// How many times the sweep re-drove the owed stage since the handoff last moved on (each
    /// re-drive waits twice as long as the one before, up to [`MAX_REDRIVE_WAIT`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrives: u32,
    /// Which run of the assign stage may make the handoff's outside calls (CRM, notifier) now,
    /// and until when; `None` when no run holds it. See [`crate::service`]'s `lease` module:
    /// two runs for one handoff never both notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<StageLease>,
}

/// The right of one run of the assign stage to make a handoff's outside calls (see
/// [`HandoffRecord::lease`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StageLease {
    /// The run's token (unique per run of the assign stage).
    pub holder: String,
    /// When the lease lapses unless its holder saves again: another delivery may take it then.
    pub until: DateTime<Utc>,
}

/// How long a lease lasts after its holder's last save: longer than one outside call can take
/// (the assign function's 90 s timeout), shorter than [`STAGE_GRACE`], so a holder that died
/// is replaced before the sweep would re-drive the stage.
pub const STAGE_LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(3);

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How long a stage may take before the sweep re-drives the handoff: longer than a healthy
/// queue ever takes (seconds), short next to any SLA a team sets for a hot lead, so a stranded
/// handoff is repaired within this plus one sweep period.
pub const STAGE_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The longest wait between two re-drives of a handoff whose stage keeps failing (a CRM that
/// rejects the write until someone fixes a setting): 5, 10, 20 … minutes, then every 6 hours.
pub const MAX_REDRIVE_WAIT: chrono::TimeDelta = chrono::TimeDelta::hours(6);

/// Why the owner changed after the first assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReassignReason {
    /// The SLA passed unclaimed.
    SlaMissed,
    /// The owner said it is not theirs.
    WrongOwner,
    /// The owner asked for re-qualification.
    Requalification,
    /// A rep took it from the shared queue.
    QueuePickup,
    /// The owner's notification was refused for good.
    Unreachable,
}

impl ReassignReason {
    /// A phrase for notes and notifications.
    pub fn describe(self) -> &'static str {
        match self {
            ReassignReason::SlaMissed => "the SLA passed unclaimed",
            ReassignReason::WrongOwner => "they reported it as the wrong owner",
            ReassignReason::Requalification => "they asked for re-qualification",
            ReassignReason::QueuePickup => "picked up from the shared queue",
            ReassignReason::Unreachable => "they could not be notified",
        }
    }
}

/// One change of owner (see [`HandoffRecord::reassignments`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reassignment {
    pub at: DateTime<Utc>,
    pub reason: ReassignReason,
    /// The previous owner (`None`: the shared queue) and how they were shown and notified.
    pub from: Option<RepId>,
    pub from_display: String,
    pub from_notify: String,
    /// The receipt of the previous owner's notification (to update it in place), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_receipt: Option<String>,
    pub to: Option<RepId>,
    pub to_display: String,
    /// Set once the previous owner was told it moved (the receipt), or `skipped` when there was
    /// nobody to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told: Option<String>,
}

impl Reassignment {
    /// The note line the CRM gets for this change.
    pub fn note(&self) -> String {
        format!(
            "Moved from {} to {} on {}: {}.",
            self.from_display,
            self.to_display,
            self.at.format("%Y-%m-%d %H:%M UTC"),
            self.reason.describe()
        )
    }
}

/// An event that joined an existing handoff (see [`HandoffRecord::link`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LinkedEvent {
    /// `<source>␟<provider event id>`: a provider's retry of the same event is recognised.
    pub key: String,
    /// `meeting_booked`, `meeting_rescheduled` (the new slot of a reschedule), `meeting_moved`
    /// (the old slot a reschedule frees), `meeting_cancelled`, `meeting_no_show`.
    pub kind: String,
    /// The provider's meeting id, when the event is about a meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<String>,
    /// When the meeting starts (booked / rescheduled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// The meeting id a rescheduled booking replaces, when the provider names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    pub at: DateTime<Utc>,
}

/// A later event of the same buyer that joined an open handoff (see [`HandoffRecord::touch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttachedTouch {
    /// `<source>␟<provider event id>`: a provider's retry of the same event is recognised.
    pub key: String,
    /// The record the event itself became (in state `attached`).
    pub handoff_id: HandoffId,
    pub at: DateTime<Utc>,
    pub source: SourceName,
    pub channel: Channel,
    /// The new event's trigger.
    pub trigger: TriggerKind,
    /// One line for the owner: what arrived, via which channel and source, when, and the new
    /// trigger.
    pub summary: String,
    /// Set once the owner knows: the receipt of the "news" notification, a phrase when the
    /// owner's first notification carried the touch, or when there was nobody to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told: Option<String>,
}

impl HandoffRecord {
    /// A fresh record for an event that just arrived.
    pub fn received(event: IntakeEvent, now: DateTime<Utc>) -> (Self, TimelineEntry) {
        let id = HandoffId::for_event(&event.source, &event.provider_event_id);
        let record = Self {
            contact_email: event.buyer().email.clone(),
            company_domain: event.company_domain(),
            id: id.clone(),
            version: 1,
            state: State::Received,
            event,
            created_at: now,
            updated_at: now,
            classification: None,
            owner: None,
            sla: None,
            routing: Vec::new(),
            missed_by: Vec::new(),
            reroutes: 0,
            failover_reps: 0,
            crm_ref: None,
            notification_ref: None,
            linked: Vec::new(),
            touches: Vec::new(),
            attached_to: None,
            crm: Default::default(),
            reassignments: Vec::new(),
            stage_due: Some(now + STAGE_GRACE),
            redrives: 0,
            lease: None,
        };
        let entry = TimelineEntry {
            handoff_id: id,
            version: 1,
            at: now,
            event: "received".into(),
            from: None,
            to: State::Received,
            actor: Actor::System("intake".into()),
            owner: None,
            note: String::new(),
        };
        (record, entry)
    }

    /// Applies `transition`: bumps the version, moves the state and returns the timeline entry.
    /// The caller changes the other fields first (owner, sla…) and persists both with
    /// a conditional update on `version - 1`.
    pub fn apply(
        &mut self,
        transition: Transition,
        actor: Actor,
        now: DateTime<Utc>,
        note: impl Into<String>,
    ) -> Result<TimelineEntry, IllegalTransition> {
        let to = next_state(self.state, transition)?;
        let from = self.state;
        self.state = to;
        self.version += 1;
        self.updated_at = now;
        self.moved_on(now);
        Ok(TimelineEntry {
            handoff_id: self.id.clone(),
            version: self.version,
            at: now,
            event: transition.label().into(),
            from: Some(from),
            to,
            actor,
            owner: self.owner.as_ref().and_then(|o| o.rep.clone()),
            note: note.into(),
        })
    }

    /// Records a later event that joins this handoff (a meeting update): bumps the version, keeps
    /// the state, and returns the timeline entry (`event` = the link's kind). The caller persists
    /// both with a conditional update on `version - 1`. Returns `None` when the same event
    /// (same key) was linked before: a provider retry changes nothing.
    pub fn link(
        &mut self,
        link: LinkedEvent,
        actor: Actor,
        note: impl Into<String>,
    ) -> Option<TimelineEntry> {
        if self.linked.iter().any(|l| l.key == link.key) {
            return None;
        }
        let now = link.at;
        let event = link.kind.clone();
        self.linked.push(link);
        Some(self.progress(&event, actor, now, note))
    }

    /// Records a later event of the same buyer that joins this open handoff: bumps the version,
    /// keeps the state, and returns the `new_touch` timeline entry. The caller changes the other
    /// fields first (the flag and its evidence, a tighter SLA) and persists both with a
    /// conditional update on `version - 1`. Returns `None` when the same event (same key) joined
    /// before: a provider retry changes nothing.
    pub fn touch(
        &mut self,
        touch: AttachedTouch,
        actor: Actor,
        note: impl Into<String>,
    ) -> Option<TimelineEntry> {
        if self.has_touch(&touch.key) {
            return None;
        }
        let now = touch.at;
        self.touches.push(touch);
        Some(self.progress("new_touch", actor, now, note))
    }

    /// Whether the event with this key already joined as a touch.
    pub fn has_touch(&self, key: &str) -> bool {
        self.touches.iter().any(|t| t.key == key)
    }

    /// Records progress that does not change the state (a CRM step, a "moved" notice): bumps
    /// the version and returns the timeline entry (`event`); the caller persists both with a
    /// conditional update on `version - 1`.
    pub fn progress(
        &mut self,
        event: &str,
        actor: Actor,
        now: DateTime<Utc>,
        note: impl Into<String>,
    ) -> TimelineEntry {
        self.version += 1;
        self.updated_at = now;
        self.moved_on(now);
        TimelineEntry {
            handoff_id: self.id.clone(),
            version: self.version,
            at: now,
            event: event.to_string(),
            from: Some(self.state),
            to: self.state,
            actor,
            owner: self.owner.as_ref().and_then(|o| o.rep.clone()),
            note: note.into(),
        }
    }

    /// What the CRM must reflect: the owner (a rep id or `queue`), how many owner changes and,
    /// once a touch joined, how many touches (`<owner>#<changes>#<touches>`; without touches the
    /// key is `<owner>#<changes>` as before, so records synced earlier stay in sync). The CRM is
    /// in sync when [`crate::ports::CrmRefs::synced`] equals this.
    pub fn crm_sync_key(&self) -> String {
        let owner = self
            .owner
            .as_ref()
            .and_then(|o| o.rep.as_ref())
            .map(|r| r.to_string())
            .unwrap_or_else(|| "queue".into());
        match self.touches.len() {
            0 => format!("{owner}#{}", self.reassignments.len()),
            touches => format!("{owner}#{}#{touches}", self.reassignments.len()),
        }
    }

    /// Whether the CRM lags behind the handoff (a write never finished, or the owner changed
    /// since, e.g. a pickup from the shared queue).
    pub fn crm_stale(&self) -> bool {
        self.crm.synced.as_deref() != Some(self.crm_sync_key().as_str())
    }

    /// Records a change of owner (call after the new owner is set on the record).
    pub fn record_reassignment(
        &mut self,
        previous: Option<&Owner>,
        previous_receipt: Option<String>,
        reason: ReassignReason,
        now: DateTime<Utc>,
    ) {
        let (to, to_display) = match &self.owner {
            Some(o) => (o.rep.clone(), o.display.clone()),
            None => (None, String::new()),
        };
        self.reassignments.push(Reassignment {
            at: now,
            reason,
            from: previous.and_then(|o| o.rep.clone()),
            from_display: previous.map(|o| o.display.clone()).unwrap_or_default(),
            from_notify: previous.map(|o| o.notify.clone()).unwrap_or_default(),
            from_receipt: previous_receipt,
            to,
            to_display,
            told: None,
        });
    }

    /// The stage the pipeline still owes this handoff, judged from the record alone (what the
    /// classify and assign stages would do with it): classify a received event; route a
    /// classified one the classification escalates (close one it does not: classify); write the CRM and notify a new owner; sync the CRM after an accept or a
    /// pickup; tell an owner of a new touch or a previous owner that it moved. `None` once the
    /// stages have nothing left to do.
    pub fn owed_stage(&self) -> Option<crate::ports::Stage> {
        use crate::ports::Stage;
        match self.state {
            State::Received => Some(Stage::Classify),
            // Not escalated: the classify stage closes it (its close was lost).
            State::Classified if !self.escalates() => Some(Stage::Classify),
            State::Classified
            | State::Assigned
            | State::RequalificationRequested
            | State::Escalated
            | State::CrmWritten => Some(Stage::Assign),
            State::Notified | State::Accepted
                if self.crm_stale()
                    || self.touches.iter().any(|t| t.told.is_none())
                    || self.reassignments.iter().any(|r| r.told.is_none()) =>
            {
                Some(Stage::Assign)
            }
            State::Notified | State::Accepted | State::ClosedWithoutHandoff | State::Attached => {
                None
            }
        }
    }

    /// The end of a live lease held by someone other than `holder`, if there is one.
    pub fn leased_to_other(&self, holder: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.lease
            .as_ref()
            .filter(|l| l.holder != holder && l.until > now)
            .map(|l| l.until)
    }

    /// Whether `holder` holds the lease with at least half of [`STAGE_LEASE`] left: time for
    /// one more outside call before anyone else may take it.
    pub fn holds_lease(&self, holder: &str, now: DateTime<Utc>) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|l| l.holder == holder && l.until - now >= STAGE_LEASE / 2)
    }

    /// Before a save by the assign stage's run `holder`: holds the lease for
    /// [`STAGE_LEASE`] from `now` while the assign stage still owes outside work, releases it
    /// once nothing is owed.
    pub fn renew_lease(&mut self, holder: &str, now: DateTime<Utc>) {
        self.lease = (self.owed_stage() == Some(crate::ports::Stage::Assign)).then(|| StageLease {
            holder: holder.to_string(),
            until: now + STAGE_LEASE,
        });
    }

    /// After a run of the assign stage by `holder` failed: gives up its lease so the retry need
    /// not wait for it to lapse, and returns the `attempt_failed` timeline entry saying why
    /// (`None` when `holder` holds no lease). Bumps the version but keeps the stage deadline and
    /// the re-drive count as they are, so a stage that keeps failing still backs off.
    pub fn release_lease(
        &mut self,
        holder: &str,
        now: DateTime<Utc>,
        note: impl Into<String>,
    ) -> Option<TimelineEntry> {
        if self.lease.as_ref().is_none_or(|l| l.holder != holder) {
            return None;
        }
        self.lease = None;
        self.version += 1;
        self.updated_at = now;
        Some(TimelineEntry {
            handoff_id: self.id.clone(),
            version: self.version,
            at: now,
            event: "attempt_failed".into(),
            from: Some(self.state),
            to: self.state,
            actor: Actor::System("assign".into()),
            owner: self.owner.as_ref().and_then(|o| o.rep.clone()),
            note: note.into(),
        })
    }

    /// Whether the classification asks for a human (false before classification).
    pub fn escalates(&self) -> bool {
        self.classification.as_ref().is_some_and(|c| c.escalate)
    }

    /// After a transition or progress: a fresh stage deadline when a stage is owed, none
    /// otherwise, and the re-drive count starts again.
    fn moved_on(&mut self, now: DateTime<Utc>) {
        self.stage_due = self.owed_stage().map(|_| now + STAGE_GRACE);
        self.redrives = 0;
    }

    /// Whether the sweep must re-drive the owed stage now: a stage is owed and its deadline
    /// passed (a record from before stage deadlines existed counts from its last update).
    pub fn redrive_due(&self, now: DateTime<Utc>) -> bool {
        self.owed_stage().is_some()
            && self.stage_due.unwrap_or(self.updated_at + STAGE_GRACE) <= now
    }

    /// Records a re-drive of the owed stage by the sweep: bumps the version, keeps the state,
    /// moves the stage deadline out (5, 10, 20 … minutes, at most [`MAX_REDRIVE_WAIT`]) and
    /// returns the `redriven` timeline entry. The caller saves, then enqueues the stage.
    pub fn redrive(&mut self, now: DateTime<Utc>, actor: Actor) -> Option<TimelineEntry> {
        let stage = self.owed_stage()?;
        let missed = self.stage_due.unwrap_or(self.updated_at + STAGE_GRACE);
        let redrives = self.redrives.saturating_add(1);
        let note = format!(
            "the {} stage had not run by {}; sent again (re-drive {redrives})",
            stage.as_str(),
            missed.format("%Y-%m-%d %H:%M UTC")
        );
        let entry = self.progress("redriven", actor, now, note);
        let wait = STAGE_GRACE * 2i32.saturating_pow(redrives.saturating_sub(1).min(16));
        self.stage_due = Some(now + wait.min(MAX_REDRIVE_WAIT));
        self.redrives = redrives;
        Some(entry)
    }

    /// Whether the owner's SLA passed unclaimed with nothing owed by the pipeline: the owner was
    /// told (a handoff whose notification is still owed is re-driven instead, never blamed on
    /// an owner who was not told).
    pub fn sla_missed(&self, now: DateTime<Utc>) -> bool {
        self.state.awaits_owner()
            && self.owed_stage().is_none()
            && self.sla.as_ref().is_some_and(|s| s.deadline <= now)
    }

    /// When the sweep must next look at this handoff: while the pipeline owes a stage, that
    /// stage's deadline; once the owner was told, the SLA deadline while they have not accepted;
    /// `None` otherwise. Stores index this (a sparse index: only handoffs that wait for
    /// something carry it).
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        if self.owed_stage().is_some() {
            return Some(self.stage_due.unwrap_or(self.updated_at + STAGE_GRACE));
        }
        if self.state.awaits_owner() {
            self.sla.as_ref().map(|s| s.deadline)
        } else {
            None
        }
    }

    /// The package as it stands (None before classification).
    pub fn package(&self) -> Option<HandoffPackage> {
        self.classification.as_ref().map(|c| HandoffPackage {
            handoff_id: self.id.clone(),
            classification: c.clone(),
            owner: self.owner.clone(),
            sla: self.sla.clone(),
            routing: self.routing.clone(),
        })
    }

    /// Whether the handoff is still open (not accepted, not closed).
    pub fn is_open(&self) -> bool {
        !self.state.is_final()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_STATES: [State; 10] = [
        State::Received,
        State::Classified,
        State::Assigned,
        State::CrmWritten,
        State::Notified,
        State::Accepted,
        State::RequalificationRequested,
        State::Escalated,
        State::ClosedWithoutHandoff,
        State::Attached,
    ];

    fn all_transitions() -> Vec<Transition> {
        Transition::ALL.to_vec()
    }

    #[test]
    fn happy_path_is_legal() {
        let mut s = State::Received;
        for t in [
            Transition::Classify,
            Transition::Assign,
            Transition::RecordCrmWrite,
            Transition::RecordNotification,
            Transition::Accept,
        ] {
            s = next_state(s, t).unwrap();
        }
        assert_eq!(s, State::Accepted);
    }

    #[test]
    fn final_states_accept_nothing() {
        for s in [
            State::Accepted,
            State::ClosedWithoutHandoff,
            State::Attached,
        ] {
            for t in all_transitions() {
                let err = next_state(s, t).unwrap_err();
                assert_eq!(err.from, s);
            }
        }
    }

    #[test]
    fn the_table_is_exactly_this() {
        let mut legal = 0;
        for s in ALL_STATES {
            for t in all_transitions() {
                if next_state(s, t).is_ok() {
                    legal += 1;
                }
            }
        }
        // 1 classify + 2 close + 1 attach + 1 assign + 3 crm + 1 notify + 5 accept + 3×4 reroute
        // + 3 requalify + 5 escalate
        assert_eq!(legal, 34);
    }

    #[test]
    fn illegal_transition_message_names_both_sides() {
        let e = next_state(State::Received, Transition::Accept).unwrap_err();
        assert_eq!(e.to_string(), "cannot accept a handoff that is received");
    }

    #[test]
    fn a_link_keeps_the_state_and_is_recorded_once() {
        let json = r#"{"source":"calendly","channel":"meeting","provider_event_id":"m-1",
            "received_at":"2026-11-24T10:00:00Z","type":"meeting_booked",
            "buyer":{"email":"dana@acme.com"},"meeting_id":"m1","starts_at":"2026-11-25T10:00:00Z"}"#;
        let event: IntakeEvent = serde_json::from_str(json).unwrap();
        let (mut r, _) = HandoffRecord::received(event.clone(), event.received_at);
        let link = LinkedEvent {
            key: "calendly\u{1f}x".into(),
            kind: "meeting_no_show".into(),
            meeting_id: Some("m1".into()),
            starts_at: None,
            replaces: None,
            at: event.received_at,
        };
        let entry = r
            .link(link.clone(), Actor::System("intake".into()), "no-show")
            .unwrap();
        assert_eq!(
            (entry.from, entry.to),
            (Some(State::Received), State::Received)
        );
        assert_eq!((r.version, entry.version), (2, 2));
        assert_eq!(entry.event, "meeting_no_show");
        assert!(r
            .link(link, Actor::System("intake".into()), "again")
            .is_none());
        assert_eq!(r.version, 2);
    }

    fn form_record() -> HandoffRecord {
        let json = r#"{"source":"website","channel":"web_form","provider_event_id":"f-1",
            "received_at":"2026-11-24T10:00:00Z","type":"form_lead",
            "buyer":{"email":"dana@acme.com"},"message":"demo please"}"#;
        let event: IntakeEvent = serde_json::from_str(json).unwrap();
        HandoffRecord::received(event.clone(), event.received_at).0
    }

    fn a_touch(key: &str) -> AttachedTouch {
        AttachedTouch {
            key: key.into(),
            handoff_id: HandoffId::parse("h_00000000000000000000000000000001").unwrap(),
            at: "2026-11-24T11:00:00Z".parse().unwrap(),
            source: SourceName::parse("postmark").unwrap(),
            channel: Channel::Email,
            trigger: TriggerKind::PricingRequest,
            summary: "an email reply".into(),
            told: None,
        }
    }

    #[test]
    fn a_touch_keeps_the_state_and_is_recorded_once() {
        let mut r = form_record();
        let entry = r
            .touch(
                a_touch("postmark\u{1f}m-1"),
                Actor::System("classify".into()),
                "news",
            )
            .unwrap();
        assert_eq!(
            (entry.event.as_str(), entry.from, entry.to, entry.version),
            ("new_touch", Some(State::Received), State::Received, 2)
        );
        assert_eq!(entry.at, a_touch("x").at);
        assert!(r.has_touch("postmark\u{1f}m-1"));
        assert!(r
            .touch(
                a_touch("postmark\u{1f}m-1"),
                Actor::System("classify".into()),
                "again"
            )
            .is_none());
        assert_eq!((r.version, r.touches.len()), (2, 1));
        r.touch(
            a_touch("postmark\u{1f}m-2"),
            Actor::System("classify".into()),
            "more",
        )
        .unwrap();
        assert_eq!((r.version, r.touches.len()), (3, 2));
    }

    #[test]
    fn the_crm_sync_key_counts_touches_once_there_are_some() {
        let mut r = form_record();
        assert_eq!(r.crm_sync_key(), "queue#0", "unchanged without touches");
        r.touch(a_touch("k"), Actor::System("classify".into()), "")
            .unwrap();
        assert_eq!(r.crm_sync_key(), "queue#0#1");
        r.crm.synced = Some("queue#0".into());
        assert!(r.crm_stale(), "a touch makes the CRM stale");
    }

    fn owned(r: &mut HandoffRecord, deadline: DateTime<Utc>) {
        r.owner = Some(Owner {
            rep: Some(RepId::parse("lena").unwrap()),
            team: crate::ids::TeamId::parse("emea").unwrap(),
            display: "Lena".into(),
            notify: "slack:@lena".into(),
        });
        r.sla = Some(crate::package::Sla {
            business_minutes: 30,
            deadline,
            policy: "inbound/hot".into(),
        });
    }

    #[test]
    fn every_state_that_waits_for_a_stage_owes_it_with_a_deadline() {
        use crate::ports::Stage;
        let sys = || Actor::System("test".into());
        let t0: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
        let mut r = form_record();
        r.classification = Some(crate::routing::testing::classification(
            crate::package::Motion::Inbound,
            TriggerKind::DemoRequest,
        ));
        let sla_deadline = t0 + chrono::TimeDelta::hours(4);
        // Received: the classify stage, due five minutes after intake.
        assert_eq!(r.owed_stage(), Some(Stage::Classify));
        assert_eq!(r.due_at(), Some(t0 + STAGE_GRACE));
        let mut at = t0;
        let mut step = |r: &mut HandoffRecord, t: Transition| {
            at += chrono::TimeDelta::minutes(1);
            r.apply(t, sys(), at, "").unwrap();
            at
        };
        let t1 = step(&mut r, Transition::Classify);
        assert_eq!(
            (r.owed_stage(), r.due_at()),
            (Some(Stage::Assign), Some(t1 + STAGE_GRACE))
        );
        owned(&mut r, sla_deadline);
        for t in [Transition::Assign, Transition::RecordCrmWrite] {
            let when = step(&mut r, t);
            // The owner was not told yet: due when the stage is, never blamed for the SLA.
            assert_eq!(r.owed_stage(), Some(Stage::Assign), "{}", r.state.as_str());
            assert_eq!(r.due_at(), Some(when + STAGE_GRACE));
            assert!(!r.sla_missed(sla_deadline + chrono::TimeDelta::days(1)));
        }
        r.crm.synced = Some(r.crm_sync_key());
        step(&mut r, Transition::RecordNotification);
        // Told: nothing owed, due at the SLA deadline.
        assert_eq!(r.owed_stage(), None);
        assert_eq!((r.stage_due, r.due_at()), (None, Some(sla_deadline)));
        assert!(!r.sla_missed(sla_deadline - chrono::TimeDelta::seconds(1)));
        assert!(r.sla_missed(sla_deadline));
        // A touch joins: the owner must hear of it, so the assign stage is owed again.
        let touched = a_touch("k");
        r.touch(touched, sys(), "").unwrap();
        assert_eq!(r.owed_stage(), Some(Stage::Assign));
        assert_eq!(r.due_at(), Some(a_touch("k").at + STAGE_GRACE));
        // Accepted with the CRM in sync and everyone told: nothing left.
        r.touches[0].told = Some("told".into());
        r.crm.synced = Some(r.crm_sync_key());
        step(&mut r, Transition::Accept);
        assert_eq!(
            (r.owed_stage(), r.due_at(), r.stage_due),
            (None, None, None)
        );
    }

    #[test]
    fn a_classified_handoff_the_rules_do_not_escalate_owes_classify_never_assign() {
        use crate::ports::Stage;
        let mut r = form_record();
        let mut c = crate::routing::testing::classification(
            crate::package::Motion::Inbound,
            TriggerKind::DemoRequest,
        );
        c.escalate = false;
        r.classification = Some(c);
        let now: DateTime<Utc> = "2026-11-24T10:01:00Z".parse().unwrap();
        r.apply(
            Transition::Classify,
            Actor::System("classify".into()),
            now,
            "",
        )
        .unwrap();
        assert!(!r.escalates());
        assert_eq!(r.owed_stage(), Some(Stage::Classify));
        r.classification.as_mut().unwrap().escalate = true;
        assert_eq!(r.owed_stage(), Some(Stage::Assign));
    }

    #[test]
    fn a_redrive_pushes_the_stage_deadline_out_exponentially_up_to_the_cap() {
        let t0: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
        let mut r = form_record();
        assert!(!r.redrive_due(t0 + STAGE_GRACE - chrono::TimeDelta::seconds(1)));
        assert!(r.redrive_due(t0 + STAGE_GRACE));
        let mut now = t0 + STAGE_GRACE;
        let mut waits = Vec::new();
        for n in 1..=10 {
            let entry = r.redrive(now, Actor::System("sweep".into())).unwrap();
            assert_eq!(entry.event, "redriven");
            assert_eq!(
                (entry.from, entry.to),
                (Some(State::Received), State::Received)
            );
            assert!(entry.note.contains("classify stage"), "{}", entry.note);
            assert!(
                entry.note.contains(&format!("re-drive {n}")),
                "{}",
                entry.note
            );
            assert_eq!(r.redrives, n);
            let due = r.stage_due.unwrap();
            assert_eq!(r.due_at(), Some(due));
            waits.push((due - now).num_minutes());
            assert!(!r.redrive_due(due - chrono::TimeDelta::seconds(1)));
            now = due;
        }
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 360, 360, 360]);
        // The stage ran at last: the deadline and the count start again.
        r.apply(
            Transition::Classify,
            Actor::System("classify".into()),
            now,
            "",
        )
        .unwrap();
        assert_eq!((r.redrives, r.stage_due), (0, Some(now + STAGE_GRACE)));
        // Nothing owed, nothing to re-drive.
        r.apply(Transition::Close, Actor::System("classify".into()), now, "")
            .unwrap();
        assert!(r.redrive(now, Actor::System("sweep".into())).is_none());
        assert!(!r.redrive_due(now + chrono::TimeDelta::days(9)));
    }

    #[test]
    fn a_stored_record_without_a_stage_deadline_counts_from_its_last_update() {
        let mut r = form_record();
        r.stage_due = None;
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("stage_due") && !json.contains("redrives"));
        let r: HandoffRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(r.due_at(), Some(r.updated_at + STAGE_GRACE));
        assert!(r.redrive_due(r.updated_at + STAGE_GRACE));
    }

    #[test]
    fn attached_is_terminal_and_reached_from_received_only() {
        for s in ALL_STATES {
            let attach = next_state(s, Transition::Attach);
            assert_eq!(attach.is_ok(), s == State::Received, "{}", s.as_str());
        }
        assert!(State::Attached.is_final() && !State::Attached.awaits_owner());
        assert_eq!(State::Attached.as_str(), "attached");
        assert_eq!(Transition::Attach.label(), "attached");
        let json = serde_json::to_string(&State::Attached).unwrap();
        assert_eq!(json, "\"attached\"");
    }

    #[test]
    fn only_owner_waiting_states_are_due() {
        let waiting: Vec<_> = ALL_STATES.iter().filter(|s| s.awaits_owner()).collect();
        assert_eq!(waiting.len(), 5);
        assert!(!State::Accepted.awaits_owner());
    }

    #[test]
    fn the_lease_is_held_renewed_given_up_and_released() {
        let mut r = form_record();
        let t0 = r.created_at;
        r.state = State::CrmWritten;
        assert_eq!(r.leased_to_other("a", t0), None);
        assert!(!r.holds_lease("a", t0));
        r.renew_lease("a", t0);
        assert!(r.holds_lease("a", t0));
        assert_eq!(r.leased_to_other("b", t0), Some(t0 + STAGE_LEASE));
        // Held with less than half left: time to renew; lapsed: anyone may take it.
        assert!(!r.holds_lease("a", t0 + STAGE_LEASE / 2 + chrono::TimeDelta::seconds(1)));
        assert_eq!(r.leased_to_other("b", t0 + STAGE_LEASE), None);
        // A failed run gives it up, keeping the stage deadline; only its holder can.
        r.stage_due = Some(t0 + STAGE_GRACE);
        assert_eq!(r.release_lease("b", t0, "nope"), None);
        let version = r.version;
        let entry = r.release_lease("a", t0, "the CRM timed out").unwrap();
        assert_eq!(entry.event, "attempt_failed");
        assert_eq!((r.version, entry.version), (version + 1, version + 1));
        assert_eq!(r.lease, None);
        assert_eq!(r.stage_due, Some(t0 + STAGE_GRACE));
        r.renew_lease("m", t0);
        // Nothing owed: renewing releases it.
        r.state = State::Notified;
        r.crm.synced = Some(r.crm_sync_key());
        assert_eq!(r.owed_stage(), None);
        r.renew_lease("m", t0);
        assert_eq!(r.lease, None);
    }
}
