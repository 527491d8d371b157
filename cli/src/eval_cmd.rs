//! `handoff eval`: the classifier measured on the labelled corpus (`tests/corpus/*.jsonl`, format
//! in `tests/corpus/README.md`). Reads every row, classifies its event with the rules as if the
//! store were empty, and prints the report of [`handoff_domain::evaluation`].

use anyhow::{anyhow, bail, Context, Result};
use handoff_domain::classify::{classify, MatchContext};
use handoff_domain::config::Rules;
use handoff_domain::evaluation::{evaluate, Labels, Outcome, Report};
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

/// The report over the rows of `split`.
pub fn run(rows: &[Row], split: Split, rules: &Rules) -> Report {
    let outcomes: Vec<Outcome> = rows
        .iter()
        .filter(|r| split == Split::All || r.split == split.as_str())
        .map(|r| Outcome {
            id: r.id.clone(),
            expected: r.labels.clone(),
            actual: Labels::of(&classify(&r.event, &MatchContext::default(), rules)),
        })
        .collect();
    evaluate(&outcomes)
}

/// `handoff eval`: prints the report; `json` prints it as JSON instead.
pub fn command(dir: &Path, split: Split, rules: &Rules, json: bool) -> Result<String> {
    let rows = load(dir)?;
    let report = run(&rows, split, rules);
    Ok(if json {
        serde_json::to_string_pretty(&report)?
    } else {
        report.render(split.as_str())
    })
}
