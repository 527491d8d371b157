//! One file per provider; each implements [`crate::provider::Provider`].

pub mod agent;
pub mod calcom;
pub mod calendly;
pub mod hubspot;
pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod tally;
pub mod typeform;
