//! What the CLI tests against the emulator share (`--features aws`): running the `handoff`
//! binary with the emulator's dummy keys and nothing else of the caller's AWS environment, and
//! a fresh unique name for a table or queue prefix. Included with
//! `#[path = "support/aws.rs"] mod aws;`.

use std::process::{Command, Output};

/// Runs `handoff args…` against the emulator at `endpoint`: a temporary HOME, no shared config
/// or credentials files, no instance metadata, the emulator's dummy keys.
pub fn handoff(endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handoff"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    let home = tempfile::tempdir().unwrap();
    cmd.args(args)
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
        .output()
        .expect("run handoff")
}

/// `prefix` plus a number unique to this moment (table names, queue prefixes).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000_000;
    format!("{prefix}{nanos}")
}
