//! Text someone outside wrote (a buyer's name, company, role, problem statement, answers, the
//! sentences built from their words) made safe for where it goes: a plain-text notification, a
//! Slack `mrkdwn` text, an HTML page or part, a CRM field, a log line.
//!
//! The threat is structure, not content: a name like `"Ann\nActions: accept: http://evil"` must
//! not become a line of its own that looks like one handoff wrote. Every escaper therefore
//! removes what could break a line or hide text, then escapes for the target format:
//!
//! - **Line breaks.** Besides `\n` and `\r`, readers break lines at vertical tab, form feed,
//!   NEL (`U+0085`) and the Unicode line and paragraph separators (`U+2028`, `U+2029`).
//!   [`plain_line`] turns every one of them into a space; the multi-line escapers keep `\n` as
//!   the only line break (a `\r` is dropped, so `\r\n` becomes `\n`) and turn the others into
//!   spaces.
//! - **Control characters** (C0, DEL, C1: terminal escape sequences start with ESC `U+001B`) are
//!   dropped; a tab becomes a space.
//! - **Invisible characters** that disguise text are dropped: the bidirectional marks,
//!   embeddings, overrides and isolates (`U+061C`, `U+200E`, `U+200F`, `U+202A`–`U+202E`,
//!   `U+2066`–`U+2069`), zero-width space, word joiner and the invisible operators (`U+200B`,
//!   `U+2060`–`U+2064`), the byte order mark (`U+FEFF`), the Mongolian vowel separator
//!   (`U+180E`) and the interlinear annotation marks (`U+FFF9`–`U+FFFB`). The zero-width
//!   joiner and non-joiner (`U+200D`, `U+200C`) stay: scripts such as Persian and Devanagari and
//!   emoji sequences need them, and they cannot start a line or reorder text.
//!
//! Which to use:
//!
//! - [`plain_line`] (and [`fit_line`], which also caps the length): one line for a value that
//!   sits inside a line handoff writes ("2. Buyer: …", a subject, a Slack field, a CRM property,
//!   a log line). Whitespace runs collapse to one space and the ends are trimmed, so the result
//!   can never begin a line of its own. Idempotent.
//! - [`plain_block`]: several lines the buyer wrote, kept as lines, each quoted with `"> "` (an
//!   empty line as `">"`), so no line of theirs can pass for one of handoff's; [`plain_lines`]
//!   gives the same lines unquoted for a renderer that marks them its own way.
//! - [`plain_text`]: multi-line text handoff composed from values that are already safe (the
//!   package text, a note): only control and invisible characters go, `\n` stays the only line
//!   break, indentation is kept. Idempotent.
//! - [`slack_mrkdwn`]: for a Slack `mrkdwn` object. After [`plain_text`]'s cleaning, `&`, `<`
//!   and `>` become `&amp;`, `&lt;`, `&gt;` (so nothing can form a `<link|…>`, `<@user>` or
//!   `<!channel>`) and `@channel`, `@here` and `@everyone` get a full-width at sign (`＠`), so
//!   they can never ping a channel even where Slack would link names.
//! - [`html`]: element content and attribute values: [`plain_text`]'s cleaning, then `&`, `<`,
//!   `>`, `"` and `'` as entities.
//!
//! Logs: buyer text is not logged. Where a line must carry something derived from outside text
//! (an API's error message that may echo a value), [`fit_line`] keeps it one short line.

/// The words Slack expands into a notification for everyone in a channel.
const SLACK_BROADCASTS: [&str; 3] = ["channel", "here", "everyone"];

/// What becomes of one character in text that may span several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    Drop,
    Space,
    LineBreak,
}

/// Whether `c` is invisible and can disguise or reorder text (see the module docs).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// Whether a reader may start a new line at `c`.
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// The fate of `c` in multi-line text: `\n` is the only line break kept, `\r` goes (so `\r\n`
/// is `\n`), the other breaks and a tab become spaces, control and invisible characters go.
fn fate(c: char) -> Fate {
    match c {
        '\n' => Fate::LineBreak,
        '\r' => Fate::Drop,
        '\t' => Fate::Space,
        c if is_line_break(c) => Fate::Space,
        c if c.is_control() || is_invisible(c) => Fate::Drop,
        _ => Fate::Keep,
    }
}

/// One line: every line break, tab and other whitespace run becomes one space, control and
/// invisible characters are dropped, the ends are trimmed. Idempotent.
pub fn plain_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() || is_line_break(c) {
            pending_space = true;
            continue;
        }
        if c.is_control() || is_invisible(c) {
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

/// [`plain_line`] cut to at most `max_chars` characters; a cut line ends in `…` (trailing
/// spaces before it removed).
pub fn fit_line(s: &str, max_chars: usize) -> String {
    let line = plain_line(s);
    if line.chars().count() <= max_chars {
        return line;
    }
    let mut out: String = line.chars().take(max_chars.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Multi-line text handoff composed from safe values: `\n` stays the only line break, other
/// breaks and tabs become spaces, control and invisible characters are dropped; indentation and
/// spacing are kept. Idempotent.
pub fn plain_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match fate(c) {
            Fate::Keep | Fate::LineBreak => out.push(c),
            Fate::Space => out.push(' '),
            Fate::Drop => {}
        }
    }
    out
}

/// The lines of multi-line buyer text, each one [`plain_line`]: every kind of line break
/// separates lines, runs of blank lines become one empty line, blank lines at either end go.
pub fn plain_lines(s: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in s.replace("\r\n", "\n").split(is_line_break) {
        let line = plain_line(raw);
        let after_blank = lines.last().is_none_or(String::is_empty);
        if !line.is_empty() || !after_blank {
            lines.push(line);
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Multi-line buyer text as quoted lines: each of [`plain_lines`] prefixed with `"> "` (an
/// empty line is `">"`), joined with `\n`; empty when there is nothing to show.
pub fn plain_block(s: &str) -> String {
    plain_lines(s)
        .iter()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text for a Slack `mrkdwn` object: [`plain_text`]'s cleaning, `&`, `<`, `>` as entities and
/// the broadcast mentions (`@channel`, `@here`, `@everyone`) defused with a full-width `＠`.
pub fn slack_mrkdwn(s: &str) -> String {
    let chars: Vec<char> = plain_text(s).chars().collect();
    let mut out = String::with_capacity(chars.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' if starts_word(&chars[..i]) && is_broadcast(&chars[i + 1..]) => out.push('＠'),
            c => out.push(c),
        }
    }
    out
}

/// Whether an `@` after `before` starts a word (so it is not inside an address like
/// `dana@here.com`).
fn starts_word(before: &[char]) -> bool {
    before
        .last()
        .is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
}

/// Whether the text after an `@` is a broadcast word (any case) that ends there.
fn is_broadcast(rest: &[char]) -> bool {
    SLACK_BROADCASTS.iter().any(|word| {
        let n = word.chars().count();
        rest.len() >= n
            && rest[..n]
                .iter()
                .zip(word.chars())
                .all(|(a, b)| a.to_ascii_lowercase() == b)
            && rest.get(n).is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Text for HTML element content or an attribute value: [`plain_text`]'s cleaning, then `&`,
/// `<`, `>`, `"` and `'` as entities. `\n` is kept (a renderer may turn it into `<br>`).
pub fn html(s: &str) -> String {
    let cleaned = plain_text(s);
    let mut out = String::with_capacity(cleaned.len() + 8);
    for c in cleaned.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_flattens_every_kind_of_break_and_drops_what_hides_text() {
        let cases: &[(&str, &str)] = &[
            ("Ann\nActions: accept: x", "Ann Actions: accept: x"),
            ("Ann\r\nActions", "Ann Actions"),
            ("Ann\rActions", "Ann Actions"),
            ("Ann\u{2028}Actions\u{2029}x", "Ann Actions x"),
            ("Ann\u{85}Actions", "Ann Actions"),
            ("Ann\u{0B}\u{0C}Actions", "Ann Actions"),
            ("Ann\u{1b}[31mred", "Ann[31mred"),
            ("A\u{200B}n\u{FEFF}n\u{2060}", "Ann"),
            ("\u{202E}nnA\u{202C} \u{2066}x\u{2069}", "nnA x"),
            ("  Dana \t Lee  ", "Dana Lee"),
            ("Chloé 👩\u{200D}💻", "Chloé 👩\u{200D}💻"),
            ("\u{0}\u{7}", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(plain_line(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn fit_line_cuts_on_characters_with_an_ellipsis() {
        assert_eq!(fit_line("abcdef", 6), "abcdef");
        assert_eq!(fit_line("abcdefg", 6), "abcde…");
        assert_eq!(fit_line("abcd efg", 6), "abcd…");
        assert_eq!(fit_line("ééééé", 3), "éé…");
        assert_eq!(fit_line("a\nb", 10), "a b");
    }

    #[test]
    fn plain_text_keeps_newlines_and_indentation_only() {
        let cases: &[(&str, &str)] = &[
            ("1. a\n   b: c\n", "1. a\n   b: c\n"),
            ("a\r\nb", "a\nb"),
            ("a\u{2028}b\u{85}c\u{0B}d", "a b c d"),
            ("a\tb\u{7}c\u{202E}d", "a bcd"),
        ];
        for (raw, want) in cases {
            assert_eq!(plain_text(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn plain_block_quotes_every_line() {
        let cases: &[(&str, &str)] = &[
            ("one line", "> one line"),
            ("a\nActions: x", "> a\n> Actions: x"),
            ("a\r\n\r\n\r\nb", "> a\n>\n> b"),
            ("a\u{2028}b\u{85}c\rd", "> a\n> b\n> c\n> d"),
            ("\n\n  a  \n\n", "> a"),
            ("", ""),
            (" \n\u{200B}\n", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(plain_block(raw), *want, "{raw:?}");
        }
        assert_eq!(plain_lines("x\n\ny"), ["x", "", "y"]);
    }

    #[test]
    fn slack_mrkdwn_escapes_links_and_defuses_broadcasts() {
        let cases: &[(&str, &str)] = &[
            (
                "<!channel> <http://evil|click> & <@U1>",
                "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; &lt;@U1&gt;",
            ),
            ("a\u{7}b\tc\nd\u{202E}e", "ab c\nde"),
            ("Chloé *bold* _it_", "Chloé *bold* _it_"),
            (
                "hi @channel @Here, @EVERYONE!",
                "hi ＠channel ＠Here, ＠EVERYONE!",
            ),
            (
                "@channels @heres dana@here.com (@here)",
                "@channels @heres dana@here.com (＠here)",
            ),
            ("x\r\ny\u{2028}z", "x\ny z"),
        ];
        for (raw, want) in cases {
            assert_eq!(slack_mrkdwn(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn html_escapes_markup_and_drops_controls() {
        let cases: &[(&str, &str)] = &[
            (
                "<script>alert('x')</script> & \"q\"\u{7}",
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;",
            ),
            ("line\nnext", "line\nnext"),
            ("a\u{2028}b\u{202E}c\r\nd", "a bc\nd"),
        ];
        for (raw, want) in cases {
            assert_eq!(html(raw), *want, "{raw:?}");
        }
    }
}
