//! `handoff rep away|back|list --table` on a deployed table (built with `--features aws`),
//! against the emulator: the rep is checked against the table's current rules, the absence is
//! judged by the real clock, and `rep list` reads it back with its reason. Without the emulator
//! (`AWS_ENDPOINT_URL`, from `eval "$(scripts/emulator.sh start)"`) the test prints a notice and
//! passes, unless `CI=true`.

#![cfg(feature = "aws")]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs `handoff` with HOME = `home`, none of the caller's `AWS_*` variables, and the
/// emulator's endpoint, dummy keys and region.
fn handoff(home: &Path, endpoint: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handoff"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args(args)
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join(".aws/config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run handoff");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example rules, made deployable: no file CRM, a table for each channel the reps use.
fn cloud_rules(dir: &Path) -> String {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/handoff.toml"
    ))
    .unwrap();
    let path = dir.join("handoff.toml");
    std::fs::write(
        &path,
        format!("{example}\n[crm]\nkind = \"none\"\n\n[notify.slack]\n\n[notify.email]\nfrom = \"handoffs@northwind.example\"\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// A fresh table on the emulator.
fn fresh_table() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let table = format!("cli-rep-{}-{nanos}", std::process::id());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let sdk = handoff_aws::aws_config_from_env().await;
            handoff_aws::ensure_table(&handoff_aws::config::dynamodb_client(&sdk), &table)
                .await
                .expect("create the table on the emulator");
        });
    table
}

#[test]
fn away_list_and_back_on_a_table() {
    let Some(endpoint) = handoff_testkit::emulator::with_test_credentials() else {
        return;
    };
    let table = fresh_table();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| handoff(home.path(), &endpoint, args);

    // No rules in the table yet: nothing to check the rep against.
    let (ok, _, err) = run(&["rep", "away", "lena", "--table", &table]);
    assert!(!ok);
    assert!(
        err.contains(&format!("cannot read the current rules of {table}")),
        "{err}"
    );

    let rules = cloud_rules(home.path());
    let (ok, _, err) = run(&["rules", "push", &rules, "--table", &table]);
    assert!(ok, "{err}");

    let (ok, _, err) = run(&["rep", "away", "lenna", "--table", &table]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "unknown rep `lenna`: the rules in force (the current rules of {table})"
        )),
        "{err}"
    );
    let (ok, _, err) = run(&["rep", "list", "--table", &table, "--config", &rules]);
    assert!(!ok);
    assert!(
        err.contains("--config applies to a local data directory"),
        "{err}"
    );
    let (ok, _, err) = run(&[
        "rep",
        "away",
        "lena",
        "--until",
        "2020-01-01T00:00:00Z",
        "--table",
        &table,
    ]);
    assert!(!ok);
    assert!(err.contains("is already past by the real clock"), "{err}");

    // Two hours from now (the cloud's clock is the real one), on the hour so it reads cleanly.
    let until = (chrono::Utc::now() + chrono::Duration::hours(2))
        .format("%Y-%m-%dT%H:00:00Z")
        .to_string();
    let (ok, out, err) = run(&[
        "rep", "away", "lena", "--until", &until, "--reason", "dentist", "--table", &table,
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("lena: away until "), "{out}");
    assert!(out.trim_end().ends_with("(dentist)"), "{out}");

    let (ok, out, err) = run(&["rep", "list", "--table", &table]);
    assert!(ok, "{err}");
    assert!(out.contains("(the real clock)"), "{out}");
    let lena = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some("lena"))
        .unwrap_or_else(|| panic!("lena is not listed:\n{out}"));
    assert!(lena.contains("away until "), "{lena}");
    assert!(lena.contains("UTC (dentist)"), "{lena}");

    let (ok, out, err) = run(&["rep", "back", "lena", "--table", &table]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "lena: available");
    let (ok, out, err) = run(&["rep", "list", "--table", &table, "--json"]);
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let lena = list["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rep"] == "lena")
        .unwrap();
    assert_ne!(lena["availability"]["state"], "away", "{lena:#}");
    assert_eq!(lena["load"], 0, "{lena:#}");
}
