//! Fault injection at every port: one wrapper per port (store and thread index, queue, CRM,
//! notifier, secrets), all consulting one shared [`FaultPlan`], and the seeded fault
//! [`campaign`] that runs the whole pipeline through them on any store.
//!
//! A wrapper asks the plan before each call of its inner adapter. The plan answers "go on" or a
//! [`FaultKind`]: throttled, timed out, a server error (all transient), rejected for good (CRM
//! and notifier only), or an error *after the write succeeded* (the wrapper calls the inner
//! adapter, then answers a transient error anyway: an ambiguous outcome). A crash between two
//! steps is the campaign consumer's: it runs a stage and then does not answer the delivery
//! ([`FaultKind::CrashBeforeAnswer`], asked of the plan as [`Port::Consumer`]).
//!
//! Two ways to drive a plan, which combine:
//! - scripted: [`FaultPlan::script`] (or a wrapper's `fail_next` / `fail_next_with`) makes the
//!   next N calls of one method fail with one kind;
//! - seeded: [`FaultPlan::seeded`] fails each call with a probability per port, drawing from a
//!   small deterministic generator ([`rng`]) keyed by the seed, the call and the handoff it is
//!   about, so a run is reproducible from its printed seed.
//!
//! Every injection is logged with the handoff it concerned (from the call's arguments, or from
//! [`on_behalf_of`] around a unit of work), so a report can say which fault hit which event.
//!
//! ```text
//! let plan = Arc::new(FaultPlan::quiet());
//! let store = FaultyStore::with_plan(real_store, plan.clone());
//! store.fail_next_with("update", FaultKind::ErrorAfterWrite, 1);
//! ```

pub mod campaign;
mod crm;
pub mod fakes;
mod notifier;
mod plan;
mod queue;
pub mod rng;
mod secrets;
mod store;

pub use crm::FaultyCrm;
pub use notifier::FaultyNotifier;
pub use plan::{on_behalf_of, Call, FaultKind, FaultPlan, Injection, Port, PortOdds};
pub use queue::FaultyQueue;
pub use secrets::FaultySecrets;
pub use store::{FaultyStore, FaultyThreads};
