//! `audit`: the weekly EventBridge-scheduled audit; logs the metrics.

use handoff_lambda::run::{scheduled_function, Scheduled};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    scheduled_function("handoff-audit", Scheduled::Audit).await
}
