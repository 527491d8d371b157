//! The buyer's words and context: what text the rules read, the problem statement, the product
//! line and the motion-specific fields.
//!
//! Only the buyer's own words are read: a reply without quoted history, forwarded blocks,
//! signature separators or legal disclaimers; a reply's subject only when the buyer wrote a new
//! one (not `Re:` our subject); form fields except tracking fields (UTM, click ids, consent).

use super::lexicon::URGENT;
use super::text::{trim_words, Doc};
use super::{Input, Verdict};
use crate::event::{EventKind, IntakeEvent, MeetingStatus, Urgency};
use crate::package::{BuyerContext, MotionFields, ReplyClass};

/// The longest problem statement, in characters.
const PROBLEM_STATEMENT_MAX: usize = 280;

/// Lines that start text the buyer did not write now (lowercased prefixes).
const CUT_MARKERS: &[&str] = &[
    "---------- forwarded message",
    "-------- forwarded message",
    "begin forwarded message",
    "----- forwarded message",
    "weitergeleitete nachricht",
    "-------- ursprüngliche nachricht",
    "message transféré",
    "-------- original message",
    "this e-mail and any",
    "this email and any",
    "this message and any",
    "confidentiality notice",
    "disclaimer:",
    "the information contained in this",
    "this email is confidential",
    "this e-mail is confidential",
    "diese e-mail enthält vertrauliche",
    "diese nachricht enthält vertrauliche",
    "ce message et ses pièces",
];

/// Subject prefixes of a reply, a forward or machine mail (the subject is then not the buyer's).
const REPLY_PREFIXES: &[&str] = &[
    "re:",
    "aw:",
    "antw:",
    "sv:",
    "fw:",
    "fwd:",
    "wg:",
    "tr:",
    "réf:",
    "ref:",
    "automatic reply",
    "auto:",
    "autoreply",
    "auto-reply",
    "out of office",
    "ooo",
    "undeliverable",
    "undelivered",
    "delivery status notification",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "[ticket",
];

/// Form fields that carry tracking, not the buyer's words.
const TRACKING_FIELDS: &[&str] = &[
    "gclid",
    "fbclid",
    "msclkid",
    "hutk",
    "hsutk",
    "page",
    "page_url",
    "url",
    "landing_page",
    "referrer",
    "ip",
    "user_agent",
    "consent",
    "gdpr_consent",
    "privacy_consent",
    "marketing_consent",
    "newsletter",
];

/// Mobile signatures: the buyer's words end before them.
const DEVICE_SIGNATURES: &[&str] = &[
    "sent from my",
    "sent from outlook",
    "get outlook for",
    "von meinem iphone gesendet",
    "von meinem ipad gesendet",
    "gesendet von meinem",
    "envoyé de mon",
    "enviado desde mi",
    "enviado do meu",
    "inviato da",
    "verzonden vanaf mijn",
    "verstuurd vanaf mijn",
];

/// Header lines that open a quoted message in an Outlook-style reply (`From:` … `Sent:`).
const QUOTED_HEADER_FIELDS: &[&str] = &[
    "from:",
    "von:",
    "de:",
    "da:",
    "van:",
    "sent:",
    "gesendet:",
    "envoyé:",
    "enviado:",
    "inviato:",
    "verzonden:",
    "date:",
    "datum:",
];

/// Attribution lines that introduce quoted history ("On Fri, Nov 6, 2026 … wrote:", "Am
/// 09.11.2026 um 09:04 schrieb …:"): the opening word and the verb, per language; the line
/// (or the next, when a long attribution wraps) ends with a colon.
const ATTRIBUTIONS: &[(&str, &str)] = &[
    ("on ", " wrote"),
    ("am ", " schrieb"),
    ("le ", " écrit"),
    ("el ", " escribió"),
    ("op ", " schreef"),
    ("op ", " geschreven"),
    ("em ", " escreveu"),
    ("il ", " scritto"),
];

/// Whether `line` (trimmed, lowercased) starts quoted history: a `>` quote, an attribution
/// line, an Outlook separator or an "-----Original Message-----" banner.
fn starts_quote(lower: &str, next: Option<&str>) -> bool {
    if lower.starts_with('>') {
        return true;
    }
    if lower.len() >= 10 && lower.chars().all(|c| c == '_') {
        return true;
    }
    if lower.starts_with("-----") && lower.ends_with("-----") && lower.len() > 12 {
        return true;
    }
    let next_lower = next.map(|n| n.trim().to_lowercase()).unwrap_or_default();
    let attribution = ATTRIBUTIONS.iter().any(|(open, verb)| {
        let one = lower.contains(verb) && lower.ends_with(':');
        let wrapped = !lower.ends_with(['.', '?', '!'])
            && next_lower.contains(verb)
            && next_lower.ends_with(':');
        lower.starts_with(open) && (one || wrapped)
    });
    if attribution {
        return true;
    }
    // "From: Sam <sam@…>" directly followed by "Sent:" / "Date:" (a quoted header block).
    let field = |l: &str| QUOTED_HEADER_FIELDS.iter().any(|f| l.starts_with(f));
    lower.contains('@') && field(lower) && field(&next_lower)
}

/// The text of a reply the buyer wrote now: cut at quoted history (`>` lines, "On … wrote:",
/// an Outlook `From:`/`Sent:` block), a forwarded block, a mobile signature, a signature
/// separator (`-- `) or a legal disclaimer.
pub(crate) fn buyer_part(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[..cut_at(&lines)].join("\n").trim().to_string()
}

/// The line where the buyer's own words end.
fn cut_at(lines: &[&str]) -> usize {
    for (i, line) in lines.iter().enumerate() {
        let lower = line.trim().to_lowercase();
        let next = lines.get(i + 1).copied();
        if lower == "--"
            || CUT_MARKERS.iter().any(|m| lower.starts_with(m))
            || DEVICE_SIGNATURES.iter().any(|m| lower.starts_with(m))
            || starts_quote(&lower, next)
        {
            return i;
        }
    }
    lines.len()
}

/// What a reply quotes below the buyer's words (our message, usually), without the `>` marks:
/// a one-word "sure" accepts whatever it proposed.
pub(crate) fn quoted_part(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[cut_at(&lines)..]
        .iter()
        .map(|l| l.trim_start().trim_start_matches('>').trim())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_tracking(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    f.starts_with("utm_") || TRACKING_FIELDS.contains(&f.as_str())
}

/// Whether the buyer wrote this subject (not a reply to or forward of ours).
fn fresh_subject(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    !s.is_empty() && !REPLY_PREFIXES.iter().any(|p| s.starts_with(p))
}

/// The buyer's own words in an event, each part tagged with its source.
pub(crate) fn buyer_words(event: &IntakeEvent) -> Doc {
    let mut doc = Doc::default();
    match &event.kind {
        EventKind::FormLead(f) => {
            doc.push("text", &f.message);
            for (name, value) in f.fields.iter().filter(|(n, _)| !is_tracking(n)) {
                doc.push(format!("field:{name}"), value);
            }
        }
        EventKind::QualifiedLead(q) => {
            doc.push("text", &q.transcript_excerpt);
            for a in &q.answers {
                let criterion = serde_json::to_value(a.criterion)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                doc.push(format!("answer:{criterion}"), &a.answer);
            }
        }
        EventKind::EmailReply(r) => {
            if fresh_subject(&r.subject) {
                doc.push("subject", &r.subject);
            }
            doc.push("text", &buyer_part(&r.text));
        }
        EventKind::MeetingBooked(m)
        | EventKind::MeetingCancelled(m)
        | EventKind::MeetingNoShow(m) => {
            doc.push("text", &m.notes);
            doc.push("field:title", &m.title);
        }
    }
    doc
}

/// The buyer's problem in their own words, trimmed at a word boundary.
fn problem_statement(input: &Input) -> String {
    let own = |source: &str| {
        input
            .words
            .parts()
            .iter()
            .find(|p| p.source() == source)
            .map(|p| p.original().to_string())
    };
    let text = match &input.event.kind {
        EventKind::EmailReply(r) => own("text")
            .map(|t| without_salutations(&t))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| r.subject.clone()),
        EventKind::FormLead(f) => own("text").unwrap_or_else(|| {
            f.fields
                .iter()
                .filter(|(n, v)| !is_tracking(n) && !v.trim().is_empty())
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        }),
        EventKind::QualifiedLead(q) => own("text").unwrap_or_else(|| {
            q.answers
                .iter()
                .map(|a| format!("{} {}", a.question, a.answer))
                .collect::<Vec<_>>()
                .join(" ")
        }),
        EventKind::MeetingBooked(m)
        | EventKind::MeetingCancelled(m)
        | EventKind::MeetingNoShow(m) => own("text").unwrap_or_else(|| m.title.clone()),
    };
    trim_words(&text, PROBLEM_STATEMENT_MAX)
}

/// An email body without its greeting line ("Hi Vera,") and closing ("Thanks,\nDana"):
/// the rep reads the buyer's point, not the pleasantries.
fn without_salutations(text: &str) -> String {
    const GREETINGS: &[&str] = &[
        "hi",
        "hello",
        "hey",
        "dear",
        "hallo",
        "bonjour",
        "good morning",
        "good afternoon",
    ];
    const CLOSINGS: &[&str] = &[
        "thanks",
        "thank you",
        "best",
        "best regards",
        "regards",
        "kind regards",
        "cheers",
        "grazie",
        "merci",
        "danke",
        "viele grüße",
        "mit freundlichen grüßen",
        "sincerely",
        "br",
        "thx",
    ];
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let is_greeting = |l: &str| {
        let low = l.to_lowercase();
        l.len() <= 40
            && l.ends_with([',', '!', ':'])
            && GREETINGS.iter().any(|g| {
                low == *g || low.starts_with(&format!("{g} ")) || low.starts_with(&format!("{g},"))
            })
    };
    if lines.first().is_some_and(|l| is_greeting(l)) {
        lines.remove(0);
    }
    if let Some(pos) = lines.iter().rposition(|l| {
        let low = l.to_lowercase();
        let bare = low.trim_end_matches([',', '!', '.']);
        CLOSINGS.contains(&bare)
    }) {
        if lines.len() - pos <= 4 {
            lines.truncate(pos);
        }
    } else if lines.len() > 1
        && lines
            .last()
            .is_some_and(|l| l.split_whitespace().count() <= 2 && !l.ends_with(['.', '?', '!']))
    {
        // A bare sign-off name ("Dana").
        lines.pop();
    }
    lines.join(" ")
}

/// Who the buyer is and what they want.
pub(crate) fn buyer_context(input: &Input) -> BuyerContext {
    let event = input.event;
    let b = event.buyer();
    BuyerContext {
        email: b.email.clone(),
        name: b.name.clone(),
        company: b.company.clone(),
        company_domain: event.company_domain(),
        role: b.role.clone(),
        country: b.country.clone(),
        employees: b.employees,
        source: event.source.clone(),
        channel: event.channel,
        problem_statement: problem_statement(input),
    }
}

/// The product line: the one the buyer picked (by key or by its words), else the line whose
/// words the buyer used most (ties: the first key), else none (always none for machine mail).
pub(crate) fn product_line(input: &Input, v: &Verdict) -> Option<String> {
    let machine = matches!(
        v.reply_class.as_ref().map(|(c, _)| *c),
        Some(ReplyClass::OutOfOffice | ReplyClass::AutoReply)
    );
    if machine {
        return None;
    }
    let lines = &input.rules.org.product_lines;
    let phrases = |key: &String, words: &Vec<String>| {
        let mut p = words.clone();
        p.push(key.clone());
        p
    };
    let interest = match &input.event.kind {
        EventKind::FormLead(f) => f.product_interest.as_deref(),
        EventKind::QualifiedLead(q) => q.product_interest.as_deref(),
        _ => None,
    };
    if let Some(interest) = interest {
        let key = interest.trim().to_lowercase();
        if lines.contains_key(&key) {
            return Some(key);
        }
        let mut doc = Doc::default();
        doc.push("field:product_interest", interest);
        if let Some((k, _)) = lines
            .iter()
            .find(|(k, w)| doc.find(&phrases(k, w)).is_some())
        {
            return Some(k.clone());
        }
    }
    let mut best: Option<(&String, usize)> = None;
    for (key, words) in lines {
        let n = input.words.find_all(&phrases(key, words)).len();
        if n > 0 && best.is_none_or(|(_, m)| n > m) {
            best = Some((key, n));
        }
    }
    best.map(|(k, _)| k.clone())
}

/// The motion-specific fields (routing fills `routing_reason` and `reply_owner`).
pub(crate) fn motion_fields(input: &Input, v: &Verdict, next_step: &str) -> MotionFields {
    let event = input.event;
    let urgent_text = || {
        if input.words.find(URGENT).is_some() {
            Urgency::High
        } else {
            Urgency::Unknown
        }
    };
    let (answers, urgency, meeting_status) = match &event.kind {
        EventKind::EmailReply(r) => {
            return MotionFields::Outbound {
                account_reason: r
                    .account
                    .as_ref()
                    .map(|a| a.reason.clone())
                    .unwrap_or_default(),
                outreach_history: r.outreach_history.clone(),
                reply_class: v
                    .reply_class
                    .as_ref()
                    .map_or(ReplyClass::Positive, |(c, _)| *c),
                suggested_next_step: next_step.to_string(),
                reply_owner: None,
            }
        }
        EventKind::FormLead(_) => (Vec::new(), urgent_text(), MeetingStatus::NotOffered),
        EventKind::QualifiedLead(q) => {
            let urgency = if q.urgency == Urgency::Unknown {
                urgent_text()
            } else {
                q.urgency
            };
            (q.answers.clone(), urgency, q.meeting.clone())
        }
        EventKind::MeetingBooked(m) | EventKind::MeetingNoShow(m) => (
            Vec::new(),
            urgent_text(),
            MeetingStatus::Booked {
                starts_at: m.starts_at,
            },
        ),
        EventKind::MeetingCancelled(_) => (Vec::new(), urgent_text(), MeetingStatus::Declined),
    };
    MotionFields::Inbound {
        source: event.source.clone(),
        channel: event.channel,
        qualification_answers: answers,
        urgency,
        meeting_status,
        routing_reason: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_forwards_signatures_and_disclaimers() {
        let t = "Loop in Dana.\n---------- Forwarded message ---------\nFrom: Vera <vera@nw.example>\nPricing inside";
        assert_eq!(buyer_part(t), "Loop in Dana.");
        let t = "Send pricing.\n-- \nDana | VP\nThis email and any attachments are confidential (privacy).";
        assert_eq!(buyer_part(t), "Send pricing.");
    }

    #[test]
    fn cuts_quoted_history() {
        let t = "Circle back in March.\n\nRosa\n\nOn Fri, Nov 13, 2026 at 5:00 PM Vera <vera@nw.example> wrote:\n> Worth 15 minutes next week?";
        assert_eq!(buyer_part(t), "Circle back in March.\n\nRosa");
        let t = "Bitte austragen.\n\n> Am 09.11.2026 um 09:04 schrieb Vera Novak <vera@nw.example>:\n> Hallo";
        assert_eq!(buyer_part(t), "Bitte austragen.");
        let t = "Am 19. Nov. 2026 um 08:45 Uhr schrieb Vera <vera@nw.example>:\n> Hallo";
        assert_eq!(buyer_part(t), "");
        let t = "Interested.\n\n________________________________\nFrom: Leah <leah@nw.example>\nSent: Friday";
        assert_eq!(buyer_part(t), "Interested.");
        let t = "Oui.\nLe mar. 10 nov. 2026 à 09:00, Vera <vera@nw.example> a écrit :\n> Bonjour";
        assert_eq!(buyer_part(t), "Oui.");
        let t = "sure\n\nSent from my iPhone\n\n> On Nov 6, 2026, at 1:12 PM, Sam wrote:";
        assert_eq!(buyer_part(t), "sure");
        // a sentence that merely starts like an attribution is kept
        let t = "On Monday we wrote: nothing. Send pricing.";
        assert_eq!(buyer_part(t), t);
    }

    #[test]
    fn subjects() {
        assert!(!fresh_subject("Re: Northwind for Acme"));
        assert!(!fresh_subject("AW: Ihre Anfrage"));
        assert!(fresh_subject("SOC 2 report request"));
    }
}

#[cfg(test)]
mod salutation_tests {
    use super::without_salutations;

    #[test]
    fn greeting_and_closing_are_dropped() {
        assert_eq!(
            without_salutations("Hi Vera,\n\nThis sounds interesting. Tell me more.\n\nDana"),
            "This sounds interesting. Tell me more."
        );
        assert_eq!(
            without_salutations("Can you send pricing?\nAlso the DPA.\n\nGrazie,\nMarco"),
            "Can you send pricing? Also the DPA."
        );
        assert_eq!(without_salutations("No thanks."), "No thanks.");
        assert_eq!(
            without_salutations("Hi team, we need SSO today."),
            "Hi team, we need SSO today."
        );
    }
}
