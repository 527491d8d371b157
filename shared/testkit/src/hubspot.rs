//! A local stand-in for HubSpot's CRM API, for the tests that replay HubSpot's Webhooks API
//! examples (which name contacts without their data). It answers only the documented
//! `POST /crm/v3/objects/contacts/batch/read`, and only with `Authorization: Bearer <token>`
//! and a body of the documented shape (`inputs[].id`, `properties[]`); anything else is the
//! error HubSpot would give. Contacts it returns are realistic leads keyed by id.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

/// The path of the batch read.
pub const BATCH_READ: &str = "/crm/v3/objects/contacts/batch/read";

/// The email the stand-in gives contact `id`.
pub fn contact_email(id: &str) -> String {
    format!("lead-{id}@brightline-freight.com")
}

/// Serves the stand-in on 127.0.0.1 (a free port) for as long as the runtime lives; its base URL.
pub async fn serve(token: &'static str) -> String {
    let app =
        Router::new().route(
            BATCH_READ,
            post(move |headers: HeaderMap, body: String| async move {
                batch_read(token, &headers, &body)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn batch_read(token: &str, headers: &HeaderMap, body: &str) -> (StatusCode, String) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(format!("Bearer {token}").as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}).to_string(),
        );
    }
    let request: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                json!({"status": "error", "message": e.to_string()}).to_string(),
            )
        }
    };
    let (Some(inputs), Some(_)) = (
        request["inputs"].as_array(),
        request["properties"].as_array(),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"status": "error", "message": "inputs and properties are required", "category": "VALIDATION_ERROR"}).to_string(),
        );
    };
    let results: Vec<Value> = inputs
        .iter()
        .filter_map(|i| i["id"].as_str())
        .map(|id| {
            json!({
                "id": id,
                "properties": {
                    "email": contact_email(id),
                    "firstname": "Sam",
                    "lastname": format!("Contact{id}"),
                    "company": "Brightline Freight",
                    "jobtitle": "VP Sales",
                    "numemployees": "650",
                    "message": "We want a demo of lead routing for our 40 reps this quarter.",
                    "hs_object_id": id,
                    "lastmodifieddate": "2026-11-24T09:00:00Z"
                },
                "createdAt": "2026-11-24T08:00:00Z",
                "updatedAt": "2026-11-24T09:00:00Z",
                "archived": false
            })
        })
        .collect();
    (
        StatusCode::OK,
        json!({"status": "COMPLETE", "results": results, "startedAt": "2026-11-24T09:00:00Z", "completedAt": "2026-11-24T09:00:00Z"}).to_string(),
    )
}
