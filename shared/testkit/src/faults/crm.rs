//! [`FaultyCrm`]: a [`Crm`] that fails chosen `sync` calls of a real (or fake) CRM: transient
//! faults as `DeliveryError::Transient`, a rejection as `DeliveryError::Permanent`, and an
//! error after the write with the object created by the inner CRM first (the step's refs are
//! then lost to the caller, so its retry creates the object again: an ambiguous outside call).

use super::plan::{Call, FaultKind, FaultPlan, Port};
use async_trait::async_trait;
use handoff_domain::ports::{Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The delivery error a fault of `kind` stands for (shared with the notifier).
pub(super) fn delivery_error(kind: FaultKind, message: String) -> DeliveryError {
    if kind.is_transient() {
        DeliveryError::Transient(message)
    } else {
        DeliveryError::Permanent(message)
    }
}

/// A CRM that fails chosen calls (see the module docs).
pub struct FaultyCrm {
    inner: Arc<dyn Crm>,
    plan: Arc<FaultPlan>,
}

impl FaultyCrm {
    /// Wraps `inner`, failing what `plan` says.
    pub fn with_plan(inner: Arc<dyn Crm>, plan: Arc<FaultPlan>) -> Self {
        Self { inner, plan }
    }

    /// Makes the next `times` `sync` calls fail with `kind`.
    pub fn fail_next_with(&self, kind: FaultKind, times: usize) {
        self.plan.script(Port::Crm, "sync", kind, times);
    }

    /// What was injected at the CRM, by method and kind.
    pub fn injected(&self) -> BTreeMap<(&'static str, FaultKind), usize> {
        self.plan.counts(Port::Crm)
    }
}

#[async_trait]
impl Crm for FaultyCrm {
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        let call = Call {
            port: Port::Crm,
            method: "sync",
            step: None,
            writes: true,
            handoff: Some(&write.package.handoff_id),
        };
        self.plan
            .around(call, delivery_error, || self.inner.sync(write, refs))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::fakes::{CrmObject, RecordingCrm};
    use crate::fixtures;
    use handoff_domain::ports::Fault;
    use handoff_domain::service::ServiceError;

    fn faulty() -> (FaultyCrm, Arc<RecordingCrm>) {
        let fake = Arc::new(RecordingCrm::new());
        (
            FaultyCrm::with_plan(fake.clone(), Arc::new(FaultPlan::quiet())),
            fake,
        )
    }

    #[tokio::test]
    async fn transient_kinds_are_transient_and_a_rejection_is_permanent() {
        let (crm, fake) = faulty();
        let (record, _) = fixtures::record("faulty-crm-kinds");
        let write = fixtures::crm_write(&fixtures::package(&record));
        // (kind, the fault the service sees)
        let table = [
            (FaultKind::Throttled, Fault::Transient),
            (FaultKind::TimedOut, Fault::Transient),
            (FaultKind::ServerError, Fault::Transient),
            (FaultKind::Rejected, Fault::Permanent),
        ];
        for (kind, fault) in table {
            crm.fail_next_with(kind, 1);
            let e = crm.sync(&write, &CrmRefs::default()).await.unwrap_err();
            assert!(e
                .to_string()
                .contains("injected fault: the CRM's sync call"));
            assert_eq!(ServiceError::from(e).fault(), fault, "{}", kind.describe());
        }
        assert!(
            fake.ledger(&record.id).created.is_empty(),
            "nothing written"
        );
        assert_eq!(crm.injected().values().sum::<usize>(), 4);
    }

    #[tokio::test]
    async fn an_error_after_the_write_created_the_object() {
        let (crm, fake) = faulty();
        let (record, _) = fixtures::record("faulty-crm-after");
        let write = fixtures::crm_write(&fixtures::package(&record));
        crm.fail_next_with(FaultKind::ErrorAfterWrite, 1);
        let e = crm.sync(&write, &CrmRefs::default()).await.unwrap_err();
        assert!(matches!(e, DeliveryError::Transient(_)), "{e}");
        assert_eq!(fake.ledger(&record.id).created, vec![CrmObject::Contact]);
        // The caller never saw the contact's id: its retry creates a second one.
        crm.sync(&write, &CrmRefs::default()).await.unwrap();
        assert_eq!(fake.ledger(&record.id).created_twice(), 1);
    }
}
