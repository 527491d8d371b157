//! The rules in force (`/rules`): the routing rules in order with their conditions and
//! targets, the teams, the SLA minutes and the failover chain, the rules' warnings, the TOML
//! itself, and the what-if form that replays the recorded handoffs through edited rules.

use super::{form_token_field, Section};
use handoff_domain::config::Rules;
use handoff_domain::routing::condition::rule_condition;
use maud::html;

/// The form's default period, in days.
pub const WHAT_IF_DAYS: u32 = 7;
/// The longest period the form replays.
pub const MAX_WHAT_IF_DAYS: u32 = 90;

/// Where the rules come from and what the lint says about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSource {
    /// The file name, or a phrase for the embedded example.
    pub origin: String,
    /// What the what-if form holds: the TOML in force, or the edited rules sent back with an
    /// error.
    pub text: String,
    /// The what-if form's period, in days.
    pub days: u32,
    /// Why the edited rules could not be replayed (shown above the form).
    pub error: Option<String>,
    /// The lint's findings, one sentence each.
    pub warnings: Vec<String>,
}

/// The rules page.
pub fn page(rules: &Rules, source: &RulesSource, form_token: &str) -> String {
    let subtitle = format!(
        "{}: {} routing rules, {} teams, {} reps · from {}",
        rules.org.name,
        rules.routing.len(),
        rules.teams.len(),
        rules.reps.len(),
        source.origin
    );
    let sla = &rules.sla;
    let body = html! {
        h2 { "Routing rules (the first that matches wins)" }
        table #routing-rules {
            thead { tr { th.num { "#" } th { "Rule" } th { "When" } th { "Sends to" } } }
            tbody { @for (i, r) in rules.routing.iter().enumerate() {
                tr {
                    td.num { (i + 1) }
                    td { (r.name) }
                    td { (rule_condition(r).describe()) }
                    td { (r.target().map(|t| rules.target_text(t)).unwrap_or_default()) }
                }
            } }
        }
        p.muted { "Then, inside the rule's reps: existing owner, account owner, human-only lane, territory, segment, product line, round robin; owner and SLA; failover." }
        @if !source.warnings.is_empty() {
            h3 { "Warnings" }
            ul { @for w in &source.warnings { li.bad { (w) } } }
        }
        h2 { "Teams" }
        table #teams {
            thead { tr { th { "Team" } th { "Role" } th { "Territory" } th { "Lead" } th { "Reps" } } }
            tbody { @for t in &rules.teams {
                tr {
                    td { (t.name) }
                    td { (t.role) }
                    td { (t.territory.as_deref().unwrap_or("any")) }
                    td { (t.lead.as_ref().and_then(|l| rules.rep(l)).map(|r| r.name.as_str()).unwrap_or("none")) }
                    td { (rules.reps.iter().filter(|r| r.team == t.id).map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")) }
                }
            } }
        }
        h2 { "SLA and failover" }
        p { "Business minutes: inbound " (sla.inbound.hot) " when hot, " (sla.inbound.standard) " otherwise; outbound "
            (sla.outbound.hot) " when hot, " (sla.outbound.standard) " otherwise; human-only decisions "
            (sla.human_decision_minutes) "; after a reroute " (sla.reroute_minutes) "." }
        p { "Failover: up to " (rules.failover.max_reps) " more reps, then the team lead, then the shared queue “"
            (rules.failover.shared_queue) "”." }
        h2 #what-if { "What if the rules changed?" }
        p { "Edit the rules below and replay the handoffs of the last days through them. Nothing is written: the page shows who would have got what." }
        form method="post" action="/rules/what-if" {
            (form_token_field(form_token))
            @if let Some(error) = &source.error { p.bad role="alert" { (error) } }
            p { label { "Replay the last " input type="number" name="days" min="1" max=(MAX_WHAT_IF_DAYS) value=(source.days); " days" } }
            p { textarea name="rules" rows="24" cols="100" spellcheck="false" aria-label="Rules (TOML)" { (source.text) } }
            button type="submit" { "Run the what-if" }
        }
    };
    super::page("Rules", &subtitle, Section::Rules, body)
}
