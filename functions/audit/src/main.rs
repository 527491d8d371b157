//! `audit`: the weekly EventBridge-scheduled audit; logs the metrics.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use handoff_lambda::{logging, schedule, wiring};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init("handoff-audit");
    let services = wiring::services_from_env().await?;
    let services = &services;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent>| async move {
            logging::start_invocation(
                &event.context.request_id,
                event.context.xray_trace_id.as_deref(),
            );
            let report = schedule::audit(services, &event.payload).await?;
            Ok::<_, Error>(report)
        },
    ))
    .await
}
