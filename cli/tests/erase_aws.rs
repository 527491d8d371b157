//! `handoff erase --email … --table …` (built with `--features aws`) against the emulator: the
//! buyer's handoff and threads leave the table, another buyer stays, and the report counts the
//! dead letters SQS still holds (`--queue-prefix`) instead of pretending to delete them.
//!
//! Needs `AWS_ENDPOINT_URL` (`eval "$(scripts/emulator.sh start)"`); without it the test prints a
//! notice and passes, unless `CI=true`.

#![cfg(feature = "aws")]

use handoff_domain::ports::{HandoffStore, Stage, StageQueue, ThreadIndex};
use handoff_domain::privacy::RETENTION_DAYS_VAR;
use handoff_testkit::fixtures::{self, at};
use std::process::Command;

/// Runs `handoff` with the emulator's dummy keys and region, nothing else of the caller's AWS
/// environment.
fn handoff(endpoint: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handoff"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    let home = tempfile::tempdir().unwrap();
    let out = cmd
        .args(args)
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("HANDOFF_LOG", "info")
        .env_remove(RETENTION_DAYS_VAR)
        .output()
        .expect("run handoff");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_on_a_table_reports_what_it_removed_and_what_sqs_still_holds() {
    let Some(endpoint) = handoff_testkit::emulator::with_test_credentials() else {
        return;
    };
    let sdk = handoff_aws::aws_config_from_env().await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000_000;
    let (table, prefix) = (format!("erase-{nanos}"), format!("er{nanos}"));
    let dynamo = handoff_aws::config::dynamodb_client(&sdk);
    handoff_aws::ensure_table(&dynamo, &table).await.unwrap();
    let queues = handoff_aws::ensure_queues(&handoff_aws::config::sqs_client(&sdk), &prefix, 3)
        .await
        .unwrap();
    let store = handoff_aws::DynamoStore::new(dynamo, &table);

    let dana = fixtures::seed_awaiting(&store, "cli-erase-dana", "lena", at(60)).await;
    let sam = fixtures::seed_in_state(
        &store,
        "cli-erase-sam",
        "sam@acme.com",
        at(1),
        handoff_domain::lifecycle::State::Accepted,
        at(60),
    )
    .await;
    let thread = handoff_testkit::threads::thread("thr-dana", &["<x1@mail.example>", "tok-x"]);
    store.put_thread(&thread).await.unwrap();
    // One dead letter naming Dana's handoff.
    queues
        .send(
            Stage::Assign,
            &[fixtures::stage_message("cli-erase-dana", Stage::Assign)],
        )
        .await
        .unwrap();
    let got = queues
        .receive(Stage::Assign, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    queues
        .dead_letter(Stage::Assign, &got[0], "handoff not found")
        .await
        .unwrap();

    let args = [
        "erase",
        "--email",
        fixtures::BUYER_EMAIL,
        "--table",
        &table,
        "--region",
        "us-east-1",
        "--queue-prefix",
        &prefix,
    ];
    let (ok, out, err) = handoff(&endpoint, &args);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!("erase dana@acme.com from table {table}\n")),
        "{out}"
    );
    assert!(out.contains("removed 1 handoff(s):"), "{out}");
    assert!(
        out.contains(&format!("  {}  assigned, created ", dana.id)),
        "{out}"
    );
    assert!(out.contains("timeline entries      3"), "{out}");
    assert!(
        out.contains("index entries         4 (contact, creation day, company domain; 1 due)"),
        "{out}"
    );
    assert!(out.contains("outbound thread keys  2"), "{out}");
    assert!(
        out.contains(&format!(
            "note: 1 message(s) in the dead-letter queues ({prefix}-classify-dlq 0, \
             {prefix}-assign-dlq 1) may still name the erased handoffs; \
             SQS cannot delete selected messages"
        )),
        "{out}"
    );
    assert!(out.contains("erase the contact there too"), "{out}");
    assert!(
        !err.contains("dana@acme.com"),
        "the address is never logged: {err}"
    );

    assert_eq!(store.get(&dana.id).await.unwrap(), None);
    assert_eq!(store.timeline(&dana.id).await.unwrap(), vec![]);
    assert_eq!(
        store.find_thread(&["tok-x".to_string()]).await.unwrap(),
        None
    );
    assert_eq!(store.get(&sam.id).await.unwrap(), Some(sam.clone()));

    let (ok, out, err) = handoff(&endpoint, &args);
    assert!(ok, "{err}");
    assert!(out.contains("nothing to remove"), "{out}");
    assert!(
        out.contains("may still name handoffs erased earlier"),
        "{out}"
    );
}
