//! Routing in layers: escalation trigger → existing owner → account owner → territory → segment
//! → product line → weighted round robin (caps, working hours, out of office) → owner + SLA;
//! and the failover chain. Every layer is recorded in the trace with why.

use crate::config::Rules;
use crate::ids::RepId;
use crate::package::{Classification, Owner, Sla, TraceStep};
use crate::ports::AvailabilityOverride;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

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
    pub rules: &'a Rules,
    pub classification: &'a Classification,
    pub now: DateTime<Utc>,
    pub mode: RouteMode,
    /// Owner of another open handoff for the same contact (duplicate / channel switch).
    pub existing_owner: Option<RepId>,
    /// The account owner (configured or learned).
    pub account_owner: Option<RepId>,
    /// Handoffs assigned today (rep's local date) by rep; missing = 0.
    pub loads: BTreeMap<RepId, u32>,
    /// Run-time availability overrides.
    pub overrides: Vec<AvailabilityOverride>,
    /// Reps who already held this handoff and missed it or declined it.
    pub exclude: Vec<RepId>,
    /// The current owner (for failover: whose team lead to escalate to).
    pub current_owner: Option<RepId>,
    /// Round-robin cursor from an atomic counter, for tie-breaking.
    pub cursor: u64,
    /// How many reps already missed it through failover (compared to `failover.max_reps`).
    pub failover_attempts: u32,
}

/// Where a handoff goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingDecision {
    pub owner: Owner,
    pub sla: Sla,
    pub trace: Vec<TraceStep>,
    /// True when it went to a team lead or the shared queue rather than a rep chosen by the layers.
    pub escalated: bool,
}

/// Routes a handoff. Pure and deterministic.
pub fn route(input: &RoutingInput<'_>) -> RoutingDecision {
    let _ = input;
    unimplemented!("routing is being written")
}
