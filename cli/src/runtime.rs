//! The whole pipeline in one process on the embedded default: SQLite store and queues, and the
//! CRM and notifiers the rules configure — by default (`[crm] kind = "file"`, no `[notify.*]`
//! tables) a CRM that writes one JSON file per handoff and a notifier that writes a log line and
//! a text file, so the demo needs no account. Mail goes out over SMTP.
//!
//! Opening refuses a data directory it could not run on, with the file named, rather than
//! starting and failing every call: a store and queue where one file is empty and the other
//! is not (truncated), a directory or database it cannot write, a database that fails its
//! integrity check, and a weak claim-link key (`handoff_local::claim_key`). A new data directory
//! is created private to its owner, and every file in it `0600`.

use anyhow::{Context, Result};
use handoff_api::{App, IntakeEdge};
use handoff_connectors::outbound::configured::{
    ConfiguredCrm, ConfiguredNotifier, MailFactory, OutboundDeps,
};
use handoff_connectors::outbound::email::{MailSender, SmtpSender};
use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::{optional_secret, secret_names};
use handoff_connectors::secrets::SecretSource;
use handoff_domain::claim_link::ClaimSigner;
use handoff_domain::config::EmailSettings;
use handoff_domain::config::Rules;
use handoff_domain::ports::DeliveryError;
use handoff_domain::ports::{Clock, NoJudge, RulesSource, Stage, StageQueue, StaticRules};
use handoff_domain::privacy::{Retention, RETENTION_DAYS_VAR};
use handoff_domain::service::delivery::{Consumed, RetryPolicy};
use handoff_domain::service::Services;
use handoff_local::{FileCrm, FileRules, LogNotifier, Purged, SqliteQueue, SqliteStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The example rules and roster compiled into the binary: the embedded default.
pub const EMBEDDED_RULES: &str = include_str!("../../examples/handoff.toml");

/// How long a received stage message stays hidden before it is retried.
pub const VISIBILITY: Duration = Duration::from_secs(30);
/// Receives before a message goes to the dead-letter queue.
pub const MAX_RECEIVES: u32 = 5;

/// Where the rules come from.
#[derive(Debug, Clone)]
pub enum RulesChoice {
    /// The example compiled into the binary.
    Embedded,
    /// A TOML file, reloaded when it changes.
    File(PathBuf),
}

impl RulesChoice {
    /// `--config FILE` or the embedded default.
    pub fn from_arg(path: Option<PathBuf>) -> Self {
        path.map(RulesChoice::File).unwrap_or(RulesChoice::Embedded)
    }

    /// Loads the rules once (for commands without a running pipeline).
    pub fn load(&self) -> Result<Rules> {
        match self {
            RulesChoice::Embedded => Ok(Rules::from_toml(
                "<embedded examples/handoff.toml>",
                EMBEDDED_RULES,
            )?),
            RulesChoice::File(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                Ok(Rules::from_toml(&p.display().to_string(), &text)?)
            }
        }
    }

    fn source(&self) -> Result<Arc<dyn RulesSource>> {
        Ok(match self {
            RulesChoice::Embedded => Arc::new(StaticRules(Arc::new(self.load()?))),
            RulesChoice::File(p) => Arc::new(
                FileRules::new(p.clone())
                    .with_context(|| format!("cannot load {}", p.display()))?,
            ),
        })
    }
}

/// Settings of a local pipeline.
pub struct LocalOptions {
    pub data_dir: PathBuf,
    pub rules: RulesChoice,
    pub clock: Arc<dyn Clock>,
    /// Base URL for claim links.
    pub public_url: String,
    /// Provider and CRM/Slack/webhook credentials (`HANDOFF_SECRET_*` for `serve`; generated
    /// ones for the demo).
    pub secrets: Arc<dyn SecretSource>,
    /// Timeouts and retries of calls to HubSpot, Salesforce, Slack and webhooks.
    pub http_policy: HttpPolicy,
}

/// Mail over SMTP with the `[notify.email]` settings (login from the `smtp_credentials` secret,
/// `user:password`, when set).
struct SmtpMail {
    secrets: Arc<dyn SecretSource>,
}

#[async_trait::async_trait]
impl MailFactory for SmtpMail {
    async fn sender(&self, settings: &EmailSettings) -> Result<Arc<dyn MailSender>, DeliveryError> {
        let login = optional_secret(self.secrets.as_ref(), secret_names::SMTP_CREDENTIALS)
            .await?
            .map(|v| match v.split_once(':') {
                Some((user, password)) => (user.to_string(), password.to_string()),
                None => (v, String::new()),
            });
        Ok(Arc::new(SmtpSender::new(settings, login)?))
    }
}

/// A running local pipeline's parts.
pub struct LocalPipeline {
    pub services: Arc<Services>,
    /// The HTTP routes' state (services + the intake edge).
    pub app: Arc<App>,
    pub queue: Arc<SqliteQueue>,
    /// The store behind `services` (for the purge of expired handoffs).
    pub store: Arc<SqliteStore>,
    pub data_dir: PathBuf,
    /// How the stage workers retry a transient failure ([`RetryPolicy::STANDARD`]; tests
    /// compress time with a faster one).
    pub retry: RetryPolicy,
}

/// The retention of closed handoffs from `HANDOFF_RETENTION_DAYS` (unset or blank: kept).
pub fn retention_from_env() -> Result<Option<Retention>> {
    let raw = std::env::var(RETENTION_DAYS_VAR).unwrap_or_default();
    Ok(Retention::parse_days(&raw)?)
}

impl LocalPipeline {
    /// Opens (or creates) the data directory and builds every adapter once; refuses a data
    /// directory that is truncated, unwritable or damaged, or whose claim-link key is weak.
    pub async fn open(opts: LocalOptions) -> Result<Self> {
        handoff_local::create_data_dir(&opts.data_dir)
            .with_context(|| format!("cannot create {}", opts.data_dir.display()))?;
        let store_path = opts.data_dir.join("handoff.sqlite");
        let queue_path = opts.data_dir.join("queue.sqlite");
        handoff_local::check_not_truncated(&store_path, &queue_path)?;
        let secret = handoff_local::claim_key(&opts.data_dir)?;
        let mut store = SqliteStore::open(&store_path).context("cannot open the store")?;
        if let Some(retention) = retention_from_env()? {
            tracing::info!(
                days = retention.keep().num_days(),
                "closed handoffs expire after the retention"
            );
            store = store.with_retention(retention);
        }
        let store = Arc::new(store);
        let queue = Arc::new(
            SqliteQueue::open(&queue_path, MAX_RECEIVES).context("cannot open the queue")?,
        );
        let crm = FileCrm::new(&opts.data_dir)
            .context("cannot prepare the local CRM directory")?
            .with_clock(opts.clock.clone());
        let notifier = LogNotifier::with_clock(&opts.data_dir, opts.clock.clone())
            .context("cannot prepare the notification log")?;
        let rules = opts.rules.source()?;
        let outbound = OutboundDeps {
            rules: rules.clone(),
            secrets: opts.secrets.clone(),
            policy: opts.http_policy,
            file_crm: Some(Arc::new(crm)),
            fallback_notifier: Some(Arc::new(notifier)),
            mail: Arc::new(SmtpMail {
                secrets: opts.secrets.clone(),
            }),
        };
        let services = Arc::new(Services {
            store: store.clone(),
            queue: queue.clone(),
            threads: store.clone(),
            crm: Arc::new(ConfiguredCrm::new(outbound.clone())),
            notifier: Arc::new(ConfiguredNotifier::new(outbound)),
            clock: opts.clock,
            rules,
            // `handoff serve` asks no second opinion: the Bedrock judge runs in Lambda only.
            judge: Arc::new(NoJudge),
            claims: ClaimSigner::new(secret),
            public_url: opts.public_url,
            claim_link_ttl: chrono::Duration::days(7),
        });
        let app = Arc::new(App {
            services: services.clone(),
            intake: IntakeEdge {
                secrets: opts.secrets,
                once: store.clone(),
                contacts: hubspot_contacts_from_env()?,
                public_base_url: std::env::var("HANDOFF_PUBLIC_INTAKE_URL").ok(),
            },
        });
        Ok(Self {
            services,
            app,
            queue,
            store,
            data_dir: opts.data_dir,
            retry: RetryPolicy::STANDARD,
        })
    }

    /// Removes the closed handoffs whose retention ran out (with their timelines); nothing
    /// without `HANDOFF_RETENTION_DAYS`. The sweep timer calls it.
    pub async fn purge_expired(&self) -> Result<Purged> {
        self.store
            .purge_expired(self.services.clock.now())
            .await
            .context("cannot purge expired handoffs")
    }

    /// Receives up to `max` messages of a stage and handles each; returns how many were received.
    pub async fn process_stage(&self, stage: Stage, max: usize) -> Result<usize> {
        let received = std::time::Instant::now();
        let deliveries = self.queue.receive(stage, max, VISIBILITY).await?;
        for d in &deliveries {
            // A delivery whose visibility timeout ran out while it waited its turn belongs to
            // the queue again: it is received afresh rather than worked on twice.
            if received.elapsed() >= VISIBILITY / 2 {
                break;
            }
            match self.services.consume(stage, d, &self.retry).await? {
                Consumed::Acked(_) => {}
                Consumed::Postponed { after, reason } => {
                    tracing::warn!(stage = stage.as_str(), %reason, attempt = d.receive_count, retry_in_ms = after.as_millis() as u64, "transient failure; will retry")
                }
                Consumed::DeadLettered(reason) => {
                    tracing::error!(stage = stage.as_str(), %reason, "moved to the dead-letter queue")
                }
            }
        }
        Ok(deliveries.len())
    }

    /// Processes every stage until all queues are empty (messages waiting for a retry excepted).
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let mut round = 0;
            for stage in Stage::ALL {
                round += self.process_stage(stage, 10).await?;
            }
            if round == 0 {
                return Ok(total);
            }
            total += round;
        }
    }

    /// Spawns one worker per stage and the failover sweep timer (which also purges expired
    /// handoffs); they stop when `shutdown` flips.
    pub fn spawn_workers(
        self: &Arc<Self>,
        sweep_every: Duration,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = Vec::new();
        for stage in Stage::ALL {
            let me = self.clone();
            let mut stop = shutdown.clone();
            handles.push(tokio::spawn(async move {
                loop {
                    let got = match me.process_stage(stage, 10).await {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::error!(stage = stage.as_str(), error = %e, "stage worker error");
                            0
                        }
                    };
                    if got == 0 {
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                            _ = stop.changed() => {}
                        }
                    }
                    if *stop.borrow() {
                        break;
                    }
                }
            }));
        }
        let me = self.clone();
        let mut stop = shutdown;
        handles.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(sweep_every) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    break;
                }
                match me.services.sweep(100, 8).await {
                    Ok(r) if r.due > 0 => {
                        tracing::info!(
                            due = r.due,
                            rerouted = r.rerouted,
                            escalated = r.escalated,
                            redriven = r.redriven,
                            failed = r.failed,
                            "failover sweep"
                        );
                        for f in &r.failures {
                            tracing::warn!(handoff_id = %f.handoff_id, fault = f.fault, error = %f.error, "failover or re-drive failed; the handoff stays due");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "failover sweep failed"),
                }
                match me.purge_expired().await {
                    Ok(p) if p.handoffs > 0 => tracing::info!(
                        handoffs = p.handoffs,
                        timeline_entries = p.timeline_entries,
                        "expired handoffs purged"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "purge of expired handoffs failed"),
                }
            }
        }));
        handles
    }
}

/// The HubSpot contacts reader (`HANDOFF_HUBSPOT_API_URL` overrides `https://api.hubapi.com`,
/// for tests); its token comes from `HANDOFF_SECRET_HUBSPOT_TOKEN` through the secrets port.
fn hubspot_contacts_from_env(
) -> Result<Option<Arc<handoff_connectors::hubspot_contacts::HubspotContacts>>> {
    let base = std::env::var("HANDOFF_HUBSPOT_API_URL")
        .unwrap_or_else(|_| handoff_connectors::hubspot_contacts::DEFAULT_BASE_URL.to_string());
    Ok(Some(Arc::new(
        handoff_connectors::hubspot_contacts::HubspotContacts::new(base)
            .context("cannot build the HubSpot client")?,
    )))
}
