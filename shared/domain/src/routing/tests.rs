//! Scenario tests of [`route`] on the shipped example roster.

use super::testing::{at, classification, example_rules, rep_id};
use super::*;
use crate::config::TimeOff;
use crate::package::{HumanLane, Motion, TriggerKind};
use crate::routing::testing::day;

/// Wednesday 2026-06-03 10:00 UTC: 12:00 Berlin, 11:00 London, 06:00 New York.
const NOON_BERLIN: &str = "2026-06-03T10:00:00Z";

fn input<'a>(rules: &'a Rules, c: &'a Classification, now: &str) -> RoutingInput<'a> {
    RoutingInput {
        rules,
        classification: c,
        now: at(now),
        mode: RouteMode::Initial,
        existing_owner: None,
        account_owner: None,
        loads: BTreeMap::new(),
        overrides: Vec::new(),
        exclude: Vec::new(),
        current_owner: None,
        cursor: 0,
        failover_attempts: 0,
    }
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
        "500 employees → mid_market; 2 of 3 reps remain"
    );
}

#[test]
fn the_cursor_rotates_ties() {
    let rules = example_rules();
    let c = german_lead();
    let mut i = input(&rules, &c, NOON_BERLIN);
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
    i.failover_attempts = 1;
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("oliver"));
    assert!(!d.escalated);
    assert_eq!(d.sla.policy, "reroute/failover");
    assert!(layers(&d).contains(&"failover"));

    i.current_owner = Some(rep_id("oliver"));
    i.exclude = vec![rep_id("lena"), rep_id("oliver")];
    i.failover_attempts = 2;
    let d = route(&i);
    assert_eq!(owner_id(&d), Some("greta"));
    assert!(d.escalated);

    i.current_owner = Some(rep_id("greta"));
    i.exclude.push(rep_id("greta"));
    i.failover_attempts = 3;
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
    i.failover_attempts = 1;
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
