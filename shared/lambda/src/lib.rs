//! # handoff-lambda
//!
//! What every handoff Lambda binary shares, so each `main.rs` stays a few lines of wiring:
//!
//! - [`logging`]: JSON logs with the fields Powertools users know (level, message, timestamp,
//!   service, cold_start, function_request_id, xray_trace_id); never event bodies or emails.
//! - [`env`]: configuration from the environment, failing fast with the variable's name.
//! - [`wiring`]: builds the [`Services`](handoff_domain::service::Services) on DynamoDB + SQS once per cold start.
//! - [`sqs`]: an SQS batch → stage handler with partial batch failures and reasoned dead letters.
//! - [`schedule`]: the EventBridge-scheduled failover sweep and audit.

pub mod env;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod run;
pub mod schedule;
pub mod sqs;
pub mod wiring;
