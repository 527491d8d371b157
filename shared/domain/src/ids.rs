//! Identifier and address newtypes that cannot hold an invalid value once built.
//!
//! Each type has a private field and is constructed only through `parse` (or `TryFrom<String>`),
//! so serde rejects bad input at the boundary with a message naming what is wrong.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Why a raw string was refused as an identifier or address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("{kind} must not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} is too long ({len} > {max} characters)")]
    TooLong {
        kind: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{kind} {value:?} is not valid: {reason}")]
    Invalid {
        kind: &'static str,
        value: String,
        reason: &'static str,
    },
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $parse:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and normalises a raw value.
            pub fn parse(raw: impl AsRef<str>) -> Result<Self, IdError> {
                let f: fn(&str) -> Result<String, IdError> = $parse;
                f(raw.as_ref()).map(Self)
            }
            /// The normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn bounded(kind: &'static str, raw: &str, max: usize) -> Result<String, IdError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if v.chars().count() > max {
        return Err(IdError::TooLong {
            kind,
            len: v.chars().count(),
            max,
        });
    }
    Ok(v.to_string())
}

fn slug(kind: &'static str, raw: &str) -> Result<String, IdError> {
    let v = bounded(kind, raw, 64)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.')
    {
        return Err(IdError::Invalid {
            kind,
            value: v,
            reason: "use lowercase letters, digits, '-', '_' or '.'",
        });
    }
    Ok(v)
}

fn parse_handoff_id(raw: &str) -> Result<String, IdError> {
    let v = bounded("handoff id", raw, 64)?;
    if !v.starts_with("h_") || !v[2..].chars().all(|c| c.is_ascii_hexdigit()) || v.len() != 34 {
        return Err(IdError::Invalid {
            kind: "handoff id",
            value: v,
            reason: "expected h_ followed by 32 hex digits",
        });
    }
    Ok(v.to_ascii_lowercase())
}

fn parse_email(raw: &str) -> Result<String, IdError> {
    let v = bounded("email address", raw, 254)?.to_ascii_lowercase();
    let invalid = |reason| IdError::Invalid {
        kind: "email address",
        value: v.clone(),
        reason,
    };
    let (local, domain) = v.rsplit_once('@').ok_or_else(|| invalid("missing '@'"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(invalid("the part before '@' must be 1 to 64 characters"));
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
    {
        return Err(invalid("the part before '@' has a forbidden character"));
    }
    parse_domain_inner(domain).map_err(|_| invalid("the part after '@' is not a domain"))?;
    Ok(v)
}

fn parse_domain_inner(raw: &str) -> Result<String, &'static str> {
    let v = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let v = v.strip_prefix("www.").unwrap_or(&v).to_string();
    if v.len() > 253 || !v.contains('.') {
        return Err("a domain needs at least one dot and at most 253 characters");
    }
    for label in v.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each label must be 1 to 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label must not start or end with '-'");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("use letters, digits and '-' only");
        }
    }
    Ok(v)
}

fn parse_domain(raw: &str) -> Result<String, IdError> {
    let v = bounded("company domain", raw, 253)?;
    parse_domain_inner(&v).map_err(|reason| IdError::Invalid {
        kind: "company domain",
        value: v,
        reason,
    })
}

string_newtype!(
    /// A handoff's id: `h_` + 32 hex digits, derived from the event's dedup key so a replay maps to the same handoff.
    HandoffId,
    "handoff id",
    parse_handoff_id
);
string_newtype!(
    /// A sales rep's id as written in the roster (lowercase slug).
    RepId,
    "rep id",
    |raw| slug("rep id", raw)
);
string_newtype!(
    /// A team's id as written in the roster (lowercase slug).
    TeamId,
    "team id",
    |raw| slug("team id", raw)
);
string_newtype!(
    /// The provider's own id for an event, the idempotency key for intake.
    ProviderEventId,
    "provider event id",
    |raw| bounded("provider event id", raw, 256)
);
string_newtype!(
    /// Where an event came from (`website`, `typeform`, `alim`, `vera`…), a lowercase slug.
    SourceName,
    "source",
    |raw| slug("source", &raw.trim().to_ascii_lowercase())
);
string_newtype!(
    /// A syntactically valid, lowercased email address.
    EmailAddress,
    "email address",
    parse_email
);
string_newtype!(
    /// A company's internet domain, lowercased, without `www.`.
    CompanyDomain,
    "company domain",
    parse_domain
);

/// Mail providers whose domain says nothing about the buyer's company.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.ru",
    "qq.com",
];

impl EmailAddress {
    /// The part after `@`.
    pub fn domain_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The company domain of this address, unless it is a free-mail provider.
    pub fn company_domain(&self) -> Option<CompanyDomain> {
        let d = self.domain_part();
        if FREE_MAIL.contains(&d) {
            None
        } else {
            CompanyDomain::parse(d).ok()
        }
    }
}

impl HandoffId {
    /// The deterministic id of the handoff born from `source` + `provider_event_id`.
    pub fn for_event(source: &SourceName, event_id: &ProviderEventId) -> Self {
        const NAMESPACE: uuid::Uuid =
            uuid::Uuid::from_u128(0x6f1c_2b9e_4d1a_4f0e_9a51_3c7d_2e8b_1f00);
        let key = format!("{}\u{1f}{}", source.as_str(), event_id.as_str());
        let u = uuid::Uuid::new_v5(&NAMESPACE, key.as_bytes());
        Self(format!("h_{}", u.simple()))
    }
}

/// A token unique across processes and calls: a hash of the process's start (time and pid)
/// and a counter. For lease holders and message tokens, never for anything secret.
pub fn unique_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static PROCESS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let process = PROCESS.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = format!("{nanos}-{}", std::process::id());
        let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, seed.as_bytes());
        id.simple().to_string()[..12].to_string()
    });
    format!("{process}-{}", COUNT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Dana@Acme.COM ").unwrap().as_str(),
            "dana@acme.com"
        );
        assert!(EmailAddress::parse("dana.acme.com").is_err());
        assert!(EmailAddress::parse("dana@acme").is_err());
        assert!(EmailAddress::parse("@acme.com").is_err());
        assert!(EmailAddress::parse("da na@acme.com").is_err());
    }

    #[test]
    fn company_domain_skips_free_mail() {
        let e = EmailAddress::parse("x@gmail.com").unwrap();
        assert_eq!(e.company_domain(), None);
        let e = EmailAddress::parse("x@sub.acme.io").unwrap();
        assert_eq!(e.company_domain().unwrap().as_str(), "sub.acme.io");
    }

    #[test]
    fn domain_strips_www() {
        assert_eq!(
            CompanyDomain::parse("WWW.Acme.com.").unwrap().as_str(),
            "acme.com"
        );
        assert!(CompanyDomain::parse("-acme.com").is_err());
        assert!(CompanyDomain::parse("acme").is_err());
    }

    #[test]
    fn handoff_id_is_deterministic_and_parseable() {
        let s = SourceName::parse("Typeform").unwrap();
        let e = ProviderEventId::parse("evt-1").unwrap();
        let a = HandoffId::for_event(&s, &e);
        assert_eq!(a, HandoffId::for_event(&s, &e));
        assert_ne!(
            a,
            HandoffId::for_event(&s, &ProviderEventId::parse("evt-2").unwrap())
        );
        assert_eq!(HandoffId::parse(a.as_str()).unwrap(), a);
        assert!(HandoffId::parse("h_zz").is_err());
    }

    #[test]
    fn serde_rejects_invalid_values() {
        let r: Result<RepId, _> = serde_json::from_str("\"Not A Slug\"");
        assert!(r.unwrap_err().to_string().contains("rep id"));
    }

    #[test]
    fn unique_tokens_differ_across_calls_and_threads() {
        let mut all: Vec<String> = (0..1000).map(|_| super::unique_token()).collect();
        let others: Vec<String> =
            std::thread::spawn(|| (0..1000).map(|_| super::unique_token()).collect())
                .join()
                .unwrap();
        all.extend(others);
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
    }
}
