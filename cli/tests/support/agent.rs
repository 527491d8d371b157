//! What the tests that post to a running `handoff serve` share: an agent event signed with
//! `Handoff-Signature` as the agent signs it. Included with
//! `#[path = "support/agent.rs"] mod agent;`.

/// Posts `event` to `{base}/v1/events`, signed with `secret` at the RFC 3339 time `signed_at`
/// (the server's test clock must be within the replay window of it).
pub async fn post_event(
    client: &reqwest::Client,
    base: &str,
    secret: &str,
    signed_at: &str,
    event: &serde_json::Value,
) -> reqwest::Response {
    let body = serde_json::to_vec(event).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(signed_at)
        .unwrap()
        .timestamp();
    client
        .post(format!("{base}/v1/events"))
        .header("content-type", "application/json")
        .header(
            "handoff-signature",
            handoff_connectors::signature::TimestampedSignature::sign(secret.as_bytes(), at, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Like [`post_event`], expecting 202; returns the handoff id of the receipt.
#[allow(dead_code)] // not every including test needs the receipt
pub async fn post_accepted(
    client: &reqwest::Client,
    base: &str,
    secret: &str,
    signed_at: &str,
    event: &serde_json::Value,
) -> String {
    let response = post_event(client, base, secret, signed_at, event).await;
    assert_eq!(response.status(), 202);
    let receipt: serde_json::Value = response.json().await.unwrap();
    receipt["handoff_id"].as_str().unwrap().to_string()
}
