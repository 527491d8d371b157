//! Away notices: is this an out-of-office, when is the writer back, and whom to contact meanwhile.
//!
//! An away phrase (English, German, French, Spanish, Portuguese, Italian, Dutch) counts only in
//! the present ("I am out of office", not "I was out of office last week" or "I'm about to go
//! on leave", which a person writes themselves). Machine mail (an auto-reply header or an
//! "Automatic reply:" subject) that names a return day ("back on Monday 30 November", "hasta
//! el 7 de enero") is an away notice too, without an away phrase. The return date is read from
//! the body first, then the subject; the alternate contact is the first person the note points
//! to ("for urgent matters reach Tom Baker").
//!
//! Confidence: an away phrase with a return date, or on machine mail, is near-certain
//! ([`STRONG`]); an away phrase alone is a phrase match.

use super::contact::{referred_contact, Contact};
use super::dates::{cued_return, return_date};
use super::lexicon::{AUTO_REPLY_SUBJECT, AWAY, AWAY_FUTURE, AWAY_PAST};
use super::text::{Doc, Hit};
use super::{Found, Input};
use chrono::NaiveDate;

/// An away notice and what it says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AwayNotice {
    /// The away phrase.
    pub found: Found,
    /// The return day, with the words that gave it.
    pub return_date: Option<(NaiveDate, String)>,
    /// Whom to contact meanwhile.
    pub alternate: Option<Contact>,
}

/// The confidence of an away notice with a return date or on machine mail.
pub(crate) const STRONG: u8 = 97;

/// Whether an away phrase is about the past ("I was on vacation", "back from holiday") or a
/// plan the writer announces ("I'm about to go on leave").
fn is_past(hit: &Hit) -> bool {
    let tokens = hit.part.tokens();
    let before: Vec<&str> = tokens[hit.first.saturating_sub(2)..hit.first]
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    before
        .iter()
        .any(|w| AWAY_PAST.contains(w) || AWAY_FUTURE.contains(w))
        || before.ends_with(&["back", "from"])
}

/// Whether the subject is an auto-reply's ("Automatic reply:", "Respuesta automática:").
fn auto_subject(subject: &Doc) -> bool {
    subject.parts().iter().any(|p| {
        let norm = p.norm().trim_start();
        AUTO_REPLY_SUBJECT.iter().any(|s| norm.starts_with(s))
    })
}

/// The away notice in `subject` and `body`, if it is one; `machine` when a header marks the
/// reply as machine mail.
pub(crate) fn away_notice(
    input: &Input,
    subject: &Doc,
    body: &Doc,
    machine: bool,
) -> Option<AwayNotice> {
    let hit = body
        .find_all(AWAY)
        .into_iter()
        .chain(subject.find_all(AWAY))
        .find(|h| !is_past(h));
    let return_date = || {
        body.parts()
            .iter()
            .chain(subject.parts())
            .find_map(|p| return_date(p, input.received))
    };
    let machine = machine || auto_subject(subject);
    let (found, return_date) = match hit {
        Some(h) => {
            let date = return_date();
            let found = h.found();
            let found = if machine || date.is_some() {
                found.with_confidence(STRONG)
            } else {
                found
            };
            (found, date)
        }
        None if machine => {
            let (date, words) = cued_return_date(input, subject, body)?;
            (
                Found::new("text", words.clone()).with_confidence(STRONG),
                Some((date, words)),
            )
        }
        None => return None,
    };
    Some(AwayNotice {
        found,
        return_date,
        alternate: referred_contact(body, &input.exclusions),
    })
}

/// A return day written after a return cue ("back on", "bis", "hasta el"), for machine mail
/// without an away phrase.
fn cued_return_date(input: &Input, subject: &Doc, body: &Doc) -> Option<(NaiveDate, String)> {
    body.parts()
        .iter()
        .chain(subject.parts())
        .find_map(|p| cued_return(p, input.received))
}
