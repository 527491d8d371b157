//! The what-if result in the console (`POST /rules/what-if`): the replay of the period's
//! handoffs under the rules in force and under the edited rules from the form, shown with the
//! what-if report's own body ([`crate::simulate::period_body`]) under the console's navigation.

use super::{when, Section};
use crate::simulate::period_body;
use handoff_domain::render::words::count;
use handoff_domain::simulate::Simulation;
use maud::html;

/// The result page of a what-if run.
pub fn page(sim: &Simulation) -> String {
    let subtitle = format!(
        "{} created from {} to {}, routed again under the rules in force and under the edited rules; nothing was written",
        count(sim.replayed, "handoff"),
        when(sim.period.from),
        when(sim.period.to)
    );
    let body = html! {
        p { a href="/rules#what-if" { "Back to the rules" } }
        (period_body(sim))
    };
    super::page("What-if", &subtitle, Section::Rules, body)
}
