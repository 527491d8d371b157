//! The secrets port: where a provider's webhook secret(s) come from. Locally from the
//! environment (`HANDOFF_SECRET_<PROVIDER>`); in Lambda from AWS Secrets Manager
//! (`handoff_aws::SecretsManagerSource`), never from plaintext function environment.

use crate::provider::Secrets;
use async_trait::async_trait;
use std::collections::BTreeMap;
use thiserror::Error;

/// The secret store could not be read (answered 503: the provider retries).
#[derive(Debug, Clone, Error)]
#[error("secrets unavailable: {0}")]
pub struct SecretError(pub String);

/// Reads provider secrets.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The secret(s) of `provider` (`typeform`), or `None` when none is configured.
    async fn secrets(&self, provider: &str) -> Result<Option<Secrets>, SecretError>;
    /// Where the secret of `provider` is expected, for the log line when it is missing
    /// (`HANDOFF_SECRET_TYPEFORM`, `secret handoff/prod/typeform`).
    fn location(&self, provider: &str) -> String;
}

/// The environment variable holding a provider's secret.
pub fn env_var(provider: &str) -> String {
    format!("HANDOFF_SECRET_{}", provider.to_ascii_uppercase())
}

/// Secrets from `HANDOFF_SECRET_<PROVIDER>` environment variables, read on each request (so a
/// restart-free change of the variable is not expected, but cheap lookups are).
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvSecrets;

#[async_trait]
impl SecretSource for EnvSecrets {
    async fn secrets(&self, provider: &str) -> Result<Option<Secrets>, SecretError> {
        Ok(std::env::var(env_var(provider))
            .ok()
            .and_then(|v| Secrets::parse(&v)))
    }
    fn location(&self, provider: &str) -> String {
        env_var(provider)
    }
}

/// A fixed map of secrets (the demo signs with generated ones; tests use known ones).
#[derive(Debug, Default, Clone)]
pub struct StaticSecrets(pub BTreeMap<String, String>);

impl StaticSecrets {
    /// The same map from pairs.
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        )
    }
}

#[async_trait]
impl SecretSource for StaticSecrets {
    async fn secrets(&self, provider: &str) -> Result<Option<Secrets>, SecretError> {
        Ok(self.0.get(provider).and_then(|v| Secrets::parse(v)))
    }
    fn location(&self, provider: &str) -> String {
        format!("the {provider} entry of the static secrets")
    }
}
