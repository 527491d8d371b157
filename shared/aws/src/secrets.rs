//! [`SecretsManagerSource`]: provider webhook secrets from AWS Secrets Manager, the
//! [`SecretSource`] of the Lambda functions (never plaintext function environment).
//!
//! The secret of provider `typeform` is the secret named `<prefix>typeform` (prefix e.g.
//! `handoff/prod/providers/`). Its `SecretString` has the format of the
//! `HANDOFF_SECRET_<PROVIDER>` variable: a comma-separated rotation list, newest first
//! (`user:password` entries for Basic-auth providers), parsed by [`Secrets::parse`].
//!
//! Values are cached in memory per provider and read again once older than the TTL
//! ([`DEFAULT_SECRETS_TTL`], [`SecretsManagerSource::with_ttl`]), so a rotation (put the new
//! value first in the list, later drop the old one) needs no redeploy.
//! [`SecretsManagerSource::prefetch`] loads every provider at cold start with
//! `BatchGetSecretValue` (20 ids a call), falling back to concurrent `GetSecretValue` calls if
//! the batch call fails (e.g. a role without `secretsmanager:BatchGetSecretValue`).
//!
//! | Secrets Manager answers | [`SecretSource::secrets`] returns | cached |
//! |---|---|---|
//! | the value | `Some(secrets)` (`None` for a blank value) | until the TTL |
//! | `ResourceNotFoundException` | `None` (the request is refused with 401) | until the TTL |
//! | anything else (throttling, network, KMS, access) with a cached value | the cached value, with a warning | re-checked after at most [`STALE_RETRY`] |
//! | anything else without a cached value | [`SecretError`] (503: the provider retries) | no |
//!
//! Secret values are never logged, and `Debug` prints none.

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::Client;
use handoff_connectors::provider::Secrets;
use handoff_connectors::secrets::{SecretError, SecretSource};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a read secret is used before Secrets Manager is asked again.
pub const DEFAULT_SECRETS_TTL: Duration = Duration::from_secs(300);

/// When a refresh failed and the last value is served instead, how soon it is tried again
/// (or after the TTL, if that is shorter).
pub const STALE_RETRY: Duration = Duration::from_secs(10);

/// `BatchGetSecretValue` takes at most 20 ids in `SecretIdList`.
const BATCH_MAX: usize = 20;

/// A safety net against a service that keeps answering with a `NextToken`.
const BATCH_MAX_PAGES: usize = 10;

const NOT_FOUND: &str = "ResourceNotFoundException";

/// One provider's cached answer.
#[derive(Clone)]
struct Entry {
    /// `None`: no such secret (or a blank one).
    value: Option<Secrets>,
    /// When to ask Secrets Manager again.
    refresh_at: Instant,
}

/// What one read of one secret gave.
type Fetched = Result<Option<Secrets>, SecretError>;

/// Provider secrets from AWS Secrets Manager, cached in memory. Build it once per process.
pub struct SecretsManagerSource {
    client: Client,
    prefix: String,
    ttl: Duration,
    cache: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for SecretsManagerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerSource")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerSource {
    /// Secrets named `<prefix><provider>` (e.g. prefix `handoff/prod/providers/`), cached for
    /// [`DEFAULT_SECRETS_TTL`]. The client is built by
    /// [`secretsmanager_client`](crate::config::secretsmanager_client).
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            ttl: DEFAULT_SECRETS_TTL,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Sets how long a read value (or a missing secret) is used before it is read again.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The cache TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The secret id (name) holding `provider`'s secret: `<prefix><provider>`.
    pub fn secret_id(&self, provider: &str) -> String {
        format!("{}{provider}", self.prefix)
    }

    /// Loads the secrets of every provider in `providers` into the cache (cold start), with one
    /// `BatchGetSecretValue` per 20 providers; if a batch call fails, its providers are read
    /// with concurrent `GetSecretValue` calls instead. Missing secrets are cached as missing.
    ///
    /// An error names the providers that could not be read (values are never included); they
    /// keep any value they had and are read again on first use, so a caller may just log it.
    pub async fn prefetch<S: AsRef<str>>(&self, providers: &[S]) -> Result<(), SecretError> {
        let mut wanted: Vec<(String, String)> = Vec::new();
        for provider in providers.iter().map(AsRef::as_ref) {
            if !wanted.iter().any(|(p, _)| p == provider) {
                wanted.push((provider.to_string(), self.secret_id(provider)));
            }
        }
        let mut failed: Vec<(String, SecretError)> = Vec::new();
        for chunk in wanted.chunks(BATCH_MAX) {
            let fetched = match batch_fetch(&self.client, chunk).await {
                Ok(fetched) => fetched,
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "BatchGetSecretValue failed; reading the secrets one by one"
                    );
                    concurrent_fetch(&self.client, chunk).await
                }
            };
            let now = Instant::now();
            for (provider, result) in fetched {
                match result {
                    Ok(value) => self.remember(&provider, value, now + self.ttl),
                    Err(e) => {
                        self.keep_stale(&provider, now, &e);
                        failed.push((provider, e));
                    }
                }
            }
        }
        let count = wanted.len() - failed.len();
        tracing::debug!(count, "prefetched provider secrets");
        match failed.first() {
            None => Ok(()),
            Some((_, first)) => {
                let names: Vec<&str> = failed.iter().map(|(p, _)| p.as_str()).collect();
                Err(SecretError(format!(
                    "could not read the secrets of {} ({})",
                    names.join(", "),
                    first.0
                )))
            }
        }
    }

    fn cached(&self, provider: &str) -> Option<Entry> {
        self.lock().get(provider).cloned()
    }

    fn remember(&self, provider: &str, value: Option<Secrets>, refresh_at: Instant) {
        self.lock()
            .insert(provider.to_string(), Entry { value, refresh_at });
    }

    /// After a failed read: keeps serving a cached value (checking again soon), and says so.
    /// Returns the value served, if any.
    fn keep_stale(&self, provider: &str, now: Instant, error: &SecretError) -> Option<Secrets> {
        let mut cache = self.lock();
        let entry = cache.get_mut(provider)?;
        let value = entry.value.clone()?;
        entry.refresh_at = now + self.ttl.min(STALE_RETRY);
        tracing::warn!(
            provider,
            secret = %format!("{}{provider}", self.prefix),
            error = %error,
            "cannot refresh the provider secret; serving the last value read"
        );
        Some(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave a half-written entry: ignore the poison.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn secrets(&self, provider: &str) -> Result<Option<Secrets>, SecretError> {
        if let Some(entry) = self.cached(provider) {
            if Instant::now() < entry.refresh_at {
                return Ok(entry.value);
            }
        }
        let result = fetch(&self.client, &self.secret_id(provider)).await;
        let now = Instant::now();
        match result {
            Ok(value) => {
                self.remember(provider, value.clone(), now + self.ttl);
                Ok(value)
            }
            Err(e) => match self.keep_stale(provider, now, &e) {
                Some(stale) => Ok(Some(stale)),
                None => Err(e),
            },
        }
    }

    fn location(&self, provider: &str) -> String {
        format!("secret {}", self.secret_id(provider))
    }
}

/// The usable value of a secret: its string, or its binary if that is UTF-8 text.
fn value_of(id: &str, string: Option<&str>, binary: Option<&Blob>) -> Option<Secrets> {
    if let Some(text) = string {
        return Secrets::parse(text);
    }
    match binary.map(|b| std::str::from_utf8(b.as_ref())) {
        Some(Ok(text)) => Secrets::parse(text),
        Some(Err(_)) => {
            tracing::warn!(
                secret = id,
                "the secret's binary value is not UTF-8 text; ignored"
            );
            None
        }
        None => None,
    }
}

fn failure<E, R>(operation: &str, id: &str, err: &SdkError<E, R>) -> SecretError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    SecretError(format!(
        "Secrets Manager {operation} {id}: {}",
        DisplayErrorContext(err)
    ))
}

/// The plain `SecretString` of secret `id` (name or ARN), trimmed; an error names the secret and
/// never carries the value. For a key the process reads once, such as the claim-link key.
pub async fn secret_string(client: &Client, id: &str) -> Result<String, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| failure("GetSecretValue", id, &e))?;
    let text = match (out.secret_string(), out.secret_binary()) {
        (Some(text), _) => text.to_string(),
        (None, Some(binary)) => String::from_utf8(binary.as_ref().to_vec())
            .map_err(|_| SecretError(format!("secret {id}: the binary value is not UTF-8 text")))?,
        (None, None) => String::new(),
    };
    Ok(text.trim().to_string())
}

/// Reads one secret with `GetSecretValue`; a missing secret is `Ok(None)`.
async fn fetch(client: &Client, id: &str) -> Fetched {
    match client.get_secret_value().secret_id(id).send().await {
        Ok(out) => Ok(value_of(id, out.secret_string(), out.secret_binary())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            tracing::debug!(secret = id, "no such secret");
            Ok(None)
        }
        Err(e) => Err(failure("GetSecretValue", id, &e)),
    }
}

/// Reads `(provider, id)` pairs with one `BatchGetSecretValue` (plus pages, if the service
/// pages). Per-secret errors come back per provider; only a failed call is an `Err`.
async fn batch_fetch(
    client: &Client,
    wanted: &[(String, String)],
) -> Result<Vec<(String, Fetched)>, SecretError> {
    let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
    let provider_of = |id: Option<&str>| {
        wanted
            .iter()
            .find(|(_, wanted_id)| Some(wanted_id.as_str()) == id)
            .map(|(p, _)| p.clone())
    };
    let mut out: Vec<(String, Fetched)> = Vec::with_capacity(wanted.len());
    let mut next_token: Option<String> = None;
    for _ in 0..BATCH_MAX_PAGES {
        let resp = client
            .batch_get_secret_value()
            .set_secret_id_list(Some(ids.clone()))
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| failure("BatchGetSecretValue", &ids.join(", "), &e))?;
        for entry in resp.secret_values() {
            let provider = provider_of(entry.name()).or_else(|| provider_of(entry.arn()));
            if let Some(provider) = provider {
                let id = entry.name().unwrap_or_default();
                let value = value_of(id, entry.secret_string(), entry.secret_binary());
                out.push((provider, Ok(value)));
            }
        }
        for error in resp.errors() {
            let Some(provider) = provider_of(error.secret_id()) else {
                continue;
            };
            let id = error.secret_id().unwrap_or_default();
            let result = match error.error_code() {
                Some(NOT_FOUND) => {
                    tracing::debug!(secret = id, "no such secret");
                    Ok(None)
                }
                code => Err(SecretError(format!(
                    "Secrets Manager BatchGetSecretValue {id}: {}: {}",
                    code.unwrap_or("error"),
                    error.message().unwrap_or_default()
                ))),
            };
            out.push((provider, result));
        }
        match resp.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => break,
        }
    }
    for (provider, id) in wanted {
        if !out.iter().any(|(p, _)| p == provider) {
            out.push((
                provider.clone(),
                Err(SecretError(format!(
                    "Secrets Manager BatchGetSecretValue did not answer for {id}"
                ))),
            ));
        }
    }
    Ok(out)
}

/// Reads `(provider, id)` pairs with one concurrent `GetSecretValue` each.
async fn concurrent_fetch(client: &Client, wanted: &[(String, String)]) -> Vec<(String, Fetched)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (provider, id) in wanted {
        let (client, provider, id) = (client.clone(), provider.clone(), id.clone());
        tasks.spawn(async move {
            let result = fetch(&client, &id).await;
            (provider, result)
        });
    }
    let mut out = Vec::with_capacity(wanted.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => out.push(pair),
            Err(e) => tracing::warn!(error = %e, "a secret read task failed"),
        }
    }
    for (provider, id) in wanted {
        if !out.iter().any(|(p, _)| p == provider) {
            out.push((
                provider.clone(),
                Err(SecretError(format!("reading {id} failed"))),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::config::retry::RetryConfig;
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};

    /// A client for an endpoint where nothing listens (every call fails fast, no retries).
    fn dead_client() -> Client {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    #[tokio::test]
    async fn an_unreachable_service_is_an_error_without_a_cached_value() {
        let source = SecretsManagerSource::new(dead_client(), "handoff/test/");
        let err = source.secrets("typeform").await.unwrap_err();
        assert!(err.0.contains("handoff/test/typeform"), "{err}");
        // Nothing was cached: the next call asks again (and fails again).
        assert!(source.secrets("typeform").await.is_err());
        assert!(source.prefetch(&["typeform", "calendly"]).await.is_err());
    }

    #[tokio::test]
    async fn a_stale_value_is_served_when_the_refresh_fails() {
        let source = SecretsManagerSource::new(dead_client(), "handoff/test/");
        let past = Instant::now() - Duration::from_secs(1);
        source.remember("typeform", Secrets::parse("new,old"), past);
        source.remember("calendly", None, past);

        let served = source.secrets("typeform").await.unwrap().unwrap();
        assert_eq!(served.values().collect::<Vec<_>>(), ["new", "old"]);
        // Re-checked soon, not at once on every request.
        let entry = source.cached("typeform").unwrap();
        assert!(entry.refresh_at > Instant::now());
        assert!(entry.refresh_at <= Instant::now() + STALE_RETRY);

        // A cached "missing" is not served through an outage: the provider should retry.
        assert!(source.secrets("calendly").await.is_err());
        // A prefetch that fails keeps the stale value too.
        let past = Instant::now() - Duration::from_secs(1);
        source.remember("typeform", Secrets::parse("new,old"), past);
        let err = source.prefetch(&["typeform"]).await.unwrap_err();
        assert!(err.0.contains("typeform"), "{err}");
        assert!(source.secrets("typeform").await.unwrap().is_some());
    }

    #[test]
    fn location_debug_and_values() {
        let source = SecretsManagerSource::new(dead_client(), "handoff/prod/providers/")
            .with_ttl(Duration::from_secs(7));
        assert_eq!(
            source.location("typeform"),
            "secret handoff/prod/providers/typeform"
        );
        assert_eq!(source.ttl(), Duration::from_secs(7));
        source.remember(
            "typeform",
            Secrets::parse("s3cr3t-value"),
            Instant::now() + Duration::from_secs(60),
        );
        assert!(!format!("{source:?}").contains("s3cr3t"));

        let blob = Blob::new("user:pass");
        let basic = value_of("x", None, Some(&blob)).unwrap();
        assert_eq!(basic.current(), "user:pass");
        assert!(value_of("x", None, Some(&Blob::new(vec![0xff, 0xfe]))).is_none());
        assert!(value_of("x", Some(" , "), None).is_none());
        assert!(value_of("x", None, None).is_none());
    }
}
