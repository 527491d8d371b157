//! The replay on a two-territory roster with hand-computed answers: a territory that moves, a
//! cap that overflows, a removed rep, a changed SLA, drift from the record, continuity.

use super::*;
use crate::event::IntakeEvent;
use crate::ids::{ProviderEventId, TeamId};
use crate::lifecycle::Reassignment;
use crate::package::{Motion, TriggerKind};
use crate::routing::testing::{at, classification, rep_id};

const FORM: &str = include_str!("../../../../examples/events/01-form-demo-request.json");

/// What differs between the rule sets of these tests.
#[derive(Clone, Copy)]
struct Variant {
    /// The territory Germany belongs to.
    germany_in: &'static str,
    lena_cap: u32,
    /// Lena is on the roster.
    lena: bool,
    /// Minutes of the hot inbound SLA.
    hot: u32,
}

const CURRENT: Variant = Variant {
    germany_in: "emea",
    lena_cap: 10,
    lena: true,
    hot: 30,
};

/// Two territories, one AE each (Lena: EMEA, Sam: AMER), both on UTC, 08:00–18:00 on weekdays,
/// no leads; rules: EMEA to the EMEA team, everything else to the AMER team.
fn rules(v: Variant) -> Rules {
    let (emea, amer) = if v.germany_in == "emea" {
        (r#""DE", "FR""#, r#""US""#)
    } else {
        (r#""FR""#, r#""US", "DE""#)
    };
    let lena = if v.lena {
        format!(
            r#"
[[reps]]
id = "lena"
name = "Lena Fischer"
email = "lena@northwind.example"
team = "emea-ae"
timezone = "UTC"
working_hours = {{ start = "08:00", end = "18:00" }}
daily_cap = {cap}
notify = "slack:@lena"
"#,
            cap = v.lena_cap
        )
    } else {
        String::new()
    };
    let toml = format!(
        r#"
[org]
name = "Northwind"

[[territories]]
id = "emea"
countries = [{emea}]

[[territories]]
id = "amer"
countries = [{amer}]
default = true

[[teams]]
id = "emea-ae"
name = "EMEA AEs"
role = "ae"
territory = "emea"

[[teams]]
id = "amer-ae"
name = "AMER AEs"
role = "ae"
territory = "amer"
{lena}
[[reps]]
id = "sam"
name = "Sam Patel"
email = "sam@northwind.example"
team = "amer-ae"
timezone = "UTC"
working_hours = {{ start = "08:00", end = "18:00" }}
daily_cap = 10
notify = "slack:@sam"

[[routing]]
name = "EMEA leads go to the EMEA AEs"
when = {{ territory = "emea" }}
team = "emea-ae"

[[routing]]
name = "everything else goes to the AMER AEs"
team = "amer-ae"

[sla]
human_decision_minutes = 60
reroute_minutes = 30

[sla.inbound]
hot = {hot}
standard = 120

[sla.outbound]
hot = 60
standard = 240

[failover]
max_reps = 1
shared_queue = "sales-queue"
shared_queue_notify = "slack:#sales"
requalify_role = "ae"

[qualification]
qualified_score = 70
enterprise_employees = 2000
enterprise_seats = 200
"#,
        hot = v.hot
    );
    Rules::from_toml("simulate-test.toml", &toml).expect("test rules load")
}

/// A routed inbound demo request from `country`, created at `created`, first owned by `owner`.
fn record(n: u32, email: &str, country: &str, created: &str, owner: &str) -> ReplayCase {
    let mut event: IntakeEvent = serde_json::from_str(FORM).expect("example event");
    event.provider_event_id = ProviderEventId::parse(format!("simulate-{n}")).expect("id");
    event.kind.buyer_mut().email = EmailAddress::parse(email).expect("email");
    let (mut record, _) = HandoffRecord::received(event, at(created));
    let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
    c.buyer.country = Some(country.into());
    record.classification = Some(c);
    record.state = State::Notified;
    record.owner = Some(rep_owner(owner));
    record.routing = vec![
        TraceStep {
            layer: "round_robin".into(),
            outcome: format!("{owner} was next"),
        },
        TraceStep {
            layer: "sla".into(),
            outcome: "30 business minutes".into(),
        },
        TraceStep {
            layer: "failover".into(),
            outcome: "a later reroute".into(),
        },
    ];
    ReplayCase {
        routed_at: record.created_at,
        record,
    }
}

fn rep_owner(rep: &str) -> Owner {
    Owner {
        rep: Some(rep_id(rep)),
        team: TeamId::parse(if rep == "lena" { "emea-ae" } else { "amer-ae" }).expect("team"),
        display: rep.into(),
        notify: format!("slack:@{rep}"),
    }
}

/// Monday 1 June 2026, 10:00 UTC onwards: two German buyers and one American.
fn week() -> Vec<ReplayCase> {
    vec![
        record(1, "anna@acme.de", "DE", "2026-06-01T10:00:00Z", "lena"),
        record(2, "bob@beta.de", "DE", "2026-06-01T10:10:00Z", "lena"),
        record(3, "cy@gamma.com", "US", "2026-06-01T10:20:00Z", "sam"),
    ]
}

fn period() -> Period {
    Period {
        from: at("2026-06-01T00:00:00Z"),
        to: at("2026-06-08T00:00:00Z"),
    }
}

fn run(new: Variant, cases: &[ReplayCase]) -> Simulation {
    simulate(
        cases,
        &rules(CURRENT),
        &rules(new),
        &ReplayContext::default(),
        period(),
    )
}

/// `rep` (or "queue") for each replayed handoff on one side.
fn owners(sim: &Simulation, after: bool) -> Vec<String> {
    sim.handoffs
        .iter()
        .map(|h| {
            let side = if after { &h.after } else { &h.before };
            side.owner
                .rep
                .as_ref()
                .map_or("queue".to_string(), |r| r.to_string())
        })
        .collect()
}

/// (from, to, handoffs) of the grouped owner changes.
fn moves(sim: &Simulation) -> Vec<(String, String, usize)> {
    sim.moves
        .iter()
        .map(|m| {
            let name = |o: &OwnerRef| o.rep.as_ref().map_or("queue".into(), |r| r.to_string());
            (name(&m.from), name(&m.to), m.handoffs)
        })
        .collect()
}

fn load(sim: &Simulation, rep: &str) -> RepLoad {
    sim.loads
        .iter()
        .find(|l| l.rep.as_str() == rep)
        .cloned()
        .expect("rep in the load table")
}

#[test]
fn the_same_rules_change_nothing() {
    let sim = run(CURRENT, &week());
    assert_eq!(sim.replayed, 3);
    assert_eq!(owners(&sim, false), ["lena", "lena", "sam"]);
    assert_eq!(owners(&sim, true), ["lena", "lena", "sam"]);
    assert_eq!(sim.owner_changes, 0);
    assert!(sim.moves.is_empty() && sim.sla_moves.is_empty() && sim.fall_throughs.is_empty());
    assert!(sim.never_matched.is_empty(), "{:?}", sim.never_matched);
    assert!(sim.drift.is_empty(), "{:?}", sim.drift);
}

/// Each row: what changes, the owners after, the grouped moves, the new rules never matched,
/// how many land in a queue, Lena's (total, busiest day, days at cap) after.
type Case = (
    &'static str,
    Variant,
    &'static [&'static str],
    &'static [(&'static str, &'static str, usize)],
    &'static [&'static str],
    usize,
    (u32, u32, u32),
);

#[test]
fn rule_changes_move_owners_loads_and_queues_as_computed_by_hand() {
    let cases: &[Case] = &[
        (
            "Germany moves to AMER: both German leads go to Sam; the EMEA rule never matches",
            Variant {
                germany_in: "amer",
                ..CURRENT
            },
            &["sam", "sam", "sam"],
            &[("lena", "sam", 2)],
            &["EMEA leads go to the EMEA AEs"],
            0,
            (0, 0, 0),
        ),
        (
            "Lena's cap drops to 1: the second German lead finds nobody and falls to the queue",
            Variant {
                lena_cap: 1,
                ..CURRENT
            },
            &["lena", "queue", "sam"],
            &[("lena", "queue", 1)],
            &[],
            1,
            (1, 1, 1),
        ),
        (
            "Lena leaves: the EMEA team is empty and both German leads fall to the queue",
            Variant {
                lena: false,
                ..CURRENT
            },
            &["queue", "queue", "sam"],
            &[("lena", "queue", 2)],
            &[],
            2,
            (0, 0, 0),
        ),
    ];
    for (name, variant, after, expected_moves, never, queued, lena_after) in cases {
        let sim = run(*variant, &week());
        assert_eq!(owners(&sim, true), *after, "{name}");
        assert_eq!(
            moves(&sim),
            expected_moves
                .iter()
                .map(|(f, t, n)| (f.to_string(), t.to_string(), *n))
                .collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(
            sim.owner_changes,
            expected_moves.iter().map(|m| m.2).sum::<usize>(),
            "{name}"
        );
        assert_eq!(sim.never_matched, *never, "{name}");
        assert_eq!(
            sim.in_a_queue,
            BeforeAfter {
                before: 0,
                after: *queued
            },
            "{name}"
        );
        assert_eq!(sim.fall_throughs.len(), *queued, "{name}");
        let lena = load(&sim, "lena");
        assert_eq!(
            (lena.total_before, lena.busiest_day_before),
            (2, 2),
            "{name}"
        );
        assert_eq!(
            (
                lena.total_after,
                lena.busiest_day_after,
                lena.days_at_cap_after
            ),
            *lena_after,
            "{name}"
        );
        assert!(sim.drift.is_empty(), "{name}: {:?}", sim.drift);
    }
}

#[test]
fn a_removed_rep_is_listed_with_no_cap_in_the_new_rules() {
    let sim = run(
        Variant {
            lena: false,
            ..CURRENT
        },
        &week(),
    );
    let lena = load(&sim, "lena");
    assert_eq!((lena.cap_before, lena.cap_after), (Some(10), None));
    let sam = load(&sim, "sam");
    assert_eq!((sam.total_before, sam.total_after), (1, 1));
    let queued = &sim.fall_throughs[0];
    assert_eq!(queued.before.rep, Some(rep_id("lena")));
    assert!(queued.after.is_queue());
    assert!(queued.after.display.contains("sales-queue"), "{queued:?}");
}

#[test]
fn a_longer_hot_sla_moves_every_deadline_by_the_difference() {
    let sim = run(Variant { hot: 60, ..CURRENT }, &week());
    assert_eq!(sim.owner_changes, 0);
    let shifts: Vec<(String, String, i64)> = sim
        .sla_moves
        .iter()
        .map(|m| {
            (
                m.before.deadline.format("%H:%M").to_string(),
                m.after.deadline.format("%H:%M").to_string(),
                m.shift_minutes,
            )
        })
        .collect();
    assert_eq!(
        shifts,
        [
            ("10:30".to_string(), "11:00".to_string(), 30),
            ("10:40".to_string(), "11:10".to_string(), 30),
            ("10:50".to_string(), "11:20".to_string(), 30),
        ]
    );
}

#[test]
fn an_sla_that_crosses_the_end_of_the_day_moves_to_the_next_morning() {
    let cases = [record(
        1,
        "anna@acme.de",
        "DE",
        "2026-06-01T17:45:00Z",
        "lena",
    )];
    let sim = run(Variant { hot: 60, ..CURRENT }, &cases);
    let moved = &sim.sla_moves[0];
    assert_eq!(moved.before.deadline, at("2026-06-02T08:15:00Z"));
    assert_eq!(moved.after.deadline, at("2026-06-02T08:45:00Z"));
    assert_eq!(moved.shift_minutes, 30);
}

#[test]
fn drift_names_handoffs_the_current_rules_no_longer_route_as_recorded() {
    let mut cases = week();
    // Recorded with Sam (say, before Germany joined EMEA); the current rules give it to Lena.
    cases[1].record.owner = Some(rep_owner("sam"));
    // Rerouted later: the record's owner is the second one, the first is in the reassignment.
    cases[2].record.owner = Some(rep_owner("lena"));
    cases[2].record.reassignments.push(Reassignment {
        at: at("2026-06-01T11:00:00Z"),
        reason: crate::lifecycle::ReassignReason::SlaMissed,
        from: Some(rep_id("sam")),
        from_display: "sam".into(),
        from_notify: "slack:@sam".into(),
        from_receipt: None,
        to: Some(rep_id("lena")),
        to_display: "lena".into(),
        told: None,
    });
    let sim = run(CURRENT, &cases);
    let drift: Vec<(HandoffId, Option<RepId>, Option<RepId>)> = sim
        .drift
        .iter()
        .map(|d| (d.id.clone(), d.recorded.rep.clone(), d.replayed.rep.clone()))
        .collect();
    assert_eq!(
        drift,
        [(
            cases[1].record.id.clone(),
            Some(rep_id("sam")),
            Some(rep_id("lena"))
        )]
    );
    // The recorded first trace stops at the first assignment's SLA step; a rerouted handoff
    // shows no first SLA (the record only keeps the current one).
    assert_eq!(sim.handoffs[0].recorded.trace.len(), 2);
    assert!(sim.handoffs[0].recorded.sla.is_none());
    assert!(sim.handoffs[2].recorded.sla.is_none());
}

#[test]
fn the_rule_named_is_the_one_the_trace_names() {
    for variant in [
        CURRENT,
        Variant {
            germany_in: "amer",
            ..CURRENT
        },
    ] {
        let sim = run(variant, &week());
        for h in &sim.handoffs {
            for side in [&h.before, &h.after] {
                let rule = side.rule.as_deref().expect("a rule matched");
                let step = side
                    .trace
                    .iter()
                    .find(|s| s.layer == "rule")
                    .expect("rule step");
                assert!(step.outcome.contains(rule), "{rule} / {}", step.outcome);
            }
        }
    }
}

#[test]
fn rule_use_lists_the_new_rules_then_removed_ones() {
    let sim = run(
        Variant {
            germany_in: "amer",
            ..CURRENT
        },
        &week(),
    );
    let uses: Vec<(&str, usize, usize)> = sim
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.before, r.after))
        .collect();
    assert_eq!(
        uses,
        [
            ("EMEA leads go to the EMEA AEs", 2, 0),
            ("everything else goes to the AMER AEs", 1, 3),
        ]
    );
    assert_eq!(sim.no_rule_matched, BeforeAfter::default());
}

#[test]
fn continuity_follows_each_sides_own_replay() {
    // The same German buyer twice (the first handoff closed in between): on each side the
    // second handoff goes to whoever that side gave the first.
    let mut cases = week();
    cases[1] = record(2, "anna@acme.de", "DE", "2026-06-01T10:10:00Z", "lena");
    let sim = run(
        Variant {
            germany_in: "amer",
            ..CURRENT
        },
        &cases,
    );
    let second = &sim.handoffs[1];
    assert_eq!(second.before.owner.rep, Some(rep_id("lena")));
    assert_eq!(second.after.owner.rep, Some(rep_id("sam")));
    assert!(
        second
            .before
            .trace
            .iter()
            .any(|s| s.layer == "existing_owner" && s.outcome.contains("Lena")),
        "{:?}",
        second.before.trace
    );
}

#[test]
fn an_owner_before_the_period_keeps_the_contact_on_both_sides() {
    let context = ReplayContext {
        earlier_owners: [(EmailAddress::parse("anna@acme.de").unwrap(), rep_id("sam"))]
            .into_iter()
            .collect(),
        ..ReplayContext::default()
    };
    let sim = simulate(
        &week(),
        &rules(CURRENT),
        &rules(CURRENT),
        &context,
        period(),
    );
    assert_eq!(owners(&sim, false), ["sam", "lena", "sam"]);
}

#[test]
fn an_override_counts_from_when_it_was_set() {
    // Lena was marked away (no `from`) at 10:05: the 10:00 lead is hers, the 10:10 one is not.
    let context = ReplayContext {
        overrides: vec![AvailabilityOverride {
            rep: rep_id("lena"),
            available: false,
            from: None,
            until: None,
            reason: None,
            set_at: at("2026-06-01T10:05:00Z"),
        }],
        ..ReplayContext::default()
    };
    let sim = simulate(
        &week(),
        &rules(CURRENT),
        &rules(CURRENT),
        &context,
        period(),
    );
    assert_eq!(owners(&sim, false), ["lena", "queue", "sam"]);
}

#[test]
fn handoffs_that_were_never_routed_are_counted_not_replayed() {
    let mut cases = week();
    cases[0].record.state = State::ClosedWithoutHandoff;
    cases[0].record.owner = None;
    cases[1].record.state = State::Attached;
    cases[1].record.owner = None;
    cases[2].record.state = State::Classified;
    cases[2].record.owner = None;
    let sim = run(CURRENT, &cases);
    assert_eq!(sim.replayed, 0);
    assert_eq!(
        sim.skipped,
        Skipped {
            closed_without_handoff: 1,
            attached: 1,
            not_yet_routed: 1
        }
    );
}

#[test]
fn the_report_serialises_for_json() {
    let sim = run(
        Variant {
            germany_in: "amer",
            ..CURRENT
        },
        &week(),
    );
    let json = serde_json::to_value(&sim).expect("serialises");
    assert_eq!(json["owner_changes"], 2);
    assert_eq!(json["moves"][0]["handoffs"], 2);
    assert_eq!(json["never_matched"][0], "EMEA leads go to the EMEA AEs");
    assert_eq!(json["handoffs"].as_array().map(Vec::len), Some(3));
}
