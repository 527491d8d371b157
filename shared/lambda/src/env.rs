//! Configuration from environment variables with errors that name the variable.

use anyhow::{anyhow, Context, Result};
use std::str::FromStr;

/// A required variable.
pub fn required(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| anyhow!("environment variable {name} is required but not set"))
}

/// An optional variable parsed as `T`, or `default`.
pub fn parsed_or<T: FromStr>(name: &str, default: T) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("environment variable {name}={v:?} is not valid")),
        Err(_) => Ok(default),
    }
}
