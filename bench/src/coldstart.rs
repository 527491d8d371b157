//! Section 4, cold-start proxy: how long a release binary takes from `exec` until it asks the Lambda
//! Runtime API for its first invocation (`GET /2018-06-01/runtime/invocation/next`) on a local
//! listener standing in for the Runtime API. Everything a function does before serving — reading
//! its environment, the SDK configuration (the queue URLs come from the environment, as in the
//! SAM template, so no `GetQueueUrl`), preparing its output directory — falls inside; the listener never
//! answers, and the process is killed once the request arrived. `hello-lambda` (same runtime, no
//! setup) is the baseline.

use crate::stats::Summary;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one start may take before the run is abandoned.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";

/// The environment a function sees (besides the Runtime API address).
pub struct FunctionEnv {
    pub endpoint: String,
    pub table: String,
    pub queue_prefix: String,
    /// `HANDOFF_<STAGE>_QUEUE_URL` / `_DLQ_URL` variables, as the SAM template sets them.
    pub queue_urls: Vec<(String, String)>,
}

/// Median start of each binary over `runs` (interleaved: one start of each binary per round).
pub fn run(
    bin_dir: &Path,
    bins: &[&str],
    runs: usize,
    env: &FunctionEnv,
) -> Result<Vec<(String, Summary)>> {
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); bins.len()];
    for _ in 0..runs {
        for (i, bin) in bins.iter().enumerate() {
            samples[i].push(start_once(&bin_dir.join(bin), bin, env)?);
        }
    }
    Ok(bins
        .iter()
        .zip(samples)
        .map(|(b, s)| (b.to_string(), Summary::of(s)))
        .collect())
}

fn start_once(path: &Path, name: &str, env: &FunctionEnv) -> Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let api = listener.local_addr()?.to_string();
    let log = tempfile::NamedTempFile::new()?;
    let mut cmd = Command::new(path);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("handoff-{name}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/24/[1]bench")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/handoff-{name}"),
        )
        .env("HANDOFF_TABLE", &env.table)
        .env("HANDOFF_QUEUE_PREFIX", &env.queue_prefix)
        .envs(env.queue_urls.iter().map(|(k, v)| (k, v)))
        .env("HANDOFF_CLAIM_SECRET", crate::emu::CLAIM_SECRET)
        .env("AWS_ENDPOINT_URL", &env.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .stdout(log.reopen()?)
        .stderr(log.reopen()?);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", path.display()))?;
    let result = wait_for_next(&listener, started, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    result.map_err(|e| {
        let mut out = String::new();
        let _ = std::fs::File::open(log.path()).and_then(|mut f| f.read_to_string(&mut out));
        let tail: Vec<&str> = out.lines().rev().take(10).collect();
        e.context(format!(
            "{name} never asked for an invocation; its last output:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ))
    })
}

/// Accepts the runtime's connection and reads until the first request line is complete.
fn wait_for_next(
    listener: &TcpListener,
    started: Instant,
    child: &mut std::process::Child,
) -> Result<Duration> {
    let mut stream: TcpStream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait()? {
                    bail!("it exited with {status}");
                }
                if started.elapsed() > START_TIMEOUT {
                    bail!("no connection within {START_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(e) => return Err(e.into()),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(START_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            bail!("the connection closed before a request line");
        }
        head.extend_from_slice(&buf[..n]);
    }
    let took = started.elapsed();
    let line = String::from_utf8_lossy(&head);
    if !line.starts_with(NEXT) {
        bail!(
            "its first request was {:?}",
            line.lines().next().unwrap_or_default()
        );
    }
    Ok(took)
}
