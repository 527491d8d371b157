//! The six-part handoff package and the judgment labels it carries.
//!
//! Labels serialise as stable snake_case strings: they are the public contract of
//! `handoff classify`, the CRM fields and the audit. `as_str()` and `Display` give that label;
//! what a person reads (a notification, a CRM note, a trace line, CLI output) is `phrase()`:
//! "demo request", "competitor evaluation", "follow up on the no-show".

use crate::event::{Channel, MeetingStatus, QualificationAnswer, Touch, Urgency};
use crate::ids::{CompanyDomain, EmailAddress, HandoffId, RepId, SourceName, TeamId};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! label_enum {
    (@phrase $text:literal) => { std::borrow::Cow::Owned($text.replace('_', " ")) };
    (@phrase $text:literal, $phrase:literal) => { std::borrow::Cow::Borrowed($phrase) };
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal $(/ $phrase:literal)?),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable snake_case label.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// Parses a snake_case label.
            pub fn from_label(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
            /// The value as a person reads it: the label with spaces, or the phrase given
            /// after `/` where that reads better.
            pub fn phrase(self) -> std::borrow::Cow<'static, str> {
                match self { $($name::$variant => label_enum!(@phrase $text $(, $phrase)?)),+ }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

label_enum!(
    /// Inbound (the buyer came to us) or outbound (the buyer answered our outreach).
    Motion { Inbound => "inbound", Outbound => "outbound" }
);

label_enum!(
    /// Why a handoff is escalated now (or, for `none`, why it is not).
    TriggerKind {
        DemoRequest => "demo_request",
        MeetingRequest => "meeting_request",
        MeetingBooked => "meeting_booked",
        MeetingCancelled => "meeting_cancelled",
        MeetingNoShow => "meeting_no_show" / "meeting no-show",
        PricingRequest => "pricing_request",
        PositiveReply => "positive_reply",
        Referral => "referral",
        EnterpriseFit => "enterprise_fit",
        QualificationThreshold => "qualification_threshold",
        SecurityReview => "security_review",
        LegalReview => "legal_review",
        ProcurementRequest => "procurement_request",
        ComplexObjection => "complex_objection",
        ProductQuestion => "product_question",
        StrategicAccountEngagement => "strategic_account_engagement",
        NeedsJudgment => "needs_judgment",
        /// Nothing to escalate: the automation handles it.
        None => "none",
    }
);

label_enum!(
    /// The class of an outbound reply (see `reference/classification.md`).
    ReplyClass {
        Positive => "positive",
        MeetingRequest => "meeting_request",
        PricingQuestion => "pricing_question",
        Referral => "referral",
        Question => "question",
        Objection => "objection",
        NotNow => "not_now",
        NotInterested => "not_interested",
        Unsubscribe => "unsubscribe",
        OutOfOffice => "out_of_office",
        WrongPerson => "wrong_person",
        AutoReply => "auto_reply" / "auto-reply",
    }
);

label_enum!(
    /// How far qualification got.
    Qualification {
        Qualified => "qualified",
        PartiallyQualified => "partially_qualified",
        NeedsConfirmation => "needs_confirmation",
        Disqualified => "disqualified",
    }
);

label_enum!(
    /// What could go wrong with this handoff.
    RiskFlag {
        LegalReview => "legal_review",
        SecurityReview => "security_review",
        Pricing => "pricing",
        Procurement => "procurement",
        CompetitorEval => "competitor_eval" / "competitor evaluation",
        DuplicateRecord => "duplicate_record",
        Enterprise => "enterprise",
        AngryBuyer => "angry_buyer",
        UnclearUseCase => "unclear_use_case",
        ChannelSwitch => "channel_switch",
        ExistingCustomer => "existing_customer",
    }
);

label_enum!(
    /// Decisions only a human may take; at most one lane per handoff.
    HumanLane {
        Pricing => "pricing",
        Procurement => "procurement",
        LegalReview => "legal_review",
        SecurityReview => "security_review",
        Negotiation => "negotiation",
        CustomPackaging => "custom_packaging",
    }
);

label_enum!(
    /// The recommended next human (or automated) action.
    NextAction {
        CallToday => "call_today",
        SendPricing => "send_pricing",
        RunDiscovery => "run_discovery",
        ConfirmQualification => "confirm_qualification",
        VerifySecurityNeeds => "verify_security_needs",
        StartLegalReview => "start_legal_review",
        EngageProcurement => "engage_procurement",
        PrepareMeeting => "prepare_meeting",
        ProposeMeetingTimes => "propose_meeting_times",
        ContactReferral => "contact_referral",
        AnswerQuestion => "answer_question",
        HandleObjection => "handle_objection",
        RescheduleMeeting => "reschedule_meeting",
        FollowUpNoShow => "follow_up_no_show" / "follow up on the no-show",
        DeescalateAndCall => "deescalate_and_call" / "de-escalate and call",
        MergeDuplicate => "merge_duplicate",
        /// Automation: pause the sequence and retry after the return date.
        PauseUntilReturn => "pause_until_return" / "pause until they return",
        /// Automation: suppress the contact everywhere.
        Suppress => "suppress",
        /// Automation: move to a nurture track.
        Nurture => "nurture",
        /// Automation: close the thread.
        CloseThread => "close_thread",
        /// Automation: find the right contact at the account.
        FindRightContact => "find_right_contact",
        /// Automation: nothing to do for a machine reply.
        IgnoreAutoReply => "ignore_auto_reply" / "ignore the auto-reply",
    }
);

/// A phrase or field that caused a label, so every judgment is explainable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// What it supports, e.g. `risk_flag:security_review` or `reply_class:referral`.
    pub supports: String,
    /// Where it was found: `text`, `subject`, `field:seats`, `answer:budget`, `match:open_handoff`…
    pub source: String,
    /// The matched phrase or value, verbatim (short).
    pub excerpt: String,
    /// How strongly this evidence supports the label, in percent: near 100 for a machine header
    /// or an explicit stop request, lower for a phrase that could mean something else, the
    /// model's probability for a learned label. Records written before confidences existed read
    /// as 100.
    #[serde(default = "certain")]
    pub confidence: u8,
}

/// The confidence of evidence that cannot mean anything else.
pub const CERTAIN: u8 = 100;

fn certain() -> u8 {
    CERTAIN
}

/// The recommended next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NextStep {
    pub action: NextAction,
    /// A sentence the rep can act on.
    pub detail: String,
}

/// Who the buyer is and what they want, compressed for a rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BuyerContext {
    pub email: EmailAddress,
    pub name: Option<String>,
    pub company: Option<String>,
    pub company_domain: Option<CompanyDomain>,
    pub role: Option<String>,
    pub country: Option<String>,
    pub employees: Option<u32>,
    pub source: SourceName,
    pub channel: Channel,
    /// The buyer's problem in one or two sentences (their words where possible).
    pub problem_statement: String,
}

/// Fields that differ between inbound and outbound handoffs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "motion", rename_all = "snake_case")]
pub enum MotionFields {
    Inbound {
        source: SourceName,
        channel: Channel,
        qualification_answers: Vec<QualificationAnswer>,
        urgency: Urgency,
        meeting_status: MeetingStatus,
        /// Filled by routing: why this owner.
        routing_reason: String,
    },
    Outbound {
        account_reason: String,
        outreach_history: Vec<Touch>,
        reply_class: ReplyClass,
        suggested_next_step: String,
        /// Filled by routing: who owns the reply.
        reply_owner: Option<RepId>,
    },
}

/// What the automation does instead of escalating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AutomationAction {
    pub action: NextAction,
    pub reason: String,
    /// When to resume: the return date of an away notice, or the date a not-now reply asked for.
    pub resume_on: Option<NaiveDate>,
    /// An alternate contact named in an away note or referral.
    pub alternate_contact: Option<String>,
}

/// Everything classification decides about one event (routing not yet run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Classification {
    pub motion: Motion,
    pub trigger: TriggerKind,
    pub reply_class: Option<ReplyClass>,
    pub qualification: Qualification,
    /// Sorted, without repeats; each has an [`Evidence`] whose `supports` is `risk_flag:<label>`.
    pub risk_flags: Vec<RiskFlag>,
    pub human_decision: Option<HumanLane>,
    pub escalate: bool,
    pub next_step: NextStep,
    pub buyer: BuyerContext,
    pub motion_fields: MotionFields,
    /// Set when escalation is not needed.
    pub automation: Option<AutomationAction>,
    /// Product line inferred from the event, used by routing.
    pub product_line: Option<String>,
    /// Why: one entry per trigger, class, qualification, flag and lane (`supports` names which).
    pub evidence: Vec<Evidence>,
    /// Set when the judgment is unsure (the top two reply classes are close, or nothing matched
    /// strongly), saying why; the rep is asked to confirm the labels before acting on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_confirmation: Option<String>,
}

impl Classification {
    /// Whether a flag is raised.
    pub fn has_flag(&self, flag: RiskFlag) -> bool {
        self.risk_flags.contains(&flag)
    }
}

/// The chosen owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Owner {
    /// A rep, or `None` when the handoff sits in a shared queue.
    pub rep: Option<RepId>,
    pub team: TeamId,
    /// Human-readable: "Lena Fischer (EMEA AE)" or "shared queue: sales-queue".
    pub display: String,
    /// Where the owner is notified, e.g. `slack:@lena` or `email:lena@us.example`.
    pub notify: String,
}

/// The service-level deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Sla {
    /// Business minutes allowed, on the owner's calendar.
    pub business_minutes: u32,
    pub deadline: DateTime<Utc>,
    /// Which policy applied, e.g. `inbound/hot`.
    pub policy: String,
}

/// One routing layer's decision, for the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TraceStep {
    /// The layer: `escalation`, `existing_owner`, `account_owner`, `territory`, `segment`,
    /// `product_line`, `human_lane`, `round_robin`, `sla`, `failover`.
    pub layer: String,
    /// What it decided and why.
    pub outcome: String,
}

/// The complete six-part handoff package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HandoffPackage {
    pub handoff_id: HandoffId,
    #[serde(flatten)]
    pub classification: Classification,
    pub owner: Option<Owner>,
    pub sla: Option<Sla>,
    pub routing: Vec<TraceStep>,
}

label_enum!(
    /// A CRM field handoff fills. Common fields first, then inbound-only, then outbound-only
    /// (the mission: inbound and outbound write different fields). Adapters map each to a
    /// property / field name from the configuration.
    CrmField {
        HandoffId => "handoff_id" / "handoff ID",
        Motion => "motion",
        Trigger => "trigger",
        Qualification => "qualification",
        RiskFlags => "risk_flags",
        HumanLane => "human_lane",
        NextStep => "next_step",
        Source => "source",
        Channel => "channel",
        QualificationAnswers => "qualification_answers",
        Urgency => "urgency",
        MeetingStatus => "meeting_status",
        RoutingReason => "routing_reason",
        AccountReason => "account_reason",
        OutreachHistory => "outreach_history",
        ReplyClass => "reply_class",
        SuggestedNextStep => "suggested_next_step",
        ReplyOwner => "reply_owner",
    }
);

impl HandoffPackage {
    /// The CRM fields of this package with their values as text: the common fields, then the
    /// inbound fields (source, channel, qualification answers, urgency, meeting status, routing
    /// reason) or the outbound ones (account reason, outreach history, reply class, suggested
    /// next step, reply owner). Empty values are left out.
    pub fn crm_fields(&self) -> Vec<(CrmField, String)> {
        let c = &self.classification;
        let mut out = vec![
            (CrmField::HandoffId, self.handoff_id.to_string()),
            (CrmField::Motion, c.motion.to_string()),
            (CrmField::Trigger, c.trigger.to_string()),
            (CrmField::Qualification, c.qualification.to_string()),
            (
                CrmField::RiskFlags,
                c.risk_flags
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            (
                CrmField::HumanLane,
                c.human_decision.map(|l| l.to_string()).unwrap_or_default(),
            ),
            (
                CrmField::NextStep,
                format!("{}: {}", c.next_step.action, c.next_step.detail),
            ),
        ];
        match &c.motion_fields {
            MotionFields::Inbound {
                source,
                channel,
                qualification_answers,
                urgency,
                meeting_status,
                routing_reason,
            } => {
                let answers = qualification_answers
                    .iter()
                    .map(|a| {
                        let met = match a.met {
                            Some(true) => " (met)",
                            Some(false) => " (not met)",
                            None => "",
                        };
                        format!(
                            "{}: {}{met}",
                            crate::render::escape::plain_line(&a.question),
                            crate::render::escape::plain_line(&a.answer)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let urgency = serde_json::to_value(urgency)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let meeting = match meeting_status {
                    MeetingStatus::NotOffered => "not_offered".to_string(),
                    MeetingStatus::Offered => "offered".to_string(),
                    MeetingStatus::Booked { starts_at } => {
                        format!("booked {}", starts_at.format("%Y-%m-%dT%H:%M:%SZ"))
                    }
                    MeetingStatus::Declined => "declined".to_string(),
                };
                out.extend([
                    (CrmField::Source, source.to_string()),
                    (CrmField::Channel, channel.as_str().to_string()),
                    (CrmField::QualificationAnswers, answers),
                    (CrmField::Urgency, urgency),
                    (CrmField::MeetingStatus, meeting),
                    (CrmField::RoutingReason, routing_reason.clone()),
                ]);
            }
            MotionFields::Outbound {
                account_reason,
                outreach_history,
                reply_class,
                suggested_next_step,
                reply_owner,
            } => {
                let history = outreach_history
                    .iter()
                    .map(|t| {
                        format!(
                            "step {} · {} · {}{}",
                            t.step,
                            t.channel.as_str(),
                            t.sent_at.format("%Y-%m-%d"),
                            if t.summary.is_empty() {
                                String::new()
                            } else {
                                format!(" · {}", t.summary)
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                out.extend([
                    (CrmField::AccountReason, account_reason.clone()),
                    (CrmField::OutreachHistory, history),
                    (CrmField::ReplyClass, reply_class.to_string()),
                    (CrmField::SuggestedNextStep, suggested_next_step.clone()),
                    (
                        CrmField::ReplyOwner,
                        reply_owner
                            .as_ref()
                            .map(|r| r.to_string())
                            .unwrap_or_default(),
                    ),
                ]);
            }
        }
        out.retain(|(_, v)| !v.trim().is_empty());
        out
    }
}
