//! `handoff erase --email ADDRESS`: a GDPR/CCPA deletion request. Removes the buyer's
//! handoffs, timelines, index entries and outbound threads from the local store (`--data`) or a
//! deployed table (`--table`, feature `aws`) through `HandoffStore::erase_contact`, and says what
//! it removed.
//!
//! Locally it also removes the stage messages and dead letters naming an erased handoff or the
//! address, the file CRM's records and the notification log's files and lines. SQS cannot
//! delete selected messages: the report says how many dead letters may still name erased
//! handoffs (`--queue-prefix`) and when they expire. The CRM and the notification channels
//! are outside handoff: the report says so.
//!
//! The address is echoed to the operator on stdout and never logged.

use anyhow::{Context, Result};
use handoff_domain::ids::EmailAddress;
use handoff_domain::ports::HandoffStore;
use handoff_domain::privacy::Erasure;
use handoff_local::{FileCrm, LogNotifier, NotificationErasure, QueueErasure, SqliteQueue};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `handoff erase` is asked to do.
#[derive(Debug, Clone)]
pub struct EraseOptions {
    /// The buyer's address, as typed (validated here).
    pub email: String,
    /// The local data directory (used without `table`).
    pub data_dir: PathBuf,
    /// A deployed table (feature `aws`).
    pub table: Option<String>,
    /// AWS profile and region for `table`.
    pub profile: Option<String>,
    pub region: Option<String>,
    /// With `table`: the stage queues' name prefix, to count the dead letters left.
    pub queue_prefix: Option<String>,
}

/// What the local data directory held besides the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalExtras {
    pub queue: QueueErasure,
    pub crm_files: usize,
    pub notifications: NotificationErasure,
}

/// Parses the address, or says clearly why not.
pub fn parse_email(raw: &str) -> Result<EmailAddress> {
    EmailAddress::parse(raw).map_err(|e| anyhow::anyhow!("--email: not a valid address: {e}"))
}

/// Runs the erasure and returns the report for the operator.
pub async fn run(opts: EraseOptions) -> Result<String> {
    let email = parse_email(&opts.email)?;
    match &opts.table {
        Some(table) => erase_in_table(&email, table, &opts).await,
        None => {
            anyhow::ensure!(
                opts.profile.is_none() && opts.region.is_none() && opts.queue_prefix.is_none(),
                "--profile, --region and --queue-prefix apply to a deployed table: add --table"
            );
            let (store, extras) = erase_local(&email, &opts.data_dir).await?;
            let place = format!("the local store in {}", opts.data_dir.display());
            Ok(report(&email, &place, &store, &local_lines(&extras)))
        }
    }
}

/// Erases `email` from the data directory: the store, then the queues, the file CRM and the
/// notification log (stop `handoff serve` first, or a notification logged meanwhile may be
/// lost when the log is rewritten).
pub async fn erase_local(email: &EmailAddress, dir: &Path) -> Result<(Erasure, LocalExtras)> {
    let path = dir.join("handoff.sqlite");
    anyhow::ensure!(
        path.exists(),
        "no local store in {} (pass --data DIR, or --table for a deployed table)",
        dir.display()
    );
    let store = handoff_local::SqliteStore::open(&path).context("cannot open the local store")?;
    let erasure = store
        .erase_contact(email)
        .await
        .context("cannot erase from the local store")?;
    let ids = erasure.ids();
    let mut needles: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    needles.push(email.to_string());
    let mut extras = LocalExtras::default();
    let queue_path = dir.join("queue.sqlite");
    if queue_path.exists() {
        let queue = SqliteQueue::open(&queue_path, crate::runtime::MAX_RECEIVES)
            .context("cannot open the local queues")?;
        extras.queue = queue
            .erase_mentions(&needles)
            .await
            .context("cannot erase from the local queues")?;
    }
    if dir.join("crm").is_dir() {
        extras.crm_files = FileCrm::new(dir)
            .and_then(|crm| crm.erase(&ids))
            .context("cannot erase the local CRM files")?;
    }
    if dir.join("notifications").is_dir() || dir.join("notifications.jsonl").exists() {
        extras.notifications = LogNotifier::new(dir)
            .and_then(|log| log.erase(&ids, std::slice::from_ref(&email.to_string())))
            .context("cannot erase from the notification log")?;
    }
    Ok((erasure, extras))
}

fn local_lines(extras: &LocalExtras) -> Vec<String> {
    let mut lines = Vec::new();
    let q = extras.queue;
    if q.messages + q.dead_letters > 0 {
        lines.push(format!(
            "stage messages        {} waiting or in flight, {} dead letters",
            q.messages, q.dead_letters
        ));
    }
    if extras.crm_files > 0 {
        lines.push(format!("local CRM files       {}", extras.crm_files));
    }
    let n = extras.notifications;
    if n.files + n.lines > 0 {
        lines.push(format!(
            "notifications         {} files, {} log lines",
            n.files, n.lines
        ));
    }
    lines
}

/// The operator's report: what was removed (ids and counts), then `extra` lines, then what was
/// kept on purpose. Says plainly when nothing was found.
pub fn report(email: &EmailAddress, place: &str, erasure: &Erasure, extra: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "erase {email} from {place}");
    let nothing_else = extra.iter().all(|l| l.starts_with("note:"));
    if erasure.is_empty() && nothing_else {
        let _ = writeln!(
            out,
            "nothing to remove: no handoff, timeline entry, index entry or outbound thread holds \
             this address (already erased?)"
        );
    } else {
        let _ = writeln!(out, "removed {} handoff(s):", erasure.handoffs.len());
        for h in &erasure.handoffs {
            let _ = writeln!(
                out,
                "  {}  {}, created {}",
                h.id,
                h.state.as_str(),
                h.created_at.format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
        let _ = writeln!(out, "  timeline entries      {}", erasure.timeline_entries);
        let _ = writeln!(
            out,
            "  index entries         {} (contact, creation day, company domain; {} due)",
            erasure.index_entries, erasure.due_entries
        );
        let _ = writeln!(out, "  outbound thread keys  {}", erasure.thread_keys);
    }
    for line in extra {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(
        out,
        "kept: the account owner learned for the buyer's company domain (a company, not a \
         person) and rep load counts (no buyer data)"
    );
    out
}

#[cfg(feature = "aws")]
async fn erase_in_table(email: &EmailAddress, table: &str, opts: &EraseOptions) -> Result<String> {
    let sdk = crate::cloud_cmd::sdk_config(opts.profile.as_deref(), opts.region.as_deref()).await?;
    let store = handoff_aws::DynamoStore::new(handoff_aws::config::dynamodb_client(&sdk), table);
    let erasure = store
        .erase_contact(email)
        .await
        .with_context(|| format!("cannot erase from {table}"))?;
    let mut extra = vec![sqs_note(&sdk, opts.queue_prefix.as_deref(), &erasure).await?];
    extra.push(
        "note: the CRM (HubSpot, Salesforce) and the notification channels (Slack, mail) keep \
         what handoff sent them: erase the contact there too"
            .to_string(),
    );
    Ok(report(email, &format!("table {table}"), &erasure, &extra))
}

#[cfg(not(feature = "aws"))]
async fn erase_in_table(_: &EmailAddress, _: &str, _: &EraseOptions) -> Result<String> {
    anyhow::bail!("this build has no AWS support: add --features aws")
}

/// What the SQS queues may still hold (SQS cannot delete selected messages).
#[cfg(feature = "aws")]
async fn sqs_note(
    sdk: &handoff_aws::config::SdkConfig,
    prefix: Option<&str>,
    erasure: &Erasure,
) -> Result<String> {
    const WHY: &str = "SQS cannot delete selected messages; stage messages carry handoff ids, \
                       not the address, and dead letters expire 14 days after they were first sent";
    let Some(prefix) = prefix else {
        return Ok(format!(
            "note: the dead-letter queues may still hold messages naming erased handoffs (pass \
             --queue-prefix to count them); {WHY}"
        ));
    };
    let client = handoff_aws::config::sqs_client(sdk);
    let queues = handoff_aws::SqsQueue::connect(client.clone(), prefix, 1)
        .await
        .with_context(|| format!("cannot find the stage queues {prefix}-*"))?;
    let mut counts = Vec::new();
    let mut total = 0u64;
    for stage in handoff_domain::ports::Stage::ALL {
        let url = &queues.urls(stage).dead_letter;
        let out = client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names("ApproximateNumberOfMessages".into())
            .attribute_names("ApproximateNumberOfMessagesNotVisible".into())
            .send()
            .await
            .with_context(|| format!("cannot read the depth of {url}"))?;
        let n: u64 = out
            .attributes()
            .map(|a| a.values().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0);
        total += n;
        counts.push(format!(
            "{} {n}",
            handoff_aws::queue::dead_letter_queue_name(prefix, stage)
        ));
    }
    let ids = if erasure.handoffs.is_empty() {
        "handoffs erased earlier".to_string()
    } else {
        "the erased handoffs".to_string()
    };
    Ok(format!(
        "note: {total} message(s) in the dead-letter queues ({}) may still name {ids}; {WHY}",
        counts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_testkit::fixtures;

    #[test]
    fn malformed_addresses_are_refused_clearly() {
        for bad in ["", "dana", "dana@", "@acme.com", "da na@acme.com"] {
            let err = parse_email(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("--email: not a valid address"),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            parse_email(" Dana@Acme.COM ").unwrap().as_str(),
            "dana@acme.com"
        );
    }

    #[test]
    fn the_report_lists_ids_and_counts_or_says_nothing_was_found() {
        let email = fixtures::email("dana@acme.com");
        let (record, _) = fixtures::record("report-1");
        let mut erasure = Erasure::default();
        erasure.add_record(&record, 4);
        erasure.thread_keys = 2;
        let text = report(&email, "table t", &erasure, &["note: sqs".into()]);
        assert!(
            text.starts_with("erase dana@acme.com from table t\n"),
            "{text}"
        );
        assert!(text.contains("removed 1 handoff(s):"), "{text}");
        assert!(text.contains(&format!(
            "  {}  received, created 2030-01-07T09:00:00Z",
            record.id
        )));
        assert!(text.contains("timeline entries      4"), "{text}");
        // A received record still owes the classify stage, so the due index holds it too.
        assert!(
            text.contains("index entries         4 (contact, creation day, company domain; 1 due)"),
            "{text}"
        );
        assert!(text.contains("outbound thread keys  2"), "{text}");
        assert!(text.contains("  note: sqs"), "{text}");

        let none = report(
            &email,
            "table t",
            &Erasure::default(),
            &["note: sqs".into()],
        );
        assert!(none.contains("nothing to remove"), "{none}");
        assert!(!none.contains("removed"), "{none}");
        let only_files = report(
            &email,
            "x",
            &Erasure::default(),
            &local_lines(&LocalExtras {
                crm_files: 1,
                ..LocalExtras::default()
            }),
        );
        assert!(
            only_files.contains("local CRM files       1"),
            "{only_files}"
        );
        assert!(!only_files.contains("nothing to remove"), "{only_files}");
    }
}
