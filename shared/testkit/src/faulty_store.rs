//! The old home of [`FaultyStore`], kept so existing imports work: the store wrapper now lives
//! in [`crate::faults`] with one fault-injecting wrapper per port, all sharing a
//! [`FaultPlan`](crate::faults::FaultPlan).
//!
//! ```text
//! let store = FaultyStore::new(real_store);
//! store.fail_next("set_account_owner", 1);
//! ```

pub use crate::faults::FaultyStore;
