//! Fixtures: sample events, records and packages, and helpers that move a record through the
//! state machine the way the services do (so a store sees realistic versions and timelines).
//!
//! Times are fixed ([`t0`] and [`at`]) so tests are deterministic; ids are derived from the
//! provider event id you pass, so `record("a")` and `record("b")` never collide.

use chrono::{DateTime, Duration, TimeZone, Utc};
use handoff_domain::event::{
    Buyer, Channel, EventKind, FormLead, IntakeEvent, MeetingStatus, Urgency,
};
use handoff_domain::ids::{EmailAddress, HandoffId, ProviderEventId, RepId, SourceName, TeamId};
use handoff_domain::lifecycle::{
    Actor, HandoffRecord, RerouteReason, State, TimelineEntry, Transition,
};
use handoff_domain::package::{
    BuyerContext, Classification, Evidence, HandoffPackage, Motion, MotionFields, NextAction,
    NextStep, Owner, Qualification, Sla, TraceStep, TriggerKind,
};
use handoff_domain::ports::{
    CrmWrite, ExternalIds, HandoffStore, Notification, NotificationKind, OwnerChangeNote, Stage,
    StageMessage,
};

/// The fixed "now" of the fixtures: Monday 2030-01-07 09:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 9, 0, 0)
        .single()
        .expect("valid fixed time")
}

/// [`t0`] plus `minutes` (negative for earlier).
pub fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// The default buyer's email.
pub const BUYER_EMAIL: &str = "dana@acme.com";

/// A parsed email address (panics on an invalid literal: fixtures only).
pub fn email(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).expect("fixture email is valid")
}

/// A parsed rep id (panics on an invalid literal: fixtures only).
pub fn rep(raw: &str) -> RepId {
    RepId::parse(raw).expect("fixture rep id is valid")
}

/// The deterministic handoff id of the fixture event `provider_event_id` (source `website`).
pub fn handoff_id(provider_event_id: &str) -> HandoffId {
    HandoffId::for_event(
        &source(),
        &ProviderEventId::parse(provider_event_id).expect("fixture event id is valid"),
    )
}

fn source() -> SourceName {
    SourceName::parse("website").expect("valid source")
}

/// A web-form lead from [`BUYER_EMAIL`] received at [`t0`].
pub fn event(provider_event_id: &str) -> IntakeEvent {
    event_from(provider_event_id, BUYER_EMAIL, t0())
}

/// A web-form demo request from `buyer_email`, received at `received_at`.
pub fn event_from(
    provider_event_id: &str,
    buyer_email: &str,
    received_at: DateTime<Utc>,
) -> IntakeEvent {
    IntakeEvent {
        source: source(),
        channel: Channel::WebForm,
        provider_event_id: ProviderEventId::parse(provider_event_id)
            .expect("fixture event id is valid"),
        received_at,
        kind: EventKind::FormLead(FormLead {
            buyer: Buyer {
                email: email(buyer_email),
                name: Some("Dana Scully".into()),
                company: Some("Acme".into()),
                company_domain: None,
                role: Some("Head of RevOps".into()),
                country: Some("DE".into()),
                employees: Some(450),
                phone: None,
            },
            message: "We need a demo for 40 seats this quarter.".into(),
            product_interest: Some("insights".into()),
            seats: Some(40),
            fields: Default::default(),
        }),
    }
}

/// A web-form demo request from a buyer with this email, name and phone (`None`: none given),
/// received at `received_at`: for matching the same person across addresses and channels.
pub fn event_of_person(
    provider_event_id: &str,
    buyer_email: &str,
    name: &str,
    phone: Option<&str>,
    received_at: DateTime<Utc>,
) -> IntakeEvent {
    let mut e = event_from(provider_event_id, buyer_email, received_at);
    let buyer = e.kind.buyer_mut();
    buyer.name = Some(name.to_string());
    buyer.phone = phone.map(str::to_string);
    e
}

/// A freshly received record (version 1) and its first timeline entry, for [`event`].
pub fn record(provider_event_id: &str) -> (HandoffRecord, TimelineEntry) {
    HandoffRecord::received(event(provider_event_id), t0())
}

/// A freshly received record for `buyer_email`, created at `created_at`.
pub fn record_from(
    provider_event_id: &str,
    buyer_email: &str,
    created_at: DateTime<Utc>,
) -> (HandoffRecord, TimelineEntry) {
    HandoffRecord::received(
        event_from(provider_event_id, buyer_email, created_at),
        created_at,
    )
}

/// An owner for `rep_id` on team `emea-ae`, notified on Slack.
pub fn owner(rep_id: &str) -> Owner {
    Owner {
        rep: Some(rep(rep_id)),
        team: TeamId::parse("emea-ae").expect("valid team"),
        display: format!("{rep_id} (EMEA AE)"),
        notify: format!("slack:@{rep_id}"),
    }
}

/// A 60-business-minute SLA ending at `deadline`.
pub fn sla(deadline: DateTime<Utc>) -> Sla {
    Sla {
        business_minutes: 60,
        deadline,
        policy: "inbound/hot".into(),
    }
}

/// Applies a legal `transition` at `when` as the `test` system actor; panics if illegal.
pub fn step(
    record: &mut HandoffRecord,
    transition: Transition,
    when: DateTime<Utc>,
) -> TimelineEntry {
    record
        .apply(transition, Actor::System("test".into()), when, "")
        .unwrap_or_else(|e| panic!("fixture transition failed: {e}"))
}

/// Makes `deadline` the record's due time also while it owes a stage (an `assigned` record owes
/// the CRM write and notification): the store conformance cases control when a record is due
/// through one deadline, whatever the state. Stores only see [`HandoffRecord::due_at`].
fn due_at_deadline(record: &mut HandoffRecord, deadline: DateTime<Utc>) {
    if record.owed_stage().is_some() {
        record.stage_due = Some(deadline);
    }
}

/// Moves a received record to `assigned` (via `classified`): owner `rep_id`, SLA deadline
/// `deadline`, due at `deadline` (see `due_at_deadline`). Returns the two timeline entries,
/// oldest first.
pub fn to_awaiting(
    record: &mut HandoffRecord,
    rep_id: &str,
    deadline: DateTime<Utc>,
    when: DateTime<Utc>,
) -> Vec<TimelineEntry> {
    let classified = step(record, Transition::Classify, when);
    record.owner = Some(owner(rep_id));
    record.sla = Some(sla(deadline));
    record.routing = vec![TraceStep {
        layer: "round_robin".into(),
        outcome: format!("{rep_id} is next"),
    }];
    let assigned = step(record, Transition::Assign, when);
    due_at_deadline(record, deadline);
    vec![classified, assigned]
}

/// Moves a record that awaits its owner to a new owner with a new deadline (an SLA miss).
pub fn reroute(
    record: &mut HandoffRecord,
    rep_id: &str,
    deadline: DateTime<Utc>,
    when: DateTime<Utc>,
) -> TimelineEntry {
    if let Some(previous) = record.owner.as_ref().and_then(|o| o.rep.clone()) {
        record.missed_by.push(previous);
    }
    record.owner = Some(owner(rep_id));
    record.sla = Some(sla(deadline));
    record.reroutes += 1;
    let entry = step(
        record,
        Transition::Reroute {
            reason: RerouteReason::SlaMissed,
        },
        when,
    );
    due_at_deadline(record, deadline);
    entry
}

/// Creates a record in `store` and moves it to `assigned` with owner `rep_id` and SLA
/// `deadline`, due at `deadline` (see `due_at_deadline`), persisting every step. Returns the
/// stored record (version 3).
pub async fn seed_awaiting(
    store: &dyn HandoffStore,
    provider_event_id: &str,
    rep_id: &str,
    deadline: DateTime<Utc>,
) -> HandoffRecord {
    let (mut r, e) = record(provider_event_id);
    store.create(&r, &e).await.expect("create");
    let classified = step(&mut r, Transition::Classify, t0());
    store.update(&r, &classified).await.expect("classify");
    r.owner = Some(owner(rep_id));
    r.sla = Some(sla(deadline));
    let assigned = step(&mut r, Transition::Assign, t0());
    due_at_deadline(&mut r, deadline);
    store.update(&r, &assigned).await.expect("assign");
    r
}

/// Applies `transition` to `record` and persists it with a conditional update.
pub async fn advance(
    store: &dyn HandoffStore,
    record: &mut HandoffRecord,
    transition: Transition,
    when: DateTime<Utc>,
) -> TimelineEntry {
    let entry = step(record, transition, when);
    store.update(record, &entry).await.expect("update");
    entry
}

/// The states a fixture can reach from `received`, for store tests.
pub fn path_to(state: State) -> Vec<Transition> {
    use Transition as T;
    match state {
        State::Received => vec![],
        State::Classified => vec![T::Classify],
        State::ClosedWithoutHandoff => vec![T::Close],
        State::Assigned => vec![T::Classify, T::Assign],
        State::CrmWritten => vec![T::Classify, T::Assign, T::RecordCrmWrite],
        State::Notified => vec![
            T::Classify,
            T::Assign,
            T::RecordCrmWrite,
            T::RecordNotification,
        ],
        State::Accepted => vec![
            T::Classify,
            T::Assign,
            T::RecordCrmWrite,
            T::RecordNotification,
            T::Accept,
        ],
        State::RequalificationRequested => vec![T::Classify, T::Assign, T::RequestRequalification],
        State::Escalated => vec![T::Classify, T::Assign, T::Escalate],
        State::Attached => vec![T::Attach],
    }
}

/// Creates a record for `buyer_email` created at `created_at` and moves it to `state`,
/// persisting every step; records that get an owner get `rep_id` and SLA `deadline`, the CRM
/// counts as written in sync from `crm_written` on, and a record that still owes a stage is due
/// at `deadline` too (see `due_at_deadline`). Returns the stored record.
pub async fn seed_in_state(
    store: &dyn HandoffStore,
    provider_event_id: &str,
    buyer_email: &str,
    created_at: DateTime<Utc>,
    state: State,
    deadline: DateTime<Utc>,
) -> HandoffRecord {
    let (mut r, e) = record_from(provider_event_id, buyer_email, created_at);
    due_at_deadline(&mut r, deadline);
    store.create(&r, &e).await.expect("create");
    for t in path_to(state) {
        if t == Transition::Assign {
            r.owner = Some(owner("lena"));
            r.sla = Some(sla(deadline));
        }
        if t == Transition::RecordCrmWrite {
            r.crm.synced = Some(r.crm_sync_key());
        }
        let entry = step(&mut r, t, created_at);
        due_at_deadline(&mut r, deadline);
        store.update(&r, &entry).await.expect("update");
    }
    assert_eq!(r.state, state);
    r
}

/// A stage message for the fixture event `provider_event_id`.
pub fn stage_message(provider_event_id: &str, stage: Stage) -> StageMessage {
    StageMessage::new(handoff_id(provider_event_id), stage)
}

/// A complete six-part package for `record` (an inbound demo request owned by `lena`).
pub fn package(record: &HandoffRecord) -> HandoffPackage {
    let buyer = record.event.buyer();
    let classification = Classification {
        motion: Motion::Inbound,
        trigger: TriggerKind::DemoRequest,
        reply_class: None,
        qualification: Qualification::Qualified,
        risk_flags: vec![],
        human_decision: None,
        escalate: true,
        next_step: NextStep {
            action: NextAction::CallToday,
            detail: "Call Dana today; she asked for a demo for 40 seats.".into(),
        },
        buyer: BuyerContext {
            email: buyer.email.clone(),
            name: buyer.name.clone(),
            company: buyer.company.clone(),
            company_domain: record.company_domain.clone(),
            role: buyer.role.clone(),
            country: buyer.country.clone(),
            employees: buyer.employees,
            source: record.event.source.clone(),
            channel: record.event.channel,
            problem_statement: "Needs a demo for 40 seats this quarter.".into(),
        },
        motion_fields: MotionFields::Inbound {
            source: record.event.source.clone(),
            channel: record.event.channel,
            qualification_answers: vec![],
            urgency: Urgency::High,
            meeting_status: MeetingStatus::NotOffered,
            routing_reason: "round robin: lena is next".into(),
        },
        automation: None,
        product_line: Some("insights".into()),
        evidence: vec![Evidence {
            supports: "trigger:demo_request".into(),
            source: "text".into(),
            excerpt: "need a demo".into(),
            confidence: 85,
        }],
        needs_confirmation: None,
    };
    HandoffPackage {
        handoff_id: record.id.clone(),
        classification,
        owner: Some(owner("lena")),
        sla: Some(sla(at(60))),
        routing: vec![TraceStep {
            layer: "round_robin".into(),
            outcome: "lena is next".into(),
        }],
    }
}

/// The outside-system ids of a fixture rep (`lena`, `max`, …): HubSpot owner `hs-<rep>`,
/// Salesforce user `005<rep>`, Slack member `U<REP>`.
pub fn external_ids(rep_id: &str) -> ExternalIds {
    ExternalIds {
        hubspot_owner_id: Some(format!("hs-{rep_id}")),
        salesforce_user_id: Some(format!("005{rep_id}")),
        slack_user_id: Some(format!("U{}", rep_id.to_ascii_uppercase())),
    }
}

/// What the CRM should hold for `package` (owned by its owner, no owner changes yet).
pub fn crm_write(package: &HandoffPackage) -> CrmWrite {
    let owner = package.owner.as_ref();
    CrmWrite {
        package: package.clone(),
        fields: package.crm_fields(),
        owner_ids: owner
            .and_then(|o| o.rep.as_ref())
            .map(|r| external_ids(r.as_str()))
            .unwrap_or_default(),
        owner_display: owner.map(|o| o.display.clone()).unwrap_or_default(),
        changes: Vec::new(),
        text: handoff_domain::render::package_text(package),
        html: handoff_domain::render::package_html(package),
        now: at(1),
    }
}

/// `write` after the handoff moved to `rep_id` (`None`: the shared queue) with one more owner
/// change note.
pub fn crm_write_moved(write: &CrmWrite, rep_id: Option<&str>, why: &str) -> CrmWrite {
    let mut next = write.clone();
    let from = next.owner_display.clone();
    match rep_id {
        Some(r) => {
            next.package.owner = Some(owner(r));
            next.owner_ids = external_ids(r);
            next.owner_display = format!("{r} (EMEA AE)");
        }
        None => {
            next.package.owner = Some(Owner {
                rep: None,
                team: TeamId::parse("emea-ae").expect("valid team"),
                display: "shared queue: sales-queue".into(),
                notify: "slack:#sales-queue".into(),
            });
            next.owner_ids = ExternalIds::default();
            next.owner_display = "shared queue: sales-queue".into();
        }
    }
    next.package.sla = Some(sla(at(120 + 60 * next.changes.len() as i64)));
    next.changes.push(OwnerChangeNote {
        at: at(90),
        text: format!("Moved from {from} to {}: {why}.", next.owner_display),
    });
    next.now = at(91);
    next
}

/// A notification of `handoff` to `target` after the CRM write `crm_ref`.
pub fn notification(handoff: &HandoffId, target: &str, crm_ref: &str) -> Notification {
    let (record, _) = record(handoff.as_str());
    let mut package = package(&record);
    package.handoff_id = handoff.clone();
    let rep = target
        .split_once(':')
        .map(|(_, r)| {
            r.trim_start_matches(['@', '#'])
                .split('@')
                .next()
                .unwrap_or("")
        })
        .unwrap_or("");
    Notification {
        handoff_id: handoff.clone(),
        kind: NotificationKind::Assigned,
        target: target.into(),
        recipient: external_ids(rep),
        recipient_email: Some(format!("{rep}@emea.example")),
        title: "New demo request: Dana Scully (Acme)".into(),
        body:
            "Dana Scully, Head of RevOps at Acme, asked for a demo for 40 seats.\nNext: call today."
                .into(),
        deadline_local: Some("Mon 07 Jan 11:00 CET".into()),
        package,
        actions: vec![
            (
                "accept".into(),
                format!("https://handoff.example/claim/{handoff}?a=accept"),
            ),
            (
                "wrong_owner".into(),
                format!("https://handoff.example/claim/{handoff}?a=wrong_owner"),
            ),
            (
                "requalify".into(),
                format!("https://handoff.example/claim/{handoff}?a=requalify"),
            ),
        ],
        crm_ref: crm_ref.into(),
        replaces: None,
    }
}

/// The "it moved" notice for the previous owner of `handoff`, updating `replaces`.
pub fn moved_notification(
    handoff: &HandoffId,
    target: &str,
    replaces: Option<String>,
) -> Notification {
    let mut n = notification(handoff, target, "local-crm:moved");
    n.kind = NotificationKind::MovedAway {
        to: "max (EMEA AE)".into(),
        reason: "the SLA passed unclaimed".into(),
    };
    n.title = format!("Moved to max (EMEA AE): {}", n.title);
    n.actions.clear();
    n.deadline_local = None;
    n.replaces = replaces;
    n
}

/// The "news" notice to the owner of `handoff` at `target`: a later event of the buyer
/// (`summary`) joined it after the CRM write `crm_ref`.
pub fn news_notification(
    handoff: &HandoffId,
    target: &str,
    crm_ref: &str,
    summary: &str,
) -> Notification {
    let mut n = notification(handoff, target, crm_ref);
    n.kind = NotificationKind::NewTouch {
        summary: summary.into(),
    };
    n.title = format!("News on {}: {summary}", n.title);
    n.body = format!("New touch: {summary}\n\n{}", n.body);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_reaches_its_state() {
        for state in [
            State::Received,
            State::Classified,
            State::ClosedWithoutHandoff,
            State::Assigned,
            State::CrmWritten,
            State::Notified,
            State::Accepted,
            State::RequalificationRequested,
            State::Escalated,
            State::Attached,
        ] {
            let (mut r, _) = record("path");
            for t in path_to(state) {
                if t == Transition::Assign {
                    r.sla = Some(sla(at(5)));
                }
                step(&mut r, t, t0());
            }
            assert_eq!(r.state, state);
            assert_eq!(r.version as usize, 1 + path_to(state).len());
        }
    }

    #[test]
    fn awaiting_records_carry_their_deadline() {
        let (mut r, _) = record("await");
        let entries = to_awaiting(&mut r, "lena", at(30), t0());
        assert_eq!(
            entries.iter().map(|e| e.version).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(r.due_at(), Some(at(30)));
        let e = reroute(&mut r, "max", at(90), at(31));
        assert_eq!(e.version, 4);
        assert_eq!(r.due_at(), Some(at(90)));
        assert_eq!(r.missed_by, vec![rep("lena")]);
    }

    #[test]
    fn ids_are_distinct_per_event_and_packages_serialise() {
        assert_ne!(handoff_id("a"), handoff_id("b"));
        assert_eq!(record("a").0.id, handoff_id("a"));
        let (r, _) = record("pkg");
        let json = serde_json::to_value(package(&r)).unwrap();
        assert_eq!(json["handoff_id"], r.id.as_str());
        assert_eq!(json["motion"], "inbound");
        let n = notification(&r.id, "slack:@lena", "local-crm:x");
        assert_eq!(n.actions.len(), 3);
    }
}
