//! SQS-triggered stages: each record is handled on its own; a transient failure becomes a batch
//! item failure (retried by SQS, then redriven to the DLQ after maxReceiveCount), a permanent one
//! is moved to the DLQ at once with its reason. One bad message never fails its batch-mates.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use handoff_domain::ports::{Delivery, Stage};
use handoff_domain::service::delivery::Disposition;
use handoff_domain::service::Services;

/// Handles one SQS batch for `stage`.
pub async fn handle_batch(services: &Services, stage: Stage, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
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
        match services.handle_message(stage, &delivery.body).await {
            Disposition::Ack(outcome) => {
                tracing::info!(message_id = %message_id, stage = stage.as_str(), outcome = ?outcome, "message processed");
            }
            Disposition::Retry(reason) => {
                tracing::warn!(message_id = %message_id, stage = stage.as_str(), receive_count = delivery.receive_count, %reason, "message will be retried");
                response.add_failure(message_id);
            }
            Disposition::DeadLetter(reason) => {
                tracing::error!(message_id = %message_id, stage = stage.as_str(), %reason, "poison message moved to the dead-letter queue");
                if let Err(e) = services.queue.dead_letter(stage, &delivery, &reason).await {
                    tracing::error!(message_id = %message_id, error = %e, "could not dead-letter; leaving it for SQS redrive");
                    response.add_failure(message_id);
                }
            }
        }
    }
    response
}
