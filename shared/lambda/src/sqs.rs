//! SQS-triggered stages: each record is handled on its own, and one bad message never fails its
//! batch-mates. A transient failure is postponed with the retry policy's backoff
//! (`ChangeMessageVisibility`) and reported as a batch item failure; SQS counts the delivery
//! toward the redrive policy's `maxReceiveCount`, which the template sets above the policy's
//! attempts, so the policy dead-letters a message that keeps failing with its reason before SQS
//! would without one. A permanent failure is moved to the DLQ at once with its reason.
//!
//! Metrics of a batch (one EMF document per invocation, see [`crate::metrics`]):
//! `MessagesRetried` and `MessagesDeadLettered` by `queue`, plus what the stage did, counted by
//! [`crate::tally`]: `HandoffsClassified` by `class` (classify; with a judge also `JudgeCalls` by
//! `outcome` and `JudgeCostUsd`), `HandoffsAssigned`, `CrmWrites` and `Notifications` by `kind`
//! (assign).

use crate::metrics::{self, Metric};
use crate::tally::Tally;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use handoff_domain::ports::{Delivery, Stage};
use handoff_domain::service::delivery::{Action, RetryPolicy};
use handoff_domain::service::Services;

/// Handles one SQS batch for `stage` with the standard retry policy.
pub async fn handle_batch(services: &Services, stage: Stage, event: SqsEvent) -> SqsBatchResponse {
    handle_batch_counted(services, stage, event, &RetryPolicy::STANDARD)
        .await
        .0
}

/// Handles one SQS batch for `stage`, with the batch's retry and dead-letter counts.
pub async fn handle_batch_counted(
    services: &Services,
    stage: Stage,
    event: SqsEvent,
    policy: &RetryPolicy,
) -> (SqsBatchResponse, Vec<Metric>) {
    let mut response = SqsBatchResponse::default();
    let (mut retried, mut dead_lettered) = (0, 0);
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let delivery = Delivery {
            body: record.body.clone().unwrap_or_default(),
            receipt: record.receipt_handle.clone().unwrap_or_default(),
            receive_count: record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
        };
        let disposition = services.handle_message(stage, &delivery.body).await;
        match policy.action(disposition, &delivery) {
            Action::Ack(outcome) => {
                tracing::info!(message_id = %message_id, stage = stage.as_str(), outcome = ?outcome, "message processed");
            }
            Action::Postpone { after, reason } => {
                tracing::warn!(message_id = %message_id, stage = stage.as_str(), receive_count = delivery.receive_count, retry_in_s = after.as_secs(), %reason, "transient failure; will retry");
                if let Err(e) = services.queue.postpone(stage, &delivery, after).await {
                    tracing::warn!(message_id = %message_id, error = %e, "could not postpone; it comes back after the visibility timeout");
                }
                response.add_failure(message_id);
                retried += 1;
            }
            Action::DeadLetter(reason) => {
                tracing::error!(message_id = %message_id, stage = stage.as_str(), %reason, "message moved to the dead-letter queue");
                match services.queue.dead_letter(stage, &delivery, &reason).await {
                    Ok(()) => dead_lettered += 1,
                    Err(e) => {
                        tracing::error!(message_id = %message_id, error = %e, "could not dead-letter; leaving it for SQS redrive");
                        response.add_failure(message_id);
                        retried += 1;
                    }
                }
            }
        }
    }
    let queue = stage.as_str();
    let metrics = vec![
        Metric::count("MessagesRetried", retried).by("queue", queue),
        Metric::count("MessagesDeadLettered", dead_lettered).by("queue", queue),
    ];
    (response, metrics)
}

/// What the stage did, as counted by `tally`: each of the stage's metrics, 0 when nothing
/// happened.
pub fn stage_metrics(stage: Stage, tally: &Tally) -> Vec<Metric> {
    let names: &[&'static str] = match stage {
        Stage::Classify => &["HandoffsClassified"],
        Stage::Assign => &["HandoffsAssigned", "CrmWrites", "Notifications"],
    };
    // Reported only when the judge was asked (most stacks have none).
    let optional: &[&'static str] = match stage {
        Stage::Classify => &["JudgeCalls", "JudgeCostUsd"],
        Stage::Assign => &[],
    };
    let mut counted = tally.drain();
    counted.retain(|m| names.contains(&m.name) || optional.contains(&m.name));
    metrics::zero_unless_reported(&mut counted, names);
    counted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::documents;
    use crate::metrics::tests::declared;
    use serde_json::json;

    #[test]
    fn a_classify_batch_is_one_document_per_class_with_queue_counts() {
        let tally = Tally::default();
        for class in ["demo_request", "none", "demo_request"] {
            tally.add(Metric::count("HandoffsClassified", 1).by("class", class));
        }
        let mut m = vec![
            Metric::count("MessagesRetried", 1).by("queue", "classify"),
            Metric::count("MessagesDeadLettered", 0).by("queue", "classify"),
        ];
        m.extend(stage_metrics(Stage::Classify, &tally));
        let docs = documents("handoff-classify", "prod", &m, chrono::Utc::now(), "INFO");
        assert_eq!(docs.len(), 2, "two classes: {docs:?}");
        let first = declared(&docs[0]);
        let names: Vec<&str> = first.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "HandoffsClassified",
                "MessagesRetried",
                "MessagesDeadLettered"
            ]
        );
        assert_eq!(first[0].2, json!([["stage"], ["stage", "class"]]));
        assert_eq!(first[1].2, json!([["stage"], ["stage", "queue"]]));
        assert_eq!(docs[0]["class"], "demo_request");
        assert_eq!(docs[0]["HandoffsClassified"], 2);
        assert_eq!(docs[0]["queue"], "classify");
        assert_eq!(docs[0]["MessagesRetried"], 1);
        assert_eq!(declared(&docs[1]).len(), 1);
        assert_eq!(docs[1]["class"], "none");
        assert_eq!(docs[1]["HandoffsClassified"], 1);
    }

    #[test]
    fn nothing_classified_is_a_zero_total() {
        let m = stage_metrics(Stage::Classify, &Tally::default());
        assert_eq!(m, [Metric::count("HandoffsClassified", 0)]);
    }

    #[test]
    fn assign_reports_every_metric_even_when_idle() {
        let m = stage_metrics(Stage::Assign, &Tally::default());
        let names: Vec<&str> = m.iter().map(|m| m.name).collect();
        assert_eq!(names, ["HandoffsAssigned", "CrmWrites", "Notifications"]);
        assert!(m.iter().all(|m| m.value == 0.0));
    }
}
