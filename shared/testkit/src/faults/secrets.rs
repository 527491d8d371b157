//! [`FaultySecrets`]: a [`SecretSource`] that fails chosen reads of a real one with a
//! [`SecretError`] (the intake edge answers 503 and the provider retries). The secrets port
//! only reads, so it has no error after a write.

use super::plan::{Call, FaultKind, FaultPlan, Port};
use async_trait::async_trait;
use handoff_connectors::provider::Secrets;
use handoff_connectors::secrets::{SecretError, SecretSource};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A secret source that fails chosen reads (see the module docs).
pub struct FaultySecrets {
    inner: Arc<dyn SecretSource>,
    plan: Arc<FaultPlan>,
}

impl FaultySecrets {
    /// Wraps `inner`, failing what `plan` says.
    pub fn with_plan(inner: Arc<dyn SecretSource>, plan: Arc<FaultPlan>) -> Self {
        Self { inner, plan }
    }

    /// Makes the next `times` reads fail with `kind`.
    pub fn fail_next_with(&self, kind: FaultKind, times: usize) {
        self.plan.script(Port::Secrets, "secrets", kind, times);
    }

    /// What was injected at the secrets, by method and kind.
    pub fn injected(&self) -> BTreeMap<(&'static str, FaultKind), usize> {
        self.plan.counts(Port::Secrets)
    }
}

#[async_trait]
impl SecretSource for FaultySecrets {
    async fn secrets(&self, provider: &str) -> Result<Option<Secrets>, SecretError> {
        let call = Call {
            port: Port::Secrets,
            method: "secrets",
            step: Some(provider),
            writes: false,
            handoff: None,
        };
        self.plan
            .around(
                call,
                |_, message| SecretError(message),
                || self.inner.secrets(provider),
            )
            .await
    }
    fn location(&self, provider: &str) -> String {
        self.inner.location(provider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_connectors::secrets::StaticSecrets;

    #[tokio::test]
    async fn a_scripted_fault_is_a_secret_error_then_the_secret_is_read() {
        let inner = Arc::new(StaticSecrets::of(&[("typeform", "s3cret")]));
        let secrets = FaultySecrets::with_plan(inner, Arc::new(FaultPlan::quiet()));
        for kind in [
            FaultKind::Throttled,
            FaultKind::TimedOut,
            FaultKind::ServerError,
        ] {
            secrets.fail_next_with(kind, 1);
            let e = secrets.secrets("typeform").await.unwrap_err();
            assert!(
                e.to_string().starts_with(
                    "secrets unavailable: injected fault: the secret store's secrets call"
                ),
                "{e}"
            );
        }
        assert!(secrets.secrets("typeform").await.unwrap().is_some());
        assert_eq!(
            secrets.location("typeform"),
            "the typeform entry of the static secrets"
        );
        assert_eq!(secrets.injected().values().sum::<usize>(), 3);
    }

    #[test]
    #[should_panic(
        expected = "the secret store cannot fail with \"error after the write succeeded\""
    )]
    fn a_read_only_port_has_no_error_after_a_write() {
        let inner = Arc::new(StaticSecrets::default());
        FaultySecrets::with_plan(inner, Arc::new(FaultPlan::quiet()))
            .fail_next_with(FaultKind::ErrorAfterWrite, 1);
    }
}
