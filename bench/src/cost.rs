//! Section 2, per-handoff cost on the standard path: intake → classify → assign (→ CRM → notify), then the
//! owner accepts through the claim function URL.
//!
//! The functions' services run on SDK clients carrying a [`Meter`]; the bench's own SQS driver
//! (standing in for Lambda's event source mapping: receive, then delete what succeeded) carries a
//! second one, so what the functions call and what the trigger calls are counted apart. The first
//! handoff is a warm-up (it loads the rules into the cache, as every cold container does once per
//! `HANDOFF_RULES_TTL_SECS`) and is not counted. Every counted handoff is checked to go
//! `received → classified → assigned → crm_written → notified → accepted`.

use crate::emu::{self, Emu};
use crate::meter::{Meter, Snapshot};
use anyhow::{bail, Result};
use chrono::{TimeZone, Utc};
use handoff_aws::DynamoStore;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::State;
use handoff_domain::ports::{Clock, HandoffStore, ManualClock, Stage};
use handoff_domain::service::Services;
use std::sync::Arc;

/// The stages of one handoff, in order.
pub const STAGES: [&str; 4] = ["intake", "classify", "assign", "claim"];

/// What section 2 measured (totals over `handoffs`).
pub struct CostFigures {
    pub handoffs: usize,
    /// Per stage (see [`STAGES`]), what the functions called.
    pub stages: Vec<Snapshot>,
    /// Everything the functions called.
    pub functions: Snapshot,
    /// What the event source mapping stand-in called.
    pub trigger: Snapshot,
    /// Timeline events of the first counted handoff.
    pub path: Vec<String>,
}

/// A Tuesday afternoon in Berlin: the EMEA reps are at work, as in the e2e test.
pub fn business_hours() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap()
}

pub async fn run(emu: &Emu, handoffs: usize) -> Result<CostFigures> {
    let (table, prefix, _) = emu.provision("cost").await?;
    let out = tempfile::tempdir()?;
    let meter = Meter::default();
    let trigger = Meter::default();
    let clock = Arc::new(ManualClock::new(business_hours()));
    let services = Arc::new(
        emu.services(&table, &prefix, clock.clone(), Some(&meter), out.path())
            .await?,
    );
    let driver = emu.driver_queue(&prefix, &trigger).await?;
    // Unmetered: the bench's own reads (owner lookup, path check) are not the functions' cost.
    let inspect = DynamoStore::new(emu.dynamo.clone(), &table);
    let app = emu::app(
        services.clone(),
        Arc::new(DynamoStore::new(emu.dynamo.clone(), &table)),
    );
    let intake = handoff_api::intake_router(app.clone());
    let claim = handoff_api::claim_router(app);

    let mut stages = vec![Snapshot::default(); STAGES.len()];
    let (mut functions_start, mut trigger_start) = (meter.snapshot(), trigger.snapshot());
    let mut path = Vec::new();
    for h in 0..=handoffs {
        if h == 1 {
            functions_start = meter.snapshot();
            trigger_start = trigger.snapshot();
        }
        let mut marks = vec![meter.snapshot()];
        let id = format!("bench-cost-{}-{h}", emu.run_id());
        let body = emu::form_event(&id, h, clock.now());
        let (status, receipt) =
            emu::call(intake.clone(), &emu::agent_event(&body, clock.now())).await?;
        if status != 202 {
            bail!("intake answered {status}: {receipt}");
        }
        let id = HandoffId::parse(receipt["handoff_id"].as_str().unwrap_or_default())?;
        marks.push(meter.snapshot());
        emu::run_stage(&services, &driver, Stage::Classify).await?;
        marks.push(meter.snapshot());
        emu::run_stage(&services, &driver, Stage::Assign).await?;
        marks.push(meter.snapshot());
        accept(&services, &inspect, &claim, &id).await?;
        marks.push(meter.snapshot());

        let events: Vec<String> = inspect
            .timeline(&id)
            .await?
            .into_iter()
            .map(|e| e.event)
            .collect();
        let expected = [
            "received",
            "classified",
            "assigned",
            "crm_written",
            "notified",
            "accepted",
        ];
        if events != expected {
            bail!("handoff {h} left the standard path: {events:?}");
        }
        if h == 1 {
            path = events;
        }
        if h >= 1 {
            for (i, stage) in stages.iter_mut().enumerate() {
                *stage = add(stage, &marks[i + 1].since(&marks[i]));
            }
        }
    }
    Ok(CostFigures {
        handoffs,
        stages,
        functions: meter.snapshot().since(&functions_start),
        trigger: trigger.snapshot().since(&trigger_start),
        path,
    })
}

/// The owner's signed "accept" link, POSTed as the claim page's form does.
async fn accept(
    services: &Services,
    inspect: &DynamoStore,
    claim: &axum::Router,
    id: &HandoffId,
) -> Result<()> {
    let record = inspect.get(id).await?;
    let Some(rep) = record.and_then(|r| r.owner).and_then(|o| o.rep) else {
        bail!("handoff {id} has no owner rep after assign");
    };
    let expires = services.clock.now() + chrono::Duration::hours(1);
    let c = services.claims.sign(id, &rep, ClaimAction::Accept, expires);
    let form = format!(
        "handoff_id={}&rep={}&action=accept&expires={}&sig={}",
        id, rep, c.expires, c.sig
    );
    let event = emu::function_url_event(
        "POST",
        "/v1/claim",
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    let (status, body) = emu::call(claim.clone(), &event).await?;
    if status != 200 || body["state"] != State::Accepted.as_str() {
        bail!("claim answered {status}: {body}");
    }
    Ok(())
}

fn add(a: &Snapshot, b: &Snapshot) -> Snapshot {
    let mut out = a.clone();
    for (op, s) in &b.ops {
        let t = out.ops.entry(op.clone()).or_default();
        t.requests += s.requests;
        t.rru += s.rru;
        t.wru_table += s.wru_table;
        t.wru_index += s.wru_index;
        t.scanned += s.scanned;
    }
    for (e, n) in &b.errors {
        *out.errors.entry(e.clone()).or_default() += n;
    }
    out
}
