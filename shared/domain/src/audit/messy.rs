//! The messy cases to read by hand each week: ambiguous qualification, duplicates, channel
//! switches, pricing requests, enterprise accounts, angry or skeptical buyers and failovers.
//!
//! The sample is the first [`SAMPLES_PER_KIND`] handoffs of each kind in the order the store
//! lists the week (oldest first), so the same week always gives the same sample. A handoff can be
//! in several kinds.

use super::figures::HandoffFacts;
use crate::ids::HandoffId;
use crate::package::{Qualification, ReplyClass, RiskFlag};
use serde::Serialize;
use std::collections::BTreeMap;

/// Handoffs sampled per kind.
pub const SAMPLES_PER_KIND: usize = 3;

/// A kind of messy case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessyKind {
    AmbiguousQualification,
    DuplicateRecord,
    ChannelSwitch,
    PricingRequest,
    EnterpriseAccount,
    AngryOrSkeptical,
    Failover,
}

impl MessyKind {
    /// Every kind, in the order the report lists them.
    pub const ALL: [MessyKind; 7] = [
        MessyKind::AmbiguousQualification,
        MessyKind::DuplicateRecord,
        MessyKind::ChannelSwitch,
        MessyKind::PricingRequest,
        MessyKind::EnterpriseAccount,
        MessyKind::AngryOrSkeptical,
        MessyKind::Failover,
    ];

    /// The stable snake_case label (the key in `samples`).
    pub fn as_str(self) -> &'static str {
        match self {
            MessyKind::AmbiguousQualification => "ambiguous_qualification",
            MessyKind::DuplicateRecord => "duplicate_record",
            MessyKind::ChannelSwitch => "channel_switch",
            MessyKind::PricingRequest => "pricing_request",
            MessyKind::EnterpriseAccount => "enterprise_account",
            MessyKind::AngryOrSkeptical => "angry_or_skeptical",
            MessyKind::Failover => "failover",
        }
    }

    /// The kind as a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            MessyKind::AmbiguousQualification => "Ambiguous qualification",
            MessyKind::DuplicateRecord => "Duplicates",
            MessyKind::ChannelSwitch => "Channel switches",
            MessyKind::PricingRequest => "Pricing requests",
            MessyKind::EnterpriseAccount => "Enterprise accounts",
            MessyKind::AngryOrSkeptical => "Angry or skeptical buyers",
            MessyKind::Failover => "Failovers",
        }
    }
}

/// One sampled handoff and why it is in the sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessyCase {
    pub kind: MessyKind,
    pub handoff_id: HandoffId,
    /// Why, in a few words: "flagged as pricing", "rerouted after a missed SLA".
    pub why: String,
}

/// Why a handoff is a case of `kind`, or `None` when it is not one.
fn why(kind: MessyKind, h: &HandoffFacts<'_>) -> Option<String> {
    let c = h.record.classification.as_ref();
    let flagged = |flag: RiskFlag, text: &str| {
        c.filter(|c| c.has_flag(flag))
            .map(|_| format!("flagged as {text}"))
    };
    match kind {
        MessyKind::AmbiguousQualification => {
            let c = c?;
            if c.qualification == Qualification::NeedsConfirmation {
                Some("qualification needs confirmation".to_string())
            } else {
                flagged(RiskFlag::UnclearUseCase, "an unclear use case")
            }
        }
        MessyKind::DuplicateRecord => flagged(RiskFlag::DuplicateRecord, "a duplicate record"),
        MessyKind::ChannelSwitch => flagged(RiskFlag::ChannelSwitch, "a channel switch"),
        MessyKind::PricingRequest => flagged(RiskFlag::Pricing, "pricing"),
        MessyKind::EnterpriseAccount => flagged(RiskFlag::Enterprise, "an enterprise account"),
        MessyKind::AngryOrSkeptical => {
            flagged(RiskFlag::AngryBuyer, "an angry buyer").or_else(|| {
                c.filter(|c| c.reply_class == Some(ReplyClass::Objection))
                    .map(|_| "the reply is an objection".to_string())
            })
        }
        MessyKind::Failover => {
            let has = |label: &str| h.timeline.iter().any(|e| e.event == label);
            if has("rerouted_sla_missed") {
                Some("rerouted after a missed SLA".to_string())
            } else if has("rerouted_unreachable") {
                Some("rerouted: the owner could not be notified".to_string())
            } else if has("escalated") {
                Some("escalated to the team lead or queue".to_string())
            } else {
                None
            }
        }
    }
}

/// The sampled cases, kind by kind.
pub fn sample(facts: &[HandoffFacts<'_>]) -> Vec<MessyCase> {
    let mut cases = Vec::new();
    for kind in MessyKind::ALL {
        cases.extend(
            facts
                .iter()
                .filter(|h| !h.attached)
                .filter_map(|h| {
                    why(kind, h).map(|why| MessyCase {
                        kind,
                        handoff_id: h.record.id.clone(),
                        why,
                    })
                })
                .take(SAMPLES_PER_KIND),
        );
    }
    cases
}

/// The sampled ids by kind label (the report's `samples`: only kinds with a case).
pub fn ids_by_kind(cases: &[MessyCase]) -> BTreeMap<String, Vec<HandoffId>> {
    let mut out: BTreeMap<String, Vec<HandoffId>> = BTreeMap::new();
    for c in cases {
        out.entry(c.kind.as_str().to_string())
            .or_default()
            .push(c.handoff_id.clone());
    }
    out
}
