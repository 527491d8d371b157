//! The second opinion: what a [`Judge`](crate::ports::Judge) is asked about a low-confidence
//! case, and what its answer may change. Pure; the classify stage calls the port.
//!
//! A judge is asked only when the rules are unsure (the classification's `needs_confirmation`)
//! and `[judge]` names one ([`should_ask`]). Its answer is always recorded as evidence
//! (`judge:reply_class:<class>` and `judge:escalate:<bool>`, source `judge:<model id>`, the
//! judge's reason as the excerpt), and it can only move a case toward a human:
//!
//! | the rules | the judge | the result ([`apply`]) |
//! |---|---|---|
//! | escalate | any opinion | unchanged but for the evidence: class, trigger, flags, lane and next step stand |
//! | not escalated | `escalate: false` | unchanged but for the evidence |
//! | not escalated | `escalate: true` | escalated: the automation is cleared, a trigger `none` becomes `needs_judgment`, the next step says a second opinion asked for a human; an outbound reply takes the judge's class when it is a buying signal ([`always_escalates`]) |
//! | any | an error | unchanged, plus one `judge:unavailable` evidence saying why (a kind or a code, never the buyer's words) |
//!
//! So nothing here sets `escalate` to false, removes a flag or a lane, or gives an escalated
//! case a class the automation handles. Only the judge's `escalate` moves a case: a class that
//! contradicts it (`meeting_request` with `escalate: false`) is recorded, not acted on.

use crate::config::JudgeSettings;
use crate::event::{strip_quoted_history, EventKind, IntakeEvent};
use crate::package::{
    Classification, Evidence, Motion, MotionFields, NextAction, NextStep, ReplyClass, TriggerKind,
    CERTAIN,
};
use crate::ports::{JudgeError, JudgeOpinion, JudgeRequest};

/// The most characters of the buyer's words a judge is sent.
pub const WORDS_MAX: usize = 4_000;
/// The most characters of a subject a judge is sent.
pub const SUBJECT_MAX: usize = 200;
/// The most characters of the judge's reason kept in evidence and in the next step.
pub const REASON_MAX: usize = 240;
/// The confidence of a judge's opinion as evidence. A model answer without a probability: below
/// a phrase the rules matched (85), because the judge is a second opinion, not the judgment.
pub const OPINION: u8 = 70;
/// What the evidence of a judge that gave no opinion supports.
pub const UNAVAILABLE: &str = "judge:unavailable";
/// How many of the rules' reply classes a judge is shown.
const CANDIDATES_MAX: usize = 3;

/// Whether this case gets a second opinion: a judge is configured and the rules are unsure.
pub fn should_ask(settings: &JudgeSettings, c: &Classification) -> bool {
    settings.enabled() && c.needs_confirmation.is_some()
}

/// The evidence source of a judge's entries: `judge:<model id>`.
pub fn source(model: &str) -> String {
    let model = model.trim();
    if model.is_empty() {
        "judge".to_string()
    } else {
        format!("judge:{model}")
    }
}

/// What a judge is asked: the buyer's own words, the subject, and what the rules made of them.
pub fn request(event: &IntakeEvent, c: &Classification) -> JudgeRequest {
    let (subject, words) = match &event.kind {
        EventKind::EmailReply(r) => (Some(r.subject.as_str()), strip_quoted_history(&r.text)),
        EventKind::FormLead(f) => (None, f.message.trim().to_string()),
        EventKind::QualifiedLead(q) => {
            let mut words = q.transcript_excerpt.trim().to_string();
            for a in &q.answers {
                if !a.answer.trim().is_empty() {
                    if !words.is_empty() {
                        words.push('\n');
                    }
                    words.push_str(&format!("{}: {}", a.question.trim(), a.answer.trim()));
                }
            }
            (None, words)
        }
        EventKind::MeetingBooked(m)
        | EventKind::MeetingCancelled(m)
        | EventKind::MeetingNoShow(m) => (Some(m.title.as_str()), m.notes.trim().to_string()),
    };
    JudgeRequest {
        motion: c.motion,
        subject: subject
            .map(|s| truncate(s.trim(), SUBJECT_MAX))
            .filter(|s| !s.is_empty()),
        words: truncate(&words, WORDS_MAX),
        trigger: c.trigger,
        escalate: c.escalate,
        candidates: candidates(c),
        unsure_because: c.needs_confirmation.clone().unwrap_or_default(),
        allowed: ReplyClass::ALL.to_vec(),
    }
}

/// The reply classes the rules' evidence supports, best first, each once with its highest
/// confidence; the chosen class first among equals.
fn candidates(c: &Classification) -> Vec<(ReplyClass, u8)> {
    let mut out: Vec<(ReplyClass, u8)> = Vec::new();
    for e in &c.evidence {
        let Some(class) = e
            .supports
            .strip_prefix("reply_class:")
            .and_then(ReplyClass::from_label)
        else {
            continue;
        };
        match out.iter_mut().find(|(k, _)| *k == class) {
            Some((_, conf)) => *conf = (*conf).max(e.confidence),
            None => out.push((class, e.confidence)),
        }
    }
    out.sort_by_key(|(class, conf)| (std::cmp::Reverse(*conf), Some(*class) != c.reply_class));
    out.truncate(CANDIDATES_MAX);
    out
}

/// The classification after the judge's answer (or failure), for `model`.
pub fn apply(
    c: Classification,
    answer: &Result<JudgeOpinion, JudgeError>,
    model: &str,
) -> Classification {
    match answer {
        Ok(opinion) => with_opinion(c, opinion, model),
        Err(e) => without_opinion(c, e, model),
    }
}

/// Whether the reference escalates every reply of this class ("Escalate now?" in
/// `reference/classification.md`): a buying signal. Questions and objections escalate only
/// with more (legal or security work, a complex objection), so a judge cannot give them to a
/// case; the automation's classes never.
pub fn always_escalates(class: ReplyClass) -> bool {
    matches!(
        class,
        ReplyClass::Positive
            | ReplyClass::MeetingRequest
            | ReplyClass::PricingQuestion
            | ReplyClass::Referral
    )
}

/// The classification with the judge's opinion recorded and, when it asks for a human the
/// rules did not, escalated.
pub fn with_opinion(mut c: Classification, opinion: &JudgeOpinion, model: &str) -> Classification {
    let reason = clean(&opinion.reason, REASON_MAX);
    let excerpt = if reason.is_empty() {
        "(no reason given)".to_string()
    } else {
        reason.clone()
    };
    for supports in [
        format!("judge:reply_class:{}", opinion.reply_class),
        format!("judge:escalate:{}", opinion.escalate),
    ] {
        c.evidence.push(Evidence {
            supports,
            source: source(model),
            excerpt: excerpt.clone(),
            confidence: OPINION,
        });
    }
    if !opinion.escalate || c.escalate {
        return c;
    }
    let automated = c.automation.take();
    c.escalate = true;
    if c.trigger == TriggerKind::None {
        c.trigger = TriggerKind::NeedsJudgment;
    }
    let class = if c.motion == Motion::Outbound && always_escalates(opinion.reply_class) {
        Some(opinion.reply_class)
    } else {
        None
    };
    if let Some(class) = class {
        c.reply_class = Some(class);
    }
    let who = match model.trim() {
        "" => "A second opinion".to_string(),
        m => format!("A second opinion ({m})"),
    };
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(": {}", reason.trim_end_matches('.'))
    };
    let instead = automated
        .map(|a| {
            format!(
                " The rules would have handled it automatically ({}).",
                a.action
            )
        })
        .unwrap_or_default();
    let detail = format!(
        "{who} asked for a human{why}.{instead} Read the buyer's message and confirm the labels before acting."
    );
    c.next_step = NextStep {
        action: next_action(c.reply_class.filter(|_| c.motion == Motion::Outbound)),
        detail: detail.clone(),
    };
    if let MotionFields::Outbound {
        reply_class,
        suggested_next_step,
        ..
    } = &mut c.motion_fields
    {
        if let Some(class) = class {
            *reply_class = class;
        }
        *suggested_next_step = detail;
    }
    c
}

/// The rep's action for a case a second opinion escalated: the class's own step when a human
/// handles that class, else confirming the labels.
fn next_action(class: Option<ReplyClass>) -> NextAction {
    match class {
        Some(ReplyClass::MeetingRequest) => NextAction::ProposeMeetingTimes,
        Some(ReplyClass::PricingQuestion) => NextAction::SendPricing,
        Some(ReplyClass::Referral) => NextAction::ContactReferral,
        Some(ReplyClass::Question) => NextAction::AnswerQuestion,
        Some(ReplyClass::Objection) => NextAction::HandleObjection,
        Some(ReplyClass::Positive) => NextAction::CallToday,
        _ => NextAction::ConfirmQualification,
    }
}

/// The classification unchanged, plus one entry saying the judge gave no opinion and why.
pub fn without_opinion(mut c: Classification, error: &JudgeError, model: &str) -> Classification {
    c.evidence.push(Evidence {
        supports: UNAVAILABLE.to_string(),
        source: source(model),
        excerpt: clean(
            &format!("{error}; the rules' classification stands"),
            REASON_MAX,
        ),
        confidence: CERTAIN,
    });
    c
}

/// Text from outside made safe to show: control characters dropped, whitespace collapsed, at
/// most `max` characters (an ellipsis marks a cut).
fn clean(text: &str, max: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut out: String = joined.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most `max` characters of `text` (cut at a character boundary).
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JudgeKind;
    use crate::event::{Channel, MeetingStatus, Urgency};
    use crate::ids::{EmailAddress, SourceName};
    use crate::package::{
        AutomationAction, BuyerContext, HumanLane, Qualification, RiskFlag, TriggerKind,
    };

    const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

    fn evidence(supports: &str, confidence: u8) -> Evidence {
        Evidence {
            supports: supports.into(),
            source: "text".into(),
            excerpt: "back on Monday".into(),
            confidence,
        }
    }

    /// A reply the automation would handle: an away notice the rules are unsure about.
    fn unsure_reply() -> Classification {
        let source = SourceName::parse("vera").unwrap();
        Classification {
            motion: Motion::Outbound,
            trigger: TriggerKind::None,
            reply_class: Some(ReplyClass::OutOfOffice),
            qualification: Qualification::NeedsConfirmation,
            risk_flags: vec![RiskFlag::Pricing],
            human_decision: Some(HumanLane::Pricing),
            escalate: false,
            next_step: NextStep {
                action: NextAction::PauseUntilReturn,
                detail: "Pause the sequence until Monday.".into(),
            },
            buyer: BuyerContext {
                email: EmailAddress::parse("claire@tessaro.example").unwrap(),
                name: Some("Claire".into()),
                company: Some("Tessaro".into()),
                company_domain: None,
                role: None,
                country: None,
                employees: None,
                source: source.clone(),
                channel: Channel::Email,
                problem_statement: "away until Monday".into(),
            },
            motion_fields: MotionFields::Outbound {
                account_reason: "retail".into(),
                outreach_history: Vec::new(),
                reply_class: ReplyClass::OutOfOffice,
                suggested_next_step: "Pause the sequence until Monday.".into(),
                reply_owner: None,
            },
            automation: Some(AutomationAction {
                action: NextAction::PauseUntilReturn,
                reason: "away until Monday".into(),
                resume_on: None,
                alternate_contact: None,
            }),
            product_line: None,
            evidence: vec![
                evidence("trigger:none", 100),
                evidence("reply_class:out_of_office", 60),
                evidence("reply_class:meeting_request", 55),
                evidence("reply_class:out_of_office", 40),
                evidence("qualification:needs_confirmation", 100),
                evidence("risk_flag:pricing", 85),
                evidence("human_decision:pricing", 85),
            ],
            needs_confirmation: Some("out_of_office and meeting_request are close".into()),
        }
    }

    /// An inbound lead the rules would nurture.
    fn unsure_lead() -> Classification {
        let mut c = unsure_reply();
        c.motion = Motion::Inbound;
        c.reply_class = None;
        c.motion_fields = MotionFields::Inbound {
            source: SourceName::parse("alim").unwrap(),
            channel: Channel::Chat,
            qualification_answers: Vec::new(),
            urgency: Urgency::Medium,
            meeting_status: MeetingStatus::Offered,
            routing_reason: String::new(),
        };
        c.evidence
            .retain(|e| !e.supports.starts_with("reply_class:"));
        c
    }

    fn escalated(mut c: Classification) -> Classification {
        c.escalate = true;
        c.trigger = TriggerKind::PositiveReply;
        c.reply_class = Some(ReplyClass::Positive);
        c.automation = None;
        c.next_step = NextStep {
            action: NextAction::CallToday,
            detail: "Call today.".into(),
        };
        c
    }

    fn opinion(class: ReplyClass, escalate: bool) -> JudgeOpinion {
        JudgeOpinion {
            reply_class: class,
            escalate,
            reason: "The buyer proposes Thursday at 2pm.".into(),
        }
    }

    fn settings(kind: JudgeKind) -> JudgeSettings {
        JudgeSettings {
            kind,
            model_id: Some(MODEL.into()),
            ..JudgeSettings::default()
        }
    }

    /// `after` equals `before` plus `added` evidence entries at the end.
    fn only_evidence_added(before: &Classification, after: &Classification, added: usize) {
        let mut trimmed = after.clone();
        assert_eq!(trimmed.evidence.len(), before.evidence.len() + added);
        trimmed.evidence.truncate(before.evidence.len());
        assert_eq!(&trimmed, before);
    }

    #[test]
    fn asked_only_when_configured_and_unsure() {
        let unsure = unsure_reply();
        let mut sure = unsure_reply();
        sure.needs_confirmation = None;
        assert!(!should_ask(&settings(JudgeKind::None), &unsure));
        assert!(!should_ask(&settings(JudgeKind::Bedrock), &sure));
        assert!(should_ask(&settings(JudgeKind::Bedrock), &unsure));
        assert!(
            !should_ask(&JudgeSettings::default(), &unsure),
            "off by default"
        );
    }

    #[test]
    fn the_source_names_the_model() {
        assert_eq!(source(MODEL), format!("judge:{MODEL}"));
        assert_eq!(source("  "), "judge");
    }

    fn event(json: &str) -> IntakeEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_reply_is_sent_as_the_buyers_words_without_quoted_history() {
        let e = event(
            r#"{"type":"email_reply","source":"vera","channel":"email","provider_event_id":"m-1",
                "received_at":"2026-11-24T14:05:00Z","buyer":{"email":"claire@tessaro.example"},
                "subject":"Re: Northwind x Tessaro",
                "text":"Thursday at 2 works.\n\nOn Tue, Nov 3, 2026 at 9:00 AM Vera <vera@us.example> wrote:\n> would you like a demo?",
                "thread_id":"t-1"}"#,
        );
        let r = request(&e, &unsure_reply());
        assert_eq!(r.words, "Thursday at 2 works.");
        assert_eq!(r.subject.as_deref(), Some("Re: Northwind x Tessaro"));
        assert_eq!(r.motion, Motion::Outbound);
        assert_eq!(r.trigger, TriggerKind::None);
        assert!(!r.escalate);
        assert_eq!(
            r.unsure_because,
            "out_of_office and meeting_request are close"
        );
        assert_eq!(
            r.candidates,
            [
                (ReplyClass::OutOfOffice, 60),
                (ReplyClass::MeetingRequest, 55)
            ],
            "each class once, with its best confidence, best first"
        );
        assert_eq!(r.allowed, ReplyClass::ALL);
    }

    #[test]
    fn candidates_keep_the_chosen_class_first_among_equals_and_at_most_three() {
        let mut c = unsure_reply();
        c.evidence = ["question", "objection", "not_now", "positive"]
            .iter()
            .map(|l| evidence(&format!("reply_class:{l}"), 50))
            .collect();
        c.reply_class = Some(ReplyClass::NotNow);
        let got = candidates(&c);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (ReplyClass::NotNow, 50));
        assert_eq!(got[1], (ReplyClass::Question, 50));
    }

    #[test]
    fn long_words_and_subjects_are_cut_at_a_character_boundary() {
        let text = "ü".repeat(WORDS_MAX + 10);
        let subject = "é".repeat(SUBJECT_MAX + 1);
        let e = event(&format!(
            r#"{{"type":"email_reply","source":"vera","channel":"email","provider_event_id":"m-2",
                "received_at":"2026-11-24T14:05:00Z","buyer":{{"email":"a@b.example"}},
                "subject":"{subject}","text":"{text}","thread_id":"t-2"}}"#
        ));
        let r = request(&e, &unsure_reply());
        assert_eq!(r.words.chars().count(), WORDS_MAX);
        assert_eq!(r.subject.unwrap().chars().count(), SUBJECT_MAX);
    }

    #[test]
    fn inbound_events_send_their_own_words() {
        let form = event(
            r#"{"type":"form_lead","source":"website","channel":"web_form","provider_event_id":"f-1",
                "received_at":"2026-11-24T14:05:00Z","buyer":{"email":"a@b.example"},
                "message":"  Maybe later, what does it cost?  ","fields":{"utm_source":"ads"}}"#,
        );
        let r = request(&form, &unsure_lead());
        assert_eq!(r.words, "Maybe later, what does it cost?");
        assert_eq!(r.subject, None);
        assert!(r.candidates.is_empty());

        let lead = event(include_str!(
            "../../../examples/events/13-ambiguous-chat-lead.json"
        ));
        let r = request(&lead, &unsure_lead());
        assert!(
            r.words.starts_with("Reporting takes too long."),
            "{}",
            r.words
        );
        assert!(r
            .words
            .contains("Is there budget?: Not sure, depends on the price"));

        let meeting = event(include_str!(
            "../../../examples/events/11-meeting-no-show.json"
        ));
        let r = request(&meeting, &unsure_lead());
        assert!(r.subject.is_some());
    }

    #[test]
    fn a_judge_asking_for_a_human_escalates_a_quiet_reply() {
        let before = unsure_reply();
        let after = with_opinion(
            before.clone(),
            &opinion(ReplyClass::MeetingRequest, true),
            MODEL,
        );
        assert!(after.escalate);
        assert_eq!(after.automation, None);
        assert_eq!(after.trigger, TriggerKind::NeedsJudgment);
        assert_eq!(after.reply_class, Some(ReplyClass::MeetingRequest));
        assert_eq!(after.next_step.action, NextAction::ProposeMeetingTimes);
        let detail = &after.next_step.detail;
        assert!(
            detail.starts_with(&format!(
                "A second opinion ({MODEL}) asked for a human: The buyer proposes Thursday at 2pm."
            )),
            "{detail}"
        );
        assert!(detail.contains("(pause_until_return)"), "{detail}");
        match &after.motion_fields {
            MotionFields::Outbound {
                reply_class,
                suggested_next_step,
                ..
            } => {
                assert_eq!(*reply_class, ReplyClass::MeetingRequest);
                assert_eq!(suggested_next_step, detail);
            }
            other => panic!("{other:?}"),
        }
        // Flags, lane, qualification, buyer and the rules' own evidence stand.
        assert_eq!(after.risk_flags, before.risk_flags);
        assert_eq!(after.human_decision, before.human_decision);
        assert_eq!(after.qualification, before.qualification);
        assert_eq!(after.buyer, before.buyer);
        assert_eq!(after.needs_confirmation, before.needs_confirmation);
        assert_eq!(after.evidence[..before.evidence.len()], before.evidence[..]);
        let added = &after.evidence[before.evidence.len()..];
        let supports: Vec<&str> = added.iter().map(|e| e.supports.as_str()).collect();
        assert_eq!(
            supports,
            ["judge:reply_class:meeting_request", "judge:escalate:true"]
        );
        for e in added {
            assert_eq!(e.source, format!("judge:{MODEL}"));
            assert_eq!(e.excerpt, "The buyer proposes Thursday at 2pm.");
            assert_eq!(e.confidence, OPINION);
        }
    }

    #[test]
    fn an_escalation_with_a_class_the_automation_handles_keeps_the_rules_class() {
        let after = with_opinion(
            unsure_reply(),
            &opinion(ReplyClass::NotInterested, true),
            MODEL,
        );
        assert!(after.escalate);
        assert_eq!(after.reply_class, Some(ReplyClass::OutOfOffice));
        assert_eq!(after.next_step.action, NextAction::ConfirmQualification);
        assert!(matches!(
            after.motion_fields,
            MotionFields::Outbound {
                reply_class: ReplyClass::OutOfOffice,
                ..
            }
        ));
    }

    #[test]
    fn a_trigger_other_than_none_is_kept() {
        let mut c = unsure_reply();
        c.trigger = TriggerKind::MeetingCancelled;
        let after = with_opinion(c, &opinion(ReplyClass::Question, true), MODEL);
        assert_eq!(after.trigger, TriggerKind::MeetingCancelled);
        assert_eq!(
            after.reply_class,
            Some(ReplyClass::OutOfOffice),
            "a question is no buying signal"
        );
        assert_eq!(after.next_step.action, NextAction::ConfirmQualification);
    }

    #[test]
    fn an_inbound_lead_is_escalated_without_a_reply_class() {
        let before = unsure_lead();
        let after = with_opinion(
            before.clone(),
            &opinion(ReplyClass::PricingQuestion, true),
            MODEL,
        );
        assert!(after.escalate);
        assert_eq!(after.reply_class, None);
        assert_eq!(after.motion_fields, before.motion_fields);
        assert_eq!(after.trigger, TriggerKind::NeedsJudgment);
        assert_eq!(after.next_step.action, NextAction::ConfirmQualification);
    }

    #[test]
    fn a_judge_that_agrees_to_automate_changes_nothing_but_evidence() {
        let before = unsure_reply();
        let after = with_opinion(
            before.clone(),
            &opinion(ReplyClass::MeetingRequest, false),
            MODEL,
        );
        only_evidence_added(&before, &after, 2);
        assert_eq!(
            after.evidence.last().unwrap().supports,
            "judge:escalate:false"
        );
    }

    #[test]
    fn an_escalated_case_is_never_silenced_nor_reclassified() {
        for class in ReplyClass::ALL {
            for escalate in [false, true] {
                let before = escalated(unsure_reply());
                let after = with_opinion(before.clone(), &opinion(*class, escalate), MODEL);
                only_evidence_added(&before, &after, 2);
            }
        }
    }

    /// Every class × the judge's flag × the rules' decision × motion: the invariants.
    #[test]
    fn only_toward_a_human_in_every_combination() {
        for class in ReplyClass::ALL {
            for judge_escalates in [false, true] {
                for rules_escalate in [false, true] {
                    for base in [unsure_reply(), unsure_lead()] {
                        let before = if rules_escalate {
                            escalated(base)
                        } else {
                            base
                        };
                        let after =
                            with_opinion(before.clone(), &opinion(*class, judge_escalates), MODEL);
                        let case = format!(
                            "{class} judge={judge_escalates} rules={rules_escalate} {:?}",
                            before.motion
                        );
                        assert_eq!(after.escalate, rules_escalate || judge_escalates, "{case}");
                        assert_eq!(after.risk_flags, before.risk_flags, "{case}");
                        assert_eq!(after.human_decision, before.human_decision, "{case}");
                        assert_eq!(after.evidence.len(), before.evidence.len() + 2, "{case}");
                        if after.reply_class != before.reply_class {
                            let new = after.reply_class.expect("a class is never removed");
                            assert!(always_escalates(new), "{case}");
                            assert!(!rules_escalate, "{case}");
                        }
                        if after.escalate {
                            assert_eq!(after.automation, None, "{case}");
                            assert_ne!(after.trigger, TriggerKind::None, "{case}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_failure_keeps_the_rules_classification_and_says_why() {
        let before = unsure_reply();
        for (error, why) in [
            (JudgeError::Throttled, "throttled"),
            (JudgeError::Timeout, "timed out"),
            (
                JudgeError::Malformed("no toolUse block".into()),
                "malformed answer: no toolUse block",
            ),
            (
                JudgeError::Unavailable("AccessDeniedException".into()),
                "unavailable: AccessDeniedException",
            ),
            (
                JudgeError::DailyLimit(200),
                "daily limit of 200 calls reached",
            ),
        ] {
            let after = apply(before.clone(), &Err(error), MODEL);
            only_evidence_added(&before, &after, 1);
            let e = after.evidence.last().unwrap();
            assert_eq!(e.supports, UNAVAILABLE);
            assert_eq!(e.source, format!("judge:{MODEL}"));
            assert_eq!(e.confidence, CERTAIN);
            assert_eq!(
                e.excerpt,
                format!("{why}; the rules' classification stands")
            );
        }
        let escalated_before = escalated(unsure_reply());
        let after = apply(escalated_before.clone(), &Err(JudgeError::Timeout), MODEL);
        only_evidence_added(&escalated_before, &after, 1);
    }

    #[test]
    fn apply_takes_an_answer() {
        let after = apply(
            unsure_reply(),
            &Ok(opinion(ReplyClass::Referral, true)),
            MODEL,
        );
        assert_eq!(after.reply_class, Some(ReplyClass::Referral));
        assert_eq!(after.next_step.action, NextAction::ContactReferral);
    }

    #[test]
    fn the_judges_reason_is_cleaned_and_cut() {
        let mut o = opinion(ReplyClass::Question, true);
        o.reason = format!("line one\n\tline\u{7}two {}", "x".repeat(400));
        let after = with_opinion(unsure_reply(), &o, MODEL);
        let excerpt = &after.evidence.last().unwrap().excerpt;
        assert!(excerpt.starts_with("line one line two x"), "{excerpt}");
        assert_eq!(excerpt.chars().count(), REASON_MAX);
        assert!(excerpt.ends_with('…'));
        assert!(!after.next_step.detail.contains('\n'));

        o.reason = " \n ".into();
        let after = with_opinion(unsure_reply(), &o, "");
        assert_eq!(after.evidence.last().unwrap().excerpt, "(no reason given)");
        assert_eq!(after.evidence.last().unwrap().source, "judge");
        assert!(after
            .next_step
            .detail
            .starts_with("A second opinion asked for a human. The rules would"));
    }

    #[test]
    fn the_classes_that_always_escalate_follow_the_reference() {
        let always: Vec<&str> = ReplyClass::ALL
            .iter()
            .filter(|c| always_escalates(**c))
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            always,
            [
                "positive",
                "meeting_request",
                "pricing_question",
                "referral"
            ]
        );
    }

    #[test]
    fn an_unsure_question_escalated_by_the_judge_is_answered() {
        let mut c = unsure_reply();
        c.reply_class = Some(ReplyClass::Question);
        let after = with_opinion(c, &opinion(ReplyClass::Question, true), MODEL);
        assert_eq!(after.reply_class, Some(ReplyClass::Question));
        assert_eq!(after.next_step.action, NextAction::AnswerQuestion);
    }
}
