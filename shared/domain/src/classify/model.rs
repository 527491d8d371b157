//! The learned part of reply classification: a multinomial logistic regression over features of
//! the reply, trained on the corpus's tuning split by `handoff eval --train`
//! ([`super::training`]), its weights committed as data (`shared/domain/data/reply-model.tsv`).
//!
//! Features are language-independent enough for the seven languages of the corpus: words, word
//! pairs and character 3- to 5-grams inside words of the buyer's own words (quoted history and
//! signatures are already cut by [`super::buyer`]), the words of the subject line (machine
//! replies announce themselves there), the names of machine headers, whether the reply asks
//! something, and its length. Each reply's features are weighted `1/√n` so long and short
//! replies score on one scale.
//!
//! Deterministic and explainable: the same text always gets the same probabilities, and the
//! features that pushed hardest towards the chosen class are quoted as its evidence.

use super::text::{normalise, tokenise};
use super::Input;
use crate::event::EmailReply;
use crate::package::ReplyClass;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

/// The committed model.
const COMMITTED: &str = include_str!("../../data/reply-model.tsv");

/// The first line of a model file.
pub(crate) const HEADER: &str = "# handoff reply-class model v1";

/// The committed model, parsed once.
pub fn committed() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(COMMITTED).expect("the committed reply model parses"))
}

/// How the rules and the model are combined, chosen by cross-validation on the tuning split
/// (see [`super::blend`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blend {
    /// Rule evidence at or above this confidence (percent) decides alone.
    pub rule_decides_at: u8,
    /// Below it, the model overrules a matched rule when its own likeliest class has at least
    /// this probability.
    pub model_overrules_at: f64,
    /// A decision less sure than this (probability) needs a human to confirm it.
    pub confirm_below: f64,
}

impl Default for Blend {
    fn default() -> Self {
        Self {
            rule_decides_at: 95,
            model_overrules_at: 0.5,
            confirm_below: 0.5,
        }
    }
}

/// A trained model: one weight per (feature, class) and a bias per class.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub(crate) classes: Vec<ReplyClass>,
    pub(crate) bias: Vec<f64>,
    pub(crate) weights: HashMap<String, Vec<(usize, f64)>>,
    pub(crate) blend: Blend,
}

/// The model's answer for one reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prediction {
    /// Probability per class, in the order of [`ReplyClass::ALL`].
    pub probabilities: Vec<(ReplyClass, f64)>,
    /// The features that pushed hardest towards each class, strongest first.
    contributions: HashMap<ReplyClass, Vec<(String, f64)>>,
}

impl Prediction {
    /// The probability of one class.
    #[cfg(test)]
    pub fn probability(&self, class: ReplyClass) -> f64 {
        self.probabilities
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(0.0, |(_, p)| *p)
    }

    /// The classes from most to least likely.
    pub(crate) fn ranked(&self) -> Vec<(ReplyClass, f64)> {
        let mut ranked = self.probabilities.clone();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
    }

    /// Up to three words, word pairs, subject words or headers that argued for `class`, quoted
    /// as a reader would recognise them: `"budget", "next quarter"`. Character n-grams count
    /// in the score but are not quoted (a reader cannot check "…ück…").
    pub fn why(&self, class: ReplyClass) -> String {
        let quoted: Vec<String> = self
            .contributions
            .get(&class)
            .into_iter()
            .flatten()
            .filter(|(f, w)| *w > 0.0 && quotable(f))
            .map(|(f, _)| readable(f))
            .take(3)
            .collect();
        if quoted.is_empty() {
            "no distinctive words: spelling and shape of the reply".to_string()
        } else {
            quoted.join(", ")
        }
    }
}

/// Whether a feature means something to a reader.
fn quotable(feature: &str) -> bool {
    match feature.split_once(':') {
        Some(("w" | "b" | "h", _)) => true,
        Some(("s", word)) => word.chars().count() > 3,
        _ => false,
    }
}

/// A feature as a reader would recognise it.
fn readable(feature: &str) -> String {
    match feature.split_once(':') {
        Some(("w" | "b", words)) => format!("\"{words}\""),
        Some(("s", word)) => format!("subject \"{word}\""),
        Some(("c", gram)) => format!("\"…{}…\"", gram.trim_matches('_')),
        Some(("h", name)) => format!("header {name}"),
        Some(("q", _)) => "a question mark".to_string(),
        Some(("len", n)) => format!("length {n}"),
        _ => feature.to_string(),
    }
}

impl Model {
    /// The class probabilities of a reply.
    pub(crate) fn predict(&self, features: &[String]) -> Prediction {
        let scale = 1.0 / (features.len().max(1) as f64).sqrt();
        let mut scores = self.bias.clone();
        let mut contributions: HashMap<ReplyClass, Vec<(String, f64)>> = HashMap::new();
        for f in features {
            for &(k, w) in self.weights.get(f).into_iter().flatten() {
                scores[k] += w * scale;
                contributions
                    .entry(self.classes[k])
                    .or_default()
                    .push((f.clone(), w));
            }
        }
        for list in contributions.values_mut() {
            list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let probs = softmax(&scores);
        let probabilities = ReplyClass::ALL
            .iter()
            .map(|c| {
                let p = self
                    .classes
                    .iter()
                    .position(|k| k == c)
                    .map_or(0.0, |k| probs[k]);
                (*c, p)
            })
            .collect();
        Prediction {
            probabilities,
            contributions,
        }
    }

    /// How many features carry a weight.
    pub fn features(&self) -> usize {
        self.weights.len()
    }

    /// Reads a model file: the header, `classes`, `blend`, `bias`, then one line per feature
    /// (`feature<TAB>class_index:weight…`).
    pub fn parse(text: &str) -> Result<Model, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, first)) if first.starts_with(HEADER) => {}
            _ => return Err(format!("line 1: expected {HEADER:?}")),
        }
        let mut classes = Vec::new();
        let mut bias = Vec::new();
        let mut blend = Blend::default();
        let mut weights = HashMap::new();
        for (i, line) in lines {
            let at = |e: String| format!("line {}: {e}", i + 1);
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cells = line.split('\t');
            let key = cells.next().unwrap_or_default();
            match key {
                "classes" => {
                    classes = cells
                        .map(|c| {
                            ReplyClass::from_label(c).ok_or_else(|| at(format!("class {c:?}")))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "bias" => {
                    bias = cells
                        .map(|c| c.parse::<f64>().map_err(|e| at(e.to_string())))
                        .collect::<Result<_, _>>()?;
                }
                "blend" => {
                    for cell in cells {
                        let (name, value) = cell
                            .split_once('=')
                            .ok_or_else(|| at(format!("{cell:?} is not name=value")))?;
                        let number = value.parse::<f64>().map_err(|e| at(e.to_string()))?;
                        match name {
                            "rule_decides_at" => blend.rule_decides_at = number as u8,
                            "model_overrules_at" => blend.model_overrules_at = number,
                            "confirm_below" => blend.confirm_below = number,
                            other => return Err(at(format!("unknown blend setting {other:?}"))),
                        }
                    }
                }
                feature => {
                    let mut list = Vec::new();
                    for cell in cells {
                        let (k, w) = cell
                            .split_once(':')
                            .ok_or_else(|| at(format!("{cell:?} is not class:weight")))?;
                        let k: usize = k.parse().map_err(|_| at(format!("class index {k:?}")))?;
                        if k >= classes.len() {
                            return Err(at(format!("class index {k} out of range")));
                        }
                        list.push((k, w.parse::<f64>().map_err(|e| at(e.to_string()))?));
                    }
                    weights.insert(unescape(feature), list);
                }
            }
        }
        if classes.is_empty() || bias.len() != classes.len() {
            return Err("classes and bias must be present and the same length".to_string());
        }
        Ok(Model {
            classes,
            bias,
            weights,
            blend,
        })
    }

    /// Writes the model file [`Model::parse`] reads, features sorted so retraining on the same
    /// rows gives the same bytes.
    pub(crate) fn to_text(&self, provenance: &str) -> String {
        let mut out =
            format!("{HEADER} — {provenance}. Written by `handoff eval --train`; do not edit.\n");
        let names: Vec<&str> = self.classes.iter().map(|c| c.as_str()).collect();
        out.push_str(&format!("classes\t{}\n", names.join("\t")));
        out.push_str(&format!(
            "blend\trule_decides_at={}\tmodel_overrules_at={}\tconfirm_below={}\n",
            self.blend.rule_decides_at, self.blend.model_overrules_at, self.blend.confirm_below
        ));
        let bias: Vec<String> = self.bias.iter().map(|b| format!("{b:.4}")).collect();
        out.push_str(&format!("bias\t{}\n", bias.join("\t")));
        let mut features: Vec<&String> = self.weights.keys().collect();
        features.sort();
        for f in features {
            let cells: Vec<String> = self.weights[f]
                .iter()
                .map(|(k, w)| format!("{k}:{w:.3}"))
                .collect();
            out.push_str(&format!("{}\t{}\n", escape(f), cells.join("\t")));
        }
        out
    }
}

/// Tabs and newlines never occur in features (words are split on whitespace), but a feature
/// must not be mistaken for a keyword or comment line either.
fn escape(feature: &str) -> String {
    match feature {
        "classes" | "bias" | "blend" => format!("\\{feature}"),
        f if f.starts_with('#') || f.starts_with('\\') => format!("\\{f}"),
        f => f.to_string(),
    }
}

fn unescape(feature: &str) -> String {
    feature.strip_prefix('\\').unwrap_or(feature).to_string()
}

pub(crate) fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// Headers that say nothing about the sender being a machine or a person.
const ORDINARY_HEADERS: &[&str] = &[
    "message-id",
    "in-reply-to",
    "references",
    "date",
    "from",
    "to",
    "cc",
    "subject",
    "mime-version",
    "content-type",
    "received",
    "dkim-signature",
    "return-path",
];

/// The features of a reply: the set, sorted.
pub(crate) fn features(reply: &EmailReply, buyer_words: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    let (norm, _) = normalise(buyer_words);
    let words: Vec<String> = tokenise(&norm)
        .into_iter()
        .map(|t| digits_folded(&t.text))
        .collect();
    for (i, w) in words.iter().enumerate() {
        out.insert(format!("w:{w}"));
        if let Some(next) = words.get(i + 1) {
            out.insert(format!("b:{w} {next}"));
        }
        let padded: Vec<char> = format!("_{w}_").chars().collect();
        for n in 3..=5 {
            for gram in padded.windows(n) {
                out.insert(format!("c:{}", gram.iter().collect::<String>()));
            }
        }
    }
    let (subject, _) = normalise(&reply.subject);
    for t in tokenise(&subject) {
        out.insert(format!("s:{}", digits_folded(&t.text)));
    }
    for (name, value) in &reply.headers {
        let name = name.to_ascii_lowercase();
        if !ORDINARY_HEADERS.contains(&name.as_str()) {
            out.insert(format!("h:{name}"));
            if name == "precedence" || name == "auto-submitted" {
                out.insert(format!("h:{name}={}", value.trim().to_ascii_lowercase()));
            }
        }
    }
    if norm.contains('?') {
        out.insert("q:?".to_string());
    }
    out.insert(format!("len:{}", length_bucket(words.len())));
    out.into_iter().collect()
}

/// The features of a reply, from the buyer's own words [`Input`] prepared.
pub(crate) fn reply_features(input: &Input, reply: &EmailReply) -> Vec<String> {
    let words: Vec<&str> = input
        .words
        .parts()
        .iter()
        .filter(|p| p.source() == "text")
        .map(|p| p.original())
        .collect();
    features(reply, &words.join("\n"))
}

/// Digits become `0`, so dates and amounts share features.
fn digits_folded(word: &str) -> String {
    word.chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

fn length_bucket(words: usize) -> &'static str {
    match words {
        0 => "0",
        1 => "1",
        2..=3 => "2-3",
        4..=10 => "4-10",
        11..=40 => "11-40",
        _ => "41+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(subject: &str, text: &str) -> EmailReply {
        serde_json::from_value(serde_json::json!({
            "buyer": {"email": "a@b.example"},
            "subject": subject,
            "text": text,
            "thread_id": "t",
            "headers": {"Auto-Submitted": "auto-replied", "Message-ID": "<x>"}
        }))
        .unwrap()
    }

    #[test]
    fn features_cover_words_pairs_grams_subject_headers_and_shape() {
        let f = features(
            &reply("Abwesend", "Bin am 12.01. zurück?"),
            "Bin am 12.01. zurück?",
        );
        for want in [
            "w:bin",
            "b:am 00",
            "c:_zur",
            "c:ck_",
            "s:abwesend",
            "h:auto-submitted",
            "h:auto-submitted=auto-replied",
            "q:?",
            "len:4-10",
        ] {
            assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
        }
        assert!(!f.iter().any(|x| x.starts_with("h:message-id")));
        let mut sorted = f.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, f, "sorted and unique");
    }

    #[test]
    fn a_model_round_trips_through_its_text() {
        let mut weights = HashMap::new();
        weights.insert("w:budget".to_string(), vec![(1, 1.25), (0, -0.5)]);
        weights.insert("bias".to_string(), vec![(0, 0.75)]);
        let model = Model {
            classes: vec![ReplyClass::Positive, ReplyClass::Objection],
            bias: vec![0.1, -0.1],
            weights,
            blend: Blend {
                rule_decides_at: 90,
                model_overrules_at: 0.6,
                confirm_below: 0.4,
            },
        };
        let text = model.to_text("test");
        assert_eq!(Model::parse(&text).unwrap(), model);
        assert_eq!(model.to_text("test"), text, "deterministic");
    }

    #[test]
    fn predictions_are_probabilities_and_explain_themselves() {
        let mut weights = HashMap::new();
        weights.insert("w:budget".to_string(), vec![(1, 4.0)]);
        let model = Model {
            classes: vec![ReplyClass::Positive, ReplyClass::Objection],
            bias: vec![0.0, 0.0],
            weights,
            blend: Blend::default(),
        };
        let p = model.predict(&["w:budget".to_string(), "w:no".to_string()]);
        let total: f64 = p.probabilities.iter().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert_eq!(p.ranked()[0].0, ReplyClass::Objection);
        assert!(p.probability(ReplyClass::Objection) > 0.9);
        assert_eq!(p.probability(ReplyClass::Unsubscribe), 0.0);
        assert_eq!(p.why(ReplyClass::Objection), "\"budget\"");
        assert_eq!(
            p.why(ReplyClass::Positive),
            "no distinctive words: spelling and shape of the reply"
        );
    }

    #[test]
    fn broken_model_files_name_the_line() {
        assert!(Model::parse("nope").unwrap_err().contains("line 1"));
        let bad = format!("{HEADER}\nclasses\tpositive\nbias\t0\nw:x\t7:1.0\n");
        assert!(Model::parse(&bad).unwrap_err().contains("line 4"));
    }

    #[test]
    fn the_committed_model_parses() {
        assert!(!committed().classes.is_empty());
    }
}
