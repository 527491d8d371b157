//! `GET /healthz`: whether the store can write, proven by a write.
//!
//! The probe increments the store's `health-probe` counter (`next_counter`): one atomic upsert
//! on the connection every request uses (SQLite), one `UpdateItem ADD` on the item
//! `CTR#health-probe` (DynamoDB, under the `CTR#*` grant intake and claim already hold). Healthy
//! is `200 {"status":"ok"}`; a store that cannot write answers `503` with the JSON error shape,
//! code `store_unwritable`, and the store's own error as the message. Nothing else is
//! checked: the queues, the CRM and the notifiers have their own retries and alarms.

use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// The store counter the probe increments (its value is the number of probes served).
const HEALTH_PROBE_COUNTER: &str = "health-probe";

/// Answers 200 when a write to the store goes through, 503 naming the problem otherwise.
pub(crate) async fn healthz(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    match app.services.store.next_counter(HEALTH_PROBE_COUNTER).await {
        Ok(_) => Ok(Json(json!({"status": "ok"}))),
        Err(e) => Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "store_unwritable",
            message: format!("the store cannot write: {e}"),
        }),
    }
}
