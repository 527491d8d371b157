//! # handoff-api
//!
//! One HTTP router for both the local server (`handoff serve`, axum on 127.0.0.1) and the Lambda
//! function URLs (`lambda_http::run(router)`), so local and cloud run the same code path.
//!
//! Intake (the `intake` function URL) — every route verifies credentials before anything is
//! stored ([`providers`]):
//! - `POST /v1/events` — an agent's canonical [`IntakeEvent`](handoff_domain::event::IntakeEvent),
//!   signed with `Handoff-Signature` → `202 {handoff_id, duplicate, handoffs}` once durable;
//! - `POST /v1/threads` — the outbound sequencer's thread context, signed the same way;
//! - `POST /forms/{typeform,tally,hubspot}`, `POST /email/{postmark,mailgun,sendgrid}`,
//!   `POST /meetings/{calendly,calcom}` — providers in their own formats and signature schemes;
//! - `POST /slack/actions` — the Slack app's interactivity callbacks (the Claim / Wrong owner /
//!   Needs re-qualification buttons), signed with `X-Slack-Signature`.
//!
//! Claims (the `claim` function URL):
//! - `GET /v1/claim?…` — a confirmation page for a signed claim link (no side effect: mail
//!   scanners prefetch links);
//! - `POST /v1/claim` — applies a signed claim (form or JSON body).
//!
//! Local only: `GET /v1/handoffs/{id}` (the package in the shape `handoff classify` prints, with
//! the record's state and timeline); `handoff serve` puts it behind its console token
//! (`cli/src/serve/console/auth.rs`). Everywhere: `GET /healthz`.
//!
//! Errors are JSON `{"error": "<code>", "message": "<what is wrong>"}` with a matching status,
//! including unknown routes (404), wrong methods (405), bodies over the limit (413) and whatever
//! axum refuses before a handler runs (a query, path or body it cannot read): [`json_errors`]
//! rewrites any error answered in plain text or with no body at all.

mod claim;
mod error;
mod handoffs;
mod health;
mod providers;
mod slack;

pub use error::{json_error_responses, ApiError};
pub use providers::{HUBSPOT_TOKEN, MAX_PROVIDER_BODY_BYTES};

use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Html;
use axum::routing::{get, post};
use axum::Router;
use handoff_connectors::hubspot_contacts::HubspotContacts;
use handoff_connectors::once::OnceTokens;
use handoff_connectors::provider::Provider;
use handoff_connectors::secrets::SecretSource;
use handoff_domain::service::Services;
use std::sync::Arc;

/// Largest accepted claim request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What the intake routes need besides the services.
#[derive(Clone)]
pub struct IntakeEdge {
    /// Provider secrets (environment locally, Secrets Manager in Lambda).
    pub secrets: Arc<dyn SecretSource>,
    /// One-time tokens (Mailgun).
    pub once: Arc<dyn OnceTokens>,
    /// Reads contacts a HubSpot Webhooks API event only names, with the token from the secret
    /// [`HUBSPOT_TOKEN`] (read per request, so a rotation needs no restart).
    pub contacts: Option<Arc<HubspotContacts>>,
    /// The public base URL providers call (`https://hooks.example.com`), when a custom domain or
    /// CDN sits in front: HubSpot signs the URL it called. Default: the request's own URL.
    pub public_base_url: Option<String>,
}

/// Shared state of every route.
pub struct App {
    pub services: Arc<Services>,
    pub intake: IntakeEdge,
}

/// Shared state of every route.
pub type AppState = Arc<App>;

/// The intake routes (the `intake` function URL).
pub fn intake_router(app: AppState) -> Router {
    finish(intake_routes(), app)
}

/// The claim routes (the `claim` function URL).
pub fn claim_router(app: AppState) -> Router {
    finish(claim_routes(), app)
}

/// Everything, plus read-only inspection: what `handoff serve` exposes on 127.0.0.1.
pub fn local_router(app: AppState) -> Router {
    let all = intake_routes()
        .merge(claim_routes())
        .route("/v1/handoffs/{id}", get(handoffs::get_handoff));
    finish(all, app)
}

/// The request's content type, or "" when absent or not text.
fn content_type(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn provider_route(provider: &'static dyn Provider) -> axum::routing::MethodRouter<AppState> {
    post(
        move |State(app): State<AppState>,
              method: Method,
              uri: Uri,
              headers: HeaderMap,
              body: Body| async move {
            providers::intake(app, provider, method, uri, headers, body).await
        },
    )
}

fn intake_routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/v1/threads", post(providers::record_thread))
        .route("/slack/actions", post(slack::actions));
    for provider in handoff_connectors::registry::all() {
        router = router.route(provider.path(), provider_route(provider));
    }
    router
}

fn claim_routes() -> Router<AppState> {
    Router::new().route("/v1/claim", get(claim_page).post(claim::post_claim))
}

/// `GET /v1/claim`: a query that is not a claim is refused as `invalid_claim`, like a bad form
/// posted to the same path (rather than axum's plain-text query rejection).
async fn claim_page(
    state: State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, ApiError> {
    let params = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).map_err(|e| {
        ApiError::bad_request("invalid_claim", format!("the link is not a claim: {e}"))
    })?;
    claim::confirm_page(state, Query(params)).await
}

/// Gives every error response of `router` the JSON error shape (see [`json_error_responses`]).
/// The routers built here have it; apply it again after merging more routes into one.
pub fn json_errors(router: Router) -> Router {
    router.layer(axum::middleware::map_response(json_error_responses))
}

fn finish(routes: Router<AppState>, app: AppState) -> Router {
    routes
        .route("/healthz", get(health::healthz))
        .fallback(|uri: Uri| async move {
            ApiError {
                status: StatusCode::NOT_FOUND,
                code: "not_found",
                message: format!("no route {}", uri.path()),
            }
        })
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                code: "method_not_allowed",
                message: format!("{} does not accept {method}", uri.path()),
            }
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_error_responses))
        .with_state(app)
}
