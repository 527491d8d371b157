//! Output written for people reads as prose: every example event (through the classify path)
//! and every value of every enum that reaches people, through every human-facing renderer —
//! the package title, text and HTML, the routing trace, each notifier's text (Slack blocks and
//! fallback text, the email's subject, text and HTML, the webhook's title and text, the local
//! notification log), `rules check` on the example and on a file that triggers every lint
//! warning, and `handoff demo` — contain no braces, no Rust variant names, no snake_case labels
//! and no "1 … s" plurals ([`check`]). JSON output is not checked: it is for programs.

#[path = "prose/check.rs"]
mod check;

use async_trait::async_trait;
use check::{assert_prose, assert_prose_with_config, Forbidden};
use handoff_cli::classify_cmd::package_for;
use handoff_cli::runtime::RulesChoice;
use handoff_connectors::outbound::email::{EmailNotifier, MailSender, OutgoingMail};
use handoff_connectors::outbound::slack::blocks;
use handoff_connectors::outbound::webhook::WebhookNotifier;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::config::{Role, Rules, Segment};
use handoff_domain::event::{
    Channel, Criterion, IntakeEvent, MeetingStatus, QualificationAnswer, Touch, Urgency,
};
use handoff_domain::lifecycle::{RerouteReason, State, Transition};
use handoff_domain::package::{
    HandoffPackage, HumanLane, Motion, MotionFields, NextAction, Qualification, ReplyClass,
    RiskFlag, TriggerKind,
};
use handoff_domain::ports::{DeliveryError, Notification, NotificationKind};
use handoff_domain::render;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn rules() -> Rules {
    let path = example("examples/handoff.toml");
    Rules::from_toml(
        "examples/handoff.toml",
        &std::fs::read_to_string(path).unwrap(),
    )
    .unwrap()
}

/// Every `examples/events/*.json`, by file name.
fn example_events() -> Vec<(String, IntakeEvent)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(example("examples/events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 13, "{files:?}");
    files
        .into_iter()
        .map(|p| {
            let event = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), event)
        })
        .collect()
}

/// A mail sender that keeps nothing: only the composed mail is checked.
struct NoSend;

#[async_trait]
impl MailSender for NoSend {
    async fn send(&self, _: &OutgoingMail) -> Result<String, DeliveryError> {
        Ok("not sent".into())
    }
}

fn mailer() -> EmailNotifier {
    let settings = serde_json::from_value(serde_json::json!({"from": "handoff@example.com"}));
    EmailNotifier::new(settings.unwrap(), Arc::new(NoSend))
}

/// The notifications the service sends about a package: assigned, moved away, news.
fn notifications(p: &HandoffPackage) -> Vec<Notification> {
    let mut assigned = handoff_testkit::fixtures::notification(
        &p.handoff_id,
        "email:lena@emea.example",
        "local-crm:1",
    );
    assigned.package = p.clone();
    assigned.title = render::title(p);
    assigned.body = render::package_text(p);
    let mut moved = assigned.clone();
    moved.kind = NotificationKind::MovedAway {
        to: "Oliver Hughes (EMEA Account Executives)".into(),
        reason: "the SLA passed unclaimed".into(),
    };
    moved.title = format!("Moved to Oliver Hughes: {}", render::title(p));
    let mut news = assigned.clone();
    news.kind = NotificationKind::NewTouch {
        summary: "a web form via web form from website: demo request".into(),
    };
    vec![assigned, moved, news]
}

/// The strings of a Slack block list or a webhook body a person reads.
fn texts(value: &Value, keys: &[&str], out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if keys.contains(&k.as_str()) => out.push(s.clone()),
                    _ => texts(v, keys, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| texts(v, keys, out)),
        _ => {}
    }
}

/// HTML without its tags (the text a reader sees).
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every human-facing rendering of `p`, each checked.
fn assert_every_rendering_is_prose(f: &Forbidden, what: &str, p: &HandoffPackage) {
    assert_prose(f, &format!("{what}: title"), &render::title(p));
    assert_prose(
        f,
        &format!("{what}: package text"),
        &render::package_text(p),
    );
    assert_prose(
        f,
        &format!("{what}: package HTML"),
        &visible(&render::package_html(p)),
    );
    for step in &p.routing {
        let line = format!("{}: {}", render::layer_phrase(&step.layer), step.outcome);
        assert_prose(f, &format!("{what}: trace"), &line);
    }
    for action in ClaimAction::ALL {
        let resolution = blocks::Resolution::of_click(action, "Lena".into(), Some("Oliver".into()));
        assert_prose(
            f,
            &format!("{what}: Slack resolution"),
            &blocks::resolved_text(p, &resolution),
        );
    }
    let mail = mailer();
    for n in notifications(p) {
        let slack = match &n.kind {
            NotificationKind::Assigned => blocks::assigned_blocks(&n),
            NotificationKind::MovedAway { to, reason } => {
                blocks::moved_notice_blocks(&n, to, reason)
            }
            NotificationKind::NewTouch { summary } => blocks::news_blocks(&n, summary),
        };
        let mut strings = vec![blocks::assigned_text(&n), blocks::news_text(&n)];
        texts(&Value::Array(slack), &["text"], &mut strings);
        let body = WebhookNotifier::body(&n, "e-1");
        texts(
            &body,
            &["title", "text", "summary", "reason", "moved_to"],
            &mut strings,
        );
        let composed = mail.compose(&n).unwrap();
        strings.extend([composed.subject, composed.text, visible(&composed.html)]);
        for s in strings {
            assert_prose(f, &format!("{what}: notification"), &s);
        }
    }
}

#[test]
fn every_example_event_renders_as_prose() {
    let f = Forbidden::new();
    let rules = rules();
    for (name, event) in example_events() {
        let p = package_for(&event, &rules);
        assert_every_rendering_is_prose(&f, &name, &p);
    }
}

/// The `i`-th value of `all`, cycling.
fn nth<T: Copy>(all: &[T], i: usize) -> T {
    all[i % all.len()]
}

#[test]
fn every_label_renders_as_prose_through_every_renderer() {
    let f = Forbidden::new();
    let rules = rules();
    let events = example_events();
    let inbound = package_for(&events[0].1, &rules);
    let outbound = package_for(&events[2].1, &rules);
    assert_eq!(inbound.classification.motion, Motion::Inbound);
    assert_eq!(outbound.classification.motion, Motion::Outbound);
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T16:00:00Z")
        .unwrap()
        .to_utc();
    let meetings = [
        MeetingStatus::NotOffered,
        MeetingStatus::Offered,
        MeetingStatus::Booked { starts_at: at },
        MeetingStatus::Declined,
    ];
    let rounds = [
        TriggerKind::ALL.len(),
        NextAction::ALL.len(),
        ReplyClass::ALL.len(),
        Channel::ALL.len(),
    ]
    .into_iter()
    .max()
    .unwrap();
    for i in 0..rounds {
        for base in [&inbound, &outbound] {
            let mut p = base.clone();
            let c = &mut p.classification;
            c.trigger = nth(TriggerKind::ALL, i);
            c.reply_class = Some(nth(ReplyClass::ALL, i));
            c.qualification = nth(Qualification::ALL, i);
            c.next_step.action = nth(NextAction::ALL, i);
            c.human_decision = (i % 2 == 0).then(|| nth(HumanLane::ALL, i));
            c.risk_flags = match i % 3 {
                0 => RiskFlag::ALL.to_vec(),
                1 => vec![nth(RiskFlag::ALL, i)],
                _ => Vec::new(),
            };
            c.buyer.channel = nth(&Channel::ALL, i);
            let touches = i % 3;
            match &mut c.motion_fields {
                MotionFields::Inbound {
                    urgency,
                    meeting_status,
                    qualification_answers,
                    channel,
                    ..
                } => {
                    *urgency = nth(&Urgency::ALL, i);
                    *meeting_status = meetings[i % meetings.len()].clone();
                    *channel = nth(&Channel::ALL, i);
                    *qualification_answers = (0..touches)
                        .map(|k| QualificationAnswer {
                            criterion: Criterion::Budget,
                            question: format!("Question {k}?"),
                            answer: "Approved.".into(),
                            met: Some(true),
                        })
                        .collect();
                }
                MotionFields::Outbound {
                    outreach_history,
                    reply_class,
                    ..
                } => {
                    *reply_class = nth(ReplyClass::ALL, i);
                    *outreach_history = (0..touches)
                        .map(|k| Touch {
                            step: k as u32 + 1,
                            channel: nth(&Channel::ALL, i + k),
                            sent_at: at,
                            summary: "First note.".into(),
                        })
                        .collect();
                }
            }
            assert_every_rendering_is_prose(&f, &format!("round {i}"), &p);
        }
    }
}

#[test]
fn every_display_for_people_is_a_phrase_not_a_variant_name() {
    let f = Forbidden::new();
    let mut phrases: Vec<(String, String)> = Vec::new();
    fn add<T: std::fmt::Debug>(
        out: &mut Vec<(String, String)>,
        values: &[T],
        phrase: impl Fn(&T) -> String,
    ) {
        out.extend(values.iter().map(|v| (format!("{v:?}"), phrase(v))));
    }
    add(&mut phrases, Motion::ALL, |v| v.phrase().into_owned());
    add(&mut phrases, TriggerKind::ALL, |v| v.phrase().into_owned());
    add(&mut phrases, ReplyClass::ALL, |v| v.phrase().into_owned());
    add(&mut phrases, Qualification::ALL, |v| {
        v.phrase().into_owned()
    });
    add(&mut phrases, RiskFlag::ALL, |v| v.phrase().into_owned());
    add(&mut phrases, HumanLane::ALL, |v| v.phrase().into_owned());
    add(&mut phrases, NextAction::ALL, |v| v.phrase().into_owned());
    add(&mut phrases, &State::ALL, ToString::to_string);
    add(&mut phrases, &RerouteReason::ALL, ToString::to_string);
    add(&mut phrases, &Transition::ALL, ToString::to_string);
    add(&mut phrases, &Channel::ALL, ToString::to_string);
    add(&mut phrases, &Urgency::ALL, ToString::to_string);
    add(&mut phrases, &Role::ALL, ToString::to_string);
    add(&mut phrases, &Segment::ALL, ToString::to_string);
    add(
        &mut phrases,
        &[
            MeetingStatus::NotOffered,
            MeetingStatus::Offered,
            MeetingStatus::Declined,
        ],
        ToString::to_string,
    );
    for (debug, phrase) in &phrases {
        assert!(
            !phrase.is_empty() && !phrase.contains('_'),
            "{debug}: {phrase:?}"
        );
        assert_prose(&f, debug, &format!("it is {phrase}"));
    }
    let debug_named = phrases.len();
    for event in State::ALL
        .map(State::as_str)
        .into_iter()
        .chain(Transition::ALL.map(Transition::label))
    {
        let phrase = Transition::event_phrase(event);
        assert!(!phrase.contains('_'), "{event}: {phrase:?}");
        assert_prose(&f, event, &format!("it is {phrase}"));
    }
    assert!(debug_named > 80, "{debug_named} values");
}

/// The example with `block` appended, as a temporary rules file.
fn example_with(block: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    let text = std::fs::read_to_string(example("examples/handoff.toml")).unwrap();
    std::fs::write(&path, format!("{text}\n{block}\n")).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

/// A team of one failover-only rep, and rules that never match, are shadowed, send to that
/// team, and have too many combinations to check: every lint finding.
const EVERY_WARNING: &str = r#"
[[teams]]
id = "team-leads"
name = "Team leads"
role = "ae"
territory = "amer"

[[reps]]
id = "morgan"
name = "Morgan Reyes"
email = "morgan@northwind.example"
team = "team-leads"
timezone = "America/New_York"
working_hours = { start = "08:00", end = "17:00" }
failover_only = true
daily_cap = 5
notify = "crm_task"
hubspot_owner_id = "70014499"
salesforce_user_id = "0058d00000013XZZ"

[[routing]]
name = "impossible"
role = "ae"
when = { employees = { at_least = 500, below = 200 } }

[[routing]]
name = "tiny inbound"
motion = "inbound"
when = { employees = { below = 50 } }
role = "sdr"

[[routing]]
name = "the leads"
team = "team-leads"

[[routing]]
name = "many fields"
role = "sdr"
when = { form = { a = ["1", "2"], b = ["1", "2"], c = ["1", "2"], d = ["1", "2"], e = ["1", "2"], f = ["1", "2"], g = ["1", "2"], h = ["1", "2"], i = ["1", "2"] } }
"#;

#[test]
fn rules_check_reads_as_prose_on_the_example_and_on_every_warning() {
    let f = Forbidden::new();
    let out =
        handoff_cli::rules_cmd::check(example("examples/handoff.toml").to_str().unwrap()).unwrap();
    assert_prose_with_config(&f, "rules check on the example", &out);
    let (_dir, path) = example_with(EVERY_WARNING);
    let out = handoff_cli::rules_cmd::check(&path).unwrap();
    for finding in [
        "can never match",
        "is shadowed",
        "which has no active rep that is not failover-only",
        ": note: ",
    ] {
        assert!(out.contains(finding), "{finding}: {out}");
    }
    assert!(out.contains("amer-sdr [SDR, amer,"), "{out}");
    assert_prose_with_config(&f, "rules check with every warning", &out);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_and_its_notification_log_read_as_prose() {
    let f = Forbidden::new();
    let keep = tempfile::tempdir().unwrap();
    let out = handoff_cli::demo::run(RulesChoice::Embedded, Some(keep.path().to_path_buf()))
        .await
        .unwrap();
    assert!(out.contains("meeting: none offered yet"), "{out}");
    assert!(out.contains("1 of 1 rep remains"), "{out}");
    assert_prose(&f, "handoff demo", &out);
    let mut logs = 0;
    for entry in std::fs::read_dir(keep.path().join("notifications")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "txt") {
            logs += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            assert_prose(&f, &path.display().to_string(), &text);
        }
    }
    assert!(logs > 5, "{logs} notification logs");
}
