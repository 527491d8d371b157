//! Text normalisation, phrase matching and verbatim excerpts.
//!
//! Every textual judgment starts here. Text is normalised (curly quotes and dashes become ASCII,
//! case and accents are folded, whitespace collapsed) and split into word tokens, keeping a map back to the
//! original so evidence quotes the buyer verbatim. Phrases match whole tokens, so `price` never
//! matches `priceless`, and [`Doc::find`] ignores a phrase a negation governs ("we don't need
//! SOC 2", "SOC 2 is not required").
//!
//! Phrase syntax: words separated by spaces; a trailing `*` makes the last word a prefix
//! (`unsubscrib*`); `#` is any one word; `^` and `$` anchor the phrase to the start or end of a
//! sentence; `<n>` a number, `<ord>` an ordinal, `<time>` a clock time (`2pm`, `15h`), `<day>`
//! a weekday, `<month>` a month name (English, German, French, Spanish, Portuguese, Italian,
//! Dutch).

use super::Found;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Words that negate the phrase they govern. Not "without": "no trial without a signed BAA"
/// requires the BAA.
const NEGATORS: &[&str] = &[
    "no",
    "not",
    "don't",
    "dont",
    "doesn't",
    "doesnt",
    "didn't",
    "didnt",
    "never",
    "isn't",
    "isnt",
    "aren't",
    "arent",
    "won't",
    "wont",
    "can't",
    "cant",
    "cannot",
    "nor",
    "neither",
    "wasn't",
    "weren't",
    "haven't",
    "hasn't",
    "shouldn't",
    "wouldn't",
    "nicht",
    "kein",
    "keine",
    "keinen",
    "keinerlei",
    "nie",
    "niemals",
    "nichts",
    "pas",
    "jamais",
    "rien",
    "non",
    "nunca",
    "ni",
    "nada",
    "nao",
    "nem",
    "niente",
    "nulla",
    "niet",
    "geen",
    "nooit",
];

/// Words right after a negator that cancel it ("no problem", "can't wait", "not only").
const NEGATION_CANCELLERS: &[&str] = &["problem", "worries", "doubt", "wait", "only", "matter"];

/// Words after a phrase that, with a negator, negate it ("SOC 2 is not required").
const NEGATED_REQUIREMENT: &[&str] = &[
    "required",
    "needed",
    "necessary",
    "relevant",
    "important",
    "concern",
    "issue",
    "requirement",
    "priority",
    "problem",
];

/// Conjunctions that end the scope of a negation.
const CLAUSE_WORDS: &[&str] = &[
    "but", "however", "although", "though", "except", "aber", "sondern", "mais", "pero", "porem",
    "ma", "maar",
];

/// How many words before a phrase a negation may sit.
const NEGATION_WINDOW: usize = 4;

/// Weekday names a `<day>` pattern matches (not the short forms that are also words: `mon`,
/// `sat`, `sun`), in English, German, French, Spanish, Portuguese, Italian and Dutch, accents
/// folded.
const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "segunda",
    "terca",
    "quarta",
    "quinta",
    "sexta",
    "lunedi",
    "martedi",
    "mercoledi",
    "giovedi",
    "venerdi",
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
];

const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve",
];

const ORDINAL_WORDS: &[&str] = &[
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "umpteenth",
    "nth",
];

/// The month (1–12) a word names, full or abbreviated, in English, German, French, Spanish,
/// Portuguese, Italian or Dutch (accents folded or not). Abbreviations that are also common
/// words (`set`, `out`, `ago`, `gen`) are left out.
pub(crate) fn month_number(word: &str) -> Option<u32> {
    let m = match fold(&word.trim_end_matches('.').to_lowercase()).as_str() {
        "january" | "jan" | "januar" | "janner" | "janvier" | "janv" | "enero" | "ene"
        | "janeiro" | "gennaio" | "januari" => 1,
        "february" | "feb" | "februar" | "feber" | "fevrier" | "fevr" | "febrero" | "fevereiro"
        | "fev" | "febbraio" | "februari" => 2,
        "march" | "mar" | "marz" | "maerz" | "mars" | "marzo" | "marco" | "maart" | "mrt" => 3,
        "april" | "apr" | "avril" | "avr" | "abril" | "abr" | "aprile" => 4,
        "may" | "mai" | "mayo" | "maio" | "maggio" | "mei" => 5,
        "june" | "jun" | "juni" | "juin" | "junio" | "junho" | "giugno" | "giu" => 6,
        "july" | "jul" | "juli" | "juillet" | "juil" | "julio" | "julho" | "luglio" | "lug" => 7,
        "august" | "aug" | "aout" | "agosto" | "augustus" => 8,
        "september" | "sep" | "sept" | "septembre" | "septiembre" | "setiembre" | "setembro"
        | "settembre" | "sett" => 9,
        "october" | "oct" | "oktober" | "okt" | "octobre" | "octubre" | "outubro" | "ottobre"
        | "ott" => 10,
        "november" | "nov" | "novembre" | "noviembre" | "novembro" => 11,
        "december" | "dec" | "dezember" | "dez" | "decembre" | "diciembre" | "dic" | "dezembro"
        | "dicembre" => 12,
        _ => return None,
    };
    Some(m)
}

/// The weekday a word names (Monday = 0), in the languages of [`month_number`].
pub(crate) fn weekday_index(word: &str) -> Option<u32> {
    let d = match fold(&word.to_lowercase()).as_str() {
        "monday" | "mon" | "montag" | "lundi" | "lunes" | "segunda" | "lunedi" | "maandag" => 0,
        "tuesday" | "tue" | "tues" | "dienstag" | "mardi" | "martes" | "terca" | "martedi"
        | "dinsdag" => 1,
        "wednesday" | "wed" | "mittwoch" | "mercredi" | "miercoles" | "quarta" | "mercoledi"
        | "woensdag" => 2,
        "thursday" | "thu" | "thur" | "thurs" | "donnerstag" | "jeudi" | "jueves" | "quinta"
        | "giovedi" | "donderdag" => 3,
        "friday" | "fri" | "freitag" | "vendredi" | "viernes" | "sexta" | "venerdi" | "vrijdag" => {
            4
        }
        "saturday" | "samstag" | "samedi" | "sabado" | "sabato" | "zaterdag" => 5,
        "sunday" | "sonntag" | "dimanche" | "domingo" | "domenica" | "zondag" => 6,
        _ => return None,
    };
    Some(d)
}

/// The value of a number token (`7`, `12`, `seven`), if it is one.
pub(crate) fn number_value(word: &str) -> Option<u32> {
    if !word.is_empty() && word.len() <= 9 && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    NUMBER_WORDS
        .iter()
        .position(|w| *w == word)
        .map(|i| i as u32 + 1)
}

/// The hour of a clock-time token (`2pm`, `10am`, `14h`, `15h30`, `9uhr`), if it is one.
pub(crate) fn time_value(word: &str) -> Option<u32> {
    let digits_end = word.find(|c: char| !c.is_ascii_digit())?;
    let (hour, rest) = word.split_at(digits_end);
    if hour.is_empty() || hour.len() > 2 {
        return None;
    }
    let hour: u32 = hour.parse().ok()?;
    let ok = match rest {
        "am" | "pm" => (1..=12).contains(&hour),
        "h" | "hs" | "uhr" => hour <= 24,
        _ => {
            rest.strip_prefix('h')
                .is_some_and(|m| m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()))
                && hour <= 24
        }
    };
    ok.then_some(hour)
}

/// The value of an ordinal token (`7th`, `1st`), if it is one.
pub(crate) fn ordinal_value(word: &str) -> Option<u32> {
    for suffix in ["st", "nd", "rd", "th"] {
        if let Some(digits) = word.strip_suffix(suffix) {
            if !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit())
            {
                return digits.parse().ok();
            }
        }
    }
    ORDINAL_WORDS
        .iter()
        .position(|w| *w == word)
        .map(|i| i as u32 + 1)
}

/// One element of a compiled phrase.
#[derive(Debug, Clone, PartialEq)]
enum Pat {
    Word(String),
    Prefix(String),
    Number,
    Ordinal,
    Weekday,
    Month,
    Time,
    Any,
    /// `^`: the next word starts a sentence (zero-width).
    Start,
    /// `$`: the previous word ends a sentence (zero-width).
    End,
}

impl Pat {
    fn matches(&self, word: &str) -> bool {
        match self {
            Pat::Word(w) => w == word,
            Pat::Prefix(p) => word.starts_with(p.as_str()),
            Pat::Number => number_value(word).is_some(),
            Pat::Ordinal => ordinal_value(word).is_some(),
            Pat::Weekday => WEEKDAYS.contains(&word),
            Pat::Month => month_number(word).is_some(),
            Pat::Time => time_value(word).is_some(),
            Pat::Any => true,
            Pat::Start | Pat::End => false,
        }
    }
}

/// The compiled form of a phrase, memoised: the lexicon's phrases (and the configured product
/// and competitor names) are compiled once per process instead of on every match.
fn compiled(phrase: &str) -> Arc<Vec<Pat>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<Pat>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(phrase) {
        return hit.clone();
    }
    let pats = Arc::new(compile(phrase));
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(phrase.to_string(), pats.clone());
    pats
}

/// Compiles a phrase (see the module docs for the syntax).
fn compile(phrase: &str) -> Vec<Pat> {
    let mut pats = Vec::new();
    for piece in phrase.split_whitespace() {
        match piece {
            "#" => pats.push(Pat::Any),
            "^" => pats.push(Pat::Start),
            "$" => pats.push(Pat::End),
            "<n>" => pats.push(Pat::Number),
            "<ord>" => pats.push(Pat::Ordinal),
            "<day>" => pats.push(Pat::Weekday),
            "<month>" => pats.push(Pat::Month),
            "<time>" => pats.push(Pat::Time),
            _ => {
                let prefix = piece.ends_with('*');
                let (norm, _) = normalise(piece.trim_end_matches('*'));
                let words: Vec<String> = tokenise(&norm).into_iter().map(|t| t.text).collect();
                let last = words.len().saturating_sub(1);
                for (i, w) in words.into_iter().enumerate() {
                    pats.push(if prefix && i == last {
                        Pat::Prefix(w)
                    } else {
                        Pat::Word(w)
                    });
                }
            }
        }
    }
    pats
}

/// A word of normalised text and its byte range in the normalised string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// A lowercase letter without its accent: one letter, or two for a ligature or `ß`.
enum Folded {
    One(char),
    Two(char, char),
}

/// Drops diacritics from Latin letters (`é` → `e`, `ü` → `u`, `ñ` → `n`, `ß` → `ss`), so
/// "einschliesslich" matches "einschließlich" and "Ca m'interesse" matches "ça m'intéresse":
/// buyers type without accents as often as with them.
fn fold_accent(c: char) -> Folded {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ė' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'ß' => return Folded::Two('s', 's'),
        'œ' => return Folded::Two('o', 'e'),
        'æ' => return Folded::Two('a', 'e'),
        _ => c,
    };
    Folded::One(plain)
}

/// Folds the accents of a lowercase word (see [`normalise`]), for comparing a token with a
/// written word.
pub(crate) fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match fold_accent(c) {
            Folded::One(c) => out.push(c),
            Folded::Two(a, b) => {
                out.push(a);
                out.push(b);
            }
        }
    }
    out
}

/// Normalises text: ASCII quotes and dashes, lowercase, accents folded (`é` → `e`, `ß` → `ss`),
/// whitespace runs collapsed to one space
/// (or one newline when the run held a line break). Returns the text and, for each of its
/// bytes, the byte range of the original character it came from.
pub(crate) fn normalise(original: &str) -> (String, Vec<(usize, usize)>) {
    let mut norm = String::with_capacity(original.len());
    let mut origin = Vec::with_capacity(original.len());
    let mut pending: Option<(usize, usize, bool)> = None;
    let push = |norm: &mut String, origin: &mut Vec<(usize, usize)>, c: char, range| {
        norm.push(c);
        origin.extend(std::iter::repeat_n(range, c.len_utf8()));
    };
    for (i, ch) in original.char_indices() {
        let end = i + ch.len_utf8();
        if ch.is_whitespace() {
            let newline = ch == '\n';
            pending = Some(match pending {
                None => (i, end, newline),
                Some((s, _, n)) => (s, end, n || newline),
            });
            continue;
        }
        if let Some((s, e, newline)) = pending.take() {
            if !norm.is_empty() {
                push(
                    &mut norm,
                    &mut origin,
                    if newline { '\n' } else { ' ' },
                    (s, e),
                );
            }
        }
        let mapped = match ch {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => {
                '\''
            }
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => '"',
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            '\u{2026}' => '.',
            _ => ch,
        };
        for lower in mapped.to_lowercase() {
            match fold_accent(lower) {
                Folded::One(c) => push(&mut norm, &mut origin, c, (i, end)),
                Folded::Two(a, b) => {
                    push(&mut norm, &mut origin, a, (i, end));
                    push(&mut norm, &mut origin, b, (i, end));
                }
            }
        }
    }
    (norm, origin)
}

/// A token's matching text: a possessive `'s` is dropped ("Salesloft's" matches "Salesloft";
/// phrases are tokenised the same way, so "let's" matches "let's").
fn token(norm: &str, start: usize, end: usize) -> Token {
    let raw = &norm[start..end];
    let text = match raw.strip_suffix("'s") {
        Some(stem) if !stem.is_empty() => stem,
        _ => raw,
    };
    Token {
        start,
        end,
        text: text.to_string(),
    }
}

/// Splits normalised text into word tokens: runs of letters and digits, keeping an apostrophe
/// between two of them (`don't`, `cc'd`).
pub(crate) fn tokenise(norm: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = norm.char_indices().collect();
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    for (k, &(i, c)) in chars.iter().enumerate() {
        let inner_apostrophe = c == '\''
            && start.is_some()
            && chars.get(k + 1).is_some_and(|&(_, n)| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            tokens.push(token(norm, s, i));
        }
    }
    if let Some(s) = start {
        tokens.push(token(norm, s, norm.len()));
    }
    tokens
}

/// An email address found in text, with its byte range in the normalised text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EmailSpan {
    pub address: String,
    pub start: usize,
    pub end: usize,
}

/// One piece of text (a reply body, a form field, an answer) and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    source: String,
    original: String,
    norm: String,
    origin: Vec<(usize, usize)>,
    tokens: Vec<Token>,
}

impl Part {
    /// Normalises and tokenises `text` found at `source`.
    pub fn new(source: impl Into<String>, text: &str) -> Self {
        let (norm, origin) = normalise(text);
        let tokens = tokenise(&norm);
        Self {
            source: source.into(),
            original: text.to_string(),
            norm,
            origin,
            tokens,
        }
    }

    /// Where the text came from (`text`, `subject`, `field:message`…).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The original text.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The normalised text.
    pub fn norm(&self) -> &str {
        &self.norm
    }

    /// The word tokens.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The original text of normalised bytes `start..end`.
    pub fn original_slice(&self, start: usize, end: usize) -> &str {
        if start >= end || end > self.origin.len() {
            return "";
        }
        &self.original[self.origin[start].0..self.origin[end - 1].1]
    }

    /// The original text of tokens `first..end`.
    pub fn excerpt(&self, first: usize, end: usize) -> &str {
        match (
            self.tokens.get(first),
            end.checked_sub(1).and_then(|l| self.tokens.get(l)),
        ) {
            (Some(a), Some(b)) if first < end => self.original_slice(a.start, b.end),
            _ => "",
        }
    }

    /// The original text of the sentence `first..end` (tokens), with its closing punctuation.
    pub fn sentence_text(&self, first: usize, end: usize) -> &str {
        let (Some(a), Some(b)) = (
            self.tokens.get(first),
            end.checked_sub(1).and_then(|l| self.tokens.get(l)),
        ) else {
            return "";
        };
        let tail_end = self.tokens.get(end).map_or(self.norm.len(), |t| t.start);
        let tail = &self.norm[b.end..tail_end];
        let closing = tail.len()
            - tail
                .trim_start_matches(['.', '!', '?', ')', '"', '\''])
                .len();
        self.original_slice(a.start, b.end + closing)
    }

    /// Whether token `i` starts with an uppercase letter in the original.
    pub fn is_capitalised(&self, i: usize) -> bool {
        self.excerpt(i, i + 1)
            .chars()
            .next()
            .is_some_and(char::is_uppercase)
    }

    /// The characters between tokens `a` and `b` (`b` = `a + 1`).
    pub fn gap(&self, a: usize, b: usize) -> &str {
        &self.norm[self.tokens[a].end..self.tokens[b].start]
    }

    /// Whether a sentence ends between tokens `a` and `a + 1`.
    pub fn sentence_break(&self, a: usize, b: usize) -> bool {
        let gap = self.gap(a, b);
        gap.contains(['\n', '!', '?', ';']) || (gap.contains('.') && gap.contains(' '))
    }

    /// Whether a clause ends between tokens `a` and `a + 1` (sentence end, comma, colon,
    /// bracket, quote, spaced dash).
    pub fn clause_break(&self, a: usize, b: usize) -> bool {
        let gap = self.gap(a, b);
        self.sentence_break(a, b)
            || gap.contains([',', ':', '(', ')', '"', '/'])
            || (gap.contains('-') && gap.contains(' '))
    }

    /// Whether the gap before token `b` holds only spaces (or a hyphen/apostrophe joining a name).
    pub fn joined(&self, a: usize, b: usize) -> bool {
        let gap = self.gap(a, b);
        gap == " " || gap == "-"
    }

    /// Matches compiled `pats` at token `i`; returns the end token (exclusive).
    fn match_at(&self, pats: &[Pat], i: usize) -> Option<usize> {
        let mut k = i;
        let mut words = 0;
        for pat in pats {
            match pat {
                Pat::Start => {
                    if k > 0 && !self.sentence_break(k - 1, k) {
                        return None;
                    }
                }
                Pat::End => {
                    if k == i || (k < self.tokens.len() && !self.sentence_break(k - 1, k)) {
                        return None;
                    }
                }
                _ => {
                    let tok = self.tokens.get(k)?;
                    if words > 0 && self.sentence_break(k - 1, k) {
                        return None;
                    }
                    if !pat.matches(&tok.text) {
                        return None;
                    }
                    k += 1;
                    words += 1;
                }
            }
        }
        (words > 0).then_some(k)
    }

    /// Every match of any phrase, as token ranges sorted by position.
    fn matches(&self, compiled: &[Arc<Vec<Pat>>]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for i in 0..self.tokens.len() {
            let best = compiled.iter().filter_map(|p| self.match_at(p, i)).max();
            if let Some(end) = best {
                out.push((i, end));
            }
        }
        out
    }

    /// Whether a negation governs tokens `first..end`: a negator up to four words before in the
    /// same clause (unless the phrase itself opens with a negator), or a negated requirement
    /// after ("… is not required").
    pub fn negated(&self, first: usize, end: usize) -> bool {
        // A phrase that is itself negative ("don't email me again") is not undone by an
        // earlier negator governing something else ("not interested and please don't email me").
        let negative = self
            .tokens
            .get(first)
            .is_some_and(|t| NEGATORS.contains(&t.text.as_str()));
        let mut k = if negative { 0 } else { first };
        let mut seen = 0;
        while k > 0 && seen < NEGATION_WINDOW {
            if self.clause_break(k - 1, k) {
                break;
            }
            k -= 1;
            let word = self.tokens[k].text.as_str();
            if CLAUSE_WORDS.contains(&word) {
                break;
            }
            let cancelled = self
                .tokens
                .get(k + 1)
                .is_some_and(|n| k + 1 < first && NEGATION_CANCELLERS.contains(&n.text.as_str()))
                // a hyphenated compound ("non-profit", "no-code") is no negation
                || (k + 1 < self.tokens.len() && self.gap(k, k + 1) == "-");
            if NEGATORS.contains(&word) && !cancelled {
                return true;
            }
            seen += 1;
        }
        let mut negator = false;
        let mut k = end;
        while k < self.tokens.len() && k < end + NEGATION_WINDOW {
            if k > 0 && self.clause_break(k - 1, k) {
                break;
            }
            let word = self.tokens[k].text.as_str();
            if CLAUSE_WORDS.contains(&word) {
                break;
            }
            negator |= NEGATORS.contains(&word);
            if negator && NEGATED_REQUIREMENT.contains(&word) {
                return true;
            }
            k += 1;
        }
        false
    }

    /// The sentence holding token `i`, as a token range.
    pub fn sentence_of(&self, i: usize) -> (usize, usize) {
        let mut first = i;
        while first > 0 && !self.sentence_break(first - 1, first) {
            first -= 1;
        }
        let mut end = i + 1;
        while end < self.tokens.len() && !self.sentence_break(end - 1, end) {
            end += 1;
        }
        (first, end)
    }

    /// Every sentence, as token ranges.
    pub fn sentences(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.tokens.len() {
            let (first, end) = self.sentence_of(i);
            out.push((first, end));
            i = end;
        }
        out
    }

    /// Whether the sentence ending at token `end` (exclusive) ends with a question mark.
    pub fn is_question(&self, end: usize) -> bool {
        let Some(last) = end.checked_sub(1).and_then(|l| self.tokens.get(l)) else {
            return false;
        };
        let tail_end = self.tokens.get(end).map_or(self.norm.len(), |t| t.start);
        self.norm[last.end..tail_end].contains('?')
    }

    /// Whether any of `words` appears in tokens `first..end`.
    pub fn range_has(&self, first: usize, end: usize, words: &[&str]) -> bool {
        self.tokens[first..end.min(self.tokens.len())]
            .iter()
            .any(|t| words.contains(&t.text.as_str()))
    }

    /// Email addresses in the text.
    pub fn emails(&self) -> Vec<EmailSpan> {
        let bytes = self.norm.as_bytes();
        let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
        let domain = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
        let mut out: Vec<EmailSpan> = Vec::new();
        for (at, _) in self.norm.match_indices('@') {
            let mut s = at;
            while s > 0 && local(bytes[s - 1]) {
                s -= 1;
            }
            let mut e = at + 1;
            while e < bytes.len() && domain(bytes[e]) {
                e += 1;
            }
            while e > at + 1 && matches!(bytes[e - 1], b'.' | b'-') {
                e -= 1;
            }
            let host = &self.norm[at + 1..e];
            let tld_ok = host
                .rsplit_once('.')
                .is_some_and(|(h, tld)| !h.is_empty() && tld.len() >= 2);
            if s < at && tld_ok {
                out.push(EmailSpan {
                    address: self.norm[s..e].to_string(),
                    start: s,
                    end: e,
                });
            }
        }
        out
    }

    /// The email span holding token `i`, if any.
    pub fn email_at(&self, i: usize, emails: &[EmailSpan]) -> Option<EmailSpan> {
        let t = self.tokens.get(i)?;
        emails
            .iter()
            .find(|e| t.start >= e.start && t.end <= e.end)
            .cloned()
    }
}

/// A phrase match: a token range in one part.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit<'a> {
    pub part: &'a Part,
    pub first: usize,
    pub end: usize,
}

impl Hit<'_> {
    /// The matched words, verbatim.
    pub fn excerpt(&self) -> String {
        self.part.excerpt(self.first, self.end).to_string()
    }

    /// The evidence of this match.
    pub fn found(&self) -> Found {
        Found::new(self.part.source(), self.excerpt())
    }

    /// The matched words, normalised.
    pub fn words(&self) -> Vec<&str> {
        self.part.tokens()[self.first..self.end]
            .iter()
            .map(|t| t.text.as_str())
            .collect()
    }
}

/// The texts of one event, searched together in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doc {
    parts: Vec<Part>,
}

impl Doc {
    /// Adds a text unless it is blank.
    pub fn push(&mut self, source: impl Into<String>, text: &str) {
        if !text.trim().is_empty() {
            self.parts.push(Part::new(source, text));
        }
    }

    /// A document of one part.
    pub fn from_part(part: Part) -> Doc {
        Doc { parts: vec![part] }
    }

    /// The texts.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Only the texts whose source satisfies `keep`.
    pub fn filtered(&self, keep: impl Fn(&str) -> bool) -> Doc {
        Doc {
            parts: self
                .parts
                .iter()
                .filter(|p| keep(p.source()))
                .cloned()
                .collect(),
        }
    }

    /// Every match of any phrase, negated or not, in text order.
    pub fn all_matches<S: AsRef<str>>(&self, phrases: &[S]) -> Vec<Hit<'_>> {
        let compiled: Vec<Arc<Vec<Pat>>> = phrases.iter().map(|p| compiled(p.as_ref())).collect();
        self.parts
            .iter()
            .flat_map(|part| {
                part.matches(&compiled)
                    .into_iter()
                    .map(move |(first, end)| Hit { part, first, end })
            })
            .collect()
    }

    /// Every match no negation governs, in text order.
    pub fn find_all<S: AsRef<str>>(&self, phrases: &[S]) -> Vec<Hit<'_>> {
        self.all_matches(phrases)
            .into_iter()
            .filter(|h| !h.part.negated(h.first, h.end))
            .collect()
    }

    /// The first match no negation governs.
    pub fn find<S: AsRef<str>>(&self, phrases: &[S]) -> Option<Hit<'_>> {
        self.find_all(phrases).into_iter().next()
    }
}

/// Collapses whitespace and trims `text` to at most `max` characters at a word boundary,
/// adding `…` when it cut.
pub(crate) fn trim_words(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut out = String::new();
    for word in collapsed.split(' ') {
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.chars().count() + extra + word.chars().count() > max.saturating_sub(1) {
            break;
        }
        if extra == 1 {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = collapsed.chars().take(max.saturating_sub(1)).collect();
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Doc {
        let mut d = Doc::default();
        d.push("text", text);
        d
    }

    #[test]
    fn matches_whole_words_only() {
        assert!(doc("This is priceless.").find(&["price"]).is_none());
        assert!(doc("What's the price?").find(&["price"]).is_some());
        assert!(doc("Send PRICING please").find(&["pricing"]).is_some());
        assert!(doc("reprice").find(&["price"]).is_none());
    }

    #[test]
    fn prefix_and_classes() {
        assert!(doc("Please unsubscribe me")
            .find(&["unsubscrib*"])
            .is_some());
        assert!(doc("Thanks for the 5th email")
            .find(&["the <ord> email"])
            .is_some());
        assert!(doc("Can we do Thursday at 2?")
            .find(&["<day> at"])
            .is_some());
        assert!(doc("in 3 months").find(&["in <n> months"]).is_some());
        assert!(doc("Thu 2pm works").find(&["<day> <time>"]).is_some());
        assert!(doc("jeudi 15h30").find(&["<day> <time>"]).is_some());
        assert!(doc("we have 2pms").find(&["<time>"]).is_none());
        assert!(doc("only the reporting module")
            .find(&["only the # module"])
            .is_some());
    }

    #[test]
    fn curly_quotes_are_normalised_and_excerpts_are_verbatim() {
        let d = doc("We don\u{2019}t need it.\nLet\u{2019}s TALK Thursday");
        let hit = d.find(&["let's talk"]).unwrap();
        assert_eq!(hit.excerpt(), "Let\u{2019}s TALK");
        assert_eq!(d.all_matches(&["don't need"]).len(), 1);
    }

    #[test]
    fn negation_before_and_after() {
        assert!(doc("We don't need SOC 2 for this.")
            .find(&["soc 2"])
            .is_none());
        assert!(doc("SOC 2 is not required for us")
            .find(&["soc 2"])
            .is_none());
        assert!(doc("We need your SOC 2 report").find(&["soc 2"]).is_some());
        assert!(doc("I'm not interested").find(&["interested"]).is_none());
        assert!(doc("I'm interested").find(&["interested"]).is_some());
        // a clause break ends the negation's scope
        assert!(doc("No, we'd love a demo").find(&["demo"]).is_some());
        assert!(doc("No demo needed but send pricing")
            .find(&["pricing"])
            .is_some());
        assert!(doc("No demo needed").find(&["demo"]).is_none());
        // idioms that look negative
        assert!(doc("Can't wait to see the demo").find(&["demo"]).is_some());
        assert!(doc("No problem with a demo").find(&["demo"]).is_some());
        // a negative phrase is not undone by a negator governing something else
        assert!(doc("Not interested and please don't email me again")
            .find(&["don't email me again"])
            .is_some());
        // a hyphenated compound is no negator
        assert!(doc("Do you have a non-profit or small-team rate?")
            .find(&["small team rate"])
            .is_some());
        assert!(doc("We have no team rate in mind")
            .find(&["team rate"])
            .is_none());
    }

    #[test]
    fn accents_are_folded_and_excerpts_keep_them() {
        let d = doc("Ça m'intéresse. Ich bin bis einschließlich 7. Dezember weg.");
        assert_eq!(
            d.find(&["ca m'interesse"]).unwrap().excerpt(),
            "Ça m'intéresse"
        );
        assert!(d.find(&["ça m'intéresse"]).is_some());
        assert!(d.find(&["einschliesslich"]).is_some());
        assert_eq!(month_number("März"), Some(3));
        assert_eq!(month_number("gennaio"), Some(1));
        assert_eq!(month_number("dezembro"), Some(12));
        assert_eq!(weekday_index("miércoles"), Some(2));
        assert!(doc("Não temos interesse")
            .find(&["temos interesse"])
            .is_none());
    }

    #[test]
    fn anchors() {
        assert!(doc("Sure.").find(&["^ sure $"]).is_some());
        assert!(doc("Hi, sure").find(&["^ sure $"]).is_none());
        assert!(doc("Sure, because I have time")
            .find(&["^ sure $"])
            .is_none());
        assert!(doc("We're good.").find(&["we're good $"]).is_some());
        assert!(doc("We're good to go").find(&["we're good $"]).is_none());
    }

    #[test]
    fn phrases_do_not_cross_sentences() {
        assert!(doc("No. Thanks for asking").find(&["no thanks"]).is_none());
        assert!(doc("No, thanks").find(&["no thanks"]).is_some());
    }

    #[test]
    fn sentences_and_questions() {
        let d = doc("We use Outreach. Why switch? Thanks");
        let part = &d.parts()[0];
        let sentences = part.sentences();
        assert_eq!(sentences.len(), 3);
        assert!(!part.is_question(sentences[0].1));
        assert!(part.is_question(sentences[1].1));
    }

    #[test]
    fn finds_emails() {
        let d = doc("Talk to Maria (maria.lopez@acme.com). Or <ops@acme.co.uk>.");
        let emails: Vec<String> = d.parts()[0]
            .emails()
            .into_iter()
            .map(|e| e.address)
            .collect();
        assert_eq!(emails, vec!["maria.lopez@acme.com", "ops@acme.co.uk"]);
    }

    #[test]
    fn trims_at_word_boundary() {
        assert_eq!(trim_words("  short   text ", 280), "short text");
        let t = trim_words("alpha beta gamma delta", 12);
        assert_eq!(t, "alpha beta…");
        assert!(t.chars().count() <= 12);
    }
}
