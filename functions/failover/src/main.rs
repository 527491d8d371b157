//! `failover`: the EventBridge-scheduled sweep that reroutes handoffs whose SLA passed unclaimed.

use handoff_lambda::run::{scheduled_function, Scheduled};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    scheduled_function("handoff-failover", Scheduled::Sweep).await
}
