//! `audit`: the weekly EventBridge-scheduled audit: emits its metrics, writes the report as JSON
//! and HTML to the audit bucket, and posts a summary with a link to Slack when configured.

use handoff_lambda::run::{scheduled_function, Scheduled};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    scheduled_function("handoff-audit", Scheduled::Audit).await
}
