//! Routing in layers: escalation trigger → role rule → existing owner → account owner → human
//! lane → territory → segment → product line → weighted round robin (caps, working hours, time
//! off) → owner + SLA; and the failover chain (more reps → team lead → shared queue). Every
//! layer appends a [`TraceStep`] saying what it decided and why.
//!
//! Layout, one concept per file:
//! - `condition`: the condition language of routing rules and the facts it reads;
//! - `role`: the first matching routing rule picks the target (role, team or pool) and its role;
//! - `continuity`: keep the owner of an open handoff for the contact, or the account owner;
//! - `layers`: narrow the target's reps by human lane, territory, segment, product line;
//! - `eligibility`: who is active, present, under their cap and working now;
//! - `availability`: the same assessment worded for people (`handoff rep list`);
//! - `round_robin`: weighted fairness among the eligible (deficit counters: no catch-up after
//!   time away, no drift between time zones);
//! - `fairness`: the counters the round robin compares (shares owed, decisions won);
//! - `failover`: the team lead and the shared queue;
//! - `deadline`: the owner record and the SLA on the owner's calendar;
//! - `lint`: rules that can never match, are shadowed, or send to nobody (`rules check`).
//!
//! Routing is pure and deterministic: the same input gives the same decision. Ties rotate
//! through [`RoutingInput::cursor`].

mod availability;
pub mod condition;
mod continuity;
mod deadline;
mod eligibility;
mod failover;
mod fairness;
mod layers;
pub mod lint;
mod role;
mod round_robin;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use crate::config::{Role, Rules};
use crate::ids::{RepId, TeamId};
use crate::package::{Classification, Owner, Sla, TraceStep};
use crate::ports::AvailabilityOverride;
use crate::render::words::{count, possessive};
use chrono::{DateTime, Utc};
use continuity::{Decision, Layer, Situation};
use deadline::SlaTerms;
use eligibility::{AvailabilityInputs, RepStatus, Roster};
use failover::Escalation;
use std::collections::BTreeMap;

pub use availability::{availability_report, Availability, RepAvailability, ScheduledAway, Shift};
pub use condition::RoutingFacts;
pub use deadline::{tightened_sla, HOT_TRIGGERS};
pub use fairness::{FairShare, FairnessCounters, ONE_HANDOFF};

/// Why routing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteMode {
    /// First assignment.
    Initial,
    /// The owner missed the SLA or said "wrong owner": pick the next in the failover chain.
    Failover,
    /// The owner asked for re-qualification: route to the re-qualification role.
    Requalify,
}

/// Everything routing needs; the service gathers it from the ports.
#[derive(Debug, Clone)]
pub struct RoutingInput<'a> {
    /// Rules and roster.
    pub rules: &'a Rules,
    /// What classification decided about the handoff.
    pub classification: &'a Classification,
    /// What routing conditions read: the classification's labels plus the event's form fields,
    /// seats and account context ([`RoutingFacts::of`]).
    pub facts: RoutingFacts,
    /// The routing moment: availability, caps and the SLA clock are judged at this instant.
    pub now: DateTime<Utc>,
    /// First assignment, failover or re-qualification.
    pub mode: RouteMode,
    /// The rep who owned the contact's most recent earlier handoff (an open one attracts new
    /// events instead, so on first assignment this is the owner of a closed one).
    pub existing_owner: Option<RepId>,
    /// The account owner (configured or learned).
    pub account_owner: Option<RepId>,
    /// Handoffs assigned today (rep's local date) by rep; missing = 0.
    pub loads: BTreeMap<RepId, u32>,
    /// Fairness counters of the round robin by rep (shares owed, decisions won); missing = zeros.
    pub fairness: BTreeMap<RepId, FairnessCounters>,
    /// Run-time availability overrides.
    pub overrides: Vec<AvailabilityOverride>,
    /// Reps who already held this handoff and missed it or declined it. On a failover or
    /// re-qualification the `current_owner` is excluded too.
    pub exclude: Vec<RepId>,
    /// The current owner (excluded on a failover or re-qualification).
    pub current_owner: Option<RepId>,
    /// The team the handoff belongs to now ([`Owner::team`]): a failover continues that team's
    /// chain (its `max_reps`, its lead, its queue).
    pub current_team: Option<TeamId>,
    /// Round-robin cursor from an atomic counter, for tie-breaking.
    pub cursor: u64,
    /// How many reps already got it through failover (the first owner does not count); on a
    /// failover, routing tries another rep while this is below the home team's `max_reps`.
    pub failover_attempts: u32,
    /// The handoff already sits with a team lead or a queue: a failover goes on down the chain
    /// (lead, then queue), never back to the reps.
    pub already_escalated: bool,
}

impl<'a> RoutingInput<'a> {
    /// A first assignment at `now` with nothing known yet: no earlier owner, no loads, no
    /// fairness history, no overrides, cursor 0. Callers set what they know on top.
    pub fn first_assignment(
        rules: &'a Rules,
        classification: &'a Classification,
        facts: RoutingFacts,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            rules,
            classification,
            facts,
            now,
            mode: RouteMode::Initial,
            existing_owner: None,
            account_owner: None,
            loads: BTreeMap::new(),
            fairness: BTreeMap::new(),
            overrides: Vec::new(),
            exclude: Vec::new(),
            current_owner: None,
            current_team: None,
            cursor: 0,
            failover_attempts: 0,
            already_escalated: false,
        }
    }
}

/// Where a handoff goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingDecision {
    /// The rep, team lead or shared queue that owns the handoff now.
    pub owner: Owner,
    /// Business minutes and deadline on the owner's calendar.
    pub sla: Sla,
    /// One step per layer, in order, ending with `sla`.
    pub trace: Vec<TraceStep>,
    /// True when it went to a team lead or the shared queue rather than a rep chosen by the layers.
    pub escalated: bool,
    /// What a round-robin decision adds to the fairness counters (the service records it with
    /// the load); `None` when continuity or the failover chain decided.
    pub fair_share: Option<FairShare>,
}

/// Routes a handoff. Pure and deterministic.
///
/// The trace always starts with `escalation` and `rule`, ends with `sla`, and the step before
/// `sla` names the layer that decided (`existing_owner`, `account_owner`, `round_robin` or
/// `failover`).
pub fn route(input: &RoutingInput<'_>) -> RoutingDecision {
    let rules = input.rules;
    let c = input.classification;
    let mut trace = vec![step("escalation", escalation_outcome(c))];
    let role = role::select_role(rules, &input.facts, input.mode);
    let narrowed = layers::narrow(rules, c, role.target);
    trace.push(step(
        "rule",
        format!(
            "{}; {} {} it",
            role.reason,
            count(narrowed.role_pool, "active rep"),
            if narrowed.role_pool == 1 {
                "has"
            } else {
                "have"
            }
        ),
    ));
    let terms = deadline::terms(rules, c, input.mode);
    let excluded = excluded_reps(input);
    let roster = Roster::assess(&AvailabilityInputs {
        rules,
        now: input.now,
        loads: &input.loads,
        overrides: &input.overrides,
        excluded: &excluded,
        sla_minutes: terms.minutes,
    });
    let home_team = failover::home_team(input, role.role, role.target, &narrowed);
    let escalate = |trace: Vec<TraceStep>, why: &str| {
        escalated(input, &roster, home_team, role.role, &terms, trace, why)
    };

    if input.mode == RouteMode::Failover {
        let max = failover::max_reps(rules, home_team);
        if input.already_escalated {
            return escalate(trace, "already escalated; the chain goes on");
        }
        if input.failover_attempts >= max {
            let why = match input.failover_attempts {
                0 => "max_reps is 0: no other rep is tried".to_string(),
                1 => format!("1 more rep already had it; max_reps {max} reached"),
                n => format!("{n} more reps already had it; max_reps {max} reached"),
            };
            return escalate(trace, &why);
        }
        trace.push(step(
            "failover",
            format!(
                "reroute {} of {max}: the same layers without {}",
                input.failover_attempts + 1,
                list_or_none(&excluded)
            ),
        ));
    }

    let situation = Situation {
        mode: input.mode,
        role: role.role,
        lane: c.human_decision,
        pool_working_now: narrowed.reps.iter().any(|r| {
            roster
                .status(&r.id)
                .is_some_and(RepStatus::is_available_now)
        }),
    };
    for (layer, candidate) in [
        (Layer::ExistingOwner, input.existing_owner.as_ref()),
        (Layer::AccountOwner, input.account_owner.as_ref()),
    ] {
        match continuity::consider(layer, candidate, rules, &roster, situation) {
            Decision::Keep(status, why) => {
                trace.push(step(layer.name(), why));
                return assigned(input, status, &terms, trace);
            }
            Decision::Pass(why) => trace.push(step(layer.name(), why)),
        }
    }

    trace.extend(narrowed.steps.iter().cloned());
    match round_robin::choose(&narrowed.reps, &roster, &input.fairness, input.cursor) {
        Ok(choice) => {
            trace.push(step("round_robin", choice.outcome));
            RoutingDecision {
                fair_share: Some(choice.fair_share),
                ..assigned(input, choice.status, &terms, trace)
            }
        }
        Err(why) => {
            trace.push(step("round_robin", why));
            let situation = match input.mode {
                RouteMode::Initial => "nobody in the pool can take it on first assignment",
                RouteMode::Failover => "no other rep in the pool can take it",
                RouteMode::Requalify => "nobody can re-qualify it",
            };
            escalate(trace, situation)
        }
    }
}

/// A trace step.
pub(crate) fn step(layer: &str, outcome: impl Into<String>) -> TraceStep {
    TraceStep {
        layer: layer.to_string(),
        outcome: outcome.into(),
    }
}

fn escalation_outcome(c: &Classification) -> String {
    if c.escalate {
        format!("trigger {}: escalate to a human", c.trigger.phrase())
    } else {
        format!(
            "trigger {}: classification did not escalate, routed on request",
            c.trigger.phrase()
        )
    }
}

/// `exclude`, plus the current owner when they are the reason for rerouting.
fn excluded_reps(input: &RoutingInput<'_>) -> Vec<RepId> {
    let mut excluded = input.exclude.clone();
    if input.mode != RouteMode::Initial {
        if let Some(current) = &input.current_owner {
            if !excluded.contains(current) {
                excluded.push(current.clone());
            }
        }
    }
    excluded
}

fn list_or_none(ids: &[RepId]) -> String {
    if ids.is_empty() {
        "anyone".to_string()
    } else {
        ids.iter().map(RepId::as_str).collect::<Vec<_>>().join(", ")
    }
}

/// The decision for a rep chosen by the layers.
fn assigned(
    input: &RoutingInput<'_>,
    status: &RepStatus<'_>,
    terms: &SlaTerms,
    mut trace: Vec<TraceStep>,
) -> RoutingDecision {
    let owner = deadline::rep_owner(input.rules, status.rep);
    let whose = format!("{} calendar", possessive(&status.rep.name));
    let (sla, sla_step) = deadline::deadline(terms, input.now, &status.calendar(), &whose);
    trace.push(sla_step);
    RoutingDecision {
        owner,
        sla,
        trace,
        escalated: false,
        fair_share: None,
    }
}

/// The decision at the end of the chain: the home team's lead or the shared queue.
fn escalated<'r>(
    input: &RoutingInput<'r>,
    roster: &Roster<'r>,
    home_team: Option<&'r crate::config::Team>,
    role: Role,
    terms: &SlaTerms,
    mut trace: Vec<TraceStep>,
    situation: &str,
) -> RoutingDecision {
    let (escalation, why) = failover::escalate(home_team, roster, role);
    trace.push(step("failover", format!("{situation}: {why}")));
    let owner = failover::owner(input.rules, home_team, &escalation);
    let (sla, sla_step) = match &escalation {
        Escalation::Lead(lead) => {
            let whose = format!("{} calendar", possessive(&lead.rep.name));
            deadline::deadline(terms, input.now, &lead.calendar(), &whose)
        }
        Escalation::Queue(team) => {
            let (calendar, whose) = failover::queue_calendar(input.rules, *team);
            deadline::deadline(terms, input.now, &calendar, &whose)
        }
    };
    trace.push(sla_step);
    RoutingDecision {
        owner,
        sla,
        trace,
        escalated: true,
        fair_share: None,
    }
}
