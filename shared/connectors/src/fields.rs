//! Form answers → buyer fields, shared by every provider whose payload is a list of labelled
//! answers (Typeform, Tally, HubSpot properties, Calendly's questions, cal.com's responses).
//!
//! A field is recognised by its stable key or ref first (`email`, `company_name`,
//! `utm_campaign`), then by its label ("Work email", "Company", "Job title", "How can we help?").
//! What is not recognised is kept by label in [`FormLead::fields`], so the rep sees every answer.

use crate::provider::ParseError;
use handoff_domain::event::{Buyer, FormLead};
use handoff_domain::ids::{CompanyDomain, EmailAddress};
use std::collections::BTreeMap;

/// What a labelled answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Email,
    FullName,
    FirstName,
    LastName,
    Company,
    Website,
    Role,
    Phone,
    Country,
    Employees,
    Seats,
    Message,
    Product,
    Other,
}

/// Recognises a field by its key/ref and its label (both optional, matched case-insensitively).
pub fn kind_of(key: &str, label: &str) -> FieldKind {
    let norm = |s: &str| {
        s.trim()
            .to_ascii_lowercase()
            .replace(['-', ' ', '.'], "_")
            .trim_matches('_')
            .to_string()
    };
    for text in [norm(key), norm(label)] {
        if text.is_empty() {
            continue;
        }
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        let kind = if text.starts_with("utm_") || text.contains("hidden") {
            FieldKind::Other
        } else if has(&["email", "e_mail"]) {
            FieldKind::Email
        } else if has(&["first_name", "firstname", "given_name", "vorname", "prenom"]) {
            FieldKind::FirstName
        } else if has(&[
            "last_name",
            "lastname",
            "surname",
            "family_name",
            "nachname",
        ]) {
            FieldKind::LastName
        } else if has(&["website", "domain", "company_url", "url"]) {
            FieldKind::Website
        } else if has(&[
            "company_size",
            "employees",
            "headcount",
            "team_size",
            "numemployees",
        ]) {
            FieldKind::Employees
        } else if has(&["seats", "licenses", "licences", "users"]) {
            FieldKind::Seats
        } else if has(&[
            "company",
            "organisation",
            "organization",
            "business_name",
            "firma",
        ]) {
            FieldKind::Company
        } else if has(&["job_title", "jobtitle", "role", "position", "title"]) {
            FieldKind::Role
        } else if has(&["phone", "mobile", "telephone"]) {
            FieldKind::Phone
        } else if has(&["country", "land", "pays"]) {
            FieldKind::Country
        } else if has(&["product", "interest", "plan"]) {
            FieldKind::Product
        } else if has(&[
            "message",
            "help",
            "question",
            "comment",
            "notes",
            "describe",
            "tell_us",
            "problem",
            "challenge",
            "details",
            "long_text",
            "anything_else",
            "additional",
        ]) {
            FieldKind::Message
        } else if text == "name" || has(&["full_name", "your_name", "fullname"]) {
            FieldKind::FullName
        } else {
            continue;
        };
        return kind;
    }
    FieldKind::Other
}

/// Collects answers and builds the buyer and the form lead.
#[derive(Debug, Default, Clone)]
pub struct FormAnswers {
    email: Option<String>,
    full_name: Option<String>,
    first: Option<String>,
    last: Option<String>,
    company: Option<String>,
    website: Option<String>,
    role: Option<String>,
    phone: Option<String>,
    country: Option<String>,
    employees: Option<u32>,
    seats: Option<u32>,
    message: Vec<String>,
    product: Option<String>,
    fields: BTreeMap<String, String>,
}

impl FormAnswers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one answer; empty values are ignored. `label` names it in `fields` when unrecognised.
    pub fn add(&mut self, key: &str, label: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let set = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = Some(value.to_string());
            }
        };
        match kind_of(key, label) {
            FieldKind::Email => set(&mut self.email),
            FieldKind::FullName => set(&mut self.full_name),
            FieldKind::FirstName => set(&mut self.first),
            FieldKind::LastName => set(&mut self.last),
            FieldKind::Company => set(&mut self.company),
            FieldKind::Website => set(&mut self.website),
            FieldKind::Role => set(&mut self.role),
            FieldKind::Phone => set(&mut self.phone),
            FieldKind::Country => set(&mut self.country),
            FieldKind::Product => set(&mut self.product),
            FieldKind::Employees => {
                self.employees = self.employees.or_else(|| leading_number(value));
            }
            FieldKind::Seats => self.seats = self.seats.or_else(|| leading_number(value)),
            FieldKind::Message => self.message.push(value.to_string()),
            FieldKind::Other => {
                let name = if label.trim().is_empty() { key } else { label };
                let name = name.trim();
                if !name.is_empty() {
                    self.fields
                        .entry(name.to_string())
                        .or_insert_with(|| value.to_string());
                }
            }
        }
    }

    /// Sets the email when the payload carries it outside the answers (an attendee, a sender).
    pub fn set_email_if_missing(&mut self, email: &str) {
        if self.email.is_none() && !email.trim().is_empty() {
            self.email = Some(email.trim().to_string());
        }
    }

    /// Keeps an extra field by name (UTM values, the form's name).
    pub fn note(&mut self, name: &str, value: &str) {
        if !value.trim().is_empty() {
            self.fields
                .insert(name.to_string(), value.trim().to_string());
        }
    }

    /// The message lines collected so far, joined.
    pub fn message(&self) -> String {
        self.message.join("\n\n")
    }

    /// The buyer; `email_field` names the field in the error when the address is missing or bad.
    pub fn buyer(&self, email_field: &str) -> Result<Buyer, ParseError> {
        let raw = self
            .email
            .as_deref()
            .ok_or_else(|| ParseError::new(email_field, "no email address in the payload"))?;
        let email =
            EmailAddress::parse(raw).map_err(|e| ParseError::new(email_field, e.to_string()))?;
        let name = self.full_name.clone().or_else(|| {
            let joined = [self.first.as_deref(), self.last.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
        let company_domain = self
            .website
            .as_deref()
            .map(|w| {
                let w = w.trim();
                let w = w.split_once("://").map_or(w, |(_, r)| r);
                w.split(['/', '?', '#']).next().unwrap_or(w).to_string()
            })
            .and_then(|d| CompanyDomain::parse(d).ok());
        Ok(Buyer {
            email,
            name,
            company: self.company.clone(),
            company_domain,
            role: self.role.clone(),
            country: self.country.as_deref().and_then(country_code),
            employees: self.employees,
            phone: self.phone.clone(),
        })
    }

    /// The canonical form lead.
    pub fn form_lead(&self, email_field: &str) -> Result<FormLead, ParseError> {
        Ok(FormLead {
            buyer: self.buyer(email_field)?,
            message: self.message(),
            product_interest: self.product.clone(),
            seats: self.seats,
            fields: self.fields.clone(),
        })
    }
}

/// The first whole number in a value ("51-200" → 51, "1,200 employees" → 1200).
pub fn leading_number(value: &str) -> Option<u32> {
    let digits: String = value
        .trim()
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// An ISO 3166-1 alpha-2 code for a country answer: a two-letter code as given, or a few
/// common names.
pub fn country_code(value: &str) -> Option<String> {
    let v = value.trim();
    if v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic()) {
        return Some(v.to_ascii_uppercase());
    }
    const NAMES: &[(&str, &str)] = &[
        ("germany", "DE"),
        ("deutschland", "DE"),
        ("austria", "AT"),
        ("switzerland", "CH"),
        ("france", "FR"),
        ("spain", "ES"),
        ("italy", "IT"),
        ("netherlands", "NL"),
        ("belgium", "BE"),
        ("united kingdom", "GB"),
        ("uk", "GB"),
        ("ireland", "IE"),
        ("sweden", "SE"),
        ("denmark", "DK"),
        ("norway", "NO"),
        ("finland", "FI"),
        ("poland", "PL"),
        ("portugal", "PT"),
        ("united states", "US"),
        ("usa", "US"),
        ("canada", "CA"),
        ("mexico", "MX"),
        ("brazil", "BR"),
        ("australia", "AU"),
        ("india", "IN"),
        ("japan", "JP"),
        ("singapore", "SG"),
    ];
    let lower = v.to_ascii_lowercase();
    NAMES
        .iter()
        .find(|(n, _)| *n == lower)
        .map(|(_, c)| (*c).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_labels_and_keys() {
        for (key, label, kind) in [
            ("", "Work email", FieldKind::Email),
            ("email_address", "", FieldKind::Email),
            ("", "Company", FieldKind::Company),
            ("", "Company size", FieldKind::Employees),
            ("", "Job title", FieldKind::Role),
            ("", "How can we help?", FieldKind::Message),
            ("", "Long text", FieldKind::Message),
            ("", "Phone number", FieldKind::Phone),
            ("", "First name", FieldKind::FirstName),
            ("", "Website", FieldKind::Website),
            ("utm_campaign", "utm_campaign", FieldKind::Other),
            ("name", "your_name", FieldKind::FullName),
            ("", "Number of seats", FieldKind::Seats),
        ] {
            assert_eq!(kind_of(key, label), kind, "{key:?} {label:?}");
        }
    }

    #[test]
    fn builds_a_buyer_and_keeps_the_rest() {
        let mut a = FormAnswers::new();
        a.add("", "First name", "Katrin");
        a.add("", "Last name", "Vogel");
        a.add("", "Email", "Katrin@Brightline.io");
        a.add("", "Company size", "501-1000");
        a.add("", "Website", "https://www.brightline.io/about");
        a.add("", "Country", "Germany");
        a.add("", "How can we help?", "We need a demo this quarter.");
        a.add("utm_campaign", "utm_campaign", "q4-revops");
        let lead = a.form_lead("answers").unwrap();
        assert_eq!(lead.buyer.email.as_str(), "katrin@brightline.io");
        assert_eq!(lead.buyer.name.as_deref(), Some("Katrin Vogel"));
        assert_eq!(lead.buyer.employees, Some(501));
        assert_eq!(lead.buyer.country.as_deref(), Some("DE"));
        assert_eq!(lead.buyer.company_domain.unwrap().as_str(), "brightline.io");
        assert_eq!(lead.message, "We need a demo this quarter.");
        assert_eq!(lead.fields["utm_campaign"], "q4-revops");
    }

    #[test]
    fn a_missing_email_names_the_field() {
        let e = FormAnswers::new()
            .form_lead("form_response.answers")
            .unwrap_err();
        assert_eq!(e.field, "form_response.answers");
    }
}
