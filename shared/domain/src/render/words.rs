//! Grammar for text a person reads: counted nouns ("1 active rep", "2 active reps"),
//! possessives ("Lena Fischer's", "Team leads'") and lists ("a, b and c").
//!
//! Every count or possessive built into a trace line, a notification, a CRM note or CLI output
//! goes through these, so no "1 active reps" or "Team leads's" reaches anyone.

/// The plural of a regular English noun or noun phrase (the last word changes): "rep" → "reps",
/// "touch" → "touches", "policy" → "policies", "active rep" → "active reps".
pub fn plural_of(noun: &str) -> String {
    let ends = |suffix: &str| noun.ends_with(suffix);
    if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{noun}es")
    } else if let Some(stem) = noun.strip_suffix('y').filter(|stem| {
        stem.chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic() && !"aeiou".contains(c))
    }) {
        format!("{stem}ies")
    } else {
        format!("{noun}s")
    }
}

/// `n` and the noun, singular for exactly one: "1 active rep", "0 active reps", "2 touches".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural_of(noun))
    }
}

/// `n` and the noun, with an irregular plural given: "1 person", "3 people".
pub fn count_with(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// The noun for `n` of something, without the number: "rep" for 1, "reps" otherwise (for
/// "2 of 1 …" style phrases where the number is written elsewhere).
pub fn noun_for(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        plural_of(noun)
    }
}

/// "is" for one, "are" for several.
pub fn is_are(n: usize) -> &'static str {
    if n == 1 {
        "is"
    } else {
        "are"
    }
}

/// The possessive of a name or noun: "Lena Fischer's", "the team's", and a bare apostrophe
/// after a final "s" ("Team leads'", "Sales'").
pub fn possessive(name: &str) -> String {
    if name.ends_with('s') || name.ends_with('S') {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

/// Items joined as a person lists them: "a", "a and b", "a, b and c".
pub fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    join_last(items, "and")
}

/// Items joined with "or" before the last: "a", "a or b", "a, b or c".
pub fn join_or<S: AsRef<str>>(items: &[S]) -> String {
    join_last(items, "or")
}

fn join_last<S: AsRef<str>>(items: &[S], word: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_string(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} {word} {}", rest.join(", "), last.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_number() {
        for (n, noun, expected) in [
            (0, "active rep", "0 active reps"),
            (1, "active rep", "1 active rep"),
            (2, "active rep", "2 active reps"),
            (1, "touch", "1 touch"),
            (3, "touch", "3 touches"),
            (2, "box", "2 boxes"),
            (2, "class", "2 classes"),
            (2, "policy", "2 policies"),
            (2, "day", "2 days"),
            (1, "business minute", "1 business minute"),
            (30, "business minute", "30 business minutes"),
        ] {
            assert_eq!(count(n, noun), expected, "{n} {noun}");
        }
        assert_eq!(count_with(1, "person", "people"), "1 person");
        assert_eq!(count_with(4, "person", "people"), "4 people");
        assert_eq!(noun_for(1, "rep"), "rep");
        assert_eq!(noun_for(6, "rep"), "reps");
        assert_eq!(is_are(1), "is");
        assert_eq!(is_are(0), "are");
    }

    #[test]
    fn possessives_take_a_bare_apostrophe_after_s() {
        for (name, expected) in [
            ("Lena Fischer", "Lena Fischer's"),
            ("Team leads", "Team leads'"),
            ("EMEA SDRs", "EMEA SDRs'"),
            ("the team", "the team's"),
            ("Chloé", "Chloé's"),
        ] {
            assert_eq!(possessive(name), expected);
        }
    }

    #[test]
    fn lists_read_as_a_person_writes_them() {
        let none: [&str; 0] = [];
        assert_eq!(join_and(&none), "");
        assert_eq!(join_and(&["a"]), "a");
        assert_eq!(join_and(&["a", "b"]), "a and b");
        assert_eq!(join_and(&["a", "b", "c"]), "a, b and c");
        assert_eq!(join_or(&["a", "b", "c"]), "a, b or c");
    }
}
