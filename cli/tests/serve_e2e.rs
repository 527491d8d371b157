//! Drives the real `handoff serve` binary over HTTP: event in → assigned, CRM-written, then
//! notified (in that order) → claimed; and a handoff nobody claims, rerouted by the failover
//! sweep after its SLA under the server's test clock.

#[path = "support/agent.rs"]
mod agent;
#[path = "support/serve.rs"]
mod serve;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(test_clock: &str) -> Server {
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
            test_clock,
            "--data",
        ])
        .arg(&data)
        .env("HANDOFF_SECRET_AGENT", AGENT_SECRET)
        .env("HANDOFF_CONSOLE_TOKEN", CONSOLE_TOKEN)
        .env("HANDOFF_SECRET_TYPEFORM", TYPEFORM_SECRET)
        .env_remove("HANDOFF_SECRET_TALLY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn handoff serve");
    let base = serve::listening_base(&mut child);
    Server {
        child,
        base,
        data,
        _dir: dir,
    }
}

/// The console token `GET /v1/handoffs/{id}` needs (fixed through `HANDOFF_CONSOLE_TOKEN`).
const CONSOLE_TOKEN: &str = "serve-test-console-token";
const AGENT_SECRET: &str = "serve-e2e-agent-secret";
const TYPEFORM_SECRET: &str = "serve-e2e-typeform-secret";
/// The server's test clock (signatures are checked against it).
const SERVER_NOW: &str = "2026-11-24T14:00:00Z";

/// POSTs a canonical event as an agent does: `Handoff-Signature` over the raw body.
async fn post_event(client: &reqwest::Client, base: &str, event: &Value) -> reqwest::Response {
    agent::post_event(client, base, AGENT_SECRET, SERVER_NOW, event).await
}

fn event(id: &str) -> Value {
    let mut e: Value = serde_json::from_str(include_str!(
        "../../examples/events/01-form-demo-request.json"
    ))
    .unwrap();
    e["provider_event_id"] = json!(id);
    e
}

async fn handoff(client: &reqwest::Client, base: &str, id: &str) -> Value {
    client
        .get(format!("{base}/v1/handoffs/{id}"))
        .bearer_auth(CONSOLE_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_for(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    what: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let h = handoff(client, base, id).await;
        if what(&h) {
            return h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting; last: {h:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn events(h: &Value) -> Vec<String> {
    h["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

fn claim_link(data: &Path, handoff_id: &str, action: &str) -> String {
    claim_links(data, handoff_id, action)
        .pop()
        .expect("a claim link in the notification")
}

/// Every claim link for this handoff and action, oldest notification first.
fn claim_links(data: &Path, handoff_id: &str, action: &str) -> Vec<String> {
    let log = std::fs::read_to_string(data.join("notifications.jsonl")).expect("notification log");
    let needle = format!("action={action}&");
    log.lines()
        .filter(|l| l.contains(handoff_id))
        .flat_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let mut urls = Vec::new();
            collect_strings(&v, &mut urls);
            urls
        })
        .filter(|u| u.contains("/v1/claim?") && u.contains(&needle))
        .collect()
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    url.split_once('?')
        .unwrap()
        .1
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_is_assigned_crm_written_notified_then_claimed() {
    let server = start_server("2026-11-24T14:00:00Z");
    let client = reqwest::Client::new();
    let base = &server.base;

    // Unsigned: 401, nothing stored.
    let unsigned = client
        .post(format!("{base}/v1/events"))
        .json(&event("e2e-unsigned"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized", "{body}");

    let bad = post_event(&client, base, &json!({"type": "form_lead"})).await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "invalid_payload");
    assert!(
        body["message"].as_str().unwrap().contains("missing field"),
        "{body}"
    );

    let resp = post_event(&client, base, &event("e2e-1")).await;
    assert_eq!(resp.status(), 202);
    let receipt: Value = resp.json().await.unwrap();
    let id = receipt["handoff_id"].as_str().unwrap().to_string();
    assert_eq!(receipt["duplicate"], false);

    let h = wait_for(&client, base, &id, |h| h["state"] == "notified").await;
    let ev = events(&h);
    let pos = |name: &str| {
        ev.iter()
            .position(|e| e == name)
            .unwrap_or_else(|| panic!("{name} missing from {ev:?}"))
    };
    assert!(pos("received") < pos("classified"));
    assert!(pos("classified") < pos("assigned"));
    assert!(
        pos("assigned") < pos("crm_written"),
        "CRM before notification: {ev:?}"
    );
    assert!(
        pos("crm_written") < pos("notified"),
        "CRM before notification: {ev:?}"
    );
    let owner = h["owner"]["rep"]
        .as_str()
        .expect("a rep owns it")
        .to_string();
    assert!(
        server.data.join("crm").join(format!("{id}.json")).exists(),
        "CRM file written"
    );

    // The provider retries: same handoff, nothing new.
    let again: Value = post_event(&client, base, &event("e2e-1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["handoff_id"], id.as_str());
    assert_eq!(again["duplicate"], true);

    // The rep opens the link (GET: a confirmation page, no side effect), then confirms (POST).
    let link = claim_link(&server.data, &id, "accept");
    let page = client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(handoff(&client, base, &id).await["state"], "notified");
    let form = query_pairs(&link);
    let tampered: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| {
            if k == "action" {
                (k.clone(), "wrong_owner".into())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    let refused = client
        .post(format!("{base}/v1/claim"))
        .form(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let done = client
        .post(format!("{base}/v1/claim"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200, "{:?}", done.text().await);
    let h = handoff(&client, base, &id).await;
    assert_eq!(h["state"], "accepted");
    let last = h["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], json!({"type": "rep", "id": owner}));
    // Accepting twice changes nothing.
    let replay: Value = client
        .post(format!("{base}/v1/claim"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replay["replay"], true);
    assert_eq!(
        events(&handoff(&client, base, &id).await).len(),
        events(&h).len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclaimed_handoff_fails_over_after_its_sla() {
    let server = start_server("2026-11-24T14:00:00Z");
    let client = reqwest::Client::new();
    let base = &server.base;
    let receipt: Value = post_event(&client, base, &event("e2e-2"))
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["handoff_id"].as_str().unwrap().to_string();
    let h = wait_for(&client, base, &id, |h| h["state"] == "notified").await;
    let first_owner = h["owner"]["rep"].as_str().unwrap().to_string();
    let deadline: chrono::DateTime<chrono::Utc> =
        h["sla"]["deadline"].as_str().unwrap().parse().unwrap();

    // Before the deadline the sweep leaves it alone.
    let early: Value = client
        .post(format!("{base}/v1/test/sweep"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(early["due"], 0);

    let after = deadline + chrono::Duration::minutes(1);
    client
        .post(format!("{base}/v1/test/clock"))
        .json(&json!({"now": after}))
        .send()
        .await
        .unwrap();
    let swept: Value = client
        .post(format!("{base}/v1/test/sweep"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(swept["due"], 1, "{swept}");
    assert_eq!(
        swept["rerouted"].as_u64().unwrap() + swept["escalated"].as_u64().unwrap(),
        1,
        "{swept}"
    );

    let h = wait_for(&client, base, &id, |h| {
        h["state"] == "notified" && h["owner"]["rep"] != first_owner.as_str()
    })
    .await;
    let ev = events(&h);
    assert!(
        ev.iter()
            .any(|e| e == "rerouted_sla_missed" || e == "escalated"),
        "{ev:?}"
    );
    assert_eq!(
        ev.iter().filter(|e| *e == "crm_written").count(),
        2,
        "the CRM learns the new owner: {ev:?}"
    );
    assert!(
        h["routing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["layer"] == "failover"),
        "{h:#}"
    );
    // The old owner's link no longer works; the new owner's does.
    let links = claim_links(&server.data, &id, "accept");
    assert!(links.len() >= 2, "{links:?}");
    let old = client
        .post(format!("{base}/v1/claim"))
        .form(&query_pairs(&links[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 409);
    let new = client
        .post(format!("{base}/v1/claim"))
        .form(&query_pairs(links.last().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);
    assert_eq!(handoff(&client, base, &id).await["state"], "accepted");
}

/// The README's way to try a provider route: `handoff sign … | curl -K -` against `serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_provider_payload_through_curl_becomes_a_notified_handoff() {
    let server = start_server(SERVER_NOW);
    let client = reqwest::Client::new();
    let base = &server.base;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/providers/typeform_form_response.json"
    );
    let sign = |provider: &str, secret: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(["sign", "--provider", provider, "--url"])
            .arg(format!("{base}/forms/{provider}"))
            .arg(fixture)
            .env(
                format!("HANDOFF_SECRET_{}", provider.to_uppercase()),
                secret,
            )
            .output()
            .expect("run handoff sign");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let curl = |config: Vec<u8>| {
        let mut child = Command::new("curl")
            .args(["-sS", "-K", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("curl is installed");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&config).unwrap();
        let out = child.wait_with_output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)))
    };

    let receipt = curl(sign("typeform", TYPEFORM_SECRET));
    let id = receipt["handoff_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{receipt}"))
        .to_string();
    let h = wait_for(&client, base, &id, |h| h["state"] == "notified").await;
    assert_eq!(h["buyer"]["email"], "laura@example.com", "{h}");
    assert_eq!(
        events(&h),
        [
            "received",
            "classified",
            "assigned",
            "crm_written",
            "notified"
        ]
    );

    // Signed with the wrong secret: 401.
    let refused = curl(sign("typeform", "not-the-secret"));
    assert_eq!(refused["error"], "unauthorized", "{refused}");
    // A provider with no secret configured refuses every request.
    let tally = client
        .post(format!("{base}/forms/tally"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(tally.status(), 401);
    let body: Value = tally.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("HANDOFF_SECRET_TALLY"),
        "{body}"
    );
}
