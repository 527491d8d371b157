//! Outbound replies: trigger, qualification and escalation.
//!
//! Escalated: `meeting_request`, `pricing_question`, `referral`, `positive`, `question`,
//! `objection` (the buyer keeps the door open, so a human answers; every objection that reaches
//! this class counts as complex). Not escalated: `out_of_office`, `auto_reply`, `unsubscribe`,
//! `not_now`, `not_interested`, `wrong_person`; the automation handles them and says why.
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
//! - a meeting or pricing ask, a legal/security/procurement step, or need + timeline →
//!   partially qualified;
//! - otherwise (interest without a stated need) → needs confirmation.
//!
//! Machine replies (away notices, auto-replies) are not the buyer's words: only the flags that
//! come from matching are kept for them. A pricing question always carries the `pricing` flag.

use super::bant::{ambiguous, authority, combined, need, timeline};
use super::flags::human_lane;
use super::lexicon::UNCLEAR_USE_CASE;
use super::reply::{classify_reply, ReplyVerdict};
use super::{Flags, Found, Handling, Input, Verdict};
use crate::event::EmailReply;
use crate::package::{HumanLane, Motion, Qualification, ReplyClass, RiskFlag, TriggerKind};

/// Judges an outbound reply.
pub(crate) fn judge(input: &Input, reply: &EmailReply, mut flags: Flags) -> Verdict {
    let rv = classify_reply(input, reply);
    if matches!(rv.class, ReplyClass::OutOfOffice | ReplyClass::AutoReply) {
        flags.retain(|_, f| f.source.starts_with("match:"));
    } else if let Some(h) = input.words.find(UNCLEAR_USE_CASE) {
        flags.entry(RiskFlag::UnclearUseCase).or_insert(h.found());
    }
    if rv.class == ReplyClass::PricingQuestion {
        flags
            .entry(RiskFlag::Pricing)
            .or_insert_with(|| rv.found.clone());
    }
    let escalate = matches!(
        rv.class,
        ReplyClass::MeetingRequest
            | ReplyClass::PricingQuestion
            | ReplyClass::Referral
            | ReplyClass::Positive
            | ReplyClass::Question
            | ReplyClass::Objection
    );
    let lane = if escalate {
        human_lane(&input.words, &flags)
    } else {
        None
    };
    let trigger = match (trigger(reply, &rv, lane.as_ref().map(|l| l.0)), &lane) {
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
        (Some(_), _) if rv.unmatched => (TriggerKind::NeedsJudgment, rv.found.clone()),
        (Some(kind), _) => (kind, rv.found.clone()),
    };
    let qualification = qualification(input, &rv, lane.as_ref().map(|l| l.0));
    let handling = handling(&rv, &flags);
    Verdict {
        motion: Motion::Outbound,
        trigger,
        reply_class: Some((rv.class, class_evidence(&rv))),
        qualification,
        flags,
        lane,
        escalate,
        handling,
        referral: rv.contact,
    }
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
fn qualification(
    input: &Input,
    rv: &ReplyVerdict,
    lane: Option<HumanLane>,
) -> (Qualification, Found) {
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
    if matches!(
        lane,
        Some(HumanLane::LegalReview | HumanLane::SecurityReview | HumanLane::Procurement)
    ) {
        return (
            Qualification::PartiallyQualified,
            Found::new(
                "rule",
                format!(
                    "buying process under way: {}",
                    lane.map_or("", |l| l.as_str())
                ),
            ),
        );
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
        _ => Handling::Escalate,
    }
}
