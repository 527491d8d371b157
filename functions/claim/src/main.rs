//! `claim`: the function URL behind signed claim links (accept / wrong owner / re-qualify).
//! It serves no provider route, so it gets no provider secrets (`HANDOFF_SECRETS_PREFIX` unset).

use handoff_lambda::{http, logging, wiring};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init("handoff-claim");
    let app = Arc::new(wiring::claim_app_from_env().await?);
    http::serve(handoff_api::claim_router(app)).await
}
