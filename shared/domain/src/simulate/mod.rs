//! What-if replay (`handoff simulate`): the recorded handoffs of a period routed again under
//! the current rules and under proposed ones, compared, without writing anything.
//!
//! What is replayed, and why it is honest about it:
//! - **The first assignment only.** Each handoff that was routed is routed again in
//!   [`RouteMode::Initial`](crate::routing::RouteMode) at the moment it was first assigned
//!   ([`ReplayCase::routed_at`], from its timeline), with its recorded classification (the
//!   classifier is not re-run; a rules change to escalation or qualification is not replayed).
//!   Later failovers depend on what people did (claims, missed SLAs) and cannot be replayed.
//! - **Both sides are replays.** The "before" side is the replay under the current rules, so
//!   before and after are compared like for like; where that replay differs from the owner the
//!   record shows, the report lists it as drift (rules changed since, history the replay cannot
//!   see).
//! - **Loads and round-robin counters are rebuilt during the replay**, in creation order:
//!   each rep's daily load starts from zero on every rep-local day and at the start of the
//!   period, and the fairness counters start from zero at the start of the period, so a rule
//!   change is judged on the period alone and not on counters the new rules never produced.
//!   The tie-break cursor counts the replay's own decisions.
//! - **Continuity follows the replay.** The earlier owner of a contact is the owner the same
//!   side gave the contact's previous handoff in the period, else the rep who owned the
//!   contact's last handoff before the period ([`ReplayContext::earlier_owners`]).
//! - **Overrides and learned account owners are the ones the store holds now** (it keeps no
//!   history of them): an availability override counts from its `from`, or from when it was
//!   set; configured account owners come from each side's rules.
//! - SLA tightening for touches that joined a handoff before its first assignment is not
//!   replayed (on either side).
//!
//! Layout: `desk` routes one side, `compare` builds the report from the two sides,
//! [`history`] reads a period's records and context from a store (reads only).

mod compare;
mod desk;
pub mod history;
#[cfg(test)]
mod tests;

use crate::config::Rules;
use crate::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use crate::lifecycle::{HandoffRecord, State};
use crate::package::{Owner, Sla, TraceStep};
use crate::ports::AvailabilityOverride;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How the replay works, in a few sentences for the people reading its output.
pub const METHOD: &str = "Each handoff of the period is routed again at the moment it was \
first assigned, in the order the handoffs were created, once under the current rules and once \
under the new ones; nothing is written. Daily loads start from zero on each rep's local day and \
at the start of the period, and the round-robin counters start from zero at the start of the \
period. The classification is the recorded one; availability overrides and learned account \
owners are the ones the store holds now. Only first assignments are replayed, not later \
failovers.";

/// One recorded handoff and when it was first assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayCase {
    pub record: HandoffRecord,
    /// When routing gave it its first owner (the timeline's `assigned` entry), or when it was
    /// created if the timeline does not say.
    pub routed_at: DateTime<Utc>,
}

/// What the store knows besides the records, read once (see the module docs for why this is
/// what the replay uses).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayContext {
    /// Availability overrides as the store holds them now.
    pub overrides: Vec<AvailabilityOverride>,
    /// Account owners learned from accepted handoffs, as the store holds them now.
    pub learned_account_owners: BTreeMap<CompanyDomain, RepId>,
    /// The rep who owned each contact's most recent handoff created before the period.
    pub earlier_owners: BTreeMap<EmailAddress, RepId>,
}

/// The period replayed: handoffs created in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// An owner as the report names it: a rep, or a queue (no rep) by its display name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OwnerRef {
    pub rep: Option<RepId>,
    pub display: String,
}

impl OwnerRef {
    /// The reference of a routing owner.
    pub fn of(owner: &Owner) -> Self {
        Self {
            rep: owner.rep.clone(),
            display: owner.display.clone(),
        }
    }

    /// The same rep, or the same queue.
    pub fn same_as(&self, other: &OwnerRef) -> bool {
        match (&self.rep, &other.rep) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.display == other.display,
            _ => false,
        }
    }

    /// Whether this is a queue rather than a rep.
    pub fn is_queue(&self) -> bool {
        self.rep.is_none()
    }
}

/// One side's routing of one handoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replay {
    pub owner: Owner,
    pub sla: Sla,
    /// The routing rule that matched (`None`: no rule matched and the re-qualification role
    /// triaged it).
    pub rule: Option<String>,
    /// It went to a team lead or a queue rather than a rep chosen by the layers.
    pub escalated: bool,
    pub trace: Vec<TraceStep>,
}

/// What the record shows of its first assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    pub owner: OwnerRef,
    /// The first SLA, when the owner never changed since (later changes overwrite it).
    pub sla: Option<Sla>,
    /// The first assignment's trace steps (up to its `sla` step).
    pub trace: Vec<TraceStep>,
}

/// One handoff replayed on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayedHandoff {
    pub id: HandoffId,
    pub created_at: DateTime<Utc>,
    pub routed_at: DateTime<Utc>,
    /// One line naming the buyer and what they asked for (control characters stripped).
    pub title: String,
    pub recorded: Recorded,
    /// Under the current rules.
    pub before: Replay,
    /// Under the new rules.
    pub after: Replay,
}

impl ReplayedHandoff {
    /// Whether the new rules give it to someone else.
    pub fn owner_changes(&self) -> bool {
        !OwnerRef::of(&self.before.owner).same_as(&OwnerRef::of(&self.after.owner))
    }
}

/// Handoffs of the period that were not replayed, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Closed without a handoff (the automation handled them): never routed.
    pub closed_without_handoff: usize,
    /// Joined a buyer's open handoff as a touch: never routed on their own.
    pub attached: usize,
    /// Not assigned yet (received or classified).
    pub not_yet_routed: usize,
}

/// How many handoffs go from one owner to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerMove {
    pub from: OwnerRef,
    pub to: OwnerRef,
    pub handoffs: usize,
}

/// A rep's load in the period under both rule sets, against their daily cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepLoad {
    pub rep: RepId,
    pub name: String,
    /// The daily cap in the current and in the new rules (`None`: not an active rep there).
    pub cap_before: Option<u32>,
    pub cap_after: Option<u32>,
    /// Handoffs assigned to the rep in the period.
    pub total_before: u32,
    pub total_after: u32,
    /// The most the rep got on one local day.
    pub busiest_day_before: u32,
    pub busiest_day_after: u32,
    /// Local days on which the rep reached their cap.
    pub days_at_cap_before: u32,
    pub days_at_cap_after: u32,
}

/// A handoff whose SLA deadline moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaMove {
    pub id: HandoffId,
    pub before: Sla,
    pub after: Sla,
    /// Wall-clock minutes from the old deadline to the new one (negative: sooner).
    pub shift_minutes: i64,
}

/// How often a routing rule matched on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleUse {
    pub name: String,
    /// The rule exists in the current rules / in the new rules.
    pub in_current: bool,
    pub in_new: bool,
    pub before: usize,
    pub after: usize,
}

/// A handoff that lands in a shared or team queue under the new rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FallThrough {
    pub id: HandoffId,
    pub before: OwnerRef,
    pub after: OwnerRef,
}

/// A handoff whose replay under the current rules gives another owner than the record shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub id: HandoffId,
    pub recorded: OwnerRef,
    pub replayed: OwnerRef,
}

/// Two counts: under the current rules and under the new ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BeforeAfter {
    pub before: usize,
    pub after: usize,
}

/// The what-if report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    pub period: Period,
    /// How the replay works ([`METHOD`]).
    pub method: String,
    /// Handoffs routed again.
    pub replayed: usize,
    pub skipped: Skipped,
    /// Handoffs the new rules give to another owner.
    pub owner_changes: usize,
    /// Those changes grouped by old and new owner, most frequent first.
    pub moves: Vec<OwnerMove>,
    /// Every rep of either rule set, in roster order (current rules first).
    pub loads: Vec<RepLoad>,
    /// Handoffs whose SLA deadline moves, in creation order.
    pub sla_moves: Vec<SlaMove>,
    /// Every routing rule of either set: the new rules in order, then rules they removed.
    pub rules: Vec<RuleUse>,
    /// Handoffs no rule matched (the re-qualification role triaged them).
    pub no_rule_matched: BeforeAfter,
    /// Names of the new rules that matched no handoff of the period.
    pub never_matched: Vec<String>,
    /// Handoffs that land in a queue, on each side.
    pub in_a_queue: BeforeAfter,
    /// The handoffs that land in a queue under the new rules.
    pub fall_throughs: Vec<FallThrough>,
    /// Where the replay under the current rules differs from the recorded first owner.
    pub drift: Vec<Drift>,
    /// Every handoff replayed, in creation order.
    pub handoffs: Vec<ReplayedHandoff>,
}

impl Simulation {
    /// The replay of one handoff, if it was replayed.
    pub fn handoff(&self, id: &HandoffId) -> Option<&ReplayedHandoff> {
        self.handoffs.iter().find(|h| &h.id == id)
    }
}

/// Replays the period's `cases` under `current` and `proposed` and compares them. Pure: the
/// same input gives the same report, and nothing is written anywhere.
pub fn simulate(
    cases: &[ReplayCase],
    current: &Rules,
    proposed: &Rules,
    context: &ReplayContext,
    period: Period,
) -> Simulation {
    let mut ordered: Vec<&ReplayCase> = cases.iter().collect();
    ordered.sort_by(|a, b| {
        (a.record.created_at, &a.record.id).cmp(&(b.record.created_at, &b.record.id))
    });
    let mut skipped = Skipped::default();
    let mut before = desk::Desk::new(current, context);
    let mut after = desk::Desk::new(proposed, context);
    let mut handoffs = Vec::new();
    for case in ordered {
        let record = &case.record;
        match routed_state(record) {
            Routed::ClosedWithoutHandoff => skipped.closed_without_handoff += 1,
            Routed::Attached => skipped.attached += 1,
            Routed::NotYet => skipped.not_yet_routed += 1,
            Routed::Yes => {
                let (Some(b), Some(a)) = (
                    before.route(record, case.routed_at),
                    after.route(record, case.routed_at),
                ) else {
                    skipped.not_yet_routed += 1;
                    continue;
                };
                handoffs.push(ReplayedHandoff {
                    id: record.id.clone(),
                    created_at: record.created_at,
                    routed_at: case.routed_at,
                    title: record
                        .package()
                        .map(|p| crate::render::title(&p))
                        .unwrap_or_default(),
                    recorded: recorded(record),
                    before: b,
                    after: a,
                });
            }
        }
    }
    compare::report(
        period,
        skipped,
        handoffs,
        (current, &before),
        (proposed, &after),
    )
}

enum Routed {
    Yes,
    ClosedWithoutHandoff,
    Attached,
    NotYet,
}

/// Whether the record had a first assignment the replay can repeat.
fn routed_state(record: &HandoffRecord) -> Routed {
    match record.state {
        State::ClosedWithoutHandoff => Routed::ClosedWithoutHandoff,
        State::Attached => Routed::Attached,
        State::Received | State::Classified => Routed::NotYet,
        _ if record.owner.is_none() || record.classification.is_none() => Routed::NotYet,
        _ => Routed::Yes,
    }
}

/// The first owner, SLA and trace the record shows.
fn recorded(record: &HandoffRecord) -> Recorded {
    let owner = match record.reassignments.first() {
        Some(first) => OwnerRef {
            rep: first.from.clone(),
            display: first.from_display.clone(),
        },
        None => record.owner.as_ref().map(OwnerRef::of).unwrap_or(OwnerRef {
            rep: None,
            display: String::new(),
        }),
    };
    let first_sla_step = record
        .routing
        .iter()
        .position(|s| s.layer == "sla")
        .map_or(record.routing.len(), |i| i + 1);
    Recorded {
        owner,
        sla: record
            .reassignments
            .is_empty()
            .then(|| record.sla.clone())
            .flatten(),
        trace: record.routing[..first_sla_step].to_vec(),
    }
}
