//! Every error the routers can answer is JSON `{"error", "message"}` with a matching status:
//! unknown paths, wrong methods, bodies over the limit, and the query, path and body rejections
//! axum answers before a handler runs — through the router as the local server calls it, and
//! once through `lambda_http`'s request type as a function URL calls it.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use chrono::{TimeZone, Utc};
use handoff_api::{App, IntakeEdge};
use handoff_connectors::outbound::configured::NoCrm;
use handoff_connectors::secrets::StaticSecrets;
use handoff_domain::claim_link::ClaimSigner;
use handoff_domain::config::Rules;
use handoff_domain::ports::{ManualClock, StaticRules};
use handoff_domain::service::Services;
use handoff_local::{LogNotifier, SqliteQueue, SqliteStore};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const RULES: &str = include_str!("../../../examples/handoff.toml");
const FUNCTION_URL_EVENT: &str =
    include_str!("../../../tests/fixtures/function_url_json_body.json");

fn app() -> Arc<App> {
    let rules = Rules::from_toml("examples/handoff.toml", RULES).unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let services = Arc::new(Services {
        store: store.clone(),
        queue: Arc::new(SqliteQueue::open_in_memory(5).unwrap()),
        threads: store.clone(),
        crm: Arc::new(NoCrm),
        // Never reached here: every request below is refused before a service runs.
        notifier: Arc::new(
            LogNotifier::new(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("json-errors"))
                .unwrap(),
        ),
        clock: Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
        )),
        rules: Arc::new(StaticRules(Arc::new(rules))),
        judge: Arc::new(handoff_domain::ports::NoJudge),
        claims: ClaimSigner::new("json-errors-test-claim-secret-of-32-bytes-or-more"),
        public_url: "http://127.0.0.1:8080".into(),
        claim_link_ttl: chrono::Duration::days(7),
    });
    Arc::new(App {
        services,
        intake: IntakeEdge {
            secrets: Arc::new(StaticSecrets::of(&[])),
            once: store,
            contacts: None,
            public_base_url: None,
        },
    })
}

/// Status, headers and the body parsed as JSON (`Null` when it is not JSON).
async fn send(router: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn request(method: &str, uri: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        req = req.header(header::CONTENT_TYPE, content_type);
    }
    req.body(Body::from(body)).unwrap()
}

/// A JSON error body: the code, and a message of plain words.
fn assert_json_error(headers: &axum::http::HeaderMap, body: &Value, code: &str, what: &str) {
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{what}: content type"
    );
    assert_eq!(body["error"], json!(code), "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: a message: {body}");
}

/// One request to one router and the JSON error it must get.
struct Case {
    router: &'static str,
    method: &'static str,
    uri: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    /// Words the message must contain: it names the problem.
    words: &'static str,
}

/// A case without a body: `request` is "METHOD uri", `expect` is (status, code, words).
fn case(
    router: &'static str,
    request: &'static str,
    expect: (u16, &'static str, &'static str),
) -> Case {
    let (method, uri) = request.split_once(' ').unwrap();
    Case {
        router,
        method,
        uri,
        content_type: None,
        body: Vec::new(),
        status: expect.0,
        code: expect.1,
        words: expect.2,
    }
}

#[tokio::test]
async fn every_router_answers_its_errors_as_json() {
    let app = app();
    let bad_claim = |words| (400, "invalid_claim", words);
    let cases = [
        case("local", "GET /nowhere", (404, "not_found", "/nowhere")),
        case("intake", "GET /v1/claim", (404, "not_found", "/v1/claim")),
        case("claim", "POST /v1/events", (404, "not_found", "/v1/events")),
        case(
            "local",
            "GET /v1/events",
            (405, "method_not_allowed", "GET"),
        ),
        case(
            "claim",
            "DELETE /v1/claim",
            (405, "method_not_allowed", "DELETE"),
        ),
        case(
            "local",
            "POST /healthz",
            (405, "method_not_allowed", "POST"),
        ),
        // The claim query: absent, incomplete, or a field of the wrong type.
        case("claim", "GET /v1/claim", bad_claim("missing field")),
        case(
            "local",
            "GET /v1/claim?handoff_id=h&rep=r",
            bad_claim("missing field"),
        ),
        case(
            "claim",
            "GET /v1/claim?handoff_id=h&rep=r&action=accept&expires=soon&sig=s",
            bad_claim("not a claim"),
        ),
        // A body over the claim routes' limit (the extractor's 413).
        Case {
            content_type: Some("application/x-www-form-urlencoded"),
            body: vec![b'a'; handoff_api::MAX_BODY_BYTES + 1],
            ..case(
                "claim",
                "POST /v1/claim",
                (413, "payload_too_large", "larger"),
            )
        },
        // A path segment that is not UTF-8 once decoded (the path extractor's rejection).
        case(
            "local",
            "GET /v1/handoffs/%FF%FE",
            (400, "invalid_request", "UTF-8"),
        ),
    ];
    for c in cases {
        let router = match c.router {
            "local" => handoff_api::local_router(app.clone()),
            "intake" => handoff_api::intake_router(app.clone()),
            _ => handoff_api::claim_router(app.clone()),
        };
        let what = format!("{} {} {}", c.router, c.method, c.uri);
        let (got, headers, answer) =
            send(&router, request(c.method, c.uri, c.content_type, c.body)).await;
        assert_eq!(got.as_u16(), c.status, "{what}: {answer}");
        assert_json_error(&headers, &answer, c.code, &what);
        assert!(
            answer["message"].as_str().unwrap().contains(c.words),
            "{what}: the message names the problem ({:?}): {answer}",
            c.words
        );
    }
}

#[tokio::test]
async fn a_wrong_method_keeps_its_allow_header() {
    let router = handoff_api::claim_router(app());
    let (status, headers, _) = send(&router, request("PUT", "/v1/claim", None, vec![])).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow:?}");
}

/// Routes merged after the routers were built (as `handoff serve` merges its test routes) get
/// the same shape once `json_errors` wraps the result.
#[tokio::test]
async fn merged_routes_get_json_errors_from_the_layer() {
    let extra = Router::new()
        .route(
            "/plain",
            get(|| async { (StatusCode::CONFLICT, "plain words") }),
        )
        .route(
            "/empty",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/fine", get(|| async { "all good" }))
        .route(
            "/already",
            get(|| async {
                (
                    StatusCode::IM_A_TEAPOT,
                    axum::Json(json!({"error": "teapot", "message": "short and stout"})),
                )
            }),
        )
        .route(
            "/body",
            axum::routing::post(|axum::Json(v): axum::Json<Vec<u32>>| async move {
                v.len().to_string()
            }),
        );
    let router = handoff_api::json_errors(handoff_api::local_router(app()).merge(extra));

    let (status, headers, body) = send(&router, request("GET", "/plain", None, vec![])).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_json_error(&headers, &body, "invalid_request", "plain text");
    assert_eq!(body["message"], "plain words");

    let (status, headers, body) = send(&router, request("GET", "/empty", None, vec![])).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_json_error(&headers, &body, "internal", "empty body");

    let (status, headers, body) = send(&router, request("DELETE", "/plain", None, vec![])).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_json_error(
        &headers,
        &body,
        "method_not_allowed",
        "merged route, wrong method",
    );

    for (content_type, body, words) in [
        (Some("application/json"), b"[1, 2".to_vec(), "JSON"),
        (Some("application/json"), b"{\"a\": 1}".to_vec(), "JSON"),
        (None, b"[1]".to_vec(), "Content-Type"),
    ] {
        let (status, headers, answer) =
            send(&router, request("POST", "/body", content_type, body)).await;
        let what = format!("JSON body {content_type:?}");
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{what}: {status}"
        );
        assert_json_error(
            &headers,
            &answer,
            answer["error"].as_str().unwrap_or("?"),
            &what,
        );
        assert!(
            answer["message"].as_str().unwrap().contains(words),
            "{what}: {answer}"
        );
    }

    let response = router
        .clone()
        .oneshot(request("GET", "/fine", None, vec![]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"all good", "a success is left alone");

    let (status, _, body) = send(&router, request("GET", "/already", None, vec![])).await;
    assert_eq!(status, StatusCode::IM_A_TEAPOT);
    assert_eq!(
        body,
        json!({"error": "teapot", "message": "short and stout"}),
        "a JSON error is left alone"
    );
}

/// A function URL request (the Lambda side shares the router): the claim query rejection and
/// an unknown path are JSON there too.
#[tokio::test]
async fn function_url_requests_get_the_same_json_errors() {
    let router = handoff_api::claim_router(app());
    for (method, path, query, status, code) in [
        ("GET", "/v1/claim", "rep=r", 400, "invalid_claim"),
        ("GET", "/hello", "", 404, "not_found"),
        ("PATCH", "/v1/claim", "", 405, "method_not_allowed"),
    ] {
        let mut event: Value = serde_json::from_str(FUNCTION_URL_EVENT).unwrap();
        event["rawPath"] = json!(path);
        event["rawQueryString"] = json!(query);
        event
            .as_object_mut()
            .unwrap()
            .remove("queryStringParameters");
        event["requestContext"]["http"]["path"] = json!(path);
        event["requestContext"]["http"]["method"] = json!(method);
        let req: lambda_http::Request =
            lambda_http::request::from_str(&event.to_string()).expect("a function URL event");
        let response = router.clone().oneshot(req).await.unwrap();
        let got = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let what = format!("function URL {method} {path}?{query}");
        assert_eq!(got, status, "{what}: {body}");
        assert_json_error(&headers, &body, code, &what);
    }
}
