//! The console in a real browser: starts the real `handoff serve` with a test clock on a fresh
//! data directory, feeds it two signed events, reads the console link (with its random token)
//! from what the server prints at start, then runs `browser/console.mjs` — headless Chromium
//! (Debian's `/usr/bin/chromium`) driven by playwright-core — which filters the list, opens a
//! handoff, clicks Accept, sees the state change, opens the roster, the audit, the rules and the
//! what-if page, and confirms a claim link on its confirmation page. Screenshots of every step
//! land in `target/browser-artifacts/`.
//!
//! The browser and the driver come from `scripts/browser.sh` (the test command runs it; it
//! exports `HANDOFF_CHROMIUM` and `HANDOFF_BROWSER_TOOLS`, whose defaults are the paths it
//! installs to). Without them the test fails under `CI=true` and otherwise says so and returns.

#[path = "support/agent.rs"]
mod agent;
#[path = "support/serve.rs"]
mod serve;

use handoff_domain::ids::HandoffId;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const AGENT_SECRET: &str = "console-browser-agent-secret";
/// Tuesday afternoon: the EMEA reps of the example work.
const SERVER_NOW: &str = "2026-11-24T14:05:00Z";
/// The longest the browser script may take.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

struct Server {
    child: Child,
    base: String,
    console_url: String,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the browser and its driver are, or `None` (after a notice; a failure under CI).
fn browser() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let chromium = std::env::var_os("HANDOFF_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let tools = std::env::var_os("HANDOFF_BROWSER_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/browser"));
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let driver = tools.join("node_modules/playwright-core/package.json");
    let missing: Vec<String> = [
        (!chromium.exists()).then(|| format!("{} (chromium)", chromium.display())),
        (!driver.exists()).then(|| format!("{} (playwright-core)", driver.display())),
        (!node).then(|| "node".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some((chromium, tools));
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !ci,
        "the console browser test needs {} (run `eval \"$(scripts/browser.sh install)\"`; scripts/test.sh does)",
        missing.join(", ")
    );
    eprintln!(
        "notice: {} missing; skipping the console browser test (run `eval \"$(scripts/browser.sh install)\"`)",
        missing.join(", ")
    );
    None
}

fn start_server() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args([
            "serve",
            "--port",
            "0",
            "--sweep-every",
            "3600",
            "--test-clock",
            SERVER_NOW,
            "--data",
        ])
        .arg(&data)
        .env("HANDOFF_SECRET_AGENT", AGENT_SECRET)
        .env_remove("HANDOFF_CONSOLE_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn handoff serve");
    let base = serve::listening_base(&mut child);
    let console_url = console_line(&mut child);
    Server {
        child,
        base,
        console_url,
        data,
        _dir: dir,
    }
}

/// Reads the server's stderr up to the "console: URL …" line and returns the URL; the rest of
/// stderr is passed on to the test's.
fn console_line(child: &mut Child) -> String {
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server ended before printing the console link")
            .expect("read stderr");
        eprintln!("{line}");
        if let Some(rest) = line.strip_prefix("console: ") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("{line}");
        }
    });
    url
}

fn token_of(console_url: &str) -> String {
    console_url
        .split_once("?token=")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("no token in {console_url}"))
}

fn event(file: &str) -> Value {
    let path = format!("{}/../examples/events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn post_event(client: &reqwest::Client, base: &str, event: &Value) -> String {
    agent::post_accepted(client, base, AGENT_SECRET, SERVER_NOW, event).await
}

/// Waits until the handoff is `notified`; returns the record.
async fn notified(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let h: Value = client
            .get(format!("{base}/v1/handoffs/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if h["state"] == "notified" {
            return h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not notified in time: {h:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The signed accept link sent to the owner of `id`.
fn accept_link(data: &Path, id: &str) -> String {
    let log = handoff_local::LogNotifier::new(data).unwrap();
    let sent = log.logged_for(&HandoffId::parse(id).unwrap()).unwrap();
    sent.iter()
        .flat_map(|n| n.notification.actions.iter())
        .find(|(action, _)| action == "accept")
        .map(|(_, url)| url.clone())
        .unwrap_or_else(|| panic!("no accept link for {id}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_in_headless_chromium() {
    let Some((chromium, tools)) = browser() else {
        return;
    };
    let server = start_server();
    let base = server.base.clone();
    let token = token_of(&server.console_url);
    assert_eq!(token.len(), 64, "a random token of 32 bytes in hex");
    assert!(server.console_url.starts_with(&format!("{base}/?token=")));
    let client = reqwest::Client::new();

    let demo = post_event(&client, &base, &event("01-form-demo-request.json")).await;
    let pricing = post_event(&client, &base, &event("04-pricing-and-soc2.json")).await;
    let demo_record = notified(&client, &base, &token, &demo).await;
    notified(&client, &base, &token, &pricing).await;
    let demo_owner = demo_record["owner"]["rep"]
        .as_str()
        .unwrap_or_else(|| panic!("{demo_record:#}"))
        .to_string();
    let claim_url = accept_link(&server.data, &pricing);

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-artifacts");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console.mjs");
    let mut run = Command::new("node")
        .arg(&script)
        .env("CONSOLE_URL", &server.console_url)
        .env("DEMO_ID", &demo)
        .env("DEMO_OWNER", &demo_owner)
        .env("CLAIM_URL", &claim_url)
        .env("CHROMIUM", &chromium)
        .env("BROWSER_TOOLS", &tools)
        .env("ARTIFACTS", &artifacts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = read_all(run.stdout.take().unwrap());
    let err = read_all(run.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = run.kill();
            let _ = run.wait();
            panic!(
                "the browser script took longer than {} s",
                BROWSER_DEADLINE.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    eprintln!("{out}{err}");
    assert!(status.success(), "the browser script failed:\n{out}{err}");
    assert!(out.contains("ok 12-no-token"), "{out}");

    // What the clicks did is in the store.
    for id in [&demo, &pricing] {
        let h: Value = client
            .get(format!("{base}/v1/handoffs/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(h["state"], "accepted", "{h:#}");
    }
    let refused = client
        .get(format!("{base}/v1/handoffs/{demo}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

/// Everything `pipe` yields, read on a thread of its own.
fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}
