//! Warnings about routing rules for `rules check`: a rule that can never match, a rule shadowed
//! by earlier rules (every handoff it matches is taken first by one of them), and a rule whose
//! target has no active rep outside `failover_only` ones.
//!
//! The first two are decided exactly, without a solver: a condition only compares each
//! attribute with the values and bounds it names, so a handoff's attributes fall into finitely
//! many classes that no rule tells apart. [`samples`] builds one representative handoff per
//! class (every named value, "some other value" and "unknown"; every numeric bound and its
//! neighbours; for a territory one of its countries and an unlisted one; the segment bounds)
//! for the attributes the compared rules mention, keeps the combinations a real handoff can
//! have (a trigger belongs to its motion, only outbound replies have a reply class or a
//! strategic account, only inbound leads have form fields or seats), and evaluates the real
//! condition code on each. When there are too many combinations the check is skipped with a
//! note.

mod samples;
#[cfg(test)]
mod tests;

use super::condition::{rule_condition, RoutingFacts};
use super::role::rule_matches;
use crate::config::{RouteRule, Rules};
use samples::{Mentions, Space};

/// Most representative handoffs one check may evaluate.
pub const MAX_SAMPLES: usize = 200_000;

/// What kind of finding a [`RuleWarning`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// No handoff can meet the rule's conditions.
    NeverMatches,
    /// Every handoff the rule matches is matched by an earlier rule.
    Shadowed,
    /// The rule's target has no active rep outside `failover_only` ones.
    EmptyTarget,
    /// A check was skipped: too many combinations to try (a note, not a problem).
    NotChecked,
}

/// A finding about one routing rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWarning {
    /// The rule's position in `[[routing]]`, from 0 (`config::entry_line` finds its line).
    pub rule: usize,
    pub kind: WarningKind,
    /// A sentence naming the rule.
    pub message: String,
}

/// Every finding about the routing rules, in rule order.
pub fn lint(rules: &Rules) -> Vec<RuleWarning> {
    let mut out = Vec::new();
    for (index, rule) in rules.routing.iter().enumerate() {
        let warn = |kind, message| RuleWarning {
            rule: index,
            kind,
            message,
        };
        if let Some(message) = empty_target(rules, index, rule) {
            out.push(warn(WarningKind::EmptyTarget, message));
        }
        match can_match(rules, rule) {
            Some(true) => {}
            Some(false) => {
                out.push(warn(
                    WarningKind::NeverMatches,
                    format!(
                        "{} can never match: no handoff meets its conditions ({})",
                        name(index, rule),
                        rule_condition(rule).describe()
                    ),
                ));
                continue;
            }
            None => {
                out.push(warn(
                    WarningKind::NotChecked,
                    too_many(index, rule, "whether it can match", "its conditions make"),
                ));
                continue;
            }
        }
        match shadowing_rules(rules, index) {
            Some(Shadow::Reachable) => {}
            Some(Shadow::By(earlier)) => {
                let by: Vec<String> = earlier
                    .iter()
                    .map(|&i| name(i, &rules.routing[i]))
                    .collect();
                out.push(warn(
                    WarningKind::Shadowed,
                    format!(
                        "{} is shadowed: every handoff it matches is taken first by {}",
                        name(index, rule),
                        join_and(&by)
                    ),
                ));
            }
            None => out.push(warn(
                WarningKind::NotChecked,
                too_many(
                    index,
                    rule,
                    "whether earlier rules shadow it",
                    "its conditions and the earlier rules' make",
                ),
            )),
        }
    }
    out
}

/// `rule 3 "name"`.
fn name(index: usize, rule: &RouteRule) -> String {
    format!("rule {} {:?}", index + 1, rule.name)
}

fn too_many(index: usize, rule: &RouteRule, what: &str, whose: &str) -> String {
    format!(
        "{}: not checked {what}; {whose} more than {MAX_SAMPLES} combinations of attribute values",
        name(index, rule)
    )
}

fn join_and(items: &[String]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// The warning for a target nobody can take round robin from.
fn empty_target(rules: &Rules, index: usize, rule: &RouteRule) -> Option<String> {
    let target = rule.target()?;
    if !rules.target_reps(target).is_empty() {
        return None;
    }
    Some(format!(
        "{} sends to {}, which has no active rep that is not failover-only: its handoffs go straight to the failover chain",
        name(index, rule),
        rules.target_text(target)
    ))
}

/// Whether some handoff meets the rule; `None` when there are too many combinations.
fn can_match(rules: &Rules, rule: &RouteRule) -> Option<bool> {
    let space = Space::new(rules, &Mentions::of([rule]))?;
    let mut found = false;
    space.for_each(&mut |facts| {
        found = rule_matches(rule, facts, rules);
        !found
    });
    Some(found)
}

/// Whether earlier rules take every handoff a rule matches.
enum Shadow {
    /// Some handoff reaches the rule.
    Reachable,
    /// Every handoff it matches is taken by these earlier rules (first matches, in order).
    By(Vec<usize>),
}

fn shadowing_rules(rules: &Rules, index: usize) -> Option<Shadow> {
    let rule = &rules.routing[index];
    let earlier = &rules.routing[..index];
    let space = Space::new(rules, &Mentions::of(rules.routing[..=index].iter()))?;
    let mut takers = Vec::new();
    let mut reachable = false;
    space.for_each(&mut |facts: &RoutingFacts| {
        if !rule_matches(rule, facts, rules) {
            return true;
        }
        match earlier.iter().position(|r| rule_matches(r, facts, rules)) {
            Some(i) => {
                if !takers.contains(&i) {
                    takers.push(i);
                }
                true
            }
            None => {
                reachable = true;
                false
            }
        }
    });
    takers.sort_unstable();
    Some(if reachable || takers.is_empty() {
        Shadow::Reachable
    } else {
        Shadow::By(takers)
    })
}
