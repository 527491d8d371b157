//! Away notices: is this an out-of-office, when is the writer back, and whom to contact meanwhile.
//!
//! An away phrase counts only in the present ("I am out of office", not "I was out of office
//! last week"). The return date is read from the body first, then the subject; the alternate
//! contact is the first person the note points to ("for urgent matters reach Tom Baker").

use super::contact::{referred_contact, Contact};
use super::dates::return_date;
use super::lexicon::{AWAY, AWAY_PAST};
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

/// Whether an away phrase is about the past ("I was on vacation", "back from holiday").
fn is_past(hit: &Hit) -> bool {
    let tokens = hit.part.tokens();
    let before: Vec<&str> = tokens[hit.first.saturating_sub(2)..hit.first]
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    before.iter().any(|w| AWAY_PAST.contains(w)) || before.ends_with(&["back", "from"])
}

/// The away notice in `subject` and `body`, if it is one.
pub(crate) fn away_notice(input: &Input, subject: &Doc, body: &Doc) -> Option<AwayNotice> {
    let hit = body
        .find_all(AWAY)
        .into_iter()
        .chain(subject.find_all(AWAY))
        .find(|h| !is_past(h))?;
    let return_date = body
        .parts()
        .iter()
        .chain(subject.parts())
        .find_map(|p| return_date(p, input.received));
    Some(AwayNotice {
        found: hit.found(),
        return_date,
        alternate: referred_contact(body, &input.exclusions),
    })
}
