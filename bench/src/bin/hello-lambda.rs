//! `hello-lambda`: the cold-start baseline of the benchmark. The smallest Lambda a Rust function
//! can be — the same runtime (`lambda_runtime` on a multi-threaded tokio), no SDK, no setup —
//! so `function cold start ÷ hello-lambda` isolates what handoff's own start-up costs.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
