//! The audit page against the JSON of the same report: every figure of the JSON is in the page
//! (at its `data-figure` path, as `figure_text` writes it), the messy cases link to their
//! handoffs, and text from the rules is escaped.

use chrono::{DateTime, Utc};
use handoff_domain::audit::{
    AuditReport, MessyCase, MessyKind, MissionFigures, PeriodFigures, RepRow, RuleRow, SliceRow,
};
use handoff_domain::ids::{HandoffId, ProviderEventId, RepId, SourceName};
use handoff_report::audit::{audit_page, figures_in_json, AuditLinks, NO_DATA};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn handoff(key: &str) -> HandoffId {
    HandoffId::for_event(
        &SourceName::parse("website").unwrap(),
        &ProviderEventId::parse(key).unwrap(),
    )
}

/// An empty period's figures with a few values set, so that no two columns read the same.
fn figures(seed: usize) -> MissionFigures {
    let mut f =
        AuditReport::compute(at("2026-11-23T00:00:00Z"), at("2026-11-30T00:00:00Z"), &[]).overall;
    f.handoffs = 10 + seed;
    f.owned = 8 + seed;
    f.accepted = 6 + seed;
    f.acceptance_rate = Some(f.accepted as f64 / f.owned as f64);
    f.time_to_first_human_action.count = 3;
    f.time_to_first_human_action.p50 = Some(12.0 + seed as f64);
    f.time_to_first_human_action.max = Some(95.0);
    f.time_to_first_human_action.buckets[1].count = 2;
    f.time_to_first_human_action.buckets[4].count = 1;
    f.crm_missing_parts
        .insert(handoff_domain::audit::ContractPart::BuyerContext, seed + 1);
    f
}

fn report() -> AuditReport {
    let mut r = AuditReport::compute(at("2026-11-23T00:00:00Z"), at("2026-11-30T00:00:00Z"), &[]);
    r.overall = figures(0);
    r.inbound = figures(1);
    r.outbound = figures(2);
    r.previous_period = Some(PeriodFigures {
        from: at("2026-11-16T00:00:00Z"),
        to: at("2026-11-23T00:00:00Z"),
        overall: figures(3),
        inbound: figures(4),
        outbound: figures(5),
    });
    r.per_rep = vec![RepRow {
        rep: RepId::parse("lena").unwrap(),
        name: "Lena Fischer".into(),
        received: 14,
        busiest_day: 4,
        daily_cap: Some(12),
        days_at_cap: 0,
        accepted: 11,
        acceptance_rate: Some(11.0 / 14.0),
        median_minutes_to_first_action: Some(17.5),
        sla_misses: 2,
        wrong_owner: 1,
    }];
    r.per_rule = vec![RuleRow {
        rule: "<b>enterprise</b> goes to an AE".into(),
        handoffs: 5,
        wrong_owner: 1,
        wrong_owner_rate: Some(0.2),
        requalified: 0,
        requalification_rate: Some(0.0),
    }];
    r.per_source = vec![SliceRow::new("typeform".into(), figures(6))];
    r.per_trigger = vec![SliceRow::new("pricing_request".into(), figures(7))];
    r.messy_cases = vec![
        MessyCase {
            kind: MessyKind::PricingRequest,
            handoff_id: handoff("a"),
            why: "flagged as pricing".into(),
        },
        MessyCase {
            kind: MessyKind::Failover,
            handoff_id: handoff("b"),
            why: "rerouted after a missed SLA".into(),
        },
    ];
    r
}

#[test]
fn every_figure_of_the_json_is_in_the_page() {
    let report = report();
    let html = audit_page(&report, &AuditLinks::default());
    let json = serde_json::to_value(&report).unwrap();
    let figures = figures_in_json(&json);
    assert!(figures.len() > 250, "{} figures", figures.len());
    let missing: Vec<String> = figures
        .iter()
        .filter(|(path, text)| !html.contains(&format!("data-figure=\"{path}\">{text}<")))
        .map(|(path, text)| format!("{path} = {text}"))
        .collect();
    assert!(
        missing.is_empty(),
        "not in the page:\n{}",
        missing.join("\n")
    );
    // A few by hand, so the check is not only the page against itself.
    for expected in [
        r#"data-figure="inbound.acceptance_rate">77.8 %<"#,
        r#"data-figure="previous_period.outbound.handoffs">15<"#,
        r#"data-figure="per_rep.0.median_minutes_to_first_action">17.5 min<"#,
        r#"data-figure="overall.time_to_first_human_action.max">1.6 h<"#,
        r#"data-figure="outbound.no_show_rate">—<"#,
        r#"data-figure="per_source.0.crm_missing_parts.buyer_context">7<"#,
    ] {
        assert!(html.contains(expected), "{expected}");
    }
    assert!(html.contains(NO_DATA));
}

#[test]
fn messy_cases_link_to_their_handoff_when_a_base_is_given() {
    let report = report();
    let local = audit_page(
        &report,
        &AuditLinks {
            handoff_base: Some(String::new()),
        },
    );
    for c in &report.messy_cases {
        assert!(
            local.contains(&format!(r#"<a href="/handoffs/{}">"#, c.handoff_id)),
            "{local}"
        );
    }
    assert!(local.contains("Pricing requests") && local.contains("Failovers"));
    let console = audit_page(
        &report,
        &AuditLinks {
            handoff_base: Some("http://127.0.0.1:8080/".into()),
        },
    );
    assert!(console.contains(&format!(
        r#"href="http://127.0.0.1:8080/handoffs/{}""#,
        report.messy_cases[0].handoff_id
    )));
    let plain = audit_page(&report, &AuditLinks::default());
    assert!(!plain.contains("/handoffs/"), "no link without a base");
    assert!(plain.contains(&report.messy_cases[1].handoff_id.to_string()));
}

#[test]
fn text_from_the_rules_is_escaped_and_labels_read_as_prose() {
    let html = audit_page(&report(), &AuditLinks::default());
    assert!(html.contains("&lt;b&gt;enterprise&lt;/b&gt; goes to an AE"));
    assert!(!html.contains("<b>enterprise"));
    assert!(
        html.contains("<th>pricing request</th>"),
        "trigger as prose"
    );
    assert!(!html.contains("<script"));
}
