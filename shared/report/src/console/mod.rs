//! The pages of the local console (`handoff serve` at `http://127.0.0.1:PORT/`): what the
//! operator looks at, rendered on the server from the store's records and the rules in force.
//! No page runs a script; links and forms are all it takes, so it works in any browser and in
//! tests that read the HTML.
//!
//! Each page is a pure function from data to one HTML document (the server gathers the data
//! and checks the console token before calling one). Buyer-written text goes through
//! [`buyer_text`] ([`handoff_domain::render::escape`]) and then maud's escaping.
//!
//! - [`list`]: the handoff list with its filters (state, owner, risk flag, period).
//! - [`handoff`]: one handoff: the six parts, the routing trace, the timeline, the CRM and
//!   notification records, and the claim buttons.
//! - [`roster`]: every rep's availability now and today's load against the daily cap.
//! - [`rules`]: the routing rules in force and the what-if form.
//! - [`what_if`]: the what-if result (the edited rules replayed over the period).
//! - [`audit`]: the audit report of a period, under the console's navigation.
//! - [`notice`]: short pages that say why nothing else is shown (no token, not found, refused).

pub mod audit;
pub mod handoff;
pub mod list;
pub mod notice;
pub mod roster;
pub mod rules;
pub mod what_if;

use chrono::{DateTime, Utc};
use handoff_domain::lifecycle::State;
use handoff_domain::render::{escape, prose};
use maud::{html, Markup};

/// The console's sections, in the order of the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Handoffs,
    Roster,
    Rules,
    Audit,
}

impl Section {
    const ALL: [Section; 4] = [
        Section::Handoffs,
        Section::Roster,
        Section::Rules,
        Section::Audit,
    ];

    fn path(self) -> &'static str {
        match self {
            Section::Handoffs => "/",
            Section::Roster => "/roster",
            Section::Rules => "/rules",
            Section::Audit => "/audit",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Section::Handoffs => "Handoffs",
            Section::Roster => "Roster",
            Section::Rules => "Rules",
            Section::Audit => "Audit",
        }
    }
}

/// Every state, in lifecycle order (for the state filter).
pub const STATES: [State; State::ALL.len()] = State::ALL;

/// A console page: the navigation bar (the current section marked), then `body`, in the shared
/// page shell.
pub fn page(title: &str, subtitle: &str, current: Section, body: Markup) -> String {
    crate::layout::page(
        title,
        subtitle,
        html! {
            nav aria-label="Console" {
                @for s in Section::ALL {
                    @if s == current {
                        a href=(s.path()) aria-current="page" { strong { (s.label()) } }
                    } @else {
                        a href=(s.path()) { (s.label()) }
                    }
                }
            }
            (body)
        },
    )
}

/// Text someone outside wrote (a buyer's name, their problem, a note quoting them) as one
/// line: control and invisible characters dropped, line breaks as spaces. maud escapes markup.
pub fn buyer_text(raw: &str) -> String {
    escape::plain_line(raw)
}

/// A state as a person reads it ("crm written", "requalification requested").
pub fn state_text(state: State) -> String {
    prose(state.as_str())
}

/// How long until `deadline` as a person reads it: "due in 25 min", "due in 2 h 5 min",
/// "overdue by 1 day 3 h".
pub fn countdown(deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (deadline - now).num_minutes();
    if minutes >= 0 {
        format!("due in {}", span(minutes))
    } else {
        format!("overdue by {}", span(-minutes))
    }
}

/// A number of minutes in the two largest units ("3 min", "2 h 5 min", "1 day 3 h").
fn span(minutes: i64) -> String {
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, h) if mins == 0 => format!("{h} h"),
        (0, h) => format!("{h} h {mins} min"),
        (d, h) => {
            let unit = if d == 1 { "day" } else { "days" };
            if h == 0 {
                format!("{d} {unit}")
            } else {
                format!("{d} {unit} {h} h")
            }
        }
    }
}

/// A time on the page (UTC, to the minute).
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%a %-d %b %H:%M UTC").to_string()
}

/// The hidden field every state-changing form carries (the server checks it: a page of
/// another site cannot know it, so it cannot post on the operator's behalf).
pub fn form_token_field(form_token: &str) -> Markup {
    html! { input type="hidden" name="form_token" value=(form_token); }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn countdowns_read_as_prose() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap();
        let cases = [
            (25, "due in 25 min"),
            (0, "due in 0 min"),
            (120, "due in 2 h"),
            (125, "due in 2 h 5 min"),
            (-65, "overdue by 1 h 5 min"),
            (-(1440 + 180), "overdue by 1 day 3 h"),
            (2 * 1440, "due in 2 days"),
        ];
        for (minutes, expected) in cases {
            let deadline = now + chrono::Duration::minutes(minutes);
            assert_eq!(countdown(deadline, now), expected, "{minutes} minutes");
        }
    }

    #[test]
    fn the_navigation_marks_the_current_section() {
        let html = page("Roster", "now", Section::Roster, html! { p { "x" } });
        assert!(
            html.contains(r#"<a href="/roster" aria-current="page"><strong>Roster</strong></a>"#)
        );
        assert!(html.contains(r#"<a href="/">Handoffs</a>"#));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn buyer_text_is_one_line_without_control_characters() {
        assert_eq!(buyer_text("Ann\n\u{1b}[2KEvil\u{202E}"), "Ann [2KEvil");
    }
}
