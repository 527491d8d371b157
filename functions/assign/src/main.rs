//! `assign`: the SQS-triggered assign stage, with partial batch failures (ReportBatchItemFailures).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use handoff_domain::ports::Stage;
use handoff_lambda::{logging, sqs, wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init("handoff-assign");
    let services = wiring::services_from_env().await?;
    let services = &services;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        logging::start_invocation(
            &event.context.request_id,
            event.context.xray_trace_id.as_deref(),
        );
        Ok::<SqsBatchResponse, Error>(
            sqs::handle_batch(services, Stage::Assign, event.payload).await,
        )
    }))
    .await
}
