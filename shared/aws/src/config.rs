//! SDK configuration from the environment.

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The region used when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Loads the shared SDK configuration the standard way (environment, profile, container or
/// instance credentials), with the region defaulting to [`DEFAULT_REGION`].
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
