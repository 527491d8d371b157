//! `handoff simulate --rules NEW.toml`: what-if replay of a rules change on recorded handoffs,
//! from a local data directory (`--data`) or a deployed table (`--table`, feature `aws`).
//!
//! The period (`--since 7d`, up to now) is replayed under the current rules (`--config` or the
//! embedded example locally, the table's current version with `--table`) and under the new
//! file by [`handoff_domain::simulate`], which explains the method; the store is only read
//! ([`handoff_domain::simulate::history::gather`]). `--handoff ID` replays one handoff with
//! the `--since` days before it as context and shows both routing traces layer by layer.
//! Output: prose on stdout, `--json FILE`, `--html FILE` (the page in `handoff_report`).

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use handoff_domain::config::Rules;
use handoff_domain::ids::HandoffId;
use handoff_domain::package::{Sla, TraceStep};
use handoff_domain::ports::HandoffStore;
use handoff_domain::render::words::count;
use handoff_domain::render::{escape, layer_phrase};
use handoff_domain::simulate::{
    history, simulate, OwnerRef, Period, Replay, ReplayedHandoff, Simulation,
};
use handoff_report::simulate::RuleFiles;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `handoff simulate` is asked to do.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// The proposed rules file.
    pub rules: PathBuf,
    /// The current rules locally (`None`: the embedded example); ignored with `table`.
    pub config: Option<PathBuf>,
    /// How far back the period starts (or, with `handoff`, the context before it).
    pub since: Duration,
    /// Replay one handoff and show its traces.
    pub handoff: Option<String>,
    pub data_dir: PathBuf,
    pub table: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub html: Option<PathBuf>,
    pub json: Option<PathBuf>,
}

/// `--since`: a number of days, hours or weeks ("7d", "36h", "2w").
pub fn parse_since(raw: &str) -> std::result::Result<Duration, String> {
    let raw = raw.trim();
    let wrong = || format!("“{raw}” is not a period: write a number and d, h or w (7d)");
    let unit = raw.chars().last().ok_or_else(wrong)?;
    let n: i64 = raw[..raw.len() - unit.len_utf8()]
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(wrong)?;
    match unit {
        'd' => Ok(Duration::days(n)),
        'h' => Ok(Duration::hours(n)),
        'w' => Ok(Duration::weeks(n)),
        _ => Err(wrong()),
    }
}

/// Runs the command; returns the text for stdout (files named by `--json` / `--html` are
/// written here).
pub async fn run(opts: SimulateOptions) -> Result<String> {
    let proposed = load_rules(&opts.rules)?;
    let proposed_name = opts.rules.display().to_string();
    match &opts.table {
        Some(table) => on_table(table, &opts, &proposed, proposed_name).await,
        None => {
            anyhow::ensure!(
                opts.profile.is_none() && opts.region.is_none(),
                "--profile and --region apply to a deployed table: add --table"
            );
            let path = opts.data_dir.join("handoff.sqlite");
            anyhow::ensure!(
                path.exists(),
                "no local store in {} (pass --data DIR, or --table for a deployed table)",
                opts.data_dir.display()
            );
            let store =
                handoff_local::SqliteStore::open(&path).context("cannot open the local store")?;
            let choice = crate::runtime::RulesChoice::from_arg(opts.config.clone());
            let current = choice.load()?;
            let files = RuleFiles {
                current: match &opts.config {
                    Some(p) => p.display().to_string(),
                    None => "the embedded examples/handoff.toml".to_string(),
                },
                proposed: proposed_name,
            };
            on_store(&store, &current, &proposed, &files, &opts).await
        }
    }
}

fn load_rules(path: &Path) -> Result<Rules> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Rules::from_toml(&path.display().to_string(), &text)?)
}

#[cfg(feature = "aws")]
async fn on_table(
    table: &str,
    opts: &SimulateOptions,
    proposed: &Rules,
    proposed_name: String,
) -> Result<String> {
    use handoff_domain::ports::RulesSource as _;
    anyhow::ensure!(
        opts.config.is_none(),
        "--config names the current rules of a local store; with --table the table's current rules are used"
    );
    let sdk = crate::cloud_cmd::sdk_config(opts.profile.as_deref(), opts.region.as_deref()).await?;
    let client = handoff_aws::config::dynamodb_client(&sdk);
    let current = handoff_aws::DynamoRules::new(client.clone(), table)
        .current()
        .await
        .with_context(|| format!("cannot read the current rules of {table}"))?;
    let store = handoff_aws::DynamoStore::new(client, table);
    let files = RuleFiles {
        current: format!("the rules in force in {table}"),
        proposed: proposed_name,
    };
    on_store(&store, &current, proposed, &files, opts).await
}

#[cfg(not(feature = "aws"))]
async fn on_table(_: &str, _: &SimulateOptions, _: &Rules, _: String) -> Result<String> {
    anyhow::bail!(
        "this build has no AWS support: run `cargo run --release --features aws -- simulate --table ...`"
    )
}

/// The replay on an open store: the period, or one handoff; writes `--json` / `--html`.
async fn on_store(
    store: &dyn HandoffStore,
    current: &Rules,
    proposed: &Rules,
    files: &RuleFiles,
    opts: &SimulateOptions,
) -> Result<String> {
    match &opts.handoff {
        Some(raw) => {
            let id = HandoffId::parse(raw).map_err(|e| anyhow::anyhow!("--handoff: {e}"))?;
            let one = simulate_handoff(store, current, proposed, &id, opts.since).await?;
            write_outputs(opts, &one, || {
                handoff_report::simulate::handoff_page(&one, files)
            })?;
            Ok(handoff_text(&one, files, opts.since))
        }
        None => {
            let now = Utc::now();
            let period = Period {
                from: now - opts.since,
                to: now,
            };
            let sim = simulate_period(store, current, proposed, period).await?;
            write_outputs(opts, &sim, || {
                handoff_report::simulate::period_page(&sim, files)
            })?;
            Ok(period_text(&sim, files))
        }
    }
}

/// Replays the handoffs created in `period` (reads `store`, writes nothing).
pub async fn simulate_period(
    store: &dyn HandoffStore,
    current: &Rules,
    proposed: &Rules,
    period: Period,
) -> Result<Simulation> {
    let (cases, context) = history::gather(store, period)
        .await
        .context("cannot read the recorded handoffs")?;
    Ok(simulate(&cases, current, proposed, &context, period))
}

/// Replays one handoff, with the handoffs created in the `context` before it replayed first
/// (their loads, counters and owners shape its routing).
pub async fn simulate_handoff(
    store: &dyn HandoffStore,
    current: &Rules,
    proposed: &Rules,
    id: &HandoffId,
    context: Duration,
) -> Result<ReplayedHandoff> {
    let record = store
        .get(id)
        .await
        .context("cannot read the handoff")?
        .with_context(|| format!("no handoff {id} in the store"))?;
    let period = Period {
        from: record.created_at - context,
        to: record.created_at + Duration::milliseconds(1),
    };
    let sim = simulate_period(store, current, proposed, period).await?;
    sim.handoff(id).cloned().with_context(|| {
        format!(
            "handoff {id} was never routed (it is {}), so there is nothing to replay",
            handoff_domain::render::prose(record.state.as_str())
        )
    })
}

fn write_outputs<T: serde::Serialize>(
    opts: &SimulateOptions,
    value: &T,
    html: impl FnOnce() -> String,
) -> Result<()> {
    if let Some(path) = &opts.json {
        let text = serde_json::to_string_pretty(value)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &opts.html {
        std::fs::write(path, html()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%a %d %b %Y %H:%M UTC").to_string()
}

fn sla_text(sla: &Sla) -> String {
    format!(
        "due {} ({}, {})",
        when(sla.deadline),
        count(sla.business_minutes as usize, "business minute"),
        sla.policy
    )
}

fn owner_text(o: &OwnerRef) -> &str {
    if o.display.is_empty() {
        "nobody recorded"
    } else {
        &o.display
    }
}

/// The period report for people.
pub fn period_text(sim: &Simulation, files: &RuleFiles) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "What if the rules were {}: {} created {} – {}, routed again under the current rules \
         ({}) and under the new ones. Nothing was written.",
        files.proposed,
        count(sim.replayed, "handoff"),
        when(sim.period.from),
        when(sim.period.to),
        files.current
    );
    let _ = writeln!(out, "\nHow: {}", sim.method);

    let _ = writeln!(
        out,
        "\nOwner changes: {} of {} would go to someone else.",
        sim.owner_changes, sim.replayed
    );
    for m in &sim.moves {
        let _ = writeln!(
            out,
            "  {} from {} to {}",
            count(m.handoffs, "handoff"),
            m.from.display,
            m.to.display
        );
    }

    let _ = writeln!(
        out,
        "\nLoad per rep in the period, current → new (the busiest local day against the daily cap):"
    );
    let shown: Vec<_> = sim
        .loads
        .iter()
        .filter(|l| l.total_before + l.total_after > 0 || l.cap_before != l.cap_after)
        .collect();
    if shown.is_empty() {
        let _ = writeln!(out, "  nobody got a handoff on either side");
    }
    for l in shown {
        let cap = |c: Option<u32>| c.map_or("not active".to_string(), |c| c.to_string());
        let caps = if l.cap_before == l.cap_after {
            format!("cap {}", cap(l.cap_after))
        } else {
            format!("cap {} → {}", cap(l.cap_before), cap(l.cap_after))
        };
        let at_cap = if l.days_at_cap_after > l.days_at_cap_before {
            format!(
                "; at the cap on {} (was {})",
                count(l.days_at_cap_after as usize, "day"),
                l.days_at_cap_before
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {}: {} → {}; busiest day {} → {}; {caps}{at_cap}",
            l.name,
            count(l.total_before as usize, "handoff"),
            l.total_after,
            l.busiest_day_before,
            l.busiest_day_after,
        );
    }

    let _ = writeln!(out, "\nSLA deadlines that move: {}.", sim.sla_moves.len());
    for m in &sim.sla_moves {
        let shift = m.shift_minutes.unsigned_abs() as usize;
        let _ = writeln!(
            out,
            "  {}: {} → {} ({} {})",
            m.id,
            when(m.before.deadline),
            when(m.after.deadline),
            count(shift, "minute"),
            if m.shift_minutes < 0 {
                "sooner"
            } else {
                "later"
            }
        );
    }

    if sim.never_matched.is_empty() {
        let _ = writeln!(
            out,
            "\nEvery rule of the new file matched at least one handoff."
        );
    } else {
        let _ = writeln!(
            out,
            "\nRules of the new file that never matched: {}.",
            sim.never_matched.len()
        );
        for name in &sim.never_matched {
            let _ = writeln!(out, "  “{name}”");
        }
    }
    if sim.no_rule_matched.after > 0 || sim.no_rule_matched.before > 0 {
        let _ = writeln!(
            out,
            "No rule matched {} under the new rules ({} under the current ones); the \
             re-qualification role triages them.",
            count(sim.no_rule_matched.after, "handoff"),
            sim.no_rule_matched.before
        );
    }

    let _ = writeln!(
        out,
        "\nLeft in a queue: {} under the new rules ({} under the current ones).",
        count(sim.in_a_queue.after, "handoff"),
        sim.in_a_queue.before
    );
    for f in &sim.fall_throughs {
        let _ = writeln!(
            out,
            "  {}: {} → {}",
            f.id,
            owner_text(&f.before),
            owner_text(&f.after)
        );
    }

    if sim.drift.is_empty() {
        let _ = writeln!(
            out,
            "\nDrift: the replay under the current rules gives every handoff the first owner its record shows."
        );
    } else {
        let _ = writeln!(
            out,
            "\nDrift: for {} the replay under the current rules differs from the record (rules \
             changed since, or history the replay cannot see):",
            count(sim.drift.len(), "handoff")
        );
        for d in &sim.drift {
            let _ = writeln!(
                out,
                "  {}: recorded {}, replayed {}",
                d.id,
                owner_text(&d.recorded),
                owner_text(&d.replayed)
            );
        }
    }

    let s = sim.skipped;
    if s.closed_without_handoff + s.attached + s.not_yet_routed > 0 {
        let _ = writeln!(
            out,
            "\nNot replayed: {} closed without a handoff, {} joined an open handoff, {} not routed yet.",
            s.closed_without_handoff, s.attached, s.not_yet_routed
        );
    }
    out
}

/// One handoff's two traces, layer by layer.
pub fn handoff_text(h: &ReplayedHandoff, files: &RuleFiles, context: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Handoff {}: {}", h.id, escape::plain_line(&h.title));
    let _ = writeln!(
        out,
        "First assigned {}; replayed with the handoffs of the {} before it as context. Nothing was written.",
        when(h.routed_at),
        count(context.num_days().max(1) as usize, "day")
    );
    let side = |label: &str, file: &str, r: &Replay| {
        format!(
            "{label} ({file}): {}, rule {}, {}",
            r.owner.display,
            r.rule
                .as_deref()
                .map_or("none matched".to_string(), |n| format!("“{n}”")),
            sla_text(&r.sla)
        )
    };
    let _ = writeln!(
        out,
        "\n{}",
        side("Current rules", &files.current, &h.before)
    );
    let _ = writeln!(out, "{}", side("New rules", &files.proposed, &h.after));
    let _ = writeln!(
        out,
        "{}",
        if h.owner_changes() {
            "The owner changes."
        } else {
            "The owner stays the same."
        }
    );
    let _ = writeln!(
        out,
        "\nThe routing, layer by layer (current rules, then new rules):"
    );
    for (layer, now, new) in layers(&h.before.trace, &h.after.trace) {
        let same = now == new;
        let _ = writeln!(
            out,
            "  {}{}",
            layer_phrase(&layer),
            if same { " (the same)" } else { "" }
        );
        if same {
            let _ = writeln!(out, "    {}", shown(&now));
        } else {
            let _ = writeln!(out, "    current: {}", shown(&now));
            let _ = writeln!(out, "    new:     {}", shown(&new));
        }
    }
    let _ = writeln!(
        out,
        "\nAs recorded: first owner {}.",
        owner_text(&h.recorded.owner)
    );
    for step in &h.recorded.trace {
        let _ = writeln!(
            out,
            "  {}: {}",
            layer_phrase(&step.layer),
            escape::plain_line(&step.outcome)
        );
    }
    out
}

fn shown(outcomes: &[String]) -> String {
    if outcomes.is_empty() {
        "did not run".to_string()
    } else {
        outcomes
            .iter()
            .map(|o| escape::plain_line(o))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Every layer of either trace in order of first appearance, with each side's outcomes.
fn layers(before: &[TraceStep], after: &[TraceStep]) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for (i, steps) in [before, after].into_iter().enumerate() {
        for step in steps {
            let at = match rows.iter().position(|(layer, _, _)| layer == &step.layer) {
                Some(at) => at,
                None => {
                    rows.push((step.layer.clone(), Vec::new(), Vec::new()));
                    rows.len() - 1
                }
            };
            let side = if i == 0 {
                &mut rows[at].1
            } else {
                &mut rows[at].2
            };
            side.push(step.outcome.clone());
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_days_hours_or_weeks() {
        assert_eq!(parse_since("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_since("36h"), Ok(Duration::hours(36)));
        assert_eq!(parse_since("2w"), Ok(Duration::weeks(2)));
        for bad in ["", "d", "7", "0d", "-1d", "7m", "seven days"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn layers_line_up_by_name_in_order_of_first_appearance() {
        let step = |layer: &str, outcome: &str| TraceStep {
            layer: layer.into(),
            outcome: outcome.into(),
        };
        let before = [
            step("rule", "a"),
            step("territory", "emea"),
            step("sla", "30"),
        ];
        let after = [
            step("rule", "b"),
            step("failover", "queue"),
            step("sla", "30"),
        ];
        let rows = layers(&before, &after);
        let names: Vec<&str> = rows.iter().map(|(l, _, _)| l.as_str()).collect();
        assert_eq!(names, ["rule", "territory", "sla", "failover"]);
        assert_eq!(rows[1].2, Vec::<String>::new());
        assert_eq!(rows[2].1, rows[2].2);
    }
}
