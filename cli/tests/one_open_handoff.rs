//! One open handoff per buyer, on the embedded runner (SQLite store and queue, the file CRM and
//! the notification log), through the intake use case and the real stages: a later event of a
//! buyer with an open handoff joins it as a new touch — one handoff, one CRM record, the owner
//! told twice (assigned, then the news), one unit of their daily cap — a replay changes nothing,
//! a hotter event tightens the deadline and a colder one never loosens it, and once the handoff
//! is accepted the buyer's next event opens a new handoff for the same owner.

mod support;
use support::open as pipeline;

use chrono::{DateTime, Utc};
use handoff_cli::runtime::LocalPipeline;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::event::{EventKind, IntakeEvent};
use handoff_domain::ids::{HandoffId, ProviderEventId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, State};
use handoff_domain::package::RiskFlag;
use handoff_domain::ports::{ManualClock, NotificationKind, Stage, StageMessage};
use handoff_domain::service::delivery::Disposition;
use handoff_local::{FileCrm, LogNotifier, LoggedNotification};
use std::path::Path;
use std::sync::Arc;

/// Dana Whitfield answers the outbound sequence (a positive reply, outbound/standard)…
const REPLY: &str = include_str!("../../examples/events/03-positive-reply.json");
/// …and then fills in the web form asking for a demo (inbound, hot).
const FORM: &str = include_str!("../../examples/events/09-channel-switch-form.json");

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// An example event with its own provider event id, received at `when`.
fn event(json: &str, id: &str, when: &str) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(json).unwrap();
    e.provider_event_id = ProviderEventId::parse(id).unwrap();
    e.received_at = at(when);
    e
}

/// A reply of the same buyer in the same thread saying `text`.
fn reply_saying(id: &str, when: &str, text: &str) -> IntakeEvent {
    let mut e = event(REPLY, id, when);
    if let EventKind::EmailReply(r) = &mut e.kind {
        r.text = text.into();
        r.message_id = Some(format!("<{id}@mail.gmail.com>"));
    }
    e
}

async fn record(p: &LocalPipeline, id: &HandoffId) -> HandoffRecord {
    p.services.store.get(id).await.unwrap().unwrap()
}

async fn events_of(p: &LocalPipeline, id: &HandoffId) -> Vec<String> {
    let timeline = p.services.store.timeline(id).await.unwrap();
    timeline.into_iter().map(|e| e.event).collect()
}

fn notifications(dir: &Path, id: &HandoffId) -> Vec<LoggedNotification> {
    LogNotifier::new(dir).unwrap().logged_for(id).unwrap()
}

/// The handoffs the file CRM holds a record for.
fn crm_records(dir: &Path) -> Vec<HandoffId> {
    let crm = FileCrm::new(dir).unwrap();
    crm.list()
        .unwrap()
        .into_iter()
        .map(|r| r.package.handoff_id)
        .collect()
}

/// How many handoffs count against `rep`'s daily cap on the day of `now` (their local day).
async fn load(p: &LocalPipeline, rep: &RepId, now: DateTime<Utc>) -> u32 {
    let rules = p.services.rules.current().await.unwrap();
    let tz = rules.rep(rep).unwrap().timezone;
    let day = now.with_timezone(&tz).date_naive();
    p.services.store.rep_load(rep, day).await.unwrap()
}

fn owner_of(r: &HandoffRecord) -> RepId {
    r.owner.as_ref().and_then(|o| o.rep.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_after_an_email_thread_joins_the_open_handoff() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-11-24T14:02:00Z")));
    let p = pipeline(dir.path(), clock.clone()).await;
    let s = &p.services;

    let reply = s
        .intake(event(REPLY, "thread-1", "2026-11-24T14:02:00Z"))
        .await;
    let reply = reply.unwrap().handoff_id;
    p.drain().await.unwrap();
    let open = record(&p, &reply).await;
    assert_eq!(open.state, State::Notified);
    let owner = owner_of(&open);
    let first_deadline = open.sla.clone().unwrap().deadline;
    assert_eq!(load(&p, &owner, clock_now(&clock)).await, 1);

    // Eighteen minutes later the same buyer fills in the web form.
    clock.set(at("2026-11-24T14:20:00Z"));
    let form = s
        .intake(event(FORM, "form-1", "2026-11-24T14:20:00Z"))
        .await
        .unwrap();
    assert!(!form.duplicate);
    p.drain().await.unwrap();

    // The form's own record joined the open handoff: it is no handoff of its own.
    let joined = record(&p, &form.handoff_id).await;
    assert_eq!(joined.state, State::Attached);
    assert_eq!(joined.attached_to.as_ref(), Some(&reply));
    assert!(joined.owner.is_none() && joined.sla.is_none());
    assert_eq!(
        events_of(&p, &form.handoff_id).await,
        ["received", "attached"]
    );

    // The open handoff has the touch, the channel-switch flag with its evidence and a tighter
    // deadline (a demo request is hot: 30 minutes from now on the owner's calendar).
    let open = record(&p, &reply).await;
    assert_eq!(open.state, State::Notified);
    assert_eq!(open.touches.len(), 1);
    let touch = &open.touches[0];
    assert_eq!(touch.handoff_id, form.handoff_id);
    assert!(
        touch
            .summary
            .starts_with("a web form via web form from website at 2026-11-24 14:20 UTC: "),
        "{}",
        touch.summary
    );
    let c = open.classification.as_ref().unwrap();
    assert!(c.has_flag(RiskFlag::ChannelSwitch), "{:?}", c.risk_flags);
    assert!(c
        .evidence
        .iter()
        .any(|e| e.supports == "risk_flag:channel_switch"
            && e.source == "match:same_contact"
            && e.excerpt.contains(form.handoff_id.as_str())));
    let sla = open.sla.clone().unwrap();
    assert!(sla.deadline < first_deadline, "{sla:?}");
    assert_eq!(sla.deadline, at("2026-11-24T14:50:00Z"));
    assert_eq!(sla.policy, "inbound/hot");
    let events = events_of(&p, &reply).await;
    let notified = events.iter().position(|e| e == "notified").unwrap();
    assert_eq!(
        events[notified + 1..],
        ["new_touch", "taken_up", "crm_synced", "owner_told_of_touch"],
        "the assign stage takes the handoff up (its lease), brings the CRM in line, then tells \
         the owner: {events:?}"
    );

    // One CRM record, rewritten with the flag and the new deadline.
    assert_eq!(crm_records(dir.path()), vec![reply.clone()]);
    let crm = FileCrm::new(dir.path())
        .unwrap()
        .read(&reply)
        .unwrap()
        .unwrap();
    assert!(crm
        .package
        .classification
        .risk_flags
        .contains(&RiskFlag::ChannelSwitch));
    assert_eq!(crm.package.sla, Some(sla.clone()));
    // …and one note saying what the new touch brought.
    assert_eq!(crm.owner_changes.len(), 1, "{:?}", crm.owner_changes);
    assert!(
        crm.owner_changes[0].starts_with("New touch: a web form via")
            && crm.owner_changes[0].contains("Risk flags now:")
            && crm.owner_changes[0].contains("channel switch"),
        "{}",
        crm.owner_changes[0]
    );

    // The owner was told twice: assigned, then the news; nothing about the form's own record.
    let told = notifications(dir.path(), &reply);
    assert_eq!(told.len(), 2, "{told:#?}");
    assert_eq!(told[0].notification.kind, NotificationKind::Assigned);
    match &told[1].notification.kind {
        NotificationKind::NewTouch { summary } => assert_eq!(summary, &touch.summary),
        other => panic!("expected the news, got {other:?}"),
    }
    assert!(told[1].notification.title.starts_with("News on "));
    assert_eq!(touch.told.as_deref(), Some(told[1].receipt.as_str()));
    assert!(notifications(dir.path(), &form.handoff_id).is_empty());
    // One unit of the owner's daily cap.
    assert_eq!(load(&p, &owner, clock_now(&clock)).await, 1);

    // The provider delivers the form again, and stale stage messages come back: nothing moves.
    let version = open.version;
    let again = s
        .intake(event(FORM, "form-1", "2026-11-24T14:20:00Z"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(p.drain().await.unwrap(), 0, "a replay enqueues nothing");
    for (stage, id) in [
        (Stage::Classify, &form.handoff_id),
        (Stage::Assign, &reply),
        (Stage::Classify, &reply),
    ] {
        let body = serde_json::to_string(&StageMessage::new(id.clone(), stage)).unwrap();
        assert!(matches!(
            s.handle_message(stage, &body).await,
            Disposition::Ack(_)
        ));
    }
    assert_eq!(record(&p, &reply).await.version, version);
    assert_eq!(notifications(dir.path(), &reply).len(), 2);
    assert_eq!(crm_records(dir.path()).len(), 1);

    // The owner accepts. A week later the buyer writes in again: a new handoff, for the owner of
    // the previous one.
    let claim = s.claims.sign(
        &reply,
        &owner,
        ClaimAction::Accept,
        clock_now(&clock) + chrono::Duration::hours(1),
    );
    s.claim_with_link(&claim).await.unwrap();
    p.drain().await.unwrap();
    assert_eq!(record(&p, &reply).await.state, State::Accepted);
    clock.set(at("2026-12-01T15:00:00Z"));
    let later = s
        .intake(event(FORM, "form-2", "2026-12-01T15:00:00Z"))
        .await
        .unwrap();
    p.drain().await.unwrap();
    assert_ne!(later.handoff_id, reply);
    let new = record(&p, &later.handoff_id).await;
    assert_eq!(
        new.state,
        State::Notified,
        "{:?}",
        events_of(&p, &later.handoff_id).await
    );
    assert_eq!(owner_of(&new), owner);
    let continuity = new
        .routing
        .iter()
        .find(|t| t.layer == "existing_owner")
        .unwrap();
    assert!(
        continuity
            .outcome
            .contains("owned this contact's previous handoff"),
        "{}",
        continuity.outcome
    );
    assert_eq!(record(&p, &reply).await.touches.len(), 1);
    assert_eq!(crm_records(dir.path()).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pricing_question_tightens_a_cold_leads_deadline_and_a_cold_reply_never_loosens_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-11-24T14:02:00Z")));
    let p = pipeline(dir.path(), clock.clone()).await;
    let s = &p.services;
    let lead = s
        .intake(event(REPLY, "thread-1", "2026-11-24T14:02:00Z"))
        .await
        .unwrap()
        .handoff_id;
    p.drain().await.unwrap();
    let cold = record(&p, &lead).await.sla.unwrap();
    assert_eq!(cold.policy, "outbound/standard");

    clock.set(at("2026-11-24T14:30:00Z"));
    let pricing = s
        .intake(reply_saying(
            "pricing-1",
            "2026-11-24T14:30:00Z",
            "Thanks Vera. What would this cost for 40 seats? Please send me your pricing.",
        ))
        .await
        .unwrap()
        .handoff_id;
    p.drain().await.unwrap();
    assert_eq!(record(&p, &pricing).await.state, State::Attached);
    let open = record(&p, &lead).await;
    let hot = open.sla.clone().unwrap();
    assert!(hot.deadline < cold.deadline, "{hot:?} vs {cold:?}");
    assert_eq!(hot.deadline, at("2026-11-24T15:30:00Z"), "{hot:?}");
    assert!(
        open.classification
            .as_ref()
            .unwrap()
            .has_flag(RiskFlag::DuplicateRecord),
        "same channel: a duplicate"
    );
    let step = open.routing.last().unwrap();
    assert_eq!(step.layer, "sla");
    assert!(
        step.outcome
            .starts_with("tightened by the buyer's new touch"),
        "{}",
        step.outcome
    );
    // The sweep sees the new deadline.
    let due = |t: DateTime<Utc>| async move { s.store.due(t, 10, None).await.unwrap().items.len() };
    assert_eq!(due(hot.deadline - chrono::Duration::seconds(1)).await, 0);
    assert_eq!(due(hot.deadline).await, 1);
    // The news tells the owner the new deadline.
    let told = notifications(dir.path(), &lead);
    assert_eq!(told.len(), 2);
    assert_ne!(
        told[0].notification.deadline_local,
        told[1].notification.deadline_local
    );

    // A plain "thanks" later is colder: the deadline stays where it is.
    clock.set(at("2026-11-24T14:40:00Z"));
    s.intake(reply_saying(
        "thanks-1",
        "2026-11-24T14:40:00Z",
        "Thanks, sounds good. Talk soon.",
    ))
    .await
    .unwrap();
    p.drain().await.unwrap();
    let open = record(&p, &lead).await;
    assert_eq!(open.touches.len(), 2);
    assert_eq!(open.sla, Some(hot));
    assert_eq!(notifications(dir.path(), &lead).len(), 3);
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    use handoff_domain::ports::Clock;
    clock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_touch_that_joins_before_the_first_assignment_sets_the_first_deadline() {
    use handoff_domain::ports::{Stage, StageMessage};
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-11-24T14:02:00Z")));
    let p = pipeline(dir.path(), clock.clone()).await;
    let s = &p.services;
    let classify = |id: &HandoffId| StageMessage::new(id.clone(), Stage::Classify);
    // The cold reply is classified but not yet assigned when the pricing question joins it.
    let lead = s
        .intake(event(REPLY, "thread-2", "2026-11-24T14:02:00Z"))
        .await
        .unwrap()
        .handoff_id;
    s.run_stage(&classify(&lead)).await.unwrap();
    assert_eq!(record(&p, &lead).await.state, State::Classified);
    clock.set(at("2026-11-24T14:30:00Z"));
    let pricing = s
        .intake(reply_saying(
            "pricing-2",
            "2026-11-24T14:30:00Z",
            "Thanks Vera. What would this cost for 40 seats? Please send me your pricing.",
        ))
        .await
        .unwrap()
        .handoff_id;
    s.run_stage(&classify(&pricing)).await.unwrap();
    assert_eq!(record(&p, &pricing).await.state, State::Attached);
    assert_eq!(record(&p, &lead).await.touches.len(), 1);

    p.drain().await.unwrap();
    let open = record(&p, &lead).await;
    assert_eq!(open.state, State::Notified);
    // Outbound standard would be due at 18:30; the pricing question's hot hour applies instead.
    let sla = open.sla.clone().unwrap();
    assert_eq!(sla.deadline, at("2026-11-24T15:30:00Z"), "{sla:?}");
    let step = open.routing.last().unwrap();
    assert!(
        step.outcome
            .starts_with("tightened by the buyer's new touch"),
        "{}",
        step.outcome
    );
}
