//! `handoff demo`: realistic events through the real local pipeline on a temporary store, with
//! a test clock so the failover fires, printed readably. Every event enters the way it would in
//! production: signed by its sender and posted to its HTTP route (agents to `/v1/events`,
//! providers to theirs, see [`crate::demo_payloads`]).

use crate::demo_payloads;
use crate::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use handoff_domain::audit::AuditReport;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::{Actor, HandoffRecord, Transition};
use handoff_domain::ports::{Clock, ManualClock};
use handoff_domain::render::{self, words};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

/// The demo events (also usable with `handoff classify` and `POST /v1/events`).
pub const DEMO_EVENTS: &[(&str, &str)] = &[
    (
        "01-form-demo-request",
        include_str!("../../examples/events/01-form-demo-request.json"),
    ),
    (
        "02-ai-qualified-lead",
        include_str!("../../examples/events/02-ai-qualified-lead.json"),
    ),
    (
        "03-positive-reply",
        include_str!("../../examples/events/03-positive-reply.json"),
    ),
    (
        "04-pricing-and-soc2",
        include_str!("../../examples/events/04-pricing-and-soc2.json"),
    ),
    (
        "05-angry-objection",
        include_str!("../../examples/events/05-angry-objection.json"),
    ),
    (
        "06-out-of-office",
        include_str!("../../examples/events/06-out-of-office.json"),
    ),
    (
        "07-referral",
        include_str!("../../examples/events/07-referral.json"),
    ),
    (
        "08-enterprise-security",
        include_str!("../../examples/events/08-enterprise-security.json"),
    ),
    (
        "09-channel-switch-form",
        include_str!("../../examples/events/09-channel-switch-form.json"),
    ),
    (
        "10-meeting-booked",
        include_str!("../../examples/events/10-meeting-booked.json"),
    ),
    (
        "11-meeting-no-show",
        include_str!("../../examples/events/11-meeting-no-show.json"),
    ),
    (
        "12-unsubscribe",
        include_str!("../../examples/events/12-unsubscribe.json"),
    ),
    (
        "13-ambiguous-chat-lead",
        include_str!("../../examples/events/13-ambiguous-chat-lead.json"),
    ),
];

/// The event left unclaimed so the failover sweep fires.
const LEFT_UNCLAIMED: &str = "01-form-demo-request";

/// Parses the demo events, sorted by arrival.
pub fn demo_events() -> Result<Vec<(&'static str, IntakeEvent)>> {
    let mut v = DEMO_EVENTS
        .iter()
        .map(|(name, json)| {
            serde_json::from_str::<IntakeEvent>(json)
                .map(|e| (*name, e))
                .with_context(|| format!("examples/events/{name}.json"))
        })
        .collect::<Result<Vec<_>>>()?;
    v.sort_by_key(|(_, e)| e.received_at);
    Ok(v)
}

/// Runs the demo and returns the printed report.
pub async fn run(rules: RulesChoice, keep: Option<std::path::PathBuf>) -> Result<String> {
    let started = Instant::now();
    let tmp = tempdir()?;
    let data_dir = keep.unwrap_or_else(|| tmp.clone());
    let events = demo_events()?;
    let start: DateTime<Utc> = events[0].1.received_at;
    let clock = Arc::new(ManualClock::new(start));
    let secrets = demo_payloads::demo_secrets()?;
    let pipeline = LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: data_dir.clone(),
        rules,
        clock: clock.clone(),
        public_url: "http://127.0.0.1:8080".into(),
        secrets: Arc::new(secrets.clone()),
    })
    .await?;
    let router = handoff_api::local_router(pipeline.app.clone());
    let s = &pipeline.services;
    let mut out = String::new();
    let mut ids: Vec<(String, HandoffId)> = Vec::new();
    // The agents' events, signed with Handoff-Signature, through POST /v1/events.
    for (name, event) in &events {
        clock.set(event.received_at);
        let body = serde_json::to_vec(event)?;
        let (_, receipt) = demo_payloads::send(
            &router,
            &secrets,
            "agent",
            "application/json",
            body,
            clock.now(),
        )
        .await
        .with_context(|| format!("sending {name}"))?;
        pipeline.drain().await?;
        ids.push((name.to_string(), receipt_id(&receipt)?));
    }
    // A replayed agent delivery changes nothing.
    let (_, replay) = demo_payloads::send(
        &router,
        &secrets,
        "agent",
        "application/json",
        serde_json::to_vec(&events[0].1)?,
        clock.now(),
    )
    .await?;
    pipeline.drain().await?;
    let _ = writeln!(
        out,
        "replayed {} → {}",
        events[0].0,
        if replay["duplicate"] == true {
            "recognised as a duplicate; nothing changed"
        } else {
            "not recognised as a duplicate"
        }
    );
    // The providers' own payloads, each signed as the provider signs it, through its route.
    let _ = writeln!(out, "\nprovider webhooks (signed, through their routes):");
    for request in demo_payloads::provider_requests() {
        clock.advance(chrono::Duration::minutes(2));
        let (status, answer) = demo_payloads::send(
            &router,
            &secrets,
            request.provider,
            &request.content_type,
            request.body,
            clock.now(),
        )
        .await
        .with_context(|| format!("sending {}", request.label))?;
        pipeline.drain().await?;
        for h in answer["handoffs"].as_array().into_iter().flatten() {
            let id = HandoffId::parse(h["handoff_id"].as_str().unwrap_or_default())?;
            // Classification may have joined a new event to the buyer's open handoff.
            let attached_to = pipeline
                .services
                .store
                .get(&id)
                .await?
                .and_then(|r| r.attached_to);
            let how = if h["linked"] == true {
                "joined the buyer's open handoff".to_string()
            } else if h["duplicate"] == true {
                "duplicate".to_string()
            } else if let Some(open) = &attached_to {
                format!("joined the buyer's open handoff {open} as a new touch")
            } else {
                "opened a handoff".to_string()
            };
            let _ = writeln!(out, "  {:<64} {status} {how} {id}", request.label);
            if !ids.iter().any(|(_, known)| *known == id) {
                ids.push((request.label.to_string(), id));
            }
        }
    }
    let _ = writeln!(out);

    // Reps act: one says "wrong owner", one asks for re-qualification, the rest accept —
    // except one handoff nobody claims.
    clock.advance(chrono::Duration::minutes(10));
    for (name, id) in &ids {
        let action = match name.as_str() {
            "05-angry-objection" => ClaimAction::WrongOwner,
            "13-ambiguous-chat-lead" => ClaimAction::Requalify,
            _ => continue,
        };
        claim_as_owner(&pipeline, id, action).await?;
    }
    pipeline.drain().await?;
    clock.advance(chrono::Duration::minutes(5));
    for (name, id) in &ids {
        if name != LEFT_UNCLAIMED {
            claim_as_owner(&pipeline, id, ClaimAction::Accept).await?;
        }
    }
    // Nobody acts on the last one: move past its SLA and run the sweep the schedule would run.
    let unclaimed = &ids
        .iter()
        .find(|(n, _)| n == LEFT_UNCLAIMED)
        .expect("demo event")
        .1;
    let deadline = s
        .store
        .get(unclaimed)
        .await?
        .and_then(|r| r.sla.map(|x| x.deadline))
        .context("the unclaimed handoff has an SLA")?;
    clock.set(deadline + chrono::Duration::minutes(1));
    let sweep = s.sweep(100, 8).await?;
    pipeline.drain().await?;
    let _ = writeln!(
        out,
        "failover sweep at {}: {} due, {} rerouted, {} escalated (read {})\n",
        clock.now().format("%Y-%m-%d %H:%M UTC"),
        sweep.due,
        sweep.rerouted,
        sweep.escalated,
        words::count(sweep.items_read, "item")
    );

    for (name, id) in &ids {
        let record = s.store.get(id).await?.context("stored handoff")?;
        let timeline = s.store.timeline(id).await?;
        print_handoff(&mut out, name, &record, &timeline);
    }
    let report = s
        .audit(
            start - chrono::Duration::days(1),
            clock.now() + chrono::Duration::days(1),
        )
        .await?;
    let _ = writeln!(
        out,
        "audit: {}, {} owned, acceptance {:.0}%, wrong owner {:.0}%, re-qualification {:.0}%, CRM completeness {:.0}%",
        words::count(report.handoffs, "handoff"),
        report.owned,
        report.acceptance_rate.unwrap_or(0.0) * 100.0,
        report.wrong_owner_rate.unwrap_or(0.0) * 100.0,
        report.requalification_rate.unwrap_or(0.0) * 100.0,
        report.crm_field_completeness.unwrap_or(0.0) * 100.0,
    );
    out.push_str(&requalification_by_reply_class(&report));
    let _ = writeln!(
        out,
        "\n{} and {}, all signed, through the HTTP routes → classify → assign → CRM → notify → claim/failover in {} ms; CRM files and notifications in {}",
        words::count(events.len(), "agent event"),
        words::count(demo_payloads::provider_requests().len(), "provider webhook"),
        started.elapsed().as_millis(),
        data_dir.display()
    );
    if data_dir == tmp {
        drop(pipeline);
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(out)
}

/// The audit's re-qualification breakdown as indented lines under the audit line: one per reply
/// class with an owned outbound handoff (`requalified of owned`, rate), or one line saying there
/// were none.
pub fn requalification_by_reply_class(report: &AuditReport) -> String {
    let rows = &report.requalification_by_reply_class;
    if rows.is_empty() {
        return "  re-qualification by reply class: no owned outbound handoffs\n".into();
    }
    let mut out = String::from("  re-qualification by reply class (owned outbound handoffs):\n");
    for (class, row) in rows {
        let _ = writeln!(
            out,
            "    {:<18} {:>3} of {:<3} {:>4.0}%",
            class.phrase(),
            row.requalified,
            row.owned,
            row.rate * 100.0
        );
    }
    out
}

fn receipt_id(receipt: &serde_json::Value) -> Result<HandoffId> {
    Ok(HandoffId::parse(
        receipt["handoff_id"]
            .as_str()
            .context("the answer names the handoff")?,
    )?)
}

async fn claim_as_owner(
    pipeline: &LocalPipeline,
    id: &HandoffId,
    action: ClaimAction,
) -> Result<()> {
    let s = &pipeline.services;
    let record = s.store.get(id).await?.context("stored handoff")?;
    if !record.state.awaits_owner() {
        return Ok(());
    }
    let Some(rep) = record.owner.as_ref().and_then(|o| o.rep.clone()) else {
        return Ok(());
    };
    let claim = s
        .claims
        .sign(id, &rep, action, s.clock.now() + chrono::Duration::hours(1));
    s.claim_with_link(&claim).await?;
    pipeline.drain().await?;
    Ok(())
}

fn print_handoff(
    out: &mut String,
    name: &str,
    record: &HandoffRecord,
    timeline: &[handoff_domain::lifecycle::TimelineEntry],
) {
    let _ = writeln!(out, "━━ {name} · {} · {}", record.id, record.state);
    if let Some(open) = &record.attached_to {
        let _ = writeln!(
            out,
            "   Joined the buyer's open handoff {open} as a new touch; its owner heard the news there."
        );
    }
    match record.package().filter(|_| record.attached_to.is_none()) {
        Some(p) => {
            let _ = writeln!(out, "{}", render::title(&p));
            let _ = write!(out, "{}", render::package_text(&p));
            if let Some(a) = &p.classification.automation {
                let _ = writeln!(
                    out,
                    "   Automation: {} — {}{}{}",
                    a.action.phrase(),
                    a.reason,
                    a.resume_on
                        .map(|d| format!("; resume {d}"))
                        .unwrap_or_default(),
                    a.alternate_contact
                        .as_deref()
                        .map(|c| format!("; alternate contact {c}"))
                        .unwrap_or_default()
                );
            }
            if !p.routing.is_empty() {
                let _ = writeln!(out, "   Routing trace:");
                for t in &p.routing {
                    let layer = render::layer_phrase(&t.layer);
                    let _ = writeln!(out, "     · {layer:<16} {}", t.outcome);
                }
            }
        }
        None if record.attached_to.is_some() => {}
        None => {
            let _ = writeln!(out, "(not classified)");
        }
    }
    let _ = writeln!(out, "   What happened:");
    for e in timeline {
        let who = match &e.actor {
            Actor::System(s) => s.clone(),
            Actor::Rep(r) => format!("rep {r}"),
        };
        let _ = writeln!(
            out,
            "     {} {:<27} by {:<10} {}",
            e.at.format("%H:%M"),
            Transition::event_phrase(&e.event),
            who,
            e.note
        );
    }
    let _ = writeln!(out);
}

fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "handoff-demo-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_domain::audit::ReplyClassRequalification;
    use handoff_domain::package::ReplyClass;

    #[test]
    fn the_requalification_breakdown_is_one_line_per_class() {
        let t = Utc::now();
        let mut report = AuditReport::compute(t, t, &[]);
        assert_eq!(
            requalification_by_reply_class(&report),
            "  re-qualification by reply class: no owned outbound handoffs\n"
        );
        let row = |owned, requalified| ReplyClassRequalification {
            owned,
            requalified,
            rate: requalified as f64 / owned as f64,
        };
        report.requalification_by_reply_class = [
            (ReplyClass::Positive, row(12, 1)),
            (ReplyClass::Objection, row(3, 2)),
        ]
        .into();
        assert_eq!(
            requalification_by_reply_class(&report),
            "  re-qualification by reply class (owned outbound handoffs):\n\
             \x20   positive             1 of 12     8%\n\
             \x20   objection            2 of 3     67%\n"
        );
    }
}
