//! Human-readable renderings of a handoff package (notifications, CRM notes, the demo).

use crate::event::{MeetingStatus, Urgency};
use crate::package::{Classification, HandoffPackage, MotionFields};
use std::fmt::Write;

/// A label as a person reads it: `pricing_request` → "pricing request".
pub fn prose(label: &str) -> String {
    label.replace('_', " ")
}

/// A one-line title: "[inbound] pricing request — Dana Lee, Acme (qualified)".
pub fn title(p: &HandoffPackage) -> String {
    let c = &p.classification;
    let who = c
        .buyer
        .name
        .clone()
        .unwrap_or_else(|| c.buyer.email.to_string());
    let company = c.buyer.company.clone().unwrap_or_else(|| {
        c.buyer
            .company_domain
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "unknown company".into())
    });
    format!(
        "[{}] {} — {who}, {company} ({})",
        c.motion,
        prose(c.trigger.as_str()),
        prose(c.qualification.as_str())
    )
}

/// An inbound lead's urgency as a rep reads it.
pub fn urgency_text(urgency: &Urgency) -> &'static str {
    match urgency {
        Urgency::Unknown => "not stated",
        Urgency::Low => "low",
        Urgency::Medium => "medium",
        Urgency::High => "high",
    }
}

/// Where the meeting stands, as a rep reads it.
pub fn meeting_text(status: &MeetingStatus) -> String {
    match status {
        MeetingStatus::NotOffered => "none offered yet".to_string(),
        MeetingStatus::Offered => "offered, not booked".to_string(),
        MeetingStatus::Booked { starts_at } => {
            format!("booked for {}", starts_at.format("%Y-%m-%d %H:%M UTC"))
        }
        MeetingStatus::Declined => "declined".to_string(),
    }
}

/// The six parts as plain text.
/// How sure the classifier is of the reply class, in percent, when its evidence says so.
pub fn reply_class_confidence(c: &Classification) -> Option<u8> {
    let class = c.reply_class?;
    let label = format!("reply_class:{class}");
    c.evidence
        .iter()
        .find(|e| e.supports == label)
        .map(|e| e.confidence)
}

pub fn package_text(p: &HandoffPackage) -> String {
    let c = &p.classification;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "1. Trigger: {}{}",
        prose(c.trigger.as_str()),
        c.reply_class
            .map(|r| match reply_class_confidence(c) {
                Some(sure) => format!(" (reply: {}, {sure} % sure)", prose(r.as_str())),
                None => format!(" (reply: {})", prose(r.as_str())),
            })
            .unwrap_or_default()
    );
    let b = &c.buyer;
    let _ = writeln!(
        s,
        "2. Buyer: {} <{}>{}{} · via {} / {}",
        b.name.as_deref().unwrap_or("(no name)"),
        b.email,
        b.role
            .as_deref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default(),
        b.company
            .as_deref()
            .map(|r| format!(" at {r}"))
            .unwrap_or_default(),
        b.source,
        b.channel.as_str()
    );
    if !b.problem_statement.is_empty() {
        let _ = writeln!(s, "   Problem: {}", b.problem_statement);
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
                1 => "1 qualification answer".to_string(),
                n => format!("{n} qualification answers"),
            };
            let _ = writeln!(s, "   Urgency: {urgency}; meeting: {meeting}; {answers}");
        }
        MotionFields::Outbound {
            account_reason,
            outreach_history,
            ..
        } => {
            if !account_reason.is_empty() {
                let _ = writeln!(s, "   Account: {account_reason}");
            }
            let _ = writeln!(s, "   Outreach so far: {} touches", outreach_history.len());
        }
    }
    let _ = writeln!(s, "3. Qualification: {}", prose(c.qualification.as_str()));
    if let Some(why) = &c.needs_confirmation {
        let _ = writeln!(s, "   Needs confirmation: {why}");
    }
    let _ = writeln!(
        s,
        "4. Next step: {} — {}",
        prose(c.next_step.action.as_str()),
        c.next_step.detail
    );
    match (&p.owner, &p.sla) {
        (Some(o), Some(sla)) => {
            let _ = writeln!(
                s,
                "5. Owner: {} · SLA {} business min ({}) → due {}",
                o.display,
                sla.business_minutes,
                sla.policy,
                sla.deadline.format("%Y-%m-%d %H:%M UTC")
            );
        }
        _ => {
            let _ = writeln!(s, "5. Owner: none (not escalated)");
        }
    }
    let flags: Vec<String> = c.risk_flags.iter().map(|f| prose(f.as_str())).collect();
    let _ = writeln!(
        s,
        "6. Risk flags: {}{}",
        if flags.is_empty() {
            "none".to_string()
        } else {
            flags.join(", ")
        },
        c.human_decision
            .map(|l| format!(" · human-only decision: {}", prose(l.as_str())))
            .unwrap_or_default()
    );
    s
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The six parts as simple HTML (a CRM note, an email part): a heading and one paragraph per
/// part, every value escaped, line breaks kept.
pub fn package_html(p: &HandoffPackage) -> String {
    let mut s = String::new();
    let _ = write!(s, "<p><strong>{}</strong></p>", escape_html(&title(p)));
    for line in package_text(p).lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
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
                escape_html(&step.layer),
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
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; "
        );
        assert_eq!(escape_html("line\nnext"), "line\nnext");
    }
}
