//! Function URL glue: the shared axum router behind `lambda_http`, with per-invocation log context.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Adds the invocation's request id, trace id and cold-start flag to every log line.
pub fn with_invocation_context(router: axum::Router) -> axum::Router {
    router.layer(axum::middleware::from_fn(mark_invocation))
}

async fn mark_invocation(req: Request, next: Next) -> Response {
    if let Some(ctx) = req.extensions().get::<lambda_http::Context>() {
        crate::logging::start_invocation(&ctx.request_id, ctx.xray_trace_id.as_deref());
    }
    next.run(req).await
}

/// Serves `router` as a function URL until the runtime stops.
pub async fn serve(router: axum::Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(with_invocation_context(router)).await
}
