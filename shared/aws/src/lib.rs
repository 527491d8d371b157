//! # handoff-aws
//!
//! The AWS adapters of the handoff ports, run against DynamoDB and SQS (or the moto emulator
//! started by `scripts/emulator.sh`, through `AWS_ENDPOINT_URL`).
//!
//! - [`store`]: [`DynamoStore`], the `HandoffStore` on one DynamoDB table (the single-table
//!   layout is documented there), with [`store::keys`] (key shapes) and [`store::codec`]
//!   (items ⇄ domain values, error mapping).
//! - [`queue`]: [`SqsQueue`], the `StageQueue` on one SQS queue + dead-letter queue per stage.
//! - [`rules`]: [`DynamoRules`], the `RulesSource` reading versioned rules items, and
//!   [`push_rules`] to publish a new version.
//! - The same [`DynamoStore`] is also the `ThreadIndex` (outbound thread context by message id)
//!   and the `OnceTokens` ledger (one-time tokens, conditional put with a TTL).
//! - [`secrets`]: [`SecretsManagerSource`], provider webhook secrets from Secrets Manager,
//!   cached with a TTL.
//! - [`provision`]: [`ensure_table`] and [`ensure_queues`], idempotent resource creation.
//! - [`judge`]: [`judge::BedrockJudge`], the optional second opinion on low-confidence cases
//!   (Bedrock Runtime `Converse` with a forced tool), and [`judge::ConfiguredJudge`], which
//!   follows the rules' `[judge]`.
//! - [`s3`]: [`s3::ReportBucket`], the bucket the weekly audit writes its HTML and JSON to,
//!   with a presigned link for the Slack summary.
//! - [`config`]: [`aws_config_from_env`], the SDK configuration (region default `us-east-1`).
//! - [`error`]: [`AwsError`] for provisioning and publishing.
//!
//! The adapters map AWS failures onto the ports' errors: throttling, timeouts, dispatch and
//! server errors are transient (`Unavailable`); refused requests and undecodable items are
//! permanent (`Corrupt`); failed conditions become `VersionConflict` / `AlreadyExists` /
//! `NotFound` as the port documents.

pub mod calls;
pub mod config;
pub mod error;
pub mod judge;
pub mod provision;
pub mod queue;
pub mod rules;
pub mod s3;
pub mod secrets;
pub mod ses;
pub mod store;

pub use config::aws_config_from_env;
pub use error::AwsError;
pub use provision::{ensure_queues, ensure_table};
pub use queue::SqsQueue;
pub use rules::{push_rules, DynamoRules, PushRulesError};
pub use secrets::SecretsManagerSource;
pub use ses::SesMailSender;
pub use store::DynamoStore;
