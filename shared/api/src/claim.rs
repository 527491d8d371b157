//! Claim links: `GET` shows a confirmation page, `POST` applies the claim.

use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use axum::Json;
use handoff_domain::claim_link::{Claim, ClaimAction};
use handoff_domain::ids::{HandoffId, RepId};
use handoff_domain::service::stages::StageOutcome;
use serde::Deserialize;
use serde_json::json;

/// The claim fields as they travel in a link or form.
#[derive(Debug, Deserialize)]
pub struct ClaimParams {
    handoff_id: String,
    rep: String,
    action: String,
    expires: i64,
    sig: String,
}

impl ClaimParams {
    fn into_claim(self) -> Result<Claim, ApiError> {
        let handoff_id = HandoffId::parse(&self.handoff_id)
            .map_err(|e| ApiError::bad_request("invalid_claim", e.to_string()))?;
        let rep = RepId::parse(&self.rep)
            .map_err(|e| ApiError::bad_request("invalid_claim", e.to_string()))?;
        let action = ClaimAction::parse(&self.action).ok_or_else(|| {
            ApiError::bad_request("invalid_claim", format!("unknown action {:?}", self.action))
        })?;
        Ok(Claim {
            handoff_id,
            rep,
            action,
            expires: self.expires,
            sig: self.sig,
        })
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page with one button that POSTs the same signed fields.
pub async fn confirm_page(
    State(app): State<AppState>,
    Query(params): Query<ClaimParams>,
) -> Result<Html<String>, ApiError> {
    let claim = params.into_claim()?;
    app.services
        .claims
        .verify(&claim, app.services.clock.now())
        .map_err(handoff_domain::service::ServiceError::from)?;
    let hidden =
        |k: &str, v: &str| format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape(v));
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>handoff</title><form method=post>{}{}{}{}{}<p>{} handoff {}?</p><button type=submit>Confirm</button></form>",
        hidden("handoff_id", claim.handoff_id.as_str()),
        hidden("rep", claim.rep.as_str()),
        hidden("action", claim.action.as_str()),
        hidden("expires", &claim.expires.to_string()),
        hidden("sig", &claim.sig),
        escape(claim.action.as_str()),
        escape(claim.handoff_id.as_str()),
    )))
}

/// Applies a signed claim sent as a form (from the page) or as JSON.
pub async fn post_claim(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let content_type = crate::content_type(&headers);
    let params: ClaimParams = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("invalid_claim", e.to_string()))?
    } else {
        serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::bad_request("invalid_claim", e.to_string()))?
    };
    let claim = params.into_claim()?;
    let outcome = app.services.claim_with_link(&claim).await?;
    let (state, replay) = match outcome {
        StageOutcome::Advanced(s) => (s, false),
        StageOutcome::AlreadyDone(s) => (s, true),
    };
    tracing::info!(handoff_id = %claim.handoff_id, action = claim.action.as_str(), "claim applied");
    Ok(Json(json!({
        "handoff_id": claim.handoff_id,
        "action": claim.action.as_str(),
        "state": state.as_str(),
        "replay": replay,
    })))
}
