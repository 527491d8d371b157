//! Section 3, sweep efficiency: `open` handoffs await their owner, `due` of them past their deadline; one
//! scheduled failover sweep (the real handler, `handoff_lambda::schedule::sweep`) should read the
//! due ones and nothing else: `SweepReport.items_read ÷ due`.
//!
//! The open handoffs are copies of one real handoff driven to `notified` through the pipeline,
//! each with its own id, contact, company and deadline, written as the store writes them
//! (`handoff_aws::store::codec::meta_item`, so they carry the same sparse `due` index keys) with
//! `BatchWriteItem` (25 a call, a few calls at once). Only `META` items are seeded: the sweep
//! never reads timelines.

use crate::cost::business_hours;
use crate::emu::{self, Emu};
use crate::meter::{Meter, Snapshot};
use anyhow::{bail, Context, Result};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use handoff_aws::store::codec;
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId};
use handoff_domain::lifecycle::{HandoffRecord, RerouteReason, State};
use handoff_domain::ports::{ManualClock, Stage};
use handoff_domain::service::sweep::SweepReport;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `BatchWriteItem` calls in flight while seeding.
const SEED_CONCURRENCY: usize = 8;
/// Items per `BatchWriteItem` (the service's maximum).
const BATCH: usize = 25;

/// What section 3 measured.
pub struct SweepFigures {
    pub open: usize,
    pub due_seeded: usize,
    pub seed_time: Duration,
    pub sweep_time: Duration,
    pub report: SweepReport,
    /// What the sweep called (the due query and every failover's reads and writes).
    pub calls: Snapshot,
    /// Failed failovers retried once after the sweep, with the outcome.
    pub retried: Vec<String>,
}

pub async fn run(emu: &Emu, open: usize, due: usize) -> Result<SweepFigures> {
    let due = due.min(open);
    let (table, prefix, _) = emu.provision("sweep").await?;
    let out = tempfile::tempdir()?;
    let meter = Meter::default();
    let now = business_hours();
    let clock = Arc::new(ManualClock::new(now));
    let services = emu
        .services(&table, &prefix, clock.clone(), Some(&meter), out.path())
        .await?;

    // One real handoff, driven to `notified` and awaiting its owner.
    let trigger = Meter::default();
    let driver = emu.driver_queue(&prefix, &trigger).await?;
    let body = emu::form_event(&format!("bench-sweep-{}", emu.run_id()), 0, now);
    let router = handoff_api::intake_router(Arc::new(services.clone()));
    let (status, receipt) = emu::call(
        router,
        &emu::function_url_event("POST", "/v1/events", "application/json", &body),
    )
    .await?;
    if status != 202 {
        bail!("intake answered {status}: {receipt}");
    }
    emu::run_stage(&services, &driver, Stage::Classify).await?;
    emu::run_stage(&services, &driver, Stage::Assign).await?;
    let template_id = HandoffId::parse(receipt["handoff_id"].as_str().unwrap_or_default())?;
    let template = services
        .store
        .get(&template_id)
        .await?
        .context("the template handoff is gone")?;
    if template.state != State::Notified || template.due_at().is_none_or(|d| d <= now) {
        bail!(
            "the template handoff is not awaiting its owner: {:?}",
            template.state
        );
    }

    let started = Instant::now();
    seed(emu, &table, &template, open, due, now).await?;
    let seed_time = started.elapsed();

    let mut scheduled: EventBridgeEvent = serde_json::from_str(emu::SCHEDULED_EVENT)?;
    scheduled.time = Some(now);
    let before = meter.snapshot();
    let started = Instant::now();
    let report = handoff_lambda::schedule::sweep(&services, &scheduled, None).await?;
    let sweep_time = started.elapsed();
    let calls = meter.snapshot().since(&before);
    // A failed failover leaves its handoff due: retry those once, only to say why they failed.
    let mut retried = Vec::new();
    if report.failed > 0 {
        let page = services.store.due(now, report.failed + 10, None).await?;
        for due in page.items.iter().take(report.failed) {
            let outcome = services
                .fail_over(&due.id, RerouteReason::SlaMissed, None)
                .await;
            retried.push(format!("{}: {outcome:?}", due.id));
        }
    }
    Ok(SweepFigures {
        open,
        due_seeded: due,
        seed_time,
        sweep_time,
        report,
        calls,
        retried,
    })
}

/// The `i`-th seeded handoff: its own id, contact and company; the first `due` ones a minute or
/// more past their deadline, the others due in an hour or more.
fn seeded(
    template: &HandoffRecord,
    i: usize,
    due: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<HandoffRecord> {
    let mut r = template.clone();
    r.id = HandoffId::parse(format!("h_be{:030x}", i))?;
    r.contact_email = EmailAddress::parse(format!("lead{i}@seed{}.example.com", i % 1000))?;
    r.company_domain = Some(CompanyDomain::parse(format!(
        "seed{}.example.com",
        i % 1000
    ))?);
    let offset = chrono::Duration::seconds(i as i64);
    r.created_at = now - chrono::Duration::days(1) + offset;
    if let Some(sla) = r.sla.as_mut() {
        sla.deadline = if i < due {
            now - chrono::Duration::minutes(1) - offset
        } else {
            now + chrono::Duration::hours(1) + offset
        };
    }
    Ok(r)
}

async fn seed(
    emu: &Emu,
    table: &str,
    template: &HandoffRecord,
    open: usize,
    due: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let batches = open.div_ceil(BATCH);
    stream::iter(0..batches)
        .map(|b| async move {
            let mut requests = Vec::with_capacity(BATCH);
            for i in b * BATCH..((b + 1) * BATCH).min(open) {
                let item = codec::meta_item(&seeded(template, i, due, now)?, 1)?;
                requests.push(
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                        .build(),
                );
            }
            write_all(emu, table, requests).await
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// One `BatchWriteItem`, retrying unprocessed items.
async fn write_all(emu: &Emu, table: &str, mut requests: Vec<WriteRequest>) -> Result<()> {
    for attempt in 0..10u32 {
        let out = emu
            .dynamo
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .context("BatchWriteItem")?;
        requests = out
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
        if requests.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
    }
    bail!("BatchWriteItem kept leaving items unprocessed")
}
