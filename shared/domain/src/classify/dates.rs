//! Dates written in replies ("back on December 7", "until 12/07/2026", "zurück am 07.12.",
//! "de retour le 5 janvier", "hasta el 7 de enero", "terug op 4 januari", "de volta a 6 de
//! janeiro", "rientro il 7 gennaio", "check back in Q3", "après l'été", "mid-2027"), resolved
//! against the day the reply arrived. Month and weekday names come from
//! [`super::text::month_number`] (seven languages); words are compared with accents folded.
//!
//! A date without a year is in the year the reply arrived unless that puts it more than
//! [`PAST_TOLERANCE_DAYS`] in the past, in which case it is next year (an away notice received
//! on December 20 that says "back January 4" means next January). A slash date that reads
//! both ways (`12/07`) takes the reading closest to the received day that is not in the past.

use super::text::{month_number, number_value, ordinal_value, weekday_index, Part, Token};
use chrono::{Datelike, Days, Months, NaiveDate};

/// How far in the past a yearless date may lie before it is taken to mean next year.
const PAST_TOLERANCE_DAYS: u64 = 30;

/// Words shortly before a date that mark it as the return day (accents folded).
const RETURN_CUES: &[&str] = &[
    "back",
    "return",
    "returning",
    "returns",
    "until",
    "till",
    "til",
    "through",
    "thru",
    "to",
    "resume",
    "from",
    "zuruck",
    "zurueck",
    "wieder",
    "ab",
    "bis",
    "retour",
    "jusqu'au",
    "jusqu'a",
    "hasta",
    "regreso",
    "regresare",
    "vuelvo",
    "volvere",
    "ate",
    "volta",
    "regresso",
    "retorno",
    "fino",
    "rientro",
    "rientrero",
    "tot",
    "terug",
    "vanaf",
    "weer",
];
/// Words that make the following period the next one ("next quarter", "nächstes Jahr").
const NEXT_WORDS: &[&str] = &[
    "next",
    "nachstes",
    "nachsten",
    "nachste",
    "kommendes",
    "kommenden",
];

/// Words right before a date that make it the last day away (return the day after).
const INCLUSIVE_END_CUES: &[&str] = &[
    "through",
    "thru",
    "to",
    "inclusive",
    "einschliesslich",
    "inklusive",
    "met",
];

/// Words right after a date that make it the last day away ("27 novembre inclus", "9 dicembre
/// compreso").
const INCLUSIVE_AFTER: &[&str] = &[
    "inclusive",
    "incl",
    "inclus",
    "incluse",
    "incluso",
    "incluido",
    "incluida",
    "inclusivo",
    "compreso",
    "compresa",
    "einschliesslich",
    "inklusive",
];

/// How many words before a date a return cue may sit ("regreso el lunes 30 de noviembre").
const CUE_WINDOW: usize = 3;

/// A date found in text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateMention {
    pub date: NaiveDate,
    /// Byte range in the part's normalised text.
    pub start: usize,
    pub end: usize,
    /// Only a weekday was written ("back on Monday").
    pub weekday_only: bool,
}

/// `y-m-d`, with two-digit years in this century.
fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let year = if year < 100 { 2000 + year } else { year };
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A month and day without a year, resolved against `received`.
fn resolve_yearless(month: u32, day: u32, received: NaiveDate) -> Option<NaiveDate> {
    let oldest = received.checked_sub_days(Days::new(PAST_TOLERANCE_DAYS))?;
    match ymd(received.year(), month, day) {
        Some(d) if d >= oldest => Some(d),
        _ => ymd(received.year() + 1, month, day),
    }
}

fn resolve(month: u32, day: u32, year: Option<i32>, received: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(y) => ymd(y, month, day),
        None => resolve_yearless(month, day, received),
    }
}

/// Of two readings of an ambiguous date, the one not in the past and nearest to `received`.
fn nearest_upcoming(candidates: &[Option<NaiveDate>], received: NaiveDate) -> Option<NaiveDate> {
    let valid: Vec<NaiveDate> = candidates.iter().flatten().copied().collect();
    valid
        .iter()
        .filter(|d| **d >= received)
        .min()
        .or_else(|| valid.iter().max())
        .copied()
}

fn digits_at(bytes: &[u8], i: usize) -> (u32, usize) {
    let mut len = 0;
    let mut value = 0u32;
    while i + len < bytes.len() && bytes[i + len].is_ascii_digit() && len < 5 {
        value = value * 10 + u32::from(bytes[i + len] - b'0');
        len += 1;
    }
    (value, len)
}

/// Numeric dates: `2026-12-07`, `07.12.`, `07.12.2026`, `12/07`, `12/07/2026`.
fn numeric_dates(norm: &str, received: NaiveDate) -> Vec<DateMention> {
    let bytes = norm.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric() || b"./-".contains(&bytes[i - 1])));
        if !starts_number {
            i += 1;
            continue;
        }
        let (n1, l1) = digits_at(bytes, i);
        let mut j = i + l1;
        let sep = bytes.get(j).copied();
        let mut found: Option<NaiveDate> = None;
        if l1 == 4 && sep == Some(b'-') {
            let (n2, l2) = digits_at(bytes, j + 1);
            if l2 == 2 && bytes.get(j + 1 + l2) == Some(&b'-') {
                let (n3, l3) = digits_at(bytes, j + 2 + l2);
                if l3 == 2 {
                    found = ymd(n1 as i32, n2, n3);
                    j += 2 + l2 + l3;
                }
            }
        } else if (1..=2).contains(&l1) && matches!(sep, Some(b'.') | Some(b'/')) {
            let sep = sep.unwrap_or(b'.');
            let (n2, l2) = digits_at(bytes, j + 1);
            if (1..=2).contains(&l2) {
                let mut k = j + 1 + l2;
                let mut year = None;
                let mut trailing_dot = false;
                if bytes.get(k) == Some(&sep) {
                    let (n3, l3) = digits_at(bytes, k + 1);
                    if l3 == 2 || l3 == 4 {
                        year = Some(n3 as i32);
                        k += 1 + l3;
                    } else if sep == b'.' {
                        trailing_dot = true;
                        k += 1;
                    }
                }
                let followed_by_digit = bytes.get(k).is_some_and(u8::is_ascii_digit);
                let is_24_7 = n1 == 24 && n2 == 7 && year.is_none();
                if !followed_by_digit && !is_24_7 {
                    if sep == b'.' && (year.is_some() || trailing_dot) {
                        found = resolve(n2, n1, year, received);
                    } else if sep == b'/' {
                        found = if n1 > 12 {
                            resolve(n2, n1, year, received)
                        } else if n2 > 12 {
                            resolve(n1, n2, year, received)
                        } else {
                            let us = resolve(n1, n2, year, received);
                            let eu = resolve(n2, n1, year, received);
                            nearest_upcoming(&[us, eu], received)
                        };
                    }
                    if found.is_some() {
                        j = k;
                    }
                }
            }
        }
        if let Some(date) = found {
            out.push(DateMention {
                date,
                start: i,
                end: j.min(norm.len()),
                weekday_only: false,
            });
            i = j.max(i + 1);
        } else {
            i += l1.max(1);
        }
    }
    out
}

/// Whether tokens `a` and `b` are adjacent in a date ("Dec 7", "Dec. 7", "7. Dezember", "Dec 7, 2026").
fn adjacent(part: &Part, a: usize, b: usize) -> bool {
    let (ta, tb) = (&part.tokens()[a], &part.tokens()[b]);
    let gap = &part.norm()[ta.end..tb.start];
    gap.len() <= 3 && gap.chars().all(|c| matches!(c, ' ' | '.' | ','))
}

fn day_of(word: &str) -> Option<u32> {
    let d = ordinal_value(word).or_else(|| {
        word.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| number_value(word))
            .flatten()
    })?;
    (1..=31).contains(&d).then_some(d)
}

fn year_of(word: &str) -> Option<i32> {
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
        .filter(|y| (1990..=2100).contains(y))
}

/// Word dates: `December 7`, `Dec 7th, 2026`, `7 December`, `7th of Dec`, `7. Dezember`, `7 déc`.
fn word_dates(part: &Part, received: NaiveDate) -> Vec<DateMention> {
    let tokens = part.tokens();
    let mut out = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        let Some(month) = month_number(&tok.text) else {
            continue;
        };
        let after = tokens.get(i + 1).filter(|_| adjacent(part, i, i + 1));
        let year_after = |k: usize| {
            tokens
                .get(k)
                .filter(|_| adjacent(part, k - 1, k))
                .and_then(|t| year_of(&t.text))
        };
        if let Some(day) = after.and_then(|t| day_of(&t.text)) {
            let year = year_after(i + 2);
            let end_tok = if year.is_some() { i + 2 } else { i + 1 };
            if let Some(date) = resolve(month, day, year, received) {
                out.push(DateMention {
                    date,
                    start: tok.start,
                    end: tokens[end_tok].end,
                    weekday_only: false,
                });
            }
            continue;
        }
        let before = if i >= 1 && adjacent(part, i - 1, i) {
            day_of(&tokens[i - 1].text).map(|d| (d, i - 1))
        } else {
            None
        };
        let before = before.or_else(|| {
            (i >= 2
                && matches!(tokens[i - 1].text.as_str(), "of" | "de")
                && adjacent(part, i - 2, i - 1))
            .then(|| day_of(&tokens[i - 2].text).map(|d| (d, i - 2)))
            .flatten()
        });
        if let Some((day, first)) = before {
            let year = year_after(i + 1);
            let end_tok = if year.is_some() { i + 1 } else { i };
            if let Some(date) = resolve(month, day, year, received) {
                out.push(DateMention {
                    date,
                    start: tokens[first].start,
                    end: tokens[end_tok].end,
                    weekday_only: false,
                });
            }
        }
    }
    out
}

/// Weekdays after a return cue ("back on Monday"): the next such day after `received`.
fn weekday_dates(part: &Part, received: NaiveDate) -> Vec<DateMention> {
    let tokens = part.tokens();
    let mut out = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        let Some(day) = weekday_index(&tok.text) else {
            continue;
        };
        let cued = (i.saturating_sub(2)..i).any(|k| RETURN_CUES.contains(&tokens[k].text.as_str()));
        if !cued {
            continue;
        }
        let today = received.weekday().num_days_from_monday();
        let ahead = (day + 7 - today) % 7;
        let ahead = if ahead == 0 { 7 } else { ahead };
        if let Some(date) = received.checked_add_days(Days::new(u64::from(ahead))) {
            out.push(DateMention {
                date,
                start: tok.start,
                end: tok.end,
                weekday_only: true,
            });
        }
    }
    out
}

/// Every date written in `part`, in text order.
pub(crate) fn date_mentions(part: &Part, received: NaiveDate) -> Vec<DateMention> {
    let mut all = numeric_dates(part.norm(), received);
    all.extend(word_dates(part, received));
    all.extend(weekday_dates(part, received));
    all.sort_by_key(|m| m.start);
    all
}

/// The words right before byte `start` (up to [`CUE_WINDOW`]) and whether a dash sits right
/// before it.
fn words_before(part: &Part, start: usize) -> (Vec<&str>, bool) {
    let before: Vec<&Token> = part.tokens().iter().filter(|t| t.end <= start).collect();
    let words: Vec<&str> = before.iter().map(|t| t.text.as_str()).collect();
    let dash = before
        .last()
        .is_some_and(|t| part.norm()[t.end..start].contains('-'));
    let from = words.len().saturating_sub(CUE_WINDOW);
    (words[from..].to_vec(), dash)
}

/// Whether the word right after byte `end` makes the date inclusive ("27 novembre inclus").
fn inclusive_after(part: &Part, end: usize) -> bool {
    part.tokens()
        .iter()
        .find(|t| t.start >= end)
        .is_some_and(|t| INCLUSIVE_AFTER.contains(&t.text.as_str()))
}

/// The day an away notice's writer is back, with the words that said so.
///
/// Prefers dates right after a return cue ("back on", "until", "zurück am", "hasta el", "terug
/// op"), else the latest date written; explicit dates win over bare weekdays. A date that ends
/// a range ("Dec 1 to Dec 6", "through Friday", "bis einschließlich 12.01.", "tot en met 4
/// december", "27 novembre inclus") is the last day away, so the return is the day after.
pub(crate) fn return_date(part: &Part, received: NaiveDate) -> Option<(NaiveDate, String)> {
    pick_return(part, received, false)
}

/// Like [`return_date`], but only a date after a return cue counts (for machine mail that has
/// no away phrase, where a bare date may be anything).
pub(crate) fn cued_return(part: &Part, received: NaiveDate) -> Option<(NaiveDate, String)> {
    pick_return(part, received, true)
}

fn pick_return(part: &Part, received: NaiveDate, cue_needed: bool) -> Option<(NaiveDate, String)> {
    let mentions = date_mentions(part, received);
    let explicit: Vec<&DateMention> = mentions.iter().filter(|m| !m.weekday_only).collect();
    let pool: Vec<&DateMention> = if explicit.is_empty() {
        mentions.iter().collect()
    } else {
        explicit
    };
    let cued: Vec<&DateMention> = pool
        .iter()
        .copied()
        .filter(|m| {
            let (before, _) = words_before(part, m.start);
            before.iter().any(|w| RETURN_CUES.contains(w))
        })
        .collect();
    if cue_needed && cued.is_empty() {
        return None;
    }
    let chosen = if cued.is_empty() { &pool } else { &cued }
        .iter()
        .max_by_key(|m| m.date)
        .copied()?;
    let (before, dash) = words_before(part, chosen.start);
    let last_word_inclusive = before
        .last()
        .is_some_and(|w| INCLUSIVE_END_CUES.contains(w));
    let date = if last_word_inclusive || dash || inclusive_after(part, chosen.end) {
        chosen.date.checked_add_days(Days::new(1))?
    } else {
        chosen.date
    };
    Some((
        date,
        part.original_slice(chosen.start, chosen.end).to_string(),
    ))
}

/// Words before a month that make the deferral start after it ("after January").
const AFTER_WORDS: &[&str] = &["after", "nach", "apres", "despues", "depois", "dopo", "na"];

/// Words before a month (or a year) that make it a deferral's time ("in March", "Mitte
/// Januar", "en janvier", "a finales de enero").
const PERIOD_LEADS: &[&str] = &[
    "in",
    "until",
    "by",
    "early",
    "mid",
    "late",
    "im",
    "en",
    "mitte",
    "anfang",
    "ende",
    "em",
    "de",
    "a",
    "ad",
    "inizio",
    "meta",
    "fine",
    "eind",
    "begin",
    "medio",
    "mediados",
    "principios",
    "finales",
    "meados",
    "inicio",
];

/// Quarter nouns ("Q1" is read separately).
const QUARTER_WORDS: &[&str] = &["quarter", "quartal", "trimestre", "kwartaal"];

/// Ordinals of the four quarters, before or after the quarter noun ("first quarter", "ersten
/// Quartal", "primeiro trimestre", "trimestre prochain" is read as "next").
const QUARTER_ORDINALS: [&[&str]; 4] = [
    &[
        "first", "1st", "ersten", "erste", "premier", "primer", "primero", "primeiro", "primo",
        "eerste",
    ],
    &[
        "second", "2nd", "zweiten", "zweite", "deuxieme", "second", "segundo", "secondo", "tweede",
    ],
    &[
        "third",
        "3rd",
        "dritten",
        "dritte",
        "troisieme",
        "tercer",
        "tercero",
        "terceiro",
        "terzo",
        "derde",
    ],
    &[
        "fourth",
        "4th",
        "vierten",
        "vierte",
        "quatrieme",
        "cuarto",
        "quarto",
        "vierde",
    ],
];

/// Seasons and the month they start in (accents folded; "l'ete", "l'estate" with the article).
const SEASONS: &[(&str, u32)] = &[
    ("spring", 3),
    ("fruhling", 3),
    ("fruhjahr", 3),
    ("printemps", 3),
    ("primavera", 3),
    ("voorjaar", 3),
    ("lente", 3),
    ("summer", 6),
    ("sommer", 6),
    ("ete", 6),
    ("l'ete", 6),
    ("verano", 6),
    ("verao", 6),
    ("estate", 6),
    ("l'estate", 6),
    ("zomer", 6),
    ("autumn", 9),
    ("fall", 9),
    ("herbst", 9),
    ("automne", 9),
    ("l'automne", 9),
    ("otono", 9),
    ("outono", 9),
    ("autunno", 9),
    ("l'autunno", 9),
    ("najaar", 9),
    ("herfst", 9),
];

/// How long a season lasts, for "after the summer".
const SEASON_MONTHS: u32 = 3;

/// "After the summer", "in autumn", "mid-2027", "in 2027": a season (after one of
/// [`AFTER_WORDS`] or a period lead) or a year after a period lead, as a deferral.
fn season_or_year(
    tokens: &[Token],
    i: usize,
    received: NaiveDate,
) -> Option<(NaiveDate, usize, usize)> {
    let t = tokens[i].text.as_str();
    let leads: Vec<&str> = tokens[i.saturating_sub(3)..i]
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    if let Some((_, month)) = SEASONS.iter().find(|(name, _)| *name == t) {
        let after = leads.iter().any(|w| AFTER_WORDS.contains(w));
        let lead = leads.iter().any(|w| PERIOD_LEADS.contains(w));
        if !(after || lead) || t == "fall" && !leads.contains(&"in") && !after {
            return None;
        }
        let month = if after {
            (month + SEASON_MONTHS - 1) % 12 + 1
        } else {
            *month
        };
        let d = next_start(received, |y| NaiveDate::from_ymd_opt(y, month, 1))?;
        return Some((d, i.saturating_sub(leads.len()), i + 1));
    }
    let year = year_of(t)?;
    let lead = *leads.last()?;
    let month = match lead {
        "mid" | "mitte" | "medio" | "mediados" | "meados" | "meta" => 7,
        "late" | "ende" | "fine" | "eind" | "finales" => 10,
        "in" | "early" | "anfang" | "principios" | "inicio" | "inizio" | "begin" | "en" => 1,
        _ => return None,
    };
    let d = NaiveDate::from_ymd_opt(year, month, 1).filter(|d| *d > received)?;
    Some((d, i - 1, i + 1))
}

fn quarter_start(year: i32, quarter: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1)
}

/// The first day of a period that starts in `year` unless that is not after `received`.
fn next_start(
    received: NaiveDate,
    start_in: impl Fn(i32) -> Option<NaiveDate>,
) -> Option<NaiveDate> {
    match start_in(received.year()) {
        Some(d) if d > received => Some(d),
        _ => start_in(received.year() + 1),
    }
}

/// When a deferral ("check back in Q3", "next quarter", "in 3 months", "after January")
/// says to come back, with the words that said so. The latest such date wins.
pub(crate) fn deferral_date(part: &Part, received: NaiveDate) -> Option<(NaiveDate, String)> {
    let tokens = part.tokens();
    let mut found: Vec<(NaiveDate, usize, usize)> = Vec::new();
    let word = |k: usize| tokens.get(k).map_or("", |t| t.text.as_str());
    for (i, tok) in tokens.iter().enumerate() {
        let t = tok.text.as_str();
        let period = match t.as_bytes() {
            [b'q', q @ b'1'..=b'4'] => Some((u32::from(q - b'0') - 1) * 3 + 1),
            [b'h', h @ b'1'..=b'2'] => Some((u32::from(h - b'0') - 1) * 6 + 1),
            _ => None,
        };
        if let Some(month) = period {
            let year = tokens.get(i + 1).and_then(|n| year_of(&n.text));
            let date = match year {
                Some(y) => NaiveDate::from_ymd_opt(y, month, 1),
                None => next_start(received, |y| NaiveDate::from_ymd_opt(y, month, 1)),
            };
            if let Some(d) = date {
                found.push((d, i, i + 1 + usize::from(year.is_some())));
            }
            continue;
        }
        if QUARTER_WORDS.contains(&t) {
            let ordinal = |w: &str| QUARTER_ORDINALS.iter().position(|o| o.contains(&w));
            let q = ordinal(word(i.wrapping_sub(1))).or_else(|| ordinal(word(i + 1)));
            if let Some(q) = q {
                let month = q as u32 * 3 + 1;
                if let Some(d) = next_start(received, |y| NaiveDate::from_ymd_opt(y, month, 1)) {
                    let (first, end) = if ordinal(word(i.wrapping_sub(1))).is_some() {
                        (i - 1, i + 1)
                    } else {
                        (i, i + 2)
                    };
                    found.push((d, first, end));
                    continue;
                }
            }
        }
        let next = i > 0 && NEXT_WORDS.contains(&word(i - 1));
        let t = match (t, word(i.wrapping_sub(1))) {
            ("prochaine" | "prochain", "l'annee" | "annee") => "year",
            ("prochain", "trimestre") => "quarter",
            ("prochain", "mois") => "month",
            ("jahr", _) => "year",
            ("quartal", _) => "quarter",
            ("monat", _) => "month",
            _ => t,
        };
        let next = next || matches!(tok.text.as_str(), "prochaine" | "prochain");
        let date = match t {
            "quarter" if next => {
                let q = (received.month() - 1) / 3 + 1;
                if q == 4 {
                    quarter_start(received.year() + 1, 1)
                } else {
                    quarter_start(received.year(), q + 1)
                }
            }
            "month" if next => received
                .with_day(1)
                .and_then(|d| d.checked_add_months(Months::new(1))),
            "year" if next => NaiveDate::from_ymd_opt(received.year() + 1, 1, 1),
            "months" | "weeks" if i >= 2 && word(i - 2) == "in" => number_value(word(i - 1))
                .and_then(|n| {
                    if t == "months" {
                        received.checked_add_months(Months::new(n))
                    } else {
                        received.checked_add_days(Days::new(u64::from(n) * 7))
                    }
                }),
            _ => None,
        };
        if let Some(d) = date {
            let first = if t == "months" || t == "weeks" {
                i - 2
            } else {
                i - 1
            };
            found.push((d, first, i + 1));
            continue;
        }
        if let Some(month) = month_number(t) {
            let lead = word(i.wrapping_sub(1));
            let after = AFTER_WORDS.contains(&lead);
            let cue = after || PERIOD_LEADS.contains(&lead);
            let has_day = tokens.get(i + 1).is_some_and(|n| day_of(&n.text).is_some());
            if cue && !has_day && i > 0 {
                let date = next_start(received, |y| {
                    let first = NaiveDate::from_ymd_opt(y, month, 1)?;
                    if after {
                        first.checked_add_months(Months::new(1))
                    } else {
                        Some(first)
                    }
                });
                if let Some(d) = date {
                    found.push((d, i - 1, i + 1));
                }
            }
            continue;
        }
        if let Some(d) = season_or_year(tokens, i, received) {
            found.push(d);
        }
    }
    for m in date_mentions(part, received)
        .into_iter()
        .filter(|m| !m.weekday_only)
    {
        let first = tokens.iter().position(|t| t.start >= m.start).unwrap_or(0);
        let end = tokens
            .iter()
            .rposition(|t| t.end <= m.end)
            .map_or(first + 1, |k| k + 1);
        found.push((m.date, first, end));
    }
    let (date, first, end) = found.into_iter().max_by_key(|f| f.0)?;
    Some((date, part.excerpt(first, end).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn back(text: &str, received: &str) -> Option<NaiveDate> {
        return_date(&Part::new("text", text), day(received)).map(|(d, _)| d)
    }

    #[test]
    fn english_word_dates() {
        let r = "2026-11-24";
        assert_eq!(
            back("I'm out of office, back on December 7.", r),
            Some(day("2026-12-07"))
        );
        assert_eq!(back("Returning 7 Dec.", r), Some(day("2026-12-07")));
        assert_eq!(back("back on Dec. 7th, 2026", r), Some(day("2026-12-07")));
        assert_eq!(
            back("back on the 7th of December", r),
            Some(day("2026-12-07"))
        );
    }

    #[test]
    fn numeric_dates_read_both_ways() {
        let r = "2026-11-24";
        assert_eq!(back("Out until 12/07/2026", r), Some(day("2026-12-07")));
        assert_eq!(back("Out until 25/12/2026", r), Some(day("2026-12-25")));
        assert_eq!(back("zurück am 07.12.", r), Some(day("2026-12-07")));
        assert_eq!(
            back("bis 07.12.2026 nicht im Büro", r),
            Some(day("2026-12-07"))
        );
        assert_eq!(back("back 2026-12-07", r), Some(day("2026-12-07")));
        // a decimal or a time is not a date
        assert_eq!(back("Out, 10.30 is the time", r), None);
        assert_eq!(back("support is 24/7", r), None);
    }

    #[test]
    fn year_rolls_over() {
        assert_eq!(
            back("back on January 4", "2026-12-20"),
            Some(day("2027-01-04"))
        );
        assert_eq!(
            back("zurück am 04.01.", "2026-12-20"),
            Some(day("2027-01-04"))
        );
        // a date a few days past stays in this year
        assert_eq!(
            back("back on December 18", "2026-12-20"),
            Some(day("2026-12-18"))
        );
    }

    #[test]
    fn german_and_french_months() {
        let r = "2026-11-24";
        assert_eq!(
            back("ab dem 7. Dezember wieder da", r),
            Some(day("2026-12-07"))
        );
        assert_eq!(back("de retour le 7 décembre", r), Some(day("2026-12-07")));
    }

    #[test]
    fn range_end_returns_next_day() {
        let r = "2026-11-24";
        assert_eq!(back("Away from Dec 1 to Dec 6", r), Some(day("2026-12-07")));
        assert_eq!(back("Out through December 6", r), Some(day("2026-12-07")));
        assert_eq!(back("out until December 7", r), Some(day("2026-12-07")));
    }

    #[test]
    fn return_dates_in_seven_languages() {
        let r = "2026-12-20";
        assert_eq!(
            back("Ich bin bis einschließlich 12.01. nicht im Büro", r),
            Some(day("2027-01-13"))
        );
        assert_eq!(back("de retour le 5 janvier", r), Some(day("2027-01-05")));
        assert_eq!(
            back("Estoy de vacaciones hasta el 7 de enero", r),
            Some(day("2027-01-07"))
        );
        assert_eq!(
            back("Ik ben terug op 4 januari", r),
            Some(day("2027-01-04"))
        );
        assert_eq!(
            back("estarei de volta a 6 de janeiro", r),
            Some(day("2027-01-06"))
        );
        assert_eq!(back("rientro il 7 gennaio", r), Some(day("2027-01-07")));
        let r = "2026-11-23";
        assert_eq!(
            back("en congé jusqu'au vendredi 27 novembre inclus", r),
            Some(day("2026-11-28"))
        );
        assert_eq!(
            back("Ik ben tot en met 4 december afwezig", r),
            Some(day("2026-12-05"))
        );
        assert_eq!(
            back(
                "fuera de la oficina del 23 al 27 de noviembre. Regreso el lunes 30 de noviembre",
                r
            ),
            Some(day("2026-11-30"))
        );
    }

    #[test]
    fn weekdays_only_when_no_date() {
        // 2026-11-24 is a Tuesday
        assert_eq!(
            back("Back on Monday", "2026-11-24"),
            Some(day("2026-11-30"))
        );
        assert_eq!(
            back("Back on Monday, December 7", "2026-11-24"),
            Some(day("2026-12-07"))
        );
    }

    fn deferral(text: &str, received: &str) -> Option<NaiveDate> {
        deferral_date(&Part::new("text", text), day(received)).map(|(d, _)| d)
    }

    #[test]
    fn deferrals() {
        let r = "2026-11-24";
        assert_eq!(deferral("check back in Q3", r), Some(day("2027-07-01")));
        assert_eq!(deferral("try me in Q1 2027", r), Some(day("2027-01-01")));
        assert_eq!(deferral("next quarter please", r), Some(day("2027-01-01")));
        assert_eq!(deferral("next year", r), Some(day("2027-01-01")));
        assert_eq!(
            deferral("reach out in 3 months", r),
            Some(day("2027-02-24"))
        );
        assert_eq!(deferral("after January", r), Some(day("2027-02-01")));
        assert_eq!(deferral("not now", r), None);
        assert_eq!(
            deferral("check back in Q3", "2026-03-02"),
            Some(day("2026-07-01"))
        );
        assert_eq!(
            deferral("gerne nächstes Jahr wieder melden", r),
            Some(day("2027-01-01"))
        );
        assert_eq!(
            deferral("recontactez-moi l'année prochaine", r),
            Some(day("2027-01-01"))
        );
        assert_eq!(
            deferral("Circle back in March.", r),
            Some(day("2027-03-01"))
        );
        assert_eq!(
            deferral("Maybe revisit mid-2027.", r),
            Some(day("2027-07-01"))
        );
        assert_eq!(
            deferral("lo retomamos después del verano", r),
            Some(day("2027-09-01"))
        );
        assert_eq!(
            deferral("Revenez vers moi en janvier", r),
            Some(day("2027-01-01"))
        );
        assert_eq!(
            deferral("am besten Mitte Januar", r),
            Some(day("2027-01-01"))
        );
        assert_eq!(
            deferral("no final do primeiro trimestre", r),
            Some(day("2027-01-01"))
        );
        assert_eq!(
            deferral("Ping me next quarter.", r),
            Some(day("2027-01-01"))
        );
        assert_eq!(
            deferral("ask me again in the fall", r),
            Some(day("2027-09-01"))
        );
    }
}
