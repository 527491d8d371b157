//! The failover chain after the reps: the team lead, then the team's (or the shared) queue.
//!
//! A failover first tries more reps through the same layers, never one who already held it, for
//! up to `max_reps` reps (the home team's `max_reps`, else `failover.max_reps`; the first owner
//! does not count). Routing reaches this module when that budget is used up, or when no rep in
//! the pool can take the handoff (everyone excluded, away or capped).
//!
//! - **Home team**: on a failover, the team the handoff belongs to now (its owner's team: an
//!   escalation keeps the team it was escalated for, so a lead who misses it hands it to that
//!   team's queue); otherwise the team a rule targets (`team = …`), else the team of the first
//!   rep left by the layers (or the first team of the role).
//! - **Team lead** of the home team, unless the lead is inactive, excluded (already held it),
//!   away or on time off. A lead may be `failover_only`: in no round-robin pool, reached only
//!   here. Working hours and daily caps do not apply to a lead: their SLA simply starts at their
//!   next working moment.
//! - **Queue** otherwise: no rep, the home team, the team's own `queue` / `queue_notify` when it
//!   has them, else `failover.shared_queue` / `shared_queue_notify`. Its SLA runs on the working
//!   hours and time zone of the home team's first active rep, with org holidays but without that
//!   rep's personal time off (the queue is watched by the team, not by them); a team without
//!   active reps gets a 24×7 UTC calendar.

use super::deadline::rep_owner;
use super::eligibility::{RepStatus, Roster};
use super::layers::Narrowed;
use super::role::role_label;
use super::RoutingInput;
use crate::config::{Role, RuleTarget, Rules, Team};
use crate::ids::TeamId;
use crate::package::Owner;
use crate::render::words::possessive;
use crate::sla::Calendar;

/// Where an escalation lands.
#[derive(Debug, Clone)]
pub(crate) enum Escalation<'s, 'r> {
    /// The home team's lead.
    Lead(&'s RepStatus<'r>),
    /// The shared queue, on behalf of a team.
    Queue(Option<&'r Team>),
}

/// The team an escalation belongs to (see the module docs).
pub(crate) fn home_team<'r>(
    input: &RoutingInput<'r>,
    role: Role,
    target: RuleTarget<'_>,
    narrowed: &Narrowed<'r>,
) -> Option<&'r Team> {
    let rules = input.rules;
    let current_team = match input.mode {
        super::RouteMode::Failover => input
            .current_team
            .as_ref()
            .and_then(|id| rules.team(id))
            .or_else(|| {
                input
                    .current_owner
                    .as_ref()
                    .and_then(|id| rules.rep(id))
                    .and_then(|rep| rules.team(&rep.team))
            }),
        _ => None,
    };
    let target_team = match target {
        RuleTarget::Team(id) => rules.team(id),
        RuleTarget::Role(_) | RuleTarget::Pool(_) => None,
    };
    current_team
        .or(target_team)
        .or_else(|| narrowed.reps.first().and_then(|rep| rules.team(&rep.team)))
        .or_else(|| rules.teams.iter().find(|t| t.role == role))
}

/// How many more reps a failover tries before the lead: the home team's `max_reps`, else the
/// global one.
pub(crate) fn max_reps(rules: &Rules, team: Option<&Team>) -> u32 {
    team.and_then(|t| t.max_reps)
        .unwrap_or(rules.failover.max_reps)
}

/// The lead of `team` if they can take it, else the queue; with the trace line.
pub(crate) fn escalate<'s, 'r>(
    team: Option<&'r Team>,
    roster: &'s Roster<'r>,
    role: Role,
) -> (Escalation<'s, 'r>, String) {
    let Some(team) = team else {
        return (
            Escalation::Queue(None),
            format!("no team has role {}; the shared queue", role_label(role)),
        );
    };
    let Some(lead_id) = &team.lead else {
        return (
            Escalation::Queue(Some(team)),
            format!("{} has no team lead; {}", team.name, queue_phrase(team)),
        );
    };
    match roster.status(lead_id) {
        Some(lead) if lead.can_lead() => (
            Escalation::Lead(lead),
            format!("escalated to {lead_id}, lead of {}", team.name),
        ),
        Some(lead) => {
            let why = lead
                .blocked
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            (
                Escalation::Queue(Some(team)),
                format!(
                    "{} lead {lead_id} is unavailable ({why}); {}",
                    possessive(&team.name),
                    queue_phrase(team)
                ),
            )
        }
        None => (
            Escalation::Queue(Some(team)),
            format!(
                "{} lead {lead_id} is not in the roster; {}",
                possessive(&team.name),
                queue_phrase(team)
            ),
        ),
    }
}

/// "the team's queue emea-queue" or "the shared queue".
fn queue_phrase(team: &Team) -> String {
    match &team.queue {
        Some(q) => format!("the team's queue {q}"),
        None => "the shared queue".to_string(),
    }
}

/// The owner record of an escalation. A lead owns it on behalf of the home team (the owner's
/// team is the home team, so the chain continues there if the lead misses it too).
pub(crate) fn owner(
    rules: &Rules,
    home_team: Option<&Team>,
    escalation: &Escalation<'_, '_>,
) -> Owner {
    match escalation {
        Escalation::Lead(lead) => {
            let mut owner = rep_owner(rules, lead.rep);
            if let Some(team) = home_team {
                owner.team = team.id.clone();
                owner.display = format!("{} (lead, {})", lead.rep.name, team.name);
            }
            owner
        }
        Escalation::Queue(team) => {
            let queue = team
                .and_then(|t| t.queue.clone())
                .unwrap_or_else(|| rules.failover.shared_queue.clone());
            let notify = team
                .and_then(|t| t.queue_notify.clone())
                .unwrap_or_else(|| rules.failover.shared_queue_notify.clone());
            let shared = team.is_none_or(|t| t.queue.is_none());
            Owner {
                rep: None,
                team: team
                    .map(|t| t.id.clone())
                    .or_else(|| rules.teams.first().map(|t| t.id.clone()))
                    .unwrap_or_else(|| TeamId::parse("shared-queue").expect("a valid slug")),
                display: if shared {
                    format!("shared queue: {queue}")
                } else {
                    format!("team queue: {queue}")
                },
                notify,
            }
        }
    }
}

/// The calendar the shared queue's SLA runs on, and whose it is (for the trace).
pub(crate) fn queue_calendar<'r>(rules: &'r Rules, team: Option<&Team>) -> (Calendar<'r>, String) {
    let first_rep = team.and_then(|t| rules.reps.iter().find(|r| r.active && r.team == t.id));
    match (team, first_rep) {
        (Some(team), Some(rep)) => (
            Calendar::for_rep(rep, rules).with_time_off(&[]),
            format!(
                "{} working hours (via {})",
                possessive(&team.name),
                rep.name
            ),
        ),
        _ => (
            Calendar::around_the_clock(chrono_tz::UTC),
            "a 24x7 UTC calendar".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RepId;
    use crate::ports::AvailabilityOverride;
    use crate::routing::eligibility::AvailabilityInputs;
    use crate::routing::testing::{at, example_rules, rep_id};
    use std::collections::BTreeMap;

    fn escalate_in(
        rules: &Rules,
        team: &str,
        excluded: &[RepId],
        overrides: &[AvailabilityOverride],
        loads: &[(&str, u32)],
    ) -> (Option<String>, String) {
        let loads: BTreeMap<RepId, u32> = loads.iter().map(|(r, n)| (rep_id(r), *n)).collect();
        let inputs = AvailabilityInputs {
            rules,
            // 22:00 UTC: everyone in EMEA is off work.
            now: at("2026-06-03T22:00:00Z"),
            loads: &loads,
            overrides,
            excluded,
            sla_minutes: 30,
        };
        let roster = Roster::assess(&inputs);
        let team = rules.team(&TeamId::parse(team).unwrap());
        let (escalation, why) = escalate(team, &roster, Role::Ae);
        let owner = owner(rules, team, &escalation);
        (
            owner.rep.map(|r| r.to_string()),
            format!("{} | {why}", owner.display),
        )
    }

    /// Name, team, excluded, overrides, loads, owner, a fragment of the display and reason.
    type ChainCase<'a> = (
        &'a str,
        &'a str,
        &'a [RepId],
        &'a [AvailabilityOverride],
        &'a [(&'a str, u32)],
        Option<&'a str>,
        &'a str,
    );

    #[test]
    fn chain_table() {
        let rules = example_rules();
        let away = [AvailabilityOverride {
            rep: rep_id("greta"),
            available: false,
            from: None,
            until: None,
            reason: None,
            set_at: at("2026-06-03T08:00:00Z"),
        }];
        let cases: &[ChainCase<'_>] = &[
            (
                "lead off-hours and capped still leads",
                "emea-ae",
                &[],
                &[],
                &[("greta", 6)],
                Some("greta"),
                "Greta Lindqvist (lead, EMEA Account Executives)",
            ),
            (
                "excluded lead → queue",
                "emea-ae",
                &[rep_id("greta")],
                &[],
                &[],
                None,
                "shared queue: sales-queue",
            ),
            (
                "away lead → queue",
                "emea-sdr",
                &[],
                &away,
                &[],
                None,
                "unavailable (away)",
            ),
            (
                "no lead → queue",
                "deal-desk",
                &[],
                &[],
                &[],
                None,
                "has no team lead",
            ),
        ];
        for (name, team, excluded, overrides, loads, rep, text) in cases {
            let (got, display) = escalate_in(&rules, team, excluded, overrides, loads);
            assert_eq!(got.as_deref(), *rep, "{name}: {display}");
            assert!(display.contains(text), "{name}: {display}");
        }
    }

    #[test]
    fn queue_owner_and_calendar() {
        let rules = example_rules();
        let team = rules.team(&TeamId::parse("emea-ae").unwrap());
        let owner = owner(&rules, team, &Escalation::Queue(team));
        assert_eq!(owner.rep, None);
        assert_eq!(owner.team.as_str(), "emea-ae");
        assert_eq!(owner.notify, "slack:#sales-handoffs");
        let (cal, whose) = queue_calendar(&rules, team);
        assert_eq!(cal.timezone(), chrono_tz::Europe::Berlin);
        assert!(whose.contains("Lena Fischer"), "{whose}");
        let (cal, whose) = queue_calendar(&rules, None);
        assert_eq!(cal.timezone(), chrono_tz::UTC);
        assert_eq!(whose, "a 24x7 UTC calendar");
    }
}
