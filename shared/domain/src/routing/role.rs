//! Role selection: the first routing rule whose conditions all hold picks the role.

use super::RouteMode;
use crate::config::{Role, RouteRule, Rules};
use crate::package::Classification;

/// The role a handoff goes to and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleChoice {
    pub role: Role,
    pub reason: String,
}

/// Picks the role: re-qualification requests go to `failover.requalify_role`; otherwise the
/// first matching rule; if no rule matches, the re-qualification role triages it.
pub(crate) fn select_role(
    rules: &Rules,
    classification: &Classification,
    mode: RouteMode,
) -> RoleChoice {
    let requalify_role = rules.failover.requalify_role;
    if mode == RouteMode::Requalify {
        return RoleChoice {
            role: requalify_role,
            reason: format!(
                "re-qualification requested → role {}",
                role_label(requalify_role)
            ),
        };
    }
    match rules
        .routing
        .iter()
        .find(|rule| rule_matches(rule, classification))
    {
        Some(rule) => RoleChoice {
            role: rule.role,
            reason: format!("rule {:?} → role {}", rule.name, role_label(rule.role)),
        },
        None => RoleChoice {
            role: requalify_role,
            reason: format!(
                "no routing rule matches; the re-qualification role {} triages it",
                role_label(requalify_role)
            ),
        },
    }
}

/// Whether every condition a rule states holds (an empty list or `None` states nothing).
pub(crate) fn rule_matches(rule: &RouteRule, c: &Classification) -> bool {
    rule.motion.is_none_or(|m| m == c.motion)
        && rule
            .human_decision
            .is_none_or(|wanted| wanted == c.human_decision.is_some())
        && (rule.qualification.is_empty() || rule.qualification.contains(&c.qualification))
        && (rule.triggers.is_empty() || rule.triggers.contains(&c.trigger))
        && (rule.flags.is_empty() || rule.flags.iter().any(|f| c.has_flag(*f)))
}

/// The snake_case name of a role.
pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::Sdr => "sdr",
        Role::Ae => "ae",
        Role::Closer => "closer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{HumanLane, Motion, Qualification, RiskFlag, TriggerKind};
    use crate::routing::testing::{classification, example_rules};

    /// Name, motion, qualification, trigger, flags, lane, expected role.
    type RoleCase<'a> = (
        &'a str,
        Motion,
        Qualification,
        TriggerKind,
        &'a [RiskFlag],
        Option<HumanLane>,
        Role,
    );

    #[test]
    fn the_first_matching_rule_wins() {
        let rules = example_rules();
        let cases: &[RoleCase<'_>] = &[
            (
                "human lane",
                Motion::Inbound,
                Qualification::Qualified,
                TriggerKind::PricingRequest,
                &[],
                Some(HumanLane::Pricing),
                Role::Closer,
            ),
            (
                "qualified inbound",
                Motion::Inbound,
                Qualification::Qualified,
                TriggerKind::DemoRequest,
                &[],
                None,
                Role::Ae,
            ),
            (
                "enterprise flag",
                Motion::Inbound,
                Qualification::NeedsConfirmation,
                TriggerKind::EnterpriseFit,
                &[RiskFlag::Enterprise],
                None,
                Role::Ae,
            ),
            (
                "other inbound",
                Motion::Inbound,
                Qualification::PartiallyQualified,
                TriggerKind::DemoRequest,
                &[RiskFlag::Pricing],
                None,
                Role::Sdr,
            ),
            (
                "outbound meeting request",
                Motion::Outbound,
                Qualification::NeedsConfirmation,
                TriggerKind::MeetingRequest,
                &[],
                None,
                Role::Ae,
            ),
            (
                "outbound positive reply",
                Motion::Outbound,
                Qualification::NeedsConfirmation,
                TriggerKind::PositiveReply,
                &[],
                None,
                Role::Sdr,
            ),
        ];
        for (name, motion, qualification, trigger, flags, lane, role) in cases {
            let mut c = classification(*motion, *trigger);
            c.qualification = *qualification;
            c.risk_flags = flags.to_vec();
            c.human_decision = *lane;
            assert_eq!(
                select_role(&rules, &c, RouteMode::Initial).role,
                *role,
                "{name}"
            );
            assert_eq!(
                select_role(&rules, &c, RouteMode::Failover).role,
                *role,
                "{name} (failover)"
            );
        }
    }

    #[test]
    fn requalification_goes_to_the_requalify_role() {
        let rules = example_rules();
        let c = classification(Motion::Inbound, TriggerKind::DemoRequest);
        let choice = select_role(&rules, &c, RouteMode::Requalify);
        assert_eq!(choice.role, Role::Sdr);
        assert!(
            choice.reason.contains("re-qualification"),
            "{}",
            choice.reason
        );
    }

    #[test]
    fn no_match_falls_back_to_the_requalify_role() {
        let mut rules = example_rules();
        rules.routing.retain(|r| r.motion != Some(Motion::Outbound));
        let c = classification(Motion::Outbound, TriggerKind::PositiveReply);
        let choice = select_role(&rules, &c, RouteMode::Initial);
        assert_eq!(choice.role, Role::Sdr);
        assert!(
            choice.reason.contains("no routing rule"),
            "{}",
            choice.reason
        );
    }
}
