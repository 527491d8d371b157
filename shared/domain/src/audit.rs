//! Weekly audit metrics computed from handoff records and their timelines.
//!
//! - acceptance rate: accepted ÷ handoffs that reached an owner;
//! - time to first human action: minutes from first assignment to the first rep action;
//! - wrong-owner rate, re-qualification rate: share of owned handoffs with that event;
//! - CRM field completeness: average share of the contract's fields filled in written packages;
//! - no-show rate: no-show events ÷ meeting events; no-follow-up rate: owned handoffs with no rep
//!   action by the end of the window;
//! - samples of the messy cases (ambiguous qualification, duplicates, pricing, enterprise,
//!   angry buyers, channel switches).

use crate::event::EventKind;
use crate::ids::HandoffId;
use crate::lifecycle::{Actor, HandoffRecord, TimelineEntry};
use crate::package::{Qualification, RiskFlag, TriggerKind};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The weekly audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub handoffs: usize,
    /// Reached an owner at least once.
    pub owned: usize,
    pub closed_without_handoff: usize,
    pub acceptance_rate: Option<f64>,
    pub median_minutes_to_first_human_action: Option<f64>,
    pub p90_minutes_to_first_human_action: Option<f64>,
    pub wrong_owner_rate: Option<f64>,
    pub requalification_rate: Option<f64>,
    pub sla_miss_rate: Option<f64>,
    pub crm_field_completeness: Option<f64>,
    pub no_show_rate: Option<f64>,
    pub no_follow_up_rate: Option<f64>,
    /// Messy cases to read by hand, by kind, a few ids each.
    pub samples: BTreeMap<String, Vec<HandoffId>>,
}

const SAMPLES_PER_KIND: usize = 3;

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The share of the six-part contract's CRM fields a written package fills.
pub fn crm_completeness(record: &HandoffRecord) -> Option<f64> {
    let p = record.package()?;
    let c = &p.classification;
    let checks = [
        c.trigger != TriggerKind::None,
        !c.buyer.problem_statement.is_empty(),
        c.buyer.company.is_some() || c.buyer.company_domain.is_some(),
        c.buyer.role.is_some(),
        c.buyer.name.is_some(),
        !c.next_step.detail.is_empty(),
        p.owner.is_some(),
        p.sla.is_some(),
        !p.routing.is_empty(),
    ];
    Some(checks.iter().filter(|x| **x).count() as f64 / checks.len() as f64)
}

/// The meetings a handoff holds and how many of them the buyer missed: its own event plus the
/// meeting updates linked to it, by meeting id. A meeting cancelled (and not missed) leaves the
/// count; a reschedule frees the old slot (a `meeting_moved` update, or the id the new booking
/// `replaces`) and books the new one, so it counts once.
fn meeting_outcomes(record: &HandoffRecord) -> (usize, usize) {
    use std::collections::BTreeSet;
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

impl AuditReport {
    /// Computes the report over the handoffs created in `[from, to)` and their timelines.
    pub fn compute(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        handoffs: &[(HandoffRecord, Vec<TimelineEntry>)],
    ) -> Self {
        let mut owned = 0;
        let mut closed = 0;
        let mut accepted = 0;
        let mut wrong_owner = 0;
        let mut requalified = 0;
        let mut sla_missed = 0;
        let mut no_follow_up = 0;
        let mut first_action = Vec::new();
        let mut completeness = Vec::new();
        let mut meetings = 0;
        let mut no_shows = 0;
        let mut samples: BTreeMap<String, Vec<HandoffId>> = BTreeMap::new();
        for (record, timeline) in handoffs {
            let (m, n) = meeting_outcomes(record);
            meetings += m;
            no_shows += n;
            let has = |label: &str| timeline.iter().any(|e| e.event == label);
            if has("closed_without_handoff") {
                closed += 1;
            }
            let Some(assigned_at) = timeline
                .iter()
                .find(|e| e.event == "assigned")
                .map(|e| e.at)
            else {
                continue;
            };
            owned += 1;
            if has("accepted") {
                accepted += 1;
            }
            if has("rerouted_wrong_owner") {
                wrong_owner += 1;
            }
            if has("requalification_requested") {
                requalified += 1;
            }
            if has("rerouted_sla_missed") || has("escalated") {
                sla_missed += 1;
            }
            match timeline.iter().find(|e| matches!(e.actor, Actor::Rep(_))) {
                Some(e) => first_action.push((e.at - assigned_at).num_seconds() as f64 / 60.0),
                None => no_follow_up += 1,
            }
            if record.crm_ref.is_some() {
                completeness.extend(crm_completeness(record));
            }
            if let Some(c) = &record.classification {
                let mut kinds: Vec<&str> = Vec::new();
                if c.qualification == Qualification::NeedsConfirmation
                    || c.has_flag(RiskFlag::UnclearUseCase)
                {
                    kinds.push("ambiguous_qualification");
                }
                for (flag, kind) in [
                    (RiskFlag::DuplicateRecord, "duplicate_record"),
                    (RiskFlag::Pricing, "pricing_request"),
                    (RiskFlag::Enterprise, "enterprise_account"),
                    (RiskFlag::AngryBuyer, "angry_or_skeptical"),
                    (RiskFlag::ChannelSwitch, "channel_switch"),
                ] {
                    if c.has_flag(flag) {
                        kinds.push(kind);
                    }
                }
                for k in kinds {
                    let v = samples.entry(k.to_string()).or_default();
                    if v.len() < SAMPLES_PER_KIND {
                        v.push(record.id.clone());
                    }
                }
            }
        }
        first_action.sort_by(|a, b| a.total_cmp(b));
        Self {
            from,
            to,
            handoffs: handoffs.len(),
            owned,
            closed_without_handoff: closed,
            acceptance_rate: ratio(accepted, owned),
            median_minutes_to_first_human_action: percentile(&first_action, 0.5),
            p90_minutes_to_first_human_action: percentile(&first_action, 0.9),
            wrong_owner_rate: ratio(wrong_owner, owned),
            requalification_rate: ratio(requalified, owned),
            sla_miss_rate: ratio(sla_missed, owned),
            crm_field_completeness: (!completeness.is_empty())
                .then(|| completeness.iter().sum::<f64>() / completeness.len() as f64),
            no_show_rate: ratio(no_shows, meetings),
            no_follow_up_rate: ratio(no_follow_up, owned),
            samples,
        }
    }
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
    fn linked_meeting_updates_feed_the_no_show_rate() {
        let json = r#"{"source":"calendly","channel":"meeting","provider_event_id":"m-1",
            "received_at":"2026-11-24T10:00:00Z","type":"meeting_booked",
            "buyer":{"email":"dana@acme.com"},"meeting_id":"m1","starts_at":"2026-11-25T10:00:00Z"}"#;
        let event: crate::event::IntakeEvent = serde_json::from_str(json).unwrap();
        let at = event.received_at;
        let (mut booked_then_missed, _) = HandoffRecord::received(event.clone(), at);
        let link = |key: &str, kind: &str, id: &str| crate::lifecycle::LinkedEvent {
            key: key.into(),
            kind: kind.into(),
            meeting_id: Some(id.into()),
            starts_at: None,
            replaces: None,
            at,
        };
        booked_then_missed.link(
            link("a", "meeting_no_show", "m1"),
            Actor::System("t".into()),
            "",
        );
        let (mut rescheduled, _) = HandoffRecord::received(event.clone(), at);
        rescheduled.link(
            link("b", "meeting_moved", "m1"),
            Actor::System("t".into()),
            "",
        );
        rescheduled.link(
            link("c", "meeting_rescheduled", "m2"),
            Actor::System("t".into()),
            "",
        );
        assert_eq!(meeting_outcomes(&booked_then_missed), (1, 1));
        assert_eq!(meeting_outcomes(&rescheduled), (1, 0));
        let r = AuditReport::compute(
            at,
            at,
            &[(booked_then_missed, vec![]), (rescheduled, vec![])],
        );
        assert_eq!(r.no_show_rate, Some(0.5));
    }

    #[test]
    fn empty_week_has_no_rates() {
        let t = Utc::now();
        let r = AuditReport::compute(t, t, &[]);
        assert_eq!(r.acceptance_rate, None);
        assert_eq!(r.handoffs, 0);
    }
}
