//! CloudWatch Embedded Metric Format (EMF): each function prints what one invocation did as
//! JSON on stdout, which CloudWatch turns into metrics in the namespace `handoff` without an
//! API call.
//!
//! Every metric has the dimension `stage` (the deployment stage, `HANDOFF_STAGE`, default
//! `local`), so two stacks in one account never mix, and every document carries the properties
//! `stage` and `service`. A metric with a breakdown ([`Metric::by`]) is declared with the
//! dimension sets `[["stage"], ["stage", key]]`: one value feeds the stage total and the
//! breakdown. A dimension has one value per document, so values for two breakdown values (two
//! classes in one SQS batch) need two documents: [`documents`] sums equal metrics and packs the
//! rest into as few documents as it can — one per invocation in the common case, never one per
//! message.
//!
//! A document also carries `level` and `timestamp`: with Lambda's JSON log format a line without
//! a level counts as INFO, and an application log level of WARN would drop it — and the metric.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The metric namespace.
pub const NAMESPACE: &str = "handoff";

/// One metric value of an invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub value: f64,
    /// A CloudWatch unit: `Count`, `Percent`, `None`…
    pub unit: &'static str,
    /// The extra dimension this value is broken down by: `("provider", "typeform")`.
    pub by: Option<(&'static str, String)>,
}

impl Metric {
    /// A count.
    pub fn count(name: &'static str, n: usize) -> Self {
        Self::new(name, n as f64, "Count")
    }

    /// Any value.
    pub fn new(name: &'static str, value: f64, unit: &'static str) -> Self {
        Metric {
            name,
            value,
            unit,
            by: None,
        }
    }

    /// Also broken down by the dimension `key` (declared as `[["stage"], ["stage", key]]`).
    pub fn by(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.by = Some((key, value.into()));
        self
    }
}

/// The deployment stage: `HANDOFF_STAGE`, or `local`.
pub fn stage() -> &'static str {
    static STAGE: OnceLock<String> = OnceLock::new();
    STAGE.get_or_init(|| {
        std::env::var("HANDOFF_STAGE")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "local".into())
    })
}

/// Adds a zero for each of `names` that `metrics` does not report, so every invocation gives
/// every metric of its function a data point (alarms then see 0, not missing data).
pub fn zero_unless_reported(metrics: &mut Vec<Metric>, names: &[&'static str]) {
    for name in names {
        if !metrics.iter().any(|m| m.name == *name) {
            metrics.push(Metric::count(name, 0));
        }
    }
}

/// One document's worth of metrics: at most one value per breakdown key and per name.
#[derive(Default)]
struct Doc {
    keys: BTreeMap<&'static str, String>,
    metrics: Vec<Metric>,
}

impl Doc {
    fn fits(&self, m: &Metric) -> bool {
        !self.metrics.iter().any(|x| x.name == m.name)
            && m.by
                .as_ref()
                .is_none_or(|(k, v)| self.keys.get(k).is_none_or(|have| have == v))
    }
}

/// The EMF documents for `metrics` of `service` in `stage`, with `level` for Lambda's log
/// filter (see the module docs).
pub fn documents(
    service: &str,
    stage: &str,
    metrics: &[Metric],
    now: DateTime<Utc>,
    level: &str,
) -> Vec<Value> {
    let mut summed: Vec<Metric> = Vec::new();
    for m in metrics {
        match summed.iter_mut().find(|s| s.name == m.name && s.by == m.by) {
            Some(s) => s.value += m.value,
            None => summed.push(m.clone()),
        }
    }
    let mut docs: Vec<Doc> = Vec::new();
    for m in summed {
        let i = match docs.iter().position(|d| d.fits(&m)) {
            Some(i) => i,
            None => {
                docs.push(Doc::default());
                docs.len() - 1
            }
        };
        if let Some((k, v)) = &m.by {
            docs[i].keys.insert(k, v.clone());
        }
        docs[i].metrics.push(m);
    }
    docs.into_iter()
        .map(|doc| document(service, stage, &doc, now, level))
        .collect()
}

fn document(service: &str, stage: &str, doc: &Doc, now: DateTime<Utc>, level: &str) -> Value {
    let mut directives: BTreeMap<Option<&str>, Vec<Value>> = BTreeMap::new();
    for m in &doc.metrics {
        directives
            .entry(m.by.as_ref().map(|(k, _)| *k))
            .or_default()
            .push(json!({"Name": m.name, "Unit": m.unit}));
    }
    let directives: Vec<Value> = directives
        .into_iter()
        .map(|(key, metrics)| {
            let dimensions = match key {
                None => json!([["stage"]]),
                Some(k) => json!([["stage"], ["stage", k]]),
            };
            json!({"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics})
        })
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": now.timestamp_millis(), "CloudWatchMetrics": directives}),
    );
    root.insert("level".into(), json!(level));
    root.insert(
        "timestamp".into(),
        json!(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    root.insert("service".into(), json!(service));
    root.insert("stage".into(), json!(stage));
    for (k, v) in &doc.keys {
        root.insert((*k).to_string(), json!(v));
    }
    for m in &doc.metrics {
        let whole = m.value.fract() == 0.0 && m.value.abs() < 1e15;
        let value = if whole {
            json!(m.value as i64)
        } else {
            json!(m.value)
        };
        root.insert(m.name.to_string(), value);
    }
    Value::Object(root)
}

/// Prints the EMF documents of this invocation's `metrics` on stdout.
pub fn emit(metrics: &[Metric]) {
    let docs = documents(
        crate::logging::service(),
        stage(),
        metrics,
        Utc::now(),
        crate::logging::passing_level(),
    );
    for doc in docs {
        println!("{doc}");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that every declared metric has a numeric value, every dimension of every set has
    /// a value, every set starts with `stage`, and returns `(name, value, dimension sets)`.
    pub(crate) fn declared(doc: &Value) -> Vec<(String, f64, Value)> {
        assert_eq!(doc["stage"], "prod");
        assert!(doc["service"].is_string());
        assert!(doc["level"].is_string());
        assert!(doc["timestamp"].is_string());
        assert!(doc["_aws"]["Timestamp"].is_i64());
        let mut out = Vec::new();
        for d in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(d["Namespace"], NAMESPACE);
            for set in d["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert_eq!(set[0], "stage", "{doc}");
                for key in set {
                    assert!(
                        doc[key.as_str().unwrap()].is_string(),
                        "no value for {key} in {doc}"
                    );
                }
            }
            for m in d["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                let value = doc[name]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name} declared without a value: {doc}"));
                out.push((name.to_string(), value, d["Dimensions"].clone()));
            }
        }
        let undeclared: Vec<&String> = doc
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| v.is_number() && !out.iter().any(|(n, _, _)| n == *k))
            .map(|(k, _)| k)
            .collect();
        assert!(undeclared.is_empty(), "values not declared: {undeclared:?}");
        out
    }

    fn docs(metrics: &[Metric]) -> Vec<Value> {
        documents("handoff-intake", "prod", metrics, Utc::now(), "INFO")
    }

    #[test]
    fn one_document_declares_the_stage_and_the_breakdown() {
        let d = docs(&[
            Metric::count("EventsAccepted", 1).by("provider", "typeform"),
            Metric::count("EventsRejected", 0).by("provider", "typeform"),
        ]);
        assert_eq!(d.len(), 1);
        let declared = declared(&d[0]);
        assert_eq!(d[0]["provider"], "typeform");
        assert_eq!(d[0]["service"], "handoff-intake");
        assert_eq!(declared.len(), 2);
        for (name, value, sets) in declared {
            assert_eq!(sets, json!([["stage"], ["stage", "provider"]]));
            assert_eq!(value, if name == "EventsAccepted" { 1.0 } else { 0.0 });
        }
    }

    #[test]
    fn alarmed_metrics_have_the_stage_only_set() {
        let d = docs(&[
            Metric::count("SlaBreaches", 2),
            Metric::count("FailoverFailures", 0),
        ]);
        assert_eq!(d.len(), 1);
        for (_, _, sets) in declared(&d[0]) {
            assert_eq!(sets, json!([["stage"]]));
        }
        assert_eq!(d[0]["SlaBreaches"], 2);
    }

    #[test]
    fn equal_metrics_are_summed_and_different_breakdowns_get_their_own_document() {
        let d = docs(&[
            Metric::count("HandoffsClassified", 1).by("class", "demo_request"),
            Metric::count("MessagesRetried", 1).by("queue", "classify"),
            Metric::count("HandoffsClassified", 1).by("class", "demo_request"),
            Metric::count("HandoffsClassified", 1).by("class", "none"),
            Metric::count("MessagesDeadLettered", 0).by("queue", "classify"),
        ]);
        assert_eq!(d.len(), 2, "{d:?}");
        let first = declared(&d[0]);
        assert_eq!(first.len(), 3);
        assert_eq!(d[0]["class"], "demo_request");
        assert_eq!(d[0]["HandoffsClassified"], 2);
        assert_eq!(d[0]["queue"], "classify");
        let second = declared(&d[1]);
        assert_eq!(second.len(), 1);
        assert_eq!(d[1]["class"], "none");
        assert_eq!(d[1]["HandoffsClassified"], 1);
        assert!(d[1].get("queue").is_none());
    }

    #[test]
    fn zeros_fill_what_was_not_reported() {
        let mut m = vec![Metric::count("HandoffsAssigned", 2)];
        zero_unless_reported(&mut m, &["HandoffsAssigned", "CrmWrites"]);
        assert_eq!(
            m,
            [
                Metric::count("HandoffsAssigned", 2),
                Metric::count("CrmWrites", 0)
            ]
        );
        assert!(docs(&[]).is_empty());
    }
}
