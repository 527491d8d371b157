//! The owner record and the SLA: which minutes apply, and the deadline on the owner's calendar.
//!
//! Minutes, first match wins: a human-only lane → `sla.human_decision_minutes`; a failover or
//! re-qualification reroute → `sla.reroute_minutes`; otherwise the motion's tier, **hot** when the
//! trigger is a meeting, pricing, demo, no-show or review/procurement request, the buyer says the
//! urgency is high, or the enterprise flag is raised, else **standard**.
//!
//! A later event of the same buyer that joins an open handoff ([`tightened_sla`]) can only
//! bring the deadline forward: to `now` plus its own minutes on the owner's calendar, when that
//! is earlier than the deadline the handoff has.

use super::{step, RouteMode};
use crate::config::{Rep, Rules};
use crate::event::Urgency;
use crate::ids::RepId;
use crate::package::{
    Classification, Motion, MotionFields, Owner, RiskFlag, Sla, TraceStep, TriggerKind,
};
use crate::render::words::possessive;
use crate::sla::{add_business_minutes, Calendar};
use chrono::{DateTime, Utc};

/// Triggers that make a handoff hot (the motion's `hot` SLA tier).
pub const HOT_TRIGGERS: &[TriggerKind] = &[
    TriggerKind::MeetingBooked,
    TriggerKind::MeetingRequest,
    TriggerKind::PricingRequest,
    TriggerKind::DemoRequest,
    TriggerKind::MeetingNoShow,
    TriggerKind::SecurityReview,
    TriggerKind::LegalReview,
    TriggerKind::ProcurementRequest,
];

/// The SLA minutes that apply and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlaTerms {
    pub minutes: u32,
    /// E.g. `inbound/hot`, `human_decision/pricing`, `reroute/failover`.
    pub policy: String,
    /// Why this policy, for the trace.
    pub because: String,
}

/// The SLA terms of a handoff routed in `mode`.
pub(crate) fn terms(rules: &Rules, c: &Classification, mode: RouteMode) -> SlaTerms {
    let sla = &rules.sla;
    if let Some(lane) = c.human_decision {
        return SlaTerms {
            minutes: sla.human_decision_minutes,
            policy: format!("human_decision/{}", lane.as_str()),
            because: format!("human-only lane {}", lane.phrase()),
        };
    }
    match mode {
        RouteMode::Failover => SlaTerms {
            minutes: sla.reroute_minutes,
            policy: "reroute/failover".into(),
            because: "rerouted after a miss or a wrong-owner report".into(),
        },
        RouteMode::Requalify => SlaTerms {
            minutes: sla.reroute_minutes,
            policy: "reroute/requalify".into(),
            because: "re-qualification requested".into(),
        },
        RouteMode::Initial => {
            let tiers = match c.motion {
                Motion::Inbound => &sla.inbound,
                Motion::Outbound => &sla.outbound,
            };
            match hot_because(c) {
                Some(because) => SlaTerms {
                    minutes: tiers.hot,
                    policy: format!("{}/hot", c.motion.as_str()),
                    because,
                },
                None => SlaTerms {
                    minutes: tiers.standard,
                    policy: format!("{}/standard", c.motion.as_str()),
                    because: format!("trigger {} is not urgent", c.trigger.phrase()),
                },
            }
        }
    }
}

/// Why a handoff is hot, or `None` when it is standard.
pub(crate) fn hot_because(c: &Classification) -> Option<String> {
    if HOT_TRIGGERS.contains(&c.trigger) {
        return Some(format!("trigger {}", c.trigger.phrase()));
    }
    if matches!(
        &c.motion_fields,
        MotionFields::Inbound {
            urgency: Urgency::High,
            ..
        }
    ) {
        return Some("buyer says it is urgent".into());
    }
    c.has_flag(RiskFlag::Enterprise)
        .then(|| "enterprise flag".into())
}

/// The SLA on `calendar`, and its trace step naming whose calendar it is.
pub(crate) fn deadline(
    terms: &SlaTerms,
    now: DateTime<Utc>,
    calendar: &Calendar<'_>,
    whose: &str,
) -> (Sla, TraceStep) {
    let deadline = add_business_minutes(now, terms.minutes, calendar);
    let outcome = format!(
        "{} ({}): {} on {whose} ({}) → due {}",
        crate::render::policy_phrase(&terms.policy),
        terms.because,
        crate::render::words::count(terms.minutes as usize, "business minute"),
        calendar.timezone(),
        deadline.format("%Y-%m-%d %H:%M UTC")
    );
    let sla = Sla {
        business_minutes: terms.minutes,
        deadline,
        policy: terms.policy.clone(),
    };
    (sla, step("sla", outcome))
}

/// The SLA of an open handoff after a later event of the same buyer joined it: the earlier of
/// `current` and `now` plus the new event's minutes (its SLA terms as on a first assignment) on
/// the owner's calendar — the rep's own calendar, or for the shared queue the calendar the
/// queue's SLA runs on. Returns the new SLA and its trace step, or `None` when the deadline
/// would not move earlier (a colder or equally hot event) or the new event does not escalate:
/// a touch never loosens the SLA.
pub fn tightened_sla(
    rules: &Rules,
    owner: &Owner,
    current: &Sla,
    new: &Classification,
    now: DateTime<Utc>,
) -> Option<(Sla, TraceStep)> {
    if !new.escalate {
        return None;
    }
    let terms = terms(rules, new, RouteMode::Initial);
    let rep = owner.rep.as_ref().and_then(|id: &RepId| rules.rep(id));
    let (calendar, whose) = match rep {
        Some(rep) => (
            Calendar::for_rep(rep, rules),
            format!("{} calendar", possessive(&rep.name)),
        ),
        None => super::failover::queue_calendar(rules, rules.team(&owner.team)),
    };
    let (sla, step) = deadline(&terms, now, &calendar, &whose);
    if sla.deadline >= current.deadline {
        return None;
    }
    let outcome = format!(
        "tightened by the buyer's new touch (was due {}): {}",
        current.deadline.format("%Y-%m-%d %H:%M UTC"),
        step.outcome
    );
    Some((sla, TraceStep { outcome, ..step }))
}

/// The owner record of a rep: "Lena Fischer (EMEA Account Executives)".
pub(crate) fn rep_owner(rules: &Rules, rep: &Rep) -> Owner {
    let team = rules
        .team(&rep.team)
        .map_or(rep.team.as_str(), |t| t.name.as_str());
    Owner {
        rep: Some(rep.id.clone()),
        team: rep.team.clone(),
        display: format!("{} ({team})", rep.name),
        notify: rep.notify.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::HumanLane;
    use crate::routing::testing::{classification, example_rules};

    /// Name, motion, trigger, lane, urgency, enterprise flag, mode, minutes, policy.
    type SlaCase<'a> = (
        &'a str,
        Motion,
        TriggerKind,
        Option<HumanLane>,
        Urgency,
        bool,
        RouteMode,
        u32,
        &'a str,
    );

    #[test]
    fn sla_terms_table() {
        let rules = example_rules();
        let set_urgency = |c: &mut Classification, u: Urgency| {
            if let MotionFields::Inbound { urgency, .. } = &mut c.motion_fields {
                *urgency = u;
            }
        };
        let cases: &[SlaCase<'_>] = &[
            (
                "demo request",
                Motion::Inbound,
                TriggerKind::DemoRequest,
                None,
                Urgency::Unknown,
                false,
                RouteMode::Initial,
                30,
                "inbound/hot",
            ),
            (
                "threshold",
                Motion::Inbound,
                TriggerKind::QualificationThreshold,
                None,
                Urgency::Low,
                false,
                RouteMode::Initial,
                120,
                "inbound/standard",
            ),
            (
                "urgent buyer",
                Motion::Inbound,
                TriggerKind::QualificationThreshold,
                None,
                Urgency::High,
                false,
                RouteMode::Initial,
                30,
                "inbound/hot",
            ),
            (
                "enterprise",
                Motion::Inbound,
                TriggerKind::EnterpriseFit,
                None,
                Urgency::Unknown,
                true,
                RouteMode::Initial,
                30,
                "inbound/hot",
            ),
            (
                "outbound meeting",
                Motion::Outbound,
                TriggerKind::MeetingRequest,
                None,
                Urgency::Unknown,
                false,
                RouteMode::Initial,
                60,
                "outbound/hot",
            ),
            (
                "outbound positive",
                Motion::Outbound,
                TriggerKind::PositiveReply,
                None,
                Urgency::Unknown,
                false,
                RouteMode::Initial,
                240,
                "outbound/standard",
            ),
            (
                "human lane",
                Motion::Inbound,
                TriggerKind::PricingRequest,
                Some(HumanLane::Pricing),
                Urgency::Unknown,
                false,
                RouteMode::Initial,
                60,
                "human_decision/pricing",
            ),
            (
                "human lane beats reroute",
                Motion::Inbound,
                TriggerKind::PricingRequest,
                Some(HumanLane::Pricing),
                Urgency::Unknown,
                false,
                RouteMode::Failover,
                60,
                "human_decision/pricing",
            ),
            (
                "failover",
                Motion::Inbound,
                TriggerKind::DemoRequest,
                None,
                Urgency::Unknown,
                false,
                RouteMode::Failover,
                30,
                "reroute/failover",
            ),
            (
                "requalify",
                Motion::Outbound,
                TriggerKind::PositiveReply,
                None,
                Urgency::Unknown,
                false,
                RouteMode::Requalify,
                30,
                "reroute/requalify",
            ),
        ];
        for (name, motion, trigger, lane, urgency, enterprise, mode, minutes, policy) in cases {
            let mut c = classification(*motion, *trigger);
            c.human_decision = *lane;
            set_urgency(&mut c, *urgency);
            if *enterprise {
                c.risk_flags = vec![RiskFlag::Enterprise];
            }
            let t = terms(&rules, &c, *mode);
            assert_eq!(
                (t.minutes, t.policy.as_str()),
                (*minutes, *policy),
                "{name}"
            );
        }
    }

    /// Name, owner (`None`: the shared queue), current deadline, new trigger, lane, escalates,
    /// now, expected new deadline (`None`: unchanged) and policy.
    type TightenCase<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        TriggerKind,
        Option<HumanLane>,
        bool,
        &'a str,
        Option<(&'a str, &'a str)>,
    );

    #[test]
    fn a_touch_tightens_the_sla_and_never_loosens_it() {
        use crate::ids::TeamId;
        use crate::routing::testing::at;
        let rules = example_rules();
        // Wednesday 2026-06-03: Lena (Berlin, 09:00–17:30) works from 07:00 to 15:30 UTC.
        let standard_due = "2026-06-03T11:00:00Z";
        let cases: &[TightenCase<'_>] = &[
            (
                "pricing on a cold lead: now + 30 hot minutes",
                Some("lena"),
                standard_due,
                TriggerKind::PricingRequest,
                None,
                true,
                "2026-06-03T10:00:00Z",
                Some(("2026-06-03T10:30:00Z", "inbound/hot")),
            ),
            (
                "a pricing lane: now + 60 minutes",
                Some("lena"),
                standard_due,
                TriggerKind::PricingRequest,
                Some(HumanLane::Pricing),
                true,
                "2026-06-03T09:30:00Z",
                Some(("2026-06-03T10:30:00Z", "human_decision/pricing")),
            ),
            (
                "hot but late: would be after the current deadline",
                Some("lena"),
                standard_due,
                TriggerKind::DemoRequest,
                None,
                true,
                "2026-06-03T10:45:00Z",
                None,
            ),
            (
                "colder: a standard event never loosens it",
                Some("lena"),
                standard_due,
                TriggerKind::QualificationThreshold,
                None,
                true,
                "2026-06-03T09:05:00Z",
                None,
            ),
            (
                "no escalation: nothing hotter",
                Some("lena"),
                standard_due,
                TriggerKind::PricingRequest,
                None,
                false,
                "2026-06-03T10:00:00Z",
                None,
            ),
            (
                "after hours: the 30 minutes start at Lena's next shift",
                Some("lena"),
                "2026-06-04T09:00:00Z",
                TriggerKind::MeetingRequest,
                None,
                true,
                "2026-06-03T18:00:00Z",
                Some(("2026-06-04T07:30:00Z", "inbound/hot")),
            ),
            (
                "the shared queue: the team's working hours",
                None,
                standard_due,
                TriggerKind::PricingRequest,
                None,
                true,
                "2026-06-03T10:00:00Z",
                Some(("2026-06-03T10:30:00Z", "inbound/hot")),
            ),
        ];
        for (name, owner, current, trigger, lane, escalate, now, expected) in cases {
            let owner = match owner {
                Some(id) => rep_owner(&rules, rules.rep(&rep_id_of(id)).unwrap()),
                None => Owner {
                    rep: None,
                    team: TeamId::parse("emea-ae").unwrap(),
                    display: "shared queue: sales-queue".into(),
                    notify: "slack:#sales-handoffs".into(),
                },
            };
            let current = Sla {
                business_minutes: 120,
                deadline: at(current),
                policy: "inbound/standard".into(),
            };
            let mut c = classification(Motion::Inbound, *trigger);
            c.human_decision = *lane;
            c.escalate = *escalate;
            let got = tightened_sla(&rules, &owner, &current, &c, at(now));
            match (got, expected) {
                (None, None) => {}
                (Some((sla, step)), Some((due, policy))) => {
                    assert_eq!(
                        (sla.deadline, sla.policy.as_str()),
                        (at(due), *policy),
                        "{name}"
                    );
                    assert_eq!(step.layer, "sla", "{name}");
                    assert!(
                        step.outcome
                            .starts_with("tightened by the buyer's new touch"),
                        "{name}: {}",
                        step.outcome
                    );
                }
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    fn rep_id_of(id: &str) -> RepId {
        RepId::parse(id).unwrap()
    }

    #[test]
    fn owner_display_names_rep_and_team() {
        let rules = example_rules();
        let lena = rules.reps.iter().find(|r| r.id.as_str() == "lena").unwrap();
        let owner = rep_owner(&rules, lena);
        assert_eq!(owner.display, "Lena Fischer (EMEA Account Executives)");
        assert_eq!(owner.notify, "slack:@lena");
        assert_eq!(owner.team.as_str(), "emea-ae");
    }
}
