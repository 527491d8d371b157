//! `cargo bench -p handoff-cli`: local pipeline throughput (figures only, nothing asserted).

fn main() {
    let events = std::env::var("HANDOFF_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(handoff_cli::bench::run(events)) {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            std::process::exit(1);
        }
    }
}
