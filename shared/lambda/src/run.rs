//! The whole `main` of the SQS-triggered and scheduled functions: set up once, then serve.

use crate::{logging, schedule, sqs, wiring};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use handoff_domain::ports::Stage;
use lambda_runtime::{service_fn, Error, LambdaEvent};

/// Runs an SQS-triggered stage function (`ReportBatchItemFailures`).
pub async fn stage_function(service: &str, stage: Stage) -> Result<(), Error> {
    logging::init(service);
    let services = wiring::services_from_env().await?;
    let services = &services;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        logging::start_invocation(
            &event.context.request_id,
            event.context.xray_trace_id.as_deref(),
        );
        Ok::<SqsBatchResponse, Error>(sqs::handle_batch(services, stage, event.payload).await)
    }))
    .await
}

/// What a scheduled function does on each EventBridge event.
#[derive(Debug, Clone, Copy)]
pub enum Scheduled {
    /// The failover sweep.
    Sweep,
    /// The weekly audit.
    Audit,
}

/// Runs an EventBridge-scheduled function.
pub async fn scheduled_function(service: &str, job: Scheduled) -> Result<(), Error> {
    logging::init(service);
    let services = wiring::services_from_env().await?;
    let services = &services;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent>| async move {
            logging::start_invocation(
                &event.context.request_id,
                event.context.xray_trace_id.as_deref(),
            );
            let report = match job {
                Scheduled::Sweep => {
                    let deadline = deadline_instant(event.context.deadline);
                    serde_json::to_value(
                        schedule::sweep(services, &event.payload, Some(deadline)).await?,
                    )?
                }
                Scheduled::Audit => {
                    serde_json::to_value(schedule::audit(services, &event.payload).await?)?
                }
            };
            Ok::<_, Error>(report)
        },
    ))
    .await
}

/// The invocation deadline (epoch milliseconds from the runtime API) as an `Instant`.
fn deadline_instant(deadline_ms: u64) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    std::time::Instant::now() + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
