//! The class of an outbound reply.
//!
//! Machine mail first, then stop requests, then human intents in the precedence of
//! `classification.md`:
//!
//! 1. delivery failure (bounce) → `auto_reply`
//! 2. any explicit stop or deletion request → `unsubscribe`
//! 3. an away notice, even an automatic one → `out_of_office`
//! 4. "I've left / no longer with", naming a successor → `referral`
//! 5. ticket acknowledgements, then machine headers (`Auto-Submitted` not `no`, `X-Autoreply`,
//!    `Precedence: bulk|auto_reply|junk`) → `auto_reply`
//! 6. sarcasm ("Sure, because I have nothing better to do…") → `not_interested`
//! 7. `meeting_request` > `pricing_question` > `referral`; a meeting proposed for a far-off time
//!    ("let's talk in Q3", more than [`MEETING_HORIZON_DAYS`] ahead) is a deferral → `not_now`
//! 8. not the contact, naming nobody → `wrong_person`
//! 9. a decline → `not_interested`; with a time condition ("not interested right now") → `not_now`
//! 10. a deferral → `not_now` (a deferral wins over mild interest: "sounds interesting, but
//!     check back in Q3" is a timing decision the automation nurtures)
//! 11. `positive` > `question` > `objection` ("yes", "sure" count as positive only when nothing
//!     in the reply pushes back; a question that is itself the push-back, "why switch?", is
//!     the objection)
//! 12. nothing matched: angry → `not_interested`; a question mark → `question`; else `positive`
//!     (a person answered without declining), flagged `unmatched` so the trigger is
//!     `needs_judgment` and a human reads it.

use super::contact::{foreign_email, referred_contact, Contact};
use super::dates::deferral_date;
use super::flags::product_use_phrases;
use super::lexicon::{
    ANGRY, BOUNCE, CUSTOM_PACKAGING, DECLINE, DEFER, DEFER_QUALIFIERS, DEPARTURE, MEETING,
    NEGOTIATION, OBJECTION, POSITIVE, POSITIVE_WEAK, PRICING_ASK, PRICING_NOUNS,
    PRICING_REQUEST_VERBS, QUESTION, SARCASM, STOP, TICKET, WRONG_PERSON,
};
use super::ooo::{away_notice, AwayNotice};
use super::text::{trim_words, Doc, Hit, Part};
use super::{Found, Input};
use crate::event::EmailReply;
use crate::package::ReplyClass;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Header values that mark machine mail.
const MACHINE_PRECEDENCE: &[&str] = &["bulk", "auto_reply", "auto-reply", "junk"];

/// The longest excerpt quoted for a whole-sentence match (a question).
const SENTENCE_EXCERPT: usize = 120;

/// What the reply is and what it says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReplyVerdict {
    pub class: ReplyClass,
    pub found: Found,
    /// The person a referral points to.
    pub contact: Option<Contact>,
    /// The away notice, for `out_of_office`.
    pub away: Option<AwayNotice>,
    /// When a deferral says to come back, for `not_now`.
    pub deferral: Option<(NaiveDate, String)>,
    /// A delivery failure, for `auto_reply`.
    pub bounce: bool,
    /// No rule matched; a person should read it.
    pub unmatched: bool,
}

impl ReplyVerdict {
    fn new(class: ReplyClass, found: Found) -> Self {
        Self {
            class,
            found,
            contact: None,
            away: None,
            deferral: None,
            bounce: false,
            unmatched: false,
        }
    }
}

/// The header that marks machine mail, if any.
fn machine_header(headers: &BTreeMap<String, String>) -> Option<Found> {
    headers.iter().find_map(|(name, value)| {
        let name = name.to_ascii_lowercase();
        let v = value.trim().to_ascii_lowercase();
        let machine = match name.as_str() {
            "auto-submitted" => !v.is_empty() && v != "no",
            "x-autoreply" | "x-autorespond" | "x-auto-reply" | "x-failed-recipients" => true,
            "precedence" => MACHINE_PRECEDENCE.contains(&v.as_str()),
            _ => false,
        };
        machine.then(|| Found::new(format!("header:{name}"), value.trim()))
    })
}

/// Whether `hit` lies in the same sentence as any of `others`.
fn shares_sentence(hit: &Hit, others: &[Hit]) -> bool {
    let (s, e) = hit.part.sentence_of(hit.first);
    others
        .iter()
        .any(|o| std::ptr::eq(o.part, hit.part) && o.first < e && o.end > s)
}

/// Push-back in the reply: objection phrases and "we use <competitor>", but not "we already
/// use <our product>" (that is an existing customer).
fn objections<'d>(input: &Input, body: &'d Doc) -> Vec<Hit<'d>> {
    let mut phrases: Vec<String> = OBJECTION.iter().map(|s| s.to_string()).collect();
    for c in &input.rules.org.competitors {
        for p in [
            "we use",
            "we're using",
            "we are using",
            "we're on",
            "we are on",
            "happy with",
            "already use",
            "already have",
            "using",
            "switched to",
        ] {
            phrases.push(format!("{p} {c}"));
        }
    }
    let ours = body.find_all(&product_use_phrases(input.rules));
    body.find_all(&phrases)
        .into_iter()
        .filter(|h| {
            !ours
                .iter()
                .any(|o| std::ptr::eq(o.part, h.part) && o.first <= h.end && o.end >= h.first)
        })
        .collect()
}

/// An ask for price, quote, proposal, discount or terms (a negotiation or custom-packaging
/// request is an ask for a commercial offer too). A pricing noun counts when its sentence asks
/// (question mark or a request verb) and does not complain ("too expensive").
pub(crate) fn pricing_ask(body: &Doc, objections: &[Hit]) -> Option<Found> {
    let ask = body
        .find(PRICING_ASK)
        .or_else(|| body.find(NEGOTIATION))
        .or_else(|| body.find(CUSTOM_PACKAGING));
    if let Some(h) = ask {
        return Some(h.found());
    }
    body.find_all(PRICING_NOUNS)
        .into_iter()
        .find(|h| {
            let (s, e) = h.part.sentence_of(h.first);
            (h.part.is_question(e) || h.part.range_has(s, e, PRICING_REQUEST_VERBS))
                && !shares_sentence(h, objections)
        })
        .map(|h| h.found())
}

/// The first sentence that asks something and is not itself push-back or sarcasm.
fn question(body: &Doc, vetoes: &[Hit]) -> Option<Found> {
    if let Some(h) = body.find(QUESTION) {
        return Some(h.found());
    }
    for part in body.parts() {
        for (s, e) in part.sentences() {
            let vetoed = vetoes
                .iter()
                .any(|v| std::ptr::eq(v.part, part) && v.first < e && v.end > s);
            if part.is_question(e) && !vetoed {
                return Some(Found::new(
                    part.source(),
                    trim_words(part.sentence_text(s, e), SENTENCE_EXCERPT),
                ));
            }
        }
    }
    None
}

/// How far ahead a meeting may be proposed before it is a deferral ("let's talk in Q3").
const MEETING_HORIZON_DAYS: i64 = 45;

/// When a meeting phrase's sentence defers it ("let's reconnect in Q3", "let's talk next year"):
/// `Some(date or None)`; `None` when the meeting is meant soon.
fn meeting_deferral(input: &Input, hit: &Hit) -> Option<Option<(NaiveDate, String)>> {
    let (s, e) = hit.part.sentence_of(hit.first);
    let sentence = Part::new(hit.part.source(), hit.part.sentence_text(s, e));
    let later = deferral_date(&sentence, input.received);
    let far = later
        .as_ref()
        .is_some_and(|(d, _)| (*d - input.received).num_days() > MEETING_HORIZON_DAYS);
    let defers = Doc::from_part(sentence.clone()).find(DEFER).is_some();
    (far || defers).then_some(later)
}

/// Whether the body is a single stop word ("STOP", "Unsubscribe").
fn bare_stop(body: &Doc) -> Option<Found> {
    let part = body.parts().first()?;
    let only = part.tokens().len() == 1 && body.parts().len() == 1;
    (only
        && matches!(
            part.tokens()[0].text.as_str(),
            "stop" | "remove" | "unsubscribe" | "stopp"
        ))
    .then(|| Found::new(part.source(), part.excerpt(0, 1)))
}

/// Classifies one reply (see the module docs for the order).
pub(crate) fn classify_reply(input: &Input, reply: &EmailReply) -> ReplyVerdict {
    let mut subject = Doc::default();
    subject.push("subject", &reply.subject);
    let body = input.words.filtered(|s| s == "text");
    let both = |phrases: &[&str]| {
        body.find(phrases)
            .or_else(|| subject.find(phrases))
            .map(|h| h.found())
    };

    if let Some(found) = both(BOUNCE) {
        return ReplyVerdict {
            bounce: true,
            ..ReplyVerdict::new(ReplyClass::AutoReply, found)
        };
    }
    if let Some(found) = both(STOP).or_else(|| bare_stop(&body)) {
        return ReplyVerdict::new(ReplyClass::Unsubscribe, found);
    }
    if let Some(away) = away_notice(input, &subject, &body) {
        return ReplyVerdict {
            away: Some(away.clone()),
            ..ReplyVerdict::new(ReplyClass::OutOfOffice, away.found)
        };
    }
    let departure = body.find(DEPARTURE).map(|h| h.found());
    let referred = referred_contact(&body, &input.exclusions);
    if departure.is_some() {
        if let Some(contact) = referred
            .clone()
            .or_else(|| foreign_email(&body, &input.exclusions))
        {
            return ReplyVerdict {
                contact: Some(contact.clone()),
                ..ReplyVerdict::new(ReplyClass::Referral, contact.found)
            };
        }
    }
    if let Some(found) = both(TICKET).or_else(|| machine_header(&reply.headers)) {
        return ReplyVerdict::new(ReplyClass::AutoReply, found);
    }
    if let Some(h) = body.find(SARCASM) {
        return ReplyVerdict::new(ReplyClass::NotInterested, h.found());
    }
    let meetings = body.find_all(MEETING);
    if let Some(h) = meetings
        .iter()
        .find(|h| meeting_deferral(input, h).is_none())
    {
        return ReplyVerdict::new(ReplyClass::MeetingRequest, h.found());
    }
    if let Some((h, later)) = meetings
        .first()
        .and_then(|h| meeting_deferral(input, h).map(|d| (h, d)))
    {
        return ReplyVerdict {
            deferral: later,
            ..ReplyVerdict::new(ReplyClass::NotNow, h.found())
        };
    }
    let objections = objections(input, &body);
    if let Some(found) = pricing_ask(&body, &objections) {
        return ReplyVerdict::new(ReplyClass::PricingQuestion, found);
    }
    if let Some(contact) = referred {
        return ReplyVerdict {
            contact: Some(contact.clone()),
            ..ReplyVerdict::new(ReplyClass::Referral, contact.found)
        };
    }
    if let Some(found) = body.find(WRONG_PERSON).map(|h| h.found()).or(departure) {
        return ReplyVerdict::new(ReplyClass::WrongPerson, found);
    }
    let deferral = || {
        body.parts()
            .iter()
            .find_map(|p| deferral_date(p, input.received))
    };
    if let Some(h) = body.find(DECLINE) {
        let qualifier = body.all_matches(DEFER_QUALIFIERS).into_iter().next();
        if let Some(q) = qualifier.or_else(|| body.find(DEFER)) {
            let found = Found::new(
                h.part.source(),
                format!("{} … {}", h.excerpt(), q.excerpt()),
            );
            return ReplyVerdict {
                deferral: deferral(),
                ..ReplyVerdict::new(ReplyClass::NotNow, found)
            };
        }
        return ReplyVerdict::new(ReplyClass::NotInterested, h.found());
    }
    if let Some(h) = body.find(DEFER) {
        return ReplyVerdict {
            deferral: deferral(),
            ..ReplyVerdict::new(ReplyClass::NotNow, h.found())
        };
    }
    let weak_positive = || {
        objections
            .is_empty()
            .then(|| body.find(POSITIVE_WEAK))
            .flatten()
    };
    if let Some(h) = body.find(POSITIVE).or_else(weak_positive) {
        return ReplyVerdict::new(ReplyClass::Positive, h.found());
    }
    let mut vetoes = objections.clone();
    vetoes.extend(body.find_all(ANGRY));
    vetoes.extend(body.find_all(SARCASM));
    if let Some(found) = question(&body, &vetoes) {
        return ReplyVerdict::new(ReplyClass::Question, found);
    }
    if let Some(h) = objections.first() {
        return ReplyVerdict::new(ReplyClass::Objection, h.found());
    }
    if let Some(h) = body.find(ANGRY) {
        return ReplyVerdict::new(ReplyClass::NotInterested, h.found());
    }
    let text = body.parts().first().map_or(String::new(), |p| {
        trim_words(p.excerpt(0, p.tokens().len()), SENTENCE_EXCERPT)
    });
    let asks = body.parts().iter().any(|p| p.norm().contains('?'));
    let class = if asks {
        ReplyClass::Question
    } else {
        ReplyClass::Positive
    };
    ReplyVerdict {
        unmatched: true,
        ..ReplyVerdict::new(class, Found::new("text", text))
    }
}
