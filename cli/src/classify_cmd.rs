//! `handoff classify`: the package for one event, as JSON, with no side effects.

use anyhow::{anyhow, Context, Result};
use handoff_domain::classify::{classify, MatchContext};
use handoff_domain::config::Rules;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::HandoffId;
use handoff_domain::package::HandoffPackage;
use handoff_domain::routing::{route, RoutingFacts, RoutingInput};
use std::io::Read;
use std::path::Path;

/// Reads an event from `input` (a path, or `-` for stdin).
pub fn read_event(input: &str) -> Result<IntakeEvent> {
    let (name, text) = if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        ("<stdin>".to_string(), s)
    } else {
        let text = std::fs::read_to_string(Path::new(input))
            .with_context(|| format!("cannot read {input}"))?;
        (input.to_string(), text)
    };
    serde_json::from_str(&text).map_err(|e| anyhow!("{name}:{}:{}: {e}", e.line(), e.column()))
}

/// Classifies and routes an event as if the store were empty, at the event's received time.
pub fn package_for(event: &IntakeEvent, rules: &Rules) -> HandoffPackage {
    let classification = classify(event, &MatchContext::default(), rules);
    let id = HandoffId::for_event(&event.source, &event.provider_event_id);
    let (owner, sla, routing) = if classification.escalate {
        let account_owner = event
            .company_domain()
            .and_then(|d| rules.account(&d).map(|a| a.owner.clone()));
        let mut input = RoutingInput::first_assignment(
            rules,
            &classification,
            RoutingFacts::of(rules, &classification, Some(event)),
            event.received_at,
        );
        input.account_owner = account_owner;
        let decision = route(&input);
        (Some(decision.owner), Some(decision.sla), decision.trace)
    } else {
        (None, None, Vec::new())
    };
    HandoffPackage {
        handoff_id: id,
        classification,
        owner,
        sla,
        routing,
    }
}
