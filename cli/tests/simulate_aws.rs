//! `handoff simulate --table …` (built with `--features aws`) against the emulator: the replay of
//! a deployed table's recorded handoffs under the table's current rules and a proposed file, with
//! nothing written to the table.
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
async fn a_rules_change_is_replayed_on_a_tables_handoffs_without_writing() {
    let Some(endpoint) = handoff_testkit::emulator::with_test_credentials() else {
        return;
    };
    let sdk = handoff_aws::aws_config_from_env().await;
    let table = aws::unique("simulate-");
    let dynamo = handoff_aws::config::dynamodb_client(&sdk);
    handoff_aws::ensure_table(&dynamo, &table).await.unwrap();
    let current = include_str!("../../examples/handoff.toml");
    handoff_aws::push_rules(&dynamo, &table, "examples/handoff.toml", current)
        .await
        .unwrap();
    let store = handoff_aws::DynamoStore::new(dynamo, &table);
    // One classified inbound lead, assigned an hour ago.
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    let (mut r, mut first) = fixtures::record("cli-simulate-table");
    r.created_at = hour_ago;
    r.updated_at = hour_ago;
    first.at = hour_ago;
    store.create(&r, &first).await.unwrap();
    r.classification = Some(fixtures::package(&r).classification);
    let classified = fixtures::step(&mut r, Transition::Classify, hour_ago);
    store.update(&r, &classified).await.unwrap();
    r.owner = Some(fixtures::owner("lena"));
    r.sla = Some(fixtures::sla(Utc::now()));
    let assigned = fixtures::step(&mut r, Transition::Assign, hour_ago);
    store.update(&r, &assigned).await.unwrap();
    let before = store.get(&r.id).await.unwrap().unwrap();

    // The proposal is the same file: what-if logic is tested on the local store
    // (tests/simulate.rs); this proves the table path end to end (its rules, its records, its
    // timelines, and no writes).
    let dir = tempfile::tempdir().unwrap();
    let proposed = dir.path().join("proposed.toml");
    std::fs::write(&proposed, current).unwrap();
    let json = dir.path().join("diff.json");
    let out = aws::handoff(
        &endpoint,
        &[
            "simulate",
            "--table",
            &table,
            "--region",
            "us-east-1",
            "--rules",
            proposed.to_str().unwrap(),
            "--since",
            "1d",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&table), "names the table's rules: {stdout}");
    assert!(stdout.contains("Nothing was written."), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["replayed"], 1, "{report}");
    assert_eq!(report["owner_changes"], 0, "{report}");
    // Nothing was written: the record and its timeline are as they were.
    assert_eq!(store.get(&r.id).await.unwrap().unwrap(), before);
    assert_eq!(store.timeline(&r.id).await.unwrap().len(), 3);
}
