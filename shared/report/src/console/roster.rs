//! The roster (`/roster`): every rep by team, with what routing would make of them now
//! (available, off shift, away, out of office, at the daily cap), today's load against the cap
//! and their working hours, worded by the routing module's own availability report.

use super::{when, Section};
use chrono::{DateTime, Utc};
use handoff_domain::config::Rules;
use handoff_domain::render::words::count;
use handoff_domain::routing::{Availability, RepAvailability};
use maud::html;

/// The roster page: `report` is [`handoff_domain::routing::availability_report`] at `now`.
pub fn page(rules: &Rules, report: &[RepAvailability], now: DateTime<Utc>) -> String {
    let available = report
        .iter()
        .filter(|r| r.availability == Availability::Available)
        .count();
    let subtitle = format!(
        "{available} of {} can take a handoff now · {}",
        count(report.len(), "rep"),
        when(now)
    );
    let body = html! {
        @for team in &rules.teams {
            @let members: Vec<&RepAvailability> = report.iter().filter(|r| r.team == team.id).collect();
            @if !members.is_empty() {
                h2 { (team.name) }
                table.roster data-team=(team.id.as_str()) {
                    thead { tr {
                        th { "Rep" } th { "Now" } th.num { "Today" } th { "Load against cap" } th { "Working hours" }
                    } }
                    tbody { @for r in members {
                        tr data-rep=(r.rep.as_str()) {
                            td { (r.name)
                                @if r.leads.contains(&r.team) { span.muted { " (team lead)" } }
                                @if r.failover_only { span.muted { " (failover only)" } } }
                            td class=[(r.availability != Availability::Available).then_some("muted")] { (r.availability_text) }
                            td.num { (r.load) " of " (r.daily_cap) }
                            td { meter min="0" max=(r.daily_cap.max(1)) value=(r.load) title=(format!("{} of {}", r.load, r.daily_cap)) {} }
                            td { (r.shift_text) }
                        }
                    } }
                }
            }
        }
    };
    super::page("Roster", &subtitle, Section::Roster, body)
}
