//! `handoff rules check|schema`.
//!
//! `check` fails on an invalid file (file:line: key: message) and otherwise prints a summary,
//! then the lint's warnings about routing rules (`file:line: warning: …`), which never fail it.

use anyhow::{Context, Result};
use handoff_domain::config::{entry_line, Rules};
use handoff_domain::render::words::{count, count_with};
use handoff_domain::routing::condition::rule_condition;
use handoff_domain::routing::lint::{lint, WarningKind};
use std::fmt::Write;

/// Validates a rules file and returns a summary of its teams and layers, then any warnings.
pub fn check(path: &str) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let rules = Rules::from_toml(path, &text)?;
    let mut out = summary(&rules);
    out.push_str(&warnings(path, &text, &rules));
    Ok(out)
}

/// The lint's findings, one line each: `file:line: warning: …` (or `note:` for a check that was
/// skipped); empty when there are none.
pub fn warnings(path: &str, text: &str, rules: &Rules) -> String {
    let mut s = String::new();
    for w in lint(rules) {
        let line = entry_line(text, "routing", w.rule, None).unwrap_or(1);
        let label = match w.kind {
            WarningKind::NotChecked => "note",
            WarningKind::NeverMatches | WarningKind::Shadowed | WarningKind::EmptyTarget => {
                "warning"
            }
        };
        let _ = writeln!(s, "{path}:{line}: {label}: {}", w.message);
    }
    s
}

/// A readable summary of a valid configuration.
pub fn summary(rules: &Rules) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: OK — {}, {}, {}, {}",
        rules.org.name,
        count(rules.teams.len(), "team"),
        count(rules.reps.len(), "rep"),
        count_with(rules.territories.len(), "territory", "territories"),
        count(rules.routing.len(), "routing rule")
    );
    let _ = writeln!(s, "teams:");
    for t in &rules.teams {
        let reps: Vec<String> = rules
            .reps
            .iter()
            .filter(|r| r.team == t.id)
            .map(|r| {
                if r.failover_only {
                    format!("{} (failover only, {})", r.id, r.timezone)
                } else {
                    format!(
                        "{} (w{}, cap {}/day, {})",
                        r.id, r.weight, r.daily_cap, r.timezone
                    )
                }
            })
            .collect();
        let lead = t
            .lead
            .as_ref()
            .map(|l| format!(", lead {l}"))
            .unwrap_or_default();
        let max_reps = match t.max_reps {
            Some(1) => ", failover tries 1 more rep".to_string(),
            Some(n) => format!(", failover tries up to {n} more reps"),
            None => String::new(),
        };
        let queue = t
            .queue
            .as_ref()
            .map(|q| {
                let notify = t
                    .queue_notify
                    .as_deref()
                    .unwrap_or(&rules.failover.shared_queue_notify);
                format!(", queue {q:?} ({notify})")
            })
            .unwrap_or_default();
        let territory = t
            .territory
            .as_deref()
            .map(|x| format!(", {x}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} [{}{territory}{lead}{max_reps}{queue}]: {}",
            t.id,
            t.role,
            reps.join(", ")
        );
    }
    if !rules.pools.is_empty() {
        let _ = writeln!(s, "pools:");
        for p in &rules.pools {
            let reps: Vec<&str> = p.reps.iter().map(|r| r.as_str()).collect();
            let _ = writeln!(s, "  {} ({}): {}", p.id, p.name, reps.join(", "));
        }
    }
    let _ = writeln!(s, "layers: escalation → rule (role, team or pool) → existing owner → account owner → human-only lane → territory → segment → product line → round robin → owner + SLA → failover");
    let _ = writeln!(s, "routing rules (first match wins):");
    for (i, r) in rules.routing.iter().enumerate() {
        let target = r.target().map(|t| rules.target_text(t)).unwrap_or_default();
        let _ = writeln!(
            s,
            "  {}. {} ({}) → {target}",
            i + 1,
            r.name,
            rule_condition(r).describe()
        );
    }
    let _ = writeln!(
        s,
        "SLA (business minutes): inbound hot {} / standard {}; outbound hot {} / standard {}; human-only {}; reroute {}",
        rules.sla.inbound.hot, rules.sla.inbound.standard, rules.sla.outbound.hot, rules.sla.outbound.standard, rules.sla.human_decision_minutes, rules.sla.reroute_minutes
    );
    let _ = writeln!(
        s,
        "failover: up to {} → team lead → shared queue {:?} ({})",
        count(rules.failover.max_reps as usize, "more rep"),
        rules.failover.shared_queue,
        rules.failover.shared_queue_notify
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
                        "; at most {} a day at ${} each (at most ${:.2} a day)",
                        count(max as usize, "call"),
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
        assert!(out.contains("OK — 5 teams, 13 reps"), "{out}");
        assert!(
            out.contains("amer-sdr [SDR, amer, lead harper, failover tries 1 more rep, queue \"amer-sdr-queue\" (slack:#amer-sdr)]: ava (w1, cap 30/day, America/New_York), diego (w1, cap 30/day, America/Chicago), harper (failover only, America/New_York)"),
            "{out}"
        );
        assert!(
            out.contains("launch-desk (Launch desk): oliver, riley"),
            "{out}"
        );
        assert!(
            out.contains("3. inbound from AMER companies under 200 employees goes to the AMER SDRs (inbound; employees below 200; territory amer) → team AMER SDRs"),
            "{out}"
        );
        assert!(
            out.contains("2. campaign sign-ups go to the launch desk (inbound; form field utm_campaign is spring-launch or webinar) → pool Launch desk"),
            "{out}"
        );
        assert!(
            !out.contains("warning:"),
            "the example is lint-clean: {out}"
        );
        assert!(out.contains("failover: up to 2 more reps"), "{out}");
        assert!(out.contains("judge: none"), "{out}");
        assert!(!out.contains("cloud: warning"), "{out}");
    }

    /// The example with `block` appended, written to a temporary file: (dir, path, text).
    fn example_with(block: &str) -> (tempfile::TempDir, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        let text = format!("{}\n{block}\n", include_str!("../../examples/handoff.toml"));
        std::fs::write(&path, &text).unwrap();
        (dir, path.to_str().unwrap().to_string(), text)
    }

    #[test]
    fn check_prints_rule_warnings_after_ok_and_still_succeeds() {
        let (_dir, path, text) = example_with(
            "[[routing]]\nname = \"tiny inbound\"\nmotion = \"inbound\"\nwhen = { employees = { below = 50 } }\nrole = \"sdr\"\n\n[[routing]]\nname = \"impossible\"\nrole = \"ae\"\nwhen = { employees = { at_least = 500, below = 200 } }",
        );
        let out = super::check(&path).unwrap();
        // The 0-based index of a rule's name line is the 1-based line of its [[routing]] header.
        let line_of = |needle: &str| text.lines().position(|l| l == needle).unwrap();
        let tiny = line_of("name = \"tiny inbound\"");
        let impossible = line_of("name = \"impossible\"");
        let ok = out.find(": OK —").expect("OK first");
        let shadowed = format!("{path}:{tiny}: warning: rule 11 \"tiny inbound\" is shadowed: every handoff it matches is taken first by rule 1 ");
        let never = format!("{path}:{impossible}: warning: rule 12 \"impossible\" can never match: no handoff meets its conditions (employees at least 500 and below 200)");
        let at = out.find(&shadowed).unwrap_or_else(|| panic!("{out}"));
        assert!(at > ok, "{out}");
        assert!(out.contains(&never), "{out}");
    }

    #[test]
    fn check_fails_on_a_bad_condition_naming_file_and_line() {
        let (_dir, path, text) = example_with(
            "[[routing]]\nname = \"probe\"\nrole = \"ae\"\nwhen = { employes = { below = 200 } }",
        );
        let err = super::check(&path).unwrap_err().to_string();
        let line = text
            .lines()
            .position(|l| l.starts_with("when = { employes"))
            .unwrap()
            + 1;
        assert!(err.starts_with(&format!("{path}:{line}:")), "{err}");
        assert!(
            err.contains("unknown condition attribute `employes`"),
            "{err}"
        );
    }

    #[test]
    fn the_example_sends_small_inbound_to_amer_sdrs_and_large_to_amer_aes() {
        let rules = handoff_domain::config::Rules::from_toml(
            "examples/handoff.toml",
            include_str!("../../examples/handoff.toml"),
        )
        .unwrap();
        for (employees, team, rule) in [
            (150, "amer-sdr", "rule \"inbound from AMER companies under 200 employees goes to the AMER SDRs\" (inbound; 150 employees, below 200; country US in amer) → team AMER SDRs; 2 active reps have it"),
            (5000, "amer-ae", "rule \"inbound from companies of 200 employees or more goes to an AE\" (inbound; 5000 employees, at least 200) → role AE; 6 active reps have it"),
        ] {
            let event: handoff_domain::event::IntakeEvent = serde_json::from_value(serde_json::json!({
                "type": "form_lead", "source": "website", "channel": "web_form",
                "provider_event_id": format!("split-{employees}"),
                "received_at": "2026-06-03T15:00:00Z",
                "buyer": { "email": "dana@harborview.io", "name": "Dana", "company": "Harborview",
                           "country": "US", "employees": employees },
                "message": "We'd like a demo of the dashboards next week; I own the budget."
            }))
            .unwrap();
            let p = crate::classify_cmd::package_for(&event, &rules);
            let owner = p.owner.expect("routed");
            assert_eq!(owner.team.as_str(), team, "{employees}: {:?}", p.routing);
            assert!(owner.rep.is_some(), "{employees}: a rep of the team, not the queue");
            let step = p.routing.iter().find(|t| t.layer == "rule").unwrap();
            assert_eq!(step.outcome, rule, "{employees}");
        }
    }
}
