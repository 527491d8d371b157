//! `POST /v1/events`: canonical intake events.

use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use handoff_domain::event::IntakeEvent;

/// Accepts one canonical event; answers 202 only after it is stored and enqueued.
pub async fn post_event(
    State(services): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let content_type = crate::content_type(&headers);
    if !content_type.starts_with("application/json") {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: format!("send application/json, not {content_type:?}"),
        });
    }
    let event: IntakeEvent = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("invalid_event", format!("the event is not valid: {e}"))
    })?;
    let receipt = services.intake(event).await?;
    tracing::info!(handoff_id = %receipt.handoff_id, duplicate = receipt.duplicate, "event accepted");
    Ok((StatusCode::ACCEPTED, Json(receipt)))
}
