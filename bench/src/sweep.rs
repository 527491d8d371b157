//! Section 3, sweep efficiency: `open` handoffs await their owner, `due` of them past their
//! deadline; a failover sweep should read the due ones and nothing else:
//! `SweepReport.items_read ÷ due`.
//!
//! The open handoffs are copies of one real handoff driven to `notified` through the pipeline,
//! each with its own id, contact, company and deadline, written as the store writes them
//! (`handoff_aws::store::codec::meta_item`, so they carry the same sparse `due` index keys) with
//! `BatchWriteItem` (25 a call, a few calls at once). Only `META` items are seeded: the sweep
//! never reads timelines.
//!
//! Two measurements, each on its own table:
//!
//! - **the real scheduled sweep** (`handoff_lambda::schedule::sweep`, failovers included) at
//!   `min(open, full_open)` open handoffs;
//! - **the sweep's read at full scale** (`open`, default 100,000): the same
//!   `HandoffStore::due` pages `Services::sweep` reads, without the failovers.
//!
//! Why two: every failover on moto costs time proportional to the table — moto deep-copies the
//! whole table for each `TransactWriteItems` (its rollback) and collects and sorts every item of
//! the table for each `Query` — so 100 failovers over 100,000 items take far longer than the
//! "few minutes" budget (20,000 items: ~6 minutes). On DynamoDB neither grows with the table.

use crate::cost::business_hours;
use crate::emu::{self, Emu};
use crate::meter::{Meter, Snapshot};
use anyhow::{bail, Context, Result};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use handoff_aws::store::codec;
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId};
use handoff_domain::lifecycle::{HandoffRecord, RerouteReason, State};
use handoff_domain::ports::{ManualClock, Stage};
use handoff_domain::service::sweep::SweepReport;
use handoff_domain::service::Services;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `BatchWriteItem` calls in flight while seeding.
const SEED_CONCURRENCY: usize = 8;
/// Items per `BatchWriteItem` (the service's maximum).
const BATCH: usize = 25;

/// The real scheduled sweep, failovers included.
pub struct FullSweep {
    pub open: usize,
    pub seed_time: Duration,
    pub sweep_time: Duration,
    pub report: SweepReport,
    /// What the sweep called (the due query and every failover's reads and writes).
    pub calls: Snapshot,
    /// Failed failovers retried once after the sweep, with the outcome.
    pub retried: Vec<String>,
}

/// The sweep's read of the due index at full scale, without the failovers.
pub struct ScaleRead {
    pub open: usize,
    pub seed_time: Duration,
    pub read_time: Duration,
    pub due: usize,
    pub items_read: usize,
    pub pages: usize,
}

/// What section 3 measured.
pub struct SweepFigures {
    /// Present when `open` is above what the full sweep runs at.
    pub scale: Option<ScaleRead>,
    pub full: FullSweep,
}

/// Seeds `open` handoffs (`due` of them due) for a full sweep at `min(open, full_open)`, and —
/// when `open` is larger — a second table at `open` for the sweep's index read alone.
pub async fn run(emu: &Emu, open: usize, due: usize, full_open: usize) -> Result<SweepFigures> {
    let full_n = open.min(full_open);
    let due = due.min(full_n);
    let full = full_sweep(emu, full_n, due).await?;
    let scale = if open > full_n {
        Some(read_at_scale(emu, open, due).await?)
    } else {
        None
    };
    Ok(SweepFigures { scale, full })
}

struct Prepared {
    table: String,
    services: Services,
    meter: Meter,
    now: DateTime<Utc>,
    seed_time: Duration,
}

/// A table with one real handoff driven to `notified` (the template) and `open` copies of it.
async fn prepare(emu: &Emu, section: &str, open: usize, due: usize) -> Result<Prepared> {
    let (table, prefix, _) = emu.provision(section).await?;
    let out = tempfile::tempdir()?;
    let meter = Meter::default();
    let now = business_hours();
    let clock = Arc::new(ManualClock::new(now));
    let services = emu
        .services(&table, &prefix, clock, Some(&meter), out.path())
        .await?;

    let trigger = Meter::default();
    let driver = emu.driver_queue(&prefix, &trigger).await?;
    let body = emu::form_event(&format!("bench-{section}-{}", emu.run_id()), 0, now);
    let router = handoff_api::intake_router(emu::app(
        Arc::new(services.clone()),
        Arc::new(handoff_aws::DynamoStore::new(emu.dynamo.clone(), &table)),
    ));
    let (status, receipt) = emu::call(router, &emu::agent_event(&body, now)).await?;
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
    Ok(Prepared {
        table,
        services,
        meter,
        now,
        seed_time: started.elapsed(),
    })
}

async fn full_sweep(emu: &Emu, open: usize, due: usize) -> Result<FullSweep> {
    let p = prepare(emu, "sweep", open, due).await?;
    let mut scheduled: EventBridgeEvent = serde_json::from_str(emu::SCHEDULED_EVENT)?;
    scheduled.time = Some(p.now);
    let before = p.meter.snapshot();
    let started = Instant::now();
    let report = handoff_lambda::schedule::sweep(&p.services, &scheduled, None).await?;
    let sweep_time = started.elapsed();
    let calls = p.meter.snapshot().since(&before);
    // A failed failover leaves its handoff due: retry those once, only to say why they failed.
    let mut retried = Vec::new();
    if report.failed > 0 {
        let page = p
            .services
            .store
            .due(p.now, report.failed + 10, None)
            .await?;
        for due in page.items.iter().take(report.failed) {
            let outcome = p
                .services
                .fail_over(&due.id, RerouteReason::SlaMissed, None)
                .await;
            retried.push(format!("{}: {outcome:?}", due.id));
        }
    }
    drop_table(emu, &p.table).await;
    Ok(FullSweep {
        open,
        seed_time: p.seed_time,
        sweep_time,
        report,
        calls,
        retried,
    })
}

/// Reads the due index page by page exactly as `Services::sweep` does (same store call, same
/// page size), without failing anything over.
async fn read_at_scale(emu: &Emu, open: usize, due: usize) -> Result<ScaleRead> {
    let p = prepare(emu, "sweep-scale", open, due).await?;
    let started = Instant::now();
    let (mut found, mut items_read, mut pages) = (0, 0, 0);
    let mut cursor = None;
    loop {
        let page = p
            .services
            .store
            .due(p.now, handoff_lambda::schedule::SWEEP_PAGE, cursor)
            .await?;
        pages += 1;
        items_read += page.items_read;
        found += page.items.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let read_time = started.elapsed();
    drop_table(emu, &p.table).await;
    Ok(ScaleRead {
        open,
        seed_time: p.seed_time,
        read_time,
        due: found,
        items_read,
        pages,
    })
}

/// Frees the emulator's memory (best effort).
async fn drop_table(emu: &Emu, table: &str) {
    let _ = emu.dynamo.delete_table().table_name(table).send().await;
}

/// The `i`-th seeded handoff: its own id, contact and company; the first `due` ones a minute or
/// more past their deadline, the others due in an hour or more.
fn seeded(
    template: &HandoffRecord,
    i: usize,
    due: usize,
    now: DateTime<Utc>,
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
    now: DateTime<Utc>,
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
