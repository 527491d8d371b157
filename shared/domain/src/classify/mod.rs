//! Classification: deterministic, explainable rules that turn an [`IntakeEvent`] into a
//! [`Classification`] (motion, trigger, reply class, qualification, risk flags, human-only lane,
//! escalate or not, next step, buyer context), every label with its evidence.

use crate::config::Rules;
use crate::event::IntakeEvent;
use crate::ids::RepId;
use crate::package::Classification;
use crate::ports::HandoffSummary;

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

/// Classifies an event. Pure and deterministic.
pub fn classify(event: &IntakeEvent, ctx: &MatchContext, rules: &Rules) -> Classification {
    let _ = (event, ctx, rules);
    unimplemented!("classification is being written")
}
