//! # handoff-api
//!
//! One HTTP router for both the local server (`handoff serve`, axum on 127.0.0.1) and the Lambda
//! function URLs (`lambda_http::run(router)`), so local and cloud run the same code path.
//!
//! - `POST /v1/events` — a canonical [`IntakeEvent`](handoff_domain::event::IntakeEvent) as JSON → `202 {handoff_id, duplicate}` once durable.
//! - `GET /v1/claim?…` — a confirmation page for a signed claim link (no side effect: mail scanners prefetch links).
//! - `POST /v1/claim` — applies a signed claim (form or JSON body).
//! - `GET /v1/handoffs/{id}` — the record and its timeline (local/admin router only).
//! - `GET /healthz`.
//!
//! Errors are JSON `{"error": "<code>", "message": "<what is wrong>"}` with a matching status.

mod claim;
mod error;
mod events;
mod handoffs;

pub use error::ApiError;

use axum::routing::{get, post};
use axum::Router;
use handoff_domain::service::Services;
use std::sync::Arc;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Shared state of every route.
pub type AppState = Arc<Services>;

/// The intake routes (the `intake` function URL).
pub fn intake_router(services: AppState) -> Router {
    finish(intake_routes(), services)
}

/// The claim routes (the `claim` function URL).
pub fn claim_router(services: AppState) -> Router {
    finish(claim_routes(), services)
}

/// Everything, plus read-only inspection: what `handoff serve` exposes on 127.0.0.1.
pub fn local_router(services: AppState) -> Router {
    let all = intake_routes()
        .merge(claim_routes())
        .route("/v1/handoffs/{id}", get(handoffs::get_handoff));
    finish(all, services)
}

/// The request's content type, or "" when absent or not text.
fn content_type(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn intake_routes() -> Router<AppState> {
    Router::new().route("/v1/events", post(events::post_event))
}

fn claim_routes() -> Router<AppState> {
    Router::new().route(
        "/v1/claim",
        get(claim::confirm_page).post(claim::post_claim),
    )
}

fn finish(routes: Router<AppState>, services: AppState) -> Router {
    routes
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(services)
}
