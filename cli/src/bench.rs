//! `handoff bench`: throughput of the whole local pipeline (intake → classify → assign → CRM →
//! notify) on the embedded default, printed as figures. Nothing is asserted.

use crate::demo::demo_events;
use crate::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use anyhow::Result;
use handoff_domain::ids::ProviderEventId;
use handoff_domain::ports::{Stage, SystemClock};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

/// Runs `events` events through the pipeline and reports the throughput.
pub async fn run(events: usize) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("handoff-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pipeline = LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: dir.clone(),
        rules: RulesChoice::Embedded,
        clock: Arc::new(SystemClock),
        public_url: "http://127.0.0.1:8080".into(),
        secrets: Arc::new(handoff_connectors::secrets::StaticSecrets::default()),
    })
    .await?;
    let templates = demo_events()?;
    let now = chrono::Utc::now();
    let batch: Vec<_> = (0..events)
        .map(|i| {
            let mut e = templates[i % templates.len()].1.clone();
            e.provider_event_id = ProviderEventId::parse(format!("bench-{i}")).expect("valid id");
            e.received_at = now;
            // A distinct buyer per event, as in real traffic (the templates repeat 13 buyers).
            let buyer = e.kind.buyer_mut();
            buyer.email = handoff_domain::ids::EmailAddress::parse(format!("b{i}.{}", buyer.email))
                .expect("valid email");
            e
        })
        .collect();
    let t0 = Instant::now();
    for e in batch {
        pipeline.services.intake(e).await?;
    }
    let intake = t0.elapsed();
    let t1 = Instant::now();
    let mut classified = 0;
    while pipeline.process_stage(Stage::Classify, 10).await? > 0 {
        classified += 1;
    }
    let classify = t1.elapsed();
    let t2 = Instant::now();
    let processed = pipeline.drain().await?;
    let assign = t2.elapsed();
    let total = t0.elapsed();
    let rate = |d: std::time::Duration| events as f64 / d.as_secs_f64();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "local pipeline bench (SQLite store + queue, file CRM, log notifier), {events} events"
    );
    let _ = writeln!(
        s,
        "  intake (durable write + enqueue): {:>8.1} events/s  ({:.2} ms/event)",
        rate(intake),
        intake.as_secs_f64() * 1000.0 / events as f64
    );
    let _ = writeln!(
        s,
        "  classify stage ({classified} batches):    {:>8.1} events/s",
        rate(classify)
    );
    let _ = writeln!(
        s,
        "  assign → CRM → notify ({processed} msgs): {:>8.1} events/s",
        rate(assign)
    );
    let _ = writeln!(
        s,
        "  end to end, all stages:           {:>8.1} events/s  ({:.2} s total)",
        rate(total),
        total.as_secs_f64()
    );
    drop(pipeline);
    let _ = std::fs::remove_dir_all(&dir);
    s.push_str(&provider_edge());
    Ok(s)
}

/// Requests verified and parsed per provider payload (the CPU a provider request costs before
/// any I/O), over the providers' documented samples.
fn provider_edge() -> String {
    use handoff_connectors::{registry, samples, RawRequest, Secrets};
    const ROUNDS: u32 = 2_000;
    let mut s = String::from(
        "provider edge (verify over the raw bytes + parse into canonical events), per request:\n",
    );
    let now = chrono::Utc::now();
    let secret = "bench:provider-secret";
    let secrets = Secrets::parse(secret).expect("a secret");
    for sample in samples::documented() {
        let provider = registry::by_name(sample.provider).expect("registered provider");
        let mut request = RawRequest::post(
            format!(
                "https://bench.lambda-url.us-east-1.on.aws{}",
                provider.path()
            ),
            &[("content-type", sample.content_type)],
            sample.body,
        );
        provider.sign(&mut request, secret, now);
        let t = Instant::now();
        for _ in 0..ROUNDS {
            let verified = provider.verify(&request, &secrets, now);
            let parsed = provider.parse(&request, now);
            std::hint::black_box((verified.is_ok(), parsed.is_ok()));
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
        let _ = writeln!(
            s,
            "  {:<10} {:<64} {:>7.1} µs  ({} bytes)",
            sample.provider,
            sample.file,
            per,
            request.body.len()
        );
    }
    s
}
