//! `GET /v1/handoffs/{id}`: a handoff's record, package and timeline.

use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::Json;
use handoff_domain::ids::HandoffId;
use handoff_domain::service::ServiceError;
use serde_json::{json, Value};

/// The stored record, its package and its timeline.
pub async fn get_handoff(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id =
        HandoffId::parse(&id).map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    let record = app
        .services
        .store
        .get(&id)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::NotFound(id.clone()))?;
    let timeline = app
        .services
        .store
        .timeline(&id)
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(json!({
        "id": record.id,
        "state": record.state,
        "version": record.version,
        "package": record.package(),
        "crm_ref": record.crm_ref,
        "crm": record.crm,
        "notification_ref": record.notification_ref,
        "reassignments": record.reassignments,
        "timeline": timeline,
    })))
}
