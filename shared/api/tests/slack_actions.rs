//! `POST /slack/actions` end to end: a handoff driven through the real stages (SQLite store and
//! queue, the example rules with every rep on Slack) to a Block Kit message in the local Slack
//! stand-in; then Slack's documented `block_actions` payload, carrying that message's button,
//! signed like Slack signs it, through the intake router.

use axum::body::Body;
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use handoff_api::{App, IntakeEdge};
use handoff_connectors::outbound::configured::NoCrm;
use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::slack::{
    self, SlackNotifier, ACTION_CLAIM, ACTION_REQUALIFY, ACTION_WRONG_OWNER,
};
use handoff_connectors::secrets::{SecretSource, StaticSecrets};
use handoff_domain::claim_link::ClaimSigner;
use handoff_domain::config::{Rules, SlackSettings};
use handoff_domain::ids::{HandoffId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, State};
use handoff_domain::ports::{Clock, ManualClock, Stage, StageQueue, StaticRules};
use handoff_domain::service::delivery::Disposition;
use handoff_domain::service::Services;
use handoff_local::{SqliteQueue, SqliteStore};
use handoff_testkit::fixtures;
use handoff_testkit::slack::{SlackMessage, SlackStandIn};
use handoff_testkit::standin::{CallLog, Faults};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const RULES: &str = include_str!("../../../examples/handoff.toml");
const PAYLOAD: &str =
    include_str!("../../../tests/fixtures/providers/slack_block_actions_payload.json");
const FORM_BODY: &str =
    include_str!("../../../tests/fixtures/providers/slack_block_actions_form_body.txt");
const BOT_TOKEN: &str = "xoxb-api-test-token";
const SIGNING_SECRET: &str = "slack-signing-secret-for-tests";

/// Tuesday 24 Nov 2026, 10:00 UTC: working hours for every EMEA rep.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
}

/// A rep's Slack member id in these tests.
fn member(rep: &RepId) -> String {
    format!("U{}", rep.as_str().to_ascii_uppercase())
}

struct Env {
    services: Arc<Services>,
    queue: Arc<SqliteQueue>,
    router: Router,
    slack: SlackStandIn,
    clock: Arc<ManualClock>,
    rules: Arc<Rules>,
}

struct Options {
    secrets: Vec<(&'static str, &'static str)>,
    now: DateTime<Utc>,
    slack_table: bool,
    tweak: fn(&mut Rules),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secrets: vec![
                ("slack_bot_token", BOT_TOKEN),
                ("slack_signing_secret", SIGNING_SECRET),
            ],
            now: start(),
            slack_table: true,
            tweak: |_| {},
        }
    }
}

async fn env_with(opts: Options) -> Env {
    let slack = SlackStandIn::start(BOT_TOKEN, CallLog::new(), Faults::new()).await;
    let settings = SlackSettings {
        api_url: slack.base_url().to_string(),
    };
    let mut rules = Rules::from_toml("examples/handoff.toml", RULES).unwrap();
    for rep in &mut rules.reps {
        rep.notify = format!("slack:@{}", rep.id);
        rep.slack_user_id = Some(member(&rep.id));
    }
    rules.notify.slack = opts.slack_table.then(|| settings.clone());
    (opts.tweak)(&mut rules);
    let rules = Arc::new(rules);

    let secrets: Arc<dyn SecretSource> = Arc::new(StaticSecrets::of(&opts.secrets));
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let queue = Arc::new(SqliteQueue::open_in_memory(5).unwrap());
    let clock = Arc::new(ManualClock::new(opts.now));
    let notifier = SlackNotifier::new(
        settings,
        Arc::new(StaticSecrets::of(&[("slack_bot_token", BOT_TOKEN)])),
        HttpPolicy::fast(),
    )
    .unwrap();
    let services = Arc::new(Services {
        store: store.clone(),
        queue: queue.clone(),
        threads: store.clone(),
        crm: Arc::new(NoCrm),
        notifier: Arc::new(notifier),
        clock: clock.clone(),
        rules: Arc::new(StaticRules(rules.clone())),
        judge: Arc::new(handoff_domain::ports::NoJudge),
        claims: ClaimSigner::new("claim-link-secret-for-slack-tests"),
        public_url: "http://127.0.0.1:8080".into(),
        claim_link_ttl: chrono::Duration::days(7),
    });
    let app = Arc::new(App {
        services: services.clone(),
        intake: IntakeEdge {
            secrets,
            once: store,
            contacts: None,
            public_base_url: None,
        },
    });
    Env {
        services,
        queue,
        router: handoff_api::intake_router(app),
        slack,
        clock,
        rules,
    }
}

async fn env() -> Env {
    env_with(Options::default()).await
}

/// The response: status and body text.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Env {
    /// Runs every stage until the queues are empty.
    async fn drain(&self) {
        loop {
            let mut got = 0;
            for stage in Stage::ALL {
                let batch = self
                    .queue
                    .receive(stage, 10, Duration::from_secs(30))
                    .await
                    .unwrap();
                got += batch.len();
                for d in &batch {
                    match self.services.handle_message(stage, &d.body).await {
                        Disposition::Ack(_) => self.queue.ack(stage, &d.receipt).await.unwrap(),
                        other => panic!("{stage:?} {}: {other:?}", d.body),
                    }
                }
            }
            if got == 0 {
                return;
            }
        }
    }

    /// A web-form demo request driven to `notified` through the real stages.
    async fn notified_handoff(&self, key: &str) -> HandoffRecord {
        let event = fixtures::event_from(key, &format!("dana@{key}-corp.com"), self.clock.now());
        let receipt = self.services.intake(event).await.unwrap();
        self.drain().await;
        let record = self.record(&receipt.handoff_id).await;
        assert_eq!(record.state, State::Notified, "{record:?}");
        record
    }

    async fn record(&self, id: &HandoffId) -> HandoffRecord {
        self.services.store.get(id).await.unwrap().unwrap()
    }

    /// The message the record's notification receipt names, as it stands now.
    fn message_of(&self, record: &HandoffRecord) -> SlackMessage {
        let receipt = record.notification_ref.as_deref().expect("notified");
        let (channel, ts) = slack::parse_receipt(receipt).expect("a Slack receipt");
        self.slack
            .message(&channel, &ts)
            .expect("the stand-in has it")
    }

    fn owner(&self, record: &HandoffRecord) -> RepId {
        record
            .owner
            .as_ref()
            .and_then(|o| o.rep.clone())
            .expect("a rep owns it")
    }

    fn name(&self, rep: &RepId) -> String {
        self.rules.rep(rep).unwrap().name.clone()
    }

    /// Slack's documented `block_actions` payload, clicked by `user` on `action_id` of `m`.
    fn payload(&self, m: &SlackMessage, user: &str, action_id: &str) -> String {
        let mut v: Value = serde_json::from_str(PAYLOAD).unwrap();
        v["user"]["id"] = json!(user);
        v["actions"][0]["action_id"] = json!(action_id);
        v["actions"][0]["value"] = json!(m.button_value(action_id).expect("the button"));
        v["container"]["channel_id"] = json!(m.channel);
        v["container"]["message_ts"] = json!(m.ts);
        v["container"]["is_ephemeral"] = json!(false);
        v["channel"]["id"] = json!(m.channel);
        v["message"] = json!({"type": "message", "ts": m.ts, "text": m.text});
        form(&v)
    }

    /// POSTs `body` with the given Slack headers.
    async fn post(
        &self,
        body: String,
        timestamp: Option<String>,
        signature: Option<String>,
    ) -> Answer {
        send(self.router.clone(), request(body, timestamp, signature)).await
    }

    /// A click request signed like Slack, now.
    fn signed_click(
        &self,
        m: &SlackMessage,
        user: &str,
        action_id: &str,
    ) -> axum::http::Request<Body> {
        let body = self.payload(m, user, action_id);
        let now = self.clock.now().timestamp();
        let sig = slack::sign_request(SIGNING_SECRET, now, body.as_bytes());
        request(body, Some(now.to_string()), Some(sig))
    }

    /// POSTs `body` signed like Slack, now.
    async fn signed(&self, body: String) -> Answer {
        let now = self.clock.now().timestamp();
        let sig = slack::sign_request(SIGNING_SECRET, now, body.as_bytes());
        self.post(body, Some(now.to_string()), Some(sig)).await
    }

    async fn click(&self, m: &SlackMessage, user: &str, action_id: &str) -> Answer {
        self.signed(self.payload(m, user, action_id)).await
    }
}

fn request(
    body: String,
    timestamp: Option<String>,
    signature: Option<String>,
) -> axum::http::Request<Body> {
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/slack/actions")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(t) = timestamp {
        req = req.header("x-slack-request-timestamp", t);
    }
    if let Some(s) = signature {
        req = req.header("x-slack-signature", s);
    }
    req.body(Body::from(body)).unwrap()
}

async fn send(router: Router, req: axum::http::Request<Body>) -> Answer {
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A well-formed signature with the wrong key.
fn forged_again(body: &str, at: i64) -> String {
    slack::sign_request("guessed-secret", at, body.as_bytes())
}

fn form(payload: &Value) -> String {
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

/// The JSON of a `payload=` form body.
fn decode(body: &str) -> Value {
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap();
    serde_json::from_str(&fields[0].1).unwrap()
}

fn assert_ok_empty(a: &Answer) {
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.is_empty(), "Slack wants an empty 200: {}", a.body);
}

fn assert_unauthorized(a: &Answer) {
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.json()["error"], "unauthorized", "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_claim_accepts_and_updates_the_message_with_the_winner() {
    let e = env().await;
    let record = e.notified_handoff("slack-claim").await;
    let owner = e.owner(&record);
    let m = e.message_of(&record);
    assert_eq!(m.action_ids().len(), 3, "{m:#?}");

    let answer = e.click(&m, &member(&owner), ACTION_CLAIM).await;
    assert_ok_empty(&answer);
    let after = e.record(&record.id).await;
    assert_eq!(after.state, State::Accepted);
    assert_eq!(after.owner.as_ref().unwrap().rep.as_ref(), Some(&owner));

    let now = e.message_of(&record);
    assert_eq!(now.updates(), 1);
    assert!(now.action_ids().is_empty(), "no buttons once claimed");
    let text = now.all_text();
    assert!(
        text.contains(&format!("✅ Claimed by {}", e.name(&owner))),
        "{text}"
    );
    assert!(e.slack.ephemerals().is_empty());

    // A second click (Slack users double-click) is a no-op accept: still one winner.
    assert_ok_empty(&e.click(&m, &member(&owner), ACTION_CLAIM).await);
    assert_eq!(e.record(&record.id).await.version, after.version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_body_other_timestamp_and_old_requests_are_401() {
    let e = env().await;
    let record = e.notified_handoff("slack-401").await;
    let owner = e.owner(&record);
    let m = e.message_of(&record);
    let body = e.payload(&m, &member(&owner), ACTION_CLAIM);
    let now = e.clock.now().timestamp();
    let sig = slack::sign_request(SIGNING_SECRET, now, body.as_bytes());

    // Tampered: another user's click under the original signature.
    let tampered = body.replace(&member(&owner), "UMALLORY");
    assert_ne!(tampered, body);
    assert_unauthorized(
        &e.post(tampered, Some(now.to_string()), Some(sig.clone()))
            .await,
    );

    // The signature was made for another timestamp.
    assert_unauthorized(
        &e.post(body.clone(), Some((now + 1).to_string()), Some(sig.clone()))
            .await,
    );

    // Older than five minutes, or from the future.
    for at in [now - 301, now + 301] {
        let sig = slack::sign_request(SIGNING_SECRET, at, body.as_bytes());
        let answer = e.post(body.clone(), Some(at.to_string()), Some(sig)).await;
        assert_unauthorized(&answer);
        assert!(
            answer.json()["message"].as_str().unwrap().contains("300"),
            "{}",
            answer.body
        );
    }

    // Another secret; missing or malformed headers.
    let forged = slack::sign_request("not-the-secret", now, body.as_bytes());
    assert_unauthorized(
        &e.post(body.clone(), Some(now.to_string()), Some(forged))
            .await,
    );
    assert_unauthorized(&e.post(body.clone(), None, Some(sig.clone())).await);
    assert_unauthorized(&e.post(body.clone(), Some(now.to_string()), None).await);
    assert_unauthorized(
        &e.post(body.clone(), Some("yesterday".into()), Some(sig.clone()))
            .await,
    );
    assert_unauthorized(
        &e.post(
            body.clone(),
            Some(now.to_string()),
            Some(sig.replace("v0=", "v1=")),
        )
        .await,
    );
    let answer = e
        .post(
            body.clone(),
            Some(now.to_string()),
            Some(forged_again(&body, now)),
        )
        .await;
    assert_unauthorized(&answer);
    assert!(!answer.body.contains(SIGNING_SECRET) && !answer.body.contains("v0="));

    // Nothing happened; then the genuine request (within the window) works.
    let unchanged = e.record(&record.id).await;
    assert_eq!(unchanged.version, record.version);
    assert_eq!(e.message_of(&record).updates(), 0);
    e.clock.advance(chrono::Duration::seconds(299));
    assert_ok_empty(&e.post(body, Some(now.to_string()), Some(sig)).await);
    assert_eq!(e.record(&record.id).await.state, State::Accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_signing_secret_refuses_every_request() {
    let e = env_with(Options {
        secrets: vec![("slack_bot_token", BOT_TOKEN)],
        ..Options::default()
    })
    .await;
    let record = e.notified_handoff("slack-nosecret").await;
    let m = e.message_of(&record);
    let answer = e.click(&m, &member(&e.owner(&record)), ACTION_CLAIM).await;
    assert_unauthorized(&answer);
    let message = answer.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("slack_signing_secret"), "{message}");
    assert_eq!(e.record(&record.id).await.state, State::Notified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_vector_verifies_through_the_route() {
    // §10 (local): secret `test-secret`, ts 1700000000, the fixture form body.
    let e = env_with(Options {
        secrets: vec![("slack_signing_secret", "test-secret")],
        now: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
        ..Options::default()
    })
    .await;
    let sig = "v0=41285fadd2b276ad04a2a4d6b9241b7063fa345dde47a34bd285dd338498c75d";
    assert_eq!(
        slack::sign_request("test-secret", 1_700_000_000, FORM_BODY.as_bytes()),
        sig
    );
    // Verified; its button (`action_id: "a"`) is not one of handoff's: 200, nothing done.
    let answer = e
        .post(
            FORM_BODY.to_string(),
            Some("1700000000".into()),
            Some(sig.into()),
        )
        .await;
    assert_ok_empty(&answer);
    assert!(e.slack.log().calls().is_empty());
    let tampered = FORM_BODY.replace("W111", "W112");
    assert_unauthorized(
        &e.post(tampered, Some("1700000000".into()), Some(sig.into()))
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_payloads_are_ignored_and_malformed_ones_name_the_field() {
    let e = env().await;
    let record = e.notified_handoff("slack-malformed").await;
    let m = e.message_of(&record);
    let user = member(&e.owner(&record));

    // Another payload type.
    let other = form(&json!({"type": "view_submission", "user": {"id": user}}));
    assert_ok_empty(&e.signed(other).await);

    // Our button with a value that is not ours.
    let mut v = decode(&e.payload(&m, &user, ACTION_CLAIM));
    v["actions"][0]["value"] = json!("click_me_123");
    let answer = e.signed(form(&v)).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"], "invalid_payload");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("actions[0].value"),
        "{}",
        answer.body
    );

    // No payload field; a payload that is not JSON; no user.
    let answer = e.signed("token=abc".into()).await;
    assert_eq!(answer.status, 400);
    assert!(answer.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("payload"));
    let answer = e
        .signed(serde_urlencoded::to_string([("payload", "{oops")]).unwrap())
        .await;
    assert_eq!(answer.status, 400);
    let mut no_user = decode(&e.payload(&m, &user, ACTION_CLAIM));
    no_user.as_object_mut().unwrap().remove("user");
    let answer = e.signed(form(&no_user)).await;
    assert_eq!(answer.status, 400);
    assert!(answer.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("user.id"));

    assert_eq!(e.record(&record.id).await.version, record.version);
    assert_eq!(e.message_of(&record).updates(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_owner_reroutes_and_the_message_says_so() {
    let e = env().await;
    let record = e.notified_handoff("slack-wrong-owner").await;
    let first = e.owner(&record);
    let m = e.message_of(&record);

    assert_ok_empty(&e.click(&m, &member(&first), ACTION_WRONG_OWNER).await);
    let after = e.record(&record.id).await;
    assert_eq!(after.state, State::Assigned, "rerouted");
    let second = e.owner(&after);
    assert_ne!(second, first);

    let updated = e.slack.message(&m.channel, &m.ts).unwrap();
    assert!(updated.action_ids().is_empty());
    let text = updated.all_text();
    assert!(
        text.contains(&format!(
            "↪ {} said wrong owner — rerouted to {}",
            e.name(&first),
            e.name(&second)
        )),
        "{text}"
    );

    // The assign stage tells the new owner (with buttons) and updates the first message again.
    e.drain().await;
    let after = e.record(&record.id).await;
    assert_eq!(after.state, State::Notified);
    let theirs = e.message_of(&after);
    assert_eq!(
        theirs.channel,
        handoff_testkit::slack::dm_channel(&member(&second))
    );
    assert_eq!(theirs.action_ids().len(), 3);
    let first_message = e.slack.message(&m.channel, &m.ts).unwrap();
    assert_eq!(first_message.updates(), 2);
    assert!(
        first_message.all_text().contains("Moved to"),
        "{}",
        first_message.all_text()
    );

    // The first owner's old buttons no longer work for them.
    assert_ok_empty(&e.click(&m, &member(&first), ACTION_CLAIM).await);
    let refused = e.slack.ephemerals_for(&member(&first));
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert!(
        refused[0].text.starts_with("Could not claim this handoff"),
        "{refused:#?}"
    );
    assert!(refused[0].text.contains(&e.name(&second)), "{refused:#?}");
    assert_eq!(e.record(&record.id).await.state, State::Notified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requalify_moves_it_and_a_non_owner_gets_an_ephemeral() {
    let e = env().await;
    let record = e.notified_handoff("slack-requalify").await;
    let owner = e.owner(&record);
    let m = e.message_of(&record);

    // Someone else clicks Claim on the owner's message: refused, message untouched.
    let other = e
        .rules
        .reps
        .iter()
        .find(|r| r.id != owner && r.active)
        .unwrap()
        .id
        .clone();
    assert_ok_empty(&e.click(&m, &member(&other), ACTION_CLAIM).await);
    let told = e.slack.ephemerals_for(&member(&other));
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].channel, m.channel);
    assert!(told[0].text.contains(" is with "), "{told:#?}");
    assert!(told[0].text.contains(&e.name(&owner)), "{told:#?}");
    assert_eq!(e.slack.message(&m.channel, &m.ts).unwrap().updates(), 0);

    assert_ok_empty(&e.click(&m, &member(&owner), ACTION_REQUALIFY).await);
    let after = e.record(&record.id).await;
    assert_eq!(after.state, State::RequalificationRequested);
    let text = e.slack.message(&m.channel, &m.ts).unwrap().all_text();
    assert!(
        text.contains(&format!(
            "🔁 Re-qualification requested by {}",
            e.name(&owner)
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_claims_from_the_shared_queue_have_one_winner() {
    // No failover reps and no team leads: "wrong owner" sends it straight to the shared queue.
    let e = env_with(Options {
        tweak: |rules| {
            rules.failover.max_reps = 0;
            for team in &mut rules.teams {
                team.lead = None;
            }
        },
        ..Options::default()
    })
    .await;
    let record = e.notified_handoff("slack-queue").await;
    let first = e.owner(&record);
    assert_ok_empty(
        &e.click(&e.message_of(&record), &member(&first), ACTION_WRONG_OWNER)
            .await,
    );
    e.drain().await;
    let queued = e.record(&record.id).await;
    assert!(
        queued.owner.as_ref().unwrap().rep.is_none(),
        "in the shared queue: {:?}",
        queued.owner
    );
    let m = e.message_of(&queued);
    assert_eq!(
        Some(m.channel.clone()),
        e.slack.channel_id("sales-handoffs")
    );
    assert_eq!(m.action_ids().len(), 3, "Claim picks it up from the queue");

    let pickers: Vec<RepId> = e
        .rules
        .reps
        .iter()
        .filter(|r| r.id != first && r.active)
        .take(2)
        .map(|r| r.id.clone())
        .collect();
    // Two reps click at the same moment, on two workers.
    let first_click = tokio::spawn(send(
        e.router.clone(),
        e.signed_click(&m, &member(&pickers[0]), ACTION_CLAIM),
    ));
    let second_click = tokio::spawn(send(
        e.router.clone(),
        e.signed_click(&m, &member(&pickers[1]), ACTION_CLAIM),
    ));
    let (a, b) = (first_click.await.unwrap(), second_click.await.unwrap());
    assert_ok_empty(&a);
    assert_ok_empty(&b);

    let done = e.record(&record.id).await;
    assert_eq!(done.state, State::Accepted);
    let winner = e.owner(&done);
    assert!(pickers.contains(&winner));
    let loser = pickers.iter().find(|p| **p != winner).unwrap();

    let told = e.slack.ephemerals_for(&member(loser));
    assert_eq!(told.len(), 1, "{:#?}", e.slack.ephemerals());
    assert!(
        told[0]
            .text
            .contains(&format!("{} already claimed it", e.name(&winner))),
        "{told:#?}"
    );
    assert_eq!(
        told[0].text.matches(&e.name(&winner)).count(),
        1,
        "says who has it once: {told:#?}"
    );
    assert!(e.slack.ephemerals_for(&member(&winner)).is_empty());

    let final_message = e.slack.message(&m.channel, &m.ts).unwrap();
    assert!(final_message.action_ids().is_empty());
    let text = final_message.all_text();
    assert!(
        text.contains(&format!("✅ Claimed by {}", e.name(&winner))),
        "{text}"
    );
    assert!(
        !text.contains(&format!("Claimed by {}", e.name(loser))),
        "{text}"
    );
    assert_eq!(final_message.updates(), 1, "only the winner updates it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_slack_user_gets_an_ephemeral_and_nothing_changes() {
    let e = env().await;
    let record = e.notified_handoff("slack-stranger").await;
    let m = e.message_of(&record);
    // W111: the member of Slack's documented payload, not on the roster.
    assert_ok_empty(&e.click(&m, "W111", ACTION_CLAIM).await);
    let told = e.slack.ephemerals_for("W111");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].channel, m.channel);
    assert!(
        told[0].text.contains("not on the handoff roster"),
        "{told:#?}"
    );
    let after = e.record(&record.id).await;
    assert_eq!((after.state, after.version), (record.state, record.version));
    assert_eq!(e.slack.message(&m.channel, &m.ts).unwrap().updates(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_slack_table_the_claim_still_applies() {
    let e = env_with(Options {
        slack_table: false,
        ..Options::default()
    })
    .await;
    let record = e.notified_handoff("slack-no-table").await;
    let m = e.message_of(&record);
    let calls = e.slack.log().calls().len();
    assert_ok_empty(&e.click(&m, &member(&e.owner(&record)), ACTION_CLAIM).await);
    assert_eq!(e.record(&record.id).await.state, State::Accepted);
    assert_eq!(
        e.slack.log().calls().len(),
        calls,
        "no Slack client to call"
    );
}
