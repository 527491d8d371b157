//! `handoff audit --table …` (built with `--features aws`) against the emulator: the report of a
//! deployed table, with the reps named and capped by the table's current rules, written as JSON.
//!
//! Needs `AWS_ENDPOINT_URL` (`eval "$(scripts/emulator.sh start)"`); without it the test prints a
//! notice and passes, unless `CI=true`.

#![cfg(feature = "aws")]

use chrono::Utc;
use handoff_domain::lifecycle::Transition;
use handoff_domain::ports::HandoffStore;
use handoff_testkit::fixtures;

#[path = "support/aws.rs"]
mod aws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_of_a_table_uses_its_rules() {
    let Some(endpoint) = handoff_testkit::emulator::with_test_credentials() else {
        return;
    };
    let sdk = handoff_aws::aws_config_from_env().await;
    let table = aws::unique("audit-");
    let dynamo = handoff_aws::config::dynamodb_client(&sdk);
    handoff_aws::ensure_table(&dynamo, &table).await.unwrap();
    handoff_aws::push_rules(
        &dynamo,
        &table,
        "examples/handoff.toml",
        include_str!("../../examples/handoff.toml"),
    )
    .await
    .unwrap();
    let store = handoff_aws::DynamoStore::new(dynamo, &table);
    // One handoff an hour ago, assigned to Lena, accepted ten minutes later.
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    let (mut r, mut first) = fixtures::record("cli-audit-table");
    r.created_at = hour_ago;
    r.updated_at = hour_ago;
    first.at = hour_ago;
    store.create(&r, &first).await.unwrap();
    let classified = fixtures::step(&mut r, Transition::Classify, hour_ago);
    store.update(&r, &classified).await.unwrap();
    r.owner = Some(fixtures::owner("lena"));
    r.sla = Some(fixtures::sla(Utc::now()));
    let assigned = fixtures::step(&mut r, Transition::Assign, hour_ago);
    store.update(&r, &assigned).await.unwrap();

    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("report.json");
    let out = aws::handoff(
        &endpoint,
        &[
            "audit",
            "--table",
            &table,
            "--region",
            "us-east-1",
            "--since",
            "1d",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["handoffs"], 1, "{report}");
    assert_eq!(report["owned"], 1, "{report}");
    assert_eq!(report["per_rep"][0]["name"], "Lena Fischer", "{report}");
    assert_eq!(report["per_rep"][0]["daily_cap"], 12, "{report}");
    assert_eq!(report["previous_period"]["overall"]["handoffs"], 0);
}
