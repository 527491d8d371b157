//! `classify`: the SQS-triggered classify stage, with partial batch failures (ReportBatchItemFailures).

use handoff_domain::ports::Stage;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    handoff_lambda::run::stage_function("handoff-classify", Stage::Classify).await
}
