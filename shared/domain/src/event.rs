//! Canonical intake events: what every provider payload becomes at the boundary.
//!
//! The JSON form (`{"type": "form_lead", ...}`) is also the body of the local `/v1/events`
//! endpoint and of `handoff classify`.

use crate::ids::{CompanyDomain, EmailAddress, ProviderEventId, SourceName};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One event that may become a handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntakeEvent {
    /// The system that produced the event (`website`, `typeform`, `alim`, `vera`, `calendly`…).
    pub source: SourceName,
    /// The channel the buyer used.
    pub channel: Channel,
    /// The provider's id for this event; replays carry the same id.
    pub provider_event_id: ProviderEventId,
    /// When intake received it.
    pub received_at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The channel the buyer used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    WebForm,
    Email,
    Chat,
    Phone,
    Meeting,
    Whatsapp,
    Sms,
    Linkedin,
}

impl Channel {
    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WebForm => "web_form",
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Phone => "phone",
            Channel::Meeting => "meeting",
            Channel::Whatsapp => "whatsapp",
            Channel::Sms => "sms",
            Channel::Linkedin => "linkedin",
        }
    }
}

/// The event-specific part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A plain inbound web form submission.
    FormLead(FormLead),
    /// An inbound lead an AI agent (e.g. Alim) already qualified.
    QualifiedLead(QualifiedLead),
    /// A buyer's reply to outbound outreach (e.g. Vera's sequence).
    EmailReply(EmailReply),
    /// A meeting was booked.
    MeetingBooked(MeetingEvent),
    /// A meeting was cancelled.
    MeetingCancelled(MeetingEvent),
    /// The buyer did not show up.
    MeetingNoShow(MeetingEvent),
}

impl EventKind {
    /// The snake_case tag.
    pub fn label(&self) -> &'static str {
        match self {
            EventKind::FormLead(_) => "form_lead",
            EventKind::QualifiedLead(_) => "qualified_lead",
            EventKind::EmailReply(_) => "email_reply",
            EventKind::MeetingBooked(_) => "meeting_booked",
            EventKind::MeetingCancelled(_) => "meeting_cancelled",
            EventKind::MeetingNoShow(_) => "meeting_no_show",
        }
    }

    /// The person the event is about.
    pub fn buyer(&self) -> &Buyer {
        match self {
            EventKind::FormLead(e) => &e.buyer,
            EventKind::QualifiedLead(e) => &e.buyer,
            EventKind::EmailReply(e) => &e.buyer,
            EventKind::MeetingBooked(e)
            | EventKind::MeetingCancelled(e)
            | EventKind::MeetingNoShow(e) => &e.buyer,
        }
    }
}

impl EventKind {
    /// The person the event is about, mutably (fixtures and benches vary it).
    pub fn buyer_mut(&mut self) -> &mut Buyer {
        match self {
            EventKind::FormLead(e) => &mut e.buyer,
            EventKind::QualifiedLead(e) => &mut e.buyer,
            EventKind::EmailReply(e) => &mut e.buyer,
            EventKind::MeetingBooked(e)
            | EventKind::MeetingCancelled(e)
            | EventKind::MeetingNoShow(e) => &mut e.buyer,
        }
    }
}

impl IntakeEvent {
    /// The buyer this event is about.
    pub fn buyer(&self) -> &Buyer {
        self.kind.buyer()
    }

    /// The company domain: stated, or derived from a non-free-mail address.
    pub fn company_domain(&self) -> Option<CompanyDomain> {
        let b = self.buyer();
        b.company_domain
            .clone()
            .or_else(|| b.email.company_domain())
    }
}

/// Who the buyer is, as far as the event tells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    pub email: EmailAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Explicit company domain; otherwise derived from the email when not free mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_domain: Option<CompanyDomain>,
    /// Job title or role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// ISO 3166-1 alpha-2 country code (e.g. `DE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Employee count, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employees: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A plain inbound web form submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormLead {
    pub buyer: Buyer,
    /// The free-text message.
    #[serde(default)]
    pub message: String,
    /// Product line the buyer picked, if the form asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_interest: Option<String>,
    /// Seats or licences the buyer mentions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    /// Remaining form fields (UTM, hidden fields) by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// An inbound lead qualified by an AI agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualifiedLead {
    pub buyer: Buyer,
    /// The agent's name (e.g. `alim`).
    pub agent: String,
    /// Question/answer pairs the agent collected.
    #[serde(default)]
    pub answers: Vec<QualificationAnswer>,
    #[serde(default)]
    pub urgency: Urgency,
    #[serde(default)]
    pub meeting: MeetingStatus,
    /// A short excerpt of the conversation, the buyer's own words.
    #[serde(default)]
    pub transcript_excerpt: String,
    /// The agent's fit score 0–100, when it computes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_interest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
}

/// One qualification criterion and what the buyer said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationAnswer {
    pub criterion: Criterion,
    pub question: String,
    pub answer: String,
    /// Whether the agent judged the criterion met; `None` when the answer was unclear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

/// Qualification criteria (BANT plus use case).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    Budget,
    Authority,
    Need,
    Timeline,
    UseCase,
    Other,
}

/// How urgent the buyer says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Unknown,
    Low,
    Medium,
    High,
}

/// Meeting status as the inbound agent left it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum MeetingStatus {
    #[default]
    NotOffered,
    Offered,
    Booked {
        starts_at: DateTime<Utc>,
    },
    Declined,
}

/// A buyer's reply to outbound outreach, quoted history already stripped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailReply {
    pub buyer: Buyer,
    #[serde(default)]
    pub subject: String,
    /// The new text of the reply (see [`strip_quoted_history`]).
    pub text: String,
    /// The thread this reply belongs to.
    pub thread_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// The `References` header's message ids, oldest first (used to find the outbound thread).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// The plus-address token of the address the reply was sent to (`replies+<token>@`,
    /// Postmark's `MailboxHash`), when the outbound mail used one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_token: Option<String>,
    /// The sequence/campaign the reply answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// The account the outreach targeted and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountContext>,
    /// Earlier touches in this sequence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outreach_history: Vec<Touch>,
    /// Headers that mark machine mail (`Auto-Submitted`, `X-Autoreply`, `Precedence`), lowercased names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Attachments the mail carried: noted by name and size, never stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentNote>,
}

/// An attachment of an email, noted but not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentNote {
    pub name: String,
    /// Size in bytes, when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// The account an outbound sequence targeted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountContext {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<CompanyDomain>,
    /// Why this account was targeted (e.g. "hiring 12 SDRs; uses Outreach").
    #[serde(default)]
    pub reason: String,
    /// Strategic / named account.
    #[serde(default)]
    pub strategic: bool,
}

/// One earlier outreach touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Touch {
    pub step: u32,
    pub channel: Channel,
    pub sent_at: DateTime<Utc>,
    #[serde(default)]
    pub summary: String,
}

/// A meeting booked, cancelled or missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingEvent {
    pub buyer: Buyer,
    pub meeting_id: String,
    pub starts_at: DateTime<Utc>,
    /// The event type's name (e.g. "30 min demo").
    #[serde(default)]
    pub title: String,
    /// The host the calendar booked, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_email: Option<EmailAddress>,
    /// Anything the buyer wrote when booking or cancelling.
    #[serde(default)]
    pub notes: String,
    /// True when this booking replaces an earlier one, or this cancellation is half of a
    /// reschedule (Calendly sends `invitee.canceled` with `rescheduled: true`, then
    /// `invitee.created`): a reschedule is never a new handoff nor a cancellation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rescheduled: bool,
}

/// A date written in an out-of-office note, if any (parsed by classification).
pub type ReturnDate = NaiveDate;

/// Removes quoted history, signatures' separators and forwarded blocks' quote marks from a reply,
/// keeping only what the buyer newly wrote.
///
/// Cuts at the first line that starts a quoted block: `>` quoting, `On … wrote:`,
/// `-----Original Message-----`, Outlook's `From: … Sent: …` header block, or `Am … schrieb`.
/// A forwarded message (`---------- Forwarded message ---------`) is kept, because a referral
/// often lives there.
pub fn strip_quoted_history(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        let next = lines.get(i + 1).map(|l| l.trim().to_ascii_lowercase());
        let starts_quote = t.starts_with('>')
            || (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (lower.starts_with("on ") && next.as_deref().is_some_and(|n| n.ends_with("wrote:")))
            || (lower.starts_with("am ") && lower.contains("schrieb"))
            || lower.contains("-----original message-----")
            || (lower.starts_with("from:")
                && lines[i + 1..]
                    .iter()
                    .take(4)
                    .any(|l| l.trim().to_ascii_lowercase().starts_with("sent:")));
        if starts_quote {
            break;
        }
        out.push(line);
        i += 1;
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_gmail_quote() {
        let t = "Sounds good, Thursday works.\n\nOn Tue, Nov 3, 2026 at 9:00 AM Vera <vera@us.com> wrote:\n> Hi Dana,\n> would you like a demo?";
        assert_eq!(strip_quoted_history(t), "Sounds good, Thursday works.");
    }

    #[test]
    fn strips_wrapped_gmail_quote_and_outlook_block() {
        let t =
            "Please send pricing.\nOn Tue, Nov 3, 2026 at 9:00 AM Vera\n<vera@us.com> wrote:\n> hi";
        assert_eq!(strip_quoted_history(t), "Please send pricing.");
        let t =
            "No thanks.\n\nFrom: Vera <vera@us.com>\nSent: Monday\nTo: Dana\nSubject: hi\n\nbody";
        assert_eq!(strip_quoted_history(t), "No thanks.");
    }

    #[test]
    fn keeps_forwarded_block() {
        let t = "Loop in Dana.\n---------- Forwarded message ---------\nFrom: Vera";
        assert!(strip_quoted_history(t).contains("Forwarded message"));
    }

    #[test]
    fn event_json_round_trips_and_rejects_bad_email() {
        let json = r#"{"source":"website","channel":"web_form","provider_event_id":"f-1",
            "received_at":"2026-11-24T10:00:00Z","type":"form_lead",
            "buyer":{"email":"Dana@Acme.com","company":"Acme"},"message":"Need a demo"}"#;
        let e: IntakeEvent = serde_json::from_str(json).unwrap();
        assert_eq!(e.buyer().email.as_str(), "dana@acme.com");
        assert_eq!(e.company_domain().unwrap().as_str(), "acme.com");
        let back: IntakeEvent = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let bad = json.replace("Dana@Acme.com", "not-an-email");
        let err = serde_json::from_str::<IntakeEvent>(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("email address"), "{err}");
    }
}
