//! The audit in the console (`/audit?days=N`): the audit report's own body
//! ([`crate::audit::audit_body`]: the six metrics inbound and outbound, the breakdowns, the trend
//! and the messy cases) under the console's navigation, with each sampled handoff linked to
//! its console page and a form to pick the period.

use super::{when, Section};
use crate::audit::{audit_body, AuditLinks};
use handoff_domain::audit::AuditReport;
use maud::html;

/// The audit page over `report`'s period (`days` long).
pub fn page(report: &AuditReport, days: u32) -> String {
    let subtitle = format!(
        "Handoffs created from {} to {}, beside the {days} days before",
        when(report.from),
        when(report.to)
    );
    let links = AuditLinks {
        handoff_base: Some(String::new()),
    };
    let body = html! {
        form method="get" action="/audit" {
            label { "Days " input type="number" name="days" min="1" max="366" value=(days); }
            " " button type="submit" { "Show" }
        }
        (audit_body(report, &links))
    };
    super::page("Audit", &subtitle, Section::Audit, body)
}
