//! Classification: turns an [`IntakeEvent`] into the judgment parts of the handoff package
//! (motion, trigger, reply class, qualification, risk flags, human-only lane, escalate or not,
//! next step, buyer context), every label with its evidence.
//!
//! Deterministic, explainable rules: no model, no randomness, no I/O. The label definitions and
//! their precedence are `reference/classification.md`; the choices made where it leaves room
//! are written beside the rule that makes them.
//!
//! Layout, in reading order:
//! - [`text`]: normalisation, word-boundary phrase matching with negation, verbatim excerpts.
//! - [`lexicon`]: the phrase lists, by label.
//! - [`dates`] and [`contact`]: return dates, deferrals, referred people.
//! - [`flags`]: risk flags and the human-only lane; [`bant`]: qualification signals in text.
//! - [`reply`] and [`ooo`]: the class of an outbound reply, away notices.
//! - [`outbound`] and [`inbound`]: trigger, qualification and escalation per motion.
//! - [`next_step`]: the rep's next step or the automation's action.
//! - [`buyer`]: buyer context, problem statement, product line, motion fields.

mod bant;
pub mod blend;
mod buyer;
mod contact;
mod dates;
mod flags;
mod inbound;
mod lexicon;
pub mod model;
mod next_step;
mod ooo;
mod outbound;
mod reply;
mod text;
pub mod training;

use crate::config::Rules;
use crate::event::{EventKind, IntakeEvent};
use crate::ids::RepId;
use crate::package::{
    AutomationAction, Classification, Evidence, HumanLane, Motion, Qualification, ReplyClass,
    RiskFlag, TriggerKind, CERTAIN,
};
use crate::ports::HandoffSummary;
pub use blend::Judging;
use chrono::NaiveDate;
use contact::{Contact, Exclusions};
use inbound::MeetingOutcome;
pub use model::Model;
use std::collections::BTreeMap;
use text::Doc;

/// What the store knows about this buyer, gathered before classification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchContext {
    /// Earlier handoffs for the same contact email (this event's own handoff excluded), newest first.
    pub same_contact: Vec<HandoffSummary>,
    /// Earlier handoffs for the same company domain (this event's own handoff excluded), newest first.
    pub same_domain: Vec<HandoffSummary>,
    /// The account's owner, configured or learned, if any.
    pub account_owner: Option<RepId>,
    /// The account is a customer (configured).
    pub existing_customer: bool,
}

/// Classifies an event with the rules and the committed reply model. Pure and deterministic.
pub fn classify(event: &IntakeEvent, ctx: &MatchContext, rules: &Rules) -> Classification {
    classify_with(event, ctx, rules, Judging::Combined, model::committed())
}

/// Classifies an event, choosing who decides reply classes and with which model (`handoff
/// eval` measures each judging, and a freshly trained model before it is committed).
pub fn classify_with(
    event: &IntakeEvent,
    ctx: &MatchContext,
    rules: &Rules,
    judging: Judging,
    model: &Model,
) -> Classification {
    let mut input = Input::new(event, ctx, rules);
    input.judging = judging;
    input.model = model;
    let flags = flags::risk_flags(&input);
    let verdict = match &event.kind {
        EventKind::EmailReply(reply) => outbound::judge(&input, reply, flags),
        EventKind::FormLead(form) => inbound::form_lead(&input, form, flags),
        EventKind::QualifiedLead(lead) => inbound::qualified_lead(&input, lead, flags),
        EventKind::MeetingBooked(m) => inbound::meeting(&input, m, MeetingOutcome::Booked, flags),
        EventKind::MeetingCancelled(m) => {
            inbound::meeting(&input, m, MeetingOutcome::Cancelled, flags)
        }
        EventKind::MeetingNoShow(m) => inbound::meeting(&input, m, MeetingOutcome::NoShow, flags),
    };
    let (next_step, automation) = next_step::decide(&input, &verdict);
    let mut evidence = vec![verdict
        .trigger
        .1
        .supports(format!("trigger:{}", verdict.trigger.0))];
    if let Some((class, found)) = &verdict.reply_class {
        evidence.push(found.supports(format!("reply_class:{class}")));
    }
    evidence.push(
        verdict
            .qualification
            .1
            .supports(format!("qualification:{}", verdict.qualification.0)),
    );
    for (flag, found) in &verdict.flags {
        evidence.push(found.supports(format!("risk_flag:{flag}")));
    }
    if let Some((lane, found)) = &verdict.lane {
        evidence.push(found.supports(format!("human_decision:{lane}")));
    }
    if let Some((kind, found)) = &verdict.objection_kind {
        evidence.push(found.supports(format!("objection_kind:{kind}")));
    }
    if let Some(found) = &verdict.on_behalf {
        evidence.push(found.supports("sender:on_behalf_of_contact".to_string()));
    }
    let motion_fields = buyer::motion_fields(&input, &verdict, &next_step.detail);
    Classification {
        motion: verdict.motion,
        trigger: verdict.trigger.0,
        reply_class: verdict.reply_class.as_ref().map(|(c, _)| *c),
        qualification: verdict.qualification.0,
        risk_flags: verdict.flags.keys().copied().collect(),
        human_decision: verdict.lane.as_ref().map(|(l, _)| *l),
        escalate: verdict.escalate,
        next_step,
        buyer: buyer::buyer_context(&input),
        motion_fields,
        automation,
        product_line: buyer::product_line(&input, &verdict),
        evidence,
        needs_confirmation: verdict.needs_confirmation,
    }
}

/// Where a label came from, before it is tied to the label: the source and the words, and how
/// strongly they support it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub source: String,
    pub excerpt: String,
    /// Percent; see [`Evidence::confidence`](crate::package::Evidence::confidence).
    pub confidence: u8,
}

/// The confidence of a phrase found in the buyer's words: it usually means the label, but
/// wording can mislead (quotes, irony, a phrase in another sense).
pub(crate) const PHRASE: u8 = 85;

impl Found {
    /// Evidence found at `source` (`text`, `field:seats`, `rule`…). A phrase in the buyer's words
    /// (`text`, `subject`, `answer:*`) gets [`PHRASE`]; headers, fields, matches and rules that
    /// follow from other labels are certain.
    pub fn new(source: impl Into<String>, excerpt: impl Into<String>) -> Self {
        let source = source.into();
        let confidence = if source == "text" || source == "subject" || source.starts_with("answer:")
        {
            PHRASE
        } else {
            CERTAIN
        };
        Self {
            source,
            excerpt: excerpt.into(),
            confidence,
        }
    }

    /// The same evidence with another confidence.
    pub fn with_confidence(mut self, confidence: u8) -> Self {
        self.confidence = confidence.min(CERTAIN);
        self
    }

    /// This evidence, supporting `label`.
    pub fn supports(&self, label: String) -> Evidence {
        Evidence {
            supports: label,
            source: self.source.clone(),
            excerpt: self.excerpt.clone(),
            confidence: self.confidence,
        }
    }
}

/// Raised risk flags with their evidence, sorted by flag.
pub(crate) type Flags = BTreeMap<RiskFlag, Found>;

/// Everything the rules read about one event, prepared once.
pub(crate) struct Input<'a> {
    pub event: &'a IntakeEvent,
    pub ctx: &'a MatchContext,
    pub rules: &'a Rules,
    /// The day intake received the event (resolves "back on Monday").
    pub received: NaiveDate,
    /// The buyer's own words: message, reply, transcript, answers, form fields, meeting notes.
    pub words: Doc,
    /// Names and addresses that are never a referral.
    pub exclusions: Exclusions,
    /// Who decides reply classes.
    pub judging: Judging,
    /// The reply model.
    pub model: &'a Model,
}

impl<'a> Input<'a> {
    pub(crate) fn new(event: &'a IntakeEvent, ctx: &'a MatchContext, rules: &'a Rules) -> Self {
        Self {
            event,
            ctx,
            rules,
            received: event.received_at.date_naive(),
            words: buyer::buyer_words(event),
            exclusions: Exclusions::new(event.buyer(), rules),
            judging: Judging::Combined,
            model: model::committed(),
        }
    }

    /// The buyer's display name: their name, else their email.
    pub fn buyer_name(&self) -> String {
        let b = self.event.buyer();
        b.name.clone().unwrap_or_else(|| b.email.to_string())
    }

    /// The buyer's company, stated or from a company email domain.
    pub fn company_name(&self) -> Option<String> {
        let b = self.event.buyer();
        b.company
            .clone()
            .or_else(|| self.event.company_domain().map(|d| d.to_string()))
    }

    /// The buyer's company, else "the account".
    pub fn company(&self) -> String {
        self.company_name()
            .unwrap_or_else(|| "the account".to_string())
    }
}

/// Why the automation (not a human) handles an event, decided by the motion's rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Handling {
    /// A human takes it.
    Escalate,
    /// Away notice: pause until the return date, note the alternate contact.
    PauseUntilReturn {
        resume_on: Option<(NaiveDate, String)>,
        alternate: Option<Contact>,
    },
    /// Machine mail; `bounce` when the address failed.
    IgnoreAutoReply { bounce: bool },
    /// Stop contact.
    Suppress,
    /// Come back later.
    Nurture {
        resume_on: Option<(NaiveDate, String)>,
    },
    /// Close the thread or lead.
    Close,
    /// Find the right person at the account.
    FindRightContact,
    /// A product question with no buying signal: the sales agent answers it.
    AgentAnswers,
}

/// The labels one motion's rules decided, each with its evidence.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub motion: Motion,
    pub trigger: (TriggerKind, Found),
    pub reply_class: Option<(ReplyClass, Found)>,
    pub qualification: (Qualification, Found),
    pub flags: Flags,
    pub lane: Option<(HumanLane, Found)>,
    pub escalate: bool,
    pub handling: Handling,
    /// The person a referral points to.
    pub referral: Option<Contact>,
    /// Why the judgment needs a human to confirm it, when it does.
    pub needs_confirmation: Option<String>,
    /// Which push-back a reply makes (`bad_timing`, `no_budget`, `has_solution`, `no_need`,
    /// `other`), for objections, deferrals and declines.
    pub objection_kind: Option<(&'static str, Found)>,
    /// The reply was written for the person emailed by someone else (an assistant, a deputy).
    pub on_behalf: Option<Found>,
}

impl Verdict {
    /// Whether a flag is raised.
    pub fn has(&self, flag: RiskFlag) -> bool {
        self.flags.contains_key(&flag)
    }
}

/// An automation action with its reason (used by [`next_step`]).
pub(crate) fn automation(
    action: crate::package::NextAction,
    reason: String,
    resume_on: Option<NaiveDate>,
    alternate_contact: Option<String>,
) -> AutomationAction {
    AutomationAction {
        action,
        reason,
        resume_on,
        alternate_contact,
    }
}
