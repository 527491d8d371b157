//! Weekly audit metrics computed from handoff records and their timelines.
//!
//! - acceptance rate: accepted ÷ handoffs that reached an owner;
//! - time to first human action: minutes from first assignment to the first rep action;
//! - wrong-owner rate, re-qualification rate: share of owned handoffs with that event;
//! - re-qualification by reply class: the re-qualification rate of owned outbound handoffs per
//!   classifier reply class, so a team sees which labels reps disagree with (see
//!   [`ReplyClassRequalification`]);
//! - CRM field completeness: average share of the contract's fields filled in written packages;
//! - no-show rate: no-show events ÷ meeting events; no-follow-up rate: owned handoffs with no rep
//!   action by the end of the window;
//! - samples of the messy cases (ambiguous qualification, duplicates, pricing, enterprise,
//!   angry buyers, channel switches).
//!
//! An event that joined the buyer's open handoff as a new touch (state `attached`) is no handoff:
//! it is counted apart (`attached`) and in none of the rates; its meetings still count.

use crate::event::EventKind;
use crate::ids::HandoffId;
use crate::lifecycle::{Actor, HandoffRecord, State, TimelineEntry};
use crate::package::{Motion, Qualification, ReplyClass, RiskFlag, TriggerKind};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The weekly audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub handoffs: usize,
    /// Events that joined the buyer's open handoff as a new touch instead of opening one (not
    /// in `handoffs`).
    pub attached: usize,
    /// Reached an owner at least once.
    pub owned: usize,
    pub closed_without_handoff: usize,
    pub acceptance_rate: Option<f64>,
    pub median_minutes_to_first_human_action: Option<f64>,
    pub p90_minutes_to_first_human_action: Option<f64>,
    pub wrong_owner_rate: Option<f64>,
    pub requalification_rate: Option<f64>,
    /// The re-qualification rate of owned outbound handoffs, by the classifier's reply class
    /// (serialised as an object keyed by the snake_case label, in declaration order). Only
    /// classes with at least one owned handoff appear; inbound handoffs have no reply class and
    /// are not counted here.
    pub requalification_by_reply_class: BTreeMap<ReplyClass, ReplyClassRequalification>,
    pub sla_miss_rate: Option<f64>,
    pub crm_field_completeness: Option<f64>,
    pub no_show_rate: Option<f64>,
    pub no_follow_up_rate: Option<f64>,
    /// Messy cases to read by hand, by kind, a few ids each.
    pub samples: BTreeMap<String, Vec<HandoffId>>,
}

/// How often reps sent the owned outbound handoffs of one reply class back for
/// re-qualification: a high rate means reps disagree with that label.
///
/// The same rules as the overall `requalification_rate`: a handoff is *owned* once its timeline
/// has an `assigned` entry, and *re-qualified* when it has at least one
/// `requalification_requested` entry — a handoff re-qualified twice counts once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReplyClassRequalification {
    /// Outbound handoffs of this class that reached an owner (never 0 in a report).
    pub owned: usize,
    /// Of those, the handoffs a rep asked to re-qualify.
    pub requalified: usize,
    /// `requalified ÷ owned`.
    pub rate: f64,
}

const SAMPLES_PER_KIND: usize = 3;

/// The reply class the audit breaks re-qualification down by: the classification's, for an
/// outbound handoff. Inbound handoffs (and records not yet classified) have none.
fn outbound_reply_class(record: &HandoffRecord) -> Option<ReplyClass> {
    record
        .classification
        .as_ref()
        .filter(|c| c.motion == Motion::Outbound)
        .and_then(|c| c.reply_class)
}

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
        // reply class → (owned, re-qualified)
        let mut by_reply_class: BTreeMap<ReplyClass, (usize, usize)> = BTreeMap::new();
        let mut sla_missed = 0;
        let mut no_follow_up = 0;
        let mut first_action = Vec::new();
        let mut completeness = Vec::new();
        let mut meetings = 0;
        let mut no_shows = 0;
        let mut samples: BTreeMap<String, Vec<HandoffId>> = BTreeMap::new();
        let mut attached = 0;
        for (record, timeline) in handoffs {
            let (m, n) = meeting_outcomes(record);
            meetings += m;
            no_shows += n;
            if record.state == State::Attached {
                attached += 1;
                continue;
            }
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
            let requalified_here = has("requalification_requested");
            if requalified_here {
                requalified += 1;
            }
            if let Some(class) = outbound_reply_class(record) {
                let (n, r) = by_reply_class.entry(class).or_default();
                *n += 1;
                *r += usize::from(requalified_here);
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
            handoffs: handoffs.len() - attached,
            attached,
            owned,
            closed_without_handoff: closed,
            acceptance_rate: ratio(accepted, owned),
            median_minutes_to_first_human_action: percentile(&first_action, 0.5),
            p90_minutes_to_first_human_action: percentile(&first_action, 0.9),
            wrong_owner_rate: ratio(wrong_owner, owned),
            requalification_rate: ratio(requalified, owned),
            requalification_by_reply_class: by_reply_class
                .into_iter()
                .map(|(class, (owned, requalified))| {
                    let rate = requalified as f64 / owned as f64;
                    let row = ReplyClassRequalification {
                        owned,
                        requalified,
                        rate,
                    };
                    (class, row)
                })
                .collect(),
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
        // An event that joined an open handoff is counted apart, not as a handoff.
        let (mut joined, entry) = HandoffRecord::received(event.clone(), at);
        joined
            .apply(
                crate::lifecycle::Transition::Attach,
                Actor::System("t".into()),
                at,
                "",
            )
            .unwrap();
        let r = AuditReport::compute(at, at, &[(joined, vec![entry])]);
        assert_eq!((r.handoffs, r.attached, r.owned), (0, 1, 0));
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
        assert!(r.requalification_by_reply_class.is_empty());
    }

    mod requalification_by_reply_class {
        use super::*;
        use crate::event::IntakeEvent;
        use crate::ids::RepId;
        use crate::lifecycle::State;
        use crate::package::{Classification, MotionFields, ReplyClass};

        fn t0() -> DateTime<Utc> {
            DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc)
        }

        /// A hand-built classification (the classifier itself is not under test here).
        fn classification(motion: Motion, reply_class: Option<ReplyClass>) -> Classification {
            let mut c = crate::routing::testing::classification(motion, TriggerKind::PositiveReply);
            c.reply_class = reply_class;
            if let MotionFields::Outbound { reply_class: r, .. } = &mut c.motion_fields {
                *r = reply_class.unwrap_or(ReplyClass::Positive);
            }
            c
        }

        /// A record (its own id per `key`) with the given classification.
        fn record(key: &str, classification: Option<Classification>) -> HandoffRecord {
            let json = format!(
                r#"{{"type":"email_reply","source":"vera","channel":"email",
                "provider_event_id":"{key}","received_at":"2026-11-24T10:00:00Z",
                "buyer":{{"email":"dana@acme.example"}},"subject":"Re: forecasting",
                "text":"Tell me more.","thread_id":"t-{key}"}}"#
            );
            let event: IntakeEvent = serde_json::from_str(&json).unwrap();
            let (mut record, _) = HandoffRecord::received(event, t0());
            record.classification = classification;
            record
        }

        fn outbound(key: &str, class: ReplyClass) -> HandoffRecord {
            record(key, Some(classification(Motion::Outbound, Some(class))))
        }

        /// A timeline: `received`, then `assigned` when `owned`, then a rep's
        /// `requalification_requested` `requalifications` times.
        fn timeline(
            record: &HandoffRecord,
            owned: bool,
            requalifications: usize,
        ) -> Vec<TimelineEntry> {
            let rep = RepId::parse("lena").unwrap();
            let entry = |version: u64, event: &str, actor: Actor| TimelineEntry {
                handoff_id: record.id.clone(),
                version,
                at: t0() + chrono::Duration::minutes(version as i64),
                event: event.into(),
                from: None,
                to: State::Received,
                actor,
                owner: None,
                note: String::new(),
            };
            let mut v = vec![entry(1, "received", Actor::System("intake".into()))];
            if owned {
                v.push(entry(2, "assigned", Actor::System("assign".into())));
            }
            for _ in 0..requalifications {
                let version = v.len() as u64 + 1;
                v.push(entry(
                    version,
                    "requalification_requested",
                    Actor::Rep(rep.clone()),
                ));
            }
            v
        }

        fn row(owned: usize, requalified: usize) -> ReplyClassRequalification {
            ReplyClassRequalification {
                owned,
                requalified,
                rate: requalified as f64 / owned as f64,
            }
        }

        fn compute(handoffs: &[(HandoffRecord, Vec<TimelineEntry>)]) -> AuditReport {
            AuditReport::compute(t0(), t0() + chrono::Duration::days(7), handoffs)
        }

        #[test]
        fn each_class_gets_its_owned_requalified_and_rate() {
            let mut handoffs = Vec::new();
            for (i, (class, owned, requalifications)) in [
                (ReplyClass::Positive, true, 0),
                (ReplyClass::Positive, true, 1),
                (ReplyClass::Positive, true, 0),
                (ReplyClass::Positive, true, 0),
                (ReplyClass::Objection, true, 1),
                (ReplyClass::Objection, true, 1),
                (ReplyClass::Referral, true, 0),
            ]
            .into_iter()
            .enumerate()
            {
                let r = outbound(&format!("h{i}"), class);
                let t = timeline(&r, owned, requalifications);
                handoffs.push((r, t));
            }
            let report = compute(&handoffs);
            let expected: BTreeMap<ReplyClass, ReplyClassRequalification> = [
                (ReplyClass::Positive, row(4, 1)),
                (ReplyClass::Referral, row(1, 0)),
                (ReplyClass::Objection, row(2, 2)),
            ]
            .into();
            assert_eq!(report.requalification_by_reply_class, expected);
            assert_eq!(
                report.requalification_by_reply_class[&ReplyClass::Positive].rate,
                0.25
            );
            assert_eq!(
                report.requalification_by_reply_class[&ReplyClass::Objection].rate,
                1.0
            );
            assert_eq!(
                report.requalification_by_reply_class[&ReplyClass::Referral].rate,
                0.0
            );
            // All outbound here: the breakdown adds up to the overall figures.
            assert_eq!(report.owned, 7);
            assert_eq!(report.requalification_rate, Some(3.0 / 7.0));
        }

        #[test]
        fn every_class_and_ownership_case_matches_the_overall_rules() {
            // Every reply class × owned or not × 0, 1 or 2 re-qualification requests, plus an
            // inbound twin of each case; each class's row must match what the overall rate counts.
            let mut handoffs = Vec::new();
            for class in ReplyClass::ALL {
                for owned in [false, true] {
                    for requalifications in 0..=2 {
                        let key = format!("{class}-{owned}-{requalifications}");
                        let r = outbound(&format!("out-{key}"), *class);
                        let t = timeline(&r, owned, requalifications);
                        handoffs.push((r, t));
                        let r = record(
                            &format!("in-{key}"),
                            Some(classification(Motion::Inbound, None)),
                        );
                        let t = timeline(&r, owned, requalifications);
                        handoffs.push((r, t));
                    }
                }
            }
            let report = compute(&handoffs);
            // Per class: owned in three cases (0, 1, 2 requests), re-qualified in two of them.
            let expected: BTreeMap<ReplyClass, ReplyClassRequalification> =
                ReplyClass::ALL.iter().map(|c| (*c, row(3, 2))).collect();
            assert_eq!(report.requalification_by_reply_class, expected);
            let keys: Vec<ReplyClass> = report
                .requalification_by_reply_class
                .keys()
                .copied()
                .collect();
            assert_eq!(
                keys,
                ReplyClass::ALL,
                "one row per class, in declaration order"
            );
            // The overall rate counts the inbound twins too; the breakdown covers exactly the
            // outbound half of it.
            let classes = ReplyClass::ALL.len();
            assert_eq!(report.owned, 2 * 3 * classes);
            assert_eq!(report.requalification_rate, Some(2.0 / 3.0));
            let (owned, requalified) = report
                .requalification_by_reply_class
                .values()
                .fold((0, 0), |(n, r), row| (n + row.owned, r + row.requalified));
            assert_eq!((owned, requalified), (3 * classes, 2 * classes));
        }

        #[test]
        fn a_class_without_an_owned_handoff_is_left_out() {
            // Closed by the automation (never assigned): no row, not a row with no rate.
            let unsubscribe = outbound("u", ReplyClass::Unsubscribe);
            let out_of_office = outbound("o", ReplyClass::OutOfOffice);
            let positive = outbound("p", ReplyClass::Positive);
            let handoffs = [
                (unsubscribe.clone(), timeline(&unsubscribe, false, 0)),
                // A request on a handoff that never reached an owner counts nowhere, as in the
                // overall rate.
                (out_of_office.clone(), timeline(&out_of_office, false, 1)),
                (positive.clone(), timeline(&positive, true, 0)),
            ];
            let report = compute(&handoffs);
            let expected: BTreeMap<ReplyClass, ReplyClassRequalification> =
                [(ReplyClass::Positive, row(1, 0))].into();
            assert_eq!(report.requalification_by_reply_class, expected);
            assert_eq!(report.requalification_rate, Some(0.0));
            assert!(report
                .requalification_by_reply_class
                .values()
                .all(|row| row.owned > 0 && row.rate.is_finite()));
        }

        #[test]
        fn handoffs_without_an_outbound_reply_class_are_not_counted() {
            let inbound = record("in", Some(classification(Motion::Inbound, None)));
            // Not a state the classifier produces, but the breakdown is outbound-only.
            let inbound_with_class = record(
                "in-class",
                Some(classification(Motion::Inbound, Some(ReplyClass::Question))),
            );
            let outbound_without_class =
                record("out-none", Some(classification(Motion::Outbound, None)));
            let unclassified = record("raw", None);
            let handoffs: Vec<_> = [
                inbound,
                inbound_with_class,
                outbound_without_class,
                unclassified,
            ]
            .into_iter()
            .map(|r| {
                let t = timeline(&r, true, 1);
                (r, t)
            })
            .collect();
            let report = compute(&handoffs);
            assert!(
                report.requalification_by_reply_class.is_empty(),
                "{:?}",
                report.requalification_by_reply_class
            );
            // They still count in the overall rate.
            assert_eq!(report.owned, 4);
            assert_eq!(report.requalification_rate, Some(1.0));
        }

        #[test]
        fn a_handoff_requalified_twice_counts_once() {
            let twice = outbound("twice", ReplyClass::Question);
            let never = outbound("never", ReplyClass::Question);
            let handoffs = [
                (twice.clone(), timeline(&twice, true, 2)),
                (never.clone(), timeline(&never, true, 0)),
            ];
            let report = compute(&handoffs);
            assert_eq!(
                report.requalification_by_reply_class[&ReplyClass::Question],
                row(2, 1)
            );
            assert_eq!(report.requalification_rate, Some(0.5));
        }

        #[test]
        fn it_serialises_as_an_object_keyed_by_the_label() {
            let a = outbound("a", ReplyClass::PricingQuestion);
            let b = outbound("b", ReplyClass::NotNow);
            let handoffs = [
                (a.clone(), timeline(&a, true, 1)),
                (b.clone(), timeline(&b, true, 0)),
            ];
            let json = serde_json::to_value(compute(&handoffs)).unwrap();
            assert_eq!(
                json["requalification_by_reply_class"],
                serde_json::json!({
                    "pricing_question": {"owned": 1, "requalified": 1, "rate": 1.0},
                    "not_now": {"owned": 1, "requalified": 0, "rate": 0.0},
                })
            );
            let empty = serde_json::to_value(compute(&[])).unwrap();
            assert_eq!(
                empty["requalification_by_reply_class"],
                serde_json::json!({})
            );
        }
    }
}
