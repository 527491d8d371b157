//! The one small trait every provider implements, and what it can answer.
//!
//! A provider file (`providers/typeform.rs`…) holds the provider's wire types, its `verify`
//! (headers + raw bytes against the secret(s) and the clock), its `parse` into canonical
//! [`IntakeEvent`]s, and its `sign` (what the provider does, for tests, the demo and
//! `handoff sign`). Adding a provider is one file and one line in [`crate::registry`].

use crate::request::RawRequest;
use chrono::{DateTime, Utc};
use handoff_domain::event::IntakeEvent;
use thiserror::Error;

/// The secret(s) configured for one provider, newest first. During a rotation both the old and
/// the new value are configured (a comma-separated list) and either one verifies.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Parses a comma-separated list; blanks are dropped. `None` when nothing usable is left.
    pub fn parse(list: &str) -> Option<Self> {
        let v: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        (!v.is_empty()).then_some(Self(v))
    }

    /// Every configured value, newest first.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The newest value (what a sender signs with).
    pub fn current(&self) -> &str {
        &self.0[0]
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets(<{} redacted>)", self.0.len())
    }
}

/// Why a request's credentials were refused (answered 401). Messages name what was wrong and
/// never echo a secret or the signature received.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// A credential that travels in the body (Mailgun's `timestamp`, `token`, `signature`).
    #[error("the {0} field is missing")]
    MissingField(&'static str),
    #[error("the {what} is malformed: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("the {0} does not match the request and the configured secret")]
    BadSignature(&'static str),
    #[error("the {what} is {age_secs} s away from now; at most {max_secs} s are accepted")]
    Expired {
        what: &'static str,
        age_secs: i64,
        max_secs: i64,
    },
    #[error("the {0} was already used; a signed token is accepted once")]
    Replayed(&'static str),
    #[error(
        "no secret is configured for this provider ({0} is not set); unsigned requests are refused"
    )]
    NoSecret(String),
}

/// A payload that could not be understood (answered 400), naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    /// The field or part of the payload (`form_response.answers[2].email`, `body`).
    pub field: String,
    pub message: String,
}

impl ParseError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A token that a verified request carries and that must be used only once (Mailgun's `token`:
/// the body is not signed, so a captured request could be replayed within the time window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnceToken {
    /// Unique key (`mailgun:<token>`).
    pub key: String,
    /// Until when it must be remembered (past that, the timestamp check refuses it anyway).
    pub remember_until: DateTime<Utc>,
}

/// What a successful verification tells the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// A token the caller must record as used before acting on the request.
    pub once: Option<OnceToken>,
}

/// A CRM contact a webhook names without its data (HubSpot's Webhooks API sends only ids): the
/// caller fetches the contact and builds the event with
/// [`crate::providers::hubspot::contact_to_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactLookup {
    /// The CRM's object id (`1246978`).
    pub object_id: String,
    /// The provider's event id (dedup key).
    pub provider_event_id: String,
    /// What happened (`contact.creation`).
    pub subscription_type: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// What a payload becomes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    /// Canonical events ready for intake.
    pub events: Vec<IntakeEvent>,
    /// Contacts to fetch from the CRM first.
    pub lookups: Vec<ContactLookup>,
}

impl Parsed {
    /// Only events.
    pub fn events(events: Vec<IntakeEvent>) -> Self {
        Self {
            events,
            lookups: Vec::new(),
        }
    }
}

/// One webhook provider.
pub trait Provider: Send + Sync + 'static {
    /// Short name: the `source` of its events, the `--source` of `handoff classify`, the secret
    /// variable's suffix (`HANDOFF_SECRET_<NAME>`).
    fn name(&self) -> &'static str;
    /// The route path (`/forms/typeform`).
    fn path(&self) -> &'static str;
    /// Media types accepted (parameters ignored); anything else is answered 415.
    fn media_types(&self) -> &'static [&'static str];
    /// Checks the request's credentials against the configured secret(s) and the clock.
    fn verify(
        &self,
        request: &RawRequest,
        secrets: &Secrets,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError>;
    /// Parses a (verified) payload into canonical events; never panics on any input.
    fn parse(&self, request: &RawRequest, received_at: DateTime<Utc>)
        -> Result<Parsed, ParseError>;
    /// Adds the provider's credentials to a request as the provider would (headers, or body
    /// fields for Mailgun), with `secret` at `now`.
    fn sign(&self, request: &mut RawRequest, secret: &str, now: DateTime<Utc>);
}

/// Refuses a timestamp further than `max_secs` from `now` (either way: a clock far in the future
/// is as suspicious as an old one).
pub fn check_window(
    what: &'static str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_secs: i64,
) -> Result<(), AuthError> {
    let age_secs = (now - at).num_seconds();
    if age_secs.abs() > max_secs {
        return Err(AuthError::Expired {
            what,
            age_secs,
            max_secs,
        });
    }
    Ok(())
}

/// Tries `check` with every configured secret; the first that matches wins.
pub fn any_secret(secrets: &Secrets, mut check: impl FnMut(&[u8]) -> bool) -> bool {
    secrets.values().any(|s| check(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_parse_a_rotation_list_and_never_print_values() {
        let s = Secrets::parse(" new , old ,").unwrap();
        assert_eq!(s.values().collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(s.current(), "new");
        assert!(!format!("{s:?}").contains("new"));
        assert!(Secrets::parse(" , ").is_none());
        assert!(Secrets::parse("").is_none());
    }

    #[test]
    fn window_is_symmetric() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert!(check_window("t", now - chrono::Duration::seconds(300), now, 300).is_ok());
        assert!(check_window("t", now - chrono::Duration::seconds(301), now, 300).is_err());
        assert!(check_window("t", now + chrono::Duration::seconds(301), now, 300).is_err());
    }
}
