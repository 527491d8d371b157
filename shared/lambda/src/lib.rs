//! # handoff-lambda
//!
//! What every handoff Lambda binary shares, so each `main.rs` stays a few lines of wiring:
//!
//! - [`logging`]: JSON logs for Lambda's JSON log format with the fields Powertools users know
//!   (level, message, timestamp, service, location, cold_start, function_name, function_arn,
//!   function_memory_size, function_request_id, xray_trace_id, exception); never personal data.
//! - [`metrics`]: CloudWatch EMF documents in the namespace `handoff`, by deployment `stage`.
//! - [`env`]: configuration from the environment, failing fast with the variable's name.
//! - [`wiring`]: builds the [`Services`](handoff_domain::service::Services) on DynamoDB + SQS once per cold start.
//! - [`run`]: the `main` of the SQS-triggered and scheduled functions.
//! - [`http`]: the function URLs (intake, claim): the shared router, log context and metrics.
//! - [`sqs`]: an SQS batch → stage handler with partial batch failures and reasoned dead letters.
//! - [`tally`]: counts what a stage did (classified, assigned, CRM writes, notifications).
//! - [`schedule`]: the EventBridge-scheduled failover sweep and audit.

pub mod env;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod run;
pub mod schedule;
pub mod sqs;
pub mod tally;
pub mod wiring;
