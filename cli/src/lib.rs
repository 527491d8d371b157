//! # handoff-cli
//!
//! The `handoff` command and the one-process local runtime it is built on.
//!
//! - [`runtime`]: the pipeline on the embedded default (SQLite store + queues, file CRM, log notifier).
//! - [`serve`]: HTTP on 127.0.0.1, stage workers and the failover sweep timer.
//! - [`demo`]: realistic events through the real pipeline with a test clock;
//!   [`demo_payloads`]: the providers' documented payloads, signed, through the real routes.
//! - [`classify_cmd`], [`rules_cmd`]: side-effect-free tools.
//! - [`provider_cmd`]: raw provider payloads: `handoff sign`, `handoff classify --source`.
//! - [`simulate_cmd`]: `handoff simulate`, what-if replay of a rules change (local or `--table`).
//! - [`erase_cmd`]: `handoff erase --email`, a buyer's deletion request (local or `--table`).
//! - [`bench`]: throughput figures.
//! - [`output`]: standard output that stops quietly when the reader goes away (`| head`).

pub mod bench;
pub mod classify_cmd;
#[cfg(feature = "aws")]
pub mod cloud_cmd;
pub mod demo;
pub mod demo_payloads;
pub mod erase_cmd;
pub mod eval_cmd;
pub mod output;
pub mod provider_cmd;
pub mod rules_cmd;
pub mod runtime;
pub mod serve;
pub mod simulate_cmd;
