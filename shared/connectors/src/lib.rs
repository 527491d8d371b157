//! # handoff-connectors
//!
//! The outside-facing edge of intake: providers call handoff in their own formats, and this
//! crate turns each request into canonical [`IntakeEvent`](handoff_domain::event::IntakeEvent)s
//! — after checking its credentials over the raw bytes.
//!
//! - [`request`]: the raw request (method, URL as called, headers, body bytes).
//! - [`provider`]: the [`Provider`](provider::Provider) trait (`verify`, `parse`, `sign`), its
//!   errors, rotation-aware [`Secrets`](provider::Secrets).
//! - [`json`]: reading JSON bodies (errors name line and column) and small accessors.
//! - [`signature`]: HMAC helpers (constant-time verify through the `hmac` crate) and the
//!   `t=…,v1=…` header shared by Calendly and handoff's own scheme.
//! - [`email`]: what the inbound-email providers share (multipart, MIME, addresses, threading).
//! - [`providers`]: one file per provider; [`registry`] lists them.
//! - [`hubspot_contacts`]: reads the HubSpot contacts that Webhooks API events only name.
//! - [`secrets`]: the secrets port (environment locally, Secrets Manager in Lambda).
//! - [`once`]: the one-time-token port (Mailgun tokens are accepted once).
//! - [`samples`]: the providers' documented payloads, for the demo, the tests and the fuzzers.

pub mod email;
pub mod fields;
pub mod hubspot_contacts;
pub mod json;
pub mod once;
pub mod outbound;
pub mod provider;
pub mod providers;
pub mod registry;
pub mod request;
pub mod samples;
pub mod secrets;
pub mod signature;
#[cfg(test)]
mod testing;

pub use provider::{AuthError, ParseError, Parsed, Provider, Secrets, Verified};
pub use request::RawRequest;
