//! CloudWatch Embedded Metric Format: one JSON blob on stdout per invocation, which CloudWatch
//! turns into metrics without any API call.

use serde_json::{json, Map, Value};

/// The metric namespace.
pub const NAMESPACE: &str = "handoff";

/// One EMF document for `service` with these `(name, value, unit)` metrics.
pub fn document(service: &str, metrics: &[(&str, f64, &str)], now_ms: i64) -> Value {
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["service"]],
                "Metrics": metrics.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    root.insert("service".into(), json!(service));
    for (name, value, _) in metrics {
        root.insert((*name).to_string(), json!(value));
    }
    Value::Object(root)
}

/// Prints the EMF document on stdout.
pub fn emit(service: &str, metrics: &[(&str, f64, &str)]) {
    println!(
        "{}",
        document(service, metrics, chrono::Utc::now().timestamp_millis())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_declares_every_metric_it_carries() {
        let d = document(
            "handoff-failover",
            &[("Due", 3.0, "Count"), ("Rerouted", 2.0, "Count")],
            1,
        );
        let declared = &d["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        assert_eq!(declared.as_array().unwrap().len(), 2);
        assert_eq!(d["Due"], 3.0);
        assert_eq!(d["service"], "handoff-failover");
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Namespace"], "handoff");
    }
}
