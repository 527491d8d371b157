//! Measuring the classifier against labelled messages: per-label precision and recall, the
//! reply-class confusion matrix, escalate, qualification and human-lane accuracy, risk-flag
//! precision and recall, and every miss. Pure: the corpus is read and classified elsewhere
//! (`handoff eval`); this module only compares labels.

use crate::package::{Classification, HumanLane, Qualification, ReplyClass, RiskFlag};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The judgment labels of one message: what a careful SDR would pick, or what the classifier did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    pub reply_class: Option<ReplyClass>,
    pub escalate: bool,
    pub qualification: Qualification,
    #[serde(default)]
    pub risk_flags: BTreeSet<RiskFlag>,
    pub human_lane: Option<HumanLane>,
}

impl Labels {
    /// The labels a classification carries. `duplicate_record` and `channel_switch` come from
    /// matching other handoffs, not from the text, so they are left out.
    pub fn of(c: &Classification) -> Self {
        Self {
            reply_class: c.reply_class,
            escalate: c.escalate,
            qualification: c.qualification,
            risk_flags: c
                .risk_flags
                .iter()
                .copied()
                .filter(|f| !matches!(f, RiskFlag::DuplicateRecord | RiskFlag::ChannelSwitch))
                .collect(),
            human_lane: c.human_decision,
        }
    }
}

/// One labelled message and what the classifier answered.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub expected: Labels,
    pub actual: Labels,
    /// The classifier said it was unsure (`needs_confirmation`).
    pub unsure: bool,
}

/// Precision and recall of one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Score {
    /// Rows that carry the label and were given it.
    pub true_positive: usize,
    /// Rows given the label that do not carry it.
    pub false_positive: usize,
    /// Rows that carry the label and were not given it.
    pub false_negative: usize,
}

impl Score {
    /// `None` when the classifier never gave the label.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    /// `None` when no row carries the label.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }

    fn add(&mut self, expected: bool, actual: bool) {
        match (expected, actual) {
            (true, true) => self.true_positive += 1,
            (false, true) => self.false_positive += 1,
            (true, false) => self.false_negative += 1,
            (false, false) => {}
        }
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Accuracy of one yes/no-per-row question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Accuracy {
    pub right: usize,
    pub rows: usize,
}

impl Accuracy {
    pub fn value(&self) -> Option<f64> {
        ratio(self.right, self.rows)
    }

    fn add(&mut self, right: bool) {
        self.rows += 1;
        self.right += usize::from(right);
    }
}

/// Everything `handoff eval` prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub rows: usize,
    /// Over the rows whose expected or actual reply class is set (outbound replies).
    pub reply_class: Accuracy,
    pub reply_classes: BTreeMap<String, Score>,
    /// expected → actual → rows; `-` for no reply class.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub escalate: Accuracy,
    pub qualification: Accuracy,
    pub human_lane: Accuracy,
    pub human_lanes: BTreeMap<String, Score>,
    /// All flags together (micro-averaged), and each flag.
    pub flags: Score,
    pub risk_flags: BTreeMap<String, Score>,
    pub misses: Vec<Miss>,
    /// Rows the classifier marked `needs_confirmation`, and how many of those it still got
    /// right: the cases a human (or the optional judge) is asked to confirm.
    pub unsure: Accuracy,
}

/// One row where some label differs.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub id: String,
    pub problems: Vec<String>,
}

fn label<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Compares every outcome.
pub fn evaluate(outcomes: &[Outcome]) -> Report {
    let mut r = Report {
        rows: outcomes.len(),
        ..Report::default()
    };
    for class in ReplyClass::ALL {
        r.reply_classes.insert(class.to_string(), Score::default());
    }
    for flag in RiskFlag::ALL {
        if !matches!(flag, RiskFlag::DuplicateRecord | RiskFlag::ChannelSwitch) {
            r.risk_flags.insert(flag.to_string(), Score::default());
        }
    }
    for lane in HumanLane::ALL {
        r.human_lanes.insert(lane.to_string(), Score::default());
    }
    for o in outcomes {
        let (e, a) = (&o.expected, &o.actual);
        let mut problems = Vec::new();
        if e.reply_class.is_some() || a.reply_class.is_some() {
            r.reply_class.add(e.reply_class == a.reply_class);
            for class in ReplyClass::ALL {
                if let Some(score) = r.reply_classes.get_mut(class.as_str()) {
                    score.add(e.reply_class == Some(*class), a.reply_class == Some(*class));
                }
            }
            *r.confusion
                .entry(label(e.reply_class))
                .or_default()
                .entry(label(a.reply_class))
                .or_default() += 1;
        }
        if e.reply_class != a.reply_class {
            problems.push(format!(
                "reply class {} → {}",
                label(e.reply_class),
                label(a.reply_class)
            ));
        }
        if o.unsure {
            r.unsure.add(e == a);
        }
        r.escalate.add(e.escalate == a.escalate);
        if e.escalate != a.escalate {
            problems.push(format!("escalate {} → {}", e.escalate, a.escalate));
        }
        r.qualification.add(e.qualification == a.qualification);
        if e.qualification != a.qualification {
            problems.push(format!(
                "qualification {} → {}",
                e.qualification, a.qualification
            ));
        }
        r.human_lane.add(e.human_lane == a.human_lane);
        for lane in HumanLane::ALL {
            if let Some(score) = r.human_lanes.get_mut(lane.as_str()) {
                score.add(e.human_lane == Some(*lane), a.human_lane == Some(*lane));
            }
        }
        if e.human_lane != a.human_lane {
            problems.push(format!(
                "human lane {} → {}",
                label(e.human_lane),
                label(a.human_lane)
            ));
        }
        for (name, score) in r.risk_flags.iter_mut() {
            let flag = RiskFlag::from_label(name).expect("a flag label");
            let (want, got) = (e.risk_flags.contains(&flag), a.risk_flags.contains(&flag));
            score.add(want, got);
            r.flags.add(want, got);
            if want && !got {
                problems.push(format!("missed flag {flag}"));
            } else if got && !want {
                problems.push(format!("extra flag {flag}"));
            }
        }
        if !problems.is_empty() {
            r.misses.push(Miss {
                id: o.id.clone(),
                problems,
            });
        }
    }
    r
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "   -  ".to_string(), |v| format!("{:5.1}%", v * 100.0))
}

/// Reads one headline figure off a report.
type Figure = fn(&Report) -> Option<f64>;

/// The headline figures of several judgings side by side (`rules alone`, `model alone`,
/// `combined`), each beside its goal.
pub fn render_comparison(reports: &[(&str, &Report)]) -> String {
    let mut out = format!("{:<28}", "figure");
    for (name, _) in reports {
        let _ = write!(out, " {name:>12}");
    }
    let _ = writeln!(out, " {:>7}", "goal");
    let rows: [(&str, Figure, &str); 6] = [
        ("reply class accuracy", |r| r.reply_class.value(), "≥ 95%"),
        ("escalate accuracy", |r| r.escalate.value(), "≥ 97%"),
        ("risk-flag recall", |r| r.flags.recall(), "≥ 95%"),
        ("risk-flag precision", |r| r.flags.precision(), "≥ 90%"),
        (
            "human-only lane accuracy",
            |r| r.human_lane.value(),
            "≥ 95%",
        ),
        ("qualification accuracy", |r| r.qualification.value(), "-"),
    ];
    for (name, figure, goal) in rows {
        let _ = write!(out, "{name:<28}");
        for (_, report) in reports {
            let _ = write!(out, " {:>12}", pct(figure(report)));
        }
        let _ = writeln!(out, " {goal:>7}");
    }
    out
}

impl Report {
    /// The report as text, with each headline figure beside its goal.
    pub fn render(&self, split: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "handoff eval: {} rows ({split})", self.rows);
        let _ = writeln!(
            out,
            "\n{:<28} {:>7} {:>7}  {:>9}",
            "figure", "value", "goal", "rows"
        );
        for (name, value, goal, rows) in [
            (
                "reply class accuracy",
                self.reply_class.value(),
                "≥ 95%",
                self.reply_class.rows,
            ),
            (
                "escalate accuracy",
                self.escalate.value(),
                "≥ 97%",
                self.escalate.rows,
            ),
            (
                "risk-flag recall",
                self.flags.recall(),
                "≥ 95%",
                self.flags.true_positive + self.flags.false_negative,
            ),
            (
                "risk-flag precision",
                self.flags.precision(),
                "≥ 90%",
                self.flags.true_positive + self.flags.false_positive,
            ),
            (
                "human-only lane accuracy",
                self.human_lane.value(),
                "≥ 95%",
                self.human_lane.rows,
            ),
            (
                "qualification accuracy",
                self.qualification.value(),
                "-",
                self.qualification.rows,
            ),
        ] {
            let _ = writeln!(out, "{name:<28} {:>7} {goal:>7}  {rows:>9}", pct(value));
        }
        for (title, scores) in [
            ("reply class", &self.reply_classes),
            ("risk flag", &self.risk_flags),
            ("human lane", &self.human_lanes),
        ] {
            let _ = writeln!(
                out,
                "\n{title:<20} {:>9} {:>7}  {:>4} {:>4} {:>4}",
                "precision", "recall", "tp", "fp", "fn"
            );
            for (name, s) in scores {
                let _ = writeln!(
                    out,
                    "{name:<20} {:>9} {:>7}  {:>4} {:>4} {:>4}",
                    pct(s.precision()),
                    pct(s.recall()),
                    s.true_positive,
                    s.false_positive,
                    s.false_negative
                );
            }
        }
        let classes: Vec<String> = std::iter::once("-".to_string())
            .chain(ReplyClass::ALL.iter().map(|c| c.to_string()))
            .collect();
        let short = |c: &str| c.chars().take(6).collect::<String>();
        let _ = writeln!(
            out,
            "\nreply-class confusion (rows: expected, columns: actual)"
        );
        let _ = write!(out, "{:<17}", "");
        for c in &classes {
            let _ = write!(out, " {:>6}", short(c));
        }
        let _ = writeln!(out);
        for want in &classes {
            let _ = write!(out, "{want:<17}");
            for got in &classes {
                let n = self
                    .confusion
                    .get(want)
                    .and_then(|row| row.get(got))
                    .copied()
                    .unwrap_or(0);
                let cell = if n == 0 {
                    ".".to_string()
                } else {
                    n.to_string()
                };
                let _ = write!(out, " {cell:>6}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "\nneeds_confirmation: {} of {} rows (all labels right on {} of them)",
            self.unsure.rows, self.rows, self.unsure.right
        );
        let _ = writeln!(out, "\nmisses: {} of {} rows", self.misses.len(), self.rows);
        for m in &self.misses {
            let _ = writeln!(out, "  {}: {}", m.id, m.problems.join("; "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(class: Option<ReplyClass>, escalate: bool, flags: &[RiskFlag]) -> Labels {
        Labels {
            reply_class: class,
            escalate,
            qualification: Qualification::NeedsConfirmation,
            risk_flags: flags.iter().copied().collect(),
            human_lane: None,
        }
    }

    #[test]
    fn counts_hits_misses_and_confusions() {
        let outcomes = vec![
            Outcome {
                id: "a".into(),
                expected: labels(Some(ReplyClass::Positive), true, &[RiskFlag::Pricing]),
                actual: labels(Some(ReplyClass::Positive), true, &[RiskFlag::Pricing]),
                unsure: true,
            },
            Outcome {
                id: "b".into(),
                expected: labels(Some(ReplyClass::NotNow), false, &[]),
                actual: labels(Some(ReplyClass::Positive), true, &[RiskFlag::AngryBuyer]),
                unsure: true,
            },
            Outcome {
                id: "c".into(),
                expected: labels(None, true, &[RiskFlag::SecurityReview]),
                actual: labels(None, true, &[]),
                unsure: false,
            },
        ];
        let r = evaluate(&outcomes);
        assert_eq!(r.rows, 3);
        assert_eq!(r.reply_class, Accuracy { right: 1, rows: 2 });
        assert_eq!(r.escalate, Accuracy { right: 2, rows: 3 });
        assert_eq!(r.unsure, Accuracy { right: 1, rows: 2 });
        assert_eq!(
            r.reply_classes["positive"],
            Score {
                true_positive: 1,
                false_positive: 1,
                false_negative: 0
            }
        );
        assert_eq!(r.reply_classes["not_now"].recall(), Some(0.0));
        assert_eq!(r.confusion["not_now"]["positive"], 1);
        assert_eq!(
            r.flags,
            Score {
                true_positive: 1,
                false_positive: 1,
                false_negative: 1
            }
        );
        let ids: Vec<&str> = r.misses.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert!(r.misses[0]
            .problems
            .contains(&"reply class not_now → positive".to_string()));
        assert!(r.misses[1]
            .problems
            .contains(&"missed flag security_review".to_string()));
        let text = r.render("all");
        assert!(text.contains("reply class accuracy"), "{text}");
        assert!(text.contains("c: missed flag security_review"), "{text}");
    }
}
