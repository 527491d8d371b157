//! Shared by `event_json` and `rules_toml`: what the stages do with an accepted event, run
//! purely (no store, no queue, no clock): the record intake stores and its JSON round trip (a
//! stored record must read back equal, or the handoff is lost), classification, routing (first
//! assignment, then a failover away from that owner, then re-qualification) and the human
//! renderings of the package. Nothing here may panic, whatever the event or the rules.

// Each target uses only part of this module.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use handoff_domain::classify::{classify, MatchContext};
use handoff_domain::config::Rules;
use handoff_domain::event::IntakeEvent;
use handoff_domain::lifecycle::HandoffRecord;
use handoff_domain::render;
use handoff_domain::routing::{route, RouteMode, RoutingFacts, RoutingInput};
use std::sync::OnceLock;

/// The fixed clock (2023-11-14T22:13:20Z), as in the provider targets.
pub const NOW_SECS: i64 = 1_700_000_000;

/// The fixed clock as an instant.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW_SECS, 0).expect("fixed clock")
}

/// The shipped example rules (`examples/handoff.toml`), parsed once.
pub fn example_rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        Rules::from_toml(
            "examples/handoff.toml",
            include_str!("../../../examples/handoff.toml"),
        )
        .expect("the example rules load")
    })
}

/// The shipped example events (`examples/events/*.json`) that the rules target routes.
pub fn example_events() -> &'static [IntakeEvent] {
    static EVENTS: OnceLock<Vec<IntakeEvent>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        [
            include_str!("../../../examples/events/01-form-demo-request.json"),
            include_str!("../../../examples/events/02-ai-qualified-lead.json"),
            include_str!("../../../examples/events/03-positive-reply.json"),
            include_str!("../../../examples/events/08-enterprise-security.json"),
            include_str!("../../../examples/events/10-meeting-booked.json"),
        ]
        .iter()
        .map(|json| serde_json::from_str(json).expect("an example event parses"))
        .collect()
    })
}

/// Serialises `value` and reads it back; the two must be equal.
pub fn assert_round_trip<T>(what: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json =
        serde_json::to_string(value).unwrap_or_else(|e| panic!("{what} does not serialise: {e}"));
    let back: T = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{what} does not read back: {e}\n{json}"));
    assert_eq!(&back, value, "{what} reads back different\n{json}");
}

/// Intake's record of `event`, checked to survive the store's JSON round trip.
pub fn stored_record(event: IntakeEvent) -> HandoffRecord {
    let (record, entry) = HandoffRecord::received(event, now());
    assert_round_trip("the stored record", &record);
    assert_round_trip("the timeline entry", &entry);
    record
}

/// Classifies, routes (first assignment, failover, re-qualification) and renders `record`
/// under `rules`.
pub fn classify_route_render(rules: &Rules, mut record: HandoffRecord) {
    let classification = classify(&record.event, &MatchContext::default(), rules);
    let facts = RoutingFacts::of(rules, &classification, Some(&record.event));
    let initial = RoutingInput::first_assignment(rules, &classification, facts, now());
    let first = route(&initial);
    for mode in [RouteMode::Failover, RouteMode::Requalify] {
        let again = RoutingInput {
            mode,
            exclude: first.owner.rep.iter().cloned().collect(),
            current_owner: first.owner.rep.clone(),
            current_team: Some(first.owner.team.clone()),
            cursor: 1,
            failover_attempts: 1,
            already_escalated: first.escalated,
            ..initial.clone()
        };
        std::hint::black_box(route(&again));
    }
    record.classification = Some(classification);
    record.routing = first.trace;
    record.owner = Some(first.owner);
    record.sla = Some(first.sla);
    assert_round_trip("the routed record", &record);
    let package = record.package().expect("a classified record has a package");
    std::hint::black_box(render::title(&package));
    std::hint::black_box(render::package_text(&package));
    std::hint::black_box(render::package_html(&package));
}
