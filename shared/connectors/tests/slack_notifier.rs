//! The Slack notifier against the local Slack Web API stand-in: the notifier conformance suite,
//! the Block Kit layout (six parts, flags and lane, deadline, three buttons), mrkdwn escaping of
//! hostile buyer text (no link, mention or forged line), in-place updates when a handoff moves,
//! the news of a new touch, and Slack's failure shapes (`ok:false` codes, HTTP 429 with
//! `Retry-After`).

use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::slack::{
    self, ButtonValue, SlackNotifier, ACTION_CLAIM, ACTION_REQUALIFY, ACTION_WRONG_OWNER,
};
use handoff_connectors::secrets::{SecretSource, StaticSecrets};
use handoff_domain::config::SlackSettings;
use handoff_domain::ids::HandoffId;
use handoff_domain::package::{HumanLane, RiskFlag};
use handoff_domain::ports::{DeliveryError, Notification, Notifier};
use handoff_testkit::fixtures;
use handoff_testkit::slack::{dm_channel, rate_limited, slack_error, SlackMessage, SlackStandIn};
use handoff_testkit::standin::{CallLog, Fault, Faults};
use handoff_testkit::Guarded;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "xoxb-1234-5678-standin";

fn secrets(token: &str) -> Arc<dyn SecretSource> {
    Arc::new(StaticSecrets::of(&[("slack_bot_token", token)]))
}

async fn subject() -> Guarded<SlackNotifier> {
    let standin = SlackStandIn::start(TOKEN, CallLog::new(), Faults::new()).await;
    let notifier = SlackNotifier::new(
        SlackSettings {
            api_url: standin.base_url().to_string(),
        },
        secrets(TOKEN),
        HttpPolicy::fast(),
    )
    .unwrap();
    Guarded::new(notifier, standin)
}

fn standin(s: &Guarded<SlackNotifier>) -> &SlackStandIn {
    s.guard::<SlackStandIn>()
        .expect("the stand-in guards the notifier")
}

handoff_testkit::notifier_conformance!(
    mod slack_conformance,
    subject(),
    |n: &Guarded<SlackNotifier>, id: &HandoffId| standin(n).deliveries_for(id.as_str()),
    ("slack:@lena", "slack:@max"),
);

/// The only message posted so far.
fn only_message(s: &SlackStandIn) -> SlackMessage {
    let all = s.messages();
    assert_eq!(all.len(), 1, "{all:#?}");
    all.into_iter().next().unwrap()
}

fn block<'m>(m: &'m SlackMessage, kind: &str) -> Vec<&'m Value> {
    m.blocks.iter().filter(|b| b["type"] == kind).collect()
}

/// Every mrkdwn text of a message (the fallback `text` is mrkdwn too).
fn mrkdwn_texts(m: &SlackMessage) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("mrkdwn") {
                    out.push(map["text"].as_str().unwrap_or_default().to_string());
                }
                map.values().for_each(|c| walk(c, out));
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = vec![m.text.clone()];
    m.blocks.iter().for_each(|b| walk(b, &mut out));
    out
}

fn flagged(n: &mut Notification) {
    n.package.classification.risk_flags = vec![RiskFlag::CompetitorEval, RiskFlag::Pricing];
    n.package.classification.human_decision = Some(HumanLane::Pricing);
}

#[tokio::test]
async fn assigned_message_has_the_six_parts_flags_deadline_and_three_buttons() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-shape");
    let mut n = fixtures::notification(&id, "slack:@lena", "hubspot contact 51 · task 77");
    flagged(&mut n);
    let receipt = s.notify(&n).await.unwrap();

    let m = only_message(standin(&s));
    assert_eq!(
        m.channel,
        dm_channel("ULENA"),
        "a DM to the rep's member id"
    );
    assert_eq!(receipt, format!("slack:{}:{}", m.channel, m.ts));
    assert!(
        m.text.contains("New demo request: Dana Scully (Acme)"),
        "{}",
        m.text
    );
    assert!(m.text.contains("Mon 07 Jan 11:00 CET"), "{}", m.text);

    // Header: trigger + buyer, plain text, within 150 characters.
    assert_eq!(m.blocks[0]["type"], "header");
    assert_eq!(m.blocks[0]["text"]["type"], "plain_text");
    let header = m.blocks[0]["text"]["text"].as_str().unwrap();
    assert_eq!(header, "Demo request: Dana Scully, Acme");

    // The six parts at a glance.
    let sections = block(&m, "section");
    let fields = sections
        .iter()
        .find_map(|b| b["fields"].as_array())
        .expect("a section with fields");
    assert_eq!(fields.len(), 6);
    let field_text: Vec<&str> = fields.iter().map(|f| f["text"].as_str().unwrap()).collect();
    for (i, label) in [
        "1 · Trigger",
        "2 · Buyer",
        "3 · Qualification",
        "4 · Next step",
        "5 · Owner",
        "6 · Source",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            field_text[i].starts_with(&format!("*{label}*")),
            "{field_text:?}"
        );
    }
    assert!(field_text[0].contains("Demo request"));
    assert!(field_text[1].contains("Dana Scully, Head of RevOps at Acme"));
    assert!(field_text[1].contains("dana@acme.com"));
    assert!(field_text[2].contains("Qualified"));
    assert!(field_text[3].contains("Call today"));
    assert!(field_text[4].contains("lena (EMEA AE)"));
    assert!(field_text[4].contains("Due Mon 07 Jan 11:00 CET"));
    assert!(field_text[5].contains("website / web form"));

    // Flags and the human-only lane are prominent (a section, before the buttons).
    let all = m.all_text();
    let risk_at = m
        .blocks
        .iter()
        .position(|b| {
            b["type"] == "section"
                && b["text"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(":warning: *Human-only decision: pricing*"))
        })
        .expect("a section with the human-only lane");
    assert!(
        all.contains("*Risk flags:* competitor evaluation, pricing"),
        "{all}"
    );
    assert!(all.contains("*Problem:* Needs a demo for 40 seats this quarter."));

    // Three buttons with our action ids and values.
    let actions = block(&m, "actions");
    assert_eq!(actions.len(), 1);
    let actions_at = m
        .blocks
        .iter()
        .position(|b| b["type"] == "actions")
        .unwrap();
    assert!(risk_at < actions_at);
    let buttons = actions[0]["elements"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = buttons
        .iter()
        .map(|b| {
            let v: ButtonValue = serde_json::from_str(b["value"].as_str().unwrap()).unwrap();
            assert_eq!(v.h, id.as_str());
            (
                b["action_id"].as_str().unwrap().to_string(),
                b["text"]["text"].as_str().unwrap().to_string(),
                v.a,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (ACTION_CLAIM.into(), "Claim".into(), "accept".into()),
            (
                ACTION_WRONG_OWNER.into(),
                "Wrong owner".into(),
                "wrong_owner".into()
            ),
            (
                ACTION_REQUALIFY.into(),
                "Needs re-qualification".into(),
                "requalify".into()
            ),
        ]
    );
    assert_eq!(buttons[0]["style"], "primary");
    assert!(buttons[1].get("style").is_none());
    assert_eq!(
        m.button_value(ACTION_CLAIM).unwrap(),
        format!(r#"{{"h":"{id}","a":"accept"}}"#),
        "compact JSON, h first"
    );

    // The claim links for the browser, and the handoff id + CRM reference.
    let contexts = block(&m, "context");
    let links = contexts
        .iter()
        .map(|c| c["elements"][0]["text"].as_str().unwrap())
        .find(|t| t.starts_with("Prefer the browser?"))
        .expect("a context with the claim links");
    assert!(links.contains(&format!(
        "<https://handoff.example/claim/{id}?a=accept|Claim>"
    )));
    assert!(links.contains("|Wrong owner>"));
    assert!(links.contains("|Needs re-qualification>"));
    assert!(all.contains(&format!(
        "Handoff `{id}` · CRM: hubspot contact 51 · task 77"
    )));
}

#[tokio::test]
async fn the_shared_queue_gets_buttons_but_no_links() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-queue");
    let mut n = fixtures::notification(&id, "slack:#sales-queue", "crm:q");
    n.recipient = Default::default();
    n.actions.clear();
    s.notify(&n).await.unwrap();
    let m = only_message(standin(&s));
    assert_eq!(
        Some(m.channel.clone()),
        standin(&s).channel_id("sales-queue")
    );
    assert_eq!(
        m.action_ids(),
        vec![ACTION_CLAIM, ACTION_WRONG_OWNER, ACTION_REQUALIFY]
    );
    assert!(!m.all_text().contains("Prefer the browser?"));

    // A channel id target is used as is.
    let mut by_id = fixtures::notification(&id, "slack:#C0123ABCD", "crm:q");
    by_id.recipient = Default::default();
    let receipt = s.notify(&by_id).await.unwrap();
    assert!(receipt.starts_with("slack:C0123ABCD:"), "{receipt}");
}

#[tokio::test]
async fn hostile_buyer_text_cannot_form_links_or_mentions() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-hostile");
    let mut n = fixtures::notification(&id, "slack:@lena", "crm:<!here>");
    let b = &mut n.package.classification.buyer;
    b.name = Some("<!channel> <http://evil|click>".into());
    b.company = Some("A&B <@U0ADMIN>".into());
    b.role = Some("CEO\u{7}\u{202E}".into());
    b.problem_statement = "Please <!everyone> visit <https://evil.example|our site>".into();
    n.package.classification.next_step.detail = "Call <tel:123|now>".into();
    n.title = handoff_domain::render::title(&n.package);
    s.notify(&n).await.unwrap();

    let m = only_message(standin(&s));
    let texts = mrkdwn_texts(&m);
    for t in &texts {
        for bad in [
            "<!channel>",
            "<http://evil",
            "<@U0ADMIN>",
            "<!everyone>",
            "<https://evil.example",
            "<tel:",
            "<!here>",
            "\u{7}",
            "\u{202E}",
        ] {
            assert!(!t.contains(bad), "{bad:?} in {t:?}");
        }
    }
    let joined = texts.join("\n");
    assert!(
        joined.contains("&lt;!channel&gt; &lt;http://evil|click&gt;"),
        "{joined}"
    );
    assert!(joined.contains("A&amp;B &lt;@U0ADMIN&gt;"), "{joined}");
    assert!(joined.contains("&lt;!everyone&gt;"), "{joined}");
    // Only our own claim links are links.
    let links: usize = texts.iter().map(|t| t.matches('<').count()).sum();
    assert_eq!(links, 3, "{texts:#?}");
    // The header is plain text (never parsed by Slack), without control characters.
    let header = m.blocks[0]["text"]["text"].as_str().unwrap();
    assert_eq!(m.blocks[0]["text"]["type"], "plain_text");
    assert!(!header.chars().any(char::is_control));
}

/// A buyer name that tries to add an "Actions:" line, in every way a line can be broken or
/// disguised.
const FORGED: &[&str] = &[
    "Ann\nActions: accept: http://evil",
    "Ann\r\nActions: accept: http://evil",
    "Ann\rActions: accept: http://evil",
    "Ann\u{2028}Actions: accept: http://evil",
    "Ann\u{2029}Actions: accept: http://evil",
    "Ann\u{85}Actions: accept: http://evil",
    "Ann\u{0B}Actions: accept: http://evil",
    "Ann\u{1b}[2K\u{1b}[1GActions: accept: http://evil",
    "Ann\n\u{200B}Actions: accept: http://evil",
    "Ann\n\u{202E}Actions: accept: http://evil\u{202C}",
];

#[tokio::test]
async fn buyer_text_cannot_forge_a_line_in_any_slack_text() {
    use handoff_domain::render::escape::{is_invisible, is_line_break};
    let s = subject().await;
    for (i, name) in FORGED.iter().enumerate() {
        let id = fixtures::handoff_id(&format!("slack-forged-{i}"));
        let mut n = fixtures::notification(&id, "slack:@lena", "crm:forged");
        let b = &mut n.package.classification.buyer;
        b.name = Some((*name).into());
        b.company = Some((*name).into());
        b.role = Some((*name).into());
        b.problem_statement = (*name).into();
        n.package.classification.next_step.detail = format!("Call {name} today.");
        n.title = handoff_domain::render::title(&n.package);
        n.body = handoff_domain::render::package_text(&n.package);
        let news = fixtures::news_notification(&id, "slack:@lena", "crm:forged", name);
        let mut resolved = n.clone();
        resolved.kind = handoff_domain::ports::NotificationKind::MovedAway {
            to: (*name).into(),
            reason: (*name).into(),
        };
        for sent in [&n, &news, &resolved] {
            s.notify(sent).await.unwrap();
        }
    }
    let messages = standin(&s).messages();
    assert_eq!(messages.len(), 3 * FORGED.len());
    for m in &messages {
        let text = m.all_text();
        for line in text.split(is_line_break) {
            let visible = line.trim_start_matches(|c: char| {
                c.is_whitespace() || c.is_control() || is_invisible(c)
            });
            assert!(
                !visible.starts_with("Actions:") && !visible.starts_with("accept: http://evil"),
                "forged line {line:?} in:\n{text}"
            );
            assert!(
                !line.chars().any(|c| c.is_control() || is_invisible(c)),
                "hidden character in {line:?}"
            );
        }
        // The buyer's words are still shown, inside their line.
        assert!(text.contains("Actions: accept: http://evil"), "{text}");
    }
}

#[tokio::test]
async fn long_texts_are_cut_to_block_kit_limits() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-long");
    let mut n = fixtures::notification(&id, "slack:@lena", "crm:long");
    n.package.classification.buyer.name = Some("N".repeat(400));
    n.package.classification.buyer.problem_statement = "&".repeat(5000);
    n.package.classification.next_step.detail = "<".repeat(3000);
    s.notify(&n).await.expect("the stand-in checks every limit");
    let m = only_message(standin(&s));
    let header = m.blocks[0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), 150);
    assert!(header.ends_with('…'));
    let problem = m
        .blocks
        .iter()
        .find(|b| b["block_id"] == "handoff_problem")
        .unwrap();
    let text = problem["text"]["text"].as_str().unwrap();
    assert!(text.chars().count() <= 3000);
    assert!(text.ends_with("&amp;…"), "never cut inside an entity");
}

#[tokio::test]
async fn moved_away_updates_the_earlier_message_in_place() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-moved");
    let first = s
        .notify(&fixtures::notification(&id, "slack:@lena", "crm:m"))
        .await
        .unwrap();
    let moved = fixtures::moved_notification(&id, "slack:@lena", Some(first.clone()));
    let receipt = s.notify(&moved).await.unwrap();
    assert_eq!(receipt, first, "the same message");

    let m = only_message(standin(&s));
    assert_eq!(m.updates(), 1);
    assert!(m.action_ids().is_empty(), "no buttons after the move");
    let all = m.all_text();
    assert!(
        all.contains("↪ Moved to max (EMEA AE): the SLA passed unclaimed"),
        "{all}"
    );
    assert!(
        all.contains("Demo request: Dana Scully, Acme"),
        "the header stays"
    );
    assert!(all.contains(&format!("Handoff `{id}`")));
    let deliveries = standin(&s).deliveries();
    assert_eq!(
        deliveries
            .iter()
            .map(|d| (d.method.as_str(), d.ts.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("chat.postMessage", m.ts.as_str()),
            ("chat.update", m.ts.as_str())
        ]
    );
    assert_eq!(
        standin(&s).log().of("slack"),
        vec![
            "slack POST /api/chat.postMessage",
            "slack POST /api/chat.update"
        ]
    );
}

#[tokio::test]
async fn news_of_a_touch_is_a_new_message_with_the_touch_escaped() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-news");
    let first = s
        .notify(&fixtures::notification(&id, "slack:@lena", "crm:n"))
        .await
        .unwrap();
    let mut news = fixtures::news_notification(
        &id,
        "slack:@lena",
        "crm:n",
        "an email reply via email from postmark: pricing request <!channel> *now*",
    );
    news.replaces = Some(first.clone());
    let receipt = s.notify(&news).await.unwrap();
    assert_ne!(
        receipt, first,
        "a new message, the first one stays as it is"
    );

    let all = standin(&s).messages();
    assert_eq!(all.len(), 2);
    let m = &all[1];
    assert_eq!(m.updates(), 0);
    let text = m.all_text();
    assert!(
        text.contains("News — Demo request: Dana Scully, Acme"),
        "{text}"
    );
    assert!(text.contains("Due Mon 07 Jan 11:00 CET"), "{text}");
    assert!(text.contains(&format!("Handoff `{id}`")), "{text}");
    assert_eq!(
        m.action_ids(),
        vec![ACTION_CLAIM, ACTION_WRONG_OWNER, ACTION_REQUALIFY],
        "still unclaimed: the buttons come along"
    );
    for t in mrkdwn_texts(m) {
        assert!(!t.contains("<!channel>"), "buyer text is escaped: {t}");
    }
    assert!(
        mrkdwn_texts(m)
            .iter()
            .any(|t| t.contains("pricing request &lt;!channel&gt; *now*")),
        "{:?}",
        mrkdwn_texts(m)
    );

    // Claimed already: the news comes without buttons.
    news.actions.clear();
    s.notify(&news).await.unwrap();
    let all = standin(&s).messages();
    assert!(all[2].action_ids().is_empty());
}

#[tokio::test]
async fn moved_away_without_an_updatable_message_posts_a_short_notice() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-notice");
    // No earlier message.
    let r1 = s
        .notify(&fixtures::moved_notification(&id, "slack:@lena", None))
        .await
        .unwrap();
    // An earlier message Slack no longer has.
    let gone = format!("slack:{}:1600000000.000001", dm_channel("ULENA"));
    let r2 = s
        .notify(&fixtures::moved_notification(
            &id,
            "slack:@lena",
            Some(gone),
        ))
        .await
        .unwrap();
    assert_ne!(r1, r2);
    let all = standin(&s).messages();
    assert_eq!(all.len(), 2);
    for m in &all {
        assert!(m.action_ids().is_empty());
        assert!(m
            .all_text()
            .contains("Moved to max (EMEA AE): the SLA passed unclaimed"));
    }
    // A receipt of another channel is not a Slack receipt: a new notice too.
    s.notify(&fixtures::moved_notification(
        &id,
        "slack:@lena",
        Some("email:<abc@mail>".into()),
    ))
    .await
    .unwrap();
    assert_eq!(standin(&s).messages().len(), 3);
}

#[tokio::test]
async fn ok_false_ratelimited_and_http_429_are_retried() {
    let s = subject().await;
    let faults = standin(&s).faults().clone();
    faults.push(slack_error("ratelimited"));
    faults.push(slack_error("internal_error"));
    let id = fixtures::handoff_id("slack-retry");
    s.notify(&fixtures::notification(&id, "slack:@lena", "crm:r"))
        .await
        .expect("retried past two transient errors");
    assert!(faults.next().is_none(), "both faults were used");
    assert_eq!(standin(&s).messages().len(), 1, "posted once");

    faults.push(rate_limited(1));
    let started = Instant::now();
    s.notify(&fixtures::notification(&id, "slack:@max", "crm:r"))
        .await
        .expect("retried after Retry-After");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited Retry-After"
    );
    assert_eq!(standin(&s).messages().len(), 2);

    // Still failing after every attempt: transient, for the queue to retry later.
    for _ in 0..3 {
        faults.push(slack_error("service_unavailable"));
    }
    match s
        .notify(&fixtures::notification(&id, "slack:@lena", "crm:r"))
        .await
    {
        Err(DeliveryError::Transient(why)) => assert!(why.contains("service_unavailable"), "{why}"),
        other => panic!("{other:?}"),
    }
    // A Retry-After longer than the policy allows is returned at once.
    faults.push(rate_limited(60));
    let started = Instant::now();
    assert!(matches!(
        s.notify(&fixtures::notification(&id, "slack:@lena", "crm:r"))
            .await,
        Err(DeliveryError::Transient(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn refused_token_missing_scope_and_bad_channels_are_permanent() {
    // A token Slack does not know.
    let standin = SlackStandIn::start(TOKEN, CallLog::new(), Faults::new()).await;
    let settings = SlackSettings {
        api_url: standin.base_url().to_string(),
    };
    let wrong = SlackNotifier::new(
        settings.clone(),
        secrets("xoxb-revoked"),
        HttpPolicy::fast(),
    )
    .unwrap();
    let id = fixtures::handoff_id("slack-auth");
    let n = fixtures::notification(&id, "slack:@lena", "crm:a");
    match wrong.notify(&n).await {
        Err(DeliveryError::Permanent(why)) => {
            assert!(why.contains("invalid_auth"), "{why}");
            assert!(why.contains("slack_bot_token"), "{why}");
            assert!(!why.contains("xoxb-revoked"), "never the token: {why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(standin.log().of("slack").len(), 1, "not retried");

    // No token configured at all.
    let none = SlackNotifier::new(
        settings.clone(),
        Arc::new(StaticSecrets::default()),
        HttpPolicy::fast(),
    )
    .unwrap();
    match none.notify(&n).await {
        Err(DeliveryError::Permanent(why)) => assert!(why.contains("slack_bot_token"), "{why}"),
        other => panic!("{other:?}"),
    }

    let good = SlackNotifier::new(settings, secrets(TOKEN), HttpPolicy::fast()).unwrap();
    standin.faults().push(Fault::Status {
        status: 200,
        headers: vec![],
        body:
            r#"{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"users:read"}"#
                .into(),
    });
    match good.notify(&n).await {
        Err(DeliveryError::Permanent(why)) => {
            assert!(
                why.contains("missing_scope") && why.contains("chat:write"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    for code in [
        "channel_not_found",
        "not_in_channel",
        "invalid_blocks",
        "msg_too_long",
    ] {
        standin.faults().push(slack_error(code));
        match good.notify(&n).await {
            Err(DeliveryError::Permanent(why)) => assert!(why.contains(code), "{why}"),
            other => panic!("{code}: {other:?}"),
        }
    }
    // The stand-in refuses what Slack refuses.
    match good
        .update_message(
            "C0123ABCD",
            "1.2",
            "x",
            &[serde_json::json!({"type": "buttons"})],
        )
        .await
    {
        Err(DeliveryError::Permanent(why)) => assert!(why.contains("invalid_blocks"), "{why}"),
        other => panic!("{other:?}"),
    }
    match good.update_message("C0123ABCD", "1.2", "x", &[]).await {
        Err(DeliveryError::Permanent(why)) => assert!(why.contains("message_not_found"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(standin.messages().is_empty());
}

#[tokio::test]
async fn a_rep_target_without_a_slack_user_id_is_permanent() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-no-user");
    let mut n = fixtures::notification(&id, "slack:@lena", "crm:u");
    n.recipient.slack_user_id = None;
    match s.notify(&n).await {
        Err(DeliveryError::Permanent(why)) => {
            assert!(why.contains("slack:@lena"), "{why}");
            assert!(why.contains("slack_user_id"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    n.recipient.slack_user_id = Some("  ".into());
    assert!(matches!(
        s.notify(&n).await,
        Err(DeliveryError::Permanent(_))
    ));
    n.target = "email:lena@emea.example".into();
    assert!(matches!(
        s.notify(&n).await,
        Err(DeliveryError::Permanent(_))
    ));
    assert!(standin(&s).log().calls().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn ephemerals_and_updates_for_the_interactivity_endpoint() {
    let s = subject().await;
    let id = fixtures::handoff_id("slack-resolve");
    let n = fixtures::notification(&id, "slack:@lena", "crm:x");
    let receipt = s.notify(&n).await.unwrap();
    let (channel, ts) = slack::parse_receipt(&receipt).unwrap();
    let resolution = slack::Resolution::Claimed {
        by: "Lena Fischer".into(),
    };
    s.update_message(
        &channel,
        &ts,
        &slack::resolved_text(&n.package, &resolution),
        &slack::resolved_blocks(&n.package, &resolution),
    )
    .await
    .unwrap();
    let m = only_message(standin(&s));
    assert!(m.all_text().contains("✅ Claimed by Lena Fischer"));
    assert!(m.action_ids().is_empty());
    assert_eq!(m.blocks[0]["type"], "header", "the header stays");
    assert!(m
        .blocks
        .iter()
        .any(|b| b["fields"].as_array().is_some_and(|f| f.len() == 6)));

    s.post_ephemeral(&channel, "UMAX", "Lena Fischer already claimed it.")
        .await
        .unwrap();
    let e = standin(&s).ephemerals_for("UMAX");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].channel, channel);
    assert_eq!(
        slack::Resolution::WrongOwner {
            by: "Lena Fischer".into(),
            now_with: None
        }
        .line(),
        "↪ Lena Fischer said wrong owner — rerouted"
    );
    assert_eq!(
        slack::Resolution::Requalify {
            by: "Lena Fischer".into(),
            now_with: None
        }
        .line(),
        "🔁 Re-qualification requested by Lena Fischer"
    );
}
