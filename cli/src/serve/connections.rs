//! How `handoff serve` holds its HTTP connections: hyper's HTTP/1 server driven directly (what
//! `axum::serve` cannot be told), so that
//!
//! - at most [`ConnectionLimits::max_connections`] connections are open at once: the accept loop
//!   takes a slot before it accepts, so further clients wait in the kernel's listen backlog
//!   instead of costing this process a file descriptor each; the cap is also lowered to fit the
//!   process's descriptor limit (`ulimit -n`), keeping [`RESERVED_DESCRIPTORS`] for the store,
//!   queues, logs and outbound calls;
//! - a client must send a request's headers within [`ConnectionLimits::header_timeout`] of the
//!   server starting to wait for them — on a new connection and between requests on a kept-alive
//!   one alike (hyper runs the same timer for both), so a half-sent header or an idle keep-alive
//!   connection holds its slot for at most that long;
//! - on shutdown the listener closes, idle connections close at once, requests in flight get
//!   [`ConnectionLimits::shutdown_grace`] to finish, and whatever is still open then is cut (and
//!   counted in the log).

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// Descriptors kept free for everything but client connections when the cap is fitted to the
/// process's limit.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// How long the accept loop waits after a failed accept (out of descriptors, say) before it tries
/// again, rather than spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The server's connection limits (`handoff serve --max-connections`, `--header-timeout`,
/// `--shutdown-grace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How the connections ended at shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown {
    /// Connections open when shutdown began.
    pub open: usize,
    /// Of those, the ones still open when the grace period ended, and cut.
    pub cut: usize,
}

/// The connection cap for `requested` under a descriptor limit of `soft_limit` (`None`: unknown
/// or unlimited): `requested`, lowered when fewer than `requested` + [`RESERVED_DESCRIPTORS`]
/// descriptors are allowed; at least 1.
pub fn fit_to_descriptor_limit(requested: usize, soft_limit: Option<u64>) -> usize {
    let Some(limit) = soft_limit else {
        return requested.max(1);
    };
    let available = if limit > 2 * RESERVED_DESCRIPTORS {
        limit - RESERVED_DESCRIPTORS
    } else {
        limit / 2
    };
    requested
        .min(usize::try_from(available).unwrap_or(usize::MAX))
        .max(1)
}

/// This process's soft limit on open files, where the system tells (Linux: `/proc/self/limits`).
pub fn descriptor_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

/// The soft "Max open files" figure of a `/proc/<pid>/limits` text (`None` when unlimited).
pub fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then drains the
/// connections as the module docs say.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> Shutdown {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let service = TowerToHyperService::new(router);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection; trying again shortly");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let connection = builder.serve_connection(TokioIo::new(stream), service.clone());
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    let _ = stop_tx.send(());
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    let cut = if drained.is_ok() {
        0
    } else {
        connections.len()
    };
    connections.shutdown().await;
    Shutdown { open, cut }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_descriptor_limit() {
        // (requested, soft limit, cap)
        let cases = [
            (256, None, 256),
            (256, Some(1_048_576), 256),
            (256, Some(1024), 256),
            (256, Some(320), 256),
            (256, Some(319), 255),
            (256, Some(256), 192),
            (256, Some(100), 50),
            (256, Some(1), 1),
            (0, None, 1),
            (10, Some(256), 10),
        ];
        for (requested, limit, cap) in cases {
            assert_eq!(
                fit_to_descriptor_limit(requested, limit),
                cap,
                "{requested} under {limit:?}"
            );
        }
    }

    #[test]
    fn the_open_files_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            256                  524288               files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(256));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited), None);
        assert_eq!(parse_open_files_limit(""), None);
    }
}
