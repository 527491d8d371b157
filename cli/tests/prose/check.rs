//! What text written for a person must not contain: braces (a struct's debug output), a Rust
//! enum variant name (listed here from every value's `Debug`, not by hand), a snake_case label
//! of an enum, or a count of one with a plural noun ("1 active reps").

use handoff_domain::claim_link::ClaimAction;
use handoff_domain::config::{Role, Segment};
use handoff_domain::event::{Channel, MeetingStatus, Urgency};
use handoff_domain::lifecycle::{ReassignReason, RerouteReason, State, Transition};
use handoff_domain::package::{
    CrmField, HumanLane, Motion, NextAction, Qualification, ReplyClass, RiskFlag, TriggerKind,
};
use handoff_domain::ports::Stage;
use std::collections::BTreeSet;
use std::fmt::Debug;

/// The names a leak of Rust's formatting would show, and the stable labels with underscores.
pub struct Forbidden {
    /// Variant names with two or more capitals ("NotOffered"): wrong anywhere.
    camel: BTreeSet<String>,
    /// One-capital variant names ("Sdr", "Closer"): wrong where a sentence does not start.
    capitalised: BTreeSet<String>,
    /// snake_case labels ("demo_request", "crm_written"): wrong in text for people.
    snake: BTreeSet<String>,
}

/// Every variant name of the enums that reach people, from their `Debug` output.
fn variant_names() -> BTreeSet<String> {
    fn names<T: Debug>(values: &[T]) -> Vec<String> {
        values.iter().map(|v| format!("{v:?}")).collect()
    }
    let booked = MeetingStatus::Booked {
        starts_at: chrono::DateTime::UNIX_EPOCH,
    };
    let debug: Vec<String> = [
        names(Motion::ALL),
        names(TriggerKind::ALL),
        names(ReplyClass::ALL),
        names(Qualification::ALL),
        names(RiskFlag::ALL),
        names(HumanLane::ALL),
        names(NextAction::ALL),
        names(CrmField::ALL),
        names(&State::ALL),
        names(&RerouteReason::ALL),
        names(&Transition::ALL),
        names(&Channel::ALL),
        names(&Urgency::ALL),
        names(&[
            MeetingStatus::NotOffered,
            MeetingStatus::Offered,
            booked,
            MeetingStatus::Declined,
        ]),
        names(&Role::ALL),
        names(&Segment::ALL),
        names(&ClaimAction::ALL),
        names(&Stage::ALL),
        names(&[
            ReassignReason::SlaMissed,
            ReassignReason::WrongOwner,
            ReassignReason::Requalification,
            ReassignReason::QueuePickup,
        ]),
        names(&[Some(1), None]),
    ]
    .concat();
    debug
        .iter()
        .flat_map(|d| d.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(str::to_string)
        .collect()
}

/// The stable labels with an underscore.
fn snake_labels() -> BTreeSet<String> {
    fn labels<T: Copy>(values: &[T], label: impl Fn(T) -> &'static str) -> Vec<&'static str> {
        values.iter().map(|v| label(*v)).collect()
    }
    [
        labels(TriggerKind::ALL, TriggerKind::as_str),
        labels(ReplyClass::ALL, ReplyClass::as_str),
        labels(Qualification::ALL, Qualification::as_str),
        labels(RiskFlag::ALL, RiskFlag::as_str),
        labels(HumanLane::ALL, HumanLane::as_str),
        labels(NextAction::ALL, NextAction::as_str),
        labels(&State::ALL, State::as_str),
        labels(&Transition::ALL, Transition::label),
        labels(&Channel::ALL, Channel::as_str),
        labels(&Segment::ALL, Segment::as_str),
    ]
    .concat()
    .into_iter()
    .filter(|l| l.contains('_'))
    .map(str::to_string)
    .collect()
}

impl Forbidden {
    pub fn new() -> Self {
        let (camel, capitalised) = variant_names()
            .into_iter()
            .partition(|n| n.chars().filter(char::is_ascii_uppercase).count() > 1);
        Self {
            camel,
            capitalised,
            snake: snake_labels(),
        }
    }

    /// What is wrong with `text` written for a person (empty when nothing is).
    pub fn problems(&self, text: &str, snake_allowed: bool) -> Vec<String> {
        let mut found = Vec::new();
        for brace in ['{', '}'] {
            if let Some(line) = text.lines().find(|l| l.contains(brace)) {
                found.push(format!("a brace {brace:?} in {line:?}"));
            }
        }
        let unquoted = without_quotes(text);
        for (at, word) in words(&unquoted) {
            if self.camel.contains(word) {
                found.push(format!(
                    "the variant name {word} in {:?}",
                    line_at(&unquoted, at)
                ));
            }
            if self.capitalised.contains(word) && mid_sentence(&unquoted[..at]) {
                found.push(format!(
                    "the variant name {word} in {:?}",
                    line_at(&unquoted, at)
                ));
            }
            if !snake_allowed && self.snake.contains(word) {
                found.push(format!("the label {word} in {:?}", line_at(&unquoted, at)));
            }
        }
        found.extend(
            one_with_plural(text)
                .into_iter()
                .map(|l| format!("a plural after 1 in {l:?}")),
        );
        found
    }
}

/// `text` with every double-quoted stretch (someone's words, verbatim) blanked out.
fn without_quotes(text: &str) -> String {
    let mut inside = false;
    text.chars()
        .map(|c| {
            if c == '"' {
                inside = !inside;
                ' '
            } else if inside && c != '\n' {
                ' '
            } else {
                if c == '\n' {
                    inside = false;
                }
                c
            }
        })
        .collect()
}

/// Words (letters, digits, `_`) with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        let part = c.is_alphanumeric() || c == '_';
        match (start, part) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn line_at(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

/// Whether a word after `before` sits inside a sentence: after a lowercase word, a digit, a
/// comma, an arrow or an opening bracket, with at most one space between. A line start, a
/// column gap (two spaces), a full stop, a colon or a dash start something new.
fn mid_sentence(before: &str) -> bool {
    let trimmed = before.strip_suffix(' ').unwrap_or(before);
    if trimmed.ends_with(' ') && !trimmed.ends_with("→ ") {
        return false;
    }
    trimmed
        .chars()
        .last()
        .is_some_and(|c| c.is_lowercase() || c.is_ascii_digit() || ",;→[(".contains(c))
}

/// Words a count of one may be followed by before its noun ("1 active rep").
const ADJECTIVES: &[&str] = &[
    "active",
    "more",
    "business",
    "open",
    "new",
    "qualification",
    "eligible",
    "other",
    "agent",
    "provider",
    "routing",
    "owned",
    "outbound",
    "inbound",
    "handoff",
    "reply",
];

/// Lines where a standalone "1" is followed by a plural noun.
fn one_with_plural(text: &str) -> Vec<&str> {
    let plural = |w: &str| {
        let w = w.to_lowercase();
        w.len() > 2
            && w.ends_with('s')
            && !["ss", "us", "is"].iter().any(|s| w.ends_with(s))
            && !["was", "has", "does", "its", "this", "yes"].contains(&w.as_str())
    };
    text.lines()
        .filter(|line| {
            let tokens: Vec<&str> = line.split(' ').collect();
            tokens.iter().enumerate().any(|(i, t)| {
                let one = *t == "1" || *t == "(1";
                let next = |k: usize| {
                    tokens
                        .get(i + k)
                        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
                };
                one && match (next(1), next(2)) {
                    (Some(a), _) if plural(a) => true,
                    (Some(a), Some(b)) => ADJECTIVES.contains(&a) && plural(b),
                    _ => false,
                }
            })
        })
        .collect()
}

/// Fails the test when `text` (from `what`) is not prose for people.
#[track_caller]
pub fn assert_prose(forbidden: &Forbidden, what: &str, text: &str) {
    let problems = forbidden.problems(text, false);
    assert!(problems.is_empty(), "{what}: {problems:#?}\n---\n{text}");
}

/// [`assert_prose`] for text that may name config keys and values (`rules check`).
#[track_caller]
pub fn assert_prose_with_config(forbidden: &Forbidden, what: &str, text: &str) {
    let problems = forbidden.problems(text, true);
    assert!(problems.is_empty(), "{what}: {problems:#?}\n---\n{text}");
}

#[test]
fn the_check_catches_each_kind_of_leak() {
    let f = Forbidden::new();
    for (bad, why) in [
        ("meeting: NotOffered", "camel"),
        ("Booked { starts_at: 2026-11-25 }", "brace"),
        ("failover.requalify_role is Sdr but", "capitalised"),
        ("rule → Closer", "capitalised"),
        ("[Ae, emea]", "capitalised"),
        ("owner Some(\"lena\")", "capitalised"),
        ("1 active reps have it", "plural"),
        ("1 touches so far", "plural"),
        ("trigger demo_request", "snake"),
    ] {
        assert!(!f.problems(bad, false).is_empty(), "{why}: {bad}");
    }
    for good in [
        "meeting: none offered yet",
        "1 active rep has it; 3 of 6 reps remain",
        "1 of 1 rep remains",
        "Pricing request: Dana",
        "Meeting \"15 Minute Meeting\": the buyer booked it",
        "2. Buyer: Dana <d@x.io> · via website / web form",
        "1 business minute on Lena Fischer's calendar",
        "closer; role AE",
    ] {
        assert_eq!(f.problems(good, false), Vec::<String>::new(), "{good}");
    }
    assert!(f
        .problems("form field utm_campaign, trigger demo_request", true)
        .is_empty());
}
