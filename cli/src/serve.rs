//! `handoff serve`: HTTP intake and claims on 127.0.0.1, a worker per stage, the failover sweep
//! on a timer — all on the embedded default.

use crate::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use anyhow::{Context, Result};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use handoff_domain::ports::{Clock, ManualClock, SystemClock};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
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
}

#[derive(Deserialize)]
struct ClockMove {
    #[serde(default)]
    now: Option<DateTime<Utc>>,
    #[serde(default)]
    advance_minutes: Option<i64>,
}

/// Runs until Ctrl-C.
pub async fn run(opts: ServeOptions) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", opts.port))?;
    let addr = listener.local_addr()?;
    let manual = opts.test_clock.map(|t| Arc::new(ManualClock::new(t)));
    let clock: Arc<dyn Clock> = match &manual {
        Some(m) => m.clone(),
        None => Arc::new(SystemClock),
    };
    let pipeline = Arc::new(
        LocalPipeline::open(LocalOptions {
            http_policy: Default::default(),
            data_dir: opts.data_dir.clone(),
            rules: opts.rules,
            clock,
            public_url: format!("http://{addr}"),
            secrets: Arc::new(handoff_connectors::secrets::EnvSecrets),
        })
        .await?,
    );
    let mut app = handoff_api::local_router(pipeline.app.clone());
    if let Some(manual) = manual {
        app = app.merge(test_routes(manual, pipeline.clone()));
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = pipeline.spawn_workers(opts.sweep_every, stop_rx);
    println!(
        "handoff listening on http://{addr} (data in {})",
        opts.data_dir.display()
    );
    eprintln!("{}", signing_help(&addr.to_string()));
    tracing::info!(%addr, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    Ok(())
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
                |State((clock, _)): State<(Arc<ManualClock>, Arc<LocalPipeline>)>,
                 Json(m): Json<ClockMove>| async move {
                    if let Some(t) = m.now {
                        clock.set(t);
                    }
                    if let Some(min) = m.advance_minutes {
                        clock.advance(chrono::Duration::minutes(min));
                    }
                    Json(json!({"now": clock.now()}))
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
