//! The whole report on a small week whose every figure was computed by hand: inbound and
//! outbound handoffs, an accepted one, a wrong owner, a re-qualification, a failover after a
//! missed SLA, a handoff nobody followed up, one closed by the automation, a touch that joined an
//! open handoff, a meeting the buyer missed — and one handoff the week before, for the trend.
//!
//! Timeline (UTC; the reps' local days are the same days):
//!
//! | id | motion, source, trigger | what happened | first action |
//! |---|---|---|---|
//! | h1 | inbound website demo request, duplicate flag | Mon 10:00 lena, accepts 10:12 | 12 min |
//! | h2 | inbound website pricing request (no role) | Mon 11:00 lena, wrong owner 11:30 → oliver, accepts 12:00 | 30 min |
//! | h3 | outbound vera positive reply, objection | Mon 09:00 jonas, re-qualify 10:00 → chloe | 60 min |
//! | h4 | outbound vera meeting request | Tue 08:00 chloe, SLA missed 08:30 → jonas, accepts 09:30 | 90 min |
//! | h5 | inbound typeform threshold, needs confirmation | Mon 13:00 lena, nothing | — |
//! | h6 | outbound vera, trigger none | closed by the automation | — |
//! | h7 | inbound website demo request | joined h1 as a touch | — |
//! | h8 | inbound calendly meeting booked, no-show | Wed 10:00 oliver, accepts 10:05 | 5 min |
//! | p1 | inbound website demo request (week before) | lena, accepts after 20 min | 20 min |
//!
//! CRM packages were written for h1, h2 and h5.

use super::*;
use crate::event::IntakeEvent;
use crate::ids::{RepId, TeamId};
use crate::lifecycle::{Actor, LinkedEvent, State, TimelineEntry};
use crate::package::{Owner, Qualification, RiskFlag, Sla, TraceStep};
use crate::routing::testing::{at, classification, example_rules};
use serde_json::json;

const QUALIFIED_TO_AE: &str = "qualified inbound leads and booked meetings go to an AE";
const DEAL_DESK: &str = "human-only decisions go to the deal desk";
const CONFIRMED_BY_SDR: &str = "other inbound leads are confirmed by an SDR";
const OUTBOUND_SDR: &str = "other outbound replies stay with the SDR team";

fn rep(id: &str) -> RepId {
    RepId::parse(id).unwrap()
}

/// A handoff with its classification, routed by `rule` (when given) and its timeline built
/// from `(minute offset from created, event, actor, owner after)`.
struct Fixture {
    record: HandoffRecord,
    timeline: Vec<TimelineEntry>,
}

impl Fixture {
    fn new(key: &str, source: &str, created: &str, motion: Motion, trigger: TriggerKind) -> Self {
        let json = if source == "calendly" {
            format!(
                r#"{{"source":"calendly","channel":"meeting","provider_event_id":"{key}",
                "received_at":"{created}","type":"meeting_booked",
                "buyer":{{"email":"dana@acme.com"}},"meeting_id":"m-{key}","starts_at":"2026-11-27T10:00:00Z"}}"#
            )
        } else {
            format!(
                r#"{{"type":"email_reply","source":"{source}","channel":"email",
                "provider_event_id":"{key}","received_at":"{created}",
                "buyer":{{"email":"dana@acme.example"}},"subject":"Re: forecasting",
                "text":"Tell me more.","thread_id":"t-{key}"}}"#
            )
        };
        let event: IntakeEvent = serde_json::from_str(&json).unwrap();
        let (mut record, first) = HandoffRecord::received(event, at(created));
        let mut c = classification(motion, trigger);
        c.buyer.role = Some("Head of RevOps".into());
        record.classification = Some(c);
        Self {
            record,
            timeline: vec![first],
        }
    }

    fn classification(mut self, change: impl FnOnce(&mut crate::package::Classification)) -> Self {
        change(self.record.classification.as_mut().unwrap());
        self
    }

    fn routed_by(mut self, rule: &str, owner: &str) -> Self {
        self.record.routing = vec![
            TraceStep {
                layer: "escalation".into(),
                outcome: "escalates".into(),
            },
            TraceStep {
                layer: "rule".into(),
                outcome: format!("rule {rule:?} (any handoff) → role ae; 3 active reps have it"),
            },
        ];
        self.record.owner = Some(Owner {
            rep: Some(rep(owner)),
            team: TeamId::parse("emea-ae").unwrap(),
            display: owner.into(),
            notify: format!("slack:@{owner}"),
        });
        self.record.sla = Some(Sla {
            business_minutes: 30,
            deadline: self.record.created_at + chrono::Duration::minutes(30),
            policy: "inbound/hot".into(),
        });
        self
    }

    fn crm_written(mut self) -> Self {
        self.record.crm_ref = Some(format!("crm-{}", self.record.id));
        self
    }

    /// A timeline entry `minutes` after creation.
    fn then(mut self, minutes: i64, event: &str, actor: Option<&str>, owner: Option<&str>) -> Self {
        let version = self.timeline.len() as u64 + 1;
        self.timeline.push(TimelineEntry {
            handoff_id: self.record.id.clone(),
            version,
            at: self.record.created_at + chrono::Duration::minutes(minutes),
            event: event.into(),
            from: None,
            to: State::Assigned,
            actor: match actor {
                Some(r) => Actor::Rep(rep(r)),
                None => Actor::System("test".into()),
            },
            owner: owner.map(rep),
            note: String::new(),
        });
        self
    }

    fn done(self) -> (HandoffRecord, Vec<TimelineEntry>) {
        (self.record, self.timeline)
    }
}

fn week() -> Vec<(HandoffRecord, Vec<TimelineEntry>)> {
    use Motion::{Inbound, Outbound};
    let h1 = Fixture::new(
        "h1",
        "website",
        "2026-11-23T10:00:00Z",
        Inbound,
        TriggerKind::DemoRequest,
    )
    .classification(|c| c.risk_flags.push(RiskFlag::DuplicateRecord))
    .routed_by(QUALIFIED_TO_AE, "lena")
    .crm_written()
    .then(0, "assigned", None, Some("lena"))
    .then(12, "accepted", Some("lena"), Some("lena"));
    let h2 = Fixture::new(
        "h2",
        "website",
        "2026-11-23T11:00:00Z",
        Inbound,
        TriggerKind::PricingRequest,
    )
    .classification(|c| {
        c.risk_flags.push(RiskFlag::Pricing);
        c.buyer.role = None;
    })
    .routed_by(DEAL_DESK, "oliver")
    .crm_written()
    .then(0, "assigned", None, Some("lena"))
    .then(30, "rerouted_wrong_owner", Some("lena"), Some("oliver"))
    .then(60, "accepted", Some("oliver"), Some("oliver"));
    let h3 = Fixture::new(
        "h3",
        "vera",
        "2026-11-23T09:00:00Z",
        Outbound,
        TriggerKind::PositiveReply,
    )
    .classification(|c| c.reply_class = Some(ReplyClass::Objection))
    .routed_by(OUTBOUND_SDR, "chloe")
    .then(0, "assigned", None, Some("jonas"))
    .then(
        60,
        "requalification_requested",
        Some("jonas"),
        Some("chloe"),
    );
    let h4 = Fixture::new(
        "h4",
        "vera",
        "2026-11-24T08:00:00Z",
        Outbound,
        TriggerKind::MeetingRequest,
    )
    .classification(|c| c.reply_class = Some(ReplyClass::MeetingRequest))
    .routed_by(OUTBOUND_SDR, "jonas")
    .then(0, "assigned", None, Some("chloe"))
    .then(5, "notified", None, Some("chloe"))
    .then(30, "rerouted_sla_missed", None, Some("jonas"))
    .then(90, "accepted", Some("jonas"), Some("jonas"));
    let h5 = Fixture::new(
        "h5",
        "typeform",
        "2026-11-23T13:00:00Z",
        Inbound,
        TriggerKind::QualificationThreshold,
    )
    .classification(|c| c.qualification = Qualification::NeedsConfirmation)
    .routed_by(CONFIRMED_BY_SDR, "lena")
    .crm_written()
    .then(0, "assigned", None, Some("lena"))
    .then(1, "crm_written", None, Some("lena"));
    let h6 = Fixture::new(
        "h6",
        "vera",
        "2026-11-24T09:00:00Z",
        Outbound,
        TriggerKind::None,
    )
    .classification(|c| c.reply_class = Some(ReplyClass::Unsubscribe))
    .then(0, "classified", None, None)
    .then(0, "closed_without_handoff", None, None);
    let mut h7 = Fixture::new(
        "h7",
        "website",
        "2026-11-23T10:30:00Z",
        Inbound,
        TriggerKind::DemoRequest,
    );
    h7.record.state = State::Attached;
    let mut h8 = Fixture::new(
        "h8",
        "calendly",
        "2026-11-25T10:00:00Z",
        Inbound,
        TriggerKind::MeetingBooked,
    )
    .routed_by(QUALIFIED_TO_AE, "oliver")
    .then(0, "assigned", None, Some("oliver"))
    .then(5, "accepted", Some("oliver"), Some("oliver"));
    h8.record.linked.push(LinkedEvent {
        key: "no-show".into(),
        kind: "meeting_no_show".into(),
        meeting_id: Some("m-h8".into()),
        starts_at: None,
        replaces: None,
        at: at("2026-11-27T10:20:00Z"),
    });
    [h1, h2, h3, h4, h5, h6, h7, h8]
        .into_iter()
        .map(Fixture::done)
        .collect()
}

fn week_before() -> Vec<(HandoffRecord, Vec<TimelineEntry>)> {
    let p1 = Fixture::new(
        "p1",
        "website",
        "2026-11-17T10:00:00Z",
        Motion::Inbound,
        TriggerKind::DemoRequest,
    )
    .routed_by(QUALIFIED_TO_AE, "lena")
    .then(0, "assigned", None, Some("lena"))
    .then(20, "accepted", Some("lena"), Some("lena"));
    vec![p1.done()]
}

fn report() -> AuditReport {
    let mut rules = example_rules();
    // A cap lena reaches on Monday (three handoffs).
    rules
        .reps
        .iter_mut()
        .find(|r| r.id == rep("lena"))
        .unwrap()
        .daily_cap = 3;
    let (handoffs, previous) = (week(), week_before());
    AuditReport::build(AuditInput {
        from: at("2026-11-23T00:00:00Z"),
        to: at("2026-11-30T00:00:00Z"),
        handoffs: &handoffs,
        previous: Some(&previous),
        rules: Some(&rules),
    })
}

fn id(key: &str) -> String {
    week()
        .into_iter()
        .find(|(r, _)| r.event.provider_event_id.to_string() == key)
        .map(|(r, _)| r.id.to_string())
        .unwrap()
}

#[test]
fn the_headline_figures_inbound_and_outbound() {
    let r = report();
    let json = serde_json::to_value(&r).unwrap();
    let pick = |f: &serde_json::Value| {
        json!([
            f["handoffs"],
            f["attached"],
            f["owned"],
            f["closed_without_handoff"],
            f["accepted"],
            f["acceptance_rate"],
            f["wrong_owner_rate"],
            f["requalification_rate"],
            f["sla_miss_rate"],
            f["crm_written"],
            f["no_show_rate"],
            f["no_follow_up_rate"]
        ])
    };
    assert_eq!(
        pick(&json["overall"]),
        json!([
            7,
            1,
            6,
            1,
            4,
            4.0 / 6.0,
            1.0 / 6.0,
            1.0 / 6.0,
            1.0 / 6.0,
            3,
            1.0,
            1.0 / 6.0
        ])
    );
    assert_eq!(
        pick(&json["inbound"]),
        json!([4, 1, 4, 0, 3, 0.75, 0.25, 0.0, 0.0, 3, 1.0, 0.25])
    );
    assert_eq!(
        pick(&json["outbound"]),
        json!([3, 0, 2, 1, 1, 0.5, 0.0, 0.5, 0.5, 0, null, 0.0])
    );
    // h2 lacks a role (8 of 9 fields), h1 and h5 are whole: (1 + 8/9 + 1) / 3.
    let completeness = r.overall.crm_field_completeness.unwrap();
    assert!((completeness - 26.0 / 27.0).abs() < 1e-12, "{completeness}");
    assert_eq!(r.outbound.crm_field_completeness, None);
    assert_eq!(
        json["inbound"]["crm_missing_parts"],
        json!({"trigger": 0, "buyer_context": 1, "qualification_state": 1, "next_step": 0,
               "owner_and_sla": 0, "risk_flags": 0})
    );
    // The original top-level fields are the overall figures.
    assert_eq!(
        (
            r.handoffs,
            r.attached,
            r.owned,
            r.acceptance_rate,
            r.no_follow_up_rate
        ),
        (7, 1, 6, Some(4.0 / 6.0), Some(1.0 / 6.0))
    );
    assert_eq!(r.median_minutes_to_first_human_action, Some(30.0));
    assert_eq!(r.p90_minutes_to_first_human_action, Some(90.0));
}

#[test]
fn time_to_first_human_action_is_a_distribution() {
    let d = report().overall.time_to_first_human_action;
    // [5, 12, 30, 60, 90] minutes.
    assert_eq!(d.count, 5);
    assert_eq!(d.mean, Some(39.4));
    assert_eq!(
        (d.p50, d.p75, d.p90, d.p95, d.max),
        (Some(30.0), Some(60.0), Some(90.0), Some(90.0), Some(90.0))
    );
    let counts: Vec<(&str, usize)> = d
        .buckets
        .iter()
        .map(|b| (b.label.as_str(), b.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("under 5 minutes", 0),
            ("5 to 15 minutes", 2),
            ("15 to 30 minutes", 0),
            ("30 to 60 minutes", 1),
            ("1 to 2 hours", 2),
            ("2 to 4 hours", 0),
            ("4 to 8 hours", 0),
            ("8 to 24 hours", 0),
            ("a day or more", 0),
        ]
    );
    let r = report();
    assert_eq!(r.inbound.time_to_first_human_action.p50, Some(12.0));
    assert_eq!(r.outbound.time_to_first_human_action.p50, Some(60.0));
}

#[test]
fn per_rep_load_against_cap_acceptance_first_action_and_sla_misses() {
    let rows: Vec<_> = report()
        .per_rep
        .into_iter()
        .map(|r| {
            (
                r.rep.to_string(),
                r.received,
                r.busiest_day,
                r.daily_cap,
                r.days_at_cap,
                r.accepted,
                r.median_minutes_to_first_action,
                r.sla_misses,
                r.wrong_owner,
            )
        })
        .collect();
    let row = |id: &str, n, busiest, cap, at_cap, accepted, median, missed, wrong| {
        (
            id.to_string(),
            n,
            busiest,
            Some(cap),
            at_cap,
            accepted,
            median,
            missed,
            wrong,
        )
    };
    assert_eq!(
        rows,
        [
            row("lena", 3, 3, 3, 1, 1, Some(12.0), 0, 1),
            row("chloe", 2, 1, 30, 0, 0, None, 1, 0),
            row("jonas", 2, 1, 30, 0, 1, Some(60.0), 0, 0),
            row("oliver", 2, 1, 15, 0, 2, Some(5.0), 0, 0),
        ]
    );
    let lena = &report().per_rep[0];
    assert_eq!(
        (lena.name.as_str(), lena.acceptance_rate),
        ("Lena Fischer", Some(1.0 / 3.0))
    );
}

#[test]
fn per_rule_volume_wrong_owner_and_requalification() {
    let r = report();
    let used: Vec<_> = r
        .per_rule
        .iter()
        .filter(|row| row.handoffs > 0)
        .map(|row| {
            (
                row.rule.as_str(),
                row.handoffs,
                row.wrong_owner_rate,
                row.requalification_rate,
            )
        })
        .collect();
    assert_eq!(
        used,
        [
            (DEAL_DESK, 1, Some(1.0), Some(0.0)),
            (QUALIFIED_TO_AE, 2, Some(0.0), Some(0.0)),
            (CONFIRMED_BY_SDR, 1, Some(0.0), Some(0.0)),
            (OUTBOUND_SDR, 2, Some(0.0), Some(0.5)),
        ]
    );
    // Every configured rule has a row, in the rules' order; one that routed nothing has no rate.
    assert_eq!(r.per_rule.len(), example_rules().routing.len());
    let idle = r.per_rule.iter().find(|row| row.handoffs == 0).unwrap();
    assert_eq!(idle.wrong_owner_rate, None);
}

#[test]
fn per_source_and_per_trigger() {
    let r = report();
    let sources: Vec<_> = r
        .per_source
        .iter()
        .map(|s| (s.key.as_str(), s.handoffs, s.attached, s.acceptance_rate))
        .collect();
    assert_eq!(
        sources,
        [
            ("vera", 3, 0, Some(0.5)),
            ("website", 2, 1, Some(1.0)),
            ("calendly", 1, 0, Some(1.0)),
            ("typeform", 1, 0, Some(0.0)),
        ]
    );
    let website = &r.per_source[1].crm_missing_parts;
    assert_eq!(website[&ContractPart::BuyerContext], 1);
    let typeform = &r.per_source[3];
    assert_eq!(
        typeform.crm_missing_parts[&ContractPart::QualificationState],
        1
    );
    assert_eq!(typeform.no_follow_up_rate, Some(1.0));
    let triggers: Vec<_> = r
        .per_trigger
        .iter()
        .map(|s| (s.key.as_str(), s.handoffs))
        .collect();
    assert_eq!(
        triggers,
        [
            ("demo_request", 1),
            ("meeting_booked", 1),
            ("meeting_request", 1),
            ("none", 1),
            ("positive_reply", 1),
            ("pricing_request", 1),
            ("qualification_threshold", 1),
        ]
    );
    assert_eq!(r.per_trigger[0].attached, 1, "h7 joined h1");
}

#[test]
fn the_messy_cases_each_with_their_handoff() {
    let r = report();
    let cases: Vec<_> = r
        .messy_cases
        .iter()
        .map(|c| (c.kind.as_str(), c.handoff_id.to_string(), c.why.as_str()))
        .collect();
    assert_eq!(
        cases,
        [
            (
                "ambiguous_qualification",
                id("h5"),
                "qualification needs confirmation"
            ),
            (
                "duplicate_record",
                id("h1"),
                "flagged as a duplicate record"
            ),
            ("pricing_request", id("h2"), "flagged as pricing"),
            ("angry_or_skeptical", id("h3"), "the reply is an objection"),
            ("failover", id("h4"), "rerouted after a missed SLA"),
        ]
    );
    assert_eq!(
        serde_json::to_value(&r.samples).unwrap(),
        json!({
            "ambiguous_qualification": [id("h5")], "duplicate_record": [id("h1")],
            "pricing_request": [id("h2")], "angry_or_skeptical": [id("h3")], "failover": [id("h4")],
        })
    );
}

#[test]
fn the_trend_is_the_week_before_computed_the_same_way() {
    let r = report();
    let before = r.previous_period.expect("a trend");
    assert_eq!(
        (before.from, before.to),
        (at("2026-11-16T00:00:00Z"), at("2026-11-23T00:00:00Z"))
    );
    assert_eq!(before.overall.handoffs, 1);
    assert_eq!(before.overall.acceptance_rate, Some(1.0));
    assert_eq!(before.inbound.time_to_first_human_action.p50, Some(20.0));
    assert_eq!(before.outbound.handoffs, 0);
    assert_eq!(before.outbound.acceptance_rate, None);
    let (handoffs, previous) = (week(), week_before());
    assert_eq!(
        before.overall,
        MissionFigures::compute(&facts_of(&previous)),
        "the same computation"
    );
    assert_eq!(r.overall, MissionFigures::compute(&facts_of(&handoffs)));
}
