//! The whole `main` of the SQS-triggered and scheduled functions: set up once, then serve —
//! each invocation with its log context and one EMF document of metrics.

use crate::tally::{self, Tally};
use crate::{logging, metrics, schedule, sqs, wiring};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use handoff_domain::ports::Stage;
use handoff_domain::service::delivery::RetryPolicy;
use lambda_runtime::{service_fn, Error, LambdaEvent};

/// Runs an SQS-triggered stage function (`ReportBatchItemFailures`).
pub async fn stage_function(service: &str, stage: Stage) -> Result<(), Error> {
    logging::init(service);
    let function = match stage {
        Stage::Classify => wiring::Function::Classify,
        Stage::Assign => wiring::Function::Assign,
    };
    let tally = std::sync::Arc::new(Tally::default());
    let services = tally::observe(wiring::services_for(function).await?, &tally);
    let policy =
        RetryPolicy::STANDARD.within(wiring::FunctionConfig::from_env(function)?.max_receives);
    let (services, tally, policy) = (&services, &tally, &policy);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        logging::start_invocation(&event.context);
        let (response, mut counts) =
            sqs::handle_batch_counted(services, stage, event.payload, policy).await;
        counts.extend(sqs::stage_metrics(stage, tally));
        metrics::emit(&counts);
        Ok::<SqsBatchResponse, Error>(response)
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

/// Runs an EventBridge-scheduled function (input: see [`schedule::scheduled_event`]).
pub async fn scheduled_function(service: &str, job: Scheduled) -> Result<(), Error> {
    logging::init(service);
    let services = wiring::services_for(match job {
        Scheduled::Sweep => wiring::Function::Failover,
        Scheduled::Audit => wiring::Function::Audit,
    })
    .await?;
    let services = &services;
    // The audit's bucket and Slack summary, built once (the sweep has none).
    let outputs = match job {
        Scheduled::Audit => Some(
            schedule::AuditPublishing::from_vars(&crate::env::Vars::from_env()).outputs(
                &handoff_aws::calls::Clients::new(handoff_aws::aws_config_from_env().await, None),
                None,
            ),
        ),
        Scheduled::Sweep => None,
    };
    let outputs = &outputs;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            logging::start_invocation(&event.context);
            let input = schedule::scheduled_event(event.payload);
            let (report, counts) = match job {
                Scheduled::Sweep => {
                    let deadline = deadline_instant(event.context.deadline);
                    let report = schedule::sweep(services, &input, Some(deadline)).await?;
                    (
                        serde_json::to_value(&report)?,
                        schedule::sweep_metrics(&report),
                    )
                }
                Scheduled::Audit => {
                    let report = schedule::audit(services, &input).await?;
                    let mut metrics = schedule::audit_metrics(&report);
                    if let Some(outputs) = outputs {
                        let published = schedule::publish_audit(services, &report, outputs).await?;
                        metrics.extend(schedule::publish_metrics(&published, outputs));
                    }
                    (serde_json::to_value(&report)?, metrics)
                }
            };
            metrics::emit(&counts);
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
