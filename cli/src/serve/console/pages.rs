//! How the console answers: HTML with headers that keep its pages private and inert (not
//! cached, not framed by another site, no script allowed to run even if one slipped in, no
//! referrer), redirects after a form, and one-sentence pages.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The console's Content-Security-Policy: inline style and inline SVG only; forms post to the
/// console itself; no frame may hold it.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the console's protective headers.
pub fn protect(headers: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// A console page with `status`.
pub fn html(status: StatusCode, page: String) -> Response {
    let mut response = (status, axum::response::Html(page)).into_response();
    protect(response.headers_mut());
    response
}

/// A 303 to `location` (after a form did its work).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    protect(response.headers_mut());
    response
}

/// A page that says one thing, with `status`.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    html(
        status,
        handoff_report::console::notice::message(title, text),
    )
}
