//! `handoff … | head` exits quietly: with standard output a pipe whose reader is already gone,
//! every command that prints ends with status 0 and no panic message (Rust ignores SIGPIPE, so
//! a write gets EPIPE, which `print!` would turn into a panic).

use std::path::Path;
use std::process::{Command, Stdio};

fn example(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

/// Runs `handoff args` with stdout a pipe nobody reads (its reader closed before the start);
/// returns the status and what it wrote to stderr.
fn run_into_closed_pipe(args: &[&str], env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A command's arguments and the environment it needs.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn every_printing_command_stops_quietly_on_a_closed_pipe() {
    let event = example("examples/events/01-form-demo-request.json");
    let rules = example("examples/handoff.toml");
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    let cases: &[Case] = &[
        // First: it leaves a store in `data` for the operator commands below.
        (&["demo", "--keep", data], &[]),
        (&["rules", "check", &rules], &[]),
        (&["rules", "schema"], &[]),
        (&["events", "schema"], &[]),
        (&["classify", &event], &[]),
        (
            &["sign", "--provider", "agent", &event],
            &[(
                "HANDOFF_SECRET_AGENT",
                "closed-pipe-test-secret-of-enough-bytes",
            )],
        ),
        (
            &["erase", "--email", "nobody@example.com", "--data", data],
            &[],
        ),
        (&["rep", "away", "lena", "--data", data], &[]),
        (&["rep", "list", "--data", data], &[]),
    ];
    for (args, env) in cases {
        let (status, stderr) = run_into_closed_pipe(args, env);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert!(status.success(), "{args:?}: {status}: {stderr}");
    }
}
