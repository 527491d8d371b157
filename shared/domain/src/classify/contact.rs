//! People named in replies: the owner a buyer refers us to ("loop in Dana, she owns this",
//! "talk to my replacement Maria (maria@acme.com)") and the alternate contact of an away notice
//! ("for urgent matters reach Tom Baker").
//!
//! A name is a run of one to three capitalised words near a cue, that is not a pronoun, role,
//! month, greeting, our own rep, the buyer, or a company or product name.

use super::lexicon::{REFERRAL_NAME_AFTER, REFERRAL_NAME_BEFORE, REFERRAL_WEAK_CUES};
use super::text::{month_number, weekday_index, Doc, EmailSpan, Part};
use super::Found;
use crate::config::Rules;
use crate::event::Buyer;

/// Capitalised words that are never a person's name.
const NOT_NAMES: &[&str] = &[
    "i",
    "we",
    "you",
    "he",
    "she",
    "they",
    "it",
    "me",
    "us",
    "him",
    "her",
    "them",
    "my",
    "our",
    "your",
    "their",
    "his",
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "please",
    "thanks",
    "thank",
    "hi",
    "hello",
    "hey",
    "dear",
    "regards",
    "best",
    "cheers",
    "sorry",
    "yes",
    "no",
    "if",
    "for",
    "and",
    "or",
    "but",
    "so",
    "also",
    "in",
    "on",
    "at",
    "to",
    "from",
    "with",
    "re",
    "fw",
    "fwd",
    "team",
    "sales",
    "marketing",
    "procurement",
    "purchasing",
    "legal",
    "security",
    "finance",
    "hr",
    "ops",
    "revops",
    "operations",
    "engineering",
    "product",
    "data",
    "support",
    "customer",
    "service",
    "services",
    "desk",
    "helpdesk",
    "office",
    "admin",
    "info",
    "head",
    "vp",
    "svp",
    "evp",
    "director",
    "manager",
    "lead",
    "ceo",
    "cfo",
    "cto",
    "coo",
    "cro",
    "cmo",
    "cio",
    "ciso",
    "chief",
    "officer",
    "department",
    "dept",
    "group",
    "kollegin",
    "kollege",
    "kollegen",
    "vertretung",
    "abteilung",
    "einkauf",
    "geschaftsfuhrer",
    "leiter",
    "leiterin",
    "equipe",
    "collegue",
    "urgent",
    "dringend",
    "de",
    "von",
    "der",
    "die",
    "das",
    "le",
    "la",
    "les",
    "du",
    "und",
    "et",
    "sie",
    "ich",
    "mich",
    "bitte",
    "merci",
    "danke",
    "gerne",
    "kind",
    "all",
    "any",
    "everyone",
    "someone",
    "anyone",
    "ooo",
    "out",
    "email",
    "mail",
    "phone",
    "tel",
    "mobile",
    "cell",
    "asap",
    "ai",
    "crm",
    "api",
    "sso",
    "eu",
    "uk",
    "emea",
    "apac",
    "amer",
    "ps",
    "i'm",
    "i've",
    "i'll",
    "we're",
    "they're",
    "today",
    "tomorrow",
    "urgent",
    "matters",
    "for",
    "wahrend",
    "meiner",
];

/// Titles skipped before a name.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "dr", "dra", "herr", "frau", "monsieur", "madame", "mme", "sr", "sra",
    "senor", "senora", "signora", "signor", "sig", "dott", "mevrouw", "meneer", "heer",
];

/// Words that end the search: the buyer talks about themselves or us.
const STOPPERS: &[&str] = &[
    "me",
    "us",
    "you",
    "myself",
    "ourselves",
    "yourself",
    "mich",
    "uns",
];

/// How many words a strong cue may sit before the name ("loop in our head of RevOps, Dana").
const MAX_SKIP: usize = 5;

/// How far (bytes) after a name its email may follow ("Maria (maria@acme.com)").
const EMAIL_REACH: usize = 40;

/// A person the buyer pointed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    /// The cue and the name, verbatim.
    pub found: Found,
}

impl Contact {
    /// `Name <email>`, `Name` or `email`.
    pub fn display(&self) -> String {
        match (&self.name, &self.email) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (Some(n), None) => n.clone(),
            (None, Some(e)) => e.clone(),
            (None, None) => String::new(),
        }
    }
}

/// Names and addresses that are never a referral: the buyer, our reps' addresses, the buyer's
/// company, our and competing product names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Exclusions {
    emails: Vec<String>,
    domains: Vec<String>,
    words: Vec<String>,
}

impl Exclusions {
    /// The exclusions for one buyer under `rules`.
    pub fn new(buyer: &Buyer, rules: &Rules) -> Self {
        let mut ex = Exclusions {
            emails: vec![buyer.email.as_str().to_string()],
            ..Default::default()
        };
        for rep in &rules.reps {
            let email = rep.email.to_lowercase();
            if let Some((_, domain)) = email.rsplit_once('@') {
                ex.domains.push(domain.to_string());
            }
            ex.emails.push(email);
        }
        let names = rules
            .org
            .product_names
            .iter()
            .chain(&rules.org.competitors)
            .chain(std::iter::once(&rules.org.name))
            .chain(buyer.name.iter())
            .chain(buyer.company.iter());
        for n in names {
            ex.add_words(n);
        }
        ex
    }

    fn add_words(&mut self, text: &str) {
        for w in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            self.words.push(w.to_lowercase());
        }
    }

    fn word(&self, w: &str) -> bool {
        self.words.iter().any(|x| x == w)
    }

    fn email(&self, e: &str) -> bool {
        self.emails.iter().any(|x| x == e)
            || self
                .domains
                .iter()
                .any(|d| e.rsplit_once('@').is_some_and(|(_, h)| h == d))
    }
}

fn is_name_word(part: &Part, i: usize, ex: &Exclusions, emails: &[EmailSpan]) -> bool {
    let w = part.tokens()[i].text.as_str();
    part.is_capitalised(i)
        && w.chars().all(|c| c.is_alphabetic() || c == '\'')
        && !NOT_NAMES.contains(&w)
        && !TITLES.contains(&w)
        && month_number(w).is_none()
        && weekday_index(w).is_none()
        && !ex.word(w)
        && part.email_at(i, emails).is_none()
}

/// The first foreign email starting within [`EMAIL_REACH`] bytes after byte `from`, same sentence.
fn email_after(
    part: &Part,
    from: usize,
    emails: &[EmailSpan],
    ex: &Exclusions,
) -> Option<EmailSpan> {
    emails
        .iter()
        .find(|e| {
            let gap = part.norm().get(from..e.start).unwrap_or("\n");
            e.start >= from
                && e.start - from <= EMAIL_REACH
                && !gap.contains(['\n', '!', '?', ';'])
                && !gap.contains(". ")
                && !ex.email(&e.address)
        })
        .cloned()
}

/// A contact built from a name run `first..end` (tokens) found after or before a cue at bytes `cue`.
fn contact_from_name(
    part: &Part,
    (first, end): (usize, usize),
    cue: (usize, usize),
    emails: &[EmailSpan],
    ex: &Exclusions,
) -> Contact {
    let tokens = part.tokens();
    let name_end = tokens[end - 1].end;
    let email = email_after(part, name_end, emails, ex);
    let start = cue.0.min(tokens[first].start);
    let stop = email
        .as_ref()
        .map_or(name_end, |e| e.end.max(name_end))
        .max(cue.1);
    Contact {
        name: Some(part.excerpt(first, end).to_string()),
        email: email.map(|e| e.address),
        found: Found::new(part.source(), part.original_slice(start, stop)),
    }
}

fn email_contact(part: &Part, email: &EmailSpan, cue_start: usize) -> Contact {
    let start = cue_start.min(email.start);
    Contact {
        name: None,
        email: Some(email.address.clone()),
        found: Found::new(part.source(), part.original_slice(start, email.end)),
    }
}

/// The name (or address) after a cue ending at token `end`.
fn name_after(
    part: &Part,
    cue: (usize, usize),
    end: usize,
    max_skip: usize,
    ex: &Exclusions,
) -> Option<Contact> {
    let emails = part.emails();
    let tokens = part.tokens();
    let mut i = end;
    let mut skipped = 0;
    while i < tokens.len() {
        if i > 0 && part.sentence_break(i - 1, i) {
            return None;
        }
        if let Some(e) = part.email_at(i, &emails) {
            if !ex.email(&e.address) {
                return Some(email_contact(part, &e, cue.0));
            }
            while i < tokens.len() && tokens[i].end <= e.end {
                i += 1;
            }
            continue;
        }
        let w = tokens[i].text.as_str();
        if STOPPERS.contains(&w) {
            return None;
        }
        if is_name_word(part, i, ex, &emails) {
            let mut j = i + 1;
            while j < tokens.len()
                && j - i < 3
                && part.joined(j - 1, j)
                && is_name_word(part, j, ex, &emails)
            {
                j += 1;
            }
            return Some(contact_from_name(part, (i, j), cue, &emails, ex));
        }
        if !TITLES.contains(&w) {
            skipped += 1;
            if skipped > max_skip {
                return None;
            }
        }
        i += 1;
    }
    None
}

/// The name before an ownership cue starting at token `first` ("Dana, she owns this").
fn name_before(part: &Part, cue: (usize, usize), first: usize, ex: &Exclusions) -> Option<Contact> {
    let emails = part.emails();
    let mut k = first;
    let mut looked = 0;
    while k > 0 && looked <= MAX_SKIP {
        if part.sentence_break(k - 1, k) {
            return None;
        }
        k -= 1;
        if is_name_word(part, k, ex, &emails) {
            let mut s = k;
            while s > 0
                && k + 1 - s < 3
                && part.joined(s - 1, s)
                && is_name_word(part, s - 1, ex, &emails)
            {
                s -= 1;
            }
            return Some(contact_from_name(part, (s, k + 1), cue, &emails, ex));
        }
        if let Some(e) = part.email_at(k, &emails) {
            if !ex.email(&e.address) {
                return Some(email_contact(part, &e, cue.0));
            }
        }
        looked += 1;
    }
    None
}

/// The first person the text points to with a referral cue, if any.
pub(crate) fn referred_contact(doc: &Doc, ex: &Exclusions) -> Option<Contact> {
    let mut candidates: Vec<(usize, usize, Contact)> = Vec::new();
    for (p, part) in doc.parts().iter().enumerate() {
        let single = Doc::from_part(part.clone());
        for hit in single.find_all(REFERRAL_NAME_AFTER) {
            let weak = hit.end - hit.first == 1 && REFERRAL_WEAK_CUES.contains(&hit.words()[0]);
            let skip = if weak { 0 } else { MAX_SKIP };
            let cue = (
                part.tokens()[hit.first].start,
                part.tokens()[hit.end - 1].end,
            );
            if let Some(c) = name_after(part, cue, hit.end, skip, ex) {
                candidates.push((p, hit.first, c));
            }
        }
        for hit in single.find_all(REFERRAL_NAME_BEFORE) {
            let cue = (
                part.tokens()[hit.first].start,
                part.tokens()[hit.end - 1].end,
            );
            if let Some(c) = name_before(part, cue, hit.first, ex) {
                candidates.push((p, hit.first, c));
            }
        }
    }
    candidates.sort_by_key(|(p, i, _)| (*p, *i));
    candidates.into_iter().next().map(|(_, _, c)| c)
}

/// The first address in the text that is not the buyer's or ours.
pub(crate) fn foreign_email(doc: &Doc, ex: &Exclusions) -> Option<Contact> {
    doc.parts().iter().find_map(|part| {
        part.emails()
            .into_iter()
            .find(|e| !ex.email(&e.address))
            .map(|e| email_contact(part, &e, e.start))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex() -> Exclusions {
        let mut ex = Exclusions {
            emails: vec!["dana@acme.com".into()],
            ..Default::default()
        };
        ex.add_words("Dana Smith");
        ex.add_words("Northwind");
        ex
    }

    fn contact(text: &str) -> Option<String> {
        let mut d = Doc::default();
        d.push("text", text);
        referred_contact(&d, &ex()).map(|c| c.display())
    }

    #[test]
    fn finds_the_referred_person() {
        assert_eq!(
            contact("Loop in Priya, she owns this."),
            Some("Priya".into())
        );
        assert_eq!(
            contact("I've left Acme, talk to my replacement Maria (maria@acme.com)."),
            Some("Maria <maria@acme.com>".into())
        );
        assert_eq!(
            contact("For urgent matters please contact Priya at priya@acme.com."),
            Some("Priya <priya@acme.com>".into())
        );
        assert_eq!(
            contact("for urgent matters reach Tom Baker"),
            Some("Tom Baker".into())
        );
        assert_eq!(
            contact("Tom O'Brien owns this area now."),
            Some("Tom O'Brien".into())
        );
        assert_eq!(
            contact("Bitte wenden Sie sich an meine Kollegin Anna Schmidt (anna.schmidt@acme.de)."),
            Some("Anna Schmidt <anna.schmidt@acme.de>".into())
        );
        assert_eq!(
            contact("I've cc'd ops-lead@acme.com here."),
            Some("ops-lead@acme.com".into())
        );
    }

    #[test]
    fn ignores_non_names() {
        assert_eq!(contact("Please contact me on my mobile."), None);
        assert_eq!(contact("Talk to our Sales team."), None);
        assert_eq!(contact("Try again in January."), None);
        assert_eq!(
            contact("Contact Dana Smith for that."),
            None,
            "the buyer is not a referral"
        );
        assert_eq!(contact("Northwind owns this space, right?"), None);
    }
}
