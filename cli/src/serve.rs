//! `handoff serve`: HTTP intake and claims on 127.0.0.1, a worker per stage, the failover sweep
//! on a timer — all on the embedded default — and the web console ([`console`]), which, like
//! `GET /v1/handoffs/{id}`, needs the token printed at start.
//!
//! With `--test-clock` the server's time is a manual clock, and the data directory's
//! [`TEST_CLOCK_FILE`] holds its current instant (written at start and on every move, removed at
//! a normal shutdown) so that `handoff rep …` on the same directory judges "now" and "until" by
//! the server's clock rather than the wall clock. A server started without `--test-clock`
//! removes a stale file (from a test server that was killed) before it serves.
//!
//! Connections are held within [`ConnectionLimits`] (a cap, a header-read timeout, a shutdown
//! grace period; see [`connections`]). Ctrl-C or SIGTERM stops accepting, lets requests in
//! flight finish within the grace period, cuts the rest, then stops the workers.

pub mod connections;
pub mod console;

pub use connections::ConnectionLimits;

use crate::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use anyhow::{Context, Result};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use handoff_domain::ports::{Clock, ManualClock, SystemClock};
use serde::Deserialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Options of `handoff serve`.
pub struct ServeOptions {
    pub rules: RulesChoice,
    pub data_dir: PathBuf,
    pub port: u16,
    pub sweep_every: Duration,
    /// Start a manual clock at this time and expose `/v1/test/*` to move it, sweep and purge
    /// (tests only).
    pub test_clock: Option<DateTime<Utc>>,
    /// Connection cap, header-read timeout and shutdown grace period.
    pub limits: ConnectionLimits,
}

/// Parses a duration given in seconds (`10`, `0.5`) for the `serve` flags; more than zero.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "{text} seconds is out of range (more than 0, at most a day)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[derive(Deserialize)]
struct ClockMove {
    #[serde(default)]
    now: Option<DateTime<Utc>>,
    #[serde(default)]
    advance_minutes: Option<i64>,
}

/// Runs until Ctrl-C or SIGTERM.
pub async fn run(opts: ServeOptions) -> Result<()> {
    // Listen for the signals before anything is announced, so a signal sent as soon as the
    // address is printed is a shutdown rather than the default kill.
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", opts.port))?;
    let addr = listener.local_addr()?;
    let manual = opts.test_clock.map(|t| Arc::new(ManualClock::new(t)));
    let clock: Arc<dyn Clock> = match &manual {
        Some(m) => m.clone(),
        None => Arc::new(SystemClock),
    };
    let rules_choice = opts.rules.clone();
    let pipeline = Arc::new(console::links::link_notifications(
        LocalPipeline::open(LocalOptions {
            http_policy: Default::default(),
            data_dir: opts.data_dir.clone(),
            rules: opts.rules,
            clock,
            public_url: format!("http://{addr}"),
            secrets: Arc::new(handoff_connectors::secrets::EnvSecrets),
        })
        .await?,
    ));
    let test_clock_file = match opts.test_clock {
        Some(start) => write_test_clock(&opts.data_dir, start),
        None => remove_test_clock(&opts.data_dir),
    };
    test_clock_file.with_context(|| {
        format!(
            "cannot update {}",
            opts.data_dir.join(TEST_CLOCK_FILE).display()
        )
    })?;
    let mut app = handoff_api::local_router(pipeline.app.clone());
    if let Some(manual) = &manual {
        app = handoff_api::json_errors(app.merge(test_routes(manual.clone(), pipeline.clone())));
    }
    let console_auth = console::ConsoleAuth::from_env(addr.port())?;
    let console_line = console_auth.startup_line(&format!("http://{addr}"));
    let app = console::mount(
        app,
        Arc::new(console::Console {
            services: pipeline.services.clone(),
            data_dir: opts.data_dir.clone(),
            rules: rules_choice,
            auth: console_auth,
        }),
    );
    let limits = ConnectionLimits {
        max_connections: connections::fit_to_descriptor_limit(
            opts.limits.max_connections,
            connections::descriptor_limit(),
        ),
        ..opts.limits
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = pipeline.spawn_workers(opts.sweep_every, stop_rx);
    crate::output::emit(&format!(
        "handoff listening on http://{addr} (data in {})\n",
        opts.data_dir.display()
    ))?;
    eprintln!("{}", signing_help(&addr.to_string()));
    eprintln!("{console_line}");
    eprintln!("{}", limits_line(&opts.limits, &limits));
    tracing::info!(%addr, "serving");
    let ended = connections::serve(listener, app, limits, shutdown).await;
    if ended.cut > 0 {
        tracing::warn!(
            cut = ended.cut,
            open = ended.open,
            "shutdown: {} of {} open connections were still busy after the {} s grace period and were cut",
            ended.cut,
            ended.open,
            limits.shutdown_grace.as_secs_f64()
        );
    } else {
        tracing::info!(
            open = ended.open,
            "shutdown: every open connection finished within the grace period"
        );
    }
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    if manual.is_some() {
        if let Err(e) = remove_test_clock(&opts.data_dir) {
            tracing::warn!(error = %e, "cannot remove the test clock file");
        }
    }
    Ok(())
}

/// What the server holds connections to, as a line for the operator; says so when the cap was
/// lowered to fit the descriptor limit.
fn limits_line(asked: &ConnectionLimits, applied: &ConnectionLimits) -> String {
    let mut line = format!(
        "at most {} connections at once; request headers must arrive within {} s; shutdown waits up to {} s for requests in flight",
        applied.max_connections,
        applied.header_timeout.as_secs_f64(),
        applied.shutdown_grace.as_secs_f64()
    );
    if applied.max_connections < asked.max_connections {
        line.push_str(&format!(
            " (lowered from {} to fit this process's open-file limit; raise it with ulimit -n)",
            asked.max_connections
        ));
    }
    line
}

/// Completes on the first Ctrl-C (SIGINT) or SIGTERM; the handlers are installed now.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("Ctrl-C: shutting down"),
                _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C: shutting down");
        })
    }
}

/// The file in a data directory holding the current time of the `--test-clock` server on it
/// (RFC 3339, one line).
pub const TEST_CLOCK_FILE: &str = "test-clock";

/// Serialises clock moves with their file writes, so the file never lags behind the clock.
static TEST_CLOCK_WRITES: Mutex<()> = Mutex::new(());

/// Replaces the test clock file atomically and owner-only, like every file in the data directory:
/// a reader sees the old instant or the new one, never a partial line.
pub fn write_test_clock(data_dir: &Path, now: DateTime<Utc>) -> std::io::Result<()> {
    let line = format!(
        "{}\n",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    handoff_local::fsutil::write_atomic(&data_dir.join(TEST_CLOCK_FILE), line.as_bytes())
}

/// Removes the test clock file; no file is fine.
pub fn remove_test_clock(data_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(data_dir.join(TEST_CLOCK_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The current time of the `--test-clock` server on `data_dir`, if its file is there.
pub fn read_test_clock(data_dir: &Path) -> Result<Option<DateTime<Utc>>> {
    let path = data_dir.join(TEST_CLOCK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let at = DateTime::parse_from_rfc3339(text.trim()).with_context(|| {
        format!(
            "{} does not hold an RFC 3339 time (remove it if no test server runs on {})",
            path.display(),
            data_dir.display()
        )
    })?;
    Ok(Some(at.with_timezone(&Utc)))
}

/// Which providers have a secret in the environment, and how to sign a request for local tests.
fn signing_help(addr: &str) -> String {
    let mut out =
        String::from("provider routes (each refuses requests without valid credentials):\n");
    for p in handoff_connectors::registry::all() {
        let variable = handoff_connectors::secrets::env_var(p.name());
        let state = if std::env::var(&variable).is_ok_and(|v| !v.trim().is_empty()) {
            "secret set"
        } else {
            "NO SECRET: refused with 401"
        };
        out.push_str(&format!(
            "  POST http://{addr}{:<20} {variable:<26} {state}\n",
            p.path()
        ));
    }
    out.push_str(&format!(
        "to try one: export HANDOFF_SECRET_TYPEFORM=… (before starting serve), then\n  handoff sign --provider typeform --url http://{addr}/forms/typeform payload.json | curl -sS -K -"
    ));
    out
}

/// `/v1/test/clock`, `/v1/test/sweep` and `/v1/test/purge` (expired handoffs at the test
/// clock's time), only with `--test-clock`.
fn test_routes(clock: Arc<ManualClock>, pipeline: Arc<LocalPipeline>) -> Router {
    Router::new()
        .route(
            "/v1/test/clock",
            post(
                |State((clock, pipeline)): State<(Arc<ManualClock>, Arc<LocalPipeline>)>,
                 Json(m): Json<ClockMove>| async move {
                    let _writing = TEST_CLOCK_WRITES.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(t) = m.now {
                        clock.set(t);
                    }
                    if let Some(min) = m.advance_minutes {
                        clock.advance(chrono::Duration::minutes(min));
                    }
                    let now = clock.now();
                    if let Err(e) = write_test_clock(&pipeline.data_dir, now) {
                        return (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            Json(json!({"error": "test_clock_file", "message": format!("the clock moved to {now} but its file could not be written: {e}")})),
                        );
                    }
                    (axum::http::StatusCode::OK, Json(json!({"now": now})))
                },
            ),
        )
        .route(
            "/v1/test/purge",
            post(
                |State((_, pipeline)): State<(Arc<ManualClock>, Arc<LocalPipeline>)>| async move {
                    match pipeline.purge_expired().await {
                        Ok(p) => (
                            axum::http::StatusCode::OK,
                            Json(json!({"handoffs": p.handoffs, "timeline_entries": p.timeline_entries})),
                        ),
                        Err(e) => (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            Json(json!({"error": "purge_failed", "message": format!("{e:#}")})),
                        ),
                    }
                },
            ),
        )
        .route(
            "/v1/test/sweep",
            post(
                |State((_, pipeline)): State<(Arc<ManualClock>, Arc<LocalPipeline>)>| async move {
                    match pipeline.services.sweep(100, 8).await {
                        Ok(r) => (axum::http::StatusCode::OK, Json(json!(r))),
                        Err(e) => (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            Json(json!({"error": "sweep_failed", "message": e.to_string()})),
                        ),
                    }
                },
            ),
        )
        .with_state((clock, pipeline))
}
