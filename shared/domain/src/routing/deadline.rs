//! The owner record and the SLA: which minutes apply, and the deadline on the owner's calendar.
//!
//! Minutes, first match wins: a human-only lane → `sla.human_decision_minutes`; a failover or
//! re-qualification reroute → `sla.reroute_minutes`; otherwise the motion's tier, **hot** when the
//! trigger is a meeting, pricing, demo, no-show or review/procurement request, the buyer says the
//! urgency is high, or the enterprise flag is raised, else **standard**.

use super::{step, RouteMode};
use crate::config::{Rep, Rules};
use crate::event::Urgency;
use crate::package::{
    Classification, Motion, MotionFields, Owner, RiskFlag, Sla, TraceStep, TriggerKind,
};
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
            policy: format!("human_decision/{lane}"),
            because: format!("human-only lane {lane}"),
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
                    policy: format!("{}/hot", c.motion),
                    because,
                },
                None => SlaTerms {
                    minutes: tiers.standard,
                    policy: format!("{}/standard", c.motion),
                    because: format!("trigger {} is not urgent", c.trigger),
                },
            }
        }
    }
}

/// Why a handoff is hot, or `None` when it is standard.
pub(crate) fn hot_because(c: &Classification) -> Option<String> {
    if HOT_TRIGGERS.contains(&c.trigger) {
        return Some(format!("trigger {}", c.trigger));
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
        "{} ({}): {} business minutes on {whose} ({}) → due {}",
        terms.policy,
        terms.because,
        terms.minutes,
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
