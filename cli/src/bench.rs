//! `handoff bench`: throughput of the whole local pipeline (intake → classify → assign → CRM →
//! notify) on the embedded default, printed as figures. Nothing is asserted.

use crate::demo::demo_events;
use crate::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use anyhow::Result;
use handoff_domain::ids::ProviderEventId;
use handoff_domain::ports::SystemClock;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

/// Runs `events` events through the pipeline and reports the throughput.
pub async fn run(events: usize) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("handoff-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pipeline = LocalPipeline::open(LocalOptions {
        data_dir: dir.clone(),
        rules: RulesChoice::Embedded,
        clock: Arc::new(SystemClock),
        public_url: "http://127.0.0.1:8080".into(),
    })
    .await?;
    let templates = demo_events()?;
    let now = chrono::Utc::now();
    let batch: Vec<_> = (0..events)
        .map(|i| {
            let mut e = templates[i % templates.len()].1.clone();
            e.provider_event_id = ProviderEventId::parse(format!("bench-{i}")).expect("valid id");
            e.received_at = now;
            e
        })
        .collect();
    let t0 = Instant::now();
    for e in batch {
        pipeline.services.intake(e).await?;
    }
    let intake = t0.elapsed();
    let t1 = Instant::now();
    let processed = pipeline.drain().await?;
    let stages = t1.elapsed();
    let total = t0.elapsed();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "local pipeline bench (SQLite store + queue, file CRM, log notifier), {events} events"
    );
    let _ = writeln!(
        s,
        "  intake (durable write + enqueue): {:>8.1} events/s  ({:.2} ms/event)",
        events as f64 / intake.as_secs_f64(),
        intake.as_secs_f64() * 1000.0 / events as f64
    );
    let _ = writeln!(
        s,
        "  stages ({processed} stage messages):   {:>8.1} events/s",
        events as f64 / stages.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "  end to end, all stages:           {:>8.1} events/s  ({:.2} s total)",
        events as f64 / total.as_secs_f64(),
        total.as_secs_f64()
    );
    drop(pipeline);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(s)
}
