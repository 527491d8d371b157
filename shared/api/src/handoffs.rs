//! `GET /v1/handoffs/{id}`: a handoff's package, record and timeline.
//!
//! The body has the shape `handoff classify` prints: the six-part package's fields at the top
//! level (`handoff_id`, `motion`, `trigger`, … `owner`, `sla`, `routing`), so the same reader
//! parses both; beside them the record's own fields (`state`, `version`, `crm_ref`, `crm`,
//! `notification_ref`, `reassignments`) and the `timeline`. A handoff not classified yet has
//! only `handoff_id` of the package.

use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::Json;
use handoff_domain::ids::HandoffId;
use handoff_domain::service::ServiceError;
use serde_json::{json, Map, Value};

/// The package (as `handoff classify` prints it) with the record's state and timeline.
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
    let mut body = match record.package().map(serde_json::to_value) {
        Some(Ok(Value::Object(package))) => package,
        Some(Err(e)) => {
            return Err(
                ServiceError::Permanent(format!("cannot serialise the package: {e}")).into(),
            )
        }
        _ => Map::from_iter([("handoff_id".to_string(), json!(record.id))]),
    };
    body.extend([
        ("state".to_string(), json!(record.state)),
        ("version".to_string(), json!(record.version)),
        ("crm_ref".to_string(), json!(record.crm_ref)),
        ("crm".to_string(), json!(record.crm)),
        (
            "notification_ref".to_string(),
            json!(record.notification_ref),
        ),
        ("reassignments".to_string(), json!(record.reassignments)),
        ("timeline".to_string(), json!(timeline)),
    ]);
    Ok(Json(Value::Object(body)))
}
