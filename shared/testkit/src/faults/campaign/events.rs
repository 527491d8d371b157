//! The campaign's events: the repository's example events (forms, an agent's qualified lead,
//! replies, a booking, a no-show, an out-of-office and an unsubscribe), each copy made a new
//! buyer with a company of its own (so no event joins another's handoff) and its own thread and
//! meeting ids, with what the campaign's rules must do with it.

use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::HandoffId;
use serde_json::Value;

/// What must become of an accepted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Escalated: assigned, written to the CRM and its owner notified exactly once.
    Notified,
    /// Not escalated: classified and closed without handoff, nobody notified.
    ClosedWithoutHandoff,
}

/// One event the provider sends.
#[derive(Debug, Clone)]
pub struct CampaignEvent {
    pub event: IntakeEvent,
    pub handoff_id: HandoffId,
    pub expect: Expect,
    /// The example it copies (`02-ai-qualified-lead`), for diagnostics.
    pub template: &'static str,
}

/// The examples, what the campaign's rules make of each. Human-only lanes (pricing, security,
/// legal) are left out: the campaign's one team holds no lane.
const TEMPLATES: [(&str, &str, Expect); 10] = [
    (
        "01-form-demo-request",
        include_str!("../../../../../examples/events/01-form-demo-request.json"),
        Expect::Notified,
    ),
    (
        "02-ai-qualified-lead",
        include_str!("../../../../../examples/events/02-ai-qualified-lead.json"),
        Expect::Notified,
    ),
    (
        "03-positive-reply",
        include_str!("../../../../../examples/events/03-positive-reply.json"),
        Expect::Notified,
    ),
    (
        "05-angry-objection",
        include_str!("../../../../../examples/events/05-angry-objection.json"),
        Expect::Notified,
    ),
    (
        "06-out-of-office",
        include_str!("../../../../../examples/events/06-out-of-office.json"),
        Expect::ClosedWithoutHandoff,
    ),
    (
        "07-referral",
        include_str!("../../../../../examples/events/07-referral.json"),
        Expect::Notified,
    ),
    (
        "09-channel-switch-form",
        include_str!("../../../../../examples/events/09-channel-switch-form.json"),
        Expect::Notified,
    ),
    (
        "10-meeting-booked",
        include_str!("../../../../../examples/events/10-meeting-booked.json"),
        Expect::Notified,
    ),
    (
        "11-meeting-no-show",
        include_str!("../../../../../examples/events/11-meeting-no-show.json"),
        Expect::Notified,
    ),
    (
        "12-unsubscribe",
        include_str!("../../../../../examples/events/12-unsubscribe.json"),
        Expect::ClosedWithoutHandoff,
    ),
];

/// The campaign's rules and roster (one team around the clock, SLAs of about ten weeks).
pub const RULES: &str = include_str!("rules.toml");

/// The events numbered `first..first + count`, cycling through the examples; `run` keeps ids
/// apart between runs sharing a store.
pub fn events(run: &str, first: usize, count: usize) -> Vec<CampaignEvent> {
    (first..first + count)
        .map(|i| {
            let (template, json, expect) = TEMPLATES[i % TEMPLATES.len()];
            let event = copy(json, run, i);
            let handoff_id = HandoffId::for_event(&event.source, &event.provider_event_id);
            CampaignEvent {
                event,
                handoff_id,
                expect,
                template,
            }
        })
        .collect()
}

/// The example `json` as the `i`-th event of `run`: its own event id, buyer, company, thread
/// and meeting.
fn copy(json: &str, run: &str, i: usize) -> IntakeEvent {
    let mut v: Value = serde_json::from_str(json).expect("the example events parse");
    let tag = format!("{run}-{i}");
    v["provider_event_id"] = Value::from(format!("campaign-{tag}"));
    v["buyer"]["email"] = Value::from(format!("buyer-{i}@company-{tag}.example"));
    if let Some(buyer) = v["buyer"].as_object_mut() {
        buyer.remove("company_domain");
    }
    for key in ["thread_id", "meeting_id"] {
        if v.get(key).is_some() {
            v[key] = Value::from(format!("{key}-{tag}"));
        }
    }
    if let Some(o) = v.as_object_mut() {
        for key in [
            "message_id",
            "in_reply_to",
            "references",
            "reply_token",
            "replaces",
        ] {
            o.remove(key);
        }
    }
    serde_json::from_value(v).expect("a copied example is still an event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_domain::classify::{classify, MatchContext};
    use handoff_domain::config::Rules;
    use std::collections::BTreeSet;

    #[test]
    fn the_rules_escalate_exactly_the_events_expected_to_be_notified() {
        let rules = Rules::from_toml("campaign rules", RULES).unwrap();
        for e in events("expect", 0, TEMPLATES.len()) {
            let c = classify(&e.event, &MatchContext::default(), &rules);
            assert_eq!(
                c.escalate,
                e.expect == Expect::Notified,
                "{}: trigger {}",
                e.template,
                c.trigger
            );
            assert!(c.human_decision.is_none(), "{}: needs a lane", e.template);
        }
    }

    #[test]
    fn every_copy_is_a_new_buyer_with_its_own_handoff() {
        let all = events("distinct", 0, 3 * TEMPLATES.len());
        let ids: BTreeSet<_> = all.iter().map(|e| e.handoff_id.clone()).collect();
        let buyers: BTreeSet<_> = all
            .iter()
            .map(|e| e.event.buyer().email.as_str().to_string())
            .collect();
        assert_eq!(ids.len(), all.len());
        assert_eq!(buyers.len(), all.len());
        assert_ne!(
            events("a", 0, 1)[0].handoff_id,
            events("b", 0, 1)[0].handoff_id,
            "runs apart"
        );
    }
}
