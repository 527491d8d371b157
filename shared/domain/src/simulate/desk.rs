//! One side of the replay: routes handoff after handoff under one rule set the way the assign
//! stage does (`service/stages.rs::decide_route`), but with the loads, fairness counters,
//! tie-break cursor and earlier owners kept in memory and rebuilt from the start of the period
//! instead of read from (and written to) the store.

use super::{Replay, ReplayContext};
use crate::config::Rules;
use crate::ids::{EmailAddress, RepId};
use crate::lifecycle::HandoffRecord;
use crate::ports::AvailabilityOverride;
use crate::routing::condition::rule_condition;
use crate::routing::{route, FairnessCounters, RoutingFacts, RoutingInput};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// The replay state of one rule set.
pub(super) struct Desk<'r> {
    rules: &'r Rules,
    context: &'r ReplayContext,
    /// The store's overrides, each in force from its `from` or from when it was set.
    overrides: Vec<AvailabilityOverride>,
    /// Handoffs assigned per rep and rep-local day during the replay.
    loads: BTreeMap<(RepId, NaiveDate), u32>,
    fairness: BTreeMap<RepId, FairnessCounters>,
    cursor: u64,
    /// The rep this side gave each contact's latest handoff (seeded with the owners before the
    /// period).
    owners: BTreeMap<EmailAddress, RepId>,
}

impl<'r> Desk<'r> {
    pub(super) fn new(rules: &'r Rules, context: &'r ReplayContext) -> Self {
        let overrides = context
            .overrides
            .iter()
            .cloned()
            .map(|mut o| {
                o.from = o.from.or(Some(o.set_at));
                o
            })
            .collect();
        Self {
            rules,
            context,
            overrides,
            loads: BTreeMap::new(),
            fairness: BTreeMap::new(),
            cursor: 0,
            owners: context.earlier_owners.clone(),
        }
    }

    /// Routes `record`'s first assignment again at `at` and counts it; `None` without a
    /// classification.
    pub(super) fn route(&mut self, record: &HandoffRecord, at: DateTime<Utc>) -> Option<Replay> {
        let rules = self.rules;
        let classification = record.classification.as_ref()?;
        let facts = RoutingFacts::of(rules, classification, Some(&record.event));
        let rule = matched_rule(rules, &facts);
        let active: Vec<_> = rules.reps.iter().filter(|r| r.active).collect();
        let loads = active
            .iter()
            .map(|rep| {
                let day = at.with_timezone(&rep.timezone).date_naive();
                let load = self.loads.get(&(rep.id.clone(), day)).copied();
                (rep.id.clone(), load.unwrap_or(0))
            })
            .collect();
        let fairness = active
            .iter()
            .map(|rep| {
                let counters = self.fairness.get(&rep.id).copied();
                (rep.id.clone(), counters.unwrap_or_default())
            })
            .collect();
        let account_owner = record.company_domain.as_ref().and_then(|domain| {
            rules
                .account(domain)
                .map(|a| a.owner.clone())
                .or_else(|| self.context.learned_account_owners.get(domain).cloned())
        });
        self.cursor += 1;
        let input = RoutingInput {
            existing_owner: self.owners.get(&record.contact_email).cloned(),
            account_owner,
            loads,
            fairness,
            overrides: self.overrides.clone(),
            cursor: self.cursor,
            ..RoutingInput::first_assignment(rules, classification, facts, at)
        };
        let decision = route(&input);
        if let Some(rep) = decision.owner.rep.as_ref().and_then(|id| rules.rep(id)) {
            let day = at.with_timezone(&rep.timezone).date_naive();
            *self.loads.entry((rep.id.clone(), day)).or_default() += 1;
            self.owners
                .insert(record.contact_email.clone(), rep.id.clone());
        }
        if let Some(share) = &decision.fair_share {
            share.apply(&mut self.fairness);
        }
        Some(Replay {
            owner: decision.owner,
            sla: decision.sla,
            rule,
            escalated: decision.escalated,
            trace: decision.trace,
        })
    }

    /// Handoffs assigned per rep and rep-local day so far.
    pub(super) fn loads(&self) -> &BTreeMap<(RepId, NaiveDate), u32> {
        &self.loads
    }
}

/// The routing rule a first assignment uses: the first rule with a target whose conditions
/// all hold (the rule routing's `rule` step names), `None` when no rule matches.
pub(super) fn matched_rule(rules: &Rules, facts: &RoutingFacts) -> Option<String> {
    rules
        .routing
        .iter()
        .find(|rule| {
            rule.target().and_then(|t| rules.target_role(t)).is_some()
                && rule_condition(rule).holds(facts, rules)
        })
        .map(|rule| rule.name.clone())
}
