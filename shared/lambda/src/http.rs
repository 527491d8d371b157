//! Function URL glue: the shared axum router behind `lambda_http`, with per-invocation log
//! context and one EMF document per request, derived from the path, method, query and status
//! only (a body is never read here):
//!
//! - intake: `EventsAccepted` (2xx) and `EventsRejected` (4xx/5xx) by `provider` — the route's
//!   provider (`agent` for `/v1/events` and `/v1/threads`, `slack` for `/slack/actions`). They
//!   count requests: a request that carries several events counts once.
//! - claim: `Claims` by `result` for `POST /v1/claim` — `accepted`, `wrong_owner` or `requalify`
//!   (from the link's `action`, which the confirmation page posts back in the query; `applied`
//!   when the query has none), `conflict` (409), `invalid` (other 4xx: bad, expired or forged
//!   link) or `error` (5xx). `GET /v1/claim` only shows the confirmation page (mail scanners
//!   prefetch links), so it is not a claim.
//!
//! Other paths (`/healthz`, unknown routes) emit nothing.

use crate::metrics::{self, Metric};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Adds the invocation's log context and the request's metrics to every request.
pub fn with_invocation_context(router: axum::Router) -> axum::Router {
    router.layer(axum::middleware::from_fn(observe))
}

async fn observe(req: Request, next: Next) -> Response {
    if let Some(ctx) = req.extensions().get::<lambda_http::Context>() {
        crate::logging::start_invocation(ctx);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let response = next.run(req).await;
    metrics::emit(&request_metrics(
        &method,
        &path,
        query.as_deref(),
        response.status(),
    ));
    response
}

/// The provider a route serves, for an intake path.
pub fn provider_of(path: &str) -> Option<&'static str> {
    match path {
        "/v1/threads" => Some("agent"),
        "/slack/actions" => Some("slack"),
        _ => handoff_connectors::registry::all()
            .into_iter()
            .find(|p| p.path() == path)
            .map(|p| p.name()),
    }
}

/// The metrics of one function URL request (see the module docs).
pub fn request_metrics(
    method: &Method,
    path: &str,
    query: Option<&str>,
    status: StatusCode,
) -> Vec<Metric> {
    if let Some(provider) = provider_of(path) {
        let ok = usize::from(status.is_success());
        return vec![
            Metric::count("EventsAccepted", ok).by("provider", provider),
            Metric::count("EventsRejected", 1 - ok).by("provider", provider),
        ];
    }
    if path == "/v1/claim" && method == Method::POST {
        let action = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|pair| pair.strip_prefix("action="));
        let result = match status.as_u16() {
            200..=299 => match action {
                Some("accept") => "accepted",
                Some("wrong_owner") => "wrong_owner",
                Some("requalify") => "requalify",
                _ => "applied",
            },
            409 => "conflict",
            400..=499 => "invalid",
            _ => "error",
        };
        return vec![Metric::count("Claims", 1).by("result", result)];
    }
    Vec::new()
}

/// Serves `router` as a function URL until the runtime stops.
pub async fn serve(router: axum::Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(with_invocation_context(router)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::documents;
    use crate::metrics::tests::declared;
    use serde_json::json;

    fn one(metrics: &[Metric]) -> serde_json::Value {
        let docs = documents(
            "handoff-intake",
            "prod",
            metrics,
            chrono::Utc::now(),
            "INFO",
        );
        assert_eq!(docs.len(), 1);
        docs.into_iter().next().unwrap()
    }

    #[test]
    fn every_intake_route_has_its_provider() {
        for (path, provider) in [
            ("/v1/events", "agent"),
            ("/v1/threads", "agent"),
            ("/forms/typeform", "typeform"),
            ("/forms/tally", "tally"),
            ("/forms/hubspot", "hubspot"),
            ("/email/postmark", "postmark"),
            ("/email/mailgun", "mailgun"),
            ("/email/sendgrid", "sendgrid"),
            ("/meetings/calendly", "calendly"),
            ("/meetings/calcom", "calcom"),
            ("/slack/actions", "slack"),
        ] {
            assert_eq!(provider_of(path), Some(provider), "{path}");
        }
        assert_eq!(provider_of("/healthz"), None);
        assert_eq!(provider_of("/v1/claim"), None);
    }

    #[test]
    fn intake_requests_are_accepted_or_rejected_by_provider() {
        let accepted = one(&request_metrics(
            &Method::POST,
            "/forms/typeform",
            None,
            StatusCode::ACCEPTED,
        ));
        let declared = declared(&accepted);
        assert_eq!(declared.len(), 2);
        for (_, _, sets) in &declared {
            assert_eq!(*sets, json!([["stage"], ["stage", "provider"]]));
        }
        assert_eq!(accepted["provider"], "typeform");
        assert_eq!(accepted["EventsAccepted"], 1);
        assert_eq!(accepted["EventsRejected"], 0);
        for status in [StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE] {
            let rejected = one(&request_metrics(&Method::POST, "/v1/events", None, status));
            assert_eq!(rejected["provider"], "agent");
            assert_eq!(rejected["EventsAccepted"], 0);
            assert_eq!(rejected["EventsRejected"], 1);
        }
    }

    #[test]
    fn claims_by_result() {
        let query = Some("handoff_id=h_1&rep=lena&action=wrong_owner&expires=1&sig=x");
        let cases = [
            (query, StatusCode::OK, "wrong_owner"),
            (Some("action=accept"), StatusCode::OK, "accepted"),
            (Some("action=requalify"), StatusCode::OK, "requalify"),
            (None, StatusCode::OK, "applied"),
            (query, StatusCode::CONFLICT, "conflict"),
            (query, StatusCode::FORBIDDEN, "invalid"),
            (None, StatusCode::BAD_REQUEST, "invalid"),
            (query, StatusCode::SERVICE_UNAVAILABLE, "error"),
        ];
        for (query, status, result) in cases {
            let doc = one(&request_metrics(&Method::POST, "/v1/claim", query, status));
            let declared = declared(&doc);
            assert_eq!(declared.len(), 1);
            assert_eq!(declared[0].0, "Claims");
            assert_eq!(declared[0].2, json!([["stage"], ["stage", "result"]]));
            assert_eq!(doc["result"], result, "{status} {query:?}");
            assert_eq!(doc["Claims"], 1);
        }
    }

    #[test]
    fn pages_and_probes_are_not_counted() {
        for (method, path) in [
            (Method::GET, "/v1/claim"),
            (Method::GET, "/healthz"),
            (Method::POST, "/wp-login.php"),
        ] {
            assert!(request_metrics(&method, path, None, StatusCode::OK).is_empty());
        }
    }
}
