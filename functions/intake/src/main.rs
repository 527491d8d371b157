//! `intake`: the function URL providers and agents POST events to. Verifies each provider's
//! credentials (secrets from Secrets Manager), then answers 202 with the handoff ids only after
//! the events are stored in DynamoDB and enqueued on SQS.

use handoff_lambda::{http, logging, wiring};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init("handoff-intake");
    let app = Arc::new(wiring::app_from_env().await?);
    http::serve(handoff_api::intake_router(app)).await
}
