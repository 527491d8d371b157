//! The report from the two sides of a replay: owner changes grouped from → to, loads against
//! caps, SLA deadlines that move, rule use, queue fall-throughs and drift from the record.

use super::desk::Desk;
use super::{
    BeforeAfter, Drift, FallThrough, OwnerMove, OwnerRef, Period, RepLoad, ReplayedHandoff,
    RuleUse, Simulation, Skipped, SlaMove, METHOD,
};
use crate::config::Rules;
use crate::ids::RepId;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Builds the report; `current` and `proposed` are each rule set with the desk that replayed it.
pub(super) fn report(
    period: Period,
    skipped: Skipped,
    handoffs: Vec<ReplayedHandoff>,
    current: (&Rules, &Desk<'_>),
    proposed: (&Rules, &Desk<'_>),
) -> Simulation {
    let changed: Vec<&ReplayedHandoff> = handoffs.iter().filter(|h| h.owner_changes()).collect();
    let rules = rule_use(&handoffs, current.0, proposed.0);
    let never_matched = rules
        .iter()
        .filter(|r| r.in_new && r.after == 0)
        .map(|r| r.name.clone())
        .collect();
    let count = |f: &dyn Fn(&ReplayedHandoff) -> bool| handoffs.iter().filter(|h| f(h)).count();
    Simulation {
        period,
        method: METHOD.to_string(),
        replayed: handoffs.len(),
        skipped,
        owner_changes: changed.len(),
        moves: moves(&changed),
        loads: loads(current, proposed),
        sla_moves: sla_moves(&handoffs),
        never_matched,
        rules,
        no_rule_matched: BeforeAfter {
            before: count(&|h| h.before.rule.is_none()),
            after: count(&|h| h.after.rule.is_none()),
        },
        in_a_queue: BeforeAfter {
            before: count(&|h| h.before.owner.rep.is_none()),
            after: count(&|h| h.after.owner.rep.is_none()),
        },
        fall_throughs: handoffs
            .iter()
            .filter(|h| h.after.owner.rep.is_none())
            .map(|h| FallThrough {
                id: h.id.clone(),
                before: OwnerRef::of(&h.before.owner),
                after: OwnerRef::of(&h.after.owner),
            })
            .collect(),
        drift: handoffs
            .iter()
            .filter(|h| !h.recorded.owner.same_as(&OwnerRef::of(&h.before.owner)))
            .map(|h| Drift {
                id: h.id.clone(),
                recorded: h.recorded.owner.clone(),
                replayed: OwnerRef::of(&h.before.owner),
            })
            .collect(),
        handoffs,
    }
}

/// Owner changes grouped by (from, to), most frequent first, then by names.
fn moves(changed: &[&ReplayedHandoff]) -> Vec<OwnerMove> {
    let mut grouped: BTreeMap<(String, String), OwnerMove> = BTreeMap::new();
    for h in changed {
        let (from, to) = (OwnerRef::of(&h.before.owner), OwnerRef::of(&h.after.owner));
        let key = (key_of(&from), key_of(&to));
        grouped
            .entry(key)
            .or_insert(OwnerMove {
                from,
                to,
                handoffs: 0,
            })
            .handoffs += 1;
    }
    let mut moves: Vec<OwnerMove> = grouped.into_values().collect();
    moves.sort_by(|a, b| {
        b.handoffs
            .cmp(&a.handoffs)
            .then_with(|| a.from.display.cmp(&b.from.display))
            .then_with(|| a.to.display.cmp(&b.to.display))
    });
    moves
}

/// A grouping key that treats the same rep (or the same queue) as one owner.
fn key_of(owner: &OwnerRef) -> String {
    match &owner.rep {
        Some(rep) => format!("rep {rep}"),
        None => format!("queue {}", owner.display),
    }
}

/// Every rep of either rule set (current roster order, then reps only the new rules have).
fn loads(current: (&Rules, &Desk<'_>), proposed: (&Rules, &Desk<'_>)) -> Vec<RepLoad> {
    let mut reps: Vec<(RepId, String)> = Vec::new();
    for rep in current.0.reps.iter().chain(&proposed.0.reps) {
        if !reps.iter().any(|(id, _)| id == &rep.id) {
            reps.push((rep.id.clone(), rep.name.clone()));
        }
    }
    reps.into_iter()
        .map(|(rep, name)| {
            let cap = |rules: &Rules| rules.rep(&rep).filter(|r| r.active).map(|r| r.daily_cap);
            let (cap_before, cap_after) = (cap(current.0), cap(proposed.0));
            let before = days_of(current.1.loads(), &rep);
            let after = days_of(proposed.1.loads(), &rep);
            let at_cap = |days: &[u32], cap: Option<u32>| {
                cap.map_or(0, |cap| days.iter().filter(|&&n| n >= cap).count() as u32)
            };
            RepLoad {
                name,
                cap_before,
                cap_after,
                total_before: before.iter().sum(),
                total_after: after.iter().sum(),
                busiest_day_before: before.iter().copied().max().unwrap_or(0),
                busiest_day_after: after.iter().copied().max().unwrap_or(0),
                days_at_cap_before: at_cap(&before, cap_before),
                days_at_cap_after: at_cap(&after, cap_after),
                rep,
            }
        })
        .collect()
}

/// One rep's load on each local day they got something.
fn days_of(loads: &BTreeMap<(RepId, NaiveDate), u32>, rep: &RepId) -> Vec<u32> {
    loads
        .iter()
        .filter(|((id, _), _)| id == rep)
        .map(|(_, n)| *n)
        .collect()
}

/// Handoffs whose deadline differs between the sides.
fn sla_moves(handoffs: &[ReplayedHandoff]) -> Vec<SlaMove> {
    handoffs
        .iter()
        .filter(|h| h.before.sla.deadline != h.after.sla.deadline)
        .map(|h| SlaMove {
            id: h.id.clone(),
            shift_minutes: (h.after.sla.deadline - h.before.sla.deadline).num_minutes(),
            before: h.before.sla.clone(),
            after: h.after.sla.clone(),
        })
        .collect()
}

/// The new rules in order, then the rules only the current ones have, with their matches.
fn rule_use(handoffs: &[ReplayedHandoff], current: &Rules, proposed: &Rules) -> Vec<RuleUse> {
    let named = |rules: &Rules, name: &str| rules.routing.iter().any(|r| r.name == name);
    let mut names: Vec<&str> = Vec::new();
    for rule in proposed.routing.iter().chain(&current.routing) {
        if !names.contains(&rule.name.as_str()) {
            names.push(&rule.name);
        }
    }
    names
        .into_iter()
        .map(|name| RuleUse {
            name: name.to_string(),
            in_current: named(current, name),
            in_new: named(proposed, name),
            before: handoffs
                .iter()
                .filter(|h| h.before.rule.as_deref() == Some(name))
                .count(),
            after: handoffs
                .iter()
                .filter(|h| h.after.rule.as_deref() == Some(name))
                .count(),
        })
        .collect()
}
