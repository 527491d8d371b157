//! SDK configuration: [`aws_config_from_env`] for the Lambda functions and the tests,
//! [`operator_config`] for the operator commands of the CLI.

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

pub use aws_config::SdkConfig;

/// The region used when none is configured (Lambda always sets `AWS_REGION`; this default is
/// for the tests and the local emulator).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Loads the shared SDK configuration the standard way (environment, profile, container or
/// instance credentials), with the region defaulting to [`DEFAULT_REGION`]. For the Lambda
/// functions and the tests; an operator's command uses [`operator_config`], which refuses to
/// guess the region.
///
/// `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS` /
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER`)
/// is honoured by the SDK's own loader, which is how tests and the local demo point the clients
/// at the emulator started by `scripts/emulator.sh`. The library never invents credentials:
/// tests against the emulator set `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` themselves.
pub async fn aws_config_from_env() -> SdkConfig {
    let region = RegionProviderChain::default_provider().or_else(Region::new(DEFAULT_REGION));
    aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .load()
        .await
}

/// Why [`operator_config`] has no configuration to offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No region anywhere: not passed, not in the environment, not in the profile.
    #[error("no AWS region: set AWS_REGION, pass --region, or set region in your profile (~/.aws/config){}",
        .profile.as_deref().map(|p| format!("; profile `{p}` has no region or is not defined")).unwrap_or_default())]
    NoRegion {
        /// The profile that was asked for (`--profile`), if any.
        profile: Option<String>,
    },
    /// The credential sources yield no credentials (none configured, an SSO login that is
    /// missing or expired, a failing `credential_process`, …).
    #[error("cannot load AWS credentials{}: {reason}\n  hint: {hint}",
        .profile.as_deref().map(|p| format!(" for profile `{p}`")).unwrap_or_default())]
    Credentials {
        /// The profile that was asked for (`--profile`), if any.
        profile: Option<String>,
        /// What the credential providers said, outermost first.
        reason: String,
        /// What to do about it.
        hint: String,
    },
}

/// The SDK configuration for a command an operator runs from their own machine (`handoff rules
/// push`, `handoff rep away|back --table`, …).
///
/// `profile` (else `AWS_PROFILE`, else `default`) selects the profile in `~/.aws/config` /
/// `~/.aws/credentials` (or `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`); with the crate
/// feature `operator` (the CLI's `aws` feature turns it on) that includes IAM Identity Center
/// profiles (`sso_session` or `sso_start_url`, after `aws sso login`) and `credential_process`,
/// besides static keys, `role_arn` + `source_profile`, web identity and the environment.
///
/// `region` wins over `AWS_REGION` / `AWS_DEFAULT_REGION`, which win over the profile's `region`
/// (then instance metadata). Unlike [`aws_config_from_env`] there is no fallback: with no region
/// anywhere this is [`ConfigError::NoRegion`], never a silent `us-east-1`: a deployment in
/// another region would otherwise show up as a puzzling "table not found", or a same-named
/// table in us-east-1 would be changed instead.
///
/// The credentials are loaded here, once, so that a missing or expired login is
/// [`ConfigError::Credentials`] with a hint (`aws sso login …`) instead of the first request's
/// dispatch failure; the loaded credentials serve the first request (a `credential_process` does
/// not run twice) and the profile's provider refreshes them after that.
///
/// `AWS_ENDPOINT_URL` (e.g. the emulator) is honoured as in [`aws_config_from_env`].
pub async fn operator_config(
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<SdkConfig, ConfigError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let config = loader.load().await;
    if config.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
        return Err(ConfigError::NoRegion {
            profile: profile.map(str::to_owned),
        });
    }
    let provider = config
        .credentials_provider()
        .ok_or_else(|| credentials_error(profile, "no credential provider is configured".into()))?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| credentials_error(profile, error_chain(&e)))?;
    let provider = SharedCredentialsProvider::new(FirstThen {
        first: std::sync::Mutex::new(Some(credentials)),
        then: provider,
    });
    Ok(config.into_builder().credentials_provider(provider).build())
}

/// [`ConfigError::Credentials`] with a hint chosen from what the providers said.
fn credentials_error(profile: Option<&str>, reason: String) -> ConfigError {
    let lower = reason.to_ascii_lowercase();
    let named = |what: &str| match profile {
        Some(p) => format!("{what} of profile `{p}`"),
        None => format!("{what} of the profile in AWS_PROFILE (else `default`)"),
    };
    let hint = if lower.contains("sso") {
        match profile {
            Some(p) => format!("sign in with `aws sso login --profile {p}`"),
            None => "sign in with `aws sso login` (for the profile in AWS_PROFILE)".to_string(),
        }
    } else if lower.contains("external process") || lower.contains("credential_process") {
        format!(
            "check the `credential_process` {}: run it yourself; it must exit 0 and print the \
             credentials as JSON",
            named("command")
        )
    } else if lower.contains("no credentials found") || lower.contains("not enabled") {
        "pass --profile (or set AWS_PROFILE) for a profile in ~/.aws/config — create one with \
         `aws configure sso` (IAM Identity Center) or `aws configure` — or export \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            .to_string()
    } else {
        format!("check the settings {} in ~/.aws/config", named("section"))
    };
    ConfigError::Credentials {
        profile: profile.map(str::to_owned),
        reason,
        hint,
    }
}

/// `e` and its sources, joined with ": ", without repeating a message.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let msg = err.to_string();
        if !parts.contains(&msg) {
            parts.push(msg);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// Credentials loaded ahead of the first request, then the real provider: the SDK's identity
/// cache asks once for the first request and again only when they expire.
#[derive(Debug)]
struct FirstThen {
    first: std::sync::Mutex<Option<Credentials>>,
    then: SharedCredentialsProvider,
}

impl ProvideCredentials for FirstThen {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().map(|mut f| f.take()).unwrap_or(None);
        match first {
            Some(credentials) => future::ProvideCredentials::ready(Ok(credentials)),
            None => self.then.provide_credentials(),
        }
    }
}

/// A DynamoDB client for `config`.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// An SQS client for `config`.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

/// A Secrets Manager client for `config` (the endpoint, e.g. the emulator's, comes with it).
pub fn secretsmanager_client(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}
