//! `intake`: the function URL providers and agents POST events to. Answers 202 with the handoff
//! id only after the event is stored in DynamoDB and enqueued on SQS.

use handoff_lambda::{http, logging, wiring};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init("handoff-intake");
    let services = Arc::new(wiring::services_from_env().await?);
    http::serve(handoff_api::intake_router(services)).await
}
