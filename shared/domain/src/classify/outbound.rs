//! Outbound replies: trigger, qualification and escalation.
//!
//! The class comes from the rules and the reply model together ([`super::blend`]).
//!
//! Escalated (the reference's "Escalate now?"): `meeting_request`, `pricing_question`,
//! `referral`, `positive`, `objection` (the buyer keeps the door open, so a human answers; every
//! objection that reaches this class counts as complex), and a `question` that needs legal,
//! security or procurement work or comes from a strategic account. A plain product question is
//! answered by the sales agent. Not escalated: `out_of_office`, `auto_reply`, `unsubscribe`,
//! `not_now`, `not_interested`, `wrong_person`; the automation handles them and says why.
//! When the class is unsure (`needs_confirmation`) and it or the runner-up could be a buying
//! signal, a human takes it anyway, with the trigger `needs_judgment`.
//!
//! Trigger: the class's trigger, except that a positive reply, question or objection about
//! legal, security or procurement work takes that review's trigger, and otherwise a positive
//! reply or question from a strategic account is `strategic_account_engagement` (an objection
//! stays `complex_objection`: handling it is the reason to act, whoever the account is).
//!
//! Qualification:
//! - `unsubscribe`, `not_interested` → disqualified;
//! - away notices, machine mail, wrong person, not now → needs confirmation (nothing learned);
//! - an ambiguous answer ("maybe", "not sure", "depends") → needs confirmation;
//! - authority (role or "I sign off") + need + timeline stated → qualified;
//! - a meeting or pricing ask, or need + timeline → partially qualified (a legal, security or
//!   procurement question alone says nothing about budget or authority: needs confirmation);
//! - otherwise (interest without a stated need) → needs confirmation.
//!
//! Machine replies (away notices, auto-replies) are not the buyer's words: only the flags that
//! come from matching or from the buyer's fields (an enterprise-sized company) are kept for them. A pricing question always carries the `pricing` flag.

use super::bant::{ambiguous, authority, combined, need, timeline};
use super::blend::{decide, escalates, DecidedBy, Decision, RuleGuess};
use super::dates::deferral_date;
use super::flags::human_lane;
use super::lexicon::{ON_BEHALF, UNCLEAR_USE_CASE};
use super::model::reply_features;
use super::reply::{classify_reply, ReplyVerdict};
use super::{Flags, Found, Handling, Input, Verdict};
use crate::event::EmailReply;
use crate::package::{HumanLane, Motion, Qualification, ReplyClass, RiskFlag, TriggerKind};

/// Judges an outbound reply.
pub(crate) fn judge(input: &Input, reply: &EmailReply, mut flags: Flags) -> Verdict {
    let (rv, decision) = reply_class(input, reply);
    if matches!(rv.class, ReplyClass::OutOfOffice | ReplyClass::AutoReply) {
        flags.retain(|_, f| f.source.starts_with("match:") || f.source.starts_with("field:"));
    } else if let Some(h) = input.words.find(UNCLEAR_USE_CASE) {
        flags.entry(RiskFlag::UnclearUseCase).or_insert(h.found());
    }
    if rv.class == ReplyClass::PricingQuestion {
        flags
            .entry(RiskFlag::Pricing)
            .or_insert_with(|| rv.found.clone());
    }
    let review = human_lane(&input.words, &flags);
    let strategic = reply.account.as_ref().is_some_and(|a| a.strategic);
    let escalate = escalates(&decision, is_review_lane(review.clone()) || strategic);
    let lane = if escalate {
        review.or_else(|| human_lane(&input.words, &flags))
    } else {
        None
    };
    let unsure = decision.needs_confirmation.is_some();
    let kind = if escalate {
        trigger(reply, &rv, lane.as_ref().map(|l| l.0))
    } else {
        None
    };
    let trigger = match (kind, &lane) {
        (None, _) if escalate => (TriggerKind::NeedsJudgment, unsure_evidence(&decision)),
        (None, _) => (
            TriggerKind::None,
            Found::new("rule", format!("{} reply: handled by automation", rv.class)),
        ),
        (Some(kind), Some((_, found))) if is_review(kind) => (kind, found.clone()),
        (Some(TriggerKind::StrategicAccountEngagement), _) => {
            let account = reply.account.as_ref().map_or("", |a| a.name.as_str());
            (
                TriggerKind::StrategicAccountEngagement,
                Found::new("field:account", format!("{account} (strategic account)")),
            )
        }
        (Some(_), _) if unsure => (TriggerKind::NeedsJudgment, unsure_evidence(&decision)),
        (Some(kind), _) => (kind, rv.found.clone()),
    };
    let qualification = qualification(input, &rv);
    let handling = if escalate {
        Handling::Escalate
    } else {
        handling(&rv, &flags)
    };
    let objection_kind = rv
        .objection_kind
        .filter(|_| {
            matches!(
                rv.class,
                ReplyClass::Objection | ReplyClass::NotNow | ReplyClass::NotInterested
            )
        })
        .map(|(kind, found)| (kind.as_str(), found));
    Verdict {
        motion: Motion::Outbound,
        trigger,
        reply_class: Some((rv.class, rv.found.clone())),
        qualification,
        flags,
        lane,
        escalate,
        handling,
        referral: rv.contact,
        needs_confirmation: decision.needs_confirmation,
        objection_kind,
        on_behalf: input.words.find(ON_BEHALF).map(|h| h.found()),
    }
}

/// The reply's class: the rules' verdict, then the blend with the model. When the model
/// overrules the rules, the verdict takes the model's class and evidence and keeps only what
/// the rules found that fits it (the referred person of a referral, the away notice of an
/// away reply, the date of a deferral).
fn reply_class(input: &Input, reply: &EmailReply) -> (ReplyVerdict, Decision) {
    let mut rv = classify_reply(input, reply);
    let rule = RuleGuess {
        class: rv.class,
        confidence: class_evidence(&rv).confidence,
        unmatched: rv.unmatched,
    };
    let prediction = input.model.predict(&reply_features(input, reply));
    let decision = decide(&rule, &prediction, &input.model.blend, input.judging);
    match decision.by {
        DecidedBy::Rule => {
            rv.found = class_evidence(&rv).with_confidence(decision.confidence);
        }
        DecidedBy::Model => {
            let why = prediction.why(decision.class);
            rv.found = Found::new("model", why).with_confidence(decision.confidence);
            if decision.class != rv.class {
                if decision.class != ReplyClass::Referral {
                    rv.contact = None;
                }
                if decision.class != ReplyClass::OutOfOffice {
                    rv.away = None;
                }
                rv.deferral = match decision.class {
                    ReplyClass::NotNow => rv.deferral.or_else(|| {
                        input
                            .words
                            .parts()
                            .iter()
                            .find_map(|p| deferral_date(p, input.received))
                    }),
                    _ => None,
                };
                rv.bounce = rv.bounce && decision.class == ReplyClass::AutoReply;
                rv.class = decision.class;
            }
            rv.unmatched = false;
        }
    }
    (rv, decision)
}

/// The evidence of an unsure decision that sends a reply to a human.
fn unsure_evidence(decision: &Decision) -> Found {
    Found::new(
        "rule",
        decision
            .needs_confirmation
            .clone()
            .unwrap_or_else(|| "unsure".to_string()),
    )
    .with_confidence(decision.confidence)
}

/// Whether a lane needs legal, security or procurement work (a question then escalates).
pub(crate) fn is_review_lane(lane: Option<(HumanLane, Found)>) -> bool {
    matches!(
        lane.map(|l| l.0),
        Some(HumanLane::LegalReview | HumanLane::SecurityReview | HumanLane::Procurement)
    )
}

/// The evidence for the reply class: a guess when no rule matched.
fn class_evidence(rv: &ReplyVerdict) -> Found {
    if rv.unmatched {
        rv.found.clone().with_confidence(UNMATCHED)
    } else {
        rv.found.clone()
    }
}

/// The confidence of a reply class no rule matched.
const UNMATCHED: u8 = 30;

fn is_review(kind: TriggerKind) -> bool {
    matches!(
        kind,
        TriggerKind::LegalReview | TriggerKind::SecurityReview | TriggerKind::ProcurementRequest
    )
}

/// The trigger kind for a reply (`None` when the automation handles it).
fn trigger(reply: &EmailReply, rv: &ReplyVerdict, lane: Option<HumanLane>) -> Option<TriggerKind> {
    let engaged = match rv.class {
        ReplyClass::MeetingRequest => return Some(TriggerKind::MeetingRequest),
        ReplyClass::PricingQuestion => return Some(TriggerKind::PricingRequest),
        ReplyClass::Referral => return Some(TriggerKind::Referral),
        ReplyClass::Positive => TriggerKind::PositiveReply,
        ReplyClass::Question => TriggerKind::ProductQuestion,
        ReplyClass::Objection => TriggerKind::ComplexObjection,
        _ => return None,
    };
    let review = match lane {
        Some(HumanLane::LegalReview) => Some(TriggerKind::LegalReview),
        Some(HumanLane::SecurityReview) => Some(TriggerKind::SecurityReview),
        Some(HumanLane::Procurement) => Some(TriggerKind::ProcurementRequest),
        _ => None,
    };
    let strategic = reply.account.as_ref().is_some_and(|a| a.strategic)
        && engaged != TriggerKind::ComplexObjection;
    Some(review.unwrap_or(if strategic {
        TriggerKind::StrategicAccountEngagement
    } else {
        engaged
    }))
}

/// How far a reply qualifies the buyer (rules in the module docs).
fn qualification(input: &Input, rv: &ReplyVerdict) -> (Qualification, Found) {
    match rv.class {
        ReplyClass::Unsubscribe | ReplyClass::NotInterested => {
            return (Qualification::Disqualified, rv.found.clone())
        }
        ReplyClass::OutOfOffice
        | ReplyClass::AutoReply
        | ReplyClass::WrongPerson
        | ReplyClass::NotNow => {
            return (
                Qualification::NeedsConfirmation,
                Found::new(
                    "rule",
                    format!("a {} reply says nothing about fit", rv.class),
                ),
            )
        }
        _ => {}
    }
    if let Some(a) = ambiguous(&input.words) {
        return (Qualification::NeedsConfirmation, a);
    }
    let role = input.event.buyer().role.as_deref();
    let (a, n, t) = (authority(input, role), need(input), timeline(&input.words));
    if let (Some(a), Some(n), Some(t)) = (&a, &n, &t) {
        return (Qualification::Qualified, combined(&[a, n, t]));
    }
    if matches!(
        rv.class,
        ReplyClass::MeetingRequest | ReplyClass::PricingQuestion
    ) {
        return (Qualification::PartiallyQualified, rv.found.clone());
    }
    if let (Some(n), Some(t)) = (&n, &t) {
        return (Qualification::PartiallyQualified, combined(&[n, t]));
    }
    (
        Qualification::NeedsConfirmation,
        Found::new(
            "rule",
            format!("{} reply without a stated need or timeline", rv.class),
        ),
    )
}

/// What the automation does with a reply it handles.
fn handling(rv: &ReplyVerdict, flags: &Flags) -> Handling {
    match rv.class {
        ReplyClass::OutOfOffice => Handling::PauseUntilReturn {
            resume_on: rv.away.as_ref().and_then(|a| a.return_date.clone()),
            alternate: rv.away.as_ref().and_then(|a| a.alternate.clone()),
        },
        ReplyClass::AutoReply => Handling::IgnoreAutoReply { bounce: rv.bounce },
        ReplyClass::Unsubscribe => Handling::Suppress,
        ReplyClass::NotNow => Handling::Nurture {
            resume_on: rv.deferral.clone(),
        },
        ReplyClass::NotInterested if flags.contains_key(&RiskFlag::AngryBuyer) => {
            Handling::Suppress
        }
        ReplyClass::NotInterested => Handling::Close,
        ReplyClass::WrongPerson => Handling::FindRightContact,
        ReplyClass::Question => Handling::AgentAnswers,
        _ => Handling::Escalate,
    }
}
