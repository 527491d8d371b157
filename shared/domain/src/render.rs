//! Human-readable renderings of a handoff package (notifications, CRM notes, the demo).
//!
//! Everything in a package that someone outside wrote or that is built from their words (the
//! buyer's name, company, role and problem statement, the account reason, the next step's
//! sentence, which quotes them) goes through [`escape`] before it is put into a line: one line
//! each ([`escape::plain_line`]), a problem statement of several lines quoted line by line
//! (`> …`), so no buyer text can start a line of its own that passes for one of the structure
//! lines ("1. Trigger", "Actions:") handoff writes. The HTML rendering escapes every value.
//!
//! Labels are written for people: the judgment labels through their `phrase()` ("competitor
//! evaluation"), the other enums through `Display` ("web form", "none offered yet"), counts and
//! possessives through [`words`]; never a Rust debug name or a snake_case label.

pub mod escape;
pub mod words;

use crate::event::{MeetingStatus, Urgency};
use crate::package::{Classification, HandoffPackage, MotionFields};
use std::fmt::Write;

/// A label as a person reads it: `pricing_request` → "pricing request".
pub fn prose(label: &str) -> String {
    label.replace('_', " ")
}

/// A value the buyer wrote as one line, `None` when nothing visible is left.
fn buyer_line(value: Option<&str>) -> Option<String> {
    value.map(escape::plain_line).filter(|v| !v.is_empty())
}

/// A one-line title: "[inbound] pricing request — Dana Lee, Acme (qualified)". Always one line,
/// whatever the buyer wrote.
pub fn title(p: &HandoffPackage) -> String {
    let c = &p.classification;
    let who = buyer_line(c.buyer.name.as_deref())
        .unwrap_or_else(|| escape::plain_line(c.buyer.email.as_str()));
    let company = buyer_line(c.buyer.company.as_deref()).unwrap_or_else(|| {
        c.buyer
            .company_domain
            .as_ref()
            .map(|d| escape::plain_line(d.as_str()))
            .unwrap_or_else(|| "unknown company".into())
    });
    format!(
        "[{}] {} — {who}, {company} ({})",
        c.motion.phrase(),
        c.trigger.phrase(),
        c.qualification.phrase()
    )
}

/// An inbound lead's urgency as a rep reads it (its `Display`).
pub fn urgency_text(urgency: &Urgency) -> String {
    urgency.to_string()
}

/// Where the meeting stands, as a rep reads it (its `Display`).
pub fn meeting_text(status: &MeetingStatus) -> String {
    status.to_string()
}

/// An SLA policy id as a person reads it: `inbound/hot` → "inbound hot",
/// `human_decision/legal_review` → "human-only decision: legal review", `reroute/failover` →
/// "reroute".
pub fn policy_phrase(policy: &str) -> String {
    match policy.split_once('/') {
        Some(("human_decision", lane)) => format!("human-only decision: {}", prose(lane)),
        Some(("reroute", "failover")) => "reroute".to_string(),
        Some(("reroute", "requalify")) => "re-qualification".to_string(),
        Some((motion, tier)) => format!("{} {}", prose(motion), prose(tier)),
        None => prose(policy),
    }
}

/// A routing layer's name as a person reads it: `existing_owner` → "existing owner",
/// `human_lane` → "human-only lane", `sla` → "SLA".
pub fn layer_phrase(layer: &str) -> String {
    match layer {
        "sla" => "SLA".to_string(),
        "human_lane" => "human-only lane".to_string(),
        other => prose(other),
    }
}

/// How sure the classifier is of the reply class, in percent, when its evidence says so.
pub fn reply_class_confidence(c: &Classification) -> Option<u8> {
    let class = c.reply_class?;
    let label = format!("reply_class:{class}");
    c.evidence
        .iter()
        .find(|e| e.supports == label)
        .map(|e| e.confidence)
}

/// The six parts as plain text: one line per part (a few indented detail lines), every value
/// from outside on its line ([`escape::plain_line`]), a problem statement of several lines
/// quoted (`   > …`).
pub fn package_text(p: &HandoffPackage) -> String {
    let line = escape::plain_line;
    let c = &p.classification;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "1. Trigger: {}{}",
        c.trigger.phrase(),
        c.reply_class
            .map(|r| match reply_class_confidence(c) {
                Some(sure) => format!(" (reply: {}, {sure} % sure)", r.phrase()),
                None => format!(" (reply: {})", r.phrase()),
            })
            .unwrap_or_default()
    );
    let b = &c.buyer;
    let _ = writeln!(
        s,
        "2. Buyer: {} <{}>{}{} · via {} / {}",
        buyer_line(b.name.as_deref()).unwrap_or_else(|| "(no name)".into()),
        line(b.email.as_str()),
        buyer_line(b.role.as_deref())
            .map(|r| format!(", {r}"))
            .unwrap_or_default(),
        buyer_line(b.company.as_deref())
            .map(|r| format!(" at {r}"))
            .unwrap_or_default(),
        line(b.source.as_str()),
        b.channel
    );
    match escape::plain_lines(&b.problem_statement).as_slice() {
        [] => {}
        [only] => {
            let _ = writeln!(s, "   Problem: {only}");
        }
        _ => {
            let _ = writeln!(s, "   Problem:");
            for quoted in escape::plain_block(&b.problem_statement).lines() {
                let _ = writeln!(s, "   {quoted}");
            }
        }
    }
    match &c.motion_fields {
        MotionFields::Inbound {
            urgency,
            meeting_status,
            qualification_answers,
            ..
        } => {
            let urgency = urgency_text(urgency);
            let meeting = meeting_text(meeting_status);
            let answers = match qualification_answers.len() {
                0 => "no qualification answers".to_string(),
                n => words::count(n, "qualification answer"),
            };
            let _ = writeln!(s, "   Urgency: {urgency}; meeting: {meeting}; {answers}");
        }
        MotionFields::Outbound {
            account_reason,
            outreach_history,
            ..
        } => {
            let account_reason = line(account_reason);
            if !account_reason.is_empty() {
                let _ = writeln!(s, "   Account: {account_reason}");
            }
            let _ = writeln!(
                s,
                "   Outreach so far: {}",
                words::count(outreach_history.len(), "touch")
            );
        }
    }
    let _ = writeln!(s, "3. Qualification: {}", c.qualification.phrase());
    if let Some(why) = &c.needs_confirmation {
        let _ = writeln!(s, "   Needs confirmation: {}", line(why));
    }
    let _ = writeln!(
        s,
        "4. Next step: {} — {}",
        c.next_step.action.phrase(),
        line(&c.next_step.detail)
    );
    match (&p.owner, &p.sla) {
        (Some(o), Some(sla)) => {
            let _ = writeln!(
                s,
                "5. Owner: {} · SLA {} business min ({}) → due {}",
                line(&o.display),
                sla.business_minutes,
                line(&policy_phrase(&sla.policy)),
                sla.deadline.format("%Y-%m-%d %H:%M UTC")
            );
        }
        _ => {
            let _ = writeln!(s, "5. Owner: none (not escalated)");
        }
    }
    let flags: Vec<String> = c
        .risk_flags
        .iter()
        .map(|f| f.phrase().into_owned())
        .collect();
    let _ = writeln!(
        s,
        "6. Risk flags: {}{}",
        if flags.is_empty() {
            "none".to_string()
        } else {
            flags.join(", ")
        },
        c.human_decision
            .map(|l| format!(" · human-only decision: {}", l.phrase()))
            .unwrap_or_default()
    );
    s
}

/// Escapes text for HTML element content and attribute values ([`escape::html`]: control and
/// invisible characters dropped, markup characters as entities).
pub fn escape_html(s: &str) -> String {
    escape::html(s)
}

/// The six parts as simple HTML (a CRM note, an email part): a heading and one paragraph per
/// part, every value escaped, the buyer's quoted lines as a block quote.
pub fn package_html(p: &HandoffPackage) -> String {
    let mut s = String::new();
    let _ = write!(s, "<p><strong>{}</strong></p>", escape_html(&title(p)));
    for line in package_text(p).lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        // The buyer's own lines (a problem statement of several lines), quoted as such.
        if let Some(quoted) = trimmed.strip_prefix('>') {
            let _ = write!(
                s,
                "<blockquote style=\"margin:0 0 0 3em\">{}</blockquote>",
                escape_html(quoted.trim_start())
            );
            continue;
        }
        let indent = line.len() != trimmed.len();
        let (label, rest) = match trimmed.split_once(": ") {
            Some((label, rest)) if !label.contains(' ') || label.len() < 24 => (label, rest),
            _ => ("", trimmed),
        };
        let label = if label.is_empty() {
            String::new()
        } else {
            format!("<strong>{}:</strong> ", escape_html(label))
        };
        let body = escape_html(rest).replace('\n', "<br>");
        if indent {
            let _ = write!(s, "<p style=\"margin-left:1.5em\">{label}{body}</p>");
        } else {
            let _ = write!(s, "<p>{label}{body}</p>");
        }
    }
    if !p.routing.is_empty() {
        s.push_str("<p><strong>Routing trace:</strong></p><ul>");
        for step in &p.routing {
            let _ = write!(
                s,
                "<li>{}: {}</li>",
                escape_html(&layer_phrase(&step.layer)),
                escape_html(&step.outcome)
            );
        }
        s.push_str("</ul>");
    }
    s
}

#[cfg(test)]
mod html_tests {
    use super::*;

    #[test]
    fn escape_html_neutralises_markup_and_controls() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape_html("line\nnext"), "line\nnext");
    }
}

#[cfg(test)]
mod forged_line_tests {
    use super::escape::{is_invisible, is_line_break};
    use super::*;
    use crate::ids::HandoffId;
    use crate::package::{Motion, TriggerKind};
    use crate::routing::testing::classification;

    /// A buyer name that tries to add an "Actions:" line, in every way a line can be broken or
    /// disguised.
    const FORGED: &[&str] = &[
        "Ann\nActions: accept: http://evil",
        "Ann\r\nActions: accept: http://evil",
        "Ann\rActions: accept: http://evil",
        "Ann\u{2028}Actions: accept: http://evil",
        "Ann\u{2029}Actions: accept: http://evil",
        "Ann\u{85}Actions: accept: http://evil",
        "Ann\u{0B}Actions: accept: http://evil",
        "Ann\u{0C}Actions: accept: http://evil",
        "Ann\u{1b}[2K\u{1b}[1GActions: accept: http://evil",
        "Ann\n\u{200B}Actions: accept: http://evil",
        "Ann\n\u{202E}Actions: accept: http://evil\u{202C}",
        "Ann\n\u{FEFF}  Actions: accept: http://evil",
        "Ann\n\n1. Trigger: none",
    ];

    /// The lines a reader (a terminal, a mail client, an editor) sees.
    fn reader_lines(text: &str) -> Vec<&str> {
        text.split(is_line_break).collect()
    }

    /// Whether a line starts with forged structure once blanks and hidden characters are
    /// skipped.
    fn forged(line: &str) -> bool {
        let visible = line
            .trim_start_matches(|c: char| c.is_whitespace() || c.is_control() || is_invisible(c));
        visible.starts_with("Actions:") || visible.starts_with("1. Trigger: none")
    }

    fn package(name: &str) -> HandoffPackage {
        let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
        c.buyer.name = Some(name.into());
        c.buyer.company = Some(name.into());
        c.buyer.role = Some(name.into());
        c.next_step.detail = format!("Call {name} today.");
        c.needs_confirmation = Some(name.into());
        HandoffPackage {
            handoff_id: HandoffId::parse("h_0123456789abcdef0123456789abcdef").unwrap(),
            classification: c,
            owner: None,
            sla: None,
            routing: Vec::new(),
        }
    }

    #[test]
    fn no_buyer_text_starts_a_line_of_the_text_the_title_or_the_html() {
        for name in FORGED {
            let mut p = package(name);
            p.classification.buyer.problem_statement = (*name).into();
            let text = package_text(&p);
            for line in reader_lines(&text) {
                assert!(!forged(line), "{name:?} forged {line:?} in:\n{text}");
            }
            assert!(!text.contains('\u{1b}'), "{name:?}: {text}");
            assert_eq!(
                reader_lines(&text)
                    .iter()
                    .filter(|l| l.starts_with("1. Trigger:"))
                    .count(),
                1,
                "{text}"
            );
            let title = title(&p);
            assert_eq!(reader_lines(&title).len(), 1, "{name:?}: {title:?}");
            assert!(!title.chars().any(|c| c.is_control() || is_invisible(c)));
            let html = package_html(&p);
            assert!(
                !html.chars().any(|c| is_line_break(c) || is_invisible(c)),
                "{html}"
            );
        }
    }

    #[test]
    fn a_problem_statement_of_several_lines_is_quoted_line_by_line() {
        let mut p = package("Ann");
        p.classification.buyer.problem_statement =
            "We need SSO.\nActions: accept: http://evil\r\n<b>now</b>".into();
        let text = package_text(&p);
        assert!(
            text.contains(
                "   Problem:\n   > We need SSO.\n   > Actions: accept: http://evil\n   > <b>now</b>\n"
            ),
            "{text}"
        );
        let html = package_html(&p);
        assert!(
            html.contains(
                "<blockquote style=\"margin:0 0 0 3em\">Actions: accept: http://evil</blockquote>"
            ),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;now&lt;/b&gt;"), "{html}");

        p.classification.buyer.problem_statement = "  One line. \u{7}".into();
        assert!(package_text(&p).contains("   Problem: One line.\n"));
    }

    #[test]
    fn an_empty_or_invisible_name_falls_back() {
        let p = package("\u{200B}\u{202E} \n");
        assert!(
            package_text(&p).contains("2. Buyer: (no name) <"),
            "{}",
            package_text(&p)
        );
        assert!(
            title(&p).contains(" — dana@acme.example, "),
            "{}",
            title(&p)
        );
    }
}
