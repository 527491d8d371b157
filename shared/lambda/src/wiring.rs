//! Builds the [`Services`] for a Lambda function from its environment, once per cold start.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `HANDOFF_TABLE` | the DynamoDB table | required |
//! | `HANDOFF_QUEUE_PREFIX` | stage queues are `<prefix>-classify`, `<prefix>-assign` (+ `-dlq`) | required |
//! | `HANDOFF_<STAGE>_QUEUE_URL`, `HANDOFF_<STAGE>_DLQ_URL` | the queue URLs (STAGE = CLASSIFY, ASSIGN); when all four are set no `GetQueueUrl` call is made at cold start | resolved from the prefix |
//! | `HANDOFF_MAX_RECEIVES` | receives before SQS redrives to the DLQ (must match the queues) | 5 |
//! | `HANDOFF_DUE_SHARDS` | partitions of the sparse due index (every writer of a table must agree) | 1 |
//! | `HANDOFF_CLAIM_SECRET` | the claim-link HMAC secret (≥ 32 characters); needed where links are signed (assign) or verified (claim) | unset: a random per-process key, so links made here never verify |
//! | `HANDOFF_PUBLIC_CLAIM_URL` | base URL of the claim function URL, put into links | empty |
//! | `HANDOFF_RULES_TTL_SECS` | how long a loaded rules version is reused | 60 |
//! | `HANDOFF_SECRETS_PREFIX` | Secrets Manager name prefix of every credential: `<prefix><name>` (`handoff/prod/providers/typeform`, `…/hubspot_token`, `…/slack_bot_token`); values are never put in the environment | unset: every provider route answers 401, and CRM/Slack/webhook calls fail with the missing secret named |
//! | `HANDOFF_SECRETS_TTL_SECS` | how long a fetched provider secret is reused before it is read again (rotation without redeploy) | 300 |
//! | `HANDOFF_PUBLIC_INTAKE_URL` | the URL providers call when a custom domain or CDN fronts the function URL (HubSpot signs the URL) | the request's own URL |
//! | `HANDOFF_HUBSPOT_API_URL` | HubSpot's API base, for reading contacts a Webhooks API event names (token: secret `<prefix>hubspot_token`) | `https://api.hubapi.com` |

use crate::env::{parsed_or, required};
use anyhow::{ensure, Context, Result};
use handoff_api::{App, IntakeEdge};
use handoff_aws::queue::QueueUrls;
use handoff_aws::SecretsManagerSource;
use handoff_aws::{DynamoRules, DynamoStore, SqsQueue};
use handoff_connectors::hubspot_contacts::HubspotContacts;
use handoff_connectors::outbound::configured::{
    ConfiguredCrm, ConfiguredNotifier, MailFactory, OutboundDeps,
};
use handoff_connectors::outbound::email::MailSender;
use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::secrets::{SecretSource, StaticSecrets};
use handoff_domain::claim_link::ClaimSigner;
use handoff_domain::config::EmailSettings;
use handoff_domain::ports::{Clock, Stage, SystemClock};
use handoff_domain::ports::{DeliveryError, RulesSource};
use handoff_domain::service::Services;
use std::sync::Arc;
use std::time::Duration;

/// Every setting a function reads.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub table: String,
    pub queue_prefix: String,
    pub max_receives: u32,
    pub due_shards: u32,
    pub claim_secret: Option<String>,
    pub public_claim_url: String,
    pub rules_ttl: Duration,
    pub secrets_prefix: Option<String>,
    pub secrets_ttl: Duration,
    pub public_intake_url: Option<String>,
    pub hubspot_api_url: String,
}

impl FunctionConfig {
    /// Reads the environment; the error names the missing or invalid variable.
    pub fn from_env() -> Result<Self> {
        let claim_secret = std::env::var("HANDOFF_CLAIM_SECRET").ok();
        if let Some(secret) = &claim_secret {
            ensure!(
                secret.len() >= 32,
                "environment variable HANDOFF_CLAIM_SECRET must be at least 32 characters"
            );
        }
        Ok(Self {
            table: required("HANDOFF_TABLE")?,
            queue_prefix: required("HANDOFF_QUEUE_PREFIX")?,
            max_receives: parsed_or("HANDOFF_MAX_RECEIVES", 5)?,
            due_shards: parsed_or("HANDOFF_DUE_SHARDS", handoff_aws::store::DEFAULT_DUE_SHARDS)?,
            claim_secret,
            public_claim_url: std::env::var("HANDOFF_PUBLIC_CLAIM_URL").unwrap_or_default(),
            rules_ttl: Duration::from_secs(parsed_or("HANDOFF_RULES_TTL_SECS", 60)?),
            secrets_prefix: std::env::var("HANDOFF_SECRETS_PREFIX")
                .ok()
                .filter(|p| !p.trim().is_empty()),
            secrets_ttl: Duration::from_secs(parsed_or("HANDOFF_SECRETS_TTL_SECS", 300)?),
            public_intake_url: std::env::var("HANDOFF_PUBLIC_INTAKE_URL")
                .ok()
                .filter(|u| !u.trim().is_empty()),
            hubspot_api_url: std::env::var("HANDOFF_HUBSPOT_API_URL").unwrap_or_else(|_| {
                handoff_connectors::hubspot_contacts::DEFAULT_BASE_URL.to_string()
            }),
        })
    }
}

/// The services on DynamoDB + SQS for this configuration, on the system clock.
pub async fn services(config: &FunctionConfig) -> Result<Services> {
    services_with_clock(config, Arc::new(SystemClock)).await
}

/// The services with a given clock (tests drive SLA time with a manual one).
pub async fn services_with_clock(
    config: &FunctionConfig,
    clock: Arc<dyn Clock>,
) -> Result<Services> {
    let sdk = handoff_aws::aws_config_from_env().await;
    let dynamo = handoff_aws::config::dynamodb_client(&sdk);
    let sqs = handoff_aws::config::sqs_client(&sdk);
    let store = Arc::new(
        DynamoStore::new(dynamo.clone(), &config.table).with_due_shards(config.due_shards),
    );
    let queue = match queue_urls_from_env() {
        Some(urls) => SqsQueue::from_urls(sqs, urls, config.max_receives)
            .context("invalid stage queue URLs")?,
        None => SqsQueue::connect(sqs, &config.queue_prefix, config.max_receives)
            .await
            .context("cannot resolve the stage queues")?,
    };
    let rules: Arc<dyn RulesSource> =
        Arc::new(DynamoRules::new(dynamo, &config.table).with_ttl(config.rules_ttl));
    let outbound = OutboundDeps {
        rules: rules.clone(),
        secrets: secrets_source(config, &sdk),
        policy: HttpPolicy::default(),
        file_crm: None,
        fallback_notifier: None,
        mail: Arc::new(SesMail(handoff_aws::ses::sesv2_client(&sdk))),
    };
    Ok(Services {
        store: store.clone(),
        queue: Arc::new(queue),
        threads: store,
        crm: Arc::new(ConfiguredCrm::new(outbound.clone())),
        notifier: Arc::new(ConfiguredNotifier::new(outbound)),
        clock,
        rules,
        claims: ClaimSigner::new(match &config.claim_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => random_key()?,
        }),
        public_url: config.public_claim_url.clone(),
        claim_link_ttl: chrono::Duration::days(7),
    })
}

/// Every credential through Secrets Manager under `HANDOFF_SECRETS_PREFIX` (read on first use,
/// reused for `HANDOFF_SECRETS_TTL_SECS`); none when the prefix is unset.
fn secrets_source(config: &FunctionConfig, sdk: &aws_config::SdkConfig) -> Arc<dyn SecretSource> {
    match &config.secrets_prefix {
        Some(prefix) => Arc::new(
            SecretsManagerSource::new(handoff_aws::config::secretsmanager_client(sdk), prefix)
                .with_ttl(config.secrets_ttl),
        ),
        None => Arc::new(StaticSecrets::default()),
    }
}

/// Mail through Amazon SES v2 (the `[notify.email] from` address must be a verified identity).
struct SesMail(aws_sdk_sesv2::Client);

#[async_trait::async_trait]
impl MailFactory for SesMail {
    async fn sender(
        &self,
        _settings: &EmailSettings,
    ) -> Result<Arc<dyn MailSender>, DeliveryError> {
        Ok(Arc::new(handoff_aws::ses::SesMailSender::new(
            self.0.clone(),
        )))
    }
}

/// The HTTP routes' state on AWS: the services, provider secrets from Secrets Manager (fetched
/// once here, refreshed after `HANDOFF_SECRETS_TTL_SECS`), one-time tokens in the table, and a
/// HubSpot contacts reader (its token is the `hubspot_token` secret, read per use).
pub async fn app_with_clock(config: &FunctionConfig, clock: Arc<dyn Clock>) -> Result<App> {
    let services = Arc::new(services_with_clock(config, clock).await?);
    let sdk = handoff_aws::aws_config_from_env().await;
    let once = Arc::new(DynamoStore::new(
        handoff_aws::config::dynamodb_client(&sdk),
        &config.table,
    ));
    let secrets: Arc<dyn SecretSource> = match &config.secrets_prefix {
        Some(prefix) => {
            let source =
                SecretsManagerSource::new(handoff_aws::config::secretsmanager_client(&sdk), prefix)
                    .with_ttl(config.secrets_ttl);
            let mut names: Vec<&str> = handoff_connectors::registry::all()
                .iter()
                .map(|p| p.name())
                .collect();
            names.extend([
                handoff_api::HUBSPOT_TOKEN,
                handoff_connectors::outbound::secret_names::SLACK_SIGNING_SECRET,
                handoff_connectors::outbound::secret_names::SLACK_BOT_TOKEN,
            ]);
            if let Err(e) = source.prefetch(&names).await {
                tracing::warn!(error = %e, "provider secrets could not be prefetched; they are read on first use");
            }
            Arc::new(source)
        }
        None => {
            tracing::warn!(
                "HANDOFF_SECRETS_PREFIX is not set: every provider route refuses requests"
            );
            Arc::new(StaticSecrets::default())
        }
    };
    let contacts = Some(Arc::new(
        HubspotContacts::new(config.hubspot_api_url.clone())
            .context("cannot build the HubSpot client")?,
    ));
    Ok(App {
        services,
        intake: IntakeEdge {
            secrets,
            once,
            contacts,
            public_base_url: config.public_intake_url.clone(),
        },
    })
}

/// Reads the environment and builds the intake function's state.
pub async fn app_from_env() -> Result<App> {
    let config = FunctionConfig::from_env()?;
    app_with_clock(&config, Arc::new(SystemClock)).await
}

/// Reads the environment and builds the claim function's state: it serves no provider route, so
/// it reads no provider secret and links neither Secrets Manager nor the HubSpot client.
pub async fn claim_app_from_env() -> Result<App> {
    let config = FunctionConfig::from_env()?;
    let services = Arc::new(services_with_clock(&config, Arc::new(SystemClock)).await?);
    let sdk = handoff_aws::aws_config_from_env().await;
    Ok(App {
        services,
        intake: IntakeEdge {
            secrets: Arc::new(StaticSecrets::default()),
            once: Arc::new(DynamoStore::new(
                handoff_aws::config::dynamodb_client(&sdk),
                &config.table,
            )),
            contacts: None,
            public_base_url: None,
        },
    })
}

/// The four queue URLs from the environment, when every one is set.
fn queue_urls_from_env() -> Option<Vec<(Stage, QueueUrls)>> {
    Stage::ALL
        .iter()
        .map(|stage| {
            let name = stage.as_str().to_ascii_uppercase();
            let queue = std::env::var(format!("HANDOFF_{name}_QUEUE_URL")).ok()?;
            let dead_letter = std::env::var(format!("HANDOFF_{name}_DLQ_URL")).ok()?;
            Some((*stage, QueueUrls { queue, dead_letter }))
        })
        .collect()
}

/// Reads the environment and builds the services (a function's one-time setup).
pub async fn services_from_env() -> Result<Services> {
    let config = FunctionConfig::from_env()?;
    services(&config).await
}

/// 32 random bytes for a function that neither signs nor verifies claim links.
fn random_key() -> Result<Vec<u8>> {
    use std::io::Read;
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("cannot read /dev/urandom")?;
    Ok(key)
}
