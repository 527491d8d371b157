//! Test helpers shared by the routing unit tests: the shipped example rules and hand-built
//! classifications.

use crate::config::Rules;
use crate::event::{Channel, MeetingStatus, Urgency};
use crate::ids::{EmailAddress, RepId, SourceName};
use crate::package::{
    BuyerContext, Classification, Motion, MotionFields, NextAction, NextStep, Qualification,
    ReplyClass, TriggerKind,
};
use chrono::{DateTime, NaiveDate, Utc};

/// The shipped example (`examples/handoff.toml`).
pub(crate) fn example_rules() -> Rules {
    Rules::from_toml(
        "examples/handoff.toml",
        include_str!("../../../../examples/handoff.toml"),
    )
    .expect("example loads")
}

/// An RFC 3339 instant.
pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

/// An ISO date.
pub(crate) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// A rep id.
pub(crate) fn rep_id(s: &str) -> RepId {
    RepId::parse(s).expect("rep id")
}

/// A qualified, escalated classification with no country, size or product line.
pub(crate) fn classification(motion: Motion, trigger: TriggerKind) -> Classification {
    let source = SourceName::parse("website").expect("source");
    let motion_fields = match motion {
        Motion::Inbound => MotionFields::Inbound {
            source: source.clone(),
            channel: Channel::WebForm,
            qualification_answers: Vec::new(),
            urgency: Urgency::Unknown,
            meeting_status: MeetingStatus::NotOffered,
            routing_reason: String::new(),
        },
        Motion::Outbound => MotionFields::Outbound {
            account_reason: "target account".into(),
            outreach_history: Vec::new(),
            reply_class: ReplyClass::Positive,
            suggested_next_step: "call".into(),
            reply_owner: None,
        },
    };
    Classification {
        motion,
        trigger,
        reply_class: None,
        qualification: Qualification::Qualified,
        risk_flags: Vec::new(),
        human_decision: None,
        escalate: true,
        next_step: NextStep {
            action: NextAction::CallToday,
            detail: "call today".into(),
        },
        buyer: BuyerContext {
            email: EmailAddress::parse("dana@acme.example").expect("email"),
            name: Some("Dana".into()),
            company: Some("Acme".into()),
            company_domain: None,
            role: None,
            country: None,
            employees: None,
            source,
            channel: Channel::WebForm,
            problem_statement: "needs dashboards".into(),
        },
        motion_fields,
        automation: None,
        product_line: None,
        evidence: Vec::new(),
        needs_confirmation: None,
    }
}
