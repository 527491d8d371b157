//! `handoff audit`: the audit of a period — the six metrics inbound and outbound, the
//! breakdowns, the trend against the period before, the messy cases — from a local data
//! directory or a deployed table (`--table`, feature `aws`), as JSON on stdout, or written as
//! `--json FILE` and an HTML page `--html FILE` rendered from the same report.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use handoff_cli::runtime::{LocalOptions, LocalPipeline, RulesChoice};
use handoff_domain::audit::gather::audit_report;
use handoff_domain::audit::AuditReport;
use handoff_domain::ports::SystemClock;
use handoff_report::audit::{audit_page, figure_text, AuditLinks};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `handoff audit` was asked for.
pub struct AuditOptions {
    /// How far back from now the audited period starts.
    pub since: Duration,
    pub data_dir: PathBuf,
    /// The rules of a local store (reps' names and caps, the routing rules' order).
    pub config: Option<PathBuf>,
    pub table: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub html: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// Where the page links handoffs to (`<URL>/handoffs/<id>`, the console of `handoff serve`).
    pub console_url: Option<String>,
}

/// Runs the command; returns what goes to stdout: the JSON when no file was asked for, else a
/// line naming the files written with the headline figures.
pub async fn run(opts: AuditOptions) -> Result<String> {
    let to = Utc::now();
    let from = to - opts.since;
    let report = match &opts.table {
        Some(table) => in_table(table, &opts, from, to).await?,
        None => {
            anyhow::ensure!(
                opts.profile.is_none() && opts.region.is_none(),
                "--profile and --region apply to a deployed table: add --table"
            );
            in_data_dir(&opts, from, to).await?
        }
    };
    let json = format!("{}\n", serde_json::to_string_pretty(&report)?);
    if opts.html.is_none() && opts.json.is_none() {
        return Ok(json);
    }
    let mut written = Vec::new();
    if let Some(path) = &opts.json {
        write(path, &json)?;
        written.push(path.display().to_string());
    }
    if let Some(path) = &opts.html {
        let links = AuditLinks {
            handoff_base: opts.console_url.clone(),
        };
        write(path, &audit_page(&report, &links))?;
        written.push(path.display().to_string());
    }
    Ok(format!(
        "wrote {}: {} handoffs, acceptance {} (inbound {}, outbound {}), median first action {}\n",
        written.join(" and "),
        report.handoffs,
        figure_text("acceptance_rate", report.overall.acceptance_rate),
        figure_text("acceptance_rate", report.inbound.acceptance_rate),
        figure_text("acceptance_rate", report.outbound.acceptance_rate),
        figure_text("p50", report.overall.time_to_first_human_action.p50),
    ))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

async fn in_data_dir(
    opts: &AuditOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<AuditReport> {
    anyhow::ensure!(
        opts.data_dir.join("handoff.sqlite").exists(),
        "no local store in {} (run `handoff serve` first, or pass --table for a deployed table)",
        opts.data_dir.display()
    );
    let pipeline = LocalPipeline::open(LocalOptions {
        http_policy: Default::default(),
        data_dir: opts.data_dir.clone(),
        rules: RulesChoice::from_arg(opts.config.clone()),
        clock: Arc::new(SystemClock),
        public_url: String::new(),
        secrets: Arc::new(handoff_connectors::secrets::EnvSecrets),
    })
    .await?;
    let services = &pipeline.services;
    let rules = services
        .rules
        .current()
        .await
        .context("cannot load the rules")?;
    audit_report(services.store.as_ref(), Some(&rules), from, to)
        .await
        .context("audit failed")
}

#[cfg(feature = "aws")]
async fn in_table(
    table: &str,
    opts: &AuditOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<AuditReport> {
    use handoff_domain::ports::RulesSource;
    let sdk =
        handoff_cli::cloud_cmd::sdk_config(opts.profile.as_deref(), opts.region.as_deref()).await?;
    let client = handoff_aws::config::dynamodb_client(&sdk);
    let store = handoff_aws::DynamoStore::new(client.clone(), table);
    // Without a pushed rules version the report still has every figure; reps are then named by
    // id, without caps.
    let rules = match handoff_aws::DynamoRules::new(client, table).current().await {
        Ok(rules) => Some(rules),
        Err(e) => {
            eprintln!("warning: no rules in {table} ({e}): reps are shown by id, without caps");
            None
        }
    };
    audit_report(&store, rules.as_deref(), from, to)
        .await
        .with_context(|| format!("cannot read the handoffs in {table}"))
}

#[cfg(not(feature = "aws"))]
async fn in_table(
    _: &str,
    _: &AuditOptions,
    _: DateTime<Utc>,
    _: DateTime<Utc>,
) -> Result<AuditReport> {
    anyhow::bail!(
        "this build has no AWS support: run `cargo run --release --features aws -- audit --table ...`"
    )
}
