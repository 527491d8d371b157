//! Configuration variables with errors that name the variable.
//!
//! [`Vars`] reads through a lookup function: the process environment in a function
//! ([`Vars::from_env`]), or a function's environment as `infra/template.yaml` sets it in the
//! end-to-end test ([`Vars::from_fn`]) — so the test builds each function exactly as Lambda
//! would, and notices a variable the code reads that the template does not set.

use anyhow::{anyhow, Context, Result};
use std::str::FromStr;

/// Looks a variable up (`None`: not set).
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// A source of configuration variables.
pub struct Vars<'a> {
    lookup: Lookup<'a>,
}

impl<'a> Vars<'a> {
    /// The process environment.
    pub fn from_env() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }

    /// Variables from `lookup` (`None`: not set).
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
        }
    }

    /// A variable's value; a blank value counts as not set.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A required variable.
    pub fn required(&self, name: &str) -> Result<String> {
        self.get(name)
            .ok_or_else(|| anyhow!("environment variable {name} is required but not set"))
    }

    /// An optional variable parsed as `T`, or `default`.
    pub fn parsed_or<T: FromStr>(&self, name: &str, default: T) -> Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        self.parsed(name).map(|v| v.unwrap_or(default))
    }

    /// An optional variable parsed as `T`.
    pub fn parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.get(name) {
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .with_context(|| format!("environment variable {name}={v:?} is not valid")),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_variable() {
        let vars = Vars::from_fn(|name| (name == "N").then(|| "x".to_string()));
        let e = vars.required("HANDOFF_TABLE").unwrap_err().to_string();
        assert!(e.contains("HANDOFF_TABLE"), "{e}");
        let e = vars.parsed_or::<u32>("N", 1).unwrap_err().to_string();
        assert!(e.contains("N=\"x\""), "{e}");
        assert_eq!(vars.parsed_or::<u32>("M", 7).unwrap(), 7);
    }

    #[test]
    fn blank_is_unset() {
        let vars = Vars::from_fn(|_| Some("  ".to_string()));
        assert!(vars.get("X").is_none());
        assert!(vars.required("X").is_err());
    }
}
