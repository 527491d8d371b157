//! The real `handoff serve` binary as a hostile or careless client meets it, over raw TCP: a
//! half-sent header and an idle keep-alive connection are disconnected after the header-read
//! timeout; connections over the cap wait (in the listen backlog) until one closes; Ctrl-C with
//! connections open exits within the grace period, cutting a request that never finishes; and
//! under a 256-descriptor limit, 300 half-open connections neither exhaust the descriptors nor
//! keep the server from answering.

#[path = "support/serve.rs"]
mod serve;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `handoff serve` with `flags`, under `sh -c 'ulimit -n N'` when `open_files` is set.
    fn start(flags: &[&str], open_files: Option<u32>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = env!("CARGO_BIN_EXE_handoff");
        let mut command = match open_files {
            Some(limit) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["serve", "--port", "0", "--sweep-every", "3600", "--data"])
            .arg(dir.path().join("data"))
            .args(flags)
            .env("HANDOFF_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn handoff serve");
        // Drain stderr all along, so a chatty server never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = BufReader::new(child.stderr.take().expect("stderr"));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while pipe.read_line(&mut line).is_ok_and(|n| n > 0) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let base = serve::listening_base(&mut child);
        let port = base
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {base:?}"));
        Self {
            child,
            port,
            stderr,
            _dir: dir,
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for stderr to contain `text` (the server logs asynchronously).
    fn wait_for_log(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let log = self.stderr();
            if log.contains(text) || start.elapsed() > Duration::from_secs(5) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT");
    }

    /// The exit status and how long after `since` it came, or `None` past `limit`.
    fn wait_exit(&mut self, since: Instant, limit: Duration) -> Option<(ExitStatus, Duration)> {
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some((status, since.elapsed()));
            }
            if since.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Sends `GET /healthz` and reads one whole response (kept alive), or fails the test.
fn healthz(stream: &mut TcpStream) {
    stream.write_all(HEALTHZ).expect("send a request");
    assert!(
        read_response(stream).starts_with("HTTP/1.1 200"),
        "healthz answers 200"
    );
}

/// Reads one response with a body of `content-length` bytes.
fn read_response(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            other => panic!(
                "the response ended early ({other:?}) after {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    let head = String::from_utf8_lossy(&seen).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("the response body");
    head + &String::from_utf8_lossy(&body)
}

/// Reads until the server closes the connection; how long that took.
fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return start.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return start.elapsed(),
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
}

#[test]
fn a_half_sent_header_and_an_idle_keep_alive_are_disconnected_after_the_header_timeout() {
    let server = Server::start(&["--header-timeout", "0.5"], None);

    let mut half = server.connect();
    half.write_all(b"POST /v1/claim HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .unwrap();
    let closed = time_until_closed(&mut half);
    assert!(
        closed >= Duration::from_millis(300) && closed < Duration::from_secs(5),
        "a half-sent header is cut after about 0.5 s, not {closed:?}"
    );

    let mut idle = server.connect();
    healthz(&mut idle);
    let closed = time_until_closed(&mut idle);
    assert!(
        closed >= Duration::from_millis(300) && closed < Duration::from_secs(5),
        "an idle keep-alive connection is closed after about 0.5 s, not {closed:?}"
    );

    // A client that sends its request in time is served as ever.
    let mut prompt = server.connect();
    healthz(&mut prompt);
    healthz(&mut prompt);
}

#[test]
fn connections_over_the_cap_wait_until_one_closes() {
    let server = Server::start(&["--max-connections", "2", "--header-timeout", "30"], None);
    assert!(
        server
            .wait_for_log("at most 2 connections")
            .contains("at most 2 connections"),
        "{}",
        server.stderr()
    );
    // Two kept-alive connections, each served once: both slots are taken.
    let mut first = server.connect();
    healthz(&mut first);
    let mut second = server.connect();
    healthz(&mut second);

    let mut third = server.connect();
    third.write_all(HEALTHZ).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut byte = [0u8; 1];
    match third.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a third connection over a cap of 2 must wait, got {other:?}"),
    }

    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let answer = read_response(&mut third);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "served once a slot is free"
    );
    healthz(&mut second);
}

#[test]
fn ctrl_c_with_an_idle_keep_alive_connection_exits_at_once() {
    let mut server = Server::start(&["--shutdown-grace", "30", "--header-timeout", "30"], None);
    let mut idle = server.connect();
    healthz(&mut idle);
    let sent = Instant::now();
    server.interrupt();
    let (status, took) = server
        .wait_exit(sent, Duration::from_secs(10))
        .expect("the server exits after Ctrl-C with an idle connection open");
    assert!(status.success(), "{status}: {}", server.stderr());
    assert!(
        took < Duration::from_secs(5),
        "an idle connection does not hold the shutdown: {took:?}"
    );
    assert!(time_until_closed(&mut idle) < Duration::from_secs(1));
    let log = server.wait_for_log("every open connection finished");
    assert!(log.contains("every open connection finished"), "{log}");
}

#[test]
fn ctrl_c_cuts_a_request_that_outlasts_the_grace_period() {
    let mut server = Server::start(&["--shutdown-grace", "1", "--header-timeout", "30"], None);
    let mut idle = server.connect();
    healthz(&mut idle);
    // A claim whose body never finishes arriving: in flight until the deadline.
    let mut stuck = server.connect();
    stuck
        .write_all(
            b"POST /v1/claim HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nrep=",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    server.interrupt();
    let (status, took) = server
        .wait_exit(sent, Duration::from_secs(10))
        .expect("the server exits once the grace period is over");
    assert!(status.success(), "{status}: {}", server.stderr());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "waits the 1 s grace period for the request in flight, then exits: {took:?}"
    );
    assert!(time_until_closed(&mut stuck) < Duration::from_secs(1));
    let log = server.wait_for_log("were cut");
    assert!(
        log.contains("1 of 2 open connections were still busy"),
        "the log counts what was cut: {log}"
    );
}

#[test]
fn half_open_connections_cannot_exhaust_a_256_descriptor_limit() {
    let server = Server::start(&["--header-timeout", "1"], Some(256));
    let log = server.wait_for_log("at most");
    assert!(
        log.contains("at most 192 connections") && log.contains("lowered from 256"),
        "the cap fits the open-file limit: {log}"
    );
    let half_open: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
            s
        })
        .collect();
    // Behind 300 stalled clients, a real one is served once the timeouts free the slots.
    let started = Instant::now();
    let mut client = server.connect();
    client
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    healthz(&mut client);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "served within a few header timeouts: {:?}",
        started.elapsed()
    );
    drop(half_open);
    let log = server.stderr();
    assert!(
        !log.contains("cannot accept") && !log.contains("Too many open files"),
        "no descriptor ran out: {log}"
    );
}
