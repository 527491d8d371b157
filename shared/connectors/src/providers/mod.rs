//! One file per provider; each implements [`crate::provider::Provider`].

pub mod agent;
