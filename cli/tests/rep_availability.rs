//! `handoff rep away|back|list` against a local data directory, judged by the clock of the
//! server on it: with `serve --test-clock` months before the wall clock, an absence "until noon
//! on the test day" is accepted, routing at the test clock skips the rep, `rep list` shows why,
//! and `rep back` restores her. A normal `serve` removes a test clock file a killed test server
//! left behind; mistakes are refused with a message naming them.

mod support;

#[path = "support/agent.rs"]
mod agent;
#[path = "support/serve.rs"]
mod serve;
use handoff_domain::ports::ManualClock;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The console token `GET /v1/handoffs/{id}` needs (fixed through `HANDOFF_CONSOLE_TOKEN`).
const CONSOLE_TOKEN: &str = "serve-test-console-token";
const AGENT_SECRET: &str = "rep-availability-agent-secret";
/// Wednesday 12:00 in Berlin: Lena (emea-ae, Berlin) and Oliver (emea-ae, London) both work.
const TEST_CLOCK: &str = "2026-06-03T10:00:00Z";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `handoff serve` on `data` (with `--test-clock` when given) and waits until it listens.
fn start_server(data: &Path, test_clock: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handoff"));
    cmd.args(["serve", "--port", "0", "--sweep-every", "3600", "--data"])
        .arg(data);
    if let Some(t) = test_clock {
        cmd.args(["--test-clock", t]);
    }
    let mut child = cmd
        .env("HANDOFF_SECRET_AGENT", AGENT_SECRET)
        .env("HANDOFF_CONSOLE_TOKEN", CONSOLE_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn handoff serve");
    let base = serve::listening_base(&mut child);
    Server { child, base }
}

/// Runs `handoff ARGS`; returns (success, stdout, stderr).
fn handoff(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .output()
        .expect("run handoff");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `rep list --data DIR` and the line that names `rep`.
fn list_line(data: &str, rep: &str) -> String {
    let (ok, out, err) = handoff(&["rep", "list", "--data", data]);
    assert!(ok, "{err}");
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(rep))
        .unwrap_or_else(|| panic!("{rep} is not listed:\n{out}"))
        .to_string()
}

/// A German mid-market demo request for insights (the emea-ae pool: Lena and Oliver) from
/// `email`, signed at `signed_at` as the agent does.
async fn post_lead(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    email: &str,
    signed_at: &str,
) -> String {
    let mut event: Value = serde_json::from_str(include_str!(
        "../../examples/events/01-form-demo-request.json"
    ))
    .unwrap();
    event["provider_event_id"] = json!(id);
    event["buyer"]["email"] = json!(email);
    agent::post_accepted(client, base, AGENT_SECRET, signed_at, &event).await
}

/// Waits until the handoff has an owner; returns the record.
async fn assigned(client: &reqwest::Client, base: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let h: Value = client
            .get(format!("{base}/v1/handoffs/{id}"))
            .bearer_auth(CONSOLE_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if h["owner"]["rep"].is_string() {
            return h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not assigned in time: {h:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn round_robin_line(h: &Value) -> String {
    h["routing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["layer"] == "round_robin")
        .unwrap_or_else(|| panic!("no round robin step: {h:#}"))["outcome"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_and_back_follow_the_servers_test_clock() {
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("data");
    let data = data_path.to_str().unwrap();
    let server = start_server(&data_path, Some(TEST_CLOCK));
    let client = reqwest::Client::new();
    let base = &server.base;
    assert_eq!(
        std::fs::read_to_string(data_path.join("test-clock"))
            .unwrap()
            .trim(),
        "2026-06-03T10:00:00Z",
        "the server keeps its clock in the data directory"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data_path.join("test-clock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "like every file in the data directory");
    }

    // Noon on the test day is months ago by the wall clock, yet in the future by the server's.
    let (ok, out, err) = handoff(&[
        "rep",
        "away",
        "lena",
        "--until",
        "2026-06-03T12:00:00Z",
        "--reason",
        "dentist",
        "--data",
        data,
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "lena: away until 2026-06-03T12:00:00Z (dentist)"
    );
    assert!(
        err.contains(&format!(
            "using the test clock of the server on {data}: 2026-06-03T10:00:00Z"
        )),
        "{err}"
    );
    let line = list_line(data, "lena");
    assert!(
        line.contains("away until Wed 3 Jun 12:00 UTC (dentist)"),
        "{line}"
    );
    assert!(line.contains("0/12 today"), "{line}");
    assert!(line.contains("next shift Wed 14:00 CEST"), "{line}");

    // Routing at the test clock skips her, and says so.
    let first = post_lead(
        &client,
        base,
        "rep-away-1",
        "katrin.vogel@brightline-logistics.de",
        TEST_CLOCK,
    )
    .await;
    let h = assigned(&client, base, &first).await;
    assert_eq!(h["owner"]["rep"], "oliver", "{h:#}");
    let rr = round_robin_line(&h);
    assert!(
        rr.contains("not eligible: lena (away until 2026-06-03 12:00 UTC)"),
        "{rr}"
    );
    let oliver = list_line(data, "oliver");
    assert!(oliver.contains("available"), "{oliver}");
    assert!(oliver.contains("1/15 today"), "{oliver}");

    // Back: she is available again, and the next lead (an hour later) is hers.
    let (ok, out, err) = handoff(&["rep", "back", "lena", "--data", data]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "lena: available");
    let line = list_line(data, "lena");
    assert!(line.contains("  available  "), "{line}");
    assert!(line.contains("working now until 17:30 CEST"), "{line}");
    let moved: Value = client
        .post(format!("{base}/v1/test/clock"))
        .json(&json!({"advance_minutes": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["now"], "2026-06-03T11:00:00Z");
    assert_eq!(
        std::fs::read_to_string(data_path.join("test-clock"))
            .unwrap()
            .trim(),
        "2026-06-03T11:00:00Z",
        "a clock move rewrites the file"
    );
    let second = post_lead(
        &client,
        base,
        "rep-away-2",
        "jana.roth@kestrel-freight.de",
        "2026-06-03T11:00:00Z",
    )
    .await;
    let h = assigned(&client, base, &second).await;
    assert_eq!(h["owner"]["rep"], "lena", "{h:#}");
    assert!(!round_robin_line(&h).contains("not eligible"), "{h:#}");

    // The JSON list says the same, structured.
    let (ok, out, err) = handoff(&["rep", "list", "--data", data, "--json"]);
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["now"], "2026-06-03T11:00:00Z");
    let lena = list["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rep"] == "lena")
        .unwrap();
    assert_eq!(lena["availability"]["state"], "available", "{lena:#}");
    assert_eq!(lena["load"], 1, "{lena:#}");
    assert_eq!(lena["shift"]["state"], "working_now", "{lena:#}");
}

#[test]
fn a_normal_serve_removes_a_stale_test_clock() {
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("data");
    let data = data_path.to_str().unwrap();
    std::fs::create_dir_all(&data_path).unwrap();
    let file = data_path.join("test-clock");
    // What a killed test server leaves behind.
    std::fs::write(&file, "2026-06-03T10:00:00Z\n").unwrap();
    let server = start_server(&data_path, None);
    assert!(!file.exists(), "a real server removes it before it serves");
    let (ok, out, err) = handoff(&["rep", "list", "--data", data]);
    assert!(ok, "{err}");
    assert!(!err.contains("test clock"), "{err}");
    assert!(out.contains("(the wall clock)"), "{out}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    let (ok, _, err) = handoff(&["rep", "away", "lena", "--data", data]);
    assert!(!ok);
    assert!(err.contains("no local store in"), "{err}");

    // A store, and a test server's clock at noon Berlin on the test day.
    let pipeline = support::open(
        dir.path(),
        Arc::new(ManualClock::new(
            chrono::DateTime::parse_from_rfc3339(TEST_CLOCK)
                .unwrap()
                .to_utc(),
        )),
    )
    .await;
    drop(pipeline);
    handoff_cli::serve::write_test_clock(
        dir.path(),
        chrono::DateTime::parse_from_rfc3339(TEST_CLOCK)
            .unwrap()
            .to_utc(),
    )
    .unwrap();

    let cases: &[(&[&str], &str)] = &[
        (
            &["rep", "away", "lenna"],
            "unknown rep `lenna`: the rules in force (the embedded examples/handoff.toml) have jonas, chloe, lena",
        ),
        (&["rep", "back", "Not A Rep"], "unknown rep `Not A Rep`"),
        (&["rep", "list", "--region", "eu-west-1"], "add --table"),
        (
            &[
                "rep",
                "away",
                "lena",
                "--from",
                "2026-06-03T12:00:00Z",
                "--until",
                "2026-06-03T11:00:00Z",
            ],
            "--until 2026-06-03T11:00:00Z is not after --from 2026-06-03T12:00:00Z",
        ),
        (
            &["rep", "away", "lena", "--until", "2026-06-03T09:00:00Z"],
            "--until 2026-06-03T09:00:00Z is already past by the test clock of the server on",
        ),
        (
            &["rep", "away", "lena", "--until", "tomorrow"],
            "expected an RFC 3339 time such as 2026-06-03T12:00:00Z",
        ),
    ];
    for (args, message) in cases {
        let mut args = args.to_vec();
        args.extend(["--data", data]);
        let (ok, out, err) = handoff(&args);
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(err.contains(message), "{args:?}: {err}");
    }

    // Nothing was stored by the refused commands.
    let (ok, out, err) = handoff(&["rep", "list", "--data", data]);
    assert!(ok, "{err}");
    let lena = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some("lena"))
        .unwrap();
    assert!(lena.contains("  available  "), "{out}");

    // A scheduled absence leaves her available until it starts.
    let (ok, out, err) = handoff(&[
        "rep",
        "away",
        "lena",
        "--from",
        "2026-06-04T07:00:00Z",
        "--until",
        "2026-06-04T12:00:00Z",
        "--reason",
        "offsite",
        "--data",
        data,
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "lena: away from 2026-06-04T07:00:00Z until 2026-06-04T12:00:00Z (offsite)"
    );
    let (_, out, _) = handoff(&["rep", "list", "--data", data]);
    assert!(
        out.contains(
            "available; away from Thu 4 Jun 07:00 UTC until Thu 4 Jun 12:00 UTC (offsite)"
        ),
        "{out}"
    );
}
