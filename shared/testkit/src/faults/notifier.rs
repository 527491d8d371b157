//! [`FaultyNotifier`]: a [`Notifier`] that fails chosen `notify` calls of a real (or fake)
//! notifier: transient faults as `DeliveryError::Transient`, a rejection as
//! `DeliveryError::Permanent`, and an error after the write with the notification delivered
//! first (Slack and mail take no idempotency key: the caller's retry delivers it again).

use super::crm::delivery_error;
use super::fakes::kind_of;
use super::plan::{Call, FaultKind, FaultPlan, Port};
use async_trait::async_trait;
use handoff_domain::ports::{DeliveryError, Notification, Notifier};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A notifier that fails chosen calls (see the module docs).
pub struct FaultyNotifier {
    inner: Arc<dyn Notifier>,
    plan: Arc<FaultPlan>,
}

impl FaultyNotifier {
    /// Wraps `inner`, failing what `plan` says.
    pub fn with_plan(inner: Arc<dyn Notifier>, plan: Arc<FaultPlan>) -> Self {
        Self { inner, plan }
    }

    /// Makes the next `times` `notify` calls fail with `kind`.
    pub fn fail_next_with(&self, kind: FaultKind, times: usize) {
        self.plan.script(Port::Notifier, "notify", kind, times);
    }

    /// What was injected at the notifier, by method and kind.
    pub fn injected(&self) -> BTreeMap<(&'static str, FaultKind), usize> {
        self.plan.counts(Port::Notifier)
    }
}

#[async_trait]
impl Notifier for FaultyNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, DeliveryError> {
        let call = Call {
            port: Port::Notifier,
            method: "notify",
            step: Some(kind_of(notification)),
            writes: true,
            handoff: Some(&notification.handoff_id),
        };
        self.plan
            .around(call, delivery_error, || self.inner.notify(notification))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::fakes::RecordingNotifier;
    use crate::fixtures;
    use handoff_domain::ports::Fault;
    use handoff_domain::service::ServiceError;

    fn faulty() -> (FaultyNotifier, Arc<RecordingNotifier>) {
        let fake = Arc::new(RecordingNotifier::new());
        (
            FaultyNotifier::with_plan(fake.clone(), Arc::new(FaultPlan::quiet())),
            fake,
        )
    }

    #[tokio::test]
    async fn transient_kinds_are_transient_and_a_rejection_is_permanent() {
        let (notifier, fake) = faulty();
        let id = fixtures::handoff_id("faulty-notifier-kinds");
        let n = fixtures::notification(&id, "slack:@lena", "crm");
        // (kind, the fault the service sees)
        let table = [
            (FaultKind::Throttled, Fault::Transient),
            (FaultKind::TimedOut, Fault::Transient),
            (FaultKind::ServerError, Fault::Transient),
            (FaultKind::Rejected, Fault::Permanent),
        ];
        for (kind, fault) in table {
            notifier.fail_next_with(kind, 1);
            let e = notifier.notify(&n).await.unwrap_err();
            assert!(e
                .to_string()
                .contains("injected fault: the notifier's notify call"));
            assert_eq!(ServiceError::from(e).fault(), fault, "{}", kind.describe());
        }
        assert!(fake.delivered().is_empty(), "nothing delivered");
        assert_eq!(
            notifier
                .injected()
                .keys()
                .map(|(m, _)| *m)
                .collect::<Vec<_>>(),
            vec!["notify"; 4]
        );
    }

    #[tokio::test]
    async fn an_error_after_the_write_delivered_the_notification() {
        let (notifier, fake) = faulty();
        let id = fixtures::handoff_id("faulty-notifier-after");
        let n = fixtures::notification(&id, "slack:@lena", "crm");
        notifier.fail_next_with(FaultKind::ErrorAfterWrite, 1);
        let e = notifier.notify(&n).await.unwrap_err();
        assert!(matches!(e, DeliveryError::Transient(_)), "{e}");
        assert_eq!(
            fake.count_by_handoff("assigned"),
            BTreeMap::from([(id.clone(), 1)])
        );
        let logged = notifier.plan.injections();
        assert_eq!(logged[0].handoff, Some(id));
        assert_eq!(logged[0].step.as_deref(), Some("assigned"));
    }
}
