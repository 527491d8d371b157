//! Errors of the provisioning and rules-publishing helpers (the port adapters return the
//! domain's own `StoreError` / `QueueError` / `RulesSourceError`).

use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use handoff_domain::ports::StoreError;
use thiserror::Error;

/// A failed provisioning or publishing call.
#[derive(Debug, Error)]
pub enum AwsError {
    /// An AWS API call failed.
    #[error("{operation}: {message}")]
    Api {
        /// The operation, e.g. `CreateTable orders`.
        operation: String,
        /// The error with its causes; `code` holds the AWS error code when there is one.
        message: String,
        /// The AWS error code (`ResourceInUseException`…), if the service answered.
        code: Option<String>,
    },
    /// A resource exists but is not shaped as handoff needs (missing index, wrong key schema).
    #[error("{0}")]
    Mismatch(String),
    /// A resource did not become ready in time.
    #[error("{0}")]
    Timeout(String),
    /// A request could not be built (a bug).
    #[error("cannot build request: {0}")]
    Build(#[from] BuildError),
}

impl AwsError {
    /// Wraps an SDK error of `operation`.
    pub(crate) fn api<E, R>(operation: impl Into<String>, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        AwsError::Api {
            operation: operation.into(),
            code: err.code().map(str::to_string),
            message: DisplayErrorContext(&err).to_string(),
        }
    }

    /// The AWS error code, if the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// A request builder's result as a store error (only fails on a missing required field: a bug).
pub(crate) fn built<T>(r: Result<T, BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Corrupt(format!("cannot build request: {e}")))
}
