//! `handoff dlq list|show|redrive --queue-prefix …` (built with `--features aws`) against the
//! emulator's SQS: a message dead-lettered by hand keeps its reason and receive count, one SQS
//! moved by its redrive policy is reported with the deployed maxReceiveCount, and a redrive by
//! handoff moves only that handoff's message back, to be received again with count 1.
//!
//! Needs `AWS_ENDPOINT_URL` (`eval "$(scripts/emulator.sh start)"`); without it the test prints a
//! notice and passes, unless `CI=true`.

#![cfg(feature = "aws")]

use handoff_domain::ports::{Stage, StageQueue};
use handoff_testkit::fixtures;
use std::time::Duration;

#[path = "support/aws.rs"]
mod aws;

/// Runs `handoff` against the emulator: (success, stdout, stderr).
fn handoff(endpoint: &str, args: &[&str]) -> (bool, String, String) {
    let out = aws::handoff(endpoint, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_dead_letters_are_listed_shown_and_redriven_by_handoff() {
    let Some(endpoint) = handoff_testkit::emulator::with_test_credentials() else {
        return;
    };
    let sdk = handoff_aws::aws_config_from_env().await;
    let prefix = aws::unique("dlq");
    let queues = handoff_aws::ensure_queues(&handoff_aws::config::sqs_client(&sdk), &prefix, 3)
        .await
        .unwrap();
    let place = ["--queue-prefix", prefix.as_str(), "--region", "us-east-1"];
    let run = |args: &[&str]| {
        let all: Vec<&str> = args.iter().chain(place.iter()).copied().collect();
        handoff(&endpoint, &all)
    };

    let (ok, out, err) = run(&["dlq", "list"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!("no dead letters in the queues {prefix}-* (classify and assign stages)\n")
    );

    // Dana's assign message is dead-lettered by hand after two receives.
    let dana = fixtures::stage_message("dlq-aws-dana", Stage::Assign);
    queues
        .send(Stage::Assign, std::slice::from_ref(&dana))
        .await
        .unwrap();
    queues
        .receive(Stage::Assign, 10, Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = queues
        .receive(Stage::Assign, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(second[0].receive_count, 2);
    queues
        .dead_letter(Stage::Assign, &second[0], "crm rejected the owner")
        .await
        .unwrap();
    // Sam's is moved by SQS after maxReceiveCount (3) receives.
    let sam = fixtures::stage_message("dlq-aws-sam", Stage::Assign);
    queues
        .send(Stage::Assign, std::slice::from_ref(&sam))
        .await
        .unwrap();
    for _ in 0..3 {
        let got = queues
            .receive(Stage::Assign, 10, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert_eq!(
        queues
            .receive(Stage::Assign, 10, Duration::from_secs(1))
            .await
            .unwrap(),
        vec![]
    );

    let (ok, out, err) = run(&["dlq", "list", "--stage", "assign"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "2 dead letters in the queues {prefix}-* (assign 2):\n"
        )),
        "{out}"
    );
    let line_of = |id: &str| {
        out.lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("a line for {id}: {out}"))
            .to_string()
    };
    let dana_line = line_of(dana.handoff_id.as_str());
    assert!(
        dana_line.starts_with(&format!(
            "  assign    handoff {}  dead-lettered ",
            dana.handoff_id
        )),
        "{dana_line}"
    );
    assert!(
        dana_line.contains(" after 2 receives  id ")
            && dana_line.ends_with("  crm rejected the owner"),
        "{dana_line}"
    );
    let sam_line = line_of(sam.handoff_id.as_str());
    assert!(
        sam_line.contains(" after 3 receives  id ")
            && sam_line.ends_with("  max receives exceeded (maxReceiveCount 3)"),
        "{sam_line}"
    );

    let message_id = dana_line
        .split("  id ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    let (ok, shown, err) = run(&["dlq", "show", message_id]);
    assert!(ok, "{err}");
    assert!(
        shown.starts_with(&format!(
            "dead letter {message_id} of the assign stage in the queues {prefix}-*\n"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("  reason          crm rejected the owner\n"),
        "{shown}"
    );

    let (ok, out, err) = run(&["dlq", "redrive", "--id", dana.handoff_id.as_str()]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "classify: no dead letters of handoff {id}\nassign: moved 1 dead letter of handoff {id} back to the stage queue\n",
            id = dana.handoff_id
        )),
        "{out}"
    );
    let back = queues
        .receive(Stage::Assign, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].receive_count, 1);
    assert_eq!(back[0].body, serde_json::to_string(&dana).unwrap());
    let left = queues.dead_letters(Stage::Assign, 10).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].handoff_id, Some(sam.handoff_id.clone()));
}
