//! The weekly audit: the six mission metrics, inbound and outbound side by side, the breakdowns
//! a manager acts on, the trend against the week before, and the messy cases to read by hand —
//! computed from handoff records and their timelines (pure; [`gather`] reads them through the
//! store port).
//!
//! - acceptance rate: accepted ÷ handoffs that reached an owner;
//! - time to first human action: minutes from first assignment to the first rep action, as a
//!   distribution (percentiles and histogram buckets, [`figures::Distribution`]);
//! - wrong-owner rate, re-qualification rate: share of owned handoffs with that event;
//! - re-qualification by reply class: the re-qualification rate of owned outbound handoffs per
//!   classifier reply class, so a team sees which labels reps disagree with (see
//!   [`ReplyClassRequalification`]);
//! - CRM field completeness: average share of the contract's fields filled in written packages,
//!   and which of the six contract parts were missing ([`figures::ContractPart`]), per source;
//! - no-show rate: no-show events ÷ meeting events; no-follow-up rate: owned handoffs with no rep
//!   action by the end of the window;
//! - breakdowns per rep, per routing rule, per source and per trigger ([`breakdown`]);
//! - samples of the messy cases ([`messy`]), each with its handoff id.
//!
//! Every set of figures — all handoffs, inbound, outbound, one source, one trigger, the week
//! before — comes from the same [`MissionFigures::compute`]. The top-level rates of
//! [`AuditReport`] (`acceptance_rate`, `median_minutes_to_first_human_action`, …) are the
//! `overall` figures under their original names, kept for the audit function's metrics.
//!
//! An event that joined the buyer's open handoff as a new touch (state `attached`) is no handoff:
//! it is counted apart (`attached`) and in none of the rates; its meetings still count.

pub mod breakdown;
pub mod figures;
pub mod gather;
pub mod messy;

#[cfg(test)]
mod fixture_tests;

pub use breakdown::{RepRow, RuleRow, SliceRow};
pub use figures::{Bucket, ContractPart, Distribution, HandoffFacts, MissionFigures};
pub use messy::{MessyCase, MessyKind};

use crate::config::Rules;
use crate::ids::HandoffId;
use crate::lifecycle::{HandoffRecord, TimelineEntry};
use crate::package::{Motion, ReplyClass, TriggerKind};
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
    /// Messy cases to read by hand, by kind, a few ids each (the ids of `messy_cases`).
    pub samples: BTreeMap<String, Vec<HandoffId>>,
    /// The six metrics over every handoff of the period.
    pub overall: MissionFigures,
    /// The same over inbound handoffs only, and over outbound ones (a handoff not classified
    /// yet is in neither).
    pub inbound: MissionFigures,
    pub outbound: MissionFigures,
    /// Per rep, busiest first.
    pub per_rep: Vec<RepRow>,
    /// Per routing rule, in the rules' order.
    pub per_rule: Vec<RuleRow>,
    /// Per source and per trigger, most handoffs first.
    pub per_source: Vec<SliceRow>,
    pub per_trigger: Vec<SliceRow>,
    /// The messy cases sampled this period, kind by kind, each with why.
    pub messy_cases: Vec<MessyCase>,
    /// The period of the same length just before, computed the same way (`None` when the
    /// caller did not read it).
    pub previous_period: Option<PeriodFigures>,
}

/// The headline figures of one period: the trend's other side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodFigures {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub overall: MissionFigures,
    pub inbound: MissionFigures,
    pub outbound: MissionFigures,
}

impl PeriodFigures {
    fn of(from: DateTime<Utc>, to: DateTime<Utc>, facts: &[HandoffFacts<'_>]) -> Self {
        let motion =
            |m: Motion| MissionFigures::compute(facts.iter().filter(|h| h.motion == Some(m)));
        Self {
            from,
            to,
            overall: MissionFigures::compute(facts),
            inbound: motion(Motion::Inbound),
            outbound: motion(Motion::Outbound),
        }
    }
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

/// What [`AuditReport::build`] computes from.
#[derive(Debug, Clone, Copy)]
pub struct AuditInput<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The handoffs created in `[from, to)` with their timelines.
    pub handoffs: &'a [(HandoffRecord, Vec<TimelineEntry>)],
    /// The handoffs of the period before, for the trend (`None`: no trend).
    pub previous: Option<&'a [(HandoffRecord, Vec<TimelineEntry>)]>,
    /// The rules, for the reps' names and caps and the routing rules' order.
    pub rules: Option<&'a Rules>,
}

/// The reply class the audit breaks re-qualification down by: the classification's, for an
/// outbound handoff. Inbound handoffs (and records not yet classified) have none.
fn outbound_reply_class(record: &HandoffRecord) -> Option<ReplyClass> {
    record
        .classification
        .as_ref()
        .filter(|c| c.motion == Motion::Outbound)
        .and_then(|c| c.reply_class)
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

fn facts_of(handoffs: &[(HandoffRecord, Vec<TimelineEntry>)]) -> Vec<HandoffFacts<'_>> {
    handoffs
        .iter()
        .map(|(r, t)| HandoffFacts::read(r, t))
        .collect()
}

/// Owned outbound handoffs and how many were re-qualified, per reply class.
fn requalification_by_reply_class(
    facts: &[HandoffFacts<'_>],
) -> BTreeMap<ReplyClass, ReplyClassRequalification> {
    let mut by_class: BTreeMap<ReplyClass, (usize, usize)> = BTreeMap::new();
    for h in facts.iter().filter(|h| h.owned && !h.attached) {
        if let Some(class) = outbound_reply_class(h.record) {
            let (n, r) = by_class.entry(class).or_default();
            *n += 1;
            *r += usize::from(h.requalified);
        }
    }
    by_class
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
        .collect()
}

impl AuditReport {
    /// Computes the report over the handoffs created in `[from, to)` and their timelines,
    /// without a trend and without the rules (reps by id, no caps).
    pub fn compute(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        handoffs: &[(HandoffRecord, Vec<TimelineEntry>)],
    ) -> Self {
        Self::build(AuditInput {
            from,
            to,
            handoffs,
            previous: None,
            rules: None,
        })
    }

    /// Computes the whole report.
    pub fn build(input: AuditInput<'_>) -> Self {
        let facts = facts_of(input.handoffs);
        let period = PeriodFigures::of(input.from, input.to, &facts);
        let previous_period = input.previous.map(|previous| {
            let span = input.to - input.from;
            PeriodFigures::of(input.from - span, input.from, &facts_of(previous))
        });
        let messy_cases = messy::sample(&facts);
        let o = &period.overall;
        Self {
            from: input.from,
            to: input.to,
            handoffs: o.handoffs,
            attached: o.attached,
            owned: o.owned,
            closed_without_handoff: o.closed_without_handoff,
            acceptance_rate: o.acceptance_rate,
            median_minutes_to_first_human_action: o.time_to_first_human_action.p50,
            p90_minutes_to_first_human_action: o.time_to_first_human_action.p90,
            wrong_owner_rate: o.wrong_owner_rate,
            requalification_rate: o.requalification_rate,
            requalification_by_reply_class: requalification_by_reply_class(&facts),
            sla_miss_rate: o.sla_miss_rate,
            crm_field_completeness: o.crm_field_completeness,
            no_show_rate: o.no_show_rate,
            no_follow_up_rate: o.no_follow_up_rate,
            samples: messy::ids_by_kind(&messy_cases),
            per_rep: breakdown::per_rep(&facts, input.rules),
            per_rule: breakdown::per_rule(&facts, input.rules),
            per_source: breakdown::per_slice(&facts, |h| h.source()),
            per_trigger: breakdown::per_slice(&facts, |h| h.trigger().to_string()),
            messy_cases,
            previous_period,
            overall: period.overall,
            inbound: period.inbound,
            outbound: period.outbound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::figures::meeting_outcomes;
    use super::*;
    use crate::lifecycle::Actor;

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
