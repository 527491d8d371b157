//! Scenario tests of [`route`] on the shipped example roster.

use super::testing::{at, classification, example_rules, rep_id};
use super::*;
use crate::config::TimeOff;
use crate::package::{HumanLane, Motion, TriggerKind};
use crate::routing::testing::day;

/// Wednesday 2026-06-03 10:00 UTC: 12:00 Berlin, 11:00 London, 06:00 New York.
const NOON_BERLIN: &str = "2026-06-03T10:00:00Z";

fn input<'a>(rules: &'a Rules, c: &'a Classification, now: &str) -> RoutingInput<'a> {
    RoutingInput::first_assignment(rules, c, RoutingFacts::of(rules, c, None), at(now))
}

fn german_lead() -> Classification {
    let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
    c.buyer.country = Some("DE".into());
    c.buyer.employees = Some(500);
    c.product_line = Some("insights".into());
    c
}

fn layers(d: &RoutingDecision) -> Vec<&str> {
    d.trace.iter().map(|t| t.layer.as_str()).collect()
}

fn owner_id(d: &RoutingDecision) -> Option<&str> {
    d.owner.rep.as_ref().map(RepId::as_str)
}

fn all_capped(rules: &Rules, team: &str) -> BTreeMap<RepId, u32> {
    rules
        .reps
        .iter()
        .filter(|r| r.team.as_str() == team)
        .map(|r| (r.id.clone(), r.daily_cap))
        .collect()
}

#[test]
fn a_german_demo_request_goes_through_every_layer() {
    let rules = example_rules();
    let c = german_lead();
    let d = route(&input(&rules, &c, NOON_BERLIN));
    assert_eq!(
        layers(&d),
        [
            "escalation",
            "rule",
            "existing_owner",
            "account_owner",
            "territory",
            "segment",
            "product_line",
            "round_robin",
            "sla"
        ]
    );
    assert_eq!(owner_id(&d), Some("lena"));
    assert_eq!(d.owner.display, "Lena Fischer (EMEA Account Executives)");
    assert_eq!(d.owner.notify, "slack:@lena");
    assert!(!d.escalated);
    assert_eq!(d.sla.policy, "inbound/hot");
    assert_eq!(d.sla.business_minutes, 30);
    assert_eq!(d.sla.deadline, at("2026-06-03T10:30:00Z"));
    assert_eq!(
        d.trace[4].outcome,
        "buyer country DE → emea; 3 of 6 reps remain"
    );
    assert_eq!(
        d.trace[5].outcome,
        "500 employees → mid-market; 2 of 3 reps remain"
    );
}

#[test]
fn the_cursor_rotates_ties() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    // Lena (weight 2) is owed 2/3 of this one, Oliver (weight 1) 1/3 plus 1/3 from before: a tie.
    let behind = FairnessCounters {
        owed: 333_334,
        won: 0,
    };
    i.fairness = BTreeMap::from([(rep_id("oliver"), behind)]);
    assert_eq!(owner_id(&route(&i)), Some("lena"));
    i.cursor = 1;
    assert_eq!(owner_id(&route(&i)), Some("oliver"));
}

#[test]
fn owner_continuity_beats_the_round_robin_regardless_of_role() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.existing_owner = Some(rep_id("jonas"));
    i.account_owner = Some(rep_id("lena"));
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("jonas"));
    assert_eq!(layers(&d), ["escalation", "rule", "existing_owner", "sla"]);
    assert!(
        d.trace[2].outcome.starts_with("owner continuity"),
        "{}",
        d.trace[2].outcome
    );
}

#[test]
fn the_account_owner_wins_when_available() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.account_owner = Some(rep_id("greta"));
    assert_eq!(owner_id(&route(&i)), Some("greta"));
    i.loads.insert(rep_id("greta"), 6);
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("lena"));
    let account = d.trace.iter().find(|t| t.layer == "account_owner").unwrap();
    assert!(account.outcome.contains("daily cap"), "{}", account.outcome);
}

#[test]
fn a_human_lane_goes_to_a_closer_and_the_account_owner_is_informed() {
    let rules = example_rules();
    let mut c = classification(Motion::Inbound, TriggerKind::LegalReview);
    c.human_decision = Some(HumanLane::LegalReview);
    c.buyer.country = Some("US".into());
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.account_owner = Some(rep_id("sam"));
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("nadia"));
    assert_eq!(d.sla.policy, "human_decision/legal_review");
    assert_eq!(d.sla.business_minutes, 60);
    let account = d.trace.iter().find(|t| t.layer == "account_owner").unwrap();
    assert!(
        account.outcome.contains("stays informed"),
        "{}",
        account.outcome
    );
    assert!(layers(&d).contains(&"human_lane"));
}

#[test]
fn after_hours_the_first_to_start_takes_it_and_the_clock_starts_then() {
    let rules = example_rules();
    let mut c = german_lead();
    c.buyer.employees = None;
    c.product_line = None;
    // Friday 2026-06-05 20:00 Berlin. Greta (Stockholm, 08:00) starts first on Monday.
    let d = route(&input(&rules, &c, "2026-06-05T18:00:00Z"));
    assert_eq!(owner_id(&d), Some("greta"));
    assert_eq!(d.sla.deadline, at("2026-06-08T06:30:00Z"));
    let rr = d.trace.iter().find(|t| t.layer == "round_robin").unwrap();
    assert!(
        rr.outcome.contains("nobody in the pool works now"),
        "{}",
        rr.outcome
    );
}

#[test]
fn nobody_eligible_on_first_assignment_escalates_to_the_lead() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.loads = all_capped(&rules, "emea-ae");
    let d = route(&i);
    // Greta is capped as a rep, but caps do not apply to a lead.
    assert_eq!(owner_id(&d), Some("greta"));
    assert!(d.escalated);
    let last = &d.trace[d.trace.len() - 2];
    assert_eq!(last.layer, "failover");
    assert!(
        last.outcome.contains("first assignment"),
        "{}",
        last.outcome
    );
}

#[test]
fn failover_tries_another_rep_then_the_lead_then_the_queue() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.mode = RouteMode::Failover;
    i.current_owner = Some(rep_id("lena"));
    i.exclude = vec![rep_id("lena")];
    // The first owner does not count: no rep has had it through failover yet.
    i.failover_attempts = 0;
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("oliver"));
    assert!(!d.escalated);
    assert_eq!(d.sla.policy, "reroute/failover");
    assert!(layers(&d).contains(&"failover"));

    // One rep tried of max_reps 2, but nobody else in the mid-market pool is left: the lead.
    i.current_owner = Some(rep_id("oliver"));
    i.exclude = vec![rep_id("lena"), rep_id("oliver")];
    i.failover_attempts = 1;
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("greta"));
    assert_eq!(
        d.owner.display,
        "Greta Lindqvist (lead, EMEA Account Executives)"
    );
    assert!(d.escalated);

    // The lead misses it too: the chain goes on to the queue, never back to the reps.
    i.current_owner = Some(rep_id("greta"));
    i.current_team = Some(d.owner.team.clone());
    i.exclude.push(rep_id("greta"));
    i.already_escalated = true;
    let d = route(&i);
    assert_eq!(d.owner.rep, None);
    assert_eq!(d.owner.display, "shared queue: sales-queue");
    assert_eq!(d.owner.notify, "slack:#sales-handoffs");
    assert_eq!(d.owner.team.as_str(), "emea-ae");
    assert!(d.escalated);
    // On the EMEA AE team's hours (Lena, Berlin): noon + 30 minutes.
    assert_eq!(d.sla.deadline, at("2026-06-03T10:30:00Z"));
}

#[test]
fn failover_with_no_rep_left_goes_to_the_lead_before_max_reps() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.mode = RouteMode::Failover;
    i.current_owner = Some(rep_id("lena"));
    i.exclude = vec![rep_id("lena")];
    i.failover_attempts = 0;
    i.loads.insert(rep_id("oliver"), 15);
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("greta"));
    assert!(d.escalated);
}

#[test]
fn requalification_goes_to_an_sdr_with_the_reroute_sla() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.mode = RouteMode::Requalify;
    i.current_owner = Some(rep_id("lena"));
    i.account_owner = Some(rep_id("lena"));
    let d = route(&i);
    assert!(
        matches!(owner_id(&d), Some("jonas" | "chloe")),
        "{:?}",
        d.owner
    );
    assert_eq!(d.sla.policy, "reroute/requalify");
    assert_eq!(d.sla.business_minutes, 30);
}

#[test]
fn a_rep_on_time_off_is_skipped() {
    let mut rules = example_rules();
    rules
        .reps
        .iter_mut()
        .find(|r| r.id.as_str() == "lena")
        .unwrap()
        .out_of_office = vec![TimeOff {
        from: day("2026-06-01"),
        to: day("2026-06-05"),
    }];
    let c = german_lead();
    let d = route(&input(&rules, &c, NOON_BERLIN));
    assert_eq!(owner_id(&d), Some("oliver"));
    let rr = d.trace.iter().find(|t| t.layer == "round_robin").unwrap();
    assert!(
        rr.outcome.contains("lena (out of office today)"),
        "{}",
        rr.outcome
    );
}

#[test]
fn routing_is_deterministic() {
    let rules = example_rules();
    let c = german_lead();
    let i = input(&rules, &c, NOON_BERLIN);
    assert_eq!(route(&i), route(&i));
}

#[test]
fn max_reps_counts_only_reps_reached_through_failover() {
    let mut rules = example_rules();
    rules.failover.max_reps = 1;
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.mode = RouteMode::Failover;
    i.current_owner = Some(rep_id("lena"));
    i.exclude = vec![rep_id("lena")];
    // max_reps = 1: exactly one more rep is tried after the first owner.
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("oliver"), "{:?}", d.trace);
    assert!(!d.escalated);
    i.current_owner = Some(rep_id("oliver"));
    i.exclude.push(rep_id("oliver"));
    i.failover_attempts = 1;
    let d = route(&i);
    assert!(d.escalated);
    let failover = d
        .trace
        .iter()
        .rev()
        .find(|t| t.layer == "failover")
        .unwrap();
    assert!(
        failover
            .outcome
            .contains("1 more rep already had it; max_reps 1 reached"),
        "{}",
        failover.outcome
    );
    // max_reps = 0: straight to the lead.
    rules.failover.max_reps = 0;
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.mode = RouteMode::Failover;
    i.current_owner = Some(rep_id("lena"));
    i.exclude = vec![rep_id("lena")];
    let d = route(&i);
    assert!(d.escalated);
    assert_eq!(owner_id(&d), Some("greta"));
}

#[test]
fn a_team_can_set_its_own_max_reps_and_queue() {
    let mut rules = example_rules();
    let team = rules
        .teams
        .iter_mut()
        .find(|t| t.id.as_str() == "emea-ae")
        .unwrap();
    team.max_reps = Some(0);
    team.queue = Some("emea-queue".into());
    team.queue_notify = Some("slack:#emea-handoffs".into());
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
    i.mode = RouteMode::Failover;
    i.current_owner = Some(rep_id("lena"));
    i.current_team = Some(crate::ids::TeamId::parse("emea-ae").unwrap());
    i.exclude = vec![rep_id("lena")];
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("greta"), "{:?}", d.trace);
    i.current_owner = Some(rep_id("greta"));
    i.exclude.push(rep_id("greta"));
    i.already_escalated = true;
    let d = route(&i);
    assert_eq!(d.owner.rep, None);
    assert_eq!(d.owner.display, "team queue: emea-queue");
    assert_eq!(d.owner.notify, "slack:#emea-handoffs");
    let last = d
        .trace
        .iter()
        .rev()
        .find(|t| t.layer == "failover")
        .unwrap();
    assert!(
        last.outcome.contains("the team's queue emea-queue"),
        "{}",
        last.outcome
    );
}

mod failover_chain {
    //! Property: with `max_reps = k`, a chain of SLA misses tries exactly k more reps (when at
    //! least k others are eligible), each a different rep, then the team lead, then the queue.
    use super::*;
    use proptest::prelude::*;

    /// The example rules with the EMEA AE team replaced by `n` reps working now (Berlin,
    /// 08:00–20:00), led by Sam, who is in another team and so in no EMEA pool.
    fn emea_team_of(n: usize, weights: &[u32], max_reps: u32) -> Rules {
        let mut rules = example_rules();
        let template = rules.rep(&rep_id("lena")).unwrap().clone();
        rules.reps.retain(|r| r.team.as_str() != "emea-ae");
        for k in 0..n {
            let mut rep = template.clone();
            rep.id = rep_id(&format!("ae-{k}"));
            rep.name = format!("AE {k}");
            rep.segments = Vec::new();
            rep.products = Vec::new();
            rep.weight = weights[k % weights.len()];
            rep.working_hours.start = chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap();
            rep.working_hours.end = chrono::NaiveTime::from_hms_opt(20, 0, 0).unwrap();
            rep.out_of_office = Vec::new();
            rules.reps.push(rep);
        }
        for t in &mut rules.teams {
            if t.id.as_str() == "emea-ae" {
                t.lead = Some(rep_id("sam"));
            }
        }
        rules.failover.max_reps = max_reps;
        rules
    }

    proptest! {
        #[test]
        fn max_reps_means_exactly_that_many_more_reps(
            n in 1usize..7,
            k in 0u32..7,
            weights in prop::collection::vec(1u32..4, 1..4),
            cursor in 0u64..50,
        ) {
            let rules = emea_team_of(n, &weights, k);
            let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
            c.buyer.country = Some("DE".into());
            let mut i = input(&rules, &c, NOON_BERLIN);
            i.cursor = cursor;
            let first = route(&i);
            prop_assert!(!first.escalated, "{:?}", first.trace);
            let mut held: Vec<RepId> = vec![first.owner.rep.clone().unwrap()];
            let mut owner = first.owner.clone();
            let mut escalated = false;
            let mut tried = 0u32;
            // Each SLA miss: the service adds the owner to the excluded and counts reps reached.
            for _ in 0..(n + 3) {
                i.mode = RouteMode::Failover;
                i.current_owner = owner.rep.clone();
                i.current_team = Some(owner.team.clone());
                i.exclude = held.clone();
                i.failover_attempts = tried;
                i.already_escalated = escalated;
                let d = route(&i);
                if let Some(rep) = &d.owner.rep {
                    prop_assert!(!held.contains(rep), "{rep} again: {:?}", d.trace);
                    held.push(rep.clone());
                }
                if d.escalated {
                    if !escalated {
                        // The first escalation comes exactly after min(k, others) more reps.
                        prop_assert_eq!(tried, k.min(n as u32 - 1), "{:?}", d.trace);
                        prop_assert_eq!(d.owner.rep.as_ref().map(RepId::as_str), Some("sam"));
                    } else {
                        prop_assert_eq!(d.owner.rep.clone(), None, "{:?}", d.trace);
                        break;
                    }
                    escalated = true;
                } else {
                    prop_assert!(!escalated, "back to a rep after escalating: {:?}", d.trace);
                    tried += 1;
                }
                owner = d.owner.clone();
            }
            prop_assert!(escalated);
            prop_assert_eq!(tried, k.min(n as u32 - 1));
        }
    }
}

#[test]
fn a_team_rule_escalates_to_that_teams_failover_only_lead() {
    let rules = example_rules();
    let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
    c.buyer.country = Some("US".into());
    c.buyer.employees = Some(150);
    // 16:00 UTC = noon in New York: Ava and Diego work, both at their cap.
    let mut i = input(&rules, &c, "2026-06-03T16:00:00Z");
    i.loads = all_capped(&rules, "amer-sdr");
    let d = route(&i);
    assert!(
        d.trace[1].outcome.contains("team AMER SDRs"),
        "{}",
        d.trace[1].outcome
    );
    assert!(d.escalated, "{:?}", d.trace);
    assert_eq!(owner_id(&d), Some("harper"), "{:?}", d.trace);
    assert_eq!(d.owner.display, "Harper Lewis (lead, AMER SDRs)");
    // Harper misses it too: the team's own queue.
    let mut next = input(&rules, &c, "2026-06-03T17:00:00Z");
    next.mode = RouteMode::Failover;
    next.loads = all_capped(&rules, "amer-sdr");
    next.current_owner = d.owner.rep.clone();
    next.current_team = Some(d.owner.team.clone());
    next.exclude = vec![rep_id("harper")];
    next.already_escalated = true;
    let queued = route(&next);
    assert_eq!(queued.owner.rep, None);
    assert_eq!(queued.owner.display, "team queue: amer-sdr-queue");
    assert_eq!(queued.owner.notify, "slack:#amer-sdr");
    // Harper never takes a round-robin lead, even when she is the only one under her cap.
    let mut i = input(&rules, &c, "2026-06-03T16:00:00Z");
    i.loads = all_capped(&rules, "amer-sdr");
    i.loads.remove(&rep_id("harper"));
    i.loads.insert(rep_id("ava"), 0);
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("ava"), "{:?}", d.trace);
}
