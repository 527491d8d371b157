//! `handoff eval`: the classifier measured on the labelled corpus (`tests/corpus/*.jsonl`, format
//! in `tests/corpus/README.md`). Reads every row, classifies its event as if the store were
//! empty — with the rules alone, the reply model alone and both combined — and prints the
//! report of [`handoff_domain::evaluation`] for the combination, the other two beside it.
//!
//! `handoff eval --train` trains the reply model on the tuning split's replies
//! ([`handoff_domain::classify::training`]) and writes the model file that is committed.

use anyhow::{anyhow, bail, Context, Result};
use handoff_domain::classify::training::{train, LabelledReply};
use handoff_domain::classify::{classify_with, Judging, MatchContext, Model};
use handoff_domain::config::{JudgeKind, Rules};
use handoff_domain::evaluation::{evaluate, render_comparison, Labels, Outcome, Report};
use handoff_domain::event::IntakeEvent;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Which rows to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// Rows rules and models may be tuned on.
    Tune,
    /// Rows never tuned on: the honest figure.
    Heldout,
    /// Every row.
    All,
}

impl Split {
    fn as_str(self) -> &'static str {
        match self {
            Split::Tune => "tune",
            Split::Heldout => "heldout",
            Split::All => "all",
        }
    }
}

/// One corpus row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub id: String,
    pub split: String,
    pub event: IntakeEvent,
    pub labels: Labels,
    #[serde(default)]
    pub note: Option<String>,
}

/// Every row of every `*.jsonl` file in `dir`, in file then line order; an unreadable row is
/// an error naming its file and line.
pub fn load(dir: &Path) -> Result<Vec<Row>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the corpus directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.jsonl files in {}", dir.display());
    }
    let mut rows = Vec::new();
    let mut ids = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{}:{}", file.display(), i + 1);
            let row: Row = serde_json::from_str(line).map_err(|e| anyhow!("{at}: {e}"))?;
            if !matches!(row.split.as_str(), "tune" | "heldout") {
                bail!(
                    "{at}: split must be \"tune\" or \"heldout\", not {:?}",
                    row.split
                );
            }
            if !ids.insert(row.id.clone()) {
                bail!("{at}: id {} is used twice", row.id);
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Which judging `handoff eval` details (per-label scores, confusion matrix, misses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Detail {
    /// Rules and model together (what the product runs).
    Combined,
    /// The rules alone.
    Rules,
    /// The reply model alone.
    Model,
}

/// Where `handoff eval --train` writes the model, relative to the repository root.
pub const MODEL_FILE: &str = "shared/domain/data/reply-model.tsv";

/// The report over the rows of `split`, judged one way.
pub fn run(rows: &[Row], split: Split, rules: &Rules, judging: Judging, model: &Model) -> Report {
    let outcomes: Vec<Outcome> = rows
        .iter()
        .filter(|r| split == Split::All || r.split == split.as_str())
        .map(|r| {
            let c = classify_with(&r.event, &MatchContext::default(), rules, judging, model);
            Outcome {
                id: r.id.clone(),
                expected: r.labels.clone(),
                actual: Labels::of(&c),
                unsure: c.needs_confirmation.is_some(),
            }
        })
        .collect();
    evaluate(&outcomes)
}

/// `handoff eval`: the combined report, with the rules alone and the model alone beside it;
/// `json` prints it as JSON (the combined report, plus `rules_alone` and `model_alone`).
pub fn command(
    dir: &Path,
    split: Split,
    rules: &Rules,
    model: Option<&Path>,
    detail: Detail,
    json: bool,
) -> Result<String> {
    let rows = load(dir)?;
    let loaded;
    let model = match model {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the model {}", path.display()))?;
            loaded = Model::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            &loaded
        }
        None => handoff_domain::classify::model::committed(),
    };
    let combined = run(&rows, split, rules, Judging::Combined, model);
    let rules_alone = run(&rows, split, rules, Judging::RulesOnly, model);
    let model_alone = run(&rows, split, rules, Judging::ModelOnly, model);
    let judge = judge_line(&combined, rules);
    if json {
        let mut value = serde_json::to_value(&combined)?;
        value["rules_alone"] = serde_json::to_value(&rules_alone)?;
        value["model_alone"] = serde_json::to_value(&model_alone)?;
        value["judge_calls"] = combined.unsure.rows.into();
        return Ok(serde_json::to_string_pretty(&value)?);
    }
    let mut out = format!(
        "handoff eval: {} rows ({}), reply model with {} features\n\n",
        combined.rows,
        split.as_str(),
        model.features()
    );
    out.push_str(&render_comparison(&[
        ("rules alone", &rules_alone),
        ("model alone", &model_alone),
        ("combined", &combined),
    ]));
    out.push_str(&judge);
    let (name, detailed) = match detail {
        Detail::Combined => ("the combination", &combined),
        Detail::Rules => ("the rules alone", &rules_alone),
        Detail::Model => ("the model alone", &model_alone),
    };
    out.push_str(&format!("\n{name} in detail:\n"));
    out.push_str(&detailed.render(split.as_str()));
    Ok(out)
}

/// How many measured rows the optional second opinion (`[judge]`) would be asked about: the
/// `needs_confirmation` ones, and what that would cost at the configured price.
fn judge_line(report: &Report, rules: &Rules) -> String {
    let asked = report.unsure.rows;
    let judge = &rules.judge;
    let setting = match judge.kind {
        JudgeKind::None => "off in these rules ([judge] kind = \"none\")".to_string(),
        JudgeKind::Bedrock => format!(
            "{} at ${:.4} per call: ${:.2} for these rows",
            judge.model_id.as_deref().unwrap_or("bedrock"),
            judge.cost_per_call_usd,
            judge.cost_per_call_usd * asked as f64
        ),
    };
    format!(
        "\nsecond opinion: {asked} of {} rows would be sent to the judge (needs_confirmation); {setting}\n",
        report.rows
    )
}

/// `handoff eval --train`: trains on the tuning split's replies, writes the model to `out` and
/// returns what to print.
pub fn train_command(dir: &Path, rules: &Rules, out: &Path) -> Result<String> {
    let rows = load(dir)?;
    let replies: Vec<LabelledReply> = rows
        .iter()
        .filter(|r| r.split == Split::Tune.as_str())
        .filter_map(|r| {
            r.labels.reply_class.map(|class| LabelledReply {
                event: &r.event,
                class,
                escalate: r.labels.escalate,
            })
        })
        .collect();
    if replies.is_empty() {
        bail!(
            "no labelled replies in the tuning split of {}",
            dir.display()
        );
    }
    let trained = train(&replies, rules);
    std::fs::write(out, &trained.model_text)
        .with_context(|| format!("cannot write the model {}", out.display()))?;
    Ok(format!(
        "{}\nwrote {} ({} bytes); rebuild to use it, or measure it now with `handoff eval --model {}`\n",
        trained.report,
        out.display(),
        trained.model_text.len(),
        out.display()
    ))
}
