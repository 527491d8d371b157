//! Builds the [`Services`] for a Lambda function from its environment, once per cold start.
//!
//! The classify function also gets the judge ([`ConfiguredJudge`]: a Bedrock Runtime client
//! built here, the model and timeout read from the rules' `[judge]` on every call); the others
//! get [`NoJudge`].
//!
//! Each [`Function`] reads only the variables it needs; `infra/template.yaml` sets exactly those
//! (the end-to-end test builds every function from the template's environment and fails on a
//! variable read but not set). No variable holds a secret: credentials and the claim-link key
//! are read from Secrets Manager at run time.
//!
//! | variable | functions | meaning | default |
//! |---|---|---|---|
//! | `HANDOFF_TABLE` | all | the DynamoDB table | required |
//! | `HANDOFF_QUEUE_PREFIX` | all | stage queues are `<prefix>-classify`, `<prefix>-assign` (+ `-dlq`) | required |
//! | `HANDOFF_<STAGE>_QUEUE_URL`, `HANDOFF_<STAGE>_DLQ_URL` | all | the queue URLs (STAGE = CLASSIFY, ASSIGN); when all four are set no `GetQueueUrl` call is made at cold start | resolved from the prefix |
//! | `HANDOFF_MAX_RECEIVES` | all | receives before SQS redrives to the DLQ (must match the queues; the retry policy gives up one earlier) | 50 |
//! | `HANDOFF_DUE_SHARDS` | all | partitions of the sparse due index (every writer of a table must agree) | 1 |
//! | `HANDOFF_RULES_TTL_SECS` | all | how long a loaded rules version is reused | 60 |
//! | `HANDOFF_RETENTION_DAYS` | all | closed handoffs expire this many days after they closed (DynamoDB TTL) | unset: kept |
//! | `HANDOFF_STAGE` | all | the deployment stage, the `stage` dimension of every metric (read by [`crate::metrics`]) | `local` |
//! | `HANDOFF_CLAIM_SECRET_ID` | assign, claim | the Secrets Manager id (ARN) of the claim-link HMAC key (hex or base64 of ≥ 32 random bytes; `new,old` during a rotation), read once at cold start | required there |
//! | `HANDOFF_PUBLIC_CLAIM_URL` | assign | base URL of the claim function URL, put into links | empty |
//! | `HANDOFF_SECRETS_PREFIX` | intake, assign | Secrets Manager name prefix of every credential: `<prefix><name>` (`handoff-prod/providers/typeform`, `…/hubspot_token`, `…/slack_bot_token`) | unset: every provider route answers 401, and CRM/Slack/webhook calls fail with the missing secret named |
//! | `HANDOFF_SECRETS_TTL_SECS` | intake, assign | how long a fetched credential is reused before it is read again (rotation without redeploy) | 300 |
//! | `HANDOFF_PUBLIC_INTAKE_URL` | intake | the URL providers call when a custom domain or CDN fronts the function URL (HubSpot signs the URL) | the request's own URL |
//! | `HANDOFF_HUBSPOT_API_URL` | intake | HubSpot's API base, for reading contacts a Webhooks API event names (token: secret `<prefix>hubspot_token`) | `https://api.hubapi.com` |

use crate::env::Vars;
use anyhow::{ensure, Context, Result};
use handoff_api::{App, IntakeEdge};
use handoff_aws::calls::{CallRecorder, Clients};
use handoff_aws::judge::ConfiguredJudge;
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
use handoff_domain::claim_link::{check_claim_key, ClaimSigner};
use handoff_domain::config::EmailSettings;
use handoff_domain::ports::{Clock, Judge, NoJudge, Stage, SystemClock};
use handoff_domain::ports::{DeliveryError, RulesSource};
use handoff_domain::service::Services;
use std::sync::Arc;
use std::time::Duration;

/// The six functions of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    Intake,
    Classify,
    Assign,
    Failover,
    Claim,
    Audit,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 6] = [
        Function::Intake,
        Function::Classify,
        Function::Assign,
        Function::Failover,
        Function::Claim,
        Function::Audit,
    ];

    /// The binary's name, also its directory under `functions/` and `target/lambda/`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Intake => "intake",
            Function::Classify => "classify",
            Function::Assign => "assign",
            Function::Failover => "failover",
            Function::Claim => "claim",
            Function::Audit => "audit",
        }
    }

    /// Whether it signs (assign) or verifies (claim) claim links, so needs the claim-link key.
    pub fn uses_claim_links(self) -> bool {
        matches!(self, Function::Assign | Function::Claim)
    }

    /// Whether it reads provider, CRM or notification credentials.
    pub fn uses_credentials(self) -> bool {
        matches!(self, Function::Intake | Function::Assign)
    }

    /// Whether it may ask the judge (`[judge]`) for a second opinion: only classify does.
    pub fn uses_judge(self) -> bool {
        self == Function::Classify
    }
}

/// Every setting a function reads.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub function: Function,
    pub table: String,
    pub queue_prefix: String,
    pub queue_urls: Option<Vec<(Stage, QueueUrls)>>,
    pub max_receives: u32,
    pub due_shards: u32,
    pub rules_ttl: Duration,
    /// How long a closed handoff is kept (`None`: kept).
    pub retention: Option<handoff_domain::privacy::Retention>,
    /// The Secrets Manager id of the claim-link key (functions that sign or verify links).
    pub claim_secret_id: Option<String>,
    pub public_claim_url: String,
    pub secrets_prefix: Option<String>,
    pub secrets_ttl: Duration,
    pub public_intake_url: Option<String>,
    pub hubspot_api_url: String,
    /// Records every AWS call the function's clients make (the end-to-end test's IAM check).
    pub recorder: Option<CallRecorder>,
}

impl FunctionConfig {
    /// Reads the process environment; the error names the missing or invalid variable.
    pub fn from_env(function: Function) -> Result<Self> {
        Self::from_vars(function, &Vars::from_env())
    }

    /// Reads `function`'s variables from `vars`, and only those.
    pub fn from_vars(function: Function, vars: &Vars<'_>) -> Result<Self> {
        let retention = match vars.parsed::<u32>("HANDOFF_RETENTION_DAYS")? {
            Some(days) => Some(
                handoff_domain::privacy::Retention::days(days.into()).map_err(|e| {
                    anyhow::anyhow!("environment variable HANDOFF_RETENTION_DAYS: {}", e.0)
                })?,
            ),
            None => None,
        };
        let claim_secret_id = if function.uses_claim_links() {
            Some(vars.required("HANDOFF_CLAIM_SECRET_ID")?)
        } else {
            None
        };
        let public_claim_url = if function == Function::Assign {
            vars.get("HANDOFF_PUBLIC_CLAIM_URL").unwrap_or_default()
        } else {
            String::new()
        };
        let (secrets_prefix, secrets_ttl) = if function.uses_credentials() {
            (
                vars.get("HANDOFF_SECRETS_PREFIX"),
                Duration::from_secs(vars.parsed_or("HANDOFF_SECRETS_TTL_SECS", 300)?),
            )
        } else {
            (None, Duration::from_secs(300))
        };
        let (public_intake_url, hubspot_api_url) = if function == Function::Intake {
            (
                vars.get("HANDOFF_PUBLIC_INTAKE_URL"),
                vars.get("HANDOFF_HUBSPOT_API_URL"),
            )
        } else {
            (None, None)
        };
        Ok(Self {
            function,
            table: vars.required("HANDOFF_TABLE")?,
            queue_prefix: vars.required("HANDOFF_QUEUE_PREFIX")?,
            queue_urls: queue_urls(vars),
            max_receives: vars.parsed_or("HANDOFF_MAX_RECEIVES", 50)?,
            due_shards: vars
                .parsed_or("HANDOFF_DUE_SHARDS", handoff_aws::store::DEFAULT_DUE_SHARDS)?,
            rules_ttl: Duration::from_secs(vars.parsed_or("HANDOFF_RULES_TTL_SECS", 60)?),
            retention,
            claim_secret_id,
            public_claim_url,
            secrets_prefix,
            secrets_ttl,
            public_intake_url,
            hubspot_api_url: hubspot_api_url.unwrap_or_else(|| {
                handoff_connectors::hubspot_contacts::DEFAULT_BASE_URL.to_string()
            }),
            recorder: None,
        })
    }

    /// The SDK clients of this function (recording when the config carries a recorder).
    async fn clients(&self) -> Clients {
        Clients::new(
            handoff_aws::aws_config_from_env().await,
            self.recorder.clone(),
        )
    }
}

/// The four queue URLs, when every one is set.
fn queue_urls(vars: &Vars<'_>) -> Option<Vec<(Stage, QueueUrls)>> {
    Stage::ALL
        .iter()
        .map(|stage| {
            let name = stage.as_str().to_ascii_uppercase();
            let queue = vars.get(&format!("HANDOFF_{name}_QUEUE_URL"))?;
            let dead_letter = vars.get(&format!("HANDOFF_{name}_DLQ_URL"))?;
            Some((*stage, QueueUrls { queue, dead_letter }))
        })
        .collect()
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
    let clients = config.clients().await;
    build_services(config, &clients, clock).await
}

async fn build_services(
    config: &FunctionConfig,
    clients: &Clients,
    clock: Arc<dyn Clock>,
) -> Result<Services> {
    let dynamo = clients.dynamodb();
    let mut store =
        DynamoStore::new(dynamo.clone(), &config.table).with_due_shards(config.due_shards);
    if let Some(retention) = config.retention {
        store = store.with_retention(retention);
    }
    let store = Arc::new(store);
    let queue = match &config.queue_urls {
        Some(urls) => SqsQueue::from_urls(clients.sqs(), urls.clone(), config.max_receives)
            .context("invalid stage queue URLs")?,
        None => SqsQueue::connect(clients.sqs(), &config.queue_prefix, config.max_receives)
            .await
            .context("cannot resolve the stage queues")?,
    };
    let rules: Arc<dyn RulesSource> =
        Arc::new(DynamoRules::new(dynamo, &config.table).with_ttl(config.rules_ttl));
    let outbound = OutboundDeps {
        rules: rules.clone(),
        secrets: secrets_source(config, clients),
        policy: HttpPolicy::default(),
        file_crm: None,
        fallback_notifier: None,
        mail: Arc::new(SesMail(clients.sesv2())),
    };
    // The judge's client is built here, once per cold start; `[judge]` is read on every call.
    let judge: Arc<dyn Judge> = if config.function.uses_judge() {
        Arc::new(ConfiguredJudge::new(
            clients.bedrockruntime(),
            rules.clone(),
        ))
    } else {
        Arc::new(NoJudge)
    };
    let claims = match &config.claim_secret_id {
        Some(id) => claim_signer(clients, id).await?,
        None => ClaimSigner::new(random_key()?),
    };
    Ok(Services {
        store: store.clone(),
        queue: Arc::new(queue),
        threads: store,
        crm: Arc::new(ConfiguredCrm::new(outbound.clone())),
        notifier: Arc::new(ConfiguredNotifier::new(outbound)),
        clock,
        rules,
        judge,
        claims,
        public_url: config.public_claim_url.clone(),
        claim_link_ttl: chrono::Duration::days(7),
    })
}

/// The claim-link HMAC keys: the plain `SecretString` of secret `id`, read once per cold start
/// ([`claim_signer_from_secret`]).
async fn claim_signer(clients: &Clients, id: &str) -> Result<ClaimSigner> {
    let value = handoff_aws::secrets::secret_string(&clients.secretsmanager(), id)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the claim-link key: {}", e.0))?;
    claim_signer_from_secret(id, &value)
}

/// The signer for the value of the claim-link secret `id`: a comma-separated list, newest first,
/// of keys that each hold at least 32 random bytes as hex or base64
/// ([`check_claim_key`]; the stack generates 64 letters and digits). Links are signed with the
/// first; links signed with the others still verify, so a rotation (put the new key first, drop
/// the old one once its links have expired, 7 days) invalidates nothing. A weak key anywhere in
/// the list is refused, naming the secret and the key's position (never the key): an old key
/// that still verifies could forge links as well as the new one.
pub fn claim_signer_from_secret(id: &str, value: &str) -> Result<ClaimSigner> {
    let keys: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    ensure!(
        !keys.is_empty(),
        "the claim-link key (secret {id}) is empty; put one key of 32 random bytes \
         (`openssl rand -hex 32`), or `new,old` during a rotation"
    );
    for (position, key) in keys.iter().enumerate() {
        check_claim_key(key).map_err(|reason| {
            anyhow::anyhow!(
                "the claim-link key number {} of {} in secret {id} is refused: {reason}",
                position + 1,
                keys.len()
            )
        })?;
    }
    let (current, previous) = keys.split_first().expect("checked non-empty");
    Ok(ClaimSigner::new(current.as_bytes())
        .with_previous(previous.iter().map(|k| k.as_bytes().to_vec()).collect()))
}

/// Every credential through Secrets Manager under `HANDOFF_SECRETS_PREFIX` (read on first use,
/// reused for `HANDOFF_SECRETS_TTL_SECS`); none when the prefix is unset.
fn secrets_source(config: &FunctionConfig, clients: &Clients) -> Arc<dyn SecretSource> {
    match &config.secrets_prefix {
        Some(prefix) => Arc::new(
            SecretsManagerSource::new(clients.secretsmanager(), prefix)
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
    let clients = config.clients().await;
    let services = Arc::new(build_services(config, &clients, clock).await?);
    let once = Arc::new(DynamoStore::new(clients.dynamodb(), &config.table));
    let secrets: Arc<dyn SecretSource> = match &config.secrets_prefix {
        Some(prefix) => {
            let source = SecretsManagerSource::new(clients.secretsmanager(), prefix)
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

/// The claim function's state: it serves no provider route, so it reads no provider secret and
/// links neither the provider registry's secrets nor the HubSpot client.
pub async fn claim_app_with_clock(config: &FunctionConfig, clock: Arc<dyn Clock>) -> Result<App> {
    let clients = config.clients().await;
    let services = Arc::new(build_services(config, &clients, clock).await?);
    Ok(App {
        services,
        intake: IntakeEdge {
            secrets: Arc::new(StaticSecrets::default()),
            once: Arc::new(DynamoStore::new(clients.dynamodb(), &config.table)),
            contacts: None,
            public_base_url: None,
        },
    })
}

/// Reads the environment and builds the intake function's state.
pub async fn app_from_env() -> Result<App> {
    let config = FunctionConfig::from_env(Function::Intake)?;
    app_with_clock(&config, Arc::new(SystemClock)).await
}

/// Reads the environment and builds the claim function's state.
pub async fn claim_app_from_env() -> Result<App> {
    let config = FunctionConfig::from_env(Function::Claim)?;
    claim_app_with_clock(&config, Arc::new(SystemClock)).await
}

/// Reads the environment and builds `function`'s services (its one-time setup).
pub async fn services_for(function: Function) -> Result<Services> {
    let config = FunctionConfig::from_env(function)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use handoff_domain::claim_link::ClaimAction;
    use handoff_domain::ids::{HandoffId, ProviderEventId, RepId, SourceName};

    const ID: &str = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:handoff-prod-claim";
    const NEW: &str = "Xk3r9QmZ2vTn8LbW4cYp7HsJ1dGf6eRa0uVoNi5KqzMwS2tB8yCxPl3jDh9gUe4A";
    const OLD: &str = "3f9a1c0be47d25861fa0c3e9b7d4528e6c1f0a93b5d7e2480c6a1f39e5b7d204";

    fn refusal(value: &str) -> String {
        format!("{:#}", claim_signer_from_secret(ID, value).unwrap_err())
    }

    #[test]
    fn a_short_or_blank_key_from_secrets_manager_is_refused_with_the_secret_named() {
        let short = "Xk3r9QmZ2vTn8LbW4cYp7HsJ1dGf6eRa"; // 32 characters, 24 bytes
        let rotation_with_a_short_old_key = format!("{NEW},{short}");
        for (value, says) in [
            ("", "is empty"),
            (" , ", "is empty"),
            (short, "number 1 of 1"),
            (rotation_with_a_short_old_key.as_str(), "number 2 of 2"),
            ("changeme", "number 1 of 1"),
        ] {
            let message = refusal(value);
            assert!(message.contains(ID), "{value:?}: {message}");
            assert!(message.contains(says), "{value:?}: {message}");
            assert!(
                !message.contains(short),
                "the key is never quoted: {message}"
            );
        }
        assert!(refusal(short).contains("24 bytes"));
    }

    #[test]
    fn a_rotation_list_of_strong_keys_signs_with_the_first_and_verifies_both() {
        let id = HandoffId::for_event(
            &SourceName::parse("web").unwrap(),
            &ProviderEventId::parse("1").unwrap(),
        );
        let rep = RepId::parse("lena").unwrap();
        let expires = chrono::Utc.with_ymd_and_hms(2030, 1, 8, 0, 0, 0).unwrap();
        let now = expires - chrono::Duration::days(1);
        let rotated = claim_signer_from_secret(ID, &format!(" {NEW} , {OLD} ")).unwrap();
        let by_old = ClaimSigner::new(OLD).sign(&id, &rep, ClaimAction::Accept, expires);
        assert_eq!(rotated.verify(&by_old, now), Ok(()));
        let fresh = rotated.sign(&id, &rep, ClaimAction::Accept, expires);
        assert_eq!(ClaimSigner::new(NEW).verify(&fresh, now), Ok(()));
    }
}
