//! Every provider payload of `tests/fixtures/providers/` through its real HTTP route on the
//! embedded runner, signed as the provider signs it: each becomes an assigned, CRM-written,
//! notified handoff (or joins the buyer's open one). Refused requests — tampered, wrong secret,
//! expired, missing credentials, a replayed Mailgun token — answer 401 and store nothing.

use axum::body::Body;
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use handoff_cli::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use handoff_connectors::secrets::StaticSecrets;
use handoff_connectors::{registry, samples, RawRequest};
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::State;
use handoff_domain::ports::{Clock, ManualClock};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

// Postmark and SendGrid authenticate with Basic auth in the webhook URL and sign nothing, so a
// changed body cannot be told from the original: for them "tampered" means tampered credentials.

const SECRETS: &[(&str, &str)] = &[
    ("agent", "local-agent-secret"),
    ("typeform", "local-typeform-secret"),
    ("tally", "local-tally-secret"),
    ("hubspot", "local-hubspot-client-secret"),
    ("postmark", "inbound:local-postmark-password"),
    ("mailgun", "local-mailgun-signing-key"),
    ("sendgrid", "parse:local-sendgrid-password"),
    ("calendly", "local-calendly-signing-key"),
    ("calcom", "local-calcom-secret"),
    ("hubspot_token", "pat-local-test"),
];

/// Every documented provider payload: (file, provider, content type, body).
fn provider_fixtures() -> Vec<(&'static str, &'static str, String, Vec<u8>)> {
    samples::documented()
        .into_iter()
        .map(|s| (s.file, s.provider, s.content_type.to_string(), s.body))
        .collect()
}

fn mailgun_sample() -> Vec<u8> {
    samples::documented()
        .into_iter()
        .find(|s| s.provider == "mailgun")
        .unwrap()
        .body
}

fn postmark_sample() -> Vec<u8> {
    samples::documented()
        .into_iter()
        .find(|s| s.provider == "postmark")
        .unwrap()
        .body
}

struct Local {
    pipeline: LocalPipeline,
    router: Router,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn local() -> Local {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ));
    let pipeline = LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: dir.path().to_path_buf(),
        rules: RulesChoice::Embedded,
        clock: clock.clone(),
        public_url: "http://127.0.0.1:8080".into(),
        secrets: Arc::new(StaticSecrets::of(SECRETS)),
    })
    .await
    .unwrap();
    let hubspot = handoff_connectors::hubspot_contacts::HubspotContacts::new(
        handoff_testkit::hubspot::serve("pat-local-test").await,
    )
    .unwrap();
    let mut intake = pipeline.app.intake.clone();
    intake.contacts = Some(Arc::new(hubspot));
    let app = Arc::new(handoff_api::App {
        services: pipeline.services.clone(),
        intake,
    });
    Local {
        router: handoff_api::local_router(app),
        pipeline,
        clock,
        _dir: dir,
    }
}

fn secret(provider: &str) -> &'static str {
    SECRETS.iter().find(|(p, _)| *p == provider).unwrap().1
}

/// Signs like the provider (with `secret` at `at`), then lets `tamper` change the request.
fn signed(
    provider: &str,
    content_type: &str,
    body: Vec<u8>,
    secret: &str,
    at: DateTime<Utc>,
    tamper: impl FnOnce(&mut RawRequest),
) -> RawRequest {
    let p = registry::by_name(provider).unwrap();
    let mut r = RawRequest::post(
        format!("http://127.0.0.1:8080{}", p.path()),
        &[("content-type", content_type), ("host", "127.0.0.1:8080")],
        body,
    );
    p.sign(&mut r, secret, at);
    tamper(&mut r);
    r
}

async fn send(router: &Router, path: &str, r: RawRequest) -> (u16, Value) {
    let mut b = axum::http::Request::builder()
        .method(r.method.as_str())
        .uri(path);
    for (k, v) in &r.headers {
        b = b.header(k, v);
    }
    let resp = router
        .clone()
        .oneshot(b.body(Body::from(r.body)).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn stored(l: &Local) -> usize {
    let far = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
    l.pipeline
        .services
        .store
        .created_between(DateTime::<Utc>::MIN_UTC, far)
        .await
        .unwrap()
        .len()
}

fn ids(answer: &Value) -> Vec<HandoffId> {
    answer["handoffs"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|h| HandoffId::parse(h["handoff_id"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_fixture_becomes_a_notified_handoff_through_its_route() {
    let l = local().await;
    let mut all: Vec<(&str, HandoffId)> = Vec::new();
    for (file, provider, content_type, body) in provider_fixtures() {
        l.clock.advance(chrono::Duration::minutes(1));
        let r = signed(
            provider,
            &content_type,
            body,
            secret(provider),
            l.clock.now(),
            |_| {},
        );
        let path = registry::by_name(provider).unwrap().path();
        let (status, answer) = send(&l.router, path, r).await;
        assert_eq!(status, 202, "{file}: {answer}");
        let got = ids(&answer);
        assert!(!got.is_empty(), "{file} created nothing: {answer}");
        l.pipeline.drain().await.unwrap();
        all.extend(got.into_iter().map(|id| (file, id)));
    }
    // The two HubSpot Webhooks API fixtures name three contacts; the Calendly no-show and
    // cancellation join the booking's handoff.
    let mut automated = 0;
    let mut joined_open: Vec<&str> = Vec::new();
    for (file, id) in &all {
        let s = &l.pipeline.services;
        let record = s.store.get(id).await.unwrap().unwrap();
        let timeline: Vec<String> = s
            .store
            .timeline(id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.event.clone())
            .collect();
        // A sample whose words are no buying signal (Tally's documented form says "Hello";
        // Mailgun's is a routing test) is closed by the automation, never sent to a rep.
        if timeline.iter().any(|e| e == "closed_without_handoff") {
            assert_eq!(
                record.state,
                State::ClosedWithoutHandoff,
                "{file}: {timeline:?}"
            );
            assert!(
                !timeline.iter().any(|e| e == "notified"),
                "{file}: {timeline:?}"
            );
            automated += 1;
            continue;
        }
        // A sample from a buyer whose handoff an earlier sample opened joins it as a new touch.
        if record.state == State::Attached {
            assert_eq!(timeline, ["received", "attached"], "{file}");
            let open = record.attached_to.clone().unwrap();
            assert!(all.iter().any(|(_, other)| *other == open), "{file}");
            let open = s.store.get(&open).await.unwrap().unwrap();
            assert!(
                open.touches.iter().any(|t| &t.handoff_id == id),
                "{file}: {:?}",
                open.touches
            );
            joined_open.push(file);
            continue;
        }
        assert_eq!(record.state, State::Notified, "{file}: {timeline:?}");
        let crm = timeline.iter().position(|e| e == "crm_written");
        let notified = timeline.iter().position(|e| e == "notified");
        assert!(
            crm.is_some() && crm < notified,
            "{file}: CRM before notification: {timeline:?}"
        );
        assert!(
            l.pipeline
                .data_dir
                .join("crm")
                .join(format!("{id}.json"))
                .exists(),
            "{file}: CRM file"
        );
    }
    assert!(
        automated <= 2,
        "{automated} of {} samples never reached a rep",
        all.len()
    );
    // SendGrid's three documented payloads are mails of one sender (test@example.com): the
    // first opens a handoff, the other two join it.
    assert_eq!(
        joined_open,
        [
            "sendgrid_inbound_parse_raw_data.multipart.txt",
            "sendgrid_inbound_parse_raw_data_with_attachments.multipart.txt"
        ],
        "samples that joined an open handoff"
    );
    let booking = all
        .iter()
        .find(|(f, _)| *f == "calendly_invitee_created.json")
        .unwrap()
        .1
        .clone();
    for joined in [
        "calendly_invitee_no_show_created.json",
        "calendly_invitee_canceled.json",
    ] {
        let id = &all.iter().find(|(f, _)| *f == joined).unwrap().1;
        assert_eq!(id, &booking, "{joined} joins the booking's handoff");
    }
    let timeline: Vec<String> = l
        .pipeline
        .services
        .store
        .timeline(&booking)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.clone())
        .collect();
    assert!(
        timeline.contains(&"meeting_no_show".to_string()),
        "{timeline:?}"
    );
    assert!(
        timeline.contains(&"meeting_cancelled".to_string()),
        "{timeline:?}"
    );
    let hubspot: Vec<_> = all
        .iter()
        .filter(|(f, _)| f.starts_with("hubspot"))
        .collect();
    assert_eq!(
        hubspot.len(),
        3,
        "one handoff per named contact: {hubspot:?}"
    );
    let audit = l
        .pipeline
        .services
        .audit(
            l.clock.now() - chrono::Duration::days(1),
            l.clock.now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    assert!(audit.no_show_rate.unwrap() > 0.0, "{audit:?}");

    // A provider's retry of every fixture changes nothing.
    let before = stored(&l).await;
    for (file, provider, content_type, body) in provider_fixtures() {
        let r = signed(
            provider,
            &content_type,
            body,
            secret(provider),
            l.clock.now(),
            |_| {},
        );
        let (status, answer) =
            send(&l.router, registry::by_name(provider).unwrap().path(), r).await;
        assert_eq!(status, 202, "{file}: {answer}");
        for h in answer["handoffs"].as_array().unwrap() {
            assert_eq!(h["duplicate"], true, "{file}: {answer}");
        }
    }
    assert_eq!(stored(&l).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_answer_401_and_store_nothing() {
    let l = local().await;
    let now = l.clock.now();
    let old = now - chrono::Duration::minutes(10);
    for (file, provider, content_type, body) in provider_fixtures() {
        let path = registry::by_name(provider).unwrap().path();
        let mut cases: Vec<(&str, RawRequest)> = vec![
            (
                "tampered body",
                signed(
                    provider,
                    &content_type,
                    body.clone(),
                    secret(provider),
                    now,
                    |r| {
                        if provider == "mailgun" {
                            // Mailgun signs timestamp + token only: change the signed token.
                            let s = String::from_utf8(r.body.clone()).unwrap();
                            r.body = s.replacen("token=", "token=0", 1).into_bytes();
                        } else if matches!(provider, "postmark" | "sendgrid") {
                            // Basic auth covers no body (neither provider signs it): tamper with
                            // the credentials instead.
                            let auth = r.header("authorization").unwrap().to_string();
                            r.set_header("authorization", format!("{auth}x"));
                        } else {
                            r.body.insert(r.body.len() / 2, b' ');
                        }
                    },
                ),
            ),
            (
                "wrong secret",
                signed(
                    provider,
                    &content_type,
                    body.clone(),
                    "user:not-the-secret",
                    now,
                    |_| {},
                ),
            ),
            (
                "missing credentials",
                signed(
                    provider,
                    &content_type,
                    body.clone(),
                    secret(provider),
                    now,
                    |r| {
                        r.headers
                            .retain(|(k, _)| k == "content-type" || k == "host");
                        if provider == "mailgun" {
                            let s = String::from_utf8(r.body.clone()).unwrap();
                            let kept: Vec<(String, String)> =
                                serde_urlencoded::from_str::<Vec<(String, String)>>(&s)
                                    .unwrap()
                                    .into_iter()
                                    .filter(|(k, _)| k != "signature")
                                    .collect();
                            r.body = serde_urlencoded::to_string(kept).unwrap().into_bytes();
                        }
                    },
                ),
            ),
        ];
        if matches!(provider, "hubspot" | "mailgun" | "calendly" | "agent") {
            cases.push((
                "expired timestamp",
                signed(
                    provider,
                    &content_type,
                    body.clone(),
                    secret(provider),
                    old,
                    |_| {},
                ),
            ));
        }
        for (what, r) in cases {
            let (status, answer) = send(&l.router, path, r).await;
            assert_eq!(status, 401, "{file} {what}: {answer}");
            assert_eq!(answer["error"], "unauthorized", "{file} {what}: {answer}");
            assert!(
                !answer["message"]
                    .as_str()
                    .unwrap()
                    .contains(secret(provider)),
                "{file} {what}: the answer must not echo the secret"
            );
        }
    }
    assert_eq!(stored(&l).await, 0, "a refused request stores nothing");
    assert_eq!(l.pipeline.drain().await.unwrap(), 0, "and enqueues nothing");

    // A Mailgun token is accepted once: the same signed request again is a replay.
    let form = mailgun_sample();
    let r = signed(
        "mailgun",
        "application/x-www-form-urlencoded",
        form,
        secret("mailgun"),
        now,
        |_| {},
    );
    let (status, answer) = send(&l.router, "/email/mailgun", r.clone()).await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = send(&l.router, "/email/mailgun", r).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("already used"),
        "{answer}"
    );
    assert_eq!(stored(&l).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_status_and_a_json_body_naming_the_problem() {
    let l = local().await;
    let now = l.clock.now();
    let (status, body) = send(
        &l.router,
        "/forms/nowhere",
        RawRequest::post("http://x/forms/nowhere", &[], b"{}".to_vec()),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let mut get = RawRequest::post("http://x/forms/typeform", &[], Vec::new());
    get.method = "GET".into();
    let (status, body) = send(&l.router, "/forms/typeform", get).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("method_not_allowed")),
        "{body}"
    );
    let r = signed(
        "typeform",
        "text/plain",
        b"{}".to_vec(),
        secret("typeform"),
        now,
        |_| {},
    );
    let (status, body) = send(&l.router, "/forms/typeform", r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (415, Some("unsupported_media_type")),
        "{body}"
    );
    let big = vec![b' '; handoff_api::MAX_PROVIDER_BODY_BYTES + 1];
    let r = signed(
        "typeform",
        "application/json",
        big,
        secret("typeform"),
        now,
        |_| {},
    );
    let (status, body) = send(&l.router, "/forms/typeform", r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let r = signed(
        "typeform",
        "application/json",
        br#"{"event_id":"x","event_type":"form_response","form_response":{"answers":[]}}"#.to_vec(),
        secret("typeform"),
        now,
        |_| {},
    );
    let (status, body) = send(&l.router, "/forms/typeform", r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_payload")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("form_response"),
        "{body}"
    );
    assert_eq!(stored(&l).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_reply_gets_its_outbound_thread_context() {
    let l = local().await;
    let now = l.clock.now();
    // The sequencer tells handoff about the thread it sent, with the plus-address token it used.
    let thread = json!({
        "thread_id": "vera-thread-4711",
        "keys": ["<outbound-4711@mail.northwind.io>", "SampleHash"],
        "buyer_email": "support@postmarkapp.com",
        "sequence": "revops-leaders-q4",
        "account": {"name": "Postmark", "reason": "Hiring 4 SDRs", "strategic": false},
        "outreach_history": [{"step": 1, "channel": "email", "sent_at": "2026-11-20T09:00:00Z", "summary": "Intro"}]
    });
    let r = signed(
        "agent",
        "application/json",
        thread.to_string().into_bytes(),
        secret("agent"),
        now,
        |_| {},
    );
    let (status, body) = send(&l.router, "/v1/threads", r).await;
    assert_eq!(status, 202, "{body}");
    let r = signed(
        "agent",
        "application/json",
        thread.to_string().into_bytes(),
        "wrong",
        now,
        |_| {},
    );
    assert_eq!(send(&l.router, "/v1/threads", r).await.0, 401);

    let r = signed(
        "postmark",
        "application/json",
        postmark_sample(),
        secret("postmark"),
        now,
        |_| {},
    );
    let (status, answer) = send(&l.router, "/email/postmark", r).await;
    assert_eq!(status, 202, "{answer}");
    let id = ids(&answer).remove(0);
    let record = l.pipeline.services.store.get(&id).await.unwrap().unwrap();
    let handoff_domain::event::EventKind::EmailReply(reply) = &record.event.kind else {
        panic!("an email reply: {:?}", record.event.kind)
    };
    assert_eq!(reply.thread_id, "vera-thread-4711");
    assert_eq!(reply.sequence.as_deref(), Some("revops-leaders-q4"));
    assert_eq!(reply.account.as_ref().unwrap().reason, "Hiring 4 SDRs");
    assert_eq!(reply.outreach_history.len(), 1);
    assert_eq!(reply.attachments.len(), 1, "noted, not stored");
}
