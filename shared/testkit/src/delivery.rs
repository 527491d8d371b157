//! Idempotency cases for the outward side effects: [`Crm`] and [`Notifier`].
//!
//! Stages retry; a retried CRM write or notification must not duplicate what the outside world
//! sees. The suites observe the effect through an inspection closure the caller provides
//! (files on disk for the local adapters, recorded requests for an HTTP mock).

use crate::fixtures;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{Crm, Notifier};

/// Gives an inspection closure its expected signature (so its parameter types are inferred).
pub fn inspector<S, F>(_subject: &S, inspect: F) -> F
where
    F: Fn(&S, &HandoffId) -> usize,
{
    inspect
}

/// Writing the same handoff twice (also with a changed package, e.g. after a reroute) returns
/// the same reference and leaves one CRM record; another handoff gets its own.
pub async fn case_crm_write_is_idempotent(crm: &dyn Crm, effects: &dyn Fn(&HandoffId) -> usize) {
    let (record, _) = fixtures::record("crm-1");
    let package = fixtures::package(&record);
    assert_eq!(effects(&record.id), 0);

    let first = crm.write_handoff(&package).await.unwrap();
    assert!(!first.is_empty());
    assert_eq!(effects(&record.id), 1);
    let again = crm.write_handoff(&package).await.unwrap();
    assert_eq!(again, first, "a retried write returns the same reference");
    assert_eq!(
        effects(&record.id),
        1,
        "a retried write does not duplicate the record"
    );

    let mut rerouted = package.clone();
    rerouted.owner = Some(fixtures::owner("max"));
    assert_eq!(crm.write_handoff(&rerouted).await.unwrap(), first);
    assert_eq!(effects(&record.id), 1);

    let (other, _) = fixtures::record("crm-2");
    let other_ref = crm.write_handoff(&fixtures::package(&other)).await.unwrap();
    assert_ne!(other_ref, first);
    assert_eq!(effects(&other.id), 1);
    assert_eq!(effects(&record.id), 1);
}

/// Notifying the same (handoff, target, CRM reference) twice returns the same receipt and
/// delivers once; a different target (after a reroute) is a new notification.
pub async fn case_notify_is_idempotent(
    notifier: &dyn Notifier,
    effects: &dyn Fn(&HandoffId) -> usize,
) {
    let id = fixtures::handoff_id("notify-1");
    let to_lena = fixtures::notification(&id, "slack:@lena", "local-crm:notify-1");
    assert_eq!(effects(&id), 0);

    let receipt = notifier.notify(&to_lena).await.unwrap();
    assert!(!receipt.is_empty());
    assert_eq!(effects(&id), 1);
    assert_eq!(
        notifier.notify(&to_lena).await.unwrap(),
        receipt,
        "a retry returns the same receipt"
    );
    assert_eq!(effects(&id), 1, "a retry does not notify twice");

    let to_max = fixtures::notification(&id, "email:max@us.example", "local-crm:notify-1");
    let second = notifier.notify(&to_max).await.unwrap();
    assert_ne!(second, receipt);
    assert_eq!(effects(&id), 2);
    assert_eq!(notifier.notify(&to_max).await.unwrap(), second);
    assert_eq!(effects(&id), 2);

    let other = fixtures::handoff_id("notify-2");
    notifier
        .notify(&fixtures::notification(
            &other,
            "slack:@lena",
            "local-crm:notify-2",
        ))
        .await
        .unwrap();
    assert_eq!(effects(&other), 1);
    assert_eq!(effects(&id), 2);
}
