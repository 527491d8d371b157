//! Risk flags (any number, each with the evidence that raised it) and the human-only lane
//! (at most one).
//!
//! Text flags come from the buyer's own words only (a capitalised word after another inside a
//! sentence is a name: "Dr. Alan Price" raises no `pricing`); `duplicate_record` and `channel_switch` come
//! from matching (earlier handoffs of the same contact), `existing_customer` from the configured
//! account or from the buyer saying they use our product. A data-protection request (erasure,
//! "I never consented", "where did you get my address", a regulator named) raises
//! `legal_review` even on an unsubscribe: someone must answer it. `unclear_use_case` is raised by the
//! qualification rules ([`super::inbound`], [`super::outbound`]).
//!
//! `angry_buyer` is hostility towards us: anger at a competitor in the same sentence ("fed up
//! with Clari") does not count; a stop request shouted with "!!" counts, weakly. A buyer asking
//! whether they are a customer ("Are we already a customer?") is not `existing_customer`.
//!
//! The lane is the decision a deal blocks on first: legal review, then security review (but
//! security review first when the legal flag only names a privacy rule beside a security ask,
//! with no agreement or legal team to deal with: [`legal_agreement`]), then
//! procurement, then negotiation (discounts, multi-year, concessions), then custom packaging
//! (bespoke bundles, partial modules, special pilots: packaging must be settled before a price
//! can be quoted), then pricing.

use super::lexicon::{
    legal_agreement, legal_review, ANGRY, CUSTOM_PACKAGING, ENTERPRISE, EVALUATION,
    EXISTING_CUSTOMER, NEGOTIATION, PRICING, PRIVACY_REQUEST, PROCUREMENT, PRODUCT_USE_PREFIXES,
    PRODUCT_USE_SUFFIXES, SECURITY, STOP,
};
use super::text::{number_value, Doc, Hit, Part};
use super::{Flags, Found, Input};
use crate::config::Rules;
use crate::event::EventKind;
use crate::package::{HumanLane, RiskFlag};

const EMPLOYEE_NOUNS: &[&str] = &[
    "employees",
    "employee",
    "staff",
    "people",
    "person",
    "headcount",
    "fte",
    "ftes",
    "mitarbeiter",
    "mitarbeitende",
    "mitarbeitern",
    "salaries",
    "employes",
    "collaborateurs",
];
const SEAT_NOUNS: &[&str] = &[
    "seats",
    "seat",
    "users",
    "licenses",
    "licences",
    "reps",
    "sellers",
    "agents",
    "sdrs",
    "aes",
    "analysts",
    "lizenzen",
    "nutzer",
    "licences",
    "utilisateurs",
];
const COUNTRY_NOUNS: &[&str] = &["countries", "markets", "lander", "landern", "pays"];
const REGION_NOUNS: &[&str] = &["regions", "continents"];
/// Countries (or markets) from which a rollout counts as enterprise.
const ENTERPRISE_COUNTRIES: u32 = 5;
/// Regions from which a rollout counts as enterprise.
const ENTERPRISE_REGIONS: u32 = 3;

/// Every risk flag the event raises, except `unclear_use_case`.
pub(crate) fn risk_flags(input: &Input) -> Flags {
    let words = &input.words;
    let mut flags = Flags::new();
    let mut raise = |flag: RiskFlag, found: Option<Found>| {
        if let Some(f) = found {
            flags.entry(flag).or_insert(f);
        }
    };
    let found = |phrases: &[&str]| words.find(phrases).map(|h| h.found());
    let price = words
        .find_all(PRICING)
        .into_iter()
        .find(|h| !surname(h))
        .map(|h| h.found());
    raise(RiskFlag::Pricing, price.or_else(|| found(NEGOTIATION)));
    raise(RiskFlag::Procurement, found(PROCUREMENT));
    raise(
        RiskFlag::LegalReview,
        found(legal_review()).or_else(|| found(PRIVACY_REQUEST)),
    );
    raise(RiskFlag::SecurityReview, found(SECURITY));
    raise(RiskFlag::CompetitorEval, competitor(input));
    raise(RiskFlag::Enterprise, enterprise(input));
    raise(RiskFlag::AngryBuyer, angry(input));
    raise(RiskFlag::ExistingCustomer, existing_customer(input));
    let channel = input.event.channel;
    let open_same_channel = input
        .ctx
        .same_contact
        .iter()
        .find(|h| !h.state.is_final() && h.channel == channel);
    raise(
        RiskFlag::DuplicateRecord,
        open_same_channel.map(|h| {
            Found::new(
                "match:same_contact",
                format!(
                    "open handoff {} via {} ({})",
                    h.id,
                    h.channel.as_str(),
                    h.state.as_str()
                ),
            )
        }),
    );
    let other_channel = input.ctx.same_contact.iter().find(|h| h.channel != channel);
    raise(
        RiskFlag::ChannelSwitch,
        other_channel.map(|h| {
            Found::new(
                "match:same_contact",
                format!(
                    "handoff {} via {}, now {}",
                    h.id,
                    h.channel.as_str(),
                    channel.as_str()
                ),
            )
        }),
    );
    flags
}

/// Whether a one-word hit is a capitalised name inside a sentence ("Dr. Alan Price").
fn surname(h: &Hit) -> bool {
    let (s, _) = h.part.sentence_of(h.first);
    h.end == h.first + 1
        && h.first > s
        && h.part.is_capitalised(h.first)
        && h.part.is_capitalised(h.first - 1)
}

/// A hostile or threatening tone, except anger at a competitor ("we're fed up with Clari"):
/// that is a reason to talk, not hostility towards us. A stop request shouted with a run of
/// exclamation marks ("stop emailing me!!!") is hostile too, a weaker sign.
fn angry(input: &Input) -> Option<Found> {
    let competitors = &input.rules.org.competitors;
    input
        .words
        .find_all(ANGRY)
        .into_iter()
        .find(|h| {
            let (s, e) = h.part.sentence_of(h.first);
            let sentence = Part::new("text", h.part.sentence_text(s, e));
            Doc::from_part(sentence).find(competitors).is_none()
        })
        .map(|h| h.found())
        .or_else(|| shouted_stop(&input.words))
}

/// A stop request whose sentence ends with two or more exclamation marks.
fn shouted_stop(words: &Doc) -> Option<Found> {
    words.find_all(STOP).into_iter().find_map(|h| {
        let (_, e) = h.part.sentence_of(h.first);
        let last = &h.part.tokens()[e - 1];
        let tail_end = h
            .part
            .tokens()
            .get(e)
            .map_or(h.part.norm().len(), |t| t.start);
        let tail = &h.part.norm()[last.end..tail_end];
        (tail.matches('!').count() >= 2).then(|| {
            let (s, _) = h.part.sentence_of(h.first);
            Found::new(h.part.source(), h.part.excerpt(s, e)).with_confidence(SHOUTED)
        })
    })
}

/// The confidence of anger read from punctuation alone.
const SHOUTED: u8 = 60;

/// Whether a hit sits in a question that asks about it ("Are we already a customer?"): the
/// buyer does not know, so it says nothing.
fn asked_about(h: &Hit) -> bool {
    let (s, e) = h.part.sentence_of(h.first);
    h.part.is_question(e)
        && h.part.tokens()[s..h.first].iter().any(|t| {
            matches!(
                t.text.as_str(),
                "are" | "am" | "sind" | "sommes" | "somos" | "siamo" | "zijn"
            )
        })
}

/// A competing product named, or an ongoing evaluation.
fn competitor(input: &Input) -> Option<Found> {
    let mut phrases: Vec<&str> = input
        .rules
        .org
        .competitors
        .iter()
        .map(String::as_str)
        .collect();
    phrases.extend_from_slice(EVALUATION);
    input.words.find(&phrases).map(|h| h.found())
}

/// Our product named as something the buyer already has, or a configured customer account.
fn existing_customer(input: &Input) -> Option<Found> {
    if input.ctx.existing_customer {
        let account = input
            .event
            .company_domain()
            .map_or_else(|| input.company(), |d| d.to_string());
        return Some(Found::new(
            "match:existing_customer",
            format!("{account} is a customer"),
        ));
    }
    let mut phrases: Vec<String> = EXISTING_CUSTOMER.iter().map(|s| s.to_string()).collect();
    phrases.extend(product_use_phrases(input.rules));
    input
        .words
        .find_all(&phrases)
        .into_iter()
        .find(|h| !asked_about(h))
        .map(|h| h.found())
}

/// Phrases that say the buyer already uses our product ("we already use Northwind",
/// "our Northwind contract").
pub(crate) fn product_use_phrases(rules: &Rules) -> Vec<String> {
    let org = &rules.org;
    let mut phrases = Vec::new();
    for product in org.product_names.iter().chain(std::iter::once(&org.name)) {
        phrases.extend(
            PRODUCT_USE_PREFIXES
                .iter()
                .map(|p| format!("{p} {product}")),
        );
        phrases.extend(
            PRODUCT_USE_SUFFIXES
                .iter()
                .map(|s| format!("{product} {s}")),
        );
    }
    phrases
}

/// A number ending at token `k`: `1200`, `1,200`, `1.200`, `2k`; with its first token.
fn number_ending_at(part: &Part, k: usize) -> Option<(u32, usize)> {
    let t = part.tokens()[k].text.as_str();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(thousands) = t.strip_suffix('k').filter(|s| digits(s)) {
        return thousands
            .parse::<u32>()
            .ok()
            .map(|n| (n.saturating_mul(1000), k));
    }
    if !digits(t) {
        return number_value(t).map(|n| (n, k));
    }
    let n: u32 = t.parse().ok()?;
    if t.len() == 3 && k >= 1 && matches!(part.gap(k - 1, k), "," | "." | "'") {
        let head = part.tokens()[k - 1].text.as_str();
        if digits(head) && head.len() <= 3 {
            let h: u32 = head.parse().ok()?;
            return Some((h.saturating_mul(1000).saturating_add(n), k - 1));
        }
    }
    Some((n, k))
}

/// Counts written before a noun ("1,200 active users", "5000+ employees"), by noun group.
fn counts(part: &Part, nouns: &[&str]) -> Vec<(u32, usize, usize)> {
    let tokens = part.tokens();
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if !nouns.contains(&t.text.as_str()) {
            continue;
        }
        for back in 1..=2 {
            let Some(k) = i.checked_sub(back) else { break };
            if part.sentence_break(k, k + 1) {
                break;
            }
            if let Some((n, first)) = number_ending_at(part, k) {
                out.push((n, first, i + 1));
                break;
            }
        }
    }
    out
}

/// The largest number in a field value ("1000-5000" → 5000).
fn largest_number(value: &str) -> Option<u32> {
    let part = Part::new("field", value);
    (0..part.tokens().len())
        .filter_map(|k| number_ending_at(&part, k).map(|(n, _)| n))
        .filter(|n| *n > 0)
        .max()
}

/// Company size, seats or rollout scope at enterprise level.
fn enterprise(input: &Input) -> Option<Found> {
    let policy = &input.rules.qualification;
    let buyer = input.event.buyer();
    if let Some(e) = buyer
        .employees
        .filter(|e| *e >= policy.enterprise_employees)
    {
        return Some(Found::new("field:employees", e.to_string()));
    }
    let seats = match &input.event.kind {
        EventKind::FormLead(f) => f.seats,
        EventKind::QualifiedLead(q) => q.seats,
        _ => None,
    };
    if let Some(s) = seats.filter(|s| *s >= policy.enterprise_seats) {
        return Some(Found::new("field:seats", s.to_string()));
    }
    if let EventKind::FormLead(form) = &input.event.kind {
        for (name, value) in &form.fields {
            let n = name.to_ascii_lowercase();
            let threshold = if ["size", "employee", "headcount"]
                .iter()
                .any(|k| n.contains(k))
            {
                policy.enterprise_employees
            } else if ["seat", "licen", "users"].iter().any(|k| n.contains(k)) {
                policy.enterprise_seats
            } else {
                continue;
            };
            if largest_number(value).is_some_and(|v| v >= threshold) {
                return Some(Found::new(format!("field:{name}"), value.clone()));
            }
        }
    }
    for part in input.words.parts() {
        let groups: [(&[&str], u32); 4] = [
            (EMPLOYEE_NOUNS, policy.enterprise_employees),
            (SEAT_NOUNS, policy.enterprise_seats),
            (COUNTRY_NOUNS, ENTERPRISE_COUNTRIES),
            (REGION_NOUNS, ENTERPRISE_REGIONS),
        ];
        for (nouns, threshold) in groups {
            let big = counts(part, nouns)
                .into_iter()
                .find(|(n, _, _)| *n >= threshold);
            if let Some((_, first, end)) = big {
                return Some(Found::new(part.source(), part.excerpt(first, end)));
            }
        }
    }
    input.words.find(ENTERPRISE).map(|h| h.found())
}

/// The one human-only lane a deal would block on first, if any (order in the module docs).
pub(crate) fn human_lane(words: &Doc, flags: &Flags) -> Option<(HumanLane, Found)> {
    let from_flag = |flag: RiskFlag, lane: HumanLane| flags.get(&flag).map(|f| (lane, f.clone()));
    let from_text =
        |phrases: &[&str], lane: HumanLane| words.find(phrases).map(|h| (lane, h.found()));
    let security_first =
        flags.contains_key(&RiskFlag::SecurityReview) && words.find(legal_agreement()).is_none();
    let legal = || from_flag(RiskFlag::LegalReview, HumanLane::LegalReview);
    let security = || from_flag(RiskFlag::SecurityReview, HumanLane::SecurityReview);
    let first = if security_first {
        security().or_else(legal)
    } else {
        legal().or_else(security)
    };
    first
        .or_else(|| from_flag(RiskFlag::Procurement, HumanLane::Procurement))
        .or_else(|| from_text(NEGOTIATION, HumanLane::Negotiation))
        .or_else(|| from_text(CUSTOM_PACKAGING, HumanLane::CustomPackaging))
        .or_else(|| from_flag(RiskFlag::Pricing, HumanLane::Pricing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_written_counts() {
        let p = Part::new(
            "text",
            "We have 1,200 active users and 5000+ employees in 12 countries.",
        );
        let seats: Vec<u32> = counts(&p, SEAT_NOUNS).into_iter().map(|c| c.0).collect();
        assert_eq!(seats, vec![1200]);
        let staff: Vec<u32> = counts(&p, EMPLOYEE_NOUNS)
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(staff, vec![5000]);
        let countries: Vec<u32> = counts(&p, COUNTRY_NOUNS).into_iter().map(|c| c.0).collect();
        assert_eq!(countries, vec![12]);
        assert_eq!(largest_number("1000-5000"), Some(5000));
        assert_eq!(largest_number("10,000+"), Some(10000));
        assert_eq!(largest_number("2k"), Some(2000));
    }
}
