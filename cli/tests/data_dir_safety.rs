//! A data directory handoff could not run on safely is refused at open, with the file named:
//! a weak claim-link key, a directory or store it cannot write, a damaged store, an empty store
//! beside a queue that holds data. Every file handoff writes there is private to its owner,
//! and `GET /healthz` answers from a write to the store.
//!
//! The tests that take write permission away (`chmod`) cannot work for root, who writes
//! anyway: run as root they print why and return.

use handoff_cli::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use handoff_domain::event::IntakeEvent;
use handoff_domain::ports::SystemClock;
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

async fn open(dir: &Path) -> anyhow::Result<LocalPipeline> {
    LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: dir.to_path_buf(),
        rules: RulesChoice::Embedded,
        clock: Arc::new(SystemClock),
        public_url: "http://127.0.0.1:1".into(),
        secrets: Arc::new(handoff_connectors::secrets::StaticSecrets::default()),
    })
    .await
}

/// The refusal of opening `dir`, as `handoff` prints it (every cause, outermost first).
async fn refusal(dir: &Path) -> String {
    match open(dir).await {
        Ok(_) => panic!("{} was opened, but should have been refused", dir.display()),
        Err(e) => format!("{e:#}"),
    }
}

/// A data directory opened once (store, queue and key created) and closed again.
async fn used_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()).await.unwrap());
    dir
}

/// Whether this process runs as root (who can write read-only files), from `id -u`.
fn running_as_root() -> bool {
    let out = std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Skips a permission test for root, saying why.
fn skip_as_root(test: &str) -> bool {
    let root = running_as_root();
    if root {
        eprintln!("{test}: skipped: running as root, who can write read-only files");
    }
    root
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_claim_key_is_64_hex_digits_private_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()).await.unwrap());
    let path = dir.path().join("claim-secret");
    let key = std::fs::read_to_string(&path).unwrap();
    assert_eq!(key.len(), 64, "32 bytes as hex");
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    drop(open(dir.path()).await.unwrap());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        key,
        "reused, not replaced"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_blank_or_short_claim_key_is_refused_with_the_file_named() {
    for (content, says) in [
        ("", "it is empty"),
        ("  \n\t\n", "it is empty"),
        ("secret\n", "4 bytes of key material"),
        (
            "3f9a1c0be47d25861fa0c3e9b7d4528e\n",
            "16 bytes of key material",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "different characters",
        ),
    ] {
        let dir = used_data_dir().await;
        let path = dir.path().join("claim-secret");
        std::fs::write(&path, content).unwrap();
        let message = refusal(dir.path()).await;
        assert!(
            message.contains(&path.display().to_string()),
            "{content:?}: {message}"
        );
        assert!(message.contains(says), "{content:?}: {message}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            content,
            "the file is left alone"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_your_own_is_used_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let key = "q8Zl0c3vN1xYbT7mJp2RkW9sHd4eGa6uVfC5nEoL+/M=";
    std::fs::write(dir.path().join("claim-secret"), format!("{key}\n")).unwrap();
    let pipeline = open(dir.path()).await.unwrap();
    let expected = handoff_domain::claim_link::ClaimSigner::new(key);
    let id = handoff_domain::ids::HandoffId::for_event(
        &handoff_domain::ids::SourceName::parse("web").unwrap(),
        &handoff_domain::ids::ProviderEventId::parse("own-key").unwrap(),
    );
    let rep = handoff_domain::ids::RepId::parse("lena").unwrap();
    let expires = chrono::Utc::now() + chrono::Duration::days(1);
    let link = pipeline.services.claims.sign(
        &id,
        &rep,
        handoff_domain::claim_link::ClaimAction::Accept,
        expires,
    );
    assert_eq!(expected.verify(&link, chrono::Utc::now()), Ok(()));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_file_is_private_to_its_owner() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let pipeline = open(&data).await.unwrap();
    let event: IntakeEvent = serde_json::from_str(include_str!(
        "../../examples/events/01-form-demo-request.json"
    ))
    .unwrap();
    let id = pipeline.services.intake(event).await.unwrap().handoff_id;
    pipeline.drain().await.unwrap();
    assert!(data.join("notifications.jsonl").exists());
    assert!(data.join(format!("notifications/{id}.txt")).exists());
    assert!(std::fs::read_dir(data.join("crm")).unwrap().count() > 0);
    let files = files_under(&data);
    for name in [
        "handoff.sqlite",
        "handoff.sqlite-wal",
        "queue.sqlite",
        "claim-secret",
    ] {
        assert!(
            files.contains(&data.join(name)),
            "{name} missing: {files:?}"
        );
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert_eq!(mode(&data), 0o700, "a new data directory");
    assert_eq!(mode(&data.join("crm")), 0o700);
    assert_eq!(mode(&data.join("notifications")), 0o700);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_an_earlier_version_left_readable_by_others_are_made_private() {
    let dir = used_data_dir().await;
    for name in ["handoff.sqlite", "queue.sqlite", "claim-secret"] {
        set_mode(&dir.path().join(name), 0o644);
    }
    drop(open(dir.path()).await.unwrap());
    for name in ["handoff.sqlite", "queue.sqlite", "claim-secret"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_directory_is_refused_at_open() {
    if skip_as_root("a_read_only_data_directory_is_refused_at_open") {
        return;
    }
    let dir = used_data_dir().await;
    set_mode(dir.path(), 0o555);
    let message = refusal(dir.path()).await;
    set_mode(dir.path(), 0o700);
    assert!(message.contains("is not writable"), "{message}");
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_store_file_is_refused_at_open() {
    if skip_as_root("a_read_only_store_file_is_refused_at_open") {
        return;
    }
    let dir = used_data_dir().await;
    let store = dir.path().join("handoff.sqlite");
    set_mode(&store, 0o400);
    let message = refusal(dir.path()).await;
    assert!(message.contains("is not writable"), "{message}");
    assert!(message.contains(&store.display().to_string()), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_garbage_bytes_is_refused_as_damaged() {
    let dir = used_data_dir().await;
    let store = dir.path().join("handoff.sqlite");
    std::fs::write(
        &store,
        b"this is not a SQLite database, just bytes ".repeat(200),
    )
    .unwrap();
    let message = refusal(dir.path()).await;
    assert!(message.contains("is damaged"), "{message}");
    assert!(message.contains(&store.display().to_string()), "{message}");
    assert!(
        message.contains("move the data directory away"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_a_damaged_page_is_refused_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let pipeline = open(dir.path()).await.unwrap();
        for i in 0..40 {
            let mut event: IntakeEvent = serde_json::from_str(include_str!(
                "../../examples/events/01-form-demo-request.json"
            ))
            .unwrap();
            event.provider_event_id =
                handoff_domain::ids::ProviderEventId::parse(format!("damage-{i}")).unwrap();
            event.kind.buyer_mut().email =
                handoff_domain::ids::EmailAddress::parse(format!("buyer-{i}@damaged-{i}.example"))
                    .unwrap();
            pipeline.services.intake(event).await.unwrap();
        }
    }
    // Closed cleanly: the WAL is checkpointed into the file. Overwrite everything after the
    // first page (the header stays valid, the tables and indexes do not).
    let store = dir.path().join("handoff.sqlite");
    let mut bytes = std::fs::read(&store).unwrap();
    assert!(bytes.len() > 3 * 4096, "the store holds several pages");
    for b in bytes.iter_mut().skip(4096) {
        *b = 0x5a;
    }
    std::fs::write(&store, &bytes).unwrap();
    let message = refusal(dir.path()).await;
    assert!(message.contains("is damaged"), "{message}");
    assert!(message.contains(&store.display().to_string()), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_beside_a_queue_with_data_is_refused_as_truncated() {
    let dir = used_data_dir().await;
    let store = dir.path().join("handoff.sqlite");
    std::fs::write(&store, b"").unwrap();
    let message = refusal(dir.path()).await;
    assert!(message.contains("looks truncated"), "{message}");
    assert!(message.contains(&store.display().to_string()), "{message}");
    assert!(message.contains("move the directory away"), "{message}");
    assert_eq!(std::fs::metadata(&store).unwrap().len(), 0, "left as found");

    let dir = used_data_dir().await;
    let queue = dir.path().join("queue.sqlite");
    std::fs::write(&queue, b"").unwrap();
    let message = refusal(dir.path()).await;
    assert!(
        message.contains(&format!("{} is empty", queue.display())),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_ok_after_a_write_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = open(dir.path()).await.unwrap();
    let router = handoff_api::local_router(pipeline.app.clone());
    for _ in 0..2 {
        let response = router
            .clone()
            .oneshot(
                axum::http::Request::get("/healthz")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"status": "ok"})
        );
    }
    // Each probe was a write: the probe counter moved twice.
    assert_eq!(
        pipeline
            .services
            .store
            .next_counter("health-probe")
            .await
            .unwrap(),
        3
    );
}
