//! The next step: a sentence the rep can act on, or the automation's action and reason.
//!
//! Escalated handoffs: an angry buyer is de-escalated first (call, acknowledge, pause sequences),
//! then a duplicate is merged; otherwise the step follows the trigger (prepare, reschedule or
//! follow up a meeting, contact the referral, confirm a proposed time, book the demo), then the
//! human lane (legal review, security needs, procurement, deal desk, pricing), then the reply or
//! qualification (propose times, answer, handle the objection, call today, run discovery,
//! confirm qualification). Not escalated: the automation's action, whose reason is the detail.

use super::{automation, Found, Handling, Input, Verdict};
use crate::event::{EventKind, MeetingStatus};
use crate::package::{
    AutomationAction, HumanLane, NextAction, NextStep, Qualification, ReplyClass, RiskFlag,
    TriggerKind,
};

/// The next step and, when the automation handles the event, its action.
pub(crate) fn decide(input: &Input, v: &Verdict) -> (NextStep, Option<AutomationAction>) {
    if let Some(action) = automated(input, v) {
        let step = NextStep {
            action: action.action,
            detail: action.reason.clone(),
        };
        return (step, Some(action));
    }
    let (action, mut detail) = base_step(input, v);
    let lane_step = matches!(
        action,
        NextAction::StartLegalReview
            | NextAction::VerifySecurityNeeds
            | NextAction::EngageProcurement
            | NextAction::SendPricing
    );
    if let (Some((lane, found)), false) = (&v.lane, lane_step) {
        detail.push_str(&format!(
            " Human decision needed: {lane} (\"{}\").",
            found.excerpt
        ));
    }
    let detail = with_context(input, v, detail);
    let name = input.buyer_name();
    if let Some(angry) = v.flags.get(&RiskFlag::AngryBuyer) {
        let detail = format!(
            "Call {name} today to de-escalate (\"{}\"): acknowledge the frustration and pause all sequences, then: {detail}",
            angry.excerpt
        );
        return (step(NextAction::DeescalateAndCall, detail), None);
    }
    if let Some(dup) = v.flags.get(&RiskFlag::DuplicateRecord) {
        let detail = format!("Merge this into the {} first, then: {detail}", dup.excerpt);
        return (step(NextAction::MergeDuplicate, detail), None);
    }
    (step(action, detail), None)
}

fn step(action: NextAction, detail: String) -> NextStep {
    NextStep { action, detail }
}

/// The words that explain the verdict best: the reply class's, else the qualification's.
fn why(v: &Verdict) -> &Found {
    v.reply_class
        .as_ref()
        .map_or(&v.qualification.1, |(_, f)| f)
}

/// Evidence as a rep reads it in a sentence: the buyer's words in quotes, or the words the reply
/// model weighed (already quoted one by one).
fn quoted(found: &Found) -> String {
    if found.source == "model" {
        format!("the model weighed {}", found.excerpt)
    } else {
        format!("\"{}\"", found.excerpt)
    }
}

/// The step for an escalated handoff, before anger and duplicates are considered.
fn base_step(input: &Input, v: &Verdict) -> (NextAction, String) {
    let name = input.buyer_name();
    let company = input.company();
    let said_raw = &v.trigger.1.excerpt;
    let said = quoted(&v.trigger.1);
    match v.trigger.0 {
        TriggerKind::MeetingBooked => {
            let when = meeting_time(input).map_or_else(String::new, |t| format!(" on {t}"));
            let at = input.company_name().map_or_else(String::new, |c| format!(" ({c})"));
            return (
                NextAction::PrepareMeeting,
                format!("Prepare the meeting with {name}{at}{when}: review the context and confirm the agenda."),
            );
        }
        TriggerKind::MeetingCancelled => {
            return (
                NextAction::RescheduleMeeting,
                format!("Reach {name} today to reschedule the cancelled meeting ({said_raw}); offer two new times."),
            )
        }
        TriggerKind::MeetingNoShow => {
            return (
                NextAction::FollowUpNoShow,
                format!("Follow up with {name} within the hour after the missed meeting ({said_raw}): send a short note with two new times, then call."),
            )
        }
        TriggerKind::Referral => {
            let who = v.referral.as_ref().map_or_else(|| "the person named".to_string(), |c| c.display());
            return (
                NextAction::ContactReferral,
                format!("Contact {who}, referred by {name} ({said}): mention the referral and resend the context."),
            );
        }
        TriggerKind::MeetingRequest => {
            return (
                NextAction::ProposeMeetingTimes,
                format!("Confirm the time {name} asked for ({said}) or send two slots, and send the invite today."),
            )
        }
        TriggerKind::DemoRequest => {
            return (
                NextAction::CallToday,
                format!("Call {name} today and book the demo they asked for ({said})."),
            )
        }
        _ => {}
    }
    if let Some((lane, found)) = &v.lane {
        let asked = &found.excerpt;
        let (action, detail) = match lane {
            HumanLane::LegalReview => (
                NextAction::StartLegalReview,
                format!("Start the legal review for {company} (\"{asked}\"): send the requested documents and loop in legal."),
            ),
            HumanLane::SecurityReview => (
                NextAction::VerifySecurityNeeds,
                format!("Verify {company}'s security needs (\"{asked}\") and send the security package (SOC 2 report, questionnaire answers)."),
            ),
            HumanLane::Procurement => (
                NextAction::EngageProcurement,
                format!("Engage {company}'s procurement (\"{asked}\"): confirm vendor onboarding, PO and invoicing steps."),
            ),
            HumanLane::Negotiation => (
                NextAction::SendPricing,
                format!("Agree the commercial ask (\"{asked}\") with the deal desk, then send {name} the proposal."),
            ),
            HumanLane::CustomPackaging => (
                NextAction::SendPricing,
                format!("Scope the custom package (\"{asked}\") with the deal desk, then send {name} pricing."),
            ),
            HumanLane::Pricing => (
                NextAction::SendPricing,
                format!("Send {name} pricing today (\"{asked}\") and offer a call to walk through it."),
            ),
        };
        return (action, detail);
    }
    match v.trigger.0 {
        TriggerKind::PositiveReply => (
            NextAction::ProposeMeetingTimes,
            format!("Reply to {name} with two times for a discovery call ({said})."),
        ),
        TriggerKind::StrategicAccountEngagement => (
            NextAction::ProposeMeetingTimes,
            format!("Strategic account {company}: reply to {name} personally ({}) with two times for a call.", quoted(why(v))),
        ),
        TriggerKind::ProductQuestion => (
            NextAction::AnswerQuestion,
            format!("Answer {name}'s question today ({said}) and offer a short call."),
        ),
        TriggerKind::ComplexObjection => (
            NextAction::HandleObjection,
            format!("Handle {name}'s objection ({said}): acknowledge it, share a relevant proof point, offer a call."),
        ),
        TriggerKind::PricingRequest => (
            NextAction::SendPricing,
            format!("Send {name} pricing today ({said})."),
        ),
        TriggerKind::QualificationThreshold => (
            NextAction::CallToday,
            format!("Call {name} today: qualified ({said_raw})."),
        ),
        TriggerKind::EnterpriseFit => (
            NextAction::RunDiscovery,
            format!("Run discovery with {name} ({company}): enterprise fit ({said_raw})."),
        ),
        _ => match v.qualification.0 {
            Qualification::Qualified => (
                NextAction::CallToday,
                format!("Call {name} today: {}.", v.qualification.1.excerpt),
            ),
            Qualification::PartiallyQualified => (
                NextAction::RunDiscovery,
                format!("Run discovery with {name} to confirm what is still open (known: {}).", v.qualification.1.excerpt),
            ),
            _ => (
                NextAction::ConfirmQualification,
                format!("Confirm {name}'s need, timeline and role before handing on ({}).", quoted(why(v))),
            ),
        },
    }
}

/// When the booked meeting starts, if the event says.
fn meeting_time(input: &Input) -> Option<String> {
    let at = match &input.event.kind {
        EventKind::MeetingBooked(m) => m.starts_at,
        EventKind::QualifiedLead(q) => match q.meeting {
            MeetingStatus::Booked { starts_at } => starts_at,
            _ => return None,
        },
        _ => return None,
    };
    Some(at.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Adds what the rep must know besides the step: who wrote the reply, existing customer,
/// channel switch.
fn with_context(input: &Input, v: &Verdict, mut detail: String) -> String {
    if let Some(behalf) = &v.on_behalf {
        detail.push_str(&format!(
            " Written by someone answering for the contact (\"{}\"): reply to them and keep the contact in copy.",
            behalf.excerpt
        ));
    }
    if v.has(RiskFlag::ExistingCustomer) {
        match &input.ctx.account_owner {
            Some(owner) => detail.push_str(&format!(
                " Existing customer: loop in the account owner ({owner})."
            )),
            None => detail.push_str(" Existing customer: loop in the account owner."),
        }
    }
    if let Some(switch) = v.flags.get(&RiskFlag::ChannelSwitch) {
        detail.push_str(&format!(
            " Same buyer on another channel ({}): read that history first.",
            switch.excerpt
        ));
    }
    detail
}

/// The automation's action when no human is needed (`None` when a human takes it).
fn automated(input: &Input, v: &Verdict) -> Option<AutomationAction> {
    let name = input.buyer_name();
    let email = input.event.buyer().email.to_string();
    let said_raw = &why(v).excerpt;
    let said = quoted(why(v));
    let outbound = v.reply_class.is_some();
    let action = match &v.handling {
        Handling::Escalate => return None,
        Handling::PauseUntilReturn { resume_on, alternate } => {
            let mut reason = match resume_on {
                Some((date, words)) => format!("{name} is away until {date} (\"{words}\"): pause the sequence and resume on {date}."),
                None => format!("{name} is away ({said}) with no return date written: pause the sequence and retry in a week."),
            };
            if let Some(c) = alternate {
                reason.push_str(&format!(" Alternate contact: {}.", c.display()));
            }
            automation(
                NextAction::PauseUntilReturn,
                reason,
                resume_on.as_ref().map(|(d, _)| *d),
                alternate.as_ref().map(|c| c.display()),
            )
        }
        Handling::IgnoreAutoReply { bounce: true } => automation(
            NextAction::IgnoreAutoReply,
            format!("Delivery to {email} failed ({said}): stop sending to this address and verify the contact."),
            None,
            None,
        ),
        Handling::IgnoreAutoReply { bounce: false } => automation(
            NextAction::IgnoreAutoReply,
            format!("Machine reply ({said}), not the buyer: ignore it; the sequence continues."),
            None,
            None,
        ),
        Handling::Suppress => {
            let mut reason = if v.has(RiskFlag::AngryBuyer) && v.reply_class.as_ref().is_some_and(|(c, _)| *c == ReplyClass::NotInterested) {
                format!("{name} declined in a hostile tone ({said}): suppress {email} everywhere and do not contact again.")
            } else {
                format!("{name} asked to stop contact ({said}): suppress {email} in every sequence and the CRM.")
            };
            if let Some(legal) = v.flags.get(&RiskFlag::LegalReview) {
                reason.push_str(&format!(" Hand the data-protection request (\"{}\") to the privacy owner; once confirmed, erase the buyer's data here with `handoff erase --email {email}` and in the CRM.", legal.excerpt));
            }
            automation(NextAction::Suppress, reason, None, None)
        }
        Handling::Nurture { resume_on } => {
            let reason = match (outbound, resume_on) {
                (true, Some((date, words))) => format!("{name} deferred ({said}): move to nurture and follow up on {date} (\"{words}\")."),
                (true, None) => format!("{name} deferred ({said}) without a date: move to nurture."),
                (false, _) => format!("Not qualified ({said_raw}): move {name} to a nurture track."),
            };
            automation(NextAction::Nurture, reason, resume_on.as_ref().map(|(d, _)| *d), None)
        }
        Handling::Close => {
            let reason = if outbound {
                format!("{name} declined ({said}): close the thread and stop the sequence.")
            } else if matches!(input.event.kind, EventKind::MeetingCancelled(_)) {
                format!("{name} cancelled and declined ({said}): close without a handoff.")
            } else {
                format!("Not a buyer ({said_raw}): close without a handoff.")
            };
            automation(NextAction::CloseThread, reason, None, None)
        }
        Handling::AgentAnswers => automation(
            NextAction::AnswerQuestion,
            format!("{name} asked a product question ({said}) with no buying signal and no legal, security or procurement need: the sales agent answers it; a human takes over if the answer leads to a meeting, pricing or a review."),
            None,
            None,
        ),
        Handling::FindRightContact => automation(
            NextAction::FindRightContact,
            format!("{name} is not the right contact ({said}): find who owns this at {} and restart there.", input.company()),
            None,
            None,
        ),
    };
    Some(action)
}
