//! What the adapter writes: the Lead, the Task and their fields, and the `Lead/<id>` /
//! `Contact/<id>` references recorded in the refs.
//!
//! Buyer text is escaped on the way in ([`escape`]): the name, company and title are one line
//! each, the configured fields keep `\n` as their only line break, and the Task's description is
//! the package text, whose buyer values cannot start a line of their own.

use chrono::{DateTime, Utc};
use handoff_domain::ports::{CrmWrite, DeliveryError};
use handoff_domain::render::escape;
use serde_json::{Map, Value};

/// The longest Task `Description` (and Note `Body`) Salesforce stores.
pub const DESCRIPTION_LIMIT: usize = 32_000;

/// The configured Lead/Contact fields of this write.
pub(super) fn configured_fields(
    fields: &[(String, String)],
    write: &CrmWrite,
    into: &mut Map<String, Value>,
) {
    for (field, value) in &write.fields {
        if let Some((_, api_name)) = fields.iter().find(|(k, _)| k == field.as_str()) {
            into.insert(
                api_name.clone(),
                Value::from(clip(&escape::plain_text(value), DESCRIPTION_LIMIT)),
            );
        }
    }
}

/// The new Lead: name, company, email, title, source, owner and the configured fields.
pub(super) fn lead_body(fields: &[(String, String)], write: &CrmWrite) -> Map<String, Value> {
    let b = &write.package.classification.buyer;
    let mut m = Map::new();
    let name = b.name.as_deref().map(escape::plain_line);
    let name = name.as_deref().filter(|n| !n.is_empty());
    let (first, last) = match name.and_then(|n| n.rsplit_once(char::is_whitespace)) {
        Some((first, last)) => (Some(first.trim()), last.trim().to_string()),
        None => (
            None,
            name.map(str::to_string).unwrap_or_else(|| {
                b.email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or("unknown")
                    .to_string()
            }),
        ),
    };
    if let Some(f) = first.filter(|f| !f.is_empty()) {
        m.insert("FirstName".into(), Value::from(clip(f, 40)));
    }
    m.insert("LastName".into(), Value::from(clip(&last, 80)));
    let company = b
        .company
        .as_deref()
        .map(escape::plain_line)
        .filter(|c| !c.is_empty())
        .or_else(|| b.company_domain.as_ref().map(|d| d.to_string()))
        .or_else(|| b.email.company_domain().map(|d| d.to_string()))
        .unwrap_or_else(|| "Unknown".into());
    m.insert("Company".into(), Value::from(clip(&company, 255)));
    m.insert("Email".into(), Value::from(b.email.as_str()));
    if let Some(t) = b
        .role
        .as_deref()
        .map(escape::plain_line)
        .filter(|t| !t.is_empty())
    {
        m.insert("Title".into(), Value::from(clip(&t, 128)));
    }
    m.insert(
        "LeadSource".into(),
        Value::from(clip(b.source.as_str(), 40)),
    );
    if let Some(o) = wanted_owner(write) {
        m.insert("OwnerId".into(), Value::from(o));
    }
    configured_fields(fields, write, &mut m);
    m
}

/// The Lead or Contact a handoff is written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Who {
    pub(super) object: &'static str,
    pub(super) id: String,
}

impl Who {
    pub(super) fn lead(id: String) -> Self {
        Self { object: "Lead", id }
    }
    pub(super) fn contact(id: String) -> Self {
        Self {
            object: "Contact",
            id,
        }
    }
    /// `Lead/00Q…` or `Contact/003…`.
    pub(super) fn parse(r: &str) -> Option<Self> {
        match r.split_once('/') {
            Some(("Lead", id)) if !id.is_empty() => Some(Self::lead(id.into())),
            Some(("Contact", id)) if !id.is_empty() => Some(Self::contact(id.into())),
            _ => None,
        }
    }
    /// From a record id's key prefix (`00Q` Lead, `003` Contact).
    pub(super) fn from_id(id: &str) -> Option<Self> {
        if id.starts_with("00Q") {
            Some(Self::lead(id.into()))
        } else if id.starts_with("003") {
            Some(Self::contact(id.into()))
        } else {
            None
        }
    }
    pub(super) fn to_ref(&self) -> String {
        format!("{}/{}", self.object, self.id)
    }
}

/// The Task for the owner: the package in `Description`, the handoff id in `Subject` (the
/// find step recognises it by that) and at the end of `Description`.
pub(super) fn task_body(write: &CrmWrite, who_id: &str) -> Map<String, Value> {
    let p = &write.package;
    let c = &p.classification;
    let id = p.handoff_id.as_str();
    let one_line = |v: Option<&str>| v.map(escape::plain_line).filter(|v| !v.is_empty());
    let buyer = match (
        one_line(c.buyer.name.as_deref()),
        one_line(c.buyer.company.as_deref()),
    ) {
        (Some(n), Some(co)) => format!("{n} ({co})"),
        (Some(n), None) => n.to_string(),
        (None, Some(co)) => format!("{} ({co})", c.buyer.email),
        (None, None) => c.buyer.email.to_string(),
    };
    let tag = format!(" [{id}]");
    let subject = format!(
        "{}{tag}",
        clip(
            &format!("Handoff: {} — {buyer}", c.trigger.phrase()),
            255 - tag.chars().count()
        )
    );
    let footer = format!("\n\nHandoff {id}");
    let description = format!(
        "{}{footer}",
        clip(
            write.text.trim_end(),
            DESCRIPTION_LIMIT - footer.chars().count()
        )
    );
    let hot = c.human_decision.is_some()
        || p.sla
            .as_ref()
            .is_some_and(|s| s.policy.ends_with("/hot") || s.policy.starts_with("human_decision/"));
    let mut m = Map::new();
    m.insert("WhoId".into(), Value::from(who_id));
    if let Some(o) = wanted_owner(write) {
        m.insert("OwnerId".into(), Value::from(o));
    }
    m.insert("Subject".into(), Value::from(subject));
    if let Some(d) = wanted_due(write) {
        m.insert(
            "ActivityDate".into(),
            Value::from(d.format("%Y-%m-%d").to_string()),
        );
    }
    m.insert("Description".into(), Value::from(description));
    m.insert("Status".into(), Value::from("Not Started"));
    m.insert(
        "Priority".into(),
        Value::from(if hot { "High" } else { "Normal" }),
    );
    m
}

/// The owner's Salesforce user id (`None`: the shared queue).
pub(super) fn wanted_owner(write: &CrmWrite) -> Option<String> {
    write
        .owner_ids
        .salesforce_user_id
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string)
}

pub(super) fn wanted_due(write: &CrmWrite) -> Option<DateTime<Utc>> {
    write.package.sla.as_ref().map(|s| s.deadline)
}

pub(super) fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub(super) fn missing_id(object: &str) -> DeliveryError {
    DeliveryError::Permanent(format!(
        "salesforce: the composite answer holds no id for the new {object}"
    ))
}

/// At most `max` characters of `s` (Salesforce counts characters).
pub(super) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => s[..at].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_refs_round_trip() {
        assert_eq!(
            Who::parse("Lead/00Q1").map(|w| w.to_ref()).as_deref(),
            Some("Lead/00Q1")
        );
        assert_eq!(Who::parse("Contact/0031").unwrap().object, "Contact");
        assert_eq!(Who::parse("Account/001"), None);
        assert_eq!(Who::parse("Lead/"), None);
        assert_eq!(Who::from_id("003abc").unwrap().object, "Contact");
        assert_eq!(Who::from_id("005abc"), None);
    }

    #[test]
    fn buyer_values_reach_salesforce_as_clean_lines() {
        use handoff_testkit::fixtures;
        let (record, _) = fixtures::record("sf-hostile");
        let mut package = fixtures::package(&record);
        let b = &mut package.classification.buyer;
        b.name = Some("Ann\u{2028}Actions: Lee\u{200B}".into());
        b.company = Some("Acme\r\nInc\u{1b}[2K".into());
        b.role = Some("\u{202E}CEO\u{85}".into());
        let write = fixtures::crm_write(&package);
        let fields = vec![("next_step".to_string(), "Next_Step__c".to_string())];

        let lead = lead_body(&fields, &write);
        assert_eq!(lead["FirstName"], "Ann Actions:");
        assert_eq!(lead["LastName"], "Lee");
        assert_eq!(lead["Company"], "Acme Inc[2K");
        assert_eq!(lead["Title"], "CEO");
        let task = task_body(&write, "00Q1");
        let subject = task["Subject"].as_str().unwrap();
        assert!(
            subject.contains("Ann Actions: Lee (Acme Inc[2K)"),
            "{subject}"
        );
        let description = task["Description"].as_str().unwrap();
        assert!(
            description
                .lines()
                .all(|l| !l.trim_start().starts_with("Actions:")),
            "{description}"
        );
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("ääää", 2), "ää");
        assert_eq!(clip("ab", 5), "ab");
    }
}
