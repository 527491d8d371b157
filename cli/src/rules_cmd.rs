//! `handoff rules check|schema`.

use anyhow::{Context, Result};
use handoff_domain::config::Rules;
use std::fmt::Write;

/// Validates a rules file and returns a summary of its teams and layers.
pub fn check(path: &str) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let rules = Rules::from_toml(path, &text)?;
    Ok(summary(&rules))
}

/// A readable summary of a valid configuration.
pub fn summary(rules: &Rules) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: OK — {} teams, {} reps, {} territories, {} routing rules",
        rules.org.name,
        rules.teams.len(),
        rules.reps.len(),
        rules.territories.len(),
        rules.routing.len()
    );
    let _ = writeln!(s, "teams:");
    for t in &rules.teams {
        let reps: Vec<String> = rules
            .reps
            .iter()
            .filter(|r| r.team == t.id)
            .map(|r| {
                format!(
                    "{} (w{}, cap {}/day, {})",
                    r.id, r.weight, r.daily_cap, r.timezone
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "  {} [{:?}{}{}]: {}",
            t.id,
            t.role,
            t.territory
                .as_deref()
                .map(|x| format!(", {x}"))
                .unwrap_or_default(),
            t.lead
                .as_ref()
                .map(|l| format!(", lead {l}"))
                .unwrap_or_default(),
            reps.join(", ")
        );
    }
    let _ = writeln!(s, "layers: escalation → rule (role) → existing owner → account owner → territory → segment → product line → round robin → owner + SLA → failover");
    let _ = writeln!(s, "routing rules (first match wins):");
    for (i, r) in rules.routing.iter().enumerate() {
        let _ = writeln!(s, "  {}. {} → {:?}", i + 1, r.name, r.role);
    }
    let _ = writeln!(
        s,
        "SLA (business minutes): inbound hot {} / standard {}; outbound hot {} / standard {}; human-only {}; reroute {}",
        rules.sla.inbound.hot, rules.sla.inbound.standard, rules.sla.outbound.hot, rules.sla.outbound.standard, rules.sla.human_decision_minutes, rules.sla.reroute_minutes
    );
    let _ = writeln!(
        s,
        "failover: up to {} more reps → team lead → shared queue {:?} ({})",
        rules.failover.max_reps, rules.failover.shared_queue, rules.failover.shared_queue_notify
    );
    let channels: Vec<&str> = [
        rules.notify.slack.as_ref().map(|_| "slack"),
        rules.notify.email.as_ref().map(|_| "email"),
        rules.notify.webhook.as_ref().map(|_| "webhook"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let _ = writeln!(
        s,
        "CRM: {}; notify: {}",
        rules.crm.kind.as_str(),
        if channels.is_empty() {
            "no channel configured (handoff serve writes the local log)".to_string()
        } else {
            channels.join(", ")
        }
    );
    let _ = writeln!(s, "judge: {}", judge_summary(&rules.judge));
    let problems = rules.cloud_problems();
    if problems.is_empty() {
        let _ = writeln!(s, "cloud: OK (rules push accepts these rules)");
    } else {
        let _ = writeln!(
            s,
            "cloud: rules push would refuse these rules (handoff serve runs them):"
        );
        for p in problems {
            let _ = writeln!(s, "  - {p}");
        }
    }
    for note in rules.cloud_notes() {
        let _ = writeln!(s, "cloud: warning: {note}");
    }
    s
}

/// One line on the second opinion: off, or the model, when it is asked, its limits and cost.
fn judge_summary(j: &handoff_domain::config::JudgeSettings) -> String {
    use handoff_domain::config::JudgeKind;
    match j.kind {
        JudgeKind::None => "none (low-confidence cases keep the rules' classification)".into(),
        JudgeKind::Bedrock => {
            let mut out = format!(
                "bedrock {}, asked only when the classification is unsure (Lambda only; handoff serve asks no judge); timeout {} ms",
                j.model(),
                j.timeout_ms
            );
            match j.max_calls_per_day {
                Some(max) => {
                    let _ = write!(
                        out,
                        "; at most {max} calls a day at ${} each (at most ${:.2} a day)",
                        j.cost_per_call_usd,
                        j.cost_per_call_usd * f64::from(max)
                    );
                }
                None => {
                    let _ = write!(out, "; no daily limit; ${} a call", j.cost_per_call_usd);
                }
            }
            out
        }
    }
}

/// The JSON Schema of the rules format, pretty-printed.
pub fn schema() -> String {
    serde_json::to_string_pretty(&Rules::json_schema()).expect("schema serialises")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_schema_is_current() {
        let committed = include_str!("../../docs/handoff.schema.json");
        assert_eq!(
            committed.trim(),
            super::schema().trim(),
            "run `cargo run -- rules schema > docs/handoff.schema.json`"
        );
    }

    #[test]
    fn check_reports_the_judge_and_warns_about_the_stack_parameter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        let text = format!(
            "{}\n[judge]\nkind = \"bedrock\"\nmodel_id = \"amazon.nova-micro-v1:0\"\ncost_per_call_usd = 0.0002\nmax_calls_per_day = 1000\n",
            include_str!("../../examples/handoff.toml")
        );
        std::fs::write(&path, text).unwrap();
        let out = super::check(path.to_str().unwrap()).unwrap();
        assert!(
            out.contains("judge: bedrock amazon.nova-micro-v1:0, asked only when the classification is unsure"),
            "{out}"
        );
        assert!(
            out.contains("at most 1000 calls a day at $0.0002 each (at most $0.20 a day)"),
            "{out}"
        );
        assert!(
            out.contains("cloud: warning: [judge] kind = \"bedrock\": deploy the stack with JudgeModelId=amazon.nova-micro-v1:0"),
            "{out}"
        );
    }

    #[test]
    fn check_summarises_the_example() {
        let out = super::check(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/handoff.toml"
        ))
        .unwrap();
        assert!(out.contains("OK — 5 teams, 12 reps"), "{out}");
        assert!(out.contains("failover: up to 2 more reps"), "{out}");
        assert!(out.contains("judge: none"), "{out}");
        assert!(!out.contains("cloud: warning"), "{out}");
    }
}
