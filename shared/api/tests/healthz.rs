//! `GET /healthz` answers from a write to the store: `200 {"status":"ok"}` while writes go
//! through, `503` with the JSON error shape naming the problem once they fail, and `200` again
//! when the store recovers — on the intake, claim and local routers alike.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use handoff_api::{App, IntakeEdge};
use handoff_connectors::outbound::configured::NoCrm;
use handoff_connectors::secrets::StaticSecrets;
use handoff_domain::claim_link::ClaimSigner;
use handoff_domain::config::Rules;
use handoff_domain::ports::{HandoffStore, ManualClock, StaticRules};
use handoff_domain::service::Services;
use handoff_local::{LogNotifier, SqliteQueue, SqliteStore};
use handoff_testkit::faulty_store::FaultyStore;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const RULES: &str = include_str!("../../../examples/handoff.toml");

/// An app on a SQLite store wrapped so the test can make its writes fail.
fn app() -> (Arc<App>, Arc<FaultyStore>, Arc<SqliteStore>) {
    let rules = Rules::from_toml("examples/handoff.toml", RULES).unwrap();
    let sqlite = Arc::new(SqliteStore::open_in_memory().unwrap());
    let store = Arc::new(FaultyStore::new(sqlite.clone()));
    let services = Arc::new(Services {
        store: store.clone(),
        queue: Arc::new(SqliteQueue::open_in_memory(5).unwrap()),
        threads: sqlite.clone(),
        crm: Arc::new(NoCrm),
        // Never reached: the health check notifies nobody.
        notifier: Arc::new(
            LogNotifier::new(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("healthz"))
                .unwrap(),
        ),
        clock: Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
        )),
        rules: Arc::new(StaticRules(Arc::new(rules))),
        judge: Arc::new(handoff_domain::ports::NoJudge),
        claims: ClaimSigner::new("healthz-test-claim-secret-of-32-bytes-or-more"),
        public_url: "http://127.0.0.1:8080".into(),
        claim_link_ttl: chrono::Duration::days(7),
    });
    let app = Arc::new(App {
        services,
        intake: IntakeEdge {
            secrets: Arc::new(StaticSecrets::of(&[])),
            once: sqlite.clone(),
            contacts: None,
            public_base_url: None,
        },
    });
    (app, store, sqlite)
}

async fn healthz(router: &Router) -> (StatusCode, Value) {
    let response = router
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn healthz_is_ok_while_the_store_writes_and_503_naming_the_problem_when_it_cannot() {
    let (app, store, sqlite) = app();
    for (name, router) in [
        ("local", handoff_api::local_router(app.clone())),
        ("intake", handoff_api::intake_router(app.clone())),
        ("claim", handoff_api::claim_router(app.clone())),
    ] {
        assert_eq!(
            healthz(&router).await,
            (StatusCode::OK, json!({"status": "ok"})),
            "{name}"
        );

        store.fail_next("next_counter", 1);
        let (status, body) = healthz(&router).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}");
        assert_eq!(body["error"], "store_unwritable", "{name}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("the store cannot write: ") && message.contains("injected fault"),
            "{name}: {body}"
        );

        assert_eq!(
            healthz(&router).await.0,
            StatusCode::OK,
            "{name}: recovered"
        );
    }
    // Every answered probe (two per router; the failed ones never reached the store) was a
    // write.
    assert_eq!(store.failures("next_counter"), 3);
    assert_eq!(sqlite.next_counter("health-probe").await.unwrap(), 7);
}
