//! `claim`: the function URL behind signed claim links (accept / wrong owner / re-qualify).

use handoff_lambda::{http, logging, wiring};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init("handoff-claim");
    let services = Arc::new(wiring::services_from_env().await?);
    http::serve(handoff_api::claim_router(services)).await
}
