//! API errors as JSON bodies with the right status, and [`json_error_responses`], which gives
//! the same shape to the errors axum answers by itself (an extractor's rejection of a query, path
//! or body, a body over the size limit, a method a route does not accept).

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use handoff_domain::service::ServiceError;
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    /// A 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
}

impl ApiError {
    /// A 401: the request's credentials were missing or wrong.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// A 503: something handoff depends on is unavailable; the sender should retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, error = %self.message, "request failed");
        } else {
            tracing::info!(
                code = self.code,
                status = self.status.as_u16(),
                "request refused"
            );
        }
        (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let (status, code) = match &e {
            ServiceError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ServiceError::Unauthorized(_) => (StatusCode::FORBIDDEN, "invalid_claim_link"),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ServiceError::Transient(_) | ServiceError::Raced(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ServiceError::Permanent(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        Self {
            status,
            code,
            message: e.to_string(),
        }
    }
}

/// Longest plain-text error body whose words are kept as the message of its JSON replacement
/// (axum's rejection texts are one short line).
const MAX_PLAIN_ERROR_BYTES: usize = 4 * 1024;

impl ApiError {
    /// The JSON error for a status answered without one: a code for the status and `detail`
    /// (the plain-text body, when there was one) as the message.
    pub fn for_status(status: StatusCode, detail: Option<String>) -> Self {
        // axum answers a JSON body of the wrong shape with 422; to a client it is a bad request.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        let (code, fallback) = match status {
            StatusCode::BAD_REQUEST => ("invalid_request", "the request is not valid"),
            StatusCode::NOT_FOUND => ("not_found", "nothing is served at this path"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this path does not accept that method",
            ),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long"),
            StatusCode::LENGTH_REQUIRED => ("length_required", "the request needs a length"),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload_too_large",
                "the body is larger than this route accepts",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "this route does not accept that content type",
            ),
            StatusCode::SERVICE_UNAVAILABLE => {
                ("unavailable", "the service is unavailable; try again")
            }
            s if s.is_server_error() => ("internal", "the request failed"),
            _ => ("invalid_request", "the request was refused"),
        };
        let message = match (status, detail) {
            // axum's text here names its buffering, not the problem: say what the client can fix.
            (StatusCode::PAYLOAD_TOO_LARGE, _) | (_, None) => fallback.to_string(),
            (_, Some(detail)) => detail,
        };
        Self {
            status,
            code,
            message,
        }
    }
}

/// Response middleware: an error status (4xx or 5xx) whose body is not JSON becomes the JSON
/// error shape, keeping its other headers (`Allow` on a 405). Handlers answer with [`ApiError`]
/// already; this catches what axum answers before a handler runs.
pub async fn json_error_responses(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, MAX_PLAIN_ERROR_BYTES)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    let mut json = ApiError::for_status(status, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    json
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
