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

/// The event-specific part. (Variants are kept unboxed: an event is built once per request and
/// moved, never copied in bulk, and the serde shape stays flat.)
#[allow(clippy::large_enum_variant)]
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

impl Urgency {
    /// Every level.
    pub const ALL: [Urgency; 4] = [
        Urgency::Unknown,
        Urgency::Low,
        Urgency::Medium,
        Urgency::High,
    ];
}

/// For people: "not stated", "low", "medium", "high".
impl std::fmt::Display for Urgency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Urgency::Unknown => "not stated",
            Urgency::Low => "low",
            Urgency::Medium => "medium",
            Urgency::High => "high",
        })
    }
}

/// For people: "none offered yet", "booked for 2026-11-25 16:00 UTC".
impl std::fmt::Display for MeetingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeetingStatus::NotOffered => f.write_str("none offered yet"),
            MeetingStatus::Offered => f.write_str("offered, not booked"),
            MeetingStatus::Booked { starts_at } => {
                write!(f, "booked for {}", starts_at.format("%Y-%m-%d %H:%M UTC"))
            }
            MeetingStatus::Declined => f.write_str("declined"),
        }
    }
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 8] = [
        Channel::WebForm,
        Channel::Email,
        Channel::Chat,
        Channel::Phone,
        Channel::Meeting,
        Channel::Whatsapp,
        Channel::Sms,
        Channel::Linkedin,
    ];
}

/// For people: "web form", "WhatsApp", "SMS"; the stored label is [`Channel::as_str`].
impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Channel::WebForm => "web form",
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Phone => "phone",
            Channel::Meeting => "meeting",
            Channel::Whatsapp => "WhatsApp",
            Channel::Sms => "SMS",
            Channel::Linkedin => "LinkedIn",
        })
    }
}

/// For people: "web form lead", "meeting no-show"; the stored tag is [`EventKind::label`].
impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EventKind::FormLead(_) => "web form lead",
            EventKind::QualifiedLead(_) => "qualified lead",
            EventKind::EmailReply(_) => "email reply",
            EventKind::MeetingBooked(_) => "meeting booked",
            EventKind::MeetingCancelled(_) => "meeting cancelled",
            EventKind::MeetingNoShow(_) => "meeting no-show",
        })
    }
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
    /// The meeting id this booking replaces, when the provider names it (cal.com's
    /// `rescheduleUid`): the old slot no longer counts as a meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// A date written in an out-of-office note, if any (parsed by classification).
pub type ReturnDate = NaiveDate;

/// Attribution lines that open a quoted reply, by language: how the line starts and the verb
/// the (possibly wrapped) attribution contains before its final `:`. Gmail, Outlook and Apple
/// Mail write them (`On 3 Nov 2026, at 09:00, Vera <vera@us.com> wrote:`).
const ATTRIBUTIONS: &[(&str, &str)] = &[
    ("on ", "wrote"),
    ("am ", "schrieb"),
    ("le ", "a écrit"),
    ("el ", "escribió"),
    ("op ", "schreef"),
    ("em ", "escreveu"),
    ("il ", "ha scritto"),
];

/// Labels that start a quoted header block (Outlook's `From:` … `Sent:` in several languages).
const FROM_LABELS: &[&str] = &["from:", "von:", "de:", "de :", "van:", "da:"];

/// Labels that, within four lines of a [`FROM_LABELS`] line, confirm a quoted header block.
const SENT_LABELS: &[&str] = &[
    "sent:",
    "date:",
    "gesendet:",
    "datum:",
    "envoyé :",
    "envoyé:",
    "date :",
    "enviado:",
    "enviado el:",
    "fecha:",
    "verzonden:",
    "inviato:",
];

/// Separator lines that open a quoted original message.
const ORIGINAL_MESSAGE: &[&str] = &[
    "-----original message-----",
    "-----ursprüngliche nachricht-----",
    "-----message d'origine-----",
    "-----mensaje original-----",
    "-----oorspronkelijk bericht-----",
];

/// Lines that open a forwarded message, which is kept (a referral often lives there).
const FORWARD_MARKERS: &[&str] = &[
    "forwarded message",
    "begin forwarded message:",
    "weitergeleitete nachricht",
    "message transféré",
    "début du message réexpédié",
    "mensaje reenviado",
    "inicio del mensaje reenviado",
    "doorgestuurd bericht",
];

/// Mobile and client sign-offs: the reply ends at such a line.
const SIGN_OFFS: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "get outlook for ",
    "von meinem iphone gesendet",
    "von meinem ipad gesendet",
    "von meinem android",
    "von meinem samsung",
    "gesendet von meinem ",
    "gesendet von outlook",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "enviado desde mi ",
    "obtener outlook para ",
    "verzonden vanaf mijn ",
];

/// The longest line taken for a sign-off (a longer one is the buyer's own sentence).
const SIGN_OFF_MAX_CHARS: usize = 80;

/// A line lower-cased, trimmed, with non-breaking spaces made plain and Outlook's bold marks
/// (`*From:*`, as a plain-text rendering shows them) dropped at the start.
fn norm_line(line: &str) -> String {
    line.trim()
        .trim_start_matches('*')
        .replace('\u{a0}', " ")
        .to_lowercase()
}

/// Whether line `i` opens an attribution (`On … wrote:`), wrapped over up to three lines.
fn is_attribution(lines: &[String], i: usize) -> bool {
    let Some((_, verb)) = ATTRIBUTIONS.iter().find(|(p, _)| lines[i].starts_with(p)) else {
        return false;
    };
    let mut joined = String::new();
    for line in lines[i..].iter().take(3) {
        if line.is_empty() {
            return false;
        }
        joined.push_str(line);
        joined.push(' ');
        if line.ends_with(':') {
            return joined.contains(verb);
        }
    }
    false
}

/// Whether line `i` opens a quoted header block (`From:` then `Sent:`/`Date:` within 4 lines).
fn is_header_block(lines: &[String], i: usize) -> bool {
    FROM_LABELS.iter().any(|l| lines[i].starts_with(l))
        && lines[i + 1..]
            .iter()
            .take(4)
            .any(|l| SENT_LABELS.iter().any(|s| l.starts_with(s)))
}

/// Where the reader is relative to a forwarded message's header block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Forward {
    /// Not in a forwarded header block.
    Outside,
    /// Just after a forward marker, before its header lines.
    Marker,
    /// In the forwarded header lines (until the next blank line).
    Header,
}

/// Removes quoted history and signatures from a reply, keeping only what the buyer newly wrote.
///
/// Cuts at the first line that starts a quoted block or a signature:
/// - `>` quoting;
/// - an attribution line, possibly wrapped: `On … wrote:` (Gmail, Apple Mail's
///   `On …, at …, X wrote:`), `Am … schrieb …:`, `Le … a écrit :`, `El … escribió:` (and Dutch,
///   Portuguese, Italian);
/// - `-----Original Message-----` and its German, French, Spanish and Dutch forms;
/// - Outlook's header block: `From:`/`Von:`/`De :`/`De:` followed within four lines by
///   `Sent:`/`Date:`/`Gesendet:`/`Envoyé :`/`Enviado:`/`Fecha:`;
/// - the RFC 3676 signature separator `-- ` (also without its trailing space);
/// - a mobile sign-off (`Sent from my iPhone`, `Von meinem iPhone gesendet`,
///   `Envoyé de mon iPhone`, `Enviado desde mi iPhone`, `Get Outlook for iOS`).
///
/// A forwarded message (`---------- Forwarded message ---------`, Apple Mail's
/// `Begin forwarded message:` and their translations) is kept, header block included, because a
/// referral often lives there.
pub fn strip_quoted_history(text: &str) -> String {
    let raw: Vec<&str> = text.lines().collect();
    let lines: Vec<String> = raw.iter().map(|l| norm_line(l)).collect();
    let mut out: Vec<&str> = Vec::new();
    let mut forward = Forward::Outside;
    for (i, line) in raw.iter().enumerate() {
        let lower = &lines[i];
        if FORWARD_MARKERS.iter().any(|m| lower.contains(m)) {
            forward = Forward::Marker;
            out.push(line);
            continue;
        }
        forward = match (forward, lower.is_empty()) {
            (Forward::Marker, false) => Forward::Header,
            (Forward::Header, true) => Forward::Outside,
            (state, _) => state,
        };
        let starts_quote = line.trim_start().starts_with('>')
            || is_attribution(&lines, i)
            || ORIGINAL_MESSAGE.iter().any(|m| lower.contains(m))
            || (forward == Forward::Outside && is_header_block(&lines, i))
            || line.trim_end() == "--"
            || (lower.chars().count() <= SIGN_OFF_MAX_CHARS
                && SIGN_OFFS.iter().any(|s| lower.starts_with(s)));
        if starts_quote {
            break;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| {
        let t = l.trim();
        t.is_empty() || (t.len() >= 2 && t.chars().all(|c| c == '_' || c == '-'))
    }) {
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
    fn strips_quotes_in_several_languages() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "gmail en",
                "Yes, Thursday works.\n\nOn Tue, Nov 3, 2026 at 9:00 AM Vera <vera@us.com> wrote:\n> Hi",
                "Yes, Thursday works.",
            ),
            (
                "apple mail en",
                "Yes please.\n\nOn 3 Nov 2026, at 09:00, Vera <vera@us.com> wrote:\n\n> Hi",
                "Yes please.",
            ),
            (
                "gmail de",
                "Gerne, Donnerstag passt.\n\nAm Di., 3. Nov. 2026 um 09:00 Uhr schrieb Vera <vera@us.com>:\n> Hallo",
                "Gerne, Donnerstag passt.",
            ),
            (
                "gmail de wrapped",
                "Gerne.\n\nAm Di., 3. Nov. 2026 um 09:00 Uhr schrieb Vera\n<vera@us.com>:\n> Hallo",
                "Gerne.",
            ),
            (
                "apple mail de",
                "Passt.\n\nAm 03.11.2026 um 09:00 schrieb Vera <vera@us.com>:\n\n> Hallo",
                "Passt.",
            ),
            (
                "outlook de",
                "Bitte Preise schicken.\n\nVon: Vera <vera@us.com>\nGesendet: Dienstag, 3. November 2026 09:00\nAn: Jonas\nBetreff: Hallo\n\nText",
                "Bitte Preise schicken.",
            ),
            (
                "outlook de bold with rule",
                "Danke.\n\n________________________________\n*Von:* Vera <vera@us.com>\n*Gesendet:* Dienstag\n*An:* Jonas",
                "Danke.",
            ),
            (
                "outlook de original",
                "Nein danke.\n\n-----Ursprüngliche Nachricht-----\nVon: Vera",
                "Nein danke.",
            ),
            (
                "gmail fr",
                "Avec plaisir, jeudi me convient.\n\nLe mar. 3 nov. 2026 à 09:00, Vera <vera@us.com> a écrit :\n> Bonjour",
                "Avec plaisir, jeudi me convient.",
            ),
            (
                "apple mail fr nbsp",
                "Oui.\n\nLe 3 nov. 2026 à 09:00, Vera <vera@us.com> a\u{a0}écrit\u{a0}:\n\n> Bonjour",
                "Oui.",
            ),
            (
                "outlook fr",
                "Merci, envoyez les tarifs.\n\nDe : Vera <vera@us.com>\nEnvoyé : mardi 3 novembre 2026 09:00\nÀ : Pierre\nObjet : Bonjour",
                "Merci, envoyez les tarifs.",
            ),
            (
                "gmail es",
                "Perfecto, el jueves me va bien.\n\nEl mar, 3 nov 2026 a las 9:00, Vera (<vera@us.com>) escribió:\n> Hola",
                "Perfecto, el jueves me va bien.",
            ),
            (
                "outlook es",
                "Envíenme precios.\n\nDe: Vera <vera@us.com>\nEnviado: martes, 3 de noviembre de 2026 9:00\nPara: Ana\nAsunto: Hola",
                "Envíenme precios.",
            ),
            (
                "outlook mac en date",
                "Sounds good.\n\nFrom: Vera <vera@us.com>\nDate: Tuesday, 3 November 2026 at 09:00\nTo: Dana\nSubject: Hi",
                "Sounds good.",
            ),
            (
                "signature separator",
                "Happy to chat next week.\n\n-- \nDana Smith\nVP Sales, Acme",
                "Happy to chat next week.",
            ),
            (
                "signature separator without space",
                "Happy to chat.\n--\nDana",
                "Happy to chat.",
            ),
            ("iphone en", "Sure, call me.\n\nSent from my iPhone\n\nOn Tue Vera wrote:\n> hi", "Sure, call me."),
            ("iphone de", "Gerne.\n\nVon meinem iPhone gesendet", "Gerne."),
            ("iphone fr", "Oui, appelez-moi.\n\nEnvoyé de mon iPhone", "Oui, appelez-moi."),
            ("iphone es", "Sí, llámame.\n\nEnviado desde mi iPhone", "Sí, llámame."),
            ("outlook ios", "Yes.\n\nGet Outlook for iOS\n________________________________\nFrom: Vera", "Yes."),
            (
                "a sentence starting like an attribution stays",
                "On Monday we can talk.\nOn the call we need: pricing.",
                "On Monday we can talk.\nOn the call we need: pricing.",
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(strip_quoted_history(input), *want, "{name}");
        }
    }

    #[test]
    fn keeps_forwarded_messages_in_every_language() {
        for (marker, from, date) in [
            ("---------- Forwarded message ---------", "From:", "Date:"),
            ("Begin forwarded message:", "From:", "Date:"),
            (
                "---------- Weitergeleitete Nachricht ---------",
                "Von:",
                "Datum:",
            ),
            ("---------- Message transféré ---------", "De :", "Date :"),
            ("---------- Mensaje reenviado ---------", "De:", "Fecha:"),
        ] {
            let t = format!(
                "Please talk to Priya.\n\n{marker}\n\n{from} Mark <mark@acme.com>\n{date} Tue\nSubject: Demo\n\nPriya owns this now.\n\nOn Mon Vera wrote:\n> hi"
            );
            let got = strip_quoted_history(&t);
            assert!(got.contains(marker), "{marker}: {got}");
            assert!(got.contains("Priya owns this now."), "{marker}: {got}");
            assert!(!got.contains("> hi"), "{marker}: {got}");
        }
    }

    proptest::proptest! {
        #[test]
        fn stripping_never_panics_and_never_grows(
            text in "(On |Am |Le |El |From: |De : |Sent: |Gesendet: |-- |> |\n|\r\n|wrote:|schrieb|a écrit :|escribió:|Begin forwarded message:|Sent from my iPhone|[a-zé ]{0,8}){0,40}",
        ) {
            let out = strip_quoted_history(&text);
            proptest::prop_assert!(out.len() <= text.len());
        }
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
