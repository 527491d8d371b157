//! The weekly audit as a page ([`audit_page`]), rendered from the same [`AuditReport`] that
//! `handoff audit --json` writes: the six metrics inbound | outbound | all (and the same for the
//! period before, the trend), time to first human action as an inline-SVG histogram with its
//! bucket counts, the breakdowns per rep, routing rule, source and trigger, the re-qualification
//! rate per reply class, and the messy cases, each linking to its handoff when a link base is
//! given.
//!
//! Every figure cell carries `data-figure="<path>"`, the figure's path in the report's JSON
//! (`inbound.acceptance_rate`, `per_rep.0.received`, …), written with [`figure_text`]: the test
//! walks the JSON and finds each figure in the page. The top-level rates of the JSON
//! (`acceptance_rate`, …) are the `overall` ones under their original names and are shown once,
//! as `overall.*`; a bucket's bounds are shown as its label.

use crate::layout::{histogram, page, Bin};
use handoff_domain::audit::{AuditReport, ContractPart, MissionFigures, SliceRow};
use handoff_domain::render::{escape::plain_line, prose};
use maud::{html, Markup};

/// Where the page links a handoff to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLinks {
    /// `<base>/handoffs/<id>` for each sampled handoff (`""` gives `/handoffs/<id>`, the local
    /// console); `None` prints the ids without links.
    pub handoff_base: Option<String>,
}

impl AuditLinks {
    fn handoff(&self, id: &str) -> Option<String> {
        self.handoff_base
            .as_deref()
            .map(|base| format!("{}/handoffs/{id}", base.trim_end_matches('/')))
    }
}

/// What a cell shows when there was nothing to compute a figure on.
pub const NO_DATA: &str = "—";

/// How a figure reads, by its JSON key: a rate as a percentage ("66.7 %"), minutes as minutes or
/// hours ("12.0 min", "1.5 h"), anything else as a whole number; [`NO_DATA`] for `None`.
pub fn figure_text(key: &str, value: Option<f64>) -> String {
    let Some(v) = value else {
        return NO_DATA.to_string();
    };
    let minutes =
        matches!(key, "mean" | "p50" | "p75" | "p90" | "p95" | "max") || key.contains("minutes");
    if key == "rate" || key.ends_with("_rate") || key == "crm_field_completeness" {
        format!("{:.1} %", v * 100.0)
    } else if minutes && v.abs() >= 60.0 {
        format!("{:.1} h", v / 60.0)
    } else if minutes {
        format!("{v:.1} min")
    } else {
        format!("{v:.0}")
    }
}

/// A figure cell: its text by [`figure_text`] and its JSON path.
fn cell(path: &str, value: Option<f64>) -> Markup {
    let key = path.rsplit('.').next().unwrap_or(path);
    html! { td.num data-figure=(path) { (figure_text(key, value)) } }
}

fn count(n: usize) -> Option<f64> {
    Some(n as f64)
}

/// The mission figures' rows: label, JSON key (under the figures' path) and value.
type FigureRow = (
    &'static str,
    &'static str,
    fn(&MissionFigures) -> Option<f64>,
);

const FIGURE_ROWS: &[FigureRow] = &[
    ("Handoffs", "handoffs", |f| count(f.handoffs)),
    ("Joined an open handoff", "attached", |f| count(f.attached)),
    ("Reached an owner", "owned", |f| count(f.owned)),
    ("Closed by the automation", "closed_without_handoff", |f| {
        count(f.closed_without_handoff)
    }),
    ("Accepted", "accepted", |f| count(f.accepted)),
    ("Acceptance rate", "acceptance_rate", |f| f.acceptance_rate),
    ("Wrong-owner rate", "wrong_owner_rate", |f| {
        f.wrong_owner_rate
    }),
    ("Re-qualification rate", "requalification_rate", |f| {
        f.requalification_rate
    }),
    ("SLA miss rate", "sla_miss_rate", |f| f.sla_miss_rate),
    ("No-follow-up rate", "no_follow_up_rate", |f| {
        f.no_follow_up_rate
    }),
    ("CRM packages written", "crm_written", |f| {
        count(f.crm_written)
    }),
    ("CRM field completeness", "crm_field_completeness", |f| {
        f.crm_field_completeness
    }),
    ("Meetings", "meetings", |f| count(f.meetings)),
    ("No-shows", "no_shows", |f| count(f.no_shows)),
    ("No-show rate", "no_show_rate", |f| f.no_show_rate),
];

/// The distribution's rows (under `time_to_first_human_action`).
const DISTRIBUTION_ROWS: &[FigureRow] = &[
    ("With a first action", "count", |f| {
        count(f.time_to_first_human_action.count)
    }),
    ("Median", "p50", |f| f.time_to_first_human_action.p50),
    ("75th percentile", "p75", |f| {
        f.time_to_first_human_action.p75
    }),
    ("90th percentile", "p90", |f| {
        f.time_to_first_human_action.p90
    }),
    ("95th percentile", "p95", |f| {
        f.time_to_first_human_action.p95
    }),
    ("Mean", "mean", |f| f.time_to_first_human_action.mean),
    ("Longest", "max", |f| f.time_to_first_human_action.max),
];

/// The columns of the side-by-side tables: heading, JSON path, figures.
fn columns(report: &AuditReport) -> Vec<(String, String, &MissionFigures)> {
    let mut v = vec![
        (
            "Inbound".to_string(),
            "inbound".to_string(),
            &report.inbound,
        ),
        (
            "Outbound".to_string(),
            "outbound".to_string(),
            &report.outbound,
        ),
        ("All".to_string(), "overall".to_string(), &report.overall),
    ];
    if let Some(p) = &report.previous_period {
        for (name, path, figures) in [
            ("Inbound", "inbound", &p.inbound),
            ("Outbound", "outbound", &p.outbound),
            ("All", "overall", &p.overall),
        ] {
            v.push((
                format!("{name}, period before"),
                format!("previous_period.{path}"),
                figures,
            ));
        }
    }
    v
}

fn side_by_side(
    caption: &str,
    cols: &[(String, String, &MissionFigures)],
    rows: &[FigureRow],
    under: &str,
) -> Markup {
    html! {
        table {
            caption.muted { (caption) }
            thead { tr { th { "Figure" } @for (heading, _, _) in cols { th.num { (heading) } } } }
            tbody {
                @for (label, key, value) in rows {
                    tr {
                        th { (label) }
                        @for (_, path, f) in cols { (cell(&format!("{path}{under}.{key}"), value(f))) }
                    }
                }
            }
        }
    }
}

fn missing_parts_rows(cols: &[(String, String, &MissionFigures)]) -> Markup {
    html! {
        table {
            caption.muted { "Written CRM packages missing each part of the contract" }
            thead { tr { th { "Part" } @for (heading, _, _) in cols { th.num { (heading) } } } }
            tbody {
                @for part in ContractPart::ALL {
                    tr {
                        th { (part.label()) }
                        @for (_, path, f) in cols {
                            (cell(&format!("{path}.crm_missing_parts.{}", part.as_str()),
                                f.crm_missing_parts.get(&part).copied().and_then(count)))
                        }
                    }
                }
            }
        }
    }
}

fn first_action(report: &AuditReport, cols: &[(String, String, &MissionFigures)]) -> Markup {
    let bins = |f: &MissionFigures| -> Vec<Bin> {
        f.time_to_first_human_action
            .buckets
            .iter()
            .map(|b| Bin {
                label: b.label.clone(),
                count: b.count,
            })
            .collect()
    };
    let labels: Vec<&str> = report
        .overall
        .time_to_first_human_action
        .buckets
        .iter()
        .map(|b| b.label.as_str())
        .collect();
    html! {
        h2 #first-action { "Time to first human action" }
        p.muted { "Minutes from the first assignment to the first thing a rep did (accept, wrong owner, re-qualify). Handoffs nobody acted on are the no-follow-up rate." }
        div.side-by-side {
            (histogram("Inbound", &bins(&report.inbound)))
            (histogram("Outbound", &bins(&report.outbound)))
        }
        (side_by_side("Distribution", cols, DISTRIBUTION_ROWS, ".time_to_first_human_action"))
        table {
            caption.muted { "Handoffs per bucket" }
            thead { tr { th { "First action" } @for (heading, _, _) in cols { th.num { (heading) } } } }
            tbody {
                @for (i, label) in labels.iter().enumerate() {
                    tr {
                        th { (label) }
                        @for (_, path, f) in cols {
                            (cell(&format!("{path}.time_to_first_human_action.buckets.{i}.count"),
                                f.time_to_first_human_action.buckets.get(i).and_then(|b| count(b.count))))
                        }
                    }
                }
            }
        }
    }
}

fn per_rep(report: &AuditReport) -> Markup {
    html! {
        h2 #reps { "Per rep" }
        @if report.per_rep.is_empty() {
            p.muted { "No rep received a handoff in this period." }
        } @else {
            table {
                thead { tr {
                    th { "Rep" } th.num { "Received" } th.num { "Busiest day" } th.num { "Daily cap" }
                    th.num { "Days at cap" } th.num { "Accepted" } th.num { "Acceptance" }
                    th.num { "Median first action" } th.num { "SLA misses" } th.num { "Said wrong owner" }
                } }
                tbody {
                    @for (i, r) in report.per_rep.iter().enumerate() {
                        @let p = |key: &str| format!("per_rep.{i}.{key}");
                        tr {
                            th { (plain_line(&r.name)) }
                            (cell(&p("received"), count(r.received)))
                            (cell(&p("busiest_day"), count(r.busiest_day)))
                            (cell(&p("daily_cap"), r.daily_cap.map(f64::from)))
                            (cell(&p("days_at_cap"), count(r.days_at_cap)))
                            (cell(&p("accepted"), count(r.accepted)))
                            (cell(&p("acceptance_rate"), r.acceptance_rate))
                            (cell(&p("median_minutes_to_first_action"), r.median_minutes_to_first_action))
                            (cell(&p("sla_misses"), count(r.sla_misses)))
                            (cell(&p("wrong_owner"), count(r.wrong_owner)))
                        }
                    }
                }
            }
        }
    }
}

fn per_rule(report: &AuditReport) -> Markup {
    html! {
        h2 #rules { "Per routing rule" }
        p.muted { "The rule that first routed each handoff that reached an owner; a rule with no handoffs matched nothing this period." }
        table {
            thead { tr {
                th { "Rule" } th.num { "Handoffs" } th.num { "Wrong owner" } th.num { "Wrong-owner rate" }
                th.num { "Re-qualified" } th.num { "Re-qualification rate" }
            } }
            tbody {
                @for (i, r) in report.per_rule.iter().enumerate() {
                    @let p = |key: &str| format!("per_rule.{i}.{key}");
                    tr {
                        th { (plain_line(&r.rule)) }
                        (cell(&p("handoffs"), count(r.handoffs)))
                        (cell(&p("wrong_owner"), count(r.wrong_owner)))
                        (cell(&p("wrong_owner_rate"), r.wrong_owner_rate))
                        (cell(&p("requalified"), count(r.requalified)))
                        (cell(&p("requalification_rate"), r.requalification_rate))
                    }
                }
            }
        }
    }
}

/// A slice row's columns: heading, JSON key, value.
type SliceColumn = (&'static str, &'static str, fn(&SliceRow) -> Option<f64>);

const SLICE_OUTCOMES: &[SliceColumn] = &[
    ("Handoffs", "handoffs", |s| count(s.handoffs)),
    ("Joined an open handoff", "attached", |s| count(s.attached)),
    ("Reached an owner", "owned", |s| count(s.owned)),
    ("Closed by the automation", "closed_without_handoff", |s| {
        count(s.closed_without_handoff)
    }),
    ("Accepted", "accepted", |s| count(s.accepted)),
    ("Acceptance rate", "acceptance_rate", |s| s.acceptance_rate),
    (
        "Median first action",
        "median_minutes_to_first_human_action",
        |s| s.median_minutes_to_first_human_action,
    ),
    ("Wrong-owner rate", "wrong_owner_rate", |s| {
        s.wrong_owner_rate
    }),
    ("Re-qualification rate", "requalification_rate", |s| {
        s.requalification_rate
    }),
    ("SLA miss rate", "sla_miss_rate", |s| s.sla_miss_rate),
    ("No-follow-up rate", "no_follow_up_rate", |s| {
        s.no_follow_up_rate
    }),
];

const SLICE_CRM: &[SliceColumn] = &[
    ("CRM packages written", "crm_written", |s| {
        count(s.crm_written)
    }),
    ("CRM field completeness", "crm_field_completeness", |s| {
        s.crm_field_completeness
    }),
    ("Meetings", "meetings", |s| count(s.meetings)),
    ("No-shows", "no_shows", |s| count(s.no_shows)),
    ("No-show rate", "no_show_rate", |s| s.no_show_rate),
];

/// One slice table pair (outcomes, then CRM and meetings) for `per_source` or `per_trigger`.
fn slices(
    title: &str,
    anchor: &str,
    field: &str,
    rows: &[SliceRow],
    label: fn(&str) -> String,
) -> Markup {
    html! {
        h2 id=(anchor) { "Per " (title.to_lowercase()) }
        @if rows.is_empty() {
            p.muted { "No handoffs in this period." }
        } @else {
            table {
                thead { tr { th { (title) } @for (name, _, _) in SLICE_OUTCOMES { th.num { (name) } } } }
                tbody {
                    @for (i, s) in rows.iter().enumerate() {
                        tr {
                            th { (label(&s.key)) }
                            @for (_, key, value) in SLICE_OUTCOMES {
                                (cell(&format!("{field}.{i}.{key}"), value(s)))
                            }
                        }
                    }
                }
            }
            table {
                caption.muted { "CRM packages, the contract parts they lacked, and meetings" }
                thead { tr {
                    th { (title) }
                    @for (name, _, _) in SLICE_CRM { th.num { (name) } }
                    @for part in ContractPart::ALL { th.num { "No " (part.label()) } }
                } }
                tbody {
                    @for (i, s) in rows.iter().enumerate() {
                        tr {
                            th { (label(&s.key)) }
                            @for (_, key, value) in SLICE_CRM {
                                (cell(&format!("{field}.{i}.{key}"), value(s)))
                            }
                            @for part in ContractPart::ALL {
                                (cell(&format!("{field}.{i}.crm_missing_parts.{}", part.as_str()),
                                    s.crm_missing_parts.get(&part).copied().and_then(count)))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn reply_classes(report: &AuditReport) -> Markup {
    html! {
        h2 #reply-classes { "Re-qualification per outbound reply class" }
        @if report.requalification_by_reply_class.is_empty() {
            p.muted { "No outbound handoff reached an owner in this period." }
        } @else {
            table {
                thead { tr { th { "Reply class" } th.num { "Owned" } th.num { "Re-qualified" } th.num { "Rate" } } }
                tbody {
                    @for (class, row) in &report.requalification_by_reply_class {
                        @let p = |key: &str| format!("requalification_by_reply_class.{}.{key}", class.as_str());
                        tr {
                            th { (prose(class.as_str())) }
                            (cell(&p("owned"), count(row.owned)))
                            (cell(&p("requalified"), count(row.requalified)))
                            (cell(&p("rate"), Some(row.rate)))
                        }
                    }
                }
            }
        }
    }
}

fn messy_cases(report: &AuditReport, links: &AuditLinks) -> Markup {
    html! {
        h2 #messy-cases { "Cases to read by hand" }
        @if report.messy_cases.is_empty() {
            p.muted { "None this period." }
        } @else {
            @for kind in handoff_domain::audit::MessyKind::ALL {
                @let cases: Vec<_> = report.messy_cases.iter().filter(|c| c.kind == kind).collect();
                @if !cases.is_empty() {
                    h3 { (kind.label()) }
                    ul {
                        @for c in cases {
                            @let id = c.handoff_id.to_string();
                            li {
                                @match links.handoff(&id) {
                                    Some(href) => a href=(href) { code { (id) } },
                                    None => code { (id) },
                                }
                                " — " (c.why)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The top-level JSON fields that repeat `overall.*` under their original names.
const REPEATS_OVERALL: &[&str] = &[
    "handoffs",
    "attached",
    "owned",
    "closed_without_handoff",
    "acceptance_rate",
    "median_minutes_to_first_human_action",
    "p90_minutes_to_first_human_action",
    "wrong_owner_rate",
    "requalification_rate",
    "sla_miss_rate",
    "crm_field_completeness",
    "no_show_rate",
    "no_follow_up_rate",
];

/// Every figure of a report's JSON that the page shows, as `(path, text)`: each number or
/// `null` with its dotted path, written with [`figure_text`] — except the top-level repeats of
/// `overall.*` and the buckets' bounds (shown as the bucket's label). The page has
/// `data-figure="<path>">text<` for each; tests check a page against its JSON with it.
pub fn figures_in_json(json: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(path: &str, key: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        use serde_json::Value;
        let child = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let top_repeat = path.is_empty() && REPEATS_OVERALL.contains(&k.as_str());
                    if !top_repeat && k != "from_minutes" && k != "to_minutes" {
                        walk(&child(k), k, v, out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&child(&i.to_string()), key, v, out);
                }
            }
            Value::Number(n) => out.push((path.to_string(), figure_text(key, n.as_f64()))),
            // No period before: no column, rather than a figure.
            Value::Null if path == "previous_period" => {}
            Value::Null => out.push((path.to_string(), figure_text(key, None))),
            Value::String(_) | Value::Bool(_) => {}
        }
    }
    let mut out = Vec::new();
    walk("", "", json, &mut out);
    out
}

/// The period as a person reads it.
fn period_text(report: &AuditReport) -> String {
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%-d %b %Y %H:%M").to_string();
    let before = match &report.previous_period {
        Some(_) => ", beside the period of the same length before it",
        None => "",
    };
    format!(
        "Handoffs created from {} to {} UTC{before}",
        day(report.from),
        day(report.to)
    )
}

/// The page's body (the console embeds it under its own navigation).
pub fn audit_body(report: &AuditReport, links: &AuditLinks) -> Markup {
    let cols = columns(report);
    html! {
        nav aria-label="Sections" {
            a href="#headline" { "Headline" } a href="#first-action" { "First action" }
            a href="#reps" { "Reps" } a href="#rules" { "Rules" } a href="#sources" { "Sources" }
            a href="#triggers" { "Triggers" } a href="#messy-cases" { "Cases to read" }
        }
        h2 #headline { "The six metrics, inbound and outbound" }
        (side_by_side("Figures of the period (and of the period before, for the trend)", &cols, FIGURE_ROWS, ""))
        (missing_parts_rows(&cols))
        (first_action(report, &cols))
        (per_rep(report))
        (per_rule(report))
        (slices("Source", "sources", "per_source", &report.per_source, plain_line))
        (slices("Trigger", "triggers", "per_trigger", &report.per_trigger, prose))
        (reply_classes(report))
        (messy_cases(report, links))
    }
}

/// The whole audit page: one self-contained HTML document.
pub fn audit_page(report: &AuditReport, links: &AuditLinks) -> String {
    page(
        "Handoff audit",
        &period_text(report),
        audit_body(report, links),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_read_them() {
        for (key, value, text) in [
            ("acceptance_rate", Some(2.0 / 3.0), "66.7 %"),
            ("rate", Some(1.0), "100.0 %"),
            ("crm_field_completeness", Some(0.5), "50.0 %"),
            ("p50", Some(12.0), "12.0 min"),
            ("median_minutes_to_first_action", Some(90.0), "1.5 h"),
            ("max", Some(1440.0), "24.0 h"),
            ("received", Some(3.0), "3"),
            ("no_show_rate", None, NO_DATA),
        ] {
            assert_eq!(figure_text(key, value), text, "{key}");
        }
    }

    #[test]
    fn an_empty_period_still_renders_every_section() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let report = AuditReport::compute(t - chrono::Duration::days(7), t, &[]);
        let html = audit_page(&report, &AuditLinks::default());
        for heading in [
            "The six metrics, inbound and outbound",
            "Time to first human action",
            "Per rep",
            "Per routing rule",
            "Per source",
            "Per trigger",
            "Cases to read by hand",
        ] {
            assert!(html.contains(heading), "{heading}");
        }
        assert!(html.contains("Handoffs created from 16 Nov 2026 00:00 to 23 Nov 2026 00:00 UTC"));
        assert!(!html.contains("<script"), "no script");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external URL"
        );
    }
}
