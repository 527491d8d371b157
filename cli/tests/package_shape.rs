//! `handoff classify` and `GET /v1/handoffs/{id}` show the package in one shape: its fields at
//! the top level (the GET adds the record's state, version, CRM and notification references,
//! reassignments and timeline beside them), so one reader parses both.

use handoff_cli::demo_payloads;
use handoff_cli::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use handoff_domain::event::IntakeEvent;
use handoff_domain::package::HandoffPackage;
use handoff_domain::ports::ManualClock;
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

const EVENT: &str = include_str!("../../examples/events/01-form-demo-request.json");

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn classify_and_get_handoff_print_the_package_in_one_shape() {
    let event: IntakeEvent = serde_json::from_str(EVENT).unwrap();
    let classify = std::process::Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args([
            "classify",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/events/01-form-demo-request.json"
            ),
        ])
        .output()
        .unwrap();
    assert!(classify.status.success(), "{classify:?}");
    let printed: Value = serde_json::from_slice(&classify.stdout).unwrap();

    let data = tempfile::tempdir().unwrap();
    let secrets = demo_payloads::demo_secrets().unwrap();
    let pipeline = LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: data.path().to_path_buf(),
        rules: RulesChoice::Embedded,
        clock: Arc::new(ManualClock::new(event.received_at)),
        public_url: "http://127.0.0.1:8080".into(),
        secrets: Arc::new(secrets.clone()),
    })
    .await
    .unwrap();
    let router = handoff_api::local_router(pipeline.app.clone());
    let (_, receipt) = demo_payloads::send(
        &router,
        &secrets,
        "agent",
        "application/json",
        EVENT.as_bytes().to_vec(),
        event.received_at,
    )
    .await
    .unwrap();
    pipeline.drain().await.unwrap();
    let id = receipt["handoff_id"].as_str().unwrap();
    let response = router
        .clone()
        .oneshot(
            axum::http::Request::get(format!("/v1/handoffs/{id}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let got: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();

    let missing: Vec<_> = keys(&printed).difference(&keys(&got)).cloned().collect();
    assert!(missing.is_empty(), "the GET lacks {missing:?}: {got:#}");
    let extra: BTreeSet<String> = keys(&got).difference(&keys(&printed)).cloned().collect();
    let record: BTreeSet<String> = [
        "state",
        "version",
        "crm_ref",
        "crm",
        "notification_ref",
        "reassignments",
        "timeline",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        extra, record,
        "beside the package: the record's fields only"
    );
    assert!(
        got.get("package").is_none(),
        "the package is not nested: {got:#}"
    );
    for key in [
        "handoff_id",
        "motion",
        "trigger",
        "qualification",
        "buyer",
        "next_step",
    ] {
        assert_eq!(got[key], printed[key], "{key}");
    }
    let from_get: HandoffPackage = serde_json::from_value(got.clone()).unwrap();
    let from_classify: HandoffPackage = serde_json::from_value(printed).unwrap();
    assert_eq!(from_get.handoff_id, from_classify.handoff_id);
    assert_eq!(
        from_get.classification.buyer,
        from_classify.classification.buyer
    );
    assert!(from_get.owner.is_some() && from_get.sla.is_some() && !from_get.routing.is_empty());
    assert_eq!(got["state"], "notified", "{got:#}");
}
