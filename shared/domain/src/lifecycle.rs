//! The handoff lifecycle: an explicit state machine, the stored record and its timeline.
//!
//! ```text
//! received ─classify─▶ classified ─assign─▶ assigned ─crm─▶ crm_written ─notify─▶ notified ─accept─▶ accepted
//!     │                    │                  ▲   ▲                                  │
//!     └─close─▶ closed ◀───┘                  │   └──────── reroute (sla miss / wrong owner) ◀┤
//!                                             └── requalification_requested ◀──── requalify ◀┘
//!                                  escalated (team lead / shared queue) is an assigned state too
//! ```

use crate::event::IntakeEvent;
use crate::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use crate::package::{Classification, HandoffPackage, Owner, Sla, TraceStep};
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
        matches!(self, State::Accepted | State::ClosedWithoutHandoff)
    }
}

/// Why a handoff moves to another owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RerouteReason {
    SlaMissed,
    WrongOwner,
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
            Transition::RequestRequalification => "requalification_requested",
            Transition::Escalate => "escalated",
        }
    }
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("illegal transition {transition} from state {from}", transition = .transition.label(), from = .from.as_str())]
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
    /// What handoff wrote to the CRM for this handoff (ids recorded step by step).
    #[serde(default)]
    pub crm: crate::ports::CrmRefs,
    /// Every change of owner after the first assignment, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reassignments: Vec<Reassignment>,
}

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
}

impl ReassignReason {
    /// A phrase for notes and notifications.
    pub fn describe(self) -> &'static str {
        match self {
            ReassignReason::SlaMissed => "the SLA passed unclaimed",
            ReassignReason::WrongOwner => "they reported it as the wrong owner",
            ReassignReason::Requalification => "they asked for re-qualification",
            ReassignReason::QueuePickup => "picked up from the shared queue",
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
            crm_ref: None,
            notification_ref: None,
            linked: Vec::new(),
            crm: Default::default(),
            reassignments: Vec::new(),
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

    /// What the CRM must reflect: the owner (a rep id or `queue`) and how many owner changes.
    /// The CRM is in sync when [`crate::ports::CrmRefs::synced`] equals this.
    pub fn crm_sync_key(&self) -> String {
        let owner = self
            .owner
            .as_ref()
            .and_then(|o| o.rep.as_ref())
            .map(|r| r.to_string())
            .unwrap_or_else(|| "queue".into());
        format!("{owner}#{}", self.reassignments.len())
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

    /// The SLA deadline while the owner has not accepted; `None` otherwise. Stores index this
    /// (a sparse index: only unclaimed handoffs carry it).
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
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

    const ALL_STATES: [State; 9] = [
        State::Received,
        State::Classified,
        State::Assigned,
        State::CrmWritten,
        State::Notified,
        State::Accepted,
        State::RequalificationRequested,
        State::Escalated,
        State::ClosedWithoutHandoff,
    ];

    fn all_transitions() -> Vec<Transition> {
        vec![
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
            Transition::RequestRequalification,
            Transition::Escalate,
        ]
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
        for s in [State::Accepted, State::ClosedWithoutHandoff] {
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
        // 1 classify + 2 close + 1 assign + 3 crm + 1 notify + 5 accept + 2×4 reroute + 3 requalify + 5 escalate
        assert_eq!(legal, 29);
    }

    #[test]
    fn illegal_transition_message_names_both_sides() {
        let e = next_state(State::Received, Transition::Accept).unwrap_err();
        assert_eq!(
            e.to_string(),
            "illegal transition accepted from state received"
        );
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

    #[test]
    fn only_owner_waiting_states_are_due() {
        let waiting: Vec<_> = ALL_STATES.iter().filter(|s| s.awaits_owner()).collect();
        assert_eq!(waiting.len(), 5);
        assert!(!State::Accepted.awaits_owner());
    }
}
