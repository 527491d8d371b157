//! Rule selection: the first routing rule whose conditions all hold picks the target (a role,
//! a team or a named pool) and the role routing goes on with; the trace names the rule and, in
//! prose, the conditions that matched.

use super::condition::{rule_condition, RoutingFacts};
use super::RouteMode;
use crate::config::{Role, RouteRule, RuleTarget, Rules};

/// Where a handoff goes, the role continuity and escalation use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleChoice<'r> {
    pub role: Role,
    pub target: RuleTarget<'r>,
    pub reason: String,
}

/// Picks the target: re-qualification requests go to `failover.requalify_role`; otherwise the
/// first matching rule; if no rule matches, the re-qualification role triages it.
pub(crate) fn select_role<'r>(
    rules: &'r Rules,
    facts: &RoutingFacts,
    mode: RouteMode,
) -> RoleChoice<'r> {
    let requalify_role = rules.failover.requalify_role;
    let fallback = |reason: String| RoleChoice {
        role: requalify_role,
        target: RuleTarget::Role(requalify_role),
        reason,
    };
    if mode == RouteMode::Requalify {
        return fallback(format!(
            "re-qualification requested → role {}",
            role_label(requalify_role)
        ));
    }
    let chosen = rules.routing.iter().find_map(|rule| {
        let target = rule.target()?;
        let role = rules.target_role(target)?;
        rule_matches(rule, facts, rules).then_some((rule, target, role))
    });
    match chosen {
        Some((rule, target, role)) => RoleChoice {
            role,
            target,
            reason: format!(
                "rule {:?} ({}) → {}",
                rule.name,
                matched_conditions(rule, facts, rules),
                rules.target_text(target)
            ),
        },
        None => fallback(format!(
            "no routing rule matches; the re-qualification role {} triages it",
            role_label(requalify_role)
        )),
    }
}

/// Whether every condition a rule states holds: its top-level keys and its `when` table (an
/// empty list or `None` states nothing).
pub(crate) fn rule_matches(rule: &RouteRule, facts: &RoutingFacts, rules: &Rules) -> bool {
    rule_condition(rule).holds(facts, rules)
}

/// The conditions of a matching rule, in prose: "inbound; 150 employees, below 200".
fn matched_conditions(rule: &RouteRule, facts: &RoutingFacts, rules: &Rules) -> String {
    let parts = rule_condition(rule).explain(facts, rules);
    if parts.is_empty() {
        "any handoff".to_string()
    } else {
        parts.join("; ")
    }
}

/// A role as a person reads it ("SDR", "AE", "closer").
pub(crate) fn role_label(role: Role) -> String {
    role.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{HumanLane, Motion, Qualification, RiskFlag, TriggerKind};
    use crate::routing::testing::{classification, example_rules};

    fn facts(rules: &Rules, c: &crate::package::Classification) -> RoutingFacts {
        RoutingFacts::of(rules, c, None)
    }

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
                select_role(&rules, &facts(&rules, &c), RouteMode::Initial).role,
                *role,
                "{name}"
            );
            assert_eq!(
                select_role(&rules, &facts(&rules, &c), RouteMode::Failover).role,
                *role,
                "{name} (failover)"
            );
        }
    }

    #[test]
    fn requalification_goes_to_the_requalify_role() {
        let rules = example_rules();
        let c = classification(Motion::Inbound, TriggerKind::DemoRequest);
        let choice = select_role(&rules, &facts(&rules, &c), RouteMode::Requalify);
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
        let choice = select_role(&rules, &facts(&rules, &c), RouteMode::Initial);
        assert_eq!(choice.role, Role::Sdr);
        assert!(
            choice.reason.contains("no routing rule"),
            "{}",
            choice.reason
        );
    }

    fn rule(toml_text: &str) -> RouteRule {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"))
    }

    fn rep_ids(reps: &[&crate::config::Rep]) -> Vec<String> {
        reps.iter().map(|r| r.id.to_string()).collect()
    }

    #[test]
    fn each_target_kind_gives_its_reps_and_role() {
        let mut rules = example_rules();
        rules.routing = vec![
            rule("name = \"campaign\"\npool = \"launch-desk\"\nwhen = { form = { utm_campaign = \"webinar\" } }"),
            rule("name = \"small\"\nteam = \"amer-sdr\"\nwhen = { employees = { below = 200 } }"),
            rule("name = \"big\"\nrole = \"sdr\"\nwhen = { employees = { at_least = 200 } }"),
            rule("name = \"rest\"\nrole = \"closer\""),
        ];
        type Case<'a> = (
            &'a str,
            Option<u32>,
            Option<&'a str>,
            Role,
            &'a str,
            &'a [&'a str],
        );
        let cases: &[Case<'_>] = &[
            // A pool: its listed reps, across teams; the role they share.
            (
                "pool",
                Some(150),
                Some("webinar"),
                Role::Ae,
                "pool Launch desk",
                &["oliver", "riley"],
            ),
            // A team: its active reps, never the failover-only lead (harper).
            (
                "team",
                Some(150),
                None,
                Role::Sdr,
                "team AMER SDRs",
                &["ava", "diego"],
            ),
            // A role: every team of the role, still without failover-only reps.
            (
                "role",
                Some(500),
                None,
                Role::Sdr,
                "role SDR",
                &["jonas", "chloe", "ava", "diego"],
            ),
            (
                "fallthrough",
                None,
                None,
                Role::Closer,
                "role closer",
                &["nadia", "tom"],
            ),
        ];
        for (name, employees, campaign, role, target, reps) in cases {
            let c = {
                let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
                c.buyer.employees = *employees;
                c
            };
            let mut f = facts(&rules, &c);
            if let Some(campaign) = campaign {
                f.form.insert("utm_campaign".into(), campaign.to_string());
            }
            let choice = select_role(&rules, &f, RouteMode::Initial);
            assert_eq!(choice.role, *role, "{name}");
            assert_eq!(rules.target_text(choice.target), *target, "{name}");
            assert!(
                choice.reason.ends_with(&format!("→ {target}")),
                "{name}: {}",
                choice.reason
            );
            assert_eq!(rep_ids(&rules.target_reps(choice.target)), *reps, "{name}");
        }
    }

    #[test]
    fn the_trace_names_the_rule_and_the_conditions_that_matched() {
        let rules = example_rules();
        let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
        c.buyer.country = Some("US".into());
        c.buyer.employees = Some(150);
        let choice = select_role(&rules, &facts(&rules, &c), RouteMode::Initial);
        assert_eq!(
            choice.reason,
            "rule \"inbound from AMER companies under 200 employees goes to the AMER SDRs\" (inbound; 150 employees, below 200; country US in amer) → team AMER SDRs"
        );
        let mut c = classification(Motion::Outbound, TriggerKind::PositiveReply);
        c.reply_class = Some(crate::package::ReplyClass::Positive);
        let choice = select_role(&rules, &facts(&rules, &c), RouteMode::Initial);
        assert_eq!(
            choice.reason,
            "rule \"other outbound replies stay with the SDR team\" (outbound) → role SDR"
        );
    }

    #[test]
    fn the_example_splits_inbound_leads_by_company_size() {
        let rules = example_rules();
        // (country, employees, campaign, the team every rep left by the layers belongs to)
        let cases: &[(&str, u32, Option<&str>, &str)] = &[
            ("US", 150, None, "amer-sdr"),
            ("US", 5000, None, "amer-ae"),
            ("US", 199, None, "amer-sdr"),
            ("US", 200, None, "amer-ae"),
            ("JP", 20, None, "amer-sdr"),
            ("DE", 150, None, "emea-sdr"),
            ("DE", 5000, None, "emea-ae"),
            ("US", 150, Some("spring-launch"), "amer-ae"),
        ];
        for (country, employees, campaign, team) in cases {
            let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
            c.buyer.country = Some(country.to_string());
            c.buyer.employees = Some(*employees);
            let mut f = facts(&rules, &c);
            if let Some(campaign) = campaign {
                f.form.insert("utm_campaign".into(), campaign.to_string());
            }
            let choice = select_role(&rules, &f, RouteMode::Initial);
            let narrowed = crate::routing::layers::narrow(&rules, &c, choice.target);
            assert!(!narrowed.reps.is_empty(), "{country} {employees}");
            for rep in &narrowed.reps {
                assert_eq!(
                    rep.team.as_str(),
                    *team,
                    "{country} {employees}: {}",
                    choice.reason
                );
            }
        }
    }

    #[test]
    fn targets_and_pools_are_checked_naming_the_line_and_key() {
        let example = include_str!("../../../../examples/handoff.toml");
        let marker = "[[routing]]\nname = \"human-only decisions go to the deal desk\"";
        let pool_marker = "[[pools]]\nid = \"launch-desk\"";
        let accounts_marker = "# ---- named accounts";
        // (where to insert, block, key, the line's text, message)
        let cases: &[(&str, &str, &str, &str, &str)] = &[
            (marker, "[[routing]]\nname = \"probe\"\nmotion = \"inbound\"", "name", "name = \"probe\"", "names no target; give exactly one of role, team or pool"),
            (marker, "[[routing]]\nname = \"probe\"\nrole = \"ae\"\nteam = \"amer-ae\"", "team", "team = \"amer-ae\"", "names role and team; give exactly one"),
            (marker, "[[routing]]\nname = \"probe\"\nteam = \"nope\"", "team", "team = \"nope\"", "sends to unknown team \"nope\""),
            (marker, "[[routing]]\nname = \"probe\"\npool = \"nope\"", "pool", "pool = \"nope\"", "sends to unknown pool \"nope\""),
            (marker, "[[routing]]\nname = \"probe\"\nrole = \"ae\"\n[routing.when]\nmotion = \"inbound\"\nterritory = [\"amer\", \"apac\"]", "territory", "territory = [\"amer\", \"apac\"]", "names unknown territory \"apac\""),
            (marker, "[[routing]]\nname = \"probe\"\nrole = \"ae\"\nwhen = { any = [{ product_line = \"hardware\" }] }", "product_line", "when = { any = [{ product_line = \"hardware\" }] }", "names unknown product line \"hardware\""),
            (pool_marker, "[[pools]]\nid = \"leads\"\nname = \"Leads\"\nreps = [\"ava\", \"harper\"]", "reps", "reps = [\"ava\", \"harper\"]", "pool \"leads\" lists failover-only rep \"harper\""),
            (pool_marker, "[[pools]]\nid = \"mixed\"\nname = \"Mixed\"\nreps = [\"ava\", \"sam\"]", "reps", "reps = [\"ava\", \"sam\"]", "pool \"mixed\" mixes roles: \"ava\" is sdr but \"sam\" is ae"),
            (pool_marker, "[[pools]]\nid = \"ghosts\"\nname = \"Ghosts\"\nreps = [\"casper\"]", "reps", "reps = [\"casper\"]", "pool \"ghosts\" names unknown rep \"casper\""),
            (accounts_marker, "[[pools]]\nid = \"launch-desk\"\nname = \"Twice\"\nreps = [\"sam\"]", "id", "id = \"launch-desk\"", "pool \"launch-desk\" is defined twice"),
            (pool_marker, "[[pools]]\nid = \"empty\"\nname = \"Empty\"\nreps = []", "reps", "reps = []", "pool \"empty\" lists no reps"),
        ];
        for (at, block, key, line_text, says) in cases {
            assert!(example.contains(at));
            let text = example.replacen(at, &format!("{block}\n\n{at}"), 1);
            match Rules::from_toml("f.toml", &text) {
                Err(crate::config::RulesError::Invalid {
                    file,
                    line,
                    key: k,
                    message,
                }) => {
                    assert_eq!(file, "f.toml");
                    assert_eq!(k, *key, "{block}: {message}");
                    assert!(message.contains(says), "{block}: {message}");
                    let block_start = text.find(block).unwrap();
                    let in_block = block.lines().position(|l| l == *line_text).unwrap();
                    let expected = text[..block_start].lines().count() + in_block + 1;
                    assert_eq!(line, expected, "{block}: {message}");
                }
                other => panic!("{block}: {other:?}"),
            }
        }
    }
}
