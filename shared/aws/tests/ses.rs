//! [`SesMailSender`] against SES v2 on the emulator: a notification mailed from a verified
//! identity (created with `CreateEmailIdentity`) is sent, which the emulator's own record of sent
//! messages (`GET /moto-api/data.json`, `ses.Message`) proves; a sender that is no identity is
//! refused with `MessageRejected`, a permanent failure. Without `AWS_ENDPOINT_URL` each test
//! prints a notice and returns (fails under `CI=true`): see `common`.

mod common;

use handoff_aws::ses::{sesv2_client, SesMailSender};
use handoff_connectors::outbound::email::EmailNotifier;
use handoff_domain::config::{EmailSettings, SmtpSecurity};
use handoff_domain::ports::{DeliveryError, Notifier};
use handoff_testkit::fixtures;
use serde_json::Value;
use std::io::{Read, Write};
use std::sync::Arc;

fn settings(from: &str) -> EmailSettings {
    EmailSettings {
        from: from.into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: 25,
        smtp_security: SmtpSecurity::None,
    }
}

/// `GET <endpoint><path>` (plain HTTP/1.0 to the emulator), the body as JSON.
async fn get_json(endpoint: String, path: &'static str) -> Value {
    tokio::task::spawn_blocking(move || {
        let authority = endpoint
            .trim_end_matches('/')
            .strip_prefix("http://")
            .expect("the emulator endpoint is http://host:port");
        let mut stream = std::net::TcpStream::connect(authority).expect("connect to the emulator");
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let at = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP response");
        serde_json::from_slice(&raw[at + 4..]).expect("JSON from the emulator")
    })
    .await
    .unwrap()
}

/// The messages the emulator's SES recorded as sent.
async fn sent_messages() -> Vec<Value> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let data = get_json(endpoint, "/moto-api/data.json").await;
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_is_sent_from_a_verified_identity() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let client = sesv2_client(&config);
    let tag = common::suffix();
    let from = format!("handoff@sales-{tag}.example");
    client
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .expect("create the sender identity on the emulator");

    let notifier = EmailNotifier::new(
        settings(&from),
        Arc::new(SesMailSender::new(client.clone())),
    );
    let id = fixtures::handoff_id(&format!("ses-{tag}"));
    let n = fixtures::notification(&id, "email:lena@emea.example", "hubspot task 77");
    let receipt = notifier.notify(&n).await.expect("SES accepts the mail");
    let message_id = receipt.strip_prefix("email:").expect("an email receipt");
    assert!(!message_id.is_empty());

    let sent = sent_messages().await;
    let m = sent
        .iter()
        .find(|m| m["id"] == message_id)
        .unwrap_or_else(|| panic!("message {message_id} not among the sent: {sent:?}"));
    assert_eq!(m["source"], from.as_str());
    assert_eq!(m["subject"], n.title.as_str());
    assert_eq!(
        m["destinations"]["ToAddresses"],
        serde_json::json!(["lena@emea.example"])
    );
    // The emulator keeps the HTML body when there is one.
    let body = m["body"].as_str().unwrap_or_default();
    let claim = &n.actions[0].1;
    assert!(body.contains(&format!("href=\"{claim}\"")), "{body}");
    assert!(body.contains("Mon 07 Jan 11:00 CET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_sender_is_refused_as_permanent() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let client = sesv2_client(&config);
    let tag = common::suffix();
    let from = format!("handoff@unverified-{tag}.example");
    let notifier = EmailNotifier::new(settings(&from), Arc::new(SesMailSender::new(client)));
    let n = fixtures::notification(
        &fixtures::handoff_id(&format!("ses-unverified-{tag}")),
        "email:lena@emea.example",
        "crm",
    );
    let err = notifier.notify(&n).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("MessageRejected")),
        "{err}"
    );
    assert!(
        !sent_messages()
            .await
            .iter()
            .any(|m| m["source"] == from.as_str()),
        "nothing was sent from the unverified address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_transient() {
    let Some(config) = common::emulator().await else {
        return;
    };
    // Same configuration, but an endpoint where nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sdk = aws_sdk_sesv2::config::Builder::from(&config)
        .endpoint_url(format!("http://127.0.0.1:{closed}"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let sender = SesMailSender::new(aws_sdk_sesv2::Client::from_conf(sdk));
    let notifier = EmailNotifier::new(settings("handoff@sales.example"), Arc::new(sender));
    let n = fixtures::notification(
        &fixtures::handoff_id("ses-down"),
        "email:lena@emea.example",
        "crm",
    );
    let err = notifier.notify(&n).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
}
