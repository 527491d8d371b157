//! Qualification signals read from text: authority, need, timeline, ambiguity, disqualifiers.
//!
//! Shared by both motions. Each returns the evidence that showed it.

use super::lexicon::{
    AMBIGUOUS, AUTHORITY_ROLE, AUTHORITY_TEXT, DISQUALIFIER, NEED, TIMELINE, VENDOR_PITCH,
};
use super::text::Doc;
use super::{Found, Input};

/// The buyer's role carries buying authority, or they say they decide.
pub(crate) fn authority(input: &Input, role: Option<&str>) -> Option<Found> {
    if let Some(role) = role {
        let mut doc = Doc::default();
        doc.push("field:role", role);
        if let Some(h) = doc.find(AUTHORITY_ROLE) {
            return Some(Found::new(
                "field:role",
                h.part.excerpt(0, h.part.tokens().len()),
            ));
        }
    }
    input.words.find(AUTHORITY_TEXT).map(|h| h.found())
}

/// A product-line word in the buyer's words ("dashboards", "data pipeline").
pub(crate) fn product_words(input: &Input) -> Option<Found> {
    let words: Vec<&str> = input
        .rules
        .org
        .product_lines
        .values()
        .flatten()
        .map(String::as_str)
        .collect();
    input.words.find(&words).map(|h| h.found())
}

/// The buyer states a need: need words or a product-line word.
pub(crate) fn need(input: &Input) -> Option<Found> {
    input
        .words
        .find(NEED)
        .map(|h| h.found())
        .or_else(|| product_words(input))
}

/// The buyer states a timeline.
pub(crate) fn timeline(words: &Doc) -> Option<Found> {
    words.find(TIMELINE).map(|h| h.found())
}

/// An ambiguous answer ("maybe", "not sure", "depends").
pub(crate) fn ambiguous(words: &Doc) -> Option<Found> {
    words.find(AMBIGUOUS).map(|h| h.found())
}

/// An explicit disqualifier (student, job seeker, competitor research, never any budget, a
/// vendor pitch or spam).
pub(crate) fn disqualifier(words: &Doc) -> Option<Found> {
    words
        .find(DISQUALIFIER)
        .or_else(|| words.find(VENDOR_PITCH))
        .map(|h| h.found())
}

/// A vendor pitching its own services, or spam.
pub(crate) fn vendor_pitch(words: &Doc) -> Option<Found> {
    words.find(VENDOR_PITCH).map(|h| h.found())
}

/// Several findings as one piece of evidence (`source: a; b; c`).
pub(crate) fn combined(found: &[&Found]) -> Found {
    let source = found
        .first()
        .map_or("rule", |f| f.source.as_str())
        .to_string();
    let all_same = found.iter().all(|f| f.source == source);
    let excerpt = found
        .iter()
        .map(|f| {
            if all_same {
                f.excerpt.clone()
            } else {
                format!("{}: {}", f.source, f.excerpt)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Found::new(if all_same { source } else { "rule".to_string() }, excerpt)
}
