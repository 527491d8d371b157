//! The what-if page (`handoff simulate --html`): a period's replay under the current and the
//! new rules (summary figures, owner changes from → to, load per rep against caps as inline-SVG
//! bars, moved SLA deadlines, rule use and rules never matched, queue fall-throughs, drift), or
//! one handoff's routing traces side by side.
//!
//! Every summary figure carries `data-figure="<JSON field>"` so tests (and anyone scripting the
//! page) can check the page against the JSON of the same run. Buyer text (handoff titles, trace
//! outcomes quoting form values) goes through [`escape::plain_line`] and maud's escaping.

use crate::layout::page;
use handoff_domain::package::{Sla, TraceStep};
use handoff_domain::render::escape;
use handoff_domain::render::layer_phrase;
use handoff_domain::render::words::count;
use handoff_domain::simulate::{OwnerRef, RepLoad, Replay, ReplayedHandoff, Simulation};
use maud::{html, Markup};

/// Which rules each side ran, as the page names them ("examples/handoff.toml", "new.toml").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFiles {
    pub current: String,
    pub proposed: String,
}

/// The page for a period.
pub fn period_page(sim: &Simulation, files: &RuleFiles) -> String {
    let subtitle = format!(
        "{} created {} – {}, routed again under the current rules ({}) and under {}.",
        count(sim.replayed, "handoff"),
        when(sim.period.from),
        when(sim.period.to),
        files.current,
        files.proposed
    );
    page(
        &format!("What if: {}", files.proposed),
        &subtitle,
        period_body(sim),
    )
}

/// The body of the period page (for pages that embed the what-if, such as the console).
pub fn period_body(sim: &Simulation) -> Markup {
    html! {
        (summary(sim))
        p.muted { (sim.method) }
        (owner_changes(sim))
        (loads(&sim.loads))
        (sla_moves(sim))
        (rules(sim))
        (fall_throughs(sim))
        (drift(sim))
    }
}

/// The page for one handoff: the two traces side by side, and what the record shows.
pub fn handoff_page(h: &ReplayedHandoff, files: &RuleFiles) -> String {
    let subtitle = format!(
        "{} — first assigned {}; the current rules ({}) next to {}.",
        escape::plain_line(&h.title),
        when(h.routed_at),
        files.current,
        files.proposed
    );
    page(
        &format!("What if: handoff {}", h.id),
        &subtitle,
        handoff_body(h, files),
    )
}

/// The body of the one-handoff page.
pub fn handoff_body(h: &ReplayedHandoff, files: &RuleFiles) -> Markup {
    let verdict = if h.owner_changes() {
        format!(
            "The new rules give it to {} instead of {}.",
            h.after.owner.display, h.before.owner.display
        )
    } else {
        format!("Both give it to {}.", h.after.owner.display)
    };
    html! {
        p data-figure="owner_changes" { (verdict) }
        div.side-by-side {
            section { h2 { "Current rules" } p.muted { (files.current) } (side(&h.before)) }
            section { h2 { "New rules" } p.muted { (files.proposed) } (side(&h.after)) }
        }
        h2 { "As recorded" }
        p { "First owner: " (h.recorded.owner.display) }
        (trace(&h.recorded.trace))
    }
}

fn summary(sim: &Simulation) -> Markup {
    let rows: [(&str, &str, String); 8] = [
        ("replayed", "Handoffs replayed", sim.replayed.to_string()),
        (
            "owner_changes",
            "Would change owner",
            sim.owner_changes.to_string(),
        ),
        (
            "sla_moves",
            "SLA deadlines that move",
            sim.sla_moves.len().to_string(),
        ),
        (
            "never_matched",
            "New rules that never matched",
            sim.never_matched.len().to_string(),
        ),
        (
            "in_a_queue",
            "Left in a queue (current → new)",
            format!("{} → {}", sim.in_a_queue.before, sim.in_a_queue.after),
        ),
        (
            "no_rule_matched",
            "No rule matched (current → new)",
            format!(
                "{} → {}",
                sim.no_rule_matched.before, sim.no_rule_matched.after
            ),
        ),
        (
            "drift",
            "Current rules differ from the record",
            sim.drift.len().to_string(),
        ),
        (
            "skipped",
            "Not replayed (closed, attached or not yet routed)",
            (sim.skipped.closed_without_handoff
                + sim.skipped.attached
                + sim.skipped.not_yet_routed)
                .to_string(),
        ),
    ];
    html! {
        h2 { "Summary" }
        table {
            @for (key, label, value) in &rows {
                tr { th { (label) } td.num data-figure=(key) { (value) } }
            }
        }
    }
}

fn owner_changes(sim: &Simulation) -> Markup {
    html! {
        h2 { "Owner changes" }
        @if sim.moves.is_empty() {
            p.muted { "Every handoff keeps its owner." }
        } @else {
            table {
                tr { th { "From (current rules)" } th { "To (new rules)" } th.num { "Handoffs" } }
                @for m in &sim.moves {
                    tr data-move="" {
                        td { (m.from.display) } td { (m.to.display) } td.num { (m.handoffs) }
                    }
                }
            }
        }
    }
}

fn cap_text(cap: Option<u32>) -> String {
    cap.map_or_else(|| "not active".to_string(), |c| c.to_string())
}

fn loads(loads: &[RepLoad]) -> Markup {
    html! {
        h2 { "Load per rep" }
        p.muted { "Handoffs in the period; the busiest local day against the daily cap (grey: current rules, blue: new rules, red line: the new cap)." }
        (load_chart(loads))
        table {
            tr {
                th { "Rep" } th.num { "Handoffs now" } th.num { "Handoffs new" }
                th.num { "Busiest day now" } th.num { "Busiest day new" }
                th.num { "Cap now" } th.num { "Cap new" } th.num { "Days at cap now" } th.num { "Days at cap new" }
            }
            @for l in loads {
                tr data-rep=(l.rep) {
                    td { (l.name) }
                    td.num { (l.total_before) } td.num { (l.total_after) }
                    td.num { (l.busiest_day_before) } td.num { (l.busiest_day_after) }
                    td.num { (cap_text(l.cap_before)) } td.num { (cap_text(l.cap_after)) }
                    td.num { (l.days_at_cap_before) } td.num { (l.days_at_cap_after) }
                }
            }
        }
    }
}

/// Two bars per rep (busiest day under the current and the new rules) on one scale with a
/// mark at the new cap.
fn load_chart(loads: &[RepLoad]) -> Markup {
    const ROW: f64 = 34.0;
    const LABEL: f64 = 180.0;
    const WIDTH: f64 = 460.0;
    let scale = loads
        .iter()
        .flat_map(|l| {
            [
                l.busiest_day_before,
                l.busiest_day_after,
                l.cap_after.unwrap_or(0),
            ]
        })
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = |n: u32| LABEL + f64::from(n) / scale * WIDTH;
    let height = ROW * loads.len() as f64 + 6.0;
    let total = LABEL + WIDTH + 120.0;
    html! {
        svg role="img" aria-label="Busiest day per rep against the daily cap" width=(total) height=(height)
            viewBox=(format!("0 0 {total} {height}")) {
            @for (i, l) in loads.iter().enumerate() {
                @let y = i as f64 * ROW + 3.0;
                text x="0" y=(y + 18.0) { (l.name) }
                rect x=(LABEL) y=(y) width=(format!("{:.1}", x(l.busiest_day_before) - LABEL)) height="12" fill="#9aa3b2" {}
                rect x=(LABEL) y=(y + 14.0) width=(format!("{:.1}", x(l.busiest_day_after) - LABEL)) height="12" fill="#2f6fdf" {}
                @if let Some(cap) = l.cap_after {
                    line x1=(format!("{:.1}", x(cap))) x2=(format!("{:.1}", x(cap))) y1=(y - 1.0) y2=(y + 27.0) stroke="#c2412d" stroke-width="2" {}
                }
                text x=(LABEL + WIDTH + 8.0) y=(y + 18.0) {
                    (l.busiest_day_before) " → " (l.busiest_day_after) " of " (cap_text(l.cap_after))
                }
            }
        }
    }
}

fn sla_moves(sim: &Simulation) -> Markup {
    html! {
        h2 { "SLA deadlines that move" }
        @if sim.sla_moves.is_empty() {
            p.muted { "No deadline moves." }
        } @else {
            table {
                tr { th { "Handoff" } th { "Current rules" } th { "New rules" } th.num { "Shift" } }
                @for m in &sim.sla_moves {
                    tr {
                        td { (m.id) }
                        td { (sla_text(&m.before)) }
                        td { (sla_text(&m.after)) }
                        td class=(if m.shift_minutes < 0 { "num good" } else { "num bad" }) { (shift_text(m.shift_minutes)) }
                    }
                }
            }
        }
    }
}

fn rules(sim: &Simulation) -> Markup {
    html! {
        h2 { "Rules" }
        @if sim.never_matched.is_empty() {
            p { "Every rule of the new file matched at least one handoff." }
        } @else {
            p { "New rules that never matched:" }
            ul { @for name in &sim.never_matched { li data-never-matched="" { (name) } } }
        }
        table {
            tr { th { "Rule" } th.num { "Matches now" } th.num { "Matches new" } th { "" } }
            @for r in &sim.rules {
                tr {
                    td { (r.name) } td.num { (r.before) } td.num { (r.after) }
                    td.muted { (match (r.in_current, r.in_new) {
                        (false, _) => "added",
                        (_, false) => "removed",
                        _ if r.after == 0 => "never matched",
                        _ => "",
                    }) }
                }
            }
        }
    }
}

fn fall_throughs(sim: &Simulation) -> Markup {
    let titles = |id| {
        sim.handoffs
            .iter()
            .find(|h| &h.id == id)
            .map(|h| escape::plain_line(&h.title))
            .unwrap_or_default()
    };
    html! {
        h2 { "Left in a queue under the new rules" }
        @if sim.fall_throughs.is_empty() {
            p.muted { "No handoff would be left in a queue." }
        } @else {
            table {
                tr { th { "Handoff" } th { "Buyer" } th { "Current rules" } th { "New rules" } }
                @for f in &sim.fall_throughs {
                    tr data-fall-through="" {
                        td { (f.id) } td { (titles(&f.id)) } td { (f.before.display) } td { (f.after.display) }
                    }
                }
            }
        }
    }
}

fn drift(sim: &Simulation) -> Markup {
    html! {
        h2 { "Drift from the record" }
        @if sim.drift.is_empty() {
            p.muted { "The replay under the current rules gives every handoff the owner its record shows." }
        } @else {
            p { "The replay under the current rules gives these handoffs another first owner than their record shows (rules changed since, or history the replay cannot see):" }
            table {
                tr { th { "Handoff" } th { "Recorded" } th { "Replayed" } }
                @for d in &sim.drift {
                    tr { td { (d.id) } td { (owner_text(&d.recorded)) } td { (owner_text(&d.replayed)) } }
                }
            }
        }
    }
}

fn side(r: &Replay) -> Markup {
    html! {
        table {
            tr { th { "Owner" } td { (r.owner.display) } }
            tr { th { "Rule" } td { (r.rule.as_deref().unwrap_or("no rule matched")) } }
            tr { th { "SLA" } td { (sla_text(&r.sla)) } }
        }
        (trace(&r.trace))
    }
}

fn trace(steps: &[TraceStep]) -> Markup {
    html! {
        table.trace {
            tr { th { "Layer" } th { "Decision" } }
            @for s in steps {
                tr { td { (layer_phrase(&s.layer)) } td { (escape::plain_line(&s.outcome)) } }
            }
        }
    }
}

fn owner_text(o: &OwnerRef) -> String {
    if o.display.is_empty() {
        "nobody recorded".to_string()
    } else {
        o.display.clone()
    }
}

fn sla_text(sla: &Sla) -> String {
    format!(
        "{} ({}, {})",
        when(sla.deadline),
        count(sla.business_minutes as usize, "business minute"),
        sla.policy
    )
}

fn shift_text(minutes: i64) -> String {
    let n = minutes.unsigned_abs() as usize;
    if minutes < 0 {
        format!("{} sooner", count(n, "minute"))
    } else {
        format!("{} later", count(n, "minute"))
    }
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a %d %b %Y %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use handoff_domain::ids::{HandoffId, RepId, TeamId};
    use handoff_domain::package::Owner;
    use handoff_domain::simulate::{BeforeAfter, OwnerMove, Period, Recorded, Skipped};

    fn owner(rep: Option<&str>, display: &str) -> Owner {
        Owner {
            rep: rep.map(|r| RepId::parse(r).unwrap()),
            team: TeamId::parse("emea-ae").unwrap(),
            display: display.into(),
            notify: "slack:@x".into(),
        }
    }

    fn replay(owner: Owner, minutes: u32) -> Replay {
        let at = chrono::Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
        Replay {
            owner,
            sla: Sla {
                business_minutes: minutes,
                deadline: at + chrono::Duration::minutes(i64::from(minutes)),
                policy: "inbound/hot".into(),
            },
            rule: Some("EMEA leads".into()),
            escalated: false,
            trace: vec![TraceStep {
                layer: "round_robin".into(),
                outcome: "form says <b>\u{7}hi</b>".into(),
            }],
        }
    }

    fn one() -> ReplayedHandoff {
        let at = chrono::Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
        ReplayedHandoff {
            id: HandoffId::parse(format!("h_{}", "a".repeat(32))).unwrap(),
            created_at: at,
            routed_at: at,
            title: "[inbound] demo request — <script>Dana\u{1b}[31m</script>".into(),
            recorded: Recorded {
                owner: OwnerRef::of(&owner(Some("lena"), "Lena")),
                sla: None,
                trace: Vec::new(),
            },
            before: replay(owner(Some("lena"), "Lena"), 30),
            after: replay(owner(None, "shared queue: sales-queue"), 60),
        }
    }

    fn files() -> RuleFiles {
        RuleFiles {
            current: "current.toml".into(),
            proposed: "new.toml".into(),
        }
    }

    #[test]
    fn buyer_text_is_stripped_of_controls_and_escaped() {
        let html = handoff_page(&one(), &files());
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(
            !html.contains('\u{1b}') && !html.contains('\u{7}'),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;Dana"), "{html}");
        assert!(html.contains("round robin"), "{html}");
        assert!(
            html.contains("The new rules give it to shared queue: sales-queue instead of Lena.")
        );
    }

    #[test]
    fn the_summary_figures_are_the_reports_numbers() {
        let h = one();
        let sim = Simulation {
            period: Period {
                from: h.created_at,
                to: h.created_at + chrono::Duration::days(7),
            },
            method: "how".into(),
            replayed: 1,
            skipped: Skipped {
                closed_without_handoff: 2,
                attached: 1,
                not_yet_routed: 0,
            },
            owner_changes: 1,
            moves: vec![OwnerMove {
                from: OwnerRef::of(&h.before.owner),
                to: OwnerRef::of(&h.after.owner),
                handoffs: 1,
            }],
            loads: Vec::new(),
            sla_moves: Vec::new(),
            rules: Vec::new(),
            no_rule_matched: BeforeAfter::default(),
            never_matched: vec!["a <rule>".into()],
            in_a_queue: BeforeAfter {
                before: 0,
                after: 1,
            },
            fall_throughs: Vec::new(),
            drift: Vec::new(),
            handoffs: vec![h],
        };
        let html = period_page(&sim, &files());
        for (key, shown) in [
            ("replayed", "1"),
            ("owner_changes", "1"),
            ("never_matched", "1"),
            ("in_a_queue", "0 → 1"),
            ("skipped", "3"),
        ] {
            let cell = format!("data-figure=\"{key}\">{shown}<");
            assert!(html.contains(&cell), "{cell}");
        }
        assert!(html.contains("a &lt;rule&gt;"));
        assert!(html.contains("<td>Lena</td><td>shared queue: sales-queue</td>"));
    }
}
