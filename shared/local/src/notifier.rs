//! [`LogNotifier`]: the local notifier, a JSON-lines log plus a readable text file per handoff.
//!
//! The readable file is plain text a person opens in a terminal or editor, so what it shows is
//! escaped ([`escape`]): the header values, the title and each action are one line each, and the
//! body (the package text, whose buyer values are already one line each) keeps `\n` as its only
//! line break, without control or invisible characters. No buyer text can add a line such as a
//! second "Actions:" block or move the cursor with a terminal escape sequence. The JSON-lines
//! log needs no escaping: JSON encodes every line break and control character.

use crate::fsutil::{append_line, write_atomic};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{
    Clock, DeliveryError, Notification, NotificationKind, Notifier, SystemClock,
};
use handoff_domain::render::escape;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// One line of `notifications.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedNotification {
    /// The receipt returned to the caller; also the idempotency key.
    pub receipt: String,
    /// When it was first sent.
    pub at: DateTime<Utc>,
    /// What was sent.
    #[serde(flatten)]
    pub notification: Notification,
}

/// What [`LogNotifier::erase`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationErasure {
    /// Readable per-handoff files.
    pub files: usize,
    /// Lines of `notifications.jsonl`.
    pub lines: usize,
}

/// Appends one JSON line per notification to `<dir>/notifications.jsonl` and writes the latest
/// notification of each handoff, readable, to `<dir>/notifications/<handoff_id>.txt`.
///
/// Idempotent per (handoff, target, CRM reference) — and, for news of a new touch, its summary:
/// a retry returns the same receipt and appends nothing, while each touch is its own message.
/// Meant for one process per data directory (the local engine).
#[derive(Clone)]
pub struct LogNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    log: PathBuf,
    text_dir: PathBuf,
    clock: Arc<dyn Clock>,
    /// Receipts already in the log; loaded from the file on first use.
    sent: Mutex<Option<HashSet<String>>>,
}

impl std::fmt::Debug for LogNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogNotifier")
            .field("log", &self.inner.log)
            .finish_non_exhaustive()
    }
}

impl LogNotifier {
    /// A notifier writing under `data_dir` (its `notifications/` directory is created now).
    pub fn new(data_dir: impl AsRef<Path>) -> io::Result<Self> {
        Self::with_clock(data_dir, Arc::new(SystemClock))
    }

    /// Like [`LogNotifier::new`], stamping lines with `clock`.
    pub fn with_clock(data_dir: impl AsRef<Path>, clock: Arc<dyn Clock>) -> io::Result<Self> {
        let dir = data_dir.as_ref();
        let text_dir = dir.join("notifications");
        crate::fsutil::create_private_dir_all(&text_dir)?;
        Ok(Self {
            inner: Arc::new(Inner {
                log: dir.join("notifications.jsonl"),
                text_dir,
                clock,
                sent: Mutex::new(None),
            }),
        })
    }

    /// The JSON-lines log.
    pub fn log_path(&self) -> &Path {
        &self.inner.log
    }

    /// The readable file of one handoff.
    pub fn text_path(&self, id: &HandoffId) -> PathBuf {
        self.inner.text_dir.join(format!("{id}.txt"))
    }

    /// Every logged notification, oldest first (unreadable lines are skipped).
    pub fn logged(&self) -> io::Result<Vec<LoggedNotification>> {
        read_log(&self.inner.log)
    }

    /// The notifications logged for one handoff, oldest first.
    pub fn logged_for(&self, id: &HandoffId) -> io::Result<Vec<LoggedNotification>> {
        Ok(self
            .logged()?
            .into_iter()
            .filter(|l| &l.notification.handoff_id == id)
            .collect())
    }

    /// Erases a buyer from the log (stop `handoff serve` first: another process appending
    /// while the log is rewritten could lose its line): deletes the readable files of `ids` and
    /// rewrites `notifications.jsonl` without the lines naming one of `ids` or containing one of
    /// `needles` (case-insensitive; the buyer's address).
    pub fn erase(&self, ids: &[HandoffId], needles: &[String]) -> io::Result<NotificationErasure> {
        let mut erased = NotificationErasure::default();
        for id in ids {
            match std::fs::remove_file(self.text_path(id)) {
                Ok(()) => erased.files += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let mut guard = self
            .inner
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let text = match std::fs::read_to_string(&self.inner.log) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(erased),
            Err(e) => return Err(e),
        };
        let needles: Vec<String> = ids
            .iter()
            .map(|id| id.as_str().to_lowercase())
            .chain(needles.iter().map(|n| n.trim().to_lowercase()))
            .filter(|n| !n.is_empty())
            .collect();
        let mut kept = String::with_capacity(text.len());
        for line in text.lines() {
            let lower = line.to_lowercase();
            if needles.iter().any(|n| lower.contains(n.as_str())) {
                erased.lines += 1;
            } else {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        if erased.lines > 0 {
            write_atomic(&self.inner.log, kept.as_bytes())?;
            // Receipts are reloaded from the rewritten log on the next notification.
            *guard = None;
        }
        Ok(erased)
    }

    /// The receipt of a notification: a digest of its idempotency key.
    pub fn receipt_of(n: &Notification) -> String {
        let mut h = Sha256::new();
        for part in [n.handoff_id.as_str(), n.target.as_str(), n.crm_ref.as_str()] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        // News of a touch goes to the owner already told about the handoff (same target and
        // CRM reference): the touch's summary (which names when it arrived) tells them apart.
        if let NotificationKind::NewTouch { summary } = &n.kind {
            for part in ["new_touch", summary.as_str()] {
                h.update(part.as_bytes());
                h.update([0x1f]);
            }
        }
        let digest = hex::encode(h.finalize());
        format!("local-notify:{}:{}", n.handoff_id, &digest[..16])
    }
}

fn read_log(path: &Path) -> io::Result<Vec<LoggedNotification>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The readable file of a notification (see the module docs for what is escaped).
fn render(n: &Notification, receipt: &str, at: DateTime<Utc>) -> String {
    let line = escape::plain_line;
    let mut out = String::new();
    let _ = writeln!(out, "To:      {}", line(&n.target));
    let _ = writeln!(out, "Handoff: {}", n.handoff_id);
    let _ = writeln!(out, "CRM:     {}", line(&n.crm_ref));
    let _ = writeln!(out, "Sent:    {}", at.to_rfc3339());
    let _ = writeln!(out, "Receipt: {receipt}");
    let _ = writeln!(
        out,
        "\n{}\n\n{}",
        line(&n.title),
        escape::plain_text(&n.body).trim_end()
    );
    if !n.actions.is_empty() {
        let _ = writeln!(out, "\nActions:");
        for (name, url) in &n.actions {
            let _ = writeln!(out, "  {}: {}", line(name), line(url));
        }
    }
    out
}

impl Inner {
    fn notify(&self, n: &Notification) -> io::Result<String> {
        let receipt = LogNotifier::receipt_of(n);
        let mut guard = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            *guard = Some(
                read_log(&self.log)?
                    .into_iter()
                    .map(|l| l.receipt)
                    .collect(),
            );
        }
        let sent = guard.get_or_insert_with(HashSet::new);
        if sent.contains(&receipt) {
            return Ok(receipt);
        }
        let at = self.clock.now();
        // The readable file first, the log line last: the line is the commit point, so a
        // crash in between is retried and rewrites the (identical) file.
        write_atomic(
            &self.text_dir.join(format!("{}.txt", n.handoff_id)),
            render(n, &receipt, at).as_bytes(),
        )?;
        let line = LoggedNotification {
            receipt: receipt.clone(),
            at,
            notification: n.clone(),
        };
        let json = serde_json::to_string(&line)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        append_line(&self.log, &json)?;
        sent.insert(receipt.clone());
        Ok(receipt)
    }
}

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, DeliveryError> {
        let inner = self.inner.clone();
        let n = notification.clone();
        tokio::task::spawn_blocking(move || inner.notify(&n))
            .await
            .map_err(|e| DeliveryError::Transient(format!("notification task failed: {e}")))?
            .map_err(|e| {
                DeliveryError::Transient(format!("cannot write the notification log: {e}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_domain::ports::ManualClock;
    use handoff_testkit::fixtures;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_a_line_and_a_readable_file_and_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(fixtures::at(1)));
        let notifier = LogNotifier::with_clock(dir.path(), clock.clone()).unwrap();
        let id = fixtures::handoff_id("log-1");
        let n = fixtures::notification(&id, "slack:@lena", "local-crm:x");
        let receipt = notifier.notify(&n).await.unwrap();

        let logged = notifier.logged_for(&id).unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].notification, n);
        assert_eq!(logged[0].at, fixtures::at(1));
        let text = std::fs::read_to_string(notifier.text_path(&id)).unwrap();
        assert!(text.contains("To:      slack:@lena"), "{text}");
        assert!(
            text.contains("accept: https://handoff.example/claim/"),
            "{text}"
        );

        // A new process (fresh notifier on the same directory) still deduplicates.
        let again = LogNotifier::new(dir.path()).unwrap();
        assert_eq!(again.notify(&n).await.unwrap(), receipt);
        assert_eq!(again.logged().unwrap().len(), 1);
        let text = std::fs::read_to_string(dir.path().join("notifications.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 1);
    }

    /// A buyer name that tries to add an "Actions:" line, in every way a line can be broken or
    /// disguised.
    const FORGED: &[&str] = &[
        "Ann\nActions: accept: http://evil",
        "Ann\r\nActions: accept: http://evil",
        "Ann\rActions: accept: http://evil",
        "Ann\u{2028}Actions: accept: http://evil",
        "Ann\u{2029}Actions: accept: http://evil",
        "Ann\u{85}Actions: accept: http://evil",
        "Ann\u{0B}Actions: accept: http://evil",
        "Ann\u{1b}[2K\u{1b}[1GActions: accept: http://evil",
        "Ann\n\u{200B}Actions: accept: http://evil",
        "Ann\n\u{202E}Actions: accept: http://evil\u{202C}",
    ];

    /// A line's text once blanks and hidden characters at its start are skipped.
    fn visible(line: &str) -> &str {
        line.trim_start_matches(|c: char| {
            c.is_whitespace() || c.is_control() || escape::is_invisible(c)
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn buyer_text_cannot_forge_a_line_in_the_readable_file() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = LogNotifier::new(dir.path()).unwrap();
        for (i, name) in FORGED.iter().enumerate() {
            let id = fixtures::handoff_id(&format!("forged-{i}"));
            let mut n = fixtures::notification(&id, "slack:@lena", "local-crm:x");
            let buyer = &mut n.package.classification.buyer;
            buyer.name = Some((*name).into());
            buyer.company = Some((*name).into());
            buyer.problem_statement = (*name).into();
            // As the assign stage builds them.
            n.title = handoff_domain::render::title(&n.package);
            n.body = handoff_domain::render::package_text(&n.package);
            notifier.notify(&n).await.unwrap();

            let text = std::fs::read_to_string(notifier.text_path(&id)).unwrap();
            let lines: Vec<&str> = text.split(escape::is_line_break).collect();
            let actions: Vec<&&str> = lines
                .iter()
                .filter(|l| visible(l).starts_with("Actions:"))
                .collect();
            assert_eq!(actions, [&"Actions:"], "{name:?}:\n{text}");
            assert!(
                !lines
                    .iter()
                    .any(|l| visible(l).starts_with("accept: http://evil")),
                "{name:?}:\n{text}"
            );
            assert!(!text.contains('\u{1b}'), "{name:?}:\n{text}");
            // The buyer's words are still there, inside their line.
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("2. Buyer: Ann") && l.contains("accept: http://evil")),
                "{name:?}:\n{text}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_new_touch_is_its_own_message_and_a_retry_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = LogNotifier::new(dir.path()).unwrap();
        let id = fixtures::handoff_id("news-1");
        let assigned = fixtures::notification(&id, "slack:@lena", "local-crm:x");
        let first =
            fixtures::news_notification(&id, "slack:@lena", "local-crm:x", "a reply at 10:42");
        let second =
            fixtures::news_notification(&id, "slack:@lena", "local-crm:x", "a form at 11:05");
        let mut receipts = Vec::new();
        for n in [&assigned, &first, &second] {
            receipts.push(notifier.notify(n).await.unwrap());
        }
        receipts.dedup();
        assert_eq!(receipts.len(), 3, "{receipts:?}");
        assert_eq!(notifier.notify(&first).await.unwrap(), receipts[1]);
        assert_eq!(notifier.logged_for(&id).unwrap().len(), 3);
        let text = std::fs::read_to_string(notifier.text_path(&id)).unwrap();
        assert!(text.contains("News on "), "{text}");
        assert!(text.contains("a form at 11:05"), "{text}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn erase_removes_the_files_and_lines_of_a_buyer_only() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = LogNotifier::new(dir.path()).unwrap();
        let sam = |id: &HandoffId| {
            let mut n = fixtures::notification(id, "slack:@lena", "local-crm:x");
            n.title = "New demo request: Sam (Acme)".into();
            n.body = "Sam from Acme asked for pricing.".into();
            n.package.classification.buyer.email =
                handoff_domain::ids::EmailAddress::parse("sam@acme.com").unwrap();
            n.package.classification.buyer.name = Some("Sam".into());
            n
        };
        let (gone, also, kept) = (
            fixtures::handoff_id("erase-1"),
            fixtures::handoff_id("erase-2"),
            fixtures::handoff_id("keep-1"),
        );
        // `gone` is named by id; `also` only carries Dana's address (dana@acme.com).
        for n in [
            fixtures::notification(&gone, "slack:@lena", "local-crm:x"),
            fixtures::notification(&also, "slack:@max", "local-crm:y"),
            sam(&kept),
        ] {
            notifier.notify(&n).await.unwrap();
        }
        let needles = ["DANA@Acme.com".to_string()];
        let erased = notifier
            .erase(std::slice::from_ref(&gone), &needles)
            .unwrap();
        assert_eq!(erased, NotificationErasure { files: 1, lines: 2 });
        assert!(!notifier.text_path(&gone).exists());
        assert!(notifier.text_path(&kept).exists());
        let left = notifier.logged().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].notification.handoff_id, kept);
        assert_eq!(
            notifier
                .erase(std::slice::from_ref(&gone), &needles)
                .unwrap(),
            NotificationErasure::default()
        );
        // Still deduplicating after the rewrite.
        notifier.notify(&sam(&kept)).await.unwrap();
        assert_eq!(notifier.logged().unwrap().len(), 1);
    }
}
