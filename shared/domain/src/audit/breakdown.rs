//! The audit's breakdowns that tell a manager what to fix: per rep (load against the daily cap,
//! acceptance, median minutes to the first action, SLA misses), per routing rule (volume,
//! wrong-owner and re-qualification rates) and per source or trigger (the mission figures of
//! that slice).
//!
//! - A rep *received* a handoff each time a timeline entry made them its owner (a first
//!   assignment, a reroute or an escalation to them as team lead); their *load* on a day is what
//!   they received that day, in their own time zone when the rules know it (UTC otherwise).
//! - A rep *missed the SLA* when the failover sweep took the handoff from them
//!   (`rerouted_sla_missed` or `escalated` by the system while they owned it).
//! - The rule that routed a handoff is the first `rule` step of its routing trace
//!   (`rule "<name>" (…) → …`); "no rule matched" when the re-qualification role triaged it.

use super::figures::{ratio, ContractPart, HandoffFacts, MissionFigures};
use crate::config::Rules;
use crate::ids::RepId;
use crate::lifecycle::Actor;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One rep's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepRow {
    pub rep: RepId,
    /// The rep's name from the rules (the id when the rules no longer list them).
    pub name: String,
    /// Handoffs the rep received (each time they became the owner).
    pub received: usize,
    /// The most the rep received on one day.
    pub busiest_day: usize,
    /// The rep's daily cap (`None` when the rules no longer list them).
    pub daily_cap: Option<u32>,
    /// Days on which the rep received their cap or more.
    pub days_at_cap: usize,
    pub accepted: usize,
    /// `accepted ÷ received`.
    pub acceptance_rate: Option<f64>,
    /// The median minutes from receiving a handoff to the rep's first action on it.
    pub median_minutes_to_first_action: Option<f64>,
    /// Times the failover sweep took a handoff from the rep.
    pub sla_misses: usize,
    /// Times the rep said they were the wrong owner.
    pub wrong_owner: usize,
}

/// One routing rule's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRow {
    /// The rule's name, or "no rule matched".
    pub rule: String,
    /// Owned handoffs the rule routed first.
    pub handoffs: usize,
    pub wrong_owner: usize,
    pub wrong_owner_rate: Option<f64>,
    pub requalified: usize,
    pub requalification_rate: Option<f64>,
}

/// The mission figures of one source or one trigger (from [`MissionFigures::compute`] over the
/// slice; the time to first human action as its median only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceRow {
    /// The source name or the trigger label.
    pub key: String,
    pub handoffs: usize,
    pub attached: usize,
    pub owned: usize,
    pub closed_without_handoff: usize,
    pub accepted: usize,
    pub acceptance_rate: Option<f64>,
    pub median_minutes_to_first_human_action: Option<f64>,
    pub wrong_owner_rate: Option<f64>,
    pub requalification_rate: Option<f64>,
    pub sla_miss_rate: Option<f64>,
    pub no_follow_up_rate: Option<f64>,
    pub crm_written: usize,
    pub crm_field_completeness: Option<f64>,
    /// Of the slice's written packages, how many lacked each contract part.
    pub crm_missing_parts: BTreeMap<ContractPart, usize>,
    pub meetings: usize,
    pub no_shows: usize,
    pub no_show_rate: Option<f64>,
}

impl SliceRow {
    /// The row of `key` from the slice's figures.
    pub fn new(key: String, f: MissionFigures) -> Self {
        Self {
            key,
            handoffs: f.handoffs,
            attached: f.attached,
            owned: f.owned,
            closed_without_handoff: f.closed_without_handoff,
            accepted: f.accepted,
            acceptance_rate: f.acceptance_rate,
            median_minutes_to_first_human_action: f.time_to_first_human_action.p50,
            wrong_owner_rate: f.wrong_owner_rate,
            requalification_rate: f.requalification_rate,
            sla_miss_rate: f.sla_miss_rate,
            no_follow_up_rate: f.no_follow_up_rate,
            crm_written: f.crm_written,
            crm_field_completeness: f.crm_field_completeness,
            crm_missing_parts: f.crm_missing_parts,
            meetings: f.meetings,
            no_shows: f.no_shows,
            no_show_rate: f.no_show_rate,
        }
    }
}

/// What "no routing rule" reads as.
pub const NO_RULE: &str = "no rule matched";

/// The name of the rule that first routed a handoff, from its trace.
pub fn routing_rule(facts: &HandoffFacts<'_>) -> Option<String> {
    let step = facts.record.routing.iter().find(|s| s.layer == "rule")?;
    Some(rule_name(&step.outcome).unwrap_or_else(|| NO_RULE.to_string()))
}

/// The quoted name at the start of a `rule "<name>" …` outcome (quotes escaped with `\`).
fn rule_name(outcome: &str) -> Option<String> {
    let rest = outcome.strip_prefix("rule ")?;
    let (open, close) = match rest.chars().next()? {
        '"' => ('"', '"'),
        '“' => ('“', '”'),
        _ => return None,
    };
    let mut name = String::new();
    let mut chars = rest[open.len_utf8()..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if close == '"' => name.extend(chars.next()),
            c if c == close => return Some(name),
            c => name.push(c),
        }
    }
    None
}

#[derive(Default)]
struct RepTally {
    received_on: BTreeMap<NaiveDate, usize>,
    accepted: usize,
    first_action: Vec<f64>,
    sla_misses: usize,
    wrong_owner: usize,
}

/// The per-rep rows, busiest first (then by id).
pub fn per_rep(facts: &[HandoffFacts<'_>], rules: Option<&Rules>) -> Vec<RepRow> {
    let mut tally: BTreeMap<RepId, RepTally> = BTreeMap::new();
    let day_of = |rep: &RepId, at: DateTime<Utc>| -> NaiveDate {
        rules
            .and_then(|r| r.reps.iter().find(|x| &x.id == rep))
            .map_or(at.date_naive(), |r| {
                at.with_timezone(&r.timezone).date_naive()
            })
    };
    for h in facts.iter().filter(|h| !h.attached) {
        let mut entries: Vec<_> = h.timeline.iter().collect();
        entries.sort_by_key(|e| e.version);
        let mut current: Option<(RepId, DateTime<Utc>, bool)> = None;
        for e in entries {
            if let Actor::Rep(rep) = &e.actor {
                let t = tally.entry(rep.clone()).or_default();
                t.accepted += usize::from(e.event == "accepted");
                t.wrong_owner += usize::from(e.event == "rerouted_wrong_owner");
                if let Some((owner, since, acted)) = &mut current {
                    if owner == rep && !*acted {
                        *acted = true;
                        t.first_action
                            .push((e.at - *since).num_seconds() as f64 / 60.0);
                    }
                }
            }
            let swept = matches!(e.actor, Actor::System(_))
                && (e.event == "rerouted_sla_missed" || e.event == "escalated");
            if let (true, Some((owner, _, _))) = (swept, &current) {
                tally.entry(owner.clone()).or_default().sla_misses += 1;
            }
            let owner_now = current.as_ref().map(|c| &c.0);
            if e.owner.as_ref() != owner_now {
                current = e.owner.clone().map(|rep| {
                    let day = day_of(&rep, e.at);
                    *tally
                        .entry(rep.clone())
                        .or_default()
                        .received_on
                        .entry(day)
                        .or_default() += 1;
                    (rep, e.at, false)
                });
            }
        }
    }
    let mut rows: Vec<RepRow> = tally
        .into_iter()
        .map(|(rep, mut t)| {
            let configured = rules.and_then(|r| r.reps.iter().find(|x| x.id == rep));
            let cap = configured.map(|r| r.daily_cap);
            let received = t.received_on.values().sum();
            t.first_action.sort_by(|a, b| a.total_cmp(b));
            RepRow {
                name: configured.map_or_else(|| rep.to_string(), |r| r.name.clone()),
                received,
                busiest_day: t.received_on.values().copied().max().unwrap_or(0),
                daily_cap: cap,
                days_at_cap: cap.map_or(0, |cap| {
                    t.received_on
                        .values()
                        .filter(|n| **n as u64 >= u64::from(cap))
                        .count()
                }),
                accepted: t.accepted,
                acceptance_rate: ratio(t.accepted, received),
                median_minutes_to_first_action: super::figures::percentile(&t.first_action, 0.5),
                sla_misses: t.sla_misses,
                wrong_owner: t.wrong_owner,
                rep,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.received.cmp(&a.received).then(a.rep.cmp(&b.rep)));
    rows
}

/// The per-rule rows: every rule of `rules` in its order (a rule that routed nothing shows 0),
/// then any other name found in the traces (a rule since renamed or removed, "no rule matched").
pub fn per_rule(facts: &[HandoffFacts<'_>], rules: Option<&Rules>) -> Vec<RuleRow> {
    let mut order: Vec<String> = rules
        .map(|r| r.routing.iter().map(|rule| rule.name.clone()).collect())
        .unwrap_or_default();
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for h in facts.iter().filter(|h| h.owned && !h.attached) {
        let Some(rule) = routing_rule(h) else {
            continue;
        };
        if !order.contains(&rule) {
            order.push(rule.clone());
        }
        let c = counts.entry(rule).or_default();
        c.0 += 1;
        c.1 += usize::from(h.wrong_owner);
        c.2 += usize::from(h.requalified);
    }
    order
        .into_iter()
        .map(|rule| {
            let (n, wrong, requalified) = counts.get(&rule).copied().unwrap_or_default();
            RuleRow {
                rule,
                handoffs: n,
                wrong_owner: wrong,
                wrong_owner_rate: ratio(wrong, n),
                requalified,
                requalification_rate: ratio(requalified, n),
            }
        })
        .collect()
}

/// The mission figures per key (`key_of` each handoff), most handoffs first (then by key).
pub fn per_slice(
    facts: &[HandoffFacts<'_>],
    key_of: impl Fn(&HandoffFacts<'_>) -> String,
) -> Vec<SliceRow> {
    let mut groups: BTreeMap<String, Vec<&HandoffFacts<'_>>> = BTreeMap::new();
    for h in facts {
        groups.entry(key_of(h)).or_default().push(h);
    }
    let mut rows: Vec<SliceRow> = groups
        .into_iter()
        .map(|(key, group)| SliceRow::new(key, MissionFigures::compute(group)))
        .collect();
    rows.sort_by(|a, b| {
        (b.handoffs + b.attached)
            .cmp(&(a.handoffs + a.attached))
            .then(a.key.cmp(&b.key))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_name_is_read_from_the_trace_outcome() {
        for (outcome, name) in [
            (
                r#"rule "inbound EMEA" (inbound; country DE in emea) → team EMEA AEs; 2 active reps have it"#,
                Some("inbound EMEA"),
            ),
            (
                r#"rule "say \"hi\" \\ bye" (any handoff) → role sdr"#,
                Some(r#"say "hi" \ bye"#),
            ),
            (
                "rule “typographic” (any handoff) → role sdr",
                Some("typographic"),
            ),
            (
                "no routing rule matches; the re-qualification role sdr triages it",
                None,
            ),
            (r#"rule "unterminated"#, None),
        ] {
            assert_eq!(rule_name(outcome).as_deref(), name, "{outcome}");
        }
    }

    #[test]
    fn the_rule_is_found_in_a_trace_routing_wrote() {
        use crate::package::{Motion, TriggerKind};
        use crate::routing::testing::{at, classification, example_rules};
        use crate::routing::{route, RoutingFacts, RoutingInput};
        let rules = example_rules();
        let c = classification(Motion::Outbound, TriggerKind::PositiveReply);
        let facts = RoutingFacts::of(&rules, &c, None);
        let decision = route(&RoutingInput::first_assignment(
            &rules,
            &c,
            facts,
            at("2026-11-24T10:00:00Z"),
        ));
        let json = r#"{"type":"email_reply","source":"vera","channel":"email",
            "provider_event_id":"r1","received_at":"2026-11-24T10:00:00Z",
            "buyer":{"email":"dana@acme.example"},"subject":"Re: x","text":"Yes.","thread_id":"t"}"#;
        let event = serde_json::from_str(json).unwrap();
        let (mut record, _) =
            crate::lifecycle::HandoffRecord::received(event, at("2026-11-24T10:00:00Z"));
        record.routing = decision.trace;
        let timeline = [];
        let facts = HandoffFacts::read(&record, &timeline);
        assert_eq!(
            routing_rule(&facts).as_deref(),
            Some("other outbound replies stay with the SDR team")
        );
    }
}
