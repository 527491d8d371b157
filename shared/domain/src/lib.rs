//! # handoff-domain
//!
//! The pure core of handoff: no I/O, no AWS, HTTP or database types.
//!
//! - [`ids`]: newtypes that cannot be invalid (email, domain, handoff/rep/team ids).
//! - [`event`]: canonical intake events every provider payload becomes.
//! - [`package`]: the six-part handoff package and its labels.
//! - [`classify`]: deterministic, explainable classification.
//! - [`routing`] and [`sla`]: rule layers, round robin, business-minute SLAs, failover.
//! - [`lifecycle`]: the state machine, the stored record and its timeline.
//! - [`config`]: rules and roster from TOML.
//! - [`ports`]: traits the adapters implement.
//! - [`judge`]: the optional second opinion on low-confidence cases and what it may change.
//! - [`privacy`]: retention of closed handoffs and what erasing a buyer removed.
//! - [`service`]: the use cases (intake, classify, assign, sweep, claim, audit) over the ports.
//! - [`claim_link`]: signed, expiring claim links.
//! - [`audit`]: weekly metrics from timelines.
//! - [`evaluation`]: the classifier measured against labelled messages (`handoff eval`).
//! - [`simulate`]: what-if replay of a period's handoffs under proposed rules (`handoff simulate`).

pub mod audit;
pub mod claim_link;
pub mod classify;
pub mod config;
pub mod evaluation;
pub mod event;
pub mod ids;
pub mod judge;
pub mod lifecycle;
pub mod package;
pub mod ports;
pub mod privacy;
pub mod render;
pub mod routing;
pub mod service;
pub mod simulate;
pub mod sla;
