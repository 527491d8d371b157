//! Training the reply-class model ([`super::model`]) on labelled replies, and choosing how it is
//! blended with the rules ([`super::blend`]) by cross-validation. Pure and deterministic: no
//! randomness anywhere, so the same rows always give the same model file, byte for byte.
//!
//! - Vocabulary: features that occur in at least [`MIN_DOCS`] training replies.
//! - Fit: multinomial logistic regression, full-batch AdaGrad for [`ITERATIONS`] steps with an
//!   L2 penalty of [`L2`]; weights below [`KEEP_ABOVE`] in magnitude are dropped from the file.
//! - Blend: [`FOLDS`]-fold cross-validation on the training rows (row `i` is in fold `i % 5`):
//!   every fold's replies are predicted by a model trained on the other folds, and the blend
//!   settings that get the most reply classes and escalate decisions right on those
//!   predictions are written into the model. The held-out split is never read here.

use super::blend::{decide, escalates, Judging, RuleGuess};
use super::flags::{human_lane, risk_flags};
use super::model::{reply_features, softmax, Blend, Model, Prediction};
use super::reply::classify_reply;
use super::{Input, MatchContext};
use crate::config::Rules;
use crate::event::{EventKind, IntakeEvent};
use crate::package::ReplyClass;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// A feature must occur in this many training replies to get a weight.
pub const MIN_DOCS: usize = 3;
/// Gradient steps.
pub const ITERATIONS: usize = 300;
/// L2 penalty per weight.
pub const L2: f64 = 1e-5;
/// AdaGrad step size.
const LEARNING_RATE: f64 = 2.0;
/// Weights smaller than this are not written.
pub const KEEP_ABOVE: f64 = 0.1;
/// Cross-validation folds.
pub const FOLDS: usize = 5;

/// One labelled reply to learn from.
#[derive(Debug, Clone, Copy)]
pub struct LabelledReply<'a> {
    pub event: &'a IntakeEvent,
    pub class: ReplyClass,
    pub escalate: bool,
}

/// A reply prepared for training: its features, what the rules said, and its labels.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    pub features: Vec<String>,
    pub rule: RuleGuess,
    /// The rules found legal, security or procurement work, or the account is strategic (a
    /// question then escalates).
    pub review_lane: bool,
    pub class: ReplyClass,
    pub escalate: bool,
}

/// What the rules and the features of one reply are; `None` for events that are not replies.
pub(crate) fn example(row: &LabelledReply, rules: &Rules) -> Option<Example> {
    let EventKind::EmailReply(reply) = &row.event.kind else {
        return None;
    };
    let ctx = MatchContext::default();
    let input = Input::new(row.event, &ctx, rules);
    let rv = classify_reply(&input, reply);
    let flags = risk_flags(&input);
    Some(Example {
        features: reply_features(&input, reply),
        rule: RuleGuess {
            class: rv.class,
            confidence: rv.found.confidence,
            unmatched: rv.unmatched,
        },
        review_lane: super::outbound::is_review_lane(human_lane(&input.words, &flags))
            || reply.account.as_ref().is_some_and(|a| a.strategic),
        class: row.class,
        escalate: row.escalate,
    })
}

/// A trained model and how it did in cross-validation.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model file (`shared/domain/data/reply-model.tsv`).
    pub model_text: String,
    /// The cross-validation figures, for the person who ran the training.
    pub report: String,
}

/// Trains on `rows` (the tuning split's replies) and chooses the blend by cross-validation.
pub fn train(rows: &[LabelledReply], rules: &Rules) -> Trained {
    let examples: Vec<Example> = rows.iter().filter_map(|r| example(r, rules)).collect();
    let mut held: Vec<Option<Prediction>> = vec![None; examples.len()];
    for fold in 0..FOLDS {
        let train_on: Vec<&Example> = examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS != fold)
            .map(|(_, e)| e)
            .collect();
        let model = fit(&train_on, Blend::default());
        for (i, e) in examples.iter().enumerate() {
            if i % FOLDS == fold {
                held[i] = Some(model.predict(&e.features));
            }
        }
    }
    let held: Vec<Prediction> = held.into_iter().map(|p| p.expect("every fold")).collect();
    let (blend, table) = choose_blend(&examples, &held);
    let all: Vec<&Example> = examples.iter().collect();
    let model = fit(&all, blend);
    let mut report = format!(
        "trained on {} replies, {} features kept\n\ncross-validated ({FOLDS} folds) on the training rows:\n",
        examples.len(),
        model.weights.len()
    );
    report.push_str(&table);
    let provenance = format!(
        "{} tuning replies, {FOLDS}-fold blend, min_docs={MIN_DOCS}, iterations={ITERATIONS}, l2={L2}",
        examples.len()
    );
    Trained {
        model_text: model.to_text(&provenance),
        report,
    }
}

/// The blend settings tried. Abstention stays on (`confirm_below` > 0: an unsure reply is
/// always said to be unsure) and only strong rule evidence may decide alone: the rules were
/// tuned on these same rows, so cross-validation flatters them and would otherwise hand them
/// every decision.
fn grid() -> Vec<Blend> {
    let mut out = Vec::new();
    for rule_decides_at in [85, 90, 95] {
        for model_overrules_at in [0.5, 0.6, 0.7, 0.8, 1.01] {
            for confirm_below in [0.3, 0.4, 0.5] {
                out.push(Blend {
                    rule_decides_at,
                    model_overrules_at,
                    confirm_below,
                });
            }
        }
    }
    out
}

/// Right answers out of `examples` under one judging and blend: (reply class, escalate).
fn score(
    examples: &[Example],
    held: &[Prediction],
    blend: &Blend,
    judging: Judging,
) -> (usize, usize) {
    let mut class_right = 0;
    let mut escalate_right = 0;
    for (e, p) in examples.iter().zip(held) {
        let d = decide(&e.rule, p, blend, judging);
        class_right += usize::from(d.class == e.class);
        escalate_right += usize::from(escalates(&d, e.review_lane) == e.escalate);
    }
    (class_right, escalate_right)
}

/// The best blend on the cross-validated predictions (ties: the earliest in [`grid`]), and a table of rules-only, model-only and combined figures.
fn choose_blend(examples: &[Example], held: &[Prediction]) -> (Blend, String) {
    let mut best = (Blend::default(), 0usize);
    for blend in grid() {
        let (c, e) = score(examples, held, &blend, Judging::Combined);
        if c + e > best.1 {
            best = (blend, c + e);
        }
    }
    let n = examples.len().max(1) as f64;
    let mut table = String::new();
    for (name, judging) in [
        ("rules alone", Judging::RulesOnly),
        ("model alone", Judging::ModelOnly),
        ("combined", Judging::Combined),
    ] {
        let (c, e) = score(examples, held, &best.0, judging);
        let _ = writeln!(
            table,
            "  {name:<12} reply class {:>5.1} %   escalate {:>5.1} %",
            100.0 * c as f64 / n,
            100.0 * e as f64 / n
        );
    }
    let b = best.0;
    let _ = writeln!(
        table,
        "\nblend chosen: rule_decides_at={} model_overrules_at={} confirm_below={}",
        b.rule_decides_at, b.model_overrules_at, b.confirm_below
    );
    (b, table)
}

/// How a model is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub min_docs: usize,
    pub iterations: usize,
    pub l2: f64,
    pub learning_rate: f64,
    pub keep_above: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_docs: MIN_DOCS,
            iterations: ITERATIONS,
            l2: L2,
            learning_rate: LEARNING_RATE,
            keep_above: KEEP_ABOVE,
        }
    }
}

/// Fits a model on `examples` with the default settings.
fn fit(examples: &[&Example], blend: Blend) -> Model {
    fit_with(examples, blend, &Settings::default())
}

/// Fits a model on `examples` (see the module docs).
pub(crate) fn fit_with(examples: &[&Example], blend: Blend, settings: &Settings) -> Model {
    let classes: Vec<ReplyClass> = ReplyClass::ALL.to_vec();
    let k = classes.len();
    let mut docs: BTreeMap<&str, usize> = BTreeMap::new();
    for e in examples {
        for f in &e.features {
            *docs.entry(f.as_str()).or_default() += 1;
        }
    }
    let vocab: Vec<&str> = docs
        .into_iter()
        .filter(|(_, n)| *n >= settings.min_docs)
        .map(|(f, _)| f)
        .collect();
    let index: HashMap<&str, usize> = vocab.iter().enumerate().map(|(i, f)| (*f, i)).collect();
    let rows: Vec<(Vec<usize>, f64, usize)> = examples
        .iter()
        .map(|e| {
            let ids = e
                .features
                .iter()
                .filter_map(|f| index.get(f.as_str()).copied())
                .collect();
            let scale = 1.0 / (e.features.len().max(1) as f64).sqrt();
            let y = classes.iter().position(|c| *c == e.class).expect("a class");
            (ids, scale, y)
        })
        .collect();
    let v = vocab.len();
    let mut w = vec![0.0f64; v * k];
    let mut b = vec![0.0f64; k];
    let mut gw_sum = vec![0.0f64; v * k];
    let mut gb_sum = vec![0.0f64; k];
    let n = rows.len().max(1) as f64;
    for _ in 0..settings.iterations {
        let mut gw = vec![0.0f64; v * k];
        let mut gb = vec![0.0f64; k];
        for (ids, scale, y) in &rows {
            let mut scores = b.clone();
            for &f in ids {
                for c in 0..k {
                    scores[c] += w[f * k + c] * scale;
                }
            }
            let p = softmax(&scores);
            for c in 0..k {
                let g = p[c] - if c == *y { 1.0 } else { 0.0 };
                gb[c] += g / n;
                for &f in ids {
                    gw[f * k + c] += g * scale / n;
                }
            }
        }
        for i in 0..v * k {
            let g = gw[i] + settings.l2 * w[i];
            gw_sum[i] += g * g;
            if gw_sum[i] > 0.0 {
                w[i] -= settings.learning_rate * g / gw_sum[i].sqrt();
            }
        }
        for c in 0..k {
            gb_sum[c] += gb[c] * gb[c];
            if gb_sum[c] > 0.0 {
                b[c] -= settings.learning_rate * gb[c] / gb_sum[c].sqrt();
            }
        }
    }
    let mut weights = HashMap::new();
    for (i, f) in vocab.iter().enumerate() {
        let kept: Vec<(usize, f64)> = (0..k)
            .map(|c| (c, round3(w[i * k + c])))
            .filter(|(_, x)| x.abs() >= settings.keep_above)
            .collect();
        if !kept.is_empty() {
            weights.insert((*f).to_string(), kept);
        }
    }
    Model {
        classes,
        bias: b.iter().map(|x| (x * 1e4).round() / 1e4).collect(),
        weights,
        blend,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::super::model::features;
    use super::*;

    fn reply(text: &str) -> IntakeEvent {
        serde_json::from_value(serde_json::json!({
            "type": "email_reply", "source": "test", "channel": "email",
            "provider_event_id": text, "received_at": "2026-11-20T10:00:00Z",
            "buyer": {"email": "a@b.example"}, "subject": "Re: hello", "text": text,
            "thread_id": "t"
        }))
        .unwrap()
    }

    #[test]
    fn training_is_deterministic_and_learns_the_rows() {
        let texts = [
            ("budget is gone for this year", ReplyClass::Objection, true),
            (
                "no budget left this year sorry",
                ReplyClass::Objection,
                true,
            ),
            ("our budget is spent already", ReplyClass::Objection, true),
            ("the budget went elsewhere", ReplyClass::Objection, true),
            (
                "budget frozen until further notice",
                ReplyClass::Objection,
                true,
            ),
            ("try again next spring please", ReplyClass::NotNow, false),
            ("again next spring maybe", ReplyClass::NotNow, false),
            (
                "next spring works better, try again",
                ReplyClass::NotNow,
                false,
            ),
            (
                "spring would be the time, try again then",
                ReplyClass::NotNow,
                false,
            ),
            ("come back in spring, try again", ReplyClass::NotNow, false),
        ];
        let events: Vec<IntakeEvent> = texts.iter().map(|t| reply(t.0)).collect();
        let rows: Vec<LabelledReply> = events
            .iter()
            .zip(&texts)
            .map(|(event, t)| LabelledReply {
                event,
                class: t.1,
                escalate: t.2,
            })
            .collect();
        let rules = crate::routing::testing::example_rules();
        let a = train(&rows, &rules);
        let b = train(&rows, &rules);
        assert_eq!(a.model_text, b.model_text, "same rows, same bytes");
        assert!(a.report.contains("model alone"), "{}", a.report);
        let model = Model::parse(&a.model_text).unwrap();
        let f = features(
            match &reply("x").kind {
                EventKind::EmailReply(r) => r,
                _ => unreachable!(),
            },
            "the budget is spent",
        );
        assert_eq!(model.predict(&f).ranked()[0].0, ReplyClass::Objection);
    }
}
