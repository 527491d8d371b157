//! Fails when a `tracing` call in the crates that run in Lambda names personal data: a field, a
//! value or a format argument whose name is on the deny-list of
//! [`handoff_lambda::logging::is_personal_field`] (email, name, body, text, phone, subject,
//! company, contact, payload…; `contact_id`, `body_len` and the like are fine).
//!
//! What it cannot see: personal data hidden behind an innocent name (`error = %e` where the error
//! quotes a value). The logger masks email addresses in every string as a second line of
//! defence; names of methods (`provider.name()`) are not checked, their receivers and arguments
//! are. Test modules (from the first `#[cfg(test)]` of a file) are not scanned: they do not run
//! in Lambda.

use handoff_lambda::logging::is_personal_field;
use std::path::{Path, PathBuf};

/// The source trees whose code runs in the Lambda functions.
const SCANNED: &[&str] = &[
    "src",
    "../api/src",
    "../connectors/src",
    "../domain/src/service",
];

const MACROS: &[&str] = &["trace", "debug", "info", "warn", "error", "event"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src` without comments; string and char literals are kept (as they are).
fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
        } else if let Some(len) = literal_len(&src[i..]) {
            out.push_str(&src[i..i + len]);
            i += len;
        } else {
            let c = src[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The byte length of the string or char literal `s` starts with, if it starts with one.
fn literal_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let raw = |i: usize| -> Option<usize> {
        let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
        if b.get(i + hashes) != Some(&b'"') {
            return None;
        }
        let close = format!("\"{}", "#".repeat(hashes));
        let body = i + hashes + 1;
        Some(
            s[body..]
                .find(&close)
                .map_or(b.len(), |e| body + e + close.len()),
        )
    };
    match b.first()? {
        b'"' => {
            let mut i = 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            Some((i + 1).min(b.len()))
        }
        b'r' if matches!(b.get(1), Some(b'"' | b'#')) => raw(1),
        b'b' if b.get(1) == Some(&b'r') => raw(2),
        b'\'' => {
            // A char literal ('a', '\n', '\''), not a lifetime ('a).
            let body = if b.get(1) == Some(&b'\\') {
                2 + s[2..].chars().next()?.len_utf8()
            } else {
                1 + s[1..].chars().next()?.len_utf8()
            };
            let close = s[body..].find('\'')?;
            (close <= 6 && !s[body..body + close].contains(|c: char| c.is_whitespace()))
                .then_some(body + close + 1)
        }
        _ => None,
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The arguments of every tracing macro call in `src` (comments stripped), with the line.
fn tracing_calls(src: &str) -> Vec<(usize, String)> {
    let mut calls = Vec::new();
    let mut i = 0;
    while let Some(found) = src[i..].find("!(") {
        let bang = i + found;
        let start = src[..bang]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_ident(*c))
            .last()
            .map_or(bang, |(j, _)| j);
        i = bang + 2;
        if !MACROS.contains(&&src[start..bang]) {
            continue;
        }
        let (mut depth, mut j) = (1, i);
        while j < src.len() && depth > 0 {
            if let Some(len) = literal_len(&src[j..]) {
                j += len;
                continue;
            }
            match src.as_bytes()[j] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                _ => {}
            }
            j += 1;
        }
        let line = src[..bang].matches('\n').count() + 1;
        calls.push((line, src[i..j.saturating_sub(1)].to_string()));
        i = j;
    }
    calls
}

/// `args` split at the commas outside brackets and literals.
fn split_args(args: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut from, mut j) = (Vec::new(), 0, 0, 0);
    while j < args.len() {
        if let Some(len) = literal_len(&args[j..]) {
            j += len;
            continue;
        }
        match args.as_bytes()[j] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(args[from..j].trim());
                from = j + 1;
            }
            _ => {}
        }
        j += 1;
    }
    parts.push(args[from..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// The position of the `=` of `name = value`, if `arg` is one.
fn assignment(arg: &str) -> Option<usize> {
    let b = arg.as_bytes();
    let mut j = 0;
    while j < b.len() {
        if let Some(len) = literal_len(&arg[j..]) {
            j += len;
            continue;
        }
        if b[j] == b'='
            && b.get(j + 1).is_none_or(|c| !b"=>".contains(c))
            && (j == 0 || !b"=!<>".contains(&b[j - 1]))
        {
            return Some(j);
        }
        j += 1;
    }
    None
}

/// The identifiers of an expression, except method and function names and what is inside
/// literals.
fn identifiers(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut j = 0;
    while j < expr.len() {
        if let Some(len) = literal_len(&expr[j..]) {
            j += len;
            continue;
        }
        let c = expr[j..].chars().next().unwrap();
        if c.is_alphabetic() || c == '_' {
            let len = expr[j..]
                .find(|c: char| !is_ident(c))
                .unwrap_or(expr.len() - j);
            let called = expr[j + len..].trim_start().starts_with(['(', '!']);
            if !called {
                out.push(&expr[j..j + len]);
            }
            j += len;
        } else {
            j += c.len_utf8();
        }
    }
    out
}

/// The inline captures of a format string (`{email}`, `{buyer:?}`).
fn captures(literal: &str) -> Vec<&str> {
    literal
        .split('{')
        .skip(1)
        .filter_map(|p| p.split(['}', ':']).next())
        .filter(|name| !name.is_empty() && name.chars().all(is_ident))
        .collect()
}

/// Whether a field name ends in `_id`, `_ids` or `_ref`.
fn declares_an_id(field: &str) -> bool {
    ["_id", "_ids", "_ref"].iter().any(|s| field.ends_with(s))
}

/// Whether a name says it is a personal attribute (an address, a name, a text), not the record
/// that has one.
fn is_personal_attribute(name: &str) -> bool {
    const ATTRIBUTES: &str = "email emails name names firstname lastname fullname \
        phone mobile body text html subject title payload raw address";
    name.split('_').any(|w| {
        ATTRIBUTES
            .split_whitespace()
            .any(|a| a.eq_ignore_ascii_case(w))
    })
}

/// What a tracing call's arguments name that would be personal data.
fn violations(args: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut check = |what: &str, name: &str| {
        if is_personal_field(name) {
            bad.push(format!("{what} `{name}`"));
        }
    };
    let mut after_message = false;
    for arg in split_args(args) {
        if literal_len(arg) == Some(arg.len()) {
            for name in captures(arg) {
                check("format capture", name);
            }
            after_message = true;
        } else if after_message {
            for name in identifiers(arg) {
                check("format argument", name);
            }
        } else if ["target:", "parent:", "name:"]
            .iter()
            .any(|k| arg.starts_with(k))
        {
            continue;
        } else if let Some(eq) = assignment(arg) {
            let field = arg[..eq].trim();
            check("field", field);
            for name in identifiers(&arg[eq + 1..]) {
                // A field that says it holds an id (`contact_id = %contact`) may take its value
                // from a variable named after what it identifies, not from a personal attribute.
                if !declares_an_id(field) || is_personal_attribute(name) {
                    check("value", name);
                }
            }
        } else {
            let expr = arg.trim_start_matches(['%', '?']);
            check("field", expr);
            for name in identifiers(expr) {
                check("value", name);
            }
        }
    }
    bad
}

#[test]
fn no_tracing_call_names_personal_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in SCANNED {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 20,
        "the scan found only {} files",
        files.len()
    );
    let mut calls = 0;
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (line, args) in tracing_calls(&strip_comments(text)) {
            calls += 1;
            for v in violations(&args) {
                found.push(format!("{}:{line}: {v}", file.display()));
            }
        }
    }
    assert!(calls > 30, "the scan found only {calls} tracing calls");
    assert!(
        found.is_empty(),
        "tracing calls that name personal data (log ids and counts instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_catches_what_it_should() {
    let src = r#"
        tracing::info!(buyer_email = %x, "a");
        info!(handoff_id = %record.contact_email, "b");
        tracing::warn!("{}", body);
        debug!("got {text:?}");
        tracing::error!(%first_name, "c");
        tracing::event!(Level::INFO, ?payload);
        info!(contact_id = %contact.email, "e");
        warn!(company = "x", "d");
        // tracing::info!(email = %e, "a comment is not a call");
    "#;
    let calls = tracing_calls(&strip_comments(src));
    assert_eq!(calls.len(), 8);
    for (line, args) in &calls {
        assert!(
            !violations(args).is_empty(),
            "line {line} not caught: {args}"
        );
    }
    let fine = r#"
        tracing::info!(provider = provider.name(), handoff_id = %n.handoff_id, contact_id = %id, "x = {}", count);
        tracing::warn!(error = %e, receive_count = d.receive_count, "it's {state}");
        let _ = format!("{email}");
    "#;
    for (line, args) in tracing_calls(&strip_comments(fine)) {
        assert_eq!(
            violations(&args),
            Vec::<String>::new(),
            "line {line}: {args}"
        );
    }
}
