//! Every provider handoff accepts, by route and by name.

use crate::provider::Provider;
use crate::providers;

/// Every provider, in the order the README lists them.
pub fn all() -> Vec<&'static dyn Provider> {
    vec![
        &providers::agent::Agent,
        &providers::typeform::Typeform,
        &providers::tally::Tally,
        &providers::hubspot::Hubspot,
        &providers::postmark::Postmark,
        &providers::mailgun::Mailgun,
        &providers::sendgrid::Sendgrid,
        &providers::calendly::Calendly,
        &providers::calcom::Calcom,
    ]
}

/// The provider called `name` (`typeform`).
pub fn by_name(name: &str) -> Option<&'static dyn Provider> {
    all().into_iter().find(|p| p.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_unique() {
        let all = all();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.name(), b.name());
                assert_ne!(a.path(), b.path());
            }
            assert!(a.path().starts_with('/'));
            assert!(by_name(a.name()).is_some());
        }
    }
}
