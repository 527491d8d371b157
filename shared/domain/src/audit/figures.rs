//! The six mission metrics for one set of handoffs ([`MissionFigures`]): what the audit shows
//! for all handoffs, for inbound and outbound side by side, for each source and trigger, and for
//! the week before — every time through the same [`MissionFigures::compute`].
//!
//! Each handoff is read once into its [`HandoffFacts`] (owned? accepted? minutes to the first
//! rep action? which contract parts its CRM package lacked? …); the figures only count facts.

use super::crm_completeness;
use crate::event::EventKind;
use crate::lifecycle::{Actor, HandoffRecord, State, TimelineEntry};
use crate::package::{Motion, Qualification, TriggerKind};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The six parts of the handoff contract, as the audit checks them in a written CRM package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractPart {
    /// Why now: missing when the trigger is `none`.
    Trigger,
    /// Who: missing when the name, the company (or its domain), the role or the problem
    /// statement is unknown.
    BuyerContext,
    /// How far qualification got: missing while it still needs confirmation.
    QualificationState,
    /// What the rep does next: missing when the next step has no sentence.
    NextStep,
    /// Who and by when: missing without an owner or an SLA.
    OwnerAndSla,
    /// What could go wrong: always present (an empty list is an answer), listed so the table
    /// shows all six parts.
    RiskFlags,
}

impl ContractPart {
    /// Every part, in the contract's order.
    pub const ALL: [ContractPart; 6] = [
        ContractPart::Trigger,
        ContractPart::BuyerContext,
        ContractPart::QualificationState,
        ContractPart::NextStep,
        ContractPart::OwnerAndSla,
        ContractPart::RiskFlags,
    ];

    /// The stable snake_case label (the JSON key).
    pub fn as_str(self) -> &'static str {
        match self {
            ContractPart::Trigger => "trigger",
            ContractPart::BuyerContext => "buyer_context",
            ContractPart::QualificationState => "qualification_state",
            ContractPart::NextStep => "next_step",
            ContractPart::OwnerAndSla => "owner_and_sla",
            ContractPart::RiskFlags => "risk_flags",
        }
    }

    /// The part as a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            ContractPart::Trigger => "trigger",
            ContractPart::BuyerContext => "buyer context",
            ContractPart::QualificationState => "qualification state",
            ContractPart::NextStep => "next step",
            ContractPart::OwnerAndSla => "owner and SLA",
            ContractPart::RiskFlags => "risk flags",
        }
    }
}

/// The contract parts a record's package lacks (`None` when it has no package yet).
pub fn missing_parts(record: &HandoffRecord) -> Option<Vec<ContractPart>> {
    let p = record.package()?;
    let c = &p.classification;
    let b = &c.buyer;
    let present = |part: ContractPart| match part {
        ContractPart::Trigger => c.trigger != TriggerKind::None,
        ContractPart::BuyerContext => {
            b.name.is_some()
                && (b.company.is_some() || b.company_domain.is_some())
                && b.role.is_some()
                && !b.problem_statement.trim().is_empty()
        }
        ContractPart::QualificationState => c.qualification != Qualification::NeedsConfirmation,
        ContractPart::NextStep => !c.next_step.detail.trim().is_empty(),
        ContractPart::OwnerAndSla => p.owner.is_some() && p.sla.is_some(),
        ContractPart::RiskFlags => true,
    };
    Some(
        ContractPart::ALL
            .into_iter()
            .filter(|part| !present(*part))
            .collect(),
    )
}

/// One histogram bucket of minutes to the first human action: `[from_minutes, to_minutes)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// "under 5 minutes", "1 to 2 hours", "a day or more".
    pub label: String,
    pub from_minutes: u32,
    /// `None` for the last, open-ended bucket.
    pub to_minutes: Option<u32>,
    pub count: usize,
}

/// The bucket bounds in minutes, each with its label.
const BUCKETS: &[(u32, Option<u32>, &str)] = &[
    (0, Some(5), "under 5 minutes"),
    (5, Some(15), "5 to 15 minutes"),
    (15, Some(30), "15 to 30 minutes"),
    (30, Some(60), "30 to 60 minutes"),
    (60, Some(120), "1 to 2 hours"),
    (120, Some(240), "2 to 4 hours"),
    (240, Some(480), "4 to 8 hours"),
    (480, Some(1440), "8 to 24 hours"),
    (1440, None, "a day or more"),
];

/// A distribution of minutes: how many, percentiles (nearest rank), mean, the longest, and
/// fixed histogram buckets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    pub count: usize,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
    pub buckets: Vec<Bucket>,
}

/// The `p` quantile of sorted values by nearest rank.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

impl Distribution {
    /// The distribution of `values` (minutes; negative values count in the first bucket).
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let buckets = BUCKETS
            .iter()
            .map(|(from, to, label)| Bucket {
                label: (*label).to_string(),
                from_minutes: *from,
                to_minutes: *to,
                count: sorted
                    .iter()
                    .filter(|v| {
                        let above = *from == 0 || **v >= f64::from(*from);
                        above && to.is_none_or(|to| **v < f64::from(to))
                    })
                    .count(),
            })
            .collect();
        Self {
            count: sorted.len(),
            mean: (!sorted.is_empty()).then(|| sorted.iter().sum::<f64>() / sorted.len() as f64),
            p50: percentile(&sorted, 0.5),
            p75: percentile(&sorted, 0.75),
            p90: percentile(&sorted, 0.9),
            p95: percentile(&sorted, 0.95),
            max: sorted.last().copied(),
            buckets,
        }
    }
}

/// What the audit needs to know about one handoff, read once from its record and timeline.
#[derive(Debug, Clone)]
pub struct HandoffFacts<'a> {
    pub record: &'a HandoffRecord,
    pub timeline: &'a [TimelineEntry],
    /// Joined an older open handoff as a new touch: counted apart, in no rate.
    pub attached: bool,
    pub closed_without_handoff: bool,
    /// Reached an owner (has an `assigned` entry).
    pub owned: bool,
    pub accepted: bool,
    pub wrong_owner: bool,
    pub requalified: bool,
    pub sla_missed: bool,
    /// Minutes from the first assignment to the first rep action (owned handoffs with one).
    pub minutes_to_first_action: Option<f64>,
    /// The written CRM package's completeness and the contract parts it lacked.
    pub crm: Option<(f64, Vec<ContractPart>)>,
    /// Meetings held and missed (no-shows).
    pub meetings: (usize, usize),
    pub motion: Option<Motion>,
}

impl<'a> HandoffFacts<'a> {
    /// Reads a handoff.
    pub fn read(record: &'a HandoffRecord, timeline: &'a [TimelineEntry]) -> Self {
        let has = |label: &str| timeline.iter().any(|e| e.event == label);
        let assigned_at = timeline
            .iter()
            .find(|e| e.event == "assigned")
            .map(|e| e.at);
        let first_rep_action = timeline
            .iter()
            .find(|e| matches!(e.actor, Actor::Rep(_)))
            .map(|e| e.at);
        let minutes = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_seconds() as f64 / 60.0;
        let crm = record
            .crm_ref
            .as_ref()
            .and_then(|_| Some((crm_completeness(record)?, missing_parts(record)?)));
        Self {
            record,
            timeline,
            attached: record.state == State::Attached,
            closed_without_handoff: has("closed_without_handoff"),
            owned: assigned_at.is_some(),
            accepted: has("accepted"),
            wrong_owner: has("rerouted_wrong_owner"),
            requalified: has("requalification_requested"),
            sla_missed: has("rerouted_sla_missed") || has("escalated"),
            minutes_to_first_action: assigned_at
                .zip(first_rep_action)
                .map(|(a, b)| minutes(a, b)),
            crm,
            meetings: meeting_outcomes(record),
            motion: record.classification.as_ref().map(|c| c.motion),
        }
    }

    /// The trigger label (`unclassified` before classification).
    pub fn trigger(&self) -> &'static str {
        self.record
            .classification
            .as_ref()
            .map_or("unclassified", |c| c.trigger.as_str())
    }

    /// The source that sent the event.
    pub fn source(&self) -> String {
        self.record.event.source.to_string()
    }
}

/// The six mission metrics over a set of handoffs. A rate is `None` when nothing was there to
/// compute it on (no owned handoff, no written package, no meeting).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissionFigures {
    pub handoffs: usize,
    /// Events that joined an open handoff as a new touch (not in `handoffs`).
    pub attached: usize,
    pub owned: usize,
    pub closed_without_handoff: usize,
    pub accepted: usize,
    /// `accepted ÷ owned`.
    pub acceptance_rate: Option<f64>,
    /// Minutes from the first assignment to the first rep action.
    pub time_to_first_human_action: Distribution,
    pub wrong_owner_rate: Option<f64>,
    pub requalification_rate: Option<f64>,
    pub sla_miss_rate: Option<f64>,
    /// Owned handoffs whose package was written to the CRM.
    pub crm_written: usize,
    /// The average share of the contract's CRM fields a written package fills.
    pub crm_field_completeness: Option<f64>,
    /// Of the written packages, how many lacked each contract part (every part listed).
    pub crm_missing_parts: BTreeMap<ContractPart, usize>,
    pub meetings: usize,
    pub no_shows: usize,
    /// `no_shows ÷ meetings`.
    pub no_show_rate: Option<f64>,
    /// Owned handoffs with no rep action by the end of the window, ÷ owned.
    pub no_follow_up_rate: Option<f64>,
}

pub(crate) fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl MissionFigures {
    /// The figures over `facts`.
    pub fn compute<'f, 'a: 'f>(facts: impl IntoIterator<Item = &'f HandoffFacts<'a>>) -> Self {
        let mut f = MissionFigures {
            handoffs: 0,
            attached: 0,
            owned: 0,
            closed_without_handoff: 0,
            accepted: 0,
            acceptance_rate: None,
            time_to_first_human_action: Distribution::of(&[]),
            wrong_owner_rate: None,
            requalification_rate: None,
            sla_miss_rate: None,
            crm_written: 0,
            crm_field_completeness: None,
            crm_missing_parts: ContractPart::ALL.into_iter().map(|p| (p, 0)).collect(),
            meetings: 0,
            no_shows: 0,
            no_show_rate: None,
            no_follow_up_rate: None,
        };
        let (mut wrong, mut requalified, mut missed, mut silent) = (0, 0, 0, 0);
        let mut minutes = Vec::new();
        let mut completeness = Vec::new();
        for h in facts {
            f.meetings += h.meetings.0;
            f.no_shows += h.meetings.1;
            if h.attached {
                f.attached += 1;
                continue;
            }
            f.handoffs += 1;
            f.closed_without_handoff += usize::from(h.closed_without_handoff);
            if !h.owned {
                continue;
            }
            f.owned += 1;
            f.accepted += usize::from(h.accepted);
            wrong += usize::from(h.wrong_owner);
            requalified += usize::from(h.requalified);
            missed += usize::from(h.sla_missed);
            match h.minutes_to_first_action {
                Some(m) => minutes.push(m),
                None => silent += 1,
            }
            if let Some((share, missing)) = &h.crm {
                completeness.push(*share);
                for part in missing {
                    *f.crm_missing_parts.entry(*part).or_default() += 1;
                }
            }
        }
        f.acceptance_rate = ratio(f.accepted, f.owned);
        f.time_to_first_human_action = Distribution::of(&minutes);
        f.wrong_owner_rate = ratio(wrong, f.owned);
        f.requalification_rate = ratio(requalified, f.owned);
        f.sla_miss_rate = ratio(missed, f.owned);
        f.crm_written = completeness.len();
        f.crm_field_completeness = (!completeness.is_empty())
            .then(|| completeness.iter().sum::<f64>() / completeness.len() as f64);
        f.no_show_rate = ratio(f.no_shows, f.meetings);
        f.no_follow_up_rate = ratio(silent, f.owned);
        f
    }
}

/// The meetings a handoff holds and how many of them the buyer missed: its own event plus the
/// meeting updates linked to it, by meeting id. A meeting cancelled (and not missed) leaves the
/// count; a reschedule frees the old slot (a `meeting_moved` update, or the id the new booking
/// `replaces`) and books the new one, so it counts once.
pub(crate) fn meeting_outcomes(record: &HandoffRecord) -> (usize, usize) {
    let mut booked: BTreeSet<&str> = BTreeSet::new();
    let mut cancelled: BTreeSet<&str> = BTreeSet::new();
    let mut missed: BTreeSet<&str> = BTreeSet::new();
    match &record.event.kind {
        EventKind::MeetingBooked(m) => {
            booked.insert(&m.meeting_id);
            cancelled.extend(m.replaces.as_deref());
        }
        EventKind::MeetingCancelled(m) => {
            cancelled.insert(&m.meeting_id);
        }
        EventKind::MeetingNoShow(m) => {
            missed.insert(&m.meeting_id);
        }
        _ => {}
    }
    for l in &record.linked {
        let Some(id) = l.meeting_id.as_deref() else {
            continue;
        };
        cancelled.extend(l.replaces.as_deref());
        match l.kind.as_str() {
            "meeting_booked" | "meeting_rescheduled" => {
                booked.insert(id);
            }
            "meeting_cancelled" | "meeting_moved" => {
                cancelled.insert(id);
            }
            "meeting_no_show" => {
                missed.insert(id);
            }
            _ => {}
        }
    }
    let held = booked
        .iter()
        .filter(|id| !cancelled.contains(*id) || missed.contains(*id))
        .chain(missed.iter().filter(|id| !booked.contains(*id)))
        .count();
    (held, missed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn values_fall_into_the_buckets_by_their_lower_bound() {
        for (minutes, bucket) in [
            (-1.0, "under 5 minutes"),
            (0.0, "under 5 minutes"),
            (4.9, "under 5 minutes"),
            (5.0, "5 to 15 minutes"),
            (59.9, "30 to 60 minutes"),
            (60.0, "1 to 2 hours"),
            (1439.0, "8 to 24 hours"),
            (1440.0, "a day or more"),
            (10_000.0, "a day or more"),
        ] {
            let d = Distribution::of(&[minutes]);
            let hit: Vec<&str> = d
                .buckets
                .iter()
                .filter(|b| b.count == 1)
                .map(|b| b.label.as_str())
                .collect();
            assert_eq!(hit, [bucket], "{minutes} minutes");
        }
    }

    #[test]
    fn a_distribution_has_percentiles_mean_and_max() {
        let d = Distribution::of(&[30.0, 10.0, 20.0, 40.0]);
        assert_eq!(d.count, 4);
        assert_eq!(d.mean, Some(25.0));
        assert_eq!(
            (d.p50, d.p75, d.p90, d.max),
            (Some(20.0), Some(30.0), Some(40.0), Some(40.0))
        );
        assert_eq!(d.buckets.iter().map(|b| b.count).sum::<usize>(), 4);
        let empty = Distribution::of(&[]);
        assert_eq!((empty.count, empty.mean, empty.p50), (0, None, None));
        assert_eq!(empty.buckets.len(), BUCKETS.len());
    }
}
