//! Properties of the escapers in `render::escape` over arbitrary strings, weighted towards the
//! characters that matter (line breaks, control and invisible characters, markup, `@here`):
//! no escaper lets a line break, control or invisible character through where its format
//! forbids it, mrkdwn and HTML keep no raw `<`, `>` or `&`, the cleaning ones are idempotent,
//! and escaping only ever adds the entities (decoding gives back the cleaned text).

use handoff_domain::render::escape::{
    fit_line, html, is_invisible, is_line_break, plain_block, plain_line, plain_lines, plain_text,
    slack_mrkdwn,
};
use proptest::prelude::*;

/// Strings mixing ordinary text with every character class the escapers treat specially.
fn nasty() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "\n",
        "\r",
        "\r\n",
        "\t",
        "\u{0B}",
        "\u{0C}",
        "\u{85}",
        "\u{2028}",
        "\u{2029}",
        "\u{0}",
        "\u{7}",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{9b}",
        "\u{200B}",
        "\u{200C}",
        "\u{200D}",
        "\u{200E}",
        "\u{202E}",
        "\u{2066}",
        "\u{2069}",
        "\u{FEFF}",
        "\u{061C}",
        "&",
        "<",
        ">",
        "\"",
        "'",
        "&amp;",
        "<!channel>",
        "@here",
        "@Channel",
        "a@everyone",
        "> ",
        "Actions: ",
        " ",
        "é",
        "👩\u{200D}💻",
    ]);
    let piece = prop_oneof![
        3 => special.prop_map(str::to_string),
        2 => "[a-zA-Z0-9 .:,]{0,6}",
        1 => any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Whether a character may not appear in any escaper's output (a `\n` is checked separately).
fn hidden_or_control(c: char) -> bool {
    (c.is_control() && c != '\n') || is_invisible(c) || (is_line_break(c) && c != '\n')
}

/// The entities mrkdwn and HTML escaping produce, decoded.
fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace('＠', "@")
        .replace("&amp;", "&")
}

/// Every `&` in `s` starts one of `entities`.
fn only_entities(s: &str, entities: &[&str]) -> bool {
    s.match_indices('&')
        .all(|(i, _)| entities.iter().any(|e| s[i..].starts_with(e)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn plain_line_is_one_clean_trimmed_line_and_idempotent(s in nasty()) {
        let line = plain_line(&s);
        prop_assert!(!line.chars().any(is_line_break), "{line:?}");
        prop_assert!(!line.chars().any(|c| c.is_control() || is_invisible(c)), "{line:?}");
        prop_assert_eq!(line.trim(), line.as_str());
        prop_assert!(!line.contains("  "), "{:?}", line);
        prop_assert_eq!(plain_line(&line), line.clone());
        // Nothing visible is lost: the words are those of the input.
        let words = |t: &str| -> String {
            t.chars().filter(|c| !c.is_whitespace() && !c.is_control() && !is_invisible(*c)).collect()
        };
        prop_assert_eq!(words(&line), words(&s));
    }

    #[test]
    fn fit_line_is_a_plain_line_within_its_length(s in nasty(), max in 1usize..40) {
        let fitted = fit_line(&s, max);
        prop_assert!(fitted.chars().count() <= max);
        prop_assert!(!fitted.chars().any(|c| is_line_break(c) || hidden_or_control(c)));
        let line = plain_line(&s);
        if line.chars().count() <= max {
            prop_assert_eq!(fitted, line);
        } else {
            prop_assert!(fitted.ends_with('…'));
        }
    }

    #[test]
    fn plain_text_keeps_only_newlines_and_is_idempotent(s in nasty()) {
        let text = plain_text(&s);
        prop_assert!(!text.chars().any(hidden_or_control), "{text:?}");
        prop_assert_eq!(plain_text(&text), text.clone());
        let breaks = |t: &str| t.matches('\n').count();
        prop_assert_eq!(breaks(&text), breaks(&s));
    }

    #[test]
    fn every_line_of_a_block_is_quoted(s in nasty()) {
        let block = plain_block(&s);
        for line in block.split(is_line_break).filter(|_| !block.is_empty()) {
            prop_assert!(line == ">" || line.starts_with("> "), "{line:?} in {block:?}");
            prop_assert!(!line.chars().any(hidden_or_control), "{line:?}");
        }
        let lines = plain_lines(&s);
        prop_assert_eq!(block.is_empty(), lines.is_empty());
        prop_assert!(lines.iter().all(|l| plain_line(l) == *l));
        prop_assert!(lines.first().is_none_or(|l| !l.is_empty()));
        prop_assert!(lines.last().is_none_or(|l| !l.is_empty()));
        prop_assert!(lines.windows(2).all(|w| !(w[0].is_empty() && w[1].is_empty())));
    }

    #[test]
    fn mrkdwn_has_no_markup_or_broadcast_and_decodes_to_the_clean_text(s in nasty()) {
        let m = slack_mrkdwn(&s);
        prop_assert!(!m.contains('<') && !m.contains('>'), "{m:?}");
        prop_assert!(only_entities(&m, &["&amp;", "&lt;", "&gt;"]), "{m:?}");
        prop_assert!(!m.chars().any(hidden_or_control), "{m:?}");
        let chars: Vec<char> = m.chars().collect();
        for (i, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
            let word_start = i == 0 || !(chars[i - 1].is_alphanumeric() || ".-_+".contains(chars[i - 1]));
            let rest: String = chars[i + 1..].iter().collect::<String>().to_lowercase();
            let broadcast = ["channel", "here", "everyone"].iter().any(|w| {
                rest.starts_with(w) && rest[w.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric())
            });
            prop_assert!(!(word_start && broadcast), "a broadcast at {i} in {m:?}");
        }
        prop_assert_eq!(decode(&m), plain_text(&s).replace('＠', "@"));
    }

    #[test]
    fn html_has_no_markup_and_decodes_to_the_clean_text(s in nasty()) {
        let h = html(&s);
        prop_assert!(!h.contains(['<', '>', '"', '\'']), "{h:?}");
        prop_assert!(only_entities(&h, &["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]), "{h:?}");
        prop_assert!(!h.chars().any(hidden_or_control), "{h:?}");
        prop_assert_eq!(decode(&h), plain_text(&s).replace('＠', "@"));
    }
}
